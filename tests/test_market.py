"""Market mode, step 1: the spatial price equilibrium, its prices and welfare (hand-solved, bridge, properties)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import InputError
from engine.formulation import build_model
from engine.inputs.dataset import load_dataset
from engine.inputs.market_tables import build_market_tables, load_market
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.market import solve_market
from engine.market.rents import flow_row_rents
from engine.plan.hierarchy import PlanSession
from engine.solvers import make_backend

from conftest import TINY_CAPACITY, tiny_scenario, write_dataset

ROOT = Path(__file__).resolve().parents[1]


def write_market(inputs: Path, regions: list[tuple[str, str]], demand: list[dict], trade: dict[str, float]) -> None:
    folder = inputs / "market"
    folder.mkdir(exist_ok=True)
    pd.DataFrame([{"region": r, "name": r, "countries": c} for r, c in regions]).to_csv(folder / "regions.csv",
                                                                                       index=False)
    rows = [{"mineral": "ga", "year": 2025, "price_usd_per_t": 100, "elasticity": 0.0, "elasticity_low": 0.0,
             "elasticity_high": 0.0, "source": "test", "estimate": "false", **d} for d in demand]
    pd.DataFrame(rows).to_csv(folder / "regional_demand.csv", index=False)
    pd.DataFrame([{"mineral": m, "usd_per_t": v, "source": "test", "estimate": "false"} for m, v in trade.items()]
                 ).to_csv(folder / "trade_costs.csv", index=False)


# ------------------------------------------------------------------------------------ two regions, two plants
# Plant A in the US: 10 t at 50 USD/t. Plant B in China: 30 t at 20 USD/t, 40% owned by the US. Trade cost 5
# between the regions. Inelastic demand (one step at 10 x 100 = 1,000 USD/t): USA 15 t, ROW 20 t.
# By hand: B (cheapest) runs full; 5 t more are needed, from A. A->USA + B->ROW (50 + 20) beats A->ROW + B->USA
# (55 + 25), so A sends 5 t to the US, B 10 t to the US and 20 t to ROW. A has spare capacity: the US price is its
# cost, 50. B is full: its rent is 50 - 25 = 25, so ROW's price is 20 + 25 = 45 (A->ROW at 55 stays idle).
# Welfare: CS USA (1000-50)x15 = 14,250; CS ROW (1000-45)x20 = 19,100. B's rent 25x10 + 25x20 = 750: 300 to the
# US (40%), 450 to ROW (China's 60%). A earns nothing. No tariffs. Sum 34,100 = 1000x35 - (250 + 250 + 400).
HAND_CAPACITY = [
    {"source_id": "USA-GA", "mineral": "ga", "location": "USA", "capacity_t": 10, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 50, "first_year": 2020, "last_year": ""},
    {"source_id": "CHN-GA", "mineral": "ga", "location": "CHN", "capacity_t": 30, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 20, "first_year": 2020, "last_year": ""},
]


@pytest.fixture
def hand(tmp_path: Path):
    inputs = write_dataset(tmp_path / "inputs", capacity=HAND_CAPACITY, demand=[{"mineral": "ga", "year": 2025,
                                                                                  "demand_t": 15}],
                           ownership=[{"source_id": "CHN-GA", "owner": "USA", "equity_share": 0.4}])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")],
                 [{"region": "USA", "quantity_t": 15}, {"region": "ROW", "quantity_t": 20}], {"ga": 5.0})
    loaded = scenario_from_dict(tiny_scenario(market="equilibrium"), load_dataset(inputs))
    return solve_market(loaded)


def test_two_regions_two_plants_by_hand(hand):
    flows = {(s, r): t for s, r, t in zip(hand.flows["source_id"], hand.flows["region"], hand.flows["tonnes"],
                                          strict=True)}
    assert flows == pytest.approx({("USA-GA", "USA"): 5.0, ("CHN-GA", "USA"): 10.0, ("CHN-GA", "ROW"): 20.0})
    prices = hand.prices.set_index("region")
    assert prices.loc["USA", "price_usd_per_t"] == pytest.approx(50.0)
    assert prices.loc["ROW", "price_usd_per_t"] == pytest.approx(45.0)
    assert (prices.loc["USA", "price_low_usd_per_t"], prices.loc["USA", "price_high_usd_per_t"]) == (50.0, 50.0)
    assert (prices.loc["ROW", "price_low_usd_per_t"], prices.loc["ROW", "price_high_usd_per_t"]) == (20.0, 55.0)
    assert prices.loc["ROW", "high_set_by"] == "supply USA-GA"
    w = hand.welfare.set_index("region")
    assert w.loc["USA", "consumer_surplus_usd"] == pytest.approx(14_250)
    assert w.loc["ROW", "consumer_surplus_usd"] == pytest.approx(19_100)
    assert w.loc["USA", "producer_surplus_usd"] == pytest.approx(300)
    assert w.loc["ROW", "producer_surplus_usd"] == pytest.approx(450)
    assert w["government_revenue_usd"].abs().max() == 0.0
    assert w["welfare_usd"].sum() == pytest.approx(34_100)
    assert hand.summary["total_surplus_pv_usd"] == pytest.approx(34_100)


# ------------------------------------------------------------------------------------ the bridge
def test_one_inelastic_region_is_todays_cost_stage(tmp_path: Path):
    """One region (the US), a single demand step at the value of unmet demand, plants capped at their exportable
    share and no trade cost: the same flows and cost as today's least-cost stage."""
    capacity = [*TINY_CAPACITY]
    inputs = write_dataset(tmp_path / "inputs", capacity=capacity,
                           demand=[{"mineral": "ga", "year": 2025, "demand_t": 85}])
    write_market(inputs, [("USA", "USA")], [{"region": "USA", "quantity_t": 85}], {"ga": 0.0})
    policies = [{"type": "tariff", "name": "t", "origin": "CHN", "ad_valorem": 0.25}]
    loaded = scenario_from_dict(tiny_scenario(market="equilibrium", policies=policies), load_dataset(inputs))
    market = solve_market(loaded, capacity_basis="exportable")
    model = build_model(loaded)
    plan = PlanSession(model, make_backend("highs")).solve(minimise="cost")
    x = plan.solution.x[model.block_cols("flow")]
    today = dict(zip(model.supply["source_id"], x, strict=True))
    ours = market.flows.groupby("source_id")["tonnes"].sum().to_dict()
    assert ours == pytest.approx({k: v for k, v in today.items() if v > 1e-9}, abs=1e-6)
    # cost including unmet demand = value of all demand - total surplus
    value = 10 * 100 * 85
    assert value - market.summary["total_surplus_pv_usd"] == pytest.approx(plan.least_cost_usd, rel=1e-9)
    assert market.welfare["government_revenue_usd"].sum() == pytest.approx(0.25 * 100 * 50)


