"""The price of independence: an ε-constraint sweep of China exposure (``formulation/dependence.py``) from the
least-cost plan down to the least exposed one, built once and re-solved warm.

For a target (all minerals, the scenario's aggregate; or one mineral, its mean annual exposure) and caps
ε_0 > ε_1 > … from the least-cost plan's exposure D_ref down to the least reachable D_min::

    C(ε) = min cost including unmet demand at its value  s.t.  exposure <= ε
                                            (with ``shortfall: first``: and shortfall at its minimum)

Each point also reports its share of supply (the aggregate) and, per mineral, its mean annual exposure
(``{mineral}_pct``).

The marginal cost of the next percentage point is the dual of the cap row (USD present value per percentage
point; for MIPs from the LP with integers fixed), checked against the finite difference between neighbouring
points. C(ε) never falls as ε tightens.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.formulation.dependence import mineral_exposure_vector
from engine.formulation.model import scale_unit
from engine.outputs.results import aggregate_dependence, cost_with_unmet_pv, measures, mineral_shares, total_cost_pv
from engine.plan.hierarchy import PlanSession
from engine.plan.noise import without_slivers
from engine.solvers.base import Solution, Status, beyond_noise


@dataclass
class FrontierResult:
    """The frontier table and its end points."""

    table: pd.DataFrame
    least_cost_usd: float
    status: Status = Status.OPTIMAL
    message: str = ""


class _Sweep:
    """One target's sweep on a loaded session. Its dependence ``vector`` is in LP units of ``unit`` percentage
    points (scaled as the dependence objective is, ``dependence.py``); caps and levels are given in percent."""

    def __init__(self, session: PlanSession, target: str) -> None:
        self.session, self.target = session, target
        self.model = session.model
        if target == "all":
            self.row = session.level_rows["fix_dependence"]
            self.vector, self.unit = session.objectives["dependence"], self.model.dependence_unit
        else:
            percent = mineral_exposure_vector(self.model, target)
            self.unit = scale_unit(percent)
            self.vector = percent / self.unit
            nz = np.flatnonzero(self.vector)
            self.row = session.backend.add_row(nz, self.vector[nz], -np.inf, np.inf, f"frontier_{target}")

    def percent(self, x: np.ndarray) -> float:
        """The target's dependence at ``x``, in percent."""
        return float(self.vector @ x) * self.unit

    def cap(self, upper_pct: float) -> None:
        """Cap the target's dependence at ``upper_pct`` percent, plus the slack a fixed level gets (the least
        dependent plan's level is c·x of a point that meets its rows within the solver's tolerances)."""
        upper = upper_pct / self.unit if np.isfinite(upper_pct) else np.inf
        upper = upper + self.session.slack(upper) if np.isfinite(upper) else np.inf
        self.session.backend.set_row_bounds(np.array([self.row]), np.array([-np.inf]), np.array([upper]))

    def minimise(self, objective: np.ndarray, duals: bool = True) -> Solution:
        """The loaded stage with ``objective``; ``duals``: read the duals too (the marginal cost and the tie rule's
        face use them)."""
        self.session.backend.set_objective(objective)
        return self.session.solve_stage(duals)

    def marginal(self, sol: Solution) -> float | None:
        """USD (PV) saved per percentage point the cap is loosened, from the cap row's dual, when the duals are
        checked to belong to ``sol`` (``PlanSession.duals_at``); else None."""
        allowance = self.session.allowance(self.session.level("cost", sol))
        reuse = sol if not self.model.lp.integer_cols.size or sol.extra.get("held_duals") else None
        duals, _ = self.session.duals_at(sol.x, allowance, reuse)
        if duals is None:
            return None
        return abs(float(duals.row_dual[self.row])) / self.unit * self.model.money_unit


def basis_of(backend) -> object | None:
    """The backend's current basis, on backends that keep one (``set_basis`` starts a later solve from it)."""
    basis = getattr(backend, "basis", None)
    return basis() if basis is not None else None


def _least_dependent(sweep: _Sweep, sol: Solution) -> Solution:
    """Among the plans of least cost under the cap, the least dependent overall: the tie-break ``solve`` uses
    for its least-cost reference, so the frontier's least-cost point is solve's least-cost plan."""
    session = sweep.session
    session.fix("budget", session.level("cost", sol))
    try:
        session.backend.prefer_primal(True)
        # the tie rule reads its face from these duals only when the model has no binaries (else it solves for them)
        tied = sweep.minimise(session.objectives["dependence"], duals=not sweep.model.lp.integer_cols.size)
        if tied.ok:  # and among those, the tie rule's plan (engine/plan/ties.py), whatever the basis it started from
            tied = session.settle(tied, session.objectives["dependence"]).solution
    finally:
        session.backend.prefer_primal(False)
        session.fixed.pop("budget", None)
        session.set_level("budget", np.inf)
    return tied


