"""``evaluate(learner, world)``: one encoder pass, a whole suite of metrics.

The world renders ``n`` held-out images with exact factors; the learner encodes them once and
every array metric of the suite reads the same codes. Where the learner has a Gaussian posterior,
activity (Bonheme & Grzes, "Be More Active!") is measured on the same images and the suite is
also reported on *sampled* codes and without passive units. When the learner can produce
counterfactuals (or ``counterfactuals="traversal"`` wraps a plain learner into the latent
traversal baseline), the counterfactual metrics against the world's exact oracle are added.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.metrics.suite import compute_metrics

__all__ = ["evaluate"]


def evaluate(learner: Any, world: Any, *, suite: str | Sequence[str] = "disentanglement", n: int = 2000,
             seed: int = 0, counterfactuals: str = "auto", n_counterfactual: int = 128, regressor: Any = None,
             activity: bool = True) -> dict[str, float]:
    """Evaluate ``learner`` (encode/decode) on ``world``; returns one flat dict of metrics.

    Parameters
    ----------
    learner : Learner
        A fitted learner: ``encode`` maps images (N, C, H, W) to codes (N, D), ``decode`` back.
    world : World
        The world the images, factors and counterfactuals come from.
    suite : str or sequence of str, default "disentanglement"
        A suite name of :data:`latentscm.metrics.SUITES` or a list of metric names.
    n : int, default 2000
        Held-out images for the disentanglement metrics (rendered with ``seed``).
    seed : int, default 0
        Seed of the held-out images.
    counterfactuals : {"auto", "traversal", "none"}, default "auto"
        ``"auto"`` (when the learner has ``counterfactual``), ``"traversal"`` (also a plain
        learner, through :class:`~latentscm.probes.traversal_counterfactual.
        TraversalCounterfactual`), or ``"none"``.
    n_counterfactual : int, default 128
        Images for the counterfactual metrics.
    regressor : FactorRegressor or None, default None
        A fitted :class:`~latentscm.metrics.factor_regressor.FactorRegressor` for
        effectiveness (trained on the world here when ``None`` and counterfactuals run).
    activity : bool, default True
        Report active units and the suite on sampled codes / active units only.

    Returns
    -------
    dict of str to float
        Keys: the suite's own (``"mig"``, ``"dci.disentanglement"``, ...); ``"sampled.<key>"``
        and ``"active.<key>"`` variants; ``"activity.n_active"``; ``"cf.*"`` counterfactual
        metrics; ``"time.<part>"`` seconds spent.
    """
    n = int(check_number(n, "n", "evaluate", low=10, integer=True))
    check_choice(counterfactuals, "counterfactuals", "evaluate", ("auto", "traversal", "none"))
    results: dict[str, float] = {}
    clock = time.perf_counter()
    batch = world.sample(n, seed=seed)
    discrete = [spec.discrete for spec in world.factor_specs]
    # discrete factors enter the metrics as grid indices (class labels), continuous ones as values
    factors = np.stack([spec.index_of(batch.factors[:, j]).astype(np.float64) if spec.discrete
                        else batch.factors[:, j] for j, spec in enumerate(world.factor_specs)], axis=1)
    codes = np.asarray(learner.encode(batch.images), dtype=np.float64)
    results["time.encode"] = time.perf_counter() - clock

    clock = time.perf_counter()
    results.update(compute_metrics(codes, factors, metrics=suite, seed=seed, discrete=discrete))
    results["time.suite"] = time.perf_counter() - clock

    if activity and getattr(learner, "posterior", None) == "gaussian" and hasattr(learner, "kl_per_unit"):
        from latentscm.metrics.activity import active_units

        clock = time.perf_counter()
        mean, logvar = learner.encode_distribution(batch.images)
        active = np.asarray(active_units(mean, logvar), dtype=bool)
        results["activity.n_active"] = float(active.sum())
        results["activity.n_units"] = float(active.size)
        sampled = np.asarray(learner.encode(batch.images, sample=True, seed=seed), dtype=np.float64)
        results.update({f"sampled.{k}": v for k, v in compute_metrics(sampled, factors, metrics=suite,
                                                                      seed=seed, discrete=discrete).items()})
        if 2 <= active.sum() < active.size:  # metrics comparing code dimensions need two of them
            results.update({f"active.{k}": v for k, v in compute_metrics(codes[:, active], factors,
                                                                         metrics=suite, seed=seed,
                                                                         discrete=discrete).items()})
        results["time.activity"] = time.perf_counter() - clock

    model = None
    if counterfactuals != "none":
        if hasattr(learner, "counterfactual"):
            model = learner
        elif counterfactuals == "traversal":
            from latentscm.probes.traversal_counterfactual import TraversalCounterfactual

            model = TraversalCounterfactual(learner, world, seed=seed)
    if model is not None:
        from latentscm.metrics.counterfactual import counterfactual_metrics
        from latentscm.metrics.factor_regressor import FactorRegressor

        clock = time.perf_counter()
        if regressor is None:
            regressor = FactorRegressor(seed=seed).fit(world)
        results.update(counterfactual_metrics(model, world, n=n_counterfactual, seed=seed + 1, regressor=regressor))
        results["time.counterfactual"] = time.perf_counter() - clock
    return results
