"""Re-planning a fixed first stage under the plan's own objective (stress, robust).

When a plan's JV builds and stockpile purchases are fixed and its flows re-optimised (a shock, a sampled
disruption, or no change at all), the re-plan keeps the scenario's hierarchy with the plan's budget held at its
absolute value (USD present value), not re-derived from a least cost that the fixed builds have changed. C is cost
including unmet demand at its value, as in every plan (with ``objective: {shortfall: first}`` the shortfall stage
comes first)::

    1. least cost C'      2. minimise exposure s.t. C <= B (the plan's budget)      3. minimise C at that exposure

Re-planned with nothing changed, the plan itself is feasible and optimal at every stage, so the re-plan reproduces
it. When C' > B (a shock, through the unmet demand it adds or dearer supply, makes even the cheapest re-plan dearer
than the budget), the re-plan is the least-cost one (stage 1 with the budget at C'): ``over_budget`` says so, and
stress and robust report it. A budget fixed in USD keeps the re-plans comparable with the base plan.
``minimise: cost`` scenarios re-plan at least cost.
"""

from __future__ import annotations

from engine.inputs.schema import Budget
from engine.plan.hierarchy import Plan, PlanSession
from engine.solvers.base import Status

AT_LEAST_COST = "the least-cost re-plan exceeds the budget: re-planned at least cost"
"""The note of a re-plan whose budget even its least-cost plan exceeds (``over_budget``)."""


def replan(session: PlanSession, budget_usd: float | None) -> Plan:
    """Run the hierarchy on the loaded session at an absolute budget (None: minimise cost)."""
    if budget_usd is None:
        return session.solve(minimise="cost")
    plan = session.solve(minimise="dependence", budget=Budget(absolute_usd=budget_usd))
    over = (plan.status is Status.INFEASIBLE and plan.least_cost is not None and plan.least_cost_usd is not None
            and plan.least_cost_usd > budget_usd)
    if over:  # the least-cost re-plan (stages 1-3) is already solved: it is the plan
        plan.status, plan.message, plan.solution = Status.OPTIMAL, "", plan.least_cost
        plan.budget_usd, plan.dependence_level = plan.least_cost_usd, None
        plan.notes.append(AT_LEAST_COST)
    return plan


def over_budget(plan: Plan) -> bool:
    """True when even the least-cost re-plan exceeded the budget, so ``replan`` returned the least-cost plan."""
    return AT_LEAST_COST in plan.notes
