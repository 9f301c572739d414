"""The price-of-independence figure: premium against dependence, and the marginal cost per point."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

COLOURS = {"all": "#222222", "li": "#1f77b4", "ni": "#2ca02c", "co": "#9467bd", "ga": "#d62728", "ge": "#ff7f0e"}


def _usd(value: float, _pos: object = None) -> str:
    a = abs(value)
    if a >= 1e9:
        return f"{value / 1e9:,.1f} bn"
    if a >= 1e6:
        return f"{value / 1e6:,.0f} m"
    if a >= 1e3:
        return f"{value / 1e3:,.0f} k"
    return f"{value:,.0f}"


def frontier_figure(table: pd.DataFrame, names: dict[str, str], scenario: str) -> plt.Figure:
    """Two panels: premium over least cost (USD, PV) and marginal cost (USD per point) against dependence."""
    plt.rcParams["svg.hashsalt"] = "critmin"
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7.5), sharex=True, dpi=110,
                                      gridspec_kw={"height_ratios": [3, 2]})
    ok = table[table["status"] == "optimal"]
    for target, part in ok.groupby("target", sort=False):
        label = "all minerals (mean)" if target == "all" else names.get(target, target)
        colour = COLOURS.get(str(target))
        top.plot(part["dependence_pct"], part["premium_usd"], marker="o", color=colour, label=label)
        bottom.step(part["dependence_pct"], part["marginal_usd_per_pp"], where="post", marker=".", color=colour,
                    label=f"{label}: dual of the cap")
        if part["finite_difference_usd_per_pp"].notna().any():
            bottom.plot(part["dependence_pct"], part["finite_difference_usd_per_pp"], linestyle=":", color=colour,
                        label=f"{label}: between points")
    top.set_title(f"Price of independence from China, scenario '{scenario}'")
    top.set_ylabel("extra cost over the least-cost plan\n(USD, present value)")
    top.yaxis.set_major_formatter(FuncFormatter(_usd))
    top.legend(loc="upper right", fontsize=9)
    top.grid(alpha=0.3)
    bottom.set_ylabel("cost of the next\npercentage point (USD)")
    bottom.yaxis.set_major_formatter(FuncFormatter(_usd))
    bottom.set_xlabel("share of demand attributed to China (%), lower is more independent")
    bottom.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
    bottom.invert_xaxis()
    bottom.grid(alpha=0.3)
    bottom.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def save_frontier_figure(table: pd.DataFrame, names: dict[str, str], scenario: str, folder: Path) -> list[Path]:
    """Write frontier.png and frontier.svg (deterministic metadata)."""
    fig = frontier_figure(table, names, scenario)
    paths = [folder / "frontier.png", folder / "frontier.svg"]
    fig.savefig(paths[0], metadata={"Software": None})
    fig.savefig(paths[1], metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return paths
