"""The Python API (``import engine as cm``) against the CLI: same validation and messages, same numbers, typed
results for every command; a session's warm re-solve against a cold solve of the changed scenario; ``--json``,
``schema_version`` and mineral names on every command."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure
from pytest import approx

import engine as cm
from engine.cli import main
from engine.errors import InputError
from engine.inputs.scenario import load_scenario, with_overrides
from engine.outputs.files import SCHEMA_VERSION

from conftest import write_dataset

# Gallium from China (50 t exportable at 100), Germany (20 t at 150), Japan (10 t at 200); demand 40 t. A named
# shock halves Germany; the uncertainty scales demand.
TINY_YAML = """
name: tiny
horizon: {{start: 2025, end: 2025}}
minerals: [ga]
finance: {{discount_rate: 0.0}}
dependence: {{basis: location}}
objective: {{budget: "+50%"}}
data: {{inputs: {inputs}}}
shocks:
  - {{name: germany_halves, country: DEU, share: 0.5, probability: 0.5}}
uncertainty:
  demand: {{ga: {{dist: uniform, low: 0.9, high: 1.1}}}}
robust: {{scenarios: 3, evaluation: 3}}
worstcase: {{k: 1}}
"""


def invoke(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("api")
    inputs = write_dataset(folder / "inputs")
    path = folder / "tiny.yaml"
    path.write_text(TINY_YAML.format(inputs=inputs), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def baseline_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "baseline"
    r = invoke("solve", "baseline", "--out", out)
    assert r.exit_code == 0, r.output
    return out


# ------------------------------------------------------------------------------------------- scenarios
def test_import_is_light_and_lists_the_api():
    import subprocess
    import sys

    code = "import engine, sys; print(sorted(m for m in ('pandas', 'highspy', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert {"load", "solve", "frontier", "explain", "stress", "sweep", "robust", "worstcase", "compare_runs",
            "make_report", "Session"} <= set(dir(cm))
    import engine.analysis.compare
    import engine.report  # noqa: F401  the modules of the same job do not shadow the API's names

    assert callable(cm.compare_runs) and callable(cm.make_report)


def test_a_dict_extends_as_a_file_does(tmp_path):
    child = {"extends": "baseline", "objective": {"budget": "+5%"}}
    path = tmp_path / "plus5.yaml"
    path.write_text("extends: baseline\nobjective: {budget: '+5%'}\n", encoding="utf-8")
    from_dict, from_file = cm.load(child, name="plus5"), load_scenario(path)
    assert from_dict.scenario == from_file.scenario
    assert [p.name for p in from_dict.scenario.policies] == [p.name for p in load_scenario().scenario.policies]
    assert from_dict.parents == from_file.parents == from_file.chain[:-1]


def test_an_unknown_parent_is_refused_with_the_files_message(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("extends: baselin\n", encoding="utf-8")
    with pytest.raises(InputError) as from_file:
        load_scenario(path)
    with pytest.raises(InputError) as from_dict:
        cm.load({"extends": "baselin"})
    tail = ("extends: baselin: scenario file not found (did you mean 'baseline'?); give a path to a .yaml file or "
            "one of the shipped scenarios: ")
    assert str(from_file.value).startswith(f"{path}, line 1, {tail}")
    assert str(from_dict.value).startswith(f"(scenario), {tail}")
    assert str(from_dict.value).removeprefix("(scenario), ") == str(from_file.value).removeprefix(f"{path}, line 1, ")


@pytest.mark.parametrize(("override", "yaml_text", "message"), [
    ({"objective": {"minimise": "cheapest"}}, "objective: {minimise: cheapest}",
     "objective.minimise: got 'cheapest'; expected 'dependence' or 'cost'"),
    ({"objective": {"shortfall": "always"}}, "objective: {shortfall: always}",
     "objective.shortfall: got 'always'; expected 'valued' or 'first'"),
    ({"robust": {"alpha": 1.5}}, "robust: {alpha: 1.5}",
     "robust.alpha: got 1.5; expected a finite number from 0 to 1 (a probability level, strictly between 0 and 1)"),
    ({"stockpile": {"zinc": {"capacity_t": 1}}}, "stockpile: {zinc: {capacity_t: 1}}",
     "stockpile.zinc: unknown mineral 'zinc'"),
])
def test_invalid_overrides_give_the_clis_messages(tmp_path, override, yaml_text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"extends: baseline\n{yaml_text}\n", encoding="utf-8")
    cli = invoke("validate", path)
    assert cli.exit_code == 2
    assert f"{path}, line 2, {message}" in cli.stderr
    with pytest.raises(InputError) as api:
        cm.override("baseline", **override)
    assert f"(scenario), {message}" in str(api.value)
    first_line = str(api.value).splitlines()[0]
    assert first_line in cli.stderr.replace(f"Scenario {path}", "Scenario 'baseline'").replace("'bad'", "'baseline'")


def test_a_schema_object_override_is_validated_too():
    loaded = load_scenario()
    bad = loaded.scenario.robust.model_copy(update={"alpha": 1.5})  # model_copy does not validate
    with pytest.raises(InputError, match=r"robust\.alpha: got 1\.5; expected a finite number from 0 to 1"):
        with_overrides(loaded, robust=bad)
    with pytest.raises(InputError, match="unknown key 'budget'"):
        cm.override(loaded, budget="+5%")


def test_mineral_names_or_codes_in_the_api():
    assert cm.mineral_codes("baseline", ["Lithium", "GA", "ni"]) == ["li", "ga", "ni"]
    with pytest.raises(InputError, match="--mineral: 'zinc' is not modelled in scenario 'baseline'"):
        cm.mineral_codes("baseline", ["zinc"])


# ------------------------------------------------------------------------------------------------ solve
def test_solve_gives_the_clis_numbers(baseline_folder):
    plan = cm.solve("baseline")
    written = json.loads((baseline_folder / "summary.json").read_text())
    for key in ("dependence", "cost", "shortfall", "jv", "policies", "policy_impacts"):
        assert plan.summary[key] == written[key], key
    for name in ("flows", "dependence", "costs", "shortfall", "builds", "duals", "policies", "stockpile"):
        ours = getattr(plan, name)
        theirs = pd.read_csv(baseline_folder / f"{name}.csv")
        assert list(ours.columns) == list(theirs.columns), name
        assert len(ours) == len(theirs) > 0, name
        numbers = [c for c in ours.columns if pd.api.types.is_float_dtype(ours[c])]
        assert ours[numbers].to_numpy(float) == approx(theirs[numbers].to_numpy(float), rel=1e-9, abs=1e-9, nan_ok=True)
    assert "Exposure to China" in plan.text and "Share of supply" in plan.text and isinstance(plan.plot(), Figure)
    assert isinstance(plan.plot("sourcing", mineral="gallium"), Figure)


# -------------------------------------------------------------------------------------------- sessions
def _same_plan(warm: cm.Solution, cold: cm.Solution) -> None:
    assert warm.status == cold.status == "optimal"
    for key in ("dependence", "cost", "shortfall", "jv"):
        assert warm.summary[key] == approx(cold.summary[key], rel=1e-7, abs=1e-6) if not isinstance(
            warm.summary[key], dict) else _close(warm.summary[key], cold.summary[key])
    keys = ["scen", "mineral", "year", "kind", "id"]
    a = warm.flows.set_index(keys)["tonnes"].sort_index()
    b = cold.flows.set_index(keys)["tonnes"].sort_index()
    both = a.index.union(b.index)
    assert a.reindex(both, fill_value=0).to_numpy() == approx(b.reindex(both, fill_value=0).to_numpy(), abs=1e-6)


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict):
        assert set(a) == set(b)
        return all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        assert a == approx(b, rel=1e-6, abs=1e-4)
        return True
    assert a == b
    return True


# what-if: (change, re-solved on the loaded model?, summary figure it moves)
WHAT_IFS = {
    "budget": (lambda s: s.set_budget("+5%"), True, ("cost", "total_pv_usd")),
    "exportable": (lambda s: s.set_exportable("CHN", 0.2), True, ("dependence", "exposure", "overall_pct")),
    "quota": (lambda s: s.set_policy("china_ga_ge_licensing", allowed_share=0.3), True,
              ("dependence", "exposure", "overall_pct")),
    "demand": (lambda s: s.set_demand("lithium", 1.3), False, ("dependence", "exposure", "overall_pct")),
}


@pytest.mark.parametrize("change", list(WHAT_IFS))
def test_a_session_re_solve_is_the_cold_solve_of_the_changed_scenario(change):
    apply, warm_expected, path = WHAT_IFS[change]
    session = cm.Session(cm.load({"extends": "baseline", "horizon": {"start": 2025, "end": 2028}}, name="short"))
    before = session.solve()
    warm = apply(session).solve()
    assert session.warm is warm_expected, "bounds changed: the loaded model is re-used; objectives: loaded afresh"
    cold = cm.solve(session.scenario)
    _same_plan(warm, cold)
    figure = lambda plan: functools.reduce(lambda part, key: part[key], path, plan.summary)  # noqa: E731
    assert figure(warm) != approx(figure(before), rel=1e-6), "the change changes the plan"


def test_a_session_change_is_validated():
    session = cm.Session("baseline")
    with pytest.raises(InputError, match=r"policy 'section_302' is not in scenario 'baseline' \(did you mean "
                                         r"'section_301'\?\)"):
        session.set_policy("section_302", ad_valorem=0.5)
    with pytest.raises(InputError, match=r"\(scenario\), objective\.budget: expected a premium such as '\+15%' or an "
                                         r"absolute present value in USD, got '\+five'"):
        session.set_budget("+five")
    assert repr(session) == "Session('baseline', 0 changes)"


# -------------------------------------------------------------------------------------------- analyses
def _cli_json(*args: object) -> dict:
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _without_run_details(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("timings", "versions")}


def test_every_analysis_returns_its_typed_result_with_the_clis_numbers(tiny_file, tmp_path):
    f = cm.frontier(tiny_file, points=3)
    assert isinstance(f, cm.Frontier) and len(f.table) == 3 and isinstance(f.plot(), Figure)
    cli = _cli_json("frontier", tiny_file, "--points", "3", "--no-write", "--json")
    assert _without_run_details(cli) == _without_run_details(json.loads(json.dumps(f.json(), default=str)))

    s = cm.stress(tiny_file)
    assert isinstance(s, cm.Stress) and len(s.table) > 0 and isinstance(s.plot(), Figure)
    cli = _cli_json("stress", tiny_file, "--no-write", "--json")
    assert _without_run_details(cli) == _without_run_details(json.loads(json.dumps(s.json(), default=str)))

    r = cm.robust(tiny_file)
    assert isinstance(r, cm.Robust) and list(r.evaluation["label"])[:2] == ["robust", "deterministic"]
    cli = _cli_json("robust", tiny_file, "--no-write", "--json")
    assert _without_run_details(cli) == _without_run_details(json.loads(json.dumps(r.json(), default=str)))

    w = cm.worstcase(tiny_file)
    assert isinstance(w, cm.WorstCase) and list(w.table["k"]) == [0, 1] and isinstance(w.plot(), Figure)

    e = cm.explain({"extends": str(tiny_file), "data": {"demand_scale": {"ga": 3.0}}}, minerals=["gallium"])
    assert isinstance(e, cm.Explained) and e.years["shortfall_t"].tolist() == approx([120 - 80])
    assert e.summary["explained"][0]["mineral_name"] == "gallium"

    sw = cm.sweep(tiny_file, tmp_path / "sweep", samples=3, seed=2)
    assert isinstance(sw, cm.Sweep) and len(sw.samples) == 3 and sw.summary["schema_version"] == SCHEMA_VERSION
    assert "exposure_pct" in set(sw.percentiles["metric"])

    folder = tmp_path / "solved"
    cm.solve(tiny_file).write(folder)
    c = cm.compare_runs([folder, tiny_file])
    assert isinstance(c, cm.Comparison) and c.summary["schema_version"] == SCHEMA_VERSION
    assert isinstance(c.plot(), Figure)
    report = cm.make_report(folder, ["md"])
    assert (report / "report.md").is_file()


# ------------------------------------------------------------------------------------- CLI consistency
COMMANDS = {
    "solve": ["solve", "{tiny}", "--out", "{out}"],
    "validate": ["validate", "{tiny}"],
    "data": ["data", "--inputs", "{inputs}"],
    "frontier": ["frontier", "{tiny}", "--points", "2", "--out", "{out}"],
    "explain": ["explain", "{tiny}", "--mineral", "gallium"],
    "stress": ["stress", "{tiny}", "--named-only", "--out", "{out}"],
    "sweep": ["sweep", "{tiny}", "--samples", "2", "--out", "{out}"],
    "robust": ["robust", "{tiny}", "--scenarios", "2", "--evaluation", "2", "--out", "{out}"],
    "worstcase": ["worstcase", "{tiny}", "--k", "1", "--out", "{out}"],
    "compare": ["compare", "{solved}", "{tiny}"],
    "report": ["report", "{solved}", "--format", "md", "--out", "{out}"],
    "sensitivity": ["sensitivity", "{tiny}", "--out", "{out}"],
    "calibrate": ["calibrate", "baseline", "--rounds", "1", "--out", "{out}"],
}


def test_every_command_has_json_and_every_summary_its_schema_version(tiny_file, tmp_path):
    assert set(COMMANDS) == set(main.commands), "a new command needs a --json case here"
    solved = tmp_path / "solved"
    assert invoke("solve", tiny_file, "--out", solved).exit_code == 0
    for name, template in COMMANDS.items():
        out = tmp_path / name
        args = [a.format(tiny=tiny_file, out=out, inputs=tiny_file.parent / "inputs", solved=solved)
                for a in template]
        r = invoke(*args, "--json")
        assert r.exit_code == 0, (name, r.output)
        printed = json.loads(r.stdout)
        assert printed["schema_version"] == SCHEMA_VERSION, name
        if (out / "summary.json").is_file():
            assert json.loads((out / "summary.json").read_text())["schema_version"] == SCHEMA_VERSION, name


def _as_version_one(folder: Path) -> None:
    summary = json.loads((folder / "summary.json").read_text())
    for key in ("schema_version", "policies", "solver_checks"):
        summary.pop(key)
    summary["shortfall"].pop("value_pv_usd")
    (folder / "summary.json").write_text(json.dumps(summary))
    (folder / "policies.csv").unlink()


def test_report_and_compare_read_version_one_and_refuse_a_newer_version(tiny_file, tmp_path):
    old = tmp_path / "old"
    assert invoke("solve", tiny_file, "--out", old).exit_code == 0
    _as_version_one(old)
    r = invoke("report", old, "--format", "md", "--out", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    r = invoke("compare", old, tiny_file)
    assert r.exit_code == 0, r.output
    summary = json.loads((old / "summary.json").read_text())
    summary["schema_version"] = SCHEMA_VERSION + 1
    (old / "summary.json").write_text(json.dumps(summary))
    for args in (("report", old, "--out", tmp_path / "rep2"), ("compare", old, tiny_file)):
        r = invoke(*args)
        assert r.exit_code == 2
        assert r.stderr == (f"Error: {old / 'summary.json'}: results schema version {SCHEMA_VERSION + 1}; this "
                            f"critmin reads versions 1 to {SCHEMA_VERSION} (a newer critmin wrote the folder: "
                            f"upgrade critmin, or run the command again with this one)\n")


def test_compare_the_same_run_twice_keeps_both_columns(tiny_file):
    printed = _cli_json("compare", tiny_file, tiny_file, "--json")
    assert [r["label"] for r in printed["runs"]] == [str(tiny_file), f"{tiny_file} (2)"]
    assert all(len(r["values"]) == 2 for r in printed["rows"])
    overall = next(r for r in printed["rows"] if r["key"] == "dependence.exposure.overall_pct")["values"]
    # budget 1.5 x 40 t x USD 100 = 6,000: Germany 20 t (3,000) and Japan 10 t (2,000) leave 1,000 for 10 t of
    # China's, 10 of 40 t
    assert overall[str(tiny_file)] == overall[f"{tiny_file} (2)"] == approx(25.0)


def test_mineral_names_on_the_command_line(tiny_file, tmp_path):
    by_name = _cli_json("frontier", tiny_file, "--mineral", "Gallium", "--points", "2", "--no-write", "--json")
    by_code = _cli_json("frontier", tiny_file, "--mineral", "ga", "--points", "2", "--no-write", "--json")
    assert by_name["frontier"] == by_code["frontier"] and by_name["targets"] == ["ga"]
    r = invoke("frontier", tiny_file, "--mineral", "gallium", "--points", "2", "--out", tmp_path / "f")
    assert r.exit_code == 0 and (tmp_path / "f" / "frontier.csv").is_file()
    r = invoke("explain", tiny_file, "--mineral", "zinc")
    assert r.exit_code == 2
    assert "--mineral: 'zinc' is not modelled in scenario 'tiny'; expected one of ga (gallium)" in r.stderr


@pytest.mark.parametrize(("command", "target"), [
    ("frontier", "engine.analysis.frontier_run.run_frontier"),
    ("explain", "engine.analysis.explain.explain"),
    ("stress", "engine.analysis.stress.stress"),
    ("robust", "engine.analysis.robust.robust"),
    ("worstcase", "engine.analysis.worstcase.worstcase"),
])
def test_ctrl_c_exits_1_in_one_line_and_writes_nothing(tiny_file, tmp_path, monkeypatch, command, target):
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(module + "." + name, interrupted)
    extra = [] if command == "explain" else ["--out", tmp_path / "out"]
    r = invoke(command, tiny_file, *extra)
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr.strip().splitlines()[-1] == "Interrupted; no results folder was written."
    assert list(tmp_path.iterdir()) == []


def test_data_prints_sources_whole():
    r = invoke("data", "--sources")
    assert r.exit_code == 0
    line = next(x for x in r.stdout.splitlines() if "usgs-mcs25-ni-price" in x)
    assert "Mineral Commodity Summaries 2025, Nickel (2025); p. 124, Salient Statistics, LME cash price, 2024e" in line
    assert line.endswith(": 17,000 USD per metric ton.")
