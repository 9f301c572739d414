"""Two-stage stochastic planning and the value of the stochastic solution.

The robust plan is one LP over ``robust.scenarios`` sampled disruptions (``sampling.ROBUST_PLAN`` stream): JV
builds and stockpile purchases are chosen once (first stage); purchases, JV output, draws and shortfall per
scenario (second stage). Its cost is expected cost plus the expected value of unmet demand, or its CVaR at
``robust.alpha`` (``engine/plan/hierarchy.py``: the shortfall objective is that CVaR); the scenario's hierarchy
runs on it (least cost, expected exposure within the budget, then cost; with ``shortfall: first``, that value
first).

The deterministic plan is the ordinary solve of the scenario (no disruption). Both plans' first-stage decisions
are then fixed and tested on the same ``robust.evaluation`` fresh scenarios (``ROBUST_EVALUATION`` stream, never
used to plan), one scenario at a time, their flows re-planned with the same objective (``replan``: the scenario's
hierarchy at the deterministic plan's budget in absolute USD). Re-planned on the undisrupted scenario, the
deterministic plan is ``solve``'s plan again (``nominal``). The value of the stochastic solution (VSS) is how
much the robust plan saves in expected present value of cost plus unmet demand, the latter at
``unmet_value_usd_per_t`` (``UNMET_DEMAND_PRICE_MULTIPLE`` times the reference price; as in
``results.cost_with_unmet_pv``), with its standard error over the equiprobable evaluation scenarios (paired
differences). The hierarchy re-plans for exposure within the budget on this total, not for the total alone, so
the VSS can be negative: a robust plan that buys independence or hedges can cost more than it saves in unmet
demand on the scenarios drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.analysis.replan import over_budget, replan
from engine.analysis.sampling import ROBUST_EVALUATION, ROBUST_PLAN, _universe, sample_factors, scenario_set
from engine.formulation import build_model
from engine.formulation.model import FIRST_STAGE, Model
from engine.formulation.variants import SampleModels
from engine.inputs.scenario import LoadedScenario
from engine.outputs.results import (
    attributed_by_group,
    build_table,
    overall_measures,
    share_terms,
    total_cost_pv,
    unmet_value,
)
from engine.outputs.summary import provenance
from engine.plan.branching import MinimumSizes
from engine.plan.hierarchy import Plan, PlanSession, add_checks
from engine.plan.noise import Slivers
from engine.plan.ties import tie_weights
from engine.solvers import SolverOptions, make_backend


@dataclass
class Evaluation:
    """A plan's first stage tested on a set of scenarios: expected values (present value, USD)."""

    label: str
    status: str
    shortfall_value_pv_usd: float = np.nan  # expected, at unmet_value_usd_per_t
    shortfall_cvar_pv_usd: float = np.nan
    shortfall_t: float = np.nan  # expected
    cost_pv_usd: float = np.nan  # expected, including the first stage
    exposure_pct: float = np.nan
    share_of_supply_pct: float = np.nan
    jv_capacity_tpy: float = np.nan
    scenarios_at_least_cost: int = 0  # where the least-cost re-plan exceeds the budget

    @property
    def total_usd(self) -> float:
        """Expected cost plus expected unmet demand at its value (``results.cost_with_unmet_pv``)."""
        return self.shortfall_value_pv_usd + self.cost_pv_usd


@dataclass
class RobustResult:
    scenario: str
    status: str
    message: str = ""
    builds: pd.DataFrame = field(default_factory=pd.DataFrame)  # robust plan's first stage
    deterministic_builds: pd.DataFrame = field(default_factory=pd.DataFrame)
    robust: Evaluation | None = None
    deterministic: Evaluation | None = None
    nominal: Evaluation | None = None  # the deterministic plan re-planned on the undisrupted scenario
    solved: Evaluation | None = None  # the deterministic plan as solved (solve's figures)
    budget_usd: float | None = None  # the budget both plans are re-planned under
    plan_scenarios: int = 0
    evaluation_scenarios: int = 0
    risk: str = "expected"
    alpha: float = 0.9
    vss_by_scenario_usd: np.ndarray = field(default_factory=lambda: np.empty(0))  # deterministic − robust
    inputs: dict[str, str] = field(default_factory=dict)  # outputs.summary.provenance of the scenario
    aggregate: str = "mean"  # the scenario's aggregate of the measures over minerals and years
    solver_checks: dict[str, int] = field(default_factory=dict)  # PlanSession.checks over every solve

    @property
    def vss_usd(self) -> float:
        """Value of the stochastic solution: expected (cost + unmet demand value), deterministic minus robust."""
        if self.robust is None or self.deterministic is None:
            return np.nan
        return self.deterministic.total_usd - self.robust.total_usd

    @property
    def vss_standard_error_usd(self) -> float:
        """Standard error of the VSS over the equiprobable evaluation scenarios: sd of the paired differences
        over √n (NaN with fewer than two)."""
        d = self.vss_by_scenario_usd
        return float(np.std(d, ddof=1) / np.sqrt(len(d))) if len(d) > 1 else np.nan

    @property
    def vss_significant(self) -> bool:
        """Whether the VSS is more than two standard errors from zero."""
        se = self.vss_standard_error_usd
        return bool(np.isfinite(se) and abs(self.vss_usd) > 2.0 * se)


