"""Market mode, step 2: the US goal (share-of-supply cap), its certificate price, welfare cost and the budget rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_market import HAND_CAPACITY, write_market

from engine.cli import main
from engine.errors import InputError
from engine.inputs.dataset import load_dataset
from engine.inputs.market_tables import load_market
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.market import solve_market
from engine.market.build import build_market
from engine.market.frontier import WelfareAccount, choose, run_frontier
from engine.market.rents import flow_row_rents
from engine.market.solve import MarketSolver
from engine.market.welfare import welfare_pv, welfare_table

from conftest import tiny_scenario, write_dataset

# ------------------------------------------------------------------------------------ two regions, a binding cap
# test_market's hand case: plant A in the US (10 t at 50), plant B in China (30 t at 20, 40% US-owned), trade 5,
# inelastic demand USA 15 t, ROW 20 t at 1,000. Uncapped: A->USA 5, B->USA 10, B->ROW 20; prices USA 50, ROW 45.
# Goal (location basis): China share of US supply <= 0.2, i.e. 0.8·x_B,US - 0.2·x_A,US <= 0 (x_B,US <= x_A,US / 4).
# US demand 15 = x_A + x_B with x_A <= 10: the most B can send is 2.5 t against A's 10 t (A full, 12.5 t). The
# other 2.5 t of US demand go unmet at 1,000 (willingness to pay), since B cannot send more and A is full. So
# US consumption 12.5 t: price USA = 1,000 (step not fully served). ROW (which holds China, so no trade cost): B
# sends 20 t, 7.5 t idle: B has spare capacity, so its rent is 0 and ROW's price is B's cost, 20.
# B's US flow: price_US = 20 + 5 + 0 + λ(1 - 0.2) → λ = (1,000 - 25) / 0.8 = 1,218.75.
# A's US flow (at capacity): 1,000 = 50 + rent_A + λ(0 - 0.2) → rent_A = 950 + 243.75 = 1,193.75.
# Certificate: charge λ·0.8 = 975 on a China tonne, credit λ·0.2 = 243.75 on A's.
# Welfare with the goal: CS_US = (1000 - 1000)·12.5 = 0; US government: certificates 975·2.5 - 243.75·10 = 0;
# PS, margin = (price - delivered - cert)·x: A (in the US) (1000 - 50 + 243.75)·10 = 11,937.5 to the US; B: US
# route (1000 - 25 - 975)·2.5 = 0, ROW route (20 - 20)·20 = 0. US welfare 11,937.5.
# Uncapped US welfare: CS 14,250 + PS 300 (40% of B's 750) = 14,550. Change: -2,612.5.
# ROW: CS (1000 - 20)·20 = 19,600 (was 19,100), PS 60% of B's 0 = 0 (was 450): change +50.


@pytest.fixture
def hand_inputs(tmp_path: Path) -> Path:
    inputs = write_dataset(tmp_path / "inputs", capacity=HAND_CAPACITY,
                           demand=[{"mineral": "ga", "year": 2025, "demand_t": 15}],
                           ownership=[{"source_id": "CHN-GA", "owner": "USA", "equity_share": 0.4}])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")],
                 [{"region": "USA", "quantity_t": 15}, {"region": "ROW", "quantity_t": 20}], {"ga": 5.0})
    return inputs


def hand_goal(inputs: Path, **goal: object):
    return solve_market(scenario_from_dict(tiny_scenario(market="equilibrium", market_goal=goal),
                                           load_dataset(inputs)))


def test_binding_cap_by_hand(hand_inputs: Path):
    r = hand_goal(hand_inputs, share_of_supply_max=0.2)
    flows = {(s, g): t for s, g, t in zip(r.flows["source_id"], r.flows["region"], r.flows["tonnes"], strict=True)}
    assert flows == pytest.approx({("USA-GA", "USA"): 10.0, ("CHN-GA", "USA"): 2.5, ("CHN-GA", "ROW"): 20.0})
    prices = r.prices.set_index("region")
    assert prices.loc["USA", "price_usd_per_t"] == pytest.approx(1000.0)
    assert prices.loc["ROW", "price_usd_per_t"] == pytest.approx(20.0)
    assert prices.loc["USA", "price_uncapped_usd_per_t"] == pytest.approx(50.0)
    c = r.goal.certificates.iloc[0]
    assert c["certificate_price_usd_per_t"] == pytest.approx(1218.75)
    assert c["charge_attributed_usd_per_t"] == pytest.approx(975.0)
    assert c["credit_unattributed_usd_per_t"] == pytest.approx(243.75)
    assert c["net_revenue_usd"] == pytest.approx(0.0, abs=1e-6) and bool(c["binding"])
    assert c["share_of_supply_pct"] == pytest.approx(20.0)
    assert c["share_of_supply_uncapped_pct"] == pytest.approx(100 * 10 / 15)
    cert = dict(zip(r.flows["source_id"] + ">" + r.flows["region"], r.flows["certificate_usd_per_t"], strict=True))
    assert cert == pytest.approx({"USA-GA>USA": -243.75, "CHN-GA>USA": 975.0, "CHN-GA>ROW": 0.0})
    w = r.goal.who_pays.set_index("region")
    assert w.loc["USA", "welfare_uncapped_pv_usd"] == pytest.approx(14_550)
    assert w.loc["USA", "welfare_goal_pv_usd"] == pytest.approx(11_937.5)
    assert w.loc["USA", "welfare_change_pv_usd"] == pytest.approx(-2_612.5)
    assert w.loc["USA", "government_revenue_change_pv_usd"] == pytest.approx(0.0, abs=1e-6)
    assert w.loc["ROW", "welfare_change_pv_usd"] == pytest.approx(50.0)
    # the vectorised account (frontier) and welfare.csv agree
    pv = welfare_pv(r.welfare, r.lp).set_index("region")["welfare_pv_usd"]
    assert pv.to_dict() == pytest.approx(w["welfare_goal_pv_usd"].to_dict())
    assert r.summary["market_step"] == 2 and r.summary["goal"]["share_of_supply_max"] == 0.2


def test_slack_cap_has_zero_certificate_price(hand_inputs: Path):
    r = hand_goal(hand_inputs, share_of_supply_max=0.9)  # uncapped share 2/3
    assert r.goal.certificates["certificate_price_usd_per_t"].tolist() == [0.0]
    assert not r.goal.certificates["binding"].any()
    assert r.goal.who_pays["welfare_change_pv_usd"].abs().max() == pytest.approx(0.0, abs=1e-6)


def test_budget_picks_lowest_exposure_within_budget(hand_inputs: Path):
    r = hand_goal(hand_inputs, budget="+2%", points=5)
    f = r.goal.frontier
    assert f.spend_pv_usd == pytest.approx(50 * 15) and f.budget_usd == pytest.approx(15.0)
    assert f.chosen is not None and r.goal.theta == f.points["theta"].iloc[f.chosen]
    # loss of the chosen point within budget; the uncapped point (theta = 2/3) is on the grid with loss 0
    assert f.points["theta"].iloc[0] == pytest.approx(2 / 3)
    assert f.points["welfare_loss_pv_usd"].iloc[f.chosen] <= f.budget_usd + 1e-9


@pytest.mark.parametrize("seed", range(20))
def test_budget_rule_property(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    points = pd.DataFrame({"theta": np.round(np.linspace(1, 0, n), 9), "exposure_pct": rng.choice([10., 20., 30.], n),
                           "welfare_loss_pv_usd": rng.normal(0, 10, n)})
    budget = float(rng.uniform(0, 10))
    at = choose(points, budget, spend_pv_usd=100.0)
    ok = points["welfare_loss_pv_usd"] <= budget + 1e-7
    if at is None:
        assert not ok.any()
        return
    assert ok[at]  # the chosen point is within the budget
    lower = points["exposure_pct"] < points["exposure_pct"][at]
    assert not (lower & ok).any()  # no point of lower exposure is


@pytest.fixture(scope="module")
def shipped():
    loaded = load_scenario("market_goal")
    market = load_market(loaded.dataset, loaded.scenario.buyer)
    lp = build_market(loaded, market, goal_rows=True)
    solver = MarketSolver(lp)
    base = solver.solve()
    return loaded, market, lp, solver, base


def test_complementary_slackness_with_the_goal(shipped):
    _, _, lp, solver, _ = shipped
    solver.set_theta(0.2)
    sol = solver.solve()
    solver.set_theta(None)
    assert (sol.certificate > 0).any()
    key = pd.MultiIndex.from_frame(lp.balances[["region", "mineral", "year"]])
    row_f = key.get_indexer(pd.MultiIndex.from_frame(lp.flows[["region", "mineral", "year"]]))
    plant = pd.MultiIndex.from_frame(lp.plants[["source_id", "year"]]).get_indexer(
        pd.MultiIndex.from_frame(lp.flows[["source_id", "year"]]))
    from engine.market.goal import flow_certificate

    cost = lp.flows["delivered_cost_usd_per_t"].to_numpy() + flow_certificate(lp, sol)
    gap = sol.price[row_f] - cost - sol.rent[plant] - flow_row_rents(lp, sol)
    scale = np.maximum(1.0, np.abs(sol.price[row_f]))
    positive = sol.x > 1e-6
    at_bound = sol.x >= lp.flows["upper_t"].to_numpy() - 1e-6
    free = positive & ~at_bound
    # every positive US flow: price = production + trade + tariff + rent + λ(a − θ)
    assert free[lp.goal_col].any()
    assert np.all(np.abs(gap[free]) <= 1e-6 * scale[free])
    idle = ~positive & ~at_bound
    assert np.all(gap[idle] <= 1e-6 * scale[idle])
    # the goal rows hold, and λ > 0 only where they bind
    a = lp.flows["attribution"].to_numpy()[lp.goal_col]
    lhs = np.bincount(lp.goal_row, (a - 0.2) * sol.x[lp.goal_col], minlength=len(lp.goals))
    supplied = np.bincount(lp.goal_row, sol.x[lp.goal_col], minlength=len(lp.goals))
    assert np.all(lhs <= 1e-6 * np.maximum(1, supplied))
    assert np.all(np.abs(lhs[sol.certificate > 1e-9]) <= 1e-6 * np.maximum(1, supplied[sol.certificate > 1e-9]))


def test_welfare_account_equals_welfare_table(shipped):
    loaded, market, lp, solver, _ = shipped
    solver.set_theta(0.3)
    sol = solver.solve()
    solver.set_theta(None)
    fast = WelfareAccount(lp, market, loaded.dataset.ownership).by_region(sol).set_index("region")
    slow = welfare_pv(welfare_table(lp, sol, market, loaded.dataset.ownership), lp).set_index("region")
    for column in fast.columns:
        assert fast[column].to_numpy() == pytest.approx(slow[column].to_numpy(), rel=1e-9, abs=1e-3), column


def test_frontier_picks_the_lowest_exposure_within_budget_on_the_shipped_data(shipped):
    """(Its speed, points per second warm, is measured by the benchmarks, not asserted here.)"""
    loaded, market, lp, solver, base = shipped
    account = WelfareAccount(lp, market, loaded.dataset.ownership)
    f = run_frontier(solver, account, base, points=21, budget_premium=0.02, budget_absolute_usd=None)
    assert len(f.points) == 21 and f.chosen is not None
    ok = f.points["within_budget"]
    assert not (ok & (f.points["exposure_pct"] < f.points["exposure_pct"].iloc[f.chosen])).any()


def test_same_inputs_give_byte_identical_goal_outputs(tmp_path: Path):
    runner = CliRunner()
    for name in ("a", "b"):
        r = runner.invoke(main, ["solve", "market_goal", "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert "<- chosen" in r.output and "Who pays" in r.output and "Certificate price" in r.output
    for file in ("prices.csv", "welfare.csv", "market_flows.csv", "certificates.csv", "who_pays.csv", "frontier.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


@pytest.mark.parametrize(("goal", "message"), [
    ({"share_of_supply_max": 1.5}, "market_goal.share_of_supply_max: got 1.5; expected a finite number from 0 to 1"),
    ({"budget": "2 pct"}, "market_goal.budget: expected a premium such as '+15%' or an absolute present value in "
                          "USD, got '2 pct'"),
    ({"budget": "+2%", "share_of_supply_max": 0.2}, "market_goal: expected one of share_of_supply_max"),
    ({"budgt": "+2%"}, "market_goal.budgt: unknown key 'budgt' (did you mean 'budget'?)"),
    ({"points": 1, "budget": "+2%"}, "market_goal.points: got 1; expected a finite number from 2 to 1001"),
])
def test_bad_goal_is_named(goal: dict, message: str):
    with pytest.raises(InputError) as err:
        scenario_from_dict({"extends": "market", "market_goal": goal}, name="bad")
    assert message in str(err.value)


def test_goal_needs_market_mode():
    with pytest.raises(InputError, match="market_goal: a goal needs market: equilibrium; got market: none"):
        scenario_from_dict({"extends": "baseline", "market_goal": {"budget": "+2%"}}, name="bad")


def test_exposure_counts_shortfall_and_never_exceeds_100_percent():
    """Hand-worked: Q0 = 10 t (steps 0 … STEPS_ABOVE at 1, 1, …, the rest above), one China plant (a = 1) and one
    other (a = 0). 12 t consumed, all from China: 100% (not 120%: the denominator is what is consumed when more than
    Q0); 8 t consumed, 4 from China: (4 + 2 short) / 10 = 60%; nothing consumed: 100% short."""
    from types import SimpleNamespace

    from engine.market.demand import STEPS_ABOVE
    from engine.market.goal import buyer_measures

    widths = np.full(STEPS_ABOVE + 3, 10.0 / (STEPS_ABOVE + 1))
    steps = pd.DataFrame({"region": "USA", "mineral": "ga", "year": 2025, "step": np.arange(len(widths)),
                          "width_t": widths})
    flows = pd.DataFrame({"region": ["USA", "USA", "EU"], "mineral": "ga", "year": 2025,
                          "attribution": [1.0, 0.0, 1.0]})
    lp = SimpleNamespace(flows=flows, steps=steps, buyer_region="USA")
    for x, expected in (([12.0, 0.0, 5.0], 100.0), ([4.0, 4.0, 0.0], 60.0), ([0.0, 0.0, 9.0], 100.0)):
        m = buyer_measures(lp, SimpleNamespace(x=np.array(x)))
        assert m["exposure_pct"].iloc[0] == pytest.approx(expected)
