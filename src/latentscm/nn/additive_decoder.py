"""Additive per-concept decoders: one small decoder per group of latents, logits summed.

A monolithic decoder ``x = D(z)`` may draw any part of the image from any latent (the pendulum
from the shadow latent), and it does not render latent combinations it never saw (Montero et al.
2021, "The role of disentanglement in generalisation", ICLR). An *additive* decoder::

    logits(z) = b + Σ_g D_g(z_{G_g})                (b: a learned bias image)

renders each group of latents ``G_g`` with its own network, so changing one group's latents
changes only that group's contribution — exactly — and unseen combinations of groups are
rendered by composition (Lachapelle et al. 2023, "Additive decoders for latent variables
identification and Cartesian-product extrapolation", NeurIPS). CausalVAE's own decoder sums one
decoder per concept the same way (Yang et al. 2021, ``decode_sep``).

A *gain* group multiplies the image instead of adding to it: ``p = g(z_gain) · sigmoid(logits)``
with ``g`` in (0, 1) per image and channel — how a world renders brightness (the glyphs'
intensity scales the stroke). The output is returned as logits ``logit(p)``, so every likelihood
works unchanged.

Groups are lists of latent indices; :func:`concept_groups` derives them from a causal graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from latentscm.graph import CausalGraph
from latentscm.nn.conv import ConvDecoder

__all__ = ["AdditiveDecoder", "concept_groups", "parse_groups"]


def concept_groups(graph: CausalGraph, names: Sequence[str]) -> list[list[str]]:
    """Decoder groups from a graph: each root its own group; non-root latents with the same
    parent set share one (the pendulum's shadow length and position are one shadow).

    ``names`` fixes the order (groups are ordered by their first member)."""
    names = list(names)
    groups: dict[tuple, list[str]] = {}
    for name in names:
        parents = tuple(sorted(graph.parents(name))) if name in graph else ()
        key = ("root", name) if not parents else ("children of", parents)
        groups.setdefault(key, []).append(name)
    return list(groups.values())


def parse_groups(spec: str | Sequence[Sequence[str]], names: Sequence[str], owner: str) -> list[list[str]]:
    """Groups from text (``"a; b, c"``: groups separated by ``;``, members by ``,``) or a list of
    lists of names. Every name must appear in exactly one group."""
    names = list(names)
    if isinstance(spec, str):
        groups = [[m.strip() for m in part.split(",") if m.strip()] for part in spec.split(";") if part.strip()]
    else:
        groups = [list(g) for g in spec]
    seen: list[str] = []
    for group in groups:
        if not group:
            raise ValueError(f"The decoder groups of {owner} contain an empty group: {spec!r}.")
        for member in group:
            if member not in names:
                raise ValueError(f"The decoder groups of {owner} name {member!r}, which is not a latent; valid names: "
                                 f"{', '.join(names)}.")
            if member in seen:
                raise ValueError(f"The decoder groups of {owner} list {member!r} twice.")
            seen.append(member)
    missing = [n for n in names if n not in seen]
    if missing:
        raise ValueError(f"The decoder groups of {owner} leave out {', '.join(missing)}; every latent needs a group.")
    return groups


class AdditiveDecoder(nn.Module):
    """Codes (N, D) -> logits (N, C, H, W) as a sum of per-group decoders (module docstring).

    Parameters
    ----------
    groups : sequence of sequences of int
        Latent indices per additive group (together with ``gain`` they must cover 0..D-1
        exactly once).
    image_shape : tuple of int
        (C, H, W).
    channels, hidden_dim : sequence of int, int
        Of each group's :class:`ConvDecoder`.
    gain : sequence of int
        Latent indices of the multiplicative gain group (empty: none).
    """

    def __init__(self, groups: Sequence[Sequence[int]], image_shape: Sequence[int], *,
                 channels: Sequence[int] = (32, 32, 64), hidden_dim: int = 128, gain: Sequence[int] = ()):
        super().__init__()
        groups = [list(map(int, g)) for g in groups]
        gain = list(map(int, gain))
        flat = sorted([i for g in groups for i in g] + gain)
        if not groups or any(not g for g in groups):
            raise ValueError("AdditiveDecoder needs at least one non-empty group.")
        if flat != list(range(len(flat))):
            raise ValueError(f"AdditiveDecoder groups {groups} and gain {gain} must cover latents 0..D-1 exactly once.")
        self.latent_dim = len(flat)
        self.image_shape = tuple(int(s) for s in image_shape)
        for g, group in enumerate(groups):
            self.register_buffer(f"index_{g}", torch.tensor(group, dtype=torch.long))
        self.n_groups = len(groups)
        self.decoders = nn.ModuleList(ConvDecoder(len(g), self.image_shape, channels=channels, hidden_dim=hidden_dim)
                                      for g in groups)
        self.bias = nn.Parameter(torch.zeros(self.image_shape))
        self.has_gain = bool(gain)
        if self.has_gain:
            self.register_buffer("gain_index", torch.tensor(gain, dtype=torch.long))
            self.gain_net = nn.Sequential(nn.Linear(len(gain), hidden_dim), nn.SiLU(),
                                          nn.Linear(hidden_dim, self.image_shape[0]))

    def contributions(self, codes: torch.Tensor) -> torch.Tensor:
        """Each group's additive logits: (G, N, C, H, W)."""
        if codes.ndim != 2 or codes.shape[1] != self.latent_dim:
            raise ValueError(f"AdditiveDecoder expects codes (N, {self.latent_dim}). Got {tuple(codes.shape)}.")
        return torch.stack([decoder(codes.index_select(1, getattr(self, f"index_{g}")))
                            for g, decoder in enumerate(self.decoders)])

    def gain(self, codes: torch.Tensor) -> torch.Tensor:
        """Multiplicative gain in (0, 1): (N, C, 1, 1) (ones without a gain group)."""
        if not self.has_gain:
            return codes.new_ones((codes.shape[0], self.image_shape[0], 1, 1))
        return torch.sigmoid(self.gain_net(codes.index_select(1, self.gain_index)))[:, :, None, None]

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """(N, D) -> logits (N, C, H, W): ``bias + Σ_g contribution_g``, scaled by the gain."""
        logits = self.contributions(codes).sum(0) + self.bias
        if not self.has_gain:
            return logits
        # p = g · sigmoid(l)  ->  logit(p) = log p − log(1 − p), in log space: log g and log sigmoid(l) stay
        # finite where g or sigmoid(l) underflow to 0, and 1 − p is taken from log p without rounding p to 1
        log_gain = nn.functional.logsigmoid(self.gain_net(codes.index_select(1, self.gain_index)))[:, :, None, None]
        return _logit_from_log(log_gain + nn.functional.logsigmoid(logits))


def _logit_from_log(log_p: torch.Tensor) -> torch.Tensor:
    """logit(p) = log p − log(1 − p) from log p (any shape, <= 0), elementwise.

    log(1 − p) is log(−expm1(log p)) near p = 1 and log1p(−exp(log p)) elsewhere (Mächler 2012, "Accurately
    computing log(1 − exp(−|a|))"); each branch sees only inputs where it is finite, so gradients are too.
    log p is kept below −tiny: at p = 1 exactly the logit is large (about 87 in float32), not infinite."""
    log_p = log_p.clamp(max=-torch.finfo(log_p.dtype).tiny)
    cut = -math.log(2.0)
    near_one = log_p > cut
    log_one_minus = torch.where(near_one, torch.log(-torch.expm1(log_p.clamp(min=cut))),
                                torch.log1p(-torch.exp(log_p.clamp(max=cut))))
    return log_p - log_one_minus
