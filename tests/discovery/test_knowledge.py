"""Background knowledge for PC: against the maximally oriented PDAG, enumerated by brute force.

With a d-separation oracle, PC with knowledge must return exactly the edges oriented alike in every DAG of
the true DAG's Markov equivalence class that satisfies the knowledge (Meek 1995): that class is enumerated
(``latentscm.testing.maximally_oriented_pdag``) over all orientations of the true skeleton, without PC or
Meek's rules.
"""


import networkx as nx
import numpy as np
import pytest

from latentscm.discovery import pc
from latentscm.discovery.knowledge import BackgroundKnowledge, orient_by_knowledge
from latentscm.testing.oracles import DSeparationOracle, maximally_oriented_pdag, random_dag, random_knowledge


def _oracle_pc(a, **options):
    graph = nx.DiGraph(a)
    graph.add_nodes_from(range(a.shape[0]))
    placeholder = np.random.default_rng(1).normal(size=(20, a.shape[0]))
    return pc(placeholder, ci_test=DSeparationOracle(graph), alpha=0.5, **options)


@pytest.mark.parametrize("seed", range(4))
def test_oracle_pc_with_knowledge_is_the_maximally_oriented_pdag(seed):
    rng = np.random.default_rng(seed)
    names = [f"v{i}" for i in range(7)]
    gained = 0
    for _ in range(25):
        d = int(rng.integers(3, 8))
        a, order = random_dag(rng, d)
        knowledge = random_knowledge(rng, a, order, names[:d])
        forbidden, required = knowledge.matrices(names[:d])
        found = _oracle_pc(a, node_names=names[:d], knowledge=knowledge)
        expected = maximally_oriented_pdag(a, forbidden, required)
        np.testing.assert_array_equal(found.adjacency, expected, err_msg=str(a.tolist()))
        plain = _oracle_pc(a, node_names=names[:d]).adjacency
        gained += int((plain & plain.T).sum() - (found.adjacency & found.adjacency.T).sum()) // 2
    assert gained > 0  # the knowledge oriented edges the data alone leave undirected


def test_a_full_tier_order_gives_the_true_dag():
    rng = np.random.default_rng(5)
    for _ in range(20):
        a, order = random_dag(rng, 6)
        names = [f"x{i}" for i in range(6)]
        tiers = [[names[v]] for v in order]
        found = _oracle_pc(a, node_names=names, knowledge={"tiers": tiers})
        np.testing.assert_array_equal(found.adjacency, a)


@pytest.mark.parametrize("rule", ["conservative", "majority", "maxp"])
def test_other_collider_rules_stay_sound_with_knowledge(rule):
    """Their Meek pass has R1-R3 only, so they may orient less than the maximal PDAG, never against it."""
    rng = np.random.default_rng(3)
    names = [f"v{i}" for i in range(7)]
    for _ in range(20):
        d = int(rng.integers(3, 8))
        a, order = random_dag(rng, d)
        knowledge = random_knowledge(rng, a, order, names[:d])
        expected = maximally_oriented_pdag(a, *knowledge.matrices(names[:d]))
        found = _oracle_pc(a, node_names=names[:d], knowledge=knowledge, collider_rule=rule).adjacency
        np.testing.assert_array_equal(found | found.T, expected | expected.T)
        # it may leave an edge undirected that the maximal PDAG orients; what it orients must agree
        oriented = (found == 1) & (found.T == 0)
        assert np.all(expected[oriented] == 1) and np.all(expected.T[oriented] == 0), a.tolist()
        required = knowledge.matrices(names[:d])[1]
        assert np.all(oriented[required])


