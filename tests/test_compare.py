"""``critmin compare``: one column per run, numbers equal to each run's summary, sourcing changes by hand, and
one clear error for an argument that is neither a results folder nor a scenario."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from engine.analysis.compare import TABLE_KEYS, compare, ranking, render_comparison
from engine.cli import main
from engine.errors import InputError
from engine.paths import shipped_scenarios

from conftest import tiny_scenario, write_dataset

# The tiny gallium market: demand 40 t; China 50 t at 100 USD/t, Germany 20 t at 150, Japan 10 t at 200.
# 'cheap' buys all 40 t from China. 'ban' stops Chinese exports: Germany 20 t + Japan 10 t, 10 t unmet.
CHEAP = tiny_scenario(name="cheap", objective={"minimise": "cost"}, data={"inputs": "inputs"})
BAN = tiny_scenario(name="ban", objective={"minimise": "cost"}, data={"inputs": "inputs"},
                    policies=[{"type": "export_ban", "name": "ban_chn", "exporter": "CHN", "allowed_share": 0.0}])


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two scenario files on the tiny dataset, and the results folder of the first."""
    root = tmp_path_factory.mktemp("compare")
    write_dataset(root / "inputs")
    paths = {}
    for scen in (CHEAP, BAN):
        paths[scen["name"]] = root / f"{scen['name']}.yaml"
        paths[scen["name"]].write_text(yaml.safe_dump(scen), encoding="utf-8")
    r = invoke("solve", paths["cheap"], "--out", root / "cheap-results")
    assert r.exit_code == 0, r.output
    paths["folder"] = root / "cheap-results"
    return paths


def value_at(summary: dict, key: str) -> float | None:
    """The summary value at a dotted table key (dependence.exposure.by_mineral.ga.optimised_pct)."""
    value: object = summary
    for part in key.split("."):
        value = value[part]  # type: ignore[index]
    return value  # type: ignore[return-value]


def test_one_column_per_run_with_the_summary_numbers(runs):
    comparison = compare([str(runs["folder"]), str(runs["ban"])])
    table = comparison.table
    assert list(table.columns) == [*TABLE_KEYS, "cheap", "ban"]
    summaries = {"cheap": json.loads((runs["folder"] / "summary.json").read_text()),
                 "ban": comparison.runs[1].summary}
    assert [r.origin for r in comparison.runs] == ["folder", "solved"]
    checked = 0
    for row in table.itertuples(index=False):
        if row.section not in ("exposure", "share_of_supply", "cost", "shortfall", "jv") or row.key == "cost.rank":
            continue
        for label in ("cheap", "ban"):
            expected = value_at(summaries[label], row.key)
            got = getattr(row, label)
            assert (got is None and expected is None) or got == pytest.approx(expected), (row.key, label)
            checked += 1
    assert checked >= 20
    by_key = table.set_index("key")
    assert by_key.loc["shortfall.total_t", "ban"] == pytest.approx(10.0)
    assert by_key.loc["shortfall.total_t", "cheap"] == pytest.approx(0.0)
    assert by_key.loc["dependence.exposure.by_mineral.ga.optimised_pct", "cheap"] == pytest.approx(100.0)
    # the ban leaves 10 of 40 t unmet: exposure 25% (it was 0% when unmet tonnes counted as not attributed), share of
    # supply 0%
    assert by_key.loc["dependence.exposure.by_mineral.ga.optimised_pct", "ban"] == pytest.approx(25.0)
    assert by_key.loc["dependence.share_of_supply.by_mineral.ga.optimised_pct", "ban"] == pytest.approx(0.0)
    assert [label for label, *_ in ranking(comparison)] == ["ban", "cheap"]
    assert by_key.loc["cost.total_pv_usd", "cheap"] == pytest.approx(4000.0)
    assert by_key.loc["cost.total_pv_usd", "ban"] == pytest.approx(20 * 150 + 10 * 200)
    assert by_key.loc["status", "ban"] == "optimal"


def test_sourcing_changes_against_the_first_run(runs):
    comparison = compare([str(runs["cheap"]), str(runs["ban"])], top=2)
    changes = comparison.changes["ban"]
    # ranked by size against the mineral's supply: China -40 t, then Germany +20 t (Japan +10 t is third)
    assert list(changes["country"]) == ["CHN", "DEU"]
    assert list(changes["change_t"]) == pytest.approx([-40.0, 20.0], abs=1e-4)
    by_key = comparison.table.set_index("key")
    assert by_key.loc["sourcing.ga.CHN", "cheap"] == pytest.approx(40.0)
    assert by_key.loc["sourcing.ga.CHN", "ban"] == pytest.approx(0.0)
    assert by_key.loc["sourcing_change.ga.DEU", "ban"] == pytest.approx(20.0)
    text = render_comparison(comparison)
    assert "ban: gallium from China -40 t, from Germany +20 t" in text
    assert "cheap" in text.splitlines()[1] and "ban" in text.splitlines()[1]


