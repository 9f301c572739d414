"""The exchange rate nobody chose: how the dependence objective's aggregate weighs a tonne of one mineral-year
against a tonne of another, defined once here and shown wherever the aggregate is named (solve, frontier, compare,
report).

A tonne attributed (or unmet) in demand row (m, y, ω) adds to the aggregate (``outputs/results.py``,
``formulation/dependence.py``)::

    mean     c[m, y] = Σ_ω p_ω × w_m × 100 / (demand[m, y, ω] × Σ_m' w_m' over the mineral-years)
    value    c[m, y] = Σ_ω p_ω × w_m × price_m × 100 / Σ (p × w × price × demand)
    leximin  c[m, y] = Σ_ω p_ω × 100 / (demand[m, y, ω] × years of m)          (mineral m's exposure, not the total)
    max      none: only the worst mineral-year counts

percentage points per tonne. The exchange rate of (m, y) is c[m, y] / c[reference]: one tonne of m in y weighs like
that many tonnes of the reference, the first modelled mineral in the first year (under ``leximin``, minerals are
never traded against each other: the reference is the same mineral's first year).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.results import aggregate_row_weights, reference_prices

AGGREGATE_TEXT = {
    "mean": "mean over minerals and years (each mineral-year alike)",
    "value": "mean over minerals and years weighted by the value of demand (tonnes x reference price)",
    "max": "worst mineral-year (the largest exposure of any mineral in any year)",
    "leximin": "leximin over minerals (the worst mineral's exposure, its mean over years, first; then the next "
               "worst's, ...)",
}
"""How each aggregate reads in printouts."""


def tonne_weights(model: Model) -> pd.DataFrame:
    """Per (mineral, year) with demand: ``pp_per_tonne``, c[m, y] of the module's docstring (none under ``max``)."""
    d = model.demand
    rows = d[d["demand_t"].to_numpy() > 0]
    aggregate = model.scenario.objective.aggregate
    if aggregate == "max" or rows.empty:
        return pd.DataFrame(columns=["mineral", "year", "pp_per_tonne"])
    weighted, total = aggregate_row_weights(model, rows)
    demand = rows["demand_t"].to_numpy(dtype=float)
    if aggregate == "leximin":  # each mineral's exposure: its years' p-weighted mean
        per_mineral = pd.Series(weighted).groupby(rows["mineral"].to_numpy()).transform("sum").to_numpy()
        coef = 100.0 * weighted / (demand * per_mineral)
    else:
        coef = 100.0 * weighted / (demand * total)
    out = pd.DataFrame({"mineral": rows["mineral"].to_numpy(), "year": rows["year"].to_numpy(), "pp_per_tonne": coef})
    out = out.groupby(["mineral", "year"], as_index=False, sort=False)["pp_per_tonne"].sum()
    order = {m: k for k, m in enumerate(model.minerals)}
    return out.sort_values(["mineral", "year"], key=lambda s: s.map(order) if s.name == "mineral" else s,
                           kind="stable").reset_index(drop=True)


def weighting(model: Model) -> dict:
    """The summary's ``dependence.weighting``: the aggregate, how it reads, the reference tonne and, per mineral,
    for its first and last year with demand, the tonnes of the reference one tonne weighs like
    (``reference_t``) and c[m, y] (``pp_per_tonne``)."""
    aggregate = model.scenario.objective.aggregate
    out: dict = {"aggregate": aggregate, "text": AGGREGATE_TEXT[aggregate], "reference": None, "by_mineral": {},
                 "widest": None}
    if aggregate == "value":
        out["prices_usd_per_t"] = {m: _sig(v) for m, v in reference_prices(model).items()}
    table = tonne_weights(model)
    if table.empty:
        return out
    first = table.iloc[0]
    out["reference"] = {"mineral": str(first["mineral"]), "year": int(first["year"])}
    if aggregate != "leximin":
        rounded = table["pp_per_tonne"].map(lambda v: _sig(v, 12))  # equal weights (value: every year) tie to the first
        heavy, light = table.iloc[int(rounded.argmax())], table.iloc[int(rounded.argmin())]
        out["widest"] = {"heavy": {"mineral": str(heavy["mineral"]), "year": int(heavy["year"])},
                         "light": {"mineral": str(light["mineral"]), "year": int(light["year"])},
                         "light_t": _sig(heavy["pp_per_tonne"] / light["pp_per_tonne"])}
    years, pp = table["year"].tolist(), table["pp_per_tonne"].tolist()
    rows: dict[object, list[int]] = {}  # each mineral's rows, minerals in order of appearance (a groupby's)
    for i, mineral in enumerate(table["mineral"].tolist()):
        rows.setdefault(mineral, []).append(i)
    for mineral, part in rows.items():
        base = pp[part[0]] if aggregate == "leximin" else first["pp_per_tonne"]
        ends = [part[0], part[-1]] if len(part) > 1 else part
        out["by_mineral"][str(mineral)] = {
            str(int(years[i])): {"reference_t": _sig(pp[i] / base), "pp_per_tonne": _sig(pp[i])} for i in ends}
    return out


def _sig(value: float, digits: int = 6) -> float:
    """A value to ``digits`` significant figures (a stable figure for summaries)."""
    return float(f"{value:.{digits}g}") if np.isfinite(value) and value else float(value)


def weighting_lines(weighting: dict | None, names: dict[str, str], indent: str = "  ") -> list[str]:
    """The weighting and the exchange rate it implies, as printouts show it (from a summary's
    ``dependence.weighting``); nothing for a summary without one."""
    if not weighting:
        return []
    aggregate = weighting["aggregate"]
    widest = weighting.get("widest")
    lines = [f"{indent}Weighting: {weighting['text']}" + (
        f": one tonne of {_name(widest['heavy'], names)} weighs like {_tonnes(widest['light_t'])} t of "
        f"{_name(widest['light'], names)}." if widest else ".")]
    ref = weighting.get("reference")
    if aggregate == "max" or not ref:
        lines.append(f"{indent}  No exchange rate between tonnes: a tonne counts only in the worst mineral-year.")
        return lines
    if aggregate == "leximin":
        lines.append(f"{indent}  Minerals are not traded against each other; within a mineral, one tonne in a year "
                     f"weighs like this many tonnes in its first year:")
    else:
        lines.append(f"{indent}  Exchange rate: one tonne of each weighs like this many tonnes of "
                     f"{names.get(ref['mineral'], ref['mineral'])} in {ref['year']}:")
    lines.extend(f"{indent}    {name:<12}{cells}" for name, cells in exchange_cells(weighting, names))
    return lines


def exchange_cells(weighting: dict, names: dict[str, str]) -> list[tuple[str, str]]:
    """Per mineral of a summary's ``dependence.weighting``: its name and its exchange rates as printed
    ("2025: 1 t; 2035: 0.315 t")."""
    return [(names.get(mineral, mineral),
             "; ".join(f"{year}: {_tonnes(v['reference_t'])} t" for year, v in years.items()))
            for mineral, years in weighting["by_mineral"].items()]


def _name(mineral_year: dict, names: dict[str, str]) -> str:
    return f"{names.get(mineral_year['mineral'], mineral_year['mineral'])} in {mineral_year['year']}"


def _tonnes(value: float) -> str:
    """An exchange rate in tonnes: three significant figures, thousands separated."""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}"
