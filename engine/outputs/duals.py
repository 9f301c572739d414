"""Shadow prices of the scenario's policies, in planner units, with the interval each holds over.

For every policy row that binds (country caps, content rules, dependence caps, export quotas, domestic
targets) the dual of the cost stage says how much the plan's cost (present value) would fall if the row were
relaxed by one unit: a tonne of supply for share rules and quotas, a percentage point of the share of supply
for dependence caps (at the plan's tonnes supplied), a t/yr of capacity for domestic targets. Policies that act
on bounds (bans, FEOC exclusions, market access) are priced by the reduced cost of the best source they hold back.
Values are reported in present value and in money of the row's year (divided by the discount factor).

The LP they come from (``PlanSession.cost_duals``) is the plan's cost stage: objective cost including unmet demand
at its value, c·x; the earlier stages' levels held by their rows (the exposure level ``fix_dependence`` and the
budget, or with ``minimise: cost`` the least-cost stage with the budget row free; with ``shortfall: first`` each
mineral-year's unmet demand capped at the plan's); integer (JV build) columns fixed at the plan's values; the
plan's slivers held at zero. A dual ``y_i = ∂(c·x*)/∂b_i`` holds while that LP's optimal basis does: over the
interval of the row's bound ``b_i`` (the column's bound, for bound policies) given by HiGHS's bound ranging
(``Highs.getRanging``: ``row_bound_up``/``row_bound_dn``, ``col_bound_up``/``col_bound_dn``), in which
``Δ(c·x*) = y_i·Δb_i`` exactly. It may hold further: at a degenerate vertex the next basis can have the same dual
(the interval is then 0 and a whole-unit re-solve, where there is one, tells). That interval is for that LP with
the other stages' levels held where they are, not for the whole hierarchy re-solved (``policies.csv`` gives that).
It is written as the amounts the policy may be relaxed (``holds_relaxing``) and tightened (``holds_tightening``)
from where it binds with the dual unchanged, in the policy's own unit (``holds_unit``: t; pp of the share of
supply, ``Δb / (0.01 × supplied t)``; t/yr). Where there is no ranging (a PuLP solver, or HiGHS returning none)
those are blank and ``ranging`` says why.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.results import measures_of
from engine.solvers.base import Ranging, Solution

COLUMNS = ["policy", "type", "family", "mineral", "year", "country", "dual_pv_usd", "dual_usd", "whole_unit_usd",
           "holds_relaxing", "holds_tightening", "holds_unit", "ranging", "unit", "reading"]
RANGED = "HiGHS bound ranging"
"""``ranging`` where the interval was found: the bound ranging of the duals' LP (see the module's docstring)."""
HOLDS_UNITS = {"dependence_cap": "pp", "domestic_target": "t/yr"}  # others: "t"
CENT = 0.005  # USD: a whole-unit saving smaller than this is written as 0
RANGE_ZERO = 1e-9  # policy units: a ranging distance smaller than this is written as 0
WHOLE_UNIT_TOP = 5
"""The most expensive binding policies (those the summary prints) are also relaxed by a whole unit and re-solved:
``whole_unit_usd`` says what that unit saves, where the dual holds for only part of it."""
_LP = ["_kind", "_index", "_step"]  # where each row sits in the LP and the whole unit to relax it by
THRESHOLD = 1e-9  # duals below this (in LP money units) do not bind

UNITS = {
    "country_cap": "USD per t of supply from the country",
    "content_rule": "USD per t of qualifying supply required",
    "dependence_cap": "USD per percentage point of share of supply",
    "export_quota": "USD per t of quota",
    "domestic_target": "USD per t/yr of domestic capacity",
    "bound": "USD per t held back",
}


def _money(model: Model, values: np.ndarray, years: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    pv = values * model.money_unit
    return pv, pv / model.discount(years)


def row_duals(model: Model, solution: Solution) -> pd.DataFrame:
    """Binding policy rows with their duals."""
    frames = []
    types = {p.name: p.type for p in model.scenario.policies}
    for block in model.lp.constraints.values():
        if ":" not in block.name:
            continue
        family = block.name.split(":", 1)[0]
        dual = solution.row_dual[block.index]
        value = np.abs(dual)
        keys = block.keys
        binding = value > THRESHOLD
        if not binding.any():
            continue
        keys = keys[binding].reset_index(drop=True)
        value = value[binding]
        unit = np.ones(len(keys))  # a tonne (a t/yr for domestic targets) of the row's right-hand side
        if family == "dependence_cap":  # per tonne of the row Σ (a − cap)·x → per percentage point of the cap,
            # which moves the row's bound by 1% of the tonnes supplied (at the plan's supply)
            unit = 0.01 * measures_of(model, solution.x, keys[["scen", "mineral", "year"]]).supplied_t
            value = value * unit
        # HiGHS's row dual is d(objective)/d(bound): negative where the upper bound binds (relax it upwards)
        step = np.where(dual[binding] < 0, unit, -unit)
        pv, current = _money(model, value, keys["year"])
        country = keys["country"] if "country" in keys else pd.Series([""] * len(keys))
        frame = pd.DataFrame({
            "policy": keys["policy"], "type": keys["policy"].map(types), "family": family,
            "mineral": keys["mineral"], "year": keys["year"], "country": country.fillna(""),
            "dual_pv_usd": pv, "dual_usd": current, "unit": UNITS[family],
            "_kind": "row", "_index": block.index[binding], "_step": step,
        })
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS + _LP)


def bound_duals(model: Model, solution: Solution) -> pd.DataFrame:
    """Policies that hold sources back through bounds, priced by the best restricted source per mineral-year."""
    if solution.col_dual is None:
        return pd.DataFrame(columns=COLUMNS + _LP)
    types = {p.name: p.type for p in model.scenario.policies}
    frames = []
    for block, frame in model.delivery_frames():
        restricted = frame["restricted_by"].to_numpy() != ""
        if not restricted.any():
            continue
        gain = -solution.col_dual[model.block_cols(block)]  # cost saved per extra tonne at the bound
        held = frame.loc[restricted, ["mineral", "year", "scen", "location", "restricted_by"]].copy()
        held["gain"] = gain[restricted]
        held["col"] = model.block_cols(block)[restricted]
        held = held.assign(policy=held["restricted_by"].str.split(";")).explode("policy")
        frames.append(held[held["gain"] > THRESHOLD])
    if not frames:
        return pd.DataFrame(columns=COLUMNS + _LP)
    held = pd.concat(frames, ignore_index=True)
    if held.empty:
        return pd.DataFrame(columns=COLUMNS + _LP)
    # the best restricted source per policy and mineral-year; equal gains go to the first location in code order
    best = held.sort_values(["gain", "location"], ascending=[False, True], kind="stable").drop_duplicates(
        ["policy", "scen", "mineral", "year"])
    best = best.sort_values(["policy", "mineral", "year", "location"], kind="stable").reset_index(drop=True)
    pv, current = _money(model, best["gain"].to_numpy(), best["year"])
    out = pd.DataFrame({
        "policy": best["policy"], "type": best["policy"].map(types), "family": "bound",
        "mineral": best["mineral"], "year": best["year"], "country": best["location"],
        "dual_pv_usd": pv, "dual_usd": current, "unit": UNITS["bound"],
        "_kind": "col", "_index": best["col"].to_numpy(), "_step": 1.0,
    })
    return out


def _usd(value: float) -> str:
    """An amount of USD as read: whole dollars, and "less than USD 1" for what would print as 0 (never "-0")."""
    return "less than USD 1" if abs(value) < 0.5 else f"USD {value:,.0f}"


def _size(value: float) -> str:
    """A ranging distance to three significant figures (whole numbers from 1,000)."""
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _holds(row: object) -> str:
    """The interval the dual holds over, as read: ", for the first 4 t relaxed and 10 t tightened (ranging)"; ", only
    at the margin (...)" where it holds for none of a relaxation (a degenerate vertex); or why there is none."""
    if row.ranging != RANGED:
        return f" (its range is {row.ranging})"
    unit = row.holds_unit
    relax, tighten = float(row.holds_relaxing), float(row.holds_tightening)
    first = "any amount" if np.isinf(relax) else f"the first {_size(relax)} {unit}"
    if row.family == "bound":
        return f", for 0 {unit} by ranging (a degenerate vertex)" if relax == 0 else f", for {first} (ranging)"
    back = "any amount" if np.isinf(tighten) else f"{_size(tighten)} {unit}"
    if relax == 0:
        return f", for 0 {unit} relaxed by ranging (a degenerate vertex) and {back} tightened"
    return f", for {first} relaxed and {back} tightened (ranging)"


