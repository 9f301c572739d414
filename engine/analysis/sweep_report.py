"""Printing a sweep's percentiles."""

from __future__ import annotations

from engine.analysis.sweep import SweepRun, budget_rule, percentiles
from engine.inputs.names import Names
from engine.outputs.display import pct, tonnes, usd
from engine.outputs.summary import money_basis, unmet_basis


def render_sweep(run: SweepRun) -> str:
    table = run.table
    names = Names(run.loaded.dataset.folder)
    ok = int((table["status"] == "optimal").sum())
    rate = len(run.rows) / run.seconds if run.seconds > 0 else float("nan")
    lines = [f"Sweep of '{run.loaded.name}': {len(table)} samples (seed {run.seed}), {ok} optimal; "
             f"{rate:.1f} samples/s this run", "",
             f"  {'':<48}{'P5':>16}{'P50':>16}{'P95':>16}"]
    stats = percentiles(table).set_index("metric")
    shown = [("exposure_pct", "exposure (% of demand)", pct),
             ("share_of_supply_pct", "share of supply (%)", pct),
             ("cost_with_unmet_pv_usd", "cost with unmet demand (PV)", usd),
             ("cost_pv_usd", "  of which supply (PV)", usd),
             ("shortfall_value_pv_usd", f"  of which unmet demand ({unmet_basis(short=True)})", usd),
             ("premium_usd", "premium over least cost", usd), ("shortfall_t", "unmet demand, t", tonnes)]
    shown += [(m, names.mineral(m.removeprefix("exposure_").removesuffix("_pct")) + " exposure", pct)
              for m in stats.index if m.startswith("exposure_") and m != "exposure_pct"]
    for metric, label, fmt in shown:
        if metric in stats.index:
            row = stats.loc[metric]
            lines.append(f"  {label:<48}{fmt(row['p5']):>16}{fmt(row['p50']):>16}{fmt(row['p95']):>16}")
    lines.append(f"  Unmet demand valued at {unmet_basis()}; the premium is on cost including it; "
                 f"{money_basis(run.loaded)}; exposure: tonnes attributed plus tonnes unmet, % of demand; share of "
                 f"supply: tonnes attributed, % of tonnes supplied (the scenario's aggregate over minerals and years; "
                 f"per mineral, the mean over years).")
    rule = budget_rule(run.loaded)
    lines.append(f"  Budget: {rule}.")
    return "\n".join(lines)
