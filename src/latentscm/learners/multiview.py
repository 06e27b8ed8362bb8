"""Multi-view causal representation learning: one encoder per view, aligned on what sets of views share.

Reimplemented from Yao, Xu, Lachapelle, Magliacane, Taslakian, Martius, von Kügelgen & Locatello
(ICLR 2024), "Multi-view causal representation learning with partial observability" (official code
CausalLearningAI/multiview-crl, ``main_numerical.py`` and ``losses.py``, read for the setup and the
loss; no code is copied).

**Data.** K views of each sample, view ``k`` showing the latents ``S_k`` (``views``: their names);
from a World, :func:`latentscm.worlds.views.multi_view_batch` renders them, or bring
:class:`~latentscm.data.MultiViews`. A set of views ``V`` shares the *content block*
``C_V = ∩_{k in V} S_k``.

**Theorem (their 3.2, with the identifiability algebra of their section 3.3).** View-specific
encoders ``g_k`` whose ``C_V`` units agree across the views of ``V`` (alignment) while their
distribution keeps maximal entropy block-identify ``C_V`` from every view of ``V``: those units are
an invertible function of the block's latents and of nothing else. Blocks of several sets share
units here, so intersections of blocks are read off single units.

**Codes.** One unit (*slot*) per latent that some aligned set of views shares
(:func:`~latentscm.worlds.views.view_slots`), in the order the views list them; ``latent_dim`` is
their number. Each view's encoder outputs every slot, and the loss for set ``V`` reads the slots of
``C_V`` (the official "ground truth" content selection: block sizes known, one unit per latent, the
same unit in every block holding that latent). ``encode(x, view=k)`` is view ``k``'s encoder (its
slots outside the blocks of its sets, :meth:`~MultiViewCRL.view_units`, are untrained); ``encode(x)``
reads each slot with the first view trained on it, so every unit of the code is trained, and
``encode_views(views)`` does so from each sample's own views (every unit from the observations its
encoder was trained on: what :func:`latentscm.metrics.evaluate` scores).
``shared_encoder=True`` uses one encoder for all views (the official ``--shared-encoder``; all views
here have one observation space).

**Loss.** For every aligned set ``V`` (``subsets``; default: every set of two or more views that
shares a latent) and every two views ``i < j`` of it, SimCLR's NT-Xent
(:func:`~latentscm.learners.contrastive.nt_xent`) between ``g_i(x_i)[C_V]`` and ``g_j(x_j)[C_V]``: each
of the 2B codes is an anchor, its other view the positive, the 2B - 2 codes of other samples the
negatives (InfoNCE's alignment and entropy terms). A set's loss is the mean over its view pairs and
the total the sum over sets. The official numerical loss instead compares consecutive views of a set
and draws its negatives from a second, independent batch; the pairwise form is the official
multimodal one (``infonce_base_loss``).

There is no decoder (:class:`~latentscm.learners.encoder_only.EncoderOnly`).
:func:`latentscm.metrics.multi_view_r2` is the paper's evaluation: the held-out R² of every latent
from each set's block of each of its views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number
from latentscm.learners.base import Learner, StepOutput
from latentscm.learners.contrastive import ENCODERS, SIMILARITIES, make_encoder, nt_xent, uses_mlp_encoder
from latentscm.learners.encoder_only import EncoderOnly
from latentscm.worlds.views import HIDDEN, check_view_subsets, check_views, view_atoms, view_blocks, view_slots

__all__ = ["MultiViewCRL"]


class _ViewEncoders(nn.Module):
    """One encoder per view (or one shared): view ``k``'s images (N, C, H, W) -> codes (N, latent_dim)."""

    def __init__(self, encoders: list[nn.Module], n_views: int):
        super().__init__()
        self.encoders = nn.ModuleList(encoders)
        self.n_views = n_views

    def forward(self, images: torch.Tensor, view: int) -> torch.Tensor:
        """(N, C, H, W) of view ``view`` -> (N, latent_dim)."""
        return self.encoders[view if len(self.encoders) > 1 else 0](images)


