"""The analyses' pace on the default model: ``python -m benchmarks.analyses [--samples 40] [--rounds 3] [--profile]``.

Measures, on one core, in one process:

- **sweep**: samples per second of ``critmin sweep`` (``SampleRunner.run`` over samples 0..n-1, seed 1), serial;
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
CLOCK = time.process_time  # CPU time of this process: on a shared machine, wall time counts the others' work


@contextmanager
def highs_clock():
    """Sum the CPU seconds spent in HiGHS's run calls (``HighsBackend._solve``) while the block runs, and count
    them: ``[seconds, runs]``."""
    from engine.solvers.highs import HighsBackend

    spent = [0.0, 0]
    original = HighsBackend._solve

    def timed(self, duals):
        start = CLOCK()
        solution = original(self, duals)
        spent[0] += CLOCK() - start
        spent[1] += 1
        return solution

    HighsBackend._solve = timed
    try:
        yield spent
    finally:
        HighsBackend._solve = original


def sweep_round(loaded, samples: int) -> dict:
    from engine.analysis.sweep import SampleRunner

    runner = SampleRunner(loaded, SEED)
    with highs_clock() as spent:
        start = CLOCK()
        for index in range(samples):
            runner.run(index)
        seconds = CLOCK() - start
    return {"seconds": seconds, "per_second": samples / seconds, "highs_share": spent[0] / seconds}


def frontier_round(loaded, points: int = 21) -> dict:
    from engine.analysis.frontier_run import run_frontier

    with highs_clock() as spent:
        start = CLOCK()
        run_frontier(loaded, points=points)
        seconds = CLOCK() - start
    return {"seconds": seconds, "highs_share": spent[0] / seconds, "highs_runs": spent[1]}


def measure(samples: int = 40, rounds: int = 3) -> dict:
    """Median over ``rounds`` alternating rounds of the sweep and the frontier on the baseline scenario."""
    from engine.inputs.scenario import load_scenario

    warnings.filterwarnings("ignore", category=FutureWarning)
    loaded = load_scenario("baseline")
    sweep_round(loaded, 2)  # imports and first-call costs out of the way
    frontier_round(loaded, 3)
    sweeps, frontiers = [], []
    for _ in range(rounds):
        sweeps.append(sweep_round(loaded, samples))
        frontiers.append(frontier_round(loaded))

    def median(rows: list[dict]) -> dict:
        return {k: statistics.median(r[k] for r in rows) for k in rows[0]}

    return {"sweep": median(sweeps), "frontier": median(frontiers), "samples": samples, "rounds": rounds}


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


def format_result(result: dict) -> str:
    s, f = result["sweep"], result["frontier"]
    return "\n".join([
        f"  sweep      {s['per_second']:7.1f} samples/s ({result['samples']} samples in {s['seconds']:.2f} s); "
        f"{100 * s['highs_share']:.0f}% inside HiGHS, {1 / s['highs_share']:.2f}× HiGHS",
        f"  frontier   {f['seconds']:7.3f} s for 21 points (target < 0.3 s: "
        f"{'met' if f['seconds'] < 0.3 else 'NOT MET'}); {100 * f['highs_share']:.0f}% inside HiGHS in "
        f"{f['highs_runs']:.0f} runs, {1 / f['highs_share']:.2f}× HiGHS",
        f"  median of {result['rounds']} alternating rounds",
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
