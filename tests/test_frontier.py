"""The price-of-independence frontier and shadow prices, checked by hand on the tiny gallium model.

Gallium 2025, demand 40 t: CHN-GA 50 t at 100 USD/t, DEU-GA 20 t at 150, JPN-GA 10 t at 200.
One percentage point of dependence is 0.4 t. From 100% down to 50% each point swaps 0.4 t China→Germany
(+50 USD/t → 20 USD per point); from 50% to 25% China→Japan (+100 USD/t → 40 USD per point).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from click.testing import CliRunner

from engine.analysis.frontier import compute_frontier
from engine.cli import main
from engine.formulation import build_model
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import scenario_from_dict
from engine.plan.hierarchy import PlanSession
from engine.solvers import SolverOptions, make_backend

from conftest import TINY_CAPACITY, solve_dict, tiny_scenario, write_dataset

approx = functools.partial(pytest.approx, rel=1e-5, abs=1e-3)


def session_for(dataset, **overrides) -> PlanSession:
    loaded = scenario_from_dict(tiny_scenario(**overrides), dataset)
    return PlanSession(build_model(loaded), make_backend("highs"))


def test_frontier_by_hand(tiny):
    result = compute_frontier(session_for(tiny), caps=[100, 75, 50, 37.5, 25])
    t = result.table
    assert list(t["status"]) == ["optimal"] * 5
    assert list(t["cost_pv_usd"]) == approx([4000, 4500, 5000, 5500, 6000])
    assert list(t["exposure_pct"]) == approx([100, 75, 50, 37.5, 25])
    # duals strictly inside the linear pieces equal the slope; finite differences match them
    assert t.loc[1, "marginal_usd_per_pp"] == approx(20.0)
    assert t.loc[3, "marginal_usd_per_pp"] == approx(40.0)
    assert list(t["finite_difference_usd_per_pp"].iloc[1:]) == approx([20, 20, 40, 40])


def test_frontier_is_monotone_and_ends_at_the_single_objective_solves(tiny):
    result = compute_frontier(session_for(tiny, minerals=["ga", "ge"]), points=9)
    t = result.table
    costs = t["cost_with_unmet_pv_usd"].to_numpy()  # what the frontier minimises: cost including unmet demand
    assert np.all(np.diff(costs) >= -1e-6), "cost must never fall as the cap tightens"
    assert list(t["cost_pv_usd"] + t["unmet_value_pv_usd"]) == approx(list(costs))
    assert np.all(np.diff(t["exposure_pct"].to_numpy()) <= 1e-9)
    least_cost = solve_dict(tiny, minerals=["ga", "ge"], objective={"minimise": "cost"})
    least_dependent = solve_dict(tiny, minerals=["ga", "ge"], objective={"budget": "+10000%"})
    assert costs[0] == approx(least_cost.summary["cost"]["total_with_unmet_pv_usd"])
    assert t["exposure_pct"].iloc[0] == approx(least_cost.summary["dependence"]["exposure"]["overall_pct"])
    assert costs[-1] == approx(least_dependent.summary["cost"]["total_with_unmet_pv_usd"])
    assert t["exposure_pct"].iloc[-1] == approx(least_dependent.summary["dependence"]["exposure"]["overall_pct"])


def test_mineral_frontier_and_infeasible_caps(tiny):
    # germanium alone: China 100 t at 1,000, Germany 5 t at 1,500, demand 10 → floor 50%, 50 USD per point
    result = compute_frontier(session_for(tiny, minerals=["ga", "ge"]), target="ge", caps=[80, 60, 40])
    t = result.table
    assert list(t["status"]) == ["optimal", "optimal", "infeasible"]
    assert t.loc[1, "marginal_usd_per_pp"] == approx(50.0)
    assert t.loc[1, "premium_usd"] == approx(40 * 50.0)


def test_policy_dual_equals_finite_difference(tiny):
    # a 50% country cap binds on China: one more tonne from China replaces one from Germany → saves 50 USD
    def cost(share: float) -> float:
        r = solve_dict(tiny, objective={"minimise": "cost"},
                       policies=[{"type": "country_cap", "name": "cap", "max_share": share}])
        return r.summary["cost"]["total_pv_usd"], r

    base, result = cost(0.5)
    duals = result.tables.extra["duals"]
    china = duals[(duals["policy"] == "cap") & (duals["country"] == "CHN")]
    assert china["dual_usd"].tolist() == approx([50.0])
    relaxed, _ = cost(0.5 + 1 / 40)  # the cap's right-hand side grows by exactly one tonne
    assert base - relaxed == approx(50.0)
    assert "adds USD 50 per tonne" in china["reading"].iloc[0]


def test_a_dual_that_holds_for_part_of_a_unit_says_what_the_whole_unit_saves(tmp_path):
    # China can ship only 20.5 t (41 t at 50% exportable); a 50% cap holds it at 20 t of the 40 t demand. The cap's
    # dual is 50 USD per tonne (a Chinese tonne replaces a German one, 100 against 150), but relaxing it by a whole
    # tonne lets only 0.5 t more through: it saves 25. The five most expensive duals are re-solved that way.
    capacity = [dict(row) for row in TINY_CAPACITY]
    next(row for row in capacity if row["source_id"] == "CHN-GA")["capacity_t"] = 41
    dataset = load_dataset(write_dataset(tmp_path / "inputs", capacity=capacity))
    r = solve_dict(dataset, objective={"minimise": "cost"},
                   policies=[{"type": "country_cap", "name": "cap", "max_share": 0.5}])
    duals = r.tables.extra["duals"]
    china = duals[duals["country"] == "CHN"].iloc[0]
    assert (china["dual_usd"], china["whole_unit_usd"]) == (approx(50.0), approx(25.0))
    # its ranging says the same: the dual holds for the first 0.5 t; tightened, Germany is full and Japan's tonnes
    # cost 200, so it holds for 0 t that way
    assert (china["holds_relaxing"], china["holds_tightening"]) == (approx(0.5), 0.0)
    assert china["reading"] == ("'cap' on CHN for gallium in 2025 adds USD 50 per tonne, for the first 0.5 t relaxed "
                                "and 0 t tightened (ranging); a whole tonne saves USD 25")


def test_a_dual_that_holds_for_a_whole_unit_reads_as_before(tiny):
    # with China's 50 t exportable the same cap's dual holds for 20 t (until China has replaced Germany's 20 t): a
    # whole tonne saves the dual, and the reading does not repeat it
    r = solve_dict(tiny, objective={"minimise": "cost"},
                   policies=[{"type": "country_cap", "name": "cap", "max_share": 0.5}])
    china = r.tables.extra["duals"].query("country == 'CHN'").iloc[0]
    assert china["whole_unit_usd"] == approx(50.0)
    assert china["reading"] == ("'cap' on CHN for gallium in 2025 adds USD 50 per tonne, for the first 20 t relaxed "
                                "and 0 t tightened (ranging)")


def test_ban_is_priced_by_the_source_it_holds_back(tiny):
    # China banned: Germany 20 t + Japan 10 t, 10 t unmet. Duals price unmet demand at 10 × 100 USD/t, so a
    # tonne of Chinese gallium let through would save 1,000 − 100 = 900 USD.
    r = solve_dict(tiny, objective={"minimise": "cost"},
                   policies=[{"type": "export_ban", "name": "ban", "exporter": "CHN"}])
    duals = r.tables.extra["duals"]
    assert duals["dual_usd"].tolist() == approx([900.0])
    assert duals["family"].tolist() == ["bound"]


@pytest.mark.parametrize(("shortfall", "unmet_t", "ga_dual"), [("valued", 25.0, 900.0), ("first", 15.0, 1900.0)])
def test_a_ban_dual_does_not_trade_unmet_demand_between_minerals(tmp_path, shortfall, unmet_t, ga_dual):
    # Both minerals banned from China. Japan's 10 t of gallium cost 2,000 USD/t, above gallium's value of unmet
    # demand (10 x 100): by default (valued) they are not bought, gallium 20 t unmet, germanium 5 t (value
    # 10 x 1,000): 25 t; a Chinese tonne of gallium let through meets an unmet one (1,000 - 100 = 900).
    # With shortfall first Japan's gallium is bought at any cost: gallium 10 t, germanium 5 t unmet. A tonne of
    # Chinese germanium let through meets a tonne of unmet germanium: it saves 10,000 - 1,000 = 9,000 USD. Under
    # the one shortfall level alone it also freed 10,000 USD of that level for leaving 10 t of Japan's gallium
    # unmet (each saving 2,000 - 1,000), and was priced 19,000. Gallium's ban: a Chinese tonne replaces a
    # Japanese one (2,000 - 100).
    capacity = [dict(row) for row in TINY_CAPACITY]
    next(row for row in capacity if row["source_id"] == "JPN-GA")["unit_cost_usd_per_t"] = 2000
    dataset = load_dataset(write_dataset(tmp_path / "inputs", capacity=capacity))
    r = solve_dict(dataset, minerals=["ga", "ge"], objective={"minimise": "cost", "shortfall": shortfall},
                   policies=[{"type": "export_ban", "name": "ban", "exporter": "CHN"}])
    assert r.summary["shortfall"]["total_t"] == approx(unmet_t)
    duals = r.tables.extra["duals"].set_index("mineral")["dual_usd"]
    assert duals.to_dict() == {"ga": approx(ga_dual), "ge": approx(9000.0)}


def test_frontier_command_writes_its_files(tmp_path):
    out = tmp_path / "fr"
    result = CliRunner().invoke(main, ["frontier", "baseline", "--points", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"frontier.csv", "frontier.png", "frontier.svg", "summary.json",
                                               ".critmin-output"}
    assert "Price of independence" in result.output
    bad = CliRunner().invoke(main, ["frontier", "baseline", "--mineral", "zinc", "--no-write"])
    assert bad.exit_code == 2
    assert "'zinc' is not modelled in scenario 'baseline'" in bad.output


def test_duals_are_read_for_the_cost_stages_only(tiny):
    """Intermediate stages skip reading duals (a copy of every row and column); the cost stage keeps them, and
    its row duals are the shadow prices the duals table and the frontier read."""
    session = session_for(tiny)
    plan = session.solve()
    assert plan.ok
    assert plan.least_cost.row_dual is None  # least-cost reference stage: primal values only
    assert plan.cost_stage.row_dual is not None and len(plan.cost_stage.row_dual) == session.backend.h.getNumRow()
    assert session.backend.solve(duals=False).row_dual is None
    assert session.backend.solve().col_dual is not None


def test_presolve_is_off_for_an_lp_and_the_plan_does_not_depend_on_it(tiny):
    """"auto" switches HiGHS's presolve off for an LP (it removes almost nothing from critmin's LPs but costs a
    quarter of a cold solve); forced on, the plan's stage objectives are the same."""
    auto = session_for(tiny)
    assert auto.backend.h.getOptionValue("presolve")[1] == "off"
    plan = auto.solve()
    forced = PlanSession(auto.model, make_backend("highs", SolverOptions(presolve="on")))
    assert forced.backend.h.getOptionValue("presolve")[1] == "on"
    other = forced.solve()
    assert [s.objective for s in plan.stages] == approx([s.objective for s in other.stages])
    with pytest.raises(ValueError, match="presolve must be 'auto', 'on' or 'off', not 'maybe'"):
        make_backend("highs", SolverOptions(presolve="maybe"))


def test_scaling_is_forced_by_default_and_the_plan_does_not_depend_on_it(tiny):
    """Forced equilibration (HiGHS's simplex_scale_strategy 3) is what the backend sets; with HiGHS's own
    choice (2) or none (0) the stage objectives are the same, and a wrong name is refused."""
    forced = session_for(tiny)
    assert forced.backend.h.getOptionValue("simplex_scale_strategy")[1] == 3
    plan = forced.solve()
    for name, strategy in (("highs", 2), ("off", 0)):
        other = PlanSession(forced.model, make_backend("highs", SolverOptions(scaling=name)))
        assert other.backend.h.getOptionValue("simplex_scale_strategy")[1] == strategy
        assert [s.objective for s in other.solve().stages] == approx([s.objective for s in plan.stages])
    with pytest.raises(ValueError, match="scaling must be 'forced', 'highs' or 'off', not 'force'"):
        SolverOptions(scaling="force")
