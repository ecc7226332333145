"""Start a relay from Python: load the config, choose the backend, bind, serve, stop.

Thin on purpose (relay spec §5.3, §5.6): the relay itself is the native module
``summoner_client._relay`` or, only when the config says ``"version": "python"``, the
asyncio relay in ``python_relay``. A missing native module is an error that says so; it is
never silently replaced by the Python relay, as the original did.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from summoner_client.config.loading import load_relay_config
from summoner_client.config.relay import RelayConfig
from summoner_client.errors import ServerLaunchError

if TYPE_CHECKING:
    from summoner_client._relay import Relay as NativeRelay
    from summoner_client.server.python_relay.log_output import LogOutput

__all__ = ["RunningRelay", "SummonerServer"]

_log = logging.getLogger(__name__)

DEFAULT_NAME = "relay"
_TERMINATION_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Backend(Protocol):
    """What both relays offer the launcher: bind, a blocking serve, and a thread-safe stop."""

    label: str

    def bind(self) -> tuple[str, int]: ...
    def serve(self) -> None: ...
    def stop(self) -> None: ...
    def stats(self) -> dict[str, int]: ...
    def metrics_address(self) -> tuple[str, int] | None: ...


class _NativeBackend:
    """The Rust relay; ``serve`` releases the GIL and runs Python signal handlers as it waits."""

    label = "rust"

    def __init__(self, name: str, config: RelayConfig) -> None:
        try:
            from summoner_client import _relay  # noqa: PLC0415 - optional native module
        except ModuleNotFoundError as exc:
            raise ServerLaunchError(
                f"native relay not available ({exc}); install a build with the native module, "
                'or set "version": "python"',
                cause=exc,
            ) from exc
        # The native validator re-checks the same document; the shared fixtures keep the
        # two validators in agreement, so this cannot disagree with what pydantic accepted.
        self._relay: NativeRelay = _relay.Relay(name, orjson.dumps(config.model_dump(mode="json")).decode())

    def bind(self) -> tuple[str, int]:
        return self._relay.bind()

    def serve(self) -> None:
        self._relay.serve()

    def stop(self) -> None:
        self._relay.stop()

    def stats(self) -> dict[str, int]:
        return self._relay.stats()

    def metrics_address(self) -> tuple[str, int] | None:
        return self._relay.metrics_address()


class _PythonBackend:
    """The asyncio relay on an event loop of its own, driven from whichever thread serves.

    It also owns the relay's log output (the config's ``logger`` section), as the native relay's
    binary does: from ``bind()``, so the startup line is written, until ``serve()`` has returned,
    so the shutdown lines are. A ``PythonRelay`` embedded elsewhere adds no handlers.
    """

    label = "python"

    def __init__(self, name: str, config: RelayConfig) -> None:
        from summoner_client.server.python_relay import PythonRelay  # noqa: PLC0415 - loaded on demand

        if config.hyper_parameters.worker_threads is not None:
            _log.info("worker_threads is ignored by the Python relay")
        self._loop = asyncio.new_event_loop()
        self._relay = PythonRelay(config, name)
        self._name = name
        self._logger_config = config.logger
        self._log_output: LogOutput | None = None  # started by bind() or serve(), stopped after serve()

    def _start_logging(self) -> None:
        from summoner_client.server.python_relay.log_output import start_log_output  # noqa: PLC0415 - on demand

        if self._log_output is None:
            self._log_output = start_log_output(self._logger_config, self._name)

    def _stop_logging(self) -> None:
        if self._log_output is not None:
            self._log_output.stop()

    def bind(self) -> tuple[str, int]:
        self._start_logging()
        try:
            return self._loop.run_until_complete(self._relay.bind())
        except BaseException:
            self._stop_logging()  # serve() will not run, so nothing else would stop it
            raise

    def serve(self) -> None:
        self._start_logging()
        try:
            self._loop.run_until_complete(self._relay.serve())
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._stop_logging()

    def stop(self) -> None:
        self._relay.stop()

    def stats(self) -> dict[str, int]:
        return self._relay.stats()

    def metrics_address(self) -> tuple[str, int] | None:
        return self._relay.metrics_address  # set by bind(), before serving starts


class SummonerServer:
    """A relay as the original's ``SummonerServer``: ``SummonerServer("relay").run(port=8888)``.

    Args:
        name: The logger and log-file name; ``"relay"`` when omitted.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name if isinstance(name, str) else DEFAULT_NAME

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        config_path: str | os.PathLike[str] | None = None,
        config_dict: Mapping[str, Any] | None = None,
    ) -> None:
        """Serve in this thread until SIGINT/SIGTERM (on the main thread) or a stop; return ``None``.

        A ``None`` argument means "not given": the config, then the default, applies.

        Raises:
            TypeError: ``config_dict`` is neither a dict nor ``None``.
            ConfigError: The configuration has problems (all of them are listed).
            ServerLaunchError: No native module for a native config, or the address cannot be bound.
        """
        backend = self._backend(host, port, config_path, config_dict)
        bound_host, bound_port = _bind(backend)
        _log.info("relay %s listening on %s:%d (%s)", self.name, bound_host, bound_port, backend.label)
        with _stop_on_signals(backend.stop):
            backend.serve()

    def start(
        self,
        host: str | None = None,
        port: int | None = None,
        config_path: str | os.PathLike[str] | None = None,
        config_dict: Mapping[str, Any] | None = None,
    ) -> RunningRelay:
        """Serve on a background thread and return once the listener is bound.

        Raises:
            TypeError, ConfigError, ServerLaunchError: As for :meth:`run`, raised here.
        """
        backend = self._backend(host, port, config_path, config_dict)
        return RunningRelay(backend, name=self.name)

    def _backend(
        self,
        host: str | None,
        port: int | None,
        config_path: str | os.PathLike[str] | None,
        config_dict: Mapping[str, Any] | None,
    ) -> _Backend:
        if config_dict is not None and not isinstance(config_dict, dict):
            kind = type(config_dict).__name__
            raise TypeError(f"SummonerServer.run: config_dict must be a dict or None, got {kind}")
        config = load_relay_config(config_path, config_dict).config
        overrides = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
        if overrides:
            config = config.model_copy(update=overrides)
        if config.version == "python":
            return _PythonBackend(self.name, config)
        return _NativeBackend(self.name, config)


