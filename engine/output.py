"""Writing a results folder atomically.

Everything is written into a hidden temporary folder beside the target, then renamed into place in one step.
An interrupted run leaves no half-written folder; an existing folder is replaced only with ``force``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import CritminError, InputError

FLOAT_FORMAT = "%.10g"


def check_writable(folder: Path, force: bool) -> None:
    """Fail early (before solving) if ``folder`` exists and may not be replaced."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder; choose another --out")
    if folder.exists() and not force:
        raise InputError(f"{folder}: results folder exists already; pass --force to replace it or choose "
                         f"another --out")


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


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Deterministic CSV: floats to 10 significant digits in every column, no index, '\\n' line ends."""
    _floats_in_objects(frame).to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def write_json(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")


def write_folder_atomically(folder: Path, fill: Callable[[Path], None], force: bool = False) -> Path:
    """Call ``fill(tmp)`` to write into a temporary folder, then move it to ``folder`` in one rename."""
    folder = Path(folder)
    check_writable(folder, force)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    except OSError as exc:
        raise CritminError(f"{folder}: cannot create the results folder: {exc.strerror or exc}") from None
    try:
        fill(tmp)
        os.chmod(tmp, 0o755)
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent))
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
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
