"""Clients exchanging payloads through a relay: types, hooks, isolation, publish, quit, models."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from summoner_client.client import ClientStatus, SummonerClient
from summoner_client.errors import PublishQueueFull
from summoner_client.protocol.process import Direction
from tests.integration.client._helpers import Clients, Collector, fast_config


def receiving_client(name: str, sink: Collector, route: str = "chat") -> SummonerClient:
    client = SummonerClient(name)

    @client.receive(route)
    async def on_message(msg: Any) -> None:
        sink.add(msg)

    return client


async def test_two_clients_exchange_typed_payloads(clients: Clients) -> None:
    sink = Collector()
    receiver = await clients.start(receiving_client("rx", sink))
    sender = await clients.start(SummonerClient("tx"))
    payloads: list[Any] = [{"k": [1, 2.5, None, True]}, "true", '{"a": 1}', 7, 1.5, None, ["x", {"y": False}]]
    for payload in payloads:
        await sender.publish(payload)
    got = await sink.wait(len(payloads))
    assert [item["content"] for item in got] == payloads
    assert all(isinstance(item["remote_addr"], str) for item in got)
    assert receiver.stats["lines_received"] == len(payloads)


async def test_three_clients_each_message_reaches_every_other(clients: Clients) -> None:
    sinks = [Collector() for _ in range(3)]
    agents = [await clients.start(receiving_client(f"c{i}", sinks[i])) for i in range(3)]
    for index, agent in enumerate(agents):
        await agent.publish({"from": index})
    for index, sink in enumerate(sinks):
        got = await sink.wait(2)
        assert sorted(item["content"]["from"] for item in got) == sorted({0, 1, 2} - {index})


async def test_hooks_transform_and_drop(clients: Clients) -> None:
    sink = Collector()
    receiver = receiving_client("rx", sink)

    @receiver.hook(Direction.RECEIVE)
    async def drop_odd(msg: Any) -> Any:
        return None if msg["content"]["n"] % 2 else msg

    @receiver.hook(Direction.RECEIVE, priority=1)
    async def tag(msg: Any) -> Any:
        return {**msg, "tagged": True}

    sender = SummonerClient("tx")

    @sender.hook(Direction.SEND)
    async def double(payload: Any) -> Any:
        return {"n": payload["n"] * 10}

    await clients.start(receiver)
    await clients.start(sender)
    for n in range(4):
        await sender.publish({"n": n})
    await sender.publish({"n": 99})  # 990 is even: kept
    got = await sink.wait(5)
    assert [item["content"]["n"] for item in got] == [0, 10, 20, 30, 990]
    assert all(item["tagged"] for item in got)
    assert receiver.stats["messages_dropped_by_hooks"] == 0


async def test_receive_hook_returning_none_drops_and_counts(clients: Clients) -> None:
    sink = Collector()
    receiver = receiving_client("rx", sink)

    @receiver.hook(Direction.RECEIVE)
    async def keep_marked(msg: Any) -> Any:
        return msg if msg["content"].get("keep") else None

    await clients.start(receiver)
    sender = await clients.start(SummonerClient("tx"))
    await sender.publish({"keep": False})
    await sender.publish({"keep": True})
    await sink.wait(1)
    assert receiver.stats["messages_dropped_by_hooks"] == 1


async def test_handler_exception_is_isolated(clients: Clients) -> None:
    sink = Collector()
    receiver = SummonerClient("rx")

    @receiver.receive("a")
    async def fails(msg: Any) -> None:
        if msg["content"] == "boom":
            raise RuntimeError("receiver failure")

    @receiver.receive("b")
    async def records(msg: Any) -> None:
        sink.add(msg["content"])

    await clients.start(receiver)
    sender = await clients.start(SummonerClient("tx"))
    await sender.publish("boom")
    await sender.publish("after")
    assert await sink.wait(2) == ["boom", "after"]
    assert receiver.stats["receiver_errors"] == 1
    assert receiver.status is ClientStatus.CONNECTED


async def test_quit_from_a_handler_stops_the_client(clients: Clients) -> None:
    receiver = SummonerClient("rx")
    finished = asyncio.get_running_loop().create_future()

    @receiver.receive("any")
    async def on_message(msg: Any) -> None:
        await receiver.quit()
        finished.set_result(msg["content"])  # the handler is not cancelled by its own quit [D-7]

    await clients.start(receiver)
    task = receiver._run_task
    assert task is not None
    sender = await clients.start(SummonerClient("tx"))
    await sender.publish("bye")
    assert await asyncio.wait_for(finished, 5) == "bye"
    await asyncio.wait_for(asyncio.shield(task), 5)
    assert receiver.status is ClientStatus.STOPPED


async def test_multi_sender_lines_arrive_in_order_and_none_sends_nothing(clients: Clients) -> None:
    sink = Collector()
    await clients.start(receiving_client("rx", sink))
    sender = SummonerClient("tx")
    rounds = 0

    @sender.send("out", multi=True)
    async def batch() -> list[Any] | None:
        nonlocal rounds
        rounds += 1
        return [f"m{i}" for i in range(5)] if rounds == 1 else None

    await clients.start(sender)
    got = await sink.wait(5)
    assert [item["content"] for item in got] == [f"m{i}" for i in range(5)]
    assert sender.stats["sender_errors"] == 0


async def test_publish_nowait_and_threadsafe_and_queue_bound(clients: Clients) -> None:
    sink = Collector()
    await clients.start(receiving_client("rx", sink))
    sender = await clients.start(SummonerClient("tx"))
    sender.publish_nowait("a")
    done = threading.Event()

    def from_thread() -> None:
        sender.publish_threadsafe("b", timeout=5)
        done.set()

    thread = threading.Thread(target=from_thread)
    thread.start()
    await asyncio.to_thread(thread.join, 5)
    assert done.is_set()
    got = await sink.wait(2)
    assert sorted(item["content"] for item in got) == ["a", "b"]
    with pytest.raises(RuntimeError):
        sender.publish_threadsafe("on the loop thread")


async def test_publish_nowait_raises_at_the_bound_before_run() -> None:
    client = SummonerClient("offline")
    client._publish.maxsize = 2
    client.publish_nowait(1)
    client.publish_nowait(2)
    with pytest.raises(PublishQueueFull):
        client.publish_nowait(3)


class Order(BaseModel):
    item: str
    qty: int


async def test_models_on_receive_and_send(clients: Clients) -> None:
    sink = Collector()
    receiver = SummonerClient("rx")

    @receiver.receive("orders", model=Order)
    async def on_order(msg: dict[str, Any]) -> None:
        sink.add(msg["content"])

    await clients.start(receiver)
    sender = await clients.start(SummonerClient("tx"))
    await sender.publish({"item": "apple", "qty": "not a number"})
    await sender.publish(Order(item="pear", qty=2))
    await sender.publish({"item": "fig", "qty": 3}, model=Order)
    got = await sink.wait(2)
    assert got == [Order(item="pear", qty=2), Order(item="fig", qty=3)]
    assert receiver.stats["model_rejected"] == 1
    with pytest.raises(ValueError, match="validation error"):
        await sender.publish({"item": "x"}, model=Order)


async def test_concurrent_dispatch_keeps_per_peer_order(clients: Clients) -> None:
    sink = Collector()
    receiver = SummonerClient("rx")
    in_flight = 0
    peak = 0

    @receiver.receive("x")
    async def on_message(msg: Any) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)  # yield so that other peers' messages can interleave
        in_flight -= 1
        sink.add((msg["remote_addr"], msg["content"]))

    await clients.start(receiver, fast_config(receiver={"max_concurrent_handlers": 2}))
    senders = [await clients.start(SummonerClient(f"tx{i}")) for i in range(2)]
    for n in range(20):
        for sender in senders:
            await sender.publish(n)
    got = await sink.wait(40)
    by_peer: dict[str, list[int]] = {}
    for peer, n in got:
        by_peer.setdefault(peer, []).append(n)
    assert all(values == list(range(20)) for values in by_peer.values())
    assert peak <= 2
