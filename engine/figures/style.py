"""The look of every figure: the deterministic matplotlib set-up, colours per country and mode, tick formats, and
saving figures as PNG bytes that are the same on every run."""

from __future__ import annotations

import functools
import io
import itertools
import zlib
from collections.abc import Callable
from typing import ParamSpec

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter

P = ParamSpec("P")

DPI = 110
RC = {
    "svg.hashsalt": "critmin",
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "figure.titlesize": 12.5,
    "figure.titleweight": "bold",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "path.simplify": False,
}

CHINA_RED = "#d62728"
UNMET = "#ffffff"
OTHERS = "#d9d9d9"
# Fixed colours for the countries in the shipped dataset (China always red; no other country is red).
COUNTRY_COLOURS = {
    "CHN": CHINA_RED, "USA": "#1f4e9c", "CAN": "#6baed6", "AUS": "#ff7f0e", "JPN": "#e377c2", "KOR": "#c5b0d5",
    "IDN": "#8c564b", "RUS": "#4a4a4a", "ARG": "#bcbd22", "CHL": "#e6d96a", "COD": "#e7ba52", "ZMB": "#637939",
    "FIN": "#17becf", "NOR": "#9edae5", "BEL": "#2ca02c", "FRA": "#98df8a", "DEU": "#006d2c", "MDG": "#f7b6d2",
    "GRC": "#74c476", "PHL": "#a55194", "BRA": "#fdae6b", "IND": "#dea5c8", "KAZ": "#ce6dbd", "MEX": "#9c9ede",
    "GBR": "#5254a3", "ZWE": "#b5cf6b", "NCL": "#31a354", "CUB": "#c49c94", "ROW": "#a6a6a6",
}
_SPARE = ["#8c6d31", "#6b6ecf", "#17a589", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#59a14f", "#4e79a7",
          "#bab0ac"]
MODE_COLOURS = {"licensing": "#2a9d8f", "minority": "#8ab17d", "parity": "#e9c46a", "majority": "#f4a261",
                "domestic": "#1f4e9c"}
COMPONENT_COLOURS = {"purchase": "#4e79a7", "tariff": "#9c755f", "feoc_credit_loss": "#b07aa1",
                     "jv_capex": "#f28e2b", "jv_opex": "#edc948", "jv_royalty": "#76b7b2"}
OPTIMISED = "#1f4e9c"
LEAST_COST = "#7f7f7f"


def country_colour(code: str) -> str:
    """The same colour for a country in every figure and every report."""
    if code in COUNTRY_COLOURS:
        return COUNTRY_COLOURS[code]
    return _SPARE[zlib.crc32(code.encode()) % len(_SPARE)]


def styled(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    """Draw a figure with the report's rc settings in force (they apply when artists are made)."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with plt.rc_context(RC):
            return draw(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout, so titles, labels and legends never overlap."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, byte-identical on every run (no software or date stamp)."""
    buffer = io.BytesIO()
    with plt.rc_context(RC):
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- number formats
def number(value: float, decimals: int = 0) -> str:
    """1234567 -> '1,234,567'."""
    return f"{value:,.{decimals}f}"


def tonnes_formatter() -> Formatter:
    """Tick labels in tonnes with thousands separators; decimals only where the ticks need them (gallium)."""
    return _step_formatter(1.0)


def percent_formatter() -> Formatter:
    """Tick labels of percentages: 25%, 2.5%."""
    return _step_formatter(1.0, "%")


def usd_scale(top: float) -> tuple[float, str]:
    """A divisor and its word for an axis of USD values: (1e9, 'bn'), (1e6, 'm'), (1e3, 'thousand') or (1, '')."""
    top = abs(top)
    for divisor, word in ((1e9, "bn"), (1e6, "m"), (1e3, "thousand")):
        if top >= divisor:
            return divisor, word
    return 1.0, ""


def usd_formatter(divisor: float = 1.0) -> Formatter:
    """Tick labels of values divided by ``divisor``, with thousands separators and as many decimals as the tick
    spacing needs (0.25, 0.5, 0.75 rather than 0, 0, 1)."""
    return _step_formatter(divisor)


def decimals_for(step: float) -> int:
    """The fewest decimals that show a tick step exactly: 50 -> 0, 0.5 -> 1, 0.25 -> 2."""
    for decimals in range(5):
        if abs(round(step, decimals) - step) <= 1e-9 * max(1.0, abs(step)):
            return decimals
    return 4


class StepFormatter(Formatter):
    """Tick labels of values divided by ``divisor`` with thousands separators, and as many decimals as the
    spacing of the ticks being labelled needs (0.25, 0.5, 0.75 rather than 0, 0, 1)."""

    def __init__(self, divisor: float = 1.0, suffix: str = "") -> None:
        self.divisor, self.suffix, self.decimals = divisor, suffix, 0

    def format_ticks(self, values: list[float]) -> list[str]:
        steps = [abs(b - a) / self.divisor for a, b in itertools.pairwise(values) if b != a]
        self.decimals = decimals_for(min(steps)) if steps else 0
        return [self(v, i) for i, v in enumerate(values)]

    def __call__(self, x: float, pos: int | None = None) -> str:
        return number(x / self.divisor + 0.0, self.decimals) + self.suffix


def _step_formatter(divisor: float, suffix: str = "") -> StepFormatter:
    return StepFormatter(divisor, suffix)
