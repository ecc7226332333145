""":class:`PythonRelay`: bind, serve until :meth:`~PythonRelay.stop`, then drain (relay spec §4.11, §5.5).

What belongs here: the state every connection shares (:class:`Shared`), the relay's lifecycle and
its counters snapshot. Shutdown follows §4.11 with one named step each: stop accepting, stop
reading (each member queues N3 after what is already queued, flushes and closes), then close
whatever is left at the ``shutdown_drain_secs`` deadline. Mirrors ``rust_server/core/src/server.rs``.

Task ownership: :meth:`PythonRelay.serve` owns one ``TaskGroup`` holding the accept loop, the
sweep loop, the metrics endpoint (``admin.py``; it owns its answers), every connection's task and
every refusal; each connection task owns its writer in a group of its own. Nothing outlives ``serve()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import itertools
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final

from summoner_client.config.relay import AUTH_TOKEN_RULE, RelayConfig, RelaySecurityConfig, check_auth_token
from summoner_client.errors import ConfigError, ConfigIssue
from summoner_client.server.python_relay import admin
from summoner_client.server.python_relay.error import CloseReason
from summoner_client.server.python_relay.limits import Admission
from summoner_client.server.python_relay.listener import accept_loop, bind_socket
from summoner_client.server.python_relay.metrics import Counters, Metrics
from summoner_client.server.python_relay.outbox import PolicyLog, QueuePolicy
from summoner_client.server.python_relay.registry import Member, Registry

if TYPE_CHECKING:
    from summoner_client.server.python_relay.handler import Handler, Peer

__all__ = ["PythonRelay", "Shared"]

_log = logging.getLogger(__name__)
_MASK64: Final = (1 << 64) - 1


class JoinedRegistry(Registry):
    """The registry, plus when each member joined: ``/connz`` reports it as ``connected_secs``.

    Join and leave are off the hot path; fan-out (``broadcast``) is untouched.
    """

    __slots__ = ("_joined",)

    def __init__(self) -> None:
        super().__init__()
        self._joined: dict[int, float] = {}

    def join(self, member: Member) -> None:
        """Add a member and note the time (``time.monotonic()``)."""
        super().join(member)
        self._joined[member.conn_id] = time.monotonic()

    def leave(self, conn_id: int) -> Member | None:
        """Remove a member."""
        self._joined.pop(conn_id, None)
        return super().leave(conn_id)

    def joined_at(self, conn_id: int) -> float:
        """When ``conn_id`` joined, in ``time.monotonic()`` seconds; now for a non-member."""
        return self._joined.get(conn_id, time.monotonic())


class Shared:
    """Everything the listener and the connection tasks share; touched only on the relay's loop.

    The exception is :meth:`stats`, which another thread may call: the lock it shares with
    :meth:`retire` keeps a closing connection from being counted twice or not at all.
    """

    def __init__(self, config: RelayConfig, tokens: tuple[bytes, ...]) -> None:
        self.config = config
        self.limits = config.hyper_parameters
        self.security = config.security
        self.log_content = config.logger.log_content
        self.registry = JoinedRegistry()
        self.metrics = Metrics()
        self.policy = QueuePolicy.from_config(self.limits)
        ip_rate = self.limits.ip_rate_limit_msgs_per_minute
        ip_burst = self.limits.ip_rate_limit_burst or ip_rate
        self.admission = Admission(
            self.limits.max_connections,
            self.limits.max_connections_per_ip,
            None if ip_rate is None or ip_burst is None else (ip_rate, ip_burst),
            self.limits.quarantine_cooldown_secs,
        )
        self.tokens = tokens  # empty: auth is off
        self.ssl_context: ssl.SSLContext | None = None  # built by bind(): it reads files
        # Every live connection, handshakes included, so shutdown can reach all of them.
        self.handlers: dict[int, Handler] = {}
        self.all_closed = asyncio.Event()  # set whenever `handlers` is empty
        self.all_closed.set()
        self.draining = False  # from shutdown step 1: new connections are refused, /healthz says 503
        self.handshaking = 0  # connections in their TLS handshake or AUTH line
        self.listener_log = PolicyLog(logging.getLogger(f"{__package__}.listener"), "listener", {})
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        mask = self.security.mask_remote_addr
        self._mask_keys = (secrets.randbits(64), secrets.randbits(64) | 1) if mask else None

    def next_connection_id(self) -> int:
        """A connection id, never reused."""
        return next(self._ids)

    def remote_addr(self, conn_id: int, peer: Peer) -> str:
        """The ``remote_addr`` of connection ``conn_id``: the address, or ``peer-<16 hex>`` when masking."""
        if self._mask_keys is None:
            return peer.addr
        xor, multiplier = self._mask_keys
        return f"peer-{(_mix(conn_id ^ xor) * multiplier) & _MASK64:016x}"

    def token_matches(self, line: bytes) -> bool:
        """Whether ``line`` is ``AUTH <token>`` for a configured token, compared in constant time."""
        if not line.startswith(b"AUTH "):
            return False
        given = line[5:]
        found = False
        for token in self.tokens:
            found |= hmac.compare_digest(token, given)
        return found

    @contextlib.contextmanager
    def handshake(self, *, counted: bool) -> Iterator[None]:
        """Count one connection in the ``connections{state="handshake"}`` gauge while the block runs."""
        step = 1 if counted else 0
        self.handshaking += step
        try:
            yield
        finally:
            self.handshaking -= step

    def adopt(self, handler: Handler) -> None:
        """Track a new connection until :meth:`retire`."""
        self.handlers[handler.conn_id] = handler
        self.all_closed.clear()

    def retire(self, handler: Handler, reason: CloseReason) -> None:
        """Forget a closed connection and keep its counters."""
        with self._lock:
            self.handlers.pop(handler.conn_id, None)
            self.metrics.retire(reason, handler.counters)
        if not self.handlers:
            self.all_closed.set()

    def stats(self) -> dict[str, int]:
        """Every counter and gauge of §4.14 under the native relay's names, plus members and connections."""
        out = self.counters()
        out.update(self.gauges())
        out["members"] = len(self.registry)
        out["connections"] = self.admission.connections
        return out

    def totals(self) -> Counters:
        """The sum of every connection's counters, live and closed, taken under one lock."""
        with self._lock:
            total = Counters()
            total.absorb(self.metrics.retired)
            for handler in tuple(self.handlers.values()):
                total.absorb(handler.counters)
        return total

    def counters(self) -> dict[str, int]:
        """Every counter of §4.14, summed now over live and closed connections."""
        out: dict[str, int] = {}
        self.totals().export(out)
        self.metrics.export(out)
        return out

    def gauges(self) -> dict[str, int]:
        """Every gauge of §4.14, read now (the queue-depth histogram is in ``totals()``)."""
        with self._lock:
            handlers = tuple(self.handlers.values())
        depths = [handler.outbox.depth for handler in handlers]
        connections, members, handshaking = self.admission.connections, len(self.registry), self.handshaking
        return {
            'connections{state="handshake"}': handshaking,
            'connections{state="member"}': members,
            'connections{state="closing"}': max(0, connections - members - handshaking),
            "queue_messages": sum(depth[0] for depth in depths),
            "queue_bytes": sum(depth[1] for depth in depths),
            "lagging_clients": sum(depth[2] for depth in depths),
            "shedding_clients": sum(depth[3] for depth in depths),
        }


