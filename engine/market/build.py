"""The equilibrium LP of market mode, built as arrays.

Sets: regions r, plants s (today's capacity rows, one per source and year of the horizon, then the output years of
each JV option), minerals m, years y, demand steps k of each region's curve (``engine.market.demand``).

Variables (all ≥ 0):

    x[s, r, y]        tonnes of plant s's output delivered to region r        (s's mineral m)
    q[r, m, y, k]     tonnes of demand step k served, 0 ≤ q ≤ Δ_k
    build[j, y]       t/yr of JV option j's capacity started in year y        (``jv.py``)
    z[j]              binary, for an option with a minimum efficient size    (``jv.py``)

Rows (in this order):

    plant capacity   Σ_r x[s, r, y] ≤ K[s, y]                  K = capacity_t × availability (full capacity; the
                                                               bridge test uses capacity_t × exportable share);
                                                               for a JV plant-year Σ_r x − Σ online build ≤ 0
    balance          Σ_s x[s, r, y] − Σ_k q[r, m, y, k] = 0    per region, mineral and year: its dual is the price
    goal (step 2)    Σ_s (a_s − θ) · x[s, buyer, y] ≤ 0         per mineral m and year y of the buyer region, when
                                                               the scenario sets ``market_goal``: the China share
                                                               of supply Σ a·x / Σ x at most θ. a_s is today's
                                                               attribution of plant s (``dependence.basis``,
                                                               ``engine/formulation/supply.py``); its dual, −λ·disc_y,
                                                               gives the certificate price λ ≥ 0
    policy rows      the scenario's country caps, dependence caps, content rules, domestic targets and export
                     quotas, each on the flows of the regions it names (``policies.py``, formulas there)
    JV rows          maximum and minimum size, offtake (``jv.py``, formulas there)

Bounds: x[s, r, y] ≤ K[s, y] × Π allowed shares of the column policies acting on r (bans, quotas as a share,
FEOC and market-access exclusions, ``policies.py``) — and 0 for a region other than the funder on a JV whose
whole capacity is the funder's (offtake 1).

Objective (minimised: the negative of total surplus):

    Σ disc_y · (c_s + t(s→r) + tariff[s, r, y]) · x[s, r, y]  −  Σ disc_y · p_k · q[r, m, y, k]  +  Σ capex · build

c_s is the plant's ``unit_cost_usd_per_t`` (a JV's opex + royalty); t(s→r) the mineral's trade cost when s is
located outside r's countries (0 within); tariffs and lost credits those of the policies acting on r. disc_y =
(1 + rate)^−(y − base year), as today's model discounts; capex as today's model annualises and discounts it.
Money is in ``MONEY_UNIT`` USD in the LP.

Not built: stockpiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.errors import InputError
from engine.formulation import build_model
from engine.formulation.disruptions import ScenarioSet
from engine.formulation.model import Model
from engine.inputs.market_tables import MarketData
from engine.inputs.scenario import LoadedScenario
from engine.inputs.schema import Finance
from engine.inputs.selection import selection_warnings
from engine.market.demand import demand_steps
from engine.market.jv import JvOptions, jv_options, online_builds
from engine.market.policies import (
    ROW_KEYS,
    ColumnEffects,
    Deliveries,
    RowBlock,
    column_effects,
    policy_regions,
    policy_rows,
)
from engine.model.joins import positions
from engine.solvers.heap import settle_heap

MONEY_UNIT = 1e6  # USD per unit of the LP objective
CapacityBasis = Literal["full", "exportable"]
PLANT_COLUMNS = ["source_id", "mineral", "location", "owner", "covered_equity", "attribution", "year",
                 "unit_cost_usd_per_t"]


@dataclass
class MarketLP:
    """The equilibrium LP and the tables that name its columns and rows."""

    flows: pd.DataFrame  # one row per x column: plant-year attributes, region, costs, bound
    steps: pd.DataFrame  # one row per q column: region, mineral, year, step, width_t, wtp_usd_per_t
    plants: pd.DataFrame  # one row per capacity row: source_id, kind, mineral, location, year, capacity_t (K)
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
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROW_KEYS))  # policy and JV rows
    jv: JvOptions | None = None  # JV options, build columns and output plant-years
    integer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # binary columns
    policies: pd.DataFrame = field(default_factory=pd.DataFrame)  # policy, type, regions (one row per policy)
    effects: ColumnEffects | None = None  # the column policies' closed and charged flows
    years: list[int] = field(default_factory=list)
    finance: Finance | None = None  # the scenario's discounting and asset life (JV capex)

    @property
    def first_goal_row(self) -> int:
        """Rows: plant capacity, then balance, then goal rows, then policy and JV rows."""
        return len(self.plants) + len(self.balances)

    @property
    def first_extra_row(self) -> int:
        return self.first_goal_row + len(self.goals)

    def goal_values(self, theta: float) -> np.ndarray:
        """The goal rows' coefficients a − θ on ``goal_col`` (module docstring)."""
        return self.flows["attribution"].to_numpy(dtype=float)[self.goal_col] - theta

    @property
    def n_flows(self) -> int:
        return len(self.flows)

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    @property
    def n_builds(self) -> int:
        return 0 if self.jv is None else len(self.jv.builds)

    @property
    def first_build_col(self) -> int:
        return self.n_flows + self.n_steps

    def plant_capacity(self, build: np.ndarray) -> np.ndarray:
        """Capacity per plant row at build levels ``build``: K, plus for a JV plant-year the builds online."""
        out = self.plants["capacity_t"].to_numpy(dtype=float).copy()
        if self.jv is not None and len(self.jv.output):
            first = int(np.flatnonzero(self.plants["kind"].to_numpy() == "jv")[0])
            out_row, build_row = online_builds(self.jv)
            out[first:] += np.bincount(out_row, weights=build[build_row], minlength=len(self.jv.output))
        return out

    @cached_property
    def rows_on_flows(self) -> sp.csr_matrix:
        """The policy and JV rows' coefficients on the flow columns (rows × flows), made once."""
        return self.matrix[self.first_extra_row:, :self.n_flows].tocsr()

    @cached_property
    def flow_row(self) -> np.ndarray:
        """The balance row (local: 0 is the first balance row) of each flow: its region, mineral and year."""
        return _balance_rows(self.balances, self.flows)

    @cached_property
    def step_row(self) -> np.ndarray:
        """The balance row (local) of each demand step."""
        return _balance_rows(self.balances, self.steps)

    @cached_property
    def flow_discount(self) -> np.ndarray:
        """The discount factor of each flow's year."""
        return year_discount(self.balances, self.flows["year"].to_numpy())

    def describe(self) -> str:
        return f"{self.matrix.shape[1]:,} columns, {self.matrix.shape[0]:,} rows, {self.matrix.nnz:,} non-zeros"


