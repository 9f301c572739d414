"""The lexicographic objective hierarchy, solved warm on one backend.

Stages (DESIGN §4), each fixing the level of the one before within a tolerance::

    1. shortfall   minimise value-weighted shortfall S;                       fix  S <= S* (1 + tol)
    2. least cost  minimise cost C;                                           C* is the least cost
    3. reference   minimise dependence D subject to C <= C* (1 + tol): the least-cost plan reported
    4. dependence  minimise D subject to C <= budget (the same row, relaxed); fix  D <= D* (1 + tol)
       (budget = C* × (1 + premium) or an absolute present value)
    5. cost        minimise cost at that dependence: the optimised plan

Stage 3 makes the least-cost reference unique in dependence (ties in cost are common) and so the same on
every backend. With ``minimise: cost`` stages 4–5 are skipped: the reference is the plan. A stage that is not
optimal stops the hierarchy; its status is the plan's status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.formulation.model import Model
from engine.solvers.base import Backend, Solution, Status

ABS_TOL = 1e-9


@dataclass
class Stage:
    """One solve of the hierarchy."""

    name: str
    status: Status
    objective: float | None
    seconds: float
    iterations: int | None = None


@dataclass
class Plan:
    """What the hierarchy found: the final solution, the least-cost reference, and every stage level."""

    status: Status
    message: str = ""
    stages: list[Stage] = field(default_factory=list)
    solution: Solution | None = None
    least_cost: Solution | None = None
    shortfall_usd: float | None = None
    least_cost_usd: float | None = None
    budget_usd: float | None = None
    dependence_level: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is Status.OPTIMAL

    @property
    def x(self) -> np.ndarray | None:
        return self.solution.x if self.solution is not None else None

    @property
    def solve_seconds(self) -> float:
        return sum(s.seconds for s in self.stages)


def fix_level(backend: Backend, objective: np.ndarray, level: float, tolerance: float, name: str) -> int:
    """Add the row ``objective · x <= level + tolerance × |level| + 1e-9``."""
    nz = np.flatnonzero(objective)
    slack = tolerance * abs(level) + ABS_TOL
    return backend.add_row(nz, objective[nz], -np.inf, level + slack, name)


class _Runner:
    def __init__(self, backend: Backend, plan: Plan, time_limit: float | None) -> None:
        self.backend, self.plan = backend, plan
        self.deadline = None if time_limit is None else time.perf_counter() + time_limit

    def run(self, name: str, objective: np.ndarray) -> Solution | None:
        if self.deadline is not None:
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0:
                self.plan.status = Status.TIME_LIMIT
                self.plan.message = f"time limit reached before the {name} stage"
                return None
            self.backend.set_time_limit(remaining)
        self.backend.set_objective(objective)
        sol = self.backend.solve()
        self.plan.stages.append(Stage(name, sol.status, sol.objective, sol.seconds, sol.iterations))
        if not sol.ok:
            self.plan.status = sol.status
            self.plan.message = f"{name} stage: {sol.status} ({sol.message})"
            return None
        return sol


def solve_plan(model: Model, backend: Backend, time_limit: float | None = None, *, loaded: bool = False) -> Plan:
    """Run the hierarchy for ``model`` on ``backend`` (which is loaded here unless ``loaded``)."""
    lp = model.lp
    if not loaded:
        backend.load(lp)
    objective = model.scenario.objective
    tol = objective.tolerance
    shortfall, cost, dependence = (lp.objective(n) for n in ("shortfall", "cost", "dependence"))
    plan = Plan(status=Status.OPTIMAL)
    runner = _Runner(backend, plan, time_limit)

    sol = runner.run("shortfall", shortfall)
    if sol is None:
        return plan
    unit = model.money_unit
    plan.shortfall_usd = float(sol.objective or 0.0) * unit
    fix_level(backend, shortfall, float(sol.objective or 0.0), tol, "fix_shortfall")

    sol = runner.run("least_cost", cost)
    if sol is None:
        return plan
    least = float(sol.objective or 0.0)
    plan.least_cost_usd = least * unit
    nz = np.flatnonzero(cost)
    budget_row = backend.add_row(nz, cost[nz], -np.inf, least + tol * abs(least) + ABS_TOL, "budget")

    # among least-cost plans, the least dependent one: a unique, backend-independent reference
    sol = runner.run("least_cost_reference", dependence)
    if sol is None:
        return plan
    plan.least_cost = sol
    if objective.minimise == "cost":
        plan.solution = sol
        return plan

    budget = objective.budget
    limit = budget.absolute_usd / unit if budget.absolute_usd is not None else least * (1.0 + (budget.premium or 0.0))
    plan.budget_usd = limit * unit
    if limit < least - tol * abs(least):
        plan.status = Status.INFEASIBLE
        plan.message = (f"the budget (USD {limit * unit:,.0f}) is below the least-cost plan "
                        f"(USD {least * unit:,.0f}); raise it or give it as a premium such as '+15%'")
        return plan
    upper = max(limit, least + tol * abs(least)) + ABS_TOL
    backend.set_row_bounds(np.array([budget_row]), np.array([-np.inf]), np.array([upper]))

    sol = runner.run("dependence", dependence)
    if sol is None:
        return plan
    plan.dependence_level = sol.objective
    fix_level(backend, dependence, float(sol.objective or 0.0), tol, "fix_dependence")

    sol = runner.run("cost", cost)
    if sol is None:
        return plan
    plan.solution = sol
    return plan
