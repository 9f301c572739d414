"""Joint ventures and licences: new refining capacity the optimiser decides to build.

Variables, for each option j with lead time L_j, earliest start e_j and the horizon [Y0, Y1]:

- ``build[j, y]`` (t/yr of capacity started in year y, e_j <= y <= Y1 − L_j; first stage, the same in every ω);
- ``jv_out[j, y, ω]`` (tonnes produced in year y, y >= max(e_j, Y0) + L_j);
- ``jv_built[j]`` binary, only for options with a minimum efficient size m_j.

JV capacity (output only once built capacity is online)::

    jv_out[j, y, ω] − Σ_{y' <= y − L_j} build[j, y'] <= 0

Maximum size, and for options with a minimum efficient size m_j (the plant is either not built, or at least
m_j in total; later expansions may be of any size)::

    Σ_y build[j, y] <= max_size_j                     (× jv_built[j] when m_j is set)
    Σ_y build[j, y] >= m_j × jv_built[j]

Cost (present value, in the LP money unit): capex is annualised with the capital-recovery factor
CRF(r, n) and paid each year the capacity is online inside the horizon, for at most n years; opex and royalty
are paid per tonne produced::

    Σ_{j, y} capex_j × CRF × Σ_{t = y+L_j}^{min(Y1, y+L_j+n−1)} δ_t × build[j, y]
      + Σ_{j, y, ω} p_ω × δ_y × (opex_j + royalty_j) × (1 + tariff) × jv_out[j, y, ω]

Attribution to the dependence country C: a JV counts its C partner's equity share (under a control basis 1 when
that share reaches ``control_threshold``, else 0), a licence from a C partner the scenario's
``licence_technology_factor``, and a plant located in C counts fully under the location basis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.formulation.model import Model
from engine.formulation.supply import delivered_cost, owned_share
from engine.inputs.ownership import summed_holdings
from engine.model.finance import capital_recovery_factor
from engine.model.joins import columns_frame, positions, strings, taken, tiled

TABLE_COLUMNS = ["id", "mineral", "year", "scen", "location", "owner", "attribution", "covered_equity",
                 "unit_cost_usd_per_t"]
BUILD_COLUMNS = ["option_id", "mineral", "lead_time_years", "earliest_start", "max_size_tpy", "min_size_tpy"]


def option_table(model: Model) -> pd.DataFrame:
    """One row per JV option of the modelled minerals, with attribution and ownership attributes."""
    s, ds = model.scenario, model.dataset
    rows = np.flatnonzero(np.isin(ds.jv_options["mineral"].to_numpy(), list(model.minerals)))
    if not len(rows):
        return ds.jv_options.iloc[rows].reset_index(drop=True)
    columns = {name: taken(values, rows) for name, values in ds.jv_options.items()}
    on = s.dependence.country
    countries = ds.countries
    covered = countries["iso3"].to_numpy()[countries["covered_nation"].to_numpy(dtype=bool)]
    partner = np.asarray(columns["partner"], dtype=object)
    host = np.asarray(columns["host"], dtype=object)
    equity = np.asarray(columns["partner_equity_share"], dtype=float)
    licence = np.asarray(columns["mode"], dtype=object) == "licensing"
    located = (host == on).astype(float)
    basis = s.dependence.basis
    equity_on = owned_share(np.where(partner == on, equity, 0.0), basis, s.dependence.control_threshold)
    technology = np.where(licence & (partner == on), s.dependence.licence_technology_factor, 0.0)
    owned = np.maximum(equity_on, technology)
    columns["attribution"] = located if basis == "location" else owned if basis in ("ownership", "control") else \
        np.maximum(located, owned)
    partner_covered = np.isin(partner, covered)
    columns["covered_equity"] = np.where(partner_covered, equity, 0.0)
    columns["covered_licence"] = licence & partner_covered
    columns["owner"] = pd.array(np.where(equity > 0.5, partner, host), dtype="str")
    columns["location"] = columns["host"].copy()
    columns["id"] = columns["option_id"].copy()
    columns["min_size_tpy"] = pd.Series(columns["min_size_tpy"]).astype("Float64").fillna(0.0).astype(float) \
        .to_numpy()
    columns["unit_cost_usd_per_t"] = columns["opex_usd_per_t"] + columns["royalty_usd_per_t"]
    return pd.DataFrame(columns)


def jv_equity(opts: pd.DataFrame) -> pd.DataFrame:
    """Equity rows for JV options: the partner's share and the host's remainder."""
    option = opts["option_id"].to_numpy()
    share = opts["partner_equity_share"].to_numpy(dtype=float)
    source = np.concatenate([option, option])
    owner = np.concatenate([opts["partner"].to_numpy(), opts["host"].to_numpy()])
    share = np.concatenate([share, 1.0 - share])
    kept = share > 1e-12
    sources, source_code = np.unique(source[kept], return_inverse=True)
    owners, owner_code = np.unique(owner[kept], return_inverse=True)
    return summed_holdings(sources, source_code, owners, owner_code, share[kept], opts["option_id"].dtype,
                           opts["partner"].dtype)


def add_jv_variables(model: Model) -> None:
    """Create build, jv_out and (where a minimum size is set) jv_size columns."""
    opts = option_table(model)
    model.jv_options = opts
    if opts.empty:
        model.builds = pd.DataFrame(columns=["option_id", "year"])
        model.jv_output = pd.DataFrame(columns=TABLE_COLUMNS)
        return
    model.equity = pd.concat([model.equity, jv_equity(opts)], ignore_index=True)
    years = np.asarray(model.years, dtype=np.int64)
    start, end = model.years[0], model.years[-1]
    option_row = np.repeat(np.arange(len(opts)), len(years))  # every option and year, option first
    year = np.tile(years, len(opts))
    earliest = opts["earliest_start"].to_numpy()
    lead = opts["lead_time_years"].to_numpy()
    built = (year >= earliest[option_row]) & (year + lead[option_row] <= end)
    rows = option_row[built]
    builds = {name: taken(opts[name], rows) for name in BUILD_COLUMNS}
    builds["year"] = year[built]
    builds["online"] = builds["year"] + builds["lead_time_years"]
    builds["allowed"] = np.ones(len(rows), dtype=bool)
    builds = pd.DataFrame(builds)
    model.builds = builds
    model.lp.add_variables("build", columns_frame(builds, ["option_id", "year"]), 0.0,
                           builds["max_size_tpy"].to_numpy())

    first_online = np.maximum(earliest, start) + lead
    online = year >= first_online[option_row]
    option_row, year = option_row[online], year[online]
    minerals = np.unique(opts["mineral"].to_numpy(), return_inverse=True)[1]
    ids = np.unique(opts["option_id"].to_numpy(), return_inverse=True)[1]
    order = np.lexsort((ids[option_row], year, minerals[option_row]))  # stable: by mineral, year, option_id
    option_row, year = option_row[order], year[order]
    scens = np.sort(model.scenarios["scen"].to_numpy())
    n, times = len(option_row), len(scens)
    out = {name: tiled(taken(values, option_row), times) for name, values in opts.items()}
    out["first_online"] = np.tile(first_online[option_row], times)
    out["year"] = np.tile(year, times)
    out["scen"] = np.repeat(scens, n)  # sorted by scen, mineral, year, option_id
    for column, value in (("allowed_share", 1.0), ("availability", 1.0), ("ad_valorem", 0.0),
                          ("tariff_usd_per_t", 0.0), ("credit_loss_usd_per_t", 0.0)):
        out[column] = np.full(n * times, value)
    out["restricted_by"] = strings("", n * times)
    out = pd.DataFrame(out, copy=False)  # fresh arrays: kept as they are, not stacked into 2-D blocks
    model.jv_output = out
    model.lp.add_variables("jv_out", columns_frame(out, ["option_id", "year", "scen"]), 0.0,
                           out["max_size_tpy"].to_numpy())

    sized = opts[opts["min_size_tpy"].to_numpy() > 0]
    if len(sized):
        model.lp.add_variables("jv_built", columns_frame(sized, ["option_id"]), 0.0, 1.0, integer=True)


def finalise_jv_bounds(model: Model) -> None:
    """Apply restrictions on JV output and builds to their bounds."""
    if model.jv_output.empty:
        return
    out = model.jv_output
    model.lp.variables["jv_out"].upper[:] = (out["max_size_tpy"] * out["allowed_share"]
                                             * out["availability"]).to_numpy(dtype=float)
    b = model.builds
    model.lp.variables["build"].upper[:] = np.where(b["allowed"], b["max_size_tpy"], 0.0)


def online_pairs(build_option: np.ndarray, build_online: np.ndarray, out_option: np.ndarray,
                 out_year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (output row, build row) of the same option with the build online by the output's year, without a
    join: builds sorted by (option, online year) make each output row's builds one contiguous run."""
    order = np.lexsort((build_online, build_option))
    span = int(max(build_online.max(initial=0), out_year.max(initial=0))) + 1
    key = build_option[order].astype(np.int64) * span + build_online[order]
    first = np.searchsorted(key, out_option.astype(np.int64) * span)
    last = np.searchsorted(key, out_option.astype(np.int64) * span + out_year, side="right")
    count = last - first
    out_row = np.repeat(np.arange(len(out_option)), count)
    within = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return out_row, order[np.repeat(first, count) + within]


