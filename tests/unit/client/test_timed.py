"""The timed scheduler's pending data bound (spec §5.8, §12.5): the oldest items go first, counted and
warned about at most once per second; the next batch gets the newest ``max_timed_pending`` items."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from summoner_client.client import SummonerClient
from summoner_client.client._invocation import SendInvocation
from summoner_client.client._stats import ClientStats
from summoner_client.client._timed import TimedScheduler
from summoner_client.protocol.triggers import Action

LOGGER_NAME = "tests.client.timed"


async def test_1500_events_leave_the_newest_1000_for_the_next_batch(caplog: pytest.LogCaptureFixture) -> None:
    agent = SummonerClient("timed")
    agent.flow().activate().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")

    @agent.send("A --> B", on_actions={Action.MOVE}, use_data=True, every=3600)
    async def batch(data: Any) -> None:
        return None

    agent.initialize()
    (bound,) = agent._plans.current().timed
    stats = ClientStats()
    enqueued: list[SendInvocation] = []

    async def enqueue(invocation: SendInvocation) -> None:
        enqueued.append(invocation)

    scheduler = TimedScheduler([bound], enqueue, 1000, stats, logging.getLogger(LOGGER_NAME))
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        for n in range(1500):
            scheduler.arm(bound, n)
    assert stats.timed_pending_dropped == 500
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]
    assert warnings == ["Timed sender 'batch' has 1000 pending items; dropping the oldest"]  # once a second

    await scheduler._run_due(asyncio.get_running_loop())  # armed and due at once: one batch
    assert [invocation.data for invocation in enqueued] == list(range(500, 1500))
    assert not scheduler.runtimes[bound.sender.registration_id].pending
