"""A PNG picture of a :class:`FlowGraph`, drawn with matplotlib.

Why matplotlib and not Graphviz: Graphviz is a system program that ``pip`` cannot install, while
matplotlib is a wheel, so ``pip install 'summoner-client[graph]'`` is all a user (or CI) needs. The
DOT text (``to_dot``) remains there for anyone who has Graphviz and wants its layouts.

Nothing here touches a file: the picture comes back as bytes and the caller decides where it goes.
matplotlib is used through its object API with the Agg canvas, so no global backend or pyplot state
is changed in the caller's process.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from summoner_client.flowgraph._layout import layered_layout
from summoner_client.flowgraph._model import FlowGraph, GraphEdge
from summoner_client.flowgraph._text import edge_lines, node_lines, unrouted_lines

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.text import Text

__all__ = ["PNG_EXTRA", "to_png"]

PNG_EXTRA = "graph"
"""The optional-dependency group that brings matplotlib: ``pip install 'summoner-client[graph]'``."""

_MARGIN = 1.2  # drawing units around the outermost nodes, room for curved arrows and their labels
_STATE_STYLE: dict[str, Any] = {"boxstyle": "round,pad=0.45", "fc": "#eef4fb", "ec": "#2b5d8a", "lw": 1.4}
_GATE_STYLE: dict[str, Any] = {"boxstyle": "round4,pad=0.45", "fc": "#fdf6e3", "ec": "#9a6b00", "ls": "--"}
_MARKER_STYLE: dict[str, Any] = {"boxstyle": "circle,pad=0.12", "fc": "#333333", "ec": "#333333"}


def to_png(graph: FlowGraph, *, dpi: int = 120) -> bytes:
    """Draw ``graph`` and return the PNG file's bytes.

    Raises:
        ModuleNotFoundError: matplotlib is not installed; the message names the extra to install.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - optional extra
        from matplotlib.figure import Figure  # noqa: PLC0415
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"PNG output needs matplotlib: pip install 'summoner-client[{PNG_EXTRA}]' "
            "(or use --format mermaid or dot)",
            name="matplotlib",
        ) from exc
    layout = layered_layout(graph, column_gap=_column_gap(graph))
    note_room = 0.3 + 0.17 * len(unrouted_lines(graph)) if graph.unrouted else 0.0
    top, bottom = layout.height / 2 + _MARGIN + 0.3, -layout.height / 2 - _MARGIN - note_room
    width = layout.width + 2 * _MARGIN
    figure = Figure(figsize=(max(width, 3.0), max(top - bottom, 2.0)), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_axis_off()
    axes.set_xlim(-_MARGIN, layout.width + _MARGIN)
    axes.set_ylim(bottom, top)
    axes.text(-_MARGIN + 0.15, top - 0.15, f"flow of {graph.name}", fontsize=11, ha="left", va="top")
    boxes = _draw_nodes(axes, graph, layout.positions)
    figure.canvas.draw()  # places the boxes, so the arrows below can stop at their borders
    _draw_edges(axes, graph.edges, layout.positions, boxes)
    if graph.unrouted:
        note = "\n".join(unrouted_lines(graph))
        axes.text(-_MARGIN + 0.15, bottom + 0.15, note, fontsize=8, ha="left", va="bottom", color="#555555")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _draw_nodes(axes: Axes, graph: FlowGraph, positions: dict[str, tuple[float, float]]) -> dict[str, Text]:
    boxes: dict[str, Text] = {}
    for node in graph.nodes:
        x, y = positions[node.id]
        if node.role in ("start", "exit"):
            boxes[node.id] = axes.text(x, y, " ", fontsize=6, ha="center", va="center", bbox=_MARKER_STYLE)
            continue
        style = _GATE_STYLE if node.role == "gate" else _STATE_STYLE
        lines = node_lines(node)
        text = lines[0] + "".join(f"\n{line}" for line in lines[1:])
        boxes[node.id] = axes.text(
            x, y, text, fontsize=10, ha="center", va="center", bbox=style, zorder=3, linespacing=1.3
        )
    return boxes


def _draw_edges(
    axes: Axes,
    edges: tuple[GraphEdge, ...],
    positions: dict[str, tuple[float, float]],
    boxes: dict[str, Text],
) -> None:
    seen: dict[tuple[str, str], int] = {}
    for edge in edges:
        pair = (edge.source, edge.target)
        repeat = seen.get(pair, 0)
        seen[pair] = repeat + 1
        colour = "#777777" if edge.sender_only else "#222222"
        arrow: dict[str, Any] = {
            "arrowstyle": "-|>",
            "mutation_scale": 14,
            "color": colour,
            "lw": 1.2,
            "ls": "--" if edge.sender_only else "-",
        }
        x0, y0 = positions[edge.source]
        x1, y1 = positions[edge.target]
        if edge.source == edge.target:
            # A loop over the top of the box: from its upper left to its upper right corner.
            start, end, rad = (x0 - 0.3, y0 + 0.25), (x0 + 0.3, y0 + 0.25), -1.6 - 0.4 * repeat
        else:
            start, end, rad = (x0, y0), (x1, y1), 0.18 + 0.22 * repeat
            arrow["patchA"] = boxes[edge.source].get_bbox_patch()
            arrow["patchB"] = boxes[edge.target].get_bbox_patch()
        arrow["connectionstyle"] = f"arc3,rad={rad}"
        axes.annotate("", xy=end, xytext=start, arrowprops=arrow, zorder=2)
        lines = edge_lines(edge)
        if lines:
            _draw_edge_label(
                axes, "\n".join(lines), start, end, rad=rad, colour=colour, loop=edge.source == edge.target
            )


def _draw_edge_label(
    axes: Axes,
    text: str,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    rad: float,
    colour: str,
    loop: bool,
) -> None:
    """Write an arrow's text beside the middle of its curve, on the outside, so it never hides it."""
    # The middle of matplotlib's arc3 curve is the chord's midpoint pushed sideways by rad / 2 of
    # the chord, along (dy, -dx); the label is anchored just beyond it, in the same direction.
    dx, dy = end[0] - start[0], end[1] - start[1]
    bulge_x, bulge_y = rad * dy / 2, -rad * dx / 2
    x = (start[0] + end[0]) / 2 + bulge_x
    y = (start[1] + end[1]) / 2 + bulge_y + (0.05 if loop else 0.0)
    if loop or abs(bulge_y) >= abs(bulge_x):
        ha, va = "center", "bottom" if loop or bulge_y > 0 else "top"
    else:
        ha, va = ("left" if bulge_x > 0 else "right"), "center"
    axes.text(x, y, text, fontsize=8, ha=ha, va=va, color=colour, zorder=4, linespacing=1.25)


def _column_gap(graph: FlowGraph) -> float:
    """Room between columns for the widest arrow text, at about 0.065 inch per 8-point character."""
    widest = max((len(line) for edge in graph.edges for line in edge_lines(edge)), default=0)
    return max(3.0, 0.065 * widest + 1.6)
