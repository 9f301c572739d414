"""The model of a one-scenario sample, changed from a model built once instead of built afresh.

A sample of a sweep or a robust evaluation (``engine/analysis/sampling.py``) changes numbers, never the model's
shape: its availability factors scale the upper bounds of purchases and JV output, its demand factors the demand
(the shortfall bounds, the demand rows and every row whose right-hand side is a share of demand, the dependence
objective and its unit), its cost factors the delivered costs (the cost objective). :class:`SampleModels` builds
the undisrupted model once, finds once where each factor lands (index maps), and makes each sample's model by
recomputing only those arrays, with the formulation's own arithmetic in its own order of operations::

    flow upper    = (capacity × exportable) × availability × allowed share        (supply.finalise_flow_bounds)
    jv_out upper  = (max size × allowed share) × availability                      (jv.finalise_jv_bounds)
    demand        = demand × demand factor                                         (demand.demand_table)
    cost term     = (p × δ_y) × (unit cost × cost factor × (1 + ad valorem) + tariff + credit loss) / money unit
    rows          = share × demand (country caps, content rules, dependence caps, domestic targets)
    dependence    = 100 × a / demand × (p × w / Σ w) / dependence unit             (dependence.py)

so that a sample's model equals ``build_model(loaded, sample)`` bit for bit: its LP (objectives, bounds, row
bounds, matrix, integrality, names) and the tables the results are read from (``tests/test_variants.py``). The
base model's columns these read are taken once (``_base_columns``); a sample comes as a ``ScenarioSet`` (its
factor rows matched to the delivery rows) or as a :class:`SampleFactors` (arrays: an availability grid over
(id, year), factors per mineral; how a sweep's draws arrive, without making tables).

Where that cannot hold the sample is built afresh, and ``fallback`` says why: a scenario whose dependence
objective is the maximum (its rows' coefficients are 1/demand: the matrix changes), a set of more than one
scenario, or availability rows without a year. When the runner starts, a probe sample with factors on every
mineral and source (one mineral's demand at zero) is made both ways and compared; any difference (a constraint
family this module does not know about) sends every sample to a fresh build.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.formulation import build_model
from engine.formulation.demand import demand_row_of
from engine.formulation.dependence import exposure_terms
from engine.formulation.disruptions import ScenarioSet
from engine.formulation.domestic import existing_domestic_capacity
from engine.formulation.model import Model, scale_unit
from engine.inputs.scenario import LoadedScenario
from engine.model.lp import LinearProgram

KNOWN_ROWS = ("demand", "stock_balance", "stock_attr_", "stock_other_origin", "jv_capacity", "jv_max_size",
              "jv_min_size", "export_quota:", "dependence_cap:", "country_cap:", "content_rule:", "domestic_target:")
"""Constraint families this module knows: those up to dependence caps (shares of supply: right-hand side 0) do
not depend on a sample; the rest have a right-hand side that is a share of demand."""


@dataclasses.dataclass
class _ShareRows:
    """A row family whose bound is ``share × demand`` (or ``max(share × demand − existing, 0)``)."""

    name: str
    side: str  # "lower" or "upper"
    share: np.ndarray  # per row
    demand_row: np.ndarray  # per row, into model.demand
    existing: np.ndarray | None = None  # domestic targets: capacity already hosted at home


class SampleFactors(ScenarioSet):
    """A one-scenario set given as arrays, what ``SampleModels.model`` changes a model with (it reads no table):
    availability as a grid over distinct ids × years (the product of each pair's factors in the order the set's
    rows give them, 1 where none), and demand and cost factors per mineral (minerals without one: 1). Its tables
    ``availability``, ``demand`` and ``cost`` are those of the set ``tables()`` returns, made on first read (a
    fresh build reads them; a changed model never does); ``table`` is the scenario table itself."""

    def __init__(self, table: pd.DataFrame, grid_ids: np.ndarray, grid_years: np.ndarray,
                 availability_grid: np.ndarray, demand_factors: dict[str, float], cost_factors: dict[str, float],
                 tables: Callable[[], ScenarioSet]) -> None:
        self.table = table
        self.grid_ids, self.grid_years, self.availability_grid = grid_ids, grid_years, availability_grid
        self.demand_factors, self.cost_factors = demand_factors, cost_factors
        self._tables = tables

    @functools.cached_property
    def _made(self) -> ScenarioSet:
        made = self._tables()
        if not made.table.equals(self.table):
            raise ValueError("a sample's tables hold another scenario table than its own")
        return made

    availability = property(lambda self: self._made.availability)
    demand = property(lambda self: self._made.demand)
    cost = property(lambda self: self._made.cost)


class SampleModels:
    """One scenario's undisrupted model, built once, and the model of any one-scenario sample made from it."""

    def __init__(self, loaded: LoadedScenario, probe: bool = True) -> None:
        self.loaded = loaded
        self.base = build_model(loaded)
        self.fallback = self._unsupported_model()
        if self.fallback is None:
            self._prepare()
            if probe:
                self.fallback = self._probe()

    # ------------------------------------------------------------------------------------------------ set-up
    def _unsupported_model(self) -> str | None:
        aggregate = self.loaded.scenario.objective.aggregate
        if aggregate in ("max", "leximin"):
            word = {"max": "maximum", "leximin": "leximin"}[aggregate]
            return f"the dependence objective is the {word}: its rows' coefficients are 1/demand"
        if aggregate == "value":
            return "the dependence objective is weighted by the value of demand: its coefficients follow demand"
        unknown = [name for name in self.base.lp.constraints if not name.startswith(KNOWN_ROWS)]
        if unknown:
            return f"constraint families {', '.join(unknown)} are not known to depend on a sample or not"
        return None

    def _prepare(self) -> None:
        base, lp = self.base, self.base.lp
        self.flow_key = _keys(base.supply)
        self.jv_key = _keys(base.jv_output) if len(base.jv_output) else {}
        minerals = set(base.minerals) | set(base.demand["mineral"]) | set(base.supply["mineral"]) | (
            set(base.jv_output["mineral"]) if len(base.jv_output) else set())
        self.mineral_pos = {m: i for i, m in enumerate(sorted(minerals))}
        self.demand_mineral = _codes(base.demand["mineral"], self.mineral_pos)
        self.flow_mineral = _codes(base.supply["mineral"], self.mineral_pos)
        self.jv_mineral = _codes(base.jv_output["mineral"], self.mineral_pos) if len(base.jv_output) else None
        self.flow_prob_discount = (base.supply["scen"].map(base.scenarios.set_index("scen")["probability"])
                                   .to_numpy() * base.discount(base.supply["year"]))
        if len(base.jv_output):
            self.jv_prob_discount = (base.jv_output["scen"].map(base.scenarios.set_index("scen")["probability"])
                                     .to_numpy() * base.discount(base.jv_output["year"]))
        self.cost_terms = _term_positions(lp, "cost", {"flow": lp.variables["flow"].cols,
                                                       "jv_out": lp.variables["jv_out"].cols
                                                       if "jv_out" in lp.variables else None})
        self.share_rows = [rows for name in lp.constraints if (rows := self._share_rows(name)) is not None]
        d = base.demand
        terms, _ = exposure_terms(base)
        self.dep_cols, self.dep_drow = terms.cols, terms.rows
        self.dep_exposed = 100.0 * terms.exposed
        objective = base.scenario.objective
        self.dep_weight = d["mineral"].map(objective.weights).fillna(1.0).to_numpy()
        self.dep_first = (d["scen"] == d["scen"].iloc[0]).to_numpy()
        self.dep_probability = d["probability"].to_numpy()
        self.row_keys = [list(zip(frame["id"].to_numpy(), frame["year"].to_numpy().tolist(), strict=True))
                         for frame in (base.supply, base.jv_output if len(base.jv_output) else _NO_ROWS)]
        self.columns = _base_columns(base)
        self.templates = {"demand": _own_blocks(base.demand, SAMPLE_OWN["demand"]),
                          **{block: _own_blocks(frame, SAMPLE_OWN[block]) for block, frame in base.delivery_frames()}}
        self._grid: tuple | None = None  # a sample grid's ids and years, and where each delivery row's cell is
        self.base_matrix = lp.matrix()
        for array in _shared_arrays(lp):  # shared by every sample's model: an edit in place would leak into the next
            array.setflags(write=False)

    def _share_rows(self, name: str) -> _ShareRows | None:
        base, block = self.base, self.base.lp.constraints[name]
        policies = {p.name: p for p in base.scenario.policies}
        keys = block.keys
        if name.startswith("country_cap:"):
            policy = policies[name.split(":", 1)[1]]
            return _ShareRows(name, "upper", np.full(len(keys), policy.max_share), demand_row_of(base, keys))
        if name.startswith("content_rule:"):
            policy = policies[name.split(":", 1)[1]]
            share = keys["year"].map(policy.share_in).to_numpy(dtype=float)
            return _ShareRows(name, "lower", share, demand_row_of(base, keys))
        if name.startswith("domestic_target:"):
            policy = policies[name.split(":", 1)[1]]
            if policy.min_capacity_t is not None:
                return None
            first = keys[["mineral", "year"]].assign(scen=base.demand["scen"].iloc[0])
            return _ShareRows(name, "lower", np.full(len(keys), policy.min_share), demand_row_of(base, first),
                              existing=existing_domestic_capacity(base, keys))
        return None

    def _probe(self) -> str | None:
        """Make a probe sample both ways; a difference names what this module does not reproduce."""
        probe = probe_set(self.base)
        fresh = build_model(self.loaded, probe)
        differences = model_differences(self.model(probe), fresh)
        if differences:
            return "a probe sample differs from its fresh build in " + "; ".join(differences[:3])
        return None

    # ------------------------------------------------------------------------------------------------ samples
    def supports(self, sample: ScenarioSet) -> str | None:
        """Why ``sample`` must be built afresh (None: it can be changed from the base model)."""
        if self.fallback is not None or isinstance(sample, SampleFactors):
            return self.fallback
        if len(sample.table) != 1 or list(sample.table["scen"]) != [0]:
            return "more than one scenario"
        availability = sample.availability
        if len(availability) and ("year" not in availability.columns or availability["year"].isna().any()):
            return "availability rows without a year"
        for name in ("availability", "demand", "cost"):
            frame = getattr(sample, name)
            if len(frame) and (frame["scen"] != 0).any():
                return f"{name} rows of another scenario"
        return None

    def model(self, sample: ScenarioSet) -> Model:
        """The model of a one-scenario sample: changed from the base model, or built afresh (``supports``)."""
        if self.supports(sample) is not None:
            return build_model(self.loaded, sample)
        if isinstance(sample, SampleFactors):
            flow_availability, jv_availability = self._grid_availability(sample)
            demand_factor = self._factors_of(sample.demand_factors)
            cost_factor = self._factors_of(sample.cost_factors)
        else:
            flow_availability = self._availability(sample.availability, self.flow_key, len(self.base.supply))
            jv_availability = self._availability(sample.availability, self.jv_key, len(self.base.jv_output))
            demand_factor = self._mineral_factors(sample.demand)
            cost_factor = self._mineral_factors(sample.cost)
        return self._changed(sample, flow_availability, jv_availability, demand_factor, cost_factor)

    def _changed(self, sample: ScenarioSet, flow_availability: np.ndarray, jv_availability: np.ndarray,
                 demand_factor: np.ndarray, cost_factor: np.ndarray) -> Model:
        """The base model with a sample's factors: per delivery row (availability) and per mineral (demand, cost)."""
        base, c = self.base, self.columns
        demand_t = c["demand_t"] * demand_factor[self.demand_mineral]
        demand = self._with_columns({"demand_t": demand_t}, "demand")

        availability = c["flow_availability"] * flow_availability
        unit_cost = c["flow_unit_cost_usd_per_t"] * cost_factor[self.flow_mineral]
        supply = self._with_columns({"availability": availability, "unit_cost_usd_per_t": unit_cost}, "flow")
        flow_upper = c["flow_available_t"] * availability * c["flow_allowed_share"]
        flow_cost = self.flow_prob_discount * _delivered(unit_cost, c, "flow") / base.money_unit

        jv_output, jv_upper, jv_cost = base.jv_output, None, None
        if len(base.jv_output):
            availability = c["jv_out_availability"] * jv_availability
            factor = cost_factor[self.jv_mineral]
            changed = {"availability": availability}
            for column in ("unit_cost_usd_per_t", "opex_usd_per_t", "royalty_usd_per_t"):
                changed[column] = c[f"jv_out_{column}"] * factor
            jv_output = self._with_columns(changed, "jv_out")
            jv_upper = c["jv_out_max_size_tpy"] * c["jv_out_allowed_share"] * availability
            jv_cost = self.jv_prob_discount * _delivered(changed["unit_cost_usd_per_t"], c, "jv_out") / base.money_unit

        lp = _copy_lp(base.lp)
        _set_upper(lp, "flow", flow_upper)
        _set_upper(lp, "short", demand_t.copy())
        if jv_upper is not None:
            _set_upper(lp, "jv_out", jv_upper)
        _set_bounds(lp, "demand", demand_t.copy(), demand_t.copy())
        for rows in self.share_rows:
            bound = self._share_bound(rows, demand_t)
            if rows.side == "upper":
                _set_bounds(lp, rows.name, lp.constraints[rows.name].lower, bound)
            else:
                _set_bounds(lp, rows.name, bound, lp.constraints[rows.name].upper)
        terms = list(lp._objective_terms["cost"])
        for position, values in ((self.cost_terms.get("flow"), flow_cost), (self.cost_terms.get("jv_out"), jv_cost)):
            if position is not None:
                terms[position] = (terms[position][0], values)
        lp._objective_terms["cost"] = terms
        dependence, unit = self._dependence(demand_t)
        lp._objective_terms["dependence"] = [(self.dep_cols, dependence)]
        lp._matrix = self.base_matrix

        model = dataclasses.replace(base, lp=lp, scenarios=sample.table, scenario_set=sample, supply=supply,
                                    jv_output=jv_output, demand=demand, dependence_unit=unit,
                                    warnings=[])
        from engine.formulation.checks import run_checks

        run_checks(model)
        return model

    def _with_columns(self, columns: dict[str, np.ndarray], table: str) -> pd.DataFrame:
        """A copy of a base table (``templates[table]``) with these columns replaced, the others shared (pandas
        copies on write): those ``SAMPLE_OWN[table]`` names, no other."""
        if tuple(columns) != SAMPLE_OWN[table]:
            raise ValueError(f"a sample's {table} table would replace {list(columns)}, not {list(SAMPLE_OWN[table])}")
        out = self.templates[table].copy(deep=False)
        for name, values in columns.items():
            out[name] = values
        return out

    def _grid_availability(self, sample: SampleFactors) -> tuple[np.ndarray, np.ndarray]:
        """Per row of each delivery table, its (id, year)'s cell of the sample's availability grid (1 where the grid
        has none); where each row's cell sits is found once per grid shape."""
        if self._grid is None or self._grid[0] is not sample.grid_ids or self._grid[1] is not sample.grid_years:
            cell = _cells(sample.grid_ids, sample.grid_years)
            self._grid = (sample.grid_ids, sample.grid_years,
                          *(np.array([cell.get(key, -1) for key in keys], dtype=np.int64)
                            for keys in self.row_keys))
        flat = np.append(sample.availability_grid.ravel(), 1.0)  # -1: no cell, factor 1
        return flat[self._grid[2]], flat[self._grid[3]]

    def _factors_of(self, factors: dict[str, float]) -> np.ndarray:
        """Per modelled mineral (sorted), its factor (1 where none or NaN), as ``_mineral_factors`` of its rows."""
        out = np.ones(len(self.mineral_pos))
        for mineral, value in factors.items():
            row = self.mineral_pos.get(mineral)
            if row is not None and not np.isnan(value):
                out[row] = value
        return out

    def _mineral_factors(self, factors: pd.DataFrame) -> np.ndarray:
        """Per modelled mineral (sorted), the product of its factor rows in row order (1 where none), as
        ``disruptions.mineral_factor``'s group product."""
        out = np.ones(len(self.mineral_pos))
        if factors.empty:
            return out
        rows = [self.mineral_pos.get(m, -1) for m in factors["mineral"].to_numpy()]
        values = factors["factor"].to_numpy(dtype=float)
        product = np.full(len(out), np.nan)
        for row, value in zip(rows, values, strict=True):
            if row >= 0 and not np.isnan(value):
                product[row] = value if np.isnan(product[row]) else product[row] * value
        return np.where(np.isnan(product), out, product)

    @staticmethod
    def _availability(availability: pd.DataFrame, key: dict, n: int) -> np.ndarray:
        """Per row of a delivery table, the product of the (id, year) factor rows that match it, in row order
        (``disruptions.apply_availability``'s group product); 1 where none."""
        factor = np.ones(n)
        if availability.empty or not key:
            return factor
        product: dict[int, float] = {}
        columns = (availability["id"].to_numpy(), availability["year"].to_numpy(),
                   availability["factor"].to_numpy(dtype=float))
        for i, year, value in zip(*columns, strict=True):
            row = key.get((i, int(year)))
            if row is not None and not np.isnan(value):
                product[row] = product[row] * value if row in product else 1.0 * value
        if product:
            rows = np.fromiter(product, dtype=np.int64, count=len(product))
            factor[rows] = np.fromiter(product.values(), dtype=float, count=len(product))
        return factor

    @staticmethod
    def _share_bound(rows: _ShareRows, demand_t: np.ndarray) -> np.ndarray:
        wanted = rows.share * demand_t[rows.demand_row]
        if rows.existing is not None:
            return np.maximum(wanted - rows.existing, 0.0)
        return wanted

    def _dependence(self, demand_t: np.ndarray) -> tuple[np.ndarray, float]:
        """The mean dependence objective's terms and unit for the sample's demand (``add_dependence_objective``)."""
        positive = demand_t > 0
        drow = self.dep_drow
        coef = self.dep_exposed / np.where(demand_t[drow] > 0, demand_t[drow], np.inf)
        total = float((self.dep_weight * positive)[self.dep_first].sum()) or 1.0
        scale = (self.dep_probability * self.dep_weight / total)[drow]
        values = coef * scale
        unit = scale_unit(values)
        return values / unit, unit


