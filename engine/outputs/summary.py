"""The run summary (``summary.json``): status, levels, dependence, cost, shortfall, timings, provenance."""

from __future__ import annotations

import email
import platform
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np

from engine.formulation.demand import UNMET_DEMAND_PRICE_MULTIPLE
from engine.formulation.model import Model
from engine.inputs.scenario import LoadedScenario
from engine.outputs.files import SCHEMA_VERSION, stamped
from engine.outputs.results import (
    MEASURE_UNITS,
    Tables,
    _aggregate,
    _mineral_means,
    aggregate_row_weights,
    expected_total,
    total_cost_pv,
    unmet_value_pv,
)
from engine.outputs.weighting import weighting

if TYPE_CHECKING:
    import pandas as pd
from engine.plan.hierarchy import Plan, Stage
from engine.solvers.base import Backend, beyond_noise


def _version(package: str) -> str | None:
    """``importlib.metadata.version(package)``, reading only the metadata's headers: parsing a package's whole
    METADATA (numpy's holds its licences, pandas' its description) took 2 ms a package."""
    try:
        dist = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return None
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("")
    if not isinstance(text, str):
        return email.message_from_string(text)["Version"]
    lines = text.split("\n\n", 1)[0].splitlines()  # the headers end at the first blank line
    for i, line in enumerate(lines):  # the first Version header, unless folded onto the next line
        if line[:8].lower() == "version:" and not (i + 1 < len(lines) and lines[i + 1][:1] in (" ", "\t")):
            return line[8:].lstrip(" \t")
    return email.message_from_string("\n".join(lines))["Version"]


def versions() -> dict[str, str | None]:
    return {"critmin-engine": _version("critmin-engine"), "python": platform.python_version(),
            **{p: _version(p) for p in ("highspy", "pulp", "numpy", "pandas", "scipy", "pydantic")}}


UNMET_DEMAND_VALUE = f"{UNMET_DEMAND_PRICE_MULTIPLE:g}x the mineral's reference price per tonne"
"""How unmet demand is valued, in words, wherever a value of unmet demand is shown."""


def unmet_basis(present_value: bool = True, *, short: bool = False) -> str:
    """The basis of a value of unmet demand, said in its every label: the multiple of the reference price and the
    money, ``"10x the mineral's reference price per tonne, present value"`` or ``"..., in each year's money"``
    (undiscounted); ``short``: ``"10x reference price, PV"`` or ``"10x reference price, each year's money"``."""
    nominal = "each year's money"
    if short:
        return f"{UNMET_DEMAND_PRICE_MULTIPLE:g}x reference price, {'PV' if present_value else nominal}"
    return f"{UNMET_DEMAND_VALUE}, {'present value' if present_value else 'in ' + nominal}"


def money_basis(loaded: LoadedScenario) -> str:
    """What a USD figure is, said once in every summary (``money``), printout and report: real USD of the reference
    prices' year (the dataset's ``price_year``: every price and cost is held at that year's level), discounted to
    present value at the scenario's base year at its discount rate."""
    s, prices = loaded.scenario, loaded.dataset.minerals
    rows = prices if s.minerals is None else prices[prices["mineral"].isin(list(s.minerals))]
    years = sorted({int(y) for y in rows["price_year"]}) or sorted({int(y) for y in prices["price_year"]})
    return (f"real USD of {', '.join(map(str, years))}, present value at {s.base_year}, "
            f"{100 * s.finance.discount_rate:g}% discount rate")


def provenance(loaded: LoadedScenario) -> dict[str, str]:
    """Which inputs an analysis folder's numbers belong to, in every analysis summary: the dataset folder
    (``inputs``), the hash of the resolved scenario with its tables (``inputs_hash``: a solve summary's
    ``inputs.hash``) and of the dataset's tables alone (``dataset_hash``); and what its USD figures are
    (``money``: ``money_basis``)."""
    return {"inputs": str(loaded.dataset.folder), "inputs_hash": loaded.digest, "dataset_hash": loaded.dataset.digest,
            "money": money_basis(loaded)}


def _round(value: float | None, digits: int = 6) -> float | None:
    """``value`` rounded; None (JSON null) when there is none or it is undefined (NaN)."""
    return None if value is None or value != value else round(float(value), digits)


