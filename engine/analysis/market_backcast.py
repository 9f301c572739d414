"""The market backcast: does the equilibrium's first year look like what is observed?

Three comparisons, each against a sourced table:

- **US imports by origin** (``observed_trade.csv``): the same comparison as the single-buyer backcast
  (``engine.analysis.backcast``: its observations, its ``distance`` and its ``compare_shares``), with the
  equilibrium's shares in place of the plan's: per mineral, each location country's share of the buyer region's
  deliveries in the first year, leaving out what the buyer's own country supplies (imports only, as
  ``planned_shares`` does). Beside it, the single-buyer least-cost plan's distance for the same scenario's dataset
  (``least_cost_backcast``), so each mineral says which mode is closer to observed trade.
- **Prices** (``market/observed_prices.csv``): per mineral and region with an observation, the equilibrium's
  first-year price (``prices.csv``) against the observed range of the latest observed year up to the first year:
  low = the lowest ``low_usd_per_t``, high = the highest ``high_usd_per_t`` over that year's series. ``off_pct``
  is 0 inside, 100·(p − high)/high above and 100·(p − low)/low below.
- **A region's use of its own refined output** (``market/observed_own_use.csv``; China's): the share of the
  first-year output of plants home to the region that the region consumes, Σ x[s → r] / Σ_r' x[s → r'] over plants
  s home to r, against the sourced share kept (1 − exports / output). An ``upper`` bound is met when the
  equilibrium keeps at most that share, a ``lower`` one when it keeps at least that; a ``point`` or
  ``approximate`` figure is reported as the difference only.

**The default mode** (issue 29, item 7): the shipped baseline would run in market mode only if, on every mineral
with an observed import mix, the equilibrium's distance is at most the least-cost plan's, and every first-year price
with an observation is inside its observed range (``default_decision``); otherwise market mode stays opt-in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.analysis.backcast import (
    Backcast,
    compare_shares,
    least_cost_backcast,
    location_shares,
    observations,
    top_shares,
)
from engine.inputs.market_observed import MarketObservations, load_observations
from engine.market.run import MarketResult

PRICE_TOLERANCE = 1e-9  # relative: a price this close to an end of the range is inside it


@dataclass(frozen=True)
class PriceCheck:
    """One mineral and region: the equilibrium's first-year price against the observed range."""

    mineral: str
    region: str
    year: int  # the equilibrium's first year
    observed_year: int
    price_usd_per_t: float  # prices.csv, that year's money
    price_low_usd_per_t: float  # the interval the price holds over (prices.csv)
    price_high_usd_per_t: float
    low_usd_per_t: float
    high_usd_per_t: float
    series: str  # the observed series, '; '-joined
    source: str

    @property
    def inside(self) -> bool:
        return self.low_usd_per_t * (1 - PRICE_TOLERANCE) <= self.price_usd_per_t <= \
            self.high_usd_per_t * (1 + PRICE_TOLERANCE)

    @property
    def off_pct(self) -> float:
        """0 inside the range; % above its high end (positive) or below its low end (negative)."""
        if self.inside:
            return 0.0
        if self.price_usd_per_t > self.high_usd_per_t:
            return 100.0 * (self.price_usd_per_t - self.high_usd_per_t) / self.high_usd_per_t
        return 100.0 * (self.price_usd_per_t - self.low_usd_per_t) / self.low_usd_per_t

    @property
    def interval_overlaps(self) -> bool:
        """Whether some price of the equilibrium's interval is inside the observed range (reported; the rule uses
        the price)."""
        lo = self.price_low_usd_per_t if np.isfinite(self.price_low_usd_per_t) else self.price_usd_per_t
        hi = self.price_high_usd_per_t if np.isfinite(self.price_high_usd_per_t) else self.price_usd_per_t
        return lo <= self.high_usd_per_t * (1 + PRICE_TOLERANCE) and hi >= self.low_usd_per_t * (1 - PRICE_TOLERANCE)

    @property
    def interval_text(self) -> str:
        lo, hi = self.price_low_usd_per_t, self.price_high_usd_per_t
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return "-"
        return f"{lo:,.0f}" if round(lo) == round(hi) else f"{lo:,.0f}-{hi:,.0f}"

    @property
    def range_text(self) -> str:
        lo, hi = self.low_usd_per_t, self.high_usd_per_t
        return f"{lo:,.0f}" if round(lo) == round(hi) else f"{lo:,.0f}-{hi:,.0f}"

    @property
    def verdict(self) -> str:
        if self.inside:
            return "inside"
        return f"{abs(self.off_pct):.1f}% {'above' if self.off_pct > 0 else 'below'}"


