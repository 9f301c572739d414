"""frontier.png and frontier.svg of a frontier folder: the same figure as the report's (one axis convention,
drawn in one place: :func:`engine.figures.plots.frontier_figure`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine.figures.labels import Names
from engine.figures.style import RC, png_bytes


def save_frontier_figure(table: pd.DataFrame, inputs: str | Path | None, scenario: str, folder: Path,
                         country: str = "CHN") -> list[Path]:
    """Write frontier.png and frontier.svg (deterministic: no dates, a fixed SVG hash salt)."""
    import matplotlib.pyplot as plt

    from engine.figures.plots import frontier_figure

    fig = frontier_figure(table, Names(inputs), country, scenario=scenario)
    paths = [folder / "frontier.png", folder / "frontier.svg"]
    if fig is None:
        return []
    paths[0].write_bytes(png_bytes(fig))
    with plt.rc_context(RC):
        fig.savefig(paths[1], format="svg", metadata={"Date": None, "Creator": None})
    return paths
