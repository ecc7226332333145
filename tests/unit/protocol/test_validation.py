"""Decoration-time checks: async-ness, arity, annotation classification and hook priorities."""

# ruff: noqa: UP007, UP045

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, NewType, Optional, Protocol, TypedDict, TypeVar, Union

import pytest

from summoner_client.errors import HandlerSignatureError, RegistrationError
from summoner_client.protocol import validation
from summoner_client.protocol.process import Node
from summoner_client.protocol.triggers import Event, Move, Signal
from summoner_client.protocol.validation import (
    DOWNLOAD_STATES_PARAM,
    DOWNLOAD_STATES_RETURN,
    HOOK_PARAM,
    HOOK_RETURN,
    RECEIVE_PARAM,
    RECEIVE_RETURN,
    SEND_MULTI_RETURN,
    SEND_RETURN,
    UPLOAD_STATES_PARAM,
    UPLOAD_STATES_RETURN,
    _check_param_and_return,
    check_async,
    handler_name,
    hook_priority_order,
    is_async_callable,
    normalize_priority,
)
from tests.unit.protocol import _future_annotated_handlers as future

LOGGER = logging.getLogger("tests.validation")

# Allowed bases with no Node/Event in them, for classification rows that need a class hierarchy.


class Base:
    pass


class Derived(Base):
    pass


class Unrelated:
    pass


def check(
    fn: Callable[..., Any],
    params: tuple[object, ...] = HOOK_PARAM,
    returns: tuple[object, ...] = HOOK_RETURN,
    *,
    decorator: str = "@hook",
    arity: int | None = None,
    skip_param: bool = False,
    skip_return: bool = False,
) -> None:
    _check_param_and_return(
        fn,
        decorator,
        params,
        returns,
        LOGGER,
        arity,
        skip_param,
        skip_return_type_check=skip_return,
    )


OMIT = object()


def annotated(param: object = OMIT, returns: object = OMIT, *, name: str = "handle") -> Callable[..., Any]:
    """An async one-argument handler with the given annotations; ``OMIT`` leaves one out."""

    async def handle(msg):  # type: ignore[no-untyped-def]
        return msg

    handle.__name__ = handle.__qualname__ = name
    hints = {"msg": param, "return": returns}
    handle.__annotations__ = {key: hint for key, hint in hints.items() if hint is not OMIT}
    return handle


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def rejection_of(fn: Callable[..., Any], **kwargs: Any) -> str:
    with pytest.raises(HandlerSignatureError) as info:
        check(fn, **kwargs)
    assert isinstance(info.value, TypeError)
    return str(info.value)


@pytest.fixture(autouse=True)
def _capture_warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER.name)


# --------------------------------------------------------------------------- the must-pass list
# Eager twins of the handlers in _future_annotated_handlers, with the same names.


async def receive_union_str_dict(msg: Union[str, dict]) -> Optional[Event]:
    return None


async def receive_dict_any_to_move(msg: dict[str, Any]) -> Move:
    raise NotImplementedError


async def hook_union_str_dict(msg: Union[str, dict]) -> Optional[dict]:
    return None


async def hook_dict_str_str(msg: dict[str, str]) -> Union[dict, str, None]:
    return msg


async def send_optional_dict() -> Optional[dict]:
    return None


async def send_union_dict_str_none() -> Union[dict, str, None]:
    return None


async def send_dict_str_str() -> dict[str, str]:
    return {}


async def send_multi_list_dict() -> list[dict]:
    return []


async def send_multi_list_dict_any() -> list[dict[str, Any]]:
    return []


async def upload_union_none_to_list_str(payload: Union[dict, str, None]) -> list[str]:
    return [Node("A")]  # type: ignore[list-item]


async def upload_optional_dict_to_dict_str_str(payload: Optional[dict]) -> dict[str, str]:
    return {}


async def upload_any_to_list_node(payload: Any) -> list[Node]:
    return []


async def upload_any_to_state_map(payload: Any) -> dict[Optional[str], list[Node]]:
    return {}


async def download_list_node(states: list[Node]) -> None:
    return None


async def download_state_map(states: dict[Optional[str], list[Node]]) -> None:
    return None


async def download_dict_str_str(states: dict[str, str]) -> None:
    return None


