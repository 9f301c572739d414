"""The two measures of dependence (``results.Measures``) mean what they say.

- China share of supply = attributed tonnes / tonnes supplied (deliveries to demand and stock draws): never above
  100%, undefined (NaN) when nothing is supplied;
- China exposure = (attributed + unmet tonnes) / demand: moving a tonne from supply to unmet demand never lowers it.

Properties over the shipped scenarios and seeded variants of the baseline, and hand-worked cases on the tiny
dataset, with a stockpile whose attribution a later draw carries.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.analysis.compare import compare
from engine.analysis.frontier_run import run_frontier, write_frontier
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import load_scenario, with_overrides
from engine.outputs.display import render_summary
from engine.outputs.read_folder import load_results_folder
from engine.outputs.results import measures
from engine.outputs.run_folder import write_results
from engine.report.build import build_report
from engine.run import RunResult, run_scenario
from engine.solvers.base import Status

from conftest import single_buyer, solve_dict, write_dataset

approx = functools.partial(pytest.approx, rel=1e-6, abs=1e-6)
MODELS = sorted(p.stem for p in single_buyer((Path(__file__).resolve().parent.parent / "models").glob("*.yaml")))
TOL_PCT = 1e-6


def _variant(seed: int) -> dict:
    """A seeded variant of the baseline: an export ban or quota on one supplier and mineral, and a budget."""
    rng = np.random.default_rng(seed)
    mineral = str(rng.choice(["li", "ni", "co", "ga", "ge"]))
    country = str(rng.choice(["CHN", "IDN", "COD", "CAN", "AUS", "CHL"]))
    share = float(rng.choice([0.0, 0.3, 0.6]))
    ban = {"type": "export_ban", "name": f"variant_{seed}", "exporter": country, "by": "location",
           "minerals": [mineral], "allowed_share": share, "years": f"{int(rng.integers(2025, 2031))}+"}
    return {"ban": ban, "budget": f"+{int(rng.choice([1, 2, 5, 15]))}%"}


@functools.cache
def _run(name: str, seed: int | None = None) -> RunResult:
    loaded = load_scenario(name)
    if seed is not None:
        v = _variant(seed)
        policies = [*loaded.scenario.model_dump(mode="json", exclude_none=True)["policies"], v["ban"]]
        objective = {**loaded.scenario.objective.model_dump(mode="json", exclude_none=True), "budget": v["budget"]}
        loaded = with_overrides(loaded, policies=policies, objective=objective)
    result = run_scenario(loaded)
    assert result.summary["status"] == "optimal", (name, seed)
    return result


CASES = [(name, None) for name in MODELS] + [("baseline", seed) for seed in range(4)]
IDS = [name if seed is None else f"{name}-seed{seed}" for name, seed in CASES]


# ------------------------------------------------------------------------------------------- properties
@pytest.mark.parametrize(("name", "seed"), CASES, ids=IDS)
def test_share_of_supply_is_never_above_100_percent_and_exposure_adds_up(name, seed):
    dep = _run(name, seed).tables.dependence
    for prefix in ("", "least_cost_"):
        share = dep[f"{prefix}china_share_of_supply_pct"]
        assert (share.dropna() <= 100.0 + TOL_PCT).all() and (share.dropna() >= -TOL_PCT).all(), prefix
        assert (dep[f"{prefix}china_exposure_pct"].dropna() <= 100.0 + TOL_PCT).all(), prefix
    # row by row: exposure = (attributed + unmet) / demand; share = attributed / supplied, undefined without supply
    has = dep["demand_t"] > 0
    expected = 100.0 * (dep["china_t"] + dep["shortfall_t"]) / dep["demand_t"]
    assert dep.loc[has, "china_exposure_pct"].to_numpy() == pytest.approx(expected[has].to_numpy(), abs=1e-9)
    supplied = dep["supplied_t"] > 0
    assert dep.loc[supplied, "china_share_of_supply_pct"].to_numpy() == pytest.approx(
        (100.0 * dep["china_t"] / dep["supplied_t"])[supplied].to_numpy(), abs=1e-9)
    assert dep.loc[~supplied, "china_share_of_supply_pct"].isna().all()
    # what reaches demand plus what is unmet is the demand (purchases for stock are not supply)
    assert (dep["supplied_t"] + dep["shortfall_t"]).to_numpy() == pytest.approx(dep["demand_t"].to_numpy(),
                                                                                 rel=1e-7, abs=1e-5)
    assert (dep["china_t"] <= dep["supplied_t"] + 1e-9).all()


@pytest.mark.parametrize(("name", "seed"), CASES, ids=IDS)
def test_moving_a_tonne_from_supply_to_unmet_never_lowers_exposure(name, seed):
    result = _run(name, seed)
    model, x = result.model, result.plan.x
    before = measures(model, x)
    dl = model.deliveries
    dl = dl[(dl["demand_row"].to_numpy() >= 0) & (x[dl["col"].to_numpy()] > 1e-3)]
    short = model.block_cols("short")
    rng = np.random.default_rng(len(dl))
    for k in rng.choice(len(dl), size=min(40, len(dl)), replace=False):
        row = int(dl["demand_row"].iloc[k])
        col = int(dl["col"].iloc[k])
        moved = x.copy()
        tonne = min(1.0, float(x[col]))
        moved[col] -= tonne
        moved[short[row]] += tonne
        after = measures(model, moved)
        a = float(dl["attribution"].iloc[k])
        demand = float(model.demand["demand_t"].iloc[row])
        assert after.exposure_pct[row] >= before.exposure_pct[row] - 1e-9
        assert after.exposure_pct[row] == pytest.approx(before.exposure_pct[row] + 100.0 * tonne * (1 - a) / demand,
                                                        abs=1e-7)
        others = np.arange(len(before.exposure_pct)) != row
        np.testing.assert_array_equal(after.exposure_pct[others], before.exposure_pct[others])


RESTRICTIONS = [(country, mineral, share) for country in ("CHN", "IDN", "COD", "CAN") for mineral in ("li", "ni", "co")
                for share in (0.0, 0.5)] + [("CHN", "ga", 0.5), ("CHN", "ge", 0.5)]


def _restricted(loaded, country: str, mineral: str, share: float):
    ban = {"type": "export_ban", "name": f"restrict_{country}_{mineral}", "exporter": country, "by": "location",
           "minerals": [mineral], "allowed_share": share, "years": "2025+"}
    return with_overrides(loaded, policies=[*loaded.scenario.model_dump(mode="json", exclude_none=True)["policies"],
                                            ban])


@pytest.mark.parametrize("name", ["baseline", "ga_ge_ban", "feoc_strict"])
def test_a_restriction_that_leaves_the_least_cost_never_lowers_the_least_exposure(name):
    # metamorphic, at a fixed budget in USD: the first stage minimises cost including unmet demand (the least-cost
    # stage), so a restriction that leaves its least value where it was only shrinks the set of plans the dependence
    # stage chooses from
    loaded = load_scenario(name)
    budget = _run(name).summary["cost"]["budget_pv_usd"]
    fixed = with_overrides(loaded, objective={**loaded.scenario.objective.model_dump(mode="json", exclude_none=True),
                                              "budget": budget})
    base = run_scenario(fixed, impacts=False)
    exposure, least = (base.summary["dependence"]["exposure"]["overall_pct"],
                       base.plan.stages[0].objective)
    checked = 0
    for country, mineral, share in RESTRICTIONS:
        r = run_scenario(_restricted(fixed, country, mineral, share), impacts=False)
        if r.summary["status"] != "optimal" or r.plan.stages[0].objective > least * (1 + 1e-7) + 1e-6:
            continue
        checked += 1
        assert r.summary["dependence"]["exposure"]["overall_pct"] >= exposure - 1e-6, (country, mineral, share)
    assert checked >= 5


def test_a_restriction_never_lowers_the_least_exposure_at_a_fixed_budget():
    # metamorphic, at the baseline's budget fixed in USD on cost including unmet demand: a restriction only shrinks
    # the set of plans within that budget, so the least exposure over it never falls. Where the restriction makes
    # even its least-cost plan dearer than the budget (the unmet demand it adds counts in cost), no plan is within
    # the budget at all: critmin refuses the budget and there is no exposure to compare (the least over no plan)
    base = load_scenario("baseline")
    budget = _run("baseline").summary["cost"]["budget_pv_usd"]
    objective = {**base.scenario.objective.model_dump(mode="json", exclude_none=True), "budget": budget}
    fixed = with_overrides(base, objective=objective)
    exposure = run_scenario(fixed, impacts=False).summary["dependence"]["exposure"]["overall_pct"]
    compared = 0
    for country, mineral, share in RESTRICTIONS:
        banned = run_scenario(_restricted(fixed, country, mineral, share), impacts=False)
        if banned.summary["status"] != "optimal":
            assert banned.plan.status is Status.INFEASIBLE, (country, mineral, share)
            assert banned.plan.least_cost_usd > budget, (country, mineral, share)
            assert "is below the least-cost plan" in banned.plan.message, (country, mineral, share)
            continue
        compared += 1
        assert banned.summary["dependence"]["exposure"]["overall_pct"] >= exposure - 1e-6, (country, mineral, share)
    assert compared >= len(RESTRICTIONS) - 6  # on the shipped data 21 of the 26 fit the budget


# ------------------------------------------------------------------------------------------- by hand
@pytest.fixture
def two_years(tmp_path):
    """Gallium 40 t and germanium 1 t a year in 2025 and 2026 (the tiny sources: China 50 t of gallium at 100,
    Germany 20 t at 150, Japan 10 t at 200)."""
    demand = [{"mineral": m, "year": y, "demand_t": 40 if m == "ga" else 1} for y in (2025, 2026)
              for m in ("ga", "ge")]
    return load_dataset(write_dataset(tmp_path, demand=demand))


BAN_2026 = {"type": "export_ban", "name": "ban", "exporter": "CHN", "years": 2026}


def _by_year(result: RunResult, mineral: str, column: str) -> dict[int, float]:
    dep = result.tables.dependence
    return dep[dep["mineral"] == mineral].set_index("year")[column].to_dict()


def test_a_draw_carries_the_attribution_of_what_was_bought(two_years):
    # least cost: 2025 buys 50 t from China, 40 for demand and 10 into stock (attributed: China sold all of it);
    # 2026, China banned: Germany 20 + Japan 10 + the 10 t drawn. Share of supply 2026 = 10 / 40 = 25%, not 0%;
    # 2025's share is 40 / 40 (the 10 t for stock are not 2025's supply, so not 50 / 40).
    r = solve_dict(two_years, horizon={"start": 2025, "end": 2026}, objective={"minimise": "cost"},
                   policies=[BAN_2026], stockpile={"ga": {"capacity_t": 10, "holding_usd_per_t_yr": 1.0}})
    assert r.summary["shortfall"]["total_t"] == approx(0.0)
    sp = r.tables.extra["stockpile"].set_index("year")
    assert sp["put_attributed_t"].to_dict() == approx({2025: 10.0, 2026: 0.0})
    assert sp["draw_attributed_t"].to_dict() == approx({2025: 0.0, 2026: 10.0})
    assert sp["stock_attributed_t"].to_dict() == approx({2025: 10.0, 2026: 0.0})
    assert _by_year(r, "ga", "supplied_t") == approx({2025: 40.0, 2026: 40.0})
    assert _by_year(r, "ga", "china_t") == approx({2025: 40.0, 2026: 10.0})
    assert _by_year(r, "ga", "china_share_of_supply_pct") == approx({2025: 100.0, 2026: 25.0})
    assert _by_year(r, "ga", "china_exposure_pct") == approx({2025: 100.0, 2026: 25.0})
    exposure = r.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"]
    assert exposure == approx(62.5)


def test_initial_stock_is_drawn_unattributed(two_years):
    # China banned in 2025 only, 5 t held before the horizon: 2025 gets Germany 20 + Japan 10 + the 5 t drawn, 5 t
    # unmet. The initial stock counts as not attributed (its origin is not in the data): exposure 2025 = 5 / 40
    # (the unmet tonnes), share of supply 0 / 35. 2026: China's 40 t, 100% both.
    ban_2025 = {**BAN_2026, "years": 2025}
    r = solve_dict(two_years, horizon={"start": 2025, "end": 2026}, objective={"minimise": "cost"},
                   policies=[ban_2025], stockpile={"ga": {"capacity_t": 10, "initial_t": 5}})
    sp = r.tables.extra["stockpile"].set_index("year")
    assert sp["draw_t"].to_dict() == approx({2025: 5.0, 2026: 0.0})
    assert sp["draw_attributed_t"].to_dict() == approx({2025: 0.0, 2026: 0.0})
    assert _by_year(r, "ga", "shortfall_t") == approx({2025: 5.0, 2026: 0.0})
    assert _by_year(r, "ga", "china_exposure_pct") == approx({2025: 12.5, 2026: 100.0})
    assert _by_year(r, "ga", "china_share_of_supply_pct") == approx({2025: 0.0, 2026: 100.0})


def test_share_of_supply_is_undefined_when_nothing_is_supplied(tmp_path):
    # germanium: China is the only source and is banned: nothing supplied, all unmet
    capacity = [{"source_id": "CHN-GE", "mineral": "ge", "location": "CHN", "capacity_t": 100,
                 "exportable_share": 1.0, "unit_cost_usd_per_t": 1000, "first_year": 2020, "last_year": ""},
                {"source_id": "DEU-GA", "mineral": "ga", "location": "DEU", "capacity_t": 50,
                 "exportable_share": 1.0, "unit_cost_usd_per_t": 150, "first_year": 2020, "last_year": ""}]
    dataset = load_dataset(write_dataset(tmp_path, capacity=capacity))
    r = solve_dict(dataset, minerals=["ga", "ge"], objective={"minimise": "cost"},
                   policies=[{"type": "export_ban", "name": "ban", "exporter": "CHN", "years": 2025}])
    ge = r.tables.dependence.set_index("mineral").loc["ge"]
    assert ge["supplied_t"] == approx(0.0) and ge["shortfall_t"] == approx(10.0)
    assert pd.isna(ge["china_share_of_supply_pct"]) and ge["china_exposure_pct"] == approx(100.0)
    share = r.summary["dependence"]["share_of_supply"]
    assert "ge" not in share["by_mineral"] and share["overall_pct"] == approx(0.0)  # gallium's alone: 0%
    assert r.summary["dependence"]["exposure"]["overall_pct"] == approx(50.0)  # (0% + 100%) / 2
    printed = render_summary(r.summary, r.model.mineral_names())
    germanium = next(line for line in printed.splitlines() if line.strip().startswith("germanium"))
    assert germanium.split()[-3:] == ["n/a", "n/a", "10"]  # share of supply least-cost and optimised; unmet t


def test_dependence_stage_weighs_an_unmet_tonne_as_an_attributed_one(tiny):
    # the objective's coefficient on short[m, y] is that of a delivery attributed in full (a = 1) into the same
    # row, 100 / demand × weight: leaving a tonne unmet never lowers the objective
    r = solve_dict(tiny, minerals=["ga", "ge"])
    model = r.model
    objective = model.lp.objective("dependence")
    dl = model.deliveries
    for row, col in enumerate(model.block_cols("short")):
        attributed = dl[(dl["demand_row"] == row) & (dl["attribution"] == 1.0)]
        assert len(attributed)
        assert objective[col] > 0
        assert objective[attributed["col"].to_numpy()] == pytest.approx(np.full(len(attributed), objective[col]))


# ------------------------------------------------------------------------------------------- older folders
def _as_version_2(folder: Path, version: int) -> None:
    """Rewrite a solve folder as results schema version ``version`` (1 or 2) wrote it: one share of all demand."""
    dep = pd.read_csv(folder / "dependence.csv")
    dep["china_share_pct"] = 100.0 * dep["china_t"] / dep["demand_t"]
    dep["least_cost_china_share_pct"] = 100.0 * dep["china_t"] / dep["demand_t"] + 1.0  # any old figure
    dep = dep.drop(columns=["china_exposure_pct", "china_share_of_supply_pct", "least_cost_china_exposure_pct",
                            "least_cost_china_share_of_supply_pct"])
    dep.to_csv(folder / "dependence.csv", index=False)
    summary = json.loads((folder / "summary.json").read_text())
    old = summary["dependence"]["exposure"]
    summary["dependence"] = {"unit": "percent of demand attributed to CHN", "overall_pct": old["overall_pct"] - 3.0,
                             "least_cost_overall_pct": old["least_cost_overall_pct"],
                             "by_mineral": old["by_mineral"], "by_mineral_year": old["by_mineral_year"],
                             "least_cost_by_mineral_year": old["least_cost_by_mineral_year"]}
    if version == 1:
        summary.pop("schema_version")
    else:
        summary["schema_version"] = 2
    (folder / "summary.json").write_text(json.dumps(summary))


@pytest.mark.parametrize("version", [1, 2])
def test_folders_of_versions_1_and_2_read_as_version_3(tmp_path, version):
    result = _run("baseline")
    folder = write_results(result, tmp_path / "old")
    now = load_results_folder(folder)
    _as_version_2(folder, version)
    old = load_results_folder(folder)
    assert any(f"results schema version {version}" in note for note in old.notes)
    # no stock moved in the baseline's plan: the optimised plan's measures are recomputed from the old table
    for column in ("china_exposure_pct", "china_share_of_supply_pct"):
        pd.testing.assert_series_equal(old.tables["dependence"][column], now.tables["dependence"][column],
                                       rtol=1e-9)
        assert old.tables["dependence"][f"least_cost_{column}"].isna().all()  # not recorded
    assert "china_share_pct" not in old.tables["dependence"]
    exposure = old.summary["dependence"]["exposure"]
    assert exposure["overall_pct"] == pytest.approx(now.summary["dependence"]["exposure"]["overall_pct"], abs=1e-4)
    assert exposure["least_cost_overall_pct"] is None
    rows = compare([str(folder), str(write_results(result, tmp_path / "new"))]).table.set_index("key")
    assert rows.loc["dependence.exposure.overall_pct"].iloc[-2] == pytest.approx(exposure["overall_pct"])
    assert rows.loc["dependence.exposure.least_cost_overall_pct"].iloc[-2] is None
    report = build_report(folder, ["md"])
    md = (report / "report.md").read_text(encoding="utf-8")
    assert f"results schema version {version}" in md and "n/a" in md


def test_an_old_analysis_folder_shows_its_dependence_as_not_recorded(tmp_path):
    result = _run("baseline")
    frontier = run_frontier(result.loaded, points=2)
    folder = write_frontier(frontier, tmp_path / "fr")
    table = pd.read_csv(folder / "frontier.csv").rename(columns={"exposure_pct": "dependence_pct"})
    table.drop(columns=["share_of_supply_pct"]).to_csv(folder / "frontier.csv", index=False)
    summary = json.loads((folder / "summary.json").read_text())
    (folder / "summary.json").write_text(json.dumps({**summary, "schema_version": 2}))
    old = load_results_folder(folder)
    assert "dependence_pct" not in old.tables["frontier"] and old.tables["frontier"]["exposure_pct"].isna().all()
    assert any("not recorded" in note for note in old.notes)
    assert (build_report(folder, ["md"]) / "report.md").is_file()


def test_a_cap_on_share_of_supply_is_always_feasible(tiny):
    # a cap of 0%: no Chinese tonne may be supplied, whatever is left unmet (gallium: Germany 20 + Japan 10 of 40 t;
    # germanium: Germany 5 of 10 t); the plan is optimal, never infeasible
    r = solve_dict(tiny, minerals=["ga", "ge"], objective={"minimise": "cost"},
                   policies=[{"type": "dependence_cap", "name": "none_from_china", "max_share": 0.0}])
    assert r.summary["status"] == "optimal"
    dep = r.tables.dependence.set_index("mineral")
    assert dep["china_share_of_supply_pct"].to_dict() == approx({"ga": 0.0, "ge": 0.0})
    assert dep["shortfall_t"].to_dict() == approx({"ga": 10.0, "ge": 5.0})
    assert dep["china_exposure_pct"].to_dict() == approx({"ga": 25.0, "ge": 50.0})


def test_the_worst_mineral_year_counts_its_unmet_tonnes(tiny):
    # aggregate max: germanium, China banned, Germany's 5 t of 10: exposure 50% (it read 0% when unmet tonnes counted
    # as not attributed); gallium within a generous budget: Germany 20 + Japan 10 + China 10, 25%. The worst is 50%.
    ban = {"type": "export_ban", "name": "no_ge", "exporter": "CHN", "minerals": ["ge"], "years": 2025}
    r = solve_dict(tiny, minerals=["ga", "ge"], policies=[ban],
                   objective={"minimise": "dependence", "aggregate": "max", "budget": 1e6})
    exposure = r.summary["dependence"]["exposure"]
    assert exposure["by_mineral"]["ge"]["optimised_pct"] == approx(50.0)
    assert exposure["overall_pct"] == approx(50.0)
    assert r.summary["dependence"]["share_of_supply"]["by_mineral"]["ge"]["optimised_pct"] == approx(0.0)
    assert "all (max)" in render_summary(r.summary)
