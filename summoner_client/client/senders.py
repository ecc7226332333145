"""The outbound side of a session: send_queue, workers, plain sender loops, the reactive dispatcher and
the publisher (spec §5.4-§5.11, §12.2). The timed scheduler lives in ``_timed``.

Who owns what: every task here is created in the session's TaskGroup, so the group awaits it. Producers
(plain loops, dispatcher, scheduler, publisher) are cancelled one by one when the session stops intake;
workers keep running until the group ends, so an invocation in progress when quit arrives finishes and
its payloads are still written (spec §8.5).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from pydantic import BaseModel

from summoner_client.client._invocation import SendInvocation, passes_when_data
from summoner_client.client._pipeline import NO_SNAPSHOT, SNAPSHOT_FAILED, BridgeItem, short_repr
from summoner_client.client._plan import BoundSender, DispatchPlan, PlanCache
from summoner_client.client._stats import ClientStats
from summoner_client.client._timed import TimedScheduler
from summoner_client.client.outbox import Encoded, Outbox, Pending, PublishQueue
from summoner_client.config.client import SenderConfig
from summoner_client.protocol.payload import wrap_with_types
from summoner_client.protocol.validation import handler_name
from summoner_client.protocol.wire import relayed_line_estimate

__all__ = ["WIRE_VERSION", "OutboundEncoder", "SendInvocation", "SenderRuntime"]

WIRE_VERSION: Final = "1.3.0"
"""``SummonerClient.core_version``: the ``_version`` of every envelope we write."""
_WARN_INTERVAL: Final = 1.0


class OutboundEncoder:
    """Model dump, send hooks, envelope and the outbound line limit: the path every outgoing payload takes."""

    def __init__(
        self, plans: PlanCache, config: SenderConfig, stats: ClientStats, logger: logging.Logger
    ) -> None:
        self._plans = plans
        self._limit = config.max_bytes_per_line
        self._stats = stats
        self._logger = logger
        self.on_hook_error: Callable[[BaseException], None] = lambda exc: None

    async def encode(self, payload: Any, route: str, model: Any) -> bytes | None:
        """Return the line for ``payload``, or None when a send hook dropped it.

        Raises:
            Exception: validation against ``model``, encoding, or the outbound limit failed; the
                caller fails the invocation (or the ``publish`` call).
        """
        if model is not None and not isinstance(payload, BaseModel):
            payload = model.validate_python(payload)
        if isinstance(payload, BaseModel):
            payload = payload.model_dump(mode="json")  # hooks always see plain JSON-compatible data
        for priority, hook in self._plans.current().send_hooks:
            try:
                result = await hook(payload)
            except Exception as exc:
                self._stats.hook_errors += 1
                self._logger.exception(
                    "[route=%s] Sending hook %s (priority=%s) failed on payload %s: %s",
                    route,
                    handler_name(hook),
                    priority,
                    short_repr(payload),
                    exc,
                )
                self.on_hook_error(exc)
                continue
            if result is None:
                return None
            payload = result
        line = wrap_with_types(payload, WIRE_VERSION)
        if self._limit is not None and len(line) > (self._limit - 89) // 12:
            # Cheap pre-check: only lines that could possibly exceed the limit pay for the estimate.
            estimate = relayed_line_estimate(line)
            if estimate > self._limit:
                self._stats.lines_outbound_oversize += 1
                message = (
                    f"Outgoing line of {estimate} bytes would be relayed as more than {self._limit} bytes; "
                    "not sent"
                )
                self._logger.error(message)
                raise ValueError(message)
        return line.encode()


class SenderRuntime:
    """Everything that produces and executes sender invocations for one session."""

    def __init__(
        self,
        *,
        plans: PlanCache,
        config: SenderConfig,
        encoder: OutboundEncoder,
        outbox: Outbox,
        publish_queue: PublishQueue,
        bridge: asyncio.Queue[BridgeItem],
        stats: ClientStats,
        logger: logging.Logger,
        disabled: set[str],
        on_abort: Callable[[], None],
        on_fatal: Callable[[BaseException], None] | None,
    ) -> None:
        self._plans = plans
        self._config = config
        self._encoder = encoder
        self._outbox = outbox
        self._publish_queue = publish_queue
        self.bridge = bridge
        self._stats = stats
        self._logger = logger
        self._disabled = disabled  # registration ids switched off by "disable_sender"; lives per run
        self._on_abort = on_abort
        self._on_fatal = on_fatal
        # Bounded: producers wait while it is full (spec §5.10); a WARNING fires above 80 %.
        self.send_queue: asyncio.Queue[SendInvocation] = asyncio.Queue(config.queue_maxsize)
        self._errors: dict[str, int] = {}  # consecutive failures per registration id [D-8]
        self._running = 0  # invocations executing now
        self._idle = asyncio.Event()  # set while no invocation executes
        self._idle.set()
        self._last_queue_warning = 0.0
        self._producers: list[asyncio.Task[None]] = []
        self.scheduler: TimedScheduler | None = None

    # ------------------------------------------------------------------ task management

    def start(self, tasks: asyncio.TaskGroup, plan: DispatchPlan) -> None:
        """Create workers and producers in the session's group."""
        for _ in range(self._config.concurrency_limit):
            tasks.create_task(self._worker_loop())
        for item in plan.skipped:
            self._logger.warning(
                "Skipping sender '%s' on route '%s': "
                "use_data=True requires a reactive sender running with flow enabled",
                item.name,
                item.route,
            )
        producers = [self._plain_loop(item) for item in plan.plain]
        if plan.flow_active:
            producers.append(self._dispatch_loop())
        self.scheduler = TimedScheduler(
            plan.timed, self.enqueue, self._config.max_timed_pending, self._stats, self._logger
        )
        producers.append(self.scheduler.run_loop())
        producers.append(self._publish_loop())
        self._producers = [tasks.create_task(coro) for coro in producers]

    def stop_producers(self) -> list[asyncio.Task[None]]:
        """Stop creating invocations and discard the queued ones (spec §8.8 step 2).

        Returns:
            The cancelled producer tasks, for the caller to await within its budget.
        """
        for task in self._producers:
            task.cancel()
        while not self.send_queue.empty():
            invocation = self.send_queue.get_nowait()
            if invocation.done is not None and not invocation.done.done():
                invocation.done.cancel()
        return [task for task in self._producers if not task.done()]

    async def wait_idle(self) -> None:
        """Wait until no invocation is executing (spec §8.8 step 3)."""
        await self._idle.wait()

    async def flush_published(self) -> None:
        """Move every queued published payload to the outbox (spec §8.8 step 4).

        Runs after the publisher was cancelled, so this is the only consumer of the queue; the caller
        bounds it with the shutdown budget. Payloads still queued when the budget ends stay queued.
        """
        queue = self._publish_queue
        while (item := queue.get_nowait()) is not None:
            await self._forward_published(item, finish_hooks=False)  # the budget's cancel is final

    # ------------------------------------------------------------------ producers

    async def enqueue(self, invocation: SendInvocation) -> None:
        """Put an invocation into ``send_queue``, waiting for room; warn above 80 % (rate-limited)."""
        queue = self.send_queue
        await queue.put(invocation)
        size, maxsize = queue.qsize(), queue.maxsize
        if size * 5 > maxsize * 4:
            now = time.monotonic()
            if now - self._last_queue_warning >= _WARN_INTERVAL:
                self._last_queue_warning = now
                self._logger.warning(
                    "Queue is about to exceed 80%% its capacity; Attempted load size: %d out of %d",
                    size,
                    maxsize,
                )

    async def _plain_loop(self, bound: BoundSender) -> None:
        # One invocation at a time for this sender only [D-19]: a sender blocked on stdin holds back
        # nobody else. The idle delay is the documented back-off, not a poll.
        loop = asyncio.get_running_loop()
        rid = bound.sender.registration_id
        idle_delay = self._config.idle_delay_secs
        while rid not in self._disabled:
            done: asyncio.Future[bool] = loop.create_future()
            await self.enqueue(SendInvocation(bound, None, done))
            produced = await done
            await asyncio.sleep(0 if produced else idle_delay)

    async def _dispatch_loop(self) -> None:
        # Ticks arrive in order; a tick's invocations are enqueued at once, not awaited [D-19].
        tick: list[BridgeItem] = []
        bridge = self.bridge
        while True:
            item = await bridge.get()
            tick.append(item)
            if item.last:
                await self._dispatch_tick(tick)
                tick = []

    async def _dispatch_tick(self, tick: list[BridgeItem]) -> None:
        plan = self._plans.current()
        invocations: list[SendInvocation] = []
        coalesced: set[str] = set()  # use_data=False senders fire at most once per tick, by id [D-4]
        for item in tick:
            for bound in plan.reactive_for(item.route):
                sender = bound.sender
                if sender.registration_id in self._disabled or not sender.responds_to(item.event):
                    continue
                if sender.every is not None:
                    if self.scheduler is not None:
                        self.scheduler.arm(bound, self._capture(bound, item) if sender.use_data else None)
                    continue
                if sender.use_data:
                    data = self._capture(bound, item)
                    if data is not SNAPSHOT_FAILED and passes_when_data(bound, data, self._logger):
                        invocations.append(SendInvocation(bound, data))
                elif sender.registration_id not in coalesced:
                    coalesced.add(sender.registration_id)
                    invocations.append(SendInvocation(bound))
        for invocation in invocations:
            await self.enqueue(invocation)

    def _capture(self, bound: BoundSender, item: BridgeItem) -> Any:
        if bound.sender.data_mode != "snapshot":
            return item.event.data  # live: the receiver's own object
        if item.snapshot is SNAPSHOT_FAILED:
            return SNAPSHOT_FAILED
        source = item.event.data if item.snapshot is NO_SNAPSHOT else item.snapshot
        try:
            return copy.deepcopy(source)  # each invocation gets its own copy (spec §5.9)
        except Exception as exc:
            self._logger.warning(
                "Failed to capture sender snapshot data for event on route '%s': %s: %s",
                item.route,
                type(exc).__name__,
                exc,
            )
            return SNAPSHOT_FAILED

    async def _publish_loop(self) -> None:
        queue = self._publish_queue
        outbox = self._outbox
        while True:
            await outbox.wait_for_room()
            await self._forward_published(await queue.get(), finish_hooks=True)

    async def _forward_published(self, item: Any, *, finish_hooks: bool) -> None:
        """Encode one published item (send hooks run here, once) and put its line into the outbox.

        Cancelled between queue and outbox (the session ends, perhaps on a lost connection), the item
        goes back to the head of the queue, so nothing published is lost within the bound. Once the
        hooks have produced a line, that line goes back, never the payload: the hooks do not run twice.
        With ``finish_hooks`` a first cancellation lets running hooks finish (see ``_encode_once``).
        """
        queue = self._publish_queue
        if isinstance(item, Encoded):
            line: bytes | None = item.data
        elif finish_hooks:
            line = await self._encode_once(item)
        else:
            try:
                line = await self._encode_published(item.payload)
            except asyncio.CancelledError:
                queue.push_front([item])  # hooks cut off mid-way: the payload is encoded again later
                raise
        if line is None:
            return
        try:
            await self._outbox.put_group([line], published=True)
        except asyncio.CancelledError:
            queue.push_front([Encoded(line)])
            raise

    async def _encode_once(self, item: Pending) -> bytes | None:
        # The publisher's hooks run in a task of their own that the first cancellation (the session
        # stopping its producers) does not interrupt: they finish, and their line is kept for the next
        # writer. The session awaits the publisher within its shutdown budget and, once it is spent,
        # cancels it again: only a hook cut off then leaves the payload to be encoded again.
        encoding = asyncio.ensure_future(self._encode_published(item.payload))
        try:
            return await asyncio.shield(encoding)
        except asyncio.CancelledError:
            try:
                line = await encoding
            except asyncio.CancelledError:
                self._publish_queue.push_front([item])
                raise
            if line is not None:
                self._publish_queue.push_front([Encoded(line)])
            raise

    async def _encode_published(self, payload: Any) -> bytes | None:
        try:
            return await self._encoder.encode(payload, "<publish>", None)
        except Exception as exc:  # already validated at publish time; an encoding failure drops it
            self._stats.publish_dropped += 1
            self._logger.error("Published payload could not be sent: %s", exc)
            return None

    # ------------------------------------------------------------------ workers

    async def _worker_loop(self) -> None:
        queue = self.send_queue
        while True:
            invocation = await queue.get()
            self._running += 1
            self._idle.clear()
            produced = False
            try:
                produced = await self._execute(invocation)
            finally:
                self._running -= 1
                if not self._running:
                    self._idle.set()
                done = invocation.done
                if done is not None and not done.done():
                    done.set_result(produced)

    async def _execute(self, invocation: SendInvocation) -> bool:
        bound = invocation.bound
        sender = bound.sender
        self._stats.invocations += 1
        model = self._plans.current().registry.send_models.get(sender.registration_id)
        try:
            result = await (sender.fn(invocation.data) if sender.use_data else sender.fn())
            lines: list[bytes] = []
            for payload in self._payloads(sender.multi, result):
                line = await self._encoder.encode(payload, bound.route, model)
                if line is not None:
                    lines.append(line)
        except Exception as exc:
            self._worker_failed(bound, exc)
            return False
        self._errors.pop(sender.registration_id, None)
        if lines:
            await self._outbox.put_group(lines)
        return bool(lines)

    @staticmethod
    def _payloads(multi: bool, result: Any) -> list[Any]:
        if not multi:
            return [] if result is None else [result]
        if result is None:
            return []  # [D-8]
        if not isinstance(result, list | tuple):
            raise TypeError(f"multi sender must return a list or tuple, got {type(result).__name__}")
        return [item for item in result if item is not None]

    def _worker_failed(self, bound: BoundSender, exc: BaseException) -> None:
        rid = bound.sender.registration_id
        count = self._errors[rid] = self._errors.get(rid, 0) + 1
        self._stats.sender_errors += 1
        self._logger.error("Worker for %s crashed (%d in a row): %s", bound.name, count, exc, exc_info=exc)
        if self._on_fatal is not None:
            self._on_fatal(exc)
            return
        if count < self._config.max_worker_errors:
            return
        if self._config.on_max_worker_errors == "stop":
            self._logger.critical("%d consecutive worker failures; shutting down sender loop", count)
            self._on_abort()
        else:
            self._logger.critical(
                "%d consecutive worker failures; disabling sender '%s' on route '%s'",
                count,
                bound.name,
                bound.route,
            )
            self._disabled.add(rid)
