"""Reading a results folder written by ``critmin solve`` (and the frontier folder beside it, when there is one)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from engine.errors import InputError
from engine.outputs.files import SCHEMA_VERSION
from engine.outputs.older import upgrade, upgrade_table

# The tables a results folder may hold, in the order reports and workbooks show them.
TABLE_ORDER = ["dependence", "flows", "owners", "builds", "costs", "shortfall", "stockpile", "policies", "policy_years",
               "duals", "frontier"]
# The folders the analyses write, told apart by the table only they hold (a solve folder holds dependence.csv).
KIND_TABLES = {
    "frontier": ["frontier"],
    "stress": ["stress"],
    "sweep": ["percentiles", "samples"],
    "robust": ["evaluation", "builds", "deterministic_builds"],
    "worstcase": ["worstcase", "regret", "moves", "bounds", "builds", "stockpile"],
    "sensitivity": ["sensitivity"],
    "calibrate": ["calibration", "backcast"],
}
# Market mode (``market: equilibrium``): a solve folder holds prices.csv and market_flows.csv; an analysis folder
# is told apart as above and by its summary's ``market``.
MARKET_KIND_TABLES = {
    "market": ["prices", "welfare", "market_flows", "certificates", "who_pays", "frontier", "backcast"],
    "market_frontier": ["frontier", "frontier_prices", "frontier_certificates"],
    "market_stress": ["stress"],
    "market_sweep": ["percentiles", "samples"],
    "market_sensitivity": ["sensitivity"],
}
KINDS = ("solve", *KIND_TABLES, *MARKET_KIND_TABLES)


@dataclass
class ResultsFolder:
    """A results folder: its summary, its CSV tables (as read, unchanged) and the resolved scenario."""

    path: Path
    summary: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    scenario: dict = field(default_factory=dict)
    frontier_path: Path | None = None
    kind: str = "solve"
    notes: list[str] = field(default_factory=list)
    extra_frontiers: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def name(self) -> str:
        scenario = self.summary.get("scenario")
        if isinstance(scenario, str):  # analysis folders record the scenario's name only
            return scenario
        return str((scenario or {}).get("name") or self.path.name)

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


def folder_kind(path: Path) -> str:
    """``solve``, ``frontier``, ``stress``, ``sweep``, ``robust``, …, or in market mode ``market`` (a solve) and
    ``market_frontier``, ``market_stress``, …: which command wrote the folder."""
    if (path / "dependence.csv").is_file():
        return "solve"
    if (path / "prices.csv").is_file() and (path / "market_flows.csv").is_file():
        return "market"
    for kind, names in KIND_TABLES.items():
        if (path / f"{names[0]}.csv").is_file():
            return f"market_{kind}" if f"market_{kind}" in MARKET_KIND_TABLES and _market(path) else kind
    return "solve"


def _market(path: Path) -> bool:
    """Whether the folder's summary says it was written in market mode."""
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and summary.get("market", "none") != "none"


def frontier_targets(path: Path) -> list[str]:
    """The targets a frontier folder swept (``all`` for the aggregate), from its summary or its table."""
    try:
        targets = json.loads((path / "summary.json").read_text(encoding="utf-8")).get("targets")
        if isinstance(targets, list):
            return [str(t) for t in targets]
    except (OSError, ValueError):
        pass
    try:
        return [str(t) for t in dict.fromkeys(pd.read_csv(path / "frontier.csv")["target"])]
    except (OSError, ValueError, KeyError):
        return []


def find_frontier(folder: Path, notes: list[str] | None = None) -> Path | None:
    """The aggregate frontier beside a solve folder: ``frontier.csv`` of ``<folder name>-frontier`` when it swept
    all minerals together. A per-mineral frontier found there is not used as the aggregate (a note says so)."""
    candidate = folder.parent / f"{folder.name}-frontier" / "frontier.csv"
    if not candidate.is_file():
        return None
    if "all" in frontier_targets(candidate.parent):
        return candidate
    if notes is not None:
        notes.append(f"{candidate.parent} holds a per-mineral frontier, not the aggregate one; the operating point "
                     f"is not placed on it (run 'critmin frontier' without --mineral to write the aggregate)")
    return None


