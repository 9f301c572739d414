"""Solver trust over the shipped scenarios and seeded random variants: HiGHS against CBC, stage by stage.

    python -m benchmarks.solver_trust [--variants 100] [--seed 0] [--no-shipped]

For each model it solves the hierarchy with HiGHS and with CBC (through PuLP) and prints the distribution of the
relative differences between their stage objectives, the points the backends rejected (a point that broke a bound
or row, solved again) and the stages retried with wider slack. The tests use the same variants
(``tests/test_solver_trust.py``).

A variant takes one shipped scenario and, from ``numpy.random.default_rng([seed, i])``: two to five of its minerals
and a horizon of two to five years; demand scaled 0.6-1.5 per mineral; the exportable share of one to three
supplier countries set to 0.2-1; a budget premium of 0-10% (or least cost, one time in five); and one to three
policies from the policy table: an export ban or quota, a tariff, a country cap or a dependence cap, on random
countries, minerals and levels.
"""

from __future__ import annotations

import argparse
import copy
import functools
import time

import numpy as np

from engine.inputs.scenario import LoadedScenario, load_scenario, scenario_from_dict

SHIPPED = ("baseline", "crma_caps", "feoc_strict", "ga_ge_ban", "ira_content", "jv_quid_pro_quo")


@functools.cache
def _shipped(name: str) -> LoadedScenario:
    return load_scenario(name)


def variant(seed: int, index: int) -> LoadedScenario:
    """Random variant ``index`` of stream ``seed`` (small: a few minerals and years, so it solves in milliseconds)."""
    rng = np.random.default_rng([seed, index])
    base = _shipped(SHIPPED[int(rng.integers(len(SHIPPED)))])
    data = copy.deepcopy(base.scenario.model_dump(exclude_none=True))
    ds = base.dataset
    minerals = list(data["minerals"])
    chosen = sorted(rng.choice(minerals, size=int(rng.integers(2, len(minerals) + 1)), replace=False).tolist(),
                    key=minerals.index)
    start = int(data["horizon"]["start"])
    data["name"] = f"{base.name}-variant-{seed}-{index}"
    data["minerals"] = chosen
    data["horizon"] = {"start": start, "end": start + int(rng.integers(1, 5))}
    data["stockpile"] = {m: v for m, v in data.get("stockpile", {}).items() if m in chosen}
    data["shocks"] = []
    data.pop("uncertainty", None)
    data["data"]["demand_scale"] = {m: round(float(rng.uniform(0.6, 1.5)), 3) for m in chosen}
    locations = sorted(ds.capacity.loc[ds.capacity["mineral"].isin(chosen), "location"].unique())
    picked = rng.choice(locations, size=min(len(locations), int(rng.integers(1, 4))), replace=False)
    data["data"]["exportable_share"] = {str(c): round(float(rng.uniform(0.2, 1.0)), 3) for c in sorted(picked)}
    if rng.random() < 0.2:
        data["objective"] = {**data["objective"], "minimise": "cost"}
    else:
        data["objective"] = {**data["objective"], "minimise": "dependence",
                             "budget": f"+{rng.uniform(0.0, 10.0):.2f}%"}
    policies = [p for p in data.get("policies", []) if not p.get("minerals") or set(p["minerals"]) & set(chosen)]
    for p in policies:
        if p.get("minerals"):
            p["minerals"] = [m for m in p["minerals"] if m in chosen]
    for k in range(int(rng.integers(1, 4))):
        policies.append(_random_policy(rng, k, chosen, locations))
    data["policies"] = policies
    data.pop("remove_policies", None)
    data.pop("extends", None)
    return scenario_from_dict(data, ds, name=data["name"])


def _random_policy(rng: np.random.Generator, k: int, minerals: list[str], locations: list[str]) -> dict:
    mineral = [str(rng.choice(minerals))]
    country = str(rng.choice(locations))
    kind = ("export_ban", "tariff", "country_cap", "dependence_cap")[int(rng.integers(4))]
    name = f"random_{kind}_{k}"
    if kind == "export_ban":
        return {"name": name, "type": kind, "exporter": country, "minerals": mineral,
                "allowed_share": round(float(rng.choice([0.0, rng.uniform(0.1, 0.8)])), 3)}
    if kind == "tariff":
        return {"name": name, "type": kind, "origin": [country], "minerals": mineral,
                "ad_valorem": round(float(rng.uniform(0.05, 0.6)), 3)}
    if kind == "country_cap":
        return {"name": name, "type": kind, "minerals": mineral, "max_share": round(float(rng.uniform(0.3, 0.9)), 3)}
    return {"name": name, "type": kind, "minerals": mineral, "max_share": round(float(rng.uniform(0.2, 0.9)), 3)}


def stage_differences(a: list, b: list) -> list[float]:
    """Relative differences |a - b| / max(1, |a|) of two runs' stage objectives, stage by stage."""
    return [abs(x.objective - y.objective) / max(1.0, abs(x.objective))
            for x, y in zip(a, b, strict=False) if x.objective is not None and y.objective is not None]


def compare(loaded: LoadedScenario) -> dict:
    """Solve with HiGHS and CBC; the stage differences, rejected points and retries of each."""
    from engine.run import run_scenario

    runs = {name: run_scenario(loaded, solver=name) for name in ("highs", "cbc")}
    highs, cbc = runs["highs"].plan, runs["cbc"].plan
    return {"name": loaded.name, "status": (str(highs.status), str(cbc.status)),
            "differences": stage_differences(highs.stages, cbc.stages),
            "rejected": getattr(highs, "rejected_points", 0) + getattr(cbc, "rejected_points", 0),
            "retries": sum(" retried " in n for n in [*highs.notes, *cbc.notes]),
            "duals": (getattr(highs, "duals_checked", None), getattr(cbc, "duals_checked", None)),
            "notes": [*highs.notes, *cbc.notes]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-shipped", action="store_true")
    args = parser.parse_args()
    models = [] if args.no_shipped else [load_scenario(n) for n in SHIPPED]
    models += [variant(args.seed, i) for i in range(args.variants)]
    t0 = time.perf_counter()
    records = [compare(m) for m in models]
    diffs = np.array([d for r in records for d in r["differences"]])
    print(f"{len(records)} models ({0 if args.no_shipped else len(SHIPPED)} shipped, {args.variants} variants, "
          f"seed {args.seed}) in {time.perf_counter() - t0:.0f} s")
    statuses: dict[tuple, int] = {}
    for r in records:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    print("status (HiGHS, CBC):", ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    print(f"stage objectives compared: {diffs.size}")
    for q in (0.5, 0.9, 0.99, 1.0):
        print(f"  relative HiGHS-CBC difference, quantile {q:g}: {np.quantile(diffs, q):.2e}" if diffs.size else "")
    for limit in (1e-12, 1e-9, 1e-6):
        print(f"  stages differing by more than {limit:g}: {int((diffs > limit).sum())}")
    print(f"points rejected: {sum(r['rejected'] for r in records)}; "
          f"stage retries: {sum(r['retries'] for r in records)}")
    print(f"duals withheld: {sum(d is False for r in records for d in r['duals'])}")
    for r in records:
        if r["notes"] or (r["differences"] and max(r["differences"]) > 1e-6):
            print(f"  {r['name']}: max difference {max(r['differences'] or [0]):.2e}; {'; '.join(r['notes'])}")


if __name__ == "__main__":
    main()
