"""Turning a solution into tidy tables and metrics, recomputed from the flows (never read off objectives).

Tables (stable column names, documented in the README):

- ``flows``: tonnes per delivery (purchase or JV output) with its cost and China attribution;
- ``dependence``: per mineral and year, demand, supply, shortfall, attributed tonnes, China exposure and China
  share of supply (``Measures``), optimised and least-cost;
- ``costs``: per mineral, year and component, undiscounted and present-value USD;
- ``shortfall``: per mineral and year, unmet tonnes and their value.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.formulation.demand import demand_row_of
from engine.formulation.dependence import MeasureTerms, aggregate_weights, measure_terms
from engine.formulation.model import Model
from engine.formulation.supply import delivered_cost
from engine.inputs.ownership import group_sums
from engine.model.finance import capital_recovery_factor
from engine.model.joins import end_to_end, group_codes, positions, sort_order, strings, taken
from engine.model.pages import ordinary_pages

EPS = 1e-6  # tonnes below this (a gram) are reported as zero


@dataclass
class Tables:
    """The tidy result tables of one plan."""

    flows: pd.DataFrame
    dependence: pd.DataFrame
    costs: pd.DataFrame
    shortfall: pd.DataFrame
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)

    def items(self) -> list[tuple[str, pd.DataFrame]]:
        return [("flows", self.flows), ("dependence", self.dependence), ("costs", self.costs),
                ("shortfall", self.shortfall), *self.extra.items()]


def clean(values: np.ndarray) -> np.ndarray:
    """Zero out solver noise (tiny and negative-zero values)."""
    out = np.asarray(values, dtype=float).copy()
    out[np.abs(out) < EPS] = 0.0
    return out + 0.0


FLOW_ATTRIBUTES = ["scen", "mineral", "year", "id", "location", "owner", "attribution", "restricted_by"]
COST_COLUMNS = ["unit_cost_usd_per_t", "ad_valorem", "tariff_usd_per_t", "credit_loss_usd_per_t"]  # delivered_cost's


FLOW_COLUMNS = ["scen", "mineral", "year", "kind", "id", "location", "owner", "china_attribution", "tonnes",
                "unit_cost_usd_per_t", "cost_usd", "cost_pv_usd", "restricted_by"]


def flow_table(model: Model, x: np.ndarray) -> pd.DataFrame:
    """Deliveries with tonnes > 0 (purchases and JV output): who, where, how much, at what cost, how much
    counts as China. JV rows carry operating cost only; their capex is in ``builds`` and ``costs``.

    Sorted by its keys: scenario, mineral, year, kind (jv before purchase) and id, a lexsort on integer codes
    (ids in codepoint order), so the order never depends on the order of the model's rows. Assembled from the
    columns' arrays, one frame at the end (``tests/test_table_assembly.py``: the frames pandas' selections, concat
    and take gave, to the bit)."""
    frames = model.delivery_frames()
    parts: dict[str, list] = {name: [] for name in ("scen", "mineral", "year", "id", "china_attribution", "tonnes",
                                                     "unit_cost_usd_per_t", "cost_usd", "cost_pv_usd", "kind")}
    kept = []
    for block, frame in frames:
        tonnes = clean(x[model.block_cols(block)])
        keep = np.flatnonzero(tonnes > 0)
        unit = delivered_cost({name: frame[name].to_numpy()[keep] for name in COST_COLUMNS})  # the rows kept
        tonnes = tonnes[keep]
        for name in ("scen", "mineral", "year", "id"):
            parts[name].append(taken(frame[name], keep))
        parts["china_attribution"].append(taken(frame["attribution"], keep))
        parts["kind"].append(strings("purchase" if block == "flow" else "jv", len(keep)))
        parts["tonnes"].append(tonnes)
        parts["unit_cost_usd_per_t"].append(unit)
        parts["cost_usd"].append(tonnes * unit)
        parts["cost_pv_usd"].append(tonnes * unit * model.discount(parts["year"][-1]))
        kept.append(keep)
    out = {name: end_to_end(values) for name, values in parts.items()}
    order = sort_order([pd.factorize(out["scen"], sort=True)[0], pd.factorize(out["mineral"], sort=True)[0],
                        np.asarray(out["year"]), np.asarray(out["kind"]) == "purchase",
                        pd.factorize(out["id"], sort=True)[0]])
    table = {name: values.take(order) for name, values in out.items()}
    first = np.cumsum([0] + [len(frame) for _, frame in frames[:-1]])
    at = np.concatenate([start + keep for start, keep in zip(first, kept, strict=True)])[order]
    for name in ("location", "owner", "restricted_by"):  # strings taken once, at their rows in the frames end to end
        table[name] = end_to_end([frame[name] for _, frame in frames]).take(at)
    return pd.DataFrame({name: table[name] for name in FLOW_COLUMNS})


OWNER_COLUMNS = ["scen", "mineral", "year", "owner", "tonnes"]


def owner_table(model: Model, flows: pd.DataFrame) -> pd.DataFrame:
    """Tonnes delivered by the home country of their owners, each delivery's tonnes split across its owners by
    equity share (a source's holdings completed by its location country, ``ownership.equity_table``; a JV's partner
    and its host, ``jv.jv_equity``; a licence wholly its host's)::

        tonnes[scen, mineral, year, owner] = Σ_{deliveries d of that row} tonnes_d × equity_share[d, owner]

    The one table of tonnes by owner: the sourcing chart's owner panel, the report and the workbook read it
    (``flows``' ``owner`` is each delivery's largest owner alone). Sorted by its keys; rows of zero tonnes left
    out. Each delivery is split in the equity table's order of its holdings and the sums are pandas' group sums
    in that order (``group_sums``): the table a left merge of the flows with the equity table and a groupby give,
    to the bit (``tests/test_table_assembly.py``)."""
    if flows.empty:
        return pd.DataFrame(columns=OWNER_COLUMNS)
    equity = model.equity
    source, sources = pd.factorize(equity["source_id"])
    by_source = np.argsort(source, kind="stable")  # each source's holdings together, in the table's order
    held = np.bincount(source, minlength=len(sources))
    at = positions(flows["id"], sources)  # the delivery's source, or -1: no holdings listed
    first = np.where(at >= 0, (np.cumsum(held) - held)[at], 0)
    count = np.where(at >= 0, held[at], 1)  # a delivery without listed holdings is its location's
    row = np.repeat(np.arange(len(at)), count)
    listed = np.repeat(at >= 0, count)
    within = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    holding = by_source[np.where(listed, np.repeat(first, count) + within, 0)]
    owner_code, location_code = pd.factorize(equity["owner"], sort=True), pd.factorize(flows["location"], sort=True)
    owners = np.unique(np.concatenate([owner_code[1].to_numpy(), location_code[1].to_numpy()]))  # codepoint order
    owner = np.where(listed, positions(owner_code[1], owners)[owner_code[0]][holding],
                     positions(location_code[1], owners)[location_code[0]][row])
    tonnes = flows["tonnes"].to_numpy()[row] * np.where(listed, equity["equity_share"].to_numpy(dtype=float)[holding],
                                                          1.0)
    keys = [pd.factorize(flows[name], sort=True)[0][row] for name in ("scen", "mineral", "year")]
    first_row, group = group_codes([*keys, owner])
    sums = clean(group_sums(group, tonnes, len(first_row)))
    kept = first_row[sums > 0]
    return pd.DataFrame({"scen": taken(flows["scen"], row[kept]), "mineral": taken(flows["mineral"], row[kept]),
                         "year": taken(flows["year"], row[kept]),
                         "owner": pd.array(owners[owner[kept]], dtype=flows["owner"].dtype), "tonnes": sums[sums > 0]})


def build_table(model: Model, x: np.ndarray) -> pd.DataFrame:
    """JV and licence builds with capacity > 0: what, with whom, where, when, how big, what it costs; sorted by
    its keys (option_id, year_started). Each build's option attributes are taken at its option's position (what
    ``map`` on the option table gives)."""
    columns = ["option_id", "mineral", "mode", "partner", "host", "partner_equity_share", "year_started",
               "capacity_tpy", "year_online", "capex_usd", "capex_annuity_usd_per_yr"]
    if model.builds.empty:
        return pd.DataFrame(columns=columns)
    b = model.builds
    terms = _cost_terms(model)
    size = clean(x[model.block_cols("build")])
    rows = terms.build_order[size[terms.build_order] > 0]  # built, in (option_id, year_started) order
    option = positions(b["option_id"], model.jv_options["option_id"])[rows]
    capex = size[rows] * terms.capex_per_tpy[rows]
    opts = model.jv_options
    return pd.DataFrame({
        "option_id": taken(b["option_id"], rows), "mineral": taken(b["mineral"], rows),
        **{name: taken(opts[name], option) for name in ("mode", "partner", "host", "partner_equity_share")},
        "year_started": taken(b["year"], rows), "capacity_tpy": size[rows], "year_online": taken(b["online"], rows),
        "capex_usd": capex, "capex_annuity_usd_per_yr": capex * _crf(model),
    })


def _same(held: tuple, current: tuple) -> bool:
    """Whether a cache was built from these very tables. The cache holds the tables themselves, not their ids: a
    replaced table's id could be reused by a new one while the cache still held only the number."""
    return len(held) == len(current) and all(a is b for a, b in zip(held, current, strict=True))


@dataclass
class _ShareTerms:
    """What the measures need of a model that does not depend on the solution: their linear terms
    (``dependence.measure_terms``), each demand row's demand, and for the aggregate the rows with demand, their
    probability × mineral weight, the total weight and their mineral. Built once per model."""

    terms: MeasureTerms
    demand: np.ndarray
    kept: np.ndarray  # demand rows with demand > 0
    weighted: np.ndarray  # probability × mineral weight of each kept row
    total: float  # Σ mineral weights over the first scenario's kept rows (1 if none): ``aggregate_row_weights``
    mineral: np.ndarray  # each kept row's mineral, as a position in ``model.minerals`` (-1 if not listed)
    key: tuple


def _share_key(model: Model) -> tuple:
    """The tables (and scenario) a model's ``_ShareTerms`` are made from."""
    return (model.deliveries, model.demand, model.stockpile, model.scenarios, model.scenario)


def _share_terms(model: Model) -> _ShareTerms:
    """The model's ``_ShareTerms``, built on first use and kept on the model (rebuilt if its tables are replaced)."""
    key = _share_key(model)
    terms = getattr(model, "_share_terms_cache", None)
    if terms is not None and _same(terms.key, key):
        return terms
    d = model.demand
    demand = d["demand_t"].to_numpy(dtype=float)
    kept = demand > 0
    t = d[kept]
    weighted, total = aggregate_row_weights(model, t)
    minerals = list(model.minerals)
    terms = _ShareTerms(measure_terms(model), demand, kept, weighted, total,
                        np.array([minerals.index(m) if m in minerals else -1 for m in t["mineral"]], dtype=np.int64),
                        key)
    model._share_terms_cache = terms
    return terms


@dataclass
class Measures:
    """Per demand row (scen, mineral, year) of a plan: the tonnes the measures are made of, and the two measures
    (``dependence.py`` gives their sums)::

        china_exposure_pct        = 100 × (china_t + shortfall_t) / demand_t     (NaN without demand)
        china_share_of_supply_pct = 100 × china_t / supplied_t                   (NaN when nothing is supplied)

    ``supplied_t``: deliveries to demand and stock draws (purchases for stock are not that year's supply);
    ``china_t``: their tonnes attributed to the dependence country, a draw with the attribution of what was
    bought. The share is at most 100% (a tonne supplied is attributed at most once; solver noise is clipped)."""

    supplied_t: np.ndarray
    china_t: np.ndarray
    shortfall_t: np.ndarray
    exposure_pct: np.ndarray
    share_of_supply_pct: np.ndarray


def measures(model: Model, x: np.ndarray) -> Measures:
    """The two measures of every demand row of a plan, from its columns: the one definition every command uses."""
    st = _share_terms(model)
    terms = st.terms
    values = clean(x[terms.cols])
    n = len(st.demand)
    supplied = clean(np.bincount(terms.rows, values * terms.supplied, minlength=n))
    china = np.minimum(clean(np.maximum(np.bincount(terms.rows, values * terms.attributed, minlength=n), 0.0)),
                       supplied)
    short = clean(np.bincount(terms.rows, values * terms.unmet, minlength=n))
    demand = st.demand
    exposure = np.where(demand > 0, 100.0 * (china + short) / np.where(demand > 0, demand, 1), np.nan)
    share = np.where(supplied > 0, 100.0 * china / np.where(supplied > 0, supplied, 1), np.nan)
    return Measures(supplied, china, short, exposure, share)


def measures_of(model: Model, x: np.ndarray, keys: pd.DataFrame) -> Measures:
    """``measures`` of the demand rows named by ``keys`` (scen, mineral, year), in their order (a policy row's)."""
    m = measures(model, x)
    rows = demand_row_of(model, keys)
    return Measures(*(np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)
                      for values in (m.supplied_t, m.china_t, m.shortfall_t, m.exposure_pct, m.share_of_supply_pct)))


