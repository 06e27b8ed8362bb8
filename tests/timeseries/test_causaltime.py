"""CausalTimeGenerator on tiny series: exact zero gradients outside H, the ground truth per residual
mode, determinism, the prior options, and clear errors for bad input."""

import numpy as np
import pytest

from latentscm.metrics.temporal_graph import summary_auroc
from latentscm.timeseries import CausalTimeGenerator

FAST = {"hidden": 8, "epochs": 8, "ig_steps": 8, "ig_windows": 64, "seed": 0}

@pytest.fixture(scope="module")
def fitted(series):
    # target="level": the source is a stationary VAR (the default, "difference", is tested below)
    none = CausalTimeGenerator(tau_max=2, top_k=1, selection="top_k", residual="none", target="level",
                               **FAST).fit(series)
    return {"none": none, "child": none.with_residual("child"), "added": none.with_residual("added")}


def windows(gen, n=16):
    return np.random.default_rng(3).standard_normal((n, gen.tau_max, len(gen.var_names_)))


@pytest.mark.parametrize("mode", ["none", "child"])
def test_gradient_wrt_every_non_parent_input_is_exactly_zero(fitted, mode):
    gen = fitted[mode]
    jacobian = gen.jacobian(windows(gen))  # (N, D, tau_max, d)
    truth = gen.ground_truth()[1:]  # (tau_max, D, D): [tau - 1, i, j]
    d = len(gen.var_names_)
    for j in range(jacobian.shape[1]):
        parents = truth[:, :d, j]  # (tau_max, d): which inputs x_{i,t-tau} feed column j
        assert np.all(jacobian[:, j][:, parents == 0] == 0.0), j  # exactly, not approximately
        assert np.all(np.abs(jacobian[:, j][:, parents == 1]).max(axis=0) > 0), j  # parents do act
    assert gen.graph_.sum(axis=0).tolist() == [2, 2, 2, 2]  # top_k=1 plus the self-loop: non-parents exist


def test_ground_truth_per_residual_mode(fitted):
    d = 4
    none, child, added = (fitted[m].ground_truth() for m in ("none", "child", "added"))
    H = fitted["none"].graph_
    assert none.shape == (3, d, d) and not none[0].any()
    assert np.array_equal(none[1], H) and np.array_equal(none[2], H)
    assert child.shape == (3, 2 * d, 2 * d)
    assert np.array_equal(child[1, :d, :d], fitted["child"].graph_)
    assert child[1, :d, d:].all() and not child[:, d:].any()  # residuals: children of every input, parents of none
    assert added[1:].all()  # residual added into x: x depends on every input of the full model
    out = fitted["child"].generate(2, 30, seed=0)
    assert out.values.shape == (2, 30, 2 * d) and out.var_names[d] == "x0_residual"
    assert np.array_equal(out.graph("window"), child) and out.graph().shape == (2 * d, 2 * d)


def test_generation_is_seeded_and_finite(fitted, series):
    gen = fitted["none"]
    a, b, c = gen.generate(3, 50, seed=5), gen.generate(3, 50, seed=5), gen.generate(3, 50, seed=6)
    assert np.array_equal(a.values, b.values) and not np.array_equal(a.values, c.values)
    assert np.all(np.isfinite(a.values)) and a.values.shape == (3, 50, 4)
    # the generated series keep the scale of the source (within a factor of 2)
    ratio = a.values.reshape(-1, 4).std(axis=0) / series.std(axis=0)
    assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio
    gaussian = CausalTimeGenerator(tau_max=1, noise="gaussian", residual="none", **{**FAST, "epochs": 2}).fit(series)
    assert np.all(np.isfinite(gaussian.generate(2, 20, seed=0).values))


def test_with_residual_shares_the_networks_and_refits_the_noise(fitted, series):
    none, added = fitted["none"], fitted["added"]
    assert none.residual == "none" and added.masked_ is none.masked_ and added.graph_ is none.graph_
    # the full model drives x in "added" mode: its one-step residuals are not the masked model's
    assert not np.array_equal(added.residuals_, none.residuals_)
    # a fresh fit with the same seed is the same generator (fits are deterministic)
    fresh = CausalTimeGenerator(tau_max=2, top_k=1, selection="top_k", residual="added", target="level",
                                **FAST).fit(series)
    np.testing.assert_array_equal(fresh.importance_, added.importance_)
    np.testing.assert_array_equal(fresh.residuals_, added.residuals_)
    np.testing.assert_array_equal(fresh.generate(2, 20, seed=1).values, added.generate(2, 20, seed=1).values)


