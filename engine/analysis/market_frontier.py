"""``critmin frontier`` in market mode: the parametric frontier of the buyer region's goal θ, with the prices and
certificate prices of every point.

The same frontier ``critmin solve`` traces for a ``market_goal`` budget (``engine.market.frontier.run_frontier``:
one HiGHS model with free goal rows, the uncapped equilibrium first, then θ_j = θ_max·j/(n − 1), j = n − 1 … 0, as
warm re-solves), so a scenario with a budget gives here the frontier.csv that ``solve`` writes, column for column,
and the same chosen point. Beside each point: every region's price change against the uncapped equilibrium (the
cost of its uncapped consumption at the point's prices, ``engine.market.run.price_change_pct``, as ``who_pays.csv``
defines it), every price (``frontier_prices.csv``) and every certificate price (``frontier_certificates.csv``).

The budget is the scenario's ``market_goal.budget``; without one no point is chosen. ``caps`` (percent) replaces the
grid with given values of θ.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.inputs.market_tables import MarketData, load_market
from engine.inputs.scenario import LoadedScenario
from engine.market.build import MarketLP, build_market
from engine.market.frontier import Frontier, WelfareAccount, run_frontier
from engine.market.run import budget_words, frontier_lines, money, price_change_pct
from engine.market.solve import MarketSolution, MarketSolver
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import provenance, versions


@dataclass
class MarketFrontierRun:
    """The frontier, its points' prices and certificate prices, and what the budget was."""

    loaded: LoadedScenario
    market: MarketData
    lp: MarketLP
    frontier: Frontier
    table: pd.DataFrame  # frontier.csv: the frontier's points and each region's price change
    prices: pd.DataFrame  # frontier_prices.csv: theta, region, mineral, year, price_usd_per_t
    certificates: pd.DataFrame  # frontier_certificates.csv: theta, mineral, year, certificate_price_usd_per_t
    budget: str | None  # the budget in words (None: the scenario sets none, no point is chosen)
    status: str = "optimal"

    @property
    def regions(self) -> list[str]:
        return list(self.market.regions["region"])

    @property
    def buyer(self) -> str:
        return self.lp.buyer_region


def grid_of(caps: list[float] | None) -> np.ndarray | None:
    """``--caps`` (percent) as values of θ, largest first, rounded as the grid is (None: the grid)."""
    if caps is None:
        return None
    return np.round(np.array(sorted(set(caps), reverse=True), dtype=float) / 100.0, 9)


def market_frontier(loaded: LoadedScenario, *, points: int | None = None, caps: list[float] | None = None,
                    progress=None) -> MarketFrontierRun:
    """Trace the frontier of the goal of ``loaded`` (a ``market: equilibrium`` scenario)."""
    spec = loaded.scenario.market_goal
    budget = spec.budget
    n = points if points is not None else spec.points
    if n < 2 and caps is None:
        raise InputError(f"--points {n}: expected at least 2 values of theta")
    market = load_market(loaded.dataset, loaded.scenario.buyer)
    lp = build_market(loaded, market, goal_rows=True)
    solver = MarketSolver(lp)
    uncapped = solver.solve()
    account = WelfareAccount(lp, market, loaded.dataset.ownership)
    kept: list[tuple[float, MarketSolution]] = []
    thetas = grid_of(caps)
    total = len(thetas) if thetas is not None else n

    def keep(theta: float, sol: MarketSolution) -> None:
        kept.append((theta, sol))
        if progress is not None:
            progress(len(kept), total)

    frontier = run_frontier(solver, account, uncapped, points=n,
                            budget_premium=budget.premium if budget else None,
                            budget_absolute_usd=budget.absolute_usd if budget else None, thetas=thetas, on_point=keep)
    if budget is None:  # no budget: nothing is chosen (run_frontier judged the points against a budget of 0)
        frontier.chosen = None
        frontier.points["within_budget"] = pd.array([pd.NA] * len(frontier.points), dtype="boolean")
        frontier.points["chosen"] = False
    table = frontier.points.copy()
    regions = account.regions
    for r, change in zip(regions, np.array([price_change_pct(account, uncapped, sol) for _, sol in kept]).T,
                         strict=True):
        table[f"price_change_{r}_pct"] = np.round(change, 6) + 0.0
    b = lp.balances
    prices = pd.concat([pd.DataFrame({"theta": theta, "region": b["region"].to_numpy(),
                                      "mineral": b["mineral"].to_numpy(), "year": b["year"].to_numpy(),
                                      "price_usd_per_t": np.round(sol.price, 6) + 0.0})
                        for theta, sol in kept], ignore_index=True)
    g = lp.goals
    certificates = pd.concat([pd.DataFrame({"theta": theta, "mineral": g["mineral"].to_numpy(),
                                            "year": g["year"].to_numpy(),
                                            "certificate_price_usd_per_t": np.round(sol.certificate, 6) + 0.0,
                                            "binding": sol.certificate > 1e-9})
                              for theta, sol in kept], ignore_index=True)
    return MarketFrontierRun(loaded, market, lp, frontier, table, prices, certificates,
                             budget_words(budget, lp.buyer_region))


