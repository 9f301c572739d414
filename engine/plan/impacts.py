"""What each policy does to the whole plan: the hierarchy re-solved without it, and with it relaxed by one unit.

A policy's impact is a whole-plan difference, not a dual. For each policy p of the scenario, the whole hierarchy
(``PlanSession.solve``) is run again on the loaded session with p removed, at the base plan's budget held in USD
(``Budget(absolute_usd=B)``; ``minimise: cost`` scenarios re-plan at least cost), and the two plans are compared
(``engine/outputs/policy_status.py`` turns them into tables)::

    removed:  plan(LP without p, budget B)          relaxed:  plan(LP with p relaxed by one unit in (m, y), budget B)

Removing p in place, then putting it back (``LPChange``):

- its rows (country caps, content rules, dependence caps, domestic targets, export quota rows) are freed;
- policies on columns (bans and quotas by share, tariffs, FEOC rules, market access) change column bounds and cost
  coefficients: the model of the scenario without p is built (``build_model``: only the formulation knows how the
  policies' factors combine) and its column bounds and cost objective taken into the loaded LP, after checking that
  the two LPs are otherwise the same (the same columns, the same rows but p's, the same matrix and other objectives).
  Where they are not, the removal is solved on a fresh build and a fresh backend (``Variant.method`` says which).

One unit (``relax_unit``), in the mineral-year (and country) named:

- bans, quotas by share, FEOC exclusions, market access: one more tonne of what p holds back, from any of the
  deliveries it restricts there: their bounds as without p, and one row ``Σ_d x_d <= Σ_d u_d + 1`` over them (u_d
  the bound with p); builds p forbids stay forbidden;
- country caps, export quota rows: the row's upper bound + 1 t; content rules: the lower bound − 1 t; domestic
  targets: − 1 t/yr;
- dependence caps: the cap + 1 percentage point: ``Σ a·x − (cap + 0.01)·Σ x <= 0`` (the row's coefficients less
  0.01 × the tonnes each column supplies).

Tariffs and FEOC credit losses have no unit to relax: they are removed only.

Every change is undone after its solve; the session's fixed levels, objective and budget row are put back as the
base plan left them, so later warm solves start from the same state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from engine.formulation import COLUMN_POLICIES, build_model
from engine.formulation.dependence import measure_terms
from engine.formulation.model import Model
from engine.inputs.scenario import LoadedScenario
from engine.inputs.schema import Budget
from engine.plan.hierarchy import Plan, PlanSession, objectives
from engine.solvers import SolverOptions, make_backend
from engine.solvers.base import Status

UNITS = {"bound": "t", "country_cap": "t", "export_quota": "t", "content_rule": "t", "domestic_target": "t/yr",
         "dependence_cap": "pp of supply"}
"""The unit a policy family is relaxed by (its row or bound), in words: a tonne, a t/yr, a percentage point."""


@dataclass
class LPChange:
    """Changes to the loaded LP: column bounds, row bounds, the cost objective C (cost including unmet demand),
    row coefficients, and (for a one-tonne allowance) an allowance row over columns."""

    cols: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    col_lower: np.ndarray = field(default_factory=lambda: np.empty(0))
    col_upper: np.ndarray = field(default_factory=lambda: np.empty(0))
    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    row_lower: np.ndarray = field(default_factory=lambda: np.empty(0))
    row_upper: np.ndarray = field(default_factory=lambda: np.empty(0))
    cost: np.ndarray | None = None  # the whole cost objective (cost including unmet demand: C), when it changes
    coefficients: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)  # (row, cols, new values)
    allowance: tuple[np.ndarray, float] | None = None  # (cols, upper): Σ x[cols] <= upper


@dataclass
class Variant:
    """One re-solve of the hierarchy: ``policy`` removed (``kind`` "removed") or relaxed by one ``unit`` in a
    mineral-year (``kind`` "relaxed"), with the plan it gave. ``cost_usd``: the plan's cost including unmet demand
    at its value (USD present value) at its own LP's prices (a tariff removed is not paid); ``method``: "warm"
    (changed in place on the loaded session) or "fresh build" (its own model and backend)."""

    policy: str
    kind: str
    plan: Plan
    model: Model
    cost_usd: float | None
    method: str
    seconds: float
    mineral: str = ""
    year: int = 0
    country: str = ""
    family: str = ""
    unit: str = ""

    @property
    def ok(self) -> bool:
        return self.plan.ok


def without_policy(loaded: LoadedScenario, name: str) -> LoadedScenario:
    """The scenario with the policy ``name`` left out (nothing else changed)."""
    s = loaded.scenario
    kept = [p for p in s.policies if p.name != name]
    return LoadedScenario(s.model_copy(update={"policies": kept}), loaded.dataset, loaded.path, loaded.chain,
                          loaded.origins)


def policy_rows(model: Model, name: str) -> list[tuple[str, np.ndarray, object]]:
    """The rows of the policy ``name``: (family, LP row indices, their keys) per constraint block."""
    out = []
    for block in model.lp.constraints.values():
        if ":" not in block.name or "policy" not in block.keys:
            continue
        mine = (block.keys["policy"] == name).to_numpy()
        if mine.any():
            out.append((block.name.split(":", 1)[0], np.asarray(block.index)[mine],
                        block.keys[mine].reset_index(drop=True)))
    return out


def _same_except(base: Model, other: Model, name: str) -> bool:
    """True when ``other`` (built without ``name``) is ``base`` with ``name``'s rows taken out, column bounds and the
    cost objective aside: the removal can then be made in place."""
    a, b = base.lp, other.lp
    if a.n_cols != b.n_cols or not np.array_equal(a.integer_cols, b.integer_cols):
        return False
    mine = np.concatenate([rows for _, rows, _ in policy_rows(base, name)] or [np.empty(0, dtype=np.int64)])
    kept = np.setdiff1d(np.arange(a.n_rows), mine)
    if len(kept) != b.n_rows:
        return False
    if not (np.array_equal(a.row_lower[kept], b.row_lower) and np.array_equal(a.row_upper[kept], b.row_upper)):
        return False
    ma, mb = a.matrix(), b.matrix()
    new_row = np.full(a.n_rows, -1, dtype=np.int64)
    new_row[kept] = np.arange(len(kept))
    cols_a = np.repeat(np.arange(a.n_cols), np.diff(ma.indptr))
    inside = new_row[ma.indices] >= 0
    cols_b = np.repeat(np.arange(b.n_cols), np.diff(mb.indptr))
    if int(inside.sum()) != mb.nnz or not (np.array_equal(cols_a[inside], cols_b)
                                           and np.array_equal(new_row[ma.indices[inside]], mb.indices)
                                           and np.array_equal(ma.data[inside], mb.data)):
        return False
    oa, ob = objectives(base), objectives(other)
    return all(np.array_equal(oa[k], ob[k]) for k in ("shortfall", "dependence"))


def removal_change(model: Model, name: str, without: Callable[[str], Model]) -> tuple[LPChange | None, Model | None]:
    """The change that removes ``name`` from the loaded LP of ``model``: (change, None), or (None, the model built
    without it) when it cannot be made in place. ``without(name)``: the model of the scenario without it."""
    change = LPChange()
    rows = [rows for _, rows, _ in policy_rows(model, name)]
    if rows:
        change.rows = np.concatenate(rows)
        change.row_lower = np.full(len(change.rows), -np.inf)
        change.row_upper = np.full(len(change.rows), np.inf)
    policy = next(p for p in model.scenario.policies if p.name == name)
    if policy.type not in COLUMN_POLICIES:
        return change, None
    other = without(name)
    if not _same_except(model, other, name):
        return None, other
    a, b = model.lp, other.lp
    moved = np.flatnonzero((a.col_lower != b.col_lower) | (a.col_upper != b.col_upper))
    change.cols, change.col_lower, change.col_upper = moved, b.col_lower[moved].copy(), b.col_upper[moved].copy()
    cost_a, cost_b = objectives(model)["cost"], objectives(other)["cost"]
    if not np.array_equal(cost_a, cost_b):
        change.cost = cost_b
    return change, None


class _Applied:
    """An ``LPChange`` applied to a session, undone by ``undo``."""

    def __init__(self, session: PlanSession, change: LPChange, allowance_row: int | None) -> None:
        self.session, self.change, backend, solved = session, change, session.backend, session.backend.solved
        self.col_saved = (solved.col_lower[change.cols].copy(), solved.col_upper[change.cols].copy())
        self.row_saved = (solved.row_lower[change.rows].copy(), solved.row_upper[change.rows].copy())
        self.cost_saved = session.objectives["cost"]
        self.coef_saved = [(row, cols, _coefficients(session.model, row, cols)) for row, cols, _ in change.coefficients]
        self.allowance_row = allowance_row
        if len(change.cols):
            backend.set_col_bounds(change.cols, change.col_lower, change.col_upper)
        if len(change.rows):
            backend.set_row_bounds(change.rows, change.row_lower, change.row_upper)
        if change.cost is not None:
            self._set_cost(change.cost)
        for row, cols, vals in change.coefficients:
            backend.set_row_coefficients(row, cols, vals)
        if change.allowance is not None and allowance_row is not None:
            cols, upper = change.allowance
            backend.set_row_coefficients(allowance_row, cols, np.ones(len(cols)))
            backend.set_row_bounds(np.array([allowance_row]), np.array([-np.inf]), np.array([upper]))

    def _set_cost(self, cost: np.ndarray) -> None:
        session = self.session
        before = session.objectives["cost"]
        changed = np.flatnonzero(before != cost)
        if changed.size:
            session.backend.set_row_coefficients(session.level_rows["budget"], changed, cost[changed])
        session.objectives = {**session.objectives, "cost": cost}

    def undo(self) -> None:
        change, backend = self.change, self.session.backend
        if change.allowance is not None and self.allowance_row is not None:
            cols, _ = change.allowance
            backend.set_row_bounds(np.array([self.allowance_row]), np.array([-np.inf]), np.array([np.inf]))
            backend.set_row_coefficients(self.allowance_row, cols, np.zeros(len(cols)))
        for row, cols, vals in reversed(self.coef_saved):
            backend.set_row_coefficients(row, cols, vals)
        if change.cost is not None:
            self._set_cost(self.cost_saved)
        if len(change.rows):
            backend.set_row_bounds(change.rows, *self.row_saved)
        if len(change.cols):
            backend.set_col_bounds(change.cols, *self.col_saved)


def _coefficients(model: Model, row: int, cols: np.ndarray) -> np.ndarray:
    """The loaded model's coefficients of ``row`` on ``cols`` (0 where it has none)."""
    matrix = model.lp.matrix()
    here = matrix.indices == int(row)
    values = np.zeros(model.lp.n_cols)
    values[np.repeat(np.arange(model.lp.n_cols), np.diff(matrix.indptr))[here]] = matrix.data[here]
    return values[np.asarray(cols, dtype=np.int64)]


