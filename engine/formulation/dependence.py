"""Dependence on one country (China by default): the two measures, caps and the dependence objective.

Every delivery column x carries an attribution a ∈ [0, 1] (location, ownership or combined basis; a JV its
partner's equity, a licence the technology factor). A stockpile keeps the attribution of what it bought
(``stockpile.py``: attributed purchases p^a, draws r^a; all purchases p, draws r). Per mineral m, year y and
scenario ω (the sums over the deliveries into that demand row)::

    attributed[m, y, ω] = Σ a·x − p^a + r^a          tonnes attributed that reach demand
    supplied[m, y, ω]   = Σ x − p + r                 tonnes that reach demand (= demand − short)
    share[m, y, ω]      = 100 × attributed / supplied                    China share of supply (undefined if 0)
    exposure[m, y, ω]   = 100 × (attributed + short[m, y, ω]) / demand   China exposure

Purchases for stock are not that year's supply; a draw is supply with the attribution of what was bought.
``measure_terms`` holds these sums as linear terms: the LP and the result tables (``outputs/results.py``) read
the same ones.

dependence_cap, per covered (m, y, ω), a cap on share of supply written linearly (all zero is feasible, so the
cap always is)::

    Σ a·x − p^a + r^a <= max_share × (Σ x − p + r)

Dependence objective: exposure, aggregated over minerals and years by ``objective.aggregate`` with row weights
W[m, y, ω] (``aggregate_weights``; w_m the mineral weights, default 1; rows without demand skipped):

- ``mean``: W = p_ω × w_m, each mineral-year alike::

    minimise Σ_{m, y, ω} W × exposure[m, y, ω] / Σ_{m, y} w_m

  so a short tonne weighs 100/demand, the same as a tonne fully attributed;
- ``value``: W = p_ω × w_m × demand[m, y, ω] × price_m (the value of demand at the mineral's reference price)::

    minimise Σ W × exposure[m, y, ω] / Σ W  =  100 × Σ p w price (attributed + unmet) / Σ p w price demand

  the share of the value of demand exposed: a tonne weighs by what it is worth, whatever the year;
- ``max``: one column ``dep_max`` and rows ``exposure[m, y, ω] − dep_max <= 0``; minimise dep_max;
- ``leximin``: per mineral its exposure E_m = Σ_{y, ω} p_ω × exposure[m, y, ω] / (years of m with demand)
  (``mineral_exposure_vector``), one column ``dep_max``, rows ``dependence_leximin`` E_m − dep_max <= 0 and rows
  ``dependence_mineral_level`` E_m <= L_m (free until a level is set). The dependence stage
  (``engine/plan/leximin.py``) minimises dep_max, fixes the minerals that cannot go below it at their level
  (their ``dependence_mineral_level`` row, their ``dependence_leximin`` row freed), and repeats until every
  mineral is fixed; then every ``dependence_leximin`` row holds again. The hierarchy's ``dependence`` objective
  (the least-cost reference, the level it fixes, a frontier's cap) is dep_max: the worst mineral's exposure.

Inside the LP the mean is scaled as money is: its coefficients (percent per tonne, 1e-6 to 0.1 on the default data)
are divided by ``model.dependence_unit``, a power of ten near their median, so that they sit near 1 and well above
the solvers' dual tolerances. A level of the LP's dependence objective is ``dependence_unit`` percentage points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.formulation.demand import demand_row_of
from engine.formulation.model import Model, scale_unit
from engine.formulation.select import scope_mask
from engine.inputs.schema import DependenceCap, Objective


@dataclass(frozen=True)
class MeasureTerms:
    """The measures' sums as linear terms: term k puts column ``cols[k]`` into demand row ``rows[k]`` with
    coefficient ``attributed[k]`` in the attributed tonnes, ``supplied[k]`` in the tonnes supplied and ``unmet[k]``
    in the unmet tonnes (see the module's docstring)."""

    rows: np.ndarray
    cols: np.ndarray
    attributed: np.ndarray
    supplied: np.ndarray
    unmet: np.ndarray

    @property
    def exposed(self) -> np.ndarray:
        """Each term's coefficient in the exposure's numerator: attributed + unmet tonnes."""
        return self.attributed + self.unmet

    def where(self, keep: np.ndarray) -> MeasureTerms:
        return MeasureTerms(self.rows[keep], self.cols[keep], self.attributed[keep], self.supplied[keep],
                            self.unmet[keep])


def measure_terms(model: Model) -> MeasureTerms:
    """Deliveries (a, 1, 0), shortfall (0, 0, 1) and, with a stockpile, purchases p (0, −1, 0), attributed
    purchases p^a (−1, 0, 0), draws r (0, 1, 0) and attributed draws r^a (1, 0, 0), each on its demand row.

    Made once per build (the dependence cap and the dependence objective read the same terms; 8 ms each at 1.27M
    non-zeros) and kept on the model until ``build_model`` returns: held through the solve they raised its peak
    memory by 12 MB. Made afresh when its tables or LP are replaced."""
    key = (model.deliveries, model.demand, model.stockpile, model.lp)
    held = getattr(model, "_measure_terms_cache", None)
    if held is not None and len(held[0]) == len(key) and all(a is b for a, b in zip(held[0], key, strict=True)):
        return held[1]
    terms = _measure_terms(model)
    model._measure_terms_cache = (key, terms)
    return terms


def _measure_terms(model: Model) -> MeasureTerms:
    dl, d = model.deliveries, model.demand
    inside = dl["demand_row"].to_numpy() >= 0
    n_dl = int(inside.sum())
    parts = [(dl["demand_row"].to_numpy()[inside], dl["col"].to_numpy()[inside],
              dl["attribution"].to_numpy(dtype=float)[inside], np.ones(n_dl), np.zeros(n_dl)),
             (np.arange(len(d)), model.block_cols("short"), np.zeros(len(d)), np.zeros(len(d)), np.ones(len(d)))]
    sp = model.stockpile
    if len(sp):
        rows = demand_row_of(model, sp)
        ok = rows >= 0
        n = int(ok.sum())
        zero, one = np.zeros(n), np.ones(n)
        put = model.block_cols("stock_put")[sp["put_index"].to_numpy()]
        for cols, attributed, supplied in ((put, zero, -one), (model.block_cols("stock_put_attr"), -one, zero),
                                           (model.block_cols("stock_draw"), zero, one),
                                           (model.block_cols("stock_draw_attr"), one, zero)):
            parts.append((rows[ok], cols[ok], attributed, supplied, zero))
    return MeasureTerms(*(np.concatenate([part[k] for part in parts]) for k in range(5)))


def add_dependence_cap(model: Model, policy: DependenceCap) -> None:
    """China share of supply at most ``max_share``, per covered (m, y, ω)::

        Σ a·x − p^a + r^a − max_share × (Σ x − p + r) <= 0
    """
    d = model.demand
    scope = scope_mask(d, policy, model.years)
    target = np.full(len(d), -1, dtype=np.int64)
    target[scope] = np.arange(int(scope.sum()))
    terms = measure_terms(model)
    vals = terms.attributed - policy.max_share * terms.supplied
    row = target[terms.rows]
    inside = (row >= 0) & (vals != 0)
    keys = d.loc[scope, ["scen", "mineral", "year"]].reset_index(drop=True).assign(policy=policy.name)
    model.lp.add_constraints(f"dependence_cap:{policy.name}", keys, row[inside], terms.cols[inside], vals[inside],
                             upper=0.0)


def exposure_terms(model: Model) -> tuple[MeasureTerms, np.ndarray]:
    """The terms of the exposure's numerator (attributed + unmet tonnes, non-zero) on rows with demand, and each
    one's coefficient in percent of its row's demand: 100 × (attributed + unmet) / demand."""
    demand = model.demand["demand_t"].to_numpy(dtype=float)
    terms = measure_terms(model)
    terms = terms.where((terms.exposed != 0) & (demand[terms.rows] > 0))
    return terms, 100.0 * terms.exposed / demand[terms.rows]


def aggregate_weights(objective: Objective, probability: np.ndarray, mineral: np.ndarray, demand_t: np.ndarray,
                      price: np.ndarray) -> np.ndarray:
    """W per demand row (with demand) of the ``mean`` and ``value`` aggregates (module docstring): p × w_m, or
    p × w_m × demand × price."""
    weight = pd.Series(mineral).map(objective.weights).fillna(1.0).to_numpy(dtype=float)
    weighted = np.asarray(probability, dtype=float) * weight
    if objective.aggregate == "value":
        return weighted * np.asarray(demand_t, dtype=float) * np.asarray(price, dtype=float)
    return weighted


def add_dependence_objective(model: Model) -> None:
    """The ``dependence`` objective: China exposure (percentage points) aggregated over minerals and years as the
    module's docstring says (mean, value, max or leximin)."""
    d = model.demand
    objective = model.scenario.objective
    positive = d["demand_t"].to_numpy() > 0
    terms, coef = exposure_terms(model)
    drow = terms.rows
    if objective.aggregate == "leximin":
        dmax = _add_leximin_rows(model)
        model.lp.add_objective("dependence", np.array([dmax]), np.array([1.0]))
        return
    if objective.aggregate != "max":
        weighted = aggregate_weights(objective, d["probability"].to_numpy(), d["mineral"].to_numpy(),
                                     d["demand_t"].to_numpy(), d["price_usd_per_t"].to_numpy())
        if objective.aggregate == "value":
            total = float(weighted[positive].sum()) or 1.0
        else:
            weight = d["mineral"].map(objective.weights).fillna(1.0).to_numpy()
            first = d["scen"] == d["scen"].iloc[0]
            total = float((weight * positive)[first.to_numpy()].sum()) or 1.0
        values = coef * (weighted / total)[drow]
        model.dependence_unit = scale_unit(values)
        model.lp.add_objective("dependence", terms.cols, values / model.dependence_unit)
        return
    dmax = model.lp.add_variables("dep_max", pd.DataFrame({"aggregate": ["max"]}))
    rows_with = np.flatnonzero(positive)
    local = np.full(len(d), -1, dtype=np.int64)
    local[rows_with] = np.arange(len(rows_with))
    rows = np.concatenate([local[drow], np.arange(len(rows_with))])
    cols = np.concatenate([terms.cols, np.full(len(rows_with), dmax.start)])
    vals = np.concatenate([coef, -np.ones(len(rows_with))])
    keys = d.loc[positive, ["scen", "mineral", "year"]].reset_index(drop=True)
    model.lp.add_constraints("dependence_max", keys, rows, cols, vals, upper=0.0)
    model.lp.add_objective("dependence", np.array([dmax.start]), np.array([1.0]))


LEXIMIN_ROWS = ("dependence_leximin", "dependence_mineral_level")
"""The leximin's row families, one row per mineral with demand each (module docstring)."""


def _add_leximin_rows(model: Model) -> int:
    """``dep_max``; per mineral m with demand ``E_m − dep_max <= 0`` (``dependence_leximin``) and ``E_m <= +inf``
    (``dependence_mineral_level``, its level set by the dependence stage). Returns dep_max's column."""
    d = model.demand
    with_demand = set(d.loc[d["demand_t"].to_numpy() > 0, "mineral"])
    minerals = [m for m in model.minerals if m in with_demand]
    dmax = model.lp.add_variables("dep_max", pd.DataFrame({"aggregate": ["leximin"]}))
    rows, cols, vals = [], [], []
    for k, mineral in enumerate(minerals):
        vector = mineral_exposure_vector(model, mineral)
        nz = np.flatnonzero(vector)
        rows.append(np.full(len(nz), k))
        cols.append(nz)
        vals.append(vector[nz])
    keys = pd.DataFrame({"mineral": minerals})
    r, c, v = (np.concatenate(part) if part else np.zeros(0) for part in (rows, cols, vals))
    model.lp.add_constraints(LEXIMIN_ROWS[1], keys, r.astype(np.int64), c.astype(np.int64), v)
    model.lp.add_constraints(LEXIMIN_ROWS[0], keys, np.concatenate([r, np.arange(len(minerals))]).astype(np.int64),
                             np.concatenate([c, np.full(len(minerals), dmax.start)]).astype(np.int64),
                             np.concatenate([v, -np.ones(len(minerals))]), upper=0.0)
    return int(dmax.start)


def mineral_exposure_vector(model: Model, mineral: str) -> np.ndarray:
    """Coefficients giving one mineral's mean annual China exposure in percent (probability-weighted)::

        exposure_m = Σ_{y, ω} p_ω × exposure[m, y, ω] / (number of years of m with demand)
    """
    d = model.demand
    terms, coef = exposure_terms(model)
    demand = d["demand_t"].to_numpy()
    mine = (d["mineral"] == mineral).to_numpy()
    first = (d["scen"] == d["scen"].iloc[0]).to_numpy()
    years = int((mine & first & (demand > 0)).sum()) or 1
    ours = mine[terms.rows]
    vector = np.zeros(model.lp.n_cols)
    np.add.at(vector, terms.cols[ours], coef[ours] * d["probability"].to_numpy()[terms.rows[ours]] / years)
    return vector
