"""Duals from CBC (PuLP's ``COIN_CMD``) are HiGHS's where they must be, or refused with the reason; every backend's
duals are checked against its point (``engine/solvers/check.py``: ``dual_violation``, ``accept_duals``).

Hand-worked tiny cases (gallium, one year, no discounting; demand 40 t, unmet demand valued at USD 1,000/t):

- cap: China 14 t exportable at USD 100/t, Germany 20 t at 150, Japan 20 t at 200, China capped at 25% (10 t). A
  tonne more from China replaces a Japanese one: USD 200 − 100 = 100 per tonne (``tests/test_ranging.py``);
- ban: China banned; Germany 20 t and Japan 10 t leave 10 t unmet; a Chinese tonne let through meets one for
  USD 100: saves USD 900 per tonne, with ``minimise: cost`` and with the default objective (dependence, then cost);
- quota: China's exports capped at 5 t: 5 + 20 + 10 = 35 t, 5 t unmet; a tonne more of quota saves USD 900.

CBC (cbcbox's "CBC devel") propagates bounds before it solves even an LP and reported the duals of the tightened
LP: the cap's dual 0 (its price on China's flow, strictly inside its bounds), and with the ban every row dual 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.inputs.dataset import Dataset, load_dataset
from engine.inputs.scenario import scenario_from_dict
from engine.model.lp import LinearProgram
from engine.run import RunResult, run_scenario
from engine.solvers import make_backend, pulp_backend
from engine.solvers.base import Solution
from engine.solvers.check import accept_duals, dual_violation

from conftest import TINY_CAPACITY, tiny_scenario, write_dataset

pytestmark = pytest.mark.skipif(pulp_backend.cbc_path() is None, reason="CBC is not installed")

SHIPPED = ["baseline", "crma_caps", "feoc_strict", "ga_ge_ban", "ira_content", "jv_quid_pro_quo"]
KEYS = ["policy", "family", "mineral", "year", "country"]
COST = {"minimise": "cost"}
CAP = {"name": "china_cap", "type": "country_cap", "max_share": 0.25, "by": "location", "countries": ["CHN"]}
BAN = {"name": "ban", "type": "export_ban", "exporter": "CHN", "allowed_share": 0.0}
QUOTA = {"name": "quota", "type": "export_ban", "exporter": "CHN", "allowed_share": 1.0, "quota_t": 5}
REFUSED = "no shadow prices reported: COIN_CMD's duals are not optimal duals of its point"


@pytest.fixture
def behind(tmp_path) -> Dataset:
    """The tiny dataset with China's exportable gallium at 14 t and Japan's capacity at 20 t."""
    capacity = [dict(row) for row in TINY_CAPACITY]
    capacity[0]["capacity_t"] = 28  # × exportable share 0.5
    capacity[2]["capacity_t"] = 20
    return load_dataset(write_dataset(tmp_path / "behind", capacity=capacity))


def _run(dataset: Dataset, solver: str, **overrides: object) -> RunResult:
    return run_scenario(scenario_from_dict(tiny_scenario(**overrides), dataset), solver=solver, impacts=False)


def _priced(result: RunResult) -> dict[str, float]:
    duals = result.tables.extra["duals"]
    return {f"{r.policy}/{r.family}": round(float(r.dual_usd), 6) for r in duals.itertuples()}


@pytest.mark.parametrize(("case", "overrides", "expected"), [
    ("cap", {"objective": COST, "policies": [CAP]}, {"china_cap/country_cap": 100.0}),
    ("ban", {"objective": COST, "policies": [BAN]}, {"ban/bound": 900.0}),
    ("ban", {"policies": [BAN]}, {"ban/bound": 900.0}),
    ("quota", {"objective": COST, "policies": [QUOTA]}, {"quota/export_quota": 900.0}),
])
def test_cbc_prices_the_hand_worked_cases_as_highs_does(case, overrides, expected, tiny, behind):
    dataset = behind if case == "cap" else tiny
    for solver in ("highs", "cbc"):
        result = _run(dataset, solver, **overrides)
        assert _priced(result) == expected, solver
        assert result.plan.duals_checked is True, (solver, result.plan.notes)
        assert not [n for n in result.plan.notes if "shadow prices" in n], solver


def test_cbc_duals_of_a_tightened_lp_are_refused_with_the_reason(behind, tiny, monkeypatch):
    # without the options that stop CBC's bound propagation, its duals are those of the tightened LP: refused
    monkeypatch.setattr(pulp_backend, "cbc_lp_options", lambda path: ())
    for dataset, overrides in ((behind, {"objective": COST, "policies": [CAP]}), (tiny, {"policies": [BAN]})):
        result = _run(dataset, "cbc", **overrides)
        assert result.tables.extra["duals"].empty
        assert result.plan.duals_checked is False
        refused = [n for n in result.summary["warnings"] if n.startswith(REFUSED)]
        assert refused and "complementary slackness" in refused[0], result.summary["warnings"]


def test_cbc_is_asked_for_the_duals_of_the_lp_as_given(behind, monkeypatch):
    seen: list[list[str]] = []
    solve = pulp_backend.pulp.LpProblem.solve

    def spy(prob: object, solver: object = None, **kwargs: object) -> object:
        seen.append(list(getattr(solver, "options", [])))
        return solve(prob, solver, **kwargs)

    monkeypatch.setattr(pulp_backend.pulp.LpProblem, "solve", spy)
    _run(behind, "cbc", objective=COST, policies=[CAP])
    assert seen and all(set(pulp_backend.CBC_LP_OPTIONS) <= set(options) for options in seen)


# ------------------------------------------------------------------------------------------- the dual check
def _cap_lp() -> tuple[LinearProgram, np.ndarray]:
    """min 100 c + 150 g + 200 j + 1000 s: c + g + j + s = 40, c + 0.25 s <= 10, c <= 14, g <= 20, j <= 20.
    Optimum c 10, g 20, j 10, s 0; duals: demand 200, cap −100; reduced costs g −50, s 825."""
    lp = LinearProgram()
    keys = pd.DataFrame({"source": ["c", "g", "j", "s"]})
    lp.add_variables("x", keys, lower=0.0, upper=np.array([14.0, 20.0, 20.0, 40.0]))
    lp.add_constraints("demand", pd.DataFrame({"m": ["ga"]}), np.zeros(4, dtype=np.int64), np.arange(4),
                       np.ones(4), 40.0, 40.0)
    lp.add_constraints("cap", pd.DataFrame({"m": ["ga"]}), np.zeros(2, dtype=np.int64), np.array([0, 3]),
                       np.array([1.0, 0.25]), -np.inf, 10.0)
    return lp, np.array([100.0, 150.0, 200.0, 1000.0])


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_the_dual_check_passes_true_duals_and_catches_corrupted_ones(solver):
    lp, cost = _cap_lp()
    backend = make_backend(solver)
    backend.load(lp, objective=cost)
    sol = backend.solve()
    assert sol.ok and "duals_refused" not in sol.extra
    np.testing.assert_allclose(sol.x, [10, 20, 10, 0], atol=1e-9)
    np.testing.assert_allclose(sol.row_dual, [200, -100], atol=1e-9)
    np.testing.assert_allclose(sol.col_dual, [0, -50, 0, 825], atol=1e-9)
    solved = backend.solved
    assert dual_violation(solved, sol.x, sol.row_dual, sol.col_dual) is None
    y = sol.row_dual

    def broken(row: list[float], col: list[float]) -> str:
        found = dual_violation(solved, sol.x, np.array(row), np.array(col))
        assert found is not None
        return str(found)

    # what CBC reported: the cap's price moved to China's flow, strictly inside its bounds
    assert "complementary slackness: column x[c]" in broken([200, 0], [-100, -50, 0, 800])
    # reduced costs that are not c − Aᵀy
    assert "reduced cost of column x[g]" in broken(list(y), [0, -40, 0, 825])
    # the cap's dual with the wrong sign: a ≤ row priced as if its (infinite) lower bound bound
    assert "dual feasibility: row cap" in broken([200, 100], list(cost - np.array([300, 200, 200, 225])))
    # every row dual zero, every reduced cost its cost (CBC with the ban): flows priced off their lower bound
    assert "complementary slackness" in broken([0, 0], list(cost))
    # consistent, feasible in sign, but not complementary: the demand priced below the marginal source
    assert "complementary slackness" in broken([150, -50], list(cost - np.array([100, 150, 150, 137.5])))
    refused = Solution(status=sol.status, objective=sol.objective, x=sol.x, row_dual=np.array([200.0, 0.0]),
                       col_dual=np.array([-100.0, -50.0, 0.0, 800.0]))
    assert accept_duals(refused, solved, solver) is not None
    assert refused.row_dual is None and refused.col_dual is None
    assert refused.extra["duals_refused"].startswith(f"{solver}'s duals are not optimal duals of its point: ")


# ------------------------------------------------------------------------------------------- shipped scenarios
@pytest.mark.parametrize("name", SHIPPED)
def test_cbc_duals_csv_equals_highs_where_the_duals_are_unique(name):
    """Where HiGHS's ranging says its dual holds on both sides of the bound (the LP's optimal value is linear in
    that bound around it), every optimal dual has that value, so CBC's must equal it; elsewhere (a degenerate
    vertex, a bound at zero) duals are legitimately not unique and are not compared. CBC's duals are either given
    (and passed the dual check) or refused with the reason."""
    highs = run_scenario(name, impacts=False)
    cbc = run_scenario(name, solver="cbc", impacts=False)
    h, c = highs.tables.extra["duals"], cbc.tables.extra["duals"]
    refused = [n for n in cbc.summary["warnings"] if n.startswith("no shadow prices reported")]
    if c.empty and refused:
        return
    assert cbc.plan.duals_checked is True and not refused, refused
    firm = h[(h["holds_relaxing"] > 1e-6) & (h["holds_tightening"] > 1e-6)]
    both = firm.merge(c[[*KEYS, "dual_usd"]], on=KEYS, how="left", suffixes=("", "_cbc"))
    assert both["dual_usd_cbc"].notna().all(), both[both["dual_usd_cbc"].isna()][KEYS]
    np.testing.assert_allclose(both["dual_usd_cbc"], both["dual_usd"], rtol=1e-6)
    assert (c["ranging"] == "not available with cbc").all()
