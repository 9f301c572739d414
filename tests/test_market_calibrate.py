"""Market calibration with increasing route costs (issue 29, item 5): a hand-worked two-origin case, the route-cost
steps themselves, and the shipped market's calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_market import write_market

from engine.analysis.market_calibrate import calibrate_market, water_fill
from engine.cli import main
from engine.inputs.dataset import load_dataset
from engine.inputs.market_tables import load_market
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.market.build import build_market
from engine.market.prices import price_table
from engine.market.route_costs import check_route_steps, route_totals, with_route_steps
from engine.market.solve import solve_lp

from conftest import tiny_scenario, write_dataset, write_table

# Two origins, one buyer. Japan 100 t at 10 USD/t, Germany 100 t at 12; both home to ROW (no demand); trade cost 1
# to the US; US demand 50 t, inelastic (one step at 10 x 100 = 1,000). Observed US imports: Japan 40%, Germany 60%.
# Uncalibrated: the US buys all 50 t from Japan (delivered 11 < 13): distance 50 x (0.6 + 0.6) = 60 points.
# Calibration LP (share row: Germany's tonnes = 0.6 x imports): Japan 20 t, Germany 30 t; one more tonne of US
# consumption costs 0.4 x 11 + 0.6 x 13 = 12.2, the US price. Add-ons: Japan 12.2 - 11 = +1.2, Germany 12.2 - 13 =
# -0.8 (0.4 x 1.2 + 0.6 x (-0.8) = 0). Margin 1% of 100 = 1: Japan's route costs 1.2 - 1 = 0.2 on its first 20 t and
# 2.2 above; Germany's -1.8 on its first 30 t and +0.2 above. Both lower steps deliver at 11.2 and both upper steps
# at 13.2, so the calibrated equilibrium buys 20 t and 30 t again: distance 0.
HAND = [
    {"source_id": "JPN-GA", "mineral": "ga", "location": "JPN", "capacity_t": 100, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 10, "first_year": 2020, "last_year": ""},
    {"source_id": "DEU-GA", "mineral": "ga", "location": "DEU", "capacity_t": 100, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 12, "first_year": 2020, "last_year": ""},
]
OBSERVED = {"JPN": 0.4, "DEU": 0.6}


def hand_inputs(folder: Path, capacity: list[dict] = HAND) -> Path:
    inputs = write_dataset(folder, capacity=capacity, demand=[{"mineral": "ga", "year": 2025, "demand_t": 50}])
    write_table(inputs, "observed_trade", [{"mineral": "ga", "period": "2024", "origin": o, "share": s,
                                            "measure": "quantity", "form": "gallium", "source": "test"}
                                           for o, s in OBSERVED.items()])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")], [{"region": "USA", "quantity_t": 50},
                                                           {"region": "ROW", "quantity_t": 0}], {"ga": 1.0})
    return inputs


@pytest.fixture
def hand(tmp_path: Path):
    loaded = scenario_from_dict(tiny_scenario(market="equilibrium"), load_dataset(hand_inputs(tmp_path / "in")))
    return calibrate_market(loaded)


def _us_tonnes(lp, x) -> dict[str, float]:
    t = route_totals(lp, x)
    t = t[t["region"] == "USA"]
    return {s.split("-")[0]: float(v) for s, v in zip(t["source_id"], t["tonnes"], strict=True)}


def test_hand_case_add_ons_steps_and_calibrated_flows(hand):
    assert hand.status == "optimal"
    g = hand.groups.set_index("group")
    assert set(g.index) == {"DEU", "JPN"}  # the observation names every origin: no group for the rest
    assert g.loc["JPN", "target_share"] == pytest.approx(0.4) and g.loc["DEU", "target_share"] == pytest.approx(0.6)
    assert g.loc["JPN", "add_on_usd_per_t"] == pytest.approx(1.2, abs=1e-6)
    assert g.loc["DEU", "add_on_usd_per_t"] == pytest.approx(-0.8, abs=1e-6)
    assert g.loc["JPN", "calibration_lp_t"] == pytest.approx(20.0) and g.loc["DEU", "calibration_lp_t"] == \
        pytest.approx(30.0)
    steps = {(r.source_id, r.step): (r.width_t, r.usd_per_t) for r in hand.steps.itertuples(index=False)}
    assert steps[("JPN-GA", 0)] == pytest.approx((20.0, 0.2), abs=1e-6)
    assert steps[("JPN-GA", 1)][1] == pytest.approx(2.2, abs=1e-6) and np.isinf(steps[("JPN-GA", 1)][0])
    assert steps[("DEU-GA", 0)] == pytest.approx((30.0, -1.8), abs=1e-6)
    assert steps[("DEU-GA", 1)][1] == pytest.approx(0.2, abs=1e-6)
    # before: all from Japan; after: the observed 40/60
    assert _us_tonnes(build_market(hand.loaded, hand.market), hand.uncalibrated.x) == pytest.approx(
        {"JPN": 50.0, "DEU": 0.0})
    assert _us_tonnes(hand.lp, hand.solution.x) == pytest.approx({"JPN": 20.0, "DEU": 30.0})
    assert hand.before[0].distance_pp == pytest.approx(60.0)
    assert hand.after[0].distance_pp == pytest.approx(0.0, abs=1e-9)
    # the US price sits at the kink of both routes' steps: between the lower steps' 11.2 and the upper steps' 13.2
    p = price_table(hand.lp, hand.solution).set_index("region").loc["USA"]
    assert 11.2 - 1e-6 <= p["price_usd_per_t"] <= 13.2 + 1e-6
    assert p["price_low_usd_per_t"] == pytest.approx(11.2) and p["price_high_usd_per_t"] == pytest.approx(13.2)


def test_steps_hold_the_mix_where_a_linear_wedge_tips_over(hand):
    """The calibrated point is robust: move Japan's cost by half the margin and the stepped LP still buys 20/30; with
    the add-ons as flat wedges (no steps) the same move sends every tonne to Germany."""
    moved = [dict(HAND[0], unit_cost_usd_per_t=10.5), HAND[1]]

    def solve(tmp: Path, steps: pd.DataFrame) -> dict[str, float]:
        loaded = scenario_from_dict(tiny_scenario(market="equilibrium"), load_dataset(hand_inputs(tmp, moved)))
        lp = with_route_steps(build_market(loaded, load_market(loaded.dataset)), steps)
        return _us_tonnes(lp, solve_lp(lp).x)

    stepped = solve(hand.loaded.dataset.folder.parent / "moved", hand.steps)
    assert stepped == pytest.approx({"JPN": 20.0, "DEU": 30.0})
    flat = hand.groups[hand.groups["fitted"] & hand.groups["reachable"] & hand.groups["group"].isin(["JPN", "DEU"])]
    wedges = pd.DataFrame({"source_id": flat["group"] + "-GA", "region": "USA", "step": 0, "width_t": np.inf,
                           "usd_per_t": flat["add_on_usd_per_t"].to_numpy()})
    assert solve(hand.loaded.dataset.folder.parent / "flat", wedges) == pytest.approx({"JPN": 0.0, "DEU": 50.0})


def test_a_route_step_split_keeps_the_lp_when_no_route_is_stepped_and_prices_every_step(tmp_path):
    loaded = scenario_from_dict(tiny_scenario(market="equilibrium"), load_dataset(hand_inputs(tmp_path / "in")))
    lp = build_market(loaded, load_market(loaded.dataset))
    empty = pd.DataFrame(columns=["source_id", "region", "step", "width_t", "usd_per_t"])
    same = with_route_steps(lp, empty)
    assert (same.matrix != lp.matrix).nnz == 0 and np.array_equal(same.cost, lp.cost)
    assert np.array_equal(same.upper, lp.upper)
    # a step's bound is what is left of the route's bound: 100 t, first step 30 t -> 30 and 70
    steps = pd.DataFrame({"source_id": ["DEU-GA"] * 2, "region": ["USA"] * 2, "step": [0, 1], "width_t": [30, np.inf],
                          "usd_per_t": [-1.8, 0.2]})
    stepped = with_route_steps(lp, steps)
    rows = stepped.flows[(stepped.flows["source_id"] == "DEU-GA") & (stepped.flows["region"] == "USA")]
    assert rows["upper_t"].tolist() == [30.0, 70.0] and rows["route_step"].tolist() == [0, 1]
    assert rows["delivered_cost_usd_per_t"].tolist() == pytest.approx([13 - 1.8, 13.2])
    assert stepped.matrix.shape[1] == lp.matrix.shape[1] + 1 and stepped.matrix.nnz == lp.matrix.nnz + 2


@pytest.mark.parametrize(("steps", "message"), [
    ({"step": [0, 2], "width_t": [5, np.inf], "usd_per_t": [0, 1]}, "steps [0, 2]; expected 0 … 1"),
    ({"step": [0, 1], "width_t": [5, 6], "usd_per_t": [0, 1]}, "expected finite widths > 0, the last +inf"),
    ({"step": [0, 1], "width_t": [5, np.inf], "usd_per_t": [1, 1]}, "expected finite and strictly rising"),
])
def test_route_steps_must_rise_and_end_unbounded(steps, message):
    frame = pd.DataFrame({"source_id": "A", "region": "USA", **steps})
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("+", r"\+")):
        check_route_steps(frame)


def test_water_filling_holds_a_short_group_at_its_capacity():
    # Norway can supply 10% of the imports but is observed at 20%: held at 10%, the others share the rest 3:1
    t = water_fill({"NOR": 0.2, "FIN": 0.6, "ROW": 0.2}, {"NOR": 0.1, "FIN": 5.0, "ROW": 5.0})
    assert t == pytest.approx({"NOR": 0.1, "FIN": 0.9 * 0.75, "ROW": 0.9 * 0.25})
    assert water_fill({"A": 0.5, "B": 0.5}, {"A": 1.0, "B": 1.0}) == pytest.approx({"A": 0.5, "B": 0.5})


@pytest.fixture(scope="module")
def shipped():
    return calibrate_market(load_scenario("market"))


def test_shipped_calibration_reaches_lithium_and_cobalt_and_keeps_the_add_ons_centred(shipped):
    before = {b.observation.mineral: b.distance_pp for b in shipped.before}
    after = {b.observation.mineral: b.distance_pp for b in shipped.after}
    assert after["li"] == pytest.approx(0.0, abs=1e-6) and before["li"] > 50
    assert after["co"] < before["co"]
    # China delivers nothing to the US in 2025 (the gallium and germanium ban), and Brazil, an observed nickel
    # origin, has no plant in the dataset: out of reach, so unchanged
    g = shipped.groups
    assert set(g.loc[~g["reachable"], "mineral"] + " " + g.loc[~g["reachable"], "group"]) == {"ga CHN", "ge CHN",
                                                                                               "ni BRA"}
    assert after["ga"] == pytest.approx(before["ga"]) and after["ge"] == pytest.approx(before["ge"])
    # cobalt: Norway's capacity cannot supply its observed share; held at it
    assert g.loc[g["capped"], "group"].tolist() == ["NOR"]
    for mineral, rows in g[g["fitted"] & g["reachable"]].groupby("mineral"):
        assert (rows["target_share"] * rows["add_on_usd_per_t"]).sum() == pytest.approx(0.0, abs=1e-6), mineral
        assert rows["target_share"].sum() == pytest.approx(1.0)


def test_shipped_calibrated_equilibrium_prices_every_step_at_its_cost_plus_rent(shipped):
    """Complementary slackness on the stepped LP: a positive step below its bound is priced at delivered cost (with
    its add-on) + its plant's rent + the rents of the policy and JV rows it uses; a step at its bound at no more
    than the price."""
    from engine.market.rents import flow_row_rents

    lp, sol = shipped.lp, shipped.solution
    key = pd.MultiIndex.from_frame(lp.balances[["region", "mineral", "year"]])
    row = key.get_indexer(pd.MultiIndex.from_frame(lp.flows[["region", "mineral", "year"]]))
    plant = pd.MultiIndex.from_frame(lp.plants[["source_id", "year"]]).get_indexer(
        pd.MultiIndex.from_frame(lp.flows[["source_id", "year"]]))
    gap = sol.price[row] - lp.flows["delivered_cost_usd_per_t"].to_numpy() - sol.rent[plant] - flow_row_rents(lp, sol)
    x, upper = sol.x, lp.flows["upper_t"].to_numpy()
    scale = np.maximum(1.0, np.abs(sol.price[row]))
    interior = (x > 1e-6) & (x < upper - 1e-6)
    at_bound = (x > 1e-6) & ~interior
    assert np.all(np.abs(gap[interior]) <= 1e-6 * scale[interior])
    assert np.all(gap[at_bound] >= -1e-6 * scale[at_bound])


def test_calibrate_command_on_a_market_scenario_writes_its_files_and_is_byte_identical(tmp_path):
    runner = CliRunner()
    for name in ("a", "b"):
        r = runner.invoke(main, ["calibrate", "market", "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert "Backcast 2025: distance to observed imports, points, before and after calibration" in r.output
    for file in ("route_costs.csv", "calibration.csv", "backcast.csv", "price_backcast.csv", "summary.json"):
        a, b = ((tmp_path / n / file).read_bytes() for n in ("a", "b"))
        assert a == b, file
    summary = json.loads((tmp_path / "a" / "summary.json").read_text(encoding="utf-8"))
    assert summary["prices_compared"] == len(summary["prices"]) > 0
    r = runner.invoke(main, ["report", str(tmp_path / "a"), "--out", str(tmp_path / "report")])
    assert r.exit_code == 2 and r.output.strip().count("\n") == 0
    assert "a market-mode folder (market: equilibrium, written by 'critmin calibrate' of a market scenario)" in r.output
    r = runner.invoke(main, ["calibrate", "baseline", "--margin", "0.02", "--no-write"])
    assert r.exit_code == 2 and "--margin: applies to a market scenario only (market: equilibrium)" in r.output