def _first_stage(model: Model, x: np.ndarray) -> dict[tuple[str, tuple], float]:
    """First-stage values keyed by (block, key tuple), so they can be carried to another model."""
    out = {}
    for block in FIRST_STAGE:
        if block not in model.lp.variables:
            continue
        keys = model.lp.variables[block].keys
        values = x[model.block_cols(block)]
        out.update({(block, tuple(k)): float(v) for k, v in zip(keys.itertuples(index=False), values, strict=True)})
    return out


def _fix(session: PlanSession, decisions: dict[tuple[str, tuple], float]) -> None:
    model = session.model
    integer = set(model.lp.integer_cols.tolist())
    for block in FIRST_STAGE:
        if block not in model.lp.variables:
            continue
        keys = model.lp.variables[block].keys
        cols = model.block_cols(block)
        values = np.array([decisions.get((block, tuple(k)), 0.0) for k in keys.itertuples(index=False)])
        values = np.array([round(v) if c in integer else v for c, v in zip(cols, values, strict=True)])
        session.backend.set_col_bounds(cols, values, values)
    if integer:
        session.backend.set_integrality(model.lp.integer_cols, False)


def _outcome(model: Model, plan: Plan) -> dict:
    """One re-planned scenario: cost (first stage included), unmet tonnes and value, dependence, in PV USD."""
    if not plan.ok:
        return {"status": plan.status.value}
    x = plan.x
    cost, unmet = total_cost_pv(model, x), unmet_value(model, x)
    value = float(unmet["value_pv_usd"].sum())
    return {"status": "optimal", "cost_pv_usd": cost, "shortfall_t": float(unmet["shortfall_t"].sum()),
            "value_pv_usd": value, "total_pv_usd": cost + value,
            **overall_measures(model, attributed_by_group(model, x)),
            "jv_capacity_tpy": float(build_table(model, x)["capacity_tpy"].sum()),
            "at_least_cost": over_budget(plan)}


def _evaluation(label: str, outcomes: list[dict], alpha: float) -> Evaluation:
    """Expected values over equiprobable scenarios (the first non-optimal status, if any)."""
    failed = [o["status"] for o in outcomes if o["status"] != "optimal"]
    if failed or not outcomes:
        return Evaluation(label, failed[0] if failed else "no scenarios")
    frame = pd.DataFrame(outcomes)
    prob = np.full(len(frame), 1.0 / len(frame))
    return Evaluation(
        label, "optimal",
        shortfall_value_pv_usd=float(frame["value_pv_usd"].mean()),
        shortfall_cvar_pv_usd=_cvar(frame["value_pv_usd"].to_numpy(), prob, alpha),
        shortfall_t=float(frame["shortfall_t"].mean()),
        cost_pv_usd=float(frame["cost_pv_usd"].mean()),
        exposure_pct=float(frame["exposure_pct"].mean()),
        share_of_supply_pct=float(frame["share_of_supply_pct"].mean()),
        jv_capacity_tpy=float(frame["jv_capacity_tpy"].iloc[0]),
        scenarios_at_least_cost=int(frame["at_least_cost"].sum()),
    )


def _cvar(losses: np.ndarray, prob: np.ndarray, alpha: float) -> float:
    """Mean loss of the worst (1 − alpha) probability mass."""
    order = np.argsort(-losses)
    tail, total = 1.0 - alpha, 0.0
    remaining = tail
    for i in order:
        take = min(prob[i], remaining)
        total += take * losses[i]
        remaining -= take
        if remaining <= 1e-12:
            break
    return float(total / tail)


def _test(session: PlanSession, model: Model, plan: Plan, budget_usd: float | None) -> dict:
    """Fix ``plan``'s first stage on the loaded scenario and re-plan its flows under the scenario's objective."""
    session.backend.reset_basis()  # each scenario's outcome independent of what was solved before
    _fix(session, _first_stage(model, plan.x))
    return _outcome(session.model, replan(session, budget_usd))


