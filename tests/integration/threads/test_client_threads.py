"""Clients on threads of their own against one native relay: exchange, stop, handles, errors, signals.

Every wait is bounded and waits on something (a ``threading.Event``, a handle, a thread join). The one
poll is the relay's member count, through the shipped ``wait_for_members``: a relay admits a
connection after the client's ``connect()`` returned and sends no byte to say so, and a line sent
before a recipient is a member rightly never reaches it (relay spec §2.5).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any

import pytest

from summoner_client import AsyncSlot
from summoner_client.client import SummonerClient
from summoner_client.errors import (
    ClientNotRunning,
    ConfigError,
    HandleCancelled,
    HandleTimeout,
    WouldBlockLoop,
)
from summoner_client.server import RunningRelay, SummonerServer
from summoner_client.testing.relays import wait_for_members
from summoner_client.threads import ClientThread, run_client_threads, stop_all

WAIT = 10.0
FAST: dict[str, Any] = {
    "hyper_parameters": {
        "reconnection": {"retry_delay_seconds": 0.05, "primary_retry_limit": None},
        "lifecycle": {"shutdown_timeout_secs": 2},
    }
}
BAD_CONFIG: dict[str, Any] = {"hyper_parameters": {"reconnection": {"retry_delay_seconds": "soon"}}}


@pytest.fixture
def relay() -> Iterator[RunningRelay]:
    running = SummonerServer("t").start(host="127.0.0.1", port=0)
    try:
        yield running
    finally:
        running.stop(WAIT)


class Inbox:
    """Who a client heard from, filled on the client's loop thread and read from the test thread."""

    def __init__(self, expected: int) -> None:
        self.senders: set[int] = set()
        self.complete = threading.Event()
        self._expected = expected
        self._lock = threading.Lock()

    def add(self, sender: int) -> None:
        with self._lock:
            self.senders.add(sender)
            if len(self.senders) >= self._expected:
                self.complete.set()


def chatty_client(index: int, inbox: Inbox) -> SummonerClient:
    client = SummonerClient(f"agent-{index}")

    @client.receive("chat")
    async def on_message(msg: Any) -> None:
        inbox.add(msg["content"]["from"])

    return client


def live_threads(prefix: str) -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith(prefix)]


async def value(result: Any) -> Any:
    return result


def members(relay: RunningRelay, count: int) -> None:
    asyncio.run(wait_for_members(relay, count, timeout=WAIT))


def test_fifty_clients_in_fifty_threads_exchange_messages_and_stop_together(relay: RunningRelay) -> None:
    count = 50
    inboxes = [Inbox(count - 1) for _ in range(count)]
    clients = [chatty_client(index, inboxes[index]) for index in range(count)]
    threads = [
        ClientThread(c, relay.host, relay.port, config_dict=FAST, name=f"fifty-{c.name}") for c in clients
    ]
    sigint_before = signal.getsignal(signal.SIGINT)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            assert thread.wait_started(WAIT), thread.thread_error
        members(relay, count)
        handles = []
        for index, thread in enumerate(threads):
            payload = {"from": index}
            if index % 2:  # from this thread, through the client's thread-safe publish
                thread.publish(payload, timeout=WAIT)
            else:  # on the client's loop, through a handle
                handles.append(thread.submit(partial(clients[index].publish, payload)))
        for handle in handles:
            assert handle.result(WAIT) is None
        deadline = time.monotonic() + WAIT
        for index, inbox in enumerate(inboxes):
            assert inbox.complete.wait(max(0.0, deadline - time.monotonic())), (index, len(inbox.senders))
            assert inbox.senders == set(range(count)) - {index}
    finally:
        assert stop_all(threads, timeout=20)
    assert all(thread.exited.is_set() and thread.thread_error is None for thread in threads)
    assert live_threads("fifty-") == []
    assert signal.getsignal(signal.SIGINT) is sigint_before  # no client thread touched the signals


