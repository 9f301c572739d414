"""Writing a results folder atomically, and only where critmin may write.

Everything is written into a hidden temporary folder beside the target, then renamed into place in one step.
An interrupted run leaves no half-written folder. Every folder critmin writes holds a marker file
(``.critmin-output``); ``force`` replaces an existing folder only when it carries the marker, or, for a folder
written before the marker existed, when it holds a critmin ``summary.json`` and nothing critmin does not write.
An output folder is never one of the run's inputs, nor a folder that contains one.

Temporary (``.NAME.*.tmp``) and spare (``.NAME.*.old``) folders record the process id and host that made them;
one whose process is gone is removed by the next write into the same parent folder (a spare whose results were
never put back, because the process died between its two renames, is first moved back to ``NAME``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import CritminError, InputError
from engine.outputs.units import units_of

FLOAT_FORMAT = "%.10g"
SCHEMA_VERSION = 4
"""The version of what critmin writes: every ``summary.json`` carries it as ``schema_version`` (a folder without
it was written by version 1). Raise it when a written file changes meaning or loses a key; README, "Results schema
version", lists the changes."""
MARKER = ".critmin-output"
MARKER_TEXT = "This folder was written by critmin; 'critmin ... --force' may replace it.\n"
OWNER = ".critmin-owner"  # inside a temporary or spare folder: "<pid> <host>"

# What a folder written before the marker existed may hold and still count as critmin's.
_LEGACY_FILES = {"summary.json", "scenario.yaml", "manifest.json", "samples.jsonl", "report.md", "report.html",
                 "results.xlsx", MARKER}
_LEGACY_SUFFIXES = {".csv", ".png", ".svg", ".parquet"}
_LEGACY_FOLDERS = {"report", "figures", "parquet"}


# ------------------------------------------------------------------------------------------ ownership
def _foreign_entries(folder: Path, top: bool = True) -> list[str]:
    """Entries of a marker-less folder that critmin does not write (names relative to ``folder``)."""
    foreign: list[str] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            if entry.name in _LEGACY_FOLDERS and not (entry / MARKER).is_file():
                foreign += [f"{entry.name}/{name}" for name in _foreign_entries(entry, top=False)]
            elif entry.name not in _LEGACY_FOLDERS:
                foreign.append(entry.name + "/")
        elif entry.is_symlink() or not (entry.name in _LEGACY_FILES or entry.suffix in _LEGACY_SUFFIXES):
            foreign.append(entry.name)
    return foreign


def _critmin_summary(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "scenario" in data


def written_by_critmin(folder: Path) -> bool:
    """True when ``folder`` carries critmin's marker, is empty, or is a marker-less folder of an older critmin: a
    critmin ``summary.json`` (or a sweep's ``manifest.json``) and nothing critmin does not write."""
    folder = Path(folder)
    if (folder / MARKER).is_file():
        return True
    if not folder.is_dir():
        return False
    if not any(folder.iterdir()):
        return True  # an empty folder: replacing it loses nothing
    if not (_critmin_summary(folder / "summary.json") or _critmin_summary(folder / "manifest.json")):
        return False
    return not _foreign_entries(folder)


FLAG_RULES = {
    "--force": "replaces only a folder critmin wrote",
    "--resume": "finishes only a sweep folder critmin wrote (one written by an interrupted 'critmin sweep', holding "
                "its manifest.json and samples)",
}
"""What each flag that reuses an existing folder accepts: a refusal quotes the rule of the flag the user gave."""


def refusal(folder: Path, flag: str | None, option: str = "--out", reason: str | None = None) -> str:
    """Why ``folder`` is not replaced (or resumed), in terms of what the user typed: ``flag`` is the option given
    (``--force``, ``--resume``) or None; ``option`` the one naming the folder; ``reason`` what is wrong with it
    (default: the files critmin did not write)."""
    if reason is None and ((folder / "summary.json").is_file() or (folder / "manifest.json").is_file()):
        shown = _foreign_entries(folder)
        listed = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
        reason = f"it holds files critmin did not write ({listed})"
    elif reason is None:
        shown = [e.name + ("/" if e.is_dir() else "") for e in sorted(folder.iterdir())]
        listed = ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
        reason = f"it was not written by critmin (it holds {listed})"
    head = f"{flag} {FLAG_RULES[flag]}, and" if flag is not None else "exists, and"
    return f"{folder}: {head} {reason}; choose another {option}, or move or delete that folder yourself first"


# ------------------------------------------------------------------------------------------ checks
def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_not_input(target: Path, inputs: Iterable[Path], what: str = "--out") -> None:
    """Refuse an output that is one of the run's inputs, contains one, or lies inside an input folder
    (``allowed_inside``-style subfolders are the caller's business: pass only what must stay untouched)."""
    resolved = Path(os.path.abspath(target)).resolve()
    for source in inputs:
        source_resolved = Path(os.path.abspath(source)).resolve()
        if _within(source_resolved, resolved):
            kind = "is" if source_resolved == resolved else "contains"
            raise InputError(f"{what} {target}: {kind} an input of this run ({source}); critmin never writes over "
                             f"its inputs; choose another {what}")


def check_writable(folder: Path, force: bool, inputs: Iterable[Path] = (), *, option: str = "--out",
                   flag: str = "--force", kind: str = "results folder") -> None:
    """Fail early (before solving) if ``folder`` may not be written: an existing file, one of the run's inputs
    (or a folder holding one), a folder critmin did not write, or an existing folder without ``force``.
    ``option`` names the folder's option, ``flag`` the one that reuses it and ``kind`` the folder, as messages quote
    them."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder; choose another {option}")
    check_not_input(folder, inputs, option)
    if folder.exists() and not written_by_critmin(folder):
        raise InputError(refusal(folder, flag if force else None, option))
    if folder.exists() and not force:
        raise InputError(f"{folder}: {kind} exists already; pass {flag} to replace it or choose another {option}")
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{folder}: {parent} is a file, not a folder; choose another {option}")
            break


# ------------------------------------------------------------------------------------------ leftovers
def _owner_record() -> str:
    return f"{os.getpid()} {socket.gethostname()}\n"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def is_stale(folder: Path) -> bool:
    """A temporary or spare folder of critmin's whose process, on this host, is gone."""
    try:
        pid_text, host = (folder / OWNER).read_text(encoding="utf-8").split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False  # not critmin's (or not recorded): leave it alone
    return host == socket.gethostname() and pid != os.getpid() and not _process_alive(pid)


def clean_stale(parent: Path) -> list[Path]:
    """Remove critmin's temporary and spare folders in ``parent`` whose process is gone; return them."""
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        if (entry.name.startswith(".") and entry.name.endswith((".tmp", ".old")) and entry.is_dir()
                and not entry.is_symlink() and is_stale(entry)):
            if entry.name.endswith(".old"):
                _restore_spare(entry, parent)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _restore_spare(spare: Path, parent: Path) -> None:
    """A spare whose results never came back (the process died between the two renames): put them back."""
    for inner in spare.iterdir():
        if inner.is_dir() and not inner.is_symlink() and spare.name.startswith(f".{inner.name}."):
            target = parent / inner.name
            if not target.exists():
                with contextlib.suppress(OSError):
                    os.replace(inner, target)


def _owned_tempdir(folder: Path, suffix: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=suffix, dir=folder.parent))
    (tmp / OWNER).write_text(_owner_record(), encoding="utf-8")
    return tmp


