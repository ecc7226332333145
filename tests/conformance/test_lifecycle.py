"""Relay spec §6, C18-C20: idle limit, line timeout and the shutdown drain.

These cases are about time, so they use small configured durations and run their relays side by
side where they can. Letting time pass is done by waiting on a socket for a bounded time
(``expect_silence``), which also proves nothing arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from summoner_client.protocol.notices import Notice
from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import ProbeClient, expected_envelope
from summoner_client.testing.relays import wait_for_members

pytestmark = pytest.mark.conformance

DRAIN_SECS = 2.0


async def assert_new_connections_are_refused(host: str, port: int) -> None:
    """Refused by the closed listener, or accepted and closed at once without a notice (§4.2)."""
    try:
        late = await ProbeClient.connect(host, port, timeout=1.0)
    except OSError:
        return
    with contextlib.closing(late), contextlib.suppress(ConnectionResetError):
        assert await late.next(timeout=1.0) == b""


async def test_idle_limit_is_off_by_default_and_counts_both_directions_when_set(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    default_relay = await relay_factory()
    idle_relay = await relay_factory({"hyper_parameters": {"client_timeout_secs": 1}})
    busy_relay = await relay_factory({"hyper_parameters": {"client_timeout_secs": 1}})
    default_silent = await probe_factory(default_relay)
    idle_silent = await probe_factory(idle_relay)
    listener, ticker = await probe_factory(busy_relay), await probe_factory(busy_relay)
    await wait_for_members(default_relay, 1)
    await wait_for_members(idle_relay, 1)
    await wait_for_members(busy_relay, 2)

    async def kicked_for_inactivity() -> float:
        started = time.monotonic()
        assert await idle_silent.next(timeout=4.0) == Notice.IDLE_TIMEOUT.line
        await idle_silent.expect_eof()
        return time.monotonic() - started

    async def ticks_reach_a_listener_that_never_sends() -> None:
        # 8 ticks 0.3 s apart: 2.4 s, more than twice the limit, with the listener only reading.
        for n in range(8):
            await ticker.send(b"tick %d\n" % n)
            assert await listener.next(timeout=1.0) == expected_envelope(ticker.local_addr, f"tick {n}")
            await listener.expect_silence(0.3)

    elapsed, *_ = await asyncio.gather(
        kicked_for_inactivity(),
        ticks_reach_a_listener_that_never_sends(),
        default_silent.expect_silence(2.0),
    )
    assert 0.9 <= elapsed <= 2.5  # the limit, enforced to within 1 s


async def test_unfinished_line_is_closed_with_n13_after_the_line_timeout(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({"hyper_parameters": {"line_timeout_secs": 0.5}})
    slow, b, c = [await probe_factory(relay) for _ in range(3)]
    await wait_for_members(relay, 3)
    await slow.send(b"abc")
    assert await slow.next(timeout=3.0) == Notice.LINE_TIMEOUT.line
    await slow.expect_eof()
    await b.send(b"unaffected\n")
    assert await c.next() == expected_envelope(b.local_addr, "unaffected")
    await wait_for_members(relay, 2)


async def test_stop_drains_queued_lines_then_sends_n3_and_refuses_new_connections(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({"hyper_parameters": {"shutdown_drain_secs": DRAIN_SECS}})
    a, b, witness = [await probe_factory(relay) for _ in range(3)]
    await wait_for_members(relay, 3)
    await a.send(b"".join(b"line %d\n" % n for n in range(100)))
    # Once the witness has all 100, fan-out has queued them for B as well: B has read nothing.
    for n in range(100):
        assert await witness.next() == expected_envelope(a.local_addr, f"line {n}")

    started = time.monotonic()
    stopping = asyncio.create_task(asyncio.to_thread(relay.stop, DRAIN_SECS + 3.0))
    for n in range(100):
        assert await b.next() == expected_envelope(a.local_addr, f"line {n}")
    assert await b.next() == Notice.SHUTTING_DOWN.line
    await b.expect_eof(timeout=DRAIN_SECS + 1.0)
    assert time.monotonic() - started <= DRAIN_SECS + 0.5

    await assert_new_connections_are_refused(relay.host, relay.port)
    for probe in (a, witness):
        assert await probe.next() == Notice.SHUTTING_DOWN.line
        await probe.expect_eof()
    await stopping  # stop() returns without error: the relay shut down cleanly
