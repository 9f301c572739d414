"""Policy impacts from the whole plan (``engine/plan/impacts.py``, ``engine/outputs/policy_status.py``): hand-worked
tiny cases, and properties over the shipped scenarios.

Tiny data (``conftest``), 2025 only, no discounting. Gallium: CHN 50 t at USD 100/t, DEU 20 t at 150, JPN 10 t at
200; demand 40 t; unmet demand worth 10 × 100 = USD 1,000/t. Germanium: CHN 100 t at 1,000, DEU 5 t at 1,500; demand
10 t; unmet worth USD 10,000/t. With ``minimise: cost`` the plan is the least-cost plan.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from engine.cli import main
from engine.formulation import build_model
from engine.inputs.schema import Budget
from engine.outputs.policy_status import base_figures, changes, figures
from engine.plan.hierarchy import PlanSession, objectives
from engine.plan.impacts import Impacts, without_policy
from engine.run import run_scenario
from engine.solvers import SolverOptions, make_backend

from conftest import solve_dict, tiny_scenario, write_dataset

POLICIES = [
    # gallium from China banned: DEU 20 t + JPN 10 t = 30 t for 40 t of demand: 10 t unmet.
    # with: 20 x 150 + 10 x 200 + 10 x 1,000 = 15,000; without: 40 x 100 = 4,000 -> adds 10 t and USD 11,000.
    # exposure (location basis), gallium: with 10/40 = 25% (unmet only), without 100%: -75 pp, mean over 2: -37.5.
    {"type": "export_ban", "name": "ga_ban", "exporter": "CHN", "minerals": ["ga"]},
    # DEU at most 95% of gallium: never near its limit.
    {"type": "country_cap", "name": "loose_cap", "max_share": 0.95, "countries": ["DEU"], "minerals": ["ga"]},
    # 10% on Chinese germanium: 10 t x 100 more; still cheaper than DEU's 1,500: adds USD 1,000 of cost only.
    {"type": "tariff", "name": "ge_tariff", "origin": ["CHN"], "ad_valorem": 0.1, "minerals": ["ge"]},
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from engine.inputs.dataset import load_dataset

    dataset = load_dataset(write_dataset(tmp_path_factory.mktemp("impacts") / "inputs"))
    result = solve_dict(dataset, minerals=["ga", "ge"], objective={"minimise": "cost"}, policies=POLICIES)
    assert result.ok
    return result


def test_a_ban_that_causes_shortfall(tiny_run):
    row = tiny_run.tables.extra["policies"].set_index("policy").loc["ga_ban"]
    assert (row["status"], row["covers_mineral_years"], row["unmet_mineral_years"]) == ("binds", 1, 1)
    assert row["unmet_added_t"] == pytest.approx(10.0, abs=1e-6)
    assert row["cost_with_unmet_added_usd"] == pytest.approx(11_000.0, rel=1e-6)
    assert row["least_cost_added_usd"] == pytest.approx(11_000.0, rel=1e-6)
    assert row["exposure_added_pp"] == pytest.approx(-37.5, abs=1e-6)
    years = tiny_run.tables.extra["policy_years"]
    ga = years[(years["policy"] == "ga_ban")].iloc[0]
    assert ga["unmet_added_t"] == pytest.approx(10.0, abs=1e-6)
    # one more tonne let through: 1 t from China at 100 instead of 1 t unmet at 1,000: -1 t, USD -900
    assert ga["relaxed_by"] == "1 t"
    assert (ga["relaxed_unmet_change_t"], ga["relaxed_cost_with_unmet_change_usd"]) == pytest.approx(
        (-1.0, -900.0), rel=1e-6)


def test_a_cap_that_never_binds(tiny_run):
    row = tiny_run.tables.extra["policies"].set_index("policy").loc["loose_cap"]
    assert (row["status"], row["changes"], row["covers_mineral_years"]) == ("slack", "", 1)
    assert [row[c] for c in ("unmet_added_t", "cost_with_unmet_added_usd", "least_cost_added_usd",
                             "exposure_added_pp")] == [0.0, 0.0, 0.0, 0.0]
    years = tiny_run.tables.extra["policy_years"]
    assert (years.loc[years["policy"] == "loose_cap", "relaxed_by"] == "").all()  # only binding ones are relaxed


def test_a_tariff_binds_through_cost(tiny_run):
    row = tiny_run.tables.extra["policies"].set_index("policy").loc["ge_tariff"]
    assert (row["status"], row["changes"]) == ("binds", "cost including unmet demand; least cost")
    assert (row["cost_with_unmet_added_usd"], row["least_cost_added_usd"]) == pytest.approx((1000.0, 1000.0), rel=1e-6)
    assert (row["unmet_added_t"], row["exposure_added_pp"]) == (0.0, 0.0)


def test_cli_prints_impacts_and_writes_both_tables(tmp_path):
    write_dataset(tmp_path / "inputs")
    scen = tiny_scenario(name="st", minerals=["ga", "ge"], objective={"minimise": "cost"}, policies=POLICIES,
                         data={"inputs": "inputs"})
    (tmp_path / "st.yaml").write_text(yaml.safe_dump(scen), encoding="utf-8")
    r = CliRunner().invoke(main, ["solve", str(tmp_path / "st.yaml"), "--out", str(tmp_path / "st")])
    assert r.exit_code == 0, r.output
    assert ("  - ga_ban (export ban) binds: +10.00 t unmet, +USD 11,000 cost including unmet, +USD 11,000 least "
            "cost, \u221237.500 pp exposure; unmet changes in 1 mineral-year (gallium 2025 +10.00 t); covers 1 "
            "mineral-years\n      one more tonne let through in gallium 2025: \u22121.00 t unmet, \u2212USD 900 "
            "cost including unmet, \u2212USD 900 least cost") in r.output
    assert "Slack (removing it changes no level of the plan): loose_cap (country cap, 1 mineral-years)" in r.output
    assert "shadow price" not in r.output.lower()
    csv = pd.read_csv(tmp_path / "st" / "policies.csv")
    assert list(csv["policy"]) == [p["name"] for p in POLICIES]
    summary = json.loads((tmp_path / "st" / "summary.json").read_text())
    assert [p["status"] for p in summary["policies"]] == ["binds", "slack", "binds"]
    assert "binding_policies" not in summary


def test_row_order_does_not_change_the_tables(tmp_path):
    from engine.inputs.dataset import load_dataset

    from conftest import TINY_CAPACITY

    a = load_dataset(write_dataset(tmp_path / "a"))
    b = load_dataset(write_dataset(tmp_path / "b", capacity=TINY_CAPACITY[::-1]))
    runs = [solve_dict(d, minerals=["ga", "ge"], objective={"minimise": "cost"}, policies=POLICIES) for d in (a, b)]
    for name in ("policies", "policy_years"):
        pd.testing.assert_frame_equal(runs[0].tables.extra[name], runs[1].tables.extra[name])


def test_empty_policy_list_gives_empty_tables(tiny):
    result = solve_dict(tiny, objective={"minimise": "cost"})
    assert result.tables.extra["policies"].empty and result.tables.extra["policy_years"].empty
    assert result.summary["policies"] == []


# ---------------------------------------------------------------------------------------------- shipped scenarios

SHIPPED = ["baseline", "crma_caps", "feoc_strict", "ga_ge_ban", "ira_content", "jv_quid_pro_quo"]


@pytest.fixture(scope="module")
def shipped():
    return {name: run_scenario(name) for name in SHIPPED}


def _fresh(loaded, budget, solver=None):
    """A plan of ``loaded`` on its own fresh build and backend, at ``budget`` USD (None: least cost)."""
    model = build_model(loaded)
    session = PlanSession(model, make_backend(solver, SolverOptions()))
    plan = session.solve(minimise="cost") if budget is None else session.solve(budget=Budget(absolute_usd=budget))
    return model, plan, figures(model, plan, float(objectives(model)["cost"] @ plan.x) * model.money_unit)


@pytest.mark.parametrize("name", SHIPPED)
def test_binding_means_a_fresh_build_without_it_changes_a_level(shipped, name):
    """Each policy's row against an independent fresh build of the scenario without it: binds exactly when a level
    moves beyond noise, and the impacts are the fresh build's."""
    result = shipped[name]
    base = base_figures(result.model, result.plan)
    budget = None if result.model.scenario.objective.minimise == "cost" else result.plan.budget_usd
    for row in result.tables.extra["policies"].to_dict("records"):
        _, _, fresh = _fresh(without_policy(result.loaded, row["policy"]), budget)
        change = changes(result.model, base, fresh)
        moved = any(change[k] != 0 for k in ("unmet_t", "cost_usd", "least_cost_usd", "exposure_pct"))
        assert (row["status"] == "binds") == moved, (name, row["policy"], change)
        assert row["unmet_added_t"] == pytest.approx(change["unmet_t"], abs=0.01)
        assert row["exposure_added_pp"] == pytest.approx(change["exposure_pct"], abs=1e-4)
        assert row["least_cost_added_usd"] == pytest.approx(change["least_cost_usd"], rel=1e-6, abs=1e3)


