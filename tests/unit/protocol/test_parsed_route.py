"""ParsedRoute properties, activated_nodes and sender/event route matching (spec §4.9-4.10)."""

from __future__ import annotations

import pytest

from summoner_client.errors import FlowTypeError
from summoner_client.protocol import process
from summoner_client.protocol.flow import Flow
from summoner_client.protocol.process import (
    ArrowStyle,
    ClientIntent,
    Direction,
    Event,
    Move,
    Node,
    ParsedRoute,
    Receiver,
    Sender,
    Signal,
    Stay,
    Test,
)

USUAL = ArrowStyle("-", ("[", "]"), ",", ">")
OK = Signal((0,), "ok")


def parse(route: str) -> ParsedRoute:
    flow = Flow().activate()
    flow.arrows.add(USUAL)
    return flow.parse_route(route)


def nodes(*exprs: str) -> tuple[Node, ...]:
    return tuple(Node(expr) for expr in exprs)


# --- properties ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "has_label", "is_arrow", "is_initial"),
    [
        ("A --> B", False, True, False),
        ("A --[ f ]--> B", True, True, False),
        ("--> B", False, True, True),
        ("--[ f ]--> B", True, True, True),
        ("A --[ f ]-->", True, True, False),
        ("A -->", False, False, False),
        ("A, B", False, False, False),
        ("", False, False, False),
    ],
)
def test_shape_properties(route: str, has_label: bool, is_arrow: bool, is_initial: bool) -> None:
    parsed = parse(route)
    assert parsed.has_label is has_label
    assert parsed.is_arrow is is_arrow
    assert parsed.is_object is (not is_arrow)
    assert parsed.is_initial is is_initial


def test_parts_are_tuples_of_nodes_and_style_is_kept() -> None:
    parsed = parse("A, C --[ f ]--> B")
    assert parsed.source == nodes("A", "C")
    assert parsed.label == nodes("f")
    assert parsed.target == nodes("B")
    assert parsed.style == USUAL


def test_object_route_has_no_style() -> None:
    assert parse("A, B").style is None


def test_dangling_right_unlabelled_route_keeps_its_style_but_is_an_object() -> None:
    parsed = parse("A -->")
    assert parsed.style == USUAL
    assert parsed == parse("A")


def test_equality_and_hash_use_normalised_text() -> None:
    assert parse("A --> B") == parse("A-->B")
    assert hash(parse("A --[ ]--> B")) == hash(parse("A --> B"))
    assert parse("A --> B") != parse("B --> A")
    assert parse("A") != "A"


def test_repr_is_plain() -> None:
    assert repr(parse("A --[ f ]--> B")) == "ParsedRoute(A--[f]-->B)"


def test_constructor_accepts_any_iterables_of_nodes() -> None:
    route = ParsedRoute([Node("A")], iter([]), (Node("B"),), USUAL)
    assert route.source == nodes("A")
    assert str(route) == "A--[]-->B"


def test_constructor_rejects_non_nodes() -> None:
    with pytest.raises(FlowTypeError):
        ParsedRoute(["A"], (), (), None)  # type: ignore[list-item]


def test_constructor_rejects_arrow_parts_without_a_style() -> None:
    with pytest.raises(FlowTypeError):
        ParsedRoute(nodes("A"), (), nodes("B"), None)


def test_constructor_rejects_a_style_of_the_wrong_type() -> None:
    with pytest.raises(FlowTypeError):
        ParsedRoute(nodes("A"), (), (), "-->")  # type: ignore[arg-type]


# --- activated_nodes table ----------------------------------------------------------------------

ARROW = "A --[ f ]--> B"
OBJECT = "A, C"

ACTIVATED = [
    (ARROW, Move(OK), nodes("f", "B")),
    (ARROW, Stay(OK), nodes("A")),
    (ARROW, Test(OK), nodes("f")),
    (ARROW, Event(OK), ()),
    (ARROW, None, ()),
    (ARROW, {"signal": OK}, ()),
    (OBJECT, Move(OK), nodes("A", "C")),
    (OBJECT, Stay(OK), nodes("A", "C")),
    (OBJECT, Test(OK), ()),
    (OBJECT, Event(OK), nodes("A", "C")),
    (OBJECT, None, ()),
    (OBJECT, "A", ()),
]


@pytest.mark.parametrize(("route", "event", "expected"), ACTIVATED)
def test_activated_nodes_table_cell(route: str, event: object, expected: tuple[Node, ...]) -> None:
    assert parse(route).activated_nodes(event) == expected


def test_move_on_unlabelled_arrow_activates_the_target() -> None:
    assert parse("A --> B, C").activated_nodes(Move(OK)) == nodes("B", "C")


def test_stay_on_gate_source_contributes_the_gate_itself() -> None:
    assert parse("/not(x) --> B").activated_nodes(Stay(OK)) == nodes("/not(x)")


def test_move_on_initial_route_activates_label_and_target() -> None:
    assert parse("--[ f ]--> B").activated_nodes(Move(OK)) == nodes("f", "B")


