"""``critmin stress`` in market mode: each supply shock re-solved in the market, against the base equilibrium.

The shocks are the single-buyer command's (``engine.analysis.stress``: N−1 by location, N−1 by owner, the
scenario's named shocks), and so is what each selects (``stress._hit``): the plants and the JV and licence
plant-years located in the country, or owned by it (at least ``owner_threshold`` of the equity, 0.5 unless a named
shock says otherwise; a JV's partner holds its equity share and its host the rest, so an ownership shock on China
cuts a US-hosted JV with a 50% or 73.2% Chinese partner whole, not in proportion, and never a licence, which has
no equity). What it selects runs at ``share`` of normal in its years, for every region at once (a plant that cannot
run serves nobody): a plant's capacity K × share, a JV plant-year's builds online × share (its capacity and offtake
rows' build coefficients, ``MarketSolver.set_capacity``: Σ_r x ≤ share · Σ online build). The single-buyer stress
bounds a JV's output by share × its maximum size instead, the same for a whole cut (share 0), looser for a partial
one on a plant built below its maximum. Builds are re-optimised with the shock (the market's perfect foresight:
a JV cut for the whole horizon is simply not built), where the single-buyer stress holds the base plan's.

The base is the equilibrium ``critmin solve`` reports (``solve_market``: with a goal, at the θ it gives or
chooses); each shock is re-solved warm on the base's HiGHS model, **from the base's optimal basis** (so that where
the equilibrium's duals are not unique a shock's prices and welfare do not depend on the shocks run before it),
**at the base's θ**: the goal is held, as the single-buyer stress holds the base plan's budget, so a shock moves
prices and supply, not the goal.

Per shock, against the base (``stress.csv``):

- every region's welfare change (present value, ``WelfareAccount``, as ``who_pays.csv``) and price change: the
  change in the cost of its base consumption of the shocked minerals at the shocked prices
  (``engine.market.run.price_change_pct``; all minerals for a shock on all);
- the buyer region's consumption change (t, over the horizon), reference tonnes it no longer consumes
  (Σ max(0, Q0 − supplied), ``goal.py``), exposure and share-of-supply changes (points), and the largest
  certificate price (with a goal);
- the world's total surplus change.

Shocks are ranked by the buyer's welfare change (largest loss first, on values rounded to USD 1,000), then by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine.analysis.stress import ShockSpec, n_minus_one, named_shocks
from engine.formulation import build_model
from engine.formulation.select import country_mask
from engine.inputs.names import Names
from engine.inputs.scenario import LoadedScenario
from engine.market.goal import buyer_measures, point_exposure, point_share
from engine.market.run import MarketResult, money, price_change_pct, signed_money, solve_market
from engine.market.solve import MarketSolution
from engine.outputs.display import signed_tonnes
from engine.outputs.files import stamped, write_csv, write_folder_atomically, write_json
from engine.outputs.summary import provenance, versions

RANK_ROUNDING = -3  # USD 1,000: shocks of the same effect never swap places on solver noise


@dataclass
class MarketStressResult:
    """The base equilibrium's figures and one row per shock, ranked."""

    loaded: LoadedScenario
    base: dict
    table: pd.DataFrame
    regions: list[str]
    buyer: str
    rule: str  # how the goal is held, in words
    status: str = "optimal"
    names: Names = field(default_factory=Names)


@dataclass(frozen=True)
class _Point:
    """What a shock is compared on: the solution and the buyer's measures."""

    sol: MarketSolution
    welfare: pd.Series  # present value per region
    exposure_pct: float
    share_pct: float
    consumption_t: float
    unconsumed_t: float


