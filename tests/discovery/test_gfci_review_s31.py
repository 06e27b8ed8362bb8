"""Review s31 of GFCI, the defects it found as regression tests: categorical data with the default score (now BDeu
for a categorical CI test), and the messages about a bad ``cpdag``."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery import gfci


def test_a_categorical_test_does_not_lose_a_dependence_the_gaussian_score_misses() -> None:
    """x1 = [x0 == 1] (90 %): strongly dependent, zero linear correlation of the codes. With ci_test='chisq' the
    score search must suit categories (BDeu), else step 1 drops the edge and no test ever looks at it."""
    rng = np.random.default_rng(0)
    n = 3000
    x0 = rng.integers(0, 3, n)
    x1 = np.where(rng.random(n) < 0.9, (x0 == 1).astype(int), rng.integers(0, 2, n))
    data = np.c_[x0, x1, rng.integers(0, 2, n)]
    assert "X0 o-o X1" in gfci(data, ci_test="chisq", score="bdeu").edges()  # what the right score finds
    assert "X0 o-o X1" in gfci(data, ci_test="chisq").edges()


def test_a_cpdag_with_bad_values_is_not_reported_as_a_bad_shape() -> None:
    data = np.random.default_rng(1).normal(size=(100, 3))
    with pytest.raises(ValueError) as error:
        gfci(data, cpdag=np.full((3, 3), 0.5))
    assert "Got shape (3, 3)" not in str(error.value)


def test_a_cyclic_cpdag_error_names_the_argument() -> None:
    data = np.random.default_rng(1).normal(size=(100, 3))
    cyclic = np.zeros((3, 3))
    cyclic[0, 1] = cyclic[1, 2] = cyclic[2, 0] = 1
    with pytest.raises(ValueError, match="'cpdag'"):
        gfci(data, cpdag=cyclic)
