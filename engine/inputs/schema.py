"""Pydantic models of a scenario file.

A scenario holds assumptions and choices (what we test); facts live in the ``inputs/`` tables. Every model
rejects unknown keys; ``scenario.py`` turns pydantic's errors into messages that name the file, the line and
the closest valid key. Country and mineral names are checked against the dataset in ``scenario.py``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Tonnes = Annotated[float, Field(ge=0.0, le=1e9)]
UsdPerTonne = Annotated[float, Field(ge=0.0, le=1e9)]
Multiplier = Annotated[float, Field(ge=0.0, le=100.0)]
Weight = Annotated[float, Field(ge=0.0, le=1000.0)]
Year = Annotated[int, Field(ge=1900, le=2200)]

FIRST_YEAR, LAST_YEAR = 1900, 2200

NUMBER_RANGES: dict[str, tuple[float, float, str]] = {
    # field name (or the mapping that holds the numbers) -> (lowest, highest, unit): quoted in error messages
    "start": (1990, 2100, "(a year)"), "end": (1990, 2100, "(a year)"),
    "base_year": (FIRST_YEAR, LAST_YEAR, "(a year)"), "years": (FIRST_YEAR, LAST_YEAR, "(a year)"),
    "tolerance": (0, 0.1, "(relative)"), "weights": (0, 1000, "(a weight)"),
    "licence_technology_factor": (0, 1, "(a share, 0-1)"), "discount_rate": (0, 1, "(a rate per year, below 1)"),
    "asset_life_years": (1, 100, "years"), "exportable_share": (0, 1, "(a share, 0-1)"),
    "demand_scale": (0, 100, "(a multiplier)"), "allowed_share": (0, 1, "(a share, 0-1)"),
    "quota_t": (0, 1e9, "t per year"), "owner_threshold": (0, 1, "(a share of equity, 0-1)"),
    "ad_valorem": (0, 100, "(a share of the delivered cost, 1 = 100%)"), "per_tonne_usd": (0, 1e9, "USD/t"),
    "max_share": (0, 1, "(a share, 0-1)"), "share": (0, 1, "(a share, 0-1)"),
    "feoc_threshold": (0, 1, "(a share of equity, 0-1)"),
    "control_threshold": (0, 1, "(a share of equity, 0-1)"), "threshold": (0, 1, "(a share of equity, 0-1)"),
    "credit_usd_per_t": (0, 1e9, "USD/t"), "max_equity": (0, 1, "(a share of equity, 0-1)"),
    "min_capacity_t": (0, 1e9, "t per year"), "min_share": (0, 1, "(a share of demand, 0-1)"),
    "initial_t": (0, 1e9, "t"), "capacity_t": (0, 1e9, "t"), "max_purchase_t": (0, 1e9, "t per year"),
    "max_draw_t": (0, 1e9, "t per year"), "holding_usd_per_t_yr": (0, 1e9, "USD per t and year"),
    "probability": (0, 1, "(a probability, 0-1)"), "mean": (-100, 100, "(a multiplier, or its log for lognormal)"),
    "sd": (0, 100, "(a multiplier, or its log for lognormal)"), "low": (0, 100, "(a multiplier)"),
    "high": (0, 100, "(a multiplier)"), "mode": (0, 100, "(a multiplier)"), "scenarios": (1, 10_000, "scenarios"),
    "evaluation": (1, 100_000, "scenarios"), "alpha": (0, 1, "(a probability level, strictly between 0 and 1)"),
    "seed": (0, 2**63 - 1, "(a seed)"), "share_of_supply_max": (0, 1, "(a share, 0-1)"),
    "points": (2, 1001, "(points of the frontier)"),
    "budget": (0, 1e15, "USD (present value), or a premium such as '+2%'"),
}
"""The stated range and unit of every number a scenario may hold; errors quote them."""

NAME_PATTERN = re.compile(r"^[^\W_.\-][\w.\- ]{0,99}$")
NAME_RULE = ("letters, digits, spaces, '-', '_' and '.', starting with a letter or digit, at most 100 characters "
             "(it names the results folder)")


def _safe_name(value: Any) -> Any:
    """A scenario name is one safe path component: it becomes the results folder's name."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        raise ValueError(f"a scenario name cannot be empty; use {NAME_RULE}")
    if not NAME_PATTERN.match(value) or value.endswith((" ", ".")):
        raise ValueError(f"'{value}' is not a safe scenario name; use {NAME_RULE}")
    return value


