"""The default backend: HiGHS in-process through highspy, matrix handed over directly.

The ``Highs`` object is kept between solves, so edits (objective, added rows, bounds) re-solve warm from the
last basis. Status comes from HiGHS's own model status; a time limit or an interrupt is never "optimal".
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import highspy
import numpy as np

from engine.errors import SolverError
from engine.model.lp import LinearProgram
from engine.model.pages import ordinary_pages
from engine.solvers.base import SCALING, Ranging, Solution, SolverOptions, Status
from engine.solvers.check import SolvedModel, accept, accept_duals, rejected
from engine.solvers.interrupt import run_interruptibly
from engine.solvers.ordering import SolverOrder

_MS = highspy.HighsModelStatus
STATUS = {
    _MS.kOptimal: Status.OPTIMAL,
    _MS.kInfeasible: Status.INFEASIBLE,
    _MS.kUnbounded: Status.UNBOUNDED,
    _MS.kUnboundedOrInfeasible: Status.INFEASIBLE_OR_UNBOUNDED,
    _MS.kTimeLimit: Status.TIME_LIMIT,
    _MS.kIterationLimit: Status.TIME_LIMIT,
    _MS.kInterrupt: Status.INTERRUPTED,
    _MS.kHighsInterrupt: Status.INTERRUPTED,
    _MS.kModelEmpty: Status.OPTIMAL,
}


@contextlib.contextmanager
def stdout_silenced(active: bool) -> Iterator[None]:
    """Silence file descriptor 1 (HiGHS prints its banner from C++ when a solver object is created)."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(log: bool = False) -> highspy.Highs:
    """A Highs object that prints nothing unless ``log`` is set."""
    try:
        with stdout_silenced(not log):
            h = highspy.Highs()
    except OSError:  # no usable file descriptor 1 (embedded interpreters): accept the banner
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(log))
    h.setOptionValue("log_to_console", bool(log))
    return h


def presolve_for(options: SolverOptions, is_mip: bool) -> str:
    """HiGHS's presolve setting: as given, or for "auto" off for an LP and on for a MIP (a MIP keeps it on through
    its later fixed-integer LP re-solves too, so its results do not move)."""
    if options.presolve != "auto":
        return options.presolve
    return "on" if is_mip else "off"


def highs_settings(options: SolverOptions, is_mip: bool) -> dict[str, object]:
    """The HiGHS options this backend runs a model with that change its speed (the benchmark's limit uses them)."""
    settings: dict[str, object] = {"presolve": presolve_for(options, is_mip),
                                   "simplex_scale_strategy": SCALING[options.scaling]}
    if options.threads is not None:
        settings["threads"] = int(options.threads)
    return settings


def apply_highs_settings(h: highspy.Highs, is_mip: bool, options: SolverOptions | None = None) -> None:
    """Set the speed-relevant options this backend uses on a Highs object: the backend's own at load, and a bare
    one for the benchmark's limit, so both always run with the same options."""
    for name, value in highs_settings(options or SolverOptions(), is_mip).items():
        h.setOptionValue(name, value)


