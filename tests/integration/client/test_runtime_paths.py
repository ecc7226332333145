"""Runtime paths beyond the happy one: quit and travel while backing off or connecting, registration
after binding (on the loop and from another thread, which never waits for the loop), the two harness
loops, the logger section applied whenever a configuration is, and send hooks that run once for a
published payload whose connection drops."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from summoner_client.client import ClientStatus, SummonerClient
from summoner_client.errors import HandlerSignatureError, ServerDisconnected
from summoner_client.protocol.process import Action, Direction, Event, Move
from summoner_client.protocol.triggers import load_triggers
from summoner_client.server import SummonerServer
from tests.integration.client._helpers import (
    Collector,
    FakeWriter,
    Harness,
    LogRecorder,
    RawServer,
    content_of,
    fast_config,
    hold_connection,
    relayed_payload,
)
from tests.integration.client.conftest import Certificate

Logs = Callable[[SummonerClient], LogRecorder]
Trigger = load_triggers(text="ok\n")
SLOW_RETRY = fast_config(reconnection={"retry_delay_seconds": 60})


@pytest.fixture
def dead_port() -> int:
    """A loopback port with nothing listening: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class SilentTlsServer(RawServer):
    """Accepts TCP and never answers the TLS handshake: a client stays in CONNECTING."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()

        async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.reached.set()
            await hold_connection(reader, writer)

        super().__init__(script)


def tls_config(certificate: Certificate, config: dict[str, Any]) -> dict[str, Any]:
    return {**config, "security": {"tls": True, "tls_ca_file": certificate.ca_file}}


# -- quit and travel while disconnected ------------------------------------------------------------


async def test_quit_while_backing_off_stops_at_once(dead_port: int, logs: Logs) -> None:
    client = SummonerClient("quit-backoff")
    log = logs(client)
    run = asyncio.create_task(client.run_client("127.0.0.1", dead_port, config_dict=SLOW_RETRY))
    await log.wait_for("(Primary) retry 1 of ∞; sleeping 60s")
    assert client.status is ClientStatus.BACKING_OFF
    await client.quit()
    assert client.status is ClientStatus.STOPPING
    await asyncio.wait_for(run, 5)  # far less than the 60 s delay: the sleep was cut short
    assert client.status is ClientStatus.STOPPED
    assert log.count("retry") == 1  # and no other attempt was made
    assert client.stats["connects"] == 0


async def test_travel_while_backing_off_connects_to_the_new_target_at_once(
    dead_port: int, logs: Logs
) -> None:
    client = SummonerClient("travel-backoff")
    log = logs(client)
    async with RawServer(hold_connection) as target:
        run = asyncio.create_task(client.run_client("127.0.0.1", dead_port, config_dict=SLOW_RETRY))
        await log.wait_for("retry 1 of ∞; sleeping 60s")
        await client.travel_to("127.0.0.1", target.port)
        await log.wait_for(f"Connected to server @(host=127.0.0.1, port={target.port})")
        assert client.status is ClientStatus.CONNECTED
        assert (client.host, client.port) == ("127.0.0.1", target.port)
        assert log.count("retry") == 1
        await client.quit()
        await asyncio.wait_for(run, 5)
    assert target.accepted == 1


async def test_quit_while_connecting_stops_without_another_attempt(
    certificate: Certificate, logs: Logs
) -> None:
    client = SummonerClient("quit-connecting")
    log = logs(client)
    async with SilentTlsServer() as server:
        run = asyncio.create_task(
            client.run_client("127.0.0.1", server.port, config_dict=tls_config(certificate, SLOW_RETRY))
        )
        await asyncio.wait_for(server.reached.wait(), 5)
        assert client.status is ClientStatus.CONNECTING  # TCP is up, the TLS handshake never ends
        await client.quit()
        await asyncio.wait_for(run, 5)
    assert client.status is ClientStatus.STOPPED
    assert server.accepted == 1
    assert client.stats["connects"] == 0
    assert log.count("Connected to server") == 0
    assert log.count("retry") == 0


async def test_travel_while_connecting_goes_to_the_new_relay(certificate: Certificate, logs: Logs) -> None:
    relay = SummonerServer("tls-relay").start(
        host="127.0.0.1",
        port=0,
        config_dict={
            "security": {"tls_cert_file": certificate.cert_file, "tls_key_file": certificate.key_file}
        },
    )
    client = SummonerClient("travel-connecting")
    log = logs(client)
    try:
        async with SilentTlsServer() as server:
            run = asyncio.create_task(
                client.run_client("127.0.0.1", server.port, config_dict=tls_config(certificate, SLOW_RETRY))
            )
            await asyncio.wait_for(server.reached.wait(), 5)
            await client.travel_to(relay.host, relay.port)
            await log.wait_for(f"Connected to server @(host={relay.host}, port={relay.port})")
            assert client.status is ClientStatus.CONNECTED
            assert log.count("retry") == 0  # the abandoned handshake was not a failed attempt
            await client.quit()
            await asyncio.wait_for(run, 5)
    finally:
        relay.stop()
    assert client.stats["connects"] == 1


# -- registration after binding ------------------------------------------------------------------


async def test_registration_after_binding_on_the_loop_and_from_another_thread() -> None:
    lines: asyncio.Queue[bytes] = asyncio.Queue()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(await lines.get())
            await writer.drain()

    client = SummonerClient("late")
    seen = Collector()

    def receiver(name: str) -> Callable[[Any], Any]:
        async def record(msg: Any) -> None:
            seen.add((name, msg["content"]))

        return record

    client.add_receive(receiver("first"), "first")
    async with RawServer(script) as server:
        await client.start("127.0.0.1", server.port, config_dict=fast_config(), timeout=5)
        client.add_receive(receiver("loop"), "loop")  # on the loop's thread: bound at once
        assert "loop" in client.receiver_index
        scheduled = asyncio.Event()

        async def on_loop_extension() -> None:
            client.add_receive(receiver("loop-ext"), "loop-ext")
            scheduled.set()

        client._schedule_registration(on_loop_extension())
        await asyncio.wait_for(scheduled.wait(), 5)

        order: list[tuple[bool, bool]] = []
        applied = asyncio.Event()

        async def thread_extension() -> None:
            # Runs on the loop between the thread's two registrations, in the order they were made.
            order.append(("thread-1" in client.receiver_index, "thread-2" in client.receiver_index))
            await asyncio.sleep(0)
            client.add_receive(receiver("thread-ext"), "thread-ext")
            applied.set()

        errors: list[BaseException] = []

        def register() -> None:
            client.add_receive(receiver("thread-1"), "thread-1")
            client._schedule_registration(thread_extension())
            client.add_receive(receiver("thread-2"), "thread-2")
            try:
                client.add_receive(lambda msg: None, "sync")  # misuse still raises in the caller
            except HandlerSignatureError as exc:
                errors.append(exc)

        thread = threading.Thread(target=register)
        thread.start()
        thread.join(5)  # blocks the loop's thread: the registrations must not wait for the loop
        assert not thread.is_alive()
        assert len(errors) == 1
        assert "thread-1" not in client.receiver_index  # queued for the loop, not applied from the thread
        await asyncio.wait_for(applied.wait(), 5)
        assert order == [(True, False)]
        assert {"thread-1", "thread-2", "thread-ext", "sync"} & set(client.receiver_index) == {
            "thread-1",
            "thread-2",
            "thread-ext",
        }
        lines.put_nowait(relayed_payload("hello"))
        got = await seen.wait(6)
        assert sorted(name for name, _ in got) == sorted(
            ["first", "loop", "loop-ext", "thread-1", "thread-2", "thread-ext"]
        )
        await asyncio.wait_for(client.stop(), 5)


# -- the harness loops ---------------------------------------------------------------------------


def harness_agent(name: str) -> SummonerClient:
    agent = SummonerClient(name)
    agent.flow().activate().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")

    @agent.hook(Direction.RECEIVE)
    async def unwrap_numbers(msg: Any) -> Any:
        return msg if isinstance(msg["content"], int) else None

    @agent.upload_states()
    async def upload(msg: Any) -> str:
        return "A"

    @agent.receive("A --> B")
    async def step(msg: Any) -> Event:
        return Move(Trigger.ok, data=msg["content"])

    @agent.send("A --> B", on_actions={Action.MOVE}, use_data=True)
    async def echo(data: Any) -> dict[str, Any]:
        return {"echo": data}

    return agent


async def test_harness_loops_run_a_session_on_an_in_memory_reader_and_a_fake_writer(logs: Logs) -> None:
    client = harness_agent("harness")
    log = logs(client)
    reader = asyncio.StreamReader()
    writer = FakeWriter()
    harness = Harness(client, reader, writer)
    reader.feed_data(relayed_payload(1) + relayed_payload("dropped by the hook") + relayed_payload(2))
    lines = await writer.lines.wait(2)
    assert sorted(content_of(line)["echo"] for line in lines) == [1, 2]  # bridged across the halves
    client.publish_nowait("published")
    lines = await writer.lines.wait(3)
    assert content_of(lines[2]) == "published"
    assert client.stats["messages_dropped_by_hooks"] == 1
    reader.feed_eof()
    receiver_outcome, sender_outcome = await harness.close()
    assert isinstance(receiver_outcome, ServerDisconnected)  # EOF ends the receiver half (spec §5.1)
    assert sender_outcome is None
    assert log.count("Graceful disconnect from server: EOF during read") == 1
    assert writer.closed


async def test_harness_loops_stop_gracefully_on_the_stop_event(logs: Logs) -> None:
    client = harness_agent("harness-stop")
    log = logs(client)
    reader = asyncio.StreamReader()
    writer = FakeWriter()
    harness = Harness(client, reader, writer)
    reader.feed_data(relayed_payload(7))
    await writer.lines.wait(1)
    assert await harness.close() == [None, None]  # a pending read is interrupted at once
    assert log.count("Client about to disconnect...") == 2  # once per half


# -- configuration -------------------------------------------------------------------------------


def close_handlers(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if not getattr(handler, "_keep", False):
            logger.removeHandler(handler)
            handler.close()


async def test_start_applies_the_logger_section_first(tmp_path: Path) -> None:
    client = SummonerClient("logger-first")
    config = fast_config(sender={"concurrency_limit": 4, "queue_maxsize": 2})  # a warning while loading
    config["logger"] = {
        "log_level": "INFO",
        "enable_console_log": False,
        "enable_file_log": True,
        "log_file_path": str(tmp_path),
    }
    try:
        async with RawServer(hold_connection) as server:
            await client.start("127.0.0.1", server.port, config_dict=config, timeout=5)
            await asyncio.wait_for(client.stop(), 5)
        assert client.logger.level == logging.INFO
        text = (tmp_path / "logger-first.log").read_text()
        assert "queue_maxsize < concurrency_limit" in text  # went through the configured handler
        assert "Connected to server" in text
    finally:
        close_handlers(client.logger)


async def test_run_client_applies_the_logger_section_of_a_config_file(tmp_path: Path) -> None:
    client = SummonerClient("logger-file")
    path = tmp_path / "client.json"
    config = fast_config()
    config["logger"] = {"log_level": "WARNING", "enable_console_log": False}
    path.write_text(json.dumps(config))
    client.logger.setLevel(logging.DEBUG)
    async with RawServer(hold_connection) as server:
        await client.start("127.0.0.1", server.port, config_path=str(path), timeout=5)
        assert client.logger.level == logging.WARNING
        assert client.logger.handlers == []
        await asyncio.wait_for(client.stop(), 5)
        # A later run with a configuration that has no logger section applies the defaults.
        await client.start("127.0.0.1", server.port, config_dict=fast_config(), timeout=5)
        assert client.logger.level == logging.DEBUG
        await asyncio.wait_for(client.stop(), 5)
    close_handlers(client.logger)


# -- send hooks of a published payload run once ------------------------------------------------------


async def test_send_hooks_run_once_for_a_payload_whose_connection_drops(logs: Logs) -> None:
    hooked = Collector()
    delivered = Collector()
    gate = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if server.accepted == 1:
            await hooked.wait(1)  # the publisher is inside the hook: drop the connection now
            return
        while line := await reader.readline():
            delivered.add(orjson.loads(line)["_payload"])

    server = RawServer(script)
    client = SummonerClient("hooks-once")
    log = logs(client)

    @client.hook(Direction.SEND)
    async def slow(payload: Any) -> Any:
        hooked.add(payload)
        await gate.wait()
        return {"hooked": payload}

    async with server:
        await client.start("127.0.0.1", server.port, config_dict=fast_config(), timeout=5)
        client.publish_nowait("once")
        await log.wait_for("Connection lost: ending the session without a flush")
        gate.set()  # the session has stopped its producers: the hook finishes now
        assert await delivered.wait(1) == [{"hooked": "once"}]  # written after the reconnect
        await asyncio.wait_for(client.stop(), 5)
    assert hooked.items == ["once"]  # the hook ran once
    assert client.stats["connects"] == 2
