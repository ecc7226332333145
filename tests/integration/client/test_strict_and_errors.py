"""Strict mode (spec §12.7) and the worker-error rule (§5.11), through whole runs against a local server.

Strict: the first user exception ends the run and ``run_client()`` (and ``stop()``) re-raise it; an
unparseable route and a replacement raise at binding, or at registration once bound, including a
registration made from another thread. Worker errors: ``"stop"`` ends the client without reconnecting,
``"disable_sender"`` switches off only the failing sender.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from summoner_client.client import ClientStatus, SummonerClient
from summoner_client.errors import FlowSyntaxError, RegistrationError
from tests.integration.client._helpers import (
    Collector,
    LogRecorder,
    RawServer,
    fast_config,
    hold_connection,
    relayed_payload,
)

Logs = Callable[[SummonerClient], LogRecorder]
STRICT = fast_config(lifecycle={"strict": True})


async def send_one_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(relayed_payload("boom"))
    await writer.drain()
    await hold_connection(reader, writer)


# -- strict mode ---------------------------------------------------------------------------------


async def test_a_receiver_error_in_strict_mode_ends_run_client_with_that_exception() -> None:
    client = SummonerClient("strict-rx")

    @client.receive("any")
    async def fails(msg: Any) -> None:
        raise ValueError(f"receiver failure on {msg['content']}")

    async with RawServer(send_one_line) as server:
        with pytest.raises(ValueError, match="receiver failure on boom"):
            await asyncio.wait_for(client.run_client("127.0.0.1", server.port, config_dict=STRICT), 10)
        assert server.accepted == 1  # no reconnection
    assert client.status is ClientStatus.STOPPED
    assert client.stats["receiver_errors"] == 1
    assert client._fatal is None  # raised once, then forgotten


async def test_stop_raises_the_strict_error_once() -> None:
    client = SummonerClient("strict-stop")

    @client.receive("any")
    async def fails(msg: Any) -> None:
        raise KeyError("strict")

    async with RawServer(send_one_line) as server:
        await client.start("127.0.0.1", server.port, config_dict=STRICT, timeout=5)
        await asyncio.wait_for(client.wait_stopped(), 10)
        with pytest.raises(KeyError, match="strict"):
            await asyncio.wait_for(client.stop(), 5)
        await asyncio.wait_for(client.stop(), 5)  # reported once: the second stop is quiet


async def test_an_unparseable_route_raises_at_binding_in_strict_mode() -> None:
    client = SummonerClient("strict-route")
    client.flow().activate().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")

    @client.receive("A --[ x --> B")
    async def never(msg: Any) -> None:
        return None

    async with RawServer(hold_connection) as server:
        with pytest.raises(FlowSyntaxError, match="Invalid token"):
            await asyncio.wait_for(client.run_client("127.0.0.1", server.port, config_dict=STRICT), 10)
        assert server.accepted == 0  # raised before anything connected
    assert client.status is ClientStatus.STOPPED


async def test_a_replacement_pending_at_binding_raises_in_strict_mode() -> None:
    client = SummonerClient("strict-pending")

    @client.receive("same")
    async def first(msg: Any) -> None:
        return None

    @client.receive("same")  # before the run, strict mode is not known yet: binding raises
    async def second(msg: Any) -> None:
        return None

    async with RawServer(hold_connection) as server:
        with pytest.raises(RegistrationError, match="Route 'same' already exists"):
            await asyncio.wait_for(client.run_client("127.0.0.1", server.port, config_dict=STRICT), 10)
        assert server.accepted == 0


async def test_a_replacement_during_a_strict_run_raises_registration_error(logs: Logs) -> None:
    client = SummonerClient("strict-replace")
    log = logs(client)

    @client.receive("same")
    async def first(msg: Any) -> None:
        return None

    async def other(msg: Any) -> None:
        return None

    async with RawServer(hold_connection) as server:
        await client.start("127.0.0.1", server.port, config_dict=STRICT, timeout=5)
        with pytest.raises(RegistrationError):
            client.add_receive(other, "same")  # on the loop's thread: raised to the caller
        assert client.status is ClientStatus.CONNECTED
        # From another thread the change is applied on the loop, after the call returned: the
        # error ends the strict run instead, and stop() raises it.
        thread = threading.Thread(target=client.add_receive, args=(other, "same"))
        thread.start()
        await asyncio.to_thread(thread.join, 5)
        await asyncio.wait_for(client.wait_stopped(), 10)
        with pytest.raises(RegistrationError, match="Route 'same' already exists"):
            await asyncio.wait_for(client.stop(), 5)
    assert log.count("Registration failed on the client loop") == 1
    assert client.receiver_index["same"].fn is first


# -- the worker-error rule -------------------------------------------------------------------------


async def test_worker_errors_stop_the_client_without_reconnecting(logs: Logs) -> None:
    client = SummonerClient("worker-stop")
    log = logs(client)

    @client.send("bad")
    async def failing() -> str:
        raise RuntimeError("stdin closed")

    config = fast_config(sender={"max_worker_errors": 2})
    async with RawServer(hold_connection) as server:
        await asyncio.wait_for(client.run_client("127.0.0.1", server.port, config_dict=config), 10)
        assert server.accepted == 1  # returned without reconnecting
    errors = log.messages(logging.ERROR)
    assert errors == [
        "Worker for failing crashed (1 in a row): stdin closed",
        "Worker for failing crashed (2 in a row): stdin closed",
    ]
    assert log.messages(logging.CRITICAL) == ["2 consecutive worker failures; shutting down sender loop"]
    assert client.status is ClientStatus.STOPPED
    assert client.stats["sender_errors"] == 2


async def test_disable_sender_switches_off_only_the_failing_sender(logs: Logs) -> None:
    client = SummonerClient("worker-disable")
    log = logs(client)
    bad_calls = 0
    good = Collector()

    @client.send("bad")
    async def failing() -> str:
        nonlocal bad_calls
        bad_calls += 1
        raise RuntimeError("always")

    @client.send("good")
    async def healthy() -> None:
        good.add(1)

    config = fast_config(sender={"max_worker_errors": 2, "on_max_worker_errors": "disable_sender"})
    async with RawServer(hold_connection) as server:
        await client.start("127.0.0.1", server.port, config_dict=config, timeout=5)
        await log.wait_for("consecutive worker failures")
        seen = len(good.items)
        await good.wait(seen + 5)  # the healthy sender goes on
        assert bad_calls == 2
        assert client.status is ClientStatus.CONNECTED
        await asyncio.wait_for(client.stop(), 5)
        assert server.accepted == 1
    assert log.messages(logging.CRITICAL) == [
        "2 consecutive worker failures; disabling sender 'failing' on route 'bad'"
    ]
