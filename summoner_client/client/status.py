"""``ClientStatus``: where a client is in its lifecycle (spec §8.9).

An enum rather than booleans, so an illegal move (starting a client that is already running) has one
place to be detected and one error to raise.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["ClientStatus"]


class ClientStatus(Enum):
    """The lifecycle state of a ``SummonerClient``; it changes only on the client's loop."""

    NEW = "new"  # constructed or stopped-and-reset: no run has started since
    CONNECTING = "connecting"  # run_client is opening a TCP connection to the current target
    CONNECTED = "connected"  # a session is live: reading, dispatching and writing
    BACKING_OFF = "backing_off"  # the last attempt failed or the session was lost; sleeping before a retry
    STOPPING = "stopping"  # quit, abort or shutdown asked for: the current session is ending gracefully
    STOPPED = "stopped"  # run_client returned; the client may be run again
