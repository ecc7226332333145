"""``SummonerClient``: the lifecycle around sessions (spec §2, §8, §12.2, §12.9).

What belongs here: the lazy loop (§2.2), configuration application, ``run`` / ``run_client`` /
``handle_session``, the intents (quit, travel, shutdown), reconnection through ``reconnect`` and
signals. Decorators and registry views come from ``_surface``; publishing from ``_publishing``;
``start``/``stop``/``async with``, threads, DNA and the harness loops from ``_embedding``; opening a
connection (TLS, AUTH) from ``_connect``; one connection's tasks live in ``session``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar, Final

from pydantic import TypeAdapter

from summoner_client.client import _defaults as defaults
from summoner_client.client._adapters import AlreadyRunningError, Reconnector, current_loop
from summoner_client.client._connect import open_relay_connection
from summoner_client.client._embedding import EmbeddingMixin
from summoner_client.client._plan import PlanCache
from summoner_client.client._publishing import PublishingMixin
from summoner_client.client._stats import ClientStats
from summoner_client.client._surface import RegistrationSurface
from summoner_client.client._timed import TimedSenderRuntime
from summoner_client.client.outbox import PublishQueue
from summoner_client.client.reconnect import ReconnectPolicy, ReconnectSchedule, reconnect_loop
from summoner_client.client.senders import WIRE_VERSION, SendInvocation
from summoner_client.client.session import Session, SessionContext
from summoner_client.client.status import ClientStatus
from summoner_client.config.client import ClientConfig
from summoner_client.config.loading import load_client_config
from summoner_client.errors import ServerDisconnected
from summoner_client.logger import configure_logger
from summoner_client.protocol.process import ClientIntent

__all__ = ["SendInvocation", "ServerDisconnected", "SummonerClient", "TimedSenderRuntime"]

_RUNNING: Final = (ClientStatus.CONNECTING, ClientStatus.CONNECTED, ClientStatus.BACKING_OFF)


class SummonerClient(RegistrationSurface, PublishingMixin, EmbeddingMixin, defaults.ClientDefaults):
    """An agent: handlers registered with decorators, run against a relay with reconnection.

    Construction does no work [D-16]; ``run()`` is the blocking entry point and ``start()``/``stop()``
    (or ``async with``) embed the client in a loop the caller owns. Both share ``run_client``.
    """

    core_version: ClassVar[str] = WIRE_VERSION

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self._loop_owned = False
        self.host: str | None = None
        self.port: int | None = None
        self.default_host: str | None = None
        self.default_port: int | None = None
        self.max_bytes_per_line: int | None = None
        self.read_timeout_seconds: float | None = None
        self.max_concurrent_workers: int | None = None
        self.send_queue_maxsize: int | None = None
        self.event_bridge_maxsize: int | None = None
        self.batch_drain: bool | None = None
        self.retry_delay_seconds: float | None = None
        self.primary_retry_limit: int | None = None
        self.default_retry_limit: int | None = None
        self.max_consecutive_worker_errors: int | None = None
        self._config: ClientConfig | None = None
        self._stats = ClientStats()
        self._status = ClientStatus.NEW
        self._intent: ClientIntent | None = None
        self._active = False  # run_client is running (on self._loop)
        self._session: Session | None = None  # the live session, if any
        self._last_session: Session | None = None  # for event_bridge / send_queue after it ended
        self._session_stop: asyncio.Event | None = None  # stops the live session
        self._wake: asyncio.Event | None = None  # cuts a back-off sleep short
        self._connect_task: asyncio.Future[Any] | None = None
        self._run_task: asyncio.Task[None] | None = None  # start()'s task, or run()'s main task
        self._connected: asyncio.Future[None] | None = None  # resolved at the first connect after start()
        self._publish = PublishQueue(defaults.DEFAULT_MAX_PUBLISH_QUEUE)
        self._publish_models: dict[object, TypeAdapter[Any]] = {}
        self._fatal: BaseException | None = None
        self._shutdowns = 0
        self._signals: list[signal.Signals] = []
        self._run_host = "127.0.0.1"
        self._run_port = 8888
        self._plans = PlanCache(self._registry, self._flow, self.logger)  # pure: reads the registry lazily
        self._disabled: set[str] = set()  # senders disabled by the worker-error rule, per run

    # ------------------------------------------------------------------ loop and read-only state

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The client's loop, created on first read and not installed as current (spec §2.2)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._loop_owned = True
        return self._loop

    @loop.setter
    def loop(self, value: asyncio.AbstractEventLoop) -> None:
        self._loop = value
        self._loop_owned = False

    @property
    def status(self) -> ClientStatus:
        """The lifecycle state; changes only on the client loop, safe to read anywhere."""
        return self._status

    @property
    def stats(self) -> dict[str, int]:
        """A snapshot of the cumulative counters (spec §12.6)."""
        return self._stats.snapshot()

    @property
    def event_bridge(self) -> asyncio.Queue[Any] | None:
        """The current (or last) session's event bridge; None before the first session."""
        session = self._session or self._last_session
        return None if session is None else session.event_bridge

    @property
    def send_queue(self) -> asyncio.Queue[Any] | None:
        """The current (or last) session's send queue; None before the first session."""
        session = self._session or self._last_session
        return None if session is None else session.send_queue

    # ------------------------------------------------------------------ configuration (spec §7)

    def _apply_config(self, host: str, port: int, config_path: Any, config_dict: Any) -> tuple[str, int]:
        """Load, validate and apply a configuration (spec §7.1); return the target it resolves.

        The ``logger`` section is applied first, on every path that applies a configuration (``run``,
        ``run_client``, ``start``), so later warnings and errors use the configured handlers.
        """
        if config_dict is not None and not isinstance(config_dict, dict):
            raise TypeError(
                f"SummonerClient.run: config_dict must be a dict or None, got {type(config_dict).__name__}"
            )
        loaded = load_client_config(config_path, dict(config_dict) if config_dict is not None else None)
        cfg = loaded.config
        configure_logger(self.logger, cfg.logger)  # applied first: later warnings use its handlers
        for issue in loaded.warnings:
            self.logger.warning(issue.message)
        hp = cfg.hyper_parameters
        host = cfg.host if cfg.host is not None else host
        port = cfg.port if cfg.port is not None else port
        self.default_host = hp.reconnection.default_host or host
        self.default_port = hp.reconnection.default_port or port
        self.max_bytes_per_line = hp.receiver.max_bytes_per_line
        self.read_timeout_seconds = hp.receiver.read_timeout_seconds
        self.max_concurrent_workers = hp.sender.concurrency_limit
        self.send_queue_maxsize = hp.sender.queue_maxsize
        self.event_bridge_maxsize = hp.sender.event_bridge_maxsize
        self.batch_drain = hp.sender.batch_drain
        self.retry_delay_seconds = hp.reconnection.retry_delay_seconds
        self.primary_retry_limit = hp.reconnection.primary_retry_limit
        self.default_retry_limit = hp.reconnection.default_retry_limit
        self.max_consecutive_worker_errors = hp.sender.max_worker_errors
        self._registry.strict = hp.lifecycle.strict
        self._publish.maxsize = hp.sender.max_publish_queue
        self._config = cfg
        return host, port

    # ------------------------------------------------------------------ run (spec §8.1)

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 8888,
        config_path: str | None = None,
        config_dict: dict[str, Any] | None = None,
    ) -> None:
        """Run the client on its own loop until it stops; blocking. Safe on any thread.

        Raises:
            RuntimeError: A loop is already running in this thread.
            ConfigError: The configuration is invalid (raised before anything connects).
        """
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop()
            raise AlreadyRunningError
        host, port = self._apply_config(host, port, config_path, config_dict)
        self.initialize()
        loop = self.loop
        previous = current_loop()
        asyncio.set_event_loop(loop)
        try:
            self.set_termination_signals()
            self._run_task = loop.create_task(self._run_configured(host, port))
            loop.run_until_complete(self._run_task)
        except (KeyboardInterrupt, asyncio.CancelledError):
            pass  # Ctrl-C and the forced second shutdown end the run quietly
        finally:
            self._run_task = None
            self._cleanup_run(loop, previous)
        self._raise_fatal()

    def _cleanup_run(
        self, loop: asyncio.AbstractEventLoop, previous: asyncio.AbstractEventLoop | None
    ) -> None:
        budget = self._config.hyper_parameters.lifecycle.shutdown_timeout_secs if self._config else 5.0
        try:
            leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in leftover:
                task.cancel()  # user tasks are cancelled here, not at the first signal [D-34]
            if leftover:
                loop.run_until_complete(asyncio.wait(leftover, timeout=budget))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            for sig in self._signals:
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
            self._signals.clear()
            asyncio.set_event_loop(previous)
            if self._loop_owned:
                loop.close()
                self._loop = None
                self._loop_owned = False
            self._intent = None
            self._shutdowns = 0
            self.logger.info("Client exited cleanly.")

    async def run_client(
        self,
        host: str = "127.0.0.1",
        port: int = 8888,
        *,
        config_path: str | None = None,
        config_dict: dict[str, Any] | None = None,
    ) -> None:
        """Run the reconnecting client on the running loop until it stops (spec §8.2).

        Raises:
            RuntimeError: The client is bound to another loop, or already running.
            ConfigError: The configuration is invalid (raised before anything connects).
            Exception: In strict mode, the first user exception, re-raised after cleanup (spec §12.7).
        """
        if config_path is not None or config_dict is not None or self._config is None:
            host, port = self._apply_config(host, port, config_path, config_dict)
        await self._run_configured(host, port)
        self._raise_fatal()

    def _raise_fatal(self) -> None:
        # The strict-mode error of the run that just ended is raised once, by whoever ran it.
        if self._fatal is not None:
            fatal, self._fatal = self._fatal, None
            raise fatal

    async def _run_configured(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("SummonerClient is bound to a different event loop")
        if self._active:
            raise RuntimeError("SummonerClient is already running")
        assert self._config is not None
        self._active, self._loop_thread, self._fatal = True, threading.get_ident(), None
        self._wake = asyncio.Event()
        self._publish.attach(loop)
        try:
            self._flow.compile_arrow_patterns()
            await self._wait_for_registration()
            self._run_host, self._run_port = host, port
            self.host, self.port = self.host or host, self.port or port
            rc = self._config.hyper_parameters.reconnection
            policy = ReconnectPolicy(
                rc.retry_delay_seconds,
                rc.primary_retry_limit,
                rc.default_retry_limit,
                self.default_host or host,
                self.default_port or port,
            )
            self._disabled = set()
            await reconnect_loop(Reconnector(self), ReconnectSchedule(policy), self.logger)
        finally:
            await self._end_run()

    async def _end_run(self) -> None:
        dropped = self._publish.clear()
        if dropped:
            self._stats.publish_dropped += dropped
            self.logger.warning("%d published message(s) were not sent", dropped)
        await self._finish_extensions()
        self._publish.detach()
        self._active, self._loop_thread = False, None
        self._drain_deferred()  # what a cancelled drain left: changes apply now, coroutines wait
        self._session_stop = self._wake = None
        self._status = ClientStatus.STOPPED
        if self._run_task is not asyncio.current_task():
            self._intent = None  # run()'s own cleanup clears it after the loop stops
        if self._connected is not None and not self._connected.done():
            self._connected.set_result(None)

    async def _finish_extensions(self) -> None:
        # Registrations scheduled during the run finish within the shutdown budget, then are cancelled.
        loop = asyncio.get_running_loop()
        budget = self._config.hyper_parameters.lifecycle.shutdown_timeout_secs if self._config else 5.0
        deadline = loop.time() + budget
        while self._extension_tasks:  # a batch may schedule more: loop until none is left
            pending = set(self._extension_tasks)
            self._extension_tasks.clear()
            _, late = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
            for task in late:
                task.cancel()
            if late:
                self.logger.warning("Shutdown timeout: cancelling %d registration task(s)", len(late))
                await asyncio.wait(late)
            for task in pending:
                error = None if task.cancelled() else task.exception()
                if isinstance(error, Exception):
                    self._deferred_failed(error)

    # ------------------------------------------------------------------ one session (spec §8.3)

    async def handle_session(self, host: str = "127.0.0.1", port: int = 8888) -> None:
        """Open one connection and serve it until it ends (spec §8.3).

        Raises:
            ServerDisconnected: The relay closed the connection (EOF).
            OSError: Connecting failed or the connection broke.
        """
        await self._serve_once(host, port, lambda: None)

    async def _serve_once(
        self, host: str, port: int, on_connected: Callable[[], None]
    ) -> ClientIntent | None:
        self._status = ClientStatus.CONNECTING
        reader, writer = await self._connect(host, port)
        if reader is None or writer is None:
            return self._intent  # quit arrived while connecting
        on_connected()
        self._stats.connects += 1
        self.logger.info("Connected to server @(host=%s, port=%s)", host, port)
        stop = self._session_stop = asyncio.Event()
        if self._intent is not None:
            stop.set()  # quit or travel arrived while connecting: end at once, gracefully
        assert self._config is not None
        session = Session(self._session_context(), reader, writer, stop)
        self._session = self._last_session = session
        self._status = ClientStatus.CONNECTED if self._intent is None else ClientStatus.STOPPING
        if self._connected is not None and not self._connected.done():
            self._connected.set_result(None)
        try:
            await session.run()
        finally:
            self._session = self._session_stop = None
            self._stats.disconnects += 1
            self.logger.info("Disconnected from server.")
            if self._intent is None:
                self._status = ClientStatus.BACKING_OFF
        return self._intent

    async def _connect(self, host: str, port: int) -> tuple[Any, Any]:
        assert self._config is not None
        opening = asyncio.ensure_future(open_relay_connection(host, port, self._config.security))
        self._connect_task = opening
        try:
            reader, writer = await opening
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if (task is not None and task.cancelling()) or self._intent is None:
                raise
            return None, None  # cancelled by quit()/travel_to(): stop without another attempt
        finally:
            self._connect_task = None
        return reader, writer

    def _session_context(self) -> SessionContext:
        assert self._config is not None
        return SessionContext(
            config=self._config,
            plans=self._plans,
            flow=self._flow,
            stats=self._stats,
            logger=self.logger,
            publish_queue=self._publish,
            disabled=self._disabled,
            abort=self._abort,
            fatal=self._fail,
        )

    def _abort(self) -> None:
        self._request(ClientIntent.ABORT)

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
        self._request(ClientIntent.ABORT)

    def _deferred_failed(self, exc: Exception) -> None:
        super()._deferred_failed(exc)
        if self._registry.strict and self._active:
            self._fail(exc)  # strict mode: a registration error ends the run like any other (§12.7)

    # ------------------------------------------------------------------ intents (spec §8.4-§8.7)

    def _request(self, intent: ClientIntent) -> None:
        # On the client loop only. QUIT is sticky: nothing but the end of the run clears it [D-7].
        if self._intent is ClientIntent.QUIT or (
            self._intent is ClientIntent.ABORT and intent is ClientIntent.TRAVEL
        ):
            pass
        else:
            self._intent = intent
        if intent is not ClientIntent.TRAVEL and self._status in _RUNNING:
            self._status = ClientStatus.STOPPING
        if self._session_stop is not None:
            self._session_stop.set()
        if self._wake is not None:
            self._wake.set()
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()

    async def quit(self) -> None:
        """End the session gracefully and stop the client; sticky until the run returns (spec §8.5)."""
        self._request(ClientIntent.QUIT)

    async def travel_to(self, host: str | None, port: int | None) -> None:
        """Move to another relay: end this session and connect there as a fresh Primary stage (§8.4)."""
        self.host = host if host is not None else self._run_host
        self.port = port if port is not None else self._run_port
        self._request(ClientIntent.TRAVEL)

    def shutdown(self) -> None:
        """Signal handler: graceful end on the first call, cancel everything on the second. Thread-safe."""
        loop, thread = self._loop, self._loop_thread
        if loop is not None and thread is not None and thread != threading.get_ident():
            loop.call_soon_threadsafe(self.shutdown)
            return
        self.logger.info("Client is shutting down...")
        self._shutdowns += 1
        if self._shutdowns > 1 and self._run_task is not None:
            self._run_task.cancel()
            return
        self._request(ClientIntent.QUIT)

    def set_termination_signals(self) -> None:
        """Install SIGINT/SIGTERM handlers that call ``shutdown`` (main thread only) [D-33]."""
        if threading.current_thread() is not threading.main_thread():
            self.logger.debug("Not on the main thread: no signal handlers installed")
            return
        loop = self.loop
        for sig in (signal.SIGINT, signal.SIGTERM):
            if sys.platform == "win32":  # pragma: no cover - POSIX CI
                signal.signal(sig, lambda *_: loop.call_soon_threadsafe(self.shutdown))
            else:
                loop.add_signal_handler(sig, self.shutdown)
                self._signals.append(sig)
