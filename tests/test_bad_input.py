"""Bad input through the command line: exit code 2, one short message that names the file, the line or YAML
path, the bad value and what was expected (with the closest valid name), no traceback, and no results folder.

Scenario-side errors run on the shipped dataset; data-side errors on a copy of ``inputs/`` in ``tmp_path``.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import main

ROOT = Path(__file__).resolve().parents[1]
INPUTS = ROOT / "inputs"
CRITMIN = Path(sys.executable).with_name("critmin")


# ------------------------------------------------------------------------------------------- helpers
def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def rejected(tmp_path: Path, *args: object, command: str = "solve") -> str:
    """Run ``critmin <command> ARGS --out tmp_path/res``; check it is refused as bad input; return stderr."""
    out = tmp_path / "res"
    extra = ["--out", out] if command == "solve" else []
    r = invoke(command, *args, *extra)
    assert r.exit_code == 2, f"exit {r.exit_code}:\n{r.output}"
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    assert r.stdout == "", "the error goes to stderr and nothing else is printed"
    message = r.stderr
    assert message.startswith("Error: ")
    assert "\n\n" not in message.strip(), "one paragraph"
    assert len(message.strip().splitlines()) <= 6, message
    assert not out.exists(), "no results folder for bad input"
    assert not list(tmp_path.glob(".res.*")), "no temporary folder left behind"
    return message


def scenario(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A copy of the shipped dataset, and a scenario ``on_copy.yaml`` (baseline) that runs on it."""
    folder = tmp_path / "inputs"
    shutil.copytree(INPUTS, folder)
    scenario(tmp_path, "extends: baseline\ndata: {inputs: inputs}\n", "on_copy.yaml")
    return folder


def set_cell(path: Path, key: str, column: str, value: str) -> int:
    """Set ``column`` of the row whose first cells are ``key`` ('CHL-LI-SQM', 'ga,2030'); return its line."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, width = rows[0], key.count(",") + 1
    [row] = [r for r in rows[1:] if ",".join(r[:width]) == key]
    row[header.index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return line_of(path, key)


def line_of(path: Path, key: str) -> int:
    """The 1-based line of the file that starts with ``key,`` (found independently of the engine)."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key},"):
            return n
    raise AssertionError(f"{key} not in {path}")


def on_copy(tmp_path: Path) -> str:
    return rejected(tmp_path, tmp_path / "on_copy.yaml")


# ------------------------------------------------------------------------------------------- 1. YAML syntax
def test_unclosed_bracket_names_file_line_column_and_the_opener(tmp_path):
    path = scenario(tmp_path, """
        name: broken
        policies: [
          {type: tariff, origin: CHN
        """)
    message = rejected(tmp_path, path)
    assert message == (f"Error: {path}, line 4, column 1: not valid YAML: expected ',' or '}}', but got "
                       f"'<stream end>' (is the '{{' at line 3, column 3 closed?)\n")


def test_bad_indentation_names_line_and_column(tmp_path):
    path = scenario(tmp_path, """
        name: broken
          buyer: USA
        """)
    message = rejected(tmp_path, path)
    assert message == f"Error: {path}, line 2, column 8: not valid YAML: mapping values are not allowed here\n"


def test_scenario_that_is_not_a_mapping(tmp_path):
    path = scenario(tmp_path, "- li\n- ni\n")
    message = rejected(tmp_path, path)
    assert f"{path}, line 1: a scenario must be a mapping of keys" in message
    assert "got a list" in message


def test_scenario_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: x\ndescription: caf\xe9\n")
    message = rejected(tmp_path, path)
    assert message == f"Error: {path}, line 2: not UTF-8 text (byte 0xe9); save the file as UTF-8\n"


# ------------------------------------------------------------------------------------------- 2. unknown keys
def test_unknown_top_level_key_suggests_policies(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        polices: []
        """)
    message = rejected(tmp_path, path)
    assert f"{path}, line 2, polices: unknown key 'polices' (did you mean 'policies'?); valid keys here: " in message
    assert "remove_policies" in message


def test_unknown_key_in_policy_suggests_exporter_with_the_files_own_index(tmp_path):
    # baseline has two policies; the message must name this file's policies[0], not the merged policies[2]
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - name: ban
            type: export_ban
            exportr: CHN
        """)
    message = rejected(tmp_path, path)
    assert (f"{path}, line 5, policies[0].exportr: unknown key 'exportr' (did you mean 'exporter'?); valid keys "
            f"here: allowed_share, by, description, exporter,") in message
    assert "policies[2]" not in message
    assert "required key 'exporter' is missing" not in message, "the suggestion already says it"


