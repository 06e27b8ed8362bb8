"""Every registered learner, world and CI test passes its conformance check.

Driven by the registries, so a newly registered name is checked without anyone adding a test.
Names that need more than their defaults to be small or valid (a graph for causal learners, a
small image size) get them from the tables below; everything else runs with its defaults.
"""

import pytest

from latentscm import learners, worlds
from latentscm.discovery.ci_tests import ci_test_names, make_ci_test
from latentscm.testing import check_ci_test, check_learner, check_world

#: Small options for worlds whose defaults render large images (any world taking ``size`` gets 16).
WORLD_OPTIONS: dict[str, dict] = {}

#: Extra hyperparameters for learners that cannot run on their defaults.
LEARNER_PARAMS: dict[str, dict] = {
    "causal_vae": {"graph": "pendulum_angle -> shadow_length; light_position -> shadow_length"},
    "causal_diffae": {"graph": "light_position -> shadow_position", "unet_channels": 8,
                      "unet_multipliers": (1, 2), "ddim_steps": 2, "timesteps": 50},
}


def _small_world(name: str):
    cls = worlds.get(name)
    options = WORLD_OPTIONS.get(name)
    if options is None:
        from latentscm._params import constructor_parameters

        options = {"size": 16} if "size" in constructor_parameters(cls) else {}
    return cls(**options)


@pytest.mark.parametrize("name", worlds.names())
def test_world(name):
    check_world(_small_world(name), n=16, seed=0)


@pytest.mark.parametrize("name", learners.names())
def test_learner(name):
    cls = learners.get(name)
    world = None
    if getattr(cls, "uses_factors", False):
        world = worlds.make("pendulum", size=16, noise_std=0.3)
    check_learner(cls, params=LEARNER_PARAMS.get(name), world=world)


@pytest.mark.parametrize("name", ci_test_names())
def test_ci_test(name):
    check_ci_test(make_ci_test(name))
