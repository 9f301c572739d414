"""Welfare per region (each year's money, and its present value).

    consumer surplus   CS_r = Σ_k (p_k − price_r) · q_k                     over r's demand steps
    producer surplus   PS_r = Σ_s e(r, s) · [Σ_r' (price_r' − delivered cost[s, r'] − transfer[s, r']) · x[s, r']
                                             − capex_s]
                       where e(r, s) is the equity in plant s held by countries home to region r (ownership.csv,
                       the remainder held in the plant's location country, as everywhere in critmin; for a JV option
                       the deal's equity: the partner's share, the host the rest) and capex_s a JV's annuity that
                       year (``jv.py``): capex is counted once, as its owners' cost
    government revenue GR_r = Σ tariff[s, r] · x[s, r]                      tariffs collected on r's imports
                            + Σ transfer[s, r] · x[s, r]  (the goal's certificates λ(a − θ) and the charges and
                                                           credits of r's share rules, ``rents.py``: 0 net where
                                                           they bind)

A transfer is taken out of the margin in PS: a plant's rent on a flow into a region with a binding share rule is
(price − delivered cost − μ·coefficient)·x, so the plant the rule holds back pays the charge and another earns the
credit. Quota and offtake rents stay in the margins.

Delivered cost is production cost + trade cost + tariff (+ a lost credit, which is nobody's revenue), so the sum of
every region's welfare is total surplus (the LP's objective, negated, capex included) plus the tariffs it counts as
a cost. Trade costs are a resource cost, not anyone's surplus.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.jv import jv_equity
from engine.inputs.market_tables import MarketData
from engine.inputs.ownership import equity_table
from engine.market.build import MarketLP
from engine.market.jv import capex_by_year
from engine.market.rents import flow_transfers
from engine.market.solve import MarketSolution
from engine.model.finance import capital_recovery_factor

WELFARE_PARTS = ("consumer_surplus_usd", "producer_surplus_usd", "government_revenue_usd")


def plant_equity(lp: MarketLP, market: MarketData, ownership: pd.DataFrame) -> pd.DataFrame:
    """Every plant's owners: ``source_id`` (a JV's option id), ``owner``, ``equity_share``, ``owner_region``."""
    capacity = lp.plants.loc[lp.plants["kind"] == "capacity", ["source_id", "location"]].drop_duplicates("source_id")
    parts = [equity_table(capacity.reset_index(drop=True),
                          ownership[ownership["source_id"].isin(set(capacity["source_id"]))])]
    if lp.jv is not None and len(lp.jv.options):
        parts.append(jv_equity(lp.jv.options))
    equity = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return equity.assign(owner_region=market.region_of(equity["owner"]))


def capex_table(lp: MarketLP, sol: MarketSolution) -> pd.DataFrame:
    """JV capex paid per option and year (the year's money), as the LP's objective holds it."""
    if lp.jv is None or lp.jv.builds.empty:
        return pd.DataFrame(columns=["option_id", "year", "capex_usd"])
    fin = lp.finance
    return capex_by_year(lp.jv, sol.build, lp.years, fin.asset_life_years,
                         capital_recovery_factor(fin.discount_rate, fin.asset_life_years))


def welfare_table(lp: MarketLP, sol: MarketSolution, market: MarketData, ownership: pd.DataFrame) -> pd.DataFrame:
    """``welfare.csv``: one row per region and year, each part in the year's money, the total also discounted."""
    b = lp.balances
    row_s = lp.step_row
    cs = (lp.steps["wtp_usd_per_t"].to_numpy() - sol.price[row_s]) * sol.q
    row_f = lp.flow_row
    transfer = flow_transfers(lp, sol)
    margin = (sol.price[row_f] - lp.flows["delivered_cost_usd_per_t"].to_numpy() - transfer) * sol.x
    gr = (lp.flows["tariff_usd_per_t"].to_numpy() + transfer) * sol.x
    # producer surplus by owner: each plant's margins less its capex, split by equity
    capex = capex_table(lp, sol)
    rent = _by_source_year(np.concatenate([lp.plants["source_id"].to_numpy()[lp.flows["plant"].to_numpy()],
                                           capex["option_id"].to_numpy()]),
                           np.concatenate([lp.flows["year"].to_numpy(), capex["year"].to_numpy()]),
                           np.concatenate([margin, -capex["capex_usd"].to_numpy(dtype=float)]))
    owned = rent.merge(plant_equity(lp, market, ownership), on="source_id", how="inner")
    owned["ps"] = owned["rent"] * owned["equity_share"]
    grid = b[["region", "year"]].drop_duplicates().sort_values(["region", "year"]).reset_index(drop=True)
    # each balance row's cell of the grid: the steps' and flows' sums grouped on integer cells, not on strings
    cell = pd.MultiIndex.from_frame(grid).get_indexer(pd.MultiIndex.from_frame(b[["region", "year"]]))
    grid["consumer_surplus_usd"] = _by_cell(cell[row_s], cs, len(grid))
    ps = pd.DataFrame({"region": owned["owner_region"].to_numpy(), "year": owned["year"].to_numpy(),
                       "producer_surplus_usd": owned["ps"].to_numpy()})
    grid = grid.merge(ps.groupby(["region", "year"], as_index=False, sort=True)["producer_surplus_usd"].sum(),
                      on=["region", "year"], how="left")
    grid["government_revenue_usd"] = _by_cell(cell[row_f], gr, len(grid))
    grid[list(WELFARE_PARTS)] = grid[list(WELFARE_PARTS)].fillna(0.0)
    grid["welfare_usd"] = grid[list(WELFARE_PARTS)].sum(axis=1)
    disc = dict(zip(b["year"], b["discount"], strict=False))
    grid["welfare_pv_usd"] = grid["welfare_usd"] * grid["year"].map(disc).to_numpy(dtype=float)
    return grid


def _by_cell(cell: np.ndarray, values: np.ndarray, cells: int) -> np.ndarray:
    """Σ values per cell (NaN where a cell has none), summed as a group-by sums them (in row order)."""
    return pd.Series(values).groupby(cell, sort=True).sum().reindex(np.arange(cells)).to_numpy(dtype=float)


def _by_source_year(source: np.ndarray, year: np.ndarray, rent: np.ndarray) -> pd.DataFrame:
    """Σ rent per (source_id, year), sorted by both: grouped on the sources' integer codes (their sorted
    uniques), so that the half-million flows' strings are hashed once per plant, not grouped as strings."""
    codes, uniques = pd.factorize(source, sort=True)
    uniques = np.asarray(uniques, dtype=object)
    sums = pd.DataFrame({"code": codes, "year": year, "rent": rent}).groupby(["code", "year"], as_index=False,
                                                                             sort=True)["rent"].sum()
    return pd.DataFrame({"source_id": uniques[sums["code"].to_numpy()], "year": sums["year"].to_numpy(),
                         "rent": sums["rent"].to_numpy()})


def welfare_pv(welfare: pd.DataFrame, lp: MarketLP) -> pd.DataFrame:
    """Present value per region of each part (``*_pv_usd``) and the total."""
    disc = dict(zip(lp.balances["year"], lp.balances["discount"], strict=False))
    factor = welfare["year"].map(disc).to_numpy(dtype=float)
    out = pd.DataFrame({"region": welfare["region"]})
    for column in (*WELFARE_PARTS, "welfare_usd"):
        out[column.replace("_usd", "_pv_usd")] = welfare[column].to_numpy() * factor
    return out.groupby("region", as_index=False, sort=True).sum()


__all__ = ["WELFARE_PARTS", "capex_table", "plant_equity", "welfare_pv", "welfare_table"]
