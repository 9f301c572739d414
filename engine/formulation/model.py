"""The model under construction: the LP plus the tables that explain each of its columns and rows.

A :class:`Model` carries the linear program and, for every block of columns, a table of attributes in the same
row order (which source, year, scenario, location, owner, China attribution, cost per tonne …). Formulation
modules read and extend these tables; ``engine.outputs.results`` reads them back to turn a solution into tidy tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.inputs.scenario import LoadedScenario
from engine.model.joins import positions
from engine.model.lp import LinearProgram


def scale_unit(values: np.ndarray) -> float:
    """A power of ten near the median size of the positive ``values``: dividing by it brings them near 1."""
    positive = np.abs(np.asarray(values, dtype=float))
    positive = positive[positive > 0]
    if positive.size == 0:
        return 1.0
    return float(10.0 ** np.round(np.log10(np.median(positive))))


def money_unit_for(prices: np.ndarray) -> float:
    """The LP's unit of money: a power of ten near the median reference price, so that cost coefficients per
    tonne sit near 1 whatever the dataset (USD 10^5 for the default data; smaller for toy models)."""
    return scale_unit(prices)


FIRST_STAGE = ("build", "jv_built", "stock_put")
"""Blocks decided once for every disruption scenario: JV builds, their binaries, stockpile purchases."""


@dataclass
class Model:
    """A built model: LP, attribute tables and the scenario it came from."""

    loaded: LoadedScenario
    lp: LinearProgram = field(default_factory=LinearProgram)
    years: list[int] = field(default_factory=list)
    minerals: list[str] = field(default_factory=list)
    scenarios: pd.DataFrame = field(default_factory=pd.DataFrame)  # scen, probability
    sources: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per supply block
    equity: pd.DataFrame = field(default_factory=pd.DataFrame)  # source_id, owner, equity_share (complete)
    supply: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per flow column
    demand: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per shortfall column
    jv_options: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per JV option
    builds: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per build column
    jv_output: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per jv_out column
    deliveries: pd.DataFrame = field(default_factory=pd.DataFrame)  # every column that delivers tonnes
    stockpile: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per (mineral, year, scen) stock
    warnings: list[str] = field(default_factory=list)
    restrictions: list[pd.DataFrame] = field(default_factory=list)  # policy, block, row, removed_share
    money_unit: float = 1e6  # USD per unit of money in the LP objectives (see money_unit_for)
    dependence_unit: float = 1.0  # percentage points per unit of the LP's dependence objective (see dependence.py)
    scenario_set: Any = None  # engine.formulation.disruptions.ScenarioSet

    @property
    def scenario(self):
        return self.loaded.scenario

    @property
    def dataset(self):
        return self.loaded.dataset

    def discount(self, years: np.ndarray | pd.Series) -> np.ndarray:
        """Present-value factor (1 + r)^-(year - base year)."""
        fin = self.scenario.finance
        return (1.0 + fin.discount_rate) ** -(np.asarray(years, dtype=float) - self.scenario.base_year)

    def probability_of(self, scen: pd.Series | np.ndarray) -> np.ndarray:
        """The probability of each row's scenario (``scen`` values from the scenario table)."""
        at = positions(scen, self.scenarios["scen"])
        return np.where(at >= 0, self.scenarios["probability"].to_numpy(dtype=float)[np.maximum(at, 0)], np.nan)

    def block_cols(self, name: str) -> np.ndarray:
        return self.lp.variables[name].cols

    def mineral_names(self) -> dict[str, str]:
        """Short lower-case names: li -> lithium."""
        m = self.dataset.minerals
        return {k: str(v).split("(")[0].strip().lower() for k, v in zip(m["mineral"], m["name"], strict=True)}

    def delivery_frames(self) -> list[tuple[str, pd.DataFrame]]:
        """The attribute tables of columns that deliver tonnes: purchases, then JV output (when any)."""
        frames = [("flow", self.supply)]
        if len(self.jv_output):
            frames.append(("jv_out", self.jv_output))
        return frames
