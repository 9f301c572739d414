"""Schemas of the input tables, as data (PyPSA style).

Each table is a CSV in the inputs folder with one fact per row, a ``source`` citation and an ``estimate`` flag.
``dataset.py`` checks every table against these schemas before anything is built: column presence, types, ranges,
allowed values, unique keys and references to other tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["str", "int", "float", "bool"]


@dataclass(frozen=True)
class Column:
    """One column of an input table."""

    name: str
    kind: Kind
    description: str
    unit: str = ""
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    minimum_excluded: bool = False  # the value must be strictly above ``minimum``
    choices: tuple[str, ...] | None = None
    references: str | None = None  # "table.column" this column's values must appear in


@dataclass(frozen=True)
class TableSchema:
    """One input table: its file name, key columns and columns."""

    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    optional: bool = False
    extra_columns_allowed: bool = True
    figures: tuple[str, ...] = ()  # columns whose every value carries a provenance flag
    hashed_when_empty: bool = True  # False: a dataset without rows in it keeps the hash it had before the table

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


PROVENANCE_FLAGS = ("sourced", "derived", "assumed")

PROVENANCE = (
    Column("source", "str", "the documents the row's figures come from (publisher, title, year, table or page) "
                            "and the ids of the assumptions it uses (inputs/sources/assumptions.csv)"),
    Column("estimate", "bool", "true when any figure of the row is derived or assumed rather than sourced"),
    Column("provenance", "str", "one 'column=sourced|derived|assumed' per figure of the row", required=False),
)

MINERALS = TableSchema(
    "minerals",
    "The minerals modelled, their units and reference prices.",
    key=("mineral",),
    columns=(
        Column("mineral", "str", "short id, e.g. li, ni, co, ga, ge"),
        Column("name", "str", "full name"),
        Column("unit", "str", "unit of quantities (t LCE for lithium, t metal otherwise)"),
        Column("reference_price_usd_per_t", "float", "reference market price (unmet demand is valued at 10x it)",
               "USD/t", minimum=0.0, maximum=1e9, minimum_excluded=True),
        Column("price_year", "int", "year of the reference price", minimum=1990, maximum=2100),
        *PROVENANCE,
    ),
    figures=("reference_price_usd_per_t", "price_year"),
)

COUNTRIES = TableSchema(
    "countries",
    "Countries (ISO 3166 alpha-3) with trade-policy flags.",
    key=("iso3",),
    columns=(
        Column("iso3", "str", "ISO 3166 alpha-3 code (ROW for rest of world)"),
        Column("name", "str", "country name"),
        Column("region", "str", "world region"),
        Column("us_fta", "bool", "US free-trade-agreement partner (IRA 30D qualifying)"),
        Column("covered_nation", "bool", "covered nation under FEOC rules (CHN, RUS, IRN, PRK)"),
        *PROVENANCE,
    ),
    figures=("us_fta", "covered_nation"),
)

CAPACITY = TableSchema(
    "capacity",
    "Existing and announced refining capacity blocks by location.",
    key=("source_id",),
    columns=(
        Column("source_id", "str", "unique id of the supply block"),
        Column("mineral", "str", "mineral refined", references="minerals.mineral"),
        Column("location", "str", "country where it is refined", references="countries.iso3"),
        Column("facility", "str", "short description", required=False),
        Column("capacity_t", "float", "refining capacity per year", "t/yr", minimum=0.0, maximum=1e9),
        Column("exportable_share", "float", "share of output available to the buyer", minimum=0.0, maximum=1.0),
        Column("unit_cost_usd_per_t", "float", "delivered cost to the buyer before tariffs", "USD/t", minimum=0.0,
               maximum=1e9),
        Column("first_year", "int", "first year of output", minimum=1900, maximum=2200),
        Column("last_year", "int", "last year of output (blank: open-ended)", required=False,
               minimum=1900, maximum=2200),
        *PROVENANCE,
    ),
    figures=("capacity_t", "exportable_share", "unit_cost_usd_per_t", "first_year", "last_year"),
)

OWNERSHIP = TableSchema(
    "ownership",
    "Equity in each supply block by owner country; the remainder is owned in the location country.",
    key=("source_id", "owner"),
    columns=(
        Column("source_id", "str", "supply block", references="capacity.source_id"),
        Column("owner", "str", "owner country", references="countries.iso3"),
        Column("equity_share", "float", "share of equity held", minimum=0.0, maximum=1.0),
        *PROVENANCE,
    ),
    optional=True,
    figures=("equity_share",),
)

DEMAND = TableSchema(
    "demand",
    "The buyer's demand per mineral and year.",
    key=("mineral", "year"),
    columns=(
        Column("mineral", "str", "mineral", references="minerals.mineral"),
        Column("year", "int", "year", minimum=1900, maximum=2200),
        Column("demand_t", "float", "demand", "t/yr", minimum=0.0, maximum=1e9),
        *PROVENANCE,
    ),
    figures=("demand_t",),
)

JV_MODES = ("licensing", "minority", "parity", "majority", "domestic")

JV_OPTIONS = TableSchema(
    "jv_options",
    "Joint-venture and licensing options the buyer may strike: new capacity decided by the optimiser.",
    key=("option_id",),
    columns=(
        Column("option_id", "str", "unique id of the option"),
        Column("mineral", "str", "mineral refined", references="minerals.mineral"),
        Column("host", "str", "country hosting the plant", references="countries.iso3"),
        Column("partner", "str", "technology or equity partner country", references="countries.iso3"),
        Column("mode", "str", "deal structure", choices=JV_MODES),
        Column("partner_equity_share", "float", "partner's equity", minimum=0.0, maximum=1.0),
        Column("capex_usd_per_tpy", "float", "capital cost per t/yr of capacity", "USD per t/yr", minimum=0.0,
               maximum=1e10),
        Column("opex_usd_per_t", "float", "cash cost per tonne produced, feedstock included", "USD/t",
               minimum=0.0, maximum=1e9),
        Column("royalty_usd_per_t", "float", "licence royalty per tonne produced", "USD/t", minimum=0.0,
               maximum=1e9),
        Column("lead_time_years", "int", "years from start of build to first output", "yr",
               minimum=0, maximum=30),
        Column("max_size_tpy", "float", "largest capacity that can be built", "t/yr", minimum=0.0, maximum=1e9),
        Column("min_size_tpy", "float", "minimum efficient size (blank: none)", "t/yr", required=False,
               minimum=0.0, maximum=1e9),
        Column("earliest_start", "int", "first year construction may start", minimum=1900, maximum=2200),
        Column("description", "str", "what the deal is", required=False),
        Column("capex_usd_per_tpy_low", "float", "low end of the reported capex (blank: the central value)",
               "USD per t/yr", required=False, minimum=0.0),
        Column("capex_usd_per_tpy_high", "float", "high end of the reported capex (blank: the central value)",
               "USD per t/yr", required=False, minimum=0.0),
        Column("lead_time_years_low", "int", "shortest lead time reported (blank: the central value)", "yr",
               required=False, minimum=0, maximum=30),
        Column("lead_time_years_high", "int", "longest lead time reported or observed (blank: the central value)",
               "yr", required=False, minimum=0, maximum=30),
        *PROVENANCE,
    ),
    optional=True,
    figures=("partner_equity_share", "capex_usd_per_tpy", "opex_usd_per_t", "royalty_usd_per_t", "lead_time_years",
             "max_size_tpy", "min_size_tpy", "earliest_start", "capex_usd_per_tpy_low", "capex_usd_per_tpy_high",
             "lead_time_years_low", "lead_time_years_high"),
)

OBSERVED_TRADE = TableSchema(
    "observed_trade",
    "Observed US imports by origin: each origin's share of one mineral's imports over a period (the backcast).",
    key=("mineral", "period", "origin"),
    columns=(
        Column("mineral", "str", "mineral", references="minerals.mineral"),
        Column("period", "str", "years the shares cover, e.g. 2024 or 2020-2023"),
        Column("origin", "str", "country of origin; ROW is every origin the source does not name",
               references="countries.iso3"),
        Column("share", "float", "share of the period's imports from the origin", "share", minimum=0.0,
               maximum=1.0),
        Column("measure", "str", "what the share is of", choices=("quantity", "value")),
        Column("form", "str", "the form counted (the refined commodity, its chemicals, metal and oxide)"),
        *PROVENANCE,
    ),
    optional=True,
    figures=("share",),
)

MINE_KINDS = ("asset", "country", "remainder", "rest")
"""What a mines.csv row counts: one named mine or company's operations (``asset``); a country's whole output, not split
(``country``); a country's output less the assets listed for it (``remainder``); every country the source does not
name (``rest``, location ROW)."""

MINE_COMMODITIES: dict[str, str] = {
    "lithium": "t LCE", "nickel": "t Ni", "cobalt": "t Co", "bauxite": "t bauxite", "zinc": "t Zn",
}
"""What a mines.csv row's ``output_t`` counts, and its unit: lithium, nickel and cobalt in contained metal (lithium
as lithium carbonate equivalent); the host ores of gallium (bauxite, gross weight) and germanium (zinc content)."""

MINES = TableSchema(
    "mines",
    "Mine output by country and by asset (Chinese-owned mines abroad split out of their country's total); not read "
    "by the model.",
    key=("mine_id", "year"),
    columns=(
        Column("mine_id", "str", "id of the mine, company operations or country aggregate"),
        Column("year", "int", "year of record of the output", minimum=1900, maximum=2200),
        Column("mineral", "str", "the modelled mineral the output feeds", references="minerals.mineral"),
        Column("commodity", "str", "what output_t counts (t LCE for lithium; t contained metal for nickel, cobalt "
                                   "and zinc; t for bauxite)", choices=tuple(MINE_COMMODITIES)),
        Column("location", "str", "country where it is mined; ROW: every country the source does not name",
               references="countries.iso3"),
        Column("name", "str", "the mine, the company's operations or the aggregate"),
        Column("kind", "str", "asset, country (whole output, not split), remainder (the country less its assets "
                              "listed) or rest (every country not named)", choices=MINE_KINDS),
        Column("output_t", "float", "output in the year of record", "t/yr", minimum=0.0, maximum=1e10),
        Column("first_year", "int", "first year of output, where known", required=False, minimum=1800,
               maximum=2200),
        Column("last_year", "int", "last year of output, where known (blank: open-ended)", required=False,
               minimum=1800, maximum=2200),
        *PROVENANCE,
    ),
    optional=True,
    figures=("output_t", "first_year", "last_year"),
    hashed_when_empty=False,
)

MINE_OWNERSHIP = TableSchema(
    "mine_ownership",
    "Equity in each mine by owner country, owner chains looked through; the remainder is owned in the location "
    "country.",
    key=("mine_id", "owner"),
    columns=(
        Column("mine_id", "str", "mine", references="mines.mine_id"),
        Column("owner", "str", "owner country (of the ultimate holder)", references="countries.iso3"),
        Column("holder", "str", "the companies and the chain the share runs through"),
        Column("equity_share", "float", "share of the mine's output held, through the chain", minimum=0.0,
               maximum=1.0),
        *PROVENANCE,
    ),
    optional=True,
    figures=("equity_share",),
    hashed_when_empty=False,
)

FEED_STAGES = ("ore", "concentrate", "intermediate", "refined")

OBSERVED_FEED = TableSchema(
    "observed_feed",
    "Observed imports of refinery feed by origin (China's spodumene, cobalt intermediates, bauxite, nickel ore and "
    "products): each origin's share of one importer's imports of one form over a period; not read by the model.",
    key=("importer", "mineral", "form", "period", "origin"),
    columns=(
        Column("importer", "str", "importing country", references="countries.iso3"),
        Column("mineral", "str", "the modelled mineral the feed carries", references="minerals.mineral"),
        Column("stage", "str", "stage of the form imported", choices=FEED_STAGES),
        Column("form", "str", "the form counted, e.g. spodumene concentrate (gross weight)"),
        Column("period", "str", "months or years the shares cover, e.g. 2024, 2024-07 or Jan-Nov 2024"),
        Column("origin", "str", "country of origin; ROW is every origin the source does not name",
               references="countries.iso3"),
        Column("share", "float", "share of the period's imports of the form from the origin", "share", minimum=0.0,
               maximum=1.0),
        Column("measure", "str", "what the share is of", choices=("quantity", "value", "contained")),
        *PROVENANCE,
    ),
    optional=True,
    figures=("share",),
    hashed_when_empty=False,
)

RANGES: dict[str, tuple[str, str]] = {
    "capex_usd_per_tpy": ("capex_usd_per_tpy_low", "capex_usd_per_tpy_high"),
    "lead_time_years": ("lead_time_years_low", "lead_time_years_high"),
}
"""Central column -> its (low, high) columns: ``solve`` uses the central value; the range records what sources
report (low <= central <= high is checked at load)."""

TABLES: tuple[TableSchema, ...] = (MINERALS, COUNTRIES, CAPACITY, OWNERSHIP, DEMAND, JV_OPTIONS,
                                   OBSERVED_TRADE, MINES, MINE_OWNERSHIP, OBSERVED_FEED)
TABLES_BY_NAME: dict[str, TableSchema] = {t.name: t for t in TABLES}
ORDER: list[str] = [t.name for t in TABLES]  # referenced tables come first


@dataclass
class Problems:
    """Collects validation problems; raises them together as one InputError."""

    items: list[str] = field(default_factory=list)
    limit: int = 12

    def add(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self, heading: str) -> None:
        from engine.errors import InputError

        if not self.items:
            return
        shown = self.items[: self.limit]
        more = len(self.items) - len(shown)
        tail = f"\n  … and {more} more" if more > 0 else ""
        raise InputError(heading + "\n  " + "\n  ".join(shown) + tail)
