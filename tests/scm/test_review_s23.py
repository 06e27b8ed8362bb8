"""Regression tests for the s23 review of latentscm.scm (BIF, random graphs)."""

import numpy as np
import pytest

from latentscm.graph import CausalGraph
from latentscm.scm import DiscreteSCM, format_bif, parse_bif, random_dag, random_scm


@pytest.mark.parametrize("entries", ["0.8_5, 0.1_5", "0_5, 0_5"])
def test_bif_refuses_numbers_with_underscores(entries):
    # float() reads '0.1_5' as 0.15 and '0_5' as 5: a typo must not become a probability
    text = f"variable a {{ type discrete [ 2 ] {{ x, y }}; }}\nprobability ( a ) {{ table {entries}; }}\n"
    with pytest.raises(ValueError, match="line 2: table of 'a': expected a decimal number"):
        parse_bif(text)
    text = "variable a { type discrete [ \u00b2 ] { x, y }; }\nprobability ( a ) { table 0.5, 0.5; }\n"
    with pytest.raises(ValueError, match="line 1: variable 'a' declares"):
        parse_bif(text)
    plain = parse_bif("variable a { type discrete [ 2 ] { x, y }; }\nprobability ( a ) { table .25, 7.5E-1; }\n")
    assert plain.cpts["a"].tolist() == [0.25, 0.75]


@pytest.mark.parametrize("states", [[1, "1"], [np.float32(0.1), 0.1]])
def test_format_bif_refuses_states_written_as_the_same_label(states):
    scm = DiscreteSCM(CausalGraph([], nodes=["a"]), {"a": [0.25, 0.75]}, {"a": states})
    with pytest.raises(ValueError, match="variable 'a' cannot be written to BIF"):
        format_bif(scm)


@pytest.mark.parametrize("graph_type", ["erdos_renyi", "scale_free"])
def test_random_dag_without_edge_probability_has_no_edges(graph_type):
    assert random_dag(6, edge_prob=0.0, graph_type=graph_type, seed=0).edges == ()
    assert not random_scm(5, edge_prob=0.0, graph_type=graph_type, seed=0).graph.edges
    # a small positive probability still attaches every new scale-free node (m >= 1, as documented)
    assert len(random_dag(6, edge_prob=0.01, graph_type="scale_free", seed=0).edges) == 5


def test_invertible_functional_is_listed_and_named_in_its_own_error():
    import latentscm.scm.mechanisms as mechanisms
    from latentscm.scm import InvertibleFunctional

    assert "InvertibleFunctional" in mechanisms.__all__
    with pytest.raises(TypeError, match="'inverse' of InvertibleFunctional"):
        InvertibleFunctional(lambda noise, parents: noise, inverse=3)
