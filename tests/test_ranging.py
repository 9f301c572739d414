"""Ranging of the shadow prices in ``duals.csv`` (``engine/outputs/duals.py``): each dual with the interval of its
policy's bound over which it holds, in the policy's own unit; blank with the reason where there is none (CBC); no
"-0" anywhere in ``duals.csv``.

Hand-worked LP (gallium, one year, ``minimise: cost``, no discounting): demand 40 t; China 14 t exportable at
USD 100/t, Germany 20 t at 150, Japan 20 t at 200; a country cap of 25% on China, 10 t of the 40. The plan buys
China 10, Germany 20, Japan 10. A tonne more from China replaces a Japanese one: the cap's dual is USD 200 − 100 =
100 per tonne. It holds while China has capacity behind the cap and Japan has tonnes to give up: relaxing for
14 − 10 = 4 t, tightening for the 10 t China sells (Japan's 10 t spare take them).
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import scenario_from_dict
from engine.outputs.duals import COLUMNS, RANGED
from engine.outputs.files import write_csv
from engine.run import run_scenario

from conftest import TINY_CAPACITY, tiny_scenario, write_dataset

SHIPPED = ["baseline", "crma_caps", "feoc_strict", "ga_ge_ban", "ira_content", "jv_quid_pro_quo"]
CAP = {"name": "china_cap", "type": "country_cap", "max_share": 0.25, "by": "location", "countries": ["CHN"]}
BAN = {"name": "ban", "type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}


@pytest.fixture
def behind(tmp_path):
    """The tiny dataset with China's exportable gallium at 14 t and Japan's capacity at 20 t."""
    capacity = [dict(row) for row in TINY_CAPACITY]
    capacity[0]["capacity_t"] = 28  # × exportable share 0.5
    capacity[2]["capacity_t"] = 20
    return load_dataset(write_dataset(tmp_path / "inputs", capacity=capacity))


def duals_of(dataset, solver="highs", **overrides) -> pd.DataFrame:
    result = run_scenario(scenario_from_dict(tiny_scenario(**overrides), dataset), solver=solver, impacts=False)
    return result.tables.extra["duals"]


def test_a_cap_with_a_cheaper_source_behind_it_holds_for_that_source(behind):
    duals = duals_of(behind, objective={"minimise": "cost"}, policies=[CAP])
    assert list(duals.columns) == COLUMNS
    cap = duals[duals["policy"] == "china_cap"].iloc[0]
    assert cap["dual_usd"] == pytest.approx(100.0)
    assert cap["ranging"] == RANGED and cap["holds_unit"] == "t"
    assert cap["holds_relaxing"] == pytest.approx(4.0)
    assert cap["holds_tightening"] == pytest.approx(10.0)
    assert "USD 100 per tonne, for the first 4 t relaxed and 10 t tightened (ranging)" in cap["reading"]


# with minimise: cost the duals' LP is the least-cost stage, solved again for them; by default it is the final cost
# stage, whose duals are re-used and ranged at its basis, restored
@pytest.mark.parametrize("objective", [{"minimise": "cost"}, {"budget": "+50%"}])
def test_a_ban_holds_for_the_unmet_demand_it_causes(tiny, objective):
    # gallium demand 40 t: Germany 20 and Japan 10 without China leave 10 t unmet at 10 × USD 100; a Chinese tonne
    # let through meets one for USD 100: saves 900, for the first 10 t (then demand is met)
    duals = duals_of(tiny, objective=objective, policies=[BAN])
    ban = duals[duals["family"] == "bound"].iloc[0]
    assert ban["dual_usd"] == pytest.approx(900.0)
    assert ban["holds_relaxing"] == pytest.approx(10.0)
    assert ban["holds_tightening"] == 0.0  # a ban's bound is at zero already
    assert "each tonne let through would save USD 900, for the first 10 t (ranging)" in ban["reading"]


def test_cbc_leaves_the_range_blank_and_says_why(tiny):
    duals = duals_of(tiny, solver="cbc", objective={"minimise": "cost"}, policies=[BAN])
    assert len(duals) > 0
    assert duals["holds_relaxing"].isna().all() and duals["holds_tightening"].isna().all()
    assert (duals["ranging"] == "not available with cbc").all()
    assert duals["reading"].str.endswith("(its range is not available with cbc)").all()


def _text(duals: pd.DataFrame, path) -> str:
    write_csv(duals, path, columns=COLUMNS)
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SHIPPED)
def test_no_negative_zero_in_duals_csv(name, tmp_path):
    duals = run_scenario(name, impacts=False).tables.extra["duals"]
    text = _text(duals, tmp_path / "duals.csv")
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    for column in frame.columns:
        assert not frame[column].str.fullmatch(r"-0(\.0*)?").any(), (name, column)
    assert "USD -0" not in text and "USD 0 " not in text and "USD 0," not in text
    ranged = duals[duals["ranging"] == RANGED]
    assert len(ranged) == len(duals), duals["ranging"].unique()  # HiGHS ranges every dual of the shipped scenarios
    assert (ranged["holds_relaxing"] >= 0).all() and (ranged["holds_tightening"] >= 0).all()
