"""Reconnection and failover (spec §8.6): a pure stage/attempt schedule plus the short loop that drives it.

``ReconnectSchedule`` is pure: it counts attempts, switches from the Primary stage to the Default
(fallback) stage, and words the grep-able log lines. It never sleeps and never touches a socket, so its
unit tests step it by hand. ``reconnect_loop`` is the only I/O here; it asks its ``Reconnector`` (the
client) to run a session, to sleep, and what the user asked for meanwhile (quit, travel).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from summoner_client.client._connect import AuthRejected
from summoner_client.errors import ServerDisconnected
from summoner_client.protocol.process import ClientIntent

__all__ = ["ReconnectPolicy", "ReconnectSchedule", "Reconnector", "Stage", "Verdict", "reconnect_loop"]


class Stage(Enum):
    """Which target the client is trying: the one it was given, or the configured fallback."""

    PRIMARY = "Primary"
    DEFAULT = "Default"


class Verdict(Enum):
    """What to do after the sleep that follows a failed attempt."""

    RETRY = "retry"  # same stage, same target
    FALLBACK = "fallback"  # primary budget spent: switch to the default target with a fresh count
    GIVE_UP = "give_up"  # fallback budget spent: the client stops


@dataclass(frozen=True)
class ReconnectPolicy:
    """The reconnection settings, resolved: the fallback target is always concrete (**[D-30]**).

    Attributes:
        retry_delay: Seconds slept after every failed attempt, kept as configured (3 logs ``3s``).
        primary_limit: Failed attempts allowed against the primary target; None means unlimited.
        default_limit: Failed attempts allowed against the fallback; None means unlimited.
        default_host: The fallback host.
        default_port: The fallback port.
    """

    retry_delay: float
    primary_limit: int | None
    default_limit: int | None
    default_host: str
    default_port: int


def _limit_text(limit: int | None) -> str:
    return "∞" if limit is None else str(limit)


@dataclass
class ReconnectSchedule:
    """The attempt counter and stage of spec §8.6, stepped by the caller.

    ``connected()`` resets the counter as soon as a connection succeeds (**[D-6]**), so disconnects
    spread over a long life never exhaust the budget; ``restart()`` is travel's fresh Primary stage.
    """

    policy: ReconnectPolicy
    stage: Stage = Stage.PRIMARY
    attempts: int = 0
    _before_connect: int = field(default=0, init=False, repr=False)  # restored by rejected()

    @property
    def limit(self) -> int | None:
        """The attempt budget of the current stage."""
        return self.policy.primary_limit if self.stage is Stage.PRIMARY else self.policy.default_limit

    def restart(self) -> None:
        """Begin a fresh Primary stage (travel)."""
        self.stage = Stage.PRIMARY
        self.attempts = 0

    def connected(self) -> None:
        """A connection succeeded: the next failure is ``retry 1`` again."""
        self._before_connect, self.attempts = self.attempts, 0

    def rejected(self) -> None:
        """The relay refused the auth token: the connection was no success, so the count goes on
        from where ``connected()`` found it (spec §12.10); call it before ``failed()``."""
        self.attempts = self._before_connect

    def failed(self, exc: BaseException) -> str:
        """Count a failed attempt or a lost session; return its ERROR line."""
        self.attempts += 1
        return (
            f"[{type(exc).__name__}: {exc}] ({self.stage.value}) retry {self.attempts} of "
            f"{_limit_text(self.limit)}; sleeping {self.policy.retry_delay}s"
        )

    def after_sleep(self) -> Verdict:
        """Decide what follows the sleep; switching to the fallback resets the counter."""
        limit = self.limit
        if limit is None or self.attempts < limit:
            return Verdict.RETRY
        if self.stage is Stage.PRIMARY:
            self.stage = Stage.DEFAULT
            self.attempts = 0
            return Verdict.FALLBACK
        return Verdict.GIVE_UP

    def limit_reached_message(self, stage: Stage) -> str:
        """The ERROR line logged when ``stage`` ran out of attempts."""
        limit = self.policy.primary_limit if stage is Stage.PRIMARY else self.policy.default_limit
        return f"{stage.value} retry limit reached ({_limit_text(limit)})"

    def fallback_message(self) -> str:
        """The WARNING line logged when switching to the fallback target."""
        return f"Falling back to default server at {self.policy.default_host}:{self.policy.default_port}"

    def give_up_message(self) -> str:
        """The CRITICAL line logged when the fallback is exhausted."""
        return (
            f"Cannot connect to fallback {self.policy.default_host}:{self.policy.default_port} after "
            f"{_limit_text(self.policy.default_limit)} attempts; exiting"
        )


class Reconnector(Protocol):
    """What ``reconnect_loop`` needs from the client."""

    host: str | None
    port: int | None

    def pending_intent(self) -> ClientIntent | None:
        """QUIT (sticky), TRAVEL or ABORT, or None when nothing was asked."""

    def clear_travel(self) -> None:
        """Forget a TRAVEL intent once the loop has acted on it."""

    async def serve_once(self, host: str, port: int, on_connected: Callable[[], None]) -> ClientIntent | None:
        """Connect and run one session; return why it ended, or raise if it was lost.

        ``on_connected`` is called as soon as the TCP connection is open, so the attempt counter
        resets even when the session is lost later.

        Raises:
            ServerDisconnected: The relay closed the connection.
            OSError: Connecting failed or the connection broke.
        """

    async def back_off(self, delay: float) -> None:
        """Sleep ``delay`` seconds, returning early when quit or travel is asked for."""


async def reconnect_loop(client: Reconnector, schedule: ReconnectSchedule, logger: logging.Logger) -> None:
    """Run sessions until the client quits, aborts or runs out of attempts (spec §8.6)."""
    while True:
        intent = client.pending_intent()
        if intent is ClientIntent.QUIT or intent is ClientIntent.ABORT:
            return
        if intent is ClientIntent.TRAVEL:
            client.clear_travel()
            schedule.restart()
        assert client.host is not None
        assert client.port is not None
        try:
            outcome = await client.serve_once(client.host, client.port, schedule.connected)
        except (ServerDisconnected, OSError) as exc:
            if isinstance(exc, AuthRejected):
                schedule.rejected()
            logger.error(schedule.failed(exc))
            await client.back_off(schedule.policy.retry_delay)
            if client.pending_intent() is not None:
                continue  # quit or travel arrived during the sleep: act on it at the top
            if _give_up(client, schedule, logger):
                return
            continue
        if outcome is ClientIntent.QUIT or outcome is ClientIntent.ABORT:
            return


def _give_up(client: Reconnector, schedule: ReconnectSchedule, logger: logging.Logger) -> bool:
    stage = schedule.stage
    verdict = schedule.after_sleep()
    if verdict is Verdict.RETRY:
        return False
    logger.error(schedule.limit_reached_message(stage))
    if verdict is Verdict.FALLBACK:
        client.host, client.port = schedule.policy.default_host, schedule.policy.default_port
        logger.warning(schedule.fallback_message())
        return False
    logger.critical(schedule.give_up_message())
    return True
