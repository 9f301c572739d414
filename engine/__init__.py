"""critmin: sourcing and JV/licensing mixes that minimise dependence on China for refined critical minerals.

The Python API (see ``engine.api`` and the README's "Python" section); names load on first use, so ``import
engine`` is light::

    import engine as cm
    plan = cm.solve({"extends": "baseline", "objective": {"budget": "+5%"}})
    plan.dependence.head()
"""

from __future__ import annotations

from typing import Any

__all__ = ["Calibration", "Comparison", "Explained", "Frontier", "MarketAnalysis", "MarketComparisonResult",
           "MarketPlan", "Robust", "Sensitivity", "Session", "Solution", "Stress", "Sweep", "WorstCase", "calibrate",
           "compare_runs", "explain", "frontier", "load", "make_report", "market_solve", "mineral_codes", "override",
           "robust", "sensitivity", "solve", "stress", "sweep", "worstcase"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from engine import api

        return getattr(api, name)
    raise AttributeError(f"module 'engine' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
