"""Calibration: the smallest moves of exportable shares that make the least-cost plan reproduce observed imports.

The least-cost plan buys from the cheapest sources first, each up to what it makes available to the buyer
(``capacity_t x exportable_share``). In the first year, with ``T`` the plan's imports of a mineral (its purchases and
JV output located outside the buyer's country) and ``o_g`` the observed share of origin group ``g`` (each named
country, and ``ROW`` for every country the observation does not name), the target of group ``g`` is ``o_g T``
tonnes. A least-cost plan takes exactly its targets if and only if (i) every group that the plan buys more from than
its target is held at its target, and (ii) every group below its target can supply it. So the moves of availability
that are smallest in tonnes (the L1 norm) are closed-form, per group:

- the plan buys more than the target ``t_g``: availability falls to ``t_g`` (a cheaper source must be held back);
- the group makes available less than ``t_g``: availability rises to ``t_g`` (capped by capacity);
- otherwise: no move (the group gets its volume once the cheaper groups are held back).

This solves the bilevel problem (choose shares so that the lower-level least-cost LP picks the targets) through the
lower level's optimality conditions on one year, without a MILP: with delivered costs held, the optimality conditions
leave only these two kinds of move. The moves are then checked by re-solving the whole scenario with the new shares
(every year, every policy): a group still above its target (its flows now pass through another group's freed volume)
is held back further, for at most ``rounds`` rounds, until every mineral's backcast distance is within
``tolerance`` points. A group's availability moves by one factor on all of its blocks for that mineral (shares capped
at 1), and the overlay sets each moved block's share by source id.

What the calibration does not move: delivered costs (a group that is priced out behind unmet demand is reported,
not repriced), policies (a group a policy in force holds back, such as China's 2025 gallium ban, cannot be raised),
and years after the first (the moved shares hold for every year).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.analysis.backcast import REST, Backcast, Observation, backcast, observations
from engine.formulation import build_model
from engine.formulation.model import Model
from engine.inputs.scenario import LoadedScenario, with_overrides
from engine.outputs.results import flow_table
from engine.plan.hierarchy import solve_plan
from engine.solvers import SolverOptions, make_backend

DEFAULT_TOLERANCE_PP = 5.0
DEFAULT_ROUNDS = 6


@dataclass
class CalibrationResult:
    """The moves, the overlay and the backcast before and after."""

    loaded: LoadedScenario
    status: str
    before: list[Backcast] = field(default_factory=list)
    after: list[Backcast] = field(default_factory=list)
    overlay: dict[str, float] = field(default_factory=dict)  # source_id -> exportable share
    moves: pd.DataFrame = field(default_factory=pd.DataFrame)
    rounds: int = 0
    tolerance_pp: float = DEFAULT_TOLERANCE_PP
    message: str = ""
    solver_checks: dict[str, int] = field(default_factory=lambda: {"points_rejected": 0, "stage_retries": 0})
    """Over every solve: points a backend rejected and solved again, stages retried with wider slack."""

    @property
    def within(self) -> bool:
        return all(b.distance_pp is not None and b.distance_pp <= self.tolerance_pp + 1e-9 for b in self.after)


def _group(location: str, observation: Observation) -> str:
    return location if location in observation.shares and location != REST else REST


def _solve(loaded: LoadedScenario, solver: str | None, checks: dict[str, int]) -> tuple[Model, np.ndarray | None, str]:
    """The least-cost plan of ``loaded`` (its model, point and status); its point checks are added to ``checks``."""
    model = build_model(loaded)
    plan = solve_plan(model, make_backend(solver, SolverOptions()))
    checks["points_rejected"] += plan.rejected_points
    checks["stage_retries"] += plan.stage_retries
    x = plan.least_cost.x if plan.ok and plan.least_cost is not None else None
    return model, x, plan.status.value


def _with_shares(loaded: LoadedScenario, overlay: dict[str, float]) -> LoadedScenario:
    data = loaded.scenario.data
    return with_overrides(loaded, data=data.model_copy(update={"exportable_share": {**data.exportable_share,
                                                                                     **overlay}}))


def _group_tonnes(model: Model, x: np.ndarray, mineral: str, observation: Observation) -> dict[str, float]:
    year = model.years[0]
    flows = flow_table(model, x)
    flows = flows[(flows["year"] == year) & (flows["mineral"] == mineral)
                  & (flows["location"] != model.scenario.buyer)]
    out: dict[str, float] = {}
    for location, tonnes in flows.groupby("location", sort=True)["tonnes"].sum().items():
        group = _group(str(location), observation)
        out[group] = out.get(group, 0.0) + float(tonnes)
    return out


def _blocks(model: Model, mineral: str, observation: Observation, shares: dict[str, float]) -> pd.DataFrame:
    """The mineral's blocks outside the buyer's country with their group, share (overlay applied) and what they
    make available in the first year."""
    year = model.years[0]
    src = model.sources
    src = src[(src["mineral"] == mineral) & (src["location"] != model.scenario.buyer)].copy()
    src["group"] = [_group(str(loc), observation) for loc in src["location"]]
    src["share"] = [shares.get(s, float(v)) for s, v in zip(src["source_id"], src["exportable_share"], strict=True)]
    last = src["last_year"].astype("Float64").fillna(10_000)
    src["active"] = ((src["first_year"] <= year) & (last >= year)).to_numpy(dtype=bool)
    src["available_t"] = np.where(src["active"], src["capacity_t"].astype(float) * src["share"], 0.0)
    return src


def _scale(blocks: pd.DataFrame, group: str, target_t: float, shares: dict[str, float]) -> None:
    """Set the group's first-year availability to ``target_t`` by one factor on its blocks' shares (capped at 1)."""
    rows = blocks[blocks["group"] == group]
    available = float(rows["available_t"].sum())
    capacity = float(rows.loc[rows["active"], "capacity_t"].sum())
    if capacity <= 0:
        return
    for sid, share in zip(rows["source_id"], rows["share"], strict=True):
        new = min(1.0, share * target_t / available) if available > 0 else min(1.0, target_t / capacity)
        shares[str(sid)] = round(new, 6)


def _round(model: Model, x: np.ndarray, observed: dict[str, Observation], shares: dict[str, float],
           first: bool) -> set[str]:
    """One round of moves on every observed mineral; the minerals moved."""
    moved: set[str] = set()
    for mineral, observation in observed.items():
        bought = _group_tonnes(model, x, mineral, observation)
        total = sum(bought.values())
        if total <= 0:
            continue
        blocks = _blocks(model, mineral, observation, shares)
        groups = sorted(set(observation.shares) | set(blocks["group"]))
        for group in groups:
            target = observation.shares.get(group, 0.0) * total
            planned = bought.get(group, 0.0)
            available = float(blocks.loc[blocks["group"] == group, "available_t"].sum())
            above = planned > target * (1 + 1e-6) + 1e-6  # held back to its target
            short = first and available < target * (1 - 1e-6) - 1e-6  # raised to its target
            if above or short:
                _scale(blocks, group, target, shares)
                moved.add(mineral)
    return moved


def _moves(model: Model, observed: dict[str, Observation], overlay: dict[str, float]) -> pd.DataFrame:
    """Per mineral and group moved: the capacity-weighted share and first-year availability before and after."""
    rows = []
    names = model.mineral_names()
    for mineral, observation in observed.items():
        before = _blocks(model, mineral, observation, {})
        after = _blocks(model, mineral, observation, overlay)
        for group in sorted(set(before["group"])):
            b, a = before[before["group"] == group], after[after["group"] == group]
            if not any(str(s) in overlay for s in b["source_id"]):
                continue
            weight = b["capacity_t"].astype(float)
            share_b = float((b["share"] * weight).sum() / weight.sum()) if weight.sum() else 0.0
            share_a = float((a["share"] * weight).sum() / weight.sum()) if weight.sum() else 0.0
            if abs(share_a - share_b) < 1e-9:
                continue
            rows.append({"mineral": mineral, "group": group, "blocks": len(b),
                         "share_before": share_b, "share_after": share_a,
                         "available_before_t": float(b["available_t"].sum()),
                         "available_after_t": float(a["available_t"].sum()),
                         "move": f"{'other origins' if group == REST else group} {names.get(mineral, mineral)} "
                                 f"exportable share {100 * share_b:.1f}% -> {100 * share_a:.1f}%"})
    return pd.DataFrame(rows, columns=["mineral", "group", "blocks", "share_before", "share_after",
                                       "available_before_t", "available_after_t", "move"])


def calibrate(loaded: LoadedScenario, *, solver: str | None = None, tolerance_pp: float = DEFAULT_TOLERANCE_PP,
              rounds: int = DEFAULT_ROUNDS) -> CalibrationResult:
    """Move exportable shares until the least-cost plan's first-year imports reproduce ``observed_trade.csv``
    within ``tolerance_pp`` points per mineral, or ``rounds`` re-solves have passed."""
    observed = {m: o for m, o in observations(loaded.dataset).items()}
    checks = {"points_rejected": 0, "stage_retries": 0}
    model, x, status = _solve(loaded, solver, checks)
    result = CalibrationResult(loaded, status, tolerance_pp=tolerance_pp, solver_checks=checks)
    if x is None:
        result.message = "the least-cost plan was not solved"
        return result
    observed = {m: o for m, o in observed.items() if m in model.minerals}
    base_model = model
    result.before = backcast(model, x)
    result.after = result.before
    mineral_of = dict(zip(model.sources["source_id"].astype(str), model.sources["mineral"], strict=True))
    shares: dict[str, float] = {}
    open_minerals = dict(observed)
    for i in range(rounds):
        current = {b.observation.mineral: b.distance_pp for b in result.after}
        open_minerals = {m: o for m, o in open_minerals.items()
                         if current.get(m) is not None and current[m] > tolerance_pp + 1e-9}
        trial = dict(shares)
        moved = _round(model, x, open_minerals, trial, first=i == 0)
        if not moved:
            break
        trial_model, trial_x, status = _solve(_with_shares(loaded, trial), solver, checks)
        result.rounds = i + 1
        if trial_x is None:
            result.status, result.message = status, "the calibrated scenario's least-cost plan was not solved"
            return result
        trial_after = {b.observation.mineral: b.distance_pp for b in backcast(trial_model, trial_x)}
        # a mineral whose distance does not fall keeps its previous shares (its targets are out of reach: a policy
        # in force or the cost order holds the origin back) and is not moved again
        stuck = {m for m in moved if trial_after.get(m) is None or trial_after[m] >= current[m] - 1e-6}
        for sid in [k for k in trial if mineral_of.get(k) in stuck]:
            if sid in shares:
                trial[sid] = shares[sid]
            else:
                del trial[sid]
        open_minerals = {m: o for m, o in open_minerals.items() if m not in stuck}
        shares = trial
        if stuck:
            trial_model, trial_x, status = _solve(_with_shares(loaded, shares), solver, checks)
            if trial_x is None:
                result.status, result.message = status, "the calibrated scenario's least-cost plan was not solved"
                return result
        model, x = trial_model, trial_x
        result.after = backcast(model, x)
    result.overlay = dict(sorted(shares.items()))
    result.moves = _moves(base_model, observed, result.overlay)
    return result


def overlay_scenario(result: CalibrationResult) -> dict:
    """The calibrated scenario as a YAML mapping: the scenario it extends and the moved shares by source id."""
    from engine.paths import models_dir

    path = result.loaded.path
    parent = path.stem if path is not None and path.parent.resolve() == models_dir().resolve() else (
        str(path.resolve()) if path is not None else result.loaded.name)
    return {"name": f"{result.loaded.name}-calibrated", "extends": parent,
            "description": f"'{result.loaded.name}' with the exportable shares that make its least-cost plan "
                           f"reproduce the observed import shares of observed_trade.csv (critmin calibrate).",
            "data": {"exportable_share": {**result.loaded.scenario.data.exportable_share, **result.overlay}}}


__all__ = ["DEFAULT_ROUNDS", "DEFAULT_TOLERANCE_PP", "CalibrationResult", "calibrate", "overlay_scenario"]