@pytest.mark.parametrize("name", ["baseline", "crma_caps"])
def test_a_whole_unit_equals_a_fresh_re_solve_with_it_relaxed(shipped, name):
    """A one-tonne relaxation of a ban or cap, made in place, against a fresh build whose data carries it: the cap's
    row written with one more tonne, or the ban's deliveries given one tonne through a quota row."""
    result = shipped[name]
    years = result.tables.extra["policy_years"]
    tried = years[years["relaxed_by"] != ""]
    assert len(tried)
    from engine.plan.impacts import relax_unit

    base = base_figures(result.model, result.plan)
    for r in tried.to_dict("records"):
        model = build_model(result.loaded)
        imp = Impacts(PlanSession(model, make_backend(None, SolverOptions())), result.loaded, result.plan)
        change = relax_unit(model, r["policy"], r["family"], r["mineral"], int(r["year"]), r["country"],
                            imp.without)
        # a fresh build and backend with the unit relaxed before its first (cold) solve
        session = PlanSession(model, make_backend(None, SolverOptions()))
        session.backend.set_col_bounds(change.cols, change.col_lower, change.col_upper)
        session.backend.set_row_bounds(change.rows, change.row_lower, change.row_upper)
        if change.allowance is not None:
            cols, upper = change.allowance
            session.backend.add_row(cols, np.ones(len(cols)), -np.inf, upper, "allowance")
        plan = session.solve(budget=Budget(absolute_usd=result.plan.budget_usd))
        fresh = changes(model, base, figures(model, plan, float(objectives(model)["cost"] @ plan.x)
                                             * model.money_unit), sign=-1.0)
        assert r["relaxed_unmet_change_t"] == pytest.approx(fresh["unmet_t"], abs=0.01)
        assert r["relaxed_exposure_change_pp"] == pytest.approx(fresh["exposure_pct"], abs=1e-4)
        assert r["relaxed_least_cost_change_usd"] == pytest.approx(fresh["least_cost_usd"], rel=1e-6, abs=1e3)


