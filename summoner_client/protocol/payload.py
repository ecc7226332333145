"""Typed payloads: the ``_version``/``_payload``/``_type`` envelope, wrapped on send, recovered on receive.

What belongs here: the envelope of spec §6.2, the JSON parse rule shared by both decoding layers
(§6.4 step 1), the relay-object steps 5-7, the registry of envelope versions (§6.5) and the 0.0.1 caster
(§6.6). What does not: bytes and framing (``framing``), the relay's own envelope and the per-line
decoder (``wire``), logging of any kind. Everything here is pure and synchronous.

Sending. ``wrap_with_types`` walks the payload once and builds the JSON form and the type tree together,
then encodes with orjson. The standard-library encoder is used only when orjson cannot encode a value
the wire can carry (integers beyond 64 bits, strings with lone surrogates), so every line is strict
JSON: non-finite floats travel as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` tagged
``"float"`` **[D-31]**.

Receiving. Each layer is parsed exactly once **[D-9]**: the relay line, then the relay object's
``content`` string. Nothing inside ``_payload`` is parsed again, so a string that looks like JSON stays
a string. orjson parses first; the standard library takes over only for the original's NaN and
Infinity tokens, for lone-surrogate escapes, and when a run of 19 or more digits means orjson could turn
an integer beyond 64 bits into a float: precision is never lost.

Unknown envelope versions (defined behaviour). A typed envelope whose ``_version`` is a string with no
registered rules is cast with the rules registered for ``DEFAULT_VERSION`` ("0.0.1"), which is what the
original did silently. This module never logs: ``open_relayed`` returns the version it saw, and
``wire.DecodedLine.unknown_version`` tells the client runtime when to log its once-per-version WARNING.
A ``_version`` that is not a string means the object is not an envelope at all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Final, NamedTuple, TypedDict

import orjson
from pydantic import BaseModel

from summoner_client.errors import PayloadEncodeError, UnsupportedVersionError

__all__ = [
    "DEFAULT_VERSION",
    "REGISTERED_AT_IMPORT",
    "WIRE_VERSION",
    "EnvelopeCaster",
    "EnvelopeParser",
    "RelayedMessage",
    "content_may_hold_big_ints",
    "has_long_digit_run",
    "is_registered_version",
    "is_relay_object",
    "open_relayed",
    "parse_json",
    "recover_with_types",
    "register_envelope_version",
    "wrap_with_types",
]

DEFAULT_VERSION: Final = "0.0.1"
"""The version ``wrap_with_types`` writes by default, and the rules unknown versions are cast with."""

WIRE_VERSION: Final = "1.3.0"
"""The ``_version`` the client writes (``SummonerClient.core_version``); it changes only with the wire."""

REGISTERED_AT_IMPORT: Final = ("0.0.1", "1.0.0", "1.0.1", "1.1.0", "1.1.1", "1.2.0", "1.3.0")
"""Every version the original shipped; all share one type-tree builder and one caster (§1.3)."""

EnvelopeParser = Callable[[Any], Any]
"""Builds the ``_type`` tree of a payload, given the payload's JSON form."""

EnvelopeCaster = Callable[[Any, Any], Any]
"""Turns a received ``(_payload, _type)`` pair back into the value handlers get."""


class RelayedMessage(TypedDict):
    """What a receiver gets for a line a peer sent through a relay."""

    remote_addr: str
    content: Any


# --------------------------------------------------------------------------------------------------
# Sending: one walk builds the JSON form and the type tree together.
# --------------------------------------------------------------------------------------------------


