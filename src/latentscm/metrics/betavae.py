"""BetaVAE disentanglement score.

Higgins et al. (2017), "beta-VAE: Learning Basic Visual Concepts with a Constrained
Variational Framework", ICLR, section 3. Procedure for one training point:

1. choose a factor k uniformly among those that vary;
2. sample ``batch_size`` pairs of observations whose two members share the value of k, encode
   both members;
3. the point is the mean absolute difference of the paired codes, (D,), labelled k.

Each pair draws its own shared value of k, as in the paper and disentanglement_lib. On a latentscm
World a point is one vectorised draw: ``2 x batch_size`` fresh samples, then their counterfactual under
``do(k = v)`` with one ``v`` per pair, so both members of a pair come from ``P(x | do(k = v))`` (on a
world whose factors are independent, that is the paper's conditional draw). A world without
``counterfactual`` is sampled once per distinct value.

A linear classifier (multinomial logistic regression on standardised features) is trained on
``n_train`` points and the score is its accuracy on ``n_eval`` fresh points. The factor held
fixed leaves a near-zero difference in the dimensions that encode it, so a disentangled code
makes k linearly readable. disentanglement_lib uses 10,000 / 5,000 points; the defaults here
are smaller (1,000 / 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from latentscm._validation import as_generator, check_number
from latentscm.metrics._common import standardise
from latentscm.metrics._fixed_factor import encode_chunked, sample_pairs, varying_specs

__all__ = ["CHUNK_ROWS", "betavae_score"]

#: Points are sampled and encoded in groups of about this many images.
CHUNK_ROWS = 4096


def _points(world: Any, encode: Callable, specs: list[Any], n_points: int, batch_size: int,
            rng: np.random.Generator, owner: str) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(len(specs), size=n_points)
    features: list[np.ndarray] = []
    per_chunk = max(1, CHUNK_ROWS // (2 * batch_size))
    for start in range(0, n_points, per_chunk):
        chosen = labels[start:start + per_chunk]
        images = [sample_pairs(world, specs[k], batch_size, rng) for k in chosen]
        for codes in encode_chunked(encode, images, owner, CHUNK_ROWS):
            features.append(np.mean(np.abs(codes[:batch_size] - codes[batch_size:]), axis=0))
    return np.stack(features), labels


def betavae_score(world: Any, encode: Callable[[np.ndarray], Any], *, n_train: int = 1000,
                  n_eval: int = 500, batch_size: int = 64, seed: int = 0) -> dict[str, float]:
    """BetaVAE score of an encoder on a world (Higgins et al. 2017). Higher is better; in
    [0, 1], chance about 1 / K.

    Parameters
    ----------
    world : a latentscm World (``factor_specs``, ``sample(n, seed=, interventions=)``).
    encode : callable images (N, C, H, W) -> codes (N, D) (array-like).
    n_train, n_eval : points to train and to score the linear classifier (n_train >= 2).
    batch_size : pairs averaged per point.
    seed : every draw and the classifier derive from it.

    Returns
    -------
    dict with ``"betavae.accuracy"`` (held-out points) and ``"betavae.train_accuracy"``.
    """
    owner = "betavae_score"
    n_train = int(check_number(n_train, "n_train", owner, low=2, integer=True))
    n_eval = int(check_number(n_eval, "n_eval", owner, low=1, integer=True))
    batch_size = int(check_number(batch_size, "batch_size", owner, low=1, integer=True))
    if not callable(encode):
        raise TypeError(f"The 'encode' argument of {owner} must be callable. Got {encode!r}.")
    rng = as_generator(seed)
    specs = varying_specs(world, owner)
    train_x, train_y = _points(world, encode, specs, n_train, batch_size, rng, owner)
    eval_x, eval_y = _points(world, encode, specs, n_eval, batch_size, rng, owner)
    train_x, eval_x = standardise(train_x, eval_x)
    if np.unique(train_y).size == 1:
        train_accuracy = 1.0
        accuracy = float(np.mean(eval_y == train_y[0]))
    else:
        model = LogisticRegression(max_iter=1000, random_state=int(rng.integers(2**31 - 1)))
        model.fit(train_x, train_y)
        train_accuracy = float(model.score(train_x, train_y))
        accuracy = float(model.score(eval_x, eval_y))
    return {"betavae.accuracy": accuracy, "betavae.train_accuracy": train_accuracy}
