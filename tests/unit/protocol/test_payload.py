"""Typed payloads: wrap_with_types, casting, versions and recover_with_types (client spec §6.2, §6.4-§6.6)."""

from __future__ import annotations

import datetime
import enum
import json
import math
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from summoner_client.errors import PayloadEncodeError, UnsupportedVersionError
from summoner_client.protocol import payload as payload_module
from summoner_client.protocol.payload import (
    DEFAULT_VERSION,
    REGISTERED_AT_IMPORT,
    WIRE_VERSION,
    RelayedMessage,
    is_registered_version,
    recover_with_types,
    register_envelope_version,
    wrap_with_types,
)
from summoner_client.protocol.wire import encode_envelope

ADDR = "10.0.0.7:5000"


def sent(payload: Any, version: str = WIRE_VERSION) -> tuple[Any, Any]:
    envelope = orjson.loads(wrap_with_types(payload, version))
    return envelope["_payload"], envelope["_type"]


def relay_text(line: str) -> str:
    return encode_envelope(ADDR, line.removesuffix("\n"))[:-1].decode()


def received(envelope_payload: Any, type_tree: Any, version: str = WIRE_VERSION) -> Any:
    line = json.dumps({"_version": version, "_payload": envelope_payload, "_type": type_tree})
    return recover_with_types(relay_text(line))["content"]


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payload_module, "_RULES", dict(payload_module._RULES))


# --- the envelope we send (§6.2) ----------------------------------------------------------------


def test_the_spec_example_is_sent_byte_for_byte() -> None:
    assert wrap_with_types({"k": [1, 2.5, None, True]}, "1.3.0") == (
        '{"_version":"1.3.0","_payload":{"k":[1,2.5,null,true]},"_type":{"k":["int","float","null","bool"]}}\n'
    )


def test_the_default_version_is_0_0_1_and_the_wire_version_is_1_3_0() -> None:
    assert DEFAULT_VERSION == "0.0.1"
    assert WIRE_VERSION == "1.3.0"
    assert wrap_with_types("x") == '{"_version":"0.0.1","_payload":"x","_type":"str"}\n'


@pytest.mark.parametrize("version", REGISTERED_AT_IMPORT)
def test_every_version_of_the_original_is_registered_at_import(version: str) -> None:
    assert is_registered_version(version)
    assert wrap_with_types(1, version) == f'{{"_version":"{version}","_payload":1,"_type":"int"}}\n'


def test_an_unregistered_version_is_refused_with_the_original_message() -> None:
    with pytest.raises(UnsupportedVersionError, match=r"^Unsupported wrapper version: 2\.0\.0$") as caught:
        wrap_with_types(1, "2.0.0")
    assert isinstance(caught.value, ValueError)
    assert caught.value.version == "2.0.0"


class Shape(BaseModel):
    name: str
    sides: int
    when: datetime.date


class Opaque:
    def __str__(self) -> str:
        return "opaque!"


@pytest.mark.parametrize(
    ("value", "body", "tree"),
    [
        ("s", "s", "str"),
        (True, True, "bool"),
        (False, False, "bool"),
        (3, 3, "int"),
        (2**100, 2**100, "int"),
        (-(2**100), -(2**100), "int"),
        (1.5, 1.5, "float"),
        (float("nan"), "NaN", "float"),
        (float("inf"), "Infinity", "float"),
        (float("-inf"), "-Infinity", "float"),
        (None, None, "null"),
        ([1, "a", [False]], [1, "a", [False]], ["int", "str", ["bool"]]),
        ({"a": {"b": [None]}}, {"a": {"b": [None]}}, {"a": {"b": ["null"]}}),
        ((1, 2), "(1, 2)", "str"),
        ({7}, "{7}", "str"),
        (b"x", "b'x'", "str"),
        (Opaque(), "opaque!", "str"),
        (
            Shape(name="tri", sides=3, when=datetime.date(2024, 1, 2)),
            {"name": "tri", "sides": 3, "when": "2024-01-02"},
            {"name": "str", "sides": "int", "when": "str"},
        ),
        (
            [Shape(name="sq", sides=4, when=datetime.date(2024, 1, 2))],
            [{"name": "sq", "sides": 4, "when": "2024-01-02"}],
            [{"name": "str", "sides": "int", "when": "str"}],
        ),
    ],
)
def test_each_kind_of_value_gets_its_payload_and_type(value: Any, body: Any, tree: Any) -> None:
    assert sent(value) == (body, tree)


