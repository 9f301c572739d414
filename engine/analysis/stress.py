"""Stress tests: what breaks, how badly, and which deals would have hedged it.

Shocks: N−1 by location (each supplier country, per mineral and for all minerals at once), N−1 by owner (plants
controlled by a country, wherever they are), and the scenario's named ``shocks``. For each shock, output of the
sources it hits falls to ``share`` of normal (0 for N−1) and the plan is re-solved warm from the base plan:

- **as planned**: JV builds and stockpile purchases fixed at the base plan (the shock is a surprise), flows and
  stock draws re-optimised through the scenario's hierarchy → against the base plan re-planned with nothing
  shocked: the jump in cost including unmet demand at its value, the unmet tonnes added, the changes in exposure
  and share of supply, and how long the stockpile lasts;
- **with new deals**: builds free, shortfall minimised → the JV and licence options that would have covered it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.analysis.replan import over_budget, replan
from engine.figures.labels import Names
from engine.formulation import build_model
from engine.formulation.model import FIRST_STAGE, Model
from engine.formulation.select import country_mask
from engine.inputs.scenario import LoadedScenario
from engine.inputs.schema import Years
from engine.outputs.display import tonnes
from engine.outputs.results import (
    EPS,
    attributed_by_group,
    build_table,
    clean,
    expected_total,
    overall_measures,
    total_cost_pv,
    unmet_value,
)
from engine.outputs.summary import UNMET_DEMAND_VALUE, provenance
from engine.plan.hierarchy import Plan, PlanSession
from engine.solvers import SolverOptions, make_backend
from engine.solvers.base import Solution, beyond_noise


@dataclass(frozen=True)
class ShockSpec:
    """One shock: sources located in / owned by ``country`` produce ``share`` of normal."""

    name: str
    kind: str  # "N-1 location", "N-1 owner", "named"
    country: str
    by: str
    minerals: tuple[str, ...] | None
    years: Years = field(default_factory=Years)
    share: float = 0.0
    owner_threshold: float = 0.5


@dataclass
class StressResult:
    scenario: str
    base: dict
    table: pd.DataFrame
    status: str = "optimal"
    message: str = ""
    names: dict[str, str] = field(default_factory=dict)
    solver_checks: dict[str, int] = field(default_factory=dict)  # PlanSession.checks over every shock
    inputs: dict[str, str] = field(default_factory=dict)  # outputs.summary.provenance of the scenario


def n_minus_one(model: Model) -> list[ShockSpec]:
    """Every supplier country by location and by owner, per mineral and for all minerals."""
    countries = model.dataset.countries
    aggregates = set(countries.loc[countries["region"] == "World", "iso3"])
    buyer = model.scenario.buyer
    sup = model.supply
    shocks: list[ShockSpec] = []
    located = sup[~sup["location"].isin(aggregates | {buyer})]
    for country in sorted(located["location"].unique()):
        minerals = sorted(set(located.loc[located["location"] == country, "mineral"]), key=model.minerals.index)
        shocks += [ShockSpec(f"{country} cuts {m} (location)", "N-1 location", country, "location", (m,))
                   for m in minerals]
        if len(minerals) > 1:
            shocks.append(ShockSpec(f"{country} cuts all (location)", "N-1 location", country, "location", None))
    owned = model.equity[model.equity["equity_share"] >= 0.5 - 1e-12]
    owned = owned.merge(sup[["id", "location", "mineral"]].drop_duplicates(), left_on="source_id", right_on="id")
    abroad = owned[(owned["owner"] != owned["location"]) & ~owned["owner"].isin(aggregates | {buyer})]
    for country in sorted(abroad["owner"].unique()):
        minerals = sorted(set(abroad.loc[abroad["owner"] == country, "mineral"]), key=model.minerals.index)
        shocks += [ShockSpec(f"{country}-owned plants cut {m}", "N-1 owner", country, "owner", (m,))
                   for m in minerals]
    return shocks


def named_shocks(loaded: LoadedScenario) -> list[ShockSpec]:
    return [ShockSpec(s.name, "named", s.country, s.by, tuple(s.minerals) if s.minerals else None, s.years,
                      s.share, s.owner_threshold) for s in loaded.scenario.shocks]


def _hit(model: Model, block: str, frame: pd.DataFrame, shock: ShockSpec) -> np.ndarray:
    mask = country_mask(frame, model.equity, [shock.country], shock.by, shock.owner_threshold)
    if shock.minerals is not None:
        mask = mask & frame["mineral"].isin(shock.minerals).to_numpy()
    return mask & frame["year"].isin(shock.years.select(model.years)).to_numpy()


class _Stresser:
    def __init__(self, session: PlanSession, base: Plan) -> None:
        self.session, self.base = session, base
        self.model = session.model
        self.lp = self.model.lp
        self.backend = session.backend
        self.names = Names(self.model.dataset.folder)
        present = [b for b in FIRST_STAGE if b in self.lp.variables]
        self.first = np.concatenate([self.model.block_cols(b) for b in present]) if present else np.empty(0, int)
        values = base.x[self.first]
        self.first_values = np.where(np.isin(self.first, self.lp.integer_cols), np.round(values), values)

    def _first_stage(self, mode: str) -> None:
        """'fixed': at the base plan (integers relaxed, they are fixed); 'at_least': the base plan's builds kept,
        more allowed; 'free': the model's bounds."""
        if not self.first.size:
            return
        integer = self.lp.integer_cols
        upper = self.lp.col_upper[self.first]
        if mode == "fixed":
            self.backend.set_col_bounds(self.first, self.first_values, self.first_values)
        elif mode == "at_least":
            self.backend.set_col_bounds(self.first, self.first_values, np.maximum(upper, self.first_values))
        else:
            self.backend.set_col_bounds(self.first, self.lp.col_lower[self.first], upper)
        if integer.size:
            self.backend.set_integrality(integer, mode != "fixed")

    def _shock_bounds(self, shock: ShockSpec | None) -> bool:
        """Apply the shock's bounds (None: restore); True when it changed any bound."""
        changed = False
        for block, frame in self.model.delivery_frames():
            cols = self.model.block_cols(block)
            upper = self.lp.variables[block].upper
            if shock is None:
                self.backend.set_col_bounds(cols, self.lp.col_lower[cols], upper)
                continue
            mask = _hit(self.model, block, frame, shock)
            mask &= upper * shock.share < upper  # a share of 1 (or a source with no capacity) changes nothing
            if mask.any():
                changed = True
                self.backend.set_col_bounds(cols[mask], self.lp.col_lower[cols[mask]], upper[mask] * shock.share)
        return changed

    def _planned(self) -> Plan:
        """The base plan's builds and stockpile purchases fixed, flows re-planned under its objective and budget."""
        self._first_stage("fixed")
        try:
            return replan(self.session, self.base.budget_usd)
        finally:
            self._first_stage("free")

    def _metrics(self, x: np.ndarray) -> dict:
        model = self.model
        dep = attributed_by_group(model, x)
        unmet = unmet_value(model, x)
        cost = total_cost_pv(model, x)
        unmet_pv = expected_total(model, unmet, "value_pv_usd")
        return {"dep": dep, "shortfall_t": float(unmet["shortfall_t"].sum()), "unmet_pv_usd": unmet_pv,
                "cost_pv_usd": cost, "cost_with_unmet_pv_usd": cost + unmet_pv, **overall_measures(model, dep)}

    def prepare(self) -> None:
        """Evaluate the base plan exactly as each shock is: builds fixed, flows re-planned, nothing shocked."""
        evaluated = self._planned()
        if not evaluated.ok:
            raise _BaseNotReproduced(evaluated)
        self.base_x = evaluated.x
        self.base_metrics = self._metrics(evaluated.x)
        self.base_builds = build_table(self.model, self.base.x).groupby(["mineral", "option_id"])["capacity_tpy"].sum()
        self.stock = _StockDraws(self.model)
        self.base_by_mineral = self.base_metrics["dep"].groupby("mineral")["shortfall_t"].sum()
        self.base_cost = self.base_metrics["cost_pv_usd"]
        self.base_dependence = self.base_metrics["exposure_pct"]

    def run(self, shock: ShockSpec) -> dict:
        model = self.model
        row = {"shock": shock.name, "kind": shock.kind, "country": shock.country,
               "minerals": ",".join(shock.minerals) if shock.minerals else "all", "share": shock.share}
        hedged, over = None, False
        try:
            if self._shock_bounds(shock):
                planned = self._planned()
                x, over = planned.x, over_budget(planned)
                if planned.ok and (planned.shortfall_usd or 0.0) > 0:
                    hedged = self._hedge()
                status = planned.status.value
            else:  # nothing changes: the shocked re-plan is the base evaluation itself
                x, status = self.base_x, "optimal"
        finally:
            self._shock_bounds(None)
        row["status"] = status
        row["over_budget"] = over  # even the cheapest re-plan exceeds the base budget: the re-plan is least cost
        if status != "optimal":
            return row
        now, base = self._metrics(x), self.base_metrics
        tolerance = model.scenario.objective.tolerance
        row.update({
            "cost_with_unmet_jump_usd": beyond_noise(now["cost_with_unmet_pv_usd"] - base["cost_with_unmet_pv_usd"],
                                                     base["cost_with_unmet_pv_usd"], tolerance),
            "unmet_added_t": _added(now["shortfall_t"], base["shortfall_t"]),
            "unmet_value_added_pv_usd": beyond_noise(now["unmet_pv_usd"] - base["unmet_pv_usd"],
                                                     base["cost_with_unmet_pv_usd"], tolerance),
            "cost_jump_usd": beyond_noise(now["cost_pv_usd"] - base["cost_pv_usd"], base["cost_pv_usd"], tolerance),
            "exposure_change_pp": now["exposure_pct"] - base["exposure_pct"],
            "share_of_supply_change_pp": now["share_of_supply_pct"] - base["share_of_supply_pct"],
            "stock_lasts_years": self.stock.lasts(x),
        })
        added = now["dep"].groupby("mineral")["shortfall_t"].sum().sub(self.base_by_mineral, fill_value=0.0)
        added = added[added.abs() >= EPS]
        shocked = set(shock.minerals) if shock.minerals is not None else set(model.minerals)
        row["unmet_added_shocked_t"] = _added(float(added[added.index.isin(shocked)].sum()), 0.0)
        row["unmet_added_by_mineral"] = "; ".join(
            f"{self.names.mineral(m)} {'+' if added[m] > 0 else '-'}{tonnes(abs(float(added[m])))} t"
            for m in model.minerals if m in added.index)
        row["covering_options"], row["unmet_added_with_hedges_t"] = "", row["unmet_added_t"]
        if hedged is not None and hedged.ok:
            row["covering_options"] = self._covering(now["dep"], hedged.x)
            row["unmet_added_with_hedges_t"] = _added(float(unmet_value(model, hedged.x)["shortfall_t"].sum()),
                                                      base["shortfall_t"])
        return row

    def _hedge(self) -> Solution | None:
        """The least unmet demand with the base plan's deals and stockpile purchases kept and more allowed, then
        the least spent on hedges to reach it (capex of the deals and stockpile holding; flows free), so that every
        deal or purchase added is one that removes unmet demand."""
        session, model = self.session, self.model
        hedges = np.zeros(self.lp.n_cols)
        for block in ("build", "stock_level"):
            if block in self.lp.variables:
                cols = model.block_cols(block)
                hedges[cols] = session.objectives["cost"][cols]
        self._first_stage("at_least")
        session.release_levels()
        try:
            self.backend.set_objective(session.objectives["shortfall"])
            least = session.solve_stage(duals=False)
            if not least.ok:
                return None
            session.fix("fix_shortfall", session.level("shortfall", least))
            self.backend.set_objective(hedges)
            cheapest = session.solve_stage(duals=False)
            return cheapest if cheapest.ok else least
        finally:
            session.release_levels()
            self._first_stage("free")

    def _covering(self, dep: pd.DataFrame, hedged_x: np.ndarray) -> str:
        """Per mineral whose unmet demand the hedges reduce: the tonnes removed and the deals and stockpile
        purchases added for it."""
        model = self.model
        before = dep.groupby("mineral")["shortfall_t"].sum()
        after = attributed_by_group(model, hedged_x).groupby("mineral")["shortfall_t"].sum()
        removed = before.sub(after, fill_value=0.0)
        extra = build_table(model, hedged_x).groupby(["mineral", "option_id"])["capacity_tpy"].sum().sub(
            self.base_builds, fill_value=0.0)
        stock = pd.Series(dtype=float)
        if "stock_put" in self.lp.variables:
            cols = model.block_cols("stock_put")
            minerals = self.lp.variables["stock_put"].keys["mineral"].to_numpy()
            stock = pd.Series(hedged_x[cols] - self.base.x[cols]).groupby(minerals).sum()
        parts = []
        for mineral in model.minerals:
            if removed.get(mineral, 0.0) <= 1e-6:
                continue
            items = []
            if mineral in extra.index.get_level_values(0):
                deals = extra.loc[mineral]
                items += [f"{self.names.option(k)} +{tonnes(v)} t/yr"
                          for k, v in deals[deals > 1e-3].sort_values(ascending=False).head(3).items()]
            if stock.get(mineral, 0.0) > 1e-6:
                items.append(f"stockpile +{tonnes(float(stock[mineral]))} t")
            if items:
                parts.append(f"{self.names.mineral(mineral)} -{tonnes(float(removed[mineral]))} t unmet: "
                             + ", ".join(items))
        return "; ".join(parts)



