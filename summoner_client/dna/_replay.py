"""Turning DNA entries back into registered handlers (client spec §10.2, §10.3).

What belongs here: for each entry kind, rebuilding the function from its ``source`` in a sandbox
namespace and registering it through the client's ``add_*`` method, with the DNA text passed as
``dna_source`` (no patching of ``inspect`` **[D-21]**), and resolving what a sender names in JSON:
signals, actions, ``run_while``/``when_data`` callables and models. Both ``ClientTranslation`` and
``ClientMerger`` (for DNA sources) replay through :class:`Replayer`.

Entries written by older exporters lack the newer sender fields; every missing field takes the
decorator's default. Errors propagate, each naming the entry it comes from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from summoner_client.client.client import SummonerClient
from summoner_client.dna._sandbox import ImportPolicy, exec_definition, import_attribute
from summoner_client.dna._text import (
    find_definition,
    first_def_name,
    is_source_stub,
    rewrite_summoner_imports,
)
from summoner_client.errors import DnaError, FlowStateError
from summoner_client.protocol.process import Direction
from summoner_client.protocol.triggers import Action, Event, Move, Signal, Stay, Test

__all__ = ["Replayer", "check_flow_for_senders", "entry_label", "split_context"]

Entry = Mapping[str, Any]
_ACTIONS: Final = (Move, Stay, Test)


def split_context(dna_list: list[Any]) -> tuple[dict[str, Any], list[Entry]]:
    """Take a leading ``__context__`` entry off; return it (or ``{}``) and the handler entries.

    Raises:
        DnaError: An entry is not a JSON object.
    """
    context: dict[str, Any] = {}
    entries = list(dna_list)
    if entries and isinstance(entries[0], Mapping) and entries[0].get("type") == "__context__":
        context = dict(entries.pop(0))
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise DnaError(f"DNA entry #{index} is a {type(entry).__name__}, not an object: {entry!r:.80}")
    return context, entries


def entry_name(entry: Entry) -> str:
    """The handler's name: ``fn_name``, else the first function its source defines."""
    name = entry.get("fn_name")
    if isinstance(name, str) and name:
        return name
    source = entry.get("source")
    found = first_def_name(source) if isinstance(source, str) else None
    return found or "<unnamed>"


def entry_label(entry: Entry) -> str:
    """``send 'fn' on route 'r'``: how errors and warnings name an entry."""
    label = f"{entry.get('type')} '{entry_name(entry)}'"
    route = entry.get("route", entry.get("route_key"))
    return f"{label} on route {route!r}" if route is not None else label


def needs_active_flow(entry: Entry) -> bool:
    """``use_data``, or ``every`` with triggers or actions: the sender needs ``flow().activate()``."""
    reactive = bool(entry.get("on_triggers")) or bool(entry.get("on_actions"))
    return bool(entry.get("use_data")) or (entry.get("every") is not None and reactive)


def check_flow_for_senders(client: SummonerClient, entries: Iterable[Entry], owner: str) -> None:
    """Refuse to replay any sender when one of them needs the flow and it is inactive.

    Raises:
        FlowStateError: (a ``RuntimeError``) naming every sender that needs the flow.
    """
    if client.flow().in_use:
        return
    offenders = [entry_label(e) for e in entries if e.get("type") == "send" and needs_active_flow(e)]
    if offenders:
        raise FlowStateError(
            f"{owner}.flow().activate() must be called before initiate_senders(): "
            f"these senders use use_data, or every with on_triggers/on_actions: {'; '.join(offenders)}"
        )