def _balance_rows(balances: pd.DataFrame, table: pd.DataFrame) -> np.ndarray:
    """The position of each row of ``table`` among ``balances`` by region, mineral and year (-1: none)."""
    key = pd.MultiIndex.from_frame(balances[["region", "mineral", "year"]])
    return key.get_indexer(pd.MultiIndex.from_frame(table[["region", "mineral", "year"]]))


def _flow_balance_rows(balances: pd.DataFrame, plants: pd.DataFrame, regions: np.ndarray) -> np.ndarray:
    """``_balance_rows`` of the flows (plant-major, ``regions`` in order within each plant) from integer codes: the
    plants' (mineral, year) and the regions', not the 591k flows' strings (-1: no balance row)."""
    n_p, n_r = len(plants), len(regions)
    pairs = pd.concat([plants[["mineral", "year"]], balances[["mineral", "year"]]], ignore_index=True)
    codes, uniques = pd.MultiIndex.from_frame(pairs).factorize()
    region_of_balance = positions(balances["region"], regions)
    table = np.full((n_r + 1, len(uniques)), -1, dtype=np.int64)  # row n_r: balance regions not in ``regions``
    table[np.where(region_of_balance >= 0, region_of_balance, n_r), codes[n_p:]] = np.arange(len(balances))
    return table[np.tile(np.arange(n_r), n_p), np.repeat(codes[:n_p], n_r)]


def year_discount(balances: pd.DataFrame, years: np.ndarray) -> np.ndarray:
    """The discount factor of each of ``years``, read from the balance rows of the same year (every year of the
    horizon has one)."""
    first = balances.drop_duplicates("year")  # every balance row of a year has the year's discount
    known = first["year"].to_numpy(dtype=np.int64)
    at = positions(np.asarray(years, dtype=np.int64), known)
    if (at < 0).any():
        raise KeyError(f"no balance row of year {int(np.asarray(years)[at < 0][0])}")
    return first["discount"].to_numpy(dtype=float)[at]


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


