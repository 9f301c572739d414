"""Market calibration: increasing route costs that make the equilibrium reproduce observed US imports by origin.

In the spirit of positive mathematical programming (Howitt 1995): the equilibrium LP buys each origin up to a vertex,
so an observed mix of origins is at best a knife-edge tie of linear costs. The calibration adds to the buyer
region's import routes a cost that *rises with the route's flow*, in two steps, fitted so that the observed mix is
the equilibrium with a margin on either side. For each observed mineral m (``observed_trade.csv``, the buyer's first
year y0; origins grouped as the backcast groups them: each named origin, and REST for every other location outside
the buyer's country):

1. **Targets.** o_g, the observed share of group g. A group that can deliver nothing to the buyer in y0 (no capacity,
   or a policy in force such as China's 2025 gallium ban) is out of reach: it is dropped and the other shares are
   renormalised, o'_g = o_g / Σ_reachable o_h. A group whose first-year capacity available to the buyer, K_g, is
   below its share of the uncalibrated equilibrium's imports M0 is held at K_g / M0, and the others share the rest
   in proportion to o' (water filling: t_g = min(λ·o'_g, K_g / M0), Σ t_g = 1), so the targets never force the
   buyer to import less than the market gives it. What is out of reach or capped stays in the distance after
   calibration.
2. **Calibration LP** (PMP's first phase): the equilibrium LP plus, for every reachable group g but one, the share row
   of y0

       Σ_(s ∈ g) x[s, buyer, y0]  −  t_g · Σ_(s imported) x[s, buyer, y0]  =  0        dual y_g (y = 0: the left out)

   The rows are homogeneous: the buyer's total imports and every price stay the market's. At its optimum every
   positive buyer flow from group g is priced at delivered cost + rent + a_g, with the **calibration add-on**

       a_g = −(y_g − Σ_h t_h · y_h) / disc_y0        (USD/t in y0's money; Σ_g t_g · a_g = 0)

   the linear wedge that makes the observed mix optimal: the cost a buyer would have to see on group g's tonnes to
   choose exactly t_g of its imports from it. The add-ons average 0 over the observed mix (the buyer's average
   import cost at the observed mix is the accounting cost, as PMP keeps the observed average cost).
3. **Increasing route costs** (PMP's second phase): every import route s → buyer of group g gets two steps,

       step 0: the route's first-year flow of the calibration LP, x*[s], at add-on a_g − Δ_m
       step 1: everything above it (width +∞), at add-on a_g + Δ_m          (a route with x*[s] = 0: step 1 only)

   with Δ_m = ``margin`` × the mineral's reference price (minerals.csv). The route's cost rises with its flow, so
   the calibration LP's point is optimal for the stepped LP without the share rows (each positive route sits at the
   kink of its steps with a reduced cost of −Δ below it and +Δ above), and it stays optimal when costs or prices move
   by less than Δ: no knife edge. The steps hold in every year, with the first year's widths: the observed
   preference persists. ``engine/market/route_costs.py`` splits the route columns; ``build_market`` is unchanged.

What it does not move: the other regions' routes, capacities, demand curves and policies; groups out of reach keep
their routes as they are, and a mineral with one reachable group (all of the buyer's imports from it: nothing to
fit) is left uncalibrated. Reported: the backcast distance (``backcast.distance``) before and after, per mineral, and
the first-year prices before and after against the observed ranges (``market_backcast.price_checks``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.analysis.backcast import REST, Backcast, compare_shares, observations
from engine.analysis.market_backcast import PriceCheck, equilibrium_shares, price_checks
from engine.errors import InputError
from engine.inputs.market_observed import load_observations
from engine.inputs.market_tables import MarketData, load_market
from engine.inputs.scenario import LoadedScenario
from engine.market.build import MONEY_UNIT, MarketLP, build_market
from engine.market.prices import price_table
from engine.market.route_costs import with_route_steps
from engine.market.solve import MarketSolution, MarketSolver

DEFAULT_MARGIN = 0.01  # Δ_m as a share of the mineral's reference price
FLOW_TOL_T = 1e-6


@dataclass
class MarketCalibration:
    """The calibrated route costs and the backcast before and after."""

    loaded: LoadedScenario
    market: MarketData
    year: int
    margin: float
    status: str = "optimal"
    message: str = ""
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)  # per mineral and origin group: the fit
    steps: pd.DataFrame = field(default_factory=pd.DataFrame)  # route_costs.csv
    before: list[Backcast] = field(default_factory=list)
    after: list[Backcast] = field(default_factory=list)
    prices_before: list[PriceCheck] = field(default_factory=list)
    prices_after: list[PriceCheck] = field(default_factory=list)
    lp: MarketLP | None = None  # the stepped LP
    solution: MarketSolution | None = None  # its optimum
    uncalibrated: MarketSolution | None = None


def _group_of(locations: np.ndarray, named: set[str]) -> np.ndarray:
    return np.array([loc if loc in named else REST for loc in locations], dtype=object)


def water_fill(shares: dict[str, float], caps: dict[str, float]) -> dict[str, float]:
    """Targets t_g = min(λ·o_g, cap_g) with Σ t = 1 (λ ≥ 1 found by holding the capped groups at their caps), for
    shares o summing to 1; where even every cap of the groups with a share cannot reach 1, the caps, renormalised."""
    fixed: dict[str, float] = {}
    while True:
        free = {g: o for g, o in shares.items() if g not in fixed and o > 0}
        rest = 1.0 - sum(fixed.values())
        if not free or rest <= 0:
            break
        scale = rest / sum(free.values())
        over = {g: caps[g] for g, o in free.items() if scale * o > caps[g]}
        if not over:
            return {g: fixed.get(g, scale * o if o > 0 else 0.0) for g, o in shares.items()}
        fixed.update(over)
    total = sum(fixed.values())
    return {g: fixed.get(g, 0.0) / total if total > 0 else 0.0 for g in shares}


def _fit_groups(lp: MarketLP, observed: dict, imports_t: dict[str, float], buyer_country: str,
                year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(groups, rows): per observed mineral and group its observed and target share, reachability, first-year
    capacity available to the buyer and whether the target is capped by it; and the share rows' entries (``row``,
    ``col``, ``value``) with each row's mineral and group (``rows.attrs['keys']``). ``imports_t``: M0 per mineral."""
    f = lp.flows
    imports = (f["region"] == lp.buyer_region).to_numpy() & (f["year"] == year).to_numpy() & \
        (f["location"] != buyer_country).to_numpy()
    groups, entries, row_keys = [], [], []
    for mineral in sorted(observed):
        cols = np.flatnonzero(imports & (f["mineral"] == mineral).to_numpy())
        if not len(cols):
            continue
        o = observed[mineral].shares
        named = {g for g in o if g != REST}
        group = _group_of(f["location"].to_numpy(dtype=object)[cols], named)
        available = pd.Series(f["upper_t"].to_numpy(dtype=float)[cols]).groupby(group).sum()
        names = sorted(set(o) | set(group))
        reach = {g: float(available.get(g, 0.0)) > FLOW_TOL_T for g in names}
        total = sum(o.get(g, 0.0) for g in names if reach[g])
        m0 = imports_t.get(mineral, 0.0)
        usable = total > 0 and m0 > FLOW_TOL_T and sum(reach.values()) > 1  # one group: nothing to fit
        shares = {g: o.get(g, 0.0) / total for g in names if reach[g]} if usable else {}
        targets = water_fill(shares, {g: float(available.get(g, 0.0)) / m0 for g in shares}) if usable else {}
        for g in names:
            groups.append({"mineral": mineral, "group": g, "observed_share": o.get(g, 0.0), "reachable": reach[g],
                           "target_share": targets.get(g, 0.0), "available_t": float(available.get(g, 0.0)),
                           "capped": g in targets and targets[g] < shares[g] - 1e-12, "fitted": usable})
        if not usable:
            continue
        shaped = [g for g in names if reach[g]][:-1]  # one row fewer: the rows sum to zero over the reachable
        for g in shaped:
            values = (group == g).astype(float) - targets[g]
            keep = values != 0.0
            entries.append(pd.DataFrame({"row": len(row_keys), "col": cols[keep], "value": values[keep]}))
            row_keys.append((mineral, g))
    rows = pd.concat(entries, ignore_index=True) if entries else pd.DataFrame(columns=["row", "col", "value"])
    table = pd.DataFrame(groups, columns=["mineral", "group", "observed_share", "reachable", "target_share",
                                          "available_t", "capped", "fitted"])
    rows.attrs["keys"] = row_keys
    return table, rows


