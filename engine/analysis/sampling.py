"""Drawing uncertain parameters and shocks into scenario sets.

Every draw for sample ``i`` of seed ``s`` comes from ``numpy.random.default_rng([s, stream, i])``, so a sample is
the same whichever process (or machine) draws it, and in whatever order. Keys are visited in sorted order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.formulation.disruptions import ScenarioSet
from engine.formulation.jv import jv_equity
from engine.inputs.ownership import equity_table
from engine.inputs.scenario import LoadedScenario
from engine.inputs.schema import Distribution

SWEEP, ROBUST_PLAN, ROBUST_EVALUATION = 0, 1, 2  # independent random streams


def draw(dist: Distribution, rng: np.random.Generator) -> float:
    """One multiplier (never negative)."""
    if dist.dist == "normal":
        value = rng.normal(dist.mean, dist.sd)
    elif dist.dist == "lognormal":
        value = rng.lognormal(dist.mean, dist.sd)
    elif dist.dist == "uniform":
        value = rng.uniform(dist.low, dist.high)
    else:
        value = rng.triangular(dist.low, dist.mode, dist.high)
    return float(max(value, 0.0))


@dataclass(frozen=True)
class _Universe:
    """What draws act on: source and option ids with location, mineral and equity."""

    ids: pd.DataFrame  # id, mineral, location
    equity: pd.DataFrame  # source_id, owner, equity_share
    minerals: list[str]
    years: list[int]


def _universe(loaded: LoadedScenario) -> _Universe:
    ds, s = loaded.dataset, loaded.scenario
    minerals = list(s.minerals or ds.minerals["mineral"])
    cap = ds.capacity[ds.capacity["mineral"].isin(minerals)]
    opts = ds.jv_options[ds.jv_options["mineral"].isin(minerals)]
    ids = pd.concat([cap[["source_id", "mineral", "location"]].rename(columns={"source_id": "id"}),
                     opts[["option_id", "mineral", "host"]].rename(columns={"option_id": "id", "host": "location"})],
                    ignore_index=True)
    equity = equity_table(cap, ds.ownership[ds.ownership["source_id"].isin(cap["source_id"])])
    if len(opts):
        equity = pd.concat([equity, jv_equity(opts)], ignore_index=True)
    return _Universe(ids, equity, minerals, s.years)


def _one(loaded: LoadedScenario, universe: _Universe, rng: np.random.Generator, scen: int
         ) -> tuple[list[dict], list[dict], list[dict], dict]:
    """Availability, demand and cost rows for one scenario, and a record of the draws."""
    u = loaded.scenario.uncertainty
    record: dict = {}
    demand, cost = [], []
    for section, rows in (("demand", demand), ("cost", cost)):
        spec = getattr(u, section)
        for mineral in universe.minerals:
            factor = 1.0
            for key in sorted(spec):
                if key in ("all", mineral):
                    factor *= draw(spec[key], rng)
            if spec:
                record[f"{section}_{mineral}"] = factor
                rows.append({"scen": scen, "mineral": mineral, "factor": factor})
    factors = pd.Series(1.0, index=universe.ids["id"].to_numpy())
    sources = universe.ids[~universe.ids["id"].isin(loaded.dataset.jv_options["option_id"])]
    for key in sorted(u.capacity):
        value = draw(u.capacity[key], rng)
        record[f"capacity_{key}"] = value
        chosen = (sources["location"] == key) | (sources["id"] == key) if key != "all" else sources["id"].notna()
        hit = sources.loc[chosen, "id"]
        factors[hit.to_numpy()] *= value
    availability = [{"scen": scen, "id": i, "year": y, "factor": f} for i, f in factors.items() if f != 1.0
                    for y in universe.years]
    shocks_hit = []
    for shock in loaded.scenario.shocks:
        if rng.uniform() >= shock.probability:
            continue
        shocks_hit.append(shock.name)
        ids = universe.ids
        located = ids["location"] == shock.country
        if shock.by == "owner":
            held = universe.equity[(universe.equity["owner"] == shock.country)
                                   & (universe.equity["equity_share"] >= shock.owner_threshold - 1e-12)]
            located = ids["id"].isin(held["source_id"])
        if shock.minerals is not None:
            located &= ids["mineral"].isin(shock.minerals)
        for i in ids.loc[located, "id"]:
            availability += [{"scen": scen, "id": i, "year": y, "factor": shock.share}
                             for y in shock.years.select(universe.years)]
    record["shocks"] = ";".join(shocks_hit)
    return availability, demand, cost, record


def scenario_set(loaded: LoadedScenario, indices: list[int], seed: int, stream: int = SWEEP,
                 universe: _Universe | None = None) -> tuple[ScenarioSet, list[dict]]:
    """A set of equiprobable scenarios, one per sample index, and the draws of each; ``universe`` is
    ``_universe(loaded)`` when the caller keeps it across calls."""
    universe = universe or _universe(loaded)
    availability, demand, cost, records = [], [], [], []
    for scen, index in enumerate(indices):
        rng = np.random.default_rng([seed, stream, index])
        a, d, c, record = _one(loaded, universe, rng, scen)
        availability += a
        demand += d
        cost += c
        records.append({"sample": index, **record})
    n = len(indices)
    table = pd.DataFrame({"scen": range(n), "name": [f"sample {i}" for i in indices], "probability": 1.0 / n})
    frames = {"availability": pd.DataFrame(availability, columns=["scen", "id", "year", "factor"]),
              "demand": pd.DataFrame(demand, columns=["scen", "mineral", "factor"]),
              "cost": pd.DataFrame(cost, columns=["scen", "mineral", "factor"])}
    if frames["availability"].empty:
        frames["availability"] = pd.DataFrame(columns=["scen", "id", "factor"])
    return ScenarioSet(table, **frames), records
