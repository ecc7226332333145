"""The client logger: ``get_logger``, ``configure_logger`` and the original-compatible formatters.

What belongs here (client spec §9): creating a client's logger with no handlers, building its console
and rotating-file handlers from the ``logger`` config section, the text and JSON-lines formatters with
their time format (``%<n>f`` digits of the fraction, local time), and safe log file names. Validating
the section is :mod:`summoner_client.config.logger`'s job. The library itself never calls
``configure_logger`` except where ``run()`` applies a configuration.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from copy import copy
from datetime import datetime
from logging.handlers import RotatingFileHandler
from typing import Any, TextIO

import orjson
from pydantic import ValidationError

from summoner_client.config.logger import ClientLoggerConfig
from summoner_client.errors import ConfigError, ConfigIssue

__all__ = [
    "BaseFormatter",
    "JsonFormatter",
    "Logger",
    "SafeStreamHandler",
    "TextFormatter",
    "configure_logger",
    "format_log_time",
    "get_logger",
    "log_file_name",
]

Logger = logging.Logger

_DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_DEFAULT_FRACTION_DIGITS = 3
_MAX_FRACTION_DIGITS = 6
# A directive of the fraction (%f, %3f, ...) or an escaped percent, which must be skipped over.
_FRACTION_DIRECTIVE = re.compile(r"%(?:%|(\d*)f)")
_UNSAFE_FILE_CHARS = re.compile(r'[.<>:"/\\|?*]')
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1


def get_logger(name: str) -> logging.Logger:
    """Return ``logging.getLogger(name)`` with ``propagate = False``; no handler is added.

    Until :func:`configure_logger` runs, WARNING and above reach Python's last-resort handler (stderr).
    """
    logger = logging.getLogger(name)
    logger.propagate = False
    return logger


# --------------------------------------------------------------------------- time and file names


def format_log_time(created: float, date_format: str | None) -> str:
    """Format a record's ``created`` time in local time by the rules of client spec §9.3.

    ``None`` gives ``%Y-%m-%d %H:%M:%S.mmm``. The first ``%<n>f`` (n clamped to 0..6) or plain ``%f``
    (3 digits) becomes that many digits of the microseconds; the text on each side goes through
    ``strftime``. Any other format is plain ``strftime``.
    """
    moment = datetime.fromtimestamp(created)
    if date_format is None:
        return f"{moment.strftime(_DEFAULT_DATE_FORMAT)}.{moment.microsecond // 1000:03d}"
    for match in _FRACTION_DIRECTIVE.finditer(date_format):
        if match.group(0) == "%%":
            continue
        width = int(match.group(1)) if match.group(1) else _DEFAULT_FRACTION_DIGITS
        digits = f"{moment.microsecond:06d}"[: min(width, _MAX_FRACTION_DIGITS)]
        before, after = date_format[: match.start()], date_format[match.end() :]
        return moment.strftime(before) + digits + moment.strftime(after)
    return moment.strftime(date_format)


def log_file_name(logger_name: str) -> str:
    """``<safe name>.log``: the logger name with ``.`` and ``<>:"/\\|?*`` replaced by ``_`` **[D-26]**."""
    return _UNSAFE_FILE_CHARS.sub("_", logger_name) + ".log"


# --------------------------------------------------------------------------- handlers and formatters


class SafeStreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler that drops a record instead of raising ``BlockingIOError``.

    A congested non-blocking stdout (a slow terminal or pipe) must cost a log line, never the agent.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record; on ``BlockingIOError`` drop it silently, other errors go to ``handleError``."""
        try:
            self.stream.write(self.format(record) + self.terminator)
            self.flush()
        except BlockingIOError:
            pass
        except RecursionError:  # as logging.StreamHandler does: never swallow a recursion
            raise
        except Exception:
            self.handleError(record)


class BaseFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose ``asctime`` follows client spec §9.3 (see :func:`format_log_time`)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """Format ``record.created`` with ``datefmt``, else the formatter's own date format."""
        return format_log_time(record.created, datefmt if datefmt is not None else self.datefmt)


def _filter_keys(message: object, log_keys: list[str] | None) -> object:
    """A dict message keeps only the ``log_keys`` (``[]`` keeps none); anything else is unchanged."""
    if log_keys is None or not isinstance(message, dict):
        return message
    return {key: value for key, value in message.items() if key in log_keys}


