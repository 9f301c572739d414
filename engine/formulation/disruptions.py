"""Disruption scenarios ω for stochastic and stress runs: probabilities and availability factors.

A deterministic run has one scenario (ω = 0, probability 1, everything available). A stochastic run has many;
each may scale the output of named supply blocks or JV options::

    flow[s, y, ω] <= … × availability[s, y, ω]        jv_out[j, y, ω] <= … × availability[j, y, ω]

``availability`` rows are (scen, id, factor) with an optional ``year`` column; ``id`` is a source id or a JV
option id. Rows without a year apply to every year.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class ScenarioSet:
    """Scenarios with probabilities (summing to 1) and availability factors."""

    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"scen": [0], "name": ["base"],
                                                                      "probability": [1.0]}))
    availability: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["scen", "id", "factor"]))

    def __post_init__(self) -> None:
        if "name" not in self.table:
            self.table = self.table.assign(name=self.table["scen"].astype(str))
        total = float(self.table["probability"].sum())
        if not np.isclose(total, 1.0, atol=1e-9):
            raise ValueError(f"scenario probabilities sum to {total:g}; expected 1")
        if len(self.availability) and ((self.availability["factor"] < 0) | (self.availability["factor"] > 1)).any():
            raise ValueError("availability factors must lie in [0, 1]")

    @property
    def stochastic(self) -> bool:
        return len(self.table) > 1


def apply_availability(frame: pd.DataFrame, availability: pd.DataFrame) -> None:
    """Multiply ``frame['availability']`` by the factors that match its (scen, id[, year]) rows."""
    if availability.empty or frame.empty:
        return
    keys = ["scen", "id", "year"] if "year" in availability.columns else ["scen", "id"]
    factors = availability.groupby(keys, sort=False)["factor"].prod()
    index = pd.MultiIndex.from_frame(frame[keys])
    matched = factors.reindex(index).to_numpy()
    frame["availability"] = frame["availability"].to_numpy() * np.where(np.isnan(matched), 1.0, matched)
