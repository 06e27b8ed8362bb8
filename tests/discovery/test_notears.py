"""Linear NOTEARS: analytic gradients against finite differences, h(W) = 0 iff DAG (and agreement with the
torch h of LatentSCM), recovery on identifiable equal-variance linear-Gaussian data, the logistic loss on
binary data, thresholding and the acyclicity fallback, determinism and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from latentscm.discovery.notears import _Problem, notears_acyclicity_np, notears_linear, notears_loss
from latentscm.metrics.graphs import _is_acyclic, shd
from latentscm.scm.random import random_dag

from .conftest import scm_data


def _finite_difference(fun, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    grad = np.zeros_like(x)
    for k in range(x.size):
        step = np.zeros_like(x)
        step.flat[k] = eps
        grad.flat[k] = (fun(x + step) - fun(x - step)) / (2 * eps)
    return grad


def _random_weights(d: int, seed: int, scale: float = 0.5) -> np.ndarray:
    w = np.random.default_rng(seed).normal(scale=scale, size=(d, d))
    np.fill_diagonal(w, 0.0)
    return w


# ------------------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("seed", [0, 1])
def test_acyclicity_gradient_matches_finite_differences(seed):
    w = _random_weights(4, seed)
    _, grad = notears_acyclicity_np(w)
    numeric = _finite_difference(lambda v: notears_acyclicity_np(v)[0], w)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss", ["l2", "logistic"])
def test_loss_gradient_matches_finite_differences(loss):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 4)) if loss == "l2" else (rng.random((50, 4)) < 0.4).astype(float)
    w = _random_weights(4, 4)
    _, grad = notears_loss(w, x, loss)
    numeric = _finite_difference(lambda v: notears_loss(v, x, loss)[0], w)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_l2_loss_is_the_least_squares_residual():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(40, 3)), _random_weights(3, 6)
    assert notears_loss(w, x, "l2")[0] == pytest.approx(0.5 / 40 * np.sum((x - x @ w) ** 2))
    xb = (x > 0).astype(float)
    mb = xb @ w
    expected = np.mean(np.sum(np.log1p(np.exp(mb)) - xb * mb, axis=1))
    assert notears_loss(w, xb, "logistic")[0] == pytest.approx(expected)


@pytest.mark.parametrize("loss", ["l2", "logistic"])
def test_augmented_objective_gradient_on_split_variables(loss):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(60, 3)) if loss == "l2" else (rng.random((60, 3)) < 0.5).astype(float)
    problem = _Problem(x, loss, lambda1=0.2)
    flat = np.abs(rng.normal(scale=0.4, size=18))
    _, grad = problem.objective(flat, 10.0, 0.5)
    numeric = _finite_difference(lambda v: problem.objective(v, 10.0, 0.5)[0], flat)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------- h(W)
def test_h_is_zero_exactly_on_dags():
    for seed in range(5):
        dag = np.asarray(random_dag(6, edge_prob=0.5, seed=seed).adjacency, dtype=float)
        weights = dag * np.random.default_rng(seed).uniform(0.5, 2.0, size=dag.shape)
        assert abs(notears_acyclicity_np(weights)[0]) < 1e-10
    cycle = np.zeros((3, 3))
    cycle[0, 1] = cycle[1, 2] = cycle[2, 0] = 0.5
    assert notears_acyclicity_np(cycle)[0] > 1e-3
    two_cycle = np.array([[0.0, 1.0], [0.1, 0.0]])
    # tr(exp(A)) - 2 for A = [[0, 1], [0.01, 0]]: 2 cosh(sqrt(0.01)) - 2
    assert notears_acyclicity_np(two_cycle)[0] == pytest.approx(2 * np.cosh(0.1) - 2)


def test_numpy_h_agrees_with_torch_h_of_latent_scm():
    torch = pytest.importorskip("torch")
    from latentscm.nn.latent_scm import notears_acyclicity

    for seed in range(3):
        w = _random_weights(5, seed, scale=0.6)
        expected = float(notears_acyclicity(torch.tensor(w, dtype=torch.float64)))
        assert notears_acyclicity_np(w)[0] == pytest.approx(expected, rel=1e-10, abs=1e-12)


# ------------------------------------------------------------------------------------------- recovery
@pytest.mark.parametrize("d", [5, 6, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_equal_variance_linear_gaussian_dag(d, seed):
    # Equal noise variances make the DAG identifiable (Peters & Bühlmann 2014). Measured SHD over seeds 0-9,
    # edge_prob 0.4, n 1000: d=5 all 0; d=6 max 2; d=7 max 3; d=8 max 2 (bench_out/s28/notears/scan_small.txt).
    x, truth = scm_data(d, 1000, edge_prob=0.4, mechanism="linear", seed=seed)
    result = notears_linear(x)
    assert shd(truth, result.adjacency) <= 1
    assert result.is_fully_directed()
    assert result.info["converged"] and result.info["h_final"] <= 1e-8
    weights = np.array(result.info["weights"])
    assert np.array_equal(weights != 0, result.adjacency.astype(bool))
    assert np.all(np.abs(weights[weights != 0]) >= 0.3)


def test_recovers_known_weights_of_a_chain():
    rng = np.random.default_rng(0)
    n = 5000
    a = rng.normal(size=n)
    b = 1.5 * a + rng.normal(size=n)
    c = -1.0 * b + rng.normal(size=n)
    result = notears_linear(np.stack([a, b, c], axis=1), lambda1=0.01, node_names=["a", "b", "c"])
    assert result.directed_edges == [("a", "b"), ("b", "c")]
    weights = np.array(result.info["weights"])
    assert weights[0, 1] == pytest.approx(1.5, abs=0.05)
    assert weights[1, 2] == pytest.approx(-1.0, abs=0.05)


def test_logistic_loss_on_binary_data_finds_edges():
    # The paper's logistic SEM has no intercept: x_j ~ Bernoulli(sigmoid(sum_i W[i, j] x_i)), simulated as such.
    rng = np.random.default_rng(1)
    n = 2000
    a = (rng.random(n) < 0.5).astype(float)
    b = (rng.random(n) < scipy.special.expit(4.0 * a)).astype(float)
    c = (rng.random(n) < scipy.special.expit(-4.0 * b)).astype(float)
    e = (rng.random(n) < 0.5).astype(float)
    result = notears_linear(np.stack([a, b, c, e], axis=1), loss="logistic", lambda1=0.01)
    skeleton = result.skeleton
    assert result.info["loss"] == "logistic"
    assert skeleton[0, 1] and skeleton[1, 2]  # both true adjacencies found
    assert skeleton[3].sum() == 0  # the independent node stays isolated
    assert _is_acyclic(result.adjacency.astype(bool))


def test_standardize_rescales_columns_and_still_returns_a_dag():
    x, _ = scm_data(5, 500, edge_prob=0.4, mechanism="linear", seed=3)
    raw = notears_linear(x * np.array([1.0, 10.0, 0.1, 1.0, 3.0]), standardize=True)
    same = notears_linear(x, standardize=True)
    np.testing.assert_allclose(raw.info["weights_raw"], same.info["weights_raw"], atol=1e-6)
    assert _is_acyclic(raw.adjacency.astype(bool))


# ------------------------------------------------------------------------------------------- threshold
def test_threshold_fallback_breaks_a_cycle_and_records_it():
    # Stopping after one outer iteration leaves h > 0 on strongly dependent data: the thresholded graph can keep a
    # 2-cycle. Whatever happens, the result must be acyclic and every removal recorded.
    rng = np.random.default_rng(0)
    a = rng.normal(size=500)
    x = np.stack([a, a + 0.1 * rng.normal(size=500)], axis=1)
    result = notears_linear(x, max_iter=1, lambda1=0.0, w_threshold=0.05)
    assert result.info["n_iterations"] == 1
    assert not result.info["converged"]
    assert _is_acyclic(result.adjacency.astype(bool))
    raw = np.abs(np.array(result.info["weights_raw"]))
    assert raw[0, 1] >= 0.05 and raw[1, 0] >= 0.05  # both directions survive the threshold ...
    assert len(result.info["removed_for_acyclicity"]) == 1  # ... so the weaker one is removed
    removed = result.info["removed_for_acyclicity"][0]
    assert abs(removed[2]) == pytest.approx(min(raw[0, 1], raw[1, 0]))


def test_deterministic_and_json_roundtrip():
    x, _ = scm_data(5, 300, edge_prob=0.4, mechanism="linear", seed=4)
    first, second = notears_linear(x), notears_linear(x)
    assert np.array_equal(first.adjacency, second.adjacency)
    assert first.info["weights_raw"] == second.info["weights_raw"]
    assert "notears" in first.to_json()


# ------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"lambda1": -1.0}, ValueError, "lambda1"),
    ({"loss": "l1"}, ValueError, "loss"),
    ({"w_threshold": -0.1}, ValueError, "w_threshold"),
    ({"max_iter": 0}, ValueError, "max_iter"),
    ({"max_iter": 2.5}, TypeError, "max_iter"),
    ({"h_tol": 0.0}, ValueError, "h_tol"),
    ({"rho_max": -1.0}, ValueError, "rho_max"),
    ({"standardize": "yes"}, TypeError, "standardize"),
    ({"node_names": ["a", "b"]}, ValueError, "node_names"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(error, match=match):
        notears_linear(x, **kwargs)


def test_bad_data_is_named():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    with pytest.raises(ValueError, match="0 and 1"):
        notears_linear(x, loss="logistic")
    with pytest.raises(ValueError, match="standardize"):
        notears_linear((x > 0).astype(float), loss="logistic", standardize=True)
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="data"):
        notears_linear(bad)
    with pytest.raises(ValueError, match="data"):
        notears_linear(x[:, 0])
    constant = x.copy()
    constant[:, 2] = 1.0
    with pytest.raises(ValueError, match="constant"):
        notears_linear(constant, standardize=True)
