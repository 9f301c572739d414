"""The dependence stage, and under ``aggregate: leximin`` its sequence of solves.

Leximin over minerals (``engine/formulation/dependence.py``: E_m a mineral's exposure, the mean over its years;
rows ``dependence_leximin`` E_m − dep_max <= 0 and ``dependence_mineral_level`` E_m <= L_m), the standard
algorithm for LPs. With F the minerals fixed so far (none at first)::

    round k:  t_k = min dep_max  s.t.  E_m <= dep_max (m not in F),  E_m <= L_m (m in F),  the earlier stages' levels

then every mineral m not in F whose exposure cannot go below t_k is fixed, L_m = E_m(x) within the hierarchy's
slack (its ``dependence_mineral_level`` row set, its ``dependence_leximin`` row freed), and the next round
follows until every mineral is fixed. Then every ``dependence_leximin`` row holds again and dep_max is set to the
worst mineral's exposure in the last point: the hierarchy's ``dependence`` level (dep_max) is the worst
mineral's, and the stages after (cost, the tie rule) keep every mineral at its level.

A mineral cannot go below t_k when its row has a non-zero dual (complementary slackness: that row is tight at
every optimum; the duals of the dep_max column sum to 1, so one exists when t_k > 0). Without duals (a plan with
binaries) each is checked by minimising E_m with dep_max <= t_k (``leximin_check``): it is fixed when E_m cannot
go below t_k by more than the level's allowance (its slack and the feasibility tolerance). At t_k = 0 every
mineral left is fixed. Each round fixes at least one mineral: at most as many rounds as minerals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.formulation.dependence import LEXIMIN_ROWS, mineral_exposure_vector
from engine.solvers.base import Solution

if TYPE_CHECKING:
    from engine.plan.hierarchy import PlanSession, _Runner

DUAL_ZERO = 1e-9  # a row dual at most this (in size) is zero


def dependence_stage(session: PlanSession, runner: _Runner) -> Solution | None:
    """Minimise the dependence objective (``aggregate`` mean, value or max), or run the leximin rounds (module
    docstring); the last solution, or None if a solve failed."""
    if session.model.scenario.objective.aggregate != "leximin":
        return runner.run("dependence", session.objectives["dependence"])
    return _leximin(session, runner)


def level_row_name(mineral: str) -> str:
    """The name of a mineral's level row among the session's level rows."""
    return f"fix_exposure:{mineral}"


def _leximin(session: PlanSession, runner: _Runner) -> Solution | None:
    model, backend = session.model, session.backend
    ties, levels = (model.lp.constraints[name] for name in LEXIMIN_ROWS)
    minerals = list(levels.keys["mineral"])
    dep = int(model.block_cols("dep_max")[0])
    names = [level_row_name(m) for m in minerals]
    for name, row in zip(names, levels.index, strict=True):  # a pass before may have left levels set
        session.level_rows[name] = int(row)
        session.fixed.pop(name, None)
        session.set_level(name, np.inf)
    backend.set_row_bounds(ties.index, np.full(len(ties), -np.inf), np.zeros(len(ties)))
    vectors = [mineral_exposure_vector(model, m) for m in minerals]
    objective = session.objectives["dependence"]  # dep_max
    active = list(range(len(minerals)))
    sol = None
    while active:
        sol = runner.run("leximin", objective, duals=True)
        if sol is None:
            return None
        worst = float(sol.x[dep])
        fixed = _cannot_go_below(session, runner, sol, worst, active, vectors, ties.start, dep)
        if fixed is None:
            return None
        for k in fixed:
            session.fix(names[k], float(vectors[k] @ sol.x))
            backend.set_row_bounds(np.array([ties.start + k]), np.array([-np.inf]), np.array([np.inf]))
        active = [k for k in active if k not in fixed]
    # every mineral's row holds again, dep_max at the worst mineral's exposure: the level the hierarchy fixes
    backend.set_row_bounds(ties.index, np.full(len(ties), -np.inf), np.zeros(len(ties)))
    if sol is not None:
        sol.x = sol.x.copy()
        sol.x[dep] = max(float(v @ sol.x) for v in vectors)
    return sol


def _cannot_go_below(session: PlanSession, runner: _Runner, sol: Solution, worst: float, active: list[int],
                     vectors: list[np.ndarray], first_row: int, dep: int) -> list[int] | None:
    """The minerals among ``active`` whose exposure cannot go below ``worst`` (module docstring); None if a check
    failed."""
    if worst <= session.slack(worst):
        return list(active)
    if sol.row_dual is not None and not sol.is_mip:
        by_duals = [k for k in active if abs(sol.row_dual[first_row + k]) > DUAL_ZERO]
        if by_duals:
            return by_duals
    backend = session.backend
    lower, upper = session.model.lp.col_lower[dep], session.model.lp.col_upper[dep]
    backend.set_col_bounds(np.array([dep]), np.array([lower]), np.array([worst + session.slack(worst)]))
    try:
        blocked = []
        for k in active:
            check = runner.run("leximin_check", vectors[k])
            if check is None:
                return None
            if float(vectors[k] @ check.x) >= worst - session.allowance(worst):
                blocked.append(k)
        if not blocked:  # numerics: the worst at this point goes first, so every round fixes one
            blocked = [max(active, key=lambda k: (float(vectors[k] @ sol.x), -k))]
        return blocked
    finally:
        backend.set_col_bounds(np.array([dep]), np.array([lower]), np.array([upper]))
