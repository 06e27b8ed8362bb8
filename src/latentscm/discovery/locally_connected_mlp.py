"""d small MLPs, one per variable, as one flat float64 parameter vector: the model of NOTEARS-MLP and DAGMA-MLP.

Network ``j`` predicts ``x_j`` from all d variables. Its first layer ``A_j`` (m1, d) is the only place an input
enters, so ``x_j`` does not depend on ``x_i`` when the column ``A_j[:, i]`` is 0 (Zheng et al. 2020, Proposition
3), and ``W[i, j] = ||A_j[:, i]||_2`` is the weighted adjacency both methods constrain to a DAG. Later layers are
"locally connected" (network ``j`` has its own weights), with sigmoid activations. The column of ``A_j`` reading
``x_j`` itself is always 0.

With ``split=True`` (NOTEARS-MLP, solved by L-BFGS-B under bounds) the first layer is held as ``A = A+ - A-`` with
``A+, A- >= 0``, so its L1 norm is linear; with ``split=False`` (DAGMA-MLP, solved by Adam on a subgradient) it is
held as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["LocallyConnectedMLP"]


class LocallyConnectedMLP:
    """Layout of the flat vector: the first layer (d, m1, d) (twice, ``A+`` then ``A-``, when split), its bias
    (d, m1), then for each later layer ``l`` its weights (d, m_{l-1}, m_l) and bias (d, m_l), the last having
    ``m_L = 1``. ``A[j, k, i]`` is the weight from input ``i`` to hidden unit ``k`` of variable ``j``'s network."""

    def __init__(self, d: int, hidden: Sequence[int], *, split: bool) -> None:
        self.d, self.split = d, bool(split)
        self.dims = [int(m) for m in hidden] + [1]
        self.n_first = 2 if self.split else 1
        shapes = [(d, self.dims[0], d)] * self.n_first + [(d, self.dims[0])]
        for m_in, m_out in zip(self.dims[:-1], self.dims[1:], strict=True):
            shapes += [(d, m_in, m_out), (d, m_out)]
        self.shapes = shapes
        self.sizes = [int(np.prod(s)) for s in shapes]
        self.n_params = int(sum(self.sizes))

    def unpack(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """The parameter tensors (views of ``flat``) in the layout above."""
        return [part.reshape(shape) for part, shape in zip(torch.split(flat, self.sizes), self.shapes, strict=True)]

    def first_layer(self, params: list[torch.Tensor]) -> torch.Tensor:
        """``A`` (d, m1, d)."""
        return params[0] - params[1] if self.split else params[0]

    def later_weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        """The weight tensors of the layers after the first (biases excluded)."""
        return params[self.n_first + 1::2]

    def self_input_mask(self) -> np.ndarray:
        """(n_params,) bool: True for the first-layer entries reading a network's own variable (always 0)."""
        d, m1 = self.d, self.dims[0]
        own = np.zeros((d, m1, d), dtype=bool)
        own[np.arange(d), :, np.arange(d)] = True
        return np.concatenate([own.ravel()] * self.n_first + [np.zeros(self.n_params - self.n_first * own.size,
                                                                        dtype=bool)])

    def bounds(self) -> list[tuple[float, float | None]]:
        """L-BFGS-B bounds of the split layout: ``A+, A- >= 0`` with the self-input columns fixed at 0."""
        if not self.split:
            raise ValueError("bounds() describes the split layout (split=True).")
        own = self.self_input_mask()
        size = self.sizes[0]
        return [(0.0, 0.0) if own[k] else (0.0, None) for k in range(2 * size)] + [(None, None)] * (
            self.n_params - 2 * size)

    def initial(self, rng: np.random.Generator, *, zero_first: bool = False) -> np.ndarray:
        """Random start (n_params,): every layer uniform in ``±1/sqrt(fan_in)`` (as ``torch.nn.Linear``), the
        self-input columns 0. Split: the first layer's draw ``u`` is held as ``A+ = max(u, 0)``, ``A- = max(-u, 0)``.
        ``zero_first``: the first layer and its bias start at 0 instead (``W = 0``, as DAGMA starts)."""
        d, m1 = self.d, self.dims[0]
        bound = 1.0 / np.sqrt(d)
        u = np.zeros((d, m1, d)) if zero_first else rng.uniform(-bound, bound, size=(d, m1, d))
        u[np.arange(d), :, np.arange(d)] = 0.0
        first = [np.maximum(u, 0.0), np.maximum(-u, 0.0)] if self.split else [u]
        parts = [*first, np.zeros((d, m1)) if zero_first else rng.uniform(-bound, bound, size=(d, m1))]
        for m_in, m_out in zip(self.dims[:-1], self.dims[1:], strict=True):
            b = 1.0 / np.sqrt(m_in)
            parts += [rng.uniform(-b, b, size=(d, m_in, m_out)), rng.uniform(-b, b, size=(d, m_out))]
        return np.concatenate([p.ravel() for p in parts])

    def forward(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Predictions (n, d): column ``j`` is ``f_j(x)`` for data ``x`` (n, d)."""
        h = torch.einsum("ni,jki->njk", x, self.first_layer(params)) + params[self.n_first]
        for layer in range(len(self.dims) - 1):
            weight, bias = params[self.n_first + 1 + 2 * layer], params[self.n_first + 2 + 2 * layer]
            h = torch.einsum("njk,jkl->njl", torch.sigmoid(h), weight) + bias
        return h[:, :, 0]

    def squared_adjacency(self, params: list[torch.Tensor]) -> torch.Tensor:
        """``W ∘ W`` (d, d): entry ``[i, j]`` the squared norm of the first-layer column of net ``j`` reading ``i``."""
        a = self.first_layer(params)
        return torch.sum(a * a, dim=1).T

    def adjacency(self, flat: np.ndarray) -> np.ndarray:
        """``W`` (d, d) of a flat parameter vector."""
        with torch.no_grad():
            return torch.sqrt(self.squared_adjacency(self.unpack(torch.as_tensor(flat)))).numpy()
