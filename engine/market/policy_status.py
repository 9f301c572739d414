"""Each policy in the market: whether it binds (from the duals), and what it does (re-solved without it).

**Binding** (``policy_status``), from the final point's duals, in each year's money:

- a policy's rows (caps, content rules, quotas, domestic targets) bind where their shadow price μ (``rents.py``)
  is above 0; the largest is reported in the rows' unit (USD/t; a domestic target's USD per t/yr, present value);
- a policy's bounds (bans, quotas as a share, exclusions) bind where a route it closed would earn more than it
  costs: the flow sits at its bound with a negative reduced cost d, and −d (USD/t) is what one more tonne on that
  route would add to total surplus. A route two policies close counts for both;
- a tariff or lost credit is a cost, not a constraint: the tonnes it charges are reported.

Duals hold at one vertex: where the point is degenerate (a goal that also keeps China's tonnes out, a ban beside
another ban) a closed route can price above its cost although removing the policy changes nothing. So ``binds``
is the whole plan's answer, as for today's model: a constraint binds when removing it raises the world's total
surplus beyond noise (``surplus_gain_pv_usd``, from ``policy_effects``); ``binds_at_vertex`` keeps the duals'
answer beside it.

**What it does** (``policy_effects``: a whole-plan difference, not a dual, as for today's model): the same model
re-solved warm without the policy (its bounds restored, its cost taken off, its rows freed; every other policy and
the goal's θ kept), and per mineral it covers and region: the mean price over the policy's years with and without
it, the tonnes consumed over those years, the tonnes that changed origin (half the L1 distance of the region's
supply by location country, summed over the years), and each region's welfare (present value,
``frontier.WelfareAccount``). A ban on one destination raises that region's price and moves the tonnes other
regions buy. When removing a policy that only constrains (bounds, rows) does not raise total surplus, the point
with it is also optimal without it, and that point is the comparison: the policy does nothing here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.inputs.scenario import LoadedScenario
from engine.market.build import MONEY_UNIT, MarketLP
from engine.market.frontier import WelfareAccount
from engine.market.solve import MarketSolution, MarketSolver

ACTIVE_TOL = 1e-9  # USD/t: a shadow price or a route's lost value above this binds
SAME_OBJECTIVE = 1e-10  # relative: total surplus this close without a constraint policy is no gain from removing it
AT_BOUND_T = 1e-6


def _rows_of(lp: MarketLP, name: str, kind: str) -> np.ndarray:
    """The local indices of ``name``'s rows among the policy and JV rows."""
    r = lp.rows
    mine = (r["policy"] == name).to_numpy() & r["family"].isin([kind, "export_quota"]).to_numpy()
    return np.flatnonzero(mine)


