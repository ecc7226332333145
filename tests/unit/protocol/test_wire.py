"""The relay envelope, line lengths, notices and decode_line (client §6.3-§6.5, §12.8; relay §2.4-§2.7)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from summoner_client.protocol.notices import MAX_NOTICE_BYTES, NOTICE_PREFIX, Notice, is_notice
from summoner_client.protocol.payload import wrap_with_types
from summoner_client.protocol.wire import (
    MAX_RELAYED_LINE_BYTES,
    RELAYED_OVERHEAD_ESTIMATE,
    DecodedLine,
    LineKind,
    decode_line,
    encode_envelope,
    envelope_len,
    escaped_len,
    relayed_line_estimate,
)

ADDR = "127.0.0.1:44568"


def relayed(line: str, addr: str = ADDR) -> bytes:
    """What a recipient's framing yields when our relay forwards ``line``."""
    return encode_envelope(addr, line.removesuffix("\n"))[:-1]


def received_content(payload: Any) -> Any:
    decoded = decode_line(relayed(wrap_with_types(payload, "1.3.0")))
    assert decoded.kind is LineKind.RELAYED
    assert decoded.payload["remote_addr"] == ADDR
    return decoded.payload["content"]


def reference_estimate(line: str) -> int:
    body = line.removesuffix("\n")
    size = 0
    for char in body:
        code = ord(char)
        if char in '"\\':
            size += 2
        elif code < 0x20:
            size += 6
        elif code < 0x80:
            size += 1
        else:
            size += 6 if code <= 0xFFFF else 12
    return size + 89


# --- relay envelope (relay spec §2.4, §2.6) -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"x": 1}', b'{"remote_addr":"127.0.0.1:44568","content":"{\\"x\\": 1}"}\n'),
        ("héllo ☃", '{"remote_addr":"127.0.0.1:44568","content":"héllo ☃"}\n'.encode()),
        ("", b'{"remote_addr":"127.0.0.1:44568","content":""}\n'),
    ],
)
def test_envelope_bytes_match_the_relay_spec_examples(text: str, expected: bytes) -> None:
    assert encode_envelope(ADDR, text) == expected


def test_envelope_escaping_is_minimal_with_lowercase_hex_and_raw_utf8() -> None:
    text = '"\\\b\t\n\f\r\x00\x01\x0b\x1f/\x7f\u2028\u2029é😀'
    expected = (
        b'{"remote_addr":"a","content":"\\"\\\\\\b\\t\\n\\f\\r\\u0000\\u0001\\u000b\\u001f/\x7f'
        + "\u2028\u2029é😀".encode()
        + b'"}\n'
    )
    assert encode_envelope("a", text) == expected


@pytest.mark.parametrize(
    ("addr", "text"),
    [
        (ADDR, '{"x": 1}'),
        ("[fe80::1%3]:8888", "héllo ☃ 😀"),
        ("peer-0123456789abcdef", '"\\\x00\x1f\n'),
        (ADDR, ""),
    ],
)
def test_envelope_len_equals_the_encoded_length_without_lf(addr: str, text: str) -> None:
    assert envelope_len(addr, text) == len(encode_envelope(addr, text)) - 1
    assert escaped_len(text) == envelope_len(addr, text) - 31 - len(addr)


@pytest.mark.parametrize(
    ("unit", "largest"),
    [("a", 65_490), ("é", 32_745), ('"', 32_745), ("\\", 32_745), ("\x01", 10_915)],
)
def test_the_ceiling_table_of_the_relay_spec_holds(unit: str, largest: int) -> None:
    assert envelope_len(ADDR, unit * largest) <= MAX_RELAYED_LINE_BYTES
    assert envelope_len(ADDR, unit * (largest + 1)) > MAX_RELAYED_LINE_BYTES