# ------------------------------------------------------------------------------------ properties
@pytest.fixture(scope="module")
def shipped():
    return solve_market(load_scenario("market"))


def test_complementary_slackness(shipped):
    lp, sol = shipped.lp, shipped.solution
    key = pd.MultiIndex.from_frame(lp.balances[["region", "mineral", "year"]])
    price = sol.price
    row_f = key.get_indexer(pd.MultiIndex.from_frame(lp.flows[["region", "mineral", "year"]]))
    plant = pd.MultiIndex.from_frame(lp.plants[["source_id", "year"]]).get_indexer(
        pd.MultiIndex.from_frame(lp.flows[["source_id", "year"]]))
    cost = lp.flows["delivered_cost_usd_per_t"].to_numpy()
    scale = np.maximum(1.0, np.abs(cost))
    positive = sol.x > 1e-6
    # a positive flow is priced at its delivered cost (production + trade + tariff) plus its plant's rent plus the
    # rents of the policy and JV rows it is in (offtake rows here)
    gap = price[row_f] - cost - sol.rent[plant] - flow_row_rents(lp, sol)
    at_bound = sol.x >= lp.flows["upper_t"].to_numpy() - 1e-6
    assert np.all(np.abs(gap[positive & ~at_bound]) <= 1e-6 * scale[positive & ~at_bound])
    idle = ~positive & ~at_bound  # a route the buyer's restrictions close (bound 0) may be worth more than it costs
    assert np.all(gap[idle] <= 1e-6 * scale[idle])  # no open idle route would earn more than its cost
    row_s = key.get_indexer(pd.MultiIndex.from_frame(lp.steps[["region", "mineral", "year"]]))
    wtp = lp.steps["wtp_usd_per_t"].to_numpy()
    width = lp.steps["width_t"].to_numpy()
    served, full = sol.q > 1e-6, sol.q >= width - 1e-6
    assert np.all(price[row_s][served] <= wtp[served] * (1 + 1e-9))  # served: priced at or below its value
    assert np.all(price[row_s][~full] >= wtp[~full] * (1 - 1e-9))  # not full: priced at or above its value
    marginal = served & ~full
    assert np.allclose(price[row_s][marginal], wtp[marginal], rtol=1e-9)
    p = shipped.prices
    assert np.all(p["price_usd_per_t"] >= p["price_low_usd_per_t"] * (1 - 1e-9))
    high = p["price_high_usd_per_t"].fillna(np.inf)
    assert np.all(p["price_usd_per_t"] <= high * (1 + 1e-9))


