"""Contrastive causal representation learning: an encoder trained on pairs that share their content.

Two results of the identifiability literature, reimplemented from the papers (the official code,
ysharma1126/ssl_identifiability and brendel-group/cl-ica, was read for the loss and the data model;
no code is copied):

- **Content isolation** (von Kügelgen, Sharma, Gresele, Brendel, Schölkopf, Besserve & Locatello,
  NeurIPS 2021, "Self-supervised learning with data augmentations provably isolates content from
  style"). The latents split into *content* ``c``, which an augmentation keeps, and *style* ``s``, of
  which it changes a random subset (style may depend on content: ``c -> s`` edges are allowed). An
  encoder ``g`` with as many outputs as there are content latents that matches the two views of
  each pair (``g(x) = g(x~)``) while keeping the entropy of ``g(x)`` at its maximum
  *block-identifies* content: ``g(x) = h(c)`` for an invertible ``h``, with no style left in it.
  InfoNCE with a distance similarity is that objective for many negatives (its alignment and
  uniformity terms; Wang & Isola 2020). Here the pairs are exact counterfactuals from a World
  (:func:`latentscm.worlds.pairs.counterfactual_pairs` with ``among=style_factors``): every other
  factor is content, unless it descends from a style factor.
- **Contrastive learning inverts the data generating process** (Zimmermann, Sharma, Schneider,
  Bethge & Brendel, ICML 2021). When *every* latent changes a little between the two views, with a
  conditional ``p(z~ | z) ~ exp(-||z - z~||_p / tau)``, InfoNCE with the matching ``L_p`` distance
  identifies the latents up to a permutation and signs (``p != 2``) or an orthogonal map (``p = 2``).
  ``similarity="l1"`` is that loss (the Laplace conditional); ``pair_nudge`` draws such pairs from a
  World (:func:`~latentscm.worlds.pairs.counterfactual_pairs` with ``nudge=``), or bring your own
  :class:`~latentscm.data.ImagePairs`.

**Loss.** SimCLR's NT-Xent (Chen et al. 2020) over a batch of B pairs ``(a_i, b_i) = (g(x_i), g(x~_i))``:
each of the 2B codes is the anchor of a softmax over the 2B - 1 others, its partner the positive,
``logit = sim(u, v) / temperature``, averaged over the 2B anchors. ``similarity``:

- ``"cosine"``: ``u.v / (|u| |v|)`` (SimCLR, and the paper's image experiments, on the sphere);
- ``"l2"``: ``-|u - v|^2`` (the numerical experiments of both papers; with the positive in the
  denominator, this is their ``LpSimCLRLoss`` with ``p = 2``, ``alpha = 0.5``, up to a constant);
- ``"l1"``: ``-|u - v|_1`` (Zimmermann et al.'s Laplace conditional).

**Encoder.** The disentanglement_lib convolutional encoder (:class:`~latentscm.nn.ConvEncoder`) on
images; on vector observations (images of shape (C, 1, 1), e.g. :class:`~latentscm.worlds.content_style.ContentStyle`)
an MLP of ``depth`` hidden layers of ``hidden_dim`` units with leaky ReLUs (slope 0.01), as the
papers' MLP encoders. Codes are the encoder's outputs (no projection head).

There is no decoder: ``decode``, ``reconstruct`` and ``sample`` raise, ``can_decode`` is False, and
:func:`latentscm.metrics.evaluate` scores the codes only. :func:`latentscm.metrics.content_style_r2` is the
papers' evaluation: the held-out nonlinear R² of each factor from the codes, content and style apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number
from latentscm.learners.base import Learner, StepOutput
from latentscm.learners.encoder_only import EncoderOnly
from latentscm.nn.conv import ConvEncoder
from latentscm.worlds.pairs import PAIR_CHANGES, check_pair_changes

__all__ = ["ContrastiveCRL", "SIMILARITIES", "ENCODERS", "nt_xent", "pairwise_similarity", "make_encoder",
           "uses_mlp_encoder"]

SIMILARITIES = ("cosine", "l2", "l1")
ENCODERS = ("auto", "conv", "mlp")


def pairwise_similarity(u: torch.Tensor, v: torch.Tensor, similarity: str) -> torch.Tensor:
    """(N, M) similarities of the rows of ``u`` (N, D) and ``v`` (M, D): cosine, ``-|u - v|^2`` or ``-|u - v|_1``."""
    if similarity == "cosine":
        return nn.functional.normalize(u, dim=1) @ nn.functional.normalize(v, dim=1).T
    if similarity == "l2":
        # |u|^2 + |v|^2 - 2 u.v, clamped at 0 against rounding (an exact zero on the diagonal of u with itself)
        return -(u.pow(2).sum(1, keepdim=True) + v.pow(2).sum(1) - 2.0 * u @ v.T).clamp_min(0.0)
    if similarity == "l1":
        return -torch.cdist(u, v, p=1.0)
    raise ValueError(f"Unknown similarity {similarity!r}; choose one of {', '.join(SIMILARITIES)}.")


def nt_xent(first: torch.Tensor, second: torch.Tensor, *, similarity: str = "cosine",
            temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """SimCLR's NT-Xent loss of B pairs of codes ``first``, ``second`` (B, D), and the fraction of the 2B anchors
    whose partner is their most similar code (the contrastive accuracy). Each code is the anchor of a softmax over
    the other 2B - 1 codes, its partner the positive (see the module docstring)."""
    codes = torch.cat([first, second])  # (2B, D)
    n = first.shape[0]
    logits = pairwise_similarity(codes, codes, similarity) / temperature
    eye = torch.eye(2 * n, dtype=torch.bool, device=codes.device)
    logits = logits.masked_fill(eye, float("-inf"))  # an anchor is not its own candidate
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(codes.device)
    loss = nn.functional.cross_entropy(logits, partner)
    accuracy = (logits.argmax(1) == partner).float().mean()
    return loss, accuracy


class _VectorEncoder(nn.Module):
    """Observations (N, C, 1, 1) (or any (N, C, H, W), flattened) -> codes (N, out_features) through an MLP."""

    def __init__(self, image_shape: Sequence[int], out_features: int, *, hidden_dim: int, depth: int):
        super().__init__()
        width = int(np.prod(image_shape))
        layers: list[nn.Module] = [nn.Flatten()]
        for i in range(depth):
            layers += [nn.Linear(width if i == 0 else hidden_dim, hidden_dim), nn.LeakyReLU(0.01)]
        layers.append(nn.Linear(hidden_dim if depth else width, out_features))
        self.layers = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, out_features)."""
        return self.layers(images)


