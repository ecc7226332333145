"""pytest plugin: one test body, run against every relay backend (ARCHITECTURE §8, §9 item 10).

Load it with ``pytest_plugins = ["summoner_client.testing.plugin"]`` in a ``conftest.py``.

Fixtures:

- ``relay_backend``: ``"python"`` or ``"rust"``; every test that uses it runs once per backend.
  The ``rust`` variant carries the ``rust`` marker. It is never skipped: without the native module
  it fails, because a suite that silently tests one relay twice proves nothing about the other.
- ``relay_factory``: ``await relay_factory(config)`` starts a relay of the current backend on
  127.0.0.1 and a free port; every relay it started is stopped at teardown.
- ``probe_factory``: ``await probe_factory(relay, recv_buffer=..., record=...)`` connects a
  :class:`ProbeClient`; every probe is closed at teardown, before the relays stop, so no relay
  waits out its drain for a client the test forgot.

The fixtures are synchronous and hand out coroutine functions. They therefore work under any
pytest-asyncio mode, and teardown needs no event loop: closing a socket and stopping a relay
thread are both blocking calls.
"""

# Every wait takes its own bound, as ARCHITECTURE §8 asks (``await probe.next(timeout=...)``),
# so a test reads as the spec does: "within 5 s". Hence the timeout parameters ASYNC109 dislikes.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any, Final, Protocol

import pytest

from summoner_client.server import RunningRelay
from summoner_client.testing.probe import DEFAULT_TIMEOUT, ProbeClient
from summoner_client.testing.relays import BACKENDS, Backend, start_relay, stop_relay

__all__ = ["ProbeFactory", "RelayFactory", "probe_factory", "relay_backend", "relay_factory"]


class RelayFactory(Protocol):
    """Starts a relay of the test's backend: ``await relay_factory({"hyper_parameters": {...}})``."""

    async def __call__(self, config: Mapping[str, Any] | None = None) -> RunningRelay: ...


class ProbeFactory(Protocol):
    """Connects a probe to a relay: ``await probe_factory(relay)``."""

    async def __call__(
        self,
        relay: RunningRelay,
        *,
        recv_buffer: int | None = None,
        record: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ProbeClient: ...


_BACKEND_PARAMS: Final = [
    pytest.param(backend, id=backend, marks=[pytest.mark.rust] if backend == "rust" else [])
    for backend in BACKENDS
]


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker this plugin applies, so it also works under ``--strict-markers`` elsewhere."""
    config.addinivalue_line("markers", "rust: needs the native module summoner_client._relay")


@pytest.fixture(params=_BACKEND_PARAMS)
def relay_backend(request: pytest.FixtureRequest) -> Backend:
    """The relay implementation under test; each test using it runs once per backend."""
    backend: Backend = request.param
    return backend


@pytest.fixture
def relay_factory(relay_backend: Backend) -> Iterator[RelayFactory]:
    """Start relays of the current backend; stop all of them, and surface their errors, at teardown."""
    started: list[RunningRelay] = []

    async def factory(config: Mapping[str, Any] | None = None) -> RunningRelay:
        relay = await asyncio.to_thread(start_relay, relay_backend, config)
        started.append(relay)
        return relay

    yield factory
    errors: list[Exception] = []
    for relay in reversed(started):
        try:
            stop_relay(relay)
        except Exception as exc:  # keep stopping the others; report every failure below
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else ExceptionGroup("relays failed to stop cleanly", errors)


@pytest.fixture
def probe_factory(relay_factory: RelayFactory) -> Iterator[ProbeFactory]:
    """Connect probes to relays; close them all at teardown, before ``relay_factory`` stops the relays."""
    opened: list[ProbeClient] = []

    async def factory(
        relay: RunningRelay,
        *,
        recv_buffer: int | None = None,
        record: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ProbeClient:
        probe = await ProbeClient.connect(
            relay.host, relay.port, recv_buffer=recv_buffer, record=record, timeout=timeout
        )
        opened.append(probe)
        return probe

    yield factory
    for probe in opened:
        probe.close()
