"""Learned time-series generators with known ground truth.

:class:`CausalTimeGenerator` (Cheng et al. 2024, "CausalTime") fits neural dynamics to any
multivariate series and generates realistic series whose causal graph is known by construction.
Procedural worlds with exact oracles live in :mod:`latentscm.worlds.timeseries`; discovery methods in
:mod:`latentscm.discovery.timeseries`.
"""

from latentscm.timeseries.causaltime import CausalTimeGenerator, GeneratedSeries, MaskedLagNetwork

__all__ = ["CausalTimeGenerator", "GeneratedSeries", "MaskedLagNetwork"]
