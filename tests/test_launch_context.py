"""The suite passes however it is launched.

A background job of a non-interactive shell (``bash -c 'make test' &``), and some launchers, start the test process
with SIGINT ignored, and Python keeps it ignored. The tests that need Ctrl-C set up the signal state themselves
(``sigint_as_at_a_terminal`` in conftest); this runs them in a child that inherits SIGINT ignored, as such a job
would, and in one that inherits the usual state.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIGNAL_TESTS = ["tests/test_interrupt.py"]


@pytest.mark.parametrize("sigint", [signal.SIG_IGN, signal.SIG_DFL], ids=["sigint-ignored", "sigint-default"])
def test_the_signal_tests_pass_whatever_sigint_state_they_inherit(sigint):
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SIGNAL_TESTS],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout
