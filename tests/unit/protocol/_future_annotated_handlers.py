"""Handlers whose annotations are strings (PEP 563), for the annotation checks in test_validation.

Each must-pass handler has a twin with the same name in test_validation.py, where the annotations are
evaluated eagerly; the spellings (``Union``, ``Optional``) are the ones real agents write.
"""

# ruff: noqa: UP007, UP045

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional, Union

from summoner_client.protocol.process import Node
from summoner_client.protocol.triggers import Event, Move


async def receive_union_str_dict(msg: Union[str, dict]) -> Optional[Event]:
    return None


async def receive_dict_any_to_move(msg: dict[str, Any]) -> Move:
    raise NotImplementedError


async def hook_union_str_dict(msg: Union[str, dict]) -> Optional[dict]:
    return None


async def hook_dict_str_str(msg: dict[str, str]) -> Union[dict, str, None]:
    return msg


async def send_optional_dict() -> Optional[dict]:
    return None


async def send_union_dict_str_none() -> Union[dict, str, None]:
    return None


async def send_dict_str_str() -> dict[str, str]:
    return {}


async def send_multi_list_dict() -> list[dict]:
    return []


async def send_multi_list_dict_any() -> list[dict[str, Any]]:
    return []


async def upload_union_none_to_list_str(payload: Union[dict, str, None]) -> list[str]:
    # Agents annotate ``list[str]`` and return nodes; type arguments are not checked.
    return [Node("A")]  # type: ignore[list-item]


async def upload_optional_dict_to_dict_str_str(payload: Optional[dict]) -> dict[str, str]:
    return {}


async def upload_any_to_list_node(payload: Any) -> list[Node]:
    return []


async def upload_any_to_state_map(payload: Any) -> dict[Optional[str], list[Node]]:
    return {}


async def download_list_node(states: list[Node]) -> None:
    return None


async def download_state_map(states: dict[Optional[str], list[Node]]) -> None:
    return None


async def download_dict_str_str(states: dict[str, str]) -> None:
    return None


async def receive_dict_to_int(msg: dict) -> int:
    return 0


def make_handler_naming_a_local_class() -> Callable[..., Any]:
    """A handler whose annotation names a class that the module's globals do not hold."""

    class LocalPayload(dict[str, Any]):
        pass

    async def handle_local(msg: LocalPayload) -> None:
        return None

    return handle_local
