"""Fidelity of generated time series: how hard they are to tell from the real ones.

Three measures on windows of ``window`` consecutive steps (each window flattened to a vector),
after standardising both sets with the real series' per-variable mean and standard deviation:

* **Post-hoc discriminator** (the "discriminative score" of Yoon, Jarrett & van der Schaar 2019,
  "Time-series generative adversarial networks", NeurIPS; used by Cheng et al. 2024, CausalTime): a
  small classifier (scikit-learn's ``MLPClassifier``, one hidden layer) is trained to tell real from
  generated windows on a balanced split (at most 500 epochs of Adam) and scored on held-out windows.
  Accuracy and ROC AUC near 0.5 mean indistinguishable. Yoon et al.'s score is
  |accuracy - 0.5| (``discriminator.score``): **lower is better**, and a held-out accuracy below
  0.5 (a classifier that learnt the wrong way round) is no better than 0.5. Raw accuracy and AUC
  are reported too; they are "lower is better" only down to 0.5.
* **MMD** (Gretton et al. 2012, "A kernel two-sample test", JMLR): the unbiased estimate of the squared
  maximum mean discrepancy with the Gaussian kernel exp(-||x - y||² / h), h the median of the non-zero squared
  pairwise distances of the pooled windows (so the length scale is about the median distance). **Lower is
  better**; about 0 when the distributions agree.
* **Autocorrelation distance**: the mean absolute difference of the autocorrelation functions at lags
  1..``max_lag``, per variable, averaged over variables (the ACF is pooled over the series of each
  set). **Lower is better**.

:func:`generator_fidelity` reports each for the generated series and for a **time-shuffled baseline**:
the real series with their time steps permuted, which keeps every marginal distribution exactly and
destroys all dynamics. A generator worth its name scores better than that baseline.

Series are arrays (T, d) or (n, T, d) (n series of T steps); real and generated may differ in n and T.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier

from latentscm._validation import as_generator, check_array, check_number

__all__ = ["autocorrelation_distance", "discriminative_score", "generator_fidelity", "maximum_mean_discrepancy"]


def _series(value: Any, name: str, owner: str) -> np.ndarray:
    array = check_array(value, name, owner)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise ValueError(f"The {name!r} argument of {owner} must be a series (T, d) or several (n, T, d). "
                         f"Got shape {array.shape}.")
    return array


def _pair(real: Any, generated: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    real, generated = _series(real, "real", owner), _series(generated, "generated", owner)
    if real.shape[2] != generated.shape[2]:
        raise ValueError(f"The 'real' and 'generated' series of {owner} must have the same variables. "
                         f"Got {real.shape[2]} and {generated.shape[2]}.")
    if real.shape[0] * real.shape[1] < 2:
        raise ValueError(f"The 'real' series of {owner} need at least 2 time steps in all to be standardised. Got "
                         f"shape {real.shape}.")
    mean = real.reshape(-1, real.shape[2]).mean(axis=0)
    scale = real.reshape(-1, real.shape[2]).std(axis=0)
    if np.any(scale == 0):
        raise ValueError(f"The 'real' series of {owner} has constant variables "
                         f"{np.flatnonzero(scale == 0).tolist()}.")
    return (real - mean) / scale, (generated - mean) / scale


def _windows(series: np.ndarray, window: int, limit: int, rng: np.random.Generator, name: str,
             owner: str) -> np.ndarray:
    """Up to ``limit`` windows (m, window * d) drawn without replacement from all start positions."""
    n, T, d = series.shape
    if T < window:
        raise ValueError(f"The 'window' parameter of {owner} ({window}) is longer than the {name!r} series "
                         f"(T={T}).")
    starts = [(i, t) for i in range(n) for t in range(T - window + 1)]
    chosen = rng.choice(len(starts), size=min(limit, len(starts)), replace=False)
    return np.stack([series[starts[c][0], starts[c][1]: starts[c][1] + window].ravel() for c in chosen])


def discriminative_score(real: Any, generated: Any, *, window: int = 10, max_windows: int = 1000,
                         hidden: int = 32, test_fraction: float = 0.3, seed: int = 0) -> dict[str, float]:
    """Held-out accuracy and AUC of a classifier of real vs generated windows (0.5: indistinguishable),
    and Yoon et al.'s discriminative score |accuracy - 0.5| (**lower is better**, 0 at best).

    Parameters
    ----------
    real, generated : series (T, d) or (n, T, d).
    window : steps per window.
    max_windows : windows drawn per set (the smaller count is used for both, so the split is balanced).
    hidden : width of the classifier's hidden layer.
    test_fraction : share of the windows held out for scoring.
    seed : windows, split and classifier initialisation.

    Returns
    -------
    ``{"discriminator.accuracy", "discriminator.auc", "discriminator.score"}``.
    """
    owner = "discriminative_score"
    window = int(check_number(window, "window", owner, low=1, integer=True))
    max_windows = int(check_number(max_windows, "max_windows", owner, low=4, integer=True))
    hidden = int(check_number(hidden, "hidden", owner, low=1, integer=True))
    test_fraction = check_number(test_fraction, "test_fraction", owner, low=0, high=1, low_inclusive=False,
                                 high_inclusive=False)
    rng = as_generator(seed)
    real, generated = _pair(real, generated, owner)
    a = _windows(real, window, max_windows, rng, "real", owner)
    b = _windows(generated, window, max_windows, rng, "generated", owner)
    m = min(len(a), len(b))
    features = np.concatenate([a[:m], b[:m]])
    labels = np.concatenate([np.zeros(m), np.ones(m)])
    order = rng.permutation(2 * m)
    n_test = max(2, int(round(test_fraction * 2 * m)))
    test, train = order[:n_test], order[n_test:]
    if len(np.unique(labels[test])) < 2 or len(np.unique(labels[train])) < 2:
        raise ValueError(f"{owner} has too few windows ({m} per set) to train and score a classifier; "
                         "give longer series or a shorter window.")
    # No early stopping: measured on bench_causaltime, stopping on a held-out tenth halted the classifier
    # before it told even time-shuffled series from real ones (AUC 0.49 instead of 0.80), which would
    # flatter a generator. The iteration cap may stop the training loss before sklearn's tolerance;
    # the score reported is held-out, so that warning is not shown.
    classifier = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=500, random_state=int(rng.integers(2**31)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(features[train], labels[train])
    probability = classifier.predict_proba(features[test])[:, 1]
    accuracy = float(np.mean((probability > 0.5) == labels[test]))
    return {"discriminator.accuracy": accuracy, "discriminator.auc": float(roc_auc_score(labels[test], probability)),
            "discriminator.score": abs(accuracy - 0.5)}


def maximum_mean_discrepancy(real: Any, generated: Any, *, window: int = 10, max_windows: int = 500,
                             seed: int = 0) -> float:
    """Unbiased squared MMD between real and generated windows (Gaussian kernel, median bandwidth).
    **Lower is better**; can be slightly negative when the distributions agree.

    Parameters
    ----------
    real, generated : series (T, d) or (n, T, d).
    window : steps per window.
    max_windows : windows drawn per set.
    seed : which windows.

    Returns
    -------
    float
    """
    owner = "maximum_mean_discrepancy"
    window = int(check_number(window, "window", owner, low=1, integer=True))
    max_windows = int(check_number(max_windows, "max_windows", owner, low=2, integer=True))
    rng = as_generator(seed)
    real, generated = _pair(real, generated, owner)
    a = _windows(real, window, max_windows, rng, "real", owner)
    b = _windows(generated, window, max_windows, rng, "generated", owner)
    pooled = np.concatenate([a, b])
    squared = np.sum(pooled**2, axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2 * pooled @ pooled.T, 0.0)
    off_diagonal = distances[np.triu_indices(len(pooled), k=1)]
    bandwidth = np.median(off_diagonal[off_diagonal > 0]) if np.any(off_diagonal > 0) else 1.0
    kernel = np.exp(-distances / bandwidth)
    m, n = len(a), len(b)
    for label, count in (("real", m), ("generated", n)):
        if count < 2:
            raise ValueError(f"{owner}: the {label} series give {count} window of window={window} steps; the "
                             "unbiased MMD needs at least 2 per set (a shorter window or longer series).")
    kaa, kbb, kab = kernel[:m, :m], kernel[m:, m:], kernel[:m, m:]
    term_a = (kaa.sum() - np.trace(kaa)) / (m * (m - 1))
    term_b = (kbb.sum() - np.trace(kbb)) / (n * (n - 1))
    return float(term_a + term_b - 2 * kab.mean())


def _acf(series: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation (max_lag, d) pooled over the series (each centred by its own mean)."""
    centred = series - series.mean(axis=1, keepdims=True)
    variance = np.sum(centred**2, axis=(0, 1))
    return np.stack([np.sum(centred[:, lag:] * centred[:, :-lag], axis=(0, 1)) / variance
                     for lag in range(1, max_lag + 1)])


