"""``critmin compare``: scenarios and results folders side by side.

Each argument is a results folder (it holds ``summary.json``) or a scenario (a shipped name or a YAML path), which
is solved in memory (nothing is written). The comparison is one table, a row per figure and a column per run:
exposure and share of supply per mineral (optimised and least-cost) and overall, cost including unmet demand
(ranked on it), premium, shortfall, the JV mix (capacity built by mode per mineral), and the sourcing by mineral
and country where it changed most against the first run.

**One budget.** Scenarios solved here are planned at the first run's budget in USD (``budget="hold"``, the default;
``engine.analysis.replan.replan``: minimise exposure s.t. C <= B_first, or the least-cost plan when even that exceeds
B_first), so a column differs from the first by its scenario and not by the money it may spend. A results folder is
not re-solved: it keeps the budget it was solved at, and the table says so (``budget.rule``); ``budget="own"`` solves
every scenario at its own budget rule (a premium over its own least cost), and the table says that too.

Sourcing changes are ranked by their size as a share of the mineral's supply over the horizon (so a 10 t change
in gallium can outrank a 1,000 t change in lithium); their tonnes are summed over the horizon, and averaged over
disruption scenarios when a run has several (with equal weights: the results folder does not record their
probabilities).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.analysis.replan import over_budget, replan
from engine.errors import InputError, did_you_mean
from engine.figures.labels import MODES, Names
from engine.outputs.display import MODE_LABELS, pct, tonnes, usd
from engine.outputs.read_folder import is_results_folder, load_results_folder
from engine.outputs.summary import UNMET_DEMAND_VALUE
from engine.outputs.weighting import weighting_lines
from engine.paths import shipped_scenarios

TABLE_KEYS = ["key", "section", "metric", "unit"]
BUDGET_RULES = {
    "first": "its own (the first run: every scenario solved here holds it)",
    "held": "the first run's, held in USD",
    "held, over": "the first run's cannot be met (even its least-cost plan is dearer): planned at least cost",
    "own": "its own (a premium over its own least cost)",
    "folder": "its own (a results folder is not re-solved)",
    "cost": "none (the scenario minimises cost)",
}
"""How each run's budget was set: the ``budget.rule`` row of the table."""
MEASURES = {"exposure": "% of demand", "share_of_supply": "% of supply"}
"""The two measures of dependence (the sections of the summary's ``dependence``) and their units."""
NBSP = "\u00a0"


@dataclass
class Run:
    """One column of the comparison: a summary and its flows."""

    label: str
    origin: str  # "folder" or "solved"
    argument: str
    summary: dict
    flows: pd.DataFrame | None
    inputs: str | None = None
    budget_rule: str = "own"  # BUDGET_RULES: how this run's budget was set
    budget_pv_usd: float | None = None  # the budget it was planned at (None: minimises cost)

    @property
    def ok(self) -> bool:
        return "dependence" in self.summary


@dataclass
class Comparison:
    """The side-by-side table (``key, section, metric, unit`` then one column per run) and the sourcing changes."""

    runs: list[Run]
    table: pd.DataFrame
    changes: dict[str, pd.DataFrame] = field(default_factory=dict)
    names: Names = field(default_factory=Names)

    @property
    def labels(self) -> list[str]:
        return [r.label for r in self.runs]


# ----------------------------------------------------------------------------------------------- loading
def not_found_message(argument: str) -> str:
    """The error for an argument that is neither a results folder nor a scenario."""
    known = list(shipped_scenarios())
    stem = Path(argument.rstrip("/")).stem or argument
    return (f"{argument}: neither a results folder nor a scenario{did_you_mean(stem, known)}; give a folder "
            f"written by 'critmin solve' (it holds summary.json), a path to a scenario .yaml file, or one of the "
            f"shipped scenarios: {', '.join(known)}")


