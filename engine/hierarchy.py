"""The lexicographic objective hierarchy, solved warm on one backend.

Stages, each fixing the level of the one before within a tolerance::

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

from engine.formulation.jv import integer_repair
from engine.formulation.model import Model
from engine.schema import Budget
from engine.solvers.base import Backend, Solution, Status

ABS_TOL = 1e-6  # absolute slack on fixed levels (model units), above solver feasibility tolerances


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
    cost_stage: Solution | None = None  # the solve whose duals are costs: least cost (minimise cost) or the last
    shortfall_usd: float | None = None
    least_cost_usd: float | None = None
    budget_usd: float | None = None
    dependence_level: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status is Status.OPTIMAL

    @property
    def x(self) -> np.ndarray | None:
        return self.solution.x if self.solution is not None else None

    @property
    def solve_seconds(self) -> float:
        return sum(s.seconds for s in self.stages)


LEVEL_ROWS = (("fix_shortfall", "shortfall"), ("budget", "cost"), ("fix_dependence", "dependence"))


RETRIES = 2  # times a later stage reported infeasible is retried with the fixed levels' slack widened 100-fold
NUMERICAL = (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED)


class _Runner:
    def __init__(self, session: PlanSession, plan: Plan, time_limit: float | None) -> None:
        self.session, self.backend, self.plan = session, session.backend, plan
        self.deadline = None if time_limit is None else time.perf_counter() + time_limit

    def run(self, name: str, objective: np.ndarray, primal: bool = False, duals: bool = False) -> Solution | None:
        """Solve one stage. The previous stage's solution satisfies every fixed level, so a later stage reported
        infeasible is a numerical artefact (seen with HiGHS's MIP on knife-edge levels): retry with wider slack."""
        for attempt in range(RETRIES + 1):
            if self.deadline is not None:
                remaining = self.deadline - time.perf_counter()
                if remaining <= 0:
                    self.plan.status = Status.TIME_LIMIT
                    self.plan.message = f"time limit reached before the {name} stage"
                    return None
                self.backend.set_time_limit(remaining)
            self.backend.set_objective(objective)
            self.session.stage_objective = objective
            self.backend.prefer_primal(primal)
            sol = self.session.solve_stage(duals)
            self.plan.stages.append(Stage(name, sol.status, sol.objective, sol.seconds, sol.iterations))
            if sol.ok:
                return sol
            if sol.status not in NUMERICAL or not self.session.fixed or attempt == RETRIES:
                break
            self.session.widen()
            self.plan.notes.append(f"the {name} stage was reported {sol.status} although the previous stage's "
                                   f"plan satisfies it (solver numerics); retried with the fixed levels' slack "
                                   f"× {self.session.slack_scale:g}")
        self.plan.status = sol.status
        self.plan.message = f"{name} stage: {sol.status} ({sol.message})"
        return None


class PlanSession:
    """A model loaded on a backend once, ready for repeated warm runs of the hierarchy.

    The rows that fix each stage's level (``fix_shortfall``, ``budget``, ``fix_dependence``) are added once,
    free; each run sets their bounds. Between runs, callers may change column or row bounds on ``backend``
    (a capacity, a cap, a ban) and solve again from the last basis.
    """

    def __init__(self, model: Model, backend: Backend, *, load: bool = True) -> None:
        self.model, self.backend = model, backend
        if load:
            backend.load(model.lp)
        lp = model.lp
        self.objectives = {name: lp.objective(name) for name in ("shortfall", "cost", "dependence")}
        self.short_cols = model.block_cols("short")
        self.short_upper = model.lp.variables["short"].upper.copy()
        self.level_rows: dict[str, int] = {}
        for row_name, objective in LEVEL_ROWS:
            vector = self.objectives[objective]
            nz = np.flatnonzero(vector)
            self.level_rows[row_name] = backend.add_row(nz, vector[nz], -np.inf, np.inf, row_name)
        self._short_fixed = False
        self.fixed: dict[str, float] = {}  # level rows fixed at an objective level: row -> level
        self.slack_scale = 1.0
        self.stage_objective: np.ndarray | None = None  # objective of the stage solved last

    def solve_stage(self, duals: bool = True) -> Solution:
        """Solve the loaded stage. With binaries, try the LP relaxation first: when its builds already respect
        every minimum efficient size it is optimal for the MIP too (``jv.integer_repair``), else branch.
        ``duals=False`` reads primal values only."""
        integer = self.model.lp.integer_cols
        if not integer.size:
            return self.backend.solve(duals)
        self.backend.set_integrality(integer, False)
        relaxed = self.backend.solve(duals=False)
        self.backend.set_integrality(integer, True)
        if relaxed.ok:
            repaired = integer_repair(self.model, relaxed.x)
            if repaired is not None:
                relaxed.x, relaxed.is_mip = repaired, True
                return relaxed
        elif relaxed.status not in NUMERICAL:
            return relaxed
        sol = self.backend.solve(duals)
        sol.seconds += relaxed.seconds
        return sol

    def fix(self, row: str, level: float) -> None:
        """Fix a level row at ``level`` plus its slack (relative tolerance and ABS_TOL, times ``slack_scale``)."""
        self.fixed[row] = level
        tol = self.model.scenario.objective.tolerance
        self.set_level(row, level + self.slack_scale * (tol * abs(level) + ABS_TOL))

    def widen(self) -> None:
        """Multiply the slack of every fixed level by 100 and apply it."""
        self.slack_scale *= 100.0
        for row, level in list(self.fixed.items()):
            self.fix(row, level)

    def update(self, model: Model) -> None:
        """Take the numbers of ``model`` (the same structure, other data: a sweep sample) into the loaded solver:
        column and row bounds, objectives and the level rows' coefficients. The matrix must be unchanged."""
        old, new = self.model.lp, model.lp
        if (old.n_cols, old.n_rows) != (new.n_cols, new.n_rows):
            raise ValueError("update needs a model of the same structure")
        a, b = old.matrix(), new.matrix()
        if a.nnz != b.nnz or not (np.array_equal(a.indices, b.indices) and np.allclose(a.data, b.data)):
            raise ValueError("update needs the same constraint matrix")
        cols = np.arange(new.n_cols)
        self.backend.set_col_bounds(cols, new.col_lower, new.col_upper)
        self.backend.set_row_bounds(np.arange(new.n_rows), new.row_lower, new.row_upper)
        objectives = {name: new.objective(name) for name in self.objectives}
        for row_name, objective in LEVEL_ROWS:
            before, after = self.objectives[objective], objectives[objective]
            changed = np.flatnonzero(before != after)
            if changed.size:
                self.backend.set_row_coefficients(self.level_rows[row_name], changed, after[changed])
        self.objectives = objectives
        self.short_upper = new.variables["short"].upper.copy()
        self._short_fixed = False
        self.model = model

    def set_level(self, row: str, upper: float) -> None:
        """Set the upper bound of a level row (fix_shortfall, budget, fix_dependence)."""
        self.backend.set_row_bounds(np.array([self.level_rows[row]]), np.array([-np.inf]), np.array([upper]))

    def _shortfall_allowed(self, allowed: bool) -> None:
        upper = self.short_upper if allowed else np.zeros_like(self.short_upper)
        self.backend.set_col_bounds(self.short_cols, np.zeros_like(upper), upper)

    def release_levels(self) -> None:
        """Free every level row and the shortfall columns (the state before a run)."""
        for row in self.level_rows:
            self.set_level(row, np.inf)
        self.fixed.clear()
        self.slack_scale = 1.0
        if self._short_fixed:
            self._shortfall_allowed(True)
            self._short_fixed = False

    def solve(self, time_limit: float | None = None, *, minimise: str | None = None,
              budget: Budget | None = None) -> Plan:
        """Run the hierarchy; ``minimise`` and ``budget`` override the scenario's objective for this run."""
        model, objective = self.model, self.model.scenario.objective
        minimise = minimise or objective.minimise
        budget = budget or objective.budget
        tol, unit = objective.tolerance, model.money_unit
        shortfall, cost, dependence = (self.objectives[n] for n in ("shortfall", "cost", "dependence"))
        self.release_levels()
        plan = Plan(status=Status.OPTIMAL)
        runner = _Runner(self, plan, time_limit)

        sol = runner.run("shortfall", shortfall)
        if sol is None:
            return plan
        level = float(sol.objective or 0.0)
        plan.shortfall_usd = level * unit
        if level <= ABS_TOL:  # no shortfall is needed: fix it at zero exactly rather than within a tolerance
            self._shortfall_allowed(False)
            self._short_fixed = True
        else:
            self.fix("fix_shortfall", level)

        sol = runner.run("least_cost", cost, duals=True)  # the cost stage of a least-cost plan: duals wanted
        if sol is None:
            return plan
        least = float(sol.objective or 0.0)
        plan.least_cost_usd = least * unit
        plan.cost_stage = sol
        self.fix("budget", least)

        # among least-cost plans, the least dependent one: a unique, backend-independent reference
        # tie-break stages start from an optimal, still primal-feasible basis: primal simplex (measured: the
        # reference and final cost stages take 79 and 1 iterations instead of 415 and 2,634 at 68k non-zeros)
        sol = runner.run("least_cost_reference", dependence, primal=True)
        if sol is None:
            return plan
        plan.least_cost = sol
        if minimise == "cost":
            plan.solution = sol
            return plan

        limit = (budget.absolute_usd / unit if budget.absolute_usd is not None
                 else least * (1.0 + (budget.premium or 0.0)))
        plan.budget_usd = limit * unit
        if limit < least - tol * abs(least):
            plan.status = Status.INFEASIBLE
            plan.message = (f"the budget (USD {limit * unit:,.0f}) is below the least-cost plan "
                            f"(USD {least * unit:,.0f}); raise it or give it as a premium such as '+15%'")
            return plan
        self.fixed.pop("budget", None)
        self.set_level("budget", max(limit, least + tol * abs(least)) + ABS_TOL)

        sol = runner.run("dependence", dependence)
        if sol is None:
            return plan
        level = float(sol.objective or 0.0)
        plan.dependence_level = level
        self.fix("fix_dependence", level)

        sol = runner.run("cost", cost, primal=True, duals=True)
        if sol is None:
            return plan
        plan.solution = plan.cost_stage = sol
        return plan

    def cost_duals(self, plan: Plan) -> Solution | None:
        """An LP solution with duals in cost terms for the plan's cost stage.

        For ``minimise: cost`` that is the least-cost stage (fix_dependence and budget free); otherwise the final
        stage as it stands. A MIP is re-solved as an LP with its integer columns fixed at the plan's values.
        When the plan leaves demand unmet, the shortfall row is freed and unmet demand is priced at its value
        (``unmet_value_usd_per_t``, the shortfall objective), so a policy's dual includes the demand it leaves unmet.
        Run it after ``solve``; the session's objective and level rows are restored afterwards, so the loaded model
        (``--write-mps``) is still the plan's final stage.
        """
        if not plan.ok or plan.cost_stage is None or plan.x is None:
            return None
        integer = self.model.lp.integer_cols
        priced = (plan.shortfall_usd or 0.0) > 0
        if len(integer) == 0 and plan.cost_stage.row_dual is not None and not priced:
            return plan.cost_stage
        fixed, final = dict(self.fixed), self.stage_objective
        if plan.dependence_level is None:  # minimise cost: the least-cost stage had the budget row free
            self.set_level("budget", np.inf)
        objective = self.objectives["cost"]
        if priced:  # unmet demand priced at its value instead of fixed by a row
            self.set_level("fix_shortfall", np.inf)
            objective = objective + self.objectives["shortfall"]
        self.backend.set_objective(objective)
        try:
            sol = self.solve_with_integers_fixed(plan.cost_stage.x)
        finally:
            for row in ("budget", "fix_shortfall"):
                if row in fixed:
                    self.fix(row, fixed[row])
            if final is not None:
                self.backend.set_objective(final)
        return sol if sol.ok and sol.row_dual is not None else None

    def solve_with_integers_fixed(self, x: np.ndarray) -> Solution:
        """Solve the loaded stage as an LP with the integer columns fixed at their (rounded) values in ``x``, so
        that duals exist; then restore the integers. Without integers it is a plain solve."""
        integer = self.model.lp.integer_cols
        if not integer.size:
            return self.backend.solve()
        lower, upper = self.model.lp.col_lower[integer], self.model.lp.col_upper[integer]
        fixed = np.round(x[integer])
        self.backend.set_col_bounds(integer, fixed, fixed)
        self.backend.set_integrality(integer, False)
        try:
            return self.backend.solve()
        finally:
            self.backend.set_integrality(integer, True)
            self.backend.set_col_bounds(integer, lower, upper)


def solve_plan(model: Model, backend: Backend, time_limit: float | None = None, *, loaded: bool = False) -> Plan:
    """Run the hierarchy once for ``model`` on ``backend`` (loaded here unless ``loaded``)."""
    return PlanSession(model, backend, load=not loaded).solve(time_limit)
