"""``critmin sweep`` in market mode: Monte Carlo over the scenario's uncertainty and the market's own assumptions.

A sample draws what the single-buyer sweep draws (``sampling.sample_factors``, stream ``SWEEP``: the scenario's
``uncertainty`` multipliers on demand, capacity and cost, and its shocks with their probabilities), then, from an
independent stream (``MARKET``, so the draws above are the single-buyer sweep's own), per mineral in sorted order:

- a position u ~ U(0, 1) on every demand curve's elasticity range: ε = ε_low + u·(ε_high − ε_low) for each
  region and year of the mineral (``regional_demand.csv``'s ``elasticity_low``/``_high``; every curve at the same
  point of its range); the sample records the buyer region's first-year ε;
- the trade cost as a share s ~ U(low, high) of the mineral's reference price (``inputs/market/assumptions.csv``,
  ``market-trade-cost``: the rule ``trade_costs.csv`` is made by, at the ends of its range).

The demand multiplier scales every region's reference quantities of the mineral (``data.demand_scale``, as a
scenario's own scaling does in market mode); capacity and cost multipliers and shocks act on the plants as in
today's model (``build_market(scenarios=…)``). Each sample is then ``solve_market`` itself, cold on a fresh HiGHS
model, with the scenario's goal rule (a fixed θ, or the budget rule on the sample's own frontier): its row holds the
figures ``critmin solve`` would print for that sample — every region's welfare (present value), every first-year
price, the buyer's exposure, share of supply, consumption, unconsumed reference tonnes and spend, the total surplus,
and with a goal θ and the buyer's welfare change against its own uncapped equilibrium.

Executors, checkpoints and resume are the single-buyer sweep's (``engine.analysis.sweep``): a sample depends only
on (seed, index), so rows are byte-identical whichever process runs them.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd

from engine.analysis.sampling import _universe, sample_factors
from engine.inputs.market_tables import _assumptions, load_market, market_folder
from engine.inputs.scenario import LoadedScenario, with_overrides
from engine.market.run import MarketResult, solve_market

MARKET = 3  # the market's random stream (sampling: SWEEP 0, ROBUST_PLAN 1, ROBUST_EVALUATION 2)
TRADE_COST = "market-trade-cost"


def trade_cost_range(loaded: LoadedScenario) -> tuple[float, float]:
    """The trade cost's range as a share of the reference price (``assumptions.csv``, ``market-trade-cost``)."""
    row = _assumptions(market_folder(loaded.dataset))[TRADE_COST]
    return float(row["low"]), float(row["high"])


def result_row(result: MarketResult) -> dict:
    """A sample's figures, read from the summary and the prices table ``critmin solve`` writes for it."""
    s = result.summary
    row: dict = {"total_surplus_pv_usd": s["total_surplus_pv_usd"]}
    row.update({f"welfare_{r}_pv_usd": w["welfare_pv_usd"] for r, w in s["welfare"].items()})
    first = result.prices[result.prices["year"] == result.loaded.scenario.years[0]]
    row.update({f"price_{r}_{m}_usd_per_t": float(p) for r, m, p in
                zip(first["region"], first["mineral"], first["price_usd_per_t"], strict=True)})
    buyer = s["buyer"]
    row.update({"exposure_pct": buyer["exposure_pct"], "share_of_supply_pct": buyer["share_of_supply_mean_pct"],
                "consumption_t": buyer["consumption_t"], "unconsumed_t": buyer["unconsumed_t"],
                "spend_pv_usd": buyer["spend_pv_usd"]})
    goal = s.get("goal")
    if goal is not None:
        row.update({"theta": goal["share_of_supply_max"],
                    "welfare_change_goal_pv_usd": goal["buyer_welfare_change_pv_usd"]})
    return row