def check_argument(argument: str) -> str:
    """``'folder'`` for a results folder, ``'scenario'`` for a scenario file or shipped name; else InputError."""
    from engine.inputs.scenario import resolve_scenario_path

    path = Path(argument)
    if is_results_folder(path):
        return "folder"
    if not path.is_dir():
        try:
            resolve_scenario_path(argument)
            return "scenario"
        except InputError:
            pass
    raise InputError(not_found_message(argument))


def load_run(argument: str, solver: str | None = None, budget_usd: float | None = None) -> Run:
    """A results folder as it is, or a scenario solved in memory (at ``budget_usd``, present value, on cost including
    unmet demand, when given and the scenario minimises exposure: ``replan``)."""
    if check_argument(argument) == "folder":
        folder = load_results_folder(argument)
        if folder.kind != "solve":
            raise not_a_solve_folder(argument, folder.kind)
        return Run(folder.name, "folder", argument, folder.summary, folder.table("flows"), folder.inputs, "folder",
                   _get(folder.summary, "cost", "budget_pv_usd"))
    from engine.run import run_scenario

    result = run_scenario(argument, solver=solver) if budget_usd is None else _solve_held(argument, solver, budget_usd)
    flows = result.tables.flows if result.tables is not None else None
    rule = "own" if result.plan.budget_usd is not None else "cost"
    if budget_usd is not None and result.plan.budget_usd is not None:
        rule = "held, over" if over_budget(result.plan) else "held"
    return Run(result.loaded.name, "solved", argument, result.summary, flows, str(result.loaded.dataset.folder), rule,
               budget_usd if rule.startswith("held") else result.plan.budget_usd)


def _solve_held(argument: str, solver: str | None, budget_usd: float):
    """The scenario solved at an absolute budget (``replan``), reported as ``solve`` reports a plan."""
    import time

    from engine.formulation import build_model
    from engine.inputs.scenario import load_scenario
    from engine.plan.hierarchy import PlanSession
    from engine.run import finish_run, single_buyer_only
    from engine.solvers import SolverOptions, make_backend

    started = time.perf_counter()
    loaded = load_scenario(argument)
    single_buyer_only(loaded)
    model = build_model(loaded)
    session = PlanSession(model, make_backend(solver, SolverOptions()))
    t = time.perf_counter()
    plan = replan(session, budget_usd) if loaded.scenario.objective.minimise == "dependence" else session.solve()
    return finish_run(loaded, model, session, plan, {"solve_s": time.perf_counter() - t}, started)


def load_runs(arguments: Sequence[str], solver: str | None = None, budget: str = "hold") -> list[Run]:
    """Every argument checked first (so a typo fails before any solve), then loaded; labels made unique. With
    ``budget="hold"`` every scenario after the first is solved at the first run's budget in USD."""
    if len(arguments) < 2:
        raise InputError("compare needs at least two scenarios or results folders")
    if budget not in ("hold", "own"):
        raise InputError(f"--budget {budget}: expected 'hold' (the first run's budget in USD) or 'own'")
    for argument in arguments:
        check_argument(argument)
    runs = [load_run(arguments[0], solver)]
    held = runs[0].budget_pv_usd if budget == "hold" and runs[0].ok else None
    if held is not None and runs[0].budget_rule in ("own", "folder"):
        runs[0].budget_rule = "first" if runs[0].origin == "solved" else runs[0].budget_rule
    runs += [load_run(a, solver, held) for a in arguments[1:]]
    return unique_labels(runs)


def unique_labels(runs: list) -> list:
    """Each run labelled by its scenario's name, or by its argument where two share a name; the same argument twice
    numbered, so no column of the table hides another (runs with ``label`` and ``argument``)."""
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.label] = counts.get(run.label, 0) + 1
    for run in runs:
        if counts[run.label] > 1:
            run.label = run.argument
    seen: dict[str, int] = {}
    for run in runs:
        seen[run.label] = seen.get(run.label, 0) + 1
        if seen[run.label] > 1:
            run.label = f"{run.label} ({seen[run.label]})"
    return runs


