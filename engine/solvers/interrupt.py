"""HiGHS runs that Ctrl-C stops promptly and cleanly.

``run_interruptibly(h)`` is ``h.run()``, except that Ctrl-C stops the solve at HiGHS's next iteration, then raises
KeyboardInterrupt; the ``Highs`` object stays usable (a later run continues from where it stopped).

How: HiGHS runs in the calling (main) thread. For the length of the run, Python's SIGINT handler only takes note,
and ``signal.set_wakeup_fd`` makes the C-level handler write the signal's number to a socket. A daemon thread
waits on that socket; on SIGINT it switches HiGHS's interrupt callback on, so the solver stops at its next
iteration. The note is turned into KeyboardInterrupt once ``run()`` has returned. Where that cannot be arranged
(another thread; a SIGINT handler or a wake-up fd that someone else installed) it is a plain ``run()``, and a
Ctrl-C waits for the end of the solve.

Why not simpler: a plain ``run()`` delays Ctrl-C to the end of the solve. highspy's ``HandleKeyboardInterrupt``
keeps the callback on for the whole run, so HiGHS calls into Python on every simplex iteration: that cost 20% of
a 45,000-iteration solve while another Python thread ran (3.35 s → 4.0 s, median of 5), and when Ctrl-C raised
inside that callback, HiGHS reported "Solve error" and the object crashed the process on its next run. Running
HiGHS in a helper thread while the main thread waits works too, but each simplex iteration was 7-10% slower
there (3.20-3.32 s against 3.00-3.03 s for the same run in the main thread, fresh processes, three rounds).
"""

from __future__ import annotations

import signal
import socket
import threading

import highspy
from highspy.highs import HighsCallbackEvent

INTERRUPT_EVENTS = ("cbSimplexInterrupt", "cbIpmInterrupt", "cbMipInterrupt")


def stop_at_next_iteration(event: HighsCallbackEvent) -> None:
    event.interrupt()


class _Watcher:
    """A daemon thread that turns a SIGINT, written to its socket by Python's C-level handler, into HiGHS's
    interrupt callback on the solver running now."""

    def __init__(self) -> None:
        self.receive, self.send = socket.socketpair()
        self.send.setblocking(False)
        self.lock = threading.Lock()
        self.running: highspy.Highs | None = None
        self.stopped: highspy.Highs | None = None  # the solver whose callback this thread switched on
        threading.Thread(target=self._serve, name="highs-interrupt", daemon=True).start()

    def _serve(self) -> None:
        while True:
            signals = self.receive.recv(64)
            if signal.SIGINT in signals:
                with self.lock:
                    if self.running is not None and self.stopped is None:
                        for event in INTERRUPT_EVENTS:
                            getattr(self.running, event).subscribe(stop_at_next_iteration)
                        self.stopped = self.running

    def start(self, h: highspy.Highs) -> None:
        with self.lock:
            self.running, self.stopped = h, None

    def finish(self) -> None:
        """No solver is running any more; switch off a callback this thread switched on."""
        with self.lock:
            stopped, self.running, self.stopped = self.stopped, None, None
        if stopped is not None:
            for event in INTERRUPT_EVENTS:
                getattr(stopped, event).unsubscribe(stop_at_next_iteration)


_WATCHER: _Watcher | None = None


def run_interruptibly(h: highspy.Highs) -> highspy.HighsStatus:
    """``h.run()``; Ctrl-C stops it at the next iteration and raises KeyboardInterrupt (see the module doc)."""
    global _WATCHER
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        return h.run()
    if _WATCHER is None:
        _WATCHER = _Watcher()
    noted: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: noted.append(signum))
    try:
        previous_fd = signal.set_wakeup_fd(_WATCHER.send.fileno(), warn_on_full_buffer=False)
        if previous_fd != -1:  # someone else's wake-up fd (an event loop): leave it, run plainly
            signal.set_wakeup_fd(previous_fd)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            return h.run()
        _WATCHER.start(h)
        try:
            status = h.run()
        finally:
            _WATCHER.finish()
            signal.set_wakeup_fd(-1)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if noted:  # HiGHS has stopped (or had just finished) and its object is usable again
        raise KeyboardInterrupt
    return status
