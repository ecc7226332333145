"""Helpers shared by the client integration tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from summoner_client.client import SummonerClient
from summoner_client.server import RunningRelay, SummonerServer

FAST_CONFIG: dict[str, Any] = {
    "hyper_parameters": {
        "reconnection": {"retry_delay_seconds": 0.05, "primary_retry_limit": None},
        "lifecycle": {"shutdown_timeout_secs": 2},
    }
}


def fast_config(**sections: dict[str, Any]) -> dict[str, Any]:
    """FAST_CONFIG with extra ``hyper_parameters`` sections merged in."""
    hp = {key: dict(value) for key, value in FAST_CONFIG["hyper_parameters"].items()}
    for name, values in sections.items():
        hp.setdefault(name, {}).update(values)
    return {"hyper_parameters": hp}


def start_relay(backend: str, port: int = 0) -> RunningRelay:
    """Start a relay of ``backend`` ("rust" or "python") on loopback."""
    config = {"version": "python"} if backend == "python" else {}
    return SummonerServer("test-relay").start(host="127.0.0.1", port=port, config_dict=config)


class Clients:
    """Starts clients against the relay and stops every one of them at teardown."""

    def __init__(self, relay: RunningRelay) -> None:
        self.relay = relay
        self.started: list[SummonerClient] = []

    async def start(self, client: SummonerClient, config: dict[str, Any] | None = None) -> SummonerClient:
        await client.start(self.relay.host, self.relay.port, config_dict=config or FAST_CONFIG, timeout=5)
        self.started.append(client)
        await wait_members(self.relay, len(self.started))
        return client

    async def stop_all(self) -> None:
        for client in reversed(self.started):
            await asyncio.wait_for(client.stop(), 10)


async def wait_members(relay: RunningRelay, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until the relay counts ``count`` members.

    A client's ``start()`` returns when its TCP connect completed, which can be before the relay's
    accept loop has registered it; a line sent in that window reaches nobody. The relay's own member
    gauge is the observable that closes the window (polled, bounded: it has no event to await).
    """
    async with asyncio.timeout(timeout):
        while relay.stats().get("members", 0) < count:  # noqa: ASYNC110 - the relay exposes no event
            await asyncio.sleep(0.002)


async def wait_for(future: asyncio.Future[Any] | asyncio.Event | Any, timeout: float = 5.0) -> Any:  # noqa: ASYNC109
    """Await a future, an event's wait(), or a coroutine, with a bound."""
    if isinstance(future, asyncio.Event):
        return await asyncio.wait_for(future.wait(), timeout)
    return await asyncio.wait_for(future, timeout)