def not_a_solve_folder(argument: str, kind: str) -> InputError:
    """compare reads folders written by 'critmin solve' only."""
    return InputError(f"{argument}: a {kind} folder (written by 'critmin {kind}'); compare takes folders written by "
                      f"'critmin solve' or scenarios; 'critmin report {argument}' writes its report")


# ----------------------------------------------------------------------------------------------- sourcing
def sourcing_by_country(flows: pd.DataFrame | None) -> pd.Series:
    """Tonnes by (mineral, location country) summed over the horizon (mean over disruption scenarios)."""
    if flows is None or flows.empty:
        return pd.Series(dtype=float, index=pd.MultiIndex.from_tuples([], names=["mineral", "country"]))
    n_scen = max(int(flows["scen"].nunique()), 1) if "scen" in flows else 1
    out = flows.groupby(["mineral", "location"])["tonnes"].sum() / n_scen
    out.index = out.index.set_names(["mineral", "country"])
    return out


def sourcing_changes(reference: pd.Series, other: pd.Series, top: int) -> pd.DataFrame:
    """The ``top`` largest changes from ``reference`` to ``other``, ranked by share of the mineral's supply."""
    both = pd.concat([reference.rename("reference_t"), other.rename("tonnes_t")], axis=1).fillna(0.0)
    both["change_t"] = both["tonnes_t"] - both["reference_t"]
    totals = both.groupby(level="mineral")[["reference_t", "tonnes_t"]].sum().max(axis=1)
    scale = both.index.get_level_values("mineral").map(totals).to_numpy(dtype=float)
    both["change_share_pct"] = 100.0 * both["change_t"] / pd.Series(scale, index=both.index).where(scale > 0, 1.0)
    both = both[both["change_t"].abs() > 1e-6]
    both = both.reindex(both["change_share_pct"].abs().sort_values(ascending=False, kind="stable").index)
    return both.head(top).reset_index()


# ----------------------------------------------------------------------------------------------- the table
def _get(summary: dict, *path: str) -> float | None:
    value: object = summary
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return None if value is None else float(value)  # type: ignore[arg-type]


def _ordered(runs: list[Run], getter: Callable[[dict], list[str]]) -> list[str]:
    seen: list[str] = []
    for run in runs:
        for key in getter(run.summary):
            if key not in seen:
                seen.append(key)
    return seen


