"""What each set of views' block holds: the evaluation of multi-view causal representation learning.

Yao et al. (ICLR 2024), "Multi-view causal representation learning with partial observability": a
learner that block-identifies the content ``C_V`` of a set of views ``V`` has, in every view of ``V``,
code units that are an invertible function of ``C_V``'s latents alone. A nonlinear regression from
those units then recovers each latent of ``C_V`` (R² near 1) and of every other latent only what
``C_V`` predicts of it (R² near 0 for independent latents). The paper reports these R² per latent for
each set and view; the R² here is the held-out kernel-ridge one of :func:`latentscm.metrics.r2.r2_per_factor`.

The latents outside the block fall in two groups per view: its *style* (shown by the view, ``S_k``
minus ``C_V``: what the encoder sees and the alignment must leave out, the claim under test) and the
*unseen* ones (outside ``S_k``: a view that never shows them cannot encode them, so their R² is near 0
whatever was learned). They are reported apart. Views drawn with ``hidden="resample"`` show the factors
outside ``S_k`` at another sample's values: latents *private* to the view, which its encoder sees and
the alignment must leave out too; their R² (against the values the view shows) counts as style.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.metrics.r2 import r2_per_factor

__all__ = ["multi_view_r2"]


def _mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def multi_view_r2(learner: Any, world: Any, *, n: int = 2000, seed: int = 0, max_train: int = 2000,
                  hidden: str | None = None) -> dict[str, Any]:
    """The held-out R² of every factor of ``world`` from each aligned set's block, in each of its views.

    Parameters
    ----------
    learner : MultiViewCRL
        A fitted multi-view learner (its ``views``, aligned sets and :meth:`block_units`).
    world : World
        The world whose views it learned; ``n`` fresh samples (seed ``seed``) are drawn and their views rendered
        (:func:`~latentscm.worlds.views.multi_view_batch`, seed ``seed + 1``).
    n : int, default 2000
        Samples (>= 10).
    seed : int, default 0
        Seeds the samples, the views and the regressions' splits.
    max_train : int, default 2000
        Training rows of each kernel-ridge regression.
    hidden : {"fixed", "resample"} or None
        What the views show of their hidden factors (``None``: the learner's ``hidden``).

    Returns
    -------
    dict
        ``"blocks"``: one entry per aligned set (key ``"0,1"`` ...) with ``"views"`` (its view indices),
        ``"content"`` (its block's factors), ``"per_view"`` (view -> factor -> R²), ``"content_r2"`` (the mean
        R² of the block's factors over its views), ``"style_r2"`` (of the factors each view shows outside the
        block; NaN when every view shows its block only) and ``"unseen_r2"`` (of the factors a view does not
        show; with ``hidden="resample"``, ``"private"``: view -> factor -> R² of the values the view shows of its
        hidden factors, counted in ``"style_r2"``); ``"content"``, ``"style"`` and ``"unseen"``: those means over
        the sets (NaN left out);
        ``"units"``: each code unit's latent -> ``{"view": the view that reads it (what ``encode(x)`` uses),
        "per_factor": factor -> R² from that unit alone}``. The unit read from view ``k`` is trained to hold only
        what the blocks of ``k``'s aligned sets that contain it share, not necessarily its own latent alone (see
        :func:`~latentscm.worlds.views.view_atoms`).
    """
    from latentscm.worlds.base import World
    from latentscm.worlds.views import HIDDEN, multi_view_batch

    owner = "multi_view_r2"
    if not getattr(learner, "uses_views", False) or not hasattr(learner, "block_units"):
        raise TypeError(f"The 'learner' argument of {owner} must be a multi-view learner (MultiViewCRL). "
                        f"Got {type(learner).__name__}.")
    learner._check_fitted()
    if not isinstance(world, World):
        raise TypeError(f"The 'world' argument of {owner} must be a World (the views are rendered from its samples). "
                        f"Got {type(world).__name__}.")
    n = int(check_number(n, "n", owner, low=10, integer=True))
    hidden = learner.hidden if hidden is None else check_choice(hidden, "hidden", owner, HIDDEN)
    unknown = sorted({label for view in learner.views for label in view} - set(world.factor_names))
    if unknown:
        raise ValueError(f"{owner}: the views of {type(learner).__name__} name {unknown}, which are not factors of "
                         f"world {world.name!r} ({', '.join(world.factor_names)}); its views must be rendered from the "
                         f"world it is scored on.")
    batch = world.sample(n, seed=seed)
    drawn = multi_view_batch(world, batch, learner.views, hidden=hidden, seed=seed + 1)
    names = list(drawn.factor_names)
    encoded: dict[int, np.ndarray] = {}

    def codes_of(k: int) -> np.ndarray:  # each view encoded once
        if k not in encoded:
            encoded[k] = learner.encode(drawn.views[k], view=k)
        return encoded[k]

    blocks: dict[str, Any] = {}
    for subset, content in learner.blocks_.items():
        units = learner.block_units(subset)
        per_view = {}
        private: dict[int, dict[str, float]] = {}
        for k in subset:
            codes = codes_of(k)[:, units]
            hidden_columns = [j for j, name in enumerate(names) if name not in learner.views[k]]
            targets = drawn.factors
            if hidden == "resample" and hidden_columns:  # the view's own values of its hidden factors, too
                targets = np.concatenate([drawn.factors, drawn.view_factors[k][:, hidden_columns]], axis=1)
            scores = r2_per_factor(codes, targets, max_train=max_train, seed=seed)
            per_view[int(k)] = {name: float(value) for name, value in zip(names, scores)}
            if hidden == "resample" and hidden_columns:
                private[int(k)] = {names[j]: float(value) for j, value in zip(hidden_columns, scores[len(names):])}
        shown = {k: set(learner.views[k]) for k in per_view}
        inside = [per_view[k][name] for k in per_view for name in content]
        style = [per_view[k][name] for k in per_view for name in names if name in shown[k] and name not in content]
        style += [value for k in private for value in private[k].values()]
        unseen = [per_view[k][name] for k in per_view for name in names if name not in shown[k]]
        entry = {"views": list(subset), "content": list(content), "per_view": per_view,
                 "content_r2": _mean(inside), "style_r2": _mean(style), "unseen_r2": _mean(unseen)}
        if private:
            entry["private"] = private
        blocks[",".join(map(str, subset))] = entry
    single = {}
    for u, (label, k) in enumerate(zip(learner.slots_, learner.unit_readers())):
        scores = r2_per_factor(codes_of(k)[:, [u]], drawn.factors, max_train=max_train, seed=seed)
        single[label] = {"view": int(k), "per_factor": {name: float(value) for name, value in zip(names, scores)}}
    return {"blocks": blocks, "units": single, **{part: _mean([b[f"{part}_r2"] for b in blocks.values()])
                                                  for part in ("content", "style", "unseen")}}
