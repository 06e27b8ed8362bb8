"""FCI's Possible-D-SEP stage streams its tests in bounded batches (it used to build each level's whole list of
queries: at d = 30, n = 1000 one level held 43 million, which exhausted memory) and keeps its results."""

from __future__ import annotations

import importlib

import networkx as nx
import numpy as np

from latentscm.discovery.fci import fci

from .test_oracle_discovery import _Oracle

fci_module = importlib.import_module("latentscm.discovery.fci")

# 7 observed, 5 hidden nodes; PC keeps X4 - X5 and the Possible-D-SEP stage removes it (see test_fci.py)
_EDGES = [(0, 1), (0, 6), (1, 3), (1, 5), (3, 2), (3, 5), (6, 4), (7, 0), (7, 2), (8, 1), (8, 2), (9, 5), (9, 6),
          (10, 0), (10, 6), (11, 1), (11, 4)]


def _oracle_fci(edges, n_observed, n_nodes=12, **options):
    graph = nx.DiGraph(edges)
    graph.add_nodes_from(range(n_nodes))
    return fci(np.zeros((20, n_observed)), ci_test=_Oracle(graph), alpha=0.5, **options)


def test_possible_dsep_stage_tests_in_bounded_batches(monkeypatch):
    reference = _oracle_fci(_EDGES, 7)
    batches: list[int] = []
    original = fci_module._p_values

    def recording(bound, plan, workers):
        batches.append(len(plan))
        return original(bound, plan, workers)

    monkeypatch.setattr(fci_module, "_p_values", recording)
    monkeypatch.setattr(fci_module, "_PDS_CHUNK", 5, raising=False)
    streamed = _oracle_fci(_EDGES, 7)
    assert sum(batches) == streamed.info["n_possible_dsep_tests"] > 10  # the stage had several batches of queries ...
    assert max(batches) <= 5  # ... never more than a batch at once
    assert streamed.info["possible_dsep_removed"] == [("X4", "X5")]
    np.testing.assert_array_equal(streamed.marks, reference.marks)
    assert dict(streamed.separating_sets) == dict(reference.separating_sets)


def test_possible_dsep_separating_sets_do_not_depend_on_the_batch(monkeypatch):
    """Each pair keeps the first separating subset (sorted order, smallest size) for any batch size, on random
    DAGs with hidden common causes."""
    rng = np.random.default_rng(26)
    compared = 0
    for _ in range(25):
        n, p = 9, 6
        a = np.triu(rng.random((n, n)) < 0.35, 1).astype(int)
        order = rng.permutation(n)
        a = a[np.ix_(order, order)]
        edges = list(zip(*np.nonzero(a)))
        if not edges:
            continue
        monkeypatch.setattr(fci_module, "_PDS_CHUNK", 20_000, raising=False)
        whole = _oracle_fci(edges, p, n)
        monkeypatch.setattr(fci_module, "_PDS_CHUNK", 1, raising=False)
        one_by_one = _oracle_fci(edges, p, n)
        np.testing.assert_array_equal(one_by_one.marks, whole.marks)
        assert dict(one_by_one.separating_sets) == dict(whole.separating_sets)
        assert one_by_one.info["n_possible_dsep_tests"] <= whole.info["n_possible_dsep_tests"]
        compared += whole.info["n_possible_dsep_tests"] > 0
    assert compared > 10