def add_jv_constraints(model: Model) -> None:
    """Capacity online, maximum size and minimum efficient size rows."""
    if model.jv_output.empty:
        return
    lp, builds, out = model.lp, model.builds, model.jv_output
    build_cols = model.block_cols("build")
    out_cols = model.block_cols("jv_out")
    # capacity: jv_out − Σ online builds <= 0
    opts = model.jv_options
    option_row = positions(builds["option_id"], opts["option_id"])
    out_row, build_row = online_pairs(option_row, builds["online"].to_numpy(),
                                      positions(out["option_id"], opts["option_id"]), out["year"].to_numpy())
    rows = np.concatenate([np.arange(len(out)), out_row])
    cols = np.concatenate([out_cols, build_cols[build_row]])
    vals = np.concatenate([np.ones(len(out)), -np.ones(len(out_row))])
    lp.add_constraints("jv_capacity", columns_frame(out, ["option_id", "year", "scen"]), rows, cols, vals,
                       upper=0.0)
    # maximum size: Σ_y build − max × jv_built <= 0 (sized options) or Σ_y build <= max
    sized = np.flatnonzero(opts["min_size_tpy"].to_numpy() > 0)
    upper = opts["max_size_tpy"].to_numpy(dtype=float).copy()
    rows, cols, vals = [option_row], [build_cols], [np.ones(len(builds))]
    if len(sized):
        built_cols = model.block_cols("jv_built")
        rows.append(sized)
        cols.append(built_cols)
        vals.append(-upper[sized])
        upper[sized] = 0.0
    lp.add_constraints("jv_max_size", columns_frame(opts, ["option_id"]), np.concatenate(rows),
                       np.concatenate(cols), np.concatenate(vals), upper=upper)
    if not len(sized):
        return
    # minimum efficient size: Σ_y build − min × jv_built >= 0
    local = np.arange(len(sized))
    in_sized = np.full(len(opts), -1)
    in_sized[sized] = local
    build_rows = in_sized[option_row]
    keep = build_rows >= 0
    lp.add_constraints("jv_min_size", pd.DataFrame({"option_id": taken(opts["option_id"], sized)}),
                       np.concatenate([build_rows[keep], local]), np.concatenate([build_cols[keep], built_cols]),
                       np.concatenate([np.ones(int(keep.sum())), -opts["min_size_tpy"].to_numpy()[sized]]),
                       lower=0.0)