def autocorrelation_distance(real: Any, generated: Any, *, max_lag: int = 10) -> float:
    """Mean absolute difference of the autocorrelation functions at lags 1..``max_lag``. **Lower is
    better**; 0 when they agree.

    Parameters
    ----------
    real, generated : series (T, d) or (n, T, d), each with T > max_lag.
    max_lag : largest lag.

    Returns
    -------
    float in [0, 2].
    """
    owner = "autocorrelation_distance"
    max_lag = int(check_number(max_lag, "max_lag", owner, low=1, integer=True))
    real, generated = _pair(real, generated, owner)
    for name, series in (("real", real), ("generated", generated)):
        if series.shape[1] <= max_lag:
            raise ValueError(f"The 'max_lag' parameter of {owner} ({max_lag}) needs series longer than it; "
                             f"the {name!r} series have T={series.shape[1]}.")
        # the ACF is pooled over the series: it is undefined only for a variable that every series holds constant
        flat = np.all(series == series[:, :1], axis=(0, 1))
        if np.any(flat):
            raise ValueError(f"The {name!r} series of {owner} hold variables {np.flatnonzero(flat).tolist()} constant "
                             "in every series; their autocorrelation is undefined.")
    return float(np.mean(np.abs(_acf(real, max_lag) - _acf(generated, max_lag))))


