"""Solver trust: every stage, dual and exported model belongs to the reported plan, whichever solver ran.

Properties over the shipped scenarios and seeded random variants (``benchmarks/solver_trust.py``: random minerals,
horizon, demand, exportable shares, budgets, bans, tariffs and caps):
- the model written with ``--write-mps`` is the final stage as solved: highspy alone reproduces its objective;
- the reported plan satisfies every bound and row of that exported model (an independent copy: HiGHS's reading);
- the duals come from an LP the plan is an optimum of;
- HiGHS and CBC agree on every stage objective (relative 1e-6).
Unit tests show each check can fail: a point breaking a bound is rejected and solved again, a plan that is not an
optimum gets no duals, GLPK's options and missing solvers are handled.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import highspy
import numpy as np
import pytest
from click.testing import CliRunner

from benchmarks.solver_trust import SHIPPED, stage_differences, variant
from engine.cli import main
from engine.errors import InputError
from engine.formulation import build_model
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.outputs.display import tonnes
from engine.plan.hierarchy import PlanSession
from engine.run import run_scenario
from engine.solvers import SolverOptions, Status, make_backend
from engine.solvers.base import (
    FEASIBILITY_ABS_TOL,
    FEASIBILITY_REL_TOL,
    MIP_REL_GAP,
    beyond_noise,
)
from engine.solvers.pulp_backend import ALIASES, PulpBackend

from conftest import tiny_scenario

VARIANTS = int(os.environ.get("CRITMIN_TRUST_VARIANTS", "50"))
"""Random variants checked with HiGHS (at least 50 in the default run; set more with CRITMIN_TRUST_VARIANTS)."""
CBC_EVERY = int(os.environ.get("CRITMIN_TRUST_CBC_EVERY", "10"))
"""Every how many variants CBC is compared too (10 in the default run: a CBC hierarchy costs 0.3-0.7 s of process
starts; CRITMIN_TRUST_CBC_EVERY=1 compares all; ``python -m benchmarks.solver_trust`` compares 100 and measures)."""


# ------------------------------------------------------------------------------------------- the properties
def read_exported(path: Path) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    return h


def exported_violation(h: highspy.Highs, names: list[str], x: np.ndarray) -> float:
    """How far ``x`` (model order, named ``names``) is outside the exported model's bounds and rows, in units of the
    stated tolerance (<= 1 is inside)."""
    lp = h.getLp()
    index = {n: j for j, n in enumerate(names)}
    y = np.array([x[index[n]] for n in lp.col_names_])
    a = lp.a_matrix_
    import scipy.sparse

    matrix = scipy.sparse.csc_matrix((a.value_, a.index_, a.start_), shape=(lp.num_row_, lp.num_col_))
    act, size = matrix @ y, abs(matrix) @ np.abs(y)
    worst = 0.0
    for value, lower, upper, scale in ((y, np.array(lp.col_lower_), np.array(lp.col_upper_), np.abs(y)),
                                       (act, np.array(lp.row_lower_), np.array(lp.row_upper_), size)):
        lower = np.where(lower <= -1e30, -np.inf, lower)
        upper = np.where(upper >= 1e30, np.inf, upper)
        bound = np.maximum(np.where(np.isfinite(lower), np.abs(lower), 0),
                           np.where(np.isfinite(upper), np.abs(upper), 0))
        tol = FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL * np.maximum(scale, bound)
        excess = np.maximum(np.maximum(lower - value, value - upper), 0.0)
        worst = max(worst, float(np.max(excess / tol, initial=0.0)))
    return worst


def check_plan(model, session: PlanSession, tmp_path: Path):
    """Solve on ``session``, take the duals, export the final stage, and check the export, the point and the duals.
    Returns the plan."""
    plan = session.solve()
    assert plan.stage_retries == 0, plan.notes
    if not plan.ok:
        return plan
    session.cost_duals(plan)
    path = tmp_path / f"{model.loaded.name}.mps"
    session.write(path, plan)  # the final stage as solved: its slivers held at zero
    h = read_exported(path)
    final = plan.stages[-1]
    is_mip = bool(model.lp.integer_cols.size)
    # the plan is a point of the exported model, and its objective there is the final stage's level
    names = model.lp.col_names()
    assert exported_violation(h, names, plan.x) <= 1.0, model.loaded.name
    lp = h.getLp()
    cost = np.array(lp.col_cost_)
    index = {n: j for j, n in enumerate(names)}
    assert float(cost @ np.array([plan.x[index[n]] for n in lp.col_names_])) == pytest.approx(
        final.objective, rel=1e-12, abs=1e-9)
    # highspy alone reaches the same optimum
    h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible and is_mip:
        # HiGHS's MIP presolve can call the final stage (its levels fixed within 1e-8) infeasible although the
        # plan is a point of it (checked above): seen on ga_ge_ban-variant-0-3 once the input tables are read in
        # key order. Without presolve HiGHS solves it
        h = read_exported(path)
        h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        h.setOptionValue("presolve", "off")
        h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    tolerance = 2 * MIP_REL_GAP if is_mip else 1e-9
    assert h.getInfo().objective_function_value == pytest.approx(final.objective, rel=tolerance, abs=1e-9), \
        model.loaded.name
    # the duals belong to the plan
    assert plan.duals_checked is True, plan.notes
    return plan


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_export_points_and_duals(name, tmp_path):
    model = build_model(load_scenario(name))
    plan = check_plan(model, PlanSession(model, make_backend("highs")), tmp_path)
    assert plan.ok and plan.rejected_points == 0


def test_summary_counts_the_checks():
    result = run_scenario(load_scenario("ga_ge_ban"))
    assert result.summary["solver_checks"] == {"points_rejected": 0, "stage_retries": 0, "duals_belong_to_plan": True}


def test_random_variants_highs_and_cbc(tmp_path):
    """≥ 50 seeded variants: export, points and duals with HiGHS; CBC agrees on every stage objective."""
    assert VARIANTS >= 50
    solved = refused = 0
    for i in range(VARIANTS):
        model = build_model(variant(0, i))
        highs = check_plan(model, PlanSession(model, make_backend("highs")), tmp_path)
        solved += highs.ok
        if i % CBC_EVERY:
            continue
        cbc = PlanSession(model, make_backend("cbc")).solve()
        assert cbc.stage_retries == 0, cbc.notes
        if cbc.status is Status.ERROR and cbc.rejected_points:
            # named reason: CBC's MIP returned points that break the model, with and without preprocessing (seen:
            # a flow below 0, a binary at 0 under 1e-4 t/yr of build); reported as a solver error, never optimal
            refused += 1
            continue
        assert cbc.status == highs.status, (model.loaded.name, cbc.notes)
        if not cbc.ok:
            continue
        assert [s.name for s in cbc.stages] == [s.name for s in highs.stages]
        assert max(stage_differences(highs.stages, cbc.stages)) <= 1e-6, model.loaded.name
    assert solved >= VARIANTS // 2  # the variants are mostly feasible: the properties are exercised
    assert refused <= VARIANTS // (10 * CBC_EVERY)


def test_cbc_on_ga_ge_ban_matches_highs():
    loaded = load_scenario("ga_ge_ban")
    model = build_model(loaded)
    plans = [PlanSession(model, make_backend(name)).solve() for name in ("highs", "cbc")]
    assert [p.status for p in plans] == [Status.OPTIMAL, Status.OPTIMAL]
    assert max(stage_differences(*[p.stages for p in plans])) <= 1e-6


# ------------------------------------------------------------------------------------------- each check can fail
def test_a_point_outside_a_bound_is_rejected_then_solved_again(tiny, monkeypatch):
    model = build_model(scenario_from_dict(tiny_scenario(), tiny))
    backend = make_backend("cbc")
    session = PlanSession(model, backend)
    backend.is_mip = True  # the retry without preprocessing is for MIPs
    real, calls = PulpBackend._solve, []

    def first_bad(self, solver, duals):
        sol = real(self, solver, duals)
        calls.append(list(solver.options))
        if len(calls) == 1 and sol.x is not None:
            sol.x = sol.x.copy()
            sol.x[model.block_cols("flow")[0]] = 23.5e3  # far above its capacity
        return sol

    monkeypatch.setattr(PulpBackend, "_solve", first_bad)
    backend.set_objective(session.objectives["cost"])
    sol = backend.solve()
    assert calls == [[], ["preprocess off"]]
    assert sol.ok and len(sol.rejected) == 1
    assert sol.rejected[0].startswith("COIN_CMD returned a point that breaks ")
    assert re.search(r"row demand\[ga,2025,0\] = 235\d0 outside \[40, 40\]", sol.rejected[0]), sol.rejected[0]
    assert sol.rejected[0].endswith("solved again without preprocessing")


def test_a_point_that_stays_bad_is_a_solver_error_not_optimal(tiny, monkeypatch):
    model = build_model(scenario_from_dict(tiny_scenario(), tiny))
    backend = make_backend("highs")
    session = PlanSession(model, backend)
    real = type(backend)._solve

    def always_bad(self, duals):
        sol = real(self, duals)
        if sol.x is not None:
            sol.x = sol.x + 5.0
        return sol

    monkeypatch.setattr(type(backend), "_solve", always_bad)
    plan = session.solve()
    assert plan.status is Status.ERROR
    assert plan.rejected_points == 2  # the first point, and the one solved again from scratch
    assert "HiGHS returned a point that breaks row demand[ga,2025,0] = 60 outside [40, 40]" in plan.message


def test_warm_re_solves_count_rejected_points(tiny, monkeypatch):
    from engine.analysis.frontier_run import run_frontier
    from engine.solvers.highs import HighsBackend

    real, calls = HighsBackend._solve, []

    def third_bad(self, duals):
        sol = real(self, duals)
        calls.append(1)
        if len(calls) == 2 and sol.x is not None:  # the least-cost reference
            sol.x = sol.x + 7.0
        return sol

    monkeypatch.setattr(HighsBackend, "_solve", third_bad)
    run = run_frontier(scenario_from_dict(tiny_scenario(minerals=["ga", "ge"]), tiny), points=3)
    assert run.ok and list(run.table["status"]) == ["optimal"] * 3
    assert run.solver_checks == {"points_rejected": 1, "stage_retries": 0}


def test_levels_are_c_x_of_the_point_not_the_solver_figure(tiny, monkeypatch):
    model = build_model(scenario_from_dict(tiny_scenario(), tiny))
    backend = make_backend("highs")
    session = PlanSession(model, backend)
    real = type(backend)._solve

    def off_by(self, duals):
        sol = real(self, duals)
        if sol.objective is not None:
            sol.objective += 1.2e-4  # what a MIP reported on random variants of the baseline
        return sol

    monkeypatch.setattr(type(backend), "_solve", off_by)
    plan = session.solve()
    assert plan.ok and plan.stage_retries == 0
    cost = session.objectives["cost"]
    # gallium: 40 t from China's 50 t at 100 USD/t: USD 4,000, 40 LP units of USD 100; the solver said 40.00012
    assert plan.stages[0].name == "least_cost" and plan.stages[0].objective == pytest.approx(40.0, rel=1e-12)
    assert plan.least_cost_usd == pytest.approx(4000.0, rel=1e-7)  # the reference plan: within the level's slack
    row = session.level_rows["budget"]
    assert backend.solved.row_upper[row] == pytest.approx(float(cost @ plan.x) + session.slack(float(cost @ plan.x)))


def test_duals_of_another_plan_are_withheld(tiny):
    # germanium: China 100 t at 1,000, Germany 5 t at 1,500, demand 10; least cost buys all from China
    model = build_model(scenario_from_dict(tiny_scenario(minerals=["ge"], objective={"budget": "+100%"}), tiny))
    session = PlanSession(model, make_backend("highs"))
    plan = session.solve()
    assert plan.ok
    other = plan.least_cost.x  # cheaper, more dependent: not a point of the final stage (dependence fixed)
    sol, why = session.duals_at(other, session.allowance(float(session.objectives["cost"] @ other)))
    assert sol is None and "breaks row fix_dependence" in why
    sol, why = session.duals_at(plan.x, session.allowance(float(session.objectives["cost"] @ plan.x)))
    assert sol is not None and why == ""


def test_duals_with_unmet_demand_price_the_reported_plan(tiny, tmp_path):
    # gallium demand 40 t but only China 25 t exportable under a half quota, Germany 20, Japan 10 → none unmet;
    # banning China leaves 10 t unmet: the duals LP keeps that level and prices the ban's extra unmet demand
    data = tiny_scenario(policies=[{"type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}])
    result = run_scenario(scenario_from_dict(data, tiny))
    assert result.summary["shortfall"]["total_t"] == pytest.approx(10.0)
    assert result.plan.duals_checked is True
    duals = result.tables.extra["duals"]
    ban = duals[duals["family"] == "bound"]
    # one more Chinese tonne meets a tonne of unmet demand (10 × 100 USD) instead of nothing: saves 1,000 - 100
    assert float(ban["dual_usd"].iloc[0]) == pytest.approx(900.0)


def test_exported_model_is_the_final_stage_before_and_after_the_duals(tiny, tmp_path):
    # 10 t of gallium unmet at 10 × 100 USD/t: the final stage minimises cost including it, and the exported model
    # is that stage (it once held the duals' objective instead)
    data = tiny_scenario(policies=[{"type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}])
    before = tmp_path / "before.mps"
    result = run_scenario(scenario_from_dict(data, tiny), export=[before])
    after = tmp_path / "after.lp"
    result.session.write(after, result.plan)
    final = result.plan.stages[-1]
    # 20 × 150 + 10 × 200 of supply + 10 t × 1,000 unmet
    assert final.name == "cost" and final.objective == pytest.approx(15_000.0 / result.model.money_unit)
    for path in (before, after):
        h = read_exported(path)
        h.run()
        assert h.getInfo().objective_function_value == pytest.approx(final.objective, rel=1e-9), path.name


# ------------------------------------------------------------------------------------------- solvers by alias
@pytest.mark.parametrize("alias", sorted({*ALIASES, "pulp"} - {"highs"}))
def test_every_alias_solves_or_says_it_is_not_installed(alias, tiny):
    loaded = scenario_from_dict(tiny_scenario(), tiny)
    try:
        backend = make_backend(alias, SolverOptions())
    except InputError as exc:
        assert str(exc).startswith(f"solver '{alias}' (PuLP's ") and "is not installed here; installed: highs" \
            in str(exc)
        return
    plan = PlanSession(build_model(loaded), backend).solve()
    assert plan.ok and plan.least_cost_usd == pytest.approx(4000.0, rel=1e-6)


def test_cli_names_a_missing_solver_in_one_line(tiny):
    missing = [a for a in sorted(ALIASES) if a != "highs" and _missing(a)]
    if not missing:
        pytest.skip("every PuLP alias is installed here")
    r = CliRunner().invoke(main, ["solve", "baseline", "--solver", missing[0], "--no-write"])
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output
    assert "is not installed here" in r.output


def _missing(alias: str) -> bool:
    try:
        make_backend(alias)
    except InputError:
        return True
    return False


def test_glpk_gets_its_gap_on_its_command_line():
    from engine.solvers.pulp_backend import pulp_solver

    try:
        solver = pulp_solver("glpk", SolverOptions(mip_rel_gap=1e-5))
    except InputError:
        pytest.skip("GLPK is not installed here")
    assert solver.options == ["--mipgap", "1e-05"]


# ------------------------------------------------------------------------------------------- scaling and noise
def test_dependence_objective_is_scaled_like_money():
    model = build_model(load_scenario("baseline"))
    values = np.abs(model.lp.objective("dependence"))
    values = values[values > 0]
    assert 1e-2 <= np.median(values) <= 10.0  # near 1, as cost coefficients are
    assert model.dependence_unit == 1e-5  # percent per tonne runs from 1.1e-6 to 0.10 on the default data


def test_noise_never_reaches_a_printout():
    assert tonnes(8.7e-5) == "0" and tonnes(0.01) == "0.01"
    least = 62_729_277_020.0
    assert beyond_noise(619.0, least) == 0.0  # the slack of a fixed level, not a premium
    assert beyond_noise(1_254_585_532.0, least) == 1_254_585_532.0


def test_frontier_starts_at_no_premium(tiny):
    from engine.analysis.frontier import compute_frontier

    session = PlanSession(build_model(scenario_from_dict(tiny_scenario(minerals=["ga", "ge"]), tiny)),
                          make_backend("highs"))
    table = compute_frontier(session, points=4).table
    assert table["premium_usd"].iloc[0] == 0.0 and table["premium_pct"].iloc[0] == 0.0