# ---------------------------------------------------------------------------------------------------- helpers
def _keys(frame: pd.DataFrame) -> dict[tuple[str, int], int]:
    """(id, year) -> row of a one-scenario delivery table."""
    return {(i, int(y)): row for row, (i, y) in enumerate(zip(frame["id"], frame["year"], strict=True))}


def _codes(values: pd.Series, positions: dict[str, int]) -> np.ndarray:
    return np.array([positions[v] for v in values], dtype=np.int64)


def _delivered(unit_cost: np.ndarray, columns: dict[str, np.ndarray], block: str) -> np.ndarray:
    """``supply.delivered_cost`` of a delivery block with these unit costs, in its order of operations."""
    return (unit_cost * (1.0 + columns[f"{block}_ad_valorem"]) + columns[f"{block}_tariff_usd_per_t"]
            + columns[f"{block}_credit_loss_usd_per_t"])


_NO_ROWS = pd.DataFrame({"id": pd.Series([], dtype=object), "year": pd.Series([], dtype=np.int64)})

SAMPLE_OWN = {"demand": ("demand_t",), "flow": ("availability", "unit_cost_usd_per_t"),
              "jv_out": ("availability", "unit_cost_usd_per_t", "opex_usd_per_t", "royalty_usd_per_t")}
"""The columns of the base model's tables (demand, and each delivery block's) a sample's model has its own arrays
for; every other column of its tables is the base model's own (``results.share_terms`` reads only these)."""

