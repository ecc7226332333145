"""The question/answer example: every question gets its answer, even one asked before anyone listens."""

from __future__ import annotations

import asyncio

from examples.question_answer.answerer import make_answerer
from examples.question_answer.questioner import Questioner
from summoner_client.client import SummonerClient
from summoner_client.server import RunningRelay
from summoner_client.testing import wait_for_members, wait_for_stat
from tests.examples._support import FAST_CONFIG, WAIT, Lines

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What is the airspeed velocity of an unladen swallow?",
]
EXPECTED = {0: "Paris", 1: "Eight", 2: "I don't know."}


async def run_until_answered(questioner: Questioner, answerer: SummonerClient) -> None:
    """Wait for the questioner to leave on its own, which it does once every question is answered."""
    try:
        async with asyncio.timeout(2 * WAIT):
            await questioner.agent.wait_stopped()
    finally:
        for agent in (questioner.agent, answerer):
            await asyncio.wait_for(agent.stop(), 10)


async def test_every_question_gets_its_answer(relay: RunningRelay) -> None:
    answerer = make_answerer()
    screen = Lines()
    questioner = Questioner(QUESTIONS, show=screen)
    await answerer.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
    await wait_for_members(relay, 1)  # the answerer listens before the first question goes out
    await questioner.agent.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
    await run_until_answered(questioner, answerer)

    assert questioner.answers == EXPECTED
    assert questioner.attempts == {0: 1, 1: 1, 2: 1}  # nothing was lost, so nothing was asked twice
    assert screen.lines[0] == "Q1: What is the capital of France?\nA1: Paris"


async def test_a_question_nobody_heard_is_asked_again(relay: RunningRelay) -> None:
    answerer = make_answerer()
    screen = Lines()
    questioner = Questioner(QUESTIONS[:1], patience=0.2, show=screen)
    await questioner.agent.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
    # The first question has reached the relay, and gone nowhere: nobody else is connected.
    await wait_for_stat(relay, "lines_received_total", lambda n: n >= 1)
    assert relay.stats()["deliveries_total"] == 0
    await answerer.start(relay.host, relay.port, config_dict=FAST_CONFIG, timeout=WAIT)
    await run_until_answered(questioner, answerer)

    assert questioner.answers == {0: "Paris"}
    assert questioner.attempts[0] >= 2
    assert "no answer to Q1 after 0.2 s; asking again" in screen.lines
