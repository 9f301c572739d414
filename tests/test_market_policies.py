"""Market mode, item 3: policies per importing region, their rows and binding status, and JV builds with offtake
(hand-solved two-region cases, properties over shipped scenarios and seeded variants, bad input)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_market import HAND_CAPACITY, write_market

from engine.errors import InputError
from engine.formulation import build_model
from engine.inputs.dataset import load_dataset
from engine.inputs.market_tables import load_market
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.market import solve_market
from engine.market.build import build_market
from engine.market.frontier import WelfareAccount
from engine.market.rents import flow_row_rents, flow_transfers
from engine.market.solve import MarketSolver
from engine.market.welfare import welfare_pv, welfare_table

from conftest import tiny_scenario, write_dataset

approx = pytest.approx

BAN_US = {"type": "export_ban", "name": "ban", "exporter": "CHN", "allowed_share": 0.0}


def hand_inputs(tmp_path: Path, *, capacity: list[dict], demand: dict[str, float], jv_options: list[dict] | None = None,
                ownership: list[dict] | None = None, offtake: list[dict] | None = None) -> Path:
    """A two-region gallium market (USA; ROW, every other country) for 2025, inelastic demand at 1,000 USD/t
    (10 × the reference price 100), trade cost 5 USD/t between the regions."""
    inputs = write_dataset(tmp_path / "inputs", capacity=capacity, jv_options=jv_options, ownership=ownership,
                           demand=[{"mineral": "ga", "year": 2025, "demand_t": demand["USA"]}])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")],
                 [{"region": r, "quantity_t": q} for r, q in demand.items()], {"ga": 5.0})
    if offtake is not None:
        pd.DataFrame([{"source": "test", "estimate": "false", **row} for row in offtake]).to_csv(
            inputs / "market" / "offtake.csv", index=False)
    return inputs


def solve(inputs: Path, **scenario: object):
    return solve_market(scenario_from_dict(tiny_scenario(market="equilibrium", **scenario), load_dataset(inputs)))


def flows_of(result) -> dict[tuple[str, str], float]:
    return {(s, r): float(t) for s, r, t in zip(result.flows["source_id"], result.flows["region"],
                                                 result.flows["tonnes"], strict=True)}


def prices_of(result) -> dict[str, float]:
    return dict(zip(result.prices["region"], result.prices["price_usd_per_t"], strict=True))


def status_of(result, name: str) -> dict:
    return result.policies.set_index("policy").loc[name].to_dict()


def effects_of(result, name: str) -> pd.DataFrame:
    return result.policy_effects[result.policy_effects["policy"] == name].set_index("region")


# ------------------------------------------------------------------------------------------ a ban by destination
# test_market's hand case: plant A in the US (10 t at 50), plant B in China (30 t at 20, 40% US-owned), trade 5,
# demand USA 15 t, ROW 20 t at 1,000. Without a ban: A->USA 5, B->USA 10, B->ROW 20; prices USA 50, ROW 45.
# China bans exports to the US: the US gets only A's 10 t; 5 t go unmet, so the US price is the willingness to pay
# of the step not fully served, 1,000, and A (full) earns a rent of 950. B serves ROW (which holds China: no trade
# cost) 20 t with 10 t spare: ROW's price is B's cost, 20. The closed route B->USA would earn 1,000 - 25 = 975 a
# tonne. Welfare: US CS 0 + A's rent 9,500 (B's rent is 0, so its 40% US share earns nothing) = 9,500 (14,550
# without the ban: -5,050); ROW CS (1,000 - 20) x 20 = 19,600 (19,100 + 450 without: +50). The US re-sources 7.5 t
# (A 5 -> 10, B 10 -> 0: half of 5 + 10).
def test_ban_on_one_destination_by_hand(tmp_path: Path):
    inputs = hand_inputs(tmp_path, capacity=HAND_CAPACITY, demand={"USA": 15, "ROW": 20},
                         ownership=[{"source_id": "CHN-GA", "owner": "USA", "equity_share": 0.4}])
    for regions in ([], ["USA"], "all"):  # left out: the buyer's region; all: ROW holds China, its own market
        r = solve(inputs, policies=[{**BAN_US, **({"regions": regions} if regions else {})}])
        assert flows_of(r) == approx({("USA-GA", "USA"): 10.0, ("CHN-GA", "ROW"): 20.0})
        assert prices_of(r) == approx({"USA": 1000.0, "ROW": 20.0})
        s = status_of(r, "ban")
        assert (s["regions"], s["acts_by"], s["routes_closed"], s["routes_binding"]) == ("USA", "bounds", 1, 1)
        assert s["route_value_max_usd_per_t"] == approx(975.0) and s["binds"]
        e = effects_of(r, "ban")
        assert e["price_without_usd_per_t"].to_dict() == approx({"ROW": 45.0, "USA": 50.0})
        assert e["price_change_pct"].to_dict() == approx({"ROW": 100 * (20 / 45 - 1), "USA": 1900.0})
        assert e["consumed_change_t"].to_dict() == approx({"ROW": 0.0, "USA": -5.0})
        assert e["resourced_t"].to_dict() == approx({"ROW": 0.0, "USA": 7.5})
        assert e["welfare_change_pv_usd"].to_dict() == approx({"ROW": 50.0, "USA": -5050.0})
        w = r.welfare.set_index("region")["welfare_usd"]
        assert w.to_dict() == approx({"ROW": 19_600.0, "USA": 9_500.0})


def test_a_ban_on_another_region_leaves_the_buyer_alone(tmp_path: Path):
    # the same ban on ROW only: ROW holds China, so it bans nothing (an export ban never acts on its exporter's own
    # market) and the equilibrium is the one without it
    inputs = hand_inputs(tmp_path, capacity=HAND_CAPACITY, demand={"USA": 15, "ROW": 20})
    r = solve(inputs, policies=[{**BAN_US, "regions": ["ROW"]}])
    assert prices_of(r) == approx({"USA": 50.0, "ROW": 45.0})
    s = status_of(r, "ban")
    assert (s["regions"], s["acts_by"], s["binds"]) == ("", "nothing", None)


# ------------------------------------------------------------------------------------------ a country cap and its dual
# US plant U: 10 t at 50; Chinese plant C: 30 t at 20 (in ROW); demand USA 10, ROW 10; trade 5. Uncapped: C sends 10
# to each region and has 10 t spare: prices ROW 20, USA 25. A cap of 60% per country on the US region (its own
# plant exempt) is the row 0.4·x_C − 0.6·x_U ≤ 0: with x_C + x_U = 10, x_C = 6 and x_U = 4. Both plants have spare
# capacity (rent 0), so complementary slackness gives 25 + 0.4μ = price = 50 − 0.6μ: μ = 25, the US price 35. The
# certificate charges 0.4 × 25 = 10 a Chinese tonne and credits 0.6 × 25 = 15 a US tonne: net 6·10 − 4·15 = 0.
# US welfare (1,000 − 35) × 10 = 9,650 (U's margin 35 − 50 + 15 = 0): the cap costs the US 100 = 6·25 + 4·50 −
# 10·25. The US re-sources 4 t.
CAP_CAPACITY = [
    {"source_id": "USA-GA", "mineral": "ga", "location": "USA", "capacity_t": 10, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 50, "first_year": 2020, "last_year": ""},
    {"source_id": "CHN-GA", "mineral": "ga", "location": "CHN", "capacity_t": 30, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 20, "first_year": 2020, "last_year": ""},
]
CAP = {"type": "country_cap", "name": "cap", "max_share": 0.6}


def test_country_cap_row_and_its_dual_by_hand(tmp_path: Path):
    inputs = hand_inputs(tmp_path, capacity=CAP_CAPACITY, demand={"USA": 10, "ROW": 10})
    r = solve(inputs, policies=[{**CAP, "regions": ["USA"]}])
    assert flows_of(r) == approx({("USA-GA", "USA"): 4.0, ("CHN-GA", "USA"): 6.0, ("CHN-GA", "ROW"): 10.0})
    assert prices_of(r) == approx({"USA": 35.0, "ROW": 20.0})
    (row,) = r.lp.rows[r.lp.rows["family"] == "country_cap"].index
    assert r.lp.rows.loc[row, ["region", "country"]].tolist() == ["USA", "CHN"]
    assert r.solution.shadow[row] == approx(25.0)
    s = status_of(r, "cap")
    assert (s["rows"], s["binding_rows"], s["shadow_price_max"], s["shadow_price_unit"]) == (1, 1, approx(25.0),
                                                                                            "USD/t")
    charge = dict(zip(r.lp.flows["source_id"] + ">" + r.lp.flows["region"], flow_transfers(r.lp, r.solution),
                      strict=True))
    assert (charge["CHN-GA>USA"], charge["USA-GA>USA"], charge["CHN-GA>ROW"]) == approx((10.0, -15.0, 0.0))
    w = r.welfare.set_index("region")
    assert w.loc["USA", "welfare_usd"] == approx(9_650.0) and w.loc["USA", "government_revenue_usd"] == approx(0.0)
    e = effects_of(r, "cap")
    assert e.loc["USA", "welfare_change_pv_usd"] == approx(-100.0)
    assert e.loc["USA", "price_without_usd_per_t"] == approx(25.0) and e.loc["USA", "resourced_t"] == approx(4.0)


def test_a_cap_on_another_region_acts_on_its_imports_only(tmp_path: Path):
    # the same cap on ROW: its own countries (China among them) are exempt, so it caps only what ROW buys from the
    # US (one row, slack: ROW buys nothing there) and the equilibrium is the uncapped one
    inputs = hand_inputs(tmp_path, capacity=CAP_CAPACITY, demand={"USA": 10, "ROW": 10})
    r = solve(inputs, policies=[{**CAP, "regions": ["ROW"]}])
    assert prices_of(r) == approx({"USA": 25.0, "ROW": 20.0})
    (row,) = r.lp.rows.index[r.lp.rows["family"] == "country_cap"]
    assert r.lp.rows.loc[row, ["region", "country"]].tolist() == ["ROW", "USA"]
    s = status_of(r, "cap")
    assert (s["rows"], s["binding_rows"], s["binds"]) == (1, 0, False)


# ------------------------------------------------------------------------------------------ a JV with offtake
# US plant U: 15 t at 10; Chinese plant C: 10 t at 20 (ROW); a JV option J hosted in Japan (ROW), 20% owned by a
# US partner, opex 30, capex 200 per t/yr (CRF 1/20 at a 0 rate, one year: 10 a t/yr), up to 20 t/yr, no lead
# time; the funder (the US) has first call on 25% of it. Demand USA 15, ROW 25; trade 5.
# Without offtake J would build 15 for ROW. With it ROW may take at most 0.75·b from J: building b and swapping s
# tonnes (U -> ROW and J -> USA, 10 a tonne of trade) with 15 − s ≤ 0.75·b costs 10s + 10(b − 15) = 2.5b at the
# least s: b = 15, s = 3.75. So J builds 15: ROW takes 11.25 (its 75%), the US 3.75 (its 25%); U sends 3.75 to ROW.
# Duals: P_ROW − P_USA = 5 on U's two routes and = μ − 5 on J's, so the offtake row's μ = 10; the build is interior,
# 10 = ρ_J + 0.75μ: ρ_J = 2.5; P_USA = 35 + 2.5 = 37.5, P_ROW = 42.5. J's margins 12.5 × 11.25 + 2.5 × 3.75 = 150
# equal its capex: it earns nothing, so its owners' surplus is 0 (capex counted once). US welfare: CS 962.5 × 15 +
# U's margins 27.5 × 15 = 14,850; ROW: CS 957.5 × 25 + C's 22.5 × 10 = 24,162.5.
JV = {"option_id": "JPN-JV", "mineral": "ga", "host": "JPN", "partner": "USA", "mode": "minority",
      "partner_equity_share": 0.2, "capex_usd_per_tpy": 200.0, "opex_usd_per_t": 30.0, "royalty_usd_per_t": 0.0,
      "lead_time_years": 0, "max_size_tpy": 20.0, "min_size_tpy": "", "earliest_start": 2025,
      "description": "test JV"}
JV_CAPACITY = [
    {"source_id": "USA-GA", "mineral": "ga", "location": "USA", "capacity_t": 15, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 10, "first_year": 2020, "last_year": ""},
    {"source_id": "CHN-GA", "mineral": "ga", "location": "CHN", "capacity_t": 10, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 20, "first_year": 2020, "last_year": ""},
]


def jv_inputs(tmp_path: Path, offtake: float | None, **option: object) -> Path:
    return hand_inputs(tmp_path, capacity=JV_CAPACITY, demand={"USA": 15, "ROW": 25}, jv_options=[{**JV, **option}],
                       offtake=None if offtake is None else [{"option_id": "JPN-JV", "offtake_share": offtake}])


def test_jv_offtake_by_hand(tmp_path: Path):
    r = solve(jv_inputs(tmp_path, 0.25))
    assert r.solution.build == approx([15.0])
    assert flows_of(r) == approx({("USA-GA", "USA"): 11.25, ("USA-GA", "ROW"): 3.75, ("CHN-GA", "ROW"): 10.0,
                                  ("JPN-JV", "USA"): 3.75, ("JPN-JV", "ROW"): 11.25})
    assert prices_of(r) == approx({"USA": 37.5, "ROW": 42.5})
    (row,) = r.lp.rows.index[r.lp.rows["family"] == "offtake"]
    assert r.solution.shadow[row] == approx(10.0)
    w = r.welfare.set_index("region")
    assert w["welfare_usd"].to_dict() == approx({"USA": 14_850.0, "ROW": 24_162.5})
    assert w["welfare_usd"].sum() == approx(r.summary["total_surplus_pv_usd"])
    b = r.builds.iloc[0]
    assert (b["built_tpy"], b["capex_pv_usd"], b["output_t"], b["output_funder_t"]) == approx((15, 150, 15, 3.75))
    assert r.summary["jv_builds"]["JPN-JV"]["offtake_share"] == 0.25


def test_whole_offtake_serves_only_the_funder_and_none_frees_it(tmp_path: Path):
    # φ = 1 (today's single-buyer model): ROW may take nothing from J; J still builds for the US if that pays.
    whole = solve(jv_inputs(tmp_path / "a", 1.0))
    assert not any(r != "USA" for s, r in flows_of(whole) if s == "JPN-JV")
    # φ = 0: J's output sells where it pays, all of it to ROW here (no row, no rent)
    free = solve(jv_inputs(tmp_path / "b", 0.0))
    assert flows_of(free).get(("JPN-JV", "ROW"), 0.0) == approx(15.0)
    assert not (free.lp.rows["family"] == "offtake").any()
    assert free.summary["total_surplus_pv_usd"] >= solve(jv_inputs(tmp_path / "c", 0.25)).summary[
        "total_surplus_pv_usd"] - 1e-6 >= whole.summary["total_surplus_pv_usd"] - 2e-6


# ------------------------------------------------------------------------------------------ shipped scenarios
@pytest.fixture(scope="module", params=["market", "market_policies", "market_ban_all"])
def shipped(request):
    return solve_market(load_scenario(request.param))


def test_complementary_slackness_with_the_policy_and_jv_rows(shipped):
    # every positive flow below its bound is priced at its delivered cost + its plant's rent + the rents of the rows
    # it uses (caps' certificates, quotas, offtake); no open route would earn more than it costs
    lp, sol = shipped.lp, shipped.solution
    key = pd.MultiIndex.from_frame(lp.balances[["region", "mineral", "year"]])
    row_f = key.get_indexer(pd.MultiIndex.from_frame(lp.flows[["region", "mineral", "year"]]))
    gap = sol.price[row_f] - lp.flows["delivered_cost_usd_per_t"].to_numpy() - sol.rent[lp.flows["plant"]] \
        - flow_row_rents(lp, sol)
    scale = np.maximum(1.0, np.abs(sol.price[row_f]))
    positive = sol.x > 1e-6
    below = sol.x < lp.flows["upper_t"].to_numpy() - 1e-6
    assert np.all(np.abs(gap[positive & below]) <= 1e-6 * scale[positive & below])
    assert np.all(gap[~positive & below] <= 1e-6 * scale[~positive & below])
    # rows with a shadow price hold with equality
    rows = lp.rows.index[sol.shadow > 1e-6].to_numpy()
    if len(rows):
        full = lp.matrix[lp.first_extra_row + rows]
        values = np.concatenate([sol.x, sol.q, sol.build, sol.binaries])
        activity = full @ values
        assert np.allclose(activity, lp.row_upper[lp.first_extra_row + rows], atol=1e-5, rtol=1e-9)


def test_welfare_adds_up_with_capex_and_transfers(shipped):
    lp, sol = shipped.lp, shipped.solution
    disc = lp.flow_discount
    tariffs_pv = float((lp.flows["tariff_usd_per_t"].to_numpy() * sol.x * disc).sum())
    assert shipped.welfare["welfare_pv_usd"].sum() == approx(shipped.summary["total_surplus_pv_usd"] + tariffs_pv,
                                                             rel=1e-9)
    fast = WelfareAccount(lp, shipped.market, shipped.loaded.dataset.ownership).by_region(sol).set_index("region")
    slow = welfare_pv(welfare_table(lp, sol, shipped.market, shipped.loaded.dataset.ownership), lp).set_index("region")
    for column in fast.columns:
        assert fast[column].to_numpy() == approx(slow[column].to_numpy(), rel=1e-9, abs=1e-3), column


def test_the_buyers_policies_are_todays_on_the_buyers_flows():
    # left without regions, every policy acts on the buyer's flows exactly as today's model applies it
    loaded = load_scenario("market")
    lp = build_market(loaded, load_market(loaded.dataset))
    model = build_model(loaded)
    supply = model.supply.set_index(["source_id", "year"])
    mine = lp.flows[(lp.flows["region"] == "USA") & (lp.flows["kind"] == "capacity")].set_index(["source_id", "year"])
    today = supply.loc[mine.index]
    assert mine["upper_t"].to_numpy() == approx((today["capacity_t"] * today["allowed_share"]).to_numpy())
    assert mine["tariff_usd_per_t"].to_numpy() == approx(
        (today["unit_cost_usd_per_t"] * today["ad_valorem"] + today["tariff_usd_per_t"]).to_numpy())
    others = lp.flows[lp.flows["region"] != "USA"]
    assert (others["tariff_usd_per_t"] == 0).all() and (others["upper_t"] > 0).any()


def test_the_shipped_example_ban_raises_the_us_price_and_moves_other_regions():
    shipped = solve_market(load_scenario("market_policies"))
    e = shipped.policy_effects[shipped.policy_effects["policy"] == "china_ga_ge_ban"].set_index(["mineral", "region"])
    assert e.loc[("ga", "USA"), "price_change_pct"] > 0 and e.loc[("ge", "USA"), "price_change_pct"] > 0
    assert e.loc[("ga", "EU"), "price_change_pct"] > 0  # the US bids for the gallium the EU bought
    assert (e["resourced_t"].drop("USA", level="region") > 1.0).any()  # another region buys from elsewhere
    assert status_of(shipped, "eu_crma_65pct")["binding_rows"] > 0


def test_minimum_sizes_by_branch_and_bound_match_highs_mip():
    loaded = load_scenario("market_goal")
    lp = build_market(loaded, load_market(loaded.dataset), goal_rows=True)
    assert len(lp.integer)
    ours = MarketSolver(lp)
    for theta in (None, 0.3, 0.0):
        ours.set_theta(theta)
        objective = ours.solve().objective_pv_usd
        mip = MarketSolver(lp)
        mip.set_theta(theta)
        n = len(lp.integer)
        mip.h.changeColsIntegrality(n, lp.integer.astype(np.int32), np.ones(n, dtype=np.uint8))
        mip.h.setOptionValue("mip_rel_gap", 0.0)
        mip.h.setOptionValue("mip_abs_gap", 0.0)
        mip.h.run()
        assert objective == approx(mip.h.getInfo().objective_function_value * 1e6, rel=1e-9), theta


# ------------------------------------------------------------------------------------------ seeded variants
def _variant(seed: int) -> tuple[dict, str, str]:
    rng = np.random.default_rng(seed)
    region = str(rng.choice(["USA", "EU", "JPN", "KOR", "ROW"]))
    minerals = sorted(rng.choice(["li", "ni", "co", "ga", "ge"], size=int(rng.integers(1, 3)), replace=False))
    exporter = str(rng.choice(["CHN", "IDN", "COD", "AUS", "RUS"]))
    share = float(rng.choice([0.0, 0.3]))
    ban = {"type": "export_ban", "name": "seeded_ban", "exporter": exporter, "minerals": [str(m) for m in minerals],
           "allowed_share": share, "years": f"{int(rng.integers(2025, 2031))}+", "regions": [region]}
    return ban, region, minerals[0]


@pytest.mark.parametrize("seed", range(4))
def test_a_ban_on_a_destination_never_lowers_its_price_nor_raises_world_surplus(seed: int):
    ban, region, _ = _variant(seed)
    base = solve_market(load_scenario("market"))
    banned = solve_market(scenario_from_dict({"extends": "market", "policies": [ban]}, name=f"seeded_{seed}"))
    assert banned.summary["total_surplus_pv_usd"] <= base.summary["total_surplus_pv_usd"] * (1 + 1e-12)
    years = set(range(int(ban["years"][:4]), 2036))
    pick = (base.prices["region"] == region) & base.prices["mineral"].isin(ban["minerals"]) \
        & base.prices["year"].isin(years)
    before = base.prices.loc[pick, "price_usd_per_t"].to_numpy()
    after = banned.prices.loc[pick, "price_usd_per_t"].to_numpy()
    low = banned.prices.loc[pick, "price_low_usd_per_t"].to_numpy()
    high = banned.prices.loc[pick, "price_high_usd_per_t"].fillna(np.inf).to_numpy()
    # the price is the vertex dual: at a degenerate vertex it may move within its interval, so a lower price is
    # allowed only where the old one is still an optimal price with the ban (inside the ban's [low, high])
    rises = after >= before * (1 - 1e-9) - 1e-6
    still_optimal = (low <= before * (1 + 1e-9) + 1e-6) & (before <= high * (1 + 1e-9) + 1e-6)
    assert np.all(rises | still_optimal), (ban, before, after, low, high)
    for end in ("price_low_usd_per_t", "price_high_usd_per_t"):
        was = base.prices.loc[pick, end].fillna(np.inf).to_numpy()
        now = banned.prices.loc[pick, end].fillna(np.inf).to_numpy()
        assert np.all(now >= was * (1 - 1e-9) - 1e-6), (ban, end, was, now)


@pytest.mark.parametrize("policy", [
    {"type": "country_cap", "name": "added", "max_share": 0.5, "regions": ["JPN"]},
    {"type": "dependence_cap", "name": "added", "max_share": 0.3, "regions": ["EU", "KOR"]},
    {"type": "content_rule", "name": "added", "share": 0.4, "regions": ["USA"], "minerals": ["li", "ni"]},
    {"type": "tariff", "name": "added", "origin": "IDN", "ad_valorem": 0.1, "regions": "all"},
])
def test_adding_a_restriction_never_raises_world_surplus(policy: dict):
    base = solve_market(load_scenario("market_policies"))
    added = solve_market(scenario_from_dict({"extends": "market_policies", "policies": [policy]}, name="added"))
    assert added.summary["total_surplus_pv_usd"] <= base.summary["total_surplus_pv_usd"] * (1 + 1e-12)
    assert status_of(added, "added")["regions"]


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(("regions", "message"), [
    (["EUR"], "(scenario), policies[4].regions[0]: unknown region 'EUR' (did you mean 'EU'?); expected regions of "),
    (["USA", "XX"], "(scenario), policies[4].regions[1]: unknown region 'XX'; expected regions of "),
])
def test_unknown_region_is_named(regions, message):
    loaded = scenario_from_dict({"extends": "market", "policies": [{**BAN_US, "regions": regions}]}, name="bad")
    with pytest.raises(InputError) as err:
        solve_market(loaded)
    text = str(err.value)
    assert text.startswith(message) and text.endswith("regions.csv (CHN, EU, JPN, KOR, ROW, USA) or 'all'")
    assert "\n" not in text


def test_regions_with_a_single_buyer_are_refused_in_one_line():
    with pytest.raises(InputError) as err:
        scenario_from_dict({"extends": "baseline", "policies": [{**BAN_US, "regions": ["EU", "USA"]}]}, name="bad")
    assert str(err.value) == ("(scenario), policies[4].regions: names regions (EU, USA), but market: none has one "
                              "buyer (USA) that every policy acts on; set market: equilibrium to apply a policy to "
                              "other regions, or leave the key out")
    # the buyer itself is what it always meant
    plain = scenario_from_dict({"extends": "baseline", "policies": [BAN_US]}, name="same")
    named = scenario_from_dict({"extends": "baseline", "policies": [{**BAN_US, "regions": "USA"}]}, name="same")
    assert named.scenario.policies[-1].regions == ["USA"]
    assert plain.digest != named.digest  # (a key given is an input)


def test_an_empty_list_of_regions_is_refused():
    with pytest.raises(InputError, match=r"\(scenario\), policies\[4\]\.regions: an empty list of regions; write "
                                         r"'all', list at least one region, or leave the key out for the buyer's "
                                         r"region"):
        scenario_from_dict({"extends": "market", "policies": [{**BAN_US, "regions": []}]}, name="bad")


def test_scenarios_without_regions_dump_as_before():
    for name in ("baseline", "ga_ge_ban", "crma_caps", "market"):
        dumped = load_scenario(name).scenario.model_dump(mode="json")
        assert all("regions" not in p for p in dumped["policies"]), name
    assert all("regions" in p for p in load_scenario("market_policies").scenario.model_dump(mode="json")["policies"]
               if p["name"] in ("china_ga_ge_ban", "eu_crma_65pct"))


def test_offtake_table_problems_are_named(tmp_path: Path):
    with pytest.raises(InputError) as err:
        solve(jv_inputs(tmp_path / "a", None))
    assert str(err.value).endswith("offtake.csv: not found; market mode needs the offtake share of every JV option "
                                   "hosted outside the buyer's region USA (JPN-JV)")
    with pytest.raises(InputError) as err:
        solve(jv_inputs(tmp_path / "b", 0.5, host="USA"))
    assert str(err.value).endswith("offtake.csv: JV option JPN-JV is hosted in the buyer's region USA; an offtake "
                                   "share is for a deal abroad (a plant in the funder's region sells where it pays)")
    inputs = jv_inputs(tmp_path / "c", 0.5)
    pd.DataFrame([{"option_id": "NOPE", "offtake_share": 0.5, "source": "t", "estimate": "false"}]).to_csv(
        inputs / "market" / "offtake.csv", index=False)
    with pytest.raises(InputError) as err:
        load_market(load_dataset(inputs))
    assert "offtake.csv, line 2, column option_id: unknown JV option 'NOPE'; expected one listed in " \
           "jv_options.csv" in str(err.value)
    pd.DataFrame([{"option_id": "JPN-JV", "offtake_share": 1.5, "source": "t", "estimate": "false"}]).to_csv(
        inputs / "market" / "offtake.csv", index=False)
    with pytest.raises(InputError, match=r"offtake.csv, line 2, column offtake_share: "):
        load_market(load_dataset(inputs))


def test_an_unreachable_domestic_target_is_named(tmp_path: Path):
    inputs = jv_inputs(tmp_path, 0.25)
    target = {"type": "domestic_target", "name": "home", "min_capacity_t": 100, "regions": ["ROW"]}
    with pytest.raises(InputError) as err:
        solve(inputs, policies=[target])
    assert str(err.value) == ("(scenario), policies[0]: domestic_target 'home' needs 100 t/yr of ga hosted in region "
                              "ROW by 2025; it has 10 t/yr and its JV options can add at most 20 by then, so the "
                              "market has no solution; lower the target or add options")
    # within reach it builds what it must: 10 + b ≥ 25, so J builds at least 15 (it builds 15 anyway) — ask 28
    r = solve(inputs, policies=[{**target, "min_capacity_t": 28}])
    assert r.solution.build == approx([18.0])
    assert status_of(r, "home")["binding_rows"] == 1



def test_a_ban_to_every_destination_leaves_china_only_its_own_market():
    # market_ban_all: China's gallium and germanium reach no region but China's from 2025; market_policies bans the
    # US only, so China still sells to the others
    everywhere = solve_market(load_scenario("market_ban_all")).flows
    only_us = solve_market(load_scenario("market_policies")).flows
    for flows, others in ((everywhere, 0.0), (only_us, None)):
        chinese = flows[(flows["location"] == "CHN") & flows["mineral"].isin(["ga", "ge"])]
        assert chinese.loc[chinese["region"] == "USA", "tonnes"].sum() == 0.0
        abroad = chinese.loc[~chinese["region"].isin(["CHN", "USA"]), "tonnes"].sum()
        assert abroad == others if others is not None else abroad > 0


@pytest.mark.parametrize("name", ["market_goal", "market_policies", "market_ban_all"])
def test_a_policy_binds_exactly_when_the_whole_plan_gains_without_it(name: str):
    """'binds' is the whole plan's answer: the world's surplus rises without the policy. A policy that binds only
    at the vertex (a closed route priced above its cost by a degenerate dual, as the 2025 Ga/Ge ban under the goal
    at theta = 0) is reported slack, and then no region's welfare changes without it."""
    result = solve_market(load_scenario(name))
    status, effects = result.policies, result.policy_effects
    noise = 1e-10 * abs(result.solution.objective_pv_usd)
    for row in status[status["binds"].notna()].to_dict("records"):
        assert row["binds"] == (row["surplus_gain_pv_usd"] > noise), row["policy"]
        if not row["binds"]:
            welfare = effects.loc[effects["policy"] == row["policy"], "welfare_change_pv_usd"]
            assert (welfare.abs() < 1e4).all(), row["policy"]
    if name == "market_goal":  # the goal already keeps China's gallium and germanium out at theta = 0
        ban = status.set_index("policy").loc["china_ga_ge_ban_2025"]
        assert ban["binds_at_vertex"] and not ban["binds"]
