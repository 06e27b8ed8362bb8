"""GCRL: the domain index through the shared training loop, per-domain and mixture priors, and
adaptation that refits only what it says."""

from __future__ import annotations

import copy
from typing import ClassVar

import numpy as np
import pytest
import torch
from learners_support import GCRL_TINY, flow_domains_world

import latentscm
from latentscm.learners.base import NotFittedError
from latentscm.learners.gcrl import GCRL
from latentscm.training.data import as_training_set
from latentscm.training.protocol import TrainingProtocolError, check_training_protocol

TINY = GCRL_TINY


@pytest.fixture(scope="module")
def world():
    return flow_domains_world()


@pytest.fixture(scope="module")
def batch(world):
    return world.sample_domains(24, seed=0)


@pytest.fixture(scope="module")
def fitted(batch):
    return GCRL(**TINY).fit(batch, progress=False)


def test_the_loop_passes_each_images_domain(batch):
    assert np.array_equal(as_training_set(batch, n_samples=None, seed=0, owner="t").domain, batch.domain)

    class Recording(GCRL):
        seen: ClassVar[list] = []

        def loss(self, images, step, domain):
            type(self).seen.append((images.detach().clone(), domain.clone()))
            return super().loss(images, step, domain=domain)

    Recording(**TINY).fit(batch, progress=False)
    by_image = {batch.images[i].tobytes(): int(batch.domain[i]) for i in range(len(batch))}
    assert len(by_image) == len(batch)
    for images, domain in Recording.seen:
        assert domain.dtype == torch.int64 and domain.shape == (images.shape[0],)
        for image, d in zip(images.numpy(), domain.tolist()):
            assert by_image[image.tobytes()] == d  # each image's own domain
    Recording.seen.clear()
    Recording(**TINY).fit(batch.images, progress=False)  # an image array is one domain 0
    assert all(int(d.max()) == 0 for _, d in Recording.seen)


def test_protocol_requires_the_domain_keyword():
    class NoDomain(GCRL):
        def loss(self, images, step):
            raise NotImplementedError

    with pytest.raises(TrainingProtocolError, match="uses_domain.*'domain'"):
        check_training_protocol(NoDomain)


def test_fit_codes_and_priors(fitted, batch):
    assert fitted.n_domains_ == 3 and fitted.encode(batch[:5]).shape == (5, 3)
    z, s = fitted.encode_parts(batch[:5])
    assert z.shape == (5, 2) and s.shape == (5, 1)
    for key in ("recon", "kl_z", "kl_s"):
        assert np.isfinite(fitted.history_[-1][key])
    mixture = GCRL(**TINY, prior="mixture", n_components=3).fit(batch, progress=False)
    assert mixture.sample(4, seed=1).shape == (4, 3, 16, 16)
    np.testing.assert_array_equal(mixture.sample(4, seed=1), mixture.sample(4, seed=1))


def _parameters(model):
    return {f"{name}.{k}": p.detach().clone() for name, net in model._modules().items()
            for k, p in net.named_parameters()}


@pytest.mark.parametrize("prior", ["per_domain", "mixture"])
@pytest.mark.parametrize("refit", ["prior", "s_branch", "all"])
def test_adapt_changes_only_what_refit_says(batch, world, prior, refit):
    model = GCRL(**TINY, prior=prior).fit(batch, progress=False)
    before = _parameters(model)
    model.adapt(world.sample(12, seed=5, domain=2), refit=refit, steps=3, seed=0)
    after = _parameters(model)
    record = model.adaptations_[-1]
    assert record["domain"] == 3 and model.n_domains_ == 4 and record["refit"] == refit
    new = {k for k in after if k not in before}
    assert new == ({"prior.means.3", "prior.logvars.3"} if prior == "per_domain" else {"prior.logits.3"})
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    if refit == "prior":
        assert changed == set() and set(record["parameters"]) == {f"prior.{k.split('.', 1)[1]}" for k in new}
    elif refit == "s_branch":
        assert changed and all(k.startswith("encoder.s_branch.") for k in changed)
    else:
        assert any(k.startswith("decoder.") for k in changed) and any(k.startswith("encoder.z_branch.")
                                                                      for k in changed)
    assert set(record["parameters"]) >= new | changed
    for p in model.encoder_.parameters():
        assert p.requires_grad  # restored after adapting


