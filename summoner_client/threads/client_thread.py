"""``ClientThread``: a ``SummonerClient`` on a thread and loop of its own; ``Handle``: a call into it.

Why: agents are driven from synchronous programs (frame loops, GUIs, notebooks), and one process often
runs many clients, one thread each. ARCHITECTURE §4 gives the rules this module applies:

- **Each thread runs one loop.** The thread creates a fresh loop with ``asyncio.new_event_loop()``
  and binds it as ``client.loop`` before running (client spec §2.2), then runs the client through
  the embedding API (``start()``/``stop()``, spec §8.9), which installs no signal handlers. Signals
  belong to the main thread (``run_client_threads``).
- **Cross-thread calls are queued onto the loop.** ``submit`` hands a factory to the loop with
  ``call_soon_threadsafe``; the factory runs there, so a call cancelled before it starts never creates
  a coroutine. ``publish`` uses the client's own thread-safe publish (spec §12.2).
- **A blocking wait on the loop's own thread raises** :class:`WouldBlockLoop` instead of deadlocking.
- **No caller waits forever.** Every handle ends: with a result, an error, or a cancellation, at the
  latest when the thread stops.

What does not belong here: the client's lifecycle itself (``client.client``), and signal handling
(``_signals``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from summoner_client.errors import ClientNotRunning, HandleCancelled, HandleTimeout
from summoner_client.threads._loops import (
    DEFAULT_DRAIN_TIMEOUT,
    drain_loop,
    refuse_blocking_on,
    require_factory,
)

if TYPE_CHECKING:
    # Type-only: importing the client package costs ~0.2 s, and ``import summoner_client`` reaches
    # this module through ``AsyncSlot``. Whoever builds a ClientThread has already loaded it.
    from summoner_client.client.client import SummonerClient

__all__ = ["DEFAULT_STOP_TIMEOUT", "ClientThread", "Handle", "stop_all"]

T = TypeVar("T")

_log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT: Final = 10.0
"""Seconds ``stop()`` waits for the thread: the client's default shutdown budget (5 s) twice over."""