def _test_on_fresh(loaded: LoadedScenario, plans: dict[str, tuple[Model, Plan]], budget_usd: float | None,
                   solver: str | None, progress: Callable[[int, int], None] | None = None,
                   checks: dict[str, int] | None = None) -> dict[str, list[dict]]:
    """Each plan on each evaluation scenario in turn, one scenario at a time (so no scenario's recourse depends
    on another's), each on a solver object loaded afresh: a reused one keeps state that a cleared basis does not
    reset, and an outcome would depend on what that object solved before. Each scenario's model is changed from the
    model built once (``formulation/variants.py``: the LP a fresh build of it would give, bit for bit)."""
    settings = loaded.scenario.robust
    outcomes: dict[str, list[dict]] = {label: [] for label in plans}
    models = SampleModels(loaded)  # built once; each evaluation scenario's numbers changed from it
    universe = _universe(loaded)
    ties, sizes = tie_weights(models.base.lp), MinimumSizes(models.base)  # the same for every scenario's model
    slivers = Slivers(models.base)
    for index in range(settings.evaluation):
        one, _ = sample_factors(loaded, index, settings.seed, ROBUST_EVALUATION, universe=universe)
        model = models.model(one)
        if models.supports(one) is None:
            share_terms(model, models.base)
        for label, (planned_on, plan) in plans.items():
            session = PlanSession(model, make_backend(solver, SolverOptions()), ties=ties, sizes=sizes,
                                  slivers=slivers)
            outcomes[label].append(_test(session, planned_on, plan, budget_usd))
            if checks is not None:
                add_checks(checks, session.checks)
        if progress is not None:
            progress(2 + index + 1, 2 + settings.evaluation)
    return outcomes


def robust(loaded: LoadedScenario, *, solver: str | None = None,
           progress: Callable[[int, int], None] | None = None) -> RobustResult:
    """Solve the two-stage plan, the deterministic plan, and test both on the same fresh scenarios with the same
    re-planning objective: the scenario's hierarchy at the deterministic plan's budget (absolute USD).
    ``progress(done, total)``: after the two plans, then after each evaluation scenario."""
    settings = loaded.scenario.robust
    alpha = settings.alpha if settings.risk == "cvar" else None
    result = RobustResult(loaded.name, "optimal", inputs=provenance(loaded), plan_scenarios=settings.scenarios,
                          aggregate=loaded.scenario.objective.aggregate, evaluation_scenarios=settings.evaluation,
                          risk=settings.risk, alpha=settings.alpha)
    plan_set, _ = scenario_set(loaded, list(range(settings.scenarios)), settings.seed, ROBUST_PLAN)
    stochastic = build_model(loaded, plan_set, cvar_alpha=alpha)
    checks = result.solver_checks
    robust_session = PlanSession(stochastic, make_backend(solver, SolverOptions()))
    robust_plan = robust_session.solve()
    add_checks(checks, robust_session.checks)
    if progress is not None:
        progress(1, 2 + settings.evaluation)
    deterministic = build_model(loaded)
    deterministic_session = PlanSession(deterministic, make_backend(solver, SolverOptions()))
    deterministic_plan = deterministic_session.solve()
    add_checks(checks, deterministic_session.checks)
    if progress is not None:
        progress(2, 2 + settings.evaluation)
    for plan in (robust_plan, deterministic_plan):
        if not plan.ok:
            result.status, result.message = plan.status.value, plan.message
            return result
    result.builds = build_table(stochastic, robust_plan.x)
    result.deterministic_builds = build_table(deterministic, deterministic_plan.x)
    result.budget_usd = deterministic_plan.budget_usd
    result.solved = _evaluation("solve", [_outcome(deterministic, deterministic_plan)], settings.alpha)
    nominal = PlanSession(deterministic, make_backend(solver, SolverOptions()))
    result.nominal = _evaluation("nominal", [_test(nominal, deterministic, deterministic_plan, result.budget_usd)],
                                 settings.alpha)
    add_checks(checks, nominal.checks)
    outcomes = _test_on_fresh(loaded, {"robust": (stochastic, robust_plan),
                                       "deterministic": (deterministic, deterministic_plan)},
                              result.budget_usd, solver, progress, checks)
    result.robust = _evaluation("robust", outcomes["robust"], settings.alpha)
    result.deterministic = _evaluation("deterministic", outcomes["deterministic"], settings.alpha)
    if result.robust.status == "optimal" and result.deterministic.status == "optimal":
        result.vss_by_scenario_usd = np.array([d["total_pv_usd"] - r["total_pv_usd"] for d, r in
                                               zip(outcomes["deterministic"], outcomes["robust"], strict=True)])
    return result
