"""Probes of a trained representation: latent traversals, extreme-value effects (Beguš et al.
2023), potential flows (Song et al. 2023), each scored against a world's exact factors."""

from latentscm.probes.extreme_values import ExtremeValueEffects, cluster_bootstrap_mean, extreme_values
from latentscm.probes.potential_flows import (
    PotentialFlows,
    direction_baselines,
    factor_concentration,
    laplacian,
    linear_trajectories,
    pair_classifier_accuracy,
)
from latentscm.probes.readouts import SpritesReadout, oracle_readout
from latentscm.probes.traversals import latent_traversal, traversal_values

__all__ = ["latent_traversal", "traversal_values", "extreme_values", "ExtremeValueEffects",
           "cluster_bootstrap_mean", "SpritesReadout", "oracle_readout", "PotentialFlows", "laplacian",
           "direction_baselines", "linear_trajectories", "factor_concentration", "pair_classifier_accuracy"]
