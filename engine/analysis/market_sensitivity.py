"""``critmin sensitivity`` in market mode: each market assumption at its low and high value, re-solved, ranked by
what it does to the buyer region.

The families, each parameter moved alone with everything else central:

- ``elasticity`` per mineral: every region's and year's ε at ``elasticity_low`` and at ``elasticity_high``
  (``regional_demand.csv``);
- ``trade cost`` per mineral: the share of the reference price at the ends of ``market-trade-cost``'s range
  (``inputs/market/assumptions.csv``, the rule ``trade_costs.csv`` is made by);
- ``reference quantity`` per region: its reference quantities Q0 of every mineral and year times (1 − d) and
  (1 + d);
- ``production cost`` per location country: the unit cost of every plant located there times (1 − d) and (1 + d).

``d`` is 20% unless given. Each variant is ``solve_market`` itself (cold), so its figures are those ``critmin solve``
gives for it. Reported against the base: the buyer region's welfare change (present value, ``welfare.csv``'s
definition, as ``solve`` prints it), its price change (the cost of its base consumption at the variant's prices,
``engine.market.run.price_change_pct``, as ``who_pays.csv`` defines it) and its exposure change (points).

**One goal.** With ``budget="hold"`` (the default) a scenario whose goal is chosen by the budget rule has every
variant, and the base it is compared with, solved at the base's chosen θ (held, as the single-buyer sensitivity
holds the base plan's budget in USD): a variant moves the market, not the goal. ``budget="own"`` re-runs each
variant's own frontier and budget rule. A fixed θ is always held; without a goal there is nothing to hold.

Ranked by the swing of the buyer's welfare (|high − low|), then of its price. A region's own reference quantity
and the elasticities change the demand curve itself, so they move consumer surplus in level (the first step is
worth ten times the reference price): their welfare swings are large by construction; read their price and
exposure columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine.analysis.market_sweep import trade_cost_range
from engine.analysis.sensitivity import DEFAULT_STEP, _factor_text, _with_tables
from engine.inputs.market_tables import MarketData, load_market
from engine.inputs.names import Names
from engine.inputs.scenario import LoadedScenario, with_overrides
from engine.market.run import MarketResult, money, price_change_pct, solve_market
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import provenance, versions

MARKET_FAMILIES = ("elasticity", "trade cost", "reference quantity", "production cost")


@dataclass(frozen=True)
class MarketVariant:
    """One market assumption moved to one end of its range."""

    family: str
    parameter: str  # mineral, region or country
    end: str  # 'low' or 'high'
    setting: str
    loaded: LoadedScenario
    market: MarketData


@dataclass
class MarketSensitivityResult:
    """The base's figures and one row per assumption, ranked."""

    loaded: LoadedScenario
    buyer: str
    base: dict
    table: pd.DataFrame
    rule: str
    status: str = "optimal"
    names: Names = field(default_factory=Names)
    top: int = 15  # assumptions printed


def _demand(market: MarketData, rows: np.ndarray, **columns: np.ndarray) -> MarketData:
    demand = market.demand.copy()
    for column, values in columns.items():
        demand.loc[rows, column] = values
    return dataclasses.replace(market, demand=demand)


def market_variants(loaded: LoadedScenario, market: MarketData, step: float = DEFAULT_STEP) -> list[MarketVariant]:
    """Every variant, in a fixed order (family, then parameter, then low/high)."""
    s, ds = loaded.scenario, loaded.dataset
    minerals = sorted(s.minerals if s.minerals else ds.minerals["mineral"])
    d = market.demand
    out: list[MarketVariant] = []
    for m in minerals:
        rows = (d["mineral"] == m).to_numpy()
        for end in ("low", "high"):
            values = d.loc[rows, f"elasticity_{end}"].to_numpy(dtype=float)
            text = f"{values.min():g}" if values.min() == values.max() else f"{values.min():g} to {values.max():g}"
            out.append(MarketVariant("elasticity", m, end, f"elasticity {text}", loaded,
                                     _demand(market, rows, elasticity=values)))
    low, high = trade_cost_range(loaded)
    reference = ds.minerals.set_index("mineral")["reference_price_usd_per_t"]
    trade = market.trade_costs
    for m in minerals:
        for end, share in (("low", low), ("high", high)):
            costs = trade.assign(usd_per_t=np.where(trade["mineral"] == m, share * float(reference[m]),
                                                    trade["usd_per_t"].to_numpy(dtype=float)))
            out.append(MarketVariant("trade cost", m, end, f"{100 * share:g}% of the reference price", loaded,
                                     dataclasses.replace(market, trade_costs=costs)))
    ends = (("low", 1.0 - step), ("high", 1.0 + step))
    for r in market.regions["region"]:
        rows = (d["region"] == r).to_numpy() & d["mineral"].isin(minerals).to_numpy()
        for end, f in ends:
            out.append(MarketVariant("reference quantity", r, end, _factor_text(f), loaded,
                                     _demand(market, rows, quantity_t=d.loc[rows, "quantity_t"].to_numpy() * f)))
    cap = ds.capacity[ds.capacity["mineral"].isin(minerals)]
    for country in sorted(set(cap["location"])):
        for end, f in ends:
            table = ds.capacity.copy()
            here = (table["location"] == country).to_numpy()
            table.loc[here, "unit_cost_usd_per_t"] = table.loc[here, "unit_cost_usd_per_t"].astype(float) * f
            out.append(MarketVariant("production cost", country, end, _factor_text(f),
                                     _with_tables(loaded, capacity=table), market))
    return out


