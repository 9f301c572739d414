"""Printing, plotting and writing a worst-case run (the ``critmin worstcase`` command's library side)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import yaml

from engine.analysis.worstcase import (
    ByMineral,
    PlanOutcome,
    WorstCaseResult,
    added_by_mineral,
    added_tonnes,
    describe_set,
)
from engine.figures.analysis_plots import worstcase_figure
from engine.figures.labels import Names
from engine.figures.style import RC, png_bytes
from engine.outputs.display import pct, signed_tonnes, tonnes, usd
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.results import build_table, make_tables, stockpile_table
from engine.outputs.summary import versions
from engine.solvers.base import TONNES_NOISE, beyond_noise


def _usd(value: float, _pos: object = None) -> str:
    """Axis label for USD (the formatter frontier_plot used to share, removed there in the issue 17 merge)."""
    a = abs(value)
    if a >= 1e9:
        return f"{value / 1e9:,.1f} bn"
    if a >= 1e6:
        return f"{value / 1e6:,.0f} m"
    if a >= 1e3:
        return f"{value / 1e3:,.0f} k"
    return f"{value:,.0f}"


def _with_unmet(plan: dict) -> float:
    """An unrestricted plan's cost including its unmet demand at its value (``WorstCaseOutcome.unrestricted``)."""
    return plan["cost_pv_usd"] + plan["unmet_value_pv_usd"]


def by_mineral_text(added: ByMineral, names: Names) -> str:
    """'cobalt +31,452 t; germanium +6.43 t' (minerals by name, in code order; '' when nothing is added)."""
    return "; ".join(f"{names.mineral(m)} {signed_tonnes(v)} t" for m, v in sorted(added.items()))



HEADLINE_COLUMNS = [
    "k", "worst_set", "worst_unmet_added_t", "worst_unmet_added_by_mineral", "worst_unmet_value_added_pv_usd",
    "deterministic_worst_set", "deterministic_worst_unmet_added_t", "deterministic_worst_unmet_added_by_mineral",
    "deterministic_worst_unmet_value_added_pv_usd", "sets_adding_unmet", "sets_tried", "insurance_value_usd",
    "premium_usd", "exposure_change_pp", "share_of_supply_change_pp", "over_budget", "budget_pv_usd",
    "worst_unmet_value_pv_usd", "worst_unmet_t", "deterministic_worst_unmet_value_pv_usd",
    "deterministic_worst_unmet_t", "cost_with_unmet_pv_usd", "cost_pv_usd", "exposure_pct", "share_of_supply_pct",
    "unrestricted_unmet_t", "jv_capacity_tpy", "method", "iterations", "restriction_sets_in_master", "seconds"]
"""``worstcase.csv``'s columns, one row per k. Changes against the base plan (the scenario's own plan with no
restriction, ``WorstCaseResult.base``; within solver noise: 0): unmet tonnes added by the robust plan's worst set
(``worst_unmet_added_t``, by mineral in words) and their value (USD PV), the same for the deterministic plan's
worst set, and the robust plan's own changes with no restriction: ``premium_usd`` (cost including unmet demand at
its value), ``exposure_change_pp``, ``share_of_supply_change_pp``. ``sets_adding_unmet`` of ``sets_tried``: sets of
at most k undominated moves that add unmet demand to the deterministic plan. ``over_budget``: even the least cost of
plans that hold the worst case exceeds the base budget (``budget_pv_usd``), so the robust plan is that least-cost
plan. Then totals, for analysts: under each worst set (including the base's own unmet demand) and of the robust plan
with no restriction."""