def test_stop_cancels_calls_still_running_or_queued(relay: RunningRelay) -> None:
    client = SummonerClient("busy")
    thread = ClientThread(client, relay.host, relay.port, config_dict=FAST).start()
    assert thread.wait_started(WAIT)

    entered = threading.Semaphore(0)

    async def forever() -> None:
        entered.release()
        await asyncio.Event().wait()

    running = [thread.submit(forever) for _ in range(3)]
    for _ in running:
        assert entered.acquire(timeout=WAIT)

    release, blocked = threading.Event(), threading.Event()

    async def block_the_loop() -> None:
        blocked.set()
        release.wait(WAIT)  # deliberately blocks the client thread, so the next calls stay queued

    calls = 0

    def counting() -> Awaitable[Any]:
        nonlocal calls
        calls += 1
        return value(None)

    blocker = thread.submit(block_the_loop)
    assert blocked.wait(WAIT)
    queued = [thread.submit(counting) for _ in range(3)]
    thread.request_stop()
    release.set()
    assert thread.stop(WAIT)
    assert blocker.result(0) is None
    for handle in running + queued:
        assert handle.cancelled()
        with pytest.raises(HandleCancelled):
            handle.result(0)
    with pytest.raises(concurrent.futures.CancelledError):  # HandleCancelled is also the stdlib error
        queued[0].result(0)
    late = thread.submit(counting)
    assert late.cancelled()
    assert calls == 0  # no queued factory ran, so no coroutine was created to be dropped
    assert thread.thread_error is None


def test_blocking_waits_on_the_client_loop_thread_raise_instead_of_deadlocking(relay: RunningRelay) -> None:
    client = SummonerClient("self-waiter")
    with ClientThread(client, relay.host, relay.port, config_dict=FAST) as thread:
        assert thread.wait_started(WAIT)

        async def block_on_own_loop() -> list[str]:
            other = thread.submit(partial(value, "other"))
            blocking: list[Callable[[], object]] = [
                lambda: other.result(1),
                lambda: thread.stop(1),
                lambda: thread.wait_started(1),
                lambda: thread.publish({"x": 1}),
                lambda: stop_all([thread], 1),
            ]
            refused = []
            for call in blocking:
                try:
                    call()
                except WouldBlockLoop as exc:  # a RuntimeError; any other error fails the handle
                    refused.append(exc.call)
            refused.append(await other)  # awaiting a handle on the same loop is the way that works
            return refused

        assert thread.submit(block_on_own_loop).result(WAIT) == [
            "Handle.result()",
            "ClientThread.stop()",
            "ClientThread.wait_started()",
            "ClientThread.publish()",
            "stop_all()",
            "other",
        ]
    assert issubclass(WouldBlockLoop, RuntimeError)
    assert thread.exited.is_set()
    assert thread.thread_error is None


def test_result_timeout_is_a_timeout_error_and_the_call_keeps_running(relay: RunningRelay) -> None:
    gate: concurrent.futures.Future[str] = concurrent.futures.Future()

    async def gated() -> str:
        return await asyncio.wrap_future(gate)

    async def times_out_itself() -> None:
        raise TimeoutError("the coroutine's own timeout")

    with ClientThread(SummonerClient("slow"), relay.host, relay.port, config_dict=FAST) as thread:
        handle = thread.submit(gated)
        with pytest.raises(HandleTimeout) as raised:
            handle.result(0.05)
        assert isinstance(raised.value, TimeoutError)
        assert raised.value.timeout == 0.05
        assert not handle.done()
        gate.set_result("late but fine")
        assert handle.result(WAIT) == "late but fine"
        own = thread.submit(times_out_itself)
        with pytest.raises(TimeoutError, match="the coroutine's own timeout") as raised_own:
            own.result(WAIT)
        assert not isinstance(raised_own.value, HandleTimeout)
        cancelled = thread.submit(gated)  # the gate is resolved, but cancel() may still win the race
        cancelled.cancel()
        assert cancelled.done()


