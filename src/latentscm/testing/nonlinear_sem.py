"""The nonlinear structural equation models of Zheng et al. (2020), as data for discovery benchmarks and tests.

Zheng, Dan, Aragam, Ravikumar & Xing (2020), "Learning Sparse Nonparametric DAGs", AISTATS, §6: every node is
``x_j = f_j(x_pa(j)) + z_j`` with ``z_j ~ N(0, 1)`` (roots: ``x_j = z_j``), and ``f_j`` one of
* ``"mlp"``: ``sigmoid(x W1) w2`` with 100 hidden units, weights uniform in ±[0.5, 2];
* ``"mim"`` (multiple index model): ``tanh(x w1) + cos(x w2) + sin(x w3)``, weights uniform in ±[0.5, 2];
* ``"gp"``: a draw of a Gaussian process with an RBF kernel (length scale 1) at the parents' sampled values;
* ``"gp-add"``: a sum of one such draw per parent (an additive model).
The noise is the paper's unit Gaussian by default; ``noise=`` draws it from another distribution with mean 0 and
variance 1 (``"laplace"``, ``"uniform"``, ``"gumbel"``: the settings of the non-Gaussian benchmarks of NoGAM,
Montagna et al. 2023), for methods that claim not to need Gaussian noise.
Reimplemented from the paper's description; the random streams are ours.
"""

from __future__ import annotations

import numpy as np

from latentscm._validation import as_generator, check_array, check_choice, check_number

__all__ = ["NOISES", "NONLINEAR_SEMS", "simulate_nonlinear_sem"]

#: Function classes ``simulate_nonlinear_sem`` draws from.
NONLINEAR_SEMS = ("mlp", "mim", "gp", "gp-add")
#: Noise distributions ``simulate_nonlinear_sem`` draws from (each with mean 0 and variance 1).
NOISES = ("gaussian", "laplace", "uniform", "gumbel")


def _weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, size=shape)


def _gp_draw(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw (n,) of a zero-mean GP with kernel ``exp(-|a - b|^2 / 2)`` at ``values`` (n, k)."""
    sq = np.sum(values * values, axis=1)
    gram = np.exp(-0.5 * np.maximum(sq[:, None] + sq[None, :] - 2.0 * values @ values.T, 0.0))
    eigval, eigvec = np.linalg.eigh(gram)
    return eigvec @ (np.sqrt(np.clip(eigval, 0.0, None)) * rng.normal(size=values.shape[0]))


def _noise(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    """(n,) draws with mean 0 and variance 1."""
    if kind == "gaussian":
        return rng.normal(size=n)
    if kind == "laplace":
        return rng.laplace(scale=1.0 / np.sqrt(2.0), size=n)
    if kind == "uniform":
        return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), size=n)
    # Gumbel with scale b has variance π² b² / 6 and mean γ b
    scale = np.sqrt(6.0) / np.pi
    return rng.gumbel(scale=scale, size=n) - np.euler_gamma * scale


def simulate_nonlinear_sem(adjacency: np.ndarray, sem: str, n: int, seed: int | np.random.Generator, *,
                           noise: str = "gaussian") -> np.ndarray:
    """Samples (n, d) of the nonlinear SEM ``sem`` on the DAG ``adjacency`` (d, d), ``[i, j] != 0`` for ``i -> j``,
    with ``noise`` (one of :data:`NOISES`, variance 1; the Gaussian draws are those of the default)."""
    owner = "simulate_nonlinear_sem"
    sem = check_choice(sem, "sem", owner, NONLINEAR_SEMS)
    noise_kind = check_choice(noise, "noise", owner, NOISES)
    n = int(check_number(n, "n", owner, low=1, integer=True))
    adjacency = check_array(adjacency, "adjacency", owner, ndim=2) != 0
    d = adjacency.shape[0]
    if adjacency.shape != (d, d):
        raise ValueError(f"The 'adjacency' argument of {owner} must be square. Got shape {adjacency.shape}.")
    rng = as_generator(seed)
    x = np.zeros((n, d))
    done = np.zeros(d, dtype=bool)
    while not done.all():
        ready = [j for j in range(d) if not done[j] and done[adjacency[:, j]].all()]
        if not ready:
            raise ValueError(f"The 'adjacency' argument of {owner} has a directed cycle.")
        for j in ready:
            parents = np.flatnonzero(adjacency[:, j])
            noise = _noise(rng, noise_kind, n)
            xp = x[:, parents]
            if parents.size == 0:
                x[:, j] = noise
            elif sem == "mlp":
                w1, w2 = _weights(rng, (parents.size, 100)), _weights(rng, (100,))
                x[:, j] = 1.0 / (1.0 + np.exp(-xp @ w1)) @ w2 + noise
            elif sem == "mim":
                w = _weights(rng, (3, parents.size))
                x[:, j] = np.tanh(xp @ w[0]) + np.cos(xp @ w[1]) + np.sin(xp @ w[2]) + noise
            elif sem == "gp":
                x[:, j] = _gp_draw(xp, rng) + noise
            else:
                x[:, j] = sum(_gp_draw(xp[:, [k]], rng) for k in range(parents.size)) + noise
            done[j] = True
    return x
