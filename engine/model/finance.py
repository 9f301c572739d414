"""Capital recovery and discounting."""

from __future__ import annotations


def capital_recovery_factor(rate: float, years: int) -> float:
    """Annual payment per unit of capital repaid over ``years`` at ``rate``: r(1+r)^n / ((1+r)^n − 1).

    With a zero rate it is 1/n (straight-line repayment).
    """
    if years <= 0:
        raise ValueError("the asset life must be at least one year")
    if rate == 0:
        return 1.0 / years
    growth = (1.0 + rate) ** years
    return rate * growth / (growth - 1.0)
