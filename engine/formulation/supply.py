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
from engine.inputs.ownership import equity_table
from engine.model.joins import per_scenario


def attribution(location: pd.Series, equity_on: pd.Series, on: str, basis: str) -> np.ndarray:
    """Share of a source's tonnes counted as dependence on ``on``: by location, ownership or the larger."""
    located = (location == on).to_numpy(dtype=float)
    owned = equity_on.to_numpy(dtype=float)
    if basis == "location":
        return located
    if basis == "ownership":
        return owned
    return np.maximum(located, owned)


def source_table(model: Model) -> pd.DataFrame:
    """One row per supply block with the attributes the formulation needs."""
    s, ds = model.scenario, model.dataset
    cap = ds.capacity[ds.capacity["mineral"].isin(model.minerals)].copy()
    equity = equity_table(cap, ds.ownership[ds.ownership["source_id"].isin(cap["source_id"])])
    model.equity = equity
    covered = set(ds.countries.loc[ds.countries["covered_nation"], "iso3"])
    cap["equity_on"] = cap["source_id"].map(
        equity[equity["owner"] == s.dependence.country].set_index("source_id")["equity_share"]).fillna(0.0)
    cap["covered_equity"] = cap["source_id"].map(
        equity[equity["owner"].isin(covered)].groupby("source_id")["equity_share"].sum()).fillna(0.0)
    top = equity.sort_values(["source_id", "equity_share", "owner"], ascending=[True, False, True])
    cap["owner"] = cap["source_id"].map(top.drop_duplicates("source_id").set_index("source_id")["owner"])
    cap["attribution"] = attribution(cap["location"], cap["equity_on"], s.dependence.country, s.dependence.basis)
    overrides = s.data.exportable_share
    by_location = cap["location"].map(overrides)
    by_id = cap["source_id"].map(overrides)
    cap["exportable_share"] = by_id.fillna(by_location).fillna(cap["exportable_share"]).astype(float)
    return cap.reset_index(drop=True)


SUPPLY_COLUMNS = ["source_id", "mineral", "location", "owner", "capacity_t", "exportable_share",
                  "unit_cost_usd_per_t", "first_year", "last_year", "equity_on", "covered_equity", "attribution"]
BUILD_ONLY_COLUMNS = ["exportable_share", "first_year", "last_year", "equity_on"]
"""Read per source to make the flow rows (active years, available tonnes, attribution), not kept per flow
(``model.sources`` has them): 32 bytes per flow column less for the whole run."""


def add_flows(model: Model) -> None:
    """Create ``flow[s, y, ω]`` for every active supply block, year and scenario (bounds set in finalise)."""
    model.sources = source_table(model)
    src = model.sources[SUPPLY_COLUMNS]  # only what the formulation reads: one row per source, year and scenario
    n_years = len(model.years)
    active = src.take(np.repeat(np.arange(len(src)), n_years)).reset_index(drop=True)
    active["year"] = np.tile(np.asarray(model.years, dtype=np.int64), len(src))
    last = active["last_year"].astype("Float64").fillna(np.inf).astype(float)
    active = active[(active["year"] >= active["first_year"]) & (active["year"] <= last)]
    active = active.sort_values(["mineral", "year", "source_id"], kind="stable")
    available = (active["capacity_t"] * active["exportable_share"]).to_numpy()
    # the columns read only to make the rows and their bounds stay out of the per-scenario copy
    active = active.drop(columns=BUILD_ONLY_COLUMNS)
    supply = per_scenario(active, model.scenarios["scen"])  # sorted by scen, mineral, year, source_id
    supply["id"] = supply["source_id"]
    supply["available_t"] = np.tile(available, len(model.scenarios))
    supply["availability"] = 1.0
    supply["allowed_share"] = 1.0
    supply["ad_valorem"] = 0.0
    supply["tariff_usd_per_t"] = 0.0
    supply["credit_loss_usd_per_t"] = 0.0
    supply["restricted_by"] = ""
    model.supply = supply
    model.lp.add_variables("flow", supply[["source_id", "year", "scen"]])


def finalise_flow_bounds(model: Model) -> None:
    """Apply availability and export restrictions to the flow upper bounds."""
    sup = model.supply
    upper = sup["available_t"] * sup["availability"] * sup["allowed_share"]
    model.lp.variables["flow"].upper[:] = upper.to_numpy(dtype=float)


def delivered_cost(supply: pd.DataFrame) -> pd.Series:
    """Delivered cost per tonne including tariffs and lost credits (USD/t)."""
    return (supply["unit_cost_usd_per_t"] * (1.0 + supply["ad_valorem"]) + supply["tariff_usd_per_t"]
            + supply["credit_loss_usd_per_t"])
