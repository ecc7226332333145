"""The operator endpoint: ``/healthz``, ``/metrics`` and ``/connz`` over plain HTTP/1.1, GET only.

Served only when ``metrics.port`` is set, on loopback unless configured otherwise (relay spec §3.9,
§4.14). Requests are bounded in size and time; each is answered and the connection closed.
Hand-written on ``asyncio.start_server`` rather than built on an HTTP framework: three read-only
routes do not justify a server stack in the relay's dependencies. Mirrors
``rust_server/core/src/admin.rs``: same routes, statuses, headers and bodies.

What does not belong here: the counters themselves (``metrics.py``, summed by
:meth:`Shared.counters`) and the shutdown sequence, which only flips ``Shared.draining`` at step 1
and cancels :func:`serve_loop` at step 6 (``server.py``).

Everything here runs on the relay's event loop, so a scrape reads the registry and the outboxes
between two fan-outs, never in the middle of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import time
from typing import TYPE_CHECKING, Final, NamedTuple

from summoner_client import __version__
from summoner_client.server.python_relay.listener import bind_socket

if TYPE_CHECKING:
    from summoner_client.server.python_relay.server import Shared

__all__ = [
    "CONNZ_DEFAULT_LIMIT",
    "CONNZ_MAX_LIMIT",
    "MAX_REQUEST_BYTES",
    "REQUEST_TIMEOUT_SECS",
    "Answer",
    "bind_endpoint",
    "connz",
    "prometheus",
    "route",
    "serve_loop",
]

_log = logging.getLogger(__name__)

MAX_REQUEST_BYTES: Final = 8 * 1024
"""Longest request accepted, headers included: a scrape's request head is a few hundred bytes."""
REQUEST_TIMEOUT_SECS: Final = 5.0
"""Time allowed to send the request, and then to take the answer: a stalled client costs one task."""
CONNZ_DEFAULT_LIMIT: Final = 100
"""``/connz`` rows when ``?limit=`` is absent or not a number."""
CONNZ_MAX_LIMIT: Final = 10_000
"""``/connz`` rows at most, whatever ``?limit=`` asks: bounds the body and the time to build it."""

_BACKLOG: Final = 64  # as admin.rs: scrapers are few
_READ_CHUNK: Final = 1024
_USIZE_MAX: Final = (1 << 64) - 1  # ?limit= beyond what admin.rs parses falls back to the default


class Answer(NamedTuple):
    """One HTTP response: status line text, ``Content-Type`` and body."""

    status: str
    kind: str
    body: bytes


_BAD_REQUEST: Final = Answer("400 Bad Request", "text/plain", b"bad request\n")
_NOT_FOUND: Final = Answer("404 Not Found", "text/plain", b"not found\n")
_HEALTHY: Final = Answer("200 OK", "application/json", b'{"status":"ok"}')
_DRAINING: Final = Answer("503 Service Unavailable", "application/json", b'{"status":"draining"}')


async def bind_endpoint(host: str, port: int) -> socket.socket:
    """The endpoint's listening socket on ``host:port`` (port 0 picks one); warns beyond loopback.

    Bound at :meth:`PythonRelay.bind`, with the relay's own listener, so a bad address fails the
    start and the picked port is known before serving.

    Raises:
        OSError: The address cannot be resolved or bound.
    """
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, _, _, _, address = infos[0]
    sock = bind_socket(family, address, _BACKLOG)
    bound_host, bound_port = sock.getsockname()[:2]
    if not ipaddress.ip_address(str(bound_host).partition("%")[0]).is_loopback:
        _log.warning("the metrics endpoint listens beyond loopback on %s", host)
    _log.info("metrics endpoint on %s:%d (/healthz, /metrics, /connz)", bound_host, bound_port)
    return sock


async def serve_loop(shared: Shared, sock: socket.socket) -> None:
    """Answer requests on ``sock`` until cancelled (shutdown step 6); closes ``sock``.

    Each request is answered in a task of this loop's own group, so cancelling the loop also ends
    every answer still in flight: nothing outlives it.
    """
    async with asyncio.TaskGroup() as answers:

        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                answers.create_task(_answer(shared, reader, writer))
            except RuntimeError:  # the group is closing: the endpoint is going away
                writer.transport.abort()

        # A plain callback, not a coroutine: asyncio would own a coroutine's task, and nobody awaits it.
        server = await asyncio.start_server(accepted, sock=sock)
        try:
            await server.serve_forever()
        finally:
            server.close()