class LoudStr(str):
    def __str__(self) -> str:
        return "LOUD"


class Level(enum.IntEnum):
    HIGH = 3


class Color(enum.StrEnum):
    RED = "red"


class Ratio(float):
    pass


class Items(list[Any]):
    pass


class Record(dict[str, Any]):
    pass


@pytest.mark.parametrize(
    ("value", "body", "tree"),
    [
        (LoudStr("quiet"), "quiet", "str"),
        (Level.HIGH, 3, "int"),
        (Color.RED, "red", "str"),
        (Ratio(0.25), 0.25, "float"),
        (Ratio("nan"), "NaN", "float"),
        (Items([1, Level.HIGH]), [1, 3], ["int", "int"]),
        (Record(a=Items([True])), {"a": [True]}, {"a": ["bool"]}),
    ],
)
def test_subclasses_of_base_types_are_sent_as_their_base_type(value: Any, body: Any, tree: Any) -> None:
    assert sent(value) == (body, tree)


def test_dict_keys_are_converted_like_the_standard_library_encoder() -> None:
    value = {
        "s": 0,
        2: 1,
        1.5: 2,
        True: 3,
        False: 4,
        None: 5,
        float("inf"): 6,
        Level.HIGH: 7,
        LoudStr("k"): 8,
    }
    body, tree = sent(value)
    expected_keys = list(json.loads(json.dumps(value)))
    assert list(body) == expected_keys == ["s", "2", "1.5", "true", "false", "null", "Infinity", "3", "k"]
    assert list(tree) == expected_keys


def test_a_dict_key_of_another_type_is_an_encoding_failure() -> None:
    with pytest.raises(
        PayloadEncodeError, match="keys must be str, int, float, bool or None, not tuple"
    ) as caught:
        wrap_with_types({(1, 2): "x"})
    assert isinstance(caught.value, TypeError)


def test_a_payload_is_always_one_line() -> None:
    line = wrap_with_types({"text": "a\nb\r\nc", "list": ["\n"]})
    assert line.endswith("\n")
    assert line.count("\n") == 1


@pytest.mark.parametrize(
    "value",
    [float("nan"), [float("inf"), float("-inf")], {"x": {"y": float("nan")}}, {float("nan"): float("nan")}],
)
def test_non_finite_floats_never_produce_invalid_json(value: Any) -> None:
    line = wrap_with_types(value)

    def refuse(token: str) -> Any:
        raise ValueError(token)

    orjson.loads(line)
    json.loads(line, parse_constant=refuse)


def test_big_integers_fall_back_to_compact_ascii_standard_json() -> None:
    assert wrap_with_types({"n": 2**70, "é": 1}, "1.3.0") == (
        '{"_version":"1.3.0","_payload":{"n":1180591620717411303424,"\\u00e9":1},"_type":{"n":"int","\\u00e9":"int"}}\n'
    )


def test_a_lone_surrogate_falls_back_to_an_ascii_escape() -> None:
    line = wrap_with_types("a\ud800")
    assert line == '{"_version":"0.0.1","_payload":"a\\ud800","_type":"str"}\n'
    assert line.isascii()


def test_big_integers_round_trip_exactly() -> None:
    for number in (2**64, -(2**63) - 1, 10**50):
        assert recover_with_types(relay_text(wrap_with_types(number, WIRE_VERSION)))["content"] == number


# --- casting (§6.6) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "tree", "expected"),
    [
        (3, "str", "3"),
        (None, "str", "None"),
        ("12", "int", 12),
        (2.7, "int", 2),
        ("x", "int", "x"),
        (None, "int", None),
        ([1], "int", [1]),
        (3, "float", 3.0),
        ("1e3", "float", 1000.0),
        ("Infinity", "float", math.inf),
        ([1], "float", [1]),
        (0, "bool", False),
        ("x", "bool", True),
        ("", "bool", False),
        (5, "null", None),
        ([1, "2", "3"], ["str", "int"], ["1", 2, "3"]),
        ([1], ["int", "int"], [1]),
        ("x", ["int"], "x"),
        ({"a": "1", "b": "2"}, {"a": "int", "c": "int"}, {"a": 1, "b": "2"}),
        ("x", {"a": "int"}, "x"),
        ([{"a": "1"}], [{"a": "float"}], [{"a": 1.0}]),
        (1, "complex", 1),
        (1, 42, 1),
        (1, None, 1),
    ],
)
def test_casting_follows_the_0_0_1_rules(body: Any, tree: Any, expected: Any) -> None:
    result = received(body, tree)
    assert result == expected
    assert type(result) is type(expected)


