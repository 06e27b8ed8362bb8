"""Temporal causal discovery: multivariate Granger, PCMCI, PCMCI+, VARLiNGAM and neural Granger (cMLP).

Every method takes a series (T, d) and returns a :class:`TemporalGraph` with ``scores[tau, i, j]``,
``pvalues`` (where the method has them), ``adjacency(alpha)`` and ``to_networkx()``. PCMCI and PCMCI+
run on the CI-test registry (:mod:`latentscm.discovery.ci_tests`), which this package extends with
``"parcorr"``.
"""

from latentscm.discovery.timeseries.cmlp import cmlp_granger
from latentscm.discovery.timeseries.granger import granger
from latentscm.discovery.timeseries.parcorr import ParCorr
from latentscm.discovery.timeseries.pcmci import pcmci
from latentscm.discovery.timeseries.pcmci_plus import pcmci_plus
from latentscm.discovery.timeseries.result import TemporalGraph
from latentscm.discovery.timeseries.varlingam import direct_lingam_order, varlingam

__all__ = [
    "ParCorr",
    "TemporalGraph",
    "cmlp_granger",
    "direct_lingam_order",
    "granger",
    "pcmci",
    "pcmci_plus",
    "varlingam",
]
