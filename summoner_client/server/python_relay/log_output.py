"""The Python relay's log output, as the ``logger`` config section describes it (relay spec §3.4, §4.13).

What belongs here: the relay's text and JSON-lines formatters, the console and rotating-file handlers
built from a :class:`RelayLoggerConfig`, and :class:`LogOutput`, which puts them behind a bounded
queue so that logging never blocks a connection. Records look like the native relay's
(``rust_server/core/src/logsink.rs``): %-style text with ``asctime``, ``name``, ``levelname`` and
``message`` only, Python level names, control characters escaped, the relay's name as ``name``.

What does not: deciding when logging starts and stops (the launcher's ``_PythonBackend`` does, as the
native relay's binary does; a ``PythonRelay`` embedded in someone's application adds no handlers), and
the date and file-name rules, which are the client's (:func:`summoner_client.logger.format_log_time`
through :class:`BaseFormatter`, and :func:`log_file_name`) because the spec states them once for both.

Threads: the relay's loop (and any other thread that logs) only copies a record and offers it to the
queue with ``put_nowait``; one writer thread formats and writes. When the writer falls behind, the
queue fills and new records are dropped and counted (``log_records_dropped_total``) instead of making
the loop wait on a slow terminal or disk.
"""

from __future__ import annotations

import copy
import logging
import os
import queue
import re
import sys
import threading
from collections.abc import Iterable, Sequence
from logging.handlers import QueueHandler, QueueListener, RotatingFileHandler
from typing import Final, TextIO

import orjson

from summoner_client.config.logger import RelayLoggerConfig
from summoner_client.logger import BaseFormatter, SafeStreamHandler, log_file_name

__all__ = [
    "DEFAULT_CAPACITY",
    "OFF",
    "RELAY_LOGGER",
    "TRACE",
    "LogOutput",
    "RelayJsonFormatter",
    "RelayTextFormatter",
    "build_handlers",
    "dropped_records",
    "escape_controls",
    "start_log_output",
    "unknown_placeholders",
]

RELAY_LOGGER: Final = "summoner_client.server.python_relay"
"""The logger every module of the Python relay logs under."""
DEFAULT_CAPACITY: Final = 16 * 1024
"""Records waiting for the writer before new ones are dropped; the native relay buffers as many."""
STOP_TIMEOUT: Final = 5.0
"""Seconds :meth:`LogOutput.stop` gives the writer to finish what is queued."""
TRACE: Final = logging.DEBUG - 5
"""The level below DEBUG that ``log_level: "TRACE"`` selects; Python has no name for it."""
OFF: Final = logging.CRITICAL + 1
"""A level no record reaches: ``log_level: "OFF"``."""

_LEVELS: Final = {
    "TRACE": TRACE,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
    "OFF": OFF,
}
# Names by number, so a process that renamed a level (addLevelName(WARNING, "WARN")) still logs WARNING.
_LEVEL_NAMES: Final = {number: name for name, number in _LEVELS.items() if name != "OFF"}
_KNOWN_KEYS: Final = frozenset({"asctime", "name", "levelname", "message"})
# A %-style directive: an escaped percent, or a placeholder with flags, width, precision and type.
_DIRECTIVE: Final = re.compile(
    r"%(?:%|\((?P<key>[^)]*)\)(?P<flags>[-#0 +]*)(?P<width>\d*(?:\.\d+)?)[diouxXeEfFgGcrsa])"
)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SHORT_ESCAPES: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Attributes every LogRecord has; whatever else a record carries came from `extra=` (conn, peer, ...).
_RECORD_ATTRS: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1

_log = logging.getLogger(__name__)
_drops_lock = threading.Lock()
_dropped_total = 0  # every LogOutput of this process; guarded by _drops_lock


def dropped_records() -> int:
    """Log records dropped so far by every :class:`LogOutput` of this process.

    Process-wide, as the native relay's count is: the relay's loggers are process-wide too, so a record
    cannot be charged to one relay when two run in one process.
    """
    return _dropped_total


