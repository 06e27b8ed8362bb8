"""Test helper: the population covariance a linear-Gaussian SCM implies (importable by any test: conftest puts this
folder on the path)."""

from __future__ import annotations

import numpy as np

from latentscm.scm.mechanisms import LinearGaussian


def implied_covariance(scm) -> np.ndarray:
    """(d, d) population covariance of a linear-Gaussian SCM in ``scm.graph.nodes`` order, from its weights and
    noise: (I - W)^-T D (I - W)^-1 (roots: their noise variance)."""
    nodes = scm.graph.nodes
    d = len(nodes)
    w, noise = np.zeros((d, d)), np.zeros(d)
    for j, name in enumerate(nodes):
        mechanism = scm.mechanisms[name]
        if isinstance(mechanism, LinearGaussian):
            for weight, parent in zip(mechanism.weights, scm.graph.parents(name)):
                w[nodes.index(parent), j] = weight
            noise[j] = mechanism.std ** 2
        else:
            noise[j] = mechanism.noise.std ** 2
    inverse = np.linalg.inv(np.eye(d) - w)
    return inverse.T @ np.diag(noise) @ inverse
