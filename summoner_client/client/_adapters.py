"""Small adapters between ``SummonerClient`` and the rest: the reconnect protocol, the loop lookup.

``Reconnector`` exposes exactly what ``reconnect.reconnect_loop`` needs, so the client's public
surface does not grow; ``current_loop`` reads a thread's current loop without creating one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from summoner_client.client.status import ClientStatus
from summoner_client.protocol.process import ClientIntent

if TYPE_CHECKING:
    from summoner_client.client.client import SummonerClient

__all__ = ["AlreadyRunningError", "Reconnector", "current_loop"]


class AlreadyRunningError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "SummonerClient.run() cannot be called while an event loop is running in this thread; "
            "use `await client.run_client(...)` instead"
        )


def current_loop() -> asyncio.AbstractEventLoop | None:
    # The thread's current loop, without the implicit creation (and DeprecationWarning) of get_event_loop().
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    loop = getattr(local, "_loop", None)
    return loop if isinstance(loop, asyncio.AbstractEventLoop) else None


class Reconnector:
    """Adapts the client to ``reconnect.Reconnector`` without widening the client's public surface."""

    def __init__(self, client: SummonerClient) -> None:
        self._client = client

    @property
    def host(self) -> str | None:
        return self._client.host

    @host.setter
    def host(self, value: str | None) -> None:
        self._client.host = value

    @property
    def port(self) -> int | None:
        return self._client.port

    @port.setter
    def port(self, value: int | None) -> None:
        self._client.port = value

    def pending_intent(self) -> ClientIntent | None:
        return self._client._intent

    def clear_travel(self) -> None:
        if self._client._intent is ClientIntent.TRAVEL:
            self._client._intent = None

    async def serve_once(self, host: str, port: int, on_connected: Callable[[], None]) -> ClientIntent | None:
        return await self._client._serve_once(host, port, on_connected)

    async def back_off(self, delay: float) -> None:
        client = self._client
        if client._intent is None:
            client._status = ClientStatus.BACKING_OFF
        wake = client._wake
        if wake is None or client._intent is not None:
            return
        wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await wake.wait()
