"""Two-stage stochastic planning, by hand on the tiny gallium model.

Two equiprobable scenarios for 2025 (demand 40 t): in ω0 everything is available; in ω1 China's 50 t are cut.
Germany 20 t at 150 and Japan 10 t at 200 remain, so ω1 is 10 t short unless a US plant is built first.
The plant: domestic, capex 20 USD per t/yr (r = 0, life 1 → 20 per t/yr per year), opex 150 USD/t, no lead time.
"""

from __future__ import annotations

import functools
import re

import pandas as pd
import pytest

from engine.analysis.robust import robust
from engine.formulation import ScenarioSet, build_model
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import scenario_from_dict
from engine.outputs.results import build_table, total_cost_pv
from engine.plan.hierarchy import PlanSession
from engine.solvers import make_backend

from conftest import solve_dict, tiny_scenario, write_dataset

approx = functools.partial(pytest.approx, rel=1e-6, abs=1e-6)
PLANT = {"option_id": "US-PLANT", "mineral": "ga", "host": "USA", "partner": "USA", "mode": "domestic",
         "partner_equity_share": 0.0, "capex_usd_per_tpy": 20.0, "opex_usd_per_t": 150.0, "royalty_usd_per_t": 0.0,
         "lead_time_years": 0, "max_size_tpy": 40.0, "min_size_tpy": "", "earliest_start": 2025}
CUT = ScenarioSet(pd.DataFrame({"scen": [0, 1], "probability": [0.5, 0.5]}),
                  pd.DataFrame({"scen": [1], "id": ["CHN-GA"], "factor": [0.0]}))


@pytest.fixture
def with_plant(tmp_path):
    return load_dataset(write_dataset(tmp_path, jv_options=[PLANT]))


def loaded_for(dataset, **overrides):
    data = tiny_scenario(objective={"minimise": "cost"}, finance={"discount_rate": 0.0, "asset_life_years": 1},
                         **overrides)
    return scenario_from_dict(data, dataset, name="two")


def test_two_scenario_stochastic_lp_by_hand(with_plant):
    model = build_model(loaded_for(with_plant), CUT)
    plan = PlanSession(model, make_backend("highs")).solve()
    # Expected shortfall 0.5 × max(0, 10 − plant) is zero from a 10 t/yr plant on (built once, for both scenarios).
    # Each further t/yr costs 20 of capex and saves 0.5 × (200 − 150) = 25 in ω1 by replacing a tonne of Japan's,
    # so the cost stage grows the plant until Japan is replaced: 20 t/yr.
    # (the least-exposed least-cost reference may spend the cost level's slack, 1e-8 of it and the absolute level
    # tolerance: USD 0.00015 here, 3e-5 t/yr less plant)
    assert build_table(model, plan.x)["capacity_tpy"].sum() == pytest.approx(20.0, abs=1e-4)
    # ω0: China 40 t = 4,000. ω1: Germany 3,000 + plant 20 t × 150 = 6,000. Capex 20 × 20 = 400.
    assert total_cost_pv(model, plan.x) == approx(0.5 * 4000 + 0.5 * 6000 + 400)
    # (unmet demand is a cost at its value: the later stages may spend the cost level's slack, 1e-8 of it, on it)
    assert plan.shortfall_usd == approx(0.0, abs=1e-3)


def test_cvar_at_one_half_plans_for_the_worst_scenario(with_plant):
    # with two equiprobable scenarios, CVaR at 0.5 is the worse scenario's shortfall value: zero needs a plant of
    # at least 10 t/yr; then cost grows it to 20 t/yr as above
    model = build_model(loaded_for(with_plant), CUT, cvar_alpha=0.5)
    plan = PlanSession(model, make_backend("highs")).solve()
    assert plan.shortfall_usd == approx(0.0, abs=1e-3)  # within the cost level's slack, as above
    assert build_table(model, plan.x)["capacity_tpy"].sum() == approx(20.0)


def test_deterministic_plan_builds_nothing(with_plant):
    r = solve_dict(with_plant, objective={"minimise": "cost"},
                   finance={"discount_rate": 0.0, "asset_life_years": 1})
    assert r.tables.extra["builds"].empty


def test_robust_beats_deterministic_on_fresh_scenarios(with_plant):
    # a 50% chance that China is cut: the robust plan hedges with the plant, the deterministic one does not
    loaded = loaded_for(with_plant, shocks=[{"name": "cut", "country": "CHN", "probability": 0.5}],
                        robust={"scenarios": 8, "evaluation": 16, "seed": 3})
    result = robust(loaded)
    assert result.status == "optimal"
    assert result.robust.shortfall_t == approx(0.0)
    assert result.deterministic.shortfall_t > 1.0
    assert result.robust.jv_capacity_tpy >= 10.0 - 1e-6
    assert result.vss_usd > 0
    # the printout names the hedge (the option's mineral, deal and host), not its id; every unmet value its basis
    from engine.analysis.robust_run import render_robust

    text = render_robust(result)
    assert re.search(r"\n +\+\d[\d,]*\.\d  gallium domestic build in the United States\n", text + "\n"), text
    assert "US-PLANT" not in text
    assert "  of which unmet demand (10x reference price, PV)" in text
    assert "CVaR0.9 of unmet demand (10x reference price, PV)" in text
    assert "Unmet demand is valued at 10x the mineral's reference price per tonne, present value; " in text


def test_vss_standard_error_and_significance_by_hand():
    from engine.analysis.robust import Evaluation, RobustResult

    # deterministic total 2, robust 0: VSS 2. Paired differences 1, 2, 3: sd 1, standard error 1/√3 ≈ 0.577,
    # so VSS > 2 standard errors; differences -1, 2, 5: sd 3, standard error √3 ≈ 1.73: not significant
    result = RobustResult("case", "optimal", robust=Evaluation("robust", "optimal", 0.0, 0.0, 0.0, 0.0),
                          deterministic=Evaluation("deterministic", "optimal", 0.5, 0.5, 0.1, 1.5))
    result.vss_by_scenario_usd = pd.Series([1.0, 2.0, 3.0]).to_numpy()
    assert result.vss_usd == approx(2.0)
    assert result.vss_standard_error_usd == approx(1.0 / 3 ** 0.5)
    assert result.vss_significant
    result.vss_by_scenario_usd = pd.Series([-1.0, 2.0, 5.0]).to_numpy()
    assert result.vss_standard_error_usd == approx(3 ** 0.5)
    assert not result.vss_significant
