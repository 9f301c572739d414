"""The equilibrium LP of market mode (step 1), built as arrays.

Sets: regions r, plants s (today's capacity rows, one per source and year of the horizon), minerals m, years y,
demand steps k of each region's curve (``engine.market.demand``).

Variables (all ≥ 0):

    x[s, r, y]        tonnes of plant s's output delivered to region r        (s's mineral m)
    q[r, m, y, k]     tonnes of demand step k served, 0 ≤ q ≤ Δ_k

Rows:

    plant capacity   Σ_r x[s, r, y] ≤ K[s, y]                  K = capacity_t × availability (full capacity; the
                                                               bridge test uses capacity_t × exportable share)
    buyer bound      x[s, buyer, y] ≤ K[s, y] × allowed_share  the scenario's own restrictions on its buyer's
                                                               deliveries (bans and quotas as a share); a bound
    balance          Σ_s x[s, r, y] − Σ_k q[r, m, y, k] = 0    per region, mineral and year: its dual is the price

    goal (step 2)    Σ_s (a_s − θ) · x[s, buyer, y] ≤ 0         per mineral m and year y of the buyer region, when
                                                               the scenario sets ``market_goal``: the China share
                                                               of supply Σ a·x / Σ x at most θ. a_s is today's
                                                               attribution of plant s (``dependence.basis``,
                                                               ``engine/formulation/supply.py``); its dual, −λ·disc_y,
                                                               gives the certificate price λ ≥ 0

Objective (minimised: the negative of total surplus):

    Σ disc_y · (c_s + t(s→r) + tariff[s, r, y]) · x[s, r, y]  −  Σ disc_y · p_k · q[r, m, y, k]

c_s is the plant's ``unit_cost_usd_per_t``; t(s→r) the mineral's trade cost when s is located outside r's
countries (0 within); tariffs and lost credits are the scenario's policies on its buyer (its region only), as
today's model applies them. disc_y = (1 + rate)^−(y − base year), as today's model discounts. Money is in
``MONEY_UNIT`` USD in the LP.

Not in step 1: JV builds, stockpiles, row policies (caps, content rules, quotas in tonnes), other regions' policies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.errors import InputError
from engine.formulation import build_model
from engine.inputs.market_tables import MarketData
from engine.inputs.scenario import LoadedScenario
from engine.market.demand import demand_steps
from engine.solvers.heap import settle_heap

MONEY_UNIT = 1e6  # USD per unit of the LP objective
CapacityBasis = Literal["full", "exportable"]


@dataclass
class MarketLP:
    """The equilibrium LP and the tables that name its columns and rows."""

    flows: pd.DataFrame  # one row per x column: plant-year attributes, region, costs, bound
    steps: pd.DataFrame  # one row per q column: region, mineral, year, step, width_t, wtp_usd_per_t
    plants: pd.DataFrame  # one row per capacity row: source_id, mineral, location, year, capacity_t (K)
    balances: pd.DataFrame  # one row per balance row: region, mineral, year, discount
    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    matrix: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    buyer_region: str
    goals: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per goal row: mineral, year, discount
    goal_col: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # buyer flow columns
    goal_row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # their goal row (local)
    theta: float | None = None  # the cap the matrix holds (None: the goal rows are free)
    warnings: list[str] = field(default_factory=list)

    @property
    def first_goal_row(self) -> int:
        """Rows: plant capacity, then balance, then goal rows."""
        return len(self.plants) + len(self.balances)

    def goal_values(self, theta: float) -> np.ndarray:
        """The goal rows' coefficients a − θ on ``goal_col`` (module docstring)."""
        return self.flows["attribution"].to_numpy(dtype=float)[self.goal_col] - theta

    @property
    def n_flows(self) -> int:
        return len(self.flows)

    def describe(self) -> str:
        return f"{self.matrix.shape[1]:,} columns, {self.matrix.shape[0]:,} rows, {self.matrix.nnz:,} non-zeros"