def _unpoliced(loaded: LoadedScenario, scenarios: ScenarioSet | None = None) -> Model:
    """Today's model of the scenario without its policies: plant rows, JV options and builds, untouched by any
    buyer's restriction (the market applies each policy to the regions it names, ``policies.py``); ``scenarios``:
    a sample's availability and cost factors, as today's model applies them."""
    bare = loaded.scenario.model_copy(update={"policies": []})
    return build_model(LoadedScenario(scenario=bare, dataset=loaded.dataset, path=loaded.path, chain=loaded.chain,
                                      origins=loaded.origins), scenarios)


def _plants(model: Model, capacity_basis: CapacityBasis) -> pd.DataFrame:
    """One row per capacity row: today's plant-years (K = capacity × availability), then JV plant-years (K = 0:
    their capacity is what is built)."""
    supply = model.supply.reset_index(drop=True)
    basis = "capacity_t" if capacity_basis == "full" else "available_t"
    k_cap = supply[basis].to_numpy(dtype=float) * supply["availability"].to_numpy(dtype=float)
    parts = [pd.DataFrame({**{c: supply[c].to_numpy() for c in PLANT_COLUMNS}, "kind": "capacity",
                           "capacity_t": k_cap, "jv_max_t": np.nan})]
    out = model.jv_output.reset_index(drop=True)
    if len(out):
        columns = {c: out[c].to_numpy() for c in PLANT_COLUMNS if c != "source_id"}
        parts.append(pd.DataFrame({"source_id": out["option_id"].to_numpy(), **columns, "kind": "jv",
                                   "capacity_t": 0.0, "jv_max_t": out["max_size_tpy"].to_numpy(dtype=float)
                                   * out["availability"].to_numpy(dtype=float)}))
    plants = pd.concat(parts, ignore_index=True)
    plants["year"] = plants["year"].astype(np.int64)
    clash = set(model.supply["source_id"]) & set(out["option_id"]) if len(out) else set()
    if clash:
        raise InputError(f"jv_options.csv: option id {sorted(clash)[0]} is also a source id of capacity.csv; the "
                         f"market keys plants by id, so ids must differ")
    return plants


