"""Issue 26: every value that filters selects something or says so, and every refusal speaks of what was typed.

1. A command-line option that selects nothing is an error (exit 2) naming the option, the value and what was
   expected; a scenario value that selects nothing is a one-line warning naming its YAML path, shown by ``validate``
   and ``solve`` and on stderr by every analysis command.
2. A folder critmin did not write is refused by every command that writes one, with a message that names the flag
   given (``--force``, ``--resume``) or none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import main

from conftest import write_dataset

BASELINE_HORIZON = "the horizon 2025-2035 of scenario 'baseline'; expected a year from 2025 to 2035"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny dataset: gallium in CHN, DEU and JPN; germanium in CHN and DEU; nothing in RUS or USA."""
    return write_dataset(tmp_path_factory.mktemp("selection") / "inputs")


def tiny(tmp_path: Path, inputs: Path, body: str = "") -> Path:
    """A one-year gallium scenario on the tiny dataset with ``body`` appended from line 7 (an indented body goes
    on with the ``data`` mapping)."""
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nhorizon: {{start: 2025, end: 2025}}\nminerals: [ga]\nfinance: {{discount_rate: 0.0}}\n"
                    f"data:\n  inputs: {inputs}\n{body}", encoding="utf-8")
    return path


# ------------------------------------------------------------------------ 1. options that select nothing: errors
def shockless(tmp_path: Path) -> Path:
    path = tmp_path / "none.yaml"
    path.write_text("extends: baseline\nname: none\nshocks: []\n", encoding="utf-8")
    return path


OPTION_ERRORS = {
    "explain_year": (["explain", "baseline", "--year", 1800], f"--year: 1800 is outside {BASELINE_HORIZON}"),
    "explain_one_year_of_two": (["explain", "baseline", "--year", 2030, "--year", 2090],
                                f"--year: 2090 is outside {BASELINE_HORIZON}"),
    "explain_mineral": (["explain", "baseline", "--mineral", "zinc"],
                        "--mineral: 'zinc' is not modelled in scenario 'baseline'; expected one of co (cobalt), ga "
                        "(gallium), ge (germanium), li (lithium), ni (nickel)"),
    "frontier_mineral": (["frontier", "baseline", "--mineral", "lithum", "--no-write"],
                         "--mineral: 'lithum' is not modelled in scenario 'baseline' (did you mean 'lithium'?); "
                         "expected one of co (cobalt), ga (gallium), ge (germanium), li (lithium), ni (nickel)"),
    "worstcase_from": (["worstcase", "baseline", "--from", "2036+", "--no-write"],
                       f"--from: 2036+ covers no year of {BASELINE_HORIZON}"),
    "worstcase_country": (["worstcase", "baseline", "--country", "ARG", "--mineral", "cobalt", "--no-write"],
                          "--country: 'ARG' has no capacity of co in the dataset (refining, equity or JV options), "
                          "so it selects nothing; expected one of AUS, CAN, CHN, COD, FIN, JPN, MDG, NOR, RUS, USA, "
                          "ZMB"),
    "stress_named_only": (["stress", "{none}", "--named-only", "--no-write"],
                          "--named-only: scenario 'none' has no named shocks (its 'shocks' list is empty); add "
                          "shocks to the scenario, or leave out --named-only for the N-1 shocks"),
}


