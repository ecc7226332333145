"""The protocol layer: the flow DSL and the wire format. Pure code: no sockets, no event loop.

Modules keep the original's names so agents port by renaming ``summoner`` to
``summoner_client``: ``triggers`` (signals and events), ``process`` (nodes, routes, the state
tape), ``flow`` (the ``Flow`` object and route parsing), ``payload`` (the typed envelope),
``validation`` (decoration-time checks). ``framing``, ``wire`` and ``notices`` carry the
line-level rules shared by the client and the Python relay.
"""

from summoner_client.protocol.flow import Flow
from summoner_client.protocol.process import (
    Action,
    ArrowStyle,
    Direction,
    Event,
    Move,
    Node,
    ParsedRoute,
    Receiver,
    Sender,
    Signal,
    StateTape,
    Stay,
    Test,
)

__all__ = [
    "Action",
    "ArrowStyle",
    "Direction",
    "Event",
    "Flow",
    "Move",
    "Node",
    "ParsedRoute",
    "Receiver",
    "Sender",
    "Signal",
    "StateTape",
    "Stay",
    "Test",
]
