"""``critmin compare`` of market-mode runs: scenarios or results folders side by side.

Each argument is a market results folder (its ``summary.json`` says ``market: equilibrium``) or a market scenario,
solved here by ``solve_market`` (nothing written). Every figure is read from the run's summary, the dictionary
``critmin solve`` writes to ``summary.json``, so a scenario solved here and the folder ``solve`` wrote for it give
the same column. The table has the single-buyer comparison's shape (``key, section, metric, unit``, then one column
per run): the goal (θ, the buyer's welfare change against its own uncapped equilibrium), the buyer region's
measures (exposure, share of supply, consumption, unconsumed reference tonnes, spend), every region's welfare
(present value), the total surplus, the first year's prices per mineral and region, and the largest certificate
price per mineral.

**Each run its own goal.** A market run's goal is a cap θ or a budget rule on its own frontier; nothing is held
across runs (``--budget`` does not apply), and the printout says so.

A market run compared with a single-buyer run is refused in one line: their measures differ (welfare and prices
against a plan's cost).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.analysis.compare import TABLE_KEYS, _get, _ordered, check_argument, not_a_solve_folder, unique_labels
from engine.errors import InputError
from engine.inputs.names import Names
from engine.outputs.display import pct, tonnes, usd
from engine.outputs.read_folder import is_results_folder


@dataclass
class MarketRun:
    label: str
    origin: str  # "folder" or "solved"
    argument: str
    summary: dict
    inputs: str | None = None


@dataclass
class MarketComparison:
    runs: list[MarketRun]
    table: pd.DataFrame
    names: Names = field(default_factory=Names)

    @property
    def labels(self) -> list[str]:
        return [r.label for r in self.runs]


def run_mode(argument: str) -> str:
    """``'equilibrium'`` for a market run (folder or scenario), ``'none'`` for a single-buyer one."""
    if check_argument(argument) == "folder":
        try:
            summary = json.loads((Path(argument) / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "none"  # the single-buyer reader names what is wrong with it
        return str(summary.get("market", "none")) if isinstance(summary, dict) else "none"
    from engine.inputs.scenario import load_scenario

    return load_scenario(argument).scenario.market


def check_modes(arguments: Sequence[str]) -> bool:
    """True when every run is a market run, False when none is; a mix is refused in one line."""
    modes = {a: run_mode(a) for a in arguments}
    market = [a for a, m in modes.items() if m != "none"]
    single = [a for a, m in modes.items() if m == "none"]
    if market and single:
        raise InputError(f"compare: cannot compare market-mode runs ({', '.join(market)}) with single-buyer runs "
                         f"({', '.join(single)}): a market run reports welfare and prices, a single-buyer run a "
                         f"plan's cost; compare market runs with market runs")
    return bool(market)


def load_market_run(argument: str) -> MarketRun:
    if check_argument(argument) == "folder":
        from engine.outputs.read_folder import load_results_folder

        folder = load_results_folder(argument)
        if folder.kind != "market":
            raise not_a_solve_folder(argument, folder.kind.removeprefix("market_"))
        return MarketRun(folder.name, "folder", argument, folder.summary, folder.inputs)
    from engine.inputs.scenario import load_scenario
    from engine.market import solve_market

    loaded = load_scenario(argument)
    return MarketRun(loaded.name, "solved", argument, solve_market(loaded).summary, str(loaded.dataset.folder))


def market_rows(runs: list[MarketRun]) -> list[dict]:
    rows: list[dict] = []

    def add(key: str, section: str, metric: str, unit: str, values: list) -> None:
        rows.append({"key": key, "section": section, "metric": metric, "unit": unit,
                     **{run.label: v for run, v in zip(runs, values, strict=True)}})

    add("origin", "run", "from", "", [f"{r.origin} {r.argument}" for r in runs])
    add("buyer_region", "run", "buyer region", "", [r.summary.get("buyer_region") for r in runs])
    add("goal.share_of_supply_max", "goal", "theta (China share of supply at most)", "share",
        [_get(r.summary, "goal", "share_of_supply_max") for r in runs])
    add("goal.buyer_welfare_change_pv_usd", "goal", "buyer welfare change against its uncapped equilibrium",
        "USD PV", [_get(r.summary, "goal", "buyer_welfare_change_pv_usd") for r in runs])
    for key, metric, unit in (("exposure_pct", "exposure (China-attributed + unconsumed, % of reference)", "%"),
                              ("share_of_supply_mean_pct", "share of supply, mean over mineral-years", "%"),
                              ("consumption_t", "consumption over the horizon", "t"),
                              ("unconsumed_t", "reference tonnes not consumed", "t"),
                              ("spend_pv_usd", "spend on these minerals", "USD PV")):
        add(f"buyer.{key}", "buyer", metric, unit, [_get(r.summary, "buyer", key) for r in runs])
    regions = _ordered(runs, lambda s: list((s.get("welfare") or {}).keys()))
    for region in regions:
        add(f"welfare.{region}.welfare_pv_usd", "welfare", region, "USD PV",
            [_get(r.summary, "welfare", region, "welfare_pv_usd") for r in runs])
    add("total_surplus_pv_usd", "welfare", "world total surplus", "USD PV",
        [_get(r.summary, "total_surplus_pv_usd") for r in runs])
    minerals = _ordered(runs, lambda s: list(((s.get("prices_first_year") or {}).get("by_mineral_usd_per_t")
                                              or {}).keys()))
    for mineral in minerals:
        for region in regions:
            add(f"prices.{mineral}.{region}", "prices", f"{mineral}, {region}", "USD/t",
                [_get(r.summary, "prices_first_year", "by_mineral_usd_per_t", mineral, region) for r in runs])
    for mineral in minerals:
        values = []
        for r in runs:
            by_year = ((r.summary.get("goal") or {}).get("certificate_price_usd_per_t") or {}).get(mineral)
            values.append(max(by_year.values()) if by_year else None)
        if any(v is not None for v in values):
            add(f"certificates.{mineral}.max", "certificates", f"{mineral}, largest over the years", "USD/t", values)
    return rows


def compare_market(arguments: Sequence[str]) -> MarketComparison:
    """Load or solve every argument (each checked first) and build the side-by-side table."""
    runs = unique_labels([load_market_run(a) for a in arguments])
    table = pd.DataFrame(market_rows(runs), columns=[*TABLE_KEYS, *(r.label for r in runs)])
    return MarketComparison(runs, table, Names(runs[0].inputs))


SECTIONS = {
    "goal": "The goal: China share of the buyer's supply at most theta in every mineral-year (each run its own)",
    "buyer": "The buyer region over the horizon",
    "welfare": "Welfare by region, USD present value (consumer + producer surplus of owned capacity + government "
               "revenue)",
    "prices": "Prices in the first year, USD/t (competitive: understated where one seller dominates)",
    "certificates": "Certificate price of the goal, USD/t",
}


def cell(value: object, unit: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    if isinstance(value, str):
        return value
    v = float(value)  # type: ignore[arg-type]
    if unit == "%":
        return pct(v)
    if unit == "share":
        return f"{v:.3f}"
    if unit.startswith("USD PV"):
        return usd(v).removeprefix("USD ")
    if unit == "USD/t":
        return f"{v:,.0f}"
    return tonnes(v)


def render_market_comparison(comparison: MarketComparison) -> str:
    table, labels = comparison.table, comparison.labels
    width = max(13, *(len(label) + 2 for label in labels))
    metric_width = max(24, *(len(m) + 4 for m in table["metric"]))
    lines = [f"Comparison of {len(labels)} market-mode runs",
             "  " + " " * metric_width + "".join(f"{label:>{width}}" for label in labels),
             "  " + "from".ljust(metric_width) + "".join(f"{r.origin:>{width}}" for r in comparison.runs),
             "  Each run at its own goal (a cap theta, or its budget rule on its own frontier): no budget is held "
             "across market runs."]
    for section, title in SECTIONS.items():
        part = table[table["section"] == section]
        if part.empty or part.iloc[:, 4:].isna().all().all():
            continue
        lines += ["", f"  {title}"]
        for row in part.itertuples(index=False):
            lines.append(f"    {row.metric:<{metric_width - 2}}" + "".join(f"{cell(v, row.unit):>{width}}"
                                                                          for v in row[4:]))
    return "\n".join(lines)


def market_comparison_json(comparison: MarketComparison) -> dict:
    return {"market": "equilibrium", "runs": [{"label": r.label, "origin": r.origin, "argument": r.argument}
                                             for r in comparison.runs],
            "table": comparison.table.to_dict(orient="records")}


def is_market_folder(path: Path) -> bool:
    """A results folder written by ``critmin solve`` of a market scenario (or a market analysis)."""
    if not is_results_folder(path):
        return False
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and summary.get("market", "none") != "none"
