"""Monte Carlo sweeps over uncertain parameters and shocks, checkpointed, on local processes or a Dask cluster.

Each sample is a one-scenario draw (``sampling.sample_factors``: the set ``sampling.scenario_set`` gives, as
arrays) solved through the scenario's hierarchy. A runner builds the scenario's model once; each sample's model is
changed from it (``formulation/variants.py``: the same LP as a fresh build of the sample, bit for bit) and its row
read from vectors kept per runner (``metrics.py``). Every
sample's LP is handed to a fresh solver object and solved cold: its result is that of a cold solve of its LP,
whichever worker runs it and whatever that worker solved before (a warm solver object keeps state that a cleared
basis does not reset, and that state moved the last digits of the plan; starting every sample from the undisrupted
plan's bases moved them too, by up to 1e-9 of a value). The hierarchy's tie rule (``engine/plan/ties.py``) picks
one plan among equally good ones. Finished samples are appended to ``samples.jsonl`` and fsync'ed as they
arrive; ``resume`` skips them. A torn last line (a process killed while writing) is ignored and its sample redone.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.analysis.metrics import PlanMetrics
from engine.analysis.sampling import _universe, sample_factors
from engine.errors import CritminError, InputError
from engine.formulation.variants import SampleModels
from engine.inputs.scenario import LoadedScenario
from engine.outputs.results import cost_with_unmet_pv, share_terms, total_cost_pv, unmet_value_pv
from engine.outputs.summary import provenance
from engine.plan.branching import MinimumSizes
from engine.plan.hierarchy import PlanSession
from engine.plan.noise import Slivers
from engine.plan.ties import tie_weights
from engine.solvers import SolverOptions, make_backend
from engine.solvers.base import beyond_noise

PERCENTILES = (5, 50, 95)
CHECKS = ("points_rejected", "stage_retries")  # a sample's PlanSession.checks: counted, not summarised
CHECKPOINT = "samples.jsonl"
MANIFEST = "sweep.json"


class SampleRunner:
    """Solves samples of one scenario, each on a solver object loaded afresh with the sample's LP."""

    def __init__(self, loaded: LoadedScenario, seed: int, solver: str | None = None) -> None:
        self.loaded, self.seed, self.solver = loaded, seed, solver
        self.universe = _universe(loaded)  # what the draws act on, the same for every sample
        self.models = SampleModels(loaded)  # the model built once; each sample's numbers changed from it
        self.ties = tie_weights(self.models.base.lp)  # the column keys are the same for every sample
        self.sizes = MinimumSizes(self.models.base)  # so are the JV options: used where a sample shares them
        self.slivers = Slivers(self.models.base)  # the decision columns: the same for every sample
        self.metrics = PlanMetrics(self.models.base)  # where each number's terms sit: the same for every sample

    def run(self, index: int) -> dict:
        start = time.perf_counter()
        sample, record = sample_factors(self.loaded, index, self.seed, universe=self.universe)
        changed = self.models.supports(sample) is None
        model = self.models.model(sample)
        if changed:
            share_terms(model, self.models.base)
        session = PlanSession(model, make_backend(self.solver, SolverOptions()), ties=self.ties, sizes=self.sizes,
                              slivers=self.slivers)
        plan = session.solve()
        row: dict = {**record, "status": plan.status.value, **session.checks}
        if plan.ok:
            x = plan.x
            cost = total_cost_pv(model, x)
            unmet = unmet_value_pv(model, x)
            least = cost_with_unmet_pv(model, plan.least_cost.x)  # the premium is on cost including unmet demand
            row.update({
                "cost_pv_usd": cost,
                "cost_with_unmet_pv_usd": cost + unmet,
                "premium_usd": beyond_noise(cost + unmet - least, least, model.scenario.objective.tolerance),
                "shortfall_value_pv_usd": unmet,
                **self.metrics.row(model, x),
            })
        row["seconds"] = time.perf_counter() - start
        return _rounded(row)


