"""Share rules on the buyer's supply: country caps and content rules.

Supply of mineral m in year y is what the buyer consumes, demand minus shortfall, so both rules stay linear
and sparse without a total-supply variable.

country_cap, per covered (m, y, ω) and country c (location or controlling owner; aggregates such as ROW and,
by default, the buyer itself are never capped)::

    Σ_{deliveries from c} x  <=  max_share × (demand[m, y, ω] − short[m, y, ω])

content_rule, per covered (m, y, ω) with a required share s_y (a step schedule by year)::

    Σ_{qualifying deliveries} x  >=  s_y × (demand[m, y, ω] − short[m, y, ω])

where a delivery qualifies if its location is the buyer or a listed partner (the buyer's FTA partners by
default) and its covered-nation equity is below ``feoc_threshold``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.demand import demand_row_of
from engine.formulation.model import Model
from engine.formulation.select import scope_mask
from engine.inputs.schema import ContentRule, CountryCap
from engine.model.joins import group_rows, match_rows


def _with_shortfall(model: Model, groups: pd.DataFrame, codes: np.ndarray, cols: np.ndarray,
                    coef: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Triplets for Σ x + share·short (one row per group) and the right-hand side share·demand."""
    drow = demand_row_of(model, groups)
    short_cols = model.block_cols("short")[drow]
    rows = np.concatenate([codes, np.arange(len(groups))])
    all_cols = np.concatenate([cols, short_cols])
    vals = np.concatenate([coef, share])
    rhs = share * model.demand["demand_t"].to_numpy()[drow]
    return rows, all_cols, vals, rhs


def add_country_cap(model: Model, policy: CountryCap) -> None:
    """No more than ``max_share`` of supply from any one country (or each of those listed)."""
    dl = model.deliveries
    column = "location" if policy.by == "location" else "owner"
    countries = model.dataset.countries
    aggregates = set(countries.loc[countries["region"] == "World", "iso3"])
    mask = scope_mask(dl, policy, model.years) & ~dl[column].isin(aggregates).to_numpy()
    if policy.exclude_buyer:
        mask &= (dl[column] != model.scenario.buyer).to_numpy()
    if policy.countries is not None:
        mask &= dl[column].isin(policy.countries).to_numpy()
    chosen = np.flatnonzero(mask)
    if not len(chosen):
        return
    groups, codes = group_rows(dl, ["scen", "mineral", "year", column], chosen)  # no copy of the chosen rows
    groups = groups.rename(columns={column: "country"})
    share = np.full(len(groups), policy.max_share)
    rows, cols, vals, rhs = _with_shortfall(model, groups, codes, dl["col"].to_numpy()[chosen],
                                            np.ones(len(chosen)), share)
    keys = groups.assign(policy=policy.name)
    model.lp.add_constraints(f"country_cap:{policy.name}", keys, rows, cols, vals, upper=rhs)


def qualifying_mask(model: Model, policy: ContentRule, frame: pd.DataFrame) -> np.ndarray:
    """Deliveries that count towards a content rule."""
    countries = model.dataset.countries
    if policy.qualifying is not None:
        partners = set(policy.qualifying)
    else:
        partners = set(countries.loc[countries["us_fta"], "iso3"])
    partners.add(model.scenario.buyer)
    ok = frame["location"].isin(partners).to_numpy()
    if policy.feoc_threshold is not None:
        ok = ok & (frame["covered_equity"].to_numpy() < policy.feoc_threshold - 1e-12)
    return ok


def add_content_rule(model: Model, policy: ContentRule) -> None:
    """At least the scheduled share of supply from qualifying countries."""
    d = model.demand
    required = d["year"].map(policy.share_in)
    scope = scope_mask(d, policy, model.years) & required.notna().to_numpy()
    groups = d.loc[scope, ["scen", "mineral", "year"]].reset_index(drop=True)
    if groups.empty:
        return
    share = required[scope].to_numpy(dtype=float)
    dl = model.deliveries
    qual = dl[qualifying_mask(model, policy, dl)]
    codes = match_rows(qual, groups, ["scen", "mineral", "year"])
    inside = codes >= 0
    rows, cols, vals, rhs = _with_shortfall(model, groups, codes[inside], qual["col"].to_numpy()[inside],
                                            np.ones(int(inside.sum())), share)
    keys = groups.assign(policy=policy.name)
    model.lp.add_constraints(f"content_rule:{policy.name}", keys, rows, cols, vals, lower=rhs)
