"""Market prices: the duals of the balance rows, in each year's money, with the interval each holds over.

Price rule: the price of region r, mineral m, year y is the dual of its balance row Σ_s x − Σ_k q = 0 in the final
optimal simplex basis (HiGHS, presolve off), divided by the year's discount factor: USD/t in real USD of 2024,
paid in year y. At a degenerate vertex or a demand-step kink several prices are optimal; the interval says which.

Interval rule (the prices this region's own columns allow, the plants' capacity rents held as they are):

    low  = max( p_k of every step not fully served (q_k < Δ_k),  delivered cost of every route that delivers )
    high = min( p_k of every step served (q_k > 0),  delivered cost of every route whose plant has spare capacity
                and which is not at its bound )

With the buyer region's goal (step 2) a route's delivered cost to the buyer includes its certificate λ(a − θ)
(``goal.py``): a credit lowers it, a charge raises it.

Complementary slackness puts the price inside [low, high]; ``low_set_by`` and ``high_set_by`` name the step or
plant that sets each end (blank high: nothing bounds the price from above).

A competitive equilibrium understates prices where one seller dominates (gallium, germanium: China holds most of
the capacity and can price above marginal cost); the printout and the README say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.market.build import MarketLP
from engine.market.goal import flow_certificate
from engine.market.solve import MarketSolution

TOL_T = 1e-6


def column_rows(lp: MarketLP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(plant row of each flow, balance row of each flow, balance row of each demand step), read from the LP's own
    columns: a flow column's first two entries are its plant's capacity row and its region's balance row (rows are
    ordered capacity, balance, goal), a step column's one entry is its balance row."""
    a = lp.matrix
    if not a.has_sorted_indices:
        a = a.sorted_indices()
    n_x, n_p = lp.n_flows, len(lp.plants)
    first = a.indptr[:-1]
    plant = a.indices[first[:n_x]].astype(np.int64)
    flow = a.indices[first[:n_x] + 1].astype(np.int64) - n_p
    step = a.indices[first[n_x:]].astype(np.int64) - n_p
    if (n_x and (plant.max() >= n_p or flow.min() < 0)) or (len(step) and step.min() < 0):
        raise ValueError("the market LP's columns are not in the layout build_market makes")
    return plant, flow, step


def _extreme(pick: np.ndarray, row: np.ndarray, value: np.ndarray, label_rank: np.ndarray, rows: int,
             take_max: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per balance row the max or min of ``value`` over the candidates ``pick`` (a mask) and the candidate that gives
    it (its position in the full arrays), ties to the smallest label (``label_rank``), then the first: NaN and −1
    where a row has none."""
    out = np.full(rows, np.nan)
    who = np.full(rows, -1, dtype=np.int64)
    at = np.flatnonzero(pick)
    if not len(at):
        return out, who
    r, v = row[at], value[at]
    order = np.lexsort((at, label_rank[at], -v if take_max else v, r))
    first = order[np.r_[True, r[order][1:] != r[order][:-1]]]
    out[r[first]] = v[first]
    who[r[first]] = at[first]
    return out, who


def _labels(who: np.ndarray, code: np.ndarray, names: np.ndarray, prefix: str) -> list[str]:
    """'prefix name' of each chosen candidate (``names[code[who]]``; −1: '')."""
    return [f"{prefix}{names[code[i]]}" if i >= 0 else "" for i in who]


def price_table(lp: MarketLP, sol: MarketSolution) -> pd.DataFrame:
    """``prices.csv``: one row per region, mineral and year."""
    b = lp.balances
    n = len(b)
    plant, flow_row, step_row = column_rows(lp)
    # demand steps: label 'demand step k', ranked as text
    k = lp.steps["step"].to_numpy(dtype=np.int64)
    k_text = np.array([str(v) for v in range(int(k.max()) + 1 if len(k) else 0)], dtype=object)
    k_rank = np.argsort(np.argsort(k_text, kind="stable"), kind="stable")[k] if len(k) else k
    q, width = sol.q, lp.steps["width_t"].to_numpy(dtype=float)
    wtp = lp.steps["wtp_usd_per_t"].to_numpy(dtype=float)
    # flows: label 'supply <source_id>', ranked as text
    sources, plant_code = np.unique(lp.plants["source_id"].to_numpy(dtype=object), return_inverse=True)
    source_code = plant_code[plant]  # each flow's plant's source id, ranked as text
    x = sol.x
    delivered = lp.flows["delivered_cost_usd_per_t"].to_numpy(dtype=float) + flow_certificate(lp, sol)
    used = np.bincount(plant, weights=x, minlength=len(lp.plants))[plant]
    spare = (used < lp.flows["capacity_t"].to_numpy(dtype=float) - TOL_T) & \
        (x < lp.flows["upper_t"].to_numpy(dtype=float) - TOL_T)
    lo_step, lo_step_at = _extreme(q < width - TOL_T, step_row, wtp, k_rank, n, True)
    hi_step, hi_step_at = _extreme(q > TOL_T, step_row, wtp, k_rank, n, False)
    lo_flow, lo_flow_at = _extreme(x > TOL_T, flow_row, delivered, source_code, n, True)
    hi_flow, hi_flow_at = _extreme(spare, flow_row, delivered, source_code, n, False)
    lo_step_by = _labels(lo_step_at, k, k_text, "demand step ")
    hi_step_by = _labels(hi_step_at, k, k_text, "demand step ")
    lo_flow_by = _labels(lo_flow_at, source_code, sources, "supply ")
    hi_flow_by = _labels(hi_flow_at, source_code, sources, "supply ")
    low = np.fmax(lo_step, lo_flow)
    low_by = [s if (not np.isnan(a) and (np.isnan(f) or a >= f)) else fl
              for a, f, s, fl in zip(lo_step, lo_flow, lo_step_by, lo_flow_by, strict=True)]
    high = np.fmin(hi_step, hi_flow)
    high_by = [s if (not np.isnan(a) and (np.isnan(f) or a <= f)) else fl
               for a, f, s, fl in zip(hi_step, hi_flow, hi_step_by, hi_flow_by, strict=True)]
    served = np.bincount(step_row, weights=q, minlength=n)
    return pd.DataFrame({
        "region": b["region"].to_numpy(), "mineral": b["mineral"].to_numpy(), "year": b["year"].to_numpy(),
        "price_usd_per_t": np.round(sol.price, 6) + 0.0,
        "price_low_usd_per_t": low, "price_high_usd_per_t": high,
        "low_set_by": low_by, "high_set_by": high_by,
        "quantity_t": served,
    })
