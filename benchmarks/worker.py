"""One measurement, run in a fresh child process: ``python -m benchmarks.worker TASK.json``.

Each task reads the generated inputs from a pickle (not timed), imports its tool and runs it once on the tiny
size (not timed: lazy imports and first-call costs belong to the cold-CLI figure, not to a model's build), then
times its phases and writes a JSON result. Peak memory is the process's own high-water mark (VmHWM; ``ru_maxrss``
where there is no /proc) plus that of any solver process it started (CBC, sampled); per-phase peaks come from
sampling the resident set every few milliseconds. ``delta_mb`` is the peak less the resident set before the
first phase (imports, inputs and the warm-up run excluded). Each phase also records the process's CPU time
(``cpu_phases``), which a busy shared machine inflates far less than the wall time.

``run_task(task)`` runs the same code in-process (the smoke test does that; its numbers are not isolated).
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import sys
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PHASES = ("build", "handoff", "solve", "extract")


# ------------------------------------------------------------------------------------------------ memory
def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return None


def _hwm_mb(pid: int | str = "self") -> float | None:
    """The high-water mark of a process's resident set (VmHWM), in MB; None without /proc.

    Unlike ``ru_maxrss``, VmHWM belongs to the address space, so it starts afresh at ``exec``: a child process
    started from a large parent does not inherit the parent's peak.
    """
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children() -> list[int]:
    """Pids of this process's live children that run another program (solver executables such as cbc).

    A child caught between fork and exec still runs this interpreter and shows the parent's pages as its own;
    it is skipped, or a CBC run would count the Python process twice.
    """
    pids: list[int] = []
    try:
        own = os.readlink("/proc/self/exe")
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as f:
                for pid in f.read().split():
                    try:
                        if os.readlink(f"/proc/{pid}/exe") != own:
                            pids.append(int(pid))
                    except OSError:
                        continue
    except OSError:
        pass
    return pids


def _self_peak_mb() -> float:
    hwm = _hwm_mb()
    if hwm is not None:
        return hwm
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux, bytes on macOS
    return value / (1024 * 1024) if sys.platform == "darwin" else value / 1024


class Meter:
    """Times named phases and samples the resident set size while they run."""

    def __init__(self, interval: float = 0.005) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}  # CPU time of the process (all threads): robust to a shared machine
        self.peak_mb: dict[str, float] = {}
        self.child_peak_mb: dict[str, float] = {}
        self.current: str | None = None
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        rss = _rss_bytes()
        self.base_mb = rss / 2**20 if rss is not None else None

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._note()
            self._stop.wait(self.interval)

    def _note(self) -> None:
        rss, phase = _rss_bytes(), self.current
        if rss is not None and phase is not None:
            mb = rss / 2**20
            if mb > self.peak_mb.get(phase, 0.0):
                self.peak_mb[phase] = mb
            for pid in _children():
                child = _hwm_mb(pid)
                if child is not None and child > self.child_peak_mb.get(phase, 0.0):
                    self.child_peak_mb[phase] = child

    def __enter__(self) -> Meter:
        if _rss_bytes() is not None:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @contextmanager
    def phase(self, name: str):
        self.current = name
        self._note()
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + time.process_time() - cpu_start
            self._note()
            self.current = None

    def result(self) -> dict:
        own = _self_peak_mb()
        children = max(self.child_peak_mb.values(), default=0.0)
        return {
            "phases": {f"{p}_s": self.seconds.get(p) for p in PHASES},
            "cpu_phases": {f"{p}_s": self.cpu_seconds.get(p) for p in PHASES},
            "total_s": sum(v for v in self.seconds.values() if v is not None),
            "phase_peak_mb": {p: round(v, 1) for p, v in self.peak_mb.items()},
            "solver_process_phase_peak_mb": {p: round(v, 1) for p, v in self.child_peak_mb.items()},
            "base_mb": None if self.base_mb is None else round(self.base_mb, 1),
            "process_peak_mb": round(own, 1),
            "solver_process_peak_mb": round(children, 1),
            "peak_mb": round(own + children, 1),
            "delta_mb": None if self.base_mb is None else round(own + children - self.base_mb, 1),
        }


# ------------------------------------------------------------------------------------------------ inputs
def load_inputs(path: str | Path):
    with open(path, "rb") as f:
        return pickle.load(f)


def _quiet_highs():
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def _critmin_model(inputs):
    from engine.formulation import build_model
    from engine.inputs.scenario import scenario_from_dict

    dataset, scenarios, scenario = inputs
    return build_model(scenario_from_dict(scenario, dataset, name="bench"), scenarios)


# ------------------------------------------------------------------------------------------------ tasks
def critmin_single(inputs, meter: Meter, backend_name: str) -> dict:
    """build_model → backend.load with the single-stage objective → one solve → result tables."""
    from benchmarks.config import single_stage_objective
    from engine.outputs.results import make_tables
    from engine.solvers import SolverOptions, make_backend

    with meter.phase("build"):
        model = _critmin_model(inputs)
    with meter.phase("handoff"):  # the objective goes with the model (an edit after loading has HiGHS sort it)
        backend = make_backend(backend_name, SolverOptions())
        backend.load(model.lp, objective=single_stage_objective(model.lp))
    with meter.phase("solve"):
        sol = backend.solve(duals=False)  # primal values only, as the peers read
    with meter.phase("extract"):
        tables = make_tables(model, sol.x) if sol.ok else None
    return {"status": str(sol.status), "objective": sol.objective, "iterations": sol.iterations,
            "rows_out": None if tables is None else len(tables.flows)}


def critmin_hierarchy(inputs, meter: Meter, backend_name: str) -> dict:
    """build_model → PlanSession (load) → the full hierarchy, warm → result tables (optimised + least cost)."""
    from engine.outputs.results import make_tables
    from engine.plan.hierarchy import PlanSession
    from engine.solvers import SolverOptions, make_backend

    with meter.phase("build"):
        model = _critmin_model(inputs)
    with meter.phase("handoff"):
        backend = make_backend(backend_name, SolverOptions())
        session = PlanSession(model, backend)
    with meter.phase("solve"):
        plan = session.solve()
    with meter.phase("extract"):
        tables = make_tables(model, plan.x, plan.least_cost.x) if plan.ok else None
    solves = [*plan.stages, *plan.tie_break]  # the last solve is the tie rule's, as the limit's last MPS is
    return {"status": str(plan.status), "objective": solves[-1].objective if solves else None,
            "stages": [{"name": s.name, "status": str(s.status), "objective": s.objective, "seconds": s.seconds,
                        "iterations": s.iterations} for s in solves],
            "rows_out": None if tables is None else len(tables.flows)}


def _limit_highs(path: str, critmin_options: bool) -> tuple[object, float]:
    """A quiet highspy object with the MPS read, and the read time.

    Without ``critmin_options`` HiGHS keeps its defaults (presolve "choose", which presolves an LP); with them
    it gets what critmin's highs backend sets for this model (``highs_settings``: presolve off for an LP, forced
    scaling), so the limit is the fastest solve of the same problem under the same options."""
    h = _quiet_highs()
    t = time.perf_counter()
    h.readModel(path)
    read = time.perf_counter() - t
    if critmin_options:
        from engine.solvers.highs import apply_highs_settings

        apply_highs_settings(h, is_mip=any(int(k) for k in h.getLp().integrality_))
    return h, read


def raw_single(task: dict, meter: Meter, critmin_options: bool) -> dict:
    """The limit: the single-stage MPS solved by highspy alone; only ``run()`` is timed."""
    h, read = _limit_highs(task["mps"], critmin_options)
    with meter.phase("solve"):
        h.run()
    with meter.phase("extract"):
        x = np.asarray(h.getSolution().col_value)
    info = h.getInfo()
    return {"status": h.modelStatusToString(h.getModelStatus()), "objective": float(info.objective_function_value),
            "iterations": int(info.simplex_iteration_count), "read_s": read, "n": int(x.size),
            "presolve": h.getOptionValue("presolve")[1], "scaling": h.getOptionValue("simplex_scale_strategy")[1],
            "counted": ["solve"]}


def raw_hierarchy(task: dict, meter: Meter) -> dict:
    """The hierarchy's limit: each stage's MPS (as the stage saw the model) solved cold, with critmin's options;
    Σ of the run times."""
    stages, read_total = [], 0.0
    for path in task["stage_mps"]:
        h, read = _limit_highs(path, critmin_options=True)
        read_total += read
        t = time.perf_counter()
        with meter.phase("solve"):
            h.run()
        seconds = time.perf_counter() - t
        info = h.getInfo()
        stages.append({"mps": Path(path).name, "seconds": seconds, "status": h.modelStatusToString(h.getModelStatus()),
                       "objective": float(info.objective_function_value),
                       "iterations": int(info.simplex_iteration_count)})
        del h
    return {"status": stages[-1]["status"] if stages else "none", "objective": stages[-1]["objective"] if stages
            else None, "stages": stages, "read_s": read_total, "counted": ["solve"]}


def pulp_naive(inputs, meter: Meter, solver: str) -> dict:
    """The peer written the naive way in PuLP, solved with HiGHS (in-process) or CBC."""
    import pulp

    from benchmarks.config import SHORTFALL_WEIGHT
    from benchmarks.peers import naive_pulp, peer_data, pulp_flows

    dataset, scenarios, scenario = inputs
    with meter.phase("build"):
        model = naive_pulp(peer_data(dataset, scenarios, scenario, SHORTFALL_WEIGHT))
    prob = model.prob
    if solver == "highs":
        s = pulp.HiGHS(msg=False)
        with meter.phase("handoff"):  # what HiGHS.actualSolve does, phase by phase
            wasNone, dummy = prob.fixObjective()
            s.createAndConfigureSolver(prob)
            s.buildSolverModel(prob)
        with meter.phase("solve"):
            s.callSolver(prob)
        with meter.phase("extract"):
            status, sol_status = s.findSolutionValues(prob)
            prob.assignStatus(status, sol_status)
            prob.restoreObjective(wasNone, dummy)
            flows = pulp_flows(model)
        ok = prob.solverModel.getModelStatus() == __import__("highspy").HighsModelStatus.kOptimal
    else:
        from engine.solvers.pulp_backend import cbc_path

        s = pulp.COIN_CMD(msg=False, path=cbc_path())
        with meter.phase("solve"):  # writes the MPS, runs cbc, reads the solution back: PuLP does all three
            prob.solve(s)
        with meter.phase("extract"):
            flows = pulp_flows(model)
        ok = prob.sol_status == pulp.LpSolutionOptimal
    return {"status": "optimal" if ok else pulp.LpStatus[prob.status],
            "objective": float(pulp.value(prob.objective)), "rows_out": int((flows["tonnes"] > 1e-6).sum()),
            "variables": len(model.flow) + len(model.jv_out) + len(model.build) + len(model.short),
            "constraints": prob.numConstraints()}


def linopy_peer(inputs, meter: Meter, critmin_options: bool = False) -> dict:
    """The peer in linopy: labelled arrays, hand-off through linopy.io.to_highspy, HiGHS run (with HiGHS's
    default options, as a user would run it, or with the options critmin's backend sets)."""
    from benchmarks.config import SHORTFALL_WEIGHT
    from benchmarks.peers import linopy_model, peer_data

    dataset, scenarios, scenario = inputs
    with meter.phase("build"):
        m = linopy_model(peer_data(dataset, scenarios, scenario, SHORTFALL_WEIGHT))
    with meter.phase("handoff"):
        from linopy.io import to_highspy

        h = to_highspy(m)
        h.setOptionValue("output_flag", False)
        if critmin_options:  # the settings critmin's backend uses for an LP
            from engine.solvers.highs import apply_highs_settings

            apply_highs_settings(h, is_mip=False)
    with meter.phase("solve"):
        h.run()
    with meter.phase("extract"):
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        flow = m.variables["flow"]
        labels = flow.labels.values
        values = np.where(labels >= 0, x[np.where(labels >= 0, labels, 0)], np.nan)
    info = h.getInfo()
    return {"status": h.modelStatusToString(h.getModelStatus()).lower(),
            "objective": float(info.objective_function_value), "n": int(np.isfinite(values).sum()),
            "iterations": int(info.simplex_iteration_count), "variables": int(m.nvars),
            "constraints": int(m.ncons), "nnz": int(h.getNumNz())}


def prep(task: dict, inputs) -> dict:
    """Not timed: the model's size, the single-stage MPS, critmin's reference optimum, and (if asked) each
    hierarchy stage's MPS exactly as the stage saw the model."""
    from benchmarks.config import single_stage_objective
    from engine.plan.hierarchy import PlanSession
    from engine.solvers import make_backend

    out_dir = Path(task["out_dir"])
    model = _critmin_model(inputs)
    lp = model.lp
    backend = make_backend("highs")
    backend.load(lp)
    backend.set_objective(single_stage_objective(lp))
    single_mps = out_dir / "single.mps"
    backend.h.writeModel(str(single_mps))
    sol = backend.solve()
    result = {"columns": lp.n_cols, "rows": lp.n_rows, "nnz": lp.nnz, "integer_columns": len(lp.integer_cols),
              "single_mps": str(single_mps), "single_objective": sol.objective, "single_status": str(sol.status),
              "single_seconds": sol.seconds}
    if 0 <= lp.nnz <= task.get("hierarchy_max_nnz", -1):
        backend = make_backend("highs")
        solve = backend.solve
        paths: list[str] = []
        solves: list[dict] = []

        def recording_solve(duals: bool = True):
            path = out_dir / f"stage{len(paths) + 1}.mps"
            backend.h.writeModel(str(path))
            paths.append(str(path))
            sol = solve(duals)
            solves.append({"name": path.stem, "objective": sol.objective, "seconds": sol.seconds})
            return sol

        backend.solve = recording_solve  # type: ignore[method-assign]
        plan = PlanSession(model, backend).solve()
        result["stage_mps"] = paths
        result["hierarchy_status"] = str(plan.status)
        # every solve as made (a plan with slivers solves its last stages twice: engine/plan/noise.py), each beside
        # its MPS; the plan's own stages are its summary's
        result["hierarchy_stages"] = solves
    return result


TOOLS = {
    "critmin-highs": lambda task, inputs, meter: critmin_single(inputs, meter, "highs"),
    "critmin-pulp": lambda task, inputs, meter: critmin_single(inputs, meter, "pulp"),
    "raw-highs": lambda task, inputs, meter: raw_single(task, meter, critmin_options=True),
    "raw-highs-defaults": lambda task, inputs, meter: raw_single(task, meter, critmin_options=False),
    "pulp-naive-highs": lambda task, inputs, meter: pulp_naive(inputs, meter, "highs"),
    "pulp-naive-cbc": lambda task, inputs, meter: pulp_naive(inputs, meter, "cbc"),
    "linopy-highs": lambda task, inputs, meter: linopy_peer(inputs, meter),
    "linopy-highs-critmin-options": lambda task, inputs, meter: linopy_peer(inputs, meter, critmin_options=True),
    "critmin-highs-hierarchy": lambda task, inputs, meter: critmin_hierarchy(inputs, meter, "highs"),
    "critmin-pulp-hierarchy": lambda task, inputs, meter: critmin_hierarchy(inputs, meter, "pulp"),
    "raw-highs-hierarchy": lambda task, inputs, meter: raw_hierarchy(task, meter),
}
NEEDS_INPUTS = {t for t in TOOLS if not t.startswith("raw-")}


def run_task(task: dict) -> dict:
    """Run one task (in this process) and return its result."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    kind = task["kind"]
    if kind.startswith("market-"):
        from benchmarks.market import run_market_task

        return run_market_task(task)
    if kind == "prep":
        return prep(task, load_inputs(task["inputs"]))
    if kind == "warm":
        from benchmarks.warm import warm_resolves

        return warm_resolves(task)
    tool = TOOLS[kind]
    inputs = load_inputs(task["inputs"]) if kind in NEEDS_INPUTS else None
    if task.get("warmup") and kind in NEEDS_INPUTS:  # first calls (lazy imports, caches), not timed
        tool(task, load_inputs(task["warmup"]), Meter())
    with Meter() as meter:
        info = tool(task, inputs, meter)
    return {**meter.result(), **info}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    task = json.loads(Path(argv[0]).read_text())
    result = run_task(task)
    Path(task["result"]).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
