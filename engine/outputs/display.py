"""Readable text for the terminal: the run summary as a planner reads it."""

from __future__ import annotations

import numpy as np

from engine.outputs.weighting import weighting_lines
from engine.solvers.base import TONNES_NOISE

MODE_LABELS = {"domestic": "no partner"}
"""How a deal mode reads in printouts: ``domestic`` means no foreign partner (a Canadian firm's plant in Canada is
``domestic``), not a plant in the buyer's country."""


def usd(value: float | None) -> str:
    """USD with a magnitude suffix: 1.23 bn, 456.7 m, 12,345."""
    if value is None:
        return "n/a"
    if abs(value) < 0.5:
        return "USD 0"
    a = abs(value)
    if a >= 1e9:
        return f"USD {value / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"USD {value / 1e6:,.1f} m"
    return f"USD {value:,.0f}"


def pct(value: float | None) -> str:
    """A percentage to one decimal; n/a when there is none or it is undefined (NaN)."""
    return "n/a" if value is None or value != value else f"{value:.1f}%"


def change_pp(now: float | None, before: float | None) -> str:
    """The change between two percentages in percentage points; empty when either is missing or undefined."""
    if now is None or before is None or now != now or before != before:
        return ""
    return f"{now - before:+.1f} pp"


def measure_lines(dep: dict, country: str, aggregate: str, names: dict[str, str], unmet_by_mineral: dict,
                  unmet_total: float) -> list[str]:
    """The two measures of a summary's ``dependence``, least-cost and optimised, per mineral and overall, with the
    unmet tonnes: the table of ``solve``'s printout."""
    exposure, share = dep["exposure"], dep["share_of_supply"]
    lines = [f"  Exposure to {country}: tonnes attributed to {country} plus tonnes unmet, % of demand",
             f"  Share of supply attributed to {country}: % of tonnes supplied (deliveries and stock "
             f"draws; n/a: nothing supplied)",
             f"  (per mineral the mean over years; 'all' the {aggregate} over minerals and years)",
             f"  {'':<12}{'---------- exposure ----------':>35}{'------- share of supply -------':>35}",
             f"  {'mineral':<12}" + f"{'least-cost':>12}{'optimised':>12}{'change':>11}" * 2 + f"{'unmet t':>12}"]
    for m in dict.fromkeys([*exposure["by_mineral"], *share["by_mineral"]]):
        cells = []
        for measure in (exposure, share):
            v = measure["by_mineral"].get(m) or {}
            lc, opt = v.get("least_cost_pct"), v.get("optimised_pct")
            cells.append(f"{pct(lc):>12}{pct(opt):>12}{change_pp(opt, lc):>11}")
        lines.append(f"  {names.get(m, m):<12}{''.join(cells)}{tonnes(unmet_by_mineral.get(m, 0.0)):>12}")
    label = "all (" + aggregate + ")"
    cells = [f"{pct(me['least_cost_overall_pct']):>12}{pct(me['overall_pct']):>12}"
             f"{change_pp(me['overall_pct'], me['least_cost_overall_pct']):>11}" for me in (exposure, share)]
    lines.append(f"  {label:<12}{''.join(cells)[len(label) - 12:]}{tonnes(unmet_total):>12}"
                 if len(label) > 12 else f"  {label:<12}{''.join(cells)}{tonnes(unmet_total):>12}")
    return lines


def tonnes(value: float) -> str:
    """Tonnes: 0 below the noise threshold (``TONNES_NOISE``), two decimals below 10 t, whole tonnes above."""
    if abs(value) < TONNES_NOISE:
        return "0"
    if abs(value) < 10:
        return f"{value:,.2f}"
    return f"{value:,.0f}"


