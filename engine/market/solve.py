"""Solving the equilibrium LP with HiGHS (in-process): the primal, the row duals and the capacity rents."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from engine.errors import SolverError
from engine.market.build import MONEY_UNIT, MarketLP
from engine.model.joins import positions
from engine.solvers.base import FEASIBILITY_ABS_TOL, FEASIBILITY_REL_TOL
from engine.solvers.highs import new_highs

BRANCH_TOL = 1e-9  # relative: a node's relaxation this close to the incumbent cannot beat it
BUILD_TOL = 1e-6  # t/yr: a total build this close to 0 or to the minimum size is there


@dataclass
class MarketSolution:
    """The optimal point: tonnes per flow and step, and the duals in each year's money (USD/t)."""

    x: np.ndarray  # tonnes per flow column
    q: np.ndarray  # tonnes per demand step
    price: np.ndarray  # per balance row, USD/t in the year's money
    rent: np.ndarray  # per plant-year capacity row, USD/t in the year's money (≥ 0)
    objective_pv_usd: float  # minus total surplus, present value (USD)
    seconds: float
    iterations: int
    version: str
    certificate: np.ndarray = field(default_factory=lambda: np.zeros(0))  # λ per goal row, USD/t, year's money
    theta: float | None = None  # the goal's cap at this point (None: no goal)
    build: np.ndarray = field(default_factory=lambda: np.zeros(0))  # t/yr started per build column
    shadow: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per policy/JV row: −dual, in its unit (≥ 0)
    reduced: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per flow: reduced cost, USD/t, year's money
    binaries: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the minimum-size binaries, as fixed


