"""Trade restrictions that act on purchases: export bans and quotas, tariffs, FEOC rules.

export_ban (bounds and one row family)::

    flow[s, y, ω] <= … × allowed_share          for s located in / owned by the exporter, y in the policy years
    Σ_{s covered} flow[s, y, ω] <= quota_t      per mineral, year and scenario, when quota_t is given

tariff (cost)::

    delivered cost[s, y] = unit_cost_s × (1 + Σ ad_valorem) + Σ per_tonne_usd

feoc (bounds or cost), for sources with covered-nation equity >= threshold::

    exclude:      flow[s, y, ω] = 0
    credit_loss:  delivered cost[s, y] += credit_usd_per_t
"""

from __future__ import annotations

import numpy as np

from engine.formulation.model import Model
from engine.formulation.select import country_mask, scope_mask
from engine.lp import group_rows
from engine.schema import ExportBan, Feoc, Tariff


def _mark(model: Model, mask: np.ndarray, name: str) -> None:
    sup = model.supply
    tag = sup.loc[mask, "restricted_by"]
    sup.loc[mask, "restricted_by"] = np.where(tag == "", name, tag + ";" + name)


def apply_export_ban(model: Model, policy: ExportBan) -> None:
    """Scale the bound of covered flows by ``allowed_share``; add a quota row if ``quota_t`` is set."""
    sup = model.supply
    mask = scope_mask(sup, policy, model.years) & country_mask(
        sup, model.equity, [policy.exporter], policy.by, policy.owner_threshold)
    sup.loc[mask, "allowed_share"] *= policy.allowed_share
    _mark(model, mask, policy.name)
    if policy.quota_t is None or not mask.any():
        return
    groups, rows = group_rows(sup[mask], ["scen", "mineral", "year"])
    cols = model.block_cols("flow")[np.flatnonzero(mask)]
    keys = groups.assign(policy=policy.name, country=policy.exporter)
    model.lp.add_constraints(f"export_quota:{policy.name}", keys, rows, cols, np.ones(len(rows)),
                             upper=policy.quota_t)


def apply_tariff(model: Model, policy: Tariff) -> None:
    """Add the tariff to the delivered cost of covered flows."""
    sup = model.supply
    mask = scope_mask(sup, policy, model.years) & country_mask(
        sup, model.equity, list(policy.origin or []), policy.by, policy.owner_threshold)
    sup.loc[mask, "ad_valorem"] += policy.ad_valorem
    sup.loc[mask, "tariff_usd_per_t"] += policy.per_tonne_usd


def apply_feoc(model: Model, policy: Feoc) -> None:
    """Exclude covered-nation-owned sources, or charge them the lost credit."""
    if "sources" not in policy.applies_to:
        return
    sup = model.supply
    mask = scope_mask(sup, policy, model.years) & (sup["covered_equity"].to_numpy() >= policy.threshold - 1e-12)
    if policy.action == "exclude":
        sup.loc[mask, "allowed_share"] = 0.0
        _mark(model, mask, policy.name)
    else:
        sup.loc[mask, "credit_loss_usd_per_t"] += policy.credit_usd_per_t