def _whole(row: object) -> str:
    """What a whole unit saves where it was re-solved: said where the dual holds for part of the unit (they differ
    by over 0.1%), or where they agree though the ranging covers less than the unit (the ranging is where the
    duals' basis stays optimal: on a degenerate vertex the next basis may have the same dual)."""
    whole, dual = row.whole_unit_usd, row.dual_usd
    if not np.isfinite(whole):
        return ""
    unit = {"dependence_cap": "percentage point", "domestic_target": "t/yr"}.get(row.family, "tonne")
    if abs(whole - dual) <= 1e-3 * abs(dual) + 0.5:
        short = row.ranging == RANGED and float(row.holds_relaxing) < 1.0
        return f"; a whole {unit} saves as much (re-solved)" if short else ""
    if abs(whole) < 0.5:
        return f"; a whole {unit} changes the cost by less than USD 1"
    if whole < 0:
        return f"; a whole {unit} raises the cost by {_usd(-whole)}"
    return f"; a whole {unit} saves {_usd(whole)}"


def _reading(row: object, names: dict[str, str]) -> str:
    mineral = names.get(row.mineral, row.mineral)
    where = f" on {row.country}" if row.country else ""
    amount = _usd(row.dual_usd)
    if row.family == "dependence_cap":
        text = (f"the cap '{row.policy}' on {mineral}'s share of supply in {row.year} costs {amount} per percentage "
                f"point tightened")
    elif row.family == "bound":
        text = (f"'{row.policy}' holds back {mineral}{where} in {row.year}: each tonne let through would save "
                f"{amount}")
    elif row.family == "domestic_target":
        text = f"the target '{row.policy}' for {mineral} in {row.year} adds {amount} per t/yr of capacity required"
    else:
        text = f"'{row.policy}'{where} for {mineral} in {row.year} adds {amount} per tonne"
    return text + _holds(row) + _whole(row)


