"""Warm re-solves against cold rebuilds, on the default model (the shipped baseline data).

The model is the baseline scenario plus a ``dependence_cap`` (China-attributed share at most 40% from 2028), so
there is a cap row to move. Two variants: the data as shipped (11 JV options with a minimum efficient size, so a
MIP with 11 binaries, and the baseline's Ga/Ge stockpile option) and the same data as an LP (minimum sizes blank,
no stockpile), which the naive PuLP peer can write too.

- **single stage** (``config.single_stage_objective``): load once, then change one source's capacity (the upper
  bound of its flow columns, every year) or the cap (the upper bound of its rows) and re-solve, ``n`` times,
  cycling through four values so that every re-solve moves the optimum; against a cold rebuild: build_model, a
  new backend, load, solve. On the MIP variant these re-solves never branch: each stage's LP relaxation already
  meets every minimum efficient size (``PlanSession.solve_stage``), so they are warm LP re-solves, a few simplex
  iterations each, among three distinct optima.
- **branching** (MIP variant): the cap moves far (40% to 5%) so that the relaxation builds less than a minimum
  size; the stage settles it by branching on warm LP re-solves, against the MIP path it replaced (HiGHS's MIP)
  and a cold build + solve on that path at the same caps, alternated, in CPU seconds; every warm answer checked
  against the cold MIP's (objective within the MIP gap, same binaries); the count of re-solves that branched is
  reported with the time.
- **hierarchy** (``PlanSession``): re-run the full hierarchy warm after a capacity change, against a cold
  build + load + hierarchy.
- **PuLP backend (CBC)**: the same bound change and re-solve; PuLP writes the model and CBC starts cold each time.
- **naive PuLP peer** (``peers.py``) on the LP variant: a cold rebuild and solve with HiGHS and with CBC.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

SOURCE = "CHL-LI-SQM"  # SQM's Chilean lithium plants: a large non-Chinese block that the plan uses
CAPACITY_FACTORS = (0.5, 1.0, 0.25, 0.75)
CAP_SHARES = (0.4, 0.3, 0.5, 0.35)
BRANCH_SHARES = (0.4, 0.2, 0.3, 0.1, 0.25, 0.05)  # caps whose LP relaxations mostly break a minimum size
CAP = {"name": "bench_cap", "type": "dependence_cap", "max_share": CAP_SHARES[0], "years": "2028+"}


def default_inputs(as_lp: bool):
    """(loaded scenario, scenario mapping, dataset) of the default model with the bench cap added."""
    from benchmarks.generator import scaled_dataset
    from engine.inputs.scenario import load_scenario, scenario_from_dict

    base = load_scenario("baseline")
    dataset = scaled_dataset(base.dataset) if as_lp else base.dataset  # facilities=1, jv_copies=1: min sizes blank
    mapping = base.scenario.model_dump(mode="json")
    mapping["policies"] = [*mapping["policies"], CAP]
    mapping.pop("name", None)
    if as_lp and mapping.get("stockpile"):
        mapping["stockpile"] = {}  # the LP variant is the one the peers can write too
    return scenario_from_dict(mapping, dataset, name="bench_default"), mapping, dataset


def _stats(times: list[float]) -> dict:
    median = statistics.median(times)
    return {"n": len(times), "median_s": median, "min_s": min(times), "per_second": 1.0 / median if median else None}


def _solve_fresh(loaded, backend_name: str, branching: bool = True):
    from benchmarks.config import single_stage_objective
    from engine.formulation import build_model
    from engine.plan.hierarchy import PlanSession
    from engine.solvers import make_backend

    model = build_model(loaded)
    backend = make_backend(backend_name)
    session = PlanSession(model, backend)  # its stage solve tries the LP relaxation first when there are binaries
    session.branching = session.branching and branching
    backend.set_objective(single_stage_objective(model.lp))
    return model, session, session.solve_stage()


def _handles(model):
    """Columns of the source's flows with their bounds; rows of the cap with their demand."""
    flow_cols = model.block_cols("flow")[(model.supply["source_id"] == SOURCE).to_numpy()]
    upper = model.lp.col_upper[flow_cols]
    block = model.lp.constraints[f"dependence_cap:{CAP['name']}"]
    demand = block.upper / CAP["max_share"]
    return flow_cols, upper, block.index, demand


