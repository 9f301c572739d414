"""China's share of mine output by location and by equity, beside its share of refining: the seed's claim that China
"holds the refining but mines little", made testable (``critmin data --check``).

Per mineral, the rows of ``mines.csv`` of the mineral's latest year, with output o_m (in the row's commodity:
t LCE, t Ni, t Co, or the host ore of gallium and germanium: t bauxite, t Zn):

    location share = sum over rows located in China of o_m / sum of o_m
    equity share   = sum of o_m * e_m / sum of o_m

where e_m is China's equity in row m: its holdings in ``mine_ownership.csv`` (owner chains looked through in the
figures themselves), plus, for a row located in China, the remainder no listed owner holds (as ``ownership.csv``
completes a refinery's equity). The equity share is a lower bound (printed ``>=``) when output outside China sits in
rows whose owners are not traced (``country``, ``remainder`` or ``rest`` rows): Chinese holdings inside them are not
counted. The location share is unknown when China is not named and a ``rest`` row (every country the source does not
name) may hold it.

``sources/mine_checks.csv`` gives sourced figures to print beside them (mineral, basis ``location`` or ``equity``,
low, high, note); they are information, not a check that fails: the table's equity is a lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.errors import InputError
from engine.inputs.databuild import MINE_CHECKS_FILE, evaluate_cell, load_library, read_rows
from engine.inputs.ownership import equity_table
from engine.inputs.tables import MINE_COMMODITIES

UNTRACED = ("country", "remainder", "rest")
BASES = ("location", "equity")


@dataclass(frozen=True)
class SourcedShare:
    """A published share of one mineral's mine output held by China (``basis``: location or equity)."""

    basis: str
    low: float
    high: float
    note: str


@dataclass(frozen=True)
class MineShare:
    """China's share of one mineral's mine output in one year."""

    mineral: str
    year: int
    commodity: str
    output_t: float
    location: float | None  # None: China may be inside a 'rest' row
    equity: float
    equity_lower_bound: bool
    sourced: SourcedShare | None = None

    @property
    def unit(self) -> str:
        return MINE_COMMODITIES.get(self.commodity, "t")

    @property
    def sourced_gap_pp(self) -> float | None:
        """Distance in points from the share the sourced figure is of to the nearer end of its range."""
        if self.sourced is None:
            return None
        value = self.location if self.sourced.basis == "location" else self.equity
        if value is None:
            return None
        if self.sourced.low <= value <= self.sourced.high:
            return 0.0
        return 100 * min(abs(value - self.sourced.low), abs(value - self.sourced.high))


def mine_shares(dataset: object, country: str = "CHN") -> list[MineShare]:
    """Per mineral (sorted), ``country``'s shares of mine output in the mineral's latest year of ``mines.csv``."""
    mines: pd.DataFrame = dataset.tables["mines"]  # type: ignore[attr-defined]
    if mines.empty:
        return []
    latest = mines.groupby("mineral", sort=True)["year"].transform("max")
    rows = mines[mines["year"] == latest]
    owners: pd.DataFrame = dataset.tables["mine_ownership"]  # type: ignore[attr-defined]
    equity = equity_table(rows.rename(columns={"mine_id": "source_id"})[["source_id", "location"]].drop_duplicates(),
                          owners.rename(columns={"mine_id": "source_id"})[["source_id", "owner", "equity_share"]])
    held = equity[equity["owner"] == country].set_index("source_id")["equity_share"]
    out = []
    for mineral, group in rows.groupby("mineral", sort=True):
        total = float(group["output_t"].sum())
        here = group["location"] == country
        share_held = group["mine_id"].map(held).fillna(0.0)
        hidden = bool(((group["kind"] == "rest") & ~here.any()).any())
        untraced = bool((~here & group["kind"].isin(UNTRACED)).any())
        located = float(group.loc[here, "output_t"].sum()) / total if total else 0.0
        owned = float((group["output_t"] * share_held).sum()) / total if total else 0.0
        out.append(MineShare(str(mineral), int(group["year"].iloc[0]), str(group["commodity"].iloc[0]), total,
                             None if hidden else located, owned, untraced))
    return out