def _finite_budget(value: float) -> float:
    if not math.isfinite(value) or not 0 < value <= 1e15:
        shown = "nan" if math.isnan(value) else "inf" if math.isinf(value) else f"{value:g}"
        raise ValueError(f"got {shown}; expected a premium such as '+2%', or an absolute present value in USD, a "
                         f"finite number above 0 and up to 1e15")
    return value

ALL = "all"


class StrictModel(BaseModel):
    """Base for every scenario section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------------------------------- years
class Years(StrictModel):
    """A set of years: all of the horizon, a closed range, an open range, or an explicit list.

    Written in YAML as ``all``, ``2030``, ``2026-2030``, ``2027+`` or ``[2025, 2030]``.
    """

    first: int | None = None
    last: int | None = None
    listed: tuple[int, ...] | None = None

    def select(self, horizon: list[int]) -> list[int]:
        """The horizon years this spec covers."""
        if self.listed is not None:
            return [y for y in horizon if y in self.listed]
        lo = self.first if self.first is not None else -10**9
        hi = self.last if self.last is not None else 10**9
        return [y for y in horizon if lo <= y <= hi]

    def __str__(self) -> str:
        if self.listed is not None:
            return ", ".join(map(str, self.listed))
        if self.first is None and self.last is None:
            return "all years"
        if self.last is None:
            return f"{self.first}+"
        if self.first == self.last:
            return str(self.first)
        return f"{self.first}-{self.last}"


_RANGE = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*$")
_OPEN = re.compile(r"^\s*(\d{4})\s*\+\s*$")


def _year_in_range(year: int, value: Any) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year} is outside {FIRST_YEAR}-{LAST_YEAR}; got {value!r}")
    return year


def _parse_years(value: Any) -> Any:
    parsed = _parse_years_unchecked(value)
    if isinstance(parsed, dict):
        for key in ("first", "last"):
            if isinstance(parsed.get(key), int):
                _year_in_range(parsed[key], value)
        for year in parsed.get("listed") or ():
            _year_in_range(year, value)
        if parsed.get("listed") == ():
            raise ValueError("an empty list of years; write 'all' or leave the key out for every year, or list "
                             "at least one year")
    return parsed


def _parse_years_unchecked(value: Any) -> Any:
    if value is None or (isinstance(value, str) and value.strip().lower() == ALL):
        return {}
    if isinstance(value, Years | dict):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a year (2030), a range ('2026-2030', '2027+'), a list of years or 'all'")
    if isinstance(value, int):
        return {"first": value, "last": value}
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return {"listed": tuple(sorted(set(value)))}
    if isinstance(value, str):
        if value.strip().isdigit() and len(value.strip()) == 4:  # a quoted year, or one from the command line
            return {"first": int(value), "last": int(value)}
        if m := _RANGE.match(value):
            first, last = int(m.group(1)), int(m.group(2))
            if first > last:
                raise ValueError(f"year range '{value}' runs backwards")
            return {"first": first, "last": last}
        if m := _OPEN.match(value):
            return {"first": int(m.group(1))}
    raise ValueError(
        f"expected a year (2030), a range ('2026-2030', '2027+'), a list of years or 'all', got {value!r}"
    )


YearSpec = Annotated[Years, BeforeValidator(_parse_years)]


def _as_list(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list) and not value:
        raise ValueError("an empty list; write 'all' or leave the key out to mean all, or list at least one name")
    if isinstance(value, str) and value.strip().lower() == ALL:
        return None
    if isinstance(value, str):
        return [value]
    return value


NameList = Annotated[list[str] | None, BeforeValidator(_as_list)]
"""A list of country codes or mineral ids; a single name or ``all`` (None) are accepted."""


def _as_regions(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() == ALL:
        return ALL
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and not value:
        raise ValueError("an empty list of regions; write 'all', list at least one region, or leave the key out "
                         "for the buyer's region")
    return value


RegionList = Annotated[Literal["all"] | list[str] | None, BeforeValidator(_as_regions)]
"""Market regions (``inputs/market/regions.csv``) a policy acts on: a list, one region, or ``all``; None (the key
left out) is the buyer's region."""


