"""Counterfactual metrics against a world's exact oracle.

A *counterfactual model* is anything with ``counterfactual(images (N, C, H, W), interventions)
-> images (N, C, H, W)`` (causal learners, or a β-VAE through latent traversal). The world gives
the true counterfactual of every image, so besides the axiomatic soundness measures of Monteiro
et al. 2023 ("Measuring axiomatic soundness of counterfactual image models", ICLR) —
composition, reversibility, effectiveness (and commutativity) — we report the **true
counterfactual error** directly.

All image distances are mean absolute pixel differences in [0, 1] (lower is better). Factor
errors are absolute differences divided by the factor's range (lower is better). Keys are
namespaced ``"cf.<measure>.<factor or edge>"`` with an aggregate ``"cf.<measure>"`` (mean).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.interventions import Do
from latentscm.metrics._common import check_sequence

__all__ = ["counterfactual_metrics", "image_distance"]


def image_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute pixel difference between two image batches (N, C, H, W); lower is closer."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"image_distance needs equal shapes. Got {a.shape} and {b.shape}.")
    return float(np.abs(a - b).mean())


def _answer(model: Any, images: np.ndarray, interventions: dict[str, Any]) -> np.ndarray:
    """The model's counterfactual of ``images`` (N, C, H, W) under ``interventions``, refused unless it has the
    shape of ``images`` and only finite values (a NaN would turn every score into NaN without a word)."""
    out = np.asarray(model.counterfactual(images, interventions))
    asked = ", ".join(interventions) or "no intervention"
    if out.shape != np.shape(images):
        raise ValueError(f"The model's counterfactual ({asked}) has shape {out.shape}; counterfactual_metrics needs "
                         f"the shape of its input {np.shape(images)}.")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"The model's counterfactual ({asked}) contains NaN or infinite values; "
                         f"counterfactual_metrics needs finite images.")
    return out


def counterfactual_metrics(model: Any, world: Any, *, n: int = 128, seed: int = 0,
                           factors: Sequence[str] | None = None, regressor: Any = None,
                           composition_steps: Sequence[int] = (1, 2, 10), commutativity_pairs: int = 3
                           ) -> dict[str, float]:
    """Counterfactual soundness and true-counterfactual error of ``model`` on ``world``.

    For each factor f in ``factors`` (default None: all; an empty list is refused, as it would
    measure no counterfactual), every image gets ``do(f = v)`` with v a different valid
    value drawn per image. Reported (lower is better unless noted):

    - ``cf.true_error.f``: distance between the model's and the world's exact counterfactual;
      ``cf.identity_error.f``: the same for "change nothing" (a floor any model should beat).
    - ``cf.reconstruction_error``: distance of the null counterfactual (no intervention) to the
      input — the error the model makes before it changes anything.
    - ``cf.excess.f``: the normalised excess error ``(true_error.f − reconstruction_error) /
      identity_error.f``: 0 is perfect, 1 no better than changing nothing. Raw ratios mislead
      when a factor's floor is below a good reconstruction error (the pendulum's shadow). NaN when
      ``do(f = v)`` leaves every image unchanged (``identity_error.f`` is 0: no floor to compare
      with); the mean ``cf.excess`` is over the other factors.
    - ``cf.effectiveness.f`` (needs ``regressor``, a fitted :class:`FactorRegressor`): error of
      the regressed factor f of the model counterfactual against v.
    - per edge a -> b of the world's graph: ``cf.effect.a->b``: error of regressed b after
      ``do(a)`` against the true counterfactual b (did the effect follow?); ``cf.cause_leak.a->b``:
      change of regressed a after ``do(b)`` (an intervention on an effect must leave its cause).
    - ``cf.composition.m{m}``: distance to the input after the null intervention applied m times.
    - ``cf.reversibility.f``: distance to the input after ``do(f = v)`` then ``do(f = original)``.
    - ``cf.commutativity.a|b``: distance between the two orders of ``do(a)`` and ``do(b)``, for
      pairs with no directed path between them (only those commute in the true SCM).
    - ``cf.regressor_error.f``: held-out error of the regressor itself (its noise floor).
    """
    n = int(check_number(n, "n", "counterfactual_metrics", low=1, integer=True))
    names = list(world.factor_names)
    chosen = names if factors is None else check_sequence(factors, "factors", "counterfactual_metrics",
                                                          "factor names")
    for name in chosen:
        if name not in names:
            raise ValueError(f"Unknown factor {name!r} for counterfactual_metrics. Valid names: {', '.join(names)}")
    if not chosen:
        raise ValueError("The 'factors' parameter of counterfactual_metrics must name at least one factor (or be None "
                         f"for all of them: {', '.join(names)}). Got {factors!r}.")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"The 'factors' parameter of counterfactual_metrics names a factor more than once. "
                         f"Got {chosen!r}.")
    steps = sorted({int(check_number(m, "composition_steps", "counterfactual_metrics", low=1, integer=True))
                    for m in check_sequence(composition_steps, "composition_steps", "counterfactual_metrics",
                                            "ints")})
    commutativity_pairs = int(check_number(commutativity_pairs, "commutativity_pairs", "counterfactual_metrics",
                                           low=0, integer=True))
    rng = as_generator(seed)
    batch = world.sample(n, seed=rng)
    images = batch.images
    results: dict[str, float] = {}
    null = np.asarray(_answer(model, images, {}), dtype=np.float32)
    results["cf.reconstruction_error"] = image_distance(null, images)
    model_cf: dict[str, np.ndarray] = {}
    true_cf: dict[str, Any] = {}
    targets: dict[str, np.ndarray] = {}
    for name in chosen:
        spec = world.spec(name)
        values = spec.other_values(batch.factor(name), rng)
        targets[name] = values
        model_cf[name] = np.asarray(_answer(model, images, {name: Do(values)}), dtype=np.float32)
        true_cf[name] = world.counterfactual(batch, {name: Do(values)})
        results[f"cf.true_error.{name}"] = image_distance(model_cf[name], true_cf[name].images)
        results[f"cf.identity_error.{name}"] = image_distance(images, true_cf[name].images)
        floor = results[f"cf.identity_error.{name}"]
        results[f"cf.excess.{name}"] = ((results[f"cf.true_error.{name}"] - results["cf.reconstruction_error"])
                                        / floor if floor > 0 else float("nan"))

    if regressor is not None:
        ranges = {s.name: max(s.high - s.low, 1e-12) for s in world.factor_specs}
        observed = regressor.predict(images)
        predicted = {name: regressor.predict(model_cf[name]) for name in chosen}
        for name in chosen:
            j = names.index(name)
            results[f"cf.effectiveness.{name}"] = float(np.abs(predicted[name][:, j] - targets[name]).mean()
                                                        / ranges[name])
            results[f"cf.regressor_error.{name}"] = float(regressor.mae_.get(name, np.nan))
        for cause, effect in world.graph.edges:
            i, k = names.index(cause), names.index(effect)
            if cause in chosen:
                truth = true_cf[cause].factors[:, k]
                results[f"cf.effect.{cause}->{effect}"] = float(np.abs(predicted[cause][:, k] - truth).mean()
                                                                / ranges[effect])
            if effect in chosen:
                results[f"cf.cause_leak.{cause}->{effect}"] = float(
                    np.abs(predicted[effect][:, i] - observed[:, i]).mean() / ranges[cause])

    current = images
    for m in range(1, steps[-1] + 1 if steps else 1):
        current = null if m == 1 else np.asarray(_answer(model, current, {}), dtype=np.float32)
        if m in steps:
            results[f"cf.composition.m{m}"] = image_distance(current, images)

    for name in chosen:
        back = _answer(model, model_cf[name], {name: Do(batch.factor(name))})
        results[f"cf.reversibility.{name}"] = image_distance(back, images)

    # Hard interventions commute exactly in the true SCM only when neither variable is an
    # ancestor of the other (do(cause) then do(effect) keeps the effect's value; the other order
    # recomputes it), so only such pairs are tested.
    graph = world.graph
    pairs = [(a, b) for i, a in enumerate(chosen) for b in chosen[i + 1:]
             if b not in graph.descendants(a) and a not in graph.descendants(b)][:commutativity_pairs]
    for a, b in pairs:
        ab = _answer(model, model_cf[a], {b: Do(targets[b])})
        ba = _answer(model, model_cf[b], {a: Do(targets[a])})
        results[f"cf.commutativity.{a}|{b}"] = image_distance(ab, ba)

    for measure in ("true_error", "identity_error", "excess", "effectiveness", "reversibility", "effect",
                    "cause_leak", "commutativity"):
        values = [v for k, v in results.items() if k.startswith(f"cf.{measure}.")]
        if measure == "excess":  # NaN marks a factor without a floor, not an error of the model
            values = [v for v in values if not np.isnan(v)] or [float("nan")]
        if values:
            results[f"cf.{measure}"] = float(np.mean(values))
    return results
