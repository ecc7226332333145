"""The Python relay's log output: what the ``logger`` section asks for (relay spec §3.4, §4.13).

Most tests start a :class:`LogOutput` directly, with the console on a ``StringIO`` or the file in
``tmp_path``, log through the relay's logger, and read the output after ``stop()``, which returns
only once the writer thread has written everything queued. The last ones run a relay through the
launcher, as an operator does, and read its log file and its ``/metrics``.

Nothing sleeps to synchronise: the writer is held inside a handler on a ``threading.Event``, and
every wait on an event, a thread or a socket has its own bound.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from summoner_client.config.loading import parse_relay_config
from summoner_client.config.logger import RelayLoggerConfig
from summoner_client.server.python_relay import PythonRelay
from summoner_client.server.python_relay.log_output import (
    RELAY_LOGGER,
    TRACE,
    LogOutput,
    build_handlers,
    dropped_records,
    start_log_output,
)
from summoner_client.testing.relays import start_relay, stop_relay

WAIT = 5.0  # seconds any single wait may take before the test fails
LOG = logging.getLogger(f"{RELAY_LOGGER}.test_logging")
DEFAULT_ASCTIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")


@pytest.fixture
def outputs() -> Iterator[list[LogOutput]]:
    """Outputs a test started; stopped at teardown even when the test failed half-way."""
    started: list[LogOutput] = []
    yield started
    for output in started:
        output.stop(timeout=WAIT)


def config(**keys: Any) -> RelayLoggerConfig:
    return RelayLoggerConfig.model_validate(keys)


def start_console(outputs: list[LogOutput], name: str = "relay", **keys: Any) -> io.StringIO:
    """Start an output whose console is a ``StringIO``; read it after stopping the output."""
    console = io.StringIO()
    section = config(**keys)
    outputs.append(start_log_output(section, name, handlers=build_handlers(section, name, console=console)))
    return console


def console_lines(outputs: list[LogOutput], console: io.StringIO) -> list[str]:
    for output in outputs:
        output.stop(timeout=WAIT)
    return console.getvalue().splitlines()


# -- text format -----------------------------------------------------------------------------------


def test_text_format_keeps_widths_and_prints_unknown_placeholders_as_a_dash(
    outputs: list[LogOutput],
) -> None:
    console = start_console(
        outputs, console_log_format="%(levelname)-8s|%(name)6s|%(process)d|%(thread)5s|%(message)s|50%"
    )
    LOG.info("conn %d open", 7)
    LOG.warning("slow")
    assert console_lines(outputs, console) == [
        "WARNING | relay|-|    -|log format placeholders with no value print as '-': process, thread|50%",
        "INFO    | relay|-|    -|conn 7 open|50%",
        "WARNING | relay|-|    -|slow|50%",
    ]


@pytest.mark.parametrize(
    ("date_format", "pattern"),
    [
        (None, DEFAULT_ASCTIME),
        ("%H:%M:%S.%f", re.compile(r"^\d\d:\d\d:\d\d\.\d{3}$")),
        ("%H:%M:%S.%2f", re.compile(r"^\d\d:\d\d:\d\d\.\d{2}$")),
        ("%S.%6f", re.compile(r"^\d\d\.\d{6}$")),
    ],
)
def test_asctime_follows_the_date_format_rules(
    outputs: list[LogOutput], date_format: str | None, pattern: re.Pattern[str]
) -> None:
    console = start_console(outputs, console_log_format="%(asctime)s", date_format=date_format)
    LOG.info("tick")
    [line] = console_lines(outputs, console)
    assert pattern.match(line), line


# -- level names -------------------------------------------------------------------------------------


def test_level_names_are_pythons_whatever_the_process_renamed(outputs: list[LogOutput]) -> None:
    console = start_console(outputs, log_level="warn", console_log_format="%(levelname)s %(message)s")
    logging.addLevelName(logging.WARNING, "WARN")  # as some applications do; the relay must not follow
    try:
        LOG.info("filtered out")
        LOG.warning("w")
        LOG.error("e")
        LOG.critical("c")
    finally:
        logging.addLevelName(logging.WARNING, "WARNING")
    assert console_lines(outputs, console) == ["WARNING w", "ERROR e", "CRITICAL c"]


def test_trace_is_below_debug_and_off_logs_nothing(outputs: list[LogOutput]) -> None:
    traced = start_console(outputs, log_level="TRACE", console_log_format="%(levelname)s %(message)s")
    LOG.log(TRACE, "t")
    LOG.debug("d")
    assert console_lines(outputs, traced) == ["TRACE t", "DEBUG d"]
    outputs.clear()
    silent = start_console(outputs, log_level="OFF")
    LOG.critical("not even this")
    assert console_lines(outputs, silent) == []


# -- control characters ----------------------------------------------------------------------------


FORGERY = "evil\n2026-01-01 00:00:00.000 - relay - INFO - forged\r\t\x1b[2J\x00\x7f\x85"
ESCAPED = r"evil\n2026-01-01 00:00:00.000 - relay - INFO - forged\r\t\u{1b}[2J\u{0}\u{7f}\u{85}"


def test_control_characters_are_escaped_in_text(outputs: list[LogOutput]) -> None:
    console = start_console(outputs, console_log_format="%(levelname)s %(message)s")
    LOG.warning("peer said %s", FORGERY)
    assert console_lines(outputs, console) == [f"WARNING peer said {ESCAPED}"]


def test_a_traceback_stays_on_the_records_line(outputs: list[LogOutput]) -> None:
    console = start_console(outputs, console_log_format="%(levelname)s %(message)s")
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        LOG.exception("failed")
    [line] = console_lines(outputs, console)
    assert line.startswith(r"ERROR failed\nTraceback (most recent call last):\n")
    assert line.endswith(r"ValueError: bad\nvalue")


# -- the file: JSON lines and rotation -------------------------------------------------------------


def test_json_lines_file_has_the_four_keys_and_the_structured_fields(
    outputs: list[LogOutput], tmp_path: Path
) -> None:
    section = config(
        enable_console_log=False, enable_file_log=True, enable_json_log=True, log_file_path=str(tmp_path)
    )
    outputs.append(start_log_output(section, "relay.main"))
    LOG.info(
        "conn %d peer %s: connection open", 3, "127.0.0.1:5000", extra={"conn": 3, "peer": "127.0.0.1:5000"}
    )
    LOG.warning("peer said %s", FORGERY, extra={"reason": "too\nlong"})
    try:
        raise RuntimeError("inside")
    except RuntimeError:
        LOG.exception("internal failure")
    outputs[0].stop(timeout=WAIT)

    records = [json.loads(line) for line in (tmp_path / "relay_main.log").read_text("utf-8").splitlines()]
    assert [list(record)[:4] for record in records] == [["timestamp", "name", "level", "message"]] * 3
    opened, warned, failed = records
    assert DEFAULT_ASCTIME.match(opened["timestamp"])
    assert {key: opened[key] for key in ("name", "level", "conn", "peer")} == {
        "name": "relay.main",
        "level": "INFO",
        "conn": 3,
        "peer": "127.0.0.1:5000",
    }
    assert opened["message"] == "conn 3 peer 127.0.0.1:5000: connection open"
    assert (warned["level"], warned["message"], warned["reason"]) == (
        "WARNING",
        f"peer said {ESCAPED}",
        r"too\nlong",
    )
    assert (failed["level"], failed["message"]) == ("ERROR", "internal failure")
    assert failed["exception"].endswith("RuntimeError: inside")


def test_the_file_rotates_by_size_and_keeps_backup_count_files(
    outputs: list[LogOutput], tmp_path: Path
) -> None:
    section = config(
        enable_console_log=False,
        enable_file_log=True,
        log_file_path=str(tmp_path / "logs"),  # created if missing
        log_format="%(message)s",
        max_file_size=200,
        backup_count=2,
    )
    outputs.append(start_log_output(section, "relay"))
    lines = [f"record {number:03d} " + "x" * 28 for number in range(40)]  # 40 bytes with the newline
    for line in lines:
        LOG.info("%s", line)
    outputs[0].stop(timeout=WAIT)

    base = tmp_path / "logs" / "relay.log"
    files = [base, base.with_name("relay.log.1"), base.with_name("relay.log.2")]
    assert all(path.is_file() for path in files)
    assert not base.with_name("relay.log.3").exists()
    assert all(path.stat().st_size <= 200 for path in files)
    kept = [line for path in reversed(files) for line in path.read_text("utf-8").splitlines()]
    assert kept == lines[-len(kept) :]  # the newest records, in order, none lost between files
    assert len(kept) > 200 // 40


def test_a_log_file_that_cannot_be_opened_leaves_the_console(
    outputs: list[LogOutput], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_a_directory = tmp_path / "taken"
    not_a_directory.write_text("")
    section = config(
        enable_file_log=True, log_file_path=str(not_a_directory), console_log_format="%(message)s"
    )
    outputs.append(start_log_output(section, "relay"))
    LOG.warning("still logging")
    outputs[0].stop(timeout=WAIT)
    err = capsys.readouterr().err
    assert "cannot open the log file" in err
    assert "still logging" in err.splitlines()


# -- never blocking ----------------------------------------------------------------------------------


class HeldHandler(logging.Handler):
    """A handler that holds the writer thread in ``emit`` until released: a sink that cannot keep up."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.released = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entered.set()
        self.released.wait(WAIT)
        self.messages.append(record.getMessage())


