"""FCI with tiered background knowledge (Andrews, Spirtes & Cooper 2020) against the enumerated MAG class:
complete when every node is in a tier, sound when some are not; bad knowledge is refused by name."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery import BackgroundKnowledge, fci
from latentscm.discovery.pag import ARROW, CIRCLE, TAIL
from latentscm.testing import DSeparationOracle, random_latent_dag, random_tiers, true_mag
from latentscm.testing.oracles import true_pag


def _case(seed: int, drop: float):
    """A random latent DAG (4-5 observed nodes), tiers cut from a topological order of the whole DAG (hidden
    nodes included, so the tiers are true), each node left out of the tiers with probability ``drop``."""
    rng = np.random.default_rng(seed)
    adjacency, p = random_latent_dag(rng, observed=(4, 6))
    graph = nx.DiGraph(adjacency)
    graph.add_nodes_from(range(adjacency.shape[0]))
    tier = random_tiers(rng, adjacency, p, drop=drop)
    names = [f"x{i}" for i in range(p)]
    tiers = [[names[v] for v in range(p) if tier[v] == t] for t in range(tier.max() + 1)]
    return graph, p, names, tier, BackgroundKnowledge(tiers=[t for t in tiers if t]), true_mag(adjacency, p)


def _oracle_fci(graph: nx.DiGraph, names: list[str], **options):
    return fci(np.zeros((20, len(names))), ci_test=DSeparationOracle(graph), alpha=0.5, node_names=names, **options)


def test_tiers_give_exactly_the_pag_of_the_restricted_class():
    """Every node in a tier: FCI's PAG equals the marks shared by every MAG of the class that respects the tiers
    (true_pag's enumeration, started from the knowledge-free PAG), on 60 random latent DAGs."""
    gained = 0
    for seed in range(60):
        graph, _, names, tier, knowledge, mag = _case(seed, drop=0.0)
        plain = _oracle_fci(graph, names).marks
        tiered = _oracle_fci(graph, names, knowledge=knowledge)
        np.testing.assert_array_equal(tiered.marks, true_pag(mag, plain, tiers=tier), err_msg=f"seed {seed}")
        gained += int(np.sum((plain == CIRCLE) & (tiered.marks != CIRCLE)))
        assert tiered.info["knowledge"] == knowledge.to_dict()
    assert gained > 60  # the tiers orient many circles, not a handful


def test_partial_tiers_are_sound():
    """Some nodes in no tier: every non-circle mark is a mark of the restricted class (the result may keep
    circles the class fixes: the rules are complete only for a tier of every node)."""
    for seed in range(60, 100):
        graph, _, names, tier, knowledge, mag = _case(seed, drop=0.3)
        plain = _oracle_fci(graph, names).marks
        tiered = _oracle_fci(graph, names, knowledge=knowledge).marks
        truth = true_pag(mag, plain, tiers=tier)
        decided = tiered != CIRCLE
        np.testing.assert_array_equal(tiered[decided], truth[decided], err_msg=f"seed {seed}")


def test_a_tier_turns_a_circle_into_an_arrowhead():
    """a <- L -> b (L hidden) and b -> c: without knowledge a o-o b o-o c. Tiers a | b | c put arrowheads at b and
    at c (a o-> b o-> c); R1 then makes b -> c (a and c are not adjacent). The mark at a stays a circle: a -> b and
    a <-> b both respect the tiers."""
    graph = nx.DiGraph([(3, 0), (3, 1), (1, 2)])  # L = 3 hidden
    names = ["a", "b", "c"]
    plain = _oracle_fci(graph, names).marks
    assert plain[0, 1] == CIRCLE and plain[1, 0] == CIRCLE
    tiered = _oracle_fci(graph, names, knowledge={"tiers": [["a"], ["b"], ["c"]]})
    assert tiered.marks[0, 1] == ARROW and tiered.marks[1, 0] == CIRCLE
    assert tiered.marks[1, 2] == ARROW and tiered.marks[2, 1] == TAIL
    assert tiered.info["n_tier_marks"] == 2


def test_edge_knowledge_and_unknown_nodes_are_refused():
    data = np.random.default_rng(0).normal(size=(50, 3))
    names = ["a", "b", "c"]
    with pytest.raises(ValueError, match="tiers only, not forbidden edges"):
        fci(data, node_names=names, knowledge=BackgroundKnowledge(forbidden=[("a", "b")]))
    with pytest.raises(ValueError, match="tiers only, not required edges or forbid_within_tiers=True"):
        fci(data, node_names=names, knowledge=BackgroundKnowledge(required=[("a", "b")], tiers=[["a"], ["b"]],
                                                                   forbid_within_tiers=True))
    with pytest.raises(ValueError, match=r"names the node\(s\) \['z'\]"):
        fci(data, node_names=names, knowledge={"tiers": [["a"], ["z"]]})
    with pytest.raises(TypeError, match="'knowledge' argument of fci"):
        fci(data, node_names=names, knowledge=[["a"], ["b"]])


def test_discover_from_codes_passes_tiers_to_fci():
    from latentscm.discovery.codes import discover_from_codes

    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    y = x + rng.normal(size=1000)
    z = y + rng.normal(size=1000)
    codes = np.stack([x, y, z], 1)
    pag = discover_from_codes(codes, ["x", "y", "z"], method="fci", ci_test="fisherz",
                              knowledge={"tiers": [["x"], ["y"], ["z"]]})
    assert sorted(pag.edges()) == ["x o-> y", "y --> z"] and pag.info["n_tier_marks"] == 2
    with pytest.raises(ValueError, match="applies to method='pc', 'fci', 'gfci', 'boss', 'lingam', 'llc', 'score', "
                                         "'das', 'nogam', 'sortnregress', not 'ges'"):
        discover_from_codes(codes, ["x", "y", "z"], method="ges", knowledge={"tiers": [["x"], ["y"]]})