def policy_status(lp: MarketLP, sol: MarketSolution, effects: pd.DataFrame | None = None,
                  mineral: str | None = None, year: int | None = None) -> pd.DataFrame:
    """``policies.csv``: per policy, its regions, how it acts, its rows and routes and whether they bind (with
    ``effects``, ``policy_effects``'s table: by the whole plan, module docstring; without, by the duals). With
    ``mineral`` and ``year`` (``critmin explain``), the same figures over that mineral-year's rows and routes only;
    a policy binds there when its duals say so in that mineral-year and, given ``effects``, the whole plan gains
    without it."""
    fx = lp.effects
    out = []
    at_bound = sol.x >= lp.flows["upper_t"].to_numpy() - AT_BOUND_T
    in_rows = np.ones(len(lp.rows), dtype=bool)
    in_flows = np.ones(lp.n_flows, dtype=bool)
    if mineral is not None:
        in_rows = (lp.rows["mineral"] == mineral).to_numpy() & (lp.rows["year"] == year).to_numpy()
        in_flows = (lp.flows["mineral"] == mineral).to_numpy() & (lp.flows["year"] == year).to_numpy()
    for name, kind, regions in lp.policies[["policy", "type", "regions"]].itertuples(index=False):
        rows = _rows_of(lp, name, kind)
        rows = rows[in_rows[rows]]
        shadow = sol.shadow[rows]
        closed = fx.closed.get(name, np.zeros(0, np.int64)) if fx is not None else np.zeros(0, np.int64)
        closed = closed[in_flows[closed]]
        lost = -sol.reduced[closed]
        binding = closed[at_bound[closed] & (lost > ACTIVE_TOL)]
        charged = fx.charged.get(name, np.zeros(0, np.int64)) if fx is not None else np.zeros(0, np.int64)
        charged = charged[in_flows[charged]]
        acts = [w for w, on in (("bounds", len(closed)), ("rows", len(rows)), ("cost", len(charged))) if on]
        units = lp.rows["unit"].to_numpy()[rows]
        out.append({"policy": name, "type": kind, "regions": regions, "acts_by": " and ".join(acts) or "nothing",
                    "rows": len(rows), "binding_rows": int((shadow > ACTIVE_TOL).sum()),
                    "shadow_price_max": float(shadow.max(initial=0.0)), "shadow_price_unit": units[0] if len(rows)
                    else "", "routes_closed": len(closed), "routes_binding": len(binding),
                    "route_value_max_usd_per_t": float(-sol.reduced[binding].min(initial=0.0)) if len(binding) else 0.0,
                    "charged_t": float(sol.x[charged].sum()),
                    "binds_at_vertex": bool(len(binding) or (shadow > ACTIVE_TOL).any()) if (len(rows) or len(closed))
                    else None})
    columns = ["policy", "type", "regions", "acts_by", "rows", "binding_rows", "shadow_price_max",
               "shadow_price_unit", "routes_closed", "routes_binding", "route_value_max_usd_per_t", "charged_t",
               "binds_at_vertex", "surplus_gain_pv_usd", "binds"]
    table = pd.DataFrame(out, columns=[c for c in columns if c not in ("surplus_gain_pv_usd", "binds")])
    gain = pd.Series(dtype=float) if effects is None or effects.empty else \
        effects.drop_duplicates("policy").set_index("policy")["surplus_gain_pv_usd"]
    table["surplus_gain_pv_usd"] = table["policy"].map(gain).astype(float)
    noise = SAME_OBJECTIVE * max(1.0, abs(sol.objective_pv_usd))
    whole = table["surplus_gain_pv_usd"].to_numpy() > noise
    known = table["surplus_gain_pv_usd"].notna().to_numpy()
    scoped = mineral is not None
    table["binds"] = [None if v is None else (bool(w) and (v or not scoped) if k else v)
                      for v, w, k in zip(table["binds_at_vertex"], whole, known, strict=True)]
    return table[columns]


def _constraint_only(lp: MarketLP, name: str) -> bool:
    """Whether removing ``name`` only relaxes the model (bounds and rows, no cost it charges)."""
    fx = lp.effects
    return fx is None or name not in fx.added


def solve_without(solver: MarketSolver, name: str) -> MarketSolution:
    """The model re-solved without policy ``name`` (module docstring), then restored."""
    lp, fx = solver.lp, solver.lp.effects
    kind = lp.policies.set_index("policy").loc[name, "type"]
    cols, upper = np.zeros(0, np.int64), np.zeros(0)
    if fx is not None and name in fx.factor:
        cols = np.flatnonzero(fx.factor[name] != 1.0)
        upper = lp.flows["reach_t"].to_numpy()[cols] * fx.allowed_without(name)[cols]
    if fx is not None and name in fx.forbids and lp.jv is not None:
        builds = np.flatnonzero(fx.forbids[name])
        allowed = fx.build_allowed_without(name)[builds]
        cols = np.concatenate([cols, lp.first_build_col + builds])
        upper = np.concatenate([upper, np.where(allowed, lp.jv.builds["max_size_tpy"].to_numpy()[builds], 0.0)])
    cost_cols, cost = np.zeros(0, np.int64), np.zeros(0)
    if fx is not None and name in fx.added:
        cost_cols = np.flatnonzero(fx.added[name] != 0.0)
        cost = lp.cost[cost_cols] - lp.flow_discount[cost_cols] * fx.added[name][cost_cols] / MONEY_UNIT
    rows = lp.first_extra_row + _rows_of(lp, name, kind)
    return solver.solve_changed(cols=cols, upper=upper, cost_cols=cost_cols, cost=cost, rows=rows,
                                row_upper=np.full(len(rows), np.inf))


