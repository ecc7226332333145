"""Handler source text as DNA carries it: finding the definition, rewriting imports, reading names.

What belongs here: pure functions over source strings, shared by export (which scans the names a
handler uses) and replay (which executes the definition). Nothing here executes code, imports a
module or touches a client.

- A DNA ``source`` holds the decorator lines too (client spec §10.1). Replay keeps the text from the
  ``def`` line of ``fn_name`` on, which drops the decorators, and removes that line's indentation.
- DNA exported by Summoner 1.3 imports ``summoner.*`` modules. Every such import is rewritten to
  ``summoner_client.*`` before it runs, in context import lines and inside handler sources alike
  **[D-24]**: rewriting always, not only on failure, keeps the two packages' objects from mixing.
"""

from __future__ import annotations

import ast
import re

from summoner_client.client._source import SOURCE_UNAVAILABLE_BODY

__all__ = [
    "find_definition",
    "first_def_name",
    "import_modules",
    "is_source_stub",
    "names_in_definition",
    "rewrite_summoner_imports",
]

_FIRST_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(", re.MULTILINE)
_STUB = re.compile(
    r"\A\s*async def [A-Za-z_]\w*\(\*args, \*\*kwargs\):\s*"
    + re.escape(SOURCE_UNAVAILABLE_BODY.strip())
    + r"\s*\Z"
)


def find_definition(source: str, fn_name: str) -> str | None:
    """The text of ``fn_name``'s definition, from its ``def`` line on, dedented by that line's indent.

    Only lines that start with that indent lose it, so text inside a multi-line string at a smaller
    indent is kept as written (``textwrap.dedent`` would refuse to dedent at all).

    Returns:
        ``None`` when no line of ``source`` defines ``fn_name`` (``def`` or ``async def``).
    """
    pattern = re.compile(rf"^([ \t]*)(?:async[ \t]+)?def[ \t]+{re.escape(fn_name)}[ \t]*\(", re.MULTILINE)
    match = pattern.search(source)
    if match is None:
        return None
    indent = match.group(1)
    lines = source[match.start() :].splitlines(keepends=True)
    return "".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)


def first_def_name(source: str) -> str | None:
    """The name of the first function ``source`` defines; old DNA without ``fn_name`` relies on it."""
    match = _FIRST_DEF.search(source)
    return match.group(1) if match else None


def is_source_stub(source: str) -> bool:
    """Whether ``source`` is the stand-in export writes for a handler whose source was unreadable."""
    return _STUB.match(source) is not None


def _is_summoner(module: str | None) -> bool:
    return module is not None and (module == "summoner" or module.startswith("summoner."))


def _renamed(module: str) -> str:
    return "summoner_client" + module[len("summoner") :]


def _rewritten(node: ast.Import | ast.ImportFrom) -> str | None:
    """The replacement text of one import statement, or ``None`` when it names no ``summoner`` module."""
    if isinstance(node, ast.ImportFrom):
        if node.level or not _is_summoner(node.module):
            return None
        assert node.module is not None
        return ast.unparse(ast.ImportFrom(module=_renamed(node.module), names=node.names, level=0))
    if not any(_is_summoner(alias.name) for alias in node.names):
        return None
    parts: list[str] = []
    for alias in node.names:
        if not _is_summoner(alias.name):
            parts.append(ast.unparse(ast.Import(names=[alias])))
        elif alias.asname:
            parts.append(f"import {_renamed(alias.name)} as {alias.asname}")
        else:
            # ``import summoner.x`` binds the name ``summoner``; code then says ``summoner.x.y``. Bind
            # that name to our package, whose submodule the first statement has just imported.
            parts.extend((f"import {_renamed(alias.name)}", "import summoner_client as summoner"))
    return "; ".join(parts)


def rewrite_summoner_imports(text: str) -> str:
    """Rewrite every import of ``summoner`` or ``summoner.*`` in ``text`` to ``summoner_client``.

    Only import statements change; the rest of the text is kept byte for byte. Text that does not
    parse is returned unchanged, so executing it fails with Python's own ``SyntaxError``.
    """
    if "summoner" not in text:
        return text
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col: int) -> int:
        # ast columns count UTF-8 bytes; convert to a character offset within the line.
        line = lines[lineno - 1]
        return starts[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    edits: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and (new := _rewritten(node)) is not None:
            assert node.end_lineno is not None
            assert node.end_col_offset is not None
            edits.append(
                (offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset), new)
            )
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def import_modules(line: str) -> list[str] | None:
    """The modules an import line imports, or ``None`` when the line is anything but imports.

    Context ``imports`` are meant to be import statements only; replay refuses other code there.
    """
    try:
        tree = ast.parse(line)
    except SyntaxError:
        return None
    modules: list[str] = []
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            modules.extend(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            modules.append(statement.module)
        else:
            return None
    return modules or None


def names_in_definition(text: str) -> set[str]:
    """Every bare name a definition's text uses, names inside string annotations included.

    Locals are included too; export keeps only the names bound in the function's globals. Text that
    does not parse gives no names (the code object's names still cover the body).
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    names: set[str] = set()
    annotations: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            annotations.append(node.returns)
    for annotation in annotations:
        for part in ast.walk(annotation):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                names |= _names_in_expression(part.value)
    return names


def _names_in_expression(text: str) -> set[str]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
