"""Fixtures for client integration tests: a relay on port 0 for each backend, and a client pool.

Every test body runs against both relays. The python variant fails, rather than skips, while the
Python relay does not exist yet: a missing backend is a defect to see, not a condition to hide.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from summoner_client.client import SummonerClient
from summoner_client.server import RunningRelay
from tests.integration.client._helpers import Clients, LogRecorder, start_relay


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


@pytest.fixture
async def logs() -> AsyncIterator[Callable[[SummonerClient], LogRecorder]]:
    """Attach a ``LogRecorder`` to a client's logger; every recorder is detached at teardown."""
    made: list[LogRecorder] = []

    def attach(client: SummonerClient) -> LogRecorder:
        recorder = LogRecorder(client.logger)
        made.append(recorder)
        return recorder

    yield attach
    for recorder in made:
        recorder.detach()


@dataclass(frozen=True)
class Certificate:
    """PEM files for a relay on 127.0.0.1: its certificate and key, and the CA that vouches for them."""

    cert_file: str
    key_file: str
    ca_file: str


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    ca = trustme.CA()
    issued = ca.issue_cert("localhost", "127.0.0.1")
    cert, key, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_pem))
    return Certificate(str(cert), str(key), str(ca_pem))
