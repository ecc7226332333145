"""The client's configuration model (client spec §2.3, §7.2, §9.2, §12.5, §12.10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from summoner_client.config import client as client_module
from summoner_client.config.client import ClientConfig
from summoner_client.config.loading import parse_client_config
from summoner_client.config.logger import ClientLoggerConfig
from summoner_client.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


def _errors(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_client_config(data)
    return info.value


def _sender(**keys: Any) -> dict[str, Any]:
    return {"hyper_parameters": {"sender": keys}}


def test_defaults_match_the_spec_tables() -> None:
    config = ClientConfig()
    hp = config.hyper_parameters
    assert (config.host, config.port) == (None, None)
    assert (hp.receiver.max_bytes_per_line, hp.receiver.read_timeout_seconds) == (65536, None)
    assert (hp.receiver.max_concurrent_handlers, hp.receiver.per_peer_order) == (1, True)
    assert (hp.sender.concurrency_limit, hp.sender.queue_maxsize, hp.sender.batch_drain) == (50, 50, True)
    assert (hp.sender.event_bridge_maxsize, hp.sender.max_worker_errors) == (1000, 3)
    assert (hp.sender.on_max_worker_errors, hp.sender.idle_delay_secs) == ("stop", 0.01)
    assert (hp.sender.max_bytes_per_line, hp.sender.max_outbox_lines) == (65536, 1024)
    assert (hp.sender.max_publish_queue, hp.sender.max_timed_pending) == (1000, 1000)
    assert (hp.reconnection.retry_delay_seconds, hp.reconnection.primary_retry_limit) == (3, 3)
    assert (hp.reconnection.default_host, hp.reconnection.default_port) == (None, None)
    assert hp.reconnection.default_retry_limit == 2
    assert (hp.lifecycle.shutdown_timeout_secs, hp.lifecycle.strict) == (5, False)
    assert config.security.model_dump() == {
        "tls": False,
        "tls_ca_file": None,
        "tls_server_name": None,
        "auth_token": None,
    }


def test_class_constants_match_the_original_defaults() -> None:
    assert client_module.DEFAULT_MAX_BYTES_PER_LINE == 65536
    assert client_module.DEFAULT_READ_TIMEOUT_SECONDS is None
    assert client_module.DEFAULT_CONCURRENCY_LIMIT == 50
    assert client_module.DEFAULT_RETRY_DELAY == 3
    assert client_module.DEFAULT_PRIMARY_RETRY_LIMIT == 3
    assert client_module.DEFAULT_FAILOVER_RETRY_LIMIT == 2
    assert client_module.DEFAULT_EVENT_BRIDGE_SIZE == 1000
    assert client_module.DEFAULT_MAX_CONSECUTIVE_ERRORS == 3


def test_logger_defaults_are_the_clients() -> None:
    logger = ClientLoggerConfig()
    assert logger.log_level == "DEBUG"
    assert logger.console_log_format.startswith("\x1b[92m%(asctime)s\x1b[0m")
    assert (logger.enable_console_log, logger.enable_file_log, logger.enable_json_log) == (True, False, False)
    assert (logger.log_file_path, logger.date_format, logger.log_keys) == ("", None, None)
    assert (logger.max_file_size, logger.backup_count) == (1_000_000, 3)


def test_spec_example_loads_unchanged() -> None:
    data = orjson.loads((FIXTURES / "valid" / "spec_example.json").read_bytes())
    loaded = parse_client_config(data)
    assert loaded.warnings == []
    dumped = loaded.config.model_dump()
    for section, keys in data["hyper_parameters"].items():
        assert {key: dumped["hyper_parameters"][section][key] for key in keys} == keys
    assert {key: dumped["logger"][key] for key in data["logger"]} == data["logger"]


def test_every_key_loads_with_its_value() -> None:
    data = orjson.loads((FIXTURES / "valid" / "every_key.json").read_bytes())
    config = parse_client_config(data).config
    dumped = config.model_dump()
    data["hyper_parameters"]["sender"]["batch_drain"] = False  # 0, taken as bool(0)
    assert dumped["hyper_parameters"] == data["hyper_parameters"]
    assert dumped["logger"] == data["logger"]
    assert dumped["security"] == data["security"]
    assert (config.host, config.port) == ("relay.example", 9000)


def test_every_field_says_what_happens_at_its_limit() -> None:
    models: list[type[BaseModel]] = [ClientConfig]
    while models:
        model = models.pop()
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                models.append(field.annotation)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("receiver", "max_bytes_per_line"),
        ("receiver", "max_concurrent_handlers"),
        ("sender", "max_publish_queue"),
        ("sender", "event_bridge_maxsize"),
        ("sender", "max_outbox_lines"),
        ("sender", "max_bytes_per_line"),
        ("reconnection", "primary_retry_limit"),
        ("reconnection", "default_port"),
    ],
)
def test_bool_is_not_an_integer(section: str, key: str) -> None:
    error = _errors({"hyper_parameters": {section: {key: True}}})
    assert [issue.path for issue in error.issues] == [f"hyper_parameters.{section}.{key}"]
    assert error.issues[0].message.endswith(", got true")


def test_float_and_string_are_not_integers() -> None:
    error = _errors(_sender(max_outbox_lines=5.0, max_publish_queue="5"))
    assert [issue.message for issue in error.issues] == [
        "sender.max_outbox_lines must be an integer ≥ 1, got 5.0",
        'sender.max_publish_queue must be an integer ≥ 1, got "5"',
    ]


def test_bridge_size_zero_is_rejected() -> None:
    error = _errors(_sender(event_bridge_maxsize=0))
    assert [str(issue) for issue in error.issues] == [
        "hyper_parameters.sender.event_bridge_maxsize: "
        "sender.event_bridge_maxsize must be an integer ≥ 1, got 0"
    ]


def test_queue_maxsize_defaults_to_concurrency_limit() -> None:
    assert parse_client_config(_sender(concurrency_limit=7)).config.hyper_parameters.sender.queue_maxsize == 7


def test_invalid_concurrency_limit_is_not_reported_again_as_queue_maxsize() -> None:
    error = _errors(_sender(concurrency_limit=0))
    assert [issue.path for issue in error.issues] == ["hyper_parameters.sender.concurrency_limit"]


def test_queue_maxsize_below_concurrency_limit_warns() -> None:
    loaded = parse_client_config(_sender(concurrency_limit=10, queue_maxsize=4))
    assert [(issue.path, issue.message) for issue in loaded.warnings] == [
        (
            "hyper_parameters.sender.queue_maxsize",
            "queue_maxsize < concurrency_limit; back-pressure will throttle producers at 4",
        )
    ]
    assert parse_client_config(_sender(concurrency_limit=10, queue_maxsize=10)).warnings == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (0, False),
        (1, True),
        ("", False),
        ("no", True),
        ([], False),
        (None, False),
    ],
)
def test_batch_drain_takes_any_value_as_bool(value: object, expected: bool) -> None:
    assert (
        parse_client_config(_sender(batch_drain=value)).config.hyper_parameters.sender.batch_drain is expected
    )


def test_original_checks_come_first_with_the_originals_messages() -> None:
    error = _errors(
        {"port": "x", "hyper_parameters": {"sender": {"queue_maxsize": 0, "max_worker_errors": 0}}}
    )
    assert [issue.message for issue in error.issues] == [
        "sender.max_worker_errors must be an integer ≥ 1",
        "sender.queue_maxsize must be an integer ≥ 1",
        'port must be an integer from 1 to 65535 or null, got "x"',
    ]


def test_other_problems_follow_the_keys_table_order() -> None:
    error = _errors(
        {
            "hyper_parameters": {
                "lifecycle": {"strict": 1},
                "sender": {"idle_delay_secs": -1},
                "receiver": {"per_peer_order": "yes"},
                "reconnection": {"default_retry_limit": 0},
            },
            "security": {"tls": "yes"},
            "logger": {"backup_count": -1},
            "host": 5,
        }
    )
    assert [issue.path for issue in error.issues] == [
        "host",
        "logger.backup_count",
        "hyper_parameters.reconnection.default_retry_limit",
        "hyper_parameters.receiver.per_peer_order",
        "hyper_parameters.sender.idle_delay_secs",
        "security.tls",
        "hyper_parameters.lifecycle.strict",
    ]
    assert error.issues[0].message == "host must be a string or null, got 5"
    assert error.issues[-1].message == "lifecycle.strict must be true or false, got 1"


def test_all_problems_are_reported_together() -> None:
    error = _errors(
        {
            "logger": {"log_keys": ["a", 1]},
            "hyper_parameters": {
                "reconnection": {"retry_delay_seconds": -0.5},
                "sender": {"on_max_worker_errors": "crash", "max_timed_pending": 0},
                "receiver": {"read_timeout_seconds": 0},
            },
        }
    )
    assert [issue.message for issue in error.issues] == [
        "logger.log_keys[1] must be a string, got 1",
        "reconnection.retry_delay_seconds must be a number ≥ 0, got -0.5",
        "receiver.read_timeout_seconds must be a number > 0 or null, got 0",
        'sender.on_max_worker_errors must be one of "stop", "disable_sender", got "crash"',
        "sender.max_timed_pending must be an integer ≥ 1, got 0",
    ]
    assert "(5 problem(s))" in str(error)


@pytest.mark.parametrize("delay", [3, 3.0, 0, 0.25])
def test_retry_delay_is_kept_as_written(delay: float) -> None:
    data = {"hyper_parameters": {"reconnection": {"retry_delay_seconds": delay}}}
    kept = parse_client_config(data).config.hyper_parameters.reconnection.retry_delay_seconds
    assert (kept, type(kept)) == (delay, type(delay))


def test_a_non_number_retry_delay_is_one_problem() -> None:
    error = _errors({"hyper_parameters": {"reconnection": {"retry_delay_seconds": True}}})
    assert [issue.message for issue in error.issues] == [
        "reconnection.retry_delay_seconds must be a number ≥ 0, got true"
    ]


def test_null_is_accepted_only_where_the_type_lists_it() -> None:
    loaded = parse_client_config(
        {
            "host": None,
            "hyper_parameters": {
                "reconnection": {"primary_retry_limit": None, "default_retry_limit": None},
                "sender": {"max_bytes_per_line": None},
            },
        }
    )
    reconnection = loaded.config.hyper_parameters.reconnection
    assert (reconnection.primary_retry_limit, reconnection.default_retry_limit) == (None, None)
    assert loaded.config.hyper_parameters.sender.max_bytes_per_line is None
    error = _errors({"hyper_parameters": {"receiver": {"max_concurrent_handlers": None}}})
    assert error.issues[0].message == "receiver.max_concurrent_handlers must be an integer ≥ 1, got null"


def test_unknown_log_level_means_debug_with_a_warning() -> None:
    loaded = parse_client_config({"logger": {"log_level": "verbose"}})
    assert [(issue.path, issue.message) for issue in loaded.warnings] == [
        ("logger.log_level", 'unknown level name "verbose"; DEBUG is used')
    ]
    assert parse_client_config({"logger": {"log_level": "warn"}}).warnings == []


def test_auth_token_follows_the_relays_rule_and_is_never_shown() -> None:
    token = "s3cret-token-0123456789"
    config = parse_client_config({"security": {"auth_token": token}}).config
    assert config.security.auth_token == token
    assert token not in repr(config)
    error = _errors({"security": {"auth_token": "short secret"}})
    assert error.issues[0].message == (
        "security.auth_token must be 16 to 512 printable ASCII characters (0x21 to 0x7E), got <hidden>"
    )
    assert "short secret" not in str(error)
