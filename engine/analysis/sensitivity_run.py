"""Printing, plotting and writing a sensitivity run (the ``critmin sensitivity`` command's library side)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from engine.analysis.sensitivity import SensitivityResult
from engine.figures.analysis_plots import sensitivity_figure
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
    t = result.table
    lines.append(f"  {len(t)} assumptions, {2 * len(t)} re-solves ({result.rebuilt} on a rebuilt model: their "
                 f"matrix changes); ranked by the swing in exposure, then in cost.")
    lines.append("")
    lines.append(f"  {'#':>3}  {'assumption':<28} {'low':<22} {'high':<23} {'exposure low/high':>22}  "
                 f"{'cost with unmet low/high':>26}")
    for r in t.head(top).itertuples(index=False):
        name = f"{r.family}, {r.parameter}"
        lines.append(f"  {r.rank:>3}  {name:<28} {r.setting_low:<22} {r.setting_high:<23} "
                     f"{_pp(r.exposure_low_pp):>10} {_pp(r.exposure_high_pp):>11}  "
                     f"{_usd(r.cost_low_pv_usd):>12} {_usd(r.cost_high_pv_usd):>13}"
                     + ("" if r.status == "optimal" else f"  ({r.status})"))
    lines.append("  (changes against the base plan; cost is present value with unmet demand at 10x the reference "
                 "price; xF multiplies the central value)")
    return "\n".join(lines)


def summary(result: SensitivityResult) -> dict:
    return stamped({"scenario": result.loaded.name, **provenance(result.loaded),
            "status": result.status, "message": result.message, "solver_checks": result.solver_checks,
            "base_exposure_pct": result.base_exposure_pct,
            "base_cost_with_unmet_pv_usd": result.base_cost_with_unmet_pv_usd,
            "assumptions": len(result.table), "rebuilt": result.rebuilt,
            "ranked": result.table.to_dict(orient="records"), "versions": versions()})


def write_sensitivity(result: SensitivityResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(result.table, tmp / "sensitivity.csv")
        fig = sensitivity_figure(result.table, result.loaded.name)
        if fig is not None:
            (tmp / "sensitivity.png").write_bytes(png_bytes(fig))
            with plt.rc_context(RC):
                fig.savefig(tmp / "sensitivity.svg", format="svg", metadata={"Date": None, "Creator": None})
        write_json(summary(result), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force)


__all__ = ["render_sensitivity", "summary", "write_sensitivity"]
