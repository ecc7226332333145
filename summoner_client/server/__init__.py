"""The relay, started from Python: ``SummonerServer(name).run(...)`` or ``.start(...)``."""

from summoner_client.server.launcher import RunningRelay, SummonerServer

__all__ = ["RunningRelay", "SummonerServer"]
