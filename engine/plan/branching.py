"""Minimum efficient sizes settled by branching on warm LP re-solves, rather than a MIP per stage.

An option with a minimum efficient size m_j is either not built or built at least m_j in total (``jv.py``: one
binary ``jv_built[j]`` per such option). A stage's LP relaxation (the binaries continuous in [0, 1]) bounds the MIP
from below; when every sized option's total build Σ_y build[j, y] in its optimum is 0 or at least m_j, setting
``jv_built`` to 0 or 1 makes that point feasible for the MIP at the same objective (``jv_built`` costs nothing), so it
is the MIP's optimum (``MinimumSizes.repair``). Otherwise some options are *undersized* (0 < total < m_j), and the
stage is settled by a small branch and bound on the loaded solver, each node an LP re-solved warm from the last
basis with the binaries' bounds changed (and restored afterwards)::

    node:  the relaxation with some jv_built[j] fixed at 0 (not built) or at 1 (built, so total >= m_j)
    bound: z(node), the node LP's optimum (c·x of its checked point), a lower bound on every plan below it
    leaf:  a node whose optimum repairs (no option undersized): a plan of the MIP with objective z(node)
    split: the first undersized option in option-id order: jv_built[j] = 1 first, then jv_built[j] = 0

Nodes are taken best bound first (ties in the order they were made). A node is cut only by its bound: when
``z(node)`` exceeds the best leaf's objective by more than noise (``beyond_noise``: ``NOISE_REL`` of its size, the
tolerances of ``engine/solvers/base.py``), or when its LP is infeasible. So no plan better than the one kept is ever
cut, and the tree is exact, unlike a MIP solver's gap, which may stop at a plan within ``MIP_REL_GAP`` of the
optimum. Among leaves within noise of each other, the one with the fewer plants built is kept, then the one whose
binaries come first in option-id order: a fixed rule, whatever order the leaves were found in.

A node whose warm start HiGHS stops with status "unknown" is solved again from scratch; a node that reaches the time
limit or is interrupted ends the stage with that status. When the tree needs more than ``NODE_LIMIT`` LP solves, a
node's solve fails otherwise, or no leaf is found (the MIP may then be infeasible), the stage falls back to the
backend's MIP, as before. Every node's point is checked by the backend
(``engine/solvers/check.py``) and the plan returned is checked against the model with its binaries integer again.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from engine.formulation.model import Model
from engine.solvers.base import NOISE_REL, Backend, Solution, Status

NODE_LIMIT = 40
"""LP solves (the root relaxation included) a stage's tree may take before the stage falls back to the MIP."""

IDLE_TPY = 1e-7
"""A sized option whose total build is at most this (t/yr) is not built."""

SIZE_REL_TOL, SIZE_ABS_TOL = 1e-9, 1e-7
"""An option built at least ``m_j × (1 − SIZE_REL_TOL) − SIZE_ABS_TOL`` meets its minimum size m_j."""


