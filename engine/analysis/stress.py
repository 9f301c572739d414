"""Stress tests: what breaks, how badly, and which deals would have hedged it.

Shocks: N−1 by location (each supplier country, per mineral and for all minerals at once), N−1 by owner (plants
controlled by a country, wherever they are), and the scenario's named ``shocks``. For each shock, output of the
sources it hits falls to ``share`` of normal (0 for N−1) and the plan is re-solved warm from the base plan:

- **as planned**: JV builds and stockpile purchases fixed at the base plan (the shock is a surprise), flows and
  stock draws re-optimised through the scenario's hierarchy → shortfall, cost jump, change in dependence, and
  how long the stockpile lasts;
- **with new deals**: builds free, shortfall minimised → the JV and licence options that would have covered it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.display import tonnes
from engine.formulation import build_model
from engine.formulation.model import FIRST_STAGE, Model
from engine.formulation.select import country_mask
from engine.hierarchy import Plan, PlanSession
from engine.results import attributed_by_group, build_table, dependence_metric, stockpile_table, total_cost_pv
from engine.scenario import LoadedScenario
from engine.schema import Years
from engine.solvers import SolverOptions, make_backend


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
        present = [b for b in FIRST_STAGE if b in self.lp.variables]
        self.first = np.concatenate([self.model.block_cols(b) for b in present]) if present else np.empty(0, int)

    def _fix_first_stage(self, fixed: bool) -> None:
        if not self.first.size:
            return
        integer = self.lp.integer_cols
        if fixed:
            values = self.base.x[self.first]
            values = np.where(np.isin(self.first, integer), np.round(values), values)
            self.backend.set_col_bounds(self.first, values, values)
            if integer.size:
                self.backend.set_integrality(integer, False)
        else:
            self.backend.set_col_bounds(self.first, self.lp.col_lower[self.first], self.lp.col_upper[self.first])
            if integer.size:
                self.backend.set_integrality(integer, True)

    def _shock_bounds(self, shock: ShockSpec | None) -> None:
        for block, frame in self.model.delivery_frames():
            cols = self.model.block_cols(block)
            upper = self.lp.variables[block].upper
            if shock is None:
                self.backend.set_col_bounds(cols, self.lp.col_lower[cols], upper)
                continue
            mask = _hit(self.model, block, frame, shock)
            if mask.any():
                self.backend.set_col_bounds(cols[mask], self.lp.col_lower[cols[mask]], upper[mask] * shock.share)

    def run(self, shock: ShockSpec) -> dict:
        model = self.model
        self._shock_bounds(shock)
        hedged = None
        try:
            self._fix_first_stage(True)
            planned = self.session.solve(minimise="cost" if self.base.dependence_level is None else None)
            self._fix_first_stage(False)
            if planned.ok and (planned.shortfall_usd or 0.0) > 0:
                hedged = self.session.solve(minimise="cost")  # builds free: least shortfall, then least cost
        finally:
            self._fix_first_stage(False)
            self._shock_bounds(None)
        row = {"shock": shock.name, "kind": shock.kind, "country": shock.country,
               "minerals": ",".join(shock.minerals) if shock.minerals else "all", "share": shock.share,
               "status": planned.status.value}
        if not planned.ok:
            return row
        x = planned.x
        dep = attributed_by_group(model, x)
        short = dep["shortfall_t"].to_numpy()
        price = model.demand["unmet_value_usd_per_t"].to_numpy()
        row.update({
            "shortfall_t": float(short.sum()),
            "shortfall_value_usd": float((short * price).sum()),
            "cost_jump_usd": total_cost_pv(model, x) - self.base_cost,
            "dependence_change_pp": dependence_metric(model, dep) - self.base_dependence,
            "stock_lasts_years": _stock_lasts(model, x),
        })
        if hedged is not None and hedged.ok:
            short_minerals = set(dep.loc[dep["shortfall_t"] > 1e-6, "mineral"])
            new = build_table(model, hedged.x)
            new = new[new["mineral"].isin(short_minerals)]
            before = self.base_builds
            extra = new.groupby("option_id")["capacity_tpy"].sum().sub(before, fill_value=0.0)
            extra = extra[extra > 1e-3].sort_values(ascending=False)
            row["covering_options"] = "; ".join(f"{k} {tonnes(v)} t/yr" for k, v in extra.head(4).items())
            row["shortfall_with_new_deals_t"] = float(np.clip(hedged.x[model.block_cols("short")], 0, None).sum())
        else:
            row["covering_options"] = ""
            row["shortfall_with_new_deals_t"] = row["shortfall_t"]
        return row

    def prepare(self) -> None:
        model, x = self.model, self.base.x
        dep = attributed_by_group(model, x)
        self.base_cost = total_cost_pv(model, x)
        self.base_dependence = dependence_metric(model, dep)
        builds = build_table(model, x)
        self.base_builds = builds.groupby("option_id")["capacity_tpy"].sum()


def _stock_lasts(model: Model, x: np.ndarray) -> float | None:
    """Years of draws before the stockpile runs dry (None without a stockpile)."""
    if model.stockpile.empty:
        return None
    sp = stockpile_table(model, x)
    sp = sp[sp["scen"] == sp["scen"].iloc[0]]
    lasted = []
    for _, part in sp.groupby("mineral"):
        drawing = part[part["draw_t"] > 1e-6]
        if drawing.empty:
            continue
        empty = drawing[drawing["stock_t"] <= 1e-6]
        last = int(empty["year"].iloc[0]) if len(empty) else int(part["year"].max())
        lasted.append(last - int(drawing["year"].iloc[0]) + 1)
    return float(min(lasted)) if lasted else None


def stress(loaded: LoadedScenario, *, solver: str | None = None, include_n_minus_one: bool = True,
           progress=None) -> StressResult:
    """Run every shock against the scenario's base plan, warm, and rank them."""
    model = build_model(loaded)
    session = PlanSession(model, make_backend(solver, SolverOptions()))
    base = session.solve()
    names = model.mineral_names()
    if not base.ok:
        return StressResult(loaded.name, {}, pd.DataFrame(), base.status.value, base.message, names)
    stresser = _Stresser(session, base)
    stresser.prepare()
    shocks = (n_minus_one(model) if include_n_minus_one else []) + named_shocks(loaded)
    rows = []
    for i, shock in enumerate(shocks):
        rows.append(stresser.run(shock))
        if progress is not None:
            progress(i + 1, len(shocks))
    table = pd.DataFrame(rows)
    if len(table) and "shortfall_value_usd" in table:
        table = table.sort_values(["shortfall_value_usd", "cost_jump_usd", "shock"],
                                  ascending=[False, False, True], na_position="last").reset_index(drop=True)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
    base_info = {"cost_pv_usd": stresser.base_cost, "dependence_pct": stresser.base_dependence,
                 "shocks": len(shocks)}
    return StressResult(loaded.name, base_info, table, names=names)