def _mix(x: int) -> int:
    """A bijection on 64-bit ints, so distinct ids give distinct masked addresses (as server.rs)."""
    x ^= x >> 30
    x = (x * 0xBF58_476D_1CE4_E5B9) & _MASK64
    x ^= x >> 27
    x = (x * 0x94D0_49BB_1331_11EB) & _MASK64
    return x ^ (x >> 31)


def load_tokens(security: RelaySecurityConfig) -> tuple[bytes, ...]:
    """The accepted tokens: ``auth_tokens`` plus the lines of ``auth_token_file``.

    Raises:
        ConfigError: The token file cannot be read or holds an invalid token.
    """
    tokens = list(security.auth_tokens)
    path = security.auth_token_file
    if path is not None:
        key = "security.auth_token_file"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(ConfigIssue(key, f"cannot read {path}: {exc}")) from None
        for number, line in enumerate(text.splitlines(), 1):
            token = line.strip()
            if not token or token.startswith("#"):
                continue
            try:
                tokens.append(check_auth_token(token))
            except ValueError:
                raise ConfigError(ConfigIssue(key, f"line {number}: must be {AUTH_TOKEN_RULE}")) from None
    return tuple(token.encode("ascii") for token in tokens)


def _tls_context(security: RelaySecurityConfig) -> ssl.SSLContext | None:
    if security.tls_cert_file is None or security.tls_key_file is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(security.tls_cert_file, security.tls_key_file)
    return context