def test_unknown_policy_type_suggests_export_ban(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - name: ban
            type: export_bann
            exporter: CHN
        """)
    message = rejected(tmp_path, path)
    assert (f"{path}, line 4, policies[0].type: unknown policy type 'export_bann' (did you mean 'export_ban'?); "
            f"expected one of export_ban, tariff,") in message


def test_missing_required_key_is_named(tmp_path):
    path = scenario(tmp_path, """
        name: x
        policies:
          - name: ban
            type: export_ban
        """)
    message = rejected(tmp_path, path)
    assert f"{path}, line 3, policies[0].exporter: required key 'exporter' is missing" in message


# ------------------------------------------------------------------------------------------- 3. unknown names
def test_unknown_country_suggests_chn(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - name: ban
            type: export_ban
            exporter: CNH
        """)
    message = rejected(tmp_path, path)
    assert (f"{path}, line 5, policies[0].exporter: unknown country 'CNH' (did you mean 'CHN'?); expected one of "
            f"the country codes in the dataset") in message


def test_country_written_as_a_name_suggests_its_code(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - {name: t, type: tariff, origin: [Japan, China]}
        """)
    message = rejected(tmp_path, path)
    assert f"{path}, line 3, policies[0].origin[0]: unknown country 'Japan' (did you mean 'JPN'?)" in message
    assert f"{path}, line 3, policies[0].origin[1]: unknown country 'China' (did you mean 'CHN'?)" in message


def test_unknown_country_in_market_access_is_caught(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - name: qpq
            type: market_access
            country: CNH
        """)
    message = rejected(tmp_path, path)
    assert f"{path}, line 5, policies[0].country: unknown country 'CNH' (did you mean 'CHN'?)" in message


@pytest.mark.parametrize("bad", ["gaa", "galium"])
def test_unknown_mineral_suggests_ga(tmp_path, bad):
    path = scenario(tmp_path, f"""
        extends: baseline
        minerals:
          - li
          - {bad}
        """)
    message = rejected(tmp_path, path)
    assert (f"{path}, line 4, minerals[1]: unknown mineral '{bad}' (did you mean 'ga'?); expected one of the "
            f"mineral codes in the dataset (co, ga, ge, li, ni)") in message


def test_mineral_names_are_codes_in_a_scenario(tmp_path):
    """A scenario may name a mineral by its name, in any case, wherever it names minerals (issue 16)."""
    from engine.inputs.scenario import load_scenario

    path = scenario(tmp_path, """
        extends: baseline
        minerals: [Lithium, gallium]
        objective: {weights: {GALLIUM: 2}}
        stockpile: {lithium: {capacity_t: 10}}
        policies:
          - {name: cap, type: country_cap, minerals: [lithium], max_share: 0.5}
        """)
    s = load_scenario(path).scenario
    assert s.minerals == ["li", "ga"]
    assert s.objective.weights == {"ga": 2}
    assert "li" in s.stockpile and "lithium" not in s.stockpile
    assert s.policies[-1].minerals == ["li"]
    twice = scenario(tmp_path, """
        extends: baseline
        stockpile: {lithium: {capacity_t: 10}, li: {capacity_t: 5}}
        """, name="twice.yaml")
    message = rejected(tmp_path, twice)
    assert (f"{twice}, line 2, stockpile.li: 'lithium' and 'li' name the same mineral (li); give each mineral "
            f"once") in message


def test_unknown_mineral_in_inherited_policy_override(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - name: china_ga_ge_licensing
            type: export_ban
            exporter: CHN
            minerals: [ga, gee]
        """)
    message = rejected(tmp_path, path)
    assert f"{path}, line 6, policies[0].minerals[1]: unknown mineral 'gee' (did you mean 'ge'?)" in message


# ------------------------------------------------------------------------------------------- 4, 5. ranges
def test_share_above_one_in_scenario(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - name: ban
            type: export_ban
            exporter: CHN
            allowed_share: 1.5
        """)
    message = rejected(tmp_path, path)
    assert (f"{path}, line 6, policies[0].allowed_share: got 1.5; expected a finite number from 0 to 1 (a share, 0-1)"
            in message)


