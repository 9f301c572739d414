"""Drawing uncertain parameters and shocks into scenario sets.

Every draw for sample ``i`` of seed ``s`` comes from ``numpy.random.default_rng([s, stream, i])``, so a sample is
the same whichever process (or machine) draws it, and in whatever order. Keys are visited in sorted order.
A sample is drawn once (``_one``) and then given as tables (``scenario_set``) or, for a sweep's changed model, as
arrays (``sample_factors``), both from the same draws.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.formulation.disruptions import ScenarioSet
from engine.formulation.jv import jv_equity
from engine.formulation.variants import SampleFactors
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
    id_array: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))  # ids["id"] as an array
    grid_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))  # the distinct ids, in order
    grid_row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # each id's among grid_ids
    year_array: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # years as an array
    year_position: dict = field(default_factory=dict)  # year -> its position among years
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
    return _universe_of(ids, equity, minerals, s.years, sources)


def _universe_of(ids: pd.DataFrame, equity: pd.DataFrame, minerals: list[str], years: list[int],
                 sources: np.ndarray) -> _Universe:
    """A universe and its arrays: the ids, the distinct ids (the availability grid's rows) and each id's among
    them, the years and each year's position."""
    id_array = ids["id"].to_numpy()
    grid_row, grid_ids = pd.factorize(id_array)
    return _Universe(ids, equity, minerals, years, sources, id_array, np.asarray(grid_ids, dtype=object),
                     grid_row.astype(np.int64), np.asarray(years, dtype=np.int64),
                     {y: k for k, y in enumerate(years)})


@dataclass(frozen=True)
class _Draws:
    """One sample's draws before they become rows: the capacity factor of each id (1 where none), the shocks that
    hit (positions among ids, years, share), each mineral's demand and cost factor (none when that section has no
    uncertainty), and the record of the draws."""

    capacity: np.ndarray
    shocks: list[tuple[np.ndarray, list[int], float]]
    demand: dict[str, float]
    cost: dict[str, float]
    record: dict


def _one(loaded: LoadedScenario, universe: _Universe, rng: np.random.Generator) -> _Draws:
    """Draw one sample: demand then cost per mineral (keys in sorted order), capacity per key, then each shock."""
    u = loaded.scenario.uncertainty
    record: dict = {}
    factors: dict[str, dict[str, float]] = {}
    for section in ("demand", "cost"):
        spec = getattr(u, section)
        keys = sorted(spec)
        factors[section] = {}
        for mineral in universe.minerals:
            factor = 1.0
            for key in keys:
                if key in ("all", mineral):
                    factor *= draw(spec[key], rng)
            if spec:
                record[f"{section}_{mineral}"] = factor
                factors[section][mineral] = factor
    capacity = np.ones(len(universe.ids))
    for key in sorted(u.capacity):
        value = draw(u.capacity[key], rng)
        record[f"capacity_{key}"] = value
        capacity[universe.capacity_hit(key)] *= value
    shocks, names = [], []
    for number, shock in enumerate(loaded.scenario.shocks):
        if rng.uniform() >= shock.probability:
            continue
        names.append(shock.name)
        shocks.append((universe.shock_hit(number, shock), shock.years.select(universe.years), shock.share))
    record["shocks"] = ";".join(names)
    return _Draws(capacity, shocks, factors["demand"], factors["cost"], record)


def _rows(universe: _Universe, draws: _Draws, scen: int) -> tuple[list[tuple], list[dict], list[dict]]:
    """A sample's availability rows (scen, id, year, factor): the capacity factors other than 1 in id order, then
    each shock's; and its demand and cost rows (scen, mineral, factor)."""
    ids = universe.id_array
    availability = [(scen, ids[k], y, draws.capacity[k]) for k in np.flatnonzero(draws.capacity != 1.0)
                    for y in universe.years]
    for hit, years, share in draws.shocks:
        availability += [(scen, ids[k], y, share) for k in hit for y in years]
    demand = [{"scen": scen, "mineral": m, "factor": f} for m, f in draws.demand.items()]
    cost = [{"scen": scen, "mineral": m, "factor": f} for m, f in draws.cost.items()]
    return availability, demand, cost


def _draws(seed: int, stream: int, index: int, loaded: LoadedScenario, universe: _Universe) -> _Draws:
    return _one(loaded, universe, np.random.default_rng([seed, stream, index]))


def scenario_set(loaded: LoadedScenario, indices: list[int], seed: int, stream: int = SWEEP,
                 universe: _Universe | None = None) -> tuple[ScenarioSet, list[dict]]:
    """A set of equiprobable scenarios, one per sample index, and the draws of each; ``universe`` is
    ``_universe(loaded)`` when the caller keeps it across calls."""
    universe = universe or _universe(loaded)
    return _tables(universe, indices, [_draws(seed, stream, index, loaded, universe) for index in indices])


def _tables(universe: _Universe, indices: list[int], draws: list[_Draws]) -> tuple[ScenarioSet, list[dict]]:
    """The scenario set of drawn samples, as tables, and their records."""
    availability, demand, cost, records = [], [], [], []
    for scen, (index, one) in enumerate(zip(indices, draws, strict=True)):
        a, d, c = _rows(universe, one, scen)
        availability += a
        demand += d
        cost += c
        records.append({"sample": index, **one.record})
    frames = {"availability": _availability_frame(availability),
              "demand": pd.DataFrame(demand, columns=["scen", "mineral", "factor"]),
              "cost": pd.DataFrame(cost, columns=["scen", "mineral", "factor"])}
    if frames["availability"].empty:
        frames["availability"] = pd.DataFrame(columns=["scen", "id", "factor"])
    return ScenarioSet(_scenario_table(indices), **frames), records


def _grid(universe: _Universe, draws: _Draws) -> np.ndarray:
    """The availability grid of a sample (distinct ids × years): each (id, year)'s product of the factors of its
    availability rows in the order ``_rows`` gives them (capacity factors in id order, then each shock's share),
    a NaN factor skipped as the tables' group products skip it; 1 where none. ``multiply.at`` multiplies in index
    order, repeated cells too."""
    grid = np.ones((len(universe.grid_ids), len(universe.years)))
    capacity = draws.capacity
    np.multiply.at(grid, universe.grid_row, np.where(np.isnan(capacity), 1.0, capacity)[:, None])
    for hit, years, share in draws.shocks:
        if not np.isnan(share) and len(hit) and years:
            cols = np.array([universe.year_position[y] for y in years], dtype=np.int64)
            np.multiply.at(grid, (universe.grid_row[hit][:, None], cols[None, :]), share)
    return grid


def _set_of(universe: _Universe, index: int, draws: _Draws) -> ScenarioSet:
    return _tables(universe, [index], [draws])[0]


def _scenario_table(indices: list[int]) -> pd.DataFrame:
    """The scenarios of a set of samples (``_equiprobable``); one sample's is a copy of ``_ONE_SAMPLE`` with its
    name, in half the time of making a table (a sweep makes one per sample)."""
    if len(indices) == 1:
        out = _ONE_SAMPLE.copy(deep=False)  # copy on write: the template's columns are never written
        out["name"] = [f"sample {indices[0]}"]
        return out
    return _equiprobable(indices)


def _equiprobable(indices: list[int]) -> pd.DataFrame:
    """One scenario per sample index, equiprobable, named after the sample."""
    n = len(indices)
    return pd.DataFrame({"scen": range(n), "name": [f"sample {i}" for i in indices], "probability": 1.0 / n})


_ONE_SAMPLE = _equiprobable([0])


def sample_factors(loaded: LoadedScenario, index: int, seed: int, stream: int = SWEEP,
                   universe: _Universe | None = None) -> tuple[SampleFactors, dict]:
    """One sample as arrays (``variants.SampleFactors``: what ``SampleModels`` changes a model with) and its
    record: the scenario set ``scenario_set(loaded, [index], seed, stream)`` gives, its tables made only if read."""
    universe = universe or _universe(loaded)
    draws = _draws(seed, stream, index, loaded, universe)
    grid = _grid(universe, draws)
    tables = functools.partial(_set_of, universe, index, draws)
    sample = SampleFactors(_scenario_table([index]), universe.grid_ids, universe.year_array, grid, draws.demand,
                           draws.cost, tables)
    return sample, {"sample": index, **draws.record}


def _availability_frame(rows: list[tuple]) -> pd.DataFrame:
    """Availability rows as a table (scen, id, year, factor), column by column."""
    if not rows:
        return pd.DataFrame(columns=["scen", "id", "year", "factor"])
    scen, ids, years, factors = zip(*rows, strict=True)
    return pd.DataFrame({"scen": np.array(scen, dtype=np.int64), "id": pd.array(ids, dtype=str),
                         "year": np.array(years, dtype=np.int64), "factor": np.array(factors, dtype=float)})
