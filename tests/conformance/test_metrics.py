"""Relay spec §6, C25 (counters): what the relay counts for a known exchange.

These are the counters read through ``RunningRelay.stats()``; test_admin.py reads the same
exchange through ``/metrics``. Counters settle just after the bytes they count
are seen, so each is awaited to its exact value (an overshoot never matches and fails).
"""

from __future__ import annotations

import pytest

from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.relays import wait_for_stat
from tests.conformance._exchange import play_c25_exchange

pytestmark = pytest.mark.conformance


async def test_counters_after_twelve_lines_with_one_too_long_and_one_invalid(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory()
    await play_c25_exchange(relay, probe_factory)

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
