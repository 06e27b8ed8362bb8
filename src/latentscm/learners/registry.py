"""The learner registry: names (CLI, presets, run directories) to ``module:Class`` paths.

Kept apart from :mod:`latentscm.learners.base` (and free of torch) so that run directories and
the training loop can look learners up without importing the learner classes themselves; see
:class:`latentscm._registry.Registry`.
"""

from __future__ import annotations

from latentscm._registry import Registry

__all__ = ["REGISTRY"]

#: The learner registry (``latentscm.learners.names/get/make/register`` use it).
REGISTRY = Registry("learner", "latentscm.learners.base:Learner", {
    "ae": "latentscm.learners.ae:AE",
    "beta_vae": "latentscm.learners.vae:BetaVAE",
    "annealed_vae": "latentscm.learners.vae:AnnealedVAE",
    "beta_tcvae": "latentscm.learners.tcvae:BetaTCVAE",
    "factor_vae": "latentscm.learners.factorvae:FactorVAE",
    "dip_vae_i": "latentscm.learners.dipvae:DIPVAEI",
    "dip_vae_ii": "latentscm.learners.dipvae:DIPVAEII",
    "qlae": "latentscm.learners.qlae:QLAE",
    "causal_vae": "latentscm.learners.causal_vae:CausalVAE",
    "causal_diffae": "latentscm.learners.causal_diffae:CausalDiffAE",
    "gcrl": "latentscm.learners.gcrl:GCRL",
    "dts": "latentscm.learners.dts:DTS",
    "ild_vae": "latentscm.learners.ild_vae:ILDVAE",
    "ivae": "latentscm.learners.ivae:IVAE",
    "ada_gvae": "latentscm.learners.ada_gvae:AdaGVAE",
    "slow_vae": "latentscm.learners.slow_vae:SlowVAE",
    "ilcm": "latentscm.learners.ilcm:ILCM",
    "contrastive": "latentscm.learners.contrastive:ContrastiveCRL",
    "multiview": "latentscm.learners.multiview:MultiViewCRL",
    "citris": "latentscm.learners.citris:CITRISVAE",
    "tdrl": "latentscm.learners.tdrl:TDRL",
    "cauca": "latentscm.learners.cauca:CauCA",
})
