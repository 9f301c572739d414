"""The market-mode benchmark: the equilibrium LP grown to about 1.1M non-zeros, end to end against HiGHS alone.

**What is generated.** The shipped dataset grown as the single-buyer sizes grow it (``generator.scaled_dataset``:
every capacity row split into F facility blocks, demand extended to the horizon) and, for the market, more buyer
regions: each region but the buyer's is split into C regions of equal demand (the first keeps the region's
countries; its copies are home to none, so every plant sells to them across the trade cost). The regional demand
curves are what ``engine.inputs.market_tables.build_market_tables`` makes for the grown dataset (the shipped rule:
world demand at the reference price from the year's capacity, split by the assumed shares). The scenario is the
benchmark's (``config.bench_scenario``) in market mode with its per-buyer policies (the 25% Section 301 tariff and
China's Ga/Ge exports at 45%); the share caps are single-buyer rules and are left out.

| size | facilities | copies per region | regions | horizon | columns | rows | non-zeros |
|---|---|---|---|---|---|---|---|
| market-tiny (smoke test) | 2 | 1 | 6 | 2025-2030 | see the run | | |
| market | 12 | 7 | 36 | 2025-2045 | 591,609 | 19,245 | 1,154,069 |

**What is timed.** In rounds (at least three; the median is reported), each run in a fresh process as the other
sizes' runs are (``worker.py``: inputs read from a pickle and a tiny run first, untimed):

- *the limit*: HiGHS alone (highspy) reading the MPS that critmin's market solver writes and running it with the
  options that solver sets (presolve off, simplex, random seed 0); only ``run()`` is timed;
- *critmin, end to end*: ``scenario_from_dict`` + ``build_market`` (build), ``MarketSolver`` (the LP handed to
  HiGHS: hand-off), ``solve`` (run, primal and duals read back), ``price_table`` + ``welfare_table`` (extract).

Each round's ratio is critmin's total over the limit's run in the same round, in wall time and in CPU time (the
process's: a machine shared with other work inflates wall time far more than CPU time), and peak resident memory
over the limit's; the targets (issue 29) are a median of at most 1.2× the time and 1.45× the memory. The limit is
one LP solve; critmin's solve also runs the tie rule (a second LP on the optimal face, ``MarketSolver._settle_ties``):
that is critmin's own work, counted in its solve and reported apart (``ties_s``, ``ties_cpu_s``).

*The goal's frontier* (each round, its own fresh process): the shipped ``models/market_goal.yaml``'s 21-point frontier
traced warm by ``run_frontier`` on one solver, as ``critmin solve`` traces it; points per second of its seconds
(wall) and of its CPU seconds, against the issue's 10 points per second.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

TARGET_TIME_RATIO = 1.2
TARGET_FRONTIER_RATE = 10.0  # points per second, warm (issue 29)
FRONTIER_MODEL = "models/market_goal.yaml"  # shipped as the scenario 'market_goal'
TARGET_MEMORY_RATIO = 1.45
MIN_ROUNDS = 3
OPTIONS = ("presolve", "solver", "random_seed")
"""The HiGHS options the limit takes from critmin's market solver (read back from its Highs object)."""


@dataclass(frozen=True)
class MarketSize:
    """How far the generator grows the shipped data for the market LP."""

    name: str
    facilities: int
    copies: int  # regions per non-buyer region
    horizon_end: int
    seed: int = 1

    def as_dict(self) -> dict:
        return asdict(self)


MARKET_SIZES: dict[str, MarketSize] = {
    "market-tiny": MarketSize("market-tiny", facilities=2, copies=1, horizon_end=2030),  # the smoke test's
    "market": MarketSize("market", facilities=12, copies=7, horizon_end=2045),  # ~1.1M non-zeros
}


def market_scenario(horizon_end: int) -> dict:
    """The benchmark scenario in market mode, with the policies that apply to the buyer's deliveries."""
    from benchmarks.config import bench_scenario

    scenario = bench_scenario(horizon_end)
    scenario["market"] = "equilibrium"
    scenario["objective"] = {"minimise": "cost"}
    scenario["policies"] = [p for p in scenario["policies"] if p["type"] in ("tariff", "export_ban")]
    return scenario