class Handle(Generic[T]):
    """The outcome of one ``ClientThread.submit`` call: usable from any thread, awaitable on any loop.

    ``done()``, ``cancelled()``, ``result(timeout)`` and ``cancel()`` work from any thread. ``await
    handle`` works on any running loop, including the slot loop of an :class:`AsyncSlot`, which is how
    a synchronous program waits for a client without blocking.
    """

    def __init__(self, owner: ClientThread, factory: Callable[[], Awaitable[T]]) -> None:
        self._owner = owner
        self._factory: Callable[[], Awaitable[T]] | None = factory  # dropped once used
        # PENDING until the call ends: never set_running_or_notify_cancel(), so cancel() works from any
        # thread at any time and wakes every waiter at once; the task is then cancelled on the loop.
        self._future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._task: asyncio.Future[T] | None = None  # client loop only
        self._future.add_done_callback(self._on_future_done)

    def done(self) -> bool:
        """True once the call returned, raised or was cancelled."""
        return self._future.done()

    def cancelled(self) -> bool:
        """True if the call was cancelled (by ``cancel()``, or because the thread stopped)."""
        return self._future.cancelled()

    def cancel(self) -> bool:
        """Cancel the call: at once for waiters, and on the client loop for the running coroutine.

        Returns:
            False if the call had already finished.
        """
        return self._future.cancel()

    def result(self, timeout: float | None = None) -> T:
        """Wait for the call and return its result, or raise what it raised.

        Raises:
            HandleTimeout: Not finished within ``timeout`` seconds (a ``TimeoutError``); it keeps running.
            HandleCancelled: The call was cancelled (a ``concurrent.futures.CancelledError``).
            WouldBlockLoop: Called on the client's own loop thread, where it would deadlock;
                ``await handle`` there instead.
        """
        refuse_blocking_on(self._owner._thread, "Handle.result()")
        try:
            return self._future.result(timeout)
        except concurrent.futures.CancelledError:
            if not self._future.cancelled():
                raise  # the coroutine itself raised it
            raise HandleCancelled(f"a call submitted to {self._owner.name!r}") from None
        except TimeoutError:
            if self._future.done():
                raise  # the coroutine itself raised it
            raise HandleTimeout(timeout) from None

    def __await__(self) -> Generator[Any, None, T]:
        # Called inside the awaiting task, so its loop is running. wrap_future chains both ways:
        # cancelling the awaiting task cancels this handle too, and with it the client-side task.
        return asyncio.wrap_future(self._future, loop=asyncio.get_running_loop()).__await__()

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled() else "done" if self.done() else "pending"
        return f"<Handle {state} on {self._owner.name!r}>"

    # ------------------------------------------------------------------ client loop side

    def _begin(self) -> None:
        # Runs on the client loop, queued by submit(). A handle cancelled meanwhile, or one that
        # reaches the loop after stop was asked for, ends here without its factory ever being called.
        factory, self._factory = self._factory, None
        if factory is None or self._future.done():
            return
        if not self._owner._accepting:
            self._future.cancel()
            return
        try:
            task: asyncio.Future[T] = asyncio.ensure_future(factory())
        except Exception as exc:  # the factory raised, or returned something that is not awaitable
            self._settle(self._future.set_exception, exc)
            return
        self._task = task
        task.add_done_callback(self._on_task_done)

    def _on_task_done(self, task: asyncio.Future[T]) -> None:
        self._task = None
        if task.cancelled():
            self._future.cancel()
        elif (error := task.exception()) is not None:
            self._settle(self._future.set_exception, error)
        else:
            self._settle(self._future.set_result, task.result())

    def _settle(self, setter: Callable[[Any], None], outcome: Any) -> None:
        # Another thread may cancel the future between any check and the set: losing that race is fine.
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            setter(outcome)

    def _cancel_task(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _on_future_done(self, future: concurrent.futures.Future[T]) -> None:
        # Runs on whichever thread ended the future. A cancellation from outside reaches the
        # coroutine through the loop; a closed loop means the task is gone already.
        self._owner._forget(self)
        if future.cancelled():
            self._owner._call_soon(self._cancel_task)


class ClientThread:
    """Run a ``SummonerClient`` on a daemon thread with its own event loop.

    ``start()`` starts the thread, which binds a fresh loop as ``client.loop`` and runs
    ``client.start(host, port, ...)`` on it; ``stop()`` asks the client to quit and waits for the
    thread. The thread never installs signal handlers (see :func:`run_client_threads`).

    Attributes:
        client: The client this thread runs.
        started: Set once the client's first session is connected.
        exited: Set once the thread has finished and its loop is closed.
        thread_error: The exception that ended the client's run, None after a clean exit. It is also
            logged at ERROR.

    A run that ends on its own after connecting (a handler calling ``quit()``, a strict-mode failure)
    is seen when ``stop()`` is called: the client's public API offers no way to await the end of a run
    started with ``start()`` short of stopping it.

    Args:
        client: The client to run; it must not be running elsewhere. Any loop bound to it is replaced.
        host, port, config_path, config_dict: As for ``client.run_client`` (spec §8.2).
        name: The thread's name; ``"summoner-client-<client name>"`` by default.
    """

    def __init__(
        self,
        client: SummonerClient,
        host: str = "127.0.0.1",
        port: int = 8888,
        config_path: str | None = None,
        config_dict: dict[str, Any] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.client = client
        self.host = host
        self.port = port
        self.config_path = config_path
        self.config_dict = config_dict
        self.name = name if name is not None else f"summoner-client-{client.name}"
        self.started = threading.Event()
        self.exited = threading.Event()
        self.thread_error: BaseException | None = None
        # Set when started or exited is, whichever comes first: wait_started() wakes on either.
        self._settled = threading.Event()
        # Reentrant: a handle's done callback (which takes it) can fire inside a section that holds it.
        self._lock = threading.RLock()
        self._handles: set[Handle[Any]] = set()  # submitted and not yet ended
        self._accepting = False  # between start() and stop or the end of the run: calls may begin
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested: asyncio.Event | None = None  # set on the client loop only
        self._starting: asyncio.Future[None] | None = None  # client loop only
        self._exit_callbacks: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ any thread

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The thread's event loop (also ``client.loop``); None before ``start()``."""
        return self._loop

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ClientThread:
        """Start the thread and return at once; ``started`` is set once the client is connected.

        Raises:
            RuntimeError: The thread was already started (a ClientThread runs once, like a Thread), or
                the client is running elsewhere: rebinding its loop would break that run.
        """
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f"ClientThread {self.name!r} was already started")
            if _is_running(self.client):
                raise RuntimeError(f"client {self.client.name!r} is already running; stop it first")
            loop = asyncio.new_event_loop()
            self.client.loop = loop  # bound before running: client.start() on this loop uses it (§2.2)
            self._loop, self._stop_requested = loop, asyncio.Event()  # the event binds to loop on first use
            self._accepting = True
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
        return self

    def wait_started(self, timeout: float | None = None) -> bool:
        """Block until the client is connected or the thread has exited, at most ``timeout`` seconds.

        Another thread may wait before ``start()`` is called; the wait covers the start too.

        Returns:
            True once connected; False on timeout, or if the thread ended cleanly without connecting
            (the client gave up or was stopped).

        Raises:
            BaseException: ``thread_error``, if the thread ended with one before connecting.
            WouldBlockLoop: Called on the client's own loop thread.
        """
        refuse_blocking_on(self._thread, "ClientThread.wait_started()")
        self._settled.wait(timeout)
        if self.started.is_set():
            return True
        if self.exited.is_set() and self.thread_error is not None:
            raise self.thread_error
        return False

    def publish(self, payload: Any, *, model: object = None, timeout: float | None = None) -> None:
        """Queue ``payload`` on the client from any thread but its own (``client.publish_threadsafe``).

        Raises:
            WouldBlockLoop: Called on the client's own loop thread; ``await client.publish()`` there.
            PublishQueueFull: Still no room after ``timeout`` seconds.
            ClientNotRunning: The queue is full and no run is active to drain it.
        """
        refuse_blocking_on(self._thread, "ClientThread.publish()")
        self.client.publish_threadsafe(payload, model=model, timeout=timeout)

    def submit(self, factory: Callable[[], Awaitable[T]]) -> Handle[T]:
        """Run ``factory()`` on the client's loop and return a handle to its outcome; never blocks.

        The factory is called on the client's thread, with the client's loop running, so it may use
        the client freely (``lambda: client.travel_to(host, port)``). It reads its variables there:
        bind values at submit time with ``functools.partial``. Once stop has been asked for, or after
        the thread has ended, the handle comes back already cancelled and the factory is never called.

        Raises:
            ClientNotRunning: The thread was never started.
            TypeError: ``factory`` is a coroutine object (``submit(client.quit())``) or not callable.
        """
        require_factory(factory, "ClientThread.submit()")
        handle = Handle(self, factory)
        with self._lock:
            if self._thread is None:
                raise ClientNotRunning(f"ClientThread {self.name!r} was not started; call start() first")
            if self._accepting:
                self._handles.add(handle)
                self._call_soon(handle._begin)
                return handle
        handle.cancel()  # outside the lock: the future's callbacks run in this thread
        return handle

    def request_stop(self) -> None:
        """Ask the client to quit and return at once; ``stop()`` also waits. Safe from any thread."""
        with self._lock:
            self._accepting = False  # queued calls that have not begun never will
            event = self._stop_requested
        if event is not None:
            self._call_soon(event.set)

    def stop(self, timeout: float | None = DEFAULT_STOP_TIMEOUT) -> bool:
        """Ask the client to quit, wait for the thread, then cancel every call still unfinished.

        Cancelling whatever is left, even when the thread outlives ``timeout``, means no caller of
        ``Handle.result()`` waits forever. A thread still alive after ``timeout`` is logged as a warning
        and left to run as a daemon. Safe to call more than once, and before ``start()``.

        Returns:
            True if the thread has ended (or never started).

        Raises:
            WouldBlockLoop: Called on the client's own loop thread.
        """
        refuse_blocking_on(self._thread, "ClientThread.stop()")
        self.request_stop()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        alive = thread is not None and thread.is_alive()
        if alive:
            _log.warning(
                "ClientThread %r did not exit within %s s; cancelling its pending calls", self.name, timeout
            )
        self._cancel_handles()
        return not alive

    def __enter__(self) -> ClientThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "exited" if self.exited.is_set() else "connected" if self.started.is_set() else "new"
        if state == "new" and self._thread is not None:
            state = "starting"
        return f"<ClientThread {self.name!r} {state}>"

    def _call_soon(self, callback: Callable[[], object]) -> None:
        # The loop closes when the thread ends; a callback that arrives later has nothing left to do.
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback)

    def _forget(self, handle: Handle[Any]) -> None:
        with self._lock:
            self._handles.discard(handle)

    def _cancel_handles(self) -> None:
        with self._lock:
            pending = list(self._handles)
        for handle in pending:  # outside the lock: cancel() runs the handle's callbacks here
            handle.cancel()

    def _on_exit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the thread has exited (at once if it has); for ``run_client_threads``."""
        with self._lock:
            if not self.exited.is_set():
                self._exit_callbacks.append(callback)
                return
        callback()

    # ------------------------------------------------------------------ the client's thread

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)  # this thread's loop, for library code still calling get_event_loop()
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # SystemExit from user code: recorded, never lost in a thread
            self._record(exc)
        finally:
            self._wind_down(loop)

    async def _serve(self) -> None:
        try:
            await self._run_until_stop_requested()
        except Exception as exc:
            self._record(exc)
        finally:
            await self._stop_client()

    async def _run_until_stop_requested(self) -> None:
        stop = self._stop_requested
        assert stop is not None
        if stop.is_set():
            return  # stop() came before the loop ran: never connect
        client = self.client
        self._starting = starting = asyncio.ensure_future(
            client.start(self.host, self.port, config_path=self.config_path, config_dict=self.config_dict)
        )
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                return  # stop asked for while connecting: _stop_client ends the attempt
            starting.result()  # a configuration error, or a run that failed before connecting
            if not _is_running(client):
                return  # the run ended without an error before connecting: retries exhausted, or quit
            self.started.set()
            self._settled.set()
            # Either stop() is asked for, or the run ends by itself (a handler quit, retries ran
            # out, strict mode): both end this thread, and _stop_client collects the outcome.
            ended = asyncio.ensure_future(client.wait_stopped())
            try:
                await asyncio.wait({stopping, ended}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                ended.cancel()
        finally:
            stopping.cancel()

    async def _stop_client(self) -> None:
        # client.stop() quits, awaits the run task that start() created, and re-raises what the run
        # failed with. If start() is still waiting for its first connection it is cancelled, then
        # stopped again: that covers a start() that had not yet created its run task the first time.
        await self._stop_run()
        starting, self._starting = self._starting, None
        if starting is None:
            return
        if not starting.done():
            starting.cancel()
            await asyncio.wait({starting})
            await self._stop_run()
        if not starting.cancelled() and (error := starting.exception()) is not None:
            self._record(error)  # the same error stop() raised is not recorded twice: the first one stays

    async def _stop_run(self) -> None:
        try:
            await self.client.stop()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this task is being cancelled: not ours to swallow
            # otherwise the run was ended by a second shutdown: it is over, which is all we wait for
        except Exception as exc:
            self._record(exc)

    def _record(self, exc: BaseException) -> None:
        if self.thread_error is None:
            self.thread_error = exc
            _log.error("ClientThread %r: the client failed: %s", self.name, exc, exc_info=exc)

    def _wind_down(self, loop: asyncio.AbstractEventLoop) -> None:
        # Order matters. Refuse new calls first, so the drain below cannot begin one; then cancel and
        # await what still runs (the handles' tasks end cancelled); then cancel the handles whose
        # _begin never ran; only then close the loop and announce the exit.
        with self._lock:
            self._accepting = False
        try:
            drain_loop(loop, timeout=DEFAULT_DRAIN_TIMEOUT)
        except Exception:  # a broken cleanup must not leave callers of result() waiting forever
            _log.exception("ClientThread %r: cleaning up its loop failed", self.name)
        finally:
            asyncio.set_event_loop(None)
            self._cancel_handles()
            loop.close()
            with self._lock:
                callbacks, self._exit_callbacks = self._exit_callbacks, []
                self.exited.set()
            self._settled.set()
            for callback in callbacks:
                try:
                    callback()
                except Exception:  # one observer's bug must not hide the exit from the others
                    _log.exception("ClientThread %r: an exit callback failed", self.name)


def _is_running(client: SummonerClient) -> bool:
    """True while ``client`` has a run in progress (connecting, connected, backing off or stopping)."""
    # Imported here, see the TYPE_CHECKING note; by now the caller has loaded the client package.
    from summoner_client.client.status import ClientStatus  # noqa: PLC0415

    return client.status not in (ClientStatus.NEW, ClientStatus.STOPPED)


def stop_all(threads: Iterable[ClientThread], timeout: float | None = DEFAULT_STOP_TIMEOUT) -> bool:
    """Stop many client threads together, within one ``timeout`` for all of them.

    Every client is asked to quit before any is waited for, so N graceful shutdowns overlap instead
    of queueing behind each other.

    Returns:
        True if every thread has ended.

    Raises:
        WouldBlockLoop: Called on the loop thread of one of ``threads``.
    """
    threads = list(threads)
    for thread in threads:
        refuse_blocking_on(thread._thread, "stop_all()")
    for thread in threads:
        thread.request_stop()
    deadline = None if timeout is None else time.monotonic() + timeout
    ended = True
    for thread in threads:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        ended = thread.stop(remaining) and ended
    return ended
