"""The parametric frontier of the buyer region's goal θ and the budget rule (market mode, step 2).

Welfare per region r in present value (``welfare.py``, here vectorised for warm re-solves; a test holds the two
equal):

    W_r = Σ disc·(p_k − price)·q_k  +  Σ_s e(r, s) [Σ_r' disc·(price_r' − delivered − τ)·x[s, r'] − capex_s]
          +  Σ disc·(tariff + τ)·x[s, r]

τ the transfers on a flow (the goal's λ(a − θ) and the share rules' charges, ``rents.py``), capex_s a JV's
present-value capex (``jv.py``).

The cost of the goal is the fall in the buyer region's welfare against the uncapped equilibrium,
ΔW_buyer(θ) = W_buyer(uncapped) − W_buyer(θ). Its spend is S = Σ disc·price·q over its demand steps in the uncapped
equilibrium. **Budget rule**: a budget '+b%' allows ΔW ≤ b% × S (an absolute budget B: ΔW ≤ B). ΔW is neither
continuous nor monotone in θ (a large buyer's cap can lower the prices it pays), so the rule solves a grid

    θ_j = θ_max · j / (n − 1),  j = n − 1 … 0     θ_max: the uncapped equilibrium's largest share of supply

(warm re-solves of one HiGHS model, changing only the goal rows' coefficients a − θ and bounds) and picks the point
of lowest exposure (``goal.py``) with ΔW within the budget; ties go to the smaller ΔW, then the larger θ.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.inputs.market_tables import MarketData
from engine.market.build import MarketLP
from engine.market.goal import buyer_measures, point_exposure, point_share
from engine.market.rents import flow_transfers
from engine.market.solve import MarketSolution, MarketSolver
from engine.market.welfare import plant_equity

BUDGET_TOLERANCE = 1e-9  # relative to the spend: a point this close above the budget is within it


class WelfareAccount:
    """Present-value welfare per region of any point of ``lp`` (the module docstring's W_r), from arrays made
    once."""

    def __init__(self, lp: MarketLP, market: MarketData, ownership: pd.DataFrame) -> None:
        self.lp = lp
        self.regions = sorted(lp.balances["region"].unique())
        code = {r: i for i, r in enumerate(self.regions)}
        self.row_s, self.row_f = lp.step_row, lp.flow_row
        disc = lp.balances["discount"].to_numpy(dtype=float)
        self.disc_s, self.disc_f = disc[self.row_s], disc[self.row_f]
        self.region_s = lp.steps["region"].map(code).to_numpy(dtype=np.int64)
        self.region_f = lp.flows["region"].map(code).to_numpy(dtype=np.int64)
        self.wtp = lp.steps["wtp_usd_per_t"].to_numpy(dtype=float)
        self.delivered = lp.flows["delivered_cost_usd_per_t"].to_numpy(dtype=float)
        self.tariff = lp.flows["tariff_usd_per_t"].to_numpy(dtype=float)
        equity = plant_equity(lp, market, ownership)
        equity = equity[equity["owner_region"].isin(list(code))]  # owners home to no region count for none
        ids = pd.Index(lp.plants["source_id"].drop_duplicates())
        share = sp.csr_matrix((equity["equity_share"].to_numpy(dtype=float),
                               (ids.get_indexer(equity["source_id"]),
                                pd.Series(equity["owner_region"]).map(code).to_numpy(dtype=np.int64))),
                              shape=(len(ids), len(self.regions)))
        self.owner_share = share[ids.get_indexer(lp.flows["source_id"])].tocsc()  # flows × regions: e(r, s)
        builds = lp.jv.builds if lp.jv is not None else pd.DataFrame(columns=["option_id", "annuity_usd"])
        self.build_owner_share = share[ids.get_indexer(builds["option_id"])].tocsc()  # builds × regions
        self.annuity = builds["annuity_usd"].to_numpy(dtype=float)  # PV capex per t/yr built
        buyer = lp.buyer_region
        self.buyer = code[buyer]

    def by_region(self, sol: MarketSolution) -> pd.DataFrame:
        """Per region: consumer, producer and government parts and the total, present value (USD)."""
        n = len(self.regions)
        cert = flow_transfers(self.lp, sol)
        cs = np.bincount(self.region_s, self.disc_s * (self.wtp - sol.price[self.row_s]) * sol.q, minlength=n)
        margin = self.disc_f * (sol.price[self.row_f] - self.delivered - cert) * sol.x
        ps = self.owner_share.T @ margin - self.build_owner_share.T @ (self.annuity * sol.build)
        gr = np.bincount(self.region_f, self.disc_f * (self.tariff + cert) * sol.x, minlength=n)
        return pd.DataFrame({"region": self.regions, "consumer_surplus_pv_usd": cs, "producer_surplus_pv_usd": ps,
                             "government_revenue_pv_usd": gr, "welfare_pv_usd": cs + ps + gr})

    def spend_pv(self, sol: MarketSolution) -> float:
        """What the buyer region pays for what it consumes: Σ disc·price·q (present value, USD)."""
        mine = self.region_s == self.buyer
        return float((self.disc_s * sol.price[self.row_s] * sol.q)[mine].sum())


@dataclass
class Frontier:
    """The frontier's points, the one the budget rule chose, and how fast it ran."""

    points: pd.DataFrame
    chosen: int | None  # row of ``points`` (None: no point within the budget)
    budget_usd: float
    spend_pv_usd: float
    seconds: float

    @property
    def points_per_second(self) -> float:
        return len(self.points) / self.seconds if self.seconds > 0 else float("inf")


def theta_grid(theta_max: float, points: int) -> np.ndarray:
    """θ_j = θ_max · j / (points − 1), from θ_max down to 0, rounded to 1e-9."""
    if theta_max <= 0.0:
        return np.array([0.0])
    return np.round(theta_max * np.arange(points - 1, -1, -1) / (points - 1), 9)


def choose(points: pd.DataFrame, budget_usd: float, spend_pv_usd: float) -> int | None:
    """The budget rule: the lowest exposure whose welfare loss is within the budget; ties to the smaller loss,
    then the larger θ."""
    ok = points["welfare_loss_pv_usd"] <= budget_usd + BUDGET_TOLERANCE * max(spend_pv_usd, 1.0)
    if not ok.any():
        return None
    within = points[ok].assign(neg_theta=-points["theta"])
    best = within.sort_values(["exposure_pct", "welfare_loss_pv_usd", "neg_theta"], kind="stable")
    return int(best.index[0])


def run_frontier(solver: MarketSolver, account: WelfareAccount, base: MarketSolution, *, points: int,
                 budget_premium: float | None, budget_absolute_usd: float | None,
                 thetas: np.ndarray | None = None,
                 on_point: Callable[[float, MarketSolution], None] | None = None) -> Frontier:
    """Solve the grid of θ warm on ``solver`` (its model holds free goal rows), from the uncapped ``base``.
    ``thetas``: the values of θ to solve instead of the grid (``critmin frontier --caps``); ``on_point`` is called
    with each θ and its solution (``critmin frontier`` keeps their prices and certificate prices)."""
    lp = solver.lp
    base_measures = buyer_measures(lp, base)
    theta_max = float(np.nanmax(base_measures["share_of_supply_pct"].to_numpy(dtype=float), initial=0.0)) / 100.0
    base_welfare = account.by_region(base).set_index("region")["welfare_pv_usd"]
    spend = account.spend_pv(base)
    budget = budget_absolute_usd if budget_absolute_usd is not None else float(budget_premium or 0.0) * spend
    buyer = lp.buyer_region
    others = [r for r in account.regions if r != buyer]
    rows = []
    start = time.perf_counter()
    for theta in theta_grid(theta_max, points) if thetas is None else thetas:
        solver.set_theta(float(theta))
        sol = solver.solve()
        if on_point is not None:
            on_point(float(theta), sol)
        welfare = account.by_region(sol).set_index("region")["welfare_pv_usd"]
        measures = buyer_measures(lp, sol)
        share_mean, share_max = point_share(measures)
        change = welfare - base_welfare
        binding = sol.certificate > 1e-9
        row = {"theta": float(theta), "exposure_pct": point_exposure(measures),
               "share_of_supply_mean_pct": share_mean, "share_of_supply_max_pct": share_max,
               f"welfare_change_{buyer}_pv_usd": float(change[buyer]),
               "welfare_loss_pv_usd": float(-change[buyer]),
               "loss_pct_of_spend": float(-change[buyer] / spend * 100.0) if spend > 0 else 0.0,
               "certificate_max_usd_per_t": float(sol.certificate.max(initial=0.0)),
               "binding_mineral_years": int(binding.sum())}
        for r in others:
            row[f"welfare_change_{r}_pv_usd"] = float(change[r])
        rows.append(row)
    seconds = time.perf_counter() - start
    table = pd.DataFrame(rows)
    numbers = [c for c in table.columns if c not in ("theta", "binding_mineral_years")]
    table[numbers] = table[numbers].round(6) + 0.0  # tidy, and no -0
    chosen = choose(table, budget, spend)
    table["within_budget"] = table["welfare_loss_pv_usd"] <= budget + BUDGET_TOLERANCE * max(spend, 1.0)
    table["chosen"] = False
    if chosen is not None:
        table.loc[chosen, "chosen"] = True
    solver.set_theta(None)
    return Frontier(points=table, chosen=chosen, budget_usd=budget, spend_pv_usd=spend, seconds=seconds)
