"""TemporalGraph.to_dict / to_json / from_dict: every method's result reads back with the same graphs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentscm.discovery.timeseries import granger, pcmci_plus, varlingam
from latentscm.discovery.timeseries.cmlp import cmlp_granger
from latentscm.discovery.timeseries.result import TemporalGraph


def _series(seed: int = 0, n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 3))
    noise = rng.laplace(size=(n, 3))
    for t in range(1, n):
        x[t, 0] = 0.5 * x[t - 1, 0] + noise[t, 0]
        x[t, 1] = 0.6 * x[t - 1, 0] + noise[t, 1]
        x[t, 2] = 0.4 * x[t, 1] + 0.3 * x[t - 1, 2] + noise[t, 2]
    return x


@pytest.mark.parametrize("method", ["granger", "pcmci_plus", "varlingam", "cmlp"])
def test_round_trip_keeps_every_graph(method):
    data = _series()
    found = {"granger": lambda: granger(data, max_lag=2),
             "pcmci_plus": lambda: pcmci_plus(data, tau_max=1),
             "varlingam": lambda: varlingam(data, max_lag=1),
             "cmlp": lambda: cmlp_granger(data, max_lag=1, max_iter=30, lambdas=[0.01, 0.1])}[method]()
    text = found.to_json()
    assert "NaN" not in text  # strict JSON: untested links' NaN p-values are null
    again = TemporalGraph.from_dict(json.loads(text))
    assert again.method == found.method and again.var_names == found.var_names and again.alpha == found.alpha
    np.testing.assert_array_equal(again.adjacency(), found.adjacency())
    np.testing.assert_array_equal(again.summary(), found.summary())
    np.testing.assert_array_equal(again.scores, found.scores)
    if found.pvalues is not None:
        np.testing.assert_array_equal(np.isnan(again.pvalues), np.isnan(found.pvalues))
        np.testing.assert_array_equal(np.nan_to_num(again.pvalues), np.nan_to_num(found.pvalues))


def test_from_dict_refuses_what_to_dict_never_writes():
    with pytest.raises(ValueError, match="needs the keys var_names, scores, pvalues, method"):
        TemporalGraph.from_dict({"var_names": ["x"], "scores": [[[0.0]]]})