def sample_runner(loaded: LoadedScenario, seed: int, solver: str | None = None):
    """The runner of a scenario's samples: ``SampleRunner``, or in market mode
    ``engine.analysis.market_sweep.MarketSampleRunner`` (the same executors, checkpoint and resume)."""
    if loaded.scenario.market != "none":
        from engine.analysis.market_sweep import MarketSampleRunner

        return MarketSampleRunner(loaded, seed, solver)
    return SampleRunner(loaded, seed, solver)


def _rounded(row: dict) -> dict:
    """Floats to 10 significant digits: the same sample gives the same text on every executor."""
    return {k: (float(f"{v:.10g}") if isinstance(v, float) and np.isfinite(v) else v) for k, v in row.items()
            if k != "seconds"} | {"seconds": row.get("seconds")}


# ----------------------------------------------------------------------------------------------- workers
_WORKER: Any = None  # SampleRunner or MarketSampleRunner
_WORKERS: dict[str, Any] = {}


def _init_worker(loaded: LoadedScenario, seed: int, solver: str | None) -> None:
    global _WORKER
    _WORKER = sample_runner(loaded, seed, solver)


def _kill_hook(index: int) -> None:
    """Tests: CRITMIN_TEST_KILL_AT=index:marker kills the worker once, the first time it reaches ``index``."""
    spec = os.environ.get("CRITMIN_TEST_KILL_AT")
    if not spec:
        return
    at, marker = spec.split(":", 1)
    if int(at) == index and not os.path.exists(marker):
        Path(marker).write_text("killed")
        os._exit(9)


def _run_in_worker(index: int) -> dict:
    _kill_hook(index)
    assert _WORKER is not None
    return _WORKER.run(index)


def _run_on_dask_worker(index: int, loaded: LoadedScenario, seed: int, solver: str | None) -> dict:
    key = f"{loaded.digest}:{seed}:{solver}:{threading.get_ident()}"  # one runner per worker thread
    if key not in _WORKERS:
        _WORKERS[key] = sample_runner(loaded, seed, solver)
    return _WORKERS[key].run(index)


# ----------------------------------------------------------------------------------------------- executors
def _serial(loaded: LoadedScenario, seed: int, solver: str | None, todo: list[int]) -> Iterator[dict]:
    runner = sample_runner(loaded, seed, solver)
    for index in todo:
        _kill_hook(index)
        yield runner.run(index)


def _processes(loaded: LoadedScenario, seed: int, solver: str | None, todo: list[int], workers: int,
               retries: int = 3) -> Iterator[dict]:
    """Local processes; a pool broken by a killed worker is restarted and unfinished samples resubmitted."""
    pending = list(todo)
    for _attempt in range(retries + 1):
        if not pending:
            return
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                                   initargs=(loaded, seed, solver))
        futures = {pool.submit(_run_in_worker, i): i for i in pending}
        try:
            running = set(futures)
            while running:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        row = future.result()
                    except BrokenProcessPool:
                        continue
                    pending.remove(futures[future])
                    yield row
        except BrokenProcessPool:
            pass
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    if pending:
        raise CritminError(f"{len(pending)} samples failed after {retries} restarts of the worker pool")


def _dask(loaded: LoadedScenario, seed: int, solver: str | None, todo: list[int], scheduler: str) -> Iterator[dict]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'critmin-engine[distributed]'") from None
    with Client(scheduler) as client:
        shared = client.scatter(loaded, broadcast=True)
        futures = client.map(_run_on_dask_worker, todo, loaded=shared, seed=seed, solver=solver, pure=False,
                             retries=3)
        for future in as_completed(futures):
            yield future.result()


