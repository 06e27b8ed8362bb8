"""Ada-GVAE / Ada-ML-VAE (Locatello et al. 2020): the pair objective, pairs through the loop, resume, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from learners_support import TinyBlobs
from typer.testing import CliRunner

import latentscm
from latentscm.data import ImagePairs
from latentscm.learners import make as make_learner
from latentscm.learners.ada_gvae import (
    AdaGVAE,
    adaptive_changed_units,
    aggregate_posteriors,
    pair_divergence,
    shared_units,
)
from latentscm.learners.base import gaussian_kl

TINY = dict(latent_dim=3, channels=(4, 8), hidden_dim=16, batch_size=8, steps=6, lr=1e-3, seed=0,
            likelihood="gaussian")


@pytest.fixture(scope="module")
def world():
    return TinyBlobs(size=16)


def _gaussians(seed: int, shape=(5, 4)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), 0.5 * torch.randn(shape, generator=g)


def test_registered_and_listed():
    assert "ada_gvae" in latentscm.learners.names()
    assert isinstance(make_learner("ada_gvae", latent_dim=3), AdaGVAE)
    assert AdaGVAE.uses_pairs


@pytest.mark.parametrize("key, value", [("average", "mean"), ("aggregation", "guess"), ("pair_changes", 0),
                                        ("pair_changes", "all"), ("beta", -1.0)])
def test_bad_hyperparameters_are_named(key, value):
    with pytest.raises((TypeError, ValueError), match=key):
        AdaGVAE(**{key: value})


def test_pair_divergence_is_the_kl_between_the_two_posteriors():
    (m1, l1), (m2, l2) = _gaussians(0), _gaussians(1)
    expected = torch.distributions.kl_divergence(torch.distributions.Normal(m1, (0.5 * l1).exp()),
                                                 torch.distributions.Normal(m2, (0.5 * l2).exp()))
    torch.testing.assert_close(pair_divergence(m1, l1, m2, l2), expected)


def test_adaptive_shared_units_are_below_the_midpoint():
    divergence = torch.tensor([[0.0, 0.1, 5.0, 4.0], [1.0, 2.0, 3.0, 2.9], [0.3, 0.3, 0.3, 0.3]])
    shared = shared_units(divergence)
    # midpoints 2.5, 2.0 and 0.3: strictly below is shared (equal divergences share nothing)
    assert shared.tolist() == [[True, True, False, False], [True, False, False, False],
                               [False, False, False, False]]


def test_known_k_shares_the_units_with_the_smallest_divergence():
    divergence = torch.tensor([[0.0, 0.1, 5.0, 4.0], [1.0, 2.0, 3.0, 2.9]])
    shared = shared_units(divergence, torch.tensor([1, 3]))
    assert shared.tolist() == [[True, True, False, True], [True, False, False, False]]
    assert not shared_units(divergence, torch.tensor([4, 5])).any()  # as many changes as units: none shared


def test_gvae_averages_moments_and_mlvae_multiplies_the_gaussians():
    (m1, l1), (m2, l2) = _gaussians(2), _gaussians(3)
    v1, v2 = l1.exp(), l2.exp()
    mean, logvar = aggregate_posteriors(m1, l1, m2, l2, "gvae")
    torch.testing.assert_close(mean, (m1 + m2) / 2)
    torch.testing.assert_close(logvar.exp(), (v1 + v2) / 2)
    mean, logvar = aggregate_posteriors(m1, l1, m2, l2, "mlvae")
    # the product of the two Gaussians: precision-weighted mean, variance 1 / (1/v1 + 1/v2), here doubled
    torch.testing.assert_close(mean, (m1 / v1 + m2 / v2) / (1 / v1 + 1 / v2))
    torch.testing.assert_close(logvar.exp(), 2 / (1 / v1 + 1 / v2))


@pytest.mark.parametrize("average, aggregation", [("gvae", "adaptive"), ("mlvae", "known")])
def test_loss_is_the_two_beta_elbos_under_the_aggregated_posteriors(world, average, aggregation):
    """The loss against a pair-by-pair reference written from the paper's description."""
    model = AdaGVAE(**{**TINY, "beta": 2.5, "average": average, "aggregation": aggregation})
    model.fit(world, n_samples=32, progress=False)
    batch = world.sample(6, seed=3)
    partners = latentscm.worlds.pairs.counterfactual_pairs(world, batch, changes="random", seed=4)
    images, pair = torch.from_numpy(batch.images), torch.from_numpy(partners.images)
    changed = torch.from_numpy(partners.targets.sum(1))
    model._generator.manual_seed(11)
    with torch.no_grad():
        got = model.loss(images, 0, pair=pair, changed=changed)
        mean, logvar = model.encoder_(torch.cat([images, pair])).chunk(2, dim=1)
    noise = torch.randn((12, 3), generator=torch.Generator().manual_seed(11))
    total_recon, total_kl, d = 0.0, 0.0, 3
    with torch.no_grad():
        for i in range(6):
            m1, l1, m2, l2 = mean[i], logvar[i], mean[6 + i], logvar[6 + i]
            delta = [float(torch.distributions.kl_divergence(torch.distributions.Normal(m1[j], (0.5 * l1[j]).exp()),
                                                             torch.distributions.Normal(m2[j], (0.5 * l2[j]).exp())))
                     for j in range(d)]
            if aggregation == "adaptive":
                share = [x < (max(delta) + min(delta)) / 2 for x in delta]
            else:
                order = sorted(range(d), key=lambda j: delta[j])
                share = [order.index(j) < d - int(changed[i]) for j in range(d)]
            posteriors = []
            for m, lv in ((m1, l1), (m2, l2)):
                m, v = m.clone(), lv.exp().clone()
                for j in range(d):
                    if share[j]:
                        a, b = l1[j].exp(), l2[j].exp()
                        if average == "gvae":
                            m[j], v[j] = (m1[j] + m2[j]) / 2, (a + b) / 2
                        else:
                            v[j] = 2 * a * b / (a + b)
                            m[j] = (m1[j] / a + m2[j] / b) * v[j] / 2
                posteriors.append((m, v))
            for half, (m, v), image in ((0, posteriors[0], images[i]), (1, posteriors[1], pair[i])):
                z = m + v.sqrt() * noise[half * 6 + i]
                decoded = model.decoder_(z[None])
                total_recon += float(model._likelihood.nll(decoded, image[None])[0])
                total_kl += float(gaussian_kl(m[None], v.log()[None]).sum())
    recon, kl = total_recon / 6, total_kl / 6
    np.testing.assert_allclose(float(got.logs["recon"]), recon, rtol=1e-5)
    np.testing.assert_allclose(float(got.logs["kl"]), kl, rtol=1e-5)
    np.testing.assert_allclose(float(got.losses["model"]), recon + 2.5 * kl, rtol=1e-5)


