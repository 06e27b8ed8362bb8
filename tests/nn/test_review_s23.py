"""Regression tests of the fourth review of the network blocks (session 23)."""

from __future__ import annotations

import pytest
import torch

from latentscm.nn.latent_scm import LatentSCM


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("threshold", [0.0, 0.3])
def test_fix_graph_refuses_non_finite_edge_weights(value, threshold):
    torch.manual_seed(0)
    scm = LatentSCM(["a", "b", "c"], learn_graph=True)
    with torch.no_grad():
        scm.weight_in[1, 0, 0] = value  # a diverged mechanism of b reading a
    with pytest.raises(ValueError, match=r"'a -> b'.*not finite"):  # NaN gave an empty graph without a word
        scm.fix_graph(threshold)
    assert scm.learn_graph and not scm.graph.edges  # nothing was fixed
