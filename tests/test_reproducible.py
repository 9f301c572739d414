"""Reproducible results: the same inputs give the same bytes whatever the row order of the input tables, and a
warm re-solve reports the point a cold solve of the same LP reports (the tie rule, ``engine/plan/ties.py``).

The sweep's executors (serial, processes, Dask, a SIGKILL and a resume) are in ``test_sweep_executors.py``.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import engine.analysis.frontier as frontier_module
from engine.analysis.frontier import compute_frontier
from engine.analysis.robust import robust
from engine.analysis.sampling import ROBUST_PLAN, scenario_set
from engine.analysis.stress import _Stresser, n_minus_one, named_shocks
from engine.formulation import build_model
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import load_scenario, scenario_from_dict, with_overrides
from engine.inputs.tables import TABLES_BY_NAME
from engine.outputs.results import build_table
from engine.outputs.run_folder import write_results
from engine.paths import inputs_dir, models_dir
from engine.plan.hierarchy import PlanSession
from engine.plan.ties import key_hashes, tie_weights
from engine.run import run_scenario
from engine.solvers import SolverOptions, make_backend

from conftest import TINY_CAPACITY, tiny_scenario, write_dataset

SHUFFLES = {"baseline": (1, 2, 3), "ga_ge_ban": (4, 5), "jv_quid_pro_quo": (6,)}


def shuffled_copy(src: Path, dst: Path, seed: int | None) -> Path:
    """Every CSV of ``src`` with its data rows in a random order (``seed``), or as they are (None)."""
    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.csv")):
        header, *rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        if seed is not None:
            random.Random(f"{seed}:{path.name}").shuffle(rows)
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([header, *rows])
        (dst / path.name).write_text(text.getvalue(), encoding="utf-8")
    return dst


def results_folder(name: str, inputs: Path, out: Path) -> dict[str, bytes | dict]:
    """Solve a shipped scenario on ``inputs`` and read back its results folder (summary.json parsed, less what
    may differ between runs: timings and the stages' seconds and iteration counts)."""
    result = run_scenario(load_scenario(models_dir() / f"{name}.yaml", inputs=inputs))
    assert result.ok
    write_results(result, out, force=True)
    files: dict[str, bytes | dict] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    summary = json.loads(files["summary.json"])
    summary.pop("timings")
    for stage in summary["stages"] + summary["tie_break"]:
        stage.pop("seconds"), stage.pop("iterations")
    files["summary.json"] = summary
    return files


@pytest.mark.parametrize("name", list(SHUFFLES))
def test_shuffled_input_rows_give_a_byte_identical_results_folder(name, tmp_path):
    inputs = tmp_path / "inputs"  # the same path every time: only the row order changes
    reference = results_folder(name, shuffled_copy(inputs_dir(), inputs, None), tmp_path / "reference")
    assert {"flows.csv", "builds.csv", "dependence.csv", "costs.csv", "shortfall.csv", "duals.csv",
            "scenario.yaml", "summary.json"} <= set(reference)
    for seed in SHUFFLES[name]:
        shuffled_copy(inputs_dir(), inputs, seed)
        again = results_folder(name, inputs, tmp_path / f"seed{seed}")
        assert again.keys() == reference.keys()
        for file in reference:
            assert again[file] == reference[file], f"{name}, seed {seed}: {file} differs"


def test_input_tables_are_in_key_order_and_hashed_by_content(tmp_path):
    plain = load_dataset(shuffled_copy(inputs_dir(), tmp_path / "plain", None))
    for table, frame in plain.tables.items():
        key = list(TABLES_BY_NAME[table].key)
        assert frame.equals(frame.sort_values(key).reset_index(drop=True)), table
        assert list(frame.index) == list(range(len(frame)))
    # rows shuffled, one file requoted with blank lines between rows: the same facts, the same hash
    other = shuffled_copy(inputs_dir(), tmp_path / "other", 9)
    rows = list(csv.reader(io.StringIO((other / "demand.csv").read_text(encoding="utf-8"))))
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n\n").writerows(rows)
    (other / "demand.csv").write_text(text.getvalue(), encoding="utf-8")
    assert load_dataset(other).digest == plain.digest
    assert (other / "demand.csv").read_bytes() != (inputs_dir() / "demand.csv").read_bytes()
    # one number changed: another hash
    frame = pd.read_csv(other / "demand.csv", dtype=str, skipinitialspace=True)
    frame.loc[0, "demand_t"] = str(float(frame.loc[0, "demand_t"]) + 1)
    frame.to_csv(other / "demand.csv", index=False)
    assert load_dataset(other).digest != plain.digest


OUTPUT_KEYS = {
    "flows.csv": ["scen", "mineral", "year", "kind", "id"],
    "dependence.csv": ["scen", "mineral", "year"],
    "shortfall.csv": ["scen", "mineral", "year"],
    "stockpile.csv": ["scen", "mineral", "year"],
    "costs.csv": ["scen", "mineral", "year", "component"],
    "builds.csv": ["option_id", "year_started"],
}


@pytest.mark.parametrize("name", ["baseline", "ga_ge_ban"])
def test_every_output_table_is_sorted_by_its_keys(name, tmp_path):
    out = tmp_path / "out"
    write_results(run_scenario(name), out)
    for file, key in OUTPUT_KEYS.items():
        frame = pd.read_csv(out / file, keep_default_na=False)
        assert len(frame), file
        assert not frame.duplicated(key).any(), file
        assert frame[key].equals(frame[key].sort_values(key).reset_index(drop=True)), file
    duals = pd.read_csv(out / "duals.csv", keep_default_na=False)
    keys = ["policy", "family", "mineral", "year", "country"]
    order = duals.sort_values(["dual_usd", *keys], ascending=[False] + [True] * len(keys))
    assert list(order.index) == list(duals.index)


# ------------------------------------------------------------------------------------------- the tie rule
def test_ties_go_to_the_source_with_the_smaller_weight(tmp_path):
    """Three sources at the same cost and attribution share 40 t of demand in endless ways; the tie rule puts
    the 40 t, by hand, on the two with the smallest weights (the cheapest vertex of the tie-break objective with
    capacities 30 t each), in whichever order the rows come."""
    same = [{**TINY_CAPACITY[1], "source_id": sid, "capacity_t": 30} for sid in ("DEU-GA", "DEU-GA-2", "DEU-GA-3")]
    same += [TINY_CAPACITY[3]]
    data = tiny_scenario(objective={"minimise": "cost"})
    picked = []
    for order in (same, same[::-1]):
        ds = load_dataset(write_dataset(tmp_path / f"inputs{len(picked)}", capacity=order))
        result = run_scenario(scenario_from_dict(data, ds))
        weights = tie_weights(result.model.lp)
        flows = result.model.supply.assign(weight=weights[result.model.block_cols("flow")])
        light = flows.sort_values("weight")["id"].tolist()
        tonnes = result.tables.flows.set_index("id")["tonnes"].to_dict()
        assert tonnes == {light[0]: 30.0, light[1]: 10.0}
        assert result.summary["cost"]["total_pv_usd"] == 40 * 150.0  # the level did not move
        picked.append(tonnes)
    assert picked[0] == picked[1]
    assert [s["name"] for s in result.summary["tie_break"]] == ["tie_break_duals", "tie_break"]


def test_tie_weights_depend_on_names_only():
    keys = pd.DataFrame({"source_id": ["A", "B", "A"], "year": [2030, 2030, 2030], "scen": [0, 0, 0]})
    h = key_hashes("flow", keys)
    assert h[0] == h[2] != h[1]
    assert key_hashes("flow", keys.iloc[[1, 0]].reset_index(drop=True))[1] == h[0]
    assert key_hashes("jv_out", keys)[0] != h[0]
    model = build_model(load_scenario("baseline"))
    w = tie_weights(model.lp)
    integer = model.lp.integer_cols
    assert np.all(w[integer] == 0.0)
    continuous = np.setdiff1d(np.arange(model.lp.n_cols), integer)
    assert np.all((w[continuous] >= 1.0) & (w[continuous] < 2.0))
    assert len(np.unique(w[continuous])) == len(continuous)


# ------------------------------------------------------------------------------------------- warm = cold
def _stresser(model):
    session = PlanSession(model, make_backend("highs", SolverOptions()))
    stresser = _Stresser(session, session.solve())
    stresser.prepare()
    points = []
    solve = session.solve

    def recording(*args, **kwargs):
        plan = solve(*args, **kwargs)
        points.append(plan.x if plan.ok else plan.status)
        return plan

    session.solve = recording
    return stresser, points


STRESS_SHOCKS = ("AUS cuts li (location)", "NOR cuts co (location)", "CAN cuts all (location)",
                 "CHN cuts ga (location)", "china_ga_ge_ban", "indonesia_nickel_halt")


def test_stress_shocks_solved_warm_give_the_cold_solves_points():
    """One session runs the shocks in turn, each from the basis the one before left; a fresh session solves
    each alone. Without the tie rule these points differed by up to 45,000 t (same cost, other sources).
    Differences of two costs of about USD 60 bn (the cost jump) may differ by a cent."""
    loaded = load_scenario("baseline")
    model = build_model(loaded)
    shocks = [s for s in n_minus_one(model) + named_shocks(loaded) if s.name in STRESS_SHOCKS]
    assert len(shocks) == len(STRESS_SHOCKS)
    warm, warm_points = _stresser(model)
    for shock in shocks:
        done = len(warm_points)
        row = warm.run(shock)
        cold, cold_points = _stresser(model)
        again = cold.run(shock)
        assert again.keys() == row.keys()
        for key, value in row.items():
            exact = value is None or isinstance(value, str)
            assert again[key] == (value if exact else pytest.approx(value, rel=1e-7, abs=0.01)), (shock.name, key)
        assert len(cold_points) == len(warm_points) - done >= 1
        for a, b in zip(warm_points[done:], cold_points, strict=True):
            if isinstance(a, np.ndarray):
                np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-4, err_msg=shock.name)
            else:
                assert a == b, shock.name