def test_thread_error_reports_a_configuration_failure(caplog: pytest.LogCaptureFixture) -> None:
    # No relay needed: the configuration is rejected before any connection is attempted.
    thread = ClientThread(SummonerClient("misconfigured"), "127.0.0.1", 9, config_dict=BAD_CONFIG)
    with caplog.at_level(logging.ERROR, logger="summoner_client.threads.client_thread"):
        thread.start()
        with pytest.raises(ConfigError, match="retry_delay_seconds"):
            thread.wait_started(WAIT)
        assert thread.exited.wait(WAIT)
    assert isinstance(thread.thread_error, ConfigError)
    assert not thread.started.is_set()
    assert any(isinstance(r.exc_info[1], ConfigError) for r in caplog.records if r.exc_info)
    assert thread.stop(WAIT)


def test_thread_error_reports_a_handler_failure_in_strict_mode(relay: RunningRelay) -> None:
    strict = {"hyper_parameters": {**FAST["hyper_parameters"], "lifecycle": {"strict": True}}}
    raised = threading.Event()
    fragile = SummonerClient("fragile")

    @fragile.receive("chat")
    async def on_message(msg: Any) -> None:
        raised.set()
        raise ValueError("cannot digest this")

    threads = [
        ClientThread(fragile, relay.host, relay.port, config_dict=strict),
        ClientThread(SummonerClient("sender"), relay.host, relay.port, config_dict=FAST),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            assert thread.wait_started(WAIT)
        members(relay, 2)
        threads[1].publish({"n": 1}, timeout=WAIT)
        assert raised.wait(WAIT)
    finally:
        stop_all(threads, WAIT)
    assert isinstance(threads[0].thread_error, ValueError)
    assert str(threads[0].thread_error) == "cannot digest this"
    assert threads[1].thread_error is None


def test_a_client_that_cannot_connect_ends_its_thread_without_starting() -> None:
    with socket.socket() as probe:  # a port nothing listens on once this socket is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    give_up = {
        "hyper_parameters": {
            "reconnection": {"retry_delay_seconds": 0.01, "primary_retry_limit": 1, "default_retry_limit": 1}
        }
    }
    thread = ClientThread(SummonerClient("lonely"), "127.0.0.1", port, config_dict=give_up).start()
    assert thread.exited.wait(WAIT)
    assert thread.wait_started(0) is False
    assert thread.thread_error is None
    with pytest.raises(RuntimeError, match="already started"):
        thread.start()


def test_misuse_fails_at_the_call_not_later() -> None:
    thread = ClientThread(SummonerClient("idle"), "127.0.0.1", 9)
    assert live_threads(thread.name) == []  # constructing does no work
    with pytest.raises(ClientNotRunning):
        thread.submit(partial(value, 1))
    assert thread.wait_started(0) is False
    coroutine = value(1)
    with pytest.raises(TypeError, match="drop the"):
        thread.submit(coroutine)  # type: ignore[arg-type]
    assert coroutine.cr_frame is None  # closed: no "never awaited" warning
    assert thread.stop(0)  # stopping a thread that never started is a no-op


def test_an_async_slot_bridges_a_frame_loop_to_a_client_thread(relay: RunningRelay) -> None:
    client = SummonerClient("answers")
    with (
        ClientThread(client, relay.host, relay.port, config_dict=FAST) as thread,
        AsyncSlot[int]("bridge") as slot,
    ):
        assert thread.wait_started(WAIT)
        # The slot's loop awaits the handle; the coroutine itself runs on the client's loop.
        assert slot.submit(lambda: thread.submit(partial(value, 7)))
        assert slot.wait(WAIT)
        assert slot.poll() == 7
        with pytest.raises(RuntimeError, match="already running"):  # its loop is in use: not rebound
            ClientThread(client, relay.host, relay.port).start()


