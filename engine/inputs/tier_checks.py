"""Rules across the rows of the tier tables (mines, mine_ownership, observed_feed), checked at load.

Each rule adds one problem per offending row, naming the file, the line and the column, the bad value and what was
expected, as the other tables' rules do (``dataset._check_rules``). The tables are optional; an absent one is empty
and breaks no rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from engine.inputs.tables import Problems

SHARE_TOLERANCE = 1e-5  # shares are written to 6 decimals: a group of them may sum a few 1e-6 above 1


def check_tier_tables(tables: dict[str, pd.DataFrame], folder: Path, problems: Problems,
                      line_map: dict[str, Sequence[int]]) -> None:
    """Add the tier tables' problems to ``problems`` (``line_map``: each table's file line by row)."""
    mines = tables.get("mines")
    if mines is not None and len(mines):
        _check_mines(mines, folder / "mines.csv", problems, line_map["mines"])
    owners = tables.get("mine_ownership")
    if owners is not None and len(owners):
        _check_sums(owners, ["mine_id"], "equity_share", folder / "mine_ownership.csv", problems,
                    line_map["mine_ownership"], "equity shares of mine")
    feed = tables.get("observed_feed")
    if feed is not None and len(feed):
        _check_sums(feed, ["importer", "mineral", "form", "period"], "share", folder / "observed_feed.csv", problems,
                    line_map["observed_feed"], "origin shares of")


def _check_mines(mines: pd.DataFrame, where: Path, problems: Problems, lines: Sequence[int]) -> None:
    """Years in order; ``rest`` rows at ROW and only there; one commodity per mineral and year (shares are taken
    within it)."""
    first = mines["first_year"].astype("Float64")
    last = mines["last_year"].astype("Float64")
    ended = (last < first).fillna(False).to_numpy(dtype=bool)
    for i in mines.index[ended]:
        problems.add(f"{where}, line {lines[i]}, column last_year: {int(last[i])} is before first_year "
                     f"{int(first[i])}; expected last_year >= first_year")
    rest = (mines["kind"] == "rest").to_numpy(dtype=bool)
    at_row = (mines["location"] == "ROW").to_numpy(dtype=bool)
    for i in mines.index[rest & ~at_row]:
        problems.add(f"{where}, line {lines[i]}, column location: '{mines['location'][i]}' for a row of kind "
                     f"'rest'; expected ROW (every country the source does not name)")
    for i in mines.index[at_row & ~rest]:
        problems.add(f"{where}, line {lines[i]}, column kind: '{mines['kind'][i]}' at location ROW; expected "
                     f"'rest' (ROW is every country the source does not name)")
    groups = mines.groupby(["mineral", "year"], sort=False)
    first_row = groups["commodity"].transform(lambda c: c.index[0])  # the first row of each mineral and year
    first_commodity = mines["commodity"][first_row].to_numpy()
    for i in mines.index[mines["commodity"].to_numpy() != first_commodity]:
        problems.add(f"{where}, line {lines[i]}, column commodity: '{mines['commodity'][i]}' differs from "
                     f"'{first_commodity[i]}' on line {lines[first_row[i]]} for mineral {mines['mineral'][i]} in "
                     f"{mines['year'][i]}; expected one commodity per mineral and year")


def _check_sums(frame: pd.DataFrame, group: list[str], column: str, where: Path, problems: Problems,
                lines: Sequence[int], what: str) -> None:
    """Per group of ``group`` columns, ``column`` sums to at most 1 (reported on the group's first line)."""
    totals = frame.groupby(group, sort=True)[column].sum()
    for key, total in totals[totals > 1.0 + SHARE_TOLERANCE].items():
        keys = key if isinstance(key, tuple) else (key,)
        mask = pd.Series(True, index=frame.index)
        for name, value in zip(group, keys, strict=True):
            mask &= frame[name] == value
        first = frame.index[mask][0]
        label = ", ".join(str(k) for k in keys)
        problems.add(f"{where}, line {lines[first]}, column {column}: {what} '{label}' sum to {total:.4g}; "
                     f"expected at most 1")


__all__ = ["check_tier_tables"]