def china_exposure_pct(model: Model, x: np.ndarray) -> np.ndarray:
    """China exposure of each demand row (scen, mineral, year), in percent: the ``china_exposure_pct`` column of
    ``attributed_by_group`` (``Measures``)."""
    return measures(model, x).exposure_pct


def china_share_of_supply_pct(model: Model, x: np.ndarray) -> np.ndarray:
    """China share of supply of each demand row (scen, mineral, year), in percent (NaN when nothing is supplied):
    the ``china_share_of_supply_pct`` column of ``attributed_by_group`` (``Measures``)."""
    return measures(model, x).share_of_supply_pct


MEASURE_COLUMNS = ("china_exposure_pct", "china_share_of_supply_pct")
"""The two measures' columns of the dependence table (and, prefixed ``least_cost_``, of the least-cost plan)."""

MEASURE_UNITS = {
    "exposure": "percent of demand: tonnes attributed to {country} plus tonnes unmet",
    "share_of_supply": "percent of tonnes supplied (deliveries and stock draws) attributed to {country}; null when "
                       "nothing is supplied",
}
"""The two measures as summaries name them (``exposure``, ``share_of_supply``), with their units."""


def attributed_by_group(model: Model, x: np.ndarray) -> pd.DataFrame:
    """Per (scen, mineral, year): demand, tonnes supplied, shortfall, attributed tonnes and the two measures."""
    m = measures(model, x)
    out = model.demand[["scen", "mineral", "year", "demand_t"]].copy()
    out["supplied_t"] = m.supplied_t
    out["china_t"] = m.china_t
    out["shortfall_t"] = m.shortfall_t
    out["china_exposure_pct"] = m.exposure_pct
    out["china_share_of_supply_pct"] = m.share_of_supply_pct
    return out


