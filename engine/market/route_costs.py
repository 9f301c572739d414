"""Route-cost steps: increasing costs on chosen routes of the equilibrium LP (the market calibration's lever).

A stepped route (plant s → region r) is split into steps k = 0 … K−1 of rising add-on cost, every year alike:

    x[s, r, y] = Σ_k x_k[s, r, y],   0 ≤ x_k[s, r, y] ≤ min(W_k, U) − min(W_(k−1), U)
    cost of x_k:  disc_y · (c_s + t(s→r) + tariff + a_k) · x_k,      a_0 < a_1 < … (USD/t)

where W_k = w_0 + … + w_k is the cumulative width (the last step's width is +∞), W_(−1) = 0 and U the route's
upper bound (capacity × the buyer's allowed share). Since the add-ons rise, the LP fills a route's steps in order:
the route's cost is an increasing, piecewise-linear function of its flow, and the step columns are ordinary flow
columns. Each keeps its plant's capacity row and its region's balance row (and, for the buyer region, its goal row
coefficient a − θ), so prices, rents, welfare and the goal read a stepped LP as they read any other: a step's
``delivered_cost_usd_per_t`` includes its add-on (a resource cost, as the trade cost is), and complementary
slackness prices every positive step at its delivered cost plus its plant's rent.

``with_route_steps(lp, steps)`` returns the stepped LP; ``steps`` has one row per route and step
(``ROUTE_STEP_COLUMNS``). Routes it does not name are left as they are (one step, add-on 0). ``build_market`` is
not changed: the steps are columns split after it has built the model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.market.build import MONEY_UNIT, MarketLP

ROUTE_STEP_COLUMNS = ("source_id", "region", "step", "width_t", "usd_per_t")


def check_route_steps(steps: pd.DataFrame) -> None:
    """A route's steps are numbered 0 … K−1, have widths > 0 (the last +∞) and strictly rising add-ons;
    ``ValueError`` otherwise."""
    missing = [c for c in ROUTE_STEP_COLUMNS if c not in steps.columns]
    if missing:
        raise ValueError(f"route steps need columns {', '.join(ROUTE_STEP_COLUMNS)}; missing {', '.join(missing)}")
    for (source, region), rows in steps.groupby(["source_id", "region"], sort=True):
        rows = rows.sort_values("step", kind="stable")
        k = rows["step"].to_numpy(dtype=np.int64)
        width = rows["width_t"].to_numpy(dtype=float)
        add = rows["usd_per_t"].to_numpy(dtype=float)
        where = f"route {source} -> {region}"
        if not np.array_equal(k, np.arange(len(k))):
            raise ValueError(f"{where}: steps {k.tolist()}; expected 0 … {len(k) - 1}")
        if np.isfinite(width[-1]) or not np.all(width[:-1] > 0) or not np.all(np.isfinite(width[:-1])):
            raise ValueError(f"{where}: widths {width.tolist()}; expected finite widths > 0, the last +inf")
        if not np.all(np.diff(add) > 0) or not np.all(np.isfinite(add)):
            raise ValueError(f"{where}: add-ons {add.tolist()}; expected finite and strictly rising")


def with_route_steps(lp: MarketLP, steps: pd.DataFrame) -> MarketLP:
    """``lp`` with the routes of ``steps`` split into their steps (module docstring). The flows keep their order
    (plant-major); a stepped route's steps are consecutive rows, with ``route_step`` k and
    ``route_cost_usd_per_t`` a_k (0 and 0 on every other route)."""
    check_route_steps(steps)
    flows = lp.flows
    n_x = len(flows)
    route = pd.MultiIndex.from_frame(flows[["source_id", "region"]])
    ordered = steps.sort_values(["source_id", "region", "step"], kind="stable").reset_index(drop=True)
    stepped = pd.MultiIndex.from_frame(ordered[["source_id", "region"]].drop_duplicates())
    per_route = ordered.groupby(["source_id", "region"], sort=True).size()
    first_step = np.concatenate([[0], np.cumsum(per_route.to_numpy())[:-1]])  # row of step 0 in ``ordered``
    at = stepped.get_indexer(route)  # the stepped route of each flow, −1 for none
    # lookups padded with the unstepped route's values at index −1: one step, add-on 0, no width limit
    counts = np.append(per_route.reindex(stepped).to_numpy(dtype=np.int64), 1)[at]
    src = np.repeat(np.arange(n_x), counts)  # the old flow of each new column
    k = np.arange(len(src)) - np.repeat(np.cumsum(counts) - counts, counts)  # step within its route
    row = np.where(at[src] >= 0, first_step[np.maximum(at[src], 0)] + k, -1)  # its row in ``ordered``
    add = np.append(ordered["usd_per_t"].to_numpy(dtype=float), 0.0)[row]
    width = np.append(ordered["width_t"].to_numpy(dtype=float), np.inf)[row]
    # cumulative widths within each route: W_k and W_(k−1)
    start = np.where(k == 0, 0.0, np.nan)
    cum = width.copy()
    for j in range(1, int(counts.max()) if len(counts) else 1):  # a route has few steps: loop over step numbers
        later = k == j
        cum[later] = cum[np.flatnonzero(later) - 1] + width[later]
        start[later] = cum[np.flatnonzero(later) - 1]
    bound = lp.upper[:n_x][src]
    upper = np.maximum(0.0, np.minimum(cum, bound) - np.minimum(start, bound))
    new = flows.iloc[src].reset_index(drop=True)
    new["route_step"] = k.astype(np.int64)
    new["route_cost_usd_per_t"] = add
    new["delivered_cost_usd_per_t"] = new["delivered_cost_usd_per_t"].to_numpy(dtype=float) + add
    new["upper_t"] = upper
    by_year = dict(zip(lp.balances["year"].to_numpy(), lp.balances["discount"].to_numpy(dtype=float), strict=False))
    disc = new["year"].map(by_year).to_numpy(dtype=float)
    cost = np.concatenate([disc * new["delivered_cost_usd_per_t"].to_numpy(dtype=float) / MONEY_UNIT,
                           lp.cost[n_x:]])
    a = lp.matrix.tocsc()
    matrix = sp.hstack([a[:, src], a[:, n_x:]], format="csc")
    matrix.sort_indices()
    goal_of = np.full(n_x, -1, dtype=np.int64)
    goal_of[lp.goal_col] = lp.goal_row
    goal_col = np.flatnonzero(goal_of[src] >= 0).astype(np.int64)
    # columns after the flows (steps, builds, binaries) move by the columns added
    return dataclasses.replace(lp, flows=new, cost=cost, lower=np.concatenate([np.zeros(len(src)), lp.lower[n_x:]]),
                               upper=np.concatenate([upper, lp.upper[n_x:]]), matrix=matrix, goal_col=goal_col,
                               goal_row=goal_of[src][goal_col], warnings=list(lp.warnings),
                               integer=lp.integer + (len(src) - n_x),
                               effects=lp.effects.on_columns(src) if lp.effects is not None else None)


def route_totals(lp: MarketLP, x: np.ndarray) -> pd.DataFrame:
    """Tonnes per route and year, the steps of a stepped route summed: ``source_id``, ``region``, ``year``,
    ``tonnes``, in the flows' order."""
    f = lp.flows.assign(tonnes=x)
    return f.groupby(["source_id", "region", "year"], as_index=False, sort=False)["tonnes"].sum()


__all__ = ["ROUTE_STEP_COLUMNS", "check_route_steps", "route_totals", "with_route_steps"]