class _Shocker:
    def __init__(self, result: MarketResult) -> None:
        self.result = result
        self.lp, self.solver, self.account = result.lp, result.solver, result.account
        self.model = build_model(result.loaded)  # the plants' equity, for shocks by owner (the LP's plant rows)
        self.capacity = self.lp.row_upper[:len(self.lp.plants)].copy()
        self.jv_first = len(self.lp.plants) - (len(self.lp.jv.output) if self.lp.jv is not None else 0)
        self.base = self.point(result.solution)
        self.base_capacity = self.lp.plant_capacity(result.solution.build)  # JV plant-years: the base's builds
        self.base_basis = self.solver.h.getBasis()  # every shock starts from the base's optimal basis
        self.steps_mineral = self.lp.steps["mineral"].to_numpy()

    def point(self, sol: MarketSolution) -> _Point:
        m = buyer_measures(self.lp, sol)
        unconsumed = np.maximum(0.0, m["reference_t"].to_numpy(dtype=float) - m["supplied_t"].to_numpy(dtype=float))
        return _Point(sol, self.account.by_region(sol).set_index("region")["welfare_pv_usd"],
                      round(point_exposure(m), 9) + 0.0, round(point_share(m)[0], 9) + 0.0,
                      float(m["supplied_t"].sum()), float(unconsumed.sum()))

    def hit(self, shock: ShockSpec) -> np.ndarray:
        """The plant-year rows (``lp.plants``: plants, then JV plant-years) the shock hits: the single-buyer
        stress's selection (``stress._hit``: located in or owned by the country, by ``model.equity``, in which a
        JV's partner holds its equity share and its host the rest)."""
        plants = self.lp.plants.assign(id=self.lp.plants["source_id"])
        mask = country_mask(plants, self.model.equity, [shock.country], shock.by, shock.owner_threshold)
        if shock.minerals is not None:
            mask = mask & plants["mineral"].isin(shock.minerals).to_numpy()
        return mask & plants["year"].isin(shock.years.select(self.model.years)).to_numpy()

    def factors(self, shock: ShockSpec) -> np.ndarray:
        """The share of normal each plant-year row can run at under the shock (1 where it does not hit)."""
        return np.where(self.hit(shock), shock.share, 1.0)

    def apply(self, factor: np.ndarray) -> bool:
        """Put the shock's factors on the solver's model: a plant's capacity K × factor, a JV plant-year's builds
        online × factor (its rows' build coefficients); True when anything changed."""
        capacity = self.capacity * factor
        jv_share = factor[self.jv_first:]
        self.solver.set_capacity(capacity, jv_share if self.jv_first < len(factor) else None)
        return bool((capacity != self.capacity).any() or (jv_share != 1.0).any())

    def restore(self) -> None:
        self.solver.set_capacity(self.capacity, np.ones(len(self.capacity) - self.jv_first))

    def solve(self, shock: ShockSpec) -> _Point:
        """The shocked equilibrium (the base itself when the shock changes nothing), the model restored after."""
        try:
            if not self.apply(self.factors(shock)):
                return self.base
            self.solver.h.setBasis(self.base_basis)
            return self.point(self.solver.solve())
        finally:
            self.restore()

    def run(self, shock: ShockSpec) -> dict:
        factor = self.factors(shock)
        row = {"shock": shock.name, "kind": shock.kind, "country": shock.country,
               "minerals": ",".join(shock.minerals) if shock.minerals else "all", "share": shock.share,
               "plant_years_hit": int((factor < 1.0).sum()),
               "capacity_removed_t": float((self.base_capacity * (1.0 - factor)).sum())}
        now = self.solve(shock)
        row["status"] = "optimal"
        row.update(self.changes(now, shock))
        return row

    def changes(self, now: _Point, shock: ShockSpec) -> dict:
        base, buyer = self.base, self.lp.buyer_region
        shocked = (np.ones(len(self.steps_mineral), dtype=bool) if shock.minerals is None
                   else np.isin(self.steps_mineral, list(shock.minerals)))
        prices = price_change_pct(self.account, base.sol, now.sol, shocked)
        welfare = now.welfare - base.welfare
        out = {f"welfare_change_{buyer}_pv_usd": float(welfare[buyer]),
               f"price_change_{buyer}_pct": float(prices[self.account.regions.index(buyer)]),
               "consumption_change_t": now.consumption_t - base.consumption_t,
               "unconsumed_added_t": now.unconsumed_t - base.unconsumed_t,
               "exposure_change_pp": now.exposure_pct - base.exposure_pct,
               "share_of_supply_change_pp": now.share_pct - base.share_pct,
               "certificate_max_usd_per_t": float(now.sol.certificate.max(initial=0.0)),
               "world_surplus_change_pv_usd": -(now.sol.objective_pv_usd - base.sol.objective_pv_usd)}
        for i, r in enumerate(self.account.regions):
            if r != buyer:
                out[f"welfare_change_{r}_pv_usd"] = float(welfare[r])
                out[f"price_change_{r}_pct"] = float(prices[i])
        return {k: (round(v, 6) + 0.0 if isinstance(v, float) else v) for k, v in out.items()}


def goal_rule(result: MarketResult) -> str:
    """How the shocks treat the goal, in words."""
    goal = result.goal
    if goal is None:
        return "no goal (market_goal unset): each shock is the market's own response"
    chosen = " (chosen by the budget rule on the base)" if goal.frontier is not None else ""
    return (f"the goal held at the base's theta = {goal.theta:.3f}{chosen}: every shock is re-solved with the "
            f"{result.lp.buyer_region}'s China share of supply at most theta, the frontier is not re-run")


