"""A small known-graph nonlinear-ICA world with one perfect intervention per latent: the setting of causal component
analysis (Liang et al., NeurIPS 2023), shared by CauCA's tests and ``benchmarks/bench_cauca.py``.

Three latents ``z0 -> z1 -> z2``, ``z0 -> z2`` with linear Gaussian mechanisms, seen through an invertible MLP
(the ``nonlinear-ica`` world); :data:`CHAIN_REGIMES` holds the observational regime and one perfect stochastic
intervention per latent, whose densities :data:`CHAIN_INTERVENED` gives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm.scm.mechanisms import AdditiveNoise, Root
from latentscm.scm.noise import Normal
from latentscm.worlds.regimes import OBSERVATIONAL, Regime, RegimeMixture

__all__ = ["CHAIN_GRAPH", "CHAIN_INTERVENED", "CHAIN_REGIMES", "chain_ica_world"]

#: The latent graph.
CHAIN_GRAPH = "z0 -> z1; z1 -> z2; z0 -> z2"


def _cut(parents: np.ndarray) -> np.ndarray:
    """No dependence on the parents (a perfect intervention), (N,) zeros for parents (N, P)."""
    return np.zeros(len(parents))


def chain_ica_world(mixing_layers: int = 1, **options: Any):
    """The ``nonlinear-ica`` world with three latents, the linear Gaussian SCM over :data:`CHAIN_GRAPH` and
    ``mixing_layers`` invertible layers; ``options`` (``seed``, ``activation``, ...) go to the world."""
    from latentscm import worlds

    return worlds.make("nonlinear-ica", latents=3, mixing_layers=mixing_layers, graph=CHAIN_GRAPH, **options,
                       mechanisms={"z0": Root(Normal(0, 0.25)),
                                   "z1": AdditiveNoise(lambda p: 0.8 * p[:, 0], Normal(0, 0.2)),
                                   "z2": AdditiveNoise(lambda p: 0.5 * p[:, 0] - 0.6 * p[:, 1], Normal(0, 0.2))})


#: The observational regime and one perfect stochastic intervention per latent (the paper's setting).
CHAIN_REGIMES = RegimeMixture([OBSERVATIONAL, Regime("do z0", mechanisms={"z0": Root(Normal(0.3, 0.2))}),
                               Regime("do z1", mechanisms={"z1": AdditiveNoise(_cut, Normal(-0.3, 0.2))}),
                               Regime("do z2", mechanisms={"z2": AdditiveNoise(_cut, Normal(0.3, 0.2))})])

#: (mean, sd) of each latent's density under its perfect intervention in :data:`CHAIN_REGIMES`, by index.
CHAIN_INTERVENED = [(0.3, 0.2), (-0.3, 0.2), (0.3, 0.2)]