def test_exportable_share_override_above_one_in_scenario(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        data:
          exportable_share: {CHN: 1.4}
        """)
    message = rejected(tmp_path, path)
    assert (f"{path}, line 3, data.exportable_share.CHN: got 1.4; expected a finite number from 0 to 1 (a share, 0-1)"
            in message)


def test_not_a_number_in_scenario(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        finance:
          discount_rate: seven
        """)
    message = rejected(tmp_path, path)
    assert f"{path}, line 3, finance.discount_rate: got 'seven'; expected a valid number" in message


def test_exportable_share_above_one_in_data(tmp_path, data):
    line = set_cell(data / "capacity.csv", "CHL-LI-SQM", "exportable_share", "1.4")
    message = on_copy(tmp_path)
    assert (f"{data / 'capacity.csv'}, line {line}, column exportable_share: 1.4 is above 1; expected a value in "
            f"[0, 1]") in message


def test_negative_capacity_in_data(tmp_path, data):
    line = set_cell(data / "capacity.csv", "CHL-LI-ALB", "capacity_t", "-10")
    message = on_copy(tmp_path)
    assert message == (f"Error: The dataset in {data} has problems:\n  {data / 'capacity.csv'}, line {line}, column "
                       f"capacity_t: -10 is negative; expected a value in [0, 1e+09] t/yr\n")


def test_data_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path, data):
    path = data / "capacity.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("facility")] = "a facility\nspread over\ntwo line breaks"
    rows[5][rows[0].index("capacity_t")] = "-10"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerows(rows[:3])
        handle.write("\n")  # a blank line
        writer.writerows(rows[3:])
    line = line_of(path, rows[5][0])
    assert line == 6 + 2 + 1  # 6th line, pushed down by two quoted line breaks and a blank line
    message = on_copy(tmp_path)
    assert f"{path}, line {line}, column capacity_t: -10 is negative" in message


def test_not_a_number_in_data(tmp_path, data):
    line = set_cell(data / "demand.csv", "ga,2030", "demand_t", "lots")
    message = on_copy(tmp_path)
    assert f"{data / 'demand.csv'}, line {line}, column demand_t: 'lots' is not a number" in message


def test_unknown_country_in_data_suggests_closest(tmp_path, data):
    line = set_cell(data / "capacity.csv", "CHL-LI-SQM", "location", "CHLL")
    message = on_copy(tmp_path)
    assert (f"{data / 'capacity.csv'}, line {line}, column location: unknown iso3 'CHLL' (did you mean 'CHL'?); "
            f"expected one listed in countries.csv") in message


def test_row_with_too_many_cells(tmp_path, data):
    path = data / "demand.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("2027,", "2027,126,141,", 1)  # an unquoted thousands separator
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = on_copy(tmp_path)
    assert (f"{path}, line 4: 8 cells but the header has 6 columns; quote any cell that contains a comma"
            in message)


def test_data_not_utf8(tmp_path, data):
    path = data / "countries.csv"
    path.write_bytes(path.read_bytes().replace(b"Argentina", b"Argentin\xe4", 1))
    message = on_copy(tmp_path)
    assert message == f"Error: {path}, line 2: not UTF-8 text (byte 0xe4); save the file as UTF-8 CSV\n"


# ------------------------------------------------------------------------------------------- 6. missing things
def test_missing_scenario_file(tmp_path):
    message = rejected(tmp_path, tmp_path / "nope.yaml")
    assert message.startswith(f"Error: {tmp_path / 'nope.yaml'}: scenario file not found; give a path to a .yaml "
                              f"file or one of the shipped scenarios: baseline, ")


def test_misspelt_shipped_scenario_suggests_it(tmp_path):
    message = rejected(tmp_path, "basline")
    assert message.startswith("Error: basline: scenario file not found (did you mean 'baseline'?)")


