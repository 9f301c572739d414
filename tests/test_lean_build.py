"""The leaner build and hand-off compute what they replaced: the cost table's annuity payments equal the loop that
defines them, and the point check reads the model's own CSC arrays (no copy) with the same bits as a CSR copy."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest

from engine.analysis.sampling import scenario_set
from engine.formulation import build_model
from engine.formulation.demand import demand_row_of
from engine.inputs.scenario import load_scenario
from engine.outputs.results import _cost_terms
from engine.solvers.check import SolvedModel


@functools.cache
def _model(name: str, samples: int, life: int | None = None):
    loaded = load_scenario(name)
    if life is not None:  # a shorter asset life: payments stop inside the horizon
        finance = loaded.scenario.finance.model_copy(update={"asset_life_years": life})
        loaded = dataclasses.replace(loaded, scenario=loaded.scenario.model_copy(update={"finance": finance}))
    return build_model(loaded, scenario_set(loaded, list(range(samples)), 7)[0]) if samples else build_model(loaded)


@pytest.mark.parametrize("name,samples,life", [("baseline", 0, None), ("jv_quid_pro_quo", 3, None),
                                               ("baseline", 2, 3)])
def test_annuity_payments_equal_the_loop_that_defines_them(name, samples, life):
    """One payment per scenario (in the scenario table's order), build (by option, then start year) and year the
    build is online within its asset life: the rows and builds the cost table sums."""
    model = _model(name, samples, life)
    terms = _cost_terms(model)
    b = model.builds
    order = b.reset_index(drop=True).sort_values(["option_id", "year"], kind="stable").index.to_numpy()
    asset_life = model.scenario.finance.asset_life_years
    paid = [(i, y) for i in order for y in model.years
            if b["online"].iloc[i] <= y < b["online"].iloc[i] + asset_life]
    every = [(s, b["mineral"].iloc[i], y) for s in model.scenarios["scen"] for i, y in paid]
    expected_rows = demand_row_of(model, pd.DataFrame(every, columns=["scen", "mineral", "year"]))
    expected_build = [i for _ in model.scenarios["scen"] for i, _y in paid]
    assert len(paid) and (life is None or len(paid) < len(order) * len(model.years))
    np.testing.assert_array_equal(terms.pay_build, expected_build)
    np.testing.assert_array_equal(terms.pay_rows, expected_rows)
    assert (terms.pay_rows >= 0).all()


def test_point_check_shares_the_model_matrix_and_sums_rows_to_the_same_bits():
    model = _model("jv_quid_pro_quo", 3)
    lp = model.lp
    solved = SolvedModel(lp)
    assert np.shares_memory(solved.matrix.data, lp.matrix().data)
    assert np.shares_memory(solved.matrix.indices, lp.matrix().indices)
    csr = lp.matrix().to_scipy().tocsr()  # what the check held before: a CSR copy
    rng = np.random.default_rng(11)
    for _ in range(5):
        x = rng.uniform(-1, 1, lp.n_cols) * 10.0 ** rng.integers(-4, 6, lp.n_cols)
        act, size = solved.activities(x)
        assert np.array_equal(act, csr @ x) and np.array_equal(size, abs(csr) @ np.abs(x))
    row = int(lp.constraints["demand"].start)
    cols = lp.matrix().to_scipy().tocsr()[row].indices[:2]
    solved.set_row_coefficients(row, cols, np.array([0.5, 0.0]))  # an edit: one changed, one removed
    csr = csr.tolil()
    csr[row, cols] = [0.5, 0.0]
    csr = csr.tocsr()
    csr.eliminate_zeros()
    x = rng.uniform(0, 100, lp.n_cols)
    assert np.array_equal(solved.activities(x)[0], csr @ x)
    assert (solved.to_scipy() != csr).nnz == 0 and solved.to_scipy().format == "csr"


def test_numpy_s_huge_page_advice_is_off_inside_critmin_s_steps_and_put_back_after():
    """engine.model.pages: builds, hand-offs, solves and tables run with numpy's huge-page advice off; the setting
    found is put back, also after an error and when steps nest."""
    from engine.model import pages

    if pages._SET is None:
        pytest.skip("this numpy has no huge-page switch")
    seen = []
    found = pages._SET(True)
    try:
        with pages.ordinary_pages():
            seen.append(pages._SET(False))
            with pages.ordinary_pages():
                seen.append(pages._SET(False))
            seen.append(pages._SET(False))
        seen.append(pages._SET(True))
        with pytest.raises(ZeroDivisionError), pages.ordinary_pages():
            1 / 0  # noqa: B018
        seen.append(pages._SET(True))
        build = []
        original = pages._SET
        pages._SET = lambda value: build.append(value) or original(value)
        try:
            build_model(load_scenario("baseline"))
        finally:
            pages._SET = original
        assert build == [False, True]
    finally:
        pages._SET(found)
    assert seen == [False, False, False, True, True]
