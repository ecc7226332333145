"""Node parsing, identity and the gate/state ``accepts`` table (spec §4.4)."""

from __future__ import annotations

import pytest

from summoner_client.errors import FlowSyntaxError, FlowTypeError
from summoner_client.protocol.process import Node

# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "kind", "values", "text"),
    [
        ("/all", "all", None, "/all"),
        ("  /all  ", "all", None, "/all"),
        ("/not(a, b)", "not", ("a", "b"), "/not(a,b)"),
        ("/oneof(a, b)", "oneof", ("a", "b"), "/oneof(a,b)"),
        ("/oneof( a , , b ,)", "oneof", ("a", "b"), "/oneof(a,b)"),
        ("/not()", "not", (), "/not()"),
        ("/oneof(x-y, 1z)", "oneof", ("x-y", "1z"), "/oneof(x-y,1z)"),
        ("name", "plain", ("name",), "name"),
        ("_x1", "plain", ("_x1",), "_x1"),
        (" spaced ", "plain", ("spaced",), "spaced"),
    ],
)
def test_node_forms_parse_to_kind_values_and_str(
    expr: str, kind: str, values: tuple[str, ...] | None, text: str
) -> None:
    node = Node(expr)
    assert node.kind == kind
    assert node.values == values
    assert str(node) == text


@pytest.mark.parametrize(
    "expr", ["", "1abc", "a b", "/foo", "foo(bar)", "/all()", "/not", "/oneof(a", "a-b", "*"]
)
def test_invalid_token_raises_with_original_message(expr: str) -> None:
    with pytest.raises(FlowSyntaxError) as info:
        Node(expr)
    assert str(info.value) == f"Invalid syntax for token: '{expr}'"
    assert isinstance(info.value, ValueError)


def test_node_of_non_string_is_a_type_error() -> None:
    with pytest.raises(FlowTypeError):
        Node(3)  # type: ignore[arg-type]


def test_repr_is_plain_without_colour_codes() -> None:
    assert repr(Node("/oneof(a, b)")) == "Node(/oneof(a,b))"
    assert repr(Node("A")) == "Node(A)"
    assert "\x1b" not in repr(Node("/not(a)"))


def test_equality_and_hash_use_kind_and_ordered_values() -> None:
    assert Node("/oneof(a,b)") == Node("/oneof( a , b )")
    assert hash(Node("/oneof(a,b)")) == hash(Node("/oneof( a , b )"))
    assert Node("/oneof(a,b)") != Node("/oneof(b,a)")
    assert Node("/not(a)") != Node("/oneof(a)")
    assert Node("a") != "a"


def test_nodes_work_in_sets_and_sort_by_str() -> None:
    nodes = {Node("b"), Node("a"), Node(" a ")}
    assert sorted(nodes, key=str) == [Node("a"), Node("b")]


def test_node_defines_no_ordering() -> None:
    with pytest.raises(TypeError):
        _ = Node("a") < Node("b")  # type: ignore[operator]


def test_node_is_immutable() -> None:
    node = Node("a")
    with pytest.raises(AttributeError):
        node.kind = "all"  # type: ignore[misc]


# --- accepts: the spec's table, cell by cell ------------------------------------------------------

ACCEPTS_TABLE = [
    # gate /all accepts every state
    ("/all", "s", True),
    ("/all", "/not(s)", True),
    ("/all", "/oneof(s)", True),
    ("/all", "/oneof()", True),
    ("/all", "/all", True),
    # plain g: g == s | g not in S | g in S | True
    ("g", "g", True),
    ("g", "s", False),
    ("g", "/not(a,b)", True),
    ("g", "/not(a,g)", False),
    ("g", "/oneof(a,g)", True),
    ("g", "/oneof(a,b)", False),
    ("g", "/all", True),
    # /not(G): s not in G | True | True | True
    ("/not(a,b)", "c", True),
    ("/not(a,b)", "b", False),
    ("/not(a,b)", "/not(c)", True),
    ("/not(a,b)", "/not(a,b)", True),
    ("/not(a,b)", "/oneof(c)", True),
    ("/not(a,b)", "/oneof(a,b)", True),
    ("/not(a,b)", "/all", True),
    # /oneof(G): s in G | G - S nonempty | G & S nonempty | True
    ("/oneof(a,b)", "a", True),
    ("/oneof(a,b)", "c", False),
    ("/oneof(a,b)", "/not(a)", True),
    ("/oneof(a,b)", "/not(a,b,c)", False),
    ("/oneof(a,b)", "/oneof(b,c)", True),
    ("/oneof(a,b)", "/oneof(c,d)", False),
    ("/oneof(a,b)", "/all", True),
    ("/oneof()", "/all", True),
]


@pytest.mark.parametrize(("gate", "state", "expected"), ACCEPTS_TABLE)
def test_accepts_follows_the_spec_table(gate: str, state: str, expected: bool) -> None:
    assert Node(gate).accepts(Node(state)) is expected


@pytest.mark.parametrize("state", ["a", "/all", Node("a").values, None])
def test_accepts_non_node_is_a_type_error(state: object) -> None:
    with pytest.raises(FlowTypeError) as info:
        Node("a").accepts(state)  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


def test_oneof_gate_accepts_not_state_when_difference_nonempty() -> None:
    assert Node("/oneof(a,b)").accepts(Node("/not(a)"))
    assert not Node("/oneof(a)").accepts(Node("/not(a)"))


def test_not_gate_accepts_oneof_state_even_when_all_its_names_are_excluded() -> None:
    # The table says True for every /not(G) x /oneof(S) cell; a set-intersection model would say
    # False here. The table is the contract.
    assert Node("/not(a,b)").accepts(Node("/oneof(a)"))
