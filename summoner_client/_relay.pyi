"""The native relay, built from rust_server/py by maturin (spec/relay.md §5.4).

Most code should not use this module directly: ``summoner_client.server.SummonerServer``
loads the configuration, picks the backend and handles signals. Tests and embedders that
want the raw handle use ``Relay``: construct, ``bind()``, then ``serve()`` on a thread of
their own and ``stop()`` from anywhere.
"""

from typing import Final, final

__all__ = ["MAX_RELAYED_LINE_BYTES", "PROTOCOL_VERSION", "Relay", "__version__", "check_config", "version"]

__version__: Final[str]
"""Version of the native module; always equal to ``summoner_client.__version__``."""

PROTOCOL_VERSION: Final[int]
"""Relay protocol version implemented (1). Changes only when the bytes on the wire change."""

MAX_RELAYED_LINE_BYTES: Final[int]
"""Longest line, LF excluded, the relay ever writes (65,536): Summoner 1.3 clients stop on longer ones."""

def version() -> str:
    """Return ``__version__``; kept as a function for callers that probe the module."""

def check_config(config_json: str, strict: bool = False) -> list[tuple[str, str]]:
    """Validate a relay configuration given as JSON text.

    Returns ``(key path, message)`` for every problem, empty when the configuration is
    valid. With ``strict``, unknown keys are problems too (otherwise they only warn).
    """

@final
class Relay:
    """A native relay: construct, ``bind()``, then ``serve()`` until ``stop()``.

    Raises ``ValueError("invalid relay configuration", [(path, message), ...])`` when the
    configuration has problems; ``SummonerServer`` turns that into ``ConfigError``.
    """

    def __new__(cls, name: str, config_json: str) -> Relay: ...
    @property
    def name(self) -> str:
        """The name given at construction: the logger and log file name."""

    def bind(self) -> tuple[str, int]:
        """Bind the listener and return the real ``(host, port)``; port 0 is resolved.

        Raises ``OSError`` when the address cannot be bound.
        """

    def serve(self) -> None:
        """Serve until ``stop()`` and the drain complete; the GIL is released throughout.

        Python signal handlers run every 100 ms while it blocks. If one raises (for example
        ``KeyboardInterrupt`` with no handler installed), the relay drains and the exception
        is re-raised after the drain.
        """

    def stop(self) -> None:
        """Start a graceful shutdown: thread-safe, idempotent, callable before or during ``serve()``."""

    def stats(self) -> dict[str, int]:
        """A snapshot of the relay's counters (names of spec/relay.md §4.14 without the prefix)."""

    def metrics_address(self) -> tuple[str, int] | None:
        """Where ``/healthz``, ``/metrics`` and ``/connz`` are served: ``(host, port)``.

        ``None`` before ``bind()`` and when ``metrics.port`` is null (the endpoint is off). A
        configured port 0 is resolved to the port picked. Stays the same while serving and after.
        """
