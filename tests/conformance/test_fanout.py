"""Relay spec §6, C07, C14 and C15: fan-out order, isolation from a reset peer, joins and leaves."""

from __future__ import annotations

import asyncio

import pytest

from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import ProbeClient, expected_envelope
from summoner_client.testing.relays import wait_for_members

pytestmark = pytest.mark.conformance

SENDERS = 10
RECEIVERS = 3
LINES_PER_SENDER = 1_000


async def collect_numbers(receiver: ProbeClient, count: int) -> dict[str, list[int]]:
    """Read ``count`` envelopes whose content is a number; group the numbers by sender."""
    seen: dict[str, list[int]] = {}
    for _ in range(count):
        sender, content = await receiver.next_envelope(timeout=10.0)
        seen.setdefault(sender, []).append(int(content))
    return seen


# Room for every line a receiver can be sent: this case is about order, and a test process
# starved of CPU must not turn it into a slow-consumer case (C12 covers that).
ROOMY_QUEUES = {"hyper_parameters": {"max_queue_messages": 100_000, "max_queue_bytes": 64 * 1024 * 1024}}


async def test_every_receiver_gets_each_senders_lines_complete_and_in_order(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory(ROOMY_QUEUES)
    senders = [await probe_factory(relay) for _ in range(SENDERS)]
    receivers = [await probe_factory(relay) for _ in range(RECEIVERS)]
    await wait_for_members(relay, SENDERS + RECEIVERS)

    async def send_all(sender: ProbeClient) -> None:
        # Several writes per sender, all senders at once, so lines from different senders interleave.
        for start in range(0, LINES_PER_SENDER, 100):
            await sender.send(b"".join(b"%d\n" % n for n in range(start, start + 100)))

    async def drain(sender: ProbeClient) -> None:
        # Senders receive each other's lines too; reading them keeps every queue short, so the
        # case cannot turn into a slow-consumer case on a machine with small socket buffers.
        for _ in range((SENDERS - 1) * LINES_PER_SENDER):
            assert (await sender.next(timeout=10.0)).startswith(b"{")

    reading = [asyncio.create_task(collect_numbers(r, SENDERS * LINES_PER_SENDER)) for r in receivers]
    draining = [asyncio.create_task(drain(sender)) for sender in senders]
    await asyncio.gather(*(send_all(sender) for sender in senders))
    results = await asyncio.gather(*reading)
    await asyncio.gather(*draining)
    expected = {sender.local_addr: list(range(LINES_PER_SENDER)) for sender in senders}
    for seen in results:
        assert seen == expected


async def test_a_reset_receiver_disturbs_neither_sender_nor_other_receivers(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory()
    a, b, c = [await probe_factory(relay) for _ in range(3)]
    await wait_for_members(relay, 3)
    await a.send(b"".join(b"%d\n" % n for n in range(500)))
    for n in range(10):
        assert await c.next() == expected_envelope(a.local_addr, str(n))
    c.abort()  # RST with lines still queued and in flight for C
    await a.send(b"".join(b"%d\n" % n for n in range(500, 1_000)))
    for n in range(1_000):
        assert await b.next() == expected_envelope(a.local_addr, str(n))
    await wait_for_members(relay, 2)
    await b.send(b"still here\n")
    assert await a.next() == expected_envelope(b.local_addr, "still here")


async def test_late_joiner_gets_only_later_lines_and_a_leaver_disturbs_nobody(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory()
    a, b = await probe_factory(relay), await probe_factory(relay)
    await wait_for_members(relay, 2)
    await a.send(b"before d\n")
    assert await b.next() == expected_envelope(a.local_addr, "before d")

    d = await probe_factory(relay)
    await wait_for_members(relay, 3)
    await a.send(b"after d\n")
    assert await d.next() == expected_envelope(a.local_addr, "after d")
    assert await b.next() == expected_envelope(a.local_addr, "after d")

    await a.send(b"".join(b"%d\n" % n for n in range(300)))
    for n in range(5):
        assert await b.next() == expected_envelope(a.local_addr, str(n))
    b.close()  # leaves mid-stream, with lines still on their way to it
    await a.send(b"".join(b"%d\n" % n for n in range(300, 600)))
    for n in range(600):
        assert await d.next() == expected_envelope(a.local_addr, str(n))
    await wait_for_members(relay, 2)
    await d.send(b"from d\n")
    assert await a.next() == expected_envelope(d.local_addr, "from d")