class MarketSolver:
    """One HiGHS model of ``lp``, kept for warm re-solves that change only the goal rows (``set_theta``).

    With minimum-size binaries (``lp.integer``) each ``solve`` first finds their values by branch and bound
    (``_fix_binaries``), then solves the LP with them fixed, whose duals give the prices (DESIGN §10: integers
    fixed; such prices do not recover a minimum-size plant's fixed cost)."""

    def __init__(self, lp: MarketLP, *, log: bool = False, time_limit: float | None = None) -> None:
        self.lp = lp
        h = new_highs(log)
        a = lp.matrix
        status = h.passModel(a.shape[1], a.shape[0], int(a.nnz), int(highspy.MatrixFormat.kColwise),
                             int(highspy.ObjSense.kMinimize), 0.0, lp.cost, lp.lower, lp.upper, lp.row_lower,
                             lp.row_upper, a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data,
                             np.zeros(a.shape[1], dtype=np.int32))
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected the market model (passModel returned an error)")
        h.setOptionValue("presolve", "off")
        h.setOptionValue("solver", "simplex")
        h.setOptionValue("random_seed", 0)
        if time_limit is not None:
            h.setOptionValue("time_limit", float(time_limit))
        self.h = h
        self.theta = lp.theta
        # the minimum-size search (``_fix_binaries``): sized options × build columns, summing each one's builds
        self._build_cols = lp.first_build_col + np.arange(lp.n_builds)
        if len(lp.integer):
            sized = lp.jv.sized
            option_of_build = positions(lp.jv.builds["option_id"], lp.jv.options["option_id"])
            local = np.full(len(lp.jv.options), -1, dtype=np.int64)
            local[sized] = np.arange(len(sized))
            row = local[option_of_build]
            keep = row >= 0
            self._sized_build = sp.csr_matrix((np.ones(int(keep.sum())), (row[keep], np.flatnonzero(keep))),
                                              shape=(len(sized), lp.n_builds))
            self._min_size = lp.jv.options["min_size_tpy"].to_numpy(dtype=float)[sized]
        self._values = lp.goal_values(1.0 if lp.theta is None else lp.theta)

    def set_theta(self, theta: float | None) -> None:
        """The goal's cap θ: coefficients a − θ on the buyer's flows and upper bound 0; ``None`` frees the rows
        (upper bound +∞). Only the goal rows change, so the next ``solve`` starts from the last basis."""
        lp, h = self.lp, self.h
        if not len(lp.goals):
            if theta is not None:
                raise ValueError("this market model has no goal rows; build it with goal_rows=True")
            return
        first = lp.first_goal_row
        if theta is not None:
            values = lp.goal_values(theta)
            changed = np.flatnonzero(values != self._values)
            for k in changed:
                h.changeCoeff(int(first + lp.goal_row[k]), int(lp.goal_col[k]), float(values[k]))
            self._values = values
        n_g = len(lp.goals)
        upper = np.full(n_g, np.inf if theta is None else 0.0)
        h.changeRowsBounds(n_g, np.arange(first, first + n_g, dtype=np.int32), np.full(n_g, -np.inf), upper)
        self.theta = theta

    def _fix_binaries(self) -> np.ndarray:
        """Branch and bound over the minimum-size binaries z (kept continuous in [0, 1]), each node a warm simplex
        re-solve of the LP relaxation; z left at the incumbent's values (both bounds) for the final LP solve.

        A node's relaxation is integer-feasible when every sized option's total build Σ_y build[j, y] is 0 or at
        least m_j (z_j = 0 or 1 then holds it at the same cost); otherwise the first option with 0 < Σ build < m_j
        is branched on, z_j = 0 first, then z_j = 1. A node no better than the incumbent (the relaxation is a lower
        bound) is pruned, so the incumbent is an optimum of the MIP, as HiGHS's branch and bound would find, at
        the cost of a few LP solves instead of its setup on every point of a frontier."""
        h, lp = self.h, self.lp
        cols = lp.integer
        n = len(cols)
        index = cols.astype(np.int32)
        best, best_objective = None, np.inf
        stack: list[dict[int, float]] = [{}]
        while stack:
            fixed = stack.pop()
            lower = np.array([fixed.get(k, 0.0) for k in range(n)])
            upper = np.array([fixed.get(k, 1.0) for k in range(n)])
            h.changeColsBounds(n, index, lower, upper)
            h.run()
            state = h.getModelStatus()
            if state == highspy.HighsModelStatus.kInfeasible:
                continue
            _optimal(h, "a node of the market model's minimum-size search")
            objective = float(h.getInfo().objective_function_value)
            if objective >= best_objective - BRANCH_TOL * max(1.0, abs(best_objective)):
                continue
            built = self._sized_build @ np.asarray(h.getSolution().col_value, dtype=float)[self._build_cols]
            short = np.flatnonzero((built > BUILD_TOL) & (built < self._min_size - BUILD_TOL))
            if not len(short):
                best, best_objective = (built >= self._min_size - BUILD_TOL).astype(float), objective
                continue
            k = int(short[0])
            stack.append({**fixed, k: 1.0})
            stack.append({**fixed, k: 0.0})
        if best is None:
            raise SolverError("HiGHS found no plan of the market model that meets the JV options' minimum sizes")
        h.changeColsBounds(n, index, best, best)
        return best

    def solve(self) -> MarketSolution:
        """Solve to optimality (simplex, presolve off so the duals are the final basis's; with minimum sizes the
        MIP first, its binaries then fixed); ``SolverError`` otherwise, or when the point breaks a row or bound."""
        start = time.perf_counter()
        h, lp = self.h, self.lp
        binaries = self._fix_binaries() if len(lp.integer) else np.zeros(0)
        h.run()
        _optimal(h, "the market model")
        sol = h.getSolution()
        values = np.asarray(sol.col_value, dtype=float)
        duals = np.asarray(sol.row_dual, dtype=float)
        check_point(lp, values, self._row_upper())
        n_x, n_p, n_b = lp.n_flows, len(lp.plants), len(lp.balances)
        n_q = lp.n_steps
        # balance row Σx − Σq = 0: one more tonne to supply than is consumed costs the price, so dual = price × disc
        price = duals[n_p:n_p + n_b] * MONEY_UNIT / lp.balances["discount"].to_numpy(dtype=float)
        # capacity row Σ_r x ≤ K: one more tonne of capacity lowers the objective by the rent: dual = −rent × disc
        rent = -duals[:n_p] * MONEY_UNIT / _plant_discount(lp, lp.plants["year"].to_numpy())
        # goal row Σ (a − θ)·x ≤ 0: the certificate price λ ≥ 0, dual = −λ × disc
        certificate = np.zeros(len(lp.goals))
        if self.theta is not None and len(lp.goals):
            certificate = -duals[n_p + n_b:lp.first_extra_row] * MONEY_UNIT / lp.goals["discount"].to_numpy(dtype=float)
            certificate = np.where(certificate > 0.0, certificate, 0.0)
        first = lp.first_extra_row
        shadow = -duals[first:] * MONEY_UNIT / lp.rows["discount"].to_numpy(dtype=float)
        reduced = np.asarray(sol.col_dual, dtype=float)[:n_x] * MONEY_UNIT / _flow_discount(lp)
        info = h.getInfo()
        return MarketSolution(x=values[:n_x], q=values[n_x:n_x + n_q], price=price,
                              rent=np.where(rent > 0.0, rent, 0.0),
                              objective_pv_usd=float(info.objective_function_value) * MONEY_UNIT,
                              seconds=time.perf_counter() - start, iterations=int(info.simplex_iteration_count),
                              version=highs_version(h), certificate=certificate, theta=self.theta,
                              build=values[n_x + n_q:n_x + n_q + lp.n_builds], shadow=np.where(shadow > 0, shadow, 0.0),
                              reduced=reduced, binaries=binaries)

    def _row_upper(self) -> np.ndarray:
        """The row upper bounds the model holds now (the goal rows' follow ``set_theta``)."""
        upper = self.lp.row_upper.copy()
        n_g = len(self.lp.goals)
        if n_g:
            first = self.lp.first_goal_row
            upper[first:first + n_g] = np.inf if self.theta is None else 0.0
        return upper


