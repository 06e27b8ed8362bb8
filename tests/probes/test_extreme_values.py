import json

import numpy as np
import pytest
from scipy.stats import spearmanr

from latentscm.probes import cluster_bootstrap_mean, extreme_values


@pytest.fixture(scope="module")
def effects(oracle_model, sprites16):
    return extreme_values(oracle_model, sprites16, scale=4.0, levels=17, n=40, n_boot=300, seed=0)


def test_known_units_have_their_effects(effects):
    names = effects.factor_names
    pos_x, pos_y, scale = names.index("posX"), names.index("posY"), names.index("scale")
    error = effects.readout_error
    # unit 0 drives posX: monotone increasing (it saturates at the canvas edges: a plateau, never a reversal),
    # CI excludes 0
    assert effects.monotone()[0, pos_x] and effects.drawdown[0, pos_x] == 0
    assert effects.monotonicity[0, pos_x] > 0.9
    assert effects.ols_ci[0, pos_x, 0] > 0
    # ... and leaves posY alone: below 3x the read-out error (or a CI that covers 0)
    other = np.abs(effects.effect[0, :, pos_y]).max()
    assert other < 3 * error["posY"] * effects.factor_ranges[pos_y] or effects.ols_ci[0, pos_y, 0] <= 0 <= \
        effects.ols_ci[0, pos_y, 1]
    assert effects.monotone()[1, pos_y] and effects.ols_ci[1, pos_y, 0] > 0
    assert effects.monotone()[2, scale] and effects.ols_ci[2, scale, 0] > 0
    # monotonicity is Spearman's rho with ties at their average rank: scale's read-out is flat over 15 of 17
    # levels, so rho is well below 1 though the curve never falls
    for unit, factor in ((0, pos_x), (1, pos_y), (2, scale)):
        curve = effects.outcomes[unit, :, :, factor].mean(axis=1)
        assert effects.monotonicity[unit, factor] == pytest.approx(spearmanr(effects.levels[unit], curve)[0])
    assert effects.monotonicity[2, scale] < 0.7
    # the headline table puts the largest entry of each of the first three units on its factor
    assert np.argmax(np.abs(effects.effect_per_range[:3]), axis=1).tolist() == [pos_x, pos_y, scale]


def test_passive_unit_has_no_effect_and_prior_range(effects):
    # the decoder ignores unit 3: every effect is exactly zero, every CI covers 0
    assert np.all(effects.effect[3] == 0)
    assert np.all(effects.ols_ci[3, :, 0] <= 0) and np.all(effects.ols_ci[3, :, 1] >= 0)
    assert not effects.excludes_zero()[3].any()
    # its training range is the posterior samples' spread (the prior), not the collapsed means
    assert 1.3 < effects.half_range[3] < 3.5  # 0.5% quantiles of 40 N(0, 1) draws


def test_negligible_is_an_equivalence_test(effects, oracle_model, sprites16):
    # the exactly passive unit is negligible on every factor; the posX unit is not negligible on posX
    pos_x = effects.factor_names.index("posX")
    assert effects.negligible()[3].all()
    assert not effects.negligible()[0, pos_x]
    assert effects.table()["negligible"] == effects.negligible().tolist()

    class Leaky(type(oracle_model)):  # unit 3 leaks into posX's logit by 0.04 per code unit
        def decode(self, z):
            z = np.array(z, dtype=np.float64)
            z[:, 0] = z[:, 0] + 0.04 * z[:, 3]
            return super().decode(z)

    leaky = extreme_values(Leaky(sprites16), sprites16, units=[3], levels=17, n=40, n_boot=300, seed=0)
    # a deterministic decoder and an exact read-out: the tiny effect's CI excludes 0 ...
    assert leaky.excludes_zero()[0, pos_x]
    assert 0 < abs(leaky.effect_per_range[0, pos_x]) < leaky.readout_error["posX"]
    # ... yet it is smaller than the read-out can resolve: negligible at the default margin,
    # not at a margin below the effect
    assert leaky.negligible()[0].all()
    assert not leaky.negligible(margin=abs(leaky.effect_per_range[0, pos_x]) / 2)[0, pos_x]
    for bad in (-0.1, [0.1, 0.2], "wide", np.nan):
        with pytest.raises(ValueError, match="'margin'"):
            leaky.negligible(margin=bad)


