"""Fuzzing the scenario loader: random mutations of valid scenarios, generated from the schema with a fixed seed.

Each mutation (a wrong type, an unknown or misplaced key, an out-of-range or non-finite number, a deleted key, a
YAML tag, an alias or a merge key) must either load or fail with an ``InputError`` (exit 2): never another
exception (exit 1 or a traceback). The loader runs in-process on a cached dataset; a small subset also runs
through the command line, where exit 2 must leave nothing written.
"""

from __future__ import annotations

import functools
import math
import random
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel

import engine.inputs.scenario as scenario_module
from engine.cli import main
from engine.errors import InputError
from engine.inputs.scenario import load_scenario
from engine.inputs.schema import POLICY_TYPES, Scenario

SEED = 20261201
MUTATIONS = 1000
BASES = ["baseline", "ga_ge_ban", "crma_caps", "jv_quid_pro_quo"]

ODD_VALUES: list[Any] = [None, True, "", "lots", -1, 0, 1e308, -1e308, math.inf, -math.inf, math.nan, 10**30,
                         [], {}, [1, "x"], {"a": 1}, "2030-2025", "+15%", "all", 2.5, "CHN", "../escaped", "/abs"]
TAGGED = ["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!!str 3", "!!float nan",
          "!custom x", "!!binary aGVsbG8="]


def schema_keys(model: type[BaseModel] = Scenario) -> list[str]:
    """Every field name in the schema (valid keys to misplace), policies included."""
    names: set[str] = set()
    models: list[type[BaseModel]] = [model, *POLICY_TYPES.values()]
    seen: set[type[BaseModel]] = set()
    while models:
        m = models.pop()
        if m in seen:
            continue
        seen.add(m)
        for name, info in m.model_fields.items():
            names.add(name)
            stack = [info.annotation]
            while stack:
                a = stack.pop()
                if isinstance(a, type) and issubclass(a, BaseModel):
                    models.append(a)
                stack.extend(get_args(a) if get_origin(a) is not None else [])
    return sorted(names)


KEYS = schema_keys()


def resolved(name: str) -> dict:
    data = load_scenario(name).scenario.model_dump(mode="json", exclude_none=True)
    data["data"].pop("inputs", None)
    return data


def paths_of(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths_of(v, (*prefix, i))
    return out


def get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


def mutate(data: dict, rng: random.Random) -> tuple[dict, str | None]:
    """One random mutation; returns (data, a tag to splice into the YAML text or None)."""
    paths = [p for p in paths_of(data) if p]
    path = rng.choice(paths)
    parent, key = get(data, path[:-1]), path[-1]
    kind = rng.choice(["value", "value", "number", "delete", "unknown", "misplaced", "tag", "list", "nested"])
    if kind == "value":
        parent[key] = rng.choice(ODD_VALUES)
    elif kind == "number":
        parent[key] = rng.choice([-1e9, -0.5, 1.5, 101, 2e15, 1e308, math.inf, math.nan, 1899, 99999, -7])
    elif kind == "delete" and isinstance(parent, dict):
        del parent[key]
    elif kind == "unknown":
        target = parent if isinstance(parent, dict) else data
        target[rng.choice(KEYS) + rng.choice(["", "x", "_"])] = rng.choice(ODD_VALUES)
    elif kind == "misplaced":
        target = parent if isinstance(parent, dict) else data
        target[rng.choice(KEYS)] = rng.choice(ODD_VALUES)
    elif kind == "list" and isinstance(parent, dict):
        parent[key] = [] if rng.random() < 0.5 else [parent[key]]
    elif kind == "nested":
        parent[key] = {"deeper": {"still": [parent[key]]}}
    else:
        return data, rng.choice(TAGGED)
    return data, None


def to_text(data: dict, tag: str | None, rng: random.Random) -> str:
    text = yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
    if tag is None:
        return text
    lines = text.splitlines()
    candidates = [i for i, line in enumerate(lines) if ": " in line and not line.rstrip().endswith(":")]
    i = rng.choice(candidates)
    head, _, _ = lines[i].partition(": ")
    lines[i] = f"{head}: {tag}"
    if rng.random() < 0.3:
        lines.append("extra: &a {x: 1}\nmerged:\n  <<: *a")
    return "\n".join(lines) + "\n"


@pytest.fixture
def cached_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read each dataset folder once: the fuzz exercises the scenario loader, not the CSV reader."""
    monkeypatch.setattr(scenario_module, "load_dataset", functools.lru_cache(maxsize=4)(scenario_module.load_dataset))


def cases(tmp_path: Path) -> list[tuple[Path, str]]:
    rng = random.Random(SEED)
    bases = {name: resolved(name) for name in BASES}
    out = []
    for n in range(MUTATIONS):
        import copy

        data = copy.deepcopy(bases[rng.choice(BASES)])
        tag = None
        for _ in range(rng.choice([1, 1, 2, 3])):
            data, tag = mutate(data, rng) if tag is None else (data, tag)
        path = tmp_path / f"m{n:04d}.yaml"
        path.write_text(to_text(data, tag, rng), encoding="utf-8")
        out.append((path, tag or ""))
    return out


def test_a_thousand_mutations_load_or_fail_as_bad_input(tmp_path: Path, cached_dataset: None) -> None:
    outcomes = {"loaded": 0, "refused": 0}
    for path, _ in cases(tmp_path):
        try:
            load_scenario(path)
            outcomes["loaded"] += 1
        except InputError as exc:
            outcomes["refused"] += 1
            assert str(path) in str(exc) or "Scenario '" in str(exc), f"{path}: the error names no file: {exc}"
            assert "Traceback" not in str(exc)
        except Exception as exc:  # anything else is the bug this test hunts
            pytest.fail(f"{path}: {type(exc).__name__}: {exc}\n{path.read_text()}")
    assert outcomes["refused"] >= MUTATIONS // 2, outcomes  # the mutations do reach the checks
    assert outcomes["loaded"] >= 20, outcomes  # and some stay valid, so the valid path is fuzzed too
    assert sum(outcomes.values()) == MUTATIONS >= 1000


def test_command_line_on_a_subset_exits_0_2_or_3_and_writes_nothing_on_2(tmp_path: Path,
                                                                          cached_dataset: None) -> None:
    rng = random.Random(SEED + 1)
    chosen = rng.sample(cases(tmp_path), 24)
    solved = 0
    for path, _ in chosen:
        r = CliRunner().invoke(main, ["validate", str(path)])
        assert r.exit_code in (0, 2), f"{path}: exit {r.exit_code}\n{r.output}"
        assert "Traceback" not in r.output
        if r.exit_code == 0 and solved < 2:  # solve a few valid mutants end to end
            out = tmp_path / f"res-{path.stem}"
            s = CliRunner().invoke(main, ["solve", str(path), "--out", str(out)])
            assert s.exit_code in (0, 2, 3), f"{path}: exit {s.exit_code}\n{s.output}"
            solved += 1
            if s.exit_code == 2:
                assert not out.exists()
        if r.exit_code == 2:
            s = CliRunner().invoke(main, ["solve", str(path), "--out", str(tmp_path / "never")])
            assert s.exit_code == 2 and not (tmp_path / "never").exists()
    assert not list(tmp_path.glob(".*.tmp"))