def _curves(loaded: LoadedScenario, market: MarketData, minerals: list[str], years: list[int]) -> pd.DataFrame:
    """The regional demand curves of the scenario's minerals and years; every region needs every one."""
    d = market.demand
    curves = d[d["mineral"].isin(minerals) & d["year"].isin(years)].reset_index(drop=True)
    want = pd.MultiIndex.from_product([market.regions["region"], sorted(minerals), years])
    have = pd.MultiIndex.from_frame(curves[["region", "mineral", "year"]])
    missing = want.difference(have)
    if len(missing):
        shown = ", ".join(f"{r} {m} {y}" for r, m, y in list(missing)[:3])
        raise InputError(f"{market.folder / 'regional_demand.csv'}: no demand curve for {len(missing)} "
                         f"region-mineral-years of scenario '{loaded.name}' ({shown}{', …' if len(missing) > 3 else ''}"
                         f"); expected a row for every region, mineral and year of the horizon")
    scale = loaded.scenario.data.demand_scale
    if scale:
        factor = curves["mineral"].map(lambda m: float(scale.get(m, 1.0))).to_numpy(dtype=float)
        curves["quantity_t"] = curves["quantity_t"].to_numpy(dtype=float) * factor
    return curves


def build_market(loaded: LoadedScenario, market: MarketData, *, capacity_basis: CapacityBasis = "full",
                 theta: float | None = None, goal_rows: bool = False) -> MarketLP:
    """The equilibrium LP of ``loaded`` on ``market``'s regions (see the module docstring). ``theta``: the goal's
    cap θ (goal rows Σ (a − θ)·x ≤ 0); ``goal_rows`` without ``theta``: the goal rows, free (upper bound +∞, the
    coefficients of θ = 1), for a frontier to set θ on the same model."""
    settle_heap()  # the build's arrays and HiGHS's work memory stay in the heap (engine/solvers/heap.py)
    model = build_model(loaded)  # today's plant rows, with the buyer's tariffs and restrictions applied
    supply = model.supply.reset_index(drop=True)
    years = list(model.years)
    curves = _curves(loaded, market, list(model.minerals), years)
    regions = market.regions["region"].to_numpy(dtype=object)
    buyer = market.home[loaded.scenario.buyer]
    # --- plants (one capacity row each)
    basis = "capacity_t" if capacity_basis == "full" else "available_t"
    k_cap = supply[basis].to_numpy(dtype=float) * supply["availability"].to_numpy(dtype=float)
    plants = pd.DataFrame({"source_id": supply["source_id"].to_numpy(dtype=object),
                           "mineral": supply["mineral"].to_numpy(dtype=object),
                           "location": supply["location"].to_numpy(dtype=object),
                           "year": supply["year"].to_numpy(dtype=np.int64), "capacity_t": k_cap})
    home = market.region_of(plants["location"])
    # --- flows: every plant-year to every region (plant-major, regions in sorted order)
    n_p, n_r = len(plants), len(regions)
    plant_of = np.repeat(np.arange(n_p), n_r)
    region = np.tile(regions, n_p)
    flows = plants.iloc[plant_of].reset_index(drop=True)
    flows["region"] = region
    flows["home_region"] = home[plant_of]
    unit = supply["unit_cost_usd_per_t"].to_numpy(dtype=float)[plant_of]
    trade_by_mineral = dict(zip(market.trade_costs["mineral"], market.trade_costs["usd_per_t"], strict=True))
    trade = plants["mineral"].map(trade_by_mineral).fillna(0.0).to_numpy(dtype=float)[plant_of]  # per plant, repeated
    trade = np.where(flows["home_region"].to_numpy() == region, 0.0, trade)
    to_buyer = region == buyer
    tariff = np.where(to_buyer, unit * supply["ad_valorem"].to_numpy(dtype=float)[plant_of]
                      + supply["tariff_usd_per_t"].to_numpy(dtype=float)[plant_of], 0.0)
    credit = np.where(to_buyer, supply["credit_loss_usd_per_t"].to_numpy(dtype=float)[plant_of], 0.0)
    flows["unit_cost_usd_per_t"] = unit
    flows["trade_cost_usd_per_t"] = trade
    flows["tariff_usd_per_t"] = tariff
    flows["credit_loss_usd_per_t"] = credit
    flows["delivered_cost_usd_per_t"] = unit + trade + tariff + credit
    allowed = np.where(to_buyer, supply["allowed_share"].to_numpy(dtype=float)[plant_of], 1.0)
    flows["upper_t"] = k_cap[plant_of] * allowed
    flows["attribution"] = supply["attribution"].to_numpy(dtype=float)[plant_of]
    # --- demand steps and balance rows (region, mineral, year in sorted order)
    steps = demand_steps(curves)
    balances = curves[["region", "mineral", "year"]].sort_values(["region", "mineral", "year"], kind="stable")
    balances = balances.reset_index(drop=True)
    balances["discount"] = model.discount(balances["year"].to_numpy())
    key = pd.MultiIndex.from_frame(balances[["region", "mineral", "year"]])
    flow_row = key.get_indexer(pd.MultiIndex.from_frame(flows[["region", "mineral", "year"]]))
    step_row = key.get_indexer(pd.MultiIndex.from_frame(steps[["region", "mineral", "year"]]))
    disc_flow = model.discount(flows["year"].to_numpy())
    disc_step = model.discount(steps["year"].to_numpy())
    n_x, n_q, n_b = len(flows), len(steps), len(balances)
    cost = np.concatenate([disc_flow * flows["delivered_cost_usd_per_t"].to_numpy() / MONEY_UNIT,
                           -disc_step * steps["wtp_usd_per_t"].to_numpy() / MONEY_UNIT])
    lower = np.zeros(n_x + n_q)
    upper = np.concatenate([flows["upper_t"].to_numpy(), steps["width_t"].to_numpy()])
    # rows: capacity rows 0..n_p-1, then balance rows n_p..n_p+n_b-1
    rows = np.concatenate([plant_of, n_p + flow_row, n_p + step_row])
    cols = np.concatenate([np.arange(n_x), np.arange(n_x), n_x + np.arange(n_q)])
    vals = np.concatenate([np.ones(n_x), np.ones(n_x), -np.ones(n_q)])
    # --- goal rows (buyer region, one per mineral and year): Σ (a − θ)·x ≤ 0
    goals = balances.loc[balances["region"] == buyer, ["mineral", "year", "discount"]].reset_index(drop=True)
    with_goal = goal_rows or theta is not None
    if not with_goal:
        goals = goals.iloc[:0]
    goal_key = pd.MultiIndex.from_frame(goals[["mineral", "year"]])
    goal_col = np.flatnonzero(to_buyer) if with_goal else np.zeros(0, dtype=np.int64)
    goal_row = goal_key.get_indexer(pd.MultiIndex.from_frame(flows.loc[goal_col, ["mineral", "year"]]))
    n_g = len(goals)
    lp = MarketLP(flows=flows, steps=steps, plants=plants, balances=balances, cost=cost, lower=lower, upper=upper,
                  matrix=sp.csc_matrix((0, 0)), row_lower=np.zeros(0), row_upper=np.zeros(0), buyer_region=buyer,
                  goals=goals, goal_col=goal_col.astype(np.int64), goal_row=goal_row.astype(np.int64),
                  theta=theta, warnings=list(model.warnings))
    g_vals = lp.goal_values(1.0 if theta is None else theta)
    nz = g_vals != 0.0
    rows = np.concatenate([rows, n_p + n_b + goal_row[nz]])
    cols = np.concatenate([cols, goal_col[nz]])
    vals = np.concatenate([vals, g_vals[nz]])
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(n_p + n_b + n_g, n_x + n_q))
    matrix.sort_indices()
    lp.matrix = matrix
    lp.row_lower = np.concatenate([np.full(n_p, -np.inf), np.zeros(n_b), np.full(n_g, -np.inf)])
    lp.row_upper = np.concatenate([k_cap, np.zeros(n_b), np.full(n_g, np.inf if theta is None else 0.0)])
    return lp