def _single_stage(loaded, backend_name: str, n_warm: int, n_cold: int) -> dict:
    # cold: rebuild and solve from scratch
    cold = []
    for _ in range(n_cold):
        t = time.perf_counter()
        _, _, sol = _solve_fresh(loaded, backend_name)
        cold.append(time.perf_counter() - t)
        assert sol.ok, sol.status
    model, session, sol = _solve_fresh(loaded, backend_name)
    backend = session.backend
    flow_cols, upper, cap_rows, demand = _handles(model)
    out = {"cold_rebuild_solve": _stats(cold), "first_objective": sol.objective}
    for what in ("capacity", "cap"):
        times, objectives, iterations = [], [], []
        for i in range(n_warm):
            t = time.perf_counter()
            if what == "capacity":
                f = CAPACITY_FACTORS[(i + 1) % len(CAPACITY_FACTORS)]
                backend.set_col_bounds(flow_cols, np.zeros(len(flow_cols)), upper * f)
            else:
                share = CAP_SHARES[(i + 1) % len(CAP_SHARES)]
                backend.set_row_bounds(cap_rows, np.full(len(cap_rows), -np.inf), demand * share)
            s = session.solve_stage()
            times.append(time.perf_counter() - t)
            assert s.ok, s.status
            objectives.append(s.objective)
            iterations.append(s.iterations)
        # put it back, for the next loop
        backend.set_col_bounds(flow_cols, np.zeros(len(flow_cols)), upper)
        backend.set_row_bounds(cap_rows, np.full(len(cap_rows), -np.inf), demand * CAP["max_share"])
        out[f"warm_{what}"] = {**_stats(times), "distinct_objectives": len({round(o, 6) for o in objectives}),
                               "median_iterations": statistics.median([i or 0 for i in iterations])}
    # the warm answer equals a cold solve of the same change (capacity at the last factor used)
    last = CAPACITY_FACTORS[n_warm % len(CAPACITY_FACTORS)]
    backend.set_col_bounds(flow_cols, np.zeros(len(flow_cols)), upper * last)
    warm = session.solve_stage().objective
    _, session2, _ = _solve_fresh(loaded, backend_name)
    session2.backend.set_col_bounds(flow_cols, np.zeros(len(flow_cols)), upper * last)
    fresh = session2.solve_stage().objective
    out["warm_equals_cold"] = bool(abs(warm - fresh) <= 1e-6 * max(1.0, abs(fresh)))
    return out


def _branching(loaded, n_warm: int, n_cold: int) -> dict:
    """Warm re-solves where the binaries branch and the optimum moves far: the cap cycles through ``BRANCH_SHARES``
    (40% to 5%), whose LP relaxations mostly build less than a minimum efficient size. Three ways, alternated per
    cap, in CPU seconds (``time.process_time``, so other work on a shared machine does not count): the stage as
    critmin solves it (relaxation, then branching on warm LP re-solves, ``engine/plan/branching.py``); the MIP path it
    replaced (relaxation, then HiGHS's MIP, ``PlanSession.branching = False``) on its own loaded session; and a
    cold build + load + solve on the MIP path, the reference. Every warm answer is checked against that cold MIP
    solve: the same objective within the MIP gap and the same binaries."""
    from engine.solvers.base import MIP_REL_GAP

    clock = time.process_time
    model, session, _ = _solve_fresh(loaded, "highs")
    _, mip_session, _ = _solve_fresh(loaded, "highs")
    mip_session.branching = False
    _, _, cap_rows, demand = _handles(model)
    integer = model.lp.integer_cols
    tree, mip, cold, objectives, agrees = [], [], [], [], True
    before, mip_before = dict(session.tree_stats), dict(mip_session.tree_stats)
    for i in range(n_warm):
        share = BRANCH_SHARES[(i + 1) % len(BRANCH_SHARES)]
        upper = demand * share
        t = clock()
        session.backend.set_row_bounds(cap_rows, np.full(len(cap_rows), -np.inf), upper)
        s = session.solve_stage()
        tree.append(clock() - t)
        t = clock()
        mip_session.backend.set_row_bounds(cap_rows, np.full(len(cap_rows), -np.inf), upper)
        m = mip_session.solve_stage()
        mip.append(clock() - t)
        assert s.ok and m.ok, (s.status, m.status)
        objectives.append(round(s.objective, 6))
        if i < n_cold:
            t = clock()
            fresh_model, fresh, _ = _solve_fresh(loaded, "highs", branching=False)
            rows = _handles(fresh_model)[2]
            fresh.backend.set_row_bounds(rows, np.full(len(rows), -np.inf), upper)
            c = fresh.solve_stage()
            cold.append(clock() - t)
            assert c.ok, c.status
            for warm in (s, m):
                agrees &= bool(abs(warm.objective - c.objective) <= MIP_REL_GAP * max(1.0, abs(c.objective))
                               and np.array_equal(warm.x[integer], c.x[integer]))
    stats = {k: v - before[k] for k, v in session.tree_stats.items()}
    mip_solves = mip_session.tree_stats["mip_solves"] - mip_before["mip_solves"]
    return {"clock": "process_time", "cold_rebuild_solve": _stats(cold), "agrees_with_cold_mip": agrees,
            "warm_cap_far": {**_stats(tree), "branched": stats["trees"], "node_solves": stats["node_solves"],
                             "fallbacks": stats["fallbacks"], "distinct_objectives": len(set(objectives))},
            "warm_cap_far_mip": {**_stats(mip), "branched": mip_solves}}


