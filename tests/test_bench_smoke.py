"""Smoke test of the benchmark harness (benchmarks/): it runs at a tiny size, in-process, and is not timed.

The benchmarks themselves are not tests (``make bench``); this only checks that the harness runs, that its table
has every tool, that the peers (naive PuLP, linopy when installed) and the raw MPS solve reach critmin's
optimum, and that the generator is deterministic and produces data the engine's own loader accepts.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from benchmarks.config import SIZES, build_inputs
from benchmarks.generator import disruption_set, scaled_dataset
from benchmarks.harness import TOOLS, Settings, format_tables, run
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import load_scenario
from engine.inputs.tables import TABLES_BY_NAME


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    settings = Settings(sizes=["tiny", "market-tiny"], repeat=1, out=out, isolate=False, warm=False, cli=False,
                        quiet=True, analyses=False)
    return run(settings)


def test_table_has_every_tool(results):
    size = results["sizes"][0]
    keys = {r["tool"] for r in size["tools"]}
    assert keys == {t.key for t in TOOLS}
    ran = {r["tool"] for r in size["tools"] if "skipped" not in r}
    assert {"raw-highs", "raw-highs-defaults", "critmin-highs", "critmin-pulp", "pulp-naive-highs", "pulp-naive-cbc",
            "raw-highs-hierarchy", "critmin-highs-hierarchy", "critmin-pulp-hierarchy"} <= ran
    for r in size["tools"]:
        if "skipped" in r:
            assert r["tool"] in {"linopy-highs", "linopy-highs-critmin-options"}
            assert r["skipped"] == "linopy not installed"
            continue
        assert r.get("error") is None, r["error"]
        assert str(r["status"]).lower() == "optimal"
        assert r["total_s"] is not None and r["peak_mb"] is not None
    # the limit runs with critmin's options (presolve off for an LP), the reference row with HiGHS's defaults
    presolve = {r["tool"]: r["runs"][0]["presolve"] for r in size["tools"]
                if r["group"] == "single" and r["tool"].startswith("raw-highs")}
    assert presolve == {"raw-highs": "off", "raw-highs-defaults": "choose"}  # HiGHS presolves on "choose"
    scaling = {r["tool"]: r["runs"][0]["scaling"] for r in size["tools"]
               if r["group"] == "single" and r["tool"].startswith("raw-highs")}
    assert scaling == {"raw-highs": 3, "raw-highs-defaults": 2}  # forced equilibration, HiGHS's "if needed"
    table = format_tables(results)
    for tool in TOOLS:
        assert tool.label in table


def test_peers_reach_critmins_optimum(results):
    size = results["sizes"][0]
    assert results["disagreements"] == []
    single = [r for r in size["tools"] if r["group"] == "single" and "skipped" not in r]
    assert len(single) >= 5
    for r in single:
        assert r["agrees"] is True, (r["tool"], r["objective"], r["reference_objective"])
    hierarchy = [r for r in size["tools"] if r["group"] == "hierarchy" and "skipped" not in r]
    raw = next(r for r in hierarchy if r["tool"] == "raw-highs-hierarchy")
    stages = size["hierarchy_stages"]
    assert [s["objective"] for s in raw["runs"][0]["stages"]] == pytest.approx(
        [s["objective"] for s in stages], rel=1e-6, abs=1e-6)


def test_generator_is_deterministic_and_valid(tmp_path):
    base = load_scenario("baseline").dataset
    a = scaled_dataset(base, facilities=3, jv_copies=2, horizon_end=2040, seed=7)
    b = scaled_dataset(base, facilities=3, jv_copies=2, horizon_end=2040, seed=7)
    c = scaled_dataset(base, facilities=3, jv_copies=2, horizon_end=2040, seed=8)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert a.digest == b.digest != c.digest
    assert not a.capacity["unit_cost_usd_per_t"].equals(c.capacity["unit_cost_usd_per_t"])
    assert len(a.capacity) == 3 * len(base.capacity)
    assert len(a.jv_options) == 2 * len(base.jv_options)
    assert a.jv_options["min_size_tpy"].isna().all()
    # facility blocks add up to the country blocks
    parent = a.capacity["source_id"].str.rsplit("-F", n=1).str[0]
    summed = a.capacity.groupby(parent)["capacity_t"].sum()
    expected = base.capacity.set_index("source_id")["capacity_t"]
    pd.testing.assert_series_equal(summed.sort_index(), expected.sort_index(), check_names=False)
    assert a.demand["year"].max() == 2040
    # the engine's own loader accepts the generated tables
    for name, frame in a.tables.items():
        frame.to_csv(tmp_path / TABLES_BY_NAME[name].filename, index=False)
    load_dataset(tmp_path)

    s1 = disruption_set(a, 5, seed=3)
    s2 = disruption_set(a, 5, seed=3)
    pd.testing.assert_frame_equal(s1.availability, s2.availability)
    pd.testing.assert_frame_equal(s1.table, s2.table)
    assert s1.table["probability"].sum() == pytest.approx(1.0)
    assert set(s1.availability["scen"]) <= set(range(1, 5))


def test_peer_matches_critmin_with_shortfall():
    """Knock out all gallium in one scenario for two years: the shortfall terms must agree too."""
    import numpy as np
    import pulp

    from benchmarks.config import SHORTFALL_WEIGHT, single_stage_objective
    from benchmarks.peers import naive_pulp, peer_data
    from engine.formulation import ScenarioSet, build_model
    from engine.inputs.scenario import scenario_from_dict
    from engine.solvers import make_backend

    dataset, _, mapping = build_inputs(SIZES["tiny"])
    ga = list(dataset.capacity.loc[dataset.capacity["mineral"] == "ga", "source_id"])
    ga += list(dataset.jv_options.loc[dataset.jv_options["mineral"] == "ga", "option_id"])
    availability = pd.DataFrame({"scen": 1, "id": np.repeat(ga, 2), "year": np.tile([2027, 2028], len(ga)),
                                 "factor": 0.0})
    scenarios = ScenarioSet(table=pd.DataFrame({"scen": [0, 1], "probability": [0.7, 0.3]}),
                            availability=availability)
    model = build_model(scenario_from_dict(mapping, dataset, name="shock"), scenarios)
    backend = make_backend("highs")
    backend.load(model.lp)
    backend.set_objective(single_stage_objective(model.lp))
    sol = backend.solve()
    assert sol.ok and sol.x[model.block_cols("short")].sum() > 1.0  # demand goes unmet
    naive = naive_pulp(peer_data(dataset, scenarios, mapping, SHORTFALL_WEIGHT))
    naive.prob.solve(pulp.HiGHS(msg=False))
    assert pulp.value(naive.prob.objective) == pytest.approx(sol.objective, rel=1e-9)


def test_sizes_grow():
    assert list(SIZES)[:2] == ["tiny", "small"]
    dataset, scenarios, scenario = build_inputs(SIZES["tiny"])
    assert dataset.demand["year"].max() >= SIZES["tiny"].horizon_end
    assert len(scenarios.table) == SIZES["tiny"].scenarios
    assert scenario["horizon"]["end"] == SIZES["tiny"].horizon_end


def test_order_comparison_reaches_one_optimum_in_every_order():
    from benchmarks.order import compare, keys_scenario_last
    from engine.model.lp import LinearProgram

    lp = LinearProgram()
    lp.add_variables("flow", pd.DataFrame({"source": ["b", "a", "b", "a"], "scen": [0, 0, 1, 1]}))
    assert keys_scenario_last(lp.variables.values(), lp.n_cols).tolist() == [1, 3, 0, 2]  # a0 a1 b0 b1
    rows = compare("tiny", rounds=1)
    assert [r["order"] for r in rows] == ["build", "scenario innermost", "keys, scenario last", "random"]
    assert all(r["iterations"] > 0 for r in rows)
    assert [r["objective"] for r in rows] == pytest.approx([rows[0]["objective"]] * 4, rel=1e-9)


def test_cold_cli_is_timed_against_an_imports_only_reference(results):
    """One cold `critmin solve --no-write` and one fresh interpreter that only imports numpy, pandas and highspy, in
    wall and CPU time; the same with the policy impacts, and once more with an empty dataset cache (the first run on
    new inputs); the table states critmin's own part as the difference and every ratio."""
    from benchmarks.harness import time_cli

    cli = time_cli(1, first_loads=1)
    assert cli["exit_codes"] == [0, 0, 0, 0]  # without impacts, with them, the first load, market mode
    assert len(cli["runs_s"]) == len(cli["imports_runs_s"]) == 1
    # the timings themselves are measured, not asserted (one run on a shared machine can go either way)
    assert min(cli["imports_median_s"], cli["median_s"], cli["imports_cpu_median_s"], cli["cpu_median_s"]) > 0
    assert cli["ratio"] == cli["runs_s"][0] / cli["imports_runs_s"][0]
    text = format_tables({**results, "cli": cli})
    own = cli["median_s"] - cli["imports_median_s"]
    assert 'reference, alternated: `python -c "import numpy, pandas, highspy"`' in text
    assert f"so critmin's own part is {own:.2f} s" in text
    assert f"critmin / reference, wall: {cli['ratio']:.2f}x, target <= 1.5x" in text
    assert f"critmin / reference, CPU: {cli['cpu_ratio']:.2f}x" in text
    assert f"median {cli['first_load_median_s']:.2f} s, {cli['first_load_ratio']:.2f}x wall" in text
    assert cli["with_impacts_median_s"] > 0
    assert (f"  with the policy impacts (`critmin solve --no-write`, as a user types it: each policy removed and the "
            f"plan re-solved): median {cli['with_impacts_median_s']:.2f} s, {cli['ratio_with_impacts']:.2f}x the "
            f"reference ({cli['cpu_ratio_with_impacts']:.2f}x CPU)") in text
    assert cli["ratio_market"] == cli["market_runs_s"][0] / cli["with_impacts_runs_s"][0]  # issue 29: one round
    assert (f"  market mode (`critmin solve --no-write models/market.yaml`, the equilibrium and its backcast): median "
            f"{cli['market_median_s']:.2f} s, {cli['ratio_market']:.2f}x the baseline's solve above") in text


