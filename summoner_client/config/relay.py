"""The relay's configuration (relay spec §3): one pydantic model per section, field names are JSON keys.

Beyond each key's own type and range, the models enforce:

- ``null`` means "use the default", except for keys whose type lists null as a value of its own
  (``tcp_keepalive_secs: null`` turns keepalive off, for example).
- ``version`` accepts the original's ``"rust_v1.0.0"`` and ``"rust_v1.1.0"`` and stores them as ``"rust"``.
- Legacy shapes: backpressure keys written directly in ``hyper_parameters``, and ``host``, ``port`` or
  ``logger`` written there. They are validated where they were written, so problems name that path,
  then moved to their real place. Giving both forms is an error naming the legacy key.
- Cross-key rules: backpressure thresholds derived from ``max_queue_messages`` and strictly
  increasing; a TLS certificate and key given together.

A cross-key problem is raised as a pydantic error whose context carries ``issues``: triples of
(path relative to the model, rule, offending value). A single-key rule that pydantic cannot word
carries ``rule`` in its context. :mod:`.loading` turns both into one ``ConfigIssue`` per key path, and
reports unknown keys, which the models ignore.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal, Self, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from summoner_client.config.logger import RelayLoggerConfig
from summoner_client.errors import ConfigIssue

__all__ = [
    "AUTH_TOKEN_RULE",
    "DEFAULT_HOST",
    "DEFAULT_MAX_LINE_BYTES",
    "DEFAULT_MAX_QUEUE_MESSAGES",
    "DEFAULT_PORT",
    "DEFAULT_VERSION",
    "NO_EFFECT_KEYS",
    "RUST_VERSION_ALIASES",
    "AuthToken",
    "BackpressurePolicy",
    "MetricsConfig",
    "RelayConfig",
    "RelayHyperParameters",
    "RelaySecurityConfig",
    "check_auth_token",
]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8888
DEFAULT_VERSION: Final = "rust"
RUST_VERSION_ALIASES: Final = ("rust_v1.0.0", "rust_v1.1.0")
DEFAULT_CONNECTION_BUFFER_SIZE: Final = 1024
DEFAULT_ACCEPT_ERROR_BACKOFF_MS: Final = 100
DEFAULT_QUARANTINE_COOLDOWN_SECS: Final = 300
DEFAULT_QUARANTINE_CLEANUP_INTERVAL_SECS: Final = 60
DEFAULT_MAX_CONNECTIONS: Final = 10_000
# Every Summoner 1.3 reader stops at lines longer than this, so it is also the upper bound.
DEFAULT_MAX_LINE_BYTES: Final = 65_536
DEFAULT_LINE_TIMEOUT_SECS: Final = 30
DEFAULT_MAX_QUEUE_MESSAGES: Final = 8192
DEFAULT_MAX_QUEUE_BYTES: Final = 16 * 1024 * 1024
DEFAULT_WRITE_TIMEOUT_SECS: Final = 10
DEFAULT_WARNING_INTERVAL_SECS: Final = 1.0
DEFAULT_TCP_KEEPALIVE_SECS: Final = 30
DEFAULT_SHUTDOWN_DRAIN_SECS: Final = 5
DEFAULT_HANDSHAKE_TIMEOUT_SECS: Final = 5
DEFAULT_METRICS_HOST: Final = "127.0.0.1"
MIN_AUTH_TOKEN_LENGTH: Final = 16
MAX_AUTH_TOKEN_LENGTH: Final = 512
AUTH_TOKEN_RULE: Final = (
    f"{MIN_AUTH_TOKEN_LENGTH} to {MAX_AUTH_TOKEN_LENGTH} printable ASCII characters (0x21 to 0x7E)"
)
# Keys of the original that are accepted and validated but change nothing; loading lists them at INFO.
NO_EFFECT_KEYS: Final = (
    "command_buffer_size",
    "control_channel_capacity",
    "queue_monitor_capacity",
    "timeout_check_interval_secs",
    "throttle_delay_ms",
    "flow_control_delay_ms",
)
_THRESHOLDS: Final = (
    ("enable_throttle", "throttle_threshold"),
    ("enable_flow_control", "flow_control_threshold"),
    ("enable_disconnect", "disconnect_threshold"),
)
_BACKPRESSURE_KEYS: Final = tuple(key for pair in _THRESHOLDS for key in pair)
_LEGACY_TOP_LEVEL_KEYS: Final = ("host", "port", "logger")


def check_auth_token(token: str) -> str:
    """Return ``token`` if the relay can accept it: 16 to 512 characters from 0x21 to 0x7E."""
    if MIN_AUTH_TOKEN_LENGTH <= len(token) <= MAX_AUTH_TOKEN_LENGTH and all(
        "\x21" <= char <= "\x7e" for char in token
    ):
        return token
    raise PydanticCustomError("config_rule", "must be {rule}", {"rule": AUTH_TOKEN_RULE})


AuthToken = Annotated[str, AfterValidator(check_auth_token)]


def _rule_violations(issues: list[tuple[str, str, object]]) -> PydanticCustomError:
    summary = "; ".join(f"{path}: must be {rule}" for path, rule, _ in issues)
    return PydanticCustomError("config_rules", "{summary}", {"summary": summary, "issues": tuple(issues)})


def _section_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) is None and isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _without_nulls(model: type[BaseModel], data: Mapping[Any, Any]) -> dict[Any, Any]:
    """Copy ``data`` without the nulls that stand for a default, in this section and those below it."""
    cleaned: dict[Any, Any] = {}
    for key, value in data.items():
        field = model.model_fields.get(key) if isinstance(key, str) else None
        if field is None:
            cleaned[key] = value
            continue
        if value is None and type(None) not in get_args(field.annotation):
            continue
        section = _section_model(field.annotation)
        cleaned[key] = _without_nulls(section, value) if section and isinstance(value, Mapping) else value
    return cleaned


class _Section(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class BackpressurePolicy(_Section):
    """Per-recipient queue depths, in messages, at which the relay reacts (relay spec §3.6).

    A threshold left out or null is derived from ``max_queue_messages`` by integer division; after
    validation every threshold holds a number.
    """

    enable_throttle: bool = Field(default=True, description="Mark a recipient lagging at throttle_threshold.")
    throttle_threshold: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Queue depth at which the recipient is marked lagging (one WARNING, the lagging gauge, a /connz "
            "flag); traffic is unaffected and the mark clears when the queue empties. "
            "Derived: max_queue_messages // 8."
        ),
    )
    enable_flow_control: bool = Field(
        default=False, description="Shed messages for a recipient at flow_control_threshold."
    )
    flow_control_threshold: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Queue depth at which new messages for the recipient are dropped instead of queued, until its "
            "depth falls to half the threshold; the recipient gets N9. Derived: max_queue_messages // 2."
        ),
    )
    enable_disconnect: bool = Field(
        default=True, description="Disconnect a recipient as a slow consumer at disconnect_threshold."
    )
    disconnect_threshold: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Queue depth at which the recipient is disconnected as a slow consumer (N10). "
            "Derived: max_queue_messages."
        ),
    )


class RelayHyperParameters(_Section):
    """``hyper_parameters``: the original's keys (relay spec §3.5), then the new ones (§3.7)."""

    connection_buffer_size: int = Field(
        default=DEFAULT_CONNECTION_BUFFER_SIZE,
        ge=1,
        description="Listen backlog: connections the OS holds before accept; beyond it the OS refuses them.",
    )
    command_buffer_size: int | None = Field(default=None, ge=1, description="Accepted; no effect.")
    control_channel_capacity: int | None = Field(default=None, ge=1, description="Accepted; no effect.")
    queue_monitor_capacity: int | None = Field(default=None, ge=1, description="Accepted; no effect.")
    client_timeout_secs: float | None = Field(
        default=None,
        gt=0,
        description=(
            "Idle limit counting both directions: a connection with no line in or out for this long gets "
            "N2 and is closed. null: no idle limit."
        ),
    )
    timeout_check_interval_secs: float | None = Field(
        default=None, gt=0, description="Accepted; no effect: the idle limit is enforced to within 1 s."
    )
    rate_limit_msgs_per_minute: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Refill rate of each connection's token bucket; a line finding the bucket empty is dropped or "
            "waits per rate_limit_action. null: no per-connection limit."
        ),
    )
    accept_error_backoff_ms: int = Field(
        default=DEFAULT_ACCEPT_ERROR_BACKOFF_MS,
        ge=1,
        description="First pause after an accept error; it doubles per consecutive error, up to 2 s.",
    )
    quarantine_cooldown_secs: float = Field(
        default=DEFAULT_QUARANTINE_COOLDOWN_SECS,
        ge=1,
        description=(
            "How long an IP with five auth failures in this window stays blocked (N12). "
            "No effect without auth."
        ),
    )
    quarantine_cleanup_interval_secs: float = Field(
        default=DEFAULT_QUARANTINE_CLEANUP_INTERVAL_SECS,
        gt=0,
        description="Period of the sweep that forgets expired bans and idle per-IP state.",
    )
    throttle_delay_ms: int | None = Field(
        default=None, ge=0, description="Accepted; no effect: the relay never delays a sender."
    )
    flow_control_delay_ms: int | None = Field(
        default=None, ge=0, description="Accepted; no effect: the relay never delays a sender."
    )
    worker_threads: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Worker threads of the native runtime; null: one per available CPU. The Python relay ignores it."
        ),
    )
    backpressure_policy: BackpressurePolicy = Field(
        default_factory=BackpressurePolicy,
        description="Per-recipient queue thresholds; they act on that recipient only, never on senders.",
    )
    max_connections: int = Field(
        default=DEFAULT_MAX_CONNECTIONS,
        ge=1,
        description="Connections at once, handshakes included; one more gets N7 and is closed.",
    )
    max_connections_per_ip: int | None = Field(
        default=None,
        ge=1,
        description="Connections at once from one IP; one more gets N8 and is closed. null: no limit.",
    )
    max_line_bytes: int = Field(
        default=DEFAULT_MAX_LINE_BYTES,
        ge=1,
        le=DEFAULT_MAX_LINE_BYTES,
        description=(
            "Longest line body accepted; a longer line is discarded up to its LF, the sender gets N5 and "
            "the session goes on."
        ),
    )
    line_timeout_secs: float | None = Field(
        default=DEFAULT_LINE_TIMEOUT_SECS,
        gt=0,
        description=(
            "Time from a line's first byte to its LF; past it the sender gets N13 and is closed "
            "(guards against slowloris). null: no limit."
        ),
    )
    invalid_utf8: Literal["reject", "replace"] = Field(
        default="reject",
        description=(
            'A line that is not UTF-8: "reject" drops it and sends N6; "replace" relays it with U+FFFD.'
        ),
    )
    max_queue_messages: int = Field(
        default=DEFAULT_MAX_QUEUE_MESSAGES,
        ge=1,
        description=(
            "Lines one recipient's queue may hold; a recipient whose queue is full is disconnected as a "
            "slow consumer. Unset backpressure thresholds are derived from it."
        ),
    )
    max_queue_bytes: int = Field(
        default=DEFAULT_MAX_QUEUE_BYTES,
        ge=DEFAULT_MAX_LINE_BYTES + 1,
        description=(
            "Bytes (LFs included) one recipient's queue may hold; past it the recipient is disconnected as a "
            "slow consumer. At least one full line plus its LF."
        ),
    )
    write_timeout_secs: float = Field(
        default=DEFAULT_WRITE_TIMEOUT_SECS,
        gt=0,
        description=(
            "A writer with pending data whose socket accepts no byte for this long closes a slow consumer."
        ),
    )
    rate_limit_burst: int | None = Field(
        default=None,
        ge=1,
        description="Capacity of each connection's token bucket. null: equal to rate_limit_msgs_per_minute.",
    )
    rate_limit_action: Literal["drop", "pause"] = Field(
        default="drop",
        description=(
            'With an empty bucket: "drop" discards the line and sends N1; "pause" stops reading until refill.'
        ),
    )
    ip_rate_limit_msgs_per_minute: int | None = Field(
        default=None,
        ge=1,
        description="Refill rate of a bucket shared by all connections of one IP. null: no per-IP limit.",
    )
    ip_rate_limit_burst: int | None = Field(
        default=None,
        ge=1,
        description="Capacity of the per-IP bucket. null: equal to ip_rate_limit_msgs_per_minute.",
    )
    warning_interval_secs: float = Field(
        default=DEFAULT_WARNING_INTERVAL_SECS,
        gt=0,
        description=(
            "Least gap between two notices of one kind to one connection; those in between are dropped."
        ),
    )
    tcp_keepalive_secs: float | None = Field(
        default=DEFAULT_TCP_KEEPALIVE_SECS,
        gt=0,
        description="TCP keepalive idle time before the OS probes a silent peer. null: keepalive off.",
    )
    shutdown_drain_secs: float = Field(
        default=DEFAULT_SHUTDOWN_DRAIN_SECS,
        ge=0,
        description="At shutdown, time allowed for queues to drain; connections still open then are closed.",
    )
    # Legacy shapes, validated where the file put them, then moved to their real place. Excluded from
    # dumps so a dumped config validates again.
    enable_throttle: bool | None = Field(
        default=None, exclude=True, description="Legacy: backpressure_policy.enable_throttle."
    )
    throttle_threshold: int | None = Field(
        default=None, ge=1, exclude=True, description="Legacy: backpressure_policy.throttle_threshold."
    )
    enable_flow_control: bool | None = Field(
        default=None, exclude=True, description="Legacy: backpressure_policy.enable_flow_control."
    )
    flow_control_threshold: int | None = Field(
        default=None, ge=1, exclude=True, description="Legacy: backpressure_policy.flow_control_threshold."
    )
    enable_disconnect: bool | None = Field(
        default=None, exclude=True, description="Legacy: backpressure_policy.enable_disconnect."
    )
    disconnect_threshold: int | None = Field(
        default=None, ge=1, exclude=True, description="Legacy: backpressure_policy.disconnect_threshold."
    )
    host: str | None = Field(
        default=None, exclude=True, description="Legacy: the top-level host, used only when that is unset."
    )
    port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        exclude=True,
        description="Legacy: the top-level port, used only when that is unset.",
    )
    logger: RelayLoggerConfig | None = Field(
        default=None, exclude=True, description="Legacy: the top-level logger, used only when that is unset."
    )

    @model_validator(mode="after")
    def _resolve_defaults_and_thresholds(self) -> Self:
        problems: list[tuple[str, str, object]] = []
        policy, prefix = self.backpressure_policy, "backpressure_policy."
        flattened = {key: getattr(self, key) for key in _BACKPRESSURE_KEYS if getattr(self, key) is not None}
        if flattened and "backpressure_policy" in self.model_fields_set:
            rule = "absent when backpressure_policy is given (both forms at once)"
            problems += [(key, rule, value) for key, value in flattened.items()]
        elif flattened:
            policy, prefix = policy.model_copy(update=flattened), ""
        queue = self.max_queue_messages
        derived = {"throttle_threshold": queue // 8, "flow_control_threshold": queue // 2}
        derived["disconnect_threshold"] = queue
        policy = policy.model_copy(update={k: v for k, v in derived.items() if getattr(policy, k) is None})
        problems += _threshold_problems(policy, queue, prefix)
        self.backpressure_policy = policy
        if self.rate_limit_burst is None:
            self.rate_limit_burst = self.rate_limit_msgs_per_minute
        if self.ip_rate_limit_burst is None:
            self.ip_rate_limit_burst = self.ip_rate_limit_msgs_per_minute
        if problems:
            raise _rule_violations(problems)
        return self


def _threshold_problems(policy: BackpressurePolicy, queue: int, prefix: str) -> list[tuple[str, str, object]]:
    """Enabled thresholds must increase strictly and stay within ``max_queue_messages``."""
    problems: list[tuple[str, str, object]] = []
    previous: tuple[str, int] | None = None
    for flag, key in _THRESHOLDS:
        value = getattr(policy, key)
        if not getattr(policy, flag) or value is None:
            continue
        if previous is not None and value <= previous[1]:
            problems.append((prefix + key, f"greater than {previous[0]} ({previous[1]})", value))
        if value > queue:
            problems.append((prefix + key, f"at most max_queue_messages ({queue})", value))
        previous = (key, value)
    return problems


class RelaySecurityConfig(_Section):
    """``security`` (relay spec §3.8): everything off by default."""

    tls_cert_file: str | None = Field(
        default=None,
        description=(
            "PEM certificate chain; with tls_key_file the listener accepts TLS 1.2+ only. Give both or "
            "neither."
        ),
    )
    tls_key_file: str | None = Field(default=None, description="PEM private key of tls_cert_file.")
    auth_tokens: list[AuthToken] = Field(
        default_factory=list,
        repr=False,
        description=(
            "Accepted tokens. With at least one (here or in auth_token_file) a connection must send "
            "AUTH <token> first, or it gets N11 and is closed. Never logged."
        ),
    )
    auth_token_file: str | None = Field(
        default=None,
        description="File of tokens, one per line; blank lines and # comments are ignored. Read at startup.",
    )
    handshake_timeout_secs: float = Field(
        default=DEFAULT_HANDSHAKE_TIMEOUT_SECS,
        gt=0,
        description=(
            "Time for the TLS handshake and the AUTH line together; past it the connection is closed."
        ),
    )
    mask_remote_addr: bool = Field(
        default=False,
        description="Write an opaque peer-<hex> instead of the sender's address as remote_addr.",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            missing, given = (
                ("tls_key_file", "tls_cert_file")
                if self.tls_key_file is None
                else ("tls_cert_file", "tls_key_file")
            )
            raise _rule_violations([(missing, f"set when {given} is set", None)])
        return self


class MetricsConfig(_Section):
    """``metrics`` (relay spec §3.9): the HTTP endpoint for /metrics, /healthz and /connz."""

    host: str = Field(
        default=DEFAULT_METRICS_HOST,
        description="Address of the endpoint; a non-loopback one is logged as a warning at startup.",
    )
    port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of the endpoint; 0 picks a free one. null: no endpoint.",
    )


class RelayConfig(_Section):
    """A whole relay configuration file (relay spec §3.3)."""

    host: str = Field(
        default=DEFAULT_HOST,
        description=(
            'Address to listen on; "0.0.0.0" or "::" for all interfaces. A run() argument or CLI flag wins.'
        ),
    )
    port: int = Field(
        default=DEFAULT_PORT,
        ge=0,
        le=65535,
        description=(
            "Port to listen on; 0 picks a free port, which is reported. A run() argument or CLI flag wins."
        ),
    )
    version: Literal["rust", "python"] = Field(
        default=DEFAULT_VERSION,
        description=(
            'Backend: "rust" (the native relay; "rust_v1.0.0" and "rust_v1.1.0" are stored as "rust") or '
            '"python". Any other value is an error, never a silent fallback.'
        ),
    )
    logger: RelayLoggerConfig = Field(
        default_factory=RelayLoggerConfig, description="Logging (relay spec §3.4)."
    )
    hyper_parameters: RelayHyperParameters = Field(
        default_factory=RelayHyperParameters, description="Limits and timings (relay spec §3.5 to §3.7)."
    )
    security: RelaySecurityConfig = Field(
        default_factory=RelaySecurityConfig, description="TLS, tokens and address masking (relay spec §3.8)."
    )
    metrics: MetricsConfig = Field(
        default_factory=MetricsConfig, description="Metrics endpoint (relay spec §3.9)."
    )

    @model_validator(mode="before")
    @classmethod
    def _nulls_mean_defaults(cls, data: Any) -> Any:
        return _without_nulls(cls, data) if isinstance(data, Mapping) else data

    @field_validator("version", mode="before")
    @classmethod
    def _backend(cls, value: object) -> object:
        if value in RUST_VERSION_ALIASES:
            return "rust"
        if value in ("rust", "python"):
            return value
        allowed = ", ".join(f'"{name}"' for name in ("rust", "python", *RUST_VERSION_ALIASES))
        raise PydanticCustomError("config_rule", "must be {rule}", {"rule": f"one of {allowed}"})

    @model_validator(mode="after")
    def _legacy_top_level_keys(self) -> Self:
        problems: list[tuple[str, str, object]] = []
        for key in _LEGACY_TOP_LEVEL_KEYS:
            legacy = getattr(self.hyper_parameters, key)
            if legacy is None:
                continue
            if key in self.model_fields_set:
                shown = legacy.model_dump() if isinstance(legacy, BaseModel) else legacy
                problems.append((f"hyper_parameters.{key}", f"absent when the top-level {key} is set", shown))
            else:
                setattr(self, key, legacy)
        if problems:
            raise _rule_violations(problems)
        return self

    def config_warnings(self) -> list[ConfigIssue]:
        """Problems that do not stop the relay: ``host``, ``port`` or ``logger`` in ``hyper_parameters``."""
        return [
            ConfigIssue(f"hyper_parameters.{key}", f'legacy location; used as the top-level "{key}"')
            for key in _LEGACY_TOP_LEVEL_KEYS
            if getattr(self.hyper_parameters, key) is not None
        ]

    def legacy_keys(self) -> list[str]:
        """Key paths of the original's keys that were given but have no effect here."""
        return [
            f"hyper_parameters.{key}"
            for key in NO_EFFECT_KEYS
            if getattr(self.hyper_parameters, key) is not None
        ]