@pytest.mark.parametrize("name", ["tiny", "baseline"])
def test_highs_and_cbc_give_the_same_policy_table(shipped, tiny_run, name):
    """The same table from both backends, impacts equal within noise (CBC takes about 20 s on the baseline)."""
    if name == "tiny":
        highs, cbc = tiny_run, run_scenario(tiny_run.loaded, solver="cbc")
    else:
        highs, cbc = shipped[name], run_scenario(name, solver="cbc")
    a, b = highs.tables.extra["policies"], cbc.tables.extra["policies"]
    assert list(a["status"]) == list(b["status"])
    for column, tol in (("unmet_added_t", 0.01), ("exposure_added_pp", 1e-3), ("least_cost_added_usd", 1e4),
                        ("cost_with_unmet_added_usd", 1e4)):
        assert np.allclose(a[column], b[column], rtol=1e-6, atol=tol), column


def test_a_tighter_policy_never_makes_the_plan_look_better(shipped):
    """At one budget in USD, under the hierarchy: a tighter ban (a quota of the licensing share halved) never lowers
    the least cost (a smaller feasible set), never lowers exposure (minimised over a smaller set within the same
    budget), and at equal exposure never lowers cost including unmet demand (minimised last)."""
    base = shipped["baseline"]
    data = base.loaded.scenario.model_dump(mode="json", exclude_none=True)
    for share in (0.3, 0.1, 0.0):
        policies = [dict(p, allowed_share=share) if p["name"] == "china_ga_ge_licensing" else p
                    for p in data["policies"]]
        tight = base.loaded.scenario.model_copy(update={"policies": [
            type(p).model_validate(q) for p, q in zip(base.loaded.scenario.policies, policies, strict=True)]})
        from engine.inputs.scenario import LoadedScenario

        loaded = LoadedScenario(tight, base.loaded.dataset, base.loaded.path, base.loaded.chain, base.loaded.origins)
        _, _, f = _fresh(loaded, base.plan.budget_usd)
        b = base_figures(base.model, base.plan)
        assert f["least_cost_usd"] >= b["least_cost_usd"] * (1 - 1e-9)
        assert f["exposure_pct"] >= b["exposure_pct"] - 1e-6
        if abs(f["exposure_pct"] - b["exposure_pct"]) <= 1e-6:
            assert f["cost_usd"] >= b["cost_usd"] * (1 - 1e-9)