def test_a_reversing_effect_is_not_monotone(oracle_model, sprites16):
    class Reversing(type(oracle_model)):  # posX rises, then falls back: logit 2 - |z0|
        def decode(self, z):
            z = np.array(z, dtype=np.float64)
            z[:, 0] = 2.0 - np.abs(z[:, 0])
            return super().decode(z)

    result = extreme_values(Reversing(sprites16), sprites16, units=[0], levels=17, n=20, n_boot=100, seed=0)
    pos_x = result.factor_names.index("posX")
    curve = result.outcomes[0, :, :, pos_x].mean(axis=1)
    falls = np.max(np.maximum.accumulate(curve) - curve) if curve[-1] >= curve[0] else \
        np.max(np.maximum.accumulate(-curve) + curve)
    assert result.drawdown[0, pos_x] == pytest.approx(falls) and falls > 0.5
    assert not result.monotone()[0, pos_x]
    assert result.monotone(margin=1.0)[0, pos_x]  # a reversal of the whole range is tolerated at margin 1
    with pytest.raises(ValueError, match="'margin'.*monotone"):
        result.monotone(margin=-1)


def test_a_unit_s_intervals_do_not_depend_on_the_other_units(effects, oracle_model, sprites16):
    alone = extreme_values(oracle_model, sprites16, units=[1], scale=4.0, levels=17, n=40, n_boot=300, seed=0)
    for name in ("effect_ci", "incremental_in_range_ci", "incremental_extreme_ci", "ols_ci"):
        np.testing.assert_array_equal(getattr(alone, name)[0], getattr(effects, name)[1])


def test_unreadable_images_drop_levels_not_bases(oracle_model, sprites16):
    full = extreme_values(oracle_model, sprites16, units=[0], levels=17, n=20, n_boot=100, seed=0)
    top = (full.levels[0, -2] + full.levels[0, -1]) / 2

    class BlankAtTheEnd(type(oracle_model)):  # the highest level of unit 0 decodes to an empty canvas
        def decode(self, z):
            images = super().decode(z)
            images[np.asarray(z)[:, 0] > top] = 0
            return images

    blank = extreme_values(BlankAtTheEnd(sprites16), sprites16, units=[0], levels=17, n=20, n_boot=100, seed=0)
    pos_x = blank.factor_names.index("posX")
    assert np.isnan(blank.outcomes[0, -1]).all() and np.isfinite(blank.outcomes[0, :-1]).all()
    # every base keeps its OLS slope, fitted on its 16 readable levels
    assert np.isfinite(blank.ols_slope).all() and np.isfinite(blank.ols_ci).all()
    levels = blank.levels[0, :-1]
    expected = np.mean([np.polyfit(levels, blank.outcomes[0, :-1, i, pos_x], 1)[0] for i in range(20)])
    assert blank.ols_slope[0, pos_x] == pytest.approx(expected)
    assert blank.excludes_zero()[0, pos_x] and blank.ols_slope[0, pos_x] > full.ols_slope[0, pos_x]


