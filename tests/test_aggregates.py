"""Aggregates over minerals (mean, value, max, leximin), the exchange rate they imply, the control basis and the
owner table, on the tiny dataset solved by hand (``conftest.py``).

Gallium: demand 40 t; China 50 t at 100 USD/t, Germany 20 t at 150, Japan 10 t at 200. Germanium: demand 10 t;
China 100 t at 1000, Germany 5 t at 1500. One year (2025), no discounting, location basis unless stated. The
least-cost plan buys everything from China (USD 14,000; both minerals 100% exposed). A tonne moved off China
costs +50 (ga, Germany), +100 (ga, Japan) or +500 (ge, Germany) and lowers its mineral's exposure by 2.5 pp (ga,
1/40) or 10 pp (ge, 1/10): 20, 40 and 50 USD per percentage point.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from engine.inputs.dataset import load_dataset
from engine.outputs.results import dependence_metric
from engine.outputs.weighting import weighting_lines

from conftest import TINY_CAPACITY, single_buyer, solve_dict, write_dataset

approx = functools.partial(pytest.approx, rel=1e-6, abs=1e-5)
MODELS = Path(__file__).resolve().parents[1] / "models"


def both(ds, aggregate: str, budget: float, **overrides):
    """Solve ga and ge together, minimising exposure under ``aggregate`` within an absolute budget (USD)."""
    return solve_dict(ds, minerals=["ga", "ge"], objective={"aggregate": aggregate, "budget": budget},
                      **overrides)


def exposure(result, mineral: str) -> float:
    return result.summary["dependence"]["exposure"]["by_mineral"][mineral]["optimised_pct"]


# ------------------------------------------------------------------------------------------- leximin
def test_leximin_equalises_where_the_mean_trades_one_mineral_for_the_other(tiny):
    # USD 2,000 above least cost. The mean buys the cheapest percentage points: gallium from Germany (20 t,
    # USD 1,000: ga 50%) then Japan (10 t, USD 1,000: ga 25%); germanium stays at 100%.
    # Leximin lowers the worst: both to t with (100 − t) × (20 + 50) = 2,000, t = 100 − 200/7 = 71.428571%,
    # and neither can go lower without the other rising (the budget binds): both fixed in the first round.
    mean = both(tiny, "mean", 16_000)
    assert exposure(mean, "ga") == approx(25.0)
    assert exposure(mean, "ge") == approx(100.0)
    lex = both(tiny, "leximin", 16_000)
    t = 100 - 200 / 7
    assert exposure(lex, "ga") == approx(t)
    assert exposure(lex, "ge") == approx(t)
    assert lex.summary["dependence"]["exposure"]["overall_pct"] == approx(t)  # the worst mineral's
    assert max(exposure(lex, m) for m in ("ga", "ge")) < max(exposure(mean, m) for m in ("ga", "ge"))


def test_leximin_fixes_the_worst_then_lowers_the_next(tiny):
    # USD 10,000 above least cost. Germanium cannot go below 50% (Germany has 5 t): round 1 reaches t = 50 with
    # gallium below it, so only germanium is fixed; round 2 lowers gallium to its floor, 25% (30 t outside China).
    lex = both(tiny, "leximin", 24_000)
    assert exposure(lex, "ge") == approx(50.0)
    assert exposure(lex, "ga") == approx(25.0)
    rounds = [s["name"] for s in lex.summary["stages"] if s["name"] == "leximin"]
    assert len(rounds) == 2


# ------------------------------------------------------------------------------------------- value
def test_value_weights_each_mineral_by_the_value_of_its_demand(tiny):
    # Value of demand: ga 40 t × 100 = 4,000, ge 10 t × 1,000 = 10,000; a tonne off China lowers the aggregate by
    # 100 × 100 / 14,000 (ga) or 100 × 1,000 / 14,000 (ge): 1/70 pp per USD by Germany for either mineral, so
    # USD 2,000 buys 200/7 pp whatever the mix.
    r = both(tiny, "value", 16_000)
    ga, ge = exposure(r, "ga"), exposure(r, "ge")
    overall = r.summary["dependence"]["exposure"]["overall_pct"]
    assert overall == approx((4_000 * ga + 10_000 * ge) / 14_000, rel=1e-4)
    assert overall == approx(100 - 200 / 7, rel=1e-4)
    assert dependence_metric(r.model, r.tables.dependence) == approx(overall, rel=1e-4)


# ------------------------------------------------------------------------------------------- exchange rate
def test_exchange_rate_by_hand(tiny):
    # mean: a ga tonne weighs 100 / (40 × 2) = 1.25 pp, a ge tonne 100 / (10 × 2) = 5 pp: 1 t ge = 4 t ga.
    # value: by price, 1,000 / 100: 1 t ge = 10 t ga.
    mean = both(tiny, "mean", 16_000).summary["dependence"]["weighting"]
    assert mean["reference"] == {"mineral": "ga", "year": 2025}
    assert mean["by_mineral"]["ge"]["2025"] == {"reference_t": 4.0, "pp_per_tonne": 5.0}
    assert mean["by_mineral"]["ga"]["2025"] == {"reference_t": 1.0, "pp_per_tonne": 1.25}
    names = {"ga": "gallium", "ge": "germanium"}
    assert weighting_lines(mean, names) == [
        "  Weighting: mean over minerals and years (each mineral-year alike): one tonne of germanium in 2025 weighs "
        "like 4 t of gallium in 2025.",
        "    Exchange rate: one tonne of each weighs like this many tonnes of gallium in 2025:",
        "      gallium     2025: 1 t",
        "      germanium   2025: 4 t"]
    value = both(tiny, "value", 16_000).summary["dependence"]["weighting"]
    assert value["by_mineral"]["ge"]["2025"]["reference_t"] == 10.0
    assert value["by_mineral"]["ga"]["2025"]["pp_per_tonne"] == approx(100 * 100 / 14_000)
    worst = both(tiny, "max", 16_000).summary["dependence"]["weighting"]
    assert worst["by_mineral"] == {} and "No exchange rate" in weighting_lines(worst, names)[1]


# ------------------------------------------------------------------------------------------- control basis
def owned(tmp_path: Path, ownership: list[dict]):
    return load_dataset(write_dataset(tmp_path / "inputs", ownership=ownership))


CHINESE_STAKES = [{"source_id": "DEU-GA", "owner": "CHN", "equity_share": 0.3},
                  {"source_id": "JPN-GA", "owner": "CHN", "equity_share": 0.2}]


def attribution(result) -> dict[str, float]:
    flows = result.tables.flows
    return {i: float(a) for i, a in zip(flows["id"], flows["china_attribution"], strict=True)}


@pytest.mark.parametrize(("basis", "threshold", "expected"), [
    ("control", 0.25, {"CHN-GA": 1.0, "DEU-GA": 1.0, "JPN-GA": 0.0}),  # 30% reaches 25%; 20% does not
    ("control", 0.35, {"CHN-GA": 1.0, "DEU-GA": 0.0, "JPN-GA": 0.0}),
    ("control", 0.2, {"CHN-GA": 1.0, "DEU-GA": 1.0, "JPN-GA": 1.0}),  # at the threshold counts
    ("ownership", 0.25, {"CHN-GA": 1.0, "DEU-GA": 0.3, "JPN-GA": 0.2}),
    ("combined_control", 0.25, {"CHN-GA": 1.0, "DEU-GA": 1.0, "JPN-GA": 0.0}),
])
def test_control_basis_counts_a_source_fully_at_the_threshold(tmp_path, basis, threshold, expected):
    # every source bought from (minimise cost with China capped at 0 t: Germany 20 t and Japan 10 t, rest short)
    ds = owned(tmp_path, CHINESE_STAKES)
    capacity_all = solve_dict(ds, objective={"minimise": "cost"},
                              dependence={"basis": basis, "control_threshold": threshold},
                              data={"demand_scale": {"ga": 2.0}})  # 80 t: every source is needed
    assert attribution(capacity_all) == expected


def test_control_counts_a_jv_by_its_partners_equity(tmp_path):
    # a 20% Chinese partner is below the 25% threshold: the JV counts 0; a 30% one counts 1
    ds = load_dataset(write_dataset(tmp_path / "inputs", capacity=[r for r in TINY_CAPACITY if r["mineral"] == "ge"]
                                    + [r for r in TINY_CAPACITY if r["source_id"] == "CHN-GA"],
                                    jv_options=[jv("J20", 0.2), jv("J30", 0.3)]))
    r = solve_dict(ds, objective={"minimise": "cost"}, dependence={"basis": "control"})
    got = attribution(r)
    assert got["J20"] == 0.0 and got["J30"] == 1.0


def jv(option_id: str, equity: float, opex: float = 50.0) -> dict:
    """A JV in the US with a Chinese partner holding ``equity``, cheaper than China (opex ``opex``), 20 t a year."""
    mode = "minority" if equity <= 0.25 else "parity" if equity <= 0.5 else "majority"
    return {"option_id": option_id, "mineral": "ga", "host": "USA", "partner": "CHN", "mode": mode,
            "partner_equity_share": equity, "capex_usd_per_tpy": 0.0, "opex_usd_per_t": opex,
            "royalty_usd_per_t": 0.0, "lead_time_years": 0, "max_size_tpy": 20.0, "min_size_tpy": "",
            "earliest_start": 2025, "description": "test option"}


# ------------------------------------------------------------------------------------------- owner table
def test_owner_table_splits_a_jv_by_equity(tmp_path):
    # a JV with 40% Chinese equity delivers 20 t: 8 t under CHN and 12 t under USA (its host); China's own plant
    # the other 20 t, all CHN
    ds = load_dataset(write_dataset(tmp_path / "inputs", capacity=[r for r in TINY_CAPACITY if r["mineral"] == "ge"]
                                    + [r for r in TINY_CAPACITY if r["source_id"] == "CHN-GA"],
                                    jv_options=[jv("J40", 0.4)]))
    r = solve_dict(ds, objective={"minimise": "cost"})
    owners = r.tables.extra["owners"]
    assert list(owners.columns) == ["scen", "mineral", "year", "owner", "tonnes"]
    got = {o: float(t) for o, t in zip(owners["owner"], owners["tonnes"], strict=True)}
    assert got == approx({"CHN": 20.0 + 0.4 * 20.0, "USA": 0.6 * 20.0})
    flows = r.tables.flows
    assert flows.loc[flows["id"] == "J40", "owner"].tolist() == ["USA"]  # flows: the largest owner alone


# ------------------------------------------------------------------------------------------- property
@pytest.mark.parametrize("model", sorted(p.stem for p in single_buyer(MODELS.glob("*.yaml"))))
def test_leximin_worst_mineral_is_no_worse_than_under_the_mean(model):
    from engine import api

    worst = {}
    for aggregate in ("mean", "leximin"):
        loaded = api.load({"extends": model, "objective": {"aggregate": aggregate}})
        result = api.solve(loaded, impacts=False)
        by = result.summary["dependence"]["exposure"]["by_mineral"]
        worst[aggregate] = max(v["optimised_pct"] for v in by.values())
    assert worst["leximin"] <= worst["mean"] + 1e-4
