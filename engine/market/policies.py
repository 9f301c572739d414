"""The scenario's policies in the market: each acts on the imports of the regions it names.

A policy's ``regions`` (``inputs/market/regions.csv`` codes or ``all``; left out, the buyer's region) are the
importing regions it acts on. For region r with countries H_r, on the flows x[s, r, y] into r (s: a plant-year of
today's capacity or of a JV option):

Column policies (bounds and costs, as in today's model, ``engine/formulation/trade.py``, with the buyer replaced by r):

    export_ban      x[s, r, y] ≤ … × allowed_share      s located in / owned by the exporter e, not located in H_r;
                                                        never for the region e is home to (its own market)
    quota_t         Σ_{r ∈ regions} Σ_{s covered} x[s, r, y] ≤ quota_t      one row per mineral and year
    tariff          tariff[s, r, y] = c_s · ad_valorem + per_tonne_usd      s from the origin (r's revenue)
    feoc            x[s, r, y] = 0 (exclude), or + credit_usd_per_t on its delivered cost (credit_loss)
    market_access   x[s, r, y] = 0 for sources the country controls and its JVs above the equity limit or, with
                    hosted_in_buyer, hosted outside H_r

A FEOC or market-access exclusion of a JV option also forbids building it in the policy's years when r is the
region that funds the option (the buyer's), as today's model does; for another region it bars only r's imports.

Row policies, per region r, mineral m and year y in the policy's scope, written on x alone so that the balance
row's dual stays the price; supplied = Σ_s x[s, r, y] = consumed (the balance), so unmet demand never counts as
independence and a region may meet a share rule by consuming less, at a loss of its surplus:

    country_cap     Σ_s (1[country(s) = c] − θ) · x[s, r, y] ≤ 0          per country c (location, or the largest
                                                                          owner); aggregates (region 'World' in
                                                                          countries.csv) and, with exclude_buyer,
                                                                          H_r's own countries are never capped
    dependence_cap  Σ_s (a_s − θ) · x[s, r, y] ≤ 0                        a_s the attribution (dependence.basis)
    content_rule    Σ_s (σ_y − 1[s qualifies]) · x[s, r, y] ≤ 0           s qualifies when located in H_r or a
                                                                          listed partner (the buyer's FTA partners
                                                                          by default, for the buyer's region only)
                                                                          with covered equity below feoc_threshold
    domestic_target −Σ_{j hosted in H_r} Σ_{y': y' + L_j ≤ Y} build[j, y'] ≤ −(target − existing_r(m, Y))
                                                                          target: min_capacity_t, or min_share × r's
                                                                          reference quantity Q0[r, m, Y]

The dual of a share row (country cap, dependence cap, content rule), undiscounted to year y's money, is a
certificate price μ ≥ 0 exactly as for the buyer's goal (``goal.py``): a charge μ·coefficient per tonne, positive
on the tonnes the rule holds back and a credit on the others, netting to zero when the row binds; the welfare
accounting keeps it as the region's government revenue and out of the plants' margins. The dual of a quota row is
a scarcity rent per tonne that stays with the selling plants; that of a domestic target, USD (present value) per
t/yr of capacity. ``policy_status`` reports each policy's rows and whether they bind; for bounds, whether a flow
the policy closed would earn more than it costs (a negative reduced cost at its bound).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.errors import InputError, did_you_mean
from engine.formulation.model import Model
from engine.formulation.select import isin, scope_mask
from engine.formulation.trade import export_ban_mask, feoc_mask, market_access_mask, tariff_mask
from engine.inputs.market_tables import REGIONS, MarketData
from engine.inputs.scenario import LoadedScenario
from engine.inputs.schema import ALL, ContentRule, CountryCap, DependenceCap, DomesticTarget, ExportBan, PolicyBase
from engine.model.joins import group_rows

ROW_KEYS = ["family", "policy", "region", "mineral", "year", "country", "discount", "unit", "transfer"]
SHARE_FAMILIES = ("country_cap", "dependence_cap", "content_rule")


@dataclass
class RowBlock:
    """One family of rows Σ vals·x ≤ upper: a key row per LP row (``ROW_KEYS``) and the entries (local row,
    column, value)."""

    keys: pd.DataFrame
    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    upper: np.ndarray

    @staticmethod
    def empty() -> RowBlock:
        return RowBlock(pd.DataFrame(columns=ROW_KEYS), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
                        np.zeros(0))


@dataclass
class Deliveries:
    """What the policies read: the plant rows (today's capacity, then JV output) as the formulation's frames, and
    one row per flow x[s, r, y] with its plant row and region."""

    loaded: LoadedScenario  # the scenario with its policies (``model`` is built without them)
    model: Model
    market: MarketData
    frames: list[tuple[str, pd.DataFrame]]  # ("flow", supply) then ("jv_out", jv_output): plant rows in order
    flows: pd.DataFrame  # plant (row of the plant table), region, mineral, year, location, owner, attribution, …
    buyer_region: str
    builds: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per build column (option_id, year, …)

    def plant_mask(self, of_frame) -> np.ndarray:
        """``of_frame(block, frame)`` per delivery frame, end to end over the plant rows."""
        parts = [np.asarray(of_frame(block, frame), dtype=bool) for block, frame in self.frames]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)

    def into(self, region: str) -> np.ndarray:
        return (self.flows["region"] == region).to_numpy()


@dataclass
class ColumnEffects:
    """The column policies' effect on every flow, and what each one closed."""

    allowed: np.ndarray  # factor on the flow's bound
    ad_valorem: np.ndarray
    per_tonne: np.ndarray
    credit: np.ndarray
    closed: dict[str, np.ndarray]  # policy -> flows whose bound it cut
    covered: dict[str, np.ndarray]  # export ban -> flows it covers (its quota's flows)
    charged: dict[str, np.ndarray]  # policy -> flows it charges (tariff, lost credit)
    build_allowed: np.ndarray  # per build column
    factor: dict[str, np.ndarray] = field(default_factory=dict)  # policy -> its factor on every flow's bound
    added: dict[str, np.ndarray] = field(default_factory=dict)  # policy -> USD/t it adds to every flow's cost
    forbids: dict[str, np.ndarray] = field(default_factory=dict)  # policy -> build columns it forbids

    def on_columns(self, src: np.ndarray) -> ColumnEffects:
        """The same effects on a model whose flow column i is old flow ``src[i]`` (a route split into steps,
        ``engine/market/route_costs.py``): per-flow arrays taken at ``src``, index sets mapped to every new column
        of an old flow in them."""
        def index(old: np.ndarray) -> np.ndarray:
            return np.flatnonzero(np.isin(src, old))

        return ColumnEffects(allowed=self.allowed[src], ad_valorem=self.ad_valorem[src], per_tonne=self.per_tonne[src],
                             credit=self.credit[src], closed={k: index(v) for k, v in self.closed.items()},
                             covered={k: index(v) for k, v in self.covered.items()},
                             charged={k: index(v) for k, v in self.charged.items()},
                             build_allowed=self.build_allowed, factor={k: v[src] for k, v in self.factor.items()},
                             added={k: v[src] for k, v in self.added.items()}, forbids=dict(self.forbids))

    def allowed_without(self, name: str) -> np.ndarray:
        """The bound factor of every flow under every column policy but ``name``."""
        out = np.ones(len(self.allowed))
        for other, factor in self.factor.items():
            if other != name:
                out *= factor
        return out

    def build_allowed_without(self, name: str) -> np.ndarray:
        out = np.ones(len(self.build_allowed), dtype=bool)
        for other, forbidden in self.forbids.items():
            if other != name:
                out &= ~forbidden
        return out


def policy_regions(loaded: LoadedScenario, market: MarketData, buyer_region: str) -> list[tuple[str, ...]]:
    """The importing regions of each policy (regions.csv order), checked against ``regions.csv``."""
    known = list(market.regions["region"])
    out: list[tuple[str, ...]] = []
    problems = []
    for i, p in enumerate(loaded.scenario.policies):
        if p.regions is None:
            out.append((buyer_region,))
            continue
        if p.regions == ALL:
            out.append(tuple(known))
            continue
        for j, region in enumerate(p.regions):
            if region not in known:
                problems.append(f"{loaded.locate(('policies', i, 'regions', j))}: unknown region '{region}'"
                                f"{did_you_mean(region, known)}; expected regions of "
                                f"{market.folder / REGIONS.filename} ({', '.join(known)}) or 'all'")
        out.append(tuple(r for r in known if r in p.regions))
    if problems:
        raise InputError("; ".join(problems))
    return out


def column_effects(d: Deliveries, regions: list[tuple[str, ...]]) -> ColumnEffects:
    """Bounds and costs of every flow under the column policies (module docstring)."""
    model, n = d.model, len(d.flows)
    plant = d.flows["plant"].to_numpy()
    unit = d.flows["unit_cost_usd_per_t"].to_numpy(dtype=float)
    fx = ColumnEffects(allowed=np.ones(n), ad_valorem=np.zeros(n), per_tonne=np.zeros(n), credit=np.zeros(n),
                       closed={}, covered={}, charged={}, build_allowed=np.ones(len(d.builds), dtype=bool))
    for policy, named in zip(d.loaded.scenario.policies, regions, strict=True):
        for region in named:
            home = d.market.countries_of(region)
            into = d.into(region)
            if policy.type == "export_ban":
                if d.market.home.get(policy.exporter) == region:
                    continue  # the exporter's own market
                hit = into & d.plant_mask(lambda _, f, p=policy, h=home: export_ban_mask(model, f, p, h))[plant]
                _close(fx, policy.name, hit, policy.allowed_share)
                fx.covered[policy.name] = np.union1d(fx.covered.get(policy.name, np.zeros(0, np.int64)),
                                                     np.flatnonzero(hit))
            elif policy.type == "tariff":
                hit = into & d.plant_mask(lambda _, f, p=policy: tariff_mask(model, f, p))[plant]
                fx.ad_valorem[hit] += policy.ad_valorem
                fx.per_tonne[hit] += policy.per_tonne_usd
                _charge(fx, policy.name, hit, unit[hit] * policy.ad_valorem + policy.per_tonne_usd)
            elif policy.type == "feoc":
                hit = into & d.plant_mask(lambda b, f, p=policy: feoc_mask(model, b, f, p))[plant]
                if policy.action == "exclude":
                    _close(fx, policy.name, hit, 0.0)
                    _forbid_builds(d, fx, policy, hit, region)
                else:
                    fx.credit[hit] += policy.credit_usd_per_t
                    _charge(fx, policy.name, hit, np.full(int(hit.sum()), policy.credit_usd_per_t))
            elif policy.type == "market_access":
                hit = into & d.plant_mask(lambda b, f, p=policy, h=home: market_access_mask(model, b, f, p, h))[plant]
                _close(fx, policy.name, hit, 0.0)
                _forbid_builds(d, fx, policy, hit, region)
    return fx


def _close(fx: ColumnEffects, name: str, hit: np.ndarray, factor: float) -> None:
    fx.allowed[hit] *= factor
    fx.factor.setdefault(name, np.ones(len(fx.allowed)))[hit] *= factor
    if factor < 1.0:
        fx.closed[name] = np.union1d(fx.closed.get(name, np.zeros(0, np.int64)), np.flatnonzero(hit))


def _charge(fx: ColumnEffects, name: str, hit: np.ndarray, usd_per_t: np.ndarray) -> None:
    fx.charged[name] = np.union1d(fx.charged.get(name, np.zeros(0, np.int64)), np.flatnonzero(hit))
    fx.added.setdefault(name, np.zeros(len(fx.allowed)))[hit] += usd_per_t


def _forbid_builds(d: Deliveries, fx: ColumnEffects, policy: PolicyBase, hit: np.ndarray, region: str) -> None:
    """An exclusion of a JV option's output to the region that funds it forbids building it in the policy's
    years (as today's model does for its one buyer)."""
    if region != d.buyer_region or d.builds.empty:
        return
    options = set(d.flows.loc[hit & (d.flows["kind"] == "jv").to_numpy(), "source_id"])
    if options:
        forbidden = d.builds["option_id"].isin(options).to_numpy() & scope_mask(d.builds, policy, d.model.years)
        fx.build_allowed &= ~forbidden
        fx.forbids[policy.name] = fx.forbids.get(policy.name, np.zeros(len(forbidden), dtype=bool)) | forbidden


# ------------------------------------------------------------------------------------------------- rows
def policy_rows(d: Deliveries, regions: list[tuple[str, ...]], fx: ColumnEffects, build_col0: int,
                curves: pd.DataFrame) -> list[RowBlock]:
    """The row policies' rows and the export quotas' (module docstring); ``build_col0``: the first build column;
    ``curves``: the regional demand curves (Q0 for a domestic target's share)."""
    blocks = []
    for i, (policy, named) in enumerate(zip(d.loaded.scenario.policies, regions, strict=True)):
        if policy.type == "export_ban" and policy.quota_t is not None:
            blocks.append(_quota_rows(d, policy, fx))
        elif policy.type in ("country_cap", "dependence_cap", "content_rule"):
            for region in named:
                blocks.append(_share_rows(d, policy, region))
        elif policy.type == "domestic_target":
            for region in named:
                blocks.append(_domestic_rows(d, policy, region, i, build_col0, curves, fx.build_allowed))
    return [b for b in blocks if len(b.keys)]


def _keys(groups: pd.DataFrame, family: str, policy: str, region: str, unit: str, transfer: bool,
          discount: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame({"family": family, "policy": policy, "region": region,
                        "mineral": groups["mineral"].to_numpy(), "year": groups["year"].to_numpy(dtype=np.int64),
                        "country": groups["country"].to_numpy() if "country" in groups else "",
                        "discount": discount, "unit": unit, "transfer": transfer}, index=range(len(groups)))
    return out[ROW_KEYS]


def _discount(d: Deliveries, years: np.ndarray) -> np.ndarray:
    return d.model.discount(np.asarray(years, dtype=float))


def _quota_rows(d: Deliveries, policy: ExportBan, fx: ColumnEffects) -> RowBlock:
    """Σ_{regions} Σ_{covered s} x[s, r, y] ≤ quota_t per mineral and year (covered: the flows the ban covers)."""
    hit = fx.covered.get(policy.name, np.zeros(0, np.int64))
    if not len(hit):
        return RowBlock.empty()
    groups, codes = group_rows(d.flows.iloc[hit][["mineral", "year"]].reset_index(drop=True), ["mineral", "year"])
    keys = _keys(groups, "export_quota", policy.name, "", "USD/t", False, _discount(d, groups["year"]))
    keys["country"] = policy.exporter
    return RowBlock(keys, codes, hit.astype(np.int64), np.ones(len(hit)), np.full(len(groups), policy.quota_t))


def _share_rows(d: Deliveries, policy: CountryCap | DependenceCap | ContentRule, region: str) -> RowBlock:
    """Country caps, dependence caps and content rules on the region's flows (module docstring)."""
    f = d.flows
    scope = d.into(region) & scope_mask(f, policy, d.model.years)
    at = np.flatnonzero(scope)
    if not len(at):
        return RowBlock.empty()
    mine = f.iloc[at].reset_index(drop=True)
    groups, codes = group_rows(mine[["mineral", "year"]], ["mineral", "year"])
    if policy.type == "dependence_cap":
        vals = mine["attribution"].to_numpy(dtype=float) - policy.max_share
        return _one_per_group(d, policy, region, groups, codes, at, vals)
    if policy.type == "content_rule":
        required = groups["year"].map(policy.share_in).to_numpy(dtype=float)
        qualifies = _qualifies(d, policy, region, mine)
        vals = required[codes] - qualifies.astype(float)
        keep = ~np.isnan(required)
        return _one_per_group(d, policy, region, groups, codes, at, vals, keep_group=keep)
    return _country_cap_rows(d, policy, region, mine, groups, codes, at)


def _qualifies(d: Deliveries, policy: ContentRule, region: str, mine: pd.DataFrame) -> np.ndarray:
    """Flows that count towards a content rule of ``region``: located in the region or a partner (``qualifying``;
    by default the buyer's FTA partners for the buyer's region, none for another), with covered-nation equity
    below ``feoc_threshold``."""
    if policy.qualifying is not None:
        partners = set(policy.qualifying)
    elif region == d.buyer_region:
        countries = d.model.dataset.countries
        partners = set(countries.loc[countries["us_fta"], "iso3"])
    else:
        partners = set()
    ok = isin(mine["location"], sorted(partners | set(d.market.countries_of(region))))
    if policy.feoc_threshold is not None:
        ok &= mine["covered_equity"].to_numpy(dtype=float) < policy.feoc_threshold - 1e-12
    return ok


def _one_per_group(d: Deliveries, policy: PolicyBase, region: str, groups: pd.DataFrame, codes: np.ndarray,
                   at: np.ndarray, vals: np.ndarray, keep_group: np.ndarray | None = None) -> RowBlock:
    """One row per (mineral, year) group: Σ vals·x ≤ 0 (groups outside ``keep_group`` dropped)."""
    keep = np.ones(len(groups), dtype=bool) if keep_group is None else keep_group
    local = np.full(len(groups), -1, dtype=np.int64)
    local[keep] = np.arange(int(keep.sum()))
    rows = local[codes]
    inside = (rows >= 0) & (vals != 0.0)
    kept = groups[keep].reset_index(drop=True)
    keys = _keys(kept, policy.type, policy.name, region, "USD/t", True, _discount(d, kept["year"]))
    return RowBlock(keys, rows[inside], at[inside].astype(np.int64), vals[inside], np.zeros(len(kept)))


def _country_cap_rows(d: Deliveries, policy: CountryCap, region: str, mine: pd.DataFrame, groups: pd.DataFrame,
                      codes: np.ndarray, at: np.ndarray) -> RowBlock:
    """Per (mineral, year, country c): Σ_s (1[country(s) = c] − θ)·x[s, region, y] ≤ 0, over every flow of the
    mineral-year into the region."""
    column = "location" if policy.by == "location" else "owner"
    country = mine[column].astype(object).to_numpy()
    countries = d.model.dataset.countries
    eligible = ~np.isin(country, list(countries.loc[countries["region"] == "World", "iso3"]))
    eligible &= pd.notna(country)
    if policy.exclude_buyer:
        eligible &= ~np.isin(country, d.market.countries_of(region))
    if policy.countries is not None:
        eligible &= np.isin(country, policy.countries)
    if not eligible.any():
        return RowBlock.empty()
    capped = pd.DataFrame({"group": codes[eligible], "country": country[eligible]}).drop_duplicates()
    capped = capped.sort_values(["group", "country"], kind="stable").reset_index(drop=True)
    capped["row"] = np.arange(len(capped))
    pairs = capped.merge(pd.DataFrame({"group": codes, "flow": np.arange(len(mine)), "of": country}),
                         on="group", how="inner", sort=False)
    vals = (pairs["of"].to_numpy() == pairs["country"].to_numpy()).astype(float) - policy.max_share
    inside = vals != 0.0
    rows_groups = groups.iloc[capped["group"].to_numpy()].reset_index(drop=True).assign(
        country=capped["country"].to_numpy())
    keys = _keys(rows_groups, "country_cap", policy.name, region, "USD/t", True, _discount(d, rows_groups["year"]))
    return RowBlock(keys, pairs["row"].to_numpy(dtype=np.int64)[inside],
                    at[pairs["flow"].to_numpy()][inside].astype(np.int64), vals[inside], np.zeros(len(capped)))


def _domestic_rows(d: Deliveries, policy: DomesticTarget, region: str, index: int, build_col0: int,
                   curves: pd.DataFrame, allowed: np.ndarray) -> RowBlock:
    """Per mineral m and year Y of the policy: −Σ builds hosted in the region, online by Y ≤ −(target −
    existing); a target no build could reach is refused here, naming the policy."""
    model = d.model
    minerals = model.minerals if policy.minerals is None else [m for m in model.minerals if m in policy.minerals]
    years = policy.years.select(model.years)
    targets = pd.DataFrame([(m, y) for m in sorted(minerals) for y in years], columns=["mineral", "year"])
    if targets.empty:
        return RowBlock.empty()
    home = d.market.countries_of(region)
    if policy.min_capacity_t is not None:
        wanted = np.full(len(targets), float(policy.min_capacity_t))
    else:
        q0 = curves[curves["region"] == region].set_index(["mineral", "year"])["quantity_t"]
        wanted = policy.min_share * q0.reindex(pd.MultiIndex.from_frame(targets)).fillna(0.0).to_numpy()
    existing = _existing_capacity(model, home, targets)
    need = wanted - existing
    b = d.builds
    hosted = isin(b["host"], home) & allowed if len(b) else np.zeros(0, dtype=bool)
    pairs = targets.reset_index(names="row").merge(
        pd.DataFrame({"mineral": b["mineral"].to_numpy()[hosted], "online": b["online"].to_numpy()[hosted],
                      "b": np.flatnonzero(hosted), "max": b["max_size_tpy"].to_numpy(dtype=float)[hosted]}),
        on="mineral") if hosted.any() else pd.DataFrame(columns=["row", "year", "online", "b", "max"])
    pairs = pairs[pairs["online"].to_numpy() <= pairs["year"].to_numpy()]
    reach = pairs.drop_duplicates(["row", "b"]).groupby("row")["max"].sum() if len(pairs) else pd.Series(dtype=float)
    most = reach.reindex(range(len(targets))).fillna(0.0).to_numpy()
    short = need > most + 1e-9
    if short.any():
        k = int(np.flatnonzero(short)[0])
        raise InputError(f"{d.loaded.locate(('policies', index))}: domestic_target '{policy.name}' needs "
                         f"{wanted[k]:,.0f} t/yr of {targets['mineral'][k]} hosted in region {region} by "
                         f"{targets['year'][k]}; it has {existing[k]:,.0f} t/yr and its JV options can add at most "
                         f"{most[k]:,.0f} by then, so the market has no solution; lower the target or add options")
    keys = _keys(targets, "domestic_target", policy.name, region, "USD per t/yr (present value)", False,
                 np.ones(len(targets)))
    return RowBlock(keys, pairs["row"].to_numpy(dtype=np.int64), build_col0 + pairs["b"].to_numpy(dtype=np.int64),
                    -np.ones(len(pairs)), -np.maximum(need, 0.0))


def _existing_capacity(model: Model, home: list[str], targets: pd.DataFrame) -> np.ndarray:
    """Capacity (t/yr, capacity.csv) located in ``home`` and active in each target's year, per (mineral, year)."""
    src = model.sources
    src = src[isin(src["location"], home)]
    last = src["last_year"].astype("Float64").fillna(np.inf).astype(float).to_numpy()
    out = np.zeros(len(targets))
    for i, (mineral, year) in enumerate(targets[["mineral", "year"]].itertuples(index=False)):
        active = (src["mineral"].to_numpy() == mineral) & (src["first_year"].to_numpy() <= year) & (last >= year)
        out[i] = float(src["capacity_t"].to_numpy()[active].sum())
    return out
