"""Loading configurations: files and dicts, every problem at once, unknown keys, warnings as data.

The fixture directories are shared with the Rust validator (relay spec §6, C22): every file under
``valid/`` loads with no problem even with ``strict`` on, and every ``invalid/<name>.json`` fails with
exactly the key paths listed in ``invalid/<name>.expected.json`` (``{"paths": [...]}``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from summoner_client import utils
from summoner_client.config import loading
from summoner_client.config.loading import (
    load_client_config,
    load_config,
    load_relay_config,
    parse_client_config,
    parse_relay_config,
)
from summoner_client.errors import ConfigError, ConfigIssue

RELAY_FIXTURES = Path(__file__).parents[2] / "conformance" / "configs"
CLIENT_FIXTURES = Path(__file__).parent / "fixtures"
LOGGER_NAME = "summoner_client.config.loading"


def _valid(root: Path) -> list[Path]:
    return sorted((root / "valid").glob("*.json"))


def _invalid(root: Path) -> list[Path]:
    return sorted(
        path for path in (root / "invalid").glob("*.json") if not path.name.endswith(".expected.json")
    )


def _expected_paths(path: Path) -> set[str]:
    expected = orjson.loads(path.with_name(f"{path.stem}.expected.json").read_bytes())
    return set(expected["paths"])


def _write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "config.json"
    path.write_bytes(content)
    return path


def test_fixture_directories_are_not_empty() -> None:
    for root in (RELAY_FIXTURES, CLIENT_FIXTURES):
        assert _valid(root)
        assert _invalid(root)
        for path in _invalid(root):
            assert _expected_paths(path), f"{path.name} has no expected paths"


@pytest.mark.parametrize("path", _valid(RELAY_FIXTURES), ids=lambda path: path.stem)
def test_valid_relay_fixture_loads_with_no_problem_even_when_strict(path: Path) -> None:
    load_relay_config(path, strict=True)


@pytest.mark.parametrize("path", _invalid(RELAY_FIXTURES), ids=lambda path: path.stem)
def test_invalid_relay_fixture_fails_with_exactly_the_expected_key_paths(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_relay_config(path)
    assert {issue.path for issue in info.value.issues} == _expected_paths(path)
    assert info.value.source == str(path)


@pytest.mark.parametrize("path", _valid(CLIENT_FIXTURES), ids=lambda path: path.stem)
def test_valid_client_fixture_loads_with_no_warning(path: Path) -> None:
    assert load_client_config(path).warnings == []


@pytest.mark.parametrize("path", _invalid(CLIENT_FIXTURES), ids=lambda path: path.stem)
def test_invalid_client_fixture_fails_with_exactly_the_expected_key_paths(path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_client_config(path)
    assert {issue.path for issue in info.value.issues} == _expected_paths(path)


def test_missing_client_file_warns_and_uses_the_defaults(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "absent.json"
    with caplog.at_level(logging.WARNING, logger=LOGGER_NAME):
        loaded = load_client_config(path)
    message = f"Config file not found: {path}; using defaults"
    assert loaded.warnings == [ConfigIssue("", message)]
    assert loaded.config == parse_client_config({}).config
    assert [(record.name, record.levelname, record.getMessage()) for record in caplog.records] == [
        (LOGGER_NAME, "WARNING", message)
    ]


def test_no_client_path_means_the_defaults_without_a_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER_NAME):
        loaded = load_client_config()
    assert (loaded.warnings, loaded.source) == ([], None)
    assert caplog.records == []


def test_missing_relay_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(ConfigError) as info:
        load_relay_config(path)
    assert info.value.source == str(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("load", [load_client_config, load_relay_config])
def test_invalid_json_is_a_config_error_naming_the_file_and_the_parser_message(
    tmp_path: Path, load: Callable[..., Any]
) -> None:
    path = _write(tmp_path, b'{"port": 8888,}')
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.source == str(path)
    [issue] = info.value.issues
    assert issue.message.startswith("invalid JSON: ")
    assert "line 1" in issue.message
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("content", "kind"), [(b"[]", "an array"), (b'"x"', "a string"), (b"3", "a number"), (b"null", "null")]
)
def test_a_top_level_that_is_not_an_object_is_a_config_error(
    tmp_path: Path, content: bytes, kind: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_client_config(_write(tmp_path, content))
    assert [issue.message for issue in info.value.issues] == [
        f"the top level must be a JSON object, got {kind}"
    ]


@pytest.mark.parametrize("load", [load_client_config, load_relay_config])
def test_an_unreadable_file_is_a_config_error(tmp_path: Path, load: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path)
    assert info.value.issues[0].message.startswith("cannot read the file: ")


def test_invalid_utf8_in_a_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_relay_config(_write(tmp_path, b'{"host": "\xff"}'))


def test_config_dict_wins_over_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, b'{"port": 1111}')
    assert load_client_config(path, {"port": 2222}).config.port == 2222
    assert load_relay_config(path, {"port": 3333}).config.port == 3333
    broken = _write(tmp_path, b"not json")
    assert load_relay_config(broken, {}).source == "config_dict"
    assert load_relay_config(tmp_path / "absent.json", {}).config.port == 8888
    assert load_client_config(tmp_path / "absent.json", {}).warnings == []


def test_config_dict_is_left_unchanged() -> None:
    data = {"port": None, "hyper_parameters": {"throttle_threshold": 5, "backpressure_policy": None}}
    snapshot = orjson.dumps(data)
    load_relay_config(config_dict=data)
    assert orjson.dumps(data) == snapshot


@pytest.mark.parametrize("load", [load_client_config, load_relay_config])
def test_config_dict_that_is_not_a_mapping_is_a_type_error(load: Callable[..., Any]) -> None:
    with pytest.raises(TypeError, match="config_dict must be a dict or None, got list"):
        load(None, [])


@pytest.mark.parametrize(
    ("data", "path", "suggestion"),
    [
        (
            {"hyper_parameters": {"max_conections": 5}},
            "hyper_parameters.max_conections",
            "hyper_parameters.max_connections",
        ),
        ({"max_connections": 5}, "max_connections", "hyper_parameters.max_connections"),
        ({"securty": {}}, "securty", "security"),
        ({"logger": {"level": "INFO"}}, "logger.level", "logger.log_level"),
        (
            {"hyper_parameters": {"backpressure_policy": {"throttle": 1}}},
            "hyper_parameters.backpressure_policy.throttle",
            "hyper_parameters.backpressure_policy.enable_throttle",
        ),
    ],
)
def test_relay_unknown_key_warns_with_the_closest_known_key(
    data: dict[str, object], path: str, suggestion: str
) -> None:
    loaded = parse_relay_config(data)
    assert loaded.warnings == [ConfigIssue(path, f'unknown key; did you mean "{suggestion}"?')]


def test_unknown_key_like_no_known_key_says_so() -> None:
    assert parse_relay_config({"zzz": 1}).warnings == [
        ConfigIssue("zzz", "unknown key; no known key is close to it")
    ]


def test_relay_strict_turns_unknown_keys_into_errors_alongside_the_others() -> None:
    with pytest.raises(ConfigError) as info:
        parse_relay_config({"prot": 1, "port": -1}, strict=True)
    assert [issue.path for issue in info.value.issues] == ["port", "prot"]
    with pytest.raises(ConfigError) as info:
        parse_relay_config({"prot": 1}, strict=True)
    assert [str(issue) for issue in info.value.issues] == ['prot: unknown key; did you mean "port"?']


def test_client_accepts_keys_known_to_the_relay_silently() -> None:
    data = orjson.loads((CLIENT_FIXTURES / "valid" / "shared_with_relay.json").read_bytes())
    loaded = parse_client_config(data)
    assert loaded.warnings == []
    assert loaded.config.hyper_parameters.sender.concurrency_limit == 10


def test_client_warns_about_keys_known_to_neither_side() -> None:
    loaded = parse_client_config({"hyper_parameters": {"recever": {}, "sender": {"concurency_limit": 3}}})
    assert loaded.warnings == [
        ConfigIssue("hyper_parameters.recever", 'unknown key; did you mean "hyper_parameters.receiver"?'),
        ConfigIssue(
            "hyper_parameters.sender.concurency_limit",
            'unknown key; did you mean "hyper_parameters.sender.concurrency_limit"?',
        ),
    ]


def test_warnings_and_legacy_keys_are_logged_on_the_module_logger(caplog: pytest.LogCaptureFixture) -> None:
    data = {"prot": 1, "hyper_parameters": {"command_buffer_size": 8, "flow_control_delay_ms": 5}}
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        loaded = load_relay_config(config_dict=data)
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("WARNING", 'config_dict: prot: unknown key; did you mean "port"?'),
        (
            "INFO",
            "config_dict: legacy keys accepted with no effect: "
            "hyper_parameters.command_buffer_size, hyper_parameters.flow_control_delay_ms",
        ),
    ]
    assert [issue.path for issue in loaded.infos] == [
        "hyper_parameters.command_buffer_size",
        "hyper_parameters.flow_control_delay_ms",
    ]


def test_parsing_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        parse_relay_config({"prot": 1, "hyper_parameters": {"command_buffer_size": 8}})
        parse_client_config({"zzz": 1})
    assert caplog.records == []


def test_utils_load_config_reads_a_dict_by_the_client_rules_and_never_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert utils.load_config is load_config
    assert load_config(_write(tmp_path, b'{"version": "rust", "x": [1, 2]}')) == {
        "version": "rust",
        "x": [1, 2],
    }
    assert load_config(tmp_path / "absent.json") == {}
    with pytest.raises(ConfigError):
        load_config(_write(tmp_path, b"{"))
    assert capsys.readouterr() == ("", "")


def test_error_text_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        parse_relay_config({"port": "x", "version": "go"}, source="relay.json")
    assert str(info.value) == (
        "Invalid configuration in relay.json (2 problem(s)):\n"
        '  - port: must be an integer from 0 to 65535; got "x"\n'
        '  - version: must be one of "rust", "python", "rust_v1.0.0", "rust_v1.1.0"; got "go"'
    )


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(ConfigError) as info:
        parse_relay_config({"port": "p" * 500})
    assert info.value.issues[0].message == 'must be an integer from 0 to 65535; got "' + "p" * 76 + "..."


def test_loaded_config_carries_its_source(tmp_path: Path) -> None:
    path = _write(tmp_path, b"{}")
    assert load_client_config(path).source == str(path)
    assert loading.load_relay_config(config_dict={}).source == "config_dict"
