"""Printing, plotting and writing a worst-case run (the ``critmin worstcase`` command's library side)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import yaml

from engine.analysis.worstcase import PlanOutcome, WorstCaseResult, describe_set
from engine.figures.analysis_plots import worstcase_figure
from engine.figures.style import RC, png_bytes
from engine.outputs.display import pct, tonnes, usd
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.results import build_table, make_tables, stockpile_table
from engine.outputs.summary import versions
from engine.solvers.base import beyond_noise


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


def headline(result: WorstCaseResult) -> pd.DataFrame:
    """One row per k: the robust plan's worst case and cost, the deterministic plan's worst case."""
    base = result.deterministic.unrestricted() if result.deterministic else {}
    rows = []
    for k, outcome in sorted(result.robust.items()):
        plain = outcome.unrestricted()
        worst_det, det_damage, det_t = result.deterministic_worst[k]
        rows.append({
            "k": k,
            "worst_set": describe_set(outcome.worst_set, result.country, result.names),
            "worst_unmet_value_pv_usd": outcome.worst_damage_usd,
            "worst_unmet_t": outcome.worst_shortfall_t,
            "deterministic_worst_set": describe_set(worst_det, result.country, result.names),
            "deterministic_worst_unmet_value_pv_usd": det_damage,
            "deterministic_worst_unmet_t": det_t,
            "insurance_value_usd": beyond_noise(det_damage - outcome.worst_damage_usd, det_damage),
            "cost_with_unmet_pv_usd": _with_unmet(plain),
            "cost_pv_usd": plain["cost_pv_usd"],
            "premium_usd": beyond_noise(_with_unmet(plain) - _with_unmet(base), _with_unmet(base)),
            "exposure_pct": plain["exposure_pct"],
            "share_of_supply_pct": plain["share_of_supply_pct"],
            "unrestricted_unmet_t": plain["shortfall_t"],
            "jv_capacity_tpy": float(build_table(outcome.model, outcome.x)["capacity_tpy"].sum()),
            "method": outcome.method,
            "iterations": len(outcome.iterations),
            "restriction_sets_in_master": outcome.sets_in_master - 1,
            "seconds": outcome.seconds,
        })
    return pd.DataFrame(rows)


def bounds_table(result: WorstCaseResult) -> pd.DataFrame:
    rows = []
    for k, outcome in sorted(result.robust.items()):
        for it in outcome.iterations:
            rows.append({"k": k, "iteration": it["iteration"], "lower_bound_usd": it["lower_usd"],
                         "upper_bound_usd": it["upper_usd"], "restriction_sets": it["sets"],
                         "adversary_best_response": describe_set(it["worst_set"], result.country, result.names)})
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


def render_worstcase(result: WorstCaseResult) -> str:
    if result.status != "optimal":
        return f"Worst case for '{result.scenario}': {result.status} ({result.message})"
    s = result.settings
    cut = "located in or controlled by" if s.by == ["either"] else " / ".join(
        {"location": "located in", "owner": "controlled by", "either": "in or controlled by"}[b] for b in s.by)
    table = headline(result)
    lines = [f"Worst case for '{result.scenario}': {result.country} restricts up to k minerals' supply "
             f"{cut} {result.country} to {s.share:.0%} of normal, starting in any year of {_years(result)} "
             f"({len(result.moves)} moves, {len(result.adversary_moves)} undominated).",
             "  Damage = value of unmet demand (10x the reference price, present value) with the plan's JV builds "
             "and stockpile fixed and purchases re-planned.", "",
             f"  {'k':>2} {'worst case, robust plan':>24} {'deterministic plan':>20} {'premium':>14} "
             f"{'exposure':>9} {'share of supply':>15}  worst restriction set (robust plan)"]
    for r in table.itertuples(index=False):
        lines.append(f"  {r.k:>2} {usd(r.worst_unmet_value_pv_usd):>24} "
                     f"{usd(r.deterministic_worst_unmet_value_pv_usd):>20} {usd(r.premium_usd):>14} "
                     f"{pct(r.exposure_pct):>9} {pct(r.share_of_supply_pct):>15}  {r.worst_set} "
                     f"({tonnes(r.worst_unmet_t)} t unmet)")
    lines.append("")
    lines.append("  premium: the robust plan's cost including unmet demand at its value with no restriction, over the "
                 "deterministic plan's (solve's); exposure (attributed plus unmet tonnes, % of demand) and share of "
                 "supply (attributed, % of tonnes supplied): of the robust plan with no restriction.")
    if ((table["worst_set"] == "no restriction") & (table["worst_unmet_t"] > 0)).any():
        lines.append("  'no restriction' with unmet demand: the scenario's own policies leave it; no move adds to it.")
    worst = table.iloc[-1]
    if worst["k"] > 0 and len(result.regret):
        regret = result.regret[(result.regret["restriction"] == worst["worst_set"])]
        best = float(regret["best_possible_usd"].iloc[0]) if len(regret) else float("nan")
        lines.append(f"  Under that set, the best plan had it been known in advance leaves {usd(best)} unmet "
                     f"(regret.csv: every plan against every worst set).")
    for r in table.itertuples(index=False):
        if r.k:
            lines.append(f"  k = {r.k}: {r.method}, {r.iterations} iteration(s), {r.restriction_sets_in_master} "
                         f"restriction set(s) in the master, {r.seconds:.2f} s")
    if len(result.move_damage):
        lines += ["", "  Restrictions that hurt most (one move against the deterministic plan, unmet demand it adds):"]
        moves = result.move_damage
        hurting = moves[moves["deterministic added_unmet_value_usd"] >= 1.0]
        for _, r in hurting.head(5).iterrows():
            lines.append(f"  - {r['move']}: +{usd(r['deterministic added_unmet_value_usd'])} "
                         f"(+{tonnes(r['deterministic added_unmet_t'])} t unmet)")
        if hurting.empty:
            lines.append("  - none: no single move adds unmet demand")
    return "\n".join(lines)


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
        fig = worstcase_figure(headline(result), result.country, result.scenario)
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
