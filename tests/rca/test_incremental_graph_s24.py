"""IncrementalGraph solves its own convex problem: KKT conditions hold at what fit/partial_fit return, also after a
large mean shift (intercept and lags nearly collinear), and warm-started chunked updates reach the refit's optimum."""

import numpy as np

from latentscm.rca import IncrementalGraph


def _var1(n: int, shift: float, seed: int) -> np.ndarray:
    """A 4-variable chain VAR(1) (n, 4); ``shift`` is added to the innovations of x1 (a shifted mechanism)."""
    rng = np.random.default_rng(seed)
    coefficients = np.array([[0.5, 0.6, 0.0, 0.0], [0.0, 0.4, 0.6, 0.0], [0.0, 0.0, 0.4, 0.6], [0.0, 0.0, 0.0, 0.5]])
    x = np.zeros((n + 20, 4))
    for t in range(1, n + 20):
        x[t] = x[t - 1] @ coefficients + rng.standard_normal(4) + np.array([0.0, shift, 0.0, 0.0])
    return x[20:]


def _kkt_violation(graph: IncrementalGraph, before: np.ndarray, after: np.ndarray) -> float:
    """Largest violation of the lasso optimality conditions of the new state's problem, computed from the data:
    zero intercept gradient; lag gradient ``= -lambda sign(Delta)`` where Delta != 0, ``|.| <= lambda`` where 0."""
    z = (np.concatenate([before[-1:], after]) - graph.mean_) / graph.scale_
    design = np.column_stack([np.ones(len(after)), z[:-1]])
    gradient = design.T @ (design @ graph.weights_ - z[1:]) / len(after)
    delta, lam = graph.change_[1:], graph.change_sparsity
    active = delta != 0
    return max(float(np.abs(gradient[0]).max()),
               float(np.abs(gradient[1:][active] + lam * np.sign(delta[active])).max(initial=0.0)),
               float(np.maximum(np.abs(gradient[1:][~active]) - lam, 0.0).max(initial=0.0)))


def test_refit_of_a_shifted_state_converges_and_satisfies_kkt():
    x, y = _var1(300, 0.0, seed=0), _var1(50, 8.0, seed=1)
    graph = IncrementalGraph().fit(x).new_state().partial_fit(y, n_iter=3000, warm=False)
    assert graph.n_iter_ < 3000  # stopped at tol, not at the iteration cap
    assert _kkt_violation(graph, x, y) < 1e-5
    assert np.abs(graph.change_[1:]).max() > 0  # a real lasso problem: some change is active


def test_warm_chunked_updates_reach_the_refit_optimum_with_default_settings():
    x, y = _var1(300, 0.0, seed=2), _var1(50, 8.0, seed=3)
    refit = IncrementalGraph().fit(x).new_state().partial_fit(y, n_iter=20000, warm=False)
    warm = IncrementalGraph().fit(x).new_state()
    for start in range(0, 50, 10):
        warm.partial_fit(y[start:start + 10])
        assert warm.n_iter_ < warm.warm_iter  # each update converged before its cap
    assert _kkt_violation(warm, x, y) < 1e-5
    np.testing.assert_allclose(warm.weights_, refit.weights_, atol=1e-4)


def test_state_zero_fit_satisfies_kkt():
    x = _var1(200, 0.0, seed=4) + 5.0
    graph = IncrementalGraph(sparsity=0.05).fit(x)
    assert graph.n_iter_ < graph.max_iter
    z = (x - graph.mean_) / graph.scale_
    design = np.column_stack([np.ones(len(z) - 1), z[:-1]])
    gradient = design.T @ (design @ graph.weights_ - z[1:]) / (len(z) - 1)
    w, lam = graph.weights_[1:], graph.sparsity
    assert np.abs(gradient[0]).max() < 1e-6
    assert np.abs(gradient[1:][w != 0] + lam * np.sign(w[w != 0])).max() < 1e-5
    assert np.abs(gradient[1:][w == 0]).max() <= lam + 1e-5
