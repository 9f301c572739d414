"""What every command writes, on a tiny scenario whose results are as empty as they get (no JV options, no binding
policy, no shock, worst case k = 0): every CSV has its header, and every number in every ``summary.json`` says its
unit (``engine/outputs/units.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

from conftest import write_dataset, write_table

TINY = """
name: tiny
horizon: {{start: 2025, end: 2025}}
minerals: [ga]
finance: {{discount_rate: 0.0}}
dependence: {{basis: location}}
objective: {{budget: "+50%"}}
data: {{inputs: {inputs}}}
uncertainty:
  demand: {{ga: {{dist: uniform, low: 0.9, high: 1.1}}}}
robust: {{scenarios: 2, evaluation: 2}}
worstcase: {{k: 0}}
"""


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
    model.write_text(TINY.format(inputs=inputs), encoding="utf-8")
    out = {name: root / name for name in ("solve", "frontier", "stress", "sweep", "robust", "worstcase",
                                          "sensitivity", "calibrate", "other", "compare", "report")}
    run("solve", model, "--out", out["solve"])
    run("frontier", model, "--points", 2, "--out", out["frontier"])
    run("stress", model, "--named-only", "--out", out["stress"])
    run("sweep", model, "--samples", 1, "--out", out["sweep"])
    run("robust", model, "--out", out["robust"])
    run("worstcase", model, "--k", 0, "--out", out["worstcase"])
    run("sensitivity", model, "--out", out["sensitivity"])
    run("calibrate", model, "--out", out["calibrate"])
    run("solve", model, "--out", out["other"])
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
