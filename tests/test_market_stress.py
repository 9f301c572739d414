"""``critmin stress`` in market mode: a shock hits what it says, JV and licence plants included, exactly as the
single-buyer stress selects them, and no shock makes the buyer look less exposed by consuming less.

The hand case: a two-region gallium market (USA; ROW, every other country) for 2025, inelastic demand at
1,000 USD/t, trade cost 100 USD/t between the regions, attribution by ownership.
US plant U: 10 t at 10 USD/t. Japanese plant K (ROW): 40 t at 20. A JV option J hosted in the US, 60% owned by a
Chinese partner: opex 5, capex 200 per t/yr (CRF 1/20 at a 0 rate, one year: 10 a t/yr), up to 30 t/yr, no lead
time. Demand USA 30, ROW 25.

Base: the US needs 20 t beyond U; J at 5 + 10 = 15 a tonne beats K's 20 + 100: J builds 20 (interior), so the US
price is 15 (J's opex + its rent = its capex); ROW takes 25 of K at 20 (K has spare capacity: ROW's price is 20).
US welfare: CS (1000 − 15)·30 = 29,550, U's margin 5·10 = 50, J's margin 10·20 less its capex 200 = 0 → 29,600.
ROW: CS 980·25 = 24,500. Exposure of the US: J's 20 t attributed at 0.6 = 12 of 30: 40%.

Shock "China-owned plants run at half" (by owner, share 0.5): J's capacity is half its builds, so a usable tonne
costs 5 + 20 = 25, still below K's 120: J builds its maximum 30, 15 usable; the US takes U's 10, J's 15 and 5 from
K at 120, the US price. US welfare: CS 880·30 = 26,400, U's margin 110·10 = 1,100, J's margin 115·15 = 1,725 less
capex 300 = 1,425 of which 40% (570) is the US's and 60% (855) China's (ROW). US 28,070 (−1,530), ROW 25,355
(+855); world 53,425 = 1000·55 − (100 + 75 + 300 + 600 + 500). Exposure: 9 attributed of 30: 30% (−10 pp): the US
replaced 3 attributed tonnes with 5 of K's (non-attributed supply 18 → 21 t).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_market import write_market

from engine.analysis.market_stress import _Shocker, market_stress
from engine.analysis.stress import _hit, n_minus_one, named_shocks
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.market import solve_market
from engine.market.goal import buyer_measures
from engine.market.run import money
from tools.readme_examples import README

from conftest import tiny_scenario, write_dataset

approx = pytest.approx

CAPACITY = [
    {"source_id": "USA-GA", "mineral": "ga", "location": "USA", "capacity_t": 10, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 10, "first_year": 2020, "last_year": ""},
    {"source_id": "JPN-GA", "mineral": "ga", "location": "JPN", "capacity_t": 40, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 20, "first_year": 2020, "last_year": ""},
]
JV = {"option_id": "USA-JV", "mineral": "ga", "host": "USA", "partner": "CHN", "mode": "majority",
      "partner_equity_share": 0.6, "capex_usd_per_tpy": 200.0, "opex_usd_per_t": 5.0, "royalty_usd_per_t": 0.0,
      "lead_time_years": 0, "max_size_tpy": 30.0, "min_size_tpy": "", "earliest_start": 2025,
      "description": "test JV"}


def hand(tmp_path: Path, share: float):
    inputs = write_dataset(tmp_path / "inputs", capacity=CAPACITY, jv_options=[JV],
                           demand=[{"mineral": "ga", "year": 2025, "demand_t": 30}])
    write_market(inputs, [("USA", "USA"), ("ROW", "*")],
                 [{"region": "USA", "quantity_t": 30}, {"region": "ROW", "quantity_t": 25}], {"ga": 100.0})
    shock = {"name": "china_owned_half", "country": "CHN", "by": "owner", "minerals": ["ga"], "share": share}
    return scenario_from_dict(tiny_scenario(market="equilibrium", dependence={"basis": "ownership"},
                                            shocks=[shock]), load_dataset(inputs), name="hand")


def test_a_shock_on_the_partners_country_cuts_the_jv_by_hand(tmp_path: Path):
    result = market_stress(hand(tmp_path, 0.5), include_n_minus_one=False)
    assert result.base["welfare_pv_usd"] == approx({"USA": 29_600.0, "ROW": 24_500.0})
    assert result.base["buyer_exposure_pct"] == approx(40.0)
    row = result.table.set_index("shock").loc["china_owned_half"]
    assert row["plant_years_hit"] == 1 and row["capacity_removed_t"] == approx(10.0)  # half of the base's 20
    assert row["welfare_change_USA_pv_usd"] == approx(-1_530.0)
    assert row["welfare_change_ROW_pv_usd"] == approx(855.0)
    assert row["world_surplus_change_pv_usd"] == approx(53_425.0 - 54_100.0)
    assert row["price_change_USA_pct"] == approx(100 * (120 - 15) / 15)
    assert row["price_change_ROW_pct"] == approx(0.0, abs=1e-9)
    assert row["exposure_change_pp"] == approx(-10.0)
    assert row["consumption_change_t"] == approx(0.0, abs=1e-9)


def test_a_whole_cut_of_the_jv_leaves_it_unbuilt_and_the_model_restored(tmp_path: Path):
    loaded = hand(tmp_path, 0.0)
    shocker = _Shocker(solve_market(loaded))
    (shock,) = named_shocks(loaded)
    now = shocker.solve(shock)
    assert now.sol.build == approx([0.0], abs=1e-9)
    flows = shocker.lp.flows.assign(x=now.sol.x)
    assert flows.loc[flows["source_id"] == "USA-JV", "x"].sum() == approx(0.0, abs=1e-9)
    # K is full: 15 t to the US (at 120 a tonne ROW's 980 of surplus beats the US's 880), the US 5 t short
    assert flows.loc[(flows["source_id"] == "JPN-GA") & (flows["region"] == "USA"), "x"].sum() == approx(15.0)
    assert now.consumption_t == approx(25.0) and now.unconsumed_t == approx(5.0)
    # restored: the next solve is the base again, and the matrix HiGHS holds is the model's
    again = shocker.solver.solve()
    assert again.x == approx(shocker.base.sol.x, abs=1e-9) and again.build == approx([20.0])
    held = _held_matrix(shocker.solver)
    assert np.allclose(held.toarray(), shocker.lp.matrix.toarray())


def test_a_shock_never_changes_the_models_own_matrix(tmp_path: Path):
    """The solver's checked copy of the matrix is its own: scaling a JV's build terms for a shock leaves the
    MarketLP's matrix (shared with prices, welfare and the written results) as built."""
    loaded = hand(tmp_path, 0.5)
    result = solve_market(loaded)
    built = result.lp.matrix.copy()
    shocker = _Shocker(result)
    (shock,) = named_shocks(loaded)
    shocker.solve(shock)
    assert (result.lp.matrix != built).nnz == 0


