"""What the runtime needs from the registry, precomputed once per registry version.

Handlers are looked up per message, so the lookups must cost O(what fires), never a copy of the
indexes (spec §5.12). ``DispatchPlan`` sorts hooks and receiver batches, classifies senders into the
four kinds of spec §5.4, and memoises which reactive senders accept a receiver route. ``PlanCache``
rebuilds it when the registry's version, the flow's state or an index size changes (extensions may
insert into the indexes directly, without bumping the version).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from pydantic import TypeAdapter

from summoner_client.protocol.flow import Flow
from summoner_client.protocol.process import ParsedRoute, Receiver, Sender
from summoner_client.protocol.validation import handler_name, hook_priority_order

__all__ = ["BoundSender", "DispatchPlan", "PlanCache", "RegistryView"]

HookFn = Callable[[Any], Any]


class RegistryView(Protocol):
    """The attributes of ``HandlerRegistry`` the runtime reads."""

    receiver_index: dict[str, Receiver]
    receiver_parsed_routes: dict[str, ParsedRoute]
    sender_index: dict[str, list[Sender]]
    sender_parsed_routes: dict[str, ParsedRoute]
    receiving_hooks: dict[tuple[Any, ...], HookFn]
    sending_hooks: dict[tuple[Any, ...], HookFn]
    upload_states_fn: Callable[[Any], Any] | None
    download_states_fn: Callable[[Any], Any] | None
    receive_models: dict[str, TypeAdapter[Any]]
    send_models: dict[str, TypeAdapter[Any]]
    version: int


class BoundSender(NamedTuple):
    """A sender with the route key it was bound under (used in logs and route matching)."""

    sender: Sender
    route: str
    name: str


def _sequence(sender: Sender) -> int:
    _, _, number = sender.registration_id.partition(":")
    return int(number) if number.isdigit() else 0


class DispatchPlan:
    """An immutable view of the registry for one version: sorted, classified and memoised."""

    def __init__(self, registry: RegistryView, flow_active: bool) -> None:
        self.registry = registry
        self.flow_active = flow_active
        self.receive_hooks = sorted(
            registry.receiving_hooks.items(), key=lambda kv: hook_priority_order(kv[0])
        )
        self.send_hooks = sorted(registry.sending_hooks.items(), key=lambda kv: hook_priority_order(kv[0]))
        batches: dict[tuple[int, ...], list[tuple[str, Receiver]]] = {}
        for key, receiver in registry.receiver_index.items():
            batches.setdefault(receiver.priority, []).append((key, receiver))
        # Flow inactive: every receiver fires for every message, batch by batch in plain tuple order.
        self.receiver_batches = sorted(batches.items())
        bound = [
            BoundSender(sender, key, handler_name(sender.fn))
            for key, senders in registry.sender_index.items()
            for sender in senders
        ]
        bound.sort(key=lambda item: _sequence(item.sender))
        self.senders = bound
        self.plain: list[BoundSender] = []  # own loop each (spec §5.7)
        self.hubs: list[BoundSender] = []  # reactive untimed: fed by ticks (§5.6)
        self.timed: list[BoundSender] = []  # scheduler (§5.8), plain or reactive
        self.skipped: list[BoundSender] = []  # use_data senders that cannot run with the flow off
        for item in bound:
            reactive = flow_active and item.sender.is_reactive
            if not flow_active and item.sender.use_data:
                self.skipped.append(item)
            elif item.sender.every is not None:
                self.timed.append(item)
            elif reactive:
                self.hubs.append(item)
            else:
                self.plain.append(item)
        self._reactive = [item for item in bound if flow_active and item.sender.is_reactive]
        self._by_route: dict[ParsedRoute, list[BoundSender]] = {}

    def reactive_for(self, route: ParsedRoute) -> list[BoundSender]:
        """The reactive senders whose routes accept events from receiver ``route``, memoised."""
        found = self._by_route.get(route)
        if found is None:
            parsed = self.registry.sender_parsed_routes
            found = []
            for item in self._reactive:
                sender_route = parsed.get(item.route)
                if sender_route is not None and sender_route.accepts(route):
                    found.append(item)
            self._by_route[route] = found
        return found


class PlanCache:
    """Hands out the current ``DispatchPlan``, rebuilding it only when something it depends on changed."""

    def __init__(self, registry: RegistryView, flow: Flow, logger: logging.Logger) -> None:
        self._registry = registry
        self._flow = flow
        self._logger = logger
        self._stamp: tuple[int, ...] | None = None
        self._plan: DispatchPlan | None = None

    def current(self) -> DispatchPlan:
        """Return the plan for the registry as it is now."""
        registry = self._registry
        stamp = (
            registry.version,
            int(self._flow.in_use),
            len(registry.receiver_index),
            len(registry.sender_index),
            len(registry.receiving_hooks),
            len(registry.sending_hooks),
        )
        plan = self._plan
        if plan is None or stamp != self._stamp:
            plan = self._plan = DispatchPlan(registry, self._flow.in_use)
            self._stamp = stamp
        return plan
