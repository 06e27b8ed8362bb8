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
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.metrics.suite import compute_metrics

__all__ = ["Evaluation", "evaluate", "reconstruction_errors", "world_codes"]


class Evaluation(dict):
    """The metrics of :func:`evaluate` (a plain ``dict`` of str to float) plus ``notes``: one
    sentence per metric group that was skipped because the model lacks what it needs."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []


def evaluate(learner: Any, world: Any, *, suite: str | Sequence[str] = "disentanglement", n: int = 2000,
             seed: int = 0, counterfactuals: str = "auto", n_counterfactual: int = 128, regressor: Any = None,
             activity: bool = True, decoder: Callable[..., Any] | None = None,
             counterfactual: Callable[..., Any] | None = None,
             reconstruction: bool | None = None) -> Evaluation:
    """Evaluate ``learner`` (encode/decode) on ``world``; returns one flat dict of metrics.

    Parameters
    ----------
    learner : Learner or callable
        A fitted learner: ``encode`` maps images (N, C, H, W) to codes (N, D), ``decode`` back.
        Or your own model as a plain callable ``images (N, C, H, W) float32 -> codes (N, D)``
        (a function or a ``torch.nn.Module``; see :mod:`latentscm.metrics.user_model`).
    world : World
        The world the images, factors and counterfactuals come from.
    suite : str or sequence of str, default "disentanglement"
        A suite name of :data:`latentscm.metrics.SUITES` or a list of metric names.
    n : int, default 2000
        Held-out images for the disentanglement metrics (rendered with ``seed``).
    seed : int, default 0
        Seed of the held-out images.
    counterfactuals : {"auto", "traversal", "none"}, default "auto"
        ``"auto"`` (when the learner has ``counterfactual``, or its own ``intervene`` on units: ILCM, whose
        ``do`` on the matched units is used), ``"traversal"`` (also a plain
        learner, through :class:`~latentscm.probes.traversal_counterfactual.
        TraversalCounterfactual`), or ``"none"``. A learner identified up to monotone maps per latent and not yet
        calibrated (CauCA) is calibrated on the ``n`` labelled held-out samples for this call only, with a note.
    n_counterfactual : int, default 128
        Images for the counterfactual metrics.
    regressor : FactorRegressor or None, default None
        A fitted :class:`~latentscm.metrics.factor_regressor.FactorRegressor` for
        effectiveness (trained on the world here when ``None`` and counterfactuals run).
    activity : bool, default True
        Report active units and the suite on sampled codes / active units only (learners with
        a Gaussian posterior).
    decoder : callable or None, default None
        ``decoder(codes (N, D)) -> images (N, C, H, W)`` of your own model (reconstruction and
        the traversal counterfactual baseline need one).
    counterfactual : callable or None, default None
        ``counterfactual(images, interventions) -> images`` of your own model (the
        counterfactual metrics against the world's oracle).
    reconstruction : bool or None, default None
        Report ``reconstruction.mse`` / ``reconstruction.bce`` (summed over pixels, mean over
        images) on the held-out images. ``None``: when ``decoder`` is given.

    Returns
    -------
    Evaluation
        A dict of str to float. Keys: the suite's own (``"mig"``, ``"dci.disentanglement"``,
        ...); ``"sampled.<key>"`` and ``"active.<key>"`` variants; ``"activity.n_active"``;
        ``"reconstruction.*"``; ``"cf.*"`` counterfactual metrics; ``"time.<part>"`` seconds
        spent. ``.notes`` lists the metric groups skipped because the model lacks what they
        need (a decoder, a counterfactual, a posterior), instead of raising, and says when a
        multi-domain world was evaluated on its domain 0.
    """
    from latentscm.metrics.user_model import CallableModel, as_model

    n = int(check_number(n, "n", "evaluate", low=10, integer=True))
    check_choice(counterfactuals, "counterfactuals", "evaluate", ("auto", "traversal", "none"))
    learner = as_model(learner, decoder=decoder, counterfactual=counterfactual)
    plain = isinstance(learner, CallableModel)
    if reconstruction is None:
        reconstruction = decoder is not None
    results = Evaluation()
    if getattr(world, "n_domains", 1) > 1:
        results.notes.append(f"the world has {world.n_domains} domains: every metric is computed on domain 0 "
                             f"(world.sample); domain counterfactuals: latentscm domain-counterfactual.")
    clock = time.perf_counter()
    batch = world.sample(n, seed=seed)
    discrete = [spec.discrete for spec in world.factor_specs]
    # discrete factors enter the metrics as grid indices (class labels), continuous ones as values
    factors = np.stack([spec.index_of(batch.factors[:, j]).astype(np.float64) if spec.discrete
                        else batch.factors[:, j] for j, spec in enumerate(world.factor_specs)], axis=1)
    # a multi-view learner's code of each sample: every unit read by its view, from that view of the sample
    codes = np.asarray(learner.encode(batch.images), dtype=np.float64) if plain \
        else world_codes(learner, world, batch, seed=seed + 1)
    results["time.encode"] = time.perf_counter() - clock

    clock = time.perf_counter()
    results.update(compute_metrics(codes, factors, metrics=suite, seed=seed, discrete=discrete))
    results["time.suite"] = time.perf_counter() - clock

    if not plain and getattr(learner, "uses_views", False) and hasattr(learner, "block_units"):
        _multi_view_scores(learner, world, results, n=n, seed=seed,
                           views_named=_names_world_views(learner, world, plain))

    if reconstruction:
        if not getattr(learner, "can_decode", True):
            results.notes.append("reconstruction skipped: no decoder (pass decoder=codes -> images)." if plain else
                                 f"reconstruction skipped: {type(learner).__name__} has no decoder.")
        else:
            clock = time.perf_counter()
            recon = learner.decode(codes) if plain else learner.reconstruct(batch.images)
            results.update(reconstruction_errors(batch.images, recon))
            results["time.reconstruction"] = time.perf_counter() - clock

    if activity and plain:
        results.notes.append("activity skipped: active units and sampled codes need a learner's Gaussian "
                             "posterior (encode_distribution); a plain encoder gives codes only.")
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
        if plain and not learner.can_counterfactual and not (counterfactuals == "traversal" and learner.can_decode):
            results.notes.append("counterfactual metrics skipped: no counterfactual callable (pass counterfactual="
                                 "(images, interventions) -> images, or a decoder with counterfactuals='traversal').")
        elif hasattr(learner, "counterfactual") and (not plain or learner.can_counterfactual):
            model = learner
        elif not plain and not getattr(learner, "can_decode", True) and counterfactuals == "traversal":
            results.notes.append(f"counterfactual metrics skipped: {type(learner).__name__} has no decoder to render "
                                 f"a traversal.")
        elif counterfactuals == "traversal" or (counterfactuals == "auto" and callable(getattr(learner, "intervene",
                                                                                                      None))):
            # a learner with its own do() on units (ILCM) intervenes on the matched units: "auto" includes it
            from latentscm.probes.traversal_counterfactual import TraversalCounterfactual

            model = TraversalCounterfactual(learner, world, seed=seed)
    if model is not None:
        from latentscm.metrics.counterfactual import counterfactual_metrics
        from latentscm.metrics.factor_regressor import FactorRegressor

        clock = time.perf_counter()
        if regressor is None:
            regressor = FactorRegressor(seed=seed).fit(world)
        # a learner whose latents are identified up to monotone maps (CauCA) reads world units once calibrated: on
        # the labelled evaluation batch here, as a traversal's units are matched to factors, and only for this call
        calibrate = (getattr(model, "calibrate", None) if getattr(model, "calibration_", False) is None else None)
        if calibrate is not None:
            calibrate(batch)
            results.notes.append(f"counterfactual metrics: {type(model).__name__}'s latents mapped to world units by "
                                 f"calibrate() on the {len(batch.images)} labelled evaluation samples.")
        try:
            results.update(counterfactual_metrics(model, world, n=n_counterfactual, seed=seed + 1,
                                                  regressor=regressor))
        finally:
            if calibrate is not None:
                model.calibration_ = None
        results["time.counterfactual"] = time.perf_counter() - clock
    return results


def _names_world_views(learner: Any, world: Any, plain: bool) -> bool:
    """Whether ``learner`` is a multi-view learner whose views name factors of ``world`` (so its views can be
    rendered from the world's samples)."""
    if plain or not getattr(learner, "uses_views", False) or not hasattr(learner, "encode_views"):
        return False
    learner._check_fitted()
    if getattr(learner, "views", None) is None:
        return False
    if (getattr(learner, "training_data_", None) or {}).get("kind") == "views":  # your own MultiViews: labels
        return False
    names = set(world.factor_names)
    return all(label in names for view in learner.views for label in view)


def world_codes(learner: Any, world: Any, batch: Any, *, seed: int) -> np.ndarray:
    """Codes (N, D) float64 of the samples ``batch`` of ``world`` as ``learner`` reads them: a multi-view learner
    whose views name the world's factors reads each sample from its views (rendered with ``seed``,
    :meth:`~latentscm.learners.multiview.MultiViewCRL.encode_views`); any other encodes the images."""
    if _names_world_views(learner, world, plain=False):
        from latentscm.worlds.views import multi_view_batch

        drawn = multi_view_batch(world, batch, learner.views, hidden=learner.hidden, seed=seed)
        return np.asarray(learner.encode_views(drawn.views), dtype=np.float64)
    return np.asarray(learner.encode(batch.images), dtype=np.float64)


def _multi_view_scores(learner: Any, world: Any, results: Evaluation, *, n: int, seed: int, views_named: bool) -> None:
    """``multi_view.content`` / ``.style`` / ``.unseen`` (:func:`~latentscm.metrics.multi_view.multi_view_r2`) of a
    multi-view learner whose views name the world's factors, and a note on what the suite's codes are."""
    from latentscm.metrics.multi_view import multi_view_r2

    if not views_named:
        results.notes.append(f"multi-view scores skipped: the views of {type(learner).__name__} are not views of world "
                             f"{world.name!r} (labels of your own MultiViews, or other factors); the suite encodes the "
                             f"world's images with each unit's view.")
        return
    clock = time.perf_counter()
    scores = multi_view_r2(learner, world, n=n, seed=seed)
    for part in ("content", "style", "unseen"):
        results[f"multi_view.{part}"] = scores[part]
    results["time.multi_view"] = time.perf_counter() - clock
    results.notes.append(f"{type(learner).__name__}: the suite scores each sample's code read from its views "
                         f"(encode_views: every unit from the view that reads it, hidden={learner.hidden!r}); "
                         f"multi_view.* score each aligned set's block on its own views (metrics.multi_view_r2).")


def reconstruction_errors(images: np.ndarray, reconstructions: np.ndarray) -> dict[str, float]:
    """Squared error and Bernoulli cross-entropy of reconstructions, summed over pixels and
    averaged over images (lower is better).

    Parameters
    ----------
    images, reconstructions : array (N, C, H, W)
        Images in [0, 1] and their reconstructions (clipped to (1e-6, 1 - 1e-6) for the BCE).

    Returns
    -------
    dict of str to float
        ``"reconstruction.mse"`` and ``"reconstruction.bce"``.
    """
    images = np.asarray(images, dtype=np.float32)
    reconstructions = np.asarray(reconstructions, dtype=np.float32)
    if reconstructions.shape != images.shape:
        raise ValueError(f"Reconstructions must have the shape of the images {images.shape}. Got "
                         f"{reconstructions.shape}.")
    n = images.shape[0]
    clipped = np.clip(reconstructions, 1e-6, 1 - 1e-6)
    bce = -(images * np.log(clipped) + (1 - images) * np.log1p(-clipped))
    return {"reconstruction.mse": float(np.square(reconstructions - images).reshape(n, -1).sum(1).mean()),
            "reconstruction.bce": float(bce.reshape(n, -1).sum(1).mean())}
