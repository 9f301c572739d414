"""Strategic stockpiles: bought ahead, drawn in need.

Variables for each mineral m with a stockpile: ``put[m, y]`` (tonnes added; first stage, the same in every
scenario), ``draw[m, y, ω]`` and ``stock[m, y, ω]`` (level at the end of year y).

Stock balance, with S_0 the initial stock::

    stock[m, y, ω] − stock[m, y−1, ω] − put[m, y] + draw[m, y, ω] = 0        (stock[m, y0−1, ω] = S_0)

The demand balance gains ``+ draw − put`` (what goes into the stockpile is bought on top of demand), and the
cost objective the holding cost Σ p_ω δ_y h_m stock[m, y, ω]. Bounds: 0 <= stock <= capacity,
put <= max_purchase, draw <= max_draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.demand import demand_row_of
from engine.formulation.model import Model
from engine.model.joins import columns_frame, taken, tiled


def add_stockpile(model: Model) -> None:
    """Stockpile columns, balance rows, their place in the demand rows, and holding costs."""
    piles = {m: p for m, p in model.scenario.stockpile.items() if m in model.minerals}
    if not piles:
        return
    lp = model.lp
    spec = pd.DataFrame([{"mineral": m, "initial": p.initial_t, "capacity": p.capacity_t,
                          "max_put": np.inf if p.max_purchase_t is None else p.max_purchase_t,
                          "max_draw": np.inf if p.max_draw_t is None else p.max_draw_t,
                          "holding": p.holding_usd_per_t_yr} for m, p in piles.items()])
    years = np.asarray(model.years, dtype=np.int64)
    spec_row = np.repeat(np.argsort(spec["mineral"].to_numpy(), kind="stable"), len(years))  # by mineral, year
    first = {name: taken(values, spec_row) for name, values in spec.items()}
    first["year"] = np.tile(years, len(spec))
    first = pd.DataFrame(first)
    put = lp.add_variables("stock_put", columns_frame(first, ["mineral", "year"]), 0.0, first["max_put"].to_numpy())
    scens = np.sort(model.scenarios["scen"].to_numpy())
    second = {name: tiled(taken(values, None), len(scens)) for name, values in first.items()}
    second["scen"] = np.repeat(scens, len(first))  # sorted by scen, mineral, year
    second = pd.DataFrame(second)
    keys = columns_frame(second, ["mineral", "year", "scen"])
    draw = lp.add_variables("stock_draw", keys, 0.0, second["max_draw"].to_numpy())
    stock = lp.add_variables("stock_level", keys, 0.0,
                             second["capacity"].to_numpy())
    model.stockpile = second

    n = len(second)
    local = np.arange(n)
    put_index = np.tile(np.arange(len(first)), len(scens))  # the put of each row's mineral and year
    previous = np.flatnonzero(second["year"].to_numpy() > model.years[0])
    rows = np.concatenate([local, local, local, previous])
    cols = np.concatenate([stock.cols, put.cols[put_index], draw.cols, stock.cols[previous - 1]])
    vals = np.concatenate([np.ones(n), -np.ones(n), np.ones(n), -np.ones(len(previous))])
    rhs = np.where(second["year"].to_numpy() == model.years[0], second["initial"].to_numpy(), 0.0)
    lp.add_constraints("stock_balance", keys, rows, cols, vals, rhs, rhs)

    demand_rows = lp.constraints["demand"].start + demand_row_of(model, second)
    lp.add_entries(np.concatenate([demand_rows, demand_rows]), np.concatenate([draw.cols, put.cols[put_index]]),
                   np.concatenate([np.ones(n), -np.ones(n)]))
    prob = model.probability_of(second["scen"])
    holding = prob * model.discount(second["year"]) * second["holding"].to_numpy() / model.money_unit
    lp.add_objective("cost", stock.cols, holding)