def _held_matrix(solver):
    """The constraint matrix HiGHS holds (without the goal rows' θ, which ``set_theta`` changes)."""
    import scipy.sparse as sp

    lp = solver.h.getLp()
    a = lp.a_matrix_
    return sp.csc_matrix((np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)),
                         shape=(lp.num_row_, lp.num_col_))


# ------------------------------------------------------------------------------------------ shipped scenarios
SHIPPED = ["market", "market_goal", "market_policies", "market_ban_all"]


@pytest.fixture(scope="module", params=SHIPPED)
def shipped(request):
    loaded = load_scenario(request.param)
    shocker = _Shocker(solve_market(loaded))
    return loaded, shocker, n_minus_one(shocker.model) + named_shocks(loaded)


def single_buyer_hits(model, shock) -> dict[tuple[str, int], float]:
    """(source or JV option id, year) → share of normal, as the single-buyer stress selects them (``_hit`` on its
    delivery tables: purchases, then JV output)."""
    out = {}
    for block, frame in model.delivery_frames():
        mask = _hit(model, block, frame, shock)
        out.update({(str(i), int(y)): shock.share for i, y in zip(frame["id"].to_numpy()[mask],
                                                                   frame["year"].to_numpy()[mask], strict=True)})
    return out


def held_factors(shocker) -> dict[tuple[str, int], float]:
    """Per plant-year row, the share of normal the model HiGHS holds lets it run at: a plant's capacity row's right-
    hand side over K, a JV plant-year's build coefficients (capacity and offtake rows) over the model's; only rows
    where that is visible (K > 0, or builds online)."""
    lp, held = shocker.lp, _held_matrix(shocker.solver)
    upper = np.asarray(shocker.solver.h.getLp().row_upper_)
    plants = lp.plants
    key = list(zip(plants["source_id"].astype(str), plants["year"].astype(int), strict=True))
    out = {}
    k = lp.row_upper[:len(plants)]
    for i in np.flatnonzero(k > 0):
        out[key[i]] = float(upper[i] / k[i])
    builds = slice(lp.first_build_col, lp.first_build_col + lp.n_builds)
    model_b, held_b = lp.matrix[:, builds].tocsr(), held[:, builds].tocsr()
    for i in range(shocker.jv_first, len(plants)):
        ratios = held_b[i].toarray()[0][model_b[i].indices] / model_b[i].data
        if len(ratios):
            assert ratios == approx(np.full(len(ratios), ratios[0]), abs=1e-12)
            out[key[i]] = float(ratios[0])
    offtake = np.flatnonzero((lp.rows["family"] == "offtake").to_numpy()) + lp.first_extra_row
    for i, option, year in zip(offtake, lp.rows["policy"].to_numpy()[offtake - lp.first_extra_row],
                               lp.rows["year"].to_numpy()[offtake - lp.first_extra_row], strict=True):
        ratios = held_b[i].toarray()[0][model_b[i].indices] / model_b[i].data
        assert ratios == approx(np.full(len(ratios), out[(str(option), int(year))]), abs=1e-12)  # as its plant
    return out