def _entries(index: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An edit's indices and bounds as arrays of one length (bounds may be given as scalars)."""
    index = np.asarray(index, dtype=np.int64)
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    return (index, lower if lower.ndim else np.full(index.shape, lower),
            upper if upper.ndim else np.full(index.shape, upper))


def _changed(*pairs: np.ndarray) -> np.ndarray:
    """Positions where any (before, after) pair of arrays differs, or position 0 when none does (and there is one).

    HiGHS sorts the entries of every edit it is given (about 130 µs to set the bounds of all 1,277 columns of the
    default model, 3 µs for eleven), so each edit hands it only the entries that change. At least one entry is
    always handed over: an edit HiGHS receives marks its solution as stale whatever the values, and a solve after
    it then runs exactly as after the full edit (an edit of no entries is ignored by HiGHS)."""
    differs = pairs[0] != pairs[1]
    for k in range(2, len(pairs), 2):
        differs |= pairs[k] != pairs[k + 1]
    at = np.flatnonzero(differs)
    return at if at.size or not len(differs) else np.zeros(1, dtype=np.int64)


def release_arrow_memory() -> None:
    """Give back to the system the memory Arrow's allocator kept from strings the build freed (pandas' str
    columns): HiGHS's allocations cannot reuse it, so it added to the peak of every solve (17 MB at 1.1M
    non-zeros; the call takes under a millisecond). pyarrow is not imported for it."""
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


class HighsBackend:
    """HiGHS through highspy; warm re-solves keep the solver object."""

    name = "highs"

    def __init__(self, options: SolverOptions | None = None) -> None:
        self.options = options or SolverOptions()
        self.h = new_highs(self.options.log)
        self.h.setOptionValue("random_seed", 0)
        if self.options.time_limit is not None:
            self.h.setOptionValue("time_limit", float(self.options.time_limit))
        self.h.setOptionValue("mip_rel_gap", float(self.options.mip_rel_gap))
        # below the slack the hierarchy leaves on fixed levels (solvers/base.py LEVEL_ABS_TOL) and the integrality
        # tolerance of the point check (INTEGRALITY_TOL)
        self.h.setOptionValue("mip_feasibility_tolerance", 1e-7)
        self.lp: LinearProgram | None = None
        self.solved: SolvedModel | None = None
        self.order = SolverOrder(None, None, 0)
        self.extra_rows: list[str] = []
        self.is_mip = False

    @property
    def version(self) -> str:
        return f"HiGHS {self.h.version()}"

    def load(self, lp: LinearProgram, order: SolverOrder | None = None, objective: np.ndarray | None = None) -> None:
        """Hand the model to HiGHS, columns and rows in solver order: ``order``, or by default the one the options
        ask for (``ordering.py``: scenario innermost). ``objective``, when given, goes with it: the same model as
        ``set_objective`` after loading, without HiGHS sorting the entries of that edit (40 ms for 311,000 costs)."""
        with ordinary_pages():
            self._load(lp, order, objective)

    def _load(self, lp: LinearProgram, order: SolverOrder | None, objective: np.ndarray | None) -> None:
        self.lp = lp
        self.solved = SolvedModel(lp)
        cost = np.zeros(lp.n_cols)
        if objective is not None:
            cost = np.asarray(objective, dtype=np.float64)
            self.solved.set_objective(cost)
        if order is None:
            order = SolverOrder.for_model(lp, self.options.scenario_innermost)
        self.order = order
        a = order.matrix(lp.matrix())
        integrality = np.zeros(lp.n_cols, dtype=np.int32)
        integer = lp.integer_cols
        integrality[order.cols(integer)] = 1
        self.is_mip = len(integer) > 0
        status = self.h.passModel(
            lp.n_cols, lp.n_rows, int(a.nnz), int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize), 0.0,
            order.col_values(cost), order.col_values(lp.col_lower), order.col_values(lp.col_upper),
            order.row_values(lp.row_lower), order.row_values(lp.row_upper),
            a.indptr.astype(np.int32, copy=False), a.indices, a.data,
            integrality,
        )
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the model (passModel returned an error)")
        apply_highs_settings(self.h, self.is_mip, self.options)  # presolve is decided by the model as loaded
        release_arrow_memory()


    def set_time_limit(self, seconds: float | None) -> None:
        self.h.setOptionValue("time_limit", float(seconds) if seconds is not None else float("inf"))

    def set_objective(self, cost: np.ndarray) -> None:
        cost = np.asarray(cost, dtype=np.float64)
        at = _changed(self.solved.cost, cost)
        self.solved.set_objective(cost)
        self.h.changeColsCost(len(at), self.order.cols(at).astype(np.int32), cost[at])

    def add_row(self, cols: np.ndarray, vals: np.ndarray, lower: float, upper: float, name: str) -> int:
        self.h.addRow(float(lower), float(upper), len(cols), self.order.cols(cols).astype(np.int32),
                      np.asarray(vals, dtype=np.float64))
        self.extra_rows.append(name)
        self.solved.add_row(cols, vals, lower, upper, name)
        return self.h.getNumRow() - 1

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows, lower, upper = _entries(rows, lower, upper)
        m = self.solved
        at = _changed(m.row_lower[rows], lower, m.row_upper[rows], upper)
        m.set_row_bounds(rows, lower, upper)
        self.h.changeRowsBounds(len(at), self.order.rows(rows[at]).astype(np.int32), lower[at], upper[at])

    def prefer_primal(self, primal: bool) -> None:
        """Primal simplex when the last basis stays primal feasible and only the objective changes (the later
        stages of the hierarchy), dual simplex otherwise (HiGHS's default)."""
        self.h.setOptionValue("simplex_strategy", 4 if primal else 1)

    def set_row_coefficients(self, row: int, cols: np.ndarray, vals: np.ndarray) -> None:
        """Set ``A[row, cols] = vals`` (zeros remove entries)."""
        self.solved.set_row_coefficients(row, cols, vals)
        slot = int(self.order.rows(np.array([row]))[0])
        for col, val in zip(self.order.cols(cols), np.asarray(vals, dtype=float), strict=True):
            self.h.changeCoeff(slot, int(col), float(val))

    def bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Column lower and upper bounds, row lower and upper bounds as they stand now, in model order (rows added
        with ``add_row`` last): copies of critmin's record of the model as solved (``check.SolvedModel``)."""
        m = self.solved
        return m.col_lower.copy(), m.col_upper.copy(), m.row_lower.copy(), m.row_upper.copy()

    def basis(self) -> highspy.HighsBasis | None:
        """The current basis (solver order), to start a later solve from with ``set_basis``; None if none is valid."""
        basis = self.h.getBasis()
        return basis if basis.valid else None

    def set_basis(self, basis: highspy.HighsBasis) -> None:
        """Start the next solve from ``basis`` (from ``basis()`` on this model, rows added since then excepted)."""
        self.h.setBasis(basis)

    def reset_basis(self) -> None:
        """Forget the basis and solution (the next solve starts cold, so results never depend on history)."""
        self.h.clearSolver()

    def set_integrality(self, cols: np.ndarray, integer: bool) -> None:
        """Make ``cols`` integer or continuous (to get LP duals of a MIP with its integers fixed)."""
        self.solved.set_integrality(cols, integer)
        cols = self.order.cols(cols).astype(np.int32)
        kinds = np.full(len(cols), 1 if integer else 0, dtype=np.uint8)
        self.h.changeColsIntegrality(len(cols), cols, kinds)
        self.is_mip = bool(integer and len(cols))

    def set_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols, lower, upper = _entries(cols, lower, upper)
        m = self.solved
        at = _changed(m.col_lower[cols], lower, m.col_upper[cols], upper)
        m.set_col_bounds(cols, lower, upper)
        self.h.changeColsBounds(len(at), self.order.cols(cols[at]).astype(np.int32), lower[at], upper[at])

    def solve(self, duals: bool = True) -> Solution:
        """Solve and check the point (``check.py``). A point that breaks the model is rejected and the model solved
        again from scratch; a second such point is a solver error. Duals that are not optimal duals of the point
        are dropped, with the reason in ``extra['duals_refused']`` (``check.accept_duals``)."""
        with ordinary_pages():
            return self._checked_solve(duals)

    def _checked_solve(self, duals: bool) -> Solution:
        solution = self._solve(duals)
        violation = accept(solution, self.solved)
        if violation is None:
            accept_duals(solution, self.solved, "HiGHS")
            return solution
        note = f"HiGHS returned a point that breaks {violation}; solved again from scratch"
        self.reset_basis()
        again = self._solve(duals)
        again.rejected = [*solution.rejected, note]
        again.seconds += solution.seconds
        violation = accept(again, self.solved)
        if violation is not None:
            return rejected(again, violation, "HiGHS")
        accept_duals(again, self.solved, "HiGHS")
        return again

    def _solve(self, duals: bool) -> Solution:
        start = time.perf_counter()
        run_status = run_interruptibly(self.h)
        seconds = time.perf_counter() - start
        model_status = self.h.getModelStatus()
        status = STATUS.get(model_status, Status.ERROR)
        message = self.h.modelStatusToString(model_status)
        if run_status == highspy.HighsStatus.kError and status is Status.OPTIMAL:
            status = Status.ERROR
        info = self.h.getInfo()
        solution = Solution(status=status, seconds=seconds, message=message, is_mip=self.is_mip,
                            iterations=int(info.simplex_iteration_count))
        if status is Status.OPTIMAL:
            sol = self.h.getSolution()
            solution.objective = float(info.objective_function_value)
            solution.x = self.order.model_cols(np.asarray(sol.col_value, dtype=float))
            if duals and sol.dual_valid:
                solution.row_dual = self.order.model_rows(np.asarray(sol.row_dual, dtype=float))
                solution.col_dual = self.order.model_cols(np.asarray(sol.col_dual, dtype=float))
        return solution

    def ranging(self) -> Ranging | str:
        """Bound ranging at the current optimal basis (``Ranging``), from HiGHS's ``getRanging``: its
        ``row_bound_up.value_`` is the row activity up to which the basis stays optimal, ``row_bound_dn.value_`` the
        activity down to which it does (likewise ``col_bound_*`` for column values). Returned as distances from the
        current activity ``a_i·x`` (value ``x_j``), in model order; a column's fall is capped at its lower bound.
        Only for an LP solved to optimality with a valid basis (the caller solves it just before); else why not."""
        if self.is_mip:
            return "not available for a MIP"
        if self.h.getModelStatus() != _MS.kOptimal or not self.h.getBasis().valid:
            return "not available: HiGHS holds no optimal basis of this LP"
        status, ranging = self.h.getRanging()
        if status != highspy.HighsStatus.kOk or not ranging.valid:
            return f"not available: HiGHS returned {status.name} for the ranging"
        sol = self.h.getSolution()
        rows, cols = np.asarray(sol.row_value, dtype=float), np.asarray(sol.col_value, dtype=float)
        lower = np.asarray(self.h.getLp().col_lower_, dtype=float)

        def dist(up: object, dn: object, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            rise = np.asarray(up.value_, dtype=float) - at
            fall = at - np.asarray(dn.value_, dtype=float)
            return np.maximum(rise, 0.0) + 0.0, np.maximum(fall, 0.0) + 0.0  # + 0.0: never a negative zero

        row_up, row_dn = dist(ranging.row_bound_up, ranging.row_bound_dn, rows)
        col_up, col_dn = dist(ranging.col_bound_up, ranging.col_bound_dn, cols)
        col_dn = np.minimum(col_dn, np.maximum(cols - lower, 0.0)) + 0.0
        o = self.order
        return Ranging(row_up=o.model_rows(row_up), row_dn=o.model_rows(row_dn),
                       col_up=o.model_cols(col_up), col_dn=o.model_cols(col_dn))

    def write(self, path: Path) -> None:
        """Write the model as it stands (rows added by the hierarchy included), named, as .mps or .lp."""
        if self.lp is None:
            raise SolverError("nothing to write: no model loaded")
        model = self.h.getLp()  # in solver order: the names follow it
        cols, rows = self.lp.col_names(), self.lp.row_names()
        model.col_names_ = [cols[j] for j in self.order.model_col_index(np.arange(len(cols)))]
        model.row_names_ = [rows[i] for i in self.order.model_row_index(np.arange(len(rows)))] + self.extra_rows
        writer = new_highs()
        writer.passModel(model)
        status = writer.writeModel(str(path))
        if status == highspy.HighsStatus.kError:
            raise SolverError(f"{path}: HiGHS could not write the model")
