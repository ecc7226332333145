"""Fixtures of the DNA unit tests (defined in ``_agents``)."""

from tests.unit.dna._agents import agents, client_logs

__all__ = ["agents", "client_logs"]
