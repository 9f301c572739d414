"""Words for codes (engine.figures.labels.Names) and the unmet value's basis in every label."""

from __future__ import annotations

import pytest

from engine.inputs.names import Names
from engine.outputs.summary import unmet_basis
from tests.conftest import write_dataset

JV = {"partner_equity_share": 0.0, "capex_usd_per_tpy": 20.0, "opex_usd_per_t": 150.0, "royalty_usd_per_t": 0.0,
      "lead_time_years": 0, "max_size_tpy": 40.0, "min_size_tpy": "", "earliest_start": 2025}


def test_shipped_options_read_as_mineral_deal_partner_and_host():
    names = Names()
    assert names.option("USA-NI-JPN-PARITY") == "nickel 50/50 JV with Japan in the United States"
    assert names.option("USA-LI-CATL-LIC") == "lithium licence from China in the United States"
    assert names.option("COD-CO-CMOC-MAJORITY") == "cobalt majority JV with China in DR Congo"
    assert names.option("CAN-GA-RIO") == "gallium 50/50 JV with the United States in Canada"
    # three US gallium plants built alone read alike: the rest of the id tells the two named ones apart
    assert names.option("USA-GA-DOMESTIC") == "gallium domestic build in the United States"
    assert names.option("USA-GA-NYRSTAR") == "gallium domestic build in the United States (Nyrstar)"
    assert names.option("USA-GA-RECYCLE") == "gallium domestic build in the United States (recycling)"
    assert len(set(names.options.values())) == len(names.options)  # every shipped option its own name
    assert names.option("NOT-AN-OPTION") == "NOT-AN-OPTION"


def test_names_come_from_the_dataset_folder(tmp_path):
    folder = write_dataset(tmp_path, jv_options=[{"option_id": "US-PLANT", "mineral": "ga", "host": "USA",
                                                  "partner": "CHN", "mode": "minority", **JV}])
    names = Names(folder)
    assert names.option("US-PLANT") == "gallium minority JV with China in the United States"
    assert names.option("USA-NI-JPN-PARITY") == "USA-NI-JPN-PARITY"  # not in this dataset: the code
    assert Names(tmp_path / "missing").option("USA-NI-JPN-PARITY").startswith("nickel")  # the shipped inputs


def test_words_replaces_codes_standing_alone():
    names = Names()
    assert names.words("CHN cuts co") == "China cuts cobalt"
    assert names.words("delivered cost, ZWE") == "delivered cost, Zimbabwe"
    assert names.words("USA-NI-JPN-PARITY +40,000") == "nickel 50/50 JV with Japan in the United States +40,000"
    # parts of words and of ids are left alone
    assert names.words("cost co-op CHNX li-ion") == "cost co-op CHNX li-ion"


@pytest.mark.parametrize(("present_value", "short", "expected"), [
    (True, False, "10x the mineral's reference price per tonne, present value"),
    (False, False, "10x the mineral's reference price per tonne, in each year's money"),
    (True, True, "10x reference price, PV"),
    (False, True, "10x reference price, each year's money"),
])
def test_unmet_basis(present_value, short, expected):
    assert unmet_basis(present_value, short=short) == expected
