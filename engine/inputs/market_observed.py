"""The market backcast's observations: observed prices and a region's use of its own refined output.

Two optional tables beside the market tables (``<inputs>/market/``), read only by the market backcast and
calibration (never by the equilibrium itself, so they change no model):

- ``observed_prices.csv`` (key mineral, region, year, series): ``low_usd_per_t`` ≤ ``high_usd_per_t`` (an annual
  average has low = high; a range within the year its two ends), in real USD of the price's year per the
  mineral's unit in ``minerals.csv``; ``measure`` (annual average, or range within the year), ``price`` (what is
  priced), provenance per figure. ``region`` is the market region the price is paid in: USGS salient statistics are
  the United States' (USA), spot prices in China are CHN's.
- ``observed_own_use.csv`` (key region, mineral, period): ``share_kept``, the share of the region's refined output
  used in the region (1 − exports / output), ``bound`` (``point``, ``upper`` where exports are undercounted so the
  share kept is at most this, ``lower``, or ``approximate``), ``basis`` (the arithmetic), provenance.

Both carry ``source`` (the documents, with their table or page) like the dataset's tables; ``critmin data --build``
does not make them (they are plain CSVs like ``regions.csv``), and ``load_observations`` checks their columns,
ranges, keys, minerals and regions with one ``InputError`` naming file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.inputs.dataset import Dataset, _read_table
from engine.inputs.market_tables import MarketData
from engine.inputs.tables import PROVENANCE, Column, Problems, TableSchema

BOUNDS = ("point", "upper", "lower", "approximate")

OBSERVED_PRICES = TableSchema(
    "observed_prices",
    "Observed prices per mineral, market region and year (the market backcast).",
    key=("mineral", "region", "year", "series"),
    columns=(
        Column("mineral", "str", "mineral"),
        Column("region", "str", "market region the price is paid in (regions.csv)"),
        Column("year", "int", "year observed", minimum=1990, maximum=2100),
        Column("series", "str", "short name of the price series, e.g. usgs-salient, lme-cash, china-spot"),
        Column("low_usd_per_t", "float", "lowest observed price (an annual average: the average)", "USD/t",
               minimum=0.0, maximum=1e9, minimum_excluded=True),
        Column("high_usd_per_t", "float", "highest observed price (an annual average: the average)", "USD/t",
               minimum=0.0, maximum=1e9, minimum_excluded=True),
        Column("measure", "str", "what the two figures are", choices=("annual average", "range within the year")),
        Column("price", "str", "what is priced (product, market, as the source names it)"),
        *PROVENANCE,
    ),
    optional=True,
    figures=("low_usd_per_t", "high_usd_per_t"),
)

OBSERVED_OWN_USE = TableSchema(
    "observed_own_use",
    "Observed share of a region's refined output used in the region (the market backcast).",
    key=("region", "mineral", "period"),
    columns=(
        Column("region", "str", "market region (regions.csv)"),
        Column("mineral", "str", "mineral"),
        Column("period", "str", "years the figures cover, e.g. 2022 or 2022-2023"),
        Column("share_kept", "float", "share of the region's refined output used in the region", "share",
               minimum=0.0, maximum=1.0),
        Column("bound", "str", "how the share is known", choices=BOUNDS),
        Column("basis", "str", "the arithmetic and its caveats"),
        *PROVENANCE,
    ),
    optional=True,
    figures=("share_kept",),
)

OBSERVATION_TABLES: tuple[TableSchema, ...] = (OBSERVED_PRICES, OBSERVED_OWN_USE)


@dataclass(frozen=True)
class MarketObservations:
    """The checked observation tables (empty frames with their columns where a file is absent), sorted by key."""

    prices: pd.DataFrame
    own_use: pd.DataFrame


def load_observations(dataset: Dataset, market: MarketData) -> MarketObservations:
    """Read and check ``observed_prices.csv`` and ``observed_own_use.csv`` in the market folder (``market.folder``);
    each may be absent."""
    problems = Problems()
    frames: dict[str, pd.DataFrame] = {}
    minerals = set(dataset.minerals["mineral"])
    regions = set(market.regions["region"])
    for schema in OBSERVATION_TABLES:
        path = market.folder / schema.filename
        read = _read_table(schema, path, problems)
        if read is None:
            frames[schema.name] = pd.DataFrame({c.name: pd.Series(dtype=object) for c in schema.columns})
            continue
        frame, lines = read
        for i in frame.index[~frame["mineral"].isin(minerals)]:
            problems.add(f"{path}, line {lines[i]}, column mineral: unknown mineral '{frame['mineral'][i]}'; "
                         f"expected one listed in minerals.csv")
        for i in frame.index[~frame["region"].isin(regions)]:
            problems.add(f"{path}, line {lines[i]}, column region: unknown region '{frame['region'][i]}'; expected "
                         f"one listed in regions.csv")
        if schema is OBSERVED_PRICES:
            for i in frame.index[frame["low_usd_per_t"] > frame["high_usd_per_t"]]:
                problems.add(f"{path}, line {lines[i]}, column low_usd_per_t: {frame['low_usd_per_t'][i]:g} is above "
                             f"high_usd_per_t {frame['high_usd_per_t'][i]:g}; expected low <= high")
        frames[schema.name] = frame.sort_values(list(schema.key), kind="stable").reset_index(drop=True)
    problems.raise_if_any(f"The market observations in {market.folder} have problems:")
    return MarketObservations(prices=frames["observed_prices"], own_use=frames["observed_own_use"])


__all__ = ["OBSERVATION_TABLES", "OBSERVED_OWN_USE", "OBSERVED_PRICES", "MarketObservations", "load_observations"]
