"""Small text and JSON helpers the original exported from ``summoner.utils``. Pure: no I/O.

What belongs here: ``format_addr`` (a peer address as ``host:port``), the trailing-newline helpers,
``is_jsonable`` and ``fully_recover_json``. They are kept for agents that import them;
:mod:`summoner_client.utils` re-exports them. The receive path never uses ``fully_recover_json``: it
decodes each layer exactly once **[D-9]**.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = [
    "ensure_trailing_newline",
    "format_addr",
    "fully_recover_json",
    "is_jsonable",
    "remove_last_newline",
]

_ADDRESS_PARTS = 2


def format_addr(addr: object) -> str:
    """A socket address as text: ``("127.0.0.1", 8888)`` gives ``"127.0.0.1:8888"``.

    Tuples and lists of two or more items (IPv6 peer names have four) use their first two; anything
    else, a string included, is ``str(addr)``.
    """
    if isinstance(addr, tuple | list) and len(addr) >= _ADDRESS_PARTS:
        return f"{addr[0]}:{addr[1]}"
    return str(addr)


def remove_last_newline(text: str) -> str:
    """``text`` without its final ``"\\n"``, if it has one; only that one character is removed."""
    return text[:-1] if text.endswith("\n") else text


def ensure_trailing_newline(text: str) -> str:
    """``text`` ending with exactly the ``"\\n"`` it had, or with one added."""
    return text if text.endswith("\n") else text + "\n"


def is_jsonable(value: object) -> bool:
    """Whether ``value`` is plain JSON data the package's encoder (orjson) can write.

    Plain means built only from ``dict`` with ``str`` keys, ``list``, ``tuple``, ``str``, ``int``,
    ``float``, ``bool`` and ``None`` (subclasses included), as ``json.dumps`` would accept. Unlike the
    original's ``json.dumps`` test, integers beyond 64 bits and non-``str`` keys are refused, because
    orjson cannot write them; objects orjson writes natively but JSON lacks (dates, UUIDs, dataclasses)
    are refused too, as in the original.
    """
    try:
        orjson.dumps(value)  # refuses big ints, non-str keys and cycles (by depth)
    except orjson.JSONEncodeError:
        return False
    return _is_plain(value)


def _is_plain(value: object) -> bool:
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(_is_plain(item) for item in value.values())
    return False


def fully_recover_json(data: Any) -> Any:
    """Decode JSON strings recursively, at any depth, as the original's receive path did.

    A string that parses as JSON is replaced by its value, which is decoded again; dict values and list
    items are walked. Text that is not JSON stays as it is. Kept for callers: this package's receive
    path never calls it, because it changes user strings (``"true"`` becomes ``True``) **[D-9]**.
    """
    if isinstance(data, str):
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            return data
        return fully_recover_json(parsed)
    if isinstance(data, dict):
        return {key: fully_recover_json(value) for key, value in data.items()}
    if isinstance(data, list):
        return [fully_recover_json(item) for item in data]
    return data