def _bind(backend: _Backend) -> tuple[str, int]:
    try:
        return backend.bind()
    except OSError as exc:
        raise ServerLaunchError(f"cannot start the relay: {exc}", address=str(exc), cause=exc) from exc


class _stop_on_signals:  # noqa: N801 - used as a context manager, reads like one
    """SIGINT and SIGTERM call ``stop`` while the block runs, on the main thread only."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in _TERMINATION_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        _log.info("received %s; shutting down", signal.Signals(signum).name)
        self._stop()

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


class RunningRelay:
    """A relay serving on a background thread: ``.host``, ``.port``, ``.stop()``, ``.wait()``.

    ``.metrics_address`` says where the operator endpoint listens, when ``metrics.port`` is set.

    Also a context manager that stops the relay on exit. Errors raised while serving are
    re-raised by ``stop()`` and ``wait()``.
    """

    def __init__(self, backend: _Backend, *, name: str) -> None:
        self._backend = backend
        self._bound: Future[tuple[str, int]] = Future()
        self._thread = threading.Thread(target=self._serve, name=f"summoner-relay-{name}", daemon=True)
        self._error: BaseException | None = None
        self._thread.start()
        self.host, self.port = self._bound.result()

    def _serve(self) -> None:
        try:
            self._bound.set_result(_bind(self._backend))
        except BaseException as exc:  # handed to the starting thread
            self._bound.set_exception(exc)
            return
        try:
            self._backend.serve()
        except BaseException as exc:  # re-raised by stop() or wait()
            self._error = exc

    def stats(self) -> dict[str, int]:
        """A snapshot of the relay's counters."""
        return self._backend.stats()

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """Where ``/healthz``, ``/metrics`` and ``/connz`` are served: ``(host, port)``, port 0 resolved.

        None when ``metrics.port`` is null (the endpoint is off).
        """
        return self._backend.metrics_address()

    def stop(self, timeout: float | None = None) -> None:
        """Start the graceful shutdown and wait for it (at most ``timeout`` seconds)."""
        self._backend.stop()
        self.wait(timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the relay has stopped; raise ``TimeoutError`` if it is still running."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the relay did not stop within {timeout} s")
        if self._error is not None:
            raise self._error

    def __enter__(self) -> RunningRelay:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