def test_save_and_reload_after_adapt(tmp_path, batch, world):
    model = GCRL(**TINY, prior="mixture").fit(batch, progress=False)
    model.adapt(world.sample(8, seed=1, domain=1), steps=2)
    model.save(str(tmp_path))
    loaded = latentscm.load(str(tmp_path))
    assert loaded.n_domains_ == 4 and loaded.adaptations_ == model.adaptations_
    np.testing.assert_array_equal(loaded.encode(batch[:4]), model.encode(batch[:4]))


def test_style_input_reads_channel_statistics_only(tmp_path, batch, world):
    """s_input="style": s sees each channel's mean and sd over the pixels (a second view, as the official code's
    variant encoder), so shuffling the pixels (one permutation for every channel) keeps s and moves z."""
    model = GCRL(**TINY, s_input="style").fit(batch, progress=False)
    images = batch.images[:6]
    flat = images.reshape(6, images.shape[1], -1)
    shuffled = flat[:, :, np.random.default_rng(0).permutation(flat.shape[2])].reshape(images.shape)
    z, s = model.encode_parts(images)
    z_shuffled, s_shuffled = model.encode_parts(shuffled)
    np.testing.assert_allclose(s_shuffled, s, rtol=1e-4, atol=1e-5)
    assert np.abs(z_shuffled - z).max() > 1e-3
    model.adapt(world.sample(8, seed=1, domain=1), refit="s_branch", steps=2)
    assert any(name.startswith("encoder.s_branch.mlp") for name in model.adaptations_[-1]["parameters"])
    model.save(str(tmp_path))
    loaded = latentscm.load(str(tmp_path))
    assert loaded.s_input == "style"
    np.testing.assert_array_equal(loaded.encode(images), model.encode(images))


def test_chroma_input_reads_the_colour_only(batch):
    """s_input="chroma": s sees each channel's share of the total intensity, so dimming the image or shuffling its
    pixels keeps s (and moves z); a greyscale image has no chromaticity and is refused by name."""
    model = GCRL(**TINY, s_input="chroma").fit(batch, progress=False)
    images = batch.images[:6]
    flat = images.reshape(6, images.shape[1], -1)
    shuffled = flat[:, :, np.random.default_rng(0).permutation(flat.shape[2])].reshape(images.shape)
    z, s = model.encode_parts(images)
    for other in (0.5 * images, shuffled):
        z_other, s_other = model.encode_parts(other)
        np.testing.assert_allclose(s_other, s, rtol=1e-4, atol=1e-5)
        assert np.abs(z_other - z).max() > 1e-3
    grey = np.random.default_rng(1).random((8, 1, 16, 16)).astype(np.float32)
    with pytest.raises(ValueError, match="s_input='chroma'.*channels"):
        GCRL(**TINY, s_input="chroma").fit(grey, progress=False)