class Collector:
    """Collects values from handlers and lets a test await the n-th one."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []

    def add(self, item: Any) -> None:
        self.items.append(item)
        for count, waiter in list(self._waiters):
            if len(self.items) >= count and not waiter.done():
                waiter.set_result(None)

    async def wait(self, count: int, timeout: float = 5.0) -> list[Any]:  # noqa: ASYNC109
        if len(self.items) < count:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append((count, waiter))
            await asyncio.wait_for(waiter, timeout)
        return self.items


def relayed_payload(content: Any, addr: str = "10.0.0.1:1") -> bytes:
    """A line as a relay writes it: ``{"remote_addr", "content"}`` with a typed envelope as content."""
    import orjson

    from summoner_client.protocol.payload import wrap_with_types

    envelope = wrap_with_types(content, SummonerClient.core_version).rstrip("\n")
    return orjson.dumps({"remote_addr": addr, "content": envelope}) + b"\n"


def apply_config(client: SummonerClient, config: dict[str, Any] | None = None) -> None:
    """Apply a configuration without running, as ``run()`` does first (for the harness loops)."""
    client._apply_config("127.0.0.1", 8888, None, config or FAST_CONFIG)


async def settle(turns: int = 100) -> None:
    """Let the loop run ``turns`` rounds of ready callbacks while no time passes.

    Used only to show that something does *not* happen: when every input is already in place and
    nothing waits on a timer or a socket, work that could still progress does so within a few turns.
    """
    for _ in range(turns):
        await asyncio.sleep(0)


class LogRecorder(logging.Handler):
    """Records a logger's records, survives ``configure_logger`` (``_keep``), and lets a test await one."""

    _keep = True

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logging.DEBUG)
        self.logger = logger
        self.records: list[logging.LogRecord] = []
        self._loop = asyncio.get_running_loop()
        self._waiters: list[tuple[str, asyncio.Future[logging.LogRecord]]] = []
        logger.addHandler(self)
        if logger.level == logging.NOTSET or logger.level > logging.DEBUG:
            logger.setLevel(logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._loop.call_soon_threadsafe(self._wake, record)

    def _wake(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        for needle, waiter in list(self._waiters):
            if needle in text and not waiter.done():
                waiter.set_result(record)

    def messages(self, level: int | None = None) -> list[str]:
        """Every message so far, or those at exactly ``level``."""
        return [r.getMessage() for r in self.records if level is None or r.levelno == level]

    def count(self, needle: str) -> int:
        """How many messages so far contain ``needle``."""
        return sum(needle in message for message in self.messages())

    async def wait_for(self, needle: str, timeout: float = 5.0) -> logging.LogRecord:  # noqa: ASYNC109
        """Wait for a message containing ``needle`` (one logged already counts)."""
        for record in self.records:
            if needle in record.getMessage():
                return record
        waiter: asyncio.Future[logging.LogRecord] = self._loop.create_future()
        self._waiters.append((needle, waiter))
        return await asyncio.wait_for(waiter, timeout)

    def detach(self) -> None:
        self.logger.removeHandler(self)


class FakeWriter:
    """A stream writer for the harness loops: records lines; ``hold()`` makes ``drain`` block, like a peer
    that stopped reading, until ``release()``."""

    def __init__(self, on_write: Callable[[], None] | None = None) -> None:
        self.data = bytearray()
        self.lines = Collector()
        self.writes = 0
        self.closed = False
        self._on_write = on_write
        self._drained = asyncio.Event()
        self._drained.set()
        self.transport = self

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.data += data
        while b"\n" in self.data:
            line, _, rest = bytes(self.data).partition(b"\n")
            self.data = bytearray(rest)
            self.lines.add(line)
        if self._on_write is not None:
            self._on_write()

    async def drain(self) -> None:
        await self._drained.wait()

    def hold(self) -> None:
        self._drained.clear()

    def release(self) -> None:
        self._drained.set()

    def close(self) -> None:
        self.closed = True
        self._drained.set()

    async def wait_closed(self) -> None:
        return None

    def abort(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def content_of(line: bytes) -> Any:
    """The payload of a line we wrote (our envelope), decoded."""
    import orjson

    from summoner_client.protocol.payload import recover_with_types

    relayed = orjson.dumps({"remote_addr": "-", "content": line.decode()}).decode()
    return recover_with_types(relayed)["content"]


class RawServer:
    """A server the test controls: it hands each accepted connection to a script."""

    def __init__(self, script: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]) -> None:
        self._script = script
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            await self._script(reader, writer)
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port


async def hold_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A RawServer script: read and discard until the client closes."""
    while await reader.read(65536):
        pass


class Harness:
    """The two halves of a session (spec §5.1) on an in-memory reader and a ``FakeWriter``."""

    def __init__(self, client: SummonerClient, reader: Any = None, writer: Any = None) -> None:
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        if reader is not None:
            self.tasks.append(asyncio.create_task(client.message_receiver_loop(reader, self.stop)))
        if writer is not None:
            self.tasks.append(asyncio.create_task(client.message_sender_loop(writer, self.stop)))

    async def close(self, timeout: float = 10.0) -> list[Any]:  # noqa: ASYNC109
        """Set the stop event and return each half's outcome (None, or the exception it raised)."""
        self.stop.set()
        return list(await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), timeout))


class CountingReader(asyncio.StreamReader):
    """A StreamReader that counts ``read()`` calls: a paused reader makes no new call."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = Collector()

    async def read(self, n: int = -1) -> bytes:
        self.reads.add(n)
        return await super().read(n)
