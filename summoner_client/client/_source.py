"""Source text and names of handlers, captured for DNA records at decoration (client spec §10.1).

What belongs here: reading a callable's source best effort, and the ``"module:qualname"`` names DNA
records use for models and predicates. Capture never fails a registration **[D-21]**: a function built
by ``exec`` has no source file, so its source comes from ``fn.__dna_source__`` or, failing that, from
a stub that raises when called. Building and exporting DNA is not done here.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import types

from summoner_client.protocol.validation import handler_name

__all__ = ["SOURCE_UNAVAILABLE_BODY", "dna_name", "get_callable_source", "source_stub"]

SOURCE_UNAVAILABLE_BODY = "    raise RuntimeError('source unavailable')\n"
_STUB_FALLBACK_NAME = "_source_unavailable"


def get_callable_source(fn: object, override_source: str | None = None) -> str:
    """Return the source of ``fn`` as DNA records it, decorator lines included.

    Tried in order: ``override_source`` (DNA replay passes the recorded text), ``inspect.getsource``
    (for a lambda, the lines of the statement that holds it), ``fn.__dna_source__``, and a stub
    function that raises ``RuntimeError('source unavailable')``.

    Args:
        fn: The handler, predicate or any other callable.
        override_source: Text to use as is, when given.

    Returns:
        The source text; never raises.
    """
    if isinstance(override_source, str):
        return override_source
    try:
        if inspect.isfunction(fn) and fn.__name__ == "<lambda>":
            return _statement_source(fn)
        return inspect.getsource(fn)  # type: ignore[arg-type]
    # getsource reads, tokenises and (for lambdas) parses files: besides the documented OSError and
    # TypeError, a stale or odd file can fail in other ways. Capture is best effort: any failure means
    # "no source here".
    except Exception:
        pass
    recorded = getattr(fn, "__dna_source__", None)
    if isinstance(recorded, str) and recorded:
        return recorded
    return source_stub(fn)


def _statement_source(fn: types.FunctionType) -> str:
    """The whole statement holding a lambda, which may start lines before the lambda itself."""
    lines, _ = inspect.findsource(fn)
    line = fn.__code__.co_firstlineno
    best: tuple[int, int] | None = None
    for node in ast.walk(ast.parse("".join(lines))):
        if not isinstance(node, ast.stmt) or node.end_lineno is None:
            continue
        decorators = getattr(node, "decorator_list", [])
        start = min([node.lineno, *(d.lineno for d in decorators)])
        if start <= line <= node.end_lineno and (best is None or node.end_lineno - start < best[1] - best[0]):
            best = (start, node.end_lineno)
    if best is None:
        return inspect.getsource(fn)
    return "".join(lines[best[0] - 1 : best[1]])


def source_stub(fn: object) -> str:
    """The stand-in source of a handler whose source cannot be read: it raises when called."""
    name = handler_name(fn)
    if not name.isidentifier() or keyword.iskeyword(name):
        name = _STUB_FALLBACK_NAME
    return f"async def {name}(*args, **kwargs):\n{SOURCE_UNAVAILABLE_BODY}"


def dna_name(obj: object) -> str | None:
    """``"module:qualname"`` of a class or function, else its ``__name__``, else ``None``.

    DNA records name models (``model``) and the ``run_while``/``when_data`` callables this way.
    """
    if obj is None:
        return None
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if (
        isinstance(module, str)
        and isinstance(qualname, str)
        and (inspect.isclass(obj) or inspect.isroutine(obj))
    ):
        return f"{module}:{qualname}"
    name = getattr(obj, "__name__", None)
    return name if isinstance(name, str) else None
