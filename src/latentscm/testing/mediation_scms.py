"""Small SCMs of known natural, interventional and controlled effects, for testing and benchmarking mediation
analysis (:func:`~latentscm.effects.mediation_analysis`; exact values from :func:`~latentscm.effects.true_mediation`).

Each has a covariate ``W ~ N(0, 1)``, a binary treatment ``T`` with a logistic propensity in ``W``, and unit normal
noises unless stated.
"""

from __future__ import annotations

import numpy as np

from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Functional, LinearGaussian, Normal, Uniform

__all__ = ["MEDIATION_GRAPH", "CHAIN_MEDIATION_GRAPH", "WITNESS_GRAPH", "linear_mediation_scm",
           "nonlinear_mediation_scm", "chain_mediation_scm", "witness_mediation_scm"]

#: One mediator ``M``, a covariate ``W`` confounding everything, and a direct path ``T -> Y``.
MEDIATION_GRAPH = "W -> T; W -> M; T -> M; W -> Y; T -> Y; M -> Y"
#: Two mediators in a chain, ``T -> M1 -> M2`` and ``T -> M2``.
CHAIN_MEDIATION_GRAPH = "W -> T; W -> M1; T -> M1; M1 -> M2; T -> M2; W -> M2; M1 -> Y; M2 -> Y; T -> Y; W -> Y"
#: ``L``, affected by ``T``, confounds ``M`` and ``Y`` (a recanting witness).
WITNESS_GRAPH = "W -> T; W -> L; T -> L; L -> M; T -> M; W -> M; L -> Y; M -> Y; T -> Y; W -> Y"

def _logistic_treatment(scale: float = 1.0) -> Functional:
    """``T = 1[U < expit(scale W)]``, ``U ~ U(0, 1)``: a logistic propensity in ``W``."""
    return Functional(lambda p, u: (u < 1 / (1 + np.exp(-scale * p[:, 0]))).astype(float), Uniform(0.0, 1.0),
                      parent_names=("W",))


def linear_mediation_scm(interaction: float = 0.4) -> SCM:
    """``W ~ N(0, 1)``, ``T`` logistic in ``W``, ``M = 0.8 T + 0.5 W + e_M``,
    ``Y = T + 0.7 M + interaction T M + 0.6 W + e_Y`` (noises N(0, 1)). Natural effects: direct ``1 + interaction
    E[M(0)] = 1``, indirect ``(0.7 + interaction) 0.8``, indirect_control ``0.56``."""
    mechanisms = {
        "W": LinearGaussian(), "T": _logistic_treatment(),
        "M": Functional(lambda p, u: 0.8 * p[:, 1] + 0.5 * p[:, 0] + u, Normal(0.0, 1.0), parent_names=("W", "T")),
        "Y": Functional(lambda p, u: p[:, 1] + 0.7 * p[:, 2] + interaction * p[:, 1] * p[:, 2] + 0.6 * p[:, 0] + u,
                        Normal(0.0, 1.0), parent_names=("W", "T", "M")),
    }
    return SCM(CausalGraph.from_text(MEDIATION_GRAPH), mechanisms)


def nonlinear_mediation_scm() -> SCM:
    """``T`` logistic in ``W``; ``M = sin(2 W) + T (0.8 + 0.5 tanh(2 W)) + 0.5 e_M``;
    ``Y = 0.5 T + 0.7 M + 0.5 T M + 0.5 |W| M + cos(2 W) + 0.5 e_Y``: both linear models of the regression
    estimator are misspecified (the mediator's treatment effect varies with ``W``, the outcome is non-linear in
    ``W`` and in ``W x M``)."""
    mechanisms = {
        "W": LinearGaussian(), "T": _logistic_treatment(),
        "M": Functional(lambda p, u: np.sin(2 * p[:, 0]) + p[:, 1] * (0.8 + 0.5 * np.tanh(2 * p[:, 0])) + 0.5 * u,
                        Normal(0.0, 1.0), parent_names=("W", "T")),
        "Y": Functional(lambda p, u: 0.5 * p[:, 1] + 0.7 * p[:, 2] + 0.5 * p[:, 1] * p[:, 2]
                        + 0.5 * np.abs(p[:, 0]) * p[:, 2] + np.cos(2 * p[:, 0]) + 0.5 * u,
                        Normal(0.0, 1.0), parent_names=("W", "T", "M")),
    }
    return SCM(CausalGraph.from_text(MEDIATION_GRAPH), mechanisms)


def chain_mediation_scm() -> SCM:
    """Two mediators in a chain, ``T -> M1 -> M2`` and ``T -> M2``: ``M1 = T + 0.3 W + e``,
    ``M2 = 0.5 M1 - 0.4 T + 0.3 W + e``, ``Y = 1.5 M2 + 0.4 M1 + 0.2 T + 0.5 W + e``. Through ``{M1, M2}`` jointly:
    direct 0.2, indirect ``0.4 + 1.5 (0.5 - 0.4) = 0.55``."""
    mechanisms = {
        "W": LinearGaussian(), "T": _logistic_treatment(),
        "M1": LinearGaussian({"T": 1.0, "W": 0.3}), "M2": LinearGaussian({"M1": 0.5, "T": -0.4, "W": 0.3}),
        "Y": LinearGaussian({"M2": 1.5, "M1": 0.4, "T": 0.2, "W": 0.5}),
    }
    return SCM(CausalGraph.from_text(CHAIN_MEDIATION_GRAPH), mechanisms)


def witness_mediation_scm() -> SCM:
    """``L = 0.5 W + T + e`` is affected by the treatment and confounds ``M = 0.6 L + 0.8 T + 0.4 W + e`` and
    ``Y = 0.7 L + M + 0.5 T + 0.3 T M + 0.4 W + e`` (a recanting witness): the natural effects through ``M`` are
    not identified."""
    mechanisms = {
        "W": LinearGaussian(), "T": _logistic_treatment(), "L": LinearGaussian({"W": 0.5, "T": 1.0}),
        "M": LinearGaussian({"L": 0.6, "T": 0.8, "W": 0.4}),
        "Y": Functional(lambda p, u: 0.7 * p[:, 0] + p[:, 1] + 0.5 * p[:, 2] + 0.3 * p[:, 2] * p[:, 1] + 0.4 * p[:, 3]
                        + u, Normal(0.0, 1.0), parent_names=("L", "M", "T", "W")),
    }
    return SCM(CausalGraph.from_text(WITNESS_GRAPH), mechanisms)
