"""Relay spec §4.14 and §6 C25 (endpoint): ``/healthz``, ``/metrics`` and ``/connz`` over HTTP.

The endpoint is on only when ``metrics.port`` is set; port 0 picks one, read back through
``RunningRelay.metrics_address``. Each request here is one short HTTP/1.1 exchange with a bound on
the whole of it. Counters settle just after the bytes they count are seen, so the tests await them
through ``stats()`` first and then read the endpoint once, which must agree.

A member that never reads is stalled by sending it lines until its queue in the relay holds at
least :data:`STALLED_QUEUE_BYTES`: its kernel buffers are full by then, so its queue stays put (for
``/connz``) and a shutdown drain cannot finish before its deadline (for ``/healthz`` answering 503).
"""

# Every wait takes its own bound, as ARCHITECTURE §8 asks (``await probe.next(timeout=...)``).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any, NamedTuple

import pytest

from summoner_client import __version__
from summoner_client.protocol.notices import Notice
from summoner_client.server import RunningRelay
from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import ProbeClient
from summoner_client.testing.relays import Backend, wait_for_members, wait_for_stat
from tests.conformance._exchange import play_c25_exchange

pytestmark = pytest.mark.conformance

METRICS_ON = {"metrics": {"port": 0}}
DRAIN_SECS = 2.0
SMALL_RECV_BUFFER = 4_096
FLOOD_LINE = b"x" * 16_000 + b"\n"
FLOOD_CHUNK_LINES = 64  # about 1 MB per write
MAX_FLOOD_CHUNKS = 12  # under max_queue_bytes (16 MiB) whatever the kernel absorbs first
STALLED_QUEUE_BYTES = 1 << 20
CONNZ_KEYS = {
    "id",
    "address",
    "peer",
    "state",
    "connected_secs",
    "lines_in",
    "lines_out",
    "bytes_in",
    "bytes_out",
    "queue_messages",
    "queue_bytes",
    "lagging",
    "shedding",
    "dropped",
}