# --- outbound estimate (client spec §12.8) ------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "body_bytes"),
    [
        ("abc", 3),
        ("abc\n", 3),
        ('"', 2),
        ("\\", 2),
        ("\n", 0),
        ("a\nb", 8),
        ("\t\r\b\f\x00\x1f", 36),
        ("\x7f", 1),
        ("é", 6),
        ("☃", 6),
        ("\uffff", 6),
        ("😀", 12),
        ("\ud800", 6),
        ('é"\x01😀a', 6 + 2 + 6 + 12 + 1),
    ],
)
def test_relayed_line_estimate_counts_the_strictest_escaping(line: str, body_bytes: int) -> None:
    assert relayed_line_estimate(line) == body_bytes + 89 == reference_estimate(line)


def test_relayed_line_estimate_at_the_limit_boundary() -> None:
    assert RELAYED_OVERHEAD_ESTIMATE == 89
    fits = "a" * (65_536 - 89)
    assert relayed_line_estimate(fits + "\n") == 65_536
    assert relayed_line_estimate(fits + "a\n") == 65_537
    assert relayed_line_estimate('"' * ((65_536 - 89) // 2) + "a") == 65_536


def test_relayed_line_estimate_bounds_what_our_relay_writes_for_a_typed_envelope() -> None:
    line = wrap_with_types({"text": 'héllo "☃" \\ 😀', "n": [1, 2.5, None]}, "1.3.0")
    longest_addr = "[" + "f" * 50 + "]:65535"
    assert len(longest_addr) == 58
    assert relayed_line_estimate(line) >= len(relayed(line, longest_addr))


# --- notices (relay spec §2.7) ------------------------------------------------------------------

NOTICE_TEXTS = {
    "N1": "Warning: You are sending messages too quickly. Please slow down.",
    "N2": "Warning: You have been disconnected due to inactivity.",
    "N3": "Warning: Server is shutting down.",
    "N4": "Warning: Server disconnected.",
    "N5": "Warning: Message too long. It was not relayed.",
    "N6": "Warning: Message is not valid UTF-8. It was not relayed.",
    "N7": "Warning: Server is full. Please try again later.",
    "N8": "Warning: Too many connections from your address. Please try again later.",
    "N9": "Warning: Some messages were not delivered to you because you are not reading fast enough.",
    "N10": "Warning: You have been disconnected because you are not reading messages fast enough.",
    "N11": "Warning: Authentication failed.",
    "N12": "Warning: Your address is temporarily blocked. Please try again later.",
    "N13": "Warning: You have been disconnected because a message took too long to arrive.",
}


def test_every_notice_has_its_exact_text_and_code() -> None:
    assert {notice.code: notice.text for notice in Notice} == NOTICE_TEXTS


@pytest.mark.parametrize("notice", list(Notice))
def test_every_notice_line_follows_the_shape_rules(notice: Notice) -> None:
    assert notice.line == notice.text.encode("ascii") + b"\n"
    assert notice.line.startswith(NOTICE_PREFIX)
    assert len(notice.line) <= MAX_NOTICE_BYTES
    assert notice.line.count(b"\n") == 1


@pytest.mark.parametrize("notice", list(Notice))
def test_a_notice_line_is_delivered_as_its_text(notice: Notice) -> None:
    decoded = decode_line(notice.line[:-1])
    assert decoded == DecodedLine(notice.text, LineKind.TEXT)
    assert Notice.from_line(notice.line) is notice
    assert Notice.from_line(notice.text + "\r") is notice


def test_an_unknown_warning_line_is_a_notice_but_not_a_known_one() -> None:
    line = b"Warning: Something new happened."
    assert is_notice(line)
    assert is_notice(line.decode())
    assert Notice.from_line(line) is None
    assert decode_line(line) == DecodedLine(line.decode(), LineKind.TEXT)


def test_a_peer_sending_warning_text_cannot_pass_for_the_relay() -> None:
    raw = relayed(Notice.SHUTTING_DOWN.text)
    assert not is_notice(raw)
    assert decode_line(raw).payload == {"remote_addr": ADDR, "content": Notice.SHUTTING_DOWN.text}


# --- decode_line: what a receiver sees (client spec §6.4) ---------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "true",
        "null",
        '{"a": 1}',
        "1e3",
        '"quoted"',
        "[1,2]",
        "line 1\nline 2",
        {"to": None, "n": 3, "x": 1.5},
    ],
)
def test_what_a_receiver_sees_matches_what_was_sent(payload: Any) -> None:
    assert received_content(payload) == payload