@pytest.fixture(scope="module")
def shipped_market():
    """The ``market`` scenario's stress: which plants a shock selects and how much it cuts them depend on the dataset
    and the shocks, which every shipped market scenario shares (policies and the goal act on flows, not capacity)."""
    loaded = load_scenario("market")
    shocker = _Shocker(solve_market(loaded))
    return loaded, shocker, n_minus_one(shocker.model) + named_shocks(loaded)


def test_every_shock_cuts_what_the_single_buyer_stress_cuts(shipped_market):
    """For every shock of the shipped market scenarios (N−1 by location and owner, the named ones): the plant-years
    and JV plant-years the market stress selects are the single-buyer stress's, and the model HiGHS holds runs each
    at the shock's share (JV plant-years among them, the Chinese-partnered ones by an ownership shock on China)."""
    _, shocker, shocks = shipped_market
    jv_hit = 0
    for shock in shocks:
        expected = single_buyer_hits(shocker.model, shock)
        plants = shocker.lp.plants
        selected = shocker.hit(shock)
        assert set(zip(plants["source_id"].astype(str)[selected], plants["year"].astype(int)[selected],
                       strict=True)) == set(expected), shock.name
        shocker.apply(shocker.factors(shock))
        try:
            held = held_factors(shocker)
        finally:
            shocker.restore()
        cut = {k: v for k, v in held.items() if v != 1.0}
        assert cut == approx({k: s for k, s in expected.items() if k in held and s != 1.0}), shock.name
        jv_hit += sum(1 for k in cut if k[0] in set(shocker.lp.jv.options["option_id"]))
    assert held_factors(shocker) == approx({k: 1.0 for k in held_factors(shocker)})  # restored
    assert jv_hit > 0  # the shipped shocks do reach JV plant-years (China-partnered, the DRC's)


def test_china_owner_shock_cuts_the_majority_chinese_jvs_not_the_minority_or_licences(shipped_market):
    """An ownership shock on China hits a JV whose Chinese partner holds at least the shock's owner threshold
    (0.5 by default: all of it, not in proportion to equity), never a licence (no equity; its technology factor
    counts in the attribution, not in who can cut the plant), as the single-buyer stress does."""
    _, shocker, shocks = shipped_market
    (shock,) = [s for s in shocks if s.name == "CHN-owned plants cut li"]
    plants = shocker.lp.plants
    hit = set(plants["source_id"][shocker.hit(shock) & (plants["kind"] == "jv").to_numpy()])
    # the 73.2% and 50% partners' plants; not the 20% minority (USA-LI-CN-MINORITY), the licence (USA-LI-CATL-LIC)
    # nor Ganfeng's 46.7% in Argentina (ARG-LI-CN-PARITY)
    assert hit == {"USA-LI-CN-MAJORITY", "USA-LI-CN-PARITY"}


