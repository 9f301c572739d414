"""Minimum efficient sizes settled by branching on warm LP re-solves give the MIP's plan (``engine/plan/branching.py``).

The MIP path (``PlanSession.branching = False``: the relaxation, then HiGHS's MIP when a build is undersized) is kept
callable; both paths solve the same seeded variants of the baseline scenario whose binaries branch.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_jv import MIN_SIZE, dataset

import engine.plan.branching as branching
from engine.formulation import build_model
from engine.inputs.scenario import load_scenario, scenario_from_dict, with_overrides
from engine.plan.branching import MinimumSizes
from engine.plan.hierarchy import PlanSession
from engine.solvers import SolverOptions, make_backend
from engine.solvers.base import MIP_REL_GAP, Solution, Status

from conftest import tiny_scenario

EXPORTERS = ["AUS", "CAN", "IDN", "COD", "CHL", "ARG", "JPN", "KOR"]


def variant(seed: int):
    """The baseline with a China-attributed share cap of 3-45% of demand from 2028, half the time a ban on one
    exporter's sales from 2027, and a budget premium of 0.5-40%: caps far from the least-cost plan's share make the
    relaxation build less than a minimum size."""
    rng = np.random.default_rng(seed)
    base = load_scenario("baseline")
    policies = base.scenario.model_dump(mode="json", exclude_none=True)["policies"]
    policies.append({"name": "cap", "type": "dependence_cap", "max_share": float(rng.uniform(0.03, 0.45)),
                     "years": "2028+"})
    if rng.random() < 0.5:
        policies.append({"name": "ban", "type": "export_ban", "exporter": str(rng.choice(EXPORTERS)),
                         "by": "location", "allowed_share": 0.0, "years": "2027+"})
    objective = {**base.scenario.objective.model_dump(mode="json", exclude_none=True),
                 "budget": str(rng.choice(["+0.5%", "+2%", "+10%", "+40%"]))}
    return with_overrides(base, policies=policies, objective=objective)


def plan(model, *, tree: bool):
    session = PlanSession(model, make_backend("highs", SolverOptions()))
    session.branching = tree
    return session, session.solve()


def assert_same_plan(model, a, b) -> None:
    """The same binaries, every stage's level within the MIP gap, the same flows within the tie rule's
    reproducibility (as warm and cold solves, ``test_reproducible.py``)."""
    assert a.ok and b.ok
    integer = model.lp.integer_cols
    np.testing.assert_array_equal(a.x[integer], b.x[integer])
    assert [s.name for s in a.stages] == [s.name for s in b.stages]
    for mine, mip in zip(a.stages, b.stages, strict=True):
        assert mine.objective == pytest.approx(mip.objective, rel=MIP_REL_GAP, abs=1e-9), mine.name
    np.testing.assert_allclose(a.x, b.x, rtol=1e-6, atol=0.005)


# ------------------------------------------------------------------------------------------- by hand
def test_undersized_and_repair_by_hand():
    model = build_model(load_scenario("baseline"))
    sizes = MinimumSizes(model)
    assert list(sizes.ids) == sorted(sizes.ids) and len(sizes) == 11
    k = list(sizes.ids).index("AUS-LI-DOMESTIC")  # minimum 22,000 t/yr
    cols = sizes.build_cols[sizes.build_option == k]
    x = np.zeros(model.lp.n_cols)
    assert sizes.undersized(x).size == 0
    assert np.array_equal(sizes.repair(x)[sizes.built_cols], np.zeros(11))
    x[cols[:2]] = [15_000.0, 6_999.0]  # 21,999 t/yr in total: undersized
    assert list(sizes.undersized(x)) == [k] and sizes.repair(x) is None
    x[cols[2]] = 1.0  # 22,000: built, its binary 1, the rest 0
    assert sizes.undersized(x).size == 0
    assert sizes.repair(x)[sizes.built_cols].tolist() == [1.0 if j == k else 0.0 for j in range(11)]


def test_the_tree_settles_the_hand_solved_minimum_size(tmp_path):
    """``test_jv``'s plant of minimum 30 t/yr at 20 USD per t/yr: a +10% budget (400 USD) would buy 20 t/yr, so the
    relaxation builds an undersized plant and the tree must cut it to nothing; +15% buys exactly 30."""
    ds = dataset(tmp_path, [MIN_SIZE])
    for budget, size in (("+10%", 0.0), ("+15%", 30.0)):
        loaded = scenario_from_dict(tiny_scenario(objective={"budget": budget},
                                                  finance={"discount_rate": 0.0, "asset_life_years": 1}), ds)
        model = build_model(loaded)
        session, mine = plan(model, tree=True)
        assert session.tree_stats["node_solves"] >= 1 and session.tree_stats["fallbacks"] == 0
        assert float(MinimumSizes(model).totals(mine.x)[0]) == pytest.approx(size, abs=1e-4)
        assert_same_plan(model, mine, plan(model, tree=False)[1])


# ------------------------------------------------------------------------------------------- against the MIP
@pytest.mark.parametrize("seed", [1, 2, 6, 8, 11, 16])  # 3 and 10 no longer branch (shortfall valued)
def test_the_tree_gives_the_mips_plan_on_variants_that_branch(seed):
    model = build_model(variant(seed))
    session, mine = plan(model, tree=True)
    assert session.tree_stats["node_solves"] >= 1, "this variant's binaries no longer branch: pick another seed"
    assert session.tree_stats["fallbacks"] == 0
    assert_same_plan(model, mine, plan(model, tree=False)[1])
    # the binaries' bounds and integrality are as loaded again
    solved, integer = session.backend.solved, model.lp.integer_cols
    assert np.array_equal(solved.col_lower[integer], model.lp.col_lower[integer])
    assert np.array_equal(solved.col_upper[integer], model.lp.col_upper[integer])
    assert solved.integer[integer].all()


def test_a_tree_beyond_its_limit_falls_back_to_the_mip_with_bounds_restored(monkeypatch):
    monkeypatch.setattr(branching, "NODE_LIMIT", 2)  # the root and one node, then the MIP
    model = build_model(variant(11))
    session, mine = plan(model, tree=True)
    assert session.tree_stats["fallbacks"] >= 1
    assert_same_plan(model, mine, plan(model, tree=False)[1])


def test_a_stages_own_duals_serve_the_lp_with_its_binaries_held(monkeypatch):
    """The frontier's marginal costs come from the cost stage's own duals when they are optimal for the LP with the
    binaries held (``ties.duals_hold``), else from that LP solved again: the same figures either way."""
    import engine.plan.hierarchy as hierarchy
    from engine.analysis.frontier import compute_frontier

    model = build_model(load_scenario("baseline"))
    calls = []
    holds = hierarchy.duals_hold

    def counted(*args):
        calls.append(holds(*args))
        return calls[-1]

    monkeypatch.setattr(hierarchy, "duals_hold", counted)
    own = compute_frontier(PlanSession(model, make_backend("highs", SolverOptions())), points=6).table
    assert sum(calls) >= 5
    monkeypatch.setattr(hierarchy, "duals_hold", lambda *args: False)
    solved = compute_frontier(PlanSession(model, make_backend("highs", SolverOptions())), points=6).table
    assert own["marginal_usd_per_pp"].notna().all()
    np.testing.assert_allclose(own["marginal_usd_per_pp"].to_numpy(dtype=float),
                               solved["marginal_usd_per_pp"].to_numpy(dtype=float), rtol=1e-6)


def test_a_node_that_reaches_the_time_limit_ends_the_stage_with_that_status():
    model = build_model(variant(1))
    session = PlanSession(model, make_backend("highs", SolverOptions()))
    backend, sizes = session.backend, MinimumSizes(model)
    solve = backend.solve

    def limited(duals: bool = True) -> Solution:
        if np.any(backend.solved.col_lower[sizes.built_cols] == backend.solved.col_upper[sizes.built_cols]):
            return Solution(Status.TIME_LIMIT, message="time limit reached")  # a node: some binary fixed
        return solve(duals)

    backend.solve = limited
    plan = session.solve()
    assert plan.status is Status.TIME_LIMIT and session.tree_stats["fallbacks"] == 0
    assert np.array_equal(backend.solved.col_lower[sizes.built_cols], np.zeros(len(sizes)))
    assert np.array_equal(backend.solved.col_upper[sizes.built_cols], np.ones(len(sizes)))


def test_sizes_made_once_serve_only_models_that_hold_their_tables():
    """A sweep makes the minimum sizes once and hands them to every sample's session: a sample's model (changed
    from the model built once, sharing its JV tables and column keys) gets exactly the sizes it would make itself;
    a model built afresh, even of the same scenario, makes its own."""
    from engine.analysis.sampling import scenario_set
    from engine.analysis.sweep import SampleRunner

    loaded = load_scenario("baseline")
    runner = SampleRunner(loaded, 1)
    made_once = MinimumSizes(runner.models.base)
    sample_set, _ = scenario_set(loaded, [2], 1, universe=runner.universe)
    sample = runner.models.model(sample_set)
    own = MinimumSizes(sample)
    assert made_once.fits(sample)
    for name in ("ids", "built_cols", "minimum", "build_cols", "build_option"):
        assert np.array_equal(getattr(made_once, name), getattr(own, name))
    fresh = build_model(loaded)
    assert not made_once.fits(fresh)
    session = PlanSession(fresh, make_backend("highs"), sizes=made_once)
    assert session.sizes is not made_once and session.sizes.fits(fresh)
