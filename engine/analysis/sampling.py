"""Drawing uncertain parameters and shocks into scenario sets.

Every draw for sample ``i`` of seed ``s`` comes from ``numpy.random.default_rng([s, stream, i])``, so a sample is
the same whichever process (or machine) draws it, and in whatever order. Keys are visited in sorted order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """What draws act on: source and option ids with location, mineral and equity; and, found on first use, the
    positions among ``ids`` that each capacity key and each shock hits (the same for every sample)."""

    ids: pd.DataFrame  # id, mineral, location
    equity: pd.DataFrame  # source_id, owner, equity_share
    minerals: list[str]
    years: list[int]
    sources: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # ids that are supply blocks
    hits: dict = field(default_factory=dict)  # ("capacity", key) or ("shock", i) -> positions among ids

    def capacity_hit(self, key: str) -> np.ndarray:
        """Positions of the supply blocks a capacity key scales: located in ``key``, with id ``key``, or all."""
        if ("capacity", key) not in self.hits:
            ids = self.ids
            chosen = (ids["location"] == key) | (ids["id"] == key) if key != "all" else ids["id"].notna()
            self.hits["capacity", key] = np.flatnonzero(chosen.to_numpy(dtype=bool) & self.sources)
        return self.hits["capacity", key]

    def shock_hit(self, number: int, shock) -> np.ndarray:
        """Positions of the ids a shock hits: located in (or owned by) its country, in its minerals."""
        if ("shock", number) not in self.hits:
            ids = self.ids
            located = ids["location"] == shock.country
            if shock.by == "owner":
                held = self.equity[(self.equity["owner"] == shock.country)
                                   & (self.equity["equity_share"] >= shock.owner_threshold - 1e-12)]
                located = ids["id"].isin(held["source_id"])
            if shock.minerals is not None:
                located &= ids["mineral"].isin(shock.minerals)
            self.hits["shock", number] = np.flatnonzero(located.to_numpy(dtype=bool))
        return self.hits["shock", number]


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
    sources = ~ids["id"].isin(ds.jv_options["option_id"]).to_numpy(dtype=bool)
    return _Universe(ids, equity, minerals, s.years, sources)


def _one(loaded: LoadedScenario, universe: _Universe, rng: np.random.Generator, scen: int
         ) -> tuple[list[tuple], list[dict], list[dict], dict]:
    """Availability rows (scen, id, year, factor), demand and cost rows for one scenario, and a record of the
    draws."""
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
    ids = universe.ids["id"].to_numpy()
    factors = np.ones(len(ids))
    for key in sorted(u.capacity):
        value = draw(u.capacity[key], rng)
        record[f"capacity_{key}"] = value
        factors[universe.capacity_hit(key)] *= value
    availability = [(scen, ids[k], y, factors[k]) for k in np.flatnonzero(factors != 1.0) for y in universe.years]
    shocks_hit = []
    for number, shock in enumerate(loaded.scenario.shocks):
        if rng.uniform() >= shock.probability:
            continue
        shocks_hit.append(shock.name)
        years = shock.years.select(universe.years)
        availability += [(scen, ids[k], y, shock.share) for k in universe.shock_hit(number, shock) for y in years]
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
    frames = {"availability": _availability_frame(availability),
              "demand": pd.DataFrame(demand, columns=["scen", "mineral", "factor"]),
              "cost": pd.DataFrame(cost, columns=["scen", "mineral", "factor"])}
    if frames["availability"].empty:
        frames["availability"] = pd.DataFrame(columns=["scen", "id", "factor"])
    return ScenarioSet(table, **frames), records


def _availability_frame(rows: list[tuple]) -> pd.DataFrame:
    """Availability rows as a table (scen, id, year, factor), column by column."""
    if not rows:
        return pd.DataFrame(columns=["scen", "id", "year", "factor"])
    scen, ids, years, factors = zip(*rows, strict=True)
    return pd.DataFrame({"scen": np.array(scen, dtype=np.int64), "id": pd.array(ids, dtype=str),
                         "year": np.array(years, dtype=np.int64), "factor": np.array(factors, dtype=float)})