def headline(result: WorstCaseResult) -> pd.DataFrame:
    """One row per k: what the worst set adds to the base plan's unmet demand, against the robust and the
    deterministic plan, and what the robust plan changes with no restriction (``HEADLINE_COLUMNS``)."""
    base = result.base
    names = Names(result.inputs.get("inputs"))
    rows = []
    for k, outcome in sorted(result.robust.items()):
        plain = outcome.unrestricted()
        worst_det, det_damage, det_t, det_by = result.deterministic_worst[k]
        adding, tried = result.sets_adding.get(k, (0, 0))
        rows.append({
            "k": k,
            "worst_set": describe_set(outcome.worst_set, result.country_name, result.names),
            "worst_unmet_added_t": added_tonnes(outcome.worst_shortfall_t, base["unmet_t"]),
            "worst_unmet_added_by_mineral": by_mineral_text(
                added_by_mineral(outcome.worst_by_mineral, base["unmet_by_mineral"]), names),
            "worst_unmet_value_added_pv_usd": beyond_noise(outcome.worst_damage_usd - base["unmet_value_pv_usd"],
                                                           outcome.worst_damage_usd),
            "deterministic_worst_set": describe_set(worst_det, result.country_name, result.names),
            "deterministic_worst_unmet_added_t": added_tonnes(det_t, base["unmet_t"]),
            "deterministic_worst_unmet_added_by_mineral": by_mineral_text(
                added_by_mineral(det_by, base["unmet_by_mineral"]), names),
            "deterministic_worst_unmet_value_added_pv_usd": beyond_noise(det_damage - base["unmet_value_pv_usd"],
                                                                         det_damage),
            "sets_adding_unmet": adding,
            "sets_tried": tried,
            "insurance_value_usd": beyond_noise(det_damage - outcome.worst_damage_usd, det_damage),
            "premium_usd": beyond_noise(_with_unmet(plain) - base["cost_with_unmet_pv_usd"],
                                        base["cost_with_unmet_pv_usd"]),
            "exposure_change_pp": _pp(plain["exposure_pct"] - base["exposure_pct"]),
            "share_of_supply_change_pp": _pp(plain["share_of_supply_pct"] - base["share_of_supply_pct"]),
            "over_budget": outcome.over_budget,
            "budget_pv_usd": base["budget_pv_usd"],
            "worst_unmet_value_pv_usd": outcome.worst_damage_usd,
            "worst_unmet_t": outcome.worst_shortfall_t,
            "deterministic_worst_unmet_value_pv_usd": det_damage,
            "deterministic_worst_unmet_t": det_t,
            "cost_with_unmet_pv_usd": _with_unmet(plain),
            "cost_pv_usd": plain["cost_pv_usd"],
            "exposure_pct": plain["exposure_pct"],
            "share_of_supply_pct": plain["share_of_supply_pct"],
            "unrestricted_unmet_t": plain["shortfall_t"],
            "jv_capacity_tpy": float(build_table(outcome.model, outcome.x)["capacity_tpy"].sum()),
            "method": outcome.method,
            "iterations": len(outcome.iterations),
            "restriction_sets_in_master": outcome.sets_in_master - 1,
            "seconds": outcome.seconds,
        })
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


PP_NOISE = 1e-6
"""A change in exposure or share of supply below this many percentage points is solver noise (0)."""


def _pp(change: float) -> float:
    return 0.0 if abs(change) < PP_NOISE else float(change)


def bounds_table(result: WorstCaseResult) -> pd.DataFrame:
    rows = []
    for k, outcome in sorted(result.robust.items()):
        for it in outcome.iterations:
            rows.append({"k": k, "iteration": it["iteration"], "lower_bound_usd": it["lower_usd"],
                         "upper_bound_usd": it["upper_usd"], "restriction_sets": it["sets"],
                         "adversary_best_response": describe_set(it["worst_set"], result.country_name,
                                                                               result.names)})
    return pd.DataFrame(rows, columns=["k", "iteration", "lower_bound_usd", "upper_bound_usd", "restriction_sets",
                                       "adversary_best_response"])


def builds_table(result: WorstCaseResult) -> pd.DataFrame:
    """The first stage of every plan: JV and licence builds (k = 0 is the deterministic plan)."""
    frames = [build_table(o.model, o.x).assign(k=k) for k, o in sorted(result.robust.items())]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table[["k", *[c for c in table.columns if c != "k"]]] if len(table) else table


def stockpile_purchases(result: WorstCaseResult) -> pd.DataFrame:
    frames = []
    for k, o in sorted(result.robust.items()):
        sp = stockpile_table(o.model, o.x)
        if len(sp):
            sp = sp[sp["scen"] == 0]
            frames.append(sp[["mineral", "year", "put_t"]].assign(k=k))
    if not frames:
        return pd.DataFrame(columns=["k", "mineral", "year", "put_t"])
    out = pd.concat(frames, ignore_index=True)
    return out[["k", "mineral", "year", "put_t"]]


def _years(result: WorstCaseResult) -> str:
    starts = sorted({m.start for m in result.moves})
    if not starts:
        return "the horizon"
    return str(starts[0]) if len(starts) == 1 else f"{starts[0]}-{starts[-1]}"


BASES = {"location": "located in", "owner": "controlled by", "either": "in or controlled by"}


