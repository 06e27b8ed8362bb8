import numpy as np
import pytest

from latentscm import worlds
from latentscm.probes.readouts import SpritesReadout, as_readout, oracle_readout, reconstruction_readout_error


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


def test_threshold_reads_renders_alike_and_a_grey_image_as_its_mode(sprites16):
    plain, mode = oracle_readout(sprites16, seed=0), SpritesReadout(seed=0, threshold=0.5).fit(sprites16)
    batch = sprites16.sample(50, seed=3)
    np.testing.assert_array_equal(mode.predict(batch.images), plain.predict(batch.images))  # renders are binary
    assert mode.mae_ == plain.mae_
    # a faint haze over the whole canvas moves the plain centroid towards the centre and adds mass; the mode
    # image is the render itself
    hazy = np.clip(batch.images * 0.9 + 0.2, 0.0, 1.0).astype(np.float32)
    np.testing.assert_array_equal(mode.predict(hazy), mode.predict(batch.images))
    assert np.abs(plain.predict(hazy) - plain.predict(batch.images)).max() > 0.05
    with pytest.raises(ValueError, match="'threshold'"):
        SpritesReadout(threshold=1.0)


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


class _CentreDecoder:
    """Encodes anything; decodes every code to the same sprite at the centre of the canvas."""

    def __init__(self, oracle_model):
        self.oracle_model = oracle_model

    def encode(self, x):
        return self.oracle_model.encode(x)

    def decode(self, z):
        return self.oracle_model.decode(np.zeros_like(np.asarray(z)))


def test_reconstruction_readout_error_separates_a_faithful_decoder_from_a_blind_one(sprites16, oracle_model):
    readout = oracle_readout(sprites16, seed=0)
    faithful = reconstruction_readout_error(oracle_model, sprites16, readout, n=200, seed=3)
    blind = reconstruction_readout_error(_CentreDecoder(oracle_model), sprites16, readout, n=200, seed=3)
    assert set(faithful) == {"scale", "posX", "posY"}
    # the oracle model redraws position up to pixel rounding and its clipped logit
    assert faithful["posX"] < 0.03 and faithful["posY"] < 0.03
    # a decoder that always draws the centre is off by E|posX - 0.5| = 0.25 of the range (uniform posX)
    assert blind["posX"] == pytest.approx(0.25, abs=0.05) and blind["posY"] == pytest.approx(0.25, abs=0.05)
    # the same seed gives the same images, hence the same numbers
    assert reconstruction_readout_error(oracle_model, sprites16, readout, n=200, seed=3) == faithful


def test_reconstruction_readout_error_refuses_a_learner_without_decoder(sprites16):
    class EncoderOnly:
        def encode(self, x):
            return np.zeros((len(x), 2))

    with pytest.raises(ValueError, match="decode.*EncoderOnly"):
        reconstruction_readout_error(EncoderOnly(), sprites16, oracle_readout(sprites16), n=10)


def test_a_non_finite_pixel_reads_nan_with_or_without_threshold(sprites16):
    plain, mode = oracle_readout(sprites16, seed=0), SpritesReadout(seed=0, threshold=0.5).fit(sprites16)
    images = sprites16.sample(3, seed=0).images.copy()
    images[0, 0, 0, 0] = np.nan  # a corner pixel, away from the sprite: thresholded it used to count as background
    images[1, 0, 0, 0] = np.inf
    for readout in (plain, mode):
        out = readout.predict(images)
        assert np.isnan(out[:2]).all() and np.isfinite(out[2]).all()


def test_reconstruction_readout_error_takes_any_measure(sprites16, oracle_model):
    """The readout is resolved like every probe's measure: a name is fitted with the seed, a bad one is named."""
    by_name = reconstruction_readout_error(oracle_model, sprites16, "oracle", n=50, seed=3)
    assert by_name == reconstruction_readout_error(oracle_model, sprites16, oracle_readout(sprites16, seed=3), n=50,
                                                   seed=3)
    with pytest.raises(ValueError, match="'measure' parameter of reconstruction_readout_error"):
        reconstruction_readout_error(oracle_model, sprites16, "oracel", n=10)
    with pytest.raises(TypeError, match="'measure' parameter of reconstruction_readout_error"):
        reconstruction_readout_error(oracle_model, sprites16, 3, n=10)