def test_skeleton_keeps_required_pairs_untested_and_drops_pairs_forbidden_both_ways():
    rng = np.random.default_rng(0)
    n = 3000
    a = rng.normal(size=n)
    b = a + rng.normal(size=n)
    c = rng.normal(size=n)  # independent of both
    data = {"a": a, "b": b, "c": c}
    plain = pc(data)
    assert plain.undirected_edges == [("a", "b")]
    kept = pc(data, knowledge={"required": [["c", "a"]]})
    # c -> a is kept against the data, which then separate c and b by the empty set: a collider at a
    assert set(kept.directed_edges) == {("c", "a"), ("b", "a")} and kept.undirected_edges == []
    dropped = pc(data, knowledge={"forbidden": [["a", "b"], ["b", "a"]]})
    assert dropped.directed_edges == [] and dropped.undirected_edges == []
    assert dropped.info["knowledge"]["forbidden"] == [["a", "b"], ["b", "a"]]
    assert dropped.info["unseparated_forbidden_pairs"] == [("a", "b")]
    one_way = pc(data, knowledge={"forbidden": [["a", "b"]]})
    assert one_way.directed_edges == [("b", "a")]


def test_no_collider_is_read_at_a_forbidden_pair_the_data_never_separated():
    """A triangle a -> b -> c, a -> c with a - c forbidden both ways: the data never separate a and c, so there
    is no separating set to read the triple a - b - c from; an empty one would make it a collider."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=3000)
    b = a + rng.normal(size=3000)
    c = b + 0.5 * a + rng.normal(size=3000)
    found = pc({"a": a, "b": b, "c": c}, knowledge={"forbidden": [["a", "c"], ["c", "a"]]})
    assert found.directed_edges == [] and sorted(found.undirected_edges) == [("a", "b"), ("b", "c")]
    assert found.info["unseparated_forbidden_pairs"] == [("a", "c")]


def test_tiers_forbid_edges_into_earlier_tiers_and_optionally_within():
    k = BackgroundKnowledge(tiers=[["a", "b"], ["c"]])
    assert k.is_forbidden("c", "a") and not k.is_forbidden("a", "c") and not k.is_forbidden("a", "b")
    assert not k.is_forbidden("c", "z")  # not in a tier: unconstrained
    strict = BackgroundKnowledge(tiers=[["a", "b"], ["c"]], forbid_within_tiers=True)
    forbidden, required = strict.matrices(["c", "b", "a", "z"])
    assert forbidden.tolist() == [[False, True, True, False], [False, False, True, False],
                                  [False, True, False, False], [False, False, False, False]]
    assert not required.any()


def test_round_trips():
    k = BackgroundKnowledge(forbidden=[("a", "b")], required=[("c", "a")], tiers=[["c"], ["a", "b"]])
    assert BackgroundKnowledge.from_json(k.to_json()) == k
    assert BackgroundKnowledge.from_dict(k.to_dict()) == k


@pytest.mark.parametrize("options, message", [
    ({"required": [("a", "b")], "forbidden": [("a", "b")]}, "requires a -> b and forbids it"),
    ({"required": [("b", "a")], "tiers": [["a"], ["b"]]}, "requires b -> a and forbids it by its tiers"),
    ({"required": [("a", "b"), ("b", "a")]}, "requires both"),
    ({"required": [("a", "b"), ("b", "c"), ("c", "a")]}, "form the cycle a -> b -> c -> a"),
    ({"forbidden": [("a", "a")]}, "self-loop"),
    ({"forbidden": [("a",)]}, "two node names"),
    ({"tiers": [["a"], ["a", "b"]]}, "'a' is in tiers 0 and 1"),
    ({"tiers": [["a", "b", "a"]]}, "Tier 0 of the .tiers. argument of BackgroundKnowledge lists the node .a. twice"),
    ({"tiers": [["a", 3]]}, "holds 3"),
])
def test_contradictions_and_bad_entries_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        BackgroundKnowledge(**options)


def test_bad_knowledge_given_to_pc_is_named():
    data = np.random.default_rng(0).normal(size=(100, 3))
    with pytest.raises(ValueError, match=r"names the node\(s\) \['q'\], which are not among"):
        pc(data, knowledge={"forbidden": [["q", "X0"]]})
    with pytest.raises(ValueError, match="unknown key"):
        pc(data, knowledge={"forbiden": [["X1", "X0"]]})
    with pytest.raises(TypeError, match="'knowledge' argument of pc"):
        pc(data, knowledge=[("X1", "X0")])
    with pytest.raises(ValueError, match="not valid JSON"):
        BackgroundKnowledge.from_json("{", "knowledge.json")


def test_orient_by_knowledge_refuses_a_skeleton_built_without_it():
    skeleton = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="lacks the required edge 0 -> 2"):
        orient_by_knowledge(skeleton, np.zeros((3, 3), bool), np.eye(3, k=2, dtype=bool))
    both = np.zeros((3, 3), bool)
    both[0, 1] = both[1, 0] = True
    with pytest.raises(ValueError, match="forbidden both ways"):
        orient_by_knowledge(skeleton, both, np.zeros((3, 3), bool))


def test_without_knowledge_the_enumeration_is_the_oracle_cpdag():
    rng = np.random.default_rng(9)
    for _ in range(30):
        a, _ = random_dag(rng, int(rng.integers(3, 8)))
        np.testing.assert_array_equal(_oracle_pc(a).adjacency, maximally_oriented_pdag(a))
    collider = np.array([[0, 1, 0], [0, 0, 0], [0, 1, 0]])  # alone in its class
    forbidden = np.zeros((3, 3), bool)
    forbidden[0, 1] = True
    with pytest.raises(ValueError, match="No DAG Markov equivalent"):
        maximally_oriented_pdag(collider, forbidden)
    with pytest.raises(ValueError, match="max_edges=1"):
        maximally_oriented_pdag(collider, max_edges=1)


def test_oracle_cdnod_with_knowledge_is_the_maximally_oriented_pdag_with_a_root_context():
    """CD-NOD's context is a root: the truth is the maximal PDAG under the knowledge plus "nothing causes C"."""
    from latentscm.discovery import cdnod

    rng = np.random.default_rng(4)
    gained = 0
    for _ in range(40):
        d = int(rng.integers(2, 6))
        a, order = random_dag(rng, d + 1)
        context = d
        a[:, context] = 0  # the context (last node) has no parents
        order = np.array([context, *[v for v in order if v != context]])
        names = [f"v{i}" for i in range(d)] + ["C"]
        knowledge = random_knowledge(rng, a, order, names)
        forbidden, required = knowledge.matrices(names)
        forbidden[:, context] = True
        forbidden[context, context] = False
        expected = maximally_oriented_pdag(a, forbidden, required)
        graph = nx.DiGraph(a)
        graph.add_nodes_from(range(d + 1))
        placeholder = np.random.default_rng(1).normal(size=(20, d))
        found = cdnod(placeholder, np.arange(20) % 2, ci_test=DSeparationOracle(graph), alpha=0.5,
                      node_names=names[:d], context_name="C", knowledge=knowledge)
        np.testing.assert_array_equal(found.adjacency, expected, err_msg=str(a.tolist()))
        plain = cdnod(placeholder, np.arange(20) % 2, ci_test=DSeparationOracle(graph), alpha=0.5,
                      node_names=names[:d], context_name="C").adjacency
        root_only = np.zeros_like(forbidden)
        root_only[:d, context] = True
        np.testing.assert_array_equal(plain, maximally_oriented_pdag(a, root_only))  # CD-NOD without knowledge
        gained += int((plain & plain.T).sum() - (found.adjacency & found.adjacency.T).sum()) // 2
    assert gained > 0
    with pytest.raises(ValueError, match="requires v0 -> C, but the context 'C' is a root"):
        cdnod(placeholder, np.arange(20) % 2, ci_test=DSeparationOracle(graph), alpha=0.5, node_names=names[:d],
              knowledge={"required": [["v0", "C"]]})
