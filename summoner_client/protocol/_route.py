"""``ParsedRoute``: a route as nodes, what a receiver's event activates on it, and route matching.

What belongs here: the parsed form of a route (spec §4.9), its normalised text (§4.8), the nodes an
event activates (§4.9) and whether a sender's route accepts an event's route (§4.10). Turning text into
a ``ParsedRoute`` is ``_route_parsing``'s job.
"""

from __future__ import annotations

from collections.abc import Iterable

from summoner_client.errors import FlowTypeError
from summoner_client.protocol._arrow_style import ArrowStyle
from summoner_client.protocol._node import Node
from summoner_client.protocol.triggers import Event, Move, Stay, Test

__all__ = ["ParsedRoute"]


class ParsedRoute:
    """A route split into source, label and target nodes, with the style it was written in.

    An *arrow* route has a label or a target (``A --> B``, ``--[ f ]--> B``, ``A --[ f ]-->``); any other
    route is an *object* route (``A``, ``A, B``, and also ``A -->``, kept as in the original). Equality
    and hash use the normalised text, so ``A --> B`` and ``A--[]-->B`` are the same route.
    """

    __slots__ = ("_label", "_source", "_style", "_target", "_text")

    def __init__(
        self,
        source: Iterable[Node],
        label: Iterable[Node],
        target: Iterable[Node],
        style: ArrowStyle | None,
    ) -> None:
        """Store the parts as tuples and compute the normalised text once.

        Raises:
            FlowTypeError: A part holds something other than a ``Node``, ``style`` is not an
                ``ArrowStyle`` or ``None``, or an arrow route (label or target) has no style to draw it.
        """
        self._source = _node_tuple("source", source)
        self._label = _node_tuple("label", label)
        self._target = _node_tuple("target", target)
        if style is not None and not isinstance(style, ArrowStyle):
            raise FlowTypeError(f"ParsedRoute style must be an ArrowStyle or None, got {style!r}")
        if style is None and (self._label or self._target):
            raise FlowTypeError("A ParsedRoute with a label or a target needs the ArrowStyle to draw it")
        self._style = style
        self._text = self._normalise()

    def _normalise(self) -> str:
        if self._style is None or not self.is_arrow:
            return ",".join(map(str, self._source))
        sep = self._style.separator
        return self._style.draw(
            sep.join(map(str, self._source)),
            sep.join(map(str, self._label)),
            sep.join(map(str, self._target)),
        )

    @property
    def source(self) -> tuple[Node, ...]:
        """Nodes before the arrow; for an object route, all of its nodes."""
        return self._source

    @property
    def label(self) -> tuple[Node, ...]:
        """Nodes between the brackets of a labelled arrow."""
        return self._label

    @property
    def target(self) -> tuple[Node, ...]:
        """Nodes after the arrow's tip."""
        return self._target

    @property
    def style(self) -> ArrowStyle | None:
        """The arrow style the route was parsed with; ``None`` for routes that matched no arrow."""
        return self._style

    @property
    def has_label(self) -> bool:
        return bool(self._label)

    @property
    def is_arrow(self) -> bool:
        return bool(self._target) or bool(self._label)

    @property
    def is_object(self) -> bool:
        return not self.is_arrow

    @property
    def is_initial(self) -> bool:
        """An arrow with no source (``--> B``): it fires whatever the tape holds."""
        return self.is_arrow and not self._source

    def activated_nodes(self, event: object) -> tuple[Node, ...]:
        """Return the nodes that ``event``, returned by this route's receiver, puts on the tape.

        ==========  ==============  ==========  =========  ==========  =======================
        route       ``Move``        ``Stay``    ``Test``   ``Event``   ``None`` / non-``Event``
        ==========  ==============  ==========  =========  ==========  =======================
        arrow       label + target  source      label      ()          ()
        object      source          source      ()         source      ()
        ==========  ==============  ==========  =========  ==========  =======================
        """
        if not isinstance(event, Event):
            return ()
        if isinstance(event, Stay):
            return self._source
        if self.is_arrow:
            if isinstance(event, Move):
                return self._label + self._target
            return self._label if isinstance(event, Test) else ()
        return () if isinstance(event, Test) else self._source

    def accepts(self, event_route: ParsedRoute) -> bool:
        """Tell whether this route, a reactive sender's, reacts to events from ``event_route``.

        For each of source, label and target, every node of this route's part must accept some node of
        the event route's part. An empty part accepts anything; a non-empty part needs a non-empty one.

        Raises:
            FlowTypeError: ``event_route`` is not a ``ParsedRoute``.
        """
        if not isinstance(event_route, ParsedRoute):
            raise FlowTypeError(f"ParsedRoute.accepts expects a ParsedRoute, got {event_route!r}")
        return (
            _part_accepts(self._source, event_route._source)
            and _part_accepts(self._label, event_route._label)
            and _part_accepts(self._target, event_route._target)
        )

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"ParsedRoute({self._text})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParsedRoute):
            return NotImplemented
        return self._text == other._text

    def __hash__(self) -> int:
        return hash(self._text)


def _part_accepts(gates: tuple[Node, ...], states: tuple[Node, ...]) -> bool:
    return all(any(gate.accepts(state) for state in states) for gate in gates)


def _node_tuple(part: str, nodes: Iterable[Node]) -> tuple[Node, ...]:
    result = tuple(nodes)
    for node in result:
        if not isinstance(node, Node):
            raise FlowTypeError(f"ParsedRoute {part} must hold Node objects, got {node!r}")
    return result
