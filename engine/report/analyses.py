"""What the report of an analysis folder says (frontier, stress, sweep, robust), in the same
:class:`~engine.report.content.Report` shape as a solve's report, so Markdown and HTML render it unchanged."""

from __future__ import annotations

import math

import pandas as pd

from engine.analysis.sensitivity_run import budget_caption
from engine.figures import analysis_plots, plots
from engine.figures.labels import Names
from engine.outputs.display import pct, tonnes, usd
from engine.outputs.read_folder import ResultsFolder
from engine.report.content import Report, Section, Table, _plot

TITLES = {"frontier": "price of independence", "stress": "supply shocks", "sweep": "Monte Carlo sweep",
          "robust": "two-stage robust plan", "worstcase": "worst case", "sensitivity": "sensitivity",
          "calibrate": "calibration to observed trade"}


def _num(value: object, fmt) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else fmt(v)


def _status_line(summary: dict) -> tuple[str, str]:
    status = str(summary.get("status", "optimal"))
    return ("Status", "Solved to optimality." if status == "optimal" else f"Not solved ({status}). "
            f"{summary.get('message') or ''}".strip())


def frontier_sections(folder: ResultsFolder, names: Names) -> tuple[list[tuple[str, str]], list[Section]]:
    table = folder.table("frontier")
    s = folder.summary
    country = str(s.get("dependence_on") or "CHN")
    targets = [str(t) for t in s.get("targets") or (list(dict.fromkeys(table["target"])) if table is not None
                                                    else [])]
    what = ("all minerals together (the scenario's aggregate)" if targets == ["all"] else
            "each mineral's own mean exposure: " + ", ".join(names.mineral(t) for t in targets if t != "all"))
    head = [("Scenario", folder.name), _status_line(s), ("Swept", what),
            ("Least-cost plan", f"{usd(s.get('least_cost_with_unmet_pv_usd', s.get('least_cost_pv_usd')))} in "
                                f"present value, including unmet demand at its value.")]
    if table is None:
        return head, []
    p = _plot("frontier", "Price of independence",
              "Each point is the cheapest plan at one cap on exposure; exposure falls from left to right. Left: "
              "the premium over the least-cost plan. Right: what one more percentage point costs at that point "
              "(the cap's shadow price, and the average between neighbouring points).",
              plots.frontier_figure(table, names, country, scenario=folder.name))
    rows = []
    for r in table.itertuples(index=False):
        share = getattr(r, f"{r.target}_pct", r.exposure_pct) if r.target != "all" else r.exposure_pct
        rows.append(["all minerals" if r.target == "all" else names.mineral(str(r.target)),
                     _num(r.cap_pct, lambda v: f"{v:.1f}%"), _num(share, lambda v: f"{v:.1f}%"),
                     _num(getattr(r, "share_of_supply_pct", None), lambda v: f"{v:.1f}%"),
                     str(r.status), _num(r.premium_usd, usd), _num(r.marginal_usd_per_pp, usd),
                     _num(getattr(r, "finite_difference_usd_per_pp", None), usd)])
    points = Table(["Target", "Cap", "Exposure reached", "Share of supply", "Status", "Premium (PV)",
                    "Next point costs", "Average since the last point"], rows, ["l", "r", "r", "r", "l", "r", "r", "r"],
                   title="The points of the frontier", note="'Next point costs': the dual of the cap, USD present "
                   "value per percentage point tightened. Premiums below USD 1 are solver noise.")
    return head, [Section("Price of independence", plots=[p] if p else [], tables=[points])]