_LAST_BINDING: list[tuple[tuple[weakref.ref, ...], pd.DataFrame]] = []
"""The last ``_binding`` table with weak references to what it was made from (the model, the solution and its dual
arrays): a run's whole-unit probe and its shadow prices read the same solution's duals. Compared by identity, so a
new solution or dual array is never mistaken for the last; weak, so the cache keeps no model alive."""


def _sources(model: Model, solution: Solution) -> tuple[object, ...]:
    return model, solution, solution.row_dual, solution.col_dual


def _binding(model: Model, solution: Solution) -> pd.DataFrame:
    """Every binding policy row and bound with where it sits in the LP, most expensive (per unit, in the row's
    year) first; duals equal as written (10 significant digits, ``engine/outputs/files.py``) in key order, so that
    noise never orders rows. A fresh copy each call."""
    for refs, table in _LAST_BINDING:
        if all(ref() is source for ref, source in zip(refs, _sources(model, solution), strict=True)):
            return table.copy()
    table = pd.concat([row_duals(model, solution), bound_duals(model, solution)], ignore_index=True)
    if not table.empty:
        keys = ["policy", "family", "mineral", "year", "country"]  # unique per row
        table["written"] = [float(f"{v:.10g}") for v in table["dual_usd"].astype(float)]
        table = table.sort_values(["written", *keys], ascending=[False] + [True] * len(keys), kind="stable")
        table = table.reset_index(drop=True)
    _LAST_BINDING[:] = [(tuple(weakref.ref(source) for source in _sources(model, solution)), table)]
    return table.copy()


