"""Why demand goes unmet, in policy words and numbers.

For each mineral-year with shortfall (or every year asked for):

1. **Capacity, policy by policy.** Capacity active that year; what the exportable shares leave for the buyer;
   what each restricting policy (bans, quotas, FEOC exclusions, market access) removes, in scenario order; the JV
   and licence capacity that could be online by then, and the options that would come too late.
2. **Supply after each policy.** The most the buyer can be supplied when the scenario's policies are added one
   at a time (the least value-weighted shortfall of models with policies 1…k), so share rules show their bite too.
3. **Policies behind the shortfall.** Each policy removed in turn and the whole plan re-solved at the plan's budget in
   USD (``engine/plan/impacts.py``): the tonnes of this mineral-year's shortfall its removal meets. The same figures
   as ``policies.csv`` (``unmet_added_t`` by mineral-year), so a policy named here binds there, and the other way
   round; when no single policy's removal meets any of it, the story says so.
4. **Smallest relaxations.** An elastic LP with no shortfall allowed (at a penalty of 1,000 per tonne, so a
   physical shortage is still reported): every restricted delivery may be released and every policy row may be
   violated, at a penalty of one discounted unit per tonne; the released tonnes and violations name the
   smallest way back to meeting demand.
5. **IIS cross-check.** With shortfall forbidden, HiGHS's irreducible infeasible subset lists the rows and bounds
   that cannot hold together (HiGHS backend only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.formulation import build_model
from engine.formulation.model import Model
from engine.inputs.names import Names
from engine.inputs.scenario import LoadedScenario
from engine.outputs.display import tonnes
from engine.outputs.policy_status import base_figures, changes, figures
from engine.plan.hierarchy import PlanSession
from engine.plan.impacts import Impacts
from engine.solvers import SolverOptions, make_backend
from engine.solvers.highs import HighsBackend

SHORTAGE_PENALTY = 1000.0  # per tonne left unmet in the elastic LP: far above any relaxation


@dataclass
class YearStory:
    """The explanation for one mineral-year."""

    mineral: str
    year: int
    demand_t: float
    shortfall_t: float
    capacity_t: float
    exportable_t: float
    removed: list[tuple[str, str, float]] = field(default_factory=list)  # (policy, countries, tonnes)
    eligible_t: float = 0.0
    jv_online_tpy: float = 0.0
    jv_too_late: list[str] = field(default_factory=list)
    supply_after: list[tuple[str, float]] = field(default_factory=list)  # (step, max supply)
    relaxations: list[tuple[str, str, float]] = field(default_factory=list)  # (policy, what, tonnes)
    shortage_t: float = 0.0  # unmet even with every policy relaxed
    least_cost_shortfall_t: float = float("nan")  # unmet in the least-cost plan
    caused_by: list[tuple[str, float]] = field(default_factory=list)  # (policy, tonnes its removal meets here)
    impacts_solved: bool = False  # the removals were solved (the plan was optimal)

    def unmet_by_choice_t(self, shortfall_t: float) -> float:
        """Of ``shortfall_t`` unmet, the tonnes the scenario's policies would let the buyer be supplied (unmet demand
        is a cost at its value; ``objective: {shortfall: first}`` meets them at any cost)."""
        if not self.supply_after or np.isnan(shortfall_t) or np.isnan(self.supply_after[-1][1]):
            return 0.0
        choice = shortfall_t - max(0.0, self.demand_t - self.supply_after[-1][1])
        return choice if choice > 1e-6 else 0.0


@dataclass
class Explanation:
    scenario: str
    status: str
    message: str
    stories: list[YearStory]
    iis: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)


def _with_policies(loaded: LoadedScenario, k: int) -> LoadedScenario:
    s = loaded.scenario
    return LoadedScenario(s.model_copy(update={"policies": s.policies[:k]}), loaded.dataset, loaded.path,
                          loaded.chain, loaded.origins)


def _max_supply(loaded: LoadedScenario, solver: str | None) -> pd.Series | None:
    """Supply per (mineral, year) at minimum value-weighted shortfall (deterministic scenario 0)."""
    model = build_model(loaded)
    backend = make_backend(solver, SolverOptions())
    backend.load(model.lp)
    backend.set_objective(model.lp.objective("shortfall"))
    sol = backend.solve()
    if not sol.ok:
        return None
    d = model.demand
    supplied = d["demand_t"].to_numpy() - sol.x[model.block_cols("short")]
    frame = d.assign(supplied=supplied)
    return frame[frame["scen"] == frame["scen"].iloc[0]].set_index(["mineral", "year"])["supplied"]


def _facility(model: Model, source_id: str) -> str:
    """A source by its facility's name up to its first qualifier ('Chinese primary gallium'), else its id."""
    capacity = model.dataset.capacity
    match = capacity.loc[capacity["source_id"] == source_id, "facility"] if "facility" in capacity else ()
    if len(match) == 0 or pd.isna(match.iloc[0]) or not str(match.iloc[0]).strip():
        return source_id
    return re.split(r" \(|;|,", str(match.iloc[0]))[0].strip()