def dependence_table(model: Model, x: np.ndarray, least_cost_x: np.ndarray | None) -> pd.DataFrame:
    """Per demand row: demand, supply, shortfall, attributed tonnes and the two measures of the plan, and the two
    measures of the least-cost plan (NaN without one): ``attributed_by_group``'s columns side by side."""
    m = measures(model, x)
    ref = measures(model, least_cost_x) if least_cost_x is not None else None
    nan = np.full(len(model.demand), np.nan)
    d = model.demand
    return pd.DataFrame({
        **{name: taken(d[name], None) for name in ("scen", "mineral", "year", "demand_t")},
        "supplied_t": m.supplied_t, "shortfall_t": m.shortfall_t, "china_t": m.china_t,
        "china_exposure_pct": m.exposure_pct, "china_share_of_supply_pct": m.share_of_supply_pct,
        "least_cost_china_exposure_pct": ref.exposure_pct if ref is not None else nan,
        "least_cost_china_share_of_supply_pct": ref.share_of_supply_pct if ref is not None else nan,
    })


@dataclass
class _CostTerms:
    """What ``cost_components`` needs of a model that does not depend on the solution: per delivery block its
    columns, demand rows and USD per tonne of each component; the stockpile's rows and holding cost; the capex
    annuity's payment rows of every build; the sort order of the demand rows. Built once per model."""

    blocks: list[tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]]
    stock_rows: np.ndarray | None
    stock_holding: np.ndarray | None
    capex_per_tpy: np.ndarray  # per build, in model.builds order
    build_order: np.ndarray  # build_table's order (option_id, year_started)
    pay_rows: np.ndarray  # demand row of each annuity payment, in the order cost_components has always summed them
    pay_build: np.ndarray  # the build (model.builds position) each payment belongs to
    group_order: np.ndarray  # demand rows sorted by (scen, mineral, year)
    group_prob: np.ndarray  # the scenario probability of each demand row
    discount: np.ndarray  # the present-value factor of each demand row's year (``model.discount``)
    unmet_usd_per_t: np.ndarray  # the value of a tonne unmet of each demand row
    present: dict[str, np.ndarray]  # per component of the delivery blocks and stockpile: demand rows it has terms on
    unit_columns: dict[str, dict[str, np.ndarray]]  # per delivery block, the columns its costs per tonne come from
    key: tuple