# ------------------------------------------------------------------------------------------- main sections
class Horizon(StrictModel):
    """The planning years, inclusive."""

    start: int = Field(2025, ge=1990, le=2100)
    end: int = Field(2035, ge=1990, le=2100)

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.start > self.end:
            raise ValueError(f"horizon start {self.start} is after its end {self.end}")
        return self

    @property
    def years(self) -> list[int]:
        return list(range(self.start, self.end + 1))


class Budget(StrictModel):
    """Cost ceiling for the dependence stage: an absolute present value (USD) or a premium over least cost."""

    premium: float | None = None
    absolute_usd: float | None = None

    def __str__(self) -> str:
        if self.absolute_usd is not None:
            return f"USD {self.absolute_usd:,.0f}"
        return f"+{100 * (self.premium or 0.0):g}% over least cost"


_PREMIUM = re.compile(r"^\s*\+?\s*(\d+(?:\.\d+)?)\s*%\s*$")


def _parse_budget(value: Any) -> Any:
    if isinstance(value, Budget | dict):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a premium such as '+15%' or an absolute present value in USD")
    if isinstance(value, int | float):
        return {"absolute_usd": _finite_budget(float(value))}
    if isinstance(value, str) and (m := _PREMIUM.match(value)):
        premium = float(m.group(1)) / 100.0
        if premium > 1000:
            raise ValueError(f"a premium of {value.strip()} is above +100000%; expected a premium such as '+15%'")
        return {"premium": premium}
    raise ValueError(f"expected a premium such as '+15%' or an absolute present value in USD, got {value!r}")


BudgetSpec = Annotated[Budget, BeforeValidator(_parse_budget)]


class Objective(StrictModel):
    """What the optimiser minimises.

    Cost is always cost including unmet demand at its value (10x the reference price a tonne, discounted like
    every cost). ``minimise: dependence`` — China exposure aggregated over minerals and years within ``budget`` (on
    that cost), then cost. ``minimise: cost`` — cost, with dependence limited only by ``dependence_cap`` policies.
    ``shortfall: valued`` (the default) — unmet demand is a cost at its value: no plan spends more than a tonne is
    worth to avoid leaving it unmet; ``shortfall: first`` — unmet demand is minimised first, at any cost, as its own
    stage before cost.

    ``aggregate``: ``mean`` (each mineral-year alike, times its mineral's weight), ``value`` (each mineral-year by
    the value of its demand, tonnes × reference price, times its mineral's weight), ``max`` (the worst
    mineral-year) or ``leximin`` (the worst mineral's exposure, its mean over years, first; then the next worst's;
    ...). ``engine/formulation/dependence.py`` has the formulas.
    """

    minimise: Literal["dependence", "cost"] = "dependence"
    shortfall: Literal["valued", "first"] = "valued"
    budget: BudgetSpec = Field(default_factory=lambda: Budget(premium=0.15))
    aggregate: Literal["mean", "value", "max", "leximin"] = "mean"
    weights: dict[str, Weight] = Field(default_factory=dict)
    tolerance: float = Field(1e-8, ge=0.0, le=0.1)


class DependenceSettings(StrictModel):
    """How tonnes are attributed to the country we measure dependence on.

    ``location`` counts tonnes refined in that country; ``ownership`` counts its equity share of each source;
    ``combined`` takes the larger of the two. ``control`` counts a source (or a JV) fully when that country's
    equity in it reaches ``control_threshold``, else not at all; ``combined_control`` takes the larger of location
    and control. A licence counts ``licence_technology_factor`` of its output on every basis but location.
    """

    country: str = "CHN"
    basis: Literal["location", "ownership", "combined", "control", "combined_control"] = "combined"
    licence_technology_factor: Share = 0.0
    control_threshold: Share = 0.25


