"""engine/inputs/installed.py reads the installed distributions as importlib.metadata does: the same pydantic
plugins (none here), the same METADATA for a name, the first on sys.path winning; it stands aside (``Unread``)
where it could differ, and pydantic's loader is replaced only when no plugin is installed."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from importlib import metadata

import pytest

from engine.inputs import installed


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    """Two folders first on sys.path (the cache of the listing keyed by sys.path, so it is read afresh)."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.setattr(sys, "path", [str(first), str(second), *sys.path])
    return first, second


def _dist(folder, name, version, entry_points=None, suffix=".dist-info"):
    info = folder / f"{name}-{version}{suffix}"
    info.mkdir()
    (info / ("METADATA" if suffix == ".dist-info" else "PKG-INFO")).write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA description.\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


def test_no_plugin_is_installed_here_and_none_is_found():
    assert list(metadata.entry_points(group="pydantic")) == []
    assert installed.declares_plugins() is False


def test_a_declared_plugin_is_found(on_path):
    first, _ = on_path
    _dist(first, "some_plugin", "1.0", "[console_scripts]\nx = y:z\n\n[pydantic]\nmine = some_plugin:plugin\n")
    assert [e.name for e in metadata.entry_points(group="pydantic")] == ["mine"]
    assert installed.declares_plugins() is True


@pytest.mark.parametrize("name", ["Fake.Package", "fake-package", "fake_package", "FAKE__package"])
def test_metadata_of_a_name_is_importlib_metadata_s_first_on_the_path(on_path, name):
    first, second = on_path
    _dist(second, "fake_package", "2.0")
    _dist(first, "Fake.Package", "1.0", suffix=".egg-info")
    text = installed.metadata_text(name)
    dist = metadata.distribution(name)
    assert text == (dist.read_text("METADATA") or dist.read_text("PKG-INFO"))
    assert "Version: 1.0" in text


def test_a_zip_on_the_path_is_left_to_importlib_metadata(on_path, tmp_path, monkeypatch):
    archive = tmp_path / "some.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("x.py", "")
    monkeypatch.setattr(sys, "path", [str(archive), *sys.path])
    with pytest.raises(installed.Unread):
        installed.metadata_text("numpy")
    assert installed.declares_plugins() is True


SOLVE = """
import json, os, sys
sys.argv = ["critmin", "validate"]
from engine.cli import main
try:
    main()
except SystemExit:
    pass
loader = sys.modules["pydantic.plugin._loader"]
print(json.dumps({"replaced": getattr(loader, "__file__", None) is None, "plugins": list(loader.get_plugins())}))
"""


@pytest.mark.parametrize("disabled", [None, "__all__"])
def test_pydantic_s_loader_is_replaced_only_without_plugins_and_without_its_variable(disabled):
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if disabled is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = disabled
    done = subprocess.run([sys.executable, "-c", SOLVE], capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"replaced": disabled is None, "plugins": []}
