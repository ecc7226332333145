"""HandlerRegistry.add_send: the 17 validation rules of client spec §3.7, their order and what is stored."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from pydantic import BaseModel

from summoner_client.errors import FlowStateError, HandlerSignatureError, RegistrationError
from summoner_client.protocol.process import Sender
from summoner_client.protocol.triggers import Action, Event, Move, Stay, Test
from tests.unit.client._registry_helpers import ERROR, OK, consume, make_registry, produce, produce_many


class Order(BaseModel):
    item: str


class Undefined(BaseModel):
    later: NotYetDefined  # type: ignore[name-defined]  # noqa: F821


async def produce_int() -> int:
    return 1


def sync_producer() -> str:
    return "x"


async def async_predicate(data: Any) -> bool:
    return True


class AsyncCall:
    async def __call__(self, data: Any) -> bool:
        return True


def two_args(a: Any, b: Any) -> bool:
    return True


USE_DATA_MSG = (
    "Argument `use_data=True` requires a non-empty `on_triggers` or `on_actions` set so the sender has "
    "queued event data to receive"
)
USE_DATA_FLOW_MSG = "Argument `use_data=True` requires `client.flow().activate()` before sender registration"
TIMED_REACTIVE_MSG = "Timed reactive senders require `client.flow().activate()` before sender registration"

# The builtin class the original raised, and the package's class (spec §1.4).
TYPE = (TypeError, HandlerSignatureError)
VALUE = (ValueError, RegistrationError)
RUNTIME = (RuntimeError, FlowStateError)

# fn, kwargs, flow active, (builtin class, package class), message regex
ROWS = [
    pytest.param(
        produce, {"route": 7}, True, TYPE, r"^Argument `route` must be string\. Provided: 7$", id="1"
    ),
    pytest.param(sync_producer, {}, True, TYPE, r"^@send sender 'sync_producer' must be async$", id="2"),
    pytest.param(
        produce,
        {"use_data": True, "on_actions": {Move}},
        True,
        TYPE,
        r"^@send\[use_data=True\] 'produce' must accept 1 positional argument\(s\)$",
        id="3 arity",
    ),
    pytest.param(
        consume,
        {},
        True,
        TYPE,
        r"^@send 'consume' must accept 0 positional argument\(s\)$",
        id="3 arity no data",
    ),
    pytest.param(
        produce_int,
        {},
        True,
        TYPE,
        r"^@send 'produce_int' must return one of .*, not <class 'int'>$",
        id="3 return",
    ),
    pytest.param(
        produce_int,
        {"multi": True},
        True,
        TYPE,
        r"^@send\[multi=True\] 'produce_int' must return one of",
        id="3 multi return",
    ),
    pytest.param(
        produce,
        {"multi": True, "use_data": True},
        True,
        TYPE,
        r"^@send\[multi=True,use_data=True\] 'produce' must accept 1",
        id="3 both names",
    ),
    pytest.param(produce, {"multi": 0}, True, TYPE, r"^Argument `multi` must be a bool", id="4"),
    pytest.param(produce, {"use_data": 0}, True, TYPE, r"^Argument `use_data` must be a bool", id="5"),
    pytest.param(produce, {"every": True}, True, TYPE, r"^Argument `every` must be an int", id="6 bool"),
    pytest.param(produce, {"every": "1"}, True, TYPE, r"^Argument `every` must be an int", id="6 str"),
    pytest.param(produce, {"every": 0}, True, VALUE, r"^Argument `every` must be a finite", id="6 zero"),
    pytest.param(produce, {"every": -1.5}, True, VALUE, r"> 0", id="6 negative"),
    pytest.param(produce, {"every": math.nan}, True, VALUE, r"> 0", id="6 nan"),
    pytest.param(
        produce,
        {"on_triggers": {"ok"}},
        True,
        TYPE,
        r"^Argument `on_triggers` must be a set of Signal",
        id="7 not signals",
    ),
    pytest.param(produce, {"on_triggers": [OK]}, True, TYPE, r"on_triggers", id="7 list"),
    pytest.param(produce, {"on_actions": {Event}}, True, TYPE, r"^Argument `on_actions`", id="8 Event"),
    pytest.param(produce, {"on_actions": {Move, int}}, True, TYPE, r"on_actions", id="8 other"),
    pytest.param(produce, {"on_actions": [Move]}, True, TYPE, r"on_actions", id="8 list"),
    pytest.param(consume, {"use_data": True}, True, VALUE, f"^{re.escape(USE_DATA_MSG)}$", id="9"),
    pytest.param(
        consume,
        {"use_data": True, "on_triggers": set(), "on_actions": set()},
        True,
        VALUE,
        r"requires a non-empty",
        id="9 empty sets",
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_triggers": {OK}},
        False,
        RUNTIME,
        f"^{re.escape(USE_DATA_FLOW_MSG)}$",
        id="10",
    ),
    pytest.param(
        produce,
        {"every": 1, "on_actions": {Stay}},
        False,
        RUNTIME,
        f"^{re.escape(TIMED_REACTIVE_MSG)}$",
        id="11",
    ),
    pytest.param(
        produce, {"run_while": True}, True, VALUE, r"^Argument `run_while` requires `every`$", id="12"
    ),
    pytest.param(
        produce,
        {"data_mode": "live"},
        True,
        VALUE,
        r"^Argument `data_mode` requires `use_data=True`$",
        id="13",
    ),
    pytest.param(
        produce,
        {"when_data": bool},
        True,
        VALUE,
        r"^Argument `when_data` requires `use_data=True`$",
        id="14 without use_data",
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "when_data": 3},
        True,
        TYPE,
        r"^Argument `when_data` must be callable",
        id="14 not callable",
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "when_data": async_predicate},
        True,
        TYPE,
        r"must be synchronous",
        id="14 async",
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "when_data": AsyncCall()},
        True,
        TYPE,
        r"must be synchronous",
        id="14 async __call__",
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "when_data": two_args},
        True,
        TYPE,
        r"^Argument `when_data` must accept 1 positional argument$",
        id="14 arity",
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "data_mode": "copy"},
        True,
        VALUE,
        r"^Argument `data_mode` must be None, 'live' or 'snapshot'\. Provided: 'copy'$",
        id="15",
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "data_mode": ["live"]},
        True,
        VALUE,
        r"data_mode",
        id="15 unhashable",
    ),
    pytest.param(
        produce,
        {"every": 1, "run_while": 5},
        True,
        TYPE,
        r"^Argument `run_while` must be None, a bool or a callable",
        id="16",
    ),
    pytest.param(produce, {"model": 5}, True, TYPE, r"^Argument `model`", id="17 not a type"),
    pytest.param(produce, {"model": "int"}, True, TYPE, r"^Argument `model`", id="17 string"),
    pytest.param(produce, {"model": Undefined}, True, TYPE, r"^Argument `model`", id="17 incomplete"),
]


def _send(fn: Any, kwargs: dict[str, Any], active: bool) -> str:
    registry = make_registry(active=active)
    args = {"route": "A --> B", **kwargs}
    return registry.add_send(fn, args.pop("route"), **args)


@pytest.mark.parametrize(("fn", "kwargs", "active", "classes", "message"), ROWS)
def test_each_send_rule_raises_its_class_and_message(
    fn: Any,
    kwargs: dict[str, Any],
    active: bool,
    classes: tuple[type[Exception], type[Exception]],
    message: str,
) -> None:
    builtin, cls = classes
    with pytest.raises(builtin, match=message) as info:
        _send(fn, kwargs, active)
    assert isinstance(info.value, cls)


# Each case breaks two consecutive rules; the earlier one must be reported.
PAIRS = [
    pytest.param(sync_producer, {"route": 1}, True, "must be string", id="1 before 2"),
    pytest.param(lambda data: None, {}, True, "must be async", id="2 before 3"),
    pytest.param(consume, {"multi": "yes"}, True, "must accept 0", id="3 before 4"),
    pytest.param(produce, {"multi": 1, "use_data": 0}, True, "`multi`", id="4 before 5"),
    pytest.param(consume, {"use_data": 1, "every": 0}, True, "`use_data`", id="5 before 6"),
    pytest.param(produce, {"every": 0, "on_triggers": 5}, True, "`every`", id="6 before 7"),
    pytest.param(produce, {"on_triggers": 5, "on_actions": 5}, True, "`on_triggers`", id="7 before 8"),
    pytest.param(consume, {"use_data": True, "on_actions": {Event}}, True, "`on_actions`", id="8 before 9"),
    pytest.param(consume, {"use_data": True}, False, "non-empty", id="9 before 10"),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "every": 1},
        False,
        "`use_data=True` requires",
        id="10 before 11",
    ),
    pytest.param(
        produce,
        {"on_actions": {Move}, "every": 1, "data_mode": "live"},
        False,
        "Timed reactive",
        id="11 before 12",
    ),
    pytest.param(
        produce, {"run_while": True, "data_mode": "live"}, True, "`run_while` requires", id="12 before 13"
    ),
    pytest.param(
        produce, {"data_mode": "live", "when_data": 3}, True, "`data_mode` requires", id="13 before 14"
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "when_data": 3, "data_mode": "x"},
        True,
        "`when_data` must be callable",
        id="14 before 15",
    ),
    pytest.param(
        consume,
        {"use_data": True, "on_actions": {Move}, "every": 1, "run_while": 5, "data_mode": "x"},
        True,
        "must be None, 'live' or 'snapshot'",
        id="15 before 16",
    ),
    pytest.param(
        produce, {"every": 1, "run_while": 5, "model": 5}, True, "`run_while` must be", id="16 before 17"
    ),
]


@pytest.mark.parametrize(("fn", "kwargs", "active", "message"), PAIRS)
def test_send_rules_are_checked_in_the_spec_order(
    fn: Any, kwargs: dict[str, Any], active: bool, message: str
) -> None:
    with pytest.raises(Exception, match=message):
        _send(fn, kwargs, active)


def test_failed_send_records_nothing_and_allocates_no_id() -> None:
    registry = make_registry()
    with pytest.raises(TypeError):
        registry.add_send(produce, "A", multi=1)
    assert registry.dna_senders == []
    assert registry.pending == []
    assert registry.add_send(produce, "A") == "sender:1"


def test_send_stores_a_sender_with_normalised_options() -> None:
    registry = make_registry(active=True)

    def gate() -> bool:
        return True

    rid = registry.add_send(
        consume, " A --> B ", False, {OK, ERROR}, {Action.MOVE, Action.TEST}, True, None, 2, gate, bool
    )
    second = registry.add_send(produce_many, "A", multi=True, model=Order)
    assert (rid, second) == ("sender:1", "sender:2")
    registry.bind_pending()
    (sender,) = registry.sender_index["A--[]-->B"]
    assert isinstance(sender, Sender)
    assert sender.registration_id == "sender:1"
    assert sender.triggers == frozenset({OK, ERROR})
    assert sender.actions == frozenset({Move, Test})
    assert (sender.use_data, sender.data_mode, sender.every, sender.run_while, sender.when_data) == (
        True,
        "live",
        2.0,
        gate,
        bool,
    )
    assert isinstance(sender.every, float)
    assert registry.sender_index["A"][0].multi is True
    assert registry.send_models["sender:2"].validate_python({"item": "x"}) == Order(item="x")
    assert "sender:1" not in registry.send_models


def test_send_model_skips_the_return_check_and_empty_filter_sets_are_plain() -> None:
    registry = make_registry()
    registry.add_send(produce_int, "A", model=int)  # -> int is refused without model=
    registry.add_send(produce, "B", on_triggers=set(), on_actions=frozenset())
    registry.bind_pending()
    assert not registry.sender_index["B"][0].is_reactive


def test_send_dna_record_holds_every_option() -> None:
    registry = make_registry(active=True)

    def keep_going() -> bool:
        return True

    registry.add_send(
        consume,
        "A --> B",
        on_triggers={OK},
        use_data=True,
        data_mode="snapshot",
        every=1,
        run_while=keep_going,
        when_data=lambda data: data is not None,
        model=Order,
    )
    (record,) = registry.dna_senders
    assert record["fn"] is consume
    assert (record["route"], record["route_key"], record["registration_id"]) == ("A --> B", None, "sender:1")
    assert (record["multi"], record["use_data"], record["data_mode"], record["every"]) == (
        False,
        True,
        "snapshot",
        1.0,
    )
    assert record["on_triggers"] == frozenset({OK})
    assert record["on_actions"] is None
    assert record["run_while"] is keep_going
    assert "def keep_going" in record["run_while_source"]
    assert "when_data=lambda data: data is not None" in record["when_data_source"]
    assert record["model"] == f"{__name__}:Order"
    assert "async def consume(" in record["source"]
    registry.bind_pending()
    assert record["route_key"] == "A--[]-->B"


def test_send_dna_record_of_a_bool_run_while_has_no_source() -> None:
    registry = make_registry()
    registry.add_send(produce, "A", every=0.5, run_while=False)
    record = registry.dna_senders[0]
    assert (record["run_while"], record["run_while_source"], record["when_data_source"]) == (
        False,
        None,
        None,
    )
