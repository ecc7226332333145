"""``HandlerRegistry``: validates handlers at decoration, records their DNA and binds them to route keys.

What belongs here: the registration layer of client spec §3 (the ``add_*`` methods behind the
decorators, replacement rules, binding of §3.8) and the precomputed sender tables of §5.4 and §5.12.
What does not: the event loop, sockets and the running of handlers (``client.py``, ``session.py``,
``senders.py``), the checks of ``@send``'s options (``_send_options``) and source capture (``_source``).

Interface with the runtime (``SummonerClient``):

- the constructor creates ``self._registry = HandlerRegistry(self._flow, self.logger)`` and applies
  ``hp.lifecycle.strict`` later with ``registry.strict = ...`` when ``run()`` applies the config;
- the client exposes the registry's indexes under the spec's names: ``receiver_index``,
  ``receiver_parsed_routes``, ``sender_index``, ``sender_parsed_routes``, ``receiving_hooks``,
  ``sending_hooks``, ``_upload_states`` (``upload_states_fn``), ``_download_states``
  (``download_states_fn``), ``_dna_receivers`` (``dna_receivers``), ... and ``_registration_tasks``
  (``pending``). They are the registry's own objects, so entries an extension inserts are honoured;
  an extension that inserts directly should call :meth:`HandlerRegistry.touch`;
- each decorator factory calls ``registry.check_route(route)`` when the factory is called, and
  ``registry.add_*`` when the decorator is applied, then returns the function unchanged;
- ``initialize()``, ``run()`` and ``run_client()`` call :meth:`HandlerRegistry.bind_pending`. To
  interleave ``_schedule_registration(coro)`` coroutines with built-in registrations, the runtime
  queues each with :meth:`HandlerRegistry.queue_extension` and binds with a loop over
  :meth:`HandlerRegistry.next_pending`, awaiting what is not a :class:`PendingRegistration`;
- after binding, ``add_*`` binds at once. The registry holds a lock around every change of its indexes
  but knows nothing of asyncio. Validation always runs in the caller's thread, so misuse raises there;
  the change of the indexes that follows goes through :attr:`HandlerRegistry.commit`, which applies it
  at once by default. The runtime replaces ``commit`` to move changes made from another thread, while
  the client runs, onto its loop (the loop reads the indexes on every message). The registry rebuilds
  its own tables when :attr:`HandlerRegistry.version` changes.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from summoner_client.client._reactive import SenderTables
from summoner_client.client._send_options import build_model_adapter, check_send_options, send_decorator_name
from summoner_client.client._source import dna_name, get_callable_source
from summoner_client.errors import HandlerSignatureError, RegistrationError
from summoner_client.protocol.flow import Flow
from summoner_client.protocol.process import Direction, ParsedRoute, Receiver, Sender
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
    normalize_priority,
)

__all__ = ["DnaRecord", "HandlerRegistry", "PendingRegistration"]

DnaRecord = dict[str, Any]
Handler = Callable[..., Any]
Change = Callable[[], None]


def _apply_now(change: Change) -> None:
    change()


@dataclass
class PendingRegistration:
    """A decorated receiver or sender waiting for binding (client spec §3.8).

    ``sender`` is ``None`` for a receiver. ``record`` is the DNA record, whose ``route_key`` binding fills.
    """

    fn: Handler
    route: str
    priority: tuple[int, ...]
    sender: Sender | None
    adapter: TypeAdapter[Any] | None
    record: DnaRecord

    @property
    def decorator(self) -> str:
        """``"@receive"`` or ``"@send"``, as binding messages name it."""
        return "@receive" if self.sender is None else "@send"


class HandlerRegistry(SenderTables):
    """Every handler of one client: indexes by route key, hooks by priority, DNA records.

    Args:
        flow: The client's flow; routes are parsed against it at binding, as it is then.
        logger: The client logger: decoration and binding warnings go there.
        strict: Replacing a receiver, hook or state callback raises ``RegistrationError``, and a route
            that cannot be parsed raises at binding (spec §12.7). Settable later.
    """

    def __init__(self, flow: Flow, logger: logging.Logger, *, strict: bool = False) -> None:
        self.flow = flow
        self.logger = logger
        self.strict = strict
        # Guards every change of the indexes, the pending list and the id counter. Held only for short,
        # await-free sections; an RLock so a registration made while binding cannot deadlock.
        self.lock = threading.RLock()
        self.receiver_index: dict[str, Receiver] = {}
        self.receiver_parsed_routes: dict[str, ParsedRoute] = {}
        self.sender_index: dict[str, list[Sender]] = {}
        self.sender_parsed_routes: dict[str, ParsedRoute] = {}
        self.receiving_hooks: dict[tuple[Any, ...], Handler] = {}
        self.sending_hooks: dict[tuple[Any, ...], Handler] = {}
        self.upload_states_fn: Handler | None = None
        self.download_states_fn: Handler | None = None
        self.receive_models: dict[str, TypeAdapter[Any]] = {}
        self.send_models: dict[str, TypeAdapter[Any]] = {}
        self.dna_receivers: list[DnaRecord] = []
        self.dna_senders: list[DnaRecord] = []
        self.dna_hooks: list[DnaRecord] = []
        self.dna_upload_states: list[DnaRecord] = []
        self.dna_download_states: list[DnaRecord] = []
        self.pending: list[object] = []  # PendingRegistration, or an extension's opaque item
        self.version = 0
        # Applies a validated change of the indexes; the runtime may defer it to its loop (see above).
        self.commit: Callable[[Change], None] = _apply_now
        self._bound = False
        self._sender_ids = itertools.count(1)
        self._warned_routes: set[str] = set()
        self._reactive: tuple[tuple[int, ...], dict[str, list[Sender]]] = ((), {})

    # ----------------------------------------------------------------- checks shared by decorators

    @staticmethod
    def check_route(route: object) -> str:
        """Check a route's type when a decorator factory is called; return it stripped.

        Raises:
            HandlerSignatureError: (a ``TypeError``) ``route`` is not a ``str``.
        """
        if not isinstance(route, str):
            raise HandlerSignatureError(f"Argument `route` must be string. Provided: {route}")
        return route.strip()

    def _check_handler(
        self,
        fn: Handler,
        decorator: str,
        allowed: tuple[tuple[object, ...], tuple[object, ...]],
        *,
        kind: str = "handler",
        arity: int = 1,
        skip_param: bool = False,
        skip_return: bool = False,
    ) -> None:
        check_async(fn, decorator, kind)
        _check_param_and_return(
            fn,
            decorator,
            allowed[0],
            allowed[1],
            self.logger,
            arity,
            skip_param,
            skip_return_type_check=skip_return,
        )

    def _replacing(self, message: str, *args: object) -> None:
        """A registration replaces another: WARNING, or ``RegistrationError`` in strict mode."""
        if self.strict:
            raise RegistrationError((message % args) + " (strict mode forbids replacing it)")
        self.logger.warning(message, *args)

    # ----------------------------------------------------------------- state callbacks and hooks

    def add_upload_states(self, fn: Handler, *, dna_source: str | None = None) -> None:
        """Register the ``upload_states`` callback (spec §3.3); it takes effect at once."""
        self._check_handler(fn, "@upload_states", (UPLOAD_STATES_PARAM, UPLOAD_STATES_RETURN))
        record = {"fn": fn, "source": get_callable_source(fn, dna_source)}

        def change() -> None:
            with self.lock:
                if self.upload_states_fn is not None:
                    self._replacing("@upload_states handler overwritten")
                self.upload_states_fn = fn
                self.dna_upload_states[:] = [record]
                self.version += 1

        self.commit(change)

    def add_download_states(self, fn: Handler, *, dna_source: str | None = None) -> None:
        """Register the ``download_states`` callback (spec §3.4); it takes effect at once."""
        self._check_handler(fn, "@download_states", (DOWNLOAD_STATES_PARAM, DOWNLOAD_STATES_RETURN))
        record = {"fn": fn, "source": get_callable_source(fn, dna_source)}

        def change() -> None:
            with self.lock:
                if self.download_states_fn is not None:
                    self._replacing("@download_states handler overwritten")
                self.download_states_fn = fn
                self.dna_download_states[:] = [record]
                self.version += 1

        self.commit(change)

    def add_hook(
        self, fn: Handler, direction: object, priority: object = (), *, dna_source: str | None = None
    ) -> None:
        """Register a send or receive hook under its priority (spec §3.5); it takes effect at once.

        Raises:
            HandlerSignatureError: Not async, a rejected signature, or ``direction`` not a ``Direction``.
            RegistrationError: A bad ``priority``, or a replacement in strict mode.
        """
        self._check_handler(fn, "@hook", (HOOK_PARAM, HOOK_RETURN))
        if not isinstance(direction, Direction):
            raise HandlerSignatureError(
                "Direction for hook must be either Direction.SEND or Direction.RECEIVE"
            )
        key = normalize_priority(priority)
        record = {
            "fn": fn,
            "direction": direction,
            "priority": key,
            "source": get_callable_source(fn, dna_source),
        }
        hooks = self.sending_hooks if direction is Direction.SEND else self.receiving_hooks

        def change() -> None:
            with self.lock:
                old = hooks.get(key)
                if old is not None:
                    self._replacing(
                        "Hook for %s with priority %s already exists (%s); replacing it with %s",
                        direction.name,
                        key,
                        handler_name(old),
                        handler_name(fn),
                    )
                hooks[key] = fn
                self.dna_hooks.append(record)
                self.version += 1

        self.commit(change)

    # ----------------------------------------------------------------- receivers and senders

    def add_receive(
        self,
        fn: Handler,
        route: object,
        priority: object = (),
        *,
        model: object = None,
        dna_source: str | None = None,
    ) -> None:
        """Validate a receiver and queue it for binding, or bind it at once if bound (spec §3.6).

        Raises:
            HandlerSignatureError: A non-``str`` route, not async, a rejected signature, a bad ``model``.
            RegistrationError: A bad ``priority``; in strict mode, a replacement or an unparseable route
                when it binds at once.
        """
        route = self.check_route(route)
        self._check_handler(fn, "@receive", (RECEIVE_PARAM, RECEIVE_RETURN), skip_param=model is not None)
        key = normalize_priority(priority)
        adapter = None if model is None else build_model_adapter(model)
        record: DnaRecord = {
            "fn": fn,
            "route": route,
            "route_key": None,
            "priority": key,
            "model": _model_name(model),
            "source": get_callable_source(fn, dna_source),
        }
        with self.lock:
            self.dna_receivers.append(record)
            self._register(PendingRegistration(fn, route, key, None, adapter, record))

    def add_send(  # noqa: PLR0917 - the original's positional order of send(...)
        self,
        fn: Handler,
        route: object,
        multi: object = False,
        on_triggers: object = None,
        on_actions: object = None,
        use_data: object = False,
        data_mode: object = None,
        every: object = None,
        run_while: object = None,
        when_data: object = None,
        *,
        model: object = None,
        dna_source: str | None = None,
    ) -> str:
        """Validate a sender by the 17 rules of spec §3.7, in order, and queue or bind it.

        Returns:
            The registration id ``"sender:<n>"`` that identifies the sender in the runtime.

        Raises:
            HandlerSignatureError, RegistrationError, FlowStateError: The first rule that fails, as the
                ``TypeError``, ``ValueError`` or ``RuntimeError`` the spec names.
        """
        route = self.check_route(route)
        decorator = send_decorator_name(multi, use_data)
        returns = SEND_MULTI_RETURN if multi else SEND_RETURN
        arity = 1 if use_data else 0
        self._check_handler(
            fn,
            decorator,
            ((), returns),
            kind="sender",
            arity=arity,
            skip_param=True,
            skip_return=model is not None,
        )
        options = check_send_options(
            multi, on_triggers, on_actions, use_data, data_mode, every, run_while, when_data,
            flow_active=self.flow.in_use,
        )  # fmt: skip
        adapter = None if model is None else build_model_adapter(model)
        record = options.dna_record(fn, route, _model_name(model), get_callable_source(fn, dna_source))
        with self.lock:
            registration_id = f"sender:{next(self._sender_ids)}"
            record["registration_id"] = registration_id
            self.dna_senders.append(record)
            sender = options.sender(fn, registration_id)
            self._register(PendingRegistration(fn, route, (), sender, adapter, record))
        return registration_id

    def _register(self, item: PendingRegistration) -> None:
        # Called with the lock held. Before binding the item waits in ``pending``; once bound it binds
        # through ``commit`` and takes effect for the next message. ``bind`` takes the lock itself.
        if self._bound:
            self.commit(lambda: self.bind(item))
        else:
            self.pending.append(item)

    # ----------------------------------------------------------------- binding (spec §3.8)

    @property
    def is_bound(self) -> bool:
        """Whether pending registrations have been bound; later ones bind at once."""
        return self._bound

    def queue_extension(self, item: object) -> bool:
        """Queue an extension's registration (an opaque item, usually a coroutine) in decoration order.

        Returns:
            ``False`` when the registry is already bound: nothing was queued, run the item now.
        """
        with self.lock:
            if self._bound:
                return False
            self.pending.append(item)
            return True

    def next_pending(self) -> object | None:
        """Take the first pending item; when none is left, mark the registry bound and return ``None``.

        Both happen under the lock, so a registration racing with the last item is either taken by
        this loop or bound at once by ``add_*``, never left behind.
        """
        with self.lock:
            if self.pending:
                return self.pending.pop(0)
            self._bound = True
            return None

    def bind_pending(self) -> list[object]:
        """Bind every pending registration in decoration order and mark the registry bound.

        Returns:
            The extension items met on the way, in order, for a caller that cannot await them.

        Raises:
            FlowSyntaxError: In strict mode, a receiver or reactive sender route does not parse.
            RegistrationError: In strict mode, a receiver replaces another. The registration that
                failed is dropped; the ones after it stay pending.
        """
        extensions: list[object] = []
        while (item := self.next_pending()) is not None:
            if isinstance(item, PendingRegistration):
                self.bind(item)
            else:
                extensions.append(item)
        self.refresh_tables()
        return extensions

    def bind(self, item: PendingRegistration) -> None:
        """Resolve one registration's route key and put it in the indexes."""
        with self.lock:
            key, parsed = self._resolve(item)
            if item.sender is None:
                self._bind_receiver(item, key, parsed)
            else:
                self._bind_sender(item, item.sender, key, parsed)
            item.record["route_key"] = key
            self.version += 1

    def _resolve(self, item: PendingRegistration) -> tuple[str, ParsedRoute | None]:
        if not self.flow.in_use:
            if item.sender is not None and item.sender.is_reactive:
                self.logger.warning(
                    "@send '%s' on route '%s': on_triggers/on_actions are ignored "
                    "because the flow is not active",
                    handler_name(item.fn),
                    item.route,
                )
            return item.route, None
        try:
            parsed = self.flow.parse_route(item.route)
        except ValueError as error:  # FlowSyntaxError, or a Node that refused its token
            self._unparseable(item, error)
            return item.route, None
        return str(parsed), parsed

    def _unparseable(self, item: PendingRegistration, error: ValueError) -> None:
        if item.sender is None or item.sender.is_reactive:
            if self.strict:
                raise error
            self.logger.error(
                "%s: route '%s' cannot be parsed while the flow is active; this handler will never fire: %s",
                item.decorator,
                item.route,
                error,
            )
        elif item.route not in self._warned_routes:
            # A plain sender never looks at its route, so it runs normally: say so once per route.
            self._warned_routes.add(item.route)
            self.logger.warning(
                "@send: route '%s' cannot be parsed while the flow is active; "
                "plain senders on it run normally under the raw route: %s",
                item.route,
                error,
            )

    def _bind_receiver(self, item: PendingRegistration, key: str, parsed: ParsedRoute | None) -> None:
        old = self.receiver_index.get(key)
        if old is not None:
            self._replacing("Route '%s' already exists. Overwriting.", key)
        self.receiver_index[key] = Receiver(item.fn, item.priority)
        if parsed is not None:
            self.receiver_parsed_routes[key] = parsed
        else:
            self.receiver_parsed_routes.pop(key, None)
        if item.adapter is not None:
            self.receive_models[key] = item.adapter
        else:
            self.receive_models.pop(key, None)

    def _bind_sender(
        self, item: PendingRegistration, sender: Sender, key: str, parsed: ParsedRoute | None
    ) -> None:
        self.sender_index.setdefault(key, []).append(sender)
        if parsed is not None:
            self.sender_parsed_routes[key] = parsed
        if item.adapter is not None:
            self.send_models[sender.registration_id] = item.adapter

    def touch(self) -> None:
        """Bump :attr:`version` after changing the indexes from outside (extensions do this)."""
        with self.lock:
            self.version += 1


def _model_name(model: object) -> str | None:
    """``"module:qualname"`` of a model class for DNA; other accepted types by their repr."""
    if model is None:
        return None
    if isinstance(model, type):
        return dna_name(model)
    return repr(model)
