"""Welfare per region (each year's money, and its present value).

    consumer surplus   CS_r = Σ_k (p_k − price_r) · q_k                     over r's demand steps
    producer surplus   PS_r = Σ_s e(r, s) · Σ_r' (price_r' − delivered cost[s, r']) · x[s, r']
                       where e(r, s) is the equity in plant s held by countries home to region r (ownership.csv;
                       the remainder is held in the plant's location country, as everywhere in critmin)
    government revenue GR_r = Σ tariff[s, r] · x[s, r]                      tariffs collected on r's imports
                            + Σ λ(a_s − θ) · x[s, r]      (the buyer region, with its goal: the certificates'
                                                           charges less their credits; 0 when the cap binds)

With the goal the certificate is taken out of the margin in PS: a plant's rent on a flow to the buyer region is
(price − delivered cost − λ(a − θ))·x, so a China-attributed plant pays the charge and another earns the credit.

Delivered cost is production cost + trade cost + tariff (+ a lost credit, which is nobody's revenue), so the sum of
every region's welfare is total surplus (the LP's objective, negated) plus the tariffs it counts as a cost. Trade
costs are a resource cost, not anyone's surplus.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.inputs.market_tables import MarketData
from engine.inputs.ownership import equity_table
from engine.market.build import MarketLP
from engine.market.goal import flow_certificate
from engine.market.prices import column_rows
from engine.market.solve import MarketSolution

WELFARE_PARTS = ("consumer_surplus_usd", "producer_surplus_usd", "government_revenue_usd")


def welfare_table(lp: MarketLP, sol: MarketSolution, market: MarketData, ownership: pd.DataFrame) -> pd.DataFrame:
    """``welfare.csv``: one row per region and year, each part in the year's money, the total also discounted."""
    b = lp.balances
    plant_f, row_f, row_s = column_rows(lp)  # each flow's plant row and balance row, each step's balance row
    cs = (lp.steps["wtp_usd_per_t"].to_numpy() - sol.price[row_s]) * sol.q
    certificate = flow_certificate(lp, sol)
    margin = (sol.price[row_f] - lp.flows["delivered_cost_usd_per_t"].to_numpy() - certificate) * sol.x
    gr = (lp.flows["tariff_usd_per_t"].to_numpy() + certificate) * sol.x
    grid = b[["region", "year"]].drop_duplicates().sort_values(["region", "year"]).reset_index(drop=True)
    grid_of_row = pd.MultiIndex.from_frame(grid).get_indexer(pd.MultiIndex.from_frame(b[["region", "year"]]))
    # producer surplus by owner: equity of each plant, owner country -> region
    plants = lp.plants[["source_id", "location"]].drop_duplicates("source_id").reset_index(drop=True)
    equity = equity_table(plants, ownership[ownership["source_id"].isin(set(plants["source_id"]))])
    equity = equity.assign(owner_region=market.region_of(equity["owner"]))
    rent = pd.DataFrame({"source_id": lp.plants["source_id"].to_numpy(), "year": lp.plants["year"].to_numpy(),
                         "rent": np.bincount(plant_f, margin, minlength=len(lp.plants))}).groupby(
        ["source_id", "year"], as_index=False, sort=True)["rent"].sum()
    owned = rent.merge(equity, on="source_id", how="inner")
    owned["ps"] = owned["rent"] * owned["equity_share"]
    parts = [
        pd.DataFrame({"region": lp.steps["region"].to_numpy(), "year": lp.steps["year"].to_numpy(),
                      "consumer_surplus_usd": cs}),
        pd.DataFrame({"region": owned["owner_region"].to_numpy(), "year": owned["year"].to_numpy(),
                      "producer_surplus_usd": owned["ps"].to_numpy()}),
        pd.DataFrame({"region": grid["region"].to_numpy(), "year": grid["year"].to_numpy(),
                      "government_revenue_usd": np.bincount(grid_of_row[row_f], gr, minlength=len(grid))}),
    ]
    for part in parts:
        column = part.columns[-1]
        sums = part.groupby(["region", "year"], as_index=False, sort=True)[column].sum()
        grid = grid.merge(sums, on=["region", "year"], how="left")
    grid[list(WELFARE_PARTS)] = grid[list(WELFARE_PARTS)].fillna(0.0)
    grid["welfare_usd"] = grid[list(WELFARE_PARTS)].sum(axis=1)
    disc = dict(zip(b["year"], b["discount"], strict=False))
    grid["welfare_pv_usd"] = grid["welfare_usd"] * grid["year"].map(disc).to_numpy(dtype=float)
    return grid


def welfare_pv(welfare: pd.DataFrame, lp: MarketLP) -> pd.DataFrame:
    """Present value per region of each part (``*_pv_usd``) and the total."""
    disc = dict(zip(lp.balances["year"], lp.balances["discount"], strict=False))
    factor = welfare["year"].map(disc).to_numpy(dtype=float)
    out = pd.DataFrame({"region": welfare["region"]})
    for column in (*WELFARE_PARTS, "welfare_usd"):
        out[column.replace("_usd", "_pv_usd")] = welfare[column].to_numpy() * factor
    return out.groupby("region", as_index=False, sort=True).sum()


__all__ = ["WELFARE_PARTS", "welfare_pv", "welfare_table"]