def market_stress(loaded: LoadedScenario, *, include_n_minus_one: bool = True, progress=None) -> MarketStressResult:
    """The base equilibrium (``solve_market``), then every shock re-solved warm at the base's θ, ranked."""
    result = solve_market(loaded)
    shocker = _Shocker(result)
    shocks = (n_minus_one(shocker.model) if include_n_minus_one else []) + named_shocks(loaded)
    rows = []
    for i, shock in enumerate(shocks):
        rows.append(shocker.run(shock))
        if progress is not None:
            progress(i + 1, len(shocks))
    buyer = result.lp.buyer_region
    table = pd.DataFrame(rows)
    if len(table):
        key = table[f"welfare_change_{buyer}_pv_usd"].round(RANK_ROUNDING)
        table = table.assign(_key=key).sort_values(["_key", "shock"], kind="stable").drop(columns="_key")
        table = table.reset_index(drop=True)
        table.insert(0, "rank", np.arange(1, len(table) + 1))
    b = shocker.base
    base = {"welfare_pv_usd": {r: float(v) for r, v in b.welfare.items()},
            "buyer_exposure_pct": b.exposure_pct, "buyer_share_of_supply_pct": b.share_pct,
            "buyer_consumption_t": b.consumption_t, "buyer_unconsumed_t": b.unconsumed_t,
            "total_surplus_pv_usd": -b.sol.objective_pv_usd,
            "theta": result.goal.theta if result.goal is not None else None, "shocks": len(shocks)}
    return MarketStressResult(loaded, base, table, list(shocker.account.regions), buyer, goal_rule(result),
                              names=Names(loaded.dataset.folder))


def shock_label(result: MarketStressResult, row: dict) -> str:
    return result.names.shock(row["kind"], row["country"], row["minerals"], row["shock"])


def render_market_stress(result: MarketStressResult, top: int = 15) -> str:
    """The printout: the base, the rule, and the ``top`` shocks."""
    b, buyer = result.base, result.buyer
    others = [r for r in result.regions if r != buyer]
    lines = [f"Stress test of '{result.loaded.name}' in market mode: {b['shocks']} shocks against the base "
             f"equilibrium ({buyer} welfare {money(b['welfare_pv_usd'][buyer])} USD present value, exposure "
             f"{b['buyer_exposure_pct']:.1f}%, share of supply {b['buyer_share_of_supply_pct']:.1f}%)",
             f"  A shock cuts the plants and the JV plants it hits (by location, or by equity at its owner "
             f"threshold) for every region; builds re-optimised; each re-solved warm from the base; {result.rule}.",
             "  Every figure a change against the base: welfare in USD present value; price: the cost of the "
             "region's base consumption of the shocked minerals at the shocked prices (%); consumption and "
             f"unconsumed reference tonnes of {buyer} over the horizon.",
             "", f"  {'#':>3} {'shock':<34}{'dW ' + buyer:>12}{'price':>9}{'consumed t':>13}{'unconsumed t':>14}"
                 f"{'exposure':>10}  " + "".join(f"{'price ' + r:>11}" for r in others)
                 + "".join(f"{'dW ' + r:>13}" for r in others)]
    for row in result.table.head(top).to_dict("records"):
        lines.append(f"  {row['rank']:>3} {shock_label(result, row)[:34]:<34}"
                     f"{signed_money(row[f'welfare_change_{buyer}_pv_usd']):>12}{row[f'price_change_{buyer}_pct']:>+8.2f}%"
                     f"{signed_tonnes(row['consumption_change_t']):>13}{signed_tonnes(row['unconsumed_added_t']):>14}"
                     f"{row['exposure_change_pp']:>+7.1f} pp  "
                     + "".join(f"{row[f'price_change_{r}_pct']:>+10.2f}%" for r in others)
                     + "".join(f"{signed_money(row[f'welfare_change_{r}_pv_usd']):>13}" for r in others))
    if len(result.table) > top:
        lines.append(f"  … {len(result.table) - top} more in stress.csv")
    lines.append("  (where plants tie on delivered cost the equilibrium's allocation among regions is one of several "
                 f"equally good ones, so {buyer}'s exposure can move a few points with no change in prices or welfare)")
    return "\n".join(lines)


def market_stress_summary(result: MarketStressResult) -> dict:
    """The stress folder's ``summary.json`` (and ``critmin stress --json`` without the table)."""
    top = result.table.head(5)
    return stamped({"scenario": result.loaded.name, **provenance(result.loaded), "market": "equilibrium",
                    "status": result.status, "buyer_region": result.buyer, "regions": result.regions,
                    "rule": result.rule, "base": result.base,
                    "top_shocks": top.to_dict(orient="records") if len(top) else [], "versions": versions()})


def write_market_stress(result: MarketStressResult, folder: Path, force: bool = False) -> Path:
    """stress.csv, stress.png/.svg and summary.json."""
    from engine.analysis.market_plots import save_figure, stress_figure

    def fill(tmp: Path) -> None:
        write_csv(result.table, tmp / "stress.csv")
        save_figure(stress_figure(result.table, result.buyer, lambda row: shock_label(result, row),
                                  result.loaded.name), tmp / "stress")
        write_json(market_stress_summary(result), tmp / "summary.json")

    return write_folder_atomically(folder, fill, force=force, inputs=result.loaded.input_paths)