class Finance(StrictModel):
    """Discounting and capital recovery."""

    discount_rate: float = Field(0.07, ge=0.0, lt=1.0)
    asset_life_years: int = Field(20, ge=1, le=100)
    base_year: Year | None = None


class DataSettings(StrictModel):
    """Where the facts come from, and the assumptions about them a scenario may change.

    ``exportable_share`` overrides the share of output available to the buyer, keyed by location country
    (``CHN``) or by source id (``IDN-NI-CN``). ``demand_scale`` multiplies demand per mineral.
    """

    inputs: str | None = None
    exportable_share: dict[str, Share] = Field(default_factory=dict)
    demand_scale: dict[str, Multiplier] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------- policies
class PolicyBase(StrictModel):
    """Fields every policy shares: a name (used in reports and duals), minerals and years it covers.

    ``regions`` (market mode only): the importing regions the policy acts on, from ``inputs/market/regions.csv``,
    or ``all``; left out, the buyer's region (so a scenario without it means what it always meant). An export ban
    with ``regions: all`` cuts the exporter's sales to every region but its own; a cap, content rule or tariff acts
    on each listed region's own imports (``engine/market/policies.py``). With ``market: none`` only the buyer's
    own code is accepted.
    """

    name: str | None = None
    description: str = ""
    minerals: NameList = None
    years: YearSpec = Field(default_factory=Years)
    regions: RegionList = None

    @model_serializer(mode="wrap")
    def _leave_out_default_regions(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """``regions`` left out is left out of a dump, so that a scenario without it hashes and writes byte for
        byte as before the key existed."""
        dumped = handler(self)
        if isinstance(dumped, dict) and dumped.get("regions", 0) is None:
            dumped.pop("regions")
        return dumped


class ExportBan(PolicyBase):
    """An exporter bans (``allowed_share: 0``) or licenses (0 < share < 1) exports to the buyer.

    Sources located in (``by: location``), owned by (``by: owner``, equity >= ``owner_threshold``) or either,
    the exporter may sell at most ``allowed_share`` of their usual volume to the buyer; ``quota_t`` caps the
    total tonnes per year across those sources.
    """

    type: Literal["export_ban"]
    exporter: str
    by: Literal["location", "owner", "either"] = "location"
    allowed_share: Share = 0.0
    quota_t: Tonnes | None = None
    owner_threshold: Share = 0.5


class Tariff(PolicyBase):
    """An import tariff on sources from ``origin``: ad valorem on the delivered cost, plus USD per tonne."""

    type: Literal["tariff"]
    origin: NameList
    by: Literal["location", "owner", "either"] = "location"
    ad_valorem: Multiplier = 0.0
    per_tonne_usd: UsdPerTonne = 0.0
    owner_threshold: Share = 0.5

    @model_validator(mode="after")
    def _something(self) -> Tariff:
        if self.origin is None:
            raise ValueError("a tariff needs an origin (one or more country codes)")
        return self


class CountryCap(PolicyBase):
    """No more than ``max_share`` of the buyer's supply of a mineral from any one country (or those listed)."""

    type: Literal["country_cap"]
    max_share: Annotated[float, Field(gt=0.0, le=1.0)]
    countries: NameList = None
    by: Literal["location", "owner"] = "location"
    exclude_buyer: bool = True


class DependenceCap(PolicyBase):
    """The share of supply attributed to the dependence country (attributed tonnes over tonnes supplied) stays at or
    below ``max_share``: Σ a·x ≤ max_share · Σ x, always feasible."""

    type: Literal["dependence_cap"]
    max_share: Share


class ContentRule(PolicyBase):
    """At least ``share`` of supply from qualifying countries (the buyer and its FTA partners by default).

    ``share`` is a number or a step schedule ``{2025: 0.6, 2026: 0.7, 2027: 0.8}`` (each value holds until the
    next year listed). Sources with covered-nation equity >= ``feoc_threshold`` never qualify.
    """

    type: Literal["content_rule"]
    share: Share | dict[Year, Share]
    qualifying: NameList = None
    feoc_threshold: Share | None = 0.25

    def share_in(self, year: int) -> float | None:
        """The required share in ``year`` (None before the first step of a schedule)."""
        if not isinstance(self.share, dict):
            return float(self.share)
        steps = [y for y in sorted(self.share) if y <= year]
        return float(self.share[steps[-1]]) if steps else None


class Feoc(PolicyBase):
    """Foreign-entity-of-concern rule: sources and JV options with covered-nation equity >= ``threshold`` are
    excluded, or lose a credit (``action: credit_loss``, ``credit_usd_per_t`` added to their cost).

    ``covers_licences: true`` also treats licences from covered-nation partners as covered (the "effective
    control" reading of licensing agreements).
    """

    type: Literal["feoc"]
    threshold: Share = 0.25
    action: Literal["exclude", "credit_loss"] = "exclude"
    credit_usd_per_t: UsdPerTonne = 0.0
    applies_to: list[Literal["sources", "jv"]] = Field(default_factory=lambda: ["sources", "jv"])
    covers_licences: bool = False

    @model_validator(mode="after")
    def _credit_given(self) -> Feoc:
        if self.action == "credit_loss" and self.credit_usd_per_t <= 0:
            raise ValueError("action 'credit_loss' needs credit_usd_per_t > 0")
        return self


class MarketAccess(PolicyBase):
    """The quid pro quo: firms owned by ``country`` sell to the buyer only through JVs or licences.

    Direct purchases from sources where ``country`` holds at least ``owner_threshold`` of the equity are
    banned; JV options with a ``country`` partner are allowed only with partner equity <= ``max_equity`` and,
    with ``hosted_in_buyer`` (the default), only when the plant is in the buyer's country.
    """

    type: Literal["market_access"]
    country: str
    max_equity: Share = 0.49
    owner_threshold: Share = 0.5
    hosted_in_buyer: bool = True


class DomesticTarget(PolicyBase):
    """Refining capacity hosted in the buyer's country, from ``years`` on: at least ``min_capacity_t`` t/yr,
    or at least ``min_share`` of that year's demand (existing capacity plus JV builds online by then)."""

    type: Literal["domestic_target"]
    min_capacity_t: Tonnes | None = None
    min_share: Share | None = None

    @model_validator(mode="after")
    def _one_target(self) -> DomesticTarget:
        if (self.min_capacity_t is None) == (self.min_share is None):
            raise ValueError("give exactly one of min_capacity_t (t/yr) or min_share (of demand)")
        return self


Policy = Annotated[
    ExportBan | Tariff | CountryCap | DependenceCap | ContentRule | Feoc | MarketAccess | DomesticTarget,
    Field(discriminator="type"),
]

POLICY_TYPES: dict[str, type[PolicyBase]] = {
    "export_ban": ExportBan,
    "tariff": Tariff,
    "country_cap": CountryCap,
    "dependence_cap": DependenceCap,
    "content_rule": ContentRule,
    "feoc": Feoc,
    "market_access": MarketAccess,
    "domestic_target": DomesticTarget,
}

COUNTRY_FIELDS = ("exporter", "origin", "countries", "qualifying", "country")
"""Policy fields that name countries (checked against the dataset)."""


# ------------------------------------------------------------------------------- stockpile, shocks, risk
class Stockpile(StrictModel):
    """A strategic stockpile of one mineral: bought ahead (the same in every disruption scenario), drawn in need.

    ``initial_t`` is held before the horizon starts; the level stays within [0, ``capacity_t``]; at most
    ``max_purchase_t`` is added and ``max_draw_t`` drawn per year; holding costs ``holding_usd_per_t_yr``.
    """

    initial_t: Tonnes = 0.0
    capacity_t: Tonnes
    max_purchase_t: Tonnes | None = None
    max_draw_t: Tonnes | None = None
    holding_usd_per_t_yr: UsdPerTonne = 0.0

    @model_validator(mode="after")
    def _fits(self) -> Stockpile:
        if self.initial_t > self.capacity_t:
            raise ValueError(f"initial_t {self.initial_t:g} exceeds capacity_t {self.capacity_t:g}")
        return self


class Shock(StrictModel):
    """A named supply shock: output of sources located in (or owned by) ``country`` falls to ``share`` of normal.

    ``probability`` is used by sweeps and robust runs (each sample draws whether the shock happens); ``stress``
    applies every named shock in turn.
    """

    name: str
    country: str
    by: Literal["location", "owner"] = "location"
    minerals: NameList = None
    years: YearSpec = Field(default_factory=Years)
    share: Share = 0.0
    probability: Share = 1.0
    owner_threshold: Share = 0.5
    description: str = ""


class Distribution(StrictModel):
    """A multiplier drawn per sample: ``normal`` (mean, sd, truncated at 0), ``uniform`` (low, high),
    ``lognormal`` (mean and sd of the log), or ``triangular`` (low, mode, high)."""

    dist: Literal["normal", "uniform", "lognormal", "triangular"]
    mean: Annotated[float, Field(ge=-100.0, le=100.0)] | None = None
    sd: Multiplier | None = None
    low: Multiplier | None = None
    high: Multiplier | None = None
    mode: Multiplier | None = None

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        need = {"normal": ("mean", "sd"), "lognormal": ("mean", "sd"), "uniform": ("low", "high"),
                "triangular": ("low", "mode", "high")}[self.dist]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.dist} distribution needs {', '.join(need)} (missing {', '.join(missing)})")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low:g} is above high {self.high:g}")
        return self


