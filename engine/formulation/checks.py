"""Consistency checks on a built model (PyPSA style): things that are legal but probably not meant.

Each check appends a plain-language warning to ``model.warnings``; nothing here stops a run.
"""

from __future__ import annotations

import numpy as np

from engine.formulation.model import Model
from engine.inputs.selection import selection_warnings

SCALE_LIMIT = 1e9  # ratio of the largest to the smallest non-zero coefficient worth a warning


def policy_scope_warnings(model: Model) -> None:
    """Scenario values that select nothing (a policy or shock outside the horizon or the modelled minerals, a
    country with no capacity of what it covers, …) do nothing: say so, naming their YAML path."""
    model.warnings.extend(selection_warnings(model.loaded))
    for policy in model.scenario.policies:
        if policy.type == "country_cap":
            exempt = _world_aggregates(model)
            if exempt:
                model.warnings.append(f"country_cap '{policy.name}' does not cap {', '.join(exempt)} (region "
                                      f"'World' in countries.csv: an aggregate of many countries, exempt from "
                                      f"country caps)")


def _world_aggregates(model: Model) -> list[str]:
    """Countries of region 'World' (aggregates such as ROW) that supply a modelled mineral."""
    countries = model.dataset.countries
    aggregates = set(countries.loc[countries["region"] == "World", "iso3"])
    cap = model.dataset.capacity
    present = cap.loc[cap["mineral"].isin(model.minerals), "location"]
    return sorted(aggregates & set(present))


def scaling_warnings(model: Model) -> None:
    """Warn when the matrix, or one objective, has coefficients spanning more than ``SCALE_LIMIT``."""
    parts = {"constraint matrix": np.abs(model.lp.matrix().data)}
    parts.update({f"{name} objective": np.abs(model.lp.objective(name)) for name in model.lp.objective_names})
    for what, values in parts.items():
        values = values[values > 0]
        if values.size and values.max() / values.min() > SCALE_LIMIT:
            model.warnings.append(
                f"{what} coefficients span {values.min():.1e} to {values.max():.1e} (ratio above "
                f"{SCALE_LIMIT:.0e}); check units in the inputs (t/yr, USD/t) for a badly scaled row"
            )


def run_checks(model: Model) -> None:
    policy_scope_warnings(model)
    scaling_warnings(model)
