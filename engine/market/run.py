"""``solve_market``: the equilibrium of a ``market: equilibrium`` scenario, its printout, summary and files."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from engine.formulation.disruptions import ScenarioSet
from engine.inputs.market_tables import MarketData, load_market
from engine.inputs.names import Names
from engine.inputs.scenario import LoadedScenario
from engine.market.build import CapacityBasis, MarketLP, build_market
from engine.market.demand import STEPS_ABOVE, STEPS_BELOW
from engine.market.frontier import Frontier, WelfareAccount, run_frontier
from engine.market.goal import buyer_measures, certificate_table, flow_certificate, point_exposure, point_share
from engine.market.jv import build_table
from engine.market.lines import build_lines, policy_lines
from engine.market.policy_status import policy_effects, policy_status
from engine.market.prices import price_table
from engine.market.solve import MarketSolution, MarketSolver
from engine.market.welfare import welfare_pv, welfare_table
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import versions

DOMINATED = ("ga", "ge")  # one seller holds most capacity: a competitive price understates the market's


@dataclass
class GoalResult:
    """The buyer region's goal (step 2): the uncapped equilibrium it is measured against, the certificates, who
    pays, and (with a budget) the frontier of θ."""

    theta: float
    uncapped: MarketSolution
    certificates: pd.DataFrame
    who_pays: pd.DataFrame
    spend_pv_usd: float
    frontier: Frontier | None = None


@dataclass
class MarketResult:
    """One solved market equilibrium."""

    loaded: LoadedScenario
    market: MarketData
    lp: MarketLP
    solution: MarketSolution
    prices: pd.DataFrame
    welfare: pd.DataFrame
    flows: pd.DataFrame
    seconds: float
    summary: dict = field(default_factory=dict)
    goal: GoalResult | None = None
    # engine.analysis.market_backcast.MarketBackcast (a layer above), attached by add_backcast; None: not computed,
    # or observed_trade.csv observes none of the minerals
    backcast: Any = None
    solver: MarketSolver | None = None  # the HiGHS model at the reported point, for warm re-solves (stress)
    account: WelfareAccount | None = None  # present-value welfare per region of any point of ``lp``
    policies: pd.DataFrame = field(default_factory=pd.DataFrame)  # policies.csv (policy_status.py)
    policy_effects: pd.DataFrame = field(default_factory=pd.DataFrame)  # policy_effects.csv
    builds: pd.DataFrame = field(default_factory=pd.DataFrame)  # builds.csv (jv.py)

    @property
    def text(self) -> str:
        return summary_text(self)

    def add_backcast(self, backcast: Any) -> None:
        """Attach the backcast (``engine.analysis.market_backcast.market_backcast(self)``): its lines join the
        printout, its rows ``backcast.csv`` and the summary's ``backcast``."""
        self.backcast = backcast
        self.summary = market_summary(self)

    @property
    def files(self) -> list[str]:
        """The files ``write`` puts in the folder (scenario.yaml aside), in the order the printout names them."""
        names = ["prices.csv", "welfare.csv", "market_flows.csv", "builds.csv", "policies.csv", "policy_effects.csv"]
        if self.goal is not None:
            names += ["certificates.csv", "who_pays.csv"] + (["frontier.csv"] if self.goal.frontier else [])
        return names + (list(self.backcast.tables()) if self.backcast is not None else []) + ["summary.json"]

    def write(self, folder: Path, force: bool = False) -> Path:
        """The ``files`` and scenario.yaml, written atomically."""

        def fill(tmp: Path) -> None:
            write_json(self.summary, tmp / "summary.json")
            write_csv(self.prices, tmp / "prices.csv")
            write_csv(self.welfare, tmp / "welfare.csv")
            write_csv(self.flows, tmp / "market_flows.csv")
            write_csv(self.policies, tmp / "policies.csv")
            write_csv(self.policy_effects, tmp / "policy_effects.csv")
            write_csv(self.builds, tmp / "builds.csv")
            if self.backcast is not None:
                for name, frame in self.backcast.tables().items():  # backcast.csv, price_backcast.csv, …
                    write_csv(frame, tmp / name)
            if self.goal is not None:
                write_csv(self.goal.certificates, tmp / "certificates.csv")
                write_csv(self.goal.who_pays, tmp / "who_pays.csv")
                if self.goal.frontier is not None:
                    write_csv(self.goal.frontier.points, tmp / "frontier.csv")
            resolved = self.loaded.scenario.model_dump(mode="json", exclude_none=True)
            (tmp / "scenario.yaml").write_text(
                "# The scenario exactly as solved (inheritance resolved, defaults filled in).\n"
                + yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")

        return write_folder_atomically(folder, fill, force=force, inputs=self.loaded.input_paths)


def solve_market(loaded: LoadedScenario, *, capacity_basis: CapacityBasis = "full", log: bool = False,
                 time_limit: float | None = None, market: MarketData | None = None,
                 scenarios: ScenarioSet | None = None) -> MarketResult:
    """Build and solve the market equilibrium of ``loaded`` (its dataset's market tables, or ``market``: the
    analyses' variants of them); with ``market_goal``, also the uncapped equilibrium and the goal's θ (given, or
    chosen by the budget rule on the frontier). ``scenarios``: one sample's availability and cost factors
    (``build_market``)."""
    start = time.perf_counter()
    market = market if market is not None else load_market(loaded.dataset, loaded.scenario.buyer)
    spec = loaded.scenario.goal
    lp = build_market(loaded, market, capacity_basis=capacity_basis, goal_rows=spec is not None, scenarios=scenarios)
    solver = MarketSolver(lp, log=log, time_limit=time_limit)
    sol = solver.solve()
    goal = None
    account = WelfareAccount(lp, market, loaded.dataset.ownership)
    if spec is not None:
        uncapped = sol
        frontier = None
        if spec.share_of_supply_max is not None:
            theta = float(spec.share_of_supply_max)
        else:
            budget = spec.budget
            frontier = run_frontier(solver, account, uncapped, points=spec.points,
                                    budget_premium=budget.premium if budget else None,
                                    budget_absolute_usd=budget.absolute_usd if budget else None)
            theta = float(frontier.points["theta"].iloc[frontier.chosen]) if frontier.chosen is not None else 1.0
        solver.set_theta(theta)
        sol = solver.solve()
        certificates = certificate_table(lp, sol, buyer_measures(lp, uncapped))
        goal = GoalResult(theta=theta, uncapped=uncapped, certificates=certificates,
                          who_pays=who_pays(lp, account, uncapped, sol), spend_pv_usd=account.spend_pv(uncapped),
                          frontier=frontier)
    flows = lp.flows.assign(tonnes=sol.x)
    columns = ["source_id", "mineral", "location", "home_region", "region", "year", "tonnes", "unit_cost_usd_per_t",
               "trade_cost_usd_per_t", "tariff_usd_per_t", "delivered_cost_usd_per_t"]
    if goal is not None:
        flows["certificate_usd_per_t"] = np.round(flow_certificate(lp, sol), 6) + 0.0
        columns.append("certificate_usd_per_t")
    flows = flows.loc[flows["tonnes"] > 1e-9, columns]
    prices = price_table(lp, sol)
    if goal is not None:
        prices["price_uncapped_usd_per_t"] = np.round(goal.uncapped.price, 6) + 0.0
    effects = policy_effects(solver, account, sol, loaded)
    result = MarketResult(loaded=loaded, market=market, lp=lp, solution=sol, prices=prices,
                          welfare=welfare_table(lp, sol, market, loaded.dataset.ownership),
                          flows=flows.reset_index(drop=True), seconds=0.0, goal=goal, solver=solver,
                          account=account,
                          policies=policy_status(lp, sol, effects), policy_effects=effects,
                          builds=build_table(lp.jv, sol.build, lp.flows, sol.x))
    result.seconds = time.perf_counter() - start
    result.summary = market_summary(result)
    return result


def who_pays(lp: MarketLP, account: WelfareAccount, uncapped: MarketSolution, goal: MarketSolution) -> pd.DataFrame:
    """``who_pays.csv``: per region, welfare in present value without and with the goal, the change of each part,
    and the change in the cost of its uncapped consumption at the goal's prices (a Laspeyres index, percent)."""
    before = account.by_region(uncapped).set_index("region")
    after = account.by_region(goal).set_index("region")
    out = pd.DataFrame({"region": before.index, "welfare_uncapped_pv_usd": before["welfare_pv_usd"].to_numpy(),
                        "welfare_goal_pv_usd": after["welfare_pv_usd"].to_numpy()})
    for part in ("consumer_surplus", "producer_surplus", "government_revenue", "welfare"):
        out[f"{part}_change_pv_usd"] = (after[f"{part}_pv_usd"] - before[f"{part}_pv_usd"]).to_numpy()
    out["price_change_pct"] = price_change_pct(account, uncapped, goal)
    return out


def price_change_pct(account: WelfareAccount, base: MarketSolution, other: MarketSolution,
                     steps: np.ndarray | None = None) -> np.ndarray:
    """Per region (``account.regions``): the change, percent, in the cost of ``base``'s consumption at ``other``'s
    prices, Σ disc·q_base·(price_other − price_base) / Σ disc·q_base·price_base (a Laspeyres index over the
    mineral-years; 0 where the basket costs nothing). ``steps``: the demand steps in the basket (a mask; default
    all, every mineral): who pays, stress and sensitivity all read price changes from here."""
    basket = account.disc_s * base.q
    if steps is not None:
        basket = np.where(steps, basket, 0.0)
    n = len(account.regions)
    paid_before = np.bincount(account.region_s, basket * base.price[account.row_s], minlength=n)
    paid_after = np.bincount(account.region_s, basket * other.price[account.row_s], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(paid_before > 0, 100.0 * (paid_after - paid_before) / paid_before, 0.0)


def buyer_figures(lp: MarketLP, sol: MarketSolution) -> dict:
    """The buyer region's measures over the horizon (``goal.py``): exposure (the mean over mineral-years), the mean
    and largest share of supply, the tonnes it consumes, its reference tonnes Q0 and the reference tonnes it does
    not consume (Σ max(0, Q0 − supplied)); per mineral code the mean exposure and share over its years."""
    m = buyer_measures(lp, sol)
    share_mean, share_max = point_share(m)
    unconsumed = np.maximum(0.0, m["reference_t"].to_numpy(dtype=float) - m["supplied_t"].to_numpy(dtype=float))
    by = m.groupby("mineral", sort=True)[["exposure_pct", "share_of_supply_pct"]].mean()
    return {"exposure_pct": _tidy(point_exposure(m)), "share_of_supply_mean_pct": _tidy(share_mean),
            "share_of_supply_max_pct": _tidy(share_max), "consumption_t": float(m["supplied_t"].sum()),
            "reference_t": float(m["reference_t"].sum()), "unconsumed_t": float(unconsumed.sum()),
            "by_mineral": {k: {"exposure_pct": _tidy(r["exposure_pct"]), "share_of_supply_pct": _tidy(
                r["share_of_supply_pct"])} for k, r in by.iterrows()}}


def _tidy(percent: float) -> float | None:
    """A percentage rounded to 1e-9 points (no -0, no round-off below it); None where undefined (NaN)."""
    return None if percent != percent else round(float(percent), 9) + 0.0


def _names(loaded: LoadedScenario) -> dict[str, str]:
    m = loaded.dataset.minerals
    return {k: str(v).split("(")[0].strip().lower() for k, v in zip(m["mineral"], m["name"], strict=True)}


def imports_by_origin(result: MarketResult, year: int) -> pd.DataFrame:
    """The buyer region's deliveries in ``year`` by mineral and location country (t and share)."""
    f = result.flows
    mine = f[(f["region"] == result.lp.buyer_region) & (f["year"] == year)]
    out = mine.groupby(["mineral", "location"], as_index=False, sort=True)["tonnes"].sum()
    out["share"] = out["tonnes"] / out.groupby("mineral")["tonnes"].transform("sum")
    return out.sort_values(["mineral", "tonnes", "location"], ascending=[True, False, True], kind="stable")


def market_summary(result: MarketResult) -> dict:
    s = result.loaded.scenario
    first = s.years[0]
    p = result.prices[result.prices["year"] == first]
    ref = result.loaded.dataset.minerals.set_index("mineral")["reference_price_usd_per_t"]
    names = _names(result.loaded)
    prices = {names[m]: {"reference_price_usd_per_t": float(ref[m]),
                         **{r: float(v) for r, v in zip(g["region"], g["price_usd_per_t"], strict=True)}}
              for m, g in p.groupby("mineral", sort=True)}
    imports = imports_by_origin(result, first)
    us_imports = {names[m]: {o: {"tonnes_t": float(t), "share": float(sh)}
                             for o, t, sh in zip(g["location"], g["tonnes"], g["share"], strict=True)}
                  for m, g in imports.groupby("mineral", sort=True)}
    pv = welfare_pv(result.welfare, result.lp)
    welfare = {r: {k: float(v) for k, v in row.items() if k != "region"}
               for r, row in zip(pv["region"], pv.to_dict("records"), strict=True)}
    return stamped({
        "scenario": {"name": s.name, "file": str(result.loaded.path) if result.loaded.path else None},
        "market": "equilibrium", "market_step": 2 if result.goal is not None else 1,
        "buyer_region": result.lp.buyer_region,
        "regions": list(result.market.regions["region"]),
        "money": "real USD of 2024; prices in each year's money, welfare also as present value at "
                 f"{s.base_year} at {s.finance.discount_rate:.0%}",
        "demand_steps": STEPS_ABOVE + STEPS_BELOW + 1,
        "model": {"columns": int(result.lp.matrix.shape[1]), "rows": int(result.lp.matrix.shape[0]),
                  "nonzeros": int(result.lp.matrix.nnz)},
        "solver": result.solution.version, "solve_s": result.solution.seconds, "total_s": result.seconds,
        "total_surplus_pv_usd": -result.solution.objective_pv_usd,
        "prices_first_year": {"year": first, "by_mineral_usd_per_t": prices},
        "buyer_imports_first_year": {"year": first, "by_mineral": us_imports},
        "welfare": welfare,
        "buyer": {**buyer_figures(result.lp, result.solution),
                  "spend_pv_usd": result.account.spend_pv(result.solution) if result.account else None},
        "goal": goal_summary(result),
        "backcast": result.backcast.summary() if result.backcast is not None else None,
        "versions": versions(),
        "policies": policies_summary(result),
        "jv_builds": {str(r["option_id"]): {k: _plain(r[k]) for k in ("mineral", "host", "built_tpy", "first_online",
                                                                        "offtake_share", "output_t", "output_funder_t",
                                                                        "capex_pv_usd")}
                      for r in result.builds.to_dict("records")},
        "not_yet": ["stockpiles", "calibration in solve (critmin calibrate fits route costs)",
                    "robust and worstcase in market mode"],
    })


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars as Python's, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    return None if isinstance(value, float) and value != value else value


def policies_summary(result: MarketResult) -> dict:
    """Per policy: its regions, how it acts, whether it binds and how much, and per region the welfare change it
    causes (against the same model without it)."""
    effects = result.policy_effects
    out = {}
    for row in result.policies.to_dict("records"):
        mine = effects[effects["policy"] == row["policy"]].drop_duplicates("region")
        out[row["policy"]] = {**{k: _plain(v) for k, v in row.items() if k != "policy"},
                              "welfare_change_pv_usd": {r: float(v) for r, v in
                                                        zip(mine["region"], mine["welfare_change_pv_usd"],
                                                            strict=True)}}
    return out


def goal_summary(result: MarketResult) -> dict | None:
    """The goal's θ, certificate prices, the buyer's welfare change and who pays; the frontier and its choice."""
    goal = result.goal
    if goal is None:
        return None
    names = _names(result.loaded)
    c = goal.certificates
    wp = goal.who_pays.set_index("region")
    buyer = result.lp.buyer_region
    out: dict = {
        "share_of_supply_max": goal.theta,
        "rule": "China share of supply of the buyer region at most theta in every mineral-year "
                "(attribution: dependence.basis)",
        "certificate_price_usd_per_t": {names[m]: {str(y): float(v) for y, v in
                                                   zip(g["year"], g["certificate_price_usd_per_t"], strict=True)}
                                        for m, g in c.groupby("mineral", sort=True)},
        "binding_mineral_years": int(c["binding"].sum()),
        "buyer_spend_uncapped_pv_usd": goal.spend_pv_usd,
        "buyer_welfare_change_pv_usd": float(wp.loc[buyer, "welfare_change_pv_usd"]),
        "who_pays": {r: {"welfare_change_pv_usd": float(row["welfare_change_pv_usd"]),
                         "price_change_pct": float(row["price_change_pct"])}
                     for r, row in wp.iterrows()},
    }
    f = goal.frontier
    if f is not None:
        budget = result.loaded.scenario.goal.budget if result.loaded.scenario.goal else None
        out["frontier"] = {"points": len(f.points), "budget": str(budget).replace(" over least cost", " of spend")
                           if budget is not None else None,
                           "budget_usd": f.budget_usd, "seconds": f.seconds,
                           "points_per_second": f.points_per_second,
                           "chosen_theta": None if f.chosen is None else float(f.points["theta"].iloc[f.chosen])}
    return out


def money(v: float) -> str:
    v = 0.0 if abs(v) < 5e3 else v  # no "-0.00 m"
    a = abs(v)
    unit = (1e9, "bn") if a >= 1e9 else (1e6, "m")
    return f"{'-' if v < 0 else ''}{a / unit[0]:,.2f} {unit[1]}"


def signed_money(v: float) -> str:
    """A change in USD as ``money`` prints it, with its sign: '+7.30 bn', '-5.57 bn', '0.00 m'."""
    text = money(v)
    return text if text.startswith(("-", "0.00")) else "+" + text


def summary_text(result: MarketResult) -> str:
    loaded, s = result.loaded, result.loaded.scenario
    lp, sol = result.lp, result.solution
    first = s.years[0]
    names = _names(loaded)
    regions = list(result.market.regions["region"])
    step = 2 if result.goal else 1
    lines = [f"Scenario '{s.name}' ({loaded.path if loaded.path else 'inline'}): market mode, step {step} "
             f"(spatial price equilibrium)",
             f"  Regions {', '.join(regions)}; buyer region {lp.buyer_region}; {s.horizon.start}-{s.horizon.end}; "
             f"total surplus maximised.",
             f"  {sol.version}: optimal, {sol.seconds:.2f} s; {lp.describe()}.",
             "",
             f"  Market prices {first}, USD/t (real USD of 2024; the dual of each region's balance row)"]
    p = result.prices[result.prices["year"] == first].pivot(index="mineral", columns="region",
                                                            values="price_usd_per_t")
    ref = loaded.dataset.minerals.set_index("mineral")["reference_price_usd_per_t"]
    head = f"  {'mineral':<11}{'reference':>12}" + "".join(f"{r:>12}" for r in regions)
    lines.append(head)
    for m in p.index:
        lines.append(f"  {names[m]:<11}{ref[m]:>12,.0f}" + "".join(f"{p.loc[m, r]:>12,.0f}" for r in regions))
    dominated = [names[m] for m in DOMINATED if m in p.index]
    if dominated:
        lines.append("  A competitive equilibrium understates prices where one seller dominates "
                     f"({', '.join(dominated)}: China holds most capacity).")
    lines.append("  (reference: minerals.csv, USGS 2024; prices.csv gives each price's interval)")
    lines += ["", f"  {lp.buyer_region} imports {first} by origin (t, share of the mineral's deliveries)"]
    imports = imports_by_origin(result, first)
    countries = Names(loaded.dataset.folder)
    for m, g in imports.groupby("mineral", sort=True):
        parts = ", ".join(f"{countries.country(o)} {t:,.0f} t ({sh:.0%})" if t >= 1 else
                          f"{countries.country(o)} {t:,.2f} t ({sh:.0%})"
                          for o, t, sh in zip(g["location"], g["tonnes"], g["share"], strict=True))
        lines.append(f"  {names[m]:<11}{parts}")
    pv = welfare_pv(result.welfare, lp)
    lines += ["", f"  Welfare by region, USD, present value at {s.base_year} ({s.finance.discount_rate:.0%}), "
                  f"{s.horizon.start}-{s.horizon.end}",
              f"  {'region':<8}{'consumer':>14}{'producer':>14}{'government':>14}{'total':>14}"]
    for row in pv.to_dict("records"):
        lines.append(f"  {row['region']:<8}{money(row['consumer_surplus_pv_usd']):>14}"
                     f"{money(row['producer_surplus_pv_usd']):>14}{money(row['government_revenue_pv_usd']):>14}"
                     f"{money(row['welfare_pv_usd']):>14}")
    lines += ["  (consumer surplus on each region's demand curve; producer surplus of the capacity its countries "
              "own by equity; government revenue: tariffs" + (" and the goal's certificates)" if result.goal else ")")]
    if result.backcast is not None:
        lines += ["", *result.backcast.lines(names.get, countries.country)]
    lines += build_lines(result.builds, lp.buyer_region, lambda m: names.get(m, m), countries.country)
    lines += policy_lines(result.policies, result.policy_effects, regions, lambda m: names.get(m, m))
    if result.goal is not None:
        lines += goal_text(result)
    lines.append("  Not built yet: stockpiles, calibration in solve (critmin calibrate fits route costs), robust and "
                 "worstcase in market mode.")
    return "\n".join(lines)


def budget_words(budget: Any, buyer: str) -> str | None:
    """'+2% of USA's spend', 'an absolute budget', or None without a budget."""
    if budget is None:
        return None
    return f"+{100 * budget.premium:g}% of {buyer}'s spend" if budget.premium is not None else "an absolute budget"


def frontier_lines(f: Frontier, buyer: str, others: list[str], budget: str | None) -> list[str]:
    """The frontier of the goal as ``solve`` and ``frontier`` print it: one line per θ (exposure, share, the
    buyer's welfare change and its % of spend, the largest certificate price, every other region's welfare
    change), the chosen point marked; ``budget`` in words (None: no budget, no point chosen)."""
    lines = [f"  Frontier of the goal: {buyer} China share of supply <= theta in every mineral-year; "
             f"{len(f.points)} points, warm, {f.seconds:.2f} s ({f.points_per_second:,.0f} points/s)"]
    if budget is not None:
        lines.append(f"  Budget {budget}: a fall in {buyer} welfare of at most {money(f.budget_usd)} USD "
                     f"(uncapped spend {money(f.spend_pv_usd)} USD, present value)")
    lines.append(f"  {'theta':>6}{'exposure':>10}{'share':>8}{'dW ' + buyer:>12}{'% spend':>9}{'cert max':>11}"
                 + "".join(f"{'dW ' + r:>11}" for r in others))
    for i, row in f.points.iterrows():
        mark = "" if budget is None else (" <- chosen" if f.chosen == i else ("" if row["within_budget"]
                                                                             else "  over budget"))
        lines.append(f"  {row['theta']:>6.3f}{row['exposure_pct']:>9.1f}%"
                     f"{row['share_of_supply_mean_pct'] + 0.0:>7.1f}%"
                     f"{money(row[f'welfare_change_{buyer}_pv_usd']):>12}{row['loss_pct_of_spend'] + 0.0:>8.2f}%"
                     f"{row['certificate_max_usd_per_t']:>11,.0f}"
                     + "".join(f"{money(row[f'welfare_change_{r}_pv_usd']):>11}" for r in others) + mark)
    lines.append("  (exposure: mean over mineral-years of China-attributed + unconsumed reference tonnes, % of the "
                 "reference; share: mean China share of supply; dW: welfare change, USD present value; cert max: "
                 "the largest certificate price, USD/t)")
    return lines


def goal_text(result: MarketResult) -> list[str]:
    """The goal's lines: the frontier (with a budget), the chosen θ, certificate prices and who pays."""
    goal = result.goal
    assert goal is not None
    lp, s = result.lp, result.loaded.scenario
    buyer = lp.buyer_region
    names = _names(result.loaded)
    lines = [""]
    f = goal.frontier
    if f is not None:
        others = [r for r in result.market.regions["region"] if r != buyer]
        lines += frontier_lines(f, buyer, others, budget_words(s.goal.budget if s.goal else None, buyer))
        if f.chosen is None:
            lines.append("  No point is within the budget; the results below are the uncapped equilibrium.")
        lines.append("")
    c = goal.certificates
    lines.append(f"  Goal: {buyer} China share of supply <= {goal.theta:.1%} in every mineral-year; binding in "
                 f"{int(c['binding'].sum())} of {len(c)} mineral-years")
    lines.append("  Certificate price (USD/t of attribution above theta; charge lambda(a - theta) per tonne: "
                 "lambda(1 - theta) on a China tonne, a credit of lambda*theta on others)")
    for m, g in c.groupby("mineral", sort=True):
        bind = g[g["binding"]]
        if bind.empty:
            lines.append(f"  {names[m]:<11}slack in every year (lambda 0)")
            continue
        lo, hi = bind["certificate_price_usd_per_t"].min(), bind["certificate_price_usd_per_t"].max()
        years = f"{bind['year'].min()}-{bind['year'].max()}" if len(bind) > 1 else str(bind["year"].iloc[0])
        lines.append(f"  {names[m]:<11}lambda {lo:,.0f}" + (f"-{hi:,.0f}" if hi > lo else "")
                     + f" in {len(bind)} years ({years}); charge on a China tonne "
                     f"{lo * (1 - goal.theta):,.0f}" + (f"-{hi * (1 - goal.theta):,.0f}" if hi > lo else "")
                     + f", credit {lo * goal.theta:,.0f}" + (f"-{hi * goal.theta:,.0f}" if hi > lo and goal.theta
                                                             else ""))
    wp = goal.who_pays.set_index("region")
    spend = goal.spend_pv_usd
    change = float(wp.loc[buyer, "welfare_change_pv_usd"])
    lines += ["", "  Who pays (against the uncapped equilibrium; USD, present value; price: cost of the uncapped "
                  "basket at the goal's prices)",
              f"  {buyer} welfare change {money(change)} ({-change / spend:.2%} of its uncapped spend "
              f"{money(spend)})" if spend > 0 else f"  {buyer} welfare change {money(change)}",
              f"  {'region':<8}{'consumer':>12}{'producer':>12}{'government':>12}{'welfare':>12}{'price':>9}"]
    for r, row in wp.iterrows():
        lines.append(f"  {r:<8}{money(row['consumer_surplus_change_pv_usd']):>12}"
                     f"{money(row['producer_surplus_change_pv_usd']):>12}"
                     f"{money(row['government_revenue_change_pv_usd']):>12}{money(row['welfare_change_pv_usd']):>12}"
                     f"{row['price_change_pct']:>+8.2f}%")
    return lines