def test_frontier_points_solved_warm_give_the_cold_solves_points(monkeypatch):
    """The sweep solves each cap from the basis of the cap before; a frontier of that cap alone starts from the
    least dependent plan. Without the tie rule points 7, 8 and 10 differed by up to 45,000 t; with it they agree
    within 0.005 t, the threshold below which tonnes print as 0."""
    points: list[np.ndarray] = []
    point = frontier_module._point

    def recording(sweep, sol, *args):
        points.append(sol.x)
        return point(sweep, sol, *args)

    monkeypatch.setattr(frontier_module, "_point", recording)
    model = build_model(load_scenario("baseline"))
    fresh = lambda: PlanSession(model, make_backend("highs", SolverOptions()))  # noqa: E731
    warm = compute_frontier(fresh(), points=11).table
    warm_points = list(points)
    assert len(warm_points) == 11
    for k in (4, 7, 8, 10):
        points.clear()
        cold = compute_frontier(fresh(), caps=[float(warm["cap_pct"][k])]).table
        np.testing.assert_allclose(points[0], warm_points[k], rtol=1e-6, atol=0.005, err_msg=f"point {k}")
        for column in ("cost_pv_usd", "exposure_pct", "li_pct", "ni_pct", "co_pct", "ga_pct", "ge_pct"):
            assert cold[column][0] == pytest.approx(warm[column][k], rel=1e-7, abs=1e-6), (k, column)


