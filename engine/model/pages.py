"""numpy's arrays on ordinary memory pages while critmin builds a model, hands it over and reads a plan back.

On Linux numpy advises the kernel to back every array of 4 MB or more with transparent huge pages (2 MB;
``madvise(MADV_HUGEPAGE)``, numpy's "madvise hugepage" global state). Where the system's policy is ``madvise``
(Ubuntu's and Debian's default), a fault on such an array can have the kernel compact memory to find 2 MB of
contiguous pages, in the faulting process's time. A build of the 1.27M-non-zero benchmark model makes and frees some
150 MB of such arrays: alternated in fresh processes on a 2-CPU VM shared with other jobs, it took 0.33-0.64 s
with numpy's advice (0.22-0.50 s of it system time) and 0.34-0.41 s without (0.26-0.38 s), to the same model.

``ordinary_pages()`` turns numpy's advice off for the length of such a step and puts back what it found (the last
of several threads inside one puts it back). The ``critmin`` command sets ``NUMPY_MADVISE_HUGEPAGE=0`` for its whole
process (``engine/console.py``), numpy's documented switch; this is the same for Python callers, limited to
critmin's own steps. Where numpy has no such switch it does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

try:  # numpy 2
    from numpy._core.multiarray import _set_madvise_hugepage as _advise
except ImportError:  # pragma: no cover - numpy 1.x
    try:
        from numpy.core.multiarray import _set_madvise_hugepage as _advise
    except ImportError:
        _advise = None

_SET: Callable[[bool], bool] | None = _advise
"""numpy's switch: sets the advice and returns the setting it replaces."""

_lock = threading.Lock()
_inside = 0
_found: bool | None = None


@contextmanager
def ordinary_pages() -> Iterator[None]:
    """numpy's huge-page advice off inside the block (module docstring)."""
    global _inside, _found
    if _SET is None:
        yield
        return
    with _lock:
        if _inside == 0:
            _found = _SET(False)
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                _SET(bool(_found))
