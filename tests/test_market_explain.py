"""``critmin explain`` of a market scenario: hand-worked two-region cases, and every figure as ``solve`` writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_market import HAND_CAPACITY, write_market

from engine import api
from engine.analysis.market_explain import explain_market, explain_result, render_market
from engine.cli import main
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import scenario_from_dict
from engine.market import solve_market

from conftest import tiny_scenario, write_dataset

# ------------------------------------------------------------------------------------ two regions, three plants
# USA (the United States) and ROW (everything else); trade cost 5 between them. Plants: USA-GA in the US, 10 t at
# 50 USD/t; CHN-GA in China, 30 t at 20; JPN-GA in Japan, 20 t at 80. Inelastic demand USA 15 t, ROW 20 t.
#
# Open trade (by hand, as tests/test_market.py's case with JPN-GA idle): CHN-GA (cheapest) runs full, 10 t to the
# US and 20 t to ROW; the US's other 5 t come from USA-GA at 50, which has spare capacity: the US price is 50, set by
# USA-GA. CHN-GA is full; its rent is 50 - 25 = 25, which ROW pays over its cost (ROW's price 20 + 25 = 45).
#
# China bans exports to the US: the US has USA-GA (10 t at 50) and JPN-GA (80 + 5 = 85). It takes USA-GA whole and
# 5 t of JPN-GA, which has 15 t spare: the US price is 85, set by the dearer plant JPN-GA; USA-GA's rent is 35.
# China's route to the US (20 + 5 = 25) is closed by the ban and would earn 85 - 25 = 60 a tonne. ROW buys 20 t of
# CHN-GA, which has 10 t spare: ROW's price is 20.
#
# The ban with JPN-GA at 3 t and the US's demand elastic (P0 100, elasticity -0.5, Q0 15 t): the curve's steps
# (engine/market/demand.py) hold 12.38 t at willingness to pay 146.8 and above, and 2.62 t more at 100 (step 6).
# The US gets 13 t (10 + 3), so step 6 is served in part: the US price is its willingness to pay, 100, and the US
# leaves 15 - 13 = 2 t of its reference quantity unconsumed.
PLANTS = [*HAND_CAPACITY,
          {"source_id": "JPN-GA", "mineral": "ga", "location": "JPN", "capacity_t": 20, "exportable_share": 1.0,
           "unit_cost_usd_per_t": 80, "first_year": 2020, "last_year": ""}]
BAN = {"type": "export_ban", "name": "no_ga_to_us", "exporter": "CHN", "by": "location", "allowed_share": 0.0,
       "regions": ["USA"]}


def two_regions(tmp_path: Path, *, policies: list[dict] = (), japan_t: float = 20, elasticity: float = 0.0):
    plants = [dict(p) for p in PLANTS]
    plants[-1]["capacity_t"] = japan_t
    inputs = write_dataset(tmp_path / "inputs", capacity=plants,
                           demand=[{"mineral": "ga", "year": 2025, "demand_t": 15}])
    curve = {"elasticity": elasticity, "elasticity_low": elasticity, "elasticity_high": elasticity}
    write_market(inputs, [("USA", "USA"), ("ROW", "*")],
                 [{"region": "USA", "quantity_t": 15, **curve}, {"region": "ROW", "quantity_t": 20}], {"ga": 5.0})
    return scenario_from_dict(tiny_scenario(market="equilibrium", policies=list(policies)), load_dataset(inputs))


def test_open_trade_price_is_set_by_the_named_plant_with_spare_capacity(tmp_path: Path):
    ex = explain_market(two_regions(tmp_path))
    (s,) = ex.stories
    assert (s.mineral, s.year, s.region) == ("ga", 2025, "USA")
    assert s.price_usd_per_t == pytest.approx(50.0)
    assert (s.low.value, s.high.value, s.low.set_by, s.high.set_by) == (50.0, 50.0, "supply USA-GA", "supply USA-GA")
    assert s.set_by == "both" and s.setter.startswith("the marginal source, USA-GA in the United States: "
                                                      "production 50 USD/t")
    assert {r.source_id: r.tonnes for r in s.sources} == pytest.approx({"CHN-GA": 10.0, "USA-GA": 5.0})
    # China's plant is cheaper (25) but full: ROW takes the rest of it at its price 45, paying a rent of 25
    (china,) = s.passed_over
    assert china.source_id == "CHN-GA" and china.rent == pytest.approx(25.0)
    assert china.reasons == ["full at 30 t, taken by Rest of world 20 t (its price 45): it earns a rent of 25 USD/t "
                             "over its cost from its buyers, so a tonne more would cost USA 50"]
    assert s.consumed_t == pytest.approx(15.0) and s.unconsumed_t == 0.0
    assert s.policies == [] and s.certificate is None


def test_a_ban_on_the_us_makes_a_dearer_plant_set_its_price_and_names_the_closed_route(tmp_path: Path):
    ex = explain_market(two_regions(tmp_path, policies=[BAN]))
    (s,) = ex.stories
    assert s.price_usd_per_t == pytest.approx(85.0)
    assert s.high.set_by == "supply JPN-GA" and s.high.value == pytest.approx(85.0)
    assert s.setter == "the marginal source, JPN-GA in Japan: production 80 + trade 5 = 85 USD/t"
    assert {r.source_id: r.tonnes for r in s.sources} == pytest.approx({"USA-GA": 10.0, "JPN-GA": 5.0})
    assert {r.source_id: r.scarcity for r in s.sources} == pytest.approx({"USA-GA": 35.0, "JPN-GA": 0.0})
    (china,) = s.passed_over  # USA-GA is cheaper too, but the US takes all of it
    assert china.source_id == "CHN-GA" and china.tonnes == 0.0
    assert china.reasons == ["closed to USA by 'no_ga_to_us' (export_ban)"]
    (ban,) = s.policies
    assert (ban["policy"], ban["binds"], ban["routes_closed"], ban["routes_binding"]) == ("no_ga_to_us", True, 1, 1)
    assert ban["route_value_max_usd_per_t"] == pytest.approx(60.0)
    effects = {e["region"]: e for e in ban["effects"]}
    assert effects["USA"]["price_with_usd_per_t"] == pytest.approx(85.0)
    assert effects["USA"]["price_without_usd_per_t"] == pytest.approx(50.0)
    text = render_market(ex)
    assert "  - CHN-GA in China, 25 USD/t, USA takes 0 t: closed to USA by 'no_ga_to_us' (export_ban)" in text
    assert ("  - 'no_ga_to_us' (export_ban on USA): binds: 1 of 1 routes it closes would earn more than they cost "
            "(up to USD 60/t)") in text


def test_a_demand_step_sets_the_price_when_the_us_goes_short(tmp_path: Path):
    ex = explain_market(two_regions(tmp_path, policies=[BAN], japan_t=3, elasticity=-0.5))
    (s,) = ex.stories
    assert s.price_usd_per_t == pytest.approx(100.0)
    assert (s.low.set_by, s.high.set_by) == ("demand step 6", "demand step 6")
    assert s.consumed_t == pytest.approx(13.0) and s.reference_t == pytest.approx(15.0)
    assert s.unconsumed_t == pytest.approx(2.0)
    assert s.setter == ("demand: USA goes short at a willingness to pay of 100 USD/t (demand step 6), leaving 2.00 t "
                        "of its reference 15 t unconsumed")
    assert "gallium 2025: USA price 100 USD/t; consumes 13 t of its reference 15 t (2.00 t unconsumed)." in \
        render_market(ex)


# A plant the US shares with ROW sets its price. CHN-GA 30 t at 20, DEU-GA 20 t at 80, USA-GA 20 t at 100;
# Germany may not export to the US. CHN-GA runs full (15 t to each region); ROW's other 5 t come from DEU-GA, which
# has spare capacity: ROW's price is 80, and CHN-GA's rent 80 - 20 = 60. The US buys only CHN-GA's tonnes, at its
# own cost 25 + the same rent = 85: inside its interval (25, what CHN-GA costs it, to 100, USA-GA's cost).
def test_a_full_plant_shared_with_another_region_sets_the_us_price(tmp_path: Path):
    inputs = write_dataset(tmp_path / "inputs", demand=[{"mineral": "ga", "year": 2025, "demand_t": 15}], capacity=[
        {"source_id": f"{c}-GA", "mineral": "ga", "location": c, "capacity_t": t, "exportable_share": 1.0,
         "unit_cost_usd_per_t": cost, "first_year": 2020, "last_year": ""}
        for c, t, cost in (("CHN", 30, 20), ("DEU", 20, 80), ("USA", 20, 100))])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")],
                 [{"region": "USA", "quantity_t": 15}, {"region": "ROW", "quantity_t": 20}], {"ga": 5.0})
    ban = {**BAN, "name": "no_german_ga", "exporter": "DEU"}
    loaded = scenario_from_dict(tiny_scenario(market="equilibrium", policies=[ban]), load_dataset(inputs))
    (s,) = explain_market(loaded).stories
    assert s.price_usd_per_t == pytest.approx(85.0)
    assert (s.low.value, s.high.value) == pytest.approx((25.0, 100.0)) and s.set_by == "inside"
    assert s.setter == ("competition for a full plant: CHN-GA in China is full, and Rest of world also buys its "
                        "output, at its price 80 USD/t (its cost there 20 + a rent of 60); USA pays its own cost 25 "
                        "+ the same rent")


# ------------------------------------------------------------------------------------ the shipped scenarios
def _solve_files(tmp_path: Path, scenario: str) -> Path:
    folder = tmp_path / scenario
    r = CliRunner().invoke(main, ["solve", scenario, "--out", str(folder)])
    assert r.exit_code == 0, r.output
    return folder


def _explained(scenario: str, *args: str) -> dict:
    r = CliRunner().invoke(main, ["explain", scenario, *args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize("scenario", ["market", "market_policies"])
def test_every_figure_is_the_one_solve_writes(tmp_path: Path, scenario: str):
    folder = _solve_files(tmp_path, scenario)
    prices = pd.read_csv(folder / "prices.csv", keep_default_na=False).set_index(["region", "mineral", "year"])
    flows = pd.read_csv(folder / "market_flows.csv")
    effects = pd.read_csv(folder / "policy_effects.csv")
    status = pd.read_csv(folder / "policies.csv", keep_default_na=False).set_index("policy")
    ex = _explained(scenario, "--year", "2025", "--year", "2030")
    assert {(s["mineral"], s["year"]) for s in ex["explained"]} == {(m, y) for m in ("co", "ga", "ge", "li", "ni")
                                                                     for y in (2025, 2030)}
    for s in ex["explained"]:
        row = prices.loc[("USA", s["mineral"], s["year"])]
        assert s["price_usd_per_t"] == pytest.approx(row["price_usd_per_t"], rel=1e-9)
        assert (s["low"]["set_by"], s["high"]["set_by"]) == (row["low_set_by"], row["high_set_by"])
        for end, column in (("low", "price_low_usd_per_t"), ("high", "price_high_usd_per_t")):
            if s[end]["value"] is not None:
                assert s[end]["value"] == pytest.approx(float(row[column]), rel=1e-9)
        assert s["consumed_t"] == pytest.approx(row["quantity_t"], rel=1e-9)
        mine = flows[(flows["region"] == "USA") & (flows["mineral"] == s["mineral"]) & (flows["year"] == s["year"])]
        assert {r["source_id"]: r["tonnes"] for r in s["sources"]} == pytest.approx(
            dict(zip(mine["source_id"], mine["tonnes"], strict=True)), rel=1e-9)
        for r in s["sources"]:
            written = mine[mine["source_id"] == r["source_id"]].iloc[0]
            assert r["delivered"] == pytest.approx(written["delivered_cost_usd_per_t"], rel=1e-9)
        for p in s["policies"]:
            assert p["type"] == status.loc[p["policy"], "type"]
            written = effects[(effects["policy"] == p["policy"]) & (effects["mineral"] == s["mineral"])]
            assert {e["region"]: e["welfare_change_pv_usd"] for e in p["effects"]} == pytest.approx(
                dict(zip(written["region"], written["welfare_change_pv_usd"], strict=True)), rel=1e-9)
            assert {e["region"]: e["price_with_usd_per_t"] for e in p["effects"]} == pytest.approx(
                dict(zip(written["region"], written["price_with_usd_per_t"], strict=True)), rel=1e-9)


def test_binding_by_mineral_year_adds_up_to_policies_csv(tmp_path: Path):
    # one definition: the per-mineral-year rows and routes of every policy add up to solve's whole-horizon figures
    folder = _solve_files(tmp_path, "market_policies")
    status = pd.read_csv(folder / "policies.csv", keep_default_na=False).set_index("policy")
    loaded = api.load("market_policies")
    result = solve_market(loaded)
    ex = explain_result(result, minerals=sorted(result.lp.balances["mineral"].unique()), years=loaded.scenario.years)
    assert len(ex.stories) == 5 * len(loaded.scenario.years)
    totals: dict[str, dict[str, float]] = {}
    for s in ex.stories:
        for p in s.policies:
            t = totals.setdefault(p["policy"], {"rows": 0, "binding_rows": 0, "routes_closed": 0,
                                                "routes_binding": 0, "route_value_max_usd_per_t": 0.0,
                                                "shadow_price_max": 0.0})
            for k in ("rows", "binding_rows", "routes_closed", "routes_binding"):
                t[k] += p[k]
            for k in ("route_value_max_usd_per_t", "shadow_price_max"):
                t[k] = max(t[k], p[k])
    for name, t in totals.items():
        for k in ("rows", "binding_rows", "routes_closed", "routes_binding"):
            assert t[k] == int(status.loc[name, k]), (name, k)
        for k in ("route_value_max_usd_per_t", "shadow_price_max"):
            assert t[k] == pytest.approx(float(status.loc[name, k]), rel=1e-9), (name, k)
    assert totals["china_ga_ge_ban"]["routes_binding"] > 0 and totals["eu_crma_65pct"]["binding_rows"] > 0


def test_the_goals_certificate_is_certificates_csv(tmp_path: Path):
    folder = _solve_files(tmp_path, "market_goal")
    certificates = pd.read_csv(folder / "certificates.csv").set_index(["mineral", "year"])
    ex = _explained("market_goal", "--mineral", "cobalt")
    assert [s["year"] for s in ex["explained"]] == list(range(2025, 2036))
    for s in ex["explained"]:
        row = certificates.loc[(s["mineral"], s["year"])]
        c = s["certificate"]
        assert c["certificate_price_usd_per_t"] == pytest.approx(row["certificate_price_usd_per_t"], rel=1e-9)
        assert c["charge_attributed_usd_per_t"] == pytest.approx(row["charge_attributed_usd_per_t"], rel=1e-9)
        assert c["binding"] == bool(row["binding"])
    assert any(s["certificate"]["binding"] for s in ex["explained"])


# ------------------------------------------------------------------------------------ selections
def test_the_default_is_the_first_year_every_mineral():
    ex = _explained("market")
    assert [(s["mineral"], s["year"]) for s in ex["explained"]] == [(m, 2025) for m in ("co", "ga", "ge", "li", "ni")]
    assert ex["market"] == "equilibrium" and ex["region"] == "USA"


@pytest.mark.parametrize(("args", "message"), [
    (["--year", "1800"], "Error: --year: 1800 is outside the horizon 2025-2035 of scenario 'market'; expected a "
                         "year from 2025 to 2035"),
    (["--mineral", "tin"], "Error: --mineral: 'tin' is not modelled in scenario 'market'; expected one of co "
                           "(cobalt), ga (gallium), ge (germanium), li (lithium), ni (nickel)"),
    (["--solver", "pulp"], "Error: --solver pulp: market mode is solved by HiGHS in-process only; leave --solver "
                           "out"),
])
def test_a_selection_that_selects_nothing_says_so_in_one_line(args: list[str], message: str):
    r = CliRunner().invoke(main, ["explain", "market", *args])
    assert r.exit_code == 2
    assert r.output.strip() == message


def test_the_python_api_gives_the_same_explanation():
    explained = api.explain("market_policies", minerals=["gallium"], years=[2025])
    assert explained.years[["mineral", "year", "low_set_by", "high_set_by"]].values.tolist() == [
        ["ga", 2025, "supply JPN-GA-1", "supply KOR-GA-1"]]
    assert "closed to USA by 'china_ga_ge_ban' (export_ban)" in explained.text
    assert explained.sources["tonnes"].sum() == pytest.approx(explained.years["consumed_t"].iloc[0], rel=1e-9)
