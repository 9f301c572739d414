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


def _span(values: np.ndarray, chunk: int = 1 << 16) -> tuple[float, float] | None:
    """The smallest and largest |value| above zero (None when there is none), read a chunk at a time: |A| and its
    non-zeros as whole arrays were 17 MB of fresh memory (page faults) per build at a million non-zeros."""
    low, high, found = np.inf, 0.0, False
    buffer = np.empty(min(chunk, len(values)))
    for start in range(0, len(values), chunk):
        part = values[start:start + chunk]
        size = np.abs(part, out=buffer[:len(part)])
        size = size[size > 0]
        if size.size:
            low, high, found = min(low, size.min()), max(high, size.max()), True
    return (low, high) if found else None


def scaling_warnings(model: Model) -> None:
    """Warn when the matrix, or one objective, has coefficients spanning more than ``SCALE_LIMIT``."""
    parts = {"constraint matrix": model.lp.matrix().data}
    parts.update({f"{name} objective": model.lp.objective(name) for name in model.lp.objective_names})
    for what, values in parts.items():
        span = _span(values)
        if span is not None and span[1] / span[0] > SCALE_LIMIT:
            model.warnings.append(
                f"{what} coefficients span {span[0]:.1e} to {span[1]:.1e} (ratio above "
                f"{SCALE_LIMIT:.0e}); check units in the inputs (t/yr, USD/t) for a badly scaled row"
            )


def run_checks(model: Model) -> None:
    policy_scope_warnings(model)
    scaling_warnings(model)
