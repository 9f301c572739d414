"""A solver-neutral linear program built from tables.

Variables come in named blocks; each block is a DataFrame of keys (one row per variable) with bounds.
Constraints come in named row blocks; each is a DataFrame of keys with lower/upper bounds and sparse-matrix
triplets. Objectives are named vectors over all columns. Nothing here knows about minerals: the formulation
modules fill it, the solver backends read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

INF = np.inf


@dataclass
class VariableBlock:
    """Variables ``start … start + len(keys) - 1`` sharing a name and key columns."""

    name: str
    keys: pd.DataFrame
    start: int
    lower: np.ndarray
    upper: np.ndarray
    integer: bool = False

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def cols(self) -> np.ndarray:
        """Global column indices of this block."""
        return np.arange(self.start, self.start + len(self.keys), dtype=np.int64)


@dataclass
class RowBlock:
    """Constraint rows ``start …`` of one family: ``lower <= A[rows] @ x <= upper``."""

    name: str
    keys: pd.DataFrame
    start: int
    lower: np.ndarray
    upper: np.ndarray
    rows: np.ndarray  # local row index of each non-zero (int32 when the indices fit)
    cols: np.ndarray  # global column index of each non-zero (int32 when the indices fit)
    vals: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def index(self) -> np.ndarray:
        """Global row indices of this block."""
        return np.arange(self.start, self.start + len(self.keys), dtype=np.int64)


@dataclass(frozen=True)
class CscMatrix:
    """A compressed-sparse-column matrix assembled with numpy alone (scipy costs 0.2 s to import on a cold
    start, and the HiGHS hand-off needs only these three arrays). ``to_scipy`` converts when a caller needs more."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return len(self.data)

    def column(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """(row indices, values) of column ``j``."""
        start, end = self.indptr[j], self.indptr[j + 1]
        return self.indices[start:end], self.data[start:end]

    def terms(self, x: np.ndarray) -> np.ndarray:
        """Each non-zero's term ``a_ij x_j``, in the matrix's (column-major) order."""
        return self.data * np.repeat(np.asarray(x, dtype=np.float64), np.diff(self.indptr))

    def row_sums(self, terms: np.ndarray) -> np.ndarray:
        """Each row's sum of ``terms`` (one per non-zero), added in column order: with ``terms(x)`` that is ``A x``
        to the bit of scipy's CSC product, which adds each column's terms into the rows in the same order."""
        return np.bincount(self.indices, weights=terms, minlength=self.shape[0])

    def to_scipy(self) -> scipy.sparse.csc_matrix:  # noqa: F821 - scipy is imported lazily
        import scipy.sparse as sp

        return sp.csc_matrix((self.data, self.indices, self.indptr), shape=self.shape)


def assemble_csc(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]) -> CscMatrix:
    """Triplets to CSC: explicit zeros dropped, duplicates summed, rows sorted within each column."""
    key = np.asarray(cols, dtype=np.int64).copy()  # key = column × n_rows + row, built in place
    key *= max(shape[0], 1)
    key += rows
    return csc_from_keys(key, np.asarray(vals, dtype=np.float64), shape)


def csc_from_keys(key: np.ndarray, vals: np.ndarray, shape: tuple[int, int]) -> CscMatrix:
    """CSC from each non-zero's ``column × n_rows + row`` (int64) and value: explicit zeros dropped, duplicates
    summed, rows sorted within each column. Few large temporaries: at a million non-zeros and more, a fresh
    array's first touch (page faults) costs more than the arithmetic on it."""
    keep = vals != 0.0
    if not keep.all():
        key, vals = key[keep], vals[keep]
    radix = max(shape[0], 1)
    order = np.argsort(key, kind="stable")  # stable: fast on the increasing runs that blocks produce
    key = key[order]
    data = vals[order]
    del order
    if np.any(key[1:] == key[:-1]):  # rare (a column entering a row twice): sum them
        starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
        data = np.add.reduceat(data, starts)
        key = key[starts]
    indptr = np.searchsorted(key, np.arange(shape[1] + 1, dtype=np.int64) * radix)  # first entry of each column
    np.remainder(key, radix, out=key)  # now the row of each entry
    return CscMatrix(indptr.astype(np.int64, copy=False), key.astype(np.int32), data, shape)


