"""Sandbox modules for DNA replay: creating one, applying a ``__context__`` to it, running definitions.

What belongs here: the namespace a replayed handler lives in (a fresh module registered in
``sys.modules``, client spec §10.2), the import policy that decides which context import lines run,
the import report, executing one definition with its text visible to tracebacks, and retiring the
"template" clients that importing an agent's module creates. Turning entries into handlers is
:mod:`._replay`'s job.

Security: everything here executes DNA text (``exec`` of imports and definitions, ``eval`` of
recipes). DNA is code; replay it only from sources you trust. The import policy narrows which
*import lines* run, which stops a context from pulling in arbitrary modules, but it does not make
untrusted DNA safe: the handler bodies themselves still run.
"""

from __future__ import annotations
import __future__

import importlib
import itertools
import linecache
import logging
import sys
import types
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from summoner_client.client.client import SummonerClient
from summoner_client.client.status import ClientStatus
from summoner_client.dna._context import SANDBOX_PREFIXES
from summoner_client.dna._text import import_modules, rewrite_summoner_imports
from summoner_client.errors import DnaTypeError

__all__ = [
    "ImportPolicy",
    "ImportReport",
    "apply_context",
    "bind_names",
    "checked_rebind",
    "exec_definition",
    "import_attribute",
    "new_sandbox",
    "retire_client",
    "retire_template_clients",
    "warn_missing",
]

# Modules the context of our own exports needs for its recipes and annotations; importing them runs
# no DNA-chosen code, so an allow-list always includes them.
ALWAYS_ALLOWED: Final = frozenset({"typing", "asyncio", "pathlib", "summoner_client"})
_RUNNING: Final = (
    ClientStatus.CONNECTING,
    ClientStatus.CONNECTED,
    ClientStatus.BACKING_OFF,
    ClientStatus.STOPPING,
)
_definitions = itertools.count(1)  # makes each definition's pseudo file name unique


class ImportReport(TypedDict):
    """What happened to a context's import lines: each list holds the lines as run (rewritten)."""

    label: str
    succeeded: list[str]
    failed: list[str]
    skipped: list[str]
    errors: dict[str, str]  # failed line -> "ExceptionType: message"


@dataclass(frozen=True)
class ImportPolicy:
    """Which modules replay may import: context import lines, and modules named in entries.

    ``enabled=False`` (``allow_context_imports=False``) imports nothing new. ``allowed`` (from
    ``allowed_modules=``), when set, admits only those modules and their submodules, plus
    :data:`ALWAYS_ALLOWED`.
    """

    enabled: bool = True
    allowed: frozenset[str] | None = None

    @classmethod
    def build(cls, enabled: object, allowed_modules: Iterable[str] | None) -> ImportPolicy:
        """Check the constructor arguments and build the policy.

        Raises:
            DnaTypeError: ``allowed_modules`` is a string or holds a non-string.
        """
        if allowed_modules is None:
            return cls(bool(enabled), None)
        if isinstance(allowed_modules, str | bytes):
            raise DnaTypeError("allowed_modules must be a collection of module names, not a single string")
        names = frozenset(allowed_modules)
        if not all(isinstance(name, str) for name in names):
            raise DnaTypeError(
                f"allowed_modules must hold module names (str), got {sorted(map(repr, names))}"
            )
        return cls(bool(enabled), names)

    def allows(self, module: str) -> bool:
        """Whether replay may import ``module`` (already imported modules are always usable)."""
        if not self.enabled:
            return False
        if self.allowed is None:
            return True
        return any(module == name or module.startswith(name + ".") for name in self.allowed | ALWAYS_ALLOWED)


def new_sandbox(prefix: str) -> types.ModuleType:
    """A fresh module ``<prefix><uuid hex>``, registered in ``sys.modules`` so pickling and
    ``inspect`` find the replayed functions' module."""
    name = f"{prefix}{uuid.uuid4().hex}"
    module = types.ModuleType(name, "Namespace of handlers replayed from DNA.")
    sys.modules[name] = module
    return module