def _with_share_rows(lp: MarketLP, rows: pd.DataFrame) -> tuple[MarketLP, int]:
    """``lp`` with the share rows appended (bounds 0 = 0), and the index of the first."""
    n_rows, n_cols = lp.matrix.shape
    n_new = len(rows.attrs["keys"])
    extra = sp.csc_matrix((rows["value"].to_numpy(dtype=float),
                           (rows["row"].to_numpy(dtype=np.int64), rows["col"].to_numpy(dtype=np.int64))),
                          shape=(n_new, n_cols))
    matrix = sp.vstack([lp.matrix, extra], format="csc")
    matrix.sort_indices()
    return dataclasses.replace(lp, matrix=matrix, row_lower=np.concatenate([lp.row_lower, np.zeros(n_new)]),
                               row_upper=np.concatenate([lp.row_upper, np.zeros(n_new)])), n_rows


def _add_ons(groups: pd.DataFrame, keys: list[tuple[str, str]], duals: np.ndarray, disc: float) -> pd.Series:
    """a_g per (mineral, group) of the reachable groups (module docstring), USD/t in the first year's money."""
    y = {key: float(v) for key, v in zip(keys, duals, strict=True)}
    out = {}
    for mineral, rows in groups[groups["reachable"] & groups["fitted"]].groupby("mineral", sort=True):
        ys = {g: y.get((mineral, g), 0.0) for g in rows["group"]}
        mean = sum(t * ys[g] for g, t in zip(rows["group"], rows["target_share"], strict=True))
        for g in rows["group"]:
            out[(mineral, g)] = -(ys[g] - mean) * MONEY_UNIT / disc
    return pd.Series(out, dtype=float)


