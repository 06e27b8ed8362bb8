"""Evaluation metrics: pure functions on arrays.

Disentanglement and identifiability metrics take ``codes`` (N, D) and ``factors`` (N, K);
``factorvae_score`` and ``betavae_score`` take a world and an ``encode`` callable because they
sample batches with one factor held fixed. Graph metrics take adjacency matrices; sortability
(how well variances, or R^2, order a dataset along its true DAG) takes the data and the graph. Scalar
metrics return a float, multi-part ones a dict with namespaced keys
(``"dci.disentanglement"``). Higher is better unless the docstring says otherwise (SHD).

Every function that splits, samples or jitters takes a ``seed`` (default 0): results are
deterministic. :mod:`latentscm.metrics.suite` maps names to functions so a whole suite runs on
one encoder pass.
"""

from latentscm.metrics.activity import active_units, mean_vs_sampled, sample_codes, unit_kl
from latentscm.metrics.betavae import betavae_score
from latentscm.metrics.content_style import content_style_r2
from latentscm.metrics.counterfactual import counterfactual_metrics, image_distance
from latentscm.metrics.dci import dci, dci_from_importance, importance_matrix
from latentscm.metrics.domain_counterfactual import domain_counterfactual_error, domain_counterfactual_soundness
from latentscm.metrics.evaluate import evaluate
from latentscm.metrics.factor_regressor import FactorRegressor
from latentscm.metrics.factorvae import factorvae_score
from latentscm.metrics.generator_fidelity import (
    autocorrelation_distance,
    discriminative_score,
    generator_fidelity,
    maximum_mean_discrepancy,
)
from latentscm.metrics.graphs import (
    arrowhead_scores,
    compare_graphs,
    dag_to_cpdag,
    edge_auprc,
    edge_auroc,
    shd,
    skeleton_scores,
)
from latentscm.metrics.infomec import infomec
from latentscm.metrics.mcc import correlation_matrix, mcc
from latentscm.metrics.mig import mig
from latentscm.metrics.modularity import modularity_explicitness
from latentscm.metrics.multi_view import multi_view_r2
from latentscm.metrics.mutual_info import mutual_information
from latentscm.metrics.r2 import r2, r2_per_factor
from latentscm.metrics.ranking import map_at_k, mrr, precision_at_k, ranking_scores
from latentscm.metrics.sap import sap, sap_score_matrix
from latentscm.metrics.sid import sid
from latentscm.metrics.sortability import order_alignment, r2_sortability, sortability, varsortability
from latentscm.metrics.suite import (
    DISENTANGLEMENT_SUITE,
    METRICS,
    SUITES,
    compute_metric,
    compute_metrics,
)
from latentscm.metrics.temporal_graph import (
    lag_tolerant_f1,
    normalized_shd,
    summary_auprc,
    summary_auroc,
    temporal_graph_scores,
    window_auprc,
    window_auroc,
)

__all__ = [
    "DISENTANGLEMENT_SUITE",
    "METRICS",
    "SUITES",
    "active_units",
    "arrowhead_scores",
    "autocorrelation_distance",
    "betavae_score",
    "compare_graphs",
    "compute_metric",
    "compute_metrics",
    "content_style_r2",
    "counterfactual_metrics",
    "evaluate",
    "FactorRegressor",
    "image_distance",
    "correlation_matrix",
    "dag_to_cpdag",
    "dci",
    "dci_from_importance",
    "discriminative_score",
    "domain_counterfactual_error",
    "domain_counterfactual_soundness",
    "edge_auprc",
    "edge_auroc",
    "factorvae_score",
    "generator_fidelity",
    "importance_matrix",
    "infomec",
    "lag_tolerant_f1",
    "map_at_k",
    "maximum_mean_discrepancy",
    "mcc",
    "mean_vs_sampled",
    "mig",
    "multi_view_r2",
    "modularity_explicitness",
    "mrr",
    "mutual_information",
    "normalized_shd",
    "order_alignment",
    "precision_at_k",
    "r2",
    "r2_per_factor",
    "r2_sortability",
    "ranking_scores",
    "sample_codes",
    "sap",
    "sap_score_matrix",
    "shd",
    "sid",
    "skeleton_scores",
    "sortability",
    "summary_auprc",
    "summary_auroc",
    "temporal_graph_scores",
    "unit_kl",
    "varsortability",
    "window_auprc",
    "window_auroc",
]
