"""A quantum feature-map kernel, simulated classically with a small statevector (<= 6 qubits).

The fidelity kernel ``k(a, b) = |<ψ(a)|ψ(b)>|^2`` of the ZZ feature map of Havlíček et al. (2019),
"Supervised learning with quantum-enhanced feature spaces", Nature 567: each repetition applies
Hadamards on all qubits and then the diagonal unitary ``exp(i Σ_k φ_k Z_k + i Σ_k φ_{k,k+1} Z_k Z_{k+1})``
with ``φ_k = s a_k`` and ``φ_{k,l} = (π - φ_k)(π - φ_l)``; ``s`` scales the encoded data. This is the
kind of kernel qPC (Terada et al. 2025, "Quantum-enhanced causal discovery for a small number of
samples") plugs into KCI, choosing its hyperparameter by kernel-target alignment; ``QKCI`` does the
same with the scale ``s`` as the KTA-selected parameter.

With at most 6 qubits the state has 64 amplitudes, so simulating n samples costs O(n 64 q).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from latentscm._validation import check_number
from latentscm.discovery.ci_tests.base import register_ci_test
from latentscm.discovery.ci_tests.kci import KCI
from latentscm.discovery.kernels import KernelFamily

__all__ = ["MAX_QUBITS", "QKCI", "QuantumFeatureMapKernel"]

#: Largest simulated register (2^6 = 64 amplitudes per sample).
MAX_QUBITS = 6


def _hadamard(n_qubits: int) -> np.ndarray:
    h = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2.0)
    out = np.ones((1, 1))
    for _ in range(n_qubits):
        out = np.kron(out, h)
    return out


class QuantumFeatureMapKernel(KernelFamily):
    """Fidelity kernel of the ZZ feature map on ``max(min_qubits, d)`` qubits (d <= 6 features).

    Parameters
    ----------
    repetitions: how many times the (Hadamard, diagonal) layer is applied (2 in Havlíček et al.).
    min_qubits: qubits used for low-dimensional inputs; feature ``k mod d`` is encoded on qubit k.
    """

    name = "quantum"

    def __init__(self, *, repetitions: int = 2, min_qubits: int = 2):
        owner = type(self).__name__
        self.repetitions = int(check_number(repetitions, "repetitions", owner, low=1, integer=True))
        self.min_qubits = int(check_number(min_qubits, "min_qubits", owner, low=1, high=MAX_QUBITS,
                                           integer=True))

    def n_qubits(self, dim: int) -> int:
        if dim > MAX_QUBITS:
            raise ValueError(f"{type(self).__name__} simulates at most {MAX_QUBITS} qubits, one per feature; "
                             f"got a block of {dim} features (limit the conditioning-set size).")
        return max(self.min_qubits, dim)

    def states(self, block: np.ndarray, scale: float) -> np.ndarray:
        """Statevectors (n, 2^q) of the feature map applied to the rows of block (n, d)."""
        n, dim = block.shape
        q = self.n_qubits(dim)
        phi = scale * block[:, [k % dim for k in range(q)]]  # (n, q)
        # z[b, k] = +1 / -1: eigenvalue of Z_k on basis state b (qubit 0 is the most significant bit).
        bits = (np.arange(2**q)[:, None] >> np.arange(q - 1, -1, -1)[None, :]) & 1
        z = 1.0 - 2.0 * bits  # (2^q, q)
        phase = phi @ z.T  # (n, 2^q)
        for k in range(q - 1):
            pair = (np.pi - phi[:, k]) * (np.pi - phi[:, k + 1])
            phase += pair[:, None] * (z[:, k] * z[:, k + 1])[None, :]
        diagonal = np.exp(1j * phase)
        hadamard = _hadamard(q)
        state = np.zeros((n, 2**q), dtype=np.complex128)
        state[:, 0] = 1.0
        for _ in range(self.repetitions):
            state = (state @ hadamard) * diagonal
        return state

    def cross(self, a: np.ndarray, b: np.ndarray, parameter: float) -> np.ndarray:
        sa = self.states(a, parameter)
        sb = sa if b is a else self.states(b, parameter)
        return np.abs(sa @ sb.conj().T) ** 2

    def column_source(self, block: np.ndarray, parameter: float) -> Callable[[int], np.ndarray]:
        states = self.states(block, parameter)  # simulate each sample once, not once per column
        return lambda p: np.abs(states @ states[p].conj()) ** 2

    def heuristic(self, block: np.ndarray) -> float:
        return 1.0

    def kta_grid(self, block: np.ndarray) -> np.ndarray:
        return 2.0 ** np.linspace(-3.0, 1.0, 9)

    def __repr__(self) -> str:
        return f"QuantumFeatureMapKernel(repetitions={self.repetitions}, min_qubits={self.min_qubits})"


@register_ci_test("qkci")
class QKCI(KCI):
    """KCI with the simulated quantum feature-map kernel and KTA-selected data scales (qPC's test);
    ``dtype`` as in :class:`~latentscm.discovery.ci_tests.kci.KCI` (the Gram matrix is computed in double,
    the (n, n) algebra after it in ``dtype``)."""

    name = "qkci"

    def __init__(self, *, width: str | float = "kta", epsilon: float = 1e-3, repetitions: int = 2,
                 min_qubits: int = 2, rank_tol: float = 1e-9, cache_mb: float = 512.0, dtype: str = "float32"):
        super().__init__(width=width, epsilon=epsilon,
                         kernel=QuantumFeatureMapKernel(repetitions=repetitions, min_qubits=min_qubits),
                         rank_tol=rank_tol, cache_mb=cache_mb, dtype=dtype)
        self.repetitions, self.min_qubits = repetitions, min_qubits
