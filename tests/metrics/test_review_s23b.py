"""Regression tests of the fifth review of the metrics (s23, second pass)."""

import numpy as np
import pytest

from latentscm.discovery.result import DiscoveredGraph
from latentscm.discovery.timeseries import TemporalGraph
from latentscm.graph import CausalGraph
from latentscm.metrics import (
    arrowhead_scores,
    compare_graphs,
    lag_tolerant_f1,
    normalized_shd,
    sap,
    sap_score_matrix,
    shd,
    skeleton_scores,
    summary_auroc,
    window_auprc,
    window_auroc,
)
from latentscm.worlds.timeseries import make


def test_sap_of_a_quantised_code_ignores_its_sign():
    # an integer code 0..40 cut into 20 bins of width 2: every even value sits on an edge, and the
    # negated code used to pair its levels the other way ({-40, -39} instead of {38, 39}): 0.844 vs 0.888
    rng = np.random.default_rng(0)
    factor = rng.integers(0, 4, 2000).astype(float)[:, None]
    codes = np.column_stack([10 * factor[:, 0] + rng.integers(0, 11, 2000), rng.normal(size=2000)])
    before = sap_score_matrix(codes, factor)
    for scale, shift in ((-1.0, 0.0), (-0.3, 1e3), (3.0, 0.7)):
        moved = codes * np.array([scale, 1.0]) + shift
        assert sap_score_matrix(moved, factor) == pytest.approx(before, abs=1e-12)
        assert sap(moved, factor) == pytest.approx(sap(codes, factor), abs=1e-12)


def test_named_graphs_are_compared_by_node_name():
    true = CausalGraph.from_text("a -> b; b -> c")
    same = CausalGraph.from_text("b -> c; a -> b")  # nodes listed b, c, a
    assert same.nodes != true.nodes
    assert shd(true, same) == 0.0
    assert shd(true, same, cpdag=True) == 0.0
    assert arrowhead_scores(true, same)["arrowhead.f1"] == 1.0
    found = DiscoveredGraph(nodes=("c", "b", "a"), adjacency=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]]))
    scores = compare_graphs(true, found)
    assert scores["graph.shd"] == 0.0 and scores["arrowhead.f1"] == 1.0 and scores["skeleton.f1"] == 1.0
    # one reversed edge is still one
    reversed_edge = CausalGraph.from_text("c -> b; a -> b")
    assert shd(true, reversed_edge) == 1.0
    # a bare matrix is read in the other graph's order, as before
    assert shd(true, true.adjacency) == 0.0 and skeleton_scores(same.adjacency, same)["skeleton.f1"] == 1.0


def test_named_graphs_over_different_nodes_are_refused():
    true = CausalGraph.from_text("a -> b; b -> c")
    with pytest.raises(ValueError, match="'true' and 'estimated' graphs of shd must have the same nodes"):
        shd(true, CausalGraph.from_text("a -> b; b -> d"))
    with pytest.raises(ValueError, match="same nodes"):
        compare_graphs(true, CausalGraph.from_text("a -> b"))


def test_temporal_metrics_compare_a_world_and_a_temporal_graph_by_variable_name():
    world = make("var")
    window = world.graph("window")
    order = list(range(len(world.var_names)))[::-1]
    names = tuple(world.var_names[i] for i in order)
    exact = TemporalGraph(names, window[:, order][:, :, order].astype(float), None, "exact", threshold=0.5)
    assert window_auroc(world, exact) == 1.0 and window_auprc(world, exact) == 1.0
    assert summary_auroc(world, exact) == 1.0
    assert lag_tolerant_f1(world, exact)["window.f1"] == 1.0
    assert normalized_shd(world, exact) == 0.0 and normalized_shd(world, exact, kind="summary") == 0.0
    # a bare window is read in the world's order
    assert window_auroc(world, window.astype(float)) == 1.0
    other = TemporalGraph(("a", "b", "c", "d", "e"), window.astype(float), None, "exact", threshold=0.5)
    with pytest.raises(ValueError, match="window_auroc compares graphs over different variables"):
        window_auroc(world, other)
