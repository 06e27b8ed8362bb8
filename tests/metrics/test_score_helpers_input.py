"""The public score-from-matrix helpers refuse NaN, wrong shapes and zero entropies with a named error."""

import numpy as np
import pytest

from latentscm.metrics import dci_from_importance
from latentscm.metrics.infomec import active_latents, infom_infoc
from latentscm.metrics.mig import mig_from_mutual_information
from latentscm.metrics.modularity import modularity_from_mutual_information

NAN_MATRIX = np.array([[np.nan, 1.0], [0.0, 1.0]])


@pytest.mark.parametrize(("function", "name"), [
    (dci_from_importance, "'importance'"),            # returned (nan, nan)
    (modularity_from_mutual_information, "'mutual_info'"),  # returned 1.0
    (infom_infoc, "'nmi'"),                           # returned (0.0, 0.5)
])
def test_nan_matrix_is_refused(function, name):
    with pytest.raises(ValueError, match=f"{name}.*NaN"):
        function(NAN_MATRIX)


@pytest.mark.parametrize("function", [dci_from_importance, modularity_from_mutual_information, infom_infoc])
def test_one_dimensional_matrix_is_refused(function):
    with pytest.raises(ValueError, match="must be 2-D"):
        function(np.array([0.5, 0.5]))


def test_mig_from_mutual_information_checks_its_arguments():
    with pytest.raises(ValueError, match="'mutual_info'.*at least 2 rows"):
        mig_from_mutual_information(np.array([[1.0, 1.0]]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="'factor_entropy'.*positive"):
        mig_from_mutual_information(np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="'factor_entropy'.*one positive entropy per column"):
        mig_from_mutual_information(np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="'mutual_info'.*NaN"):
        mig_from_mutual_information(NAN_MATRIX, np.ones(2))
    assert mig_from_mutual_information(np.array([[1.0, 0.0], [0.0, 0.5]]), np.array([1.0, 1.0])) == 0.75


def test_active_latents_checks_its_arguments():
    with pytest.raises(ValueError, match="'codes'.*NaN"):  # returned all False
        active_latents(np.array([[np.nan, 1.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="must be 2-D"):  # returned a bare True
        active_latents(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="'inactive_threshold'"):  # kept every latent
        active_latents(np.array([[0.0, 1.0], [1.0, 2.0]]), inactive_threshold=-1.0)
    assert active_latents(np.array([[0.0, 0.0, 0.0], [1.0, 0.01, 0.1]])).tolist() == [True, False, True]


def test_sap_warns_once_about_collapsed_codes():
    import warnings

    from latentscm.metrics import sap

    factors = np.random.default_rng(0).integers(0, 3, (60, 2)).astype(float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sap(np.ones((60, 3)), factors)
    assert sum("every code dimension is constant" in str(w.message) for w in caught) == 1
