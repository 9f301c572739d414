"""Where a cold ``critmin solve --no-write`` spends its time, phase by phase, beside the imports-only reference:

    python -m benchmarks.cold_phases [--runs 9] [--no-impacts]

Each round runs, alternated, in fresh processes: ``python -c pass`` (interpreter start and exit), the reference
(``python -c "import numpy, pandas, highspy"``), the ``critmin`` console script, and the same solve instrumented in
this module's child (``--child``). The child imports the libraries one at a time and times the command's parts by
wrapping the functions that do them; each phase gets its wall time and its CPU time (``time.process_time``). Every
figure is the median over the rounds; the ratios are the median of each round's ratio. The instrumented process
also starts this module (argparse, json, subprocess: not in its phases) and runs the wrappers, so its whole is a few
milliseconds above the console script's; like the console script (``engine/console.py``), it holds the garbage
collector off until the scenario is loaded and skips the interpreter's teardown, which the reference pays.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "import numpy, pandas, highspy"

IMPORTS: list[tuple[str, str]] = [
    ("import numpy", "numpy"),
    ("import pandas (with pyarrow)", "pandas"),
    ("import highspy", "highspy"),
    ("import click", "click"),
    ("import yaml", "yaml"),
    ("import pydantic (the package)", "pydantic"),
    ("pydantic's internals and the scenario schema's classes built (engine.inputs.schema)", "engine.inputs.schema"),
    ("import engine.cli, api, scenario, dataset", "engine.cli,engine.api,engine.inputs.scenario"),
    ("import engine.run and the rest of engine", "engine.run,engine.solvers.highs,engine.outputs.display"),
]
"""The child's imports, in order: (label, comma-separated modules). Each phase is what its modules add."""

PARTS: list[tuple[str, str, str]] = [
    ("engine.inputs.scenario", "_read_chain", "load: the scenario's YAML chain read"),
    ("engine.inputs.scenario", "Scenario.model_validate", "load: the scenario validated (pydantic)"),
    ("engine.inputs.scenario", "load_dataset", "load: the 7 input tables read, checked, sorted, hashed"),
    ("engine.inputs.scenario", "_check_against_dataset", "load: the scenario checked against the tables"),
    ("engine.run", "build_model", "build: the LP"),
    ("engine.plan.hierarchy", "PlanSession.__init__", "hand-off: the LP loaded into HiGHS"),
    ("engine.plan.hierarchy", "PlanSession.solve", "solve: the stages, slivers and ties (the plan's, and the policy "
                                                   "impacts' re-solves)"),
    ("engine.run", "make_tables", "tables"),
    ("engine.plan.hierarchy", "PlanSession.cost_duals", "duals: the cost-stage LP and the whole-unit re-solves"),
    ("engine.run", "shadow_prices", "shadow prices"),
    ("engine.run", "policy_tables", "policy impacts' tables"),
    ("engine.run", "make_summary", "summary"),
    ("engine.inputs.names", "_read", "printout: the dataset's names read (engine.inputs.names)"),
    ("engine.outputs.display", "render_summary", "printout"),
]
"""The command's parts: (module, attribute, label); none runs inside another."""

INSIDE = ("engine.solvers.highs", "run_interruptibly", "of which inside HiGHS's run() (solve, duals)")
"""Not a part of its own: the time inside HiGHS, counted in the parts that call it."""


def _wrap(module: str, attribute: str, label: str, spent: dict[str, list[float]]) -> None:
    """Replace ``module.attribute`` (``Class.method`` allowed) by a wrapper adding its wall and CPU time to
    ``spent[label]``."""
    owner: Any = sys.modules[module]
    *path, name = attribute.split(".")
    for step in path:
        owner = getattr(owner, step)
    inner: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(inner)
    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            total = spent.setdefault(label, [0.0, 0.0])
            total[0] += time.perf_counter() - wall
            total[1] += time.process_time() - cpu

    setattr(owner, name, timed)


