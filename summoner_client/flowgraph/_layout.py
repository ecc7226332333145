"""Where each node of a :class:`FlowGraph` goes in a picture: a small layered layout, left to right.

Pure arithmetic, kept apart from ``_png`` so it can be tested without matplotlib. Flows are small
(a handful of states), so the layout favours being predictable over being optimal: a node's column
is its distance from the start (initial routes, else nodes nothing points to), and nodes share a
column in the order they first appear in the routes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from summoner_client.flowgraph._model import EXIT_ID, FlowGraph

__all__ = ["Layout", "layered_layout"]


@dataclass(frozen=True)
class Layout:
    """Node centres in drawing units (one unit is one inch at the default scale), and the extent."""

    positions: dict[str, tuple[float, float]]
    width: float
    height: float


def layered_layout(graph: FlowGraph, *, column_gap: float = 3.0, row_gap: float = 1.6) -> Layout:
    """Place every node of ``graph``: columns by distance from the start, rows within a column."""
    order = [node.id for node in graph.nodes]
    successors: dict[str, list[str]] = {node_id: [] for node_id in order}
    has_incoming: set[str] = set()
    for edge in graph.edges:
        if edge.source != edge.target:
            successors[edge.source].append(edge.target)
            has_incoming.add(edge.target)
    rank = _ranks(order, successors, has_incoming)
    if EXIT_ID in rank:
        # The exit dot follows the furthest node that ends on it, so it never sits left of its arrows.
        feeding = [rank[e.source] for e in graph.edges if e.target == EXIT_ID and e.source != EXIT_ID]
        rank[EXIT_ID] = max(feeding, default=0) + 1
    columns: dict[int, list[str]] = {}
    for node_id in order:
        columns.setdefault(rank[node_id], []).append(node_id)
    tallest = max((len(column) for column in columns.values()), default=1)
    positions: dict[str, tuple[float, float]] = {}
    for column_index, column in columns.items():
        for row, node_id in enumerate(column):
            y = ((len(column) - 1) / 2 - row) * row_gap
            positions[node_id] = (column_index * column_gap, y)
    width = max(columns, default=0) * column_gap
    return Layout(positions, width=width, height=(tallest - 1) * row_gap)


def _ranks(order: list[str], successors: dict[str, list[str]], has_incoming: set[str]) -> dict[str, int]:
    """Breadth-first distance from the roots; parts of the graph no root reaches start over at 0."""
    rank: dict[str, int] = {}
    roots = [node_id for node_id in order if node_id not in has_incoming and node_id != EXIT_ID]
    for start in [*roots, *order]:
        if start in rank:
            continue
        rank[start] = 0
        queue = deque([start])
        while queue:
            current = queue.popleft()
            for successor in successors[current]:
                if successor not in rank:
                    rank[successor] = rank[current] + 1
                    queue.append(successor)
    return rank
