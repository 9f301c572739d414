"""Printing and writing a calibration (the ``critmin calibrate`` command's library side)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from engine.analysis.backcast import REST, top_shares
from engine.analysis.calibrate import CalibrationResult, overlay_scenario
from engine.figures.labels import Names
from engine.outputs.display import tonnes
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import provenance, versions


def backcast_table(result: CalibrationResult) -> pd.DataFrame:
    """Per observed mineral: the distance before and after the moves, and the shares compared."""
    after = {b.observation.mineral: b for b in result.after}
    rows = []
    for b in result.before:
        a = after.get(b.observation.mineral, b)
        o = b.observation
        rows.append({"mineral": o.mineral, "period": o.period, "measure": o.measure, "form": o.form,
                     "distance_before_pp": b.distance_pp, "distance_after_pp": a.distance_pp,
                     "lower_bound": b.lower_bound, "observed": top_shares(o.shares, 6),
                     "planned_before": top_shares(b.planned, 6), "planned_after": top_shares(a.planned, 6)})
    return pd.DataFrame(rows)


def render_calibration(result: CalibrationResult) -> str:
    loaded = result.loaded
    names = Names(loaded.dataset.folder)
    lines = [f"Calibration of scenario '{loaded.name}' to observed US imports (observed_trade.csv): exportable-share "
             f"moves that make the least-cost plan's {loaded.scenario.horizon.start} imports reproduce them"]
    if result.status != "optimal":
        lines.append(f"  Not solved ({result.status}): {result.message}")
        return "\n".join(lines)
    lines += ["", f"  {'mineral':<10} {'before':>9} {'after':>9}   observed / planned after"]

    def shown(distance: float | None, bound: bool) -> str:
        return "n/a" if distance is None else f"{'>= ' if bound else ''}{distance:.1f}"

    def shares(values: dict[str, float]) -> str:
        return top_shares(values, 6, names.country)

    after = {b.observation.mineral: b for b in result.after}
    for b in result.before:
        a = after.get(b.observation.mineral, b)
        before_pp, after_pp = shown(b.distance_pp, b.lower_bound), shown(a.distance_pp, b.lower_bound)
        flag = "" if a.distance_pp is not None and a.distance_pp <= result.tolerance_pp + 1e-9 else \
            "  (out of reach by exportable shares: a policy in force or the cost order holds an origin back)"
        lines.append(f"  {names.mineral(b.observation.mineral):<10} {before_pp:>9} {after_pp:>9}   "
                     f"{shares(b.observation.shares)} / {shares(a.planned)}{flag}")
    lines.append(f"  (backcast distance in points, tolerance {result.tolerance_pp:g}; {result.rounds} re-solve "
                 f"round(s) of the whole scenario)")
    lines += ["", f"  Moves ({len(result.moves)}; the overlay sets {len(result.overlay)} blocks' shares by source id):"]
    for r in result.moves.itertuples(index=False):
        origin = "other origins" if r.group == REST else names.country(r.group)
        lines.append(f"  - {origin} {names.mineral(r.mineral)} exportable share {100 * r.share_before:.1f}% -> "
                     f"{100 * r.share_after:.1f}% (available in {loaded.scenario.horizon.start}: "
                     f"{tonnes(r.available_before_t)} -> {tonnes(r.available_after_t)} t, {r.blocks} block(s))")
    if not len(result.moves):
        lines.append("  - none")
    return "\n".join(lines)


def summary(result: CalibrationResult) -> dict:
    return stamped({"scenario": result.loaded.name, **provenance(result.loaded),
            "status": result.status, "message": result.message, "solver_checks": result.solver_checks,
            "tolerance_pp": result.tolerance_pp, "rounds": result.rounds, "within_tolerance": result.within,
            "backcast": backcast_table(result).to_dict(orient="records"),
            "moves": result.moves.to_dict(orient="records"), "overlay": result.overlay, "versions": versions()})


def write_calibration(result: CalibrationResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(result.moves, tmp / "calibration.csv")
        write_csv(backcast_table(result), tmp / "backcast.csv")
        (tmp / "calibrated.yaml").write_text(
            "# Written by critmin calibrate: the scenario with its exportable shares moved to reproduce observed "
            "imports.\n" + yaml.safe_dump(overlay_scenario(result), sort_keys=False), encoding="utf-8")
        write_json(summary(result), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force)


__all__ = ["backcast_table", "render_calibration", "summary", "write_calibration"]
