"""The tie rule: among equally good plans, critmin reports one fixed plan.

An LP's optimum is often not unique. Two sources with the same delivered cost and the same attribution, or two JV
options on the same terms, can share tonnes in endless ways at the same shortfall, dependence and cost. The vertex
a simplex solver returns among them depends on where it started: the order of the input rows, or the basis the
previous solve left behind. So a warm re-solve (a stress shock, a frontier point, a sweep sample) could report
another plan than a cold solve of the same LP.

The hierarchy settles ties in a last stage, ``tie_break``, on the optimal face of the last stage. The last stage
minimised one of the hierarchy's level objectives (shortfall, cost or dependence) subject to the levels fixed
before it, so its optimal points that spend none of the earlier levels' slack are exactly the feasible points at
which every level row (``levels``) is no higher than at the last point: the objective's own row holds its optimum,
the rows fixed before hold the values the last point reached. That defines the face on every backend, without
duals. On a backend that keeps its solver between solves (HiGHS), the face is also fixed by the duals: every column
with a non-zero reduced cost at its bound, and every row with a non-zero dual at its active bound (by complementary
slackness the same points, whatever optimal basis the duals came from), a smaller LP for the warm re-solve.
On that face it minimises

    Σ_j w_j x_j,   w_j = 1 + h(block_j, key_j) / 2^64,   so 1 <= w_j < 2,

over the continuous columns with a finite lower bound; integer columns and free columns weigh 0. ``h`` is a fixed
64-bit hash of the column's block name and key values: for ``flow[CHN-LI-1,2030,0]`` these are ``flow``,
``CHN-LI-1``, ``2030`` and ``0``. So a column's weight depends on its name alone, never on its position, the
input file order or the solver. With weights in general position no edge of the face is orthogonal to ``w``, so
the stage's optimum is unique: a warm re-solve from any basis and a cold solve reach the same point, up to the
solver's tolerances. No level moves: the level rows are held at their values in the last point rather than at
their fixed level plus its tolerance, so the tie break cannot trade cost or dependence for weight.

In words, among equally good plans the one with the least weighted tonnage is reported. The weights favour no
country or owner: they are hashes. With binaries (minimum efficient sizes), they are held at the last stage's
values and the ties among the continuous columns are settled. With CBC (through PuLP) the level rows are held
within 1e-9 of their size at most (``LEVEL_MARGINS``: CBC calls the tighter faces infeasible), so its settled plan
matches HiGHS's up to that: on the shipped scenarios the flows within 1e-5 of the largest
(``tests/test_cbc_ties.py``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from engine.model.lp import LinearProgram
from engine.solvers.base import Backend, Solution

LEVEL_MARGINS = (0.0, 1e-12, 1e-9, None)
"""How far each level row may rise above its value at the last point, as a share of the size of its terms
Σ|a_ij x_j|: the tie break first tries the tightest; a solver that calls that face infeasible (its scaled rows
see the last point a hair outside) gets the next; None leaves the levels at their fixed slack, where the duals'
face alone holds the optimum (HiGHS only: without duals the level rows are the face, and None is never tried)."""

DUAL_ZERO = 1e-9
"""A reduced cost or dual below this share of the objective's largest coefficient counts as zero (on the face)."""

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_STEP = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection of uint64 that spreads every input bit over the output."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _text_hash(text: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little"))


def key_hashes(block: str, keys: pd.DataFrame) -> np.ndarray:
    """A uint64 per row of ``keys``: a hash of the block name and the text of each key value, in column order."""
    h = np.full(len(keys), _text_hash(block), dtype=np.uint64)
    for column in keys.columns:
        codes, uniques = pd.factorize(keys[column], use_na_sentinel=False)
        values = np.array([_text_hash(str(v)) for v in uniques], dtype=np.uint64)
        with np.errstate(over="ignore"):
            h = _mix((h ^ values[codes]) + _STEP)
    return h


