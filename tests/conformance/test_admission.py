"""Relay spec §6, C16, C17 and C23: connection caps, rate limits, token auth and quarantine.

"Exactly n" claims are shown with a sync line: after the lines under test, another client sends
one line, and it must be the very next thing the observer reads.
"""

from __future__ import annotations

import pytest

from summoner_client.protocol.notices import Notice
from summoner_client.server import RunningRelay
from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import ProbeClient, expected_envelope
from summoner_client.testing.relays import wait_for_members, wait_for_stat

pytestmark = pytest.mark.conformance

TOKEN = "conformance-token-0123456789"


async def assert_refused(probe: ProbeClient, notice: Notice) -> None:
    assert await probe.next() == notice.line
    await probe.expect_eof()


async def test_connection_over_max_connections_gets_n7_and_a_freed_slot_admits_again(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({"hyper_parameters": {"max_connections": 3}})
    a, b, c = [await probe_factory(relay) for _ in range(3)]
    await wait_for_members(relay, 3)
    await assert_refused(await probe_factory(relay), Notice.SERVER_FULL)

    c.close()
    await wait_for_stat(relay, "connections", 2)
    d = await probe_factory(relay)
    await wait_for_members(relay, 3)
    await a.send(b"welcome\n")
    assert await d.next() == expected_envelope(a.local_addr, "welcome")
    assert await b.next() == expected_envelope(a.local_addr, "welcome")


async def test_connection_over_max_connections_per_ip_gets_n8(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({"hyper_parameters": {"max_connections_per_ip": 2}})
    a, b = await probe_factory(relay), await probe_factory(relay)
    await wait_for_members(relay, 2)
    await assert_refused(await probe_factory(relay), Notice.TOO_MANY_CONNECTIONS)
    await a.send(b"still fine\n")
    assert await b.next() == expected_envelope(a.local_addr, "still fine")


async def test_rate_limit_drop_relays_the_burst_and_sends_one_n1(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory(
        {"hyper_parameters": {"rate_limit_msgs_per_minute": 60, "rate_limit_burst": 5}}
    )
    a, b, sync = [await probe_factory(relay) for _ in range(3)]
    await wait_for_members(relay, 3)
    await a.send(b"".join(b"%d\n" % n for n in range(10)))
    assert await a.next() == Notice.RATE_LIMITED.line
    for n in range(5):
        assert await b.next() == expected_envelope(a.local_addr, str(n))
    await wait_for_stat(relay, 'dropped_total{reason="rate_limited"}', 5)
    await sync.send(b"sync\n")
    assert await b.next() == expected_envelope(sync.local_addr, "sync")  # nothing past the burst
    assert await a.next() == expected_envelope(sync.local_addr, "sync")  # one N1; still connected


async def test_rate_limit_pause_relays_every_line_in_order_without_notice(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory(
        {
            "hyper_parameters": {
                "rate_limit_msgs_per_minute": 600,
                "rate_limit_burst": 5,
                "rate_limit_action": "pause",
            }
        }
    )
    a, b = await probe_factory(relay), await probe_factory(relay)
    await wait_for_members(relay, 2)
    await a.send(b"".join(b"%d\n" % n for n in range(10)))
    for n in range(10):  # 5 at once, then one per 0.1 s
        assert await b.next() == expected_envelope(a.local_addr, str(n))
    await b.send(b"sync\n")
    assert await a.next() == expected_envelope(b.local_addr, "sync")


async def authenticated(relay: RunningRelay, probe_factory: ProbeFactory) -> ProbeClient:
    probe = await probe_factory(relay)
    await probe.send(f"AUTH {TOKEN}\n".encode())
    return probe


async def test_auth_admits_the_right_token_and_refuses_others_with_n11(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({"security": {"auth_tokens": [TOKEN], "handshake_timeout_secs": 3}})
    no_auth = await probe_factory(relay)
    await no_auth.send(b"hello without auth\n")
    await assert_refused(no_auth, Notice.AUTH_FAILED)
    wrong = await probe_factory(relay)
    await wrong.send(b"AUTH not-the-right-token-at-all\n")
    await assert_refused(wrong, Notice.AUTH_FAILED)

    pending = await probe_factory(relay)  # connected, but has not authenticated yet
    b = await authenticated(relay, probe_factory)
    await wait_for_members(relay, 1)
    a = await probe_factory(relay)
    await a.send(f"AUTH {TOKEN}\nsame read as auth\n".encode())  # the line after AUTH counts
    assert await b.next() == expected_envelope(a.local_addr, "same read as auth")
    await pending.send(b"AUTH not-the-right-token-either\n")
    await assert_refused(pending, Notice.AUTH_FAILED)  # and nothing relayed before it
    await b.send(b"reply\n")
    assert await a.next() == expected_envelope(b.local_addr, "reply")


async def test_sixth_attempt_after_five_auth_failures_gets_n12(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({"security": {"auth_tokens": [TOKEN]}})
    for attempt in range(5):
        probe = await probe_factory(relay)
        await probe.send(b"AUTH wrong-token-number-%d\n" % attempt)
        await assert_refused(probe, Notice.AUTH_FAILED)
    blocked = await probe_factory(relay)
    await assert_refused(blocked, Notice.ADDRESS_BLOCKED)
    await wait_for_stat(relay, 'connections_refused_total{reason="quarantined"}', 1)
