"""Printing and writing a stress run (the ``critmin stress`` command's library side); its figure is the
report's (:func:`engine.figures.analysis_plots.stress_figure`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from engine.analysis.stress import STRESS_COLUMNS, StressResult
from engine.figures.analysis_plots import stress_figure
from engine.figures.labels import Names
from engine.figures.style import RC, png_bytes
from engine.outputs.display import change_pp, pct, signed_tonnes, tonnes, usd
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import versions


def render_stress(result: StressResult, top: int = 15) -> str:
    if result.status != "optimal":
        return f"Stress test of '{result.scenario}': base plan {result.status} ({result.message})"
    t, b = result.table, result.base
    lines = [f"Stress test of '{result.scenario}': {b['shocks']} shocks against the base plan re-planned the same "
             f"way with nothing shocked ({usd(b['cost_with_unmet_pv_usd'])} including unmet demand at its value, "
             f"exposure {pct(b['exposure_pct'])}, share of supply {pct(b['share_of_supply_pct'])}"
             + (f", {tonnes(b['shortfall_t'])} t unmet" if b["shortfall_t"] > 0 else "") + ")",
             f"  JV builds and stockpile purchases as planned; every figure a change against the base; "
             f"{result.inputs.get('money', 'present value')}; unmet demand valued at {b['unmet_valued_at']}.",
             "  'cost jump' is in cost including unmet demand: the value of the unmet demand added plus the jump in "
             "the cost of supply.",
             f"  'exposure' (tonnes attributed plus tonnes unmet, % of demand) and 'share of supply' (tonnes "
             f"attributed, % of tonnes supplied): changes in the {b.get('aggregate', 'mean')} over minerals and years.",
             *_budget_lines(t, b),
             *count_lines(t),
             "", f"  {'#':>3} {'shock':<36}{'cost jump':>16}{'unmet added t':>15}{'unmet value':>16}"
             f"{'supply':>16}{'exposure':>10}{'share of supply':>17}{'added with hedges':>18}  "
             f"{'unmet added, by mineral':<34}  hedges that would have reduced it (deals and stockpile)"]
    names = Names(result.inputs.get("inputs"))
    for r in t.head(top).itertuples(index=False):
        label = names.shock(r.kind, r.country, r.minerals, r.shock)
        if r.status != "optimal":
            lines.append(f"  {r.rank:>3} {label:<36}{r.status}")
            continue
        covering = r.covering_options if isinstance(r.covering_options, str) and r.covering_options else "-"
        where = r.unmet_added_by_mineral if isinstance(r.unmet_added_by_mineral, str) and r.unmet_added_by_mineral \
            else "-"
        flag = " (1)" if getattr(r, "over_budget", None) in (True,) else ""  # NaN: not run
        lines.append(f"  {r.rank:>3} {label + flag:<36}{usd(r.cost_with_unmet_jump_usd):>16}"
                     f"{signed_tonnes(r.unmet_added_t):>15}{usd(r.unmet_value_added_pv_usd):>16}"
                     f"{usd(r.cost_jump_usd):>16}"
                     f"{change_pp(r.exposure_change_pp, 0.0):>10}{change_pp(r.share_of_supply_change_pp, 0.0):>17}"
                     f"{signed_tonnes(r.unmet_added_with_hedges_t):>18}  {where:<34}  {covering}")
    if len(t) > top:
        lines.append(f"  … {len(t) - top} more in stress.csv")
    return "\n".join(lines)


def shock_counts(table: pd.DataFrame) -> tuple[int, int, int]:
    """(shocks that add unmet demand, shocks that change nothing beyond solver noise, shocks solved): a shock
    adds unmet demand when its unmet tonnes added exceed a gram (``_added``); it changes nothing when its cost jump,
    unmet tonnes and exposure change are all zero after the noise rule (``beyond_noise``)."""
    if table.empty or "unmet_added_t" not in table:
        return 0, 0, 0
    solved = table[table["status"].astype(str) == "optimal"]
    adds = int((solved["unmet_added_t"].fillna(0.0) > 0).sum())
    same = int(((solved["cost_with_unmet_jump_usd"].fillna(0.0) == 0) & (solved["unmet_added_t"].fillna(0.0) == 0)
                & (solved["exposure_change_pp"].fillna(0.0).abs() < 0.005)).sum())
    return adds, same, len(solved)


def count_lines(table: pd.DataFrame) -> list[str]:
    """'12 of 50 shocks add unmet demand; 3 change nothing beyond solver noise.'"""
    adds, same, solved = shock_counts(table)
    if not solved:
        return []
    text = (f"  {adds} of {solved} shocks add unmet demand" if adds else
            f"  None of the {solved} shocks adds unmet demand")
    if same:
        text += (f"; {same} {'changes' if same == 1 else 'change'} nothing beyond solver noise (cost, unmet tonnes "
                 f"and exposure)")
    return [text + "."]


def _budget_lines(table: pd.DataFrame, base: dict) -> list[str]:
    """What the re-plans' budget is, and how many shocks it cannot be met under (marked '(1)' in the table)."""
    budget = base.get("budget_pv_usd")
    if budget is None:
        return ["  Every re-plan is least cost (the scenario minimises cost)."]
    over = int((table["over_budget"] == True).sum()) if "over_budget" in table else 0  # noqa: E712 (NaN: not run)
    return [f"  Every re-plan keeps the base plan's budget in USD, {usd(budget)} on cost including unmet demand (a "
            f"fixed budget keeps the shocks comparable); (1): the base budget cannot be met under this shock (even "
            f"the cheapest re-plan exceeds it): the re-plan is least cost, and spends nothing on independence "
            f"({over} of {len(table)} shocks)."]



def write_stress(result: StressResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(result.table, tmp / "stress.csv", STRESS_COLUMNS)
        if len(result.table):
            fig = stress_figure(result.table, Names(result.inputs.get("inputs")), result.scenario)
            if fig is not None:
                (tmp / "stress.png").write_bytes(png_bytes(fig))
                with plt.rc_context(RC):
                    fig.savefig(tmp / "stress.svg", format="svg", metadata={"Date": None, "Creator": None})
        write_json(stress_summary(result), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force)


def stress_summary(result: StressResult) -> dict:
    """The stress folder's ``summary.json`` (and ``critmin stress --json``)."""
    top = result.table.head(5)
    return stamped({"scenario": result.scenario, **result.inputs, "status": result.status, "message": result.message,
                    "base": result.base, "top_shocks": top.to_dict(orient="records") if len(top) else [],
                    "solver_checks": result.solver_checks, "versions": versions()})


__all__ = ["count_lines", "render_stress", "shock_counts", "write_stress"]
