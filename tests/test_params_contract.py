"""One configuration contract: get_params() from the constructor signature (scikit-learn's rule)
for CI tests and diffusion schedulers too, round-tripping ``type(x)(**x.get_params())``, and repr
built from it."""

import inspect

import pytest
import torch

from latentscm._params import params_repr
from latentscm.diffusion import DDIMScheduler, DDPMScheduler, NoiseSchedule
from latentscm.discovery.ci_tests import KCI, REGISTRY, CITest, RCoT
from latentscm.learners.vae import BetaVAE
from latentscm.testing import check_ci_test


def _constructor_names(cls):
    return [n for n, p in inspect.signature(cls.__init__).parameters.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


@pytest.mark.parametrize("name", REGISTRY.names())
def test_registered_ci_tests_round_trip(name):
    test = REGISTRY.make(name)
    params = test.get_params()
    assert list(params) == _constructor_names(type(test))
    rebuilt = type(test)(**params)
    assert type(rebuilt) is type(test) and repr(rebuilt.get_params()) == repr(params)
    assert repr(rebuilt) == repr(test)


def test_non_default_ci_test_params_round_trip_and_show_in_repr():
    test = RCoT(n_features=7, approximation="gamma", seed=3)
    assert test.get_params() == {"n_features": 7, "n_features_z": 100, "approximation": "gamma",
                                 "ridge": 1e-10, "seed": 3}
    assert RCoT(**test.get_params()).get_params() == test.get_params()
    assert repr(test) == "RCoT(n_features=7, approximation='gamma', seed=3)"
    kci = KCI(width="median", epsilon=0.01)
    assert kci.get_params()["width"] == "median" and kci.get_params()["epsilon"] == 0.01
    assert repr(KCI(**kci.get_params())) == repr(kci)
    assert repr(kci).startswith("KCI(width='median', epsilon=0.01")


class _Forgetful(CITest):
    """A user test that validates its argument but stores it under another name."""

    name = "forgetful"

    def __init__(self, *, level: float = 0.5):
        super().__init__()
        self._level = level

    def _prepare(self, data):
        return data

    def _compute(self, state, queries):
        raise NotImplementedError


def test_a_ci_test_that_hides_its_argument_is_named():
    with pytest.raises(TypeError, match="does not expose its constructor argument 'level'"):
        _Forgetful().get_params()
    with pytest.raises(AssertionError, match="type\\(t\\)\\(\\*\\*t.get_params\\(\\)\\) failed: .*'level'"):
        check_ci_test(_Forgetful())


@pytest.mark.parametrize("make", [
    lambda s: DDIMScheduler(s, eta=0.5, clip_sample=1.0, prediction_type="v_prediction"),
    lambda s: DDPMScheduler(s, variance_type="beta"),
])
def test_schedulers_round_trip(make):
    scheduler = make(NoiseSchedule("cosine", 50))
    params = scheduler.get_params()
    assert list(params) == _constructor_names(type(scheduler))
    assert params["schedule"] is scheduler.schedule
    rebuilt = type(scheduler)(**params)
    assert rebuilt.config == scheduler.config and rebuilt.get_params() == params
    # get_params and the serialisable config describe the same object
    assert set(params) == set(scheduler.config)
    x = torch.ones(2, 1, 4, 4)
    out = torch.zeros_like(x)
    t = int(scheduler.timesteps[0])
    generator = torch.Generator().manual_seed(0)
    again = torch.Generator().manual_seed(0)
    assert torch.equal(scheduler.step(out, t, x, generator=generator), rebuilt.step(out, t, x, generator=again))


def test_learner_repr_lists_non_defaults_via_params_repr():
    assert repr(BetaVAE()) == "BetaVAE()"
    learner = BetaVAE(beta=2.0, channels=[32, 32, 64, 64])  # a list equal to the default tuple is the default
    assert repr(learner) == params_repr(learner, learner.get_params())
    assert repr(learner) == "BetaVAE(beta=2.0)"
    assert repr(BetaVAE(channels=[8, 8])) == "BetaVAE(channels=(8, 8))"
