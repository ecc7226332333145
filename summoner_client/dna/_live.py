"""Live clients as merge sources: snapshot their handlers, clone them, rebind them (client spec §10.3).

What belongs here: what ``ClientMerger`` does with a ``SummonerClient`` given directly. Its handlers
keep their module globals, so they go on sharing state with the module they were written in. Each
handler is cloned as a new function over the same code, globals, defaults and closure; the client's
variable names in those globals are rebound to the merged client. Live ``Signal``/``Action`` objects,
models and ``run_while``/``when_data`` callables are reused as they are, so lambdas survive.

Beyond the original: a closure cell that holds the source client (an agent built inside a function)
is replaced, in the clone only, by a cell holding the merged client; the source's own functions are
untouched. A predicate is cloned the same way only when its closure holds the source client.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from summoner_client.client.client import SummonerClient
from summoner_client.client.registry import PendingRegistration
from summoner_client.dna._context import plain_function
from summoner_client.dna._sandbox import ImportPolicy, import_attribute
from summoner_client.dna.export import paired_entries
from summoner_client.errors import DnaError

__all__ = ["LiveHandler", "clone_callable", "rebind_globals_of", "register_live", "snapshot"]

Record = dict[str, Any]


@dataclass(frozen=True)
class LiveHandler:
    """One handler of a live source: its DNA record (live objects), its entry (names), its model."""

    kind: str
    record: Record
    entry: Record
    model: object


def snapshot(client: SummonerClient, policy: ImportPolicy) -> list[LiveHandler]:
    """Every handler of ``client``, taken before the client is retired (which drops its pending items).

    Raises:
        DnaError: A handler's model can be neither found among the pending or bound registrations
            nor imported from its ``module:qualname``.
    """
    return [
        LiveHandler(kind, record, entry, _model(client, kind, record, policy))
        for kind, record, entry in paired_entries(client)
    ]


def _model(client: SummonerClient, kind: str, record: Record, policy: ImportPolicy) -> object:
    """The model object behind a record's ``"module:qualname"``: imported, else from its validator."""
    name = record.get("model")
    if name is None or kind not in ("receive", "send"):
        return None
    found = import_attribute(str(name), policy)
    if found is not None:
        return found
    registry = client._registry
    adapter: object = None
    for item in list(registry.pending):
        if isinstance(item, PendingRegistration) and item.record is record:
            adapter = item.adapter
    if adapter is None and kind == "receive":
        adapter = registry.receive_models.get(str(record.get("route_key")))
    if adapter is None and kind == "send":
        adapter = registry.send_models.get(str(record.get("registration_id")))
    # pydantic keeps the type a TypeAdapter was built from as ``_type``: the only way back to a model
    # that has no importable name (one defined inside a function).
    model = getattr(adapter, "_type", None)
    if model is None:
        raise DnaError(f"model {name!r} of a live {kind} handler cannot be found or imported")
    return model


def _holds(cell: types.CellType, value: object) -> bool:
    try:
        return cell.cell_contents is value
    except ValueError:  # an empty cell
        return False


def clone_callable(obj: Callable[..., Any], old: object, new: object) -> Callable[..., Any]:
    """A new function over the same code, globals, defaults and closure, with ``old`` cells holding ``new``.

    Partials are rebuilt around a clone of their function; other callables are returned as they are.
    """
    if isinstance(obj, functools.partial):
        return functools.partial(clone_callable(obj.func, old, new), *obj.args, **obj.keywords)
    if not isinstance(obj, types.FunctionType):
        return obj
    closure = obj.__closure__
    if closure is not None:
        closure = tuple(types.CellType(new) if _holds(cell, old) else cell for cell in closure)
    clone = types.FunctionType(obj.__code__, obj.__globals__, obj.__name__, obj.__defaults__, closure)
    clone.__kwdefaults__ = None if obj.__kwdefaults__ is None else dict(obj.__kwdefaults__)
    clone.__annotations__ = dict(obj.__annotations__)
    clone.__dict__.update(obj.__dict__)
    clone.__qualname__ = obj.__qualname__
    clone.__module__ = obj.__module__
    clone.__doc__ = obj.__doc__
    return clone


def _predicate(obj: object, old: object, new: object) -> object:
    """Reuse a predicate as is, unless its closure holds the source client."""
    fn = plain_function(obj)
    if fn is None or not callable(obj) or not any(_holds(c, old) for c in fn.__closure__ or ()):
        return obj
    return clone_callable(obj, old, new)


def rebind_globals_of(
    callables: Iterable[object], old: object, new: object, var_name: str, extra: Mapping[str, Any]
) -> None:
    """In each distinct module dict the callables use, point ``old``'s names (and ``var_name``) at ``new``.

    This changes the source module on purpose, as the original does: code there that refers to the
    client by name now reaches the merged one, which is what keeps shared module state working.
    """
    seen: set[int] = set()
    for obj in callables:
        fn = plain_function(obj)
        if fn is None or id(fn.__globals__) in seen:
            continue
        scope = fn.__globals__
        seen.add(id(scope))
        for name in [n for n, value in list(scope.items()) if value is old]:
            scope[name] = new
        if var_name in scope:
            scope[var_name] = new
        scope.update(extra)


def register_live(merged: SummonerClient, handler: LiveHandler, fn: Callable[..., Any], old: object) -> None:
    """Register ``fn`` (the handler's clone) on ``merged``, with the recorded source as ``dna_source``."""
    record = handler.record
    source = record.get("source")
    if handler.kind == "upload_states":
        merged.add_upload_states(fn, dna_source=source)
    elif handler.kind == "download_states":
        merged.add_download_states(fn, dna_source=source)
    elif handler.kind == "hook":
        merged.add_hook(fn, record["direction"], record["priority"], dna_source=source)
    elif handler.kind == "receive":
        merged.add_receive(fn, record["route"], record["priority"], model=handler.model, dna_source=source)
    else:
        triggers, actions = record.get("on_triggers"), record.get("on_actions")
        merged.add_send(
            fn,
            record["route"],
            record.get("multi", False),
            None if triggers is None else set(triggers),
            None if actions is None else set(actions),
            record.get("use_data", False),
            record.get("data_mode"),
            record.get("every"),
            _predicate(record.get("run_while"), old, merged),
            _predicate(record.get("when_data"), old, merged),
            model=handler.model,
            dna_source=source,
        )
