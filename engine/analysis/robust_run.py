"""Printing and writing a robust run (the ``critmin robust`` command's library side)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pandas as pd

from engine.analysis.robust import Evaluation, RobustResult
from engine.figures.labels import Names
from engine.outputs.display import pct, tonnes, usd
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import UNMET_DEMAND_VALUE, unmet_basis, versions


def _record(evaluation: Evaluation | None) -> dict | None:
    return None if evaluation is None else asdict(evaluation) | {"cost_with_unmet_pv_usd": evaluation.total_usd}


def comparison(result: RobustResult) -> pd.DataFrame:
    return pd.DataFrame([_record(e) for e in (result.robust, result.deterministic, result.nominal, result.solved)
                         if e])


def render_robust(result: RobustResult) -> str:
    if result.status != "optimal":
        return f"Robust plan for '{result.scenario}': {result.status} ({result.message})"
    names = Names(result.inputs.get("inputs"))
    basis = unmet_basis(short=True)
    risk = (f"expected unmet demand value ({basis})" if result.risk == "expected"
            else f"CVaR{result.alpha:g} of the unmet demand value ({basis})")
    r, d, n = result.robust, result.deterministic, result.nominal
    budget = "least cost" if result.budget_usd is None else f"the deterministic plan's budget, {usd(result.budget_usd)}"
    lines = [f"Robust plan for '{result.scenario}': planned against {result.plan_scenarios} sampled disruptions "
             f"(cost: expected cost plus the {risk}), tested with the deterministic plan on the same "
             f"{result.evaluation_scenarios} fresh ones.",
             f"  Both plans keep their JV builds and stockpile purchases; their flows are re-planned the same way on "
             f"each scenario (the scenario's objective within {budget}, on cost including unmet demand valued at "
             f"{basis}).",
             f"  Unmet demand is valued at {unmet_basis()}; {result.inputs.get('money', 'present value')}; "
             f"exposure: tonnes attributed plus tonnes unmet, % of demand; share of supply: tonnes attributed, % of "
             f"tonnes supplied (both the {result.aggregate} over minerals and years).",
             "", f"  {'on the fresh scenarios':<52}{'robust plan':>18}{'deterministic plan':>22}"]
    for label, attr, fmt in (("expected cost with unmet demand (PV)", "total_usd", usd),
                             ("  of which supply (PV)", "cost_pv_usd", usd),
                             (f"  of which unmet demand ({basis})", "shortfall_value_pv_usd", usd),
                             ("expected unmet demand, t", "shortfall_t", tonnes),
                             (f"CVaR{result.alpha:g} of unmet demand ({basis})", "shortfall_cvar_pv_usd", usd),
                             ("expected exposure", "exposure_pct", pct),
                             ("expected share of supply", "share_of_supply_pct", pct),
                             ("JV capacity built, t/yr", "jv_capacity_tpy", tonnes)):
        lines.append(f"  {label:<52}{fmt(getattr(r, attr)):>18}{fmt(getattr(d, attr)):>22}")
    for e in (r, d):
        if e.scenarios_at_least_cost:
            lines.append(f"  ({e.label} plan: in {e.scenarios_at_least_cost} of {result.evaluation_scenarios} "
                         f"scenarios even its least-cost re-plan exceeds the budget; there it is re-planned at least "
                         f"cost)")
    se = result.vss_standard_error_usd
    verdict = ("" if not pd.notna(se) else
               "; significantly different from zero" if result.vss_significant else
               "; not significantly different from zero (within two standard errors)")
    lines += ["", f"  Value of the stochastic solution: {usd(result.vss_usd)}"
                  + (f" ± {usd(se).removeprefix('USD ')} (standard error over the {len(result.vss_by_scenario_usd)} "
                     f"scenarios)" if pd.notna(se) else "") + verdict + ".",
              f"  (deterministic minus robust, on expected cost with unmet demand at {basis}: positive when "
              f"planning for the disruptions pays)"]
    saved_t = d.shortfall_t - r.shortfall_t
    lines.append(f"  Against the deterministic plan the robust plan changes expected unmet demand by "
                 f"{tonnes(-saved_t) if abs(saved_t) > 1e-6 else '0'} t "
                 f"({usd(r.shortfall_value_pv_usd - d.shortfall_value_pv_usd)} at {basis}), expected exposure "
                 f"by {r.exposure_pct - d.exposure_pct:+.2f} pp and expected cost by "
                 f"{usd(r.cost_pv_usd - d.cost_pv_usd)}.")
    solved = result.solved
    if n is not None and n.status == "optimal" and solved is not None:
        same = (abs(n.total_usd - solved.total_usd) <= 1e-6 * abs(solved.total_usd) + 1.0
                and abs(n.exposure_pct - solved.exposure_pct) <= 1e-4)
        lines.append(f"  Without disruption the deterministic plan re-planned this way has exposure "
                     f"{pct(n.exposure_pct)} and cost {usd(n.total_usd)} including unmet demand ({basis})"
                     + (f", {tonnes(n.shortfall_t)} t unmet" if n.shortfall_t > 0 else "")
                     + (": solve's plan." if same else f"; solve: {pct(solved.exposure_pct)} and "
                                                         f"{usd(solved.total_usd)}."))
    extra = result.builds.groupby("option_id")["capacity_tpy"].sum().sub(
        result.deterministic_builds.groupby("option_id")["capacity_tpy"].sum(), fill_value=0.0)
    extra = extra[extra.abs() > 1e-3].sort_values()
    if len(extra):
        lines.append("  Hedges the robust plan adds (+) or drops (-), t/yr of capacity:")
        lines += [f"    {v:+12,.1f}  {names.option(str(k))}" for k, v in extra.iloc[::-1].items()]
    return "\n".join(lines)


def write_robust(result: RobustResult, folder: Path, force: bool = False) -> Path:
    def fill(tmp: Path) -> None:
        write_csv(comparison(result), tmp / "evaluation.csv")
        write_csv(result.builds, tmp / "builds.csv")
        write_csv(result.deterministic_builds, tmp / "deterministic_builds.csv")
        write_json(robust_summary(result), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force)


def robust_summary(result: RobustResult) -> dict:
    """The robust folder's ``summary.json`` (and ``critmin robust --json``)."""
    return stamped({"scenario": result.scenario, **result.inputs, "status": result.status, "message": result.message,
                    "risk": result.risk, "alpha": result.alpha, "plan_scenarios": result.plan_scenarios,
                    "evaluation_scenarios": result.evaluation_scenarios, "unmet_valued_at": UNMET_DEMAND_VALUE,
                    "budget_pv_usd": result.budget_usd, "vss_usd": result.vss_usd,
                    "solver_checks": result.solver_checks,
                    "vss_standard_error_usd": result.vss_standard_error_usd,
                    "vss_significant": result.vss_significant,
                    "robust": _record(result.robust), "deterministic": _record(result.deterministic),
                    "nominal": _record(result.nominal), "solved": _record(result.solved),
                    "versions": versions()})
