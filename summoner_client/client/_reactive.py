"""Tables of bound senders the runtime reads: kinds of client spec §5.4 and route matching of §5.12.

What belongs here: functions over the registry's indexes, and :class:`SenderTables`, the part of
``HandlerRegistry`` that serves them. They sort senders into registration order, split them by kind,
and precompute for every receiver route the reactive senders whose routes accept it, so dispatching an
event costs O(matching senders) and never copies an index.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable, Mapping

from summoner_client.protocol.flow import Flow
from summoner_client.protocol.process import ParsedRoute, Sender

__all__ = [
    "SenderTables",
    "hub_senders",
    "matching_senders",
    "ordered_senders",
    "plain_untimed_senders",
    "reactive_table",
    "timed_senders",
]

_ID_PREFIX = "sender:"


def _sequence(sender: Sender) -> int:
    """Registration number of ``"sender:<n>"``; senders an extension built without one sort last."""
    rid = sender.registration_id
    if rid.startswith(_ID_PREFIX) and rid[len(_ID_PREFIX) :].isdigit():
        return int(rid[len(_ID_PREFIX) :])
    return sys.maxsize


def ordered_senders(sender_index: Mapping[str, Iterable[Sender]]) -> list[Sender]:
    """Every bound sender once, in registration order (extension-built senders last, in index order)."""
    seen: dict[int, Sender] = {}
    for senders in sender_index.values():
        for sender in senders:
            seen.setdefault(id(sender), sender)
    return sorted(seen.values(), key=_sequence)


def plain_untimed_senders(senders: Iterable[Sender], flow_active: bool) -> list[Sender]:
    """Untimed senders with a loop of their own: not reactive, or any untimed one when the flow is off.

    ``use_data`` senders are included when the flow is off; the runtime skips them with its warning.
    """
    return [s for s in senders if s.every is None and not (flow_active and s.is_reactive)]


def hub_senders(senders: Iterable[Sender], flow_active: bool) -> list[Sender]:
    """Reactive untimed senders, driven by ticks; none while the flow is off."""
    return [s for s in senders if s.every is None and s.is_reactive] if flow_active else []


def timed_senders(senders: Iterable[Sender]) -> list[Sender]:
    """Senders with ``every``, plain and reactive alike; the scheduler tells them apart by the flow."""
    return [s for s in senders if s.every is not None]


def reactive_table(
    receiver_routes: Mapping[str, ParsedRoute],
    sender_index: Mapping[str, Iterable[Sender]],
    sender_routes: Mapping[str, ParsedRoute],
) -> dict[str, list[Sender]]:
    """For each receiver route key, the reactive senders (timed or not) whose parsed route accepts it.

    Senders are listed in registration order. A sender bound without a parsed route (flow off at
    binding, or a route that did not parse) can never react, so it is in no list.
    """
    routed = _reactive_with_routes(sender_index, sender_routes)
    return {
        key: [sender for sender, route in routed if route.accepts(receiver_route)]
        for key, receiver_route in receiver_routes.items()
    }


def matching_senders(
    receiver_route: ParsedRoute,
    sender_index: Mapping[str, Iterable[Sender]],
    sender_routes: Mapping[str, ParsedRoute],
) -> list[Sender]:
    """The reactive senders whose route accepts one receiver route, for a key the table lacks."""
    return [
        s for s, route in _reactive_with_routes(sender_index, sender_routes) if route.accepts(receiver_route)
    ]


def _reactive_with_routes(
    sender_index: Mapping[str, Iterable[Sender]], sender_routes: Mapping[str, ParsedRoute]
) -> list[tuple[Sender, ParsedRoute]]:
    by_sender: dict[int, ParsedRoute] = {}
    for key, senders in sender_index.items():
        route = sender_routes.get(key)
        if route is None:
            continue
        for sender in senders:
            if sender.is_reactive:
                by_sender.setdefault(id(sender), route)
    return [(s, by_sender[id(s)]) for s in ordered_senders(sender_index) if id(s) in by_sender]


class SenderTables:
    """Sender views and the reactive table, cached by a fingerprint of the registry's indexes.

    A mixin of ``HandlerRegistry``: it reads the indexes, ``flow``, ``version`` and ``lock`` that the
    registry sets up. The table is rebuilt when :attr:`version` changes, or when an index changes size
    behind the registry's back (an extension inserting directly without calling ``touch()``).
    """

    flow: Flow
    lock: threading.RLock
    version: int
    receiver_parsed_routes: dict[str, ParsedRoute]
    sender_index: dict[str, list[Sender]]
    sender_parsed_routes: dict[str, ParsedRoute]
    # (fingerprint, receiver route key -> reactive senders)
    _reactive: tuple[tuple[int, ...], dict[str, list[Sender]]]

    def _fingerprint(self) -> tuple[int, ...]:
        # version covers every change made through the registry; the sizes catch most direct inserts
        # by extensions that forgot touch(), at O(1) cost per lookup.
        return (
            self.version,
            len(self.receiver_parsed_routes),
            len(self.sender_index),
            len(self.sender_parsed_routes),
        )

    def refresh_tables(self) -> dict[str, list[Sender]]:
        """Rebuild the reactive table now (binding does this); return it."""
        with self.lock:
            fingerprint = self._fingerprint()
            table = reactive_table(self.receiver_parsed_routes, self.sender_index, self.sender_parsed_routes)
            self._reactive = (fingerprint, table)
            return table

    def reactive_senders_for(self, route_key: str) -> list[Sender]:
        """The reactive senders (timed or not) whose route accepts the bound receiver route ``route_key``.

        Precomputed for every receiver route and rebuilt when :attr:`version` changes, so a lookup
        costs a dict access. The list is shared: do not mutate it. Empty for unknown or unparsed keys.
        """
        fingerprint, table = self._reactive
        if fingerprint != self._fingerprint():
            table = self.refresh_tables()
        senders = table.get(route_key)
        if senders is None:
            route = self.receiver_parsed_routes.get(route_key)
            if route is None:
                return []
            with self.lock:  # a route an extension inserted without touch(): compute and keep it
                senders = table[route_key] = matching_senders(
                    route, self.sender_index, self.sender_parsed_routes
                )
        return senders

    def all_senders(self) -> list[Sender]:
        """Every bound sender once, in registration order."""
        with self.lock:
            return ordered_senders(self.sender_index)

    def plain_untimed_senders(self, flow_active: bool | None = None) -> list[Sender]:
        """Untimed senders that run their own loop (§5.7): plain ones, and reactive ones with the flow off.

        Args:
            flow_active: Whether the flow is active for this session; ``None`` reads ``flow.in_use``.
        """
        active = self.flow.in_use if flow_active is None else flow_active
        return plain_untimed_senders(self.all_senders(), active)

    def hub_senders(self, flow_active: bool | None = None) -> list[Sender]:
        """Reactive untimed senders that ticks drive (§5.6); empty while the flow is off."""
        active = self.flow.in_use if flow_active is None else flow_active
        return hub_senders(self.all_senders(), active)

    def timed_senders(self) -> list[Sender]:
        """Senders with ``every`` (§5.8), plain and reactive, in registration order."""
        return timed_senders(self.all_senders())
