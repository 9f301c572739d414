"""What the large-model work changed computes what it replaced: an objective handed to HiGHS with the model
solves to the same bits as the same objective set after loading; a block's keys share the arrays of the table they
come from (no copy)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from engine.analysis.sampling import scenario_set
from engine.formulation import build_model
from engine.inputs.scenario import load_scenario
from engine.solvers import SolverOptions, make_backend


@functools.cache
def _model():
    loaded = load_scenario("jv_quid_pro_quo")
    return build_model(loaded, scenario_set(loaded, [0, 1, 2], 7)[0])


def test_an_objective_loaded_with_the_model_solves_as_one_set_after_loading():
    model = _model()
    objective = model.lp.objective("cost") + model.lp.objective("shortfall")
    answers = []
    for with_model in (False, True):
        backend = make_backend("highs", SolverOptions())
        if with_model:
            backend.load(model.lp, objective=objective)
        else:
            backend.load(model.lp)
            backend.set_objective(objective)
        assert np.array_equal(backend.solved.cost, objective)
        sol = backend.solve()
        duals = b"" if sol.row_dual is None else sol.row_dual.tobytes() + sol.col_dual.tobytes()
        answers.append((sol.status, sol.objective, sol.iterations, sol.x.tobytes(), duals))
        backend.set_objective(model.lp.objective("cost"))  # a later edit sees the loaded objective as the last one
        answers[-1] += (backend.solve().x.tobytes(),)
    assert answers[0] == answers[1]


def test_block_keys_share_the_table_s_arrays():
    model = _model()
    keys = model.lp.variables["flow"].keys
    for column in ("year", "scen"):
        assert np.shares_memory(keys[column].to_numpy(), model.supply[column].to_numpy())


def test_the_span_read_in_chunks_equals_the_whole_array_s():
    from engine.formulation.checks import _span

    rng = np.random.default_rng(3)
    for n in (0, 1, 5, 1000, 1001, 5000):
        for zeros in (0.0, 0.5, 1.0):
            values = rng.standard_normal(n) * 10.0 ** rng.integers(-12, 12, n)
            values[rng.random(n) < zeros] = 0.0
            if n > 3:
                values[2], values[3] = np.nan, -0.0
            size = np.abs(values)
            size = size[size > 0]
            assert _span(values, chunk=1000) == ((size.min(), size.max()) if size.size else None)


def test_the_delivery_table_equals_the_concat_of_its_blocks_frames():
    """``model.deliveries``, made column by column, is the pandas concat of one frame per delivery block."""
    from engine.formulation import DELIVERY_COLUMNS, _deliveries

    for model in (_model(), build_model(load_scenario("baseline"))):
        expected = pd.concat([pd.DataFrame({"col": model.block_cols(block), "kind": "purchase" if block == "flow"
                                            else "jv", "id": frame["id"], **{c: frame[c] for c in DELIVERY_COLUMNS}},
                                           index=frame.index) for block, frame in model.delivery_frames()],
                             ignore_index=True)
        got = _deliveries(model)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert list(got.dtypes.astype(str)) == list(expected.dtypes.astype(str))


def test_scenario_numbers_counted_equal_numpy_s_unique():
    from engine.solvers.ordering import _unique

    rng = np.random.default_rng(0)
    for values in [rng.integers(0, high, n) for n in (1, 2, 1000) for high in (1, 3, 50)] + [np.array([5, -1, 5]),
                                                                                             np.array([2**21, 0])]:
        unique, inverse = _unique(values)
        expected_unique, expected_inverse = np.unique(values, return_inverse=True)
        assert np.array_equal(unique, expected_unique) and unique.dtype == expected_unique.dtype
        assert np.array_equal(inverse, expected_inverse)
