"""``Flow``: whether routes are parsed, which arrow styles they may use, and the agent's triggers.

What belongs here: the per-client flow object of spec §4.6 and its ordered collection of arrow
styles. The parsing itself (§4.7) lives in ``_route_parsing``; ``get_token_list`` is re-exported here
because the original exposed it from this module.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from summoner_client.errors import FlowTypeError
from summoner_client.protocol import triggers as _triggers
from summoner_client.protocol._arrow_style import ArrowStyle
from summoner_client.protocol._route import ParsedRoute
from summoner_client.protocol._route_parsing import compile_style_patterns, get_token_list, parse_route_text

__all__ = ["ArrowStyles", "Flow", "get_token_list"]


class ArrowStyles:
    """The registered arrow styles, in insertion order **[D-13]**.

    The original kept a ``set``, so with overlapping styles the winner depended on the hash seed. Order
    decides here: routes are tried against the styles as they were added. Adding a style that is
    already present keeps its first position.
    """

    __slots__ = ("_styles",)

    def __init__(self, styles: Iterable[ArrowStyle] = ()) -> None:
        self._styles: dict[ArrowStyle, None] = {}
        for style in styles:
            self.add(style)

    def add(self, style: ArrowStyle) -> None:
        """Register ``style`` after the existing ones, unless an equal style is already registered.

        Raises:
            FlowTypeError: ``style`` is not an ``ArrowStyle``.
        """
        if not isinstance(style, ArrowStyle):
            raise FlowTypeError(f"Flow arrows hold ArrowStyle objects, got {type(style).__name__}: {style!r}")
        self._styles.setdefault(style, None)

    def __iter__(self) -> Iterator[ArrowStyle]:
        return iter(self._styles)

    def __len__(self) -> int:
        return len(self._styles)

    def __contains__(self, style: object) -> bool:
        return style in self._styles

    def __repr__(self) -> str:
        return f"ArrowStyles({list(self._styles)!r})"


class Flow:
    """The client's flow: inactive until :meth:`activate`, with no arrow style until one is added.

    While inactive, the client uses raw route strings as keys and parses nothing. Once active, routes
    are parsed against the styles in :attr:`arrows`, tried in insertion order.
    """

    def __init__(self, triggers_file: str | None = None) -> None:
        self.triggers_file = triggers_file
        self.in_use = False
        self.arrows = ArrowStyles()
        # Compiled shapes per style. Styles are immutable, so an entry never goes stale; a style added
        # later simply has no entry yet, which is what "adding a style invalidates the patterns" needs.
        self._patterns: dict[ArrowStyle, tuple[re.Pattern[str], ...]] = {}

    def activate(self) -> Flow:
        """Turn route parsing on; returns ``self`` so ``flow = agent.flow().activate()`` works."""
        self.in_use = True
        return self

    def deactivate(self) -> Flow:
        """Turn route parsing off; returns ``self``."""
        self.in_use = False
        return self

    def add_arrow_style(self, stem: str, brackets: tuple[str, str], separator: str, tip: str) -> None:
        """Build an :class:`ArrowStyle` and register it after the existing ones.

        Raises:
            FlowSyntaxError: The style is ambiguous or malformed (see :class:`ArrowStyle`).
        """
        self.arrows.add(ArrowStyle(stem, brackets, separator, tip))

    def compile_arrow_patterns(self) -> None:
        """Compile the patterns of every registered style if the flow is active. Safe to repeat."""
        if self.in_use:
            for style in self.arrows:
                self._patterns_for(style)

    def ready(self) -> None:
        """Deprecated alias of :meth:`compile_arrow_patterns`."""
        warnings.warn(
            "Flow.ready() is deprecated; use Flow.compile_arrow_patterns() instead",
            DeprecationWarning,
            stacklevel=2,
        )
        self.compile_arrow_patterns()

    def _patterns_for(self, style: ArrowStyle) -> tuple[re.Pattern[str], ...]:
        patterns = self._patterns.get(style)
        if patterns is None:
            patterns = self._patterns[style] = compile_style_patterns(style)
        return patterns

    def parse_route(self, route: str) -> ParsedRoute:
        """Parse ``route`` against the registered styles (spec §4.7), active or not.

        Raises:
            FlowSyntaxError: No candidate's tokens validate; the first matching candidate's error is
                raised, or the object-route error when no arrow shape matched.
            FlowTypeError: ``route`` is not a ``str``.
        """
        if not isinstance(route, str):
            raise FlowTypeError(f"A route must be a str, got {type(route).__name__}: {route!r}")
        return parse_route_text(route, self.arrows, self._patterns_for)

    def parse_routes(self, routes: Iterable[str]) -> list[ParsedRoute]:
        """Parse each route in order; the first failure raises."""
        return [self.parse_route(route) for route in routes]

    def triggers(self, json_dict: Mapping[str, Any] | None = None) -> type[Any]:
        """Load the ``Trigger`` class: from ``json_dict`` if given, else from :attr:`triggers_file`.

        Without a ``triggers_file`` the default ``TRIGGERS`` next to the launched script is read (see
        :mod:`summoner_client.protocol.triggers` for where that is under pytest and notebooks).
        """
        if json_dict is not None:
            return _triggers.load_triggers(json_dict=json_dict)
        if self.triggers_file is not None:
            return _triggers.load_triggers(triggers_file=self.triggers_file)
        return _triggers.load_triggers()

    def __repr__(self) -> str:
        state = "active" if self.in_use else "inactive"
        return f"Flow({state}, arrows={list(self.arrows)!r})"
