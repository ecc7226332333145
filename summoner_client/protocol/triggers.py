"""TRIGGERS files, the ``Trigger`` class built from them, and the signal and event values.

What belongs here: the text format of a TRIGGERS file (one signal name per line, indentation for the
hierarchy, ``#`` comments), the ``Trigger`` class that gives each name a ``Signal``, and the ``Event``
values (``Move``, ``Stay``, ``Test``) that receivers return. Nodes, routes and arrow styles live in
``process`` and ``flow``; nothing here knows about them.

Finding the TRIGGERS file
-------------------------
``load_triggers()`` reads ``WORKING_DIR / "TRIGGERS"``, so an agent launched as ``python agents/bot.py``
finds ``agents/TRIGGERS`` next to its script, whatever the current directory is. ``WORKING_DIR`` is
fixed at import:

- the directory of ``sys.argv[0]`` when that names an existing file and the program is a script
  (``python bot.py``, ``python -m package.bot``);
- otherwise the current directory at import. This covers ``python -c``, the interactive prompt and
  notebooks, where ``sys.argv[0]`` is ``-c``, empty or the kernel's launcher, none of which is where
  the agent's files are. The original resolved against ``sys.argv[0]`` even there **[D-25]**.

Under pytest, ``sys.argv[0]`` is pytest's own entry point, so ``WORKING_DIR`` is pytest's directory,
never the test's. Tests therefore either patch the attribute, which ``load_triggers`` reads at call
time (``monkeypatch.setattr(triggers, "WORKING_DIR", tmp_path)``), or bypass it with
``load_triggers(text=...)``, ``load_triggers(json_dict=...)`` or an absolute ``triggers_file``.
"""

from __future__ import annotations

import keyword
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

from summoner_client.errors import FlowSyntaxError, FlowTypeError, TriggersNotFoundError

__all__ = [
    "WORKING_DIR",
    "Action",
    "Event",
    "Move",
    "Signal",
    "Stay",
    "Test",
    "build_triggers",
    "extract_signal",
    "load_triggers",
    "parse_signal_tree",
    "parse_signal_tree_lines",
]

logger = logging.getLogger(__name__)

SignalTree: TypeAlias = dict[str, "SignalTree | None"]
"""A parsed TRIGGERS file: each name maps to its children, or to ``None`` for a leaf."""
_Walked: TypeAlias = tuple[tuple[int, ...], str, str]  # (path, dotted name, name)

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Attributes every Trigger class carries besides the signals; a signal may not shadow them.
_TRIGGER_MEMBERS = frozenset({"_path_to_name", "name_of"})


def _launch_directory() -> Path:
    """Return the directory the launched program lives in, or the current one when there is none."""
    argv = getattr(sys, "argv", None) or [""]
    script = Path(argv[0]) if argv[0] else None
    # Interactive front ends (IPython, Jupyter kernels) replace __main__ with a namespace that has no
    # __file__, while sys.argv[0] still names their launcher: the launcher's directory is never useful.
    interactive = getattr(sys.modules.get("__main__"), "__file__", None) is None
    if script is not None and not interactive and script.is_file():
        return script.resolve().parent
    return Path.cwd()


WORKING_DIR: Path = _launch_directory()
"""Where ``load_triggers`` looks for a relative ``triggers_file``; read at call time, so it can be patched."""


class Signal:
    """One name of a TRIGGERS file, identified by its position in the tree.

    Equality and hash use the path only, so a signal from one ``Trigger`` class equals the signal at
    the same place in another. The ordering operators compare ancestry: ``a > b`` when ``a`` is a
    strict ancestor of ``b``. They form a partial order; unrelated signals are neither above nor below.
    """

    __slots__ = ("_name", "_path")

    def __init__(self, path: tuple[int, ...], name: str) -> None:
        self._path = tuple(path)
        self._name = name

    @property
    def path(self) -> tuple[int, ...]:
        """The sibling indexes from the root down to this signal."""
        return self._path

    @property
    def name(self) -> str:
        """The name as written in the TRIGGERS file."""
        return self._name

    def __repr__(self) -> str:
        return f"<Signal {self._name!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Signal):
            return NotImplemented
        return self._path == other._path

    def __hash__(self) -> int:
        return hash(self._path)

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Signal):
            return NotImplemented
        return _is_strict_prefix(self._path, other._path)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Signal):
            return NotImplemented
        return self._path == other._path or _is_strict_prefix(self._path, other._path)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Signal):
            return NotImplemented
        return _is_strict_prefix(other._path, self._path)

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Signal):
            return NotImplemented
        return self._path == other._path or _is_strict_prefix(other._path, self._path)


