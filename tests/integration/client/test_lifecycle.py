"""Lifecycle through real sockets: travel, relay restart with publish-outbox delivery, bad input from a
raw server, EOF reconnects, the blocking run() on a thread, and loops that never busy-wait."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from summoner_client.client import ClientStatus, SummonerClient
from summoner_client.protocol.process import Direction
from summoner_client.server import RunningRelay
from tests.integration.client._helpers import (
    FAST_CONFIG,
    Clients,
    Collector,
    RawServer,
    start_relay,
    wait_members,
)


def relay_line(content: str, addr: str = "10.0.0.1:1") -> bytes:
    import orjson

    return orjson.dumps({"remote_addr": addr, "content": content}) + b"\n"


async def test_oversize_and_malformed_lines_are_survived() -> None:
    release = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x" * (10 * 1024 * 1024) + b"\n")  # 10 MiB: skipped without buffering
        writer.write(b"\xff\xfe not utf-8\n")
        writer.write(b"plain text notice\r\n")
        writer.write(relay_line('{"_version": "9.9.9", "_payload": 5, "_type": "int"}', "1.2.3.4:5"))
        writer.write(relay_line('{"_version":"1.3.0","_payload":{"ok":true},"_type":{"ok":"bool"}}'))
        await writer.drain()
        await release.wait()

    sink = Collector()
    client = SummonerClient("raw")

    @client.receive("r")
    async def on_message(msg: Any) -> None:
        sink.add(msg)

    async with RawServer(script) as server:
        await client.start("127.0.0.1", server.port, config_dict=FAST_CONFIG, timeout=5)
        got = await sink.wait(3)
        release.set()
        await asyncio.wait_for(client.stop(), 5)
    assert got[0] == "plain text notice\r"
    assert got[1]["content"] == 5  # unknown version, cast with the 0.0.1 rules
    assert got[2] == {"remote_addr": "10.0.0.1:1", "content": {"ok": True}}
    stats = client.stats
    assert stats["lines_oversize"] == 1
    assert stats["lines_undecodable"] == 1


async def test_eof_reconnects_and_resets_attempts() -> None:
    second = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if server.accepted >= 2:
            second.set()
            await reader.read()  # hold the connection until the client closes it

    server = RawServer(script)
    client = SummonerClient("eof")
    async with server:
        await client.start("127.0.0.1", server.port, config_dict=FAST_CONFIG, timeout=5)
        await asyncio.wait_for(second.wait(), 5)
        await asyncio.wait_for(client.stop(), 5)
    assert client.stats["connects"] >= 2
    assert client.status is ClientStatus.STOPPED


async def test_travel_between_two_relays(relay_backend: str) -> None:
    first, second = start_relay(relay_backend), start_relay(relay_backend)
    pool_a, pool_b = Clients(first), Clients(second)
    try:
        traveller = SummonerClient("traveller")

        @traveller.send("hello")
        async def hello() -> dict[str, Any]:
            await asyncio.sleep(0.02)  # pacing is the sender's own job (spec §5.7)
            return {"at": traveller.port}

        sink = Collector()
        watcher = SummonerClient("watcher")

        @watcher.receive("hello")
        async def on_hello(msg: Any) -> None:
            if not sink.items:
                sink.add(msg["content"])

        await pool_b.start(watcher)
        await pool_a.start(traveller)
        await traveller.travel_to(second.host, second.port)
        got = await sink.wait(1)
        assert got[0] == {"at": second.port}
        assert traveller.host == second.host
        assert traveller.port == second.port
    finally:
        await pool_a.stop_all()
        await pool_b.stop_all()
        first.stop()
        second.stop()


async def test_relay_restart_reconnects_and_delivers_published_lines(relay_backend: str) -> None:
    relay: RunningRelay = start_relay(relay_backend)
    port = relay.port
    gate = asyncio.Event()
    gate.set()
    publisher = SummonerClient("publisher")

    @publisher.hook(Direction.SEND)
    async def wait_for_gate(payload: Any) -> Any:
        await gate.wait()  # holds published lines until the test has a listener connected
        return payload

    sink = Collector()
    listener = SummonerClient("listener")

    @listener.receive("x")
    async def on_message(msg: Any) -> None:
        sink.add(msg["content"])

    pool = Clients(relay)
    try:
        await pool.start(publisher)
        relay.stop()
        gate.clear()
        for n in range(50):
            publisher.publish_nowait(n)
        relay = start_relay(relay_backend, port=port)
        pool.relay = relay
        await listener.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=5)
        pool.started.append(listener)
        await wait_members(relay, 1)
        gate.set()
        got = await sink.wait(50, timeout=10)
        assert got == list(range(50))
        assert publisher.stats["connects"] >= 2
    finally:
        await pool.stop_all()
        relay.stop()


async def test_run_blocks_on_a_thread_and_quits_cleanly(relay: RunningRelay) -> None:
    client = SummonerClient("threaded")
    connected = threading.Event()

    @client.hook(Direction.RECEIVE)
    async def never(msg: Any) -> Any:
        return msg

    @client.send("s")
    async def mark() -> None:
        connected.set()
        await asyncio.sleep(3600)  # blocks only itself [D-19]

    thread = threading.Thread(
        target=client.run, args=(relay.host, relay.port), kwargs={"config_dict": FAST_CONFIG}
    )
    thread.start()
    assert await asyncio.to_thread(connected.wait, 5)
    loop = client._loop
    assert loop is not None
    asyncio.run_coroutine_threadsafe(client.quit(), loop)
    await asyncio.to_thread(thread.join, 10)
    assert not thread.is_alive()
    assert client._loop is None  # the loop it created was closed and forgotten [D-16]


class Heartbeat:
    """Counts loop turns; a frozen loop stops the count."""

    def __init__(self) -> None:
        self.ticks = 0

    async def run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(0.001)


@pytest.fixture
async def heartbeat() -> AsyncIterator[Heartbeat]:
    beat = Heartbeat()
    task = asyncio.create_task(beat.run())
    yield beat
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_no_busy_loops(clients: Clients, heartbeat: Heartbeat, monkeypatch: pytest.MonkeyPatch) -> None:
    from summoner_client.client import _timed

    passes = 0
    original = _timed.TimedScheduler._run_due

    async def counting(self: Any, loop: Any) -> Any:
        nonlocal passes
        passes += 1
        return await original(self, loop)

    monkeypatch.setattr(_timed.TimedScheduler, "_run_due", counting)
    client = SummonerClient("busy")
    slow_done = Collector()
    spin_count = 0
    none_count = 0

    @client.send("slow", every=0.005)
    async def slower_than_every() -> None:
        await asyncio.sleep(0.05)
        slow_done.add(1)

    @client.send("spin")
    async def never_awaits() -> str | None:
        nonlocal spin_count
        spin_count += 1
        return None

    @client.send("none", multi=True)
    async def multi_none() -> list[str] | None:
        nonlocal none_count
        none_count += 1
        return None

    await clients.start(client)
    start_ticks = heartbeat.ticks
    await slow_done.wait(3)
    # Three 50 ms batches: the scheduler woke a handful of times per batch, never in a tight spin.
    assert passes < 30
    # The idle delay paces senders that produce nothing: about one call per 10 ms, not thousands.
    assert spin_count < 100
    assert none_count < 100
    assert heartbeat.ticks - start_ticks >= 10
    assert client.stats["sender_errors"] == 0


async def test_a_quit_while_input_keeps_arriving_loses_none_of_the_last_lines(
    relay: RunningRelay, clients: Clients
) -> None:
    """Quitting half-closes and drains, so the kernel never resets a socket with unread input and
    the relay reads every line the client wrote last (its close is client_closed, not io_error)."""
    last_words = 200
    quitter = SummonerClient("quitter")
    listener_got = Collector()

    @quitter.receive("any")
    async def on_go(msg: Any) -> None:
        if isinstance(msg, dict) and msg.get("content") == "go":
            for index in range(last_words):
                await quitter.publish(f"last words {index}")
            await quitter.quit()

    listener = SummonerClient("listener")

    @listener.receive("any")
    async def on_line(msg: Any) -> None:
        if isinstance(msg, dict) and str(msg.get("content", "")).startswith("last words"):
            listener_got.add(msg["content"])

    chatty = SummonerClient("chatty")
    go = asyncio.Event()

    @chatty.send("chatter")
    async def chatter() -> str:
        # Keeps input flowing toward the quitter; the first call also triggers its last words.
        if not go.is_set():
            go.set()
            return "go"
        await asyncio.sleep(0)
        return "chatter"

    await clients.start(listener)
    started = await clients.start(quitter)
    await wait_members(relay, 2)
    await clients.start(chatty)
    await asyncio.wait_for(started.wait_stopped(), timeout=10)
    received = await listener_got.wait(last_words, timeout=10)
    assert received == [f"last words {index}" for index in range(last_words)]
    closed = relay.stats()
    assert closed['connections_closed_total{reason="io_error"}'] == 0
