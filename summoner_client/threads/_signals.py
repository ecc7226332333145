"""``run_client_threads``: the main thread waits, and Ctrl+C (or SIGTERM) stops every client thread.

Why a helper: only the main thread may install signal handlers (client spec §8.7 [D-33]), so a client
on a ``ClientThread`` never installs any, and a program running N of them must catch the signal
itself and stop all N. Doing that right has three traps this module handles once:

- a bare ``Event.wait()`` is not reliably woken by a signal (a process-directed signal may land on
  another thread, and on Windows the wait is not interruptible), so the main thread waits in short
  slices and Python gets to run its handlers between them; the slices do not decide anything, the
  event does;
- the handlers must be removed again, so a second Ctrl+C during a slow shutdown interrupts as usual;
- the threads must be asked to stop together, not one after another (``stop_all``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable, Sequence
from types import FrameType
from typing import Any, Final

from summoner_client.threads.client_thread import DEFAULT_STOP_TIMEOUT, ClientThread, stop_all

__all__ = ["TERMINATION_SIGNALS", "run_client_threads"]

TERMINATION_SIGNALS: Final[tuple[signal.Signals, ...]] = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop the threads by default: Ctrl+C and a service manager's stop."""

_SIGNAL_CHECK_INTERVAL: Final = 0.25
"""Longest stretch the main thread blocks without letting Python run a pending signal handler."""


def run_client_threads(
    threads: Iterable[ClientThread],
    *,
    stop_timeout: float | None = DEFAULT_STOP_TIMEOUT,
    signals: Sequence[signal.Signals] = TERMINATION_SIGNALS,
) -> signal.Signals | None:
    """Start the threads that are not started, wait on the main thread, then stop them all.

    Waits until one of ``signals`` arrives or every thread has exited on its own, then stops all of
    them together within ``stop_timeout``. The handlers are installed before any thread starts and the
    previous ones are restored before stopping, so a second Ctrl+C during a slow stop raises
    ``KeyboardInterrupt`` as usual (the threads are daemons and end with the process). Check each
    thread's ``thread_error`` afterwards::

        threads = [ClientThread(make_agent(i), "127.0.0.1", 8888) for i in range(8)]
        run_client_threads(threads)          # blocks until Ctrl+C
        failed = [t for t in threads if t.thread_error is not None]

    Returns:
        The signal that ended the wait, or None if every thread had exited on its own.

    Raises:
        RuntimeError: Not called on the main thread, the only one that may install signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("run_client_threads() must be called on the main thread, which owns the signals")
    threads = list(threads)
    wake = threading.Event()
    received: list[signal.Signals] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Runs on the main thread between two bytecodes: record and wake, nothing that could block.
        received.append(signal.Signals(signum))
        wake.set()

    previous: dict[signal.Signals, Any] = {sig: signal.signal(sig, on_signal) for sig in signals}
    try:
        _wake_when_all_exit(threads, wake)
        for thread in threads:
            if thread.loop is None:
                thread.start()
        while not wake.wait(_SIGNAL_CHECK_INTERVAL):
            pass  # each slice returns to the interpreter, which runs a pending handler
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        stop_all(threads, stop_timeout)
    return received[0] if received else None


def _wake_when_all_exit(threads: list[ClientThread], wake: threading.Event) -> None:
    remaining = len(threads)
    lock = threading.Lock()

    def one_exited() -> None:  # on the exiting client's thread
        nonlocal remaining
        with lock:
            remaining -= 1
            if remaining == 0:
                wake.set()

    if not threads:
        wake.set()
    for thread in threads:
        thread._on_exit(one_exited)
