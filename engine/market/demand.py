"""Piecewise-linear inverse demand: the step rule.

A region's demand for a mineral in a year has reference quantity Q0, reference price P0 and elasticity ε ≤ 0:
Q(P) = Q0·(P/P0)^ε, so P(Q) = P0·(Q/Q0)^(1/ε). It is sampled at the price points

    π_j = P0 · 10^((6 − j)/6),  j = 0 … 10        (10·P0 down to P0 in six equal ratios, then four more below)

and written as steps k = 0 … 10:

    step 0:  Δ_0 = Q(π_0) = Q0·10^ε       at willingness to pay p_0 = π_0 = 10·P0 (the value of unmet demand,
                                          ``UNMET_DEMAND_PRICE_MULTIPLE`` × the reference price)
    step k:  Δ_k = Q(π_k) − Q(π_{k−1})     at willingness to pay p_k = π_k

so the curve passes through (Q0, P0) at the end of step 6, and each step's tonnes are worth at least the lower price
of its interval. With ε = 0 there is one step, Q0 tonnes at 10·P0: today's demand with unmet demand at its value.
Steps of zero width are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.demand import UNMET_DEMAND_PRICE_MULTIPLE

STEPS_ABOVE = 6  # ratios between 10·P0 and P0
STEPS_BELOW = 4  # ratios below P0 (down to P0·10^(-4/6) ≈ 0.215·P0)


def price_points() -> np.ndarray:
    """π_j / P0, j = 0 … STEPS_ABOVE + STEPS_BELOW."""
    j = np.arange(STEPS_ABOVE + STEPS_BELOW + 1, dtype=float)
    return float(UNMET_DEMAND_PRICE_MULTIPLE) ** ((STEPS_ABOVE - j) / STEPS_ABOVE)


def demand_steps(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per demand step of each curve (``region, mineral, year, quantity_t, price_usd_per_t,
    elasticity``): the curve's columns, ``step`` k, ``width_t`` Δ_k and ``wtp_usd_per_t`` p_k."""
    ratio = price_points()
    q0 = curves["quantity_t"].to_numpy(dtype=float)[:, None]
    p0 = curves["price_usd_per_t"].to_numpy(dtype=float)[:, None]
    eps = curves["elasticity"].to_numpy(dtype=float)[:, None]
    at = q0 * ratio[None, :] ** eps  # Q(π_j)
    width = np.diff(at, axis=1, prepend=0.0)
    width[:, 1:] = np.where(eps == 0.0, 0.0, width[:, 1:])  # inelastic: the first step only (no round-off)
    wtp = p0 * ratio[None, :]
    n, k = width.shape
    keep = (width > 0.0).ravel()
    rows = np.repeat(np.arange(n), k)[keep]
    out = curves.iloc[rows][["region", "mineral", "year"]].reset_index(drop=True)
    out["step"] = np.tile(np.arange(k), n)[keep]
    out["width_t"] = width.ravel()[keep]
    out["wtp_usd_per_t"] = wtp.ravel()[keep]
    return out