def _capacity_story(model: Model, mineral: str, year: int, words: Names) -> dict:
    sup = model.supply
    here = (sup["mineral"] == mineral).to_numpy() & (sup["year"] == year).to_numpy() & (sup["scen"] == 0).to_numpy()
    exportable = sup["available_t"].to_numpy() * sup["availability"].to_numpy()
    removed: dict[str, tuple[set, float]] = {}
    for r in model.restrictions:
        if r.empty or r["block"].iloc[0] != "flow":
            continue
        rows = r["row"].to_numpy()
        inside = here[rows]
        if not inside.any():
            continue
        lost = exportable[rows[inside]] * r["removed_share"].to_numpy()[inside]
        name = r["policy"].iloc[0]
        places, total = removed.get(name, (set(), 0.0))
        places |= set(sup["location"].to_numpy()[rows[inside]][lost > 0])
        removed[name] = (places, total + float(lost.sum()))
    eligible = float((exportable * sup["allowed_share"].to_numpy())[here].sum())
    online, too_late = 0.0, []
    opts = model.jv_options
    if len(opts):
        first = np.maximum(opts["earliest_start"], model.years[0]) + opts["lead_time_years"]
        for o, when in zip(opts[opts["mineral"] == mineral].itertuples(index=False),
                           first[opts["mineral"] == mineral], strict=True):
            if when <= year:
                online += float(o.max_size_tpy)
            else:
                too_late.append(f"{words.option(o.option_id)} (up to {tonnes(o.max_size_tpy)} t/yr, online {when} "
                                f"at the earliest: too late)")
    return {
        "capacity_t": float(sup.loc[here, "capacity_t"].sum()),
        "exportable_t": float(exportable[here].sum()),
        "removed": [(n, ", ".join(sorted(words.country(c) for c in p)), t) for n, (p, t) in removed.items()
                    if t > 1e-9],
        "eligible_t": eligible, "jv_online_tpy": online, "jv_too_late": too_late,
    }


def _elastic(model: Model, solver: str | None) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Release restricted deliveries and violate policy rows, at least total tonnes, with no shortfall."""
    lp = model.lp
    a = lp.matrix()
    entries_rows, entries_cols, entries_vals, keys, upper = [], [], [], [], []
    for block, frame in model.delivery_frames():
        cols = model.block_cols(block)
        cap = (frame["max_size_tpy"] if block == "jv_out" else frame["available_t"]).to_numpy() \
            * frame["availability"].to_numpy()
        room = cap * (1.0 - frame["allowed_share"].to_numpy())
        held = np.flatnonzero(room > 1e-9)
        for i in held:
            col_rows, col_vals = a.column(int(cols[i]))
            keys.append({"kind": "release", "policy": frame["restricted_by"].iat[i],
                         "mineral": frame["mineral"].iat[i], "year": int(frame["year"].iat[i]),
                         "where": frame["location"].iat[i], "id": frame["id"].iat[i]})
            upper.append(room[i])
            entries_rows.append(col_rows)
            entries_vals.append(col_vals)
    for block in lp.constraints.values():
        if ":" not in block.name:
            continue
        for local in range(len(block)):
            lo, up = block.lower[local], block.upper[local]
            k = block.keys.iloc[local]
            info = {"kind": "violate", "policy": k.get("policy", block.name), "mineral": k.get("mineral", ""),
                    "year": int(k.get("year", 0)), "where": k.get("country", ""), "id": block.name}
            if np.isfinite(up):
                keys.append(info)
                upper.append(np.inf)
                entries_rows.append(np.array([block.start + local]))
                entries_vals.append(np.array([-1.0]))
            if np.isfinite(lo):
                keys.append(info)
                upper.append(np.inf)
                entries_rows.append(np.array([block.start + local]))
                entries_vals.append(np.array([1.0]))
    if not keys:
        return None
    elastic = lp.add_variables("elastic", pd.DataFrame({"n": np.arange(len(keys))}), 0.0, np.array(upper))
    for j, rows in enumerate(entries_rows):
        entries_cols.append(np.full(len(rows), elastic.start + j))
    lp.add_entries(np.concatenate(entries_rows), np.concatenate(entries_cols), np.concatenate(entries_vals))
    objective = np.zeros(lp.n_cols)
    # a tonne released later weighs less, so relaxations land in the year they are needed, not a year early
    # with the difference stockpiled
    objective[elastic.cols] = model.discount(np.array([k["year"] or model.years[0] for k in keys]))
    objective[model.block_cols("short")] = SHORTAGE_PENALTY
    backend = make_backend(solver, SolverOptions())
    backend.load(lp)
    backend.set_objective(objective)
    sol = backend.solve()
    if not sol.ok:
        return None
    table = pd.DataFrame(keys)
    table["tonnes"] = sol.x[elastic.cols]
    table = table[table["tonnes"] > 1e-6]
    return table, sol.x[model.block_cols("short")]


def _iis(model: Model) -> list[str]:
    """Rows and bounds of HiGHS's irreducible infeasible subset with shortfall forbidden."""
    backend = HighsBackend()
    backend.load(model.lp)
    short = model.block_cols("short")
    backend.set_col_bounds(short, np.zeros(len(short)), np.zeros(len(short)))
    if model.lp.integer_cols.size:
        backend.set_integrality(model.lp.integer_cols, False)
    backend.set_objective(np.zeros(model.lp.n_cols))
    if backend.solve().status.value != "infeasible":
        return []
    _, iis = backend.h.getIis()
    if not iis.valid_:
        return []
    rows, cols = model.lp.row_names(), model.lp.col_names()
    out = [rows[i] for i in backend.order.model_row_index(iis.row_index_) if i < len(rows)]
    out += [f"bound of {cols[j]}" for j in backend.order.model_col_index(iis.col_index_) if j < len(cols)]
    return out


