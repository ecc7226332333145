"""summoner_client: agents that talk JSON Lines through a relay, API-compatible with Summoner 1.3.

Agents import what they use from the original's module paths, with ``summoner`` renamed
to ``summoner_client`` (``summoner_client.protocol``, ``summoner_client.protocol.payload``,
...). This top-level module holds only the package version, which is independent of the
wire version written into every envelope (``summoner_client.protocol.payload.WIRE_VERSION``).
"""

from importlib.metadata import version as _distribution_version

__version__: str = _distribution_version("summoner-client")

__all__ = ["__version__"]
