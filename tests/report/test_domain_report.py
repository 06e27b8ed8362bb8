"""The domain-counterfactual page and the ``latentscm domain-counterfactual`` command."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.learners.ild_vae import ILDVAE
from latentscm.report.domains import domain_counterfactual_rows, write_domain_report
from latentscm.worlds import DomainShift, make

SHIFT = {"n_domains": 3, "shifted": ("hue",), "strength": 1.5, "seed": 0}


@pytest.fixture(scope="module")
def world():
    return make("hue-sprites", size=16, n_positions=4, domains=DomainShift(**SHIFT))


@pytest.fixture(scope="module")
def run(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("ild_vae_run")
    ILDVAE(latent_dim=3, k=1, channels=(8, 8), hidden_dim=16, lr=3e-3, batch_size=16, steps=4, seed=0).fit(
        world.sample_domains(16, seed=0), out=str(out), progress=False)
    return out


def test_rows_are_input_model_truth(world):
    def swap_to_truth(x, source, target):  # a perfect model: the world's own oracle
        batch = world.sample(len(x), seed=5, domain=source)
        assert np.array_equal(batch.images, x)
        return world.domain_counterfactual(batch, to_domain=target).images

    rows = domain_counterfactual_rows(swap_to_truth, world, 0, 2, n_images=4, seed=5)
    assert [label for label, _ in rows] == ["input (domain 0)", "model \u2192 2", "truth \u2192 2"]
    np.testing.assert_array_equal(rows[1][1], rows[2][1])
    assert not np.array_equal(rows[0][1], rows[2][1])


def test_page_has_a_grid_and_numbers_per_pair(world, tmp_path):
    identity = lambda x, source, target: x  # noqa: E731 - the "change nothing" model
    path, metrics = write_domain_report(identity, world, tmp_path / "page.html", pairs=[(0, 1), (2, 0)],
                                        n_images=3, n_eval=16)
    page = path.read_text()
    assert page.count('<table class="cfgrid">') == 2 and "domain 2 \u2192 0" in page
    assert metrics["dcf.normalised"] == pytest.approx(1.0)  # the identity sits exactly on its floor
    vectors = make("ild-linear", latent_dim=3, n_domains=2, int_set=(0,), seed=0)
    path, _ = write_domain_report(identity, vectors, tmp_path / "vectors.html", n_images=2, n_eval=8)
    assert path.read_text().count('<table class="cfgrid">') == 2


def test_cli_writes_page_and_png(run, tmp_path):
    runner = CliRunner()
    base = ["domain-counterfactual", str(run), "--world", "hue-sprites", "--world-set", "size=16",
            "--world-set", "n_positions=4", "--shift", "n_domains=3", "--shift", "shifted=hue", "--shift",
            "strength=1.5", "--shift", "seed=0", "--n", "3", "--n-eval", "8", "--out", str(tmp_path / "dcf.html")]
    result = runner.invoke(app, [*base, "--to-domain", "2", "--png", str(tmp_path / "dcf.png")])
    assert result.exit_code == 0, result.output
    assert "normalised" in result.output and "2 pair(s)" in result.output
    assert (tmp_path / "dcf.png").stat().st_size > 0 and "domain 1 \u2192 2" in (tmp_path / "dcf.html").read_text()
    bad = runner.invoke(app, [*base, "--to-domain", "3"])
    assert bad.exit_code == 2 and "--to-domain 3 is out of range" in bad.output
    bad = runner.invoke(app, [*base, "--from-domain", "1", "--to-domain", "1"])
    assert bad.exit_code == 2 and "two different domains" in bad.output


def test_cli_trains_on_every_domain_and_reuses_the_recorded_shift(tmp_path):
    """``train --shift`` draws n_samples // n_domains images per domain and records the shift; resume
    and ``domain-counterfactual`` without --world rebuild the same multi-domain world."""
    import json

    runner = CliRunner()
    run = tmp_path / "run"
    train = ["train", "--world", "hue-sprites", "--world-set", "n_positions=4", "--size", "16", "--learner",
             "ild_vae", "--set", "latent_dim=3", "--set", "k=1", "--set", "channels=[8,8]", "--set", "hidden_dim=16",
             "--batch-size", "8", "--n-samples", "31", "--steps", "2", "--checkpoint-every", "1", "--no-progress",
             "--shift", "n_domains=3", "--shift", "shifted=hue", "--shift", "strength=1.5", "--out", str(run)]
    result = runner.invoke(app, train)
    assert result.exit_code == 0, result.output
    data = json.loads((run / "config.json").read_text())["data"]
    assert data["n_samples"] == 30 and data["domains"] == DomainShift(3, shifted=("hue",), strength=1.5).describe()
    resumed = runner.invoke(app, ["resume", str(run), "--steps", "3", "--no-progress"])
    assert resumed.exit_code == 0, resumed.output
    page = tmp_path / "dcf.html"
    shown = runner.invoke(app, ["domain-counterfactual", str(run), "--to-domain", "2", "--n", "2", "--n-eval", "4",
                                "--out", str(page)])
    assert shown.exit_code == 0, shown.output
    assert "2 pair(s)" in shown.output and "domain 1 \u2192 2" in page.read_text()
    mixed = runner.invoke(app, ["domain-counterfactual", str(run), "--shift", "n_domains=2", "--shift", "shifted=hue",
                                "--out", str(page)])
    assert mixed.exit_code == 2 and "--shift go with --world" in mixed.output
    no_shift = runner.invoke(app, ["domain-counterfactual", str(run), "--world", "hue-sprites", "--out", str(page)])
    assert no_shift.exit_code == 2 and "--world needs the domain shift" in no_shift.output
    plain = tmp_path / "plain"
    assert runner.invoke(app, [*train[:-8], "--out", str(plain)]).exit_code == 0
    single = runner.invoke(app, ["domain-counterfactual", str(plain), "--out", str(page)])
    assert single.exit_code == 2 and "without domains" in single.output
