"""A plan's headline numbers for analyses that solve thousands of samples, without the tidy tables.

A sweep sample's row (exposure and share of supply overall, exposure per mineral, shortfall overall and per
mineral, JV capacity built) comes from vectors: the measures from ``results.measures``, ``aggregate_dependence`` and
``mineral_shares`` (the definitions the tables use), the rest from index arrays found once per model shape (the
shortfall columns and their minerals, the builds in the builds table's order), summed as the tables sum them
(``attributed_by_group`` totalled and grouped by mineral with pandas, ``build_table``'s capacity column totalled:
``series_sum``, ``group_sums``), so each number is the tables' to the last bit (``tests/test_variants.py``
compares them on seeded samples). Cost and unmet demand come from ``results.total_cost_pv`` and
``results.unmet_value_pv`` themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.outputs.results import aggregate_dependence, clean, measures, mineral_shares


def series_sum(values: np.ndarray) -> float:
    """``pd.Series(values).sum()`` of a float array: NaN counted as 0, the rest summed by numpy."""
    return float(np.where(np.isnan(values), 0.0, values).sum())


def _compensated(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per group, the compensated (Kahan) sum of its values in row order, NaN skipped: pandas' ``group_sum``."""
    sums, compensation = [0.0] * n, [0.0] * n
    for group, value in zip(codes.tolist(), values.tolist(), strict=True):
        if value != value:
            continue
        y = value - compensation[group]
        t = sums[group] + y
        compensation[group] = t - sums[group] - y
        if compensation[group] != compensation[group]:  # an infinite value: keep the sum infinite, not NaN
            compensation[group] = 0.0
        sums[group] = t
    return np.array(sums)


def _sorted_groups_by_reduceat() -> bool:
    """Whether this pandas sums groups whose rows are sorted by group with ``np.add.reduceat`` (pandas 3) rather
    than with its compensated sum: told apart by a sum that only the compensated one gets exact (1e16 + 2)."""
    values = np.array([0.0, 1e16, 1.0, 1.0])
    return float(pd.Series(values).groupby(np.zeros(4, dtype=np.int64)).sum().iloc[0]) == 1e16


REDUCEAT = _sorted_groups_by_reduceat()


class Groups:
    """Rows grouped by a key, as ``Series.groupby(keys).sum()`` groups them: the distinct keys in sorted order, each
    row's position among them, and whether the rows come sorted by group (and where each group starts)."""

    def __init__(self, keys: np.ndarray) -> None:
        codes, names = pd.factorize(keys, sort=True)
        self.codes, self.names = codes.astype(np.int64), list(names)
        self.sorted = bool(np.all(np.diff(self.codes) >= 0))
        self.starts = np.flatnonzero(np.r_[True, self.codes[1:] != self.codes[:-1]]) if len(codes) else codes

    def sums(self, values: np.ndarray) -> dict:
        """``pd.Series(values).groupby(keys).sum()`` as a dict, to the last bit: pandas 3 sums rows sorted by group
        with ``np.add.reduceat`` (unless a value is NaN), other rows (and pandas 2 all rows) with a compensated
        sum in row order (``tests/test_metrics.py`` compares both with pandas on seeded values)."""
        if not len(self.codes):
            return {}
        if REDUCEAT and self.sorted and not np.isnan(values).any():
            totals = np.add.reduceat(values, self.starts)
        else:
            totals = _compensated(self.codes, values, len(self.names))
        return {name: float(total) for name, total in zip(self.names, totals, strict=True)}


class PlanMetrics:
    """Index arrays of one model shape (a sweep's samples all share the shape of the undisrupted model)."""

    def __init__(self, model: Model) -> None:
        self.short_cols = model.block_cols("short")
        self.minerals = Groups(model.demand["mineral"].to_numpy())
        if model.builds.empty:
            self.build_cols = self.build_order = np.zeros(0, dtype=np.int64)
        else:
            self.build_cols = model.block_cols("build")
            self.build_order = np.asarray(model.builds.reset_index(drop=True)
                                          .sort_values(["option_id", "year"], kind="stable").index)

    def row(self, model: Model, x: np.ndarray) -> dict[str, float]:
        """Exposure (the objective's aggregate and per mineral), share of supply (the aggregate), shortfall (total and
        per mineral) and JV capacity built, as the tables define them."""
        measured = measures(model, x)
        short = clean(x[self.short_cols])
        out = {"exposure_pct": aggregate_dependence(model, measured.exposure_pct),
               "share_of_supply_pct": aggregate_dependence(model, measured.share_of_supply_pct),
               "shortfall_t": series_sum(short)}
        out.update({f"exposure_{m}_pct": v for m, v in mineral_shares(model, measured.exposure_pct).items()})
        out.update({f"shortfall_{m}_t": v for m, v in self.minerals.sums(short).items()})
        out["jv_capacity_tpy"] = self.built_capacity(x)
        return out

    def built_capacity(self, x: np.ndarray) -> float:
        """Σ ``build_table``'s capacity column: builds in its order, those above zero."""
        if not len(self.build_order):
            return 0.0
        size = clean(x[self.build_cols])[self.build_order]
        return series_sum(size[size > 0])
