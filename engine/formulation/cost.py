"""The cost objective: present value of everything the buyer pays (in the LP money unit, ``model.money_unit``).

    cost = Σ_{s, y, ω} p_ω × δ_y × c[s, y] × flow[s, y, ω]  (+ JV terms, ``jv.py``)

with δ_y = (1 + r)^-(y − base year) and c[s, y] the delivered cost per tonne including tariffs and lost credits
(``supply.delivered_cost``).
"""

from __future__ import annotations

from engine.formulation.model import Model
from engine.formulation.supply import delivered_cost


def add_purchase_cost(model: Model) -> None:
    """Purchases at delivered cost, discounted and probability-weighted."""
    sup = model.supply
    prob = model.probability_of(sup["scen"])
    coef = prob * model.discount(sup["year"]) * delivered_cost(sup).to_numpy() / model.money_unit
    model.lp.add_objective("cost", model.block_cols("flow"), coef)
