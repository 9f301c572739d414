"""The single-stage benchmark LP written the way a user would write it without critmin: the peers.

Both peers read the same generated tables (capacity, ownership, demand, JV options, disruption scenarios) and
the same scenario mapping as critmin, and write the model from scratch; nothing here imports critmin's
formulation. So they are also an independent check of it: the harness asserts that their optimum equals
critmin's single stage within 1e-7 relative (``harness.REL_TOL``).

- ``naive_pulp``: one ``LpVariable`` per column (``LpProblem.add_variable``), one ``lpSum`` per row, built in
  Python loops over dictionaries. Solved with HiGHS through PuLP (``pulp.HiGHS``, in-process) or CBC.
- ``linopy_model``: the same LP as labelled arrays (source × year × scenario, masked where a block is not
  active), rows by ``groupby`` sums. Solved with HiGHS (hand-off through ``linopy.io.to_highspy``).

The LP (money in the same unit as critmin, a power of ten near the median reference price):

    minimise Σ p_ω δ_y c_s(1 + tariff) flow + Σ capex·CRF·annuity·build + Σ p_ω δ_y (opex + royalty) jv_out
             + W Σ p_ω δ_y price_m short
    demand      Σ flow + Σ jv_out + short = demand                         (m, y, ω)
    JV online   jv_out[j, y, ω] − Σ_{y' + L_j <= y} build[j, y'] <= 0
    max size    Σ_y build[j, y] <= max_size_j
    country cap Σ_{located in c} (flow + jv_out) + s·short <= s·demand   (m, y, ω, c ∉ {buyer, ROW})
    dep. cap    Σ a·(flow + jv_out) <= s·demand                            (m, y >= 2028, ω)
    bounds      flow <= capacity × exportable × availability_ω × allowed share;  jv_out <= max size × …

Policies supported: ``tariff``, ``export_ban`` (shares, no tonnage quota), ``country_cap`` and
``dependence_cap`` by location, which is what ``config.bench_scenario`` uses.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPORTED = {"tariff", "export_ban", "country_cap", "dependence_cap"}


def _years_of(spec, horizon: list[int]) -> set[int]:
    """'2028+', '2026-2030', 2030, [2025, 2030], 'all' or None → the horizon years covered."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "all"):
        return set(horizon)
    if isinstance(spec, int):
        return {spec} & set(horizon)
    if isinstance(spec, list):
        return set(spec) & set(horizon)
    text = str(spec).strip()
    if text.endswith("+"):
        return {y for y in horizon if y >= int(text[:-1])}
    if "-" in text:
        lo, hi = (int(t) for t in text.split("-"))
        return {y for y in horizon if lo <= y <= hi}
    return {int(text)} & set(horizon)


def _as_list(value) -> list | None:
    if value is None:
        return None
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass
class PeerData:
    """The single-stage LP's data as plain tables, one row per column or row of the LP."""

    supply: pd.DataFrame  # id, mineral, location, year, scen, ub, cost, attr
    jv_out: pd.DataFrame  # id, mineral, location, year, scen, ub, cost, attr
    builds: pd.DataFrame  # id, year, online, ub, cost
    options: pd.DataFrame  # id, max_size
    demand: pd.DataFrame  # mineral, year, scen, demand, short_cost
    country_caps: list[tuple[float, set[str]]]  # (max share, countries never capped)
    dependence_caps: list[tuple[float, set[str], set[int]]]  # (max share, minerals, years)
    money_unit: float