@dataclass
class LinearProgram:
    """Columns, rows and named objectives of one model."""

    variables: dict[str, VariableBlock] = field(default_factory=dict)
    constraints: dict[str, RowBlock] = field(default_factory=dict)
    _objective_terms: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    _extra_entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0
    _matrix: CscMatrix | None = field(default=None, repr=False)

    # ---------------------------------------------------------------------------------------- building
    def add_variables(self, name: str, keys: pd.DataFrame, lower: np.ndarray | float = 0.0,
                      upper: np.ndarray | float = INF, integer: bool = False) -> VariableBlock:
        """Add one column per row of ``keys``."""
        if name in self.variables:
            raise ValueError(f"variable block '{name}' exists already")
        n = len(keys)
        block = VariableBlock(
            name=name,
            keys=keys.reset_index(drop=True),
            start=self.n_cols,
            lower=np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy(),
            upper=np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy(),
            integer=integer,
        )
        self.variables[name] = block
        self.n_cols += n
        self._matrix = None
        return block

    def add_constraints(self, name: str, keys: pd.DataFrame, rows: np.ndarray, cols: np.ndarray,
                        vals: np.ndarray, lower: np.ndarray | float = -INF,
                        upper: np.ndarray | float = INF) -> RowBlock:
        """Add one row per row of ``keys`` with non-zeros ``(rows[k], cols[k]) = vals[k]`` (rows local)."""
        if name in self.constraints:
            raise ValueError(f"constraint block '{name}' exists already")
        n = len(keys)
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise ValueError(f"constraint block '{name}': row index out of range")
        block = RowBlock(
            name=name,
            keys=keys.reset_index(drop=True),
            start=self.n_rows,
            lower=np.broadcast_to(np.asarray(lower, dtype=float), (n,)).copy(),
            upper=np.broadcast_to(np.asarray(upper, dtype=float), (n,)).copy(),
            rows=_compact_index(rows, n),
            cols=_compact_index(np.asarray(cols, dtype=np.int64), self.n_cols),
            vals=np.asarray(vals, dtype=float),
        )
        self.constraints[name] = block
        self.n_rows += n
        self._matrix = None
        return block

    def add_entries(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        """Add non-zeros at global (row, column) positions: columns added after the rows they enter."""
        self._extra_entries.append((np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64),
                                    np.asarray(vals, dtype=float)))
        self._matrix = None

    def clear_objective(self, name: str) -> None:
        """Drop every term of a named objective (before replacing it)."""
        self._objective_terms.pop(name, None)

    def add_objective(self, name: str, cols: np.ndarray, vals: np.ndarray) -> None:
        """Add terms ``vals`` on columns ``cols`` to the named objective (terms on one column add up)."""
        self._objective_terms.setdefault(name, []).append(
            (np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=float))
        )

    # ---------------------------------------------------------------------------------------- reading
    def objective(self, name: str) -> np.ndarray:
        """The dense coefficient vector of a named objective (zeros if it has no terms); a fresh copy."""
        terms = self._objective_terms.get(name, [])
        if not terms:
            return np.zeros(self.n_cols)
        cols = np.concatenate([c for c, _ in terms])
        vals = np.concatenate([v for _, v in terms])
        return np.bincount(cols, weights=vals, minlength=self.n_cols)

    @property
    def objective_names(self) -> list[str]:
        return list(self._objective_terms)

    @property
    def col_lower(self) -> np.ndarray:
        return _concat([b.lower for b in self.variables.values()])

    @property
    def col_upper(self) -> np.ndarray:
        return _concat([b.upper for b in self.variables.values()])

    @property
    def row_lower(self) -> np.ndarray:
        return _concat([b.lower for b in self.constraints.values()])

    @property
    def row_upper(self) -> np.ndarray:
        return _concat([b.upper for b in self.constraints.values()])

    @property
    def integer_cols(self) -> np.ndarray:
        blocks = [b.cols for b in self.variables.values() if b.integer]
        return np.concatenate(blocks) if blocks else np.empty(0, dtype=np.int64)

    def matrix(self) -> CscMatrix:
        """The constraint matrix in compressed sparse column form (duplicates summed)."""
        if self._matrix is None:
            parts = [(b.rows, b.start, b.cols, b.vals) for b in self.constraints.values()]
            parts += [(r, 0, c, v) for r, c, v in self._extra_entries]
            total = sum(len(v) for *_, v in parts)
            key = np.empty(total, dtype=np.int64)  # column × n_rows + row, written block by block
            vals = np.empty(total, dtype=np.float64)
            radix = max(self.n_rows, 1)
            at = 0
            for part_rows, offset, part_cols, part_vals in parts:
                end = at + len(part_vals)
                out = key[at:end]
                np.multiply(part_cols, np.int64(radix), out=out)  # in int64 whatever the index type
                out += part_rows
                if offset:
                    out += offset
                vals[at:end] = part_vals
                at = end
            self._matrix = csc_from_keys(key, vals, (self.n_rows, self.n_cols))
        return self._matrix

    @property
    def nnz(self) -> int:
        return int(self.matrix().nnz)

    def col_names(self) -> list[str]:
        """Readable column names such as ``flow[CHN-LI-1,2030]`` (for LP/MPS files)."""
        return [name for b in self.variables.values() for name in _names(b.name, b.keys)]

    def row_names(self) -> list[str]:
        return [name for b in self.constraints.values() for name in _names(b.name, b.keys)]

    def describe(self) -> str:
        return f"{self.n_cols:,} columns, {self.n_rows:,} rows, {self.nnz:,} non-zeros"


def _compact_index(index: np.ndarray, size: int) -> np.ndarray:
    """Indices below ``size`` as int32 when ``size`` fits (half the memory of int64 for every non-zero kept)."""
    return index.astype(np.int32) if size < 2**31 else np.asarray(index, dtype=np.int64)


def _concat(parts: list[np.ndarray], dtype: type = float) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype=dtype)


def _names(prefix: str, keys: pd.DataFrame) -> list[str]:
    if keys.shape[1] == 0:
        return [f"{prefix}[{i}]" for i in range(len(keys))]
    text = keys.astype(str)
    joined = text.iloc[:, 0].str.cat(text.iloc[:, 1:], sep=",") if keys.shape[1] > 1 else text.iloc[:, 0]
    cleaned = joined.str.replace(r"[^A-Za-z0-9_.,+\-]", "_", regex=True)
    return (prefix + "[" + cleaned + "]").tolist()
