"""Where critmin's own time goes: ``python -m benchmarks.profile [--size large] [--hierarchy] [--top 25]``.

Profiles one single-stage run (build_model → load → solve → make_tables) of a generated size with cProfile and
prints, for functions in ``engine/``, the cumulative and own time with their share of the run's wall time. The
solver's own time shows up under ``HighsBackend.solve``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import warnings


def profile(size_name: str, hierarchy: bool = False, top: int = 25, default: bool = False) -> str:
    from benchmarks.config import SIZES, build_inputs, single_stage_objective
    from engine.formulation import build_model
    from engine.inputs.scenario import load_scenario, scenario_from_dict
    from engine.outputs.results import make_tables
    from engine.plan.hierarchy import PlanSession
    from engine.solvers import make_backend

    warnings.filterwarnings("ignore", category=FutureWarning)
    def inputs(name: str):
        dataset, scenarios, mapping = build_inputs(SIZES[name])
        return scenario_from_dict(mapping, dataset, name="bench"), scenarios

    def run(loaded, scenarios) -> None:
        model = build_model(loaded, scenarios)
        backend = make_backend("highs")
        if hierarchy:
            plan = PlanSession(model, backend).solve()
            make_tables(model, plan.x, plan.least_cost.x)
        else:
            backend.load(model.lp, objective=single_stage_objective(model.lp))
            sol = backend.solve(duals=False)
            make_tables(model, sol.x)

    run(*inputs("tiny"))  # first calls (lazy imports, caches) out of the way, as the harness's warm-up does
    loaded, scenarios = (load_scenario("baseline"), None) if default else inputs(size_name)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    run(loaded, scenarios)
    profiler.disable()
    wall = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, func), (_, _, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "/engine/" in file or "/benchmarks/" in file:
            where = file.split("/engine/")[-1] if "/engine/" in file else "benchmarks/" + file.split("/benchmarks/")[-1]
            rows.append((cumulative, own, f"{where}:{line} {func}"))
    rows.sort(reverse=True)
    what = "default model" if default else f"size {size_name}"
    lines = [f"{what}: {'hierarchy' if hierarchy else 'single stage'}, wall {wall:.2f} s (under cProfile)",
             f"{'cumulative s':>12} {'share':>6} {'own s':>8} {'share':>6}  function (engine/)"]
    for cumulative, own, name in rows[:top]:
        lines.append(f"{cumulative:>12.3f} {cumulative / wall:>6.1%} {own:>8.3f} {own / wall:>6.1%}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    p.add_argument("--size", default="large")
    p.add_argument("--default", action="store_true", help="profile the shipped baseline model instead")
    p.add_argument("--hierarchy", action="store_true", help="profile the full hierarchy instead of one stage")
    p.add_argument("--top", type=int, default=25)
    a = p.parse_args(argv)
    print(profile(a.size, a.hierarchy, a.top, a.default))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
