"""The HiGHS backend hands a stochastic model to the solver with the scenario innermost, and maps everything back.

Checked on a hand-made block (the order itself), and on the tiny benchmark model (2 scenarios): the matrix is the
model's matrix permuted; primal values satisfy the model's rows and bounds in model order; reduced costs equal
c - Aᵀy in model order; the written MPS names every column after its own bounds; and the plan's stage
objectives are the same with and without the reordering.
"""

from __future__ import annotations

import highspy
import numpy as np
import pandas as pd
import pytest

from benchmarks.config import SIZES, build_inputs, single_stage_objective
from engine.formulation import build_model
from engine.inputs.scenario import scenario_from_dict
from engine.model.lp import LinearProgram
from engine.plan.hierarchy import PlanSession
from engine.solvers import SolverOptions, make_backend
from engine.solvers.ordering import SolverOrder


def test_scenario_innermost_order_by_hand():
    lp = LinearProgram()
    lp.add_variables("fixed", pd.DataFrame({"id": ["a", "b"]}))  # no scenario: stays
    lp.add_variables("flow", pd.DataFrame({"id": ["x", "y", "z"] * 2, "scen": [0, 0, 0, 1, 1, 1]}))
    keys = pd.DataFrame({"scen": [0, 0, 1, 1]})
    lp.add_constraints("rows", keys, rows=np.array([0, 1, 2, 3]), cols=np.array([2, 3, 5, 6]),
                       vals=np.array([1.0, 2.0, 3.0, 4.0]), upper=np.array([10.0, 20.0, 30.0, 40.0]))
    order = SolverOrder.for_model(lp)
    assert order.col_order.tolist() == [0, 1, 2, 5, 3, 6, 4, 7]  # x0 x1 y0 y1 z0 z1 after the fixed ones
    assert order.row_order.tolist() == [0, 2, 1, 3]
    dense = lp.matrix().to_scipy().toarray()
    permuted = order.matrix(lp.matrix()).to_scipy().toarray()
    assert np.array_equal(permuted, dense[order.row_order][:, order.col_order])
    assert order.rows(np.array([1, 4])).tolist() == [2, 4]  # row 4 was added later: its slot is its index
    assert order.model_rows(np.array([10.0, 30.0, 20.0, 40.0, 99.0])).tolist() == [10, 20, 30, 40, 99]
    assert SolverOrder.for_model(lp, scenario_innermost=False).identity


@pytest.fixture(scope="module")
def tiny():
    dataset, scenarios, mapping = build_inputs(SIZES["tiny"])
    return build_model(scenario_from_dict(mapping, dataset, name="tiny"), scenarios)


def test_values_come_back_in_model_order(tiny):
    lp = tiny.lp
    backend = make_backend("highs")
    backend.load(lp)
    assert not backend.order.identity
    cost = single_stage_objective(lp)
    backend.set_objective(cost)
    sol = backend.solve()
    assert sol.ok
    a = lp.matrix().to_scipy()
    activity = a @ sol.x
    assert np.all(activity >= lp.row_lower - 1e-6) and np.all(activity <= lp.row_upper + 1e-6)
    assert np.all(sol.x >= lp.col_lower - 1e-9) and np.all(sol.x <= lp.col_upper + 1e-9)
    assert np.allclose(cost - a.T @ sol.row_dual, sol.col_dual, atol=1e-7)
    assert sol.objective == pytest.approx(float(cost @ sol.x), rel=1e-9)


def test_written_model_names_follow_the_solver_order(tiny, tmp_path):
    import highspy

    backend = make_backend("highs")
    backend.load(tiny.lp)
    backend.write(tmp_path / "m.mps")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(tmp_path / "m.mps"))
    read = h.getLp()
    upper = dict(zip(read.col_names_, read.col_upper_, strict=True))
    names = tiny.lp.col_names()
    assert [upper[n] for n in names] == pytest.approx(list(np.minimum(tiny.lp.col_upper, 1e30)))


def test_plan_does_not_depend_on_the_order(tiny):
    plans = [PlanSession(tiny, make_backend("highs", SolverOptions(scenario_innermost=flag))).solve()
             for flag in (True, False)]
    assert all(p.ok for p in plans)
    assert [s.objective for s in plans[0].stages] == pytest.approx([s.objective for s in plans[1].stages],
                                                                    rel=1e-7, abs=1e-6)


def _highs_copy(backend) -> tuple[np.ndarray, ...]:
    """HiGHS's own costs and bounds, in model order (rows added after loading last)."""
    lp, order = backend.h.getLp(), backend.order
    return (order.model_cols(np.asarray(lp.col_cost_)), order.model_cols(np.asarray(lp.col_lower_)),
            order.model_cols(np.asarray(lp.col_upper_)), order.model_rows(np.asarray(lp.row_lower_)),
            order.model_rows(np.asarray(lp.row_upper_)))


def test_edits_reach_highs_entry_for_entry(tiny):
    """The backend hands HiGHS only the entries an edit changes; whatever the edits, HiGHS's copy of the costs and
    bounds equals critmin's record of the model as solved (``SolvedModel``), in the scenario-innermost order."""
    backend = make_backend("highs")
    backend.load(tiny.lp)
    backend.add_row(np.array([0, 1]), np.array([1.0, 1.0]), -np.inf, np.inf, "extra")
    rng = np.random.default_rng(5)
    n, m = tiny.lp.n_cols, tiny.lp.n_rows + 1
    for _ in range(30):
        kind = rng.integers(3)
        if kind == 0:
            cost = backend.solved.cost.copy()
            cost[rng.choice(n, 5, replace=False)] = rng.random(5)
            backend.set_objective(cost if rng.random() < 0.8 else backend.solved.cost)  # some edits change nothing
        elif kind == 1:
            cols = rng.choice(n, 7, replace=False)
            lower = backend.solved.col_lower[cols].copy()
            upper = np.where(rng.random(7) < 0.5, backend.solved.col_upper[cols], lower + rng.random(7) * 100)
            backend.set_col_bounds(cols, lower, upper)
        else:
            rows = rng.choice(m, 4, replace=False)
            backend.set_row_bounds(rows, backend.solved.row_lower[rows], backend.solved.row_upper[rows] + rng.random(4))
        solved = backend.solved
        for theirs, ours in zip(_highs_copy(backend), (solved.cost, solved.col_lower, solved.col_upper,
                                                       solved.row_lower, solved.row_upper), strict=True):
            assert np.array_equal(theirs, ours)


def test_a_solve_after_an_edit_that_changes_nothing_runs_as_after_a_full_edit(tiny):
    """An edit whose values are those HiGHS holds still marks its solution stale, as handing it every entry did:
    the next solve runs the simplex again from the basis rather than reporting the old answer untouched."""
    backend = make_backend("highs")
    backend.load(tiny.lp)
    cost = single_stage_objective(tiny.lp)
    backend.set_objective(cost)
    first = backend.solve()
    backend.set_objective(cost)
    backend.set_col_bounds(np.arange(3), backend.solved.col_lower[:3], backend.solved.col_upper[:3])
    assert backend.h.getModelStatus() == highspy.HighsModelStatus.kNotset  # stale, as after a full edit
    again = backend.solve()
    assert again.ok and again.iterations == 0 and np.array_equal(again.x, first.x)
