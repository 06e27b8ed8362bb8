"""Counterfactual sequences of a learned temporal process: one mixin for the learners whose units follow mechanisms.

A temporal learner with a transition model (:class:`~latentscm.learners.tdrl.TDRL`'s inverse transition,
:class:`~latentscm.learners.citris.CITRISVAE`'s Gaussian transition prior) is a latent structural causal model in
time: each unit ``z_j^{t+1} = f_j(z^t, eps_j)``. "This sequence, had units been set at step t" is answered by
Pearl's three steps, step after step: abduct each step's innovations from the factual codes
(``eps^{s} = f^{-1}(z^{s-1}, z^{s})``), set the units at step ``at`` (the action) and push the same innovations
through the mechanisms from the changed codes (the prediction). With no change the factual codes come back.

A learner provides ``_dynamics()`` (what it steps with; by default a float64 copy of its ``prior_``) and
``_counterfactual_step(dynamics, factual_previous, factual_next, current, intervened)`` ((N, M) float64 tensors;
``intervened`` (N, M) bool or None: units whose variable the factual sequence intervened on at this step); the
mixin checks the arguments, steps and decodes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

__all__ = ["LatentDynamics"]


class LatentDynamics:
    """Mixin for :class:`~latentscm.learners.base.Learner` subclasses whose units follow learned mechanisms in time:
    :meth:`counterfactual_codes` and :meth:`counterfactual_sequence`."""

    #: whether ``counterfactual_codes`` reads the factual sequences' intervention targets (a learner that knows
    #: which units belong to which variable keeps those units' factual codes where the factual sequence intervened)
    counterfactual_reads_targets: ClassVar[bool] = False

    def _dynamics(self) -> Any:
        """A float64 copy of the learner's transition model (``prior_``): sequences step from stepped codes, so
        float32 rounding would compound."""
        return copy.deepcopy(self.prior_).double().eval()

    def _counterfactual_step(self, dynamics: Any, factual_previous: torch.Tensor, factual_next: torch.Tensor,
                             current: torch.Tensor, intervened: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def _intervened_units(self, targets: np.ndarray) -> np.ndarray:
        """(N, T, M) bool: the units of the variables intervened on (``targets`` (N, T, V))."""
        raise NotImplementedError

    def _sequence_codes(self, frames: Any, what: str) -> tuple[np.ndarray, tuple[int, int]]:
        """Codes (N, T, M) of frames (N, T, C, H, W) (or a TemporalBatch), checked as images."""
        self._check_fitted()
        array = np.asarray(getattr(frames, "images", frames))
        if array.ndim != 5:
            raise ValueError(f"The 'frames' argument of {type(self).__name__}.{what} must be sequences of images "
                             f"(N, T, {', '.join(map(str, self.image_shape_))}). Got shape {array.shape}.")
        n, length = array.shape[:2]
        flat = self._images_tensor(array.reshape(n * length, *array.shape[2:]), what, argument="frames")
        return np.asarray(self.encode(flat.numpy())).reshape(n, length, -1), (n, length)

    def counterfactual_codes(self, codes: Any, interventions: Mapping[int, Any], *, at: int,
                             targets: Any = None) -> np.ndarray:
        """The counterfactual codes (N, T, M) of factual codes (N, T, M) had units been set at step ``at``:
        ``interventions`` ``{unit: value}`` (a scalar, or (N,) one per sequence). Steps before ``at`` are the factual
        codes; at ``at`` the units are set; after it every unit follows its learned mechanism with the innovations
        abducted from the factual codes (with no change the factual codes come back). ``targets`` (N, T, V) bool,
        for learners that read them (``counterfactual_reads_targets``): the variables the factual sequences
        intervened on at each step, whose units keep their factual codes there (as the world keeps its
        intervention draws)."""
        self._check_fitted()
        owner = f"{type(self).__name__}.counterfactual_codes"
        array = np.asarray(codes, dtype=np.float32)
        if array.ndim != 3 or array.shape[2] != self.latent_dim_ or not np.all(np.isfinite(array)):
            raise ValueError(f"The 'codes' argument of {owner} must be finite codes (N, T, {self.latent_dim_}). "
                             f"Got shape {array.shape}.")
        n, length, m = array.shape
        if isinstance(at, (bool, np.bool_)) or not isinstance(at, (int, np.integer)) or not 0 <= at < length:
            raise ValueError(f"The 'at' argument of {owner} must be a step 0 ... {length - 1}. Got {at!r}.")
        if not isinstance(interventions, Mapping) or not interventions:
            raise ValueError(f"The 'interventions' argument of {owner} must be a non-empty mapping {{unit: value}}. "
                             f"Got {interventions!r}.")
        intervened = None
        if targets is not None:
            if not self.counterfactual_reads_targets:
                raise ValueError(f"{owner}: {type(self).__name__} does not know which units belong to which variable, "
                                 f"so it cannot read 'targets'; leave it None.")
            targets = np.asarray(targets)
            if targets.ndim != 3 or targets.shape[:2] != (n, length) or targets.dtype != bool:
                raise ValueError(f"The 'targets' argument of {owner} must be bool (N, T, V) with (N, T) = "
                                 f"({n}, {length}). Got {targets.dtype} of shape {targets.shape}.")
            intervened = self._intervened_units(targets)
        out = array.copy()
        for unit, value in interventions.items():
            if isinstance(unit, (bool, np.bool_)) or not isinstance(unit, (int, np.integer)) or not 0 <= unit < m:
                raise ValueError(f"{owner}: the unit {unit!r} is not a latent unit 0 ... {m - 1}.")
            try:
                value = np.asarray(value, dtype=np.float32)
            except (TypeError, ValueError):
                raise ValueError(f"{owner}: the value of unit {unit} must be a number or one number per sequence. "
                                 f"Got {value!r}.") from None
            if value.ndim > 1 or (value.ndim == 1 and value.shape != (n,)) or not np.all(np.isfinite(value)):
                raise ValueError(f"{owner}: the value of unit {unit} must be a finite scalar or one value per sequence "
                                 f"({n},). Got shape {value.shape}.")
            out[:, at, unit] = value
        device = self.device_
        dynamics = self._dynamics()
        factual = torch.as_tensor(array, device=device, dtype=torch.float64)
        current = torch.as_tensor(out[:, at], device=device, dtype=torch.float64)
        with torch.no_grad():
            for t in range(at + 1, length):
                hit = None if intervened is None else torch.as_tensor(intervened[:, t], device=device)
                current = self._counterfactual_step(dynamics, factual[:, t - 1], factual[:, t], current, hit)
                out[:, t] = current.cpu().numpy()
        return out

    def counterfactual_sequence(self, frames: Any, interventions: Mapping[int, Any], *, at: int,
                                targets: Any = None) -> np.ndarray:
        """Decoded counterfactual frames (N, T, C, H, W) of factual frames (N, T, C, H, W) (or a TemporalBatch, whose
        targets are read by learners that read them) had the ``interventions`` ``{unit: value}`` been made at step
        ``at`` (:meth:`counterfactual_codes`)."""
        codes, (n, length) = self._sequence_codes(frames, "counterfactual_sequence")
        if targets is None and self.counterfactual_reads_targets:
            targets = getattr(frames, "targets", None)
        changed = self.counterfactual_codes(codes, interventions, at=at, targets=targets)
        return self.decode(changed.reshape(n * length, -1)).reshape(n, length, *self.image_shape_)
