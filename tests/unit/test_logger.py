"""The client logger (client spec §9): handlers, levels, file names, JSON lines, time formats."""

from __future__ import annotations

import io
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from summoner_client.config.logger import ClientLoggerConfig
from summoner_client.errors import ConfigError
from summoner_client.logger import (
    BaseFormatter,
    JsonFormatter,
    Logger,
    SafeStreamHandler,
    TextFormatter,
    configure_logger,
    format_log_time,
    get_logger,
    log_file_name,
)

# 2024-03-05 06:07:08.123456 local time
CREATED = datetime(2024, 3, 5, 6, 7, 8, 123456).timestamp()


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = get_logger(f"tests.logger.{uuid.uuid4().hex}")
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def _record(msg: object, level: int = logging.INFO, name: str = "agent") -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, None, None)
    record.created = CREATED
    return record


# ----------------------------------------------------------------------------- get_logger


def test_get_logger_does_not_propagate_and_adds_no_handler() -> None:
    log = get_logger("tests.logger.plain")
    assert log is logging.getLogger("tests.logger.plain")
    assert log.propagate is False
    assert log.handlers == []
    assert Logger is logging.Logger


# ----------------------------------------------------------------------------- configure_logger


def test_default_config_adds_one_console_handler_on_stdout_at_debug(logger: logging.Logger) -> None:
    configure_logger(logger, {})
    (handler,) = logger.handlers
    assert isinstance(handler, SafeStreamHandler)
    assert handler.stream is sys.stdout
    assert isinstance(handler.formatter, TextFormatter)
    assert handler.level == logging.NOTSET
    assert logger.level == logging.DEBUG


@pytest.mark.parametrize(
    ("name", "level"), [("info", logging.INFO), ("Warning", logging.WARNING), ("nope", 10)]
)
def test_level_names_are_case_insensitive_and_unknown_means_debug(
    logger: logging.Logger, name: str, level: int
) -> None:
    configure_logger(logger, {"log_level": name, "enable_console_log": False})
    assert logger.level == level
    assert logger.handlers == []


def test_handlers_are_replaced_except_those_marked_keep(logger: logging.Logger) -> None:
    kept = logging.NullHandler()
    kept._keep = True  # type: ignore[attr-defined]
    dropped = logging.NullHandler()
    logger.addHandler(kept)
    logger.addHandler(dropped)
    configure_logger(logger, ClientLoggerConfig())
    configure_logger(logger, ClientLoggerConfig())
    assert kept in logger.handlers
    assert dropped not in logger.handlers
    assert sum(isinstance(h, SafeStreamHandler) for h in logger.handlers) == 1