def _by_mineral_year(minerals: list, years: list, values: list) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for mineral, year, value in zip(minerals, years, values, strict=True):
        out.setdefault(mineral, {})[str(year)] = _round(value, 4)
    return out


class _DemandRows:
    """What ``dependence_metric`` and ``per_mineral`` make of a dependence table before they read a column (its
    rows with demand, their weights in the aggregate, their minerals' positions), made once for the summary's four
    columns rather than once a call; every figure is the same sum in the same order."""

    def __init__(self, model: Model, dep) -> None:
        t = dep[dep["demand_t"] > 0]
        minerals = list(model.minerals)
        self.model, self.rows = model, t
        self.aggregate_codes = np.array([minerals.index(m) if m in minerals else -1 for m in t["mineral"]],
                                        dtype=np.int64)
        self.weights = aggregate_row_weights(model, t)
        where = {m: k for k, m in enumerate(model.minerals)}
        self.mean_codes = np.array([where.get(m, -1) for m in t["mineral"]], dtype=np.int64)

    def metric(self, column: str) -> float:
        """``dependence_metric(model, dep, column)``."""
        return _aggregate(self.model, self.rows[column].to_numpy(dtype=float), *self.weights, self.aggregate_codes)

    def per_mineral(self, column: str) -> dict[str, float]:
        """``per_mineral(dep, column, model.minerals)``."""
        return _mineral_means(self.mean_codes, self.rows[column].to_numpy(dtype=float), self.model.minerals)


def _measure_summary(rows: _DemandRows, dep, column: str, minerals: list, years: list) -> dict:
    """One measure's overall aggregate, means per mineral and values per mineral-year, optimised and least-cost."""
    least = f"least_cost_{column}"
    by_least = rows.per_mineral(least)
    return {
        "overall_pct": _round(rows.metric(column), 4),
        "least_cost_overall_pct": _round(rows.metric(least), 4),
        "by_mineral": {m: {"optimised_pct": _round(v, 4), "least_cost_pct": _round(by_least.get(m), 4)}
                       for m, v in rows.per_mineral(column).items()},
        "by_mineral_year": _by_mineral_year(minerals, years, dep[column].tolist()),
        "least_cost_by_mineral_year": _by_mineral_year(minerals, years, dep[least].tolist()),
    }


def dependence_summary(model: Model, dep) -> dict:
    """The summary's ``dependence``: the country, the aggregate over minerals and years, and per measure
    (``exposure``, ``share_of_supply``) its unit, overall values, means per mineral and values per mineral-year."""
    country = model.scenario.dependence.country
    columns = {"exposure": "china_exposure_pct", "share_of_supply": "china_share_of_supply_pct"}
    rows, minerals, years = _DemandRows(model, dep), dep["mineral"].tolist(), dep["year"].tolist()
    return {"country": country, "aggregate": model.scenario.objective.aggregate, "weighting": weighting(model),
            **{name: {"unit": MEASURE_UNITS[name].format(country=country),
                      **_measure_summary(rows, dep, column, minerals, years)}
               for name, column in columns.items()}}


def jv_summary(model: Model, tables: Tables) -> dict:
    """Capacity built by mode and mineral, and the buyer-hosted capacity built with a technology partner."""
    builds = tables.extra.get("builds")
    if builds is None or builds.empty:
        return {"capacity_built_tpy": {}, "buyer_hosted_with_partner_tpy": {}, "capex_usd": 0.0, "builds": 0}
    by_mode: dict[str, dict[str, float]] = {}
    for (mineral, mode), v in builds.groupby(["mineral", "mode"])["capacity_tpy"].sum().items():
        by_mode.setdefault(mineral, {})[mode] = _round(v, 4)
    buyer = model.scenario.buyer
    home = builds[(builds["host"] == buyer) & (builds["partner"] != buyer)]
    with_partner = {m: _round(v, 4) for m, v in home.groupby("mineral")["capacity_tpy"].sum().items()}
    return {
        "capacity_built_tpy": {m: by_mode[m] for m in model.minerals if m in by_mode},
        "buyer_hosted_with_partner_tpy": with_partner,
        "buyer_hosted_tpy": {m: _round(v, 4) for m, v in
                             builds[builds["host"] == buyer].groupby("mineral")["capacity_tpy"].sum().items()},
        "capex_usd": _round(float(builds["capex_usd"].sum()), 2),
        "builds": len(builds),
    }


