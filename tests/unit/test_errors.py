"""Every exception is a SummonerError and the built-in the original raised, with its data kept."""

import asyncio

import pytest

from summoner_client import errors
from summoner_client.errors import (
    ClientNotRunning,
    ConfigError,
    ConfigIssue,
    ConnectionClosed,
    FlowStateError,
    FlowSyntaxError,
    FlowTypeError,
    HandlerSignatureError,
    LineTooLongError,
    PayloadEncodeError,
    ProtocolError,
    PublishQueueFull,
    RegistrationError,
    ServerDisconnected,
    ServerLaunchError,
    SummonerError,
    TriggersNotFoundError,
    UnsupportedVersionError,
)


@pytest.mark.parametrize(
    ("error_class", "builtin"),
    [
        (ConfigError, ValueError),
        (RegistrationError, ValueError),
        (HandlerSignatureError, TypeError),
        (FlowStateError, RuntimeError),
        (FlowSyntaxError, ValueError),
        (FlowTypeError, TypeError),
        (TriggersNotFoundError, FileNotFoundError),
        (UnsupportedVersionError, ValueError),
        (PayloadEncodeError, TypeError),
        (ConnectionClosed, ConnectionError),
        (ServerDisconnected, ConnectionError),
        (PublishQueueFull, asyncio.QueueFull),
        (ClientNotRunning, RuntimeError),
    ],
)
def test_each_error_is_also_the_builtin_the_original_raised(
    error_class: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(error_class, SummonerError)
    assert issubclass(error_class, builtin)


def test_every_exported_error_is_a_summoner_error_or_its_data() -> None:
    for name in errors.__all__:
        obj = getattr(errors, name)
        assert obj is ConfigIssue or issubclass(obj, SummonerError), name


def test_config_error_lists_every_issue_with_its_path() -> None:
    error = ConfigError(
        [ConfigIssue("port", "must be an integer, got 'x'"), ConfigIssue("logger.log_level", "unknown")],
        source="relay.json",
    )
    assert [issue.path for issue in error.issues] == ["port", "logger.log_level"]
    text = str(error)
    assert "relay.json" in text
    assert "port: must be an integer, got 'x'" in text
    assert "logger.log_level: unknown" in text


def test_config_error_accepts_a_single_message() -> None:
    assert ConfigError("bad file").issues == [ConfigIssue("", "bad file")]


def test_errors_keep_their_data_as_attributes() -> None:
    syntax = FlowSyntaxError("Line 3: invalid name '9x'", line=3, column=5, snippet="9x")
    assert (syntax.line, syntax.column, syntax.snippet) == (3, 5, "9x")
    too_long = LineTooLongError(size=70_000, limit=65_536)
    assert (too_long.size, too_long.limit) == (70_000, 65_536)
    assert isinstance(too_long, ProtocolError)
    assert ServerDisconnected("EOF during read").reason == "EOF during read"
    assert str(UnsupportedVersionError("9.9.9")) == "Unsupported wrapper version: 9.9.9"
    assert str(TriggersNotFoundError("/x/TRIGGERS")) == "Could not find triggers file at /x/TRIGGERS"
    cause = OSError(98, "Address already in use")
    launch = ServerLaunchError("cannot bind", address="127.0.0.1:8888", cause=cause)
    assert (launch.address, launch.cause) == ("127.0.0.1:8888", cause)
