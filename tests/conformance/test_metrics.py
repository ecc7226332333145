"""Relay spec §6, C25 (counters): what the relay counts for a known exchange.

The HTTP endpoint (``/healthz``, ``/metrics``) is not covered here yet; these are the same
counters read through ``RunningRelay.stats()``. Counters settle just after the bytes they count
are seen, so each is awaited to its exact value (an overshoot never matches and fails).
"""

from __future__ import annotations

import pytest

from summoner_client.protocol.notices import Notice
from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import expected_envelope
from summoner_client.testing.relays import wait_for_members, wait_for_stat

pytestmark = pytest.mark.conformance


async def test_counters_after_twelve_lines_with_one_too_long_and_one_invalid(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory()
    a, b, c = [await probe_factory(relay) for _ in range(3)]
    await wait_for_members(relay, 3)
    good = [f"line {n}" for n in range(10)]
    lines = [text.encode() + b"\n" for text in good]
    lines.insert(3, b"z" * 70_000 + b"\n")  # over max_line_bytes (65,536)
    lines.insert(7, b"bad \xc3\x28 utf-8\n")
    await a.send(b"".join(lines))

    assert await a.next() == Notice.MESSAGE_TOO_LONG.line
    assert await a.next() == Notice.INVALID_UTF8.line
    for receiver in (b, c):
        for text in good:
            assert await receiver.next() == expected_envelope(a.local_addr, text)

    expected = {
        "lines_received_total": 12,
        "lines_relayed_total": 10,
        "deliveries_total": 20,
        'dropped_total{reason="too_long"}': 1,
        'dropped_total{reason="invalid_utf8"}': 1,
        'notices_total{kind="n5"}': 1,
        'notices_total{kind="n6"}': 1,
    }
    for key, value in expected.items():
        await wait_for_stat(relay, key, value)
