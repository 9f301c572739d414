"""Strategic stockpiles: bought ahead, drawn in need.

Variables for each mineral m with a stockpile: ``put[m, y]`` (tonnes added; first stage, the same in every
scenario), ``draw[m, y, ω]`` and ``stock[m, y, ω]`` (level at the end of year y).

Stock balance, with S_0 the initial stock::

    stock[m, y, ω] − stock[m, y−1, ω] − put[m, y] + draw[m, y, ω] = 0        (stock[m, y0−1, ω] = S_0)

The demand balance gains ``+ draw − put`` (what goes into the stockpile is bought on top of demand), and the
cost objective the holding cost Σ p_ω δ_y h_m stock[m, y, ω]. Bounds: 0 <= stock <= capacity,
put <= max_purchase, draw <= max_draw.

Attribution (see ``dependence.py``): the stockpile is split into attributed and other stock, so that a draw
carries the attribution of what was bought. Columns ``put_a[m, y, ω]``, ``draw_a[m, y, ω]`` and
``stock_a[m, y, ω]`` are the attributed parts of the purchase, draw and level (the other parts are the totals
less these). The tonnes bought are first stage; what they are made of is decided with the flows of each
scenario. The initial stock counts as other stock (its origin is not in the data). Rows::

    stock_a[m, y, ω] − stock_a[m, y−1, ω] − put_a[m, y, ω] + draw_a[m, y, ω] = 0    (stock_a[m, y0−1, ω] = 0)
    put_a <= put,  draw_a <= draw,  stock_a <= stock                             (other parts >= 0)
    put_a <= Σ a·x,  put − put_a <= Σ (1 − a)·x                                  (bought from that year's
                                                                                  deliveries x into (m, y, ω))
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
    first["put_index"] = np.arange(len(spec) * len(years))  # the row's put column: one per mineral and year
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
    put_index = second["put_index"].to_numpy()
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
    _add_attributed_stock(model, keys, put.cols[put_index], draw.cols, stock.cols)


def _add_attributed_stock(model: Model, keys: pd.DataFrame, put: np.ndarray, draw: np.ndarray,
                          stock: np.ndarray) -> None:
    """The attributed stock's columns and rows (the module's docstring): its balance, the parts within the
    totals, and purchases split by the attribution of the deliveries they come from."""
    lp, sp = model.lp, model.stockpile
    n = len(sp)
    put_a = lp.add_variables("stock_put_attr", keys, 0.0, sp["max_put"].to_numpy())
    draw_a = lp.add_variables("stock_draw_attr", keys, 0.0, sp["max_draw"].to_numpy())
    stock_a = lp.add_variables("stock_level_attr", keys, 0.0, sp["capacity"].to_numpy())
    local = np.arange(n)
    previous = np.flatnonzero(sp["year"].to_numpy() > model.years[0])
    lp.add_constraints("stock_attr_balance", keys, np.concatenate([local, local, local, previous]),
                       np.concatenate([stock_a.cols, put_a.cols, draw_a.cols, stock_a.cols[previous - 1]]),
                       np.concatenate([np.ones(n), -np.ones(n), np.ones(n), -np.ones(len(previous))]), 0.0, 0.0)
    for name, part, total in (("stock_attr_put", put_a.cols, put), ("stock_attr_draw", draw_a.cols, draw),
                              ("stock_attr_level", stock_a.cols, stock)):
        lp.add_constraints(name, keys, np.concatenate([local, local]), np.concatenate([part, total]),
                           np.concatenate([np.ones(n), -np.ones(n)]), upper=0.0)
    of_demand = np.full(len(model.demand), -1, dtype=np.int64)
    rows = demand_row_of(model, sp)
    of_demand[rows[rows >= 0]] = local[rows >= 0]
    dl = model.deliveries
    drow = dl["demand_row"].to_numpy()
    at = np.where(drow >= 0, of_demand[np.maximum(drow, 0)], -1)
    a = dl["attribution"].to_numpy(dtype=float)
    cols = dl["col"].to_numpy()
    for name, share, own in (("stock_attr_origin", a, [(put_a.cols, 1.0)]),
                             ("stock_other_origin", 1.0 - a, [(put, 1.0), (put_a.cols, -1.0)])):
        mine = (at >= 0) & (share > 0)
        lp.add_constraints(name, keys, np.concatenate([local] * len(own) + [at[mine]]),
                           np.concatenate([c for c, _ in own] + [cols[mine]]),
                           np.concatenate([np.full(n, v) for _, v in own] + [-share[mine]]), upper=0.0)