def test_explain_and_the_policy_table_agree(shipped):
    from engine.analysis.explain import explain

    for name in ("baseline", "jv_quid_pro_quo"):
        result = shipped[name]
        ex = explain(result.loaded)
        attributed = {(s.mineral, s.year, policy) for s in ex.stories for policy, _t in s.caused_by}
        table = {(y["mineral"], y["year"], p["policy"]) for p in result.summary["policies"]
                 for y in p["unmet_by_mineral_year_t"] if y["added_t"] > 0}
        stories = {(s.mineral, s.year) for s in ex.stories}
        assert attributed == {t for t in table if t[:2] in stories}
        assert all(p["status"] == "binds" for p in result.summary["policies"]
                   if any(a[2] == p["policy"] for a in attributed))


def test_no_impacts_lists_every_policy_as_not_computed_and_changes_nothing_else(tmp_path):
    # --no-impacts skips the re-solves, not the plan: the same plan and figures, every policy 'not computed' with
    # blank figures (a 0 would read as 'changes nothing'), and the printout says the impacts were skipped
    with_impacts = CliRunner().invoke(main, ["solve", "baseline", "--out", str(tmp_path / "with"), "--json"])
    without = CliRunner().invoke(main, ["solve", "baseline", "--out", str(tmp_path / "without"), "--json",
                                        "--no-impacts"])
    assert with_impacts.exit_code == 0 and without.exit_code == 0, without.output
    a, b = json.loads(with_impacts.stdout), json.loads(without.stdout)
    for key in ("cost", "dependence", "shortfall"):
        assert a[key] == b[key], key
    policies = pd.read_csv(tmp_path / "without" / "policies.csv", keep_default_na=False)
    assert list(policies["policy"]) == [p["policy"] for p in a["policies"]]
    assert set(policies["status"]) == {"not computed"}
    assert (policies[["unmet_mineral_years", "unmet_added_t", "least_cost_added_usd"]] == "").all().all()
    assert [p["unmet_mineral_years"] for p in b["policies"]] == [None] * len(policies)
    years_with = pd.read_csv(tmp_path / "with" / "policy_years.csv")
    years_without = pd.read_csv(tmp_path / "without" / "policy_years.csv")
    same = ["policy", "family", "mineral", "year", "country", "at_limit", "limit", "used", "slack"]
    pd.testing.assert_frame_equal(years_with[same], years_without[same])
    text = CliRunner().invoke(main, ["solve", "baseline", "--no-write", "--no-impacts"]).stdout
    assert ("  Policy impacts not computed (--no-impacts): 4 policies in force; policies.csv lists each as "
            "'not computed' and policy_years.csv its limits and use.") in text


def _seeded_policy(seed: int) -> dict:
    """One more policy on the baseline, drawn from a seed: a partial ban, a country cap or a tariff, on a mineral
    and a country drawn too."""
    import random

    rng = random.Random(seed)
    mineral = rng.choice(["li", "ni", "co", "ga", "ge"])
    country = rng.choice(["CHN", "IDN", "CAN", "AUS", "COD", "JPN"])
    kind = ["export_ban", "country_cap", "tariff"][seed % 3]
    if kind == "export_ban":
        return {"type": "export_ban", "name": "seeded", "exporter": country, "minerals": [mineral],
                "allowed_share": round(rng.uniform(0.0, 0.6), 2), "years": f"{rng.choice([2025, 2027, 2030])}+"}
    if kind == "country_cap":
        return {"type": "country_cap", "name": "seeded", "max_share": round(rng.uniform(0.2, 0.6), 2),
                "by": "location", "minerals": [mineral]}
    return {"type": "tariff", "name": "seeded", "origin": country, "by": "location",
            "ad_valorem": round(rng.uniform(0.05, 0.5), 2), "minerals": [mineral]}


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_binding_means_a_level_moves_on_seeded_variants(seed, tmp_path):
    """The shipped baseline with one seeded policy more: every policy's row against an independent fresh build of
    the variant without it, at the variant's budget in USD."""
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump({"name": f"seeded_{seed}", "extends": "baseline",
                                    "policies": [_seeded_policy(seed)]}), encoding="utf-8")
    result = run_scenario(path)
    assert result.ok, result.plan.message
    base = base_figures(result.model, result.plan)
    table = result.tables.extra["policies"]
    assert "seeded" in set(table["policy"])
    for row in table.to_dict("records"):
        _, _, fresh = _fresh(without_policy(result.loaded, row["policy"]), result.plan.budget_usd)
        change = changes(result.model, base, fresh)
        moved = any(change[k] != 0 for k in ("unmet_t", "cost_usd", "least_cost_usd", "exposure_pct"))
        assert (row["status"] == "binds") == moved, (seed, row["policy"], change)
        assert row["unmet_added_t"] == pytest.approx(change["unmet_t"], abs=0.01), (seed, row["policy"])
        assert row["exposure_added_pp"] == pytest.approx(change["exposure_pct"], abs=1e-4), (seed, row["policy"])
