"""Start a relay of either backend on 127.0.0.1 and a free port, wait on its counters, stop it.

Thin wrappers over :meth:`SummonerServer.start`, so tests run the relay exactly as embedders do
(relay spec §5.3). The backend is chosen the only way the launcher allows, by the config's
``version``; a missing native module therefore fails the ``"rust"`` variant loudly instead of
quietly testing the Python relay twice.

Waiting on counters polls :meth:`RunningRelay.stats` with a short sleep. That is reserved for
state with no byte on the wire to await: a connection becoming a member, or a counter settling
after the bytes it counts were seen. Everything else in a test awaits bytes from a probe.
"""

# Every wait takes its own bound, as ARCHITECTURE §8 asks (``await probe.next(timeout=...)``),
# so a test reads as the spec does: "within 5 s". Hence the timeout parameters ASYNC109 dislikes.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

from summoner_client.server import RunningRelay, SummonerServer

__all__ = [
    "BACKENDS",
    "DEFAULT_STOP_TIMEOUT",
    "TEST_RELAY_DEFAULTS",
    "Backend",
    "relay_config",
    "start_relay",
    "stop_relay",
    "wait_for_members",
    "wait_for_stat",
]

Backend = Literal["python", "rust"]
"""A relay implementation: the Python asyncio relay or the native Rust relay."""

BACKENDS: Final[tuple[Backend, ...]] = ("python", "rust")
"""Every backend, in the order test ids list them."""

TEST_RELAY_DEFAULTS: Final[Mapping[str, Any]] = {
    "host": "127.0.0.1",
    "port": 0,
    # A relay left with open connections at teardown waits this long; keep suites fast.
    "hyper_parameters": {"shutdown_drain_secs": 2.0},
}
"""What every test relay starts from: loopback, a free port, and a short shutdown drain."""

DEFAULT_STOP_TIMEOUT: Final = 10.0
"""Seconds a relay may take to stop before the test fails: the drain plus generous slack."""

_POLL_INTERVAL: Final = 0.005


def relay_config(backend: Backend, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge ``config`` over :data:`TEST_RELAY_DEFAULTS` and select ``backend``.

    Sections (``hyper_parameters``, ``security``, ...) are merged key by key, so a test that sets
    one limit keeps the short drain. ``version`` always follows ``backend``.

    Args:
        backend: ``"python"`` or ``"rust"``.
        config: The test's relay configuration, in the relay's JSON shape.

    Raises:
        ValueError: ``backend`` is not a known backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown relay backend {backend!r}; expected one of {BACKENDS}")
    merged: dict[str, Any] = copy.deepcopy(dict(TEST_RELAY_DEFAULTS))
    for key, value in (config or {}).items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, Mapping):
            merged[key] = {**base, **copy.deepcopy(dict(value))}
        else:
            merged[key] = copy.deepcopy(value)
    merged["version"] = backend
    return merged


def start_relay(
    backend: Backend, config: Mapping[str, Any] | None = None, *, name: str = "test-relay"
) -> RunningRelay:
    """Start a relay on a background thread and return once it listens.

    Blocks only until the listener is bound; call it through ``asyncio.to_thread`` from a
    coroutine.

    Raises:
        ConfigError: The merged configuration is invalid.
        ServerLaunchError: The backend cannot be started (for ``"rust"``: no native module).
        ModuleNotFoundError: The Python relay is missing.
    """
    return SummonerServer(name).start(config_dict=relay_config(backend, config))


def stop_relay(relay: RunningRelay, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
    """Stop ``relay`` unless it already stopped, and re-raise anything it failed with.

    Safe after a test stopped the relay itself: an already stopped relay is only waited on.

    Raises:
        TimeoutError: The relay did not stop within ``timeout`` seconds.
    """
    try:
        relay.wait(0)
    except TimeoutError:
        relay.stop(timeout)


async def wait_for_stat(
    relay: RunningRelay,
    key: str,
    expected: int | Callable[[int], bool],
    *,
    timeout: float = DEFAULT_STOP_TIMEOUT / 2,
) -> int:
    """Wait until the relay's counter ``key`` equals ``expected`` (or satisfies it), and return it.

    An exact ``expected`` also catches overshoot: a counter that passes the value never matches,
    and the failure shows the last value seen.

    Args:
        relay: A running relay.
        key: A name from :meth:`RunningRelay.stats`, such as ``"members"`` or
            ``'connections_closed_total{reason="slow_consumer"}'``.
        expected: The value to reach, or a predicate on the value.
        timeout: Seconds to wait.

    Raises:
        AssertionError: The counter is missing or never matched within ``timeout``.
    """
    matches = expected if callable(expected) else expected.__eq__
    deadline = time.monotonic() + timeout
    while True:
        stats = relay.stats()
        value = stats.get(key)
        if value is not None and matches(value):
            return value
        if time.monotonic() >= deadline:
            if value is None:
                raise AssertionError(f"the relay reports no counter {key!r}; it has {sorted(stats)}")
            wanted = "the expected condition" if callable(expected) else expected
            raise AssertionError(f"{key} is {value}, not {wanted}, after {timeout} s")
        await asyncio.sleep(_POLL_INTERVAL)


async def wait_for_members(relay: RunningRelay, count: int, *, timeout: float = 5.0) -> None:
    """Wait until exactly ``count`` connections are members, so the next line reaches all of them.

    A relay admits a connection asynchronously after ``connect()`` returns; a line sent before the
    recipient is a member is rightly not delivered to it (relay spec §2.5).
    """
    await wait_for_stat(relay, "members", count, timeout=timeout)