class TextFormatter(BaseFormatter):
    """``%``-style text records; dict messages are filtered by ``log_keys`` before formatting.

    Args:
        fmt: ``%``-style record format.
        datefmt: Date format of ``asctime`` (§9.3); ``None`` for the default with milliseconds.
        log_keys: For dict messages, the keys kept; ``None`` keeps all.
    """

    def __init__(
        self, fmt: str | None = None, datefmt: str | None = None, log_keys: list[str] | None = None
    ) -> None:
        super().__init__(fmt, datefmt)
        self.log_keys = None if log_keys is None else list(log_keys)

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record``, with a dict message reduced to ``log_keys``; the record is not changed."""
        if self.log_keys is not None and isinstance(record.msg, dict):
            # Other handlers format the same record: work on a copy, never on the shared one.
            record = copy(record)
            record.msg = _filter_keys(record.msg, self.log_keys)
        return super().format(record)


class JsonFormatter(BaseFormatter):
    """One JSON object per record: ``{"timestamp", "name", "level", "message"}``, encoded with orjson.

    ``message`` is the filtered dict for dict messages and the formatted text otherwise. Values orjson
    cannot encode are written as ``str(value)``. A record with an exception also gets ``"exception"``,
    the formatted traceback, so ERROR lines keep their traceback in JSON files.

    Args:
        fmt: Unused by the JSON layout; accepted so the formatter takes ``logging.Formatter``'s arguments.
        datefmt: Date format of ``timestamp`` (§9.3).
        log_keys: For dict messages, the keys kept; ``None`` keeps all.
    """

    def __init__(
        self, fmt: str | None = None, datefmt: str | None = None, log_keys: list[str] | None = None
    ) -> None:
        super().__init__(fmt, datefmt)
        self.log_keys = None if log_keys is None else list(log_keys)

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON, without a newline."""
        message = record.msg if isinstance(record.msg, dict) else record.getMessage()
        entry: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "name": record.name,
            "level": record.levelname,
            "message": _filter_keys(message, self.log_keys),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _dumps(entry)


def _dumps(entry: dict[str, Any]) -> str:
    try:
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        # orjson refuses integers beyond 64 bits and nesting deeper than 254 without calling default;
        # a log line must still be written, so such values fall back to their text.
        return orjson.dumps(_encodable(entry, 0), default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _encodable(value: object, depth: int) -> object:
    if depth > 200:
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64_MIN <= value <= _UINT64_MAX:
        return str(value)
    if isinstance(value, dict):
        return {key: _encodable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encodable(item, depth + 1) for item in value]
    return value


# --------------------------------------------------------------------------- configure_logger


def _logger_config(cfg: Mapping[str, Any] | ClientLoggerConfig) -> ClientLoggerConfig:
    if isinstance(cfg, ClientLoggerConfig):
        return cfg
    try:
        return ClientLoggerConfig.model_validate(dict(cfg))
    except ValidationError as exc:
        issues = [
            ConfigIssue(".".join(map(str, ("logger", *error["loc"]))), error["msg"]) for error in exc.errors()
        ]
        raise ConfigError(issues) from None


def _level(name: str) -> int:
    """The level for a name, case-insensitive; an unknown name means DEBUG, as in the original."""
    level = logging.getLevelNamesMapping().get(name.upper())
    return logging.DEBUG if level is None else level


def configure_logger(logger: logging.Logger, cfg: Mapping[str, Any] | ClientLoggerConfig) -> None:
    """(Re)build ``logger``'s handlers from a ``logger`` config section (client spec §9.2).

    Handlers without ``_keep = True`` are removed and closed; the level comes from ``log_level``;
    a console handler on stdout and a rotating file ``<log_file_path or .>/<safe name>.log`` are added
    as the section asks. Handlers get no level of their own.

    Args:
        logger: The logger to configure, usually ``client.logger``.
        cfg: The section as a mapping (validated here) or as a ``ClientLoggerConfig``.

    Raises:
        ConfigError: A mapping with a key of the wrong type.
        OSError: The log directory or file cannot be created.
    """
    config = _logger_config(cfg)
    for handler in list(logger.handlers):
        if getattr(handler, "_keep", False) is not True:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(_level(config.log_level))
    if config.enable_console_log:
        console = SafeStreamHandler(sys.stdout)
        console.setFormatter(TextFormatter(config.console_log_format, config.date_format, config.log_keys))
        logger.addHandler(console)
    if config.enable_file_log:
        directory = config.log_file_path or "."
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, log_file_name(logger.name))
        file_handler = RotatingFileHandler(
            path, maxBytes=config.max_file_size, backupCount=config.backup_count, encoding="utf-8"
        )
        formatter: logging.Formatter
        if config.enable_json_log:
            formatter = JsonFormatter(datefmt=config.date_format, log_keys=config.log_keys)
        else:
            formatter = TextFormatter(config.log_format, config.date_format, config.log_keys)
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
