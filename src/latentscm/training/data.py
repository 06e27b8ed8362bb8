"""Training data: pre-rendered once into one tensor, then minibatches chosen by (seed, step).

Rendering a World on every step would make data loading the bottleneck on a 2-core machine,
so :func:`as_training_set` renders ``n_samples`` images once (seeded) and :class:`ShardedBatches`
picks minibatches by indexing that tensor. The order is a fresh permutation per epoch drawn
from ``(seed, epoch)``, split across processes like ``DistributedSampler`` (rank ``r`` of ``W``
takes ``perm[r::W]``), so the batch of any step can be recomputed: resuming needs no sampler
state and gives exactly the batches an uninterrupted run would have seen.

A dataset written by ``World.generate`` (a :class:`~latentscm.worlds.store.StoredDataset`) is not
converted: the training tensor holds the store's uint8 encoding (image = value / 255), memory-mapped
copy-on-write from the verified file, and :meth:`ShardedBatches.batch` turns each minibatch into
float32 through a 256-entry table holding exactly ``np.float32(v) / np.float32(255)`` — the values
``StoredDataset.batch`` returns — so training reads a quarter of the bytes (and keeps no float32
copy of the whole set) and gives bit-identical results. Float32 input (a World, a Batch, an
array) is used as is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from latentscm._validation import check_array, check_number

__all__ = ["TrainingSet", "as_training_set", "multi_view_training_set", "training_mixture", "ShardedBatches",
           "DATA_SEED_OFFSET", "PAIR_SEED_OFFSET", "VIEW_SEED_OFFSET",
           "temporal_training_set", "SUMMARY_ROWS", "float_images", "content_hash",
           "spread_rows"]

#: Added to the learner's seed for the rendering of training images, so the data and the
#: initialisation do not share a random stream.
DATA_SEED_OFFSET = 1_000_003
#: Added to the learner's seed for the partners of counterfactual pairs (which factors change, and to what).
PAIR_SEED_OFFSET = 2_000_029
#: Added to the learner's seed for the views of multi-view data (the other samples and rendering seeds of each view).
VIEW_SEED_OFFSET = 3_000_017


#: The float32 image of every uint8 store value: ``np.float32(v) / np.float32(255)`` (what
#: ``StoredDataset.batch`` computes), so converting through it is exact on every device.
_UINT8_TO_FLOAT = np.arange(256, dtype=np.float32) / np.float32(255.0)

#: Training images that statistics fitted after training see (a causal learner's aggregate prior, an
#: autoencoder's code statistics), spread over the whole set by :func:`spread_rows`.
SUMMARY_ROWS = 4096


def spread_rows(n: int, k: int | None = None) -> np.ndarray:
    """``min(n, k)`` increasing row indices (int64) spread evenly over ``range(n)``; every row when
    ``n <= k`` (``k``: :data:`SUMMARY_ROWS` when ``None``). Unlike the first ``k`` rows, they cover
    data stored group by group (a multi-domain training set is stored domain by domain)."""
    return np.linspace(0, n - 1, min(n, SUMMARY_ROWS if k is None else k)).round().astype(np.int64)


def float_images(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 in [0, 1]: uint8 store values (image = value / 255) are converted exactly
    as the store reads them; float32 tensors are returned unchanged (the same object).

    Parameters
    ----------
    images : torch.Tensor
        (N, C, H, W) uint8 or float32.

    Returns
    -------
    torch.Tensor
        (N, C, H, W) float32 on the device of ``images``.
    """
    if images.dtype != torch.uint8:
        return images
    table = torch.from_numpy(_UINT8_TO_FLOAT).to(images.device)
    return table[images.to(torch.int64)]


