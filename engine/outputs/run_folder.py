"""The results folder of a run: ``summary.json``, the tidy CSV tables and the resolved scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import yaml

from engine.outputs.files import write_csv, write_folder_atomically, write_json
from engine.outputs.results import Tables


class SolvedRun(Protocol):
    """What a run's folder is written from (``engine.run.RunResult`` is one)."""

    summary: dict
    tables: Tables | None
    loaded: Any  # a LoadedScenario: its ``scenario`` is written back as solved


def write_results(result: SolvedRun, folder: Path, force: bool = False) -> Path:
    """Write every table and the summary into ``folder`` atomically."""

    def fill(tmp: Path) -> None:
        write_json(result.summary, tmp / "summary.json")
        if result.tables is not None:
            for name, frame in result.tables.items():
                write_csv(frame, tmp / f"{name}.csv")
        resolved = result.loaded.scenario.model_dump(mode="json", exclude_none=True)
        (tmp / "scenario.yaml").write_text(
            "# The scenario exactly as solved (inheritance resolved, defaults filled in).\n"
            + yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")

    return write_folder_atomically(folder, fill, force=force)
