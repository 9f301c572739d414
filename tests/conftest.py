"""Shared fixtures: tiny hand-solvable datasets written to a temporary inputs folder."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from engine.inputs.dataset import Dataset, load_dataset
from engine.inputs.scenario import scenario_from_dict
from engine.inputs.tables import TABLES_BY_NAME
from engine.run import RunResult, run_scenario

PROVENANCE = {"source": "test", "estimate": "false"}

TINY_MINERALS = [
    {"mineral": "ga", "name": "Gallium", "unit": "t", "reference_price_usd_per_t": 100, "price_year": 2024},
    {"mineral": "ge", "name": "Germanium", "unit": "t", "reference_price_usd_per_t": 1000, "price_year": 2024},
]
TINY_COUNTRIES = [
    {"iso3": "CHN", "name": "China", "region": "East Asia", "us_fta": "false", "covered_nation": "true"},
    {"iso3": "USA", "name": "United States", "region": "North America", "us_fta": "false",
     "covered_nation": "false"},
    {"iso3": "JPN", "name": "Japan", "region": "East Asia", "us_fta": "true", "covered_nation": "false"},
    {"iso3": "DEU", "name": "Germany", "region": "Europe", "us_fta": "false", "covered_nation": "false"},
    {"iso3": "RUS", "name": "Russia", "region": "Eurasia", "us_fta": "false", "covered_nation": "true"},
    {"iso3": "ROW", "name": "Rest of world", "region": "World", "us_fta": "false", "covered_nation": "false"},
]
# Gallium: China 50 t available at 100 USD/t; Germany 20 t at 150; Japan 10 t at 200. Demand 40 t.
TINY_CAPACITY = [
    {"source_id": "CHN-GA", "mineral": "ga", "location": "CHN", "capacity_t": 100, "exportable_share": 0.5,
     "unit_cost_usd_per_t": 100, "first_year": 2020, "last_year": ""},
    {"source_id": "DEU-GA", "mineral": "ga", "location": "DEU", "capacity_t": 20, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 150, "first_year": 2020, "last_year": ""},
    {"source_id": "JPN-GA", "mineral": "ga", "location": "JPN", "capacity_t": 10, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 200, "first_year": 2020, "last_year": ""},
    # Germanium: China 100 t at 1000; Germany 5 t at 1500. Demand 10 t.
    {"source_id": "CHN-GE", "mineral": "ge", "location": "CHN", "capacity_t": 100, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 1000, "first_year": 2020, "last_year": ""},
    {"source_id": "DEU-GE", "mineral": "ge", "location": "DEU", "capacity_t": 5, "exportable_share": 1.0,
     "unit_cost_usd_per_t": 1500, "first_year": 2020, "last_year": ""},
]
TINY_DEMAND = [
    {"mineral": "ga", "year": 2025, "demand_t": 40},
    {"mineral": "ge", "year": 2025, "demand_t": 10},
]


def _process_state() -> dict[str, object]:
    """What a test may change for the tests after it and must restore: the working directory, the environment,
    SIGINT's handler and the signal wake-up fd."""
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    environment = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}  # pytest's own, per phase
    return {"working directory": os.getcwd(), "environment": environment,
            "SIGINT handler": signal.getsignal(signal.SIGINT), "signal wake-up fd": wakeup}


