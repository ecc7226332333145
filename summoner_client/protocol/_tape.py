"""``StateTape``: the states an agent uploads, the receivers they activate, and the download view.

What belongs here: classifying what ``upload_states`` returned (spec §4.11), deciding which receivers
fire for one message (``collect_activations``, §4.12) and building what ``download_states`` receives
after a priority batch (``download_view``, §4.12). Pure: the runtime awaits the callbacks and calls the
receivers; this module only computes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeAlias

from summoner_client.protocol._node import Node
from summoner_client.protocol._route import ParsedRoute

if TYPE_CHECKING:
    from summoner_client.protocol.process import Receiver

__all__ = ["DownloadView", "StateTape", "TapeActivation", "TapeType"]

TapeStates: TypeAlias = dict[str | None, list[Node]]
"""Tape keys to their states. ``None`` is the key of initial-route activations in a download view."""

DownloadView: TypeAlias = list[Node] | dict[str | None, list[Node]]
"""What ``download_states`` receives: a flat list for SINGLE/MANY tapes, a dict for index tapes."""


class TapeType(Enum):
    """The shape of an upload, which decides the shape of the download view."""

    SINGLE = "single"  # one state: "A" or Node("A")
    MANY = "many"  # a list or tuple of states
    INDEX_SINGLE = "index_single"  # {key: state}
    INDEX_MANY = "index_many"  # {key: state or list of states}; also every unusable upload, as {}


@dataclass(frozen=True)
class TapeActivation:
    """One reason for a receiver to fire: the tape entry that a gate of its route accepted.

    ``key`` is the tape key as stored in ``StateTape.states`` (``"tape"``, ``"tape:<k>"``) and ``state``
    the accepted node; both are ``None`` for an initial route, which fires whatever the tape holds.
    """

    key: str | None
    state: Node | None
    route: ParsedRoute
    fn: Callable[..., Any]


def _as_node(value: str | Node) -> Node:
    return value if isinstance(value, Node) else Node(value)


def _is_state(value: object) -> bool:
    return isinstance(value, str | Node)


def _is_state_list(value: object) -> bool:
    return isinstance(value, list | tuple) and all(_is_state(item) for item in value)


class StateTape:
    """The states of one message, keyed as the upload was shaped.

    Classification, first match wins:

    - ``str`` or ``Node``: ``SINGLE``, stored as ``{"tape": [node]}``;
    - a list or tuple of them (even empty): ``MANY``, ``{"tape": [nodes]}``;
    - a dict with ``str``/``None`` keys and single states as values (even ``{}``): ``INDEX_SINGLE``;
    - the same with states or lists of states as values: ``INDEX_MANY``. A single value is one state,
      never split into characters **[D-27]**;
    - anything else: an empty ``INDEX_MANY`` tape, so no receiver fires.

    With ``with_prefix`` (the default, for uploads) dict keys are stored as ``"tape:<key>"``, so the
    ``None`` key becomes ``"tape:None"`` and comes back from :meth:`revert` as the string ``"None"``, as
    in the original. Without it keys are stored as given; :meth:`extend` uses that to keep a real
    ``None`` key for initial routes.

    Raises:
        FlowSyntaxError: A string state is not a valid node.
    """

    prefix = "tape"

    def __init__(self, states: Any = None, with_prefix: bool = True) -> None:
        self.with_prefix = with_prefix
        self.type, self.states = self._classify(states)

    def _classify(self, states: Any) -> tuple[TapeType, TapeStates]:
        if _is_state(states):
            return TapeType.SINGLE, {self.prefix: [_as_node(states)]}
        if _is_state_list(states):
            return TapeType.MANY, {self.prefix: [_as_node(item) for item in states]}
        if not isinstance(states, dict) or not all(key is None or isinstance(key, str) for key in states):
            return TapeType.INDEX_MANY, {}
        if all(_is_state(value) for value in states.values()):
            return TapeType.INDEX_SINGLE, {self._key(key): [_as_node(value)] for key, value in states.items()}
        if all(_is_state(value) or _is_state_list(value) for value in states.values()):
            return TapeType.INDEX_MANY, {
                self._key(key): [_as_node(value)] if _is_state(value) else [_as_node(item) for item in value]
                for key, value in states.items()
            }
        return TapeType.INDEX_MANY, {}

    def _key(self, key: str | None) -> str | None:
        return f"{self.prefix}:{key}" if self.with_prefix else key

    def set_type(self, tape_type: TapeType) -> None:
        self.type = tape_type

    def extend(self, states: Any) -> None:
        """Append states, shaped like an upload, under keys taken as given (no prefix added).

        ``tape.extend({key: nodes})`` with a key from :attr:`states` adds to that entry; a new key,
        ``None`` included, gets a new entry. The tape keeps its type.
        """
        for key, nodes in StateTape(states, with_prefix=False).states.items():
            self.states.setdefault(key, []).extend(nodes)

    def refresh(self) -> StateTape:
        """Return a tape with the same keys, each with an empty list, and the same type."""
        fresh = StateTape(None, with_prefix=self.with_prefix)
        fresh.states = {key: [] for key in self.states}
        fresh.set_type(self.type)
        return fresh

    def revert(self) -> DownloadView:
        """Return the states in the upload's shape, as ``download_states`` receives them.

        SINGLE and MANY tapes give one flat list of every entry's nodes. Index tapes give a dict with
        the ``tape:`` prefix removed from each key; a ``None`` key stays ``None``.
        """
        if self.type in (TapeType.SINGLE, TapeType.MANY):
            return [node for nodes in self.states.values() for node in nodes]
        marker = f"{self.prefix}:"
        return {
            key.removeprefix(marker) if key is not None else None: list(nodes)
            for key, nodes in self.states.items()
        }

    def collect_activations(
        self, receiver_index: Mapping[str, Receiver], parsed_routes: Mapping[str, ParsedRoute]
    ) -> dict[tuple[int, ...], list[TapeActivation]]:
        """Return, by receiver priority, one activation per reason each receiver has to fire.

        Receivers without a parsed route never fire. An initial route fires once with ``key`` and
        ``state`` set to ``None``. Any other route fires once for **every** (tape entry, source gate)
        pair where the gate accepts the entry, so ``A, B --> C`` fires twice when the tape holds ``A`` and
        ``B``, as in the original; receivers that care must be idempotent.
        """
        batches: dict[tuple[int, ...], list[TapeActivation]] = {}
        for route_key, receiver in receiver_index.items():
            route = parsed_routes.get(route_key)
            if route is None:
                continue
            if route.is_initial:
                found = [TapeActivation(None, None, route, receiver.fn)]
            else:
                found = [
                    TapeActivation(key, state, route, receiver.fn)
                    for key, states in self.states.items()
                    for state in states
                    for gate in route.source
                    if gate.accepts(state)
                ]
            if found:
                batches.setdefault(receiver.priority, []).extend(found)
        return batches

    def download_view(self, results: Iterable[tuple[TapeActivation, object]]) -> DownloadView:
        """Build what ``download_states`` receives after one priority batch.

        Starts from :meth:`refresh`, so every uploaded key is present (with ``[]`` when nothing was
        activated under it), then adds ``activation.route.activated_nodes(value)`` under each
        activation's key for every ``(activation, returned value)`` pair, and reverts. Only this batch's
        nodes appear, never the uploaded ones; nodes repeat when a receiver fired more than once.
        """
        view = self.refresh()
        for activation, value in results:
            view.extend({activation.key: activation.route.activated_nodes(value)})
        return view.revert()

    def __repr__(self) -> str:
        return f"StateTape(type={self.type.name}, states={self.states!r})"
