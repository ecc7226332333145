"""The flow's runtime vocabulary under the original's import path ``summoner.protocol.process``.

What belongs here: the small records the client binds handlers into (``Receiver``, ``Sender``), the
``Direction`` of hooks and the ``ClientIntent`` of the lifecycle (spec §8). The flow's larger pieces
live in private modules and are re-exported here because DNA context lines and agents import them from
this path: ``Node`` (``_node``), ``ArrowStyle`` (``_arrow_style``), ``ParsedRoute`` (``_route``),
``StateTape`` and friends (``_tape``), and the signal and event classes (``triggers``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any

from summoner_client.protocol._arrow_style import ArrowStyle
from summoner_client.protocol._node import Node
from summoner_client.protocol._route import ParsedRoute
from summoner_client.protocol._tape import StateTape, TapeActivation, TapeType
from summoner_client.protocol.triggers import Action, Event, Move, Signal, Stay, Test, extract_signal

__all__ = [
    "Action",
    "ArrowStyle",
    "ClientIntent",
    "Direction",
    "Event",
    "Move",
    "Node",
    "ParsedRoute",
    "Receiver",
    "Sender",
    "Signal",
    "StateTape",
    "Stay",
    "TapeActivation",
    "TapeType",
    "Test",
    "extract_signal",
]


class Direction(Enum):
    """Which way a hook faces."""

    SEND = auto()  # runs on each outgoing payload, before it is wrapped
    RECEIVE = auto()  # runs on each inbound payload, before upload_states and the receivers


class ClientIntent(Enum):
    """Why the current session is ending; set by the lifecycle calls of spec §8."""

    QUIT = auto()  # quit() or shutdown(): end gracefully and stop the client; sticky until run() returns
    TRAVEL = auto()  # travel_to(): end gracefully and connect to the new target as a fresh Primary stage
    ABORT = auto()  # worker-error rule or strict mode: stop the client without reconnecting


@dataclass(frozen=True)
class Receiver:
    """A bound ``@receive`` handler. ``priority`` orders batches: ``()`` first, then plain tuple order."""

    fn: Callable[..., Awaitable[Any]]
    priority: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class Sender:
    """A bound ``@send`` handler with the options it was registered with (spec §3.7).

    Compared and hashed by identity: two registrations of one function on one route are two senders,
    told apart by ``registration_id`` (``"sender:<n>"``) everywhere in the runtime **[D-4]**.
    ``actions`` and ``triggers`` are the decorator's ``on_actions`` and ``on_triggers``.
    """

    fn: Callable[..., Awaitable[Any]]
    multi: bool = False
    actions: AbstractSet[type[Event]] | None = None
    triggers: AbstractSet[Signal] | None = None
    use_data: bool = False
    data_mode: str | None = None
    when_data: Callable[[Any], Any] | None = None
    every: float | None = None
    run_while: bool | Callable[[], Any] | None = None
    registration_id: str = ""

    def __post_init__(self) -> None:
        if self.use_data and self.data_mode is None:
            # "live" is the documented default for use_data senders; storing it spares every reader the rule.
            object.__setattr__(self, "data_mode", "live")

    @property
    def is_reactive(self) -> bool:
        """Whether ticks drive this sender: ``on_triggers`` or ``on_actions`` is a non-empty set.

        An empty set does not count, so such a sender runs as a plain one, as in the original.
        """
        return bool(self.triggers) or bool(self.actions)

    def responds_to(self, event: object) -> bool:
        """Tell whether ``event`` passes both filters; a filter that is ``None`` passes.

        ``on_actions`` needs the event to be an instance of one of its classes; ``on_triggers`` needs the
        event's signal to equal one of its signals (same path, no hierarchy). Non-events never pass.
        """
        if not isinstance(event, Event):
            return False
        if self.actions is not None and not isinstance(event, tuple(self.actions)):
            return False
        if self.triggers is None:
            return True
        return isinstance(event.signal, Signal) and event.signal in self.triggers
