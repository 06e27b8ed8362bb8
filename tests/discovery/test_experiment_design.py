"""Experiment design (Hauser & Bühlmann 2014) against brute-force enumeration of interventional classes, and the
active GIES loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_gies import _members, _random_dag

from latentscm.discovery.active_learning import active_gies, scm_sampler, world_sampler
from latentscm.discovery.experiment_design import (
    best_single_intervention,
    identifying_targets,
    single_intervention_gains,
)
from latentscm.discovery.gies import gies, interventional_essential_graph
from latentscm.discovery.result import DiscoveredGraph
from latentscm.scm.random import random_scm


def _undirected(g: np.ndarray) -> int:
    return int(((g != 0) & (g.T != 0)).sum() // 2)


def _cases(seed: int, count: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        d = int(rng.integers(3, 7))
        dag = _random_dag(rng, d, 0.6)
        family = [(int(rng.integers(d)),)] if rng.random() < 0.4 else []
        yield dag, family, interventional_essential_graph(dag, family), _members(dag, [(), *family])


def test_gains_are_the_worst_case_over_the_enumerated_class():
    checked = nonzero = 0
    for _dag, family, essential, members in _cases(3, 80):
        before = _undirected(essential)
        for node, guaranteed, worst_parents in single_intervention_gains(essential):
            outcomes = [before - _undirected(interventional_essential_graph(m, [*family, (node,)])) for m in members]
            assert guaranteed == min(outcomes)
            # the worst case is met by a member whose parents of `node` among its undirected neighbours are those
            ne = {w for w in range(len(essential)) if essential[node, w] and essential[w, node]}
            assert any(set(np.flatnonzero(m[:, node])) & ne == set(worst_parents) for m in members)
            checked += 1
            nonzero += guaranteed > 0
    assert checked > 200 and nonzero > 50


def test_identifying_targets_orient_every_member_and_no_fewer_sets_do():
    minimal_checked = 0
    for _dag, family, essential, members in _cases(5, 80):
        targets = identifying_targets(essential)
        for member in members:
            assert _undirected(interventional_essential_graph(member, [*family, *targets])) == 0
        assert (targets == []) == (_undirected(essential) == 0)
        d = len(essential)
        if targets and d <= 5:  # no family of fewer target sets works (Hauser & Bühlmann 2014, Theorem 3)
            subsets = [c for r in range(1, d + 1) for c in itertools.combinations(range(d), r)]
            for fewer in itertools.combinations(subsets, len(targets) - 1):
                assert any(_undirected(interventional_essential_graph(m, [*family, *fewer])) for m in members)
            minimal_checked += 1
    assert minimal_checked > 10


def test_a_clique_of_four_needs_two_targets_and_a_chain_one():
    clique = np.ones((4, 4), dtype=np.int64) - np.eye(4, dtype=np.int64)
    targets = identifying_targets(clique)
    assert len(targets) == 2
    chain = np.zeros((5, 5), dtype=np.int64)
    for i in range(4):
        chain[i, i + 1] = chain[i + 1, i] = 1
    assert len(identifying_targets(chain)) == 1
    # on the path 0 - 1 - 2 - 3 - 4, an end node guarantees its own edge only (its neighbour may be its parent, and
    # an arrow out of the neighbour propagates nothing); the middle node's worst case (one parent) still orients its
    # two edges and, by Meek's R1, the edge beyond its child: 3 of 4
    gains = {gain.node: gain.guaranteed for gain in single_intervention_gains(chain)}
    assert gains == {0: 1, 1: 2, 2: 3, 3: 2, 4: 1}
    assert best_single_intervention(chain) == (2, 3, (1,))


def test_names_candidates_and_errors():
    chain = np.zeros((3, 3), dtype=np.int64)
    chain[0, 1] = chain[1, 0] = chain[1, 2] = chain[2, 1] = 1
    graph = DiscoveredGraph(("a", "b", "c"), chain, {}, {})
    assert best_single_intervention(graph, candidates=["b"]) == ("b", 2, ())
    assert identifying_targets(graph) == [("b",)]
    with pytest.raises(ValueError, match="names 'z', which is not a node"):
        single_intervention_gains(graph, candidates=["z"])
    with pytest.raises(ValueError, match="has 5; a node is a name or a position 0..2"):
        single_intervention_gains(chain, candidates=[5])
    with pytest.raises(ValueError, match="square adjacency"):
        identifying_targets(np.zeros((2, 3)))
    cycle = np.zeros((4, 4), dtype=np.int64)
    for i in range(4):
        cycle[i, (i + 1) % 4] = cycle[(i + 1) % 4, i] = 1
    with pytest.raises(ValueError, match="not chordal"):
        identifying_targets(cycle)
    with pytest.raises(ValueError, match="candidates' argument of best_single_intervention is empty"):
        best_single_intervention(chain, candidates=[])


def test_active_gies_orients_the_graph_and_beats_nothing_done():
    scm = random_scm(7, edge_prob=0.4, seed=4)
    dag = np.asarray(scm.graph.adjacency)
    history = active_gies(scm_sampler(scm), list(scm.nodes), rounds=4, n_observational=2000, n_per_round=1500,
                          strategy="opt_single", seed=0)
    assert history[0].undirected > 0 and history[0].targets == ()
    assert history[-1].undirected == 0  # stopped once oriented
    assert len(history) <= 5 and all(len(r.targets) == 1 for r in history[1:])
    np.testing.assert_array_equal(history[-1].graph.adjacency, dag)
    assert history[-1].n_samples == 2000 + 1500 * (len(history) - 1)
    # the same seed gives the same rounds
    again = active_gies(scm_sampler(scm), list(scm.nodes), rounds=4, n_observational=2000, n_per_round=1500,
                        strategy="opt_single", seed=0)
    assert [r.targets for r in again] == [r.targets for r in history]
    identifying = active_gies(scm_sampler(scm), list(scm.nodes), rounds=4, n_observational=2000, n_per_round=1500,
                              strategy="identifying", seed=0)
    assert identifying[-1].undirected == 0


def test_scm_sampler_cuts_the_targets_causes():
    scm = random_scm(4, edge_prob=0.9, seed=1)
    sample = scm_sampler(scm)
    order = list(scm.graph.topological_order())
    child = scm.nodes.index(order[-1])
    rows = sample((child,), 4000, 3)
    observational = sample((), 4000, 3)
    parents = [scm.nodes.index(p) for p in scm.graph.parents(order[-1])]
    assert parents
    before = abs(np.corrcoef(observational[:, child], observational[:, parents[0]])[0, 1])
    after = abs(np.corrcoef(rows[:, child], rows[:, parents[0]])[0, 1])
    assert before > 0.2 and after < 0.05
    assert np.std(rows[:, child]) == pytest.approx(np.std(observational[:, child]), rel=0.1)  # its own spread
    np.testing.assert_array_equal(sample((child,), 50, 9), sample((child,), 50, 9))


def test_world_sampler_and_errors():
    from latentscm.worlds.ild_linear import ILDLinear

    world = ILDLinear(latent_dim=4, n_domains=2, int_set=(0,), seed=1)
    sample = world_sampler(world)
    rows = sample((1,), 300, 0)
    assert rows.shape == (300, 4) and np.isfinite(rows).all()
    history = active_gies(sample, list(world.factor_names), rounds=1, n_observational=500, n_per_round=300, seed=2)
    assert isinstance(history[0].graph, DiscoveredGraph)
    with pytest.raises(ValueError, match="'strategy' .*active_gies"):
        active_gies(sample, list(world.factor_names), strategy="best")
    with pytest.raises(ValueError, match="returned shape"):
        active_gies(lambda t, n, s: np.zeros((n, 2)), ["a", "b", "c"], rounds=1)
    with pytest.raises(ValueError, match="may not set 'targets'"):
        active_gies(sample, list(world.factor_names), gies_options={"targets": None})
    result = gies(rows, np.zeros(rows.shape, dtype=bool))
    assert result.info["targets"] == [[]]