@pytest.fixture(autouse=True, scope="session")
def _dataset_cache_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Loaded datasets are cached (engine/inputs/dataset_cache.py) in a folder of this session's, not the user's
    ``~/.cache/critmin``; set before the first test, so every test and command it starts sees the same value."""
    previous = os.environ.get("CRITMIN_CACHE_DIR")
    os.environ["CRITMIN_CACHE_DIR"] = str(tmp_path_factory.mktemp("dataset-cache"))
    yield
    if previous is None:
        os.environ.pop("CRITMIN_CACHE_DIR", None)
    else:
        os.environ["CRITMIN_CACHE_DIR"] = previous


@pytest.fixture(autouse=True)
def _restores_process_state() -> Iterator[None]:
    """Every test leaves the process as it found it; one that does not fails, named, instead of a later test."""
    before = _process_state()
    yield
    after = _process_state()
    changed = {name: _difference(before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, f"the test left the process changed: {changed}"


def _difference(before: object, after: object) -> object:
    if isinstance(before, dict) and isinstance(after, dict):
        return {k: (before.get(k), after.get(k)) for k in sorted(before.keys() | after.keys())
                if before.get(k) != after.get(k)}
    return (before, after)


@pytest.fixture
def sigint_as_at_a_terminal() -> Iterator[None]:
    """SIGINT as an interactive Python has it: Python's default handler (KeyboardInterrupt), no wake-up fd.

    A process started in the background by a non-interactive shell (``bash -c 'make test' &``), or by a launcher
    that does the same, inherits SIGINT ignored, and Python then leaves it ignored; a test of Ctrl-C sets the state
    it needs here and restores the one it found."""
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    wakeup = signal.set_wakeup_fd(-1)
    try:
        yield
    finally:
        signal.set_wakeup_fd(wakeup)
        signal.signal(signal.SIGINT, handler)


def write_table(folder: Path, name: str, rows: list[dict]) -> None:
    """Write ``rows`` as the CSV table ``name``, filling provenance and missing optional columns."""
    columns = [c.name for c in TABLES_BY_NAME[name].columns]
    frame = pd.DataFrame([{**PROVENANCE, **row} for row in rows], columns=columns)
    frame.to_csv(folder / f"{name}.csv", index=False)


def write_dataset(folder: Path, *, minerals: list[dict] | None = None, countries: list[dict] | None = None,
                  capacity: list[dict] | None = None, ownership: list[dict] | None = None,
                  demand: list[dict] | None = None, jv_options: list[dict] | None = None) -> Path:
    """A complete inputs folder (tiny defaults for every table not given)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_table(folder, "minerals", TINY_MINERALS if minerals is None else minerals)
    write_table(folder, "countries", TINY_COUNTRIES if countries is None else countries)
    write_table(folder, "capacity", TINY_CAPACITY if capacity is None else capacity)
    write_table(folder, "ownership", ownership or [])
    write_table(folder, "demand", TINY_DEMAND if demand is None else demand)
    write_table(folder, "jv_options", jv_options or [])
    return folder


@pytest.fixture
def tiny(tmp_path: Path) -> Dataset:
    """The tiny two-mineral dataset."""
    return load_dataset(write_dataset(tmp_path / "inputs"))


def tiny_scenario(**overrides: object) -> dict:
    """A one-year gallium scenario with no discounting; keyword arguments replace top-level keys."""
    base: dict = {
        "horizon": {"start": 2025, "end": 2025},
        "minerals": ["ga"],
        "finance": {"discount_rate": 0.0},
        "dependence": {"basis": "location"},
        "policies": [],
    }
    base.update(overrides)
    return base


def write_scenario(path: Path, inputs: Path, **overrides: object) -> Path:
    """``tiny_scenario(**overrides)`` as a YAML file reading ``inputs``, for the command line."""
    import yaml

    path.write_text(yaml.safe_dump(tiny_scenario(data={"inputs": str(inputs)}, **overrides), sort_keys=False),
                    encoding="utf-8")
    return path


def solve_dict(dataset: Dataset, solver: str = "highs", **overrides: object) -> RunResult:
    """Solve a tiny scenario built from ``tiny_scenario(**overrides)``."""
    return run_scenario(scenario_from_dict(tiny_scenario(**overrides), dataset), solver=solver)


def tonnes_by_source(result: RunResult, floor: float = 1e-4) -> dict[str, float]:
    """Tonnes per source id over the plan, leaving out solver noise below ``floor`` (the hierarchy fixes each
    level within a relative 1e-8, which can leave micro-tonnes on alternative sources)."""
    flows = result.tables.flows
    totals = flows.groupby("id")["tonnes"].sum()
    return {k: round(float(v), 6) for k, v in totals.items() if v >= floor}


def single_buyer(paths):
    """The shipped scenarios of today's single-buyer model: ``market: equilibrium`` ones (market mode, step 1)
    run only under ``critmin solve`` and have their own tests (test_market.py)."""
    return [p for p in paths if "\nmarket: equilibrium" not in Path(p).read_text(encoding="utf-8")]