def test_welfare_adds_up_to_total_surplus_and_tariffs(shipped):
    w = shipped.welfare
    tariffs_pv = (shipped.lp.flows["tariff_usd_per_t"].to_numpy() * shipped.solution.x
                  * shipped.lp.flows["year"].map(dict(zip(shipped.lp.balances["year"],
                                                          shipped.lp.balances["discount"], strict=False)))).sum()
    assert w["welfare_pv_usd"].sum() == pytest.approx(shipped.summary["total_surplus_pv_usd"] + tariffs_pv, rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_raising_a_regions_demand_never_lowers_its_price(tmp_path: Path, seed: int):
    rng = np.random.default_rng(seed)
    base = load_scenario("market")
    inputs = tmp_path / "inputs"
    import shutil

    shutil.copytree(base.dataset.folder, inputs)
    region = str(rng.choice(["USA", "EU", "JPN", "KOR", "CHN", "ROW"]))
    mineral = str(rng.choice(["li", "ni", "co", "ga", "ge"]))
    factor = float(rng.uniform(1.05, 1.6))
    before = solve_market(load_scenario("market", inputs=inputs)).prices
    path = inputs / "market" / "regional_demand.csv"
    table = pd.read_csv(path, keep_default_na=False)
    hit = (table["region"] == region) & (table["mineral"] == mineral)
    if region == "USA":  # the buyer's quantities are demand.csv's: scale both
        demand = pd.read_csv(inputs / "demand.csv", keep_default_na=False)
        demand.loc[demand["mineral"] == mineral, "demand_t"] *= factor
        demand.to_csv(inputs / "demand.csv", index=False)
    table.loc[hit, "quantity_t"] = table.loc[hit, "quantity_t"] * factor
    table.to_csv(path, index=False)
    after = solve_market(load_scenario("market", inputs=inputs)).prices
    pick = (before["region"] == region) & (before["mineral"] == mineral)
    assert np.all(after.loc[pick, "price_usd_per_t"].to_numpy()
                  >= before.loc[pick, "price_usd_per_t"].to_numpy() * (1 - 1e-9) - 1e-6), (region, mineral, factor)


def test_same_inputs_give_byte_identical_prices(tmp_path: Path):
    runner = CliRunner()
    for name in ("a", "b"):
        r = runner.invoke(main, ["solve", "market", "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert "Market prices 2025" in r.output and "USA imports 2025 by origin" in r.output
    for file in ("prices.csv", "welfare.csv", "market_flows.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


@pytest.mark.parametrize("command", [["robust"], ["worstcase"]])
def test_commands_without_a_market_mode_refuse_it_in_one_line(command):
    # every other command runs it (tests/test_market_commands.py; explain: tests/test_market_explain.py); robust and
    # worstcase say why they do not yet
    r = CliRunner().invoke(main, [*command, "market"])
    assert r.exit_code == 2, r.output
    assert r.output.strip().count("\n") == 0 and "is not yet supported in market mode" in r.output


def test_explain_no_longer_refuses_market_mode():
    r = CliRunner().invoke(main, ["explain", "market", "--mineral", "gallium", "--year", "2025"])
    assert r.exit_code == 0, r.output
    assert "market mode; why USA pays what it pays and buys where it buys" in r.output
    assert "does not yet support market mode" not in r.output


def test_missing_market_tables_are_named_in_one_line(tmp_path: Path):
    inputs = write_dataset(tmp_path / "inputs")
    loaded = scenario_from_dict(tiny_scenario(market="equilibrium"), load_dataset(inputs))
    with pytest.raises(InputError, match=r"market mode needs the market tables in .*market: regions.csv, "
                                         r"regional_demand.csv, trade_costs.csv not found"):
        solve_market(loaded)


def test_the_buyers_quantities_must_be_demand_csvs(tmp_path: Path):
    inputs = write_dataset(tmp_path / "inputs")
    write_market(inputs, [("USA", "USA"), ("ROW", "*")],
                 [{"region": "USA", "quantity_t": 41}, {"region": "ROW", "quantity_t": 20}], {"ga": 5.0})
    with pytest.raises(InputError, match=r"regional_demand.csv, line 2, column quantity_t: 41 for the buyer region "
                                         r"USA, ga 2025; expected 40 \(demand.csv\)"):
        load_market(load_dataset(inputs))


def test_shipped_market_tables_are_what_the_rule_makes():
    dataset = load_scenario("market").dataset
    for name, frame in build_market_tables(dataset).items():
        shipped = pd.read_csv(dataset.folder / "market" / f"{name}.csv", keep_default_na=False)
        made = frame.assign(estimate=frame["estimate"].map({True: "true", False: "false"}))
        shipped["estimate"] = shipped["estimate"].astype(str).str.lower()
        pd.testing.assert_frame_equal(shipped.reset_index(drop=True), made.reset_index(drop=True),
                                      check_dtype=False, check_exact=False, rtol=1e-9)


def test_the_single_buyer_library_refuses_market_mode():
    # the single-buyer path must never plan a market scenario as if it were one (compare, report and the API reach
    # market mode through engine.market: tests/test_market_commands.py)
    from engine.run import run_scenario

    with pytest.raises(InputError, match=r"the single-buyer model does not plan it: engine.market.solve_market "
                                         r"\(or engine.api.solve\) solves market mode"):
        run_scenario("market")


def test_the_tie_rule_holds_a_column_at_the_bound_its_point_sits_on():
    """The optimal face is held where step 2's point is, whatever the sign of a multiplier within the solver's
    dual tolerance: a flow at 0 with reduced cost −7e-8 stays at 0, not at its upper bound (which would leave no
    point on the face: the bench's market size failed so)."""
    from engine.market.solve import _nearer_bound

    lower, upper = np.array([0.0, 0.0, -np.inf, 5.0]), np.array([1802.9, 10.0, 3.0, 5.0])
    assert _nearer_bound(np.array([0.0, 10.0, 3.0, 5.0]), lower, upper).tolist() == [0.0, 10.0, 3.0, 5.0]
    assert _nearer_bound(np.array([1e-9, 10.0 - 1e-9, 3.0 - 1e-12, 5.0]), lower, upper).tolist() == \
        [0.0, 10.0, 3.0, 5.0]