def stress_sections(folder: ResultsFolder, names: Names) -> tuple[list[tuple[str, str]], list[Section]]:
    s = folder.summary
    base = s.get("base") or {}
    table = folder.table("stress")
    head = [("Scenario", folder.name), _status_line(s),
            ("Base plan", f"{usd(base.get('cost_with_unmet_pv_usd', base.get('cost_pv_usd')))} in present value "
                          f"including unmet demand at its value, exposure {pct(base.get('exposure_pct'))}, share of "
                          f"supply {pct(base.get('share_of_supply_pct'))}; {base.get('shocks', 0)} shocks tested, "
                          f"each re-solved "
                          f"with the plan's JV builds and stockpile fixed.")]
    if table is None:
        return head, [Section("Shocks", ["No shock was tested."])]
    unmet, jump = analysis_plots.unmet_column(table), analysis_plots.jump_column(table)
    hit = table[table[unmet].fillna(0) > 0.005]
    head.append(("Unmet demand", f"{len(hit)} of {len(table)} shocks leave more demand unmet; the worst, "
                 f"{analysis_plots.shock_label(table.iloc[0], names)}, adds {tonnes(table[unmet].iloc[0])}"
                 f" t unmet." if len(hit) else f"None of the {len(table)} shocks leaves more demand unmet."))
    p = _plot("stress", "Worst shocks",
              "The worst shocks, ranked by the jump in cost including unmet demand at its value. Left: the value of "
              "the unmet demand the shock adds (tonnes written beside each bar). Right: the cost jump.",
              analysis_plots.stress_figure(table, names, folder.name))
    rows = [[str(int(r.rank)), analysis_plots.shock_label(pd.Series(r._asdict()), names), str(r.status),
             _num(getattr(r, jump), usd), _num(getattr(r, unmet), tonnes),
             _num(getattr(r, analysis_plots.value_column(table)), usd), _num(r.cost_jump_usd, usd),
             _num(getattr(r, "exposure_change_pp", None), lambda v: f"{v:+.1f} pp"),
             _num(getattr(r, "share_of_supply_change_pp", None), lambda v: f"{v:+.1f} pp"),
             "yes" if getattr(r, "over_budget", None) in (True,) else "",
             _num(r.stock_lasts_years, lambda v: f"{v:.1f}")]
            for r in table.head(analysis_plots.TOP_SHOCKS).itertuples(index=False)]
    shocks = Table(["#", "Shock", "Status", "Cost jump incl. unmet (PV)", "Unmet added, t", "Unmet value added (PV)",
                    "Supply cost jump (PV)", "Exposure change", "Share of supply change", "Over budget",
                    "Stock lasts, years"], rows,
                   ["r", "l", "l", "r", "r", "r", "r", "r", "r", "l", "r"],
                   title=f"The {len(rows)} worst shocks (of {len(table)}; all in stress.csv)",
                   note="Over budget: the base plan's budget, held in USD on cost including unmet demand, cannot be "
                        "met under the shock, even by the cheapest re-plan: the re-plan is least cost.")
    hedges = [f"#{int(r.rank)} {analysis_plots.shock_label(pd.Series(r._asdict()), names)}: {r.covering_options}"
              for r in table.head(analysis_plots.TOP_SHOCKS).itertuples(index=False)
              if isinstance(r.covering_options, str) and r.covering_options]
    sections = [Section("Shocks", plots=[p] if p else [], tables=[shocks])]
    if hedges:
        sections.append(Section("Hedges that would have reduced the unmet demand", hedges))
    return head, sections


METRICS = {"exposure_pct": ("Exposure to China, all minerals", pct),
           "share_of_supply_pct": ("Share of supply attributed to China, all minerals", pct),
           "cost_with_unmet_pv_usd": ("Cost with unmet demand valued (PV)", usd),
           "cost_pv_usd": ("Cost of supply (PV)", usd),
           "premium_usd": ("Premium over least cost", usd), "shortfall_t": ("Unmet demand, t", tonnes),
           "shortfall_value_pv_usd": ("Unmet demand value (PV)", usd),
           "shortfall_value_usd": ("Unmet demand value", usd), "jv_capacity_tpy": ("JV capacity built, t/yr", tonnes)}


