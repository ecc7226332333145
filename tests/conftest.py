"""Shared pytest configuration for the whole suite.

The relay fixtures (``relay_backend``, ``relay_factory``, ``probe_factory``) come from the shipped
plugin, so our tests use exactly what users of ``summoner_client.testing`` get.
"""

pytest_plugins = ["summoner_client.testing.plugin"]