def build_market(loaded: LoadedScenario, market: MarketData, *, capacity_basis: CapacityBasis = "full",
                 theta: float | None = None, goal_rows: bool = False,
                 scenarios: ScenarioSet | None = None) -> MarketLP:
    """The equilibrium LP of ``loaded`` on ``market``'s regions (see the module docstring). ``theta``: the goal's
    cap θ (goal rows Σ (a − θ)·x ≤ 0); ``goal_rows`` without ``theta``: the goal rows, free (upper bound +∞, the
    coefficients of θ = 1), for a frontier to set θ on the same model. ``scenarios``: one scenario's availability
    and cost factors (a sweep's sample, ``engine.analysis.sampling``), applied to the plant rows as today's model
    applies them."""
    settle_heap()  # the build's arrays and HiGHS's work memory stay in the heap (engine/solvers/heap.py)
    model = _unpoliced(loaded, scenarios)
    years = list(model.years)
    curves = _curves(loaded, market, list(model.minerals), years)
    regions = market.regions["region"].to_numpy(dtype=object)
    buyer = market.home[loaded.scenario.buyer]
    named = policy_regions(loaded, market, buyer)
    jv = jv_options(model, market, buyer)
    plants = _plants(model, capacity_basis)
    # --- flows: every plant-year to every region (plant-major, regions in sorted order)
    n_p, n_r = len(plants), len(regions)
    plant_of = np.repeat(np.arange(n_p), n_r)
    region = np.tile(np.arange(n_r), n_p)  # each flow's region, as its position in ``regions``
    home = market.region_of(plants["location"])  # per plant
    flows = plants.iloc[plant_of].reset_index(drop=True)
    flows["region"] = pd.Series(regions).astype("str").array.take(region)  # the names taken, not converted
    flows["plant"] = plant_of
    flows["home_region"] = pd.Series(home).astype("str").array.take(plant_of)
    buyer_at = int(positions(np.array([buyer], dtype=object), regions)[0])  # -1: the buyer is no region
    deliveries = Deliveries(loaded, model, market, model.delivery_frames(), flows, buyer,
                            jv.builds.assign(allowed=True) if len(jv.builds) else jv.builds)
    fx = column_effects(deliveries, named)
    unit = flows["unit_cost_usd_per_t"].to_numpy(dtype=float)
    trade_by_mineral = dict(zip(market.trade_costs["mineral"], market.trade_costs["usd_per_t"], strict=True))
    trade = plants["mineral"].map(trade_by_mineral).fillna(0.0).to_numpy(dtype=float)[plant_of]  # per plant, repeated
    trade = np.where(positions(home, regions)[plant_of] == region, 0.0, trade)  # 0 within the home region
    tariff = unit * fx.ad_valorem + fx.per_tonne
    flows["trade_cost_usd_per_t"] = trade
    flows["tariff_usd_per_t"] = tariff
    flows["credit_loss_usd_per_t"] = fx.credit
    flows["delivered_cost_usd_per_t"] = unit + trade + tariff + fx.credit
    jv_flow = (flows["kind"] == "jv").to_numpy()
    reach = np.where(jv_flow, flows["jv_max_t"].to_numpy(dtype=float), flows["capacity_t"].to_numpy(dtype=float))
    offtake = _offtake_shares(flows, jv, buyer)
    flows["reach_t"] = np.where((offtake >= 1.0) & (region != buyer_at), 0.0, reach)  # φ = 1: only the funder's
    flows["upper_t"] = flows["reach_t"].to_numpy() * fx.allowed
    flows = flows.drop(columns=["jv_max_t"])
    # --- demand steps and balance rows (region, mineral, year in sorted order)
    steps = demand_steps(curves)
    balances = curves[["region", "mineral", "year"]].sort_values(["region", "mineral", "year"], kind="stable")
    balances = balances.reset_index(drop=True)
    balances["discount"] = model.discount(balances["year"].to_numpy())
    flow_row, step_row = _flow_balance_rows(balances, plants, regions), _balance_rows(balances, steps)
    disc_flow = model.discount(flows["year"].to_numpy())
    disc_step = model.discount(steps["year"].to_numpy())
    n_x, n_q, n_b = len(flows), len(steps), len(balances)
    n_build = len(jv.builds)
    sized = jv.sized
    n_bin = len(sized)
    build0, bin0 = n_x + n_q, n_x + n_q + n_build
    cost = np.concatenate([disc_flow * flows["delivered_cost_usd_per_t"].to_numpy() / MONEY_UNIT,
                           -disc_step * steps["wtp_usd_per_t"].to_numpy() / MONEY_UNIT,
                           jv.builds["annuity_usd"].to_numpy(dtype=float) / MONEY_UNIT, np.zeros(n_bin)])
    lower = np.zeros(n_x + n_q + n_build + n_bin)
    build_upper = np.where(fx.build_allowed, jv.builds["max_size_tpy"].to_numpy(dtype=float), 0.0)
    upper = np.concatenate([flows["upper_t"].to_numpy(), steps["width_t"].to_numpy(), build_upper, np.ones(n_bin)])
    # rows: capacity rows 0..n_p-1 (JV plant-years: − online builds), then balance rows n_p..n_p+n_b-1
    out_row, build_row = online_builds(jv)
    jv_first = n_p - len(jv.output)
    rows = np.concatenate([plant_of, n_p + flow_row, n_p + step_row, jv_first + out_row])
    cols = np.concatenate([np.arange(n_x), np.arange(n_x), n_x + np.arange(n_q), build0 + build_row])
    vals = np.concatenate([np.ones(n_x), np.ones(n_x), -np.ones(n_q), -np.ones(len(out_row))])
    # --- goal rows (buyer region, one per mineral and year): Σ (a − θ)·x ≤ 0
    goals = balances.loc[balances["region"] == buyer, ["mineral", "year", "discount"]].reset_index(drop=True)
    with_goal = goal_rows or theta is not None
    if not with_goal:
        goals = goals.iloc[:0]
    goal_key = pd.MultiIndex.from_frame(goals[["mineral", "year"]])
    goal_col = np.flatnonzero(region == buyer_at) if with_goal else np.zeros(0, dtype=np.int64)
    goal_row = goal_key.get_indexer(pd.MultiIndex.from_frame(flows.loc[goal_col, ["mineral", "year"]]))
    n_g = len(goals)
    lp = MarketLP(flows=flows, steps=steps, plants=plants, balances=balances, cost=cost, lower=lower, upper=upper,
                  matrix=sp.csc_matrix((0, 0)), row_lower=np.zeros(0), row_upper=np.zeros(0), buyer_region=buyer,
                  goals=goals, goal_col=goal_col.astype(np.int64), goal_row=goal_row.astype(np.int64),
                  theta=theta, warnings=_warnings(model, loaded), jv=jv, integer=bin0 + np.arange(n_bin),
                  policies=_policy_table(loaded, named, market), effects=fx, years=years,
                  finance=loaded.scenario.finance)
    g_vals = lp.goal_values(1.0 if theta is None else theta)
    nz = g_vals != 0.0
    rows = np.concatenate([rows, n_p + n_b + goal_row[nz]])
    cols = np.concatenate([cols, goal_col[nz]])
    vals = np.concatenate([vals, g_vals[nz]])
    # --- policy rows, then JV rows
    deliveries.builds = jv.builds.assign(allowed=fx.build_allowed)
    blocks = policy_rows(deliveries, named, fx, build0, curves)
    blocks += _jv_rows(jv, plants, flows, offtake, buyer, jv_first, build0, bin0, balances)
    first_extra = n_p + n_b + n_g
    extra, e_rows, e_cols, e_vals, e_upper = _stack(blocks)
    lp.rows = extra
    rows = np.concatenate([rows, first_extra + e_rows])
    cols = np.concatenate([cols, e_cols])
    vals = np.concatenate([vals, e_vals])
    n_e = len(extra)
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(first_extra + n_e, n_x + n_q + n_build + n_bin))
    matrix.sort_indices()
    lp.matrix = matrix
    lp.__dict__.update(flow_row=flow_row, step_row=step_row)  # the cached properties, known here
    lp.row_lower = np.concatenate([np.full(n_p, -np.inf), np.zeros(n_b), np.full(n_g, -np.inf), np.full(n_e, -np.inf)])
    k_cap = plants["capacity_t"].to_numpy(dtype=float)
    lp.row_upper = np.concatenate([k_cap, np.zeros(n_b), np.full(n_g, np.inf if theta is None else 0.0), e_upper])
    return lp


