"""The relay's line envelope and the decoder of every received line.

What belongs here, for both sides of the wire:

- the relay envelope ``{"remote_addr":"A","content":"ESC(T)"}`` + LF and its exact length (relay spec
  §2.4 and §2.6), used by the relay before it fans a line out;
- the client's estimate of how long the relay will make an outgoing line (client spec §12.8);
- ``decode_line``, which turns one framed line into what hooks and receivers get (client spec §6.4).

What does not: framing (``framing``), the typed envelope and its casting (``payload``), notice texts
(``notices``), and logging. The decoder reports what it saw (an undecodable line, an unknown envelope
version) in its result, and the client runtime decides what to log and count.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final, NamedTuple

import orjson

from summoner_client.protocol.payload import (
    content_may_hold_big_ints,
    has_long_digit_run,
    is_registered_version,
    is_relay_object,
    open_relayed,
    parse_json,
)

__all__ = [
    "ENVELOPE_OVERHEAD_BYTES",
    "MAX_ADDRESS_CHARS",
    "MAX_RELAYED_LINE_BYTES",
    "RELAYED_OVERHEAD_ESTIMATE",
    "DecodedLine",
    "LineKind",
    "decode_line",
    "encode_envelope",
    "envelope_len",
    "escaped_len",
    "relayed_line_estimate",
]

MAX_RELAYED_LINE_BYTES: Final = 65_536
"""Longest line a relay may write, LF excluded: Summoner 1.3 clients stop for good on a longer one."""

ENVELOPE_OVERHEAD_BYTES: Final = 31
"""Fixed bytes of the relay envelope: ``{"remote_addr":"","content":""}``."""

MAX_ADDRESS_CHARS: Final = 58
"""Longest address string a relay writes: an IPv6 address with a scope id, in brackets, with a port."""

RELAYED_OVERHEAD_ESTIMATE: Final = ENVELOPE_OVERHEAD_BYTES + MAX_ADDRESS_CHARS
"""Envelope bytes added to an outgoing line's escaped length, for any relay and any address (89)."""

_SHORT_ESCAPES: Final = "\b\t\n\f\r"
_CONTROL_BYTES: Final = bytes(range(0x20))


def encode_envelope(remote_addr: str, text: str) -> bytes:
    """Encode the line every recipient of a relayed line receives, LF included (relay spec §2.4).

    Compact, ``remote_addr`` first, ``content`` a JSON string with minimal escaping and raw UTF-8: the
    bytes both relays must write.

    Args:
        remote_addr: The sender's address string, fixed at admission.
        text: The line body, decoded as strict UTF-8 (so it holds no lone surrogates).

    Returns:
        The envelope bytes, ending with LF.
    """
    return orjson.dumps({"remote_addr": remote_addr, "content": text}, option=orjson.OPT_APPEND_NEWLINE)


def escaped_len(text: str) -> int:
    """Length in bytes of ``ESC(text)``: the JSON string body a relay writes, without its quotes.

    orjson measures it in one pass in C, which is far faster than counting escapes in Python, and it is
    the encoder ``encode_envelope`` uses, so the two always agree.

    Args:
        text: Text with no lone surrogates (any strict UTF-8 decoding qualifies).
    """
    return len(orjson.dumps(text)) - 2


def envelope_len(remote_addr: str, text: str) -> int:
    """Length of the envelope for ``text``, LF excluded: ``31 + len(A) + len(ESC(T))`` (relay spec §2.6).

    It equals ``len(encode_envelope(remote_addr, text)) - 1``, so a relay can check the 65,536-byte
    ceiling before building the envelope.

    Args:
        remote_addr: The sender's address string. Every address form of relay spec §2.4 is ASCII with
            nothing to escape, so its length is its encoded length.
        text: The line body, as for ``encode_envelope``.
    """
    return ENVELOPE_OVERHEAD_BYTES + len(remote_addr) + escaped_len(text)


