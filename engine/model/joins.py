"""Fast joins and group-bys over the model's tables, by integer codes instead of hashed tuples.

The formulation works on tables with one row per LP column (hundreds of thousands of rows at benchmark sizes).
Hashing their string keys row by row (``MultiIndex.from_frame``, ``Index.get_indexer`` on strings,
``groupby(...).ngroup()``) dominated the build. Here each key column is factorised once (pandas hashes only
its distinct values cheaply), the codes are combined into one int64 per row, and everything else is integer
arithmetic. Results equal the pandas operations they replace; ``tests/test_joins.py`` checks that on random
tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_RADIX_LIMIT = 2**62  # combined codes beyond this could overflow int64: fall back to pandas


def positions(values: pd.Series | np.ndarray, labels: pd.Index | np.ndarray | list) -> np.ndarray:
    """The position of each value in ``labels`` (-1 when absent); like ``Index(labels).get_indexer(values)``
    but hashing only the distinct values."""
    if _integers(values) and _integers(labels):  # numbers: by sorting, without hashing
        found = _sorted_positions(np.asarray(values, dtype=np.int64), np.asarray(labels, dtype=np.int64))
        if found is not None:
            return found
    codes, uniques = pd.factorize(np.asarray(values) if isinstance(values, list) else values)
    where = pd.Index(labels).get_indexer(uniques)
    found = np.where(codes >= 0, where[np.maximum(codes, 0)], -1)
    return found.astype(np.int64, copy=False)


def _integers(values: object) -> bool:
    return isinstance(values, (np.ndarray, pd.Series, pd.Index)) and isinstance(values.dtype, np.dtype) \
        and values.dtype.kind == "i"


def _sorted_positions(values: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """``positions`` of integers by a binary search in the sorted labels (None when labels repeat: pandas then
    raises its own error)."""
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    if len(ordered) > 1 and (ordered[1:] == ordered[:-1]).any():
        return None
    if not len(ordered):
        return np.full(len(values), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    return np.where(ordered[at] == values, order[at], -1).astype(np.int64)


class _Codes:
    """Each row's key tuple as one int64 (mixed radix over the factorised key columns, each sorted), so codes
    are equal exactly when the keys are, and ordered like the key tuples. ``ok`` is False when the codes
    could overflow."""

    def __init__(self, frame: pd.DataFrame, keys: list[str], rows: np.ndarray | None = None) -> None:
        self.combined = np.zeros(len(frame) if rows is None else len(rows), dtype=np.int64)
        self.uniques: list[pd.Index] = []
        self.radix = 1
        self.ok = True
        for key in keys:
            codes, uniques = pd.factorize(frame[key], sort=True, use_na_sentinel=False)
            if rows is not None:  # the rows' codes among all the column's values: ordered as the rows' own values
                codes = codes[rows]
            size = max(len(uniques), 1)
            self.radix *= size
            if self.radix > _RADIX_LIMIT:
                self.ok = False
                return
            self.combined = self.combined * size + codes
            self.uniques.append(uniques)

    def decode(self, codes: np.ndarray, keys: list[str]) -> pd.DataFrame:
        """The key columns of the given combined codes."""
        columns = {}
        rest = codes
        for key, uniques in zip(reversed(keys), reversed(self.uniques), strict=True):
            columns[key] = uniques.take(rest % len(uniques))
            rest = rest // len(uniques)
        return pd.DataFrame({key: columns[key] for key in keys})


def match_rows(frame: pd.DataFrame, table: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """For each row of ``frame``, the position of the row of ``table`` with the same ``keys`` (-1 when none).
    ``table`` must have unique keys; it is usually small, ``frame`` large: only ``frame``'s key columns are
    factorised, and ``table``'s values are looked up among their distinct values."""
    if table.empty or frame.empty:
        return np.full(len(frame), -1, dtype=np.int64)
    frame_code = np.zeros(len(frame), dtype=np.int64)
    table_code = np.zeros(len(table), dtype=np.int64)
    radix = 1
    for key in keys:
        codes, uniques = pd.factorize(frame[key])
        size = len(uniques) + 1  # code len(uniques) for missing values, which match nothing
        radix *= size
        if radix > _RADIX_LIMIT:
            index = pd.MultiIndex.from_frame(table[keys])
            return index.get_indexer(pd.MultiIndex.from_frame(frame[keys])).astype(np.int64)
        in_frame = pd.Index(uniques).get_indexer(table[key])
        frame_code = frame_code * size + np.where(codes >= 0, codes, size - 1)
        table_code = table_code * size + np.where(in_frame >= 0, in_frame, -radix)  # never equal to a frame code
    found = table_code >= 0
    if radix <= 4 * (len(frame) + len(table)):
        lookup = np.full(radix, -1, dtype=np.int64)
        lookup[table_code[found]] = np.flatnonzero(found)
        return lookup[frame_code]
    return pd.Index(np.where(found, table_code, -1)).get_indexer(frame_code).astype(np.int64)


