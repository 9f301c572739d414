"""``critmin report``: the files it writes (Markdown with its PNG figures, one self-contained HTML page, an XLSX
workbook, Parquet tables equal to the CSV files), the frontier and duals when present, and its errors."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from engine.cli import main
from engine.figures.labels import Names
from engine.figures.plots import sourcing_figure
from engine.figures.style import png_bytes
from engine.outputs.read_folder import load_results_folder
from engine.report.build import build_report

from conftest import TINY_DEMAND, tiny_scenario, write_dataset

PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")
TABLES = ["dependence", "flows", "owners", "builds", "costs", "shortfall", "policies", "policy_years", "duals",
          "frontier"]
LICENCE = {"option_id": "USA-GA-LIC", "mineral": "ga", "host": "USA", "partner": "CHN", "mode": "licensing",
           "partner_equity_share": 0.0, "capex_usd_per_tpy": 50.0, "opex_usd_per_t": 110.0,
           "royalty_usd_per_t": 10.0, "lead_time_years": 1, "max_size_tpy": 30.0, "min_size_tpy": "",
           "earliest_start": 2025, "description": "test licence"}


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def synthetic_duals() -> pd.DataFrame:
    """Twelve binding rows, so the report must pick the ten largest by |dual_usd|."""
    rows = [{"policy": f"cap_{i}", "type": "country_cap", "family": "country_cap", "mineral": "ga", "year": 2026,
             "country": "CHN", "dual_pv_usd": 10.0 * i, "dual_usd": (-1) ** i * 10.0 * i,
             "unit": "USD per t of supply from the country", "reading": f"reading {i}"} for i in range(1, 13)]
    return pd.DataFrame(rows)


def synthetic_frontier() -> pd.DataFrame:
    rows = []
    for target, shares in (("all", [50.0, 30.0, 10.0]), ("ga", [100.0, 60.0, 20.0])):
        for i, share in enumerate(shares):
            rows.append({"point": i, "target": target, "cap_pct": share, "exposure_pct": share,
                         "cost_pv_usd": 1000.0 + 100 * i ** 2, "premium_usd": 100.0 * i ** 2,
                         "premium_pct": 10.0 * i ** 2, "marginal_usd_per_pp": 5.0 * (i + 1),
                         "finite_difference_usd_per_pp": None if i == 0 else 4.0 * i,
                         "ga_pct": share, "ge_pct": 0.0, "status": "optimal"})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A solved two-mineral, three-year tiny scenario with a JV licence, plus duals and a sibling frontier."""
    root = tmp_path_factory.mktemp("report")
    demand = [{**row, "year": year} for row in TINY_DEMAND for year in (2025, 2026, 2027)]
    write_dataset(root / "inputs", demand=demand, jv_options=[LICENCE])
    scen = tiny_scenario(name="tiny", minerals=["ga", "ge"], horizon={"start": 2025, "end": 2027},
                         objective={"budget": "+20%"}, data={"inputs": "inputs"},
                         policies=[{"type": "export_ban", "name": "half_ban", "exporter": "CHN",
                                    "allowed_share": 0.3, "minerals": ["ga"], "years": 2027}])
    (root / "tiny.yaml").write_text(yaml.safe_dump(scen), encoding="utf-8")
    folder = root / "tiny"
    r = invoke("solve", root / "tiny.yaml", "--out", folder)
    assert r.exit_code == 0, r.output
    synthetic_duals().to_csv(folder / "duals.csv", index=False)
    (root / "tiny-frontier").mkdir()
    synthetic_frontier().to_csv(root / "tiny-frontier" / "frontier.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def report(results) -> Path:
    r = invoke("report", results, "--format", "md,html,xlsx,parquet")
    assert r.exit_code == 0, r.output
    assert r.output.strip() == (f"Report written to {results / 'report'}/: report.md, report.html, results.xlsx, "
                                f"parquet/")
    return results / "report"


def test_markdown_and_its_figures(report, results):
    md = (report / "report.md").read_text(encoding="utf-8")
    linked = re.findall(r"!\[[^\]]*\]\((figures/[^)]+\.png)\)", md)
    assert {Path(p).stem for p in linked} == {"dependence", "sourcing_ga", "sourcing_ge", "builds", "costs",
                                             "frontier"}
    assert sorted(p.name for p in (report / "figures").iterdir()) == sorted(Path(p).name for p in linked)
    for path in linked:
        assert (report / path).read_bytes().startswith(PNG)
    summary = json.loads((results / "summary.json").read_text())
    dep = summary["dependence"]["exposure"]
    assert (f"**Exposure to China:** {dep['overall_pct']:.1f}% of demand in the optimised plan, against "
            f"{dep['least_cost_overall_pct']:.1f}% in the least-cost plan") in md
    share = summary["dependence"]["share_of_supply"]
    assert f"**Share of supply attributed to China:** {share['overall_pct']:.1f}% of the tonnes supplied" in md
    assert "**Scenario:** tiny" in md and "**Status:** Solved to optimality" in md
    assert "**Premium:**" in md and "**Unmet demand:**" in md


def test_duals_table_shows_the_ten_largest(report):
    md = (report / "report.md").read_text(encoding="utf-8")
    shown = re.findall(r"^\| (cap_\d+) \|", md, flags=re.MULTILINE)
    assert shown == [f"cap_{i}" for i in range(12, 2, -1)]  # |dual_usd| = 10 i, largest first
    assert "The 10 most expensive binding policies (of 12)" in md


def test_html_is_self_contained(report):
    html = (report / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", html, flags=re.IGNORECASE)
    assert "<script" not in html.lower() and "<link" not in html.lower()
    sources = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(sources) == 6
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)


def test_xlsx_sheets_hold_the_tables_values(report, results):
    sheets = pd.read_excel(report / "results.xlsx", sheet_name=None)
    assert next(iter(sheets)) == "Cover" and {"Flows", "Dependence", "Policy impacts", "Policy by mineral-year",
                                                      "Frontier"} <= set(sheets)
    cover = sheets["Cover"].iloc[:, 0].astype(str).tolist()
    assert "Status" in cover and "Assumptions" in cover
    flows = pd.read_csv(results / "flows.csv")
    assert sheets["Flows"]["Tonnes (t)"].tolist() == pytest.approx(flows["tonnes"].tolist())
    assert sheets["Flows"]["Cost, present value (USD)"].tolist() == pytest.approx(flows["cost_pv_usd"].tolist())


def test_xlsx_figures_are_numbers_with_formats(report, results):
    """Every figure of the workbook is a number with a number format; the cover's key figures are the summary's."""
    import openpyxl

    from engine.report.exports import FIGURE

    book = openpyxl.load_workbook(report / "results.xlsx")
    summary = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    cover = book["Cover"]
    by_label = {row[0].value: row[1] for row in cover.iter_rows(max_col=2) if row[0].value}
    assert "Key figures" in by_label
    exposure = by_label["Exposure to China (% of demand), optimised plan"]
    assert cover.cell(exposure.row, 2).data_type == "n" and exposure.number_format == "0.0%"
    assert exposure.value == pytest.approx(summary["dependence"]["exposure"]["overall_pct"] / 100)
    cost = by_label["Cost including unmet demand (10x reference price, PV), USD"]
    assert cost.value == pytest.approx(summary["cost"]["total_with_unmet_pv_usd"])
    assert cost.number_format == '"USD "#,##0.00,,," bn"'
    unmet = by_label["Unmet demand's value (10x reference price, each year's money), USD"]
    assert unmet.value == pytest.approx(summary["shortfall"]["value_usd"]) and "USD" in unmet.number_format
    # no cell anywhere holds a figure as text: each would match the report's figure pattern
    texts = [(sheet.title, cell.coordinate, cell.value) for sheet in book.worksheets for row in sheet.iter_rows()
             for cell in row if isinstance(cell.value, str) and FIGURE.match(cell.value.strip())]
    assert texts == []
    # and the numbers of the summary table have formats that show them as the report does
    numbers = [cell for row in cover.iter_rows() for cell in row[1:] if cell.data_type == "n" and cell.value]
    assert numbers and all(cell.number_format != "General" for cell in numbers)
    formats = {cell.number_format for cell in numbers}
    assert {"0.0%", '+0.0" pp";-0.0" pp";0.0" pp"'} <= formats
    flows = book["Flows"]
    column = next(c.column for c in flows[1] if c.value == "Tonnes (t)")
    cells = [row[0] for row in flows.iter_rows(min_row=2, min_col=column, max_col=column)]
    assert cells and all(c.data_type == "n" and c.number_format == "#,##0.0" for c in cells)
    assert [c.value for c in book["Exposure by year"][1]] == ["Mineral", 2025, 2026, 2027]  # years as numbers


@pytest.mark.parametrize(("text", "value", "form"), [
    ("USD 65.17 bn", 65.17e9, '"USD "#,##0.00,,," bn"'), ("USD -213.2 m", -213.2e6, '"USD "#,##0.0,," m"'),
    ("+USD 400", 400.0, '"USD "#,##0'), ("USD 0", 0.0, '"USD "#,##0'), ("14.4%", 0.144, "0.0%"),
    ("-15.0 pp", -15.0, '+0.0" pp";-0.0" pp";0.0" pp"'), ("1,236", 1236, "#,##0"), ("2.14", 2.14, "#,##0.00"),
    ("2025", 2025, "0"), ("2025–2035", "2025–2035", None), ("n/a", "n/a", None), ("USD 18.4 m per t", None, None),
])
def test_figure_cell(text, value, form):
    from engine.report.exports import figure_cell

    got, got_form = figure_cell(text)
    assert got_form == form
    assert got == (pytest.approx(value) if isinstance(value, float) else text if value is None else value)


def test_parquet_tables_equal_the_csv_files(report, results):
    written = sorted(p.stem for p in (report / "parquet").glob("*.parquet"))
    assert written == sorted(TABLES)
    for name in TABLES:
        csv = results / f"{name}.csv" if name != "frontier" else results.parent / "tiny-frontier" / "frontier.csv"
        pd.testing.assert_frame_equal(pd.read_parquet(report / "parquet" / f"{name}.parquet"), pd.read_csv(csv))


def test_refuses_to_overwrite_without_force(report, results):
    r = invoke("report", results)
    assert r.exit_code == 2
    assert r.output.strip() == (f"Error: {results / 'report'}: report folder exists already; pass --force to "
                                f"replace it or choose another --out")
    assert (report / "report.md").is_file()


def test_formats_and_out(results, tmp_path):
    out = build_report(results, "parquet", out=tmp_path / "only-parquet")
    assert sorted(p.name for p in out.iterdir()) == [".critmin-output", "parquet"]
    out = build_report(results, ["xlsx"], out=tmp_path / "only-parquet", force=True)
    assert sorted(p.name for p in out.iterdir()) == [".critmin-output", "results.xlsx"]
    r = invoke("report", results, "--format", "md,pdf", "--out", tmp_path / "x")
    assert r.exit_code == 2
    assert r.output.strip() == ("Error: --format pdf: unknown format; choose from md, html, xlsx, parquet "
                                "(comma-separated)")
    assert not (tmp_path / "x").exists()


def test_not_a_results_folder(tmp_path):
    r = invoke("report", tmp_path)
    assert r.exit_code == 2
    assert r.output.strip() == (f"Error: {tmp_path}: not a results folder (no summary.json); give a folder "
                                f"written by 'critmin solve'")


def test_figures_are_deterministic(results):
    folder = load_results_folder(results)
    draw = [sourcing_figure(folder.table("flows"), folder.table("dependence"), "ga", Names(folder.inputs))
            for _ in range(2)]
    assert png_bytes(draw[0]) == png_bytes(draw[1])


def test_html_opens_in_headless_chromium(report, tmp_path):
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but chromium is not installed; .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium not installed (CI installs it: apt-get install chromium)")
    binary = str(CHROMIUM) if CHROMIUM.exists() else str(shutil.which("chromium"))
    page = (report / "report.html").resolve()
    done = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", "--dump-dom",
         page.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line
               or "net::ERR" in line]
    assert console == []
    assert "critmin report: scenario 'tiny'" in done.stdout
    assert done.stdout.count("<img") == 6
