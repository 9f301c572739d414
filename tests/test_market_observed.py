"""The market backcast's observations (issue 29, items 5 and 7): prices against observed prices, China's use of its
own output, and the default decision, checked against the tables they come from and the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_market import write_market

from engine.analysis.market_backcast import PriceCheck, own_use_share, price_checks
from engine.cli import main
from engine.errors import InputError
from engine.inputs.dataset import load_dataset
from engine.inputs.market_observed import load_observations
from engine.inputs.market_tables import load_market
from engine.inputs.scenario import load_scenario
from engine.paths import models_dir

from conftest import write_dataset

README = Path(__file__).resolve().parent.parent / "README.md"
MARKET = models_dir().parent / "inputs" / "market"


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("market") / "out"
    r = CliRunner().invoke(main, ["solve", "market", "--out", str(folder)])
    assert r.exit_code == 0, r.output
    return folder, r.output


def test_price_backcast_figures_are_the_observed_tables_and_prices_csv(solved):
    folder, _ = solved
    backcast = pd.read_csv(folder / "price_backcast.csv")
    prices = pd.read_csv(folder / "prices.csv").set_index(["region", "mineral", "year"])
    observed = pd.read_csv(MARKET / "observed_prices.csv")
    assert len(backcast) == observed.groupby(["mineral", "region"]).ngroups == 6
    for row in backcast.itertuples(index=False):
        assert row.price_usd_per_t == prices.loc[(row.region, row.mineral, row.year), "price_usd_per_t"]
        mine = observed[(observed["mineral"] == row.mineral) & (observed["region"] == row.region)]
        assert row.observed_year == mine.loc[mine["year"] <= row.year, "year"].max()
        year = mine[mine["year"] == row.observed_year]
        assert row.observed_low_usd_per_t == year["low_usd_per_t"].min()
        assert row.observed_high_usd_per_t == year["high_usd_per_t"].max()
        inside = row.observed_low_usd_per_t <= row.price_usd_per_t <= row.observed_high_usd_per_t
        assert row.inside == inside
        if row.price_usd_per_t > row.observed_high_usd_per_t:
            expected = 100 * (row.price_usd_per_t / row.observed_high_usd_per_t - 1)
        elif row.price_usd_per_t < row.observed_low_usd_per_t:
            expected = 100 * (row.price_usd_per_t / row.observed_low_usd_per_t - 1)
        else:
            expected = 0.0
        assert row.off_pct == pytest.approx(expected)
    # by hand: the US lithium price 15,960 against the 2024 USGS contract price of 14,000 (MCS 2025, 2024e)
    li = backcast.set_index(["mineral", "region"]).loc[("li", "USA")]
    assert (li.price_usd_per_t, li.observed_low_usd_per_t, li.off_pct) == (15960, 14000, pytest.approx(14.0))


def test_cobalt_prices_are_the_usgs_pound_prices_converted():
    observed = pd.read_csv(MARKET / "observed_prices.csv").set_index(["mineral", "series"])
    assert observed.loc[("co", "usgs-salient"), "low_usd_per_t"] == pytest.approx(17 * 2204.62)
    assert observed.loc[("co", "lme-cash"), "low_usd_per_t"] == pytest.approx(12 * 2204.62)
    # the reference price in minerals.csv is the same USGS row, rounded to USD 100
    minerals = pd.read_csv(MARKET.parent / "minerals.csv").set_index("mineral")
    assert minerals.loc["co", "reference_price_usd_per_t"] == round(17 * 2204.62, -2)


def test_the_latest_observed_year_up_to_the_first_is_compared_and_the_earliest_after_without_one():
    prices = pd.DataFrame({"region": ["USA", "CHN"], "mineral": ["ga", "ga"], "year": [2025, 2025],
                           "price_usd_per_t": [120.0, 80.0], "price_low_usd_per_t": [110.0, 80.0],
                           "price_high_usd_per_t": [130.0, 80.0]})
    observed = pd.DataFrame({"mineral": ["ga"] * 4, "region": ["USA", "USA", "USA", "CHN"],
                             "year": [2023, 2024, 2026, 2026], "series": ["a", "b", "c", "d"],
                             "low_usd_per_t": [50.0, 90.0, 200.0, 70.0], "high_usd_per_t": [60.0, 100.0, 210.0, 90.0],
                             "source": ["s"] * 4})
    checks = {p.region: p for p in price_checks(prices, observed, 2025)}
    usa, chn = checks["USA"], checks["CHN"]
    assert (usa.observed_year, usa.low_usd_per_t, usa.high_usd_per_t) == (2024, 90.0, 100.0)
    assert not usa.inside and usa.off_pct == pytest.approx(20.0) and not usa.interval_overlaps
    assert (chn.observed_year, chn.inside, chn.off_pct) == (2026, True, 0.0)
    below = PriceCheck("ga", "USA", 2025, 2024, 45.0, 40.0, 95.0, 90.0, 100.0, "b", "s")
    assert below.off_pct == pytest.approx(-50.0) and below.verdict == "50.0% below" and below.interval_overlaps


def test_own_use_is_the_share_of_the_regions_plants_output_it_consumes():
    flows = pd.DataFrame({"mineral": ["ge", "ge", "ge", "ga", "ge"], "home_region": ["CHN", "CHN", "CHN", "JPN", "CHN"],
                          "region": ["CHN", "USA", "EU", "CHN", "CHN"], "year": [2025, 2025, 2025, 2025, 2026],
                          "tonnes": [60.0, 10.0, 30.0, 5.0, 99.0]})
    assert own_use_share(flows, "CHN", 2025) == {"ge": pytest.approx(0.6)}


def test_own_use_rows_come_from_the_table_and_the_missing_minerals_are_named(solved):
    folder, output = solved
    table = pd.read_csv(folder / "own_use_backcast.csv")
    observed = pd.read_csv(MARKET / "observed_own_use.csv").sort_values(["region", "mineral", "period"])
    assert table[["region", "mineral", "observed_share", "bound"]].to_dict("records") == \
        observed[["region", "mineral", "share_kept", "bound"]].rename(columns={"share_kept": "observed_share"}) \
        .to_dict("records")
    ge = table.set_index("mineral").loc["ge"]
    assert ge.observed_share == pytest.approx(1 - 43.7 / 180, abs=1e-6)
    assert ge.consistent == ("yes" if ge.equilibrium_share <= ge.observed_share else "no")
    assert "no source for cobalt, lithium, nickel" in output


def test_the_readme_states_the_default_the_rule_gives_on_the_shipped_data(solved):
    """Issue 29, item 7: the rule computed from the shipped data, against the README's verdict and numbers."""
    folder, _ = solved
    decision = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["backcast"]["default_mode"]
    text = README.read_text(encoding="utf-8")
    verdict = re.search(r"\*\*Default \(issue 29, item 7\): market mode (stays opt-in|is the default)\.\*\*", text)
    assert verdict is not None, "README: the 'Default (issue 29, item 7)' paragraph is missing"
    assert (verdict.group(1) == "is the default") == decision["market_default"]
    paragraph = text[verdict.start():text.index("\n\n", verdict.start())]
    prices = pd.read_csv(folder / "price_backcast.csv")
    inside = int(prices["inside"].sum())
    words = {0: "none", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
    assert f"{words[inside]} of the\n{words[len(prices)]} observed prices" in paragraph or \
        f"{words[inside]} of the {words[len(prices)]} observed prices" in paragraph
    for mineral in decision["imports_failing"]:
        name = {"li": "lithium", "co": "cobalt", "ni": "nickel", "ga": "gallium", "ge": "germanium"}[mineral]
        assert name in paragraph
    backcast = pd.read_csv(folder / "backcast.csv").set_index("mineral")
    for mineral in decision["imports_failing"]:
        assert f"{backcast.loc[mineral, 'distance_market_pp']:.1f}" in paragraph


def test_bad_observation_tables_are_refused_with_file_line_and_column(tmp_path):
    inputs = write_dataset(tmp_path / "inputs", demand=[{"mineral": "ga", "year": 2025, "demand_t": 10}])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")], [{"region": "USA", "quantity_t": 10},
                                                          {"region": "ROW", "quantity_t": 5}], {"ga": 1.0})
    path = inputs / "market" / "observed_prices.csv"
    pd.DataFrame([{"mineral": "ga", "region": "USA", "year": 2024, "series": "x", "low_usd_per_t": 20,
                   "high_usd_per_t": 10, "measure": "annual average", "price": "p", "source": "s",
                   "estimate": "false"},
                  {"mineral": "ga", "region": "EU", "year": 2024, "series": "x", "low_usd_per_t": 1,
                   "high_usd_per_t": 2, "measure": "annual average", "price": "p", "source": "s",
                   "estimate": "false"}]).to_csv(path, index=False)
    dataset = load_dataset(inputs)
    with pytest.raises(InputError) as err:
        load_observations(dataset, load_market(dataset))
    assert str(err.value) == (f"The market observations in {inputs / 'market'} have problems:\n"
                              f"  {path}, line 3, column region: unknown region 'EU'; expected one listed in "
                              f"regions.csv\n"
                              f"  {path}, line 2, column low_usd_per_t: 20 is above high_usd_per_t 10; expected low "
                              f"<= high")


def test_without_observation_tables_the_backcast_has_no_prices(tmp_path):
    inputs = write_dataset(tmp_path / "inputs", demand=[{"mineral": "ga", "year": 2025, "demand_t": 10}])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")], [{"region": "USA", "quantity_t": 10},
                                                          {"region": "ROW", "quantity_t": 5}], {"ga": 1.0})
    dataset = load_dataset(inputs)
    observed = load_observations(dataset, load_market(dataset))
    assert observed.prices.empty and observed.own_use.empty
    assert list(observed.prices.columns)[:3] == ["mineral", "region", "year"]
    assert np.isfinite(load_scenario("market").dataset.minerals["reference_price_usd_per_t"]).all()
