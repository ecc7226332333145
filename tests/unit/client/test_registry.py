"""HandlerRegistry: receive, hook and state-callback registration, replacement rules, DNA records, threads.

The ``@send`` rules are in ``test_registry_send.py``; binding and the sender tables in
``test_registry_binding.py``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from summoner_client.client._source import source_stub
from summoner_client.client.registry import HandlerRegistry
from summoner_client.errors import HandlerSignatureError, RegistrationError
from summoner_client.protocol.process import Direction, Receiver
from tests.unit.client._registry_helpers import (
    download,
    hook,
    make_registry,
    messages,
    on_message,
    other_hook,
    other_message,
    produce,
    upload,
)


class Greeting(BaseModel):
    text: str


def tagged(fn: Any) -> Any:
    """A pass-through decorator, to check that captured source keeps decorator lines."""
    return fn


# ----------------------------------------------------------------------------- route type (§3.6, §3.7 row 1)


@pytest.mark.parametrize("route", [5, None, b"A", ["A"]])
def test_check_route_rejects_non_strings_with_the_original_message(route: object) -> None:
    with pytest.raises(TypeError) as info:
        HandlerRegistry.check_route(route)
    assert str(info.value) == f"Argument `route` must be string. Provided: {route}"
    assert isinstance(info.value, RegistrationError)


def test_check_route_strips_the_route() -> None:
    assert HandlerRegistry.check_route("  A --> B \n") == "A --> B"


def test_add_receive_checks_the_route_type_first() -> None:
    def not_async(msg: Any) -> None: ...

    with pytest.raises(TypeError, match="must be string"):
        make_registry().add_receive(not_async, 5)


# ----------------------------------------------------------------------------- receive (§3.6)


def test_receive_rejects_a_sync_handler() -> None:
    def handler(msg: Any) -> None: ...

    with pytest.raises(TypeError) as info:
        make_registry().add_receive(handler, "A")
    assert str(info.value) == "@receive handler 'handler' must be async"
    assert isinstance(info.value, HandlerSignatureError)


def test_receive_rejects_a_handler_that_cannot_take_one_argument() -> None:
    async def handler() -> None: ...

    with pytest.raises(TypeError, match=r"^@receive 'handler' must accept 1 positional argument\(s\)$"):
        make_registry().add_receive(handler, "A")


def test_receive_rejects_a_wrong_return_annotation() -> None:
    async def handler(msg: dict[str, Any]) -> int:
        return 1

    with pytest.raises(TypeError, match=r"^@receive 'handler' must return one of .*, not <class 'int'>$"):
        make_registry().add_receive(handler, "A")


def test_receive_priority_int_becomes_a_tuple_and_bad_priority_is_a_value_error() -> None:
    registry = make_registry()
    registry.add_receive(on_message, "A", 2)
    registry.bind_pending()
    assert registry.receiver_index["A"] == Receiver(on_message, (2,))
    with pytest.raises(
        ValueError, match=r"^Priority must be an integer or a tuple of integers \(got type str: 'x'\)$"
    ):
        registry.add_receive(on_message, "B", "x")


def test_receive_checks_async_then_annotations_then_priority_then_model() -> None:
    registry = make_registry()

    def sync(msg: Any) -> int:
        return 1

    async def bad_return(msg: Any) -> int:
        return 1

    with pytest.raises(TypeError, match="must be async"):
        registry.add_receive(sync, "A", "x", model=5)
    with pytest.raises(TypeError, match="must return one of"):
        registry.add_receive(bad_return, "A", "x", model=5)
    with pytest.raises(ValueError, match="Priority"):
        registry.add_receive(on_message, "A", "x", model=5)
    with pytest.raises(TypeError, match="model"):
        registry.add_receive(on_message, "A", (), model=5)
    assert registry.pending == []
    assert registry.dna_receivers == []


def test_receive_with_a_model_skips_the_parameter_check_and_keeps_the_validator() -> None:
    registry = make_registry()

    async def handler(msg: int) -> None: ...  # int is not allowed without model=

    registry.add_receive(handler, "A", model=Greeting)
    registry.bind_pending()
    assert registry.receive_models["A"].validate_python({"text": "hi"}) == Greeting(text="hi")


def test_receive_is_pending_until_binding() -> None:
    registry = make_registry()
    registry.add_receive(on_message, " A ")
    assert registry.receiver_index == {}
    assert len(registry.pending) == 1
    registry.bind_pending()
    assert registry.receiver_index == {"A": Receiver(on_message, ())}
    assert registry.pending == []


def test_second_receiver_on_a_key_replaces_the_first_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    registry = make_registry()
    registry.add_receive(on_message, "A")
    registry.add_receive(other_message, "A", model=Greeting)
    registry.add_receive(on_message, "A")
    with caplog.at_level(logging.WARNING):
        registry.bind_pending()
    assert registry.receiver_index["A"].fn is on_message
    assert "A" not in registry.receive_models  # the last registration had no model
    assert messages(caplog, logging.WARNING) == ["Route 'A' already exists. Overwriting."] * 2


def test_receiver_replacement_names_the_normalised_key(caplog: pytest.LogCaptureFixture) -> None:
    registry = make_registry(active=True)
    registry.add_receive(on_message, "A --> B")
    registry.add_receive(other_message, "A-->B")
    with caplog.at_level(logging.WARNING):
        registry.bind_pending()
    assert messages(caplog, logging.WARNING) == ["Route 'A--[]-->B' already exists. Overwriting."]
    assert registry.receiver_index["A--[]-->B"].fn is other_message


def test_strict_receiver_replacement_raises_at_binding_and_at_once_when_bound() -> None:
    registry = make_registry(strict=True)
    registry.add_receive(on_message, "A")
    registry.add_receive(other_message, "A")
    with pytest.raises(RegistrationError, match="Route 'A' already exists"):
        registry.bind_pending()
    assert registry.receiver_index["A"].fn is on_message
    registry.bind_pending()
    with pytest.raises(RegistrationError, match="strict mode"):
        registry.add_receive(other_message, "A")
    assert registry.receiver_index["A"].fn is on_message


# ----------------------------------------------------------------------------- hooks (§3.5)


def test_hook_validation_order_async_annotations_direction_priority() -> None:
    registry = make_registry()

    def sync(payload: Any) -> Any: ...

    async def bad(payload: int) -> Any: ...

    with pytest.raises(TypeError) as info:
        registry.add_hook(sync, "nope", "x")
    assert str(info.value) == "@hook handler 'sync' must be async"
    with pytest.raises(TypeError, match=r"^@hook 'bad' parameter should be one of"):
        registry.add_hook(bad, "nope", "x")
    with pytest.raises(TypeError) as info:
        registry.add_hook(hook, "nope", "x")
    assert str(info.value) == "Direction for hook must be either Direction.SEND or Direction.RECEIVE"
    with pytest.raises(
        ValueError, match=r"^Priority must be an integer or a tuple of integers \(got type str"
    ):
        registry.add_hook(hook, Direction.SEND, "x")
    assert registry.sending_hooks == {}
    assert registry.receiving_hooks == {}


def test_hooks_take_effect_at_once_by_direction_and_priority() -> None:
    registry = make_registry()
    before = registry.version
    registry.add_hook(hook, Direction.RECEIVE)
    registry.add_hook(other_hook, Direction.SEND, 3)
    registry.add_hook(hook, Direction.SEND, (1, 2))
    assert registry.receiving_hooks == {(): hook}
    assert registry.sending_hooks == {(3,): other_hook, (1, 2): hook}
    assert registry.version == before + 3
    assert not registry.is_bound


def test_hook_replacement_warns_with_both_names(caplog: pytest.LogCaptureFixture) -> None:
    registry = make_registry()
    registry.add_hook(hook, Direction.RECEIVE)
    with caplog.at_level(logging.WARNING):
        registry.add_hook(other_hook, Direction.RECEIVE, ())
        registry.add_hook(hook, Direction.SEND, 1)
        registry.add_hook(other_hook, Direction.SEND, (1,))
    assert messages(caplog, logging.WARNING) == [
        "Hook for RECEIVE with priority () already exists (hook); replacing it with other_hook",
        "Hook for SEND with priority (1,) already exists (hook); replacing it with other_hook",
    ]
    assert registry.receiving_hooks == {(): other_hook}
    assert registry.sending_hooks == {(1,): other_hook}


def test_strict_hook_replacement_raises_and_keeps_the_first() -> None:
    registry = make_registry(strict=True)
    registry.add_hook(hook, Direction.SEND)
    with pytest.raises(RegistrationError, match=r"Hook for SEND with priority \(\) already exists"):
        registry.add_hook(other_hook, Direction.SEND)
    assert registry.sending_hooks == {(): hook}
    assert len(registry.dna_hooks) == 1


# ----------------------------------------------------------------------------- state callbacks (§3.3, §3.4)


def test_state_callbacks_register_at_once() -> None:
    registry = make_registry()
    registry.add_upload_states(upload)
    registry.add_download_states(download)
    assert registry.upload_states_fn is upload
    assert registry.download_states_fn is download


@pytest.mark.parametrize(
    ("method", "name"), [("add_upload_states", "@upload_states"), ("add_download_states", "@download_states")]
)
def test_state_callback_replacement_warns_and_strict_raises(
    method: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def first(x: Any) -> None: ...

    async def second(x: Any) -> None: ...

    registry = make_registry()
    getattr(registry, method)(first)
    with caplog.at_level(logging.WARNING):
        getattr(registry, method)(second)
    assert messages(caplog, logging.WARNING) == [f"{name} handler overwritten"]
    records = registry.dna_upload_states if method == "add_upload_states" else registry.dna_download_states
    assert [r["fn"] for r in records] == [second]
    registry.strict = True
    with pytest.raises(RegistrationError, match=f"{name} handler overwritten"):
        getattr(registry, method)(first)


def test_state_callback_annotations_are_checked() -> None:
    async def bad_download(states: Any) -> int:
        return 1

    async def bad_upload(payload: int) -> Any: ...

    with pytest.raises(TypeError, match=r"^@download_states 'bad_download' must return one of"):
        make_registry().add_download_states(bad_download)
    with pytest.raises(TypeError, match=r"^@upload_states 'bad_upload' parameter should be one of"):
        make_registry().add_upload_states(bad_upload)

    def sync_upload(payload: Any) -> Any: ...

    with pytest.raises(TypeError, match=r"^@upload_states handler 'sync_upload' must be async$"):
        make_registry().add_upload_states(sync_upload)


# ----------------------------------------------------------------------------- DNA records (§10.1)


def test_receive_dna_record_is_made_at_decoration_with_decorator_lines() -> None:
    @tagged
    async def greet(msg: Any) -> None: ...

    registry = make_registry(active=True)
    registry.add_receive(greet, "  A --> B ", (1,), model=Greeting)
    (record,) = registry.dna_receivers
    assert record["fn"] is greet
    assert record["route"] == "A --> B"
    assert record["route_key"] is None
    assert record["priority"] == (1,)
    assert record["model"] == f"{__name__}:Greeting"
    assert record["source"].lstrip().startswith("@tagged\n")
    registry.bind_pending()
    assert record["route_key"] == "A--[]-->B"


def test_hook_and_state_dna_records() -> None:
    registry = make_registry()
    registry.add_hook(hook, Direction.SEND, 4)
    registry.add_upload_states(upload)
    registry.add_download_states(download)
    (record,) = registry.dna_hooks
    assert record["fn"] is hook
    assert record["direction"] is Direction.SEND
    assert record["priority"] == (4,)
    assert "async def hook(payload" in record["source"]
    assert "async def upload(" in registry.dna_upload_states[0]["source"]
    assert "async def download(" in registry.dna_download_states[0]["source"]


def test_exec_built_function_registers_with_a_stub_or_recorded_source() -> None:
    namespace: dict[str, Any] = {}
    exec("async def made(msg):\n    return None\n", namespace)
    made = namespace["made"]
    registry = make_registry()
    registry.add_receive(made, "A")
    assert registry.dna_receivers[0]["source"] == source_stub(made)
    assert "raise RuntimeError('source unavailable')" in source_stub(made)
    made.__dna_source__ = "async def made(msg):\n    return 1\n"
    registry.add_receive(made, "B")
    assert registry.dna_receivers[1]["source"] == made.__dna_source__
    registry.add_receive(made, "C", dna_source="explicit text")
    assert registry.dna_receivers[2]["source"] == "explicit text"
    registry.bind_pending()
    assert set(registry.receiver_index) == {"A", "B", "C"}


# ----------------------------------------------------------------------------- threads


@pytest.mark.parametrize("bound_first", [False, True])
def test_registration_from_many_threads_loses_nothing(bound_first: bool) -> None:
    registry = make_registry()
    if bound_first:
        registry.bind_pending()
    threads, per_thread = 8, 40
    barrier = threading.Barrier(threads)
    ids: list[str] = []
    ids_lock = threading.Lock()

    def work(n: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            registry.add_receive(on_message, f"r{n}-{i}")
            rid = registry.add_send(produce, f"s{n % 2}")
            with ids_lock:
                ids.append(rid)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    registry.bind_pending()
    total = threads * per_thread
    assert len(set(ids)) == total
    assert len(registry.receiver_index) == total
    assert sum(len(senders) for senders in registry.sender_index.values()) == total
    assert len(registry.dna_senders) == len(registry.dna_receivers) == total
    assert [s.registration_id for s in registry.all_senders()] == [f"sender:{n}" for n in range(1, total + 1)]