def render_summary(summary: dict, names: dict[str, str] | None = None,
                   countries: dict[str, str] | None = None) -> str:
    """The terminal summary of a run: minerals as ``names`` and countries as ``countries`` name them (code -> name;
    a code not in them as it is)."""
    names, countries = names or {}, countries or {}
    sc = summary["scenario"]
    on, buyer = countries.get(sc["dependence_on"], sc["dependence_on"]), countries.get(sc["buyer"], sc["buyer"])
    lines = []
    head = f"Scenario '{sc['name']}'"
    if sc.get("file"):
        head += f" ({sc['file']})"
    lines.append(head)
    if sc.get("description"):
        lines.append(f"  {sc['description'].strip()}")
    aim = (f"minimise exposure to {on} ({sc['basis']} basis, {sc['aggregate']} over "
           f"minerals and years) within {sc['budget']}" if sc["objective"] == "dependence"
           else f"minimise cost under the scenario's caps on share of supply ({sc['basis']} basis)")
    lines.append(f"  Buyer {buyer}, {sc['horizon'][0]}-{sc['horizon'][1]}; {aim}.")
    model, stages = summary["model"], summary["stages"]
    solve_s = sum(st["seconds"] or 0 for st in [*stages, *summary.get("tie_break", [])])
    lines.append(f"  {summary['solver']['version']}: {summary['status']} after {len(stages)} stage(s), "
                 f"{solve_s:.2f} s; {model['columns']:,} columns, {model['rows']:,} rows, "
                 f"{model['nonzeros']:,} non-zeros.")
    if summary["status"] != "optimal":
        lines.append(f"  {summary['message']}")
        return "\n".join(lines)
    dep, short = summary["dependence"], summary["shortfall"]
    lines.append("")
    lines.extend(measure_lines(dep, on, sc["aggregate"], names, short["by_mineral_t"],
                               short["total_t"]))
    lines.extend(weighting_lines(dep.get("weighting"), names))
    lines.append("")
    lines.extend(render_cost(summary))
    lines.extend(render_jv(summary.get("jv"), names))
    lines.extend(render_policies(summary.get("policies"), names,
                                 (summary.get("policy_impacts") or {}).get("budget_pv_usd")))
    if short["total_t"] >= TONNES_NOISE:
        lines.append(f"  Unmet demand: {tonnes(short['total_t'])} t over the horizon, worth "
                     f"{usd(short['value_usd'])} in each year's money at {short['valued_at']} "
                     f"({usd(short['value_pv_usd'])} present value). Run 'critmin explain' to see why.")
    for warning in summary.get("warnings", []):
        lines.append(f"  Warning: {warning}")
    return "\n".join(lines)


def render_cost(summary: dict) -> list[str]:
    """The headline cost (cost including unmet demand at its value, what the plan minimises and the budget limits)
    with its parts beside it, and the money it is in (``summary['money']``)."""
    cost, short = summary["cost"], summary["shortfall"]
    money = summary.get("money") or cost["unit"]
    premium = cost.get("premium_pct")
    least = cost.get("least_cost_with_unmet_pv_usd", cost.get("least_cost_pv_usd"))
    total = cost.get("total_with_unmet_pv_usd", cost.get("total_pv_usd"))
    lines = [f"  Cost, present value, including unmet demand at {short['valued_at'].removesuffix(' per tonne')}: "
             f"least-cost {usd(least)}; optimised {usd(total)}; "
             f"premium {usd(cost['premium_usd'])}" + (f" ({premium:+.1f}%)" if premium is not None else ""),
             f"    = supply {usd(cost['total_pv_usd'])}" + _parts(cost.get("by_component_pv_usd") or {}),
             f"    + unmet demand {usd(cost['unmet_value_pv_usd'])} ({tonnes(short['total_t'])} t at "
             f"{short['valued_at']}, present value)"]
    if cost.get("resource_pv_usd") is not None:
        lines += [f"    supply = resource cost {usd(cost['resource_pv_usd'])} (what the economy spends: purchases at "
                  f"producers' prices, JV capex, opex, royalties, stock holding)",
                  f"           + transfers {usd(cost['transfers_pv_usd'])} (tariffs and lost credits)",
                  f"  {cost['objective_counts']}"]
    lines.append(f"  Money: {money}.")
    return lines


def _parts(by_component: dict[str, float]) -> str:
    """' (purchase 32.60 bn, jv opex 26.83 bn, …)': the parts of the cost of supply above USD 0.5, largest first."""
    parts = sorted(((v, k) for k, v in by_component.items() if v is not None and abs(v) >= 0.5), key=lambda p: -p[0])
    return " (" + ", ".join(f"{k.replace('_', ' ')} {usd(v).removeprefix('USD ')}" for v, k in parts) + ")" \
        if parts else ""


def _years_text(years: list[int]) -> str:
    """[2025, 2026, 2027, 2030] -> '2025-2027, 2030'."""
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def signed_amount(value: float, unit: str) -> str:
    """A change with its sign and unit, as every policy line prints it: '+USD 21.0 m', '−1.00 t', '+0.055 pp',
    '−0.00007 pp' (one significant digit below a thousandth of a point, never scientific notation)."""
    sign = "+" if value > 0 else "\u2212" if value < 0 else ""
    size = abs(value)
    if unit == "USD":
        return sign + usd(size)
    if unit == "pp":
        text = f"{size:.3f}" if size >= 0.001 or size == 0 else np.format_float_positional(size, precision=1,
                                                                                          fractional=False)
        return f"{sign}{text} pp"
    return f"{sign}{size:,.0f} t" if size >= 100 else f"{sign}{size:,.2f} t"


def signed_tonnes(value: float) -> str:
    """Tonnes added (+) or removed (-) against a base, as the analyses' tables print them: '+12', '-0.50', '0'
    (``tonnes`` of the size; no unit)."""
    text = tonnes(abs(value))
    return text if text == "0" else ("+" if value > 0 else "-") + text


def effect_words(p: dict, prefix: str = "") -> str:
    """'+10.00 t unmet, +USD 21.0 m cost including unmet, +0.055 pp exposure' from summary figures named
    ``{prefix}unmet…`` (what moved beyond noise; 'no change beyond solver noise' otherwise)."""
    return effect_parts([(p.get(f"unmet_{prefix}t"), "t", "unmet"),
                         (p.get(f"cost_with_unmet_{prefix}usd"), "USD", "cost including unmet"),
                         (p.get(f"least_cost_{prefix}usd"), "USD", "least cost"),
                         (p.get(f"exposure_{prefix}pp"), "pp", "exposure")])