def solve_lp(lp: MarketLP, *, log: bool = False, time_limit: float | None = None) -> MarketSolution:
    """Solve ``lp`` to optimality, cold (``MarketSolver``)."""
    return MarketSolver(lp, log=log, time_limit=time_limit).solve()


def _optimal(h: highspy.Highs, what: str) -> None:
    state = h.getModelStatus()
    if state != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"HiGHS did not solve {what} to optimality: {h.modelStatusToString(state)}")


def check_point(lp: MarketLP, values: np.ndarray, row_upper: np.ndarray) -> None:
    """The solver's point within every bound and row, to ``FEASIBILITY_ABS_TOL`` + ``FEASIBILITY_REL_TOL`` × the
    size of the bound or the row's terms (as ``engine/solvers/check.py`` checks the single-buyer model's points);
    a ``SolverError`` names the worst violation otherwise. Goal rows are checked at the θ the model holds."""
    a = lp.matrix
    if lp.matrix.shape[1] != len(values):
        raise SolverError("HiGHS returned a point of the wrong size for the market model")
    size = np.abs(a) @ np.abs(values)
    activity = a @ values
    excess = np.maximum(activity - row_upper, lp.row_lower - activity)
    tol = FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL * np.maximum(size, np.abs(np.where(np.isfinite(row_upper),
                                                                                         row_upper, 0.0)))
    col_excess = np.maximum(values - lp.upper, lp.lower - values)
    col_tol = FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL * np.abs(np.where(np.isfinite(lp.upper), lp.upper, 0.0))
    if (excess > tol).any() or (col_excess > col_tol).any():
        worst_row = int(np.argmax(excess - tol)) if len(excess) else 0
        worst_col = int(np.argmax(col_excess - col_tol)) if len(col_excess) else 0
        raise SolverError(f"HiGHS's point for the market model breaks row {worst_row} by "
                          f"{excess[worst_row]:.3g} or column {worst_col}'s bounds by {col_excess[worst_col]:.3g}")


def _flow_discount(lp: MarketLP) -> np.ndarray:
    """The discount factor of each flow's year."""
    by_year = dict(zip(lp.balances["year"].to_numpy(), lp.balances["discount"].to_numpy(dtype=float), strict=False))
    return np.array([by_year[int(y)] for y in lp.flows["year"].to_numpy()], dtype=float)


def _plant_discount(lp: MarketLP, years: np.ndarray) -> np.ndarray:
    """The discount factor of each plant-year row, read from the balance rows of the same year."""
    by_year = dict(zip(lp.balances["year"].to_numpy(), lp.balances["discount"].to_numpy(dtype=float), strict=False))
    return np.array([by_year[int(y)] for y in years], dtype=float)


def highs_version(h: highspy.Highs) -> str:
    """'HiGHS 1.x.y', as the other commands print it."""
    return f"HiGHS {h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