@pytest.mark.parametrize("case", list(OPTION_ERRORS))
def test_an_option_that_selects_nothing_is_an_error(tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    args, message = OPTION_ERRORS[case]
    none = shockless(tmp_path)
    before = snapshot(tmp_path)
    r = invoke(*[str(a).replace("{none}", str(none)) for a in args])
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    assert r.stderr == f"Error: {message}\n"
    assert snapshot(tmp_path) == before


def test_explain_of_years_without_shortfall_says_demand_is_met_there(tiny_inputs, tmp_path):
    r = invoke("explain", tiny(tmp_path, tiny_inputs), "--year", 2025)
    assert r.exit_code == 0, r.output
    assert "gallium 2025: demand 40 t; shortfall 0 t." in r.stdout


@pytest.mark.parametrize(("body", "where", "message"), [
    ("worstcase: {start_years: 2030+}\n", "worstcase.start_years",
     "2030+ covers no year of the horizon 2025-2025 of scenario 's'; expected a year from 2025 to 2025"),
    ("worstcase:\n  country: RUS\n", "worstcase.country",
     "'RUS' has no capacity of ga in the dataset (refining, equity or JV options), so it selects nothing; expected "
     "one of CHN, DEU, JPN"),
])
def test_worstcase_settings_from_the_scenario_are_named_by_their_yaml_path(tiny_inputs, tmp_path, body, where,
                                                                            message):
    path = tiny(tmp_path, tiny_inputs, body)
    r = invoke("worstcase", path, "--no-write")
    assert r.exit_code == 2, r.output
    line = 8 if body.startswith("worstcase:\n") else 7
    assert r.stderr == f"Error: {path}, line {line}, {where}: {message}\n"


# ------------------------------------------------------------------------ 1. scenario values: warnings
NO_RUS = "RUS has no capacity of ga in the dataset (refining, equity or JV options)"
SCENARIO_WARNINGS = {
    "policy_years": ("policies: [{type: tariff, name: t, origin: CHN, ad_valorem: 0.1, years: 2030+}]",
                     "policies[0].years: policy 't' covers no year of the horizon 2025-2025 (2030+); it has no "
                     "effect"),
    "policy_minerals": ("policies: [{type: tariff, name: t, origin: CHN, ad_valorem: 0.1, minerals: [ge]}]",
                        "policies[0].minerals: policy 't' covers none of the modelled minerals (ga); it has no "
                        "effect"),
    "ban_exporter": ("policies: [{type: export_ban, name: b, exporter: RUS}]",
                     f"policies[0].exporter: policy 'b': {NO_RUS}; it has no effect"),
    "tariff_origin": ("policies: [{type: tariff, name: t, origin: [RUS, USA], ad_valorem: 0.1}]",
                      "policies[0].origin: policy 't': RUS, USA have no capacity of ga in the dataset (refining, "
                      "equity or JV options); it has no effect"),
    "cap_countries": ("policies: [{type: country_cap, name: c, max_share: 0.5, countries: [RUS]}]",
                      f"policies[0].countries: policy 'c': {NO_RUS}; it has no effect"),
    "market_access": ("policies: [{type: market_access, name: m, country: RUS}]",
                      f"policies[0].country: policy 'm': {NO_RUS}; it has no effect"),
    "shock_years": ("shocks: [{name: late, country: CHN, years: 2090+}]",
                    "shocks[0].years: shock 'late' covers no year of the horizon 2025-2025 (2090+); it never "
                    "happens"),
    "shock_minerals": ("shocks: [{name: s, country: CHN, minerals: [ge]}]",
                       "shocks[0].minerals: shock 's' covers none of the modelled minerals (ga); it never happens"),
    "shock_country": ("shocks: [{name: s, country: RUS}]", f"shocks[0].country: shock 's': {NO_RUS}; it never "
                                                           f"happens"),
    "stockpile": ("stockpile: {ge: {capacity_t: 5}}",
                  "stockpile.ge: 'ge' is not a modelled mineral (ga); this stockpile is never used"),
    "demand_scale": ("  demand_scale: {ge: 2}",
                     "data.demand_scale.ge: 'ge' is not a modelled mineral (ga); it has no effect"),
    "weights": ("objective: {weights: {ge: 2}}",
                "objective.weights.ge: 'ge' is not a modelled mineral (ga); it has no effect"),
    "uncertainty_cost": ("uncertainty: {cost: {ge: {dist: uniform, low: 0.9, high: 1.1}}}",
                         "uncertainty.cost.ge: 'ge' is not a modelled mineral (ga); it has no effect"),
    "exportable_country": ("  exportable_share: {RUS: 0.5}",
                           "data.exportable_share.RUS: no capacity of ga is located in RUS in the dataset; it has no "
                           "effect"),
    "exportable_source": ("  exportable_share: {CHN-GE: 0.5}",
                          "data.exportable_share.CHN-GE: source 'CHN-GE' refines ge, which is not modelled (ga); it "
                          "has no effect"),
    "uncertainty_capacity": ("uncertainty: {capacity: {RUS: {dist: uniform, low: 0.5, high: 1}}}",
                             "uncertainty.capacity.RUS: no capacity of ga is located in RUS in the dataset; it has "
                             "no effect"),
    "dependence_country": ("dependence: {country: RUS}",
                           f"dependence.country: the dependence country: {NO_RUS}; no tonne is attributed to it: "
                           f"its share of supply is 0 and its exposure only the unmet share"),
}


@pytest.mark.parametrize("case", list(SCENARIO_WARNINGS))
def test_a_scenario_value_that_selects_nothing_is_a_warning_naming_its_yaml_path(tiny_inputs, tmp_path, case):
    body, message = SCENARIO_WARNINGS[case]
    path = tiny(tmp_path, tiny_inputs, body + "\n")
    r = invoke("validate", path)
    assert r.exit_code == 0, r.output
    warnings = [line.strip() for line in r.stdout.splitlines() if line.strip().startswith("Warning:")]
    assert warnings == [f"Warning: {path}, line 7, {message}"]


def test_a_clean_scenario_has_no_warnings(tiny_inputs, tmp_path):
    path = tiny(tmp_path, tiny_inputs, "policies: [{type: export_ban, name: b, exporter: CHN}]\n"
                                       "shocks: [{name: s, country: DEU}]\nstockpile: {ga: {capacity_t: 5}}\n")
    r = invoke("validate", path)
    assert r.exit_code == 0, r.output
    assert "Warning" not in r.output


# Every command that reads a scenario, with arguments that stop it (exit 2) right after loading: the warning is
# printed whatever happens next.
STOPPED = {
    "explain": ["explain", "{M}", "--year", "1800"],
    "frontier": ["frontier", "{M}", "--caps", "x"],
    "stress": ["stress", "{M}", "--out", "{FILE}"],
    "sweep": ["sweep", "{M}", "--out", "{FILE}"],
    "robust": ["robust", "{M}", "--out", "{FILE}"],
    "worstcase": ["worstcase", "{M}", "--from", "2090+"],
    "sensitivity": ["sensitivity", "{M}", "--out", "{FILE}"],
    "calibrate": ["calibrate", "{M}", "--out", "{FILE}"],
}


@pytest.mark.parametrize("command", list(STOPPED))
def test_every_analysis_command_shows_the_scenarios_warnings(tiny_inputs, tmp_path, command):
    path = tiny(tmp_path, tiny_inputs, "shocks: [{name: late, country: CHN, years: 2090+}]\n")
    file = tmp_path / "file"
    file.write_text("keep", encoding="utf-8")
    r = invoke(*[a.replace("{M}", str(path)).replace("{FILE}", str(file)) for a in STOPPED[command]])
    assert r.exit_code == 2, r.output
    lines = r.stderr.splitlines()
    assert lines[0] == (f"Warning: {path}, line 7, shocks[0].years: shock 'late' covers no year of the horizon "
                        f"2025-2025 (2090+); it never happens")
    assert lines[1].startswith("Error: ") and len(lines) == 2


def test_compare_shows_the_warnings_of_the_scenarios_it_solves(tiny_inputs, tmp_path):
    path = tiny(tmp_path, tiny_inputs, "policies: [{type: export_ban, name: b, exporter: RUS}]\n")
    r = invoke("compare", path, path)
    assert r.exit_code == 0, r.output
    assert r.stderr == (f"Warning: {path}, line 7, policies[0].exporter: policy 'b': RUS has no capacity of ga in the "
                        f"dataset (refining, equity or JV options); it has no effect\n")


def test_stress_warns_of_a_named_shock_outside_the_horizon(tmp_path):
    path = tmp_path / "late.yaml"
    path.write_text("extends: baseline\nname: late\nshocks:\n  - name: late\n    country: CHN\n    years: 2090+\n",
                    encoding="utf-8")
    r = invoke("stress", path, "--named-only", "--no-write")
    assert r.exit_code == 0, r.output
    assert r.stderr.splitlines()[0] == (f"Warning: {path}, line 6, shocks[0].years: shock 'late' covers no year of "
                                        f"the horizon 2025-2035 (2090+); it never happens")


# ------------------------------------------------------------------------ 2. refusals name the flag given
@pytest.fixture(scope="module")
def solved(tiny_inputs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder written by 'critmin solve' of the tiny scenario."""
    folder = tmp_path_factory.mktemp("solved")
    out = folder / "res"
    r = invoke("solve", tiny(folder, tiny_inputs), "--out", out)
    assert r.exit_code == 0, r.output
    return out


# Every command that writes a folder, its arguments with {OUT} for the folder; the option that names it.
WRITERS = {
    "solve": (["solve", "{M}", "--out", "{OUT}"], "--out"),
    "frontier": (["frontier", "{M}", "--points", "2", "--out", "{OUT}"], "--out"),
    "stress": (["stress", "{M}", "--out", "{OUT}"], "--out"),
    "sweep": (["sweep", "{M}", "--samples", "2", "--out", "{OUT}"], "--out"),
    "robust": (["robust", "{M}", "--out", "{OUT}"], "--out"),
    "worstcase": (["worstcase", "{M}", "--out", "{OUT}"], "--out"),
    "sensitivity": (["sensitivity", "{M}", "--out", "{OUT}"], "--out"),
    "calibrate": (["calibrate", "{M}", "--out", "{OUT}"], "--out"),
    "report": (["report", "{R}", "--out", "{OUT}"], "--out"),
    "compare --report": (["compare", "{R}", "{R}", "--report", "{OUT}"], "--report"),
}
RULES = {
    None: "exists, and",
    "--force": "--force replaces only a folder critmin wrote, and",
    "--resume": "--resume finishes only a sweep folder critmin wrote (one written by an interrupted 'critmin sweep', "
                "holding its manifest.json and samples), and",
}


@pytest.mark.parametrize("flag", [None, "--force", "--resume"])
@pytest.mark.parametrize("command", list(WRITERS))
def test_a_foreign_folder_is_refused_in_terms_of_the_flag_given(tiny_inputs, solved, tmp_path, command, flag):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("my notes\n", encoding="utf-8")
    args, option = WRITERS[command]
    args = [a.replace("{M}", str(tiny(tmp_path, tiny_inputs))).replace("{R}", str(solved))
            .replace("{OUT}", str(folder)) for a in args]
    before = snapshot(tmp_path)
    r = invoke(*args, *([flag] if flag else []))
    assert r.exit_code == 2, r.output
    assert snapshot(tmp_path) == before
    if flag == "--resume" and command != "sweep":  # only sweep has --resume: click says so
        assert r.stderr.endswith("Error: No such option '--resume'.\n")
        return
    assert r.stderr == (f"Error: {folder}: {RULES[flag]} it was not written by critmin (it holds notes.txt); choose "
                        f"another {option}, or move or delete that folder yourself first\n")
    for other in {"--force", "--resume"} - {flag}:
        assert other not in r.stderr


def test_resume_of_a_folder_that_is_not_a_sweep(solved, tiny_inputs, tmp_path):
    r = invoke("sweep", tiny(tmp_path, tiny_inputs), "--samples", "2", "--resume", "--out", solved)
    assert r.exit_code == 2, r.output
    assert r.stderr == (f"Error: {solved}: {RULES['--resume']} it holds no manifest.json; choose another --out, or "
                        f"move or delete that folder yourself first\n")


def test_resume_of_a_missing_folder(tiny_inputs, tmp_path):
    out = tmp_path / "sw"
    r = invoke("sweep", tiny(tmp_path, tiny_inputs), "--samples", "2", "--resume", "--out", out)
    assert r.exit_code == 2, r.output
    assert r.stderr == (f"Error: {out}: nothing to resume (no such folder); --resume finishes a sweep folder written "
                        f"by an interrupted 'critmin sweep' with the same --out\n")
    assert not out.exists()


def test_python_names_its_arguments_not_the_options():
    import engine as cm
    from engine.errors import InputError

    horizon = "the horizon 2025-2035 of scenario 'baseline'; expected a year from 2025 to 2035"
    with pytest.raises(InputError) as caught:
        cm.worstcase("baseline", start_years="2040+")
    assert str(caught.value) == f"start_years: 2040+ covers no year of {horizon}"
    with pytest.raises(InputError) as caught:
        cm.explain("baseline", years=[1800])
    assert str(caught.value) == f"years: 1800 is outside {horizon}"
    with pytest.raises(InputError) as caught:
        cm.stress({"extends": "baseline", "shocks": []}, named_only=True)
    assert str(caught.value) == ("named_only: scenario 'inline' has no named shocks (its 'shocks' list is empty); add "
                                 "shocks to the scenario, or leave out named_only for the N-1 shocks")
