"""One connection: its reader, the per-line pipeline, and its close.

What belongs here (relay spec §4.3, §4.4, §4.9, §4.10, §4.12): the connection's task, which opens
the stream (TLS when configured), authenticates, joins the registry and runs ``_read_loop``; the
writer task it starts and owns; and the close steps. Every complete line goes through the
pipeline: cap, auth, rate limit, UTF-8, ceiling, then one encoding and a synchronous fan-out.
Mirrors ``rust_server/core/src/handler.rs``.

Whichever side learns first why the connection ends (the reader, the writer, a fan-out that
finds this recipient too slow, or shutdown) records the reason with :meth:`Handler.close_soon`;
the first reason wins. The reader only ever waits inside :meth:`Handler._until`, whose timeout
scope ``close_soon`` fires at once, so a reason recorded elsewhere interrupts the read without
polling and without cancelling anything but that one await.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

from summoner_client.protocol.framing import LineEvent, LineSplitter, Oversize
from summoner_client.protocol.notices import Notice
from summoner_client.protocol.wire import MAX_RELAYED_LINE_BYTES, encode_envelope
from summoner_client.server.python_relay.error import CloseReason
from summoner_client.server.python_relay.limits import Slot, TokenBucket
from summoner_client.server.python_relay.metrics import NOTICE_INDEX, Counters, DropReason
from summoner_client.server.python_relay.outbox import Outbox, PolicyLog
from summoner_client.server.python_relay.registry import Member

if TYPE_CHECKING:
    from summoner_client.server.python_relay.server import Shared

__all__ = ["CLOSE_DRAIN_SECS", "LINES_PER_TURN", "READ_CHUNK_BYTES", "Handler", "Peer", "peer_of"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

READ_CHUNK_BYTES: Final = 64 * 1024
"""Most bytes taken from the stream per read; also the stream's own buffer limit."""
LINES_PER_TURN: Final = 64
"""Lines handled before the reader yields, so one busy sender cannot monopolise the event loop."""
CLOSE_DRAIN_SECS: Final = 1.0
"""How long a closing connection keeps reading and discarding, so unread input does not make the
OS reset the connection and destroy the final lines in flight (§4.10 step 5)."""

_MAX_ENVELOPE: Final = MAX_RELAYED_LINE_BYTES + 1  # LF included
_NOTHING_OWED: Final = frozenset({CloseReason.CLIENT_CLOSED, CloseReason.IO_ERROR})
_SLOW: Final = frozenset({CloseReason.SLOW_CONSUMER, CloseReason.WRITE_TIMEOUT})


class Peer(NamedTuple):
    """Who is on the other end, fixed at accept."""

    ip: str
    """The IP that per-IP limits count: IPv4-mapped addresses count as IPv4."""
    addr: str
    """The address string of relay spec §2.4 (``a.b.c.d:port`` or ``[addr%scope]:port``)."""


def peer_of(sockaddr: Any) -> Peer:
    """The :class:`Peer` for an address as ``accept()`` returns it (IPv4 pair or IPv6 4-tuple)."""
    host, port = str(sockaddr[0]), int(sockaddr[1])
    if len(sockaddr) < 4:
        return Peer(host, f"{host}:{port}")
    address = ipaddress.IPv6Address(host.partition("%")[0])
    if address.ipv4_mapped is not None:
        ipv4 = str(address.ipv4_mapped)
        return Peer(ipv4, f"{ipv4}:{port}")
    scope = int(sockaddr[3])
    suffix = f"%{scope}" if scope else ""
    return Peer(address.compressed, f"[{address.compressed}{suffix}]:{port}")


