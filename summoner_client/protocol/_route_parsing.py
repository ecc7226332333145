"""Route text to ``ParsedRoute``: the six arrow shapes of each style, token splitting and validation.

What belongs here: spec §4.7 as pure functions. ``Flow`` owns the registered styles and a cache of
compiled patterns and calls :func:`parse_route_text`; nothing here keeps state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from summoner_client.errors import FlowSyntaxError
from summoner_client.protocol._arrow_style import ArrowStyle
from summoner_client.protocol._node import Node
from summoner_client.protocol._route import ParsedRoute

__all__ = ["compile_style_patterns", "get_token_list", "parse_route_text"]

# A token is a name or a gate, optionally with one parenthesised argument list; Node decides the rest.
_TOKEN_RE = re.compile(r"/?[A-Za-z_]\w*(?:\([^)]*\))?")


def get_token_list(text: str, separator: str) -> list[str]:
    """Split ``text`` on the whole ``separator`` string, outside parentheses only.

    Parts are stripped and empty parts dropped, so ``"A, /oneof(b, c),"`` with ``","`` gives
    ``["A", "/oneof(b, c)"]``. Separators of any length split **[D-13]**.

    Raises:
        FlowSyntaxError: ``separator`` is empty.
    """
    if not separator:
        raise FlowSyntaxError("Token separator must be a non-empty string")
    parts: list[str] = []
    depth = 0
    start = 0
    index = 0
    while index < len(text):
        char = text[index]
        if depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index])
            index += len(separator)
            start = index
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            # An unbalanced ")" must not push later separators into a negative depth that never splits;
            # the token check rejects the stray parenthesis anyway.
            depth = max(depth - 1, 0)
        index += 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def compile_style_patterns(style: ArrowStyle) -> tuple[re.Pattern[str], ...]:
    """Return the six shapes of ``style`` in the order they are tried (spec §4.7).

    Each pattern is meant for ``fullmatch`` and has the named groups ``source``, ``label`` and
    ``target`` where the shape has them. ``source`` is lazy, so it takes the shortest prefix that lets
    the rest match; spaces around the arrow are optional.
    """
    left, right = (re.escape(bracket) for bracket in style.brackets)
    shaft, tip = re.escape(style.stem * 2), re.escape(style.tip)
    labelled = rf"{shaft}{left}(?P<label>.*?){right}{shaft}{tip}"
    plain = rf"{shaft}{tip}"
    source, target = r"(?P<source>.+?)\s*", r"\s*(?P<target>.+)"
    shapes = (
        source + labelled + target,
        labelled + target,
        source + labelled,
        source + plain + target,
        plain + target,
        source + plain,
    )
    # DOTALL: a route written over several lines must parse like its one-line form.
    return tuple(re.compile(shape, re.DOTALL) for shape in shapes)


def parse_route_text(
    route: str,
    styles: Iterable[ArrowStyle],
    patterns_for: Callable[[ArrowStyle], Sequence[re.Pattern[str]]],
) -> ParsedRoute:
    """Parse ``route`` against ``styles`` in order, falling back to an object route.

    The first candidate (style, shape) that matches and whose tokens all validate wins. When some
    candidate matched but none validated, the error of the first matching one is raised **[D-13]**.
    When none matched, the route is an object route split on ``","``.

    Raises:
        FlowSyntaxError: A token is malformed or is not a valid node.
    """
    text = route.strip()
    first_error: FlowSyntaxError | None = None
    for style in styles:
        for pattern in patterns_for(style):
            match = pattern.fullmatch(text)
            if match is None:
                continue
            # Shapes without a part have no group for it; an absent part is empty.
            parts = match.groupdict(default="")
            try:
                return ParsedRoute(
                    _nodes(parts.get("source", ""), style, text),
                    _nodes(parts.get("label", ""), style, text),
                    _nodes(parts.get("target", ""), style, text),
                    style,
                )
            except FlowSyntaxError as error:
                first_error = first_error or error
    if first_error is not None:
        raise first_error
    return ParsedRoute(_tokens_to_nodes(get_token_list(text, ","), text), (), (), None)


def _nodes(part: str, style: ArrowStyle, route: str) -> tuple[Node, ...]:
    return _tokens_to_nodes(get_token_list(part, style.separator), route)


def _tokens_to_nodes(tokens: list[str], route: str) -> tuple[Node, ...]:
    nodes = []
    for token in tokens:
        if not _TOKEN_RE.fullmatch(token):
            raise FlowSyntaxError(
                f"Invalid token '{token}' in route '{route}'", column=route.find(token) + 1, snippet=token
            )
        nodes.append(Node(token))
    return tuple(nodes)
