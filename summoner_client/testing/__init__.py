"""Test utilities shipped with the package, used by our own suite and by users' tests.

- :mod:`~summoner_client.testing.probe`: ``ProbeClient``, a raw-wire relay client asserting on bytes.
- :mod:`~summoner_client.testing.relays`: start and stop either relay backend on a free port.
- :mod:`~summoner_client.testing.plugin`: pytest fixtures over both backends; load it with
  ``pytest_plugins = ["summoner_client.testing.plugin"]``. It is not imported here, so importing
  this package does not require pytest.
"""

from summoner_client.testing.probe import ProbeClient, RelayContractError, expected_envelope
from summoner_client.testing.relays import (
    BACKENDS,
    Backend,
    relay_config,
    start_relay,
    stop_relay,
    wait_for_members,
    wait_for_stat,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "ProbeClient",
    "RelayContractError",
    "expected_envelope",
    "relay_config",
    "start_relay",
    "stop_relay",
    "wait_for_members",
    "wait_for_stat",
]
