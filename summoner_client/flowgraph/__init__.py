"""Draw an agent's flow: which states its routes connect, and which handlers sit on each route.

``build_flow_graph(client)`` binds the client's registrations (as ``run()`` would; nothing connects)
and returns a :class:`FlowGraph`; ``to_mermaid``, ``to_dot`` and ``to_png`` draw it. The graph's
``warnings`` are static findings: a state nothing reaches, a state nothing leaves, a reactive sender
no receiver route can trigger. ``summoner flow graph MODULE:CLIENT`` is the command-line face.

- ``_model``: the graph and how it is built from routes (pure);
- ``_text``: Mermaid and DOT (pure);
- ``_layout``, ``_png``: a layered layout and a matplotlib picture (the ``graph`` extra).
"""

from summoner_client.flowgraph._layout import Layout, layered_layout
from summoner_client.flowgraph._model import (
    FlowGraph,
    GraphEdge,
    GraphNode,
    NodeRole,
    RouteHandlers,
    build_flow_graph,
    graph_from_routes,
)
from summoner_client.flowgraph._png import PNG_EXTRA, to_png
from summoner_client.flowgraph._text import to_dot, to_mermaid

__all__ = [
    "PNG_EXTRA",
    "FlowGraph",
    "GraphEdge",
    "GraphNode",
    "Layout",
    "NodeRole",
    "RouteHandlers",
    "build_flow_graph",
    "graph_from_routes",
    "layered_layout",
    "to_dot",
    "to_mermaid",
    "to_png",
]
