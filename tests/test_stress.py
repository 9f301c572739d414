"""Stress tests on the tiny gallium model, by hand.

Gallium 2025, demand 40 t: CHN-GA 50 t at 100 (China), DEU-GA 20 t at 150, JPN-GA 10 t at 200. The base plan
minimises cost: China 40 t, 4,000 USD, 100% dependence.
"""

from __future__ import annotations

import functools

import pytest
from click.testing import CliRunner

from engine.analysis.stress import stress
from engine.analysis.stress_run import render_stress
from engine.cli import main
from engine.inputs.scenario import scenario_from_dict

from conftest import tiny_scenario

approx = functools.partial(pytest.approx, rel=1e-6, abs=1e-6)


def stressed(dataset, **overrides):
    loaded = scenario_from_dict(tiny_scenario(objective={"minimise": "cost"}, **overrides), dataset, name="case")
    return stress(loaded).table.set_index("shock")


def test_n_minus_one_by_hand(tiny):
    t = stressed(tiny)
    assert set(t.index) == {"CHN cuts ga (location)", "DEU cuts ga (location)", "JPN cuts ga (location)"}
    china = t.loc["CHN cuts ga (location)"]
    # without China: Germany 20 + Japan 10 = 30 t; 10 t unmet (10 x 100 x 10 = 10,000); cost 5,000 − 4,000 = +1,000
    assert china["unmet_added_t"] == approx(10.0)
    assert china["unmet_value_added_pv_usd"] == approx(10000.0)  # 2025 is the base year: PV = value
    assert china["cost_jump_usd"] == approx(1000.0)
    # exposure 100% → 10 t unmet of 40 t = 25%; share of supply 100% → 0 of 30 t supplied
    assert china["exposure_change_pp"] == approx(-75.0)
    assert china["share_of_supply_change_pp"] == approx(-100.0)
    assert china["cost_with_unmet_jump_usd"] == approx(11000.0)  # the headline: +1,000 of supply, +10,000 unmet
    assert china["rank"] == 1
    germany = t.loc["DEU cuts ga (location)"]  # China covers it: nothing changes
    assert germany["unmet_added_t"] == approx(0.0) and germany["cost_jump_usd"] == approx(0.0)


