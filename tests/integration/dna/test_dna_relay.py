"""DNA through a real relay: an agent and its clone from DNA answer the same question the same way.

Each body runs on both relay backends (the shipped plugin's ``relay_factory``). The clone is built
with ``ClientTranslation`` from ``dna(include_context=True)`` text, exactly as another process would,
and also checks [D-22]: a handler that calls ``quit()`` runs to its end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from summoner_client.client import SummonerClient
from summoner_client.dna import ClientMerger, ClientTranslation, dna
from summoner_client.testing.plugin import RelayFactory
from summoner_client.testing.relays import wait_for_members
from tests.integration.client._helpers import Clients, Collector
from tests.unit.dna._agents import AgentFiles

RESPONDER = """
from typing import Any
from summoner_client.client import SummonerClient
from summoner_client.protocol.process import Direction

agent = SummonerClient("responder")
FACTOR = 3
finished = []


@agent.hook(Direction.SEND)
async def stamp(payload: Any) -> Any:
    return {**payload, "stamped": FACTOR} if isinstance(payload, dict) else payload


@agent.receive("ask")
async def answer(msg: Any) -> None:
    content = msg.get("content") if isinstance(msg, dict) else None
    if isinstance(content, dict) and "q" in content:
        await agent.publish({"answer": content["q"] * FACTOR})
    elif content == "bye":
        await agent.quit()
        finished.append(agent.name)  # quit() does not cancel the calling handler [D-22]
"""


def asker(sink: Collector) -> SummonerClient:
    client = SummonerClient("asker")

    @client.receive("answers")
    async def collect(msg: Any) -> None:
        sink.add(msg["content"])

    return client


async def test_original_and_translated_clients_answer_alike(
    relay_factory: RelayFactory, tmp_path: Path
) -> None:
    relay = await relay_factory()
    files = AgentFiles(tmp_path)
    clients = Clients(relay)
    try:
        module = files.load(RESPONDER)
        # Started first: the translation then finds a running template client and leaves it alone.
        original = await clients.start(module.agent)
        clone = ClientTranslation(orjson.loads(dna(module.agent, include_context=True)), name="responder")
        clone.initiate_all()
        await clients.start(clone)
        sink = Collector()
        questioner = await clients.start(asker(sink))

        await questioner.publish({"q": 4})
        answers = await sink.wait(2, timeout=5)
        assert answers == [{"answer": 12, "stamped": 3}] * 2

        await questioner.publish("bye")
        await wait_for_members(relay, 1, timeout=5)  # both responders quit from their handler
        for client in (original, clone):
            await client.stop()  # already ended: returns at once
        assert module.finished == ["responder"]
        assert clone._sandbox_globals["finished"] == ["responder"]
    finally:
        await clients.stop_all()
        files.forget()


async def test_merged_client_answers_for_both_sources(relay_factory: RelayFactory, tmp_path: Path) -> None:
    relay = await relay_factory()
    files = AgentFiles(tmp_path)
    clients = Clients(relay)
    try:
        first = files.load(RESPONDER)
        second = files.load(RESPONDER.replace('"responder"', '"doubler"').replace("FACTOR = 3", "FACTOR = 2"))
        second_dna = orjson.loads(dna(second.agent, include_context=True))
        merged = ClientMerger([first.agent, second_dna], name="merged")
        merged.initiate_all()
        # both sources register a receiver on "ask": the later one (the doubler, from DNA) wins,
        # while the send hook of the later source replaces the earlier one too
        await clients.start(merged)
        sink = Collector()
        questioner = await clients.start(asker(sink))
        await questioner.publish({"q": 5})
        assert await sink.wait(1, timeout=5) == [{"answer": 10, "stamped": 2}]
    finally:
        await clients.stop_all()
        files.forget()


DOUBLER = """
from typing import Any
from summoner_client.client import SummonerClient

agent = SummonerClient("doubler")


@agent.receive("double")
async def double(msg: Any) -> None:
    content = msg.get("content") if isinstance(msg, dict) else None
    if isinstance(content, dict) and "x" in content:
        await agent.publish({"double": content["x"] * 2})
"""

SQUARER = DOUBLER.replace('"doubler"', '"squarer"').replace('"double"', '"square"')
SQUARER = SQUARER.replace("async def double", "async def square").replace("* 2", "** 2")


async def test_a_live_agent_and_one_from_a_dna_file_serve_both_behaviours_on_one_connection(
    relay_factory: RelayFactory, tmp_path: Path
) -> None:
    relay = await relay_factory()
    files = AgentFiles(tmp_path)
    clients = Clients(relay)
    try:
        live = files.load(DOUBLER)
        from_file = files.load(SQUARER)
        dna_path = tmp_path / "squarer.dna.json"
        dna_path.write_text(dna(from_file.agent, include_context=True))
        merged = ClientMerger([live.agent, {"dna_path": str(dna_path)}], name="merged")
        merged.initiate_all()
        await clients.start(merged)
        sink = Collector()
        questioner = await clients.start(asker(sink))
        await wait_for_members(relay, 2, timeout=5)  # one connection for the merged client
        await questioner.publish({"x": 7})
        answers = await sink.wait(2, timeout=5)
        assert sorted(answers, key=str) == [{"double": 14}, {"square": 49}]
    finally:
        await clients.stop_all()
        files.forget()