def _is_strict_prefix(short: tuple[int, ...], long: tuple[int, ...]) -> bool:
    return len(short) < len(long) and long[: len(short)] == short


class Event:
    """What a receiver returns to move the flow: a signal and optional data for reactive senders.

    ``data`` is a plain attribute because the runtime may replace it with a frozen copy when the event
    is handed to snapshot-mode senders.
    """

    def __init__(self, signal: Signal, data: Any = None) -> None:
        self.signal = signal
        self.data = data

    def __repr__(self) -> str:
        name = type(self).__name__
        if self.data is None:
            return f"{name}({self.signal!r})"
        return f"{name}({self.signal!r}, data={self.data!r})"


class Move(Event):
    """Leave the source state: the route's label and target nodes become active."""


class Stay(Event):
    """Remain in the source state: the route's source nodes stay active."""


class Test(Event):
    """Probe a transition without taking it: only the route's label nodes become active."""

    # The class name starts with "Test"; without this pytest would try to collect it from any test
    # module that imports it.
    __test__ = False


class Action:
    """The event classes under the original's constant names: ``Action.MOVE(Trigger.ok)``."""

    MOVE: ClassVar[type[Move]] = Move
    STAY: ClassVar[type[Stay]] = Stay
    TEST: ClassVar[type[Test]] = Test


def extract_signal(value: Event | Signal | None) -> Signal | None:
    """Return the signal an event carries, a signal itself, or ``None`` for ``None``.

    Raises:
        FlowTypeError: ``value`` is none of these.
    """
    if isinstance(value, Event):
        return value.signal
    if value is None or isinstance(value, Signal):
        return value
    raise FlowTypeError(f"Cannot extract a signal from {type(value).__name__}: {value!r}")


@dataclass
class _Level:
    """One open indentation level while a TRIGGERS text is parsed."""

    indent: int
    children: SignalTree
    last_name: str = ""


def parse_signal_tree_lines(lines: Iterable[str], tabsize: int = 8) -> SignalTree:
    """Parse the lines of a TRIGGERS text into a nested dict whose leaves are ``None``.

    Args:
        lines: The text, one line per item; trailing newlines are ignored.
        tabsize: Tab stops used to expand tabs before indentation is measured.

    Raises:
        FlowSyntaxError: An invalid name, an indent that matches no open level, or a name repeated under
            one parent. ``line`` is 1-based and ``column`` is where the name starts.
    """
    root: SignalTree = {}
    levels: list[_Level] = []
    for lineno, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].expandtabs(tabsize).rstrip()
        name = text.strip()
        if not name:
            continue
        indent = len(text) - len(text.lstrip())
        snippet = raw.rstrip("\r\n")
        if not _NAME_RE.fullmatch(name):
            raise FlowSyntaxError(
                f"Line {lineno}: invalid name '{name}'", line=lineno, column=indent + 1, snippet=snippet
            )
        level = _level_for(indent, levels, root, lineno, snippet)
        if name in level.children:
            raise FlowSyntaxError(
                f"Line {lineno}: duplicate signal name '{name}' at indent level {indent}",
                line=lineno,
                column=indent + 1,
                snippet=snippet,
            )
        level.children[name] = None
        level.last_name = name
    return root


def _level_for(indent: int, levels: list[_Level], root: SignalTree, lineno: int, snippet: str) -> _Level:
    """Open or close levels so that the top one has ``indent``, and return it."""
    if not levels:
        levels.append(_Level(indent, root))
    elif indent > levels[-1].indent:
        parent = levels[-1]
        children: SignalTree = {}
        parent.children[parent.last_name] = children
        levels.append(_Level(indent, children))
    elif indent not in (level.indent for level in levels):
        open_levels = [level.indent for level in levels]
        raise FlowSyntaxError(
            f"Inconsistent indent {indent}; levels: {open_levels}",
            line=lineno,
            column=indent + 1,
            snippet=snippet,
        )
    else:
        while levels[-1].indent > indent:
            levels.pop()
    return levels[-1]


