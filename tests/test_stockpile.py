"""Strategic stockpile on the tiny gallium model, by hand.

Two years (2025, 2026), demand 40 t a year, no discounting. China (50 t at 100 USD/t) is banned in 2026 only;
Germany 20 t at 150 and Japan 10 t at 200 remain, so 2026 is 10 t short without a stockpile.
"""

from __future__ import annotations

import functools

import pytest

from engine.inputs.dataset import load_dataset

from conftest import solve_dict, write_dataset

approx = functools.partial(pytest.approx, rel=1e-6, abs=1e-6)
BAN_2026 = {"type": "export_ban", "name": "ban", "exporter": "CHN", "years": 2026}


@pytest.fixture
def two_years(tmp_path):
    demand = [{"mineral": m, "year": y, "demand_t": 40 if m == "ga" else 1} for y in (2025, 2026)
              for m in ("ga", "ge")]
    return load_dataset(write_dataset(tmp_path, demand=demand))


def run(dataset, stockpile=None):
    return solve_dict(dataset, horizon={"start": 2025, "end": 2026}, objective={"minimise": "cost"},
                      policies=[BAN_2026], stockpile=stockpile or {})


def test_without_a_stockpile_2026_is_short(two_years):
    assert run(two_years).summary["shortfall"]["total_t"] == approx(10.0)


def test_stockpile_bought_ahead_covers_the_ban(two_years):
    # buy 10 t extra from China in 2025 (50 t at 100 = 5,000), hold it one year (10 × 1 USD), draw it in 2026
    # when Germany and Japan supply 30 t (3,000 + 2,000): total 10,010
    r = run(two_years, {"ga": {"capacity_t": 10, "holding_usd_per_t_yr": 1.0}})
    assert r.summary["shortfall"]["total_t"] == approx(0.0)
    assert r.summary["cost"]["total_pv_usd"] == approx(10010.0)
    sp = r.tables.extra["stockpile"].set_index("year")
    assert sp["put_t"].to_dict() == approx({2025: 10.0, 2026: 0.0})
    assert sp["draw_t"].to_dict() == approx({2025: 0.0, 2026: 10.0})
    assert sp["stock_t"].to_dict() == approx({2025: 10.0, 2026: 0.0})
    costs = r.tables.costs.groupby("component")["usd"].sum()
    assert costs["stockpile_holding"] == approx(10.0)


def test_initial_stock_and_draw_limit(two_years):
    # 8 t already held, but at most 4 t may be drawn a year: 2026 is 6 t short
    r = run(two_years, {"ga": {"initial_t": 8, "capacity_t": 10, "max_draw_t": 4}})
    assert r.summary["shortfall"]["total_t"] == approx(6.0)


def test_bad_stockpile_rejected(two_years):
    from engine.errors import InputError

    with pytest.raises(InputError, match="initial_t 12 exceeds capacity_t 10"):
        run(two_years, {"ga": {"initial_t": 12, "capacity_t": 10}})
