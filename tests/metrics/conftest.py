"""Small known-answer representations shared by the metric tests (the helpers reach test
modules through the ``build`` fixture).

Factors are independent discrete grids; codes are built from them so that the right answer
is known: ``perfect`` (one code dimension per factor, exactly), ``rotated`` (a random
orthogonal mix of perfect codes: entangled), ``random`` (codes independent of factors)."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import ortho_group

SIZES = (3, 6, 10, 8)


def make_factors(n, seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, size, n) for size in sizes], axis=1).astype(float)


def perfect_codes(factors, extra=0, seed=0):
    """Each factor standardised into its own code dimension, plus ``extra`` constant dims."""
    codes = (factors - factors.mean(axis=0)) / factors.std(axis=0)
    return np.concatenate([codes, np.zeros((len(factors), extra))], axis=1)


def rotated_codes(factors, seed=0):
    codes = perfect_codes(factors)
    return codes @ ortho_group.rvs(codes.shape[1], random_state=seed)


def random_codes(factors, dims=None, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((len(factors), dims or factors.shape[1]))



def transformed(codes, seed=3):
    """Permute columns and rescale them by non-zero factors of both signs, then shift."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(codes.shape[1])
    scale = rng.uniform(0.1, 10.0, codes.shape[1]) * rng.choice([-1.0, 1.0], codes.shape[1])
    return codes[:, order] * scale + rng.normal(size=codes.shape[1])


@pytest.fixture(scope="session")
def build():
    return SimpleNamespace(make_factors=make_factors, perfect_codes=perfect_codes,
                           rotated_codes=rotated_codes, random_codes=random_codes,
                           transformed=transformed)


@pytest.fixture(scope="module")
def factors():
    return make_factors(2000)


@pytest.fixture(scope="module")
def perfect(factors):
    return perfect_codes(factors)


@pytest.fixture(scope="module")
def rotated(factors):
    return rotated_codes(factors)


@pytest.fixture(scope="module")
def random(factors):
    return random_codes(factors)
