"""Relay spec §6, C12 and C13: a reader that falls behind is handled by policy, alone.

A probe opened with a small receive buffer that is never read stops reading for real (the probe
reads nothing in the background), so the relay's queue for it fills. The others must not notice.
Payloads are large enough (about 5 MB) to overflow the kernel's loopback buffers on Linux.
"""

from __future__ import annotations

import asyncio

import pytest

from summoner_client.protocol.notices import Notice
from summoner_client.server import RunningRelay
from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import ProbeClient, parse_envelope
from summoner_client.testing.relays import wait_for_members, wait_for_stat

pytestmark = pytest.mark.conformance

LINES = 5_000
SMALL_RECV_BUFFER = 4_096
SLOW_CONSUMER = Notice.SLOW_CONSUMER.line
SHED = Notice.MESSAGES_SHED.line


def kilobyte_line(n: int) -> bytes:
    """Line ``n`` of a numbered stream: 1,024 bytes of content that start with the number."""
    return b"%05d" % n + b"x" * 1_019 + b"\n"


def number_of(content: str) -> int:
    return int(content[:5])


class Reader:
    """Reads ``count`` lines from a probe in the background; a sender can wait for its progress.

    The test process plays every client on one event loop, so a sender could outrun a reader for
    reasons that have nothing to do with the relay. A sender that stays a bounded window ahead of
    its readers makes "B keeps up" true by construction: B's queue never holds more than the window.
    """

    def __init__(self, probe: ProbeClient, count: int, *, sender: ProbeClient) -> None:
        self.lines: list[bytes] = []
        self.from_sender = 0  # lines read so far that came from ``sender``
        self._prefix = b'{"remote_addr":"%s",' % sender.local_addr.encode()
        self._progress = asyncio.Condition()
        self.task = asyncio.create_task(self._read(probe, count))

    async def _read(self, probe: ProbeClient, count: int) -> list[bytes]:
        try:
            for _ in range(count):
                line = await probe.next()
                self.lines.append(line)
                self.from_sender += line.startswith(self._prefix)
                async with self._progress:
                    self._progress.notify_all()
        finally:
            async with self._progress:
                self._progress.notify_all()
        return self.lines

    async def wait_for(self, from_sender: int) -> None:
        async with asyncio.timeout(5.0), self._progress:
            await self._progress.wait_for(lambda: self.from_sender >= from_sender or self.task.done())
        if self.task.done():
            self.task.result()  # re-raise what stopped the reader


async def send_numbered(sender: ProbeClient, start: int, stop: int, *, readers: list[Reader]) -> None:
    """Send lines ``start`` to ``stop`` in writes of 16, never more than 32 lines ahead of a reader."""
    for first in range(start, stop, 16):
        for reader in readers:
            await reader.wait_for(first - 16)
        await sender.send(b"".join(kilobyte_line(n) for n in range(first, min(first + 16, stop))))


async def read_to_eof(client: ProbeClient, *, limit: int = 20_000) -> list[bytes]:
    lines: list[bytes] = []
    for _ in range(limit):
        line = await client.next()
        if not line:
            return lines
        lines.append(line)
    raise AssertionError(f"no EOF after {limit} lines")


def assert_in_order_subsequence(
    lines: list[bytes], sender: str, *, complete_up_to: int | None = None
) -> None:
    numbers = []
    for line in lines:
        remote_addr, content = parse_envelope(line)
        if remote_addr == sender:
            numbers.append(number_of(content))
    assert numbers == sorted(set(numbers)), "a sender's lines arrived out of order or twice"
    if complete_up_to is not None:
        assert numbers == list(range(complete_up_to))


async def assert_disconnected_as_slow(
    relay: RunningRelay, slow: ProbeClient, reason: str, *, members_left: int
) -> None:
    """The relay counts the close under ``reason``; what ``slow`` still reads ends with N10 at most."""
    await wait_for_stat(relay, f'connections_closed_total{{reason="{reason}"}}', lambda v: v >= 1)
    lines = await read_to_eof(slow)
    if lines and not lines[-1].endswith(b"\n"):
        lines.pop()  # an envelope torn by the close; the probe allows it only right before EOF
    notices = [line for line in lines if not line.startswith(b"{")]
    assert notices in ([], [SLOW_CONSUMER])
    assert not notices or lines[-1] == SLOW_CONSUMER
    await wait_for_members(relay, members_left)


