"""Slivers: decisions too small to be decisions, removed in the model.

Each stage of the hierarchy holds the levels fixed before it within their slack (``tolerance × |level| +
LEVEL_ABS_TOL``), and may spend that slack: a least-cost reference that buys 5.6 g/yr of a plant for USD 0.0006
because it lowers dependence a little, a final plan that leaves 2 g of demand unmet within the shortfall level's
slack. Such a decision is the tolerance's, not the plan's. A decision column is one of ``DECISION_BLOCKS``
(purchases, JV output and builds, stock purchases, draws and levels, unmet demand); it is a sliver at a point ``x``
when

    SOLVER_ZERO < x_j < θ_j,   θ_j = max(TONNES_NOISE, NOISE_REL × D_m)   (tonnes; t/yr for a build)

with ``D_m`` the largest annual demand of the column's mineral m: 5 kg, or a millionth of the mineral's largest
year where that is more (0.32 t of lithium on the default data, 5 kg of gallium). Below ``SOLVER_ZERO`` a value is
the solver's zero, not a decision.

A plan with slivers is solved again with them held at zero (``x_j = 0``; ``without_slivers``), up to ``ROUNDS``
times: the hierarchy from its dependence stage on (with ``minimise: cost``, its least-cost reference), a frontier
point at its cap. The slivers are those of the reported plan, which the tie rule makes unique, never those of an
intermediate stage's vertex, so the plan still does not depend on the basis a solve started from; the stages before
keep their levels, and the plan meets each of them. When the plan cannot do without a sliver (a run fails with it
held), the sliver stays. The least-cost reference of a ``minimise: dependence`` plan, reported as its stage found
it, is solved again the same way before the stages after it, which may need those columns at full size.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TypeVar

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.solvers.base import NOISE_REL, TONNES_NOISE, Backend

DECISION_BLOCKS = ("flow", "jv_out", "build", "stock_put", "stock_draw", "stock_level", "stock_put_attr",
                   "stock_draw_attr", "stock_level_attr", "short")
OTHER_BLOCKS = ("jv_built", "dep_max", "cvar_eta", "cvar_excess", "worst_case", "elastic")
"""The LP's other blocks, not decisions in tonnes: binaries, an aggregate's or a risk measure's auxiliaries, the
worst case's epigraph and explain's elastic slacks. Every block is in one of the two (a test holds it)."""
SOLVER_ZERO = 1e-9
"""Tonnes: a decision column within this of 0 is at 0 (the solvers' primal tolerances are 1e-7 on scaled rows)."""
ROUNDS = 3
"""Times a plan is solved again with its slivers held at zero (a plan without some slivers may show others)."""


def decision_columns(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """The decision columns with a lower bound of 0, and the index of each one's mineral in ``model.minerals``."""
    minerals = pd.Index(model.minerals)
    cols, codes = [], []
    for block in DECISION_BLOCKS:
        if block not in model.lp.variables:
            continue
        variables = model.lp.variables[block]
        frame = variables.keys if "mineral" in variables.keys else _FRAMES[block](model)
        keep = np.asarray(variables.lower) == 0.0
        cols.append(variables.cols[keep])
        codes.append(minerals.get_indexer(frame["mineral"])[keep])
    if not cols:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(cols).astype(np.int64), np.concatenate(codes).astype(np.int64)


_FRAMES = {"flow": lambda m: m.supply, "build": lambda m: m.builds, "jv_out": lambda m: m.jv_output}


def thresholds(model: Model, codes: np.ndarray) -> np.ndarray:
    """θ_j = max(TONNES_NOISE, NOISE_REL × D_m) for columns of the minerals ``codes`` (``decision_columns``)."""
    largest = np.zeros(len(model.minerals) + 1)  # the last entry: a column of no listed mineral
    if len(model.demand):
        at = pd.Index(model.minerals).get_indexer(model.demand["mineral"])
        np.maximum.at(largest, at, model.demand["demand_t"].to_numpy(dtype=float))
    return np.maximum(TONNES_NOISE, NOISE_REL * largest[codes])


class Slivers:
    """A model's decision columns and their thresholds (``decision_columns``, ``thresholds``). ``like``: the same
    for a model of the same columns (a sweep's sample), whose columns are taken from it rather than found again."""

    def __init__(self, model: Model, like: Slivers | None = None) -> None:
        if like is not None and like.n_cols == model.lp.n_cols:
            self.cols, self.codes = like.cols, like.codes
        else:
            self.cols, self.codes = decision_columns(model)
        self.n_cols = model.lp.n_cols
        self.theta = thresholds(model, self.codes)

    def find(self, x: np.ndarray) -> np.ndarray:
        """The decision columns that are slivers at ``x``."""
        values = x[self.cols]
        return self.cols[(values > SOLVER_ZERO) & (values < self.theta)]


T = TypeVar("T")


def without_slivers(backend: Backend, slivers: Slivers, run: Callable[[], T],
                    points: Callable[[T], list[np.ndarray] | None]) -> tuple[T, np.ndarray]:
    """``run()``'s result, or when the points it reports (``points(result)``; None when it failed) have slivers,
    ``run()`` again with them held at zero, up to ``ROUNDS`` times (a run that fails keeps the last result). Returns
    the result and the columns its run held at zero; their bounds are put back."""
    result = run()
    held = np.empty(0, dtype=np.int64)
    with ExitStack() as holding:  # each round's columns held at zero, their bounds put back in reverse order
        for _ in range(ROUNDS):
            reported = points(result)
            if reported is None:
                break
            found = np.setdiff1d(np.unique(np.concatenate([slivers.find(x) for x in reported])), held)
            if not found.size:
                break
            holding.enter_context(HeldAtZero(backend, found))
            again = run()
            if points(again) is None:
                break
            result, held = again, np.union1d(held, found)
    return result, held


class HeldAtZero:
    """Hold ``cols`` at zero while in the block (the LP a plan's run solved with its slivers held); bounds restored."""

    def __init__(self, backend: Backend, cols: np.ndarray) -> None:
        self.backend, self.cols = backend, np.asarray(cols, dtype=np.int64)

    def __enter__(self) -> HeldAtZero:
        solved = self.backend.solved
        self.lower, self.upper = solved.col_lower[self.cols].copy(), solved.col_upper[self.cols].copy()
        if self.cols.size:
            self.backend.set_col_bounds(self.cols, np.zeros(self.cols.size), np.zeros(self.cols.size))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cols.size:
            self.backend.set_col_bounds(self.cols, self.lower, self.upper)