def test_a_shock_reports_what_it_adds_to_the_base_plans_unmet_demand(tiny):
    # China banned in the base: Germany 20 + Japan 10 = 30 t, 10 t unmet (cost 5,000 + 10,000 unmet = 15,000).
    # Germany cut: Japan 10 t, 30 t unmet: 20 t added (20,000 at 10 x 100 a tonne), supply 3,000 less (Germany's
    # 20 t at 150): the cost including unmet demand jumps by 17,000; none of it the base's own 10 t.
    t = stressed(tiny, policies=[{"type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}])
    germany = t.loc["DEU cuts ga (location)"]
    assert germany["unmet_added_t"] == approx(20.0)
    assert germany["unmet_value_added_pv_usd"] == approx(20_000.0)
    assert germany["cost_jump_usd"] == approx(-3000.0)
    assert germany["cost_with_unmet_jump_usd"] == approx(17_000.0)
    assert germany["unmet_added_with_hedges_t"] == approx(20.0)  # no deal to make in the tiny dataset
    assert t.loc["CHN cuts ga (location)", "unmet_added_t"] == approx(0.0)  # China sells nothing already
    assert germany["rank"] == 1
    assert germany["unmet_added_shocked_t"] == approx(20.0) and germany["unmet_added_by_mineral"] == "gallium +20 t"


def test_only_shocks_that_add_unmet_demand_are_counted(tiny):
    # the base (China banned) leaves 10 t unmet. Germany cut: +20 t; Japan cut: +10 t (its 10 t); China cut: nothing
    # (it sells nothing already), so 2 of 3 shocks add unmet demand, and the China shock changes nothing at all;
    # every shock's added tonnes are its re-plan's unmet tonnes minus the base's 10 t
    loaded = scenario_from_dict(tiny_scenario(objective={"minimise": "cost"}, policies=[
        {"type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}]), tiny, name="case")
    result = stress(loaded)
    t = result.table.set_index("shock")
    assert result.base["shortfall_t"] == approx(10.0)
    assert t.loc["JPN cuts ga (location)", "unmet_added_t"] == approx(10.0)
    assert t.loc["JPN cuts ga (location)", "unmet_added_by_mineral"] == "gallium +10 t"
    assert t.loc["CHN cuts ga (location)", "unmet_added_by_mineral"] == ""
    printed = render_stress(result)
    assert "  2 of 3 shocks add unmet demand; 1 changes nothing beyond solver noise (cost, unmet tonnes and " \
           "exposure)." in printed
    assert "Germany cuts gallium" in printed and "DEU" not in printed
    # no base shortfall: the same shocks, totals and added tonnes are one
    plain = stress(scenario_from_dict(tiny_scenario(objective={"minimise": "cost"}), tiny, name="case"))
    assert plain.base["shortfall_t"] == approx(0.0)
    assert "  1 of 3 shocks add unmet demand; 2 change nothing beyond solver noise" in render_stress(plain)


def test_a_shock_whose_cheapest_re_plan_exceeds_the_base_budget_says_so(tiny):
    # minimise dependence at +0%: the base plan is least cost, 40 t from China (4,000), and its budget USD 4,000.
    # China cut: the cheapest re-plan is Germany 20 t + Japan 10 t (5,000) + 10 t unmet (10,000) = 15,000 > 4,000:
    # the budget, held in USD, cannot be met, and the re-plan is least cost. Germany cut: China still covers it at
    # 4,000, within the budget.
    loaded = scenario_from_dict(tiny_scenario(objective={"budget": "+0%"}), tiny, name="case")
    result = stress(loaded)
    t = result.table.set_index("shock")
    assert bool(t.loc["CHN cuts ga (location)", "over_budget"]) is True
    assert bool(t.loc["DEU cuts ga (location)", "over_budget"]) is False
    assert t.loc["CHN cuts ga (location)", "cost_with_unmet_jump_usd"] == approx(11_000.0)
    assert result.base["budget_pv_usd"] == approx(4000.0)
    printed = render_stress(result)
    assert "China cuts gallium (1)" in printed and "Germany cuts gallium (1)" not in printed
    assert "(1): the base budget cannot be met under this shock" in printed and "(1 of 3 shocks)" in printed
    # a scenario that minimises cost has no budget: every re-plan is least cost and none is flagged
    plain = stress(scenario_from_dict(tiny_scenario(objective={"minimise": "cost"}), tiny, name="case"))
    assert not plain.table["over_budget"].any() and plain.base["budget_pv_usd"] is None
    assert "Every re-plan is least cost (the scenario minimises cost)." in render_stress(plain)


def test_named_shock_with_a_stockpile_and_a_deal(tiny):
    # a named half-cut of China (25 t left) with a 10 t stockpile: 25 + 10 + DEU 5 = 40, no shortfall;
    # the stockpile is drawn in the only year, so it lasts 1 year.
    shock = {"name": "china_halves", "country": "CHN", "share": 0.5}
    loaded = scenario_from_dict(tiny_scenario(objective={"minimise": "cost"}, shocks=[shock],
                                              stockpile={"ga": {"initial_t": 10, "capacity_t": 10}}),
                                tiny, name="case")
    t = stress(loaded, include_n_minus_one=False).table.set_index("shock")
    row = t.loc["china_halves"]
    assert row["kind"] == "named"
    assert row["unmet_added_t"] == approx(0.0)
    assert row["stock_lasts_years"] == 1.0


def test_stress_command(tmp_path):
    out = tmp_path / "st"
    result = CliRunner().invoke(main, ["stress", "baseline", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"stress.csv", "stress.png", "stress.svg", "summary.json",
                                               ".critmin-output"}
    assert "China cuts all minerals (1)" in result.output and "CHN" not in result.output
