"""PCMCI+ equals tigramite's run_pcmciplus on recorded cases the s24 fixture lacks.

``data/pcmci_plus_tigramite_s25.json``: ``max_conds_dim`` 0, 1, 2 (the conservative and majority collider
re-tests try every subset of the adjacencies, whatever ``max_conds_dim``), two variables with
``tau_max=3``, a variable constant over half the series, and a contemporaneous-heavy graph with
``tau_max=3`` (ParCorr, tigramite 5.2.10.1, ``conflict_resolution=True``). tigramite is not needed.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from tests.discovery.timeseries.test_pcmci_plus_tigramite_s24 import as_tigramite_graph

from latentscm.discovery.timeseries import pcmci_plus

FIXTURE = json.loads((Path(__file__).parent / "data" / "pcmci_plus_tigramite_s25.json").read_text())
CASES = [(dataset, rule) for dataset in FIXTURE["datasets"] for rule in dataset["runs"]]
IDS = [f"{dataset['name']}-{rule}" for dataset, rule in CASES]


@pytest.mark.parametrize(("dataset", "rule"), CASES, ids=IDS)
def test_graph_pvalues_and_ambiguous_triples_equal_tigramite(dataset, rule):
    result = pcmci_plus(np.array(dataset["data"]), tau_max=dataset["tau_max"], alpha=dataset["alpha"],
                        collider_rule=rule, **dataset["options"])
    expected = dataset["runs"][rule]
    np.testing.assert_array_equal(as_tigramite_graph(result), np.array(expected["graph"]))
    assert sorted(map(list, result.info["ambiguous_triples"])) == expected["ambiguous_triples"]
    np.testing.assert_allclose(result.pvalues, np.array(expected["p_matrix"], dtype=float), rtol=0, atol=1e-9)


def test_collider_retests_ignore_max_conds_dim():
    """With max_conds_dim=0 the conservative rule still re-tests subsets larger than the skeleton's."""
    dataset = next(d for d in FIXTURE["datasets"] if d["options"].get("max_conds_dim") == 0)
    result = pcmci_plus(np.array(dataset["data"]), tau_max=dataset["tau_max"], alpha=dataset["alpha"],
                        collider_rule="conservative", max_conds_dim=0)
    sizes = {len(subset) for found in result.info["all_separating_sets"].values() for subset in found}
    assert max(sizes) >= 2
