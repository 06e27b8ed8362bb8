"""Demonstrations, vocabulary and evaluation sets: determinism, exact answers, bad input."""

import itertools

import networkx as nx
import numpy as np
import pytest

from latentscm.axioms import (
    AxiomDistribution,
    Demonstration,
    Vocabulary,
    branched_graph,
    chain_graph,
    chance_accuracy,
    demonstration,
    evaluation_sets,
    node_names,
)
from latentscm.axioms.demonstrations import answer_query, order_statements, sample_query
from latentscm.graph import CausalGraph, CycleError


def _d_separated_by_paths(graph: CausalGraph, x: str, y: str, given: set) -> bool:
    """Independent d-separation check: enumerate every undirected simple path and test the blocking
    rule node by node (Pearl 1988), without networkx's d-separation code."""
    skeleton = nx.Graph(list(graph.edges))
    skeleton.add_nodes_from(graph.nodes)
    below_given = set(given)
    for node in given:
        below_given |= graph.ancestors(node)  # a collider is open iff it or a descendant is in `given`
    edges = set(graph.edges)
    for path in nx.all_simple_paths(skeleton, x, y):
        blocked = False
        for a, b, c in zip(path, path[1:], path[2:]):
            collider = (a, b) in edges and (c, b) in edges
            if collider and b not in below_given or not collider and b in given:
                blocked = True
                break
        if not blocked:
            return False
    return True


def test_vocabulary_round_trip_padding_and_errors():
    vocabulary = Vocabulary(node_names(5))
    tokens = ["v0", ">", "v1", "?", "v0", "v1", "="]
    ids = vocabulary.encode(tokens)
    assert ids.dtype == np.int64 and vocabulary.decode(ids) == tokens
    batch, lengths = vocabulary.pad([tokens, tokens[:3]])
    assert batch.shape == (2, 7) and lengths.tolist() == [7, 3] and (batch[1, 3:] == vocabulary.pad_id).all()
    assert vocabulary.decode(batch[1]) == tokens[:3]
    with pytest.raises(KeyError, match="'v9'"):
        vocabulary.encode(["v9"])
    with pytest.raises(ValueError, match="length=2"):
        vocabulary.pad([tokens], length=2)
    with pytest.raises(ValueError, match="Duplicate names"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="special token"):
        Vocabulary(["a", ">"])
    with pytest.raises(TypeError, match="not one string"):
        vocabulary.encode("v0 > v1")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocabulary.decode([99])


def test_demonstration_text_and_tokens():
    demo = Demonstration(statements=(("A", "B"), ("B", "C")), kind="causes", x="A", y="C", given=(), answer=True)
    assert demo.text() == "A causes B. B causes C. Does A cause C? Yes"
    assert demo.tokens() == ["A", ">", "B", "B", ">", "C", "?", "A", "C", "="]
    dsep = Demonstration(statements=(("A", "B"), ("B", "C")), kind="dseparated", x="A", y="C", given=("B",),
                         answer=True)
    assert dsep.tokens()[-6:] == ["|", "B", "dsep", "A", "C", "="]
    assert "d-separated given B? Yes" in dsep.text()


def test_chain_flips_and_statement_orders():
    names = node_names(8)
    graph, statements = chain_graph(names, flip_prob=0.0, seed=0)
    assert statements == list(zip(names, names[1:]))
    assert answer_query(graph, "causes", "v0", "v7") and not answer_query(graph, "causes", "v7", "v0")
    flipped, flipped_statements = chain_graph(names, flip_prob=1.0, seed=0)
    assert flipped_statements == [(b, a) for a, b in zip(names, names[1:])]
    assert order_statements(graph, statements, order="reversed") == statements[::-1]
    shuffled = order_statements(graph, statements, order="shuffled", seed=3)
    assert sorted(shuffled) == sorted(statements) and shuffled != statements


def test_transitivity_answers_match_directed_paths():
    demos = AxiomDistribution(dsep_fraction=0.0, branch_prob=0.5).sample(200, seed=4)
    for demo in demos:
        digraph = nx.DiGraph(list(demo.statements))
        digraph.add_nodes_from([demo.x, demo.y])
        assert demo.answer == nx.has_path(digraph, demo.x, demo.y)
    answers = np.array([d.answer for d in demos])
    assert 0.4 < answers.mean() < 0.6  # balanced queries


def test_d_separation_answers_agree_with_an_independent_oracle():
    sets = evaluation_sets(n_per_set=30, lengths=[4], long_lengths=(7, 9), seed=5)
    checked = 0
    for name in ("dsep_short", "dsep_long", "dsep_branched"):
        for demo in sets[name]:
            assert demo.kind == "dseparated"
            graph = demo.graph()
            assert demo.answer == _d_separated_by_paths(graph, demo.x, demo.y, set(demo.given)), demo.text()
            checked += 1
    assert checked == 90
    # and on an exhaustive small case: every pair and conditioning set of a collider-and-fork graph
    graph = CausalGraph([("a", "c"), ("b", "c"), ("c", "d"), ("a", "e")])
    for x, y in itertools.permutations(graph.nodes, 2):
        others = [n for n in graph.nodes if n not in (x, y)]
        for size in range(3):
            for given in itertools.combinations(others, size):
                assert answer_query(graph, "dseparated", x, y, given) == _d_separated_by_paths(graph, x, y, set(given))


