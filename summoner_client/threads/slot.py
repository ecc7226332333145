"""``AsyncSlot``: a synchronous loop drives one awaitable at a time, and never blocks on it.

Why it exists: game frame loops, GUIs and notebooks run synchronous code that must keep its pace.
They want answers from async code (an agent's reply, a lookup), but they cannot ``await``, and a
blocking wait would drop frames. The slot owns one daemon thread running one long-lived event loop;
the synchronous side submits a call on one frame and polls for its result on later ones::

    slot = AsyncSlot("oracle")
    while running:                                   # the program's own frame loop
        slot.submit(lambda: agent_thread.submit(ask))    # False while the last call is in flight
        answer = slot.poll()                             # None until a fresh result arrives
        if answer is not None:
            last_answer = answer
        draw(last_answer)

What belongs here: the slot and the thread that runs its loop. What does not: anything about clients.
A client runs on its own thread (``client_thread.ClientThread``), and its ``Handle`` is awaitable, so a
slot bridges to a client the way it bridges to any other awaitable.

Who touches what. The caller's thread calls ``submit``, ``poll``, ``pending``, ``cancel`` and
``close``. The slot's thread runs the loop; it alone calls the factory, creates the task and settles
it. The state both sides read (busy flag, generation, unpolled result) sits behind one lock that is
never held across a wait or a callback into user code.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final, Generic, TypeVar

from summoner_client.errors import SlotClosed
from summoner_client.threads._loops import (
    DEFAULT_DRAIN_TIMEOUT,
    drain_loop,
    refuse_blocking_on,
    require_factory,
)

__all__ = ["DEFAULT_CLOSE_TIMEOUT", "AsyncSlot"]

T = TypeVar("T")

_log = logging.getLogger(__name__)

DEFAULT_CLOSE_TIMEOUT: Final = 5.0
"""Seconds ``close()`` waits for the slot's thread; past it a warning is logged and the daemon is left."""


