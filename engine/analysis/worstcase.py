"""Worst-case planning: the plan that holds up whatever restrictions an adversary picks (a min–max problem).

**Moves.** A move cuts, for one mineral m, the output of every delivery column hit by the dependence country
(located there, controlled by it at ``owner_threshold`` equity or more, or either) to ``share`` of normal, from a
start year to the end of the horizon. JV output hosted in the buyer's country and licences are not cut (the plant
and the know-how sit with the buyer); with ``cut_jv_output`` buyer-hosted JV output falls in proportion to the
country's equity, to 1 − e (1 − share). A restriction set R holds at most k moves; its availability factor on a
column is the smallest factor of its moves (moves do not compound).

**The decision.** The first stage (JV builds, their binaries, stockpile purchases) x is chosen once; flows, JV
output, stock draws and shortfall y_R per restriction set (recourse). With V(x, R) the least value of unmet
demand given x under R (Σ δ_y v_m short, ``results.unmet_value``)::

    1. worst case   η* = min_x max_{|R| <= k} V(x, R)                          fix  η <= η* (1 + tol)
    2. then the scenario's own hierarchy on the unrestricted plan (R = ∅): least cost including its unmet demand
       at its value (with ``shortfall: first``, its shortfall before), least-cost reference, dependence within the
       budget, cost — robustness bought as cheaply as possible.

**No foresight.** A restriction starting in year s is not known before s: in every year before s a set's
recourse (purchases, JV output, stock draws and levels, shortfall) equals the unrestricted plan's
(non-anticipativity rows ``y_R[t] = y_∅[t]`` for t < s). Without them the unrestricted plan could buy stock and
draw it the same year, while the restricted copies keep it: a hedge that costs nothing and holds nothing.

Stage 2 keeps the unrestricted plan whole: bounding the worst case alone would let an optimiser leave demand
unmet there, up to η*, to save money. The budget premium applies over the least cost of plans that hold η*.

**Exact solution.** With few restriction sets the extensive form holds one recourse copy per set (enumeration).
With many, column-and-constraint generation (Zeng and Zhao, Oper. Res. Letters 41(5), 2013): the master holds
the sets found so far and gives a lower bound; the adversary's best response to the master's first stage (a warm
LP re-solve per candidate set, first stage fixed) gives an upper bound; its worst set joins the master until
the bounds meet. The final plan (after stage 2) is checked against every set again, so its worst case is η*.

**Dominated moves.** V is monotone: a smaller availability never lowers unmet demand. A move whose factors are
all at or above another's (a later start, a narrower basis) never adds damage beyond its dominator, so the
adversary's best response only needs undominated moves (``prune``, on by default; exact, not a heuristic).

**Against the base.** Every figure a planner reads is a change against the base plan: the scenario's own plan (as
``solve`` plans it) with no restriction, re-planned like every set (its first stage fixed, least value of unmet
demand). Its unmet tonnes (``WorstCaseResult.base``) are subtracted from every set's, per mineral; a change
within solver noise (``beyond_noise``, or under ``TONNES_NOISE``) is dropped. The robust plans are planned within
the base plan's budget held in USD (on cost including unmet demand), as ``sensitivity`` and ``compare`` do; when
even the least cost of plans that hold η* exceeds it, the robust plan is that least-cost plan (``over_budget``).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pydantic import ValidationError

from engine.analysis.replan import over_budget, replan
from engine.errors import InputError
from engine.figures.labels import Names
from engine.formulation import build_model
from engine.formulation.demand import shortfall_value_coefficients
from engine.formulation.disruptions import ScenarioSet
from engine.formulation.model import FIRST_STAGE, Model
from engine.formulation.select import country_mask
from engine.inputs.scenario import LoadedScenario, mineral_code
from engine.inputs.schema import WorstCaseSettings
from engine.inputs.selection import check_years, modelled_minerals, present_country
from engine.outputs.results import attributed_by_group, overall_measures, total_cost_pv, unmet_value
from engine.outputs.summary import provenance
from engine.plan.hierarchy import ABS_TOL, Plan, PlanSession, add_checks
from engine.solvers import SolverOptions, make_backend
from engine.solvers.base import TONNES_NOISE, beyond_noise

CONVERGENCE_RTOL = 1e-9
"""The bounds have met when the adversary's best damage is at most the master's fixed level (η* plus the
hierarchy's slack) within this relative gap: the final plan is then feasible for the extensive form over every
set, which makes column-and-constraint generation and enumeration reach the same plan levels."""
ENUMERATE_UP_TO = 40
"""``method='auto'`` solves the extensive form when there are at most this many restriction sets."""
MAX_ITERATIONS = 200


@dataclass(frozen=True, order=True)
class Move:
    """Cut ``mineral`` by ``by`` (location, owner or either) from ``start`` to the end of the horizon."""

    mineral: str
    start: int
    by: str

    def describe(self, country: str, names: dict[str, str]) -> str:
        basis = {"location": "located in", "owner": "controlled by", "either": "in or controlled by"}[self.by]
        return f"{names.get(self.mineral, self.mineral)} {basis} {country} from {self.start}"


Restriction = tuple[Move, ...]
ByMineral = dict[str, float]
"""Unmet tonnes per mineral code."""
Damage = tuple[Restriction, float, float, ByMineral]
"""A set, the value of the unmet demand it leaves (USD PV), its unmet tonnes, and those tonnes per mineral."""


def added_tonnes(now: float, base: float) -> float:
    """Unmet tonnes added to the base's: 0.0 within solver noise (under ``TONNES_NOISE``, what prints as 0.00 t,
    or ``beyond_noise`` on the larger of the two)."""
    added = now - base
    return 0.0 if abs(added) < TONNES_NOISE else beyond_noise(added, max(abs(now), abs(base)))


def added_by_mineral(now: ByMineral, base: ByMineral) -> ByMineral:
    """Unmet tonnes added per mineral (``added_tonnes``), minerals whose change is dropped left out."""
    out = {m: added_tonnes(now.get(m, 0.0), base.get(m, 0.0)) for m in sorted({*now, *base})}
    return {m: v for m, v in out.items() if v != 0.0}


def describe_set(moves: Restriction, country: str, names: dict[str, str]) -> str:
    return "; ".join(m.describe(country, names) for m in moves) if moves else "no restriction"


# ------------------------------------------------------------------------------------------------ the moves
@dataclass
class MoveSet:
    """Every allowed move and its availability factor on each delivery column of the deterministic model."""

    moves: list[Move]
    factors: np.ndarray  # moves × delivery columns
    ids: np.ndarray  # id of each delivery column (source or option)
    years: np.ndarray
    cols: np.ndarray  # the delivery columns in the deterministic model

    def start(self, restriction: Restriction) -> int:
        """The first year a set cuts anything (after the horizon for the empty set)."""
        return min((m.start for m in restriction), default=10**6)

    def factor(self, restriction: Restriction) -> np.ndarray:
        """The availability factor of a restriction set on every delivery column (1 for the empty set)."""
        if not restriction:
            return np.ones(len(self.cols))
        rows = [self.moves.index(m) for m in restriction]
        return self.factors[rows].min(axis=0)

    def availability(self, restriction: Restriction, scen: int) -> pd.DataFrame:
        """Rows (scen, id, year, factor) for a ``ScenarioSet``, where the set cuts something."""
        f = self.factor(restriction)
        cut = f < 1.0
        return pd.DataFrame({"scen": scen, "id": self.ids[cut], "year": self.years[cut], "factor": f[cut]})


def allowed_moves(model: Model, settings: WorstCaseSettings) -> MoveSet:
    """The moves of ``settings`` on ``model`` (deterministic), dropping moves that cut nothing."""
    country = settings.country or model.scenario.dependence.country
    buyer = model.scenario.buyer
    minerals = [m for m in model.minerals if settings.minerals is None or m in settings.minerals]
    starts = settings.start_years.select(model.years)
    blocks = model.delivery_frames()
    ids = np.concatenate([f["id"].to_numpy(dtype=object) for _, f in blocks])
    years = np.concatenate([f["year"].to_numpy() for _, f in blocks])
    mineral = np.concatenate([f["mineral"].to_numpy(dtype=object) for _, f in blocks])
    cols = np.concatenate([model.block_cols(b) for b, _ in blocks])
    hit_by: dict[str, np.ndarray] = {}
    for basis in settings.by:
        parts = []
        for block, frame in blocks:
            cut = np.where(country_mask(frame, model.equity, [country], basis, settings.owner_threshold),
                           settings.share, 1.0)
            if block == "jv_out":  # buyer-hosted JV output and licences: kept, or cut by the partner's equity
                spared = (frame["host"] == buyer).to_numpy() | (frame["mode"] == "licensing").to_numpy()
                equity = np.where(frame["partner"] == country, frame["partner_equity_share"].astype(float), 0.0)
                partial = 1.0 - equity * (1.0 - settings.share) if settings.cut_jv_output else np.ones(len(frame))
                cut = np.where(spared, partial, cut)
            parts.append(cut)
        hit_by[basis] = np.concatenate(parts) if parts else np.empty(0)
    moves, rows = [], []
    for m in minerals:
        for start in starts:
            for basis in settings.by:
                f = np.where((mineral == m) & (years >= start), hit_by[basis], 1.0)
                if (f < 1.0).any():
                    moves.append(Move(m, start, basis))
                    rows.append(f)
    factors = np.vstack(rows) if rows else np.empty((0, len(cols)))
    return MoveSet(moves, factors, ids, years, cols)


def undominated(moves: MoveSet) -> list[Move]:
    """Moves that no other move dominates (factors everywhere at or below); of equal moves, the first."""
    f = moves.factors
    keep = []
    for i, move in enumerate(moves.moves):
        below = np.all(f <= f[i], axis=1)
        below[i] = False
        equal = np.all(f == f[i], axis=1)
        strictly = below & ~equal
        earlier_equal = equal & (np.arange(len(f)) < i)
        if not strictly.any() and not earlier_equal.any():
            keep.append(move)
    return keep


def restriction_sets(moves: list[Move], k: int) -> list[Restriction]:
    """Every set of at most k moves, the empty set first, in a canonical order."""
    ordered = sorted(moves)
    out: list[Restriction] = []
    for size in range(min(k, len(ordered)) + 1):
        out += list(itertools.combinations(ordered, size))
    return out


OPTION_NAMES = {"k": "--k", "country": "--country", "by": "--by", "share": "--share", "start_years": "--from",
                "owner_threshold": "--owner-threshold", "cut_jv_output": "--cut-jv-output", "minerals": "--mineral"}


def settings_with(loaded: LoadedScenario, options: dict[str, str] = OPTION_NAMES,
                  **changes: object) -> WorstCaseSettings:
    """The scenario's ``worstcase`` section with ``changes`` (command-line values), validated like the file; a
    value that selects nothing is an error naming its option (``options``: key -> what the user typed, such as
    ``--from``; the key itself when absent), or its YAML path when it comes from the scenario."""
    ds = loaded.dataset
    given = {key for key, value in changes.items() if value is not None}

    def label(key: str) -> str:
        return options.get(key, key) if key in given else loaded.locate(("worstcase", key))

    if isinstance(changes.get("minerals"), list):  # names as well as codes: 'gallium' -> ga
        changes = {**changes, "minerals": [mineral_code(ds, m) or m for m in changes["minerals"]]}
    data = {**loaded.scenario.worstcase.model_dump(), **{k: v for k, v in changes.items() if v is not None}}
    try:
        settings = WorstCaseSettings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            value = changes.get(key, data.get(key))
            problems.append(f"{options.get(key, key)} {value!r}: {error['msg']}")
        raise InputError("Worst-case settings are not valid:\n  " + "\n  ".join(problems)) from None
    if settings.minerals:
        modelled_minerals(label("minerals"), settings.minerals, loaded)
    if settings.country is not None:
        present_country(label("country"), settings.country, settings.minerals, loaded)
    check_years(label("start_years"), settings.start_years, loaded)
    return settings


def recourse_columns(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """Every column decided per scenario and year (purchases, JV output, shortfall, stock draws and levels),
    with its year."""
    cols, years = [], []
    for name, block in model.lp.variables.items():
        if name not in FIRST_STAGE and {"scen", "year"} <= set(block.keys.columns):
            cols.append(block.cols)
            years.append(block.keys["year"].to_numpy())
    return np.concatenate(cols), np.concatenate(years)


def _non_anticipativity(model: Model, starts: list[int]) -> None:
    """Rows y[k, t, ω] − y[k, t, 0] = 0 for every recourse column of scenario ω in a year t before its start."""
    rows, cols, vals, n = [], [], [], 0
    start_of = np.asarray(starts)
    for name, block in list(model.lp.variables.items()):
        if name in FIRST_STAGE or not {"scen", "year"} <= set(block.keys.columns):
            continue
        keys = block.keys.assign(col=block.cols)
        other = [c for c in keys.columns if c not in ("scen", "col")]
        base = keys[keys["scen"] == 0]
        early = keys[(keys["scen"] > 0) & (keys["year"].to_numpy() < start_of[keys["scen"].to_numpy()])]
        pairs = early.merge(base, on=other, suffixes=("", "_0"))
        m = len(pairs)
        rows += [np.arange(n, n + m), np.arange(n, n + m)]
        cols += [pairs["col"].to_numpy(), pairs["col_0"].to_numpy()]
        vals += [np.ones(m), -np.ones(m)]
        n += m
    if n:
        model.lp.add_constraints("non_anticipativity", pd.DataFrame({"row": range(n)}), np.concatenate(rows),
                                 np.concatenate(cols), np.concatenate(vals), lower=0.0, upper=0.0)


# --------------------------------------------------------------------------------------------- the adversary
class Adversary:
    """V(x, R) by warm re-solves of the deterministic model with the first stage fixed at x."""

    def __init__(self, model: Model, moves: MoveSet, solver: str | None) -> None:
        self.model, self.moves = model, moves
        self.backend = make_backend(solver, SolverOptions())
        self.backend.load(model.lp)
        lp = model.lp
        present = [b for b in FIRST_STAGE if b in lp.variables]
        self.first = np.concatenate([model.block_cols(b) for b in present]) if present else np.empty(0, int)
        self.recourse, self.recourse_year = recourse_columns(model)
        self.integer = lp.integer_cols
        self.upper = lp.col_upper[moves.cols]
        self.value = lp.objective("shortfall")
        self.short = model.block_cols("short")
        self.short_mineral = model.lp.variables["short"].keys["mineral"].to_numpy(dtype=object)
        self.last_by_mineral: ByMineral = {}  # unmet tonnes per mineral of the last ``damage``
        self.adding = 0  # sets of the last ``best_response`` that add unmet demand to its empty set's (noise dropped)
        self.rejected = 0  # points the backend rejected (broke a bound or row) and solved again
        self.backend.set_objective(self.value)
        self._plan: np.ndarray | None = None

    def fix(self, plan_x: np.ndarray | None) -> None:
        """Fix the plan: its first stage, and its unrestricted recourse before each set's start (``damage``).
        ``plan_x`` is in this model's columns. None frees both: the best plan had the set been known."""
        lp = self.model.lp
        first_stage = None if plan_x is None else plan_x[self.first]
        if first_stage is None:
            self.backend.set_col_bounds(self.first, lp.col_lower[self.first], lp.col_upper[self.first])
            if self.integer.size:
                self.backend.set_integrality(self.integer, True)
        else:
            values = np.where(np.isin(self.first, self.integer), np.round(first_stage), first_stage)
            self.backend.set_col_bounds(self.first, values, values)
            if self.integer.size:
                self.backend.set_integrality(self.integer, False)
        self._plan = plan_x

    def damage(self, restriction: Restriction) -> tuple[float, float]:
        """(value of unmet demand in USD, unmet tonnes) under ``restriction`` for the fixed plan."""
        lp = self.model.lp
        upper = lp.col_upper.copy()
        upper[self.moves.cols] = self.upper * self.moves.factor(restriction)
        lower = lp.col_lower.copy()
        if self._plan is not None:  # no foresight: before the set starts, the plan's own recourse
            before = self.recourse[self.recourse_year < self.moves.start(restriction)]
            lower[before] = upper[before] = self._plan[before]
        cols = self.recourse
        self.backend.set_col_bounds(cols, lower[cols], upper[cols])
        sol = self.backend.solve(duals=False)
        self.rejected += len(sol.rejected)
        if not sol.ok:
            raise RuntimeError(f"the adversary's re-solve under {restriction} ended {sol.status} ({sol.message})")
        value = float(self.value @ sol.x) * self.model.money_unit
        short = np.clip(sol.x[self.short], 0.0, None)
        by = pd.Series(short).groupby(self.short_mineral).sum()
        self.last_by_mineral = {str(m): float(t) for m, t in by.items()}
        return value, float(short.sum())

    def best_response(self, plan_x: np.ndarray, sets: list[Restriction]) -> Damage:
        """The set of ``sets`` that does most damage to the plan. Ties, within the solver's noise
        (``beyond_noise``), go to the first set in canonical order, so noise never picks the worst set."""
        self.fix(plan_x)
        best: Damage = ((), -1.0, 0.0, {})
        self.adding, empty = 0, None
        for restriction in sets:
            value, tonnes = self.damage(restriction)
            if not restriction:
                empty = tonnes
            elif empty is not None and added_tonnes(tonnes, empty) > 0:
                self.adding += 1
            if best[1] < 0 or beyond_noise(value - best[1], best[1]) > 0:
                best = (restriction, value, tonnes, self.last_by_mineral)
        return best