def _rows(runs: list[Run], names: Names, changes: dict[str, pd.DataFrame]) -> list[dict]:
    rows: list[dict] = []

    def add(key: str, section: str, metric: str, unit: str, values: list) -> None:
        rows.append({"key": key, "section": section, "metric": metric, "unit": unit,
                     **{run.label: v for run, v in zip(runs, values, strict=True)}})

    add("status", "run", "status", "", [r.summary.get("status") for r in runs])
    add("origin", "run", "from", "", [f"{r.origin} {r.argument}" for r in runs])
    minerals = _ordered(runs, lambda s: s.get("scenario", {}).get("minerals", []))
    for measure, unit in MEASURES.items():
        for m in minerals:
            for kind, word in (("optimised_pct", "optimised"), ("least_cost_pct", "least-cost")):
                add(f"dependence.{measure}.by_mineral.{m}.{kind}", measure, f"{names.mineral(m)}, {word}", unit,
                    [_get(r.summary, "dependence", measure, "by_mineral", m, kind) for r in runs])
        for kind, word in (("overall_pct", "optimised"), ("least_cost_overall_pct", "least-cost")):
            add(f"dependence.{measure}.{kind}", measure, f"overall, {word}", unit,
                [_get(r.summary, "dependence", measure, kind) for r in runs])
    headline = [_headline(r.summary) for r in runs]
    add("budget.rule", "budget", "budget", "", [r.budget_rule for r in runs])
    add("budget.pv_usd", "budget", "budget", "USD PV", [r.budget_pv_usd for r in runs])
    add("cost.total_with_unmet_pv_usd", "cost", "cost including unmet demand", "USD PV", headline)
    add("cost.rank", "cost", "rank, cheapest first", "rank", ranks(headline))
    for key, metric, unit in (("total_pv_usd", "  of which supply", "USD PV"),
                              ("unmet_value_pv_usd", "  of which unmet demand", "USD PV"),
                              ("least_cost_with_unmet_pv_usd", "least-cost plan", "USD PV"),
                              ("premium_usd", "premium", "USD PV"),
                              ("premium_pct", "premium, % of least cost", "% of least cost")):
        add(f"cost.{key}", "cost", metric, unit, [_get(r.summary, "cost", key) for r in runs])
    for m in minerals:
        add(f"shortfall.by_mineral_t.{m}", "shortfall", names.mineral(m), "t",
            [_get(r.summary, "shortfall", "by_mineral_t", m) for r in runs])
    add("shortfall.total_t", "shortfall", "total", "t", [_get(r.summary, "shortfall", "total_t") for r in runs])
    add("shortfall.value_usd", "shortfall", "value", "USD", [_get(r.summary, "shortfall", "value_usd") for r in runs])
    add("shortfall.value_pv_usd", "shortfall", "value, present value", "USD PV",
        [_get(r.summary, "shortfall", "value_pv_usd") for r in runs])
    for m in minerals:
        built = [((r.summary.get("jv") or {}).get("capacity_built_tpy") or {}).get(m, {}) for r in runs]
        for mode in [*MODES, *sorted({k for b in built for k in b} - set(MODES))]:
            if any(b.get(mode) for b in built):
                add(f"jv.capacity_built_tpy.{m}.{mode}", "jv", f"{names.mineral(m)}, {MODE_LABELS.get(mode, mode)}",
                    "t/yr",
                    [float(b.get(mode, 0.0)) if r.ok else None for r, b in zip(runs, built, strict=True)])
    add("jv.capex_usd", "jv", "capex", "USD", [_get(r.summary, "jv", "capex_usd") for r in runs])
    keys: list[tuple[str, str]] = []
    for frame in changes.values():
        for row in frame.itertuples(index=False):
            if (row.mineral, row.country) not in keys:
                keys.append((row.mineral, row.country))
    series = [sourcing_by_country(r.flows) if r.ok else None for r in runs]
    for section, delta in (("sourcing", False), ("sourcing change", True)):
        for m, c in keys:
            values = [None if s is None else float(s.get((m, c), 0.0)) for s in series]
            if delta:
                ref = values[0]
                values = [None if v is None or ref is None else v - ref for v in values]
            add(f"{section.replace(' ', '_')}.{m}.{c}", section, f"{names.mineral(m)} from {names.country(c)}",
                "t over the horizon" if not delta else f"t, change against {runs[0].label}", values)
    return rows


def _headline(summary: dict) -> float | None:
    """A run's cost including unmet demand at its value (folders written before results schema 3 hold it as
    ``total_with_unmet_pv_usd`` too, or not at all: cost plus the value of unmet demand)."""
    value = _get(summary, "cost", "total_with_unmet_pv_usd")
    if value is None:
        cost, unmet = _get(summary, "cost", "total_pv_usd"), _get(summary, "shortfall", "value_pv_usd")
        value = None if cost is None or unmet is None else cost + unmet
    return value


def ranks(values: list[float | None]) -> list[int | None]:
    """1 for the cheapest, 2 for the next…; runs of equal cost (to the cent) share a rank, runs without one
    (unsolved) have none."""
    known = sorted({round(v, 2) for v in values if v is not None})
    return [None if v is None else 1 + sum(1 for k in known if k < round(v, 2)) for v in values]


def compare(arguments: Sequence[str], top: int = 5, solver: str | None = None, budget: str = "hold") -> Comparison:
    """Load or solve every argument and build the side-by-side table (``budget``: see the module's docstring)."""
    if top < 0:
        raise InputError(f"--top {top}: expected a number of changes, 0 or more")
    runs = load_runs(arguments, solver, budget)
    return compare_runs(runs, top)


