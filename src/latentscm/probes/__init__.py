"""Probes of a trained representation: latent traversals, interventions at extreme values, ..."""

from latentscm.probes.traversals import latent_traversal, traversal_values

__all__ = ["latent_traversal", "traversal_values"]