def test_nan_is_received_as_nan() -> None:
    content = received_content(float("nan"))
    assert isinstance(content, float)
    assert math.isnan(content)


def test_raw_text_from_a_netcat_peer_is_received_as_text() -> None:
    assert decode_line(relayed("hello")) == DecodedLine(
        {"remote_addr": ADDR, "content": "hello"}, LineKind.RELAYED
    )


def test_raw_json_from_a_netcat_peer_is_parsed_once() -> None:
    assert decode_line(relayed('[1, "2"]')).payload["content"] == [1, "2"]


def test_raw_json_string_from_a_peer_becomes_its_value() -> None:
    assert decode_line(relayed('"quoted"')).payload["content"] == "quoted"


def test_nothing_inside_the_payload_is_parsed_again() -> None:
    assert received_content({"inner": '{"remote_addr": "x", "content": "[1]"}'}) == {
        "inner": '{"remote_addr": "x", "content": "[1]"}'
    }


def test_a_typed_envelope_result_reports_its_version() -> None:
    decoded = decode_line(relayed(wrap_with_types([1], "1.3.0")))
    assert decoded == DecodedLine({"remote_addr": ADDR, "content": [1]}, LineKind.RELAYED, "1.3.0", False)


def test_an_unknown_envelope_version_is_cast_with_the_default_rules_and_flagged() -> None:
    line = '{"_version":"9.9.9","_payload":{"n":"3","f":"NaN"},"_type":{"n":"int","f":"float"}}'
    decoded = decode_line(relayed(line))
    assert decoded.unknown_version
    assert decoded.envelope_version == "9.9.9"
    assert decoded.payload["content"]["n"] == 3
    assert math.isnan(decoded.payload["content"]["f"])


def test_a_version_that_is_not_a_string_means_not_an_envelope() -> None:
    line = '{"_version":1.3,"_payload":"3","_type":"int"}'
    decoded = decode_line(relayed(line))
    assert decoded == DecodedLine(
        {"remote_addr": ADDR, "content": {"_version": 1.3, "_payload": "3", "_type": "int"}}, LineKind.RELAYED
    )


def test_content_that_is_already_an_object_is_accepted_and_cast() -> None:
    raw = b'{"remote_addr":"1.2.3.4:5","content":{"_version":"1.3.0","_payload":"7","_type":"int"}}'
    assert decode_line(raw).payload == {"remote_addr": "1.2.3.4:5", "content": 7}


def test_extra_keys_of_the_relay_object_are_kept() -> None:
    raw = b'{"remote_addr":"1.2.3.4:5","content":"[1]","hop":2}'
    assert decode_line(raw).payload == {"remote_addr": "1.2.3.4:5", "content": [1], "hop": 2}


def test_json_values_that_are_not_relay_objects_are_delivered_as_parsed() -> None:
    assert decode_line(b'"text"') == DecodedLine("text", LineKind.VALUE)
    assert decode_line(b"[1, 2]") == DecodedLine([1, 2], LineKind.VALUE)
    assert decode_line(b"null") == DecodedLine(None, LineKind.VALUE)
    assert decode_line(b'{"content": "[1]"}') == DecodedLine({"content": "[1]"}, LineKind.VALUE)


