"""Flow scenarios through a relay: Move/Stay/Test, labels, initial arrows, object routes, INDEX tapes
keyed by peer, and reactive, use_data and timed senders driven by the resulting events."""

from __future__ import annotations

from typing import Any

from summoner_client.client import SummonerClient
from summoner_client.protocol.process import Action, Event, Move, Node, Stay, Test
from summoner_client.protocol.triggers import load_triggers
from tests.integration.client._helpers import Clients, Collector

Trigger = load_triggers(text="ok\nwait\nprobe\n")


def flow_agent(name: str) -> SummonerClient:
    agent = SummonerClient(name)
    flow = agent.flow().activate()
    flow.add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    return agent


async def test_flow_index_tape_keyed_by_peer_moves_states(clients: Clients) -> None:
    agent = flow_agent("flow")
    states: dict[str, str] = {}
    downloads = Collector()
    moved = Collector()

    @agent.upload_states()
    async def upload(msg: Any) -> dict[str, Any]:
        peer = msg["remote_addr"]
        return {peer: states.setdefault(peer, "A")}

    @agent.download_states()
    async def download(view: dict[str, list[Node]]) -> None:
        for peer, nodes in view.items():
            if nodes:
                states[peer] = str(nodes[-1])
        downloads.add(view)

    @agent.receive("A --[ f ]--> B")
    async def a_to_b(msg: Any) -> Event:
        moved.add(("A->B", msg["content"]))
        return Move(Trigger.ok)

    @agent.receive("B --> C")
    async def b_to_c(msg: Any) -> Event:
        moved.add(("B->C", msg["content"]))
        return Stay(Trigger.wait)

    await clients.start(agent)
    peer = await clients.start(SummonerClient("peer"))
    await peer.publish(1)
    await moved.wait(1)
    await downloads.wait(1)
    await peer.publish(2)
    await peer.publish(3)
    got = await moved.wait(3)
    assert got == [("A->B", 1), ("B->C", 2), ("B->C", 3)]
    (peer_key,) = states
    assert states[peer_key] == "B"  # Stay on B --> C keeps B


async def test_initial_arrow_object_route_and_test_events(clients: Clients) -> None:
    agent = flow_agent("flow")
    seen = Collector()

    @agent.upload_states()
    async def upload(msg: Any) -> str:
        return "X"

    @agent.receive("--> X")
    async def initial(msg: Any) -> Event:
        seen.add("initial")
        return Test(Trigger.probe)

    @agent.receive("X", priority=1)
    async def obj(msg: Any) -> None:
        seen.add("object")

    await clients.start(agent)
    peer = await clients.start(SummonerClient("peer"))
    await peer.publish("go")
    assert await seen.wait(2) == ["initial", "object"]  # priority () runs before (1,)


async def test_reactive_use_data_and_timed_senders(clients: Clients) -> None:
    agent = flow_agent("flow")
    sink = Collector()
    listener = SummonerClient("listener")

    @listener.receive("any")
    async def record(msg: Any) -> None:
        if isinstance(msg["content"], dict):  # the peer's own trigger message is an int
            sink.add(msg["content"])

    @agent.upload_states()
    async def upload(msg: Any) -> str:
        return "A"

    @agent.receive("A --> B")
    async def step(msg: Any) -> Event:
        return Move(Trigger.ok, data={"n": msg["content"]})

    @agent.send("A --> B", on_actions={Action.MOVE})
    async def reactive() -> dict[str, Any]:
        return {"kind": "reactive"}

    @agent.send("A --> B", on_triggers={Trigger.ok}, use_data=True, data_mode="snapshot")
    async def with_data(data: Any) -> dict[str, Any]:
        return {"kind": "data", "n": data["n"]}

    fired = 0

    @agent.send("A --> B", on_actions={Action.MOVE}, every=0.01, run_while=lambda: fired < 2)
    async def timed() -> dict[str, Any] | None:
        nonlocal fired
        fired += 1
        return {"kind": "timed", "i": fired}

    await clients.start(listener)
    await clients.start(agent)
    peer = await clients.start(SummonerClient("peer"))
    await peer.publish(41)
    got = await sink.wait(4)
    kinds = sorted(item["kind"] for item in got)
    assert kinds == ["data", "reactive", "timed", "timed"]
    assert {"kind": "data", "n": 41} in got