def _held(loaded: LoadedScenario, budget: str) -> tuple[LoadedScenario, str, float | None]:
    """The scenario the base and variants are solved as, the rule in words, and the θ held (None: none)."""
    goal = loaded.scenario.goal
    if goal is None:
        return loaded, "no goal (market_goal unset)", None
    if goal.share_of_supply_max is not None:
        return loaded, f"the goal's theta = {goal.share_of_supply_max:g} in every variant", goal.share_of_supply_max
    if budget == "own":
        return loaded, "each variant chooses its own theta by the budget rule on its own frontier", None
    theta = solve_market(loaded).goal.theta
    held = with_overrides(loaded, market_goal={"share_of_supply_max": theta})
    return held, (f"the goal held at the base's theta = {theta:.3f} (chosen by the budget rule); budget 'own' "
                  f"re-chooses it per variant"), theta


def _figures(result: MarketResult, base: MarketResult | None) -> dict:
    buyer = result.lp.buyer_region
    s = result.summary
    out = {"welfare_pv_usd": s["welfare"][buyer]["welfare_pv_usd"], "exposure_pct": s["buyer"]["exposure_pct"]}
    if base is not None:
        index = base.account.regions.index(buyer)
        out["price_change_pct"] = float(price_change_pct(base.account, base.solution, result.solution)[index])
    return out


def market_sensitivity(loaded: LoadedScenario, *, step: float = DEFAULT_STEP, budget: str = "hold",
                       progress: Callable[[int, int], None] | None = None) -> MarketSensitivityResult:
    """Solve the base, then every variant; the ranked table of the buyer's changes."""
    solved, rule, theta = _held(loaded, budget)
    base = solve_market(solved)
    buyer = base.lp.buyer_region
    b = _figures(base, None)
    market = load_market(loaded.dataset, loaded.scenario.buyer)
    todo = market_variants(solved, market, step)
    rows = []
    for i, v in enumerate(todo):
        now = _figures(solve_market(v.loaded, market=v.market), base)
        rows.append({"family": v.family, "parameter": v.parameter, "end": v.end, "setting": v.setting,
                     "welfare_change_pv_usd": now["welfare_pv_usd"] - b["welfare_pv_usd"],
                     "price_change_pct": now["price_change_pct"],
                     "exposure_change_pp": now["exposure_pct"] - b["exposure_pct"]})
        if progress is not None:
            progress(i + 1, len(todo))
    base_info = {"welfare_pv_usd": b["welfare_pv_usd"], "exposure_pct": b["exposure_pct"], "theta": theta,
                 "variants": len(todo), "step": step}
    return MarketSensitivityResult(loaded, buyer, base_info, rank(pd.DataFrame(rows)), rule,
                                   names=Names(loaded.dataset.folder))


RANKED_COLUMNS = ["rank", "family", "parameter", "setting_low", "setting_high", "welfare_low_pv_usd",
                  "welfare_high_pv_usd", "price_low_pct", "price_high_pct", "exposure_low_pp", "exposure_high_pp",
                  "welfare_swing_pv_usd", "price_swing_pct", "exposure_swing_pp"]


