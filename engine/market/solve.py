"""Solving the equilibrium LP with HiGHS (in-process): the primal, the row duals and the capacity rents."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from engine.errors import SolverError
from engine.market.build import MONEY_UNIT, MarketLP
from engine.solvers.heap import settle_heap
from engine.solvers.highs import new_highs

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


class MarketSolver:
    """One HiGHS model of ``lp``, kept for warm re-solves that change only the goal rows (``set_theta``)."""

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

    def solve(self) -> MarketSolution:
        """Solve to optimality (simplex, presolve off so the duals are the final basis's); ``SolverError``
        otherwise."""
        start = time.perf_counter()
        h, lp = self.h, self.lp
        if lp.matrix.nnz >= SETTLE_HEAP_NNZ:
            settle_heap()  # HiGHS's work memory stays in the heap between uses (engine/solvers/heap.py)
        h.run()
        state = h.getModelStatus()
        if state != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"HiGHS did not solve the market model to optimality: {h.modelStatusToString(state)}")
        sol = h.getSolution()
        values = np.asarray(sol.col_value, dtype=float)
        duals = np.asarray(sol.row_dual, dtype=float)
        n_x, n_p, n_b = lp.n_flows, len(lp.plants), len(lp.balances)
        # balance row Σx − Σq = 0: one more tonne to supply than is consumed costs the price, so dual = price × disc
        price = duals[n_p:n_p + n_b] * MONEY_UNIT / lp.balances["discount"].to_numpy(dtype=float)
        # capacity row Σ_r x ≤ K: one more tonne of capacity lowers the objective by the rent: dual = −rent × disc
        rent = -duals[:n_p] * MONEY_UNIT / _plant_discount(lp, lp.plants["year"].to_numpy())
        # goal row Σ (a − θ)·x ≤ 0: the certificate price λ ≥ 0, dual = −λ × disc
        certificate = np.zeros(len(lp.goals))
        if self.theta is not None and len(lp.goals):
            certificate = -duals[n_p + n_b:] * MONEY_UNIT / lp.goals["discount"].to_numpy(dtype=float)
            certificate = np.where(certificate > 0.0, certificate, 0.0)
        info = h.getInfo()
        return MarketSolution(x=values[:n_x], q=values[n_x:], price=price, rent=np.where(rent > 0.0, rent, 0.0),
                              objective_pv_usd=float(info.objective_function_value) * MONEY_UNIT,
                              seconds=time.perf_counter() - start, iterations=int(info.simplex_iteration_count),
                              version=highs_version(h), certificate=certificate, theta=self.theta)


def solve_lp(lp: MarketLP, *, log: bool = False, time_limit: float | None = None) -> MarketSolution:
    """Solve ``lp`` to optimality, cold (``MarketSolver``)."""
    return MarketSolver(lp, log=log, time_limit=time_limit).solve()


def _plant_discount(lp: MarketLP, years: np.ndarray) -> np.ndarray:
    """The discount factor of each plant-year row, read from the balance rows of the same year."""
    by_year = dict(zip(lp.balances["year"].to_numpy(), lp.balances["discount"].to_numpy(dtype=float), strict=False))
    return np.array([by_year[int(y)] for y in years], dtype=float)


def highs_version(h: highspy.Highs) -> str:
    """'HiGHS 1.x.y', as the other commands print it."""
    return f"HiGHS {h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
