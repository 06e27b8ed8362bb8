"""Metrics recomputed from their definitions by independent means (scipy / sklearn / brute force), on
small random cases with ties, more codes than factors and fewer (session 26 review)."""

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.special import digamma
from sklearn.feature_selection import mutual_info_classif
from sklearn.linear_model import LogisticRegression

from latentscm.metrics._common import split_indices
from latentscm.metrics.generator_fidelity import _pair, _windows, autocorrelation_distance, maximum_mean_discrepancy
from latentscm.metrics.infomec import infomec
from latentscm.metrics.mcc import correlation_matrix, mcc
from latentscm.metrics.mutual_info import _knn_mi_column
from latentscm.metrics.r2 import kernel_ridge_r2
from latentscm.metrics.ranking import map_at_k, mrr, precision_at_k


def _reference_correlation(codes, factors, method):
    correlate = stats.pearsonr if method == "pearson" else stats.spearmanr
    out = np.zeros((codes.shape[1], factors.shape[1]))
    for d, k in itertools.product(range(codes.shape[1]), range(factors.shape[1])):
        if np.ptp(codes[:, d]) > 0 and np.ptp(factors[:, k]) > 0:
            out[d, k] = abs(correlate(codes[:, d], factors[:, k])[0])
    return out


def _best_matching_mean(correlation):
    """Brute force over every one-to-one matching; unmatched factors count 0."""
    n_codes, n_factors = correlation.shape
    if n_codes >= n_factors:
        best = max(sum(correlation[p[k], k] for k in range(n_factors))
                   for p in itertools.permutations(range(n_codes), n_factors))
    else:
        best = max(sum(correlation[d, p[d]] for d in range(n_codes))
                   for p in itertools.permutations(range(n_factors), n_codes))
    return best / n_factors


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_mcc_matches_scipy_correlations_and_brute_force_matching(method):
    rng = np.random.default_rng(0)
    for trial in range(60):
        n_codes, n_factors = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        codes = rng.normal(size=(30, n_codes))
        factors = codes[:, rng.integers(0, n_codes, n_factors)] ** 3 + rng.normal(size=(30, n_factors))
        if trial % 2:  # ties in both
            codes, factors = np.round(codes), np.round(factors * 0.7)
        if np.ptp(factors, axis=0).min() == 0:
            continue
        expected = _reference_correlation(codes, factors, method)
        np.testing.assert_allclose(correlation_matrix(codes, factors, method=method), expected, atol=1e-12)
        assert mcc(codes, factors, method=method) == pytest.approx(_best_matching_mean(expected), abs=1e-12)


def test_knn_mutual_information_is_ross_2014_by_brute_force():
    rng = np.random.default_rng(1)
    for n in (12, 40, 97):
        labels = rng.integers(0, 3, n)
        values = labels + rng.normal(size=n)
        n_neighbors, radii_counts, ks, sizes = 3, [], [], []
        for i in range(n):
            same = np.sort(np.abs(values[labels == labels[i]] - values[i]))[1:]
            k = min(n_neighbors, same.size)
            radii_counts.append(np.sum(np.abs(values - values[i]) <= same[k - 1]) - 1)
            ks.append(k)
            sizes.append(np.sum(labels == labels[i]))
        expected = digamma(n) + np.mean(digamma(ks)) - np.mean(digamma(sizes)) - np.mean(digamma(radii_counts))
        assert _knn_mi_column(values, labels, 3, n_neighbors) == pytest.approx(max(expected, 0.0), abs=1e-12)


def _rescaled_sparsity(row):
    if row.sum() <= 0:
        return np.nan
    return 1.0 if row.size == 1 else (row.max() / row.sum() - 1 / row.size) / (1 - 1 / row.size)


def test_infomec_matches_its_definition_recomputed_with_sklearn():
    rng = np.random.default_rng(2)
    for seed, (n_factors, n_codes) in enumerate([(2, 3), (3, 2), (1, 4)]):
        labels = rng.integers(0, 4, size=(300, n_factors))
        codes = labels @ (rng.normal(size=(n_factors, n_codes)) * (rng.random((n_factors, n_codes)) < 0.6))
        codes = codes + 0.5 * rng.normal(size=codes.shape)
        codes[:, 0] *= 0.01  # below 1/20 of the largest range: pruned
        got = infomec(codes, labels.astype(float), discrete=True, seed=seed)

        train, test = split_indices(300, 0.2, np.random.default_rng(seed), "reference")
        ranges = np.ptp(codes, axis=0)
        latents = codes[:, ranges >= 0.05 * ranges.max()]
        entropies = np.array([stats.entropy(np.bincount(labels[:, k])) for k in range(n_factors)])
        mutual_info = np.array([[mutual_info_classif(latents[:, [j]], labels[:, k], discrete_features=False,
                                                     n_neighbors=3, random_state=0)[0]
                                 for j in range(latents.shape[1])] for k in range(n_factors)])
        nmi = np.clip(mutual_info / entropies[:, None], 0, 1)
        per_latent = [s for s in (_rescaled_sparsity(nmi[:, j]) for j in range(nmi.shape[1])) if not np.isnan(s)]
        per_source = [np.nan_to_num(_rescaled_sparsity(nmi[k])) for k in range(n_factors)]
        mean, std = latents[train].mean(0), latents[train].std(0)
        explicitness = []
        for k in range(n_factors):
            model = LogisticRegression(max_iter=200).fit((latents[train] - mean) / std, labels[train, k])
            probabilities = model.predict_proba((latents[test] - mean) / std)
            chosen = probabilities[np.arange(test.size), np.searchsorted(model.classes_, labels[test, k])]
            explicitness.append(max(0.0, 1 + np.mean(np.log(chosen)) / entropies[k]))
        assert got["infomec.n_active"] == latents.shape[1]
        assert got["infomec.infom"] == pytest.approx(np.mean(per_latent), abs=1e-3)  # sklearn's own jitter
        assert got["infomec.infoc"] == pytest.approx(np.mean(per_source), abs=1e-3)
        assert got["infomec.infoe"] == pytest.approx(np.mean(explicitness), abs=1e-9)


