"""The original's defaults as ``SummonerClient`` class constants (spec §2.3)."""

from __future__ import annotations

from typing import ClassVar

from summoner_client.config import client as config

__all__ = ["DEFAULT_MAX_PUBLISH_QUEUE", "ClientDefaults"]

DEFAULT_MAX_PUBLISH_QUEUE = config.DEFAULT_MAX_PUBLISH_QUEUE


class ClientDefaults:
    """Class constants read by agents and tests; the config models use the same values."""

    DEFAULT_MAX_BYTES_PER_LINE: ClassVar[int] = config.DEFAULT_MAX_BYTES_PER_LINE
    DEFAULT_READ_TIMEOUT_SECONDS: ClassVar[float | None] = config.DEFAULT_READ_TIMEOUT_SECONDS
    DEFAULT_CONCURRENCY_LIMIT: ClassVar[int] = config.DEFAULT_CONCURRENCY_LIMIT
    DEFAULT_RETRY_DELAY: ClassVar[int] = config.DEFAULT_RETRY_DELAY
    DEFAULT_PRIMARY_RETRY_LIMIT: ClassVar[int] = config.DEFAULT_PRIMARY_RETRY_LIMIT
    DEFAULT_FAILOVER_RETRY_LIMIT: ClassVar[int] = config.DEFAULT_FAILOVER_RETRY_LIMIT
    DEFAULT_EVENT_BRIDGE_SIZE: ClassVar[int] = config.DEFAULT_EVENT_BRIDGE_SIZE
    DEFAULT_MAX_CONSECUTIVE_ERRORS: ClassVar[int] = config.DEFAULT_MAX_CONSECUTIVE_ERRORS