def group_rows(keys: pd.DataFrame, by: list[str], rows: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Group the rows of ``keys`` by columns ``by``: (one row per group, the group number of each input row).
    ``rows``: group only the rows at these positions, as ``group_rows(keys.iloc[rows], by)`` would, without
    gathering their values first (a take of a string column copies every string: 20 ms for 270,000 rows).

    The workhorse of the vectorised formulation: a constraint family is a group-by over a variable table.
    Groups are numbered in sorted key order (missing values last), as ``groupby(by, sort=True, dropna=False)``.
    """
    codes = _Codes(keys, by, rows)
    if not codes.ok or not len(codes.combined):
        chosen = keys if rows is None else keys.iloc[rows]
        grouper = chosen.groupby(by, sort=True, dropna=False, observed=True)
        return grouper.size().reset_index()[by], grouper.ngroup().to_numpy(dtype=np.int64)
    combined = codes.combined
    if codes.radix <= 8 * len(combined):  # dense: count instead of sorting
        present = np.bincount(combined, minlength=codes.radix) > 0
        unique = np.flatnonzero(present)
        group_of = (np.cumsum(present) - 1)[combined]
    else:
        unique, group_of = np.unique(combined, return_inverse=True)
    return codes.decode(unique, by), group_of.astype(np.int64)


def sort_key(keys: list[np.ndarray]) -> np.ndarray | None:
    """The keys (outermost first), each an array of non-negative integers or booleans, combined into one int64
    per row that orders as they do (``np.lexsort(keys[::-1])``); None where the combination would not fit."""
    combined = np.zeros(len(keys[0]) if keys else 0, dtype=np.int64)
    radix = 1
    for key in keys:
        key = np.asarray(key).astype(np.int64)
        size = int(key.max()) + 1 if len(key) else 1
        radix *= size
        if radix > _RADIX_LIMIT or (len(key) and key.min() < 0):
            return None
        combined *= size
        combined += key
    return combined


def sort_order(keys: list[np.ndarray]) -> np.ndarray:
    """The stable order that sorts rows by ``keys`` (outermost first), each an array of non-negative integers or
    booleans: ``np.lexsort(keys[::-1])``, by one stable argsort of the keys combined into one int64 where they
    fit (fewer passes over the rows)."""
    if not keys or not len(keys[0]):
        return np.arange(len(keys[0]) if keys else 0, dtype=np.int64)
    combined = sort_key(keys)
    if combined is None:
        return np.lexsort(keys[::-1])
    return np.argsort(combined, kind="stable")


def group_codes(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """For rows keyed by ``keys`` (as ``sort_key`` takes them): each distinct key's first row, in key order, and each
    row's group (its key's rank among the distinct keys)."""
    combined = sort_key(keys)
    if combined is None:
        combined = np.unique(np.column_stack(keys), axis=0, return_inverse=True)[1].ravel()
    _, first, group = np.unique(combined, return_index=True, return_inverse=True)
    return first, group.ravel().astype(np.int64)


def taken(series: pd.Series, rows: np.ndarray | None) -> np.ndarray | pd.api.extensions.ExtensionArray | pd.Series:
    """The values of ``series`` at positions ``rows`` (all when None) in the series' dtype, ready for
    ``pd.DataFrame({...})`` (strings stay strings; an object column is returned as a series, which the constructor
    keeps as objects)."""
    if series.dtype == object:
        return pd.Series(series.to_numpy() if rows is None else series.to_numpy()[rows], dtype=object)
    if isinstance(series.dtype, np.dtype):
        return series.to_numpy() if rows is None else series.to_numpy()[rows]
    return series.array if rows is None else series.array.take(rows)


def columns_frame(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``frame[names].reset_index(drop=True)``, built from the columns' arrays (pandas' own selection of columns
    costs about a millisecond on the wide attribute tables). The arrays are shared, not copied (pandas copies on
    write): a block's keys cost no memory beside the table they come from (15 MB at 1.1M non-zeros)."""
    return pd.DataFrame({name: taken(frame[name], None) for name in names}, copy=False)


def tiled(values: np.ndarray | pd.api.extensions.ExtensionArray | pd.Series,
          times: int) -> np.ndarray | pd.api.extensions.ExtensionArray | pd.Series:
    """``values`` (as ``taken`` returns them) repeated ``times`` times end to end, in their dtype; strings by
    concatenation, which shares their buffers (one Arrow chunk per repeat) where a take would copy them."""
    if isinstance(values, np.ndarray):
        return np.tile(values, times)
    if times == 1:
        return values
    if isinstance(values, pd.Series):
        return pd.concat([values] * times, ignore_index=True)
    return pd.concat([pd.Series(values, copy=False)] * times, ignore_index=True).array


def strings(value: str, n: int) -> pd.api.extensions.ExtensionArray:
    """``n`` copies of ``value`` as an array of the string dtype pandas gives a column set to a string (``pd.Series(
    value, index=range(n), dtype="str").array``). Where that is an Arrow array, it is made from its two buffers (the
    offsets and the text repeated) instead of pandas' take of a one-string array: 1.6 ms against 4.7 ms for the
    311,000 deliveries of the large benchmark."""
    one = pd.Series(value, index=range(1), dtype="str").array
    arrow = getattr(one, "_pa_array", None)
    if arrow is None or arrow.type not in (_pa().large_string(), _pa().string()):
        return pd.Series(value, index=range(n), dtype="str").array
    pa = _pa()
    data = value.encode("utf-8")
    large = arrow.type == pa.large_string()
    offsets = np.arange(n + 1, dtype=np.int64 if large else np.int32) * len(data)
    kind = pa.LargeStringArray if large else pa.StringArray
    return pd.array(kind.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n)), dtype=one.dtype)


def _pa() -> object:
    import pyarrow

    return pyarrow


def end_to_end(parts: list) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Columns' values (Series, or arrays as ``taken`` gives them) end to end, in the dtype pandas' concat of the
    columns gives: numpy's concatenate where they share a numpy dtype (no copy of each part into a frame first),
    pandas' concat otherwise."""
    series = [part if isinstance(part, pd.Series) else pd.Series(part, copy=False) for part in parts]
    if len({s.dtype for s in series}) == 1 and isinstance(series[0].dtype, np.dtype):
        return np.concatenate([s.to_numpy() for s in series])
    return pd.concat(series, ignore_index=True).array if len(series) > 1 else series[0].array
