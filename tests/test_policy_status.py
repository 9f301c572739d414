"""Policy status ("which of my policies bind?"): binding or slack, slack in the policy's own unit and its dual,
worked out by hand on the tiny dataset, plus the printed summary, summary.json and policies.csv."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from engine.cli import main
from engine.outputs.policy_status import policy_status

from conftest import solve_dict, tiny_scenario, write_dataset

# Gallium: CHN 50 t at 100 USD/t, DEU 20 t at 150, JPN 10 t at 200; demand 40 t. Germanium: CHN 100 t at 1,000,
# DEU 5 t at 1,500; demand 10 t. Least cost, no discounting, 2025 only.
POLICIES = [
    # CHN at most half of gallium: 20 t from CHN, 20 t from DEU; binding, one more tonne from CHN saves 150 - 100.
    {"type": "country_cap", "name": "half_from_china", "max_share": 0.5, "countries": ["CHN"], "minerals": ["ga"]},
    # DEU at most 95% of gallium: uses 20 of 38 t; slack 18 t.
    {"type": "country_cap", "name": "loose_cap", "max_share": 0.95, "countries": ["DEU"], "minerals": ["ga"]},
    # germanium at most 80% from CHN: 8 t CHN, 2 t DEU; binding; one more point (0.1 t) saves 0.1 x 500 = 50 USD.
    {"type": "dependence_cap", "name": "ge_cap", "max_share": 0.8, "minerals": ["ge"]},
    # Japan's gallium (the dearest) banned: the plan would not buy it anyway; never binds.
    {"type": "export_ban", "name": "no_japan", "exporter": "JPN", "minerals": ["ga"]},
    # 10% on German germanium: charges the 2 t bought.
    {"type": "tariff", "name": "deu_tariff", "origin": ["DEU"], "ad_valorem": 0.1, "minerals": ["ge"]},
]


@pytest.fixture(scope="module")
def status(tmp_path_factory) -> tuple[pd.DataFrame, dict]:
    from engine.inputs.dataset import load_dataset

    folder = tmp_path_factory.mktemp("status")
    dataset = load_dataset(write_dataset(folder / "inputs"))
    result = solve_dict(dataset, minerals=["ga", "ge"], objective={"minimise": "cost"}, policies=POLICIES)
    assert result.ok
    return result.tables.extra["policies"].set_index("policy"), result.summary


def test_hand_worked_status(status):
    table, _ = status
    cap = table.loc["half_from_china"]
    assert (cap["status"], cap["country"], cap["slack_unit"]) == ("binding", "CHN", "t")
    assert (cap["limit"], cap["used"], cap["slack"]) == pytest.approx((20.0, 20.0, 0.0), abs=1e-6)
    assert cap["dual_usd"] == pytest.approx(50.0)
    loose = table.loc["loose_cap"]
    assert (loose["status"], loose["country"]) == ("slack", "DEU")
    assert (loose["limit"], loose["used"], loose["slack"]) == pytest.approx((38.0, 20.0, 18.0), abs=1e-6)
    assert np.isnan(loose["dual_usd"])
    assert loose["reading"] == "'loose_cap' on DEU, gallium 2025: not binding; 18.00 t more could come from there"
    ge = table.loc["ge_cap"]
    assert (ge["status"], ge["slack_unit"]) == ("binding", "pp of supply")  # 8 t of China in 10 t supplied
    assert (ge["limit"], ge["used"]) == pytest.approx((80.0, 80.0), abs=1e-4)
    assert ge["dual_usd"] == pytest.approx(0.1 * (1500 * 1.1 - 1000))  # the tariff makes DEU 1,650
    ban = table.loc["no_japan"]
    assert (ban["status"], ban["family"], ban["slack"]) == ("slack", "bound", 0.0)
    tariff = table.loc["deu_tariff"]
    assert (tariff["status"], tariff["used"]) == ("charged", pytest.approx(2.0))


def test_summary_lists_binding_and_never_binding(status):
    _, summary = status
    by = {p["policy"]: p for p in summary["policies"]}
    assert [p["policy"] for p in summary["policies"]] == [p["name"] for p in POLICIES]
    assert {k: v["status"] for k, v in by.items()} == {
        "half_from_china": "binding", "loose_cap": "never binds", "ge_cap": "binding", "no_japan": "never binds",
        "deu_tariff": "charged"}
    assert by["half_from_china"]["largest_dual_usd"] == pytest.approx(50.0)
    assert by["loose_cap"]["reading"] == ("slack in all 1 mineral-years it covers; closest to its limit: gallium "
                                          "2025 on DEU, 18.00 t to spare")
    assert by["no_japan"]["reading"] == ("the plan would not buy more of what it holds back in any of the 1 "
                                         "mineral-years it covers")


def test_cli_prints_and_writes_policy_status(tmp_path):
    write_dataset(tmp_path / "inputs")
    scen = tiny_scenario(name="st", minerals=["ga", "ge"], objective={"minimise": "cost"}, policies=POLICIES,
                         data={"inputs": "inputs"})
    (tmp_path / "st.yaml").write_text(yaml.safe_dump(scen), encoding="utf-8")
    r = CliRunner().invoke(main, ["solve", str(tmp_path / "st.yaml"), "--out", str(tmp_path / "st")])
    assert r.exit_code == 0, r.output
    assert ("  Policy status (policies.csv has every mineral-year):\n"
            "  - half_from_china (country_cap) binds in 1 of 1 mineral-years (gallium; 2025); largest shadow price "
            "USD 50 per t of supply from the country\n") in r.output
    assert "  Your policies that never bind:\n  - loose_cap (country_cap): slack in all 1" in r.output
    csv = pd.read_csv(tmp_path / "st" / "policies.csv")
    assert list(csv["policy"]) == [p["name"] for p in POLICIES]
    summary = json.loads((tmp_path / "st" / "summary.json").read_text())
    assert [p["status"] for p in summary["policies"]] == ["binding", "never binds", "binding", "never binds",
                                                          "charged"]


def test_row_order_does_not_change_the_status(tmp_path):
    """The table is sorted by the scenario's policy order, mineral, year and country: a reversed capacity table
    gives the same rows."""
    from engine.inputs.dataset import load_dataset

    from conftest import TINY_CAPACITY

    a = load_dataset(write_dataset(tmp_path / "a"))
    b = load_dataset(write_dataset(tmp_path / "b", capacity=TINY_CAPACITY[::-1]))
    tables = [solve_dict(d, minerals=["ga", "ge"], objective={"minimise": "cost"}, policies=POLICIES)
              .tables.extra["policies"] for d in (a, b)]
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_empty_policy_list_gives_an_empty_table(tiny):
    result = solve_dict(tiny, objective={"minimise": "cost"})
    assert result.tables.extra["policies"].empty
    assert result.summary["policies"] == []
    assert policy_status(result.model, result.plan.x).empty
