"""Why a connection ended: :class:`CloseReason`, the single recorded cause (relay spec Appendix A).

What belongs here: the reasons, their metric labels and the notice each one sends. A closed
connection is not an error, so nothing here is raised; errors that stop the relay from starting
(``ConfigError``, ``OSError`` from bind) come from :mod:`summoner_client.errors` and the OS.
Mirrors ``rust_server/core/src/error.rs``.
"""

from __future__ import annotations

from enum import Enum

from summoner_client.protocol.notices import Notice

__all__ = ["CloseReason"]


class CloseReason(Enum):
    """The single recorded cause of a connection's end; the first one recorded wins."""

    CLIENT_CLOSED = "client_closed"
    """The client sent EOF."""
    IO_ERROR = "io_error"
    """A read or write error, a reset, or a keepalive failure."""
    SLOW_CONSUMER = "slow_consumer"
    """The recipient's queue reached the disconnect threshold or its hard bound."""
    WRITE_TIMEOUT = "write_timeout"
    """No write progress for ``write_timeout_secs``."""
    IDLE = "idle"
    """The idle limit expired."""
    LINE_TIMEOUT = "line_timeout"
    """A started line was not finished in time."""
    AUTH_FAILED = "auth_failed"
    """Missing or wrong token, or handshake timeout."""
    TLS_FAILED = "tls_failed"
    """The TLS handshake failed or timed out."""
    SHUTDOWN = "shutdown"
    """The relay is shutting down."""
    INTERNAL = "internal"
    """An unexpected failure inside this connection."""

    @property
    def label(self) -> str:
        """The metric label and log word."""
        return self.value

    @property
    def notice(self) -> Notice | None:
        """The notice the client is sent for this reason, if it has one."""
        return _NOTICES.get(self)


_NOTICES = {
    CloseReason.SLOW_CONSUMER: Notice.SLOW_CONSUMER,
    CloseReason.WRITE_TIMEOUT: Notice.SLOW_CONSUMER,
    CloseReason.IDLE: Notice.IDLE_TIMEOUT,
    CloseReason.LINE_TIMEOUT: Notice.LINE_TIMEOUT,
    CloseReason.AUTH_FAILED: Notice.AUTH_FAILED,
    CloseReason.SHUTDOWN: Notice.SHUTTING_DOWN,
    CloseReason.INTERNAL: Notice.SERVER_DISCONNECTED,
}
