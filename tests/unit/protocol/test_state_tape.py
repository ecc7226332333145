"""StateTape classification, activations and the download view (spec §4.11-4.12)."""

from __future__ import annotations

from typing import Any

import pytest

from summoner_client.errors import FlowSyntaxError
from summoner_client.protocol.flow import Flow
from summoner_client.protocol.process import (
    ArrowStyle,
    Move,
    Node,
    ParsedRoute,
    Receiver,
    Signal,
    StateTape,
    Stay,
    TapeActivation,
    TapeType,
    Test,
)

OK = Signal((0,), "ok")


def parse(route: str) -> ParsedRoute:
    flow = Flow().activate()
    flow.arrows.add(ArrowStyle("-", ("[", "]"), ",", ">"))
    return flow.parse_route(route)


async def handler_a() -> None:
    return None


async def handler_b() -> None:
    return None


def bind(*routes: tuple[str, tuple[int, ...]]) -> tuple[dict[str, Receiver], dict[str, ParsedRoute]]:
    """Bind one receiver per route the way the client does: keyed by the normalised route."""
    receivers: dict[str, Receiver] = {}
    parsed: dict[str, ParsedRoute] = {}
    for route, priority in routes:
        key = str(parse(route))
        receivers[key] = Receiver(handler_a, priority)
        parsed[key] = parse(route)
    return receivers, parsed


def n(*exprs: str) -> list[Node]:
    return [Node(expr) for expr in exprs]


# --- classification ------------------------------------------------------------------------------


CLASSIFICATION = [
    ("A", TapeType.SINGLE, {"tape": n("A")}, n("A")),
    (Node("/all"), TapeType.SINGLE, {"tape": n("/all")}, n("/all")),
    (["A", Node("B")], TapeType.MANY, {"tape": n("A", "B")}, n("A", "B")),
    (("A",), TapeType.MANY, {"tape": n("A")}, n("A")),
    ([], TapeType.MANY, {"tape": []}, []),
    (
        {"x": "A", "y": Node("B")},
        TapeType.INDEX_SINGLE,
        {"tape:x": n("A"), "tape:y": n("B")},
        {"x": n("A"), "y": n("B")},
    ),
    ({}, TapeType.INDEX_SINGLE, {}, {}),
    (
        {"x": ["A", "B"], "y": ()},
        TapeType.INDEX_MANY,
        {"tape:x": n("A", "B"), "tape:y": []},
        {"x": n("A", "B"), "y": []},
    ),
]


@pytest.mark.parametrize(("upload", "tape_type", "states", "reverted"), CLASSIFICATION)
def test_upload_shapes_classify_into_four_tape_types(
    upload: Any, tape_type: TapeType, states: dict[str, list[Node]], reverted: Any
) -> None:
    tape = StateTape(upload)
    assert tape.type is tape_type
    assert tape.states == states
    assert tape.revert() == reverted


@pytest.mark.parametrize(
    "upload",
    [
        None,
        3,
        2.5,
        True,
        {1: "A"},
        ["A", 1],
        ["A", ["B"]],
        {"x": 1},
        {"x": ["A", 2]},
        {"x": {"y": "A"}},
        {"A"},
    ],
)
def test_unusable_upload_is_an_empty_index_many_tape(upload: Any) -> None:
    tape = StateTape(upload)
    assert tape.type is TapeType.INDEX_MANY
    assert tape.states == {}
    assert tape.revert() == {}


def test_scalar_value_in_mixed_dict_is_one_state() -> None:
    # [D-27] the original split "abc" into three single-character states.
    tape = StateTape({"a": "xyz", "b": ["y"]})
    assert tape.type is TapeType.INDEX_MANY
    assert tape.revert() == {"a": n("xyz"), "b": n("y")}


def test_node_value_in_mixed_dict_is_one_state() -> None:
    assert StateTape({"a": Node("x"), "b": ["y"]}).revert() == {"a": n("x"), "b": n("y")}


def test_none_key_is_stored_with_prefix_and_comes_back_as_string() -> None:
    tape = StateTape({None: "A"})
    assert tape.states == {"tape:None": n("A")}
    assert tape.revert() == {"None": n("A")}


def test_invalid_state_string_raises_value_error() -> None:
    with pytest.raises(FlowSyntaxError, match="Invalid syntax for token"):
        StateTape(["A", "not valid"])


def test_prefix_is_tape() -> None:
    assert StateTape().prefix == "tape"


def test_without_prefix_keys_are_stored_as_given() -> None:
    tape = StateTape({"x": "A", None: "B"}, with_prefix=False)
    assert tape.states == {"x": n("A"), None: n("B")}
    assert tape.revert() == {"x": n("A"), None: n("B")}


def test_set_type_changes_the_reverted_shape() -> None:
    tape = StateTape({"x": "A", "y": "B"})
    tape.set_type(TapeType.MANY)
    assert tape.revert() == n("A", "B")


def test_refresh_keeps_keys_and_type_with_empty_lists() -> None:
    tape = StateTape({"x": "A", "y": ["B", "C"]})
    fresh = tape.refresh()
    assert fresh is not tape
    assert fresh.type is TapeType.INDEX_MANY
    assert fresh.states == {"tape:x": [], "tape:y": []}
    assert tape.states["tape:y"] == n("B", "C")


def test_refresh_of_single_tape_is_empty_list() -> None:
    fresh = StateTape("A").refresh()
    assert fresh.type is TapeType.SINGLE
    assert fresh.revert() == []


def test_extend_appends_under_existing_and_new_keys() -> None:
    tape = StateTape({"x": "A"})
    tape.extend({"tape:x": [Node("B")], None: ("C",)})
    assert tape.states == {"tape:x": n("A", "B"), None: n("C")}
    assert tape.type is TapeType.INDEX_SINGLE


