"""Printing a sweep's percentiles."""

from __future__ import annotations

from engine.analysis.sweep import SweepRun, budget_rule, percentiles
from engine.inputs.names import Names
from engine.outputs.display import pct, tonnes, usd
from engine.outputs.summary import money_basis, unmet_basis


def render_sweep(run: SweepRun) -> str:
    if run.loaded.scenario.market != "none":
        return render_market_sweep(run)
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


def render_market_sweep(run: SweepRun) -> str:
    """A market sweep's printout: P5/P50/P95 of the buyer's measures, every region's welfare and the buyer's and
    China's first-year prices (every region's in percentiles.csv)."""
    from engine.analysis.market_sweep import percentile_rows, trade_cost_range

    table, loaded = run.table, run.loaded
    names = Names(loaded.dataset.folder)
    ok = int((table["status"] == "optimal").sum())
    rate = len(run.rows) / run.seconds if run.seconds > 0 else float("nan")
    stats = percentiles(table).set_index("metric")
    regions = sorted({c.split("_")[1] for c in stats.index if c.startswith("welfare_") and c.endswith("_pv_usd")
                      and c != "welfare_change_goal_pv_usd"})
    minerals = sorted({c.removeprefix("elasticity_") for c in table.columns if c.startswith("elasticity_")})
    buyer = next((r for r in regions if r == loaded.scenario.buyer), loaded.scenario.buyer)
    low, high = trade_cost_range(loaded)
    lines = [f"Sweep of '{loaded.name}' in market mode: {len(table)} samples (seed {run.seed}), {ok} solved; "
             f"{rate:.1f} samples/s this run",
             f"  Each sample: the scenario's uncertainty and shocks, every demand curve's elasticity at one point of "
             f"its low-high range per mineral, and the trade cost at {100 * low:g}-{100 * high:g}% of the reference "
             f"price per mineral (uniform); then the equilibrium, as 'critmin solve' computes it.", "",
             f"  {'':<52}{'P5':>17}{'P50':>17}{'P95':>17}"]
    formats = {"pct": pct, "t": tonnes, "usd": usd, "share": lambda v: f"{v:.3f}", "price": lambda v: f"{v:,.0f}"}
    for metric, label, unit in percentile_rows(stats, buyer, regions, minerals, names.mineral):
        row = stats.loc[metric]
        fmt = formats[unit]
        lines.append(f"  {label:<52}{fmt(row['p5']):>17}{fmt(row['p50']):>17}{fmt(row['p95']):>17}")
    lines.append(f"  {money_basis(loaded)}; exposure: China-attributed plus unconsumed reference tonnes, % of the "
                 f"reference (the mean over mineral-years); prices of every region in percentiles.csv.")
    lines.append(f"  Goal: {budget_rule(loaded)}.")
    return "\n".join(lines)
