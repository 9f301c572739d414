"""Joint ventures and licences on tiny models, solved by hand.

Gallium, demand 40 t a year; China-located CHN-GA sells 50 t a year at 100 USD/t (DEU and JPN removed unless
stated). JV options are hosted in the US unless stated.
"""

from __future__ import annotations

import functools

import pytest

from engine.inputs.dataset import load_dataset
from engine.model.finance import capital_recovery_factor

from conftest import TINY_CAPACITY, solve_dict, write_dataset

approx = functools.partial(pytest.approx, rel=1e-5, abs=1e-4)
CHINA_ONLY = [row for row in TINY_CAPACITY if row["source_id"] in ("CHN-GA", "CHN-GE")]


def option(option_id: str, **fields) -> dict:
    row = {"option_id": option_id, "mineral": "ga", "host": "USA", "partner": "CHN", "mode": "licensing",
           "partner_equity_share": 0.0, "capex_usd_per_tpy": 0.0, "opex_usd_per_t": 100.0,
           "royalty_usd_per_t": 0.0, "lead_time_years": 0, "max_size_tpy": 40.0, "min_size_tpy": "",
           "earliest_start": 2025, "description": "test option"}
    row.update(fields)
    return row


def dataset(tmp_path, options: list[dict], years=(2025,), capacity=None):
    demand = [{"mineral": m, "year": y, "demand_t": 40 if m == "ga" else 1} for y in years for m in ("ga", "ge")]
    return load_dataset(write_dataset(tmp_path, capacity=CHINA_ONLY if capacity is None else capacity,
                                      demand=demand, jv_options=options))


def jv_tonnes(result, option_id: str) -> dict[int, float]:
    flows = result.tables.flows
    rows = flows[(flows["kind"] == "jv") & (flows["id"] == option_id)]
    return {int(y): float(t) for y, t in rows.groupby("year")["tonnes"].sum().items()}


def share(result) -> float:
    return result.summary["dependence"]["exposure"]["by_mineral"]["ga"]["optimised_pct"]


# ------------------------------------------------------------------------------------------- timing
def test_nothing_flows_before_the_option_is_online(tmp_path):
    # Domestic option at 50 USD/t (cheaper than China) with a 2-year lead time, earliest start 2025,
    # horizon 2025-2027: built in 2025, online 2027; China supplies 2025 and 2026 in full.
    ds = dataset(tmp_path, [option("DOM", mode="domestic", partner="USA", opex_usd_per_t=50.0,
                                   lead_time_years=2)], years=(2025, 2026, 2027))
    r = solve_dict(ds, horizon={"start": 2025, "end": 2027}, objective={"minimise": "cost"})
    assert jv_tonnes(r, "DOM") == approx({2027: 40.0})
    builds = r.tables.extra["builds"]
    assert builds[["year_started", "year_online", "capacity_tpy"]].values.tolist() == [[2025, 2027, 40.0]]
    # no build column exists that could come online after the horizon, nor output before 2027
    assert set(r.model.builds["year"]) == {2025}
    assert set(r.model.jv_output["year"]) == {2027}


def test_earliest_start_delays_builds(tmp_path):
    ds = dataset(tmp_path, [option("DOM", mode="domestic", partner="USA", opex_usd_per_t=50.0,
                                   lead_time_years=1, earliest_start=2026)], years=(2025, 2026, 2027))
    r = solve_dict(ds, horizon={"start": 2025, "end": 2027}, objective={"minimise": "cost"})
    assert jv_tonnes(r, "DOM") == approx({2027: 40.0})


# ------------------------------------------------------------------------------------------- capital cost
def test_capital_recovery_factor_arithmetic():
    # r(1+r)^n / ((1+r)^n − 1): 10%, 2 years → 0.1 × 1.21 / 0.21 = 0.576190…; 7%, 20 years → 0.094393
    assert capital_recovery_factor(0.1, 2) == pytest.approx(0.121 / 0.21)
    assert capital_recovery_factor(0.07, 20) == pytest.approx(0.0943929, rel=1e-6)
    assert capital_recovery_factor(0.0, 4) == pytest.approx(0.25)


def test_capex_annuity_in_the_plan_cost(tmp_path):
    # capex 100 USD per t/yr, no opex, r = 10%, life 2: annuity 57.619 per t/yr; max 10 t/yr.
    # Least cost: JV 10 t (576.19) + China 30 t (3,000) = 3,576.19
    ds = dataset(tmp_path, [option("JV", mode="domestic", partner="USA", capex_usd_per_tpy=100.0,
                                   opex_usd_per_t=0.0, max_size_tpy=10.0)])
    r = solve_dict(ds, objective={"minimise": "cost"}, finance={"discount_rate": 0.1, "asset_life_years": 2})
    assert r.summary["cost"]["total_pv_usd"] == approx(3000 + 10 * 100 * 0.121 / 0.21)
    builds = r.tables.extra["builds"]
    assert builds["capex_usd"].tolist() == approx([1000.0])
    assert builds["capex_annuity_usd_per_yr"].tolist() == approx([1000 * 0.121 / 0.21])
    costs = r.tables.costs.set_index("component")["usd"]
    assert costs["jv_capex"] == approx(1000 * 0.121 / 0.21)


