"""Review (s27): regimes and domains on a small linear world, against hand computation.

World: ``a ~ N(0, 1)``, ``b = 2 a + 1 + u_b`` (``u_b ~ N(0, 0.5^2)``), ``c ~ N(0, 1)``, ranges [-100, 100].
Moment checks use 4 standard errors (two-sided level ~6e-5 per check); KS tests use level 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from latentscm.graph import UnknownNodeError
from latentscm.interventions import Do, Shift
from latentscm.worlds import DomainShift
from latentscm.worlds.domains import sample_domains
from latentscm.worlds.regimes import OBSERVATIONAL, RandomDo, Regime, RegimeMixture, interventional_mixture
from linear_world_support import Line

SE = 4.0  # standard errors allowed in a moment check


@pytest.fixture(scope="module")
def world():
    return Line()


def _mean_ok(x, mean, var):
    return abs(x.mean() - mean) < SE * np.sqrt(var / x.size)


# ------------------------------------------------------------------------------------------- regimes
def test_mixture_counts_labels_and_targets(world):
    mixture = RegimeMixture([OBSERVATIONAL, Regime("do(a)", {"a": Do(1.5)}), Regime("rand(c)", {"c": RandomDo()})],
                            [0.5, 0.3, 0.2])
    # documented: floor(f * n) each plus one for the largest remainders (not binomial): 500.5, 300.3, 200.2
    np.testing.assert_array_equal(mixture.counts(1001), [501, 300, 200])
    batch = world.sample(1001, seed=2, regime=mixture)
    np.testing.assert_array_equal(np.bincount(batch.regime, minlength=3), [501, 300, 200])
    assert [r.name for r in batch.regimes] == ["observational", "do(a)", "rand(c)"]
    expected = np.zeros((1001, 3), bool)
    expected[batch.regime == 1, 0] = True
    expected[batch.regime == 2, 2] = True
    np.testing.assert_array_equal(batch.targets, expected)
    a, b, c = batch.factors.T
    np.testing.assert_array_equal(a[batch.regime == 1], 1.5)
    u = b - 2 * a - 1
    assert _mean_ok(b[batch.regime == 1], 4.0, 0.25) and _mean_ok(u, 0.0, 0.25)
    # RandomDo("range"): uniform on [-100, 100]
    assert stats.kstest(c[batch.regime == 2], stats.uniform(-100, 200).cdf).pvalue > 1e-3
    assert stats.kstest(c[batch.regime == 0], stats.norm().cdf).pvalue > 1e-3  # observational c ~ N(0, 1)
    assert stats.kstest(a[batch.regime == 0], stats.norm().cdf).pvalue > 1e-3
    # regimes arrive in a random order, not in blocks
    assert 0 < np.flatnonzero(batch.regime == 2)[0] < 900


def test_random_do_marginal_keeps_the_marginal_and_cuts_the_parent(world):
    n = 4000
    batch = world.sample(n, seed=8, regime=Regime("m", {"b": RandomDo("marginal")}))
    a, b, _ = batch.factors.T
    assert _mean_ok(b, 1.0, 4.25)  # b's observational marginal: N(1, 4 + 0.25)
    assert abs(b.var() - 4.25) < SE * 4.25 * np.sqrt(2 / n)
    assert abs(np.corrcoef(a, b)[0, 1]) < SE / np.sqrt(n)  # observationally corr = 2 / sqrt(4.25) = 0.97


def test_regime_sampling_is_seeded(world):
    mixture = interventional_mixture(world, 0.4)
    one, two = world.sample(300, seed=11, regime=mixture), world.sample(300, seed=11, regime=mixture)
    np.testing.assert_array_equal(one.factors, two.factors)
    np.testing.assert_array_equal(one.regime, two.regime)
    other = world.sample(300, seed=12, regime=mixture)
    assert not np.array_equal(one.regime, other.regime)
    # 0.6 observational, 0.4 / 3 for each single-node regime: 180, 40, 40, 40
    np.testing.assert_array_equal(np.bincount(one.regime), [180, 40, 40, 40])
    assert [r.targets for r in one.regimes] == [(), ("a",), ("b",), ("c",)]


def test_counterfactual_keeps_the_units_regime(world):
    batch = world.sample(100, seed=1, regime=RegimeMixture([OBSERVATIONAL, Regime("do(a)", {"a": Do(1.5)})]))
    cf = world.counterfactual(batch, {"c": Shift(2.0)})
    np.testing.assert_array_equal(cf.factors[batch.regime == 1, 0], 1.5)
    np.testing.assert_array_equal(cf.factors[:, :2], batch.factors[:, :2])
    np.testing.assert_allclose(cf.factors[:, 2], batch.factors[:, 2] + 2.0)


def test_bad_regime_specs_are_named(world):
    with pytest.raises(ValueError, match="distinct names"):
        RegimeMixture([Regime("x"), Regime("x", {"a": 1.0})])
    with pytest.raises(ValueError, match="'x'.*-0.1"):
        RegimeMixture([Regime("x"), Regime("y", {"a": 1.0})], [-0.1, 1.1])
    with pytest.raises(ValueError, match="sum to 1"):
        RegimeMixture([Regime("x"), Regime("y", {"a": 1.0})], [0.0, 0.0])
    with pytest.raises(ValueError, match="2 regimes but 3"):
        RegimeMixture([Regime("x"), Regime("y", {"a": 1.0})], [0.5, 0.25, 0.25])
    with pytest.raises(UnknownNodeError, match="zz"):
        world.sample(5, seed=0, regime=Regime("q", {"zz": 1.0}))
    with pytest.raises(ValueError, match="'a'.*out of range"):
        world.sample(5, seed=0, regime=Regime("q", {"a": 1e6}))
    with pytest.raises(ValueError, match="source"):
        RandomDo("uniform")
    with pytest.raises(ValueError, match="non-empty name"):
        Regime("")


# ------------------------------------------------------------------------------------------- domains
def test_shift_domains_match_their_specification(world):
    strength, seed, n = 0.05, 7, 4000
    multi = world.with_domains(DomainShift(3, shifted=("a",), kind="shift", strength=strength, seed=seed))
    # specification: domain d > 0 shifts factor j=0 by strength * width * N(0, 1) / 4 from default_rng([seed, d, j])
    deltas = [0.0] + [strength * 200.0 * np.random.default_rng([seed, d, 0]).standard_normal() / 4 for d in (1, 2)]
    batch = sample_domains(multi, n, seed=3)
    np.testing.assert_array_equal(batch.domain, np.repeat([0, 1, 2], n))
    for d, delta in enumerate(deltas):
        a, b, c = batch.factors[batch.domain == d].T
        assert stats.kstest(a - delta, stats.norm().cdf).pvalue > 1e-3
        assert _mean_ok(b, 2 * delta + 1, 4.25)
        assert stats.kstest(c, stats.norm().cdf).pvalue > 1e-3  # not shifted
    base = multi.sample(50, seed=4, domain=0)
    for d, delta in enumerate(deltas):
        moved = multi.domain_counterfactual(base, to_domain=d)
        np.testing.assert_allclose(moved.factors[:, 0], base.factors[:, 0] + delta, atol=1e-9)
        np.testing.assert_allclose(moved.factors[:, 1], base.factors[:, 1] + 2 * delta, atol=1e-9)
        np.testing.assert_array_equal(moved.factors[:, 2], base.factors[:, 2])
        assert (moved.domain == d).all()


def test_mechanism_domain_of_linear_gaussian_by_hand(world):
    strength, seed = 0.5, 5
    multi = world.with_domains(DomainShift(2, shifted=("b",), strength=strength, seed=seed))
    rng = np.random.default_rng([seed, 1, 1])  # domain 1, factor j = 1 ("b")
    weight = 2.0 * np.exp(strength * rng.standard_normal((1,)) / 2.0)[0]
    bias = 1.0 + strength * 200.0 * rng.standard_normal() / 4.0
    base = multi.sample(200, seed=6, domain=0)
    a, b, c = base.factors.T
    moved = multi.domain_counterfactual(base, to_domain=1)
    np.testing.assert_array_equal(moved.factors[:, 0], a)  # shared graph and noise: parents untouched
    np.testing.assert_array_equal(moved.factors[:, 2], c)
    np.testing.assert_allclose(moved.factors[:, 1], np.clip(weight * a + bias + (b - 2 * a - 1), -100, 100),
                               atol=1e-9)
    again = multi.sample(200, seed=6, domain=1)  # same seed, same noise: sampling in domain 1 agrees
    np.testing.assert_allclose(again.factors, moved.factors, atol=1e-9)


def test_bad_domain_specs_are_named(world):
    with pytest.raises(UnknownNodeError, match="zz"):
        world.with_domains(DomainShift(2, shifted=("zz",)))
    with pytest.raises(ValueError, match="twice"):
        DomainShift(2, shifted=("a", "a"))
    with pytest.raises(ValueError, match="n_domains"):
        DomainShift(0, shifted=("a",))
    with pytest.raises(ValueError, match="strength"):
        DomainShift(2, shifted=("a",), strength=0.0)
    with pytest.raises(ValueError, match="kind"):
        DomainShift(2, shifted=("a",), kind="warp")
    with pytest.raises(ValueError, match="shifted"):
        DomainShift(2, shifted=())
    multi = world.with_domains(DomainShift(2, shifted=("a",)))
    with pytest.raises(ValueError, match="domain.*5"):
        multi.sample(5, seed=0, domain=5)
    with pytest.raises(ValueError, match="no domains"):
        world.sample(5, seed=0, domain=0)


@pytest.mark.parametrize("fractions, match", [([True, False], "regime 'x' must be a number.*True"),
                                               (["0.5", "0.5"], "regime 'x' must be a number.*'0.5'"),
                                               ([0.5, None], "regime 'y' must be a number.*None"),
                                               (1.0, "'fractions'.*sequence"),
                                               ("01", "'fractions'.*sequence")])
def test_non_numeric_fractions_are_refused_by_name(fractions, match):
    with pytest.raises(TypeError, match=match):
        RegimeMixture([Regime("x"), Regime("y", {"a": 1.0})], fractions)


def test_random_do_marginal_inside_a_domain_draws_that_domains_marginal(world):
    strength, seed, n = 0.05, 7, 8000
    multi = world.with_domains(DomainShift(2, shifted=("a",), kind="shift", strength=strength, seed=seed))
    delta = strength * 200.0 * np.random.default_rng([seed, 1, 0]).standard_normal() / 4
    batch = multi.sample(n, seed=0, domain=1, regime=Regime("m", {"b": RandomDo("marginal")}))
    a, b, _ = batch.factors.T
    assert _mean_ok(a, delta, 1.0)
    assert _mean_ok(b, 2 * delta + 1, 4.25)  # domain 1's marginal of b, not domain 0's (mean 1)
    assert abs(np.corrcoef(a, b)[0, 1]) < SE / np.sqrt(n)
    assert (batch.domain == 1).all() and batch.regimes[0].name == "m@domain1"
