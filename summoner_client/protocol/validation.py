"""Decoration-time checks for handlers: async-ness, arity, annotations and hook priorities.

Everything here runs once, when a decorator is applied, so misuse is reported at registration and
never on the first message. Nothing here looks at a value at run time: whatever a handler returns
flows through the runtime unchecked.

The annotation check works from *allowed bases* (``(Any, str, dict)``, ...) rather than exact
membership: a hint is accepted when it is ``Any``, when it is a class related by subclassing to an
allowed class (``Move`` where ``Event`` is allowed, ``Mapping`` where ``dict`` is), or when it is a
parameterised generic whose origin is; unions are checked member by member. Hints this module cannot
judge (``TypeVar``, ``Literal``, protocols, ...) and string annotations it cannot resolve are
accepted with a WARNING: only an annotation that is certainly wrong stops an agent from starting.

``_check_param_and_return`` keeps the original's name and signature because third-party decorators
call it (spec §1.2).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, ForwardRef, NamedTuple, Protocol, Union

from summoner_client.errors import HandlerSignatureError, RegistrationError
from summoner_client.protocol.process import Node
from summoner_client.protocol.triggers import Event

__all__ = [
    "DOWNLOAD_STATES_PARAM",
    "DOWNLOAD_STATES_RETURN",
    "HOOK_PARAM",
    "HOOK_RETURN",
    "RECEIVE_PARAM",
    "RECEIVE_RETURN",
    "SEND_MULTI_RETURN",
    "SEND_RETURN",
    "UPLOAD_STATES_PARAM",
    "UPLOAD_STATES_RETURN",
    "WarningLogger",
    "_check_param_and_return",
    "check_async",
    "handler_name",
    "hook_priority_order",
    "is_async_callable",
    "normalize_priority",
]

UPLOAD_STATES_PARAM: tuple[object, ...] = (Any, str, dict, None)
UPLOAD_STATES_RETURN: tuple[object, ...] = (Any, None, str, Node, list, tuple, dict)
DOWNLOAD_STATES_PARAM: tuple[object, ...] = (Any, None, Node, list, dict)
DOWNLOAD_STATES_RETURN: tuple[object, ...] = (Any, None)
HOOK_PARAM: tuple[object, ...] = (Any, str, dict)
HOOK_RETURN: tuple[object, ...] = (Any, None, str, dict)
RECEIVE_PARAM: tuple[object, ...] = (Any, str, dict)
RECEIVE_RETURN: tuple[object, ...] = (Any, None, Event)
SEND_RETURN: tuple[object, ...] = (Any, None, str, dict)
SEND_MULTI_RETURN: tuple[object, ...] = (Any, None, list, tuple)


class WarningLogger(Protocol):
    """What the annotation check needs from a logger: ``logging.Logger`` and adapters qualify."""

    def warning(self, msg: str, *args: object) -> None: ...


# --------------------------------------------------------------------------- priorities


def normalize_priority(priority: object) -> tuple[int, ...]:
    """Turn a decorator's ``priority`` argument into the tuple used as the hook or receiver key.

    Args:
        priority: An ``int`` (a ``bool`` counts, as in the original) or a tuple of ints.

    Returns:
        ``(priority,)`` for an int, the tuple itself otherwise.

    Raises:
        RegistrationError: (a ``ValueError``) for anything else.
    """
    if isinstance(priority, int):
        return (priority,)
    if isinstance(priority, tuple) and all(isinstance(part, int) for part in priority):
        return priority
    raise RegistrationError(
        "Priority must be an integer or a tuple of integers "
        f"(got type {type(priority).__name__}: {priority!r})"
    )


def hook_priority_order(priority: tuple[Any, ...]) -> tuple[int, tuple[Any, ...]]:
    """Sort key for hooks: SDK priorities (first element a ``str``) first, then user ones in tuple order."""
    if priority and isinstance(priority[0], str):
        return (0, priority)
    return (1, priority)


# --------------------------------------------------------------------------- async-ness


def handler_name(fn: object) -> str:
    """The name used in messages: the function's, through partials; a callable object's class name."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) else type(fn).__name__


def is_async_callable(obj: object) -> bool:
    """Whether calling ``obj`` gives a coroutine (spec §3.1).

    Coroutine functions and methods qualify, and so do callable objects whose ``__call__`` is a
    coroutine function and ``functools.partial`` objects wrapping either. A class never does, even
    one with an async ``__call__``: calling the class builds an instance.
    """
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return True
    return callable(obj) and not isinstance(obj, type) and inspect.iscoroutinefunction(obj.__call__)


