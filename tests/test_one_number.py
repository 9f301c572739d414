"""One definition per number: stress against the plan itself, deals only with the unmet demand they remove, one
least-cost reference, robust's nominal check, and the same figure in every command that shows it.

Hand-worked on the tiny gallium model with a US plant (demand 40 t in 2025, no discounting, capex annuity
20 USD per t/yr, opex 150 USD/t, no lead time, attribution 0):

- least cost: China 40 t at 100 = 4,000, dependence 100%;
- budget +50% = 6,000: Germany's 20 t replace China at +50/t (+1,000), the plant at +70/t (+1,000 buys
  1,000 / 70 = 14.2857 t/yr), so dependence = (40 − 20 − 14.2857) / 40 = 14.2857% at cost 6,000.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import engine
from engine.analysis.compare import compare
from engine.analysis.frontier_run import run_frontier
from engine.analysis.robust import robust
from engine.analysis.robust_run import render_robust
from engine.analysis.stress import stress
from engine.analysis.stress_run import render_stress
from engine.analysis.sweep import SampleRunner
from engine.formulation import build_model
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import load_scenario, scenario_from_dict, with_overrides
from engine.inputs.schema import Budget, ExportBan
from engine.outputs.display import pct, render_summary, tonnes, usd
from engine.outputs.files import write_csv
from engine.outputs.results import attributed_by_group, cost_with_unmet_pv, total_cost_pv, unmet_value_pv
from engine.outputs.run_folder import write_results
from engine.plan.hierarchy import PlanSession
from engine.run import run_scenario
from engine.solvers import make_backend

from conftest import tiny_scenario, write_dataset

approx = functools.partial(pytest.approx, rel=1e-6, abs=1e-6)
PLANT = {"option_id": "US-PLANT", "mineral": "ga", "host": "USA", "partner": "USA", "mode": "domestic",
         "partner_equity_share": 0.0, "capex_usd_per_tpy": 20.0, "opex_usd_per_t": 150.0, "royalty_usd_per_t": 0.0,
         "lead_time_years": 0, "max_size_tpy": 40.0, "min_size_tpy": "", "earliest_start": 2025}
PLANT_TPY = 1000.0 / 70.0


def plant_scenario(tmp_path, *, plant=PLANT, **overrides):
    dataset = load_dataset(write_dataset(tmp_path / "inputs", jv_options=[plant]))
    data = tiny_scenario(**{"objective": {"minimise": "dependence", "budget": "+50%"},
                            "finance": {"discount_rate": 0.0, "asset_life_years": 1}, **overrides})
    return scenario_from_dict(data, dataset, name="plant")


# ----------------------------------------------------------------------------------------------- stress
def test_stress_base_is_the_plan_itself_and_a_no_op_changes_nothing(tmp_path):
    shocks = [{"name": "nothing", "country": "CHN", "share": 1.0}]
    result = stress(plant_scenario(tmp_path, shocks=shocks))
    assert result.base["cost_pv_usd"] == approx(6000.0)
    assert result.base["exposure_pct"] == approx(100.0 * (20.0 - PLANT_TPY) / 40.0)
    t = result.table.set_index("shock")
    for shock in ("nothing", "JPN cuts ga (location)"):  # a share of 1; a cut of a source the plan does not use
        row = t.loc[shock]
        # within the hierarchy's tolerance on fixed levels (relative 1e-8 of USD 6,000)
        assert row["cost_jump_usd"] == pytest.approx(0.0, abs=1e-4), shock
        assert row["cost_with_unmet_jump_usd"] == pytest.approx(0.0, abs=1e-4), shock
        assert row["exposure_change_pp"] == approx(0.0) and row["unmet_added_t"] == approx(0.0), shock
    assert t.loc["nothing", "cost_jump_usd"] == 0.0 and t.loc["nothing", "exposure_change_pp"] == 0.0
    # without China: Germany 20 + plant 14.2857 (built) + Japan 5.7143 = 40 t, no shortfall; the only plan costs
    # 3,000 + 285.71 capex + 2,142.86 opex + 1,142.86 = 6,571.43, over the 6,000 budget: +571.43; dependence 0
    china = t.loc["CHN cuts ga (location)"]
    assert china["unmet_added_t"] == approx(0.0)
    assert china["cost_jump_usd"] == approx(3000.0 + 170.0 * PLANT_TPY + 200.0 * (20.0 - PLANT_TPY) - 6000.0)
    assert china["exposure_change_pp"] == approx(-100.0 * (20.0 - PLANT_TPY) / 40.0)


def test_deals_are_listed_with_the_unmet_demand_they_remove(tmp_path):
    # minimise cost: the base plan buys China's 40 t and builds nothing. Cut China: Germany 20 + Japan 10 = 30 t,
    # 10 t unmet (value 10 x 100 x 10 = 10,000). Built now, a 10 t/yr plant removes the 10 t: the deal listed is
    # the least that removes it (a bigger plant would also replace Japan's dearer tonnes, a saving, not a hedge).
    loaded = plant_scenario(tmp_path, objective={"minimise": "cost"})
    row = stress(loaded).table.set_index("shock").loc["CHN cuts ga (location)"]
    assert row["unmet_added_t"] == approx(10.0)
    assert row["unmet_value_added_pv_usd"] == approx(10_000.0)
    assert row["cost_jump_usd"] == approx(3000.0 + 2000.0 - 4000.0)
    assert row["cost_with_unmet_jump_usd"] == approx(1000.0 + 10_000.0)
    assert row["unmet_added_with_hedges_t"] == approx(0.0)
    assert row["covering_options"] == "gallium -10 t unmet: gallium domestic build in the United States +10.00 t/yr"


def test_a_stockpile_purchase_is_listed_when_it_is_what_removes_unmet_demand(tmp_path):
    # 2025-2026, 40 t a year; China cut in 2026 leaves 10 t unmet. The plant is two years away; buying 10 t of
    # China's 2025 tonnes into a stockpile (up to 10 t) and drawing them in 2026 removes the 10 t.
    demand = [{"mineral": "ga", "year": y, "demand_t": 40} for y in (2025, 2026)]
    dataset = load_dataset(write_dataset(tmp_path / "inputs", demand=demand,
                                         jv_options=[{**PLANT, "lead_time_years": 2}]))
    data = tiny_scenario(objective={"minimise": "cost"}, horizon={"start": 2025, "end": 2026},
                         stockpile={"ga": {"initial_t": 0, "capacity_t": 10, "max_purchase_t": 10}},
                         shocks=[{"name": "cut_2026", "country": "CHN", "years": 2026, "share": 0.0}])
    result = stress(scenario_from_dict(data, dataset, name="pile"), include_n_minus_one=False)
    row = result.table.set_index("shock").loc["cut_2026"]
    assert row["unmet_added_t"] == approx(10.0)
    assert row["unmet_added_with_hedges_t"] == approx(0.0)
    assert row["covering_options"] == "gallium -10 t unmet: stockpile +10 t"


def test_deals_that_remove_nothing_are_not_listed(tmp_path):
    # with a year of lead time the plant cannot come online inside the one-year horizon
    loaded = plant_scenario(tmp_path, plant={**PLANT, "lead_time_years": 1}, objective={"minimise": "cost"})
    row = stress(loaded).table.set_index("shock").loc["CHN cuts ga (location)"]
    assert row["unmet_added_t"] == approx(10.0)
    assert row["unmet_added_with_hedges_t"] == approx(10.0)
    assert row["covering_options"] == ""


# ----------------------------------------------------------------------------------------------- unmet demand
def test_cost_with_unmet_demand_is_cost_plus_its_one_value(tiny):
    # China banned: Germany 20 + Japan 10 = 30 t at 5,000; 10 t unmet at 10 x 100 = 10,000 (no discounting)
    data = tiny_scenario(objective={"minimise": "cost"},
                         policies=[{"type": "export_ban", "exporter": "CHN", "name": "ban"}])
    result = run_scenario(scenario_from_dict(data, tiny))
    cost, short = result.summary["cost"], result.summary["shortfall"]
    assert cost["total_pv_usd"] == approx(5000.0)
    assert short["value_usd"] == approx(10_000.0) and short["value_pv_usd"] == approx(10_000.0)
    assert cost["unmet_value_pv_usd"] == approx(10_000.0)
    assert cost["total_with_unmet_pv_usd"] == approx(15_000.0)
    assert cost_with_unmet_pv(result.model, result.plan.x) == approx(15_000.0)
    assert short["valued_at"] == "10x the mineral's reference price per tonne"
    assert result.tables.shortfall["value_pv_usd"].sum() == approx(10_000.0)


def test_unmet_value_is_discounted_like_costs(tiny):
    # the same ban over 2025-2026 at 10%: 2026's 10 t are worth 10,000 / 1.1 in present value
    data = tiny_scenario(objective={"minimise": "cost"}, horizon={"start": 2025, "end": 2026},
                         finance={"discount_rate": 0.1},
                         policies=[{"type": "export_ban", "exporter": "CHN", "name": "ban"}])
    demand = [{"mineral": "ga", "year": y, "demand_t": 40} for y in (2025, 2026)]
    dataset = load_dataset(write_dataset(tiny.folder.parent / "two_years", demand=demand))
    result = run_scenario(scenario_from_dict(data, dataset))
    assert result.summary["shortfall"]["value_usd"] == approx(20_000.0)
    assert unmet_value_pv(result.model, result.plan.x) == approx(10_000.0 + 10_000.0 / 1.1)


# ----------------------------------------------------------------------------------------------- CSV digits
def test_every_float_is_written_with_ten_significant_digits(tmp_path):
    # a column of floats held as objects (as a concatenation with an empty frame makes) is formatted too
    frame = pd.DataFrame({"a": pd.Series([1 / 3, 2.0], dtype=object), "b": [2 / 3, 1e-20], "c": ["x", "y"]})
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "a,b,c\n0.3333333333,0.6666666667,x\n2,1e-20,y\n"


def _long_floats(folder) -> list[str]:
    bad = []
    for path in sorted(folder.glob("*.csv")):
        for line in path.read_text().splitlines()[1:]:
            for cell in line.split(","):
                digits = cell.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
                if cell.replace(".", "", 1).replace("-", "").replace("e", "").isdigit() and len(digits) > 10:
                    bad.append(f"{path.name}: {cell}")
    return bad


# ----------------------------------------------------------------------------------------------- shipped scenarios
@pytest.fixture(scope="module")
def ban_run():
    return run_scenario("ga_ge_ban")


def test_written_tables_of_a_shipped_run_have_ten_digits(ban_run, tmp_path):
    folder = write_results(ban_run, tmp_path / "ban")
    assert len(ban_run.tables.extra["duals"]) > 0
    assert _long_floats(folder) == []


def test_one_least_cost_reference_in_solve_and_frontier(ban_run):
    # the frontier's least-cost point is solve's least-cost plan, for all minerals and for each one
    loaded = ban_run.loaded
    least = ban_run.summary["dependence"]["exposure"]
    each = run_frontier(loaded, points=2, minerals=["each"])
    overall = run_frontier(loaded, points=2)
    assert each.ok and overall.ok
    for run in (each, overall):
        assert run.least_cost_usd == pytest.approx(ban_run.summary["cost"]["least_cost_with_unmet_pv_usd"], abs=0.01)
    first = overall.table.iloc[0]
    assert first["exposure_pct"] == pytest.approx(least["least_cost_overall_pct"], abs=1e-4)
    assert first["cost_with_unmet_pv_usd"] == pytest.approx(ban_run.summary["cost"]["least_cost_with_unmet_pv_usd"],
                                                            abs=0.01)
    assert first["cost_pv_usd"] == pytest.approx(ban_run.summary["cost"]["least_cost_pv_usd"], abs=0.01)
    assert first["premium_usd"] == 0.0
    for m, shares in least["by_mineral"].items():
        point = each.table[each.table["target"] == m].iloc[0]
        assert point["exposure_pct"] == pytest.approx(shares["least_cost_pct"], abs=1e-4), m
        assert first[f"{m}_pct"] == pytest.approx(shares["least_cost_pct"], abs=1e-4), m
    for part in (each.table, overall.table):  # 'avg since last' divides by the share achieved
        for target, rows in part.groupby("target"):
            cost, share = rows["cost_with_unmet_pv_usd"].to_numpy(), rows["exposure_pct"].to_numpy()
            fd = rows["finite_difference_usd_per_pp"].to_numpy()
            for k in range(1, len(rows)):
                if share[k - 1] - share[k] > 1e-9:
                    assert fd[k] == pytest.approx((cost[k] - cost[k - 1]) / (share[k - 1] - share[k])), target


def test_the_same_figures_in_solve_compare_stress_sweep_and_robust(ban_run, tmp_path):
    s = ban_run.summary
    folder = write_results(ban_run, tmp_path / "ban")
    rows = compare([str(folder), "ga_ge_ban"]).table.set_index("key")
    for key, value in (("cost.total_pv_usd", s["cost"]["total_pv_usd"]),
                       ("cost.total_with_unmet_pv_usd", s["cost"]["total_with_unmet_pv_usd"]),
                       ("dependence.exposure.overall_pct", s["dependence"]["exposure"]["overall_pct"]),
                       ("shortfall.value_pv_usd", s["shortfall"]["value_pv_usd"]),
                       ("shortfall.total_t", s["shortfall"]["total_t"])):
        assert list(rows.loc[key].iloc[-2:]) == [pytest.approx(value, rel=1e-9)] * 2, key
    # stress: the base plan, re-planned with its builds fixed and nothing shocked, is the plan
    loaded = with_overrides(ban_run.loaded, shocks=[])
    stressed = stress(loaded, include_n_minus_one=False)
    base = stressed.base
    printed = render_summary(s)  # the printed figures too: solve's cost and share in stress's header
    assert f"optimised {usd(s['cost']['total_with_unmet_pv_usd'])}" in printed
    assert f"= supply {usd(s['cost']['total_pv_usd'])}" in printed
    assert f"+ unmet demand {usd(s['cost']['unmet_value_pv_usd'])}" in printed
    exposure, share = s["dependence"]["exposure"]["overall_pct"], s["dependence"]["share_of_supply"]["overall_pct"]
    assert (f"({usd(s['cost']['total_with_unmet_pv_usd'])} including unmet demand at its value, exposure "
            f"{pct(exposure)}, share of supply {pct(share)}") in render_stress(stressed)
    assert base["cost_pv_usd"] == pytest.approx(s["cost"]["total_pv_usd"], rel=1e-7)
    assert base["cost_with_unmet_pv_usd"] == pytest.approx(s["cost"]["total_with_unmet_pv_usd"], rel=1e-7)
    assert base["exposure_pct"] == pytest.approx(s["dependence"]["exposure"]["overall_pct"], abs=1e-4)
    assert base["shortfall_t"] == pytest.approx(s["shortfall"]["total_t"], abs=1e-6)
    # sweep: a sample with nothing uncertain is the plan
    nominal = SampleRunner(with_overrides(ban_run.loaded, shocks=[], uncertainty=ban_run.loaded.scenario
                                          .uncertainty.model_copy(update={"demand": {}, "capacity": {},
                                                                          "cost": {}})), seed=1).run(0)
    assert nominal["cost_pv_usd"] == pytest.approx(s["cost"]["total_pv_usd"], rel=1e-9)
    assert nominal["cost_with_unmet_pv_usd"] == pytest.approx(s["cost"]["total_with_unmet_pv_usd"], rel=1e-9)
    assert nominal["exposure_pct"] == pytest.approx(exposure, abs=5e-5)  # 4 decimals
    assert nominal["share_of_supply_pct"] == pytest.approx(share, abs=5e-5)
    assert nominal["shortfall_value_pv_usd"] == pytest.approx(s["shortfall"]["value_pv_usd"], rel=1e-9)
    # robust: the deterministic plan re-planned on the nominal scenario is solve's plan
    settings = ban_run.loaded.scenario.robust.model_copy(update={"scenarios": 2, "evaluation": 2})
    result = robust(with_overrides(ban_run.loaded, robust=settings))
    n = result.nominal
    assert n.status == "optimal"
    assert n.cost_pv_usd == pytest.approx(s["cost"]["total_pv_usd"], rel=1e-7)
    assert n.total_usd == pytest.approx(s["cost"]["total_with_unmet_pv_usd"], rel=1e-7)
    assert n.exposure_pct == pytest.approx(exposure, abs=1e-4)
    assert n.share_of_supply_pct == pytest.approx(share, abs=1e-4)
    assert result.solved.cost_pv_usd == pytest.approx(s["cost"]["total_pv_usd"], abs=0.01)
    assert (f"re-planned this way has exposure {pct(exposure)} and cost {usd(s['cost']['total_with_unmet_pv_usd'])} "
            f"including unmet demand (10x reference price, PV), {tonnes(s['shortfall']['total_t'])} t unmet: "
            f"solve's plan.") in \
        render_robust(result)
    assert result.budget_usd == pytest.approx(s["cost"]["budget_pv_usd"], rel=1e-9)
    assert result.vss_usd == pytest.approx(float(np.mean(result.vss_by_scenario_usd)), rel=1e-9, abs=1e-3)


# ----------------------------------------------------------------------------------------------- properties
def _variants(seed: int, count: int) -> list:
    """Seeded variants of shipped scenarios: random demand scales on a random scenario."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        name = str(rng.choice(["baseline", "ga_ge_ban", "crma_caps", "feoc_strict"]))
        loaded = load_scenario(name)
        scale = {m: float(rng.uniform(0.7, 1.3)) for m in ("li", "ni", "co", "ga", "ge")}
        data = loaded.scenario.data.model_copy(update={"demand_scale": scale})
        out.append((name, with_overrides(loaded, data=data)))
    return out


