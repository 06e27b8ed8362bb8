"""Data too short for the conditioning sets PC, PCMCI or PCMCI+ reach is refused in the caller's terms (the data,
its length, tau_max or max_depth), not with the CI test's internal row count."""

import numpy as np
import pytest

from latentscm.discovery.ci_tests import make_ci_test
from latentscm.discovery.ci_tests.base import CIQuery
from latentscm.discovery.timeseries import pcmci, pcmci_plus
from latentscm.exceptions import TooFewSamplesError


@pytest.mark.parametrize("method", [pcmci, pcmci_plus])
def test_a_series_too_short_for_its_tests_names_data_and_tau_max(method):
    data = np.random.default_rng(24).standard_normal((8, 3))  # passes check_series; a test with |Z| = 2 fails
    with pytest.raises(ValueError, match=rf"'data' argument of {method.__name__} is too short for tau_max=2: of its "
                                         r"T=8 steps, T - 2 tau_max = 4 rows .* conditioning on 2 variables needs 5"):
        method(data, tau_max=2, alpha=0.2)


@pytest.mark.parametrize(("name", "margin"), [("parcorr", 2), ("fisherz", 3)])
def test_the_tests_say_how_many_rows_they_need(name, margin):
    bound = make_ci_test(name).bind(np.random.default_rng(0).standard_normal((6, 6)))
    with pytest.raises(TooFewSamplesError) as error:
        bound.test_many([CIQuery.make(0, 1, [2, 3, 4, 5])])
    assert (error.value.n, error.value.conditions, error.value.needed) == (6, 4, 4 + margin + 1)
    assert isinstance(error.value, ValueError)


def test_pc_on_too_few_rows_names_data_and_max_depth():
    from latentscm.discovery import pc

    rng = np.random.default_rng(9)  # strongly dependent columns: edges survive to a level with |Z| = 2
    a, b = rng.standard_normal((5, 1)), rng.standard_normal((5, 1))
    data = np.hstack([a + 1e-3 * rng.standard_normal((5, 1)) for _ in range(3)]
                     + [a + b, b, b + 1e-3 * rng.standard_normal((5, 1))])
    with pytest.raises(ValueError, match=r"'data' argument of pc has 5 rows, too few for a test conditioning on 2 "
                                         r"variables, which needs 6 .*max_depth=1"):
        pc(data, alpha=0.5)
    assert pc(data, alpha=0.5, max_depth=1).adjacency.shape == (6, 6)  # the suggestion works
