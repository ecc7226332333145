"""DNA: export a client's handlers as JSON, rebuild a client from it, merge several (client spec §10).

Replaying DNA executes its text; see docs/dna.md before loading DNA you did not write.
"""

# The client package first: its __init__ re-exports ClientMerger through client.merger, which imports
# the modules below; loading it before them keeps every dna module from being seen half-initialised.
import summoner_client.client  # noqa: F401
from summoner_client.dna.export import dna
from summoner_client.dna.merger import ClientMerger
from summoner_client.dna.translation import ClientTranslation
from summoner_client.errors import DnaError, DnaKeyError, DnaTypeError

__all__ = ["ClientMerger", "ClientTranslation", "DnaError", "DnaKeyError", "DnaTypeError", "dna"]
