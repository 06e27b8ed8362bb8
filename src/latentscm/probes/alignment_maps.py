"""Invertible alignment maps for interchange interventions (distributed alignment search).

Distributed alignment search (DAS; Geiger, Wu, Potts, Icard & Goodman, "Finding alignments
between interpretable causal variables and distributed neural representations", CLeaR 2024)
looks for a bijection ``phi`` of a layer's activations ``h`` (N, D) under which a high-level
causal variable lives in a fixed block of coordinates of ``phi(h)``. An interchange intervention
swaps that block between a base and a source input and maps back with ``phi^{-1}``, so ``phi``
must be **exactly** invertible: anything the inverse fails to restore would itself be an
(unaccounted) intervention.

Three maps of growing capacity:

- :class:`IdentityMap`: ``phi = I`` (neuron-aligned interventions; nothing to learn);
- :class:`RotationMap`: an orthogonal matrix ``R`` (the DAS rotation), ``phi(h) = h R^T``,
  ``phi^{-1}(z) = z R``, kept orthogonal by PyTorch's orthogonal parametrisation;
- :class:`RevNetMap`: a stack of additive coupling blocks (Dinh, Krueger & Bengio 2014, NICE;
  Gomez et al. 2017, RevNet), as Sutter et al. (NeurIPS 2025, "The non-linear representation
  dilemma") use to show that a powerful enough bijection aligns almost any network with almost
  any algorithm. Block: ``y1 = x1 + F(x2)``, ``y2 = x2 + G(y1)``; inverse
  ``x2 = y2 - G(y1)``, ``x1 = y1 - F(x2)`` — exact up to floating-point rounding of one
  addition and subtraction per block, whatever ``F`` and ``G`` compute.

:func:`make_alignment_map` builds one from a name and options. Shapes: activations (N, D).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrizations

from latentscm._validation import check_choice, check_number

__all__ = ["IdentityMap", "RotationMap", "CouplingBlock", "RevNetMap", "make_alignment_map", "ALIGNMENTS"]

ALIGNMENTS = ("identity", "linear", "revnet")


class IdentityMap(nn.Module):
    """``phi = I``: interventions on the layer's own neurons. No parameters."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = int(check_number(dim, "dim", "IdentityMap", low=1, integer=True))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D), unchanged."""
        return h

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D), unchanged."""
        return z


class RotationMap(nn.Module):
    """An orthogonal map ``phi(h) = h R^T`` with ``R`` kept orthogonal during training (the
    rotation of DAS). ``R`` starts at a random orthogonal matrix drawn from the torch RNG.

    Parameters
    ----------
    dim : int
        Width D of the activations.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.dim = int(check_number(dim, "dim", "RotationMap", low=1, integer=True))
        linear = nn.Linear(self.dim, self.dim, bias=False)
        nn.init.orthogonal_(linear.weight)
        self.linear = parametrizations.orthogonal(linear)

    @property
    def matrix(self) -> torch.Tensor:
        """The current orthogonal matrix R (D, D)."""
        return self.linear.weight

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D): ``h R^T``."""
        return h @ self.matrix.T

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D): ``z R`` (``R^{-1} = R^T``)."""
        return z @ self.matrix


def _coupling_net(in_features: int, hidden: int, out_features: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


class CouplingBlock(nn.Module):
    """One additive coupling block on (N, D): ``x = (x1, x2)`` split at ``D // 2``,
    ``y1 = x1 + F(x2)``, ``y2 = x2 + G(y1)``; F and G are ReLU MLPs with ``depth`` hidden
    layers of ``width`` units. Odd D is allowed (the halves differ by one)."""

    def __init__(self, dim: int, width: int, depth: int = 1):
        super().__init__()
        owner = "CouplingBlock"
        dim = int(check_number(dim, "dim", owner, low=2, integer=True))  # two halves
        width = int(check_number(width, "width", owner, low=1, integer=True))
        depth = int(check_number(depth, "depth", owner, low=1, integer=True))
        self.split = dim // 2
        rest = dim - self.split
        self.F = _coupling_net(rest, width, self.split, depth)
        self.G = _coupling_net(self.split, width, rest, depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D)."""
        x1, x2 = x[:, :self.split], x[:, self.split:]
        y1 = x1 + self.F(x2)
        return torch.cat([y1, x2 + self.G(y1)], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D): the exact inverse of :meth:`forward`."""
        y1, y2 = y[:, :self.split], y[:, self.split:]
        x2 = y2 - self.G(y1)
        return torch.cat([y1 - self.F(x2), x2], dim=1)


class RevNetMap(nn.Module):
    """A RevNet bijection: ``n_blocks`` :class:`CouplingBlock` in sequence.

    Parameters
    ----------
    dim : int
        Width D of the activations (>= 2).
    n_blocks : int, default 10
        Coupling blocks (Sutter et al. use 10).
    width : int, default 128
        Hidden width of each block's F and G networks.
    depth : int, default 1
        Hidden layers of F and G.
    """

    def __init__(self, dim: int, n_blocks: int = 10, width: int = 128, depth: int = 1):
        super().__init__()
        owner = "RevNetMap"
        self.dim = int(check_number(dim, "dim", owner, low=2, integer=True))
        self.n_blocks = int(check_number(n_blocks, "n_blocks", owner, low=1, integer=True))
        self.width = int(check_number(width, "width", owner, low=1, integer=True))
        self.depth = int(check_number(depth, "depth", owner, low=1, integer=True))
        self.blocks = nn.ModuleList(CouplingBlock(self.dim, self.width, self.depth) for _ in range(self.n_blocks))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D)."""
        for block in self.blocks:
            h = block(h)
        return h

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, D): the blocks' inverses in reverse order."""
        for block in reversed(self.blocks):
            z = block.inverse(z)
        return z


def make_alignment_map(alignment: str, dim: int, **options: Any) -> nn.Module:
    """An alignment map by name: ``"identity"``, ``"linear"`` (:class:`RotationMap`) or
    ``"revnet"`` (:class:`RevNetMap`, ``options`` ``n_blocks``, ``width``, ``depth``).
    Parameters are drawn from the torch RNG (seed it around the call)."""
    check_choice(alignment, "alignment", "make_alignment_map", ALIGNMENTS)
    allowed = {"identity": (), "linear": (), "revnet": ("n_blocks", "width", "depth")}[alignment]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"make_alignment_map: alignment {alignment!r} takes no option(s) {unknown}; "
                         f"valid: {list(allowed)}.")
    if alignment == "identity":
        return IdentityMap(dim)
    if alignment == "linear":
        return RotationMap(dim)
    return RevNetMap(dim, **options)
