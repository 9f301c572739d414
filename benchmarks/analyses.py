"""The analyses' pace on the default model: ``python -m benchmarks.analyses [--samples 40] [--rounds 3] [--profile]``.

Measures, on one core, in one process:

- **sweep**: samples per second of ``critmin sweep`` (``SampleRunner.run`` over samples 0..n-1, seed 1), serial,
  against its target (``SWEEP_TARGET``) and against a reference in the same run: the same samples each built afresh
  (``build_model``), solved on a fresh solver and read from the tidy tables, as ``critmin sweep`` did before its
  model was built once per runner (``cold_sample``);
- **frontier**: engine time of ``critmin frontier --points 21`` (``run_frontier``, build to table), against its
  target of 0.3 s, with the count of HiGHS runs;
- **inside HiGHS**: the share of each of those spent in HiGHS's own run calls (``HighsBackend._solve``'s timed
  ``run``), the rest being critmin's own work (build, load, checks, tie rule, metrics).

Times are the process's CPU seconds (``time.process_time``), so that other work on a shared machine does not count;
rounds alternate sweep and frontier so both see the same machine load; the median round is reported. ``--profile``
prints where critmin's own time goes in one sweep round and one frontier (cProfile, functions in ``engine/``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
import warnings
from contextlib import contextmanager

SEED = 1
SWEEP_TARGET = 50.0  # samples per CPU-second on one core (issue 21)
HIGHS_SHARE_TARGET = 0.6  # share of a sweep's or a frontier's time spent inside HiGHS (issue 21)
CLOCK = time.process_time  # CPU time of this process: on a shared machine, wall time counts the others' work


class PartClock:
    """CPU seconds spent in named parts of a run, each part's time exclusive of the parts timed inside it (the
    HiGHS runs inside the hierarchy's solve, say), and the count of calls per part."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.mip_seconds = 0.0  # of HiGHS's runs, those that solved a MIP
        self._stack: list[list[float]] = []  # per open part: [start, seconds of the parts timed inside it]

    def wrap(self, function, part: str):
        def timed(*args, **kwargs):
            self._stack.append([CLOCK(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                start, inner = self._stack.pop()
                elapsed = CLOCK() - start
                self.seconds[part] = self.seconds.get(part, 0.0) + elapsed - inner
                self.calls[part] = self.calls.get(part, 0) + 1
                if self._stack:
                    self._stack[-1][1] += elapsed
        return timed


HIGHS = "inside HiGHS"
PARTS = {
    "sweep": [("engine.analysis.sweep", "sample_factors", "draws"),
              ("engine.formulation.variants:SampleModels", "model", "the changed model"),
              ("engine.analysis.sweep", "share_terms", "the changed model"),
              ("engine.plan.hierarchy:PlanSession", "__init__", "a fresh solver loaded"),
              ("engine.plan.hierarchy:PlanSession", "solve", "the hierarchy around HiGHS")],
    "frontier": [("engine.analysis.frontier_run", "build_model", "building the model"),
                 ("engine.plan.hierarchy:PlanSession", "__init__", "a solver loaded"),
                 ("engine.analysis.frontier", "_point", "the points' figures")],
}
"""Where an analysis's time goes (``module[:class]``, attribute, part): each wrapped while it runs; HiGHS's own run
calls (``highspy.Highs.run``) are timed as ``HIGHS``; what no part covers is reported as the rest."""


@contextmanager
def part_clock(kind: str):
    """Time the parts of ``PARTS[kind]`` and HiGHS's run calls while the block runs (a ``PartClock``)."""
    import importlib

    clock = PartClock()
    patched = []
    for where, attribute, part in [*PARTS[kind], ("highspy:Highs", "run", HIGHS)]:
        module_name, _, class_name = where.partition(":")
        owner = importlib.import_module(module_name)
        if class_name:
            owner = getattr(owner, class_name)
        own = attribute in vars(owner)  # else inherited (highspy's run): deleted again afterwards
        original = getattr(owner, attribute)
        patched.append((owner, attribute, original if own else None))
        setattr(owner, attribute, clock.wrap(original, part))
    from engine.solvers.highs import HighsBackend

    solve = HighsBackend._solve

    def solve_counting_mips(backend, duals):
        start = CLOCK()
        try:
            return solve(backend, duals)
        finally:
            if backend.is_mip:
                clock.mip_seconds += CLOCK() - start

    HighsBackend._solve = solve_counting_mips
    try:
        yield clock
    finally:
        HighsBackend._solve = solve
        for owner, attribute, original in reversed(patched):
            if original is None:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


def sweep_round(loaded, samples: int) -> dict:
    from engine.analysis.sweep import SampleRunner

    runner = SampleRunner(loaded, SEED)
    with part_clock("sweep") as clock:
        start = CLOCK()
        for index in range(samples):
            runner.run(index)
        seconds = CLOCK() - start
    return {"seconds": seconds, "per_second": samples / seconds, **_shares(clock, seconds, "the sample's row")}


def cold_sample(loaded, universe, index: int) -> dict:
    """One sample as a cold build and solve: the model built afresh for it, a fresh solver, the row's numbers read
    from the tidy tables (the sweep's reference)."""
    from engine.analysis.sampling import scenario_set
    from engine.formulation import build_model
    from engine.outputs.results import (
        attributed_by_group,
        build_table,
        dependence_metric,
        per_mineral,
        total_cost_pv,
        unmet_value_pv,
    )
    from engine.plan.hierarchy import PlanSession
    from engine.solvers import SolverOptions, make_backend

    sample_set, records = scenario_set(loaded, [index], SEED, universe=universe)
    model = build_model(loaded, sample_set)
    plan = PlanSession(model, make_backend(None, SolverOptions())).solve()
    row = dict(records[0])
    if plan.ok:
        dep = attributed_by_group(model, plan.x)
        row.update({"exposure_pct": dependence_metric(model, dep),
                    "share_of_supply_pct": dependence_metric(model, dep, "china_share_of_supply_pct"),
                    "cost_pv_usd": total_cost_pv(model, plan.x),
                    "least_cost_pv_usd": total_cost_pv(model, plan.least_cost.x),
                    "shortfall_value_pv_usd": unmet_value_pv(model, plan.x),
                    **per_mineral(dep, "china_exposure_pct", model.minerals),
                    **dep.groupby("mineral")["shortfall_t"].sum().to_dict(),
                    "jv_capacity_tpy": float(build_table(model, plan.x)["capacity_tpy"].sum())})
    return row


def sweep_reference_round(loaded, samples: int) -> dict:
    from engine.analysis.sampling import _universe

    universe = _universe(loaded)
    with part_clock("sweep") as clock:
        start = CLOCK()
        for index in range(samples):
            cold_sample(loaded, universe, index)
        seconds = CLOCK() - start
    return {"seconds": seconds, "per_second": samples / seconds, **_shares(clock, seconds, "the rest")}


def frontier_round(loaded, points: int = 21) -> dict:
    from engine.analysis.frontier_run import run_frontier

    with part_clock("frontier") as clock:
        start = CLOCK()
        run_frontier(loaded, points=points)
        seconds = CLOCK() - start
    return {"seconds": seconds, **_shares(clock, seconds, "the hierarchy around HiGHS")}


def _shares(clock: PartClock, seconds: float, rest: str) -> dict:
    """The share inside HiGHS, its run count, the MIP runs' share, and the seconds of every part (what no part
    covers under ``rest``)."""
    parts = dict(clock.seconds)
    parts[rest] = parts.get(rest, 0.0) + seconds - sum(clock.seconds.values())
    return {"highs_share": clock.seconds.get(HIGHS, 0.0) / seconds, "highs_runs": clock.calls.get(HIGHS, 0),
            "mip_share": clock.mip_seconds / seconds, "parts": parts}


def measure(samples: int = 40, rounds: int = 3) -> dict:
    """Median over ``rounds`` alternating rounds of the sweep and the frontier on the baseline scenario."""
    from engine.inputs.scenario import load_scenario

    warnings.filterwarnings("ignore", category=FutureWarning)
    loaded = load_scenario("baseline")
    sweep_round(loaded, 2)  # imports and first-call costs out of the way
    sweep_reference_round(loaded, 2)
    frontier_round(loaded, 3)
    sweeps, references, frontiers = [], [], []
    for _ in range(rounds):
        sweeps.append(sweep_round(loaded, samples))
        references.append(sweep_reference_round(loaded, samples))
        frontiers.append(frontier_round(loaded))

    def median(rows: list[dict]) -> dict:
        """Per key, the median over rounds; for the parts' seconds, per part."""
        return {k: median([r[k] for r in rows]) if isinstance(rows[0][k], dict)
                else statistics.median(r[k] for r in rows) for k in rows[0]}

    speedups = [r["seconds"] / s["seconds"] for s, r in zip(sweeps, references, strict=True)]
    return {"sweep": median(sweeps), "sweep_reference": median(references), "frontier": median(frontiers),
            "sweep_speedups": speedups, "samples": samples, "rounds": rounds}


def profile(samples: int, top: int = 25) -> str:
    from engine.inputs.scenario import load_scenario

    loaded = load_scenario("baseline")
    out = io.StringIO()
    for name, call in (("sweep", lambda: sweep_round(loaded, samples)), ("frontier", lambda: frontier_round(loaded))):
        prof = cProfile.Profile()
        prof.runcall(call)
        out.write(f"\n== {name}\n")
        stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
        stats.print_stats("engine/", top)
    return out.getvalue()


def _met(value: float, target: float) -> str:
    return "met" if value >= target else "NOT MET"


def _where(parts: dict[str, float], per: float, unit: str) -> str:
    """The parts' times, largest first, in ms ``unit``."""
    ranked = sorted(parts.items(), key=lambda kv: -kv[1])
    return "; ".join(f"{name} {1000 * seconds / per:.1f}" for name, seconds in ranked) + f" ms {unit}"


def format_result(result: dict) -> str:
    s, f, n = result["sweep"], result["frontier"], result["samples"]
    outside_ms = 1000 * s["seconds"] * (1 - s["highs_share"]) / n
    lines = [
        f"  sweep      {s['per_second']:7.1f} samples/s ({n} samples in {s['seconds']:.2f} s; target "
        f">= {SWEEP_TARGET:g}/s: {_met(s['per_second'], SWEEP_TARGET)}); {100 * s['highs_share']:.0f}% inside "
        f"HiGHS (target >= {100 * HIGHS_SHARE_TARGET:.0f}%: {_met(s['highs_share'], HIGHS_SHARE_TARGET)}), "
        f"{1 / s['highs_share']:.2f}× HiGHS; {100 * s['mip_share']:.0f}% in HiGHS's MIP solves, {outside_ms:.1f} ms "
        f"a sample outside HiGHS",
        f"             where a sample's time goes ({s['highs_runs'] / n:.1f} HiGHS runs a sample): "
        f"{_where(s['parts'], n, 'a sample')}"]
    r = result.get("sweep_reference")
    if r:
        ratios = result["sweep_speedups"]
        lines.append(f"             reference, each sample built afresh: {r['per_second']:.1f} samples/s, "
                     f"{100 * r['highs_share']:.0f}% inside HiGHS; the sweep is {r['seconds'] / s['seconds']:.2f}× "
                     f"as fast (rounds {min(ratios):.2f}–{max(ratios):.2f}×)")
    return "\n".join([
        *lines,
        f"  frontier   {f['seconds']:7.3f} s for 21 points (target < 0.3 s: "
        f"{'met' if f['seconds'] < 0.3 else 'NOT MET'}); {100 * f['highs_share']:.0f}% inside HiGHS in "
        f"{f['highs_runs']:.0f} runs (target >= {100 * HIGHS_SHARE_TARGET:.0f}%: "
        f"{_met(f['highs_share'], HIGHS_SHARE_TARGET)}), {1 / f['highs_share']:.2f}× HiGHS",
        f"             where its time goes: {_where(f['parts'], 1, '')}".rstrip(),
        f"  median of {result['rounds']} alternating rounds; inside HiGHS means its run calls",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.analyses", description=__doc__)
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    a = p.parse_args(argv)
    if a.profile:
        print(profile(a.samples))
        return 0
    print(format_result(measure(a.samples, a.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
