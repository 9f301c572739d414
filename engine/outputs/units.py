"""The unit of every number in a ``summary.json``: named by its key, or declared in the summary's ``units`` map.

A number's unit is the suffix of its key, or of the nearest key above it (``by_mineral_pv_usd: {li: …}`` is USD,
present value); ``SUFFIXES`` lists them. A number whose keys carry none is declared in ``DECLARED``, by its path
(``/``-separated keys, ``*`` for any key, ``[]`` for the items of a list); each summary lists the declarations that
apply to it under ``units`` (``units_of``). ``unitless`` finds the numbers that have neither: the tests walk every
command's summary with it.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterator

SUFFIXES = {
    "_pv_usd": "USD, present value at the scenario's base year",
    "_usd_per_t": "USD per tonne", "_usd_per_pp": "USD per percentage point", "_usd": "USD",
    "_tpy": "tonnes per year", "_t": "tonnes", "_pct": "percent", "_pp": "percentage points", "_s": "seconds",
    "_years": "years",
}
"""Key suffixes that name a unit, longest first where one ends another."""

DECLARED = {
    "schema_version": "version number",
    "model/columns": "count", "model/rows": "count", "model/nonzeros": "count",
    "stages/[]/seconds": "seconds", "tie_break/[]/seconds": "seconds",
    "stages/[]/iterations": "simplex iterations", "tie_break/[]/iterations": "simplex iterations",
    "tie_break/[]/objective_weighted_t": "tonnes weighted by the tie rule's weights (1 to 2 a tonne)",
    "solver_checks/*": "count",
    "scenario/horizon/[]": "calendar year",
    "policies/[]/covers_mineral_years": "count (mineral-years)",
    "policies/[]/unmet_mineral_years": "count (mineral-years)",
    "policies/[]/unmet_by_mineral_year_t/[]/year": "calendar year", "policies/[]/best_relaxation/year": "calendar year",
    "policy_impacts/solves": "count (re-solves of the hierarchy)",
    "dependence/*/by_mineral_year/*/*": "percent", "dependence/*/least_cost_by_mineral_year/*/*": "percent",
    "jv/builds": "count",
    "scenario/control_threshold": "equity share (0 to 1)",
    "dependence/weighting/reference/year": "calendar year", "weighting/reference/year": "calendar year",
    "dependence/weighting/widest/*/year": "calendar year", "weighting/widest/*/year": "calendar year",
    "dependence/weighting/by_mineral/*/*/pp_per_tonne": "percentage points of the aggregate per tonne attributed or "
                                                        "unmet",
    "weighting/by_mineral/*/*/pp_per_tonne": "percentage points of the aggregate per tonne attributed or unmet",
    "points": "count", "samples": "count", "optimal": "count", "seed": "random seed",
    "percentiles/*/*": "factor on the central value (a drawn input)",
    "base/shocks": "count", "top_shocks/[]/rank": "rank", "top_shocks/[]/share": "share of normal supply (0 to 1)",
    "alpha": "probability (CVaR level)", "plan_scenarios": "count", "evaluation_scenarios": "count",
    "*/scenarios_at_least_cost": "count",
    "moves": "count", "undominated_moves": "count", "settings/k": "count", "settings/share": "share of normal (0 to 1)",
    "settings/owner_threshold": "equity share (0 to 1)", "by_k/[]/k": "count (moves)",
    "by_k/[]/iterations": "count", "by_k/[]/restriction_sets_in_master": "count", "by_k/[]/seconds": "seconds",
    "by_k/[]/sets_adding_unmet": "count (restriction sets)", "by_k/[]/sets_tried": "count (restriction sets)",
    "assumptions": "count", "rebuilt": "count", "ranked/[]/rank": "rank",
    "rounds": "count", "moves/[]/blocks": "count", "moves/[]/share_before": "exportable share (0 to 1)",
    "moves/[]/share_after": "exportable share (0 to 1)", "overlay/*": "exportable share (0 to 1)",
    # market mode: the backcast (critmin solve) and the calibration (critmin calibrate)
    "backcast/year": "calendar year", "backcast/by_mineral/*/*_shares/*": "share of the buyer's imports (0 to 1)",
    "backcast/prices/inside": "count", "backcast/prices/compared": "count",
    "backcast/prices/by_mineral/*/*/observed_year": "calendar year", "backcast/own_use/rows/[]/year": "calendar year",
    "backcast/own_use/rows/[]/equilibrium_share": "share of the region's plants' output (0 to 1)",
    "backcast/own_use/rows/[]/observed_share": "share of the region's plants' output (0 to 1)",
    "first_year": "calendar year", "margin": "share of the mineral's reference price (0 to 1)",
    "backcast/[]/year": "calendar year", "groups/[]/observed_share": "share of the buyer's imports (0 to 1)",
    "groups/[]/target_share": "share of the buyer's imports (0 to 1)", "prices/[]/year": "calendar year",
    "prices/[]/observed_year": "calendar year", "prices_compared": "count", "prices_inside_before": "count",
    "prices_inside_after": "count", "routes_stepped": "count",
}
"""Numbers whose keys name no unit, by path."""


def suffix_unit(key: str) -> str | None:
    """The unit a key's suffix names, or None."""
    return next((unit for suffix, unit in SUFFIXES.items() if key.endswith(suffix)), None)


_named_key = functools.lru_cache(maxsize=4096)(suffix_unit)
"""``suffix_unit``, remembered per key (a summary repeats its keys: a mineral code, a year, ``optimised_pct``)."""

_BY_DEPTH: dict[int, list[tuple[str, Callable[[str], object]]]] = {}
"""``DECLARED``'s patterns by their number of ``/``, in ``DECLARED``'s order, each with its matcher
(``fnmatch.fnmatchcase``'s own: ``re.compile(fnmatch.translate(pattern)).match``)."""
for _pattern in DECLARED:
    _BY_DEPTH.setdefault(_pattern.count("/"), []).append((_pattern, re.compile(fnmatch.translate(_pattern)).match))


def _numbers(node: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every number (not a boolean) under ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _numbers(value, (*path, str(key)))
    elif isinstance(node, list):
        for value in node:
            yield from _numbers(value, (*path, "[]"))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path


def _declared(path: tuple[str, ...]) -> str | None:
    """The first pattern of ``DECLARED`` that matches the path with as many ``/`` (only those are tried)."""
    text = "/".join(path)
    return next((pattern for pattern, match in _BY_DEPTH.get(text.count("/"), ()) if match(text) is not None), None)


def _named(path: tuple[str, ...]) -> bool:
    return any(_named_key(key) is not None for key in path if key != "[]")


def units_of(summary: dict) -> dict[str, str]:
    """The declarations (``DECLARED``) of the numbers in ``summary`` that no key of theirs names a unit for."""
    found: dict[str, str] = {}
    for path in _numbers({k: v for k, v in summary.items() if k != "units"}):
        if not _named(path) and (pattern := _declared(path)) is not None:
            found[pattern] = DECLARED[pattern]
    return dict(sorted(found.items()))


def unitless(summary: dict) -> list[str]:
    """The paths of the numbers in ``summary`` with no unit: no key of theirs names one, and ``units`` declares
    none."""
    declared = summary.get("units", {})
    missing = []
    for path in _numbers({k: v for k, v in summary.items() if k != "units"}):
        if _named(path):
            continue
        text = "/".join(path)
        if not any(fnmatch.fnmatchcase(text, p) and p.count("/") == text.count("/") for p in declared):
            missing.append(text)
    return missing