# ----------------------------------------------------------------------------------------------- checkpoint
@dataclass
class SweepRun:
    loaded: LoadedScenario
    folder: Path
    samples: int
    seed: int
    rows: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def table(self) -> pd.DataFrame:
        """One row per sample in sample order; columns: sample, status, then the rest alphabetically."""
        table = pd.DataFrame(sorted(self.rows, key=lambda r: r["sample"]))
        rest = sorted(c for c in table.columns if c not in ("sample", "status"))
        return table[["sample", "status", *rest]]


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line that a killed process left without its newline, so appends start on a fresh line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def read_checkpoint(folder: Path) -> list[dict]:
    """Finished samples; a torn last line is dropped (its sample will be redone)."""
    path = folder / CHECKPOINT
    if not path.exists():
        return []
    _drop_torn_tail(path)
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        rows[row["sample"]] = row
    return list(rows.values())


def _manifest(loaded: LoadedScenario, samples: int, seed: int) -> dict:
    return {"scenario": loaded.name, "inputs_hash": loaded.digest, "samples": samples, "seed": seed}


def prepare_folder(folder: Path, loaded: LoadedScenario, samples: int, seed: int, resume: bool,
                   force: bool) -> list[dict]:
    """Create the sweep folder (or check it for --resume) and return the samples already done."""
    from engine.outputs.files import mark

    check_folder(folder, loaded, samples, seed, resume, force)
    if resume:
        return read_checkpoint(folder)
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    mark(folder)
    (folder / MANIFEST).write_text(json.dumps(_manifest(loaded, samples, seed), indent=2) + "\n")
    return []


def check_folder(folder: Path, loaded: LoadedScenario, samples: int, seed: int, resume: bool,
                 force: bool) -> None:
    """Every check on the sweep folder, before anything is written: not a file, not over an input, not a folder
    critmin did not write, not an existing folder without --resume or --force, --resume only of the same sweep.
    Each refusal speaks of the flag given (--resume, --force or none)."""
    from engine.outputs.files import check_writable, refusal, written_by_critmin

    flag = "--resume" if resume else "--force"
    if resume and not folder.exists():
        raise InputError(f"{folder}: nothing to resume (no such folder); --resume finishes a sweep folder written by "
                         f"an interrupted 'critmin sweep' with the same --out")
    if not (resume or force) and (folder / MANIFEST).is_file() and written_by_critmin(folder):
        raise InputError(f"{folder}: sweep folder exists already; pass --resume to finish it, --force to start "
                         f"again, or choose another --out")
    check_writable(folder, resume or force, loaded.input_paths, flag=flag)
    if folder.exists() and resume:
        path = folder / MANIFEST
        if not path.is_file():
            raise InputError(refusal(folder, flag, reason="it holds no manifest.json"))
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        manifest = _manifest(loaded, samples, seed)
        if old != manifest:
            raise InputError(f"{folder}: cannot resume: it holds a different sweep ({old}); expected {manifest}")


def _has_samples(folder: Path) -> bool:
    path = folder / CHECKPOINT
    return path.exists() and path.stat().st_size > 0


def check_runner(solver: str | None, scheduler: str | None) -> None:
    """The solver and the scheduler, checked before the sweep folder is made."""
    from engine.solvers import make_backend

    make_backend(solver)
    if scheduler:
        try:
            import dask.distributed  # noqa: F401
        except ImportError:
            raise InputError("--scheduler needs Dask: pip install 'critmin-engine[distributed]'") from None
        if "://" not in scheduler and ":" not in scheduler:
            raise InputError(f"--scheduler {scheduler}: expected an address such as tcp://HOST:8786")


