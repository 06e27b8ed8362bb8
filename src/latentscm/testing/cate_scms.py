"""Small SCMs of known conditional effects, for testing and benchmarking the heterogeneous-effect learners
(:func:`~latentscm.effects.conditional_effects`; exact values from
:func:`~latentscm.effects.true_conditional_effects`).

Covariates are independent N(0, 1); the binary treatment ``T`` has a logistic propensity; noises are N(0, 1) unless
stated.
"""

from __future__ import annotations

import numpy as np

from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform

__all__ = ["CATE_GRAPH", "MEDIATED_CATE_GRAPH", "linear_cate_scm", "nonlinear_cate_scm", "mediated_cate_scm"]

#: ``X1``, ``X2`` confound ``T`` and ``Y``; ``X3`` moves only ``Y`` (a precision covariate).
CATE_GRAPH = "X1 -> T; X2 -> T; X1 -> Y; X2 -> Y; T -> Y; X3 -> Y"
#: ``T`` acts on ``Y`` only through ``M``; ``X1`` confounds all three.
MEDIATED_CATE_GRAPH = "X1 -> T; X1 -> M; T -> M; X1 -> Y; M -> Y"


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _treatment(index) -> Functional:
    """``T = 1[U < expit(index(parents))]``, ``U ~ U(0, 1)``."""
    return Functional(lambda p, u: (u < _expit(index(p))).astype(float), Uniform(0.0, 1.0),
                      parent_names=("X1", "X2"))


def linear_cate_scm(heterogeneity: float = 1.0) -> SCM:
    """``T`` logistic in ``0.6 X1 - 0.4 X2``; ``Y = X1 + 0.5 X2 + T (1 + h (X1 - 0.5 X2)) + 0.3 X3 + e``,
    ``h = heterogeneity``. CATE ``1 + h X1 - 0.5 h X2`` (the individual effect too); its linear projection on
    ``(X1, X2, X3)`` is ``(1; h, -0.5 h, 0)``; with ``h = 0`` the effect is 1 for everyone."""
    mechanisms = {
        "X1": LinearGaussian(), "X2": LinearGaussian(), "X3": LinearGaussian(),
        "T": _treatment(lambda p: 0.6 * p[:, 0] - 0.4 * p[:, 1]),
        "Y": Functional(lambda p, u: p[:, 0] + 0.5 * p[:, 1] + p[:, 2] * (1 + heterogeneity * (p[:, 0] - 0.5 * p[:, 1]))
                        + 0.3 * p[:, 3] + u, Normal(0.0, 1.0), parent_names=("X1", "X2", "T", "X3")),
    }
    return SCM(CausalGraph.from_text(CATE_GRAPH), mechanisms)


def nonlinear_cate_scm() -> SCM:
    """``T`` logistic in ``1.5 sin(2 X1) - 0.5 X2``; ``Y = cos(2 X1) + X2² / 2 + 0.3 X3 + T τ(X) + e`` with
    ``τ = 0.5 + 1.5 expit(3 X1) - 0.5 |X2|``: a non-linear baseline, propensity and effect (linear learners are
    misspecified; the true ATE is ``0.5 + 0.75 - 0.5 sqrt(2/π) ≈ 0.851``)."""
    mechanisms = {
        "X1": LinearGaussian(), "X2": LinearGaussian(), "X3": LinearGaussian(),
        "T": _treatment(lambda p: 1.5 * np.sin(2 * p[:, 0]) - 0.5 * p[:, 1]),
        "Y": Functional(lambda p, u: np.cos(2 * p[:, 0]) + 0.5 * p[:, 1] ** 2 + 0.3 * p[:, 3]
                        + p[:, 2] * (0.5 + 1.5 * _expit(3 * p[:, 0]) - 0.5 * np.abs(p[:, 1])) + u,
                        Normal(0.0, 1.0), parent_names=("X1", "X2", "T", "X3")),
    }
    return SCM(CausalGraph.from_text(CATE_GRAPH), mechanisms)


def mediated_cate_scm() -> SCM:
    """``T`` logistic in ``X1``; ``M = T (1 + X1) + 0.5 X1 + e_M``; ``Y = X1 + M (1 + 0.5 e_Y)``. The individual
    effect ``(1 + X1)(1 + 0.5 e_Y)`` varies with ``Y``'s own noise; the CATE given the pre-treatment state is
    ``1 + X1``."""
    mechanisms = {
        "X1": LinearGaussian(),
        "T": Functional(lambda p, u: (u < _expit(p[:, 0])).astype(float), Uniform(0.0, 1.0), parent_names=("X1",)),
        "M": Functional(lambda p, u: p[:, 1] * (1 + p[:, 0]) + 0.5 * p[:, 0] + u, Normal(0.0, 1.0),
                        parent_names=("X1", "T")),
        "Y": Functional(lambda p, u: p[:, 0] + p[:, 1] * (1 + 0.5 * u), Normal(0.0, 1.0), parent_names=("X1", "M")),
    }
    return SCM(CausalGraph.from_text(MEDIATED_CATE_GRAPH), mechanisms)
