"""The exact read-out of the balls world, alone and as the extreme-value probe's instrument."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.probes import extreme_values
from latentscm.probes.balls_readout import BallsReadout
from latentscm.probes.readouts import as_readout, has_oracle_readout, oracle_readout
from latentscm.worlds import make


def test_whole_uncovered_balls_are_read_to_a_twentieth_of_a_pixel():
    world = make("balls", balls=3, size=32, radius=0.08)
    readout = oracle_readout(world, seed=0)
    assert isinstance(readout, BallsReadout) and readout.factor_names_ == world.factor_names
    factors = np.array([[-0.3, 0.2, 0.0, -0.1, 0.3, 0.25], [0.111, -0.333, -0.2, 0.17, 0.27, -0.05]])
    np.testing.assert_allclose(readout.predict(world.render(factors)), factors, atol=0.05 / 32)  # 1/20 pixel
    # on independent uniform draws, cut and covered balls read biased: that is what mae_ reports, and the whole ones'
    # error (mae_whole_) is the unmixing's and the centroid's alone
    assert max(readout.mae_whole_.values()) < 0.002 < max(readout.mae_.values())
    batch = world.sample(1000, seed=7)  # a fresh draw of the world's own (independent uniform) distribution
    error = np.abs(readout.predict(batch.images) - batch.factors).mean(0)
    for j, name in enumerate(readout.factor_names_):
        assert readout.mae_[name] == pytest.approx(error[j], rel=0.35, abs=0.002)


def test_a_covered_ball_reads_its_visible_part_and_a_blank_image_reads_nan():
    world = make("balls", balls=2, size=32, radius=0.1)
    readout = oracle_readout(world)
    coverage = readout.coverage(world.render(np.array([[0.0, 0.0, 0.1, 0.0]])))[0]
    assert coverage[0].sum() < 0.7 * coverage[1].sum()  # ball 0 lies partly under ball 1
    x0 = readout.predict(world.render(np.array([[0.0, 0.0, 0.1, 0.0]])))[0, 0]
    assert x0 < -0.02  # its visible part lies to the left of its centre
    assert np.isnan(readout.predict(np.zeros((2, 3, 32, 32)))).all()
    bad = world.render(np.array([[0.0, 0.0, 0.2, 0.2]]))
    bad[0, 0, 0, 0] = np.nan
    assert np.isnan(readout.predict(bad)).all()
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        readout.predict(np.zeros((2, 3, 16, 16)))
    with pytest.raises(RuntimeError, match="not fitted"):
        BallsReadout().predict(np.zeros((1, 3, 32, 32)))


def test_more_than_three_balls_have_no_oracle():
    four = make("balls", balls=4, size=16)
    assert not has_oracle_readout(four) and has_oracle_readout(make("balls", balls=3, size=16))
    with pytest.raises(ValueError, match="'balls' of at most 3 balls"):
        oracle_readout(four)
    with pytest.raises(ValueError, match="4 balls"):
        BallsReadout().fit(four)
    readout = as_readout("oracle", make("balls", balls=1, size=16), seed=0, owner="test")
    assert readout.factor_names_ == ["ball0_x", "ball0_y"]


class _BallModel:
    """A "learner" on one ball whose units are known: z0 -> x, z1 -> y (0.45 tanh), z2 passive."""

    def __init__(self, world):
        self.world, self.readout = world, BallsReadout(n_test=16).fit(world)

    def encode(self, x, *, sample: bool = False, seed: int | None = None) -> np.ndarray:
        factors = self.readout.predict(getattr(x, "images", x))
        codes = np.zeros((len(factors), 3), dtype=np.float32)
        codes[:, :2] = np.arctanh(np.clip(factors / 0.45, -0.99, 0.99))
        if sample:
            codes[:, 2] = np.random.default_rng(seed).standard_normal(len(factors))
        return codes

    def decode(self, z) -> np.ndarray:
        return self.world.render(0.45 * np.tanh(np.asarray(z, dtype=np.float64)[:, :2]))


def test_the_extreme_value_probe_reads_balls_with_the_oracle():
    world = make("balls", balls=1, size=16, radius=0.1)
    effects = extreme_values(_BallModel(world), world, scale=3.0, levels=9, n=20, n_boot=200, seed=0)
    x, y = effects.factor_names.index("ball0_x"), effects.factor_names.index("ball0_y")
    assert effects.monotone()[0, x] and effects.ols_ci[0, x, 0] > 0
    assert effects.monotone()[1, y] and effects.ols_ci[1, y, 0] > 0
    assert effects.ols_ci[0, y, 0] <= 0 <= effects.ols_ci[0, y, 1] or np.abs(effects.effect[0, :, y]).max() < 0.01
    assert np.abs(effects.effect[2]).max() < 1e-9  # the passive unit changes nothing


def test_latentscm_probe_measures_a_balls_run_with_the_oracle(tmp_path):
    """End to end: a tiny beta-VAE run on balls, then `latentscm probe --kind extreme` with the default oracle read-out
    (which needed binary sprites before), its held-out error recorded per ball factor."""
    import json

    from typer.testing import CliRunner

    from latentscm.cli import app

    run = tmp_path / "run"
    trained = CliRunner().invoke(app, ["train", "--learner", "beta_vae", "--world", "balls", "--world-set", "size=16",
                                       "--world-set", "balls=2", "--n-samples", "64", "--batch-size", "8", "--steps",
                                       "4", "--set", "channels=[4,8]", "--set", "hidden_dim=16", "--set",
                                       "latent_dim=3", "--no-progress", "--threads", "1", "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "probe"
    result = CliRunner().invoke(app, ["probe", str(run), "--kind", "extreme", "--out", str(out), "--n", "8",
                                      "--levels", "5"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "extreme.json").read_text())
    assert data["factors"] == ["ball0_x", "ball0_y", "ball1_x", "ball1_y"]
    assert data["measure"] == "oracle"
    assert sorted(data["readout_error"]) == data["factors"] and max(data["readout_error"].values()) < 0.02
