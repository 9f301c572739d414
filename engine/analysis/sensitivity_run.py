"""Printing, plotting and writing a sensitivity run (the ``critmin sensitivity`` command's library side)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from engine.analysis.sensitivity import SensitivityResult
from engine.figures.analysis_plots import sensitivity_figure
from engine.figures.labels import Names
from engine.figures.style import RC, png_bytes
from engine.outputs.display import usd
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import provenance, versions


def _pp(value: float) -> str:
    return "n/a" if value != value else f"{value:+.2f} pp"


def _usd(value: float) -> str:
    if value != value:
        return "n/a"
    return ("+" if value > 0 else "-" if value < 0 else "") + usd(abs(value))


def render_sensitivity(result: SensitivityResult, top: int = 15) -> str:
    """The printed summary: the base plan and the ``top`` assumptions by swing in exposure."""
    lines = [f"Sensitivity of scenario '{result.loaded.name}': one assumption at a time at its low and high value"]
    if result.status != "optimal":
        lines.append(f"  The base scenario was not solved: {result.status} {result.message}".rstrip())
        return "\n".join(lines)
    lines.append(f"  Base plan: exposure {result.base_exposure_pct:.2f}% (attributed plus unmet tonnes, % of demand); "
                 f"cost with unmet demand at its value "
                 f"{usd(result.base_cost_with_unmet_pv_usd)} (present value).")
    lines += budget_lines(result)
    t = result.table
    lines.append(f"  {len(t)} assumptions, {2 * len(t)} re-solves ({result.rebuilt} on a rebuilt model: their "
                 f"matrix changes); ranked by the swing in exposure, then in cost.")
    lines.append("")
    lines.append(f"  {'#':>3}  {'assumption':<32} {'low':<22} {'high':<23} {'exposure low/high':>22}  "
                 f"{'cost with unmet low/high':>26}")
    names = Names(result.loaded.dataset.folder)
    for r in t.head(top).itertuples(index=False):
        name = names.assumption(r.family, r.parameter)
        flag = _over_flag(r)
        lines.append(f"  {r.rank:>3}  {name:<32} {r.setting_low:<22} {r.setting_high:<23} "
                     f"{_pp(r.exposure_low_pp):>10} {_pp(r.exposure_high_pp):>11}  "
                     f"{_usd(r.cost_low_pv_usd):>12} {_usd(r.cost_high_pv_usd):>13}"
                     + ("" if r.status == "optimal" else f"  ({r.status})") + flag)
    lines.append("  (changes against the base plan; cost is present value with unmet demand at 10x the reference "
                 "price; xF multiplies the central value)")
    return "\n".join(lines)


def _over_flag(row: object) -> str:
    """'  (1: low)', '  (1: high)', '  (1: both)' when that end could not be planned at the held budget."""
    low, high = bool(getattr(row, "over_budget_low", False)), bool(getattr(row, "over_budget_high", False))
    if not (low or high):
        return ""
    return "  (1: " + ("both" if low and high else "low" if low else "high") + ")"


def budget_caption(budget: str | None, budget_pv_usd: float | None) -> str:
    """The budget rule in a few words, for a figure or a report: held at the base's USD, or each variant its own."""
    if budget_pv_usd is None:
        return "every variant at least cost" if budget else "each variant at its own budget"
    if budget == "hold":
        return f"every variant at the base plan's budget, {usd(budget_pv_usd)} (held in USD)"
    return "each variant at its own budget (a premium over its own least cost)"


def budget_lines(result: SensitivityResult) -> list[str]:
    """The budget every variant was planned at, in one line (and the count of variants that could not meet it)."""
    if result.budget_pv_usd is None:
        return ["  Every variant is planned at least cost (the scenario minimises cost)."]
    if result.budget == "own":
        return [f"  Each variant has its own budget (the scenario's rule, {result.loaded.scenario.objective.budget}, "
                f"applied to the variant's own least cost), not the base plan's {usd(result.budget_pv_usd)}: a "
                f"variant that "
                f"raises least cost raises its budget too, so the changes mix a new assumption with a new budget "
                f"(--budget hold holds the base's)."]
    t = result.table
    over = int(t["over_budget_low"].sum() + t["over_budget_high"].sum()) if "over_budget_low" in t else 0
    return [f"  Every variant is planned at the base plan's budget, {usd(result.budget_pv_usd)} on cost including "
            f"unmet demand (held in USD, so the changes are the assumption's alone; --budget own gives each its "
            f"own); (1): even the variant's least-cost plan exceeds that budget, so it is planned at least cost "
            f"({over} of {2 * len(t)} re-solves)."]


def summary(result: SensitivityResult) -> dict:
    return stamped({"scenario": result.loaded.name, **provenance(result.loaded),
            "status": result.status, "message": result.message, "solver_checks": result.solver_checks,
            "base_exposure_pct": result.base_exposure_pct,
            "base_cost_with_unmet_pv_usd": result.base_cost_with_unmet_pv_usd,
            "assumptions": len(result.table), "rebuilt": result.rebuilt,
            "budget": result.budget, "budget_pv_usd": result.budget_pv_usd,
            "ranked": result.table.to_dict(orient="records"), "versions": versions()})


def sensitivity_plot(result: SensitivityResult) -> Figure | None:
    """The tornado, with names for codes and the budget rule under its title."""
    return sensitivity_figure(result.table, result.loaded.name, names=Names(result.loaded.dataset.folder),
                              budget=budget_caption(result.budget, result.budget_pv_usd))


def write_sensitivity(result: SensitivityResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(result.table, tmp / "sensitivity.csv")
        fig = sensitivity_plot(result)
        if fig is not None:
            (tmp / "sensitivity.png").write_bytes(png_bytes(fig))
            with plt.rc_context(RC):
                fig.savefig(tmp / "sensitivity.svg", format="svg", metadata={"Date": None, "Creator": None})
        write_json(summary(result), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force)


__all__ = ["budget_caption", "budget_lines", "render_sensitivity", "sensitivity_plot", "summary", "write_sensitivity"]
