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
    "cauca": {"graph": "z0 -> z1"},
}

#: Worlds for learners that cannot train on random images: CauCA unmixes vectors of as many numbers as latents.
LEARNER_WORLDS = {"cauca": lambda: worlds.make("nonlinear-ica", latents=3)}


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
    if name in LEARNER_WORLDS:
        world = LEARNER_WORLDS[name]()
    elif getattr(cls, "uses_factors", False):
        world = worlds.make("pendulum", size=16, noise_std=0.3)
    check_learner(cls, params=LEARNER_PARAMS.get(name), world=world)


@pytest.mark.parametrize("name", ci_test_names())
def test_ci_test(name):
    check_ci_test(make_ci_test(name))


# --- the checks catch components that break the contract they claim to check --------------------

import numpy as np  # noqa: E402

from latentscm.discovery.ci_tests.fisher_z import FisherZ  # noqa: E402
from latentscm.learners.vae import BetaVAE  # noqa: E402
from latentscm.worlds.base import RENDER_SEED, Batch  # noqa: E402
from latentscm.worlds.pendulum import Pendulum  # noqa: E402


class _DecodeDropsBatchOfOne(BetaVAE):
    def decode(self, z):
        out = super().decode(z)
        return out[0] if len(out) == 1 else out


class _SampleOutOfRange(BetaVAE):
    def sample(self, n, *, seed):
        return super().sample(n, seed=seed).astype(np.float64) * 3.0 - 1.0


class _ReconstructLogits(BetaVAE):
    def reconstruct(self, x):
        return super().reconstruct(x) * 4.0 - 2.0


class _SampledCodesAreMeans(BetaVAE):
    def encode(self, x, *, sample=False, seed=None):
        return super().encode(x)


class _DecodeUnfittedAttributeError(BetaVAE):
    def decode(self, z):
        self.decoder_  # noqa: B018 - AttributeError before fit, not NotFittedError
        return super().decode(z)


class _SampleIgnoresSeed(BetaVAE):
    def sample(self, n, *, seed):
        super().sample(1, seed=seed)  # refuses seed=None like the base class
        return super().sample(n, seed=0)


class _SampledCodesFloat64(BetaVAE):
    def encode(self, x, *, sample=False, seed=None):
        codes = super().encode(x, sample=sample, seed=seed)
        return codes.astype(np.float64) if sample else codes


class _EncodeClipsOutOfRange(BetaVAE):
    def encode(self, x, *, sample=False, seed=None):
        return super().encode(np.clip(getattr(x, "images", x), 0.0, 1.0), sample=sample, seed=seed)


class _DecodeZeroesNaN(BetaVAE):
    def decode(self, z):
        return super().decode(np.nan_to_num(np.asarray(z, dtype=np.float32)))


class _NoSeedParameter(BetaVAE):
    def __init__(self, latent_dim=3, channels=(4, 8), hidden_dim=16, batch_size=8, steps=3, lr=1e-3):
        super().__init__(latent_dim=latent_dim, channels=channels, hidden_dim=hidden_dim, batch_size=batch_size,
                         steps=steps, lr=lr)


@pytest.mark.parametrize("broken, message", [
    (_DecodeDropsBatchOfOne, "decode of one code gave"),
    (_SampleOutOfRange, "sample gave float64"),
    (_ReconstructLogits, "reconstruct gave values outside"),
    (_SampledCodesAreMeans, r"encode\(sample=True\) returned the posterior means"),
    (_DecodeUnfittedAttributeError, "decode before fit: raised AttributeError"),
    (_SampleIgnoresSeed, r"sample ignores the seed"),
    (_SampledCodesFloat64, r"encode\(sample=True\) gave float64"),
    (_EncodeClipsOutOfRange, r"encode on images outside \[0, 1\]: no error"),
    (_DecodeZeroesNaN, "decode on NaN codes: no error"),
    (_NoSeedParameter, "takes no 'seed'"),
])
def test_check_learner_catches_a_broken_learner(broken, message):
    with pytest.raises(AssertionError, match=message):
        check_learner(broken)


