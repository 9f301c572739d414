"""critmin's own copy of what a backend holds, to check every point a solver returns.

Each backend applies every edit (objective, bounds, added rows, coefficients, integrality) to a
:class:`SolvedModel` as well as to its solver, so a returned point ``x`` is checked against exactly the model that
was solved, and its objective is ``c·x`` of that model rather than the number the solver reports::

    col_lower - t <= x <= col_upper + t,   row_lower - t <= A x <= row_upper + t,   |x_j - round(x_j)| <= t_int

with ``t = FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL × scale`` (``scale``: the bound's size, and for a row the
size of its terms Σ|a_ij x_j|) and ``t_int = INTEGRALITY_TOL`` (``engine/solvers/base.py``).

Duals are checked against that point too (``dual_violation``, ``accept_duals``): with HiGHS's convention, for
``min c·x`` subject to ``L <= A x <= U``, ``l <= x <= u``, row duals ``y`` and reduced costs ``d = c − Aᵀy`` are
optimal duals of ``x`` when a positive multiplier sits on its lower bound and a negative one on its upper bound
(dual feasibility: none is on an infinite bound; complementary slackness: none is on a bound the point is off), and
then the dual objective ``Σ y_i·(L_i or U_i) + Σ d_j·(l_j or u_j)`` equals c·x. Duals that fail are dropped, with
the reason in ``extra['duals_refused']``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from engine.model.lp import CscMatrix, LinearProgram
from engine.solvers.base import (
    DUAL_ABS_TOL,
    DUAL_REL_TOL,
    FEASIBILITY_ABS_TOL,
    FEASIBILITY_REL_TOL,
    INTEGRALITY_TOL,
    Solution,
    Status,
)

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

    def priced(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Aᵀy for row duals ``y`` (model rows, then added rows) and the size of each column's terms Σ|a_ij y_i|."""
        m = self.matrix
        col_of = np.repeat(np.arange(m.shape[1]), np.diff(m.indptr))
        terms = m.data * np.asarray(y[: self.n_model_rows], dtype=float)[m.indices]
        aty = np.bincount(col_of, weights=terms, minlength=m.shape[1])
        size = np.bincount(col_of, weights=np.abs(terms), minlength=m.shape[1])
        for k, (cols, vals, _) in enumerate(self.extra):
            yk = float(y[self.n_model_rows + k])
            if yk != 0.0:
                aty += np.bincount(cols, weights=vals * yk, minlength=m.shape[1])
                size += np.bincount(cols, weights=np.abs(vals * yk), minlength=m.shape[1])
        return aty, size

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