def _steps(lp: MarketLP, x: np.ndarray, groups: pd.DataFrame, add_on: pd.Series, margin: float,
           reference: dict[str, float], buyer_country: str, year: int) -> pd.DataFrame:
    """route_costs.csv: two steps per import route of a reachable group (step 1 only where the route carried
    nothing in the calibration LP's first year)."""
    f = lp.flows
    mask = (f["region"] == lp.buyer_region).to_numpy() & (f["year"] == year).to_numpy() & \
        (f["location"] != buyer_country).to_numpy() & f["mineral"].isin(set(groups["mineral"])).to_numpy()
    routes = f.loc[mask, ["source_id", "mineral", "location", "region"]].assign(first_year_t=x[mask])
    rows = []
    for r in routes.itertuples(index=False):
        fit = groups[groups["mineral"] == r.mineral]
        named = {g for g in fit["group"] if g != REST}
        g = r.location if r.location in named else REST
        if (r.mineral, g) not in add_on.index:
            continue  # out of reach: left as it is
        a, delta = float(add_on[(r.mineral, g)]), margin * reference[r.mineral]
        common = {"source_id": r.source_id, "region": r.region, "mineral": r.mineral, "location": r.location,
                  "group": g}
        if r.first_year_t > FLOW_TOL_T:
            rows.append({**common, "step": 0, "width_t": float(r.first_year_t), "usd_per_t": a - delta})
            rows.append({**common, "step": 1, "width_t": np.inf, "usd_per_t": a + delta})
        else:
            rows.append({**common, "step": 0, "width_t": np.inf, "usd_per_t": a + delta})
    return pd.DataFrame(rows, columns=["source_id", "region", "mineral", "location", "group", "step", "width_t",
                                       "usd_per_t"])


def _flows(lp: MarketLP, sol: MarketSolution) -> pd.DataFrame:
    return lp.flows.assign(tonnes=sol.x)