def _non_finite_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _json_key(key: Any) -> str:
    # The standard library's key rules, in its order, so the original's receivers see the same keys.
    if isinstance(key, str):
        return str.__str__(key)
    if isinstance(key, float):
        return float.__repr__(key) if math.isfinite(key) else _non_finite_text(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise PayloadEncodeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _typed(value: Any) -> tuple[Any, Any]:
    """Return ``(JSON form, type tree)`` of ``value`` under the rules of spec §6.2."""
    cls = type(value)
    if cls is str:
        return value, "str"
    if cls is int:
        return value, "int"
    if cls is float:
        return (value if math.isfinite(value) else _non_finite_text(value)), "float"
    if cls is bool:  # bool is a subclass of int, so it is told apart by exact type, never isinstance
        return value, "bool"
    if value is None:
        return None, "null"
    if cls is dict:
        return _typed_dict(value)
    if cls is list:
        return _typed_list(value)
    return _typed_other(value)


def _typed_dict(mapping: dict[Any, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    body: dict[str, Any] = {}
    tree: dict[str, Any] = {}
    for key, item in dict.items(mapping):
        name = key if type(key) is str else _json_key(key)
        body[name], tree[name] = _typed(item)
    return body, tree


def _typed_list(items: list[Any]) -> tuple[list[Any], list[Any]]:
    body: list[Any] = []
    tree: list[Any] = []
    for item in list.__iter__(items):
        item_body, item_tree = _typed(item)
        body.append(item_body)
        tree.append(item_tree)
    return body, tree


def _typed_other(value: Any) -> tuple[Any, Any]:
    # Subclasses are sent as their base type's data, as the standard-library encoder writes them; the
    # base-class methods read that data even when the subclass overrides __str__ or __int__.
    if isinstance(value, str):
        return str.__str__(value), "str"
    if isinstance(value, int):
        return int.__int__(value), "int"
    if isinstance(value, float):
        return _typed(float.__float__(value))
    if isinstance(value, dict):
        return _typed_dict(value)
    if isinstance(value, list):
        return _typed_list(value)
    if isinstance(value, BaseModel):
        return _typed(value.model_dump(mode="json"))
    return str(value), "str"


def _encode_line(envelope: dict[str, Any]) -> str:
    try:
        return orjson.dumps(envelope, option=orjson.OPT_APPEND_NEWLINE).decode()
    except orjson.JSONEncodeError:
        pass
    # orjson refuses integers beyond 64 bits and lone surrogates; the standard library writes both as
    # strict JSON. ensure_ascii keeps a lone surrogate an escape rather than invalid UTF-8.
    try:
        return json.dumps(envelope, separators=(",", ":"), ensure_ascii=True, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise PayloadEncodeError(f"payload has no JSON form: {exc}") from exc


def wrap_with_types(payload: Any, version: str = DEFAULT_VERSION) -> str:
    """Encode ``payload`` as one typed-envelope line, newline included.

    Args:
        payload: Any value. Values with no JSON form are sent as ``str(value)`` tagged ``"str"``, as the
            original did; pydantic models are sent as their ``model_dump(mode="json")``.
        version: The ``_version`` to write; its registered parser builds the type tree. The client
            passes ``WIRE_VERSION``.

    Returns:
        ``{"_version":...,"_payload":...,"_type":...}`` followed by ``"\\n"``: compact, keys in that
        order, strict JSON.

    Raises:
        UnsupportedVersionError: ``version`` has no registered rules (a ``ValueError``).
        PayloadEncodeError: a dict key of a type JSON cannot express (a ``TypeError``).
    """
    rules = _RULES.get(version)
    if rules is None:
        raise UnsupportedVersionError(version)
    body, tree = rules.build(payload)
    return _encode_line({"_version": version, "_payload": body, "_type": tree})


# --------------------------------------------------------------------------------------------------
# Casting (§6.6) and the version registry (§6.5).
# --------------------------------------------------------------------------------------------------


_EXACT_TYPES: Final[dict[str, type]] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "null": type(None),
}


def _cast(value: Any, type_tree: Any) -> Any:
    """The 0.0.1 caster. Containers parsed from the line are updated in place: nothing else holds them."""
    if type(type_tree) is str:
        return value if _EXACT_TYPES.get(type_tree) is type(value) else _cast_scalar(value, type_tree)
    if isinstance(type_tree, list):
        if isinstance(value, list):
            for index in range(min(len(value), len(type_tree))):
                value[index] = _cast(value[index], type_tree[index])
        return value
    if isinstance(type_tree, dict) and isinstance(value, dict):
        for key, item_tree in type_tree.items():
            if key in value:
                item = value[key]
                # Skipping items already of their tagged type saves a call per field on typical payloads.
                if type(item_tree) is not str or _EXACT_TYPES.get(item_tree) is not type(item):
                    value[key] = _cast(item, item_tree)
    return value


def _cast_scalar(value: Any, type_name: str) -> Any:
    if type_name == "str":
        return str(value)
    if type_name == "int":
        return _convert(int, value)
    if type_name == "float":
        return _convert(float, value)
    if type_name == "bool":
        return bool(value)
    if type_name == "null":
        return None
    return value


def _convert(kind: Callable[[Any], Any], value: Any) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):  # int(inf) overflows; int("x") and int(None) fail
        return value


class _Rules(NamedTuple):
    build: Callable[[Any], tuple[Any, Any]]  # payload -> (JSON form, type tree), for sending
    caster: EnvelopeCaster


_RULES: dict[str, _Rules] = {}


def _custom_builder(parser: EnvelopeParser) -> Callable[[Any], tuple[Any, Any]]:
    def build(payload: Any) -> tuple[Any, Any]:
        body = _typed(payload)[0]
        return body, parser(body)

    return build


def register_envelope_version(version: str, parser: EnvelopeParser, caster: EnvelopeCaster) -> None:
    """Add or replace the rules for one envelope version (§6.5).

    A future wire version with a different payload shape must be registered by the release that
    introduces it; until then its envelopes are cast with the ``DEFAULT_VERSION`` rules.

    Args:
        version: The ``_version`` string the rules apply to.
        parser: Builds the ``_type`` tree when sending. It receives the payload's JSON form (keys
            converted, models dumped, odd values turned into strings), so the tree it returns describes
            exactly the ``_payload`` that is written.
        caster: ``caster(_payload, _type)`` gives the value receivers get. It may update the parsed
            containers in place. Exceptions it raises reach the caller of the decoder.
    """
    _RULES[version] = _Rules(_custom_builder(parser), caster)


def is_registered_version(version: str) -> bool:
    """Tell whether ``version`` has registered rules, so its envelopes are cast with its own caster."""
    return version in _RULES


for _version in REGISTERED_AT_IMPORT:
    _RULES[_version] = _Rules(_typed, _cast)  # one walk builds payload and tree for the built-in rules


# --------------------------------------------------------------------------------------------------
# Receiving: §6.4 steps 1 and 5-7.
# --------------------------------------------------------------------------------------------------

_DIGITS_ONLY: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGIT_RUN: Final = b"0" * 19
_STDLIB_TOKENS_BYTES: Final = re.compile(rb"NaN|Infinity|\\u[dD][89a-fA-F]")
_STDLIB_TOKENS_TEXT: Final = re.compile(r"NaN|Infinity|\\u[dD][89a-fA-F]")
_ESCAPED_DIGIT: Final = b"\\u003"


def has_long_digit_run(data: bytes) -> bool:
    """Tell whether ``data`` holds 19 or more consecutive ASCII digits.

    It is the cheap trigger of §6.4 step 1: orjson turns integers beyond 64 bits into floats, and such an
    integer needs at least 19 digits. One translate and one substring search, no regex: this runs on
    every received line.
    """
    return _LONG_DIGIT_RUN in data.translate(_DIGITS_ONLY)


def parse_json(data: bytes | str, *, big_ints: bool) -> Any:
    """Parse one JSON document without losing anything the original could send (§6.4 step 1).

    Args:
        data: The document, as UTF-8 bytes or text.
        big_ints: True when the text may hold an integer beyond 64 bits (see ``has_long_digit_run``);
            the standard-library parser is then used directly, since orjson would return a float.

    Returns:
        The parsed value.

    Raises:
        ValueError: ``data`` is not JSON (or, for bytes, not UTF-8). Deeply nested input the standard
            library cannot parse counts as not JSON too.
    """
    if not big_ints:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            if not _needs_stdlib(data):
                raise
    text = data if isinstance(data, str) else data.decode("utf-8")
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc


def _needs_stdlib(data: bytes | str) -> bool:
    # Only the tokens orjson refuses and the original could write justify a second, slower parse.
    if isinstance(data, str):
        return _STDLIB_TOKENS_TEXT.search(data) is not None
    return _STDLIB_TOKENS_BYTES.search(data) is not None


def is_relay_object(value: Any) -> bool:
    """Tell whether a parsed line is a relayed message: an object with ``remote_addr`` and ``content``."""
    return type(value) is dict and "remote_addr" in value and "content" in value


def open_relayed(message: dict[str, Any], *, big_ints: bool) -> str | None:
    """Apply §6.4 steps 5-7 to a relay object, replacing its ``content`` in place.

    A ``content`` string is parsed once; if it is not JSON it stays as it is. Content that is (now) a
    typed envelope is replaced by its cast payload. Other keys of ``message`` are kept.

    Args:
        message: A parsed relay object (see ``is_relay_object``); the caller owns it.
        big_ints: Whether the content text may hold an integer beyond 64 bits (``parse_json``).

    Returns:
        The envelope's ``_version`` when content was a typed envelope, else None. A version for which
        ``is_registered_version`` is false was cast with the ``DEFAULT_VERSION`` rules.
    """
    content = message["content"]
    if type(content) is str:
        try:
            content = message["content"] = parse_json(content, big_ints=big_ints)
        except ValueError:
            return None
    if type(content) is not dict:
        return None
    version = content.get("_version")
    if type(version) is not str or "_payload" not in content or "_type" not in content:
        return None
    rules = _RULES.get(version) or _RULES[DEFAULT_VERSION]
    try:
        message["content"] = rules.caster(content["_payload"], content["_type"])
    except RecursionError:
        # Nested past Python's recursion limit (orjson allows 1024 levels): delivered as an ordinary
        # relay object, its envelope possibly part-cast, rather than raising on input from the network.
        return None
    return version


def content_may_hold_big_ints(line: bytes, line_has_run: bool) -> bool:
    """Tell whether the content string inside a relay line may hold an integer beyond 64 bits.

    The content's digits appear in the line as digits, unless an encoder escaped them as ``\\u003x``;
    so the line's own check answers for the content without scanning the content again.
    """
    return line_has_run or _ESCAPED_DIGIT in line


def recover_with_types(text: str) -> Any:
    """Decode one received line given as text, applying §6.4 steps 1-7; never raises for bad input.

    Args:
        text: The line, without its newline.

    Returns:
        The text itself when it is not JSON; the parsed value otherwise, with a relay object's
        ``content`` parsed once and a typed envelope in it cast back to the sent value.
    """
    encoded = text.encode("utf-8", "surrogatepass")
    has_run = has_long_digit_run(encoded)
    try:
        value = parse_json(text, big_ints=has_run)
    except ValueError:
        return text
    if is_relay_object(value):
        open_relayed(value, big_ints=content_may_hold_big_ints(encoded, has_run))
    return value