@dataclass(frozen=True)
class OwnUseCheck:
    """One region and mineral: the share of its plants' first-year output it consumes, against the sourced
    share kept."""

    region: str
    mineral: str
    year: int
    period: str
    observed_share: float
    bound: str  # point, upper, lower, approximate
    equilibrium_share: float | None  # None: the region's plants deliver nothing that year
    source: str

    @property
    def consistent(self) -> str:
        """'yes' or 'no' for a bound; 'n/a' for a point or approximate figure, or without output."""
        e = self.equilibrium_share
        if e is None or self.bound not in ("upper", "lower"):
            return "n/a"
        ok = e <= self.observed_share + 1e-9 if self.bound == "upper" else e >= self.observed_share - 1e-9
        return "yes" if ok else "no"

    @property
    def difference_pp(self) -> float | None:
        e = self.equilibrium_share
        return None if e is None else 100.0 * (e - self.observed_share)


@dataclass(frozen=True)
class DefaultDecision:
    """Issue 29, item 7: market mode becomes the baseline's default only if both conditions hold."""

    imports_as_close: bool  # on every mineral with an observed import mix, market distance <= least cost's
    prices_inside: bool  # every observed first-year price inside its observed range (False without any)
    imports_failing: tuple[str, ...]  # minerals where the least-cost plan is closer (or either imports nothing)
    prices_outside: tuple[str, ...]  # 'mineral region' outside their range

    @property
    def market_default(self) -> bool:
        return self.imports_as_close and self.prices_inside

    @property
    def mode(self) -> str:
        return "market" if self.market_default else "opt-in"

    def summary(self) -> dict:
        return {"rule": "market mode is the default only if its US-import backcast is at least as close as the "
                        "fixed shares' (least-cost plan) on every mineral with an observation and every first-year "
                        "price with an observation is inside its observed range",
                "market_default": self.market_default, "imports_as_close": self.imports_as_close,
                "prices_inside": self.prices_inside, "imports_failing": list(self.imports_failing),
                "prices_outside": list(self.prices_outside)}


