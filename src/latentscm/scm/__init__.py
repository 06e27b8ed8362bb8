"""Structural causal models over named variables: mechanisms, SCMs, random SCMs and finite
(discrete) SCMs with exact identification."""

from latentscm.scm.bif import format_bif, load_network, network_names, parse_bif, read_bif, write_bif
from latentscm.scm.discrete_scm import DiscreteSCM
from latentscm.scm.examples import smoking_cancer_model
from latentscm.scm.id_algorithm import Estimand, NonIdentifiableError, SemiMarkovianGraph, identify
from latentscm.scm.identification import (
    backdoor_adjustment,
    frontdoor_adjustment,
    is_backdoor_set,
    is_frontdoor_set,
)
from latentscm.scm.mechanisms import (
    AdditiveNoise,
    Categorical,
    Functional,
    InvertibleFunctional,
    InvertibleMechanism,
    LinearGaussian,
    Mechanism,
    PostNonlinear,
    Root,
)
from latentscm.scm.noise import Constant, Gamma, Laplace, NoiseDistribution, Normal, Uniform
from latentscm.scm.probability_table import PositivityError, ProbabilityTable
from latentscm.scm.random import random_dag, random_discrete_scm, random_scm
from latentscm.scm.scm import SCM, NotInvertibleError

__all__ = [
    "SCM",
    "NotInvertibleError",
    "Mechanism",
    "InvertibleMechanism",
    "Root",
    "LinearGaussian",
    "AdditiveNoise",
    "PostNonlinear",
    "Functional",
    "InvertibleFunctional",
    "Categorical",
    "NoiseDistribution",
    "Normal",
    "Uniform",
    "Gamma",
    "Laplace",
    "Constant",
    "random_dag",
    "random_discrete_scm",
    "random_scm",
    "DiscreteSCM",
    "ProbabilityTable",
    "PositivityError",
    "backdoor_adjustment",
    "frontdoor_adjustment",
    "is_backdoor_set",
    "is_frontdoor_set",
    "identify",
    "Estimand",
    "NonIdentifiableError",
    "SemiMarkovianGraph",
    "smoking_cancer_model",
    "format_bif",
    "load_network",
    "network_names",
    "parse_bif",
    "read_bif",
    "write_bif",
]
