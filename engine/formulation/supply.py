"""Purchases from existing capacity: the ``flow`` variables and their capacity bounds.

Capacity (bounds, not rows)::

    0 <= flow[s, y, ω] <= capacity_s × exportable_s × availability[s, ω] × Π_p allowed_share_p(s, y)

for every supply block s active in year y (first_year <= y <= last_year) of scenario ω, where the product
runs over export bans and quotas p that cover s (``trade.py``) and FEOC exclusions set the bound to zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.inputs.ownership import equity_table, group_sums
from engine.model.joins import columns_frame, strings, taken, tiled

CONTROL_TOLERANCE = 1e-9  # equity this close below the control threshold reaches it (sums of listed shares)


def attribution(location: pd.Series | np.ndarray, equity_on: pd.Series | np.ndarray, on: str,
                basis: str, control_threshold: float = 0.25) -> np.ndarray:
    """Share of a source's tonnes counted as dependence on ``on``, per basis::

        location          a = 1 if located in ``on`` else 0
        ownership         a = e  (the equity share ``on`` holds)
        combined          a = max(location, ownership)
        control           a = 1 if e >= control_threshold else 0
        combined_control  a = max(location, control)
    """
    located = (np.asarray(location) == on).astype(float)
    owned = owned_share(np.asarray(equity_on, dtype=float), basis, control_threshold)
    if basis == "location":
        return located
    if basis in ("ownership", "control"):
        return owned
    return np.maximum(located, owned)


def owned_share(equity_on: np.ndarray, basis: str, control_threshold: float) -> np.ndarray:
    """The ownership part of an attribution: the equity share itself, or under a control basis (``control``,
    ``combined_control``) 1 where it reaches ``control_threshold`` and 0 below."""
    if basis in ("control", "combined_control"):
        return np.where((equity_on > 0) & (equity_on >= control_threshold - CONTROL_TOLERANCE), 1.0, 0.0)
    return equity_on


def _exportable_share(source_id: np.ndarray, location: np.ndarray, listed: np.ndarray,
                      overrides: dict[str, float]) -> np.ndarray:
    """The scenario's override by source id, else by location country, else the listed share."""
    if not overrides:
        return listed.astype(float)
    return np.array([overrides.get(i, overrides.get(c, v)) for i, c, v in zip(source_id, location, listed,
                                                                               strict=True)], dtype=float)


def source_table(model: Model) -> pd.DataFrame:
    """One row per supply block with the attributes the formulation needs (on positions of numpy arrays: the
    tables are small, and pandas' cost per call would dominate)."""
    s, ds = model.scenario, model.dataset
    capacity = ds.capacity
    rows = np.flatnonzero(np.isin(capacity["mineral"].to_numpy(), list(model.minerals)))
    columns = {name: taken(values, rows) for name, values in capacity.items()}
    source_id = np.asarray(columns["source_id"], dtype=object)
    location = np.asarray(columns["location"], dtype=object)
    cap = pd.DataFrame({"source_id": columns["source_id"], "location": columns["location"]})
    ownership = ds.ownership
    equity = equity_table(cap, ownership[np.isin(ownership["source_id"].to_numpy(), source_id)])
    model.equity = equity
    countries = ds.countries
    covered = countries["iso3"].to_numpy()[countries["covered_nation"].to_numpy(dtype=bool)]
    holder = equity["source_id"].to_numpy()
    owner = equity["owner"].to_numpy()
    share = equity["equity_share"].to_numpy()
    holders, holder_code = np.unique(holder, return_inverse=True)  # equity is sorted by (source_id, owner)
    row_of_source = dict(zip(holders, range(len(holders)), strict=True))
    at = np.array([row_of_source.get(i, -1) for i in source_id], dtype=np.int64)
    on = owner == s.dependence.country
    equity_on = np.zeros(len(holders))
    equity_on[holder_code[on]] = share[on]
    in_covered = np.isin(owner, covered)
    covered_equity = group_sums(holder_code[in_covered], share[in_covered], len(holders))
    top = np.lexsort((np.unique(owner, return_inverse=True)[1], -share, holder_code))
    first = top[np.r_[True, holder_code[top][1:] != holder_code[top][:-1]]] if len(top) else top
    top_owner = np.empty(len(holders), dtype=object)
    top_owner[holder_code[first]] = owner[first]
    found = at >= 0
    columns["equity_on"] = np.where(found, equity_on[np.maximum(at, 0)], 0.0)
    columns["covered_equity"] = np.where(found, covered_equity[np.maximum(at, 0)], 0.0)
    columns["owner"] = pd.array(np.where(found, top_owner[np.maximum(at, 0)], np.nan) if len(at) else
                                np.empty(0, dtype=object), dtype=equity["owner"].dtype)
    columns["attribution"] = attribution(location, columns["equity_on"], s.dependence.country, s.dependence.basis,
                                         s.dependence.control_threshold)
    columns["exportable_share"] = _exportable_share(source_id, location, columns["exportable_share"],
                                                    s.data.exportable_share)
    return pd.DataFrame(columns)


