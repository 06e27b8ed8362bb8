"""The invertible MLP mixing of nonlinear ICA: square linear maps with leaky ReLUs between them, then a sigmoid.

The observation model of the nonlinear-ICA literature's synthetic benchmarks (Hyvärinen & Morioka, NeurIPS 2016,
"Unsupervised feature extraction by time-contrastive learning and nonlinear ICA", and AISTATS 2017, "Nonlinear ICA
of temporally dependent stationary sources"; Khemakhem et al., AISTATS 2020, iVAE; von Kügelgen et al., NeurIPS
2021; Yao, Chen & Zhang, NeurIPS 2022, TDRL). Reimplemented from those papers' descriptions and the data code of
ysharma1126/ssl_identifiability (``construct_invertible_mlp``, read, not copied):

- ``g(z) = W_L leaky(W_{L-1} ... leaky(W_1 z))``, no biases, leaky-ReLU slope 0.2;
- each ``W`` is an ``(n, n)`` uniform (-1, 1) draw with unit-norm columns, accepted only if its condition number
  is below the 1% quantile of 1000 such draws (the "pcl" initialisation: well-conditioned, so the inverse is
  numerically exact);
- observations ``x = sigmoid(g(z) / h)`` in (0, 1), like every world's pixels; ``h`` (:meth:`calibrate`) is the
  standard deviation of ``g`` on a pilot sample of the latents divided by 1.5, which keeps the sigmoid out of
  saturation. The sigmoid is this library's addition; it is invertible, so :meth:`unmix` undoes the whole map.
"""

from __future__ import annotations

import numpy as np

__all__ = ["InvertibleMLP", "LEAK"]

LEAK = 0.2  # the leaky-ReLU slope of the mixing (the official construct_invertible_mlp's)
_POOL = 1000  # random matrices drawn to set the condition-number threshold
_QUANTILE = 0.01  # the threshold is this quantile of the pool's condition numbers


def _unit_columns(rng: np.random.Generator, n: int) -> np.ndarray:
    matrix = rng.uniform(-1.0, 1.0, size=(n, n))
    return matrix / np.linalg.norm(matrix, axis=0, keepdims=True)


class InvertibleMLP:
    """An invertible map of ``n``-vectors to (0, 1)^n (module docstring).

    Parameters
    ----------
    n : int
        Dimension of latents and observations.
    layers : int
        Linear maps (>= 1); ``layers - 1`` leaky ReLUs between them.
    rng : numpy.random.Generator
        Draws the matrices (the pool that sets the threshold first, then candidates until ``layers`` pass).
    """

    def __init__(self, n: int, layers: int, rng: np.random.Generator):
        self.n = int(n)
        pool = np.sort([np.linalg.cond(_unit_columns(rng, self.n)) for _ in range(_POOL)])
        threshold = pool[int(_POOL * _QUANTILE)]
        #: the linear maps (n, n), applied first to last
        self.matrices: list[np.ndarray] = []
        while len(self.matrices) < int(layers):
            matrix = _unit_columns(rng, self.n)
            if np.linalg.cond(matrix) <= threshold:
                self.matrices.append(matrix)
        #: the sigmoid's scale ``h`` (1 until :meth:`calibrate`)
        self.scale = 1.0

    def calibrate(self, pilot: np.ndarray) -> None:
        """Set ``h`` from latents (N, n) drawn from the data's distribution: ``std(g(pilot)) / 1.5``."""
        self.scale = float(self.hidden(pilot).std()) / 1.5

    def hidden(self, latents: np.ndarray) -> np.ndarray:
        """``g(z)`` (N, n) of latents (N, n), before the sigmoid."""
        h = np.asarray(latents, dtype=np.float64)
        for i, matrix in enumerate(self.matrices):
            h = h @ matrix.T
            if i < len(self.matrices) - 1:
                h = np.where(h > 0, h, LEAK * h)
        return h

    def mix(self, latents: np.ndarray) -> np.ndarray:
        """Observations (N, n) float64 in (0, 1) of latents (N, n)."""
        return 1.0 / (1.0 + np.exp(-self.hidden(latents) / self.scale))

    def unmix(self, observations: np.ndarray) -> np.ndarray:
        """Latents (N, n) of observations (N, n) in (0, 1): the exact inverse of :meth:`mix`."""
        x = np.clip(np.asarray(observations, dtype=np.float64), 1e-12, 1 - 1e-12)
        h = (np.log(x) - np.log1p(-x)) * self.scale
        for i, matrix in reversed(list(enumerate(self.matrices))):
            if i < len(self.matrices) - 1:
                h = np.where(h > 0, h, h / LEAK)
            h = np.linalg.solve(matrix, h.T).T
        return h
