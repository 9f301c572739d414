"""One assumption at a time: move it to its low and its high value, re-solve, and rank by what moves the plan.

The assumption families, each parameter moved alone with everything else at its central value:

- ``exportable share`` per location country: every block located there, times (1 - d) and (1 + d), capped at 1
  (the scenario's own ``data.exportable_share`` overrides for that country or its blocks move the same way);
- ``delivered cost`` per location country: the unit cost of every block located there, times (1 - d) and (1 + d);
- ``demand`` per mineral: ``data.demand_scale`` times (1 - d) and (1 + d);
- ``JV capex`` per deal mode: ``capex_usd_per_tpy`` at its ``_low`` and ``_high`` columns (the central value where
  a bound is blank; d either side where the table has no range columns);
- ``lead times`` of every JV option at ``lead_time_years_low`` and ``_high`` (the central value where blank);
- ``unmet demand value``: the multiple of the reference price a tonne of unmet demand is worth
  (``UNMET_DEMAND_PRICE_MULTIPLE``, 10) times (1 - d) and (1 + d): every mineral's reference price is scaled, which
  is the same thing (the price enters the model only through that value, and the LP's money unit, a scaling).

``d`` is 20% unless given. Each variant is solved through the scenario's whole hierarchy. Variants whose constraint
matrix equals the base model's (bounds, costs and right-hand sides change) are pushed into the loaded solver, as
``sweep`` does, with the basis cleared so every result is the one a fresh solve gives; variants that change the
matrix (lead times move the first year a build can deliver) are rebuilt and solved on a new solver object.

Each variant reports the change against the base plan of the scenario's dependence metric (percentage points) and
of its cost with unmet demand at its value (USD, present value: ``engine.outputs.results.cost_with_unmet_pv``).
The table is ranked by the swing of dependence (|high - low|), then by the swing of cost.

**One budget.** By default (``budget="hold"``) every variant is planned at the base plan's budget in USD
(``engine.analysis.replan.replan``: minimise exposure s.t. C <= B_base), so a variant moves the plan and not the
money it may spend: at one budget in USD, dearer JV capex can only shrink the set of affordable plans, so it never
lowers the least exposure. When even the variant's least-cost plan exceeds B_base (``over_budget``) the variant is
planned at least cost. ``budget="own"`` gives each variant the scenario's own budget rule (a premium over its own
least cost), so a variant that raises least cost raises its budget with it: the table then mixes bases, and says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.analysis.replan import over_budget, replan
from engine.formulation import build_model
from engine.formulation.demand import UNMET_DEMAND_PRICE_MULTIPLE
from engine.formulation.model import Model
from engine.inputs.dataset import Dataset
from engine.inputs.scenario import LoadedScenario, with_overrides
from engine.inputs.tables import JV_MODES
from engine.outputs.results import attributed_by_group, cost_with_unmet_pv, dependence_metric
from engine.plan.hierarchy import PlanSession, add_checks
from engine.solvers import SolverOptions, make_backend
from engine.solvers.base import beyond_noise

DEFAULT_STEP = 0.2
BUDGETS = ("hold", "own")
"""How variants are budgeted: at the base plan's budget in USD (the default), or each at its own budget rule."""
FAMILIES = ("exportable share", "delivered cost", "demand", "JV capex", "lead times", "unmet demand value")


@dataclass(frozen=True)
class Variant:
    """One assumption moved to one end of its range."""

    family: str
    parameter: str  # the country, mineral or deal mode ('all' for lead times)
    end: str  # 'low' or 'high'
    setting: str  # what the assumption was set to, in words
    loaded: LoadedScenario


@dataclass
class SensitivityResult:
    """The base plan's metrics and one row per variant, ranked."""

    loaded: LoadedScenario
    status: str
    base_exposure_pct: float = float("nan")
    base_cost_with_unmet_pv_usd: float = float("nan")
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    rebuilt: int = 0  # variants solved on a rebuilt model (their matrix differs)
    budget: str = "hold"  # BUDGETS: the base plan's budget in USD held for every variant, or each its own
    budget_pv_usd: float | None = None  # the base plan's budget (None: the scenario minimises cost)
    message: str = ""
    solver_checks: dict[str, int] = field(default_factory=dict)  # PlanSession.checks over every solve


def _with_tables(loaded: LoadedScenario, **tables: pd.DataFrame) -> LoadedScenario:
    dataset = Dataset(folder=loaded.dataset.folder, tables={**loaded.dataset.tables, **tables},
                      digest=loaded.dataset.digest)
    return dataclasses.replace(loaded, dataset=dataset)


def _factor_text(factor: float) -> str:
    return f"x{factor:.2f}"


def _exportable(loaded: LoadedScenario, country: str, factor: float) -> LoadedScenario:
    cap = loaded.dataset.capacity.copy()
    here = cap["location"] == country
    cap.loc[here, "exportable_share"] = np.minimum(1.0, cap.loc[here, "exportable_share"].astype(float) * factor)
    ids = set(cap.loc[here, "source_id"])
    data = loaded.scenario.data
    overrides = {k: (min(1.0, v * factor) if k == country or k in ids else v)
                 for k, v in data.exportable_share.items()}
    moved = _with_tables(loaded, capacity=cap)
    return with_overrides(moved, data=data.model_copy(update={"exportable_share": overrides}))