def bind_names(namespace: dict[str, Any], names: Iterable[object], value: object) -> None:
    """Bind every identifier in ``names`` to ``value`` (the client's variable name and its aliases)."""
    for name in names:
        if isinstance(name, str) and name.isidentifier():
            namespace[name] = value


def checked_rebind(rebind_globals: object) -> dict[str, Any]:
    """``rebind_globals`` as a dict.

    Raises:
        DnaTypeError: It is neither ``None`` nor a mapping with ``str`` keys.
    """
    if rebind_globals is None:
        return {}
    if not isinstance(rebind_globals, Mapping) or not all(isinstance(k, str) for k in rebind_globals):
        raise DnaTypeError(
            f"rebind_globals must be a dict of names to values, got {type(rebind_globals).__name__}"
        )
    return dict(rebind_globals)


def apply_context(
    namespace: dict[str, Any],
    context: Mapping[str, Any],
    *,
    policy: ImportPolicy,
    logger: logging.Logger,
    verbose: bool,
    label: str,
) -> ImportReport:
    """Run a context's import lines (per ``policy``), set its globals, evaluate its recipes.

    Failures never raise: a failed import or recipe is logged at WARNING and leaves its names unbound,
    so only the handlers that use them fail, and with a ``NameError`` that names them.
    """
    report = ImportReport(label=label, succeeded=[], failed=[], skipped=[], errors={})
    for raw in context.get("imports") or ():
        _run_import(namespace, str(raw), report=report, policy=policy, logger=logger, verbose=verbose)
    if report["skipped"] and not policy.enabled:
        logger.info("[%s] context imports disabled: %d import line(s) not run", label, len(report["skipped"]))
    values = context.get("globals") or {}
    if isinstance(values, Mapping):
        for name, value in values.items():
            namespace.setdefault(str(name), value)
    for name, expression in _recipe_items(context.get("recipes")):
        if name in namespace:
            continue
        try:
            namespace[name] = eval(expression, namespace)  # trusted DNA only (module docstring)
        except Exception as exc:  # a recipe may fail in any way; the names stay unbound
            logger.warning(
                "[%s] DNA context recipe %s = %s failed: %s: %s",
                label,
                name,
                expression,
                type(exc).__name__,
                exc,
            )
    return report


def _run_import(
    namespace: dict[str, Any],
    raw: str,
    *,
    report: ImportReport,
    policy: ImportPolicy,
    logger: logging.Logger,
    verbose: bool,
) -> None:
    label = report["label"]
    line = rewrite_summoner_imports(raw)
    modules = import_modules(line)
    if modules is None:
        report["failed"].append(line)
        report["errors"][line] = "not an import statement"
        logger.warning("[%s] DNA context import %r is not an import statement; not run", label, line)
        return
    if not all(policy.allows(module) for module in modules):
        report["skipped"].append(line)
        if policy.enabled:
            logger.warning("[%s] DNA context import skipped (not in allowed_modules): %s", label, line)
        return
    try:
        exec(compile(line, f"<dna context {label}>", "exec", dont_inherit=True), namespace)
    except Exception as exc:  # ImportError, or anything a module raises while it is imported
        report["failed"].append(line)
        report["errors"][line] = f"{type(exc).__name__}: {exc}"
        logger.warning("[%s] DNA context import failed: %s (%s: %s)", label, line, type(exc).__name__, exc)
        return
    report["succeeded"].append(line)
    if verbose:
        logger.info("[%s] DNA context import: %s", label, line)


def _recipe_items(recipes: object) -> list[tuple[str, str]]:
    """Recipes as ``(name, expression)`` pairs: a dict (ours), or a list of pairs or of dicts."""
    if isinstance(recipes, Mapping):
        return [(str(k), str(v)) for k, v in recipes.items()]
    items: list[tuple[str, str]] = []
    for item in recipes if isinstance(recipes, list) else ():
        if isinstance(item, list | tuple) and len(item) == 2:
            items.append((str(item[0]), str(item[1])))
        elif isinstance(item, Mapping) and "name" in item and "expr" in item:
            items.append((str(item["name"]), str(item["expr"])))
    return items


