"""A report for every kind of results folder (solve, frontier, per-mineral frontier, stress, sweep, robust) and for a
comparison: Markdown, HTML and a planner's workbook; every HTML page opened in headless Chromium. In CI
(``CI=true``) a missing browser is a failure, never a skip."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from engine.cli import main
from engine.figures.labels import Names
from engine.figures.plots import frontier_figure
from engine.figures.style import png_bytes
from engine.outputs.read_folder import load_results_folder

from conftest import TINY_DEMAND, tiny_scenario, write_dataset

PLANT = {"option_id": "US-PLANT", "mineral": "ga", "host": "USA", "partner": "USA", "mode": "domestic",
         "partner_equity_share": 0.0, "capex_usd_per_tpy": 20.0, "opex_usd_per_t": 150.0, "royalty_usd_per_t": 0.0,
         "lead_time_years": 1, "max_size_tpy": 40.0, "min_size_tpy": "", "earliest_start": 2025,
         "description": "test plant"}
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="session")
def folders(tmp_path_factory) -> dict[str, Path]:
    """One results folder per kind, from a two-mineral, three-year tiny scenario with a ban that leaves gallium
    short in 2027, a stockpile, uncertainty and a shock."""
    root = tmp_path_factory.mktemp("kinds")
    demand = [{**row, "year": year} for row in TINY_DEMAND for year in (2025, 2026, 2027)]
    write_dataset(root / "inputs", demand=demand, jv_options=[PLANT])
    scen = tiny_scenario(
        name="tiny", minerals=["ga", "ge"], horizon={"start": 2025, "end": 2027}, objective={"budget": "+20%"},
        data={"inputs": "inputs"},
        policies=[{"type": "export_ban", "name": "ga_ban", "exporter": "CHN", "minerals": ["ga"], "years": 2027},
                  {"type": "country_cap", "name": "loose_cap", "max_share": 0.99, "minerals": ["ge"]}],
        uncertainty={"demand": {"all": {"dist": "normal", "mean": 1.0, "sd": 0.1}}},
        shocks=[{"name": "ge_cut", "country": "CHN", "minerals": ["ge"], "probability": 0.5}],
        stockpile={"ga": {"initial_t": 5.0, "capacity_t": 10.0, "holding_usd_per_t_yr": 1.0}},
        robust={"scenarios": 2, "evaluation": 2})
    (root / "tiny.yaml").write_text(yaml.safe_dump(scen), encoding="utf-8")
    model = root / "tiny.yaml"
    runs = {"solve": ("solve", model, "--out", root / "tiny"),
            "frontier": ("frontier", model, "--points", 3, "--out", root / "tiny-frontier"),
            "frontier-each": ("frontier", model, "--points", 3, "--mineral", "each", "--out",
                              root / "tiny-frontier-each"),
            "stress": ("stress", model, "--named-only", "--out", root / "tiny-stress"),
            "sweep": ("sweep", model, "--samples", 2, "--out", root / "tiny-sweep"),
            "robust": ("robust", model, "--out", root / "tiny-robust"),
            "worstcase": ("worstcase", model, "--k", 1, "--out", root / "tiny-worstcase")}
    out = {}
    for kind, args in runs.items():
        r = invoke(*args)
        assert r.exit_code == 0, (kind, r.output)
        out[kind] = Path(args[-1])
    return out


@pytest.fixture(scope="session")
def reports(folders) -> dict[str, Path]:
    out = {}
    for kind, folder in folders.items():
        r = invoke("report", folder, "--format", "md,html,xlsx")
        assert r.exit_code == 0, (kind, r.output)
        out[kind] = folder / "report"
    compare = folders["solve"].parent / "compare-report"
    r = invoke("compare", folders["solve"], folders["solve"].parent / "tiny.yaml", "--report", compare)
    assert r.exit_code == 0, r.output
    out["compare"] = compare
    return out


def chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def browser() -> str:
    binary = chromium()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (CI installs it: apt-get install chromium)")
    return binary


def test_every_folder_names_the_inputs_its_numbers_belong_to(folders):
    """Every kind of folder records the dataset and the hashes of the inputs it was computed from, the same for
    every analysis of one scenario as for its solve (a stress figure can be traced to its data like a plan)."""
    solve = json.loads((folders["solve"] / "summary.json").read_text())["inputs"]
    for kind, folder in folders.items():
        if kind == "solve":
            continue
        summary = json.loads((folder / "summary.json").read_text())
        assert (summary.get("inputs"), summary.get("inputs_hash"), summary.get("dataset_hash")) == (
            solve["dataset"], solve["hash"], solve["dataset_hash"]), kind


def test_folders_that_solve_say_how_the_solver_points_were_checked(folders):
    """Every summary of a folder that solves counts the solver points rejected and stages retried (a
    sweep over its samples, robust over its plans and evaluation scenarios); none on this tiny model."""
    for kind in ("solve", "frontier", "frontier-each", "stress", "sweep", "robust", "worstcase"):
        checks = json.loads((folders[kind] / "summary.json").read_text())["solver_checks"]
        assert (checks["points_rejected"], checks["stage_retries"]) == (0, 0), kind
    samples = pd.read_csv(folders["sweep"] / "samples.csv")
    assert samples[["points_rejected", "stage_retries"]].sum().tolist() == [0, 0]
    metrics = pd.read_csv(folders["sweep"] / "percentiles.csv")["metric"]
    assert not {"points_rejected", "stage_retries"} & set(metrics)  # counted, not summarised as a result


def test_per_mineral_frontier_has_its_own_folder(folders):
    assert folders["frontier"].name == "tiny-frontier" and folders["frontier-each"].name == "tiny-frontier-each"
    aggregate = pd.read_csv(folders["frontier"] / "frontier.csv")
    each = pd.read_csv(folders["frontier-each"] / "frontier.csv")
    assert set(aggregate["target"]) == {"all"} and set(each["target"]) == {"ga", "ge"}
    r = invoke("frontier", folders["solve"].parent / "tiny.yaml", "--points", 2, "--mineral", "ga", "--no-write")
    assert r.exit_code == 0, r.output


def test_solve_report_uses_the_aggregate_frontier_and_marks_the_plan(folders, reports):
    folder = load_results_folder(folders["solve"])
    assert folder.frontier_path == folders["frontier"] / "frontier.csv"
    assert set(folder.extra_frontiers) == {"each"}
    md = (reports["solve"] / "report.md").read_text(encoding="utf-8")
    assert "## Price of independence\n" in md and "## Price of independence by mineral (tiny-frontier-each)" in md
    assert "The star is this plan" in md
    for heading in ("## Assumptions and policies", "## Policy impacts", "## Strategic stockpile"):
        assert heading in md


def test_a_per_mineral_frontier_is_never_taken_for_the_aggregate(folders, tmp_path):
    """An old per-mineral frontier in '<name>-frontier' is not used as the aggregate, and the report says so."""
    shutil.copytree(folders["solve"], tmp_path / "tiny", ignore=shutil.ignore_patterns("report"))
    shutil.copytree(folders["frontier-each"], tmp_path / "tiny-frontier", ignore=shutil.ignore_patterns("report"))
    folder = load_results_folder(tmp_path / "tiny")
    assert folder.frontier_path is None
    assert folder.notes == [f"{tmp_path / 'tiny-frontier'} holds a per-mineral frontier, not the aggregate one; the "
                            f"operating point is not placed on it (run 'critmin frontier' without --mineral to "
                            f"write the aggregate)"]


def test_a_frontier_from_other_inputs_is_left_out(folders, tmp_path):
    shutil.copytree(folders["solve"], tmp_path / "tiny", ignore=shutil.ignore_patterns("report"))
    shutil.copytree(folders["frontier"], tmp_path / "tiny-frontier", ignore=shutil.ignore_patterns("report"))
    summary = json.loads((tmp_path / "tiny-frontier" / "summary.json").read_text())
    (tmp_path / "tiny-frontier" / "summary.json").write_text(json.dumps({**summary, "inputs_hash": "other"}))
    folder = load_results_folder(tmp_path / "tiny")
    assert folder.frontier_path is None and "frontier" not in folder.tables
    assert folder.notes == [f"{tmp_path / 'tiny-frontier'} was computed from other inputs or another version of the "
                            f"scenario (its inputs hash differs); it is left out of this report"]


def test_every_kind_has_a_report_and_a_workbook(reports):
    expected_sheets = {
        "solve": ["Cover", "Exposure by year", "Share of supply by year", "Supply by year", "Cost by year",
                  "Dependence", "Flows", "By owner", "JV builds", "Costs", "Shortfall", "Stockpile", "Policy impacts",
                  "Policy by mineral-year", "Shadow prices", "Frontier"],
        "frontier": ["Cover", "Frontier"], "frontier-each": ["Cover", "Frontier"], "stress": ["Cover", "Shocks"],
        "sweep": ["Cover", "Percentiles", "Samples"],
        "robust": ["Cover", "JV builds", "Robust vs deterministic", "Deterministic JV builds"],
        "worstcase": ["Cover", "JV builds", "Stockpile", "Worst case by k", "Regret", "Moves", "Bounds per iteration"],
        "compare": ["Cover", "Comparison"]}
    for kind, folder in reports.items():
        book = folder / ("comparison.xlsx" if kind == "compare" else "results.xlsx")
        assert openpyxl.load_workbook(book, read_only=True).sheetnames == expected_sheets[kind], kind
        md = (folder / "report.md").read_text(encoding="utf-8")
        for link in re.findall(r"\]\((figures/[^)]+)\)", md):
            assert (folder / link).is_file(), (kind, link)
        assert re.findall(r"\]\((figures/[^)]+)\)", md), kind


def test_workbook_reads_as_a_planner_expects(reports, folders):
    book = openpyxl.load_workbook(reports["solve"] / "results.xlsx")
    flows = book["Flows"]
    headers = [c.value for c in flows[1]]
    assert "Scenario" not in headers  # one scenario: no scen column
    assert headers[:2] == ["Mineral", "Year"] and "Tonnes (t)" in headers and "Refined in" in headers
    assert flows.freeze_panes == "B2"
    minerals = {c.value for (c,) in flows.iter_rows(min_row=2, max_col=1)}
    assert minerals == {"Gallium", "Germanium"}
    cost = headers.index("Cost, present value (USD)") + 1
    assert flows.cell(row=2, column=cost).number_format == "#,##0"
    dep = pd.read_csv(folders["solve"] / "dependence.csv")
    for sheet, column in (("Exposure by year", "china_exposure_pct"),
                          ("Share of supply by year", "china_share_of_supply_pct")):
        pivot = book[sheet]
        assert [c.value for c in pivot[1]] == ["Mineral", 2025, 2026, 2027]  # years as numbers
        ga = dep[dep["mineral"] == "ga"].set_index("year")[column]
        row = [c.value for c in pivot[2]]
        assert row[0] == "Gallium" and row[1:] == pytest.approx([ga[2025], ga[2026], ga[2027]])
    cover = [r[0] for r in book["Cover"].iter_rows(values_only=True)]
    for label in ("Scenario", "Exposure to China", "Share of supply attributed to China", "Cost", "Unmet demand",
                  "Assumptions", "Policies in the scenario", "What each policy does to the whole plan"):
        assert label in cover


def test_frontier_ticks_below_noise_are_not_all_zero():
    """A premium of a few micro-dollars is noise: one '0' tick and a note, not five ticks reading 0.0000."""
    table = pd.DataFrame({"target": "ge", "cap_pct": [13.0, 9.0, 5.0], "exposure_pct": [40.0, 39.0, 38.0],
                          "ge_pct": [13.0, 9.0, 5.0], "premium_usd": [0.0, 3.1e-6, 7.6e-6],
                          "marginal_usd_per_pp": [0.0, 1e-7, 2e-7], "finite_difference_usd_per_pp": [None, 0.0, 0.0],
                          "status": "optimal"})
    fig = frontier_figure(table, Names(), "CHN")
    fig.canvas.draw()
    premium_axis = fig.axes[0]
    assert [t.get_text() for t in premium_axis.get_yticklabels()] == ["0"]
    assert premium_axis.xaxis_inverted()  # the one axis convention: dependence falls to the right
    assert png_bytes(fig).startswith(b"\x89PNG")


def test_compare_refuses_an_analysis_folder_with_a_clear_message(folders):
    r = invoke("compare", folders["solve"], folders["stress"])
    assert r.exit_code == 2
    assert r.output.strip() == (f"Error: {folders['stress']}: a stress folder (written by 'critmin stress'); compare "
                                f"takes folders written by 'critmin solve' or scenarios; 'critmin report "
                                f"{folders['stress']}' writes its report")


def test_an_unfinished_sweep_is_named_as_such(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "samples.jsonl").write_text("", encoding="utf-8")
    r = invoke("report", tmp_path / "s")
    assert r.exit_code == 2
    assert r.output.strip() == (f"Error: {tmp_path / 's'}: an unfinished sweep (no summary.json yet); finish it with "
                                f"'critmin sweep --resume --out {tmp_path / 's'}', then report it")


def test_every_page_opens_in_headless_chromium(reports, browser, tmp_path):
    titles = {"solve": "critmin report: scenario 'tiny'", "frontier": "price of independence",
              "frontier-each": "price of independence", "stress": "supply shocks", "sweep": "Monte Carlo sweep",
              "robust": "two-stage robust plan", "worstcase": "worst case", "compare": "critmin comparison of 2 runs"}
    for kind, folder in reports.items():
        page = (folder / "report.html").resolve()
        done = subprocess.run([browser, *CHROME_FLAGS, f"--user-data-dir={tmp_path / kind}", "--enable-logging=stderr",
                               "--v=0", "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, (kind, done.stderr[-2000:])
        problems = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line
                    or "net::ERR" in line]
        assert problems == [], kind
        assert titles[kind] in done.stdout, kind
        html = page.read_text(encoding="utf-8")
        assert done.stdout.count("<img") == html.count("<img") > 0, kind