SAMPLE_COLUMNS = {"flow": ("availability", "unit_cost_usd_per_t", "available_t", "allowed_share", "ad_valorem",
                           "tariff_usd_per_t", "credit_loss_usd_per_t"),
                  "jv_out": ("availability", "unit_cost_usd_per_t", "opex_usd_per_t", "royalty_usd_per_t",
                             "max_size_tpy", "allowed_share", "ad_valorem", "tariff_usd_per_t",
                             "credit_loss_usd_per_t")}
"""The delivery tables' columns a sample's numbers are made from, read once from the base model."""


def _base_columns(base: Model) -> dict[str, np.ndarray]:
    """The base model's columns that a sample changes or computes from, as float arrays: ``block_column`` for the
    delivery tables (``SAMPLE_COLUMNS``), ``demand_t`` for demand."""
    out = {"demand_t": base.demand["demand_t"].to_numpy(dtype=float)}
    for block, frame in base.delivery_frames():
        out.update({f"{block}_{column}": frame[column].to_numpy(dtype=float) for column in SAMPLE_COLUMNS[block]})
    return out


def _cells(ids: np.ndarray, years: np.ndarray) -> dict[tuple[str, int], int]:
    """(id, year) -> position in the flattened grid of ``ids`` × ``years``."""
    return {(i, int(y)): row * len(years) + col for row, i in enumerate(ids) for col, y in enumerate(years)}