@dataclass(frozen=True)
class MarketBackcast:
    """The equilibrium's first year against observations: US imports by origin (per mineral, beside the least-cost
    plan's), prices, and a region's use of its own output."""

    year: int
    market: list[Backcast]
    least_cost: list[Backcast]  # same minerals, same order
    prices: list[PriceCheck] = field(default_factory=list)
    own_use: list[OwnUseCheck] = field(default_factory=list)
    own_use_missing: tuple[str, ...] = ()  # minerals priced with no own-use observation for OWN_USE_REGION

    def closer(self, i: int) -> str:
        """'market', 'least cost', 'tie', or 'n/a' when either imports nothing."""
        a, b = self.market[i].distance_pp, self.least_cost[i].distance_pp
        if a is None or b is None:
            return "n/a"
        a, b = round(a, 6), round(b, 6)
        return "tie" if a == b else ("market" if a < b else "least cost")

    def decision(self) -> DefaultDecision:
        """The rule of item 7 on this backcast (module docstring)."""
        failing = tuple(m.observation.mineral for i, m in enumerate(self.market)
                        if self.closer(i) not in ("market", "tie"))
        outside = tuple(f"{p.mineral} {p.region}" for p in self.prices if not p.inside)
        return DefaultDecision(imports_as_close=not failing, prices_inside=bool(self.prices) and not outside,
                               imports_failing=failing, prices_outside=outside)

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

    def price_table(self) -> pd.DataFrame:
        """``price_backcast.csv``: per mineral and region with an observed price, the equilibrium's first-year price,
        the observed range, whether it is inside and how far off (percent)."""
        columns = ["mineral", "region", "year", "price_usd_per_t", "price_low_usd_per_t", "price_high_usd_per_t",
                   "observed_year", "observed_low_usd_per_t", "observed_high_usd_per_t", "inside", "off_pct",
                   "interval_overlaps", "series", "source"]
        return pd.DataFrame([{"mineral": p.mineral, "region": p.region, "year": p.year,
                              "price_usd_per_t": p.price_usd_per_t, "price_low_usd_per_t": p.price_low_usd_per_t,
                              "price_high_usd_per_t": p.price_high_usd_per_t, "observed_year": p.observed_year,
                              "observed_low_usd_per_t": p.low_usd_per_t, "observed_high_usd_per_t": p.high_usd_per_t,
                              "inside": p.inside, "off_pct": round(p.off_pct, 6) + 0.0,
                              "interval_overlaps": p.interval_overlaps, "series": p.series, "source": p.source}
                             for p in self.prices], columns=columns)

    def own_use_table(self) -> pd.DataFrame:
        """``own_use_backcast.csv``: per region and mineral with an observation, the share of its plants' output the
        region consumes in the equilibrium's first year against the sourced share kept."""
        columns = ["region", "mineral", "year", "equilibrium_share", "observed_period", "observed_share", "bound",
                   "consistent", "difference_pp", "source"]
        return pd.DataFrame([{"region": u.region, "mineral": u.mineral, "year": u.year,
                              "equilibrium_share": _pp(u.equilibrium_share), "observed_period": u.period,
                              "observed_share": u.observed_share, "bound": u.bound, "consistent": u.consistent,
                              "difference_pp": _pp(u.difference_pp), "source": u.source}
                             for u in self.own_use], columns=columns)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The files it writes into a results folder."""
        return {"backcast.csv": self.table(), "price_backcast.csv": self.price_table(),
                "own_use_backcast.csv": self.own_use_table()}

    def summary(self) -> dict:
        """The summary.json entry: per mineral both distances, which is closer and the shares; the prices; the
        region's own use; the default decision."""
        return {"year": self.year,
                "distance": "half the L1 distance between observed and modelled import shares, points (0 = identical, "
                            "100 = disjoint); a lower bound where the source groups origins as 'other'",
                "by_mineral": {m.observation.mineral: {
                    "period": m.observation.period, "distance_market_pp": _pp(m.distance_pp),
                    "distance_least_cost_pp": _pp(lc.distance_pp), "lower_bound": m.lower_bound,
                    "closer": self.closer(i), "observed_shares": m.observation.shares, "market_shares": m.planned,
                    "least_cost_shares": lc.planned}
                    for i, (m, lc) in enumerate(zip(self.market, self.least_cost, strict=True))},
                "prices": {"rule": "the first-year price against the observed range of the latest observed year up "
                                   "to it (lowest low, highest high over its series); off_pct 0 inside, else percent "
                                   "above the high end or below the low end",
                           "inside": sum(p.inside for p in self.prices), "compared": len(self.prices),
                           "by_mineral": {m: {p.region: {"price_usd_per_t": p.price_usd_per_t,
                                                         "observed_year": p.observed_year,
                                                         "observed_low_usd_per_t": p.low_usd_per_t,
                                                         "observed_high_usd_per_t": p.high_usd_per_t,
                                                         "inside": p.inside, "off_pct": round(p.off_pct, 6) + 0.0,
                                                         "interval_overlaps": p.interval_overlaps}
                                              for p in self.prices if p.mineral == m}
                                          for m in sorted({p.mineral for p in self.prices})}},
                "own_use": {"rule": "share of the first-year output of plants home to the region that the region "
                                    "consumes, against 1 - exports / output from the sources",
                            "rows": self.own_use_table().drop(columns="source").to_dict(orient="records"),
                            "no_source": list(self.own_use_missing)},
                "default_mode": self.decision().summary()}

    def lines(self, mineral_name: Callable[[str], str], country_name: Callable[[str], str]) -> list[str]:
        """The printout: imports per mineral with an observation, prices, own use, the default decision."""
        out: list[str] = []
        if self.market:
            out += [f"  Backcast {self.year}: US imports by origin against observed trade (distance, points; market "
                    f"equilibrium vs the single-buyer least-cost plan)",
                    f"  {'mineral':<11}{'market':>9}{'least cost':>11}  {'closer':<11}{'observed':<36}equilibrium"]
            for i, (m, lc) in enumerate(zip(self.market, self.least_cost, strict=True)):
                o = m.observation
                out.append(f"  {mineral_name(o.mineral):<11}{m.text:>9}{lc.text:>11}  {self.closer(i):<11}"
                           f"{top_shares(o.shares, name=country_name):<36}{top_shares(m.planned, name=country_name)}")
            out.append("  (observed_trade.csv, latest period per mineral; half the L1 distance between share vectors, "
                       "0 = identical, 100 = disjoint; '>=' where the source groups origins as 'other')")
        if self.prices:
            out += [""] if out else []
            out += [f"  Backcast {self.year}: prices against observed prices (USD/t; market/observed_prices.csv, the "
                    "latest observed year up to the first)",
                    f"  {'mineral':<11}{'region':<8}{'equilibrium':>13}  {'interval':<22}{'observed':<24}verdict"]
            for p in self.prices:
                observed = f"{p.observed_year} {p.range_text}"
                overlap = "; its interval overlaps" if not p.inside and p.interval_overlaps else ""
                out.append(f"  {mineral_name(p.mineral):<11}{p.region:<8}{p.price_usd_per_t:>13,.0f}  "
                           f"{p.interval_text:<22}{observed:<24}{p.verdict}{overlap}")
            inside = sum(p.inside for p in self.prices)
            out.append(f"  ({inside} of {len(self.prices)} inside the observed range; the interval is the range of "
                       "prices the equilibrium allows, prices.csv; price_backcast.csv names each series and source)")
        if self.own_use or self.own_use_missing:
            out += [""] if out else []
            out += [f"  Backcast {self.year}: {OWN_USE_REGION}'s use of its own refined output (share of its "
                        "plants' output it consumes; market/observed_own_use.csv)"]
            out.append(f"  {'mineral':<11}{'region':<8}{'equilibrium':>13}  {'observed':<28}verdict")
            for u in self.own_use:
                e = "n/a" if u.equilibrium_share is None else f"{100 * u.equilibrium_share:.1f}%"
                sign = {"upper": "<= ", "lower": ">= ", "approximate": "~"}.get(u.bound, "")
                verdict = {"yes": "consistent", "no": "inconsistent"}.get(u.consistent, "difference only")
                if u.difference_pp is not None and u.consistent == "n/a":
                    verdict += f" ({u.difference_pp:+.1f} points)"
                observed = f"{sign}{100 * u.observed_share:.1f}% ({u.period})"
                out.append(f"  {mineral_name(u.mineral):<11}{u.region:<8}{e:>13}  {observed:<28}{verdict}")
            if self.own_use_missing:
                out.append(f"  no source for {', '.join(mineral_name(m) for m in self.own_use_missing)}")
        d = self.decision()
        reasons = []
        if not d.imports_as_close:
            reasons.append(f"the least-cost plan is closer to observed imports for "
                           f"{', '.join(mineral_name(m) for m in d.imports_failing)}")
        if not d.prices_inside:
            reasons.append(f"{len(d.prices_outside)} of {len(self.prices)} observed prices are outside their range"
                           if self.prices else "no observed prices to compare")
        out += ["", "  Default mode: " + ("market mode would be the default (both conditions hold)"
                                          if d.market_default else "market mode stays opt-in: " + "; ".join(reasons))]
        return out