def test_no_shock_lowers_exposure_unless_non_attributed_supply_rises_or_surplus_consumption_falls(shipped):
    """Exposure per mineral-year is 100·(attributed + max(0, Q0 − supplied))/max(Q0, supplied) = 100·(1 − N/D) with
    N = supplied − attributed (the non-attributed tonnes) and D = max(Q0, supplied). So it can fall only when N
    rises (other supply truly replaced attributed tonnes or unmet demand) or D falls (consumption above Q0 falls:
    tonnes beyond the reference quantity were never counted as needed); a consumption fall below Q0 counts in
    full as exposed. For every shock and mineral-year of the shipped stress:
    e1 − e0 = 100·[(N0 − N1)/D1 + N0·(1/D0 − 1/D1)], so e1 − e0 ≥ −100·[max(0, N1 − N0)/D1
    + N0·max(0, 1/D1 − 1/D0)]; and the stress table's exposure change is the mean of the mineral-years'."""
    _, shocker, shocks = shipped
    lp = shocker.lp
    before = buyer_measures(lp, shocker.base.sol)
    for shock in shocks:
        now = shocker.solve(shock)
        after = buyer_measures(lp, now.sol)
        n0 = (before["supplied_t"] - before["attributed_t"]).to_numpy()
        n1 = (after["supplied_t"] - after["attributed_t"]).to_numpy()
        q0 = before["reference_t"].to_numpy()
        d0 = np.maximum(q0, before["supplied_t"].to_numpy())
        d1 = np.maximum(q0, after["supplied_t"].to_numpy())
        e0, e1 = before["exposure_pct"].to_numpy(), after["exposure_pct"].to_numpy()
        assert e0 == approx(100 * (1 - n0 / d0), abs=1e-9) and e1 == approx(100 * (1 - n1 / d1), abs=1e-9)
        floor = -100 * (np.maximum(0.0, n1 - n0) / d1 + n0 * np.maximum(0.0, 1 / d1 - 1 / d0))
        assert (e1 - e0 >= floor - 1e-7).all(), shock.name
        replaced = (n1 > n0 + 1e-6) | (d1 < d0 - 1e-6)
        assert not ((e1 < e0 - 1e-7) & ~replaced).any(), shock.name
        assert now.exposure_pct - shocker.base.exposure_pct == approx(float(np.mean(e1 - e0)), abs=1e-7)


def test_a_shocks_row_does_not_depend_on_the_shocks_before_it(shipped_market):
    """Every shock starts from the base's optimal basis, so where the equilibrium's duals are not unique (a
    degenerate LP) a shock's prices and welfare are the same whichever shocks ran before it: shocks that leave the
    market's optimum alone (Finland, Norway) change nothing, instead of moving welfare between regions."""
    _, shocker, shocks = shipped_market
    some = shocks[:6] + [s for s in shocks if s.country in ("FIN", "NOR")]
    forward = [shocker.run(s) for s in some]
    backward = [shocker.run(s) for s in reversed(some)][::-1]
    assert forward == backward
    for row in forward:
        if row["country"] in ("FIN", "NOR"):
            assert row["world_surplus_change_pv_usd"] == 0.0 and row["welfare_change_USA_pv_usd"] == 0.0, row


def test_the_readme_states_the_stress_figures_the_code_gives(shipped_market):
    """The README's prose on the shipped stress (China cutting cobalt; a tie moving exposure at no cost), computed
    here as the printout formats them."""
    _, shocker, shocks = shipped_market
    rows = {s.name: shocker.run(s) for s in shocks if s.name in ("CHN cuts co (location)", "ZWE cuts li (location)")}
    text = " ".join(README.read_text(encoding="utf-8").split())
    co = rows["CHN cuts co (location)"]
    stated = (f"raises the US cobalt price by {co['price_change_USA_pct']:.0f}% and costs the US USD "
              f"{money(-co['welfare_change_USA_pv_usd'])} in welfare on `models/market.yaml` (China "
              f"+{co['price_change_CHN_pct']:.0f}%, the EU +{co['price_change_EU_pct']:.0f}%; China's own welfare "
              f"falls by USD {money(-co['welfare_change_CHN_pv_usd'])}; the rest of the world's rises by USD "
              f"{money(co['welfare_change_ROW_pv_usd'])};")
    assert stated in text
    zwe = rows["ZWE cuts li (location)"]
    assert zwe["welfare_change_USA_pv_usd"] == 0.0 and zwe["price_change_USA_pct"] == 0.0
    assert f"(Zimbabwe cutting lithium: −{-zwe['exposure_change_pp']:.1f} points, USD 0)" in text
