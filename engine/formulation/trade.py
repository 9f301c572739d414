"""Trade and ownership restrictions on deliveries (purchases and JV output): bans, quotas, tariffs, FEOC,
market access.

export_ban (bounds and one row family), for deliveries located in / owned by the exporter, outside the
buyer's country, in the policy's minerals and years::

    x[d, y, ω] <= … × allowed_share
    Σ_{d covered} x[d, y, ω] <= quota_t          per mineral, year and scenario, when quota_t is given

tariff (cost)::

    delivered cost[d, y] = unit cost_d × (1 + Σ ad_valorem) + Σ per_tonne_usd

feoc (bounds or cost), for deliveries with covered-nation equity >= threshold (licences from covered partners
too with ``covers_licences``)::

    exclude:      x[d, y, ω] = 0 and build[j, y] = 0
    credit_loss:  delivered cost[d, y] += credit_usd_per_t

market_access, for the named country c::

    flow[s, y, ω] = 0        for sources with equity_c(s) >= owner_threshold
    jv_out[j, y, ω] = 0 and build[j, y] = 0
                             for options with partner c and equity > max_equity (or hosted abroad)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.formulation.select import country_mask, isin, owner_mask, scope_mask
from engine.inputs.schema import ExportBan, Feoc, MarketAccess, PolicyBase, Tariff
from engine.model.joins import group_rows, taken


def _restrict(model: Model, block: str, frame: pd.DataFrame, mask: np.ndarray, factor: float, name: str) -> None:
    """Scale the allowed share of the deliveries in ``mask`` by ``factor``, tag them with the policy, and record
    the share of their volume it removed (``explain`` attributes lost capacity policy by policy)."""
    rows = np.flatnonzero(mask)
    before = frame["allowed_share"].to_numpy(dtype=float)[rows]
    if len(rows):  # columns of untouched frames are left as they are
        allowed = frame["allowed_share"].to_numpy(dtype=float, copy=True)
        allowed[rows] = before * factor
        frame["allowed_share"] = allowed
        tags = np.asarray(taken(frame["restricted_by"], rows), dtype=object)
        frame.loc[mask, "restricted_by"] = np.array([name if tag == "" else tag + ";" + name for tag in tags],
                                                    dtype=object)
    model.restrictions.append(pd.DataFrame({"policy": name, "block": block, "row": rows,
                                            "removed_share": before * (1.0 - factor)}))


def _exclude(model: Model, block: str, frame: pd.DataFrame, mask: np.ndarray, policy: PolicyBase) -> None:
    """Zero the deliveries in ``mask``; for JV output also forbid builds of those options in the policy years."""
    _restrict(model, block, frame, mask, 0.0, policy.name)
    if block == "jv_out" and mask.any():
        builds = model.builds
        options = set(frame.loc[mask, "option_id"])
        hit = builds["option_id"].isin(options).to_numpy() & scope_mask(builds, policy, model.years)
        builds.loc[hit, "allowed"] = False


def export_ban_mask(model: Model, frame: pd.DataFrame, policy: ExportBan, home: list[str]) -> np.ndarray:
    """The deliveries of ``frame`` an export ban covers on their way to a buyer whose countries are ``home``:
    located in or owned by the exporter, and not located in ``home`` (a sale at home is not an export)."""
    mask = scope_mask(frame, policy, model.years) & country_mask(
        frame, model.equity, [policy.exporter], policy.by, policy.owner_threshold)
    return mask & ~isin(frame["location"], home)  # (a missing location is not at home)


def apply_export_ban(model: Model, policy: ExportBan) -> None:
    """Scale covered deliveries by ``allowed_share``; add a quota row per mineral-year if ``quota_t`` is set."""
    rows, cols = [], []
    for block, frame in model.delivery_frames():
        mask = export_ban_mask(model, frame, policy, [model.scenario.buyer])
        _restrict(model, block, frame, mask, policy.allowed_share, policy.name)
        if policy.quota_t is not None:
            rows.append(frame.loc[mask, ["scen", "mineral", "year"]])
            cols.append(model.block_cols(block)[np.flatnonzero(mask)])
    if policy.quota_t is None:
        return
    covered = pd.concat(rows, ignore_index=True)
    if covered.empty:
        return
    groups, codes = group_rows(covered, ["scen", "mineral", "year"])
    keys = groups.assign(policy=policy.name, country=policy.exporter)
    model.lp.add_constraints(f"export_quota:{policy.name}", keys, codes, np.concatenate(cols),
                             np.ones(len(codes)), upper=policy.quota_t)


def tariff_mask(model: Model, frame: pd.DataFrame, policy: Tariff) -> np.ndarray:
    """The deliveries of ``frame`` a tariff charges."""
    return scope_mask(frame, policy, model.years) & country_mask(
        frame, model.equity, list(policy.origin or []), policy.by, policy.owner_threshold)


def feoc_mask(model: Model, block: str, frame: pd.DataFrame, policy: Feoc) -> np.ndarray:
    """The deliveries of ``frame`` (delivery block ``block``) a FEOC rule covers."""
    if {"flow": "sources", "jv_out": "jv"}[block] not in policy.applies_to:
        return np.zeros(len(frame), dtype=bool)
    covered = frame["covered_equity"].to_numpy() >= policy.threshold - 1e-12
    if block == "jv_out" and policy.covers_licences:
        covered = covered | frame["covered_licence"].to_numpy(dtype=bool)
    return scope_mask(frame, policy, model.years) & covered


def _add(frame: pd.DataFrame, mask: np.ndarray, column: str, value: float) -> None:
    """``frame.loc[mask, column] += value``, on the column's array."""
    if mask.any():
        values = frame[column].to_numpy(dtype=float, copy=True)
        values[mask] += value
        frame[column] = values