class Impacts:
    """Re-solves of the hierarchy on one loaded session, each with one change, at the base plan's budget."""

    def __init__(self, session: PlanSession, loaded: LoadedScenario, base: Plan, solver: str | None = None) -> None:
        self.session, self.loaded, self.base = session, loaded, base
        self.model = session.model
        self.solver = solver
        self.minimise = self.model.scenario.objective.minimise
        self.budget = None if self.minimise == "cost" else base.budget_usd
        self._allowance_row: int | None = None
        self._without: dict[str, Model] = {}  # models built without a policy on columns, by policy

    def without(self, name: str) -> Model:
        """The model of the scenario without the policy ``name`` (built once)."""
        if name not in self._without:
            self._without[name] = build_model(without_policy(self.loaded, name))
        return self._without[name]

    def _budget(self) -> Budget | None:
        return None if self.budget is None else Budget(absolute_usd=self.budget)

    def _solve(self, session: PlanSession) -> Plan:
        """The hierarchy at the base plan's budget in USD (at least cost when even the least-cost plan exceeds it:
        its note says so)."""
        plan = session.solve(minimise=self.minimise, budget=self._budget())
        over = (plan.status is Status.INFEASIBLE and plan.least_cost is not None and plan.least_cost_usd is not None
                and self.budget is not None and plan.least_cost_usd > self.budget)
        if over:
            plan.status, plan.message, plan.solution = Status.OPTIMAL, "", plan.least_cost
            plan.budget_usd, plan.dependence_level = plan.least_cost_usd, None
            plan.notes.append("the least-cost re-plan exceeds the budget: re-planned at least cost")
        return plan

    @contextmanager
    def _kept(self) -> Iterator[None]:
        """Put the session's fixed levels, slack, objective and level rows back as the base plan left them."""
        s = self.session
        solved = s.backend.solved
        level_rows = np.array(list(s.level_rows.values()))
        saved = (dict(s.fixed), s.slack_scale, s._short_fixed, solved.row_lower[level_rows].copy(),
                 solved.row_upper[level_rows].copy(), solved.cost.copy())
        try:
            yield
        finally:
            fixed, scale, short_fixed, lower, upper, cost = saved
            if s._short_fixed != short_fixed:
                s._shortfall_allowed(not short_fixed)
                s._short_fixed = short_fixed
            s.fixed, s.slack_scale = fixed, scale
            s.backend.set_row_bounds(level_rows, lower, upper)
            s.backend.set_objective(cost)

    def _variant(self, policy: str, kind: str, change: LPChange | None, fresh: Model | None,
                 **where: object) -> Variant:
        started = time.perf_counter()
        if change is None:  # a fresh build on a fresh backend
            assert fresh is not None
            session = PlanSession(fresh, make_backend(self.solver, SolverOptions()))
            plan = self._solve(session)
            model, method = fresh, "fresh build"
            cost = objectives(fresh)["cost"]
        else:
            needs_row = change.allowance is not None
            if needs_row and self._allowance_row is None:
                self._allowance_row = self.session.backend.add_row(np.empty(0, dtype=np.int64), np.empty(0),
                                                                   -np.inf, np.inf, "impact_allowance")
            applied = _Applied(self.session, change, self._allowance_row)
            try:
                plan = self._solve(self.session)
                cost = self.session.objectives["cost"]
            finally:
                applied.undo()
            model, method = self.model, "warm"
        value = None if plan.x is None else float(cost @ plan.x) * model.money_unit
        return Variant(policy, kind, plan, model, value, method, time.perf_counter() - started, **where)

    def removals(self) -> list[Variant]:
        """Each policy of the scenario removed in turn, in the scenario's order."""
        out = []
        with self._kept():
            for policy in self.model.scenario.policies:
                change, fresh = removal_change(self.model, policy.name, self.without)
                out.append(self._variant(policy.name, "removed", change, fresh))
        return out

    def relaxations(self, wanted: list[tuple[str, str, str, int, str]]) -> list[Variant]:
        """Each (policy, family, mineral, year, country) of ``wanted`` relaxed by one unit (``relax_unit``)."""
        out = []
        with self._kept():
            for policy, family, mineral, year, country in wanted:
                change = relax_unit(self.model, policy, family, mineral, year, country, self.without)
                if change is None:
                    continue
                out.append(self._variant(policy, "relaxed", change, None, mineral=mineral, year=year,
                                         country=country, family=family, unit=UNITS[family]))
        return out