def test_kl_warmup_ramps_the_kl_weight_only(fitted, batch):
    """kl_warmup=W: at step t < W the training loss is recon + (t + 1) / W * beta * (KL(z) + KL(s)); from step W on it
    is the ELBO; the logged terms are the same either way."""
    model = copy.deepcopy(fitted)
    model.kl_warmup, model.beta = 10, 2.0
    images, domain = torch.from_numpy(batch.images[:8]), torch.from_numpy(batch.domain[:8])
    for step, weight in ((0, 0.1 * 2.0), (4, 0.5 * 2.0), (10, 2.0), (50, 2.0)):
        model._generator = torch.Generator().manual_seed(3)
        out = model.loss(images, step, domain)
        terms = out.logs
        expected = terms["recon"] + weight * (terms["kl_z"] + terms["kl_s"])
        assert float(out.losses["model"].detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    with pytest.raises(ValueError, match="'kl_warmup'"):
        GCRL(kl_warmup=-1)


def test_moment_solver_is_the_exact_prior_maximiser(fitted, world):
    """refit="prior" on a per-domain prior: the new domain's prior is the moment match of the variant posteriors
    of the images seen, which no nearby prior beats on KL(q(s | x) || p(s | e)) — the only ELBO term it moves."""
    new = torch.from_numpy(world.sample(16, seed=3, domain=2).images)
    model = copy.deepcopy(fitted).adapt(new.numpy(), refit="prior", steps=1, batch_size=16)
    assert model.adaptations_[-1]["solver"] == "moments"
    with torch.no_grad():
        mean, logvar = model._posterior(new)
        m, lv = mean[:, model.z_dim:], logvar[:, model.z_dim:]
        mu = m.double().mean(0)
        variance = (lv.double().exp() + (m.double() - mu) ** 2).mean(0)
        np.testing.assert_allclose(model.prior_.means[-1].numpy(), mu.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(model.prior_.logvars[-1].numpy(), variance.log().numpy(), rtol=1e-5, atol=1e-5)
        domain = torch.full((16,), model.n_domains_ - 1)
        best = float(model.prior_(m, lv, m, domain).mean())
        for name, delta in (("means", 0.05), ("means", -0.05), ("logvars", 0.05), ("logvars", -0.05)):
            moved = copy.deepcopy(model)
            getattr(moved.prior_, name)[-1].add_(delta)
            assert float(moved.prior_(m, lv, m, domain).mean()) > best
    unchanged = {k: v for k, v in fitted.encoder_.state_dict().items()}
    for key, value in model.encoder_.state_dict().items():
        assert torch.equal(value, unchanged[key])
    with pytest.raises(ValueError, match="solver='moments' needs refit='prior'"):
        copy.deepcopy(fitted).adapt(new.numpy(), refit="all", steps=1, solver="moments")
    with pytest.raises(ValueError, match="'solver'"):
        copy.deepcopy(fitted).adapt(new.numpy(), steps=1, solver="newton")
    adam = copy.deepcopy(fitted).adapt(new.numpy(), refit="prior", steps=1, solver="adam")
    assert adam.adaptations_[-1]["solver"] == "adam"


def test_bad_input_is_named(fitted, batch):
    with pytest.raises(ValueError, match="'prior'"):
        GCRL(prior="flat")
    with pytest.raises(ValueError, match="'s_input'"):
        GCRL(s_input="colour")
    with pytest.raises(ValueError, match="'z_dim'"):
        GCRL(z_dim=0)
    with pytest.raises(TypeError, match="'s_dim'"):
        GCRL(s_dim=1.5)
    with pytest.raises(ValueError, match="domain index 2"):
        GCRL(**TINY, n_domains=2).fit(batch, progress=False)
    with pytest.raises(NotFittedError):
        GCRL(**TINY).adapt(batch.images)
    with pytest.raises(ValueError, match="'refit'"):
        fitted.adapt(batch, refit="decoder")
    with pytest.raises(ValueError, match="'steps'"):
        fitted.adapt(batch, steps=0)
    with pytest.raises(ValueError, match="'x'"):
        fitted.adapt(np.zeros((4, 3, 8, 8), np.float32))
    assert fitted.n_domains_ == 3  # failed calls added no domain


def test_rejected_set_params_rolls_back_the_derived_latent_dim(batch):
    """A rejected set_params restores the whole state, latent_dim = z_dim + s_dim included."""
    model = GCRL(**TINY)
    with pytest.raises(ValueError, match="'prior'"):
        model.set_params(z_dim=5, prior="bogus")
    assert (model.z_dim, model.s_dim, model.latent_dim, model.prior) == (2, 1, 3, "per_domain")
    assert model.fit(batch, progress=False).latent_dim_ == 3