@dataclass
class TrainingSet:
    """Images (N, C, H, W) — float32 in [0, 1], or uint8 store values (image = value / 255) for a
    stored dataset (see :func:`float_images`) — optional factors (N, K), and where they came from."""

    images: np.ndarray
    factors: np.ndarray | None = None
    factor_names: tuple[str, ...] = ()
    source: dict[str, Any] = field(default_factory=dict)
    graph: Any = None  # the World's CausalGraph over the factors, when the data came from a World
    #: (N, K) bool: which factors were intervened on per image (interventional data), else None
    targets: np.ndarray | None = None
    #: (N,) int64: the domain (environment) index of each image (multi-domain data), else None
    domain: np.ndarray | None = None
    #: (N, C, H, W) float32: each image's partner in a counterfactual pair (weak supervision), else None
    pairs: np.ndarray | None = None
    #: (N,) int64: how many factors each pair differs in (intervened on, or moved with them; None when not known)
    pair_changed: np.ndarray | None = None
    #: (N, K - 1, C, H, W) float32: views 1 ... K - 1 of each sample (multi-view data; ``images`` is view 0), else None
    views: np.ndarray | None = None
    #: (N, C, H, W) float32: the frame after each image (temporal transitions), else None
    next_images: np.ndarray | None = None
    #: (N, V) bool: the causal variables intervened on between each image and the next (temporal data; the
    #: training set's ``factor_names`` are then the V variables), else None
    next_targets: np.ndarray | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]


