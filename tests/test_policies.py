"""Each policy family on the tiny gallium model, solved by hand.

Gallium 2025, demand 40 t: CHN-GA 50 t at 100 USD/t (China), DEU-GA 20 t at 150, JPN-GA 10 t at 200 (FTA).
Unless stated, the objective is least cost (``minimise: cost``) so the policy's effect is easy to see.
"""

from __future__ import annotations

import functools

import pytest

from engine.inputs.dataset import load_dataset

from conftest import TINY_CAPACITY, solve_dict, tonnes_by_source, write_dataset

approx = functools.partial(pytest.approx, rel=1e-5, abs=1e-4)
COST = {"minimise": "cost"}


def cost_of(result) -> float:
    return result.summary["cost"]["total_pv_usd"]


def shortfall_of(result) -> float:
    return result.summary["shortfall"]["by_mineral_t"]["ga"]


@pytest.fixture
def owned(tmp_path):
    """Tiny data where Chinese firms hold 30% of the Japanese plant."""
    return load_dataset(write_dataset(tmp_path, ownership=[
        {"source_id": "JPN-GA", "owner": "CHN", "equity_share": 0.3}]))


# ------------------------------------------------------------------------------------------- tariff
def test_ad_valorem_tariff_reorders_suppliers(tiny):
    # 60% on China: 160 > 150, so DEU 20 t first (3,000), then China 20 t at 160 (3,200) = 6,200
    tariff = {"type": "tariff", "origin": "CHN", "ad_valorem": 0.6}
    r = solve_dict(tiny, objective=COST, policies=[tariff])
    assert tonnes_by_source(r) == approx({"CHN-GA": 20.0, "DEU-GA": 20.0})
    assert cost_of(r) == approx(6200.0)
    components = r.tables.costs.set_index("component")["usd"]
    assert components["tariff"] == approx(20 * 60.0)
    assert components["purchase"] == approx(20 * 100 + 20 * 150)


def test_specific_tariff_per_tonne(tiny):
    # +120 USD/t on China: 220 > JPN 200 → DEU 20, JPN 10, CHN 10: 3,000 + 2,000 + 2,200 = 7,200
    tariff = {"type": "tariff", "origin": ["CHN"], "per_tonne_usd": 120}
    r = solve_dict(tiny, objective=COST, policies=[tariff])
    assert tonnes_by_source(r) == approx({"CHN-GA": 10.0, "DEU-GA": 20.0, "JPN-GA": 10.0})
    assert cost_of(r) == approx(7200.0)


def test_tariff_outside_its_years_does_nothing(tiny):
    tariff = {"type": "tariff", "origin": "CHN", "ad_valorem": 0.6, "years": "2026+"}
    r = solve_dict(tiny, objective=COST, policies=[tariff])
    assert cost_of(r) == approx(4000.0)


# ------------------------------------------------------------------------------------------- export bans
def test_export_quota_share(tiny):
    # Half of the usual 50 t: China 25 t (2,500) + DEU 15 t (2,250) = 4,750; dependence 62.5%
    ban = {"type": "export_ban", "exporter": "CHN", "allowed_share": 0.5}
    r = solve_dict(tiny, objective=COST, policies=[ban])
    assert tonnes_by_source(r) == approx({"CHN-GA": 25.0, "DEU-GA": 15.0})
    assert r.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"] == approx(62.5)
    assert set(r.tables.flows.loc[r.tables.flows["id"] == "CHN-GA", "restricted_by"]) == {"export_ban_1"}


def test_export_quota_in_tonnes(tiny):
    # at most 5 t from China: 5 + 20 + 10 = 35 t, shortfall 5 t
    ban = {"type": "export_ban", "exporter": "CHN", "allowed_share": 1.0, "quota_t": 5}
    r = solve_dict(tiny, objective=COST, policies=[ban])
    assert tonnes_by_source(r) == approx({"CHN-GA": 5.0, "DEU-GA": 20.0, "JPN-GA": 10.0})
    assert shortfall_of(r) == approx(5.0)


