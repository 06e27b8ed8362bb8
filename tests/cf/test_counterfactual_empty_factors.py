"""counterfactual_metrics refuses an empty factor list (it measured no counterfactual and reported cf.excess = NaN)."""

import re

import pytest

from latentscm.metrics.counterfactual import counterfactual_metrics
from latentscm.worlds import make


class Identity:
    def counterfactual(self, images, interventions):
        return images


@pytest.mark.parametrize("factors", [[], ()])
def test_empty_factor_list_is_refused(factors):
    world = make("pendulum", size=32, noise_std=0.3)
    message = r"'factors' parameter of counterfactual_metrics must name at least one factor .*light_position.*Got "
    with pytest.raises(ValueError, match=message + re.escape(repr(factors))):
        counterfactual_metrics(Identity(), world, n=4, factors=factors)
