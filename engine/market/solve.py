"""Solving the equilibrium LP with HiGHS (in-process): the primal, the row duals and the capacity rents.

Each ``MarketSolver.solve`` is up to three steps on one warm HiGHS model:

1. **minimum sizes** (only with JV options that have one): the binaries z by branch and bound, each node a warm
   re-solve of the LP relaxation (``_fix_binaries``), then fixed;
2. **the LP** with z fixed: its duals are the prices, rents and certificate and policy shadow prices (integers
   fixed, as the design asks; with minimum sizes such prices do not recover a minimum-size plant's fixed cost);
3. **the tie rule**: on the optimal face of step 2 (every column with a non-zero reduced cost held at its bound,
   every row with a non-zero dual held at its active bound, so that every point left is optimal with the same
   duals), the point of the least weighted tonnage Σ w_f·x_f, w_f = 1 + h(source, region, year)/2^64 a fixed hash
   of the flow's name (``engine/plan/ties.py``'s ``key_hashes``, the single-buyer model's tie rule): among
   equally good equilibria (two plants at the same delivered cost, a demand step whose willingness to pay equals
   a plant's cost) one fixed point, whatever vertex the simplex reached, so that two runs that differ in one
   policy differ by what the policy does, not by chance. Any optimal primal point and any optimal dual satisfy
   complementary slackness together, so the step-2 prices hold for the step-3 point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.errors import SolverError
from engine.market.build import MONEY_UNIT, MarketLP, year_discount
from engine.model.joins import positions
from engine.plan.ties import key_hashes
from engine.solvers.base import FEASIBILITY_ABS_TOL, FEASIBILITY_REL_TOL
from engine.solvers.heap import settle_heap
from engine.solvers.highs import new_highs

BRANCH_TOL = 1e-9  # relative: a node's relaxation this close to the incumbent cannot beat it
BUILD_TOL = 1e-6  # t/yr: a total build this close to 0 or to the minimum size is there
FACE_TOL = 1e-9  # LP units: a reduced cost or dual beyond this holds its column or row in the tie rule
TIE_SCALE = 1e-3  # the tie rule's weights per tonne, near the LP's cost coefficients (MONEY_UNIT USD per tonne)
SETTLE_HEAP_NNZ = 100_000  # models this large get settle_heap() before each run


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
    row_dual: np.ndarray = field(default_factory=lambda: np.zeros(0))  # every row's dual, LP units, of the LP solved
    # before the tie rule (rows a caller appended, e.g. calibrate's share rows, are read from here)


class MarketSolver:
    """One HiGHS model of ``lp``, kept for warm re-solves that change only some bounds, costs or rows (the goal's
    θ by ``set_theta``; a policy taken away by ``solve_changed``). The bounds, costs and row bounds HiGHS holds are
    kept beside it, so that every point is checked against the model that was solved."""

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
        self._values = lp.goal_values(1.0 if lp.theta is None else lp.theta)
        # the matrix without the goal rows (their coefficients change with θ: ``_activity`` adds them)
        if len(lp.goal_col):
            coo = lp.matrix.tocoo()
            goal = (coo.row >= lp.first_goal_row) & (coo.row < lp.first_extra_row)
            self._fixed_part = sp.csr_matrix((coo.data[~goal], (coo.row[~goal], coo.col[~goal])),
                                             shape=lp.matrix.shape)
        else:  # no goal rows: the matrix as built (not a copy)
            self._fixed_part = lp.matrix
        # the model as HiGHS holds it
        self.cost = lp.cost.copy()
        self.col_lower, self.col_upper = lp.lower.copy(), lp.upper.copy()
        self.row_lower, self.row_upper = lp.row_lower.copy(), lp.row_upper.copy()
        # the tie rule's weights (``_settle_ties``), scaled near the LP's costs
        unit = (key_hashes("x", lp.flows[["source_id", "region", "year"]]) >> np.uint64(11)).astype(float) * 2.0 ** -53
        self._tie_weights = (1.0 + unit) * TIE_SCALE
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

    # ----------------------------------------------------------------------------------------- edits
    def _cols_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        if len(cols):
            self.h.changeColsBounds(len(cols), cols.astype(np.int32), lower, upper)
            self.col_lower[cols], self.col_upper[cols] = lower, upper

    def _costs(self, cols: np.ndarray, cost: np.ndarray) -> None:
        if len(cols):
            self.h.changeColsCost(len(cols), cols.astype(np.int32), cost)
            self.cost[cols] = cost

    def _rows_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        if len(rows):
            self.h.changeRowsBounds(len(rows), rows.astype(np.int32), lower, upper)
            self.row_lower[rows], self.row_upper[rows] = lower, upper

    def set_capacity(self, capacity_t: np.ndarray, jv_share: np.ndarray | None = None) -> None:
        """The plant capacity rows' right-hand sides K[s, y] (one per row of ``lp.plants``) and, with ``jv_share``
        (one per JV plant-year, ``lp.jv.output``'s rows), the share of its builds online that can run: the build
        coefficients of its capacity row (−1) and offtake row (−(1 − φ)) become the model's × the share, so that
        Σ_r x ≤ share · Σ online build (``build.py``). A shock lowers some (``engine/analysis/market_stress.py``);
        ``lp.row_upper`` and shares of 1 restore them. Only what differs from the model HiGHS holds changes, so the
        next ``solve`` starts from the last basis."""
        capacity_t = np.asarray(capacity_t, dtype=float)
        changed = np.flatnonzero(capacity_t != self.row_upper[:len(capacity_t)])
        self._rows_bounds(changed, self.row_lower[changed], capacity_t[changed])
        if jv_share is None or self.lp.jv is None or not len(self.lp.jv.output):
            return
        if getattr(self, "_jv_terms", None) is None:
            if self._fixed_part is self.lp.matrix:  # the model's own matrix (CSC, shared): take a private CSR copy
                self._fixed_part = self.lp.matrix.tocsr()  # before changing its build coefficients
            self._jv_terms = _jv_build_terms(self.lp, self._fixed_part)
        rows, cols, model_values, plant, at = self._jv_terms
        values = model_values * np.asarray(jv_share, dtype=float)[plant]
        changed = np.flatnonzero(values != self._fixed_part.data[at])
        for k in changed:
            self.h.changeCoeff(int(rows[k]), int(cols[k]), float(values[k]))
        self._fixed_part.data[at[changed]] = values[changed]

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
        self._rows_bounds(np.arange(first, first + n_g), np.full(n_g, -np.inf),
                          np.full(n_g, np.inf if theta is None else 0.0))
        self.theta = theta

    def solve_changed(self, *, cols: np.ndarray | None = None, upper: np.ndarray | None = None,
                      cost_cols: np.ndarray | None = None, cost: np.ndarray | None = None,
                      rows: np.ndarray | None = None, row_upper: np.ndarray | None = None) -> MarketSolution:
        """Solve with the upper bounds of columns ``cols``, the costs of ``cost_cols`` and the upper bounds of rows
        ``rows`` changed (warm), then put them back as they were."""
        none = np.zeros(0, dtype=np.int64)
        cols, cost_cols, rows = (none if c is None else np.asarray(c, dtype=np.int64) for c in (cols, cost_cols, rows))
        kept = (self.col_upper[cols].copy(), self.cost[cost_cols].copy(), self.row_upper[rows].copy())
        try:
            self._cols_bounds(cols, self.col_lower[cols], np.asarray(upper, dtype=float))
            self._costs(cost_cols, np.asarray(cost, dtype=float))
            self._rows_bounds(rows, self.row_lower[rows], np.asarray(row_upper, dtype=float))
            return self.solve()
        finally:
            self._cols_bounds(cols, self.col_lower[cols], kept[0])
            self._costs(cost_cols, kept[1])
            self._rows_bounds(rows, self.row_lower[rows], kept[2])

    def _activity(self, values: np.ndarray, absolute: bool = False) -> np.ndarray:
        """A·values for the matrix HiGHS holds (the goal rows at the current θ); Σ|a_ij·v_j| with
        ``absolute``."""
        lp = self.lp
        if absolute:
            a = self._fixed_part  # |A| on A's own index arrays: only the values are copied
            out = type(a)((np.abs(a.data), a.indices, a.indptr), shape=a.shape) @ np.abs(values)
            terms = np.abs(self._values * values[lp.goal_col])
        else:
            out = self._fixed_part @ values
            terms = self._values * values[lp.goal_col]
        np.add.at(out, lp.first_goal_row + lp.goal_row, terms)
        return out

    # ----------------------------------------------------------------------------------------- solving
    def _run(self, what: str) -> None:
        if self.lp.matrix.nnz >= SETTLE_HEAP_NNZ:
            settle_heap()  # HiGHS's work memory stays in the heap between uses (engine/solvers/heap.py)
        self.h.run()
        state = self.h.getModelStatus()
        if state != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"HiGHS did not solve {what} to optimality: {self.h.modelStatusToString(state)}")

    def _fix_binaries(self) -> np.ndarray:
        """Branch and bound over the minimum-size binaries z (kept continuous in [0, 1]), each node a warm simplex
        re-solve of the LP relaxation; z left at the incumbent's values (both bounds) for the final LP solve.

        A node's relaxation is integer-feasible when every sized option's total build Σ_y build[j, y] is 0 or at
        least m_j (z_j = 0 or 1 then holds it at the same cost); otherwise the first option with 0 < Σ build < m_j
        is branched on, z_j = 0 first, then z_j = 1. A node no better than the incumbent (the relaxation is a lower
        bound) is pruned, so the incumbent is an optimum of the MIP, as HiGHS's branch and bound finds (a test
        compares them), at the cost of a few LP solves instead of its set-up on every point of a frontier."""
        h, cols = self.h, self.lp.integer
        n = len(cols)
        best, best_objective = None, np.inf
        stack: list[dict[int, float]] = [{}]
        while stack:
            fixed = stack.pop()
            self._cols_bounds(cols, np.array([fixed.get(k, 0.0) for k in range(n)]),
                              np.array([fixed.get(k, 1.0) for k in range(n)]))
            h.run()
            if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
                continue
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                self._run("a node of the market model's minimum-size search")  # names the status
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
        self._cols_bounds(cols, best, best)
        return best

    def _settle_ties(self, col_value: np.ndarray, row_value: np.ndarray, col_dual: np.ndarray,
                     row_dual: np.ndarray) -> np.ndarray:
        """Step 3 of the module docstring: the point of the optimal face of step 2's solution (``col_value``,
        ``row_value``: its point; ``col_dual``, ``row_dual``: its multipliers) with the least weighted tonnage."""
        lp, h = self.lp, self.h
        n = len(self.cost)
        cols = np.flatnonzero(np.abs(col_dual) > FACE_TOL)
        rows = np.flatnonzero(np.abs(row_dual) > FACE_TOL)
        # held at the bound each sits on in step 2's point (the nearer one). Not by the multiplier's sign: a
        # multiplier within HiGHS's dual feasibility tolerance (1e-7) can have the wrong sign for its bound
        # (−7e-8 on a flow at 0), and holding that column at its other bound makes the face empty
        at_col = _nearer_bound(col_value[cols], self.col_lower[cols], self.col_upper[cols])
        at_row = _nearer_bound(row_value[rows], self.row_lower[rows], self.row_upper[rows])
        kept_cols = (self.col_lower[cols].copy(), self.col_upper[cols].copy())
        kept_rows = (self.row_lower[rows].copy(), self.row_upper[rows].copy())
        kept_cost = self.cost.copy()
        tie_cost = np.zeros(n)
        tie_cost[:lp.n_flows] = self._tie_weights
        everything = np.arange(n)
        basis = h.getBasis()  # the next solve starts from step 2's basis, as if this step had not run
        try:
            self._cols_bounds(cols, at_col, at_col)
            self._rows_bounds(rows, at_row, at_row)
            self._costs(everything, tie_cost)
            self._run("the market model's tie rule")
            return np.asarray(h.getSolution().col_value, dtype=float)
        finally:
            self._costs(everything, kept_cost)
            self._rows_bounds(rows, *kept_rows)
            self._cols_bounds(cols, *kept_cols)
            h.setBasis(basis)

    def solve(self) -> MarketSolution:
        """Solve to optimality (module docstring: minimum sizes, the LP, the tie rule); ``SolverError`` otherwise,
        or when the point breaks a row or bound of the model solved."""
        start = time.perf_counter()
        h, lp = self.h, self.lp
        binaries = self._fix_binaries() if len(lp.integer) else np.zeros(0)
        self._run("the market model")
        sol = h.getSolution()
        duals = np.asarray(sol.row_dual, dtype=float)
        col_dual = np.asarray(sol.col_dual, dtype=float)
        objective = float(h.getInfo().objective_function_value)
        iterations = int(h.getInfo().simplex_iteration_count)
        values = self._settle_ties(np.asarray(sol.col_value, dtype=float), np.asarray(sol.row_value, dtype=float),
                                   col_dual, duals)
        check_point(values, self._activity(values), self._activity(values, absolute=True), self.col_lower,
                    self.col_upper, self.row_lower, self.row_upper)
        n_x, n_p, n_b = lp.n_flows, len(lp.plants), len(lp.balances)
        n_q = lp.n_steps
        # balance row Σx − Σq = 0: one more tonne to supply than is consumed costs the price, so dual = price × disc
        price = duals[n_p:n_p + n_b] * MONEY_UNIT / lp.balances["discount"].to_numpy(dtype=float)
        # capacity row Σ_r x ≤ K: one more tonne of capacity lowers the objective by the rent: dual = −rent × disc
        rent = -duals[:n_p] * MONEY_UNIT / _plant_discount(lp, lp.plants["year"].to_numpy())
        # goal row Σ (a − θ)·x ≤ 0: the certificate price λ ≥ 0, dual = −λ × disc
        certificate = np.zeros(len(lp.goals))
        if self.theta is not None and len(lp.goals):
            certificate = -duals[n_p + n_b:lp.first_extra_row] * MONEY_UNIT / lp.goals["discount"].to_numpy(float)
            certificate = np.where(certificate > 0.0, certificate, 0.0)
        # policy and JV rows Σ a·x ≤ u: the shadow price μ ≥ 0, dual = −μ × disc (× 1 for present-value rows)
        extra = duals[lp.first_extra_row:lp.first_extra_row + len(lp.rows)]
        shadow = -extra * MONEY_UNIT / lp.rows["discount"].to_numpy(dtype=float)
        reduced = col_dual[:n_x] * MONEY_UNIT / lp.flow_discount
        return MarketSolution(x=values[:n_x], q=values[n_x:n_x + n_q], price=price,
                              rent=np.where(rent > 0.0, rent, 0.0), objective_pv_usd=objective * MONEY_UNIT,
                              seconds=time.perf_counter() - start, iterations=iterations,
                              version=highs_version(h), certificate=certificate, theta=self.theta,
                              build=values[n_x + n_q:n_x + n_q + lp.n_builds],
                              shadow=np.where(shadow > 0, shadow, 0.0), reduced=reduced, binaries=binaries,
                              row_dual=duals)


def _jv_build_terms(lp: MarketLP, fixed: sp.csr_matrix) -> tuple[np.ndarray, ...]:
    """Every build coefficient of a JV plant-year's capacity or offtake row: (row, column, the model's value, the
    JV plant-year it belongs to, its position in ``fixed.data``)."""
    a = lp.matrix[:, lp.first_build_col:lp.first_build_col + lp.n_builds].tocoo()
    jv_first = len(lp.plants) - len(lp.jv.output)
    plant = np.full(lp.matrix.shape[0], -1, dtype=np.int64)
    plant[jv_first:len(lp.plants)] = np.arange(len(lp.jv.output))
    offtake = np.flatnonzero((lp.rows["family"] == "offtake").to_numpy())
    if len(offtake):
        keys = lp.rows.iloc[offtake]
        at = pd.MultiIndex.from_frame(lp.jv.output[["option_id", "year"]].astype({"year": np.int64}))
        plant[lp.first_extra_row + offtake] = at.get_indexer(pd.MultiIndex.from_arrays(
            [keys["policy"].to_numpy(), keys["year"].to_numpy(dtype=np.int64)]))
    keep = plant[a.row] >= 0
    rows, cols = a.row[keep].astype(np.int64), a.col[keep].astype(np.int64) + lp.first_build_col
    entry_row = np.repeat(np.arange(fixed.shape[0], dtype=np.int64), np.diff(fixed.indptr))
    key = entry_row * fixed.shape[1] + fixed.indices
    order = np.argsort(key, kind="stable")
    at = order[np.searchsorted(key[order], rows * fixed.shape[1] + cols)]
    return rows, cols, a.data[keep].astype(float), plant[rows], at


def solve_lp(lp: MarketLP, *, log: bool = False, time_limit: float | None = None) -> MarketSolution:
    """Solve ``lp`` to optimality, cold (``MarketSolver``)."""
    return MarketSolver(lp, log=log, time_limit=time_limit).solve()


def check_point(values: np.ndarray, activity: np.ndarray, size: np.ndarray, col_lower: np.ndarray,
                col_upper: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray) -> None:
    """The solver's point within every bound and row of the model solved (``activity``: A·x, ``size``: Σ|a_ij·x_j|
    per row), to ``FEASIBILITY_ABS_TOL`` + ``FEASIBILITY_REL_TOL`` × the size of the bound or the row's terms (as
    ``engine/solvers/check.py`` checks the single-buyer model's points); a ``SolverError`` names the worst
    violation otherwise."""
    excess = np.maximum(activity - row_upper, row_lower - activity)
    bound = np.maximum(np.abs(np.where(np.isfinite(row_upper), row_upper, 0.0)),
                       np.abs(np.where(np.isfinite(row_lower), row_lower, 0.0)))
    tol = FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL * np.maximum(size, bound)
    col_excess = np.maximum(values - col_upper, col_lower - values)
    col_tol = FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL * np.abs(np.where(np.isfinite(col_upper), col_upper, 0.0))
    if (excess > tol).any() or (col_excess > col_tol).any():
        row = int(np.argmax(excess - tol)) if len(excess) else 0
        col = int(np.argmax(col_excess - col_tol)) if len(col_excess) else 0
        raise SolverError(f"HiGHS's point for the market model breaks row {row} by {excess[row]:.3g} (tolerance "
                          f"{tol[row]:.3g}) or column {col}'s bounds by {col_excess[col]:.3g}")


def _nearer_bound(value: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The bound nearer to each value (the lower one on a tie)."""
    return np.where(np.abs(upper - value) < np.abs(value - lower), upper, lower)


def _plant_discount(lp: MarketLP, years: np.ndarray) -> np.ndarray:
    """The discount factor of each plant-year row, read from the balance rows of the same year."""
    return year_discount(lp.balances, years)


def highs_version(h: highspy.Highs) -> str:
    """'HiGHS 1.x.y', as the other commands print it."""
    return f"HiGHS {h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
