"""One scenario end to end: load, build, solve the hierarchy, make tables and the summary.

This is the library entry point the CLI calls; notebooks and sweeps can call it too::

    from engine.run import run_scenario
    result = run_scenario("baseline")
    result.summary["dependence"]["exposure"]["by_mineral"]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import InputError
from engine.formulation import build_model
from engine.formulation.model import Model
from engine.inputs.scenario import LoadedScenario, load_scenario
from engine.outputs.duals import shadow_prices, whole_unit_relaxations
from engine.outputs.policy_status import base_figures, policy_tables, relaxation_candidates
from engine.outputs.results import Tables, make_tables
from engine.outputs.summary import make_summary
from engine.plan.hierarchy import Plan, PlanSession
from engine.plan.impacts import Impacts
from engine.solvers import SolverOptions, make_backend
from engine.solvers.base import Backend


@dataclass
class RunResult:
    """Everything one run produced."""

    loaded: LoadedScenario
    model: Model
    plan: Plan
    backend: Backend
    session: PlanSession
    tables: Tables | None
    summary: dict
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.plan.ok


def run_scenario(spec: str | Path | LoadedScenario | None = None, *, solver: str | None = None,
                 time_limit: float | None = None, log: bool = False, export: Sequence[Path] = (),
                 impacts: bool = True) -> RunResult:
    """Solve a scenario (a path, a shipped name, or an already loaded scenario) and summarise it. ``export``: .lp or
    .mps files to write the final stage to, exactly as solved (before the duals are taken). ``impacts`` False skips
    the policy table's re-solves (every policy ``not computed`` in policies.csv)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if isinstance(spec, LoadedScenario):
        loaded = spec
    else:
        loaded = load_scenario(spec)
        timings["load_s"] = time.perf_counter() - t0
    single_buyer_only(loaded)
    t = time.perf_counter()
    model = build_model(loaded)
    timings["build_s"] = time.perf_counter() - t
    backend = make_backend(solver, SolverOptions(time_limit=time_limit, log=log))
    t = time.perf_counter()
    session = PlanSession(model, backend)
    timings["handoff_s"] = time.perf_counter() - t
    t = time.perf_counter()
    plan = session.solve(time_limit)
    timings["solve_s"] = time.perf_counter() - t
    for path in export:
        session.write(path, plan)
    return finish_run(loaded, model, session, plan, timings, t0, impacts=impacts)


def single_buyer_only(loaded: LoadedScenario) -> None:
    """Refuse, in one line, to plan a ``market: equilibrium`` scenario with the single-buyer model (market mode is
    solved through ``engine.market``: the commands and ``engine.api`` go there)."""
    if loaded.scenario.market != "none":
        raise InputError(f"scenario '{loaded.name}' has market: {loaded.scenario.market}; the single-buyer model "
                         f"does not plan it: engine.market.solve_market (or engine.api.solve) solves market mode")


def finish_run(loaded: LoadedScenario, model: Model, session: PlanSession, plan: Plan, timings: dict[str, float],
               started: float, *, impacts: bool = True) -> RunResult:
    """The tables (with duals and the policies' impacts) and the summary of a solved plan: every run, cold or a
    warm re-solve of a session, is reported here. ``timings['impacts_s']``: the re-solves of the policy table
    (``engine/plan/impacts.py``), each policy removed and the binding ones relaxed by a unit, on the loaded session."""
    t = time.perf_counter()
    tables = None
    if plan.ok:
        tables = make_tables(model, plan.x, plan.least_cost.x if plan.least_cost else None)
        duals = session.cost_duals(plan, probe=lambda sol: whole_unit_relaxations(model, sol))
        tables.extra["duals"] = shadow_prices(model, duals)
        timings["results_s"] = time.perf_counter() - t
        t = time.perf_counter()
        base = base_figures(model, plan)
        removals, relaxations = None, []
        if impacts:
            resolves = Impacts(session, loaded, plan, solver=session.backend.name)
            removals = resolves.removals()
            relaxations = resolves.relaxations(relaxation_candidates(model, plan, removals, tables.extra["duals"],
                                                                     base))
        tables.extra["policies"], tables.extra["policy_years"] = policy_tables(model, plan, removals, relaxations,
                                                                              base)
        timings["impacts_s"] = time.perf_counter() - t
    else:
        timings["results_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - started
    summary = make_summary(model, plan, tables, session.backend, timings)
    return RunResult(loaded, model, plan, session.backend, session, tables, summary, timings)
