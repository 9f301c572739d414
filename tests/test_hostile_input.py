"""Careless and hostile input, class by class, on every command: exit 2, the exact message, nothing written and
nothing of the user's removed.

Classes: 1 folders (--force, scenario names, outputs over inputs), 2 YAML beyond plain data, 3 numbers that are
not numbers, 4 silent acceptance, 5 messages, 6 order of checks and leftovers.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import main
from engine.errors import InputError
from engine.inputs.scenario import load_scenario
from engine.outputs.files import MARKER, OWNER, clean_stale, write_folder_atomically, written_by_critmin

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "inputs"
SHIPPED = ", ".join(p.stem for p in sorted((ROOT / "models").glob("*.yaml")))

# Each command that reads a scenario, with arguments that make it write only under OUT (a placeholder).
SCENARIO_COMMANDS = {
    "solve": ["solve", "{M}", "--out", "{OUT}"],
    "validate": ["validate", "{M}"],
    "frontier": ["frontier", "{M}", "--points", "2", "--out", "{OUT}"],
    "explain": ["explain", "{M}"],
    "compare": ["compare", "{M}", "baseline"],
    "stress": ["stress", "{M}", "--named-only", "--out", "{OUT}"],
    "sweep": ["sweep", "{M}", "--samples", "2", "--out", "{OUT}"],
    "robust": ["robust", "{M}", "--scenarios", "2", "--evaluation", "2", "--out", "{OUT}"],
    "worstcase": ["worstcase", "{M}", "--k", "1", "--out", "{OUT}"],
    "sensitivity": ["sensitivity", "{M}", "--out", "{OUT}"],
    "calibrate": ["calibrate", "{M}", "--out", "{OUT}"],
}
WRITING = ["solve", "frontier", "stress", "sweep", "robust", "worstcase", "sensitivity", "calibrate"]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes: equal snapshots, nothing written or removed."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_refused(tmp_path: Path, command: str, model: object, expected: str) -> None:
    """``critmin <command> MODEL``: exit 2, exactly ``Error: <expected>``, and tmp_path unchanged."""
    before = snapshot(tmp_path)
    args = [str(a).replace("{M}", str(model)).replace("{OUT}", str(tmp_path / "out"))
            for a in SCENARIO_COMMANDS[command]]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, f"{command}: exit {r.exit_code}\n{r.output}"
    assert r.stdout == ""
    assert r.stderr == f"Error: {expected}\n", f"{command}:\n{r.stderr}"
    assert snapshot(tmp_path) == before, f"{command} wrote or removed something"
    assert not (tmp_path / "out").exists()


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------- 1. --force, names, outputs over inputs
def users_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my_project"
    folder.mkdir()
    (folder / "s.yaml").write_text("extends: baseline\n", encoding="utf-8")
    (folder / "notes.txt").write_text("my notes\n", encoding="utf-8")
    return folder


FORCE_REFUSAL = ("{f}: --force replaces only a folder critmin wrote, and it was not written by critmin (it holds "
                 "notes.txt, s.yaml); choose another --out, or move or delete that folder yourself first")


@pytest.mark.parametrize("command", WRITING)
def test_force_refuses_a_folder_critmin_did_not_write(tmp_path, command):
    folder = users_folder(tmp_path)
    args = [a.replace("{M}", "baseline").replace("{OUT}", str(folder)) for a in SCENARIO_COMMANDS[command]]
    before = snapshot(tmp_path)
    r = invoke(*args, "--force")
    assert r.exit_code == 2, r.output
    assert r.stderr == f"Error: {FORCE_REFUSAL.format(f=folder)}\n"
    assert snapshot(tmp_path) == before


def test_report_force_refuses_a_folder_critmin_did_not_write(tmp_path, results_folder):
    folder = users_folder(tmp_path)
    before = snapshot(tmp_path)
    r = invoke("report", results_folder, "--out", folder, "--force")
    assert r.exit_code == 2
    assert r.stderr == f"Error: {FORCE_REFUSAL.format(f=folder)}\n"
    assert snapshot(tmp_path) == before


def test_compare_force_replaces_only_its_own_table(tmp_path, results_folder):
    mine = tmp_path / "mine.csv"
    mine.write_text("a,b\n1,2\n", encoding="utf-8")
    r = invoke("compare", results_folder, results_folder, "--out", mine, "--force")
    assert r.exit_code == 2
    assert r.stderr == (f"Error: --out {mine}: --force replaces only a comparison table critmin wrote (its header "
                        f"starts 'key,section,metric,unit'), and this file is not one; choose another file, or "
                        f"move or delete it yourself first\n")
    assert mine.read_text(encoding="utf-8") == "a,b\n1,2\n"


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory) -> Path:
    """A small results folder as 'critmin solve' writes it (the tiny two-mineral dataset keeps it quick)."""
    folder = tmp_path_factory.mktemp("solved") / "base"
    r = invoke("solve", "baseline", "--out", folder)
    assert r.exit_code == 0, r.output
    return folder


def test_written_by_critmin_marker_and_folders_from_before_the_marker(tmp_path, results_folder):
    assert written_by_critmin(results_folder) and (results_folder / MARKER).is_file()
    legacy = tmp_path / "legacy"
    shutil.copytree(results_folder, legacy)
    (legacy / MARKER).unlink()
    assert written_by_critmin(legacy), "summary.json, tables and scenario.yaml only: critmin's"
    (legacy / "notes.txt").write_text("mine", encoding="utf-8")
    assert not written_by_critmin(legacy), "one foreign file and it is the user's"
    (legacy / "notes.txt").unlink()
    (legacy / "summary.json").write_text("[1, 2]", encoding="utf-8")
    assert not written_by_critmin(legacy), "a summary.json critmin did not write"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert written_by_critmin(empty), "an empty folder holds nothing to lose"


NAME_RULE = ("letters, digits, spaces, '-', '_' and '.', starting with a letter or digit, at most 100 characters "
             "(it names the results folder)")


@pytest.mark.parametrize("command", list(SCENARIO_COMMANDS))
@pytest.mark.parametrize(("name", "shown"), [
    ("../escaped", "'../escaped' is not a safe scenario name; use "),
    ("/tmp/abs", "'/tmp/abs' is not a safe scenario name; use "),
    ("''", "a scenario name cannot be empty; use "),
])
def test_scenario_name_is_one_safe_path_component(tmp_path, monkeypatch, command, name, shown):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, f"extends: baseline\nname: {name}\n")
    tail = "; got ''" if name == "''" else ""  # the value is quoted in the message already
    run_refused(tmp_path, command, path, f"Scenario {path} is not valid:\n  {path}, line 2, name: {shown}"
                                         f"{NAME_RULE}{tail}")
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("command", WRITING)
def test_output_folder_is_never_a_folder_holding_an_input(tmp_path, command):
    folder = users_folder(tmp_path)
    model = folder / "s.yaml"
    args = [a.replace("{M}", str(model)).replace("{OUT}", str(folder)) for a in SCENARIO_COMMANDS[command]]
    before = snapshot(tmp_path)
    r = invoke(*args, "--force")
    assert r.exit_code == 2
    assert r.stderr == (f"Error: --out {folder}: contains an input of this run ({model}); critmin never writes "
                        f"over its inputs; choose another --out\n")
    assert snapshot(tmp_path) == before


def test_report_never_replaces_the_results_it_reads(tmp_path, results_folder):
    copy = tmp_path / "res"
    shutil.copytree(results_folder, copy)
    before = snapshot(tmp_path)
    for out, kind in ((copy, "is"), (tmp_path, "contains")):
        r = invoke("report", copy, "--out", out, "--force")
        assert r.exit_code == 2
        assert r.stderr == (f"Error: --out {out}: {kind} an input of this run ({copy}); critmin never writes over "
                            f"its inputs; choose another --out\n")
    assert snapshot(tmp_path) == before
    r = invoke("report", copy, "--format", "parquet")  # its default subfolder is fine
    assert r.exit_code == 0, r.output
    assert (copy / "report" / MARKER).is_file()


def test_compare_never_writes_into_a_results_folder_it_reads(tmp_path, results_folder):
    target = results_folder / "cmp.csv"
    r = invoke("compare", results_folder, results_folder, "--out", target)
    assert r.exit_code == 2
    assert r.stderr == (f"Error: --out {target}: lies inside the results folder {results_folder}, an input of "
                        f"this comparison; choose a file outside it\n")
    assert not target.exists()


# --------------------------------------------------------------------- 2. YAML beyond plain data
PLAIN = ("is not allowed; a scenario holds plain data only (mappings, lists, text, numbers, true/false), never tags "
         "such as !!python/object or !!str; remove the tag")
BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)))
YAML_CASES = {
    "python_object_apply": ("extends: baseline\nbuyer: !!python/object/apply:os.system ['touch pwned']\n",
                            "{p}, line 2: the tag '!!python/object/apply:os.system' " + PLAIN),
    "python_name": ("extends: baseline\nbuyer: !!python/name:os.system\n",
                    "{p}, line 2: the tag '!!python/name:os.system' " + PLAIN),
    "python_object": ("extends: baseline\nobjective: !!python/object:engine.schema.Objective {minimise: cost}\n",
                      "{p}, line 2: the tag '!!python/object:engine.schema.Objective' " + PLAIN),
    "scalar_tag": ("extends: baseline\nstrict: !!bool 'yes'\n", "{p}, line 2: the tag '!!bool' " + PLAIN),
    "local_tag": ("extends: baseline\nbuyer: !country USA\n", "{p}, line 2: the tag '!country' " + PLAIN),
    "merge_key": ("extends: baseline\nrobust: &r {scenarios: 3}\nfinance:\n  <<: *r\n",
                  "{p}, line 4: merge keys ('<<:') are not supported; write the keys out in full, or use 'extends:' "
                  "to inherit from another scenario"),
    "billion_laughs": (BOMB, "{p}, line 6: aliases (*name) expand this document to more than 200,000 values; a "
                             "scenario needs a few hundred; write the values out or use 'extends:' to share them"),
    "deep": ("extends: baseline\ndescription: " + "[" * 2000 + "]" * 2000 + "\n",
             "{p}, line 2: nested more than 32 levels deep; a scenario needs at most 5 (for example "
             "policies[0].share.2030)"),
    "recursive": ("extends: baseline\ndescription: &d [*d]\n",
                  "{p}, line 2: an alias refers to a value that contains it; a scenario cannot be recursive"),
    "comment_only": ("# nothing here yet\n", "{p}: the scenario is empty (no keys); write at least 'extends: "
                                             "baseline' and the keys you change, or a full scenario (buyer, "
                                             "horizon, objective, policies, …)"),
    "null": ("null\n", "{p}: the scenario is empty (no keys); write at least 'extends: baseline' and the keys you "
                       "change, or a full scenario (buyer, horizon, objective, policies, …)"),
    "empty_mapping": ("{}\n", "{p}: the scenario is empty ({{}}); write at least 'extends: baseline' and the keys "
                              "you change, or a full scenario (buyer, horizon, objective, policies, …)"),
}


@pytest.mark.parametrize("command", list(SCENARIO_COMMANDS))
@pytest.mark.parametrize("case", list(YAML_CASES))
def test_yaml_beyond_plain_data_is_refused(tmp_path, monkeypatch, command, case):
    monkeypatch.chdir(tmp_path)
    text, expected = YAML_CASES[case]
    path = write(tmp_path, text)
    run_refused(tmp_path, command, path, expected.format(p=path))
    assert not (tmp_path / "pwned").exists()


def test_extends_alone_is_a_valid_scenario(tmp_path):
    path = write(tmp_path, "extends: baseline\n")
    r = invoke("validate", path)
    assert r.exit_code == 0, r.output


def test_billion_laughs_fails_within_a_second_and_100_mb(tmp_path):
    path = write(tmp_path, BOMB)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(InputError, match="aliases"):
        load_scenario(path)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert seconds < 1.0, seconds
    assert peak < 100e6, peak
    assert grown_kb < 100_000, grown_kb


def test_billion_laughs_on_the_command_line_in_a_fresh_process(tmp_path):
    """The whole program, a fresh interpreter: exit 2 within 100 MB more than reading a plain scenario."""
    bomb, plain = write(tmp_path, BOMB, "bomb.yaml"), write(tmp_path, "# empty\n", "plain.yaml")
    code = ("import resource, sys\nfrom engine.cli import main\ntry:\n    main(['validate', sys.argv[1]])\n"
            "except SystemExit as e:\n    print(e.code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    peaks = {}
    for path in (bomb, plain):
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
        exit_code, peak_kb = done.stdout.split()
        assert exit_code == "2", done.stderr
        peaks[path.name] = int(peak_kb)
    assert peaks["bomb.yaml"] - peaks["plain.yaml"] < 100_000, peaks


# --------------------------------------------------------------------- 3. numbers that are not numbers
NUMBER_CASES = {
    "budget_nan": ("objective: {budget: .nan}", "objective.budget: got nan; expected a premium such as '+2%', or an "
                   "absolute present value in USD, a finite number above 0 and up to 1e15"),
    "budget_inf": ("objective: {budget: .inf}", "objective.budget: got inf; expected a premium such as '+2%', or an "
                   "absolute present value in USD, a finite number above 0 and up to 1e15"),
    "tariff_1e308": ("policies: [{type: tariff, name: t, origin: CHN, per_tonne_usd: 1.0e+308}]",
                     "policies[0].per_tonne_usd: got 1e+308; expected a finite number from 0 to 1e9 USD/t"),
    "weight_inf": ("objective: {weights: {ga: .inf}}",
                   "objective.weights.ga: got inf; expected a finite number from 0 to 1000 (a weight)"),
    "stockpile_inf": ("stockpile: {ga: {capacity_t: .inf}}",
                      "stockpile.ga.capacity_t: got inf; expected a finite number from 0 to 1e9 t"),
    "shock_share_nan": ("shocks: [{name: s, country: CHN, share: .nan}]",
                        "shocks[0].share: got nan; expected a finite number from 0 to 1 (a share, 0-1)"),
    "sd_huge": ("uncertainty: {demand: {all: {dist: normal, mean: 1.0, sd: 1.0e+300}}}",
                "uncertainty.demand.all.sd: got 1e+300; expected a finite number from 0 to 100 (a multiplier, or "
                "its log for lognormal)"),
    "quota_negative": ("policies: [{type: export_ban, name: q, exporter: CHN, quota_t: -.inf}]",
                       "policies[0].quota_t: got -inf; expected a finite number from 0 to 1e9 t per year"),
    "seed_negative": ("robust: {seed: -1}", "robust.seed: got -1; expected a finite number from 0 to 9e18 "
                      "(a seed)"),
    "year_far": ("policies: [{type: tariff, name: t, origin: CHN, years: 99999}]",
                 "policies[0].years: year 99999 is outside 1900-2200; got 99999"),
}


@pytest.mark.parametrize("command", list(SCENARIO_COMMANDS))
@pytest.mark.parametrize("case", list(NUMBER_CASES))
def test_numbers_must_be_finite_and_in_range(tmp_path, monkeypatch, command, case):
    monkeypatch.chdir(tmp_path)
    body, expected = NUMBER_CASES[case]
    path = write(tmp_path, f"extends: baseline\n{body}\n")
    run_refused(tmp_path, command, path, f"Scenario {path} is not valid:\n  {path}, line 2, {expected}")


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder)
    write(tmp_path, "extends: baseline\ndata: {inputs: inputs}\n", "on_copy.yaml")
    return folder


def set_cell(path: Path, key: str, column: str, value: str) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    [index] = [i for i, r in enumerate(rows) if r[0] == key]
    rows[index][header.index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return index + 1


CSV_CASES = {
    "capacity_inf": ("capacity", "CHL-LI-ALB", "capacity_t", "inf",
                     "'inf' is not a finite number; expected a value in [0, 1e+09] t/yr"),
    "capacity_nan": ("capacity", "CHL-LI-ALB", "capacity_t", "nan",
                     "'nan' is not a finite number; expected a value in [0, 1e+09] t/yr"),
    "cost_1e308": ("capacity", "CHL-LI-ALB", "unit_cost_usd_per_t", "1e308",
                   "1e+308 is above 1e+09; expected a value in [0, 1e+09] USD/t"),
    "reference_price_zero": ("minerals", "li", "reference_price_usd_per_t", "0",
                             "0 is not above 0; expected a value in (0, 1e+09] USD/t"),
}


@pytest.mark.parametrize("command", ["data", "validate", "solve"])
@pytest.mark.parametrize("case", list(CSV_CASES))
def test_csv_numbers_must_be_finite_and_in_range(tmp_path, monkeypatch, data_copy, command, case):
    monkeypatch.chdir(tmp_path)
    table, key, column, value, expected = CSV_CASES[case]
    line = set_cell(data_copy / f"{table}.csv", key, column, value)
    before = snapshot(tmp_path)
    args = ["data", "--inputs", data_copy] if command == "data" else [command, tmp_path / "on_copy.yaml"]
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert r.stderr == (f"Error: The dataset in {data_copy} has problems:\n  {data_copy / f'{table}.csv'}, line "
                        f"{line}, column {column}: {expected}\n")
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------- 4. silent acceptance, decided
SILENT_ERRORS = {
    "minerals_empty": ("minerals: []", "Scenario {p} is not valid:\n  {p}, line 2, minerals: an empty list; write "
                       "'all' or leave the key out to mean all, or list at least one name"),
    "policy_minerals_empty": ("policies: [{type: tariff, name: t, origin: CHN, minerals: []}]",
                              "Scenario {p} is not valid:\n  {p}, line 2, policies[0].minerals: an empty list; "
                              "write 'all' or leave the key out to mean all, or list at least one name"),
    "weights_all_zero": ("objective: {weights: {li: 0, ni: 0, co: 0, ga: 0, ge: 0}}",
                         "Scenario 's' is not valid:\n  {p}, line 2, objective.weights: every modelled "
                         "mineral has weight 0, so dependence would count for nothing; give at least one mineral a "
                         "weight above 0 (an unlisted mineral weighs 1)"),
    "base_year_negative": ("finance: {base_year: -5}", "Scenario {p} is not valid:\n  {p}, line 2, "
                           "finance.base_year: got -5; expected a finite number from 1900 to 2200 (a year)"),
    "cap_on_world": ("policies: [{type: country_cap, name: c, max_share: 0.5, countries: [ROW]}]",
                     "Scenario 's' is not valid:\n  {p}, line 2, policies[0].countries[0]: 'ROW' has region "
                     "'World' in countries.csv (an aggregate of many countries), which country caps never apply "
                     "to; list single countries"),
}


@pytest.mark.parametrize("command", list(SCENARIO_COMMANDS))
@pytest.mark.parametrize("case", list(SILENT_ERRORS))
def test_silent_acceptance_is_now_an_error(tmp_path, monkeypatch, command, case):
    monkeypatch.chdir(tmp_path)
    body, expected = SILENT_ERRORS[case]
    path = write(tmp_path, f"extends: baseline\n{body}\n")
    run_refused(tmp_path, command, path, expected.format(p=path))


def test_silent_acceptance_is_now_a_documented_warning(tmp_path):
    path = write(tmp_path, "extends: baseline\nhorizon: {start: 2025, end: 2026}\n"
                           "policies: [{type: country_cap, name: cap, max_share: 0.65, years: 2030+}]\n")
    r = invoke("validate", path)
    assert r.exit_code == 0, r.output
    warnings = [line.strip() for line in r.stdout.splitlines() if line.strip().startswith("Warning:")]
    baseline = ROOT / "models" / "baseline.yaml"
    line = baseline.read_text(encoding="utf-8").splitlines().index("    years: 2027+") + 1
    assert warnings == [
        f"Warning: {path}, line 3, policies[0].years: policy 'cap' covers no year of the horizon 2025-2026 "
        f"(2030+); it has no effect",
        f"Warning: {baseline}, line {line}, shocks[0].years: shock 'china_ga_ge_ban' covers no year of the horizon "
        f"2025-2026 (2027+); it never happens",
        "Warning: country_cap 'cap' does not cap ROW (region 'World' in countries.csv: an aggregate of many "
        "countries, exempt from country caps)",
    ]


# --------------------------------------------------------------------- 5. messages that help
UNKNOWN_KEYS = {
    "stockpile": ("stockpile: {ga: {capacity_t: 5, max_draw: 1}}",
                  "stockpile.ga.max_draw: unknown key 'max_draw' (did you mean 'max_draw_t'?); valid keys here: "
                  "capacity_t, holding_usd_per_t_yr, initial_t, max_draw_t, max_purchase_t"),
    "shocks": ("shocks: [{name: s, country: CHN, probabilty: 0.5}]",
               "shocks[0].probabilty: unknown key 'probabilty' (did you mean 'probability'?); valid keys here: by, "
               "country, description, minerals, name, owner_threshold, probability, share, years"),
    "distribution": ("uncertainty: {cost: {ga: {dist: lognormal, mean: 0.0, sd: 0.2, sdev: 1}}}",
                     "uncertainty.cost.ga.sdev: unknown key 'sdev' (did you mean 'sd'?); valid keys here: dist, "
                     "high, low, mean, mode, sd"),
}


@pytest.mark.parametrize("command", list(SCENARIO_COMMANDS))
@pytest.mark.parametrize("case", list(UNKNOWN_KEYS))
def test_unknown_keys_list_the_valid_ones_in_every_section(tmp_path, monkeypatch, command, case):
    monkeypatch.chdir(tmp_path)
    body, expected = UNKNOWN_KEYS[case]
    path = write(tmp_path, f"extends: baseline\n{body}\n")
    run_refused(tmp_path, command, path, f"Scenario {path} is not valid:\n  {path}, line 2, {expected}")


@pytest.mark.parametrize("command", list(SCENARIO_COMMANDS))
def test_a_folder_given_as_model_says_what_it_is(tmp_path, monkeypatch, command, results_folder):
    monkeypatch.chdir(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    if command == "compare":  # compare takes results folders too, and says so
        expected = (f"{plain}: neither a results folder nor a scenario; give a folder written by 'critmin solve' "
                    f"(it holds summary.json), a path to a scenario .yaml file, or one of the shipped scenarios: "
                    f"{SHIPPED}")
    else:
        expected = (f"{plain}: is a folder, not a scenario; give a path to a scenario .yaml file or one of the "
                    f"shipped scenarios: {SHIPPED}")
    run_refused(tmp_path, command, plain, expected)
    if command != "compare":  # compare reads results folders
        run_refused(tmp_path, command, results_folder,
                    f"{results_folder}: is a results folder (read it with 'critmin report' or 'critmin compare'), "
                    f"not a scenario; give a path to a scenario .yaml file or one of the shipped scenarios: "
                    f"{SHIPPED}")


SUMMARIES = {
    "broken": ('{"status": "optimal",', "not valid JSON (Expecting property name enclosed in double quotes: line 1 "
                                        "column 22 (char 21)); expected the summary.json written by 'critmin "
                                        "solve' (solve the scenario again to rewrite the folder)"),
    "empty": ("", "file is empty; expected the summary.json written by 'critmin solve' (solve the scenario again to "
                  "rewrite the folder)"),
    "list": ("[1, 2]", "holds a JSON list; expected the object (with status, scenario, dependence, cost, …) "
                       "written by 'critmin solve'"),
    "foreign": ('{"hello": 1}', "not a summary written by 'critmin solve' (it needs 'status' and a 'scenario' "
                                "section); give a folder written by 'critmin solve'"),
}


@pytest.mark.parametrize("command", ["report", "compare"])
@pytest.mark.parametrize("case", list(SUMMARIES))
def test_a_broken_summary_json_is_explained(tmp_path, command, case):
    folder = tmp_path / "res"
    folder.mkdir()
    text, expected = SUMMARIES[case]
    (folder / "summary.json").write_text(text, encoding="utf-8")
    before = snapshot(tmp_path)
    r = invoke("report", folder) if command == "report" else invoke("compare", folder, folder)
    assert r.exit_code == 2, r.output
    assert r.stderr == f"Error: {folder / 'summary.json'}: {expected}\n"
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [*WRITING, "report", "compare"])
def test_out_pointing_at_an_existing_file(tmp_path, command, results_folder):
    target = tmp_path / ("table.csv" if command == "compare" else "file")
    target.write_text("keep", encoding="utf-8")
    if command == "report":
        args = ["report", results_folder, "--out", target, "--force"]
    elif command == "compare":
        args = ["compare", results_folder, results_folder, "--out", target]
    else:
        args = [a.replace("{M}", "baseline").replace("{OUT}", str(target)) for a in SCENARIO_COMMANDS[command]]
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    expected = (f"--out {target}: exists and is not a comparison table critmin wrote (its header starts "
                f"'key,section,metric,unit'); choose another file, or move or delete it yourself first"
                if command == "compare" else f"{target}: exists and is not a folder; choose another --out")
    assert r.stderr == f"Error: {expected}\n"
    assert target.read_text(encoding="utf-8") == "keep"


# --------------------------------------------------------------------- 6. order of checks and leftovers
@pytest.mark.parametrize(("option", "expected"), [
    (["--solver", "nosuch"], "unknown solver 'nosuch'"),
    (["--scheduler", "nonsense"], None),
])
def test_sweep_checks_solver_and_scheduler_before_writing(tmp_path, option, expected):
    out = tmp_path / "sw"
    messages = []
    for _ in range(2):  # the same command twice: the same refusal, never "exists already"
        r = invoke("sweep", "baseline", "--samples", "2", "--out", out, *option)
        assert r.exit_code == 2, r.output
        messages.append(r.stderr)
        assert not out.exists()
        assert list(tmp_path.iterdir()) == []
    assert messages[0] == messages[1]
    if expected is not None:
        assert messages[0].startswith(f"Error: {expected}")
    else:
        assert messages[0] in ("Error: --scheduler needs Dask: pip install 'critmin-engine[distributed]'\n",
                               "Error: --scheduler nonsense: expected an address such as tcp://HOST:8786\n")


def leftover(parent: Path, name: str, pid: int | None, host: str | None = None) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "half.csv").write_text("x", encoding="utf-8")
    if pid is not None:
        (folder / OWNER).write_text(f"{pid} {host or socket.gethostname()}\n", encoding="utf-8")
    return folder


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporary_folders_are_cleaned_and_live_or_foreign_ones_kept(tmp_path):
    dead = dead_pid()
    stale_tmp = leftover(tmp_path, ".res.abc123.tmp", dead)
    stale_old = leftover(tmp_path, ".other.def456.old", dead)
    live = leftover(tmp_path, ".res.live01.tmp", os.getppid())  # a concurrent run: its process is alive
    elsewhere = leftover(tmp_path, ".res.host01.tmp", dead, host="another-host")  # cannot tell: keep
    unrecorded = leftover(tmp_path, ".res.user01.tmp", None)  # not known to be critmin's: keep
    users = leftover(tmp_path, "res.tmp", dead)  # not hidden: not a name critmin uses
    write_folder_atomically(tmp_path / "res", lambda tmp: (tmp / "a.csv").write_text("a\n"))
    assert not stale_tmp.exists() and not stale_old.exists()
    assert live.exists() and elsewhere.exists() and unrecorded.exists() and users.exists()
    assert (tmp_path / "res" / MARKER).is_file() and not (tmp_path / "res" / OWNER).exists()
    assert clean_stale(tmp_path) == []


def test_a_killed_write_leaves_a_temporary_folder_that_names_its_process(tmp_path):
    code = ("import os, sys\nfrom pathlib import Path\nfrom engine.outputs.files import write_folder_atomically\n"
            "write_folder_atomically(Path(sys.argv[1]), lambda tmp: os._exit(9))\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "res")])
    assert child.wait(timeout=60) == 9
    [tmp] = [p for p in tmp_path.iterdir() if p.name.startswith(".res.") and p.name.endswith(".tmp")]
    assert (tmp / OWNER).read_text(encoding="utf-8") == f"{child.pid} {socket.gethostname()}\n"
    write_folder_atomically(tmp_path / "res", lambda t: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    assert json.dumps(sorted(p.name for p in (tmp_path / "res").iterdir())) == json.dumps([MARKER])


@pytest.mark.parametrize(("args", "expected"), [
    (["solve", "--time-limit", "inf", "--no-write"], "Invalid value for '--time-limit': 'inf' is not a finite number."),
    (["solve", "--time-limit", "nan", "--no-write"], "Invalid value for '--time-limit': 'nan' is not a finite number."),
    (["robust", "--alpha", "nan", "--no-write"], "Invalid value for '--alpha': 'nan' is not a finite number."),
    (["sweep", "--seed", "-1", "--samples", "1"], "Invalid value for '--seed': -1 is not in the range "
                                                   "0<=x<=9223372036854775807."),
    (["frontier", "--caps", "nan,20", "--no-write"], "--caps: nan is outside [0, 100]; caps are percentages of demand"),
])
def test_command_line_numbers_must_be_finite_and_in_range(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert r.stderr.splitlines()[-1] == f"Error: {expected}"
    assert list(tmp_path.iterdir()) == []


def test_a_spare_left_between_the_two_renames_is_put_back(tmp_path):
    spare = leftover(tmp_path, ".res.xyz789.old", dead_pid())
    (spare / "res").mkdir()
    (spare / "res" / "summary.json").write_text('{"scenario": {}}', encoding="utf-8")
    write_folder_atomically(tmp_path / "other", lambda tmp: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other", "res"]
    assert (tmp_path / "res" / "summary.json").read_text(encoding="utf-8") == '{"scenario": {}}'
