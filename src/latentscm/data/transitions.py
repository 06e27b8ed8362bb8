"""Your own temporal transitions: pairs of consecutive frames and the intervention targets between them.

Temporal learners (``uses_transitions``, e.g. :class:`~latentscm.learners.citris.CITRISVAE`) draw transitions
from a :class:`~latentscm.worlds.temporal.TemporalWorld`; recorded sequences come as transitions instead
(frames of a video or a simulator, and a record of what was intervened on at each step):

    from latentscm.data import TemporalTransitions
    data = TemporalTransitions(frames[:-1], frames[1:], targets[1:], variables=["light", "arm", "door"])
    CITRISVAE().fit(data)       # frames (N, C, H, W) in [0, 1]; targets (N, V) bool

``variables`` names the targets' columns: the causal variables whose interventions are recorded. Learners that do
not read targets (:class:`~latentscm.learners.tdrl.TDRL`) take frames alone, ``TemporalTransitions(frames[:-1],
frames[1:])``: no targets, no variables (``targets`` is then (N, 0)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from latentscm._validation import check_array

__all__ = ["TemporalTransitions"]


@dataclass(frozen=True, eq=False)
class TemporalTransitions:
    """N transitions ``(images[i], next_images[i], targets[i])``.

    Parameters
    ----------
    images, next_images : arrays (N, C, H, W)
        float32-convertible frames in [0, 1] (checked when a learner trains on them): each frame and the next.
    targets : array (N, V) or None, default None
        bool: the variables intervened on between the two frames (``None``: not recorded, stored as (N, 0)).
    variables : sequence of str or None, default None
        The V names of the targets' columns (``None`` only without targets).
    """

    images: np.ndarray
    next_images: np.ndarray
    targets: np.ndarray | None = None
    variables: Sequence[str] | None = None

    def __post_init__(self):
        owner = "TemporalTransitions"
        images = check_array(self.images, "images", owner, ndim=4, dtype=np.float32)
        following = check_array(self.next_images, "next_images", owner, ndim=4, dtype=np.float32)
        if following.shape != images.shape:
            raise ValueError(f"The 'next_images' argument of {owner} has shape {following.shape}, and 'images' "
                             f"{images.shape}; give one next frame per frame.")
        if self.targets is None:
            if self.variables is not None and len(self.variables):
                raise ValueError(f"The 'variables' argument of {owner} names the columns of 'targets', and no targets "
                                 f"are given. Got variables={self.variables!r}.")
            object.__setattr__(self, "images", images)
            object.__setattr__(self, "next_images", following)
            object.__setattr__(self, "targets", np.zeros((images.shape[0], 0), dtype=bool))
            object.__setattr__(self, "variables", ())
            return
        targets = np.asarray(self.targets)
        if targets.ndim != 2 or targets.shape[0] != images.shape[0]:
            raise ValueError(f"The 'targets' argument of {owner} must be (N, V) with N = {images.shape[0]} (one row "
                             f"per transition). Got shape {targets.shape}.")
        if targets.dtype != bool:
            if not np.isin(targets, (0, 1)).all():
                raise ValueError(f"The 'targets' argument of {owner} must be bool (or 0/1): which variables were "
                                 f"intervened on. Got values other than 0 and 1.")
            targets = targets.astype(bool)
        variables = self.variables
        if isinstance(variables, str) or not isinstance(variables, Sequence):
            raise TypeError(f"The 'variables' argument of {owner} must be a list of names. Got {variables!r}.")
        variables = tuple(str(v) for v in variables)
        if len(variables) != targets.shape[1] or len(set(variables)) != len(variables) or not variables:
            raise ValueError(f"The 'variables' argument of {owner} must give {targets.shape[1]} distinct names, one "
                             f"per column of 'targets'. Got {list(variables)}.")
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "next_images", following)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "variables", variables)

    def __len__(self) -> int:
        return int(self.images.shape[0])