def _warnings(model: Model, loaded: LoadedScenario) -> list[str]:
    """Today's model's warnings, and the scenario's values that select nothing (its policies' among them: the
    model is built without them)."""
    return list(dict.fromkeys([*model.warnings, *selection_warnings(loaded)]))


def _policy_table(loaded: LoadedScenario, named: list[tuple[str, ...]], market: MarketData) -> pd.DataFrame:
    """One row per policy: its name, type and the regions it acts on (an export ban never on its exporter's)."""
    policies = loaded.scenario.policies
    acts = [tuple(r for r in regions if p.type != "export_ban" or market.home.get(p.exporter) != r)
            for p, regions in zip(policies, named, strict=True)]
    return pd.DataFrame({"policy": [p.name for p in policies], "type": [p.type for p in policies],
                         "regions": [" ".join(r) for r in acts]}, columns=["policy", "type", "regions"])


def _offtake_shares(flows: pd.DataFrame, jv: JvOptions, buyer: str) -> np.ndarray:
    """φ of each flow's JV option (NaN for today's plants and for options without offtake)."""
    out = np.full(len(flows), np.nan)
    is_jv = (flows["kind"] == "jv").to_numpy()
    if is_jv.any():
        at = positions(flows.loc[is_jv, "source_id"], jv.options["option_id"])
        out[is_jv] = jv.options["offtake_share"].to_numpy(dtype=float)[at]
    return out


