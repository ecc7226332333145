"""ArrowStyle validation, identity and drawing (spec §4.5)."""

from __future__ import annotations

from typing import Any

import pytest

from summoner_client.errors import FlowSyntaxError
from summoner_client.protocol.process import ArrowStyle


def usual() -> ArrowStyle:
    return ArrowStyle(stem="-", brackets=("[", "]"), separator=",", tip=">")


def test_usual_style_is_valid_and_draws_labelled_arrow() -> None:
    assert usual().draw("A", "f", "B") == "A--[f]-->B"


def test_style_accepts_positional_arguments_and_multi_char_parts() -> None:
    style = ArrowStyle("=", ("{{", "}}"), "&&", "=>>")
    assert style.draw("A", "", "B") == "A=={{}}===>>B"


def test_equal_styles_are_equal_and_hash_alike() -> None:
    assert usual() == usual()
    assert hash(usual()) == hash(usual())
    assert len({usual(), usual()}) == 1


@pytest.mark.parametrize(
    "changes",
    [{"stem": "="}, {"brackets": ("{", "}")}, {"separator": ";"}, {"tip": ")"}],
)
def test_equality_covers_all_four_fields(changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"stem": "-", "brackets": ("[", "]"), "separator": ",", "tip": ">"}
    assert ArrowStyle(**{**fields, **changes}) != usual()


def test_brackets_given_as_list_are_stored_as_tuple() -> None:
    style = ArrowStyle("-", ["[", "]"], ",", ">")  # type: ignore[arg-type]
    assert style.brackets == ("[", "]")
    assert style == usual()


def test_style_is_immutable() -> None:
    with pytest.raises(AttributeError):
        usual().stem = "="  # type: ignore[misc]


def test_repr_is_plain() -> None:
    assert repr(usual()) == "ArrowStyle(stem='-', brackets=('[', ']'), separator=',', tip='>')"


@pytest.mark.parametrize("stem", ["", "--", 1, None])
def test_stem_must_be_exactly_one_character(stem: Any) -> None:
    with pytest.raises(FlowSyntaxError, match="stem"):
        ArrowStyle(stem, ("[", "]"), ",", ">")


@pytest.mark.parametrize(
    ("brackets", "separator", "tip"),
    [
        (("", "]"), ",", ">"),
        (("[", ""), ",", ">"),
        (("[", "]"), "", ">"),
        (("[", "]"), ",", ""),
        ((1, "]"), ",", ">"),
        (("[", None), ",", ">"),
        (("[", "]"), 0, ">"),
        (("[", "]"), ",", b">"),
    ],
)
def test_brackets_separator_and_tip_must_be_non_empty_strings(
    brackets: Any, separator: Any, tip: Any
) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        ArrowStyle("-", brackets, separator, tip)


@pytest.mark.parametrize("brackets", [("[",), ("[", "]", ")"), "[]", None])
def test_brackets_must_be_a_pair(brackets: Any) -> None:
    with pytest.raises(FlowSyntaxError, match="pair"):
        ArrowStyle("-", brackets, ",", ">")


@pytest.mark.parametrize(
    ("stem", "brackets", "tip"),
    [
        ("-", ("--", "]"), ">"),  # left bracket equals stem*2
        ("-", ("[", "-"), ">"),  # right bracket inside stem*2
        ("-", ("[", "]"), "-->"),  # stem*2 inside the tip
        ("-", ("[", "]"), "--"),  # tip equals stem*2
        ("-", ("[", "["), ">"),  # the brackets equal each other
        ("-", ("[[", "["), ">"),  # right inside left
        ("-", ("[", "]"), "]>"),  # right bracket inside tip
        ("-", ("<", "]"), "<"),  # tip equals left bracket
    ],
)
def test_parts_that_are_substrings_of_one_another_are_rejected(
    stem: str, brackets: tuple[str, str], tip: str
) -> None:
    with pytest.raises(FlowSyntaxError, match="substrings"):
        ArrowStyle(stem, brackets, ",", tip)


@pytest.mark.parametrize("separator", ["-", "a-b", "[", "]", ">", "(", ")", "/", ",/"])
def test_separator_must_not_contain_arrow_parts_or_token_characters(separator: str) -> None:
    with pytest.raises(FlowSyntaxError, match="separator"):
        ArrowStyle("-", ("[", "]"), separator, ">")