def check_async(fn: object, decorator_name: str, kind: str = "handler") -> None:
    """Raise unless ``fn`` is async.

    Args:
        fn: The decorated object.
        decorator_name: ``"@receive"``, ``"@hook"``, ...
        kind: ``"handler"``, or ``"sender"`` for ``@send``.

    Raises:
        HandlerSignatureError: ``"<decorator> <kind> '<name>' must be async"``.
    """
    if not is_async_callable(fn):
        raise HandlerSignatureError(f"{decorator_name} {kind} '{handler_name(fn)}' must be async")


# --------------------------------------------------------------------------- annotation classes


class _Verdict(enum.Enum):
    ACCEPT = enum.auto()
    REJECT = enum.auto()
    MIXED = enum.auto()  # a union with both accepted and rejected members: warn, accept
    UNSURE = enum.auto()  # a hint that is not a class this check can judge: warn, accept
    UNRESOLVED = enum.auto()  # a forward reference that could not be evaluated: warn, accept


class _Outcome(NamedTuple):
    verdict: _Verdict
    subject: object  # what the warning names: the hint, or the text of an unresolved reference


class _Allowed(NamedTuple):
    exact: tuple[object, ...]
    none_ok: bool
    classes: tuple[type, ...]


_CALLABLE_ABC: object = Callable  # compared by identity: a structural ABC, not an ancestor
_NONE_HINTS: tuple[object, ...] = (None, types.NoneType)
_UNION_ORIGINS: tuple[object, ...] = (Union, types.UnionType)


def _allowed(bases: tuple[object, ...]) -> _Allowed:
    classes: list[type] = []
    for base in bases:
        cls = base if isinstance(base, type) else typing.get_origin(base)
        if isinstance(cls, type) and cls is not types.NoneType:
            classes.append(cls)
    none_ok = any(base in _NONE_HINTS for base in bases)
    return _Allowed(bases, none_ok, tuple(classes))


def _classify(hint: object, allowed: _Allowed) -> _Outcome:
    if isinstance(hint, str):
        return _Outcome(_Verdict.UNRESOLVED, hint)
    if isinstance(hint, ForwardRef):
        return _Outcome(_Verdict.UNRESOLVED, hint.__forward_arg__)
    if hint is Any or hint in allowed.exact:
        return _Outcome(_Verdict.ACCEPT, hint)
    if hint in _NONE_HINTS:
        return _Outcome(_Verdict.ACCEPT if allowed.none_ok else _Verdict.REJECT, hint)
    origin = typing.get_origin(hint)
    if origin is Annotated:
        return _classify(typing.get_args(hint)[0], allowed)
    if origin in _UNION_ORIGINS:
        return _classify_union(hint, allowed)
    if isinstance(origin, type):
        hint = origin
    if isinstance(hint, type):
        return _classify_class(hint, allowed)
    return _Outcome(_Verdict.UNSURE, hint)


def _classify_union(hint: object, allowed: _Allowed) -> _Outcome:
    outcomes = [_classify(member, allowed) for member in typing.get_args(hint)]
    rejected = sum(outcome.verdict is _Verdict.REJECT for outcome in outcomes)
    if rejected == len(outcomes):
        return _Outcome(_Verdict.REJECT, hint)
    if rejected:
        return _Outcome(_Verdict.MIXED, hint)
    doubtful = [outcome for outcome in outcomes if outcome.verdict is not _Verdict.ACCEPT]
    return doubtful[0] if doubtful else _Outcome(_Verdict.ACCEPT, hint)


def _classify_class(cls: type, allowed: _Allowed) -> _Outcome:
    # Protocols and TypedDicts describe shapes, not ancestry, and Callable is a structural ABC:
    # subclass tests would be meaningless (or raise), so these are accepted with a warning.
    if cls is _CALLABLE_ABC or getattr(cls, "_is_protocol", False) or typing.is_typeddict(cls):
        return _Outcome(_Verdict.UNSURE, cls)
    try:
        related = any(issubclass(cls, base) or issubclass(base, cls) for base in allowed.classes)
    except TypeError:  # a metaclass that refuses subclass tests
        return _Outcome(_Verdict.UNSURE, cls)
    return _Outcome(_Verdict.ACCEPT if related else _Verdict.REJECT, cls)


# --------------------------------------------------------------------------- resolving hints


