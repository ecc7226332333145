"""The relay's configuration model (relay spec §3, §5.6)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from summoner_client.config.loading import parse_relay_config
from summoner_client.config.relay import RelayConfig
from summoner_client.errors import ConfigError, ConfigIssue

VALID_TOKEN = "0123456789abcdef"


def _errors(data: dict[str, Any]) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        parse_relay_config(data)
    return info.value.issues


def _policy(data: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    policy = parse_relay_config(data).config.hyper_parameters.backpressure_policy
    return policy.throttle_threshold, policy.flow_control_threshold, policy.disconnect_threshold


def test_defaults_match_the_spec_tables() -> None:
    config = RelayConfig()
    hp = config.hyper_parameters
    assert (config.host, config.port, config.version) == ("127.0.0.1", 8888, "rust")
    assert (config.logger.log_level, config.logger.log_content) == ("INFO", False)
    assert config.logger.console_log_format == "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
    assert (hp.connection_buffer_size, hp.client_timeout_secs, hp.rate_limit_msgs_per_minute) == (
        1024,
        None,
        None,
    )
    assert (hp.accept_error_backoff_ms, hp.quarantine_cooldown_secs) == (100, 300)
    assert (hp.quarantine_cleanup_interval_secs, hp.worker_threads) == (60, None)
    assert (hp.max_connections, hp.max_connections_per_ip, hp.max_line_bytes) == (10_000, None, 65_536)
    assert (hp.line_timeout_secs, hp.invalid_utf8, hp.max_queue_messages) == (30, "reject", 8192)
    assert (hp.max_queue_bytes, hp.write_timeout_secs, hp.rate_limit_burst) == (16 * 1024 * 1024, 10, None)
    assert (hp.rate_limit_action, hp.ip_rate_limit_msgs_per_minute, hp.ip_rate_limit_burst) == (
        "drop",
        None,
        None,
    )
    assert (hp.warning_interval_secs, hp.tcp_keepalive_secs, hp.shutdown_drain_secs) == (1.0, 30, 5)
    security = config.security
    assert (security.tls_cert_file, security.tls_key_file, security.auth_tokens) == (None, None, [])
    assert (security.auth_token_file, security.handshake_timeout_secs, security.mask_remote_addr) == (
        None,
        5,
        False,
    )
    assert (config.metrics.host, config.metrics.port) == ("127.0.0.1", None)


def test_every_field_says_what_happens_at_its_limit() -> None:
    models: list[type[BaseModel]] = [RelayConfig]
    while models:
        model = models.pop()
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                models.append(field.annotation)


def test_thresholds_derive_from_max_queue_messages_by_integer_division() -> None:
    assert _policy({}) == (1024, 4096, 8192)
    assert _policy({"hyper_parameters": {"max_queue_messages": 100}}) == (12, 50, 100)


def test_given_thresholds_are_kept_and_the_others_derived() -> None:
    data = {
        "hyper_parameters": {"max_queue_messages": 64, "backpressure_policy": {"flow_control_threshold": 20}}
    }
    assert _policy(data) == (8, 20, 64)


def test_enabled_thresholds_must_increase_strictly() -> None:
    issues = _errors(
        {
            "hyper_parameters": {
                "backpressure_policy": {"enable_flow_control": True, "flow_control_threshold": 50}
            }
        }
    )
    assert [str(issue) for issue in issues] == [
        "hyper_parameters.backpressure_policy.flow_control_threshold: "
        "must be greater than throttle_threshold (1024); got 50"
    ]


def test_disabled_thresholds_are_not_ordered() -> None:
    data = {
        "hyper_parameters": {"backpressure_policy": {"enable_throttle": False, "throttle_threshold": 9000}}
    }
    assert _policy(data) == (9000, 4096, 8192)


def test_a_threshold_may_not_exceed_max_queue_messages() -> None:
    issues = _errors(
        {
            "hyper_parameters": {
                "max_queue_messages": 100,
                "backpressure_policy": {"disconnect_threshold": 101},
            }
        }
    )
    assert [str(issue) for issue in issues] == [
        "hyper_parameters.backpressure_policy.disconnect_threshold: "
        "must be at most max_queue_messages (100); got 101"
    ]


def test_flattened_backpressure_keys_are_read_as_the_policy() -> None:
    data = {
        "hyper_parameters": {
            "throttle_threshold": 50,
            "enable_flow_control": True,
            "flow_control_threshold": 150,
        }
    }
    config = parse_relay_config(data).config
    policy = config.hyper_parameters.backpressure_policy
    assert (policy.throttle_threshold, policy.enable_flow_control, policy.flow_control_threshold) == (
        50,
        True,
        150,
    )
    assert "throttle_threshold" not in config.model_dump()["hyper_parameters"]


def test_flattened_threshold_problems_name_the_flattened_key() -> None:
    issues = _errors({"hyper_parameters": {"throttle_threshold": 500, "disconnect_threshold": 400}})
    assert [issue.path for issue in issues] == ["hyper_parameters.disconnect_threshold"]


def test_both_backpressure_forms_at_once_is_an_error_naming_the_flattened_keys() -> None:
    issues = _errors({"hyper_parameters": {"enable_throttle": False, "backpressure_policy": {}}})
    assert [str(issue) for issue in issues] == [
        "hyper_parameters.enable_throttle: must be absent when backpressure_policy is given "
        "(both forms at once); got false"
    ]


def test_legacy_host_port_logger_apply_when_the_top_level_is_unset() -> None:
    loaded = parse_relay_config(
        {"hyper_parameters": {"host": "0.0.0.0", "port": 9999, "logger": {"log_level": "warn"}}}
    )
    config = loaded.config
    assert (config.host, config.port, config.logger.log_level) == ("0.0.0.0", 9999, "WARNING")
    assert [issue.path for issue in loaded.warnings] == [
        "hyper_parameters.host",
        "hyper_parameters.port",
        "hyper_parameters.logger",
    ]
    assert loaded.warnings[0].message == 'legacy location; used as the top-level "host"'


def test_legacy_key_given_at_both_levels_is_an_error() -> None:
    issues = _errors({"port": 1, "logger": {}, "hyper_parameters": {"port": 2, "logger": {}}})
    assert [issue.path for issue in issues] == ["hyper_parameters.port", "hyper_parameters.logger"]
    assert issues[0].message == "must be absent when the top-level port is set; got 2"
    assert issues[1].message.startswith("must be absent when the top-level logger is set; got {")


def test_legacy_keys_without_effect_are_accepted_validated_and_listed() -> None:
    loaded = parse_relay_config({"hyper_parameters": {"command_buffer_size": 32, "throttle_delay_ms": 0}})
    assert loaded.infos == [
        ConfigIssue("hyper_parameters.command_buffer_size", "accepted; no effect"),
        ConfigIssue("hyper_parameters.throttle_delay_ms", "accepted; no effect"),
    ]
    assert [issue.path for issue in _errors({"hyper_parameters": {"timeout_check_interval_secs": 0}})] == [
        "hyper_parameters.timeout_check_interval_secs"
    ]


@pytest.mark.parametrize("version", ["rust", "rust_v1.0.0", "rust_v1.1.0"])
def test_rust_versions_are_accepted_as_rust(version: str) -> None:
    assert parse_relay_config({"version": version}).config.version == "rust"


def test_python_version_selects_the_python_relay() -> None:
    assert parse_relay_config({"version": "python"}).config.version == "python"


@pytest.mark.parametrize("version", ["rust_v2.0.0", "Rust", "", 1, True])
def test_unknown_version_names_the_allowed_values(version: object) -> None:
    issues = _errors({"version": version})
    assert [issue.path for issue in issues] == ["version"]
    assert issues[0].message.startswith('must be one of "rust", "python", "rust_v1.0.0", "rust_v1.1.0"; got ')


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("trace", "TRACE"),
        ("Debug", "DEBUG"),
        ("INFO", "INFO"),
        ("warn", "WARNING"),
        ("WARNING", "WARNING"),
        ("error", "ERROR"),
        ("fatal", "CRITICAL"),
        ("critical", "CRITICAL"),
        ("off", "OFF"),
    ],
)
def test_log_level_names_are_case_insensitive_with_aliases(name: str, stored: str) -> None:
    assert parse_relay_config({"logger": {"log_level": name}}).config.logger.log_level == stored


@pytest.mark.parametrize("name", ["VERBOSE", "NOTSET", "", 10])
def test_other_log_levels_are_errors(name: object) -> None:
    assert [issue.path for issue in _errors({"logger": {"log_level": name}})] == ["logger.log_level"]


def test_null_means_the_default() -> None:
    config = parse_relay_config(
        {"port": None, "logger": None, "hyper_parameters": {"max_queue_messages": None, "invalid_utf8": None}}
    ).config
    assert (config.port, config.logger.log_level) == (8888, "INFO")
    assert (config.hyper_parameters.max_queue_messages, config.hyper_parameters.invalid_utf8) == (
        8192,
        "reject",
    )


def test_null_keeps_its_own_meaning_where_the_type_lists_it() -> None:
    hp = parse_relay_config(
        {"hyper_parameters": {"tcp_keepalive_secs": None, "line_timeout_secs": None}}
    ).config
    assert (hp.hyper_parameters.tcp_keepalive_secs, hp.hyper_parameters.line_timeout_secs) == (None, None)


def test_rate_limit_bursts_default_to_their_rates() -> None:
    hp = parse_relay_config(
        {"hyper_parameters": {"rate_limit_msgs_per_minute": 120, "ip_rate_limit_msgs_per_minute": 600}}
    ).config.hyper_parameters
    assert (hp.rate_limit_burst, hp.ip_rate_limit_burst) == (120, 600)
    hp = parse_relay_config(
        {"hyper_parameters": {"rate_limit_msgs_per_minute": 120, "rate_limit_burst": 5}}
    ).config.hyper_parameters
    assert hp.rate_limit_burst == 5


@pytest.mark.parametrize(
    ("security", "path"),
    [
        ({"tls_cert_file": "relay.crt"}, "security.tls_key_file"),
        ({"tls_key_file": "relay.key"}, "security.tls_cert_file"),
    ],
)
def test_tls_certificate_and_key_go_together(security: dict[str, str], path: str) -> None:
    issues = _errors({"security": security})
    assert [issue.path for issue in issues] == [path]
    assert issues[0].message.endswith("is set; got null")


@pytest.mark.parametrize("token", ["a" * 16, "~" * 512, "!" + VALID_TOKEN])
def test_auth_tokens_of_16_to_512_printable_characters_are_accepted(token: str) -> None:
    assert parse_relay_config({"security": {"auth_tokens": [token]}}).config.security.auth_tokens == [token]


@pytest.mark.parametrize(
    "token", ["a" * 15, "a" * 513, "with space 0123456789", "tab\t0123456789abcdef", "é" * 16]
)
def test_other_auth_tokens_are_errors_that_hide_the_token(token: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_relay_config({"security": {"auth_tokens": [VALID_TOKEN, token]}})
    assert [str(issue) for issue in info.value.issues] == [
        "security.auth_tokens[1]: must be 16 to 512 printable ASCII characters (0x21 to 0x7E); got <hidden>"
    ]
    assert token not in str(info.value)


def test_auth_tokens_never_appear_in_the_repr() -> None:
    config = parse_relay_config({"security": {"auth_tokens": [VALID_TOKEN]}}).config
    assert VALID_TOKEN not in repr(config)


@pytest.mark.parametrize("count", [100.0, "100", True, None])
def test_counts_are_json_integers_only(count: object) -> None:
    data = {"hyper_parameters": {"max_connections_per_ip": count}}
    if count is None:
        assert parse_relay_config(data).config.hyper_parameters.max_connections_per_ip is None
        return
    issues = _errors(data)
    assert [issue.message.split("; got")[0] for issue in issues] == ["must be an integer ≥ 1 or null"]


@pytest.mark.parametrize("duration", [2, 2.5])
def test_durations_accept_integers_and_decimals(duration: float) -> None:
    config = parse_relay_config({"hyper_parameters": {"write_timeout_secs": duration}}).config
    assert config.hyper_parameters.write_timeout_secs == duration


@pytest.mark.parametrize("duration", ["2", True])
def test_durations_reject_strings_and_booleans(duration: object) -> None:
    issues = _errors({"hyper_parameters": {"write_timeout_secs": duration}})
    assert [issue.message.split("; got")[0] for issue in issues] == ["must be a number > 0"]


def test_port_zero_is_allowed_and_the_range_is_checked() -> None:
    assert parse_relay_config({"port": 0, "metrics": {"port": 0}}).config.port == 0
    assert [str(issue) for issue in _errors({"port": 65536})] == [
        "port: must be an integer from 0 to 65535; got 65536"
    ]


def test_max_line_bytes_cannot_exceed_the_line_ceiling() -> None:
    assert [str(issue) for issue in _errors({"hyper_parameters": {"max_line_bytes": 65537}})] == [
        "hyper_parameters.max_line_bytes: must be an integer from 1 to 65536; got 65537"
    ]


def test_a_dumped_config_validates_to_the_same_dump() -> None:
    config = parse_relay_config(
        {
            "version": "rust_v1.1.0",
            "logger": {"log_level": "warn"},
            "hyper_parameters": {"port": 9, "throttle_threshold": 10, "rate_limit_msgs_per_minute": 60},
        }
    ).config
    dumped = config.model_dump()
    assert RelayConfig.model_validate(dumped).model_dump() == dumped