def sweep_sections(folder: ResultsFolder, names: Names) -> tuple[list[tuple[str, str]], list[Section]]:
    s = folder.summary
    samples = folder.table("samples")
    minerals = sorted({c.split("_")[1] for c in (samples.columns if samples is not None else [])
                       if c.startswith("exposure_") and c.endswith("_pct") and c != "exposure_pct"},
                      key=lambda m: list(names.minerals).index(m) if m in names.minerals else 99)
    head = [("Scenario", folder.name),
            ("Samples", f"{s.get('samples')} samples (seed {s.get('seed')}), {s.get('optimal')} solved to "
                        f"optimality.")]
    if samples is not None and "shortfall_t" in samples:
        n = int((samples["shortfall_t"].fillna(0) > 0.005).sum())
        head.append(("Unmet demand", f"{n} of {len(samples)} samples leave demand unmet." if n else
                     "Every sample meets demand."))
    rows = []
    stats = folder.table("percentiles")
    if stats is not None:
        stats = stats.set_index("metric")
        for metric, (label, fmt) in [*METRICS.items(), *[(f"exposure_{m}_pct", (
                f"Exposure to China, {names.mineral(m)}", pct)) for m in minerals]]:
            if metric in stats.index:
                r = stats.loc[metric]
                rows.append([label, fmt(r["p5"]), fmt(r["p50"]), fmt(r["p95"]), fmt(r["mean"])])
    table = Table(["Metric", "P5", "P50", "P95", "Mean"], rows, ["l", "r", "r", "r", "r"],
                  title="Percentiles over the samples")
    p = _plot("sweep", "Samples", "Each dot is one sample (red: demand left unmet); the lines are P5, P50 and P95. "
              "Below: exposure by mineral, each on the same percentage axis.",
              analysis_plots.sweep_figure(samples, minerals, names))
    return head, [Section("Results over the samples", plots=[p] if p else [], tables=[table])]


def robust_sections(folder: ResultsFolder, names: Names) -> tuple[list[tuple[str, str]], list[Section]]:
    s = folder.summary
    risk = "expected shortfall" if s.get("risk") == "expected" else f"CVaR{s.get('alpha')} of shortfall"
    head = [("Scenario", folder.name), _status_line(s),
            ("Method", f"Planned against {s.get('plan_scenarios')} sampled disruptions ({risk} first), tested "
                       f"with the deterministic plan on {s.get('evaluation_scenarios')} fresh ones."),
            ("Value of the stochastic solution", f"{usd(s.get('vss_usd'))} (expected cost plus unmet demand at "
                                                 f"ten times its reference price, deterministic minus robust).")]
    evaluation = folder.table("evaluation")
    sections = []
    if evaluation is not None:
        by = evaluation.set_index("label")
        if "shortfall_t" in by:
            short = {k: float(by["shortfall_t"].get(k, 0.0)) for k in ("robust", "deterministic")}
            head.append(("Unmet demand", "Both plans meet demand in every fresh scenario." if max(short.values())
                         <= 0.005 else f"Expected {tonnes(short['robust'])} t with the robust plan against "
                         f"{tonnes(short['deterministic'])} t with the deterministic plan, on the fresh scenarios."))
        rows = []
        for column, (label, fmt) in {"cost_with_unmet_pv_usd": ("Expected cost with unmet demand valued (PV)", usd),
                                     "total_usd": ("Cost plus unmet demand value", usd),
                                     "cost_pv_usd": ("Expected cost of supply (PV)", usd),
                                     "shortfall_value_pv_usd": ("Expected unmet demand value (PV)", usd),
                                     "shortfall_value_usd": ("Expected unmet demand value", usd),
                                     "shortfall_t": ("Expected unmet demand, t", tonnes),
                                     "shortfall_cvar_pv_usd": ("CVaR of unmet demand value (PV)", usd),
                                     "shortfall_cvar_usd": ("CVaR of unmet demand value", usd),
                                     "exposure_pct": ("Expected exposure", pct),
                                     "share_of_supply_pct": ("Expected share of supply", pct),
                                     "jv_capacity_tpy": ("JV capacity built, t/yr", tonnes)}.items():
            if column in by:
                rows.append([label, *[_num(by[column].get(k), fmt) for k in ("robust", "deterministic")]])
        sections.append(Section("The two plans on fresh scenarios", tables=[Table(
            ["On the fresh scenarios", "Robust plan", "Deterministic plan"], rows, ["l", "r", "r"])]))
    builds, det = folder.table("builds"), folder.table("deterministic_builds")
    minerals = list(dict.fromkeys([*(builds["mineral"] if builds is not None else []),
                                   *(det["mineral"] if det is not None else [])]))
    p = _plot("robust_builds", "Capacity built", "Capacity built per JV or licence option by the robust plan and by "
              "the deterministic plan; each mineral on its own scale.",
              analysis_plots.robust_figure(builds, det, minerals, names))
    if p:
        sections.append(Section("First-stage decisions", plots=[p]))
    return head, sections


def _column(table: pd.DataFrame, added: str, total: str) -> pd.Series:
    """A worst-case change against the base plan; from a folder written before it, the total less the k = 0 row's
    (the base plan's own)."""
    if added in table:
        return table[added].fillna(0.0)
    return table[total] - float(table.loc[table["k"] == 0, total].iloc[0])