# ------------------------------------------------------------------------------------------------ the master
@dataclass
class Master:
    """The extensive form over a list of restriction sets (scenario 0 = no restriction)."""

    model: Model
    session: PlanSession
    sets: list[Restriction]
    eta_col: int


def build_master(loaded: LoadedScenario, moves: MoveSet, sets: list[Restriction], solver: str | None) -> Master:
    """One recourse copy per set; the unrestricted copy carries every objective (probability 1, the others 0);
    ``η >= V_R`` rows bound each set's value of unmet demand."""
    all_sets = [(), *[s for s in sets if s]]
    n = len(all_sets)
    table = pd.DataFrame({"scen": range(n), "name": [f"set {i}" for i in range(n)],
                          "probability": [1.0] + [0.0] * (n - 1)})
    availability = pd.concat([moves.availability(r, i) for i, r in enumerate(all_sets)], ignore_index=True)
    model = build_model(loaded, ScenarioSet(table, availability=availability))
    d = model.demand
    value = shortfall_value_coefficients(model)
    lp = model.lp
    eta = lp.add_variables("worst_case", pd.DataFrame({"level": ["eta"]}))
    scen_row = d["scen"].to_numpy()
    rows = np.concatenate([np.arange(n), scen_row])
    cols = np.concatenate([np.full(n, eta.start), model.block_cols("short")])
    vals = np.concatenate([np.ones(n), -value])
    lp.add_constraints("worst_case_value", pd.DataFrame({"scen": range(n)}), rows, cols, vals, lower=0.0)
    _non_anticipativity(model, [moves.start(r) for r in all_sets])
    session = PlanSession(model, make_backend(solver, SolverOptions()))
    # the hierarchy's "no shortfall needed" fix applies to the unrestricted plan only: the restricted copies
    # may leave demand unmet, up to η
    unrestricted = (d["scen"] == 0).to_numpy()
    session.short_cols = model.block_cols("short")[unrestricted]
    session.short_upper = model.lp.variables["short"].upper[unrestricted].copy()
    return Master(model, session, all_sets, int(eta.start))