STRESS_COLUMNS = ["rank", "shock", "kind", "country", "minerals", "share", "status", "over_budget",
                  "cost_with_unmet_jump_usd", "unmet_added_t", "unmet_added_shocked_t", "unmet_added_by_mineral",
                  "unmet_value_added_pv_usd", "cost_jump_usd", "exposure_change_pp", "share_of_supply_change_pp",
                  "stock_lasts_years", "covering_options", "unmet_added_with_hedges_t"]
"""``stress.csv``'s columns (a run of no shock has them too). Every figure is a change against the base plan
re-planned with nothing shocked: the jump in cost including unmet demand at its value (the headline; its parts the
value of the unmet demand added and the jump in the cost of supply), the unmet tonnes added (with and without the
hedges), in the minerals the shock hits (``unmet_added_shocked_t``) and by mineral in words
(``unmet_added_by_mineral``), the changes in exposure and share of supply. ``over_budget``: the base plan's budget
(held in USD, on cost
including unmet demand) cannot be met under the shock, even by the cheapest re-plan, so the re-plan is least cost
(it spends nothing on independence: exposure may rise)."""


def _added(now_t: float, base_t: float) -> float:
    """Tonnes of unmet demand a shock adds to the base plan's (0 within a gram: ``results.EPS``)."""
    added = now_t - base_t
    return 0.0 if abs(added) < EPS else added


