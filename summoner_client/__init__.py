"""summoner_client: agents that talk JSON Lines through a relay, API-compatible with Summoner 1.3.

Agents import what they use from the original's module paths, with ``summoner`` renamed
to ``summoner_client`` (``summoner_client.protocol``, ``summoner_client.protocol.payload``,
...). This top-level module holds only the package version, which is independent of the
wire version written into every envelope (``summoner_client.protocol.payload.WIRE_VERSION``),
and :class:`AsyncSlot`, the bridge that lets synchronous programs (frame loops, GUIs, notebooks)
drive async code without blocking (``summoner_client.threads``).
"""

from importlib.metadata import version as _distribution_version

from summoner_client.threads.slot import AsyncSlot

__version__: str = _distribution_version("summoner-client")

__all__ = ["AsyncSlot", "__version__"]
