"""Procedural worlds with exact ground truth: each knows its SCM, renders its images and returns
the true counterfactual image of any intervention."""

from latentscm.worlds.base import Batch, FactorSpec, OnGrid, World
from latentscm.worlds.domains import DomainShift, Environments
from latentscm.worlds.registry import REGISTRY, get, make, names, register
from latentscm.worlds.temporal import TemporalBatch, TemporalWorld

__all__ = ["Batch", "DomainShift", "Environments", "FactorSpec", "OnGrid", "REGISTRY", "TemporalBatch", "TemporalWorld",
           "World", "get", "make", "names", "register"]