# --- sender route accepts event route (§4.10) ---------------------------------------------------

MATCHING = [
    ("A --> B", "A, C --> B, D", True),
    ("A --> B", "A --> C", False),
    ("A --> B", "C --> B", False),
    ("/all --> /all", "A --> B", True),
    ("/all --> /all", "A --[ f ]--> B", True),
    ("/all --> /all", "A", False),
    ("/all --> /all", "--> B", False),
    ("/all --> /all", "A --[ f ]-->", False),
    ("/all", "A --> B", True),
    ("/all", "A", True),
    ("/all", "--> B", False),
    ("B", "A --> B", False),
    ("A", "A --> B", True),
    ("", "A --> B", True),
    ("", "--> B", True),
    ("", "A", True),
    ("A --[ f ]--> B", "A --> B", False),
    ("A --> B", "A --[ f ]--> B", True),
    ("A --[ /oneof(f, g) ]--> B", "A --[ g ]--> B", True),
    ("A, C --> B", "A --> B", False),
    ("--> B", "--> B", True),
    ("--> B", "A --> B", True),
]


@pytest.mark.parametrize(("sender", "event", "expected"), MATCHING)
def test_sender_route_accepts_event_route(sender: str, event: str, expected: bool) -> None:
    assert parse(sender).accepts(parse(event)) is expected


def test_route_accepts_non_route_is_a_type_error() -> None:
    with pytest.raises(FlowTypeError):
        parse("A").accepts("A")  # type: ignore[arg-type]


# --- sender filters (§3.7, §5.6): the other half of "a sender matches an event" -------------------

OTHER = Signal((1,), "other")
CHILD = Signal((0, 0), "child")


async def send_fn() -> None:
    return None


@pytest.mark.parametrize(
    ("actions", "triggers", "reactive"),
    [
        (None, None, False),
        (set(), set(), False),
        ({Move}, None, True),
        (None, {OK}, True),
        (set(), {OK}, True),
    ],
)
def test_sender_is_reactive_only_with_a_non_empty_filter(
    actions: set[type[Event]] | None, triggers: set[Signal] | None, reactive: bool
) -> None:
    assert Sender(send_fn, actions=actions, triggers=triggers).is_reactive is reactive


@pytest.mark.parametrize(
    ("actions", "triggers", "event", "expected"),
    [
        ({Move}, None, Move(OTHER), True),
        ({Move}, None, Stay(OK), False),
        ({Move, Test}, None, Test(OK), True),
        (None, {OK}, Stay(OK), True),
        (None, {OK}, Move(OTHER), False),
        (None, {OK}, Move(CHILD), False),
        ({Stay}, {OK}, Stay(OK), True),
        ({Stay}, {OK}, Move(OK), False),
        ({Stay}, {OK}, Stay(OTHER), False),
        (None, None, Event(OK), True),
        (None, None, {"signal": OK}, False),
        (None, None, None, False),
    ],
)
def test_sender_responds_to_events_passing_both_filters(
    actions: set[type[Event]] | None, triggers: set[Signal] | None, event: object, expected: bool
) -> None:
    assert Sender(send_fn, actions=actions, triggers=triggers).responds_to(event) is expected


def test_sender_trigger_filter_compares_signals_by_path() -> None:
    sender = Sender(send_fn, triggers={Signal((0,), "renamed")})
    assert sender.responds_to(Move(OK))


def test_sender_data_mode_defaults_to_live_with_use_data() -> None:
    assert Sender(send_fn, use_data=True).data_mode == "live"
    assert Sender(send_fn, use_data=True, data_mode="snapshot").data_mode == "snapshot"
    assert Sender(send_fn).data_mode is None


def test_senders_with_equal_fields_are_distinct_registrations() -> None:
    first = Sender(send_fn, registration_id="sender:1")
    second = Sender(send_fn, registration_id="sender:1")
    assert first != second
    assert len({first, second}) == 2


def test_receiver_is_a_frozen_record_with_empty_default_priority() -> None:
    receiver = Receiver(send_fn)
    assert receiver.priority == ()
    assert receiver == Receiver(send_fn, ())
    with pytest.raises(AttributeError):
        receiver.priority = (1,)  # type: ignore[misc]


def test_direction_and_client_intent_members() -> None:
    assert [member.name for member in Direction] == ["SEND", "RECEIVE"]
    assert [member.name for member in ClientIntent] == ["QUIT", "TRAVEL", "ABORT"]


def test_process_exports_the_spec_names() -> None:
    spec_names = {
        "Node",
        "ArrowStyle",
        "ParsedRoute",
        "Sender",
        "Receiver",
        "Direction",
        "StateTape",
        "TapeType",
        "TapeActivation",
        "ClientIntent",
        "Signal",
        "Event",
        "Action",
        "Move",
        "Stay",
        "Test",
        "extract_signal",
    }
    assert set(process.__all__) == spec_names
    assert all(hasattr(process, name) for name in spec_names)
