"""The client package: ``SummonerClient`` and its lifecycle states, as agents import them."""

from summoner_client.client.client import SummonerClient
from summoner_client.client.status import ClientStatus

__all__ = ["ClientStatus", "SummonerClient"]
