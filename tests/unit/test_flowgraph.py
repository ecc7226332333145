"""``summoner_client.flowgraph``: the graph of a small seller flow, its warnings, and its drawings.

The seller is built here with real decorators, so the graph is checked against what binding
really produces (parsed routes, registration order), not against hand-made route objects.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from summoner_client.client import SummonerClient
from summoner_client.flowgraph import build_flow_graph, layered_layout, to_dot, to_mermaid, to_png
from summoner_client.protocol import Action, Event, Move, Stay


def make_seller() -> SummonerClient:
    """A seller: idle -> negotiating -> sold, with a refusal loop, a cancel gate and loose ends."""
    agent = SummonerClient("seller")
    flow = agent.flow().activate()
    flow.add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    trigger = flow.triggers(json_dict={"ok": None, "no": None})

    @agent.receive(route="--> idle")
    async def begin(msg: Any) -> Event:
        return Stay(trigger.ok)

    @agent.receive(route="idle --[ offer ]--> negotiating")
    async def on_offer(msg: Any) -> Event:
        return Move(trigger.ok)

    @agent.receive(route="negotiating --[ accept ]--> sold")
    async def on_accept(msg: Any) -> Event:
        return Move(trigger.ok)

    @agent.receive(route="negotiating --[ refuse ]--> idle")
    async def on_refuse(msg: Any) -> Event:
        return Move(trigger.no)

    @agent.receive(route="/not(sold) --[ cancel ]--> idle", priority=1)
    async def on_cancel(msg: Any) -> Event:
        return Move(trigger.no)

    @agent.receive(route="archived")
    async def in_archive(msg: Any) -> None:
        return None

    @agent.send(route="negotiating --[ accept ]--> sold", on_actions={Action.MOVE})
    async def confirm() -> dict[str, Any]:
        return {}

    @agent.send(route="sold --> shipped", on_actions={Action.MOVE})
    async def ship() -> dict[str, Any]:
        return {}

    @agent.send(route="", every=2)
    async def heartbeat() -> dict[str, Any]:
        return {}

    return agent


@pytest.fixture(scope="module")
def seller_graph() -> Any:
    return build_flow_graph(make_seller())


def test_states_and_gates_become_nodes_in_order_of_first_appearance(seller_graph: Any) -> None:
    nodes = [(node.text, node.role) for node in seller_graph.nodes]
    assert nodes == [
        ("", "start"),
        ("idle", "state"),
        ("negotiating", "state"),
        ("sold", "state"),
        ("/not(sold)", "gate"),
        ("archived", "state"),
        ("shipped", "state"),
    ]
    assert seller_graph.node("archived").handlers == ("receive: in_archive",)


def test_each_route_is_an_edge_with_its_label_and_the_handlers_on_it(seller_graph: Any) -> None:
    (accept,) = seller_graph.edges_between("negotiating", "sold")
    assert accept.label == ("accept",)
    assert accept.route == "negotiating--[accept]-->sold"
    assert accept.receivers == ("on_accept",)
    assert accept.senders == ("confirm [on Move]",)
    assert not accept.sender_only
    (cancel,) = seller_graph.edges_between("/not(sold)", "idle")
    assert cancel.receivers == ("on_cancel (priority (1,))",)
    (initial,) = [edge for edge in seller_graph.edges if edge.source == "start"]
    assert seller_graph.nodes[[n.id for n in seller_graph.nodes].index(initial.target)].text == "idle"
    (ship,) = seller_graph.edges_between("sold", "shipped")
    assert ship.sender_only
    assert seller_graph.unrouted == ("send: heartbeat [every 2s] (route '')",)


def test_a_route_with_several_sources_and_targets_gives_one_edge_per_pair() -> None:
    agent = SummonerClient("fan")
    agent.flow().activate().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")

    @agent.receive(route="a, b --[ go ]--> c, d")
    async def fan(msg: Any) -> None:
        return None

    graph = build_flow_graph(agent)
    pairs = {(e.source, e.target) for e in graph.edges}
    ids = {node.text: node.id for node in graph.nodes}
    assert pairs == {(ids[s], ids[t]) for s in "ab" for t in "cd"}
    assert {e.label for e in graph.edges} == {("go",)}


def test_warnings_name_unreached_and_dead_end_states_and_senders_that_never_fire(seller_graph: Any) -> None:
    warnings = "\n".join(seller_graph.warnings)
    assert "state 'archived' is never reached" in warnings
    assert "state 'shipped' is never reached" in warnings
    assert "state 'idle' is never reached" not in warnings  # the initial route reaches it
    assert "state 'sold' is never left" in warnings
    assert "state 'idle' is never left" not in warnings
    assert "state 'negotiating' is never left" not in warnings
    assert "reactive sender(s) ship on route 'sold--[]-->shipped' never fire" in warnings
    assert "confirm" not in warnings


def test_a_gate_target_reaches_the_states_it_accepts() -> None:
    agent = SummonerClient("gates")
    agent.flow().activate().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")
    for route in ("--> a", "a --[ pick ]--> /oneof(b, c)", "b --> a", "c --> a"):
        agent.add_receive(_noop, route)

    assert build_flow_graph(agent).warnings == ()


async def _noop(msg: Any) -> None:
    return None


def test_an_inactive_flow_draws_nothing_and_says_why() -> None:
    agent = SummonerClient("plain")

    @agent.receive(route="chat")
    async def chat(msg: Any) -> None:
        return None

    graph = build_flow_graph(agent)
    assert graph.nodes == ()
    assert graph.unrouted == ("receive: chat (route 'chat')",)
    assert graph.warnings[0].startswith("the flow is not active")


def test_mermaid_draws_states_gates_labels_and_dashed_sender_only_arrows(seller_graph: Any) -> None:
    lines = to_mermaid(seller_graph).splitlines()
    assert lines[0] == "flowchart LR"
    assert '    n0(["idle"])' in lines
    assert '    n3{{"/not(sold)"}}' in lines
    assert '    n4(["archived<br/>receive: in_archive"])' in lines
    assert '    start((" "))' in lines
    assert '    start -->|"receive: begin"| n0' in lines
    assert '    n1 -->|"accept<br/>receive: on_accept<br/>send: confirm [on Move]"| n2' in lines
    assert '    n2 -.->|"send: ship [on Move]"| n5' in lines
    assert "    class n3 gate" in lines


def test_dot_draws_the_same_graph(seller_graph: Any) -> None:
    text = to_dot(seller_graph)
    assert text.startswith('digraph "seller" {\n    rankdir=LR;')
    lines = text.splitlines()
    assert '    n3 [label="/not(sold)", shape=hexagon, style=dashed];' in lines
    assert '    start [label="", shape=point, width=0.15];' in lines
    assert '    n1 -> n2 [label="accept\\nreceive: on_accept\\nsend: confirm [on Move]"];' in lines
    assert '    n2 -> n5 [label="send: ship [on Move]", style=dashed];' in lines
    assert text.endswith("}\n")


def test_text_that_would_break_the_syntax_is_escaped() -> None:
    agent = SummonerClient('say "hi"\nnow')
    agent.flow().activate().add_arrow_style(stem="-", brackets=("[", "]"), separator=",", tip=">")

    @agent.receive(route="a --> b")
    async def step(msg: Any) -> None:
        return None

    graph = build_flow_graph(agent)
    assert '%% flow of agent say "hi" now' in to_mermaid(graph)
    assert to_dot(graph).startswith('digraph "say \\"hi\\"\\nnow" {')


def test_layout_puts_each_state_one_column_further_from_the_start(seller_graph: Any) -> None:
    layout = layered_layout(seller_graph, column_gap=1.0)
    ids = {node.text: node.id for node in seller_graph.nodes}
    column = {text: layout.positions[node_id][0] for text, node_id in ids.items()}
    assert column[""] == 0.0  # the start dot
    assert column["idle"] == 1.0
    assert column["negotiating"] == 2.0
    assert column["sold"] == 3.0
    assert column["shipped"] == 4.0


def test_png_is_a_png(seller_graph: Any) -> None:
    assert to_png(seller_graph).startswith(b"\x89PNG\r\n\x1a\n")


def test_png_without_matplotlib_says_which_extra_to_install(
    seller_graph: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules makes the import fail
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'summoner-client\[graph\]'"):
        to_png(seller_graph)
