"""kNN mutual information (Ross 2014) with classes of one member: such a point is removed from the estimate entirely."""

import numpy as np
import pytest
from scipy.special import digamma
from sklearn.feature_selection._mutual_info import _compute_mi_cd

from latentscm.metrics.mutual_info import _knn_mi_column, mutual_information


def _ross_without_singletons(x, labels, k):
    """Ross (2014) by direct distances on the points whose class has >= 2 members (N, k_i, N_c, m_i all over them)."""
    sizes = np.bincount(labels)[labels]
    use = sizes > 1
    xs, ls = x[use], labels[use]
    ks, ms = [], []
    for i in range(xs.size):
        same = np.sort(np.abs(xs[ls == ls[i]] - xs[i]))[1:]
        kk = min(k, same.size)
        ks.append(kk)
        ms.append(np.sum(np.abs(xs - xs[i]) <= same[kk - 1]) - 1)
    estimate = digamma(xs.size) + np.mean(digamma(ks)) - np.mean(digamma(sizes[use])) - np.mean(digamma(ms))
    return max(float(estimate), 0.0)


def _with_singletons(rng, n, n_single):
    labels = np.r_[rng.integers(0, 4, n), np.arange(4, 4 + n_single)]
    x = labels * rng.uniform(0, 1) + rng.normal(size=labels.size)
    x[n:] = rng.uniform(x.min(), x.max(), n_single)  # singletons scattered among the other points
    return x, labels


def test_knn_mi_leaves_singleton_classes_out_of_the_neighbour_counts():
    # they used to be dropped from N but still counted in m_i: 1.063 instead of 1.196 with 30 singletons
    rng = np.random.default_rng(3)
    for n_single in (1, 5, 30):
        for k in (1, 3, 5):
            x, labels = _with_singletons(rng, 120, n_single)
            expected = _ross_without_singletons(x, labels, k)
            assert _knn_mi_column(x, labels, int(labels.max()) + 1, k) == pytest.approx(expected, abs=1e-12)


def test_knn_mi_unchanged_by_appending_singleton_classes():
    rng = np.random.default_rng(4)
    x, labels = _with_singletons(rng, 150, 0)
    extra, extra_labels = rng.uniform(x.min(), x.max(), 20), np.arange(4, 24)
    before = mutual_information(x[:, None], labels[:, None], estimator="knn", discrete=True)
    after = mutual_information(np.r_[x, extra][:, None], np.r_[labels, extra_labels][:, None], estimator="knn",
                               discrete=True)
    assert before[0, 0] > 0.1
    assert after[0, 0] == pytest.approx(before[0, 0], abs=1e-12)


def test_knn_mi_matches_scikit_learn_with_singletons():
    # Distinct integers below 2**25: every distance (and sklearn's squared ones) is exact in float64, so sklearn's
    # noise-free per-column estimator has no rounding. Draws where a second point lies exactly at a point's k-th
    # neighbour distance are skipped: Ross counts it in m_i (within the distance), sklearn does not (strictly within).
    rng = np.random.default_rng(5)
    compared = 0
    for _ in range(40):
        n, n_single, k = int(rng.integers(20, 150)), int(rng.integers(1, 31)), int(rng.integers(1, 6))
        labels = np.r_[rng.integers(0, 4, n), np.arange(4, 4 + n_single)]
        x = rng.choice(2 ** 24, size=labels.size, replace=False) + labels * int(rng.integers(0, 2 ** 22))
        x = x.astype(np.float64)
        use = np.bincount(labels)[labels] > 1
        xs, ls = x[use], labels[use]
        dist = np.abs(xs[:, None] - xs[None, :])
        radius = np.array([np.sort(dist[i, ls == ls[i]])[min(k, np.sum(ls == ls[i]) - 1)] for i in range(xs.size)])
        if np.any(np.sum(dist == radius[:, None], axis=1) > 1):
            continue
        compared += 1
        ours = _knn_mi_column(x, labels, int(labels.max()) + 1, k)
        assert ours == pytest.approx(_compute_mi_cd(x, labels, k), abs=1e-10)
    assert compared >= 30
