"""``summoner demo``: a relay and five small agents in one process, with a live transcript.

- ``agents``: the agents (a ticker, a greeter, an asker and an answerer, a counter with a flow);
- ``runner``: the relay, one thread per agent, the transcript and a clean end.
"""

from summoner_client.demo.agents import AGENT_NAMES, make_agents
from summoner_client.demo.runner import DEFAULT_SECONDS, DemoReport, Transcript, run_demo, summary_lines

__all__ = [
    "AGENT_NAMES",
    "DEFAULT_SECONDS",
    "DemoReport",
    "Transcript",
    "make_agents",
    "run_demo",
    "summary_lines",
]
