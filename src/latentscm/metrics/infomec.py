"""InfoMEC: information-theoretic modularity, explicitness and compactness.

Hsu, Dorrell, Whittington, Wu & Finn (2023), "Disentanglement via Latent Quantization",
NeurIPS. The one definition implemented here (the reference code is inconsistent; choices are
marked *):

1. Pruning* — a latent is *inactive* when its range (max - min) is below
   ``inactive_threshold`` (1/20) times the largest range among the latents. Only active
   latents enter InfoM, InfoC and InfoE.
2. NMI[k, j] = I(source_k; latent_j) / H(source_k), with I estimated by the nearest-neighbour
   estimator of Ross (2014) with ``n_neighbors``\\* = 3 neighbours (latents continuous, sources
   discrete; continuous sources cut into ``n_bins`` equal-width bins) and H the plug-in
   entropy. Values are clipped to [0, 1].
3. InfoM (modularity): for each active latent, the sparsity max_k NMI / Σ_k NMI of its column,
   rescaled from [1/K, 1] to [0, 1]; mean over active latents that carry information about
   some source (a latent with all-zero NMI mixes nothing and is left out).
4. InfoC (compactness): for each source, the same sparsity over the active latents (rescaled
   from [1/L, 1], L active latents); a source that no latent informs about scores 0; mean
   over sources.
5. InfoE (explicitness): for each source, a multinomial logistic regression from the active
   (standardised) latents is trained on a training split, and its cross-entropy CE on the
   **held-out** split is compared with the null model: (H - CE) / H, H the source's entropy
   (the cross-entropy of always predicting its marginal). The reference evaluates on the
   training data, which rewards over-fitting. Probabilities are floored at 1e-12 so a held-out
   class never seen in training costs a finite amount; scores below 0 (worse than the null
   model) are clipped to 0. Mean over sources.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from latentscm._validation import as_generator, check_array, check_number
from latentscm.metrics._common import (
    check_codes_factors,
    check_n_bins,
    check_test_fraction,
    discrete_mask,
    drop_constant_factors,
    factor_labels,
    split_indices,
)
from latentscm.metrics._logistic import class_probabilities
from latentscm.metrics.mutual_info import entropy, factor_entropies, mutual_info_knn

__all__ = ["PROBABILITY_FLOOR", "active_latents", "infom_infoc", "infomec"]

PROBABILITY_FLOOR = 1e-12


def active_latents(codes: np.ndarray, inactive_threshold: float = 0.05) -> np.ndarray:
    """Boolean mask (D,) of latents whose range is at least ``inactive_threshold`` times the
    largest range (InfoMEC's pruning rule). ``codes`` (N, D) must be finite; ``inactive_threshold`` in [0, 1]."""
    owner = "active_latents"
    codes = check_array(codes, "codes", owner, ndim=2)
    inactive_threshold = check_number(inactive_threshold, "inactive_threshold", owner, low=0.0, high=1.0)
    ranges = np.ptp(codes, axis=0)
    largest = ranges.max()
    if largest <= 0:
        return np.zeros(ranges.shape, dtype=bool)
    return ranges >= inactive_threshold * largest


def _rescaled_sparsity(matrix: np.ndarray) -> np.ndarray:
    """Per row: (max / sum - 1/n) / (1 - 1/n), n = row length; rows summing to 0 give NaN
    (the caller decides what they mean)."""
    n = matrix.shape[1]
    totals = matrix.sum(axis=1)
    ratio = np.divide(matrix.max(axis=1), totals, out=np.full(totals.shape, np.nan),
                      where=totals > 0)
    if n == 1:
        return np.where(totals > 0, 1.0, np.nan)
    return (ratio - 1.0 / n) / (1.0 - 1.0 / n)


def infom_infoc(nmi: np.ndarray) -> tuple[float, float]:
    """InfoM and InfoC (both in [0, 1], higher is better) from NMI (K sources, L active
    latents), with the conventions of the module docstring."""
    nmi = np.clip(check_array(nmi, "nmi", "infom_infoc", ndim=2), 0.0, 1.0)
    if nmi.shape[1] == 0:
        return 0.0, 0.0
    per_latent = _rescaled_sparsity(nmi.T)
    informative = ~np.isnan(per_latent)
    infom = float(np.mean(per_latent[informative])) if np.any(informative) else 0.0
    per_source = np.nan_to_num(_rescaled_sparsity(nmi), nan=0.0)
    return infom, float(np.mean(per_source))


def infomec(codes: np.ndarray, factors: np.ndarray, *, n_neighbors: int = 3,
            inactive_threshold: float = 0.05, n_bins: int = 20,
            discrete: bool | Sequence[bool] | None = None, test_fraction: float = 0.2,
            seed: int = 0) -> dict[str, float]:
    """InfoM, InfoE and InfoC of Hsu et al. (2023). All higher is better, in [0, 1].

    Parameters
    ----------
    codes : array (N, D) of latents.
    factors : array (N, K) of sources; constant ones are ignored, continuous ones binned.
    n_neighbors : neighbours of the kNN mutual-information estimator.
    inactive_threshold : latents whose range is below this share of the largest are pruned.
    n_bins : equal-width bins for continuous sources.
    discrete : None (auto: at most min(100, N / 2) distinct values means discrete), a bool, or one bool per
        factor.
    test_fraction : share of rows held out to score InfoE.
    seed : the train / held-out split (the same as explicitness' for the same seed) and the
        estimator's tie-breaking jitter.

    Returns
    -------
    dict with ``"infomec.infom"``, ``"infomec.infoe"``, ``"infomec.infoc"`` and
    ``"infomec.n_active"`` (number of active latents, a float for uniform JSON).
    """
    owner = "infomec"
    codes, factors = check_codes_factors(codes, factors, owner, min_rows=3)
    n_neighbors = int(check_number(n_neighbors, "n_neighbors", owner, low=1, integer=True))
    inactive_threshold = check_number(inactive_threshold, "inactive_threshold", owner, low=0.0,
                                      high=1.0)
    n_bins = check_n_bins(n_bins, owner)
    test_fraction = check_test_fraction(test_fraction, owner)
    rng = as_generator(seed)
    factors, mask = drop_constant_factors(factors, discrete_mask(factors, discrete, owner), owner)
    labels, n_levels = factor_labels(factors, mask, n_bins)
    # The split is the seed's first draw, as in modularity_explicitness: same rows, same fits.
    train, test = split_indices(codes.shape[0], test_fraction, rng, owner)
    active = active_latents(codes, inactive_threshold)
    latents = codes[:, active]
    if latents.shape[1] == 0:
        return {"infomec.infom": 0.0, "infomec.infoe": 0.0, "infomec.infoc": 0.0,
                "infomec.n_active": 0.0}
    source_entropy = factor_entropies(labels, n_levels)
    mutual_info = mutual_info_knn(latents, labels, n_levels, n_neighbors, rng)  # (L, K)
    nmi = mutual_info.T / source_entropy[:, None]
    infom, infoc = infom_infoc(nmi)

    explicitness = []
    for k in range(labels.shape[1]):
        n_lab = int(n_levels[k])
        probabilities = class_probabilities(latents[train], labels[train, k], latents[test], n_lab)
        chosen = probabilities[np.arange(test.size), labels[test, k]]
        cross_entropy = -np.mean(np.log(np.maximum(chosen, PROBABILITY_FLOOR)))
        null = entropy(labels[:, k], n_lab)
        explicitness.append(max(0.0, (null - cross_entropy) / null))
    return {"infomec.infom": infom, "infomec.infoe": float(np.mean(explicitness)),
            "infomec.infoc": infoc, "infomec.n_active": float(active.sum())}
