"""Configuration models and loaders: a JSON file or dict in, a validated pydantic model out.

``client`` and ``relay`` hold the models (field names are the JSON keys), ``logger`` the logger
section both share, and ``loading`` reading, validation and the reporting of every problem.
"""

from summoner_client.config.client import ClientConfig
from summoner_client.config.loading import (
    LoadedConfig,
    load_client_config,
    load_config,
    load_relay_config,
    parse_client_config,
    parse_relay_config,
)
from summoner_client.config.logger import ClientLoggerConfig, RelayLoggerConfig
from summoner_client.config.relay import RelayConfig

__all__ = [
    "ClientConfig",
    "ClientLoggerConfig",
    "LoadedConfig",
    "RelayConfig",
    "RelayLoggerConfig",
    "load_client_config",
    "load_config",
    "load_relay_config",
    "parse_client_config",
    "parse_relay_config",
]
