"""The market tables (market mode, step 1): regions, regional demand curves and trade costs.

They live in ``<inputs>/market/`` and are read only when a scenario says ``market: equilibrium``: they are not
part of ``tables.TABLES``, so the dataset's hash, and everything today's model writes, ignore them.

- ``regions.csv`` (key region): name, ``countries`` (ISO3 codes separated by spaces; ``*`` in at most one region:
  every country no other region lists; without it, such a country's plants are home to no region). A plant is
  "home" to the region of its location country.
- ``regional_demand.csv`` (key region, mineral, year): ``quantity_t`` (reference quantity Q0, t/yr),
  ``price_usd_per_t`` (reference price P0, real USD of 2024), ``elasticity`` (ε ≤ 0, with ``elasticity_low`` ≤ ε ≤
  ``elasticity_high``), provenance per figure. The buyer region's quantities must equal ``demand.csv``.
- ``trade_costs.csv`` (key mineral): ``usd_per_t`` for a tonne moved between two different regions (0 within one).
- ``offtake.csv`` (key option_id; optional when no JV option is hosted outside the buyer's region):
  ``offtake_share``, the share of a JV option's capacity reserved for the buyer that funds it (``engine/market/jv.py``).

``build_market_tables`` makes ``regional_demand.csv`` and ``trade_costs.csv`` from the dataset and
``market/assumptions.csv`` (the rule is in its docstring); the test suite checks the shipped files are what it makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.inputs.dataset import Dataset, _read_table
from engine.inputs.tables import PROVENANCE, Column, Problems, TableSchema

MARKET_FOLDER = "market"

REGIONS = TableSchema(
    "regions",
    "Buyer regions of the market and the countries whose plants are home to each.",
    key=("region",),
    columns=(
        Column("region", "str", "region id, e.g. USA, EU, CHN"),
        Column("name", "str", "region name"),
        Column("countries", "str", "ISO3 codes separated by spaces; '*' for every country no other region lists"),
        Column("source", "str", "what the grouping rests on", required=False),
    ),
)

REGIONAL_DEMAND = TableSchema(
    "regional_demand",
    "Each region's demand curve per mineral and year: reference quantity, reference price and elasticity.",
    key=("region", "mineral", "year"),
    columns=(
        Column("region", "str", "region", references="regions.region"),
        Column("mineral", "str", "mineral"),
        Column("year", "int", "year", minimum=1900, maximum=2200),
        Column("quantity_t", "float", "reference quantity Q0", "t/yr", minimum=0.0, maximum=1e9),
        Column("price_usd_per_t", "float", "reference price P0 (real USD of 2024)", "USD/t", minimum=0.0,
               maximum=1e9, minimum_excluded=True),
        Column("elasticity", "float", "price elasticity of demand at the reference point (0: inelastic)",
               minimum=-5.0, maximum=0.0),
        Column("elasticity_low", "float", "most elastic end of the range (most negative)", minimum=-5.0,
               maximum=0.0),
        Column("elasticity_high", "float", "least elastic end of the range", minimum=-5.0, maximum=0.0),
        *PROVENANCE,
    ),
    figures=("quantity_t", "price_usd_per_t", "elasticity", "elasticity_low", "elasticity_high"),
)

TRADE_COSTS = TableSchema(
    "trade_costs",
    "Cost of moving a tonne between two different regions, per mineral (0 within a region).",
    key=("mineral",),
    columns=(
        Column("mineral", "str", "mineral"),
        Column("usd_per_t", "float", "trade cost between two different regions", "USD/t", minimum=0.0,
               maximum=1e9),
        *PROVENANCE,
    ),
    figures=("usd_per_t",),
)

OFFTAKE = TableSchema(
    "offtake",
    "The offtake share a JV option hosted outside the buyer's region gives the buyer that funds it: the buyer has "
    "first call on that share of the plant's capacity (engine/market/jv.py).",
    key=("option_id",),
    columns=(
        Column("option_id", "str", "a JV option of jv_options.csv"),
        Column("offtake_share", "float", "share of the plant's capacity reserved for the funder", minimum=0.0,
               maximum=1.0),
        *PROVENANCE,
    ),
    optional=True,
    figures=("offtake_share",),
)

MARKET_TABLES: tuple[TableSchema, ...] = (REGIONS, REGIONAL_DEMAND, TRADE_COSTS, OFFTAKE)
REST = "*"


@dataclass(frozen=True)
class MarketData:
    """The validated market tables of one dataset, each sorted by its key."""

    regions: pd.DataFrame
    demand: pd.DataFrame
    trade_costs: pd.DataFrame
    home: dict[str, str]  # country -> region, for every country of countries.csv
    folder: Path
    offtake: pd.DataFrame | None = None  # option_id, offtake_share (None: offtake.csv is not there)

    def region_of(self, countries: np.ndarray | pd.Series) -> np.ndarray:
        """The region each country is home to (every country of countries.csv has one when a region is ``*``;
        without one, a country no region lists is home to none: '')."""
        return np.array([self.home.get(c, "") for c in np.asarray(countries, dtype=object)], dtype=object)

    def countries_of(self, region: str) -> list[str]:
        """The countries home to ``region``, sorted (for the ``*`` region every country no other region lists)."""
        return sorted(c for c, r in self.home.items() if r == region)


def market_folder(dataset: Dataset) -> Path:
    return dataset.folder / MARKET_FOLDER


def load_market(dataset: Dataset, buyer: str = "USA") -> MarketData:
    """Read and check the market tables beside ``dataset``; one ``InputError`` names what is missing or wrong."""
    folder = market_folder(dataset)
    missing = [s.filename for s in MARKET_TABLES if not s.optional and not (folder / s.filename).is_file()]
    if missing:
        raise InputError(f"market mode needs the market tables in {folder}: {', '.join(missing)} not found "
                         f"(see the README, 'Market mode'); 'market: none' runs without them")
    problems = Problems()
    frames: dict[str, pd.DataFrame] = {}
    lines: dict[str, list[int]] = {}
    for schema in MARKET_TABLES:
        read = _read_table(schema, folder / schema.filename, problems)
        if read is not None:
            frames[schema.name], lines[schema.name] = read[0], list(read[1])
    problems.raise_if_any(f"The market tables in {folder} have problems:")
    regions, demand, trade = frames["regions"], frames["regional_demand"], frames["trade_costs"]
    home = _check_regions(regions, dataset, folder / REGIONS.filename, lines["regions"], problems)
    minerals = set(dataset.minerals["mineral"])
    for name, frame in (("regional_demand", demand), ("trade_costs", trade)):
        for i in frame.index[~frame["mineral"].isin(minerals)]:
            problems.add(f"{folder / (name + '.csv')}, line {lines[name][i]}, column mineral: unknown mineral "
                         f"'{frame['mineral'][i]}'; expected one listed in minerals.csv")
    known = set(regions["region"])
    for i in demand.index[~demand["region"].isin(known)]:
        problems.add(f"{folder / REGIONAL_DEMAND.filename}, line {lines['regional_demand'][i]}, column region: "
                     f"unknown region '{demand['region'][i]}'; expected one listed in regions.csv")
    offtake = frames.get("offtake")
    if offtake is not None:
        options = set(dataset.jv_options["option_id"])
        for i in offtake.index[~offtake["option_id"].isin(options)]:
            problems.add(f"{folder / OFFTAKE.filename}, line {lines['offtake'][i]}, column option_id: unknown JV "
                         f"option '{offtake['option_id'][i]}'; expected one listed in jv_options.csv")
    for i in demand.index:
        lo, mid, hi = demand["elasticity_low"][i], demand["elasticity"][i], demand["elasticity_high"][i]
        if not lo <= mid <= hi:
            problems.add(f"{folder / REGIONAL_DEMAND.filename}, line {lines['regional_demand'][i]}, column "
                         f"elasticity: {mid:g} is outside [{lo:g}, {hi:g}]; expected elasticity_low <= elasticity "
                         f"<= elasticity_high")
    problems.raise_if_any(f"The market tables in {folder} have problems:")
    data = MarketData(regions=regions.sort_values("region", kind="stable").reset_index(drop=True),
                      demand=demand.sort_values(["region", "mineral", "year"], kind="stable").reset_index(drop=True),
                      trade_costs=trade.sort_values("mineral", kind="stable").reset_index(drop=True),
                      home=home, folder=folder,
                      offtake=None if offtake is None else
                      offtake.sort_values("option_id", kind="stable").reset_index(drop=True))
    _check_buyer(data, dataset, buyer, lines["regional_demand"], demand, problems)
    problems.raise_if_any(f"The market tables in {folder} have problems:")
    return data


def _check_regions(regions: pd.DataFrame, dataset: Dataset, where: Path, lines: list[int],
                   problems: Problems) -> dict[str, str]:
    known = set(dataset.countries["iso3"])
    home: dict[str, str] = {}
    rests = [i for i in regions.index if regions["countries"][i].strip() == REST]
    if len(rests) > 1:
        problems.add(f"{where}: {len(rests)} regions have countries '*'; expected at most one (the rest of the "
                     f"world: every country no other region lists)")
    for i in regions.index:
        text = regions["countries"][i].strip()
        if text == REST:
            continue
        for code in text.split():
            if code not in known:
                problems.add(f"{where}, line {lines[i]}, column countries: unknown country '{code}'; expected ISO3 "
                             f"codes listed in countries.csv, separated by spaces, or '*'")
            elif code in home:
                problems.add(f"{where}, line {lines[i]}, column countries: '{code}' is already in region "
                             f"'{home[code]}'; a country is home to one region")
            else:
                home[code] = str(regions["region"][i])
    if rests:
        rest = str(regions["region"][rests[0]])
        home.update({c: rest for c in sorted(known) if c not in home})
    return home


def _check_buyer(data: MarketData, dataset: Dataset, buyer: str, lines: list[int], raw: pd.DataFrame,
                 problems: Problems) -> None:
    """The buyer's region holds exactly the buyer's country, and its reference quantities are demand.csv's."""
    region = data.home.get(buyer)
    listed = data.regions.loc[data.regions["region"] == region, "countries"]
    if region is None or listed.empty or listed.iloc[0].split() != [buyer]:
        problems.add(f"{data.folder / REGIONS.filename}: the buyer '{buyer}' is not a region of its own; expected a "
                     f"row with countries '{buyer}'")
        return
    ours = raw[raw["region"] == region].merge(dataset.demand[["mineral", "year", "demand_t"]],
                                              on=["mineral", "year"], how="outer", indicator=True)
    for row in ours.to_dict("records"):
        if row["_merge"] == "both" and np.isclose(row["quantity_t"], row["demand_t"], rtol=1e-9, atol=0.0):
            continue
        if row["_merge"] == "right_only":
            problems.add(f"{data.folder / REGIONAL_DEMAND.filename}: no row for region {region}, {row['mineral']} "
                         f"{row['year']}; expected quantity_t {row['demand_t']:g} (demand.csv)")
            continue
        at = raw.index[(raw["region"] == region) & (raw["mineral"] == row["mineral"]) & (raw["year"] == row["year"])]
        expected = "no row (demand.csv has none)" if row["_merge"] == "left_only" else f"{row['demand_t']:g} " \
            "(demand.csv)"
        problems.add(f"{data.folder / REGIONAL_DEMAND.filename}, line {lines[at[0]]}, column quantity_t: "
                     f"{row['quantity_t']:g} for the buyer region {region}, {row['mineral']} {row['year']}; "
                     f"expected {expected}")


