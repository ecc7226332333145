"""AsyncSlot: one awaitable at a time from synchronous code, never blocking it.

Calls are held open by a ``concurrent.futures.Future`` gate that the test resolves, and every wait is
bounded (``slot.wait(timeout)``, ``Event.wait(timeout)``), so nothing here synchronises by sleeping.
pytest runs with ``filterwarnings = error``: a coroutine created and never awaited would fail the test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable, Generator, Iterator
from typing import Any

import pytest

from summoner_client import AsyncSlot
from summoner_client.errors import SlotClosed, WouldBlockLoop

WAIT = 5.0


@pytest.fixture
def slot(request: pytest.FixtureRequest) -> Iterator[AsyncSlot[Any]]:
    with AsyncSlot(f"slot-{request.node.name}") as running:
        yield running


def gated(
    gate: concurrent.futures.Future[Any], entered: threading.Event | None = None
) -> Callable[[], Awaitable[Any]]:
    """A factory whose call runs until the test resolves ``gate``; ``entered`` is set once it runs."""

    async def call() -> Any:
        if entered is not None:
            entered.set()
        return await asyncio.wrap_future(gate)

    return call


async def value(result: Any) -> Any:
    return result


def slot_threads(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def test_submit_runs_the_call_and_poll_returns_its_result_once(slot: AsyncSlot[Any]) -> None:
    assert slot.poll() is None
    assert slot.submit(lambda: value(42))
    assert slot.wait(WAIT)
    assert slot.poll() == 42
    assert slot.poll() is None
    assert not slot.pending


def test_submit_while_pending_returns_false_and_never_calls_the_factory(slot: AsyncSlot[Any]) -> None:
    gate: concurrent.futures.Future[Any] = concurrent.futures.Future()
    calls = 0

    def counting_factory() -> Awaitable[Any]:
        nonlocal calls
        calls += 1
        return value("second")

    assert slot.submit(gated(gate))
    assert slot.pending
    for _ in range(100):
        assert slot.submit(counting_factory) is False
    assert calls == 0
    gate.set_result("first")
    assert slot.wait(WAIT)
    assert slot.poll() == "first"
    assert slot.submit(counting_factory)
    assert slot.wait(WAIT)
    assert (calls, slot.poll()) == (1, "second")


def test_poll_returns_none_while_the_call_runs(slot: AsyncSlot[Any]) -> None:
    gate: concurrent.futures.Future[Any] = concurrent.futures.Future()
    entered = threading.Event()
    assert slot.submit(gated(gate, entered))
    assert entered.wait(WAIT)
    assert slot.poll() is None
    gate.set_result("done")
    assert slot.wait(WAIT)
    assert slot.poll() == "done"


def test_a_newer_result_replaces_one_that_was_never_polled(slot: AsyncSlot[Any]) -> None:
    assert slot.submit(lambda: value("old"))
    assert slot.wait(WAIT)
    assert slot.submit(lambda: value("new"))
    assert slot.wait(WAIT)
    assert slot.poll() == "new"
    assert slot.poll() is None


def test_a_failed_call_is_logged_with_its_exception_and_polls_as_none(
    slot: AsyncSlot[Any], caplog: pytest.LogCaptureFixture
) -> None:
    async def fails() -> Any:
        raise ValueError("the oracle is asleep")

    last_good = "kept"
    assert slot.submit(lambda: value(last_good))
    assert slot.wait(WAIT)
    last_good = slot.poll()
    with caplog.at_level(logging.ERROR, logger="summoner_client.threads.slot"):
        assert slot.submit(fails)
        assert slot.wait(WAIT)
    assert slot.poll() is None
    assert last_good == "kept"  # the caller keeps its last good value
    [record] = [r for r in caplog.records if r.name == "summoner_client.threads.slot"]
    assert record.levelno == logging.ERROR
    assert "ValueError" in record.getMessage()
    assert "the oracle is asleep" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)
    assert isinstance(slot.last_error, ValueError)
    assert slot.submit(lambda: value("recovered"))  # a failure frees the slot
    assert slot.wait(WAIT)
    assert slot.poll() == "recovered"


def test_a_factory_that_raises_or_returns_no_awaitable_is_a_logged_failure(
    slot: AsyncSlot[Any], caplog: pytest.LogCaptureFixture
) -> None:
    def raises() -> Awaitable[Any]:
        raise KeyError("no such agent")

    def not_awaitable() -> Any:
        return 7

    with caplog.at_level(logging.ERROR, logger="summoner_client.threads.slot"):
        assert slot.submit(raises)
        assert slot.wait(WAIT)
        assert slot.poll() is None
        assert slot.submit(not_awaitable)
        assert slot.wait(WAIT)
        assert slot.poll() is None
    messages = [r.getMessage() for r in caplog.records if r.name == "summoner_client.threads.slot"]
    assert len(messages) == 2
    assert "KeyError" in messages[0]
    assert "TypeError" in messages[1]


def test_submit_rejects_a_coroutine_object_and_closes_it(slot: AsyncSlot[Any]) -> None:
    coroutine = value("called too early")
    with pytest.raises(TypeError, match="drop the"):
        slot.submit(coroutine)  # type: ignore[arg-type]
    assert coroutine.cr_frame is None  # closed, so no "never awaited" warning follows it
    with pytest.raises(TypeError, match="callable"):
        slot.submit(42)  # type: ignore[arg-type]
    assert not slot.pending


def test_any_awaitable_is_bridged_not_only_coroutines(slot: AsyncSlot[Any]) -> None:
    class Ready:
        def __await__(self) -> Generator[Any, None, str]:
            yield from asyncio.sleep(0).__await__()
            return "from __await__"

    assert slot.submit(Ready)
    assert slot.wait(WAIT)
    assert slot.poll() == "from __await__"

    def future_on_the_slot_loop() -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        future.get_loop().call_soon(future.set_result, "from a future")
        return future

    assert slot.submit(future_on_the_slot_loop)
    assert slot.wait(WAIT)
    assert slot.poll() == "from a future"


def test_cancel_stops_the_call_keeps_the_loop_and_allows_a_new_submit(slot: AsyncSlot[Any]) -> None:
    gate: concurrent.futures.Future[Any] = concurrent.futures.Future()
    entered, was_cancelled = threading.Event(), threading.Event()

    async def long_call() -> Any:
        entered.set()
        try:
            return await asyncio.wrap_future(gate)
        except asyncio.CancelledError:
            was_cancelled.set()
            raise

    assert slot.cancel() is False  # nothing in flight
    assert slot.submit(long_call)
    assert entered.wait(WAIT)
    assert slot.cancel() is True
    assert not slot.pending  # free at once: the next frame may submit
    assert slot.submit(lambda: value("after cancel"))
    assert was_cancelled.wait(WAIT)
    assert slot.wait(WAIT)
    assert slot.poll() == "after cancel"
    assert slot.poll() is None  # the cancelled call never produces a result


def test_cancel_before_the_call_begins_never_calls_the_factory() -> None:
    # The slot's loop is kept busy by a callback that blocks on an event, so the next call is queued
    # behind it; cancelling it then means its factory must never run.
    with AsyncSlot("slot-cancel-early") as slot:
        release, blocked = threading.Event(), threading.Event()

        def block_the_loop() -> Awaitable[Any]:
            blocked.set()
            release.wait(WAIT)  # deliberately blocks the slot thread: the next submit stays queued
            return value("first")

        calls = 0

        def counting() -> Awaitable[Any]:
            nonlocal calls
            calls += 1
            return value("never")

        assert slot.submit(block_the_loop)
        assert blocked.wait(WAIT)
        assert slot.cancel()
        assert slot.submit(counting)  # queued behind the blocked callback
        assert slot.cancel()
        release.set()
        assert slot.submit(lambda: value("last"))
        assert slot.wait(WAIT)
        assert slot.poll() == "last"
        assert calls == 0


def test_close_cancels_the_call_joins_the_thread_and_is_idempotent() -> None:
    gate: concurrent.futures.Future[Any] = concurrent.futures.Future()
    entered, was_cancelled = threading.Event(), threading.Event()

    async def long_call() -> Any:
        entered.set()
        try:
            return await asyncio.wrap_future(gate)
        except asyncio.CancelledError:
            was_cancelled.set()
            raise

    slot: AsyncSlot[Any] = AsyncSlot("slot-close")
    assert slot_threads("slot-close") == []  # constructing does no work
    assert slot.submit(long_call)
    assert entered.wait(WAIT)
    assert len(slot_threads("slot-close")) == 1
    slot.close()
    assert was_cancelled.is_set()
    assert slot_threads("slot-close") == []
    assert slot.closed
    assert not slot.pending
    assert slot.poll() is None
    slot.close()  # idempotent
    slot.close(timeout=0)


def test_submit_after_close_raises_slot_closed() -> None:
    slot: AsyncSlot[Any] = AsyncSlot("slot-closed")
    slot.close()  # never started: nothing to join
    calls = 0

    def counting() -> Awaitable[Any]:
        nonlocal calls
        calls += 1
        return value(None)

    with pytest.raises(SlotClosed, match="slot-closed") as raised:
        slot.submit(counting)
    assert isinstance(raised.value, RuntimeError)
    assert raised.value.name == "slot-closed"
    assert calls == 0


def test_blocking_calls_from_the_slot_loop_raise_instead_of_deadlocking(slot: AsyncSlot[Any]) -> None:
    async def wait_on_own_slot() -> list[str]:
        errors = []
        for blocking in (slot.wait, slot.close):
            try:
                blocking(1.0)
            except WouldBlockLoop as exc:
                errors.append(exc.call)
        return errors

    assert slot.submit(wait_on_own_slot)
    assert slot.wait(WAIT)
    assert slot.poll() == ["AsyncSlot.wait()", "AsyncSlot.close()"]
    assert not slot.closed


def test_the_context_manager_closes_the_slot() -> None:
    with AsyncSlot("slot-with") as slot:
        assert slot.submit(lambda: value(1))
        assert slot.wait(WAIT)
    assert slot.closed
    assert slot_threads("slot-with") == []
    assert repr(slot) == "<AsyncSlot 'slot-with' closed>"
