"""The accept loop: bind, accept, admit or refuse, hand off (relay spec §4.2).

The loop only accepts and hands off. Socket options, TLS and auth run in the connection's own
task; a refused connection gets its notice in one write that does not wait, then the usual close
(half-close, a bounded drain of its input, close), also in a task of its own. Accept errors (out
of file descriptors, ...) pause the loop with a doubling backoff; the relay never exits because
of them. Mirrors ``rust_server/core/src/listener.rs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final

from summoner_client.protocol.notices import Notice
from summoner_client.server.python_relay.handler import Handler, peer_of
from summoner_client.server.python_relay.limits import Slot
from summoner_client.server.python_relay.metrics import NOTICE_INDEX, RefuseReason

if TYPE_CHECKING:
    from summoner_client.server.python_relay.server import Shared

__all__ = [
    "MAX_ACCEPT_BACKOFF_SECS",
    "REFUSAL_DRAIN_SECS",
    "accept_loop",
    "bind_socket",
    "set_socket_options",
]

_log = logging.getLogger(__name__)

MAX_ACCEPT_BACKOFF_SECS: Final = 2.0
"""Longest pause after repeated accept errors."""
REFUSAL_DRAIN_SECS: Final = 1.0
"""How long a refused connection is drained before it is closed, as in any close."""

Spawn = Callable[[Coroutine[Any, Any, None]], object]
"""Starts a task owned by the relay's task group (``TaskGroup.create_task``)."""


def bind_socket(family: int, address: Any, backlog: int) -> socket.socket:
    """A non-blocking listening socket on ``address``, with ``backlog`` as its listen queue.

    Raises:
        OSError: The address cannot be bound.
    """
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":  # on Windows SO_REUSEADDR would let another process steal the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            # "::" serves IPv4 too; per-IP limits map IPv4-mapped peers back to IPv4.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def set_socket_options(sock: socket.socket, keepalive_secs: float | None) -> None:
    """TCP_NODELAY, and keepalive per §4.9: idle time, probes every max(1 s, idle / 3), 3 probes."""
    with contextlib.suppress(OSError):
        # The writer batches in user space, so Nagle would only add latency.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if keepalive_secs is None:
        return
    idle = max(1, round(keepalive_secs))
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    idle_option = getattr(socket, "TCP_KEEPIDLE", None) or getattr(socket, "TCP_KEEPALIVE", None)
    if idle_option is not None:
        options.append((socket.IPPROTO_TCP, idle_option, idle))
    if hasattr(socket, "TCP_KEEPINTVL"):
        options.append((socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, max(1, round(keepalive_secs / 3))))
    if hasattr(socket, "TCP_KEEPCNT"):
        options.append((socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3))
    for level, option, value in options:
        with contextlib.suppress(OSError):  # where the platform does not allow it
            sock.setsockopt(level, option, value)


async def accept_loop(shared: Shared, listener: socket.socket, spawn: Spawn) -> None:
    """Accept until cancelled (shutdown step 1); every connection goes on in a task of its own."""
    loop = asyncio.get_running_loop()
    first_backoff = shared.limits.accept_error_backoff_ms / 1000
    backoff = first_backoff
    while True:
        try:
            sock, address = await loop.sock_accept(listener)
        except ConnectionAbortedError:
            continue  # the peer gave up before we accepted: nothing to back off from
        except OSError as error:
            shared.listener_log.warn("accept_error", f"accept failed ({error}); pausing {backoff:.2f} s")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_ACCEPT_BACKOFF_SECS)
            continue
        backoff = first_backoff
        shared.metrics.connections_accepted += 1
        try:
            hand_off(shared, sock, address, spawn)
        except Exception:  # a bug in admission must not stop the accept loop
            _log.exception("handing off a connection from %s failed", address)
            sock.close()


def hand_off(shared: Shared, sock: socket.socket, address: Any, spawn: Spawn) -> None:
    """Admit or refuse one accepted socket, in spec order; never waits."""
    peer = peer_of(address)
    loop = asyncio.get_running_loop()
    admitted = RefuseReason.SHUTTING_DOWN if shared.draining else shared.admission.admit(peer.ip, loop.time())
    if isinstance(admitted, Slot):
        handler = Handler(shared, sock, peer, shared.next_connection_id(), admitted)
        shared.adopt(handler)
        spawn(_serve(shared, sock, handler))
        return
    shared.metrics.refuse(admitted)
    shared.listener_log.warn(admitted.label, f"connection refused ({peer.addr})")
    spawn(refuse(shared, sock, admitted.notice))


async def _serve(shared: Shared, sock: socket.socket, handler: Handler) -> None:
    # Runs in the connection's own task, as §4.2 asks of socket options.
    set_socket_options(sock, shared.limits.tcp_keepalive_secs)
    await handler.serve()


async def refuse(shared: Shared, sock: socket.socket, notice: Notice | None) -> None:
    """One non-waiting attempt at the notice, then the usual close (half-close, drain, close).

    With TLS the notice goes out after the handshake, within the handshake timeout; a failed
    handshake closes the socket silently.
    """
    try:
        set_socket_options(sock, None)
        if shared.ssl_context is None:
            if notice is not None:
                _send_once(shared, sock, notice)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
            await _discard_input(sock)
        else:
            await _refuse_tls(shared, sock, notice)
    finally:
        sock.close()


def _send_once(shared: Shared, sock: socket.socket, notice: Notice) -> None:
    try:
        sent = sock.send(notice.line)
    except OSError:  # would block, reset: the notice is best effort
        return
    if sent:
        shared.metrics.retired.notices[NOTICE_INDEX[notice]] += 1


async def _discard_input(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    with contextlib.suppress(OSError):  # the timeout, a reset: either way, done
        async with asyncio.timeout(REFUSAL_DRAIN_SECS):
            while await loop.sock_recv(sock, 4096):
                pass


async def _refuse_tls(shared: Shared, sock: socket.socket, notice: Notice | None) -> None:
    loop = asyncio.get_running_loop()
    handshake = shared.security.handshake_timeout_secs
    reader = asyncio.StreamReader(loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    try:
        async with asyncio.timeout(handshake):
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, sock, ssl=shared.ssl_context, ssl_handshake_timeout=handshake
            )
    except OSError:
        return
    if notice is not None:
        transport.write(notice.line)  # buffered at most: the transport never makes us wait
        shared.metrics.retired.notices[NOTICE_INDEX[notice]] += 1
    # TLS has no half-close: closing sends the notice, then close_notify, bounded like any drain.
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    transport.close()
    try:
        async with asyncio.timeout(REFUSAL_DRAIN_SECS):
            await writer.wait_closed()
    except OSError:
        transport.abort()