def test_sigmoid_saturates_beyond_training_range(effects):
    # the renderer cannot move a sprite past the edge: the extreme segment's slope is smaller
    pos_x = effects.factor_names.index("posX")
    assert abs(effects.incremental_extreme[0, pos_x]) < abs(effects.incremental_in_range[0, pos_x])
    # levels: odd count, centre is the middle one, in-range levels within ± half-range
    centre = effects.levels[0, effects.levels.shape[1] // 2]
    assert centre == pytest.approx(effects.centre[0])
    inside = np.abs(effects.levels[0] - effects.centre[0]) <= effects.half_range[0] * (1 + 1e-9)
    assert np.array_equal(inside, effects.in_range[0])
    assert json.dumps(effects.to_dict())


def test_extrapolation_is_flagged(oracle_model, sprites16):
    def linear_readout(images):  # reads a "posX" that leaves the factor range at extreme levels
        from latentscm.probes.readouts import _moments

        _, cx, cy, _ = _moments(images)
        out = np.zeros((len(images), 5))
        out[:, 3] = 3 * (cx / 16 - 0.5) + 0.5
        out[:, 4] = cy / 16
        out[:, 1] = 0.75
        return out

    result = extreme_values(oracle_model, sprites16, units=[0], levels=9, n=12, n_boot=50,
                            measure=linear_readout, seed=1)
    pos_x = result.factor_names.index("posX")
    assert result.extrapolated[0, 0, pos_x] > 0.5 and result.extrapolated[0, -1, pos_x] > 0.5
    assert result.extrapolated[0, 4, pos_x] < 0.5
    assert np.isnan(result.readout_error["posX"])


def test_seeded_and_reproducible(oracle_model, sprites16):
    a = extreme_values(oracle_model, sprites16, units=[0, 3], levels=5, n=10, n_boot=50, seed=3)
    b = extreme_values(oracle_model, sprites16, units=[0, 3], levels=5, n=10, n_boot=50, seed=3)
    np.testing.assert_array_equal(a.ols_ci, b.ols_ci)
    np.testing.assert_array_equal(a.outcomes, b.outcomes)


def test_cluster_bootstrap_against_normal_theory():
    rng = np.random.default_rng(0)
    values = rng.normal(1.0, 2.0, size=400)
    mean, interval = cluster_bootstrap_mean(values, n_boot=2000, ci=0.95, rng=np.random.default_rng(1))
    assert mean == pytest.approx(values.mean())
    half = 1.96 * values.std(ddof=1) / np.sqrt(400)
    assert interval[0] == pytest.approx(mean - half, abs=0.05)
    assert interval[1] == pytest.approx(mean + half, abs=0.05)
    # NaNs are ignored, not propagated
    values[:10] = np.nan
    mean, interval = cluster_bootstrap_mean(values, n_boot=200, ci=0.9, rng=np.random.default_rng(1))
    assert np.isfinite(mean) and np.all(np.isfinite(interval))


def test_bad_input(oracle_model, sprites16):
    from latentscm import worlds

    with pytest.raises(ValueError, match="'units'.*\\[0, 4\\)"):
        extreme_values(oracle_model, sprites16, units=[4], n=8)
    with pytest.raises(ValueError, match="'levels'.*odd"):
        extreme_values(oracle_model, sprites16, levels=10, n=8)
    with pytest.raises(ValueError, match="'scale'"):
        extreme_values(oracle_model, sprites16, scale=0.5, n=8)

    class EncoderOnly:
        def encode(self, x):
            return np.zeros((len(x), 2))

    with pytest.raises(TypeError, match="no decode"):
        extreme_values(EncoderOnly(), sprites16, n=8)
    with pytest.raises(ValueError, match="exact read-out"):
        extreme_values(oracle_model, worlds.make("pendulum", size=16), n=8)


def test_tiny_beta_vae_runs(sprites16):
    from latentscm import learners

    learner = learners.make("beta_vae", latent_dim=3, steps=30, batch_size=32, lr=1e-3, channels=(8, 8),
                            hidden_dim=32, seed=0).fit(sprites16, n_samples=256, progress=False)
    result = extreme_values(learner, sprites16, levels=5, n=16, n_boot=50, seed=0)
    assert result.outcomes.shape == (3, 5, 16, 3)
    assert result.effect_ci.shape == (3, 5, 3, 2)
    assert np.all(result.ols_ci[..., 0] <= result.ols_ci[..., 1])

    class Untouchable:  # a bad unit is refused before a read-out is fitted or a code is encoded
        latent_dim_ = learner.latent_dim_

        def encode(self, x):
            raise AssertionError("encode was called")

        def decode(self, z):
            raise AssertionError("decode was called")

    with pytest.raises(ValueError, match="'units'.*\\[0, 3\\). Got 3"):
        extreme_values(Untouchable(), sprites16, units=[3], n=8, measure="regressor")


def test_effect_table_figure(effects):
    from latentscm.report.figures import effect_table_figure

    png = effect_table_figure(effects)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
