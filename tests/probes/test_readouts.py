import numpy as np
import pytest

from latentscm import worlds
from latentscm.probes.readouts import SpritesReadout, as_readout, oracle_readout


def test_sprites_readout_matches_true_factors(sprites16):
    readout = oracle_readout(sprites16, seed=0)
    assert readout.factor_names_ == ["scale", "posX", "posY"]
    batch = sprites16.sample(400, seed=11)
    predicted = readout.predict(batch.images)
    truth = batch.factors[:, [sprites16.factor_names.index(n) for n in readout.factor_names_]]
    error = np.abs(predicted - truth).mean(0) / readout.ranges_
    # position is the inverse of the renderer's paste offset: within a few percent of the range
    assert error[1] < 0.05 and error[2] < 0.05
    # scale is read through the shapes' different areas: coarser, but far better than guessing (0.25)
    assert error[0] < 0.16
    # the reported held-out error is an honest estimate of this error
    for j, name in enumerate(readout.factor_names_):
        assert readout.mae_[name] == pytest.approx(error[j], rel=0.35, abs=0.01)
    # positions are read without bias: the error is not a constant offset
    assert abs(np.mean(predicted[:, 1] - truth[:, 1])) < 0.02


def test_readout_is_sharper_at_larger_size():
    small = oracle_readout(worlds.make("sprites", size=16), seed=0)
    large = oracle_readout(worlds.make("sprites", size=32), seed=0)
    assert large.mae_["posX"] < small.mae_["posX"]


def test_blank_image_reads_nan(sprites16):
    readout = oracle_readout(sprites16)
    out = readout.predict(np.zeros((2, 1, 16, 16), dtype=np.float32))
    assert np.isnan(out).all()


def test_oracle_refused_for_worlds_without_one():
    with pytest.raises(ValueError, match="exact read-out.*'pendulum'"):
        oracle_readout(worlds.make("pendulum", size=16))
    with pytest.raises(ValueError, match="variant 'color'"):
        oracle_readout(worlds.make("sprites", size=16, variant="color"))


def test_as_readout_errors(sprites16):
    with pytest.raises(ValueError, match="'measure' parameter"):
        as_readout("oracel", sprites16, seed=0, owner="x")
    with pytest.raises(ValueError, match="not fitted"):
        as_readout(SpritesReadout(), sprites16, seed=0, owner="x")
    with pytest.raises(TypeError, match="'measure' parameter"):
        as_readout(3, sprites16, seed=0, owner="x")
    with pytest.raises(ValueError, match="wrong|shape"):
        oracle_readout(sprites16).predict(np.zeros((2, 3, 16, 16)))