class MultiViewCRL(EncoderOnly, Learner):
    """One encoder per view, trained by InfoNCE to agree on what sets of views share (module docstring).

    Parameters
    ----------
    views : list of lists of str
        ``S_k`` for each of the K >= 2 views: the factors it shows (from a World, factor names; with
        :class:`~latentscm.data.MultiViews`, labels of latents, the same label in views that share it).
    subsets : list of lists of int or None, default None
        The sets of views to align, as lists of two or more view indices, each sharing a factor.
        ``None``: every such set (``2^K - K - 1`` at most).
    hidden : {"fixed", "resample"}, default "fixed"
        What a World's view shows of the factors outside its list: held at the middle of their range
        (``x_k = f_k(z_{S_k})``, the paper's setup) or another sample's values (latents private to the
        view); see :mod:`latentscm.worlds.views`. Unused with MultiViews.
    similarity : {"l2", "l1"}, default "l2"
        The InfoNCE similarity (:func:`~latentscm.learners.contrastive.pairwise_similarity`); cosine is refused (it
        would drop one latent of each block, which has one unit per latent).
    temperature : float, default 1.0
        Divides the similarities (> 0).
    shared_encoder : bool, default False
        One encoder for every view instead of one per view.
    encoder : {"auto", "conv", "mlp"}, default "auto"
        ``"auto"``: an MLP on observations of shape (C, 1, 1) (vectors), the convolutional encoder on images.
    depth : int, default 4
        Hidden layers of the MLP encoder (>= 1).
    channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`. A batch holds ``batch_size`` samples, each seen in
        every view.
    """

    dense_layers = False  # its networks read hidden_dim as one width

    name = "multiview"
    uses_views: ClassVar[bool] = True
    encoder_only_reason: ClassVar[str] = "a multi-view contrastive learner trains encoders only"

    def __init__(self, *, views: Sequence[Sequence[str]] | None = None, subsets: Sequence[Sequence[int]] | None = None,
                 hidden: str = "fixed", similarity: str = "l2", temperature: float = 1.0,
                 shared_encoder: bool = False, encoder: str = "auto", depth: int = 4,
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 256, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.views = views
        self.subsets = subsets
        self.hidden = hidden
        self.similarity = similarity
        self.temperature = temperature
        self.shared_encoder = shared_encoder
        self.encoder = encoder
        self.depth = depth
        super().__init__(latent_dim=None, channels=channels, hidden_dim=hidden_dim, lr=lr, batch_size=batch_size,
                         steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        if self.views is not None:
            self.views = check_views(self.views, "views", owner)
            self.subsets = [list(s) for s in check_view_subsets(self.subsets, self.views, "subsets", owner)] \
                if self.subsets is not None else None
        elif self.subsets is not None:
            raise ValueError(f"The 'subsets' parameter of {owner} indexes the views, and 'views' is None; give views.")
        self.hidden = check_choice(self.hidden, "hidden", owner, HIDDEN)
        if self.similarity == "cosine":  # a block of k units on the sphere keeps k - 1 of its k latents
            raise ValueError(f"The 'similarity' parameter of {owner} is 'cosine', which puts each block's codes on the "
                             f"unit sphere: with one unit per latent, a block of k latents keeps k - 1 of them (a "
                             f"one-latent block only its sign). Use 'l2' or 'l1'.")
        self.similarity = check_choice(self.similarity, "similarity", owner, SIMILARITIES)
        self.temperature = check_number(self.temperature, "temperature", owner, low=0, low_inclusive=False)
        if not isinstance(self.shared_encoder, (bool, np.bool_)):
            raise TypeError(f"The 'shared_encoder' parameter of {owner} must be True or False. "
                            f"Got {self.shared_encoder!r}.")
        self.shared_encoder = bool(self.shared_encoder)
        self.encoder = check_choice(self.encoder, "encoder", owner, ENCODERS)
        self.depth = check_number(self.depth, "depth", owner, low=1, integer=True)
        if self.batch_size < 2:  # one sample has no negative: the loss is 0 and nothing is learned
            raise ValueError(f"The 'batch_size' parameter of {owner} must be at least 2 (the other samples of a batch "
                             f"are each anchor's negatives). Got {self.batch_size}.")

    # ------------------------------------------------------------------ structure
    def _structure(self) -> tuple[list[list[str]], list[tuple[int, ...]], list[str]]:
        """(views, aligned sets, slots), from the parameters (kept until ``views`` or ``subsets`` change)."""
        owner = type(self).__name__
        if self.views is None:
            raise ValueError(f"The 'views' parameter of {owner} is None; give the factors each view shows, e.g. "
                             f"views=[['posX', 'posY', 'shape'], ['posX', 'posY', 'scale']].")
        key = repr((self.views, self.subsets))
        cached = getattr(self, "_structure_cache", None)
        if cached is None or cached[0] != key:
            subsets = check_view_subsets(self.subsets, self.views, "subsets", owner)
            cached = (key, ([list(v) for v in self.views], subsets, view_slots(self.views, subsets)))
            self._structure_cache = cached
        return cached[1]

    def _unit_meaning(self) -> dict[str, Any]:
        """What the code units stand for: their latents, the view that reads each, and each view's trained units;
        the modules trained under one meaning are another model under another (see :meth:`check_saveable`)."""
        views = self._structure()[0]
        return {"slots": self.slots_, "readers": self.unit_readers(),
                "view_units": [self.view_units(k) for k in range(len(views))]}

    @property
    def blocks_(self) -> dict[tuple[int, ...], list[str]]:
        """Each aligned set of views -> its content block (the factors all its views show)."""
        views, subsets, _ = self._structure()
        return view_blocks(views, subsets)

    @property
    def atoms_(self) -> list[list[str]]:
        """The finest groups of latents the aligned sets identify (:func:`~latentscm.worlds.views.view_atoms`):
        intersections, complements and unions of the blocks; a one-latent group is identified alone."""
        views, subsets, _ = self._structure()
        return view_atoms(views, subsets)

    @property
    def slots_(self) -> list[str]:
        """The factor (label) each code unit stands for."""
        return self._structure()[2]

    def block_units(self, subset: Sequence[int]) -> list[int]:
        """The code units of the content block of the aligned set ``subset`` (view indices)."""
        views = self._structure()[0]
        if isinstance(subset, (str, bytes)) or not isinstance(subset, Sequence):
            raise ValueError(f"The 'subset' argument of {type(self).__name__}.block_units must be a list of view "
                             f"indices. Got {subset!r}.")
        key = tuple(sorted(self._check_view(i, len(views)) for i in subset))
        blocks = self.blocks_
        if key not in blocks:
            raise ValueError(f"{type(self).__name__}.block_units: the views {list(key)} are not an aligned set; the "
                             f"aligned sets are {[list(s) for s in blocks]}.")
        slots = self.slots_
        return [slots.index(label) for label in blocks[key]]

    def view_units(self, view: int) -> list[int]:
        """The code units view ``view``'s encoder is trained on: the latents of the blocks of the aligned sets it
        belongs to (its other outputs are untrained); every unit with ``shared_encoder``."""
        views, subsets, slots = self._structure()
        view = self._check_view(view, len(views))
        if self.shared_encoder:  # one encoder for every view: every unit is trained
            return list(range(len(slots)))
        trained = {label for subset, block in view_blocks(views, subsets).items() if view in subset for label in block}
        return [u for u, label in enumerate(slots) if label in trained]

    def unit_readers(self) -> list[int]:
        """For each code unit, the view that :meth:`encode` reads it with: the first view trained on it."""
        views, subsets, slots = self._structure()
        blocks = view_blocks(views, subsets)
        return [min(min(subset) for subset, block in blocks.items() if label in block) for label in slots]

    def _check_view(self, view: Any, n_views: int) -> int:
        if isinstance(view, bool) or not isinstance(view, (int, np.integer)) or not 0 <= int(view) < n_views:
            raise ValueError(f"The 'view' argument of {type(self).__name__} must be a view index from 0 to "
                             f"{n_views - 1}. Got {view!r}.")
        return int(view)

    # ------------------------------------------------------------------ modules
    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return True

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        return len(self._structure()[2])

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder",)

    def _on_training_set(self, training_set: Any) -> None:
        owner = type(self).__name__
        views, _, _ = self._structure()
        if training_set.factor_names:  # a World's: the views name its factors
            check_views(views, "views", owner, list(training_set.factor_names))
        present = 1 + (0 if training_set.views is None else training_set.views.shape[1])
        if present != len(views):
            raise ValueError(f"{owner}: 'views' lists {len(views)} views, and the training data have {present}.")

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "units": self._unit_meaning()}

    def _load_extra_state(self, state: Any) -> None:
        super()._load_extra_state(state)
        saved = state.get("units")
        if saved is not None and saved != self._unit_meaning():
            raise ValueError(f"{type(self).__name__}: the saved code units stand for {saved['slots']} (read by views "
                             f"{saved['readers']}), and views={self.views!r}, subsets={self.subsets!r} give "
                             f"{self.slots_} (read by views {self.unit_readers()}); give the fit's views and subsets.")

    def _build(self, image_shape: Sequence[int], *, n_factors: int | None = None,
               device: torch.device | str | None = None) -> None:
        super()._build(image_shape, n_factors=n_factors, device=device)
        self._built_units = self._unit_meaning()

    def check_saveable(self, state: Any = None) -> None:
        """As :meth:`Learner.check_saveable`, and refuse ``views`` or ``subsets`` changed after fit so that a unit
        stands for another latent, is read by another view, or a view's encoder is used on units it was not trained
        on (the same shapes would load, as another model)."""
        super().check_saveable(state)
        built = getattr(self, "_built_units", None)
        if built is not None and built != self._unit_meaning():
            raise ValueError(f"{type(self).__name__} cannot be saved: set_params changed views or subsets after fit, "
                             f"and the code units no longer mean what they were trained for (at fit: "
                             f"{built['slots']} read by views {built['readers']}; now {self.slots_} read by views "
                             f"{self.unit_readers()}). Set them back, or fit again, before saving.")

    def uses_mlp(self, image_shape: Sequence[int]) -> bool:
        """Whether observations of shape ``image_shape`` (C, H, W) get the MLP encoder."""
        return uses_mlp_encoder(self.encoder, image_shape)

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, nn.Module]:
        n_views = len(self._structure()[0])
        encoders = [make_encoder(self.encoder, image_shape, latent_dim, depth=self.depth, hidden_dim=self.hidden_dim,
                                 channels=self.channels) for _ in range(1 if self.shared_encoder else n_views)]
        return {"encoder": _ViewEncoders(encoders, n_views)}

    # ------------------------------------------------------------------ codes
    def encode(self, x: Any, *, sample: bool = False, seed: int | None = None, view: int | None = None) -> np.ndarray:
        """Codes (N, latent_dim) float32 of images ``x`` (N, C, H, W) (or a Batch).

        ``view=None``: each unit read by the first view trained on it (:meth:`unit_readers`: every unit trained);
        ``view=k``: view ``k``'s encoder (units outside :meth:`view_units` untrained). Codes are
        deterministic (``sample`` and ``seed`` change nothing)."""
        self._check_fitted()
        if view is not None:
            view = self._check_view(view, len(self._structure()[0]))
        images = self._images_tensor(x, "encode")
        parts = self._batched(images, lambda b: self._codes(b, view).cpu())
        return torch.cat(parts).numpy().astype(np.float32, copy=False)

    def encode_views(self, views: Any) -> np.ndarray:
        """The code (N, latent_dim) float32 of N multi-view samples: each unit read by its reader view
        (:meth:`unit_readers`) from that view's images. ``views``: K arrays (N, C, H, W), one per view (a
        :class:`~latentscm.data.MultiViews`, or the ``views`` of a :class:`~latentscm.worlds.views.MultiViewBatch`),
        so every unit is read from the observations its encoder was trained on. Every view is checked (finite, in
        [0, 1], of the fitted shape, one image per sample), also those no unit is read from."""
        from latentscm.data.multi_view import MultiViews

        self._check_fitted()
        owner = f"{type(self).__name__}.encode_views"
        arrays = views.views if isinstance(views, MultiViews) else views
        n_views = len(self._structure()[0])
        if isinstance(arrays, np.ndarray) or not isinstance(arrays, (list, tuple)) or len(arrays) != n_views:
            raise ValueError(f"The 'views' argument of {owner} must be a list of the {n_views} views' images "
                             f"(N, C, H, W). Got "
                             f"{len(arrays) if isinstance(arrays, (list, tuple)) else type(arrays).__name__}.")
        tensors = [self._images_tensor(array, "encode_views", argument=f"views[{k}]") for k, array in enumerate(arrays)]
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"The 'views' argument of {owner} must hold one image per sample in every view; the views "
                             f"have {sizes} images.")
        readers = self.unit_readers()
        codes = np.empty((sizes[0], len(readers)), dtype=np.float32)
        for k in sorted(set(readers)):
            parts = self._batched(tensors[k], lambda b, k=k: self.encoder_(b, k).cpu())
            units = [u for u, reader in enumerate(readers) if reader == k]
            codes[:, units] = torch.cat(parts).numpy()[:, units]
        return codes

    def _codes(self, images: torch.Tensor, view: int | None) -> torch.Tensor:
        if view is not None:
            return self.encoder_(images, view)
        readers = self.unit_readers()
        codes = torch.empty(images.shape[0], len(readers), device=images.device)
        for k in sorted(set(readers)):
            units = [u for u, reader in enumerate(readers) if reader == k]
            codes[:, units] = self.encoder_(images, k)[:, units]
        return codes

    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        return self._codes(images, None)

    # ------------------------------------------------------------------ training
    def loss(self, images: torch.Tensor, step: int, *, views: torch.Tensor) -> StepOutput:
        """The summed NT-Xent of every aligned set. images (B, C, H, W): view 0; views (B, K - 1, C, H, W)."""
        encoder = self._net("encoder")
        all_views = [images] + [views[:, k] for k in range(views.shape[1])]
        views_shown, subsets, slots = self._structure()
        codes = [encoder(x, k) for k, x in enumerate(all_views)]
        blocks = view_blocks(views_shown, subsets)
        # a view in no aligned set adds nothing, yet its encoder must reach the loss (DistributedDataParallel
        # expects every parameter in the graph): at weight 0
        total = sum((0.0 * codes[k].sum() for k in range(len(codes)) if not any(k in s for s in subsets)),
                    images.new_zeros(()))
        accuracies, alignments = [], []
        for subset in subsets:
            units = [slots.index(label) for label in blocks[subset]]
            pairs = [(i, j) for a, i in enumerate(subset) for j in subset[a + 1:]]
            part = images.new_zeros(())
            for i, j in pairs:
                loss, accuracy = nt_xent(codes[i][:, units], codes[j][:, units], similarity=self.similarity,
                                         temperature=self.temperature)
                part = part + loss
                accuracies.append(accuracy)
                with torch.no_grad():
                    alignments.append((codes[i][:, units] - codes[j][:, units]).pow(2).sum(1).mean())
            total = total + part / len(pairs)
        return StepOutput({"model": total}, {"loss": total, "accuracy": torch.stack(accuracies).mean(),
                                             "alignment": torch.stack(alignments).mean()})
