"""Relay spec §6, C08-C11: the 65,536-byte ceiling, escape expansion, oversize lines, bad UTF-8.

A refused line costs the sender one notice and nothing else: the session survives and the next
line is relayed. "Nothing reached the others" is shown by bytes, not by waiting: the receiver's
next line must be the sender's following line.
"""

from __future__ import annotations

import pytest

from summoner_client.protocol.notices import Notice
from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import MAX_LINE_BYTES, ProbeClient, expected_envelope
from summoner_client.testing.relays import wait_for_members

pytestmark = pytest.mark.conformance

ENVELOPE_OVERHEAD = 31  # {"remote_addr":"","content":""}
TOO_LONG = Notice.MESSAGE_TOO_LONG.line
NOT_UTF8 = Notice.INVALID_UTF8.line


async def pair(
    relay_factory: RelayFactory, probe_factory: ProbeFactory, config: dict[str, object] | None = None
) -> tuple[ProbeClient, ProbeClient]:
    relay = await relay_factory(config)
    a, b = await probe_factory(relay), await probe_factory(relay)
    await wait_for_members(relay, 2)
    return a, b


async def test_envelope_of_exactly_the_ceiling_is_relayed_and_one_byte_more_is_refused(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    fits = "x" * (MAX_LINE_BYTES - ENVELOPE_OVERHEAD - len(a.local_addr))
    await a.send(fits.encode() + b"\n")
    line = await b.next()
    assert len(line) == MAX_LINE_BYTES + 1
    assert line == expected_envelope(a.local_addr, fits)

    await a.send(fits.encode() + b"x\nnext\n")
    assert await a.next() == TOO_LONG
    assert await b.next() == expected_envelope(a.local_addr, "next")


async def test_escape_expansion_over_the_ceiling_is_refused_and_session_survives(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    await a.send(b'"' * 40_000 + b"\nafter quotes\n")
    assert await a.next() == TOO_LONG
    assert await b.next() == expected_envelope(a.local_addr, "after quotes")
    await b.send(b"reply\n")
    assert await a.next() == expected_envelope(b.local_addr, "reply")


async def test_oversize_line_is_skipped_with_one_notice_and_session_survives(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    chunk = b"y" * 65_536
    for _ in range(16):  # 1 MiB with no LF, in several writes
        await a.send(chunk)
    await a.send(b"\nok\n")
    assert await b.next() == expected_envelope(a.local_addr, "ok")
    await b.send(b"sync\n")
    # Exactly one N5, then B's line: no second notice and nothing else queued for A in between.
    assert await a.next() == TOO_LONG
    assert await a.next() == expected_envelope(b.local_addr, "sync")


async def test_invalid_utf8_is_rejected_with_a_notice_and_session_survives(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    await a.send(b"\xff\xfe\nok\n")
    assert await a.next() == NOT_UTF8
    assert await b.next() == expected_envelope(a.local_addr, "ok")


async def test_invalid_utf8_is_replaced_when_configured(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory, {"hyper_parameters": {"invalid_utf8": "replace"}})
    await a.send(b"\xff\xfe\nok\n")
    assert await b.next() == expected_envelope(a.local_addr, "\ufffd\ufffd")
    assert await b.next() == expected_envelope(a.local_addr, "ok")
    await b.send(b"sync\n")
    assert await a.next() == expected_envelope(b.local_addr, "sync")  # no N6 in replace mode