def test_fit_on_a_world_records_the_pairs_and_resumes_bit_exactly(world, tmp_path):
    straight = AdaGVAE(**{**TINY, "steps": 8}).fit(world, n_samples=40, out=str(tmp_path / "a"), progress=False,
                                                   checkpoint_every=4)
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["data"]["pairs"] == {"changes": "random", "seed": 2_000_029}
    assert "shared" in straight.history_[-1]
    half = AdaGVAE(**{**TINY, "steps": 4}).fit(world, n_samples=40, out=str(tmp_path / "b"), progress=False,
                                               checkpoint_every=4)
    resumed = half.set_params(steps=8).fit(world, n_samples=40, out=str(tmp_path / "b"), resume=True,
                                          progress=False, checkpoint_every=4)
    for name in ("encoder", "decoder"):
        for key, value in getattr(straight, f"{name}_").state_dict().items():
            assert torch.equal(value, getattr(resumed, f"{name}_").state_dict()[key]), (name, key)


def test_other_pair_changes_train_on_other_pairs(world):
    def weights(model):
        return torch.cat([p.detach().flatten() for p in model.encoder_.parameters()])

    a = AdaGVAE(**TINY).fit(world, n_samples=40, progress=False)
    b = AdaGVAE(**{**TINY, "pair_changes": 1}).fit(world, n_samples=40, progress=False)
    again = AdaGVAE(**TINY).fit(world, n_samples=40, progress=False)
    assert torch.equal(weights(a), weights(again)) and not torch.equal(weights(a), weights(b))