class Replayer:
    """Replays DNA entries into ``client``, defining each handler in ``namespace``.

    Args:
        client: Where handlers are registered (through ``add_*``).
        namespace: The sandbox module's dict; definitions run there and find the context's names.
        policy: Which modules ``module:qualname`` references may import.
        label: Names the source in pseudo file names and messages.
    """

    def __init__(
        self, client: SummonerClient, namespace: dict[str, Any], policy: ImportPolicy, label: str
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.policy = policy
        self.label = label

    def replay(self, entry: Entry) -> None:
        """Rebuild one entry and register it; entries of unknown type are skipped with a WARNING."""
        kind = entry.get("type")
        if kind == "upload_states":
            self.client.add_upload_states(self.rebuild(entry), dna_source=entry["source"])
        elif kind == "download_states":
            self.client.add_download_states(self.rebuild(entry), dna_source=entry["source"])
        elif kind == "hook":
            self._hook(entry)
        elif kind == "receive":
            self._receive(entry)
        elif kind == "send":
            self._send(entry)
        else:
            self.client.logger.warning("[%s] DNA entry of unknown type %r skipped", self.label, kind)

    # ------------------------------------------------------------------ functions from source

    def rebuild(self, entry: Entry) -> Callable[..., Any]:
        """Execute the entry's definition (decorators dropped) in the sandbox; return the function.

        Raises:
            DnaError: No source, the stand-in export writes for an unreadable source, or no ``def``
                line for ``fn_name``.
        """
        source = entry.get("source")
        name = entry_name(entry)
        where = f"DNA {entry_label(entry)} (module {entry.get('module')!r})"
        if not isinstance(source, str) or not source.strip():
            raise DnaError(f"{where} has no source to replay")
        if is_source_stub(source):
            raise DnaError(
                f"{where} was exported without its source: the function's source could not be read "
                "when it was decorated (built by exec without __dna_source__?), so it cannot be replayed"
            )
        definition = find_definition(source, name)
        if definition is None:
            raise DnaError(f"{where}: its source has no 'def {name}(' or 'async def {name}(' line")
        fn = exec_definition(self.namespace, rewrite_summoner_imports(definition), name, self.label)
        if not callable(fn):
            raise DnaError(f"{where}: executing its source did not define a function {name!r}")
        return fn

    # ------------------------------------------------------------------ entry kinds

    def _hook(self, entry: Entry) -> None:
        raw = str(entry.get("direction", ""))
        direction = Direction.__members__.get(raw.rpartition(".")[2].upper())
        if direction is None:
            raise DnaError(f"DNA {entry_label(entry)}: unknown direction {raw!r} (SEND or RECEIVE)")
        fn = self.rebuild(entry)
        self.client.add_hook(fn, direction, _priority(entry), dna_source=entry["source"])

    def _receive(self, entry: Entry) -> None:
        fn = self.rebuild(entry)
        self.client.add_receive(
            fn, _route(entry), _priority(entry), model=self._model(entry), dna_source=entry["source"]
        )

    def _send(self, entry: Entry) -> None:
        fn = self.rebuild(entry)
        self.client.add_send(
            fn,
            _route(entry),
            bool(entry.get("multi", False)),
            self._triggers(entry),
            _actions(entry),
            bool(entry.get("use_data", False)),
            entry.get("data_mode"),
            entry.get("every"),
            self._predicate(entry, "run_while"),
            self._predicate(entry, "when_data"),
            model=self._model(entry),
            dna_source=entry["source"],
        )

    # ------------------------------------------------------------------ names in JSON -> objects

    def _triggers(self, entry: Entry) -> set[Signal] | None:
        names = entry.get("on_triggers")
        if not names:
            return None
        trigger = self.namespace.get("Trigger")
        if trigger is None:
            # As in the original: the sandbox's Trigger, else the TRIGGERS file the flow would load.
            trigger = self.namespace["Trigger"] = self.client.flow().triggers()
        signals: set[Signal] = set()
        for name in names:
            signal = getattr(trigger, str(name), None)
            if not isinstance(signal, Signal):
                raise DnaError(
                    f"DNA {entry_label(entry)}: on_triggers names {name!r}, which Trigger does not define"
                )
            signals.add(signal)
        return signals

    def _predicate(self, entry: Entry, prefix: str) -> object:
        name = entry.get(f"{prefix}_name")
        source = entry.get(f"{prefix}_source")
        value = entry.get(f"{prefix}_value")
        kind = entry.get(f"{prefix}_kind")
        if kind is None:  # older DNA: infer the kind from the fields present
            kind = "callable" if name or source else "bool" if isinstance(value, bool) else "none"
        if kind == "none":
            return None
        if kind == "bool":
            if not isinstance(value, bool):
                raise DnaError(
                    f"DNA {entry_label(entry)}: {prefix}_kind is 'bool' but {prefix}_value is {value!r}"
                )
            return value
        if kind == "callable":
            return self._callable(entry, prefix, name, source)
        raise DnaError(f"DNA {entry_label(entry)}: unknown {prefix}_kind {kind!r}")

    def _callable(self, entry: Entry, prefix: str, name: object, source: object) -> object:
        """``module:qualname`` import, then the bare name in the sandbox, then the recorded source."""
        shown = name if isinstance(name, str) else "<unnamed>"
        problem = f"Could not resolve serialized {prefix} callable {shown!r} of {entry_label(entry)}"
        if "<lambda>" in shown:
            raise DnaError(
                f"{problem}: a lambda cannot be rebuilt from JSON DNA. Give it a name (def), "
                "or merge the live client with ClientMerger, which keeps lambdas"
            )
        if ":" in shown and callable(found := import_attribute(shown, self.policy)):
            return found
        bare = shown.rpartition(":")[2].rpartition(".")[2]
        if callable(found := self.namespace.get(bare)):
            return found
        if isinstance(source, str) and (definition := find_definition(source, bare)) is not None:
            return exec_definition(self.namespace, rewrite_summoner_imports(definition), bare, self.label)
        raise DnaError(f"{problem}: not importable, not in the sandbox, and no source defines it")

    def _model(self, entry: Entry) -> object:
        name = entry.get("model")
        if name is None:
            return None
        problem = f"DNA {entry_label(entry)}: model {name!r} cannot be resolved"
        if not isinstance(name, str):
            raise DnaError(problem)
        if ":" in name:
            found = import_attribute(name, self.policy)
            if found is None:
                found = _lookup(self.namespace, name.partition(":")[2])
            if found is None:
                raise DnaError(
                    f"{problem}: not importable here and not in the sandbox (pass it in rebind_globals)"
                )
            return found
        try:
            return eval(name, self.namespace)  # a type's repr, e.g. "list[int]"; trusted DNA only
        except Exception as exc:
            raise DnaError(f"{problem}: {type(exc).__name__}: {exc}") from exc


def _lookup(namespace: Mapping[str, Any], qualname: str) -> object | None:
    head, *rest = qualname.split(".")
    obj: object = namespace.get(head)
    for part in rest:
        obj = getattr(obj, part, None)
    return obj


def _route(entry: Entry) -> object:
    route = entry.get("route", entry.get("route_key"))
    if route is None:
        raise DnaError(f"DNA {entry_label(entry)} has neither route nor route_key")
    return route


def _priority(entry: Entry) -> object:
    priority = entry.get("priority", ())
    return tuple(priority) if isinstance(priority, list) else priority


def _actions(entry: Entry) -> set[type[Event]] | None:
    """Action names to classes: by ``Action`` attribute, then upper-case attribute, then class name."""
    names = entry.get("on_actions")
    if not names:
        return None
    actions: set[type[Event]] = set()
    for name in names:
        text = str(name)
        found = getattr(Action, text, None) or getattr(Action, text.upper(), None)
        if found not in _ACTIONS:
            found = next((cls for cls in _ACTIONS if cls.__name__ == text), None)
        if found is None:
            raise DnaError(f"DNA {entry_label(entry)}: unknown action {text!r} (Move, Stay or Test)")
        actions.add(found)
    return actions
