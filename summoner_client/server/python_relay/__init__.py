"""The pure-asyncio relay: the fallback where no native wheel exists, and the readable reference.

Chosen only by ``"version": "python"`` (relay spec §5.5). It reads the same config, writes the same
bytes, sends the same notices and exports the same counters as the native relay, and its modules
mirror ``rust_server/core/src``:

- ``server``: :class:`PythonRelay` (bind, serve, stop, stats) and the state connections share;
- ``listener``: the accept loop, admission and refusals;
- ``handler``: one connection's reader, per-line pipeline and close;
- ``outbox``: one client's bounded queue, the slow-consumer decision, and its writer;
- ``registry``: membership and synchronous fan-out;
- ``limits``: token buckets, connection caps, quarantine;
- ``metrics``: counters kept per connection and summed on scrape;
- ``error``: :class:`CloseReason`.
"""

from summoner_client.server.python_relay.error import CloseReason
from summoner_client.server.python_relay.server import PythonRelay

__all__ = ["CloseReason", "PythonRelay"]