def test_annuity_is_paid_only_inside_the_horizon_and_asset_life(tmp_path):
    # r = 0, life 5: CRF 0.2. Built 2025 (lead 0), horizon 2025-2026 → two payments of 0.2 × capex
    ds = dataset(tmp_path, [option("JV", mode="domestic", partner="USA", capex_usd_per_tpy=100.0,
                                   opex_usd_per_t=0.0, max_size_tpy=10.0)], years=(2025, 2026))
    r = solve_dict(ds, horizon={"start": 2025, "end": 2026}, objective={"minimise": "cost"},
                   finance={"discount_rate": 0.0, "asset_life_years": 5})
    costs = r.tables.costs
    capex = costs[costs["component"] == "jv_capex"].set_index("year")["usd"]
    assert capex.to_dict() == approx({2025: 200.0, 2026: 200.0})
    # 2 years × 30 t from China at 100 + 400 of annuities
    assert r.summary["cost"]["total_pv_usd"] == approx(6000 + 400)


# ------------------------------------------------------------------------------------------- licence vs JV
LICENCE = option("LIC", mode="licensing", opex_usd_per_t=120.0, royalty_usd_per_t=10.0)  # 130 per tonne, 0%
PARITY49 = option("P49", mode="parity", partner_equity_share=0.49, opex_usd_per_t=110.0)  # 110 per tonne, 49%


def test_licence_beats_a_49pct_jv_with_enough_budget(tmp_path):
    # Least cost: China 40 t = 4,000. Budget +30% = 5,200 buys 40 t of licence (+30/t) → 0% dependence.
    ds = dataset(tmp_path, [LICENCE, PARITY49])
    r = solve_dict(ds, objective={"budget": "+30%"}, dependence={"basis": "combined"})
    assert jv_tonnes(r, "LIC") == approx({2025: 40.0})
    assert share(r) == approx(0.0)
    assert r.summary["cost"]["total_pv_usd"] == approx(5200.0)
    # (these options cost nothing to build, so an idle build of another option is an equally cheap alternative)
    assert r.summary["jv"]["capacity_built_tpy"]["ga"]["licensing"] == approx(40.0)
    assert jv_tonnes(r, "P49") == {}


def test_a_49pct_jv_beats_the_licence_on_a_tight_budget(tmp_path):
    # Budget +10% = 4,400. Per USD, the 49% JV cuts 0.51 × 2.5 pp / 10 = 0.1275 pp; the licence 2.5 / 30 = 0.083.
    # So all 40 t go to the JV (exactly 4,400): dependence 49%. Licence-only would reach only 66.7%.
    ds = dataset(tmp_path, [LICENCE, PARITY49])
    r = solve_dict(ds, objective={"budget": "+10%"}, dependence={"basis": "combined"})
    assert jv_tonnes(r, "P49") == approx({2025: 40.0})
    assert share(r) == approx(49.0)


def test_licence_technology_factor_counts_towards_dependence(tmp_path):
    # With a factor of 0.6 a licence counts 60% of its tonnes: the 49% JV is less dependent at any budget.
    ds = dataset(tmp_path, [LICENCE, PARITY49])
    r = solve_dict(ds, objective={"budget": "+100%"},
                   dependence={"basis": "combined", "licence_technology_factor": 0.6})
    assert jv_tonnes(r, "P49") == approx({2025: 40.0})
    assert share(r) == approx(49.0)
    # on a location basis neither counts: both are in the US
    r = solve_dict(ds, objective={"budget": "+100%"}, dependence={"basis": "location"})
    assert share(r) == approx(0.0)


# ------------------------------------------------------------------------------------------- minimum size
MIN_SIZE = option("DOM", mode="domestic", partner="USA", capex_usd_per_tpy=20.0, opex_usd_per_t=100.0,
                  max_size_tpy=40.0, min_size_tpy=30.0)


