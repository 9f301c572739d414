"""The tier data (issue 30, data step): mines.csv, mine_ownership.csv and observed_feed.csv are optional, built from
inputs/sources byte for byte, validated at load with exact messages, and leave a dataset without them as it was; the
mine-stage shares of ``critmin data --check`` by hand on a tiny dataset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import InputError
from engine.inputs.databuild import build_tables, load_library
from engine.inputs.dataset import load_dataset
from engine.inputs.mine_shares import mine_checks, mine_shares, mine_stage_lines

from conftest import write_dataset, write_table

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ROOT / "inputs"
SOURCES = INPUTS / "sources"
TIER = ("mines", "mine_ownership", "observed_feed")


# --------------------------------------------------------------------------------- the shipped tier tables
def test_tier_tables_and_observed_trade_rebuild_byte_for_byte():
    built = build_tables(SOURCES)
    for name in (*TIER, "observed_trade", "countries"):
        assert built[name].encode("utf-8") == (INPUTS / f"{name}.csv").read_bytes(), name


def test_country_totals_match_the_usgs_figures_they_split():
    # A country's assets and its remainder row add up to the USGS figure for the country (lithium in t LCE).
    numbers = {sid: s.number for sid, s in load_library(SOURCES).sources.items()}
    mines = load_dataset(INPUTS).tables["mines"]
    total = mines.groupby(["mineral", "year", "location"])["output_t"].sum()
    assert total["li", 2025, "AUS"] == pytest.approx(numbers["usgs-mcs26-li-mine-aus"] * 5.323)
    assert total["li", 2025, "ARG"] == pytest.approx(numbers["usgs-mcs26-li-mine-arg"] * 5.323)
    assert total["li", 2025, "MLI"] == pytest.approx(numbers["usgs-mcs26-li-mine-mli"] * 5.323)
    assert total["co", 2025, "COD"] == pytest.approx(numbers["usgs-mcs26-co-mine-cod"])
    assert total["ga", 2025, "GIN"] == pytest.approx(numbers["usgs-mcs26-bauxite-gin"])
    assert total["ga", 2025].sum() == pytest.approx(numbers["usgs-mcs26-bauxite-world"])
    split = mines[mines["kind"] == "remainder"]
    assert (split["output_t"] > 0).all()  # no asset larger than its country


def test_observed_feed_shares_of_each_form_and_period_sum_to_one():
    feed = load_dataset(INPUTS).tables["observed_feed"]
    sums = feed.groupby(["importer", "mineral", "form", "period"])["share"].sum()
    assert sums.to_numpy() == pytest.approx(1.0, abs=1e-5)  # shares written to 6 decimals
    assert set(feed["importer"]) == {"CHN"}


def test_nickel_has_an_observation_and_the_latest_period_rule_keeps_the_single_year_rows():
    from engine.analysis.backcast import observations

    observed = observations(load_dataset(INPUTS))
    assert observed["ni"].period == "2021-2024"
    assert observed["ni"].shares["CAN"] == pytest.approx(0.44)
    assert observed["ni"].shares["ROW"] == pytest.approx(0.30)
    # MCS 2026's 2021-24 shares sit beside the single-year rows, which stay the backcast's (later as text)
    assert (observed["li"].period, observed["co"].period) == ("2024", "2023")


# --------------------------------------------------------------------------- a dataset without the tiers
def test_a_dataset_without_tier_rows_keeps_its_hash(tmp_path):
    folder = write_dataset(tmp_path / "in")
    before = load_dataset(folder).digest
    for name in TIER:
        write_table(folder, name, [])  # header only
    assert load_dataset(folder).digest == before
    write_table(folder, "mines", [MINE])
    assert load_dataset(folder).digest != before


def test_the_shipped_baseline_solves_the_same_without_the_tier_tables(tmp_path):
    copy = tmp_path / "inputs"
    shutil.copytree(INPUTS, copy)
    for name in TIER:
        (copy / f"{name}.csv").unlink()
    (tmp_path / "on_copy.yaml").write_text("extends: baseline\ndata: {inputs: inputs}\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(main, ["solve", "baseline", "--no-impacts", "--out", str(tmp_path / "with")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["solve", str(tmp_path / "on_copy.yaml"), "--no-impacts", "--out",
                             str(tmp_path / "without")])
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in (tmp_path / "with").iterdir() if p.suffix == ".csv")
    assert files and files == sorted(p.name for p in (tmp_path / "without").iterdir() if p.suffix == ".csv")
    for name in files:
        assert (tmp_path / "with" / name).read_bytes() == (tmp_path / "without" / name).read_bytes(), name
    with_, without = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("with", "without"))
    for key in ("dependence", "cost", "shortfall", "policies"):
        assert with_[key] == without[key], key


# ----------------------------------------------------------------------------------- bad values, exactly
MINE = {"mine_id": "CHN-BX", "year": 2025, "mineral": "ga", "commodity": "bauxite", "location": "CHN",
        "name": "China", "kind": "country", "output_t": 100, "first_year": "", "last_year": ""}
OWNER = {"mine_id": "CHN-BX", "owner": "JPN", "holder": "a Japanese firm", "equity_share": 0.4}
FEED = {"importer": "CHN", "mineral": "ga", "stage": "ore", "form": "bauxite", "period": "2024", "origin": "DEU",
        "share": 0.7, "measure": "quantity"}


def _refused(tmp_path: Path, mines: list[dict], owners: list[dict] | None = None,
             feed: list[dict] | None = None) -> str:
    folder = write_dataset(tmp_path / "in")
    write_table(folder, "mines", mines)
    write_table(folder, "mine_ownership", owners or [])
    write_table(folder, "observed_feed", feed or [])
    with pytest.raises(InputError) as err:
        load_dataset(folder)
    head, *lines = str(err.value).split("\n")
    assert head == f"The dataset in {folder} has problems:"
    return "\n".join(line.replace(str(folder) + "/", "") for line in lines)


@pytest.mark.parametrize("change, expected", [
    ({"commodity": "copper"}, "mines.csv, line 2, column commodity: 'copper' is not one of lithium, nickel, cobalt, "
                              "bauxite, zinc"),
    ({"kind": "pit"}, "mines.csv, line 2, column kind: 'pit' is not one of asset, country, remainder, rest"),
    ({"output_t": -5}, "mines.csv, line 2, column output_t: -5 is negative; expected a value in [0, 1e+10] t/yr"),
    ({"output_t": "lots"}, "mines.csv, line 2, column output_t: 'lots' is not a number; expected a value in "
                           "[0, 1e+10] t/yr"),
    ({"location": "XXX"}, "mines.csv, line 2, column location: unknown iso3 'XXX'; expected one listed in "
                          "countries.csv"),
    ({"mineral": "zz"}, "mines.csv, line 2, column mineral: unknown mineral 'zz'; expected one listed in "
                        "minerals.csv"),
    ({"kind": "rest"}, "mines.csv, line 2, column location: 'CHN' for a row of kind 'rest'; expected ROW (every "
                       "country the source does not name)"),
    ({"location": "ROW"}, "mines.csv, line 2, column kind: 'country' at location ROW; expected 'rest' (ROW is every "
                          "country the source does not name)"),
    ({"first_year": 2020, "last_year": 2019}, "mines.csv, line 2, column last_year: 2019 is before first_year 2020; "
                                              "expected last_year >= first_year"),
])
def test_bad_mine_rows_are_refused_with_file_line_value_and_expectation(tmp_path, change, expected):
    assert _refused(tmp_path, [dict(MINE, **change)]) == "  " + expected


def test_one_commodity_per_mineral_and_year(tmp_path):
    rows = [MINE, dict(MINE, mine_id="DEU-ZN", location="DEU", commodity="zinc")]
    assert _refused(tmp_path, rows) == ("  mines.csv, line 3, column commodity: 'zinc' differs from 'bauxite' on line "
                                        "2 for mineral ga in 2025; expected one commodity per mineral and year")


def test_duplicate_mine_rows_are_refused(tmp_path):
    assert _refused(tmp_path, [MINE, MINE]) == ("  mines.csv, line 3: duplicate key (CHN-BX, 2025) in columns "
                                                "mine_id, year")


def test_bad_mine_ownership_is_refused(tmp_path):
    owners = [OWNER, dict(OWNER, owner="DEU", equity_share=0.7), dict(OWNER, mine_id="NOPE")]
    assert _refused(tmp_path, [MINE], owners) == (
        "  mine_ownership.csv, line 4, column mine_id: unknown mine_id 'NOPE'; expected one listed in mines.csv\n"
        "  mine_ownership.csv, line 2, column equity_share: equity shares of mine 'CHN-BX' sum to 1.1; expected at "
        "most 1")


def test_bad_feed_rows_are_refused(tmp_path):
    feed = [dict(FEED, stage="smelted")]
    assert _refused(tmp_path, [MINE], feed=feed) == (
        "  observed_feed.csv, line 2, column stage: 'smelted' is not one of ore, concentrate, intermediate, refined")
    feed = [FEED, dict(FEED, origin="JPN", share=0.5)]
    assert _refused(tmp_path / "b", [MINE], feed=feed) == (
        "  observed_feed.csv, line 2, column share: origin shares of 'CHN, ga, bauxite, 2024' sum to 1.2; expected "
        "at most 1")


# ---------------------------------------------------------------------------- mine-stage shares by hand
# gallium 2025 (bauxite): China 100 t; a German asset of 60 t, held 50% by China and 20% by Japan; Germany's
# remainder 40 t, owners not traced. An older 2024 row is left out (each mineral's latest year).
#   location = 100 / 200 = 50%; equity = (100 + 0.5 * 60) / 200 = 65%, a lower bound (the remainder).
# germanium 2024 (zinc): China 20 t; a German asset of 30 t, wholly Chinese; a Japanese asset of 50 t.
#   location = 20 / 100 = 20%; equity = (20 + 30) / 100 = 50%, exact: every row outside China is an asset.
HAND_MINES = [
    MINE,
    dict(MINE, mine_id="DEU-BX-A", location="DEU", kind="asset", output_t=60),
    dict(MINE, mine_id="DEU-BX-R", location="DEU", kind="remainder", output_t=40),
    dict(MINE, year=2024, output_t=10),
    dict(MINE, mine_id="CHN-ZN", year=2024, mineral="ge", commodity="zinc", output_t=20),
    dict(MINE, mine_id="DEU-ZN", year=2024, mineral="ge", commodity="zinc", location="DEU", kind="asset",
         output_t=30),
    dict(MINE, mine_id="JPN-ZN", year=2024, mineral="ge", commodity="zinc", location="JPN", kind="asset",
         output_t=50),
]
HAND_OWNERS = [dict(OWNER, mine_id="DEU-BX-A", owner="CHN", equity_share=0.5),
               dict(OWNER, mine_id="DEU-BX-A", owner="JPN", equity_share=0.2),
               dict(OWNER, mine_id="DEU-ZN", owner="CHN", equity_share=1.0)]


def _hand(tmp_path: Path, mines: list[dict] = HAND_MINES, owners: list[dict] = HAND_OWNERS) -> Path:
    folder = write_dataset(tmp_path / "in")
    write_table(folder, "mines", mines)
    write_table(folder, "mine_ownership", owners)
    return folder


def test_mine_shares_by_hand(tmp_path):
    ga, ge = mine_shares(load_dataset(_hand(tmp_path)))
    assert (ga.mineral, ga.year, ga.commodity, ga.output_t) == ("ga", 2025, "bauxite", 200)
    assert ga.location == pytest.approx(0.5)
    assert ga.equity == pytest.approx((100 + 0.5 * 60) / 200) and ga.equity_lower_bound
    assert (ge.mineral, ge.year, ge.output_t) == ("ge", 2024, 100)
    assert ge.location == pytest.approx(0.2)
    assert ge.equity == pytest.approx(0.5) and not ge.equity_lower_bound


def test_a_rest_row_without_china_leaves_the_location_unknown(tmp_path):
    # China's 100 t become 'every country the source does not name': China may be in it, so no location share;
    # the equity counts the German asset's Chinese half only: 0.5 * 60 / 200 = 15%, a lower bound.
    mines = [dict(MINE, mine_id="ROW-BX", location="ROW", kind="rest"), *HAND_MINES[1:3]]
    ga, = mine_shares(load_dataset(_hand(tmp_path, mines, HAND_OWNERS[:2])))
    assert ga.location is None
    assert ga.equity == pytest.approx(0.15) and ga.equity_lower_bound


def test_sourced_mine_figures_and_their_gap_by_hand(tmp_path):
    ds = load_dataset(_hand(tmp_path))
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "sources.csv").write_text(
        "source_id,publisher,document,year,url,locator,value,unit,number,note\n"
        "lo,P,D,2025,,p. 1,40%,share,0.4,\nhi,P,D,2025,,p. 1,45%,share,0.45,\n", encoding="utf-8")
    (folder / "assumptions.csv").write_text("assumption_id,value,unit,low,high,basis\n", encoding="utf-8")
    (folder / "mine_checks.csv").write_text("mineral,basis,low,high,note\nge,equity,=S:hi,=S:lo,P (2025): a note\n",
                                            encoding="utf-8")
    ga, ge = mine_checks(ds, folder)
    assert ga.sourced is None
    assert (ge.sourced.basis, ge.sourced.low, ge.sourced.high) == ("equity", 0.4, 0.45)
    assert ge.sourced_gap_pp == pytest.approx(5.0)  # 50% against 40-45%
    lines = mine_stage_lines([ga, ge], {"ga": (0.75, 0.8)}, str.upper, 2025, order=["ge", "ga"])
    assert lines[4:6] == [
        "  GE         2024  100 t Zn (host ore)          20.0%       50.0%        n/a       n/a   equity "
        "40.0-45.0%, P (2025); 5.0 pp away",
        "  GA         2025  200 t bauxite (host ore)     50.0%    >= 65.0%      75.0%     80.0%   -",
    ]


def test_data_check_prints_the_mine_stage_beside_refining(tmp_path):
    # tiny refining: gallium CHN 100, DEU 20, JPN 10 t -> 76.9%; germanium CHN 100, DEU 5 t -> 95.2%
    r = CliRunner().invoke(main, ["data", "--inputs", str(_hand(tmp_path)), "--check"])
    assert "China's share of mine output (mines.csv, each mineral's latest year)" in r.output
    assert "  gallium    2025  200 t bauxite (host ore)     50.0%    >= 65.0%      76.9%     76.9%   -" in r.output
    assert "  germanium  2024  100 t Zn (host ore)          20.0%       50.0%      95.2%     95.2%   -" in r.output
    r = CliRunner().invoke(main, ["data", "--inputs", str(_hand(tmp_path)), "--check", "--json"])
    shares = json.loads(r.output)["mine_shares"]
    assert [(s["mineral"], s["location_share"], s["equity_lower_bound"]) for s in shares] == [
        ("ga", 0.5, True), ("ge", 0.2, False)]


def test_the_shipped_check_prints_every_mineral_mine_stage():
    r = CliRunner().invoke(main, ["data", "--check"])
    assert r.exit_code == 0, r.output
    ds = load_dataset(INPUTS)
    for share in mine_shares(ds):
        rows = ds.tables["mines"]
        rows = rows[(rows["mineral"] == share.mineral) & (rows["year"] == share.year)]
        assert share.output_t == pytest.approx(rows["output_t"].sum())
        assert share.equity >= (share.location or 0.0)  # China's own mines count in both
    assert pd.Series([s.mineral for s in mine_shares(ds)]).tolist() == ["co", "ga", "ge", "li", "ni"]
