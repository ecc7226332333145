"""The two agents of the frame-loop example: an oracle that takes its time, and a player that asks it.

This is the example's only async code. Agents' handlers are coroutines, as every Summoner agent's
are; the frame loop in ``frame_loop.py`` never touches asyncio.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from summoner_client.client import SummonerClient


def make_oracle(think_seconds: float) -> SummonerClient:
    """An agent that answers each question with the square of its number, after thinking a while."""
    oracle = SummonerClient("oracle")

    @oracle.receive("questions")
    async def answer(msg: Any) -> None:
        question = msg["content"]
        if not isinstance(question, dict) or question.get("kind") != "question":
            return
        await asyncio.sleep(think_seconds)  # stands for a slow model, a database, a remote service
        x = question["x"]
        await oracle.publish({"kind": "answer", "id": question["id"], "x": x, "square": x * x})

    return oracle


class Player:
    """An agent with a request/response call: ``await player.ask(x)`` returns the oracle's answer.

    ``ask`` runs on the player's own loop (its ``ClientThread``): it publishes a question and waits
    for the answer carrying the same id, for at most ``timeout`` seconds.
    """

    def __init__(self, timeout: float) -> None:
        self.agent = SummonerClient("player")
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}

        @self.agent.receive("answers")
        async def on_answer(msg: Any) -> None:
            content = msg["content"]
            if not isinstance(content, dict) or content.get("kind") != "answer":
                return
            waiter = self._waiting.get(content["id"])
            if waiter is not None and not waiter.done():
                waiter.set_result(content)

    async def ask(self, x: int) -> dict[str, Any]:
        """Ask the oracle about ``x`` and return its answer.

        Raises:
            TimeoutError: No answer within the timeout (for instance, the question went out before
                the oracle had joined the relay); the next frame simply asks again.
        """
        question_id = next(self._ids)
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[question_id] = reply
        try:
            await self.agent.publish({"kind": "question", "id": question_id, "x": x})
            async with asyncio.timeout(self._timeout):
                return await reply
        finally:
            del self._waiting[question_id]
