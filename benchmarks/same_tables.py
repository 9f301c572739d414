"""Write the analyses' tables on every shipped scenario, to compare two versions of the code byte for byte:

    python -m benchmarks.same_tables OUT_DIR [--samples 30]
    diff -r BEFORE_DIR AFTER_DIR

For each scenario in ``models/``: the plan's tidy tables (``make_tables``), the plan's total cost, the aggregate
frontier at 21 points (``frontier.csv``) and a seeded sweep (``samples.csv``, ``percentiles.csv``); timings and
the per-sample seconds are left out.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path


def write_all(out: Path, samples: int) -> None:
    from engine.analysis.frontier_run import run_frontier
    from engine.analysis.sweep import SampleRunner, SweepRun, percentiles
    from engine.formulation import build_model
    from engine.inputs.scenario import load_scenario
    from engine.outputs.files import write_csv
    from engine.outputs.results import cost_with_unmet_pv, make_tables, total_cost_pv
    from engine.plan.hierarchy import PlanSession
    from engine.solvers import SolverOptions, make_backend

    warnings.filterwarnings("ignore", category=FutureWarning)
    root = Path(__file__).resolve().parent.parent / "models"
    for path in sorted(root.glob("*.yaml")):
        name = path.stem
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        loaded = load_scenario(name)
        model = build_model(loaded)
        plan = PlanSession(model, make_backend(None, SolverOptions())).solve()
        for table, frame in make_tables(model, plan.x, plan.least_cost.x).items():
            write_csv(frame, folder / f"{table}.csv")
        totals = {"total_cost_pv": total_cost_pv(model, plan.x),
                  "cost_with_unmet_pv": cost_with_unmet_pv(model, plan.x),
                  "least_cost_pv": total_cost_pv(model, plan.least_cost.x)}
        (folder / "totals.json").write_text(json.dumps(totals, indent=2) + "\n")
        frontier = run_frontier(loaded, points=21)
        write_csv(frontier.table, folder / "frontier.csv")
        runner = SampleRunner(loaded, 1)
        run = SweepRun(loaded, folder, samples, 1, rows=[runner.run(i) for i in range(samples)])
        write_csv(run.table.drop(columns=["seconds"]), folder / "samples.csv")
        write_csv(percentiles(run.table), folder / "percentiles.csv")
        print(name, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.same_tables", description=__doc__)
    p.add_argument("out", type=Path)
    p.add_argument("--samples", type=int, default=30)
    a = p.parse_args(argv)
    write_all(a.out, a.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
