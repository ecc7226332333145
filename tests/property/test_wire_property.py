"""Wire invariants: payloads survive a relay, chunking never changes lines, lengths are exact or bounded."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from summoner_client.protocol.framing import LineEvent, LineSplitter, Oversize
from summoner_client.protocol.payload import WIRE_VERSION, wrap_with_types
from summoner_client.protocol.wire import (
    LineKind,
    decode_line,
    encode_envelope,
    envelope_len,
    relayed_line_estimate,
)

SETTINGS = settings(max_examples=200, deadline=None, database=None)

LONGEST_ADDR = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535"

texts = st.text(st.characters(codec="utf-8"))
json_looking = st.sampled_from(
    ["true", "null", '{"a": 1}', "1e3", '"quoted"', "[1,2]", "NaN", "-Infinity", ""]
)
integers = st.one_of(
    st.integers(), st.integers(min_value=2**63, max_value=2**200), st.integers(max_value=-(2**63) - 1)
)
scalars = st.one_of(st.none(), st.booleans(), integers, st.floats(), texts, json_looking)
payloads = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(texts, children, max_size=5)),
    max_leaves=25,
)
addresses = st.one_of(
    st.from_regex(r"\A([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]{1,5}\Z"),
    st.from_regex(r"\A\[[0-9a-f:]{2,39}(%[0-9]{1,10})?\]:[0-9]{1,5}\Z"),
    st.from_regex(r"\Apeer-[0-9a-f]{16}\Z"),
)


def same(left: Any, right: Any) -> bool:
    """Equality in which NaN equals NaN, and bool never passes for int."""
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    if type(left) is not type(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    return bool(left == right)


@SETTINGS
@given(payload=payloads, addr=addresses)
def test_a_typed_payload_survives_our_relay(payload: Any, addr: str) -> None:
    line = wrap_with_types(payload, WIRE_VERSION)
    decoded = decode_line(encode_envelope(addr, line[:-1])[:-1])
    assert decoded.kind is LineKind.RELAYED
    assert decoded.envelope_version == WIRE_VERSION
    assert not decoded.unknown_version
    assert decoded.payload["remote_addr"] == addr
    assert same(decoded.payload["content"], payload)


@SETTINGS
@given(payload=payloads)
def test_a_typed_payload_survives_the_original_python_relay(payload: Any) -> None:
    line = wrap_with_types(payload, WIRE_VERSION)
    raw = json.dumps({"remote_addr": "127.0.0.1:1", "content": line[:-1]}).encode()
    assert same(decode_line(raw).payload["content"], payload)


def reference_split(stream: bytes, limit: int, strip_cr: bool) -> list[LineEvent]:
    *complete, partial = stream.split(b"\n")
    events: list[LineEvent] = []
    for body in complete:
        kept = body[:-1] if strip_cr and body.endswith(b"\r") else body
        events.append(kept if len(kept) <= limit else Oversize(len(kept), limit))
    held = limit + 1 if strip_cr else limit  # longer partial lines are in discard mode at EOF: nothing
    if partial and len(partial) <= held:
        events.append(partial if len(partial) <= limit else Oversize(len(partial), limit))
    return events


@SETTINGS
@given(
    stream=st.lists(
        st.sampled_from([b"a", b"bc", b"\n", b"\r", b"\r\n", b"\x00", "é".encode()]), max_size=60
    ).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    limit=st.integers(min_value=1, max_value=8),
    strip_cr=st.booleans(),
)
def test_any_chunking_gives_the_same_lines(
    stream: bytes, cuts: list[int], limit: int, strip_cr: bool
) -> None:
    bounds = sorted({0, len(stream), *(cut for cut in cuts if cut < len(stream))})
    splitter = LineSplitter(limit, strip_cr=strip_cr)
    events: list[LineEvent] = []
    for start, end in itertools.pairwise(bounds):
        events.extend(splitter.feed(stream[start:end]))
        assert splitter.buffered <= limit + 1
    last = splitter.finish()
    assert events + ([] if last is None else [last]) == reference_split(stream, limit, strip_cr)


@SETTINGS
@given(addr=addresses, text=texts)
def test_envelope_len_equals_the_encoded_length(addr: str, text: str) -> None:
    assert envelope_len(addr, text) == len(encode_envelope(addr, text)) - 1


def strictest_relay_len(line: str) -> int:
    """Length of the Python relay's envelope (spaced, ASCII-escaped) for the longest IPv4 address."""
    return len(json.dumps({"remote_addr": "255.255.255.255:65535", "content": line.removesuffix("\n")}))


@SETTINGS
@given(line=st.one_of(texts, payloads.map(lambda payload: wrap_with_types(payload, WIRE_VERSION))))
def test_relayed_line_estimate_bounds_every_relay(line: str) -> None:
    assert len(LONGEST_ADDR) == 58
    estimate = relayed_line_estimate(line)
    assert estimate >= len(encode_envelope(LONGEST_ADDR, line.removesuffix("\n"))) - 1
    assert estimate >= strictest_relay_len(line)