async def receive_dict_to_int(msg: dict) -> int:
    return 0


RECEIVE = ("@receive", RECEIVE_PARAM, RECEIVE_RETURN, 1)
HOOK = ("@hook", HOOK_PARAM, HOOK_RETURN, 1)
SEND = ("@send", (), SEND_RETURN, 0)
SEND_MULTI = ("@send[multi=True]", (), SEND_MULTI_RETURN, 0)
UPLOAD = ("@upload_states", UPLOAD_STATES_PARAM, UPLOAD_STATES_RETURN, 1)
DOWNLOAD = ("@download_states", DOWNLOAD_STATES_PARAM, DOWNLOAD_STATES_RETURN, 1)
MUST_PASS = [
    (receive_union_str_dict, RECEIVE),
    (receive_dict_any_to_move, RECEIVE),
    (hook_union_str_dict, HOOK),
    (hook_dict_str_str, HOOK),
    (send_optional_dict, SEND),
    (send_union_dict_str_none, SEND),
    (send_dict_str_str, SEND),
    (send_multi_list_dict, SEND_MULTI),
    (send_multi_list_dict_any, SEND_MULTI),
    (upload_union_none_to_list_str, UPLOAD),
    (upload_optional_dict_to_dict_str_str, UPLOAD),
    (upload_any_to_list_node, UPLOAD),
    (upload_any_to_state_map, UPLOAD),
    (download_list_node, DOWNLOAD),
    (download_state_map, DOWNLOAD),
    (download_dict_str_str, DOWNLOAD),
]