def _resourced(lp: MarketLP, change: np.ndarray, minerals: list[str], years: list[int]) -> pd.Series:
    """Per (mineral, region): the tonnes that changed origin, Σ_years ½ Σ_countries |Δ deliveries from the
    country| (half the L1 distance of the region's supply by location, in tonnes)."""
    f = lp.flows
    scope = f["mineral"].isin(minerals).to_numpy() & f["year"].isin(years).to_numpy()
    frame = pd.DataFrame({"mineral": f["mineral"].to_numpy()[scope], "region": f["region"].to_numpy()[scope],
                          "year": f["year"].to_numpy()[scope], "location": f["location"].to_numpy()[scope],
                          "change": change[scope]})
    by_origin = frame.groupby(["mineral", "region", "year", "location"], sort=True)["change"].sum().abs()
    return 0.5 * by_origin.groupby(level=["mineral", "region"], sort=True).sum()


def policy_effects(solver: MarketSolver, account: WelfareAccount, sol: MarketSolution,
                   loaded: LoadedScenario) -> pd.DataFrame:
    """``policy_effects.csv``: per policy, mineral it covers and region, the mean price over its years with and
    without it (USD/t, year's money), the change (percent), the tonnes consumed over those years with and without
    it, and the region's welfare change over the horizon (with − without, present value)."""
    lp = solver.lp
    b = lp.balances
    key = pd.MultiIndex.from_frame(b[["region", "mineral", "year"]])
    row_s = key.get_indexer(pd.MultiIndex.from_frame(lp.steps[["region", "mineral", "year"]]))
    welfare_with = account.by_region(sol).set_index("region")["welfare_pv_usd"]
    frames = []
    for policy in loaded.scenario.policies:
        without = solve_without(solver, policy.name)
        gain = round(sol.objective_pv_usd - without.objective_pv_usd, 6) + 0.0  # the world's surplus without it
        if _constraint_only(lp, policy.name) and without.objective_pv_usd >= sol.objective_pv_usd - \
                SAME_OBJECTIVE * max(1.0, abs(sol.objective_pv_usd)):
            without = sol  # no better without it: the point with it is optimal without it too (an alternative
            # optimum found there would differ only by ties, not by anything the policy does)
        years = policy.years.select(lp.years)
        minerals = sorted(set(b["mineral"]) if policy.minerals is None else set(policy.minerals) & set(b["mineral"]))
        scope = b["mineral"].isin(minerals).to_numpy() & b["year"].isin(years).to_numpy()
        if not scope.any():
            continue
        change = account.by_region(without).set_index("region")["welfare_pv_usd"]
        frame = pd.DataFrame({"region": b["region"], "mineral": b["mineral"], "with": sol.price,
                              "without": without.price,
                              "consumed_with": np.bincount(row_s, sol.q, minlength=len(b)),
                              "consumed_without": np.bincount(row_s, without.q, minlength=len(b))})[scope]
        grouped = frame.groupby(["mineral", "region"], as_index=False, sort=True).agg(
            price_with_usd_per_t=("with", "mean"), price_without_usd_per_t=("without", "mean"),
            consumed_with_t=("consumed_with", "sum"), consumed_without_t=("consumed_without", "sum"))
        with np.errstate(invalid="ignore", divide="ignore"):
            grouped["price_change_pct"] = np.where(
                grouped["price_without_usd_per_t"] > 0,
                100.0 * (grouped["price_with_usd_per_t"] / grouped["price_without_usd_per_t"] - 1.0), np.nan)
        grouped["consumed_change_t"] = grouped["consumed_with_t"] - grouped["consumed_without_t"]
        moved = _resourced(lp, sol.x - without.x, minerals, years)
        grouped["resourced_t"] = moved.reindex(pd.MultiIndex.from_frame(grouped[["mineral", "region"]])).fillna(
            0.0).to_numpy()
        grouped["welfare_change_pv_usd"] = grouped["region"].map(welfare_with - change).to_numpy(dtype=float)
        grouped["surplus_gain_pv_usd"] = gain
        grouped.insert(0, "policy", policy.name)
        frames.append(grouped)
    columns = ["policy", "mineral", "region", "price_with_usd_per_t", "price_without_usd_per_t", "price_change_pct",
               "consumed_with_t", "consumed_without_t", "consumed_change_t", "resourced_t", "welfare_change_pv_usd",
               "surplus_gain_pv_usd"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)[columns]
    numbers = columns[3:]
    out[numbers] = out[numbers].round(6) + 0.0
    return out
