"""What every command writes, on a tiny scenario whose results are as empty as they get (no JV options, no binding
policy, no shock, worst case k = 0), and one solve with a JV option and a binding policy: every CSV has its header,
and every number in every ``summary.json`` says its unit (``engine/outputs/units.py``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.analysis.stress import stress as stress_scenario
from engine.analysis.stress_run import write_stress
from engine.cli import main
from engine.inputs.scenario import load_scenario
from engine.outputs.units import unitless

from conftest import TINY_CAPACITY, write_dataset, write_scenario, write_table

SETTINGS = {"objective": {"budget": "+50%"},
            "uncertainty": {"demand": {"ga": {"dist": "uniform", "low": 0.9, "high": 1.1}}},
            "robust": {"scenarios": 2, "evaluation": 2}, "worstcase": {"k": 0}}


def run(*args: object) -> None:
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, f"{args}: {r.output}\n{r.exception!r}"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """command -> the folder it wrote."""
    root = tmp_path_factory.mktemp("every")
    model = root / "tiny.yaml"
    inputs = write_dataset(root / "inputs")
    # observed: all from China, as the least-cost plan buys: calibrate has nothing to move
    write_table(inputs, "observed_trade", [{"mineral": "ga", "period": "2024", "origin": "CHN", "share": 1.0,
                                            "measure": "quantity", "form": "metal"}])
    write_scenario(model, inputs, name="tiny", **SETTINGS)
    out = {name: root / name for name in ("solve", "frontier", "stress", "sweep", "robust", "worstcase",
                                          "sensitivity", "calibrate", "other", "compare", "report")}
    run("solve", model, "--out", out["solve"])
    run("frontier", model, "--points", 2, "--out", out["frontier"])
    run("stress", model, "--out", out["stress"])  # N-1 shocks: --named-only refuses a scenario with none
    run("sweep", model, "--samples", 1, "--out", out["sweep"])
    run("robust", model, "--out", out["robust"])
    run("worstcase", model, "--k", 0, "--out", out["worstcase"])
    run("sensitivity", model, "--out", out["sensitivity"])
    run("calibrate", model, "--out", out["calibrate"])
    plant = {"option_id": "DOM", "mineral": "ga", "host": "USA", "partner": "USA", "mode": "domestic",
             "partner_equity_share": 0.0, "capex_usd_per_tpy": 100.0, "opex_usd_per_t": 120.0,
             "royalty_usd_per_t": 0.0, "lead_time_years": 0, "max_size_tpy": 40.0, "min_size_tpy": 5.0,
             "earliest_start": 2025, "description": "domestic plant"}
    other = root / "other.yaml"
    ban = {"name": "ban", "type": "export_ban", "exporter": "CHN", "allowed_share": 0.5}
    write_scenario(other, write_dataset(root / "inputs2", capacity=TINY_CAPACITY[:1] + TINY_CAPACITY[3:],
                                        jv_options=[plant]), name="other", policies=[ban], **SETTINGS)
    run("solve", other, "--out", out["other"])
    out["compare"].mkdir()
    run("compare", out["solve"], out["other"], "--out", out["compare"] / "compare.csv",
        "--report", out["compare"] / "report")
    run("report", out["solve"], "--out", out["report"])
    return out


def test_every_csv_has_its_header(written):
    files = [path for folder in written.values() for path in sorted(folder.rglob("*.csv"))]
    assert {p.parent.name for p in files} >= {"solve", "frontier", "stress", "sweep", "robust", "worstcase",
                                               "sensitivity", "calibrate", "compare"}
    assert "regret.csv" in {p.name for p in files}
    for path in files:
        header = path.read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.strip(), f"{path} has no header"


def test_a_stress_with_no_shock_writes_its_header(tmp_path):
    """No command reaches an empty stress any more (``--named-only`` on a scenario without shocks is refused), but
    the writer still names its columns."""
    model = tmp_path / "tiny.yaml"
    write_scenario(model, write_dataset(tmp_path / "inputs"), name="tiny", **SETTINGS)
    result = stress_scenario(load_scenario(model), include_n_minus_one=False)
    assert result.table.empty
    folder = write_stress(result, tmp_path / "stress")
    assert (folder / "stress.csv").read_text(encoding="utf-8").split("\n", 1)[0].startswith("rank,shock,")


def test_every_number_in_every_summary_has_a_unit(written):
    summaries = {name: json.loads((folder / "summary.json").read_text(encoding="utf-8"))
                 for name, folder in written.items() if (folder / "summary.json").is_file()}
    assert set(summaries) >= {"solve", "frontier", "stress", "sweep", "robust", "worstcase", "sensitivity",
                              "calibrate", "other"}
    assert summaries["other"]["jv"]["builds"] and any(p["status"] == "binds" for p in summaries["other"]["policies"])
    for name, summary in summaries.items():
        assert not unitless(summary), (name, unitless(summary))
    stages = {s["name"]: s for s in summaries["solve"]["stages"]}
    assert stages["cost"]["objective_pv_usd"] == pytest.approx(summaries["solve"]["cost"]["total_with_unmet_pv_usd"],
                                                               rel=1e-6)  # cost including unmet
    exposure = summaries["solve"]["dependence"]["exposure"]
    assert stages["dependence"]["objective_pct"] == pytest.approx(exposure["overall_pct"], rel=1e-6)


def test_a_folder_of_schema_version_2_is_still_read(written, tmp_path):
    """Before version 3 the stages' objectives were in LP units under ``objective`` and there was no ``units``."""
    old = tmp_path / "old"
    shutil.copytree(written["solve"], old)
    summary = json.loads((old / "summary.json").read_text(encoding="utf-8"))
    unit = summary["model"].pop("money_unit_usd")
    summary["model"].pop("dependence_unit_pp")
    for stage in summary["stages"]:
        value = stage.pop("objective_pv_usd", None)
        stage["objective"] = None if value is None else value / unit
    summary.pop("units")
    summary["schema_version"] = 2
    (old / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    run("report", old, "--out", tmp_path / "report")
    run("compare", old, written["other"], "--out", tmp_path / "compare.csv")
    assert (tmp_path / "report" / "report.md").is_file() and (tmp_path / "compare.csv").is_file()