def peer_data(dataset, scenarios, scenario: dict, shortfall_weight: float) -> PeerData:
    """Everything the peers need, computed from the tables and the scenario mapping (no critmin code)."""
    for p in scenario.get("policies", []):
        if p["type"] not in SUPPORTED:
            raise NotImplementedError(f"the peers do not model policy type '{p['type']}'")
    start, end = scenario["horizon"]["start"], scenario["horizon"]["end"]
    years = list(range(start, end + 1))
    minerals = scenario["minerals"]
    buyer = scenario.get("buyer", "USA")
    dep = scenario.get("dependence", {})
    on, basis = dep.get("country", "CHN"), dep.get("basis", "combined")
    licence_factor = dep.get("licence_technology_factor", 0.0)
    rate = scenario["finance"]["discount_rate"]
    life = scenario["finance"]["asset_life_years"]
    prices = dataset.minerals.set_index("mineral")["reference_price_usd_per_t"].astype(float)
    prices = prices[prices.index.isin(minerals)]
    money = float(10.0 ** np.round(np.log10(np.median(prices[prices > 0].to_numpy()))))
    growth = (1.0 + rate) ** life
    crf = rate * growth / (growth - 1.0) if rate else 1.0 / life
    delta = {y: (1.0 + rate) ** -(y - start) for y in years}
    probability = dict(zip(scenarios.table["scen"], scenarios.table["probability"], strict=True))
    scens = list(scenarios.table["scen"])
    aggregates = set(dataset.countries.loc[dataset.countries["region"] == "World", "iso3"])

    # availability factor per (scen, id, year): the product of the matching rows
    av = scenarios.availability
    if len(av):
        keys = ["scen", "id", "year"] if "year" in av.columns else ["scen", "id"]
        factor = av.groupby(keys)["factor"].prod()
    else:
        keys, factor = ["scen", "id"], pd.Series(dtype=float)

    def with_availability(frame: pd.DataFrame) -> np.ndarray:
        if factor.empty:
            return np.ones(len(frame))
        found = factor.reindex(pd.MultiIndex.from_frame(frame[keys])).to_numpy()
        return np.where(np.isnan(found), 1.0, found)

    def policy_terms(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(ad valorem tariff, allowed share) per delivery row from the tariff and export-ban policies."""
        ad = np.zeros(len(frame))
        allowed = np.ones(len(frame))
        for p in scenario.get("policies", []):
            if p.get("by", "location") != "location" and p["type"] in ("tariff", "export_ban"):
                raise NotImplementedError("the peers model tariffs and export bans by location only")
            scope = frame["year"].isin(_years_of(p.get("years"), years)).to_numpy().copy()
            if p.get("minerals") is not None:
                scope &= frame["mineral"].isin(_as_list(p["minerals"])).to_numpy()
            if p["type"] == "tariff":
                ad += np.where(scope & frame["location"].isin(_as_list(p["origin"])).to_numpy(),
                               p.get("ad_valorem", 0.0), 0.0)
            elif p["type"] == "export_ban":
                if p.get("quota_t") is not None:
                    raise NotImplementedError("the peers do not model export quotas in tonnes")
                hit = scope & (frame["location"] == p["exporter"]).to_numpy() & (frame["location"] != buyer).to_numpy()
                allowed *= np.where(hit, p.get("allowed_share", 0.0), 1.0)
        return ad, allowed

    # ---- purchases from existing capacity
    cap = dataset.capacity[dataset.capacity["mineral"].isin(minerals)]
    own = dataset.ownership
    listed_on = own[own["owner"] == on].groupby("source_id")["equity_share"].sum()
    listed_all = own.groupby("source_id")["equity_share"].sum()
    rest = 1.0 - cap["source_id"].map(listed_all).fillna(0.0)
    equity_on = cap["source_id"].map(listed_on).fillna(0.0) + np.where(cap["location"] == on, rest, 0.0)
    located = (cap["location"] == on).astype(float)
    attr = {"location": located, "ownership": equity_on}.get(basis, np.maximum(located, equity_on))
    rows = []
    for (sid, mineral, location, capacity, exportable, cost, first, last), a in zip(
            cap[["source_id", "mineral", "location", "capacity_t", "exportable_share", "unit_cost_usd_per_t",
                 "first_year", "last_year"]].itertuples(index=False), np.asarray(attr), strict=True):
        last = math.inf if pd.isna(last) else last
        for y in years:
            if first <= y <= last:
                rows.append((sid, mineral, location, y, float(capacity), float(exportable), float(cost), float(a)))
    supply = pd.DataFrame(rows, columns=["id", "mineral", "location", "year", "capacity", "exportable", "unit_cost",
                                         "attr"])
    supply = supply.merge(pd.DataFrame({"scen": scens}), how="cross")
    ad, allowed = policy_terms(supply)
    supply["ub"] = supply["capacity"] * supply["exportable"] * with_availability(supply) * allowed
    supply["cost"] = (supply["scen"].map(probability) * supply["year"].map(delta) * supply["unit_cost"]
                      * (1.0 + ad) / money)

    # ---- JV options: builds (first stage) and output (per scenario)
    jv = dataset.jv_options[dataset.jv_options["mineral"].isin(minerals)].reset_index(drop=True)
    if jv["min_size_tpy"].notna().any():
        raise NotImplementedError("the peers model LPs only: blank min_size_tpy (the generator does by default)")
    equity = jv["partner_equity_share"].astype(float)
    licence = jv["mode"] == "licensing"
    owned = np.maximum(np.where(jv["partner"] == on, equity, 0.0),
                       np.where(licence & (jv["partner"] == on), licence_factor, 0.0))
    jv_located = (jv["host"] == on).astype(float).to_numpy()
    jv_attr = {"location": jv_located, "ownership": owned}.get(basis, np.maximum(jv_located, owned))
    build_rows, out_rows = [], []
    cumulative = np.concatenate([[0.0], np.cumsum([delta[y] for y in years])])
    for k, o in enumerate(jv.itertuples(index=False)):
        for y in years:
            if y >= o.earliest_start and y + o.lead_time_years <= end:
                online = y + o.lead_time_years
                first_i = min(max(online - start, 0), len(years))
                last_i = min(max(online + life - start, 0), len(years))
                annuity = cumulative[last_i] - cumulative[first_i]
                build_rows.append((o.option_id, y, online, float(o.max_size_tpy),
                                   o.capex_usd_per_tpy * crf * annuity / money))
        first_online = max(o.earliest_start, start) + o.lead_time_years
        for y in years:
            if y >= first_online:
                out_rows.append((o.option_id, o.mineral, o.host, y, float(o.max_size_tpy),
                                 float(o.opex_usd_per_t + o.royalty_usd_per_t), float(jv_attr[k])))
    builds = pd.DataFrame(build_rows, columns=["id", "year", "online", "ub", "cost"])
    jv_out = pd.DataFrame(out_rows, columns=["id", "mineral", "location", "year", "max_size", "unit_cost", "attr"])
    jv_out = jv_out.merge(pd.DataFrame({"scen": scens}), how="cross")
    ad, allowed = policy_terms(jv_out)
    jv_out["ub"] = jv_out["max_size"] * allowed * with_availability(jv_out)
    jv_out["cost"] = (jv_out["scen"].map(probability) * jv_out["year"].map(delta) * jv_out["unit_cost"]
                      * (1.0 + ad) / money)
    options = pd.DataFrame({"id": jv["option_id"], "max_size": jv["max_size_tpy"].astype(float)})

    # ---- demand and shortfall
    d = dataset.demand[dataset.demand["mineral"].isin(minerals) & dataset.demand["year"].isin(years)]
    demand = d[["mineral", "year", "demand_t"]].rename(columns={"demand_t": "demand"}).merge(
        pd.DataFrame({"scen": scens}), how="cross")
    demand["short_cost"] = (shortfall_weight * demand["scen"].map(probability) * demand["year"].map(delta)
                            * demand["mineral"].map(prices) / money)

    country_caps, dependence_caps = [], []
    for p in scenario.get("policies", []):
        if p["type"] == "country_cap":
            if p.get("by", "location") != "location" or p.get("countries") is not None:
                raise NotImplementedError("the peers model country caps by location over every country only")
            never = set(aggregates) | ({buyer} if p.get("exclude_buyer", True) else set())
            if p.get("minerals") is not None or p.get("years") is not None:
                raise NotImplementedError("the peers model country caps over all minerals and years only")
            country_caps.append((float(p["max_share"]), never))
        elif p["type"] == "dependence_cap":
            scope_minerals = set(_as_list(p.get("minerals")) or minerals)
            dependence_caps.append((float(p["max_share"]), scope_minerals, _years_of(p.get("years"), years)))
    return PeerData(supply.reset_index(drop=True), jv_out.reset_index(drop=True), builds, options,
                    demand.reset_index(drop=True), country_caps, dependence_caps, money)


# ============================================================================================ PuLP, naively
@dataclass
class NaivePulp:
    prob: object
    flow: dict
    jv_out: dict
    build: dict
    short: dict


def naive_pulp(data: PeerData) -> NaivePulp:
    """One LpVariable per column, one lpSum per row, in plain loops (how a typical PuLP user writes it)."""
    import pulp

    prob = pulp.LpProblem("naive_sourcing", pulp.LpMinimize)
    flow, jv_out, build, short = {}, {}, {}, {}
    objective = []
    for i, r in enumerate(data.supply.itertuples(index=False)):
        v = prob.add_variable(f"flow_{i}", 0, r.ub)
        flow[r.id, r.year, r.scen] = v
        objective.append(r.cost * v)
    for i, r in enumerate(data.jv_out.itertuples(index=False)):
        v = prob.add_variable(f"jv_out_{i}", 0, r.ub)
        jv_out[r.id, r.year, r.scen] = v
        objective.append(r.cost * v)
    for i, r in enumerate(data.builds.itertuples(index=False)):
        v = prob.add_variable(f"build_{i}", 0, r.ub)
        build[r.id, r.year] = v
        objective.append(r.cost * v)
    for i, r in enumerate(data.demand.itertuples(index=False)):
        v = prob.add_variable(f"short_{i}", 0, r.demand)
        short[r.mineral, r.year, r.scen] = v
        objective.append(r.short_cost * v)
    prob.setObjective(pulp.lpSum(objective))

    # who delivers what: lists of (variable, location, attribution) per (mineral, year, scen)
    deliveries: dict[tuple, list] = {}
    for r in data.supply.itertuples(index=False):
        deliveries.setdefault((r.mineral, r.year, r.scen), []).append((flow[r.id, r.year, r.scen], r.location, r.attr))
    for r in data.jv_out.itertuples(index=False):
        deliveries.setdefault((r.mineral, r.year, r.scen), []).append(
            (jv_out[r.id, r.year, r.scen], r.location, r.attr))

    for r in data.demand.itertuples(index=False):
        key = (r.mineral, r.year, r.scen)
        terms = [v for v, _, _ in deliveries.get(key, [])]
        prob.addConstraint(pulp.lpSum(terms) + short[key] == r.demand, f"demand_{r.mineral}_{r.year}_{r.scen}")

    builds_of: dict[str, list] = {}
    for r in data.builds.itertuples(index=False):
        builds_of.setdefault(r.id, []).append((r.online, build[r.id, r.year]))
    for i, r in enumerate(data.jv_out.itertuples(index=False)):
        online = [b for when, b in builds_of.get(r.id, []) if when <= r.year]
        prob.addConstraint(jv_out[r.id, r.year, r.scen] - pulp.lpSum(online) <= 0, f"jv_online_{i}")
    for i, r in enumerate(data.options.itertuples(index=False)):
        mine = [b for _, b in builds_of.get(r.id, [])]
        if mine:
            prob.addConstraint(pulp.lpSum(mine) <= r.max_size, f"jv_max_{i}")

    for k, (share, never) in enumerate(data.country_caps):
        for r in data.demand.itertuples(index=False):
            key = (r.mineral, r.year, r.scen)
            by_country: dict[str, list] = {}
            for v, location, _ in deliveries.get(key, []):
                if location not in never:
                    by_country.setdefault(location, []).append(v)
            for country, terms in sorted(by_country.items()):
                prob.addConstraint(pulp.lpSum(terms) + share * short[key] <= share * r.demand,
                                   f"country_cap{k}_{r.mineral}_{r.year}_{r.scen}_{country}")
    for k, (share, minerals, years) in enumerate(data.dependence_caps):
        for r in data.demand.itertuples(index=False):
            if r.mineral not in minerals or r.year not in years:
                continue
            key = (r.mineral, r.year, r.scen)
            terms = [a * v for v, _, a in deliveries.get(key, []) if a > 0]
            if terms:
                prob.addConstraint(pulp.lpSum(terms) <= share * r.demand, f"dep_cap{k}_{r.mineral}_{r.year}_{r.scen}")
    return NaivePulp(prob, flow, jv_out, build, short)


def pulp_flows(model: NaivePulp) -> pd.DataFrame:
    """The solution as a flows table (what a user reads back): id, year, scen, tonnes."""
    rows = [(k[0], k[1], k[2], v.varValue or 0.0) for k, v in model.flow.items()]
    rows += [(k[0], k[1], k[2], v.varValue or 0.0) for k, v in model.jv_out.items()]
    return pd.DataFrame(rows, columns=["id", "year", "scen", "tonnes"])


# ============================================================================================ linopy
def linopy_available() -> str | None:
    """linopy's version, or None when it is not installed."""
    try:
        import linopy
    except ImportError:
        return None
    return str(linopy.__version__)


def linopy_model(data: PeerData):
    """The same LP in linopy: labelled arrays with masks, rows as groupby sums."""
    import linopy
    import xarray as xr

    warnings.filterwarnings("ignore", category=linopy.LinopySemanticsWarning)  # masked slots count as 0
    m = linopy.Model()
    years = np.sort(pd.unique(data.demand["year"]))
    scens = np.sort(pd.unique(data.demand["scen"]))

    def along(table: pd.DataFrame, labels: np.ndarray, column: str, dim: str,
              name: str | None = None) -> xr.DataArray:
        """One attribute of each label (a source or an option id, the index of ``table``) as an array over dim."""
        return xr.DataArray(table.loc[labels, column].to_numpy(), dims=dim, coords={dim: labels}, name=name)

    def cube(frame: pd.DataFrame, value: str, dims: list[str], fill: float = 0.0) -> xr.DataArray:
        """A dense array over ``dims``, every year and scenario present (missing slots = ``fill``)."""
        array = frame.set_index(dims)[value].to_xarray()
        full = {d: years for d in dims if d == "year"} | {d: scens for d in dims if d == "scen"}
        return array.reindex(full).fillna(fill)

    # purchases: source × year × scen, masked where a source is not active
    sup = data.supply
    flow_ub = cube(sup, "ub", ["id", "year", "scen"]).rename(id="source")
    flow_mask = cube(sup.assign(one=1.0), "one", ["id", "year", "scen"]).rename(id="source") > 0
    flow_cost = cube(sup, "cost", ["id", "year", "scen"]).rename(id="source")
    flow = m.add_variables(lower=0.0, upper=flow_ub, mask=flow_mask, name="flow")
    src = sup.drop_duplicates("id").set_index("id")
    sources = flow_ub["source"].values
    src_mineral = along(src, sources, "mineral", "source", "mineral")
    src_location, src_attr = along(src, sources, "location", "source"), along(src, sources, "attr", "source")

    # JV output: option × year × scen; builds: option × year
    out = data.jv_out
    out_ub = cube(out, "ub", ["id", "year", "scen"]).rename(id="option")
    out_mask = cube(out.assign(one=1.0), "one", ["id", "year", "scen"]).rename(id="option") > 0
    out_cost = cube(out, "cost", ["id", "year", "scen"]).rename(id="option")
    jv_out = m.add_variables(lower=0.0, upper=out_ub, mask=out_mask, name="jv_out")
    opt = out.drop_duplicates("id").set_index("id")
    option_coords = {"option": out_ub["option"].values}
    options = out_ub["option"].values
    opt_mineral = along(opt, options, "mineral", "option", "mineral")
    opt_location, opt_attr = along(opt, options, "location", "option"), along(opt, options, "attr", "option")
    b = data.builds[data.builds["id"].isin(out_ub["option"].values)].assign(one=1.0)

    def build_cube(value: str, fill: float) -> xr.DataArray:
        return cube(b, value, ["id", "year"], fill).rename(id="option", year="built").reindex(
            option=out_ub["option"].values, fill_value=fill)

    b_ub, b_cost = build_cube("ub", 0.0), build_cube("cost", 0.0)
    b_mask = build_cube("one", 0.0) > 0
    build = m.add_variables(lower=0.0, upper=b_ub, mask=b_mask, name="build")
    online = build_cube("online", np.inf)

    dem = data.demand
    demand = cube(dem, "demand", ["mineral", "year", "scen"])
    short = m.add_variables(lower=0.0, upper=demand, name="short")
    short_cost = cube(dem, "short_cost", ["mineral", "year", "scen"])

    m.add_objective((flow_cost * flow).sum() + (out_cost * jv_out).sum() + (b_cost * build).sum()
                    + (short_cost * short).sum())

    # demand balance per mineral, year, scen
    supplied = flow.groupby(src_mineral).sum() + jv_out.groupby(opt_mineral).sum()
    m.add_constraints(supplied + short == demand, name="demand")

    # JV capacity online: jv_out[j, y, ω] − Σ_{built: online <= y} build[j, built] <= 0
    year_da = xr.DataArray(years, dims="year", coords={"year": years})
    is_online = (online <= year_da).astype(float)
    m.add_constraints(jv_out - (is_online * build).sum("built") <= 0, name="jv_online", mask=out_mask)
    has_build = b_mask.any("built")
    m.add_constraints(build.sum("built") <= xr.DataArray(
        data.options.set_index("id").loc[out_ub["option"].values, "max_size"].to_numpy(), dims="option",
        coords=option_coords), name="jv_max_size", mask=has_build)

    # country caps over (mineral, location) groups of purchases and JV output
    for k, (share, never) in enumerate(data.country_caps):
        src_key = src_mineral.str.cat(src_location, sep="|").rename("key")
        opt_key = opt_mineral.str.cat(opt_location, sep="|").rename("key")
        keys = sorted(set(src_key.values[~np.isin(src_location.values, list(never))])
                      | set(opt_key.values[~np.isin(opt_location.values, list(never))]))
        fsum = flow.where(~src_location.isin(list(never))).groupby(src_key).sum().reindex(key=keys)
        osum = jv_out.where(~opt_location.isin(list(never))).groupby(opt_key).sum().reindex(key=keys)
        key_mineral = xr.DataArray([key.split("|")[0] for key in keys], dims="key", coords={"key": keys})
        short_k = short.sel(mineral=key_mineral)
        demand_k = demand.sel(mineral=key_mineral)
        m.add_constraints(fsum + osum + share * short_k <= share * demand_k, name=f"country_cap{k}")

    for k, (share, minerals, cap_years) in enumerate(data.dependence_caps):
        attributed = (src_attr * flow).groupby(src_mineral).sum() + (opt_attr * jv_out).groupby(opt_mineral).sum()
        scope = (demand["mineral"].isin(list(minerals)) & demand["year"].isin(list(cap_years))).broadcast_like(
            demand)
        m.add_constraints(attributed <= share * demand, name=f"dependence_cap{k}", mask=scope)
    return m
