"""Relay spec §6, C21: every line that is not an envelope is a well-formed notice.

The probe checks this on every read in every conformance test (``check_relay_line``). These
tests show that the check is real: it rejects each kind of malformed line a relay could write,
and a peer's ``Warning:`` text arrives wrapped in an envelope, never as a notice.
"""

from __future__ import annotations

import asyncio

import pytest

from summoner_client.protocol.notices import Notice
from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import ProbeClient, RelayContractError, check_relay_line, expected_envelope
from summoner_client.testing.relays import wait_for_members

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("notice", list(Notice), ids=[notice.code for notice in Notice])
def test_every_known_notice_has_the_notice_shape(notice: Notice) -> None:
    check_relay_line(notice.line)
    assert len(notice.line) <= 200


@pytest.mark.parametrize(
    "line",
    [
        b"warning: lower case\n",
        b"Warning:no space\n",
        b"Warning: no newline",
        b"Warning: " + b"x" * 191 + b"\n",
        "Warning: not ascii é\n".encode(),
        b"plain text\n",
        b"{" + b"x" * 65_536 + b"\n",
    ],
    ids=["lower-case", "no-space", "no-lf", "201-bytes", "non-ascii", "not-a-notice", "over-ceiling"],
)
def test_probe_rejects_malformed_relay_lines(line: bytes) -> None:
    with pytest.raises(RelayContractError):
        check_relay_line(line)


async def test_probe_checks_lines_as_it_reads_them() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Warning: fine.\nwarning: not fine\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, await ProbeClient.connect("127.0.0.1", port) as probe:
        assert await probe.next() == b"Warning: fine.\n"
        with pytest.raises(RelayContractError):
            await probe.next()


async def test_peer_text_that_looks_like_a_notice_arrives_inside_an_envelope(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory()
    a, b = await probe_factory(relay), await probe_factory(relay)
    await wait_for_members(relay, 2)
    await a.send(Notice.SERVER_DISCONNECTED.line)
    assert await b.next() == expected_envelope(a.local_addr, Notice.SERVER_DISCONNECTED.text)
