"""What the policy rows charge each flow, from their duals (USD/t in each year's money).

A policy or JV row i (``policies.py``, ``jv.py``) with shadow price μ_i ≥ 0 (minus its dual, undiscounted) and
coefficient A[i, f] on flow f adds μ_i · A[i, f] to what the flow must earn: complementary slackness prices every
positive flow below its bound at

    price[r, m, y] = delivered cost + rent of its plant + λ(a − θ) (the goal) + Σ_i μ_i · A[i, f]

- a **transfer** row (country cap, dependence cap, content rule) is a portfolio standard like the goal: a charge on
  the tonnes it holds back and a credit on the others, netting to zero when it binds; the welfare accounting counts
  it as the importing region's government revenue and takes it out of the sellers' margins (``flow_transfers``);
- a **quantity** row (export quota, offtake) is a scarcity rent that stays in the sellers' margins.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from engine.market.build import MarketLP
from engine.market.goal import flow_certificate
from engine.market.solve import MarketSolution

TIGHT_TOL = 1e-6  # t: a quantity row this close to its bound is tight


def _on_flows(lp: MarketLP, keep: np.ndarray | None = None) -> sp.csr_matrix:
    """The policy and JV rows' coefficients on the flow columns (rows × flows), optionally only rows ``keep``."""
    return lp.rows_on_flows if keep is None else lp.rows_on_flows[np.flatnonzero(keep)]


def flow_row_rents(lp: MarketLP, sol: MarketSolution, transfers_only: bool = False) -> np.ndarray:
    """Σ_i μ_i · A[i, f] per flow f over the policy and JV rows (only the transfer rows with ``transfers_only``)."""
    if not len(lp.rows):
        return np.zeros(lp.n_flows)
    shadow = sol.shadow * lp.rows["transfer"].to_numpy(dtype=bool) if transfers_only else sol.shadow
    return np.asarray(lp.rows_on_flows.T @ shadow, dtype=float)


def flow_transfers(lp: MarketLP, sol: MarketSolution) -> np.ndarray:
    """USD/t in each year's money on every flow that is a transfer to its region's government: the goal's
    certificate λ(a − θ) and the share rows' charges and credits."""
    return flow_certificate(lp, sol) + flow_row_rents(lp, sol, transfers_only=True)


def in_tight_row(lp: MarketLP, sol: MarketSolution) -> np.ndarray:
    """Flows in a quantity row (export quota, offtake) at its bound: none of them can deliver more."""
    out = np.zeros(lp.n_flows, dtype=bool)
    if not len(lp.rows):
        return out
    quantity = ~lp.rows["transfer"].to_numpy(dtype=bool)
    full = lp.matrix[lp.first_extra_row:].tocsr()
    values = np.concatenate([sol.x, sol.q, sol.build, sol.binaries])
    if full.shape[1] != len(values):
        return out
    upper = lp.row_upper[lp.first_extra_row:]
    tight = quantity & (full @ values >= upper - TIGHT_TOL)
    if tight.any():
        out[np.unique(_on_flows(lp, tight).indices)] = True
    return out