class Handler:
    """One admitted connection: its reader side, its outbox, and the state the pipeline needs."""

    def __init__(self, shared: Shared, sock: socket.socket, peer: Peer, conn_id: int, slot: Slot) -> None:
        """Prepare a connection; nothing runs until :meth:`serve` is awaited (by the relay's task group)."""
        self._shared = shared
        self._sock = sock
        self._slot = slot
        self.conn_id = conn_id
        self.peer = peer
        self.addr = shared.remote_addr(conn_id, peer)
        self.counters = Counters()
        self._log = PolicyLog(_log, f"conn {conn_id} peer {peer.addr}", {"conn": conn_id, "peer": peer.addr})
        self.outbox = Outbox(shared.policy, self.counters, self._log, self._on_slow_consumer)
        self._loop = asyncio.get_running_loop()
        limits = shared.limits
        self._reader = asyncio.StreamReader(limit=READ_CHUNK_BYTES, loop=self._loop)
        self._splitter = LineSplitter(limits.max_line_bytes, strip_cr=True)
        self._transport: asyncio.Transport | None = None
        self._reason: CloseReason | None = None  # the first recorded reason wins
        self._scope: asyncio.Timeout | None = None  # set while the reader waits; close_soon fires it
        self._member = False
        self._accepted_at = self._last_read = self._last_write = self._loop.time()
        self._line_started: float | None = None
        rate = limits.rate_limit_msgs_per_minute
        burst = limits.rate_limit_burst or rate
        self._bucket = None if rate is None or burst is None else TokenBucket(rate, burst, self._accepted_at)
        self._rate_limited = self._bucket is not None or shared.admission.limits_ip_rate
        self._pause = self._rate_limited and limits.rate_limit_action == "pause"
        self._replace_invalid = limits.invalid_utf8 == "replace"
        self._debug = False
        self._turn_budget = LINES_PER_TURN  # lines left before the reader yields to the loop

    # -- the connection's task ------------------------------------------------------------------

    async def serve(self) -> None:
        """Serve this connection until it closes; its slot is released and its counters retired."""
        reason = CloseReason.INTERNAL
        try:
            reason = await self._serve()
        except asyncio.CancelledError:
            reason = self._reason or CloseReason.SHUTDOWN
            raise
        except Exception:
            # A bug in one connection must not take the relay down: log it here and close this one.
            _log.exception("conn %d peer %s: internal failure", self.conn_id, self.peer.addr)
        finally:
            self._release(reason)

    async def _serve(self) -> CloseReason:
        with self._shared.handshake(counted=self._shared.ssl_context is not None):
            writer = await self._open()
        if writer is None:
            failed = CloseReason.IO_ERROR if self._shared.ssl_context is None else CloseReason.TLS_FAILED
            return self._reason or failed
        # The writer task belongs to this group, so it is awaited here on every path, cancellation
        # included; the reader runs in this task. _close decides when the writer must stop.
        async with asyncio.TaskGroup() as tasks:
            writer_task = tasks.create_task(self._write_loop(writer), name=f"relay-writer-{self.conn_id}")
            reason = await self._run()
            return await self._close(reason, writer_task, writer)

    async def _open(self) -> asyncio.StreamWriter | None:
        """Wrap the accepted socket in a transport, after the TLS handshake when TLS is on."""
        ssl_context = self._shared.ssl_context
        handshake = self._shared.security.handshake_timeout_secs
        protocol = asyncio.StreamReaderProtocol(self._reader, loop=self._loop)

        def connect() -> Awaitable[tuple[asyncio.Transport, Any]]:
            return self._loop.connect_accepted_socket(
                lambda: protocol,
                self._sock,
                ssl=ssl_context,
                ssl_handshake_timeout=handshake if ssl_context is not None else None,
            )

        deadline = self._accepted_at + handshake if ssl_context is not None else None
        try:
            opened = await self._until(deadline, connect)
        except OSError as error:  # ssl.SSLError, reset, handshake timeout
            _log.info("conn %d peer %s: TLS handshake failed: %s", self.conn_id, self.peer.addr, error)
            return None
        if opened is None:
            return None
        self._transport = opened[0]
        return asyncio.StreamWriter(opened[0], protocol, self._reader, self._loop)

    async def _run(self) -> CloseReason:
        """Handshake, membership, then lines until the connection must close."""
        try:
            pending: list[LineEvent] = []
            if self._shared.tokens:
                with self._shared.handshake(counted=True):
                    reason, pending = await self._authenticate()
                if reason is not None:
                    return reason
            self._join()
            return await self._read_loop(pending)
        except OSError:  # read error, reset, keepalive failure
            return CloseReason.IO_ERROR
        except Exception:
            _log.exception("conn %d peer %s: internal failure", self.conn_id, self.peer.addr)
            return CloseReason.INTERNAL

    async def _write_loop(self, writer: asyncio.StreamWriter) -> None:
        """The one task that writes to this socket (see ``Outbox.write_loop``)."""
        try:
            reason = await self.outbox.write_loop(writer, self._shared.limits.write_timeout_secs, self._touch)
        except Exception:
            _log.exception("conn %d peer %s: writer failed", self.conn_id, self.peer.addr)
            reason = CloseReason.INTERNAL
        if reason is not None:
            self.close_soon(reason)

    def _touch(self) -> None:
        self._last_write = self._loop.time()

    # -- interruption ---------------------------------------------------------------------------

    def close_soon(self, reason: CloseReason) -> None:
        """Record why this connection ends (the first reason wins) and wake its reader."""
        if self._reason is None:
            self._reason = reason
        scope = self._scope
        if scope is not None and not scope.expired():
            scope.reschedule(self._loop.time())

    def force_close(self) -> None:
        """The shutdown deadline: drop what is queued and abort the transport, now."""
        self.close_soon(CloseReason.SHUTDOWN)
        self.outbox.discard()
        if self._transport is not None:
            self._transport.abort()  # wakes the writer's drain and ends the reader's input

    def _on_slow_consumer(self) -> None:
        # Called from another connection's fan-out: record the reason now, close in our own task.
        self._log.warn("slow_consumer", "slow consumer disconnected")
        self.close_soon(CloseReason.SLOW_CONSUMER)

    async def _until(self, deadline: float | None, start: Callable[[], Awaitable[_T]]) -> _T | None:
        """Await ``start()`` until ``deadline``; None when the deadline passed or close_soon() was called."""
        if self._reason is not None:
            return None
        scope: asyncio.Timeout | None = None
        try:
            async with asyncio.timeout_at(deadline) as scope:
                self._scope = scope
                return await start()
        except TimeoutError:
            if scope is not None and scope.expired():
                return None
            raise  # ETIMEDOUT from the socket (keepalive): an I/O error, not our deadline
        finally:
            self._scope = None

    def _read_chunk(self) -> Awaitable[bytes]:
        return self._reader.read(READ_CHUNK_BYTES)

    # -- reading --------------------------------------------------------------------------------

    async def _authenticate(self) -> tuple[CloseReason | None, list[LineEvent]]:
        """The first line must be ``AUTH <token>`` within the handshake timeout (§4.12)."""
        deadline = self._accepted_at + self._shared.security.handshake_timeout_secs
        while True:
            data = await self._until(deadline, self._read_chunk)
            if data is None:
                return self._reason or self._auth_failed(), []
            if not data:
                return CloseReason.CLIENT_CLOSED, []
            self._received(data)
            events = self._splitter.feed(data)
            if not events:
                continue
            self.counters.lines_received += 1
            first = events[0]
            if isinstance(first, bytes) and self._shared.token_matches(first):
                self._track_line(completed=True)
                return None, events[1:]
            return self._auth_failed(), []

    def _auth_failed(self) -> CloseReason:
        quarantined = self._shared.admission.auth_failed(self.peer.ip, self._loop.time())
        _log.warning("conn %d peer %s: authentication failed", self.conn_id, self.peer.addr)
        if quarantined:
            _log.warning("address %s quarantined after repeated authentication failures", self.peer.ip)
        return CloseReason.AUTH_FAILED

    def _join(self) -> None:
        self._member = True
        self._shared.registry.join(
            Member(self.conn_id, self.addr, self.peer.addr, self.outbox, self.counters)
        )
        _log.info(
            "conn %d peer %s: connection open as %s",
            self.conn_id,
            self.peer.addr,
            self.addr,
            extra={"conn": self.conn_id, "peer": self.peer.addr},
        )

    async def _read_loop(self, pending: list[LineEvent]) -> CloseReason:
        """Read raw bytes into the splitter and run every complete line through the pipeline."""
        while True:
            if pending:
                reason = await self._process(pending)
                if reason is not None:
                    return reason
                # After processing, as a rate-limit pause is the relay's doing, not the client's.
                self._track_line(completed=True)
            data = await self._until(self._next_deadline(), self._read_chunk)
            if data is None:
                if self._reason is not None:
                    return self._reason
                expired = self._expired(self._loop.time())
                if expired is not None:
                    return expired
                pending = []  # the writer's progress moved the idle deadline: wait again
                continue
            if not data:
                return await self._process_eof()
            self._received(data)
            pending = self._splitter.feed(data)
            if not pending:
                self._track_line(completed=False)

    def _received(self, data: bytes) -> None:
        self.counters.bytes_received += len(data)
        self._last_read = self._loop.time()

    async def _process(self, events: list[LineEvent]) -> CloseReason | None:
        """Run ``events`` through the pipeline, yielding to the loop every LINES_PER_TURN lines.

        The budget carries over from one read to the next: a read of buffered bytes does not
        suspend, so counting per read would let a busy sender fan out far more than a turn's worth
        before a recipient's writer runs, and fill a small queue for no fault of the recipient.
        """
        self._debug = _log.isEnabledFor(logging.DEBUG)
        on_frame = self._on_frame
        budget = self._turn_budget
        for event in events:
            if self._pause and isinstance(event, bytes) and not await self._wait_for_tokens():
                return self._reason
            on_frame(event)
            budget -= 1
            if not budget:
                await asyncio.sleep(0)  # let writers and other readers run
                budget = LINES_PER_TURN
        self._turn_budget = budget
        return None

    async def _process_eof(self) -> CloseReason:
        """Client EOF: the partial last line, if any, is processed like a complete one."""
        last = self._splitter.finish()
        if last is not None:
            reason = await self._process([last])
            if reason is not None:
                return reason
        return CloseReason.CLIENT_CLOSED

    def _track_line(self, *, completed: bool) -> None:
        """The line clock starts at a line's first byte; discard mode counts too (§4.3)."""
        splitter = self._splitter
        if not (splitter.buffered or splitter.discarding):
            self._line_started = None
        elif completed or self._line_started is None:
            self._line_started = self._loop.time()

    def _next_deadline(self) -> float | None:
        """The earlier of the line-timeout and idle deadlines, if either is on."""
        limits = self._shared.limits
        deadline = None
        if self._line_started is not None and limits.line_timeout_secs is not None:
            deadline = self._line_started + limits.line_timeout_secs
        if limits.client_timeout_secs is not None:
            idle = max(self._last_read, self._last_write) + limits.client_timeout_secs
            deadline = idle if deadline is None else min(deadline, idle)
        return deadline

    def _expired(self, now: float) -> CloseReason | None:
        limits = self._shared.limits
        line_limit = limits.line_timeout_secs
        if (
            self._line_started is not None
            and line_limit is not None
            and now >= self._line_started + line_limit
        ):
            return CloseReason.LINE_TIMEOUT
        idle_limit = limits.client_timeout_secs
        if idle_limit is not None and now >= max(self._last_read, self._last_write) + idle_limit:
            return CloseReason.IDLE
        return None

    # -- the per-line pipeline ------------------------------------------------------------------

    def _on_frame(self, event: LineEvent) -> None:
        """Cap, rate limit, UTF-8, ceiling, then encode once and fan out (§4.4). Never awaits."""
        counters = self.counters
        counters.lines_received += 1
        if isinstance(event, Oversize):
            self._reject(DropReason.TOO_LONG, Notice.MESSAGE_TOO_LONG)
            return
        if self._rate_limited and not self._take_token():
            self._reject(DropReason.RATE_LIMITED, Notice.RATE_LIMITED)
            return
        try:
            text = event.decode()
        except UnicodeDecodeError:
            if not self._replace_invalid:
                self._reject(DropReason.INVALID_UTF8, Notice.INVALID_UTF8)
                return
            text = event.decode(errors="replace")
        # Encoding first and measuring the result is the exact ceiling rule (§2.6) in one pass.
        envelope = encode_envelope(self.addr, text)
        if len(envelope) > _MAX_ENVELOPE:
            self._reject(DropReason.TOO_LONG, Notice.MESSAGE_TOO_LONG)
            return
        counters.lines_relayed += 1
        recipients = self._shared.registry.broadcast(self.conn_id, envelope)
        if self._debug:
            self._log_relayed(event, text, recipients)

    def _log_relayed(self, body: bytes, text: str, recipients: int) -> None:
        # repr() escapes control characters, so logged content cannot forge log lines.
        content = f": {text!r}" if self._shared.log_content else ""
        _log.debug(
            "conn %d: relayed %d bytes to %d recipients%s", self.conn_id, len(body), recipients, content
        )

    def _reject(self, reason: DropReason, notice: Notice) -> None:
        self.counters.drop_line(reason)
        self.outbox.notice(notice)
        self._log.warn(reason.label, "line not relayed")

    def _tokens_ready(self, now: float) -> bool:
        own = self._bucket is None or self._bucket.has_token(now)
        return own and self._shared.admission.ip_has_token(self.peer.ip, now)

    def _take_token(self) -> bool:
        """One token from every configured bucket, or none at all (§4.7)."""
        if not self._tokens_ready(self._loop.time()):
            return False
        if self._bucket is not None:
            self._bucket.take()
        self._shared.admission.ip_take(self.peer.ip)
        return True

    async def _wait_for_tokens(self) -> bool:
        """``rate_limit_action: "pause"``: stop reading until a token is there; False if closing."""
        while True:
            now = self._loop.time()
            if self._tokens_ready(now):
                return True
            own = self._bucket.wait_time(now) if self._bucket is not None else 0.0
            wait = max(own, self._shared.admission.ip_wait_time(self.peer.ip, now), 0.001)
            await self._until(None, functools.partial(asyncio.sleep, wait))
            if self._reason is not None:
                return False

    # -- closing --------------------------------------------------------------------------------

    async def _close(
        self, reason: CloseReason, writer_task: asyncio.Task[None], writer: asyncio.StreamWriter
    ) -> CloseReason:
        """The close steps of §4.10, run on every path once the reader has stopped."""
        if self._reason is None:
            self._reason = reason
        reason = self._reason
        self._shared.registry.leave(self.conn_id)  # step 1: no new envelope is queued for it
        if reason in _NOTHING_OWED or reason in _SLOW:
            self.outbox.discard()
            await _stop(writer_task)
            if reason in _SLOW:
                self._try_notice_once(writer, Notice.SLOW_CONSUMER)
        else:
            # Step 2: the reason's notice after everything queued; step 3: the writer flushes.
            # Connections still authenticating get no N3 at shutdown (§4.11 step 2).
            self.outbox.finish(reason.notice if self._member or reason is not CloseReason.SHUTDOWN else None)
            done, _ = await asyncio.wait([writer_task], timeout=self._shared.limits.write_timeout_secs)
            if not done:
                await _stop(writer_task)
        # Steps 4 and 5: half-close after whatever is still buffered, then read and discard for a
        # while, so unread input does not make the OS reset the connection over the last lines.
        # TLS cannot half-close: there, closing (with close_notify) is what tells the client.
        if reason not in _NOTHING_OWED and writer.can_write_eof() and not writer.transport.is_closing():
            writer.write_eof()
            await self._drain_input()
        await _close_transport(writer)  # step 6
        return reason

    def _try_notice_once(self, writer: asyncio.StreamWriter, notice: Notice) -> None:
        """One write attempt that does not wait: only when nothing is stuck ahead of it."""
        transport = writer.transport
        if not transport.is_closing() and transport.get_write_buffer_size() == 0:
            transport.write(notice.line)
            self.counters.notices[NOTICE_INDEX[notice]] += 1

    async def _drain_input(self) -> None:
        try:
            async with asyncio.timeout(CLOSE_DRAIN_SECS):
                while await self._reader.read(READ_CHUNK_BYTES):
                    pass
        except OSError:  # the timeout, a reset: either way, done
            pass

    def _release(self, reason: CloseReason) -> None:
        """Give back everything this connection held; runs exactly once, on every path."""
        self._shared.registry.leave(self.conn_id)
        if self._transport is None:
            self._sock.close()
        elif not self._transport.is_closing():
            self._transport.abort()
        self._slot.release()
        self._shared.retire(self, reason)
        counters = self.counters
        level = logging.WARNING if reason in _SLOW else logging.INFO
        _log.log(
            level,
            "conn %d peer %s: connection closed (%s) after %.1f s; in %d lines %d B, out %d lines %d B",
            self.conn_id,
            self.peer.addr,
            reason.label,
            self._loop.time() - self._accepted_at,
            counters.lines_received,
            counters.bytes_received,
            counters.deliveries,
            counters.bytes_sent,
            extra={"conn": self.conn_id, "peer": self.peer.addr, "reason": reason.label},
        )


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` if it is still running and wait until it has finished."""
    task.cancel()
    await asyncio.wait([task])


async def _close_transport(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if transport.get_write_buffer_size():
        transport.abort()  # bytes that can never be delivered: do not let close() wait for them
    else:
        transport.close()
    try:
        async with asyncio.timeout(CLOSE_DRAIN_SECS):
            await writer.wait_closed()
    except OSError:
        pass
