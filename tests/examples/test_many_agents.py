"""The many-agents example: ten agents on ten threads, and each one hears all nine others."""

from __future__ import annotations

import time

from examples.many_agents.many import Greeter, make_threads
from summoner_client.server import RunningRelay
from summoner_client.threads import stop_all
from tests.examples._support import FAST_CONFIG, WAIT

CROWD = 10


def test_every_agent_hears_every_other(relay: RunningRelay) -> None:
    shown: list[str] = []
    greeters = [Greeter(f"agent-{i}", CROWD, show=shown.append) for i in range(CROWD)]
    threads = make_threads(greeters, relay.host, relay.port, config_dict=FAST_CONFIG)
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 3 * WAIT
        for greeter in greeters:
            remaining = max(0.0, deadline - time.monotonic())
            assert greeter.heard_everyone.wait(remaining), f"{greeter.agent.name} heard only {greeter.heard}"
    finally:
        assert stop_all(threads, timeout=10)

    names = {greeter.agent.name for greeter in greeters}
    for greeter in greeters:
        assert greeter.heard == names - {greeter.agent.name}
    assert all(thread.thread_error is None for thread in threads)
    assert len(shown) == CROWD
