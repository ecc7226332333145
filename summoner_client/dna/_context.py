"""The ``__context__`` entry of exported DNA: what a handler needs besides its own text (spec §10.1).

What belongs here: scanning handlers (and ``run_while``/``when_data`` callables) for the names they
use, and sorting each name into an import line, a JSON global, a recipe or ``missing``. Replay of the
context lives in :mod:`._sandbox`; the handler entries are built in :mod:`.export`.

Beyond the original, the scan also reads closure variables: an agent built inside a function (tests,
factories, notebooks cells wrapped in ``main()``) refers to its client and helpers through cells, not
globals, and without this its DNA would lack every such name. The first sighting of a name wins.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import types
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summoner_client.client.client import SummonerClient
from summoner_client.dna._text import find_definition, names_in_definition
from summoner_client.protocol._text import is_jsonable
from summoner_client.protocol.process import Node

__all__ = ["ScannedCallable", "build_context", "client_var_names", "plain_function"]

DEFAULT_VAR_NAME = "agent"
TYPING_STAR = "from typing import *"
SANDBOX_PREFIXES = ("summoner_translation_", "summoner_merge_")
_NODE_IMPORT = "from summoner_client.protocol.process import Node"


@dataclass(frozen=True)
class ScannedCallable:
    """One callable the context covers, with the source DNA records for it (``None`` if none)."""

    obj: object
    source: str | None


def plain_function(obj: object) -> types.FunctionType | None:
    """The Python function behind a handler: through partials, bound methods and callable objects."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.ismethod(obj):
        obj = obj.__func__
    if isinstance(obj, types.FunctionType):
        return obj
    call = getattr(type(obj), "__call__", None)  # noqa: B004 - the function itself, not a callable() test
    return call if isinstance(call, types.FunctionType) else None


def _closure_items(fn: types.FunctionType) -> Iterator[tuple[str, object]]:
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
        try:
            yield name, cell.cell_contents
        except ValueError:  # an empty cell: the variable was never assigned
            continue


def client_var_names(client: object, callables: Iterable[object]) -> list[str]:
    """Every name under which the handlers reach ``client``: globals in dict order, then closures."""
    functions = [fn for obj in callables if (fn := plain_function(obj)) is not None]
    names: list[str] = []
    seen: set[int] = set()
    for fn in functions:
        if id(fn.__globals__) in seen:
            continue
        seen.add(id(fn.__globals__))
        names.extend(
            name for name, value in list(fn.__globals__.items()) if value is client and name not in names
        )
    for fn in functions:
        names.extend(name for name, value in _closure_items(fn) if value is client and name not in names)
    return names


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _used_names(fn: types.FunctionType, source: str | None) -> set[str]:
    names = _code_names(fn.__code__)
    definition = find_definition(source, fn.__name__) if source else None
    if definition is not None:
        names |= names_in_definition(definition)  # annotations and defaults are outside the code object
    for annotation in getattr(fn, "__annotations__", {}).values():
        if isinstance(annotation, str):
            names |= names_in_definition(f"x: {annotation}")
    return {name for name in names if not (name.startswith("__") and name.endswith("__"))}


@dataclass
class _Context:
    client: object
    imports: set[str] = field(default_factory=lambda: {TYPING_STAR})
    globals: dict[str, Any] = field(default_factory=dict)
    recipes: dict[str, str] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)

    def scan(self, fn: types.FunctionType, source: str | None) -> None:
        # A closure variable shadows a global of the same name inside this function, so it goes first.
        for name, value in _closure_items(fn):
            self.classify(name, value)
        scope = fn.__globals__
        for name in sorted(_used_names(fn, source)):
            if name in scope:
                self.classify(name, scope[name])

    def classify(self, name: str, value: object) -> None:
        """File one name under the first rule of spec §10.1 that fits; the first sighting wins."""
        if name in self.seen or value is self.client:
            return
        self.seen.add(name)
        if name in typing.__all__ and getattr(typing, name, None) is value:
            return  # covered by the import everyone gets
        if isinstance(value, SummonerClient):
            self.missing.add(name)
        elif (recipe := _recipe(value)) is not None:
            self.recipes[name], needs = recipe
            self.imports.add(needs)
        elif (line := _import_of_object(name, value)) is not None:
            self.imports.add(line)
        elif is_jsonable(value):
            self.globals[name] = value
        else:
            self.missing.add(name)

    def entry(self, var_names: list[str]) -> dict[str, Any]:
        return {
            "type": "__context__",
            "var_name": var_names[0] if var_names else DEFAULT_VAR_NAME,
            "var_aliases": var_names[1:],
            "imports": sorted(self.imports),
            "globals": self.globals,
            "recipes": self.recipes,
            "missing": sorted(self.missing),
        }


def _recipe(value: object) -> tuple[str, str] | None:
    """A fresh-object recipe and the import it needs, for values that must not be shared or cannot be JSON."""
    if isinstance(value, asyncio.Lock):
        return "asyncio.Lock()", "import asyncio"
    if isinstance(value, asyncio.Event):
        return "asyncio.Event()", "import asyncio"
    if isinstance(value, Path):
        return f"Path({str(value)!r})", "from pathlib import Path"
    if (
        isinstance(value, set | frozenset | list | tuple)
        and value
        and all(isinstance(x, Node) for x in value)
    ):
        labels = sorted(str(node) for node in value)
        return f"set(Node(x) for x in {labels!r})", _NODE_IMPORT
    return None


def _importable_module(module: object) -> bool:
    return isinstance(module, str) and module != "__main__" and not module.startswith(SANDBOX_PREFIXES)


def _import_of_object(name: str, value: object) -> str | None:
    """``import m [as n]`` for a module, ``from m import q [as n]`` for a class or function found at m.q."""
    if isinstance(value, types.ModuleType):
        path = value.__name__
        if not _importable_module(path):
            return None
        return f"import {path}" if name == path else f"import {path} as {name}"
    module = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not isinstance(module, str) or not _importable_module(module):
        return None
    if not isinstance(qualname, str) or "." in qualname:
        return None
    home = _public_home(module, qualname, value)
    if home is None:
        return None
    return (
        f"from {home} import {qualname}" if name == qualname else f"from {home} import {qualname} as {name}"
    )


def _public_home(module: str, attribute: str, value: object) -> str | None:
    """The module to import ``value`` from: a public parent of a private module when it re-exports it."""
    if getattr(sys.modules.get(module), attribute, None) is not value:
        return None
    parts = module.split(".")
    while len(parts) > 1 and any(part.startswith("_") for part in parts):
        parts.pop()
        parent = ".".join(parts)
        if getattr(sys.modules.get(parent), attribute, None) is value:
            return parent
    return module


def build_context(client: object, callables: list[ScannedCallable]) -> dict[str, Any]:
    """Scan ``callables`` (handlers, then predicates) and build the ``__context__`` entry."""
    context = _Context(client)
    for item in callables:
        fn = plain_function(item.obj)
        if fn is not None:
            context.scan(fn, item.source)
    return context.entry(client_var_names(client, [item.obj for item in callables]))