def _hierarchy(loaded, n_warm: int, n_cold: int) -> dict:
    from engine.formulation import build_model
    from engine.plan.hierarchy import PlanSession
    from engine.solvers import make_backend

    cold = []
    for _ in range(n_cold):
        t = time.perf_counter()
        plan = PlanSession(build_model(loaded), make_backend("highs")).solve()
        cold.append(time.perf_counter() - t)
        assert plan.ok, plan.message
    model = build_model(loaded)
    backend = make_backend("highs")
    session = PlanSession(model, backend)
    session.solve()
    flow_cols, upper, _, _ = _handles(model)
    times, stages = [], []
    for i in range(n_warm):
        t = time.perf_counter()
        f = CAPACITY_FACTORS[(i + 1) % len(CAPACITY_FACTORS)]
        backend.set_col_bounds(flow_cols, np.zeros(len(flow_cols)), upper * f)
        plan = session.solve()
        times.append(time.perf_counter() - t)
        assert plan.ok, plan.message
        stages.append(len(plan.stages))
    return {"cold_rebuild_solve": _stats(cold), "warm_capacity": {**_stats(times), "stages": max(stages)}}


def _naive(mapping: dict, dataset, solver: str, n_cold: int) -> dict:
    import pulp

    from benchmarks.config import SHORTFALL_WEIGHT
    from benchmarks.peers import naive_pulp, peer_data
    from engine.formulation import ScenarioSet
    from engine.solvers.pulp_backend import cbc_path

    times, objective = [], None
    for _ in range(n_cold):
        t = time.perf_counter()
        model = naive_pulp(peer_data(dataset, ScenarioSet(), _peer_mapping(mapping), SHORTFALL_WEIGHT))
        model.prob.solve(pulp.HiGHS(msg=False) if solver == "highs" else pulp.COIN_CMD(msg=False, path=cbc_path()))
        times.append(time.perf_counter() - t)
        objective = pulp.value(model.prob.objective)
    return {"cold_rebuild_solve": _stats(times), "objective": objective}


def _peer_mapping(mapping: dict) -> dict:
    """The scenario mapping in the peers' vocabulary (years as text)."""
    out = dict(mapping)
    policies = []
    for p in mapping["policies"]:
        p = dict(p)
        years = p.get("years")
        if isinstance(years, dict):
            first, last, listed = years.get("first"), years.get("last"), years.get("listed")
            p["years"] = (list(listed) if listed else None if first is None and last is None
                          else f"{first}+" if last is None else f"{first}-{last}")
        policies.append(p)
    out["policies"] = policies
    return out


def warm_resolves(task: dict) -> dict:
    """Everything above, for both variants; ``task`` carries n_warm, n_cold, n_pulp and skip_pulp."""
    n_warm, n_cold, n_pulp = task.get("n_warm", 50), task.get("n_cold", 10), task.get("n_pulp", 5)
    out = {}
    for variant, as_lp in (("default_mip", False), ("default_lp", True)):
        loaded, mapping, dataset = default_inputs(as_lp)
        model, _, _ = _solve_fresh(loaded, "highs")
        lp = model.lp
        entry = {"columns": lp.n_cols, "rows": lp.n_rows, "nnz": lp.nnz, "integer_columns": len(lp.integer_cols),
                 "highs": _single_stage(loaded, "highs", n_warm, n_cold),
                 "highs_hierarchy": _hierarchy(loaded, max(5, n_warm // 5), max(3, n_cold // 2))}
        if lp.integer_cols.size:
            entry["highs_branching"] = _branching(loaded, max(12, n_warm // 2), max(3, n_cold // 2))
        if not task.get("skip_pulp"):
            entry["pulp_cbc"] = _single_stage(loaded, "pulp", n_pulp, n_pulp)
        if as_lp:
            entry["naive_pulp_highs"] = naive = _naive(mapping, dataset, "highs", n_cold)
            critmin = entry["highs"]["first_objective"]
            naive["agrees"] = bool(abs(naive["objective"] - critmin) <= 1e-7 * max(1.0, abs(critmin)))
            if not task.get("skip_pulp"):
                entry["naive_pulp_cbc"] = _naive(mapping, dataset, "cbc", n_pulp)
        out[variant] = entry
    return out
