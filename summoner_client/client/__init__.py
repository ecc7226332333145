"""The client package: ``SummonerClient``, its lifecycle states, and DNA cloning, as agents import them."""

from summoner_client.client.client import SummonerClient
from summoner_client.client.merger import ClientMerger, ClientTranslation
from summoner_client.client.status import ClientStatus

__all__ = ["ClientMerger", "ClientStatus", "ClientTranslation", "SummonerClient"]