def effect_parts(items: list[tuple[float | None, str, str]]) -> str:
    """(value, unit, label) triples in words, those that moved (not None, NaN or 0) only, else 'no change beyond
    solver noise': the one wording of a policy's effect in the printout, policies.csv and the report."""
    parts = [f"{signed_amount(v, unit)} {label}" for v, unit, label in items if v is not None and v == v and v != 0]
    return ", ".join(parts) if parts else "no change beyond solver noise"


UNIT_WORDS = {"bound": "one more tonne let through", "country_cap": "one more tonne allowed",
              "export_quota": "one more tonne of quota", "content_rule": "one tonne less qualifying supply required",
              "domestic_target": "one t/yr less capacity required",
              "dependence_cap": "one percentage point more share of supply allowed"}
"""A one-unit relaxation in words, by policy family (policy_years.csv's ``family``)."""


def render_policies(policies: list[dict] | None, names: dict[str, str], budget: float | None = None) -> list[str]:
    """What each policy does to the whole plan: the plan re-solved without it at the same budget in USD (policies.csv),
    and for those that bind, the one-unit relaxation that matters most (policy_years.csv)."""
    if not policies:
        return []
    held = f" (USD {budget / 1e9:,.2f} bn)" if budget else ""
    lines = ["", f"  Policy impacts: each policy removed and the whole plan re-solved at the same budget{held};",
             "  figures are the plan with the policy minus the plan without it (policies.csv, policy_years.csv):"]
    for p in policies:
        if p["status"] != "binds":
            continue
        kind = p["type"].replace("_", " ")
        line = f"  - {p['policy']} ({kind}) binds: {effect_words(p, 'added_')}"
        years = p.get("unmet_by_mineral_year_t") or []
        if years:
            shown = ", ".join(f"{names.get(y['mineral'], y['mineral'])} {y['year']} {signed_amount(y['added_t'], 't')}"
                              for y in years[:3])
            more = f", and {len(years) - 3} more" if len(years) > 3 else ""
            line += f"; unmet changes in {len(years)} mineral-year{'s' if len(years) > 1 else ''} ({shown}{more})"
        line += f"; covers {p['covers_mineral_years']} mineral-years"
        lines.append(line)
        best = p.get("best_relaxation")
        if best:
            where = f" on {best['country']}" if best.get("country") else ""
            words = UNIT_WORDS.get(best.get("family", ""), f"relaxed by {best['relaxed_by']}")
            effect = effect_words(best, "change_")
            if effect == "no change beyond solver noise":
                lines.append(f"      {words} changes no level in the mineral-years tried (policy_years.csv)")
            else:
                lines.append(f"      {words} in {names.get(best['mineral'], best['mineral'])} {best['year']}{where}: "
                             f"{effect}")
    slack = [p for p in policies if p["status"] == "slack"]
    if slack:
        lines.append("  Slack (removing it changes no level of the plan): " + "; ".join(
            f"{p['policy']} ({p['type'].replace('_', ' ')}, {p['covers_mineral_years']} mineral-years)"
            for p in slack))
    failed = [p for p in policies if p["status"] == "not solved"]
    lines.extend(f"  - {p['policy']}: {p['reading']}" for p in failed)
    if all(p["status"] == "not computed" for p in policies):
        return ["", f"  Policy impacts not computed (--no-impacts): {len(policies)} "
                f"polic{'y' if len(policies) == 1 else 'ies'} in force; policies.csv lists each as 'not computed' "
                "and policy_years.csv its limits and use."]
    return lines


def render_jv(jv: dict | None, names: dict[str, str]) -> list[str]:
    """The JV and licence mix: capacity built by mode per mineral."""
    if not jv or not jv.get("capacity_built_tpy"):
        return ["", "  No joint ventures or licences built."]
    modes = ["licensing", "minority", "parity", "majority", "domestic"]
    lines = ["", f"  Capacity built 2025 onwards, t/yr by deal (capex {usd(jv['capex_usd'])})",
             f"  {'mineral':<12}" + "".join(f"{MODE_LABELS.get(m, m):>11}" for m in modes) + f"{'with partner':>14}"]
    for mineral, by_mode in jv["capacity_built_tpy"].items():
        cells = "".join(f"{tonnes(by_mode.get(m, 0.0)):>11}" for m in modes)
        home = jv["buyer_hosted_with_partner_tpy"].get(mineral, 0.0)
        lines.append(f"  {names.get(mineral, mineral):<12}{cells}{tonnes(home):>14}")
    lines.append("  ('no partner': built by a firm of the host country alone, in the buyer's country or abroad;")
    lines.append("   'with partner': capacity hosted in the buyer's country built with a foreign technology partner)")
    return lines