def whole_unit_relaxations(model: Model, solution: Solution, top: int = WHOLE_UNIT_TOP) -> list[tuple[str, int, float]]:
    """The bounds and rows of the ``top`` most expensive binding policies, each with the whole unit to relax it by
    (``PlanSession.cost_duals``'s ``probe``)."""
    if solution.row_dual is None:
        return []
    table = _binding(model, solution).head(top)
    return [(str(k), int(i), float(s)) for k, i, s in zip(table["_kind"], table["_index"], table["_step"],
                                                            strict=True)]


def ranges(table: pd.DataFrame, ranging: Ranging | str | None) -> pd.DataFrame:
    """``holds_relaxing``, ``holds_tightening``, ``holds_unit`` and ``ranging`` of ``_binding``'s rows: how far each
    policy may be relaxed and tightened from where it binds with its dual unchanged, in its own unit. A row's
    relaxation is the way its dual saves (``_step``'s sign: up for a binding upper bound, ``y_i < 0``), so
    relaxing = ``row_up`` (or ``row_dn``) ``/ |_step|`` and tightening the other way; a bound policy's column is
    relaxed by raising its upper bound (``col_up``) and tightened by lowering it (``col_dn``). Blank, with the
    reason in ``ranging``, where ``ranging`` is a reason or None (not computed)."""
    out = pd.DataFrame(index=table.index)
    out["holds_unit"] = [HOLDS_UNITS.get(f, "t") for f in table["family"]]
    if not isinstance(ranging, Ranging):
        out["holds_relaxing"] = out["holds_tightening"] = np.nan
        out["ranging"] = ranging or "not computed"
        return out
    index, step = table["_index"].to_numpy(dtype=np.int64), table["_step"].to_numpy(dtype=float)
    row = table["_kind"].to_numpy() == "row"
    up = np.where(row, ranging.row_up[np.where(row, index, 0)], ranging.col_up[np.where(row, 0, index)])
    dn = np.where(row, ranging.row_dn[np.where(row, index, 0)], ranging.col_dn[np.where(row, 0, index)])
    relax = np.where(step > 0, up, dn) / np.abs(step)
    tighten = np.where(step > 0, dn, up) / np.abs(step)
    out["holds_relaxing"] = np.where(relax < RANGE_ZERO, 0.0, relax) + 0.0
    out["holds_tightening"] = np.where(tighten < RANGE_ZERO, 0.0, tighten) + 0.0
    out["ranging"] = RANGED
    return out


def shadow_prices(model: Model, solution: Solution | None) -> pd.DataFrame:
    """Every binding policy row and bound, most expensive (per unit, in the row's year) first, with the interval
    its dual holds over (``ranges``, from ``solution.extra["ranging"]``) and what a whole unit saves where it was
    re-solved (``whole_unit_relaxations``; blank elsewhere). No value is written as -0."""
    if solution is None or solution.row_dual is None:
        return pd.DataFrame(columns=COLUMNS)
    table = _binding(model, solution)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    whole = solution.extra.get("whole_unit", {})
    saved = np.array([whole.get((k, int(i)), np.nan) for k, i in zip(table["_kind"], table["_index"], strict=True)])
    whole_usd = _money(model, saved, table["year"])[1]
    table["whole_unit_usd"] = np.where(np.abs(whole_usd) < CENT, 0.0, whole_usd) + 0.0
    table[["holds_relaxing", "holds_tightening", "holds_unit", "ranging"]] = ranges(
        table, solution.extra.get("ranging"))[["holds_relaxing", "holds_tightening", "holds_unit", "ranging"]]
    for column in ("dual_pv_usd", "dual_usd"):
        table[column] = table[column].astype(float) + 0.0
    names = model.mineral_names()
    table["reading"] = [_reading(r, names) for r in table.itertuples(index=False)]
    return table[COLUMNS]
