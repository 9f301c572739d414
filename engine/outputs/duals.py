"""Shadow prices of the scenario's policies, in planner units.

For every policy row that binds (country caps, content rules, dependence caps, export quotas, domestic
targets) the dual of the cost stage says how much the plan's cost (present value) would fall if the row were
relaxed by one unit: a tonne of supply for share rules and quotas, a percentage point of the share of supply
for dependence caps (at the plan's tonnes supplied), a t/yr of capacity for domestic targets. Policies that act
on bounds (bans, FEOC exclusions, market access) are priced by the reduced cost of the best source they hold back.
Values are reported in present value and in money of the row's year (divided by the discount factor).
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.results import measures_of
from engine.solvers.base import Solution

COLUMNS = ["policy", "type", "family", "mineral", "year", "country", "dual_pv_usd", "dual_usd", "whole_unit_usd",
           "unit", "reading"]
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


def _whole(row: object) -> str:
    """What a whole unit saves, said only where the dual holds for part of the unit (they differ by over 0.1%)."""
    whole, dual = row.whole_unit_usd, row.dual_usd
    if not np.isfinite(whole) or abs(whole - dual) <= 1e-3 * abs(dual) + 0.5:
        return ""
    unit = {"dependence_cap": "percentage point", "domestic_target": "t/yr"}.get(row.family, "tonne")
    return f" at the margin; a whole {unit} saves USD {whole:,.0f} (the dual holds for only part of it)"


def _reading(row: object, names: dict[str, str]) -> str:
    mineral = names.get(row.mineral, row.mineral)
    where = f" on {row.country}" if row.country else ""
    amount = f"USD {row.dual_usd:,.0f}"
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
    return text + _whole(row)


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


def shadow_prices(model: Model, solution: Solution | None) -> pd.DataFrame:
    """Every binding policy row and bound, most expensive (per unit, in the row's year) first, with what a whole
    unit saves where it was re-solved (``whole_unit_relaxations``; blank elsewhere)."""
    if solution is None or solution.row_dual is None:
        return pd.DataFrame(columns=COLUMNS)
    table = _binding(model, solution)
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    whole = solution.extra.get("whole_unit", {})
    saved = np.array([whole.get((k, int(i)), np.nan) for k, i in zip(table["_kind"], table["_index"], strict=True)])
    table["whole_unit_usd"] = _money(model, saved, table["year"])[1]
    names = model.mineral_names()
    table["reading"] = [_reading(r, names) for r in table.itertuples(index=False)]
    return table[COLUMNS]
