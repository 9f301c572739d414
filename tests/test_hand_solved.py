"""Tiny models solved by hand: every number asserted here is worked out in the comments.

Gallium, one year (2025), no discounting, demand 40 t:
    CHN-GA  50 t available (100 t × 0.5 exportable) at 100 USD/t, located in China
    DEU-GA  20 t at 150 USD/t
    JPN-GA  10 t at 200 USD/t (Japan is an FTA partner)

Each stage of the hierarchy fixes the previous level within a relative tolerance of 1e-8; tonnes and
shares are asserted to a relative 1e-5 (absolute 1e-4 t near zero).
"""

from __future__ import annotations

import functools

import pytest

from engine.analysis.explain import explain, render
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import scenario_from_dict
from engine.solvers import Status

from conftest import solve_dict, tiny_scenario, tonnes_by_source, write_dataset

approx = functools.partial(pytest.approx, rel=1e-5, abs=1e-4)


def summary_cost(result) -> float:
    return result.summary["cost"]["total_pv_usd"]


def ga_share(result) -> float:
    return result.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"]


# ------------------------------------------------------------------------------------------- hierarchy
def test_least_cost_plan_buys_cheapest_first(tiny):
    # min cost: all 40 t from China at 100 → 4,000 USD, 100% dependence
    r = solve_dict(tiny, objective={"minimise": "cost"})
    assert r.ok
    assert tonnes_by_source(r) == approx({"CHN-GA": 40.0})
    assert summary_cost(r) == approx(4000.0)
    assert ga_share(r) == approx(100.0)


@pytest.mark.parametrize(
    ("budget", "china_t", "deu_t", "jpn_t", "cost"),
    [
        # +25% → 5,000 USD: swapping a tonne CHN→DEU costs 50, so 1,000 buys 20 t of DEU; 50% dependence
        ("+25%", 20.0, 20.0, 0.0, 5000.0),
        # +50% → 6,000: DEU 20 (+1,000) then JPN 10 (+1,000, 100 a tonne); 25% dependence
        ("+50%", 10.0, 20.0, 10.0, 6000.0),
        # +100% → 8,000 is not binding: non-China capacity (30 t) is exhausted at 6,000; then cost is minimised
        ("+100%", 10.0, 20.0, 10.0, 6000.0),
        # an absolute budget of 4,500 USD: 500 buys 10 t of DEU
        (4500, 30.0, 10.0, 0.0, 4500.0),
    ],
)
def test_dependence_within_budget(tiny, budget, china_t, deu_t, jpn_t, cost):
    r = solve_dict(tiny, objective={"minimise": "dependence", "budget": budget})
    assert r.ok
    got = tonnes_by_source(r)
    assert got.get("CHN-GA", 0.0) == approx(china_t)
    assert got.get("DEU-GA", 0.0) == approx(deu_t)
    assert got.get("JPN-GA", 0.0) == approx(jpn_t)
    assert summary_cost(r) == approx(cost)
    assert r.summary["cost"]["least_cost_pv_usd"] == approx(4000.0)
    assert ga_share(r) == approx(100.0 * china_t / 40.0)
    assert r.summary["dependence"]["exposure"]["by_mineral"]["ga"]["least_cost_pct"] == approx(100.0)


def test_budget_below_least_cost_is_reported_not_solved(tiny):
    r = solve_dict(tiny, objective={"budget": 3000})
    assert r.plan.status is Status.INFEASIBLE
    assert "below the least-cost plan" in r.plan.message
    assert r.tables is None


# A US plant for gallium with China banned and nothing else to buy: demand 40 t in 2025, r = 0, asset life 20 years
# (CRF 1/20), no lead time. A tonne unmet is worth 10 × USD 100 = USD 1,000.
def _plant(tmp_path, capex_usd_per_tpy: float):
    plant = {"option_id": "US-PLANT", "mineral": "ga", "host": "USA", "partner": "USA", "mode": "domestic",
             "partner_equity_share": 0.0, "capex_usd_per_tpy": capex_usd_per_tpy, "opex_usd_per_t": 100.0,
             "royalty_usd_per_t": 0.0, "lead_time_years": 0, "max_size_tpy": 40.0, "min_size_tpy": "",
             "earliest_start": 2025, "description": "test plant"}
    china = [row for row in load_dataset(write_dataset(tmp_path / "base")).capacity.to_dict("records")
             if row["source_id"] == "CHN-GA"]
    return load_dataset(write_dataset(tmp_path / "plant", capacity=china, jv_options=[plant]))


