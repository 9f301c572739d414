"""Worst-case planning: a case solved by hand, CCG against enumeration, and the k = 0 plan against solve.

The hand case (no discounting, value of unmet demand 10x the price: gallium USD 1,000/t, germanium USD 10,000/t).
Two years, 2025 and 2026; each year gallium demand 40 t (China 100 t at 100, Germany 25 t at 150) and germanium
10 t (China 100 t at 1,000, Germany 5 t at 1,500). Stockpiles bought in 2025 (first stage), drawn in 2026:
gallium up to 20 t, germanium up to 3 t, holding USD 10 per tonne-year. China may cut a mineral from 2026.

- Deterministic plan (least cost): no stock. A germanium cut leaves 5 t unmet (50,000); a gallium cut 15 t (15,000).
- k = 1: the adversary picks the worse of the two. Holding 3 t of germanium takes its cut to 2 t unmet (20,000),
  and then the gallium cut (15,000) is below it: worst case 20,000, premium 3 × 10 = 30.
- k = 2: both cuts at once: 15,000 − 1,000 s_ga + 20,000 is least, 20,000, with s_ga = 15: premium 18 × 10 = 180.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from engine.analysis.worstcase import allowed_moves, restriction_sets, undominated, worstcase
from engine.analysis.worstcase_run import headline, render_worstcase, stockpile_purchases
from engine.cli import main
from engine.figures.analysis_plots import worstcase_figure
from engine.formulation import build_model
from engine.inputs.dataset import load_dataset
from engine.inputs.scenario import scenario_from_dict

from conftest import TINY_CAPACITY, write_dataset

approx = functools.partial(pytest.approx, rel=1e-6, abs=1e-3)

CAPACITY = [
    {**TINY_CAPACITY[0], "exportable_share": 1.0},
    {**TINY_CAPACITY[1], "capacity_t": 25},
    TINY_CAPACITY[3],
    TINY_CAPACITY[4],
]
DEMAND = [{"mineral": m, "year": y, "demand_t": d} for y in (2025, 2026) for m, d in (("ga", 40), ("ge", 10))]


def hand_case(tmp_path: Path, k: int = 2, demand: list[dict] | None = None, **worst: object):
    dataset = load_dataset(write_dataset(tmp_path / "inputs", capacity=CAPACITY, demand=demand or DEMAND))
    scenario = {
        "horizon": {"start": 2025, "end": 2026}, "minerals": ["ga", "ge"],
        "finance": {"discount_rate": 0.0}, "dependence": {"basis": "location"},
        "objective": {"minimise": "cost"},
        "stockpile": {"ga": {"capacity_t": 20, "holding_usd_per_t_yr": 10},
                      "ge": {"capacity_t": 3, "holding_usd_per_t_yr": 10}},
        "worstcase": {"k": k, "by": ["location"], "start_years": "2026", **worst},
    }
    return scenario_from_dict(scenario, dataset, name="hand")


def test_min_max_plan_by_hand(tmp_path):
    result = worstcase(hand_case(tmp_path))
    assert result.status == "optimal", result.message
    table = headline(result).set_index("k")
    assert table.loc[0, "deterministic_worst_unmet_value_pv_usd"] == approx(0.0)
    assert table.loc[1, "deterministic_worst_unmet_value_pv_usd"] == approx(50_000)
    assert table.loc[2, "deterministic_worst_unmet_value_pv_usd"] == approx(65_000)
    assert table.loc[1, "worst_unmet_value_pv_usd"] == approx(20_000)
    assert table.loc[2, "worst_unmet_value_pv_usd"] == approx(20_000)
    assert table.loc[1, "premium_usd"] == approx(30.0)
    assert table.loc[2, "premium_usd"] == approx(180.0)
    assert table.loc[1, "worst_set"] == "germanium located in China from 2026"
    puts = stockpile_purchases(result)
    bought = puts[puts["year"] == 2025].set_index(["k", "mineral"])["put_t"]
    assert bought[(1, "ge")] == approx(3.0) and bought[(1, "ga")] == approx(0.0)
    assert bought[(2, "ge")] == approx(3.0) and bought[(2, "ga")] == approx(15.0)
    regret = result.regret.set_index(["plan", "restriction"])
    ge_cut = regret.loc[("deterministic", "germanium located in China from 2026")]
    assert ge_cut["unmet_value_usd"] == approx(50_000)
    assert ge_cut["best_possible_usd"] == approx(20_000)
    assert ge_cut["regret_usd"] == approx(30_000)


SHORT_2025 = [{**row, "demand_t": 130} if (row["mineral"], row["year"]) == ("ga", 2025) else row for row in DEMAND]
"""The hand case with 130 t of gallium demand in 2025: China 100 t and Germany 25 t leave 5 t unmet in the base plan
(USD 5,000), and no gallium is spare for a stock."""


def test_worst_sets_report_what_they_add_to_the_base_plans_unmet_demand(tmp_path):
    # base: 5 t of gallium unmet (2025), USD 5,000. k = 1, cuts from 2026. Deterministic plan (no stock): the
    # germanium cut leaves Germany's 5 t of 10 t, 5 t more unmet (+50,000); the gallium cut 15 t more (+15,000).
    # Robust plan: 3 t of germanium stock (holding USD 30) takes the germanium cut to 2 t more (+20,000), above the
    # gallium cut's +15,000: its worst set adds 2 t. Totals include the base's 5 t: 7 t and 10 t
    result = worstcase(hand_case(tmp_path, k=1, demand=SHORT_2025))
    assert result.status == "optimal", result.message
    assert result.base["unmet_t"] == approx(5.0) and result.base["unmet_value_pv_usd"] == approx(5_000)
    row = headline(result).set_index("k").loc[1]
    assert row["worst_unmet_t"] == approx(7.0) and row["deterministic_worst_unmet_t"] == approx(10.0)
    assert row["worst_unmet_added_t"] == approx(2.0)
    assert row["worst_unmet_added_t"] == approx(row["worst_unmet_t"] - result.base["unmet_t"])
    assert row["worst_unmet_value_added_pv_usd"] == approx(20_000)
    assert row["worst_unmet_added_by_mineral"] == "germanium +2.00 t"
    assert row["deterministic_worst_unmet_added_t"] == approx(5.0)
    assert row["deterministic_worst_unmet_value_added_pv_usd"] == approx(50_000)
    assert row["premium_usd"] == approx(30.0) and not row["over_budget"] and row["sets_adding_unmet"] == 2
    moves = result.move_damage.set_index("move")
    assert moves.loc["gallium located in China from 2026", "deterministic added_unmet_t"] == approx(15.0)
    regret = result.regret.set_index(["plan", "restriction"])
    assert regret.loc[("robust k=1", "germanium located in China from 2026"), "unmet_added_t"] == approx(2.0)
    printed = render_worstcase(result)
    assert ("  Every figure is a change against the base plan (the scenario's own plan, as solve plans it, with no "
            "restriction: 5.00 t unmet (gallium 5.00 t), exposure ") in printed
    assert "  Budget: none; the scenario minimises cost, and so does every robust plan" in printed
    assert "     1      +2.00 t    +USD 20,000         +USD 50,000      +USD 30      0 pp             0 pp  " \
           "germanium located in China from 2026: germanium +2.00 t" in printed
    assert "the robust plan buys, beyond the base plan: germanium stockpile +3.00 t." in printed
    assert "  2 of 2 moves add unmet demand to the base plan, one at a time. The worst:" in printed
    assert "  - gallium located in China from 2026: +15 t unmet (+USD 15,000)" in printed
    assert "CHN" not in printed and "7.00 t" not in printed and "10 t" not in printed


def test_a_move_that_adds_nothing_is_not_counted(tmp_path):
    # cuts to half of normal: China keeps 50 t of gallium and of germanium, enough with Germany's for 40 t and 10 t,
    # except gallium in 2025 (130 t: 50 + 25 leave 55 t unmet, 50 t more than the base's 5 t). One move of four
    # adds unmet demand
    result = worstcase(hand_case(tmp_path, k=1, demand=SHORT_2025, share=0.5, start_years="all"))
    moves = result.move_damage.set_index("move")["deterministic added_unmet_t"]
    assert moves["gallium located in China from 2025"] == approx(50.0)
    assert (moves.drop("gallium located in China from 2025") == 0.0).all()
    printed = render_worstcase(result)
    assert "  1 of 4 moves add unmet demand to the base plan, one at a time; the other 3 add none. The worst:" \
        in printed
    assert "  - gallium located in China from 2025: +50 t unmet (+USD 50,000)" in printed
    # from 2026 on, no move adds anything: no set either, and nothing is charted
    later = worstcase(hand_case(tmp_path, k=1, demand=SHORT_2025, share=0.5, start_years="2026"))
    row = headline(later).set_index("k").loc[1]
    assert row["worst_unmet_added_t"] == 0.0 and row["worst_unmet_value_added_pv_usd"] == 0.0
    assert row["sets_adding_unmet"] == 0 and row["worst_unmet_added_by_mineral"] == ""
    printed = render_worstcase(later)
    assert "no set of up to 1 move adds unmet demand" in printed
    assert "  k = 1: 0 of 2 sets of up to 1 undominated move add unmet demand to the deterministic plan" in printed
    assert "  None of the 2 moves adds unmet demand to the base plan, one at a time." in printed
    assert later.regret.empty
    assert worstcase_figure(headline(later), "China", "hand") is None


def _random_case(tmp_path: Path, seed: int):
    """A three-year two-mineral case with random demand, capacity and stockpiles; moves from any year."""
    rng = np.random.default_rng(seed)
    capacity = [{**row, "capacity_t": float(np.round(row["capacity_t"] * rng.uniform(0.3, 1.2), 1))}
                for row in CAPACITY]
    demand = [{"mineral": m, "year": y, "demand_t": float(np.round(d * rng.uniform(0.6, 1.4), 1))}
              for y in (2025, 2026, 2027) for m, d in (("ga", 40), ("ge", 10))]
    dataset = load_dataset(write_dataset(tmp_path / f"inputs{seed}", capacity=capacity, demand=demand))
    scenario = {
        "horizon": {"start": 2025, "end": 2027}, "minerals": ["ga", "ge"],
        "finance": {"discount_rate": 0.05}, "dependence": {"basis": "location"},
        "objective": {"minimise": "cost"},
        "stockpile": {m: {"capacity_t": float(rng.uniform(1, 20)), "max_purchase_t": float(rng.uniform(1, 10)),
                          "holding_usd_per_t_yr": float(rng.uniform(0, 30))} for m in ("ga", "ge")},
        "worstcase": {"k": 2, "by": ["location"], "share": float(rng.choice([0.0, 0.3]))},
    }
    return scenario_from_dict(scenario, dataset, name=f"random{seed}")


@pytest.mark.parametrize("seed", range(6))
def test_column_and_constraint_generation_equals_enumeration(tmp_path, seed):
    loaded = _random_case(tmp_path, seed)
    ccg = worstcase(loaded, method="ccg", prune=False)
    full = worstcase(loaded, method="enumerate", prune=False)
    assert ccg.status == full.status == "optimal"
    a, b = headline(ccg).set_index("k"), headline(full).set_index("k")
    for column in ("worst_unmet_value_pv_usd", "deterministic_worst_unmet_value_pv_usd", "cost_pv_usd"):
        assert a[column].to_numpy() == pytest.approx(b[column].to_numpy(), rel=1e-6, abs=1e-3), column
    # the robust plan's worst case is never worse than the deterministic plan's, and grows with k
    assert (a["worst_unmet_value_pv_usd"] <= a["deterministic_worst_unmet_value_pv_usd"] + 1e-3).all()
    assert np.all(np.diff(a["worst_unmet_value_pv_usd"].to_numpy()) >= -1e-3)


@pytest.mark.parametrize("seed", range(4))
def test_dominated_moves_never_change_the_worst_case(tmp_path, seed):
    loaded = _random_case(tmp_path, seed)
    pruned, every = worstcase(loaded), worstcase(loaded, prune=False)
    assert len(pruned.adversary_moves) < len(every.adversary_moves)
    a, b = headline(pruned), headline(every)
    assert a["worst_unmet_value_pv_usd"].to_numpy() == pytest.approx(b["worst_unmet_value_pv_usd"].to_numpy(),
                                                                      rel=1e-6, abs=1e-3)


def test_moves_and_sets(tmp_path):
    loaded = hand_case(tmp_path, start_years="all")
    moves = allowed_moves(build_model(loaded), loaded.scenario.worstcase)
    assert [(m.mineral, m.start) for m in moves.moves] == [("ga", 2025), ("ga", 2026), ("ge", 2025), ("ge", 2026)]
    assert [(m.mineral, m.start) for m in undominated(moves)] == [("ga", 2025), ("ge", 2025)]
    assert len(restriction_sets(moves.moves, 2)) == 1 + 4 + 6


def test_k0_tables_are_solves(tmp_path):
    runner = CliRunner()
    solved, worst = tmp_path / "solve", tmp_path / "worst"
    assert runner.invoke(main, ["solve", "baseline", "--out", str(solved)]).exit_code == 0
    result = runner.invoke(main, ["worstcase", "baseline", "--k", "0", "--out", str(worst)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (worst / "k0").iterdir())
    assert "flows.csv" in written and "builds.csv" in written
    for name in written:
        assert (worst / "k0" / name).read_bytes() == (solved / name).read_bytes(), name


def test_worstcase_command_on_the_baseline(tmp_path):
    out = tmp_path / "wc"
    result = CliRunner().invoke(main, ["worstcase", "baseline", "--k", "1", "--from", "2026+", "--mineral", "gallium",
                                       "--mineral", "ge", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "germanium in or controlled by China from 2026" in result.output and "CHN" not in result.output
    assert {"worstcase.csv", "regret.csv", "moves.csv", "bounds.csv", "builds.csv", "stockpile.csv", "k0", "k1",
            "worstcase.png", "worstcase.svg", "summary.json", "worstcase.yaml"} <= {p.name for p in out.iterdir()}


@pytest.mark.parametrize(("args", "message"), [
    (["--by", "border"], "--by ['border']: Input should be 'location', 'owner' or 'either'"),
    (["--from", "2040+"], "--from: 2040+ covers no year of the horizon 2025-2035 of scenario 'baseline'; expected a "
                          "year from 2025 to 2035"),
    (["--country", "CHX"], "--country: 'CHX' is an unknown country (did you mean 'CHN'?); expected an ISO 3166 "
                           "alpha-3 code of the dataset"),
    (["--country", "ARG", "--mineral", "ga"], "--country: 'ARG' has no capacity of ga in the dataset (refining, "
                                             "equity or JV options), so it selects nothing; expected one of AUS, "
                                             "CAN, CHN, GRC, JPN, KOR, RUS, USA"),
    (["--mineral", "galium"], "--mineral: 'galium' is not modelled in scenario 'baseline' (did you mean 'gallium'?); "
                              "expected one of co (cobalt), ga (gallium), ge (germanium), li (lithium), ni (nickel)"),
])
def test_bad_worstcase_options(tmp_path, args, message):
    out = tmp_path / "never"
    result = CliRunner().invoke(main, ["worstcase", "baseline", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()
