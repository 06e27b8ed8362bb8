"""``World.sample`` and ``World.counterfactual`` refuse a Shift / Scale of a categorical factor, as ``Regime.check``."""

from __future__ import annotations

import numpy as np
import pytest

import latentscm.worlds
from latentscm.interventions import Scale, Shift


@pytest.fixture(scope="module")
def sprites():
    return latentscm.worlds.make("sprites", size=32)


@pytest.mark.parametrize("item, message", [
    (Shift(1.0), r"shift 1.0 of factor 'shape' .* is categorical"),
    (Scale(2.0), r"scale 2.0 of factor 'shape' .* is categorical"),
])
def test_soft_intervention_on_a_categorical_factor_is_refused(sprites, item, message):
    batch = sprites.sample(4, seed=0)
    with pytest.raises(ValueError, match=message):
        sprites.counterfactual(batch, {"shape": item})
    with pytest.raises(ValueError, match=message):
        sprites.sample(4, seed=0, interventions={"shape": item})


def test_counterfactual_shift_wider_than_the_range_is_clipped(sprites):
    batch = sprites.sample(4, seed=0)
    column = list(sprites.factor_names).index("posX")
    cf = sprites.counterfactual(batch, {"posX": Shift(5.0)})
    np.testing.assert_array_equal(cf.factors[:, column], 1.0)


def test_valid_soft_counterfactual_still_moves_the_factor(sprites):
    batch = sprites.sample(4, seed=0)
    column = list(sprites.factor_names).index("posX")
    moved = sprites.counterfactual(batch, {"posX": Shift(0.1)}).factors[:, column]
    assert np.all(np.abs(moved - np.clip(batch.factors[:, column] + 0.1, 0.0, 1.0)) <= 1 / 31 + 1e-9)
