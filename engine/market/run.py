"""``solve_market``: the equilibrium of a ``market: equilibrium`` scenario, its printout, summary and files."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from engine.inputs.market_tables import MarketData, load_market
from engine.inputs.names import Names
from engine.inputs.scenario import LoadedScenario
from engine.market.build import CapacityBasis, MarketLP, build_market
from engine.market.demand import STEPS_ABOVE, STEPS_BELOW
from engine.market.prices import price_table
from engine.market.solve import MarketSolution, solve_lp
from engine.market.welfare import welfare_pv, welfare_table
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json

DOMINATED = ("ga", "ge")  # one seller holds most capacity: a competitive price understates the market's


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

    @property
    def text(self) -> str:
        return summary_text(self)

    def write(self, folder: Path, force: bool = False) -> Path:
        """prices.csv, welfare.csv, market_flows.csv, summary.json and scenario.yaml, written atomically."""

        def fill(tmp: Path) -> None:
            write_json(self.summary, tmp / "summary.json")
            write_csv(self.prices, tmp / "prices.csv")
            write_csv(self.welfare, tmp / "welfare.csv")
            write_csv(self.flows, tmp / "market_flows.csv")
            resolved = self.loaded.scenario.model_dump(mode="json", exclude_none=True)
            (tmp / "scenario.yaml").write_text(
                "# The scenario exactly as solved (inheritance resolved, defaults filled in).\n"
                + yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")

        return write_folder_atomically(folder, fill, force=force, inputs=self.loaded.input_paths)


def solve_market(loaded: LoadedScenario, *, capacity_basis: CapacityBasis = "full", log: bool = False,
                 time_limit: float | None = None) -> MarketResult:
    """Build and solve the market equilibrium of ``loaded`` (its dataset's market tables)."""
    start = time.perf_counter()
    market = load_market(loaded.dataset, loaded.scenario.buyer)
    lp = build_market(loaded, market, capacity_basis=capacity_basis)
    sol = solve_lp(lp, log=log, time_limit=time_limit)
    flows = lp.flows.assign(tonnes=sol.x)
    flows = flows.loc[flows["tonnes"] > 1e-9, ["source_id", "mineral", "location", "home_region", "region", "year",
                                               "tonnes", "unit_cost_usd_per_t", "trade_cost_usd_per_t",
                                               "tariff_usd_per_t", "delivered_cost_usd_per_t"]]
    result = MarketResult(loaded=loaded, market=market, lp=lp, solution=sol, prices=price_table(lp, sol),
                          welfare=welfare_table(lp, sol, market, loaded.dataset.ownership),
                          flows=flows.reset_index(drop=True), seconds=0.0)
    result.seconds = time.perf_counter() - start
    result.summary = market_summary(result)
    return result


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
        "market": "equilibrium", "market_step": 1,
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
        "not_yet": ["JV builds and stockpiles", "policies of regions other than the buyer",
                    "the buyer's row policies (caps, content rules, quotas in tonnes)", "the dependence goal",
                    "every command but solve"],
    })


def _money(v: float) -> str:
    a = abs(v)
    unit = (1e9, "bn") if a >= 1e9 else (1e6, "m")
    return f"{'-' if v < 0 else ''}{a / unit[0]:,.2f} {unit[1]}"


def summary_text(result: MarketResult) -> str:
    loaded, s = result.loaded, result.loaded.scenario
    lp, sol = result.lp, result.solution
    first = s.years[0]
    names = _names(loaded)
    regions = list(result.market.regions["region"])
    lines = [f"Scenario '{s.name}' ({loaded.path if loaded.path else 'inline'}): market mode, step 1 "
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
        lines.append(f"  {row['region']:<8}{_money(row['consumer_surplus_pv_usd']):>14}"
                     f"{_money(row['producer_surplus_pv_usd']):>14}{_money(row['government_revenue_pv_usd']):>14}"
                     f"{_money(row['welfare_pv_usd']):>14}")
    lines += ["  (consumer surplus on each region's demand curve; producer surplus of the capacity its countries "
              "own by equity; government revenue: tariffs)",
              "  Not in step 1: JV builds, stockpiles, other regions' policies, the dependence goal."]
    return "\n".join(lines)
