"""``Node``: one state or gate of the flow DSL, and which gate accepts which state.

What belongs here: turning one token (``A``, ``/all``, ``/not(a,b)``, ``/oneof(a,b)``) into a ``Node``
and the ``accepts`` table of spec §4.4. Splitting a route into tokens is ``_route_parsing``'s job and
matching whole routes is ``_route``'s.
"""

from __future__ import annotations

import re
from typing import Literal, TypeAlias

from summoner_client.errors import FlowSyntaxError, FlowTypeError

__all__ = ["Node", "NodeKind"]

NodeKind: TypeAlias = Literal["all", "not", "oneof", "plain"]

_IDENTIFIER_RE = re.compile(r"[A-Za-z_]\w*")
_SET_RE = re.compile(r"/(not|oneof)\((.*)\)", re.DOTALL)


class Node:
    """A state on the tape or a gate in a route, parsed from one token.

    A node stands for a set of state names: a plain name for itself, ``/oneof(S)`` for ``S``,
    ``/not(S)`` for everything outside ``S`` and ``/all`` for everything. ``gate.accepts(state)`` mostly
    asks whether the two sets meet; the spec's table (see :meth:`accepts`) departs from that in a few
    cells, and the table wins.

    Nodes are immutable and hashable. Equality uses ``(kind, values)`` with the items in written order,
    so ``/oneof(a,b)`` and ``/oneof(b,a)`` differ. There is no ordering; callers sort with ``key=str``.
    """

    __slots__ = ("_items", "_kind", "_members")

    def __init__(self, expr: str) -> None:
        """Parse ``expr`` (surrounding whitespace ignored).

        Raises:
            FlowSyntaxError: ``expr`` is none of ``/all``, ``/not(...)``, ``/oneof(...)`` or an identifier.
            FlowTypeError: ``expr`` is not a ``str``.
        """
        if not isinstance(expr, str):
            raise FlowTypeError(f"A node is built from a str, got {type(expr).__name__}: {expr!r}")
        text = expr.strip()
        kind: NodeKind
        items: tuple[str, ...]
        if text == "/all":
            kind, items = "all", ()
        elif match := _SET_RE.fullmatch(text):
            kind = "not" if match.group(1) == "not" else "oneof"
            # Items are kept as written (stripped); only route tokens are checked against a grammar.
            items = tuple(part.strip() for part in match.group(2).split(",") if part.strip())
        elif _IDENTIFIER_RE.fullmatch(text):
            kind, items = "plain", (text,)
        else:
            raise FlowSyntaxError(f"Invalid syntax for token: '{expr}'", snippet=expr)
        self._kind: NodeKind = kind
        self._items: tuple[str, ...] = items
        self._members: frozenset[str] = frozenset(items)

    @property
    def kind(self) -> NodeKind:
        """``"all"``, ``"not"``, ``"oneof"`` or ``"plain"``."""
        return self._kind

    @property
    def values(self) -> tuple[str, ...] | None:
        """The names inside the node, in written order; ``None`` for ``/all``."""
        return None if self._kind == "all" else self._items

    def accepts(self, state: Node) -> bool:
        """Tell whether this node, used as a gate, lets ``state`` through.

        ``s``/``g`` are plain names and ``S``/``G`` the value sets of the state and the gate:

        ============  ========  ===========  ============  =====
        gate \\ state  ``s``     ``/not(S)``  ``/oneof(S)``  /all
        ============  ========  ===========  ============  =====
        ``/all``      True      True         True          True
        ``g``         g == s    g ∉ S        g ∈ S         True
        ``/not(G)``   s ∉ G     True         True          True
        ``/oneof(G)`` s ∈ G     G − S ≠ ∅    G ∩ S ≠ ∅     True
        ============  ========  ===========  ============  =====

        Raises:
            FlowTypeError: ``state`` is not a ``Node``.
        """
        if not isinstance(state, Node):
            raise FlowTypeError(f"Node.accepts expects a Node, got {type(state).__name__}: {state!r}")
        gate_kind, state_kind = self._kind, state._kind
        if gate_kind == "all" or state_kind == "all":
            return True
        if gate_kind == "plain":
            name = self._items[0]
            if state_kind == "plain":
                return name == state._items[0]
            return (name in state._members) == (state_kind == "oneof")
        if gate_kind == "not":
            return state_kind != "plain" or state._items[0] not in self._members
        if state_kind == "plain":
            return state._items[0] in self._members
        if state_kind == "not":
            return not self._members <= state._members
        return not self._members.isdisjoint(state._members)

    def __str__(self) -> str:
        if self._kind == "plain":
            return self._items[0]
        if self._kind == "all":
            return "/all"
        return f"/{self._kind}({','.join(self._items)})"

    def __repr__(self) -> str:
        return f"Node({self})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return self._kind == other._kind and self._items == other._items

    def __hash__(self) -> int:
        return hash((self._kind, self._items))
