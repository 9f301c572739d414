"""The backcast: does the least-cost plan's first year look like what the buyer actually imports?

``observed_trade.csv`` holds observed import shares by origin per mineral and period. The plan's shares are its
first-year purchases and JV output by location country, leaving out what the buyer's own country supplies (imports
only). The distance between the two is half the L1 distance of the share vectors, in points (0 = identical,
100 = disjoint)::

    d = 50 * sum_g |o_g - p_g|

over the groups g the observation names: each named origin, and ``ROW`` for every origin it does not name. When the
observed ``ROW`` share is above zero, its split over countries is unknown, so the plan's unnamed countries are
compared with it as one group: the distance is then the smallest the unknown split allows (a lower bound).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.results import flow_table

REST = "ROW"


@dataclass(frozen=True)
class Observation:
    """One mineral's observed import shares for one period."""

    mineral: str
    period: str
    measure: str
    form: str
    shares: dict[str, float]  # origin -> share; REST is every origin not named
    source: str


@dataclass(frozen=True)
class Backcast:
    """The distance between observed and planned import shares for one mineral."""

    observation: Observation
    planned: dict[str, float]  # location -> share of the plan's imports (empty: the plan imports nothing)
    distance_pp: float | None  # None when the plan imports nothing that year
    lower_bound: bool  # True when the observed REST share is split over unknown origins

    @property
    def text(self) -> str:
        if self.distance_pp is None:
            return "n/a (the plan imports none)"
        return f"{'>= ' if self.lower_bound else ''}{self.distance_pp:.1f}"


def observations(dataset: object) -> dict[str, Observation]:
    """Per mineral, the latest observed period in ``observed_trade.csv`` (periods sort as text: '2024' after
    '2020-2023'), its shares normalised to sum to one (the rest, if they sum below one, goes to REST)."""
    table: pd.DataFrame = dataset.tables["observed_trade"]  # type: ignore[attr-defined]
    out: dict[str, Observation] = {}
    for mineral, rows in table.groupby("mineral", sort=True):
        period = max(str(p) for p in rows["period"])
        rows = rows[rows["period"].astype(str) == period]
        shares = {str(o): float(s) for o, s in zip(rows["origin"], rows["share"], strict=True)}
        total = sum(shares.values())
        if total < 1.0:
            shares[REST] = shares.get(REST, 0.0) + (1.0 - total)
        elif total > 1.0:
            shares = {k: v / total for k, v in shares.items()}
        first = rows.iloc[0]
        sources = "; ".join(dict.fromkeys(str(s) for s in rows["source"]))
        out[str(mineral)] = Observation(str(mineral), period, str(first["measure"]), str(first["form"]),
                                        dict(sorted(shares.items())), sources)
    return out


def planned_shares(model: Model, x: np.ndarray, year: int) -> dict[str, dict[str, float]]:
    """Per mineral: each location's share of the plan's imports in ``year`` (the buyer's own country left out)."""
    flows = flow_table(model, x)
    return location_shares(flows[(flows["year"] == year) & (flows["location"] != model.scenario.buyer)])


def location_shares(flows: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per mineral (sorted): each location's share of the tonnes of ``flows`` (columns ``mineral``, ``location``,
    ``tonnes``), the locations with tonnes only; minerals with no tonnes left out. The one share rule of every
    backcast (the single-buyer plan's and the market equilibrium's)."""
    out: dict[str, dict[str, float]] = {}
    for mineral, rows in flows.groupby("mineral", sort=True):
        by_location = rows.groupby("location", sort=True)["tonnes"].sum()
        total = float(by_location.sum())
        if total > 0:
            out[str(mineral)] = {str(k): float(v) / total for k, v in by_location.items() if v > 0}
    return out


def distance(observed: dict[str, float], planned: dict[str, float]) -> tuple[float, bool]:
    """Half the L1 distance in points between observed shares (origins, REST for the unnamed) and planned shares
    (locations), and whether it is a lower bound (the observed REST share is above zero)."""
    named = [origin for origin in observed if origin != REST]
    gap = sum(abs(observed[o] - planned.get(o, 0.0)) for o in named)
    rest_planned = sum(share for loc, share in planned.items() if loc not in named)
    gap += abs(observed.get(REST, 0.0) - rest_planned)
    return 50.0 * gap, observed.get(REST, 0.0) > 0.0


def backcast(model: Model, x: np.ndarray, dataset: object | None = None) -> list[Backcast]:
    """The backcast of the plan ``x`` of ``model`` in its first year against the observed shares, per mineral
    the model holds and the table observes."""
    observed = observations(dataset if dataset is not None else model.dataset)
    return compare_shares(observed, planned_shares(model, x, model.years[0]), model.minerals)


def compare_shares(observed: dict[str, Observation], planned: dict[str, dict[str, float]],
                   minerals: Iterable[str]) -> list[Backcast]:
    """The backcast of shares given as a dict (mineral -> location -> share of imports) against ``observed``, per
    mineral of ``minerals`` the table observes, in that order (the plan's, or a market equilibrium's imports)."""
    out = []
    for mineral in minerals:
        if mineral not in observed:
            continue
        plan = planned.get(mineral, {})
        if not plan:
            out.append(Backcast(observed[mineral], {}, None, False))
            continue
        gap, bound = distance(observed[mineral].shares, plan)
        out.append(Backcast(observed[mineral], plan, gap, bound))
    return out


def least_cost_backcast(loaded: object, solver: str | None = None) -> tuple[list[Backcast], list[str]]:
    """Solve the scenario ``loaded`` (an ``engine.inputs.scenario.LoadedScenario``) and backcast its least-cost
    plan; also the minerals it models that the table does not observe."""
    from engine.formulation import build_model
    from engine.plan.hierarchy import solve_plan
    from engine.solvers import SolverOptions, make_backend

    model = build_model(loaded)  # type: ignore[arg-type]
    plan = solve_plan(model, make_backend(solver, SolverOptions()))
    if not plan.ok or plan.least_cost is None:
        raise RuntimeError(f"the least-cost plan of '{model.loaded.name}' was not solved: {plan.message}")
    rows = backcast(model, plan.least_cost.x)
    observed = {b.observation.mineral for b in rows}
    return rows, [m for m in model.minerals if m not in observed]


def top_shares(shares: dict[str, float], n: int = 3, name: Callable[[str], str] = str) -> str:
    """The ``n`` largest shares as 'CHL 56%, ARG 42%' (REST written as 'other'; each origin as ``name`` gives it,
    e.g. ``Names.country``: 'Chile 56%, Argentina 42%')."""
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return ", ".join(f"{'other' if k == REST else name(k)} {100 * v:.0f}%" for k, v in ranked)


__all__ = ["REST", "Backcast", "Observation", "backcast", "compare_shares", "distance", "least_cost_backcast",
           "observations", "planned_shares", "top_shares"]
