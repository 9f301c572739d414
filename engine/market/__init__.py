"""Market mode, step 1: the spatial price equilibrium of several buyer regions (Samuelson; Takayama and Judge).

- ``demand``: the piecewise-linear inverse demand curves (the step rule);
- ``build``: the equilibrium LP (flows, demand steps, plant capacity and regional balance rows);
- ``solve``: HiGHS on it, primal and duals;
- ``prices``: the balance rows' duals in each year's money, with the interval each holds over;
- ``welfare``: consumer and producer surplus and government revenue per region;
- ``run``: ``solve_market`` (the command's printout, ``summary.json`` and the files).

Only ``critmin solve`` runs a ``market: equilibrium`` scenario; ``market: none`` (the default) never reaches here.
"""

from __future__ import annotations

from engine.market.run import MarketResult, solve_market

__all__ = ["MarketResult", "solve_market"]
