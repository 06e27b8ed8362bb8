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

__all__ = ["InvertibleMLP", "LEAK", "ACTIVATIONS", "TANH_LEAK"]

LEAK = 0.2  # the leaky-ReLU slope of the mixing (the official construct_invertible_mlp's)
TANH_LEAK = 0.1  # the slope of the linear part of leaky_tanh(h) = tanh(h) + 0.1 h (the CauCA code's mixing)
#: The activations between the linear maps: ``"leaky_relu"`` (kinked, slope 0.2) or ``"leaky_tanh"`` (smooth).
ACTIVATIONS = ("leaky_relu", "leaky_tanh")
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
        Linear maps (>= 1); ``layers - 1`` activations between them.
    rng : numpy.random.Generator
        Draws the matrices (the pool that sets the threshold first, then candidates until ``layers`` pass).
    activation : {"leaky_relu", "leaky_tanh"}, default "leaky_relu"
        ``"leaky_relu"``: slope 0.2 below 0, kinked at 0; ``"leaky_tanh"``: ``s (tanh(h / s) + 0.1 h / s)``, smooth
        (the mixing of Liang et al. 2023's code, ``tanh(h) + 0.1 h``, here on each layer's scale ``s``), inverted by
        bisection to float64 resolution.
    """

    def __init__(self, n: int, layers: int, rng: np.random.Generator, activation: str = "leaky_relu"):
        self.n = int(n)
        if activation not in ACTIVATIONS:
            raise ValueError(f"The 'activation' of InvertibleMLP must be one of {', '.join(ACTIVATIONS)}. "
                             f"Got {activation!r}.")
        self.activation = activation
        #: per hidden layer, the scale ``s`` of ``s * leaky_tanh(h / s)`` (set by :meth:`calibrate`)
        self.layer_scales = [1.0] * max(int(layers) - 1, 0)
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
        """Set ``h`` from latents (N, n) drawn from the data's distribution: ``std(g(pilot)) / 1.5``; with
        ``"leaky_tanh"`` first each layer's ``s``, the standard deviation of its input on the pilot, so that the tanh
        bends the data whatever the latents' scale (a leaky ReLU bends at 0 at any scale)."""
        if self.activation == "leaky_tanh":
            h = np.asarray(pilot, dtype=np.float64)
            for i, matrix in enumerate(self.matrices[:-1]):
                h = h @ matrix.T
                self.layer_scales[i] = float(h.std())
                h = self._activate(h, i)
        self.scale = float(self.hidden(pilot).std()) / 1.5

    def _activate(self, h: np.ndarray, i: int) -> np.ndarray:
        if self.activation == "leaky_relu":
            return np.where(h > 0, h, LEAK * h)
        s = self.layer_scales[i]
        return s * (np.tanh(h / s) + TANH_LEAK * h / s)

    def _deactivate(self, h: np.ndarray, i: int) -> np.ndarray:
        if self.activation == "leaky_relu":
            return np.where(h > 0, h, h / LEAK)
        s = self.layer_scales[i]
        y = h / s
        # tanh(u) + 0.1 u = y is increasing with slope in [0.1, 1.1]: u lies in [(y - 1) / 0.1, (y + 1) / 0.1];
        # 200 halvings of that bracket reach float64's resolution
        low, high = (y - 1.0) / TANH_LEAK, (y + 1.0) / TANH_LEAK
        for _ in range(200):
            middle = 0.5 * (low + high)
            below = np.tanh(middle) + TANH_LEAK * middle < y
            low, high = np.where(below, middle, low), np.where(below, high, middle)
        return s * 0.5 * (low + high)

    def hidden(self, latents: np.ndarray) -> np.ndarray:
        """``g(z)`` (N, n) of latents (N, n), before the sigmoid."""
        h = np.asarray(latents, dtype=np.float64)
        for i, matrix in enumerate(self.matrices):
            h = h @ matrix.T
            if i < len(self.matrices) - 1:
                h = self._activate(h, i)
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
                h = self._deactivate(h, i)
            h = np.linalg.solve(matrix, h.T).T
        return h