def escape_controls(text: str) -> str:
    r"""``text`` with every control character (Unicode Cc) escaped as the native relay escapes it.

    ``\n``, ``\r`` and ``\t`` keep their short forms; the rest become ``\u{1b}``. A peer's text can then
    neither start a forged log line nor send escape sequences to an operator's terminal.
    """
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: _SHORT_ESCAPES.get(m[0]) or f"\\u{{{ord(m[0]):x}}}", text)


def unknown_placeholders(fmt: str) -> list[str]:
    """The placeholders of ``fmt`` that no record provides; they print as ``-``."""
    keys = (match["key"] for match in _DIRECTIVE.finditer(fmt))
    return [key for key in keys if key is not None and key not in _KNOWN_KEYS]


def _compile(fmt: str) -> str:
    """``fmt`` rewritten so that ``%`` formatting with the four known keys cannot fail.

    Known placeholders keep their alignment, width and precision as ``s`` conversions; unknown ones are
    replaced now by a padded ``-``; a stray ``%`` prints as itself. A format that Python's ``logging``
    would reject therefore still logs, as it does on the native relay.
    """
    out: list[str] = []
    position = 0
    for match in _DIRECTIVE.finditer(fmt):
        out.append(fmt[position : match.start()].replace("%", "%%"))
        position = match.end()
        key = match["key"]
        if key is None:
            out.append("%%")
            continue
        spec = ("-" if "-" in match["flags"] else "") + match["width"]
        out.append(f"%({key}){spec}s" if key in _KNOWN_KEYS else (f"%{spec}s" % "-").replace("%", "%%"))
    out.append(fmt[position:].replace("%", "%%"))
    return "".join(out)


def _level_name(record: logging.LogRecord) -> str:
    return _LEVEL_NAMES.get(record.levelno, record.levelname)


def _traceback(record: logging.LogRecord) -> str:
    """The record's traceback and stack, as text still to be escaped; empty when it has neither."""
    return "\n".join(text for text in (record.exc_text, record.stack_info) if text)


def _message(record: logging.LogRecord) -> str:
    """The record's message, with its traceback if any, as text still to be escaped."""
    traceback = _traceback(record)
    return f"{record.getMessage()}\n{traceback}" if traceback else record.getMessage()


class RelayTextFormatter(BaseFormatter):
    """%-style text records with the relay's four placeholders; one record is always one line.

    Args:
        fmt: The %-style format (``console_log_format`` or ``log_format``).
        datefmt: Date format of ``asctime``; ``None`` for ``%Y-%m-%d %H:%M:%S`` with milliseconds.
        name: The relay's name, printed as ``%(name)s`` whichever module logged the record.
    """

    def __init__(self, fmt: str, datefmt: str | None, name: str) -> None:
        super().__init__(None, datefmt)
        self._template = _compile(fmt)
        self._uses_time = "%(asctime)" in self._template
        self._name = escape_controls(name)

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record``; its message and traceback are escaped, the format's own text is not."""
        values = {
            "asctime": self.formatTime(record, self.datefmt) if self._uses_time else "",
            "name": self._name,
            "levelname": _level_name(record),
            "message": escape_controls(_message(record)),
        }
        return self._template % values