def child(extra: list[str]) -> dict[str, list[float]]:
    """One instrumented cold solve (``critmin solve --no-write`` and ``extra``) in this (fresh) process: ms of wall
    and CPU time by phase."""
    import contextlib
    import importlib
    import io

    phases: dict[str, list[float]] = {}
    wall, cpu = 0.0, 0.0  # perf_counter's origin is arbitrary: the first phase starts at this call
    start_wall = time.perf_counter()

    def close(label: str) -> None:
        nonlocal wall, cpu
        now_wall, now_cpu = time.perf_counter() - start_wall, time.process_time()
        phases[label] = [(now_wall - wall) * 1e3, (now_cpu - cpu) * 1e3]
        wall, cpu = now_wall, now_cpu

    from engine.console import hold_collection, numpy_settings

    hold_collection()  # as the console script starts (engine.console); the solve command releases it
    numpy_settings()  # numpy started as the console script starts it (one BLAS thread, no huge-page advice)
    cpu = time.process_time()  # the interpreter's start-up is the `python -c pass` line
    for label, modules in IMPORTS:
        for module in modules.split(","):
            importlib.import_module(module)
        close(label)
    spent: dict[str, list[float]] = {}
    for module, attribute, label in [*PARTS, INSIDE]:
        importlib.import_module(module)
        _wrap(module, attribute, label, spent)
    from engine.cli import main

    sys.argv = ["critmin", "solve", "--no-write", *extra]
    wall, cpu = time.perf_counter() - start_wall, time.process_time()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main()
    close("the command")
    command = phases.pop("the command")
    parts = {label: [v * 1e3 for v in spent.get(label, [0.0, 0.0])] for _m, _a, label in PARTS}
    rest = [command[i] - sum(v[i] for v in parts.values()) for i in (0, 1)]
    return {**phases, **{f"  {k}": v for k, v in parts.items()},
            "  the rest of the command (click, the echo, glue)": rest,
            f"    {INSIDE[2]}": [v * 1e3 for v in spent.get(INSIDE[2], [0.0, 0.0])]}


def _timed(command: list[str]) -> tuple[float, float, str]:
    """Wall and CPU ms of a child process, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1e3, cpu * 1e3, done.stdout


def measure(runs: int, extra: list[str] = ()) -> dict[str, Any]:
    """``runs`` alternated rounds of ``critmin solve --no-write`` and ``extra``; the medians by phase and the ratios
    to the reference."""
    exe = Path(sys.executable).with_name("critmin")
    critmin = [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "engine")], cwd=ROOT, capture_output=True)
    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(runs):
        start = _timed([sys.executable, "-c", "pass"])
        reference = _timed([sys.executable, "-c", REFERENCE])
        solve = _timed([*critmin, "solve", "--no-write", *extra])
        instrumented = _timed([sys.executable, "-m", "benchmarks.cold_phases", "--child", *extra])
        rows.setdefault("reference", []).append(reference[:2])
        rows.setdefault("critmin", []).append(solve[:2])
        rows.setdefault("interpreter start and exit (python -c pass)", []).append(start[:2])
        for label, (wall, cpu) in json.loads(instrumented[2].splitlines()[-1]).items():
            rows.setdefault(label, []).append((wall, cpu))
        rows.setdefault("the instrumented process, whole", []).append(instrumented[:2])
    ratio = [statistics.median(c[i] / r[i] for c, r in zip(rows["critmin"], rows["reference"], strict=True))
             for i in (0, 1)]
    return {"runs": runs, "command": " ".join(["critmin solve --no-write", *extra]), "ratio_wall": ratio[0],
            "ratio_cpu": ratio[1],
            "phases": {k: [statistics.median(v[i] for v in values) for i in (0, 1)] for k, values in rows.items()}}


def format_phases(result: dict[str, Any]) -> str:
    phases = result["phases"]
    lines = [f"{'phase (median of ' + str(result['runs']) + ' alternated rounds)':<86}{'wall ms':>9}{'CPU ms':>9}"]
    for label, (wall, cpu) in phases.items():
        name = {"reference": f'reference: python -c "{REFERENCE}"',
                "critmin": f"{result['command']} (the console script)"}.get(label, label)
        lines.append(f"{name:<86}{wall:9.1f}{cpu:9.1f}")
        if label == "critmin":
            lines.append(f"{'  critmin / reference (median of the rounds ratios)':<86}{result['ratio_wall']:9.2f}"
                         f"{result['ratio_cpu']:9.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.cold_phases", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=9, help="alternated rounds (default: %(default)s)")
    p.add_argument("--no-impacts", action="store_true",
                   help="time critmin solve --no-write --no-impacts (the issue 26 target) instead")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    extra = ["--no-impacts"] if a.no_impacts else []
    if a.child:  # leave as the console script does (engine.console): no interpreter teardown
        print(json.dumps(child(extra)), flush=True)
        os._exit(0)
    print(format_phases(measure(a.runs, extra)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
