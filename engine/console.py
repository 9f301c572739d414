"""The ``critmin`` console script: the command line (``engine.cli.main``), then a quick exit.

Once a command has run, the interpreter's teardown (freeing every module and object it made: numpy, pandas,
pyarrow, the model and its tables) took 0.05-0.09 s of each ``critmin`` call, a tenth of a cold ``critmin solve``.
The script skips only that: it runs the exit handlers (``atexit``: logging, temporary folders, finalizers), flushes
stdout and stderr, and ends the process with the command's exit code. Where anything else could still be running
(a thread that is not a daemon, a worker process) or a stream cannot be flushed, it exits as Python does.
``python -m engine.cli`` and ``main()`` called from Python are unchanged.

It also holds the cyclic garbage collector off while a ``critmin solve`` starts: importing numpy, pandas, highspy,
pydantic and the engine and loading the scenario make some 80,000 long-lived objects it tracks, and each collection
walked the young ones again (about 230 collections in a cold solve, freeing next to nothing). ``release_collection``
freezes what start-up made (``gc.freeze``: the objects stay, later collections skip them) and collects as usual
from there: the ``solve`` command releases it once the scenario is loaded, before the model is built; every other
command as soon as it is chosen. Cyclic garbage made before the release is frozen with the rest and kept: about
1,200 objects of the 80,000 the collector tracks then. Measured alternated with the code before (15 rounds): 36 ms
of CPU and 31 ms of wall time less a cold solve; the collector off for the whole run saved 0-11 ms more (two runs).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading

_held = False
"""True while this process's start-up holds the collector off (``hold_collection``)."""


def hold_collection() -> None:
    """Stop the cyclic garbage collector for the start-up, if it runs (``release_collection`` starts it again)."""
    global _held
    if gc.isenabled():
        gc.disable()
        _held = True


def release_collection() -> None:
    """Keep what start-up made out of later collections (``gc.freeze``) and collect as usual again; nothing if
    ``hold_collection`` did not stop the collector."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


NUMPY_SETTINGS = {"OPENBLAS_NUM_THREADS": "1", "NUMPY_MADVISE_HUGEPAGE": "0"}
"""How the ``critmin`` command starts numpy (``numpy_settings``), unless the environment says otherwise."""


def numpy_settings() -> None:
    """Start numpy with BLAS on one thread and without its huge-page advice, unless the environment sets either.

    - ``OPENBLAS_NUM_THREADS=1`` (numpy's wheels use OpenBLAS): critmin's only BLAS calls are dot products of one
      vector with another; OpenBLAS splits one of more than 10,000 entries between its threads, so the last bits of a
      large model's objective values depended on the machine's number of cores, and after each such split the other
      threads spun for about 0.1 s of CPU. Starting its threads also cost numpy's import 25-35 ms of CPU (0.08 s
      against 0.05 s).
    - ``NUMPY_MADVISE_HUGEPAGE=0``: arrays on ordinary pages (``engine/model/pages.py``, which does the same for
      Python callers inside critmin's steps).

    Must run before numpy is imported; a value the user has set is kept."""
    for name, value in NUMPY_SETTINGS.items():
        os.environ.setdefault(name, value)


def run() -> None:
    """``critmin``: run the command line, then leave (see the module's docstring)."""
    hold_collection()
    numpy_settings()
    from engine.cli import main

    try:
        main()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    leave(code)


def exit_status(code: object) -> int:
    """The process's exit status for ``SystemExit(code)``, as Python sets it (a message is printed, status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _alone() -> bool:
    """No other thread (but daemons) and no worker process is running."""
    if any(t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return False
    children = sys.modules.get("multiprocessing")
    return children is None or not children.active_children()


def leave(code: object) -> None:
    """End the process with ``SystemExit(code)``'s status, without tearing the interpreter down when it is alone."""
    if not _alone():
        sys.exit(code)
    status = exit_status(code)  # Python prints a message before its exit handlers run; so does this
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):  # a closed pipe (critmin ... | head): let Python report it as it does
        sys.exit(status)
    os._exit(status)
