"""What every solver backend offers, and the explicit result status.

A backend loads a :class:`~engine.model.lp.LinearProgram` once, then supports the edits that warm re-solves need:
a new objective, extra rows (to fix an objective level in the hierarchy), changed row or column bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from engine.model.lp import LinearProgram

if TYPE_CHECKING:
    from engine.solvers.check import SolvedModel


class Status(str, Enum):
    """Outcome of one solve. Only OPTIMAL carries a solution you may report as the optimum."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass
class Solution:
    """Values from one solve (None where the solver has none)."""

    status: Status
    objective: float | None = None
    x: np.ndarray | None = None
    row_dual: np.ndarray | None = None
    col_dual: np.ndarray | None = None
    seconds: float = 0.0
    message: str = ""
    iterations: int | None = None
    is_mip: bool = False
    extra: dict = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    """Points the backend rejected before this answer (each: what it broke); ``objective`` is always c·x of ``x``."""

    @property
    def ok(self) -> bool:
        return self.status is Status.OPTIMAL


@dataclass
class Ranging:
    """Bound ranging of an LP at its optimal basis (HiGHS's ``getRanging``), in model order and LP units.

    For every row i (rows added after loading included) and column j, how far its activity ``a_i·x`` (the value
    ``x_j``) may rise (``row_up``, ``col_up``) or fall (``row_dn``, ``col_dn``) by moving its binding bound, with the
    same basis staying optimal: over ``[a_i·x − row_dn_i, a_i·x + row_up_i]`` the objective changes by exactly the
    row's dual per unit, ``Δz = y_i·Δb_i``. ``inf`` where no basis change is met; a column's fall stops at its other
    bound (below it the LP is infeasible)."""

    row_up: np.ndarray
    row_dn: np.ndarray
    col_up: np.ndarray
    col_dn: np.ndarray


FEASIBILITY_ABS_TOL = 1e-5
FEASIBILITY_REL_TOL = 1e-9
"""A point a solver returns is used only if it breaks no column bound and no row by more than
``FEASIBILITY_ABS_TOL + FEASIBILITY_REL_TOL × scale`` (model units: tonnes, t/yr, LP money), where ``scale`` is the
size of the bound, and for a row also the size of its terms Σ|a_ij x_j| (``engine/solvers/check.py``)."""

DUAL_ABS_TOL = 1e-6
DUAL_REL_TOL = 1e-7
"""Duals a solver returns are used only if they are optimal duals of the point it returned (``check.dual_violation``):
a reduced cost the solver reports differs from c_j − a_jᵀy by at most ``DUAL_ABS_TOL + DUAL_REL_TOL × (|c_j| +
Σ_i |a_ij y_i|)``; a multiplier larger than that (a row's: ``DUAL_ABS_TOL + DUAL_REL_TOL × max|c|``) sits on the bound
its sign says, within the feasibility tolerance; and the dual objective is c·x within what those tolerances allow
(Σ |multiplier| × its feasibility tolerance) plus ``DUAL_REL_TOL`` of the size of the terms. Model units: LP money per
unit of the row or column."""

INTEGRALITY_TOL = 1e-6
"""An integer column may be at most this far from an integer; it is then rounded to it."""

LEVEL_ABS_TOL = 1e-6
"""Absolute slack on a fixed level of the hierarchy (LP units), added to the scenario's relative ``tolerance``; above
the feasibility tolerances, so the point that set a level satisfies the next stage's row with that margin."""

MIP_REL_GAP = 1e-6
"""The relative gap at which a MIP stage stops: its level is within this of the optimum."""

NOISE_REL = MIP_REL_GAP
"""Solver noise, relative: two figures of one kind (costs, say) closer than this share of their size, or than the
levels' relative tolerance when that is larger, differ by noise; the difference is reported as 0."""

TONNES_NOISE = 0.005
"""Solver noise in tonnes: less than this (what prints as 0.00 t) is printed as 0; the slack of a fixed level leaves
such traces (a shortfall level fixed within its slack can leave micrograms unmet in another mineral)."""


