"""Flow, get_token_list and route parsing and normalisation (spec §4.6-4.8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from summoner_client.errors import FlowSyntaxError, FlowTypeError
from summoner_client.protocol import triggers
from summoner_client.protocol.flow import Flow, get_token_list
from summoner_client.protocol.process import ArrowStyle, Node

USUAL = ArrowStyle("-", ("[", "]"), ",", ">")
SEMICOLON = ArrowStyle("-", ("[", "]"), ";", ">")
LONG_TIP = ArrowStyle("-", ("[", "]"), ",", ">>")


def flow_with(*styles: ArrowStyle) -> Flow:
    flow = Flow().activate()
    for style in styles:
        flow.arrows.add(style)
    return flow


# --- Flow object --------------------------------------------------------------------------------


def test_new_flow_is_inactive_with_no_styles() -> None:
    flow = Flow()
    assert flow.in_use is False
    assert len(flow.arrows) == 0
    assert flow.triggers_file is None


def test_activate_and_deactivate_return_the_flow() -> None:
    flow = Flow()
    assert flow.activate() is flow
    assert flow.in_use is True
    assert flow.deactivate() is flow
    assert flow.in_use is False


def test_triggers_file_is_kept_as_given() -> None:
    assert Flow("my_triggers").triggers_file == "my_triggers"


def test_add_arrow_style_builds_and_registers_a_style() -> None:
    flow = Flow()
    flow.add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    assert list(flow.arrows) == [USUAL]
    assert USUAL in flow.arrows


def test_add_arrow_style_validates() -> None:
    with pytest.raises(ValueError, match="stem"):
        Flow().add_arrow_style(stem="--", brackets=("[", "]"), separator=",", tip=">")


def test_arrows_keep_insertion_order_and_first_position_of_repeats() -> None:
    flow = Flow()
    flow.arrows.add(SEMICOLON)
    flow.add_arrow_style("-", ("[", "]"), ",", ">")
    flow.arrows.add(ArrowStyle("-", ("[", "]"), ";", ">"))
    assert list(flow.arrows) == [SEMICOLON, USUAL]
    assert len(flow.arrows) == 2


def test_arrows_reject_non_styles() -> None:
    with pytest.raises(FlowTypeError):
        Flow().arrows.add("-->")  # type: ignore[arg-type]


def test_compile_arrow_patterns_is_safe_to_repeat() -> None:
    flow = flow_with(USUAL)
    flow.compile_arrow_patterns()
    flow.compile_arrow_patterns()
    assert str(flow.parse_route("A --> B")) == "A--[]-->B"


def test_ready_is_deprecated_in_favour_of_compile_arrow_patterns() -> None:
    flow = flow_with(USUAL)
    with pytest.warns(DeprecationWarning, match="compile_arrow_patterns"):
        flow.ready()


def test_parse_route_works_while_the_flow_is_inactive() -> None:
    flow = Flow()
    flow.add_arrow_style("-", ("[", "]"), ",", ">")
    assert str(flow.parse_route("A --> B")) == "A--[]-->B"


def test_style_added_after_parsing_is_used_by_later_parses() -> None:
    flow = flow_with()
    assert flow.parse_route("A").is_object
    flow.add_arrow_style("-", ("[", "]"), ",", ">")
    assert flow.parse_route("A --> B").is_arrow


def test_parse_routes_parses_each_in_order() -> None:
    routes = flow_with(USUAL).parse_routes(["A --> B", "C"])
    assert [str(route) for route in routes] == ["A--[]-->B", "C"]


def test_parse_route_of_non_string_is_a_type_error() -> None:
    with pytest.raises(FlowTypeError):
        flow_with(USUAL).parse_route(None)  # type: ignore[arg-type]


def test_triggers_from_json_dict() -> None:
    assert Flow().triggers(json_dict={"ok": None}).ok.path == (0,)


def test_triggers_reads_default_file_from_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "TRIGGERS").write_text("ok\n", encoding="utf-8")
    monkeypatch.setattr(triggers, "WORKING_DIR", tmp_path)
    assert Flow().triggers().ok.path == (0,)


def test_triggers_reads_the_flows_triggers_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "custom").write_text("a\nb\n", encoding="utf-8")
    monkeypatch.setattr(triggers, "WORKING_DIR", tmp_path)
    assert Flow("custom").triggers().b.path == (1,)


# --- get_token_list -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "separator", "tokens"),
    [
        ("A, B ,C", ",", ["A", "B", "C"]),
        (" , A,, ", ",", ["A"]),
        ("", ",", []),
        ("/oneof(a, b), c", ",", ["/oneof(a, b)", "c"]),
        ("/not(a,(b,c)),d", ",", ["/not(a,(b,c))", "d"]),
        ("a&b&&c", "&&", ["a&b", "c"]),
        ("/oneof(a&&b) && c", "&&", ["/oneof(a&&b)", "c"]),
        ("a and b", " and ", ["a", "b"]),
        ("a), b", ",", ["a)", "b"]),
    ],
)
def test_get_token_list_splits_on_whole_separator_outside_parentheses(
    text: str, separator: str, tokens: list[str]
) -> None:
    assert get_token_list(text, separator) == tokens


def test_get_token_list_rejects_empty_separator() -> None:
    with pytest.raises(FlowSyntaxError):
        get_token_list("a,b", "")


# --- normalisation table (spec §4.8, usual style) -----------------------------------------------

NORMALISATION = [
    ("A --> B", "A--[]-->B", True),
    ("A --[ f ]--> B", "A--[f]-->B", True),
    ("A, C --[ f, g ]--> B, K", "A,C--[f,g]-->B,K", True),
    ("A, B --> C", "A,B--[]-->C", True),
    ("--> B", "--[]-->B", True),
    ("--[ f ]--> B", "--[f]-->B", True),
    ("A --[ f ]-->", "A--[f]-->", True),
    ("A -->", "A", False),
    ("A, B", "A,B", False),
    ("/all", "/all", False),
    ("/oneof( a , b ) --> /not(c)", "/oneof(a,b)--[]-->/not(c)", True),
    ("", "", False),
]


@pytest.mark.parametrize(("route", "text", "is_arrow"), NORMALISATION)
def test_normalisation_table_row(route: str, text: str, is_arrow: bool) -> None:
    parsed = flow_with(USUAL).parse_route(route)
    assert str(parsed) == text
    assert parsed.is_arrow is is_arrow


def test_labelled_route_with_no_source_and_no_target_is_rejected() -> None:
    with pytest.raises(FlowSyntaxError, match=r"^Invalid token '--\[ x \]' in route '--\[ x \]-->'$"):
        flow_with(USUAL).parse_route("--[ x ]-->")


def test_arrow_route_with_no_style_registered_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"^Invalid token 'A --> B' in route 'A --> B'$"):
        Flow().activate().parse_route("A --> B")


def test_empty_route_is_an_object_route_with_no_nodes() -> None:
    parsed = flow_with(USUAL).parse_route("   ")
    assert parsed.source == parsed.label == parsed.target == ()
    assert parsed.style is None


def test_spaces_around_arrow_parts_are_optional() -> None:
    flow = flow_with(USUAL)
    assert flow.parse_route("A-->B") == flow.parse_route("  A   -->   B  ")
    assert str(flow.parse_route("A--[f]-->B")) == "A--[f]-->B"


def test_source_takes_the_shortest_prefix() -> None:
    parsed = flow_with(USUAL).parse_route("A --> B, C")
    assert parsed.source == (Node("A"),)
    assert parsed.target == (Node("B"), Node("C"))


def test_object_route_splits_on_comma_whatever_the_style_separator() -> None:
    parsed = flow_with(SEMICOLON).parse_route("A, /oneof(b, c)")
    assert parsed.source == (Node("A"), Node("/oneof(b,c)"))
    assert str(parsed) == "A,/oneof(b,c)"


@pytest.mark.parametrize(("route", "token"), [("A --> foo(bar)", "foo(bar)"), ("/foo, A", "/foo")])
def test_token_that_is_not_a_node_raises_node_error(route: str, token: str) -> None:
    with pytest.raises(FlowSyntaxError) as info:
        flow_with(USUAL).parse_route(route)
    assert str(info.value) == f"Invalid syntax for token: '{token}'"


def test_invalid_token_error_carries_snippet_and_column() -> None:
    with pytest.raises(FlowSyntaxError) as info:
        flow_with(USUAL).parse_route("A --> B C")
    assert info.value.snippet == "B C"
    assert info.value.column == 7


def test_wildcard_star_is_not_a_token() -> None:
    with pytest.raises(FlowSyntaxError, match="Invalid token"):
        flow_with(USUAL).parse_route("* --> B")


# --- multi-character separators and several styles [D-13] -----------------------------------------


def test_multi_character_separator_splits_every_part() -> None:
    flow = flow_with(ArrowStyle("-", ("[", "]"), "&&", ">"))
    parsed = flow.parse_route("A && /oneof(x, y) --[ f && g ]--> C&&D")
    assert parsed.source == (Node("A"), Node("/oneof(x,y)"))
    assert parsed.label == (Node("f"), Node("g"))
    assert parsed.target == (Node("C"), Node("D"))
    assert str(parsed) == "A&&/oneof(x,y)--[f&&g]-->C&&D"


def test_styles_are_tried_in_insertion_order() -> None:
    assert flow_with(USUAL, SEMICOLON).parse_route("A --> B").style == USUAL
    assert flow_with(SEMICOLON, USUAL).parse_route("A --> B").style == SEMICOLON


def test_later_style_parses_a_route_whose_tokens_fail_under_an_earlier_one() -> None:
    parsed = flow_with(USUAL, SEMICOLON).parse_route("A; B --> C")
    assert parsed.style == SEMICOLON
    assert str(parsed) == "A;B--[]-->C"


def test_overlapping_tip_is_resolved_by_the_next_candidate() -> None:
    parsed = flow_with(USUAL, LONG_TIP).parse_route("A -->> B")
    assert parsed.style == LONG_TIP
    assert str(parsed) == "A--[]-->>B"


def test_error_of_the_first_matching_candidate_is_raised() -> None:
    with pytest.raises(FlowSyntaxError, match=r"^Invalid token 'C D' in route 'A, B --> C D'$"):
        flow_with(USUAL, SEMICOLON).parse_route("A, B --> C D")
    with pytest.raises(FlowSyntaxError, match=r"^Invalid token 'A, B' in route 'A, B --> C D'$"):
        flow_with(SEMICOLON, USUAL).parse_route("A, B --> C D")


def test_first_error_within_one_style_comes_from_the_earliest_shape() -> None:
    route = "A --[ f ]--> B --> C"
    with pytest.raises(FlowSyntaxError) as info:
        flow_with(USUAL).parse_route(route)
    assert str(info.value) == f"Invalid token 'B --> C' in route '{route}'"


def test_route_matching_no_shape_of_any_style_is_an_object_route_even_when_it_fails() -> None:
    with pytest.raises(FlowSyntaxError, match=r"^Invalid token 'A => B' in route 'A => B'$"):
        flow_with(USUAL).parse_route("A => B")