def on_base(master: Model, x: np.ndarray, base: Model) -> np.ndarray:
    """The master's plan (first stage and unrestricted recourse, scenario 0) in the base model's columns."""
    out = np.zeros(base.lp.n_cols)
    for name, block in base.lp.variables.items():
        theirs = master.lp.variables[name]
        keys = theirs.keys.assign(col=theirs.cols)
        if "scen" in keys.columns:
            keys = keys[keys["scen"] == 0]
        on = list(block.keys.columns)
        matched = block.keys.merge(keys, on=on, how="left", validate="one_to_one")
        out[block.cols] = x[matched["col"].to_numpy(dtype=np.int64)]
    return out


def _set_values(model: Model, x: np.ndarray, sets: list[Restriction]) -> np.ndarray:
    value = unmet_value(model, x)
    return np.bincount(value["scen"].to_numpy(), value["value_pv_usd"].to_numpy(), minlength=len(sets))


# -------------------------------------------------------------------------------------------------- results
@dataclass
class PlanOutcome:
    """One plan (its first stage) and how it fares."""

    label: str
    k: int
    model: Model
    x: np.ndarray
    plan: Plan | None
    base_x: np.ndarray = field(default_factory=lambda: np.empty(0))  # the plan in the base model's columns
    worst_set: Restriction = ()
    worst_damage_usd: float = 0.0
    worst_shortfall_t: float = 0.0
    worst_by_mineral: ByMineral = field(default_factory=dict)
    over_budget: bool = False  # the least cost of plans holding η* exceeds the base budget: planned at least cost
    iterations: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    method: str = ""
    sets_in_master: int = 1

    def unrestricted(self) -> dict:
        """Cost, dependence and unmet demand of the plan with no restriction (scenario 0)."""
        dep = attributed_by_group(self.model, self.x)
        dep0 = dep[dep["scen"] == 0]
        return {"cost_pv_usd": total_cost_pv(self.model, self.x),
                **overall_measures(self.model, dep0),
                "shortfall_t": float(dep0["shortfall_t"].sum()),
                "unmet_value_pv_usd": float(_set_values(self.model, self.x, [()])[0])}