def test_missing_inputs_folder_names_the_scenario_line(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        data:
          inputs: no_such_folder
        """)
    message = rejected(tmp_path, path)
    assert message == (f"Error: {path}, line 3, data.inputs: inputs folder 'no_such_folder' not found (looked for "
                       f"{tmp_path / 'no_such_folder'}); a relative path is read from the folder of the file "
                       f"that sets it\n")


def test_missing_inputs_folder_for_data_command(tmp_path):
    message = rejected(tmp_path, "--inputs", tmp_path / "nowhere", command="data")
    assert message == f"Error: {tmp_path / 'nowhere'}: inputs folder not found\n"


def test_missing_required_csv(tmp_path, data):
    (data / "demand.csv").unlink()
    message = on_copy(tmp_path)
    assert message == f"Error: {data / 'demand.csv'}: file not found (the demand table is required)\n"


def test_empty_csv(tmp_path, data):
    (data / "minerals.csv").write_text("", encoding="utf-8")
    message = on_copy(tmp_path)
    assert message.startswith(f"Error: {data / 'minerals.csv'}: file is empty; expected a header row with columns "
                              f"mineral, name, unit,")


def test_missing_column_suggests_closest_header(tmp_path, data):
    path = data / "capacity.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("unit_cost_usd_per_t", "unit_cost_usd_per_tonne", 1),
                    encoding="utf-8")
    message = on_copy(tmp_path)
    assert (f"{path}, line 1: column 'unit_cost_usd_per_t' is missing (did you mean 'unit_cost_usd_per_tonne'?)"
            in message)


# ------------------------------------------------------------------------------------------- 7, 8. inheritance
def test_extends_cycle(tmp_path):
    a = scenario(tmp_path, "extends: b.yaml\n", "a.yaml")
    b = scenario(tmp_path, "extends: a.yaml\n", "b.yaml")
    message = rejected(tmp_path, a)
    assert message == (f"Error: {b}, line 1, extends: 'a.yaml' forms a cycle (a.yaml -> b.yaml -> a.yaml); a "
                       f"scenario cannot extend itself, directly or through others\n")


def test_extends_itself(tmp_path):
    a = scenario(tmp_path, "name: loop\nextends: a\n", "a.yaml")
    message = rejected(tmp_path, a)
    assert f"{a}, line 2, extends: 'a' forms a cycle (a.yaml -> a.yaml)" in message


def test_extends_missing_scenario(tmp_path):
    path = scenario(tmp_path, "extends: baselin\n")
    message = rejected(tmp_path, path)
    assert message.startswith(f"Error: {path}, line 1, extends: baselin: scenario file not found (did you mean "
                              f"'baseline'?)")


def test_error_in_parent_names_the_parent_file(tmp_path):
    parent = scenario(tmp_path, """
        extends: baseline
        buyer: USAA
        """, "parent.yaml")
    child = scenario(tmp_path, "extends: parent.yaml\n", "child.yaml")
    message = rejected(tmp_path, child)
    assert f"{parent}, line 2, buyer: unknown country 'USAA' (did you mean 'USA'?)" in message


def test_remove_policies_not_inherited(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        remove_policies: [section_301, china_ga_ge_licencing]
        """)
    message = rejected(tmp_path, path)
    assert message == (f"Error: {path}, line 2, remove_policies[1]: no inherited policy named "
                       f"'china_ga_ge_licencing' (did you mean 'china_ga_ge_licensing'?); inherited: section_301, "
                       f"russia_nickel_import_ban, china_ga_ge_ban_2025, china_ga_ge_licensing\n")


def test_two_policies_with_one_name_in_a_child(tmp_path):
    # the second would silently replace the first (and hide its negative tariff)
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - {name: section_301, type: tariff, origin: CHN, ad_valorem: -0.25}
          - {name: section_301, type: tariff, origin: CHN}
        """)
    message = rejected(tmp_path, path)
    assert message == (f"Error: {path}, line 4, policies[1]: a second policy named 'section_301' (the first is "
                       f"policies[0]); names must be unique, and a policy with an inherited name replaces the "
                       f"inherited one\n")


def test_two_policies_with_one_name(tmp_path):
    path = scenario(tmp_path, """
        name: x
        policies:
          - {name: a, type: tariff, origin: CHN}
          - {name: a, type: tariff, origin: CHN}
        """)
    message = rejected(tmp_path, path)
    assert f"{path}, line 2, policies: two policies are named 'a'; names must be unique" in message


def test_horizon_without_demand_data(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        horizon: {start: 2023, end: 2026}
        """)
    message = rejected(tmp_path, path)
    assert message == (f"Error: {INPUTS / 'demand.csv'}: no demand for mineral 'li' in 2023, 2024; the scenario's "
                       f"horizon ({path}, line 2) is 2023-2026\n")