def test_extend_single_tape_with_a_list_adds_to_the_tape_entry() -> None:
    tape = StateTape("A")
    tape.extend(["B"])
    assert tape.revert() == n("A", "B")


def test_revert_returns_copies() -> None:
    tape = StateTape({"x": "A"})
    view = tape.revert()
    assert isinstance(view, dict)
    view["x"].append(Node("Z"))
    assert tape.states["tape:x"] == n("A")


# --- collect_activations -------------------------------------------------------------------------


def test_arrow_receiver_fires_once_per_accepting_gate_and_state() -> None:
    receivers, parsed = bind(("A, B --> C", ()))
    batches = StateTape(["A", "B"]).collect_activations(receivers, parsed)
    route = parse("A, B --> C")
    assert batches == {
        (): [
            TapeActivation("tape", Node("A"), route, handler_a),
            TapeActivation("tape", Node("B"), route, handler_a),
        ]
    }


def test_one_state_accepted_by_two_gates_fires_twice() -> None:
    receivers, parsed = bind(("A, /all --> C", ()))
    assert len(StateTape("A").collect_activations(receivers, parsed)[()]) == 2


def test_initial_route_fires_once_whatever_the_tape_holds() -> None:
    receivers, parsed = bind(("--> B", (1,)))
    route = parse("--> B")
    expected = {(1,): [TapeActivation(None, None, route, handler_a)]}
    assert StateTape(None).collect_activations(receivers, parsed) == expected
    assert StateTape(["X", "Y"]).collect_activations(receivers, parsed) == expected


def test_object_route_fires_when_its_state_is_on_the_tape() -> None:
    receivers, parsed = bind(("X", ()))
    assert StateTape("X").collect_activations(receivers, parsed)[()][0].state == Node("X")
    assert StateTape("Y").collect_activations(receivers, parsed) == {}


def test_index_tape_activations_carry_the_stored_key() -> None:
    receivers, parsed = bind(("A --> B", ()))
    batch = StateTape({"k": "A", "j": "Z"}).collect_activations(receivers, parsed)[()]
    assert [(activation.key, activation.state) for activation in batch] == [("tape:k", Node("A"))]


def test_activations_are_grouped_by_receiver_priority() -> None:
    receivers, parsed = bind(("A --> B", (1,)), ("/all --> C", ()), ("A --> D", (1,)))
    batches = StateTape("A").collect_activations(receivers, parsed)
    assert sorted(batches) == [(), (1,)]
    assert [str(a.route) for a in batches[(1,)]] == ["A--[]-->B", "A--[]-->D"]


def test_receiver_without_parsed_route_never_fires() -> None:
    receivers = {"A --> B": Receiver(handler_b, ())}
    assert StateTape("A").collect_activations(receivers, {}) == {}


def test_no_matching_state_gives_no_activations() -> None:
    receivers, parsed = bind(("A --> B", ()), ("/not(Z) --> C", ()))
    assert StateTape("Z").collect_activations(receivers, parsed) == {}


# --- download view -------------------------------------------------------------------------------


def activation(key: str | None, route: str) -> TapeActivation:
    parsed = parse(route)
    return TapeActivation(key, None, parsed, handler_a)


def test_download_view_of_index_tape_lists_every_uploaded_key() -> None:
    tape = StateTape({"k": "A", "j": "Z"})
    view = tape.download_view([(activation("tape:k", "A --> B"), Move(OK))])
    assert view == {"k": n("B"), "j": []}


def test_download_view_puts_initial_route_nodes_under_a_real_none_key() -> None:
    tape = StateTape({"k": "A", None: "Q"})
    view = tape.download_view([(activation(None, "--> B"), Move(OK))])
    assert view == {"k": [], "None": [], None: n("B")}


def test_download_view_of_single_tape_flattens_all_nodes() -> None:
    tape = StateTape("A")
    view = tape.download_view(
        [
            (activation("tape", "A --> B"), Move(OK)),
            (activation(None, "--[ f ]--> C"), Test(OK)),
        ]
    )
    assert view == n("B", "f")


def test_download_view_repeats_nodes_of_repeated_activations() -> None:
    tape = StateTape(["A", "B"])
    route = "A, B --> C"
    view = tape.download_view([(activation("tape", route), Move(OK)), (activation("tape", route), Move(OK))])
    assert view == n("C", "C")


def test_download_view_holds_only_this_batchs_nodes() -> None:
    tape = StateTape(["A"])
    assert tape.download_view([(activation("tape", "A --> B"), None)]) == []
    assert tape.download_view([]) == []


def test_stay_on_gate_source_contributes_the_gate_node() -> None:
    tape = StateTape({"k": "A"})
    view = tape.download_view([(activation("tape:k", "/all --> B"), Stay(OK))])
    assert view == {"k": n("/all")}


def test_download_view_ignores_non_event_results() -> None:
    tape = StateTape({"k": "A"})
    assert tape.download_view([(activation("tape:k", "A --> B"), {"not": "an event"})]) == {"k": []}


def test_download_view_from_a_refreshed_tape_is_the_same() -> None:
    tape = StateTape({"k": "A"})
    results = [(activation("tape:k", "A --> B"), Move(OK))]
    assert tape.refresh().download_view(results) == tape.download_view(results)


def test_download_view_does_not_change_the_uploaded_tape() -> None:
    tape = StateTape({"k": "A"})
    tape.download_view([(activation("tape:k", "A --> B"), Move(OK))])
    assert tape.states == {"tape:k": n("A")}
