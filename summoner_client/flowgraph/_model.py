"""The flow graph of one agent: states and gates as nodes, routes as edges, and static warnings.

What belongs here: turning bound routes (``ParsedRoute`` objects and the handlers on them) into a
:class:`FlowGraph`, and the checks a reader would otherwise do by eye (a state nothing reaches, a
state nothing leaves, a reactive sender no receiver route can trigger). Pure: no file, no socket, no
loop. Drawing the graph is ``_text``'s and ``_png``'s job.

Why edges come from routes, not from handler code: a receiver moves the agent by *returning* an
event, which only running code reveals. The routes are the agent's declared intent, and the graph
shows that intent with the handlers that sit on each route, so a reader can check one against the
other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from summoner_client.protocol._node import Node
from summoner_client.protocol._route import ParsedRoute
from summoner_client.protocol.process import Receiver, Sender
from summoner_client.protocol.validation import handler_name

if TYPE_CHECKING:
    from summoner_client.client.client import SummonerClient

__all__ = ["FlowGraph", "GraphEdge", "GraphNode", "NodeRole", "RouteHandlers", "build_flow_graph"]

NodeRole = Literal["state", "gate", "start", "exit"]

START_ID = "start"
EXIT_ID = "exit"


@dataclass(frozen=True)
class GraphNode:
    """One box of the drawing.

    ``role`` is ``"state"`` for a plain name, ``"gate"`` for ``/all``, ``/not(..)`` and ``/oneof(..)``
    (drawn distinctly: a gate matches many states, it is not one), ``"start"`` for the dot that initial
    routes (``--> X``) leave from and ``"exit"`` for the dot that arrows without a target
    (``A --[ f ]-->``) end on. ``handlers`` lists what sits on the object route made of this node alone
    (``@receive("A")``): handlers that fire while the agent is in that state, without moving it.
    """

    id: str
    text: str
    role: NodeRole
    handlers: tuple[str, ...] = ()


@dataclass(frozen=True)
class GraphEdge:
    """One arrow: ``source`` and ``target`` are node ids, ``label`` the route's label tokens.

    A route with several sources or targets (``A, B --> C, D``) gives one edge per pair, all with
    the same ``route`` text. ``sender_only`` is True when no receiver sits on the route: it is a
    filter a reactive sender watches for, and nothing moves the agent along it.
    """

    source: str
    target: str
    label: tuple[str, ...]
    route: str
    receivers: tuple[str, ...]
    senders: tuple[str, ...]
    sender_only: bool


@dataclass(frozen=True)
class FlowGraph:
    """The drawing of one agent's flow; build it with :func:`build_flow_graph`.

    ``unrouted`` lists handlers that belong to no node: on the empty route, or on any route while
    the flow is inactive (routes are then plain dictionary keys). ``warnings`` are the static
    findings, in a stable order, meant for a person.
    """

    name: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    unrouted: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def node(self, text: str) -> GraphNode:
        """The node drawn with ``text`` (``"A"``, ``"/all"``); ``KeyError`` when there is none."""
        for node in self.nodes:
            if node.text == text:
                return node
        raise KeyError(text)

    def edges_between(self, source: str, target: str) -> list[GraphEdge]:
        """The edges from the node drawn ``source`` to the node drawn ``target`` (texts, not ids)."""
        ids = {node.text: node.id for node in self.nodes}
        return [e for e in self.edges if e.source == ids.get(source) and e.target == ids.get(target)]


@dataclass
class RouteHandlers:
    """The handlers bound on one route key, with the route parsed (None when it is not)."""

    key: str
    parsed: ParsedRoute | None
    receivers: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    reactive_senders: list[str] = field(default_factory=list)
    parse_error: str | None = None


def build_flow_graph(client: SummonerClient) -> FlowGraph:
    """Bind ``client``'s pending registrations, as ``run()`` would, and draw its flow.

    Binding is what turns route strings into parsed routes (client spec §3.8), so it happens here
    rather than being left to the caller; it opens no connection and is harmless to repeat.
    """
    client.initialize()
    flow = client.flow()
    routes: dict[str, RouteHandlers] = {}
    for key, receiver in client.receiver_index.items():
        entry = _entry(routes, key, client.receiver_parsed_routes)
        entry.receivers.append(_describe_receiver(receiver))
    for key, senders in client.sender_index.items():
        entry = _entry(routes, key, client.sender_parsed_routes)
        for sender in senders:
            entry.senders.append(_describe_sender(sender))
            if sender.is_reactive:
                entry.reactive_senders.append(handler_name(sender.fn))
    for entry in routes.values():
        if entry.parsed is None and flow.in_use:
            try:
                flow.parse_route(entry.key)
            except ValueError as exc:
                entry.parse_error = str(exc)
    return graph_from_routes(client.name, routes.values(), flow_active=flow.in_use)


def graph_from_routes(name: str, routes: Iterable[RouteHandlers], *, flow_active: bool = True) -> FlowGraph:
    """Draw a flow from route entries; :func:`build_flow_graph` does this for a client."""
    entries = list(routes)
    builder = _Builder()
    unrouted: list[str] = []
    warnings: list[str] = []
    if not flow_active:
        warnings.append("the flow is not active: routes are plain keys, so there is nothing to draw")
    for entry in entries:
        handlers = [f"receive: {r}" for r in entry.receivers] + [f"send: {s}" for s in entry.senders]
        if entry.parse_error is not None:
            warnings.append(
                f"route {entry.key!r} cannot be parsed, its handlers never fire: {entry.parse_error}"
            )
        parsed = entry.parsed
        if parsed is None or (parsed.is_object and not parsed.source):
            unrouted.extend(f"{h} (route {entry.key!r})" for h in handlers)
        elif parsed.is_object:
            for node in parsed.source:
                builder.attach(node, handlers)
        else:
            builder.add_route(entry, parsed)
    receiver_routes = [e.parsed for e in entries if e.parsed is not None and e.receivers]
    warnings.extend(_state_warnings(builder.states(), receiver_routes))
    warnings.extend(_sender_warnings(entries, receiver_routes))
    return FlowGraph(name, builder.nodes(), tuple(builder.edges), tuple(unrouted), tuple(warnings))


class _Builder:
    """Collects nodes in order of first appearance, so ids and drawings are stable run to run."""

    def __init__(self) -> None:
        self._ids: dict[Node | str, str] = {}
        self._texts: dict[str, tuple[str, NodeRole]] = {}
        self._handlers: dict[str, list[str]] = {}
        self._plain: list[Node] = []
        self.edges: list[GraphEdge] = []

    def node_id(self, node: Node) -> str:
        if node not in self._ids:
            node_id = f"n{sum(role in ('state', 'gate') for _, role in self._texts.values())}"
            self._ids[node] = node_id
            role: NodeRole = "state" if node.kind == "plain" else "gate"
            self._texts[node_id] = (str(node), role)
            if role == "state":
                self._plain.append(node)
        return self._ids[node]

    def marker_id(self, role: Literal["start", "exit"]) -> str:
        marker = START_ID if role == "start" else EXIT_ID
        if marker not in self._ids:
            self._ids[marker] = marker
            self._texts[marker] = ("", role)
        return marker

    def attach(self, node: Node, handlers: Sequence[str]) -> None:
        self._handlers.setdefault(self.node_id(node), []).extend(handlers)

    def add_route(self, entry: RouteHandlers, parsed: ParsedRoute) -> None:
        sources = [self.node_id(n) for n in parsed.source] or [self.marker_id("start")]
        targets = [self.node_id(n) for n in parsed.target] or [self.marker_id("exit")]
        for source in sources:
            for target in targets:
                self.edges.append(
                    GraphEdge(
                        source=source,
                        target=target,
                        label=tuple(map(str, parsed.label)),
                        route=entry.key,
                        receivers=tuple(entry.receivers),
                        senders=tuple(entry.senders),
                        sender_only=not entry.receivers,
                    )
                )

    def states(self) -> list[Node]:
        return list(self._plain)

    def nodes(self) -> tuple[GraphNode, ...]:
        return tuple(
            GraphNode(node_id, text, role, tuple(self._handlers.get(node_id, ())))
            for node_id, (text, role) in self._texts.items()
        )


def _entry(routes: dict[str, RouteHandlers], key: str, parsed: Mapping[str, ParsedRoute]) -> RouteHandlers:
    if key not in routes:
        routes[key] = RouteHandlers(key, parsed.get(key))
    return routes[key]


def _describe_receiver(receiver: Receiver) -> str:
    name = handler_name(receiver.fn)
    return f"{name} (priority {receiver.priority})" if receiver.priority else name


def _describe_sender(sender: Sender) -> str:
    """The sender's name and what drives it: ``report [on Move]``, ``tick [every 1s]``."""
    drivers: list[str] = []
    if sender.actions:
        drivers.append("on " + "/".join(sorted(action.__name__ for action in sender.actions)))
    if sender.triggers:
        drivers.append("on " + "/".join(sorted(signal.name for signal in sender.triggers)))
    if sender.every is not None:
        drivers.append(f"every {sender.every:g}s")
    suffix = f" [{', '.join(drivers)}]" if drivers else ""
    return f"{handler_name(sender.fn)}{suffix}"


