"""Printing and writing a robust run (the ``critmin robust`` command's library side)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from engine.analysis.robust import RobustResult
from engine.display import pct, tonnes, usd
from engine.formulation.demand import UNMET_DEMAND_PRICE_MULTIPLE
from engine.output import write_csv, write_folder_atomically, write_json
from engine.summary import versions


def comparison(result: RobustResult) -> pd.DataFrame:
    rows = [asdict(e) | {"total_usd": e.total_usd} for e in (result.robust, result.deterministic) if e]
    return pd.DataFrame(rows)


def render_robust(result: RobustResult) -> str:
    if result.status != "optimal":
        return f"Robust plan for '{result.scenario}': {result.status} ({result.message})"
    risk = "expected shortfall" if result.risk == "expected" else f"CVaR{result.alpha:g} of shortfall"
    r, d = result.robust, result.deterministic
    lines = [f"Robust plan for '{result.scenario}': planned against {result.plan_scenarios} sampled disruptions "
             f"({risk} first), tested with the deterministic plan on {result.evaluation_scenarios} fresh ones.",
             "", f"  {'on the fresh scenarios':<34}{'robust plan':>18}{'deterministic plan':>22}"]
    for label, attr, fmt in (("expected unmet demand, t", "shortfall_t", tonnes),
                             ("expected unmet demand value", "shortfall_value_usd", usd),
                             (f"CVaR{result.alpha:g} of unmet demand value", "shortfall_cvar_usd", usd),
                             ("expected cost (PV)", "cost_pv_usd", usd),
                             ("expected dependence", "dependence_pct", pct),
                             ("JV capacity built, t/yr", "jv_capacity_tpy", tonnes)):
        lines.append(f"  {label:<34}{fmt(getattr(r, attr)):>18}{fmt(getattr(d, attr)):>22}")
    lines += ["", f"  Value of the stochastic solution: {usd(result.vss_usd)} (expected cost plus unmet demand valued "
                  f"at {UNMET_DEMAND_PRICE_MULTIPLE:g}x its reference price, deterministic minus robust)"]
    saved_t = d.shortfall_t - r.shortfall_t
    lines.append(f"  Against the deterministic plan the robust plan changes expected unmet demand by "
                 f"{tonnes(-saved_t) if abs(saved_t) > 1e-6 else '0'} t "
                 f"({usd(r.shortfall_value_usd - d.shortfall_value_usd)} at its value), expected dependence "
                 f"by {r.dependence_pct - d.dependence_pct:+.2f} pp and expected cost by "
                 f"{usd(r.cost_pv_usd - d.cost_pv_usd)}.")
    extra = result.builds.groupby("option_id")["capacity_tpy"].sum().sub(
        result.deterministic_builds.groupby("option_id")["capacity_tpy"].sum(), fill_value=0.0)
    extra = extra[extra.abs() > 1e-3].sort_values()
    if len(extra):
        lines.append("  Hedges the robust plan adds (+) or drops (-), t/yr: "
                     + "; ".join(f"{k} {v:+,.1f}" for k, v in extra.iloc[::-1].items()))
    return "\n".join(lines)


def write_robust(result: RobustResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(comparison(result), tmp / "evaluation.csv")
        write_csv(result.builds, tmp / "builds.csv")
        write_csv(result.deterministic_builds, tmp / "deterministic_builds.csv")
        write_json({"scenario": result.scenario, "status": result.status, "risk": result.risk,
                    "alpha": result.alpha, "plan_scenarios": result.plan_scenarios,
                    "evaluation_scenarios": result.evaluation_scenarios, "vss_usd": result.vss_usd,
                    "robust": asdict(result.robust) if result.robust else None,
                    "deterministic": asdict(result.deterministic) if result.deterministic else None,
                    "versions": versions()}, tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force)
