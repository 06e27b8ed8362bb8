"""Counterfactuals from a plain (non-causal) learner by latent traversal — the usual baseline.

For each factor, pick the latent unit whose code correlates most with it (|Pearson r| on world
samples, one unit per factor by Hungarian matching) and fit a line factor -> code. ``do(f = v)``
then encodes the image, sets that unit to the line's value at v, and decodes. Nothing
propagates to the factor's effects: that is exactly what a causal model should do better. A factor
that is constant on the samples gets no unit (no code can be matched to it, nor a line fitted):
``do()`` on it leaves the codes as they are.

A learner with its own ``intervene(x, {unit: value})`` (an implicit latent causal model,
:class:`~latentscm.learners.ilcm.ILCM`) is asked to intervene on the matched units instead of having
them overwritten: its ``do`` keeps every other noise value, so the factor's effects follow through
the learned model (``uses_do_``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from latentscm.interventions import Do, as_interventions

__all__ = ["TraversalCounterfactual"]


class TraversalCounterfactual:
    """Wrap ``learner`` (encode/decode) and ``world`` into a ``counterfactual(x, interventions)``.

    Attributes after construction: ``units_`` (factor -> latent unit), ``slope_``/``intercept_``
    (factor -> line parameters), ``correlation_`` (factor -> |r| of the matched unit); a factor without a
    unit (constant on the ``n`` samples, or beyond the number of units) has no entry; ``uses_do_``: whether
    the learner's own ``intervene`` sets the units (see the module docstring).
    """

    def __init__(self, learner: Any, world: Any, *, n: int = 2000, seed: int = 0):
        if not getattr(learner, "can_decode", True):
            raise TypeError(f"TraversalCounterfactual decodes traversed codes, and {type(learner).__name__} has no "
                            f"decoder (an encoder-only learner).")
        batch = world.sample(n, seed=seed)
        codes = np.asarray(learner.encode(batch.images), dtype=np.float64)
        if not np.all(np.isfinite(codes)):
            raise ValueError(f"TraversalCounterfactual: the codes of {type(learner).__name__} on {n} samples of "
                             f"world {getattr(world, 'name', '?')!r} contain NaN or infinite values (did training "
                             f"diverge?); no latent unit can be matched to a factor.")
        factors = np.asarray(batch.factors, dtype=np.float64)
        self.learner, self.factor_names = learner, list(world.factor_names)
        self.uses_do_ = callable(getattr(learner, "intervene", None))
        # a constant factor correlates with nothing (it would take a leftover unit and overwrite it) and has no
        # line (its std may round to ~1e-17, not 0): it is left unmatched
        varying = np.flatnonzero(np.ptp(factors, axis=0) > 0)
        codes_c = codes - codes.mean(0)
        factors_c = factors - factors.mean(0)
        denominator = np.outer(np.linalg.norm(factors_c, axis=0), np.linalg.norm(codes_c, axis=0)) + 1e-12
        correlation = np.abs(factors_c.T @ codes_c) / denominator  # (K, D)
        rows, cols = linear_sum_assignment(-correlation[varying])
        self.units_, self.slope_, self.intercept_, self.correlation_ = {}, {}, {}, {}
        for row, d in zip(rows, cols):
            k = int(varying[row])
            name = self.factor_names[k]
            slope, intercept = np.polyfit(factors[:, k], codes[:, d], 1)
            self.units_[name], self.slope_[name], self.intercept_[name] = int(d), float(slope), float(intercept)
            self.correlation_[name] = float(correlation[k, d])

    def counterfactual(self, x: np.ndarray, interventions: Mapping[str, Any]) -> np.ndarray:
        """Images (N, C, H, W) with the matched latent units set for hard interventions."""
        items = as_interventions(interventions, self.factor_names)
        settings: dict[int, np.ndarray] = {}  # unit -> a value, or one per image
        for name, item in items.items():
            if name not in self.units_:
                continue  # more factors than latent units, or a constant factor: no unit to move
            if not isinstance(item, Do):
                raise TypeError(f"TraversalCounterfactual supports hard interventions only; got {item!r} for {name!r}.")
            value = np.asarray(item.value, dtype=np.float64)
            settings[self.units_[name]] = self.intercept_[name] + self.slope_[name] * value
        if self.uses_do_ and settings:  # the model's own do(); it encodes x itself
            return self.learner.intervene(x, settings)
        codes = self.learner.encode(x).astype(np.float32)
        for unit, value in settings.items():
            codes[:, unit] = value
        return self.learner.decode(codes)