def market_inputs(size: MarketSize):
    """(dataset, scenario mapping, market data) for a size: what every run reads."""
    from benchmarks.generator import scaled_dataset
    from engine.inputs.market_tables import MarketData, build_market_tables, load_market
    from engine.inputs.scenario import load_scenario

    base = load_scenario("baseline").dataset
    dataset = scaled_dataset(base, facilities=size.facilities, jv_copies=1, horizon_end=size.horizon_end,
                             seed=size.seed)
    shipped = load_market(base, "USA")
    built = build_market_tables(dataset)
    demand = built["regional_demand"]
    regions, curves = [], []
    for region in shipped.regions.to_dict("records"):
        mine = demand[demand["region"] == region["region"]]
        copies = 1 if region["region"] == shipped.home["USA"] else size.copies
        for k in range(copies):
            name = region["region"] if k == 0 else f"{region['region']}{k + 1}"
            regions.append({**region, "region": name, "countries": region["countries"] if k == 0 else ""})
            curves.append(mine.assign(region=name, quantity_t=mine["quantity_t"].to_numpy() / copies))
    market = MarketData(regions=pd.DataFrame(regions).sort_values("region", kind="stable").reset_index(drop=True),
                        demand=pd.concat(curves).sort_values(["region", "mineral", "year"], kind="stable")
                        .reset_index(drop=True),
                        trade_costs=built["trade_costs"], home=shipped.home, folder=shipped.folder,
                        offtake=_offtake(dataset, shipped))
    return dataset, market_scenario(size.horizon_end), market


def _offtake(dataset, shipped) -> pd.DataFrame:
    """The funder's offtake share of every JV option hosted outside the buyer's region: the shipped share of the
    option the copy was made from where there is one (ids keep their prefix), else 0.5."""
    jv = dataset.jv_options
    abroad = jv[shipped.region_of(jv["host"]) != shipped.home["USA"]]
    known = dict(zip(shipped.offtake["option_id"], shipped.offtake["offtake_share"], strict=True)) \
        if shipped.offtake is not None else {}
    share = [next((float(v) for k, v in known.items() if str(o).startswith(k)), 0.5) for o in abroad["option_id"]]
    return pd.DataFrame({"option_id": abroad["option_id"].to_numpy(), "offtake_share": share})


# ------------------------------------------------------------------------------------------------ worker side
def critmin_market(inputs, meter) -> dict:
    """build_market → MarketSolver (hand-off and solve) → prices and welfare."""
    from engine.inputs.scenario import scenario_from_dict
    from engine.market.build import build_market
    from engine.market.prices import price_table
    from engine.market.solve import MarketSolver
    from engine.market.welfare import welfare_table

    dataset, scenario, market = inputs
    with meter.phase("build"):
        lp = build_market(scenario_from_dict(scenario, dataset, name="bench"), market)
    with meter.phase("handoff"):
        solver = MarketSolver(lp)
    ties = _time_calls(solver, "_settle_ties")  # step 3 of the solve, counted in it: reported apart as well
    with meter.phase("solve"):
        sol = solver.solve()
    with meter.phase("extract"):
        prices = price_table(lp, sol)
        welfare = welfare_table(lp, sol, market, dataset.ownership)
    return {"status": "optimal", "objective": sol.objective_pv_usd, "iterations": sol.iterations,
            "rows_out": len(prices) + len(welfare), "ties_s": ties["s"], "ties_cpu_s": ties["cpu_s"]}