def warn_missing(
    context: Mapping[str, Any], namespace: Mapping[str, Any], logger: logging.Logger, label: str
) -> None:
    """Say which names the exporter could not carry and nothing has provided since."""
    missing = [str(name) for name in context.get("missing") or () if str(name) not in namespace]
    if missing:
        logger.warning(
            "[%s] DNA context could not export %s; handlers that use them raise NameError "
            "unless rebind_globals provides them",
            label,
            ", ".join(missing),
        )


def exec_definition(namespace: dict[str, Any], text: str, fn_name: str, label: str) -> object:
    """Execute one definition in ``namespace`` and return what it bound to ``fn_name``.

    The text is registered with ``linecache`` under a unique pseudo file name, so tracebacks show the
    DNA lines and ``inspect.getsource`` works on the result. Annotations stay unevaluated (as under
    ``from __future__ import annotations``): a name missing from the context then costs a warning
    from the annotation check, not a failed replay.
    """
    filename = f"<dna {label}:{fn_name}#{next(_definitions)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    flags = __future__.annotations.compiler_flag
    exec(compile(text, filename, "exec", flags=flags, dont_inherit=True), namespace)
    return namespace[fn_name]


def import_attribute(path: str, policy: ImportPolicy) -> object | None:
    """``module:qualname`` to the object, importing the module only if ``policy`` allows; else ``None``."""
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname or "<" in qualname or module_name == "__main__":
        return None
    if module_name.startswith(SANDBOX_PREFIXES):
        return None
    module = sys.modules.get(module_name)
    if module is None and policy.allows(module_name):
        try:
            module = importlib.import_module(module_name)
        except Exception:  # a module that fails to import is a name that does not resolve
            return None
    obj: object = module
    for part in qualname.split(".") if module is not None else ():
        obj = getattr(obj, part, None)
    return obj if module is not None else None


def retire_client(client: SummonerClient, logger: logging.Logger) -> None:
    """Drop a replaced client's pending registrations and close the loop it created for itself.

    A running client is left alone with a WARNING: its loop is someone's live loop.
    """
    if client.status in _RUNNING:
        logger.warning("Client %r is running; its registrations and loop are left alone", client.name)
        return
    registry = client._registry
    with registry.lock:
        for item in registry.pending:
            close = getattr(item, "close", None)
            if isinstance(item, types.CoroutineType) and callable(close):
                close()  # an extension's registration coroutine that will now never run
        registry.pending.clear()
    loop = client._loop
    if (
        loop is not None
        and getattr(client, "_loop_owned", False)
        and not loop.is_running()
        and not loop.is_closed()
    ):
        loop.close()
        client._loop = None
        client._loop_owned = False


def retire_template_clients(
    modules: Iterable[object],
    var_names: Iterable[str],
    keep: SummonerClient,
    policy: ImportPolicy,
    logger: logging.Logger,
) -> None:
    """Import each module named in the entries and retire the clients it binds under ``var_names``.

    An agent module imported for its names would otherwise leave its own client ("template") with
    pending registrations and perhaps an open loop. Modules ``policy`` forbids are only looked up.
    """
    names = list(var_names)
    for module_name in dict.fromkeys(m for m in modules if isinstance(m, str) and m):
        if module_name.startswith(SANDBOX_PREFIXES):
            continue
        module = sys.modules.get(module_name)
        if module is None and policy.allows(module_name):
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:  # the module of the exporting process may not exist here
                logger.debug("DNA module %s not importable: %s: %s", module_name, type(exc).__name__, exc)
                continue
        for name in names if module is not None else ():
            template = vars(module).get(name)
            if isinstance(template, SummonerClient) and template is not keep:
                retire_client(template, logger)
