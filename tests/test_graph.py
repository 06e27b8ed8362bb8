import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentscm.graph import CausalGraph, CycleError, UnknownNodeError


@pytest.fixture
def pendulum():
    return CausalGraph(
        [("angle", "shadow_len"), ("light", "shadow_len"), ("angle", "shadow_pos"),
         ("light", "shadow_pos")],
        nodes=["angle", "light", "shadow_len", "shadow_pos"],
    )


def test_queries(pendulum):
    g = pendulum
    assert g.nodes == ("angle", "light", "shadow_len", "shadow_pos")
    assert g.parents("shadow_len") == ("angle", "light")
    assert g.children("angle") == ("shadow_len", "shadow_pos")
    assert g.ancestors("shadow_pos") == {"angle", "light"}
    assert g.descendants("light") == {"shadow_len", "shadow_pos"}
    assert g.descendants("shadow_len") == set()
    assert g.topological_order() == ("angle", "light", "shadow_len", "shadow_pos")
    expected = np.zeros((4, 4), int)
    expected[0, 2] = expected[0, 3] = expected[1, 2] = expected[1, 3] = 1
    np.testing.assert_array_equal(g.adjacency, expected)
    assert g.is_root("angle") and not g.is_root("shadow_pos")


def test_chain_topological_order_ignores_node_order():
    g = CausalGraph([("c", "b"), ("b", "a")], nodes=["a", "b", "c"])
    assert g.topological_order() == ("c", "b", "a")


def test_adjacency_roundtrip(pendulum):
    again = CausalGraph.from_adjacency(pendulum.adjacency, pendulum.nodes)
    assert again == pendulum


def test_networkx_roundtrip(pendulum):
    nxg = pendulum.to_networkx()
    assert isinstance(nxg, nx.DiGraph)
    assert set(nxg.edges) == set(pendulum.edges)
    assert CausalGraph.from_networkx(nxg) == pendulum


def test_text_roundtrip_keeps_isolated_nodes_and_order():
    g = CausalGraph([("b", "c")], nodes=["z", "b", "c", "a"])
    text = g.to_text()
    assert "b -> c" in text
    assert CausalGraph.from_text(text) == g


def test_text_parsing_chains_and_groups():
    g = CausalGraph.from_text("a, b -> c -> d  # comment\n e")
    assert set(g.edges) == {("a", "c"), ("b", "c"), ("c", "d")}
    assert "e" in g


def test_dot_export(pendulum):
    dot = pendulum.to_dot()
    assert dot.startswith('digraph "G" {')
    assert '"angle" -> "shadow_len";' in dot
    assert dot.count("->") == 4


def test_dict_roundtrip(pendulum):
    assert CausalGraph.from_dict(pendulum.to_dict()) == pendulum


def test_cycle_error_lists_cycle():
    with pytest.raises(CycleError) as info:
        CausalGraph([("a", "b"), ("b", "c"), ("c", "a"), ("x", "a")])
    assert isinstance(info.value, ValueError)
    assert set(info.value.cycle) == {"a", "b", "c"}
    message = str(info.value)
    for name in "abc":
        assert name in message
    assert "x" not in info.value.cycle


def test_cycle_error_on_self_loop_and_add_edges(pendulum):
    with pytest.raises(CycleError, match="a -> a"):
        CausalGraph([("a", "a")])
    with pytest.raises(CycleError, match="shadow_len"):
        pendulum.add_edges([("shadow_len", "angle")])


def test_unknown_node_lists_valid(pendulum):
    with pytest.raises(UnknownNodeError, match="Valid names: angle, light, shadow_len, shadow_pos"):
        pendulum.parents("lite")
    with pytest.raises(UnknownNodeError, match="'q'"):
        CausalGraph([("a", "q")], nodes=["a", "b"])


def test_bad_input():
    with pytest.raises(ValueError, match="pair"):
        CausalGraph([("a", "b", "c")])
    with pytest.raises(ValueError, match="Duplicate"):
        CausalGraph([], nodes=["a", "a"])
    with pytest.raises(ValueError, match="square"):
        CausalGraph.from_adjacency(np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="3 rows but 2"):
        CausalGraph.from_adjacency(np.zeros((3, 3)), ["a", "b"])
    with pytest.raises(TypeError):
        CausalGraph([], nodes="abc")
    with pytest.raises(ValueError, match="bad node"):
        CausalGraph.from_text("a -> -> b")


def test_surgery_and_subgraph(pendulum):
    cut = pendulum.remove_incoming(["shadow_len"])
    assert cut.parents("shadow_len") == ()
    assert pendulum.parents("shadow_len") == ("angle", "light")  # original untouched
    sub = pendulum.subgraph(["light", "shadow_pos"])
    assert sub.nodes == ("light", "shadow_pos") and sub.edges == (("light", "shadow_pos"),)