@pytest.mark.parametrize("name, loaded", _variants(14, 3), ids=lambda v: v if isinstance(v, str) else "")
def test_monotone_in_budget_ban_and_cap(name, loaded):
    model = build_model(loaded)
    session = PlanSession(model, make_backend("highs"))
    # a looser budget never raises dependence
    levels = [session.solve(budget=Budget(premium=p)).dependence_level for p in (0.005, 0.02, 0.05)]
    assert all(b <= a + 1e-7 * max(1.0, abs(a)) for a, b in itertools.pairwise(levels)), levels
    # a tighter dependence cap never lowers cost (the frontier sweeps it)
    table = run_frontier(loaded, points=3).table
    cost = table["cost_with_unmet_pv_usd"].to_numpy()  # what the frontier minimises
    assert all(b >= a * (1 - 1e-8) for a, b in itertools.pairwise(cost)), cost
    # a ban never lowers the least cost including unmet demand (valued: the one objective; shortfall first: the
    # pair (shortfall, least cost) lexicographically)
    base = session.solve(minimise="cost")
    rng = np.random.default_rng(len(name))
    exporter = str(rng.choice(["CHN", "IDN", "COD", "AUS", "CAN"]))
    ban = ExportBan(type="export_ban", name="random_ban", exporter=exporter)
    banned = with_overrides(loaded, policies=[*loaded.scenario.policies, ban])
    after = PlanSession(build_model(banned), make_backend("highs")).solve(minimise="cost")
    assert after.least_cost_usd >= base.least_cost_usd * (1 - 1e-8), (exporter, base.least_cost_usd,
                                                                        after.least_cost_usd)