# ------------------------------------------------------------------------------------------- building
def _assumptions(folder: Path) -> dict[str, dict[str, str]]:
    frame = pd.read_csv(folder / "assumptions.csv", dtype=str, keep_default_na=False)
    return {row["assumption_id"]: row for row in frame.to_dict("records")}


def _split(text: str) -> dict[str, float]:
    return {part.split()[0]: float(part.split()[1]) for part in text.split(";")}


def _sourced(row: dict[str, str]) -> bool:
    """An assumptions.csv row whose figure is published (its basis starts with 'Sourced:')."""
    return row["basis"].startswith("Sourced:")


def _other_regions(assumed: dict[str, dict[str, str]], mineral: str, world: float,
                   buyer_t: float) -> list[tuple[str, float, str, str]]:
    """(region, reference quantity, source text, provenance flag) of every region but the buyer's: the regions
    with a share of world demand first, then the rest split by ``market-share-<mineral>`` scaled to sum 1."""
    use_id, share_id, world_id = (f"market-utilisation-{mineral}", f"market-share-{mineral}",
                                  f"market-world-share-{mineral}")
    fixed = _split(assumed[world_id]["value"]) if world_id in assumed else {}
    split = _split(assumed[share_id]["value"])
    both = sorted(set(fixed) & set(split))
    if both:
        raise InputError(f"market/assumptions.csv: {', '.join(both)} in both {world_id} and {share_id}; expected "
                         "each region in one of them")
    flag = "derived" if world_id in assumed and _sourced(assumed[world_id]) and _sourced(assumed[use_id]) \
        else "assumed"
    out = [(region, share * world, f"assumptions: {use_id}, {world_id}, market-reference-price, "
            "market-elasticity (world demand = utilisation x capacity.csv of the year, times the region's share of "
            "it)", flag) for region, share in fixed.items()]
    rest = max(world - buyer_t - sum(q for _, q, _, _ in out), 0.0)
    total = sum(split.values())
    scaled = f", less {', '.join(fixed)}, split by the share scaled to the rest" if fixed else ", split by the share"
    out += [(region, rest * share / total, f"assumptions: {use_id}, {share_id}, market-reference-price, "
             f"market-elasticity (world demand = utilisation x capacity.csv of the year, less US demand{scaled})",
             "assumed") for region, share in split.items()]
    return out