OWN_USE_REGION = "CHN"  # the region whose use of its own output the issue asks about


def equilibrium_shares(flows: pd.DataFrame, buyer_region: str, buyer_country: str,
                       year: int) -> dict[str, dict[str, float]]:
    """Per mineral: each location country's share of the buyer region's deliveries in ``year`` (the buyer's own
    country left out), from the market's flows (``source_id``, ``mineral``, ``location``, ``region``, ``year``,
    ``tonnes``)."""
    return location_shares(flows[(flows["region"] == buyer_region) & (flows["year"] == year)
                                 & (flows["location"] != buyer_country)])


def price_checks(prices: pd.DataFrame, observed: pd.DataFrame, year: int) -> list[PriceCheck]:
    """Per mineral and region (sorted) of ``observed`` that ``prices`` (prices.csv) has in ``year``: the price against
    the range of the latest observed year up to ``year`` (the earliest after it where none is)."""
    out: list[PriceCheck] = []
    have = prices[prices["year"] == year].set_index(["mineral", "region"])
    for (mineral, region), rows in observed.groupby(["mineral", "region"], sort=True):
        if (mineral, region) not in have.index:
            continue
        years = rows["year"].to_numpy(dtype=np.int64)
        before = years[years <= year]
        pick = int(before.max()) if len(before) else int(years.min())
        chosen = rows[rows["year"] == pick]
        at = have.loc[(mineral, region)]
        out.append(PriceCheck(mineral=str(mineral), region=str(region), year=int(year), observed_year=pick,
                              price_usd_per_t=float(at["price_usd_per_t"]),
                              price_low_usd_per_t=float(at["price_low_usd_per_t"]),
                              price_high_usd_per_t=float(at["price_high_usd_per_t"]),
                              low_usd_per_t=float(chosen["low_usd_per_t"].min()),
                              high_usd_per_t=float(chosen["high_usd_per_t"].max()),
                              series="; ".join(str(s) for s in chosen["series"]),
                              source="; ".join(dict.fromkeys(str(s) for s in chosen["source"]))))
    return out


