"""The original's import path ``summoner.client.merger``; the code lives in ``summoner_client.dna``.

Compatibility module (ARCHITECTURE §1.6): it only re-exports.
"""

from summoner_client.dna.merger import ClientMerger
from summoner_client.dna.translation import ClientTranslation

__all__ = ["ClientMerger", "ClientTranslation"]
