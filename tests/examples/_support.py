"""Helpers shared by the example tests: a fast client configuration, and a printed-line recorder."""

# Every wait takes its own bound (ARCHITECTURE §8), hence the timeout parameters ASYNC109 dislikes.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from typing import Any, Final

from summoner_client.server import RunningRelay
from summoner_client.testing import start_relay

FAST_CONFIG: Final[dict[str, Any]] = {
    "hyper_parameters": {
        # Reconnect at once and end sessions quickly: the examples' defaults are made for people.
        "reconnection": {"retry_delay_seconds": 0.05},
        "lifecycle": {"shutdown_timeout_secs": 2},
    }
}
"""Client configuration for tests: short retry delay and shutdown budget."""

RELAY_CONFIG: Final[dict[str, Any]] = {"logger": {"log_level": "WARNING"}}
"""The relay's configuration in tests: the native relay's defaults, without its INFO lines."""

WAIT: Final = 5.0
"""Seconds any single outcome may take to show up."""


def start_example_relay(name: str = "example-relay") -> RunningRelay:
    """Start the native relay, as ``summoner relay`` runs it, on 127.0.0.1 and a free port."""
    return start_relay("rust", RELAY_CONFIG, name=name)


class Lines:
    """Stands in for ``print`` in an example agent: records each line and lets a test await one."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self._changed.set()

    async def wait_for(self, wanted: str, count: int = 1, timeout: float = WAIT) -> list[str]:
        """Wait until ``count`` recorded lines contain ``wanted``; return the matching lines.

        Raises:
            TimeoutError: Fewer such lines within ``timeout`` seconds.
        """
        async with asyncio.timeout(timeout):
            while len(found := [line for line in self.lines if wanted in line]) < count:
                self._changed.clear()
                await self._changed.wait()
        return found