def test_image_pairs_train_and_are_checked(world):
    batch = world.sample(24, seed=0)
    partners = latentscm.worlds.pairs.counterfactual_pairs(world, batch, changes=1, seed=1)
    model = AdaGVAE(**{**TINY, "aggregation": "known"})
    model.fit(ImagePairs(batch.images, partners.images, np.ones(24, dtype=int)), progress=False)
    assert model.encode(batch.images).shape == (24, 3)
    with pytest.raises(ValueError, match="aggregation='known'"):
        AdaGVAE(**{**TINY, "aggregation": "known"}).fit(ImagePairs(batch.images, partners.images), progress=False)
    with pytest.raises(ValueError, match="trains on pairs"):
        AdaGVAE(**TINY).fit(batch.images, progress=False)
    with pytest.raises(ValueError, match="trains on pairs"):
        AdaGVAE(**TINY).fit(batch, progress=False)
    with pytest.raises(ValueError, match="n_samples"):
        AdaGVAE(**TINY).fit(ImagePairs(batch.images, partners.images), n_samples=10, progress=False)
    with pytest.raises(ValueError, match="does not train on pairs"):
        make_learner("beta_vae", **TINY).fit(ImagePairs(batch.images, partners.images), progress=False)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        AdaGVAE(**TINY).fit(ImagePairs(batch.images, partners.images * 3), progress=False)


def test_cli_trains_resumes_and_evaluates_ada_gvae(tmp_path):
    from latentscm.cli import app

    runner = CliRunner()
    run = tmp_path / "run"
    common = ["--no-progress", "--threads", "1"]
    result = runner.invoke(app, ["train", "--learner", "ada_gvae", "--world", "sprites", "--out", str(run),
                                 "--n-samples", "48", "--steps", "3", "--batch-size", "8", "--size", "16",
                                 "--set", "latent_dim=2", "--set", "hidden_dim=16", "--set", "channels=[4,8]",
                                 "--set", "pair_changes=1", *common])
    assert result.exit_code == 0, result.output
    model = latentscm.load(str(run))
    assert isinstance(model, AdaGVAE) and model.pair_changes == 1 and model.n_steps_ == 3
    result = runner.invoke(app, ["resume", str(run), "--steps", "5", *common])
    assert result.exit_code == 0, result.output
    assert latentscm.load(str(run)).n_steps_ == 5
    result = runner.invoke(app, ["evaluate", str(run), "--n", "64", "--metrics", "mig", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert 0.0 <= json.loads((run / "metrics.json").read_text())["metrics"]["mig"] <= 1.0


def test_pair_divergence_and_changed_units_of_a_fitted_model(world):
    model = AdaGVAE(**TINY).fit(world, n_samples=32, progress=False)
    batch = world.sample(10, seed=5)
    partners = latentscm.worlds.pairs.counterfactual_pairs(world, batch, changes=1, seed=6)
    divergence = model.pair_divergence(batch.images, partners.images)
    mean1, logvar1 = (torch.from_numpy(a) for a in model.encode_distribution(batch.images))
    mean2, logvar2 = (torch.from_numpy(a) for a in model.encode_distribution(partners.images))
    np.testing.assert_allclose(divergence, pair_divergence(mean1, logvar1, mean2, logvar2).numpy(), rtol=1e-6)
    assert divergence.shape == (10, 3) and np.all(divergence >= 0)
    changed = model.changed_units(batch.images, partners.images)
    np.testing.assert_array_equal(changed, ~shared_units(torch.from_numpy(divergence)).numpy())
    assert changed.any(axis=1).all()  # the largest divergence of a pair is never below its midpoint
    np.testing.assert_array_equal(model.pair_divergence(batch.images, batch.images), 0.0)
    assert not model.changed_units(batch.images, batch.images).any()  # identical images: nothing changed
    with pytest.raises(ValueError, match="'second'.*shape"):
        model.pair_divergence(batch.images, partners.images[:3])
    with pytest.raises(latentscm.learners.NotFittedError):
        AdaGVAE(**TINY).changed_units(batch.images, partners.images)


def test_adaptive_changed_units_are_the_complement_of_shared_unless_all_moved_equally():
    divergence = torch.tensor([[0.0, 0.1, 5.0, 4.0], [0.3, 0.3, 0.3, 0.3]])
    assert adaptive_changed_units(divergence).tolist() == [[False, False, True, True], [False, False, False, False]]