def _delivered_cost(loaded: LoadedScenario, country: str, factor: float) -> LoadedScenario:
    cap = loaded.dataset.capacity.copy()
    here = cap["location"] == country
    cap.loc[here, "unit_cost_usd_per_t"] = cap.loc[here, "unit_cost_usd_per_t"].astype(float) * factor
    return _with_tables(loaded, capacity=cap)


def _demand(loaded: LoadedScenario, mineral: str, factor: float) -> LoadedScenario:
    data = loaded.scenario.data
    scale = {**data.demand_scale, mineral: data.demand_scale.get(mineral, 1.0) * factor}
    return with_overrides(loaded, data=data.model_copy(update={"demand_scale": scale}))


def _ranged(jv: pd.DataFrame, column: str, end: str, rows: pd.Series, step: float) -> pd.Series:
    """The column's ``_low``/``_high`` values on ``rows`` (central where blank; ``step`` either side where the
    table has no range column)."""
    central = jv[column].astype(float)
    bound = f"{column}_{end}"
    if bound in jv.columns:
        values = jv[bound].astype(float).fillna(central)
    else:
        values = central * (1.0 - step if end == "low" else 1.0 + step)
    return central.where(~rows, values)


def _capex(loaded: LoadedScenario, mode: str, end: str, step: float) -> LoadedScenario:
    jv = loaded.dataset.jv_options.copy()
    jv["capex_usd_per_tpy"] = _ranged(jv, "capex_usd_per_tpy", end, jv["mode"] == mode, step)
    return _with_tables(loaded, jv_options=jv)


def _lead_times(loaded: LoadedScenario, end: str) -> LoadedScenario:
    jv = loaded.dataset.jv_options.copy()
    every = pd.Series(True, index=jv.index)
    values = _ranged(jv, "lead_time_years", end, every, 0.0)
    jv["lead_time_years"] = values.round().astype(int)
    return _with_tables(loaded, jv_options=jv)


def _unmet_value(loaded: LoadedScenario, factor: float) -> LoadedScenario:
    """Unmet demand worth ``factor`` × ``UNMET_DEMAND_PRICE_MULTIPLE`` × the reference price a tonne: every
    reference price times ``factor``."""
    minerals = loaded.dataset.minerals.copy()
    minerals["reference_price_usd_per_t"] = minerals["reference_price_usd_per_t"].astype(float) * factor
    return _with_tables(loaded, minerals=minerals)


def _multiple_text(factor: float) -> str:
    return f"{factor * UNMET_DEMAND_PRICE_MULTIPLE:g}x the reference price"


def variants(loaded: LoadedScenario, step: float = DEFAULT_STEP,
             families: tuple[str, ...] = FAMILIES) -> list[Variant]:
    """Every variant of the scenario's assumptions, in a fixed order (family, then parameter, then low/high)."""
    s, ds = loaded.scenario, loaded.dataset
    minerals = list(s.minerals) if s.minerals else list(ds.minerals["mineral"])
    cap = ds.capacity[ds.capacity["mineral"].isin(minerals) & (ds.capacity["location"] != s.buyer)]
    countries = sorted(set(cap["location"]))
    jv = ds.jv_options[ds.jv_options["mineral"].isin(minerals)] if len(ds.jv_options) else ds.jv_options
    ends = (("low", 1.0 - step), ("high", 1.0 + step))
    out: list[Variant] = []
    if "exportable share" in families:
        out += [Variant("exportable share", c, e, _factor_text(f), _exportable(loaded, c, f))
                for c in countries for e, f in ends]
    if "delivered cost" in families:
        out += [Variant("delivered cost", c, e, _factor_text(f), _delivered_cost(loaded, c, f))
                for c in countries for e, f in ends]
    if "demand" in families:
        out += [Variant("demand", m, e, _factor_text(f), _demand(loaded, m, f)) for m in minerals for e, f in ends]
    if "JV capex" in families:
        out += [Variant("JV capex", mode, e, f"capex {e}", _capex(loaded, mode, e, step))
                for mode in JV_MODES if (jv["mode"] == mode).any() for e, _ in ends]
    if "lead times" in families and len(jv):
        out += [Variant("lead times", "all", e, f"lead time {e}", _lead_times(loaded, e)) for e, _ in ends]
    if "unmet demand value" in families:
        out += [Variant("unmet demand value", "multiple", e, _multiple_text(f), _unmet_value(loaded, f))
                for e, f in ends]
    return out


def _metrics(model: Model, x: np.ndarray) -> tuple[float, float]:
    return dependence_metric(model, attributed_by_group(model, x)), cost_with_unmet_pv(model, x)


def _change(value: float, base: float, tolerance: float) -> float:
    """``value - base``, 0 within the solver's noise on a figure of their size (``beyond_noise``)."""
    return beyond_noise(value - base, max(abs(value), abs(base)), tolerance)


