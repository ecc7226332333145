"""The timed scheduler (spec §5.8): cadence, ``run_while`` gates, arming by ticks, never a busy wait.

One ``TimedSenderRuntime`` per timed sender per session holds its armed flag, pending data, next due
time, the batch in flight and a pending asynchronous gate. The scheduler sleeps until the earliest due
time or until something wakes it (a tick arming a sender, a batch finishing, a gate resolving). A sender
whose batch is still running is simply not a candidate, so a batch that outlasts ``every`` makes the
scheduler wait for it rather than spin with zero timeouts **[D-17]**. The only timer-driven re-check is
a paused plain sender's gate, every ``min(every, 0.1)`` seconds, as the spec allows.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from summoner_client.client._invocation import SendInvocation, passes_when_data
from summoner_client.client._pipeline import SNAPSHOT_FAILED
from summoner_client.client._plan import BoundSender
from summoner_client.client._stats import ClientStats

__all__ = ["TimedScheduler", "TimedSenderRuntime"]

_GATE_RECHECK: Final = 0.1
_WARN_INTERVAL: Final = 1.0
_UNSET: Final = object()


@dataclass(eq=False)
class TimedSenderRuntime:
    """The per-session state of one timed sender; reset at every session start and end."""

    bound: BoundSender
    every: float
    reactive: bool
    armed: bool = False
    next_due: float = 0.0
    pending: deque[Any] = field(default_factory=deque)  # captured data of matching events, bounded
    in_flight: int = 0  # invocations of the current batch not finished yet
    gate_task: asyncio.Task[Any] | None = None  # an awaitable run_while being evaluated
    gate_result: Any = _UNSET  # the finished async gate, consumed by the next scheduling pass
    recheck_at: float | None = None  # a paused plain sender re-evaluates its gate then


class TimedScheduler:
    """Drives every timed sender of a session; ``run_loop`` is a producer task of the session."""

    def __init__(
        self,
        senders: list[BoundSender],
        enqueue: Callable[[SendInvocation], Awaitable[None]],
        max_pending: int,
        stats: ClientStats,
        logger: logging.Logger,
    ) -> None:
        self._enqueue = enqueue
        self._max_pending = max_pending
        self._stats = stats
        self._logger = logger
        self._wake = asyncio.Event()  # set by arm(), a finished batch or a finished gate
        self._last_drop_warning = 0.0
        self.runtimes: dict[str, TimedSenderRuntime] = {
            item.sender.registration_id: TimedSenderRuntime(
                item,
                float(item.sender.every or 0.0),
                reactive=item.sender.is_reactive and item.sender.every is not None,
            )
            for item in senders
        }
        self._reactive_ids = {rid for rid, rt in self.runtimes.items() if rt.reactive}

    def arm(self, bound: BoundSender, data: Any) -> None:
        """A matching event arrived: arm the sender (due at once) and keep its data when it uses data."""
        runtime = self.runtimes.get(bound.sender.registration_id)
        if runtime is None or not runtime.reactive:
            return
        if not runtime.armed:
            runtime.armed = True
            runtime.next_due = asyncio.get_running_loop().time()  # due at once; later events keep the cadence
        if bound.sender.use_data:
            if data is SNAPSHOT_FAILED:
                return
            if len(runtime.pending) >= self._max_pending:
                runtime.pending.popleft()  # oldest first (spec §12.5)
                self._stats.timed_pending_dropped += 1
                now = time.monotonic()
                if now - self._last_drop_warning >= _WARN_INTERVAL:
                    self._last_drop_warning = now
                    self._logger.warning(
                        "Timed sender '%s' has %d pending items; dropping the oldest",
                        bound.name,
                        self._max_pending,
                    )
            runtime.pending.append(data)
        self._wake.set()

    async def run_loop(self) -> None:
        """Sleep until the next due time or a wake-up, fire what is due, repeat; cancelled at session end."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._wake.clear()
                deadline = await self._run_due(loop)
                if deadline is None:
                    await self._wake.wait()
                    continue
                delay = deadline - loop.time()
                if delay > 0:
                    try:
                        async with asyncio.timeout(delay):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
        finally:
            await self._cancel_gates()

    async def _cancel_gates(self) -> None:
        gates = [rt.gate_task for rt in self.runtimes.values() if rt.gate_task is not None]
        for task in gates:
            task.cancel()
        if gates:
            await asyncio.gather(*gates, return_exceptions=True)

    async def _run_due(self, loop: asyncio.AbstractEventLoop) -> float | None:
        """Fire every due sender; return the earliest time something becomes due, or None."""
        earliest: float | None = None
        for runtime in list(self.runtimes.values()):
            if runtime.reactive and not runtime.armed:
                continue  # waits for an event (arm wakes us)
            if runtime.in_flight or runtime.gate_task is not None:
                continue  # no overlap: the batch or the gate wakes us when it finishes
            now = loop.time()
            due = self._due(runtime)
            if due > now and runtime.gate_result is _UNSET:
                earliest = due if earliest is None else min(earliest, due)
                continue
            await self._fire(runtime, loop)
            if (
                not runtime.in_flight
                and runtime.gate_task is None
                and (runtime.armed or not runtime.reactive)
            ):
                nxt = self._due(runtime)
                earliest = nxt if earliest is None else min(earliest, nxt)
        return earliest

    @staticmethod
    def _due(runtime: TimedSenderRuntime) -> float:
        # A paused plain sender keeps its (past) due time and is looked at again at its recheck time.
        return runtime.next_due if runtime.recheck_at is None else max(runtime.recheck_at, runtime.next_due)

    async def _fire(self, runtime: TimedSenderRuntime, loop: asyncio.AbstractEventLoop) -> None:
        gate = self._gate(runtime)
        if gate is None:
            return  # an awaitable gate is running in its own task
        now = loop.time()
        if not gate:
            if runtime.reactive:
                runtime.armed = False  # needs a new matching event
                runtime.pending.clear()
            else:
                runtime.recheck_at = now + min(runtime.every, _GATE_RECHECK)  # paused; keeps its due time
            return
        runtime.recheck_at = None
        runtime.next_due = now + runtime.every
        await self._dispatch(runtime, loop)

    def _gate(self, runtime: TimedSenderRuntime) -> bool | None:
        """Evaluate ``run_while``: True/False now, or None while an awaitable result is pending."""
        if runtime.gate_result is not _UNSET:
            result, runtime.gate_result = runtime.gate_result, _UNSET
            return bool(result)
        run_while = runtime.bound.sender.run_while
        if run_while is None or isinstance(run_while, bool):
            return run_while is None or run_while
        try:
            result = run_while()
        except Exception as exc:
            self._logger.warning("run_while predicate failed: %s: %s", type(exc).__name__, exc)
            return False
        if not inspect.isawaitable(result):
            return bool(result)
        # The sender waits for its gate; the scheduler does not (spec §5.8 step 2).
        runtime.gate_task = asyncio.ensure_future(result)
        runtime.gate_task.add_done_callback(lambda task: self._gate_done(runtime, task))
        return None

    def _gate_done(self, runtime: TimedSenderRuntime, task: asyncio.Future[Any]) -> None:
        runtime.gate_task = None
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._logger.warning("run_while predicate failed: %s: %s", type(exc).__name__, exc)
            runtime.gate_result = False
        else:
            runtime.gate_result = task.result()
        runtime.recheck_at = None  # the finished gate decides at the next pass, at once
        self._wake.set()

    async def _dispatch(self, runtime: TimedSenderRuntime, loop: asyncio.AbstractEventLoop) -> None:
        bound = runtime.bound
        if bound.sender.use_data:
            items = [data for data in runtime.pending if passes_when_data(bound, data, self._logger)]
            runtime.pending.clear()  # an empty buffer dispatches nothing; the cadence still advances
        else:
            items = [None]
        for data in items:
            done: asyncio.Future[bool] = loop.create_future()
            runtime.in_flight += 1
            done.add_done_callback(lambda _f: self._batch_item_done(runtime))
            await self._enqueue(SendInvocation(bound, data, done))

    def _batch_item_done(self, runtime: TimedSenderRuntime) -> None:
        runtime.in_flight -= 1
        if not runtime.in_flight:
            self._wake.set()  # a late batch lets the sender run once at once, with no catch-up burst