def test_robust_plan_does_not_depend_on_what_the_session_solved_before():
    """The two-stage plan as ``robust`` solves it (a fresh session) and on a session that solved the
    least-cost plan first, then the robust hierarchy warm: the same first stage and the same flows."""
    loaded = with_overrides(load_scenario("ga_ge_ban"), minerals=["ga", "ge"])
    loaded = with_overrides(loaded, robust=loaded.scenario.robust.model_copy(update={"scenarios": 6,
                                                                                    "evaluation": 6}))
    result = robust(loaded)
    assert result.status == "optimal"
    plan_set, _ = scenario_set(loaded, list(range(6)), loaded.scenario.robust.seed, ROBUST_PLAN)
    model = build_model(loaded, plan_set)
    session = PlanSession(model, make_backend("highs", SolverOptions()))
    assert session.solve(minimise="cost").ok
    warm = session.solve()
    cold = PlanSession(model, make_backend("highs", SolverOptions())).solve()
    np.testing.assert_allclose(warm.x, cold.x, rtol=1e-7, atol=1e-4)
    # builds within 1e-9 of their size, or within the flows' 1e-4 (t, USD) for builds at solver noise (a 2e-6 t/yr
    # build left by a level's slack, whose capex differs in its seventh digit)
    pd.testing.assert_frame_equal(build_table(model, warm.x), result.builds, rtol=1e-9, atol=1e-4)
