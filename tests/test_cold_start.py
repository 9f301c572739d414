"""What a cold ``critmin solve --no-write`` imports: none of the heavy modules the solve path does not need (each
costs a cold start 0.05-0.3 s). A test on what is imported, never on time. The summary's package versions, read
from the metadata's headers only, equal importlib.metadata's."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

import pytest

from engine.outputs.summary import _version

NOT_ON_THE_SOLVE_PATH = ("matplotlib", "openpyxl", "pulp", "dask", "distributed", "scipy", "jinja2", "PIL",
                         "engine.report", "engine.figures", "engine.analysis", "engine.outputs.run_folder",
                         "engine.formulation.variants")

SOLVE = """
import contextlib, io, json, sys
sys.argv = ["critmin", "solve", "--no-write"]
from engine.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main()
    except SystemExit as exc:
        code = exc.code
heavy = [m for m in {heavy!r} if m in sys.modules]
print(json.dumps({{"code": code, "heavy": heavy, "printed": "Exposure to China" in out.getvalue()}}))
"""


def test_a_no_write_solve_imports_no_heavy_module():
    script = SOLVE.format(heavy=NOT_ON_THE_SOLVE_PATH)
    result = json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                       check=True).stdout.splitlines()[-1])
    assert result["code"] == 0 and result["printed"]
    assert result["heavy"] == []


@pytest.mark.parametrize("package", ["critmin-engine", "highspy", "numpy", "pandas", "pydantic", "scipy", "pulp",
                                     "no-such-package-here"])
def test_package_versions_read_from_the_headers_equal_importlib_metadata(package):
    try:
        expected = metadata.version(package)
    except metadata.PackageNotFoundError:
        expected = None
    assert _version(package) == expected


@pytest.mark.parametrize("args,status,stream,text", [
    (["--version"], 0, "stdout", "critmin, version"),
    (["solve", "no-such-scenario"], 2, "stderr", "scenario file not found"),
    (["no-such-command"], 2, "stderr", "No such command"),
])
def test_the_console_script_leaves_with_the_command_s_status_and_output(args, status, stream, text):
    """``critmin`` skips the interpreter's teardown (engine.console): the status and the flushed output are the
    command's."""
    script = f"import sys; sys.argv = ['critmin', *{args!r}]; from engine.console import run; run()"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == status
    assert text in getattr(done, stream)


@pytest.mark.parametrize("code,status", [(None, 0), (0, 0), (3, 3), (256 + 2, 2), ("a message", 1)])
def test_exit_status_is_python_s(code, status):
    from engine.console import exit_status

    assert exit_status(code) == status


@pytest.mark.parametrize("args", [["solve", "--no-write"], ["validate"]])
def test_the_console_script_collects_garbage_again_once_started(args):
    """``critmin`` holds the collector off while it starts (engine.console): ``solve`` releases it once the scenario
    is loaded, any other command when it is chosen (``--help`` and ``--version`` print and leave before that). Nothing
    is left held, and what start-up made is frozen."""
    script = (f"import atexit, gc, sys; sys.argv = ['critmin', *{args!r}]\n"
              "atexit.register(lambda: print('GC', gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr))\n"
              "from engine.console import run; run()")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0
    enabled, frozen = done.stderr.split("GC ")[-1].split()[:2]
    assert enabled == "True" and frozen == "True"


def test_the_collector_is_left_alone_outside_the_console_script():
    """From Python (``engine.api.solve``) nothing holds or freezes the collector."""
    import gc

    from engine.console import release_collection

    frozen = gc.get_freeze_count()
    release_collection()
    assert gc.isenabled() and gc.get_freeze_count() == frozen


@pytest.mark.parametrize("name,given,expected", [
    ("OPENBLAS_NUM_THREADS", None, "1"), ("OPENBLAS_NUM_THREADS", "3", "3"),
    ("NUMPY_MADVISE_HUGEPAGE", None, "0"), ("NUMPY_MADVISE_HUGEPAGE", "1", "1")])
def test_the_console_script_starts_numpy_as_set_unless_told_otherwise(name, given, expected):
    """``critmin`` starts numpy's OpenBLAS with one thread (the same sums on any number of cores, no threads to
    start) and without huge-page advice (engine.console.numpy_settings). A value the user set is kept."""
    import os

    script = ("import atexit, os, sys; sys.argv = ['critmin', 'solve', '--no-write', '--no-impacts']\n"
              f"atexit.register(lambda: print('SET', os.environ.get({name!r}), "
              "'numpy' in sys.modules, file=sys.stderr))\n"
              "from engine.console import run; run()")
    env = {k: v for k, v in os.environ.items() if k != name}
    if given is not None:
        env[name] = given
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0
    assert done.stderr.split("SET ")[-1].split()[:2] == [expected, "True"]