def parse_signal_tree(path: str | os.PathLike[str], tabsize: int = 8) -> SignalTree:
    """Read a TRIGGERS file (UTF-8) and parse it like :func:`parse_signal_tree_lines`.

    Raises:
        TriggersNotFoundError: No file at ``path``.
        FlowSyntaxError: As for :func:`parse_signal_tree_lines`.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_signal_tree_lines(handle, tabsize=tabsize)
    except FileNotFoundError:
        raise TriggersNotFoundError(os.fspath(path)) from None


def build_triggers(tree: Mapping[str, Any]) -> type[Any]:
    """Build the ``Trigger`` class: one ``Signal`` attribute per name of ``tree``.

    Paths are assigned depth-first in dict order. Names are flat attributes, so a name that occurs under
    two parents refers to the later one, as in the original; a WARNING names the clash. A leaf may be
    ``None`` or an empty mapping, so JSON trees work too.

    Returns:
        A new class named ``Trigger``, with ``_path_to_name`` (path -> name) and ``name_of(*path)``.

    Raises:
        FlowSyntaxError: A name that cannot be a public Python attribute.
        FlowTypeError: A key that is not a ``str`` or a value that is neither a mapping nor ``None``.
    """
    signals: dict[str, Signal] = {}
    dotted_of: dict[str, str] = {}
    path_to_name: dict[tuple[int, ...], str] = {}
    for path, dotted, name in _walk(tree, (), ""):
        _check_attribute_name(name)
        if name in signals:
            logger.warning(
                "Signal name '%s' occurs as %s and as %s; Trigger.%s now refers to %s",
                name,
                dotted_of[name],
                dotted,
                name,
                dotted,
            )
        signals[name] = Signal(path, name)
        dotted_of[name] = dotted
        path_to_name[path] = name
    namespace: dict[str, Any] = {
        **signals,
        "__doc__": "Signals loaded from a TRIGGERS tree; built by build_triggers.",
        "_path_to_name": path_to_name,
        "name_of": classmethod(_name_of),
    }
    return type("Trigger", (), namespace)


def _name_of(cls: type[Any], *path: int) -> str | None:
    """Return the name at ``path``, or ``None`` when no signal has that path."""
    names: dict[tuple[int, ...], str] = cls._path_to_name
    return names.get(path)


def _walk(tree: Mapping[str, Any], path: tuple[int, ...], prefix: str) -> Iterator[_Walked]:
    """Yield ``(path, dotted name, name)`` for every node, depth-first in dict order."""
    if not isinstance(tree, Mapping):
        raise FlowTypeError(f"A signal tree must be a mapping, got {type(tree).__name__}: {tree!r}")
    for index, (name, children) in enumerate(tree.items()):
        if not isinstance(name, str):
            raise FlowTypeError(f"Signal names must be str, got {type(name).__name__}: {name!r}")
        here = (*path, index)
        dotted = f"{prefix}.{name}" if prefix else name
        yield here, dotted, name
        if children is not None:
            yield from _walk(children, here, dotted)


def _check_attribute_name(name: str) -> None:
    reserved = keyword.iskeyword(name) or name in dir(object) or name in _TRIGGER_MEMBERS
    if reserved or name.startswith("_") or not name.isidentifier():
        raise FlowSyntaxError(
            f"Signal name '{name}' is reserved or invalid as a Python attribute. "
            "Please use a different name.",
            snippet=name,
        )


def load_triggers(
    triggers_file: str | os.PathLike[str] = "TRIGGERS",
    text: str | None = None,
    json_dict: Mapping[str, Any] | None = None,
) -> type[Any]:
    """Build the ``Trigger`` class from text, a dict, or a TRIGGERS file.

    ``text`` wins, then ``json_dict`` (shallow-copied, so the caller's dict is never touched), then the
    file ``triggers_file`` relative to :data:`WORKING_DIR`, or as is when absolute. See the module
    docstring for where ``WORKING_DIR`` points under scripts, pytest and notebooks.

    Raises:
        TriggersNotFoundError: The file does not exist.
        FlowSyntaxError: The text is not a valid TRIGGERS tree.
    """
    if text is not None:
        return build_triggers(parse_signal_tree_lines(text.splitlines()))
    if json_dict is not None:
        return build_triggers(dict(json_dict))
    # Looked up at call time, not bound as a default, so that patching WORKING_DIR takes effect.
    # Joining an absolute path onto a directory yields the absolute path itself.
    return build_triggers(parse_signal_tree(Path(WORKING_DIR) / triggers_file))