def _cost_terms(model: Model) -> _CostTerms:
    """The model's ``_CostTerms``, built on first use and kept on the model (rebuilt if its tables are replaced)."""
    key = _cost_key(model)
    terms = getattr(model, "_cost_terms_cache", None)
    if terms is not None and _same(terms.key, key):
        return terms
    unit_columns = {block: {c: frame[c].to_numpy() for c in UNIT_COLUMNS[block]}
                    for block, frame in model.delivery_frames()}
    blocks = [(block, model.block_cols(block), frame["demand_row"].to_numpy(), _unit_costs(block, unit_columns[block]))
              for block, frame in model.delivery_frames()]
    sp = model.stockpile
    stock_rows = demand_row_of(model, sp) if len(sp) else None
    stock_holding = sp["holding"].to_numpy() if len(sp) else None
    b = model.builds
    if b.empty:
        capex_per_tpy = build_order = pay_rows = pay_build = np.zeros(0, dtype=np.int64)
    else:
        opts = model.jv_options.set_index("option_id")
        capex_per_tpy = b["option_id"].map(opts["capex_usd_per_tpy"]).to_numpy()
        build_order = np.asarray(b.reset_index(drop=True).sort_values(["option_id", "year"], kind="stable").index)
        life = model.scenario.finance.asset_life_years
        online = b["online"].to_numpy()[build_order]
        years = np.asarray(model.years)
        # one payment per scenario, build (in build_table's order) and year it is online within the asset's life:
        # the (build, year) pairs in that order are the row-major non-zeros of the online mask
        online_in = (online[:, None] <= years[None, :]) & (years[None, :] < online[:, None] + life)
        pair_build, pair_year = np.nonzero(online_in)
        n_scen = len(model.scenarios)
        pay_build = np.tile(build_order[pair_build], n_scen).astype(np.int64)
        mineral_code, minerals = pd.factorize(b["mineral"])  # the payments' minerals as codes: no strings copied
        pay_rows = _payment_rows(model, mineral_code[pay_build], minerals, len(pair_build),
                                 np.tile(years[pair_year], n_scen))
    d = model.demand
    group_order = np.asarray(d.reset_index(drop=True).sort_values(["scen", "mineral", "year"], kind="stable").index)
    group_prob = d["scen"].map(model.scenarios.set_index("scen")["probability"]).to_numpy(dtype=float)
    terms = _CostTerms(blocks, stock_rows, stock_holding, capex_per_tpy, build_order, pay_rows, pay_build,
                       group_order, group_prob, model.discount(d["year"]),
                       d["unmet_value_usd_per_t"].to_numpy(), {}, unit_columns, key)
    terms.present = _present(terms, len(d))
    model._cost_terms_cache = terms
    return terms


