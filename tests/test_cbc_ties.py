"""The tie rule settles ties on every backend: ``critmin solve --solver cbc`` reports the plan HiGHS reports.

CBC (through PuLP) starts every solve from scratch and its duals pass through a solution file, so the tie rule
holds the optimal face there by the level rows alone (``engine/plan/ties.py``): every level row at its value in the
last point, the objective's own among them. On each shipped scenario (all with minimum plant sizes, so binaries
held by the tie rule) the summary figures and every flow after the tie rule agree with HiGHS's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import main

from conftest import single_buyer

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted(p.stem for p in single_buyer((ROOT / "models").glob("*.yaml")))
KEYS = ["scen", "mineral", "year", "kind", "id"]


def solve(name: str, solver: str, out: Path) -> tuple[dict, pd.DataFrame]:
    r = CliRunner().invoke(main, ["solve", name, "--solver", solver, "--out", str(out), "--json", "--no-impacts"])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    flows = pd.read_csv(out / "flows.csv", keep_default_na=False)
    return summary, flows.groupby(KEYS)["tonnes"].sum()


@pytest.mark.parametrize("name", MODELS)
def test_cbc_settles_ties_as_highs_does(name, tmp_path):
    highs, highs_flows = solve(name, "highs", tmp_path / "highs")
    cbc, cbc_flows = solve(name, "cbc", tmp_path / "cbc")
    assert cbc["status"] == "optimal"
    assert not [w for w in cbc["warnings"] if "ties" in w], cbc["warnings"]
    assert cbc["tie_break"] and cbc["tie_break"][-1]["status"] == "optimal"
    assert [s["name"] for s in cbc["tie_break"]] == ["tie_break"] * len(cbc["tie_break"])  # no duals asked for
    assert cbc["shortfall"]["total_t"] == pytest.approx(highs["shortfall"]["total_t"], rel=1e-7, abs=1e-4)
    assert cbc["cost"]["total_with_unmet_pv_usd"] == pytest.approx(highs["cost"]["total_with_unmet_pv_usd"], rel=1e-9)
    assert cbc["cost"]["total_pv_usd"] == pytest.approx(highs["cost"]["total_pv_usd"], rel=1e-9)
    assert cbc["cost"]["least_cost_pv_usd"] == pytest.approx(highs["cost"]["least_cost_pv_usd"], rel=1e-9)
    for measure in ("exposure", "share_of_supply"):
        assert cbc["dependence"][measure]["overall_pct"] == pytest.approx(
            highs["dependence"][measure]["overall_pct"], rel=1e-7)
    both = pd.concat({"highs": highs_flows, "cbc": cbc_flows}, axis=1).fillna(0.0)
    difference = (both["highs"] - both["cbc"]).abs()
    # the same plan up to CBC's face: its level rows are held within 1e-9 of their size at most
    assert difference.max() <= 1e-5 * both["highs"].abs().max(), difference.sort_values().tail(3)
