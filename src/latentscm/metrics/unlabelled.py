"""Metrics on your own images (a :class:`~latentscm.data.UserDataset`), where no world knows the
ground truth: reconstruction, active units and discovery on the codes always; the
disentanglement suite when the images have factor labels; UDR across seeds with
:func:`latentscm.metrics.udr.udr`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.metrics._common import discrete_mask
from latentscm.metrics.evaluate import Evaluation, reconstruction_errors
from latentscm.metrics.suite import compute_metrics
from latentscm.metrics.user_model import CallableModel, as_model

__all__ = ["evaluate_data"]


def evaluate_data(learner: Any, data: Any, *, suite: str | Sequence[str] = "disentanglement", n: int = 2000,
                  seed: int = 0, decoder: Callable[..., Any] | None = None, discovery: bool = True,
                  alpha: float = 0.01) -> Evaluation:
    """Evaluate a learner (or your own encoder callable) on imported images.

    Parameters
    ----------
    learner : Learner or callable
        A fitted learner, or a callable images (N, C, H, W) -> codes (N, D).
    data : UserDataset
        Images from :func:`latentscm.data.import_data` (labelled or not).
    suite : str or sequence of str, default "disentanglement"
        Metrics against the labels (labelled data only).
    n : int, default 2000
        Images used (a seeded subset when the dataset is larger).
    seed : int, default 0
        Seed of the subset and of the metrics.
    decoder : callable or None
        Decoder of a plain encoder callable (for reconstruction).
    discovery : bool, default True
        Run PC (Fisher-z) on the codes of the active units and report the edge count.
    alpha : float, default 0.01
        Significance level of the discovery.

    Returns
    -------
    Evaluation
        ``reconstruction.mse`` / ``.bce`` (lower is better), ``activity.n_active`` /
        ``activity.n_units`` (KL criterion for a Gaussian posterior, else code variance),
        ``discovery.n_edges``, the suite's keys when labelled, ``time.*``; ``.notes`` says what
        was skipped and why.
    """
    from latentscm.metrics.activity import active_units

    n = int(check_number(n, "n", "evaluate_data", low=10, integer=True))
    model = as_model(learner, decoder=decoder)
    plain = isinstance(model, CallableModel)
    results = Evaluation()
    rows = np.arange(len(data))
    if len(rows) > n:
        rows = np.sort(as_generator(seed).choice(len(rows), size=n, replace=False))
    images = data.float_images(rows)
    clock = time.perf_counter()
    codes = np.asarray(model.encode(images), dtype=np.float64)
    results["time.encode"] = time.perf_counter() - clock
    results["n"] = float(len(rows))
    if plain and not model.can_decode:
        results.notes.append("reconstruction skipped: no decoder (pass decoder=codes -> images).")
    else:
        recon = model.decode(codes) if plain else model.reconstruct(images)
        results.update(reconstruction_errors(images, recon))
    if not plain and getattr(model, "posterior", None) == "gaussian" and hasattr(model, "encode_distribution"):
        mean, logvar = model.encode_distribution(images)
        active = np.asarray(active_units(mean, logvar), dtype=bool)
    else:
        active = np.asarray(active_units(codes, criterion="variance"), dtype=bool)
    results["activity.n_active"] = float(active.sum())
    results["activity.n_units"] = float(active.size)
    if data.factors is not None:
        clock = time.perf_counter()
        factors = np.asarray(data.factors[rows], dtype=np.float64)
        # integer labels are classes when the rule of discrete_mask holds for them (at most
        # DISCRETE_MAX_LEVELS levels, each seen twice on average), as a world's grid factors are
        levels = discrete_mask(factors, None, "evaluate_data")
        discrete = [bool(level and np.all(np.equal(np.mod(column, 1), 0))) for level, column in zip(levels, factors.T)]
        results.update(compute_metrics(codes, factors, metrics=suite, seed=seed, discrete=discrete))
        results["time.suite"] = time.perf_counter() - clock
    else:
        results.notes.append("disentanglement suite skipped: the data has no factor labels (import it with "
                             "labels=...).")
    if discovery:
        if active.sum() >= 2:
            from latentscm.discovery.codes import discover_from_codes

            clock = time.perf_counter()
            names = [f"z{i}" for i in np.flatnonzero(active)]
            found = discover_from_codes(codes[:, active], names, ci_test="fisherz", alpha=alpha, seed=seed)
            adjacency = np.asarray(found.adjacency)
            results["discovery.n_edges"] = float(np.count_nonzero(np.triu(adjacency + adjacency.T)))
            results["time.discovery"] = time.perf_counter() - clock
        else:
            results.notes.append("discovery skipped: fewer than two active units.")
    results.notes.append("no counterfactual metrics: imported images have no oracle (use a world for those).")
    return results
