"""Building the linear program of a scenario, one constraint family per module.

``build_model(loaded)`` returns a :class:`~engine.formulation.model.Model`: variables first (flows, JV builds
and output, shortfall),
then the policies that act on bounds and costs, then the rows (demand balance and the share policies), then
the objectives (shortfall, cost, dependence). The objective hierarchy is solved in ``engine.plan.hierarchy``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.formulation import cost, dependence, domestic, jv, shares, supply, trade
from engine.formulation.checks import run_checks
from engine.formulation.demand import add_demand_balance, add_shortfall, demand_row_of, use_cvar_shortfall
from engine.formulation.disruptions import ScenarioSet, apply_availability, availability_factors, mineral_factor
from engine.formulation.model import Model, money_unit_for
from engine.formulation.stockpile import add_stockpile
from engine.inputs.scenario import LoadedScenario
from engine.inputs.schema import PolicyBase
from engine.model.joins import end_to_end, strings
from engine.model.pages import ordinary_pages

# Policies that change bounds or costs of purchases: applied before bounds and costs are final.
COLUMN_POLICIES: dict[str, Callable[[Model, PolicyBase], None]] = {
    "export_ban": trade.apply_export_ban,  # type: ignore[dict-item]
    "tariff": trade.apply_tariff,  # type: ignore[dict-item]
    "feoc": trade.apply_feoc,  # type: ignore[dict-item]
    "market_access": trade.apply_market_access,  # type: ignore[dict-item]
}
# Policies that add rows over deliveries and demand.
ROW_POLICIES: dict[str, Callable[[Model, PolicyBase], None]] = {
    "country_cap": shares.add_country_cap,  # type: ignore[dict-item]
    "content_rule": shares.add_content_rule,  # type: ignore[dict-item]
    "dependence_cap": dependence.add_dependence_cap,  # type: ignore[dict-item]
    "domestic_target": domestic.add_domestic_target,  # type: ignore[dict-item]
}


DELIVERY_COLUMNS = ["mineral", "year", "scen", "location", "owner", "attribution", "covered_equity", "demand_row"]


def _deliveries(model: Model) -> pd.DataFrame:
    """Every column that delivers tonnes to the buyer (purchases, JV output), with the attributes rules need.

    Each column is the blocks' columns end to end (pandas' concat of each column, so the dtypes are those a concat
    of the blocks' frames gives), made into one frame without copies: a frame per block, then their concat,
    copied every column twice (0.1 s at 1.1M non-zeros)."""
    frames = model.delivery_frames()
    columns = {"col": np.concatenate([model.block_cols(block) for block, _ in frames]),
               "kind": end_to_end([pd.Series(strings("purchase" if block == "flow" else "jv", len(frame)))
                                    for block, frame in frames])}
    for column in ("id", *DELIVERY_COLUMNS):
        columns[column] = end_to_end([frame[column] for _, frame in frames])
    return pd.DataFrame(columns, copy=False)


def build_model(loaded: LoadedScenario, scenarios: ScenarioSet | None = None, *,
                cvar_alpha: float | None = None) -> Model:
    """Build the LP of a validated scenario (one deterministic scenario unless ``scenarios`` is given).

    With ``cvar_alpha`` the shortfall objective (the value of unmet demand in the cost) is its CVaR at that level
    instead of its mean. numpy's arrays are on ordinary pages meanwhile (``engine.model.pages``).
    """
    with ordinary_pages():
        return _build_model(loaded, scenarios, cvar_alpha)


def _build_model(loaded: LoadedScenario, scenarios: ScenarioSet | None, cvar_alpha: float | None) -> Model:
    s = loaded.scenario
    model = Model(loaded=loaded)
    model.years = s.years
    model.minerals = list(s.minerals) if s.minerals else list(loaded.dataset.minerals["mineral"])
    scenario_set = scenarios if scenarios is not None else ScenarioSet()
    model.scenario_set = scenario_set
    model.scenarios = scenario_set.table
    prices = loaded.dataset.minerals
    model.money_unit = money_unit_for(prices.loc[prices["mineral"].isin(model.minerals),
                                                 "reference_price_usd_per_t"].to_numpy())
    supply.add_flows(model)
    jv.add_jv_variables(model)
    add_shortfall(model)
    availability = availability_factors(scenario_set.availability)
    for _, frame in model.delivery_frames():
        frame["demand_row"] = demand_row_of(model, frame)
        apply_availability(frame, availability)
        if scenario_set.cost.empty:  # every factor 1: costs stay as they are
            continue
        factor = mineral_factor(frame, scenario_set.cost)
        for column in ("unit_cost_usd_per_t", "opex_usd_per_t", "royalty_usd_per_t"):
            if column in frame:
                frame[column] = frame[column] * factor
    for policy in s.policies:
        if policy.type in COLUMN_POLICIES:
            COLUMN_POLICIES[policy.type](model, policy)
    supply.finalise_flow_bounds(model)
    jv.finalise_jv_bounds(model)
    model.deliveries = _deliveries(model)
    add_demand_balance(model)
    add_stockpile(model)
    jv.add_jv_constraints(model)
    for policy in s.policies:
        if policy.type in ROW_POLICIES:
            ROW_POLICIES[policy.type](model, policy)
    cost.add_purchase_cost(model)
    jv.add_jv_cost(model)
    dependence.add_dependence_objective(model)
    if cvar_alpha is not None:
        use_cvar_shortfall(model, cvar_alpha)
    run_checks(model)
    model.__dict__.pop("_measure_terms_cache", None)  # made once for the build; not held through the solve (12 MB)
    return model


__all__ = ["Model", "ScenarioSet", "build_model"]
