"""Fixtures for the example tests: one native relay on a free port per test, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from summoner_client.server import RunningRelay
from summoner_client.testing import stop_relay
from tests.examples._support import start_example_relay


@pytest.fixture
def relay() -> Iterator[RunningRelay]:
    """The relay the example's agents meet on."""
    running = start_example_relay()
    try:
        yield running
    finally:
        stop_relay(running)