class AsyncSlot(Generic[T]):
    """Run one awaitable at a time on a private loop, driven from synchronous code that never blocks.

    - ``submit(factory)`` returns at once. While a call is in flight it returns ``False`` and does not
      call ``factory``, so no coroutine is created only to be dropped (no "never awaited" warning).
    - ``poll()`` never blocks: it returns a freshly completed result exactly once, else ``None``. A
      newer result replaces one that was never polled. A call that fails is logged with its exception
      and ``poll()`` returns ``None``, so the caller keeps its last good value.
    - ``cancel()`` cancels the call in flight and frees the slot at once; the loop keeps running.
    - ``close()`` cancels, stops the loop, joins the thread; it is idempotent. After it, ``submit``
      raises :class:`SlotClosed`: a closed slot is a programming error, not a busy one, and returning
      ``False`` would make a frame loop wait forever for a result that cannot come.

    The factory runs on the slot's thread, on its running loop, so it may create tasks and futures
    there. It also reads its variables there: capture values at submit time
    (``functools.partial(ask, position)``), not state the caller keeps changing. Since ``poll()``
    returns ``None`` for "nothing new", a call whose result is ``None`` is indistinguishable from no
    result; return something else if the difference matters.

    Constructing a slot does no work; its thread and loop start with the first ``submit``.

    Args:
        name: Names the thread and the log lines.
    """

    def __init__(self, name: str = "async-slot") -> None:
        self.name = name
        # One lock for everything both threads read; the condition wakes wait() when the slot frees.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self._busy = False  # a submitted call whose outcome is still to come
        # Bumped by submit, cancel and close. An outcome carries the generation it was started
        # under; one that no longer matches belongs to a cancelled call and is dropped silently.
        self._generation = 0
        self._has_result = False
        self._result: T | None = None
        self._last_error: BaseException | None = None
        # Slot thread only: the task in flight and its generation.
        self._task: asyncio.Future[T] | None = None
        self._task_generation = -1

    # ------------------------------------------------------------------ caller side

    @property
    def pending(self) -> bool:
        """True while a submitted call has not produced its outcome (and was not cancelled)."""
        return self._busy

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    @property
    def last_error(self) -> BaseException | None:
        """The exception of the most recent failed call, for callers that want more than the log line."""
        return self._last_error

    def submit(self, factory: Callable[[], Awaitable[T]]) -> bool:
        """Start ``factory()`` on the slot's loop unless a call is already in flight; never blocks.

        Args:
            factory: Called with no arguments on the slot's thread; returns the awaitable to run
                (a coroutine, a future of the slot's loop, a ``Handle``, any object with ``__await__``).

        Returns:
            True if the call was started, False if one is still in flight (``factory`` was not called).

        Raises:
            SlotClosed: The slot was closed.
            TypeError: ``factory`` is a coroutine object (``submit(ask())`` instead of ``submit(ask)``) or
                not callable.
        """
        require_factory(factory, "AsyncSlot.submit()")
        with self._lock:
            if self._closed:
                raise SlotClosed(self.name)
            if self._busy:
                return False
            self._busy = True
            self._generation += 1
            loop = self._ensure_thread()
            # Scheduled under the lock, so it is queued before the shutdown callback of a close()
            # racing with us: the loop runs callbacks in order, so this call starts and is then cancelled.
            loop.call_soon_threadsafe(self._begin, factory, self._generation)
        return True

    def poll(self) -> T | None:
        """Return the result of a call completed since the last poll, once; otherwise None. Never blocks."""
        with self._lock:
            if not self._has_result:
                return None
            result, self._result, self._has_result = self._result, None, False
            return result

    def cancel(self) -> bool:
        """Cancel the call in flight and free the slot at once; the loop keeps running.

        The cancelled call unwinds on the slot's loop while the next one may already start; whatever it
        produces is discarded.

        Returns:
            True if a call was in flight.
        """
        with self._lock:
            if not self._busy or self._loop is None:
                return False
            cancelled = self._generation
            self._generation += 1
            self._set_idle()
            self._loop.call_soon_threadsafe(self._cancel_task, cancelled)
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no call is in flight, at most ``timeout`` seconds; for scripts, tests and shutdown.

        Returns:
            True if the slot is idle.

        Raises:
            WouldBlockLoop: Called from a coroutine running on the slot's own loop.
        """
        refuse_blocking_on(self._thread, "AsyncSlot.wait()")
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT) -> None:
        """Cancel the call in flight, stop the loop and join the thread; idempotent.

        Args:
            timeout: Seconds to wait for the thread. If it is still alive then (a call that ignores
                cancellation), a warning is logged and the daemon thread is left to the interpreter.

        Raises:
            WouldBlockLoop: Called from a coroutine running on the slot's own loop.
        """
        refuse_blocking_on(self._thread, "AsyncSlot.close()")
        with self._lock:
            first = not self._closed
            self._closed = True
            if self._busy:
                self._generation += 1  # the cancelled call's outcome is dropped without a log line
                self._set_idle()
            loop, thread = self._loop, self._thread
            if first and loop is not None:
                loop.call_soon_threadsafe(self._shutdown)
        if thread is None:
            return
        thread.join(timeout)
        if thread.is_alive():
            _log.warning("AsyncSlot %r: its thread did not stop within %s s", self.name, timeout)

    def __enter__(self) -> AsyncSlot[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "pending" if self._busy else "idle"
        return f"<AsyncSlot {self.name!r} {state}>"

    def _ensure_thread(self) -> asyncio.AbstractEventLoop:
        # Under the lock. The loop is created here and run by the thread; callbacks queued before
        # run_forever() starts simply run first, so submit never waits for the thread to come up.
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._run, args=(self._loop,), name=self.name, daemon=True)
            self._thread.start()
        return self._loop

    def _set_idle(self) -> None:
        # Under the lock.
        self._busy = False
        self._idle.notify_all()

    # ------------------------------------------------------------------ slot thread

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()  # until _shutdown() stops it
        finally:
            try:
                drain_loop(loop, timeout=DEFAULT_DRAIN_TIMEOUT)
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def _begin(self, factory: Callable[[], Awaitable[T]], generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return  # cancelled or closed before it began: the factory is never called
        try:
            task: asyncio.Future[T] = asyncio.ensure_future(factory())
        except Exception as exc:  # the factory raised or returned a non-awaitable: a failed call
            self._settle(generation, None, exc)
            return
        self._task, self._task_generation = task, generation
        task.add_done_callback(lambda done: self._finish(done, generation))

    def _finish(self, task: asyncio.Future[T], generation: int) -> None:
        if self._task is task:
            self._task = None
        if task.cancelled():
            self._settle(generation, None, None, cancelled=True)
        elif (error := task.exception()) is not None:
            self._settle(generation, None, error)
        else:
            self._settle(generation, task.result(), None)

    def _settle(
        self, generation: int, result: T | None, error: BaseException | None, *, cancelled: bool = False
    ) -> None:
        if error is not None or cancelled:
            with self._lock:
                if generation != self._generation:
                    return  # cancel() or close() already freed the slot; this outcome is nobody's
                self._last_error = error if error is not None else self._last_error
            # Logged outside the lock (handlers may be slow; the frame thread never waits on them)
            # but before the slot is freed, so whoever waits for it and then reads the log finds it.
            self._log_failure(error)
        with self._lock:
            if generation != self._generation:
                return
            self._set_idle()
            if error is None and not cancelled:
                self._result, self._has_result = result, True

    def _log_failure(self, error: BaseException | None) -> None:
        if error is None:
            _log.warning("AsyncSlot %r: the call was cancelled from inside; no result", self.name)
            return
        _log.error(
            "AsyncSlot %r: the call failed with %s: %s",
            self.name,
            type(error).__name__,
            error,
            exc_info=(type(error), error, error.__traceback__),
        )

    def _cancel_task(self, generation: int) -> None:
        # Queued by cancel() after the _begin() of the same generation, so the task exists unless
        # the factory failed or the call already finished.
        if self._task is not None and self._task_generation == generation:
            self._task.cancel()

    def _shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
        asyncio.get_running_loop().stop()  # _run() then drains the loop, awaiting the cancelled task