@pytest.mark.parametrize("solver", ["highs", "pulp"])
@pytest.mark.parametrize(("budget", "size", "dependence"), [
    # capacity costs 20 per t/yr (r = 0, life 1 → CRF 1); output costs the same as China's.
    # +10% (400 USD): 20 t/yr would fit, but the minimum size is 30 (600 USD) → nothing is built: 100%
    ("+10%", 0.0, 100.0),
    # +15% (600 USD): exactly 30 t/yr → 30 t from the plant, 10 from China: 25%
    ("+15%", 30.0, 25.0),
])
def test_minimum_efficient_size_on_both_backends(tmp_path, solver, budget, size, dependence):
    ds = dataset(tmp_path, [MIN_SIZE])
    r = solve_dict(ds, solver=solver, objective={"budget": budget},
                   finance={"discount_rate": 0.0, "asset_life_years": 1})
    assert r.ok
    built = r.tables.extra["builds"]["capacity_tpy"].sum()
    assert built == approx(size)
    assert share(r) == approx(dependence)


def test_without_minimum_size_the_budget_buys_a_small_plant(tmp_path):
    ds = dataset(tmp_path, [{**MIN_SIZE, "min_size_tpy": ""}])
    r = solve_dict(ds, objective={"budget": "+10%"}, finance={"discount_rate": 0.0, "asset_life_years": 1})
    assert r.tables.extra["builds"]["capacity_tpy"].sum() == approx(20.0)
    assert share(r) == approx(50.0)


# ------------------------------------------------------------------------------------------- market access
def test_market_access_bans_direct_purchases_but_allows_the_jv(tmp_path):
    # China-owned CHN-GA may not sell directly; a US-hosted 49% JV may; a 51% JV and a 49% JV hosted in Japan may not.
    # (MAJ at 90 and P49-JPN at 95 per tonne: no tie between the two, so the cheapest is unique.)
    options = [PARITY49,
               option("MAJ", mode="majority", partner_equity_share=0.51, opex_usd_per_t=90.0),
               option("P49-JPN", host="JPN", mode="parity", partner_equity_share=0.49, opex_usd_per_t=95.0)]
    ds = dataset(tmp_path, options)
    policy = {"type": "market_access", "country": "CHN", "max_equity": 0.49}
    r = solve_dict(ds, objective={"minimise": "cost"}, policies=[policy])
    flows = r.tables.flows.groupby("id")["tonnes"].sum().to_dict()
    assert flows == approx({"P49": 40.0})
    assert r.summary["shortfall"]["total_t"] == 0.0
    # without the policy the cheapest (the majority JV at 90) wins
    r = solve_dict(ds, objective={"minimise": "cost"})
    assert r.tables.flows.groupby("id")["tonnes"].sum().to_dict() == approx({"MAJ": 40.0})


def test_feoc_on_jv_modes(tmp_path):
    # FEOC at 25% excludes the 49% JV; licences survive unless covers_licences is set
    ds = dataset(tmp_path, [LICENCE, PARITY49])
    feoc = {"type": "feoc", "threshold": 0.25, "applies_to": ["jv"]}
    r = solve_dict(ds, objective={"budget": "+10%"}, policies=[feoc])
    assert "P49" not in set(r.tables.flows["id"])
    feoc = {**feoc, "covers_licences": True}
    r = solve_dict(ds, objective={"budget": "+100%"}, policies=[feoc])
    assert set(r.tables.flows["id"]) == {"CHN-GA"}


def test_domestic_target_forces_buyer_hosted_capacity(tmp_path):
    # A US plant at 150/t is never economic, but a target of 15 t/yr of US capacity forces 15 t/yr built
    ds = dataset(tmp_path, [option("DOM", mode="domestic", partner="USA", opex_usd_per_t=150.0,
                                   capex_usd_per_tpy=10.0)])
    target = {"type": "domestic_target", "min_capacity_t": 15}
    r = solve_dict(ds, objective={"minimise": "cost"}, finance={"discount_rate": 0.0, "asset_life_years": 1},
                   policies=[target])
    assert r.tables.extra["builds"]["capacity_tpy"].sum() == approx(15.0)
    # built but idle: its output costs more than China's, so the plan pays capex only
    assert r.summary["cost"]["total_pv_usd"] == approx(4000 + 150)
    target = {"type": "domestic_target", "min_share": 0.5}
    r = solve_dict(ds, objective={"minimise": "cost"}, finance={"discount_rate": 0.0, "asset_life_years": 1},
                   policies=[target])
    assert r.tables.extra["builds"]["capacity_tpy"].sum() == approx(20.0)


def test_a_mip_keeps_highs_presolve_on(tmp_path):
    """Presolve "auto" is off only for LPs; a model with minimum sizes (binaries) keeps it, through its
    fixed-integer LP re-solve too."""
    ds = dataset(tmp_path, [MIN_SIZE])
    r = solve_dict(ds, objective={"budget": "+15%"}, finance={"discount_rate": 0.0, "asset_life_years": 1})
    assert r.ok and r.session.backend.h.getOptionValue("presolve")[1] == "on"