def same_inputs(summary: dict, analysis: Path) -> bool:
    """Whether an analysis folder was computed from the solve's scenario and inputs (same inputs hash; a folder
    that records no hash is taken as matching)."""
    try:
        theirs = json.loads((analysis / "summary.json").read_text(encoding="utf-8")).get("inputs_hash")
    except (OSError, ValueError):
        return True
    ours = (summary.get("inputs") or {}).get("hash")
    return theirs is None or ours is None or theirs == ours


def find_mineral_frontiers(folder: Path, summary: dict) -> dict[str, Path]:
    """Per-mineral frontiers beside a solve folder: ``<folder name>-frontier-each`` or ``-frontier-<mineral>``."""
    found = {}
    for candidate in sorted(folder.parent.glob(f"{folder.name}-frontier-*/frontier.csv")):
        if not same_inputs(summary, candidate.parent):
            continue
        found[candidate.parent.name.removeprefix(f"{folder.name}-frontier-")] = candidate
    return found


def read_table(path: Path) -> pd.DataFrame:
    """A CSV table exactly as written (pandas' default type inference, so exports match ``pd.read_csv``)."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the table ({exc})") from None


def read_summary(path: Path, kind: str = "solve") -> dict:
    """A results folder's ``summary.json``: a JSON object written by 'critmin solve' (or, for another ``kind`` of
    folder, by that command: its summary names the scenario as a string), or an InputError."""
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
    version = summary.get("schema_version", 1)  # folders written before the version was recorded are version 1
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise InputError(f"{path}: results schema version {version!r}; this critmin reads versions 1 to "
                         f"{SCHEMA_VERSION} (a newer critmin wrote the folder: upgrade critmin, or run the command "
                         f"again with this one)")
    if kind != "solve":  # an analysis (frontier, stress, sweep, robust, worstcase) writes its own summary
        if kind == "calibrate" and summary.get("market", "none") != "none":
            raise InputError(f"{path}: a market-mode folder (market: {summary['market']}, written by 'critmin {kind}' "
                             f"of a market scenario); 'report' and 'compare' do not yet read a market calibration: "
                             f"its CSV files hold its results")
        return summary
    if not isinstance(summary.get("scenario"), dict) or "status" not in summary:
        raise InputError(f"{path}: not a summary written by 'critmin solve' (it needs 'status' and a 'scenario' "
                         f"section); give a folder written by 'critmin solve'")
    return summary


def load_results_folder(path: Path | str) -> ResultsFolder:
    """Read ``summary.json``, every known CSV table and ``scenario.yaml`` of a results folder."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: folder not found; give a results folder written by 'critmin solve'")
    if not is_results_folder(path) and (path / "samples.jsonl").is_file():
        raise InputError(f"{path}: an unfinished sweep (no summary.json yet); finish it with 'critmin sweep --resume "
                         f"--out {path}', then report it")
    if not is_results_folder(path):
        raise InputError(f"{path}: not a results folder (no summary.json); give a folder written by "
                         f"'critmin solve'")
    kind = folder_kind(path)
    summary = read_summary(path / "summary.json", kind)
    notes: list[str] = []
    extra: dict[str, pd.DataFrame] = {}
    frontier = None
    if kind == "solve":
        tables = {name: read_table(path / f"{name}.csv") for name in TABLE_ORDER
                  if (path / f"{name}.csv").is_file()}
        frontier = find_frontier(path, notes)
        if frontier is not None and not same_inputs(summary, frontier.parent):
            notes.append(f"{frontier.parent} was computed from other inputs or another version of the scenario "
                         f"(its inputs hash differs); it is left out of this report")
            frontier = None
        if frontier is not None:
            tables["frontier"] = read_table(frontier)
        extra = {label: read_table(p) for label, p in find_mineral_frontiers(path, summary).items()}
    else:
        kinds = {**KIND_TABLES, **MARKET_KIND_TABLES}
        tables = {name: read_table(path / f"{name}.csv") for name in kinds[kind] if (path / f"{name}.csv").is_file()}
    scenario: dict = {}
    if (path / "scenario.yaml").is_file():
        try:
            scenario = yaml.safe_load((path / "scenario.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            scenario = {}
    scenario = scenario if isinstance(scenario, dict) else {}
    version = summary.get("schema_version", 1)
    notes += upgrade(version, kind, summary, tables, scenario)
    extra = {label: upgrade_table(table) for label, table in extra.items()}
    if "frontier" in tables:  # the frontier beside a solve folder may be older than it
        tables["frontier"] = upgrade_table(tables["frontier"])
    return ResultsFolder(path, summary, tables, scenario, frontier, kind, notes, extra)