def test_ban_by_owner_reaches_chinese_owned_plants_abroad(tmp_path):
    # China owns 60% of the Japanese plant; a ban by owner (threshold 50%) removes it, a ban by location does not
    ds = load_dataset(write_dataset(tmp_path, ownership=[
        {"source_id": "JPN-GA", "owner": "CHN", "equity_share": 0.6}]))
    by_owner = {"type": "export_ban", "exporter": "CHN", "by": "owner"}
    r = solve_dict(ds, objective=COST, policies=[by_owner])
    # China-located CHN-GA is 100% Chinese-owned too, so both go: DEU 20 t, shortfall 20 t
    assert tonnes_by_source(r) == approx({"DEU-GA": 20.0})
    assert shortfall_of(r) == approx(20.0)
    by_location = {"type": "export_ban", "exporter": "CHN", "by": "location"}
    r = solve_dict(ds, objective=COST, policies=[by_location])
    assert tonnes_by_source(r) == approx({"DEU-GA": 20.0, "JPN-GA": 10.0})


# ------------------------------------------------------------------------------------------- country caps
@pytest.mark.parametrize(
    ("cap", "expected", "cost", "short"),
    [
        # 50%: China ≤ 20 t → CHN 20 (2,000) + DEU 20 (3,000) = 5,000
        (0.5, {"CHN-GA": 20.0, "DEU-GA": 20.0}, 5000.0, 0.0),
        # 40%: each country ≤ 16 t → CHN 16 (1,600) + DEU 16 (2,400) + JPN 8 (1,600) = 5,600
        (0.4, {"CHN-GA": 16.0, "DEU-GA": 16.0, "JPN-GA": 8.0}, 5600.0, 0.0),
        # 30%: three countries each ≤ 30% of supply can only supply 90% of it → nothing can be bought
        (0.3, {}, 0.0, 40.0),
    ],
)
def test_country_cap(tiny, cap, expected, cost, short):
    policy = {"type": "country_cap", "max_share": cap}
    r = solve_dict(tiny, objective=COST, policies=[policy])
    assert tonnes_by_source(r) == approx(expected)
    assert cost_of(r) == approx(cost)
    assert shortfall_of(r) == approx(short)


def test_country_cap_on_named_countries_only(tiny):
    # cap only Germany at 10%: DEU ≤ 4 t; China supplies the rest at 100 → CHN 40 t
    policy = {"type": "country_cap", "max_share": 0.1, "countries": ["DEU"]}
    r = solve_dict(tiny, objective={"minimise": "dependence", "budget": "+1000%"},
                   policies=[policy])
    # minimise dependence: DEU 4 + JPN 10 + CHN 26 → 65%
    assert tonnes_by_source(r) == approx({"CHN-GA": 26.0, "DEU-GA": 4.0, "JPN-GA": 10.0})


def test_country_cap_exempts_the_buyer(tmp_path):
    # a US plant of 40 t at 300: the buyer's own supply is never capped (exclude_buyer: true)
    capacity = [*TINY_CAPACITY, {"source_id": "USA-GA", "mineral": "ga", "location": "USA", "capacity_t": 40,
                                 "exportable_share": 1.0, "unit_cost_usd_per_t": 300, "first_year": 2020}]
    ds = load_dataset(write_dataset(tmp_path, capacity=capacity))
    policy = {"type": "country_cap", "max_share": 0.3}
    r = solve_dict(ds, objective=COST, policies=[policy])
    # each foreign country ≤ 0.3·40 = 12 t: CHN 12, DEU 12, JPN 10 = 34; USA 6 (at 300)
    assert tonnes_by_source(r) == approx({"CHN-GA": 12.0, "DEU-GA": 12.0, "JPN-GA": 10.0, "USA-GA": 6.0})
    assert shortfall_of(r) == approx(0.0)


# ------------------------------------------------------------------------------------------- dependence caps
@pytest.mark.parametrize(("cap", "china", "short", "cost"),
                         [(0.25, 10.0, 0.0, 6000.0), (0.2, 7.5, 2.5, 5750.0)])
def test_dependence_cap(tiny, cap, china, short, cost):
    # a cap on share of supply, China x <= cap × (x + 30 t from DEU and JPN): 25%: x <= 10 → CHN 10 + DEU 20 +
    # JPN 10 = 6,000. 20%: 0.8 x <= 6, x = 7.5 → 37.5 t supplied, shortfall 2.5 t, 5,750 (a cap of 20% of demand,
    # as before version 3, allowed 8 t: 8 of 38 t supplied is 21%)
    policy = {"type": "dependence_cap", "max_share": cap}
    r = solve_dict(tiny, objective=COST, policies=[policy])
    assert tonnes_by_source(r).get("CHN-GA") == approx(china)
    assert shortfall_of(r) == approx(short)
    assert cost_of(r) == approx(cost)


