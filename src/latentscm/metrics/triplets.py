"""CITRIS's triplet evaluation, against the true image: combine two images' causal variables in latent space.

Lippe et al. (ICML 2022, "CITRIS") test whether a model's groups of units *are* the causal variables by
generation: encode two images, take the units of the variables in a mask from the second and the rest from the
first, decode, and read the variables off the result with a separately trained "causal encoder". Their
triplets' third image is rendered by the dataset; here it is the TemporalWorld's exact combination
(:meth:`~latentscm.worlds.temporal.TemporalWorld.triplets`), and the read-out is a
:class:`~latentscm.metrics.factor_regressor.FactorRegressor` trained on the world's renders, whose own score on
the true combined images is reported as the floor (``readout_r2``).

Scores per variable, over ``n`` triplets: the R² of the read-out of the decoded combination against the true
combined values (``r2``), and the mean absolute error in units of the variable's range, apart for the variables
taken from the second image (``taken_error``: did the change happen) and those kept from the first (``kept_error``:
did nothing else move). ``copy_first``: the same scores for the first image's true values, i.e. a model that
changes nothing. Learners without a learned assignment (no ``assignment_``) combine by units matched to variables
(:func:`~latentscm.metrics.causal_variable_r2.matched_assignment`, on separate frames).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_number

__all__ = ["triplet_scores", "combine_codes"]


def combine_codes(first: np.ndarray, second: np.ndarray, mask: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Codes (N, M): unit ``j`` from ``second`` where its group ``groups[j]`` (a variable index, or V for
    ``psi_0``) is in the row's ``mask`` (N, V) bool, else from ``first``."""
    padded = np.concatenate([mask, np.zeros((mask.shape[0], 1), dtype=bool)], axis=1)  # psi_0: never taken
    return np.where(padded[:, groups], second, first)


def _r2(predicted: np.ndarray, true: np.ndarray) -> np.ndarray:
    spread = ((true - true.mean(0)) ** 2).sum(0)
    return 1.0 - ((predicted - true) ** 2).sum(0) / np.where(spread > 0, spread, np.nan)


def _scores(predicted: np.ndarray, true: np.ndarray, mask: np.ndarray, width: np.ndarray,
            names: list[str]) -> dict[str, Any]:
    error = np.abs(predicted - true) / width
    taken = [float(error[mask[:, i], i].mean()) if mask[:, i].any() else float("nan") for i in range(len(names))]
    kept = [float(error[~mask[:, i], i].mean()) if (~mask[:, i]).any() else float("nan") for i in range(len(names))]
    r2 = _r2(predicted, true)
    return {"r2": dict(zip(names, r2.tolist())), "taken_error": dict(zip(names, taken)),
            "kept_error": dict(zip(names, kept)), "mean_r2": float(np.nanmean(r2)),
            "mean_taken_error": float(np.nanmean(taken)), "mean_kept_error": float(np.nanmean(kept))}


def triplet_scores(learner: Any, temporal_world: Any, *, n: int = 1000, seed: int = 0, regressor: Any = None,
                   min_r2: float = 0.1) -> dict[str, Any]:
    """Score a learner's combinations of two images' causal variables against the true combined images.

    Parameters
    ----------
    learner : a fitted Learner that decodes
        Its ``encode``/``decode``, and ``assignment_`` where it has one.
    temporal_world : TemporalWorld
        Draws ``n`` triplets (seed ``seed``).
    n : int, default 1000
        Triplets (>= 20).
    seed : int, default 0
        Seeds the triplets, the read-out (when none is given) and the matching frames (``seed + 1``).
    regressor : FactorRegressor or None
        A read-out fitted on ``temporal_world.world`` (``None``: one is trained here, seeded with ``seed``).
    min_r2 : float, default 0.1
        With matching, the R² a unit needs to join a variable's group.

    Returns
    -------
    dict
        ``"variables"``, ``"assigned_by"``; ``"model"`` and ``"copy_first"``: ``r2``, ``taken_error`` and
        ``kept_error`` per variable and their means (``mean_r2``, ...); ``"readout_r2"``: the read-out's R² per
        variable on the true combined images (the best any model can be scored); ``"pixel_mse"``: mean squared
        pixel error of the decoded combination against the true image, and ``"reconstruction_mse"`` of the
        learner's reconstruction of the true image (what decoding alone costs).
    """
    from latentscm.metrics.causal_variable_r2 import check_learned_variables, learner_groups
    from latentscm.metrics.factor_regressor import FactorRegressor
    from latentscm.worlds.temporal import check_temporal_world

    owner = "triplet_scores"
    check_temporal_world(temporal_world, owner)
    n = int(check_number(n, "n", owner, low=20, integer=True))
    min_r2 = check_number(min_r2, "min_r2", owner, low=0.0, high=1.0)
    learner._check_fitted()
    if not getattr(learner, "can_decode", True):
        raise TypeError(f"{owner}: {type(learner).__name__} has no decoder; triplets are scored on decoded images.")
    if hasattr(type(learner), "assignment_"):
        check_learned_variables(learner, temporal_world, owner)  # before a read-out is trained
    if regressor is None:
        regressor = FactorRegressor(seed=seed).fit(temporal_world.world)
    elif not isinstance(regressor, FactorRegressor) or getattr(regressor, "factor_names_", None) is None:
        raise ValueError(f"The 'regressor' argument of {owner} must be a fitted FactorRegressor (or None). "
                         f"Got {type(regressor).__name__}.")
    names = list(temporal_world.variables)
    columns = [temporal_world.factor_names.index(v) for v in names]
    if list(regressor.factor_names_) != list(temporal_world.factor_names):
        raise ValueError(f"{owner}: the regressor reads the factors {list(regressor.factor_names_)}, and the world "
                         f"has {list(temporal_world.factor_names)}; fit it on temporal_world.world.")
    t = temporal_world.triplets(n, seed=seed)
    first, second = learner.encode(t.first), learner.encode(t.second)
    groups, by = learner_groups(learner, temporal_world, owner, seed=seed, min_r2=min_r2)
    decoded = learner.decode(combine_codes(first, second, t.mask, groups))
    true = t.combined_factors[:, columns]
    width = np.array([temporal_world.world.spec(v).high - temporal_world.world.spec(v).low for v in names])
    read = regressor.predict(decoded)[:, columns]
    floor = regressor.predict(t.combined)[:, columns]
    reconstruction = learner.reconstruct(t.combined)
    return {"variables": names, "assigned_by": by, "model": _scores(read, true, t.mask, width, names),
            "copy_first": _scores(t.first_factors[:, columns], true, t.mask, width, names),
            "readout_r2": dict(zip(names, _r2(floor, true).tolist())),
            "pixel_mse": float(np.mean((decoded - t.combined) ** 2)),
            "reconstruction_mse": float(np.mean((reconstruction - t.combined) ** 2))}