def relayed_line_estimate(line: str) -> int:
    """Upper bound on the length of the line any relay writes for ``line`` (client spec §12.8).

    Counted the way the strictest known relay escapes (the Summoner 1.3 Python relay writes ASCII only):
    1 byte per ASCII character, 2 per ``"`` or ``\\``, 6 per other control character, 6 per non-ASCII
    character and 12 outside the Basic Multilingual Plane; plus 89 bytes of envelope for the longest
    address. The client refuses to send a line whose estimate exceeds ``sender.max_bytes_per_line``.

    Args:
        line: The outgoing line. A final LF is its terminator, not content, and is not counted.

    Returns:
        The estimated relayed length in bytes, LF excluded.
    """
    body = line[:-1] if line.endswith("\n") else line
    if not body.isascii():
        return _non_ascii_estimate(body) + RELAYED_OVERHEAD_ESTIMATE
    # ASCII fast path. orjson's minimal escaping already counts 2 for '"' and '\\' and 6 for most
    # control characters; only the five with short escapes (\b \t \n \f \r) need 4 more each.
    size = len(orjson.dumps(body)) - 2
    for char in _SHORT_ESCAPES:
        if char in body:
            size += 4 * body.count(char)
    return size + RELAYED_OVERHEAD_ESTIMATE


def _non_ascii_estimate(text: str) -> int:
    ascii_part = text.encode("ascii", "ignore")
    non_ascii = len(text) - len(ascii_part)
    astral = len(text.encode("utf-16-le", "surrogatepass")) // 2 - len(text)  # one extra unit each
    controls = len(ascii_part) - len(ascii_part.translate(None, _CONTROL_BYTES))
    escapes = ascii_part.count(b'"') + ascii_part.count(b"\\") + 5 * controls
    return len(ascii_part) + escapes + 6 * non_ascii + 6 * astral


class LineKind(Enum):
    """What a received line turned out to be."""

    RELAYED = "relayed"
    """A relay object: the payload is a ``RelayedMessage``, its content decoded (and cast if typed)."""
    VALUE = "value"
    """Any other JSON value, delivered as parsed (a JSON string becomes a ``str``)."""
    TEXT = "text"
    """Not JSON: the text itself, a trailing CR kept. Relay notices arrive this way."""
    UNDECODABLE = "undecodable"
    """Not valid UTF-8: the client skips it with a WARNING and counts it in ``lines_undecodable``."""


class DecodedLine(NamedTuple):
    """The result of decoding one received line.

    Attributes:
        payload: What hooks and receivers get; None for an undecodable line.
        kind: What the line was.
        envelope_version: The ``_version`` of the typed envelope found in a relayed message's content,
            or None when there was none.
        unknown_version: True when ``envelope_version`` has no registered rules, so the payload was cast
            with the ``DEFAULT_VERSION`` rules. The client logs one WARNING per distinct version per
            session; this layer never logs.
    """

    payload: Any
    kind: LineKind
    envelope_version: str | None = None
    unknown_version: bool = False


_UNDECODABLE: Final = DecodedLine(None, LineKind.UNDECODABLE)


def decode_line(raw: bytes) -> DecodedLine:
    """Decode one framed line, parsing each layer exactly once (client spec §6.4 steps 1-7).

    Never raises for bad input: text that is not JSON is delivered as text, and bytes that are not
    UTF-8 give an ``UNDECODABLE`` result.

    Args:
        raw: The line body as framed, without its LF (a CR before it kept, as the client frames).

    Returns:
        The payload with what the decoder saw on the way.
    """
    has_run = has_long_digit_run(raw)
    try:
        value = parse_json(raw, big_ints=has_run)
    except ValueError:
        try:
            return DecodedLine(raw.decode("utf-8"), LineKind.TEXT)
        except UnicodeDecodeError:
            return _UNDECODABLE
    if not is_relay_object(value):
        return DecodedLine(value, LineKind.VALUE)
    version = open_relayed(value, big_ints=content_may_hold_big_ints(raw, has_run))
    if version is None:
        return DecodedLine(value, LineKind.RELAYED)
    return DecodedLine(value, LineKind.RELAYED, version, not is_registered_version(version))
