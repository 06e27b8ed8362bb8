"""backdoor_adjustment / frontdoor_adjustment given the causal graph refuse a set that fails their criterion (which
would give a biased number) and agree with surgery when it holds."""

import numpy as np
import pytest

from latentscm.scm import backdoor_adjustment, frontdoor_adjustment, smoking_cancer_model


@pytest.fixture(scope="module")
def model():
    return smoking_cancer_model()


def test_a_set_that_fails_the_criterion_is_refused(model):
    observed = model.observed(["smoking", "tar", "cancer"])
    # hidden U confounds smoking and cancer: no back-door set among the observed variables
    with pytest.raises(ValueError, match=r"'adjustment_set' \[\] of backdoor_adjustment does not satisfy the "
                                         r"back-door criterion"):
        backdoor_adjustment(observed, "smoking", "cancer", graph=model.graph)
    with pytest.raises(ValueError, match=r"'adjustment_set' \['tar'\] of backdoor_adjustment"):
        backdoor_adjustment(observed, "smoking", "cancer", "tar", graph=model.graph)
    # without the graph the (biased) number is still computed, as documented
    biased = backdoor_adjustment(observed, "smoking", "cancer")
    truth = model.interventional("cancer", {"smoking": 1})
    assert not np.allclose(biased.values[1], truth.values)


def test_a_set_that_meets_it_is_used(model):
    observed = model.observed(["smoking", "tar", "cancer"])
    estimate = frontdoor_adjustment(observed, "smoking", "tar", "cancer", graph=model.graph)
    for state in (0, 1):
        np.testing.assert_allclose(estimate.values[state], model.interventional("cancer", {"smoking": state}).values,
                                   atol=1e-12)
    with pytest.raises(ValueError, match=r"'mediator' \['cancer'\] of frontdoor_adjustment does not satisfy"):
        frontdoor_adjustment(observed, "smoking", "cancer", "tar", graph=model.graph)