class RelayJsonFormatter(BaseFormatter):
    """One JSON object per record: ``timestamp``, ``name``, ``level``, ``message``, then the ``extra`` fields.

    Text values are escaped as in text records, so both relays give a reader the same strings. A record
    with a traceback gets it as ``exception``. Integers, floats, booleans and null stay JSON values.

    Args:
        datefmt: Date format of ``timestamp``.
        name: The relay's name.
    """

    def __init__(self, datefmt: str | None, name: str) -> None:
        super().__init__(None, datefmt)
        self._name = escape_controls(name)

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON, without a newline."""
        entry: dict[str, object] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "name": self._name,
            "level": _level_name(record),
            "message": escape_controls(record.getMessage()),
        }
        traceback = _traceback(record)
        if traceback:
            entry["exception"] = escape_controls(traceback)
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS:
                entry.setdefault(key, _json_value(value))
        return orjson.dumps(entry).decode()


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int) and _INT64_MIN <= value <= _UINT64_MAX:
        return value
    return escape_controls(value if isinstance(value, str) else str(value))


def build_handlers(
    config: RelayLoggerConfig, name: str, *, console: TextIO | None = None
) -> list[logging.Handler]:
    """The console and file handlers ``config`` asks for, with the relay's formatters.

    Args:
        config: The relay's ``logger`` section.
        name: The relay's name: printed as ``name`` and, made safe, the file's base name.
        console: Where console records go; standard error when ``None``.

    Raises:
        OSError: The log directory or file cannot be created.
    """
    handlers: list[logging.Handler] = []
    if config.enable_console_log:
        console_handler = SafeStreamHandler(sys.stderr if console is None else console)
        console_handler.setFormatter(RelayTextFormatter(config.console_log_format, config.date_format, name))
        handlers.append(console_handler)
    if config.enable_file_log:
        directory = config.log_file_path or "."
        os.makedirs(directory, exist_ok=True)
        file_handler = RotatingFileHandler(
            os.path.join(directory, log_file_name(name)),
            maxBytes=config.max_file_size,
            backupCount=config.backup_count,
            encoding="utf-8",
            errors="backslashreplace",  # a lone surrogate must cost a character, not the record
        )
        formatter: logging.Formatter
        if config.enable_json_log:
            formatter = RelayJsonFormatter(config.date_format, name)
        else:
            formatter = RelayTextFormatter(config.log_format, config.date_format, name)
        file_handler.setFormatter(formatter)
        handlers.append(file_handler)
    return handlers


class _DroppingQueueHandler(QueueHandler):
    """Offers each record to a bounded queue without waiting; a full queue drops and counts it."""

    def __init__(self, records: queue.Queue[logging.LogRecord | None], output: LogOutput) -> None:
        super().__init__(records)
        self._records = records
        self._output = output

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A copy with the arguments merged and the traceback as text, safe to format on the writer.

        Both are done here, on the logging thread, because the arguments and the traceback's frames may
        change once the caller moves on. Formatting proper is left to the writer.
        """
        message = record.getMessage()
        prepared = copy.copy(record)
        prepared.msg, prepared.args, prepared.message = message, None, message
        if record.exc_info and not record.exc_text:
            prepared.exc_text = logging.Formatter().formatException(record.exc_info)
        prepared.exc_info = None
        return prepared

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record, or count it as dropped when the writer is that far behind."""
        try:
            self._records.put_nowait(self.prepare(record))
        except queue.Full:
            self._output._count_drop()
        except Exception:
            self.handleError(record)


class _Writer(QueueListener):
    """The writer thread: hands each queued record to every handler, until the stop sentinel."""

    def __init__(self, records: queue.Queue[logging.LogRecord | None], handlers: Sequence[logging.Handler]):
        super().__init__(records, *handlers)
        self._records = records
        self.stop_timeout = STOP_TIMEOUT

    def handle(self, record: logging.LogRecord) -> None:
        """Write ``record`` to each handler; a failing handler neither ends the thread nor skips the rest."""
        for handler in self.handlers:
            try:
                handler.handle(record)
            except Exception:
                handler.handleError(record)

    def enqueue_sentinel(self) -> None:
        """Queue the stop sentinel after every record already queued, waiting (bounded) for room.

        The base class uses ``put_nowait``, which would fail on a full bounded queue.
        """
        self._records.put(None, timeout=self.stop_timeout)


class LogOutput:
    """A running log output: queue handlers on the relay's loggers and the writer thread behind them.

    Made by :func:`start_log_output`; :meth:`stop` detaches it, lets the writer finish and closes the
    handlers. Several outputs may run at once (two relays in one process): each logger then feeds all
    of them, at the lowest of their levels, and gets its own level and propagation back from the last
    one to stop.
    """

    def __init__(
        self, handlers: Sequence[logging.Handler], level: int, loggers: Iterable[str], capacity: int
    ) -> None:
        # Bounded so a writer stuck on a full disk or a paused terminal costs records, never memory.
        self._records: queue.Queue[logging.LogRecord | None] = queue.Queue(maxsize=capacity)
        self._handlers = tuple(handlers)
        self._queue_handler = _DroppingQueueHandler(self._records, self)
        self._queue_handler.setLevel(level)
        self._writer = _Writer(self._records, self._handlers)
        self._loggers = tuple(dict.fromkeys(loggers))
        self._dropped = 0  # guarded by _drops_lock
        self._stopped = False
        self._writer.start()
        if self._writer._thread is not None:  # set by start(); named for thread dumps
            self._writer._thread.name = "summoner-relay-log-writer"
        for logger_name in self._loggers:
            _attach(logger_name, self._queue_handler)

    @property
    def dropped(self) -> int:
        """Records this output dropped because its queue was full."""
        return self._dropped

    def _count_drop(self) -> None:
        global _dropped_total  # noqa: PLW0603 - the process-wide count of dropped_records()
        with _drops_lock:
            self._dropped += 1
            _dropped_total += 1

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Detach from the loggers, write what is queued, flush and close the handlers; idempotent.

        Waits at most about ``timeout`` seconds for the writer. A writer still stuck then (a blocked
        stream) is left behind as the daemon thread it is, with its handlers open, since closing a
        handler under a thread that is writing to it would fail that write instead.
        """
        if self._stopped:
            return
        self._stopped = True
        for logger_name in self._loggers:
            _detach(logger_name, self._queue_handler)
        self._writer.stop_timeout = timeout
        try:
            self._writer.enqueue_sentinel()
        except queue.Full:
            return  # the writer did not take a single record in `timeout`: it is stuck
        thread = self._writer._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                return
        for handler in self._handlers:
            handler.flush()
            handler.close()