def _time_calls(obj, method: str) -> dict:
    """Wrap ``obj.method`` (this instance only) so that its wall and CPU seconds add up in the returned dict."""
    spent = {"s": 0.0, "cpu_s": 0.0}
    inner = getattr(obj, method)

    def timed(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent["s"] += time.perf_counter() - start
            spent["cpu_s"] += time.process_time() - cpu

    setattr(obj, method, timed)
    return spent


def goal_frontier(meter) -> dict:
    """The shipped goal's frontier (``models/market_goal.yaml``: its points and budget) as ``critmin solve`` runs
    it: the model built with free goal rows, solved uncapped, then ``run_frontier`` warm on the same solver (θ
    changed on the goal rows, every point's three steps: minimum sizes, the LP, the tie rule). Only
    ``run_frontier`` is timed."""
    from engine.inputs.market_tables import load_market
    from engine.inputs.scenario import load_scenario
    from engine.market.build import build_market
    from engine.market.frontier import WelfareAccount, run_frontier
    from engine.market.solve import MarketSolver

    loaded = load_scenario(Path(FRONTIER_MODEL).stem)
    spec = loaded.scenario.goal
    market = load_market(loaded.dataset, loaded.scenario.buyer)
    lp = build_market(loaded, market, goal_rows=True)
    solver = MarketSolver(lp)
    uncapped = solver.solve()
    account = WelfareAccount(lp, market, loaded.dataset.ownership)
    budget = spec.budget
    with meter.phase("solve"):
        frontier = run_frontier(solver, account, uncapped, points=spec.points,
                                budget_premium=budget.premium if budget else None,
                                budget_absolute_usd=budget.absolute_usd if budget else None)
    return {"points": len(frontier.points), "frontier_s": frontier.seconds}


def raw_market(task: dict, meter) -> dict:
    """The limit: the market LP's MPS read by highspy alone, run with critmin's market options; only ``run()``."""
    import highspy
    import numpy as np

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    t = time.perf_counter()
    h.readModel(task["mps"])
    read = time.perf_counter() - t
    for name, value in task["options"].items():
        h.setOptionValue(name, value)
    with meter.phase("solve"):
        h.run()
    with meter.phase("extract"):
        np.asarray(h.getSolution().col_value)
    info = h.getInfo()
    from engine.market.build import MONEY_UNIT

    return {"status": h.modelStatusToString(h.getModelStatus()).lower(),
            "objective": float(info.objective_function_value) * MONEY_UNIT,
            "iterations": int(info.simplex_iteration_count), "read_s": read, "counted": ["solve"]}


def market_prep(task: dict, inputs) -> dict:
    """Not timed: the LP's size, its MPS as critmin's market solver holds it, the options, the reference optimum."""
    from engine.inputs.scenario import scenario_from_dict
    from engine.market.build import build_market
    from engine.market.solve import MarketSolver

    dataset, scenario, market = inputs
    lp = build_market(scenario_from_dict(scenario, dataset, name="bench"), market)
    solver = MarketSolver(lp)
    path = Path(task["out_dir"]) / "market.mps"
    solver.h.writeModel(str(path))
    options = {name: solver.h.getOptionValue(name)[1] for name in OPTIONS}
    sol = solver.solve()
    return {"columns": int(lp.matrix.shape[1]), "rows": int(lp.matrix.shape[0]), "nnz": int(lp.matrix.nnz),
            "regions": len(market.regions), "mps": str(path), "options": options,
            "objective": sol.objective_pv_usd, "iterations": sol.iterations}


def run_market_task(task: dict) -> dict:
    """One market task in this process (``worker.run_task`` hands ``market-*`` kinds here)."""
    from benchmarks.worker import Meter, load_inputs

    kind = task["kind"]
    if kind == "market-prep":
        return market_prep(task, load_inputs(task["inputs"]))
    if kind == "market-raw":
        with Meter() as meter:
            info = raw_market(task, meter)
        return {**meter.result(), **info}
    if kind == "market-frontier":
        goal_frontier(Meter())  # first calls (lazy imports, the dataset read), not timed
        with Meter() as meter:
            info = goal_frontier(meter)
        return {**meter.result(), **info}
    inputs = load_inputs(task["inputs"])
    if task.get("warmup"):  # first calls (lazy imports, caches), not timed
        critmin_market(load_inputs(task["warmup"]), Meter())
    with Meter() as meter:
        info = critmin_market(inputs, meter)
    return {**meter.result(), **info}


# ------------------------------------------------------------------------------------------------ harness side
def run_market_size(name: str, settings, runner, work: Path, say) -> dict:
    """Generate, prepare and time one market size in rounds (``max(repeat, MIN_ROUNDS)``; the smoke test's tiny
    size: ``repeat``); ratios against the limit of the same round."""
    from benchmarks.harness import _median, _round_ratios, _run_total, generated_inputs

    size = MARKET_SIZES[name]
    folder = work / name
    inputs_path, generate_s = generated_inputs(folder, lambda: market_inputs(size))
    warmup_path, _ = generated_inputs(folder / "warmup", lambda: market_inputs(MARKET_SIZES["market-tiny"]))
    prep = runner({"kind": "market-prep", "inputs": str(inputs_path), "out_dir": str(folder)})
    if "error" in prep:
        raise RuntimeError(f"{name}: preparing the market model failed: {prep['error']}")
    say(f"[{name}] {prep['columns']:,} columns, {prep['rows']:,} rows, {prep['nnz']:,} non-zeros, "
        f"{prep['regions']} regions")
    rounds = settings.repeat if name == "market-tiny" else max(settings.repeat, MIN_ROUNDS)
    limit, mine, frontier = [], [], []
    for r in range(rounds):
        for kind, runs in (("market-raw", limit), ("market-critmin", mine), ("market-frontier", frontier)):
            result = runner({"kind": kind, "inputs": str(inputs_path), "mps": prep["mps"],
                             "options": prep["options"], "warmup": str(warmup_path)})
            runs.append(result)
            shown = result.get("error") or (f"{result['points']} points in {result['frontier_s']:.2f} s"
                                            if kind == "market-frontier" else
                                            f"{_run_total(result):.2f} s, peak {result['peak_mb']:.0f} MB")
            say(f"[{name}] round {r + 1}/{rounds}: {kind}: {shown}")
    ok = [run for run in mine if "error" not in run]
    phases = {p: _median([run["phases"].get(f"{p}_s") for run in ok if run["phases"].get(f"{p}_s") is not None])
              for p in ("build", "handoff", "solve", "extract")}
    cpu_phases = {p: _median([run["cpu_phases"].get(f"{p}_s") for run in ok
                              if run["cpu_phases"].get(f"{p}_s") is not None])
                  for p in ("build", "handoff", "solve", "extract")}
    traced = [run for run in frontier if "error" not in run and run["frontier_s"] > 0]
    rates = [run["points"] / run["frontier_s"] for run in traced]
    cpu_rates = [run["points"] / run["cpu_phases"]["solve_s"] for run in traced if run["cpu_phases"].get("solve_s")]
    wall = _round_ratios(mine, limit, _run_total)
    cpu = _round_ratios(mine, limit, lambda run: _run_total(run, "cpu_phases"))
    memory = _round_ratios(mine, limit, lambda run: run.get("peak_mb"))
    agrees = all(abs(run["objective"] - prep["objective"]) <= 1e-7 * max(1.0, abs(prep["objective"]))
                 for run in [*ok, *(x for x in limit if "error" not in x)])
    return {"size": size.as_dict(), "generate_s": generate_s, "columns": prep["columns"], "rows": prep["rows"],
            "nnz": prep["nnz"], "regions": prep["regions"], "options": prep["options"], "rounds": rounds,
            "limit_runs": limit, "critmin_runs": mine, "agrees": agrees,
            "limit_s": _median([_run_total(x) for x in limit if "error" not in x]),
            "limit_peak_mb": _median([x["peak_mb"] for x in limit if "error" not in x]),
            "critmin_s": _median([_run_total(x) for x in ok]), "critmin_peak_mb": _median([x["peak_mb"] for x in ok]),
            "phases_s": phases, "cpu_phases_s": cpu_phases,
            "limit_cpu_s": _median([_run_total(x, "cpu_phases") for x in limit if "error" not in x]),
            "critmin_cpu_s": _median([_run_total(x, "cpu_phases") for x in ok]),
            "ties_s": _median([run["ties_s"] for run in ok]), "ties_cpu_s": _median([run["ties_cpu_s"] for run in ok]),
            "frontier_runs": frontier, "frontier_points": traced[0]["points"] if traced else None,
            "frontier_rates": rates, "frontier_rate": _median(rates), "frontier_cpu_rates": cpu_rates,
            "frontier_cpu_rate": _median(cpu_rates), "wall_ratios": wall, "wall_ratio": _median(wall),
            "cpu_ratios": cpu,
            "cpu_ratio": _median(cpu), "memory_ratios": memory, "memory_ratio": _median(memory)}


def format_market(results: list[dict]) -> list[str]:
    """The market section of the printout: per size, the limit, critmin's phases and the ratios against the
    targets."""
    if not results:
        return []

    def cell(median: float | None, ratios: list[float], target: float) -> str:
        if median is None:
            return "—"
        return (f"{median:.2f}x {'met' if median <= target else 'not met'} "
                f"({'/'.join(f'{v:.2f}' for v in ratios)})")

    lines = ["", "Market mode: the equilibrium LP end to end (build, solve, prices, welfare) against HiGHS alone on "
                 "the same LP in the same round (the limit: run() only, critmin's market options); median over rounds",
             f"{'size':<13}{'regions':>8}{'columns':>10}{'rows':>8}{'nnz':>11}  {'limit s':>8}{'build':>7}"
             f"{'handoff':>8}{'solve':>7}{'extract':>8}{'total':>7}  {'wall':<42}{'CPU':<42}{'peak MB':>13}  memory"]
    for r in results:
        p = r["phases_s"]

        def s(v: float | None) -> str:
            return "—" if v is None else f"{v:.2f}"

        lines.append(f"{r['size']['name']:<13}{r['regions']:>8}{r['columns']:>10,}{r['rows']:>8,}{r['nnz']:>11,}  "
                     f"{s(r['limit_s']):>8}{s(p['build']):>7}{s(p['handoff']):>8}{s(p['solve']):>7}{s(p['extract']):>8}"
                     f"{s(r['critmin_s']):>7}  {cell(r['wall_ratio'], r['wall_ratios'], TARGET_TIME_RATIO):<42}"
                     f"{cell(r['cpu_ratio'], r['cpu_ratios'], TARGET_TIME_RATIO):<42}"
                     f"{r['critmin_peak_mb'] or 0:>6.0f}/{r['limit_peak_mb'] or 0:<6.0f}  "
                     f"{cell(r['memory_ratio'], r['memory_ratios'], TARGET_MEMORY_RATIO)}"
                     + ("" if r["agrees"] else "  OBJECTIVE DIFFERS"))
    lines.append(f"  (targets: time <= {TARGET_TIME_RATIO}x, peak memory <= {TARGET_MEMORY_RATIO}x the limit's; each "
                 "round's ratio in brackets; peak MB: critmin / the limit)")
    for r in results:
        c = r.get("cpu_phases_s") or {}
        if r.get("critmin_cpu_s"):
            lines.append(f"  {r['size']['name']}, CPU seconds (medians): the limit {r['limit_cpu_s']:.2f}; critmin "
                         + ", ".join(f"{p} {c[p]:.2f}" for p in ("build", "handoff", "solve", "extract")
                                     if c.get(p) is not None)
                         + f", total {r['critmin_cpu_s']:.2f}")
        if r.get("ties_cpu_s") is not None:
            share = r["ties_cpu_s"] / r["critmin_cpu_s"] if r.get("critmin_cpu_s") else 0.0
            lines.append(f"  {r['size']['name']}, of critmin's solve: the tie rule (a second LP, warm, on the first "
                         f"one's optimal face) {r['ties_s']:.2f} s wall, {r['ties_cpu_s']:.2f} s CPU ({share:.0%} of "
                         "critmin's CPU total). It is critmin's own work and stays counted: the limit is one LP "
                         "solve, the equilibrium critmin reports needs two")
        if r.get("frontier_rate") is not None:
            rate = r["frontier_rate"]
            lines.append(f"  the goal's frontier ({FRONTIER_MODEL}: {r['frontier_points']} points, warm on one model, "
                         f"run_frontier only): median {rate:.1f} points/s wall "
                         f"({'/'.join(f'{v:.1f}' for v in r['frontier_rates'])}), "
                         f"{r['frontier_cpu_rate']:.1f} points/s by CPU time; target >= {TARGET_FRONTIER_RATE:.0f} "
                         f"points/s {'met' if rate >= TARGET_FRONTIER_RATE else 'not met'}")
    return lines


__all__ = ["MARKET_SIZES", "MarketSize", "format_market", "market_inputs", "run_market_size", "run_market_task"]
