"""``ClientMerger``: one client combining several live clients and DNA sources (client spec §10.3).

What belongs here: normalising the sources (a client, ``{"client": c}``, a DNA list,
``{"dna_list": [...]}``, ``{"dna_path": path}``), preparing each (a snapshot of a live client's
handlers; a sandbox ``summoner_merge_<uuid hex>`` with the context applied for DNA), retiring the
source clients, and the ``initiate_*`` methods that replay every source kind by kind. Live cloning
is :mod:`._live`'s job; DNA replay is :mod:`._replay`'s.

Collisions follow the registration rules of spec §3, because every handler goes through ``add_*``:
a later state callback, a receiver on the same route key, or a hook with the same direction and
priority replaces the earlier one with a WARNING (an error in strict mode). Sources are replayed in
the order given, so the last source wins.

**Replay executes DNA text**: merge DNA only from sources you trust (see docs/dna.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import orjson

from summoner_client.client.client import SummonerClient
from summoner_client.dna._context import DEFAULT_VAR_NAME, client_var_names
from summoner_client.dna._live import LiveHandler, clone_callable, rebind_globals_of, register_live, snapshot
from summoner_client.dna._replay import Replayer, split_context
from summoner_client.dna._replaying import ReplayingClient
from summoner_client.dna._sandbox import (
    ImportPolicy,
    ImportReport,
    apply_context,
    bind_names,
    checked_rebind,
    new_sandbox,
    retire_client,
    retire_template_clients,
    warn_missing,
)
from summoner_client.errors import DnaKeyError, DnaTypeError

__all__ = ["ClientMerger", "MergeSource"]


class MergeSource(TypedDict):
    """One normalised source, as ``ClientMerger.sources`` lists them."""

    kind: Literal["client", "dna"]
    label: str
    var_name: str
    var_aliases: list[str]  # other names bound to the source client (live) or from the context (DNA)
    client: NotRequired[SummonerClient]  # live sources
    handlers: NotRequired[list[LiveHandler]]  # live sources: the snapshot taken at construction
    dna_list: NotRequired[list[Any]]  # DNA sources: the entries, context removed
    context: NotRequired[dict[str, Any]]
    replayer: NotRequired[Replayer]
    import_report: ImportReport | None  # DNA sources; None for live ones


class ClientMerger(ReplayingClient):
    """A ``SummonerClient`` with the handlers of every source, replayed by ``initiate_all()``.

    Args:
        named_clients: The sources, in replay order: a ``SummonerClient``; ``{"client": c,
            "var_name"?: str}``; a DNA list; ``{"dna_list": [...], "var_name"?}``; or
            ``{"dna_path": path, "var_name"?}`` (a JSON file).
        name: The merged client's name.
        rebind_globals: Names injected into every source's namespace (the live module globals, or
            the DNA sandbox), after the context.
        allow_context_imports, verbose_context_imports, allowed_modules: As for ``ClientTranslation``,
            per DNA source.
        close_subclients: Drop the source clients' pending registrations and close the loops they
            created (a running client is left alone, with a WARNING).

    Raises:
        DnaTypeError: ``named_clients`` is not a list, a source is of no known form, a DNA source is
            not a list, or a ``var_name`` is not a ``str``.
        DnaKeyError: (a ``KeyError``) a source dict has none of ``client``, ``dna_list``, ``dna_path``.
        OSError: A ``dna_path`` cannot be read; ``orjson.JSONDecodeError`` (a ``ValueError``) if it
            is not JSON.
    """

    def __init__(  # noqa: PLR0917 - the original's positional order
        self,
        named_clients: list[Any],
        name: str | None = None,
        rebind_globals: dict[str, Any] | None = None,
        allow_context_imports: bool = True,
        verbose_context_imports: bool = False,
        close_subclients: bool = True,
        *,
        allowed_modules: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(named_clients, list | tuple):
            raise DnaTypeError(
                f"ClientMerger: named_clients must be a list, got {type(named_clients).__name__}"
            )
        rebind = checked_rebind(rebind_globals)
        policy = ImportPolicy.build(allow_context_imports, allowed_modules)
        super().__init__(name=name)
        self._rebind_globals = rebind
        self._import_policy = policy
        self._verbose_context_imports = bool(verbose_context_imports)
        self.sources: list[MergeSource] = [self._normalise(i, item) for i, item in enumerate(named_clients)]
        self._import_reports: list[ImportReport] = [
            s["import_report"] for s in self.sources if s["import_report"] is not None
        ]
        if close_subclients:
            self._retire_sources()

    # ------------------------------------------------------------------ normalisation

    def _normalise(self, index: int, item: object) -> MergeSource:
        if isinstance(item, SummonerClient):
            return self._live_source(item, None)
        if isinstance(item, list):
            return self._dna_source(item, None, f"dna_list[{index}]")
        if not isinstance(item, dict):
            raise DnaTypeError(
                f"ClientMerger source #{index} must be a SummonerClient, a DNA list or a dict, "
                f"got {type(item).__name__}"
            )
        var_name = item.get("var_name")
        if var_name is not None and not isinstance(var_name, str):
            raise DnaTypeError(
                f"ClientMerger source #{index}: var_name must be a str, got {type(var_name).__name__}"
            )
        if "client" in item:
            client = item["client"]
            if not isinstance(client, SummonerClient):
                raise DnaTypeError(f"ClientMerger source #{index}: 'client' is a {type(client).__name__}")
            return self._live_source(client, var_name)
        if "dna_list" in item:
            return self._dna_source(item["dna_list"], var_name, f"dna_list[{index}]")
        if "dna_path" in item:
            path = item["dna_path"]
            if not isinstance(path, str | os.PathLike):
                raise DnaTypeError(
                    f"ClientMerger source #{index}: dna_path must be a path, got {type(path).__name__}"
                )
            return self._dna_source(orjson.loads(Path(path).read_bytes()), var_name, os.fspath(path))
        raise DnaKeyError(
            f"ClientMerger source #{index} needs one of the keys 'client', 'dna_list', 'dna_path'"
        )

    def _live_source(self, client: SummonerClient, var_name: str | None) -> MergeSource:
        handlers = snapshot(client, self._import_policy)
        callables: list[object] = [h.record["fn"] for h in handlers]
        callables += [h.record.get(p) for h in handlers for p in ("run_while", "when_data")]
        names = client_var_names(client, callables)
        chosen = var_name or (names[0] if names else DEFAULT_VAR_NAME)
        return MergeSource(
            kind="client",
            label=f"client:{client.name}",
            var_name=chosen,
            var_aliases=[n for n in names if n != chosen],
            client=client,
            handlers=handlers,
            import_report=None,
        )

    def _dna_source(self, dna_list: object, var_name: str | None, label: str) -> MergeSource:
        if not isinstance(dna_list, list):
            raise DnaTypeError(
                f"ClientMerger source {label}: DNA must be a list, got {type(dna_list).__name__}"
            )
        context, entries = split_context(dna_list)
        chosen = var_name or context.get("var_name") or DEFAULT_VAR_NAME
        if not isinstance(chosen, str):
            raise DnaTypeError(
                f"ClientMerger source {label}: var_name must be a str, got {type(chosen).__name__}"
            )
        aliases = [a for a in context.get("var_aliases") or () if isinstance(a, str) and a != chosen]
        sandbox = new_sandbox("summoner_merge_")
        namespace = vars(sandbox)
        bind_names(namespace, [chosen, *aliases], self)
        report = apply_context(
            namespace,
            context,
            policy=self._import_policy,
            logger=self.logger,
            verbose=self._verbose_context_imports,
            label=label,
        )
        namespace.update(self._rebind_globals)
        warn_missing(context, namespace, self.logger, label)
        return MergeSource(
            kind="dna",
            label=label,
            var_name=chosen,
            var_aliases=aliases,
            dna_list=entries,
            context=context,
            replayer=Replayer(self, namespace, self._import_policy, sandbox.__name__),
            import_report=report,
        )

    def _retire_sources(self) -> None:
        for source in self.sources:
            if "client" in source:
                if source["client"] is not self:
                    retire_client(source["client"], self.logger)
            else:
                retire_template_clients(
                    (entry.get("module") for entry in source.get("dna_list", ())),
                    [source["var_name"], *source["var_aliases"]],
                    self,
                    self._import_policy,
                    self.logger,
                )

    # ------------------------------------------------------------------ replay

    def _initiate(self, kind: str) -> None:
        for source in self.sources:
            if "replayer" in source:
                replayer = source["replayer"]
                for entry in source.get("dna_list", ()):
                    if entry.get("type") == kind:
                        replayer.replay(entry)
            else:
                self._initiate_live(source, kind)

    def _initiate_live(self, source: MergeSource, kind: str) -> None:
        old = source.get("client")
        handlers = [h for h in source.get("handlers", ()) if h.kind == kind]
        callables = [h.record.get(key) for h in handlers for key in ("fn", "run_while", "when_data")]
        rebind_globals_of(callables, old, self, source["var_name"], self._rebind_globals)
        for handler in handlers:
            try:
                fn = clone_callable(handler.record["fn"], old, self)
            except Exception as exc:  # an exotic callable; the other handlers still merge
                self.logger.warning(
                    "[%s] could not clone %s handler %r; skipped: %s: %s",
                    source["label"],
                    kind,
                    handler.entry.get("fn_name"),
                    type(exc).__name__,
                    exc,
                )
                continue
            register_live(self, handler, fn, old)

    def _sender_entries(self) -> Iterable[dict[str, Any]]:
        # Across all sources, live and DNA, so one source's sender cannot slip in before another fails.
        entries = [h.entry for s in self.sources for h in s.get("handlers", ())]
        return entries + [e for s in self.sources for e in s.get("dna_list", ())]