def test_analyses_timing_runs_and_reports_the_share_inside_highs():
    from benchmarks.analyses import HIGHS, PARTS, format_result, measure

    result = measure(samples=1, rounds=1)
    for kind in ("sweep", "frontier"):
        assert 0 < result[kind]["highs_share"] < 1
        parts = result[kind]["parts"]
        # every part named is still called: a renamed function would silently time nothing
        assert {part for _, _, part in PARTS[kind]} | {HIGHS} <= {p for p, seconds in parts.items() if seconds > 0}
    text = format_result(result)
    assert "samples/s" in text and "inside HiGHS" in text and "where a sample's time goes" in text


def test_cold_phases_child_times_every_phase_of_a_solve():
    """``python -m benchmarks.cold_phases``'s instrumented child: every import phase and every part of the command
    is timed (a part that stops being called, a renamed function, shows here as 0 or an error)."""
    import json
    import subprocess
    import sys

    from benchmarks.cold_phases import IMPORTS, INSIDE, PARTS, ROOT

    done = subprocess.run([sys.executable, "-m", "benchmarks.cold_phases", "--child"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    phases = json.loads(done.stdout.splitlines()[-1])
    for label, _modules in IMPORTS:
        assert phases[label][1] >= 0
    for _module, _attribute, label in PARTS:
        assert phases[f"  {label}"][0] > 0, label
    assert phases[f"    {INSIDE[2]}"][0] > 0


def test_market_size_runs_end_to_end_against_the_limit_and_agrees(results):
    """The market size (benchmarks/market.py) at its tiny size: critmin's build, hand-off, solve and extract, and
    HiGHS alone on the MPS critmin's market solver writes, with its options; both reach the model's optimum."""
    from benchmarks.market import MARKET_SIZES, market_inputs

    (market,) = results["market"]
    assert market["size"]["name"] == "market-tiny" and market["rounds"] == 1 and market["agrees"] is True
    assert market["options"] == {"presolve": "off", "solver": "simplex", "random_seed": 0}
    (limit,), (mine,) = market["limit_runs"], market["critmin_runs"]
    assert limit["counted"] == ["solve"] and limit["status"] == "optimal"
    assert all(mine["phases"][f"{p}_s"] is not None for p in ("build", "handoff", "solve", "extract"))
    assert market["wall_ratio"] > 0 and market["memory_ratio"] > 0
    assert "Market mode: the equilibrium LP end to end" in format_tables(results)
    # the tie rule is timed inside critmin's solve (counted there) and reported apart
    assert 0 < mine["ties_cpu_s"] <= mine["cpu_phases"]["solve_s"] and market["ties_cpu_s"] == mine["ties_cpu_s"]
    # the shipped goal's frontier, warm: its points over run_frontier's seconds, against the 10 points/s
    (frontier,) = market["frontier_runs"]
    assert frontier["points"] == 21 and market["frontier_rate"] == pytest.approx(21 / frontier["frontier_s"])
    assert (f"median {market['frontier_rate']:.1f} points/s wall" in format_tables(results))
    # more regions than the shipped six where a size asks for copies, each non-buyer region's demand split evenly
    _, scenario, data = market_inputs(MARKET_SIZES["market-tiny"])
    assert market["regions"] == len(data.regions) == 6 and scenario["market"] == "equilibrium"
    grown = market_inputs(dataclasses.replace(MARKET_SIZES["market-tiny"], copies=3))[2]
    assert len(grown.regions) == 1 + 5 * 3
    eu = grown.demand[grown.demand["region"].str.startswith("EU")].groupby("year")["quantity_t"].sum()
    assert eu.to_numpy() == pytest.approx(data.demand[data.demand["region"] == "EU"].groupby("year")[
        "quantity_t"].sum().to_numpy())
