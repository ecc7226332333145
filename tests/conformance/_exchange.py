"""The known exchange of relay spec §6, C25, shared by the counter and the /metrics cases."""

from __future__ import annotations

from summoner_client.protocol.notices import Notice
from summoner_client.server import RunningRelay
from summoner_client.testing.plugin import ProbeFactory
from summoner_client.testing.probe import expected_envelope
from summoner_client.testing.relays import wait_for_members


async def play_c25_exchange(relay: RunningRelay, probe_factory: ProbeFactory) -> None:
    """A sends 12 lines to B and C, one too long and one not UTF-8; every byte is checked arrived."""
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
