"""Your own weakly supervised pairs: two images of one scene that differ in a few factors.

Pair-trained learners (``uses_pairs``, e.g. :class:`~latentscm.learners.ada_gvae.AdaGVAE`) draw
exact counterfactual pairs from a World; real data come as pairs instead (consecutive video
frames, an object before and after it was moved, two photos under changed lighting):

    from latentscm.data import ImagePairs
    learner.fit(ImagePairs(first, second))            # first, second: (N, C, H, W) in [0, 1]
    learner.fit(ImagePairs(first, second, changed))   # changed: (N,) factors each pair differs in
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latentscm._validation import check_array

__all__ = ["ImagePairs"]


@dataclass(frozen=True, eq=False)
class ImagePairs:
    """N pairs of images: ``second[i]`` is ``first[i]`` with a few factors of variation changed.

    Parameters
    ----------
    first, second : array (N, C, H, W)
        float32-convertible images in [0, 1] (checked when a learner trains on them).
    changed : array (N,) of int >= 1, or None
        How many factors each pair differs in, when known (``aggregation="known"`` needs it).
    """

    first: np.ndarray
    second: np.ndarray
    changed: np.ndarray | None = None

    def __post_init__(self):
        owner = "ImagePairs"
        first = check_array(self.first, "first", owner, ndim=4, dtype=np.float32)
        second = check_array(self.second, "second", owner, ndim=4, dtype=np.float32)
        if first.shape != second.shape:
            raise ValueError(f"The 'second' argument of {owner} must have the shape of 'first' {first.shape}. "
                             f"Got {second.shape}.")
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "second", second)
        if self.changed is not None:
            changed = check_array(self.changed, "changed", owner, ndim=1)
            if changed.shape[0] != first.shape[0]:
                raise ValueError(f"The 'changed' argument of {owner} needs one count per pair ({first.shape[0]}). "
                                 f"Got {changed.shape[0]}.")
            if np.any(changed != np.round(changed)) or np.any(changed < 1):
                bad = changed[(changed != np.round(changed)) | (changed < 1)][0]
                raise ValueError(f"The 'changed' argument of {owner} must hold whole numbers >= 1 (each pair differs "
                                 f"in at least one factor). Got {bad!r}.")
            object.__setattr__(self, "changed", changed.astype(np.int64))

    def __len__(self) -> int:
        return int(self.first.shape[0])