def relax_unit(model: Model, policy: str, family: str, mineral: str, year: int, country: str,
               without: Callable[[str], Model]) -> LPChange | None:
    """The change that relaxes ``policy`` by one unit in (mineral, year[, country]) (module docstring); None when it
    has nothing there to relax. ``without(name)``: the model of the scenario without a policy."""
    if family == "bound":
        return _one_more_tonne(model, policy, mineral, year, without)
    for fam, rows, keys in policy_rows(model, policy):
        if fam != family:
            continue
        here = (keys["mineral"] == mineral).to_numpy() & (keys["year"].astype(int) == int(year)).to_numpy()
        if "country" in keys and country:
            here &= (keys["country"].fillna("") == country).to_numpy()
        if "scen" in keys:
            here &= (keys["scen"] == keys["scen"].iloc[0]).to_numpy()
        if not here.any():
            continue
        at = rows[here][:1]
        lower, upper = model.lp.row_lower[at].copy(), model.lp.row_upper[at].copy()
        if family == "dependence_cap":
            return _one_more_point(model, int(at[0]), mineral, year)
        if family in ("content_rule", "domestic_target"):
            lower = lower - 1.0
        else:
            upper = upper + 1.0
        return LPChange(rows=at, row_lower=lower, row_upper=upper)
    return None