@dataclass
class WorstCaseResult:
    scenario: str
    country: str
    status: str
    message: str = ""
    settings: WorstCaseSettings | None = None
    moves: list[Move] = field(default_factory=list)
    adversary_moves: list[Move] = field(default_factory=list)
    deterministic: PlanOutcome | None = None
    robust: dict[int, PlanOutcome] = field(default_factory=dict)
    deterministic_worst: dict[int, Damage] = field(default_factory=dict)
    base: dict = field(default_factory=dict)
    """The base plan (the deterministic plan, no restriction): ``unmet_t``, ``unmet_by_mineral``,
    ``unmet_value_pv_usd`` as re-planned like every set; ``cost_with_unmet_pv_usd``, ``exposure_pct``,
    ``share_of_supply_pct`` of the plan itself; ``budget_pv_usd`` (None: the scenario minimises cost)."""
    country_name: str = ""
    sets_adding: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Per k: (restriction sets of undominated moves that add unmet demand to the deterministic plan, sets tried)."""
    move_damage: pd.DataFrame = field(default_factory=pd.DataFrame)
    regret: pd.DataFrame = field(default_factory=pd.DataFrame)
    names: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # outputs.summary.provenance of the scenario
    solver_checks: dict[str, int] = field(default_factory=lambda: {"points_rejected": 0, "stage_retries": 0})
    """Over every solve (the plan, each master, the adversary's re-solves): points rejected, stages retried."""


# -------------------------------------------------------------------------------------------------- solving
Progress = Callable[[str], None]


def _solve_master(master: Master, tol: float) -> tuple[float, np.ndarray] | str:
    """Stage 1: minimise η. Returns (η* in USD from the point's own values, x) or the failure message."""
    session, model = master.session, master.model
    session.release_levels()
    objective = np.zeros(model.lp.n_cols)
    objective[master.eta_col] = 1.0
    session.backend.set_objective(objective)
    session.backend.set_col_bounds(np.array([master.eta_col]), np.array([0.0]), np.array([np.inf]))
    sol = session.solve_stage(duals=False)
    if not sol.ok:
        return f"worst-case stage: {sol.status} ({sol.message})"
    level = float(_set_values(model, sol.x, master.sets).max())  # c·x of the returned point, USD
    return level, sol.x


def _fix_eta(master: Master, level_usd: float, tol: float) -> float:
    """Bound η at the worst-case level plus the hierarchy's slack; returns that bound in USD."""
    unit = master.model.money_unit
    level = level_usd / unit
    bound = level + tol * abs(level) + ABS_TOL
    master.session.backend.set_col_bounds(np.array([master.eta_col]), np.array([0.0]), np.array([bound]))
    return bound * unit


def solve_k(loaded: LoadedScenario, moves: MoveSet, candidate_sets: list[Restriction], adversary: Adversary,
            k: int, *, method: str, start_sets: list[Restriction], solver: str | None,
            progress: Progress | None = None, checks: dict[str, int] | None = None,
            budget_usd: float | None = None) -> PlanOutcome | str:
    """The min–max plan for at most k moves, by enumeration or column-and-constraint generation; each master's
    point checks are added to ``checks``. ``budget_usd``: the base plan's budget, held in USD (None: the scenario's
    own objective, as for ``minimise: cost``)."""
    t0 = time.perf_counter()
    tol = loaded.scenario.objective.tolerance
    enumerate_all = method == "enumerate" or (method == "auto" and len(candidate_sets) <= ENUMERATE_UP_TO)
    sets = [s for s in candidate_sets if s] if enumerate_all else sorted({s for s in start_sets if s})
    iterations: list[dict] = []
    upper = np.inf
    for iteration in range(1, MAX_ITERATIONS + 1):
        master = build_master(loaded, moves, sets, solver)
        solved = _solve_master(master, tol)
        if isinstance(solved, str):
            return solved
        lower, x = solved
        bound = _fix_eta(master, lower, tol)
        # the scenario's hierarchy on the unrestricted plan, η fixed, within the base plan's budget in USD
        plan = replan(master.session, budget_usd) if budget_usd is not None else master.session.solve()
        if checks is not None:
            add_checks(checks, master.session.checks)
        if not plan.ok:
            return f"k = {k}: {plan.message}"
        x = plan.x
        base_x = on_base(master.model, x, adversary.model)
        worst, damage, tonnes, by_mineral = adversary.best_response(base_x, candidate_sets)
        upper = min(upper, damage)
        iterations.append({"k": k, "iteration": iteration, "lower_usd": lower, "upper_usd": damage,
                           "sets": len(master.sets) - 1, "worst_set": worst})
        if progress is not None:
            progress(f"k = {k}, iteration {iteration}: worst-case value of unmet demand (the base plan's own "
                     f"included) at least USD {lower:,.0f}, at most USD {damage:,.0f}; {len(master.sets) - 1} "
                     f"restriction sets in the master")
        if damage <= bound * (1 + CONVERGENCE_RTOL) or worst in master.sets:
            return PlanOutcome("robust", k, master.model, x, plan, base_x, worst, damage, tonnes, by_mineral,
                               over_budget(plan), iterations, time.perf_counter() - t0,
                               "enumeration" if enumerate_all else "CCG", len(master.sets))
        sets = sorted({*sets, worst})
    return f"k = {k}: column-and-constraint generation did not converge in {MAX_ITERATIONS} iterations"


def worstcase(loaded: LoadedScenario, settings: WorstCaseSettings | None = None, *, solver: str | None = None,
              method: str = "auto", prune: bool = True, progress: Progress | None = None) -> WorstCaseResult:
    """Solve k = 0, 1, …, ``settings.k``: the deterministic plan, each min–max plan, their worst restriction
    sets, the damage of each single move and the regret table."""
    settings = settings or loaded.scenario.worstcase
    if method not in ("auto", "enumerate", "ccg"):
        raise InputError(f"method '{method}': expected auto, enumerate or ccg")
    base = build_model(loaded)
    country = settings.country or loaded.scenario.dependence.country
    result = WorstCaseResult(loaded.name, country, "optimal", settings=settings, names=base.mineral_names(),
                             inputs=provenance(loaded), country_name=Names(base.dataset.folder).country(country))
    moves = allowed_moves(base, settings)
    result.moves = moves.moves
    result.adversary_moves = undominated(moves) if prune else list(moves.moves)
    session = PlanSession(base, make_backend(solver, SolverOptions()))
    t0 = time.perf_counter()
    plan = session.solve()
    add_checks(result.solver_checks, session.checks)
    if not plan.ok:
        result.status, result.message = plan.status.value, plan.message
        return result
    adversary = Adversary(base, moves, solver)
    deterministic = PlanOutcome("deterministic", 0, base, plan.x, plan, plan.x,
                                seconds=time.perf_counter() - t0, method="solve")
    result.deterministic = deterministic
    result.robust[0] = deterministic
    found: list[Restriction] = []
    for k in range(0, settings.k + 1):
        sets = restriction_sets(result.adversary_moves, k)
        worst = adversary.best_response(deterministic.base_x, sets)
        result.deterministic_worst[k] = worst
        result.sets_adding[k] = (adversary.adding, len([s for s in sets if s]))
        if k == 0:
            (deterministic.worst_set, deterministic.worst_damage_usd, deterministic.worst_shortfall_t,
             deterministic.worst_by_mineral) = worst
            result.base = {"unmet_t": worst[2], "unmet_by_mineral": worst[3], "unmet_value_pv_usd": worst[1],
                           **_plain(deterministic), "budget_pv_usd": plan.budget_usd}
            continue
        found.append(worst[0])
        outcome = solve_k(loaded, moves, sets, adversary, k, method=method, start_sets=found, solver=solver,
                          progress=progress, checks=result.solver_checks, budget_usd=plan.budget_usd)
        if isinstance(outcome, str):
            result.status, result.message = "error", outcome
            result.solver_checks["points_rejected"] += adversary.rejected
            return result
        result.robust[k] = outcome
        found += [it["worst_set"] for it in outcome.iterations]
        if progress is not None:
            added = beyond_noise(outcome.worst_damage_usd - result.base["unmet_value_pv_usd"],
                                 outcome.worst_damage_usd)
            progress(f"k = {k}: the worst set adds USD {added:,.0f} of unmet demand to the base plan "
                     f"({outcome.method}, {len(outcome.iterations)} iteration(s), {outcome.seconds:.2f} s)")
    result.move_damage = _move_damage(result, adversary)
    result.regret = _regret(result, adversary)
    result.solver_checks["points_rejected"] += adversary.rejected
    return result


def _plain(outcome: PlanOutcome) -> dict:
    """Cost including unmet demand, exposure and share of supply of a plan with no restriction."""
    plain = outcome.unrestricted()
    return {"cost_with_unmet_pv_usd": plain["cost_pv_usd"] + plain["unmet_value_pv_usd"],
            "exposure_pct": plain["exposure_pct"], "share_of_supply_pct": plain["share_of_supply_pct"]}


def _move_damage(result: WorstCaseResult, adversary: Adversary) -> pd.DataFrame:
    """Each allowed move alone against the deterministic plan and the k = 1 plan: which restrictions hurt most."""
    plans = [("deterministic", result.deterministic)]
    if 1 in result.robust and result.robust[1] is not result.deterministic:
        plans.append(("robust k=1", result.robust[1]))
    rows = {m: {"mineral": m.mineral, "start_year": m.start, "by": m.by,
                "move": m.describe(result.country_name, result.names)} for m in result.moves}
    for label, outcome in plans:
        adversary.fix(outcome.base_x)
        base_value, base_tonnes = adversary.damage(())
        for m in result.moves:
            value, tonnes = adversary.damage((m,))
            rows[m][f"{label} unmet_value_usd"] = value
            rows[m][f"{label} unmet_t"] = tonnes
            rows[m][f"{label} added_unmet_value_usd"] = beyond_noise(value - base_value, value)
            rows[m][f"{label} added_unmet_t"] = added_tonnes(tonnes, base_tonnes)
    table = pd.DataFrame(list(rows.values()))
    if table.empty:
        return table
    first = "deterministic added_unmet_value_usd"
    return table.sort_values([first, "mineral", "start_year", "by"], ascending=[False, True, True, True],
                             kind="stable").reset_index(drop=True)


REGRET_COLUMNS = ["plan", "restriction", "moves", "unmet_added_t", "unmet_value_added_usd", "best_possible_added_usd",
                  "regret_usd", "unmet_value_usd", "unmet_t", "best_possible_usd"]
"""``regret.csv``'s columns (k = 0 finds no restriction set, nor does a k at which no set adds unmet demand: no
rows). ``unmet_added_t``, ``unmet_value_added_usd`` and ``best_possible_added_usd`` (the least any plan could add
had the set been known in advance): against the base plan with no restriction (``WorstCaseResult.base``);
``regret_usd``: the plan's against the best possible; then totals under the set, including the base's own unmet
demand: ``unmet_value_usd``, ``unmet_t``, ``best_possible_usd``."""


def _regret(result: WorstCaseResult, adversary: Adversary) -> pd.DataFrame:
    """Each plan against each worst restriction set found: damage, and regret against the best plan for that
    set had it been known (first stage free, least unmet demand)."""
    sets: list[Restriction] = []
    for k, (worst, *_) in sorted(result.deterministic_worst.items()):
        if k and worst and worst not in sets:
            sets.append(worst)
    for k, outcome in sorted(result.robust.items()):
        if k and outcome.worst_set and outcome.worst_set not in sets:
            sets.append(outcome.worst_set)
    adversary.fix(None)
    best = {s: adversary.damage(s)[0] for s in sets}
    rows = []
    plans = [("deterministic", result.deterministic)] + [
        (f"robust k={k}", o) for k, o in sorted(result.robust.items()) if k]
    for label, outcome in plans:
        adversary.fix(outcome.base_x)
        for s in sets:
            value, tonnes = adversary.damage(s)
            base_value, base_t = result.base["unmet_value_pv_usd"], result.base["unmet_t"]
            rows.append({"plan": label, "restriction": describe_set(s, result.country_name, result.names),
                         "moves": len(s), "unmet_added_t": added_tonnes(tonnes, base_t),
                         "unmet_value_added_usd": beyond_noise(value - base_value, value),
                         "best_possible_added_usd": beyond_noise(best[s] - base_value, best[s]),
                         "unmet_value_usd": value, "unmet_t": tonnes,
                         "best_possible_usd": best[s], "regret_usd": beyond_noise(value - best[s], best[s])})
    return pd.DataFrame(rows, columns=REGRET_COLUMNS)


__all__ = ["Move", "MoveSet", "WorstCaseResult", "added_by_mineral", "added_tonnes", "allowed_moves",
           "restriction_sets", "undominated", "worstcase"]