def worstcase_sections(folder: ResultsFolder, names: Names) -> tuple[list[tuple[str, str]], list[Section]]:
    s = folder.summary
    settings = s.get("settings") or {}
    country = str(s.get("country") or "CHN")
    bases = {"location": "located in", "owner": "controlled by", "either": "located in or controlled by"}
    cut = " / ".join(bases.get(b, b) for b in settings.get("by") or ["either"])
    head = [("Scenario", folder.name), _status_line(s),
            ("Adversary", f"{names.country(country)} cuts up to k minerals' supply {cut} it to "
                          f"{float(settings.get('share') or 0.0):.0%} of normal, from a start year of its choice "
                          f"({s.get('moves')} moves, {s.get('undominated_moves')} undominated). Buyer-hosted JV "
                          f"output and licences are "
                          f"{'cut by the partner equity' if settings.get('cut_jv_output') else 'spared'}."),
            ("Against the base", "Every figure is a change against the base plan (the scenario's own plan with no "
                                 "restriction); changes within solver noise are dropped."),
            ("Damage", "The unmet demand a restriction set adds, valued at 10x the reference price (present value), "
                       "with the plan's JV builds and stockpile fixed, purchases re-planned from the restriction's "
                       "start year on.")]
    table = folder.table("worstcase")
    if table is None:
        return head, []
    table = table.sort_values("k").reset_index(drop=True)
    robust = _column(table, "worst_unmet_value_added_pv_usd", "worst_unmet_value_pv_usd")
    det = _column(table, "deterministic_worst_unmet_value_added_pv_usd", "deterministic_worst_unmet_value_pv_usd")
    added_t = _column(table, "worst_unmet_added_t", "worst_unmet_t")
    budget = table["budget_pv_usd"].dropna() if "budget_pv_usd" in table else pd.Series(dtype=float)
    head.append(("Budget", f"Every robust plan is planned within the base plan's budget, held at {usd(budget.iloc[0])} "
                           f"(cost including unmet demand, present value)." if len(budget) else
                           "The scenario minimises cost; so does every robust plan."))
    last = len(table) - 1
    if int(table.loc[last, "k"]):
        head.append(("Insurance", f"Against any {int(table.loc[last, 'k'])} moves the robust plan's worst set adds "
                     f"{usd(robust.iloc[last])} of unmet demand ({tonnes(added_t.iloc[last])} t), against "
                     f"{usd(det.iloc[last])} for the deterministic plan, for a premium of "
                     f"{usd(table.loc[last, 'premium_usd'])} (present value)."))
    p = _plot("worstcase", "Worst case against k",
              "The unmet demand the worst restriction set adds to the base plan for k = 0, 1, … moves: the "
              "deterministic plan (solve's) and the plan that minimises the worst case for each k; the robust plans' "
              "premium and exposure change in a second panel when there is one.",
              analysis_plots.worstcase_figure(table, names.country(country), folder.name))
    by = "worst_unmet_added_by_mineral"
    exposure = table["exposure_change_pp"] if "exposure_change_pp" in table else pd.Series([float("nan")] * len(table))
    rows = [[str(int(r.k)), _num(added_t.iloc[i], lambda v: f"+{tonnes(v)}" if v > 0 else "0"),
             _num(robust.iloc[i], usd), _num(det.iloc[i], usd), _num(r.premium_usd, usd),
             _num(exposure.iloc[i], lambda v: f"{v:+.2f} pp" if abs(v) >= 0.005 else "0 pp"),
             str(r.worst_set) + (f": {getattr(r, by)}" if isinstance(getattr(r, by, None), str) else ""),
             f"{r.method}, {int(r.iterations)} iteration(s)"]
            for i, r in enumerate(table.itertuples(index=False)) if r.k]
    sections = [Section("Worst case against k", plots=[p] if p else [], tables=[Table(
        ["k", "Unmet added, t", "Value added, robust plan", "Deterministic plan", "Premium", "Exposure change",
         "Worst restriction set: unmet added by mineral", "Method"], rows,
        ["r", "r", "r", "r", "r", "r", "l", "l"],
        note="Unmet demand added by the worst set against each plan, over the base plan's. Premium (cost including "
             "unmet demand at its value) and exposure change (attributed plus unmet tonnes, % of demand): the "
             "robust plan's, with no restriction, against the base plan.")] if rows else [])]
    regret = folder.table("regret")
    if regret is not None and len(regret) and "best_possible_added_usd" in regret:
        rows = [[str(r.plan), str(r.restriction), _num(r.unmet_added_t, tonnes), _num(r.unmet_value_added_usd, usd),
                 _num(r.best_possible_added_usd, usd), _num(r.regret_usd, usd)] for r in regret.itertuples(index=False)]
        sections.append(Section("Regret", tables=[Table(
            ["Plan", "Restriction set", "Unmet added, t", "Value added", "Best possible, added", "Regret"], rows,
            ["l", "l", "r", "r", "r", "r"], note="Against the base plan. Best possible: the least unmet demand any "
            "plan could add had the set been known in advance; regret: the plan's value added over it.")]))
    elif regret is not None and len(regret):  # a folder written before the changes against the base
        rows = [[str(r.plan), str(r.restriction), _num(r.unmet_value_usd, usd), _num(r.best_possible_usd, usd),
                 _num(r.regret_usd, usd)] for r in regret.itertuples(index=False)]
        sections.append(Section("Regret", tables=[Table(
            ["Plan", "Restriction set", "Unmet demand value", "Best possible", "Regret"], rows,
            ["l", "l", "r", "r", "r"], note="Best possible: the least unmet demand any plan could reach had the set "
            "been known in advance.")]))
    moves = folder.table("moves")
    if moves is not None and len(moves):
        value = "deterministic added_unmet_value_usd" if "deterministic added_unmet_value_usd" in moves else \
            "deterministic unmet_value_usd"
        tonnes_column = value.replace("value_usd", "t")
        hurting = moves[moves[tonnes_column].fillna(0.0) > 0]
        rows = [[str(r["move"]), _num(r[value], usd), _num(r[tonnes_column], tonnes)]
                for _, r in hurting.head(10).iterrows()]
        text = (f"{len(hurting)} of {len(moves)} moves add unmet demand to the base plan, one at a time."
                if rows else "No single move adds unmet demand to the base plan.")
        sections.append(Section("Restrictions that hurt most", [text],
                                tables=[Table(["Move (against the deterministic plan)", "Unmet demand value added",
                                               "Unmet added, t"], rows, ["l", "r", "r"])] if rows else []))
    return head, sections