async def _answer(shared: Shared, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read one request, answer it, close; every step bounded by :data:`REQUEST_TIMEOUT_SECS`."""
    try:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECS):
                target = await _read_target(reader)
        except (TimeoutError, OSError):
            target = None
        answer = _BAD_REQUEST if target is None else route(shared, target)
        async with asyncio.timeout(REQUEST_TIMEOUT_SECS):
            await _respond(writer, answer)
    except (TimeoutError, OSError):
        pass  # the client left or stalled; nothing more to tell it
    except Exception:  # a scrape's failure must not end the endpoint, let alone the relay
        _log.exception("metrics endpoint: answering a request failed")
    finally:
        writer.transport.abort()  # no-op once closed; cuts a client that would not take the answer


async def _read_target(reader: asyncio.StreamReader) -> str | None:
    """Read the request head and return the target of a ``GET``, or None for anything else."""
    head = b""
    while b"\r\n\r\n" not in head and b"\n\n" not in head:
        chunk = await reader.read(_READ_CHUNK)
        if not chunk or len(head) + len(chunk) > MAX_REQUEST_BYTES:
            return None
        head += chunk
    request_line = head.decode("utf-8", "replace").split("\n", 1)[0]
    words = request_line.split()
    if len(words) >= 2 and words[0] == "GET":  # the method and the target
        return words[1]
    return None


async def _respond(writer: asyncio.StreamWriter, answer: Answer) -> None:
    head = (
        f"HTTP/1.1 {answer.status}\r\nContent-Type: {answer.kind}\r\n"
        f"Content-Length: {len(answer.body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode("ascii") + answer.body)
    await writer.drain()
    writer.close()  # flushes what is buffered, then sends FIN
    await writer.wait_closed()


def route(shared: Shared, target: str) -> Answer:
    """The answer to ``GET target``."""
    path, _, query = target.partition("?")
    if path == "/healthz":
        return _DRAINING if shared.draining else _HEALTHY
    if path == "/metrics":
        return Answer("200 OK", "text/plain; version=0.0.4", prometheus(shared).encode())
    if path == "/connz":
        return Answer("200 OK", "application/json", connz(shared, query).encode())
    return _NOT_FOUND


def prometheus(shared: Shared) -> str:
    """The Prometheus text exposition of §4.14: counters, gauges, the queue-depth histogram, info.

    Samples are grouped by family, each family under one ``# TYPE`` line, counters before gauges.
    """
    lines: list[str] = []
    for kind, samples in (("counter", shared.counters()), ("gauge", shared.gauges())):
        families: dict[str, list[str]] = {}
        for name, value in samples.items():
            families.setdefault(name.partition("{")[0], []).append(f"summoner_relay_{name} {value}")
        for family, rows in families.items():
            lines.append(f"# TYPE summoner_relay_{family} {kind}")
            lines.extend(rows)
    buckets, depth_sum, depth_count = shared.totals().queue_depth_histogram()
    lines.append("# TYPE summoner_relay_queue_depth histogram")
    lines.extend(f'summoner_relay_queue_depth_bucket{{le="{le}"}} {count}' for le, count in buckets)
    lines.append(f"summoner_relay_queue_depth_sum {depth_sum}")
    lines.append(f"summoner_relay_queue_depth_count {depth_count}")
    lines.append("# TYPE summoner_relay_info gauge")
    lines.append(f'summoner_relay_info{{version="{__version__}",backend="python"}} 1')
    return "\n".join(lines) + "\n"


def connz(shared: Shared, query: str) -> str:
    """One JSON object per member, by id or by queue bytes (largest first), at most ``limit`` of them.

    Keys and formatting are admin.rs's: compact, keys sorted, ``connected_secs`` to the millisecond.
    """
    limit, by_queue = _connz_options(query)
    registry = shared.registry
    rows = [(member, member.outbox.depth) for member in registry.snapshot()]
    if by_queue:
        rows.sort(key=lambda row: (-row[1][1], row[0].conn_id))
    else:
        rows.sort(key=lambda row: row[0].conn_id)
    now = time.monotonic()
    objects = []
    for member, (queue_messages, queue_bytes, lagging, shedding) in rows[:limit]:
        counters = member.counters
        joined = registry.joined_at(member.conn_id)
        objects.append(
            {
                "id": member.conn_id,
                "address": member.addr,
                "peer": member.peer,
                "state": "member",
                "connected_secs": max(0, int((now - joined) * 1000)) / 1000,
                "lines_in": counters.lines_received,
                "lines_out": counters.deliveries,
                "bytes_in": counters.bytes_received,
                "bytes_out": counters.bytes_sent,
                "queue_messages": queue_messages,
                "queue_bytes": queue_bytes,
                "lagging": lagging,
                "shedding": shedding,
                "dropped": sum(counters.dropped),
            }
        )
    return json.dumps(objects, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _connz_options(query: str) -> tuple[int, bool]:
    """``(limit, by_queue_bytes)`` from the query string; anything unknown or malformed is ignored."""
    limit, by_queue = CONNZ_DEFAULT_LIMIT, False
    for pair in query.split("&"):
        key, sep, value = pair.partition("=")
        if not sep:
            continue
        if key == "limit":
            limit = min(_parse_usize(value, CONNZ_DEFAULT_LIMIT), CONNZ_MAX_LIMIT)
        elif key == "sort" and value == "queue_bytes":
            by_queue = True
    return limit, by_queue


def _parse_usize(text: str, default: int) -> int:
    """``text`` as Rust's ``usize::from_str`` reads it (ASCII digits, optional ``+``), else ``default``."""
    digits = text.removeprefix("+")
    if not digits or not (digits.isascii() and digits.isdigit()):
        return default
    with contextlib.suppress(ValueError):
        value = int(digits)
        if value <= _USIZE_MAX:
            return value
    return default