def sensitivity(loaded: LoadedScenario, *, solver: str | None = None, step: float = DEFAULT_STEP,
                families: tuple[str, ...] = FAMILIES, budget: str = "hold",
                progress: Callable[[int, int], None] | None = None) -> SensitivityResult:
    """Solve the scenario, then every variant of ``variants``; the ranked table of changes against the base.
    ``budget``: ``"hold"`` plans every variant at the base plan's budget in USD; ``"own"`` at its own budget rule."""
    if budget not in BUDGETS:
        raise ValueError(f"budget {budget!r}: expected one of {', '.join(BUDGETS)}")
    base_model = build_model(loaded)
    session = PlanSession(base_model, make_backend(solver, SolverOptions()))
    plan = session.solve()
    result = SensitivityResult(loaded, plan.status.value, budget=budget, budget_pv_usd=plan.budget_usd)
    held = budget == "hold" and plan.budget_usd is not None

    def planned(on: PlanSession):
        return replan(on, plan.budget_usd) if held else on.solve()

    if not plan.ok:
        result.message = plan.message
        return result
    result.base_exposure_pct, result.base_cost_with_unmet_pv_usd = _metrics(base_model, plan.x)
    todo = variants(loaded, step, families)
    rows = []
    checks: dict[str, int] = {}  # the point checks of every solve: variants on a model of their own, then the session's
    for i, variant in enumerate(todo):
        model = build_model(variant.loaded)
        try:
            session.update(model)
            session.backend.reset_basis()
            solved = planned(session)
        except ValueError:  # the matrix changed: solve on a model of its own
            result.rebuilt += 1
            own = PlanSession(model, make_backend(solver, SolverOptions()))
            solved = planned(own)
            add_checks(checks, own.checks)
        row = {"family": variant.family, "parameter": variant.parameter, "end": variant.end,
               "setting": variant.setting, "status": solved.status.value, "over_budget": over_budget(solved),
               "exposure_change_pp": np.nan, "cost_with_unmet_change_pv_usd": np.nan}
        if solved.ok:
            dep, cost = _metrics(model, solved.x)
            tolerance = loaded.scenario.objective.tolerance
            row["exposure_change_pp"] = _change(dep, result.base_exposure_pct, tolerance)
            row["cost_with_unmet_change_pv_usd"] = _change(cost, result.base_cost_with_unmet_pv_usd, tolerance)
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(todo))
    if session.model is not base_model:
        session.update(base_model)  # leave the solver as the base scenario
    result.table = rank(pd.DataFrame(rows))
    add_checks(checks, session.checks)
    result.solver_checks = checks
    return result


def rank(long: pd.DataFrame) -> pd.DataFrame:
    """One row per parameter with its low and high changes, ranked by the swing in dependence, then in cost."""
    if long.empty:
        return pd.DataFrame(columns=["rank", "family", "parameter", "setting_low", "setting_high",
                                     "exposure_low_pp", "exposure_high_pp", "cost_low_pv_usd",
                                     "cost_high_pv_usd", "exposure_swing_pp", "cost_swing_pv_usd", "status",
                                     "over_budget_low", "over_budget_high"])
    keys = ["family", "parameter"]
    low = long[long["end"] == "low"].set_index(keys)
    high = long[long["end"] == "high"].set_index(keys)
    order = list(dict.fromkeys(zip(long["family"], long["parameter"], strict=True)))
    out = pd.DataFrame({
        "family": [k[0] for k in order], "parameter": [k[1] for k in order],
        "setting_low": [low.loc[k, "setting"] for k in order], "setting_high": [high.loc[k, "setting"] for k in order],
        "exposure_low_pp": [low.loc[k, "exposure_change_pp"] for k in order],
        "exposure_high_pp": [high.loc[k, "exposure_change_pp"] for k in order],
        "cost_low_pv_usd": [low.loc[k, "cost_with_unmet_change_pv_usd"] for k in order],
        "cost_high_pv_usd": [high.loc[k, "cost_with_unmet_change_pv_usd"] for k in order],
        "status": [low.loc[k, "status"] if low.loc[k, "status"] != "optimal" else high.loc[k, "status"]
                   for k in order],
        "over_budget_low": [bool(low.loc[k].get("over_budget", False)) for k in order],
        "over_budget_high": [bool(high.loc[k].get("over_budget", False)) for k in order],
    })
    out["exposure_swing_pp"] = (out["exposure_high_pp"] - out["exposure_low_pp"]).abs()
    out["cost_swing_pv_usd"] = (out["cost_high_pv_usd"] - out["cost_low_pv_usd"]).abs()
    position = np.arange(len(out))
    ranked = np.lexsort([position, -out["cost_swing_pv_usd"].round(2).fillna(-1).to_numpy(),
                         -out["exposure_swing_pp"].round(9).fillna(-1).to_numpy()])
    out = out.take(ranked).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


__all__ = ["BUDGETS", "DEFAULT_STEP", "FAMILIES", "SensitivityResult", "Variant", "rank", "sensitivity", "variants"]
