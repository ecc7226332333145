"""The client's configuration (client spec §7.2): one pydantic model per section, field names are JSON keys.

Types are strict: a count must be a JSON integer (``true`` is not 1), a duration an integer or a
decimal, a flag ``true`` or ``false``. The one exception is the original's ``sender.batch_drain``, which
takes any value as ``bool(value)``. ``null`` is accepted only where a key's type lists it.

The models ignore unknown keys; :mod:`.loading` reports them, collects every problem into one
``ConfigError``, and words and orders the messages with :data:`ORIGINAL_CHECKS` and :data:`ISSUE_ORDER`.
"""

from __future__ import annotations

import logging
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from summoner_client.config.logger import ClientLoggerConfig
from summoner_client.config.relay import AuthToken
from summoner_client.errors import ConfigIssue

__all__ = [
    "DEFAULT_CONCURRENCY_LIMIT",
    "DEFAULT_EVENT_BRIDGE_SIZE",
    "DEFAULT_FAILOVER_RETRY_LIMIT",
    "DEFAULT_IDLE_DELAY_SECS",
    "DEFAULT_MAX_BYTES_PER_LINE",
    "DEFAULT_MAX_CONCURRENT_HANDLERS",
    "DEFAULT_MAX_CONSECUTIVE_ERRORS",
    "DEFAULT_MAX_OUTBOUND_BYTES_PER_LINE",
    "DEFAULT_MAX_OUTBOX_LINES",
    "DEFAULT_MAX_PUBLISH_QUEUE",
    "DEFAULT_MAX_TIMED_PENDING",
    "DEFAULT_PRIMARY_RETRY_LIMIT",
    "DEFAULT_READ_TIMEOUT_SECONDS",
    "DEFAULT_RETRY_DELAY",
    "DEFAULT_SHUTDOWN_TIMEOUT_SECS",
    "ISSUE_ORDER",
    "ORIGINAL_CHECKS",
    "ClientConfig",
    "ClientHyperParameters",
    "ClientSecurityConfig",
    "LifecycleConfig",
    "ReceiverConfig",
    "ReconnectionConfig",
    "SenderConfig",
]

# The original's defaults, also exposed as SummonerClient class constants (client spec §2.3).
DEFAULT_MAX_BYTES_PER_LINE: Final = 65_536
DEFAULT_READ_TIMEOUT_SECONDS: Final = None
DEFAULT_CONCURRENCY_LIMIT: Final = 50
DEFAULT_RETRY_DELAY: Final = 3
DEFAULT_PRIMARY_RETRY_LIMIT: Final = 3
DEFAULT_FAILOVER_RETRY_LIMIT: Final = 2
DEFAULT_EVENT_BRIDGE_SIZE: Final = 1000
DEFAULT_MAX_CONSECUTIVE_ERRORS: Final = 3
# Defaults of the keys the original does not have (client spec §7.2, §12.5).
DEFAULT_MAX_CONCURRENT_HANDLERS: Final = 1
DEFAULT_IDLE_DELAY_SECS: Final = 0.01
# A Summoner 1.3 receiver stops at relayed lines longer than this.
DEFAULT_MAX_OUTBOUND_BYTES_PER_LINE: Final = 65_536
DEFAULT_MAX_OUTBOX_LINES: Final = 1024
DEFAULT_MAX_PUBLISH_QUEUE: Final = 1000
DEFAULT_MAX_TIMED_PENDING: Final = 1000
DEFAULT_SHUTDOWN_TIMEOUT_SECS: Final = 5