def _one_more_point(model: Model, row: int, mineral: str, year: int) -> LPChange:
    """A dependence cap's row ``Σ (a − cap)·s·x <= 0`` with the cap one percentage point higher."""
    terms = measure_terms(model)
    d = model.demand
    at = np.flatnonzero((d["mineral"] == mineral).to_numpy() & (d["year"] == year).to_numpy()
                        & (d["scen"] == d["scen"].iloc[0]).to_numpy())
    mine = np.isin(terms.rows, at) & (terms.supplied != 0)
    cols = terms.cols[mine]
    old = _coefficients(model, row, cols)
    return LPChange(coefficients=[(row, cols, old - 0.01 * terms.supplied[mine])])


def _one_more_tonne(model: Model, policy: str, mineral: str, year: int,
                    without: Callable[[str], Model]) -> LPChange | None:
    """One more tonne of what ``policy`` holds back in (mineral, year), from any of the deliveries it restricts."""
    frames = dict(model.delivery_frames())
    cols = []
    for r in model.restrictions:
        if r.empty or r["policy"].iloc[0] != policy or r["block"].iloc[0] not in frames:
            continue
        frame = frames[str(r["block"].iloc[0])]
        rows = r["row"].to_numpy()
        here = ((frame["mineral"].to_numpy()[rows] == mineral) & (frame["year"].to_numpy()[rows] == year)
                & (frame["scen"].to_numpy()[rows] == frame["scen"].iloc[0]))
        cols.append(model.block_cols(str(r["block"].iloc[0]))[rows[here]])
    if not cols or not sum(len(c) for c in cols):
        return None
    cols_here = np.unique(np.concatenate(cols))
    other = without(policy)
    if other.lp.n_cols != model.lp.n_cols:
        return None
    upper_with = model.lp.col_upper[cols_here]
    upper_without = other.lp.col_upper[cols_here]
    return LPChange(cols=cols_here, col_lower=model.lp.col_lower[cols_here].copy(), col_upper=upper_without.copy(),
                    allowance=(cols_here, float(upper_with.sum()) + 1.0))
