"""Text drawings of a :class:`FlowGraph`: Mermaid (renders on GitHub and in many editors) and DOT.

Pure: a graph in, a string out. Both drawings say the same things the same way, so a reader can
switch between them: plain states are rounded boxes, gates (``/all``, ``/not(..)``, ``/oneof(..)``)
are dashed hexagons, initial routes start at a small dot, an arrow a reactive sender only watches
(no receiver on it) is dashed, and each arrow lists its label, then its receivers and senders.
"""

from __future__ import annotations

from summoner_client.flowgraph._model import FlowGraph, GraphEdge, GraphNode

__all__ = ["edge_lines", "node_lines", "to_dot", "to_mermaid", "unrouted_lines"]

_INDENT = "    "


def edge_lines(edge: GraphEdge) -> list[str]:
    """The text on an arrow: the label tokens, then who sits on the route."""
    lines: list[str] = []
    if edge.label:
        lines.append(", ".join(edge.label))
    if edge.receivers:
        lines.append("receive: " + ", ".join(edge.receivers))
    if edge.senders:
        lines.append("send: " + ", ".join(edge.senders))
    return lines


def node_lines(node: GraphNode) -> list[str]:
    """The text in a box: the state or gate, then the handlers on its object route."""
    return [node.text, *node.handlers]


def unrouted_lines(graph: FlowGraph) -> list[str]:
    """The note for handlers that sit on no node; empty when there are none."""
    return ["not on any state:", *graph.unrouted] if graph.unrouted else []


def to_mermaid(graph: FlowGraph) -> str:
    """Draw ``graph`` as a Mermaid flowchart, left to right."""
    out = ["flowchart LR", f"{_INDENT}%% flow of agent {_mermaid_comment(graph.name)}"]
    gates: list[str] = []
    for node in graph.nodes:
        out.append(_INDENT + _mermaid_node(node))
        if node.role == "gate":
            gates.append(node.id)
    for edge in graph.edges:
        arrow = "-.->" if edge.sender_only else "-->"
        text = "<br/>".join(_mermaid_text(line) for line in edge_lines(edge))
        label = f'|"{text}"|' if text else ""
        out.append(f"{_INDENT}{edge.source} {arrow}{label} {edge.target}")
    if graph.unrouted:
        text = "<br/>".join(_mermaid_text(line) for line in unrouted_lines(graph))
        out.append(f'{_INDENT}unrouted["{text}"]')
        out.append(f"{_INDENT}classDef note fill:#fafafa,stroke:#999,stroke-dasharray: 2 2")
        out.append(f"{_INDENT}class unrouted note")
    if gates:
        out.append(f"{_INDENT}classDef gate stroke-dasharray: 5 3")
        out.append(f"{_INDENT}class {','.join(gates)} gate")
    return "\n".join(out) + "\n"


def _mermaid_node(node: GraphNode) -> str:
    if node.role == "start":
        return f'{node.id}((" "))'
    if node.role == "exit":
        return f'{node.id}(((" ")))'
    text = "<br/>".join(_mermaid_text(line) for line in node_lines(node))
    if node.role == "gate":
        return f'{node.id}{{{{"{text}"}}}}'
    return f'{node.id}(["{text}"])'


def _mermaid_text(text: str) -> str:
    # Mermaid reads HTML entities in labels as #name; and ends a quoted label at the first quote.
    return text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _mermaid_comment(text: str) -> str:
    return " ".join(text.split())  # a newline would end the comment


def to_dot(graph: FlowGraph) -> str:
    """Draw ``graph`` in Graphviz DOT, left to right (``dot -Tsvg`` renders it)."""
    out = [
        f"digraph {_dot_string(graph.name)} {{",
        f"{_INDENT}rankdir=LR;",
        f'{_INDENT}node [shape=box, style=rounded, fontname="Helvetica"];',
        f'{_INDENT}edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in graph.nodes:
        out.append(f"{_INDENT}{node.id} [{_dot_node_attributes(node)}];")
    for edge in graph.edges:
        attributes = [f"label={_dot_string(chr(10).join(edge_lines(edge)))}"]
        if edge.sender_only:
            attributes.append("style=dashed")
        out.append(f"{_INDENT}{edge.source} -> {edge.target} [{', '.join(attributes)}];")
    if graph.unrouted:
        out.append(
            f"{_INDENT}unrouted [shape=note, label={_dot_string(chr(10).join(unrouted_lines(graph)))}];"
        )
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_node_attributes(node: GraphNode) -> str:
    if node.role == "start":
        return 'label="", shape=point, width=0.15'
    if node.role == "exit":
        return 'label="", shape=doublecircle, width=0.12'
    label = f"label={_dot_string(chr(10).join(node_lines(node)))}"
    if node.role == "gate":
        return f"{label}, shape=hexagon, style=dashed"
    return label


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