BANNED = [{"type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}]


@pytest.mark.parametrize("minimise", ["cost", "dependence"])
def test_a_plant_dearer_than_the_unmet_demand_it_avoids_is_not_built(tmp_path, minimise):
    # capex 20,000 per t/yr → annuity 1,000 per t/yr, + opex 100 = USD 1,100 a tonne > USD 1,000 a tonne unmet:
    # by default (shortfall valued) nothing is built, 40 t go unmet: cost including unmet demand 40,000. (With
    # minimise: dependence at no premium: any budget above 40,000 buys part of the plant, to lower the exposure, in
    # which the 40 t unmet count; see test_the_dependence_stage_meets_demand_the_budget_pays_for.)
    ds = _plant(tmp_path, 20_000.0)
    objective = {"minimise": minimise, **({"budget": "+0%"} if minimise == "dependence" else {})}
    r = solve_dict(ds, policies=BANNED, objective=objective)
    assert r.tables.extra["builds"].empty
    assert r.summary["shortfall"]["total_t"] == approx(40.0)
    assert r.summary["cost"]["total_with_unmet_pv_usd"] == approx(40_000.0)
    assert r.summary["cost"]["least_cost_with_unmet_pv_usd"] == approx(40_000.0)
    assert r.summary["cost"]["objective_cost"] == "with_unmet"
    assert r.summary["stages"][0]["name"] == "least_cost"
    # with the strict priority (shortfall first) the plant is built at any cost: 40 t/yr, 40 × 1,100 = 44,000
    r = solve_dict(ds, policies=BANNED, objective={**objective, "shortfall": "first"})
    assert r.tables.extra["builds"]["capacity_tpy"].sum() == approx(40.0)
    assert r.summary["shortfall"]["total_t"] == approx(0.0)
    assert r.summary["cost"]["total_with_unmet_pv_usd"] == approx(44_000.0)
    assert r.summary["stages"][0]["name"] == "shortfall"


def test_the_dependence_stage_meets_demand_the_budget_pays_for(tmp_path):
    # the dear plant again: least cost leaves the 40 t unmet (40,000; exposure 100%: an unmet tonne counts like a
    # Chinese one). Within the default budget, +15% = 46,000, the dependence stage builds the plant (44,000) and the
    # exposure falls to 0%: it lowers exposure by meeting demand, never by leaving it unmet.
    r = solve_dict(_plant(tmp_path, 20_000.0), policies=BANNED)
    assert r.tables.extra["builds"]["capacity_tpy"].sum() == approx(40.0)
    assert r.summary["shortfall"]["total_t"] == approx(0.0)
    assert r.summary["cost"]["total_with_unmet_pv_usd"] == approx(44_000.0)
    assert r.summary["cost"]["least_cost_with_unmet_pv_usd"] == approx(40_000.0)
    exposure = r.summary["dependence"]["exposure"]
    assert exposure["least_cost_overall_pct"] == approx(100.0) and exposure["overall_pct"] == approx(0.0)


@pytest.mark.parametrize("aggregate", ["mean", "leximin"])
def test_the_dependence_stage_budget_is_on_cost_including_unmet_demand(tmp_path, aggregate):
    # the dear plant: least cost 40,000, all of it the 40 t unmet (supply costs 0). +5% on cost including unmet
    # demand is 42,000: 20 t/yr of plant (22,000) and 20 t unmet (20,000), exposure 50%. (A budget on the cost of
    # supply would be +5% of 0: nothing built.) leximin's dependence stage keeps the same budget row.
    r = solve_dict(_plant(tmp_path, 20_000.0), policies=BANNED, objective={"budget": "+5%", "aggregate": aggregate})
    assert r.summary["cost"]["budget_pv_usd"] == approx(42_000.0)
    assert r.tables.extra["builds"]["capacity_tpy"].sum() == approx(20.0)
    assert r.summary["cost"]["total_with_unmet_pv_usd"] == approx(42_000.0)
    assert r.summary["dependence"]["exposure"]["overall_pct"] == approx(50.0)


def test_a_plant_cheaper_than_the_unmet_demand_it_avoids_is_built(tmp_path):
    # capex 16,000 per t/yr → 800 + opex 100 = USD 900 a tonne < USD 1,000: built at 40 t/yr, cost 36,000
    r = solve_dict(_plant(tmp_path, 16_000.0), policies=BANNED, objective={"minimise": "cost"})
    assert r.tables.extra["builds"]["capacity_tpy"].sum() == approx(40.0)
    assert r.summary["shortfall"]["total_t"] == approx(0.0)
    assert r.summary["cost"]["total_with_unmet_pv_usd"] == approx(36_000.0)


def test_a_forced_shortfall_is_reported_and_dependence_is_bought_down_by_buying_elsewhere(tiny):
    # (Was test_shortfall_comes_before_dependence: shortfall is no longer a stage of its own by default, but a cost.)
    # With China banned, only 30 t exist: shortfall 10 t is forced, never used to "reduce dependence".
    ban = {"type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}
    r = solve_dict(tiny, policies=[ban])
    assert r.summary["shortfall"]["by_mineral_t"]["ga"] == approx(10.0)
    assert r.summary["shortfall"]["value_usd"] == approx(10.0 * 100 * 10)  # 10 t at 10x the USD 100/t price
    # and when China is available, dependence is reduced by buying elsewhere, not by buying less
    r = solve_dict(tiny)
    assert r.summary["shortfall"]["total_t"] == 0.0


def test_discounting_two_years(tmp_path):
    # Two years of 40 t from China at 100 with r = 10%: PV = 4,000 + 4,000 / 1.1 = 7,636.36…
    ds = load_dataset(write_dataset(tmp_path, demand=[
        {"mineral": "ga", "year": 2025, "demand_t": 40}, {"mineral": "ga", "year": 2026, "demand_t": 40},
        {"mineral": "ge", "year": 2025, "demand_t": 1}, {"mineral": "ge", "year": 2026, "demand_t": 1}]))
    r = solve_dict(ds, horizon={"start": 2025, "end": 2026}, finance={"discount_rate": 0.1},
                   objective={"minimise": "cost"})
    assert summary_cost(r) == approx(4000 + 4000 / 1.1)
    costs = r.tables.costs
    assert costs["usd"].sum() == approx(8000.0)


# ------------------------------------------------------------------------------------------- aggregate
def test_mean_and_max_aggregates(tiny):
    # Germanium: CHN 100 t at 1,000, DEU 5 t at 1,500, demand 10 → floor 50%. Gallium floor 25%.
    both = {"minerals": ["ga", "ge"], "objective": {"budget": "+1000%"}}
    mean = solve_dict(tiny, **both)
    assert mean.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"] == approx(25.0)
    assert mean.summary["dependence"]["exposure"]["by_mineral"]["ge"]["optimised_pct"] == approx(50.0)
    assert mean.summary["dependence"]["exposure"]["overall_pct"] == approx(37.5)
    # max: the worst mineral-year is germanium at 50%; then least cost lets gallium rise to 50% too
    # (CHN 20 t + DEU 20 t = 5,000 instead of 6,000)
    worst = solve_dict(tiny, minerals=["ga", "ge"], objective={"budget": "+1000%", "aggregate": "max"})
    assert worst.summary["dependence"]["exposure"]["overall_pct"] == approx(50.0)
    assert worst.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"] == approx(50.0)
    assert worst.summary["cost"]["by_mineral_pv_usd"]["ga"] == approx(5000.0)


def test_mineral_weights_shift_effort(tiny):
    # Budget +10% of least cost (4,000 + 10,000 = 14,000 → 1,400). Gallium: 50 USD per point-tonne swap
    # (2.5 percentage points per 50 USD → 0.05 pp/USD); germanium: 500 per tonne swap (10 pp per 500 → 0.02 pp/USD).
    # Equal weights spend on gallium first: 1,400 buys 20 t DEU (1,000) + 4 t JPN (400) → ga 40%, ge 100%.
    r = solve_dict(tiny, minerals=["ga", "ge"], objective={"budget": "+10%"})
    assert r.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"] == approx(40.0)
    assert r.summary["dependence"]["exposure"]["by_mineral"]["ge"]["optimised_pct"] == approx(100.0)
    # Weight germanium 5×: 0.02 × 5 = 0.1 pp/USD beats gallium's 0.05 → 5 t DEU-GE (2,500 > 1,400): 2.8 t of ge
    r = solve_dict(tiny, minerals=["ga", "ge"], objective={"budget": "+10%", "weights": {"ge": 5}})
    assert r.summary["dependence"]["exposure"]["by_mineral"]["ge"]["optimised_pct"] == approx(100 - 28.0)
    assert r.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"] == approx(100.0)


def test_explain_says_which_unmet_demand_is_dearer_than_its_value(tmp_path):
    # the dear plant above: 40 t could be supplied (the plant, 40 t/yr), at USD 1,100 a tonne against 1,000
    loaded = scenario_from_dict(tiny_scenario(policies=BANNED, objective={"minimise": "cost"}),
                                _plant(tmp_path, 20_000.0))
    story = explain(loaded).stories[0]
    assert story.shortfall_t == approx(40.0) and story.supply_after[-1][1] == approx(40.0)
    assert story.unmet_by_choice_t(story.least_cost_shortfall_t) == approx(40.0)
    assert "40 t could be supplied under the scenario's policies, but only at more than its value" in render(
        explain(loaded))