def uses_mlp_encoder(encoder: str, image_shape: Sequence[int]) -> bool:
    """Whether ``encoder`` ("auto", "mlp" or "conv") means the MLP for observations of shape (C, H, W): "mlp", or
    "auto" on vectors (C, 1, 1)."""
    return encoder == "mlp" or (encoder == "auto" and tuple(image_shape[1:]) == (1, 1))


def make_encoder(encoder: str, image_shape: Sequence[int], out_features: int, *, depth: int, hidden_dim: int,
                 channels: Sequence[int]) -> nn.Module:
    """A fresh encoder (N, C, H, W) -> (N, out_features): the MLP of ``depth`` hidden layers of ``hidden_dim`` or the
    convolutional encoder (:func:`uses_mlp_encoder` chooses)."""
    if uses_mlp_encoder(encoder, image_shape):
        return _VectorEncoder(image_shape, out_features, hidden_dim=hidden_dim, depth=depth)
    return ConvEncoder(tuple(image_shape), out_features, channels=channels, hidden_dim=hidden_dim)


class ContrastiveCRL(EncoderOnly, Learner):
    """An encoder trained by InfoNCE on pairs that share their content (see the module docstring).

    Parameters
    ----------
    style_factors : list of str or None, default None
        The factors a World's pairs change (the *style*): each pair changes ``pair_changes`` of them,
        the others are kept (the *content*, which the codes should capture). ``None``: the pairs of
        :class:`~latentscm.learners.ada_gvae.AdaGVAE`, whose changed factors are drawn among all (so
        no fixed content). Ignored for :class:`~latentscm.data.ImagePairs`, whose pairs are yours.
    pair_changes : int or "random", default "random"
        How many style factors each pair changes (``"random"``: 1 ... ``len(style_factors)`` uniformly
        per pair, the paper's random subset of style).
    pair_nudge : float or None, default None
        ``None``: a changed factor takes another sample's value. A positive number: it moves by Laplace
        noise whose scale is this many of its standard deviations (``counterfactual_pairs(..., nudge=...)``), the
        conditional of Zimmermann et al. (2021) under which InfoNCE with ``similarity="l1"`` identifies
        every latent up to permutation and sign. Nudged pairs need not share a factor, so with
        ``style_factors=None`` and ``pair_changes`` = the number of factors, every factor moves in every pair.
        Like ``style_factors``, unused with :class:`~latentscm.data.ImagePairs`.
    similarity : {"cosine", "l2", "l1"}, default "l2"
        The similarity of the InfoNCE logits (module docstring).
    temperature : float, default 1.0
        Divides the similarities (> 0); cosine similarity wants a small one (SimCLR: 0.1-0.5).
    latent_dim : int or None, default None
        Code size. ``None``: one unit per content factor, the factors neither in ``style_factors`` nor
        descending from one in the World's graph (for block-identification: the theorem's encoder has
        exactly that many outputs); give it for :class:`~latentscm.data.ImagePairs` or without
        ``style_factors``.
    encoder : {"auto", "conv", "mlp"}, default "auto"
        ``"auto"``: an MLP on observations of shape (C, 1, 1) (vectors), the convolutional encoder on images.
    depth : int, default 4
        Hidden layers of the MLP encoder (>= 1; unused by the convolutional one).
    channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner` (``hidden_dim`` is also the MLP's width). The
        batch holds ``batch_size`` pairs, so 2 x ``batch_size`` - 2 negatives per anchor.
    """

    dense_layers = False  # its networks read hidden_dim as one width

    name = "contrastive"
    uses_pairs: ClassVar[bool] = True
    encoder_only_reason: ClassVar[str] = "a contrastive learner trains an encoder only"

    def __init__(self, *, style_factors: Sequence[str] | None = None, pair_changes: int | str = PAIR_CHANGES,
                 pair_nudge: float | None = None, similarity: str = "l2", temperature: float = 1.0,
                 latent_dim: int | None = None, encoder: str = "auto", depth: int = 4,
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256,
                 lr: float = 1e-4, batch_size: int = 256, steps: int = 3000, grad_clip: float | None = None,
                 seed: int = 0, device: str = "cpu"):
        self.style_factors = style_factors
        self.pair_changes = pair_changes
        self.pair_nudge = pair_nudge
        self.similarity = similarity
        self.temperature = temperature
        self.encoder = encoder
        self.depth = depth
        super().__init__(latent_dim=latent_dim, channels=channels, hidden_dim=hidden_dim, lr=lr,
                         batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        if self.style_factors is not None:
            value = self.style_factors
            if isinstance(value, str) or not isinstance(value, Sequence) or not value \
                    or not all(isinstance(name, str) for name in value):
                raise ValueError(f"The 'style_factors' parameter of {owner} must be None or a non-empty list of "
                                 f"factor names. Got {value!r}.")
            if len(set(value)) != len(value):
                raise ValueError(f"The 'style_factors' parameter of {owner} names a factor twice: {list(value)}.")
            self.style_factors = list(value)
        self.pair_changes = check_pair_changes(self.pair_changes, "pair_changes", owner)
        if self.pair_nudge is not None:
            self.pair_nudge = check_number(self.pair_nudge, "pair_nudge", owner, low=0, low_inclusive=False)
        self.similarity = check_choice(self.similarity, "similarity", owner, SIMILARITIES)
        self.temperature = check_number(self.temperature, "temperature", owner, low=0, low_inclusive=False)
        self.encoder = check_choice(self.encoder, "encoder", owner, ENCODERS)
        self.depth = check_number(self.depth, "depth", owner, low=1, integer=True)
        if self.batch_size < 2:  # one pair has no negative: the loss is 0 and nothing is learned
            raise ValueError(f"The 'batch_size' parameter of {owner} must be at least 2 (the other pairs of a batch "
                             f"are each anchor's negatives). Got {self.batch_size}.")

    @property
    def pairs_share_a_factor(self) -> bool:  # type: ignore[override]
        """Whether a World's pairs must share a factor: not when they are nudged (every factor may move a little)."""
        return self.pair_nudge is None

    # ------------------------------------------------------------------ modules
    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return True

    def _on_training_set(self, training_set: Any) -> None:
        self._factors_seen = (tuple(training_set.factor_names), training_set.graph)  # for _content (not saved)
        self._content_style = None if self.style_factors is None else list(self.style_factors)  # what sized the code
        #: the factors every World pair keeps (neither style nor a descendant of style); () for ImagePairs
        self.content_factors_ = self._content() or ()

    def _content(self) -> tuple[str, ...] | None:
        """The factors outside ``style_factors`` and their descendants, from the factor names and graph of the
        training set this learner last saw (None before it saw one with factors, or without style_factors)."""
        names, graph = getattr(self, "_factors_seen", ((), None))
        if not names or not self.style_factors:
            return None
        changed: set[str] = set()
        for name in self.style_factors:
            changed |= {name} | (set(graph.descendants(name)) if graph is not None and name in graph else set())
        return tuple(name for name in names if name not in changed)

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        if self.latent_dim is not None:
            return int(self.latent_dim)
        owner = type(self).__name__
        if getattr(self, "_saved_latent_dim", None) is not None:  # load_state_dict: the size resolved at fit
            return int(self._saved_latent_dim)
        if self.style_factors is None or not n_factors:
            raise ValueError(f"The 'latent_dim' parameter of {owner} is None, which means one unit per factor outside "
                             f"'style_factors', but " + ("'style_factors' is None" if self.style_factors is None else
                                                         "the data has no factors (image pairs)")
                             + "; pass latent_dim explicitly.")
        content = self._content()  # the current style_factors on the graph seen (set_params may have changed them)
        count = len(content) if content is not None else n_factors - len(self.style_factors)
        if count < 1:
            raise ValueError(f"The 'style_factors' of {owner} and their descendants are every factor, so no content "
                             f"is left to encode; leave one out, or pass latent_dim.")
        return int(count)

    def load_state_dict(self, state: Any) -> ContrastiveCRL:
        """Build the modules at the saved code size (``latent_dim=None`` resolved at fit) and load ``state``.
        With ``latent_dim=None``, ``style_factors`` must be those the size was resolved from."""
        fitted = state.get("extra", {}).get("content_style", "unknown")
        if self.latent_dim is None and fitted != "unknown" and fitted != self.style_factors:
            raise ValueError(f"{type(self).__name__}: latent_dim=None was resolved at fit from "
                             f"style_factors={fitted!r}; with style_factors={self.style_factors!r} it would mean "
                             f"another code size. Give the fit's style_factors, or "
                             f"latent_dim={int(state['latent_dim'])}.")
        self._saved_latent_dim = int(state["latent_dim"])
        try:
            return super().load_state_dict(state)
        finally:
            del self._saved_latent_dim

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "content_factors": list(getattr(self, "content_factors_", ())),
                "content_style": getattr(self, "_content_style", None)}

    def _load_extra_state(self, state: Any) -> None:
        super()._load_extra_state(state)
        self.content_factors_ = tuple(state.get("content_factors", ()))
        self._content_style = state.get("content_style")

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder",)

    def uses_mlp(self, image_shape: Sequence[int]) -> bool:
        """Whether observations of shape ``image_shape`` (C, H, W) get the MLP encoder."""
        return uses_mlp_encoder(self.encoder, image_shape)

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, nn.Module]:
        return {"encoder": make_encoder(self.encoder, image_shape, latent_dim, depth=self.depth,
                                        hidden_dim=self.hidden_dim, channels=self.channels)}

    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        return self.encoder_(images)

    # ------------------------------------------------------------------ training
    def loss(self, images: torch.Tensor, step: int, *, pair: torch.Tensor,
             changed: torch.Tensor | None = None) -> StepOutput:
        """NT-Xent of the pairs. images, pair : (B, C, H, W); ``changed`` is not used."""
        n = images.shape[0]
        codes = self._net("encoder")(torch.cat([images, pair]))
        loss, accuracy = nt_xent(codes[:n], codes[n:], similarity=self.similarity, temperature=self.temperature)
        with torch.no_grad():
            alignment = (codes[:n] - codes[n:]).pow(2).sum(1).mean()
        return StepOutput({"model": loss}, {"loss": loss, "accuracy": accuracy, "alignment": alignment})
