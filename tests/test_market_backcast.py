"""The market backcast: the buyer region's first-year imports by origin against observed trade, beside the
single-buyer least-cost plan's distance (issue 29, item 5)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_market import write_market

from engine.analysis.backcast import distance, observations
from engine.analysis.market_backcast import equilibrium_shares, market_backcast
from engine.cli import main
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.market import solve_market

from conftest import tiny_scenario, write_dataset, write_table

# The hand case of test_market with the US plant moved to Japan, a region of its own with no demand: Japan 10 t at
# 50 USD/t, China 30 t at 20 (trade cost 5 between regions); USA 15 t, ROW 20 t. China runs full and Japan sends 5 t.
# Japan -> USA + China -> ROW (55 + 20) beats Japan -> ROW + China -> USA (55 + 25), so the US gets 5 t from Japan
# and 10 t from China: import shares JPN 1/3, CHN 2/3.
HAND = [
    {"source_id": "JPN-GA", "mineral": "ga", "location": "JPN", "capacity_t": 10, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 50, "first_year": 2020, "last_year": ""},
    {"source_id": "CHN-GA", "mineral": "ga", "location": "CHN", "capacity_t": 30, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 20, "first_year": 2020, "last_year": ""},
]
OBSERVED = {"JPN": 0.5, "CHN": 0.3, "ROW": 0.2}


@pytest.fixture
def hand(tmp_path: Path):
    inputs = write_dataset(tmp_path / "inputs", capacity=HAND, demand=[{"mineral": "ga", "year": 2025,
                                                                          "demand_t": 15}])
    write_table(inputs, "observed_trade", [{"mineral": "ga", "period": "2024", "origin": o, "share": s,
                                            "measure": "quantity", "form": "gallium", "source": "test"}
                                           for o, s in OBSERVED.items()])
    write_market(inputs, [("USA", "USA"), ("JPN", "JPN"), ("ROW", "*")],
                 [{"region": "USA", "quantity_t": 15}, {"region": "JPN", "quantity_t": 0},
                  {"region": "ROW", "quantity_t": 20}], {"ga": 5.0})
    loaded = scenario_from_dict(tiny_scenario(market="equilibrium"), load_dataset(inputs))
    result = solve_market(loaded)
    result.add_backcast(market_backcast(result))
    return result


def test_hand_case_shares_are_the_flows_shares_and_the_distance_is_backcasts(hand):
    flows = hand.flows[hand.flows["region"] == "USA"].groupby("location")["tonnes"].sum()
    assert flows.to_dict() == pytest.approx({"JPN": 5.0, "CHN": 10.0})
    assert equilibrium_shares(hand.flows, "USA", "USA", 2025) == {"ga": pytest.approx({"JPN": 1 / 3, "CHN": 2 / 3})}
    b = hand.backcast
    assert b is not None and [m.observation.mineral for m in b.market] == ["ga"]
    row = b.market[0]
    assert row.planned == pytest.approx({"JPN": 1 / 3, "CHN": 2 / 3})
    assert row.observation.shares == observations(hand.loaded.dataset)["ga"].shares
    expected, bound = distance(row.observation.shares, {"JPN": 1 / 3, "CHN": 2 / 3})
    assert row.distance_pp == pytest.approx(expected) and bound
    assert expected == pytest.approx(50 * (1 / 6 + 11 / 30 + 0.2))
    assert b.least_cost[0].distance_pp is not None and math.isfinite(b.least_cost[0].distance_pp)
    table = b.table()
    assert list(table["mineral"]) == ["ga"] and table["distance_market_pp"].iloc[0] == pytest.approx(expected)


def test_shipped_market_backcast_has_every_observed_mineral_and_is_byte_identical(tmp_path: Path):
    loaded = load_scenario("market")
    observed = set(observations(loaded.dataset))
    runner = CliRunner()
    for name in ("a", "b"):
        r = runner.invoke(main, ["solve", "market", "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert "Backcast 2025: US imports by origin against observed trade" in r.output
    text = (tmp_path / "a" / "backcast.csv").read_text(encoding="utf-8")
    assert text == (tmp_path / "b" / "backcast.csv").read_text(encoding="utf-8")
    summary, again = (json.loads((tmp_path / n / "summary.json").read_text(encoding="utf-8"))["backcast"]
                      for n in ("a", "b"))
    assert json.dumps(summary) == json.dumps(again)
    assert set(summary["by_mineral"]) == observed
    for m, row in summary["by_mineral"].items():
        for key in ("distance_market_pp", "distance_least_cost_pp"):
            assert row[key] is not None and math.isfinite(row[key]), (m, key)
        assert row["closer"] in {"market", "least cost", "tie"}