async def _stop_endpoint(answering: asyncio.Task[None] | None) -> None:
    """Step 6: the metrics endpoint goes, with any answer still in flight."""
    if answering is not None:
        answering.cancel()
        await asyncio.wait([answering])


async def _sweep_loop(shared: Shared) -> None:
    """Forget expired bans and idle per-IP state every ``quarantine_cleanup_interval_secs``."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(shared.limits.quarantine_cleanup_interval_secs)
        shared.admission.sweep(loop.time())


class PythonRelay:
    """The pure-asyncio relay: construct, ``await bind()``, ``await serve()``, ``stop()`` from anywhere.

    Example::

        relay = PythonRelay(load_relay_config(config_dict={"port": 0}).config)
        host, port = await relay.bind()
        serving = asyncio.create_task(relay.serve())
        ...
        relay.stop()
        await serving

    Or ``async with PythonRelay(config) as relay:``, which binds, serves in a task it owns, and
    stops and awaits that task on exit.
    """

    def __init__(self, config: RelayConfig, name: str = "relay") -> None:
        """A relay for a validated ``config``; reads the auth token file, if one is configured.

        Args:
            config: The relay configuration.
            name: The relay's name, used in its log lines.

        Raises:
            ConfigError: The token file cannot be read or holds an invalid token.
        """
        self.name = name
        self._shared = Shared(config, load_tokens(config.security))
        self._listener: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        self._admin_listener: socket.socket | None = None  # the metrics endpoint's; None when off
        self._metrics_address: tuple[str, int] | None = None
        self._lock = threading.Lock()  # guards the handover between stop() and the loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False
        self._served = False
        self._serving: asyncio.Task[None] | None = None  # owned by __aenter__/__aexit__

    @property
    def address(self) -> tuple[str, int] | None:
        """The bound ``(host, port)``, or None before :meth:`bind`."""
        return self._address

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """The metrics endpoint's ``(host, port)`` once bound; None before, and when it is off."""
        return self._metrics_address

    async def bind(self) -> tuple[str, int]:
        """Bind the listener and return the real ``(host, port)``; port 0 is resolved.

        Raises:
            OSError: The address cannot be resolved or bound, or the TLS files cannot be loaded.
            RuntimeError: Already bound.
        """
        if self._listener is not None:
            raise RuntimeError("the relay is already bound")
        self._attach(asyncio.get_running_loop())
        shared, config = self._shared, self._shared.config
        shared.ssl_context = _tls_context(config.security)
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            config.host, config.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, _, _, _, address = infos[0]
        self._listener = bind_socket(family, address, shared.limits.connection_buffer_size)
        host, port = self._listener.getsockname()[:2]
        self._address = (str(host), int(port))
        self._log_startup()
        if config.metrics.port is not None:
            try:
                self._admin_listener = await admin.bind_endpoint(config.metrics.host, config.metrics.port)
            except BaseException:
                self._listener.close()
                self._listener = self._address = None
                raise
            metrics_host, metrics_port = self._admin_listener.getsockname()[:2]
            self._metrics_address = (str(metrics_host), int(metrics_port))
        return self._address

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._loop is None:
                self._loop = loop
                self._stopping = asyncio.Event()
                if self._stop_requested:
                    self._stopping.set()
            elif self._loop is not loop:
                raise RuntimeError("the relay belongs to another event loop")

    def _log_startup(self) -> None:
        shared, config = self._shared, self._shared.config
        limits = shared.limits
        host, port = self._address or (config.host, config.port)
        _log.info(
            "relay %s (python backend) listening on %s:%d%s; max_connections %d, max_line_bytes %d, "
            "max_queue_messages %d, max_queue_bytes %d",
            self.name,
            host,
            port,
            " (TLS)" if shared.ssl_context is not None else "",
            limits.max_connections,
            limits.max_line_bytes,
            limits.max_queue_messages,
            limits.max_queue_bytes,
        )
        if limits.worker_threads is not None:
            _log.info("worker_threads (%d) is ignored by the Python relay", limits.worker_threads)
        if shared.tokens and shared.ssl_context is None and not _is_loopback(config.host):
            _log.warning("auth tokens are sent in clear text: auth is on without TLS on %s", config.host)

    def stop(self) -> None:
        """Start a graceful shutdown: thread-safe, idempotent, callable before or during :meth:`serve`."""
        with self._lock:
            self._stop_requested = True
            loop, stopping = self._loop, self._stopping
        if loop is None or stopping is None:
            return  # not bound yet: serve() sees the request as soon as it starts
        with contextlib.suppress(RuntimeError):  # the loop is closed, so the relay is not serving
            loop.call_soon_threadsafe(stopping.set)

    def stats(self) -> dict[str, int]:
        """A snapshot of every counter of §4.14 (names without the ``summoner_relay_`` prefix).

        The keys are the native relay's. Safe to call from any thread, before, during and after serve().
        """
        return self._shared.stats()

    async def serve(self) -> None:
        """Serve until :meth:`stop`, then shut down (§4.11) and return.

        Binds first if :meth:`bind` was not called.

        Raises:
            OSError: Binding failed.
            RuntimeError: Called twice.
        """
        if self._served:
            raise RuntimeError("serve() can run only once per relay")
        self._served = True
        if self._listener is None:
            await self.bind()
        listener, stopping = self._listener, self._stopping
        assert listener is not None  # both set by bind()
        assert stopping is not None
        shared, admin_listener = self._shared, self._admin_listener
        try:
            async with asyncio.TaskGroup() as tasks:
                accepting = tasks.create_task(accept_loop(shared, listener, tasks.create_task))
                sweeping = tasks.create_task(_sweep_loop(shared))
                # The endpoint keeps answering through the drain (/healthz: 503) until step 6.
                answering = None
                if admin_listener is not None:
                    answering = tasks.create_task(admin.serve_loop(shared, admin_listener))
                await stopping.wait()
                deadline = asyncio.get_running_loop().time() + shared.limits.shutdown_drain_secs
                await self._stop_accepting(listener, accepting, sweeping)
                self._stop_reading()
                await self._drain(deadline)
                await _stop_endpoint(answering)
                # Leaving the group waits for the last refusals and connection tasks.
        finally:
            listener.close()
            if admin_listener is not None:
                admin_listener.close()
        _log.info("relay %s stopped", self.name)

    async def _stop_accepting(
        self, listener: socket.socket, accepting: asyncio.Task[None], sweeping: asyncio.Task[None]
    ) -> None:
        """Step 1: refuse from now on, stop the accept loop, close the listener."""
        shared = self._shared
        shared.draining = True
        _log.info("relay %s shutting down: %d connections", self.name, len(shared.handlers))
        accepting.cancel()
        sweeping.cancel()
        # The accept loop must be gone before the socket closes: its fd may still be watched.
        await asyncio.wait([accepting, sweeping])
        listener.close()

    def _stop_reading(self) -> None:
        """Steps 2 and 3: every reader stops; each member then queues N3 after what is queued, and drains."""
        for handler in tuple(self._shared.handlers.values()):
            handler.close_soon(CloseReason.SHUTDOWN)

    async def _drain(self, deadline: float) -> None:
        """Steps 4 and 5: wait for the connections to close, and close the rest at the deadline."""
        shared = self._shared
        try:
            async with asyncio.timeout_at(deadline):
                await shared.all_closed.wait()
        except TimeoutError:
            remaining = len(shared.handlers)
            _log.info("relay %s: drain deadline reached; closing %d connections", self.name, remaining)
            for handler in tuple(shared.handlers.values()):
                handler.force_close()

    async def __aenter__(self) -> PythonRelay:
        if self._listener is None:
            await self.bind()
        self._serving = asyncio.create_task(self.serve(), name=f"relay-{self.name}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self._serving is not None:
            await self._serving


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
