"""Relay spec §6, C01-C06 and the masking half of C24: what a relayed line looks like on the wire.

Each case runs against both relays (``relay_backend``). Expected bytes are computed with the
standard library's JSON encoder (``expected_envelope``), the rule the spec names, never with the
encoder a relay uses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest

from summoner_client.testing.plugin import ProbeFactory, RelayFactory
from summoner_client.testing.probe import ProbeClient, expected_envelope
from summoner_client.testing.relays import wait_for_members

pytestmark = pytest.mark.conformance

VECTORS = Path(__file__).with_name("vectors") / "envelope.jsonl"

# C02: '"', '\', every C0 control that can sit inside a line (LF ends it), DEL, é, ☃, 😀, U+2028.
# CR is followed by another character, so it is content rather than the CR of a CR LF.
C02_TEXT = '"\\' + "".join(chr(c) for c in range(0x20) if c != 0x0A) + "\x7f é ☃ 😀 \u2028 end"


def load_vectors() -> list[dict[str, str]]:
    lines = VECTORS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


async def pair(relay_factory: RelayFactory, probe_factory: ProbeFactory) -> tuple[ProbeClient, ProbeClient]:
    relay = await relay_factory()
    a, b = await probe_factory(relay), await probe_factory(relay)
    await wait_for_members(relay, 2)
    return a, b


async def test_line_is_relayed_as_exact_compact_envelope_with_sender_address(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    await a.send(b'{"x": 1}\n')
    expected = b'{"remote_addr":"%s","content":"{\\"x\\": 1}"}\n' % a.local_addr.encode()
    assert await b.next() == expected


def test_every_vector_matches_the_stdlib_rule_and_orjson() -> None:
    vectors = load_vectors()
    assert len(vectors) >= 40
    for vector in vectors:
        expected = vector["expected"].encode("utf-8") + b"\n"
        assert expected_envelope(vector["addr"], vector["text"]) == expected
        envelope = {"remote_addr": vector["addr"], "content": vector["text"]}
        assert orjson.dumps(envelope, option=orjson.OPT_APPEND_NEWLINE) == expected


async def test_vector_texts_are_relayed_byte_for_byte(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    # A text holding LF cannot travel as one line, and a final CR would be taken as CR LF.
    texts = [v["text"] for v in load_vectors() if "\n" not in v["text"] and not v["text"].endswith("\r")]
    texts = [*dict.fromkeys(texts), C02_TEXT]
    await a.send(b"".join(text.encode("utf-8") + b"\n" for text in texts))
    for text in texts:
        assert await b.next() == expected_envelope(a.local_addr, text)


async def test_sender_never_receives_its_own_line(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    await a.send(b"from a\n")
    assert await b.next() == expected_envelope(a.local_addr, "from a")
    await b.send(b"from b\n")
    assert await a.next() == expected_envelope(b.local_addr, "from b")


async def test_one_trailing_cr_is_removed_and_empty_lines_are_relayed(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    await a.send(b"a\r\na\r\r\na\rb\n\n\r\n")
    for text in ["a", "a\r", "a\rb", "", ""]:
        assert await b.next() == expected_envelope(a.local_addr, text)


async def test_partial_last_line_is_relayed_after_half_close_then_connection_closes(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    await a.send(b"tail")
    a.shutdown_write()
    assert await b.next() == expected_envelope(a.local_addr, "tail")
    await a.expect_eof()


async def test_segmentation_does_not_change_the_envelopes(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    a, b = await pair(relay_factory, probe_factory)
    long_line = "".join(chr(0x61 + n % 26) for n in range(10_240))
    for byte in long_line.encode():
        await a.send(bytes([byte]))
    await a.send(b"\n" + long_line.encode() + b"\n")
    for _ in range(2):
        assert await b.next() == expected_envelope(a.local_addr, long_line)

    batch = b"".join(b"line %d\n" % n for n in range(1_000))
    await a.send(batch)
    for offset in range(0, len(batch), 7):  # the same lines again, cut across line boundaries
        await a.send(batch[offset : offset + 7])
    for _ in range(2):
        for n in range(1_000):
            assert await b.next() == expected_envelope(a.local_addr, f"line {n}")


async def test_masked_address_is_opaque_constant_per_connection_and_unique(
    relay_factory: RelayFactory, probe_factory: ProbeFactory
) -> None:
    relay = await relay_factory({"security": {"mask_remote_addr": True}})
    a, b, c = [await probe_factory(relay) for _ in range(3)]
    await wait_for_members(relay, 3)
    await a.send(b"one\ntwo\n")
    mask_a, text = await b.next_envelope()
    assert text == "one"
    assert await b.next_envelope() == (mask_a, "two")  # constant within one connection
    await b.send(b"from b\n")
    await c.send(b"from c\n")
    (mask_b, _), (mask_c, _) = sorted([await a.next_envelope(), await a.next_envelope()], key=lambda e: e[1])
    masks = {mask_a, mask_b, mask_c}
    assert len(masks) == 3  # unique per connection
    assert all(re.fullmatch(r"peer-[0-9a-f]{16}", mask) for mask in masks)
