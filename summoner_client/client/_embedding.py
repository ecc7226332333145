"""Embedding conveniences of ``SummonerClient`` (spec §5.1, §8.9, §10.1): ``start``/``stop``/``async with``,
``wait_stopped``, ``start_in_thread``, ``dna`` and the two test-harness halves of a session.

A mixin: everything here is a thin layer over the lifecycle in ``client`` (``run_client``, the intents,
the session context), which it reaches through the attributes declared below.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

from summoner_client.client.outbox import PublishQueue
from summoner_client.client.registry import HandlerRegistry
from summoner_client.client.session import Session, SessionContext
from summoner_client.config.client import ClientConfig
from summoner_client.protocol.process import ClientIntent

if TYPE_CHECKING:
    from summoner_client.client.client import SummonerClient
    from summoner_client.dna.export import DnaSource
    from summoner_client.threads import ClientThread

__all__ = ["EmbeddingMixin"]


class EmbeddingMixin:
    """``start``/``stop``/``async with``, threads, DNA and the harness loops; ``SummonerClient`` uses it."""

    _run_task: asyncio.Task[None] | None
    _connected: asyncio.Future[None] | None
    _config: ClientConfig | None
    _publish: PublishQueue
    _registry: HandlerRegistry
    _last_session: Session | None
    _session_stop: asyncio.Event | None
    _run_host: str
    _run_port: int

    if TYPE_CHECKING:

        async def run_client(
            self,
            host: str = ...,
            port: int = ...,
            *,
            config_path: str | None = ...,
            config_dict: dict[str, Any] | None = ...,
        ) -> None: ...

        def _request(self, intent: ClientIntent) -> None: ...

        def _apply_config(
            self, host: str, port: int, config_path: Any, config_dict: Any
        ) -> tuple[str, int]: ...

        def _session_context(self) -> SessionContext: ...

        def initialize(self) -> None: ...

    # ------------------------------------------------------------------ embedding (spec §8.9)

    async def start(
        self,
        host: str = "127.0.0.1",
        port: int = 8888,
        *,
        config_path: str | None = None,
        config_dict: dict[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the spec's start(timeout=...)
    ) -> None:
        """Run the client as a task and return once the first session is connected.

        Raises:
            RuntimeError: The client is already running.
            TimeoutError: No connection within ``timeout`` (the client keeps retrying until ``stop()``).
            Exception: The run ended before connecting: a configuration or strict-mode error.
        """
        if self._run_task is not None and not self._run_task.done():
            raise RuntimeError("SummonerClient is already running")
        loop = asyncio.get_running_loop()
        self._connected = loop.create_future()
        task = self._run_task = loop.create_task(
            self.run_client(host, port, config_path=config_path, config_dict=config_dict)
        )
        done, _ = await asyncio.wait(
            {self._connected, task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if task in done:
            self._run_task = None  # its outcome is reported here, so stop() does not report it again
            task.result()
        elif not done:
            raise TimeoutError(f"no connection to {host}:{port} within {timeout}s")

    async def stop(self) -> None:
        """Quit and wait until the client task has finished; idempotent.

        Raises:
            Exception: The error that ended the run (strict mode, spec §12.7), once.
        """
        task = self._run_task
        if task is None:
            return
        if not task.done():
            self._request(ClientIntent.QUIT)
        try:
            await asyncio.shield(task)
        finally:
            self._run_task = None

    async def wait_stopped(self) -> None:
        """Wait until a run started with :meth:`start` ends on its own (quit, abort, retries
        exhausted), without asking it to stop; returns at once when no run is active.

        Errors of the run are not raised here: :meth:`stop` raises them, so they surface once.
        """
        task = self._run_task
        if task is not None:
            await asyncio.wait({task})

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def start_in_thread(
        self,
        host: str = "127.0.0.1",
        port: int = 8888,
        *,
        config_path: str | None = None,
        config_dict: dict[str, Any] | None = None,
    ) -> ClientThread:
        """Run this client on a thread of its own, with its own event loop; return the handle.

        The handle publishes, submits coroutines and stops the client from any thread
        (see :class:`summoner_client.threads.ClientThread`).
        """
        from summoner_client.threads import ClientThread  # noqa: PLC0415 - threads imports the client

        client = cast("SummonerClient", self)
        return ClientThread(client, host, port, config_path=config_path, config_dict=config_dict).start()

    def dna(self, include_context: bool = False) -> str:
        """This client's handlers as DNA: a JSON array (client spec §10.1).

        Args:
            include_context: Add the ``__context__`` entry (imports, globals, recipes) that
                ``ClientTranslation`` needs to rebuild the handlers elsewhere.
        """
        from summoner_client.dna.export import dna  # noqa: PLC0415 - dna imports the client package

        return dna(cast("DnaSource", self), include_context)

    # ------------------------------------------------------------------ test harness halves (spec §5.1)

    async def message_receiver_loop(self, reader: asyncio.StreamReader, stop_event: asyncio.Event) -> None:
        """Run the reader, the inbound pipeline and the bridge until ``stop_event`` is set.

        Raises:
            ServerDisconnected: At EOF.
        """
        await self._harness_session(stop_event, reader=reader).run()

    async def message_sender_loop(self, writer: asyncio.StreamWriter, stop_event: asyncio.Event) -> None:
        """Run dispatcher, senders, scheduler, workers, publisher and writer until ``stop_event`` is set."""
        await self._harness_session(stop_event, writer=writer).run()

    def _harness_session(self, stop: asyncio.Event, *, reader: Any = None, writer: Any = None) -> Session:
        # The two halves started with the same stop event share one event bridge, as in a session.
        if self._config is None:
            self._apply_config(self._run_host, self._run_port, None, None)
        if self._publish.attached_loop is None:
            self._publish.attach(asyncio.get_running_loop())
        self.initialize()  # compile arrow patterns and bind, as run() does
        shared = self._last_session if self._last_session is not None and self._session_stop is stop else None
        session = Session(self._session_context(), reader, writer, stop)
        if shared is not None:
            session.share_bridge(shared)
        self._last_session, self._session_stop = session, stop
        return session