class Uncertainty(StrictModel):
    """Uncertain parameters for ``sweep`` and ``robust``: multipliers on demand (per mineral), on capacity (per
    location country or source id) and on delivered costs (per mineral), plus the scenario's shocks with their
    probabilities. The key ``all`` applies to every mineral or country."""

    demand: dict[str, Distribution] = Field(default_factory=dict)
    capacity: dict[str, Distribution] = Field(default_factory=dict)
    cost: dict[str, Distribution] = Field(default_factory=dict)


class RobustSettings(StrictModel):
    """The two-stage stochastic run: ``scenarios`` sampled disruptions to plan against, ``evaluation`` fresh ones
    to test the plan on; the value of unmet demand in its cost is its expectation or its CVaR at ``alpha``."""

    scenarios: int = Field(20, ge=1, le=10_000)
    evaluation: int = Field(50, ge=1, le=100_000)
    risk: Literal["expected", "cvar"] = "expected"
    alpha: float = Field(0.9, gt=0.0, lt=1.0)
    seed: int = Field(1, ge=0, le=2**63 - 1)


class WorstCaseSettings(StrictModel):
    """The adversary of ``worstcase``: at most ``k`` moves, each cutting one mineral's supply located in
    (``location``), controlled by (``owner``, equity >= ``owner_threshold``) or either way tied to ``country``
    (default: the dependence country) to ``share`` of normal, from a year of ``start_years`` to the end of the
    horizon. Buyer-hosted JV output and licences are spared unless ``cut_jv_output`` (then cut in proportion to
    the country's equity)."""

    k: int = Field(1, ge=0, le=5)
    country: str | None = None
    by: list[Literal["location", "owner", "either"]] = Field(default_factory=lambda: ["either"], min_length=1)
    share: Share = 0.0
    start_years: YearSpec = Field(default_factory=Years)
    minerals: NameList = None
    owner_threshold: Share = 0.5
    cut_jv_output: bool = False

    @field_validator("by")
    @classmethod
    def _distinct(cls, by: list[str]) -> list[str]:
        if len(set(by)) != len(by):
            raise ValueError(f"each basis at most once (got {', '.join(by)})")
        return by


