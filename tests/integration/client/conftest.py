"""Fixtures for client integration tests: a relay on port 0 for each backend, and a client pool.

Every test body runs against both relays. The python variant fails, rather than skips, while the
Python relay does not exist yet: a missing backend is a defect to see, not a condition to hide.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from summoner_client.server import RunningRelay
from tests.integration.client._helpers import Clients, start_relay


@pytest.fixture(params=["rust", "python"])
def relay_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def relay(relay_backend: str) -> Iterator[RunningRelay]:
    running = start_relay(relay_backend)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def clients(relay: RunningRelay) -> AsyncIterator[Clients]:
    pool = Clients(relay)
    try:
        yield pool
    finally:
        await pool.stop_all()
