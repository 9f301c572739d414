"""The figures of market mode's analyses and report: the goal's frontier, the worst shocks, prices by year.

Drawn with the report's style (``engine.figures.style``: fixed rc settings, China red), saved deterministically
(PNG without a software stamp, SVG without a date and with a fixed hash salt).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.figures.style import CHINA_RED, RC, country_colour, new_figure, png_bytes, styled

TOP_SHOCKS = 15


def region_colour(region: str) -> str:
    """China red, the others in their country colour (the EU and the rest of the world in their own)."""
    return {"CHN": CHINA_RED, "EU": "#2ca02c", "ROW": "#a6a6a6"}.get(region, country_colour(region))


def save_figure(fig: Figure | None, stem: Path) -> list[Path]:
    """``stem``.png and ``stem``.svg (nothing when there is no figure)."""
    if fig is None:
        return []
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    png.write_bytes(png_bytes(fig))
    with plt.rc_context(RC):
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return [png, svg]


@styled
def frontier_figure(table: pd.DataFrame, buyer: str, regions: list[str], scenario: str = "") -> Figure | None:
    """Left: the buyer's welfare change against its exposure, one point per θ (the chosen one starred). Right:
    every region's price change against θ."""
    if table is None or table.empty:
        return None
    fig = new_figure(11.0, 4.2)
    left, right = fig.subplots(1, 2)
    x = table["exposure_pct"].to_numpy(dtype=float)
    y = table[f"welfare_change_{buyer}_pv_usd"].to_numpy(dtype=float) / 1e6
    left.plot(x, y, marker="o", color=region_colour(buyer), lw=1.2, ms=4)
    chosen = table["chosen"].fillna(False).to_numpy(dtype=bool) if "chosen" in table else np.zeros(len(x), bool)
    if chosen.any():
        left.plot(x[chosen], y[chosen], marker="*", ms=14, color="black", ls="none", label="chosen by the budget")
        left.legend(loc="best")
    for xi, yi, theta in zip(x[:: max(1, len(x) // 6)], y[:: max(1, len(x) // 6)],
                             table["theta"].to_numpy()[:: max(1, len(x) // 6)], strict=True):
        left.annotate(f"θ {theta:.2f}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7.5)
    left.axhline(0.0, color="#888888", lw=0.8)
    left.set_xlabel(f"{buyer} exposure to China (% of reference demand)")
    left.set_ylabel(f"{buyer} welfare change (USD m, present value)")
    left.set_title(f"What the goal costs {buyer}")
    left.invert_xaxis()
    theta = table["theta"].to_numpy(dtype=float)
    for r in regions:
        column = f"price_change_{r}_pct"
        if column in table:
            right.plot(theta, table[column].to_numpy(dtype=float), label=r, color=region_colour(r),
                       lw=2.0 if r in (buyer, "CHN") else 1.2)
    right.axhline(0.0, color="#888888", lw=0.8)
    right.set_xlabel(f"theta: cap on {buyer}'s China share of supply")
    right.set_ylabel("price change against uncapped (%)")
    right.set_title("Prices by region")
    right.invert_xaxis()
    right.legend(loc="best", ncol=2)
    if scenario:
        fig.suptitle(f"Frontier of the goal: {scenario}")
    return fig


@styled
def stress_figure(table: pd.DataFrame, buyer: str, label: Callable[[dict], str], scenario: str = "") -> Figure | None:
    """The worst shocks for the buyer: its welfare change (left) and its price change in the shocked minerals
    (right)."""
    if table is None or table.empty:
        return None
    top = table.head(TOP_SHOCKS).iloc[::-1]
    names = [label(r) for r in top.to_dict("records")]
    fig = new_figure(11.0, 0.35 * len(top) + 1.6)
    left, right = fig.subplots(1, 2, sharey=True)
    ys = np.arange(len(top))
    welfare = top[f"welfare_change_{buyer}_pv_usd"].to_numpy(dtype=float)
    scale, unit = (1e9, "bn") if np.abs(welfare).max(initial=0.0) >= 1e10 else (1e6, "m")
    welfare = welfare / scale
    left.barh(ys, welfare, color=[CHINA_RED if v < 0 else "#2ca02c" for v in welfare])
    left.set_yticks(ys, names)
    left.axvline(0.0, color="#888888", lw=0.8)
    left.set_xlabel(f"{buyer} welfare change (USD {unit}, present value)")
    right.barh(ys, top[f"price_change_{buyer}_pct"].to_numpy(dtype=float), color=region_colour(buyer))
    right.axvline(0.0, color="#888888", lw=0.8)
    right.set_xlabel(f"{buyer} price change, shocked minerals (%)")
    for ax in (left, right):
        ax.grid(axis="x", color="#dddddd", lw=0.6)
    if scenario:
        fig.suptitle(f"Worst shocks for {buyer}: {scenario}")
    return fig


@styled
def prices_figure(prices: pd.DataFrame, minerals: list[str], mineral_name: Callable[[str], str],
                  buyer: str) -> Figure | None:
    """Each mineral's price by year, a line per region (USD/t in each year's money)."""
    if prices is None or prices.empty:
        return None
    n = len(minerals)
    fig = new_figure(min(3.2 * n, 16.0), 3.4)
    axes = np.atleast_1d(fig.subplots(1, n))
    for ax, m in zip(axes, minerals, strict=True):
        mine = prices[prices["mineral"] == m]
        for r, g in mine.groupby("region", sort=True):
            ax.plot(g["year"], g["price_usd_per_t"], label=r, color=region_colour(str(r)),
                    lw=2.0 if r in (buyer, "CHN") else 1.1)
        ax.set_title(mineral_name(m))
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v / 1e3:,.0f}k" if abs(v) >= 1e3 else f"{v:,.0f}")
    axes[0].set_ylabel("USD/t, each year's money")
    axes[-1].legend(loc="best", fontsize=7.5)
    return fig
