"""RCA numbers against independent references: the walk's stationary distribution against a linear solve of
its fixed-point equation, and the incremental graph against scikit-learn's Lasso on the same standardised data."""

import numpy as np
import pytest

from latentscm.rca import IncrementalGraph, random_walk_with_restart


def _reference_walk(adjacency, scores, restart, self_weight):
    d = adjacency.shape[0]
    P = adjacency.T * scores[None, :]  # P[j, i] = A[i, j] s_i
    np.fill_diagonal(P, self_weight * scores)
    for j in range(d):
        if P[j].sum() <= 0:
            P[j] = 0.0
            P[j, j] = 1.0
    P = P / P.sum(1, keepdims=True)
    v = scores / scores.sum() if scores.sum() > 0 else np.full(d, 1.0 / d)
    # pi = (1 - r) pi P + r v
    return np.linalg.solve((np.eye(d) - (1.0 - restart) * P).T, restart * v)


@pytest.mark.parametrize("seed", range(20))
def test_walk_matches_linear_solve(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 8))
    adjacency = rng.uniform(size=(d, d)) * (rng.uniform(size=(d, d)) < 0.4)
    scores = rng.uniform(size=d) * (rng.uniform(size=d) < 0.8)
    restart, self_weight = float(rng.choice([0.05, 0.15, 0.6])), float(rng.choice([0.0, 0.1, 1.0]))
    got = random_walk_with_restart(adjacency, scores, restart=restart, self_weight=self_weight, tol=1e-13)
    np.testing.assert_allclose(got, _reference_walk(adjacency, scores, restart, self_weight), atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_graph_matches_sklearn_lasso_in_both_states(seed):
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(seed)
    d, lag, T = 3, 1 + seed % 2, 120
    x = rng.normal(size=(T, d)).cumsum(0) * 0.1 + rng.normal(size=(T, d))
    graph = IncrementalGraph(lag=lag, sparsity=0.02, change_sparsity=0.05, tol=1e-12, max_iter=100_000,
                             warm_iter=100_000).fit(x)
    z = (x - x.mean(0)) / x.std(0)

    def lagged(block):
        m = block.shape[0] - lag
        return block[lag:], np.concatenate([block[lag - tau: lag - tau + m] for tau in range(1, lag + 1)], axis=1)

    targets, design = lagged(z)
    for j in range(d):
        ref = linear_model.Lasso(alpha=0.02, tol=1e-14, max_iter=1_000_000).fit(design, targets[:, j])
        np.testing.assert_allclose(graph.weights_[1:, j], ref.coef_, atol=1e-8)
        np.testing.assert_allclose(graph.weights_[0, j], ref.intercept_, atol=1e-8)
    new = rng.normal(size=(40, d)) + np.array([2.0, 0.0, -1.0])
    graph.new_state().partial_fit(new[:20]).partial_fit(new[20:])
    targets, design = lagged(np.concatenate([z[-lag:], (new - x.mean(0)) / x.std(0)]))
    invariant = graph.invariant_
    for j in range(d):
        residual = targets[:, j] - design @ invariant[1:, j]
        ref = linear_model.Lasso(alpha=0.05, tol=1e-14, max_iter=1_000_000).fit(design, residual)
        np.testing.assert_allclose(graph.change_[1:, j], ref.coef_, atol=1e-8)
        np.testing.assert_allclose(graph.change_[0, j], ref.intercept_ - invariant[0, j], atol=1e-8)
