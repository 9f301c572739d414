"""Every deterministic command in market mode (issue 29, item 6): frontier, stress, sweep, sensitivity, compare,
report and the workbook give the numbers ``critmin solve`` gives for the same point; robust and worstcase refuse.

The hand case is test_market's: plant A in the US (10 t at 50 USD/t), plant B in China (30 t at 20, 40% owned by
the US), trade cost 5 between the two regions, inelastic demand (one step at 10 x 100 = 1,000 USD/t): USA 15 t,
ROW (which holds China) 20 t. Base equilibrium: A->USA 5 t, B->USA 10 t, B->ROW 20 t; prices USA 50 (A has spare
capacity), ROW 45 (B is full: its rent is 50 - 25 = 25). US welfare: consumer surplus (1000 - 50) x 15 = 14,250
plus 40% of B's rent 25 x 30 = 750, i.e. 300: 14,550. ROW: (1000 - 45) x 20 = 19,100 plus China's 60%, 450: 19,550.

**China cuts gallium** (N-1 by location: B's capacity to 0). Only A's 10 t remain; A->USA (50) beats A->ROW (55),
so the US consumes 10 t of its 15 and ROW nothing. The US step is partly served, so the US price is its willingness
to pay, 1,000: the US gallium basket (15 t) costs 15,000 instead of 750, +1,900%. US welfare: consumer surplus
(1000 - 1000) x 10 = 0, A's rent (1000 - 50) x 10 = 9,500 (A is in the US): 9,500, a change of -5,050. The US
consumes 5 t less, all of it reference demand; exposure (attributed + unconsumed, % of 15 t) falls from 10/15 to
5/15, -33.3 points. ROW consumes nothing and B earns nothing: its welfare falls by all of 19,550; its price is
anywhere in [1,000, 1,005] (its step unserved: at least 1,000; A->ROW at 55 + A's rent 950 bounds it).

**Production cost of China x1.2** (sensitivity): B costs 24, so B->USA 29; A still sets the US price (50), B's rent
falls to 50 - 29 = 21 on all 30 t, ROW's price stays 24 + 21 = 45. The US keeps its consumer surplus and loses 40% of
B's lower rent: 0.4 x (21 - 25) x 30 = -48. At x0.8: +48.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from test_market import HAND_CAPACITY, write_market

from engine import api
from engine.analysis.market_frontier import market_frontier
from engine.analysis.market_sensitivity import market_sensitivity
from engine.analysis.market_stress import market_stress
from engine.analysis.sweep import read_checkpoint, run_sweep
from engine.cli import main
from engine.errors import InputError
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.market import solve_market

from conftest import tiny_scenario, write_dataset, write_scenario


def hand_inputs(folder: Path) -> Path:
    inputs = write_dataset(folder, capacity=HAND_CAPACITY, demand=[{"mineral": "ga", "year": 2025, "demand_t": 15}],
                           ownership=[{"source_id": "CHN-GA", "owner": "USA", "equity_share": 0.4}])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")],
                 [{"region": "USA", "quantity_t": 15}, {"region": "ROW", "quantity_t": 20}], {"ga": 5.0})
    # the trade cost's range as a share of the reference price (100): 5% at both ends, the shipped 5 USD/t
    pd.DataFrame([{"assumption_id": "market-trade-cost", "value": 0.05, "unit": "share of the reference price",
                   "low": 0.05, "high": 0.05, "basis": "test"}]).to_csv(inputs / "market" / "assumptions.csv",
                                                                         index=False)
    return inputs


@pytest.fixture
def hand(tmp_path: Path):
    return scenario_from_dict(tiny_scenario(market="equilibrium"), load_dataset(hand_inputs(tmp_path / "inputs")),
                              name="hand")


def invoke(args: list[str]):
    return CliRunner().invoke(main, [str(a) for a in args])


# ------------------------------------------------------------------------------------------------- stress
def test_china_cut_by_hand(hand):
    result = market_stress(hand)
    assert result.rule.startswith("no goal")
    row = result.table.set_index("shock").loc["CHN cuts ga (location)"]
    assert row["price_change_USA_pct"] == pytest.approx(1900.0)
    assert row["welfare_change_USA_pv_usd"] == pytest.approx(-5050.0)
    assert row["consumption_change_t"] == pytest.approx(-5.0)
    assert row["unconsumed_added_t"] == pytest.approx(5.0)
    assert row["exposure_change_pp"] == pytest.approx(100 * (5 / 15 - 10 / 15))
    assert row["welfare_change_ROW_pv_usd"] == pytest.approx(-19_550.0)
    assert 100 * (1000 - 45) / 45 - 1e-6 <= row["price_change_ROW_pct"] <= 100 * (1005 - 45) / 45 + 1e-6
    assert row["world_surplus_change_pv_usd"] == pytest.approx(row["welfare_change_USA_pv_usd"]
                                                               + row["welfare_change_ROW_pv_usd"])
    assert result.base["welfare_pv_usd"] == pytest.approx({"USA": 14_550.0, "ROW": 19_550.0})


def test_stress_base_is_solves_and_a_chinese_cobalt_cut_moves_the_price(tmp_path: Path):
    solved = json.loads(invoke(["solve", "market", "--no-write", "--json"]).output)
    r = invoke(["stress", "market", "--out", tmp_path / "stress"])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "stress" / "summary.json").read_text())
    base = summary["base"]
    assert base["buyer_exposure_pct"] == solved["buyer"]["exposure_pct"]
    assert base["buyer_share_of_supply_pct"] == solved["buyer"]["share_of_supply_mean_pct"]
    assert base["buyer_consumption_t"] == pytest.approx(solved["buyer"]["consumption_t"], rel=1e-12)
    for region, welfare in solved["welfare"].items():
        assert base["welfare_pv_usd"][region] == pytest.approx(welfare["welfare_pv_usd"], rel=1e-9)
    table = pd.read_csv(tmp_path / "stress" / "stress.csv").set_index("shock")
    cobalt = table.loc["CHN cuts co (location)"]
    assert cobalt["price_change_USA_pct"] > 100 and cobalt["welfare_change_USA_pv_usd"] < -1e9
    assert cobalt["price_change_EU_pct"] > 100  # other regions' prices move too
    assert (table["rank"].diff().dropna() == 1).all()
    assert "China cuts cobalt" in r.output and "(stress.csv, stress.png, stress.svg, summary.json)" in r.output


# ------------------------------------------------------------------------------------------------- frontier
def test_frontier_is_solves_frontier_with_prices_per_point(tmp_path: Path):
    loaded = load_scenario("market_goal")
    solved = solve_market(loaded)
    run = market_frontier(loaded)
    ours, theirs = run.table, solved.goal.frontier.points
    pd.testing.assert_frame_equal(ours[theirs.columns], theirs)
    assert run.frontier.chosen == solved.goal.frontier.chosen
    chosen = float(theirs["theta"].iloc[solved.goal.frontier.chosen])
    prices = run.prices[run.prices["theta"] == chosen].drop(columns="theta").reset_index(drop=True)
    pd.testing.assert_frame_equal(prices, solved.prices[["region", "mineral", "year", "price_usd_per_t"]])
    certificates = run.certificates[run.certificates["theta"] == chosen]
    assert certificates["certificate_price_usd_per_t"].to_list() == \
        solved.goal.certificates["certificate_price_usd_per_t"].to_list()
    # each region's price change at theta = 1 (the uncapped point) is 0; who pays holds the chosen point's
    assert ours.loc[0, [c for c in ours.columns if c.startswith("price_change_")]].abs().max() == 0
    who = solved.goal.who_pays.set_index("region")["price_change_pct"]
    for region in who.index:
        assert ours.loc[solved.goal.frontier.chosen, f"price_change_{region}_pct"] == pytest.approx(who[region],
                                                                                                     abs=1e-6)
    r = invoke(["frontier", "market", "--caps", "50,0", "--out", tmp_path / "f"])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(tmp_path / "f" / "frontier.csv")
    assert table["theta"].to_list() == [0.5, 0.0] and not table["chosen"].any()
    assert "No budget: the scenario sets no market_goal budget, so no point is chosen" in r.output
    for name in ("frontier_prices.csv", "frontier_certificates.csv", "frontier.png", "frontier.svg",
                 "summary.json"):
        assert (tmp_path / "f" / name).is_file(), name


# ------------------------------------------------------------------------------------------------- sweep
def test_sweep_is_byte_identical_serial_workers_dask_and_resumed(tmp_path: Path):
    loaded = load_scenario("market")
    serial = run_sweep(loaded, tmp_path / "serial", samples=3, seed=5)
    run_sweep(loaded, tmp_path / "workers", samples=3, seed=5, workers=2)
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        run_sweep(loaded, tmp_path / "dask", samples=3, seed=5, scheduler=cluster.scheduler_address)
    part = run_sweep(loaded, tmp_path / "part", samples=3, seed=5, stop_after=1)
    assert part.interrupted and len(read_checkpoint(tmp_path / "part")) == 1
    r = invoke(["sweep", "market", "--samples", "3", "--seed", "5", "--out", tmp_path / "part", "--resume"])
    assert r.exit_code == 0, r.output
    for name in ("samples.csv", "percentiles.csv"):
        reference = (tmp_path / "serial" / name).read_bytes()
        assert (tmp_path / "workers" / name).read_bytes() == reference, name
        assert (tmp_path / "dask" / name).read_bytes() == reference, name
        assert (tmp_path / "part" / name).read_bytes() == reference, name
    table = serial.table
    # elasticities and trade costs are drawn per mineral, inside their ranges
    assert table["elasticity_li"].between(-0.5, -0.1).all() and table["elasticity_li"].nunique() == 3
    assert table["trade_cost_share_co"].between(0.01, 0.05).all()
    stats = pd.read_csv(tmp_path / "serial" / "percentiles.csv").set_index("metric")
    for metric in ("welfare_USA_pv_usd", "price_USA_li_usd_per_t", "price_CHN_ga_usd_per_t", "exposure_pct"):
        assert stats.loc[metric, "p5"] <= stats.loc[metric, "p50"] <= stats.loc[metric, "p95"], metric
    assert "P5" in r.output and "welfare USA (PV)" in r.output and "market_goal unset" in r.output
    assert json.loads((tmp_path / "serial" / "summary.json").read_text())["market"] == "equilibrium"


def test_a_sample_at_the_central_values_is_the_solved_equilibrium(hand, tmp_path: Path):
    # the hand case's ranges are points (elasticity 0 to 0, trade cost 5% to 5%) and it has no uncertainty, so
    # every sample is the scenario itself: its row holds what 'critmin solve' reports
    run = run_sweep(hand, tmp_path / "sweep", samples=2, seed=1)
    solved = solve_market(hand).summary
    for row in run.table.to_dict("records"):
        assert row["welfare_USA_pv_usd"] == pytest.approx(solved["welfare"]["USA"]["welfare_pv_usd"], rel=1e-9)
        assert row["welfare_ROW_pv_usd"] == pytest.approx(solved["welfare"]["ROW"]["welfare_pv_usd"], rel=1e-9)
        assert row["price_USA_ga_usd_per_t"] == 50.0 and row["price_ROW_ga_usd_per_t"] == 45.0
        assert row["exposure_pct"] == pytest.approx(solved["buyer"]["exposure_pct"])
        assert row["elasticity_ga"] == 0.0 and row["trade_cost_share_ga"] == 0.05


# ------------------------------------------------------------------------------------------------- sensitivity
def test_sensitivity_by_hand_and_on_the_command_line(hand, tmp_path: Path):
    result = market_sensitivity(hand)
    assert result.base["welfare_pv_usd"] == pytest.approx(14_550.0)
    rows = result.table.set_index(["family", "parameter"])
    china = rows.loc[("production cost", "CHN")]
    assert china["welfare_low_pv_usd"] == pytest.approx(48.0) and china["welfare_high_pv_usd"] == pytest.approx(-48.0)
    assert china["price_low_pct"] == 0.0 and china["price_high_pct"] == 0.0
    assert set(result.table["family"]) == {"elasticity", "trade cost", "reference quantity", "production cost"}
    swings = result.table["welfare_swing_pv_usd"].round(-3).to_list()
    assert swings == sorted(swings, reverse=True)
    model = write_scenario(tmp_path / "hand.yaml", tmp_path / "inputs", market="equilibrium")
    solved = json.loads(invoke(["solve", model, "--no-write", "--json"]).output)
    r = invoke(["sensitivity", model, "--out", tmp_path / "sens", "--top", "2"])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "sens" / "summary.json").read_text())
    assert summary["base"]["welfare_pv_usd"] == solved["welfare"]["USA"]["welfare_pv_usd"]
    assert "… " in r.output and "more in sensitivity.csv" in r.output


# ------------------------------------------------------------------------------------------------- compare
def test_compare_a_folder_and_the_scenario_agree_and_mixing_modes_is_refused(tmp_path: Path):
    assert invoke(["solve", "market_goal", "--out", tmp_path / "mg"]).exit_code == 0
    r = invoke(["compare", "market_goal", tmp_path / "mg", "market", "--out", tmp_path / "c.csv",
                "--report", tmp_path / "rep"])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(tmp_path / "c.csv").set_index("key")
    numbers = table.drop(index=["origin", "buyer_region"])
    solved, folder = numbers.columns[3], numbers.columns[4]  # after section, metric and unit
    pd.testing.assert_series_equal(numbers[solved].astype(float), numbers[folder].astype(float), check_names=False)
    assert float(table.loc["goal.share_of_supply_max", solved]) == 0.0
    assert pd.isna(table.loc["goal.share_of_supply_max", "market"])
    assert "Each run at its own goal" in r.output
    assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "comparison.xlsx").is_file()
    refused = invoke(["compare", "baseline", tmp_path / "mg"])
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        f"Error: compare: cannot compare market-mode runs ({tmp_path / 'mg'}) with single-buyer runs (baseline): a "
        f"market run reports welfare and prices, a single-buyer run a plan's cost; compare market runs with market "
        f"runs")


# ------------------------------------------------------------------------------------------------- report
def test_report_and_workbook_of_a_market_folder_have_who_pays(tmp_path: Path):
    assert invoke(["solve", "market_goal", "--out", tmp_path / "mg"]).exit_code == 0
    r = invoke(["report", tmp_path / "mg", "--format", "md,html,xlsx,parquet"])
    assert r.exit_code == 0, r.output
    md = (tmp_path / "mg" / "report" / "report.md").read_text()
    for heading in ("## Prices", "## Welfare", "## Flows", "## Who pays", "## Certificates", "## Frontier of the goal"):
        assert heading in md, heading
    who = pd.read_csv(tmp_path / "mg" / "who_pays.csv")
    section = md.split("## Who pays")[1].split("## ")[0]
    for region in who["region"]:
        assert f"| {region} |" in section
    china = who.set_index("region").loc["CHN"]
    assert f"{china['price_change_pct']:+.2f}%" in section
    html = (tmp_path / "mg" / "report" / "report.html").read_text()
    assert "<h2>Who pays</h2>" in html
    book = openpyxl.load_workbook(tmp_path / "mg" / "report" / "results.xlsx")
    assert book.sheetnames[:6] == ["Cover", "Prices", "Welfare", "Market flows", "Certificates", "Who pays"]
    sheet = book["Who pays"]
    assert [c.value for c in sheet["A"]][1:] == list(who["region"])
    assert (tmp_path / "mg" / "report" / "parquet" / "who_pays.parquet").is_file()
    # without a goal the page says why there is nobody to pay
    assert invoke(["solve", "market", "--out", tmp_path / "m"]).exit_code == 0
    assert invoke(["report", tmp_path / "m"]).exit_code == 0
    assert "This scenario sets no goal (market_goal)" in (tmp_path / "m" / "report" / "report.md").read_text()


def test_reports_of_the_market_analyses(hand, tmp_path: Path):
    model = write_scenario(tmp_path / "hand.yaml", tmp_path / "inputs", market="equilibrium")
    for command, extra in (("frontier", []), ("stress", []), ("sensitivity", []), ("sweep", ["--samples", "2"])):
        folder = tmp_path / command
        r = invoke([command, model, "--out", folder, *extra])
        assert r.exit_code == 0, (command, r.output)
        r = invoke(["report", folder, "--format", "md,xlsx"])
        assert r.exit_code == 0, (command, r.output)
        md = (folder / "report" / "report.md").read_text()
        assert f"market {command}" in md, command
    assert "China cuts gallium" in (tmp_path / "stress" / "report" / "report.md").read_text()


# ------------------------------------------------------------------------------------------------- refusals
REFUSALS = {
    "robust": "Error: 'critmin robust' is not yet supported in market mode (scenario 'market' has market: "
              "equilibrium): its first stage (JV builds and stockpiles chosen before the disruption) needs "
              "stockpiles, which the market model does not have yet; a later step",
    "worstcase": "Error: 'critmin worstcase' is not yet supported in market mode (scenario 'market' has market: "
                 "equilibrium): in a market the worst case becomes bilevel (the restricting country's moves change "
                 "every region's prices and supply); a later step",
}


@pytest.mark.parametrize("command", sorted(REFUSALS))
def test_robust_and_worstcase_refuse_in_one_line(command: str):
    r = invoke([command, "market"])
    assert r.exit_code == 2 and r.output.strip() == REFUSALS[command]
    with pytest.raises(InputError) as caught:
        getattr(api, command)("market")
    assert f"Error: {caught.value}" == REFUSALS[command]


@pytest.mark.parametrize(("args", "message"), [
    (["stress", "market", "--solver", "pulp"],
     "Error: --solver pulp: market mode is solved by HiGHS in-process only; leave --solver out"),
    (["frontier", "market", "--mineral", "li"],
     "Error: --mineral: market mode's goal caps the China share of every mineral at once; a frontier per mineral is "
     "not built yet"),
    (["explain", "market", "--solver", "pulp"],  # explain runs market mode (tests/test_market_explain.py)
     "Error: --solver pulp: market mode is solved by HiGHS in-process only; leave --solver out"),
])
def test_options_market_mode_does_not_take(args: list[str], message: str):
    r = invoke(args)
    assert r.exit_code == 2 and r.output.strip().splitlines()[-1] == message


def test_validate_builds_the_equilibrium():
    r = invoke(["validate", "market_goal", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    solved = solve_market(load_scenario("market_goal")).summary
    assert data["market"] == "equilibrium" and data["model"] == solved["model"]


def test_python_api_gives_the_commands_results(hand):
    plan = api.solve(hand)
    assert plan.summary["welfare"]["USA"]["welfare_pv_usd"] == pytest.approx(14_550.0)
    assert plan.prices.set_index("region").loc["USA", "price_usd_per_t"] == 50.0
    stress = api.stress(hand)
    assert stress.status == "optimal" and len(stress.table) == 1 and "China cuts gallium" in stress.text
    assert api.frontier(hand, points=3).table["theta"].to_list() == [pytest.approx(2 / 3), pytest.approx(1 / 3), 0.0]
