"""Route parsing is stable: parsing the normalised text of a parsed route gives the same text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summoner_client.errors import FlowSyntaxError
from summoner_client.protocol.flow import Flow
from summoner_client.protocol.process import ArrowStyle

USUAL = ArrowStyle("-", ("[", "]"), ",", ">")
SECOND = ArrowStyle("=", ("{", "}"), "&&", ">>")

SETTINGS = settings(max_examples=200, deadline=None, database=None)

names = st.sampled_from(["A", "B", "c", "_d", "e1", "state_2"])
gates = st.builds(
    lambda kind, items: f"/{kind}({', '.join(items)})",
    st.sampled_from(["not", "oneof"]),
    st.lists(names, max_size=3),
)
tokens = st.one_of(names, gates, st.just("/all"))
parts = st.lists(tokens, max_size=3)
spaces = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def arrow_routes(draw: st.DrawFn, style: ArrowStyle, *, bare: bool = False) -> str:
    """A route in one of the arrow shapes of ``style``, with random spacing around its parts.

    A route needs a source or a target; ``bare=True`` draws the invalid routes that have neither.
    """
    sep = style.separator
    left, right = style.brackets
    shaft = style.stem * 2
    source_tokens = [] if bare else draw(parts)
    target_tokens = [] if bare else draw(st.lists(tokens, min_size=0 if source_tokens else 1, max_size=3))
    source = (draw(spaces) + sep).join(source_tokens)
    target = (sep + draw(spaces)).join(target_tokens)
    if draw(st.booleans()):
        label = (sep + draw(spaces)).join(draw(parts))
        arrow = f"{shaft}{left}{draw(spaces)}{label}{draw(spaces)}{right}{shaft}{style.tip}"
    else:
        arrow = f"{shaft}{style.tip}"
    return f"{draw(spaces)}{source}{draw(spaces)}{arrow}{draw(spaces)}{target}{draw(spaces)}"


object_routes = st.lists(tokens, max_size=4).map(", ".join)


def flow_with(*styles: ArrowStyle) -> Flow:
    flow = Flow().activate()
    for style in styles:
        flow.arrows.add(style)
    return flow


def assert_stable(flow: Flow, route: str) -> None:
    first = flow.parse_route(route)
    again = flow.parse_route(str(first))
    assert str(again) == str(first)
    assert (again.source, again.label, again.target) == (first.source, first.label, first.target)


@SETTINGS
@given(arrow_routes(USUAL))
def test_usual_style_route_text_is_stable_under_reparse(route: str) -> None:
    assert_stable(flow_with(USUAL), route)


@SETTINGS
@given(arrow_routes(SECOND))
def test_second_style_route_text_is_stable_under_reparse(route: str) -> None:
    assert_stable(flow_with(SECOND), route)


@SETTINGS
@given(st.one_of(arrow_routes(USUAL), arrow_routes(SECOND)))
def test_route_text_is_stable_with_both_styles_registered(route: str) -> None:
    assert_stable(flow_with(USUAL, SECOND), route)
    assert_stable(flow_with(SECOND, USUAL), route)


@SETTINGS
@given(object_routes)
def test_object_route_text_is_stable_under_reparse(route: str) -> None:
    assert_stable(flow_with(USUAL), route)


@SETTINGS
@given(st.sampled_from([USUAL, SECOND]).flatmap(lambda style: arrow_routes(style, bare=True)))
def test_arrow_with_neither_source_nor_target_is_rejected(route: str) -> None:
    with pytest.raises(FlowSyntaxError):
        flow_with(USUAL, SECOND).parse_route(route)