STAGE_OBJECTIVES = {"shortfall": "shortfall", "least_cost": "cost", "cost": "cost",
                    "least_cost_reference": "dependence", "dependence": "dependence", "tie_break": "tie_break",
                    "leximin": "leximin", "leximin_check": "leximin"}
"""What each stage minimised (``engine/plan/hierarchy.py``; ``tie_break_duals`` minimises the last stage's; a
leximin round its worst exposure ``dep_max`` in percent, a check one mineral's, ``engine/plan/leximin.py``)."""


def stage_entry(model: Model, plan: Plan, stage: Stage) -> dict:
    """One stage in ``summary.json``: its objective (c·x of its point) in user units, named by its key: the value of
    unmet demand or the cost in USD present value, dependence in percent, the tie rule's weighted tonnes."""
    kind = STAGE_OBJECTIVES.get(stage.name, "cost" if plan.dependence_level is not None else "dependence")
    key, scale, digits = {"shortfall": ("objective_pv_usd", model.money_unit, 4),
                          "cost": ("objective_pv_usd", model.money_unit, 4),
                          "dependence": ("objective_pct", model.dependence_unit, 12),
                          "leximin": ("objective_pct", 1.0, 12),
                          "tie_break": ("objective_weighted_t", 1.0, 6)}[kind]
    value = None if stage.objective is None else stage.objective * scale
    return {"name": stage.name, "status": str(stage.status), key: _round(value, digits),
            "seconds": _round(stage.seconds, 4), "iterations": stage.iterations}


TRANSFERS = ("tariff", "feoc_credit_loss")
"""Cost components that are transfers within the buyer's economy (tariffs to the Treasury, tax credits forgone),
not resources it spends; every other component (purchases at producers' prices, JV capex, opex and royalties,
stockpile holding) is resource cost."""
OBJECTIVE_COUNTS = ("The objective counts the buyer's outlay, tariffs and lost credits included; these are transfers "
                    "to the Treasury, not a resource cost to the nation (resource_pv_usd leaves them out).")
"""The one line that says what the plan's cost objective counts (summary ``cost.objective_counts``)."""


def cost_split(by_component: pd.Series) -> dict:
    """Resource cost R = sum of the components not in ``TRANSFERS`` and transfers T = sum of those in it, present
    value; R + T = ``total_pv_usd`` (the cost of supply). Keys ``resource_pv_usd``, ``transfers_pv_usd``,
    ``transfers_by_component_pv_usd`` and ``objective_counts``."""
    transfers = by_component[by_component.index.isin(TRANSFERS)]
    resource = by_component[~by_component.index.isin(TRANSFERS)]
    return {"resource_pv_usd": _round(float(resource.sum()), 2), "transfers_pv_usd": _round(float(transfers.sum()), 2),
            "transfers_by_component_pv_usd": {c: _round(float(v), 2) for c, v in transfers.items()},
            "objective_counts": OBJECTIVE_COUNTS}