def calibrate_market(loaded: LoadedScenario, *, margin: float = DEFAULT_MARGIN, log: bool = False) -> MarketCalibration:
    """Fit increasing route costs to ``observed_trade.csv`` (module docstring) and solve the calibrated equilibrium.
    The scenario's goal, if any, is left out: the calibration concerns the market without it."""
    if not 0 < margin < 1:
        raise InputError(f"--margin {margin:g}: expected a share of the reference price above 0 and below 1")
    dataset, scenario = loaded.dataset, loaded.scenario
    if dataset.tables["observed_trade"].empty:
        raise InputError(f"{dataset.folder / 'observed_trade.csv'}: no observed import shares to calibrate to "
                         f"(expected rows of mineral, period, origin, share, measure, form)")
    market = load_market(dataset, scenario.buyer)
    lp = build_market(loaded, market)
    year = scenario.years[0]
    result = MarketCalibration(loaded=loaded, market=market, year=year, margin=margin)
    minerals = sorted(str(m) for m in lp.balances["mineral"].unique())
    observed = {m: o for m, o in observations(dataset).items() if m in minerals}
    observed_prices = load_observations(dataset, market).prices
    before = MarketSolver(lp, log=log).solve()
    result.uncalibrated = before
    result.before = compare_shares(observed, equilibrium_shares(_flows(lp, before), lp.buyer_region, scenario.buyer,
                                                                year), minerals)
    result.prices_before = price_checks(price_table(lp, before), observed_prices, year)
    imports = _flows(lp, before)
    imports = imports[(imports["region"] == lp.buyer_region) & (imports["year"] == year)
                      & (imports["location"] != scenario.buyer)]
    groups, rows = _fit_groups(lp, observed, imports.groupby("mineral")["tonnes"].sum().to_dict(), scenario.buyer,
                               year)
    fitted, first = _with_share_rows(lp, rows)
    solver = MarketSolver(fitted, log=log)
    phase1 = solver.solve()
    duals = phase1.row_dual[first:]
    disc = float(lp.balances.loc[lp.balances["year"] == year, "discount"].iloc[0])
    add_on = _add_ons(groups, rows.attrs["keys"], duals, disc)
    groups["add_on_usd_per_t"] = [float(add_on.get((m, g), np.nan)) for m, g in zip(groups["mineral"],
                                                                                       groups["group"], strict=True)]
    x_first = phase1.x
    groups["calibration_lp_t"] = _group_tonnes(lp, x_first, groups, scenario.buyer, year)
    reference = dict(zip(dataset.minerals["mineral"], dataset.minerals["reference_price_usd_per_t"], strict=True))
    groups["margin_usd_per_t"] = [margin * reference[m] for m in groups["mineral"]]
    result.groups = groups
    result.steps = _steps(lp, x_first, groups, add_on, margin, reference, scenario.buyer, year)
    stepped = with_route_steps(lp, result.steps)
    after = MarketSolver(stepped, log=log).solve()
    if after.x.size and not np.isfinite(after.x).all():  # pragma: no cover - HiGHS returns finite points
        result.status, result.message = "error", "the calibrated equilibrium has non-finite flows"
        return result
    result.lp, result.solution = stepped, after
    result.after = compare_shares(observed, equilibrium_shares(_flows(stepped, after), lp.buyer_region,
                                                               scenario.buyer, year), minerals)
    result.prices_after = price_checks(price_table(stepped, after), observed_prices, year)
    return result


def _group_tonnes(lp: MarketLP, x: np.ndarray, groups: pd.DataFrame, buyer_country: str, year: int) -> list[float]:
    f = lp.flows.assign(tonnes=x)
    f = f[(f["region"] == lp.buyer_region) & (f["year"] == year) & (f["location"] != buyer_country)]
    out = []
    for mineral, g in zip(groups["mineral"], groups["group"], strict=True):
        rows = f[f["mineral"] == mineral]
        named = {h for h in groups.loc[groups["mineral"] == mineral, "group"] if h != REST}
        grp = _group_of(rows["location"].to_numpy(dtype=object), named)
        out.append(float(rows["tonnes"].to_numpy()[grp == g].sum()))
    return out


__all__ = ["DEFAULT_MARGIN", "MarketCalibration", "calibrate_market"]