@pytest.mark.parametrize("name", ["baseline", "jv_quid_pro_quo"])
def test_combined_basis_is_at_least_location_and_ownership_on_the_same_plan(name):
    loaded = load_scenario(name)
    result = run_scenario(loaded)
    china = {}
    for basis in ("location", "ownership", "combined"):
        dependence = loaded.scenario.dependence.model_copy(update={"basis": basis})
        model = build_model(with_overrides(loaded, dependence=dependence))
        assert model.lp.n_cols == result.model.lp.n_cols
        china[basis] = attributed_by_group(model, result.plan.x)["china_t"].to_numpy()
    assert (china["combined"] >= china["location"] - 1e-9).all()
    assert (china["combined"] >= china["ownership"] - 1e-9).all()
    assert total_cost_pv(result.model, result.plan.x) == pytest.approx(result.summary["cost"]["total_pv_usd"])


def test_unmet_demand_is_valued_in_one_place():
    # outside the formulation (which builds the objective from it), only results.unmet_value reads the value of
    # unmet demand: every table, summary, analysis and printout goes through it
    root = Path(engine.__path__[0])
    readers = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", '"', "`")))
        if '"unmet_value_usd_per_t"' in code or "'unmet_value_usd_per_t'" in code:
            readers.append(path.relative_to(root).as_posix())
    assert readers == ["formulation/demand.py", "outputs/results.py"]
