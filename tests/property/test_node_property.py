"""``Node.accepts`` against a set model, and ``Node`` text round trips.

The model reads each node as a set of state names: plain ``s`` is ``{s}``, ``/oneof(S)`` is ``S``,
``/not(S)`` is everything outside ``S`` and ``/all`` is everything. Names are drawn from a small
alphabet; the universe is that alphabet plus ``OTHER``, which stands for every name never written
(the real universe is infinite, so a complement is never empty).

``gate.accepts(state)`` equals "the two sets meet" in every cell of the spec's table except these,
where the table is the contract and the model disagrees:

- gate ``/not(G)``, state ``/oneof(S)``: the table says True always; the sets meet only when ``S ⊄ G``
  (so ``/not(a,b)`` accepts ``/oneof(a)``, and every ``/not(G)`` accepts ``/oneof()``);
- gate ``/all``, state ``/oneof()``, and gate ``/oneof()``, state ``/all``: the table says True (``/all``
  accepts and is accepted by everything); the empty set meets nothing.

Every other cell agrees with the model, including those that do not read as intersections at first
sight: plain ``g`` against ``/not(S)`` is ``g ∉ S``, which is ``{g} ∩ complement(S) ≠ ∅``, and
``/oneof(G)`` against ``/not(S)`` is ``G − S ≠ ∅``, which is ``G ∩ complement(S) ≠ ∅``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from summoner_client.protocol.process import Node

SETTINGS = settings(max_examples=200, deadline=None, database=None)

ALPHABET = ("a", "b", "c", "d")
OTHER = "<other>"
UNIVERSE = frozenset((*ALPHABET, OTHER))

names = st.sampled_from(ALPHABET)
name_lists = st.lists(names, max_size=4)
nodes = st.one_of(
    st.just(Node("/all")),
    names.map(Node),
    name_lists.map(lambda items: Node(f"/not({', '.join(items)})")),
    name_lists.map(lambda items: Node(f"/oneof({', '.join(items)})")),
)


def model(node: Node) -> frozenset[str]:
    """The set of state names ``node`` stands for, within ``UNIVERSE``."""
    values = frozenset(node.values or ())
    if node.kind == "all":
        return UNIVERSE
    if node.kind == "not":
        return UNIVERSE - values
    return values


def table_departs_from_model(gate: Node, state: Node) -> bool:
    """The cells listed in the module docstring, where the table says True and the sets may not meet."""
    if gate.kind == "not" and state.kind == "oneof":
        return True
    empty_oneof = {gate.kind, state.kind} == {"all", "oneof"}
    return empty_oneof and not (gate.values or state.values)


@SETTINGS
@given(nodes, nodes)
def test_accepts_agrees_with_set_intersection_outside_documented_cells(gate: Node, state: Node) -> None:
    meets = not model(gate).isdisjoint(model(state))
    if table_departs_from_model(gate, state):
        assert gate.accepts(state) is True
    else:
        assert gate.accepts(state) is meets


@SETTINGS
@given(name_lists, name_lists)
def test_not_gate_accepts_every_oneof_state_even_when_sets_do_not_meet(
    excluded: list[str], items: list[str]
) -> None:
    gate = Node(f"/not({','.join(excluded)})")
    state = Node(f"/oneof({','.join(items)})")
    assert gate.accepts(state)


@SETTINGS
@given(nodes)
def test_all_accepts_and_is_accepted_by_every_node(node: Node) -> None:
    assert Node("/all").accepts(node)
    assert node.accepts(Node("/all"))


@SETTINGS
@given(nodes)
def test_node_text_round_trips(node: Node) -> None:
    again = Node(str(node))
    assert again == node
    assert hash(again) == hash(node)
    assert repr(again) == f"Node({node})"


@SETTINGS
@given(nodes, nodes)
def test_accepts_is_symmetric_outside_documented_cells(gate: Node, state: Node) -> None:
    # Intersection is symmetric, so outside the documented cells (in either direction) so is accepts.
    if not (table_departs_from_model(gate, state) or table_departs_from_model(state, gate)):
        assert gate.accepts(state) == state.accepts(gate)