def test_a_full_queue_drops_and_counts_instead_of_waiting(outputs: list[LogOutput]) -> None:
    held = HeldHandler()
    output = start_log_output(config(), "relay", handlers=[held], capacity=1)
    outputs.append(output)
    before = dropped_records()
    LOG.info("r0")
    assert held.entered.wait(WAIT), "the writer never took the first record"
    # The writer is now inside emit(r0): r1 fills the one slot, and r2 ... r9 find the queue full.
    for number in range(1, 10):
        LOG.info("r%d", number)
    assert output.dropped == 8
    assert dropped_records() == before + 8
    stats = PythonRelay(parse_relay_config({"port": 0}).config).stats()
    assert stats["log_records_dropped_total"] == dropped_records()

    held.released.set()
    output.stop(timeout=WAIT)
    assert held.messages == ["r0", "r1"]


def test_stop_is_bounded_when_the_writer_is_stuck(outputs: list[LogOutput]) -> None:
    held = HeldHandler()
    output = start_log_output(config(), "relay", handlers=[held], capacity=1)
    outputs.append(output)
    try:
        LOG.info("r0")
        assert held.entered.wait(WAIT)
        LOG.info("r1")  # the queue is full: stop() cannot even queue its sentinel
        stopping = threading.Thread(target=output.stop, kwargs={"timeout": 0.1})
        stopping.start()
        stopping.join(WAIT)
        assert not stopping.is_alive(), "stop() waited on a stuck writer"
        assert logging.getLogger(RELAY_LOGGER).handlers == []  # detached all the same
    finally:
        held.released.set()


