"""Causal discovery: CI tests (Fisher-z, KCI, RCIT/RCoT, quantum-kernel KCI, chi-square / G-square, the conditional
Gaussian likelihood ratio for mixed data), PC-stable with Meek's rules (and background knowledge), GES, XGES and BOSS
(score-based: linear-Gaussian BIC, BDeu, conditional Gaussian BIC; BOSS with background knowledge), continuous
optimisation (linear NOTEARS, NOTEARS-MLP, linear DAGMA, DAGMA-MLP), DirectLiNGAM (linear non-Gaussian), FCI, RFCI
and GFCI (partial ancestral graphs, for hidden confounders, with tiers), CD-NOD for heterogeneous data, Causal de
Finetti for exchangeable data, ENCO (neural likelihoods, observational and single-variable interventional
data), LLC (linear cyclic models with latent confounders from randomised experiments), SCORE, DAS and NoGAM (causal
orders of nonlinear additive noise models from Stein score estimates, pruned by CAM), SortnRegress (the variance-
and R^2-sorting baselines of Reisach et al.), and linear causal
disentanglement (latent variables and their graph from one perfect intervention per latent)."""

from latentscm.discovery.active_learning import active_gies
from latentscm.discovery.boss import boss
from latentscm.discovery.causal_de_finetti import causal_de_finetti
from latentscm.discovery.cdnod import cdnod
from latentscm.discovery.ci_tests import (
    KCI,
    RCIT,
    BoundCITest,
    CIQuery,
    CIResult,
    CITest,
    FisherZ,
    RCoT,
    ci_test_names,
    make_ci_test,
    register_ci_test,
)
from latentscm.discovery.contrastive_causal_disentanglement import (
    ContrastiveCausalDisentanglement,
    contrastive_causal_disentanglement,
    contrastive_causal_disentanglement_by_environment,
    contrastive_causal_disentanglement_graph,
)
from latentscm.discovery.dagma import dagma_linear
from latentscm.discovery.dagma_mlp import dagma_mlp
from latentscm.discovery.enco import enco
from latentscm.discovery.environments import discover_environments, environment_variables
from latentscm.discovery.experiment_design import best_single_intervention, identifying_targets
from latentscm.discovery.fci import fci
from latentscm.discovery.ges import ges
from latentscm.discovery.gfci import gfci
from latentscm.discovery.gies import gies, interventional_essential_graph
from latentscm.discovery.gnies import gnies
from latentscm.discovery.knowledge import BackgroundKnowledge
from latentscm.discovery.linear_causal_disentanglement import (
    LinearCausalDisentanglement,
    linear_causal_disentanglement,
    linear_causal_disentanglement_by_environment,
    linear_causal_disentanglement_from_covariances,
    linear_causal_disentanglement_graph,
)
from latentscm.discovery.linear_cyclic_model import LinearCyclicModel
from latentscm.discovery.lingam import direct_lingam
from latentscm.discovery.llc import llc, llc_from_covariances, pair_condition_experiments
from latentscm.discovery.notears import notears_linear
from latentscm.discovery.notears_mlp import notears_mlp
from latentscm.discovery.pag import PartialAncestralGraph
from latentscm.discovery.pc import pc, pc_skeleton
from latentscm.discovery.quantum_kernel import QKCI, QuantumFeatureMapKernel
from latentscm.discovery.result import DiscoveredGraph, skeleton_scores
from latentscm.discovery.rfci import rfci
from latentscm.discovery.score_matching import das, nogam, score_matching
from latentscm.discovery.sortnregress import sortnregress
from latentscm.discovery.stein import stein_hessian, stein_hessian_diagonal, stein_score
from latentscm.discovery.xges import xges

__all__ = [
    "BackgroundKnowledge",
    "BoundCITest",
    "CIQuery",
    "CIResult",
    "CITest",
    "ContrastiveCausalDisentanglement",
    "DiscoveredGraph",
    "FisherZ",
    "KCI",
    "LinearCausalDisentanglement",
    "LinearCyclicModel",
    "PartialAncestralGraph",
    "QKCI",
    "QuantumFeatureMapKernel",
    "RCIT",
    "RCoT",
    "active_gies",
    "best_single_intervention",
    "boss",
    "causal_de_finetti",
    "cdnod",
    "ci_test_names",
    "contrastive_causal_disentanglement",
    "contrastive_causal_disentanglement_by_environment",
    "contrastive_causal_disentanglement_graph",
    "dagma_linear",
    "dagma_mlp",
    "das",
    "direct_lingam",
    "discover_environments",
    "enco",
    "environment_variables",
    "fci",
    "ges",
    "gfci",
    "gies",
    "gnies",
    "identifying_targets",
    "interventional_essential_graph",
    "linear_causal_disentanglement",
    "linear_causal_disentanglement_by_environment",
    "linear_causal_disentanglement_from_covariances",
    "linear_causal_disentanglement_graph",
    "llc",
    "llc_from_covariances",
    "make_ci_test",
    "nogam",
    "notears_linear",
    "notears_mlp",
    "pair_condition_experiments",
    "pc",
    "pc_skeleton",
    "register_ci_test",
    "rfci",
    "score_matching",
    "skeleton_scores",
    "sortnregress",
    "stein_hessian",
    "stein_hessian_diagonal",
    "stein_score",
    "xges",
]
