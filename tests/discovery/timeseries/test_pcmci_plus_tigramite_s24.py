"""PCMCI+ p-values, graphs and ambiguous triples equal tigramite's, recorded on fixed datasets.

``data/pcmci_plus_tigramite_s24.json`` holds five series (four linear-Gaussian with ParCorr, one binary
with the G-test) and tigramite 5.2.10.1's ``run_pcmciplus`` outputs for each collider rule
(``conflict_resolution=True``). tigramite (GPL) is not needed to run these tests: only its recorded
outputs are read. The p-value of a link is the largest p-value of its phase-2 (MCI) tests; a lagged
link removed by PC1 keeps its PC1 p-value; a removed lag-0 pair reports the tests of the direction
that removed it (tested ``i < j`` first).
"""

import json
from pathlib import Path

import numpy as np
import pytest

from latentscm.discovery.timeseries import pcmci_plus

FIXTURE = json.loads((Path(__file__).parent / "data" / "pcmci_plus_tigramite_s24.json").read_text())
CASES = [(dataset, rule) for dataset in FIXTURE["datasets"] for rule in dataset["runs"]]


def as_tigramite_graph(result):
    """Our window graph as tigramite's link strings, [tau][i][j] ("-->", "<--", "o-o", "x-x" or "")."""
    graph = result.graph
    d = graph.shape[1]
    conflicts = {tuple(edge) for edge in result.info["conflict_edges"]}
    out = np.full(graph.shape, "", dtype="<U3")
    out[1:][graph[1:] == 1] = "-->"
    for a in range(d):
        for b in range(d):
            if a != b and graph[0, a, b] and graph[0, b, a]:
                out[0, a, b] = "x-x" if (min(a, b), max(a, b)) in conflicts else "o-o"
            elif a != b and graph[0, a, b]:
                out[0, a, b], out[0, b, a] = "-->", "<--"
    return out


@pytest.fixture(scope="module")
def results():
    return {(dataset["name"], rule): pcmci_plus(np.array(dataset["data"]), tau_max=dataset["tau_max"],
                                                alpha=dataset["alpha"], ci_test=dataset["ci_test"],
                                                collider_rule=rule)
            for dataset, rule in CASES}


@pytest.mark.parametrize(("dataset", "rule"), CASES, ids=[f"{d['name']}-{r}" for d, r in CASES])
def test_pvalues_equal_tigramite(results, dataset, rule):
    expected = np.array(dataset["runs"][rule]["p_matrix"], dtype=float)  # null (lag-0 diagonal) -> nan
    np.testing.assert_allclose(results[(dataset["name"], rule)].pvalues, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize(("dataset", "rule"), CASES, ids=[f"{d['name']}-{r}" for d, r in CASES])
def test_graph_and_ambiguous_triples_equal_tigramite(results, dataset, rule):
    result = results[(dataset["name"], rule)]
    np.testing.assert_array_equal(as_tigramite_graph(result), np.array(dataset["runs"][rule]["graph"]))
    assert sorted(map(list, result.info["ambiguous_triples"])) == dataset["runs"][rule]["ambiguous_triples"]


def test_fixture_exercises_the_differences_it_guards():
    """The recorded cases include conflicts, ambiguous triples, removed lagged and lag-0 links."""
    graphs = [np.array(run["graph"]) for dataset in FIXTURE["datasets"] for run in dataset["runs"].values()]
    assert any((graph == "x-x").any() for graph in graphs)
    assert any(run["ambiguous_triples"] for dataset in FIXTURE["datasets"] for run in dataset["runs"].values())
    assert any((graph[1:] == "").any() for graph in graphs)
    assert any(((graph[0] == "") & ~np.eye(graph.shape[1], dtype=bool)).any() for graph in graphs)
