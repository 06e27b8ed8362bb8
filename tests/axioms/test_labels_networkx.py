"""Every label is right by an independent computation: the token sequence is parsed back into the graph
it states, and networkx answers the question (directed path / d-separation)."""

import networkx as nx
import pytest

from latentscm.axioms import AxiomDistribution, evaluation_sets
from latentscm.axioms.vocabulary import ANSWER, ASK_CAUSES, ASK_DSEP, CAUSES, GIVEN


def _networkx_answer(tokens):
    """The answer of a demonstration, from its tokens alone."""
    assert tokens[-1] == ANSWER
    edges, i = [], 0
    while tokens[i] not in (ASK_CAUSES, GIVEN):
        assert tokens[i + 1] == CAUSES
        edges.append((tokens[i], tokens[i + 2]))
        i += 3
    if tokens[i] == ASK_CAUSES:
        x, y, given = tokens[i + 1], tokens[i + 2], []
    else:
        ask = tokens.index(ASK_DSEP)
        given, x, y = tokens[i + 1:ask], tokens[ask + 1], tokens[ask + 2]
    graph = nx.DiGraph(edges)
    graph.add_nodes_from([x, y, *given])
    assert nx.is_directed_acyclic_graph(graph) and x != y and not {x, y} & set(given)
    if tokens[i] == ASK_CAUSES:
        return nx.has_path(graph, x, y)
    return nx.is_d_separator(graph, {x}, {y}, set(given))


@pytest.mark.parametrize("params", [{}, {"branch_prob": 0.5, "dsep_fraction": 0.5, "max_given": 3},
                                    {"flip_prob": 1.0, "branching": 2.0, "branch_prob": 0.3}])
def test_training_labels(params):
    distribution = AxiomDistribution(**params)
    demos = distribution.sample(400, seed=25)
    vocabulary = distribution.vocabulary()
    for demo in demos:
        assert vocabulary.decode(vocabulary.encode(demo.tokens())) == demo.tokens()
        assert demo.answer == _networkx_answer(demo.tokens()), demo.text()
    assert {(d.kind, d.answer) for d in demos} >= {("causes", True), ("causes", False)}


def test_unperturbed_labels():
    for demo in AxiomDistribution.unperturbed().sample(200, seed=3):
        assert demo.answer == _networkx_answer(demo.tokens()), demo.text()


def test_evaluation_labels():
    sets = evaluation_sets(n_per_set=30, seed=25, branching=2.0)
    for name, demos in sets.items():
        for demo in demos:
            assert demo.answer == _networkx_answer(demo.tokens()), (name, demo.text())
        assert all(d.kind == ("dseparated" if name.startswith("dsep_") else "causes") for d in demos)