# The only checks the original made, with its messages; they come first in a ConfigError, in this order.
ORIGINAL_CHECKS: Final[dict[str, str]] = {
    "hyper_parameters.sender.max_worker_errors": "sender.max_worker_errors must be an integer ≥ 1",
    "hyper_parameters.sender.concurrency_limit": "sender.concurrency_limit must be an integer ≥ 1",
    "hyper_parameters.sender.queue_maxsize": "sender.queue_maxsize must be an integer ≥ 1",
}
# Sections in the order of the keys table of client spec §7.2; keys within a section follow the model.
ISSUE_ORDER: Final = (
    "host",
    "port",
    "logger",
    "hyper_parameters.reconnection",
    "hyper_parameters.receiver",
    "hyper_parameters.sender",
    "security",
    "hyper_parameters.lifecycle",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class ReconnectionConfig(_Section):
    """``hyper_parameters.reconnection``: retries against the primary target, then the fallback (§8.6)."""

    retry_delay_seconds: int | float = Field(
        default=DEFAULT_RETRY_DELAY,
        ge=0,
        description=(
            "Sleep after every failed attempt, kept as written (3 logs as 3s, 3.0 as 3.0s); "
            "0 retries at once."
        ),
    )
    primary_retry_limit: int | None = Field(
        default=DEFAULT_PRIMARY_RETRY_LIMIT,
        ge=1,
        description=(
            "Failed attempts against the primary target before moving to the fallback. null: unlimited."
        ),
    )
    default_host: str | None = Field(
        default=None, description="Fallback host. null: the top-level host, then the run() host."
    )
    default_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Fallback port. null: the top-level port, then the run() port.",
    )
    default_retry_limit: int | None = Field(
        default=DEFAULT_FAILOVER_RETRY_LIMIT,
        ge=1,
        description="Failed attempts against the fallback before the client stops. null: unlimited.",
    )


class ReceiverConfig(_Section):
    """``hyper_parameters.receiver``: reading and dispatching inbound lines."""

    max_bytes_per_line: int = Field(
        default=DEFAULT_MAX_BYTES_PER_LINE,
        ge=1,
        description=(
            "Longest inbound line, in bytes. A longer one is skipped with a WARNING and counted in "
            "lines_oversize; the session goes on."
        ),
    )
    read_timeout_seconds: float | None = Field(
        default=DEFAULT_READ_TIMEOUT_SECONDS,
        gt=0,
        description="Accepted for compatibility; no effect: reads are never timed out.",
    )
    max_concurrent_handlers: int = Field(
        default=DEFAULT_MAX_CONCURRENT_HANDLERS,
        ge=1,
        description="Receive handlers running at once; when all slots are busy the reader waits.",
    )
    per_peer_order: bool = Field(
        default=True,
        description="Run the messages of one peer in arrival order even when several handlers run at once.",
    )