def annuity_factor(model: Model, online: np.ndarray) -> np.ndarray:
    """Σ of discount factors over the years a build that comes online in ``online`` pays its annuity."""
    fin = model.scenario.finance
    end = model.years[-1]
    years = np.arange(model.years[0], end + 1)
    delta = model.discount(years)
    cumulative = np.concatenate([[0.0], np.cumsum(delta)])
    first = np.clip(np.asarray(online) - years[0], 0, len(years))
    last = np.clip(np.asarray(online) + fin.asset_life_years - 1 - years[0] + 1, 0, len(years))
    return cumulative[last] - cumulative[first]


def add_jv_cost(model: Model) -> None:
    """Annualised capex on builds; opex, royalty and any tariff on output."""
    if model.jv_output.empty:
        return
    fin = model.scenario.finance
    crf = capital_recovery_factor(fin.discount_rate, fin.asset_life_years)
    b = model.builds
    opts = model.jv_options
    capex = opts["capex_usd_per_tpy"].to_numpy()[positions(b["option_id"], opts["option_id"])]
    model.lp.add_objective("cost", model.block_cols("build"),
                           capex * crf * annuity_factor(model, b["online"].to_numpy()) / model.money_unit)
    out = model.jv_output
    prob = model.probability_of(out["scen"])
    coef = prob * model.discount(out["year"]) * delivered_cost(out).to_numpy() / model.money_unit
    model.lp.add_objective("cost", model.block_cols("jv_out"), coef)