class MinimumSizes:
    """The sized options of a model: their binaries, build columns and minimum sizes, in option-id order."""

    def __init__(self, model: Model) -> None:
        self.built_cols = np.empty(0, dtype=np.int64)
        self._tables = self._tables_of(model)
        if "jv_built" not in model.lp.variables:
            return
        opts = model.jv_options
        sized = np.flatnonzero(opts["min_size_tpy"].to_numpy() > 0)  # jv_built's rows, in this order
        ids = opts["option_id"].to_numpy()[sized]
        order = np.argsort(ids, kind="stable")  # option-id order: the branching and tie order
        built = model.block_cols("jv_built")
        self.ids = ids[order]
        self.built_cols = built[order]
        self.minimum = opts["min_size_tpy"].to_numpy(dtype=float)[sized][order]
        where = {option: k for k, option in enumerate(self.ids)}
        option_of_build = np.array([where.get(o, -1) for o in model.builds["option_id"]], dtype=np.int64)
        keep = option_of_build >= 0
        self.build_cols = model.block_cols("build")[keep]
        self.build_option = option_of_build[keep]

    def __len__(self) -> int:
        return len(self.built_cols)

    @staticmethod
    def _tables_of(model: Model) -> tuple[list[object], list[int]]:
        """The tables the sizes are made from, and the positions of the build and jv_built columns."""
        blocks = [block for name, block in model.lp.variables.items() if name in ("build", "jv_built")]
        return [model.jv_options, model.builds, *(b.keys for b in blocks)], [int(b.start) for b in blocks]

    def fits(self, model: Model) -> bool:
        """Whether these are the sizes of ``model`` too: it holds the very tables they were made from (the JV
        options, the builds, the keys of the build and jv_built columns) and those columns sit where they did, as
        in the models of a sweep's samples, changed from one model built once."""
        (tables, starts), (own_tables, own_starts) = self._tables_of(model), self._tables
        return starts == own_starts and len(tables) == len(own_tables) and all(
            a is b for a, b in zip(tables, own_tables, strict=True))

    def totals(self, x: np.ndarray) -> np.ndarray:
        """Σ_y build[j, y] per sized option."""
        return np.bincount(self.build_option, weights=x[self.build_cols], minlength=len(self))

    def built(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per sized option: not built (total at most ``IDLE_TPY``), and built at least its minimum."""
        totals = self.totals(x)
        return totals <= IDLE_TPY, totals >= self.minimum * (1 - SIZE_REL_TOL) - SIZE_ABS_TOL

    def undersized(self, x: np.ndarray) -> np.ndarray:
        """Indices (option-id order) of the sized options built more than nothing but less than their minimum."""
        idle, enough = self.built(x)
        return np.flatnonzero(~idle & ~enough)

    def repair(self, x: np.ndarray) -> np.ndarray | None:
        """A point of the LP relaxation as a point of the MIP: ``jv_built`` 0 where an option is not built, 1 where
        it is built at least its minimum; None when some option is undersized (the MIP must branch)."""
        if not len(self):
            return x
        idle, enough = self.built(x)
        if not np.all(idle | enough):
            return None
        repaired = x.copy()
        repaired[self.built_cols] = np.where(idle, 0.0, 1.0)
        return repaired


@dataclass(order=True)
class _Node:
    bound: float
    seq: int
    fixed: dict[int, float] = field(compare=False)  # sized option -> jv_built fixed at 0 or 1


@dataclass
class Tree:
    """What one stage's branch and bound did."""

    solves: int = 0
    leaves: int = 0
    seconds: float = 0.0
    iterations: int = 0
    fallback: str = ""  # why the stage fell back to the MIP ("" when it did not)
    stopped: Solution | None = None  # a node's solve that hit the time limit or was interrupted: the stage's answer
    rejected: list[str] = field(default_factory=list)


def _key(x: np.ndarray, sizes: MinimumSizes) -> tuple:
    """The tie order of leaves: fewer plants built first, then binaries in option-id order (0 before 1)."""
    binaries = np.round(x[sizes.built_cols]).astype(int)
    return (int(binaries.sum()), tuple(binaries.tolist()))


def branch(backend: Backend, sizes: MinimumSizes, root: Solution, duals: bool = False) -> tuple[Solution | None, Tree]:
    """The MIP's optimum by branch and bound from ``root``, the loaded stage's relaxation solved (optimal, with
    some option undersized). The binaries must be continuous on ``backend`` and stay so; their bounds are restored.
    Returns the best leaf (its point repaired, not yet checked with the binaries integer; with its node LP's duals
    when ``duals``) and the tree, or None and the tree with ``fallback`` saying why the MIP is needed."""
    tree = Tree(solves=1)
    cols = sizes.built_cols
    lower, upper = backend.solved.col_lower[cols].copy(), backend.solved.col_upper[cols].copy()
    best: Solution | None = None
    best_key: tuple = ()
    heap: list[_Node] = []
    seq = 0
    best_basis = None
    getter = getattr(backend, "basis", None)

    def basis() -> object | None:
        return getter() if getter is not None else None

    def children(node_fixed: dict[int, float], x: np.ndarray, bound: float) -> None:
        nonlocal seq
        j = int(sizes.undersized(x)[0])
        for value in (1.0, 0.0):
            if lower[j] <= value <= upper[j]:
                seq += 1
                heapq.heappush(heap, _Node(bound, seq, {**node_fixed, j: value}))

    def cut(bound: float) -> bool:
        return best is not None and bound - best.objective > NOISE_REL * abs(best.objective)

    def solve() -> Solution:
        sol = backend.solve(duals=duals)
        tree.solves += 1
        tree.seconds += sol.seconds
        tree.iterations += sol.iterations or 0
        tree.rejected.extend(sol.rejected)
        return sol

    children({}, root.x, root.objective)
    backend.prefer_primal(False)  # bounds change between nodes: the last basis stays dual feasible
    try:
        while heap:
            node = heapq.heappop(heap)
            if cut(node.bound):
                continue
            if tree.solves >= NODE_LIMIT:
                tree.fallback = f"the tree needed more than {NODE_LIMIT} LP solves"
                return None, tree
            lo, up = lower.copy(), upper.copy()
            for j, value in node.fixed.items():
                lo[j] = up[j] = value
            backend.set_col_bounds(cols, lo, up)
            sol = solve()
            if sol.status is Status.ERROR:  # HiGHS can stop a warm start with status "unknown": start cold
                backend.reset_basis()
                sol = solve()
            if sol.status is Status.INFEASIBLE:
                continue
            if sol.status in (Status.TIME_LIMIT, Status.INTERRUPTED):  # the stage stops here, as a MIP would
                tree.stopped = sol
                return None, tree
            if not sol.ok:
                tree.fallback = f"a node's LP was {sol.status} ({sol.message})"
                return None, tree
            if cut(sol.objective):
                continue
            repaired = sizes.repair(sol.x)
            if repaired is None:
                children(node.fixed, sol.x, sol.objective)
                continue
            tree.leaves += 1
            sol.x = repaired
            key = _key(repaired, sizes)
            if best is None or sol.objective < best.objective - NOISE_REL * abs(best.objective) or (
                    sol.objective <= best.objective + NOISE_REL * abs(best.objective) and key < best_key):
                best, best_key, best_basis = sol, key, basis()
        if best is None:
            tree.fallback = "no node met every minimum size"
        return best, tree
    finally:
        backend.set_col_bounds(cols, lower, upper)
        if best_basis is not None:  # the next solve (duals, the tie rule) starts from the kept leaf's optimum
            backend.set_basis(best_basis)