def compare_runs(runs: list[Run], top: int = 5) -> Comparison:
    """The comparison of runs already loaded (the first is the reference for sourcing changes)."""
    names = Names(runs[0].inputs)
    changes: dict[str, pd.DataFrame] = {}
    if runs[0].ok:
        reference = sourcing_by_country(runs[0].flows)
        for run in runs[1:]:
            if run.ok:
                changes[run.label] = sourcing_changes(reference, sourcing_by_country(run.flows), top)
    table = pd.DataFrame(_rows(runs, names, changes), columns=[*TABLE_KEYS, *(r.label for r in runs)])
    return Comparison(runs, table, changes, names)


# ----------------------------------------------------------------------------------------------- output
def _cell(value: object, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, str):
        return value
    v = float(value)  # type: ignore[arg-type]
    if unit.startswith("%"):
        return pct(v)
    if unit.startswith("USD"):
        return usd(v).removeprefix("USD ")
    if unit == "rank":
        return f"{int(v)}"
    if unit.startswith("t, change"):
        return "0" if abs(v) < 5e-7 else ("+" if v > 0 else "-") + tonnes(abs(v))
    return tonnes(v)


def _signed_tonnes(value: float) -> str:
    return ("+" if value > 0 else "-") + tonnes(abs(value)) + " t"


def change_lines(comparison: Comparison) -> list[str]:
    """'ga_ge_ban: gallium from CHN -13 t, from KOR +3.0 t; germanium from ...' per run."""
    names = comparison.names
    lines = []
    for label, frame in comparison.changes.items():
        if frame.empty:
            lines.append(f"    {label}: no change")
            continue
        by_mineral: dict[str, list[str]] = {}
        for row in frame.itertuples(index=False):
            by_mineral.setdefault(row.mineral, []).append(f"from {names.country(row.country)} "
                                                          f"{_signed_tonnes(row.change_t)}")
        # wrap only between changes, never inside one ("-21,042 t" stays whole)
        parts = [f"{names.mineral(m)} " + ", ".join(i.replace(" ", NBSP) for i in items)
                 for m, items in by_mineral.items()]
        wrapped = textwrap.wrap(f"{label}: " + "; ".join(parts), width=110, initial_indent="    ",
                                subsequent_indent="      ", break_on_hyphens=False, break_long_words=False)
        lines += [line.replace(NBSP, " ") for line in wrapped]
    return lines


SECTION_TITLES = {
    "exposure": "Exposure to {country}: tonnes attributed to {country} plus tonnes unmet, % of demand (per mineral "
                "the mean over years; 'overall' the objective's aggregate)",
    "share_of_supply": "Share of supply attributed to {country}: % of tonnes supplied (deliveries and stock draws; "
                       "n/a: nothing supplied; same means)",
    "budget": "Budget the plans were solved at, on cost including unmet demand, USD present value",
    "cost": "Cost including unmet demand at its value (what the plans minimise; ranked on it), USD present value",
    "shortfall": f"Unmet demand over the horizon (valued at {UNMET_DEMAND_VALUE})",
    "jv": "Capacity built by deal, t/yr (capex in USD)",
}