def _jv_rows(jv: JvOptions, plants: pd.DataFrame, flows: pd.DataFrame, offtake: np.ndarray, buyer: str,
             jv_first: int, build0: int, bin0: int, balances: pd.DataFrame) -> list[RowBlock]:
    """Offtake rows (0 < φ < 1), maximum and minimum size rows (``jv.py``)."""
    blocks: list[RowBlock] = []
    if jv.options.empty:
        return blocks
    by_year = dict(zip(balances["year"], balances["discount"], strict=False))
    # offtake: Σ_{r ≠ funder} x[j, r, y] − (1 − φ)·Σ online build ≤ 0, one row per JV plant-year with 0 < φ < 1
    partial = np.isfinite(offtake) & (offtake > 0.0) & (offtake < 1.0)
    plant_rows = np.unique(flows["plant"].to_numpy()[partial])
    if len(plant_rows):
        local = np.full(int(flows["plant"].max()) + 1, -1, dtype=np.int64)
        local[plant_rows] = np.arange(len(plant_rows))
        others = partial & (flows["region"].to_numpy() != buyer)
        out_row, build_row = online_builds(jv)
        phi_of_plant = pd.Series(offtake[partial], index=flows["plant"].to_numpy()[partial]).groupby(level=0).first()
        row_of_out = local[jv_first + out_row]
        keep = row_of_out >= 0
        phi = phi_of_plant.reindex(jv_first + out_row[keep]).to_numpy(dtype=float)
        first = plants.iloc[plant_rows]  # each plant's attributes (its flows repeat them)
        keys = pd.DataFrame({"family": "offtake", "policy": first["source_id"].to_numpy(), "region": buyer,
                             "mineral": first["mineral"].to_numpy(), "year": first["year"].to_numpy(dtype=np.int64),
                             "country": first["location"].to_numpy(),
                             "discount": [by_year[int(y)] for y in first["year"]], "unit": "USD/t",
                             "transfer": False})[ROW_KEYS]
        blocks.append(RowBlock(keys, np.concatenate([local[flows["plant"].to_numpy()[others]], row_of_out[keep]]),
                               np.concatenate([np.flatnonzero(others), build0 + build_row[keep]]),
                               np.concatenate([np.ones(int(others.sum())), -(1.0 - phi)]),
                               np.zeros(len(plant_rows))))
    # maximum size: Σ_y build − max·z ≤ 0 (sized) or ≤ max; minimum size: −Σ_y build + min·z ≤ 0
    option_of_build = positions(jv.builds["option_id"], jv.options["option_id"])
    n_o = len(jv.options)
    maximum = jv.options["max_size_tpy"].to_numpy(dtype=float)
    sized = jv.sized
    upper = maximum.copy()
    upper[sized] = 0.0
    size_keys = pd.DataFrame({"family": "jv_max_size", "policy": jv.options["option_id"].to_numpy(),
                              "region": jv.options["region"].to_numpy(), "mineral": jv.options["mineral"].to_numpy(),
                              "year": 0, "country": jv.options["host"].to_numpy(), "discount": 1.0,
                              "unit": "USD per t/yr (present value)", "transfer": False})[ROW_KEYS]
    blocks.append(RowBlock(size_keys, np.concatenate([option_of_build, sized]),
                           np.concatenate([build0 + np.arange(len(jv.builds)), bin0 + np.arange(len(sized))]),
                           np.concatenate([np.ones(len(jv.builds)), -maximum[sized]]), upper))
    if len(sized):
        in_sized = np.full(n_o, -1, dtype=np.int64)
        in_sized[sized] = np.arange(len(sized))
        b_rows = in_sized[option_of_build]
        keep = b_rows >= 0
        min_keys = size_keys.iloc[sized].reset_index(drop=True).assign(family="jv_min_size")
        blocks.append(RowBlock(min_keys, np.concatenate([b_rows[keep], np.arange(len(sized))]),
                               np.concatenate([build0 + np.flatnonzero(keep), bin0 + np.arange(len(sized))]),
                               np.concatenate([-np.ones(int(keep.sum())),
                                               jv.options["min_size_tpy"].to_numpy(dtype=float)[sized]]),
                               np.zeros(len(sized))))
    return blocks


def _stack(blocks: list[RowBlock]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The blocks' rows one after another: keys, global-local row, column, value, upper bound."""
    if not blocks:
        return pd.DataFrame(columns=ROW_KEYS), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    offsets = np.cumsum([0] + [len(b.keys) for b in blocks])
    keys = pd.concat([b.keys for b in blocks], ignore_index=True)
    rows = np.concatenate([b.rows + off for b, off in zip(blocks, offsets[:-1], strict=True)])
    return (keys, rows.astype(np.int64), np.concatenate([b.cols for b in blocks]).astype(np.int64),
            np.concatenate([b.vals for b in blocks]).astype(float), np.concatenate([b.upper for b in blocks]))