def test_a_bare_typed_envelope_is_not_a_relayed_message_and_is_not_cast() -> None:
    line = wrap_with_types("7", "1.3.0").removesuffix("\n")
    assert decode_line(line.encode()).payload == {"_version": "1.3.0", "_payload": "7", "_type": "str"}


def test_an_empty_line_is_delivered_as_an_empty_string() -> None:
    assert decode_line(b"") == DecodedLine("", LineKind.TEXT)


def test_non_json_text_keeps_its_trailing_cr() -> None:
    assert decode_line(b"hello\r") == DecodedLine("hello\r", LineKind.TEXT)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"remote_addr": "1.2.3.4:5", "content": ',
        b'{"remote_addr": "1.2.3.4:5" "content": "x"}',
        b"{not json}",
        b"[1, 2",
        b"NaN is not a number",
        b'{"a": "tab\there"}',
        b"[" * 5000,
    ],
)
def test_malformed_lines_are_delivered_as_their_text(raw: bytes) -> None:
    assert decode_line(raw) == DecodedLine(raw.decode(), LineKind.TEXT)


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe", b'{"a": "\xff"}', b"caf\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"],
)
def test_bytes_that_are_not_utf8_are_reported_undecodable(raw: bytes) -> None:
    assert decode_line(raw) == DecodedLine(None, LineKind.UNDECODABLE)


# --- lines written by the original's clients and relays -----------------------------------------


def original_client_line(payload: Any, tree: Any, version: str = "1.3.0") -> str:
    """The original wrote spaced separators, ASCII escapes and NaN tokens."""
    return json.dumps({"_version": version, "_payload": payload, "_type": tree})


def test_a_line_from_the_original_python_relay_decodes() -> None:
    text = original_client_line(
        {"café": float("nan"), "big": 2**70, "s": "😀"}, {"café": "float", "big": "int", "s": "str"}
    )
    raw = json.dumps({"remote_addr": ADDR, "content": text}).encode()
    content = decode_line(raw).payload["content"]
    assert math.isnan(content["café"])
    assert content["big"] == 2**70
    assert content["s"] == "😀"


def test_a_line_from_the_original_rust_relay_with_sorted_keys_decodes() -> None:
    text = original_client_line([1, -math.inf], ["int", "float"])
    raw = json.dumps({"remote_addr": ADDR, "content": text}, sort_keys=True, separators=(",", ":"))
    assert raw.startswith('{"content"')
    assert decode_line(raw.encode()).payload == {"content": [1, -math.inf], "remote_addr": ADDR}


def test_nan_tokens_on_a_raw_line_are_parsed_like_the_original() -> None:
    decoded = decode_line(b"[NaN, Infinity, -Infinity]")
    assert math.isnan(decoded.payload[0])
    assert decoded.payload[1:] == [math.inf, -math.inf]


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, -9_999_999_999_999_999_999, 10**40])
def test_big_integers_stay_exact_on_every_layer(number: int) -> None:
    assert decode_line(str(number).encode()).payload == number
    assert decode_line(relayed(f"[{number}]")).payload["content"] == [number]
    assert received_content(number) == number


def test_a_big_integer_written_with_escaped_digits_stays_exact() -> None:
    digits = "123456789012345678901234"
    escaped = "".join(f"\\u003{d}" if i % 10 == 0 else d for i, d in enumerate(digits))
    raw = ('{"remote_addr":"a","content":"[' + escaped + ']"}').encode()
    assert decode_line(raw).payload["content"] == [int(digits)]


def test_a_lone_surrogate_sent_by_the_standard_library_fallback_is_received() -> None:
    assert received_content("a\ud800b") == "a\ud800b"


def test_a_payload_nested_past_the_recursion_limit_is_delivered_without_raising() -> None:
    nested = "[" * 1000 + "]" * 1000
    line = f'{{"_version":"1.3.0","_payload":{nested},"_type":{nested}}}'
    decoded = decode_line(relayed(line))
    assert decoded.kind is LineKind.RELAYED