def test_same_seed_same_demonstrations():
    distribution = AxiomDistribution(branch_prob=0.3)
    assert distribution.sample(50, seed=7) == distribution.sample(50, seed=7)
    assert distribution.sample(50, seed=7) != distribution.sample(50, seed=8)
    assert evaluation_sets(n_per_set=6, lengths=[3, 9], seed=1) == evaluation_sets(n_per_set=6, lengths=[3, 9], seed=1)
    # each set has its own stream: asking for fewer lengths leaves the other sets unchanged
    assert evaluation_sets(n_per_set=6, lengths=[3, 9], seed=1)["branched"] == evaluation_sets(
        n_per_set=6, lengths=[3], seed=1)["branched"]


def test_perturbations_change_the_training_data():
    plain = AxiomDistribution.unperturbed().sample(100, seed=0)
    for demo in plain:
        names = [n for edge in demo.statements for n in edge]
        length = len(demo.statements) + 1
        assert set(names) <= set(node_names(length))  # fixed names v0..v{L-1}
        assert all(int(a[1:]) + 1 == int(b[1:]) for a, b in demo.statements)  # forward chain, no reversal
    perturbed = AxiomDistribution(flip_prob=0.5).sample(100, seed=0)
    assert any(int(a[1:]) > 20 for d in perturbed for a, _ in d.statements)  # names drawn from the pool
    lengths = {len(d.statements) + 1 for d in perturbed if d.kind == "causes"}
    assert lengths <= {3, 4, 5, 6} and len(lengths) == 4


def test_evaluation_sets_have_the_documented_shapes():
    sets = evaluation_sets(n_per_set=5, seed=0)
    for length in range(3, 16):
        assert all(len(d.statements) == length - 1 for d in sets[f"length_{length}"])
    assert all(7 <= len(d.graph()) <= 15 for d in sets["branched"])
    assert {"reversed", "shuffled", "branched", "dsep_short", "dsep_long", "dsep_branched"} <= set(sets)
    chance = chance_accuracy(sets)
    assert all(0.5 <= value <= 1.0 for value in chance.values())
    # the first demonstration of each ordered set, rebuilt from the set's own random stream: the reversed set lists
    # the chain's statements last edge first, the shuffled set in another order of the same statements
    from latentscm.axioms.evaluation_sets import _names
    from latentscm.training.loop import step_seed

    for name, stream in (("reversed", 1001), ("shuffled", 1002)):
        rng = np.random.default_rng(step_seed(0, stream))
        names = _names(node_names(32), int(rng.integers(7, 16)), rng)
        _, in_chain_order = chain_graph(names, flip_prob=0.5, seed=rng)
        demo = sets[name][0]
        assert demo.kind == "causes" and sorted(demo.statements) == sorted(in_chain_order)
        if name == "reversed":
            assert list(demo.statements) == list(in_chain_order)[::-1]
        else:
            assert list(demo.statements) not in (list(in_chain_order), list(in_chain_order)[::-1])


def test_bad_input_is_named():
    with pytest.raises(CycleError, match="cycle"):
        demonstration([("a", "b"), ("b", "c"), ("c", "a")], seed=0)
    with pytest.raises(ValueError, match="at least 2 nodes"):
        chain_graph(["a"], seed=0)
    with pytest.raises(ValueError, match="at least 2 nodes"):
        demonstration(CausalGraph.empty(["a"]), seed=0)
    with pytest.raises(ValueError, match="'min_length'"):
        AxiomDistribution(min_length=1)
    with pytest.raises(ValueError, match="'max_length'"):
        AxiomDistribution(min_length=5, max_length=4)
    with pytest.raises(ValueError, match="'n_names'"):
        AxiomDistribution(n_names=4, max_length=6)
    with pytest.raises(ValueError, match="'flip_prob'"):
        chain_graph(["a", "b"], flip_prob=1.5, seed=0)
    with pytest.raises(ValueError, match="'kind'"):
        demonstration(CausalGraph([("a", "b")]), "implies", seed=0)
    with pytest.raises(ValueError, match="'n_names'"):
        evaluation_sets(n_per_set=5, n_names=10, seed=0)
    with pytest.raises(TypeError, match="seed"):
        AxiomDistribution().sample(3, seed=None)
    with pytest.raises(ValueError, match="x = y"):
        answer_query(CausalGraph([("a", "b")]), "causes", "a", "a")
    with pytest.raises(ValueError, match="must not contain"):
        answer_query(CausalGraph([("a", "b"), ("b", "c")]), "dseparated", "a", "c", ["a"])
    with pytest.raises(ValueError, match="at least 2"):
        sample_query(CausalGraph.empty(["a"]), "causes", seed=0)
    with pytest.raises(ValueError, match="'branching'"):
        branched_graph(["a", "b", "c"], branching=0, seed=0)
