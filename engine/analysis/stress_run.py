"""Printing, plotting and writing a stress run (the ``critmin stress`` command's library side)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

from engine.analysis.frontier_plot import _usd
from engine.analysis.stress import StressResult
from engine.display import pct, tonnes, usd
from engine.formulation.demand import UNMET_DEMAND_PRICE_MULTIPLE
from engine.output import write_csv, write_folder_atomically, write_json
from engine.summary import versions


def render_stress(result: StressResult, top: int = 15) -> str:
    if result.status != "optimal":
        return f"Stress test of '{result.scenario}': base plan {result.status} ({result.message})"
    t, b = result.table, result.base
    lines = [f"Stress test of '{result.scenario}': {b['shocks']} shocks against the base plan re-planned the same "
             f"way with nothing shocked ({usd(b['cost_pv_usd'])}, dependence {pct(b['dependence_pct'])} of demand"
             + (f", {tonnes(b['shortfall_t'])} t unmet" if b["shortfall_t"] > 0 else "") + ")",
             f"  JV builds and stockpile purchases as planned; costs in present value; unmet demand valued at "
             f"{b['unmet_valued_at']}; 'with unmet' adds that value to the cost jump.",
             "", f"  {'#':>3} {'shock':<34}{'unmet t':>10}{'unmet value':>16}{'cost jump':>16}{'with unmet':>16}"
             f"{'dep. change':>12}{'unmet with hedges':>18}  hedges that would have reduced it (deals and stockpile)"]
    for r in t.head(top).itertuples(index=False):
        if r.status != "optimal":
            lines.append(f"  {r.rank:>3} {r.shock:<34}{r.status}")
            continue
        covering = r.covering_options if isinstance(r.covering_options, str) and r.covering_options else "-"
        lines.append(f"  {r.rank:>3} {r.shock:<34}{tonnes(r.shortfall_t):>10}{usd(r.shortfall_value_pv_usd):>16}"
                     f"{usd(r.cost_jump_usd):>16}{usd(r.cost_with_unmet_jump_usd):>16}"
                     f"{r.dependence_change_pp:>+10.1f}pp{tonnes(r.shortfall_with_new_deals_t):>18}  {covering}")
    if len(t) > top:
        lines.append(f"  … {len(t) - top} more in stress.csv")
    return "\n".join(lines)


def stress_figure(result: StressResult, top: int = 15) -> plt.Figure:
    plt.rcParams["svg.hashsalt"] = "critmin"
    t = result.table.head(top).iloc[::-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.42 * len(t) + 1.8), sharey=True, dpi=110)
    left.barh(t["shock"], t["shortfall_value_pv_usd"], color="#d62728")
    left.set_title(f"Unmet demand after the shock\n(USD PV, {UNMET_DEMAND_PRICE_MULTIPLE:g}x reference price per t)")
    left.xaxis.set_major_formatter(FuncFormatter(_usd))
    right.barh(t["shock"], t["cost_jump_usd"], color="#1f77b4")
    right.set_title("Extra cost of the re-planned supply\n(USD, present value)")
    right.xaxis.set_major_formatter(FuncFormatter(_usd))
    for ax in (left, right):
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Worst supply shocks for scenario '{result.scenario}' (JV builds and stockpile as planned)")
    fig.tight_layout()
    return fig


def write_stress(result: StressResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(result.table, tmp / "stress.csv")
        if len(result.table):
            fig = stress_figure(result)
            fig.savefig(tmp / "stress.png", metadata={"Software": None})
            fig.savefig(tmp / "stress.svg", metadata={"Date": None, "Creator": None})
            plt.close(fig)
        top = result.table.head(5)
        write_json({"scenario": result.scenario, "status": result.status, "base": result.base,
                    "top_shocks": top.to_dict(orient="records") if len(top) else [], "versions": versions()},
                   tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force)


__all__ = ["pd", "render_stress", "write_stress"]
