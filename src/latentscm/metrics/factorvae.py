"""FactorVAE disentanglement score.

Kim & Mnih (2018), "Disentangling by Factorising", ICML, section 4. Procedure:

1. Encode ``n_variance`` random samples; each code dimension's global standard deviation s_d.
   Collapsed dimensions are pruned: those with s_d below ``collapse_threshold`` (0.05) times
   the largest s_d. The rule is relative so that codes of any overall scale — VAE means,
   QLAE's codebook in [-0.5, 0.5] — are treated alike (the paper prunes "collapsed"
   dimensions without a number); dimensions whose scales differ by more than 20x from the
   largest are taken as collapsed.
2. One *vote*: choose a factor k uniformly among those that vary, hold it at a random value
   (``do(k = v)``), sample ``batch_size`` observations, encode, divide each kept dimension by
   s_d, and take the dimension d* with the smallest variance within the batch: the vote is
   (d*, k).
3. A majority-vote classifier maps each dimension to the factor it was most often voted for
   (ties to the lower factor index) on ``n_train`` votes; the score is its accuracy on
   ``n_eval`` fresh votes.

The paper and disentanglement_lib use 10,000 / 5,000 votes of batch 64 (about a million
images); the defaults here are smaller (1,000 / 500) so the score runs on a laptop. Accuracy
1 means every factor owns a distinct dimension that it alone controls; chance is about
1 / K.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.metrics._fixed_factor import encode_checked, encode_chunked, sample_fixed, varying_specs

__all__ = ["CHUNK_ROWS", "factorvae_score"]

#: Votes are sampled and encoded in groups of about this many images.
CHUNK_ROWS = 4096


def _votes(world: Any, encode: Callable, specs: list[Any], n_votes: int, batch_size: int,
           scale: np.ndarray, kept: np.ndarray, rng: np.random.Generator, owner: str
           ) -> tuple[np.ndarray, np.ndarray]:
    """``n_votes`` (dimension, factor) votes: arrays (n_votes,) of kept-dimension indices and
    factor indices into ``specs``."""
    factor_index = rng.integers(len(specs), size=n_votes)
    dims = np.empty(n_votes, dtype=np.int64)
    per_chunk = max(1, CHUNK_ROWS // batch_size)
    for start in range(0, n_votes, per_chunk):
        chosen = factor_index[start:start + per_chunk]
        images = [sample_fixed(world, specs[k], batch_size, rng) for k in chosen]
        for offset, codes in enumerate(encode_chunked(encode, images, owner, CHUNK_ROWS)):
            normalised = codes[:, kept] / scale
            dims[start + offset] = int(np.argmin(normalised.var(axis=0, ddof=1)))
    return dims, factor_index


def factorvae_score(world: Any, encode: Callable[[np.ndarray], Any], *, n_train: int = 1000,
                    n_eval: int = 500, batch_size: int = 64, n_variance: int = 5000,
                    collapse_threshold: float = 0.05, seed: int = 0) -> dict[str, float]:
    """FactorVAE score of an encoder on a world (Kim & Mnih 2018). Higher is better; in [0, 1].

    Parameters
    ----------
    world : a latentscm World (``factor_specs``, ``sample(n, seed=, interventions=)``).
    encode : callable images (N, C, H, W) -> codes (N, D) (array-like).
    n_train, n_eval : votes to fit and to score the majority-vote classifier.
    batch_size : observations per vote (>= 2).
    n_variance : samples for the global per-dimension scale.
    collapse_threshold : dimensions with a standard deviation below this share of the largest
        are pruned.
    seed : every draw (values, samples) derives from it.

    Returns
    -------
    dict with ``"factorvae.accuracy"`` (held-out votes), ``"factorvae.train_accuracy"`` and
    ``"factorvae.n_active"`` (dimensions kept after pruning). With every dimension collapsed
    the accuracies are 0.
    """
    owner = "factorvae_score"
    n_train = int(check_number(n_train, "n_train", owner, low=1, integer=True))
    n_eval = int(check_number(n_eval, "n_eval", owner, low=1, integer=True))
    batch_size = int(check_number(batch_size, "batch_size", owner, low=2, integer=True))
    n_variance = int(check_number(n_variance, "n_variance", owner, low=2, integer=True))
    collapse_threshold = check_number(collapse_threshold, "collapse_threshold", owner, low=0.0,
                                      high=1.0)
    if not callable(encode):
        raise TypeError(f"The 'encode' argument of {owner} must be callable. Got {encode!r}.")
    rng = as_generator(seed)
    specs = varying_specs(world, owner)

    images = np.asarray(world.sample(n_variance, seed=int(rng.integers(2**63 - 1))).images)
    codes = encode_checked(encode, images, owner)
    std = codes.std(axis=0, ddof=1)
    kept = (std >= collapse_threshold * std.max()) & (std > 0)
    n_active = float(kept.sum())
    if not np.any(kept):
        return {"factorvae.accuracy": 0.0, "factorvae.train_accuracy": 0.0,
                "factorvae.n_active": 0.0}
    scale = std[kept]

    train_dims, train_factors = _votes(world, encode, specs, n_train, batch_size, scale, kept, rng,
                                       owner)
    eval_dims, eval_factors = _votes(world, encode, specs, n_eval, batch_size, scale, kept, rng,
                                     owner)
    n_kept = int(kept.sum())
    table = np.zeros((n_kept, len(specs)), dtype=np.int64)
    np.add.at(table, (train_dims, train_factors), 1)
    classifier = table.argmax(axis=1)  # dimension -> factor
    return {
        "factorvae.accuracy": float(np.mean(classifier[eval_dims] == eval_factors)),
        "factorvae.train_accuracy": float(np.mean(classifier[train_dims] == train_factors)),
        "factorvae.n_active": n_active,
    }
