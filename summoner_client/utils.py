"""The original's ``summoner.utils`` import path; it exists only for that path, and holds no code.

``load_config`` reads a JSON config file by the client's rules (client spec §7.1) and never prints:
its home is :mod:`summoner_client.config.loading`.
"""

from summoner_client.config.loading import load_config

__all__ = ["load_config"]
