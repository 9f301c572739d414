"""The installed distributions, read as importlib.metadata reads them but without importing it.

A cold ``critmin solve`` asked importlib.metadata two things: pydantic, the first time it builds a validator, looks
for plugins (entry points of the group ``pydantic``: the entry points of every installed distribution parsed); the
summary, the versions of seven packages. Importing importlib.metadata imports ``email`` too; with the search, 10-15
ms of each run. ``installed()`` lists each folder of ``sys.path`` once, keeping its ``.dist-info`` and ``.egg-info``
entries under the names importlib.metadata's path finder files them by, in the same order.

- ``skip_plugin_search``: when no distribution's ``entry_points.txt`` has a ``[pydantic]`` section, pydantic's
  loader (``pydantic.plugin._loader``) is replaced by a module whose ``get_plugins`` returns no plugins, which is what
  pydantic's own returns then.
- ``metadata_text``: the METADATA (or PKG-INFO) of the distribution importlib.metadata's ``distribution(name)``
  finds.

Whenever this reading could differ from importlib.metadata's, it stands aside: a path entry that is not a plain
folder (a zip) or holds an egg, an unreadable file, ``PYDANTIC_DISABLE_PLUGINS`` set (pydantic reads it), another
finder on ``sys.meta_path`` that finds distributions, or pydantic's loader already loaded. Then importlib.metadata
and pydantic do the work, as before.
"""

from __future__ import annotations

import os
import re
import sys
import types

LOADER = "pydantic.plugin._loader"
GROUP = "[pydantic]"
"""The section of ``entry_points.txt`` that declares pydantic plugins."""


class Unread(Exception):
    """Something this module does not read as importlib.metadata would: leave it to importlib.metadata."""


def normalize(name: str) -> str:
    """A distribution's name as importlib.metadata's ``Prepared.normalize`` files it."""
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


_INSTALLED: tuple[tuple[str, ...], dict[str, list[str]]] | None = None


def installed() -> dict[str, list[str]]:
    """Every ``.dist-info`` and ``.egg-info`` folder on ``sys.path``, by normalized name, in ``sys.path`` order (as
    importlib.metadata's path finder searches them). Raises ``Unread`` where importlib.metadata could find more."""
    global _INSTALLED
    key = tuple(sys.path)
    if _INSTALLED is not None and _INSTALLED[0] == key:
        return _INSTALLED[1]
    for finder in sys.meta_path:
        if hasattr(finder, "find_distributions") and getattr(finder, "__name__", "") != "PathFinder":
            raise Unread(f"a finder of distributions: {finder!r}")
    found: dict[str, list[str]] = {}
    for entry in key:
        folder = entry or "."
        if not os.path.isdir(folder):
            if os.path.exists(folder):
                raise Unread(f"not a folder: {folder}")
            continue
        try:
            names = os.listdir(folder)
        except OSError as exc:
            raise Unread(str(exc)) from None
        for child in names:
            low = child.lower()
            if low.endswith(".egg") or low == "egg-info":
                raise Unread(f"an egg: {os.path.join(folder, child)}")
            if low.endswith((".dist-info", ".egg-info")):
                name = low.rpartition(".")[0].partition("-")[0]
                found.setdefault(normalize(name), []).append(os.path.join(folder, child))
    _INSTALLED = (key, found)
    return found


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise Unread(str(exc)) from None


def metadata_text(package: str) -> str | None:
    """The METADATA (or PKG-INFO) text of the distribution importlib.metadata's ``distribution(package)`` finds;
    None if none is installed. Raises ``Unread`` when that cannot be told without importlib.metadata."""
    folders = installed().get(normalize(package), [])
    if not folders:
        return None
    folder = folders[0]
    return _read(os.path.join(folder, "METADATA")) or _read(os.path.join(folder, "PKG-INFO")) or ""


def declares_plugins() -> bool:
    """Whether an installed distribution declares a pydantic plugin (or this cannot be told without
    importlib.metadata)."""
    try:
        for folders in installed().values():
            for folder in folders:
                text = _read(os.path.join(folder, "entry_points.txt"))
                if text is not None and any(line.strip() == GROUP for line in text.splitlines()):
                    return True
    except Unread:
        return True
    return False


def _no_plugins() -> tuple[()]:
    """``get_plugins`` of the loader put in place: pydantic's returns no plugins when none is installed."""
    return ()


def skip_plugin_search() -> bool:
    """Put a loader that finds no plugins in place of pydantic's, when none is installed (see the module's
    docstring); True if it did. Call it before pydantic builds its first validator."""
    if LOADER in sys.modules or os.environ.get("PYDANTIC_DISABLE_PLUGINS") is not None or declares_plugins():
        return False
    loader = types.ModuleType(LOADER, "pydantic's plugin loader, no plugin installed (engine/inputs/installed.py)")
    loader.PYDANTIC_ENTRY_POINT_GROUP = "pydantic"  # type: ignore[attr-defined]
    loader._plugins = {}  # type: ignore[attr-defined]
    loader._loading_plugins = False  # type: ignore[attr-defined]
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[LOADER] = loader
    return True