def _payment_rows(model: Model, mineral_code: np.ndarray, minerals: pd.Index, per_scenario: int,
                  year: np.ndarray) -> np.ndarray:
    """``demand_row_of`` of the capex payments (each scenario's ``per_scenario`` payments in turn; minerals as codes
    into ``minerals``), by arithmetic on the positions of the few scenarios and minerals when the demand table is
    the full grid (380,000 payments at 1.27M non-zeros: 35 ms as a frame and its join, 3 ms so)."""
    scen = model.scenarios["scen"].to_numpy()
    if not len(year):
        return np.zeros(0, dtype=np.int64)
    d = model.demand
    scens = np.sort(d["scen"].unique())
    grid = np.sort(d["mineral"].unique())
    first, n_years = model.years[0], len(model.years)
    if len(d) != len(scens) * len(grid) * n_years:  # not a full grid: demand_row_of's join, on a frame
        every = pd.DataFrame({"scen": np.repeat(scen, per_scenario),
                              "mineral": pd.Categorical.from_codes(mineral_code, categories=minerals),
                              "year": year})
        return demand_row_of(model, every)
    s = np.repeat(positions(scen, scens), per_scenario)
    at = positions(np.asarray(minerals), grid)
    m = np.where(mineral_code >= 0, at[np.maximum(mineral_code, 0)], -1)
    y = year.astype(np.int64) - first
    ok = (s >= 0) & (m >= 0) & (y >= 0) & (y < n_years)
    return np.where(ok, (s * len(grid) + m) * n_years + y, -1).astype(np.int64)


def _cost_key(model: Model) -> tuple:
    """The tables (and scenario) a model's ``_CostTerms`` are made from."""
    return (model.supply, model.jv_output, model.stockpile, model.demand, model.builds, model.jv_options,
            model.scenarios, model.scenario)


def _present(terms: _CostTerms, groups: int) -> dict[str, np.ndarray]:
    """Per component of the delivery blocks and the stockpile, the demand rows it has terms on (whatever the
    solution: jv_capex, whose terms are the builds above zero, is found per solution)."""
    present: dict[str, np.ndarray] = {}
    parts = [(list(units), rows) for _block, _cols, rows, units in terms.blocks]
    if terms.stock_rows is not None:
        parts.append((["stockpile_holding"], terms.stock_rows))
    for components, rows in parts:
        has = np.bincount(rows, minlength=groups) > 0  # once per block: every component of it has the same rows
        for component in components:
            present[component] = present.get(component, np.zeros(groups, bool)) | has
    return present


UNIT_COLUMNS = {"flow": ("unit_cost_usd_per_t", "ad_valorem", "tariff_usd_per_t", "credit_loss_usd_per_t"),
                "jv_out": ("unit_cost_usd_per_t", "opex_usd_per_t", "royalty_usd_per_t", "ad_valorem",
                           "tariff_usd_per_t", "credit_loss_usd_per_t")}
"""The columns of each delivery block's table its costs per tonne come from (``_unit_costs``)."""