def _checked_images(images: Any, owner: str, name: str = "data") -> np.ndarray:
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    array = check_array(images, name, owner, dtype=np.float32, ndim=4)
    low, high = float(array.min()), float(array.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(f"The {name!r} argument of {owner} must hold images in [0, 1]. Got values in "
                         f"[{low:g}, {high:g}].")
    return np.ascontiguousarray(array)


def _targets_or_none(batch: Any) -> np.ndarray | None:
    targets = getattr(batch, "targets", None)
    return None if targets is None or not np.any(targets) else np.asarray(targets, dtype=bool)


def training_mixture(data: Any, regimes: Any, interventional_fraction: float | None, owner: str):
    """The regime mixture to draw training data from (``None``: observational data only).

    ``regimes`` (a Regime, a RegimeMixture or a list of regimes) and ``interventional_fraction``
    (the share of interventional samples, spread equally over ``regimes`` or, by default, over
    one random-value ``do`` regime per factor) need a World to sample from.
    """
    from latentscm.worlds.base import World
    from latentscm.worlds.regimes import as_mixture, interventional_mixture

    if interventional_fraction is not None:
        interventional_fraction = check_number(interventional_fraction, "interventional_fraction", owner, low=0,
                                               high=1)
    if regimes is None and not interventional_fraction:
        return None
    if not isinstance(data, World):
        raise ValueError(f"{owner}: 'regimes' and 'interventional_fraction' draw interventional data from a World; "
                         f"the data given is a {type(data).__name__} (sample it with world.sample(..., regime=...) "
                         f"and pass the Batch instead).")
    if interventional_fraction is None:
        mixture = as_mixture(regimes)
        mixture.check(data)
        return mixture
    listed = None if regimes is None else list(as_mixture(regimes).regimes)
    return interventional_mixture(data, interventional_fraction, regimes=listed)


def _world_source(world: Any, n: int, seed: int) -> dict[str, Any]:
    """The run config's record of ``n`` samples of ``world`` drawn with ``seed + DATA_SEED_OFFSET``."""
    return {"kind": "world", "world": world.name, "class": f"{type(world).__module__}:{type(world).__qualname__}",
            "options": _jsonable_options(world.options()), "n_samples": int(n), "seed": int(seed + DATA_SEED_OFFSET)}


def multi_view_training_set(data: Any, views: Any, *, hidden: str, n_samples: int | None, seed: int, owner: str,
                            regimes: Any = None, interventional_fraction: float | None = None) -> TrainingSet:
    """The training set of a multi-view learner whose ``views`` list the factors (labels) each view shows.

    :class:`~latentscm.data.MultiViews` (your own) are used whole and must have ``len(views)`` views. A World
    renders ``n_samples`` samples (default 10,000; seed ``seed + DATA_SEED_OFFSET``) and their views
    (:func:`~latentscm.worlds.views.multi_view_batch` with ``hidden``, seeded with ``seed + VIEW_SEED_OFFSET``);
    ``factors`` are the shared sample's. Either way ``images`` is view 0 and ``views`` stacks the others.
    """
    from latentscm.data.multi_view import MultiViews
    from latentscm.worlds.base import World
    from latentscm.worlds.views import check_views, multi_view_batch

    if regimes is not None or interventional_fraction:
        raise ValueError(f"{owner}: multi-view data are drawn from the world's observational distribution; "
                         f"'regimes' and 'interventional_fraction' are not supported with views.")
    if isinstance(data, TrainingSet):
        if data.views is None or data.views.shape[1] != len(views) - 1:
            raise ValueError(f"{owner}: this learner trains on {len(views)} views, and the TrainingSet given has "
                             f"{1 if data.views is None else data.views.shape[1] + 1}.")
        return data
    if isinstance(data, MultiViews):
        if data.n_views != len(views):
            raise ValueError(f"{owner}: the learner's 'views' lists {len(views)} views, and the MultiViews given have "
                             f"{data.n_views}; give one list of latents per view.")
        if n_samples is not None and n_samples != len(data):
            raise ValueError(f"The 'n_samples' argument of {owner} renders images from a World; these views are used "
                             f"whole ({len(data)} scenes). Got n_samples={n_samples!r}; slice the data instead.")
        arrays = [_checked_images(view, owner, f"MultiViews.views[{k}]") for k, view in enumerate(data.views)]
        source = {"kind": "views", "n_samples": len(data), "n_views": len(arrays), "sha256": content_hash(*arrays)}
        return TrainingSet(arrays[0], None, (), source, views=np.ascontiguousarray(np.stack(arrays[1:], axis=1)))
    if not isinstance(data, World):
        raise ValueError(f"{owner}: this learner trains on several views of each sample: give a World (its views "
                         f"are rendered) or latentscm.data.MultiViews. The data given is a {type(data).__name__}.")
    if data.n_domains > 1:
        raise ValueError(f"{owner}: world {data.name!r} has {data.n_domains} domains; multi-view data are drawn from "
                         f"one distribution (use a world without domains).")
    views = check_views(views, "views", owner, data.factor_names)  # before anything is rendered
    n = 10_000 if n_samples is None else check_number(n_samples, "n_samples", owner, low=2, integer=True)
    batch = data.sample(int(n), seed=seed + DATA_SEED_OFFSET)
    drawn = multi_view_batch(data, batch, views, hidden=hidden, seed=seed + VIEW_SEED_OFFSET)
    source = _world_source(data, n, seed)
    source["views"] = {"sets": views, "hidden": hidden, "seed": int(seed + VIEW_SEED_OFFSET)}
    images = [_checked_images(view, owner) for view in drawn.views]
    return TrainingSet(images[0], np.asarray(drawn.factors, np.float64), tuple(drawn.factor_names), source,
                       graph=data.graph, views=np.ascontiguousarray(np.stack(images[1:], axis=1)))


def temporal_training_set(data: Any, *, n_samples: int | None, seed: int, owner: str, regimes: Any = None,
                          interventional_fraction: float | None = None) -> TrainingSet:
    """The training set of a temporal learner: transitions ``(x^t, x^{t+1}, I^{t+1})``.

    :class:`~latentscm.data.TemporalTransitions` (your own) are used whole. A
    :class:`~latentscm.worlds.temporal.TemporalWorld` draws ``n_samples`` transitions (default 10,000) from
    sequences of its ``sequence_length`` frames, seeded with ``seed + DATA_SEED_OFFSET``; the run config records
    the process (``data.temporal``), so a resumed run redraws the same transitions. ``factors`` are the causal
    variables' values at ``x^t`` and ``factor_names`` the variables.
    """
    from latentscm.data.transitions import TemporalTransitions
    from latentscm.worlds.temporal import TemporalWorld

    if regimes is not None or interventional_fraction:
        raise ValueError(f"{owner}: 'regimes' and 'interventional_fraction' are not supported with temporal "
                         f"transitions; the TemporalWorld's 'intervention_prob' and 'targets' set the interventions.")
    if isinstance(data, TrainingSet):
        if data.next_images is None or data.next_targets is None:
            raise ValueError(f"{owner}: this learner trains on temporal transitions, and the TrainingSet given has "
                             f"none.")
        return data
    if isinstance(data, TemporalTransitions):
        if n_samples is not None and n_samples != len(data):
            raise ValueError(f"The 'n_samples' argument of {owner} draws transitions from a TemporalWorld; these "
                             f"transitions are used whole ({len(data)}). Got n_samples={n_samples!r}; slice the data "
                             f"instead.")
        first = _checked_images(data.images, owner, "images")
        second = _checked_images(data.next_images, owner, "next_images")
        source = {"kind": "transitions", "n_samples": len(data), "variables": list(data.variables),
                  "sha256": content_hash(first, second, data.targets)}
        return TrainingSet(first, None, tuple(data.variables), source, next_images=second,
                           next_targets=np.ascontiguousarray(data.targets))
    if not isinstance(data, TemporalWorld):
        raise ValueError(f"{owner}: this learner trains on transitions of a temporal process: give a TemporalWorld "
                         f"(latentscm.worlds.TemporalWorld(world)) or TemporalTransitions. Got {type(data).__name__}.")
    n = 10_000 if n_samples is None else check_number(n_samples, "n_samples", owner, low=1, integer=True)
    first, second, targets, factors = data.transitions(n, seed=seed + DATA_SEED_OFFSET)
    columns = [data.factor_names.index(v) for v in data.variables]
    source = {**_world_source(data.world, n, seed), "temporal": data.describe()}
    return TrainingSet(_checked_images(first, owner), np.asarray(factors[:, columns], np.float64),
                       tuple(data.variables), source, next_images=_checked_images(second, owner, "next_images"),
                       next_targets=np.ascontiguousarray(targets))


def as_training_set(data: Any, *, n_samples: int | None, seed: int, owner: str, regimes: Any = None,
                    interventional_fraction: float | None = None, pairs: int | str | None = None,
                    paired: bool = False, pairs_share: bool = True, pair_factors: Any = None,
                    pair_nudge: float | None = None, views: Any = None, views_hidden: str = "fixed",
                    transitions: bool = False) -> TrainingSet:
    """Turn a World, a Batch or an image array (N, C, H, W) into a :class:`TrainingSet`.

    A World renders ``n_samples`` images (default 10,000) with seed ``seed + DATA_SEED_OFFSET``,
    from the regime mixture given by ``regimes`` / ``interventional_fraction`` (see
    :func:`training_mixture`; recorded in ``source``, so in the run config). Other data are used
    whole: for them ``n_samples`` must be ``None`` or their length (a smaller number would be
    ignored; slice the data instead). A Batch keeps its ``targets``. NaN, infinite, out-of-range or
    wrongly shaped input raises ``ValueError``. A multi-domain World (``world.with_domains``) renders
    ``n_samples // n_domains`` images from each domain with ``sample_domains`` (each image keeps its
    domain index) and records its :class:`~latentscm.worlds.domains.DomainShift` in ``source``.
    ``paired`` (a learner that trains on pairs; implied by ``pairs``) takes the pairs of
    :class:`~latentscm.data.ImagePairs` (your own, used whole) or, from a World, renders each image's
    exact counterfactual partner with ``pairs`` factors (a number, or ``"random"``) changed
    (:func:`~latentscm.worlds.pairs.counterfactual_pairs`, seeded with ``seed + PAIR_SEED_OFFSET``);
    ``pair_changed`` then counts the factors whose values differ in each pair. ``pairs_share=False``
    drops the rule that every pair shares a factor (the learner's ``pairs_share_a_factor``).
    ``pair_factors`` (the learner's ``style_factors``) restricts the changed factors to those named
    (``counterfactual_pairs(..., among=...)``); ``pair_nudge`` (the learner's) moves each changed factor a little
    (``counterfactual_pairs(..., nudge=...)``).
    ``views`` (a multi-view learner's: the factors each view shows) takes :class:`~latentscm.data.MultiViews` or
    renders the views of a World's samples (:func:`multi_view_training_set`).
    ``transitions`` (a temporal learner) takes a TemporalWorld or TemporalTransitions
    (:func:`temporal_training_set`).
    """
    from latentscm.data.transitions import TemporalTransitions
    from latentscm.worlds.base import Batch, World
    from latentscm.worlds.temporal import TemporalWorld

    if transitions:
        return temporal_training_set(data, n_samples=n_samples, seed=seed, owner=owner, regimes=regimes,
                                     interventional_fraction=interventional_fraction)
    if isinstance(data, (TemporalWorld, TemporalTransitions)):
        raise ValueError(f"{owner}: the data are {type(data).__name__}, and this learner does not train on temporal "
                         f"transitions; give it frames (e.g. the TemporalWorld's .world, or the transitions' images).")

    if views is not None:
        return multi_view_training_set(data, views, hidden=views_hidden, n_samples=n_samples, seed=seed, owner=owner,
                                       regimes=regimes, interventional_fraction=interventional_fraction)
    from latentscm.data.multi_view import MultiViews

    if isinstance(data, MultiViews):
        raise ValueError(f"{owner}: the data are MultiViews, and this learner does not train on several views (a "
                         f"multi-view learner needs its 'views': the latents each view shows); pass one view alone.")
    paired = paired or pairs is not None
    if isinstance(data, TrainingSet):
        if paired and data.pairs is None:
            raise ValueError(f"{owner}: this learner trains on pairs, and the TrainingSet given has none.")
        return data
    from latentscm.data.pairs import ImagePairs

    if isinstance(data, ImagePairs):
        if not paired:
            raise ValueError(f"{owner}: the data are ImagePairs, and this learner does not train on pairs; pass "
                             f"ImagePairs.first alone.")
        if n_samples is not None and n_samples != len(data):
            raise ValueError(f"The 'n_samples' argument of {owner} renders images from a World; these pairs are used "
                             f"whole ({len(data)} pairs). Got n_samples={n_samples!r}; slice the data instead.")
        first, second = (_checked_images(data.first, owner, "ImagePairs.first"),
                         _checked_images(data.second, owner, "ImagePairs.second"))
        source = {"kind": "pairs", "n_samples": len(data), "sha256": content_hash(first, second, data.changed)}
        return TrainingSet(first, None, (), source, pairs=second, pair_changed=data.changed)
    if paired and not isinstance(data, World):
        raise ValueError(f"{owner}: this learner trains on pairs: give a World (each image's partner is rendered as "
                         f"its exact counterfactual) or latentscm.data.ImagePairs. The data given is a "
                         f"{type(data).__name__}.")
    mixture = training_mixture(data, regimes, interventional_fraction, owner)
    if n_samples is not None and not isinstance(data, World):
        length = len(data) if hasattr(data, "__len__") else None
        if length is not None and n_samples != length:
            raise ValueError(f"The 'n_samples' argument of {owner} renders images from a World; these data are used "
                             f"whole ({length} images). Got n_samples={n_samples!r}; slice the data instead.")
    if isinstance(data, World) and paired:  # before any image is rendered
        from latentscm.worlds.pairs import (
            changeable_factors,
            check_nudge,
            check_pair_changes,
            check_pair_factors,
            check_pair_pool,
        )

        if pairs is None:
            raise ValueError(f"{owner}: this learner trains on pairs and its 'pair_changes' is None; a World renders "
                             f"each image's partner with 'pair_changes' factors changed (a number, or 'random').")
        pool = check_pair_factors(data, pair_factors, "style_factors", owner)
        if pool is None:
            pairs = check_pair_changes(pairs, "pair_changes", owner, len(changeable_factors(data)), share=pairs_share)
        else:
            pairs = check_pair_changes(pairs, "pair_changes", owner)
            check_pair_pool(data, pool, pairs, share=pairs_share, name="style_factors", owner=owner,
                            changes_name="pair_changes")
        if pair_nudge is not None:
            check_nudge(data, changeable_factors(data) if pool is None else pool, pair_nudge, name="pair_nudge",
                        owner=owner, pool_name="style_factors")
    if isinstance(data, World):
        n = 10_000 if n_samples is None else check_number(n_samples, "n_samples", owner, low=1, integer=True)
        if data.n_domains > 1:  # every domain, equally (World.sample would draw domain 0 only)
            if n < data.n_domains:
                raise ValueError(f"The 'n_samples' argument of {owner} is {n}, fewer than the {data.n_domains} domains "
                                 f"of world {data.name!r}; give at least one image per domain.")
            n = n // data.n_domains * data.n_domains
            batch = data.sample_domains(n // data.n_domains, seed=seed + DATA_SEED_OFFSET, regime=mixture)
        else:
            batch = data.sample(int(n), seed=seed + DATA_SEED_OFFSET, regime=mixture)
        source = _world_source(data, n, seed)
        if data.domains is not None:
            source["domains"] = data.domains.describe()
        if mixture is not None:
            source["regimes"] = mixture.describe()
            source["interventional_fraction"] = round(1.0 - sum(
                f for r, f in zip(mixture.regimes, mixture.fractions) if r.observational), 12)
        partners = None
        if pairs is not None:
            from latentscm.worlds.pairs import counterfactual_pairs

            partners = counterfactual_pairs(data, batch, changes=pairs, seed=seed + PAIR_SEED_OFFSET, share=pairs_share,
                                            among=None if pair_factors is None else list(pair_factors),
                                            nudge=pair_nudge)
            source["pairs"] = {"changes": pairs, "seed": int(seed + PAIR_SEED_OFFSET)}
            if not pairs_share:  # recorded only where it departs from the default, so older configs read the same
                source["pairs"]["share"] = False
            if pair_factors is not None:
                source["pairs"]["among"] = list(pair_factors)
            if pair_nudge is not None:
                source["pairs"]["nudge"] = float(pair_nudge)
        return TrainingSet(_checked_images(batch.images, owner), np.asarray(batch.factors, np.float64),
                           tuple(batch.factor_names), source, graph=data.graph, targets=_targets_or_none(batch),
                           domain=np.asarray(batch.domain, np.int64),
                           pairs=None if partners is None else _checked_images(partners.images, owner),
                           pair_changed=None if partners is None else partners.changed.sum(axis=1).astype(np.int64))
    from latentscm.worlds.store import StoredDataset

    if isinstance(data, StoredDataset):
        # a dataset written once by World.generate: the world is rebuilt from its manifest (for
        # the graph and for resuming), the images are read from the verified store
        from latentscm.worlds import make

        manifest = data.manifest
        world = make(manifest["world"], **manifest["options"]) if "cache_key" not in manifest["options"] else None
        # factors, targets and domains only: the images stay uint8 (no float32 copy of the whole set)
        factors = np.asarray(data.factors, np.float64)
        targets = None if data.targets is None or not np.any(data.targets) else np.asarray(data.targets, dtype=bool)
        domain = None if data.domain is None else np.asarray(data.domain, np.int64)  # a multi-domain dataset's
        source = {"kind": "world", "world": manifest["world"], "options": dict(manifest["options"]),
                  "n_samples": len(data), "seed": manifest["seed"], "dataset": str(data.path),
                  "dataset_key": manifest["key"]}
        if "regimes" in manifest:
            source["regimes"] = manifest["regimes"]
        return TrainingSet(_stored_images(data, owner), factors, tuple(data.factor_names), source,
                           graph=None if world is None else world.graph, targets=targets, domain=domain)
    from latentscm.data.store import UserDataset

    if isinstance(data, UserDataset):
        # your own images (latentscm.data.import_data): uint8, memory-mapped from the verified
        # store like a stored world; the source and its content hash go into the run config so
        # that resuming re-imports it and notices a changed folder
        recorded = data.source
        # 'key' is the content key here; an .npz's array name (import_data(key=...)) is kept as 'array_key'
        array_key = recorded.pop("key", None)
        if array_key is not None:
            recorded["array_key"] = array_key
        source = {"kind": "data", "format": recorded.pop("kind"), **recorded, "key": data.key,
                  "dataset": str(data.path), "n_samples": len(data), "image_shape": list(data.image_shape)}
        return TrainingSet(_stored_images(data, owner), data.factors, data.factor_names, source)
    if isinstance(data, Batch):
        # labels as a World gives them: finite (a learner's label statistics would turn one NaN into a NaN factor)
        images, factors = _checked_images(data.images, owner), check_array(data.factors, "data.factors", owner,
                                                                           min_rows=0)
        targets, domain = _targets_or_none(data), np.asarray(data.domain, np.int64)
        source = {"kind": "batch", "n_samples": len(data), "sha256": content_hash(images, factors, domain, targets)}
        return TrainingSet(images, factors, tuple(data.factor_names), source, targets=targets, domain=domain)
    if isinstance(data, (str, bytes, dict)) or data is None:
        raise TypeError(f"The 'data' argument of {owner} must be a World, a Batch or images (N, C, H, W). "
                        f"Got {type(data).__name__}.")
    images = _checked_images(data, owner)
    return TrainingSet(images, None, (), {"kind": "array", "n_samples": int(images.shape[0]),
                                          "sha256": content_hash(images)})


def content_hash(*arrays: np.ndarray | None) -> str:
    """SHA-256 (hex) of the shapes, dtypes and bytes of ``arrays`` (``None`` entries count too).

    Recorded in the run config for in-memory data (a Batch: images, factors, domains, targets;
    an array: the images), which no recorded source can rebuild, so that resuming on other
    images or labels of the same size is refused.
    """
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none;")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.tobytes() if array.size == 0 else memoryview(array).cast("B"))  # empty: no bytes
    return digest.hexdigest()


def _stored_images(data: Any, owner: str) -> np.ndarray:
    """The uint8 images (N, C, H, W) of a verified stored dataset, memory-mapped copy-on-write: pages
    come from the file (shared, reclaimable), and the array is writable so torch can wrap it."""
    images = np.load(data.path / "images.npy", mmap_mode="c")
    if images.dtype != np.uint8 or images.shape != data.images.shape or images.ndim != 4:
        raise ValueError(f"{owner}: the stored images of '{data.path}' changed while being opened (expected uint8 "
                         f"{data.images.shape}, found {images.dtype} {images.shape}); generate the dataset again.")
    return images


def _jsonable_options(options: dict[str, Any]) -> dict[str, Any]:
    """World options as JSON values; anything else (graphs, mechanisms) is recorded by repr and
    marked, so ``latentscm resume`` can refuse to rebuild a world it cannot reproduce."""
    clean: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            clean[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (bool, int, float, str)) for v in value):
            clean[key] = list(value)
        else:
            clean[key] = {"__repr__": repr(value)}
    return clean


class ShardedBatches:
    """Minibatch ``step`` of this process's shard, as a tensor on the images' device.

    Parameters
    ----------
    images : torch.Tensor
        The whole training set (N, C, H, W) on the training device: float32, or uint8 store
        values converted per minibatch (:func:`float_images`).
    batch_size : int
        Images per process and step.
    seed : int
        Seeds the per-epoch permutations.
    rank, world_size : int, default 0 and 1
        This process and the number of processes.
    """

    def __init__(self, images: torch.Tensor, batch_size: int, seed: int, *, rank: int = 0, world_size: int = 1):
        self.images = images
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.rank = int(rank)
        self.world_size = int(world_size)
        n = int(images.shape[0])
        self.shard_size = n // self.world_size
        if self.shard_size < self.batch_size:
            raise ValueError(f"batch_size {self.batch_size} is larger than the {self.shard_size} training images "
                             f"per process ({n} images over {self.world_size} process(es)); use a smaller "
                             f"batch_size or more samples.")
        self.batches_per_epoch = self.shard_size // self.batch_size
        self._epoch = -1
        self._order: torch.Tensor | None = None

    def _epoch_order(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            n = int(self.images.shape[0])
            permutation = np.random.default_rng([self.seed, epoch]).permutation(n)
            # Equal shards (the remainder is dropped this epoch, like DistributedSampler(drop_last=True)).
            shard = permutation[: self.shard_size * self.world_size][self.rank::self.world_size]
            self._order = torch.from_numpy(shard.astype(np.int64)).to(self.images.device)
            self._epoch = epoch
        return self._order  # type: ignore[return-value]

    def indices(self, step: int) -> torch.Tensor:
        """Indices (batch_size,) into the training set for step ``step`` (0-based)."""
        epoch, position = divmod(int(step), self.batches_per_epoch)
        order = self._epoch_order(epoch)
        start = position * self.batch_size
        return order[start:start + self.batch_size]

    def batch(self, step: int) -> torch.Tensor:
        """Images (batch_size, C, H, W) float32 for step ``step``."""
        return float_images(self.images.index_select(0, self.indices(step)))
