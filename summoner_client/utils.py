"""The original's ``summoner.utils`` import path; it exists only for that path, and holds no code.

Each name is re-exported from its real home:

- ``load_config`` reads a JSON config file by the client's rules (client spec §7.1) and never prints:
  :mod:`summoner_client.config.loading`;
- ``get_callable_source`` is the best-effort source capture of DNA records (§10.1):
  :mod:`summoner_client.client._source`;
- ``format_addr``, ``remove_last_newline``, ``ensure_trailing_newline``, ``is_jsonable`` and
  ``fully_recover_json`` (kept for callers; the receive path never uses it **[D-9]**):
  :mod:`summoner_client.protocol._text`.
"""

from summoner_client.client._source import get_callable_source
from summoner_client.config.loading import load_config
from summoner_client.protocol._text import (
    ensure_trailing_newline,
    format_addr,
    fully_recover_json,
    is_jsonable,
    remove_last_newline,
)

__all__ = [
    "ensure_trailing_newline",
    "format_addr",
    "fully_recover_json",
    "get_callable_source",
    "is_jsonable",
    "load_config",
    "remove_last_newline",
]
