"""Does the order of rows and columns change HiGHS's speed? ``python -m benchmarks.order [--size large] [--rounds 3]``

Builds the single-stage LP of a generated size once, then solves the same LP under several row and column orders,
alternated round by round in this one process (HiGHS's time drifts by ±10% on a shared VM, so orders are compared
within a round), with the options critmin's backend uses. It prints each solve's time, simplex iterations and
time per iteration. The orders:

- ``build``: the order critmin builds the model in (scenario outermost in every block);
- ``scenario innermost``: what critmin's highs backend hands HiGHS (``engine/solvers/ordering.py``);
- ``keys, scenario last``: every block sorted by its key columns with the scenario last (linopy's order for
  labelled arrays such as flow[source, year, scen]);
- ``random``: a seeded random permutation of the columns and of the rows (a control).

The optimum must not depend on the order; the script says so if it does.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

from engine.model.lp import LinearProgram
from engine.solvers.ordering import SolverOrder


def keys_scenario_last(blocks, n: int) -> np.ndarray:
    """Each block that has a ``scen`` key sorted by its other key columns, then the scenario."""
    order = np.arange(n, dtype=np.int64)
    for block in blocks:
        if "scen" not in block.keys.columns or len(block) < 2:
            continue
        columns = [c for c in block.keys.columns if c != "scen"] + ["scen"]
        codes = [pd.factorize(block.keys[c], sort=True)[0] for c in reversed(columns)]
        order[block.start:block.start + len(block)] = block.start + np.lexsort(codes)
    return order


def orders(lp: LinearProgram, seed: int = 0) -> dict[str, SolverOrder]:
    rng = np.random.default_rng(seed)
    return {
        "build": SolverOrder(None, None, lp.n_rows),
        "scenario innermost": SolverOrder.for_model(lp),
        "keys, scenario last": SolverOrder(keys_scenario_last(lp.variables.values(), lp.n_cols),
                                           keys_scenario_last(lp.constraints.values(), lp.n_rows), lp.n_rows),
        "random": SolverOrder(rng.permutation(lp.n_cols), rng.permutation(lp.n_rows), lp.n_rows),
    }


def solve_in_order(lp: LinearProgram, cost: np.ndarray, order: SolverOrder) -> tuple[float, int, float]:
    """(run seconds, simplex iterations, objective) of the LP loaded into a fresh highs backend in ``order``."""
    from engine.solvers.highs import HighsBackend

    backend = HighsBackend()
    backend.load(lp, order)
    backend.set_objective(cost)
    sol = backend.solve(duals=False)
    return sol.seconds, int(sol.iterations or 0), float("nan") if sol.objective is None else sol.objective


def compare(size_name: str, rounds: int) -> list[dict]:
    from benchmarks.config import SIZES, build_inputs, single_stage_objective
    from engine.formulation import build_model
    from engine.inputs.scenario import scenario_from_dict

    warnings.filterwarnings("ignore", category=FutureWarning)
    dataset, scenarios, mapping = build_inputs(SIZES[size_name])
    lp = build_model(scenario_from_dict(mapping, dataset, name="bench"), scenarios).lp
    cost = single_stage_objective(lp)
    candidates = orders(lp)
    rows = []
    for r in range(rounds):
        for name, order in candidates.items():
            seconds, iterations, objective = solve_in_order(lp, cost, order)
            rows.append({"round": r + 1, "order": name, "seconds": seconds, "iterations": iterations,
                         "us_per_iteration": 1e6 * seconds / max(iterations, 1), "objective": objective})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.order", description=__doc__.split("\n")[0])
    p.add_argument("--size", default="large", help="a size from benchmarks/config.py (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; each solves every order once")
    args = p.parse_args(argv)
    rows = compare(args.size, args.rounds)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    print("\nmedian per order:")
    print(table.groupby("order", sort=False)[["seconds", "us_per_iteration"]].median().to_string(
        float_format=lambda v: f"{v:,.3f}"))
    objectives = table["objective"].to_numpy()
    if not np.allclose(objectives, objectives[0], rtol=1e-7):
        print("\nTHE OPTIMUM DIFFERS BETWEEN ORDERS")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