def sourced_mine_shares(folder: Path) -> dict[str, SourcedShare]:
    """The sourced shares of ``folder``'s ``mine_checks.csv`` by mineral (none without the file)."""
    path = folder / MINE_CHECKS_FILE
    if not path.exists():
        return {}
    library = load_library(folder)
    out: dict[str, SourcedShare] = {}
    for line, row in read_rows(path, ("mineral", "basis", "low", "high", "note")):
        where = f"{path}, line {line}"
        if row["basis"] not in BASES:
            raise InputError(f"{where}, column basis: '{row['basis']}' is not one of {', '.join(BASES)}")
        low = float(evaluate_cell(row["low"], library, f"{where}, column low").value)
        high = float(evaluate_cell(row["high"], library, f"{where}, column high").value)
        out[row["mineral"]] = SourcedShare(row["basis"], min(low, high), max(low, high), row["note"])
    return out


def mine_checks(dataset: object, folder: Path, country: str = "CHN") -> list[MineShare]:
    """``mine_shares`` with the sourced figures of ``folder`` attached where the mineral has one."""
    sourced = sourced_mine_shares(folder)
    return [MineShare(s.mineral, s.year, s.commodity, s.output_t, s.location, s.equity, s.equity_lower_bound,
                      sourced.get(s.mineral)) for s in mine_shares(dataset, country)]


def _percent(value: float | None, lower_bound: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{'>= ' if lower_bound else ''}{100 * value:.1f}%"


def mine_stage_lines(checks: list[MineShare], refining: dict[str, tuple[float, float]], mineral_name: object,
                     refining_year: int, order: list[str] | None = None) -> list[str]:
    """The printout of ``critmin data --check``'s mine stage: per mineral (in ``order`` where given, the others
    after), China's mine shares beside its refining shares (``refining``: mineral -> (location, ownership) of
    capacity active in ``refining_year``); ``mineral_name`` turns a code into words (``Names.mineral``)."""
    if not checks:
        return ["", "  Mine stage: no mines.csv in this dataset"]
    rank = {m: i for i, m in enumerate(order or [])}
    checks = sorted(checks, key=lambda c: (rank.get(c.mineral, len(rank)), c.mineral))
    counted = [f"{c.output_t:,.0f} {c.unit}{' (host ore)' if c.commodity in ('bauxite', 'zinc') else ''}"
               for c in checks]
    width = max(len("output counted"), *map(len, counted))
    lines = ["", f"  China's share of mine output (mines.csv, each mineral's latest year) beside its share of refining "
                 f"(capacity active in {refining_year})",
             f"  {'mineral':<10} {'year':>4}  {'output counted':<{width}}  {'mine':>8} {'mine':>11}   "
             f"{'refining':>8} {'refining':>9}   sourced share of mine output",
             f"  {'':<10} {'':>4}  {'':<{width}}  {'location':>8} {'equity':>11}   {'location':>8} {'ownership':>9}"]
    for c, text in zip(checks, counted, strict=True):
        loc, own = refining.get(c.mineral, (None, None))
        sourced = "-"
        if c.sourced is not None:
            span = (f"{100 * c.sourced.low:.1f}%" if c.sourced.low == c.sourced.high
                    else f"{100 * c.sourced.low:.1f}-{100 * c.sourced.high:.1f}%")
            gap = c.sourced_gap_pp
            sourced = (f"{c.sourced.basis} {span}, {c.sourced.note.split(':')[0]}"
                       + ("" if gap is None else f"; {gap:.1f} pp away"))
        lines.append(f"  {mineral_name(c.mineral):<10} {c.year:>4}  {text:<{width}}  "  # type: ignore[operator]
                     f"{_percent(c.location):>8} {_percent(c.equity, c.equity_lower_bound):>11}   "
                     f"{_percent(loc):>8} {_percent(own):>9}   {sourced}")
    lines.append("  (location: output mined in China; equity: Chinese holdings listed in mine_ownership.csv, owner "
                 "chains looked through, plus China's own mines; '>=' where output outside China is not split by "
                 "owner, so Chinese holdings in it are not counted; n/a: China is inside 'every other country'. "
                 "Gallium and germanium count their host ores, bauxite and zinc. The sourced share is information, "
                 "not a check)")
    return lines


__all__ = ["MineShare", "SourcedShare", "mine_checks", "mine_shares", "mine_stage_lines", "sourced_mine_shares"]
