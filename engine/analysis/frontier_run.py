"""Running, printing and writing a frontier (the ``critmin frontier`` command's library side)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.analysis.frontier import compute_frontier
from engine.errors import InputError
from engine.formulation import build_model
from engine.inputs.names import Names
from engine.inputs.scenario import LoadedScenario
from engine.inputs.selection import modelled, modelled_minerals
from engine.outputs.display import pct, usd
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import money_basis, provenance, unmet_basis, versions
from engine.outputs.weighting import weighting, weighting_lines
from engine.plan.hierarchy import PlanSession
from engine.solvers import SolverOptions, make_backend


@dataclass
class FrontierRun:
    loaded: LoadedScenario
    table: pd.DataFrame
    names: dict[str, str]
    status: str = "optimal"
    message: str = ""
    least_cost_usd: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    solver_checks: dict[str, int] = field(default_factory=dict)  # PlanSession.checks over the whole sweep
    weighting: dict | None = None  # the aggregate's weighting and exchange rate (``outputs/weighting.py``)

    @property
    def ok(self) -> bool:
        return self.status == "optimal"


def parse_caps(text: str | None) -> list[float] | None:
    """'50,20' -> [50.0, 20.0]; each cap a percentage in [0, 100]."""
    if text is None:
        return None
    caps = []
    for part in text.split(","):
        try:
            value = float(part.strip().rstrip("%"))
        except ValueError:
            raise InputError(f"--caps: '{part.strip()}' is not a number; expected percentages such as 50,20") from None
        if not 0 <= value <= 100:
            raise InputError(f"--caps: {value:g} is outside [0, 100]; caps are percentages of demand")
        caps.append(value)
    return caps


def _targets(loaded: LoadedScenario, minerals: list[str]) -> list[str]:
    if not minerals:
        return ["all"]
    if minerals == ["each"]:
        return modelled(loaded)
    return modelled_minerals("--mineral", minerals, loaded)


def run_frontier(loaded: LoadedScenario, *, points: int = 11, minerals: list[str] | None = None,
                 caps: list[float] | None = None, solver: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> FrontierRun:
    """Build the model once and sweep each target warm on one solver object; ``progress(done, total)`` as each
    cap starts solving."""
    targets = _targets(loaded, minerals or [])
    t0 = time.perf_counter()
    model = build_model(loaded)
    session = PlanSession(model, make_backend(solver, SolverOptions()))
    tables = []
    run = FrontierRun(loaded, pd.DataFrame(), model.mineral_names(), weighting=weighting(model))
    total = len(targets) * (len(caps) if caps else max(points, 2))
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    for target in targets:
        result = compute_frontier(session, points=points, target=target, caps=caps, progress=tick)
        if result.status.value != "optimal":
            run.status, run.message = result.status.value, result.message
            break
        run.least_cost_usd = result.least_cost_usd
        tables.append(result.table)
    if tables:
        table = pd.concat(tables, ignore_index=True)
        table["point"] = range(len(table))
        run.table = table
    run.timings["total_s"] = time.perf_counter() - t0
    run.solver_checks = dict(session.checks)
    return run


def render_frontier(run: FrontierRun) -> str:
    """The frontier as a terminal table."""
    if not run.ok:
        return f"Frontier for '{run.loaded.name}': {run.status} ({run.message})"
    country = Names(run.loaded.dataset.folder).country(run.loaded.scenario.dependence.country)
    lines = [f"Price of independence, scenario '{run.loaded.name}' "
             f"(least-cost plan {usd(run.least_cost_usd)} including unmet demand at {unmet_basis()}; "
             f"{money_basis(run.loaded)}): exposure to {country} capped, from the least-cost plan down to the least "
             f"exposed"]
    for target, part in run.table.groupby("target", sort=False):
        label = "all minerals (" + run.loaded.scenario.objective.aggregate + ")" if target == "all" \
            else run.names.get(target, target)
        lines += ["", f"  {label}",
                  f"  {'cap':>7}{'exposure':>10}{'share of supply':>17}{'premium':>16}{'next point costs':>20}"
                  f"{'avg since last':>18}"]
        for r in part.itertuples(index=False):
            if r.status != "optimal":
                lines.append(f"  {r.cap_pct:>6.1f}%  {r.status}")
                continue
            fd = "" if pd.isna(r.finite_difference_usd_per_pp) else usd(r.finite_difference_usd_per_pp)
            marginal = "n/a" if pd.isna(r.marginal_usd_per_pp) else usd(r.marginal_usd_per_pp)
            lines.append(f"  {r.cap_pct:>6.1f}%{pct(r.exposure_pct):>10}{pct(r.share_of_supply_pct):>17}"
                         f"{usd(r.premium_usd):>16}{marginal:>20}{fd:>18}")
    lines.append("")
    lines.append("  'next point costs': dual of the cap (USD, present value, per percentage point tightened);")
    lines.append(f"  'premium': over the least-cost plan, on cost including unmet demand at {unmet_basis(short=True)};")
    lines.append("  'avg since last': cost change from the previous point divided by the exposure it actually shed;")
    lines.append(f"  'exposure': tonnes attributed to {country} plus tonnes unmet, % of demand (the cap's measure); "
                 f"'share of supply': tonnes attributed, % of tonnes supplied;")
    lines.append(f"  both the {run.loaded.scenario.objective.aggregate} over minerals and years (per mineral: mean "
                 f"over years); the first point is the least-cost plan 'solve' reports.")
    lines.extend(weighting_lines(run.weighting, run.names))
    return "\n".join(lines)


def write_frontier(run: FrontierRun, folder: Path, force: bool = False) -> Path:
    """frontier.csv, frontier.png, frontier.svg and summary.json, atomically."""
    from engine.analysis.frontier_plot import save_frontier_figure

    def fill(tmp: Path) -> None:
        write_csv(run.table, tmp / "frontier.csv")
        save_frontier_figure(run.table, run.loaded.dataset.folder, run.loaded.name, tmp,
                             run.loaded.scenario.dependence.country)
        write_json(frontier_summary(run), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force)


def frontier_summary(run: FrontierRun) -> dict:
    """The frontier folder's ``summary.json``."""
    return stamped({"scenario": run.loaded.name, "status": run.status, "message": run.message,
                    "dependence_on": run.loaded.scenario.dependence.country,
                    **provenance(run.loaded),
                    "least_cost_with_unmet_pv_usd": run.least_cost_usd, "points": len(run.table),
                    "targets": list(dict.fromkeys(run.table["target"])) if len(run.table) else [],
                    "weighting": run.weighting, "timings": run.timings, "solver_checks": run.solver_checks,
                    "versions": versions()})
