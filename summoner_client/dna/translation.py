"""``ClientTranslation``: a client rebuilt from DNA in a fresh sandbox module (client spec §10.2).

What belongs here: the constructor's steps (check the list, take the context off, create the
sandbox ``summoner_translation_<uuid hex>``, bind the client's variable name and every alias to the
new client **[D-23]**, apply the context, retire template clients) and the ``initiate_*`` methods.
How one entry becomes a handler is :mod:`._replay`'s job; the sandbox and context are
:mod:`._sandbox`'s.

Typical use::

    agent = ClientTranslation(orjson.loads(path.read_bytes()), name="clone")
    agent.flow().activate()          # before initiate_all() when senders need the flow
    agent.initiate_all()
    agent.run(host="127.0.0.1", port=8888)

**Replay executes DNA text** (imports, recipes and every handler's source): only translate DNA you
trust as you would trust the agent's own code. ``allow_context_imports=False`` or
``allowed_modules=[...]`` narrow which context import lines run (see docs/dna.md); they do not make
untrusted DNA safe.

Nothing is overridden from ``SummonerClient``'s lifecycle: ``quit()`` ends the session without
cancelling the handler that called it, as in the base class **[D-22]**; ``run()`` and
``shutdown()`` are the base ones.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

from summoner_client.dna._context import DEFAULT_VAR_NAME
from summoner_client.dna._replay import Replayer, split_context
from summoner_client.dna._replaying import ReplayingClient
from summoner_client.dna._sandbox import (
    ImportPolicy,
    ImportReport,
    apply_context,
    bind_names,
    checked_rebind,
    new_sandbox,
    retire_template_clients,
    warn_missing,
)
from summoner_client.errors import DnaTypeError

__all__ = ["ClientTranslation"]


class ClientTranslation(ReplayingClient):
    """A ``SummonerClient`` whose handlers are rebuilt from a DNA list.

    Args:
        dna_list: The decoded DNA (``orjson.loads(client.dna(...))``), optionally led by a
            ``__context__`` entry.
        name: The client's name.
        var_name: The name handlers use for their client; default: the context's, else ``"agent"``.
            The context's ``var_aliases`` are bound too.
        rebind_globals: Names to set in the sandbox after the context, overriding it: objects the
            context lists as ``missing`` (a dynamic ``Trigger``, another client, local classes).
        allow_context_imports: Run the context's import lines; ``False`` runs none of them (and imports
            no module named by the entries).
        verbose_context_imports: Log each successful import line at INFO.
        allowed_modules: When given, only import lines whose modules are listed (or submodules of
            listed packages) run; the rest are reported as skipped. ``typing``, ``asyncio``,
            ``pathlib`` and ``summoner_client`` are always allowed.

    Raises:
        DnaTypeError: ``dna_list`` is not a list, ``var_name`` not a ``str``, ``rebind_globals`` not a
            dict, or ``allowed_modules`` not a collection of names.
        DnaError: An entry is not a JSON object.
    """

    def __init__(  # noqa: PLR0917 - the original's positional order
        self,
        dna_list: list[Any],
        name: str | None = None,
        var_name: str | None = None,
        rebind_globals: dict[str, Any] | None = None,
        allow_context_imports: bool = True,
        verbose_context_imports: bool = False,
        *,
        allowed_modules: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(dna_list, list):
            raise DnaTypeError(f"ClientTranslation: dna_list must be a list, got {type(dna_list).__name__}")
        context, entries = split_context(dna_list)
        chosen = var_name if var_name is not None else context.get("var_name") or DEFAULT_VAR_NAME
        if not isinstance(chosen, str):
            raise DnaTypeError(f"ClientTranslation: var_name must be a str, got {type(chosen).__name__}")
        rebind = checked_rebind(rebind_globals)
        policy = ImportPolicy.build(allow_context_imports, allowed_modules)
        super().__init__(name=name)
        self._dna_list: list[Any] = entries
        self._context: dict[str, Any] = context
        self._var_name = chosen
        self._var_aliases = [
            a for a in context.get("var_aliases") or () if isinstance(a, str) and a != chosen
        ]
        self._rebind_globals = rebind
        self._import_policy = policy
        self._sandbox: types.ModuleType = new_sandbox("summoner_translation_")
        self._sandbox_module_name = self._sandbox.__name__
        namespace = self._sandbox_globals = vars(self._sandbox)
        bind_names(namespace, [chosen, *self._var_aliases], self)
        self._import_report: ImportReport = apply_context(
            namespace,
            context,
            policy=policy,
            logger=self.logger,
            verbose=verbose_context_imports,
            label=self.name,
        )
        namespace.update(rebind)
        warn_missing(context, namespace, self.logger, self.name)
        retire_template_clients(
            (entry.get("module") for entry in entries),
            [chosen, *self._var_aliases],
            self,
            policy,
            self.logger,
        )
        self._replayer = Replayer(self, namespace, policy, self._sandbox_module_name)

    @property
    def import_report(self) -> ImportReport:
        """Which context import lines ran, failed, or were skipped by the import policy."""
        return self._import_report

    @property
    def var_name(self) -> str:
        """The name the handlers use for this client in the sandbox."""
        return self._var_name

    def _initiate(self, kind: str) -> None:
        for entry in self._dna_list:
            if entry.get("type") == kind:
                self._replayer.replay(entry)

    def _sender_entries(self) -> Iterable[dict[str, Any]]:
        return self._dna_list