def _state_warnings(states: list[Node], receiver_routes: list[ParsedRoute]) -> list[str]:
    """States no receiver route moves into, and states no receiver route moves out of.

    Only receiver routes count: a receiver's returned event is what moves the agent, while a sender's
    route only filters the events it reacts to. ``Node.accepts`` decides which states a gate covers,
    so ``/all --> done`` leaves every state and ``--> /oneof(a,b)`` reaches ``a`` and ``b``.
    """
    arrows = [route for route in receiver_routes if route.is_arrow]
    warnings: list[str] = []
    for state in states:
        reached = any(state.accepts(target) for route in arrows for target in route.target)
        if not reached:
            warnings.append(
                f"state {str(state)!r} is never reached: no receiver route moves into it "
                f"(add an initial route '--> {state}' if the agent starts there)"
            )
    for state in states:
        if not any(_leaves(route, state) for route in arrows):
            warnings.append(f"state {str(state)!r} is never left: no receiver route moves out of it")
    return warnings


def _leaves(route: ParsedRoute, state: Node) -> bool:
    if not any(gate.accepts(state) for gate in route.source):
        return False
    if not route.target:
        return True  # A --[ f ]--> moves onto the label
    return any(target != state for target in route.target)


def _sender_warnings(entries: list[RouteHandlers], receiver_routes: list[ParsedRoute]) -> list[str]:
    """Reactive senders whose route accepts no receiver route: no event can ever trigger them."""
    warnings: list[str] = []
    for entry in entries:
        if entry.parsed is None or not entry.reactive_senders:
            continue
        if not any(entry.parsed.accepts(route) for route in receiver_routes):
            names = ", ".join(entry.reactive_senders)
            warnings.append(
                f"reactive sender(s) {names} on route {entry.key!r} never fire: no receiver route matches it"
            )
    return warnings
