import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from latentscm.graph import CausalGraph
from latentscm.metrics import (
    arrowhead_scores,
    compare_graphs,
    dag_to_cpdag,
    edge_auprc,
    edge_auroc,
    shd,
    skeleton_scores,
)


def adjacency(n, edges, undirected=()):
    matrix = np.zeros((n, n), dtype=int)
    for i, j in edges:
        matrix[i, j] = 1
    for i, j in undirected:
        matrix[i, j] = matrix[j, i] = 1
    return matrix


CHAIN = adjacency(3, [(0, 1), (1, 2)])           # 0 -> 1 -> 2
FORK = adjacency(3, [(1, 0), (1, 2)])            # 0 <- 1 -> 2 (Markov equivalent to CHAIN)
COLLIDER = adjacency(3, [(0, 1), (2, 1)])        # 0 -> 1 <- 2 (a v-structure)


def test_shd_hand_counted():
    assert shd(CHAIN, CHAIN) == 0
    assert shd(CHAIN, FORK) == 1                  # one reversed edge
    assert shd(CHAIN, COLLIDER) == 1              # 1 -> 2 reversed
    assert shd(CHAIN, adjacency(3, [])) == 2      # two missing edges
    assert shd(CHAIN, adjacency(3, [(0, 1), (1, 2), (0, 2)])) == 1  # one extra edge
    assert shd(CHAIN, adjacency(3, [(0, 1)], undirected=[(1, 2)])) == 1  # directed vs undirected
    # 4 nodes: truth 0->1, 1->2, 2->3; estimate 1->0 (reversed), 1->2 (right), 0->3 (extra),
    # 2->3 missing: 3.
    truth = adjacency(4, [(0, 1), (1, 2), (2, 3)])
    estimate = adjacency(4, [(1, 0), (1, 2), (0, 3)])
    assert shd(truth, estimate) == 3
    assert isinstance(shd(truth, estimate), float)


def test_cpdag_conversion():
    np.testing.assert_array_equal(dag_to_cpdag(CHAIN), adjacency(3, [], [(0, 1), (1, 2)]))
    np.testing.assert_array_equal(dag_to_cpdag(COLLIDER), COLLIDER)
    # 0 -> 2 <- 1, 2 -> 3: the v-structure compels 2 -> 3 by Meek's rule R1.
    dag = adjacency(4, [(0, 2), (1, 2), (2, 3)])
    np.testing.assert_array_equal(dag_to_cpdag(dag), dag)
    # Rule R2: a -> b -> c with a - c. DAG 0->1, 1->2, 0->2, 3->1 (v-structure 3->1<-0).
    dag = adjacency(4, [(0, 1), (1, 2), (0, 2), (3, 1)])
    np.testing.assert_array_equal(dag_to_cpdag(dag), dag)
    # Rule R3 (Meek 1995): 1 - 0 - 2, 1 -> 3 <- 2 (a v-structure), 0 - 3  =>  0 -> 3.
    dag = adjacency(4, [(0, 1), (0, 2), (1, 3), (2, 3), (0, 3)])
    expected = adjacency(4, [(1, 3), (2, 3), (0, 3)], undirected=[(0, 1), (0, 2)])
    np.testing.assert_array_equal(dag_to_cpdag(dag), expected)
    # A complete DAG has no v-structures: everything reversible.
    complete = np.triu(np.ones((3, 3), dtype=int), 1)
    np.testing.assert_array_equal(dag_to_cpdag(complete), complete | complete.T)


def test_shd_between_equivalence_classes():
    assert shd(CHAIN, FORK, cpdag=True) == 0      # Markov equivalent
    assert shd(CHAIN, COLLIDER, cpdag=True) == 2  # two undirected vs two directed edges
    cpdag = adjacency(3, [], [(0, 1), (1, 2)])    # an estimate that is already a CPDAG
    assert shd(CHAIN, cpdag, cpdag=True) == 0
    assert shd(CHAIN, cpdag) == 2


def test_skeleton_and_arrowhead_hand_counted():
    truth = adjacency(4, [(0, 1), (1, 2), (2, 3)])
    estimate = adjacency(4, [(1, 0), (1, 2)], undirected=[(0, 3)])
    # Skeleton: estimated {01, 12, 03}, true {01, 12, 23}: 2 hits -> P = R = 2/3.
    assert skeleton_scores(truth, estimate) == pytest.approx(
        {"skeleton.precision": 2 / 3, "skeleton.recall": 2 / 3, "skeleton.f1": 2 / 3})
    # Arrowheads: estimated {1->0, 1->2} (0 - 3 has none), true {0->1, 1->2, 2->3}: 1 hit.
    assert arrowhead_scores(truth, estimate) == pytest.approx(
        {"arrowhead.precision": 1 / 2, "arrowhead.recall": 1 / 3, "arrowhead.f1": 0.4})
    both = compare_graphs(truth, estimate)
    assert both["graph.shd"] == 3 and both["skeleton.f1"] == pytest.approx(2 / 3)


def test_empty_graph_conventions():
    empty = adjacency(3, [])
    assert skeleton_scores(empty, empty)["skeleton.f1"] == 1.0
    scores = skeleton_scores(CHAIN, empty)
    assert scores["skeleton.precision"] == 0.0 and scores["skeleton.recall"] == 0.0
    assert scores["skeleton.f1"] == 0.0