def _annotation_owner(fn: Callable[..., object]) -> Callable[..., object]:
    """The function or method whose ``__annotations__`` and globals describe calling ``fn``."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return fn
    return type(fn).__call__


def _resolved_hints(owner: Callable[..., object]) -> dict[str, object]:
    try:
        return typing.get_type_hints(owner, include_extras=True)
    # Evaluating annotation text runs arbitrary expressions, so any failure can happen here; each
    # one means the same thing: fall back to the raw annotations, one at a time.
    except Exception:
        return {}


def _evaluate(raw: object, owner: Callable[..., object]) -> object:
    """A raw annotation, with string annotations evaluated in the function's globals."""
    if not isinstance(raw, str):
        return raw
    namespace = getattr(inspect.unwrap(owner), "__globals__", {})
    try:
        return eval(raw, namespace)
    except Exception:  # see _resolved_hints: a failure of any kind means "unresolved"
        return ForwardRef(raw)


# --------------------------------------------------------------------------- the check


@dataclasses.dataclass(frozen=True)
class _HintCheck:
    """One handler's context for judging its annotations and reporting the outcome."""

    decorator_name: str
    name: str
    logger: WarningLogger
    owner: Callable[..., object]
    hints: dict[str, object]

    def check(self, role: str, key: str, raw: object, bases: tuple[object, ...]) -> None:
        if raw is inspect.Parameter.empty:
            self.warn("missing %s annotation; skipping type check", role)
            return
        hint = self.hints[key] if key in self.hints else _evaluate(raw, self.owner)
        verdict, subject = _classify(hint, _allowed(bases))
        if verdict is _Verdict.REJECT:
            raise HandlerSignatureError(self.rejection(role, bases, hint))
        if verdict is _Verdict.UNRESOLVED:
            self.warn("could not resolve annotation '%s'; skipping type check", subject)
        elif verdict is _Verdict.MIXED:
            self.warn("%s annotation %s is only partly among %s; accepting it", role, hint, bases)
        elif verdict is _Verdict.UNSURE:
            self.warn("cannot check %s annotation %s against %s; accepting it", role, subject, bases)

    def rejection(self, role: str, bases: tuple[object, ...], hint: object) -> str:
        head = f"{self.decorator_name} '{self.name}'"
        if role == "return":
            return f"{head} must return one of {bases}, not {hint}"
        return f"{head} parameter should be one of {bases}, not {hint}"

    def warn(self, template: str, *args: object) -> None:
        self.logger.warning("%s '%s' " + template, self.decorator_name, self.name, *args)


def _bind_positional(
    signature: inspect.Signature, count: int, decorator_name: str, name: str
) -> inspect.BoundArguments:
    # bind() also fails when a parameter left over has no default, keyword-only ones included.
    try:
        return signature.bind(*([None] * count))
    except TypeError:
        raise HandlerSignatureError(
            f"{decorator_name} '{name}' must accept {count} positional argument(s)"
        ) from None


def _check_param_and_return(  # noqa: PLR0917 - the original's signature, called positionally
    fn: Callable[..., object],
    decorator_name: str,
    allow_param: tuple[object, ...],
    allow_return: tuple[object, ...],
    logger: WarningLogger,
    expected_params: int | None = None,
    skip_param_type_check: bool = False,
    *,
    skip_return_type_check: bool = False,
) -> None:
    """Check a handler's arity and annotations against the allowed bases (spec §3.2).

    Args:
        fn: The decorated callable: a function, a callable object or a ``functools.partial``.
        decorator_name: Used in messages, for example ``"@receive"`` or ``"@send[multi=True]"``.
        allow_param: Allowed bases for the parameters that receive the positional arguments.
        allow_return: Allowed bases for the return annotation.
        logger: Receives the WARNINGs for missing, unresolved and uncheckable annotations.
        expected_params: How many positional arguments the runtime passes; ``None`` means 1.
        skip_param_type_check: Skip the parameter annotations (``@send``, ``@receive(model=...)``).
        skip_return_type_check: Skip the return annotation (``@send(model=...)``). An addition.

    Raises:
        HandlerSignatureError: The call the runtime makes cannot bind, or an annotation is rejected.
    """
    name = handler_name(fn)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        logger.warning("%s '%s' has no readable signature; skipping checks", decorator_name, name)
        return
    count = 1 if expected_params is None else expected_params
    bound = _bind_positional(signature, count, decorator_name, name)
    owner = _annotation_owner(fn)
    check = _HintCheck(decorator_name, name, logger, owner, _resolved_hints(owner))
    if not skip_param_type_check:
        for key in bound.arguments:
            check.check("parameter", key, signature.parameters[key].annotation, allow_param)
    if not skip_return_type_check:
        check.check("return", "return", signature.return_annotation, allow_return)
