"""Several partial views of one sample: the data of multi-view causal representation learning.

Yao, Xu, Lachapelle, Magliacane, Taslakian, Martius, von Kügelgen & Locatello (ICLR 2024),
"Multi-view causal representation learning with partial observability" (official code:
CausalLearningAI/multiview-crl, read for the data model and the loss, not copied): one draw of the
latents ``z`` is seen through K views, view ``k`` a function of its own subset ``S_k`` of them,
``x_k = f_k(z_{S_k})``. The latents any set ``V`` of views shares, ``C_V = ∩_{k in V} S_k`` (its
*content block*), are block-identified from each view of ``V`` by contrastive learning with one
encoder per view (their Theorem 3.2); intersections, unions and complements of identified blocks are
identified too (their identifiability algebra), so with enough views single latents are.

Here a view is one World's image: ``views`` lists, per view, the factors it shows of the shared
sample (``S_k``, by name). What the view shows of the other factors is set by ``hidden``:

- ``"fixed"`` (default): each factor outside ``S_k`` is held at one value (the middle of its range,
  on its grid for a grid factor), so ``x_k = f_k(z_{S_k})`` exactly, as in the paper;
- ``"resample"``: each view shows the factors outside ``S_k`` at the values of another sample of the
  batch (one other sample per view and row, shared by the view's hidden factors), i.e. latents private
  to the view and independent of everything else (the paper's view-specific latents, drawn apart).

Images are rendered from the factors directly (:meth:`World.render`): the shared factors keep their
values whatever the view holds fixed, and dependencies among factors, causal or not, stay those of the
sample (the theorem allows any). A random renderer gets its own rendering seed per view. All views
have the world's image shape.

:func:`view_blocks` gives each set of views its content block; :func:`view_slots` the code units a
multi-view learner needs (one per factor that some set of views shares); :func:`view_atoms` the
finest groups of latents the blocks identify.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np

from latentscm._validation import as_generator, check_choice

__all__ = ["MultiViewBatch", "multi_view_batch", "check_views", "check_view_subsets", "view_blocks", "view_slots",
           "view_atoms", "HIDDEN"]

#: What a view shows of the factors outside its set: held at one value, or another sample's values.
HIDDEN = ("fixed", "resample")


class MultiViewBatch(NamedTuple):
    """K views of N samples; row i of every view shows sample i."""

    views: list[np.ndarray]  # K arrays (N, C, H, W) float32 in [0, 1]
    factors: np.ndarray  # (N, F) the shared sample's factors
    view_factors: np.ndarray  # (K, N, F) the factors each view was rendered from
    factor_names: tuple[str, ...]
    view_sets: tuple[tuple[str, ...], ...]  # S_k, the factors view k shows of the shared sample


def check_views(views: Any, name: str, owner: str, names: Sequence[str] | None = None) -> list[list[str]]:
    """``views`` as a list of K >= 2 lists of distinct labels (each non-empty); with ``names`` (a World's factors)
    every label must be one of them. Errors name ``name``, the view and the label."""
    if isinstance(views, str) or not isinstance(views, (list, tuple)) or len(views) < 2:
        raise ValueError(f"The '{name}' argument of {owner} must be a list of at least two views, each a list of the "
                         f"factors (latents) it shows. Got {views!r}.")
    checked = []
    for k, view in enumerate(views):
        if isinstance(view, str) or not isinstance(view, (list, tuple)) or not view \
                or not all(isinstance(label, str) for label in view):
            raise ValueError(f"The '{name}' argument of {owner}: view {k} must be a non-empty list of factor names. "
                             f"Got {view!r}.")
        if len(set(view)) != len(view):
            raise ValueError(f"The '{name}' argument of {owner}: view {k} names a factor twice: {list(view)}.")
        if names is not None:
            for label in view:
                if label not in names:
                    raise ValueError(f"The '{name}' argument of {owner}: view {k} names {label!r}, which is not a "
                                     f"factor of the world; its factors are {', '.join(names)}.")
        checked.append(list(view))
    return checked


def check_view_subsets(subsets: Any, views: list[list[str]], name: str, owner: str) -> list[tuple[int, ...]]:
    """The sets of views to align: ``None`` gives every set of two or more views that shares a factor (in order of
    size, then of view indices); a list of lists of distinct view indices is checked (each set shares a factor)."""
    k = len(views)
    if subsets is None:
        every = [s for size in range(2, k + 1) for s in combinations(range(k), size)]
        found = [s for s in every if _shared(views, s)]
        if not found:
            raise ValueError(f"{owner}: no two of the views share a factor, so there is no content to learn "
                             f"(views {views}).")
        return found
    if isinstance(subsets, str) or not isinstance(subsets, (list, tuple)) or not subsets:
        raise ValueError(f"The '{name}' argument of {owner} must be None or a non-empty list of sets of view indices. "
                         f"Got {subsets!r}.")
    checked: list[tuple[int, ...]] = []
    for subset in subsets:
        if isinstance(subset, str) or not isinstance(subset, (list, tuple)) or len(subset) < 2 \
                or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in subset):
            raise ValueError(f"The '{name}' argument of {owner}: each set must list two or more view indices. "
                             f"Got {subset!r}.")
        if len(set(subset)) != len(subset) or not all(0 <= int(i) < k for i in subset):
            raise ValueError(f"The '{name}' argument of {owner}: the set {list(subset)} must hold distinct view "
                             f"indices from 0 to {k - 1}.")
        entry = tuple(sorted(int(i) for i in subset))
        if entry in checked:
            raise ValueError(f"The '{name}' argument of {owner} lists the set {list(entry)} twice.")
        if not _shared(views, entry):
            raise ValueError(f"The '{name}' argument of {owner}: the views {list(entry)} share no factor, so they "
                             f"have no content to align.")
        checked.append(entry)
    return checked


def _shared(views: list[list[str]], subset: Sequence[int]) -> list[str]:
    """The labels every view of ``subset`` shows, in the order of the first view's list."""
    return [label for label in views[subset[0]] if all(label in views[k] for k in subset[1:])]


def view_blocks(views: list[list[str]], subsets: list[tuple[int, ...]]) -> dict[tuple[int, ...], list[str]]:
    """Each set of views -> its content block ``C_V``: the factors every view of the set shows."""
    return {subset: _shared(views, subset) for subset in subsets}


def view_slots(views: list[list[str]], subsets: list[tuple[int, ...]]) -> list[str]:
    """The code units of a multi-view learner: one per factor in some set's block, in the order the views list
    them (view 0's first)."""
    inside = {label for block in view_blocks(views, subsets).values() for label in block}
    slots: list[str] = []
    for view in views:
        slots += [label for label in view if label in inside and label not in slots]
    return slots


def view_atoms(views: list[list[str]], subsets: list[tuple[int, ...]]) -> list[list[str]]:
    """The smallest groups of latents the aligned sets identify, by Yao et al.'s identifiability algebra.

    Intersections, complements and unions of block-identified blocks are block-identified (their
    section 3.3), so everything the blocks ``C_V`` of ``subsets`` identify is the set algebra they
    generate. Its atoms are the latents grouped by the blocks they lie in: two latents in exactly
    the same blocks cannot be told apart, and a group alone is the intersection of its blocks minus
    the union of the others. A one-latent atom is a latent identified on its own (up to an invertible
    map of it). Latents in no block are left out. Atoms come in the order of :func:`view_slots`.
    """
    blocks = list(view_blocks(views, subsets).values())
    atoms: dict[tuple[bool, ...], list[str]] = {}
    for label in view_slots(views, subsets):
        atoms.setdefault(tuple(label in block for block in blocks), []).append(label)
    return list(atoms.values())


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) a random permutation without fixed points (n >= 2): each row gets another row."""
    order = rng.permutation(n)
    donors = np.empty(n, dtype=np.int64)
    donors[order] = np.roll(order, 1)  # a random cycle through all the rows
    return donors


def multi_view_batch(world: Any, batch: Any, views: Any, *, hidden: str = "fixed",
                     seed: int | np.random.Generator = 0) -> MultiViewBatch:
    """K views of every sample of ``batch`` (see the module docstring).

    Parameters
    ----------
    world : World
        The world ``batch`` was sampled from.
    batch : Batch
        N >= 2 samples, the shared latents.
    views : list of lists of str
        ``S_k`` for each view: the factors it shows of the shared sample (K >= 2 views).
    hidden : {"fixed", "resample"}, default "fixed"
        What a view shows of the other factors: one value (the middle of the factor's range, snapped to its
        grid), or the values of another sample of the batch (a random permutation without fixed points per view).
    seed : int or numpy Generator
        Seeds the other samples (``"resample"``) and the views' rendering seeds (random renderers).

    Returns
    -------
    MultiViewBatch
        ``views`` K arrays (N, C, H, W), the shared ``factors`` (N, F), and ``view_factors`` (K, N, F).
    """
    from latentscm.worlds.base import check_world_and_batch

    owner = "multi_view_batch"
    check_world_and_batch(world, batch, owner)
    names = list(world.factor_names)
    if list(batch.factor_names) != names:
        raise ValueError(f"The 'batch' argument of {owner} has factors {list(batch.factor_names)}, and world "
                         f"{world.name!r} has {names}: give a batch sampled from the world.")
    views = check_views(views, "views", owner, names)
    hidden = check_choice(hidden, "hidden", owner, HIDDEN)
    n = len(batch)
    if hidden == "resample" and n < 2:
        raise ValueError(f"The 'hidden' argument of {owner} is 'resample', which shows each view's hidden factors at "
                         f"another sample's values; the batch has {n} sample(s): give at least two.")
    rng = as_generator(seed)
    factors = np.asarray(batch.factors, dtype=np.float64)
    middle = np.array([float(world.spec(name).snap((world.spec(name).low + world.spec(name).high) / 2.0))
                       for name in names])
    rendered, view_factors = [], np.empty((len(views), n, len(names)))
    for k, view in enumerate(views):
        keep = np.array([name in view for name in names])
        values = factors.copy()
        if hidden == "fixed":
            values[:, ~keep] = middle[~keep]
        else:
            values[:, ~keep] = factors[_derangement(n, rng)][:, ~keep]
        seeds = rng.integers(0, 2**62, size=n, dtype=np.int64) if world.render_random else None
        rendered.append(np.asarray(world.render(values, render_seeds=seeds), dtype=np.float32))
        view_factors[k] = values
    return MultiViewBatch(rendered, factors, view_factors, tuple(names), tuple(tuple(v) for v in views))