def explain(loaded: LoadedScenario, *, solver: str | None = None, minerals: list[str] | None = None,
            years: list[int] | None = None, progress: Callable[[int, int], None] | None = None) -> Explanation:
    """Solve the scenario and explain every mineral-year with shortfall (or those asked for); ``progress(done,
    total)`` after each policy's supply is solved."""
    model = build_model(loaded)
    session = PlanSession(model, make_backend(solver, SolverOptions()))
    plan = session.solve()
    names = model.mineral_names()
    if plan.ok:
        short = model.demand.assign(short=plan.x[model.block_cols("short")],
                                    least=plan.least_cost.x[model.block_cols("short")])
    else:  # infeasible plan: explain from the least-shortfall point of view of every year asked for
        short = model.demand.assign(short=np.nan, least=np.nan)
    short = short[short["scen"] == short["scen"].iloc[0]]
    wanted = short
    if minerals:
        wanted = wanted[wanted["mineral"].isin(minerals)]
    if years:
        wanted = wanted[wanted["year"].isin(years)]
    if not minerals and not years:
        wanted = wanted[(wanted["short"] > 1e-6) | wanted["short"].isna()]
    explanation = Explanation(loaded.name, plan.status.value, plan.message, [], names=names)
    words = Names(model.dataset.folder)
    if wanted.empty:
        return explanation
    steps = [("no policies", _with_policies(loaded, 0))]
    steps += [(f"+ {p.name}", _with_policies(loaded, k + 1)) for k, p in enumerate(loaded.scenario.policies)]
    supplies = []
    for i, (label, sc) in enumerate(steps):
        supplies.append((label, _max_supply(sc, solver)))
        if progress is not None:
            progress(i + 1, len(steps) + 1)
    caused: dict[tuple[str, int], list[tuple[str, float]]] = {}
    if plan.ok:  # the policies' whole-plan removal impacts, as policies.csv has them
        base = base_figures(model, plan)
        for v in Impacts(session, loaded, plan, solver=session.backend.name).removals():
            if not v.ok:
                continue
            for (m, y), t in changes(model, base, figures(v.model, v.plan, v.cost_usd))["unmet_by_year"].items():
                if t > 0:
                    caused.setdefault((m, int(y)), []).append((v.policy, float(t)))
    elastic = _elastic(build_model(loaded), solver)
    if progress is not None:
        progress(len(steps) + 1, len(steps) + 1)
    for row in wanted.itertuples(index=False):
        story = YearStory(row.mineral, int(row.year), float(row.demand_t),
                          float(row.short) if pd.notna(row.short) else float("nan"),
                          **_capacity_story(model, row.mineral, int(row.year), words),
                          least_cost_shortfall_t=float(row.least) if pd.notna(row.least) else float("nan"))
        story.impacts_solved = plan.ok
        story.caused_by = caused.get((row.mineral, int(row.year)), [])
        for label, supply in supplies:
            if supply is not None:
                story.supply_after.append((label, float(supply.get((row.mineral, int(row.year)), np.nan))))
        if elastic is not None:
            table, shortage = elastic
            mine = table[(table["mineral"] == row.mineral) & (table["year"] == int(row.year))]
            for r in mine.itertuples(index=False):
                what = (f"let {tonnes(r.tonnes)} t through from {words.country(r.where)} "
                        f"({_facility(model, r.id)})" if r.kind == "release"
                        else f"relax by {tonnes(r.tonnes)} t" + (f" for {words.country(r.where)}" if r.where else ""))
                story.relaxations.append((r.policy, what, float(r.tonnes)))
            d = model.demand
            at = np.flatnonzero((d["mineral"] == row.mineral).to_numpy() & (d["year"] == row.year).to_numpy()
                                & (d["scen"] == d["scen"].iloc[0]).to_numpy())
            story.shortage_t = float(shortage[at[0]]) if len(at) else 0.0
        explanation.stories.append(story)
    explanation.iis = _iis(model)
    return explanation


