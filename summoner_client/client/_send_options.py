"""The options of ``@send`` checked in the spec's order, and the checks ``model=`` shares with ``@receive``.

What belongs here: rules 4 to 17 of client spec §3.7 (the option types and how options depend on each
other and on the flow), what the checked options become (the ``Sender`` and its DNA record), and
building the pydantic validator of ``model=`` (§12.3). Rules 1 to 3 (the
route type, async-ness, arity and annotations) run in :mod:`.registry` before these, because they are
shared with the other decorators. Nothing here logs, locks or changes the flow.

Each failure raises the package's error that is also the built-in class the original raised
(``TypeError``, ``ValueError``, ``RuntimeError``), with the spec's text where the spec quotes one.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from summoner_client.client._source import get_callable_source
from summoner_client.errors import FlowStateError, HandlerSignatureError, RegistrationError
from summoner_client.protocol.process import Sender
from summoner_client.protocol.triggers import Event, Move, Signal, Stay, Test
from summoner_client.protocol.validation import is_async_callable

__all__ = ["SendOptions", "build_model_adapter", "check_send_options", "send_decorator_name"]

_ACTION_CLASSES: tuple[type[Event], ...] = (Move, Stay, Test)


@dataclass(frozen=True)
class SendOptions:
    """The checked options of one ``@send`` registration, ready to build a ``Sender``."""

    multi: bool
    triggers: frozenset[Signal] | None
    actions: frozenset[type[Event]] | None
    use_data: bool
    data_mode: str | None  # "live" when use_data and none was given
    every: float | None
    run_while: bool | Callable[[], Any] | None
    when_data: Callable[[Any], Any] | None

    @property
    def is_reactive(self) -> bool:
        """A non-empty ``on_triggers`` or ``on_actions`` set; an empty set does not count."""
        return bool(self.triggers) or bool(self.actions)

    def sender(self, fn: Callable[..., Any], registration_id: str) -> Sender:
        """The ``Sender`` that binding puts in ``sender_index``."""
        return Sender(
            fn=fn,
            multi=self.multi,
            actions=self.actions,
            triggers=self.triggers,
            use_data=self.use_data,
            data_mode=self.data_mode,
            when_data=self.when_data,
            every=self.every,
            run_while=self.run_while,
            registration_id=registration_id,
        )

    def dna_record(
        self, fn: Callable[..., Any], route: str, model: str | None, source: str
    ) -> dict[str, Any]:
        """The DNA record of spec §10.1, less ``registration_id`` and ``route_key`` (set later)."""
        return {
            "fn": fn,
            "route": route,
            "route_key": None,
            "multi": self.multi,
            "on_triggers": self.triggers,
            "on_actions": self.actions,
            "use_data": self.use_data,
            "data_mode": self.data_mode,
            "every": self.every,
            "run_while": self.run_while,
            "run_while_source": _predicate_source(self.run_while),
            "when_data": self.when_data,
            "when_data_source": _predicate_source(self.when_data),
            "model": model,
            "source": source,
        }


def _predicate_source(predicate: object) -> str | None:
    """Best-effort source of a ``run_while``/``when_data`` callable; ``None`` for no callable."""
    if predicate is None or isinstance(predicate, bool):
        return None
    return get_callable_source(predicate)


def send_decorator_name(multi: object, use_data: object) -> str:
    """The decorator name used in ``@send`` messages: ``@send``, ``@send[multi=True]``, ..."""
    flags = [flag for flag, on in (("multi=True", multi), ("use_data=True", use_data)) if on]
    return f"@send[{','.join(flags)}]" if flags else "@send"


def check_send_options(  # noqa: PLR0917 - mirrors the decorator's positional order
    multi: object,
    on_triggers: object,
    on_actions: object,
    use_data: object,
    data_mode: object,
    every: object,
    run_while: object,
    when_data: object,
    *,
    flow_active: bool,
) -> SendOptions:
    """Apply rules 4 to 16 of client spec §3.7 in order; the first failure raises.

    Args:
        multi, on_triggers, on_actions, use_data, data_mode, every, run_while, when_data: As given to
            ``send(...)``.
        flow_active: Whether the client's flow is active now, at decoration (rules 10 and 11).

    Returns:
        The options with sets frozen, ``every`` as a float and ``data_mode`` defaulted.

    Raises:
        HandlerSignatureError: A ``TypeError`` rule failed.
        RegistrationError: A ``ValueError`` rule failed.
        FlowStateError: A ``RuntimeError`` rule (the flow must be active) failed.
    """
    _check_bool("multi", multi)
    _check_bool("use_data", use_data)
    seconds = _checked_every(every)
    triggers = _checked_triggers(on_triggers)
    actions = _checked_actions(on_actions)
    reactive = bool(triggers) or bool(actions)
    _check_flow_rules(bool(use_data), reactive, seconds, flow_active)
    predicate = _checked_dependencies(bool(use_data), seconds, data_mode, run_while, when_data)
    mode = _checked_data_mode(data_mode)
    gate = _checked_run_while(run_while)
    return SendOptions(
        multi=bool(multi),
        triggers=triggers,
        actions=actions,
        use_data=bool(use_data),
        data_mode="live" if use_data and mode is None else mode,
        every=seconds,
        run_while=gate,
        when_data=predicate,
    )


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise HandlerSignatureError(f"Argument `{name}` must be a bool. Provided: {value!r}")


def _checked_every(every: object) -> float | None:
    if every is None:
        return None
    if isinstance(every, bool) or not isinstance(every, int | float):
        raise HandlerSignatureError(
            f"Argument `every` must be an int or a float (seconds). Provided: {every!r}"
        )
    # "not > 0" also rejects NaN; an infinite period would fire once and never again.
    if not every > 0 or not math.isfinite(every):
        raise RegistrationError(
            f"Argument `every` must be a finite number of seconds > 0. Provided: {every!r}"
        )
    return float(every)


def _checked_triggers(on_triggers: object) -> frozenset[Signal] | None:
    if on_triggers is None:
        return None
    if not isinstance(on_triggers, AbstractSet) or not all(isinstance(item, Signal) for item in on_triggers):
        raise HandlerSignatureError(
            f"Argument `on_triggers` must be a set of Signal. Provided: {on_triggers!r}"
        )
    return frozenset(on_triggers)


def _checked_actions(on_actions: object) -> frozenset[type[Event]] | None:
    if on_actions is None:
        return None
    # Exactly the three classes: Event itself, or a user subclass, would match more than intended.
    if not isinstance(on_actions, AbstractSet) or not all(
        any(item is cls for cls in _ACTION_CLASSES) for item in on_actions
    ):
        raise HandlerSignatureError(
            "Argument `on_actions` must be a set drawn from {Action.MOVE, Action.STAY, Action.TEST}. "
            f"Provided: {on_actions!r}"
        )
    return frozenset(on_actions)


def _check_flow_rules(use_data: bool, reactive: bool, every: float | None, flow_active: bool) -> None:
    if use_data and not reactive:
        raise RegistrationError(
            "Argument `use_data=True` requires a non-empty `on_triggers` or `on_actions` set so the sender "
            "has queued event data to receive"
        )
    if use_data and not flow_active:
        raise FlowStateError(
            "Argument `use_data=True` requires `client.flow().activate()` before sender registration"
        )
    if every is not None and reactive and not flow_active:
        raise FlowStateError(
            "Timed reactive senders require `client.flow().activate()` before sender registration"
        )


def _checked_dependencies(
    use_data: bool, every: float | None, data_mode: object, run_while: object, when_data: object
) -> Callable[[Any], Any] | None:
    """Rules 12 to 14: options that need another option; returns ``when_data``, checked."""
    if run_while is not None and every is None:
        raise RegistrationError("Argument `run_while` requires `every`")
    if data_mode is not None and not use_data:
        raise RegistrationError("Argument `data_mode` requires `use_data=True`")
    if when_data is None:
        return None
    if not use_data:
        raise RegistrationError("Argument `when_data` requires `use_data=True`")
    if not callable(when_data):
        raise HandlerSignatureError(f"Argument `when_data` must be callable. Provided: {when_data!r}")
    if is_async_callable(when_data):
        raise HandlerSignatureError(
            "Argument `when_data` must be synchronous; async predicates are not supported"
        )
    try:
        signature = inspect.signature(when_data)
    except (TypeError, ValueError):  # builtins without a readable signature: trust the caller
        return when_data
    try:
        signature.bind(None)
    except TypeError:
        raise HandlerSignatureError("Argument `when_data` must accept 1 positional argument") from None
    return when_data


def _checked_data_mode(data_mode: object) -> str | None:
    """Rule 15."""
    if data_mode is None or (isinstance(data_mode, str) and data_mode in ("live", "snapshot")):
        return data_mode
    raise RegistrationError(
        f"Argument `data_mode` must be None, 'live' or 'snapshot'. Provided: {data_mode!r}"
    )


def _checked_run_while(run_while: object) -> bool | Callable[[], Any] | None:
    """Rule 16."""
    if run_while is None or isinstance(run_while, bool) or callable(run_while):
        return run_while
    raise HandlerSignatureError(
        f"Argument `run_while` must be None, a bool or a callable. Provided: {run_while!r}"
    )


def build_model_adapter(model: object) -> TypeAdapter[Any]:
    """Build the validator of ``model=`` at decoration (client spec §12.3, §3.7 rule 17).

    Args:
        model: A pydantic ``BaseModel`` subclass or any type ``pydantic.TypeAdapter`` accepts.

    Raises:
        HandlerSignatureError: (a ``TypeError``) pydantic cannot build a complete validator for it. A
            string, or a function, is refused even where pydantic would take it: a string would resolve
            in this module's namespace, and a function is a call validator, not a payload type.
    """
    if isinstance(model, str) or inspect.isroutine(model):
        raise HandlerSignatureError(
            f"Argument `model` must be a pydantic model or a type, not {type(model).__name__}: {model!r}"
        )
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(model)  # type: ignore[arg-type]  # any object: pydantic judges
        if not adapter.pydantic_complete:
            adapter.rebuild(raise_errors=True)
    # pydantic reports schema problems with several unrelated classes (PydanticUserError, a
    # NameError for undefined annotations, plain TypeErrors from odd generics): all mean "cannot".
    except Exception as exc:
        raise HandlerSignatureError(
            "Argument `model` cannot be used as a pydantic validator: "
            f"{model!r} ({type(exc).__name__}: {exc})"
        ) from exc
    return adapter