# -- the logger tree -------------------------------------------------------------------------------


def test_outputs_stack_and_the_loggers_get_their_settings_back(outputs: list[LogOutput]) -> None:
    relay_logger = logging.getLogger(RELAY_LOGGER)
    level, propagate, handlers = relay_logger.level, relay_logger.propagate, list(relay_logger.handlers)
    info = start_console(outputs, console_log_format="%(message)s")
    debug = start_console(outputs, log_level="DEBUG", console_log_format="%(message)s")
    assert relay_logger.getEffectiveLevel() == logging.DEBUG
    assert relay_logger.propagate is False  # not a second time through the application's root handlers
    LOG.debug("detail")
    LOG.info("both")
    first, second = outputs
    first.stop(timeout=WAIT)
    assert relay_logger.getEffectiveLevel() == logging.DEBUG
    second.stop(timeout=WAIT)
    assert info.getvalue().splitlines() == ["both"]
    assert debug.getvalue().splitlines() == ["detail", "both"]
    assert (relay_logger.level, relay_logger.propagate, relay_logger.handlers) == (level, propagate, handlers)


# -- through the launcher ----------------------------------------------------------------------------


async def test_the_launched_relay_writes_its_log_file_from_startup_to_shutdown(tmp_path: Path) -> None:
    logger = {
        "enable_console_log": False,
        "enable_file_log": True,
        "log_file_path": str(tmp_path),
        "log_format": "%(name)s %(levelname)s %(message)s",
    }
    relay = await asyncio.to_thread(start_relay, "python", {"logger": logger}, name="relay.it")
    await asyncio.to_thread(stop_relay, relay)
    lines = (tmp_path / "relay_it.log").read_text("utf-8").splitlines()
    assert lines[0].startswith(
        f"relay.it INFO relay relay.it (python backend) listening on 127.0.0.1:{relay.port}"
    )
    assert lines[-1] == "relay.it INFO relay relay.it stopped"
    assert logging.getLogger(RELAY_LOGGER).handlers == []


async def test_metrics_exports_the_dropped_log_records() -> None:
    relay = await asyncio.to_thread(
        start_relay, "python", {"metrics": {"port": 0}, "logger": {"enable_console_log": False}}
    )
    try:
        address = relay.metrics_address
        assert address is not None
        before = dropped_records()
        async with asyncio.timeout(WAIT):
            reader, writer = await asyncio.open_connection(*address)
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: relay\r\n\r\n")
            response = await reader.read()  # the endpoint closes after each answer
            writer.close()
            await writer.wait_closed()
        after = dropped_records()
    finally:
        await asyncio.to_thread(stop_relay, relay)
    head, _, body = response.decode().partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 ")
    lines = body.splitlines()
    assert "# TYPE summoner_relay_log_records_dropped_total counter" in lines
    [sample] = [line for line in lines if line.startswith("summoner_relay_log_records_dropped_total ")]
    assert before <= int(sample.rpartition(" ")[2]) <= after
