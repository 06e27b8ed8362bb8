"""FactorRegressor: R^2 counts a biased read-out against it, and a failed refit changes nothing."""

import numpy as np
import pytest

from latentscm import worlds
from latentscm.metrics.factor_regressor import FactorRegressor

SMALL = {"n_train": 128, "n_test": 64, "steps": 5, "batch_size": 32, "seed": 0}


@pytest.fixture(scope="module")
def world():
    return worlds.make("sprites", size=16)


def test_r2_counts_an_offset_against_the_read_out(world):
    class Shifted(FactorRegressor):  # every prediction half a range too high
        def predict(self, images):
            return super().predict(images) + 0.5 * self.ranges_

    plain = FactorRegressor(**SMALL).fit(world)
    shifted = Shifted(**SMALL).fit(world)  # the same network (same seed and data); only the read-out moves
    from latentscm.worlds.regimes import RandomDo, Regime

    regime = Regime("independent", {name: RandomDo("range") for name in world.factor_names})
    test = world.sample(SMALL["n_test"], seed=SMALL["seed"] + 1, regime=regime)  # the held-out set fit scores on
    residual = plain.predict(test.images) - test.factors
    variance = test.factors.var(0)
    for j, name in enumerate(plain.factor_names_):
        offset = residual[:, j] + 0.5 * plain.ranges_[j]
        assert plain.r2_[name] == pytest.approx(1 - np.mean(residual[:, j] ** 2) / variance[j])
        assert shifted.r2_[name] == pytest.approx(1 - np.mean(offset ** 2) / variance[j])
        assert shifted.r2_[name] < plain.r2_[name] - 0.5  # 1 - Var(residual) / Var(y) would not move at all


def test_a_refit_that_fails_leaves_the_regressor_as_it_was(world):
    class FailsSecondTime(FactorRegressor):
        calls = 0

        def predict(self, images):
            FailsSecondTime.calls += 1
            if FailsSecondTime.calls > 1:
                raise KeyboardInterrupt  # interrupted after training, before the scores
            return super().predict(images)

    regressor = FailsSecondTime(**SMALL).fit(world)
    before = dict(vars(regressor))
    with pytest.raises(KeyboardInterrupt):
        regressor.fit(world)
    assert all(vars(regressor)[k] is v for k, v in before.items() if k.endswith("_"))
    FailsSecondTime.calls = 0
    images = world.sample(4, seed=3).images
    np.testing.assert_array_equal(regressor.predict(images), FactorRegressor.predict(regressor, images))
