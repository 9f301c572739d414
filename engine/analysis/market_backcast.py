"""The market backcast: does the equilibrium's first year look like what the buyer actually imports?

The same comparison as the single-buyer backcast (``engine.analysis.backcast``: its observations, its ``distance``
and its ``compare_shares``), with the equilibrium's shares in place of the plan's: per mineral, each location
country's share of the buyer region's deliveries in the first year, leaving out what the buyer's own country
supplies (imports only, as ``planned_shares`` does). Beside it, the single-buyer least-cost plan's distance for
the same scenario's dataset (``least_cost_backcast``), so each mineral says which mode is closer to observed trade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from engine.analysis.backcast import (
    Backcast,
    compare_shares,
    least_cost_backcast,
    location_shares,
    observations,
    top_shares,
)
from engine.market.run import MarketResult


@dataclass(frozen=True)
class MarketBackcast:
    """Per mineral with an observation: the equilibrium's backcast and the least-cost plan's."""

    year: int
    market: list[Backcast]
    least_cost: list[Backcast]  # same minerals, same order

    def closer(self, i: int) -> str:
        """'market', 'least cost', 'tie', or 'n/a' when either imports nothing."""
        a, b = self.market[i].distance_pp, self.least_cost[i].distance_pp
        if a is None or b is None:
            return "n/a"
        a, b = round(a, 6), round(b, 6)
        return "tie" if a == b else ("market" if a < b else "least cost")

    def table(self) -> pd.DataFrame:
        """``backcast.csv``: per mineral, the observation, both distances (points) and which mode is closer."""
        rows = []
        for i, (m, lc) in enumerate(zip(self.market, self.least_cost, strict=True)):
            o = m.observation
            rows.append({"mineral": o.mineral, "period": o.period, "measure": o.measure, "year": self.year,
                         "distance_market_pp": _pp(m.distance_pp), "distance_least_cost_pp": _pp(lc.distance_pp),
                         "lower_bound": m.lower_bound, "closer": self.closer(i),
                         "observed_shares": _shares(o.shares), "market_shares": _shares(m.planned),
                         "least_cost_shares": _shares(lc.planned)})
        columns = ["mineral", "period", "measure", "year", "distance_market_pp", "distance_least_cost_pp",
                   "lower_bound", "closer", "observed_shares", "market_shares", "least_cost_shares"]
        return pd.DataFrame(rows, columns=columns)

    def summary(self) -> dict:
        """The summary.json entry: per mineral both distances, which is closer and the shares."""
        return {"year": self.year,
                "distance": "half the L1 distance between observed and modelled import shares, points (0 = identical, "
                            "100 = disjoint); a lower bound where the source groups origins as 'other'",
                "by_mineral": {m.observation.mineral: {
                    "period": m.observation.period, "distance_market_pp": _pp(m.distance_pp),
                    "distance_least_cost_pp": _pp(lc.distance_pp), "lower_bound": m.lower_bound,
                    "closer": self.closer(i), "observed_shares": m.observation.shares, "market_shares": m.planned,
                    "least_cost_shares": lc.planned}
                    for i, (m, lc) in enumerate(zip(self.market, self.least_cost, strict=True))}}

    def lines(self, mineral_name: Callable[[str], str], country_name: Callable[[str], str]) -> list[str]:
        """The printout: one line per mineral with an observation."""
        out = [f"  Backcast {self.year}: US imports by origin against observed trade (distance, points; market "
               f"equilibrium vs the single-buyer least-cost plan)",
               f"  {'mineral':<11}{'market':>9}{'least cost':>11}  {'closer':<11}{'observed':<36}equilibrium"]
        for i, (m, lc) in enumerate(zip(self.market, self.least_cost, strict=True)):
            o = m.observation
            out.append(f"  {mineral_name(o.mineral):<11}{m.text:>9}{lc.text:>11}  {self.closer(i):<11}"
                       f"{top_shares(o.shares, name=country_name):<36}{top_shares(m.planned, name=country_name)}")
        out.append("  (observed_trade.csv, latest period per mineral; half the L1 distance between share vectors, "
                   "0 = identical, 100 = disjoint; '>=' where the source groups origins as 'other')")
        return out


def equilibrium_shares(flows: pd.DataFrame, buyer_region: str, buyer_country: str,
                       year: int) -> dict[str, dict[str, float]]:
    """Per mineral: each location country's share of the buyer region's deliveries in ``year`` (the buyer's own
    country left out), from the market's flows (``source_id``, ``mineral``, ``location``, ``region``, ``year``,
    ``tonnes``)."""
    return location_shares(flows[(flows["region"] == buyer_region) & (flows["year"] == year)
                                 & (flows["location"] != buyer_country)])


def market_backcast(result: MarketResult, solver: str | None = None) -> MarketBackcast | None:
    """The backcast of a solved equilibrium and the least-cost plan's for the same scenario, for the minerals it
    prices (sorted, as its printout) that ``observed_trade.csv`` observes; ``None`` when it observes none of them.
    ``result.add_backcast`` puts it in the printout, the summary and ``backcast.csv``."""
    loaded, flows, buyer_region = result.loaded, result.flows, result.lp.buyer_region
    minerals = sorted(str(m) for m in result.prices["mineral"].unique())
    dataset = loaded.dataset  # type: ignore[attr-defined]
    scenario = loaded.scenario  # type: ignore[attr-defined]
    if "observed_trade" not in dataset.tables or dataset.tables["observed_trade"].empty:
        return None
    observed = observations(dataset)
    year = scenario.years[0]
    market = compare_shares(observed, equilibrium_shares(flows, buyer_region, scenario.buyer, year), minerals)
    if not market:
        return None
    planned, _ = least_cost_backcast(loaded, solver)
    by_mineral = {b.observation.mineral: b for b in planned}
    least_cost = [by_mineral.get(b.observation.mineral, Backcast(b.observation, {}, None, False)) for b in market]
    return MarketBackcast(year=year, market=market, least_cost=least_cost)


def _pp(v: float | None) -> float | None:
    return None if v is None else round(v, 6) + 0.0


def _shares(shares: dict[str, float]) -> str:
    """'CHL 0.563080; ROW 0.017687', largest first (ties by code)."""
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(f"{k} {v:.6f}" for k, v in ranked)


__all__ = ["MarketBackcast", "equilibrium_shares", "market_backcast"]
