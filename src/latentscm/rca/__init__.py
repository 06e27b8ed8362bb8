"""Online root-cause analysis (RCA) on multivariate time series.

- trigger-point detection: :class:`SSACusumDetector` (multivariate SSA + CUSUM, as in CORAL) and the
  :class:`ZScoreDetector` baseline, scored by :func:`detection_delay` and :func:`false_alarms`;
- incremental causal graph learning: :class:`IncrementalGraph` (state-invariant part plus a sparse
  state-dependent change, warm-started);
- propagation: :func:`random_walk_with_restart` (personalised PageRank backwards along the graph)
  and :func:`mix_scores`;
- the pipeline :class:`CoralRCA` (Wang et al., KDD 2023) and the graph-free baselines
  :func:`nsigma_scores`, :func:`baro_scores` and :func:`random_scores`.

Rankings are evaluated with :mod:`latentscm.metrics.ranking` (PR@k, MAP@k, MRR).
"""

from latentscm.rca.baselines import baro_scores, nsigma_scores, random_scores
from latentscm.rca.coral import CoralRCA, RCAResult, walk_and_mix
from latentscm.rca.detection import OnlineDetector, TriggerResult
from latentscm.rca.detection_metrics import detection_delay, false_alarms
from latentscm.rca.incremental_graph import IncrementalGraph
from latentscm.rca.random_walk import random_walk_with_restart, transition_matrix
from latentscm.rca.scores import mix_scores, normalise_scores, rank_by_score
from latentscm.rca.ssa_cusum import SSACusumDetector
from latentscm.rca.zscore import ZScoreDetector

__all__ = [
    "CoralRCA",
    "IncrementalGraph",
    "OnlineDetector",
    "RCAResult",
    "SSACusumDetector",
    "TriggerResult",
    "ZScoreDetector",
    "baro_scores",
    "detection_delay",
    "false_alarms",
    "mix_scores",
    "normalise_scores",
    "nsigma_scores",
    "random_scores",
    "random_walk_with_restart",
    "rank_by_score",
    "transition_matrix",
    "walk_and_mix",
]