class _BaseNotReproduced(Exception):
    def __init__(self, plan: Plan) -> None:
        super().__init__(plan.message)
        self.plan = plan


class _StockDraws:
    """How long the stockpile lasts under a plan, from its columns; what does not depend on the plan is found once:
    the first scenario's draw and level columns per mineral (sorted), in year order."""

    def __init__(self, model: Model) -> None:
        sp = model.stockpile
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if sp.empty:
            return
        first = np.flatnonzero((sp["scen"] == sp["scen"].iloc[0]).to_numpy())
        minerals = sp["mineral"].to_numpy()[first]
        draw, level = model.block_cols("stock_draw")[first], model.block_cols("stock_level")[first]
        years = sp["year"].to_numpy()[first]
        for mineral in sorted(set(minerals)):
            mine = np.flatnonzero(minerals == mineral)
            self.parts.append((draw[mine], level[mine], years[mine]))

    def lasts(self, x: np.ndarray) -> float | None:
        """Years of draws before the stockpile runs dry (None without a stockpile): per mineral, from its first year
        of draws to the first of those years that ends empty (or its last year); the shortest."""
        if not self.parts:
            return None
        lasted = []
        for draw_cols, level_cols, years in self.parts:
            drawing = clean(x[draw_cols]) > 1e-6
            if not drawing.any():
                continue
            empty = drawing & (clean(x[level_cols]) <= 1e-6)
            last = int(years[empty][0]) if empty.any() else int(years.max())
            lasted.append(last - int(years[drawing][0]) + 1)
        return float(min(lasted)) if lasted else None