def _at_cap(sweep: _Sweep, cost: np.ndarray, basis: object | None, least_cost: Solution, unbound: bool
            ) -> tuple[Solution, float | None, object | None]:
    """The point at the loaded cap, the cap's marginal cost and the cost optimum's basis. ``basis``: the last cap's
    cost optimum, a few dual simplex iterations from this cap's; ``unbound``: the cap does not bind, and the point is
    solve's least-cost plan itself."""
    if basis is not None:
        sweep.session.backend.set_basis(basis)
    sol = sweep.minimise(cost)
    marginal = sweep.marginal(sol) if sol.ok else None  # before the tie-break changes the objective
    basis = basis_of(sweep.session.backend)
    point = sol if not sol.ok else least_cost if unbound else _least_dependent(sweep, sol)
    return point, marginal, basis


def _point(sweep: _Sweep, sol: Solution, cap: float, least_usd: float, marginal: float | None) -> dict:
    model = sweep.model
    measured = measures(model, sol.x)
    cost = cost_with_unmet_pv(model, sol.x)
    premium = beyond_noise(cost - least_usd, least_usd, model.scenario.objective.tolerance)
    supply = total_cost_pv(model, sol.x)
    row = {
        "target": sweep.target, "cap_pct": cap,
        "exposure_pct": (sweep.percent(sol.x) if sweep.target != "all"
                         else aggregate_dependence(model, measured.exposure_pct)),
        "share_of_supply_pct": (aggregate_dependence(model, measured.share_of_supply_pct) if sweep.target == "all"
                                else mineral_shares(model, measured.share_of_supply_pct).get(sweep.target, np.nan)),
        "cost_with_unmet_pv_usd": cost, "cost_pv_usd": supply, "unmet_value_pv_usd": cost - supply,
        "premium_usd": premium,
        "premium_pct": 100.0 * premium / least_usd if least_usd else np.nan,
        "marginal_usd_per_pp": marginal,
    }
    row.update({f"{m}_pct": v for m, v in mineral_shares(model, measured.exposure_pct).items()})
    return row


def compute_frontier(session: PlanSession, *, points: int = 11, target: str = "all",
                     caps: list[float] | None = None, progress: Callable[[], None] | None = None) -> FrontierResult:
    """Sweep the dependence cap for ``target`` ('all' or a mineral id) over ``points`` caps (or given ``caps``);
    ``progress()`` after each cap."""
    cost = session.objectives["cost"]
    plan = session.solve(minimise="cost")  # least cost (including unmet demand) found, budget row at it
    if not plan.ok:
        return FrontierResult(pd.DataFrame(), np.nan, plan.status, plan.message)
    least_usd = cost_with_unmet_pv(session.model, plan.least_cost.x)  # the least-cost plan's, as solve reports it
    sweep = _Sweep(session, target)
    # the least-cost plan is solve's reference (least dependent overall among the least-cost plans), whatever
    # the target: its share of the target is D_ref
    d_ref = sweep.percent(plan.least_cost.x)
    session.set_level("budget", np.inf)
    least_dependent = sweep.minimise(sweep.vector, duals=False)
    if not least_dependent.ok:
        return FrontierResult(pd.DataFrame(), least_usd, least_dependent.status, least_dependent.message)
    d_min = sweep.percent(least_dependent.x)
    grid = sorted(caps, reverse=True) if caps else list(np.linspace(d_ref, d_min, max(points, 2)))
    rows, cost_basis = [], None

    def reported(result: tuple[Solution, float | None, object | None]) -> list[np.ndarray] | None:
        """The point to check for slivers: a point solved here (solve's least-cost plan was checked by solve)."""
        return [result[0].x] if result[0].ok and result[0] is not plan.least_cost else None

    for eps in grid:
        if progress is not None:
            progress()
        if eps < d_min - 1e-9:
            rows.append({"target": target, "cap_pct": eps, "status": "infeasible"})
            continue
        sweep.cap(max(eps, d_min))
        at_cap = functools.partial(_at_cap, sweep, cost, cost_basis, plan.least_cost, eps >= d_ref)
        (point, marginal, cost_basis), _ = without_slivers(session.backend, session.slivers, at_cap, reported)
        if not point.ok:
            rows.append({"target": target, "cap_pct": eps, "status": str(point.status)})
            continue
        rows.append({**_point(sweep, point, eps, least_usd, marginal), "status": "optimal"})
    sweep.cap(np.inf)
    table = pd.DataFrame(rows)
    table.insert(0, "point", np.arange(len(table)))
    table["finite_difference_usd_per_pp"] = _finite_differences(table)
    return FrontierResult(table, least_usd)


def _finite_differences(table: pd.DataFrame) -> np.ndarray:
    """(C_k − C_{k−1}) / (D_{k−1} − D_k), C cost including unmet demand: the average cost of each point of
    independence actually achieved between neighbouring points (D the exposure reached, not the cap asked for)."""
    out = np.full(len(table), np.nan)
    if "cost_with_unmet_pv_usd" not in table:
        return out
    cost, share = table["cost_with_unmet_pv_usd"].to_numpy(dtype=float), table["exposure_pct"].to_numpy(dtype=float)
    for k in range(1, len(table)):
        step = share[k - 1] - share[k]
        if step > 1e-12 and np.isfinite(cost[k]) and np.isfinite(cost[k - 1]):
            out[k] = (cost[k] - cost[k - 1]) / step
    return out