def test_accepts_causal_graph_objects():
    truth = CausalGraph([("a", "b"), ("b", "c")], nodes=["a", "b", "c"])
    estimate = CausalGraph([("b", "a"), ("b", "c")], nodes=["a", "b", "c"])
    assert shd(truth, estimate) == 1
    assert shd(truth, estimate, cpdag=True) == 0


def test_edge_auroc_auprc_hand_computed():
    truth = adjacency(3, [(0, 1), (1, 2)])
    scores = np.array([[0.0, 0.9, 0.3], [0.4, 0.0, 0.8], [0.1, 0.2, 0.0]])
    # Ordered off-diagonal pairs: positives 0.9, 0.8; negatives 0.3, 0.4, 0.1, 0.2 -> AUROC 1.
    assert edge_auroc(truth, scores) == 1.0
    assert edge_auprc(truth, scores) == 1.0
    scores[0, 2] = 0.85  # one negative now outranks positive 0.8: 7 of 8 pairs right
    assert edge_auroc(truth, scores) == pytest.approx(7 / 8)
    # Average precision: ranks 0.9 (+), 0.85 (-), 0.8 (+): (1 + 2/3) / 2.
    assert edge_auprc(truth, scores) == pytest.approx((1 + 2 / 3) / 2)
    labels = truth[~np.eye(3, dtype=bool)]
    assert edge_auprc(truth, scores) == pytest.approx(
        average_precision_score(labels, scores[~np.eye(3, dtype=bool)]))
    # Undirected: pairs {01: .9, 02: .85, 12: .8}; true skeleton {01, 12}: 1 of 2 pairs right.
    assert edge_auroc(truth, scores, directed=False) == pytest.approx(0.5)


def test_graph_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="'estimated'.*same nodes"):
        shd(CHAIN, np.zeros((4, 4), dtype=int))
    with pytest.raises(ValueError, match="'true'.*square"):
        shd(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="'estimated'.*only 0 and 1"):
        shd(CHAIN, CHAIN * 2)
    with pytest.raises(ValueError, match="self-loop"):
        shd(CHAIN, np.eye(3, dtype=int))
    with pytest.raises(ValueError, match="directed cycle"):
        shd(CHAIN, adjacency(3, [(0, 1), (1, 2), (2, 0)]), cpdag=True)
    with pytest.raises(ValueError, match="both edges and non-edges"):
        edge_auroc(adjacency(2, [], [(0, 1)]), np.ones((2, 2)))


@settings(max_examples=40, deadline=None)
@given(st.integers(3, 6), st.integers(0, 2**31 - 1))
def test_covered_edge_reversal_keeps_the_cpdag(n, seed):
    # Chickering (1995): reversing a covered edge x -> y (pa(y) = pa(x) + {x}) gives a Markov
    # equivalent DAG, so both have the same CPDAG, in which that edge is undirected.
    rng = np.random.default_rng(seed)
    dag = np.triu((rng.random((n, n)) < 0.5).astype(int), 1)
    order = rng.permutation(n)
    dag = dag[np.ix_(order, order)]
    cpdag = dag_to_cpdag(dag)
    assert shd(dag, dag, cpdag=True) == 0
    assert shd(cpdag, cpdag) == 0
    # Every edge of the DAG is in the CPDAG's skeleton, and compelled edges keep their direction.
    np.testing.assert_array_equal(cpdag | cpdag.T, dag | dag.T)
    assert np.all(cpdag[dag == 1] == 1)
    for x, y in zip(*np.nonzero(dag)):
        parents_y = set(np.flatnonzero(dag[:, y]))
        if parents_y == set(np.flatnonzero(dag[:, x])) | {x}:
            reversed_dag = dag.copy()
            reversed_dag[x, y], reversed_dag[y, x] = 0, 1
            np.testing.assert_array_equal(dag_to_cpdag(reversed_dag), cpdag)
            assert cpdag[x, y] == 1 and cpdag[y, x] == 1  # a covered edge is reversible


def v_structures(dag):
    n = len(dag)
    return {(a, c, b) for c in range(n) for a in range(n) for b in range(a + 1, n)
            if dag[a, c] and dag[b, c] and not (dag[a, b] or dag[b, a])}


def is_acyclic(dag):
    remaining = list(range(len(dag)))
    while remaining:
        roots = [v for v in remaining if not any(dag[u, v] for u in remaining)]
        if not roots:
            return False
        remaining = [v for v in remaining if v not in roots]
    return True


@settings(max_examples=25, deadline=None)
@given(st.integers(3, 5), st.integers(0, 2**31 - 1))
def test_cpdag_matches_brute_force_equivalence_class(n, seed):
    # Oracle: enumerate every orientation of the skeleton, keep the DAGs with the same
    # v-structures (Verma & Pearl 1990: exactly the Markov equivalent ones); an edge is directed
    # in the CPDAG iff all of them orient it the same way.
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    dag = np.triu((rng.random((n, n)) < 0.6).astype(int), 1)[np.ix_(order, order)]
    edges = list(zip(*np.nonzero(dag)))
    target = v_structures(dag)
    members = []
    for mask in range(2 ** len(edges)):
        candidate = np.zeros_like(dag)
        for bit, (x, y) in enumerate(edges):
            if mask >> bit & 1:
                candidate[y, x] = 1
            else:
                candidate[x, y] = 1
        if is_acyclic(candidate) and v_structures(candidate) == target:
            members.append(candidate)
    union = np.max(members, axis=0)
    expected = union  # an edge seen both ways in the class is undirected
    np.testing.assert_array_equal(dag_to_cpdag(dag), expected)
