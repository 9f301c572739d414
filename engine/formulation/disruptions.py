"""Disruption scenarios ω for stochastic and stress runs: probabilities and availability factors.

A deterministic run has one scenario (ω = 0, probability 1, everything available). A stochastic run has many;
each may scale the output of named supply blocks or JV options, the demand, and the delivered costs::

    flow[s, y, ω] <= … × availability[s, y, ω]        jv_out[j, y, ω] <= … × availability[j, y, ω]
    demand[m, y, ω] = demand[m, y] × demand_factor[m, ω]
    delivered cost[d, y, ω] = … × cost_factor[m, ω]

``availability`` rows are (scen, id, factor) with an optional ``year`` column; ``id`` is a source id or a JV
option id. Rows without a year apply to every year. ``demand`` and ``cost`` rows are (scen, mineral, factor).
A sample of a Monte Carlo sweep is a one-scenario set carrying its draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.model.joins import match_rows


@dataclass
class ScenarioSet:
    """Scenarios with probabilities (summing to 1) and availability factors."""

    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"scen": [0], "name": ["base"],
                                                                      "probability": [1.0]}))
    availability: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["scen", "id", "factor"]))
    demand: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["scen", "mineral", "factor"]))
    cost: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["scen", "mineral", "factor"]))

    def __post_init__(self) -> None:
        if "name" not in self.table:
            self.table = self.table.assign(name=self.table["scen"].astype(str))
        total = float(self.table["probability"].sum())
        if not np.isclose(total, 1.0, atol=1e-9):
            raise ValueError(f"scenario probabilities sum to {total:g}; expected 1")
        for name in ("availability", "demand", "cost"):
            frame = getattr(self, name)
            if len(frame) and (frame["factor"] < 0).any():
                raise ValueError(f"{name} factors must be >= 0")

    @property
    def stochastic(self) -> bool:
        return len(self.table) > 1


def availability_factors(availability: pd.DataFrame) -> list[tuple[list[str], pd.DataFrame]]:
    """The availability rows as factor tables to match: the product of each (scen, id, year)'s dated factors, then of
    each (scen, id)'s undated ones (``apply_availability``); made once for every delivery table of a build."""
    if availability.empty:
        return []
    dated = availability["year"].notna().to_numpy() if "year" in availability.columns else \
        np.zeros(len(availability), dtype=bool)
    tables = []
    for keys, part in ((["scen", "id", "year"], availability[dated]), (["scen", "id"], availability[~dated])):
        if part.empty:
            continue
        part = part.astype({"year": "int64"}) if "year" in keys else part
        tables.append((keys, part.groupby(keys, sort=False)["factor"].prod().reset_index()))
    return tables


def apply_availability(frame: pd.DataFrame, availability: pd.DataFrame | list[tuple[list[str], pd.DataFrame]]) -> None:
    """Multiply ``frame['availability']`` by the factors that match its (scen, id[, year]) rows; rows with no
    year (no column, or a blank) apply to every year. ``availability``: the rows, or their ``availability_factors``."""
    tables = availability_factors(availability) if isinstance(availability, pd.DataFrame) else availability
    if not tables or frame.empty:
        return
    factor = np.ones(len(frame))
    for keys, table in tables:
        row = match_rows(frame, table, keys)
        factor *= np.where(row >= 0, table["factor"].to_numpy()[np.maximum(row, 0)], 1.0)
    frame["availability"] = frame["availability"].to_numpy() * factor


def mineral_factor(frame: pd.DataFrame, factors: pd.DataFrame) -> np.ndarray:
    """The (scen, mineral) factor of each row of ``frame`` (1 where none is given)."""
    if factors.empty or frame.empty:
        return np.ones(len(frame))
    table = factors.groupby(["scen", "mineral"])["factor"].prod().reset_index()
    row = match_rows(frame, table, ["scen", "mineral"])
    return np.where(row >= 0, table["factor"].to_numpy()[np.maximum(row, 0)], 1.0)