def rank(long: pd.DataFrame) -> pd.DataFrame:
    """One row per parameter with its low and high changes, ranked by the swing in the buyer's welfare, then in its
    price (values rounded to USD 1,000 and 1e-6 points, so that solver noise never reorders)."""
    if long.empty:
        return pd.DataFrame(columns=RANKED_COLUMNS)
    low = long[long["end"] == "low"].reset_index(drop=True)
    high = long[long["end"] == "high"].reset_index(drop=True)
    out = pd.DataFrame({"family": low["family"], "parameter": low["parameter"], "setting_low": low["setting"],
                        "setting_high": high["setting"]})
    for name, column in (("welfare", "welfare_change_pv_usd"), ("price", "price_change_pct"),
                         ("exposure", "exposure_change_pp")):
        unit = column.rsplit("_", 1)[-1] if name != "welfare" else "pv_usd"
        out[f"{name}_low_{unit}"] = np.round(low[column].to_numpy(dtype=float), 6) + 0.0
        out[f"{name}_high_{unit}"] = np.round(high[column].to_numpy(dtype=float), 6) + 0.0
        out[f"{name}_swing_{unit}"] = (out[f"{name}_high_{unit}"] - out[f"{name}_low_{unit}"]).abs()
    position = np.arange(len(out))
    order = np.lexsort([position, -out["price_swing_pct"].round(6).to_numpy(),
                        -out["welfare_swing_pv_usd"].round(-3).to_numpy()])
    out = out.take(order).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[RANKED_COLUMNS]


def assumption_label(result: MarketSensitivityResult, family: str, parameter: str) -> str:
    names = result.names
    if family in ("elasticity", "trade cost"):
        return f"{family}, {names.mineral(parameter)}"
    if family == "production cost":
        return f"{family}, {names.country(parameter)}"
    return f"{family}, {parameter}"


def render_market_sensitivity(result: MarketSensitivityResult, top: int | None = None) -> str:
    """The printout: the base, the rule, and the ``top`` assumptions (default ``result.top``)."""
    top = result.top if top is None else top
    b, buyer = result.base, result.buyer
    t = result.table
    lines = [f"Sensitivity of scenario '{result.loaded.name}' in market mode: one market assumption at a time at its "
             f"low and high value",
             f"  Base: {buyer} welfare {money(b['welfare_pv_usd'])} USD present value, exposure "
             f"{b['exposure_pct']:.1f}%; goal: {result.rule}.",
             f"  {len(t)} assumptions, {2 * len(t)} equilibria; ranked by the swing in {buyer} welfare, then in its "
             f"price.", "",
             f"  {'#':>3}  {'assumption':<30} {'low':<26} {'high':<26}{'dW ' + buyer + ' low/high':>24}"
             f"{'price low/high':>18}{'exposure low/high':>20}"]
    for r in t.head(top).to_dict("records"):
        lines.append(f"  {r['rank']:>3}  {assumption_label(result, r['family'], r['parameter'])[:30]:<30} "
                     f"{r['setting_low'][:26]:<26} {r['setting_high'][:26]:<26}"
                     f"{money(r['welfare_low_pv_usd']):>12}{money(r['welfare_high_pv_usd']):>12}"
                     f"{r['price_low_pct']:>+8.2f}%{r['price_high_pct']:>+9.2f}%"
                     f"{r['exposure_low_pp']:>+9.1f} pp{r['exposure_high_pp']:>+8.1f} pp")
    if len(t) > top:
        lines.append(f"  … {len(t) - top} more in sensitivity.csv")
    lines.append(f"  (changes against the base: welfare USD present value; price: the cost of {buyer}'s base "
                 f"consumption at the variant's prices; a region's own reference quantity and the elasticities "
                 f"change the demand curve itself, so they move consumer surplus in level; xF multiplies the "
                 f"central value)")
    return "\n".join(lines)


def market_sensitivity_summary(result: MarketSensitivityResult) -> dict:
    return stamped({"scenario": result.loaded.name, **provenance(result.loaded), "market": "equilibrium",
                    "status": result.status, "buyer_region": result.buyer, "rule": result.rule,
                    "base": result.base, "families": list(MARKET_FAMILIES),
                    "ranked": result.table.to_dict(orient="records"), "versions": versions()})


def write_market_sensitivity(result: MarketSensitivityResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(result.table, tmp / "sensitivity.csv")
        write_json(market_sensitivity_summary(result), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force, inputs=result.loaded.input_paths)
