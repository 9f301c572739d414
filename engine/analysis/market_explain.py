"""``critmin explain`` of a market scenario: the buyer region's price and supply, mineral-year by mineral-year.

The equilibrium is ``solve_market``'s (the point ``critmin solve`` reports), and every figure is read from the
tables ``solve`` writes or from the market functions that make them, so each is the number ``solve`` writes:

1. **The price and what sets it** (``prices.csv``): the price, the interval it holds over and what sets each end
   (``low_set_by``, ``high_set_by``). A plant at an end is named with its delivered cost to the buyer region, taken
   apart (``route_parts``); a demand step with its willingness to pay and the reference tonnes the region leaves
   unconsumed at that price (``engine.market.goal.buyer_measures``); a binding row (the goal's certificate, a
   policy row, an offtake row) through what it adds to the plant's cost. A price inside its interval is set by a
   full plant the region shares with another (that region's price fixes the plant's rent; the buyer pays its own
   cost plus the same rent) or by a JV option built in part (its rent pays for building it).
2. **Where the tonnes come from** (``market_flows.csv``): the region's deliveries by plant, with its location
   country, largest owner and China attribution; then every plant cheaper than the price that the region does not
   buy more from, and why. By complementary slackness a route below its bound satisfies price ≤ delivered cost +
   the plant's rent + certificate + the rows' charges, so a cheaper route is either at its bound (a policy closed
   it: named), or its plant is full (the regions that take its output named, with their prices: the rent is what
   they pay over its cost), or a row holds it (an export quota or offtake at its bound, the goal's or a share
   rule's charge), or it is a JV option not built by then.
3. **The policies that bind that mineral-year** (``policy_status`` over the mineral-year's rows and routes, the
   same definition as ``policies.csv``), and what each does (``policy_effects.csv``: prices with and without it,
   over its years; each region's welfare change over the horizon).
4. **The certificate price** of the goal (``certificates.csv``): λ, the charge on a China tonne and the credit on
   the others, or that the goal is slack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.inputs.names import WITH_ARTICLE, Names
from engine.inputs.scenario import LoadedScenario
from engine.market.goal import buyer_measures, flow_certificate
from engine.market.policy_status import policy_status
from engine.market.rents import in_tight_row
from engine.market.run import MarketResult, signed_money, solve_market
from engine.outputs.display import tonnes

TOL_T = 1e-6  # tonnes: a flow or a spare capacity below this is none
TOL_USD = 1e-6  # USD/t: a price this close to an end of its interval sits at that end
SHOWN = 5  # plants listed among those the buyer does not buy more from


@dataclass
class RouteCost:
    """What a tonne of one plant costs the buyer region, and what it must earn (USD/t, the year's money): the
    delivered cost (production + trade + tariff + lost credit), the goal's certificate, each policy row's charge,
    the plant's capacity rent and what the route would earn beyond its bound; the parts add up to the price for a
    route that delivers below its bound."""

    source_id: str
    facility: str
    location: str
    owner: str
    attribution: float
    tonnes: float
    production: float
    trade: float
    tariff: float
    credit_loss: float
    delivered: float
    certificate: float
    row_charges: dict[str, float]
    rent: float
    beyond_bound: float
    capacity_t: float
    bound_t: float
    reasons: list[str] = field(default_factory=list)

    @property
    def scarcity(self) -> float:
        """What a tonne earns over its cost: the plant's rent, or the route's value beyond its bound where the
        route's bound holds instead of the plant's capacity row (the same tonnes: a degenerate pair)."""
        return self.rent + self.beyond_bound

    @property
    def charged(self) -> float:
        """The delivered cost with the goal's certificate and the rows' charges (USD/t)."""
        return self.delivered + self.certificate + sum(self.row_charges.values())


@dataclass
class PriceEnd:
    """One end of the price interval: its value and what sets it (``prices.csv``'s label, in words)."""

    value: float | None
    set_by: str
    kind: str  # "plant", "demand step" or "" (nothing bounds the price from this side)
    words: str
    route: RouteCost | None = None  # the plant's route to the buyer region (kind "plant")


@dataclass
class MarketYearStory:
    """The explanation for one mineral-year of the buyer region."""

    mineral: str
    year: int
    region: str
    price_usd_per_t: float
    low: PriceEnd
    high: PriceEnd
    set_by: str  # "low", "high", "both" or "inside"
    setter: str  # what sets the price, in words
    consumed_t: float
    reference_t: float
    unconsumed_t: float
    sources: list[RouteCost]
    passed_over: list[RouteCost]
    passed_over_more: int
    policies: list[dict]
    certificate: dict | None


@dataclass
class MarketExplanation:
    scenario: str
    region: str
    stories: list[MarketYearStory]
    names: dict[str, str] = field(default_factory=dict)
    goal: bool = False


def _facilities(result: MarketResult) -> dict[str, str]:
    """A plant by its facility's name up to its first qualifier, a JV option by its words, else its id."""
    words = Names(result.loaded.dataset.folder)
    capacity = result.loaded.dataset.capacity
    out: dict[str, str] = {}
    if "facility" in capacity:
        for sid, name in zip(capacity["source_id"], capacity["facility"], strict=True):
            if isinstance(name, str) and name.strip():
                out[sid] = re.split(r" \(|;|,", name)[0].strip()
    if result.lp.jv is not None:
        for option in result.lp.jv.options["option_id"]:
            out[option] = words.option(option)
    return out


class _Routes:
    """Every flow's cost parts and state at the reported point, made once."""

    def __init__(self, result: MarketResult) -> None:
        lp, sol = result.lp, result.solution
        self.lp, self.sol = lp, sol
        self.certificate = flow_certificate(lp, sol)
        self.capacity = lp.plant_capacity(sol.build)
        self.used = np.bincount(lp.flows["plant"].to_numpy(), weights=sol.x, minlength=len(lp.plants))
        self.tight = in_tight_row(lp, sol)
        self.by_column = lp.rows_on_flows.tocsc() if len(lp.rows) else None
        fx = lp.effects
        self.closed = {} if fx is None else dict(fx.closed)
        self.added = {} if fx is None else dict(fx.added)
        kinds = dict(zip(lp.policies["policy"], lp.policies["type"], strict=True))
        self.kinds = kinds
        self.facility = _facilities(result)

    def charges(self, f: int) -> dict[str, float]:
        """Each policy or JV row's charge μ·A on flow ``f`` (USD/t), by the row's policy (offtake: its option)."""
        if self.by_column is None:
            return {}
        column = self.by_column[:, f]
        out: dict[str, float] = {}
        for i, a in zip(column.indices, column.data, strict=True):
            value = float(self.sol.shadow[i] * a)
            if abs(value) > TOL_USD:
                key = str(self.lp.rows["policy"].iat[i])
                family = str(self.lp.rows["family"].iat[i])
                label = f"offtake of {key}" if family == "offtake" else key
                out[label] = out.get(label, 0.0) + value
        return out

    def flow_of(self, source_id: str, among: np.ndarray) -> int:
        """The flow of ``source_id`` among the flows ``among``."""
        return int(among[self.lp.flows["source_id"].to_numpy()[among] == source_id][0])

    def route(self, f: int) -> RouteCost:
        flows, sol = self.lp.flows, self.sol
        plant = int(flows["plant"].iat[f])
        bound = float(flows["upper_t"].iat[f])
        at_bound = sol.x[f] >= bound - TOL_T
        owner = flows["owner"].iat[f]
        return RouteCost(
            source_id=str(flows["source_id"].iat[f]), facility=self.facility.get(flows["source_id"].iat[f], ""),
            location=str(flows["location"].iat[f]), owner="" if pd.isna(owner) else str(owner),
            attribution=float(flows["attribution"].iat[f]), tonnes=float(sol.x[f]),
            production=float(flows["unit_cost_usd_per_t"].iat[f]), trade=float(flows["trade_cost_usd_per_t"].iat[f]),
            tariff=float(flows["tariff_usd_per_t"].iat[f]), credit_loss=float(flows["credit_loss_usd_per_t"].iat[f]),
            delivered=float(flows["delivered_cost_usd_per_t"].iat[f]), certificate=float(self.certificate[f]),
            row_charges=self.charges(f), rent=float(sol.rent[plant]),
            beyond_bound=float(max(0.0, -sol.reduced[f])) if at_bound else 0.0,
            capacity_t=float(self.capacity[plant]), bound_t=bound)

    def why_not_more(self, f: int, route: RouteCost, prices: pd.Series,
                     region_words: Callable[[str], str]) -> list[str]:
        """Why the buyer does not take more of route ``f`` (module docstring, part 2)."""
        lp, sol, flows = self.lp, self.sol, self.lp.flows
        plant = int(flows["plant"].iat[f])
        buyer = lp.buyer_region
        reasons = []
        reach = float(flows["reach_t"].iat[f])
        if sol.x[f] >= route.bound_t - TOL_T and route.bound_t < reach - TOL_T:
            names = [p for p, cols in self.closed.items() if f in set(cols.tolist())]
            by = ", ".join(f"'{p}' ({self.kinds.get(p, '')})" for p in names) or "a policy"
            left = f"; {tonnes(route.bound_t)} t allowed" if route.bound_t > TOL_T else ""
            reasons.append(f"closed to {buyer} by {by}{left}")
        for name, added in self.added.items():
            if added[f] > TOL_USD:
                reasons.append(f"'{name}' ({self.kinds.get(name, '')}) adds {added[f]:,.0f} USD/t")
        if flows["kind"].iat[f] == "jv" and self.capacity[plant] <= TOL_T:
            reasons.append("a JV option not built (or not online) by then")
        elif self.used[plant] >= self.capacity[plant] - TOL_T and self.capacity[plant] > TOL_T:
            here = np.flatnonzero((flows["plant"].to_numpy() == plant) & (sol.x > TOL_T))
            takers = [(str(flows["region"].iat[g]), float(sol.x[g])) for g in here if flows["region"].iat[g] != buyer]
            takers.sort(key=lambda t: (-t[1], t[0]))
            taken = ", ".join(f"{region_words(r)} {tonnes(t)} t (its price {prices.get(r, np.nan):,.0f})"
                              for r, t in takers)
            reasons.append(f"full at {tonnes(self.capacity[plant])} t" + (f", taken by {taken}" if taken else "")
                           + f": it earns a rent of {route.rent:,.0f} USD/t over its cost from its buyers, so a tonne "
                           f"more would cost {buyer} {route.charged + route.rent:,.0f}")
        if self.tight[f]:
            reasons.append("in an export quota or offtake row at its bound")
        if route.certificate > TOL_USD:
            reasons.append(f"the goal's certificate charges it {route.certificate:,.0f} USD/t")
        for name, value in route.row_charges.items():
            if value > TOL_USD and not self.tight[f]:
                reasons.append(f"'{name}' charges it {value:,.0f} USD/t")
        return reasons


def _end(value: float, label: str, routes: _Routes, buyer_flows: pd.DataFrame, story: dict, names: Names,
         low: bool) -> PriceEnd:
    """One end of the interval, in words."""
    if not isinstance(label, str) or not label or value != value:
        return PriceEnd(None, "", "", "nothing bounds the price from above" if not low else "nothing bounds it below")
    if label.startswith("demand step "):
        if low:
            words = (f"{label} (willingness to pay {value:,.0f} USD/t) is not fully served: at a lower price the "
                     f"region would consume more")
        else:
            words = f"{label} (willingness to pay {value:,.0f} USD/t) is served: at a higher price it would go"
        if low and story["unconsumed_t"] > TOL_T:
            words += (f"; the region goes short at that willingness to pay, leaving {tonnes(story['unconsumed_t'])} t "
                      f"of its reference {tonnes(story['reference_t'])} t unconsumed")
        return PriceEnd(float(value), label, "demand step", words)
    source = label.removeprefix("supply ")
    at = buyer_flows.index[buyer_flows["source_id"] == source]
    if not len(at):
        return PriceEnd(float(value), label, "plant", f"{source} at {value:,.0f} USD/t")
    route = routes.route(int(at[0]))
    what = "delivers to the region at that cost" if low else "has spare capacity for the region at that cost"
    return PriceEnd(float(value), label, "plant", f"{_plant_words(route, names)} {what}: {_cost_words(route)}", route)


def _shared_plant(routes: _Routes, sources: list[RouteCost], here: np.ndarray, price: float,
                  region_prices: pd.Series) -> tuple[RouteCost, RouteCost, str, float] | None:
    """A full plant the buyer shares with another region, whose rent makes up the buyer's price: (the buyer's
    route, the other region's route, that region, its price), the region taking most of the plant's output."""
    lp, sol, flows = routes.lp, routes.sol, routes.lp.flows
    for r in sources:
        if abs(r.charged + r.scarcity - price) > TOL_USD * max(1.0, price) or r.rent <= TOL_USD:
            continue
        plant = int(flows["plant"].iat[routes.flow_of(r.source_id, here)])
        others = [int(g) for g in np.flatnonzero((flows["plant"].to_numpy() == plant) & (sol.x > TOL_T))
                  if flows["region"].iat[g] != lp.buyer_region]
        if others:
            g = max(others, key=lambda k: (sol.x[k], -k))
            region = str(flows["region"].iat[g])
            return r, routes.route(g), region, float(region_prices.get(region, np.nan))
    return None


def _setter(end: PriceEnd | None, story: dict, region: str, names: Names, low: PriceEnd, high: PriceEnd,
            new_capacity: RouteCost | None, shared: tuple[RouteCost, RouteCost, str, float] | None = None) -> str:
    """What sets the price (module docstring, part 1): the marginal source, a demand step or a binding row."""
    if end is None and low.kind == high.kind == "demand step":
        short = (f", leaving {tonnes(story['unconsumed_t'])} t of its reference {tonnes(story['reference_t'])} t "
                 f"unconsumed" if story["unconsumed_t"] > TOL_T else "")
        return (f"demand, at a kink of its curve: {region} consumes {high.set_by} in full and nothing of "
                f"{low.set_by}{short}; any price from {low.value:,.0f} to {high.value:,.0f} USD/t clears, and the "
                f"price rule reports the balance row's dual")
    if end is None and new_capacity is not None:
        r = new_capacity
        return (f"new capacity: {_plant_words(r, names)}, built to {tonnes(r.capacity_t)} t of its "
                f"{tonnes(r.bound_t)} t: {_cost_words(r)}, plus a rent of {r.scarcity:,.0f} USD/t that pays for "
                f"building it (its capital cost); the price is inside its interval, whose ends do not count capital "
                f"costs")
    if end is None and shared is not None:
        mine, theirs, other, other_price = shared
        return (f"competition for a full plant: {_plant_words(mine, names)} is full, and {names.country(other)} also "
                f"buys its output, at its price {other_price:,.0f} USD/t (its cost there "
                f"{theirs.charged:,.0f} + a rent of {mine.rent:,.0f}); {region} pays its own cost {mine.charged:,.0f} "
                f"+ the same rent")
    if end is None:
        return "neither end of its interval: the price is the balance row's dual, inside the interval"
    if end.kind == "demand step":
        if story["unconsumed_t"] > TOL_T:
            return (f"demand: {region} goes short at a willingness to pay of {end.value:,.0f} USD/t ({end.set_by}), "
                    f"leaving {tonnes(story['unconsumed_t'])} t of its reference {tonnes(story['reference_t'])} t "
                    f"unconsumed")
        return (f"demand: at a willingness to pay of {end.value:,.0f} USD/t ({end.set_by}) {region} buys no more "
                f"(it consumes its reference {tonnes(story['reference_t'])} t or more)")
    r = end.route
    if r is None:
        return f"{end.set_by} at {end.value:,.0f} USD/t"
    rows = [f"the goal's certificate {r.certificate:,.0f} USD/t"] if abs(r.certificate) > TOL_USD else []
    rows += [f"'{k}' {v:,.0f} USD/t" for k, v in r.row_charges.items()]
    return (f"the marginal source, {_plant_words(r, names)}: {_cost_words(r)}"
            + (f"; binding rows in that cost: {', '.join(rows)}" if rows else ""))


def _plant_words(route: RouteCost, names: Names) -> str:
    if route.facility and route.facility == names.option(route.source_id):  # a JV option: its words say where
        return f"{route.source_id} ({route.facility})"
    owner = f", owned by {names.country(route.owner)}" if route.owner and route.owner != route.location else ""
    facility = route.facility if route.facility and route.facility != route.source_id else ""
    return (f"{route.source_id}" + (f" ({facility})" if facility else "") + f" in {_in(names.country(route.location))}"
            + owner)


def _in(country: str) -> str:
    return f"the {country}" if country in WITH_ARTICLE else country


def _cost_words(route: RouteCost) -> str:
    """'production 900,000 + trade 10,000 = 910,000 USD/t' with every non-zero part of what the route must earn."""
    parts = [("production", route.production), ("trade", route.trade), ("tariff", route.tariff),
             ("lost credit", route.credit_loss), ("certificate", route.certificate),
             *((f"'{k}'", v) for k, v in route.row_charges.items())]
    shown = [f"{'- ' if v < 0 else '+ '}{label} {abs(v):,.0f}" for label, v in parts
             if abs(v) > TOL_USD or label == "production"]
    total = route.charged
    if len(shown) == 1:
        return f"production {total:,.0f} USD/t"
    return " ".join(shown).removeprefix("+ ") + f" = {total:,.0f} USD/t"


def _stories(result: MarketResult, wanted: list[tuple[str, int]]) -> list[MarketYearStory]:
    lp, sol = result.lp, result.solution
    buyer = lp.buyer_region
    names = Names(result.loaded.dataset.folder)
    routes = _Routes(result)
    measures = buyer_measures(lp, sol).set_index(["mineral", "year"])
    prices = result.prices.set_index(["region", "mineral", "year"])
    certificates = result.goal.certificates.set_index(["mineral", "year"]) if result.goal is not None else None
    effects = result.policy_effects
    out = []
    for mineral, year in wanted:
        p = prices.loc[(buyer, mineral, year)]
        m = measures.loc[(mineral, year)]
        consumed, reference = float(m["supplied_t"]), float(m["reference_t"])
        story = {"unconsumed_t": max(0.0, reference - consumed), "reference_t": reference}
        here = np.flatnonzero((lp.flows["mineral"] == mineral).to_numpy() & (lp.flows["year"] == year).to_numpy()
                              & (lp.flows["region"] == buyer).to_numpy())
        buyer_flows = lp.flows.iloc[here]
        region_prices = result.prices[(result.prices["mineral"] == mineral) & (result.prices["year"] == year)]
        region_prices = region_prices.set_index("region")["price_usd_per_t"]
        low = _end(float(p["price_low_usd_per_t"]), p["low_set_by"], routes, buyer_flows, story, names, True)
        high = _end(float(p["price_high_usd_per_t"]), p["high_set_by"], routes, buyer_flows, story, names, False)
        price = float(p["price_usd_per_t"])
        at_low = low.value is not None and abs(price - low.value) <= TOL_USD * max(1.0, abs(price))
        at_high = high.value is not None and abs(price - high.value) <= TOL_USD * max(1.0, abs(price))
        set_by = "both" if at_low and at_high else "low" if at_low else "high" if at_high else "inside"
        sources = sorted((routes.route(int(f)) for f in here if sol.x[f] > TOL_T), key=lambda r: (-r.tonnes,
                                                                                                 r.source_id))
        partly_built = [r for r, f in zip(sources, [routes.flow_of(r.source_id, here) for r in sources], strict=True)
                        if lp.flows["kind"].iat[f] == "jv" and r.capacity_t < lp.flows["reach_t"].iat[f] - TOL_T
                        and abs(r.charged + r.scarcity - price)
                        <= TOL_USD * max(1.0, price)]
        shared = None if partly_built else _shared_plant(routes, sources, here, price, region_prices)
        setter = _setter(high if at_high else low if at_low else None, story, buyer, names, low, high,
                         partly_built[0] if partly_built else None, shared)
        before = (lp.flows["unit_cost_usd_per_t"] + lp.flows["trade_cost_usd_per_t"]).to_numpy(dtype=float)
        reach = lp.flows["reach_t"].to_numpy(dtype=float)
        cheaper = [int(f) for f in here if before[f] < price - TOL_USD and sol.x[f] < reach[f] - TOL_T]
        cheaper.sort(key=lambda f: (before[f], lp.flows["source_id"].iat[f]))
        passed = []
        for f in cheaper[:SHOWN]:
            route = routes.route(f)
            route.reasons = routes.why_not_more(f, route, region_prices, names.country)
            passed.append(route)
        out.append(MarketYearStory(
            mineral=mineral, year=year, region=buyer, price_usd_per_t=price, low=low, high=high, set_by=set_by,
            setter=setter,
            consumed_t=consumed, reference_t=reference, unconsumed_t=story["unconsumed_t"], sources=sources,
            passed_over=passed, passed_over_more=max(0, len(cheaper) - SHOWN),
            policies=_policies(result, mineral, year, effects),
            certificate=_certificate(certificates, mineral, year, result)))
    return out


def _policies(result: MarketResult, mineral: str, year: int, effects: pd.DataFrame) -> list[dict]:
    """The policies acting in this mineral-year (``policy_status`` over its rows and routes) and, per policy, its
    rows of ``policy_effects.csv`` for this mineral."""
    status = policy_status(result.lp, result.solution, result.policy_effects, mineral=mineral, year=year)
    out = []
    for row in status.to_dict("records"):
        if row["acts_by"] == "nothing":
            continue
        mine = effects[(effects["policy"] == row["policy"]) & (effects["mineral"] == mineral)]
        row["effects"] = mine.drop(columns=["policy", "mineral"]).to_dict("records")
        row["binds"] = None if row["binds"] is None else bool(row["binds"])
        out.append(row)
    return out


def _certificate(certificates: pd.DataFrame | None, mineral: str, year: int, result: MarketResult) -> dict | None:
    if certificates is None:
        return None
    row = certificates.loc[(mineral, year)]
    return {"theta": float(row["theta"]), "certificate_price_usd_per_t": float(row["certificate_price_usd_per_t"]),
            "charge_attributed_usd_per_t": float(row["charge_attributed_usd_per_t"]),
            "credit_unattributed_usd_per_t": float(row["credit_unattributed_usd_per_t"]),
            "binding": bool(row["binding"]), "net_revenue_usd": float(row["net_revenue_usd"]),
            "share_of_supply_pct": float(row["share_of_supply_pct"])}


def explain_market(loaded: LoadedScenario, *, minerals: list[str] | None = None,
                   years: list[int] | None = None) -> MarketExplanation:
    """Solve the market scenario as ``critmin solve`` does and explain the buyer region's mineral-years: ``minerals``
    in every year, ``years`` for every mineral, both: their crossing; neither: the first year, every mineral."""
    result = solve_market(loaded)
    return explain_result(result, minerals=minerals, years=years)


def explain_result(result: MarketResult, *, minerals: list[str] | None = None,
                   years: list[int] | None = None) -> MarketExplanation:
    """``explain_market`` of an equilibrium already solved."""
    scenario = result.loaded.scenario
    chosen_minerals = list(minerals) if minerals else sorted(result.lp.balances["mineral"].unique())
    chosen_years = list(years) if years else ([scenario.years[0]] if not minerals else list(scenario.years))
    wanted = [(m, int(y)) for m in chosen_minerals for y in sorted(set(chosen_years))]
    names = Names(result.loaded.dataset.folder)
    return MarketExplanation(result.loaded.name, result.lp.buyer_region, _stories(result, wanted),
                             names={m: names.mineral(m) for m in chosen_minerals}, goal=result.goal is not None)


# ----------------------------------------------------------------------------------------------- words
def _source_line(r: RouteCost, share: float, names: Names) -> str:
    attributed = f"China-attributed {r.attribution:.0%}"
    return (f"  - {_plant_words(r, names)}: {tonnes(r.tonnes)} t ({share:.0%}); {attributed}; {_cost_words(r)}"
            + (f"; full: its rent {r.scarcity:,.0f} makes up the price" if r.scarcity > TOL_USD else ""))


def _more_or_less(change_t: float) -> str:
    """'5.40 t less', '12 t more' or 'the same tonnes'."""
    if tonnes(change_t) == "0":
        return "the same tonnes"
    return f"{tonnes(abs(change_t))} t {'more' if change_t > 0 else 'less'}"


def _policy_lines(p: dict, region: str, mineral: str) -> list[str]:
    if p["binds"] is None:
        head = f"  - '{p['policy']}' ({p['type']} on {p['regions']}): a cost, not a constraint; " \
               f"{tonnes(p['charged_t'])} t pay it"
    else:
        parts = []
        if p["routes_closed"]:
            parts.append(f"{p['routes_binding']} of {p['routes_closed']} routes it closes would earn more than they "
                         f"cost" + (f" (up to USD {p['route_value_max_usd_per_t']:,.0f}/t)" if p["routes_binding"]
                                    else ""))
        if p["rows"]:
            unit = str(p["shadow_price_unit"]).removeprefix("USD")
            parts.append(f"{p['binding_rows']} of {p['rows']} rows bind" + (
                f" (up to USD {p['shadow_price_max']:,.0f}{unit})" if p["binding_rows"] else ""))
        head = (f"  - '{p['policy']}' ({p['type']} on {p['regions']}): " + ("binds: " if p["binds"] else "slack: ")
                + "; ".join(parts))
    lines = [head]
    effects = {e["region"]: e for e in p["effects"]}
    shown = [r for r in dict.fromkeys([region, *p["regions"].split()]) if r in effects]
    for r in shown:
        e = effects[r]
        change = e["price_change_pct"]
        pct = "n/a" if change != change else f"{change:+.1f}%"
        lines.append(f"    {r}'s mean {mineral} price over the policy's years: {e['price_with_usd_per_t']:,.0f} with "
                     f"it, {e['price_without_usd_per_t']:,.0f} without ({pct}); {r} consumes "
                     f"{_more_or_less(e['consumed_change_t'])} with it; {r}'s welfare change over the horizon (every "
                     f"mineral): {signed_money(e['welfare_change_pv_usd'])} USD")
    return lines


def render_market(ex: MarketExplanation, dataset_folder: Path | str | None = None) -> str:
    """The explanation in planner's words."""
    names = Names(dataset_folder)
    lines = [f"Scenario '{ex.scenario}': market mode; why {ex.region} pays what it pays and buys where it buys "
             f"(the equilibrium 'critmin solve' reports; USD/t in each year's money)"]
    if not ex.stories:
        return lines[0] + "\n\nNo mineral-year selected; nothing to explain."
    for s in ex.stories:
        mineral = ex.names.get(s.mineral, s.mineral)
        lines += ["", f"{mineral} {s.year}: {ex.region} price {s.price_usd_per_t:,.0f} USD/t; consumes "
                      f"{tonnes(s.consumed_t)} t of its reference {tonnes(s.reference_t)} t"
                  + (f" ({tonnes(s.unconsumed_t)} t unconsumed)" if s.unconsumed_t > TOL_T else "") + "."]
        if s.low.value is not None and s.high.value is not None and s.low.value == s.high.value:
            lines.append("  set by " + s.setter + "; prices.csv allows no other price")
        else:
            interval = (f"{s.low.value:,.0f}" if s.low.value is not None else "none") + " to " + (
                f"{s.high.value:,.0f}" if s.high.value is not None else "no upper end")
            lines.append(f"  set by {s.setter}")
            lines.append(f"  the price holds from {interval} USD/t (prices.csv):")
            lines.append(f"  - low end: {s.low.words}")
            lines.append(f"  - high end: {s.high.words}")
        total = sum(r.tonnes for r in s.sources)
        lines.append(f"  where its {tonnes(total)} t come from (market_flows.csv):" if s.sources
                     else "  it buys nothing")
        lines.extend(_source_line(r, r.tonnes / total if total > 0 else 0.0, names) for r in s.sources)
        if s.passed_over:
            lines.append("  plants cheaper than the price before policies (production + trade) that it does not buy "
                         "more from, and why:")
            for r in s.passed_over:
                lines.append(f"  - {_plant_words(r, names)}, {r.production + r.trade:,.0f} USD/t, {ex.region} takes "
                             f"{tonnes(r.tonnes)} t: " + ("; ".join(r.reasons) or "no reason found"))
            if s.passed_over_more:
                lines.append(f"  and {s.passed_over_more} more")
        else:
            lines.append("  no plant cheaper than the price is left unbought")
        binding = [p for p in s.policies if p["binds"] or p["binds"] is None]
        slack = [p["policy"] for p in s.policies if p["binds"] is False]
        if binding:
            lines.append(f"  policies at work in {mineral} {s.year} (as policies.csv and policy_effects.csv):")
            for p in binding:
                lines.extend(_policy_lines(p, ex.region, mineral))
        lines.append("  slack here: " + ", ".join(f"'{p}'" for p in slack) if slack else
                     "  no policy is slack here" if s.policies else "  no policy acts here")
        c = s.certificate
        if c is not None:
            if c["binding"]:
                lines.append(f"  the goal (China share of supply <= {c['theta']:.1%}) binds: certificate price "
                             f"{c['certificate_price_usd_per_t']:,.0f} USD/t; a charge of "
                             f"{c['charge_attributed_usd_per_t']:,.0f} on a China tonne, a credit of "
                             f"{c['credit_unattributed_usd_per_t']:,.0f} on others (certificates.csv)")
            else:
                lines.append(f"  the goal (China share of supply <= {c['theta']:.1%}) is slack here: certificate "
                             f"price 0 (share {c['share_of_supply_pct']:.1f}%)")
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    """JSON values all the way down: numpy scalars as Python's, NaN as None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value


def market_explanation_json(ex: MarketExplanation) -> dict:
    """The explanation as data (``critmin explain --json``)."""
    return _plain({"scenario": ex.scenario, "market": "equilibrium", "region": ex.region,
                   "explained": [{**asdict(s), "mineral_name": ex.names.get(s.mineral, s.mineral)}
                                 for s in ex.stories]})


__all__ = ["MarketExplanation", "explain_market", "explain_result", "market_explanation_json", "render_market"]