def tie_weights(lp: LinearProgram) -> np.ndarray:
    """The tie-break objective: ``1 + hash / 2^64`` per continuous column with a finite lower bound, else 0."""
    weights = np.zeros(lp.n_cols)
    for block in lp.variables.values():
        if block.integer or not len(block):
            continue
        unit = (key_hashes(block.name, block.keys) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
        weights[block.cols] = np.where(np.isfinite(block.lower), 1.0 + unit, 0.0)
    return weights


def _at(values: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Where ``values`` sit on a finite ``bound`` (within 1e-9 of its size, at least 1e-9)."""
    return np.isfinite(bound) & (np.abs(values - bound) <= 1e-9 * np.maximum(1.0, np.abs(bound)))


def face(last: Solution, objective: np.ndarray, activity: np.ndarray, col_lower: np.ndarray,
         col_upper: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bounds that confine the LP to the optimal face of ``last`` (a solution with duals of ``objective``, its
    row activities ``activity``).

    For a minimisation, a column with reduced cost d_j > 0 sits at its lower bound in every optimal point, one
    with d_j < 0 at its upper bound; a row with dual y_i > 0 at its lower bound, y_i < 0 at its upper bound. Only
    columns and rows that ``last`` has on that bound are fixed: a sign within the solver's dual tolerance on
    the wrong side is left free rather than made infeasible.
    """
    zero = DUAL_ZERO * max(float(np.abs(objective).max(initial=0.0)), 1e-12)
    d, y, x = last.col_dual, last.row_dual, last.x
    lo, up, rlo, rup = col_lower.copy(), col_upper.copy(), row_lower.copy(), row_upper.copy()
    at_lower = (d > zero) & _at(x, col_lower)
    at_upper = (d < -zero) & _at(x, col_upper)
    up[at_lower] = col_lower[at_lower]
    lo[at_upper] = col_upper[at_upper]
    row_at_lower = (y > zero) & _at(activity, row_lower)
    row_at_upper = (y < -zero) & _at(activity, row_upper)
    rup[row_at_lower] = row_lower[row_at_lower]
    rlo[row_at_upper] = row_upper[row_at_upper]
    return lo, up, rlo, rup


def duals_hold(solved, last: Solution, point: np.ndarray) -> bool:
    """Whether the duals of ``last``, a solve of a relaxation (the binaries continuous, some bounds wider), are
    optimal duals of the LP with the binaries held at their values in ``point``, an optimum of that LP which differs
    from ``last.x`` only in the binaries (``MinimumSizes.repair``). They are dual feasible for it (the held columns'
    reduced costs may take either sign, the others are unchanged); they are optimal if complementary slackness holds
    at ``point``: every row whose activity the binaries moved is on the bound its dual's sign says (``face``), or
    has a dual of zero. ``solved``: the backend's model as solved (``check.SolvedModel``)."""
    if last.row_dual is None or last.col_dual is None:
        return False
    before = solved.row_activity(last.x)
    after = solved.row_activity(point)
    moved = np.flatnonzero(before != after)
    if not moved.size:
        return True
    zero = DUAL_ZERO * max(float(np.abs(solved.cost).max(initial=0.0)), 1e-12)
    y, act = last.row_dual[moved], after[moved]
    lower, upper = solved.row_lower[moved], solved.row_upper[moved]
    return bool(np.all((np.abs(y) <= zero) | ((y > zero) & _at(act, lower)) | ((y < -zero) & _at(act, upper))))


def settle(backend: Backend, integer: np.ndarray, weights: np.ndarray, last: Solution, objective: np.ndarray,
           levels: list[int]) -> tuple[Solution | None, list[tuple[str, Solution]]]:
    """The settled point among the optimal points of ``last`` (which minimised ``objective`` on ``backend``), and
    the solves made (name, solution). ``levels`` are the hierarchy's level rows, one of them ``objective``'s own:
    each is held at its value in the last point (``LEVEL_MARGINS``), which alone confines the LP to the optimal
    face (see the module's docstring) and spends none of the slack the hierarchy leaves on fixed levels. On a
    backend that keeps its solver between solves (``duals_face``), the columns and rows the duals put on a bound
    are fixed too: the same face, a smaller LP. Every bound, the integrality and the objective are restored
    afterwards; the settled point is None if a solve failed."""
    solved = backend.solved
    if solved is None or last.x is None:
        return None, []
    col_lower, col_upper = solved.col_lower.copy(), solved.col_upper.copy()
    row_lower, row_upper = solved.row_lower.copy(), solved.row_upper.copy()
    solves: list[tuple[str, Solution]] = []
    lower, upper = col_lower.copy(), col_upper.copy()
    if integer.size:  # hold the binaries: the ties left are among the continuous columns
        held = np.round(last.x[integer])
        lower[integer] = upper[integer] = held
        backend.set_col_bounds(integer, held, held)
        backend.set_integrality(integer, False)
    settled = None
    try:
        margins = LEVEL_MARGINS
        if duals_face(backend):
            if integer.size or last.col_dual is None or last.row_dual is None:
                backend.set_objective(objective)
                backend.prefer_primal(True)
                last = backend.solve(duals=True)
                solves.append(("tie_break_duals", last))
                if not last.ok or last.col_dual is None:
                    return None, solves
            activity, size = solved.activities(last.x)
            lo, up, rlo, rup = face(last, objective, activity, lower, upper, row_lower, row_upper)
        else:  # the level rows alone hold the face: never leave them at their fixed slack
            activity, size = solved.activities(last.x)
            lo, up, rlo, rup = lower, upper, row_lower.copy(), row_upper.copy()
            margins = tuple(m for m in LEVEL_MARGINS if m is not None)
        cols = np.flatnonzero((lo != col_lower) | (up != col_upper))
        backend.set_col_bounds(cols, lo[cols], up[cols])
        backend.set_objective(weights)
        for margin in margins:
            held_rup = rup.copy()
            if margin is not None:  # each level row no higher than at the last point, within ``margin``
                for row in levels:
                    held_rup[row] = min(rup[row], activity[row] + margin * size[row])
            rows = np.flatnonzero((rlo != row_lower) | (held_rup != row_upper))
            backend.set_row_bounds(rows, rlo[rows], held_rup[rows])
            backend.prefer_primal(True)  # the last point lies on the face: start from it
            sol = backend.solve(duals=False)
            solves.append(("tie_break", sol))
            if not sol.ok:  # HiGHS can stop a warm start on a degenerate face with status "unknown": start cold
                backend.reset_basis()
                sol = backend.solve(duals=False)
                solves.append(("tie_break", sol))
            if sol.ok:
                settled = sol
                if integer.size:
                    settled.x[integer] = held
                    settled.is_mip = True
                break
        return settled, solves
    finally:
        backend.set_col_bounds(np.arange(len(col_lower)), col_lower, col_upper)
        backend.set_row_bounds(np.arange(len(row_lower)), row_lower, row_upper)
        if integer.size:
            backend.set_integrality(integer, True)
        backend.set_objective(objective)


def duals_face(backend: Backend) -> bool:
    """Whether the tie rule also fixes the columns and rows the last solve's duals put on a bound: on backends that
    keep their solver between solves (``bounds``: HiGHS), where the tie break starts warm from the last basis and
    the smaller LP is quicker. A PuLP solver starts every solve from scratch and its duals pass through a solution
    file, so there the level rows alone hold the face."""
    return getattr(backend, "bounds", None) is not None