class MarketSampleRunner:
    """Solves samples of one market scenario, each with ``solve_market`` on a fresh model."""

    def __init__(self, loaded: LoadedScenario, seed: int, solver: str | None = None) -> None:
        self.loaded, self.seed = loaded, seed
        self.universe = _universe(loaded)
        self.market = load_market(loaded.dataset, loaded.scenario.buyer)
        self.minerals = sorted(self.universe.minerals)
        self.low, self.high = trade_cost_range(loaded)
        prices = loaded.dataset.minerals.set_index("mineral")["reference_price_usd_per_t"]
        self.reference = {m: float(prices[m]) for m in self.minerals}
        d = self.market.demand
        self.eps_low = d["elasticity_low"].to_numpy(dtype=float)
        self.eps_span = d["elasticity_high"].to_numpy(dtype=float) - self.eps_low
        self.demand_mineral = d["mineral"].to_numpy()
        buyer = self.market.home[loaded.scenario.buyer]
        first = loaded.scenario.years[0]
        self.buyer_first = {m: np.flatnonzero((d["region"] == buyer).to_numpy() & (d["year"] == first).to_numpy()
                                              & (self.demand_mineral == m)) for m in self.minerals}

    def run(self, index: int) -> dict:
        from engine.analysis.sweep import _rounded

        start = time.perf_counter()
        sample, record = sample_factors(self.loaded, index, self.seed, universe=self.universe)
        rng = np.random.default_rng([self.seed, MARKET, index])
        position = {m: float(rng.uniform()) for m in self.minerals}
        share = {m: float(rng.uniform(self.low, self.high)) for m in self.minerals}
        u = np.array([position.get(m, 0.0) for m in self.demand_mineral])
        elasticity = self.eps_low + u * self.eps_span
        demand = self.market.demand.assign(elasticity=elasticity)
        trade = self.market.trade_costs.assign(
            usd_per_t=[share[m] * self.reference[m] if m in share else v
                       for m, v in zip(self.market.trade_costs["mineral"], self.market.trade_costs["usd_per_t"],
                                       strict=True)])
        market = dataclasses.replace(self.market, demand=demand, trade_costs=trade)
        loaded = self.loaded
        if sample.demand_factors:
            data = loaded.scenario.data
            scale = {**data.demand_scale, **{m: data.demand_scale.get(m, 1.0) * f
                                             for m, f in sample.demand_factors.items()}}
            loaded = with_overrides(loaded, data=data.model_copy(update={"demand_scale": scale}))
        for m in self.minerals:
            at = self.buyer_first[m]
            record[f"elasticity_{m}"] = float(elasticity[at[0]]) if len(at) else float("nan")
            record[f"trade_cost_share_{m}"] = share[m]
        result = solve_market(loaded, market=market, scenarios=sample)
        row = {**record, "status": "optimal", **result_row(result), "seconds": time.perf_counter() - start}
        return _rounded(row)


def goal_rule(loaded: LoadedScenario) -> str:
    """How a market sweep's samples treat the goal, in one sentence."""
    goal = loaded.scenario.goal
    if goal is None:
        return "no goal (market_goal unset): each sample is the market's own equilibrium"
    if goal.share_of_supply_max is not None:
        return f"every sample holds the goal's theta = {goal.share_of_supply_max:g}"
    budget = str(goal.budget).replace(" over least cost", " of the buyer's uncapped spend")
    return (f"each sample chooses its own theta by the scenario's budget rule ({budget}) on its own frontier, "
            f"against its own uncapped equilibrium")


MARKET_SHOWN = ("exposure_pct", "share_of_supply_pct", "consumption_t", "unconsumed_t", "spend_pv_usd",
                "total_surplus_pv_usd", "theta", "welfare_change_goal_pv_usd")


def percentile_rows(stats: pd.DataFrame, buyer: str, regions: list[str], minerals: list[str],
                    mineral_name) -> list[tuple[str, str, str]]:
    """(metric, label, unit) of the printout's rows that ``stats`` holds: the buyer's measures, every region's
    welfare, the buyer's and China's first-year prices."""
    labels = {"exposure_pct": (f"{buyer} exposure (% of reference)", "pct"),
              "share_of_supply_pct": (f"{buyer} share of supply (%)", "pct"),
              "consumption_t": (f"{buyer} consumption, t over the horizon", "t"),
              "unconsumed_t": (f"{buyer} reference tonnes not consumed", "t"),
              "spend_pv_usd": (f"{buyer} spend (PV)", "usd"),
              "total_surplus_pv_usd": ("world total surplus (PV)", "usd"),
              "theta": ("goal theta (share of supply)", "share"),
              "welfare_change_goal_pv_usd": (f"{buyer} welfare change of the goal (PV)", "usd")}
    rows = [(k, *labels[k]) for k in MARKET_SHOWN if k in stats.index]
    rows += [(f"welfare_{r}_pv_usd", f"welfare {r} (PV)", "usd") for r in regions
             if f"welfare_{r}_pv_usd" in stats.index]
    for r in dict.fromkeys([buyer, "CHN"]):
        rows += [(f"price_{r}_{m}_usd_per_t", f"price {r} {mineral_name(m)}, first year (USD/t)", "price")
                 for m in minerals if f"price_{r}_{m}_usd_per_t" in stats.index]
    return rows
