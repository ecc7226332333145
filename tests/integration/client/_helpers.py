"""Helpers shared by the client integration tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from summoner_client.client import SummonerClient
from summoner_client.server import RunningRelay, SummonerServer

FAST_CONFIG: dict[str, Any] = {
    "hyper_parameters": {
        "reconnection": {"retry_delay_seconds": 0.05, "primary_retry_limit": None},
        "lifecycle": {"shutdown_timeout_secs": 2},
    }
}


def fast_config(**sections: dict[str, Any]) -> dict[str, Any]:
    """FAST_CONFIG with extra ``hyper_parameters`` sections merged in."""
    hp = {key: dict(value) for key, value in FAST_CONFIG["hyper_parameters"].items()}
    for name, values in sections.items():
        hp.setdefault(name, {}).update(values)
    return {"hyper_parameters": hp}


def start_relay(backend: str, port: int = 0) -> RunningRelay:
    """Start a relay of ``backend`` ("rust" or "python") on loopback."""
    config = {"version": "python"} if backend == "python" else {}
    return SummonerServer("test-relay").start(host="127.0.0.1", port=port, config_dict=config)


class Clients:
    """Starts clients against the relay and stops every one of them at teardown."""

    def __init__(self, relay: RunningRelay) -> None:
        self.relay = relay
        self.started: list[SummonerClient] = []

    async def start(self, client: SummonerClient, config: dict[str, Any] | None = None) -> SummonerClient:
        await client.start(self.relay.host, self.relay.port, config_dict=config or FAST_CONFIG, timeout=5)
        self.started.append(client)
        await wait_members(self.relay, len(self.started))
        return client

    async def stop_all(self) -> None:
        for client in reversed(self.started):
            await asyncio.wait_for(client.stop(), 10)


async def wait_members(relay: RunningRelay, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until the relay counts ``count`` members.

    A client's ``start()`` returns when its TCP connect completed, which can be before the relay's
    accept loop has registered it; a line sent in that window reaches nobody. The relay's own member
    gauge is the observable that closes the window (polled, bounded: it has no event to await).
    """
    async with asyncio.timeout(timeout):
        while relay.stats().get("members", 0) < count:  # noqa: ASYNC110 - the relay exposes no event
            await asyncio.sleep(0.002)


async def wait_for(future: asyncio.Future[Any] | asyncio.Event | Any, timeout: float = 5.0) -> Any:  # noqa: ASYNC109
    """Await a future, an event's wait(), or a coroutine, with a bound."""
    if isinstance(future, asyncio.Event):
        return await asyncio.wait_for(future.wait(), timeout)
    return await asyncio.wait_for(future, timeout)


class Collector:
    """Collects values from handlers and lets a test await the n-th one."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def add(self, item: Any) -> None:
        self.items.append(item)
        for count, waiter in list(self._waiters):
            if len(self.items) >= count and not waiter.done():
                waiter.set_result(None)

    async def wait(self, count: int, timeout: float = 5.0) -> list[Any]:  # noqa: ASYNC109
        if len(self.items) < count:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append((count, waiter))
            await asyncio.wait_for(waiter, timeout)
        return self.items
