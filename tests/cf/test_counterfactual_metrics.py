"""Counterfactual metrics on the real pendulum world, with three counterfactual models whose
answers are known: the exact oracle (scores 0), "change nothing", and a blurred oracle."""

import numpy as np
import pytest

from latentscm.metrics.counterfactual import counterfactual_metrics, image_distance
from latentscm.metrics.factor_regressor import FactorRegressor
from latentscm.worlds import Batch, make


class Oracle:
    """Answers with the world's exact counterfactual for images it has seen (exact lookup)."""

    def __init__(self, world, batch, blur=0.0):
        self.world, self.blur, self.memory = world, blur, {}
        self._remember(batch)

    def _remember(self, batch):
        for i in range(len(batch)):
            self.memory[batch.images[i].tobytes()] = batch[i]

    def counterfactual(self, images, interventions):
        missing = [i for i, image in enumerate(images) if image.tobytes() not in self.memory]
        if missing:
            raise LookupError(f"oracle has not seen {len(missing)} of {len(images)} images")
        rows = [self.memory[image.tobytes()] for image in images]
        batch = Batch.concatenate(rows)
        cf = self.world.counterfactual(batch, interventions)
        if self.blur:
            cf.images = np.clip((1 - self.blur) * cf.images + self.blur * cf.images.mean(), 0, 1).astype(np.float32)
        self._remember(cf)
        return cf.images


class Identity:
    def counterfactual(self, images, interventions):
        return images


@pytest.fixture(scope="module")
def world():
    return make("pendulum", size=32, noise_std=0.3)


@pytest.fixture(scope="module")
def regressor(world):
    return FactorRegressor(n_train=1000, n_test=300, steps=200, seed=0).fit(world)


def test_regressor_reads_factors(regressor):
    assert regressor.r2_["pendulum_angle"] > 0.8 and regressor.r2_["light_position"] > 0.8


def test_oracle_scores_perfectly_and_identity_scores_the_floor(world, regressor):
    n, seed = 24, 5
    batch = world.sample(n, seed=np.random.default_rng(seed))
    oracle = counterfactual_metrics(Oracle(world, batch), world, n=n, seed=seed, regressor=regressor,
                                    composition_steps=(1, 2))
    identity = counterfactual_metrics(Identity(), world, n=n, seed=seed, regressor=regressor,
                                      composition_steps=(1, 2))
    assert oracle["cf.true_error"] == 0.0
    assert oracle["cf.reversibility"] == 0.0 and oracle["cf.composition.m2"] == 0.0
    assert oracle["cf.commutativity"] == 0.0  # unrelated variables: hard interventions commute exactly
    assert set(k for k in oracle if k.startswith("cf.commutativity.")) == {
        "cf.commutativity.pendulum_angle|light_position", "cf.commutativity.shadow_length|shadow_position"}
    assert identity["cf.true_error"] == pytest.approx(identity["cf.identity_error"])
    assert identity["cf.true_error"] > 0.005
    # a model that does nothing is not effective; the oracle is, up to the regressor's own error
    assert oracle["cf.effectiveness.light_position"] < 0.5 * identity["cf.effectiveness.light_position"]
    assert oracle["cf.effect.light_position->shadow_position"] < identity["cf.effect.light_position->shadow_position"]
    # intervening on an effect leaves the cause: both models leak little; keys exist for every edge
    for cause, effect in world.graph.edges:
        assert f"cf.cause_leak.{cause}->{effect}" in oracle


def test_blurred_oracle_is_in_between(world):
    n, seed = 16, 2
    batch = world.sample(n, seed=np.random.default_rng(seed))
    blurred = counterfactual_metrics(Oracle(world, batch, blur=0.3), world, n=n, seed=seed,
                                     factors=["light_position"], composition_steps=(1,))
    identity = counterfactual_metrics(Identity(), world, n=n, seed=seed, factors=["light_position"],
                                      composition_steps=(1,))
    assert 0 < blurred["cf.true_error"]
    assert set(k for k in blurred if k.startswith("cf.true_error.")) == {"cf.true_error.light_position"}
    assert "cf.effectiveness" not in identity  # no regressor, no effectiveness


def test_bad_input(world):
    with pytest.raises(ValueError, match="Unknown factor 'lamp'"):
        counterfactual_metrics(Identity(), world, n=4, factors=["lamp"])
    with pytest.raises(ValueError, match="'commutativity_pairs' parameter of counterfactual_metrics"):
        counterfactual_metrics(Identity(), world, n=4, commutativity_pairs=-1)  # was read as 0 without a word
    with pytest.raises(ValueError, match="equal shapes"):
        image_distance(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 3)))


def test_excess_is_nan_where_the_intervention_leaves_the_images_unchanged():
    # review s22: the excess was divided by max(floor, 1e-12), which gave ~1e8 for a zero floor
    world = make("sprites", size=32)

    class Darken:
        def counterfactual(self, images, interventions):
            return np.asarray(images) * (0.98 if interventions else 0.99)

    result = counterfactual_metrics(Darken(), world, n=1, seed=0, composition_steps=())
    assert result["cf.identity_error.posY"] == 0.0  # moving this sprite along y changes no pixel
    assert np.isnan(result["cf.excess.posY"])
    finite = [result[f"cf.excess.{name}"] for name in world.factor_names if name != "posY"]
    assert result["cf.excess"] == pytest.approx(np.mean(finite))
