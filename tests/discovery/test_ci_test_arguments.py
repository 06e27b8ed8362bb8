"""Every discovery function that takes ``ci_test`` and ``ci_options`` names them, and itself, in its errors."""

import numpy as np
import pytest

from latentscm.discovery import causal_de_finetti, cdnod, pc
from latentscm.discovery.ci_tests import make_ci_test
from latentscm.discovery.timeseries import pcmci, pcmci_plus

DATA = np.random.default_rng(0).standard_normal((60, 3))
CALLS = {
    "pc": lambda **kw: pc(DATA, **kw),
    "cdnod": lambda **kw: cdnod(DATA, np.repeat([0, 1], 30), **kw),
    "causal_de_finetti": lambda **kw: causal_de_finetti(np.random.default_rng(1).standard_normal((20, 2, 3)), **kw),
    "pcmci": lambda **kw: pcmci(DATA, **kw),
    "pcmci_plus": lambda **kw: pcmci_plus(DATA, **kw),
}


@pytest.mark.parametrize("owner", list(CALLS))
def test_options_the_test_does_not_take_are_named(owner):
    with pytest.raises(TypeError, match=rf"'ci_options' argument of {owner} does not fit the 'fisherz' CI test .*"
                                        r"'bogus'"):
        CALLS[owner](ci_test="fisherz", ci_options={"bogus": 1})


@pytest.mark.parametrize("owner", list(CALLS))
def test_a_ci_test_that_is_neither_a_name_nor_a_test_is_named(owner):
    with pytest.raises(TypeError, match=rf"'ci_test' argument of {owner} must be a registered CI test name \(.*"):
        CALLS[owner](ci_test=3)


def test_options_with_an_instance_and_errors_of_the_test_itself():
    with pytest.raises(TypeError, match="'ci_options' argument of pcmci can only be given with a CI test name"):
        pcmci(DATA, ci_test=make_ci_test("parcorr"), ci_options={"a": 1})
    # a value the constructor takes but refuses keeps the test's own error
    with pytest.raises(ValueError, match="'width' parameter of KCI"):
        pc(DATA, ci_test="kci", ci_options={"width": "nonsense"})
    assert make_ci_test("kci", width="kta").width == "kta"  # no owner: as before
