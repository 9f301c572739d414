"""Market prices: the duals of the balance rows, in each year's money, with the interval each holds over.

Price rule: the price of region r, mineral m, year y is the dual of its balance row Σ_s x − Σ_k q = 0 in the final
optimal simplex basis (HiGHS, presolve off), divided by the year's discount factor: USD/t in real USD of 2024,
paid in year y. At a degenerate vertex or a demand-step kink several prices are optimal; the interval says which.

Interval rule (the prices this region's own columns allow, the plants' capacity rents held as they are):

    low  = max( p_k of every step not fully served (q_k < Δ_k),  delivered cost of every route that delivers )
    high = min( p_k of every step served (q_k > 0),  delivered cost of every route whose plant has spare capacity
                and which is not at its bound )

With the buyer region's goal (step 2) a route's delivered cost to the buyer includes its certificate λ(a − θ)
(``goal.py``), and with a region's share rules (country caps, dependence caps, content rules) their charges and
credits (``rents.py``): a credit lowers it, a charge raises it. A route in an export quota or an offtake row at its
bound has no spare capacity. A JV plant's capacity is what is built and online.

Complementary slackness puts the price inside [low, high]; ``low_set_by`` and ``high_set_by`` name the step or
plant that sets each end (blank high: nothing bounds the price from above).

A competitive equilibrium understates prices where one seller dominates (gallium, germanium: China holds most of
the capacity and can price above marginal cost); the printout and the README say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.market.build import MarketLP
from engine.market.rents import flow_transfers, in_tight_row
from engine.market.solve import MarketSolution

TOL_T = 1e-6


def _extreme(frame: pd.DataFrame, rows: int, value: str, label: str, take_max: bool,
             prefix: str = "") -> tuple[np.ndarray, list]:
    """Per balance row (``row`` column) the max or min of ``value`` over ``frame`` and ``prefix`` + the label of the
    row that gives it (NaN and '' where the frame has none; of several rows that give it, the first label in sort
    order)."""
    out = np.full(rows, np.nan)
    who: list[str] = [""] * rows
    if frame.empty:
        return out, who
    row = frame["row"].to_numpy(dtype=np.int64)
    v = frame[value].to_numpy(dtype=float)
    best = np.full(rows, -np.inf if take_max else np.inf)
    (np.maximum if take_max else np.minimum).at(best, row, v)
    ties = frame.loc[v == best[row], ["row", value, label]]  # only the rows that reach the extreme are sorted
    first = ties.sort_values(["row", label], kind="stable").drop_duplicates("row", keep="first")
    at = first["row"].to_numpy(dtype=np.int64)
    out[at] = first[value].to_numpy(dtype=float)
    for i, text in zip(at, first[label], strict=True):
        who[i] = prefix + str(text)
    return out, who


def price_table(lp: MarketLP, sol: MarketSolution) -> pd.DataFrame:
    """``prices.csv``: one row per region, mineral and year."""
    b = lp.balances
    steps = lp.steps.assign(row=lp.step_row, q=sol.q)
    steps["label"] = "demand step " + steps["step"].astype(str)
    # the flow columns the interval needs (not a copy of the whole flow table)
    flows = pd.DataFrame({"row": lp.flow_row, "x": sol.x, "source_id": lp.flows["source_id"].to_numpy(),
                          "delivered_cost_usd_per_t": lp.flows["delivered_cost_usd_per_t"].to_numpy()
                          + flow_transfers(lp, sol)})
    plant = lp.flows["plant"].to_numpy()
    used = np.bincount(plant, weights=sol.x, minlength=len(lp.plants))
    spare = (used < lp.plant_capacity(sol.build) - TOL_T)[plant] & \
        (sol.x < lp.flows["upper_t"].to_numpy() - TOL_T) & ~in_tight_row(lp, sol)
    n = len(b)
    lo_step, lo_step_by = _extreme(steps[steps["q"] < steps["width_t"] - TOL_T], n, "wtp_usd_per_t", "label", True)
    lo_flow, lo_flow_by = _extreme(flows[sol.x > TOL_T], n, "delivered_cost_usd_per_t", "source_id", True, "supply ")
    hi_step, hi_step_by = _extreme(steps[steps["q"] > TOL_T], n, "wtp_usd_per_t", "label", False)
    hi_flow, hi_flow_by = _extreme(flows[spare], n, "delivered_cost_usd_per_t", "source_id", False, "supply ")
    low = np.fmax(lo_step, lo_flow)
    low_by = [s if (not np.isnan(a) and (np.isnan(f) or a >= f)) else fl
              for a, f, s, fl in zip(lo_step, lo_flow, lo_step_by, lo_flow_by, strict=True)]
    high = np.fmin(hi_step, hi_flow)
    high_by = [s if (not np.isnan(a) and (np.isnan(f) or a <= f)) else fl
               for a, f, s, fl in zip(hi_step, hi_flow, hi_step_by, hi_flow_by, strict=True)]
    served = np.bincount(steps["row"].to_numpy(), weights=sol.q, minlength=n)
    return pd.DataFrame({
        "region": b["region"].to_numpy(), "mineral": b["mineral"].to_numpy(), "year": b["year"].to_numpy(),
        "price_usd_per_t": np.round(sol.price, 6) + 0.0,
        "price_low_usd_per_t": low, "price_high_usd_per_t": high,
        "low_set_by": low_by, "high_set_by": high_by,
        "quantity_t": served,
    })