class _RenoisingPendulum(Pendulum):
    """Re-draws the descendants of the target from fresh noise instead of keeping the unit's own."""

    def counterfactual(self, batch, interventions):
        exact = super().counterfactual(batch, interventions)
        if not interventions:
            return exact
        fresh = self.sample(len(batch), seed=12345, interventions=interventions)
        factors = exact.factors.copy()
        for name in set(self.graph.descendants_of(list(interventions))) - set(interventions):
            j = self.factor_names.index(name)
            factors[:, j] = fresh.factors[:, j]
        images = self.render(factors, render_seeds=batch.noise.get(RENDER_SEED))
        return Batch(images, factors, dict(batch.noise), tuple(self.factor_names), batch.regime, batch.targets,
                     batch.regimes)


def test_check_world_catches_a_counterfactual_that_draws_new_noise():
    with pytest.raises(AssertionError, match="must keep the sample's exogenous noise"):
        check_world(_RenoisingPendulum(size=16, noise_std=0.3), n=16, seed=0)


class _FrozenDescendantsPendulum(Pendulum):
    """Sets the intervened factor and re-renders, but never recomputes its descendants."""

    def counterfactual(self, batch, interventions):
        exact = super().counterfactual(batch, interventions)  # keeps the errors on bad interventions
        factors = np.array(batch.factors, dtype=np.float64, copy=True)
        for name, value in dict(interventions).items():
            factors[:, self.factor_names.index(name)] = value
        images = self.render(factors, render_seeds=batch.noise.get(RENDER_SEED))
        return Batch(images, factors, dict(exact.noise), tuple(self.factor_names), batch.regime, batch.targets,
                     batch.regimes)


def test_check_world_catches_a_counterfactual_that_leaves_the_descendants_alone():
    with pytest.raises(AssertionError, match=r"changed none of its descendants \['shadow_length', 'shadow_position'\]"):
        check_world(_FrozenDescendantsPendulum(size=16, noise_std=0.3, grid=False), n=16, seed=0)


@pytest.mark.parametrize("call, error, message", [
    (lambda: check_ci_test(FisherZ(), alpha=5), ValueError, "'alpha' parameter of check_ci_test"),
    (lambda: check_ci_test(FisherZ(), alpha=0.0), ValueError, "'alpha' parameter of check_ci_test"),
    (lambda: check_ci_test(FisherZ(), n=3), ValueError, "'n' parameter of check_ci_test"),
    (lambda: check_ci_test(FisherZ(), seed=-1), ValueError, "'seed' parameter of check_ci_test"),
    (lambda: check_ci_test(FisherZ), TypeError, "'test' parameter of check_ci_test"),
    (lambda: check_learner(BetaVAE, image_shape=(16, 16)), ValueError, "'image_shape' parameter of check_learner"),
    (lambda: check_learner(BetaVAE, seed=-1), ValueError, "'seed' parameter of check_learner"),
    (lambda: check_learner(BetaVAE, n=0), ValueError, "'n' parameter of check_learner"),
    (lambda: check_learner(BetaVAE, world=Pendulum), TypeError, "'world' parameter of check_learner"),
    (lambda: check_world(Pendulum), TypeError, "'world' parameter of check_world"),
    (lambda: check_world(Pendulum(size=16), seed=-1), ValueError, "'seed' parameter of check_world"),
])
def test_checks_refuse_their_own_bad_arguments(call, error, message):
    """A bad argument of a check is named, never reported as a failure of the component under check."""
    with pytest.raises(error, match=message):
        call()


class _NanFillingFisherZ(FisherZ):
    def __init__(self, fill: str = "y"):
        self.fill = fill
        super().__init__()

    def get_params(self):
        return {"fill": self.fill}

    def test(self, x, y, z=None):
        if self.fill == "y":
            y = np.nan_to_num(np.asarray(y, dtype=float))
        elif z is not None:
            z = np.nan_to_num(np.asarray(z, dtype=float))
        return super().test(x, y, z)


@pytest.mark.parametrize("fill", ["y", "z"])
def test_check_ci_test_catches_nan_accepted_in_y_or_z(fill):
    with pytest.raises(AssertionError, match=f"NaN in {fill} was accepted"):
        check_ci_test(_NanFillingFisherZ(fill))