class Response(NamedTuple):
    """One HTTP answer: status code, headers (names lowercased) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def http(address: tuple[str, int] | None, request: bytes, *, timeout: float = 5.0) -> Response:
    """Send ``request`` raw, read the answer to EOF (the endpoint closes after each), and parse it."""
    assert address is not None, "the metrics endpoint is off"
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(*address)
        try:
            writer.write(request)
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    head, separator, body = raw.partition(b"\r\n\r\n")
    assert separator, f"no complete response head in {raw[:200]!r}"
    status_line, *header_lines = head.decode("ascii").split("\r\n")
    version, status, _ = status_line.split(" ", 2)
    assert version == "HTTP/1.1"
    headers = {
        name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)
    }
    assert headers["content-length"] == str(len(body))
    assert headers["connection"] == "close"
    return Response(int(status), headers, body)


async def get(relay: RunningRelay, target: str) -> Response:
    return await http(relay.metrics_address, f"GET {target} HTTP/1.1\r\nHost: relay\r\n\r\n".encode())


def samples(exposition: str) -> dict[str, int]:
    """The samples of a Prometheus text exposition, by name with labels."""
    out: dict[str, int] = {}
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = int(value)
    return out


async def stall(relay: RunningRelay, sender: ProbeClient) -> int:
    """Flood every other member until the relay queues at least :data:`STALLED_QUEUE_BYTES` for them.

    Returns the number of lines sent.

    Meant for a relay whose only other member never reads: the sender gets no echo, so the whole
    ``queue_bytes`` gauge is that member's.
    """
    sent = 0
    for _ in range(MAX_FLOOD_CHUNKS):
        await sender.send(FLOOD_LINE * FLOOD_CHUNK_LINES)
        sent += FLOOD_CHUNK_LINES
        await wait_for_stat(relay, "lines_relayed_total", sent)
        if relay.stats()["queue_bytes"] >= STALLED_QUEUE_BYTES:
            return sent
    raise AssertionError(f"the relay queued only {relay.stats()['queue_bytes']} bytes after {sent} lines")


async def test_endpoint_is_off_unless_a_metrics_port_is_set(relay_factory: RelayFactory) -> None:
    assert (await relay_factory()).metrics_address is None
    relay = await relay_factory(METRICS_ON)
    assert relay.metrics_address is not None
    host, port = relay.metrics_address
    assert host == "127.0.0.1"  # the default host: loopback
    assert port not in (0, relay.port)


async def test_healthz_answers_ok_while_serving(relay_factory: RelayFactory) -> None:
    relay = await relay_factory(METRICS_ON)
    response = await get(relay, "/healthz")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok"}


async def test_metrics_counts_the_exchange_of_c25_and_names_the_backend(
    relay_factory: RelayFactory, probe_factory: ProbeFactory, relay_backend: Backend
) -> None:
    relay = await relay_factory(METRICS_ON)
    await play_c25_exchange(relay, probe_factory)
    await wait_for_stat(relay, "deliveries_total", 20)

    response = await get(relay, "/metrics")
    assert response.status == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4"
    scraped = samples(response.body.decode())
    expected = {
        "summoner_relay_lines_received_total": 12,
        "summoner_relay_lines_relayed_total": 10,
        "summoner_relay_deliveries_total": 20,
        'summoner_relay_dropped_total{reason="too_long"}': 1,
        'summoner_relay_dropped_total{reason="invalid_utf8"}': 1,
        'summoner_relay_connections{state="member"}': 3,
        "summoner_relay_connections_accepted_total": 3,
        f'summoner_relay_info{{version="{__version__}",backend="{relay_backend}"}}': 1,
    }
    assert {name: scraped.get(name) for name in expected} == expected
    # Every counter and gauge of stats() is exposed under the prefix; besides them only the
    # queue-depth histogram and info.
    exposed = {f"summoner_relay_{name}" for name in relay.stats() if name not in ("members", "connections")}
    histogram = {name for name in scraped if name.startswith("summoner_relay_queue_depth_")}
    assert set(scraped) - exposed - histogram == {
        f'summoner_relay_info{{version="{__version__}",backend="{relay_backend}"}}'
    }
    assert exposed <= set(scraped)
    # Each writer batch observed the depth it started from: B and C each wrote at least one.
    assert scraped['summoner_relay_queue_depth_bucket{le="+Inf"}'] >= 2
    assert (
        scraped["summoner_relay_queue_depth_count"] == scraped['summoner_relay_queue_depth_bucket{le="+Inf"}']
    )
    assert scraped["summoner_relay_queue_depth_sum"] >= 20


async def test_metrics_exposition_declares_each_family_once_with_its_type(
    relay_factory: RelayFactory,
) -> None:
    relay = await relay_factory(METRICS_ON)
    body = (await get(relay, "/metrics")).body.decode()
    declared: dict[str, str] = {}
    families_in_order: list[str] = []
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(" ")
            assert family not in declared, f"second TYPE line for {family}"
            declared[family] = kind
            continue
        family = line.partition("{")[0].partition(" ")[0]
        if family not in declared:
            # A histogram's samples are its family name plus _bucket, _sum or _count.
            base = family.rpartition("_")[0]
            if declared.get(base) == "histogram":
                family = base
        assert family in declared, f"sample {line!r} before its TYPE line"
        if not families_in_order or families_in_order[-1] != family:
            assert family not in families_in_order, f"samples of {family} are not one group"
            families_in_order.append(family)
    assert all(kind == "counter" for family, kind in declared.items() if family.endswith("_total"))
    assert declared.pop("summoner_relay_queue_depth") == "histogram"
    assert all(kind == "gauge" for family, kind in declared.items() if not family.endswith("_total"))


async def test_connz_lists_members_by_id_or_by_queue_bytes_within_the_limit(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory(METRICS_ON)
    sender = await probe_factory(relay)
    stalled = await probe_factory(relay, recv_buffer=SMALL_RECV_BUFFER)
    await wait_for_members(relay, 2)
    flooded = await stall(relay, sender)
    idle = await probe_factory(relay)  # joins after the flood: an empty queue
    await wait_for_members(relay, 3)

    response = await get(relay, "/connz")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    rows = response.json()
    assert [set(row) for row in rows] == [CONNZ_KEYS] * 3
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids)
    by_address = {row["address"]: row for row in rows}
    assert set(by_address) == {sender.local_addr, stalled.local_addr, idle.local_addr}
    assert all(row["state"] == "member" and row["peer"] == row["address"] for row in rows)
    sent = by_address[sender.local_addr]
    assert (sent["lines_in"], sent["bytes_in"], sent["lines_out"]) == (flooded, flooded * len(FLOOD_LINE), 0)
    assert sent["queue_bytes"] == by_address[idle.local_addr]["queue_bytes"] == 0
    assert by_address[stalled.local_addr]["queue_bytes"] >= STALLED_QUEUE_BYTES
    assert by_address[stalled.local_addr]["queue_messages"] > 0

    by_queue = (await get(relay, "/connz?sort=queue_bytes")).json()
    assert by_queue[0]["address"] == stalled.local_addr
    assert [row["queue_bytes"] for row in by_queue] == sorted(
        (row["queue_bytes"] for row in by_queue), reverse=True
    )
    top = (await get(relay, "/connz?limit=1&sort=queue_bytes")).json()
    assert [row["address"] for row in top] == [stalled.local_addr]
    assert [row["id"] for row in (await get(relay, "/connz?limit=2&sort=id")).json()] == ids[:2]
    assert (await get(relay, "/connz?limit=0")).json() == []
    assert len((await get(relay, "/connz?limit=many")).json()) == 3  # not a number: the default, 100


async def test_unknown_path_is_404_and_anything_but_get_is_400(relay_factory: RelayFactory) -> None:
    relay = await relay_factory(METRICS_ON)
    missing = await get(relay, "/nowhere")
    assert (missing.status, missing.body) == (404, b"not found\n")
    assert (await get(relay, "/healthz/")).status == 404
    for request in (
        b"POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"HEAD /metrics HTTP/1.1\r\n\r\n",
        b"GET\r\n\r\n",
    ):
        refused = await http(relay.metrics_address, request)
        assert (refused.status, refused.body) == (400, b"bad request\n"), request
    # A bad request costs its own connection only.
    assert (await get(relay, "/healthz")).status == 200


async def test_healthz_answers_503_during_the_drain_and_the_endpoint_stops_at_exit(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({**METRICS_ON, "hyper_parameters": {"shutdown_drain_secs": DRAIN_SECS}})
    witness = await probe_factory(relay)
    await probe_factory(relay, recv_buffer=SMALL_RECV_BUFFER)  # never reads: the drain lasts
    await wait_for_members(relay, 2)
    await stall(relay, witness)  # the witness sends, so it receives nothing but N3
    assert (await get(relay, "/healthz")).status == 200

    started = time.monotonic()
    stopping = asyncio.create_task(asyncio.to_thread(relay.stop, DRAIN_SECS + 3.0))
    # N3 is queued at step 3, after /healthz turned at step 1; the stalled member holds the drain open.
    assert await witness.next(timeout=DRAIN_SECS) == Notice.SHUTTING_DOWN.line
    draining = await get(relay, "/healthz")
    assert time.monotonic() - started < DRAIN_SECS, "the drain ended before /healthz was asked"
    assert draining.status == 503
    assert draining.json() == {"status": "draining"}

    await stopping
    with pytest.raises(ConnectionError):  # step 6: the endpoint is gone with the relay
        await get(relay, "/healthz")