def render_market_frontier(run: MarketFrontierRun) -> str:
    """The printout: the frontier as ``solve`` prints it, then each region's price change per point."""
    s = run.loaded.scenario
    buyer, regions = run.buyer, run.regions
    others = [r for r in regions if r != buyer]
    lines = [f"Frontier of scenario '{run.loaded.name}' in market mode: the goal's cap theta on {buyer}'s China share "
             f"of supply, from the uncapped equilibrium's largest share down to 0",
             f"  {s.horizon.start}-{s.horizon.end}; attribution: dependence.basis {s.dependence.basis}; welfare in "
             f"present value at {s.base_year} ({s.finance.discount_rate:.0%}), against the uncapped equilibrium.", ""]
    lines += frontier_lines(run.frontier, buyer, others, run.budget)
    f = run.frontier
    if run.budget is None:
        lines.append("  No budget: the scenario sets no market_goal budget, so no point is chosen "
                     "(market_goal: {budget: '+2%'} chooses one by the budget rule).")
    elif f.chosen is None:
        lines.append(f"  No point is within the budget of {money(f.budget_usd)} USD.")
    else:
        lines.append(f"  Chosen by the budget rule (lowest exposure within the budget): theta "
                     f"{f.points['theta'].iloc[f.chosen]:.3f}, as 'critmin solve' chooses it.")
    lines += ["", "  Price change against the uncapped equilibrium (the cost of each region's uncapped consumption at "
                  "the point's prices, %)",
              f"  {'theta':>6}" + "".join(f"{r:>9}" for r in regions)]
    for row in run.table.itertuples(index=False):
        row = row._asdict()
        lines.append(f"  {row['theta']:>6.3f}" + "".join(f"{row[f'price_change_{r}_pct']:>+8.2f}%" for r in regions))
    lines.append("  (every price per region, mineral and year in frontier_prices.csv; every certificate price per "
                 "mineral-year in frontier_certificates.csv)")
    return "\n".join(lines)


def market_frontier_summary(run: MarketFrontierRun) -> dict:
    """The frontier folder's ``summary.json`` (and ``critmin frontier --json`` without the table)."""
    f = run.frontier
    chosen = None if f.chosen is None else float(f.points["theta"].iloc[f.chosen])
    return stamped({"scenario": run.loaded.name, **provenance(run.loaded), "market": "equilibrium",
                    "status": run.status, "buyer_region": run.buyer, "regions": run.regions,
                    "points": len(f.points), "budget": run.budget, "budget_usd": f.budget_usd if run.budget else None,
                    "buyer_spend_uncapped_pv_usd": f.spend_pv_usd, "chosen_theta": chosen,
                    "seconds": f.seconds, "points_per_second": f.points_per_second, "versions": versions()})


def write_market_frontier(run: MarketFrontierRun, folder: Path, force: bool = False) -> Path:
    """frontier.csv, frontier_prices.csv, frontier_certificates.csv, frontier.png/.svg and summary.json."""
    from engine.analysis.market_plots import frontier_figure, save_figure

    def fill(tmp: Path) -> None:
        write_csv(run.table, tmp / "frontier.csv")
        write_csv(run.prices, tmp / "frontier_prices.csv")
        write_csv(run.certificates, tmp / "frontier_certificates.csv")
        save_figure(frontier_figure(run.table, run.buyer, run.regions, run.loaded.name), tmp / "frontier")
        write_json(market_frontier_summary(run), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force, inputs=run.loaded.input_paths)