def _own_blocks(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` (the same values) with each of these columns in a block of its own: a sample replaces them, and
    replacing a column that shares a block with others costs pandas a split of that block every time."""
    out = frame.copy(deep=False)
    for name in columns:
        out[name] = frame[name].to_numpy()
    return out


def _term_positions(lp: LinearProgram, name: str, blocks: dict[str, np.ndarray | None]) -> dict[str, int]:
    """Which term of a named objective covers each block's columns (exactly those columns, in order)."""
    out = {}
    for block, cols in blocks.items():
        if cols is None:
            continue
        for position, (term_cols, _vals) in enumerate(lp._objective_terms.get(name, [])):
            if len(term_cols) == len(cols) and np.array_equal(term_cols, cols):
                out[block] = position
    return out


def _shared_arrays(lp: LinearProgram) -> list[np.ndarray]:
    blocks = [*lp.variables.values(), *lp.constraints.values()]
    arrays = [a for b in blocks for a in (b.lower, b.upper)]
    arrays += [a for b in lp.constraints.values() for a in (b.rows, b.cols, b.vals)]
    arrays += [a for terms in lp._objective_terms.values() for term in terms for a in term]
    arrays += [a for entry in lp._extra_entries for a in entry]
    matrix = lp.matrix()
    return [*arrays, matrix.indptr, matrix.indices, matrix.data]


def _copy_lp(lp: LinearProgram) -> LinearProgram:
    """A copy whose blocks and objective lists can be replaced without touching ``lp`` (arrays shared until then)."""
    return LinearProgram(variables=dict(lp.variables), constraints=dict(lp.constraints),
                         _objective_terms={k: list(v) for k, v in lp._objective_terms.items()},
                         _extra_entries=list(lp._extra_entries), n_cols=lp.n_cols, n_rows=lp.n_rows)


def _set_upper(lp: LinearProgram, block: str, upper: np.ndarray) -> None:
    lp.variables[block] = dataclasses.replace(lp.variables[block], upper=upper)


def _set_bounds(lp: LinearProgram, block: str, lower: np.ndarray, upper: np.ndarray) -> None:
    lp.constraints[block] = dataclasses.replace(lp.constraints[block], lower=lower, upper=upper)


def probe_set(model: Model) -> ScenarioSet:
    """A one-scenario set with a distinct factor on every mineral's demand (the first at zero) and cost, and on
    every delivery's availability in every other year, two factors on some: what a sample can change."""
    minerals = sorted(model.demand["mineral"].unique())
    demand = pd.DataFrame({"scen": 0, "mineral": minerals,
                           "factor": [0.0 if i == 0 else 0.7 + 0.113 * i for i in range(len(minerals))]})
    cost = pd.DataFrame({"scen": 0, "mineral": minerals, "factor": [1.3 - 0.071 * i for i in range(len(minerals))]})
    rows = []
    for _block, frame in model.delivery_frames():
        ids, years = frame["id"].to_numpy(), frame["year"].to_numpy()
        for k in range(0, len(frame), 2):
            rows.append((0, ids[k], int(years[k]), 0.61 + (k % 7) * 0.053))
            if k % 6 == 0:
                rows.append((0, ids[k], int(years[k]), 0.77))
    availability = pd.DataFrame(rows, columns=["scen", "id", "year", "factor"])
    table = pd.DataFrame({"scen": [0], "name": ["probe"], "probability": [1.0]})
    return ScenarioSet(table, availability=availability, demand=demand, cost=cost)


FRAMES = ("sources", "equity", "supply", "demand", "jv_options", "builds", "jv_output", "deliveries", "stockpile")


def model_differences(a: Model, b: Model) -> list[str]:
    """Where two models differ: their LPs (objectives, column and row bounds, matrix, integrality, names) and the
    tables results are read from, compared exactly (bit for bit; NaN equal to NaN). Empty when identical."""
    out = []
    la, lb = a.lp, b.lp
    if (la.n_cols, la.n_rows) != (lb.n_cols, lb.n_rows):
        return [f"shape {(la.n_cols, la.n_rows)} against {(lb.n_cols, lb.n_rows)}"]
    if list(la.variables) != list(lb.variables) or list(la.constraints) != list(lb.constraints):
        return ["block names or order"]
    arrays = {"column lower bounds": (la.col_lower, lb.col_lower), "column upper bounds": (la.col_upper, lb.col_upper),
              "row lower bounds": (la.row_lower, lb.row_lower), "row upper bounds": (la.row_upper, lb.row_upper),
              "integer columns": (la.integer_cols, lb.integer_cols)}
    for name in sorted(set(la.objective_names) | set(lb.objective_names)):
        arrays[f"{name} objective"] = (la.objective(name), lb.objective(name))
    ma, mb = la.matrix(), lb.matrix()
    arrays.update({"matrix pointers": (ma.indptr, mb.indptr), "matrix rows": (ma.indices, mb.indices),
                   "matrix values": (ma.data, mb.data)})
    for what, (x, y) in arrays.items():
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            out.append(what)
    if la.col_names() != lb.col_names() or la.row_names() != lb.row_names():
        out.append("names")
    for name in FRAMES:
        fa, fb = getattr(a, name), getattr(b, name)
        if not (fa.shape == fb.shape and list(fa.columns) == list(fb.columns) and fa.equals(fb)):
            out.append(f"the {name} table")
    for name in ("money_unit", "dependence_unit", "years", "minerals", "warnings"):
        if getattr(a, name) != getattr(b, name):
            out.append(name)
    if not a.scenarios.equals(b.scenarios):
        out.append("the scenario table")
    return out