def own_use_share(flows: pd.DataFrame, region: str, year: int) -> dict[str, float]:
    """Per mineral: the share of ``year``'s deliveries of plants home to ``region`` that go to ``region`` (the
    market's flows: ``mineral``, ``home_region``, ``region``, ``year``, ``tonnes``); minerals with no deliveries left
    out."""
    mine = flows[(flows["home_region"] == region) & (flows["year"] == year)]
    total = mine.groupby("mineral", sort=True)["tonnes"].sum()
    kept = mine[mine["region"] == region].groupby("mineral", sort=True)["tonnes"].sum()
    return {str(m): float(kept.get(m, 0.0)) / float(t) for m, t in total.items() if t > 0}


def own_use_checks(flows: pd.DataFrame, observed: pd.DataFrame, year: int,
                   minerals: list[str]) -> list[OwnUseCheck]:
    """Per row of ``observed`` (observed_own_use.csv) whose mineral is in ``minerals``: the equilibrium's share
    against it."""
    out = []
    for row in observed.itertuples(index=False):
        if row.mineral not in minerals:
            continue
        shares = own_use_share(flows, str(row.region), year)
        out.append(OwnUseCheck(region=str(row.region), mineral=str(row.mineral), year=int(year),
                               period=str(row.period), observed_share=float(row.share_kept), bound=str(row.bound),
                               equilibrium_share=shares.get(str(row.mineral)), source=str(row.source)))
    return out


def market_backcast(result: MarketResult, solver: str | None = None,
                    observed: MarketObservations | None = None) -> MarketBackcast | None:
    """The backcast of a solved equilibrium: US imports by origin beside the least-cost plan's for the same
    scenario (the minerals it prices, sorted, that ``observed_trade.csv`` observes), prices and China's own use
    (``observed``: the market folder's tables by default); ``None`` when nothing it prices is observed.
    ``result.add_backcast`` puts it in the printout, the summary and the results folder."""
    loaded, flows, buyer_region = result.loaded, result.flows, result.lp.buyer_region
    minerals = sorted(str(m) for m in result.prices["mineral"].unique())
    dataset = loaded.dataset  # type: ignore[attr-defined]
    scenario = loaded.scenario  # type: ignore[attr-defined]
    year = scenario.years[0]
    observed = observed if observed is not None else load_observations(dataset, result.market)
    market: list[Backcast] = []
    least_cost: list[Backcast] = []
    if "observed_trade" in dataset.tables and not dataset.tables["observed_trade"].empty:
        market = compare_shares(observations(dataset), equilibrium_shares(flows, buyer_region, scenario.buyer, year),
                                minerals)
    if market:
        planned, _ = least_cost_backcast(loaded, solver)
        by_mineral = {b.observation.mineral: b for b in planned}
        least_cost = [by_mineral.get(b.observation.mineral, Backcast(b.observation, {}, None, False)) for b in market]
    prices = price_checks(result.prices, observed.prices, year)
    own_use = own_use_checks(flows, observed.own_use, year, minerals)
    covered = {u.mineral for u in own_use if u.region == OWN_USE_REGION}
    missing = tuple(m for m in minerals if m not in covered)
    if not market and not prices and not own_use:
        return None
    return MarketBackcast(year=year, market=market, least_cost=least_cost, prices=prices, own_use=own_use,
                          own_use_missing=missing)


def _pp(v: float | None) -> float | None:
    return None if v is None else round(v, 6) + 0.0


def _shares(shares: dict[str, float]) -> str:
    """'CHL 0.563080; ROW 0.017687', largest first (ties by code)."""
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    return "; ".join(f"{k} {v:.6f}" for k, v in ranked)


__all__ = ["OWN_USE_REGION", "DefaultDecision", "MarketBackcast", "OwnUseCheck", "PriceCheck", "equilibrium_shares",
           "market_backcast", "own_use_checks", "own_use_share", "price_checks"]