class SenderConfig(_Section):
    """``hyper_parameters.sender``: the send queue, the workers and the outbound limits."""

    concurrency_limit: int = Field(
        default=DEFAULT_CONCURRENCY_LIMIT,
        ge=1,
        description="Sender workers; when all are busy, further invocations wait.",
    )
    queue_maxsize: int = Field(
        default=DEFAULT_CONCURRENCY_LIMIT,
        ge=1,
        description=(
            "Bound of send_queue, concurrency_limit when left out; when full, producers wait. Below "
            "concurrency_limit loading warns that back-pressure throttles producers at this size."
        ),
    )
    batch_drain: bool = Field(
        default=True,
        description="Drain every ready invocation per round; any JSON value is taken as bool(value).",
    )
    event_bridge_maxsize: int = Field(
        default=DEFAULT_EVENT_BRIDGE_SIZE,
        ge=1,
        description=(
            "Bound of event_bridge; when full, the inbound pipeline waits. There is no unbounded setting."
        ),
    )
    max_worker_errors: int = Field(
        default=DEFAULT_MAX_CONSECUTIVE_ERRORS,
        ge=1,
        description="Consecutive failures of one worker after which on_max_worker_errors applies.",
    )
    on_max_worker_errors: Literal["stop", "disable_sender"] = Field(
        default="stop",
        description=(
            'At max_worker_errors: "stop" ends the client; "disable_sender" disables the failing sender.'
        ),
    )
    idle_delay_secs: float = Field(
        default=DEFAULT_IDLE_DELAY_SECS,
        ge=0,
        description="Pause between rounds of plain untimed senders; 0 only yields to the event loop.",
    )
    max_bytes_per_line: int | None = Field(
        default=DEFAULT_MAX_OUTBOUND_BYTES_PER_LINE,
        ge=1,
        description=(
            "Limit on the relayed size of each line sent; a longer one is not sent, an ERROR is logged and "
            "the invocation fails. null: no check."
        ),
    )
    max_outbox_lines: int = Field(
        default=DEFAULT_MAX_OUTBOX_LINES,
        ge=1,
        description="Encoded lines waiting for the writer; when full, workers and the publisher wait.",
    )
    max_publish_queue: int = Field(
        default=DEFAULT_MAX_PUBLISH_QUEUE,
        ge=1,
        description=(
            "Bound of the publish queue; at it publish waits, publish_nowait raises PublishQueueFull."
        ),
    )
    max_timed_pending: int = Field(
        default=DEFAULT_MAX_TIMED_PENDING,
        ge=1,
        description=(
            "Pending data per timed use_data sender; beyond it the oldest is dropped, with a WARNING."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _queue_follows_concurrency(cls, data: Any) -> Any:
        # The original's default for queue_maxsize is the configured concurrency_limit. An invalid
        # concurrency_limit is reported on its own key, so it is not copied into a second problem.
        if isinstance(data, dict) and "queue_maxsize" not in data:
            limit = data.get("concurrency_limit")
            if type(limit) is int and limit >= 1:
                return {**data, "queue_maxsize": limit}
        return data

    @field_validator("batch_drain", mode="before")
    @classmethod
    def _truthiness(cls, value: object) -> bool:
        return bool(value)


class LifecycleConfig(_Section):
    """``hyper_parameters.lifecycle``: how a session ends and how failures are treated."""

    shutdown_timeout_secs: float = Field(
        default=DEFAULT_SHUTDOWN_TIMEOUT_SECS,
        ge=0,
        description="Budget for the graceful end of a session; work still running then is cancelled.",
    )
    strict: bool = Field(
        default=False,
        description=(
            "Test-suite mode: the first handler exception ends the client and is re-raised; unparsable "
            "routes and replaced registrations raise."
        ),
    )


class ClientHyperParameters(_Section):
    """``hyper_parameters``."""

    reconnection: ReconnectionConfig = Field(default_factory=ReconnectionConfig, description="Retries.")
    receiver: ReceiverConfig = Field(default_factory=ReceiverConfig, description="Inbound side.")
    sender: SenderConfig = Field(default_factory=SenderConfig, description="Outbound side.")
    lifecycle: LifecycleConfig = Field(default_factory=LifecycleConfig, description="Ending and strictness.")


class ClientSecurityConfig(_Section):
    """``security``: TLS and token auth toward our relay; both off by default (§12.10)."""

    tls: bool = Field(
        default=False,
        description=(
            "Connect with TLS 1.2+ and verify the relay's certificate; there is no way to skip verification."
        ),
    )
    tls_ca_file: str | None = Field(
        default=None, description="CA bundle that verifies the relay. null: the system store."
    )
    tls_server_name: str | None = Field(
        default=None, description="Name the certificate must match. null: the target host."
    )
    auth_token: AuthToken | None = Field(
        default=None,
        repr=False,
        description=(
            "Sent as AUTH <token> first on every connection; a rejected token counts as a failed attempt. "
            "Must be a token the relay can accept (16 to 512 printable ASCII characters). Never logged."
        ),
    )


class ClientConfig(_Section):
    """A whole client configuration file (client spec §7.2)."""

    host: str | None = Field(default=None, description="A non-null value overrides run(host=...).")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="A non-null value overrides run(port=...)."
    )
    logger: ClientLoggerConfig = Field(
        default_factory=ClientLoggerConfig, description="The client logger (client spec §9.2)."
    )
    hyper_parameters: ClientHyperParameters = Field(
        default_factory=ClientHyperParameters, description="Limits, retries and timings."
    )
    security: ClientSecurityConfig = Field(default_factory=ClientSecurityConfig, description="TLS and auth.")

    def config_warnings(self) -> list[ConfigIssue]:
        """Problems that do not stop the client: a send queue below the worker count, an unknown level."""
        warnings: list[ConfigIssue] = []
        sender = self.hyper_parameters.sender
        if sender.queue_maxsize < sender.concurrency_limit:
            warnings.append(
                ConfigIssue(
                    "hyper_parameters.sender.queue_maxsize",
                    "queue_maxsize < concurrency_limit; back-pressure will throttle producers at "
                    f"{sender.queue_maxsize}",
                )
            )
        if self.logger.log_level.upper() not in logging.getLevelNamesMapping():
            warnings.append(
                ConfigIssue(
                    "logger.log_level", f'unknown level name "{self.logger.log_level}"; DEBUG is used'
                )
            )
        return warnings
