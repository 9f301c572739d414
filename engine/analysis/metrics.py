"""A plan's headline numbers from vectors kept per model shape, for analyses that solve thousands of samples.

A sweep sample's row (dependence overall and per mineral, shortfall overall and per mineral, JV capacity built)
is computed here from index arrays found once per model shape (which demand row each delivery fills, each
column's attribution, the builds' table order) instead of from the tidy tables. Each number is the same
arithmetic, in the same order, as its definition on the tables (``engine/outputs/results.py``: ``attributed_by_group``,
``dependence_metric``, ``per_mineral``, ``build_table``), so it is the same number to the last bit
(``tests/test_metrics.py`` compares them on seeded samples of the shipped scenarios). Cost and unmet demand come
from ``results.total_cost_pv`` and ``results.unmet_value_pv`` themselves: there is one definition of each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.results import clean


class PlanMetrics:
    """Index arrays of one model shape (a sweep's samples all share the shape of the undisrupted model)."""

    def __init__(self, model: Model) -> None:
        d, dl = model.demand, model.deliveries
        rows = dl["demand_row"].to_numpy()
        self.inside = rows >= 0
        self.delivery_cols = dl["col"].to_numpy()[self.inside]
        self.delivery_rows = rows[self.inside]
        self.attribution = dl["attribution"].to_numpy()[self.inside]
        self.n_groups = len(d)
        self.short_cols = model.block_cols("short")
        self.scen = d["scen"].to_numpy()
        self.minerals = d["mineral"].to_numpy()
        self.mineral_order = list(model.minerals)
        objective = model.scenario.objective
        self.aggregate = objective.aggregate
        self.probability = d["scen"].map(model.scenarios.set_index("scen")["probability"]).to_numpy()
        self.weight = d["mineral"].map(objective.weights).fillna(1.0).to_numpy()
        if model.builds.empty:
            self.build_cols = self.build_order = np.zeros(0, dtype=np.int64)
        else:
            self.build_cols = model.block_cols("build")
            self.build_order = np.asarray(model.builds.reset_index(drop=True)
                                          .sort_values(["option_id", "year"], kind="stable").index)

    def china_share_pct(self, x: np.ndarray, demand: np.ndarray) -> np.ndarray:
        """Per demand row, the attributed share of demand in percent (``attributed_by_group``'s column)."""
        tonnes = clean(x[self.delivery_cols])
        china = np.bincount(self.delivery_rows, tonnes * self.attribution, minlength=self.n_groups)
        return np.where(demand > 0, 100.0 * china / np.where(demand > 0, demand, 1), 0.0)

    def row(self, model: Model, x: np.ndarray) -> dict[str, float]:
        """Dependence (the objective's aggregate and per mineral), shortfall (total and per mineral) and JV capacity
        built, as the tables define them."""
        demand = model.demand["demand_t"].to_numpy()
        share = self.china_share_pct(x, demand)
        short = clean(x[self.short_cols])
        positive = demand > 0
        out = {"dependence_pct": self._aggregate(share, positive), "shortfall_t": float(pd.Series(short).sum())}
        minerals = self.minerals[positive]
        means = pd.Series(share[positive]).groupby(minerals).mean()
        out.update({f"dependence_{m}_pct": float(means[m]) for m in self.mineral_order if m in means.index})
        sums = pd.Series(short).groupby(self.minerals).sum()
        out.update({f"shortfall_{m}_t": float(v) for m, v in sums.items()})
        out["jv_capacity_tpy"] = self.built_capacity(x)
        return out

    def _aggregate(self, share: np.ndarray, positive: np.ndarray) -> float:
        """``results.dependence_metric`` of the share column."""
        if not positive.any():
            return 0.0
        values = share[positive]
        if self.aggregate == "max":
            return float(values.max())
        scen = self.scen[positive]
        weight = self.weight[positive]
        total = float(weight[scen == scen[0]].sum()) or 1.0
        return float((self.probability[positive] * weight * values).sum() / total)

    def built_capacity(self, x: np.ndarray) -> float:
        """Σ ``build_table``'s capacity column: builds in its order, those above zero."""
        if not len(self.build_order):
            return 0.0
        size = clean(x[self.build_cols])[self.build_order]
        return float(pd.Series(size[size > 0]).sum())