def build_market_tables(dataset: Dataset) -> dict[str, pd.DataFrame]:
    """``regional_demand`` and ``trade_costs`` from the dataset and ``market/assumptions.csv``.

    Rule: for mineral m and year y, world demand at the reference price W = utilisation_m × the capacity of every
    plant active in y (capacity.csv); the buyer's reference quantity is demand.csv's; a region with a share of
    world demand ``market-world-share-<m>`` (optional; sourced figures) gets s_r × W; the rest (W − buyer − those,
    never below 0) is split among the other regions in proportion to ``market-share-<m>`` (scaled to sum 1). Every
    region's reference price is the mineral's price in minerals.csv; elasticity −0.3 (−0.5 to −0.1) everywhere.
    The trade cost is 2% of the reference price.

    Provenance of a quantity: ``derived`` when it is a world share × W and both the share and the utilisation are
    sourced (their basis in assumptions.csv starts with 'Sourced:'); ``assumed`` otherwise.
    """
    folder = market_folder(dataset)
    assumed = _assumptions(folder)
    prices = dict(zip(dataset.minerals["mineral"], dataset.minerals["reference_price_usd_per_t"], strict=True))
    price_source = dict(zip(dataset.minerals["mineral"], dataset.minerals["source"], strict=True))
    cap = dataset.capacity
    us = dataset.demand
    elasticity = assumed["market-elasticity"]
    rows = []
    for mineral, year, us_t, us_source in zip(us["mineral"], us["year"], us["demand_t"], us["source"], strict=True):
        active = (cap["mineral"] == mineral) & (cap["first_year"] <= year) & \
            (cap["last_year"].astype("Float64").fillna(9999) >= year).to_numpy(dtype=bool)
        use = float(assumed[f"market-utilisation-{mineral}"]["value"])
        world = use * float(cap.loc[active, "capacity_t"].sum())
        common = {"mineral": mineral, "year": int(year), "price_usd_per_t": prices[mineral],
                  "elasticity": float(elasticity["value"]), "elasticity_low": float(elasticity["low"]),
                  "elasticity_high": float(elasticity["high"])}
        rows.append({"region": "USA", **common, "quantity_t": float(us_t),
                     "source": f"quantity_t: demand.csv ({us_source}); price: {price_source[mineral]}; "
                               "assumptions: market-reference-price, market-elasticity",
                     "estimate": True, "provenance": "quantity_t=assumed price_usd_per_t=derived "
                     "elasticity=assumed elasticity_low=assumed elasticity_high=assumed"})
        for region, quantity, source, flag in _other_regions(assumed, mineral, world, float(us_t)):
            rows.append({"region": region, **common, "quantity_t": round(quantity, 3),
                         "source": f"price: {price_source[mineral]}; {source}", "estimate": True,
                         "provenance": f"quantity_t={flag} price_usd_per_t=derived elasticity=assumed "
                                       "elasticity_low=assumed elasticity_high=assumed"})
    demand = pd.DataFrame(rows, columns=[c.name for c in REGIONAL_DEMAND.columns])
    demand = demand.sort_values(["region", "mineral", "year"], kind="stable").reset_index(drop=True)
    share = float(assumed["market-trade-cost"]["value"])
    trade = pd.DataFrame([{"mineral": m, "usd_per_t": round(share * prices[m], 2),
                           "source": f"{price_source[m]}; assumptions: market-trade-cost", "estimate": True,
                           "provenance": "usd_per_t=assumed"} for m in sorted(prices)])
    return {"regional_demand": demand, "trade_costs": trade}


def write_market_tables(dataset: Dataset) -> list[Path]:
    """Write what ``build_market_tables`` makes into ``<inputs>/market/``."""
    written = []
    for name, frame in build_market_tables(dataset).items():
        path = market_folder(dataset) / f"{name}.csv"
        out = frame.copy()
        out["estimate"] = out["estimate"].map({True: "true", False: "false"})
        out.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
        written.append(path)
    return written


__all__ = ["MARKET_TABLES", "MarketData", "build_market_tables", "load_market", "write_market_tables"]