def test_importance_ranks_the_true_parents_of_a_var(var_world, series):
    gen = CausalTimeGenerator(tau_max=1, hidden=16, epochs=30, ig_steps=8, ig_windows=128, seed=0).fit(series)
    # measured: 1.0 (the three cross links carry 0.8 coefficients at T=300)
    assert summary_auroc(var_world, gen.importance_) >= 0.9


def test_a_refit_that_fails_leaves_the_generator_as_it_was(fitted, series):
    gen = fitted["none"]
    before = {k: v for k, v in vars(gen).items()}
    with pytest.raises(ValueError, match="'prior' argument"):
        gen.fit(series[:, :3], np.full((3, 3), 0.5), var_names=["a", "b", "c"])
    assert vars(gen).keys() == before.keys() and all(vars(gen)[k] is v for k, v in before.items())
    assert gen.generate(1, 12, seed=0).values.shape == (1, 12, 4)


def test_prior_restricts_or_sets_the_graph(series):
    prior = np.zeros((4, 4), dtype=int)
    prior[0, 1] = prior[2, 3] = 1
    as_graph = CausalTimeGenerator(tau_max=1, selection="prior", residual="child", **FAST).fit(series, prior)
    np.testing.assert_array_equal(as_graph.graph_, prior | np.eye(4, dtype=int))
    # the full model reads only the prior (plus self-lags): the residual columns depend on nothing else
    truth = as_graph.ground_truth()
    np.testing.assert_array_equal(truth[1, :4, 4:], prior | np.eye(4, dtype=int))
    jacobian = as_graph.jacobian(windows(as_graph))
    assert np.all(jacobian[:, 4 + 1, 0, 2] == 0.0)  # x2 is not allowed into x1's residual
    assert np.all(jacobian[:, 1, 0, 2:] == 0.0) and np.all(jacobian[:, 1, 0, :2] != 0.0)  # x1 reads x0, x1 only
    among = CausalTimeGenerator(tau_max=1, selection="threshold", threshold=0.01, **{**FAST, "epochs": 2}).fit(
        series, prior)
    assert not (among.graph_ & ~(prior | np.eye(4, dtype=int)).astype(bool)).any()


def test_bad_input_gets_a_clear_error(series):
    gen = CausalTimeGenerator(tau_max=2, **FAST)
    with_nan = series.copy()
    with_nan[5, 1] = np.nan
    with pytest.raises(ValueError, match="'X' argument of CausalTimeGenerator.fit contains NaN"):
        gen.fit(with_nan)
    with pytest.raises(ValueError, match="'tau_max' parameter of CausalTimeGenerator.fit \\(2\\) leaves too few"):
        gen.fit(series[:8])
    constant = series.copy()
    constant[:, 2] = 1.0
    with pytest.raises(ValueError, match="constant columns \\[2\\]"):
        gen.fit(constant)
    with pytest.raises(RuntimeError, match="not fitted"):
        gen.generate(1, 10, seed=0)
    with pytest.raises(ValueError, match="'prior' argument .* 0/1 array \\(4, 4\\)"):
        gen.fit(series, np.ones((3, 3)))
    with pytest.raises(ValueError, match="selection='prior' needs a 'prior'"):
        CausalTimeGenerator(selection="prior", **FAST).fit(series)
    fractional = np.ones((4, 4))
    fractional[0, 1], fractional[3, 0] = 0.9, 0.5
    with pytest.raises(ValueError, match="'prior' argument .* only 0 and 1. Got the values \\[0.5, 0.9\\]"):
        gen.fit(series, fractional)
    trend = series.copy()
    trend[:, 1] = np.arange(len(series)) * 0.37  # moves by the same step every time: exact only up to rounding
    with pytest.raises(ValueError, match="linear trend"):
        gen.fit(trend)
    with pytest.raises(FloatingPointError, match="lower 'learning_rate'"):
        CausalTimeGenerator(tau_max=2, **{**FAST, "epochs": 2}, learning_rate=1e30).fit(series)
    with pytest.raises(ValueError, match="'residual' parameter of CausalTimeGenerator must be one of"):
        CausalTimeGenerator(residual="exogenous")
    with pytest.raises(ValueError, match="needs self_loops=True"):
        CausalTimeGenerator(self_loops=False)
    assert CausalTimeGenerator(**CausalTimeGenerator(top_k=3).get_params()).top_k == 3
