"""A plan's headline numbers for analyses that solve thousands of samples, without the tidy tables.

A sweep sample's row (dependence overall and per mineral, shortfall overall and per mineral, JV capacity built)
comes from vectors: the dependence figures from ``results.china_share_pct``, ``aggregate_dependence`` and
``mineral_shares`` (the definitions the tables use), the rest from index arrays found once per model shape (the
shortfall columns and their minerals, the builds in the builds table's order), summed as the tables sum them
(``attributed_by_group``, ``build_table``), so each number is the tables' to the last bit (``tests/test_variants.py``
compares them on seeded samples). Cost and unmet demand come from ``results.total_cost_pv`` and
``results.unmet_value_pv`` themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.results import aggregate_dependence, china_share_pct, clean, mineral_shares


class PlanMetrics:
    """Index arrays of one model shape (a sweep's samples all share the shape of the undisrupted model)."""

    def __init__(self, model: Model) -> None:
        self.short_cols = model.block_cols("short")
        self.minerals = model.demand["mineral"].to_numpy()
        if model.builds.empty:
            self.build_cols = self.build_order = np.zeros(0, dtype=np.int64)
        else:
            self.build_cols = model.block_cols("build")
            self.build_order = np.asarray(model.builds.reset_index(drop=True)
                                          .sort_values(["option_id", "year"], kind="stable").index)

    def row(self, model: Model, x: np.ndarray) -> dict[str, float]:
        """Dependence (the objective's aggregate and per mineral), shortfall (total and per mineral) and JV capacity
        built, as the tables define them."""
        share = china_share_pct(model, x)
        short = pd.Series(clean(x[self.short_cols]))
        out = {"dependence_pct": aggregate_dependence(model, share), "shortfall_t": float(short.sum())}
        out.update({f"dependence_{m}_pct": v for m, v in mineral_shares(model, share).items()})
        out.update({f"shortfall_{m}_t": float(v) for m, v in short.groupby(self.minerals).sum().items()})
        out["jv_capacity_tpy"] = self.built_capacity(x)
        return out

    def built_capacity(self, x: np.ndarray) -> float:
        """Σ ``build_table``'s capacity column: builds in its order, those above zero."""
        if not len(self.build_order):
            return 0.0
        size = clean(x[self.build_cols])[self.build_order]
        return float(pd.Series(size[size > 0]).sum())
