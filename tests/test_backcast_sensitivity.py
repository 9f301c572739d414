"""The backcast against observed trade, and sensitivity to one assumption at a time, on cases solved by hand."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from click.testing import CliRunner

from engine.analysis.backcast import backcast, distance, observations, planned_shares
from engine.analysis.sensitivity import sensitivity, variants
from engine.analysis.sensitivity_run import render_sensitivity, write_sensitivity
from engine.cli import main
from engine.formulation import build_model
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.plan.hierarchy import solve_plan
from engine.solvers import make_backend
from tests.conftest import TINY_CAPACITY, tiny_scenario, write_dataset, write_table

COST = {"minimise": "cost"}


# ------------------------------------------------------------------------------------------- backcast
def test_distance_by_hand():
    # every origin named: exact. 50 * (|.6-.5| + |.4-.3| + |0-.2| for AUS, unnamed, against REST 0) = 20
    assert distance({"CHL": 0.6, "ARG": 0.4}, {"CHL": 0.5, "ARG": 0.3, "AUS": 0.2}) == (pytest.approx(20.0), False)
    # 'other' 0.8 against the plan's unnamed JPN + DEU = 0.5: 50 * (|.2-.5| + |.8-.5|) = 30, a lower bound
    assert distance({"CHN": 0.2, "ROW": 0.8}, {"CHN": 0.5, "JPN": 0.3, "DEU": 0.2}) == (pytest.approx(30.0), True)
    assert distance({"CHN": 1.0}, {"CHN": 1.0}) == (0.0, False)
    assert distance({"CHN": 1.0}, {"JPN": 1.0}) == (pytest.approx(100.0), False)


def _observed_dataset(tmp_path, rows):
    folder = write_dataset(tmp_path / "inputs")
    write_table(folder, "observed_trade", rows)
    return load_dataset(folder)


def test_backcast_of_a_tiny_plan_by_hand(tmp_path):
    # observed gallium: DEU 60%, JPN 20%, the rest 20% unnamed. China banned: the least-cost plan buys DEU's 20 t
    # and JPN's 10 t (10 t unmet) -> planned DEU 2/3, JPN 1/3; 50 * (1/15 + 2/15 + 0.2) = 20, a lower bound.
    rows = [{"mineral": "ga", "period": "2024", "origin": o, "share": s, "measure": "quantity", "form": "metal"}
            for o, s in (("DEU", 0.6), ("JPN", 0.2), ("ROW", 0.2))]
    ds = _observed_dataset(tmp_path, rows)
    ban = {"name": "ban", "type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}
    loaded = scenario_from_dict(tiny_scenario(objective=COST, policies=[ban]), ds)
    model = build_model(loaded)
    plan = solve_plan(model, make_backend("highs"))
    assert planned_shares(model, plan.least_cost.x, 2025) == {"ga": pytest.approx({"DEU": 2 / 3, "JPN": 1 / 3})}
    (only,) = backcast(model, plan.least_cost.x)
    assert only.distance_pp == pytest.approx(20.0) and only.lower_bound and only.text == ">= 20.0"


def test_observed_shares_below_one_leave_the_rest_unnamed(tmp_path):
    rows = [{"mineral": "ga", "period": p, "origin": o, "share": s, "measure": "value", "form": "metal"}
            for p, o, s in (("2020-2023", "CHN", 0.9), ("2024", "CHN", 0.25), ("2024", "DEU", 0.5))]
    observed = observations(_observed_dataset(tmp_path, rows))
    assert observed["ga"].period == "2024"
    assert observed["ga"].shares == pytest.approx({"CHN": 0.25, "DEU": 0.5, "ROW": 0.25})


def test_data_check_prints_the_backcast_per_mineral():
    r = CliRunner().invoke(main, ["data", "--check"])
    assert r.exit_code == 0, r.output
    assert ("Backcast: the baseline's least-cost plan in 2025 (imports by location) against observed US "
            "imports") in r.output
    for mineral in ("lithium", "cobalt", "gallium", "germanium"):
        assert re.search(rf"^  {mineral} +(>= )?\d+\.\d +\S", r.output, re.M), mineral
    assert re.search(r"^  nickel +>= \d+\.\d +Canada 44%", r.output, re.M)  # USGS MCS 2026 import sources
    assert "  lithium       >= 9.0   Chile 56%, Argentina 42%, other 2% " in r.output  # origins by name


def test_baseline_holds_the_us_ban_on_russian_nickel():
    from engine.inputs.scenario import load_scenario

    policies = {p.name: p for p in load_scenario("baseline").scenario.policies}
    ban = policies["russia_nickel_import_ban"]
    assert (ban.exporter, ban.minerals, ban.allowed_share) == ("RUS", ["ni"], 0.0)
    assert "13 Apr 2024" in ban.description and "OFAC" in ban.description


def test_every_shipped_scenario_says_which_policies_it_keeps_adds_and_removes():
    from engine.inputs.scenario import load_scenario
    from engine.paths import models_dir

    base = [p.name for p in load_scenario("baseline").scenario.policies]
    for path in sorted(models_dir().glob("*.yaml")):
        if path.stem == "baseline":
            continue
        text = path.read_text(encoding="utf-8")
        line = re.search(r"^# Policies in force kept from the baseline: (.*)\. Adds: (.*)\. Removes: (.*)\.$",
                         text, re.M)
        assert line, path
        kept, adds, removes = (g.split(", ") if g != "none" else [] for g in line.groups())
        scenario = load_scenario(str(path)).scenario
        assert removes == (yaml.safe_load(text).get("remove_policies") or []), path
        assert kept == [b for b in base if b not in removes], path
        assert [p.name for p in scenario.policies] == kept + adds, path


# ------------------------------------------------------------------------------------------- sensitivity
# Gallium, demand 40 t, least cost: China 40 t available (100 t x 0.4) at 100 USD/t, Germany 20 t at 150,
# Japan 10 t at 200. The base plan buys China's 40 t: cost 4,000, dependence 100%.
BINDING = [dict(TINY_CAPACITY[0], exportable_share=0.4), *TINY_CAPACITY[1:3]]


def test_sensitivity_by_hand(tmp_path):
    ds = load_dataset(write_dataset(tmp_path / "inputs", capacity=BINDING))
    loaded = scenario_from_dict(tiny_scenario(objective=COST), ds)
    result = sensitivity(loaded, families=("exportable share", "delivered cost", "demand"))
    assert result.status == "optimal"
    # the hierarchy holds each level within a relative 1e-8, hence the tolerances below
    assert result.base_exposure_pct == pytest.approx(100.0, rel=1e-6)
    assert result.base_cost_with_unmet_pv_usd == pytest.approx(4000.0, rel=1e-6)
    t = result.table
    got = [(r.family, r.parameter, r.exposure_low_pp, r.exposure_high_pp, r.cost_low_pv_usd, r.cost_high_pv_usd)
           for r in t.itertuples()]
    expected = [
        # China's share x0.8: 32 t from China + 8 t from Germany at 150 -> 4,400, 80%; x1.2 changes nothing
        ("exportable share", "CHN", -20.0, 0.0, 400.0, 0.0),
        # demand x0.8: 32 t from China (3,200); x1.2: 40 t + 8 t from Germany = 5,200, 40/48 from China
        ("demand", "ga", 0.0, 100 * 40 / 48 - 100, -800.0, 1200.0),
        # China's cost x0.8 / x1.2 (120 < Germany's 150): 3,200 / 4,800
        ("delivered cost", "CHN", 0.0, 0.0, -800.0, 800.0),
        # unused or not binding: in their original order
        ("exportable share", "DEU", 0.0, 0.0, 0.0, 0.0),
        ("exportable share", "JPN", 0.0, 0.0, 0.0, 0.0),
        ("delivered cost", "DEU", 0.0, 0.0, 0.0, 0.0),
        ("delivered cost", "JPN", 0.0, 0.0, 0.0, 0.0),
    ]
    assert [g[:2] for g in got] == [e[:2] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert g[2:] == pytest.approx(e[2:], abs=1e-3), g
    assert list(t["rank"]) == list(range(1, 8)) and result.rebuilt == 0
    assert t.loc[0, ["setting_low", "setting_high"]].tolist() == ["x0.80", "x1.20"]
    text = render_sensitivity(result)
    assert "    1  exportable share, China" in text and "-20.00 pp" in text
    folder = write_sensitivity(result, tmp_path / "out")
    assert {p.name for p in folder.iterdir()} >= {"sensitivity.csv", "sensitivity.png", "summary.json"}
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["solver_checks"] == {"points_rejected": 0, "stage_retries": 0}
    assert (summary["inputs"], summary["dataset_hash"]) == (str(ds.folder), ds.digest)
    r = CliRunner().invoke(main, ["report", str(folder), "--format", "md", "--out", str(tmp_path / "report")])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "# critmin report: sensitivity, scenario 'inline'" in md
    assert "| 1 | exportable share, China | x0.80 | x1.20 | -20.00 pp | +0.00 pp | +USD 400 |" in md
    assert "![Tornado](figures/sensitivity.png)" in md


def test_sensitivity_ranks_the_value_of_unmet_demand(tmp_path):
    # China banned: Germany 20 t + Japan 10 t = 5,000, 10 t unmet at 10 x 100 = 10,000: cost with unmet 15,000.
    # The multiple at 8x and 12x (d = 20%): 10 t x 800 or 1,200, -2,000 / +2,000; Japan's 200 a tonne is still
    # below either, so the plan and its exposure (25%: the 10 t unmet of 40 t) stay.
    ds = load_dataset(write_dataset(tmp_path / "inputs"))
    loaded = scenario_from_dict(tiny_scenario(objective=COST, policies=[
        {"type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}]), ds)
    result = sensitivity(loaded, families=("unmet demand value",))
    assert result.base_cost_with_unmet_pv_usd == pytest.approx(15_000.0, rel=1e-6)
    row = result.table.iloc[0]
    assert (row["family"], row["parameter"], row["setting_low"], row["setting_high"]) == (
        "unmet demand value", "multiple", "8x the reference price", "12x the reference price")
    assert [row["cost_low_pv_usd"], row["cost_high_pv_usd"]] == pytest.approx([-2000.0, 2000.0], abs=1e-3)
    assert [row["exposure_low_pp"], row["exposure_high_pp"]] == pytest.approx([0.0, 0.0], abs=1e-9)
    # at d = 90% the low end is 1x (100 a tonne): Germany's 150 and Japan's 200 are both dearer than leaving their
    # tonnes unmet, so nothing is bought: 40 t unmet at 100 = 4,000 against 15,000: -11,000
    low = sensitivity(loaded, step=0.9, families=("unmet demand value",)).table.iloc[0]
    assert low["setting_low"] == "1x the reference price"
    assert low["cost_low_pv_usd"] == pytest.approx(40 * 100.0 - 15_000.0, abs=1e-3)


def test_exportable_share_moves_cap_at_one_and_move_overrides(tmp_path):
    ds = load_dataset(write_dataset(tmp_path / "inputs", capacity=BINDING))
    loaded = scenario_from_dict(tiny_scenario(objective=COST, data={"exportable_share": {"CHN": 0.5}}), ds)
    moved = {(v.family, v.parameter, v.end): v.loaded for v in variants(loaded, 0.5, ("exportable share",))}
    high = moved[("exportable share", "CHN", "high")]
    assert high.scenario.data.exportable_share == {"CHN": 0.75}
    cap = high.dataset.capacity.set_index("source_id")["exportable_share"]
    assert cap["CHN-GA"] == pytest.approx(0.6) and cap["DEU-GA"] == 1.0
    assert moved[("exportable share", "DEU", "high")].dataset.capacity.set_index("source_id").loc[
        "DEU-GA", "exportable_share"] == 1.0
    assert loaded.dataset.capacity.set_index("source_id").loc["CHN-GA", "exportable_share"] == 0.4  # untouched


# ------------------------------------------------------------------------------------------- calibrate
# Tiny gallium (China 50 t available at 100, Germany 20 t at 150, Japan 10 t at 200; demand 40): the least-cost plan
# buys 40 t from China. Observed: China 50%, Germany 25%, Japan 25% -> targets 20, 10, 10 t.
EVEN = [{"mineral": "ga", "period": "2024", "origin": o, "share": s, "measure": "quantity", "form": "metal"}
        for o, s in (("CHN", 0.5), ("DEU", 0.25), ("JPN", 0.25))]


def test_calibration_by_hand(tmp_path):
    from engine.analysis.calibrate import calibrate, overlay_scenario
    from engine.analysis.calibrate_run import render_calibration
    from engine.analysis.calibrate_run import summary as calibration_summary

    loaded = scenario_from_dict(tiny_scenario(objective=COST), _observed_dataset(tmp_path, EVEN))
    result = calibrate(loaded, tolerance_pp=0.0)
    # round 1: China bought 40 > 20 t -> its share 0.5 x 20/50 = 0.2; Germany (20 t at 150) then takes 20 t:
    # distance 50 x (0 + 0.25 + 0.25) = 25. Round 2: Germany 20 > 10 t -> 1.0 x 10/20 = 0.5; Japan takes 10: 0.
    assert result.before[0].distance_pp == pytest.approx(50.0) and not result.before[0].lower_bound
    assert result.after[0].distance_pp == pytest.approx(0.0, abs=1e-6) and result.within
    assert result.rounds == 2 and result.overlay == {"CHN-GA": 0.2, "DEU-GA": 0.5}
    assert list(result.moves["move"]) == ["CHN gallium exportable share 50.0% -> 20.0%",
                                          "DEU gallium exportable share 100.0% -> 50.0%"]
    assert overlay_scenario(result)["data"] == {"exportable_share": {"CHN-GA": 0.2, "DEU-GA": 0.5}}
    text = render_calibration(result)  # names, not codes
    assert "  gallium         50.0       0.0   China 50%, Germany 25%, Japan 25% / China 50%, Germany 25%, Japan 25%" \
        in text.splitlines()
    assert "  - China gallium exportable share 50.0% -> 20.0% (available in 2025: 50 -> 20 t, 1 block(s))" in text
    assert "  - Germany gallium exportable share 100.0% -> 50.0% (available in 2025: 20 -> 10 t, 1 block(s))" in text
    summary = calibration_summary(result)  # three solves (base, two rounds), each point checked
    assert summary["solver_checks"] == {"points_rejected": 0, "stage_retries": 0}
    assert summary["inputs_hash"] == loaded.digest
    # a looser tolerance stops after the first round
    loose = calibrate(loaded, tolerance_pp=30.0)
    assert loose.rounds == 1 and loose.overlay == {"CHN-GA": 0.2}
    assert loose.after[0].distance_pp == pytest.approx(25.0)


def test_calibration_leaves_a_target_a_policy_holds_back(tmp_path):
    from engine.analysis.calibrate import calibrate

    # China banned: the plan buys Germany 20 t and Japan 10 t; observed China 50%, Germany 50%. Holding Germany at
    # 15 t and Japan at 0 leaves 15 t from Germany alone: distance 50 either way, so nothing moves.
    rows = [dict(EVEN[0]), dict(EVEN[1], share=0.5)]
    ban = {"name": "ban", "type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}
    loaded = scenario_from_dict(tiny_scenario(objective=COST, policies=[ban]), _observed_dataset(tmp_path, rows))
    result = calibrate(loaded)
    assert result.overlay == {} and result.moves.empty and not result.within
    assert result.after[0].distance_pp == pytest.approx(50.0) == result.before[0].distance_pp


def test_calibrate_command_writes_an_overlay_that_solves(tmp_path):
    folder = tmp_path / "inputs"
    write_dataset(folder)
    write_table(folder, "observed_trade", EVEN)
    model = tmp_path / "tiny.yaml"
    model.write_text(yaml.safe_dump(tiny_scenario(name="tiny", objective=COST, data={"inputs": "inputs"})),
                     encoding="utf-8")
    out = tmp_path / "cal"
    r = CliRunner().invoke(main, ["calibrate", str(model), "--tolerance", "0", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "  - China gallium exportable share 50.0% -> 20.0% (available in 2025: 50 -> 20 t, 1 block(s))" in r.output
    overlay = yaml.safe_load((out / "calibrated.yaml").read_text(encoding="utf-8"))
    assert overlay["extends"] == str(model.resolve()) and overlay["name"] == "tiny-calibrated"
    solved = CliRunner().invoke(main, ["solve", str(out / "calibrated.yaml"), "--no-write", "--json"])
    assert solved.exit_code == 0, solved.output
    r = CliRunner().invoke(main, ["report", str(out), "--format", "md", "--out", str(tmp_path / "report")])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "| gallium | 2024, quantity | 50.0 | 0.0 | CHN 50%, DEU 25%, JPN 25% | CHN 50%, DEU 25%, JPN 25% |" in md
    assert "| CHN gallium exportable share 50.0% -> 20.0% | 50 | 20 | 1 |" in md
    write_dataset(tmp_path / "bare")
    (tmp_path / "bare.yaml").write_text(yaml.safe_dump(tiny_scenario(name="bare", data={"inputs": "bare"})),
                                        encoding="utf-8")
    r = CliRunner().invoke(main, ["calibrate", str(tmp_path / "bare.yaml"), "--no-write"])
    assert r.exit_code == 2
    assert r.output == (f"Error: {tmp_path / 'bare' / 'observed_trade.csv'}: no observed import shares to calibrate "
                        f"to (expected rows of mineral, period, origin, share, measure, form)\n")


def test_lead_times_and_capex_by_hand(tmp_path):
    # China 50 t at 100 USD/t; a domestic option at 50 USD/t, no capex, lead time 1 year (0 to 2); demand 40 t/yr
    # in 2025-2027, no discounting. Central: China in 2025, the option in 2026-27: cost 4,000 + 4,000 = 8,000,
    # dependence (100 + 0 + 0) / 3. Lead time 0: the option all three years (6,000; 0%); 2: China in 2025-26
    # (10,000; 66.7%). The capex range is blank, so both ends are the central value: no change.
    option = {"option_id": "DOM", "mineral": "ga", "host": "USA", "partner": "USA", "mode": "domestic",
              "partner_equity_share": 0.0, "capex_usd_per_tpy": 0.0, "opex_usd_per_t": 50.0, "royalty_usd_per_t": 0.0,
              "lead_time_years": 1, "lead_time_years_low": 0, "lead_time_years_high": 2, "max_size_tpy": 40.0,
              "min_size_tpy": "", "earliest_start": 2025, "description": "test option"}
    demand = [{"mineral": "ga", "year": y, "demand_t": 40} for y in (2025, 2026, 2027)]
    china = [row for row in TINY_CAPACITY if row["source_id"] == "CHN-GA"]
    ds = load_dataset(write_dataset(tmp_path / "inputs", capacity=china, demand=demand, jv_options=[option]))
    loaded = scenario_from_dict(tiny_scenario(objective=COST, horizon={"start": 2025, "end": 2027}), ds)
    result = sensitivity(loaded, families=("JV capex", "lead times"))
    assert result.base_cost_with_unmet_pv_usd == pytest.approx(8000.0, rel=1e-6)
    assert result.base_exposure_pct == pytest.approx(100 / 3, rel=1e-6)
    got = [(r.family, r.parameter, r.setting_low, r.setting_high) for r in result.table.itertuples()]
    assert got == [("lead times", "all", "lead time low", "lead time high"),
                   ("JV capex", "domestic", "capex low", "capex high")]
    lead = result.table.iloc[0]
    assert [lead.exposure_low_pp, lead.exposure_high_pp] == pytest.approx([-100 / 3, 100 / 3], abs=1e-4)
    assert [lead.cost_low_pv_usd, lead.cost_high_pv_usd] == pytest.approx([-2000.0, 2000.0], abs=1e-3)
    capex = result.table.iloc[1]
    assert [capex.exposure_low_pp, capex.exposure_high_pp, capex.cost_low_pv_usd, capex.cost_high_pv_usd] == \
        pytest.approx([0.0, 0.0, 0.0, 0.0], abs=1e-3)
    assert result.rebuilt == 2  # a lead time moves the first year a build delivers: the matrix changes


# China 40 t at 100 USD/t, Germany 20 t at 150 (BINDING); demand 40 t; minimise exposure within +10% of least cost.
# Base: least cost 4,000 (all China), budget 4,400: 400 / (150 - 100) = 8 t from Germany, exposure 32/40 = 80%.
# China's delivered cost x1.2 (120): least cost 4,800 > 4,400, so at the held budget the variant is planned at least
# cost: all China, exposure 100% (+20 pp), cost 4,800 (+400), flagged over budget. Each with its own budget (5,280), its
# premium of 480 buys 480 / 30 = 16 t from Germany: exposure 60%, -20 pp: dearer China "lowers" dependence because
# the budget grew with it. x0.8 (80): held, 4,400 - 3,200 = 1,200 buys 1,200 / 70 t from Germany: exposure
# 100 (40 - 120/7) / 40 %, cost unchanged; own budget (3,520): 320 / 70 t.
def _held(tmp_path, budget):
    ds = load_dataset(write_dataset(tmp_path / "inputs", capacity=BINDING))
    loaded = scenario_from_dict(tiny_scenario(objective={"minimise": "dependence", "budget": "+10%"}), ds)
    result = sensitivity(loaded, families=("delivered cost",), budget=budget)
    return result, result.table.set_index("parameter").loc["CHN"]


def test_sensitivity_holds_the_base_budget_by_hand(tmp_path):
    result, china = _held(tmp_path, "hold")
    assert result.base_exposure_pct == pytest.approx(80.0, rel=1e-6)
    assert result.budget_pv_usd == pytest.approx(4400.0, rel=1e-6)
    assert [china.exposure_low_pp, china.exposure_high_pp] == pytest.approx(
        [100 * (40 - 120 / 7) / 40 - 80, 20.0], abs=1e-4)
    assert [china.cost_low_pv_usd, china.cost_high_pv_usd] == pytest.approx([0.0, 400.0], abs=1e-3)
    assert (china.over_budget_low, china.over_budget_high) == (False, True)
    text = render_sensitivity(result)
    assert ("  Every variant is planned at the base plan's budget, USD 4,400 on cost including unmet demand (held "
            "in USD, so the changes are the assumption's alone; --budget own gives each its own); (1): even the "
            "variant's least-cost plan exceeds that budget, so it is planned at least cost (1 of 6 re-solves).") in text
    assert "delivered cost, China" in text and "(1: high)" in text
    summary = json.loads((write_sensitivity(result, tmp_path / "out") / "summary.json").read_text())
    assert (summary["budget"], summary["budget_pv_usd"]) == ("hold", pytest.approx(4400.0, rel=1e-6))


def test_sensitivity_own_budget_moves_with_the_variant(tmp_path):
    result, china = _held(tmp_path, "own")
    assert [china.exposure_low_pp, china.exposure_high_pp] == pytest.approx(
        [100 * (40 - 32 / 7) / 40 - 80, -20.0], abs=1e-4)
    assert not china.over_budget_low and not china.over_budget_high
    assert ("  Each variant has its own budget (the scenario's rule, +10% over least cost, applied to the variant's "
            "own least cost), not the base plan's USD 4,400:") in render_sensitivity(result)


def test_dearer_jv_capex_never_lowers_exposure_at_the_held_budget():
    # a property over a shipped scenario: at the base plan's budget in USD, dearer JV capex only shrinks the set of
    # affordable plans, so the least exposure never falls; cheaper capex never raises it. One family (its five deal
    # modes at their low and high capex), about 4 s
    result = sensitivity(load_scenario("baseline"), families=("JV capex",))
    assert result.status == "optimal" and result.budget == "hold" and result.budget_pv_usd is not None
    table = result.table
    assert len(table) >= 2 and (table["status"] == "optimal").all()
    assert not table["over_budget_low"].any() and not table["over_budget_high"].any()
    for r in table.itertuples(index=False):
        assert r.exposure_high_pp >= -1e-6, r.parameter
        assert r.exposure_low_pp <= 1e-6, r.parameter
        assert r.exposure_high_pp >= r.exposure_low_pp - 1e-6, r.parameter