def stress(loaded: LoadedScenario, *, solver: str | None = None, include_n_minus_one: bool = True,
           progress=None) -> StressResult:
    """Run every shock against the scenario's base plan, warm, and rank them."""
    model = build_model(loaded)
    session = PlanSession(model, make_backend(solver, SolverOptions()))
    base = session.solve()
    names, inputs = model.mineral_names(), provenance(loaded)
    if not base.ok:
        return StressResult(loaded.name, {}, pd.DataFrame(), base.status.value, base.message, names,
                            inputs=inputs)
    stresser = _Stresser(session, base)
    try:
        stresser.prepare()
    except _BaseNotReproduced as exc:
        return StressResult(loaded.name, {}, pd.DataFrame(), exc.plan.status.value,
                            f"the base plan re-planned with its builds fixed: {exc.plan.message}", names,
                            inputs=inputs)
    shocks = (n_minus_one(model) if include_n_minus_one else []) + named_shocks(loaded)
    rows = []
    for i, shock in enumerate(shocks):
        rows.append(stresser.run(shock))
        if progress is not None:
            progress(i + 1, len(shocks))
    table = pd.DataFrame(rows)
    if len(table) and "cost_with_unmet_jump_usd" in table:
        # rank by the jump in cost including unmet demand, then the value of the unmet demand added, on values
        # rounded to USD 1,000 (above the solver's tolerance on a plan's cost), then by name, so that shocks of the
        # same effect never swap places on solver noise
        keys = table.assign(_jump=table["cost_with_unmet_jump_usd"].round(-3),
                            _value=table["unmet_value_added_pv_usd"].round(-3))
        table = keys.sort_values(["_jump", "_value", "shock"], ascending=[False, False, True],
                                 na_position="last").drop(columns=["_value", "_jump"]).reset_index(drop=True)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
    m = stresser.base_metrics
    base_info = {"cost_pv_usd": m["cost_pv_usd"], "cost_with_unmet_pv_usd": m["cost_with_unmet_pv_usd"],
                 "exposure_pct": m["exposure_pct"], "share_of_supply_pct": m["share_of_supply_pct"],
                 "aggregate": model.scenario.objective.aggregate, "shortfall_t": m["shortfall_t"],
                 "budget_pv_usd": base.budget_usd,
                 "unmet_valued_at": UNMET_DEMAND_VALUE, "shocks": len(shocks)}
    return StressResult(loaded.name, base_info, table, names=names, solver_checks=dict(session.checks),
                        inputs=inputs)

