"""ParCorr-PCMCI p-values equal tigramite's (Runge's reference implementation) on fixed seeds.

tigramite is GPL-licensed: it is never a dependency of latentscm, only a cross-check that runs where
it happens to be installed (``pip install tigramite``).
"""

import numpy as np
import pytest

from latentscm.discovery.timeseries import pcmci
from latentscm.worlds.timeseries import make

tigramite = pytest.importorskip(
    "tigramite", reason="tigramite (GPL, test-only cross-check) is not installed; pip install tigramite")


def tigramite_pvalues(data, tau_max, pc_alpha):
    from tigramite import data_processing
    from tigramite.independence_tests.parcorr import ParCorr
    from tigramite.pcmci import PCMCI

    runner = PCMCI(dataframe=data_processing.DataFrame(data), cond_ind_test=ParCorr(significance="analytic"),
                   verbosity=0)
    results = runner.run_pcmci(tau_min=0, tau_max=tau_max, pc_alpha=pc_alpha)
    return results["p_matrix"].transpose(2, 0, 1), results["val_matrix"].transpose(2, 0, 1)  # [tau, i, j]


@pytest.mark.parametrize("seed", [0])
def test_parcorr_pcmci_pvalues_equal_tigramite(seed):
    world = make("var", d=4, lag_max=2, edge_prob=0.3, seed=seed)
    data = world.sample(400, seed=100 + seed).values
    ours = pcmci(data, tau_max=2, pc_alpha=0.2)
    theirs, statistics = tigramite_pvalues(data, tau_max=2, pc_alpha=0.2)
    np.testing.assert_allclose(ours.pvalues[1:], theirs[1:], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.scores[1:], np.abs(statistics[1:]), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("rule", "tigramite_rule"), [("standard", "none"), ("conservative", "conservative"),
                                                      ("majority", "majority")])
def test_parcorr_pcmci_plus_pvalues_and_skeleton_equal_tigramite(rule, tigramite_rule):
    from tigramite import data_processing
    from tigramite.independence_tests.parcorr import ParCorr
    from tigramite.pcmci import PCMCI

    from latentscm.discovery.timeseries import pcmci_plus

    world = make("lagged_scm", d=6, lag_max=2, mechanism="linear", contemporaneous_fraction=0.5, edge_prob=0.4,
                 self_lag=(0.3, 0.4), seed=4)
    data = world.sample(100, seed=5).values
    ours = pcmci_plus(data, tau_max=2, alpha=0.3, collider_rule=rule)
    runner = PCMCI(dataframe=data_processing.DataFrame(data), cond_ind_test=ParCorr(significance="analytic"),
                   verbosity=0)
    theirs = runner.run_pcmciplus(tau_min=0, tau_max=2, pc_alpha=0.3, contemp_collider_rule=tigramite_rule)
    expected = theirs["p_matrix"].transpose(2, 0, 1)
    off_diagonal = ~np.eye(6, dtype=bool)
    np.testing.assert_allclose(ours.pvalues[1:], expected[1:], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.pvalues[0][off_diagonal], expected[0][off_diagonal], rtol=0, atol=1e-9)
    skeleton = ours.graph != 0
    skeleton[0] |= skeleton[0].T
    np.testing.assert_array_equal(skeleton, theirs["graph"].transpose(2, 0, 1) != "")
    assert sorted(map(list, ours.info["ambiguous_triples"])) == sorted(
        [i, -tau, k, j] for (i, tau), k, j in theirs["ambiguous_triples"])