def test_nan_strings_and_tokens_are_cast_back_to_floats() -> None:
    assert math.isnan(received("NaN", "float"))
    assert math.isnan(received(float("nan"), "float"))
    assert received(float("inf"), "int") == math.inf  # int(inf) fails, so the value is kept


def test_a_string_that_looks_like_json_stays_a_string() -> None:
    assert received('{"a": [1, 2]}', "str") == '{"a": [1, 2]}'


# --- versions (§6.5) ----------------------------------------------------------------------------


@pytest.mark.usefixtures("isolated_registry")
def test_a_registered_version_uses_its_parser_when_sending_and_its_caster_when_receiving() -> None:
    seen: list[Any] = []

    def parser(body: Any) -> Any:
        seen.append(body)
        return "custom"

    def caster(body: Any, tree: Any) -> Any:
        return ("cast", body, tree)

    register_envelope_version("2.0.0", parser, caster)
    line = wrap_with_types({1: (1, 2)}, "2.0.0")
    assert seen == [{"1": "(1, 2)"}]
    assert line == '{"_version":"2.0.0","_payload":{"1":"(1, 2)"},"_type":"custom"}\n'
    assert is_registered_version("2.0.0")
    assert recover_with_types(relay_text(line))["content"] == ("cast", {"1": "(1, 2)"}, "custom")


@pytest.mark.usefixtures("isolated_registry")
def test_unknown_versions_use_whatever_rules_the_default_version_has() -> None:
    register_envelope_version(DEFAULT_VERSION, lambda body: "t", lambda body, tree: "replaced")
    assert received("x", "str", version="7.7.7") == "replaced"
    assert received("x", "str", version="1.3.0") == "x"


def test_an_unknown_version_is_cast_with_the_default_rules() -> None:
    assert not is_registered_version("7.7.7")
    assert received({"n": "5"}, {"n": "int"}, version="7.7.7") == {"n": 5}


# --- recover_with_types (§6.4) ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
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
def test_recover_with_types_gives_back_what_was_sent(value: Any) -> None:
    assert recover_with_types(relay_text(wrap_with_types(value, WIRE_VERSION))) == {
        "remote_addr": ADDR,
        "content": value,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", "hello"),
        ("hello\r", "hello\r"),
        ("", ""),
        ("Warning: Server disconnected.", "Warning: Server disconnected."),
        ('{"remote_addr": "x", "content": ', '{"remote_addr": "x", "content": '),
        ("[1, 2]", [1, 2]),
        ('"text"', "text"),
        ('{"remote_addr": "x", "content": "hello"}', {"remote_addr": "x", "content": "hello"}),
        ('{"remote_addr": "x", "content": "[1, \\"2\\"]"}', {"remote_addr": "x", "content": [1, "2"]}),
        ("a\ud800", "a\ud800"),
        ('["\\ud800"]', ["\ud800"]),
        ("123456789012345678901234567890", 123456789012345678901234567890),
    ],
)
def test_recover_with_types_applies_the_decoding_steps_to_text(text: str, expected: Any) -> None:
    assert recover_with_types(text) == expected


def test_recover_with_types_never_raises_for_bad_input() -> None:
    for text in [
        "[" * 5000,
        "{" * 100,
        '{"remote_addr": 1, "content": {"_version": "1"}}',
        "\x00",
        "NaN NaN",
    ]:
        recover_with_types(text)


def test_relayed_message_is_a_typed_dict_of_address_and_content() -> None:
    assert RelayedMessage.__required_keys__ == frozenset({"remote_addr", "content"})
    message: RelayedMessage = {"remote_addr": ADDR, "content": 1}
    assert message["content"] == 1
