"""What a report says, independent of its format: the headline figures in planner words, the tables, and the
figures with their captions. ``markdown`` and ``html`` render the same :class:`Report`."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from engine.figures import plots
from engine.figures.labels import MODES, Names, component
from engine.figures.style import png_bytes
from engine.outputs.display import change_pp, pct, tonnes, usd
from engine.outputs.read_folder import ResultsFolder
from engine.outputs.summary import UNMET_DEMAND_VALUE
from engine.outputs.weighting import exchange_cells, weighting_lines

TOP_DUALS = 10


@dataclass
class Table:
    """A small table already formatted as text; ``align`` is 'l' or 'r' per column."""

    columns: list[str]
    rows: list[list[str]]
    align: list[str]
    title: str = ""
    note: str = ""


@dataclass
class Plot:
    """A rendered figure: its file name (without extension), a title, a caption in words, and the PNG."""

    slug: str
    title: str
    caption: str
    png: bytes


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)


@dataclass
class Report:
    title: str
    description: str
    headline: list[tuple[str, str]]
    sections: list[Section]
    warnings: list[str] = field(default_factory=list)
    footer: str = ""

    @property
    def plots(self) -> list[Plot]:
        return [p for s in self.sections for p in s.plots]


# ---------------------------------------------------------------------------------------------- headline
def basis_words(scenario: dict) -> str:
    """How a basis counts tonnes, in words (the summary's ``scenario``: its ``basis`` and ``control_threshold``)."""
    held = f"held {100 * float(scenario.get('control_threshold', 0.25)):g}% or more by"
    return {"location": "refined in", "ownership": "owned by", "combined": "refined in or owned by",
            "control": f"in plants {held}", "combined_control": f"refined in, or in plants {held},"}.get(
        scenario.get("basis", ""), "attributed to")


def _pp(value: float) -> str:
    return f"{value:+.1f} percentage points".replace("-", "−")


def headline(summary: dict, names: Names) -> list[tuple[str, str]]:
    """The summary figures at the top of the report, as a planner would say them."""
    sc = summary["scenario"]
    country = names.country(sc.get("dependence_on", "CHN"))
    start, end = sc["horizon"]
    items = [("Scenario", f"{sc['name']}" + (f" — {sc['description'].strip()}" if sc.get("description") else ""))]
    stages = summary.get("stages", [])
    solver = (summary.get("solver") or {}).get("version") or (summary.get("solver") or {}).get("backend", "")
    status = summary.get("status", "unknown")
    word = "Solved to optimality" if status == "optimal" else f"Not solved ({status})"
    items.append(("Status", f"{word} by {solver} in {len(stages)} stage(s)."
                  + (f" {summary['message']}" if summary.get("message") and status != "optimal" else "")))
    if "dependence" not in summary:
        return items
    dep, cost, short = summary["dependence"], summary["cost"], summary["shortfall"]
    basis = basis_words(sc)
    weighting = dep.get("weighting")
    agg = (f"the {weighting['text']}" if weighting else
           "the worst mineral-year" if sc.get("aggregate") == "max" else "the mean over minerals and years")
    exposure, share = dep["exposure"], dep["share_of_supply"]
    lc, opt = exposure.get("least_cost_overall_pct"), exposure["overall_pct"]
    text = (f"{pct(opt)} of demand in the optimised plan" + (f", against {pct(lc)} in the least-cost plan "
            f"({_pp(opt - lc)})" if lc is not None and opt is not None else "") + f". Tonnes {basis} {country} "
            f"plus tonnes unmet, as a share of each year's demand, {agg}, {start}–{end}.")
    items.append((f"Exposure to {country}", text))
    if weighting:
        lines = [line.strip() for line in weighting_lines(weighting, names.minerals, "")][:2]
        cells = exchange_cells(weighting, names.minerals)
        items.append(("Weighting", lines[0].removeprefix("Weighting: ") + " " + lines[1]
                      + (" " + "; ".join(f"{name} ({text.replace('; ', ', ')})" for name, text in cells) + "."
                         if cells else "")))
    slc, sopt = share.get("least_cost_overall_pct"), share.get("overall_pct")
    items.append((f"Share of supply attributed to {country}",
                  f"{pct(sopt)} of the tonnes supplied (deliveries and stock draws) in the optimised plan"
                  + (f", against {pct(slc)} in the least-cost plan" if slc is not None else "") + f", {agg}."))
    unit = cost.get("unit", "")
    basis = unit.split(", ", 1)[1] if ", " in unit else "present value"
    items.append(("Money", (summary.get("money") or basis) + "."))
    text = (f"{usd(with_unmet(cost))} in present value including unmet demand at its value: "
            f"{usd(cost['total_pv_usd'])} of supply and {usd(cost.get('unmet_value_pv_usd'))} of unmet demand "
            f"({_valued_at(summary)}, present value)")
    least = cost.get("least_cost_with_unmet_pv_usd")
    if least is not None:
        text += f"; the least-cost plan costs {usd(least)}"
    items.append(("Cost", text + "."))
    if cost.get("premium_usd") is not None:
        premium = f"{usd(cost['premium_usd'])}" + (f" ({cost['premium_pct']:+.1f}%)" if cost.get("premium_pct")
                                                    is not None else "")
        cut = (lc - opt) if lc is not None and opt is not None else 0.0
        per_point = (f", about {usd(cost['premium_usd'] / cut)} per percentage point of exposure removed"
                     if cut > 0.05 and cost["premium_usd"] > 0 else "")
        items.append(("Premium", f"{premium} over the least-cost plan{per_point}."))
    if short["total_t"] > 0:
        parts = [f"{names.mineral(m)} {tonnes(v)} {names.unit(m)}" for m, v in short["by_mineral_t"].items()
                 if v >= 0.005]
        worth = (f"{usd(short['value_pv_usd'])} in present value at {_valued_at(summary)} "
                 f"({usd(short['value_usd'])} in each year's money)" if "value_pv_usd" in short
                 else f"{usd(short['value_usd'])} in each year's money at {_valued_at(summary)}")
        items.append(("Unmet demand", f"{tonnes(short['total_t'])} t over {start}–{end} ({', '.join(parts)}), worth "
                                      f"{worth}."))
    else:
        items.append(("Unmet demand", "None: every year's demand is met."))
    jv = summary.get("jv") or {}
    if jv.get("builds"):
        items.append(("Joint ventures and licences", f"{jv['builds']} capacity starts, {usd(jv['capex_usd'])} of "
                                                     f"capital."))
    return items


# ---------------------------------------------------------------------------------------------- tables
def _tonnes(value: float) -> str:
    """Tonnes for a table: solver noise below 5 kg shows as 0."""
    return tonnes(0.0 if abs(value) < 0.005 else value)


OBJECTIVE_WORDS = {"dependence": "exposure (tonnes attributed plus tonnes unmet, % of demand)", "cost": "cost"}
"""The scenario's ``objective.minimise`` in a report's words."""


def mineral_table(summary: dict, names: Names) -> Table:
    dep, cost, short = summary["dependence"], summary["cost"], summary["shortfall"]
    exposure, share = dep["exposure"], dep["share_of_supply"]
    rows = []
    for m in dict.fromkeys([*exposure["by_mineral"], *share["by_mineral"]]):
        cells = []
        for measure in (exposure, share):
            v = measure["by_mineral"].get(m) or {}
            cells += [pct(v.get("least_cost_pct")), pct(v.get("optimised_pct")),
                      change_pp(v.get("optimised_pct"), v.get("least_cost_pct"))]
        rows.append([names.Mineral(m), *cells, _tonnes(short["by_mineral_t"].get(m, 0.0)),
                     usd(cost["by_mineral_pv_usd"].get(m))])
    agg = summary["scenario"].get("aggregate", "mean")
    cells = []
    for measure in (exposure, share):
        cells += [pct(measure.get("least_cost_overall_pct")), pct(measure.get("overall_pct")),
                  change_pp(measure.get("overall_pct"), measure.get("least_cost_overall_pct"))]
    rows.append([f"All minerals ({agg})", *cells, _tonnes(short["total_t"]), usd(cost["total_pv_usd"])])
    country = summary["scenario"].get("dependence_on", "CHN")
    return Table(["Mineral", "Exposure, least-cost", "Exposure, optimised", "Change", "Share of supply, least-cost",
                  "Share of supply, optimised", "Change", "Unmet demand, t", "Cost of supply (PV)"], rows,
                 ["l", "r", "r", "r", "r", "r", "r", "r", "r"],
                 title=f"Exposure to {names.country(country)} (tonnes attributed plus tonnes unmet, % of demand) and "
                 f"share of supply attributed to it (% of tonnes supplied; n/a: nothing supplied), means over years; "
                 f"unmet demand and cost of supply by mineral")


def jv_table(summary: dict, names: Names) -> Table | None:
    jv = summary.get("jv") or {}
    built = jv.get("capacity_built_tpy") or {}
    if not built:
        return None
    modes = [m for m in MODES if any(b.get(m) for b in built.values())]
    rows = [[names.Mineral(m), *[_tonnes(b.get(mode, 0.0)) for mode in modes],
             _tonnes((jv.get("buyer_hosted_with_partner_tpy") or {}).get(m, 0.0))] for m, b in built.items()]
    buyer = names.country(summary["scenario"].get("buyer", "USA"))
    return Table(["Mineral", *[m.capitalize() for m in modes], f"In the {buyer} with a foreign partner"], rows,
                 ["l"] + ["r"] * (len(modes) + 1), title="Capacity built by deal, t per year",
                 note=f"Licensing: technology licensed, no foreign equity. Minority, parity and majority: the "
                      f"foreign partner's equity is below, at or above 50%. Domestic: built without a partner. "
                      f"Capital: {usd(jv.get('capex_usd'))}.")


def with_unmet(cost: dict) -> float:
    """A summary's headline cost: including unmet demand at its value (a folder written before results schema 3
    may lack it: cost plus the value of unmet demand, or cost alone)."""
    return cost.get("total_with_unmet_pv_usd", cost["total_pv_usd"] + (cost.get("unmet_value_pv_usd") or 0.0))


def _valued_at(summary: dict) -> str:
    """How the summary's unmet demand is valued: '10x the mineral's reference price per tonne' (a folder written
    before the words were in the summary: ``UNMET_DEMAND_VALUE``)."""
    return (summary.get("shortfall") or {}).get("valued_at") or UNMET_DEMAND_VALUE


def cost_table(summary: dict) -> Table:
    """The parts of the headline cost: each component of supply, and unmet demand at its value."""
    cost = summary["cost"]
    by = dict(cost["by_component_pv_usd"])
    parts = sorted(((component(c), v) for c, v in by.items() if v), key=lambda kv: -kv[1])
    if cost.get("unmet_value_pv_usd"):
        parts.append((f"Unmet demand at its value ({_valued_at(summary)})", cost["unmet_value_pv_usd"]))
    total = with_unmet(cost) or 1.0
    rows = [[name, usd(v), f"{100 * v / total:.1f}%"] for name, v in parts]
    rows.append(["Cost including unmet demand", usd(with_unmet(cost)), "100.0%"])
    return Table(["Component", "Present value", "Share"], rows, ["l", "r", "r"],
                 title=f"Cost by component, present value, unmet demand included at {_valued_at(summary)}")


def duals_table(duals: pd.DataFrame | None, names: Names) -> Table | None:
    """The ``TOP_DUALS`` binding policies with the largest shadow prices (by absolute value, in each year's money)."""
    if duals is None or duals.empty or "dual_usd" not in duals.columns:
        return None
    top = duals.reindex(duals["dual_usd"].abs().sort_values(ascending=False, kind="stable").index).head(TOP_DUALS)
    rows = []
    for r in top.itertuples(index=False):
        year = "" if pd.isna(r.year) else str(int(r.year))
        where = "" if pd.isna(r.country) else str(r.country)
        rows.append([str(r.policy), names.mineral(str(r.mineral)), year, where, usd(float(r.dual_usd)),
                     str(r.unit).removeprefix("USD "), "" if pd.isna(r.reading) else str(r.reading)])
    return Table(["Policy", "Mineral", "Year", "Country", "Shadow price", "Per", "What it means"], rows,
                 ["l", "l", "r", "l", "r", "l", "l"],
                 title=f"The {len(rows)} most expensive binding policies (of {len(duals)})",
                 note="Shadow prices of the cost stage: how much the plan's cost would fall if the policy were "
                      "relaxed by one unit, in money of that year.")


def _years_text(years: list[int]) -> str:
    from engine.outputs.display import _years_text as text

    return text(years)


def assumptions_section(folder: ResultsFolder, names: Names) -> Section:
    """The scenario's assumptions and its policies, as solved (from summary.json and scenario.yaml)."""
    s, sc, resolved = folder.summary, folder.summary["scenario"], folder.scenario
    objective = resolved.get("objective") or {}
    finance = resolved.get("finance") or {}
    budget = objective.get("budget")
    if isinstance(budget, dict) and "premium" in budget:
        budget_text = f"+{100 * float(budget['premium']):g}% over the least-cost plan"
    elif budget is not None:
        budget_text = usd(float(budget)) if not isinstance(budget, dict) else str(budget)
    else:
        budget_text = "none"
    start, end = sc["horizon"]
    rows = [["Buyer", names.country(sc.get("buyer", "USA"))], ["Horizon", f"{start}–{end}"],
            ["Minerals", ", ".join(names.mineral(m) for m in sc["minerals"])],
            ["Objective", f"minimise {OBJECTIVE_WORDS.get(objective.get('minimise', 'dependence'), 'cost')}; "
                          f"budget {budget_text}; "
                          + ("unmet demand avoided first, at any cost" if objective.get("shortfall") == "first"
                             else f"unmet demand a cost at {_valued_at(s)}")],
            ["Dependence counted", f"on {names.country(sc.get('dependence_on', 'CHN'))}, {sc.get('basis')} basis "
                                   f"(tonnes {basis_words(sc)} it), "
                                   + ((s.get("dependence") or {}).get("weighting") or {}).get(
                                       "text", f"{sc.get('aggregate', 'mean')} over minerals and years")],
            ["Discounting", f"{100 * float(finance.get('discount_rate', 0)):g}% a year to "
                            f"{finance.get('base_year') or start}; JV assets over "
                            f"{finance.get('asset_life_years', '')} years"],
            ["Dataset", str((s.get("inputs") or {}).get("dataset", ""))]]
    assumptions = Table(["Assumption", "Value"], rows, ["l", "l"], title="Assumptions")
    status = {p["policy"]: p for p in s.get("policies") or []}
    policy_rows = []
    for p in resolved.get("policies") or []:
        minerals = p.get("minerals")
        years = p.get("years") or {}
        span = (f"{years.get('first', start)}–{years.get('last', end)}" if isinstance(years, dict)
                else str(years))
        state = status.get(p.get("name"), {}).get("status", "")
        policy_rows.append([str(p.get("name")), str(p.get("type")),
                            ", ".join(names.mineral(m) for m in minerals) if minerals else "all", span, state,
                            " ".join(str(p.get("description") or "").split())])
    tables = [assumptions]
    if policy_rows:
        tables.append(Table(["Policy", "Type", "Minerals", "Years", "Status", "What it is"], policy_rows,
                            ["l", "l", "l", "l", "l", "l"], title="Policies in the scenario"))
    return Section("Assumptions and policies", [] if policy_rows else ["The scenario has no policies."],
                   tables)


def policy_status_section(summary: dict, table: pd.DataFrame | None, names: Names) -> Section | None:
    """What each policy does to the whole plan: the plan re-solved without it at the same budget in USD, and the
    one-unit relaxation that matters most (from summary.json; policies.csv and policy_years.csv have every figure)."""
    policies = summary.get("policies")
    if not policies:
        return None
    from engine.outputs.display import UNIT_WORDS, effect_words

    budget = (summary.get("policy_impacts") or {}).get("budget_pv_usd")
    rows = []
    for p in policies:
        years = p.get("unmet_by_mineral_year_t") or []
        where = ", ".join(f"{names.mineral(y['mineral'])} {y['year']} {y['added_t']:+,.2f} t" for y in years[:4])
        if len(years) > 4:
            where += f" and {len(years) - 4} more"
        best, relaxed = p.get("best_relaxation"), ""
        if best:
            words, effect = UNIT_WORDS.get(best.get("family", ""), best["relaxed_by"]), effect_words(best, "change_")
            relaxed = (f"{words}: no level changes in the mineral-years tried" if effect.startswith("no change")
                       else f"{words} in {names.mineral(best['mineral'])} {best['year']}: {effect}")
        effect = effect_words(p, "added_") if p["status"] == "binds" else "none"
        rows.append([p["policy"], p["type"].replace("_", " "), p["status"], str(p["covers_mineral_years"]), effect,
                     where or "none", relaxed])
    held = f" ({usd(budget)}, present value)" if budget else ""
    paragraphs = [f"Each policy is removed in turn and the whole plan re-solved at the same budget{held}. The figures "
                  "are the plan with the policy minus the plan without it: unmet demand (t), cost including unmet "
                  "demand at its value and the least-cost plan's cost (USD, present value), and exposure to China "
                  "(percentage points). A policy binds when removing it changes one of these beyond solver noise; "
                  "slack when it changes none. For the policies that bind, one unit (a tonne, a t/yr, a percentage "
                  "point) is relaxed in the mineral-years where it matters most and the plan re-solved again. "
                  "policies.csv and policy_years.csv have every figure; shadow prices are in duals.csv only."]
    slack = [p["policy"] for p in policies if p["status"] == "slack"]
    if slack:
        paragraphs.append("Slack (removing it changes no level of the plan): " + ", ".join(slack) + ".")
    return Section("Policy impacts", paragraphs, [Table(
        ["Policy", "Type", "Status", "Mineral-years covered", "With the policy", "Unmet demand it adds, by "
         "mineral-year", "Best one-unit relaxation"], rows, ["l", "l", "l", "r", "l", "l", "l"],
        title="What each policy does to the whole plan")])


# ---------------------------------------------------------------------------------------------- figures
def owner_tonnes(folder: ResultsFolder) -> pd.DataFrame | None:
    """The owner table of a folder (``results.owner_table``: owners.csv); None for a folder written before it
    existed (the chart then shows each plant's largest owner)."""
    if not (folder.path / "owners.csv").is_file():
        return None
    owners = folder.tables.get("owners")
    return owners if owners is not None else pd.DataFrame(columns=["scen", "mineral", "year", "owner", "tonnes"])


def _plot(slug: str, title: str, caption: str, fig: object) -> Plot | None:
    return None if fig is None else Plot(slug, title, caption, png_bytes(fig))  # type: ignore[arg-type]


def _sections(folder: ResultsFolder, names: Names) -> list[Section]:
    s = folder.summary
    sc = s["scenario"]
    minerals, country, buyer = sc["minerals"], sc.get("dependence_on", "CHN"), sc.get("buyer", "USA")
    start, end = sc["horizon"]
    objective = folder.scenario.get("objective") or {}
    sections = [Section("Summary", tables=[mineral_table(s, names)]), assumptions_section(folder, names)]
    status = policy_status_section(s, folder.table("policies"), names)
    if status is not None:
        sections.append(status)
    dep, flows = folder.table("dependence"), folder.table("flows")
    if dep is not None:
        fig = plots.dependence_figure(dep, minerals, names, country, sc.get("aggregate", "mean"),
                                      objective.get("weights") or {}, buyer,
                                      (s["dependence"]["exposure"].get("least_cost_overall_pct"),
                                       s["dependence"]["exposure"]["overall_pct"]),
                                      (s["dependence"].get("weighting") or {}).get("prices_usd_per_t"))
        p = _plot("dependence", "Exposure by year",
                  f"Exposure to {names.country(country)} ({sc.get('basis')} basis): tonnes attributed plus tonnes "
                  f"unmet, % of each year's demand, in the optimised plan (solid) and in the least-cost plan (dashed). "
                  f"The shaded band is the cut the optimised plan buys. Each panel has its own scale. Shaded red: "
                  f"years with demand left unmet (counted in the exposure). The share of supply is in the table "
                  f"above and in dependence.csv.", fig)
        sections.append(Section("Dependence by year", plots=[p] if p else []))
        sourcing = Section("Where the supply comes from",
                           [f"Tonnes per year by country where the material is refined (left) and by the home "
                            f"country of its owners (right: each plant's tonnes split across its owners by equity "
                            f"share, so a joint venture's partner shows with its share; owners.csv). "
                            f"{names.country(country)} is always red. Hatched: demand left unmet."])
        for m in minerals:
            p = _plot(f"sourcing_{m}", f"{names.Mineral(m)}: sourcing",
                      f"{names.Mineral(m)}: where the {names.country(buyer)} buys, {names.unit(m)} per year.",
                      plots.sourcing_figure(flows if flows is not None else pd.DataFrame(
                          columns=["scen", "mineral", "year", "location", "owner", "tonnes"]), dep, m, names, buyer,
                          country, owner_tonnes(folder)))
            if p:
                sourcing.plots.append(p)
        sections.append(sourcing)
    jv = Section("Joint ventures and licences")
    table = jv_table(s, names)
    if table is not None:
        jv.tables.append(table)
    p = _plot("builds", "Build schedule",
              "Each option built: hatched from the year it is started until it comes online, solid while it runs "
              "(to the end of the horizon). Diamonds mark later expansions of the same option.",
              plots.builds_figure(folder.table("builds"), minerals, names, (start, end)))
    if p:
        jv.plots.append(p)
    if not jv.tables and not jv.plots:
        jv.paragraphs.append("No joint venture or licence is built in this plan.")
    sections.append(jv)
    p = _plot("stockpile", "Stockpile", "Stock at the end of each year (line), tonnes bought in (up) and drawn "
              "(down); shaded years leave demand unmet. Each mineral on its own scale.",
              plots.stockpile_figure(folder.table("stockpile"), folder.table("dependence"), minerals, names))
    if p:
        sections.append(Section("Strategic stockpile", plots=[p]))
    cost = s["cost"]
    money = (f"{usd(with_unmet(cost))} in present value including unmet demand at {_valued_at(s)}"
             + (f", {usd(cost['premium_usd'])} "
             f"({cost['premium_pct']:+.1f}%) over the least-cost plan" if cost.get("premium_pct") is not None else ""))
    p = _plot("costs", "Cost breakdown",
              "Present value by mineral and cost component (left) and spending per year, not discounted (right). "
              "JV capital is paid as annual instalments while the plant runs.",
              plots.costs_figure(folder.table("costs"), minerals, names, folder.scenario.get("finance", {}).get(
                  "base_year") or start, money, None if dep is None else dep.groupby("year")["shortfall_t"].sum()))
    sections.append(Section("Costs", tables=[cost_table(s)], plots=[p] if p else []))
    frontier = folder.table("frontier")
    if frontier is not None:
        p = _plot("frontier", "Price of independence",
                  "Each point is the cheapest plan at one cap on exposure. Left: the premium over the least-cost "
                  "plan. Right: what one more percentage point would cost at that point (the cap's shadow price, and "
                  "the average between neighbouring points). The star is this plan: its exposure and premium.",
                  plots.frontier_figure(frontier, names, country, (s["dependence"]["exposure"]["overall_pct"],
                                                                   s["cost"].get("premium_usd") or 0.0)))
        where = folder.frontier_path.parent if folder.frontier_path else folder.path
        sections.append(Section("Price of independence", [
            f"From {where / 'frontier.csv'}. This plan sits at {pct(s['dependence']['exposure']['overall_pct'])} "
            f"exposure for a "
            f"premium of {usd(s['cost'].get('premium_usd'))}."], plots=[p] if p else []))
    for label, table in folder.extra_frontiers.items():
        p = _plot(f"frontier_{label}", "Price of independence by mineral",
                  "Each mineral's own mean share swept on its own, the other minerals free.",
                  plots.frontier_figure(table, names, country))
        if p:
            sections.append(Section(f"Price of independence by mineral ({folder.path.name}-frontier-{label})",
                                    plots=[p]))
    table = duals_table(folder.table("duals"), names)
    if table is not None:
        sections.append(Section("Binding policies", tables=[table]))
    return sections


def make_report(folder: ResultsFolder) -> Report:
    """Everything the report shows, with the figures rendered (any kind of results folder)."""
    if folder.kind.startswith("market"):
        from engine.report.market import make_market_report

        return make_market_report(folder)
    if folder.kind != "solve":
        from engine.report.analyses import make_analysis_report

        return make_analysis_report(folder)
    names = Names(folder.inputs)
    s = folder.summary
    sc = s["scenario"]
    title = f"critmin report: scenario '{sc['name']}'"
    digest = str((s.get("inputs") or {}).get("hash", ""))[:12]
    version = (s.get("versions") or {}).get("critmin-engine", "")
    footer = f"Generated by critmin {version} from {folder.path}; inputs hash {digest}."
    sections = _sections(folder, names) if "dependence" in s else []
    warnings = [str(w) for w in s.get("warnings", [])] + [str(n) for n in folder.notes]
    return Report(title, (sc.get("description") or "").strip(), headline(s, names), sections, warnings, footer)