def _unit_costs(block: str, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """USD per tonne of each cost component of a delivery block, from its ``UNIT_COLUMNS``."""
    base = columns["unit_cost_usd_per_t"]
    units = {"purchase": base} if block == "flow" else {
        "jv_opex": columns["opex_usd_per_t"], "jv_royalty": columns["royalty_usd_per_t"]}
    units["tariff"] = base * columns["ad_valorem"] + columns["tariff_usd_per_t"]
    units["feoc_credit_loss"] = columns["credit_loss_usd_per_t"]
    return units


def share_terms(model: Model, like: Model) -> None:
    """Give ``model`` the cost and share terms of ``like`` with its own costs per tonne and demand, without
    rebuilding the rest: for a sample changed from ``like`` (``formulation/variants.py``: the same columns, rows,
    builds, stockpile and demand keys, one scenario of probability 1; only the columns ``variants.SAMPLE_OWN``
    names are the sample's own, every other column is ``like``'s), exactly what ``_cost_terms`` and
    ``_share_terms`` would build. Only those columns of ``model`` are read."""
    from engine.formulation.variants import SAMPLE_OWN  # samples only: kept off a solve's imports (1.5 ms)

    terms = _cost_terms(like)
    frames = dict(model.delivery_frames())
    blocks, unit_columns = [], {}
    for block, cols, rows, _units in terms.blocks:
        own = {c: frames[block][c].to_numpy() for c in SAMPLE_OWN[block] if c in terms.unit_columns[block]}
        unit_columns[block] = {**terms.unit_columns[block], **own}
        blocks.append((block, cols, rows, _unit_costs(block, unit_columns[block])))
    model._cost_terms_cache = dataclasses.replace(terms, blocks=blocks, unit_columns=unit_columns,
                                                  key=_cost_key(model))
    shares = _share_terms(like)
    demand = model.demand["demand_t"].to_numpy(dtype=float)
    kept = demand > 0
    if not np.array_equal(kept, shares.kept):  # another set of rows with demand: their weights afresh
        return
    model._share_terms_cache = dataclasses.replace(shares, demand=demand, kept=kept, key=_share_key(model))


def _component_sums(model: Model, x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """USD per demand row of each cost component, and where each component has terms: the one computation behind
    ``cost_components`` and ``total_cost_pv``."""
    terms = _cost_terms(model)
    groups = len(terms.group_order)
    sums: dict[str, np.ndarray] = {}
    present = dict(terms.present)

    def add(component: str, rows: np.ndarray, values: np.ndarray) -> None:
        sums[component] = sums.get(component, np.zeros(groups)) + np.bincount(rows, values, minlength=groups)

    for _block, cols, rows, units in terms.blocks:
        tonnes = clean(x[cols])
        for component, unit in units.items():
            add(component, rows, tonnes * unit)
    if terms.stock_rows is not None:
        add("stockpile_holding", terms.stock_rows, clean(x[model.block_cols("stock_level")]) * terms.stock_holding)
    if len(terms.build_order):
        size = clean(x[model.block_cols("build")])
        annuity = size * terms.capex_per_tpy * _crf(model)
        paying = size[terms.pay_build] > 0
        if paying.any():
            add("jv_capex", terms.pay_rows[paying], annuity[terms.pay_build[paying]])
            present["jv_capex"] = np.bincount(terms.pay_rows[paying], minlength=groups) > 0
    return sums, present


def _crf(model: Model) -> float:
    fin = model.scenario.finance
    return capital_recovery_factor(fin.discount_rate, fin.asset_life_years)


def cost_components(model: Model, x: np.ndarray, builds: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long table of cost by (scen, mineral, year, component) in USD, undiscounted and PV.

    Components: purchase, tariff, feoc_credit_loss (purchases and JV output alike), jv_opex, jv_royalty,
    stockpile_holding and jv_capex (the annuity of the capacity built, charged in every scenario: builds are
    first-stage). Each component is summed onto the demand rows (one per scen, mineral, year) with bincount
    (``_component_sums``, which ``total_cost_pv`` sums too). ``builds`` is accepted for callers that have the
    solution's ``build_table`` already; the annuities come from ``x`` either way.
    """
    sums, present = _component_sums(model, x)
    names = sorted(sums)
    parts = [(np.flatnonzero(present[c]), names.index(c), sums[c]) for c in sums]
    row = np.concatenate([rows for rows, _, _ in parts])
    component = np.concatenate([np.full(len(rows), code) for rows, code, _ in parts])
    usd = np.concatenate([values[rows] for rows, _, values in parts])
    rank = np.empty(len(model.demand), dtype=np.int64)
    rank[_cost_terms(model).group_order] = np.arange(len(model.demand))  # the row's place by (scen, mineral, year)
    order = np.argsort(rank[row] * len(names) + component, kind="stable")
    row, usd = row[order], usd[order]
    d = model.demand
    year = taken(d["year"], row)
    return pd.DataFrame({"scen": taken(d["scen"], row), "mineral": taken(d["mineral"], row), "year": year,
                         "component": pd.array(np.array(names, dtype=object)[component[order]], dtype="str"),
                         "usd": usd, "pv_usd": usd * model.discount(year)})


def unmet_value(model: Model, x: np.ndarray) -> pd.DataFrame:
    """Unmet demand and its value per (scen, mineral, year), the one valuation every command uses.

    A tonne unmet is worth ``unmet_value_usd_per_t`` of the demand table (``UNMET_DEMAND_PRICE_MULTIPLE`` times
    the mineral's reference price): ``value_usd`` in that year's money, ``value_pv_usd`` discounted to the base
    year like costs (the shortfall objective's terms, before the scenario's probability)."""
    d = model.demand
    short, value, value_pv = _unmet(model, x)
    return pd.DataFrame({"scen": d["scen"], "mineral": d["mineral"], "year": d["year"], "shortfall_t": short,
                         "value_usd": value, "value_pv_usd": value_pv})


def _unmet(model: Model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per demand row: tonnes unmet, their value and its present value (``unmet_value``'s columns)."""
    terms = _cost_terms(model)
    short = clean(x[model.block_cols("short")])
    value = short * terms.unmet_usd_per_t
    return short, value, value * terms.discount


def unmet_value_pv(model: Model, x: np.ndarray) -> float:
    """Expected present value of the unmet demand of a solution at its value, USD (see ``unmet_value``): its
    ``value_pv_usd`` column totalled as ``expected_total`` does, without building the table."""
    return float((_unmet(model, x)[2] * _cost_terms(model).group_prob).sum())


def cost_with_unmet_pv(model: Model, x: np.ndarray) -> float:
    """Expected present value of cost plus unmet demand at its value, USD: what a plan costs the buyer when
    demand it leaves unmet is counted (``total_cost_pv`` + ``unmet_value_pv``)."""
    return total_cost_pv(model, x) + unmet_value_pv(model, x)


def shortfall_table(model: Model, x: np.ndarray) -> pd.DataFrame:
    d = model.demand
    value = unmet_value(model, x)
    short = value["shortfall_t"].to_numpy()
    demand = d["demand_t"].to_numpy()
    return pd.DataFrame({
        "scen": d["scen"], "mineral": d["mineral"], "year": d["year"], "demand_t": demand,
        "shortfall_t": short,
        "shortfall_pct": np.where(demand > 0, 100.0 * short / np.where(demand > 0, demand, 1), 0.0),
        "value_usd": value["value_usd"].to_numpy(), "value_pv_usd": value["value_pv_usd"].to_numpy(),
    })


def stockpile_table(model: Model, x: np.ndarray) -> pd.DataFrame:
    """Stockpile purchases, draws and levels per mineral, year and scenario, and of each the part attributed to
    the dependence country (``stockpile.py``)."""
    sp = model.stockpile
    if sp.empty:
        return pd.DataFrame(columns=["scen", "mineral", "year", "put_t", "draw_t", "stock_t", "put_attributed_t",
                                     "draw_attributed_t", "stock_attributed_t"])
    return pd.DataFrame({
        "scen": sp["scen"], "mineral": sp["mineral"], "year": sp["year"],
        "put_t": clean(x[model.block_cols("stock_put")])[sp["put_index"].to_numpy()],  # the row's (mineral, year)
        "draw_t": clean(x[model.block_cols("stock_draw")]), "stock_t": clean(x[model.block_cols("stock_level")]),
        "put_attributed_t": clean(x[model.block_cols("stock_put_attr")]),
        "draw_attributed_t": clean(x[model.block_cols("stock_draw_attr")]),
        "stock_attributed_t": clean(x[model.block_cols("stock_level_attr")]),
    })


def make_tables(model: Model, x: np.ndarray, least_cost_x: np.ndarray | None = None) -> Tables:
    """All result tables of a solution (numpy's arrays on ordinary pages meanwhile: ``engine.model.pages``)."""
    with ordinary_pages():
        return _make_tables(model, x, least_cost_x)


def _make_tables(model: Model, x: np.ndarray, least_cost_x: np.ndarray | None) -> Tables:
    flows = flow_table(model, x)
    extra = {"owners": owner_table(model, flows), "builds": build_table(model, x)}
    if len(model.stockpile):
        extra["stockpile"] = stockpile_table(model, x)
    return Tables(
        flows=flows,
        dependence=dependence_table(model, x, least_cost_x),
        costs=cost_components(model, x, extra["builds"]),
        shortfall=shortfall_table(model, x),
        extra=extra,
    )


def expected_total(model: Model, frame: pd.DataFrame, column: str) -> float:
    """Σ over scenarios of probability × the column's total in that scenario (the plain total for one)."""
    prob = frame["scen"].map(model.scenarios.set_index("scen")["probability"]).to_numpy(dtype=float)
    return float((frame[column].to_numpy(dtype=float) * prob).sum())


def total_cost_pv(model: Model, x: np.ndarray) -> float:
    """Expected present value of all costs of a solution, USD: Σ probability × discount × USD over the rows of the
    cost table (``cost_components``) in its order, from the same component sums without building the table."""
    sums, present = _component_sums(model, x)
    terms = _cost_terms(model)
    names = sorted(sums)
    order = terms.group_order
    usd = np.column_stack([sums[c][order] for c in names])
    mask = np.column_stack([present[c][order] for c in names])
    rows = np.broadcast_to(order[:, None], mask.shape)[mask]
    pv = usd[mask] * terms.discount[rows]
    return float((pv * terms.group_prob[rows]).sum())


def dependence_metric(model: Model, table: pd.DataFrame, column: str = "china_exposure_pct") -> float:
    """The objective's aggregate (``aggregate_over_minerals``) of a measure's column of a table of demand rows
    (``attributed_by_group``, ``dependence_table``, or some of their rows); rows where it is undefined (NaN: share
    of supply with nothing supplied) are left out."""
    t = table[table["demand_t"] > 0]
    minerals = list(model.minerals)
    codes = np.array([minerals.index(m) if m in minerals else -1 for m in t["mineral"]], dtype=np.int64)
    return _aggregate(model, t[column].to_numpy(dtype=float), *aggregate_row_weights(model, t), codes)


def overall_measures(model: Model, table: pd.DataFrame) -> dict[str, float]:
    """A plan's two measures overall (the objective's aggregate) from its ``attributed_by_group`` table (or some of
    its rows): ``exposure_pct`` and ``share_of_supply_pct``, the names every analysis table and summary uses."""
    return {"exposure_pct": dependence_metric(model, table, "china_exposure_pct"),
            "share_of_supply_pct": dependence_metric(model, table, "china_share_of_supply_pct")}


def aggregate_dependence(model: Model, values: np.ndarray) -> float:
    """``dependence_metric`` of a measure per demand row of ``model`` (``china_exposure_pct`` or
    ``china_share_of_supply_pct``), with the model's weights computed once."""
    terms = _share_terms(model)
    return _aggregate(model, values[terms.kept], terms.weighted, terms.total, terms.mineral)


def aggregate_row_weights(model: Model, rows: pd.DataFrame) -> tuple[np.ndarray, float]:
    """For demand rows with demand: each one's weight W in the aggregate (``dependence.aggregate_weights``: the
    scenario probability × mineral weight, × the value of demand under ``value``; the probability alone under
    ``leximin``, whose minerals are averaged over years one by one) and the total weight (``mean``: the sum of the
    mineral weights over the first scenario's rows; ``value``: Σ W; 1 if no rows)."""
    if rows.empty:
        return np.zeros(0), 1.0
    objective = model.scenario.objective
    prob = rows["scen"].map(model.scenarios.set_index("scen")["probability"]).to_numpy()
    if objective.aggregate == "leximin":
        return prob.astype(float), 1.0
    price = rows["mineral"].map(reference_prices(model)).to_numpy(dtype=float)
    weighted = aggregate_weights(objective, prob, rows["mineral"].to_numpy(), rows["demand_t"].to_numpy(), price)
    if objective.aggregate == "value":
        return weighted, float(weighted.sum()) or 1.0
    weight = rows["mineral"].map(objective.weights).fillna(1.0).to_numpy()
    first = (rows["scen"] == rows["scen"].iloc[0]).to_numpy()
    return weighted, float(weight[first].sum()) or 1.0


def reference_prices(model: Model) -> dict[str, float]:
    """Each modelled mineral's reference price, USD per tonne (the demand table's)."""
    d = model.demand
    return dict(zip(d["mineral"], d["price_usd_per_t"].astype(float), strict=True))


def _aggregate(model: Model, values: np.ndarray, weighted: np.ndarray, total: float, mineral: np.ndarray) -> float:
    """The objective's aggregate of a measure over demand rows with demand (``mineral``: each row's position in
    ``model.minerals``)::

        mean, value   Σ W × value / total          (``aggregate_row_weights``)
        max           the largest value
        leximin       the worst mineral's: max over minerals m of Σ_{rows of m} p × value / Σ_{rows of m} p

    Rows where the measure is undefined (NaN) are left out, the mean then taken over the others' weights
    (Σ W × value / Σ W); NaN when it is undefined in every row."""
    if not values.size:
        return 0.0
    defined = ~np.isnan(values)
    if not defined.any():
        return float("nan")
    aggregate = model.scenario.objective.aggregate
    if aggregate == "max":
        return float(values[defined].max())
    if aggregate == "leximin":
        codes = mineral[defined] + 1  # -1 (not listed) becomes 0
        sums = np.bincount(codes, weighted[defined] * values[defined])
        weights = np.bincount(codes, weighted[defined])
        listed = np.flatnonzero(weights[1:] > 0) + 1
        return float((sums[listed] / weights[listed]).max()) if listed.size else float("nan")
    if defined.all():
        return float((weighted * values).sum() / total)
    return float((weighted[defined] * values[defined]).sum() / weighted[defined].sum())


def per_mineral(table: pd.DataFrame, column: str, order: list[str]) -> dict[str, float]:
    """Mean over years (and scenarios) of a per-year measure, per mineral, in ``order`` (years where it is
    undefined left out)."""
    t = table[table["demand_t"] > 0]
    where = {m: k for k, m in enumerate(order)}
    codes = np.array([where.get(m, -1) for m in t["mineral"]], dtype=np.int64)
    return _mineral_means(codes, t[column].to_numpy(dtype=float), order)


def mineral_shares(model: Model, values: np.ndarray) -> dict[str, float]:
    """``per_mineral`` of a measure per demand row of ``model``, in ``model.minerals`` order."""
    terms = _share_terms(model)
    return _mineral_means(terms.mineral, values[terms.kept], list(model.minerals))


def _mineral_means(codes: np.ndarray, values: np.ndarray, order: list[str]) -> dict[str, float]:
    """Mean of ``values`` per mineral (``codes``: positions in ``order``, -1 for others), for minerals with values
    (NaN values left out)."""
    listed = (codes >= 0) & ~np.isnan(values)
    sums = np.bincount(codes[listed], values[listed], minlength=len(order))
    counts = np.bincount(codes[listed], minlength=len(order))
    return {m: float(sums[k] / counts[k]) for k, m in enumerate(order) if counts[k]}
