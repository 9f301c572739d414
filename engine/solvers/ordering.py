"""The order in which the HiGHS backend hands columns and rows to the solver: scenario innermost.

critmin builds a stochastic model scenario by scenario (every block's rows for scenario 0, then scenario 1, …).
The simplex runs faster when the copies of one source, option or balance across scenarios sit next to each
other: on the 1.1M-non-zero benchmark LP, the same problem with the scenario as the fastest-varying index took
63-64 µs per iteration against 71-73 µs (2.90 s against 3.19-3.30 s, two rounds, in one process; 150k
non-zeros: 0.19-0.20 s against 0.21-0.25 s). The model keeps its own order; only the backend permutes, and maps
every index and every value it hands back. A model without several scenarios keeps the identity order.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from engine.model.lp import CscMatrix, LinearProgram


def _scenario_innermost(blocks: Iterable, n: int) -> np.ndarray | None:
    """Positions ``order`` (solver slot k holds model index ``order[k]``) with each block's rows reordered by
    (rank within its scenario, scenario); None when no block spans two scenarios."""
    order = None
    for block in blocks:
        if "scen" not in block.keys.columns or len(block) < 2:
            continue
        scen, codes = _unique(block.keys["scen"].to_numpy())
        if len(scen) < 2:
            continue
        counts = np.bincount(codes)
        small = codes.astype(np.int16) if len(scen) < 2**15 else codes  # small integers sort by radix
        by_scen = np.argsort(small, kind="stable")
        rank = np.empty(len(codes), dtype=np.int64)
        rank[by_scen] = np.arange(len(codes)) - np.repeat(np.cumsum(counts) - counts, counts)
        if order is None:
            order = np.arange(n, dtype=np.int64)
        # by (rank, scenario): the pairs are unique, so one sort of rank × scenarios + scenario orders them
        rank *= len(scen)
        rank += codes
        order[block.start:block.start + len(block)] = block.start + np.argsort(rank, kind="stable")
    return order


def _unique(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``; scenario numbers (small non-negative integers) by counting, not
    sorting."""
    if values.dtype.kind == "i" and len(values) and values.min() >= 0 and values.max() < 2**20:
        present = np.bincount(values) > 0
        return np.flatnonzero(present).astype(values.dtype), (np.cumsum(present) - 1)[values]
    return np.unique(values, return_inverse=True)


def _through(table: np.ndarray | None, index: np.ndarray, n_loaded: int | None = None) -> np.ndarray:
    """``table[index]`` (``index`` as is without a table); indices at or past ``n_loaded`` (rows added after
    loading) pass unchanged."""
    index = np.asarray(index, dtype=np.int64)
    if table is None:
        return index
    if n_loaded is None:
        return table[index]
    loaded = index < n_loaded
    return np.where(loaded, table[np.where(loaded, index, 0)], index)


def _inverse(order: np.ndarray) -> np.ndarray:
    pos = np.empty_like(order)
    pos[order] = np.arange(len(order), dtype=order.dtype)
    return pos


class SolverOrder:
    """Maps model indices to solver slots and solver values back to model order (rows added after loading,
    such as the hierarchy's level rows, keep their slots)."""

    def __init__(self, col_order: np.ndarray | None, row_order: np.ndarray | None, n_rows: int) -> None:
        self.col_order, self.row_order, self.n_rows = col_order, row_order, n_rows
        self.col_pos = None if col_order is None else _inverse(col_order)
        self.row_pos = None if row_order is None else _inverse(row_order)

    @classmethod
    def for_model(cls, lp: LinearProgram, scenario_innermost: bool = True) -> SolverOrder:
        if not scenario_innermost:
            return cls(None, None, lp.n_rows)
        return cls(_scenario_innermost(lp.variables.values(), lp.n_cols),
                   _scenario_innermost(lp.constraints.values(), lp.n_rows), lp.n_rows)

    @property
    def identity(self) -> bool:
        return self.col_order is None and self.row_order is None

    # model → solver
    def cols(self, cols: np.ndarray) -> np.ndarray:
        return _through(self.col_pos, cols)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        return _through(self.row_pos, rows, self.n_rows)

    def col_values(self, values: np.ndarray) -> np.ndarray:
        """A per-column array in model order, arranged for the solver."""
        return values if self.col_order is None else values[self.col_order]

    def row_values(self, values: np.ndarray) -> np.ndarray:
        return values if self.row_order is None else values[self.row_order]

    def matrix(self, a: CscMatrix) -> CscMatrix:
        """``a`` with its columns in solver order and its row indices mapped (rows unsorted within a column)."""
        if self.identity:
            return a
        indptr, indices, data = a.indptr, a.indices, a.data
        if self.col_order is not None:
            lengths = np.diff(indptr)[self.col_order]
            new_indptr = np.zeros(len(indptr), dtype=np.int64)
            np.cumsum(lengths, out=new_indptr[1:])
            take = np.arange(a.nnz, dtype=np.int64)
            take += np.repeat(indptr[:-1][self.col_order] - new_indptr[:-1], lengths)
            indptr, indices, data = new_indptr, indices[take], data[take]
        if self.row_pos is not None:
            indices = self.row_pos.astype(np.int32)[indices]
        return CscMatrix(indptr, indices, data, a.shape)

    # solver → model
    def model_cols(self, values: np.ndarray) -> np.ndarray:
        """Per-column solver values (primal values, reduced costs) in model order."""
        return values if self.col_pos is None else values[self.col_pos]

    def model_rows(self, values: np.ndarray) -> np.ndarray:
        """Per-row solver values (row duals) in model order; rows added after loading follow."""
        if self.row_pos is None:
            return values
        return np.concatenate([values[:self.n_rows][self.row_pos], values[self.n_rows:]])

    def model_row_index(self, slots: np.ndarray) -> np.ndarray:
        """Model row indices of solver row slots (an IIS, say)."""
        return _through(self.row_order, slots, self.n_rows)

    def model_col_index(self, slots: np.ndarray) -> np.ndarray:
        return _through(self.col_order, slots)