def test_cli_text_json_and_csv(runs, tmp_path):
    out = tmp_path / "table.csv"
    r = invoke("compare", runs["folder"], runs["ban"], "--out", out)
    assert r.exit_code == 0, r.output
    assert "Exposure to China" in r.output and "Share of supply attributed to China" in r.output
    assert f"Table written to {out}" in r.output
    csv = pd.read_csv(out)
    assert list(csv.columns) == [*TABLE_KEYS, "cheap", "ban"]
    row = csv.set_index("key").loc["cost.total_pv_usd"]
    assert float(row["cheap"]) == pytest.approx(4000.0) and float(row["ban"]) == pytest.approx(5000.0)
    r = invoke("compare", runs["folder"], runs["ban"], "--out", out)
    assert r.exit_code == 2
    assert r.output.strip() == (f"Error: --out {out}: exists already; pass --force to replace it or choose "
                                f"another file")
    r = invoke("compare", runs["folder"], runs["ban"], "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [run["label"] for run in data["runs"]] == ["cheap", "ban"]
    rows = {row["key"]: row["values"] for row in data["rows"]}
    assert rows["shortfall.total_t"] == {"cheap": 0.0, "ban": pytest.approx(10.0)}
    assert data["sourcing_changes"]["ban"][0]["country"] == "CHN"


def test_same_scenario_twice_gets_distinct_labels(runs):
    comparison = compare([str(runs["folder"]), str(runs["cheap"])])
    assert comparison.labels == [str(runs["folder"]), str(runs["cheap"])]
    assert comparison.changes[str(runs["cheap"])].empty


def test_bad_argument_names_it_and_suggests_a_shipped_scenario(runs):
    known = ", ".join(shipped_scenarios())
    r = invoke("compare", runs["folder"], "basline")
    assert r.exit_code == 2
    assert r.output.strip() == (
        "Error: basline: neither a results folder nor a scenario (did you mean 'baseline'?); give a folder "
        "written by 'critmin solve' (it holds summary.json), a path to a scenario .yaml file, or one of the "
        f"shipped scenarios: {known}")
    empty = runs["folder"].parent  # a folder, but not a results folder
    with pytest.raises(InputError,
                       match=r"neither a results folder nor a scenario( \(did you mean .*\))?; give a folder"):
        compare([str(runs["folder"]), str(empty)])
    r = invoke("compare", runs["folder"])
    assert r.exit_code == 2 and "compare needs at least two scenarios or results folders" in r.output


def test_a_failed_run_shows_as_n_a(runs):
    comparison = compare([str(runs["folder"]), str(runs["ban"])])
    comparison.runs[1].summary = {k: v for k, v in comparison.runs[1].summary.items()
                                  if k not in ("dependence", "cost", "shortfall", "jv")}
    from engine.analysis.compare import compare_runs

    redone = compare_runs(comparison.runs)
    column = redone.table.set_index("key")["ban"]
    assert column["cost.total_pv_usd"] is None or math.isnan(column["cost.total_pv_usd"])
    assert "n/a" in render_comparison(redone)


def test_runs_are_ranked_by_cost_including_unmet_demand(runs, tmp_path):
    # 'cheap' 4,000; 'ban' 20 × 150 + 10 × 200 = 5,000 of supply but 10 t unmet at 10 × 100 = 10,000: 15,000;
    # 'capped' (China at most 25% of demand): China 10 t + Germany 20 t + Japan 10 t = 6,000, nothing unmet.
    # On supply alone the ban would rank second; on cost including unmet demand it is the dearest.
    capped = tiny_scenario(name="capped", objective={"minimise": "cost"}, data={"inputs": str(runs["cheap"].parent
                                                                                           / "inputs")},
                           policies=[{"type": "dependence_cap", "max_share": 0.25}])
    path = tmp_path / "capped.yaml"
    path.write_text(yaml.safe_dump(capped), encoding="utf-8")
    comparison = compare([str(runs["cheap"]), str(runs["ban"]), str(path)])
    by_key = comparison.table.set_index("key")
    assert list(by_key.loc["cost.total_with_unmet_pv_usd", ["cheap", "ban", "capped"]]) == \
        pytest.approx([4000.0, 15_000.0, 6000.0])
    assert list(by_key.loc["cost.total_pv_usd", ["cheap", "ban", "capped"]]) == pytest.approx([4000.0, 5000.0, 6000.0])
    assert list(by_key.loc["cost.rank", ["cheap", "ban", "capped"]]) == [1, 3, 2]
    text = render_comparison(comparison)
    assert any(line.split()[:4] == ["rank,", "cheapest", "first", "1"] and line.split()[4:] == ["3", "2"]
               for line in text.splitlines()), text


# One budget across a comparison. 'base' minimises exposure within +10% of its least cost (4,000 all from China):
# budget 4,400 buys 400 / 50 = 8 t from Germany, exposure 32/40 = 80%. 'tariff' adds 5% on China (105 USD/t): least
# cost 4,200; at the held budget 4,400, 200 / 45 = 4.44 t from Germany: exposure 100 (40 - 200/45) / 40 = 88.9%.
# With its own budget (4,620), 420 / 45 = 9.33 t: 76.7%, below the base: the tariff would "lower" dependence only
# because its budget grew with its least cost.
HELD = tiny_scenario(name="base", objective={"minimise": "dependence", "budget": "+10%"}, data={"inputs": "inputs"})
TARIFF = tiny_scenario(name="tariff", objective={"minimise": "dependence", "budget": "+10%"}, data={"inputs": "inputs"},
                       policies=[{"type": "tariff", "name": "five", "origin": "CHN", "ad_valorem": 0.05}])


@pytest.fixture(scope="module")
def held(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("held")
    write_dataset(root / "inputs")
    paths = []
    for scen in (HELD, TARIFF):
        path = root / f"{scen['name']}.yaml"
        path.write_text(yaml.safe_dump(scen), encoding="utf-8")
        paths.append(str(path))
    return paths


def test_compare_holds_the_first_runs_budget_by_hand(held):
    comparison = compare(held)
    by_key = comparison.table.set_index("key")
    assert [r.budget_rule for r in comparison.runs] == ["first", "held"]
    assert list(by_key.loc["budget.pv_usd", ["base", "tariff"]]) == pytest.approx([4400.0, 4400.0], rel=1e-6)
    assert by_key.loc["budget.pv_usd", "base"] == pytest.approx(comparison.runs[0].summary["cost"]["budget_pv_usd"])
    exposure = by_key.loc["dependence.exposure.overall_pct", ["base", "tariff"]]
    assert list(exposure) == pytest.approx([80.0, 100 * (40 - 200 / 45) / 40], abs=1e-4)
    text = render_comparison(comparison)
    assert ("  Every scenario solved here is planned at the first run's budget ('base'), USD 4,400 on cost including "
            "unmet demand (held in USD, so a column differs by its scenario, not by its budget; --budget own gives "
            "each its own).") in text
    own = compare(held, budget="own").table.set_index("key")
    assert own.loc["dependence.exposure.overall_pct", "tariff"] == pytest.approx(100 * (40 - 420 / 45) / 40, abs=1e-4)
    assert own.loc["budget.pv_usd", "tariff"] == pytest.approx(4620.0, rel=1e-6)
    assert "  Each run has its own budget" in render_comparison(compare(held, budget="own"))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_tighter_policy_never_lowers_exposure_at_one_budget(seed, tmp_path):
    """Shipped baseline against itself with one more quota (seeded: mineral, exporter, share): at the baseline's
    budget in USD, the quota never lowers least cost, nor exposure unless even its least-cost plan is over budget."""
    import random

    rng = random.Random(seed)
    mineral = rng.choice(["li", "ni", "co", "ga", "ge"])
    exporter = rng.choice(["CHN", "IDN", "CAN", "AUS"])
    path = tmp_path / "tighter.yaml"
    path.write_text(yaml.safe_dump({"name": "tighter", "extends": "baseline", "policies": [
        {"type": "export_ban", "name": "extra_quota", "exporter": exporter, "minerals": [mineral],
         "allowed_share": round(rng.uniform(0.0, 0.8), 2)}]}), encoding="utf-8")
    comparison = compare(["baseline", str(path), "ga_ge_ban"])
    by_key = comparison.table.set_index("key")
    for run in comparison.runs[1:]:
        assert run.budget_rule in ("held", "held, over")
        assert by_key.loc["cost.least_cost_with_unmet_pv_usd", run.label] >= \
            by_key.loc["cost.least_cost_with_unmet_pv_usd", "baseline"] * (1 - 1e-7)
        if run.budget_rule == "held":
            assert by_key.loc["dependence.exposure.overall_pct", run.label] >= \
                by_key.loc["dependence.exposure.overall_pct", "baseline"] - 1e-6, (run.label, seed)