def render_comparison(comparison: Comparison) -> str:
    """Aligned text for the terminal: a row per figure, a column per run, then the largest sourcing changes."""
    table, labels = comparison.table, comparison.labels
    country = comparison.names.country(comparison.runs[0].summary.get("scenario", {}).get("dependence_on", "CHN"))
    width = max(11, *(len(label) + 2 for label in labels))
    metric_width = max(24, *(len(m) + 4 for m in table["metric"]))
    lines = [f"Comparison of {len(labels)} runs (sourcing changes against '{labels[0]}')",
             "  " + " " * metric_width + "".join(f"{label:>{width}}" for label in labels)]
    for row in table[table["section"] == "run"].itertuples(index=False):
        if row.key == "status":
            lines.append(f"  {row.metric:<{metric_width}}" + "".join(f"{v!s:>{width}}" for v in row[4:]))
    lines.append("  " + "from".ljust(metric_width)
                 + "".join(f"{(r.origin if r.origin == 'solved' else 'folder'):>{width}}" for r in comparison.runs))
    lines.append("  " + "budget".ljust(metric_width)
                 + "".join(f"{BUDGET_CELLS.get(r.budget_rule, r.budget_rule):>{width}}" for r in comparison.runs))
    lines += budget_lines(comparison)
    for section, title in SECTION_TITLES.items():
        part = table[table["section"] == section]
        if part.empty:
            continue
        lines += ["", "  " + title.format(country=country)]
        for row in part.itertuples(index=False):
            if row.key == "budget.rule":  # in the header, in words
                continue
            cells = "".join(f"{_cell(v, row.unit):>{width}}" for v in row[4:])
            lines.append(f"    {row.metric:<{metric_width - 2}}{cells}")
    lines += ranking_lines(comparison)
    lines += weighting_section(comparison)
    if comparison.changes:
        lines += ["", f"  Largest changes in sourcing against '{labels[0]}', by mineral and country where refined "
                      f"(t over the horizon)"]
        lines += change_lines(comparison)
    return "\n".join(lines)


BUDGET_CELLS = {"first": "first run", "held": "held", "held, over": "over (1)", "own": "own", "folder": "own",
                "cost": "none"}
"""A run's budget rule in its column of the printout."""


def budget_lines(comparison: Comparison) -> list[str]:
    """What budget each run was planned at, in words: held at the first run's USD, or each its own."""
    runs, first = comparison.runs, comparison.runs[0]
    rules = [r.budget_rule for r in runs[1:]]
    if first.budget_rule == "first":
        text = (f"  Every scenario solved here is planned at the first run's budget ('{first.label}'), "
                f"{usd(first.budget_pv_usd)} on "
                f"cost including unmet demand (held in USD, so a column differs by its scenario, not by its budget; "
                f"--budget own gives each its own)")
        notes = []
        if "held, over" in rules:
            notes.append("over (1): even that run's least-cost plan exceeds the budget, so it is planned at least "
                         "cost")
        if "folder" in rules:
            notes.append("own: a results folder keeps the budget it was solved at (it is not re-solved), so its "
                         "column also differs by its budget")
        return [text + ("; " + "; ".join(notes) if notes else "") + "."]
    if all(r == "cost" for r in [first.budget_rule, *rules]):
        return ["  Every run minimises cost: there is no budget."]
    return ["  Each run has its own budget (a premium over its own least cost, or as its folder was solved): the "
            "columns differ by budget as well as by scenario."
            + (" Solve the first as a scenario to hold its budget." if first.origin == "folder" else "")]


def weighting_section(comparison: Comparison) -> list[str]:
    """How each run's aggregate weighs minerals and years, and the exchange rate it implies (once when the runs
    agree)."""
    names = comparison.names.minerals
    found = [(run.label, (run.summary.get("dependence") or {}).get("weighting")) for run in comparison.runs]
    found = [(label, w) for label, w in found if w]
    if not found:
        return []
    if all(w == found[0][1] for _, w in found):
        return ["", "  Every run's overall exposure (the 'overall' rows):",
                *weighting_lines(found[0][1], names, "    ")]
    lines = ["", "  The runs aggregate differently: their 'overall' rows and the ranking are not like for like; "
             "compare them per mineral. Each run's overall exposure:"]
    for label, w in found:
        lines += [f"    {label}:", *weighting_lines(w, names, "      ")]
    return lines