def generator_fidelity(real: Any, generated: Any, *, window: int = 10, max_lag: int = 10,
                       max_windows: int = 500, seed: int = 0) -> dict[str, float]:
    """Discriminator, MMD and autocorrelation distance for the generated series and for the
    time-shuffled real series. **Lower is better** for every entry (for the raw accuracy and AUC, only
    down to 0.5).

    Parameters
    ----------
    real, generated : series (T, d) or (n, T, d).
    window : steps per window (discriminator and MMD).
    max_lag : largest lag of the autocorrelation distance.
    max_windows : windows drawn per set.
    seed : windows, splits, the shuffle and the classifier.

    Returns
    -------
    ``{"fidelity.discriminator_accuracy", "fidelity.discriminator_auc", "fidelity.discriminator_score",
    "fidelity.mmd", "fidelity.acf_distance"}`` for the generated series and the same keys under ``"shuffled."``
    for the baseline.
    """
    owner = "generator_fidelity"
    rng = as_generator(seed)
    real_array = _series(real, "real", owner)
    shuffled = np.stack([series[rng.permutation(series.shape[0])] for series in real_array])
    out: dict[str, float] = {}
    for prefix, candidate in (("fidelity.", generated), ("shuffled.", shuffled)):
        draw = int(rng.integers(2**31))
        score = discriminative_score(real_array, candidate, window=window, max_windows=max_windows, seed=draw)
        out[prefix + "discriminator_accuracy"] = score["discriminator.accuracy"]
        out[prefix + "discriminator_auc"] = score["discriminator.auc"]
        out[prefix + "discriminator_score"] = score["discriminator.score"]
        out[prefix + "mmd"] = maximum_mean_discrepancy(real_array, candidate, window=window,
                                                       max_windows=max_windows, seed=draw)
        out[prefix + "acf_distance"] = autocorrelation_distance(real_array, candidate, max_lag=max_lag)
    return out
