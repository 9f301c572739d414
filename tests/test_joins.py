"""engine.model.joins equals the pandas operations it replaces, on random tables (and on hand-made corner cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.formulation.jv import online_pairs
from engine.model.joins import group_rows, match_rows, positions, sort_order
from engine.model.lp import assemble_csc


def random_table(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "scen": rng.integers(0, 4, n),
        "mineral": rng.choice(["li", "ni", "co", "ga", "ge"], n),
        "year": rng.integers(2025, 2031, n),
        "country": rng.choice(["CHN", "AUS", "IDN", "CHL", "COD", "USA", "ZZZ"], n),
    })


@pytest.mark.parametrize("seed", range(5))
def test_group_rows_equals_pandas_groupby(seed: int) -> None:
    keys = random_table(seed, 500)
    by = ["scen", "mineral", "year", "country"][: 2 + seed % 3]
    groups, codes = group_rows(keys, by)
    grouper = keys.groupby(by, sort=True, dropna=False)
    pd.testing.assert_frame_equal(groups, grouper.size().reset_index()[by], check_column_type=False)
    np.testing.assert_array_equal(codes, grouper.ngroup().to_numpy())


def test_group_rows_keeps_missing_values_as_their_own_group_last() -> None:
    keys = pd.DataFrame({"a": ["x", None, "x", "b"], "b": [1, 1, 1, 2]})
    groups, codes = group_rows(keys, ["a", "b"])
    assert groups["a"].tolist()[:2] == ["b", "x"] and pd.isna(groups["a"].iloc[2])
    assert codes.tolist() == [1, 2, 1, 0]


@pytest.mark.parametrize("seed", range(5))
def test_match_rows_equals_multiindex_lookup(seed: int) -> None:
    frame = random_table(seed, 400)
    keys = ["scen", "mineral", "country"]
    table = random_table(seed + 100, 60)
    table.loc[table.index[:3], "country"] = "NOWHERE"  # values the frame never has
    table = table.drop_duplicates(keys)
    expected = pd.MultiIndex.from_frame(table[keys]).get_indexer(pd.MultiIndex.from_frame(frame[keys]))
    np.testing.assert_array_equal(match_rows(frame, table, keys), expected)
    assert (expected >= 0).any() and (expected < 0).any()  # the test covers hits and misses


def test_match_rows_hand_made() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "a", "c"], "year": [2030, 2030, 2031, 2030]})
    table = pd.DataFrame({"id": ["a", "c", "d"], "year": [2031, 2030, 2030]})
    assert match_rows(frame, table, ["id", "year"]).tolist() == [-1, -1, 0, 1]
    assert match_rows(frame, table.iloc[:0], ["id", "year"]).tolist() == [-1, -1, -1, -1]


def test_positions() -> None:
    values = pd.Series(["ni", "li", "xx", "li", None])
    assert positions(values, ["li", "ni", "co"]).tolist() == [1, 0, -1, 0, -1]
    assert positions(np.array([3, 1, 3]), [1, 2, 3]).tolist() == [2, 0, 2]


def test_online_pairs_equals_join() -> None:
    rng = np.random.default_rng(3)
    build_option = np.sort(rng.integers(0, 6, 40))
    build_online = rng.integers(2026, 2036, 40)
    out_option = rng.integers(0, 7, 90)  # option 6 has no builds
    out_year = rng.integers(2025, 2037, 90)
    out_row, build_row = online_pairs(build_option, build_online, out_option, out_year)
    got = sorted(zip(out_row.tolist(), build_row.tolist(), strict=True))
    expected = sorted((i, j) for i in range(90) for j in range(40)
                      if build_option[j] == out_option[i] and build_online[j] <= out_year[i])
    assert got == expected and len(expected) > 50


def test_assemble_csc_sums_duplicates_drops_zeros_and_sorts() -> None:
    rows = np.array([2, 0, 1, 0, 2, 1])
    cols = np.array([0, 0, 1, 0, 2, 2])
    vals = np.array([1.0, 2.0, 0.0, 3.0, 4.0, 5.0])
    m = assemble_csc(rows, cols, vals, (3, 4))
    assert m.indptr.tolist() == [0, 2, 2, 4, 4]
    assert m.indices.tolist() == [0, 2, 1, 2]
    assert m.data.tolist() == [5.0, 1.0, 5.0, 4.0]


@pytest.mark.parametrize("seed", range(4))
def test_sort_order_equals_lexsort(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    keys = [rng.integers(0, 4, n), rng.integers(0, 6, n), rng.integers(2025, 2031, n), rng.random(n) < 0.5,
            rng.integers(0, 50, n)][: 2 + seed]
    expected = np.lexsort(keys[::-1])  # lexsort: the last key is the primary one
    np.testing.assert_array_equal(sort_order(keys), expected)


def test_sort_order_keeps_ties_in_row_order_and_falls_back_beyond_int64() -> None:
    keys = [np.array([1, 0, 1, 0]), np.array([True, True, True, True])]
    assert sort_order(keys).tolist() == [1, 3, 0, 2]  # stable: equal keys keep their row order
    wide = [np.array([2**40, 0, 2**40]), np.array([2**40, 5, 3])]  # 2^80 combinations: lexsort instead
    assert sort_order(wide).tolist() == [1, 2, 0]
    assert sort_order([np.zeros(0, dtype=np.int64)]).tolist() == []


def test_row_block_int32_indices_give_the_int64_matrix_beyond_int32_keys() -> None:
    """Row blocks keep their non-zero indices as int32; column × rows then exceeds 2^31 and the matrix must still
    be the one assembled from the int64 triplets."""
    from engine.model.lp import LinearProgram

    rng = np.random.default_rng(5)
    n_cols, n_rows, nnz = 60_000, 50_000, 4_000
    lp = LinearProgram()
    lp.add_variables("x", pd.DataFrame({"i": np.arange(n_cols)}))
    rows, cols, vals = rng.integers(0, n_rows, nnz), rng.integers(0, n_cols, nnz), rng.normal(size=nnz)
    block = lp.add_constraints("r", pd.DataFrame({"i": np.arange(n_rows)}), rows, cols, vals, upper=1.0)
    assert block.rows.dtype == np.int32 and block.cols.dtype == np.int32
    assert (n_cols - 1) * n_rows > 2**31
    got, expected = lp.matrix(), assemble_csc(rows, cols, vals, (n_rows, n_cols))
    for part in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(got, part), getattr(expected, part))


@pytest.mark.parametrize("seed", range(5))
def test_group_rows_of_chosen_rows_equals_grouping_those_rows(seed: int) -> None:
    keys = random_table(seed, 500)
    if seed % 2:
        keys.loc[keys.index[::7], "country"] = None  # missing values: their own group, last
    keys["country"] = keys["country"].astype("str")
    rows = np.flatnonzero(np.random.default_rng(seed).random(500) < 0.4)
    by = ["scen", "mineral", "year", "country"][1 + seed % 3:]
    groups, codes = group_rows(keys, by, rows)
    expected_groups, expected_codes = group_rows(keys.iloc[rows].reset_index(drop=True), by)
    pd.testing.assert_frame_equal(groups, expected_groups)
    np.testing.assert_array_equal(codes, expected_codes)
    grouper = keys.iloc[rows].groupby(by, sort=True, dropna=False)
    np.testing.assert_array_equal(codes, grouper.ngroup().to_numpy())
