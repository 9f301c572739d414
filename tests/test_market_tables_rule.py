"""The rule that makes regional_demand.csv: a sourced share of world demand, the rest split by assumed shares."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.errors import InputError
from engine.inputs.dataset import load_dataset
from engine.inputs.market_tables import build_market_tables

from conftest import write_dataset

SOURCED = "Sourced: a test document, p. 1."
COMMON = [
    ("market-elasticity", "-0.3", "elasticity", "-0.5", "-0.1", "Assumed."),
    ("market-trade-cost", "0.02", "share of the reference price", "0.01", "0.05", "Assumed."),
]


def _build(tmp_path: Path, rows: list[tuple[str, str, str, str, str, str]]) -> pd.DataFrame:
    inputs = write_dataset(tmp_path / "inputs")  # ga: 130 t of capacity, US demand 40 t; ge: 105 t, 10 t
    (inputs / "market").mkdir()
    pd.DataFrame(rows + COMMON, columns=["assumption_id", "value", "unit", "low", "high", "basis"]).to_csv(
        inputs / "market" / "assumptions.csv", index=False)
    demand = build_market_tables(load_dataset(inputs))["regional_demand"]
    return demand.set_index(["mineral", "region"])


def test_a_sourced_world_share_is_taken_first_and_the_rest_split_by_the_scaled_shares(tmp_path: Path):
    demand = _build(tmp_path, [
        ("market-utilisation-ga", "1.0", "share of capacity", "", "", SOURCED),
        ("market-world-share-ga", "CHN 0.4", "share of world demand", "", "", SOURCED),
        ("market-share-ga", "EU 0.3; ROW 0.1", "share", "", "", "Assumed."),
        ("market-utilisation-ge", "0.6", "share of capacity", "", "", "Assumed."),
        ("market-world-share-ge", "CHN 0.2", "share of world demand", "", "", SOURCED),
        ("market-share-ge", "ROW 1.0", "share", "", "", "Assumed."),
    ])
    # gallium: W = 1.0 x 130 = 130; China 0.4 x 130 = 52; the rest 130 - 40 - 52 = 38 split 3:1
    assert demand.loc[("ga", "CHN"), "quantity_t"] == pytest.approx(52.0)
    assert demand.loc[("ga", "EU"), "quantity_t"] == pytest.approx(28.5)
    assert demand.loc[("ga", "ROW"), "quantity_t"] == pytest.approx(9.5)
    assert demand.loc[("ga", "CHN"), "provenance"].startswith("quantity_t=derived ")
    assert demand.loc[("ga", "EU"), "provenance"].startswith("quantity_t=assumed ")
    # germanium: the share is sourced but the utilisation is not, so China's quantity stays assumed;
    # W = 0.6 x 105 = 63; China 0.2 x 63 = 12.6; the rest 63 - 10 - 12.6 = 40.4
    assert demand.loc[("ge", "CHN"), "quantity_t"] == pytest.approx(12.6)
    assert demand.loc[("ge", "ROW"), "quantity_t"] == pytest.approx(40.4)
    assert demand.loc[("ge", "CHN"), "provenance"].startswith("quantity_t=assumed ")
    assert "market-world-share-ge" in demand.loc[("ge", "CHN"), "source"]


def test_without_a_world_share_the_split_is_of_world_demand_less_the_buyers(tmp_path: Path):
    demand = _build(tmp_path, [
        ("market-utilisation-ga", "0.5", "share of capacity", "", "", "Assumed."),
        ("market-share-ga", "CHN 0.75; ROW 0.25", "share", "", "", "Assumed."),
        ("market-utilisation-ge", "1.0", "share of capacity", "", "", "Assumed."),
        ("market-share-ge", "CHN 0.5; ROW 0.5", "share", "", "", "Assumed."),
    ])
    # gallium: W = 65, less 40 = 25 split 3:1; germanium: 105 - 10 = 95 split evenly
    assert demand.loc[("ga", "CHN"), "quantity_t"] == pytest.approx(18.75)
    assert demand.loc[("ga", "ROW"), "quantity_t"] == pytest.approx(6.25)
    assert demand.loc[("ge", "CHN"), "quantity_t"] == pytest.approx(47.5)
    assert demand.loc[("ga", "USA"), "quantity_t"] == pytest.approx(40.0)


def test_a_region_in_both_the_world_share_and_the_split_is_refused(tmp_path: Path):
    with pytest.raises(InputError) as err:
        _build(tmp_path, [
            ("market-utilisation-ga", "1.0", "share of capacity", "", "", SOURCED),
            ("market-world-share-ga", "CHN 0.4", "share of world demand", "", "", SOURCED),
            ("market-share-ga", "CHN 0.5; ROW 0.5", "share", "", "", "Assumed."),
            ("market-utilisation-ge", "1.0", "share of capacity", "", "", "Assumed."),
            ("market-share-ge", "ROW 1.0", "share", "", "", "Assumed."),
        ])
    assert str(err.value) == ("market/assumptions.csv: CHN in both market-world-share-ga and market-share-ga; "
                              "expected each region in one of them")