def _over(row: object) -> str:
    """' (1: low)' / ' (1: high)' / ' (1: both)': that end could not be planned at the held budget."""
    low = str(getattr(row, "over_budget_low", False)) == "True"
    high = str(getattr(row, "over_budget_high", False)) == "True"
    return "" if not (low or high) else " (1: " + ("both" if low and high else "low" if low else "high") + ")"


def sensitivity_sections(folder: ResultsFolder, names: Names) -> tuple[list[tuple[str, str]], list[Section]]:
    s = folder.summary
    head = [("Scenario", folder.name), _status_line(s),
            ("Base plan", f"Exposure {_num(s.get('base_exposure_pct'), lambda v: f'{v:.2f}%')}; cost with unmet "
                          f"demand at its value {usd(s.get('base_cost_with_unmet_pv_usd'))} (present value)."),
            ("Method", "One assumption at a time at its low and its high value (the dataset's low/high columns for "
                       "JV capex and lead times; the central value times the step either side otherwise), "
                       "everything else at its central value, re-solved through the scenario's hierarchy."),
            ("Budget", budget_caption(s.get("budget"), s.get("budget_pv_usd")).capitalize() + "."
             + (" (1): even the variant's least-cost plan exceeds it, so it is planned at least cost."
                if s.get("budget") == "hold" else ""))]
    table = folder.table("sensitivity")
    if table is None:
        return head, []
    p = _plot("sensitivity", "Tornado",
              "The change against the base plan in exposure (left) and in cost with unmet demand at its value "
              "(right, present value) with each assumption at its low value (upper bar) and its high value (lower "
              "bar); the largest swings in exposure on top.",
              analysis_plots.sensitivity_figure(table, folder.name, names=names,
                                                budget=budget_caption(s.get("budget"), s.get("budget_pv_usd"))))
    signed = lambda v: f"{v:+.2f} pp"  # noqa: E731
    money = lambda v: ("+" if v > 0 else "-" if v < 0 else "") + usd(abs(v))  # noqa: E731
    rows = [[str(int(r.rank)), names.assumption(str(r.family), str(r.parameter)), str(r.setting_low),
             str(r.setting_high), _num(r.exposure_low_pp, signed), _num(r.exposure_high_pp, signed),
             _num(r.cost_low_pv_usd, money), _num(r.cost_high_pv_usd, money),
             str(r.status) + _over(r)] for r in table.itertuples(index=False)]
    return head, [Section("Assumptions ranked", plots=[p] if p else [], tables=[Table(
        ["#", "Assumption", "Low", "High", "Exposure, low", "Exposure, high", "Cost, low", "Cost, high",
         "Status"], rows, ["r", "l", "l", "l", "r", "r", "r", "r", "l"],
        note="Changes against the base plan. Cost: present value, unmet demand at 10x the reference price.")])]