def make_summary(model: Model, plan: Plan, tables: Tables | None, backend: Backend,
                 timings: dict[str, float]) -> dict:
    """A JSON-ready summary of one run (see the README for every key)."""
    s, loaded = model.scenario, model.loaded
    summary: dict = {
        "schema_version": SCHEMA_VERSION,
        "status": str(plan.status),
        "message": plan.message,
        "scenario": {
            "name": s.name, "description": s.description,
            "file": str(loaded.path) if loaded.path else None,
            "extends": [str(p) for p in loaded.parents],
            "buyer": s.buyer, "horizon": [s.horizon.start, s.horizon.end], "minerals": model.minerals,
            "objective": s.objective.minimise, "aggregate": s.objective.aggregate,
            "shortfall": s.objective.shortfall,
            "budget": str(s.objective.budget) if s.objective.minimise == "dependence" else None,
            "dependence_on": s.dependence.country, "basis": s.dependence.basis,
            "control_threshold": s.dependence.control_threshold,
            "policies": [{"name": p.name, "type": p.type} for p in s.policies],
        },
        "money": money_basis(loaded),
        "solver": {"backend": backend.name, "version": backend.version},
        "model": {"columns": model.lp.n_cols, "rows": model.lp.n_rows, "nonzeros": model.lp.nnz,
                  "money_unit_usd": model.money_unit, "dependence_unit_pp": model.dependence_unit},
        "stages": [stage_entry(model, plan, st) for st in plan.stages],
        "tie_break": [stage_entry(model, plan, st) for st in plan.tie_break],
        "timings": {k: _round(v, 4) for k, v in timings.items()},
        "inputs": {"hash": loaded.digest, "dataset": str(model.dataset.folder),
                   "dataset_hash": model.dataset.digest},
        "versions": versions(),
        "warnings": list(model.warnings) + list(plan.notes),
        "solver_checks": {"points_rejected": plan.rejected_points, "stage_retries": plan.stage_retries,
                          "duals_belong_to_plan": plan.duals_checked},
    }
    if tables is None:
        return stamped(summary)
    dep = tables.dependence
    prob = tables.costs["scen"].map(model.scenarios.set_index("scen")["probability"]).to_numpy(dtype=float)
    costs = tables.costs.assign(pv_usd=tables.costs["pv_usd"] * prob)  # expected values across scenarios
    total = float(costs["pv_usd"].sum())
    short = tables.shortfall
    unmet_pv = expected_total(model, short, "value_pv_usd")
    # the least-cost plan's own cost, recomputed from its flows like every figure (the least-cost stage's level
    # differs by the tolerance its tie-break may spend); the headline is cost including unmet demand at its value
    least = total_cost_pv(model, plan.least_cost.x) if plan.least_cost is not None else None
    least_with = (least + unmet_value_pv(model, plan.least_cost.x) if plan.least_cost is not None
                  else plan.least_cost_usd)
    premium = (beyond_noise(total + unmet_pv - least_with, least_with, s.objective.tolerance)
               if least_with is not None else None)
    summary["dependence"] = dependence_summary(model, dep)
    summary["cost"] = {
        "objective_cost": "with_unmet",
        "headline": "cost including unmet demand at its value (total_with_unmet_pv_usd): the cost of supply "
                    "(total_pv_usd; its parts by_component_pv_usd) plus unmet demand at its value "
                    "(unmet_value_pv_usd); the budget and the premium are on it",
        "unit": f"USD, present value at {s.base_year} ({100 * s.finance.discount_rate:g}% discount rate)",
        "total_with_unmet_pv_usd": _round(total + unmet_pv, 2),
        "least_cost_with_unmet_pv_usd": _round(least_with, 2),
        "budget_pv_usd": _round(plan.budget_usd, 2),
        "premium_usd": _round(premium, 2),
        "premium_pct": _round(100.0 * premium / least_with, 4) if least_with else None,
        "total_pv_usd": _round(total, 2),
        "least_cost_pv_usd": _round(least, 2),
        "unmet_value_pv_usd": _round(unmet_pv, 2),
        "by_mineral_pv_usd": {m: _round(v, 2) for m, v in costs.groupby("mineral")["pv_usd"].sum().items()},
        "by_component_pv_usd": {c: _round(v, 2) for c, v in costs.groupby("component")["pv_usd"].sum().items()},
        **cost_split(costs.groupby("component")["pv_usd"].sum()),
    }
    summary["jv"] = jv_summary(model, tables)
    status = tables.extra.get("policies")
    if status is not None:
        from engine.outputs.policy_status import policy_summary

        summary["policies"] = policy_summary(status, tables.extra["policy_years"], model.mineral_names())
        summary["policy_impacts"] = {
            "method": "each policy removed in turn, and the binding ones relaxed by one unit where it matters most, "
                      "the whole hierarchy re-solved at the base plan's budget in USD; added = with the policy "
                      "minus without it",
            "budget_pv_usd": _round(plan.budget_usd, 2),
            "solves": int(len(status) + (tables.extra["policy_years"]["relaxed_by"] != "").sum()),
        }
    summary["shortfall"] = {
        "total_t": _round(float(short["shortfall_t"].sum()), 6),
        "valued_at": UNMET_DEMAND_VALUE,
        "value_usd": _round(expected_total(model, short, "value_usd"), 2),
        "value_pv_usd": _round(unmet_pv, 2),
        "by_mineral_t": {m: _round(v, 6) for m, v in short.groupby("mineral")["shortfall_t"].sum().items()},
    }
    return stamped(summary)
