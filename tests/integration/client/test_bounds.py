"""The bounds of spec §12.5, each with its required test: receive slots, event bridge, send_queue,
workers, outbox, publish queue, outbound line limit and the shutdown budget. (The inbound line is
covered in tests/unit/protocol and test_lifecycle; the timed pending data in tests/unit/client.)

Most run the two harness halves of a session (spec §5.1) on an in-memory reader and a fake writer,
so the state at the bound is exact and observable; the publish queue and the shutdown budget run a
whole client against a local server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from summoner_client.client import SummonerClient
from summoner_client.errors import ClientNotRunning, PublishQueueFull
from summoner_client.protocol.payload import wrap_with_types
from summoner_client.protocol.process import Action, Direction, Event, Move
from summoner_client.protocol.triggers import load_triggers
from summoner_client.protocol.wire import relayed_line_estimate
from tests.integration.client._helpers import (
    Clients,
    Collector,
    CountingReader,
    FakeWriter,
    Harness,
    LogRecorder,
    RawServer,
    apply_config,
    content_of,
    fast_config,
    hold_connection,
    relayed_payload,
    settle,
)

Logs = Callable[[SummonerClient], LogRecorder]
Trigger = load_triggers(text="ok\n")


def flow_agent(name: str) -> SummonerClient:
    agent = SummonerClient(name)
    agent.flow().activate().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    return agent


# -- event_bridge ------------------------------------------------------------------------------


async def test_event_bridge_bound_holds_with_a_blocked_hub_sender_and_reading_pauses() -> None:
    client = flow_agent("bridge-bound")
    apply_config(
        client, fast_config(sender={"concurrency_limit": 1, "queue_maxsize": 1, "event_bridge_maxsize": 2})
    )
    release = asyncio.Event()
    hub_calls = Collector()
    received = Collector()
    bridge_sizes: list[int] = []

    @client.upload_states()
    async def upload(msg: Any) -> str:
        return "A"

    @client.receive("A --> B")
    async def step(msg: Any) -> Event:
        bridge = client.event_bridge
        assert bridge is not None
        bridge_sizes.append(bridge.qsize())
        received.add(msg["content"])
        return Move(Trigger.ok)

    @client.send("A --> B", on_actions={Action.MOVE})
    async def hub() -> None:
        hub_calls.add(1)
        await release.wait()

    reader = CountingReader()
    for n in range(20):
        reader.feed_data(relayed_payload(n))
    harness = Harness(client, reader, FakeWriter())
    await hub_calls.wait(1)
    # Everything in front of the pipeline is full: one invocation running, one in send_queue, one tick
    # in the dispatcher's hands, two events in the bridge, and the sixth message waiting to bridge.
    at_the_bound = 1 + 1 + 1 + 2 + 1
    await received.wait(at_the_bound)
    await settle()
    assert len(received.items) == at_the_bound
    assert client.stats["lines_received"] == at_the_bound  # the rest of the chunk is not even split off
    assert len(reader.reads.items) == 1  # no new read(): reading paused
    bridge = client.event_bridge
    assert bridge is not None
    assert bridge.qsize() == bridge.maxsize == 2
    release.set()
    assert await received.wait(20) == list(range(20))
    await reader.reads.wait(2)  # the chunk is done and reading resumes
    assert max(bridge_sizes) <= 2
    assert await harness.close() == [None, None]


# -- receive slots ---------------------------------------------------------------------------------


async def test_two_receive_slots_hold_two_messages_and_reading_stops() -> None:
    client = SummonerClient("slots")
    apply_config(client, fast_config(receiver={"max_concurrent_handlers": 2}))
    gate = asyncio.Event()
    started = Collector()
    in_flight = peak = 0

    @client.receive("any")
    async def slow(msg: Any) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        started.add(msg["content"])
        await gate.wait()
        in_flight -= 1

    reader = CountingReader()
    for n in range(10):
        reader.feed_data(relayed_payload(n, addr=f"10.0.0.{n}:1"))  # ten peers: no ordering waits
    harness = Harness(client, reader)
    await started.wait(2)
    await settle()
    assert len(started.items) == 2
    assert client.stats["lines_received"] == 3  # the third waits for a slot, and nothing after it is read
    assert len(reader.reads.items) == 1
    gate.set()
    assert sorted(await started.wait(10)) == list(range(10))
    await reader.reads.wait(2)
    assert peak == 2
    assert await harness.close() == [None]


# -- send_queue and workers ----------------------------------------------------------------------


def blocked_senders(client: SummonerClient, count: int, gate: asyncio.Event, calls: Collector) -> None:
    """``count`` plain senders that block on ``gate`` until it opens, then produce nothing."""

    def blocked(index: int) -> Callable[[], Any]:
        async def sender() -> None:
            calls.add(index)
            await gate.wait()

        sender.__name__ = f"sender_{index}"
        return sender

    for index in range(count):
        client.add_send(blocked(index), f"route-{index}")


async def test_send_queue_bound_is_never_exceeded_and_warns_at_80_percent(logs: Logs) -> None:
    client = SummonerClient("queue-bound")
    apply_config(client, fast_config(sender={"concurrency_limit": 2, "queue_maxsize": 10}))
    log = logs(client)
    gate = asyncio.Event()
    calls = Collector()
    blocked_senders(client, 13, gate, calls)  # 2 running + 10 queued + 1 waiting to enqueue
    harness = Harness(client, writer=FakeWriter())
    await calls.wait(2)
    await settle()
    queue = client.send_queue
    assert queue is not None
    assert len(calls.items) == 2
    assert queue.qsize() == queue.maxsize == 10
    warnings = [m for m in log.messages(logging.WARNING) if m.startswith("Queue is about")]
    assert warnings == ["Queue is about to exceed 80% its capacity; Attempted load size: 9 out of 10"]
    gate.set()
    await calls.wait(13)  # the waiting producer got in once room was made
    assert await harness.close() == [None]


async def test_never_more_sender_functions_running_than_concurrency_limit() -> None:
    client = SummonerClient("worker-bound")
    apply_config(client, fast_config(sender={"concurrency_limit": 3, "queue_maxsize": 20}))
    gate = asyncio.Event()
    calls = Collector()
    running = peak = 0

    def counted(index: int, every: float | None) -> None:
        async def sender() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            calls.add(index)
            try:
                await gate.wait()
            finally:
                running -= 1

        sender.__name__ = f"sender_{index}"
        client.add_send(sender, f"route-{index}", every=every)

    for index in range(8):
        counted(index, None)  # plain untimed
    for index in range(8, 10):
        counted(index, 0.01)  # timed: they share the workers
    harness = Harness(client, writer=FakeWriter())
    await calls.wait(3)
    await settle()
    assert len(calls.items) == 3
    assert running == 3
    gate.set()
    await calls.wait(30)  # every sender ran, the plain ones again and again
    assert set(calls.items) == set(range(10))
    assert peak == 3
    assert await harness.close() == [None]


# -- outbox ----------------------------------------------------------------------------------------


async def test_outbox_bound_holds_when_the_peer_stops_reading() -> None:
    client = SummonerClient("outbox-bound")
    apply_config(client, fast_config(sender={"concurrency_limit": 1, "max_outbox_lines": 25}))
    sizes: list[int] = []

    def outbox_size() -> int:
        session = client._last_session
        assert session is not None
        return len(session.outbox)

    calls = Collector()

    @client.send("bulk", multi=True)
    async def bulk() -> list[str] | None:
        sizes.append(outbox_size())
        if len(calls.items) == 6:
            return None  # 60 lines in all
        calls.add(1)
        return [f"line-{len(calls.items)}-{i}" for i in range(10)]

    writer = FakeWriter(on_write=lambda: sizes.append(outbox_size()))
    writer.hold()  # drain() never returns: a peer that stopped reading
    for n in range(30):
        client.publish_nowait(n)
    harness = Harness(client, writer=writer)
    await writer.lines.wait(1)
    await settle()
    stalled = len(calls.items)
    await settle()
    assert len(calls.items) == stalled  # workers wait for room: no new invocation
    assert writer.writes == 1  # the writer is still draining its first batch
    assert 15 < outbox_size() <= 25  # the next group of 10 does not fit
    assert len(client._publish) >= 5  # the publisher waits too: at most 25 lines can be queued
    writer.release()
    lines = await writer.lines.wait(90, timeout=10)
    contents = [content_of(line) for line in lines]
    assert [c for c in contents if isinstance(c, int)] == list(range(30))  # in publish order
    assert len([c for c in contents if isinstance(c, str)]) == 60
    assert max(sizes) <= 25
    assert await harness.close() == [None]


# -- publish queue -------------------------------------------------------------------------------


async def test_publish_queue_at_its_bound_for_each_method(logs: Logs) -> None:
    received = Collector()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            received.add(content_of(line.rstrip(b"\n")))

    client = SummonerClient("publish-bound")
    log = logs(client)
    gate = asyncio.Event()
    hooked = Collector()

    @client.hook(Direction.SEND)
    async def held(payload: Any) -> Any:
        hooked.add(payload)
        await gate.wait()  # the publisher holds "first" here, so nothing drains the queue
        return payload

    config = fast_config(sender={"max_publish_queue": 3})
    async with RawServer(script) as server:
        await client.start("127.0.0.1", server.port, config_dict=config, timeout=5)
        client.publish_nowait("first")
        await hooked.wait(1)
        for n in range(3):
            client.publish_nowait(n)
        with pytest.raises(PublishQueueFull):
            client.publish_nowait("no room")
        waiting = asyncio.create_task(client.publish("waits"))
        await settle()
        assert not waiting.done()  # publish() waits for room

        def from_thread(timeout: float) -> BaseException | None:
            try:
                client.publish_threadsafe("from thread", timeout=timeout)
            except BaseException as exc:
                return exc
            return None

        outcome = await asyncio.to_thread(from_thread, 0.2)
        assert isinstance(outcome, PublishQueueFull)  # blocked, then gave up after its timeout
        blocked = asyncio.ensure_future(asyncio.to_thread(from_thread, 10.0))
        gate.set()  # room again: the waiting publish and the blocked thread get in, in order
        await asyncio.wait_for(waiting, 5)
        assert await asyncio.wait_for(blocked, 5) is None
        got = await received.wait(6)
        assert got[:4] == ["first", 0, 1, 2]
        assert sorted(got[4:]) == ["from thread", "waits"]  # two callers: no order between them
        await asyncio.wait_for(client.stop(), 5)
    assert client.stats["published"] == 6
    # No run is active now: a full queue has nothing to drain it.
    for n in range(3):
        client.publish_nowait(n)
    with pytest.raises(PublishQueueFull):
        client.publish_nowait("no room")
    with pytest.raises(ClientNotRunning):
        await asyncio.wait_for(client.publish("no run"), 5)
    with pytest.raises(ClientNotRunning):
        await asyncio.to_thread(client.publish_threadsafe, "no run", timeout=5)
    assert log.count("published message(s) were not sent") == 0


# -- outbound line limit -------------------------------------------------------------------------

LIMIT = 65536
EXACT = "x" * (LIMIT - relayed_line_estimate(wrap_with_types("", SummonerClient.core_version)))
OVER = EXACT + "x"


def test_the_payloads_sit_at_the_limit_and_one_past_it() -> None:
    assert relayed_line_estimate(wrap_with_types(EXACT, SummonerClient.core_version)) == LIMIT
    assert relayed_line_estimate(wrap_with_types(OVER, SummonerClient.core_version)) == LIMIT + 1


async def test_outbound_line_limit_at_the_limit_and_one_past_it(logs: Logs) -> None:
    client = SummonerClient("outbound-limit")
    apply_config(client)
    log = logs(client)
    first: set[str] = set()

    def once(name: str, value: Any) -> Any:
        if name in first:
            return None
        first.add(name)
        return value

    @client.send("exact")
    async def at_limit() -> str | None:
        return once("exact", EXACT)

    @client.send("over")
    async def past_limit() -> str | None:
        return once("over", OVER)

    @client.send("mixed", multi=True)
    async def mixed() -> list[str] | None:
        return once("mixed", ["small", OVER])

    writer = FakeWriter()
    harness = Harness(client, writer=writer)
    await log.wait_for("Worker for past_limit crashed (1 in a row)")
    await log.wait_for("Worker for mixed crashed (1 in a row)")
    await writer.lines.wait(1)
    await settle()
    assert [content_of(line) for line in writer.lines.items] == [EXACT]  # "small" went with its group
    refused = f"Outgoing line of {LIMIT + 1} bytes would be relayed as more than {LIMIT} bytes; not sent"
    assert log.messages(logging.ERROR).count(refused) == 2
    stats = client.stats
    assert stats["lines_outbound_oversize"] == 2
    assert stats["sender_errors"] == 2
    assert await harness.close() == [None]


async def test_a_line_at_the_limit_crosses_the_relay_intact(clients: Clients) -> None:
    sink = Collector()
    receiver = SummonerClient("rx")

    @receiver.receive("any")
    async def on_message(msg: Any) -> None:
        sink.add(msg["content"])

    await clients.start(receiver)
    sender = await clients.start(SummonerClient("tx"))
    await sender.publish(OVER)  # refused before the relay: counted, never sent
    await sender.publish(EXACT)
    assert await sink.wait(1, timeout=10) == [EXACT]
    assert sender.stats["lines_outbound_oversize"] == 1
    assert sender.stats["publish_dropped"] == 1
    assert receiver.stats["lines_oversize"] == 0


# -- shutdown budget -----------------------------------------------------------------------------


async def test_a_handler_that_never_returns_delays_exit_by_at_most_the_shutdown_timeout(logs: Logs) -> None:
    budget = 0.3

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(relayed_payload("go"))
        await writer.drain()
        await hold_connection(reader, writer)

    client = SummonerClient("stuck")
    log = logs(client)
    started = Collector()
    cancelled = Collector()

    @client.receive("any")
    async def forever(msg: Any) -> None:
        started.add("receiver")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.add("receiver")
            raise

    @client.send("stuck")
    async def forever_sender() -> None:
        started.add("sender")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.add("sender")
            raise

    config = fast_config(lifecycle={"shutdown_timeout_secs": budget})
    async with RawServer(script) as server:
        await client.start("127.0.0.1", server.port, config_dict=config, timeout=5)
        await started.wait(2)
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.wait_for(client.stop(), 10)
        took = loop.time() - began
    assert budget - 0.05 <= took < budget + 2.0  # the handlers got their budget, and no more
    assert sorted(cancelled.items) == ["receiver", "sender"]
    assert log.count("Shutdown timeout") == 1
