"""Where the shipped dataset and scenarios live, from a source checkout or an installed wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _resource_dir(name: str) -> Path:
    packaged = Path(str(resources.files("engine"))) / "_resources" / name
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name


def inputs_dir() -> Path:
    """The default dataset folder (``inputs/``)."""
    return _resource_dir("inputs")


def models_dir() -> Path:
    """The shipped scenario folder (``models/``)."""
    return _resource_dir("models")


def shipped_scenarios() -> dict[str, Path]:
    """Shipped scenario names mapped to their files."""
    return {p.stem: p for p in sorted(models_dir().glob("*.yaml"))}