@pytest.mark.parametrize(("fn", "case"), MUST_PASS, ids=[fn.__name__ for fn, _ in MUST_PASS])
@pytest.mark.parametrize("style", ["eager", "future"])
def test_annotations_real_agents_use_pass_silently(
    fn: Callable[..., Any],
    case: tuple[str, tuple[object, ...], tuple[object, ...], int],
    style: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    decorator, params, returns, arity = case
    handler = getattr(future, fn.__name__) if style == "future" else fn
    check(handler, params, returns, decorator=decorator, arity=arity, skip_param=not params)
    assert warnings_of(caplog) == []


@pytest.mark.parametrize("fn", [receive_dict_to_int, future.receive_dict_to_int], ids=["eager", "future"])
def test_unrelated_return_class_on_receiver_is_rejected_in_both_annotation_styles(
    fn: Callable[..., Any],
) -> None:
    message = rejection_of(fn, params=RECEIVE_PARAM, returns=RECEIVE_RETURN, decorator="@receive")
    assert message == f"@receive 'receive_dict_to_int' must return one of {RECEIVE_RETURN}, not <class 'int'>"


def test_future_annotation_naming_a_local_class_warns_and_is_accepted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check(future.make_handler_naming_a_local_class(), RECEIVE_PARAM, RECEIVE_RETURN, decorator="@receive")
    assert warnings_of(caplog) == [
        "@receive 'handle_local' could not resolve annotation 'LocalPayload'; skipping type check"
    ]


# --------------------------------------------------------------------------- the tables


def test_allowed_tables_match_the_spec() -> None:
    names = ["UPLOAD_STATES_PARAM", "UPLOAD_STATES_RETURN", "DOWNLOAD_STATES_PARAM", "DOWNLOAD_STATES_RETURN"]
    names += [
        "HOOK_PARAM",
        "HOOK_RETURN",
        "RECEIVE_PARAM",
        "RECEIVE_RETURN",
        "SEND_RETURN",
        "SEND_MULTI_RETURN",
    ]
    assert {name: getattr(validation, name) for name in names} == {
        "UPLOAD_STATES_PARAM": (Any, str, dict, None),
        "UPLOAD_STATES_RETURN": (Any, None, str, Node, list, tuple, dict),
        "DOWNLOAD_STATES_PARAM": (Any, None, Node, list, dict),
        "DOWNLOAD_STATES_RETURN": (Any, None),
        "HOOK_PARAM": (Any, str, dict),
        "HOOK_RETURN": (Any, None, str, dict),
        "RECEIVE_PARAM": (Any, str, dict),
        "RECEIVE_RETURN": (Any, None, Event),
        "SEND_RETURN": (Any, None, str, dict),
        "SEND_MULTI_RETURN": (Any, None, list, tuple),
    }


def test_every_exported_name_exists() -> None:
    assert [name for name in validation.__all__ if not hasattr(validation, name)] == []


# --------------------------------------------------------------------------- classification rows


def test_missing_parameter_annotation_warns_and_is_accepted(caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(returns=dict))
    assert warnings_of(caplog) == ["@hook 'handle' missing parameter annotation; skipping type check"]


def test_missing_return_annotation_warns_and_is_accepted(caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(param=dict))
    assert warnings_of(caplog) == ["@hook 'handle' missing return annotation; skipping type check"]


def test_unresolvable_string_annotation_warns_and_is_accepted(caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(param="NoSuchPayload", returns=dict))
    assert warnings_of(caplog) == [
        "@hook 'handle' could not resolve annotation 'NoSuchPayload'; skipping type check"
    ]


def test_unresolvable_forward_reference_inside_a_union_warns_and_is_accepted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check(annotated(param=dict, returns=Optional["NoSuchEvent"]), RECEIVE_PARAM, RECEIVE_RETURN)  # noqa: F821
    assert warnings_of(caplog) == [
        "@hook 'handle' could not resolve annotation 'NoSuchEvent'; skipping type check"
    ]


def test_resolvable_string_annotations_are_checked_when_another_one_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check(annotated(param="dict[str, Any]", returns="NoSuchThing"))
    assert warnings_of(caplog) == [
        "@hook 'handle' could not resolve annotation 'NoSuchThing'; skipping type check"
    ]
    message = rejection_of(annotated(param="int", returns="NoSuchThing"))
    assert message == f"@hook 'handle' parameter should be one of {HOOK_PARAM}, not <class 'int'>"


@pytest.mark.parametrize("hint", [Any, "Any"], ids=["object", "string"])
def test_any_is_accepted_everywhere(hint: object, caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(param=hint, returns=hint), (str,), (Base,))
    assert warnings_of(caplog) == []


@pytest.mark.parametrize("hint", [None, type(None), "None"], ids=["None", "NoneType", "string"])
def test_none_is_accepted_where_none_is_allowed(hint: object, caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(param=dict, returns=hint))
    assert warnings_of(caplog) == []


@pytest.mark.parametrize("hint", [type(None), "None"], ids=["NoneType", "string"])
def test_none_is_rejected_where_none_is_not_allowed(hint: object) -> None:
    message = rejection_of(annotated(param=hint, returns=dict))
    assert message == f"@hook 'handle' parameter should be one of {HOOK_PARAM}, not <class 'NoneType'>"


def test_annotated_is_classified_by_its_first_argument(caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(param=Annotated[dict[str, Any], "payload"], returns=Annotated[Optional[str], "x"]))
    assert warnings_of(caplog) == []
    assert rejection_of(annotated(param=Annotated[int, "n"], returns=dict)).endswith(
        "not typing.Annotated[int, 'n']"
    )


@pytest.mark.parametrize(
    "hint", [Union[str, dict], Optional[dict[str, Any]], str | dict | None, Union[Annotated[str, 1], Mapping]]
)
def test_union_whose_members_are_all_accepted_passes_silently(
    hint: object, caplog: pytest.LogCaptureFixture
) -> None:
    check(annotated(param=dict, returns=hint))
    assert warnings_of(caplog) == []


@pytest.mark.parametrize("hint", [Union[int, float], int | list[str]])
def test_union_whose_members_are_all_rejected_is_rejected(hint: object) -> None:
    message = rejection_of(annotated(param=dict, returns=hint))
    assert message == f"@hook 'handle' must return one of {HOOK_RETURN}, not {hint}"


@pytest.mark.parametrize("hint", [Union[dict, int], str | int | None])
def test_union_with_accepted_and_rejected_members_warns_and_is_accepted(
    hint: object, caplog: pytest.LogCaptureFixture
) -> None:
    check(annotated(param=hint, returns=dict))
    assert warnings_of(caplog) == [
        f"@hook 'handle' parameter annotation {hint} is only partly among {HOOK_PARAM}; accepting it"
    ]


def test_union_with_an_uncheckable_member_warns_about_that_member(caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(param=Union[dict, Literal["ping"]], returns=dict))
    assert warnings_of(caplog) == [
        f"@hook 'handle' cannot check parameter annotation typing.Literal['ping'] against {HOOK_PARAM};"
        " accepting it"
    ]


@pytest.mark.parametrize("hint", [dict[str, Any], list[dict[str, Any]], tuple[int, ...], list[Node]])
def test_parameterised_generics_are_classified_by_their_origin(
    hint: object, caplog: pytest.LogCaptureFixture
) -> None:
    check(annotated(param=dict, returns=hint), (dict,), UPLOAD_STATES_RETURN)
    assert warnings_of(caplog) == []


def test_parameterised_generic_with_an_unrelated_origin_is_rejected() -> None:
    message = rejection_of(annotated(param=list[dict[str, Any]], returns=dict))
    assert (
        message == f"@hook 'handle' parameter should be one of {HOOK_PARAM}, not list[dict[str, typing.Any]]"
    )


@pytest.mark.parametrize("hint", [Derived, Base, object], ids=["subclass", "same", "superclass"])
def test_class_related_by_subclassing_is_accepted(hint: type, caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(param=hint, returns=hint), (Derived,), (Any, Base))
    assert warnings_of(caplog) == []


@pytest.mark.parametrize("hint", [Move, Event, Mapping, Mapping[str, Any], dict, object])
def test_event_subclasses_and_mapping_supertypes_are_accepted(
    hint: object, caplog: pytest.LogCaptureFixture
) -> None:
    check(annotated(param=dict, returns=hint), HOOK_PARAM, (Any, None, Event, dict))
    assert warnings_of(caplog) == []


def test_unrelated_class_is_rejected_with_the_spec_message() -> None:
    message = rejection_of(annotated(param=Unrelated, returns=dict), params=(Any, Base))
    assert message == (f"@hook 'handle' parameter should be one of (typing.Any, {Base!r}), not {Unrelated!r}")


def test_rejection_reports_the_decorator_and_handler_names() -> None:
    message = rejection_of(annotated(param=int, returns=dict, name="on_ping"), decorator="@receive")
    assert message == (
        "@receive 'on_ping' parameter should be one of "
        "(typing.Any, <class 'str'>, <class 'dict'>), not <class 'int'>"
    )


class _TypedPayload(TypedDict):
    kind: str


class _HasPing(Protocol):
    def ping(self) -> str: ...


_T = TypeVar("_T")
_UserId = NewType("_UserId", str)


@pytest.mark.parametrize(
    "hint",
    [_T, Literal["ping"], _HasPing, Callable[[int], str], Callable, _TypedPayload, _UserId],
    ids=["TypeVar", "Literal", "Protocol", "Callable", "bare-Callable", "TypedDict", "NewType"],
)
def test_hints_that_are_not_checkable_classes_warn_and_are_accepted(
    hint: object, caplog: pytest.LogCaptureFixture
) -> None:
    check(annotated(param=hint, returns=dict))
    [message] = warnings_of(caplog)
    assert message.startswith("@hook 'handle' cannot check parameter annotation ")
    assert message.endswith(f" against {HOOK_PARAM}; accepting it")


def test_skipped_checks_neither_warn_nor_reject(caplog: pytest.LogCaptureFixture) -> None:
    check(annotated(param=int), skip_param=True, skip_return=True)
    check(annotated(), skip_param=True, skip_return=True)
    assert warnings_of(caplog) == []


def test_parameter_check_can_be_skipped_while_the_return_is_still_checked() -> None:
    message = rejection_of(annotated(param=int, returns=int), skip_param=True)
    assert message == f"@hook 'handle' must return one of {HOOK_RETURN}, not <class 'int'>"


# --------------------------------------------------------------------------- arity


async def one_required(msg: dict) -> None:
    return None


async def one_required_plus_defaults(msg: dict, retries: int = 3, *, label: str = "x") -> None:
    return None


async def star_args(*msgs: dict) -> None:
    return None


async def no_parameters() -> None:
    return None


async def two_required(msg: dict, extra: int) -> None:
    return None


async def required_keyword_only(msg: dict, *, label: str) -> None:
    return None


async def keywords_only(**kwargs: dict) -> None:
    return None


@pytest.mark.parametrize("fn", [one_required, one_required_plus_defaults, star_args])
def test_handler_that_binds_one_positional_argument_passes(
    fn: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    check(fn)
    check(fn, arity=1)
    assert warnings_of(caplog) == []


@pytest.mark.parametrize("fn", [no_parameters, two_required, required_keyword_only, keywords_only])
def test_handler_that_cannot_bind_one_positional_argument_is_rejected(fn: Callable[..., Any]) -> None:
    message = rejection_of(fn, decorator="@receive")
    assert message == f"@receive '{fn.__name__}' must accept 1 positional argument(s)"


def test_sender_without_data_must_take_no_required_argument(caplog: pytest.LogCaptureFixture) -> None:
    check(no_parameters, (), SEND_RETURN, decorator="@send", arity=0, skip_param=True)
    assert warnings_of(caplog) == []
    message = rejection_of(one_required, params=(), returns=SEND_RETURN, decorator="@send", arity=0)
    assert message == "@send 'one_required' must accept 0 positional argument(s)"


def test_arity_is_checked_before_annotations() -> None:
    async def bad(msg: int, extra: int) -> int:
        return 0

    assert rejection_of(bad) == "@hook 'bad' must accept 1 positional argument(s)"


def test_star_args_annotation_is_checked_as_the_parameter() -> None:
    async def many(*msgs: int) -> None:
        return None

    assert rejection_of(many).endswith(
        "parameter should be one of (typing.Any, <class 'str'>, <class 'dict'>), not <class 'int'>"
    )


def test_unreadable_signature_warns_and_skips_checks(caplog: pytest.LogCaptureFixture) -> None:
    class Opaque:
        __signature__ = "not a signature"

        async def __call__(self, msg: int) -> int:
            return 0

    check(Opaque())
    assert warnings_of(caplog) == ["@hook 'Opaque' has no readable signature; skipping checks"]


# --------------------------------------------------------------------------- partials and callable objects


async def keyed(key: str, msg: dict) -> None:
    return None


async def keyed_int(key: str, msg: int) -> None:
    return None


class CallableHandler:
    async def __call__(self, msg: dict) -> Optional[dict]:
        return msg


class CallableIntHandler:
    async def __call__(self, msg: int) -> None:
        return None


class CallableWithoutHints:
    async def __call__(self, msg: "NoSuchType") -> None:  # type: ignore[name-defined]  # noqa: F821
        return None


def test_partial_is_checked_on_its_remaining_parameters(caplog: pytest.LogCaptureFixture) -> None:
    check(functools.partial(keyed, "room"))
    check(functools.partial(functools.partial(keyed), "room"))
    assert warnings_of(caplog) == []
    assert rejection_of(functools.partial(keyed_int, "room")) == (
        f"@hook 'keyed_int' parameter should be one of {HOOK_PARAM}, not <class 'int'>"
    )
    assert rejection_of(functools.partial(keyed)) == "@hook 'keyed' must accept 1 positional argument(s)"


def test_callable_object_is_checked_through_its_call_method(caplog: pytest.LogCaptureFixture) -> None:
    check(CallableHandler())
    assert warnings_of(caplog) == []
    assert rejection_of(CallableIntHandler()) == (
        f"@hook 'CallableIntHandler' parameter should be one of {HOOK_PARAM}, not <class 'int'>"
    )


def test_callable_object_with_unresolvable_hint_warns(caplog: pytest.LogCaptureFixture) -> None:
    check(CallableWithoutHints())
    assert warnings_of(caplog) == [
        "@hook 'CallableWithoutHints' could not resolve annotation 'NoSuchType'; skipping type check"
    ]


def test_bound_async_method_is_checked_without_self(caplog: pytest.LogCaptureFixture) -> None:
    class Agent:
        async def on_message(self, msg: dict) -> None:
            return None

    check(Agent().on_message)
    assert warnings_of(caplog) == []


def test_handler_name_sees_through_partials_and_falls_back_to_the_class_name() -> None:
    assert handler_name(keyed) == "keyed"
    assert handler_name(functools.partial(functools.partial(keyed, "a"))) == "keyed"
    assert handler_name(CallableHandler()) == "CallableHandler"


# --------------------------------------------------------------------------- async-ness


async def _agen() -> Any:
    yield None


def _sync(msg: dict) -> None:
    return None


class _AsyncCallClass:
    async def __call__(self) -> None:
        return None


class _SyncCallable:
    def __call__(self) -> None:
        return None


@pytest.mark.parametrize(
    "obj",
    [
        one_required,
        CallableHandler(),
        functools.partial(keyed, "k"),
        functools.partial(CallableHandler()),
        functools.partial(functools.partial(keyed), "k"),
        CallableHandler().__call__,
    ],
    ids=["coroutine-function", "callable-object", "partial", "partial-of-object", "nested-partial", "method"],
)
def test_async_callables_are_recognised(obj: object) -> None:
    assert is_async_callable(obj)
    check_async(obj, "@receive")


@pytest.mark.parametrize(
    "obj",
    [_sync, _agen, _AsyncCallClass, _SyncCallable(), functools.partial(_sync), None, "one_required"],
    ids=["sync", "async-generator", "class-with-async-call", "sync-object", "sync-partial", "None", "str"],
)
def test_non_async_callables_are_not_recognised(obj: object) -> None:
    assert not is_async_callable(obj)


@pytest.mark.parametrize(
    ("decorator", "kind"),
    [
        ("@receive", "handler"),
        ("@hook", "handler"),
        ("@upload_states", "handler"),
        ("@download_states", "handler"),
        ("@send", "sender"),
    ],
)
def test_not_async_error_names_the_decorator(decorator: str, kind: str) -> None:
    with pytest.raises(HandlerSignatureError) as info:
        check_async(_sync, decorator, kind)
    assert str(info.value) == f"{decorator} {kind} '_sync' must be async"
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, RegistrationError)


def test_not_async_error_defaults_to_handler_wording_and_names_objects_by_class() -> None:
    with pytest.raises(TypeError, match=r"^@hook handler '_SyncCallable' must be async$"):
        check_async(_SyncCallable(), "@hook")


# --------------------------------------------------------------------------- priorities


@pytest.mark.parametrize(
    ("given", "expected"),
    [(0, (0,)), (7, (7,)), (-2, (-2,)), (True, (1,)), ((), ()), ((1, 2), (1, 2)), ((False, 3), (0, 3))],
)
def test_priority_is_normalised_to_a_tuple_of_ints(given: object, expected: tuple[int, ...]) -> None:
    assert normalize_priority(given) == expected


def test_bool_priority_keeps_its_value_as_the_original_did() -> None:
    assert normalize_priority(True)[0] is True


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("1", "str: '1'"),
        (1.5, "float: 1.5"),
        ([1], "list: [1]"),
        ((1, "a"), "tuple: (1, 'a')"),
        (None, "NoneType: None"),
        ((1.0,), "tuple: (1.0,)"),
    ],
)
def test_bad_priority_raises_a_value_error_with_the_spec_text(given: object, shown: str) -> None:
    with pytest.raises(RegistrationError) as info:
        normalize_priority(given)
    assert str(info.value) == f"Priority must be an integer or a tuple of integers (got type {shown})"
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, TypeError)


def test_hook_priority_order_runs_sdk_hooks_first_then_user_hooks_in_tuple_order() -> None:
    priorities = [(2,), (1, 5), (), ("sdk", 1), (1,), ("aurora",), (-1,)]
    assert sorted(priorities, key=hook_priority_order) == [
        ("aurora",),
        ("sdk", 1),
        (),
        (-1,),
        (1,),
        (1, 5),
        (2,),
    ]


def test_hook_priority_order_key_shapes() -> None:
    assert hook_priority_order(()) == (1, ())
    assert hook_priority_order((3,)) == (1, (3,))
    assert hook_priority_order(("sdk", 2)) == (0, ("sdk", 2))


def test_signal_is_unrelated_to_event_and_rejected_as_a_receiver_return() -> None:
    message = rejection_of(
        annotated(param=dict, returns=Signal), returns=RECEIVE_RETURN, decorator="@receive"
    )
    assert message == f"@receive 'handle' must return one of {RECEIVE_RETURN}, not {Signal!r}"