def _feasibility_tol(lower: np.ndarray, upper: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Each value's feasibility tolerance, as ``_excess`` gives it: ``FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL ×``
    the larger of the size of its terms and of its bounds."""
    bound = np.maximum(np.where(np.isfinite(lower), np.abs(lower), 0.0),
                       np.where(np.isfinite(upper), np.abs(upper), 0.0))
    return FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL * np.maximum(size, bound)


def dual_violation(solved: SolvedModel, x: np.ndarray, row_dual: np.ndarray,
                   col_dual: np.ndarray) -> Violation | None:
    """The worst way the duals fail to be optimal duals of the point ``x`` of the solved model, or None. In order:

    1. each reported reduced cost ``col_dual_j`` is ``d_j = c_j − a_jᵀy``, within ``DUAL_ABS_TOL + DUAL_REL_TOL ×
       (|c_j| + Σ_i |a_ij y_i|)`` (that multiplier's tolerance; a row's is ``DUAL_ABS_TOL + DUAL_REL_TOL × max|c|``);
    2. dual feasibility: no multiplier beyond its tolerance prices an infinite bound (positive: the lower bound,
       negative: the upper one, a minimisation's signs: raising a lower bound costs);
    3. complementary slackness: each multiplier times the distance of the point from its bound, beyond the
       feasibility tolerance, is at most ``DUAL_ABS_TOL + DUAL_REL_TOL × Σ_j |c_j x_j|`` (LP money);
    4. the dual objective ``Σ y_i·b_i + Σ d_j·b_j`` (each multiplier's bound; the activity where the multiplier is
       within its tolerance) equals c·x within ``Σ |multiplier| × its feasibility tolerance + DUAL_ABS_TOL +
       DUAL_REL_TOL ×`` the size of all the terms.
    """
    y, reported = np.asarray(row_dual, dtype=float), np.asarray(col_dual, dtype=float)
    n_rows, n_cols = len(solved.row_lower), len(solved.col_lower)
    if y.shape != (n_rows,) or reported.shape != (n_cols,):
        return Violation(f"duals of {y.size} rows and {reported.size} columns for a model of {n_rows} rows and "
                         f"{n_cols} columns", float("inf"), 0.0)
    if not (np.isfinite(y).all() and np.isfinite(reported).all()):
        return Violation("a dual that is not a finite number", float("inf"), 0.0)
    cost = solved.cost
    aty, size = solved.priced(y)
    d = cost - aty
    col_tol = DUAL_ABS_TOL + DUAL_REL_TOL * (np.abs(cost) + size)
    off = np.abs(reported - d) / col_tol
    j = int(np.argmax(off)) if off.size else 0
    if off.size and off[j] > 1.0:
        return Violation(f"reduced cost of column {solved.lp.col_names()[j]} reported {reported[j]:.10g}, "
                         f"c − Aᵀy = {d[j]:.10g}", float(abs(reported[j] - d[j])), float(col_tol[j]))
    row_tol = np.full(n_rows, DUAL_ABS_TOL + DUAL_REL_TOL * float(np.abs(cost).max(initial=0.0)))
    act, act_size = solved.activities(x)
    scale = float(np.abs(cost * x).sum())
    slack_tol = DUAL_ABS_TOL + DUAL_REL_TOL * scale
    infeasible: Violation | None = None
    slack: Violation | None = None
    dual_obj, terms, allowed = 0.0, scale, 0.0
    for kind, m, tol, value, lower, upper, vsize in (
            ("row", y, row_tol, act, solved.row_lower, solved.row_upper, act_size),
            ("column", d, col_tol, x, solved.col_lower, solved.col_upper, np.abs(x))):
        priced = np.abs(m) > tol
        bound = np.where(m > 0, lower, upper)
        feas = _feasibility_tol(lower, upper, vsize)

        def name(k: int, kind: str = kind) -> str:
            return solved.row_name(k) if kind == "row" else solved.lp.col_names()[k]

        def where(k: int, m: np.ndarray = m, value: np.ndarray = value, lower: np.ndarray = lower,
                  upper: np.ndarray = upper) -> str:
            side = "lower" if m[k] > 0 else "upper"
            return (f"= {value[k]:.10g} in [{lower[k]:.10g}, {upper[k]:.10g}] with a dual of {m[k]:.10g} (its {side} "
                    f"bound)")

        unbounded = priced & ~np.isfinite(bound)
        if unbounded.any():
            k = int(np.flatnonzero(unbounded)[np.argmax((np.abs(m) / tol)[unbounded])])
            found = Violation(f"dual feasibility: {kind} {name(k)} {where(k)} prices an infinite bound",
                              float(abs(m[k])), float(tol[k]))
            if infeasible is None or found.amount / found.tolerance > infeasible.amount / infeasible.tolerance:
                infeasible = found
        with np.errstate(invalid="ignore"):
            away = np.where(priced & np.isfinite(bound), np.maximum(np.abs(value - bound) - feas, 0.0), 0.0)
        product = np.abs(m) * away
        k = int(np.argmax(product)) if product.size else 0
        if product.size and product[k] > slack_tol and (slack is None or product[k] > slack.amount):
            slack = Violation(f"complementary slackness: {kind} {name(k)} {where(k)} is {away[k]:.6g} off that "
                              f"bound beyond its tolerance; dual × distance exceeds zero", float(product[k]), slack_tol)
        bound = np.where(priced & np.isfinite(bound), bound, value)  # within tolerance: no term
        dual_obj += float(m @ bound)
        terms += float(np.abs(m * bound).sum())
        allowed += float(np.abs(m[priced]) @ feas[priced])
    if infeasible is not None or slack is not None:
        return infeasible or slack
    primal = solved.objective(x)
    gap_tol = allowed + DUAL_ABS_TOL + DUAL_REL_TOL * terms
    if abs(primal - dual_obj) > gap_tol:
        return Violation(f"the dual objective {dual_obj:.10g} against c·x = {primal:.10g}", abs(primal - dual_obj),
                         gap_tol)
    return None


def accept_duals(solution: Solution, solved: SolvedModel, solver: str) -> Violation | None:
    """Check an accepted optimal answer's duals against its point (``dual_violation``); when they fail, drop them
    and say why in ``extra['duals_refused']``. Returns what they break, or None (also when there are no duals)."""
    if not solution.ok or solution.x is None or solution.row_dual is None or solution.col_dual is None:
        return None
    violation = dual_violation(solved, solution.x, solution.row_dual, solution.col_dual)
    if violation is not None:
        solution.extra["duals_refused"] = f"{solver}'s duals are not optimal duals of its point: {violation}"
        solution.extra["refused_duals"] = (solution.row_dual, solution.col_dual)
        solution.row_dual = solution.col_dual = None
    return violation


def rejected(solution: Solution, violation: Violation, solver: str) -> Solution:
    """The answer as an error: the solver called a point optimal that breaks the model."""
    note = f"{solver} returned a point that breaks {violation}"
    return Solution(status=Status.ERROR, seconds=solution.seconds, message=note, iterations=solution.iterations,
                    is_mip=solution.is_mip, rejected=[*solution.rejected, note], extra={"rejected_x": solution.x})