def _orders(scores):
    """Every order of the names that is consistent with the scores (ties in any order)."""
    groups = [[n for n in scores if scores[n] == v] for v in sorted(set(scores.values()), reverse=True)]
    for parts in itertools.product(*[list(itertools.permutations(g)) for g in groups]):
        yield [n for part in parts for n in part]


def test_ranking_scores_are_expectations_over_tie_orders_by_enumeration():
    rng = np.random.default_rng(3)
    for _ in range(150):
        names = [f"v{i}" for i in range(int(rng.integers(1, 7)))]
        scores = {n: float(rng.integers(0, 3)) for n in names}
        truth = set(rng.choice(names, size=int(rng.integers(1, len(names) + 1)), replace=False).tolist())
        orders = list(_orders(scores))

        def precision(order, k, truth=truth):
            return len(set(order[:k]) & truth) / min(k, len(truth))

        def reciprocal(order, truth=truth):
            return next((1 / (i + 1) for i, n in enumerate(order) if n in truth), 0.0)

        for k in (1, 2, 4, 8):
            assert precision_at_k(scores, truth, k) == pytest.approx(np.mean([precision(o, k) for o in orders]))
            assert map_at_k(scores, truth, k) == pytest.approx(
                np.mean([np.mean([precision(o, j) for j in range(1, k + 1)]) for o in orders]))
        assert mrr(scores, truth) == pytest.approx(np.mean([reciprocal(o) for o in orders]))


def test_kernel_ridge_picks_the_alpha_of_brute_force_leave_one_out():
    rng = np.random.default_rng(4)
    alphas = np.array([1e-3, 1e-1, 10.0])
    for n in (10, 25):
        x = rng.normal(size=(n + 8, 2))
        y = np.column_stack([np.sin(2 * x[:, 0]) + 0.05 * rng.normal(size=n + 8), rng.normal(size=n + 8)])
        train_x = (x[:n] - x[:n].mean(0)) / x[:n].std(0)
        train_y = (y[:n] - y[:n].mean(0)) / y[:n].std(0)
        distances = ((train_x[:, None] - train_x[None]) ** 2).sum(-1)
        kernel = np.exp(-distances / np.median(distances[~np.eye(n, dtype=bool)]))
        chosen = []
        for k in range(2):
            errors = []
            for alpha in alphas:
                error = 0.0
                for i in range(n):
                    keep = np.arange(n) != i
                    fit = np.linalg.solve(kernel[np.ix_(keep, keep)] + alpha * np.eye(n - 1), train_y[keep, k])
                    error += (train_y[i, k] - kernel[i, keep] @ fit) ** 2
                errors.append(error)
            chosen.append(alphas[int(np.argmin(errors))])
        full = kernel_ridge_r2(x[:n], y[:n], x[n:], y[n:], alphas)
        for k in range(2):
            single = kernel_ridge_r2(x[:n], y[:n], x[n:], y[n:], np.array([chosen[k]]))
            assert full[k] == pytest.approx(single[k], abs=1e-10)


def test_mmd_and_autocorrelation_distance_match_loops():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(2, 20, 2)).cumsum(1)
    generated = 2 * rng.normal(size=(3, 17, 2)) + 1
    got = maximum_mean_discrepancy(real, generated, window=3, max_windows=30, seed=7)
    draw = np.random.default_rng(7)
    a, b = _pair(real, generated, "reference")
    x, y = _windows(a, 3, 30, draw, "real", "reference"), _windows(b, 3, 30, draw, "generated", "reference")
    pooled = np.vstack([x, y])
    squared = ((pooled[:, None] - pooled[None]) ** 2).sum(-1)
    bandwidth = np.median(squared[np.triu_indices(len(pooled), 1)])
    kernel = np.exp(-squared / bandwidth)
    m = len(x)
    kxx, kyy, kxy = kernel[:m, :m], kernel[m:, m:], kernel[:m, m:]
    expected = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (len(y) * (len(y) - 1))
                - 2 * kxy.mean())
    assert got == pytest.approx(expected, abs=1e-12)

    def acf(series, max_lag):
        numerator, denominator = np.zeros((max_lag, 2)), np.zeros(2)
        for one in series:
            centred = one - one.mean(0)
            denominator += (centred ** 2).sum(0)
            for lag in range(1, max_lag + 1):
                numerator[lag - 1] += (centred[lag:] * centred[:-lag]).sum(0)
        return numerator / denominator

    assert autocorrelation_distance(real, generated, max_lag=4) == pytest.approx(
        np.abs(acf(a, 4) - acf(b, 4)).mean(), abs=1e-12)
