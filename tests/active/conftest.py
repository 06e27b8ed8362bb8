"""Tiny shared fixtures for the active-inference tests: a 16x16 shapes3d environment, a seeded
transition set, and tiny fitted world models (a few steps: the tests check mechanics,
determinism and errors, not learning)."""

from __future__ import annotations

import pytest

from latentscm import worlds
from latentscm.active import EntangledModel, FactorisedModel, PoseEnvironment, sample_transitions

#: Tiny networks: 16x16 images, two 4-channel convolutions.
TINY = {"channels": (4, 4), "hidden_dim": 16, "transition_hidden": 8, "batch_size": 8, "steps": 3}


@pytest.fixture(scope="session")
def env() -> PoseEnvironment:
    return PoseEnvironment(worlds.make("shapes3d", size=16))


@pytest.fixture(scope="session")
def transitions(env):
    return sample_transitions(env, 24, seed=0)


def fit_factorised(env, transitions, seed: int = 0) -> FactorisedModel:
    return FactorisedModel(shape_dim=3, pose_dim=2, seed=seed, **TINY).fit(transitions, n_actions=env.n_actions)


def fit_entangled(env, transitions, seed: int = 0) -> EntangledModel:
    return EntangledModel(latent_dim=5, seed=seed, **TINY).fit(transitions, n_actions=env.n_actions)


@pytest.fixture(scope="session")
def factorised(env, transitions) -> FactorisedModel:
    return fit_factorised(env, transitions)


@pytest.fixture(scope="session")
def entangled(env, transitions) -> EntangledModel:
    return fit_entangled(env, transitions)
