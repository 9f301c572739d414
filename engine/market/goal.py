"""The buyer region's goal in the market (step 2): its measures and the certificate price.

The goal rows (``build.py``) cap the buyer region's China share of supply in each mineral m and year y:

    Σ_s (a_s − θ) · x[s, buyer, y] ≤ 0        ⇔   attributed / supplied ≤ θ

where a_s ∈ [0, 1] is plant s's attribution (``dependence.basis``), attributed = Σ a·x and supplied = Σ x over
the buyer region's deliveries of m in y. The row's dual, undiscounted to year y's money, is the **certificate
price** λ[m, y] ≥ 0 (USD per tonne of attribution above θ): the goal acts like a portfolio standard that charges

    certificate[s] = λ[m, y] · (a_s − θ)       per tonne delivered to the buyer region

— a charge of λ(1 − θ) on a fully China-attributed tonne and a credit of λθ on a tonne with a = 0. Complementary
slackness prices every positive buyer flow below its bound at its delivered cost + its plant's rent + its
certificate: price[buyer, m, y] = c_s + t(s→buyer) + tariff + rent_s + λ(a_s − θ). When the cap binds the charges
equal the credits (Σ (a − θ)·x = 0), so the certificates' net revenue is 0: a transfer from attributed supply to the
rest, which the welfare accounting (``welfare.py``) keeps as the buyer's government revenue (0 net) and takes out
of each plant's margin. When the cap is slack λ = 0.

Measures of the buyer region per mineral-year (as the single-buyer model defines them, ``dependence.py``, with the
reference quantity Q0 of ``demand.csv`` as its demand):

    share of supply   100 × attributed / supplied          (undefined where nothing is supplied)
    exposure          100 × (attributed + max(0, Q0 − supplied)) / max(Q0, supplied)

The denominator is Q0 unless the region consumes more than Q0 (prices below P0), so exposure never exceeds 100%.
A point's exposure is the mean of its mineral-years' exposures (the single-buyer ``mean`` aggregate, each
mineral-year alike): tonnes the buyer stops consuming count as exposed, so a cap cannot look better by buying less.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.market.build import MarketLP
from engine.market.demand import STEPS_ABOVE
from engine.market.solve import MarketSolution


def flow_certificate(lp: MarketLP, sol: MarketSolution) -> np.ndarray:
    """USD/t in each year's money on every flow: λ[m, y]·(a − θ) on the buyer region's flows, 0 elsewhere."""
    out = np.zeros(lp.n_flows)
    if sol.theta is None or not len(lp.goals):
        return out
    a = lp.flows["attribution"].to_numpy(dtype=float)[lp.goal_col]
    out[lp.goal_col] = sol.certificate[lp.goal_row] * (a - sol.theta)
    return out


def buyer_measures(lp: MarketLP, sol: MarketSolution) -> pd.DataFrame:
    """Per mineral-year of the buyer region: attributed_t, supplied_t, reference_t (Q0), share_of_supply_pct,
    exposure_pct (module docstring)."""
    f = lp.flows
    buyer = (f["region"] == lp.buyer_region).to_numpy()
    frame = pd.DataFrame({"mineral": f["mineral"].to_numpy()[buyer], "year": f["year"].to_numpy()[buyer],
                          "attributed_t": (f["attribution"].to_numpy(dtype=float) * sol.x)[buyer],
                          "supplied_t": sol.x[buyer]})
    out = frame.groupby(["mineral", "year"], as_index=False, sort=True)[["attributed_t", "supplied_t"]].sum()
    out = out.merge(reference_quantity(lp), on=["mineral", "year"], how="left")
    supplied = out["supplied_t"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_of_supply_pct"] = np.where(supplied > 1e-9, 100.0 * out["attributed_t"] / supplied, np.nan)
        q0 = out["reference_t"].to_numpy()
        unmet = np.maximum(0.0, q0 - supplied)
        whole = np.maximum(q0, supplied)
        out["exposure_pct"] = np.where(whole > 0, 100.0 * (out["attributed_t"] + unmet) / whole, np.nan)
    return out


def reference_quantity(lp: MarketLP) -> pd.DataFrame:
    """Q0 of the buyer region per mineral-year: the tonnes its demand curve holds at willingness to pay ≥ P0 (steps
    0 … 6, ``demand.py``)."""
    s = lp.steps
    mine = s[(s["region"] == lp.buyer_region) & (s["step"] <= STEPS_ABOVE)]
    out = mine.groupby(["mineral", "year"], as_index=False, sort=True)["width_t"].sum()
    return out.rename(columns={"width_t": "reference_t"})


def certificate_table(lp: MarketLP, sol: MarketSolution, uncapped: pd.DataFrame | None = None) -> pd.DataFrame:
    """``certificates.csv``: per mineral-year of the buyer region, θ, λ (USD/t, year's money), the charge on a fully
    attributed tonne λ(1 − θ), the credit on an unattributed tonne λθ, whether the cap binds, the certificates'
    net revenue Σ λ(a − θ)·x, and the measures with the goal (and without it, from ``uncapped``)."""
    m = buyer_measures(lp, sol)
    key = pd.MultiIndex.from_frame(lp.goals[["mineral", "year"]])
    lam = sol.certificate[key.get_indexer(pd.MultiIndex.from_frame(m[["mineral", "year"]]))]
    theta = float(sol.theta) if sol.theta is not None else np.nan
    cert = flow_certificate(lp, sol)
    f = lp.flows
    net = pd.DataFrame({"mineral": f["mineral"], "year": f["year"], "net": cert * sol.x}).groupby(
        ["mineral", "year"], sort=True)["net"].sum()
    out = pd.DataFrame({"mineral": m["mineral"], "year": m["year"], "theta": theta,
                        "certificate_price_usd_per_t": np.round(lam, 6) + 0.0,
                        "charge_attributed_usd_per_t": np.round(lam * (1.0 - theta), 6) + 0.0,
                        "credit_unattributed_usd_per_t": np.round(lam * theta, 6) + 0.0,
                        "binding": lam > 1e-9,
                        "net_revenue_usd": net.reindex(pd.MultiIndex.from_frame(m[["mineral", "year"]])).to_numpy(),
                        "attributed_t": m["attributed_t"], "supplied_t": m["supplied_t"],
                        "share_of_supply_pct": m["share_of_supply_pct"], "exposure_pct": m["exposure_pct"]})
    if uncapped is not None:
        base = uncapped.set_index(["mineral", "year"])
        at = pd.MultiIndex.from_frame(m[["mineral", "year"]])
        out["share_of_supply_uncapped_pct"] = base["share_of_supply_pct"].reindex(at).to_numpy()
        out["exposure_uncapped_pct"] = base["exposure_pct"].reindex(at).to_numpy()
    return out


def point_exposure(measures: pd.DataFrame) -> float:
    """The mean of the mineral-years' exposures (percent)."""
    e = measures["exposure_pct"].dropna()
    return float(e.mean()) if len(e) else 0.0


def point_share(measures: pd.DataFrame) -> tuple[float, float]:
    """The mean and the largest share of supply over the mineral-years with supply (percent)."""
    s = measures["share_of_supply_pct"].dropna()
    return (float(s.mean()), float(s.max())) if len(s) else (0.0, 0.0)
