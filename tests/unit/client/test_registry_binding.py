"""HandlerRegistry binding (client spec §3.8), extension ordering, and the sender tables (§5.4, §5.12)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from summoner_client.errors import FlowSyntaxError
from summoner_client.protocol.process import ParsedRoute, Receiver, Sender
from summoner_client.protocol.triggers import Move, Stay
from tests.unit.client._registry_helpers import (
    OK,
    consume,
    make_registry,
    messages,
    on_message,
    other_message,
    produce,
)

BAD_ROUTE = "A --> B --> C --> ("


# ----------------------------------------------------------------------------- keys


def test_inactive_flow_keys_are_stripped_raw_routes_and_nothing_is_parsed() -> None:
    registry = make_registry()
    registry.add_receive(on_message, "  A --> B ")
    registry.add_send(produce, " A --> B")
    registry.bind_pending()
    assert list(registry.receiver_index) == ["A --> B"]
    assert list(registry.sender_index) == ["A --> B"]
    assert registry.receiver_parsed_routes == {}
    assert registry.sender_parsed_routes == {}


def test_active_flow_keys_are_normalised_and_parsed_routes_stored() -> None:
    registry = make_registry(active=True)
    registry.add_receive(on_message, "A , C --[ f ]--> B")
    registry.add_send(produce, "/all")
    registry.bind_pending()
    assert list(registry.receiver_index) == ["A,C--[f]-->B"]
    assert isinstance(registry.receiver_parsed_routes["A,C--[f]-->B"], ParsedRoute)
    assert str(registry.sender_parsed_routes["/all"]) == "/all"


def test_routes_resolve_against_the_flow_as_it_is_at_binding() -> None:
    registry = make_registry(styled=False)
    registry.add_receive(on_message, "A --> B")
    registry.flow.activate()
    registry.flow.add_arrow_style(stem="=", brackets=("{", "}"), separator=";", tip=")")
    registry.flow.add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    registry.bind_pending()
    assert list(registry.receiver_index) == ["A--[]-->B"]
    registry.flow.deactivate()  # later flow changes affect only later bindings
    registry.add_receive(other_message, "A --> B")
    assert set(registry.receiver_index) == {"A--[]-->B", "A --> B"}


def test_once_bound_registrations_bind_at_once_and_bump_the_version() -> None:
    registry = make_registry()
    assert registry.bind_pending() == []
    assert registry.is_bound
    version = registry.version
    registry.add_receive(on_message, "A")
    rid = registry.add_send(produce, "A")
    assert registry.receiver_index == {"A": Receiver(on_message, ())}
    assert [s.registration_id for s in registry.sender_index["A"]] == [rid]
    assert registry.version == version + 2
    assert registry.dna_receivers[0]["route_key"] == "A"


def test_receivers_bind_in_decoration_order_so_the_last_wins(caplog: pytest.LogCaptureFixture) -> None:
    registry = make_registry(active=True)
    registry.add_receive(on_message, "A --> B", 1)
    registry.add_receive(other_message, "A-->B", 2)
    with caplog.at_level(logging.WARNING):
        registry.bind_pending()
    assert registry.receiver_index == {"A--[]-->B": Receiver(other_message, (2,))}


# ----------------------------------------------------------------------------- unparseable routes (D-14)


def test_unparseable_receiver_logs_an_error_and_keeps_the_raw_key(caplog: pytest.LogCaptureFixture) -> None:
    registry = make_registry(active=True)
    registry.add_receive(on_message, BAD_ROUTE)
    with caplog.at_level(logging.WARNING):
        registry.bind_pending()
    (error,) = messages(caplog, logging.ERROR)
    assert error.startswith(
        f"@receive: route '{BAD_ROUTE}' cannot be parsed while the flow is active; "
        "this handler will never fire: "
    )
    assert registry.receiver_index[BAD_ROUTE].fn is on_message
    assert BAD_ROUTE not in registry.receiver_parsed_routes
    assert registry.dna_receivers[0]["route_key"] == BAD_ROUTE


def test_unparseable_reactive_sender_logs_an_error(caplog: pytest.LogCaptureFixture) -> None:
    registry = make_registry(active=True)
    registry.add_send(produce, BAD_ROUTE, on_actions={Move})
    with caplog.at_level(logging.WARNING):
        registry.bind_pending()
    (error,) = messages(caplog, logging.ERROR)
    assert error.startswith(
        f"@send: route '{BAD_ROUTE}' cannot be parsed while the flow is active; this handler"
    )
    assert len(registry.sender_index[BAD_ROUTE]) == 1
    assert registry.reactive_senders_for(BAD_ROUTE) == []


def test_unparseable_plain_senders_warn_once_and_run_under_the_raw_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = make_registry(active=True, strict=True)
    registry.add_send(produce, BAD_ROUTE)
    registry.add_send(produce, BAD_ROUTE)
    with caplog.at_level(logging.WARNING):
        registry.bind_pending()
    assert messages(caplog, logging.ERROR) == []
    (warning,) = messages(caplog, logging.WARNING)
    assert warning.startswith(f"@send: route '{BAD_ROUTE}' cannot be parsed while the flow is active")
    assert len(registry.sender_index[BAD_ROUTE]) == 2
    assert registry.plain_untimed_senders() == registry.sender_index[BAD_ROUTE]


@pytest.mark.parametrize("reactive", [False, True])
def test_strict_mode_raises_for_unparseable_receivers_and_reactive_senders(reactive: bool) -> None:
    registry = make_registry(active=True, strict=True)
    if reactive:
        registry.add_send(produce, BAD_ROUTE, on_triggers={OK})
    else:
        registry.add_receive(on_message, BAD_ROUTE)
    registry.add_receive(other_message, "A")
    with pytest.raises(FlowSyntaxError) as info:
        registry.bind_pending()
    assert isinstance(info.value, ValueError)
    # The failed registration is dropped, the ones after it are still pending.
    assert registry.receiver_index == {}
    assert registry.sender_index == {}
    assert not registry.is_bound
    registry.bind_pending()
    assert list(registry.receiver_index) == ["A"]


def test_reactive_filters_with_the_flow_inactive_warn_once(caplog: pytest.LogCaptureFixture) -> None:
    registry = make_registry(active=True)
    registry.add_send(produce, "A --> B", on_triggers={OK})
    registry.add_send(produce, "A --> B")
    registry.flow.deactivate()
    with caplog.at_level(logging.WARNING):
        registry.bind_pending()
    assert messages(caplog, logging.WARNING) == [
        "@send 'produce' on route 'A --> B': "
        "on_triggers/on_actions are ignored because the flow is not active"
    ]
    assert registry.plain_untimed_senders() == registry.sender_index["A --> B"]


# ----------------------------------------------------------------------------- extensions and pending order


def test_extension_items_interleave_with_registrations_in_decoration_order() -> None:
    registry = make_registry()
    registry.add_receive(on_message, "A")
    assert registry.queue_extension("ext-1") is True
    registry.add_send(produce, "B")
    taken: list[object] = []
    while (item := registry.next_pending()) is not None:
        taken.append(item)
        if not isinstance(item, str):
            registry.bind(item)  # type: ignore[arg-type]
    assert [getattr(item, "route", item) for item in taken] == ["A", "ext-1", "B"]
    assert registry.is_bound
    assert registry.queue_extension("ext-2") is False
    assert registry.pending == []


def test_bind_pending_returns_extension_items_it_cannot_await() -> None:
    registry = make_registry()
    registry.queue_extension("ext")
    registry.add_receive(on_message, "A")
    assert registry.bind_pending() == ["ext"]
    assert "A" in registry.receiver_index


# ----------------------------------------------------------------------------- reactive table and views


def _reactive_setup() -> tuple[Any, dict[str, Sender]]:
    registry = make_registry(active=True)
    registry.add_receive(on_message, "A --> B")
    registry.add_receive(on_message, "C --> D")
    registry.add_receive(on_message, "--> E")
    ids = {
        "ab": registry.add_send(produce, "A --> B", on_actions={Move}),
        "all": registry.add_send(produce, "/all", on_triggers={OK}),
        "plain": registry.add_send(produce, "A --> B"),
        "timed": registry.add_send(consume, "/all --> /all", on_actions={Stay}, use_data=True, every=1),
        "plain_timed": registry.add_send(produce, "X", every=2),
        "object_b": registry.add_send(produce, "B", on_actions={Move}),
    }
    registry.bind_pending()
    by_id = {s.registration_id: s for s in registry.all_senders()}
    return registry, {name: by_id[rid] for name, rid in ids.items()}


def test_reactive_senders_are_precomputed_per_receiver_route_in_registration_order() -> None:
    registry, s = _reactive_setup()
    assert registry.reactive_senders_for("A--[]-->B") == [s["ab"], s["all"], s["timed"]]
    assert registry.reactive_senders_for("C--[]-->D") == [s["all"], s["timed"]]
    assert registry.reactive_senders_for("--[]-->E") == []  # no source: /all and /all --> /all refuse it
    assert registry.reactive_senders_for("unknown") == []
    assert registry.reactive_senders_for("C--[]-->D") is registry.reactive_senders_for("C--[]-->D")


def test_reactive_table_follows_new_registrations_and_direct_inserts() -> None:
    registry, s = _reactive_setup()
    assert registry.reactive_senders_for("A--[]-->B") == [s["ab"], s["all"], s["timed"]]
    rid = registry.add_send(produce, "A --> /all", on_actions={Move})
    assert registry.reactive_senders_for("A--[]-->B")[-1].registration_id == rid
    # An extension inserting a receiver route directly, without touch(), is still served.
    route = registry.flow.parse_route("K --> L")
    registry.receiver_parsed_routes[str(route)] = route
    assert registry.reactive_senders_for("K--[]-->L") == [s["all"], s["timed"]]


def test_sender_views_by_kind_with_the_flow_active_and_not() -> None:
    registry, s = _reactive_setup()
    assert registry.hub_senders() == [s["ab"], s["all"], s["object_b"]]
    assert registry.plain_untimed_senders() == [s["plain"]]
    assert registry.timed_senders() == [s["timed"], s["plain_timed"]]
    registry.flow.deactivate()
    assert registry.hub_senders() == []
    assert registry.plain_untimed_senders() == [s["ab"], s["all"], s["plain"], s["object_b"]]
    assert registry.hub_senders(flow_active=True) == [s["ab"], s["all"], s["object_b"]]