def test_console_uses_the_console_format_date_format_and_log_keys(
    logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    cfg = {
        "console_log_format": "%(asctime)s|%(levelname)s|%(message)s",
        "date_format": "%H",
        "log_keys": ["a"],
    }
    configure_logger(logger, cfg)
    logger.info({"a": 1, "b": 2})
    hour, rest = out.getvalue().split("|", 1)
    assert rest == "INFO|{'a': 1}\n"
    assert len(hour) == 2
    assert hour.isdigit()


def test_file_log_creates_the_directory_and_a_safe_file_name(tmp_path: Path) -> None:
    log = get_logger("<client:no-name>")
    target = tmp_path / "logs" / "deep"
    try:
        configure_logger(
            log,
            {
                "enable_console_log": False,
                "enable_file_log": True,
                "log_file_path": str(target),
                "log_format": "%(message)s",
            },
        )
        log.warning("hello")
        assert (target / "_client_no-name_.log").read_text(encoding="utf-8") == "hello\n"
    finally:
        configure_logger(log, {"enable_console_log": False})


def test_file_log_with_an_empty_path_writes_in_the_current_directory(
    logger: logging.Logger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    configure_logger(logger, {"enable_console_log": False, "enable_file_log": True})
    logger.info("x")
    assert (tmp_path / log_file_name(logger.name)).exists()


def test_json_file_lines(logger: logging.Logger, tmp_path: Path) -> None:
    configure_logger(
        logger,
        {
            "enable_console_log": False,
            "enable_file_log": True,
            "enable_json_log": True,
            "log_file_path": str(tmp_path),
            "log_keys": ["keep", "big"],
            "date_format": "%Y",
        },
    )
    logger.info("plain %s", "text")
    logger.warning({"keep": object, "drop": 1, "big": 2**70})
    lines = (tmp_path / log_file_name(logger.name)).read_text(encoding="utf-8").splitlines()
    first, second = (orjson.loads(line) for line in lines)
    year = time.strftime("%Y")
    assert first == {"timestamp": year, "name": logger.name, "level": "INFO", "message": "plain text"}
    assert second["message"] == {"keep": str(object), "big": str(2**70)}
    assert second["level"] == "WARNING"


def test_a_mapping_with_a_bad_type_is_a_config_error(logger: logging.Logger) -> None:
    with pytest.raises(ConfigError) as info:
        configure_logger(logger, {"max_file_size": "big"})
    assert info.value.issues[0].path == "logger.max_file_size"


# ----------------------------------------------------------------------------- formatters


@pytest.mark.parametrize(
    ("date_format", "expected"),
    [
        (None, "2024-03-05 06:07:08.123"),
        ("%H:%M:%S.%f", "06:07:08.123"),
        ("%H:%M:%S.%3f", "06:07:08.123"),
        ("%S.%1f", "08.1"),
        ("%S.%6f", "08.123456"),
        ("%S.%9f", "08.123456"),
        ("%S.%0f|", "08.|"),
        ("%S %2f %f", "08 12 123456"),  # only the first occurrence is ours
        ("%%f %S.%2f", "%f 08.12"),
        ("%Y/%m/%d", "2024/03/05"),
    ],
)
def test_time_formatting(date_format: str | None, expected: str) -> None:
    assert format_log_time(CREATED, date_format) == expected


def test_text_formatter_filters_dict_messages_without_touching_the_record() -> None:
    record = _record({"a": 1, "b": 2})
    assert TextFormatter("%(message)s", None, ["b"]).format(record) == "{'b': 2}"
    assert TextFormatter("%(message)s", None, []).format(record) == "{}"
    assert TextFormatter("%(message)s").format(record) == "{'a': 1, 'b': 2}"
    assert record.msg == {"a": 1, "b": 2}
    assert TextFormatter("%(asctime)s", "%S.%2f").format(record) == "08.12"


def test_json_formatter_layout_and_exceptions() -> None:
    line = JsonFormatter().format(_record("hi", logging.ERROR, name="agent"))
    assert orjson.loads(line) == {
        "timestamp": "2024-03-05 06:07:08.123",
        "name": "agent",
        "level": "ERROR",
        "message": "hi",
    }
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("failed")
        record.exc_info = sys.exc_info()
    entry = orjson.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exception"]
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    assert orjson.loads(JsonFormatter().format(_record({"deep": deep, 1: "key"})))["message"]["1"] == "key"


def test_base_formatter_is_a_logging_formatter() -> None:
    formatter = BaseFormatter("%(asctime)s")
    assert isinstance(formatter, logging.Formatter)
    assert formatter.format(_record("x")) == "2024-03-05 06:07:08.123"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("<client:no-name>", "_client_no-name_.log"),
        ("ChatAgent_3", "ChatAgent_3.log"),
        ('a.b/c\\d|e?f*g"h', "a_b_c_d_e_f_g_h.log"),
    ],
)
def test_log_file_names_are_safe(name: str, expected: str) -> None:
    assert log_file_name(name) == expected


# ----------------------------------------------------------------------------- SafeStreamHandler


class _Congested(io.StringIO):
    def write(self, text: str) -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")


def test_safe_stream_handler_drops_records_on_blocking_io_error(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = SafeStreamHandler(_Congested())
    called: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", called.append)
    handler.emit(_record("dropped"))
    assert called == []


def test_safe_stream_handler_reports_other_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk gone")

    handler = SafeStreamHandler(Broken())
    called: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", called.append)
    record = _record("x")
    handler.emit(record)
    assert called == [record]


def test_safe_stream_handler_writes_normally() -> None:
    stream = io.StringIO()
    handler = SafeStreamHandler(stream)
    handler.setFormatter(TextFormatter("%(levelname)s %(message)s"))
    handler.emit(_record("ok"))
    assert stream.getvalue() == "INFO ok\n"
