"""The native relay module, built from rust_server/py by maturin.

At this stage it carries the protocol constants and the version; the relay itself
(``Relay``, ``check_config``) arrives with the relay issue.
"""

from typing import Final

__version__: Final[str]
"""Version of the native module; always equal to ``summoner_client.__version__``."""

PROTOCOL_VERSION: Final[int]
"""Relay protocol version implemented (1). Changes only when the bytes on the wire change."""

MAX_RELAYED_LINE_BYTES: Final[int]
"""Longest line, LF excluded, the relay ever writes (65,536): Summoner 1.3 clients stop on longer ones."""

def version() -> str:
    """Return ``__version__``; kept as a function for callers that probe the module."""
