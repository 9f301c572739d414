"""Reading a results folder written by ``critmin solve`` (and the frontier folder beside it, when there is one)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from engine.errors import InputError

# The tables a results folder may hold, in the order reports and workbooks show them.
TABLE_ORDER = ["dependence", "flows", "builds", "costs", "shortfall", "duals", "frontier"]


@dataclass
class ResultsFolder:
    """A results folder: its summary, its CSV tables (as read, unchanged) and the resolved scenario."""

    path: Path
    summary: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    scenario: dict = field(default_factory=dict)
    frontier_path: Path | None = None

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario", {}).get("name") or self.path.name)

    def table(self, name: str) -> pd.DataFrame | None:
        """A table by name, or None when the folder has none (or it is empty)."""
        frame = self.tables.get(name)
        return None if frame is None or frame.empty else frame

    @property
    def inputs(self) -> str | None:
        """The dataset folder the run used, when the resolved scenario records one."""
        return (self.scenario.get("data") or {}).get("inputs")


def is_results_folder(path: Path) -> bool:
    return path.is_dir() and (path / "summary.json").is_file()


def find_frontier(folder: Path) -> Path | None:
    """``frontier.csv`` inside the folder, or in a sibling folder named ``<folder name>-frontier``."""
    for candidate in (folder / "frontier.csv", folder.parent / f"{folder.name}-frontier" / "frontier.csv"):
        if candidate.is_file():
            return candidate
    return None


def read_table(path: Path) -> pd.DataFrame:
    """A CSV table exactly as written (pandas' default type inference, so exports match ``pd.read_csv``)."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the table ({exc})") from None


def read_summary(path: Path) -> dict:
    """A results folder's ``summary.json``: a JSON object written by 'critmin solve', or an InputError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected the summary.json written by 'critmin solve'") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not text.strip():
        raise InputError(f"{path}: file is empty; expected the summary.json written by 'critmin solve' (solve the "
                         f"scenario again to rewrite the folder)")
    try:
        summary = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc}); expected the summary.json written by 'critmin solve' "
                         f"(solve the scenario again to rewrite the folder)") from None
    if not isinstance(summary, dict):
        raise InputError(f"{path}: holds a JSON {type(summary).__name__}; expected the object (with status, "
                         f"scenario, dependence, cost, …) written by 'critmin solve'")
    if not isinstance(summary.get("scenario"), dict) or "status" not in summary:
        raise InputError(f"{path}: not a summary written by 'critmin solve' (it needs 'status' and a 'scenario' "
                         f"section); give a folder written by 'critmin solve'")
    return summary


def load_results_folder(path: Path | str) -> ResultsFolder:
    """Read ``summary.json``, every known CSV table and ``scenario.yaml`` of a results folder."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: folder not found; give a results folder written by 'critmin solve'")
    if not is_results_folder(path):
        raise InputError(f"{path}: not a results folder (no summary.json); give a folder written by "
                         f"'critmin solve'")
    summary = read_summary(path / "summary.json")
    tables = {name: read_table(path / f"{name}.csv") for name in TABLE_ORDER if (path / f"{name}.csv").is_file()}
    frontier = find_frontier(path)
    if frontier is not None:
        tables["frontier"] = read_table(frontier)
    scenario: dict = {}
    if (path / "scenario.yaml").is_file():
        try:
            scenario = yaml.safe_load((path / "scenario.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            scenario = {}
    return ResultsFolder(path, summary, tables, scenario if isinstance(scenario, dict) else {}, frontier)