def beyond_noise(difference: float, size: float, tolerance: float = 0.0) -> float:
    """``difference`` between two figures of about ``size``, or 0.0 when it is within noise:
    ``max(NOISE_REL, tolerance) × |size|``."""
    return 0.0 if abs(difference) <= max(NOISE_REL, tolerance) * abs(size) else float(difference)


SCALING = {"off": 0, "highs": 2, "forced": 3}
"""SolverOptions.scaling -> HiGHS's simplex_scale_strategy (0 off, 2 equilibration if needed, 3 forced)."""


@dataclass
class SolverOptions:
    """Options every backend understands."""

    time_limit: float | None = None
    log: bool = False
    threads: int | None = None
    """HiGHS threads; None keeps HiGHS's default. HiGHS fixes the count per calling thread at its first run:
    a later run in that thread with another value fails, so set it once per process, or not at all."""
    mip_rel_gap: float = MIP_REL_GAP
    presolve: str = "auto"
    """HiGHS presolve: "on", "off", or "auto" (off for LPs, on for MIPs). On critmin's LPs HiGHS's presolve
    removes almost nothing (at 1.1M non-zeros 0.4% of the columns and 0.6% of the rows: fixed and singleton
    ones) yet takes about a quarter of a cold solve (5.0-5.4 s with it, 3.6-4.1 s without); a MIP needs it for
    its cuts and bounds. Only the first, cold solve of a session presolves: warm re-solves start from the basis.
    Other backends ignore it."""

    scenario_innermost: bool = True
    """HiGHS: hand a stochastic model to the solver with the scenario as the fastest-varying index of every block
    (``engine/solvers/ordering.py``; about 10% faster per simplex iteration at 150k-1.1M non-zeros). Results are
    mapped back, so nothing else sees the order."""

    scaling: str = "forced"
    """HiGHS's simplex scaling: "forced" (equilibrate rows and columns always), "highs" (HiGHS's default, which
    leaves critmin's matrices unscaled) or "off". Forced equilibration cuts the simplex iterations by up to 7% and
    the time per iteration by up to a third on critmin's LPs: at 1.1M non-zeros 2.5-3.5 s against 2.9-4.7 s (three
    generated models), at 4.1M 25-26 s against 47-52 s (alternated in one process). Other backends ignore it."""

    def __post_init__(self) -> None:
        if self.presolve not in ("auto", "on", "off"):
            raise ValueError(f"presolve must be 'auto', 'on' or 'off', not {self.presolve!r}")
        if self.scaling not in SCALING:
            raise ValueError(f"scaling must be 'forced', 'highs' or 'off', not {self.scaling!r}")


class Backend(Protocol):
    """A loaded model that can be edited and re-solved."""

    name: str
    solved: SolvedModel | None
    """The model as the backend holds it (every edit applied), against which each returned point is checked."""

    def load(self, lp: LinearProgram, objective: np.ndarray | None = None) -> None: ...

    def set_time_limit(self, seconds: float | None) -> None: ...

    def set_objective(self, cost: np.ndarray) -> None: ...

    def add_row(self, cols: np.ndarray, vals: np.ndarray, lower: float, upper: float, name: str) -> int: ...

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None: ...

    def set_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None: ...

    def set_integrality(self, cols: np.ndarray, integer: bool) -> None: ...

    def set_row_coefficients(self, row: int, cols: np.ndarray, vals: np.ndarray) -> None: ...

    def reset_basis(self) -> None: ...

    def prefer_primal(self, primal: bool) -> None: ...

    def solve(self, duals: bool = True) -> Solution:
        """Solve as loaded; ``duals=False`` skips reading the duals (reading them is a copy of every row and
        column)."""
        ...

    def write(self, path: Path) -> None: ...

    def ranging(self) -> Ranging | str:
        """Bound ranging of the LP as last solved to optimality (``Ranging``), or why there is none."""
        ...

    @property
    def version(self) -> str: ...