def calibrate_sections(folder: ResultsFolder, names: Names) -> tuple[list[tuple[str, str]], list[Section]]:
    s = folder.summary
    tolerance = float(s.get("tolerance_pp") or 0.0)
    head = [("Scenario", folder.name), _status_line(s),
            ("Method", "Exportable-share moves, smallest in tonnes made available, that make the least-cost plan's "
                       "first-year imports reproduce the observed shares (observed_trade.csv): an origin bought above "
                       "its target is held back to it, one that cannot supply its target is raised to it; checked "
                       f"by re-solving the whole scenario ({s.get('rounds')} round(s)). Delivered costs are not "
                       "moved."),
            ("Result", f"Every observed mineral within {tolerance:g} points." if s.get("within_tolerance") else
             f"Not every observed mineral within {tolerance:g} points: a policy in force or the cost order holds "
             f"an observed origin back.")]
    sections = []
    backcast = folder.table("backcast")
    if backcast is not None:
        def shown(value: object, bound: object) -> str:
            return _num(value, lambda v: f"{'>= ' if str(bound) == 'True' else ''}{v:.1f}") or "n/a"

        rows = [[names.mineral(str(r.mineral)), f"{r.period}, {r.measure}", shown(r.distance_before_pp, r.lower_bound),
                 shown(r.distance_after_pp, r.lower_bound), str(r.observed), str(r.planned_after)]
                for r in backcast.itertuples(index=False)]
        sections.append(Section("Backcast before and after", tables=[Table(
            ["Mineral", "Observed", "Distance before", "Distance after", "Observed shares", "Planned after"], rows,
            ["l", "l", "r", "r", "l", "l"], note="Half the L1 distance between observed and planned import shares, in "
            "points (0 identical, 100 disjoint); '>=' where the source groups origins as 'other'.")]))
    moves = folder.table("calibration")
    rows = [] if moves is None else [
        [str(r.move), _num(r.available_before_t, tonnes), _num(r.available_after_t, tonnes), str(int(r.blocks))]
        for r in moves.itertuples(index=False)]
    sections.append(Section("Moves", [] if rows else ["No move was needed or none helped."], tables=[Table(
        ["Move", "Available before, t", "Available after, t", "Blocks"], rows, ["l", "r", "r", "r"],
        note="calibrated.yaml in the folder is the scenario with these shares (by source id).")] if rows else []))
    return head, sections


BUILDERS = {"frontier": frontier_sections, "stress": stress_sections, "sweep": sweep_sections,
            "robust": robust_sections, "worstcase": worstcase_sections, "sensitivity": sensitivity_sections,
            "calibrate": calibrate_sections}


def make_analysis_report(folder: ResultsFolder) -> Report:
    """The report of a frontier, stress, sweep or robust folder."""
    names = Names(folder.summary.get("inputs") if isinstance(folder.summary.get("inputs"), str) else None)
    head, sections = BUILDERS[folder.kind](folder, names)
    if folder.summary.get("money"):  # what its USD figures are (results schema 3)
        head.insert(min(2, len(head)), ("Money", str(folder.summary["money"])))
    version = (folder.summary.get("versions") or {}).get("critmin-engine", "")
    footer = f"Generated by critmin {version} from {folder.path}."
    title = f"critmin report: {TITLES[folder.kind]}, scenario '{folder.name}'"
    return Report(title, "", head, sections, [str(n) for n in folder.notes], footer)
