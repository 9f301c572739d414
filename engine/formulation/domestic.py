"""Refining capacity hosted in the buyer's country: the know-how a deal brings home.

domestic_target, per mineral m and year Y in the policy years::

    existing_m(Y) + Σ_{j hosted in the buyer} Σ_{y: y + L_j <= Y} build[j, y]  >=  target_m(Y)

where existing_m(Y) is the buyer-located capacity of ``capacity.csv`` active in Y, and the target is
``min_capacity_t`` or ``min_share`` × demand[m, Y].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.formulation.select import scope_mask
from engine.inputs.schema import DomesticTarget


def existing_domestic_capacity(model: Model, frame: pd.DataFrame) -> np.ndarray:
    """Buyer-located capacity (t/yr) per (mineral, year) row of ``frame``."""
    src = model.sources
    home = src[src["location"] == model.scenario.buyer]
    out = np.zeros(len(frame))
    if home.empty:
        return out
    last = home["last_year"].astype("Float64").fillna(np.inf).astype(float).to_numpy()
    for i, (mineral, year) in enumerate(frame[["mineral", "year"]].itertuples(index=False)):
        active = (home["mineral"].to_numpy() == mineral) & (home["first_year"].to_numpy() <= year) & (last >= year)
        out[i] = float(home["capacity_t"].to_numpy()[active].sum())
    return out


def add_domestic_target(model: Model, policy: DomesticTarget) -> None:
    """At least the target capacity hosted in the buyer's country from the policy years on."""
    d = model.demand
    first = d[d["scen"] == d["scen"].iloc[0]].reset_index(drop=True)
    targets = first[scope_mask(first, policy, model.years)].reset_index(drop=True)
    if targets.empty:
        return
    wanted = (np.full(len(targets), policy.min_capacity_t) if policy.min_capacity_t is not None
              else policy.min_share * targets["demand_t"].to_numpy())
    rhs = wanted - existing_domestic_capacity(model, targets)
    rows = np.empty(0, dtype=np.int64)
    cols = np.empty(0, dtype=np.int64)
    if len(model.builds):
        host = model.builds["option_id"].map(model.jv_options.set_index("option_id")["host"])
        home = model.builds[(host == model.scenario.buyer).to_numpy()]
        pairs = targets[["mineral", "year"]].reset_index(names="row").merge(
            home[["mineral", "online"]].reset_index(names="b"), on="mineral")
        pairs = pairs[pairs["online"] <= pairs["year"]]
        rows = pairs["row"].to_numpy()
        cols = model.block_cols("build")[pairs["b"].to_numpy()]
    keys = targets[["mineral", "year"]].assign(policy=policy.name)
    model.lp.add_constraints(f"domestic_target:{policy.name}", keys, rows, cols, np.ones(len(rows)),
                             lower=np.maximum(rhs, 0.0))
