"""critmin's own copy of what a backend holds, to check every point a solver returns.

Each backend applies every edit (objective, bounds, added rows, coefficients, integrality) to a
:class:`SolvedModel` as well as to its solver, so a returned point ``x`` is checked against exactly the model that
was solved, and its objective is ``c·x`` of that model rather than the number the solver reports::

    col_lower - t <= x <= col_upper + t,   row_lower - t <= A x <= row_upper + t,   |x_j - round(x_j)| <= t_int

with ``t = FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL × scale`` (``scale``: the bound's size, and for a row the
size of its terms Σ|a_ij x_j|) and ``t_int = INTEGRALITY_TOL`` (``engine/solvers/base.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.model.lp import CscMatrix, LinearProgram
from engine.solvers.base import FEASIBILITY_ABS_TOL, FEASIBILITY_REL_TOL, INTEGRALITY_TOL, Solution, Status

if TYPE_CHECKING:  # scipy only for a coefficient edit and ``to_scipy`` (importing it costs 0.05 s on a cold start)
    import scipy.sparse


@dataclass
class Violation:
    """The worst way a point breaks the model: which bound or row, by how much, against which tolerance."""

    what: str
    amount: float
    tolerance: float

    def __str__(self) -> str:
        return f"{self.what} by {self.amount:.3g} (tolerance {self.tolerance:.3g})"


class SolvedModel:
    """Bounds, rows, objective and integrality of the model a backend holds, in the model's own order."""

    def __init__(self, lp: LinearProgram) -> None:
        self.lp = lp
        self.col_lower = lp.col_lower.astype(float).copy()
        self.col_upper = lp.col_upper.astype(float).copy()
        self.row_lower = lp.row_lower.astype(float).copy()
        self.row_upper = lp.row_upper.astype(float).copy()
        # the model's own CSC arrays, shared rather than copied (a CSR copy held 12 bytes per non-zero more for
        # the whole run); A x sums each row's terms in the same column order either way, to the same bits
        self.matrix: CscMatrix = lp.matrix()
        self.n_model_rows = lp.n_rows
        self.extra: list[tuple[np.ndarray, np.ndarray, str]] = []  # rows added after loading: cols, vals, name
        self.cost = np.zeros(lp.n_cols)
        self.integer = np.zeros(lp.n_cols, dtype=bool)
        self.integer[lp.integer_cols] = True

    # ---------------------------------------------------------------- edits (mirroring the backend's)
    def set_objective(self, cost: np.ndarray) -> None:
        self.cost = np.asarray(cost, dtype=float).copy()

    def add_row(self, cols: np.ndarray, vals: np.ndarray, lower: float, upper: float, name: str) -> int:
        self.extra.append((np.asarray(cols, dtype=np.int64).copy(), np.asarray(vals, dtype=float).copy(), name))
        self.row_lower = np.append(self.row_lower, float(lower))
        self.row_upper = np.append(self.row_upper, float(upper))
        return len(self.row_lower) - 1

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.row_lower[rows] = lower
        self.row_upper[rows] = upper

    def set_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int64)
        self.col_lower[cols] = lower
        self.col_upper[cols] = upper

    def set_integrality(self, cols: np.ndarray, integer: bool) -> None:
        self.integer[np.asarray(cols, dtype=np.int64)] = integer

    def set_row_coefficients(self, row: int, cols: np.ndarray, vals: np.ndarray) -> None:
        cols, vals = np.asarray(cols, dtype=np.int64), np.asarray(vals, dtype=float)
        if row >= self.n_model_rows:
            old_cols, old_vals, name = self.extra[row - self.n_model_rows]
            entries = dict(zip(old_cols.tolist(), old_vals.tolist(), strict=True))
            entries.update(zip(cols.tolist(), vals.tolist(), strict=True))
            kept = sorted(c for c, v in entries.items() if v != 0.0)
            self.extra[row - self.n_model_rows] = (np.array(kept, dtype=np.int64),
                                                   np.array([entries[c] for c in kept]), name)
            return
        lil = self.matrix.to_scipy().tolil()
        lil[row, cols] = vals
        edited = lil.tocsc()
        edited.eliminate_zeros()
        self.matrix = CscMatrix(edited.indptr, edited.indices, edited.data, self.matrix.shape)

    # ---------------------------------------------------------------- reading a point
    def objective(self, x: np.ndarray) -> float:
        """c·x of the loaded objective."""
        return float(self.cost @ x)

    def activities(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row activities A x and the size of each row's terms Σ|a_ij x_j| (model rows, then added rows)."""
        terms = self.matrix.terms(x)
        act = self._with_extra(self.matrix.row_sums(terms), x)
        size = self.matrix.row_sums(np.abs(terms, out=terms))  # |a_ij x_j| = |a_ij| |x_j|, to the bit
        if self.extra:
            size = np.concatenate([size, [float(np.abs(v) @ np.abs(x[c])) for c, v, _ in self.extra]])
        return act, size

    def row_activity(self, x: np.ndarray) -> np.ndarray:
        """Row activities A x (model rows, then added rows): ``activities`` without the sizes."""
        return self._with_extra(self.matrix.row_sums(self.matrix.terms(x)), x)

    def _with_extra(self, act: np.ndarray, x: np.ndarray) -> np.ndarray:
        if self.extra:
            act = np.concatenate([act, [float(v @ x[c]) for c, v, _ in self.extra]])
        return act

    def violation(self, x: np.ndarray) -> Violation | None:
        """The worst bound, row or integrality the point breaks beyond its tolerance, or None."""
        worst: Violation | None = None
        excess = _excess(x, self.col_lower, self.col_upper, lambda: np.abs(x))
        if excess is not None:
            j, amount, tol = excess
            worst = Violation(f"column {self.lp.col_names()[j]} = {x[j]:.10g} outside "
                              f"[{self.col_lower[j]:.10g}, {self.col_upper[j]:.10g}]", amount, tol)
        act = self.row_activity(x)
        excess = _excess(act, self.row_lower, self.row_upper, lambda: self.activities(x)[1])
        if excess is not None and (worst is None or excess[1] / excess[2] > worst.amount / worst.tolerance):
            i, amount, tol = excess
            worst = Violation(f"row {self.row_name(i)} = {act[i]:.10g} outside "
                              f"[{self.row_lower[i]:.10g}, {self.row_upper[i]:.10g}]", amount, tol)
        if self.integer.any():
            off = np.abs(x[self.integer] - np.round(x[self.integer]))
            k = int(np.argmax(off))
            worse = worst is None or off[k] / INTEGRALITY_TOL > worst.amount / worst.tolerance
            if off[k] > INTEGRALITY_TOL and worse:
                j = int(np.flatnonzero(self.integer)[k])
                worst = Violation(f"integer column {self.lp.col_names()[j]} = {x[j]:.10g}", float(off[k]),
                                  INTEGRALITY_TOL)
        return worst

    def row_name(self, i: int) -> str:
        if i >= self.n_model_rows:
            return self.extra[i - self.n_model_rows][2]
        return self.lp.row_names()[i]

    def clean(self, x: np.ndarray) -> np.ndarray:
        """The point with its integer columns rounded to the integers they are within tolerance of."""
        if not self.integer.any():
            return x
        x = x.copy()
        x[self.integer] = np.round(x[self.integer])
        return x

    def to_scipy(self) -> scipy.sparse.csr_matrix:
        """The full matrix as loaded and edited (model rows, then added rows)."""
        import scipy.sparse

        matrix = self.matrix.to_scipy()
        if not self.extra:
            return matrix.tocsr()
        rows = [scipy.sparse.csr_matrix((v, (np.zeros(len(c), dtype=np.int64), c)), shape=(1, matrix.shape[1]))
                for c, v, _ in self.extra]
        return scipy.sparse.vstack([matrix, *rows], format="csr")


def _excess(values: np.ndarray, lower: np.ndarray, upper: np.ndarray,
            size_of: Callable[[], np.ndarray]) -> tuple[int, float, float] | None:
    """Index, amount and tolerance of the value furthest outside its bounds relative to its tolerance, or None.
    ``size_of()`` gives the size of each value's terms; it is computed only when some value is beyond its bounds by
    more than ``FEASIBILITY_ABS_TOL``, the least tolerance any value gets (so no other value can break its own)."""
    with np.errstate(invalid="ignore"):
        if not (np.maximum(lower - values, values - upper) > FEASIBILITY_ABS_TOL).any():
            return None
        size = size_of()
        below = np.where(np.isfinite(lower), lower - values, 0.0)
        above = np.where(np.isfinite(upper), values - upper, 0.0)
    amount = np.maximum(np.maximum(below, above), 0.0)
    bound = np.maximum(np.where(np.isfinite(lower), np.abs(lower), 0.0),
                       np.where(np.isfinite(upper), np.abs(upper), 0.0))
    tol = FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL * np.maximum(size, bound)
    ratio = amount / tol
    if not ratio.size:
        return None
    i = int(np.argmax(ratio))
    return (i, float(amount[i]), float(tol[i])) if ratio[i] > 1.0 else None


def accept(solution: Solution, solved: SolvedModel) -> Violation | None:
    """Check an optimal answer's point against the solved model. When it holds, round its integer columns (unless
    that breaks a row: then ``extra['fractional']`` is set and the point kept) and set its objective to c·x (the
    solver's own figure is kept in ``extra['solver_objective']``); else return what it breaks and leave the answer
    as it was."""
    if not solution.ok or solution.x is None:
        return None
    violation = solved.violation(solution.x)
    if violation is not None:
        return violation
    rounded = solved.clean(solution.x)
    if rounded is not solution.x and solved.violation(rounded) is not None:
        solution.extra["fractional"] = True  # rounding its integers breaks a row (a big-M one): the caller polishes
    else:
        solution.x = rounded
    if solution.objective is not None:
        solution.extra["solver_objective"] = solution.objective
    solution.objective = solved.objective(solution.x)
    return None


def rejected(solution: Solution, violation: Violation, solver: str) -> Solution:
    """The answer as an error: the solver called a point optimal that breaks the model."""
    note = f"{solver} returned a point that breaks {violation}"
    return Solution(status=Status.ERROR, seconds=solution.seconds, message=note, iterations=solution.iterations,
                    is_mip=solution.is_mip, rejected=[*solution.rejected, note], extra={"rejected_x": solution.x})
