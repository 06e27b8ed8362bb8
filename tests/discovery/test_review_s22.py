"""Regression tests of the s22 review of the discovery area (one per fixed defect)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from latentscm.discovery import FisherZ, cdnod, pc_skeleton
from latentscm.discovery.timeseries import cmlp_granger, granger, pcmci, pcmci_plus, varlingam


def _var_series(seed: int = 1, T: int = 300) -> np.ndarray:
    """A 2-variable VAR(1) with Laplace innovations and the link x0 -> x1 (T, 2)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((T, 2))
    noise = rng.laplace(size=(T, 2))
    for t in range(1, T):
        x[t] = 0.5 * x[t - 1] + noise[t]
        x[t, 1] += 0.6 * x[t - 1, 0]
    return x


@pytest.mark.parametrize("call", [
    lambda x: granger(x, alpha=0.0), lambda x: granger(x, alpha=1.0),
    lambda x: varlingam(x, alpha=0.0), lambda x: varlingam(x, alpha=1.0),
    lambda x: pcmci(x, alpha=0.0), lambda x: pcmci(x, alpha=1.0),
    lambda x: pcmci(x, pc_alpha=0.0), lambda x: pcmci(x, pc_alpha=1.0),
    lambda x: pcmci_plus(x, alpha=0.0), lambda x: pcmci_plus(x, alpha=1.0),
])
def test_temporal_methods_reject_degenerate_levels(call):
    # pc, cdnod and causal_de_finetti require alpha in (0, 1); the temporal methods accepted 0 and 1.
    with pytest.raises(ValueError, match="alpha' parameter of .* must be a float > 0 and < 1"):
        call(_var_series())


@pytest.mark.parametrize("method", [granger, varlingam])
@pytest.mark.parametrize("combination", [(1.0, 0.0), (1.0, 2.0), (0.1, 0.3)])
def test_lag_methods_reject_collinear_columns(method, combination):
    # varlingam returned p = 0 for half the links; granger returned p = 1 everywhere when rounding left the
    # Gram matrix invertible (0.1 x0 + 0.3 x1).
    x = _var_series()
    data = np.column_stack([x, combination[0] * x[:, 0] + combination[1] * x[:, 1]])
    with pytest.raises(ValueError, match="singular \\(collinear or duplicated columns\\)"):
        method(data)


@pytest.mark.parametrize("method", [granger, varlingam])
def test_lag_methods_reject_noiseless_equation(method):
    # x1_t = x0_{t-1} exactly: the t-tests of x1's equation divided by rounding noise and found x2 -> x1.
    rng = np.random.default_rng(0)
    x0 = rng.laplace(size=300)
    data = np.column_stack([x0, np.r_[0.0, x0[:-1]], rng.laplace(size=300)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=r"columns \[1\] that are exact linear functions of the lagged"):
            method(data)


def test_pcmci_integral_float_condition_limits():
    x = np.random.default_rng(0).normal(size=(200, 3))
    reference = pcmci(x, max_conds_py=2, max_conds_px=1)
    found = pcmci(x, max_conds_py=2.0, max_conds_px=1.0)  # crashed as a slice index
    np.testing.assert_array_equal(found.pvalues, reference.pvalues)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_cmlp_rejects_non_finite_lambdas(bad):
    x = np.random.default_rng(0).normal(size=(80, 2))
    with pytest.raises(ValueError, match="'lambdas' parameter of cmlp_granger"):
        cmlp_granger(x, max_lag=1, hidden=4, max_iter=2, lambdas=[0.01, bad])


@pytest.mark.parametrize("seed, error", [(1.7, TypeError), (True, TypeError), ("1", TypeError), (-3, ValueError)])
def test_cmlp_validates_seed(seed, error):
    x = np.random.default_rng(0).normal(size=(60, 2))
    with pytest.raises(error, match="'seed' parameter of cmlp_granger"):
        cmlp_granger(x, max_lag=1, hidden=4, max_iter=2, lambdas=[0.01], seed=seed)


@pytest.mark.parametrize("options, name", [
    ({"alpha": 1.5}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"alpha": 0.0}, "alpha"), ({"alpha": 0.05, "max_depth": -1}, "max_depth"),
    ({"alpha": 0.05, "time_budget": -1.0}, "time_budget"),
])
def test_pc_skeleton_validates_parameters(options, name):
    # alpha=1.5 or NaN kept every edge, alpha=-0.1 removed every edge, max_depth=-1 ran no test, silently.
    bound = FisherZ().bind(np.random.default_rng(0).normal(size=(100, 3)))
    with pytest.raises(ValueError, match=f"'{name}' parameter of pc_skeleton"):
        pc_skeleton(bound, **options)


def test_cdnod_orient_changing_needs_continuous_test():
    # orient_changing=True was silently ignored with a categorical CI test.
    rng = np.random.default_rng(0)
    context = np.repeat(np.arange(3), 200)
    x = (rng.random(600) < 0.2 + 0.3 * context).astype(int)
    y = np.where(rng.random(600) < 0.15 + 0.2 * context, 1 - x, x)
    with pytest.raises(ValueError, match="'orient_changing' option of cdnod"):
        cdnod(np.column_stack([x, y]), context.astype(float), ci_test="chisq", orient_changing=True)
    graph = cdnod(np.column_stack([x, y]), context.astype(float), ci_test="chisq")
    assert graph.info["mechanism_dependence"] == []
