"""The agents of ``summoner demo``: five small clients, each showing one way to talk.

- ``ticker``: a timed sender (``@send(every=1.0)``) that says ``tick n`` to everyone.
- ``greeter``: a receiver that welcomes each agent the first time it hears from it, with ``publish``.
- ``asker`` and ``answerer``: a question on a timer, and a receiver that answers it with ``publish``.
- ``counter``: a flow. It counts ticks in state ``counting`` (``Stay``), moves to ``resting`` on the
  third (``Move``), and back on the next tick; reactive senders announce each step.

Every message is a dict ``{"from", "to", "text", ...}``: the relay delivers every line to every
other agent, so ``to`` is how an agent tells what is meant for it. Each factory takes ``go``, a
``threading.Event`` the timed senders wait on (``run_while=go.is_set``), so no one talks before
everyone has joined. Without it (``go=None``) the agents talk as soon as they connect, which is what
``summoner flow graph summoner_client.demo.agents:make_counter`` needs: a client to draw.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, Final

from summoner_client.client import SummonerClient
from summoner_client.protocol import Action, Event, Move, Node, Stay

__all__ = [
    "AGENT_NAMES",
    "TICKS_PER_ROUND",
    "make_agents",
    "make_answerer",
    "make_asker",
    "make_counter",
    "make_greeter",
    "make_ticker",
    "message",
]

TICKS_PER_ROUND: Final = 3
"""Ticks the counter counts before it rests for one tick."""

AGENT_NAMES: Final = ("ticker", "greeter", "asker", "answerer", "counter")

_QUESTIONS: Final = ((3, 4), (6, 7), (12, 30), (21, 21), (100, 1))


def message(sender: str, to: str, text: str, **extra: Any) -> dict[str, Any]:
    """One demo message: who says it, to whom (``"all"`` for everyone), and what."""
    return {"from": sender, "to": to, "text": text, **extra}


def _content(msg: Any) -> dict[str, Any]:
    """The demo message inside a relayed line, or ``{}`` for anything else (a relay notice, say)."""
    content = msg.get("content") if isinstance(msg, dict) else None
    return content if isinstance(content, dict) else {}


def _gate(go: threading.Event | None) -> Callable[[], bool] | None:
    return go.is_set if go is not None else None


def make_ticker(go: threading.Event | None = None, *, every: float = 1.0) -> SummonerClient:
    """Says ``tick n`` to everyone every ``every`` seconds: a plain timed sender."""
    agent = SummonerClient("ticker")
    ticks = itertools.count(1)

    @agent.send(route="ticks", every=every, run_while=_gate(go))
    async def tick() -> dict[str, Any]:
        n = next(ticks)
        return message("ticker", "all", f"tick {n}", kind="tick", n=n)

    return agent


def make_greeter() -> SummonerClient:
    """Welcomes every agent the first time it hears from it: a receiver that publishes."""
    agent = SummonerClient("greeter")
    seen: set[str] = set()

    @agent.receive(route="everything")
    async def welcome(msg: dict[str, Any]) -> None:
        sender = _content(msg).get("from")
        if isinstance(sender, str) and sender not in seen:
            seen.add(sender)
            await agent.publish(message("greeter", sender, f"hello, {sender}! welcome to the relay"))

    return agent


def make_asker(go: threading.Event | None = None, *, every: float = 1.5) -> SummonerClient:
    """Asks the answerer a sum every ``every`` seconds, and keeps the answers it gets."""
    agent = SummonerClient("asker")
    questions = itertools.cycle(_QUESTIONS)

    @agent.send(route="questions", every=every, run_while=_gate(go))
    async def ask() -> dict[str, Any]:
        a, b = next(questions)
        return message("asker", "answerer", f"what is {a} + {b}?", kind="question", a=a, b=b)

    return agent


def make_answerer() -> SummonerClient:
    """Answers each question addressed to it, to whoever asked."""
    agent = SummonerClient("answerer")

    @agent.receive(route="questions")
    async def answer(msg: dict[str, Any]) -> None:
        question = _content(msg)
        if question.get("kind") != "question" or question.get("to") != "answerer":
            return
        a, b = question["a"], question["b"]
        await agent.publish(message("answerer", question["from"], f"{a} + {b} = {a + b}", kind="answer"))

    return agent


def make_counter() -> SummonerClient:
    """Counts ticks in a flow: ``counting`` (Stay), then ``resting`` (Move), then ``counting`` again.

    ``upload_states`` puts the current state on the tape only for ticks, so other messages activate
    no route; ``download_states`` takes the state the receivers moved to. Reactive senders, filtered
    by route and by action, say what happened.
    """
    agent = SummonerClient("counter")
    flow = agent.flow().activate()  # before the decorators: use_data senders need an active flow
    flow.add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    trigger = flow.triggers(json_dict={"more": None, "full": None, "wake": None})
    state: dict[str, Any] = {"now": "counting", "count": 0}

    @agent.upload_states()
    async def upload(payload: Any) -> str | None:
        return state["now"] if _content(payload).get("kind") == "tick" else None

    @agent.receive(route="counting --[ full ]--> resting")
    async def count_tick(msg: dict[str, Any]) -> Event:
        state["count"] += 1
        if state["count"] < TICKS_PER_ROUND:
            return Stay(trigger.more, data=state["count"])
        return Move(trigger.full, data=state["count"])

    @agent.receive(route="resting --[ wake ]--> counting")
    async def wake_up(msg: dict[str, Any]) -> Event:
        state["count"] = 0
        return Move(trigger.wake)

    @agent.download_states()
    async def download(states: list[Node]) -> None:
        names = {str(node) for node in states}
        state["now"] = (
            "resting" if "resting" in names else "counting" if "counting" in names else state["now"]
        )

    @agent.send(route="counting --[ full ]--> resting", on_actions={Action.STAY}, use_data=True)
    async def report_count(count: Any) -> dict[str, Any]:
        return message("counter", "all", f"counted {count} of {TICKS_PER_ROUND} ticks, staying in 'counting'")

    @agent.send(route="counting --[ full ]--> resting", on_actions={Action.MOVE}, use_data=True)
    async def report_rest(count: Any) -> dict[str, Any]:
        return message("counter", "all", f"counted {count} ticks: moving to 'resting'")

    @agent.send(route="resting --[ wake ]--> counting", on_actions={Action.MOVE})
    async def report_wake() -> dict[str, Any]:
        return message("counter", "all", "rested for a tick: back to 'counting'")

    return agent


def make_agents(go: threading.Event | None = None) -> list[SummonerClient]:
    """The five demo agents, in the order of :data:`AGENT_NAMES`."""
    return [make_ticker(go), make_greeter(), make_asker(go), make_answerer(), make_counter()]
