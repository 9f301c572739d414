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
    years = pd.DataFrame({"year": model.years})
    first = spec.merge(years, how="cross").sort_values(["mineral", "year"]).reset_index(drop=True)
    put = lp.add_variables("stock_put", first[["mineral", "year"]], 0.0, first["max_put"].to_numpy())
    second = first.merge(model.scenarios[["scen"]], how="cross")
    second = second.sort_values(["scen", "mineral", "year"]).reset_index(drop=True)
    draw = lp.add_variables("stock_draw", second[["mineral", "year", "scen"]], 0.0, second["max_draw"].to_numpy())
    stock = lp.add_variables("stock_level", second[["mineral", "year", "scen"]], 0.0,
                             second["capacity"].to_numpy())
    model.stockpile = second

    n = len(second)
    local = np.arange(n)
    put_index = pd.MultiIndex.from_frame(first[["mineral", "year"]]).get_indexer(
        pd.MultiIndex.from_frame(second[["mineral", "year"]]))
    previous = np.flatnonzero(second["year"].to_numpy() > model.years[0])
    rows = np.concatenate([local, local, local, previous])
    cols = np.concatenate([stock.cols, put.cols[put_index], draw.cols, stock.cols[previous - 1]])
    vals = np.concatenate([np.ones(n), -np.ones(n), np.ones(n), -np.ones(len(previous))])
    rhs = np.where(second["year"].to_numpy() == model.years[0], second["initial"].to_numpy(), 0.0)
    lp.add_constraints("stock_balance", second[["mineral", "year", "scen"]], rows, cols, vals, rhs, rhs)

    demand_rows = lp.constraints["demand"].start + demand_row_of(model, second)
    lp.add_entries(np.concatenate([demand_rows, demand_rows]), np.concatenate([draw.cols, put.cols[put_index]]),
                   np.concatenate([np.ones(n), -np.ones(n)]))
    prob = second["scen"].map(model.scenarios.set_index("scen")["probability"]).to_numpy()
    holding = prob * model.discount(second["year"]) * second["holding"].to_numpy() / model.money_unit
    lp.add_objective("cost", stock.cols, holding)