# ------------------------------------------------------------------------------------------- content rule
def test_content_rule(tiny):
    # 25% from the buyer or FTA partners (Japan): JPN 10 + CHN 30 → 2,000 + 3,000 = 5,000
    rule = {"type": "content_rule", "share": 0.25}
    r = solve_dict(tiny, objective=COST, policies=[rule])
    assert tonnes_by_source(r) == approx({"CHN-GA": 30.0, "JPN-GA": 10.0})
    # 50%: Japan's 10 t can back at most 20 t of supply → shortfall 20 t; JPN 10 + CHN 10 = 3,000
    rule = {"type": "content_rule", "share": 0.5}
    r = solve_dict(tiny, objective=COST, policies=[rule])
    assert shortfall_of(r) == approx(20.0)
    assert cost_of(r) == approx(3000.0)


def test_content_rule_schedule_and_qualifying_list(tmp_path):
    demand = [{"mineral": "ga", "year": y, "demand_t": 40} for y in (2025, 2026)]
    demand += [{"mineral": "ge", "year": y, "demand_t": 1} for y in (2025, 2026)]
    ds = load_dataset(write_dataset(tmp_path, demand=demand))
    # 2025: no requirement; 2026: 50% from Germany (listed as qualifying) → DEU 20 t, CHN 20 t
    rule = {"type": "content_rule", "share": {2026: 0.5}, "qualifying": ["DEU"]}
    r = solve_dict(ds, objective=COST, horizon={"start": 2025, "end": 2026}, policies=[rule])
    flows = r.tables.flows.groupby(["year", "id"])["tonnes"].sum()
    assert flows[(2025, "CHN-GA")] == approx(40.0)
    assert flows[(2026, "DEU-GA")] == approx(20.0)
    assert flows[(2026, "CHN-GA")] == approx(20.0)


def test_feoc_owned_sources_do_not_qualify(owned):
    # Japan is 30% Chinese-owned: with the FEOC test at 25% nothing qualifies → no supply can be bought
    rule = {"type": "content_rule", "share": 0.25, "feoc_threshold": 0.25}
    r = solve_dict(owned, objective=COST, policies=[rule])
    assert shortfall_of(r) == approx(40.0)
    rule = {"type": "content_rule", "share": 0.25, "feoc_threshold": None}
    r = solve_dict(owned, objective=COST, policies=[rule])
    assert shortfall_of(r) == approx(0.0)


# ------------------------------------------------------------------------------------------- FEOC
def test_feoc_exclusion(owned):
    # JPN (30% Chinese) and CHN-GA (100% Chinese) are both covered at the 25% test: only DEU's 20 t remain
    feoc = {"type": "feoc", "threshold": 0.25, "action": "exclude"}
    r = solve_dict(owned, objective=COST, policies=[feoc])
    assert tonnes_by_source(r) == approx({"DEU-GA": 20.0})
    assert shortfall_of(r) == approx(20.0)
    # at a 50% test only China-owned CHN-GA is covered: DEU 20 + JPN 10, shortfall 10
    feoc = {"type": "feoc", "threshold": 0.5, "action": "exclude"}
    r = solve_dict(owned, objective=COST, policies=[feoc])
    assert tonnes_by_source(r) == approx({"DEU-GA": 20.0, "JPN-GA": 10.0})


def test_feoc_credit_loss_adds_cost(owned):
    # minimise dependence within a huge budget: all of JPN is still bought, but pays +100 per tonne
    feoc = {"type": "feoc", "threshold": 0.25, "action": "credit_loss", "credit_usd_per_t": 100,
            "minerals": ["ga"]}
    r = solve_dict(owned, objective={"budget": "+1000%"}, policies=[feoc])
    components = r.tables.costs.set_index("component")["usd"]
    # CHN-GA is China-owned (covered) too: 10 t × 100 + JPN 10 t × 100
    assert components["feoc_credit_loss"] == approx(2000.0)


# ------------------------------------------------------------------------------------------- attribution
@pytest.mark.parametrize(("basis", "share"), [("location", 25.0), ("ownership", 32.5), ("combined", 32.5)])
def test_attribution_basis(owned, basis, share):
    # min dependence, large budget: CHN 10, DEU 20, JPN 10 under every basis.
    # location: 10/40 = 25%; ownership: (10 × 1 + 10 × 0.3)/40 = 32.5%; combined = max per source = 32.5%
    r = solve_dict(owned, objective={"budget": "+1000%"}, dependence={"basis": basis})
    assert tonnes_by_source(r) == approx({"CHN-GA": 10.0, "DEU-GA": 20.0, "JPN-GA": 10.0})
    assert r.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"] == approx(share)
