"""``dna(client, include_context=False)``: a client's handlers as a JSON array (client spec §10.1).

What belongs here: turning the DNA records the registry captured at decoration into the entries of
the spec's schema, in the spec's order (``upload_states``, ``download_states``, every ``receive``,
every ``send``, every ``hook``, each group in decoration order), and prepending the optional
``__context__`` entry (built in :mod:`._context`). ``SummonerClient.dna`` delegates here.

Export never executes anything and never fails on a handler whose source could not be read: the
registry recorded a stand-in at decoration **[D-21]**, and replay refuses that stand-in loudly.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol

import orjson

from summoner_client.client._source import dna_name, get_callable_source
from summoner_client.dna._context import ScannedCallable, build_context, plain_function
from summoner_client.protocol.flow import Flow
from summoner_client.protocol.triggers import Move, Stay, Test
from summoner_client.protocol.validation import handler_name

__all__ = ["DnaSource", "dna", "dna_entries", "paired_entries"]

Record = dict[str, Any]
_ACTIONS = (Move, Stay, Test)


class DnaSource(Protocol):
    """What export reads from a client: the DNA records and the flow (client spec §1.2)."""

    @property
    def _dna_upload_states(self) -> list[Record]: ...
    @property
    def _dna_download_states(self) -> list[Record]: ...
    @property
    def _dna_receivers(self) -> list[Record]: ...
    @property
    def _dna_senders(self) -> list[Record]: ...
    @property
    def _dna_hooks(self) -> list[Record]: ...
    def flow(self) -> Flow: ...


def dna(client: DnaSource, include_context: bool = False) -> str:
    """Return the client's handlers as the text of a JSON array (orjson, two-space indent).

    Args:
        client: A ``SummonerClient`` (or anything with its DNA records and ``flow()``).
        include_context: Prepend the ``__context__`` entry: the client's variable names, the imports,
            JSON globals and recipes the handlers need, and the names that could not be exported.

    Returns:
        The JSON text; ``ClientTranslation(orjson.loads(text))`` rebuilds the client from it.
    """
    entries = dna_entries(client)
    if include_context:
        entries.insert(0, build_context(client, _scanned(client)))
    return orjson.dumps(entries, option=orjson.OPT_INDENT_2).decode()


def dna_entries(client: DnaSource) -> list[Record]:
    """The handler entries of the spec's schema, in the spec's order, without the context."""
    return [entry for _, _, entry in paired_entries(client)]


def paired_entries(client: DnaSource) -> list[tuple[str, Record, Record]]:
    """``(type, record, entry)`` for every DNA record, in export order.

    ``ClientMerger`` needs both halves for a live client: the record holds the live objects (the
    function, signals, predicates) and the entry the names its messages and checks use.
    """
    flow = client.flow()
    pairs = [("upload_states", r, _state_entry("upload_states", r)) for r in list(client._dna_upload_states)]
    pairs += [
        ("download_states", r, _state_entry("download_states", r)) for r in list(client._dna_download_states)
    ]
    pairs += [("receive", r, _receive_entry(r, flow)) for r in list(client._dna_receivers)]
    pairs += [("send", r, _send_entry(r, flow)) for r in list(client._dna_senders)]
    pairs += [("hook", r, _hook_entry(r)) for r in list(client._dna_hooks)]
    return pairs


def _scanned(client: DnaSource) -> list[ScannedCallable]:
    """Every callable the context covers, in entry order: handlers, then each sender's predicates."""
    items: list[ScannedCallable] = []
    for records in (client._dna_upload_states, client._dna_download_states, client._dna_receivers):
        items += [ScannedCallable(r["fn"], _source(r)) for r in list(records)]
    for record in list(client._dna_senders):
        items.append(ScannedCallable(record["fn"], _source(record)))
        for prefix in ("run_while", "when_data"):
            predicate = record.get(prefix)
            if predicate is not None and not isinstance(predicate, bool):
                items.append(ScannedCallable(predicate, record.get(f"{prefix}_source")))
    items += [ScannedCallable(r["fn"], _source(r)) for r in list(client._dna_hooks)]
    return items


def _source(record: Record) -> str:
    source = record.get("source")
    return source if isinstance(source, str) else get_callable_source(record["fn"])


def _module(fn: object) -> str | None:
    inner = plain_function(fn)
    module = getattr(inner if inner is not None else fn, "__module__", None)
    return module if isinstance(module, str) else None


def _tail(record: Record) -> Record:
    """The fields every entry ends with."""
    fn = record["fn"]
    return {"source": _source(record), "module": _module(fn), "fn_name": handler_name(fn)}


def _route_key(record: Record, flow: Flow) -> str:
    """The bound key; before binding, the key binding would give now. All whitespace removed."""
    key = record.get("route_key")
    if not isinstance(key, str):
        key = str(record["route"])
        if flow.in_use:
            # Binding keeps the raw route for a route that does not parse.
            with contextlib.suppress(ValueError):
                key = str(flow.parse_route(key))
    return "".join(key.split())


def _state_entry(kind: str, record: Record) -> Record:
    return {"type": kind, **_tail(record)}


def _receive_entry(record: Record, flow: Flow) -> Record:
    return {
        "type": "receive",
        "route": record["route"],
        "route_key": _route_key(record, flow),
        "priority": list(record.get("priority") or ()),
        "model": record.get("model"),
        **_tail(record),
    }


def _predicate_fields(prefix: str, value: object, source: object) -> Record:
    """``<prefix>_kind``, ``_value``, ``_name`` and ``_source`` for ``run_while`` or ``when_data``."""
    if value is None:
        kind, plain, name, text = "none", None, None, None
    elif isinstance(value, bool):
        kind, plain, name, text = "bool", value, None, None
    else:
        kind, plain, name = "callable", None, dna_name(value)
        text = source if isinstance(source, str) else get_callable_source(value)
    return {
        f"{prefix}_kind": kind,
        f"{prefix}_value": plain,
        f"{prefix}_name": name,
        f"{prefix}_source": text,
    }


def _send_entry(record: Record, flow: Flow) -> Record:
    triggers = record.get("on_triggers") or ()
    actions = record.get("on_actions") or ()
    return {
        "type": "send",
        "route": record["route"],
        "route_key": _route_key(record, flow),
        "multi": bool(record.get("multi")),
        "use_data": bool(record.get("use_data")),
        "data_mode": record.get("data_mode"),
        "every": record.get("every"),
        **_predicate_fields("run_while", record.get("run_while"), record.get("run_while_source")),
        **_predicate_fields("when_data", record.get("when_data"), record.get("when_data_source")),
        "on_triggers": sorted(signal.name for signal in triggers),
        "on_actions": [cls.__name__ for cls in _ACTIONS if cls in actions],
        "model": record.get("model"),
        **_tail(record),
    }


def _hook_entry(record: Record) -> Record:
    return {
        "type": "hook",
        "direction": record["direction"].name,
        "priority": list(record.get("priority") or ()),
        **_tail(record),
    }
