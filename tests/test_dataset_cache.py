"""The cache of loaded datasets (engine/inputs/dataset_cache.py): a dataset read back from it is the one read from
the files, to the bit; any change of an input file's bytes is a new entry; bad input is never cached; nothing is
written into the inputs folder; an unusable cache folder or a damaged entry is passed over."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from engine.errors import InputError
from engine.inputs import dataset_cache
from engine.inputs.dataset import _read_dataset, load_dataset
from engine.inputs.scenario import load_scenario, scenario_from_dict
from engine.paths import inputs_dir, models_dir
from engine.run import run_scenario

from conftest import TINY_CAPACITY, tiny_scenario, write_dataset


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of this test's."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("CRITMIN_CACHE_DIR", str(folder))
    return folder


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob(f"*{dataset_cache.SUFFIX}")) if cache.is_dir() else []


def assert_same(a, b) -> None:
    """Two datasets with the same tables (values, dtypes, index, column order) and digest."""
    assert list(a.tables) == list(b.tables)
    for name in a.tables:
        x, y = a.tables[name], b.tables[name]
        assert list(x.columns) == list(y.columns), name
        assert list(x.dtypes) == list(y.dtypes), name
        assert x.index.equals(y.index) and x.equals(y), name
        assert x.to_csv(index=False) == y.to_csv(index=False), name
    assert a.digest == b.digest


def test_the_shipped_dataset_from_the_cache_is_the_one_from_the_files(cache):
    fresh = _read_dataset(inputs_dir())
    first = load_dataset(inputs_dir())  # a miss: read from the files and kept
    assert len(entries(cache)) == 1
    second = load_dataset(inputs_dir())  # a hit
    assert_same(fresh, first)
    assert_same(fresh, second)
    assert second.folder == inputs_dir()


def test_a_plan_on_a_cached_dataset_is_the_plan_on_the_files(cache, tmp_path):
    folder = write_dataset(tmp_path / "inputs")
    runs = []
    for _ in range(2):  # the first loads from the files, the second from the cache
        result = run_scenario(scenario_from_dict(tiny_scenario(), load_dataset(folder)))
        runs.append((result.tables.flows.to_csv(), result.tables.costs.to_csv(), result.summary["dependence"]))
    assert len(entries(cache)) == 1
    assert runs[0] == runs[1]


def test_a_shipped_scenario_solves_the_same_with_the_cache_off_and_on(cache, monkeypatch):
    with_cache = [run_scenario(load_scenario(models_dir() / "ga_ge_ban.yaml"), impacts=False) for _ in range(2)]
    monkeypatch.setenv("CRITMIN_CACHE_DIR", "off")
    without = run_scenario(load_scenario(models_dir() / "ga_ge_ban.yaml"), impacts=False)
    for result in with_cache:
        assert result.tables.flows.to_csv() == without.tables.flows.to_csv()
        assert result.summary["dependence"] == without.summary["dependence"]
        assert result.summary["inputs"] == without.summary["inputs"]


def test_any_change_of_an_input_file_is_read(cache, tmp_path):
    folder = write_dataset(tmp_path / "inputs")
    assert load_dataset(folder).capacity["capacity_t"].tolist() == [100.0, 100.0, 20.0, 5.0, 10.0]
    path = folder / "capacity.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("JPN-GA,ga,JPN,,10,", "JPN-GA,ga,JPN,,11,"),
                    encoding="utf-8")
    assert load_dataset(folder).capacity["capacity_t"].tolist() == [100.0, 100.0, 20.0, 5.0, 11.0]
    path.write_bytes(path.read_bytes() + b"\n")  # the same facts, other bytes: another entry, the same tables
    again = load_dataset(folder)
    assert again.capacity["capacity_t"].tolist() == [100.0, 100.0, 20.0, 5.0, 11.0]
    assert len(entries(cache)) == 3
    (folder / "ownership.csv").unlink()  # an optional table removed
    assert load_dataset(folder).ownership.empty
    assert len(entries(cache)) == 4


def test_bad_input_is_never_cached_and_says_the_same_each_time(cache, tmp_path):
    bad = [dict(TINY_CAPACITY[0], capacity_t=-1), *TINY_CAPACITY[1:]]
    folder = write_dataset(tmp_path / "inputs", capacity=bad)
    messages = []
    for _ in range(2):
        with pytest.raises(InputError) as caught:
            load_dataset(folder)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "capacity.csv, line 2, column capacity_t: -1 is negative" in messages[0]
    assert entries(cache) == []


def test_nothing_is_written_into_the_inputs_folder(cache, tmp_path):
    folder = write_dataset(tmp_path / "inputs")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    load_dataset(folder)
    load_dataset(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert len(entries(cache)) == 1


def test_the_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CRITMIN_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    load_dataset(write_dataset(tmp_path / "inputs"))
    assert not (tmp_path / "xdg").exists() and not (tmp_path / "home").exists()


def test_without_a_setting_the_cache_is_under_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CRITMIN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    load_dataset(write_dataset(tmp_path / "inputs"))
    assert len(entries(tmp_path / "xdg" / "critmin")) == 1


def test_a_damaged_entry_is_passed_over_and_replaced(cache, tmp_path):
    folder = write_dataset(tmp_path / "inputs")
    expected = load_dataset(folder)
    [entry] = entries(cache)
    entry.write_bytes(entry.read_bytes()[:100])
    assert_same(load_dataset(folder), expected)
    assert_same(load_dataset(folder), expected)
    entry.write_bytes(pickle.dumps({"format": "something else"}))
    assert_same(load_dataset(folder), expected)


def test_a_cache_folder_others_may_write_to_is_not_used(cache, tmp_path):
    """An entry is a pickle: loading one can run code, so a folder another user could write to is left alone."""
    folder = write_dataset(tmp_path / "inputs")
    cache.mkdir()
    cache.chmod(0o777)
    try:
        load_dataset(folder)
        assert entries(cache) == []
        cache.chmod(0o700)
        load_dataset(folder)
        [entry] = entries(cache)
        cache.chmod(0o777)
        entry.write_bytes(b"not a pickle of ours")  # would be passed over anyway; it is not even opened
        assert_same(load_dataset(folder), _read_dataset(folder))
    finally:
        cache.chmod(0o700)


def test_at_most_keep_entries_are_kept_and_other_files_are_left_alone(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_cache, "KEEP", 2)
    cache.mkdir(mode=0o700)
    (cache / "notes.txt").write_text("mine", encoding="utf-8")
    folders = [write_dataset(tmp_path / f"inputs{k}", demand=[{"mineral": "ga", "year": 2025, "demand_t": 40 + k}])
               for k in range(3)]
    for k, folder in enumerate(folders):
        load_dataset(folder)
        os.utime(entries(cache)[-1] if k == 0 else max(entries(cache), key=lambda p: p.stat().st_mtime),
                 (1_000_000 + k, 1_000_000 + k))
    assert len(entries(cache)) == 2
    assert (cache / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert load_dataset(folders[0]).demand["demand_t"].tolist() == [40.0]  # removed, so read again


def test_another_version_of_the_reading_code_is_another_entry(cache, tmp_path, monkeypatch):
    folder = write_dataset(tmp_path / "inputs")
    load_dataset(folder)
    changed = tmp_path / "dataset.py"
    shutil.copy(dataset_cache.CODE[0], changed)
    changed.write_text(changed.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    monkeypatch.setattr(dataset_cache, "CODE", (changed, dataset_cache.CODE[1]))
    load_dataset(folder)
    assert len(entries(cache)) == 2


def test_an_entry_made_while_a_file_changed_is_not_kept(cache, tmp_path):
    """The files are hashed before the load and read again after it: a file changed in between (so the tables may
    mix its two versions) leaves nothing in the cache."""
    folder = write_dataset(tmp_path / "inputs")
    key = dataset_cache.entry_key(folder)
    dataset = _read_dataset(folder)
    (folder / "demand.csv").write_bytes((folder / "demand.csv").read_bytes() + b"\n")
    dataset_cache.write(key[0], key[1], folder, dataset.tables, dataset.digest)
    assert entries(cache) == []
    dataset_cache.write(*dataset_cache.entry_key(folder), folder, dataset.tables, dataset.digest)
    assert len(entries(cache)) == 1