def render(ex: Explanation) -> str:
    """The explanation in planner words."""
    if not ex.stories:
        if ex.status == "optimal":
            return f"Scenario '{ex.scenario}': demand is met in every year; nothing to explain."
        return f"Scenario '{ex.scenario}': {ex.status} ({ex.message}), and no year to explain."
    lines = [f"Scenario '{ex.scenario}': {ex.status}" + (f" ({ex.message})" if ex.message else "")]
    for s in ex.stories:
        name = ex.names.get(s.mineral, s.mineral)
        short = "unknown" if np.isnan(s.shortfall_t) else f"{tonnes(s.shortfall_t)} t"
        lines += ["", f"{name} {s.year}: demand {tonnes(s.demand_t)} t; shortfall {short}."]
        lines.append(f"  capacity refining {name} that year: {tonnes(s.capacity_t)} t; available to the buyer "
                     f"(exportable shares): {tonnes(s.exportable_t)} t")
        if s.caused_by:
            lines.append("  policies behind it (each removed alone, the whole plan re-solved at the same budget; as in "
                         "policies.csv):")
            lines.extend(f"  - without '{policy}', {tonnes(t)} t of it would be met" for policy, t in s.caused_by)
        elif s.impacts_solved and s.shortfall_t > 1e-6:
            lines.append("  no single policy's removal meets any of it (the whole plan re-solved without each at the "
                         "same budget)")
        for policy, where, t in s.removed:
            lines.append(f"  - '{policy}' takes {tonnes(t)} t of capacity out" + (f" ({where})" if where else ""))
        lines.append(f"  eligible after restrictions: {tonnes(s.eligible_t)} t; JV and licence capacity that could "
                     f"be online by {s.year}: {tonnes(s.jv_online_tpy)} t/yr")
        if s.supply_after:
            steps = "; ".join(f"{label}: {tonnes(v)} t" for label, v in s.supply_after)
            lines.append(f"  most the buyer can be supplied, adding policies in turn: {steps}")
        if s.relaxations:
            lines.append("  smallest relaxations that meet demand:")
            lines.extend(f"  - '{policy}': {what}" for policy, what, _ in s.relaxations)
        if s.shortage_t > 1e-6:
            lines.append(f"  even with every policy relaxed, {tonnes(s.shortage_t)} t cannot be supplied "
                         f"(not enough capacity in the data)")
        dearer = s.unmet_by_choice_t(s.least_cost_shortfall_t)
        chosen = max(0.0, s.unmet_by_choice_t(s.shortfall_t) - dearer)
        if dearer > 0:
            lines.append(f"  {tonnes(dearer)} t could be supplied under the scenario's policies, but only at more than "
                         f"its value (10x the reference price a tonne): the least-cost plan leaves it unmet "
                         f"('objective: {{shortfall: first}}' meets it at any cost)")
        if chosen > 1e-6:
            lines.append(f"  {tonnes(chosen)} t more are left unmet by the dependence stage, within the budget "
                         f"(exposure counts an unmet tonne as it counts a Chinese one, so this is no gain in exposure: "
                         f"the budget went to other minerals or years)")
        if s.jv_too_late:
            lines.append("  options that would come too late: " + "; ".join(s.jv_too_late[:4])
                         + (f"; and {len(s.jv_too_late) - 4} more" if len(s.jv_too_late) > 4 else ""))
    if ex.iis:
        shown = ", ".join(ex.iis[:8]) + (f", … ({len(ex.iis)} in all)" if len(ex.iis) > 8 else "")
        lines += ["", f"HiGHS IIS with shortfall forbidden (cross-check): {shown}"]
    return "\n".join(lines)
