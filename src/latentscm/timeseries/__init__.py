"""Learned time-series generators with known ground truth.

:class:`CausalTimeGenerator` (Cheng et al. 2024, "CausalTime") fits neural dynamics to any
multivariate series and generates realistic series whose causal graph is known by construction;
:meth:`CausalTimeGenerator.to_world` turns the fitted dynamics into a :class:`GeneratedWorld` with
interventions and exact counterfactual trajectories.
Procedural worlds with exact oracles live in :mod:`latentscm.worlds.timeseries`; discovery methods in
:mod:`latentscm.discovery.timeseries`.
"""

from latentscm.timeseries.causaltime import CausalTimeGenerator, GeneratedSeries, MaskedLagNetwork
from latentscm.timeseries.generated_world import GeneratedWorld

__all__ = ["CausalTimeGenerator", "GeneratedSeries", "GeneratedWorld", "MaskedLagNetwork"]
