"""Dependence on one country (China by default): caps and the dependence objective.

Every delivery column x carries an attribution a ∈ [0, 1] (location, ownership or combined basis; a JV its
partner's equity, a licence the technology factor). Dependence of mineral m in year y, scenario ω, in percent::

    dep[m, y, ω] = 100 × Σ a·x / demand[m, y, ω]

dependence_cap, per covered (m, y, ω)::

    Σ a·x <= max_share × demand[m, y, ω]

Dependence objective, ``aggregate: mean`` (weights w_m per mineral, default 1; years with zero demand skipped)::

    minimise Σ_{m, y, ω} p_ω × w_m × dep[m, y, ω] / Σ_{m, y} w_m

``aggregate: max`` adds one column ``dep_max`` and rows ``dep[m, y, ω] − dep_max <= 0``; minimise dep_max.

Inside the LP the mean is scaled as money is: its coefficients (percent per tonne, 1e-6 to 0.1 on the default data)
are divided by ``model.dependence_unit``, a power of ten near their median, so that they sit near 1 and well above
the solvers' dual tolerances. A level of the LP's dependence objective is ``dependence_unit`` percentage points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model, scale_unit
from engine.formulation.select import scope_mask
from engine.inputs.schema import DependenceCap


def _attributed(model: Model) -> tuple[pd.DataFrame, np.ndarray]:
    """Deliveries with a > 0 and the demand row each belongs to."""
    dl = model.deliveries
    dl = dl.loc[dl["attribution"].to_numpy() > 0, ["col", "mineral", "attribution", "demand_row"]]
    return dl, dl["demand_row"].to_numpy()


def add_dependence_cap(model: Model, policy: DependenceCap) -> None:
    """Attributed tonnes at most ``max_share`` of demand."""
    d = model.demand
    scope = scope_mask(d, policy, model.years)
    target = np.full(len(d), -1, dtype=np.int64)
    target[scope] = np.arange(int(scope.sum()))
    dl, drow = _attributed(model)
    row = target[drow]
    inside = row >= 0
    keys = d.loc[scope, ["scen", "mineral", "year"]].reset_index(drop=True).assign(policy=policy.name)
    rhs = policy.max_share * d.loc[scope, "demand_t"].to_numpy()
    model.lp.add_constraints(f"dependence_cap:{policy.name}", keys, row[inside], dl["col"].to_numpy()[inside],
                             dl["attribution"].to_numpy()[inside], upper=rhs)


def add_dependence_objective(model: Model) -> None:
    """The ``dependence`` objective (percentage points), mean or max over minerals and years."""
    d = model.demand
    objective = model.scenario.objective
    positive = d["demand_t"].to_numpy() > 0
    dl, drow = _attributed(model)
    demand = d["demand_t"].to_numpy()
    coef = 100.0 * dl["attribution"].to_numpy() / np.where(demand[drow] > 0, demand[drow], np.inf)
    if objective.aggregate == "mean":
        weight = d["mineral"].map(objective.weights).fillna(1.0).to_numpy()
        first = d["scen"] == d["scen"].iloc[0]
        total = float((weight * positive)[first.to_numpy()].sum()) or 1.0
        scale = (d["probability"].to_numpy() * weight / total)[drow]
        values = coef * scale
        model.dependence_unit = scale_unit(values)
        model.lp.add_objective("dependence", dl["col"].to_numpy(), values / model.dependence_unit)
        return
    dmax = model.lp.add_variables("dep_max", pd.DataFrame({"aggregate": ["max"]}))
    rows_with = np.flatnonzero(positive)
    local = np.full(len(d), -1, dtype=np.int64)
    local[rows_with] = np.arange(len(rows_with))
    inside = local[drow] >= 0
    rows = np.concatenate([local[drow][inside], np.arange(len(rows_with))])
    cols = np.concatenate([dl["col"].to_numpy()[inside], np.full(len(rows_with), dmax.start)])
    vals = np.concatenate([coef[inside], -np.ones(len(rows_with))])
    keys = d.loc[positive, ["scen", "mineral", "year"]].reset_index(drop=True)
    model.lp.add_constraints("dependence_max", keys, rows, cols, vals, upper=0.0)
    model.lp.add_objective("dependence", np.array([dmax.start]), np.array([1.0]))


def mineral_dependence_vector(model: Model, mineral: str) -> np.ndarray:
    """Coefficients giving one mineral's mean annual dependence in percent (probability-weighted)::

        dep_m = Σ_{y, ω} p_ω × dep[m, y, ω] / (number of years of m with demand)
    """
    d = model.demand
    dl, drow = _attributed(model)
    demand = d["demand_t"].to_numpy()
    mine = (dl["mineral"] == mineral).to_numpy() & (demand[drow] > 0)
    first = (d["scen"] == d["scen"].iloc[0]).to_numpy()
    years = int(((d["mineral"] == mineral).to_numpy() & first & (demand > 0)).sum()) or 1
    vector = np.zeros(model.lp.n_cols)
    coef = 100.0 * dl["attribution"].to_numpy()[mine] * d["probability"].to_numpy()[drow[mine]] / demand[drow[mine]]
    np.add.at(vector, dl["col"].to_numpy()[mine], coef / years)
    return vector