def apply_tariff(model: Model, policy: Tariff) -> None:
    """Add the tariff to the delivered cost of covered deliveries."""
    for _, frame in model.delivery_frames():
        mask = tariff_mask(model, frame, policy)
        _add(frame, mask, "ad_valorem", policy.ad_valorem)
        _add(frame, mask, "tariff_usd_per_t", policy.per_tonne_usd)


def apply_feoc(model: Model, policy: Feoc) -> None:
    """Exclude covered-nation-owned deliveries, or charge them the lost credit."""
    for block, frame in model.delivery_frames():
        mask = feoc_mask(model, block, frame, policy)
        if policy.action == "exclude":
            _exclude(model, block, frame, mask, policy)
        else:
            _add(frame, mask, "credit_loss_usd_per_t", policy.credit_usd_per_t)


def market_access_mask(model: Model, block: str, frame: pd.DataFrame, policy: MarketAccess,
                       home: list[str]) -> np.ndarray:
    """The deliveries of ``frame`` (delivery block ``block``) a market-access rule bars from a buyer whose countries
    are ``home``: purchases from sources the country controls; JV output of its partnerships above the equity limit
    or, with ``hosted_in_buyer``, hosted outside ``home``."""
    scope = scope_mask(frame, policy, model.years)
    if block == "flow":
        return scope & owner_mask(frame, model.equity, [policy.country], policy.owner_threshold)
    partner = (frame["partner"] == policy.country).to_numpy()
    too_much = frame["partner_equity_share"].to_numpy() > policy.max_equity + 1e-12
    abroad = ~isin(frame["host"], home) if policy.hosted_in_buyer else False
    return scope & partner & (too_much | abroad)


def apply_market_access(model: Model, policy: MarketAccess) -> None:
    """Ban direct purchases from firms owned by the country; allow its JVs only within the equity limit."""
    for block, frame in model.delivery_frames():
        _exclude(model, block, frame, market_access_mask(model, block, frame, policy, [model.scenario.buyer]),
                 policy)
