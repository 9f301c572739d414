"""Demand balance and shortfall.

Demand balance, one row per mineral m, year y and scenario ω::

    Σ_s flow[s, y, ω] + Σ_j jv_out[j, y, ω] + short[m, y, ω] = demand[m, y, ω]

Shortfall objective U (value-weighted and discounted like costs), in the LP money unit::

    U = Σ_{m, y, ω} p_ω × δ_y × v_m × short[m, y, ω],   v_m = UNMET_DEMAND_PRICE_MULTIPLE × price_m

``v_m`` is the one value of unmet demand critmin uses everywhere (tables, summary, duals, stress, sweep, robust):
the column ``unmet_value_usd_per_t`` of the demand table. The hierarchy (``engine/plan/hierarchy.py``) adds U to
the cost terms: every cost stage minimises cost including unmet demand at its value; with ``objective:
{shortfall: first}`` U is also minimised on its own, first.

Discounting makes a tonne unmet now worse than a tonne unmet later, so a stockpile is never used to move a
shortage forward in time for nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.disruptions import mineral_factor
from engine.formulation.model import Model
from engine.model.joins import columns_frame, match_rows, positions, taken, tiled

UNMET_DEMAND_PRICE_MULTIPLE = 10.0
"""The value of a tonne of unmet demand, as a multiple of the mineral's reference price (a value of lost load:
a tonne a buyer cannot get is worth more to it than the market price of a tonne it can)."""


def demand_table(model: Model) -> pd.DataFrame:
    """One row per (mineral, year, scenario): demand (scaled by the scenario) and reference price."""
    s, ds = model.scenario, model.dataset
    demand = ds.demand
    mineral = demand["mineral"].to_numpy()
    year = demand["year"].to_numpy()
    rows = np.flatnonzero(np.isin(mineral, list(model.minerals)) & np.isin(year, model.years))
    order = np.lexsort((year[rows], np.unique(mineral[rows], return_inverse=True)[1]))  # stable: by mineral, year
    rows = rows[order]
    mineral = mineral[rows]
    scale = s.data.demand_scale
    demand_t = demand["demand_t"].to_numpy()[rows] * np.array([scale.get(m, 1.0) for m in mineral], dtype=float)
    prices = ds.minerals
    at = positions(mineral, prices["mineral"])
    price = np.where(at >= 0, prices["reference_price_usd_per_t"].to_numpy(dtype=float)[np.maximum(at, 0)], np.nan)
    scenarios = model.scenarios
    scen_order = np.argsort(scenarios["scen"].to_numpy(), kind="stable")
    times, n = len(scen_order), len(rows)
    d = pd.DataFrame({
        "mineral": tiled(taken(demand["mineral"], rows), times),
        "year": tiled(taken(demand["year"], rows), times),
        "demand_t": np.tile(demand_t, times),
        "price_usd_per_t": np.tile(price, times),
        "unmet_value_usd_per_t": np.tile(UNMET_DEMAND_PRICE_MULTIPLE * price, times),
        "scen": np.repeat(taken(scenarios["scen"], scen_order), n),
        "probability": np.repeat(taken(scenarios["probability"], scen_order), n),
    })  # sorted by scen, mineral, year
    if not model.scenario_set.demand.empty:  # (a factor of 1 leaves every value as it is)
        d["demand_t"] = d["demand_t"] * mineral_factor(d, model.scenario_set.demand)
    return d


def shortfall_value_coefficients(model: Model) -> np.ndarray:
    """δ_y × v_m per ``short`` column in the LP money unit: the present value of a tonne unmet in its scenario
    (before the scenario's probability)."""
    d = model.demand
    return model.discount(d["year"]) * d["unmet_value_usd_per_t"].to_numpy() / model.money_unit


def add_shortfall(model: Model) -> None:
    """Create ``short[m, y, ω] >= 0`` (at most the demand) and its value-weighted objective."""
    model.demand = demand_table(model)
    d = model.demand
    block = model.lp.add_variables("short", columns_frame(d, ["mineral", "year", "scen"]), 0.0,
                                   d["demand_t"].to_numpy())
    model.lp.add_objective("shortfall", block.cols, d["probability"].to_numpy() * shortfall_value_coefficients(model))


def demand_row_of(model: Model, frame: pd.DataFrame) -> np.ndarray:
    """Index into ``model.demand`` of each (mineral, year, scen) row of ``frame`` (-1 when absent).

    The demand table is the full grid scen × mineral × year in sorted order (every modelled mineral has demand
    in every horizon year), so the row is arithmetic on the positions of the scenario and the mineral.
    """
    d = model.demand
    scens = np.sort(d["scen"].unique())
    minerals = np.sort(d["mineral"].unique())
    first, n_years = model.years[0], len(model.years)
    if len(d) != len(scens) * len(minerals) * n_years:  # not a full grid: fall back to a join
        return match_rows(frame, d, ["mineral", "year", "scen"])
    s = positions(frame["scen"], scens)
    m = positions(frame["mineral"], minerals)
    y = frame["year"].to_numpy().astype(np.int64) - first
    ok = (s >= 0) & (m >= 0) & (y >= 0) & (y < n_years)
    return np.where(ok, (s * len(minerals) + m) * n_years + y, -1).astype(np.int64)


def add_demand_balance(model: Model) -> None:
    """One equality row per (m, y, ω): deliveries + shortfall = demand."""
    d, dl = model.demand, model.deliveries
    rows_of_delivery = dl["demand_row"].to_numpy()
    keep = rows_of_delivery >= 0
    short_cols = model.block_cols("short")
    rows = np.concatenate([rows_of_delivery[keep], np.arange(len(d))])
    cols = np.concatenate([dl["col"].to_numpy()[keep], short_cols])
    vals = np.ones(len(rows))
    rhs = d["demand_t"].to_numpy()
    model.lp.add_constraints("demand", columns_frame(d, ["mineral", "year", "scen"]), rows, cols, vals, rhs, rhs)



def use_cvar_shortfall(model: Model, alpha: float) -> None:
    """Replace the expected shortfall objective by its conditional value at risk at level ``alpha``::

        minimise η + 1/(1 − α) Σ_ω p_ω z_ω   with   z_ω >= S_ω − η,  z_ω >= 0,  η >= 0

    where S_ω = Σ_{m, y} δ_y × v_m × short[m, y, ω] (in the LP money unit): the mean shortfall value of the worst
    (1 − α) share of scenarios (Rockafellar and Uryasev).
    """
    lp, d = model.lp, model.demand
    scen = model.scenarios
    eta = lp.add_variables("cvar_eta", pd.DataFrame({"alpha": [alpha]}))
    excess = lp.add_variables("cvar_excess", scen[["scen"]])
    scen_row = positions(d["scen"], scen["scen"])
    n = len(scen)
    rows = np.concatenate([np.arange(n), np.arange(n), scen_row])
    cols = np.concatenate([excess.cols, np.full(n, eta.start), model.block_cols("short")])
    vals = np.concatenate([np.ones(n), np.ones(n), -shortfall_value_coefficients(model)])
    lp.add_constraints("cvar", scen[["scen"]], rows, cols, vals, lower=0.0)
    lp.clear_objective("shortfall")
    lp.add_objective("shortfall", np.array([eta.start]), np.array([1.0]))
    lp.add_objective("shortfall", excess.cols, scen["probability"].to_numpy() / (1.0 - alpha))
