"""A sweep row's sums from numpy are pandas' sums to the last bit: ``series_sum`` is ``Series.sum`` and
``Groups.sums`` is ``Series.groupby(keys).sum()``, on seeded values spread over many magnitudes (where the order of
additions shows in the last bits), with rows sorted by group and shuffled, NaN and infinite values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.analysis.metrics import Groups, series_sum


def _values(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.choice([1e-7, 0.1, 1.0, 3.3, 1e3, 1e8, 1e16], n) * rng.uniform(0, 1, n)


@pytest.mark.parametrize("rows", ["sorted", "shuffled"])
def test_group_sums_are_pandas_groupby_sums(rows):
    rng = np.random.default_rng(3 if rows == "sorted" else 4)
    names = np.array(["co", "ga", "ge", "li", "ni"])
    differ = 0
    for trial in range(300):
        n = int(rng.integers(1, 80))
        keys = names[rng.integers(0, int(rng.integers(1, 6)), n)]
        keys = np.sort(keys) if rows == "sorted" else keys
        values = _values(rng, n)
        if trial % 10 == 0:
            values[rng.integers(0, n)] = np.nan
        if trial % 25 == 1:
            values[rng.integers(0, n)] = np.inf
        expected = {k: float(v) for k, v in pd.Series(values).groupby(keys).sum().items()}
        got = Groups(keys).sums(values)
        assert list(got) == list(expected)
        assert all(got[k] == expected[k] or (np.isnan(got[k]) and np.isnan(expected[k])) for k in got), trial
        differ += any(got[k] != float(np.nansum(values[keys == k])) for k in got)
    assert differ  # the values are such that another order of additions would give other last bits


def test_series_sum_is_pandas_sum():
    rng = np.random.default_rng(5)
    for trial in range(200):
        values = _values(rng, int(rng.integers(0, 300)))
        if trial % 5 == 0 and len(values):
            values[rng.integers(0, len(values))] = np.nan
        assert series_sum(values) == float(pd.Series(values, dtype=float).sum())
    assert Groups(np.array([], dtype=object)).sums(np.zeros(0)) == {}