# ----------------------------------------------------------------------------------------------- market
class MarketGoal(StrictModel):
    """``market_goal``: the buyer region's dependence goal in market mode (step 2; needs ``market: equilibrium``):
    a cap θ on its China share of supply in every mineral-year, Σ a·x_buyer ≤ θ · Σ x_buyer
    (``engine/market/build.py``). Give one of:

    - ``share_of_supply_max``: θ itself (a share, 0-1);
    - ``budget``: the budget rule on the parametric frontier of θ (``engine/market/frontier.py``): ``'+2%'`` allows
      a fall in the buyer region's welfare of at most 2% of what it spends on these minerals in the uncapped
      equilibrium (present value), or an absolute present value in USD; ``points`` values of θ are solved.

    Neither (the default): no goal.
    """

    share_of_supply_max: Share | None = None
    budget: BudgetSpec | None = None
    points: int = Field(21, ge=2, le=1001)

    @model_validator(mode="after")
    def _one_goal(self) -> MarketGoal:
        if self.share_of_supply_max is not None and self.budget is not None:
            raise ValueError("expected one of share_of_supply_max (a cap θ, a share 0-1) and budget (a welfare "
                             "budget such as '+2%' for the frontier of θ), not both")
        return self

    @property
    def is_set(self) -> bool:
        return self.share_of_supply_max is not None or self.budget is not None


