"""Two-stage stochastic planning and the value of the stochastic solution.

The robust plan is one LP over ``robust.scenarios`` sampled disruptions (``sampling.ROBUST_PLAN`` stream): JV
builds and stockpile purchases are chosen once (first stage); purchases, JV output, draws and shortfall per
scenario (second stage). Its first objective is expected shortfall value, or its CVaR at ``robust.alpha``; then
the scenario's hierarchy (expected dependence within the budget, then expected cost).

The deterministic plan is the ordinary solve of the scenario (no disruption). Both plans' first-stage decisions
are then fixed and tested on ``robust.evaluation`` fresh scenarios (``ROBUST_EVALUATION`` stream, never used to
plan): the value of the stochastic solution (VSS) is how much the robust plan saves there in expected cost plus
expected unmet demand, the latter at ``unmet_value_usd_per_t`` (``UNMET_DEMAND_PRICE_MULTIPLE`` = 10 times its
reference price), the same value of lost load the shadow prices use (the hierarchy itself treats shortfall as
worse than any cost).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.analysis.sampling import ROBUST_EVALUATION, ROBUST_PLAN, scenario_set
from engine.formulation import build_model
from engine.formulation.model import FIRST_STAGE, Model
from engine.hierarchy import Plan, PlanSession
from engine.results import attributed_by_group, build_table, dependence_metric, total_cost_pv
from engine.scenario import LoadedScenario
from engine.solvers import SolverOptions, make_backend


@dataclass
class Evaluation:
    """A plan's first stage tested on the evaluation scenarios."""

    label: str
    status: str
    shortfall_value_usd: float = np.nan  # expected
    shortfall_cvar_usd: float = np.nan
    shortfall_t: float = np.nan  # expected
    cost_pv_usd: float = np.nan  # expected, including the first stage
    dependence_pct: float = np.nan
    jv_capacity_tpy: float = np.nan

    @property
    def total_usd(self) -> float:
        """Expected cost plus expected unmet demand at its value (``unmet_value_usd_per_t``)."""
        return self.shortfall_value_usd + self.cost_pv_usd


@dataclass
class RobustResult:
    scenario: str
    status: str
    message: str = ""
    builds: pd.DataFrame = field(default_factory=pd.DataFrame)  # robust plan's first stage
    deterministic_builds: pd.DataFrame = field(default_factory=pd.DataFrame)
    robust: Evaluation | None = None
    deterministic: Evaluation | None = None
    plan_scenarios: int = 0
    evaluation_scenarios: int = 0
    risk: str = "expected"
    alpha: float = 0.9

    @property
    def vss_usd(self) -> float:
        if self.robust is None or self.deterministic is None:
            return np.nan
        return self.deterministic.total_usd - self.robust.total_usd


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


def _evaluate(model: Model, plan: Plan, label: str, alpha: float) -> Evaluation:
    if not plan.ok:
        return Evaluation(label, plan.status.value)
    x = plan.x
    dep = attributed_by_group(model, x)
    value = dep["shortfall_t"].to_numpy() * model.demand["unmet_value_usd_per_t"].to_numpy()
    per_scen = pd.Series(value).groupby(dep["scen"].to_numpy()).sum()
    prob = model.scenarios.set_index("scen")["probability"].reindex(per_scen.index).to_numpy()
    return Evaluation(
        label, "optimal",
        shortfall_value_usd=float((per_scen.to_numpy() * prob).sum()),
        shortfall_cvar_usd=_cvar(per_scen.to_numpy(), prob, alpha),
        shortfall_t=float((pd.Series(dep["shortfall_t"].to_numpy()).groupby(dep["scen"].to_numpy()).sum()
                           .to_numpy() * prob).sum()),
        cost_pv_usd=total_cost_pv(model, x),
        dependence_pct=dependence_metric(model, dep),
        jv_capacity_tpy=float(build_table(model, x)["capacity_tpy"].sum()),
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


def robust(loaded: LoadedScenario, *, solver: str | None = None) -> RobustResult:
    """Solve the two-stage plan, the deterministic plan, and test both on fresh scenarios."""
    settings = loaded.scenario.robust
    alpha = settings.alpha if settings.risk == "cvar" else None
    result = RobustResult(loaded.name, "optimal", plan_scenarios=settings.scenarios,
                          evaluation_scenarios=settings.evaluation, risk=settings.risk, alpha=settings.alpha)
    plan_set, _ = scenario_set(loaded, list(range(settings.scenarios)), settings.seed, ROBUST_PLAN)
    stochastic = build_model(loaded, plan_set, cvar_alpha=alpha)
    robust_plan = PlanSession(stochastic, make_backend(solver, SolverOptions())).solve()
    deterministic = build_model(loaded)
    deterministic_plan = PlanSession(deterministic, make_backend(solver, SolverOptions())).solve()
    for plan in (robust_plan, deterministic_plan):
        if not plan.ok:
            result.status, result.message = plan.status.value, plan.message
            return result
    result.builds = build_table(stochastic, robust_plan.x)
    result.deterministic_builds = build_table(deterministic, deterministic_plan.x)
    evaluation_set, _ = scenario_set(loaded, list(range(settings.evaluation)), settings.seed, ROBUST_EVALUATION)
    evaluation = build_model(loaded, evaluation_set)
    for label, model, plan in (("robust", stochastic, robust_plan), ("deterministic", deterministic,
                                                                      deterministic_plan)):
        session = PlanSession(evaluation, make_backend(solver, SolverOptions()))
        _fix(session, _first_stage(model, plan.x))
        tested = session.solve(minimise="cost")
        setattr(result, label, _evaluate(evaluation, tested, label, settings.alpha))
    return result
