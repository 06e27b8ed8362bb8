"""Your own multi-view data: K images of each scene, each showing part of what the scene holds.

Multi-view learners (``uses_views``, e.g. :class:`~latentscm.learners.multiview.MultiViewCRL`) render
the views of a World's samples; real data come as views instead (two cameras on one scene, an image and
a sensor reading of one event, frames of one object under different occlusions):

    from latentscm.data import MultiViews
    learner = MultiViewCRL(views=[["a", "b", "p"], ["a", "b", "q"], ["a", "r"]])
    learner.fit(MultiViews([view0, view1, view2]))     # each (N, C, H, W) in [0, 1], row i one scene

With your own data the names in the learner's ``views`` are labels of latents you believe each view
shows: views that share a label share that latent. Only which labels views share matters (it sizes each
content block); nothing else is read from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from latentscm._validation import check_array

__all__ = ["MultiViews"]


@dataclass(frozen=True, eq=False)
class MultiViews:
    """K >= 2 views of N scenes: ``views[k][i]`` is view k of scene i.

    Parameters
    ----------
    views : sequence of arrays (N, C, H, W)
        float32-convertible images in [0, 1] (checked when a learner trains on them), all of one shape.
    """

    views: Sequence[np.ndarray]

    def __post_init__(self):
        owner = "MultiViews"
        views = self.views
        if isinstance(views, np.ndarray) or not isinstance(views, (list, tuple)) or len(views) < 2:
            raise ValueError(f"The 'views' argument of {owner} must be a list of at least two arrays (N, C, H, W), "
                             f"one per view. Got {type(views).__name__}"
                             + (f" of length {len(views)}." if isinstance(views, (list, tuple)) else "."))
        checked = []
        for k, view in enumerate(views):
            array = check_array(view, f"views[{k}]", owner, ndim=4, dtype=np.float32)
            if checked and array.shape != checked[0].shape:
                raise ValueError(f"The 'views' argument of {owner}: view {k} has shape {array.shape}, and view 0 has "
                                 f"{checked[0].shape}; every view must have the same shape (one row per scene).")
            checked.append(array)
        object.__setattr__(self, "views", tuple(checked))

    def __len__(self) -> int:
        return int(self.views[0].shape[0])

    @property
    def n_views(self) -> int:
        return len(self.views)
