"""Agents for the DNA tests, written to real files so their source is readable (not a test module).

An agent script is the realistic input of DNA export: a module whose handlers close over module
globals. ``AgentFiles.load`` writes one under ``tmp_path`` and imports it under a unique name.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import textwrap
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SANDBOX_PREFIXES = ("summoner_translation_", "summoner_merge_")

EVERY_KIND = """
import asyncio
from collections import OrderedDict as OD
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel

from summoner_client.client import SummonerClient
from summoner_client.protocol.process import Action, Direction, Event, Move, Node
from summoner_client.protocol.triggers import load_triggers

agent = SummonerClient("every-kind")
bot = agent
other = SummonerClient("other")
Trigger = load_triggers(text="ok\\nerror\\n")
LIMIT = 3
NAMES = ["a", "b"]
lock = asyncio.Lock()
home = Path("/tmp/dna-home")
states = {Node("B"), Node("A")}
agent.flow().activate()
agent.flow().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")


class Ping(BaseModel):
    n: int


def keep_running() -> bool:
    return LIMIT > 0


def wanted(data: Any) -> bool:
    return data is not None


@agent.hook(Direction.RECEIVE, priority=2)
async def tag(payload: Any) -> Any:
    return {**payload, "tagged": LIMIT} if isinstance(payload, dict) else payload


@agent.send("chat")
async def hello() -> Any:
    return {"from": bot.name, "limit": LIMIT, "order": list(OD(a=1, b=2))}


@agent.upload_states()
async def upload(payload: Any) -> Any:
    return sorted(str(node) for node in states) + [payload.get("x") if isinstance(payload, dict) else None]


@agent.download_states()
async def download(possible: Any) -> Any:
    return {"seen": len(possible), "limit": LIMIT}


@agent.receive("A --[ ok ]--> B", priority=(1,))
async def on_ok(msg: Any) -> Optional[Event]:
    if isinstance(msg, dict) and msg.get("ok"):
        return Move(Trigger.ok, data=msg.get("data"))
    return None


@agent.receive("chat")
async def on_chat(msg: Any) -> Any:
    async with lock:
        return {"home": str(home), "names": NAMES, "agent": agent.name, "other": other.name}


@agent.receive("ping", model=Ping)
async def on_ping(msg: Any) -> Any:
    return msg["content"].n * LIMIT


@agent.send("many", multi=True)
async def many() -> list[Any]:
    return [1, 2, LIMIT]


@agent.send(
    "A --[ ok ]--> B", on_triggers={Trigger.ok}, use_data=True, data_mode="snapshot", when_data=wanted
)
async def react(data: Any) -> Any:
    return {"got": data}


@agent.send("B", on_actions={Action.MOVE, Action.TEST}, every=2.5)
async def timed_reactive() -> Any:
    return "moved"


@agent.send("tick", every=0.5, run_while=keep_running)
async def tick() -> Any:
    return "tick"


@agent.send("forever", every=1, run_while=True)
async def forever() -> Any:
    return "forever"


@agent.hook(Direction.SEND)
async def stamp(payload: Any) -> Any:
    return {"payload": payload, "limit": LIMIT}
"""


class AgentFiles:
    """Writes agent modules under a directory and imports them; forgets them at teardown."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.names: list[str] = []

    def load(self, code: str, name: str | None = None) -> types.ModuleType:
        """Write ``code`` to ``<name>.py`` and import it as module ``name`` (unique by default)."""
        name = name or f"dna_agent_{uuid.uuid4().hex[:10]}"
        path = self.directory / f"{name}.py"
        path.write_text(textwrap.dedent(code), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        self.names.append(name)
        spec.loader.exec_module(module)
        return module

    def forget(self) -> None:
        for name in self.names:
            sys.modules.pop(name, None)


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[AgentFiles]:
    """Agent modules for one test; they and every sandbox module created meanwhile are dropped after."""
    before = set(sys.modules)
    files = AgentFiles(tmp_path)
    yield files
    files.forget()
    for name in set(sys.modules) - before:
        if name.startswith(SANDBOX_PREFIXES):
            del sys.modules[name]


class LogCapture:
    """Collects records of named (non-propagating) client loggers."""

    def __init__(self) -> None:
        self.records: list[logging.LogRecord] = []
        self.handler = logging.Handler(logging.DEBUG)
        self.handler.emit = self.records.append  # type: ignore[method-assign]
        self.loggers: list[logging.Logger] = []

    def watch(self, *names: str) -> LogCapture:
        for name in names:
            logger = logging.getLogger(name)
            logger.addHandler(self.handler)
            self.loggers.append(logger)
        return self

    def messages(self, level: int = logging.WARNING) -> list[str]:
        return [record.getMessage() for record in self.records if record.levelno >= level]

    def close(self) -> None:
        for logger in self.loggers:
            logger.removeHandler(self.handler)


@pytest.fixture
def client_logs() -> Iterator[LogCapture]:
    """``client_logs.watch("name")`` before constructing a client named ``name``."""
    capture = LogCapture()
    yield capture
    capture.close()


def call(coroutine: Any) -> Any:
    """Run one handler call to completion on a fresh loop (handlers are called directly in these tests)."""
    import asyncio

    return asyncio.run(coroutine)
