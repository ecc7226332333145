"""The threading bridge: async agents driven from synchronous code and from threads of their own.

- :class:`AsyncSlot` (``slot``): one awaitable at a time from a frame loop, GUI or notebook; never blocks.
- :class:`ClientThread`, :class:`Handle`, :func:`stop_all` (``client_thread``): a client on its own
  thread and loop, with thread-safe calls into it.
- :func:`run_client_threads` (``_signals``): the main thread waits and Ctrl+C stops every client thread.
"""

from summoner_client.threads._signals import TERMINATION_SIGNALS, run_client_threads
from summoner_client.threads.client_thread import DEFAULT_STOP_TIMEOUT, ClientThread, Handle, stop_all
from summoner_client.threads.slot import DEFAULT_CLOSE_TIMEOUT, AsyncSlot

__all__ = [
    "DEFAULT_CLOSE_TIMEOUT",
    "DEFAULT_STOP_TIMEOUT",
    "TERMINATION_SIGNALS",
    "AsyncSlot",
    "ClientThread",
    "Handle",
    "run_client_threads",
    "stop_all",
]