def test_run_client_threads_stops_every_thread_on_sigint(relay: RunningRelay) -> None:
    threads = [
        ClientThread(SummonerClient(f"sig-{i}"), relay.host, relay.port, config_dict=FAST) for i in range(3)
    ]
    before = signal.getsignal(signal.SIGINT)

    def press_ctrl_c() -> None:
        # run_client_threads installs its handlers before starting any thread, so once every thread
        # is connected the signal is safe to send. If they never connect, or anything here fails,
        # stopping them ends run_client_threads instead, so the test fails without hanging.
        sent = False
        try:
            if all(thread.wait_started(WAIT) for thread in threads):
                os.kill(os.getpid(), signal.SIGINT)
                sent = True
        finally:
            if not sent:
                stop_all(threads, WAIT)

    presser = threading.Thread(target=press_ctrl_c, name="ctrl-c")
    presser.start()
    try:
        assert run_client_threads(threads, stop_timeout=WAIT) is signal.SIGINT
    finally:
        presser.join(WAIT)
    assert all(thread.exited.is_set() and thread.thread_error is None for thread in threads)
    assert signal.getsignal(signal.SIGINT) is before


def test_run_client_threads_returns_once_every_thread_ended_on_its_own() -> None:
    threads = [
        ClientThread(SummonerClient(f"bad-{i}"), "127.0.0.1", 9, config_dict=BAD_CONFIG) for i in range(3)
    ]
    assert run_client_threads(threads, stop_timeout=WAIT) is None
    assert all(isinstance(thread.thread_error, ConfigError) for thread in threads)


def test_run_client_threads_refuses_to_run_off_the_main_thread() -> None:
    outcome: concurrent.futures.Future[BaseException | None] = concurrent.futures.Future()

    def off_main() -> None:
        try:
            run_client_threads([])
        except RuntimeError as exc:
            outcome.set_result(exc)
        else:
            outcome.set_result(None)

    worker = threading.Thread(target=off_main)
    worker.start()
    worker.join(WAIT)
    assert isinstance(outcome.result(0), RuntimeError)
    assert "main thread" in str(outcome.result(0))


def test_a_run_that_ends_by_itself_sets_exited_without_stop(relay: RunningRelay) -> None:
    """A handler that quits ends the thread: ``exited`` is set with no call to ``stop()``."""
    client = SummonerClient("quits-itself")

    @client.send(route="")
    async def leave() -> None:
        await client.quit()

    handle = client.start_in_thread(relay.host, relay.port)
    assert handle.exited.wait(10), "the thread did not end by itself"
    assert handle.thread_error is None
    assert not handle.is_alive()


def test_concurrent_dispatch_under_threads_keeps_per_peer_order_and_its_bound(relay: RunningRelay) -> None:
    """Receivers on client threads with max_concurrent_handlers = 3: at most 3 in flight per
    client, every sender's messages handled in its order, nothing lost."""
    senders, per_sender, slots = 4, 30, 3
    config = {
        **FAST,
        "hyper_parameters": {**FAST["hyper_parameters"], "receiver": {"max_concurrent_handlers": slots}},
    }
    receiver = SummonerClient("concurrent")
    seen: dict[str, list[int]] = {}
    in_flight, peak = 0, 0
    done = threading.Event()

    @receiver.receive("n")
    async def on_number(msg: Any) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)  # yield so other peers' handlers can overlap with this one
        seen.setdefault(msg["remote_addr"], []).append(msg["content"])
        in_flight -= 1
        if sum(map(len, seen.values())) == senders * per_sender:
            done.set()

    threads = [ClientThread(receiver, relay.host, relay.port, config_dict=config, name="conc-recv")]
    threads += [
        ClientThread(SummonerClient(f"s{i}"), relay.host, relay.port, config_dict=FAST, name=f"conc-s{i}")
        for i in range(senders)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            assert thread.wait_started(WAIT), thread.thread_error
        members(relay, senders + 1)
        for thread in threads[1:]:
            for number in range(per_sender):
                thread.publish(number, timeout=WAIT)
        assert done.wait(WAIT), sum(map(len, seen.values()))
    finally:
        assert stop_all(threads, timeout=20)
    assert 1 <= peak <= slots
    assert len(seen) == senders
    assert all(numbers == list(range(per_sender)) for numbers in seen.values())
