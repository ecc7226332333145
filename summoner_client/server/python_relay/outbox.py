"""One client's outbound side: the bounded queue fan-out fills, and the writer that drains it.

Fan-out never waits: :meth:`Outbox.offer` decides on the spot, under the slow-consumer table of
relay spec §4.6, whether a line is queued, shed, or ends the recipient. Exactly one writer task
per connection runs :meth:`Outbox.write_loop`; it alone awaits the socket, writes batches with
``writelines`` and waits for the transport to drain under ``asyncio.timeout``. A slow reader
therefore costs nobody else anything. Also here: :class:`PolicyLog`, which aggregates a
connection's policy WARNINGs (relay spec §4.8). Mirrors ``rust_server/core/src/outbox.rs``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final

from summoner_client.protocol.notices import Notice
from summoner_client.server.python_relay.error import CloseReason
from summoner_client.server.python_relay.metrics import NOTICE_INDEX, Counters, DropReason

if TYPE_CHECKING:
    from summoner_client.config.relay import RelayHyperParameters

__all__ = ["BATCH_BYTES", "BATCH_LINES", "NOTICE_RESERVE", "Offer", "Outbox", "PolicyLog", "QueuePolicy"]

NOTICE_RESERVE: Final = 16
"""Notices may exceed the queue bounds by this many, so a full queue can still be told why."""
BATCH_LINES: Final = 64
"""Lines per writer batch: enough to amortise a syscall, small enough to stay fair."""
BATCH_BYTES: Final = 256 * 1024
"""Bytes per writer batch."""
POLICY_LOG_INTERVAL: Final = 10.0
"""At most one WARNING per connection and reason in this many seconds, carrying a count (§4.8)."""

_RATE_LIMITED_NOTICES: Final = frozenset(
    {Notice.RATE_LIMITED, Notice.MESSAGE_TOO_LONG, Notice.INVALID_UTF8, Notice.MESSAGES_SHED}
)
_ENVELOPE_FIRST_BYTE: Final = ord("{")  # notices start with "W": one byte tells them apart
_NEVER: Final = 1 << 62  # a queue depth no threshold reaches


class Offer(Enum):
    """What :meth:`Outbox.offer` did with a line."""

    QUEUED = "queued"
    """Queued for the writer."""
    SHED = "shed"
    """Dropped because the recipient is shedding or full (counted; N9 queued when due)."""
    DISCONNECTED = "disconnected"
    """The recipient became a slow consumer and is being disconnected."""
    CLOSED = "closed"
    """The recipient is closing; the line was not wanted."""


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """The queue bounds and slow-consumer thresholds, shared by every outbox of a relay.

    A threshold is None when its policy is disabled.
    """

    max_messages: int
    max_bytes: int
    throttle: int | None
    flow_control: int | None
    disconnect: int | None
    warning_interval: float

    @classmethod
    def from_config(cls, limits: RelayHyperParameters) -> QueuePolicy:
        """The policy configured in ``hyper_parameters`` (thresholds already derived by the model)."""
        policy = limits.backpressure_policy
        return cls(
            max_messages=limits.max_queue_messages,
            max_bytes=limits.max_queue_bytes,
            throttle=policy.throttle_threshold if policy.enable_throttle else None,
            flow_control=policy.flow_control_threshold if policy.enable_flow_control else None,
            disconnect=policy.disconnect_threshold if policy.enable_disconnect else None,
            warning_interval=limits.warning_interval_secs,
        )

    @property
    def calm_depth(self) -> int:
        """Below this depth, with room in bytes and no shedding, every §4.6 row but "enqueue" is moot."""
        limits = [self.max_messages, self.flow_control or _NEVER, self.disconnect or _NEVER]
        if self.throttle is not None:
            limits.append(self.throttle - 1)
        return min(limits)


class PolicyLog:
    """Policy WARNINGs of one connection (or the listener): at most one per reason per 10 s, with a count."""

    __slots__ = ("_context", "_extra", "_last", "_logger")

    def __init__(self, logger: logging.Logger, context: str, extra: Mapping[str, object]) -> None:
        """Report on ``logger``, each message prefixed with ``context`` and carrying ``extra`` fields."""
        self._logger = logger
        self._context = context
        self._extra = dict(extra)
        self._last: dict[str, tuple[float, int]] = {}  # reason -> (last logged at, events since)

    def warn(self, reason: str, message: str) -> None:
        """Count one policy event; log it unless one with this reason was logged less than 10 s ago."""
        now = time.monotonic()
        logged_at, count = self._last.get(reason, (-POLICY_LOG_INTERVAL, 0))
        count += 1
        if now - logged_at < POLICY_LOG_INTERVAL:
            self._last[reason] = (logged_at, count)
            return
        self._last[reason] = (now, 0)
        self._logger.warning(
            "%s: %s (%s; %d since the last report)",
            self._context,
            message,
            reason,
            count,
            extra={**self._extra, "reason": reason, "count": count},
        )


class Outbox:
    """A client's bounded outbound queue and the slow-consumer decision made at each offer.

    Everything runs on the relay's one event loop: ``offer`` and ``notice`` are called by other
    connections' readers in the middle of their fan-out, the writer consumes between awaits, and
    none of them can interleave inside a method, so no lock is needed.
    """

    __slots__ = (
        "_bytes",
        "_calm_depth",
        "_closed",
        "_counters",
        "_doomed",
        "_finished",
        "_lagging",
        "_last_notice",
        "_log",
        "_notices_queued",
        "_on_doom",
        "_policy",
        "_queue",
        "_shedding",
        "_waiter",
    )

    def __init__(
        self, policy: QueuePolicy, counters: Counters, log: PolicyLog, on_doom: Callable[[], None]
    ) -> None:
        """An empty outbox.

        Args:
            policy: Bounds and thresholds.
            counters: The connection's counters (sheds, notices, deliveries, bytes sent).
            log: Where lagging and shedding are reported.
            on_doom: Called once, synchronously, when this recipient becomes a slow consumer, so the
                connection records that reason first and starts closing.
        """
        self._policy = policy
        self._calm_depth = policy.calm_depth
        self._counters = counters
        self._log = log
        self._on_doom = on_doom
        # Lines waiting for the writer, oldest first: envelopes shared by reference with every
        # other recipient's queue, and notices. Bounded by the policy; offer() decides at the bound.
        self._queue: deque[bytes] = deque()
        self._bytes = 0
        self._notices_queued = 0
        self._lagging = False
        self._shedding = False
        self._finished = False  # no more envelopes; the writer stops once the queue is written
        self._doomed = False  # fan-out decided this client is a slow consumer
        self._closed = False  # finished or doomed: the fast test at the top of offer()
        self._last_notice = [-float("inf")] * len(Notice)
        # Set while the writer waits for work; whoever adds work resolves it.
        self._waiter: asyncio.Future[None] | None = None

    @property
    def depth(self) -> tuple[int, int, bool, bool]:
        """Current depth in lines and bytes, and the lagging and shedding flags."""
        return len(self._queue), self._bytes, self._lagging, self._shedding

    def offer(self, line: bytes) -> Offer:
        """Offer one envelope for this recipient; never waits (relay spec §4.6 table)."""
        if self._closed:
            return Offer.CLOSED
        queue = self._queue
        depth = len(queue)
        size = len(line)
        if depth < self._calm_depth and not self._shedding and self._bytes + size <= self._policy.max_bytes:
            # The common case, decided with three comparisons: no threshold is near.
            queue.append(line)
            self._bytes += size
            if not depth:
                self._wake()
            return Offer.QUEUED
        return self._offer_at_threshold(line, depth, size)

    def _offer_at_threshold(self, line: bytes, depth: int, size: int) -> Offer:
        policy = self._policy
        full = depth >= policy.max_messages or self._bytes + size > policy.max_bytes
        if policy.flow_control is not None:
            if self._shedding and depth <= policy.flow_control // 2:
                self._shedding = False
                self._log.warn("shedding_stopped", "recipient stopped shedding")
            if self._shedding or depth >= policy.flow_control or full:
                if not self._shedding:
                    self._shedding = True
                    self._log.warn("shedding", "recipient is shedding")
                return self._shed()
        if policy.disconnect is not None and (depth >= policy.disconnect or full):
            self._doom()
            return Offer.DISCONNECTED
        if full:
            return self._shed()
        self._queue.append(line)
        self._bytes += size
        if policy.throttle is not None and depth + 1 >= policy.throttle and not self._lagging:
            self._lagging = True
            self._log.warn("lagging", f"recipient is lagging ({depth + 1} lines queued)")
        if not depth:
            self._wake()
        return Offer.QUEUED

    def _shed(self) -> Offer:
        self._counters.drop_line(DropReason.SHED)
        self._push_notice(Notice.MESSAGES_SHED)
        return Offer.SHED

    def _doom(self) -> None:
        # Nothing queued will be written: the slow-consumer close tries N10 once and goes.
        self._doomed = self._closed = True
        self._queue.clear()
        self._bytes = self._notices_queued = 0
        self._wake()
        self._on_doom()

    def notice(self, notice: Notice) -> bool:
        """Queue a notice for this client, after everything already queued.

        N1, N5, N6 and N9 go out at most once per ``warning_interval_secs``.

        Returns:
            Whether the notice was queued (False when suppressed, over the reserve, or doomed).
        """
        if self._doomed:
            return False
        return self._push_notice(notice)

    def _push_notice(self, notice: Notice) -> bool:
        index = NOTICE_INDEX[notice]
        now = time.monotonic()
        if notice in _RATE_LIMITED_NOTICES and now - self._last_notice[index] < self._policy.warning_interval:
            self._counters.notices_suppressed[index] += 1
            return False
        if self._notices_queued >= NOTICE_RESERVE:
            self._counters.drop_line(DropReason.NOTICE_OVERFLOW)
            return False
        self._last_notice[index] = now
        self._notices_queued += 1
        self._queue.append(notice.line)
        self._bytes += len(notice.line)
        self._counters.notices[index] += 1
        self._wake()
        return True

    def finish(self, notice: Notice | None = None) -> None:
        """Stop accepting envelopes; the writer stops once what is queued is written.

        With ``notice``, that notice is the last line queued (N3 at shutdown, N2, N13, ...).
        """
        if self._finished:
            return
        if notice is not None and not self._doomed:
            self._push_notice(notice)
        self._finished = self._closed = True
        self._wake()

    def discard(self) -> None:
        """Drop everything queued and stop accepting: the client left, nothing is owed to it."""
        self._queue.clear()
        self._bytes = self._notices_queued = 0
        self._finished = self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None

    def _take_batch(self) -> tuple[list[bytes], int, int]:
        """Up to BATCH_LINES lines or BATCH_BYTES bytes: (lines, envelopes among them, bytes)."""
        queue = self._queue
        if len(queue) <= BATCH_LINES and self._bytes <= BATCH_BYTES:
            batch = list(queue)  # the usual case: everything queued fits one batch
            queue.clear()
            size, envelopes = self._bytes, len(batch) - self._notices_queued
            self._bytes = self._notices_queued = 0
        else:
            batch, size, notices = [], 0, 0
            while queue and len(batch) < BATCH_LINES:
                line = queue[0]
                if batch and size + len(line) > BATCH_BYTES:
                    break
                batch.append(queue.popleft())
                size += len(line)
                if line[0] != _ENVELOPE_FIRST_BYTE:
                    notices += 1
            self._bytes -= size
            self._notices_queued -= notices
            envelopes = len(batch) - notices
        if not queue:
            self._lagging = False
        return batch, envelopes, size

    async def write_loop(
        self, writer: asyncio.StreamWriter, write_timeout: float, on_progress: Callable[[], None]
    ) -> CloseReason | None:
        """The writer: drain this outbox into ``writer`` until finished, doomed, or broken.

        The only code that awaits this socket's writing side.

        Returns:
            None after a clean finish (everything queued reached the kernel), or the reason the
            connection must close.
        """
        transport = writer.transport
        high_water = transport.get_write_buffer_limits()[1]
        counters = self._counters
        while True:
            if not self._queue:
                if self._doomed:
                    return CloseReason.SLOW_CONSUMER
                if self._finished:
                    return await self._flush_transport(writer, write_timeout, on_progress)
                await self._wait()
                continue
            counters.observe_queue_depth(len(self._queue))
            batch, envelopes, size = self._take_batch()
            if transport.is_closing():
                return CloseReason.IO_ERROR
            writer.writelines(batch)  # one send attempt for the whole batch; the rest is buffered
            counters.bytes_sent += size
            counters.deliveries += envelopes
            on_progress()
            # Below the high-water mark drain() would return at once: skip it and its timer.
            if transport.get_write_buffer_size() > high_water:
                reason = await _drain(writer, write_timeout, on_progress)
                if reason is not None:
                    return reason

    async def _flush_transport(
        self, writer: asyncio.StreamWriter, write_timeout: float, on_progress: Callable[[], None]
    ) -> CloseReason | None:
        # A high-water mark of 0 makes drain() wait until the transport holds nothing, so "the
        # writer finished" means every byte reached the kernel, and the socket can be half-closed.
        if writer.transport.is_closing():
            return None
        writer.transport.set_write_buffer_limits(high=0)
        return await _drain(writer, write_timeout, on_progress)


async def _drain(
    writer: asyncio.StreamWriter, write_timeout: float, on_progress: Callable[[], None]
) -> CloseReason | None:
    """Wait until the transport drains; a write timeout is ``write_timeout`` without any progress."""
    transport = writer.transport
    while True:
        before = transport.get_write_buffer_size()
        scope = asyncio.timeout(write_timeout)
        try:
            async with scope:
                await writer.drain()
        except OSError:  # reset, broken pipe, "Connection lost"; TimeoutError is one too
            if not scope.expired():
                return CloseReason.IO_ERROR
            if transport.get_write_buffer_size() >= before:
                return CloseReason.WRITE_TIMEOUT
            on_progress()  # a slow reader that reads is not a stalled one: wait again
            continue
        on_progress()
        return None
