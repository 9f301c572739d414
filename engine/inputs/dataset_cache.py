"""Loaded datasets kept on disk, so that a later run on the same input files skips reading and checking them.

Reading, checking, sorting and hashing the seven input tables took 30-45 ms of a cold ``critmin solve`` (0.6 s);
reading them back from this cache takes about 1 ms. A dataset is written here only once every check has passed:
bad input is never cached, and its errors always come from reading the files.

**When an entry is used.** Its name is the SHA-256 of everything the loaded tables depend on: this cache's format,
the code that reads them (the bytes of ``engine/inputs/dataset.py`` and ``engine/inputs/tables.py``), the versions
of Python, numpy, pandas and pyarrow, and each table's file name with its bytes, or the fact that it is absent. Any
change to an input file, even one that leaves the facts as they are, gives another name, so another entry (an
entry holds the tables and their digest, ``Dataset.digest``, exactly as ``load_dataset`` made them). An entry
written while a file changed is not kept: the files are read again after the load and must be the bytes hashed.

**Where.** ``$CRITMIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/critmin``, else ``~/.cache/critmin``; never the inputs
folder. ``CRITMIN_CACHE_DIR=off`` turns the cache off. An entry is a pickle, and loading a pickle can run code, so
a folder is used only if it belongs to the user and others cannot write to it. Each entry is written to a
temporary file and renamed into place, so a reader never sees half of one; an entry that cannot be read is
ignored. At most ``KEEP`` entries are kept: writing one removes the oldest of this cache's own files beyond that.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from engine.inputs import tables as table_schemas

FORMAT = "critmin-dataset-cache-1"
"""Changed whenever what an entry holds changes."""

KEEP = 64
"""The most entries kept (a few hundred kB each for the shipped dataset)."""

SUFFIX = ".dataset.pickle"
"""The file name ending of an entry: the only files this cache reads or removes."""

CODE = (Path(__file__).with_name("dataset.py"), Path(__file__).with_name("tables.py"))
"""The code that makes a dataset from the files: its bytes are part of every entry's name."""

OFF = "off"
"""``CRITMIN_CACHE_DIR=off`` turns the cache off."""


def cache_folder() -> Path | None:
    """The folder entries are kept in, or None when the cache is off."""
    chosen = os.environ.get("CRITMIN_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in (OFF, "") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "critmin"


def entry_key(folder: Path) -> tuple[str, tuple[bytes | None, ...]] | None:
    """The entry name for the tables in ``folder`` and the bytes it was made from (None for an absent table), or None
    when a table cannot be read as a file (a folder, no permission: ``load_dataset`` reports it)."""
    h = hashlib.sha256(FORMAT.encode())
    for code in CODE:
        try:
            h.update(code.read_bytes())
        except OSError:
            return None
    for version in (sys.version, np.__version__, pd.__version__, pa.__version__):
        h.update(version.encode() + b"\0")
    contents = _contents(folder)
    if contents is None:
        return None
    for name, data in zip(table_schemas.ORDER, contents, strict=True):
        h.update(f"\0{name}\0".encode())
        h.update(b"absent" if data is None else len(data).to_bytes(8, "little") + data)
    return h.hexdigest(), contents


def _contents(folder: Path) -> tuple[bytes | None, ...] | None:
    """Each table's file bytes, in ``ORDER`` (None where absent); None if one cannot be read as a file."""
    out: list[bytes | None] = []
    for name in table_schemas.ORDER:
        try:
            out.append((folder / table_schemas.TABLES_BY_NAME[name].filename).read_bytes())
        except FileNotFoundError:
            out.append(None)
        except OSError:
            return None
    return tuple(out)


def _usable(folder: Path) -> bool:
    """The folder exists, is the user's and no one else may write to it."""
    try:
        info = folder.stat()
    except OSError:
        return False
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return stat.S_ISDIR(info.st_mode) and owner_ok and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read(key: str) -> tuple[dict[str, pd.DataFrame], str] | None:
    """The tables and digest kept under ``key``, or None (no entry, the cache off or unusable, an unreadable
    entry)."""
    folder = cache_folder()
    if folder is None or not _usable(folder):
        return None
    path = folder / f"{key}{SUFFIX}"
    try:
        with open(path, "rb") as handle:
            entry = pickle.load(handle)
    except Exception:  # none, damaged or foreign: a miss (the next write replaces it)
        return None
    if not (isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("key") == key):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: the last to be pruned
    return entry["tables"], entry["digest"]


def write(key: str, contents: tuple[bytes | None, ...], source: Path, tables: dict[str, pd.DataFrame],
          digest: str) -> None:
    """Keep ``tables`` and ``digest`` under ``key``, if the files in ``source`` are still ``contents`` (else the
    load may mix two versions of a file). Nothing happens when the cache is off or cannot be written."""
    folder = cache_folder()
    if folder is None or _contents(source) != contents:
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _usable(folder):
            return
        blob = pickle.dumps({"format": FORMAT, "key": key, "tables": tables, "digest": digest},
                            protocol=pickle.HIGHEST_PROTOCOL)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(blob)
            os.replace(temporary, folder / f"{key}{SUFFIX}")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _prune(folder)
    except OSError:
        return


def _prune(folder: Path) -> None:
    """Remove this cache's oldest entries beyond ``KEEP`` (only files named ``*.dataset.pickle``)."""
    entries = []
    for path in folder.glob(f"*{SUFFIX}"):
        try:
            entries.append((path.stat().st_mtime, path))
        except OSError:
            continue
    entries.sort(reverse=True)
    for _, path in entries[KEEP:]:
        path.unlink(missing_ok=True)