async def test_reader_that_stops_is_disconnected_at_queue_bound_while_others_get_everything(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({"hyper_parameters": {"max_queue_messages": 64, "write_timeout_secs": 30}})
    a, b = await probe_factory(relay), await probe_factory(relay)
    c = await probe_factory(relay, recv_buffer=SMALL_RECV_BUFFER)
    d = await probe_factory(relay)
    await wait_for_members(relay, 4)

    async with asyncio.timeout(5.0):  # the spec's bound for B
        reader = Reader(b, LINES + 10, sender=a)
        d_reader = Reader(d, LINES, sender=a)  # D sends, and reads: only C is slow
        await send_numbered(a, 0, LINES // 2, readers=[reader, d_reader])
        await d.send(b"".join(b"%05d from d\n" % n for n in range(10)))
        await send_numbered(a, LINES // 2, LINES, readers=[reader, d_reader])
        received = await reader.task
        assert_in_order_subsequence(await d_reader.task, a.local_addr, complete_up_to=LINES)
    assert_in_order_subsequence(received, a.local_addr, complete_up_to=LINES)
    assert_in_order_subsequence(received, d.local_addr, complete_up_to=10)
    await assert_disconnected_as_slow(relay, c, "slow_consumer", members_left=3)


async def test_reader_whose_socket_stalls_is_disconnected_after_the_write_timeout(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory(
        {"hyper_parameters": {"max_queue_messages": 100_000, "write_timeout_secs": 1}}
    )
    a, b = await probe_factory(relay), await probe_factory(relay)
    c = await probe_factory(relay, recv_buffer=SMALL_RECV_BUFFER)
    await wait_for_members(relay, 3)

    reader = Reader(b, LINES, sender=a)
    await send_numbered(a, 0, LINES, readers=[reader])
    assert_in_order_subsequence(await reader.task, a.local_addr, complete_up_to=LINES)
    assert relay.stats()['connections_closed_total{reason="slow_consumer"}'] == 0
    await assert_disconnected_as_slow(relay, c, "write_timeout", members_left=2)


async def test_lagging_reader_is_shed_told_so_and_kept_with_an_in_order_subsequence(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory(
        {
            "hyper_parameters": {
                "max_queue_messages": 256,
                "write_timeout_secs": 30,
                "backpressure_policy": {
                    "enable_flow_control": True,
                    "throttle_threshold": 16,
                    "flow_control_threshold": 64,
                },
            }
        }
    )
    a, b = await probe_factory(relay), await probe_factory(relay)
    c = await probe_factory(relay, recv_buffer=SMALL_RECV_BUFFER)
    await wait_for_members(relay, 3)

    reader = Reader(b, LINES, sender=a)
    await send_numbered(a, 0, LINES, readers=[reader])
    assert_in_order_subsequence(await reader.task, a.local_addr, complete_up_to=LINES)

    # C now reads, slowly catching up. Once its queue has drained below half the threshold, the
    # relay stops shedding; A keeps sending numbered markers until one reaches C.
    async def read_until_marker() -> list[bytes]:
        lines = []
        while True:
            line = await c.next()
            lines.append(line)
            if line.startswith(b"{") and number_of(parse_envelope(line)[1]) >= LINES:
                return lines

    catching_up = asyncio.create_task(read_until_marker())
    for marker in range(LINES, LINES + 100):
        await a.send(kilobyte_line(marker))
        done, _ = await asyncio.wait([catching_up], timeout=0.05)
        if done:
            break
    lines = await catching_up
    notices = [line for line in lines if not line.startswith(b"{")]
    assert notices, "C was shed without being told (N9)"
    assert set(notices) == {SHED}
    assert_in_order_subsequence([line for line in lines if line.startswith(b"{")], a.local_addr)
    assert relay.stats()['dropped_total{reason="shed"}'] > 0

    await c.send(b"still connected\n")
    line = await a.next()
    assert parse_envelope(line) == (c.local_addr, "still connected")