SUPPLY_COLUMNS = ["source_id", "mineral", "location", "owner", "capacity_t", "unit_cost_usd_per_t",
                  "covered_equity", "attribution"]
"""What each flow column keeps of its source; the exportable share, active years and equity on the dependence
country are read per source to make the flow rows (``model.sources`` has them): less memory for the whole run."""


def add_flows(model: Model) -> None:
    """Create ``flow[s, y, ω]`` for every active supply block, year and scenario (bounds set in finalise)."""
    model.sources = source_table(model)
    src = model.sources
    years = np.asarray(model.years, dtype=np.int64)
    source_row = np.repeat(np.arange(len(src)), len(years))
    year = np.tile(years, len(src))
    last = src["last_year"].astype("Float64").fillna(np.inf).astype(float).to_numpy()
    active = (year >= src["first_year"].to_numpy()[source_row]) & (year <= last[source_row])
    source_row, year = source_row[active], year[active]
    minerals = np.unique(src["mineral"].to_numpy(), return_inverse=True)[1]
    ids = np.unique(src["source_id"].to_numpy(), return_inverse=True)[1]
    order = np.lexsort((ids[source_row], year, minerals[source_row]))  # stable: by mineral, year, source_id
    source_row, year = source_row[order], year[order]
    available = src["capacity_t"].to_numpy()[source_row] * src["exportable_share"].to_numpy()[source_row]
    scens = np.sort(model.scenarios["scen"].to_numpy())
    n, times = len(source_row), len(scens)
    columns = {name: tiled(taken(src[name], source_row), times) for name in SUPPLY_COLUMNS}
    columns["year"] = np.tile(year, times)
    columns["scen"] = np.repeat(scens, n)  # sorted by scen, mineral, year, source_id
    columns["id"] = columns["source_id"].copy()
    columns["available_t"] = np.tile(available, times)
    for name, value in (("availability", 1.0), ("allowed_share", 1.0), ("ad_valorem", 0.0),
                        ("tariff_usd_per_t", 0.0), ("credit_loss_usd_per_t", 0.0)):
        columns[name] = np.full(n * times, value)
    columns["restricted_by"] = strings("", n * times)
    supply = pd.DataFrame(columns, copy=False)  # fresh arrays: kept as they are, not stacked into 2-D blocks
    model.supply = supply
    model.lp.add_variables("flow", columns_frame(supply, ["source_id", "year", "scen"]))


def finalise_flow_bounds(model: Model) -> None:
    """Apply availability and export restrictions to the flow upper bounds."""
    sup = model.supply
    upper = sup["available_t"] * sup["availability"] * sup["allowed_share"]
    model.lp.variables["flow"].upper[:] = upper.to_numpy(dtype=float)


def delivered_cost(supply: pd.DataFrame | dict[str, np.ndarray]) -> pd.Series | np.ndarray:
    """Delivered cost per tonne including tariffs and lost credits (USD/t), of a table's rows or of its columns'
    arrays (the same operations, so the same bits)."""
    return (supply["unit_cost_usd_per_t"] * (1.0 + supply["ad_valorem"]) + supply["tariff_usd_per_t"]
            + supply["credit_loss_usd_per_t"])
