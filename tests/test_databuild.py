"""The dataset is built from its sources: byte-identical rebuild, every figure traced, provenance checked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.errors import InputError
from engine.inputs.databuild import build_tables, china_shares, evaluate_cell, load_library, stale_tables
from engine.inputs.dataset import load_dataset
from engine.inputs.tables import TABLES_BY_NAME

from conftest import write_dataset

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ROOT / "inputs"
SOURCES = INPUTS / "sources"


def test_shipped_inputs_rebuild_byte_identically():
    assert stale_tables(SOURCES, INPUTS) == []


def test_every_shipped_figure_traces_to_a_source_row_or_an_assumption():
    library = load_library(SOURCES)
    ds = load_dataset(INPUTS)
    for name, frame in ds.tables.items():
        figures = TABLES_BY_NAME[name].figures
        for _, row in frame.iterrows():
            flags = dict(token.split("=") for token in row["provenance"].split())
            present = [c for c in figures if c in frame.columns and pd.notna(row[c])]
            assert sorted(flags) == sorted(present), (name, row.iloc[0])
            cited = re.findall(r"\[([^\]]+)\]", row["source"])
            assumed = row["source"].split("assumptions: ")[1].split(", ") if "assumptions: " in row["source"] else []
            assert set(cited) <= set(library.sources), (name, row.iloc[0])
            assert set(assumed) <= set(library.assumptions), (name, row.iloc[0])
            assert bool(assumed) == ("assumed" in flags.values()), (name, row.iloc[0])
            assert bool(cited) == any(f in ("sourced", "derived") for f in flags.values()) or bool(assumed)
            assert row["estimate"] == any(f != "sourced" for f in flags.values())


def test_no_memo_references_in_what_users_see():
    paths = [*INPUTS.rglob("*.csv"), INPUTS / "README.md", *(ROOT / "models").glob("*.yaml"),
             *(ROOT / "engine").rglob("*.py"), ROOT / "README.md"]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert "FACTS" not in text and "§" not in text and "shared/" not in text, path


def test_china_2025_shares_are_within_3_pp_of_the_sources():
    r = CliRunner().invoke(main, ["data", "--check"])
    assert r.exit_code == 0, r.output
    rows = re.findall(r"^  (lithium|nickel|cobalt|gallium|germanium) .* (\d+\.\d) pp$", r.output, flags=re.M)
    assert [m for m, _ in rows] == ["lithium", "nickel", "cobalt", "gallium", "germanium"]
    assert all(float(gap) <= 3.0 for _, gap in rows)
    assert "every table is byte-identical" in r.output


# ------------------------------------------------------------------------------------------- a tiny library
SOURCES_CSV = """source_id,publisher,document,year,url,locator,value,unit,number,note
cap,USGS,Summaries,2025,https://x,p. 1,"1,000,000",kg/yr,1000000,
world,USGS,Summaries,2025,https://x,p. 1,"1,036,000",kg/yr,1036000,
"""
ASSUMPTIONS_CSV = """assumption_id,value,unit,low,high,basis
share,0.2,share,0.1,0.4,a guess
"""


def _library(tmp_path: Path, rows: dict[str, str], sources: str = SOURCES_CSV) -> Path:
    folder = tmp_path / "sources"
    (folder / "rows").mkdir(parents=True)
    (folder / "sources.csv").write_text(sources, encoding="utf-8")
    (folder / "assumptions.csv").write_text(ASSUMPTIONS_CSV, encoding="utf-8")
    for name in TABLES_BY_NAME:
        (folder / "rows" / f"{name}.csv").write_text(rows.get(name, ""), encoding="utf-8")
    return folder


def test_flags_by_hand(tmp_path):
    library = load_library(_library(tmp_path, {}))
    one = evaluate_cell("=S:cap/1000", library, "here")
    two = evaluate_cell("=S:cap/S:world", library, "here")
    mixed = evaluate_cell("=S:cap/1000*A:share", library, "here")
    literal = evaluate_cell("2026@S:cap", library, "here")
    assert (one.value, one.flag) == (1000.0, "sourced")
    assert (round(two.value, 4), two.flag) == (0.9653, "derived")
    assert (mixed.value, mixed.flag) == (200.0, "assumed")
    assert (literal.value, literal.flag) == ("2026", "sourced")
    assert evaluate_cell("=ceil(S:cap/300000)", library, "here").value == 4


@pytest.mark.parametrize("text, message", [
    ("=S:nope", "here: unknown S:nope; expected an id listed in sources.csv"),
    ("=A:nope*2", "here: unknown A:nope; expected an id listed in assumptions.csv"),
    ("=1000", "here: figure '=1000' names no source (S:id) or assumption (A:id); every figure must trace to one"),
    ("=S:cap +", "here: '=S:cap +' is not a valid expression"),
    ("=S:cap.real", "here: unknown S:cap.real; expected an id listed in sources.csv"),
    ("=__import__('os')+S:cap", "here: '__import__('os')' is not allowed in a figure; use S:id, A:id, numbers, "
                                "+ - * / **, round, ceil, min, max"),
    ("S:cap", "here: figure 'S:cap' must be '=expression' or 'literal@S:id'"),
])
def test_bad_figures_are_named(tmp_path, text, message):
    library = load_library(_library(tmp_path, {}))
    with pytest.raises(InputError) as err:
        evaluate_cell(text, library, "here")
    assert str(err.value) == message


def test_build_writes_citations_provenance_and_estimate(tmp_path):
    rows = {"minerals": "mineral,name,unit,reference_price_usd_per_t,price_year\n"
                        "ga,Gallium,t,=S:cap/S:world*1000,2024@S:cap\n"
                        "ge,Germanium,t,=S:cap*A:share,2024@S:cap\n"}
    folder = _library(tmp_path, rows)
    text = build_tables(folder)["minerals"]
    lines = text.splitlines()
    assert lines[0] == "mineral,name,unit,reference_price_usd_per_t,price_year,source,estimate,provenance"
    assert lines[1] == ('ga,Gallium,t,965.250965,2024,"USGS, Summaries (2025), p. 1 [cap]; USGS, Summaries (2025), '
                        'p. 1 [world]",true,reference_price_usd_per_t=derived price_year=sourced')
    assert lines[2] == ('ge,Germanium,t,200000,2024,"USGS, Summaries (2025), p. 1 [cap]; assumptions: share",true,'
                        'reference_price_usd_per_t=assumed price_year=sourced')


def test_unused_sources_are_refused(tmp_path):
    rows = {"minerals": "mineral,name,unit,reference_price_usd_per_t,price_year\nga,Gallium,t,=S:cap,2024@S:cap\n"}
    with pytest.raises(InputError) as err:
        build_tables(_library(tmp_path, rows))
    assert str(err.value) == f"{tmp_path / 'sources'}: listed but used by no figure: A:share, S:world"


def test_build_command_writes_what_check_accepts(tmp_path):
    target = tmp_path / "inputs"
    shutil.copytree(INPUTS, target)
    (target / "capacity.csv").write_text("stale\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["data", "--inputs", str(target), "--check"])
    assert r.exit_code == 2 and "capacity.csv" in r.output
    r = CliRunner().invoke(main, ["data", "--inputs", str(target), "--build"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith(f"Built 10 tables in {target} from {target / 'sources'}.")
    assert (target / "capacity.csv").read_bytes() == (INPUTS / "capacity.csv").read_bytes()


# ------------------------------------------------------------------------------------------- schema checks
CAPACITY = [
    {"source_id": "CHN-GA", "mineral": "ga", "location": "CHN", "capacity_t": 100, "exportable_share": 0.5,
     "unit_cost_usd_per_t": 100, "first_year": 2020, "last_year": "",
     "provenance": "capacity_t=sourced exportable_share=assumed unit_cost_usd_per_t=derived first_year=assumed",
     "estimate": "true"},
    {"source_id": "DEU-GA", "mineral": "ga", "location": "DEU", "capacity_t": 20, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 150, "first_year": 2020, "last_year": "",
     "provenance": "capacity_t=sourced exportable_share=sourced unit_cost_usd_per_t=sourced first_year=sourced",
     "estimate": "false"},
]


def _load_error(folder: Path) -> str:
    with pytest.raises(InputError) as err:
        load_dataset(folder)
    return str(err.value)


def test_provenance_flags_are_validated(tmp_path):
    rows = [dict(CAPACITY[0], provenance="capacity_t=sourced exportable_share=guessed unit_cost_usd_per_t=derived "
                                         "capcity_t=sourced"),
            dict(CAPACITY[1], estimate="true")]
    folder = write_dataset(tmp_path / "in", capacity=rows)
    path = folder / "capacity.csv"
    message = _load_error(folder)
    assert (f"{path}, line 2, column provenance: 'exportable_share=guessed' has flag 'guessed'; expected "
            f"exportable_share=sourced | derived | assumed") in message
    assert (f"{path}, line 2, column provenance: 'capcity_t' is not a figure column of capacity.csv (did you mean "
            f"'capacity_t'?); expected one of capacity_t, exportable_share, unit_cost_usd_per_t, first_year, "
            f"last_year") in message
    assert (f"{path}, line 2, column provenance: no flag for exportable_share, first_year; expected "
            f"'column=sourced | derived | assumed' for every figure the row has") in message
    assert (f"{path}, line 3, column estimate: 'true' disagrees with the provenance flags; expected true exactly "
            f"when a figure is derived or assumed") in message


def test_a_table_without_provenance_loads(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "provenance"} for r in CAPACITY]
    load_dataset(write_dataset(tmp_path / "in", capacity=rows))


def test_capex_and_lead_time_ranges_hold_the_central_value(tmp_path):
    jv = [{"option_id": "USA-GA-LIC", "mineral": "ga", "host": "USA", "partner": "CHN", "mode": "licensing",
           "partner_equity_share": 0, "capex_usd_per_tpy": 100, "opex_usd_per_t": 50, "royalty_usd_per_t": 1,
           "lead_time_years": 2, "max_size_tpy": 10, "min_size_tpy": "", "earliest_start": 2025,
           "capex_usd_per_tpy_low": 120, "capex_usd_per_tpy_high": 150, "lead_time_years_low": 1,
           "lead_time_years_high": 1}]
    folder = write_dataset(tmp_path / "in", jv_options=jv)
    message = _load_error(folder)
    path = folder / "jv_options.csv"
    assert (f"{path}, line 2, column capex_usd_per_tpy_low: 120 is above capex_usd_per_tpy 100; expected low <= "
            f"central") in message
    assert (f"{path}, line 2, column lead_time_years_high: 1 is below lead_time_years 2; expected central <= high"
            in message)


def test_china_shares_by_hand(tmp_path):
    # ga 2025: CHN 100 t + DEU 20 t, DEU 30% Chinese-owned; CHN-GA ends 2024 in the second case.
    own = [{"source_id": "DEU-GA", "owner": "CHN", "equity_share": 0.3}]
    ds = load_dataset(write_dataset(tmp_path / "a", capacity=CAPACITY, ownership=own))
    location, ownership = china_shares(ds, 2025)["ga"]
    assert location == pytest.approx(100 / 120)
    assert ownership == pytest.approx((100 + 0.3 * 20) / 120)
    ended = [dict(CAPACITY[0], last_year=2024, provenance=CAPACITY[0]["provenance"] + " last_year=assumed"),
             CAPACITY[1]]
    ds = load_dataset(write_dataset(tmp_path / "b", capacity=ended, ownership=own))
    assert china_shares(ds, 2025)["ga"] == pytest.approx((0.0, 0.3))


def test_check_of_a_dataset_without_sources_uses_the_shipped_ranges(tmp_path):
    # tiny dataset: gallium CHN 100 t, DEU 20 t, JPN 10 t -> 76.9% located in China, against 96.5-98.7%
    folder = write_dataset(tmp_path / "in")
    r = CliRunner().invoke(main, ["data", "--inputs", str(folder), "--check"])
    assert r.exit_code == 1, r.output
    assert f"against the sources of the shipped dataset ({SOURCES})" in r.output
    assert re.search(r"^  gallium +76\.9% +76\.9% +96\.5-98\.7% +capacity +19\.6 pp  OUTSIDE \+-3 pp$", r.output, re.M)
    assert re.search(r"^  germanium +95\.2% ", r.output, re.M)
    assert not re.search(r"^  (lithium|nickel|cobalt|li|ni|co) ", r.output, re.M)
    assert "Build:" not in r.output
