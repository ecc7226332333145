"""Relay spec §6, C26: a Summoner 1.3 client reads everything the relay writes in C01-C11.

Summoner 1.3 reads with ``StreamReader.readline()`` and a 65,536-byte limit, then parses JSON,
treating what does not parse as text. A longer line raises and stops that client for good. The
exchange below reproduces the output of cases C01-C11 (envelopes of every shape, the largest
envelope allowed, N5 and N6, a replaced invalid line, a partial last line) and replays exactly the
bytes the probes received through that reader.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from summoner_client.protocol.notices import Notice
from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import MAX_LINE_BYTES, ProbeClient
from summoner_client.testing.relays import wait_for_members

pytestmark = pytest.mark.conformance

SUMMONER_13_LINE_LIMIT = 65_536
VECTORS = Path(__file__).with_name("vectors") / "envelope.jsonl"


async def original_lines(transcript: bytes) -> list[bytes]:
    """Split bytes as Summoner 1.3 does; every line must be JSON or a ``Warning:`` notice."""
    reader = asyncio.StreamReader(limit=SUMMONER_13_LINE_LIMIT)
    reader.feed_data(transcript)
    reader.feed_eof()
    lines = []
    while line := await reader.readline():  # raises ValueError on a line over the limit
        text = line.decode("utf-8")
        if not text.startswith("Warning: "):
            assert isinstance(json.loads(text), dict)
        lines.append(line)
    return lines


async def read_lines(probe: ProbeClient, count: int) -> list[bytes]:
    return [await probe.next() for _ in range(count)]


def vector_texts() -> list[str]:
    texts = [json.loads(line)["text"] for line in VECTORS.read_text(encoding="utf-8").splitlines() if line]
    return [text for text in dict.fromkeys(texts) if "\n" not in text and not text.endswith("\r")]


async def test_summoner_13_line_reader_reads_every_line_of_cases_c01_to_c11(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory()
    replacing = await relay_factory({"hyper_parameters": {"invalid_utf8": "replace"}})
    a, b = await probe_factory(relay, record=True), await probe_factory(relay, record=True)
    a2, b2 = await probe_factory(replacing, record=True), await probe_factory(replacing, record=True)
    await wait_for_members(relay, 2)
    await wait_for_members(replacing, 2)

    ceiling_text = b"x" * (MAX_LINE_BYTES - 31 - len(a.local_addr))
    texts = [b'{"x": 1}', *(text.encode() for text in vector_texts()), b"a\r", b"a\r\r", b"a\rb", b""]
    texts += [b"k" * 10_240, *(b"%d" % n for n in range(1_000)), ceiling_text]
    await a.send(b"".join(text + b"\n" for text in texts))
    refused = [ceiling_text + b"x", b'"' * 40_000, b"y" * (1 << 20), b"\xff\xfe"]
    for line in refused:
        await a.send(line + b"\n")
    received_a = [await a.next()]
    while received_a[-1] != Notice.INVALID_UTF8.line:  # N5 once to three times (rate-limited)
        assert received_a[-1] == Notice.MESSAGE_TOO_LONG.line
        received_a.append(await a.next())
    # Only now: at EOF the relay discards what is still queued for A (relay spec §4.10).
    await a.send(b"tail")
    a.shutdown_write()
    await a.expect_eof()
    await a2.send(b"\xff\xfe\nafter\n")

    received_b = await read_lines(b, len(texts) + 1)  # + "tail"
    received_b2 = await read_lines(b2, 2)
    assert max(len(line) for line in received_b) == MAX_LINE_BYTES + 1

    for probe, received in ((a, received_a), (b, received_b), (b2, received_b2)):
        assert probe.transcript is not None
        assert await original_lines(bytes(probe.transcript)) == received
