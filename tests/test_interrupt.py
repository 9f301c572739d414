"""Ctrl-C during a HiGHS solve: it stops promptly, raises KeyboardInterrupt, and leaves the solver usable.

The signal is a real SIGINT, sent by HiGHS's own iteration callback once the simplex is under way, so the test
does not depend on timing: the callback waits until the interrupt handler has switched HiGHS's interrupt on.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from benchmarks.config import SIZES, build_inputs, single_stage_objective
from engine.formulation import build_model
from engine.inputs.scenario import scenario_from_dict
from engine.solvers import make_backend
from engine.solvers.interrupt import run_interruptibly, stop_at_next_iteration


@pytest.fixture(scope="module")
def lp():
    dataset, scenarios, mapping = build_inputs(SIZES["tiny"])
    return build_model(scenario_from_dict(mapping, dataset, name="tiny"), scenarios).lp


def loaded(lp):
    backend = make_backend("highs")
    backend.load(lp)
    backend.set_objective(single_stage_objective(lp))
    return backend


def test_ctrl_c_stops_the_solve_and_the_backend_solves_again(lp, sigint_as_at_a_terminal):
    reference = loaded(lp).solve()
    assert reference.ok and reference.iterations > 20
    backend = loaded(lp)
    sent: list[int] = []

    def send_sigint_once(event) -> None:
        if not sent:
            sent.append(event.data_out.simplex_iteration_count)
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 10  # until the watcher thread has switched the interrupt on
            while stop_at_next_iteration not in backend.h.cbSimplexInterrupt.callbacks and time.monotonic() < deadline:
                time.sleep(0.001)

    backend.h.cbSimplexInterrupt.subscribe(send_sigint_once)
    try:
        backend.solve()
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    backend.h.cbSimplexInterrupt.unsubscribe(send_sigint_once)
    assert sent, "the solve finished before the signal was sent"
    assert interrupted, f"the SIGINT sent at iteration {sent[0]} did not stop the solve"
    assert backend.h.modelStatusToString(backend.h.getModelStatus()) == "Interrupted by user"
    assert backend.h.getInfo().simplex_iteration_count < reference.iterations
    assert backend.h.cbSimplexInterrupt.callbacks == []  # the interrupt is off again
    again = backend.solve()  # continues from where it stopped
    assert again.ok and again.objective == pytest.approx(reference.objective, rel=1e-9)


def test_outside_the_main_thread_it_is_a_plain_run(lp):
    backend = loaded(lp)
    statuses = []
    worker = threading.Thread(target=lambda: statuses.append(run_interruptibly(backend.h)))
    worker.start()
    worker.join()
    assert [str(s) for s in statuses] == ["HighsStatus.kOk"]
    assert backend.h.modelStatusToString(backend.h.getModelStatus()) == "Optimal"


def test_with_sigint_ignored_it_is_a_plain_run_and_leaves_sigint_ignored(lp):
    """A process that inherited SIGINT ignored (a background job of a non-interactive shell) keeps it ignored:
    critmin solves plainly and does not switch Ctrl-C back on."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = run_interruptibly(loaded(lp).h)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert str(status) == "HighsStatus.kOk"
