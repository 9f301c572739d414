"""The lexicographic objective hierarchy, solved warm on one backend.

Cost is always cost including unmet demand at its value::

    C(x) = Σ cost terms (purchases, tariffs, credit losses, JV capex annuities, opex, royalties, stock holding)
           + U(x),    U(x) = Σ_{m, y, ω} p_ω × δ_y × v_m × short[m, y, ω],   v_m = 10 × price_m

``U`` is the shortfall objective (``engine/formulation/demand.py``: the one value of unmet demand every output
prints; in a robust CVaR model, its CVaR). Stages, each fixing the level of the one before within a tolerance::

    1. least cost  minimise C;                                                C* is the least cost
    2. reference   minimise dependence D subject to C <= C* (1 + tol): the least-cost plan reported
    3. dependence  minimise D subject to C <= budget (the same row, relaxed); fix  D <= D* (1 + tol)
       (budget = C* × (1 + premium) or an absolute present value: both on cost including unmet demand)
    4. cost        minimise C at that dependence: the optimised plan
    then the tie rule: on the optimal face of the last stage, minimise the tie-break weights: the plan reported
    then slivers: a plan with decisions too small to be decisions (``engine/plan/noise.py``) is solved again from
    stage 3 (with ``minimise: cost``, stage 2) with them held at zero

By default (``objective: {shortfall: valued}``) unmet demand is a cost like any other: no plan spends more than a
tonne is worth to avoid leaving it unmet. With ``objective: {shortfall: first}`` a stage comes before them all::

    0. shortfall   minimise U;                                                fix  U <= U* (1 + tol)

(unmet demand avoided at any cost; at U* = 0 the unmet-demand columns are fixed at zero exactly), and stages 1-4
minimise C within it.

Stage 2 makes the least-cost reference unique in dependence (ties in cost are common) and so the same on
every backend. The tie rule (``engine/plan/ties.py``, its solves in ``Plan.tie_break``) picks one fixed plan among
equally good ones, whatever basis the solver starts from, so a warm re-solve reports the point a cold solve of the
same LP would.
With ``minimise: cost`` stages 3–4 are skipped: the reference, ties settled, is the plan. A stage that is not
optimal stops the hierarchy; its status is the plan's status.

Every level is c·x of the point the stage returned (the backend checked that point against its bounds and rows,
``engine/solvers/check.py``), never the objective the solver reports; a level's slack is ``tol × |level| +
LEVEL_ABS_TOL``, so the point that set it satisfies the next stage with that margin.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.formulation.model import Model
from engine.inputs.schema import Budget
from engine.plan.branching import MinimumSizes, branch
from engine.plan.leximin import dependence_stage
from engine.plan.noise import HeldAtZero, Slivers, without_slivers
from engine.plan.ties import duals_hold, settle, tie_weights
from engine.solvers.base import (
    FEASIBILITY_ABS_TOL,
    FEASIBILITY_REL_TOL,
    LEVEL_ABS_TOL,
    Backend,
    Ranging,
    Solution,
    Status,
)

ABS_TOL = LEVEL_ABS_TOL


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
    tie_break: list[Stage] = field(default_factory=list)  # the tie rule's solves (``engine/plan/ties.py``)
    solution: Solution | None = None
    least_cost: Solution | None = None
    cost_stage: Solution | None = None  # the solve whose duals are costs: least cost (minimise cost) or the last
    shortfall_usd: float | None = None  # the value of the plan's unmet demand (U), in USD present value
    least_cost_usd: float | None = None  # cost including unmet demand of the least-cost plan reported
    budget_usd: float | None = None
    dependence_level: float | None = None
    notes: list[str] = field(default_factory=list)
    held: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """Slivers the plan's run held at zero (``engine/plan/noise.py``): the LP the plan is an optimum of holds them."""
    duals_checked: bool | None = None  # the duals were checked to belong to the plan (None: not asked)
    rejected_points: int = 0  # points a backend rejected (they broke a bound or row) and solved again
    stage_retries: int = 0  # stages solved again with the fixed levels' slack widened

    @property
    def ok(self) -> bool:
        return self.status is Status.OPTIMAL

    @property
    def x(self) -> np.ndarray | None:
        return self.solution.x if self.solution is not None else None

    @property
    def solve_seconds(self) -> float:
        return sum(s.seconds for s in self.stages)


def objectives(model: Model) -> dict[str, np.ndarray]:
    """The hierarchy's objectives of ``model``, in the LP money unit (dependence in its own unit): ``shortfall``
    U, the value of unmet demand; ``cost`` C, cost including unmet demand at that value (the LP's cost terms + U:
    what every cost stage minimises and the budget limits); ``dependence`` D."""
    lp = model.lp
    shortfall = lp.objective("shortfall")
    return {"shortfall": shortfall, "cost": lp.objective("cost") + shortfall, "dependence": lp.objective("dependence")}


Relaxation = tuple[str, int, float]
"""("col", j, +step): column j's upper bound raised by step; ("row", i, ±step): row i's upper bound raised (+) or its
lower bound lowered (−) by step."""
Probe = Callable[[Solution], list[Relaxation]]


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
            self.backend.prefer_primal(primal)
            sol = self.session.solve_stage(duals)
            basis = getattr(self.backend, "basis", None)
            if duals and sol.ok and basis is not None and not self.session.model.lp.integer_cols.size:
                sol.extra["basis"] = basis()  # the cost stage's: ``duals_at`` ranges its duals from it
            self.plan.stages.append(Stage(name, sol.status, sol.objective, sol.seconds, sol.iterations))
            self.plan.rejected_points += len(sol.rejected)
            self.plan.notes.extend(f"{name} stage: {note}" for note in sol.rejected)
            if sol.ok:
                return sol
            if sol.status not in NUMERICAL or not self.session.fixed or attempt == RETRIES:
                break
            self.session.widen()
            self.plan.stage_retries += 1
            self.session.checks["stage_retries"] += 1
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
    (a capacity, a cap, a ban) and solve again from the last basis: the tie rule makes the plan the same as a
    cold solve's.
    """

    def __init__(self, model: Model, backend: Backend, *, load: bool = True,
                 ties: np.ndarray | None = None, sizes: MinimumSizes | None = None,
                 slivers: Slivers | None = None) -> None:
        """``ties`` and ``sizes``: the tie-break weights of the model's columns and its minimum plant sizes, when the
        caller has them (``tie_weights(lp)`` depends on the column keys alone, ``MinimumSizes(model)`` on the JV
        options and builds: the same for every sample of a sweep, whose models share those tables); ``slivers``: another
        model's of the same columns (``Slivers``: its decision columns are taken, the thresholds made anew)."""
        self.model, self.backend = model, backend
        if load:
            backend.load(model.lp)
        lp = model.lp
        self.objectives = objectives(model)
        self.short_cols = model.block_cols("short")
        self.short_upper = model.lp.variables["short"].upper.copy()
        self.level_rows: dict[str, int] = {}
        self.ties = tie_weights(lp) if ties is None else ties
        for row_name, objective in LEVEL_ROWS:
            vector = self.objectives[objective]
            nz = np.flatnonzero(vector)
            self.level_rows[row_name] = backend.add_row(nz, vector[nz], -np.inf, np.inf, row_name)
        self._short_fixed = False
        self.fixed: dict[str, float] = {}  # level rows fixed at an objective level: row -> level
        self.slack_scale = 1.0
        self.sizes = sizes if sizes is not None and sizes.fits(model) else MinimumSizes(model)
        self.slivers = Slivers(model, slivers)  # decisions too small to be decisions (``engine/plan/noise.py``)
        self.branching = getattr(backend, "bounds", None) is not None
        """Settle minimum sizes by branching on warm LP re-solves (``engine/plan/branching.py``): on backends that keep
        their solver between solves; the others solve each MIP from scratch anyway."""
        self.tree_stats = {"trees": 0, "node_solves": 0, "fallbacks": 0, "mip_solves": 0}  # over this session's stages
        self.checks = {"points_rejected": 0, "stage_retries": 0}
        """Over every solve of this session (analyses re-solve warm many times): points a backend rejected, and
        stages retried with wider slack. Their summaries report it as ``solver_checks``."""

    def solve_stage(self, duals: bool = True) -> Solution:
        """Solve the loaded stage (counting the points the backend rejected in ``checks``)."""
        sol = self._solve_stage(duals)
        self.checks["points_rejected"] += len(sol.rejected)
        return sol

    def _solve_stage(self, duals: bool) -> Solution:
        """With binaries, try the LP relaxation first: when its builds already respect every minimum efficient size
        it is optimal for the MIP too (``MinimumSizes.repair``); else settle the undersized builds by branching on
        warm LP re-solves (``engine/plan/branching.py``), and fall back to the backend's MIP when the tree grows beyond
        its limit. With ``duals``, the plan carries the duals of the LP that found it when they are optimal duals of
        the LP with the binaries held at the plan's values (``ties.duals_hold``; ``extra['held_duals']``), else none
        (``duals_at`` gives them); ``duals=False`` reads primal values only."""
        integer = self.model.lp.integer_cols
        if not integer.size:
            return self.backend.solve(duals)
        self.backend.set_integrality(integer, False)
        relaxed, repaired = self.backend.solve(duals), None
        try:
            if relaxed.ok:
                repaired = self.sizes.repair(relaxed.x)
                if repaired is None and self.branching:
                    relaxed, repaired = self._branch(relaxed, duals)
        finally:
            self.backend.set_integrality(integer, True)
        if relaxed.ok and repaired is not None and self.backend.solved.violation(repaired) is None:
            if duals and duals_hold(self.backend.solved, relaxed, repaired):
                relaxed.extra["held_duals"] = True  # optimal duals of the LP with the binaries held at the plan's
            else:
                relaxed.row_dual = relaxed.col_dual = None
            relaxed.x, relaxed.is_mip = repaired, True
            relaxed.objective = self.backend.solved.objective(repaired)
            return relaxed
        if not relaxed.ok and relaxed.status not in NUMERICAL:
            return relaxed
        self.tree_stats["mip_solves"] += 1
        sol = self.backend.solve(duals)
        sol.seconds += relaxed.seconds
        sol.rejected = [*relaxed.rejected, *sol.rejected]
        bad = sol.extra.get("rejected_x")  # a MIP point that broke the model: its integers may still be right
        if (sol.ok and sol.extra.get("fractional")) or (sol.status is Status.ERROR and bad is not None):
            polished = self.polish(sol.x if sol.ok else bad, duals)
            if polished.ok:
                polished.seconds += sol.seconds
                polished.rejected, polished.is_mip = sol.rejected, True
                if not sol.ok:  # one note per rejected point: say how the last one was recovered
                    polished.rejected = [*sol.rejected[:-1],
                                         f"{sol.rejected[-1]}; its integers kept, the rest solved again as an LP"]
                return polished
        return sol

    def _branch(self, relaxed: Solution, duals: bool) -> tuple[Solution, np.ndarray | None]:
        """Branch from the stage's relaxation ``relaxed`` (``engine/plan/branching.py``): the best leaf and its
        repaired point; a node's solve that hit the time limit or was interrupted, and None; or ``relaxed`` and None
        when the stage must fall back to the MIP (time and notes carried over)."""
        leaf, tree = branch(self.backend, self.sizes, relaxed, duals)
        self.tree_stats["trees"] += 1
        self.tree_stats["node_solves"] += tree.solves - 1
        carried = leaf if leaf is not None else relaxed
        carried.seconds = relaxed.seconds + tree.seconds
        carried.iterations = (relaxed.iterations or 0) + tree.iterations
        carried.rejected = [*relaxed.rejected, *tree.rejected]
        if tree.stopped is not None:  # the time limit or an interrupt: the stage's answer
            tree.stopped.seconds, tree.stopped.rejected = carried.seconds, carried.rejected
            return tree.stopped, None
        if leaf is None:
            self.tree_stats["fallbacks"] += 1
            return relaxed, None
        return leaf, leaf.x

    def polish(self, x: np.ndarray, duals: bool = False) -> Solution:
        """The loaded stage as an LP with the integer columns fixed at their rounded values in ``x``: an exactly
        integral point, for a MIP point whose integers are within tolerance of integers but whose rows break when
        they are rounded (a big-M row: 1e-7 of a binary times a plant size), or a MIP point the backend rejected
        (CBC's, twice). The integer columns are restored."""
        solved, integer = self.backend.solved, self.model.lp.integer_cols
        lower, upper = solved.col_lower[integer].copy(), solved.col_upper[integer].copy()
        fixed = np.round(x[integer])
        self.backend.set_col_bounds(integer, fixed, fixed)
        self.backend.set_integrality(integer, False)
        try:
            return self.backend.solve(duals)
        finally:
            self.backend.set_integrality(integer, True)
            self.backend.set_col_bounds(integer, lower, upper)

    def level(self, objective: str, sol: Solution) -> float:
        """The level a stage reached: c·x of its (checked) point for the named objective."""
        return float(self.objectives[objective] @ sol.x)

    def fix(self, row: str, level: float) -> None:
        """Fix a level row at ``level`` plus its slack (``slack``)."""
        self.fixed[row] = level
        self.set_level(row, level + self.slack(level))

    def widen(self) -> None:
        """Multiply the slack of every fixed level by 100 and apply it."""
        self.slack_scale *= 100.0
        for row, level in list(self.fixed.items()):
            self.fix(row, level)

    def update(self, model: Model) -> None:
        """Take the numbers of ``model`` (the same structure, other data: a sensitivity variant) into the loaded
        solver: column and row bounds, objectives and the level rows' coefficients. The matrix must be unchanged.
        The tie rule makes the plan that of a cold solve up to the solver's tolerances; a solver object keeps state
        a cleared basis does not reset, so last digits may differ: the sweep loads each sample afresh instead."""
        old, new = self.model.lp, model.lp
        if (old.n_cols, old.n_rows) != (new.n_cols, new.n_rows):
            raise ValueError("update needs a model of the same structure")
        a, b = old.matrix(), new.matrix()
        if a.nnz != b.nnz or not (np.array_equal(a.indices, b.indices) and np.allclose(a.data, b.data)):
            raise ValueError("update needs the same constraint matrix")
        cols = np.arange(new.n_cols)
        self.backend.set_col_bounds(cols, new.col_lower, new.col_upper)
        self.backend.set_row_bounds(np.arange(new.n_rows), new.row_lower, new.row_upper)
        fresh = objectives(model)
        for row_name, objective in LEVEL_ROWS:
            before, after = self.objectives[objective], fresh[objective]
            changed = np.flatnonzero(before != after)
            if changed.size:
                self.backend.set_row_coefficients(self.level_rows[row_name], changed, after[changed])
        self.objectives = fresh
        self.short_upper = new.variables["short"].upper.copy()
        self._short_fixed = False
        self.model = model
        self.slivers = Slivers(model, self.slivers)

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
        unit = model.money_unit
        shortfall, cost, dependence = (self.objectives[n] for n in ("shortfall", "cost", "dependence"))
        self.release_levels()
        plan = Plan(status=Status.OPTIMAL)
        runner = _Runner(self, plan, time_limit)

        if objective.shortfall == "first":  # unmet demand avoided at any cost, before cost
            sol = runner.run("shortfall", shortfall)
            if sol is None:
                return plan
            level = self.level("shortfall", sol)
            if level <= ABS_TOL:  # no shortfall is needed: fix it at zero exactly rather than within a tolerance
                self._shortfall_allowed(False)
                self._short_fixed = True
            else:
                self.fix("fix_shortfall", level)

        sol = runner.run("least_cost", cost, duals=True)  # the cost stage of a least-cost plan: duals wanted
        if sol is None:
            return plan
        plan.shortfall_usd = self.level("shortfall", sol) * unit
        least = self.level("cost", sol)
        plan.cost_stage = sol
        self.fix("budget", least)

        # among least-cost plans, the least dependent one: a unique, backend-independent reference
        # tie-break stages start from an optimal, still primal-feasible basis: primal simplex (measured: the
        # reference and final cost stages take 79 and 1 iterations instead of 415 and 2,634 at 68k non-zeros)
        sol = runner.run("least_cost_reference", dependence, primal=True)
        if sol is None:
            return plan
        if minimise == "cost":  # the reference, ties settled, is the plan
            return self._without_slivers(plan, runner, sol, dependence)
        sol = self._reference_without_slivers(sol, plan)
        plan.least_cost = sol
        least = self.level("cost", sol)  # the cost of the least-cost plan reported (within the slack of the last)
        plan.least_cost_usd = least * unit

        limit = (budget.absolute_usd / unit if budget.absolute_usd is not None
                 else least * (1.0 + (budget.premium or 0.0)))
        plan.budget_usd = limit * unit
        if limit < least - self.slack(least):
            plan.status = Status.INFEASIBLE
            plan.message = (f"the budget (USD {limit * unit:,.0f}) is below the least-cost plan "
                            f"(USD {least * unit:,.0f}); raise it or give it as a premium such as '+15%'")
            return plan
        self.fixed.pop("budget", None)
        self.set_level("budget", max(limit + ABS_TOL, least + self.slack(least)))
        return self._without_slivers(plan, runner, None, cost)

    def _tail(self, plan: Plan, runner: _Runner, first: Solution | None, objective: np.ndarray,
              bases: dict[str, object]) -> Solution | None:
        """The stages after the least-cost reference and the tie rule: the settled plan, or None. With ``minimise:
        cost`` (``objective`` is dependence) the reference ``first`` (solved again when None) is the plan; otherwise
        the dependence stage, its level fixed, and the cost stage. ``bases``: the optimal basis of the tail's first
        stage in the first pass, recorded there; a later pass (slivers held at zero: a few bounds changed) starts
        that stage from it."""
        basis = getattr(self.backend, "basis", None)
        if first is None and bases.get("start") is not None:
            self.backend.set_basis(bases["start"])
        if objective is self.objectives["dependence"]:
            sol = first or runner.run("least_cost_reference", objective, primal=False)
            if sol is None:
                return None
            plan.least_cost = sol
            plan.least_cost_usd = self.level("cost", sol) * self.model.money_unit
            if basis is not None and "start" not in bases:
                bases["start"] = basis()
        else:
            self.fixed.pop("fix_dependence", None)
            self.set_level("fix_dependence", np.inf)
            sol = dependence_stage(self, runner)  # leximin: its rounds (``leximin.py``)
            if sol is None:
                return None
            if basis is not None and "start" not in bases:
                bases["start"] = basis()
            level = self.level("dependence", sol)
            plan.dependence_level = level
            self.fix("fix_dependence", level)
            sol = runner.run("cost", objective, primal=True, duals=True)
            if sol is None:
                return None
            plan.cost_stage = sol
        plan.solution = sol
        plan.tie_break = []
        self.settle_ties(plan, sol, objective)
        if objective is self.objectives["dependence"]:
            plan.least_cost = plan.solution
        plan.shortfall_usd = self.level("shortfall", plan.solution) * self.model.money_unit
        return plan.solution

    def _without_slivers(self, plan: Plan, runner: _Runner, first: Solution | None, objective: np.ndarray) -> Plan:
        """The tail of the hierarchy (``_tail``), run again with the settled plan's slivers held at zero
        (``engine/plan/noise.py``: the plan the tie rule makes unique decides which, so the plan never depends on
        the basis a solve started from). A run that fails leaves the plan of the run before it, as it was."""
        kept = len(plan.stages) - (first is not None)  # a pass's stages: the reference's too when it is the plan
        passes: list[Plan] = []
        bases: dict[str, object] = {}

        def run() -> Plan | None:
            if passes:  # the stages of a pass replace those of the pass before
                plan.stages[kept:] = []
                plan.status, plan.message = Status.OPTIMAL, ""
            done = self._tail(plan, runner, None if passes else first, objective, bases)
            passes.append(copy.copy(plan))
            passes[-1].stages, passes[-1].tie_break, passes[-1].notes = (list(plan.stages), list(plan.tie_break),
                                                                         list(plan.notes))
            return passes[-1] if done is not None else None

        result, held = without_slivers(self.backend, self.slivers, run, lambda p: None if p is None else [p.x])
        result = result if result is not None else passes[0]
        if result is not passes[-1] and result.dependence_level is not None:  # a later pass failed: its level goes
            self.fix("fix_dependence", result.dependence_level)
        result.held = held
        return result

    def _reference_without_slivers(self, sol: Solution, plan: Plan) -> Solution:
        """The least-cost reference ``sol`` solved again with its slivers held at zero, released for the stages
        after it (they may need those columns at full size)."""
        first = [sol]

        def run() -> Solution:
            if first:
                return first.pop()
            again = self.solve_stage(duals=False)
            plan.stages[-1].seconds += again.seconds
            return again

        cleaned, _ = without_slivers(self.backend, self.slivers, run, lambda s: [s.x] if s.ok else None)
        return cleaned

    def settle(self, sol: Solution, objective: np.ndarray) -> Plan:
        """The tie rule for a point found outside ``solve`` (a frontier point): ``sol`` minimised ``objective``.
        Returns a plan whose solution is the settled point."""
        plan = Plan(status=Status.OPTIMAL, solution=sol)
        self.settle_ties(plan, sol, objective)
        return plan

    def settle_ties(self, plan: Plan, last: Solution, objective: np.ndarray) -> None:
        """The tie rule (``engine/plan/ties.py``): among the optimal points of the last stage ``last`` (which minimised
        ``objective``), report the one that minimises the tie-break weights. Nothing is left changed."""
        levels = self.levels()
        settled, solves = settle(self.backend, self.model.lp.integer_cols, self.ties, last, objective, levels)
        for name, sol in solves:
            plan.tie_break.append(Stage(name, sol.status, sol.objective, sol.seconds, sol.iterations))
        if settled is not None:
            plan.solution = settled
        else:
            failed = solves[-1][1].status if solves else "no point to start from"
            plan.notes.append(f"ties among equally good plans were not settled (the tie-break stage failed: {failed}); "
                              f"the plan is optimal, but another equally good plan may be reported on another run")

    def levels(self) -> list[int]:
        """The level rows of the hierarchy's stages: ``fix_shortfall`` only with ``shortfall: first`` (by default
        unmet demand is part of cost, and holding its value where the last point left it would narrow the optimal
        face to one that depends on that point)."""
        first = self.model.scenario.objective.shortfall == "first"
        return [row for name, row in self.level_rows.items() if first or name != "fix_shortfall"]

    def slack(self, level: float) -> float:
        """The slack a level is fixed with: ``tolerance × |level| + LEVEL_ABS_TOL`` (times ``slack_scale``)."""
        return self.slack_scale * (self.model.scenario.objective.tolerance * abs(level) + ABS_TOL)

    def allowance(self, level: float) -> float:
        """How far above a level a point that satisfies the level's row may be: its slack, plus the feasibility
        tolerance a checked point may break the row by (``FEASIBILITY_ABS_TOL``, ``FEASIBILITY_REL_TOL``)."""
        return self.slack(level) + FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL * abs(level)

    def cost_duals(self, plan: Plan, probe: Probe | None = None) -> Solution | None:
        """Duals in cost terms at the reported plan, from an LP whose optimum is that plan (checked).

        The LP is the plan's cost stage as solved (with ``minimise: cost`` the least-cost stage, budget row free;
        otherwise the final stage), a MIP with its integer columns fixed at the plan's values; its objective is cost
        including unmet demand at its value, so a policy's dual counts the unmet demand relaxing it would let the plan
        meet at that value. With ``shortfall: first``, when the plan leaves demand unmet, each mineral-year's unmet
        demand is also capped at the plan's, ``short[m, y, ω] <= short*``: the plan is still an optimum (no plan
        leaves less demand unmet in total), and a dual does not trade unmet demand between minerals and years (under
        the one shortfall level alone, a tonne of germanium let through would free its value for leaving other
        demand unmet). The plan is checked to be an optimum of that LP (it satisfies its bounds and rows, and its
        objective is the LP's within the levels' slack); otherwise no duals are returned and ``plan.notes`` says
        why. The session is left as the last stage was solved (``--write-mps`` writes it).

        ``probe(sol)``, when given, names bounds and rows to relax by a whole unit in that LP (``whole_units``):
        what each relaxation saves is in ``sol.extra["whole_unit"]``. ``sol.extra["ranging"]`` is that LP's bound
        ranging at ``sol``'s basis (``ranging``: the interval of each bound over which the duals hold, with the
        other stages' levels held), or why there is none; taken before the whole-unit re-solves (about 1 s at 1.3M
        non-zeros).
        """
        if not plan.ok or plan.cost_stage is None or plan.x is None:
            return None
        priced = ((plan.shortfall_usd or 0.0) > 0 and not self._short_fixed
                  and self.model.scenario.objective.shortfall == "first")
        objective = self.objectives["cost"]
        allowance = self.allowance(self.level("cost", plan.solution))
        saved_objective = self.backend.solved.cost.copy()
        budget_row = self.level_rows["budget"]
        saved_budget = float(self.backend.solved.row_upper[budget_row])
        short = self.model.block_cols("short")
        solved = self.backend.solved
        short_lower, short_upper = solved.col_lower[short].copy(), solved.col_upper[short].copy()
        with HeldAtZero(self.backend, plan.held):  # the LP of the plan's run holds its slivers at zero
            try:
                if plan.dependence_level is None:  # minimise cost: the least-cost stage had the budget row free
                    self.set_level("budget", np.inf)
                if priced:
                    self.backend.set_col_bounds(short, short_lower, np.minimum(short_upper, plan.x[short]))
                self.backend.set_objective(objective)
                reuse = (plan.cost_stage if not (self.model.lp.integer_cols.size or priced)
                         and (plan.dependence_level is not None or not plan.held.size) else None)
                sol, why = self.duals_at(plan.x, allowance, reuse, probe)
            finally:
                if priced:
                    self.backend.set_col_bounds(short, short_lower, short_upper)
                self.set_level("budget", saved_budget)
                self.backend.set_objective(saved_objective)
        if sol is None:
            plan.notes.append(f"no shadow prices reported: {why}")
        plan.duals_checked = sol is not None
        return sol

    def write(self, path: Path, plan: Plan) -> None:
        """Write the loaded LP as the plan's last stage solved it: with its slivers held at zero (``plan.held``)."""
        with HeldAtZero(self.backend, plan.held):
            self.backend.write(path)

    def whole_units(self, sol: Solution, relaxations: list[Relaxation]) -> dict[tuple[str, int], float]:
        """What relaxing each bound or row by a whole unit saves in the loaded LP (whose optimum is ``sol``), in LP
        money units: ``c·x(sol) − min c·x`` with that one bound or row relaxed, solved warm and restored. A dual is
        the saving at the margin; it holds only while the same rows bind, which can be a small part of a unit. NaN
        where the relaxed LP is not solved to optimality."""
        solved, out = self.backend.solved, {}
        for kind, index, step in relaxations:
            at = np.array([index])
            if kind == "col":
                lower, upper = solved.col_lower[at].copy(), solved.col_upper[at].copy()
                self.backend.set_col_bounds(at, lower, upper + step)
            else:
                lower, upper = solved.row_lower[at].copy(), solved.row_upper[at].copy()
                self.backend.set_row_bounds(at, lower + min(step, 0.0), upper + max(step, 0.0))
            try:
                trial = self.backend.solve(duals=False)
                if trial.status is Status.ERROR:  # a warm start HiGHS stops with "unknown": start cold
                    self.backend.reset_basis()
                    trial = self.backend.solve(duals=False)
            finally:
                (self.backend.set_col_bounds if kind == "col" else self.backend.set_row_bounds)(at, lower, upper)
            out[(kind, index)] = sol.objective - trial.objective if trial.ok else float("nan")
        return out

    def ranging(self, sol: Solution, reused: bool = False) -> Ranging | str:
        """Bound ranging of the loaded LP at its optimum ``sol`` (``Backend.ranging``), or why there is none: the
        interval of each row's bound and column's bound over which ``sol``'s basis, hence its duals, stays optimal.
        ``reused``: ``sol`` was solved earlier (the plan's cost stage) and the backend has solved other stages
        since; its basis (``sol.extra["basis"]``) is restored and the LP solved again from it (no iterations), and
        the ranging is given only when that solve's duals are ``sol``'s."""
        ranging = getattr(self.backend, "ranging", None)
        if ranging is None:
            return f"not available with {self.backend.name}"
        if reused:
            basis = sol.extra.get("basis")
            if basis is None or getattr(self.backend, "set_basis", None) is None:
                why = ranging()  # a backend without ranging says why (PuLP's: "not available with cbc")
                return why if isinstance(why, str) else "not available: the basis of the duals' LP was not kept"
            self.backend.set_basis(basis)
            again = self.backend.solve()
            same = (again.ok and again.row_dual is not None and again.col_dual is not None
                    and np.allclose(again.row_dual, sol.row_dual, rtol=1e-9, atol=1e-12)
                    and np.allclose(again.col_dual, sol.col_dual, rtol=1e-9, atol=1e-12))
            if not same:
                return "not available: the LP the duals come from could not be restored at their basis"
        return ranging()

    def duals_at(self, x: np.ndarray, allowance: float, solution: Solution | None = None,
                 probe: Probe | None = None) -> tuple[Solution | None, str]:
        """Duals of the loaded stage that belong to the point ``x``: the stage as an LP with its integer columns
        fixed at their values in ``x`` (``solution``, when given, is that LP already solved), checked to have ``x``
        as an optimum: ``x`` satisfies its bounds and rows, and c·x is at most its optimum plus ``allowance``.
        Returns the LP solution and "", or None and why not. The integer columns are restored."""
        solved = self.backend.solved
        integer = self.model.lp.integer_cols
        lower, upper = solved.col_lower[integer].copy(), solved.col_upper[integer].copy()
        was_integer = solved.integer[integer].copy()
        if integer.size:
            fixed = np.round(x[integer])
            self.backend.set_col_bounds(integer, fixed, fixed)
            self.backend.set_integrality(integer, False)
        try:
            sol = solution if solution is not None else self.backend.solve()
            if sol.status is Status.ERROR:  # HiGHS can stop a warm start with status "unknown": start cold
                self.backend.reset_basis()
                sol = self.backend.solve()
            if sol.ok and "duals_refused" in sol.extra:  # they fail the dual check (``check.accept_duals``)
                return None, sol.extra["duals_refused"]
            if not sol.ok or sol.row_dual is None:
                return None, f"the LP they come from was {sol.status} ({sol.message})"
            violation = solved.violation(x)
            if violation is not None:
                return None, f"the plan is not a point of the LP they come from: it breaks {violation}"
            gap = solved.objective(x) - solved.objective(sol.x)
            if gap > allowance:
                return None, (f"the plan is not an optimum of the LP they come from (its objective is {gap:.6g} "
                              f"above the optimum {solved.objective(sol.x):.10g}, allowance {allowance:.3g})")
            sol.extra["ranging"] = self.ranging(sol, reused=solution is not None)
            if probe is not None:
                sol.extra["whole_unit"] = self.whole_units(sol, probe(sol))
            return sol, ""
        finally:
            if integer.size:
                self.backend.set_integrality(integer[was_integer], True)
                self.backend.set_col_bounds(integer, lower, upper)


def add_checks(total: dict[str, int], checks: dict[str, int]) -> None:
    """Add one session's point checks (``PlanSession.checks``: points rejected, stages retried) to a run's totals."""
    for name, count in checks.items():
        total[name] = total.get(name, 0) + count


def solve_plan(model: Model, backend: Backend, time_limit: float | None = None, *, loaded: bool = False) -> Plan:
    """Run the hierarchy once for ``model`` on ``backend`` (loaded here unless ``loaded``)."""
    return PlanSession(model, backend, load=not loaded).solve(time_limit)
