"""Shared handlers and builders for the HandlerRegistry tests (not a test module)."""

from __future__ import annotations

import logging
from typing import Any

from summoner_client.client.registry import HandlerRegistry
from summoner_client.protocol.flow import Flow
from summoner_client.protocol.triggers import Event, Signal

LOGGER_NAME = "tests.client.registry"
OK = Signal((0,), "ok")
ERROR = Signal((1,), "error")


def make_registry(*, active: bool = False, styled: bool = True, strict: bool = False) -> HandlerRegistry:
    """A registry over a fresh flow, active or not, with the usual arrow style when ``styled``."""
    flow = Flow()
    if active:
        flow.activate()
    if styled:
        flow.add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    return HandlerRegistry(flow, logging.getLogger(LOGGER_NAME), strict=strict)


def messages(caplog: Any, level: int) -> list[str]:
    """Messages the registry's logger emitted at exactly ``level``."""
    return [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME and r.levelno == level]


async def on_message(msg: Any) -> Event | None:
    return None


async def other_message(msg: Any) -> Event | None:
    return None


async def produce() -> Any:
    return "hello"


async def produce_many() -> list[Any]:
    return ["a", "b"]


async def consume(data: Any) -> Any:
    return data


async def hook(payload: Any) -> Any:
    return payload


async def other_hook(payload: Any) -> Any:
    return payload


async def upload(payload: Any) -> Any:
    return "A"


async def download(states: Any) -> None:
    return None
