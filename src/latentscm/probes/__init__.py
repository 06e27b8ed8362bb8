"""Probes of a trained representation: latent traversals, extreme-value effects (Beguš et al.
2023), potential flows (Song et al. 2023), gradient attribute controls (Chen et al. 2022) and
interchange interventions with capacity control (Geiger et al. 2024; Sutter et al. 2025), each
scored against a world's exact factors or high-level causal model."""

from latentscm.probes.alignment_maps import IdentityMap, RevNetMap, RotationMap, make_alignment_map
from latentscm.probes.attribute_controls import AttributeControls, EditFidelity, edit_fidelity
from latentscm.probes.extreme_values import ExtremeValueEffects, cluster_bootstrap_mean, extreme_values
from latentscm.probes.interchange import AlignmentCurve, InterchangeResult, alignment_curve, interchange_accuracy
from latentscm.probes.interchange_tasks import (
    HierarchicalEquality,
    InterchangeData,
    SpritesTwoFactors,
    equality_mlp,
    sprites_cnn,
    train_network,
)
from latentscm.probes.potential_flows import (
    PotentialFlows,
    cut_at_length,
    direction_baselines,
    factor_concentration,
    factor_sequences,
    laplacian,
    linear_trajectories,
    pair_classifier_accuracy,
    path_lengths,
)
from latentscm.probes.readouts import SpritesReadout, oracle_readout, reconstruction_readout_error
from latentscm.probes.traversals import latent_traversal, traversal_values

__all__ = ["latent_traversal", "traversal_values", "extreme_values", "ExtremeValueEffects",
           "cluster_bootstrap_mean", "SpritesReadout", "oracle_readout", "reconstruction_readout_error",
           "PotentialFlows", "laplacian",
           "direction_baselines", "linear_trajectories", "factor_concentration", "pair_classifier_accuracy",
           "factor_sequences", "path_lengths", "cut_at_length",
           "AttributeControls", "edit_fidelity", "EditFidelity", "interchange_accuracy", "alignment_curve",
           "InterchangeResult", "AlignmentCurve", "HierarchicalEquality", "SpritesTwoFactors", "InterchangeData",
           "equality_mlp", "sprites_cnn", "train_network", "IdentityMap", "RotationMap", "RevNetMap",
           "make_alignment_map"]