# Per logger: its own level and propagation from before the first output, and the outputs attached.
_attached: dict[str, tuple[int, bool, list[logging.Handler]]] = {}
_attached_lock = threading.Lock()


def _attach(logger_name: str, handler: logging.Handler) -> None:
    logger = logging.getLogger(logger_name)
    with _attached_lock:
        handlers = _attached.setdefault(logger_name, (logger.level, logger.propagate, []))[2]
        handlers.append(handler)
        logger.addHandler(handler)
        logger.setLevel(min(attached.level for attached in handlers))
        # The relay's records go where its config says, and not a second time through the root
        # logger's handlers (an application's basicConfig), unescaped and in another format.
        logger.propagate = False


def _detach(logger_name: str, handler: logging.Handler) -> None:
    logger = logging.getLogger(logger_name)
    with _attached_lock:
        level, propagate, handlers = _attached[logger_name]
        handlers.remove(handler)
        logger.removeHandler(handler)
        if handlers:
            logger.setLevel(min(attached.level for attached in handlers))
            return
        del _attached[logger_name]
        logger.setLevel(level)
        logger.propagate = propagate


def start_log_output(
    config: RelayLoggerConfig,
    name: str,
    *,
    handlers: Sequence[logging.Handler] | None = None,
    capacity: int = DEFAULT_CAPACITY,
) -> LogOutput:
    """Start writing the relay's records as ``config`` says; call :meth:`LogOutput.stop` when done.

    Records of :data:`RELAY_LOGGER` and of the logger called ``name`` (the original relay's logger) go
    through a queue of ``capacity`` records to the handlers. Unknown format placeholders get one
    WARNING here. A log file that cannot be opened is reported on standard error and the relay keeps
    its other outputs, as the native relay does: a read-only log directory must not stop a relay.

    Args:
        config: The relay's ``logger`` section.
        name: The relay's name; also a logger whose records are written.
        handlers: The handlers to write to; :func:`build_handlers` when ``None``.
        capacity: Records the queue holds before new ones are dropped.
    """
    if handlers is None:
        try:
            handlers = build_handlers(config, name)
        except OSError as exc:
            print(f"summoner relay {name}: cannot open the log file: {exc}", file=sys.stderr)
            handlers = build_handlers(config.model_copy(update={"enable_file_log": False}), name)
    loggers = [RELAY_LOGGER, name] if name else [RELAY_LOGGER]  # "" would be the root logger
    output = LogOutput(handlers, _LEVELS[config.log_level], loggers, capacity)
    formats = [config.console_log_format] if config.enable_console_log else []
    if config.enable_file_log and not config.enable_json_log:
        formats.append(config.log_format)
    unknown = sorted({key for fmt in formats for key in unknown_placeholders(fmt)})
    if unknown:
        _log.warning("log format placeholders with no value print as '-': %s", ", ".join(unknown))
    return output