def test_d_separation(pendulum):
    assert pendulum.d_separated("angle", "light")
    assert not pendulum.d_separated("angle", "light", given="shadow_len")
    assert pendulum.d_separated("shadow_len", "shadow_pos", given=["angle", "light"])


def test_pickle(pendulum):
    import pickle

    assert pickle.loads(pickle.dumps(pendulum)) == pendulum


@st.composite
def random_dags(draw):
    n = draw(st.integers(1, 9))
    perm = draw(st.permutations(list(range(n))))
    names = [f"v{i}" for i in range(n)]
    edges = []
    for i in range(n):
        for j in range(i + 1, n):
            if draw(st.booleans()):
                edges.append((names[perm[i]], names[perm[j]]))
    return CausalGraph(edges, nodes=names)


@settings(max_examples=60, deadline=None)
@given(random_dags())
def test_topological_order_respects_every_edge(g):
    order = {n: i for i, n in enumerate(g.topological_order())}
    assert sorted(order) == sorted(g.nodes)
    for u, v in g.edges:
        assert order[u] < order[v]
        assert u in g.ancestors(v) and v in g.descendants(u)
    assert nx.is_directed_acyclic_graph(g.to_networkx())


@settings(max_examples=40, deadline=None)
@given(random_dags(), st.data())
def test_adding_back_edge_raises_cycle(g, data):
    if not g.edges:
        return
    u, v = data.draw(st.sampled_from(list(g.edges)))
    with pytest.raises(CycleError) as info:
        g.add_edges([(v, u)])
    cycle = info.value.cycle
    assert u in cycle and v in cycle
    # every consecutive pair of the reported cycle is an edge of the offending graph
    edges = set(g.edges) | {(v, u)}
    for a, b in zip(cycle, cycle[1:] + cycle[:1]):
        assert (a, b) in edges


def test_a_single_name_is_one_node_and_overlaps_are_named():
    graph = CausalGraph([("a", "b"), ("b", "c"), ("ab", "c")])
    assert graph.descendants_of("ab") == {"ab", "c"}
    assert graph.subgraph("ab").nodes == ("ab",)
    assert graph.remove_incoming("c").edges == (("a", "b"),)
    with pytest.raises(UnknownNodeError, match="'bc'"):
        graph.remove_incoming("bc")  # not the nodes b and c
    with pytest.raises(ValueError, match="'x' and 'given' share the node\\(s\\) \\['a'\\]"):
        graph.d_separated("a", "c", ["a"])
    for empty in ([], (), set()):  # an empty side was answered True (vacuously separated)
        with pytest.raises(ValueError, match="d_separated: 'x' is empty"):
            graph.d_separated(empty, "c")
        with pytest.raises(ValueError, match="d_separated: 'y' is empty"):
            graph.d_separated("a", empty, given="b")


def test_to_text_refuses_names_it_cannot_write_back():
    for name in ("light level", "a,b", "x#1", "p->q"):
        graph = CausalGraph([(name, "z")])
        with pytest.raises(ValueError, match="to_text cannot write the node name"):
            graph.to_text()
        assert name in str(graph)  # printing still works
    fine = CausalGraph([("light_level", "z.1"), ("z.1", "w-2")])
    assert CausalGraph.from_text(fine.to_text()).to_dict() == fine.to_dict()


def test_from_dict_refuses_strings_where_lists_belong():
    """Regression: {"nodes": "z0"} became nodes 'z' and '0', and an edge "ab" the edge a -> b."""
    for data, what in (({"nodes": "z0", "edges": []}, "'nodes'"), ({"nodes": ["a", "b"], "edges": "ab"}, "'edges'"),
                       ({"nodes": ["a", "b"], "edges": ["ab"]}, "Each edge"), ({"nodes": ["a"], "edges": [3]}, "edge")):
        with pytest.raises(ValueError, match=what):
            CausalGraph.from_dict(data)
    assert CausalGraph.from_dict({"nodes": ["ab", "c"], "edges": [["ab", "c"]]}).edges == (("ab", "c"),)


@pytest.mark.parametrize("text", [None, b"a -> b", ["a -> b"]])
def test_from_text_names_a_non_string_argument(text):
    """Regression: None and lists raised AttributeError ('splitlines'), bytes a TypeError from bytes.split."""
    with pytest.raises(TypeError, match=r"CausalGraph.from_text parses a string .*Got (NoneType|bytes|list)"):
        CausalGraph.from_text(text)


@pytest.mark.parametrize("text, name", [("a<-b", "a<-b"), ("a<->b", "a<"), ("a->>b", ">b")])
def test_from_text_refuses_arrow_fragments(text, name):
    # 'a<-b' was one node named 'a<-b', 'a<->b' the edge 'a<' -> 'b' (review s23)
    with pytest.raises(ValueError, match=f"bad node name '{name}'"):
        CausalGraph.from_text(text)
    with pytest.raises(ValueError, match="to_text cannot write"):
        CausalGraph([], nodes=["x<-y"]).to_text()