def ranking(comparison: Comparison) -> list[tuple[str, float, float | None, float | None]]:
    """The runs that solved, least exposed first (optimised plan, overall; ties by label), each with its exposure,
    share of supply and unmet tonnes."""
    table = comparison.table.set_index("key")
    out = []
    for run in comparison.runs:
        exposure = table.at["dependence.exposure.overall_pct", run.label]
        if exposure is None or (isinstance(exposure, float) and math.isnan(exposure)):
            continue
        share = table.at["dependence.share_of_supply.overall_pct", run.label]
        short = table.at["shortfall.total_t", run.label]
        out.append((run.label, float(exposure), None if share is None else float(share),
                    None if short is None else float(short)))
    return sorted(out, key=lambda r: (r[1], r[0]))


def ranking_lines(comparison: Comparison) -> list[str]:
    """The runs ranked by exposure, with share of supply and unmet tonnes beside it."""
    ranked = ranking(comparison)
    if not ranked:
        return []
    width = max(len(label) for label, *_ in ranked) + 2
    lines = ["", "  Ranked by exposure, optimised plan (least exposed first)",
             f"    {'run':<{width}}{'exposure':>10}{'share of supply':>17}{'unmet t':>12}"]
    for k, (label, exposure, share, short) in enumerate(ranked, 1):
        lines.append(f"  {k:>2} {label:<{width - 1}}{pct(exposure):>10}{pct(share):>17}"
                     f"{'n/a' if short is None else tonnes(short):>12}")
    return lines


def comparison_json(comparison: Comparison) -> dict:
    """Machine-readable form: the runs, the rows (values keyed by run label) and the sourcing changes."""
    def clean(v: object) -> object:
        return None if isinstance(v, float) and math.isnan(v) else v

    return {
        "runs": [{"label": r.label, "origin": r.origin, "argument": r.argument, "status": r.summary.get("status"),
                  "money": r.summary.get("money")} for r in comparison.runs],
        "rows": [{"key": row["key"], "section": row["section"], "metric": row["metric"], "unit": row["unit"],
                  "values": {label: clean(row[label]) for label in comparison.labels}}
                 for row in comparison.table.to_dict(orient="records")],
        "ranking": [{"label": label, "exposure_pct": exposure, "share_of_supply_pct": share, "unmet_t": short}
                    for label, exposure, share, short in ranking(comparison)],
        "sourcing_changes": {label: [{k: clean(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")]
                             for label, frame in comparison.changes.items()},
    }


COMPARISON_HEADER = "key,section,metric,unit,"


def check_csv_target(path: Path, force: bool = False, inputs: Sequence[str] = ()) -> Path:
    """Fail early (before solving) if ``path`` is not a .csv file that may be written: never inside a results
    folder being compared, and with ``force`` only over a comparison table critmin wrote."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise InputError(f"--out {path}: expected a file ending in .csv")
    target = path.resolve()
    for argument in inputs:
        if is_results_folder(Path(argument)) and Path(argument).resolve() in target.parents:
            raise InputError(f"--out {path}: lies inside the results folder {argument}, an input of this "
                             f"comparison; choose a file outside it")
    if path.is_dir():
        raise InputError(f"--out {path}: is a folder; expected a file ending in .csv")
    if path.exists() and not _is_comparison_table(path):
        header = f"its header starts '{COMPARISON_HEADER.rstrip(',')}'"
        what = (f"--force replaces only a comparison table critmin wrote ({header}), and this file is not one"
                if force else f"exists and is not a comparison table critmin wrote ({header})")
        raise InputError(f"--out {path}: {what}; choose another file, or move or delete it yourself first")
    if path.exists() and not force:
        raise InputError(f"--out {path}: exists already; pass --force to replace it or choose another file")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"--out {path}: folder {folder} does not exist")
    return path


def _is_comparison_table(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().startswith(COMPARISON_HEADER)
    except (OSError, UnicodeDecodeError):
        return False


def write_comparison_csv(comparison: Comparison, path: Path, force: bool = False) -> Path:
    """Write the table as CSV (through a temporary file, so a failed write leaves nothing half-written)."""
    import os
    import tempfile

    from engine.outputs.files import write_csv

    path = check_csv_target(path, force)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write_csv(comparison.table, Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