def mark(folder: Path) -> None:
    """Write critmin's marker into a folder it made."""
    (Path(folder) / MARKER).write_text(MARKER_TEXT, encoding="utf-8")


# ------------------------------------------------------------------------------------------ writing
def _floats_in_objects(frame: pd.DataFrame) -> pd.DataFrame:
    """Floats held in object columns (a column built by concatenating an empty frame, or mixed with text) in the
    same 10-significant-digit format as float columns; pandas' ``float_format`` only reaches float dtypes."""
    mixed = [c for c in frame.columns if frame[c].dtype == object]
    if not mixed:
        return frame
    out = frame.copy()
    for c in mixed:
        out[c] = [FLOAT_FORMAT % v if isinstance(v, float | np.floating) and np.isfinite(v) else v for v in out[c]]
    return out


def write_csv(frame: pd.DataFrame, path: Path, columns: Sequence[str] | None = None) -> None:
    """Deterministic CSV: floats to 10 significant digits in every column, no index, '\\n' line ends. Every file has
    its header, also with no rows: a frame with no columns takes ``columns``; with none given it is refused (pandas
    would write a one-byte file that names nothing), so every table names its columns where it is made."""
    if columns is not None and frame.columns.empty:
        frame = pd.DataFrame(columns=list(columns))
    if frame.columns.empty:
        raise ValueError(f"{Path(path).name}: a table with no columns would be written without a header; give its "
                         f"columns (write_csv(..., columns=...) or a frame made with them)")
    _floats_in_objects(frame).to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def stamped(summary: dict) -> dict:
    """A command's summary with ``schema_version`` first, as every ``summary.json`` and ``--json`` carries it, and
    ``units`` last: the unit of every number whose key does not name it (``engine/outputs/units.py``)."""
    out = {"schema_version": SCHEMA_VERSION, **{k: v for k, v in summary.items() if k not in ("schema_version",
                                                                                               "units")}}
    return {**out, "units": units_of(out)}


def write_json(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def write_folder_atomically(folder: Path, fill: Callable[[Path], None], force: bool = False,
                            inputs: Iterable[Path] = (), option: str = "--out") -> Path:
    """Call ``fill(tmp)`` to write into a temporary folder, then move it to ``folder`` in one rename."""
    folder = Path(folder)
    check_writable(folder, force, inputs, option=option)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(folder.parent)
        tmp = _owned_tempdir(folder, ".tmp")
    except OSError as exc:
        raise CritminError(f"{folder}: cannot create the results folder: {exc.strerror or exc}") from None
    try:
        fill(tmp)
        (tmp / OWNER).unlink()
        mark(tmp)
        os.chmod(tmp, 0o755)
        if folder.exists():
            old = _owned_tempdir(folder, ".old")
            try:
                os.replace(folder, old / folder.name)
                try:
                    os.replace(tmp, folder)
                except BaseException:
                    os.replace(old / folder.name, folder)  # put the previous results back
                    raise
            finally:
                if folder.exists():  # new results in place, or the old ones restored: drop the spare
                    shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CritminError(f"{folder}: cannot write the results folder ({exc.strerror or exc}); nothing was "
                           f"written") from None
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
