"""The chat example, driven without a terminal: typed lines come from a queue instead of ``ainput``.

Alice and Bob chat on one relay, travel to a second one with ``/travel``, chat there, and leave with
``/quit`` and with the end of input (Ctrl+D).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from examples.chat.chat import make_chat_agent
from summoner_client.client import SummonerClient
from summoner_client.client.status import ClientStatus
from summoner_client.server import RunningRelay
from summoner_client.testing import stop_relay, wait_for_members
from tests.examples._support import FAST_CONFIG, WAIT, Lines, start_example_relay


class Keyboard:
    """The input side of a terminal: ``type`` a line, or ``close`` it as Ctrl+D would."""

    def __init__(self) -> None:
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()

    def type(self, line: str) -> None:
        self._lines.put_nowait(line)

    def close(self) -> None:
        self._lines.put_nowait(None)

    async def read_line(self, prompt: str) -> str:
        line = await self._lines.get()
        if line is None:
            raise EOFError
        return line


@pytest.fixture
def second_relay() -> Iterator[RunningRelay]:
    running = start_example_relay("second-relay")
    try:
        yield running
    finally:
        stop_relay(running)


async def test_chat_travel_and_quit(relay: RunningRelay, second_relay: RunningRelay) -> None:
    keyboards = {"alice": Keyboard(), "bob": Keyboard()}
    screens = {"alice": Lines(), "bob": Lines()}
    agents: dict[str, SummonerClient] = {
        name: make_chat_agent(name, keyboards[name].read_line, screens[name]) for name in keyboards
    }
    try:
        for agent in agents.values():
            await agent.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
        await wait_for_members(relay, 2)

        keyboards["alice"].type("hello bob")
        await screens["bob"].wait_for("[alice] hello bob")

        # Both move to the second relay; the first one is left empty.
        for name in ("bob", "alice"):
            keyboards[name].type(f"/travel {second_relay.host} {second_relay.port}")
        await wait_for_members(second_relay, 2)
        await wait_for_members(relay, 0)
        assert {agent.port for agent in agents.values()} == {second_relay.port}

        keyboards["bob"].type("hi again, from the other relay")
        await screens["alice"].wait_for("[bob] hi again, from the other relay")

        # /quit ends Alice's run on its own; the end of Bob's input does the same for him.
        keyboards["alice"].type("/quit")
        keyboards["bob"].close()
        async with asyncio.timeout(WAIT):
            for agent in agents.values():
                await agent.wait_stopped()
        assert all(agent.status is ClientStatus.STOPPED for agent in agents.values())
        assert screens["alice"].lines[-1] == screens["bob"].lines[-1] == "bye"
        assert not any("hello bob" in line for line in screens["alice"].lines)  # never one's own echo
    finally:
        for agent in agents.values():
            await asyncio.wait_for(agent.stop(), 10)
