"""Conformance checks any user-written component can run (like scikit-learn's
``check_estimator``): ``check_world``, ``check_learner``, ``check_ci_test``; and exact ground truth for
discovery algorithms: ``DSeparationOracle``, ``random_latent_dag``, ``true_mag``,
``true_pag``, ``is_ancestral``, ``maximally_oriented_pdag``, ``cpdag_members``, ``random_dag``,
``random_knowledge``, ``random_tiers``; data of known structure: ``simulate_nonlinear_sem``,
``simulate_interventional_latents`` (linear Gaussian latents through a random MLP, one perfect intervention per
latent; ``InterventionalLatents.world_structure`` makes the same model a world's SCM, rendered as images;
``chain_ica_world`` with ``CHAIN_REGIMES``: three latents of a known graph under a nonlinear mixing); and
causal-learn's graphs in our conventions for cross-checks: ``cpdag_from_causallearn``, ``pag_from_causallearn``;
small SCMs of known mediation effects: ``linear_mediation_scm``, ``nonlinear_mediation_scm``, ``chain_mediation_scm``,
``witness_mediation_scm`` (and their graphs); small SCMs of known conditional effects: ``linear_cate_scm``,
``nonlinear_cate_scm``, ``mediated_cate_scm`` (and their graphs).

Each check lives in its own module and is imported lazily so that importing
``latentscm.testing`` stays cheap.
"""

from __future__ import annotations

import importlib

_CHECKS = {
    "check_world": "latentscm.testing.world_checks",
    "check_learner": "latentscm.testing.learner_checks",
    "check_ci_test": "latentscm.testing.ci_test_checks",
    "DSeparationOracle": "latentscm.testing.oracles",
    "random_latent_dag": "latentscm.testing.oracles",
    "instrumented_latent_dag": "latentscm.testing.oracles",
    "mag_class": "latentscm.testing.oracles",
    "true_mag": "latentscm.testing.oracles",
    "maximally_oriented_pdag": "latentscm.testing.oracles",
    "true_pag": "latentscm.testing.oracles",
    "is_ancestral": "latentscm.testing.oracles",
    "random_dag": "latentscm.testing.oracles",
    "chain_ica_world": "latentscm.testing.chain_ica",
    "CHAIN_GRAPH": "latentscm.testing.chain_ica",
    "CHAIN_REGIMES": "latentscm.testing.chain_ica",
    "CHAIN_INTERVENED": "latentscm.testing.chain_ica",
    "minimal_imap": "latentscm.testing.oracles",
    "random_knowledge": "latentscm.testing.oracles",
    "random_tiers": "latentscm.testing.oracles",
    "random_selection_dag": "latentscm.testing.oracles",
    "cpdag_members": "latentscm.testing.oracles",
    "simulate_nonlinear_sem": "latentscm.testing.nonlinear_sem",
    "simulate_interventional_latents": "latentscm.testing.interventional_latents",
    "cpdag_from_causallearn": "latentscm.testing.causallearn_graphs",
    "pag_from_causallearn": "latentscm.testing.causallearn_graphs",
    "MEDIATION_GRAPH": "latentscm.testing.mediation_scms",
    "CHAIN_MEDIATION_GRAPH": "latentscm.testing.mediation_scms",
    "WITNESS_GRAPH": "latentscm.testing.mediation_scms",
    "linear_mediation_scm": "latentscm.testing.mediation_scms",
    "nonlinear_mediation_scm": "latentscm.testing.mediation_scms",
    "chain_mediation_scm": "latentscm.testing.mediation_scms",
    "witness_mediation_scm": "latentscm.testing.mediation_scms",
    "CATE_GRAPH": "latentscm.testing.cate_scms",
    "MEDIATED_CATE_GRAPH": "latentscm.testing.cate_scms",
    "linear_cate_scm": "latentscm.testing.cate_scms",
    "nonlinear_cate_scm": "latentscm.testing.cate_scms",
    "mediated_cate_scm": "latentscm.testing.cate_scms",
}

__all__ = sorted(_CHECKS)


def __getattr__(name: str):
    if name in _CHECKS:
        return getattr(importlib.import_module(_CHECKS[name]), name)
    raise AttributeError(f"module 'latentscm.testing' has no attribute {name!r}")
