"""``summoner_client.utils``: the original's helper names, re-exported from their real homes."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import uuid
from collections import OrderedDict
from enum import IntEnum
from typing import Any

import pytest

from summoner_client import utils
from summoner_client.client import _source
from summoner_client.config import loading
from summoner_client.protocol import _text


def test_every_name_of_the_import_table_row_is_a_re_export() -> None:
    homes = {
        "load_config": loading,
        "get_callable_source": _source,
        "format_addr": _text,
        "remove_last_newline": _text,
        "ensure_trailing_newline": _text,
        "is_jsonable": _text,
        "fully_recover_json": _text,
    }
    assert sorted(utils.__all__) == sorted(homes)
    for name, home in homes.items():
        assert getattr(utils, name) is getattr(home, name)


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        (("127.0.0.1", 8888), "127.0.0.1:8888"),
        (["10.0.0.1", 1], "10.0.0.1:1"),
        (("::1", 8888, 0, 0), "::1:8888"),
        ("127.0.0.1:9", "127.0.0.1:9"),
        (None, "None"),
        (("solo",), "('solo',)"),
    ],
)
def test_format_addr(addr: object, expected: str) -> None:
    assert utils.format_addr(addr) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("a\n", "a"), ("a\n\n", "a\n"), ("a", "a"), ("", ""), ("\n", "")]
)
def test_remove_last_newline_removes_exactly_one(text: str, expected: str) -> None:
    assert utils.remove_last_newline(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("a", "a\n"), ("a\n", "a\n"), ("", "\n"), ("a\n\n", "a\n\n")])
def test_ensure_trailing_newline(text: str, expected: str) -> None:
    assert utils.ensure_trailing_newline(text) == expected


class Level(IntEnum):
    LOW = 1


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, 2.5, None, True, ("t", "u")]}, True),
        ("text", True),
        (OrderedDict(a=1), True),
        (Level.LOW, True),
        ({1: "int key"}, False),
        (2**70, False),
        ({1, 2}, False),
        (datetime.date(2024, 1, 1), False),
        (uuid.UUID(int=0), False),
        (Point(1), False),
        (object(), False),
    ],
)
def test_is_jsonable(value: Any, expected: bool) -> None:
    assert utils.is_jsonable(value) is expected


def test_is_jsonable_refuses_a_cycle() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    assert utils.is_jsonable(cycle) is False


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"a": "[1, 2]"}', {"a": [1, 2]}),
        ("true", True),
        ('"\\"nested\\""', "nested"),
        ({"k": '{"x": "3"}', "n": ["4", "word"]}, {"k": {"x": 3}, "n": [4, "word"]}),
        ("not json", "not json"),
        (5, 5),
    ],
)
def test_fully_recover_json_decodes_strings_at_any_depth(data: Any, expected: Any) -> None:
    assert utils.fully_recover_json(data) == expected


def test_get_callable_source_prefers_the_override_then_the_file_then_the_recorded_text() -> None:
    def here() -> None: ...

    assert utils.get_callable_source(here, "given") == "given"
    assert utils.get_callable_source(here).strip().startswith("def here()")
    namespace: dict[str, Any] = {}
    exec("def built():\n    pass\n", namespace)
    built = namespace["built"]
    assert "raise RuntimeError('source unavailable')" in utils.get_callable_source(built)
    built.__dna_source__ = "def built():\n    return 2\n"
    assert utils.get_callable_source(built) == built.__dna_source__
    pair = (
        "the statement starts here",
        lambda: None,
    )
    expected = '    pair = (\n        "the statement starts here",\n        lambda: None,\n    )\n'
    assert utils.get_callable_source(pair[1]) == expected
    assert utils.get_callable_source(object()).startswith("async def object(*args, **kwargs):")
    assert _source.source_stub(functools.partial(print)).startswith("async def print(")


def test_dna_name() -> None:
    assert _source.dna_name(Point) == f"{__name__}:Point"
    assert _source.dna_name(test_dna_name) == f"{__name__}:test_dna_name"
    assert _source.dna_name(None) is None
    assert _source.dna_name(3) is None