def render_worstcase(result: WorstCaseResult, top: int = 5) -> str:
    """The printout: every figure a change against the base plan, names not codes."""
    if result.status != "optimal":
        return f"Worst case for '{result.scenario}': {result.status} ({result.message})"
    s, country, base = result.settings, result.country_name, result.base
    names = Names(result.inputs.get("inputs"))
    cut = "located in or controlled by" if s.by == ["either"] else " / ".join(BASES[b] for b in s.by)
    table = headline(result)
    shown = table[table["k"] > 0]
    base_by = by_mineral_text({m: t for m, t in base["unmet_by_mineral"].items() if t >= TONNES_NOISE},
                              names).replace("+", "")
    lines = [f"Worst case for '{result.scenario}': {country} restricts up to k minerals' supply {cut} {country} to "
             f"{s.share:.0%} of normal, starting in any year of {_years(result)} ({len(result.moves)} moves, "
             f"{len(result.adversary_moves)} undominated).",
             f"  Every figure is a change against the base plan (the scenario's own plan, as solve plans it, with no "
             f"restriction: {tonnes(base['unmet_t'])} t unmet{f' ({base_by})' if base_by else ''}, exposure "
             f"{pct(base['exposure_pct'])}); changes within solver noise are dropped (shown as 0).",
             "  Unmet demand added: with the plan's JV builds and stockpile fixed and purchases re-planned from the "
             "restriction's start year, valued at 10x the reference price (present value).",
             _budget_line(base.get("budget_pv_usd"), int(shown["over_budget"].astype(bool).sum()), len(shown))]
    if shown.empty:
        lines.append("  k = 0: no restriction moves allowed; the base plan only.")
        return "\n".join(lines)
    lines += ["", f"  {'k':>4} {'unmet added':>12} {'value added':>14} {'deterministic plan':>19} {'premium':>12} "
                  f"{'exposure':>9} {'share of supply':>16}  worst restriction set (robust plan): unmet added by "
                  f"mineral"]
    for r in shown.itertuples(index=False):
        flag = " (1)" if r.over_budget else ""
        what = (f"{r.worst_set}: {r.worst_unmet_added_by_mineral}" if r.worst_unmet_added_t > 0 else
                f"no set of up to {r.k} move{'s' if r.k > 1 else ''} adds unmet demand")
        lines.append(f"  {str(r.k) + flag:>4} {signed_tonnes(r.worst_unmet_added_t) + ' t':>12} "
                     f"{_plus(r.worst_unmet_value_added_pv_usd):>14} "
                     f"{_plus(r.deterministic_worst_unmet_value_added_pv_usd):>19} {_plus(r.premium_usd):>12} "
                     f"{_change(r.exposure_change_pp):>9} {_change(r.share_of_supply_change_pp):>16}  {what}")
    lines += ["", "  unmet added and value added: by the worst set against the robust plan for that k; deterministic "
                  "plan: the value its own worst set adds to it. premium (cost including unmet demand at its value), "
                  "exposure (attributed plus unmet tonnes, % of demand) and share of supply (attributed, % of tonnes "
                  "supplied): the robust plan's changes with no restriction."]
    for r in shown.itertuples(index=False):
        lines.append(f"  k = {r.k}: {r.sets_adding_unmet} of {r.sets_tried} sets of up to {r.k} undominated "
                     f"move{'s' if r.k > 1 else ''} add unmet demand to the deterministic plan; "
                     f"{_insurance(result, r.k, names)}.")
    worst = shown.iloc[-1]
    if worst["worst_unmet_added_t"] > 0 and len(result.regret):
        regret = result.regret[result.regret["restriction"] == worst["worst_set"]]
        if len(regret):
            best = beyond_noise(float(regret["best_possible_usd"].iloc[0]) - base["unmet_value_pv_usd"],
                                float(regret["best_possible_usd"].iloc[0]))
            lines.append(f"  Under the worst set for k = {worst['k']}, the best plan had it been known in advance "
                         f"adds {_plus(best)} of unmet demand (regret.csv: every plan against every worst set).")
    for r in shown.itertuples(index=False):
        lines.append(f"  k = {r.k}: {r.method}, {r.iterations} iteration(s), {r.restriction_sets_in_master} "
                     f"restriction set(s) in the master, {r.seconds:.2f} s")
    lines += move_lines(result.move_damage, top)
    return "\n".join(lines)


def move_lines(moves: pd.DataFrame, top: int = 5) -> list[str]:
    """How many single moves add unmet demand to the base plan, and the worst ``top`` of them."""
    if moves.empty:
        return []
    added = moves["deterministic added_unmet_t"].fillna(0.0)
    hurting = moves[added > 0]
    n = len(moves)
    if hurting.empty:
        return ["", f"  None of the {n} moves adds unmet demand to the base plan, one at a time."]
    lines = ["", f"  {len(hurting)} of {n} moves add unmet demand to the base plan, one at a time"
                 f"{f'; the other {n - len(hurting)} add none' if len(hurting) < n else ''}. The worst:"]
    for _, r in hurting.head(top).iterrows():
        lines.append(f"  - {r['move']}: {signed_tonnes(r['deterministic added_unmet_t'])} t unmet "
                     f"({_plus(r['deterministic added_unmet_value_usd'])})")
    if len(hurting) > top:
        lines.append(f"  … {len(hurting) - top} more in moves.csv")
    return lines