def _append(handle, row: dict) -> None:
    handle.write(json.dumps(row, sort_keys=True) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def run_sweep(loaded: LoadedScenario, folder: Path, *, samples: int, seed: int, workers: int = 1,
              scheduler: str | None = None, solver: str | None = None, resume: bool = False, force: bool = False,
              progress: Callable[[int, int], None] | None = None, stop_after: int | None = None) -> SweepRun:
    """Run (or finish) a sweep into ``folder``; ``stop_after`` simulates an interruption (tests)."""
    check_runner(solver, scheduler)
    fresh = not folder.exists()
    done = prepare_folder(folder, loaded, samples, seed, resume, force)
    try:
        return _sample(loaded, folder, samples, seed, workers, scheduler, solver, done, progress, stop_after)
    except BaseException:
        if fresh and not _has_samples(folder):  # failed before the first sample: leave nothing behind
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        raise


def _sample(loaded: LoadedScenario, folder: Path, samples: int, seed: int, workers: int, scheduler: str | None,
            solver: str | None, done: list[dict], progress: Callable[[int, int], None] | None,
            stop_after: int | None) -> SweepRun:
    run = SweepRun(loaded, folder, samples, seed, rows=[r for r in done if r["sample"] < samples])
    have = {r["sample"] for r in run.rows}
    todo = [i for i in range(samples) if i not in have]
    if progress:
        progress(len(have), samples)
    started = time.perf_counter()
    source: Iterable[dict]
    if scheduler:
        source = _dask(loaded, seed, solver, todo, scheduler)
    elif workers > 1:
        source = _processes(loaded, seed, solver, todo, workers)
    else:
        source = _serial(loaded, seed, solver, todo)
    try:
        with open(folder / CHECKPOINT, "a", encoding="utf-8") as handle:
            for row in source:
                _append(handle, row)
                run.rows.append(row)
                if progress:
                    progress(len(run.rows), samples)
                if stop_after is not None and len(run.rows) - len(have) >= stop_after:
                    raise KeyboardInterrupt
    except KeyboardInterrupt:
        run.interrupted = True
        close = getattr(source, "close", None)
        if close is not None:
            close()
    run.seconds = time.perf_counter() - started
    if not run.interrupted:
        write_outputs(run)
    return run


def percentiles(table: pd.DataFrame) -> pd.DataFrame:
    """P5/P50/P95 (and mean) of every numeric result column over the optimal samples."""
    ok = table[table["status"] == "optimal"]
    skip = {"sample", "seconds", *CHECKS}
    columns = [c for c in ok.columns if c not in skip and pd.api.types.is_numeric_dtype(ok[c])]
    rows = []
    for column in columns:
        values = ok[column].to_numpy(dtype=float)
        rows.append({"metric": column, "mean": float(np.mean(values)),
                     **{f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}})
    return pd.DataFrame(rows)


def budget_rule(loaded: LoadedScenario) -> str:
    """How a sweep's samples are budgeted, in one sentence: each plans with the scenario's own rule on the sample's
    own least cost (a sample re-optimises everything, so its budget moves with its draws)."""
    if loaded.scenario.market != "none":
        from engine.analysis.market_sweep import goal_rule

        return goal_rule(loaded)
    objective = loaded.scenario.objective
    if objective.minimise == "cost":
        return "every sample is planned at least cost (the scenario minimises cost)"
    return (f"each sample has its own budget: the scenario's rule ({objective.budget}) applied to that sample's own "
            f"least cost, so a sample that raises least cost raises its budget too")


def write_outputs(run: SweepRun) -> None:
    """samples.csv, percentiles.csv and summary.json, each written to a temporary file and renamed."""
    from engine.outputs.files import stamped, write_csv

    table = run.table.drop(columns=["seconds"], errors="ignore")
    stats = percentiles(run.table)
    for name, frame in (("samples.csv", table), ("percentiles.csv", stats)):
        tmp = run.folder / f".{name}.tmp"
        write_csv(frame, tmp)
        os.replace(tmp, run.folder / name)
    market = {"market": run.loaded.scenario.market} if run.loaded.scenario.market != "none" else {}
    summary = {"scenario": run.loaded.name, **provenance(run.loaded), **market,
               "samples": run.samples, "seed": run.seed, "budget": budget_rule(run.loaded),
               "optimal": int((run.table["status"] == "optimal").sum()),
               "solver_checks": {name: int(run.table[name].fillna(0).sum()) if name in run.table else 0
                                 for name in CHECKS},
               "percentiles": stats.set_index("metric").to_dict(orient="index")}
    tmp = run.folder / ".summary.json.tmp"
    tmp.write_text(json.dumps(stamped(summary), indent=2, default=float) + "\n")
    os.replace(tmp, run.folder / "summary.json")
