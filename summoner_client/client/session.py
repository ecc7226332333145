"""One connection (spec §5.1, §8.3, §8.8): the reader, the inbound pipelines, the writer and the end.

A ``Session`` owns every task of one TCP connection in a single ``asyncio.TaskGroup``. Loops end by
raising: the reader raises ``ServerDisconnected`` at EOF, the reader or writer raise ``OSError`` when the
socket breaks. Those are caught at the task boundary (``_guard``), recorded, and turned into the stop
signal, so the one coroutine that ends sessions (``_end_loop``) runs the same named steps on every path:
stop intake, stop producers, finish in-flight work, flush (graceful ends only), close; then it raises
``_SessionOver`` and the group cancels and awaits whatever is left. Nothing polls: stopping is an
awaited ``asyncio.Event``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Final

from summoner_client.client._connect import AUTH_REJECTED_MESSAGE, AuthRejected, is_auth_rejection
from summoner_client.client._pipeline import BridgeItem, InboundPipeline
from summoner_client.client._plan import PlanCache
from summoner_client.client._stats import ClientStats
from summoner_client.client.outbox import Encoded, Outbox, PublishQueue
from summoner_client.client.senders import OutboundEncoder, SenderRuntime
from summoner_client.config.client import ClientConfig
from summoner_client.errors import ConnectionClosed, ServerDisconnected
from summoner_client.protocol.flow import Flow
from summoner_client.protocol.framing import LineSplitter
from summoner_client.protocol.wire import LineKind, decode_line

__all__ = ["READ_CHUNK_BYTES", "Session", "SessionContext"]

READ_CHUNK_BYTES: Final = 64 * 1024
"""Bytes asked of the socket per read; the splitter, not the stream reader, enforces the line limit."""
_CLOSE_TIMEOUT: Final = 1.0
_wire = logging.getLogger("summoner_client.wire")


class _SessionOver(Exception):
    """Raised by ``_end_loop`` once the graceful steps are done: it makes the group cancel the rest."""


@dataclass
class SessionContext:
    """What a session takes from its client; one per session, built by ``SummonerClient``.

    Attributes:
        config: The applied configuration.
        plans: The registry as the runtime reads it.
        flow: The client's flow (only ``in_use`` is read here).
        stats: The client's counters.
        logger: The client logger.
        publish_queue: The client's publish queue; it outlives sessions.
        disabled: Senders disabled by the worker-error rule, for the whole run.
        abort: Called by the worker-error rule (``"stop"``): the client stops without reconnecting.
        fatal: Called in strict mode with the first user exception: abort and re-raise it later.
    """

    config: ClientConfig
    plans: PlanCache
    flow: Flow
    stats: ClientStats
    logger: logging.Logger
    publish_queue: PublishQueue
    disabled: set[str] = field(default_factory=set)
    abort: Any = None
    fatal: Any = None


class Session:
    """Serve one connection until stopped or lost; see the module docstring for the shape."""

    def __init__(
        self,
        ctx: SessionContext,
        reader: asyncio.StreamReader | None,
        writer: asyncio.StreamWriter | None,
        stop: asyncio.Event,
    ) -> None:
        self.ctx = ctx
        cfg = ctx.config.hyper_parameters
        self._reader = reader
        self._writer = writer
        self._stop = stop  # set by quit/travel/shutdown/abort, or by _guard when the connection is lost
        self.lost: BaseException | None = None  # the error that ended the connection, if it was lost
        strict = cfg.lifecycle.strict
        # Bounded (spec §5.5): when full the inbound pipeline waits, which pauses reading.
        self.event_bridge: asyncio.Queue[BridgeItem] = asyncio.Queue(cfg.sender.event_bridge_maxsize)
        # Published lines a lost session left unwritten are written first (spec §12.2).
        self.outbox = Outbox(cfg.sender.max_outbox_lines, ctx.publish_queue.pop_encoded())
        self.pipeline = InboundPipeline(
            plans=ctx.plans,
            flow_in_use=lambda: ctx.flow.in_use,
            bridge=self.event_bridge,
            stats=ctx.stats,
            logger=ctx.logger,
            on_fatal=ctx.fatal,
            strict=strict,
        )
        encoder = OutboundEncoder(ctx.plans, cfg.sender, ctx.stats, ctx.logger)
        if strict:
            encoder.on_hook_error = ctx.fatal
        self.senders = SenderRuntime(
            plans=ctx.plans,
            config=cfg.sender,
            encoder=encoder,
            outbox=self.outbox,
            publish_queue=ctx.publish_queue,
            bridge=self.event_bridge,
            stats=ctx.stats,
            logger=ctx.logger,
            disabled=ctx.disabled,
            on_abort=ctx.abort,
            on_fatal=ctx.fatal if strict else None,
        )
        self._budget = float(cfg.lifecycle.shutdown_timeout_secs)
        self._max_line = cfg.receiver.max_bytes_per_line
        self._slots_total = cfg.receiver.max_concurrent_handlers
        self._per_peer = cfg.receiver.per_peer_order
        # Concurrent dispatch (spec §12.1): N slots; a message waits for its peer's previous one
        # while holding its slot, so in-flight plus waiting never exceeds N.
        self._slots = asyncio.Semaphore(self._slots_total)
        self._peer_tail: dict[object, asyncio.Future[None]] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        self._tasks: asyncio.TaskGroup | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._reading = False  # the reader is parked in reader.read(): safe to cancel it there
        self._intake_stopped = False
        self._closed = False
        self._warned_versions: set[str] = set()
        self._authenticating = ctx.config.security.auth_token is not None  # the relay may refuse it

    def share_bridge(self, other: Session) -> None:
        """Use ``other``'s event bridge: the two harness halves of spec §5.1 meet there."""
        self.event_bridge = other.event_bridge
        self.pipeline.bridge = other.event_bridge
        self.senders.bridge = other.event_bridge
        other.pipeline.bridge = other.event_bridge

    @property
    def send_queue(self) -> asyncio.Queue[Any]:
        """The session's ``send_queue`` (spec §2.4)."""
        return self.senders.send_queue

    # ------------------------------------------------------------------ the whole session

    async def run(self) -> None:
        """Serve until stopped (returns) or lost (raises the error once cleanup is done)."""
        try:
            async with asyncio.TaskGroup() as tasks:
                self._tasks = tasks
                if self._reader is not None:
                    self._reader_task = tasks.create_task(self._guard(self._receive_loop))
                if self._writer is not None:
                    self._writer_task = tasks.create_task(self._guard(self._write_loop))
                    self.senders.start(tasks, self.ctx.plans.current())
                tasks.create_task(self._end_loop())
        except* _SessionOver:
            pass
        finally:
            await self._close_writer()  # also on cancellation and unexpected errors [D-18]
        if self.lost is not None:
            raise self.lost

    async def _guard(self, loop: Callable[[], Awaitable[None]]) -> None:
        # The task boundary of the reader and the writer: a lost connection becomes the stop signal.
        # It takes the loop function, not a coroutine: a task cancelled before its first step (a
        # session lost at once) would otherwise leave that coroutine never awaited.
        try:
            await loop()
        except ConnectionClosed as exc:  # EOF (ServerDisconnected) or a refused token: already logged
            self._connection_lost(exc)
        except OSError as exc:
            self.ctx.logger.warning("Connection lost: %s: %s", type(exc).__name__, exc)
            self._connection_lost(exc)

    def _connection_lost(self, exc: BaseException) -> None:
        if self.lost is None:
            self.lost = exc
        self.outbox.abandon()  # nobody will drain it: release flush and put waiters
        if self._writer_task is not None and self._writer_task is not asyncio.current_task():
            self._writer_task.cancel()
        self._stop.set()

    # ------------------------------------------------------------------ reading

    async def _receive_loop(self) -> None:
        reader = self._reader
        assert reader is not None
        splitter = LineSplitter(self._max_line)
        on_line = self._on_line
        while self._intake_open():
            self._reading = True
            try:
                data = await reader.read(READ_CHUNK_BYTES)
            finally:
                self._reading = False
            if not data:
                tail = splitter.finish()
                if tail is not None and not self._intake_stopped:
                    await on_line(tail)
                self.ctx.logger.info("Graceful disconnect from server: EOF during read")
                raise ServerDisconnected("EOF during read")
            for line in splitter.feed(data):
                await on_line(line)
                if not self._intake_open():
                    return  # stop_intake() ran while this line was processed

    def _intake_open(self) -> bool:
        return not self._intake_stopped

    async def _on_line(self, line: Any) -> None:
        stats = self.ctx.stats
        if type(line) is not bytes:  # an Oversize report: skipped without buffering [D-2]
            stats.lines_oversize += 1
            self.ctx.logger.warning("Incoming line exceeded %d bytes; dropping", line.limit)
            return
        stats.lines_received += 1
        if _wire.isEnabledFor(logging.DEBUG):
            _wire.debug("<<- %r", line)
        if self._authenticating and is_auth_rejection(line):
            self.ctx.logger.error(AUTH_REJECTED_MESSAGE)  # the relay closes next (spec §12.10)
            raise AuthRejected
        decoded = decode_line(line)
        if decoded.kind is LineKind.UNDECODABLE:
            stats.lines_undecodable += 1
            self.ctx.logger.warning("Incoming line is not valid UTF-8; dropping")  # [D-3]
            return
        if decoded.unknown_version:
            self._warn_version(decoded.envelope_version, decoded.payload)
        if self._slots_total > 1:
            await self._spawn(decoded.payload)
            return
        try:
            await self.pipeline.handle(decoded.payload)  # strictly one at a time (spec §5.2)
        except Exception:
            self.ctx.logger.exception("Inbound pipeline failed")  # a bug, not user code: keep the session

    def _warn_version(self, version: str | None, payload: Any) -> None:
        if version is None or version in self._warned_versions:
            return
        self._warned_versions.add(version)
        self.ctx.logger.warning(
            "Unknown envelope version '%s' from %s; decoding it with the 0.0.1 rules",
            version,
            payload.get("remote_addr") if isinstance(payload, dict) else "-",
        )

    async def _spawn(self, payload: Any) -> None:
        await self._slots.acquire()  # no free slot: the reader waits and TCP pushes back on the relay
        key = payload.get("remote_addr") if isinstance(payload, dict) else None
        previous: asyncio.Future[None] | None = None
        mine: asyncio.Future[None] | None = None
        if self._per_peer:
            previous = self._peer_tail.get(key)
            mine = self._peer_tail[key] = asyncio.get_running_loop().create_future()
        assert self._tasks is not None
        task = self._tasks.create_task(self._run_concurrent(payload, previous, mine, key))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _run_concurrent(
        self,
        payload: Any,
        previous: asyncio.Future[None] | None,
        mine: asyncio.Future[None] | None,
        key: object,
    ) -> None:
        try:
            if previous is not None and not previous.done():
                await asyncio.wait((previous,))  # never cancels the peer's future if we are cancelled
            await self.pipeline.handle(payload)
        except Exception:
            self.ctx.logger.exception("Inbound pipeline failed")  # a bug, not user code: keep the session
        finally:
            self._slots.release()
            if mine is not None:
                mine.set_result(None)
                if self._peer_tail.get(key) is mine:
                    del self._peer_tail[key]

    # ------------------------------------------------------------------ writing

    async def _write_loop(self) -> None:
        # The only code that touches the StreamWriter while the session runs: lines never interleave.
        writer = self._writer
        assert writer is not None
        outbox = self.outbox
        stats = self.ctx.stats
        batch_drain = self.ctx.config.hyper_parameters.sender.batch_drain
        while True:
            lines = await outbox.take_all()
            if _wire.isEnabledFor(logging.DEBUG):
                for line in lines:
                    _wire.debug("->> %r", line.data)
            if batch_drain:
                writer.write(b"".join([line.data for line in lines]))
                await writer.drain()
            else:
                for line in lines:
                    writer.write(line.data)
                    await writer.drain()
            stats.lines_sent += len(lines)
            outbox.written()

    # ------------------------------------------------------------------ ending (spec §8.8)

    async def _end_loop(self) -> None:
        await self._stop.wait()
        if self.lost is None:
            self.ctx.logger.info("Client about to disconnect...")
        else:
            self.ctx.logger.debug("Connection lost: ending the session without a flush")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._budget  # one budget shared by steps 2 to 4
        self.stop_intake()
        try:
            async with asyncio.timeout_at(deadline):
                await self.stop_producers()
                await self.finish_in_flight()
                if self.lost is None:
                    await self.flush()
        except TimeoutError:
            self._report_overrun()
        if self.lost is not None:
            self.keep_published()
        await self._close_writer()
        raise _SessionOver

    def stop_intake(self) -> None:
        """Step 1: the reader stops; a pending read is interrupted at once [D-7]."""
        self._intake_stopped = True
        if self._reading and self._reader_task is not None:
            self._reader_task.cancel()

    async def stop_producers(self) -> None:
        """Step 2: no new invocations; queued ones are discarded; bridged events are dropped."""
        self.pipeline.bridge_closed = True
        producers = self.senders.stop_producers()
        while not self.event_bridge.empty():
            self.event_bridge.get_nowait()  # wakes pipelines blocked on a full bridge
        if producers:
            await asyncio.wait(producers)

    async def finish_in_flight(self) -> None:
        """Step 3: inbound pipelines and running invocations finish (they are not cancelled)."""
        pending: set[asyncio.Task[None]] = set(self._inflight)
        if self._reader_task is not None and not self._reader_task.done():
            pending.add(self._reader_task)
        if pending:
            await asyncio.wait(pending)
        await self.senders.wait_idle()

    async def flush(self) -> None:
        """Step 4 (graceful ends): published payloads and the outbox are written and drained."""
        if self._writer is None:
            return
        await self.senders.flush_published()
        await self.outbox.flushed()

    def keep_published(self) -> None:
        """On a lost connection: unwritten published lines go back to the queue, sender lines are dropped."""
        kept, dropped = self.outbox.leftovers()
        self.ctx.stats.lines_dropped_on_disconnect += dropped
        if kept:
            self.ctx.publish_queue.push_front([Encoded(line) for line in kept])

    async def _half_close_and_drain(self, writer: asyncio.StreamWriter) -> None:
        """On a graceful end, send EOF and discard input until the relay closes (bounded).

        Closing a socket that still has unread input makes the kernel reset the connection, and a
        reset can destroy the last lines this client wrote before the relay read them. After EOF
        the relay reads everything, then closes; only then is the socket closed here.
        """
        reader = self._reader
        if reader is None or self.lost is not None or not writer.can_write_eof():
            return  # a lost connection has nothing to save; TLS streams have no half-close
        try:
            writer.write_eof()
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                while await reader.read(READ_CHUNK_BYTES):
                    pass
        except (TimeoutError, OSError, RuntimeError):
            pass  # the close below still runs; the relay may have gone first

    def _report_overrun(self) -> None:
        running = len(self._inflight)
        if running:
            self.ctx.logger.warning(
                "Shutdown timeout: cancelling %d inbound pipeline(s) still running", running
            )
        else:
            self.ctx.logger.warning("Shutdown timeout: cancelling the work still running")

    async def _close_writer(self) -> None:
        """Step 5: close the writer and wait for it, bounded; errors are suppressed."""
        writer = self._writer
        if writer is None or self._closed:
            return
        self._closed = True
        await self._half_close_and_drain(writer)
        with suppress(Exception):
            writer.close()
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await writer.wait_closed()
        except (TimeoutError, OSError):
            writer.transport.abort()  # a peer that does not read must not hold the close
        except Exception:
            pass
