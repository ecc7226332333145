"""The native module is built, importable, and agrees with the package on versions and limits."""

from importlib.metadata import version

import summoner_client
from summoner_client import _relay


def test_native_module_version_equals_package_version() -> None:
    assert _relay.__version__ == summoner_client.__version__ == version("summoner-client")
    assert _relay.version() == _relay.__version__


def test_native_module_exposes_protocol_constants() -> None:
    assert _relay.PROTOCOL_VERSION == 1
    assert _relay.MAX_RELAYED_LINE_BYTES == 65_536