# --------------------------------------------------------------------------------------------- scenario
class Scenario(StrictModel):
    """A validated scenario: the buyer, the horizon, the objective and the policies in force."""

    name: Annotated[str, BeforeValidator(_safe_name)]
    description: str = ""
    extends: str | None = None
    remove_policies: list[str] = Field(default_factory=list)
    buyer: str = "USA"
    horizon: Horizon = Field(default_factory=Horizon)
    minerals: NameList = None
    objective: Objective = Field(default_factory=Objective)
    dependence: DependenceSettings = Field(default_factory=DependenceSettings)
    finance: Finance = Field(default_factory=Finance)
    data: DataSettings = Field(default_factory=DataSettings)
    policies: list[Policy] = Field(default_factory=list)
    stockpile: dict[str, Stockpile] = Field(default_factory=dict)
    shocks: list[Shock] = Field(default_factory=list)
    uncertainty: Uncertainty = Field(default_factory=Uncertainty)
    robust: RobustSettings = Field(default_factory=RobustSettings)
    worstcase: WorstCaseSettings = Field(default_factory=WorstCaseSettings)
    strict: bool = False
    market: Literal["none", "equilibrium"] = "none"
    """``none``: today's single-buyer model. ``equilibrium``: the spatial price equilibrium of several regions
    (market mode: ``critmin solve`` only; see the README's "Market mode")."""
    market_goal: MarketGoal = Field(default_factory=MarketGoal)
    """The buyer region's goal in market mode (``MarketGoal``); unset by default."""

    @field_validator("market_goal")
    @classmethod
    def _goal_needs_market(cls, goal: MarketGoal, info: ValidationInfo) -> MarketGoal:
        if goal.is_set and info.data.get("market", "none") == "none":
            raise ValueError("a goal needs market: equilibrium; got market: none")
        return goal

    @property
    def goal(self) -> MarketGoal | None:
        """The market goal, if the scenario sets one."""
        return self.market_goal if self.market_goal.is_set else None

    @model_serializer(mode="wrap")
    def _leave_out_default_market(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """``market: none`` is left out of a dump, so that a scenario's hash, its ``scenario.yaml`` and every
        output of today's model stay byte for byte what they were before market mode existed."""
        dumped = handler(self)
        if isinstance(dumped, dict) and dumped.get("market") == "none":
            dumped.pop("market")
        if isinstance(dumped, dict) and not self.market_goal.is_set:
            dumped.pop("market_goal", None)
        return dumped

    @field_validator("policies")
    @classmethod
    def _unique_names(cls, policies: list[PolicyBase]) -> list[PolicyBase]:
        named = [p.model_copy(update={"name": p.name or f"{p.type}_{i + 1}"}) for i, p in enumerate(policies)]
        seen: set[str] = set()
        for p in named:
            if p.name in seen:
                raise ValueError(f"two policies are named '{p.name}'; names must be unique")
            seen.add(p.name)
        return named

    @property
    def years(self) -> list[int]:
        return self.horizon.years

    @property
    def base_year(self) -> int:
        return self.finance.base_year if self.finance.base_year is not None else self.horizon.start