# ------------------------------------------------------------------------------------------- 9. YAML booleans
def test_key_read_as_boolean_asks_for_quotes(tmp_path):
    path = scenario(tmp_path, """
        extends: baseline
        policies:
          - name: ban
            type: export_ban
            on: CHN
        """)
    message = rejected(tmp_path, path)
    assert message == (f"Error: {path}, line 5: key 'on' is read by YAML as the boolean True; write it in quotes "
                       f"or use another name\n")


def test_duplicate_key(tmp_path):
    path = scenario(tmp_path, "name: a\nbuyer: USA\nbuyer: JPN\n")
    message = rejected(tmp_path, path)
    assert message == f"Error: {path}, line 3: key 'buyer' appears twice in the same mapping\n"


# ------------------------------------------------------------------------------------------- 10. --out
def test_existing_results_folder_is_kept_without_force(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "sentinel.txt").write_text("keep me", encoding="utf-8")
    r = invoke("solve", "--out", out)
    assert r.exit_code == 2
    assert r.stderr == (f"Error: {out}: exists, and it was not written by critmin (it holds sentinel.txt); choose "
                        f"another --out, or move or delete that folder yourself first\n")
    assert (out / "sentinel.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]

    r = invoke("solve", "--out", out, "--force")  # not a folder critmin wrote: --force refuses it too
    assert r.exit_code == 2
    assert r.stderr == (f"Error: {out}: --force replaces only a folder critmin wrote, and it was not written by "
                        f"critmin (it holds sentinel.txt); choose another --out, or move or delete that folder "
                        f"yourself first\n")
    assert (out / "sentinel.txt").read_text(encoding="utf-8") == "keep me"

    (out / "sentinel.txt").unlink()
    invoke("solve", "--out", out, "--force")
    r = invoke("solve", "--out", out, "--force")  # critmin's own folder: replaced
    assert r.exit_code == 0, r.output
    assert (out / "summary.json").is_file() and (out / ".critmin-output").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"], "no temporary or backup folder left"


def test_out_is_a_file(tmp_path):
    target = tmp_path / "res"
    target.write_text("a file", encoding="utf-8")
    r = invoke("solve", "--out", target, "--force")
    assert r.exit_code == 2
    assert r.stderr == f"Error: {target}: exists and is not a folder; choose another --out\n"
    assert target.read_text(encoding="utf-8") == "a file"


def test_out_cannot_be_created(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    r = invoke("solve", "--out", blocker / "res")
    assert r.exit_code == 2
    assert r.stderr == f"Error: {blocker / 'res'}: {blocker} is a file, not a folder; choose another --out\n"
    assert "Traceback" not in r.output


def test_usage_errors_exit_2(tmp_path):
    r = invoke("solve", "--no-write", "--write-lp", tmp_path / "model.txt")
    assert r.exit_code == 2
    assert r.stderr == f"Error: {tmp_path / 'model.txt'}: expected a file ending in .lp or .mps\n"
    r = invoke("solve", "--no-write", "--write-mps", tmp_path / "nowhere" / "model.mps")
    assert r.exit_code == 2
    assert r.stderr == f"Error: {tmp_path / 'nowhere' / 'model.mps'}: folder {tmp_path / 'nowhere'} does not exist\n"
    r = invoke("solve", "--no-write", "--solver", "cbcc")
    assert r.exit_code == 2
    assert "unknown solver 'cbcc'" in r.stderr
    r = invoke("solve", "--time-limit", "0")
    assert r.exit_code == 2
    assert "Invalid value for '--time-limit'" in r.output


# ------------------------------------------------------------------------------------------- 11. JV options
JV = "jv_options.csv"


def test_jv_negative_lead_time(tmp_path, data):
    line = set_cell(data / JV, "USA-LI-DOMESTIC", "lead_time_years", "-1")
    message = on_copy(tmp_path)
    assert (f"{data / JV}, line {line}, column lead_time_years: -1 is negative; expected a value in [0, 30]"
            in message)


def test_jv_equity_above_one(tmp_path, data):
    line = set_cell(data / JV, "USA-LI-CN-MAJORITY", "partner_equity_share", "1.2")
    message = on_copy(tmp_path)
    assert (f"{data / JV}, line {line}, column partner_equity_share: 1.2 is above 1; expected a value in [0, 1]"
            in message)


def test_jv_unknown_mode_lists_the_modes(tmp_path, data):
    line = set_cell(data / JV, "USA-LI-CN-PARITY", "mode", "joint")
    message = on_copy(tmp_path)
    assert (f"{data / JV}, line {line}, column mode: 'joint' is not one of licensing, minority, parity, majority, "
            f"domestic") in message


def test_jv_misspelt_mode_suggests_closest(tmp_path, data):
    line = set_cell(data / JV, "USA-LI-CN-MINORITY", "mode", "minorty")
    message = on_copy(tmp_path)
    assert (f"{data / JV}, line {line}, column mode: 'minorty' is not one of licensing, minority, parity, "
            f"majority, domestic (did you mean 'minority'?)") in message


def test_jv_equity_does_not_fit_mode(tmp_path, data):
    line = set_cell(data / JV, "USA-LI-CN-MINORITY", "partner_equity_share", "0.6")
    message = on_copy(tmp_path)
    assert message == (f"Error: The dataset in {data} has problems:\n  {data / JV}, line {line}, column "
                       f"partner_equity_share: 0.6 does not fit mode 'minority'; expected (0, 0.25]\n")


def test_jv_licence_with_equity(tmp_path, data):
    line = set_cell(data / JV, "USA-LI-CATL-LIC", "partner_equity_share", "0.1")
    message = on_copy(tmp_path)
    assert f"{data / JV}, line {line}, column partner_equity_share: 0.1 does not fit mode 'licensing'; expected 0" \
        in message


def test_all_problems_reported_together(tmp_path, data):
    cap = set_cell(data / "capacity.csv", "CHL-LI-ALB", "capacity_t", "-10")
    jv = set_cell(data / JV, "USA-LI-DOMESTIC", "lead_time_years", "-1")
    message = on_copy(tmp_path)
    assert f"capacity.csv, line {cap}, column capacity_t" in message
    assert f"{JV}, line {jv}, column lead_time_years" in message


# ------------------------------------------------------------------------------------------- a real terminal
def test_real_process_prints_no_traceback(tmp_path):
    path = scenario(tmp_path, "extends: baseline\npolicies:\n  - {name: b, type: export_ban, exporter: CNH}\n")
    proc = subprocess.run([str(CRITMIN), "solve", str(path), "--out", str(tmp_path / "res")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr == (f"Error: Scenario 'bad' names things the dataset does not have:\n  {path}, line 3, "
                           f"policies[0].exporter: unknown country 'CNH' (did you mean 'CHN'?); expected one of the "
                           f"country codes in the dataset\n")
    assert not (tmp_path / "res").exists()


def test_real_process_debug_shows_traceback(tmp_path):
    proc = subprocess.run([str(CRITMIN), "--debug", "solve", str(tmp_path / "nope.yaml")],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "InputError" in proc.stderr


# ------------------------------------------------------------------------------------------- aggregates and bases
@pytest.mark.parametrize(("text", "expected"), [
    ("objective: {aggregate: mediam}",
     "line 2, objective.aggregate: got 'mediam'; expected 'mean', 'value', 'max' or 'leximin'"),
    ("dependence: {basis: controll}",
     "line 2, dependence.basis: got 'controll'; expected 'location', 'ownership', 'combined', 'control' or "
     "'combined_control'"),
    ("dependence:\n  basis: control\n  control_threshold: 1.5",
     "line 4, dependence.control_threshold: got 1.5; expected a finite number from 0 to 1 (a share of equity, 0-1)"),
], ids=["aggregate", "basis", "control_threshold"])
def test_new_dependence_keys_are_checked(tmp_path, text, expected):
    path = scenario(tmp_path, "extends: baseline\n" + text + "\n")
    message = rejected(tmp_path, path)
    assert message == f"Error: Scenario {path} is not valid:\n  {path}, {expected}\n"