def _plus(value: float) -> str:
    """A change in USD: '+USD 10.74 bn', '-USD 3.0 m', 'USD 0'."""
    text = usd(value)
    return text if text == "USD 0" else ("+" if value > 0 else "-") + usd(abs(value))


def _change(pp: float) -> str:
    return "0 pp" if abs(pp) < 0.005 else f"{pp:+.2f} pp"


def _budget_line(budget: float | None, over: int, plans: int) -> str:
    if budget is None:
        return "  Budget: none; the scenario minimises cost, and so does every robust plan (its hierarchy after the " \
               "worst case)."
    text = (f"  Budget: every robust plan is planned within the base plan's budget, held at {usd(budget)} (cost "
            f"including unmet demand, present value)")
    if over:
        text += (f"; (1): even the cheapest plan that holds the worst case exceeds it, so the robust plan is that "
                 f"cheapest plan ({over} of {plans})")
    return text + "."


def _insurance(result: WorstCaseResult, k: int, names: Names) -> str:
    """What the robust plan for k buys beyond the base plan: JV capacity by deal name, stockpile tonnes by mineral."""
    base, robust = result.deterministic, result.robust[k]
    if robust is base:
        return "the robust plan is the base plan"
    parts = []
    keys = ["option_id", "mineral", "mode", "partner", "host"]
    b = build_table(base.model, base.x).groupby(keys)["capacity_tpy"].sum()
    r = build_table(robust.model, robust.x).groupby(keys)["capacity_tpy"].sum()
    change = r.sub(b, fill_value=0.0)
    for key, v in change.items():
        if abs(v) >= 0.005:
            row = dict(zip(keys, key, strict=True))
            parts.append(f"{names.option(row)} {'+' if v > 0 else '-'}{tonnes(abs(float(v)))} t/yr")
    stock = stockpile_purchases(result)
    bought = stock.groupby(["k", "mineral"])["put_t"].sum()
    for m in sorted({mm for kk, mm in bought.index if kk in (0, k)}):
        v = float(bought.get((k, m), 0.0) - bought.get((0, m), 0.0))
        if abs(v) >= 0.005:
            parts.append(f"{names.mineral(m)} stockpile {'+' if v > 0 else '-'}{tonnes(abs(v))} t")
    return ("the robust plan buys, beyond the base plan: " + ", ".join(parts) if parts else
            "the robust plan has the base plan's JV builds and stockpile")


def plan_tables(outcome: PlanOutcome) -> dict[str, pd.DataFrame]:
    """The unrestricted plan's tidy tables (scenario 0 of the master), as ``solve`` writes them."""
    least = outcome.plan.least_cost.x if outcome.plan is not None and outcome.plan.least_cost else None
    tables = make_tables(outcome.model, outcome.x, least)
    out = {}
    for name, frame in tables.items():
        out[name] = frame[frame["scen"] == 0].reset_index(drop=True) if "scen" in frame else frame
    return out


def summary(result: WorstCaseResult) -> dict:
    table = headline(result)
    return stamped({"scenario": result.scenario, **result.inputs, "status": result.status, "message": result.message,
                    "country": result.country, "solver_checks": result.solver_checks,
                    "settings": result.settings.model_dump(mode="json") if result.settings else None,
                    "moves": len(result.moves), "undominated_moves": len(result.adversary_moves),
                    "by_k": table.to_dict(orient="records"), "versions": versions()})


def write_worstcase(result: WorstCaseResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(headline(result), tmp / "worstcase.csv")
        write_csv(bounds_table(result), tmp / "bounds.csv")
        write_csv(result.regret, tmp / "regret.csv")
        write_csv(result.move_damage, tmp / "moves.csv")
        write_csv(builds_table(result), tmp / "builds.csv")
        write_csv(stockpile_purchases(result), tmp / "stockpile.csv")
        for k, outcome in sorted(result.robust.items()):
            plan = tmp / f"k{k}"
            plan.mkdir()
            for name, frame in plan_tables(outcome).items():
                write_csv(frame, plan / f"{name}.csv")
        fig = worstcase_figure(headline(result), result.country_name, result.scenario)
        if fig is not None:
            (tmp / "worstcase.png").write_bytes(png_bytes(fig))
            with plt.rc_context(RC):
                fig.savefig(tmp / "worstcase.svg", format="svg", metadata={"Date": None, "Creator": None})
        write_json(summary(result), tmp / "summary.json")
        if result.settings is not None:
            (tmp / "worstcase.yaml").write_text(yaml.safe_dump(result.settings.model_dump(mode="json"),
                                                               sort_keys=False), encoding="utf-8")

    return write_folder_atomically(folder, fill, force=force)


__all__ = ["headline", "render_worstcase", "write_worstcase"]
