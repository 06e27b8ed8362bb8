"""Regression tests of the fourth review of the learners (session 23): domains without samples, ILD's
invariant directions and held-out split, QLAE's objective."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentscm.learners.qlae as qlae_module
from latentscm.learners.gcrl import GCRL
from latentscm.learners.ild import ILD, invariant_directions
from latentscm.learners.ild_vae import ILDVAE
from latentscm.learners.qlae import QLAE
from latentscm.testing.learner_checks import tiny_params
from latentscm.worlds import DomainShift, make

TINY = {"channels": (8, 8), "hidden_dim": 16, "lr": 3e-3, "batch_size": 8, "steps": 2, "seed": 0}


@pytest.fixture(scope="module")
def three_domains():
    world = make("flow", size=16, grid=False, noise_std=0.1, domains=DomainShift(3, shifted=("water_height",), seed=0))
    return world.sample_domains(4, seed=0)


@pytest.mark.parametrize("make_learner", [lambda **p: GCRL(z_dim=2, s_dim=1, **TINY, **p),
                                          lambda **p: ILDVAE(latent_dim=3, **TINY, **p)])
def test_multi_domain_learners_refuse_domains_without_samples(three_domains, make_learner):
    gap = three_domains[three_domains.domain != 1]  # domains 0 and 2: domain 1 would keep an untrained prior
    with pytest.raises(ValueError, match=r"domain\(s\) \[1\] have no training samples"):
        make_learner().fit(gap, progress=False)
    with pytest.raises(ValueError, match=r"domain\(s\) \[3\] have no training samples.*n_domains"):
        make_learner(n_domains=4).fit(three_domains, progress=False)
    assert make_learner(n_domains=3).fit(three_domains, progress=False).n_domains_ == 3


def test_invariant_directions_needs_two_samples_per_domain_and_finite_values():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        invariant_directions(rng.normal(size=(1, 3)), [0], 1)  # was a LinAlgError
    with pytest.raises(ValueError, match=r"at least 2 samples.*\{1: 1\}"):
        invariant_directions(rng.normal(size=(20, 3)), [0] * 19 + [1], 1)
    with pytest.raises(ValueError, match="at least 2 samples"):
        invariant_directions(np.array([[0.3]]), [0], 1)  # was a NaN W
    bad = rng.normal(size=(20, 3))
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        invariant_directions(bad, [0] * 10 + [1] * 10, 1)


def test_invariant_directions_refuses_a_constant_direction():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(200, 3))
    u[:, 1] = 0.25
    with pytest.raises(ValueError, match="constant"):  # was W with entries of 1e6
        invariant_directions(u, np.repeat([0, 1], 100), 1, steps=5)
    w, mean = invariant_directions(rng.normal(size=(200, 3)), np.repeat([0, 1], 100), 1, steps=5)
    assert np.isfinite(w).all() and np.isfinite(mean).all()


def test_ild_refuses_a_held_out_split_that_takes_a_whole_domain():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = 1 / (1 + np.exp(-rng.normal(size=(11, 2))))
    domain = np.array([0] * 10 + [1])
    model = ILD(2, 1, steps=3, batch_size=8, select="best_validation", validation_fraction=0.3, seed=0).fit(x, domain)
    before = [p.detach().clone() for p in model._scm_parameters()]
    model.seed = 2  # this seed's split holds out domain 1's only sample: its latent SCM never trained
    with pytest.raises(ValueError, match=r"takes every sample of domain\(s\) \[1\]"):
        model.fit(x, domain)
    for old, new in zip(before, model._scm_parameters()):  # a refused refit leaves the fitted model as it was
        torch.testing.assert_close(old, new.detach())
    assert model.n_domains_ == 2 and len(model.validation_index_) == 3


def test_qlae_objectives_are_the_authors_means_or_the_documented_sums(tiny_world):
    """``objective="mean"`` is the authors' per-image objective (reconstruction averaged over the P pixel values,
    codebook terms over the D latents); ``"sum"`` sums both, as runs recorded before the parameter did."""
    learner = QLAE(**tiny_params(QLAE, steps=1, batch_size=8, latent_dim=4)).fit(tiny_world, n_samples=8,
                                                                                progress=False)
    images = torch.from_numpy(tiny_world.sample(8, seed=1).images)
    pixels = images[0].numel()
    terms = {}
    for objective in ("sum", "mean"):
        learner.objective = objective
        out = learner.loss(images, 0)
        logs = {key: float(torch.as_tensor(value).detach()) for key, value in out.logs.items()}
        expected = logs["recon"] + 0.01 * (logs["quantization"] + logs["commitment"])
        assert float(out.losses["model"].detach()) == pytest.approx(expected, rel=1e-6)
        terms[objective] = logs
    assert terms["mean"]["recon"] == pytest.approx(terms["sum"]["recon"] / pixels, rel=1e-6)
    for key in ("quantization", "commitment"):
        assert terms["mean"][key] == pytest.approx(terms["sum"][key] / 4, rel=1e-6)
    assert "D / P" in qlae_module.__doc__ and "linspace(-0.5, 0.5" in qlae_module.__doc__


def test_a_qlae_run_recorded_before_the_objective_parameter_loads_and_resumes_with_the_sum(tiny_world, tmp_path):
    import json

    from latentscm.run import learner_from_config
    from latentscm.training.resume import resume

    # the behaviour of that time (since s24 the defaults are the authors' "mean" with an instance-normalised encoder)
    learner = QLAE(**tiny_params(QLAE, steps=1, batch_size=8, latent_dim=4), objective="sum", encoder_norm="none")
    learner.fit(tiny_world, n_samples=8, progress=False, out=str(tmp_path), checkpoint_every=1)
    config = json.loads((tmp_path / "config.json").read_text())
    for key in ("objective", "encoder_norm"):  # a config written before the parameters existed
        del config["learner"]["params"][key]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert (learner_from_config(config).objective, learner_from_config(config).encoder_norm) == ("sum", "none")
    (tmp_path / "model.pt").unlink()  # an interrupted run of that time resumes
    assert resume(tmp_path, progress=False, trust_code=True).objective == "sum"  # the test world is not registered
    assert QLAE(objective="sum").objective == "sum"
    with pytest.raises(ValueError, match="objective"):
        QLAE(objective="median")


def test_the_lazily_served_learner_classes_are_listed():
    import latentscm.learners as learners

    for name in ("ILD", "GCRL", "ILDVAE", "BetaVAE", "CausalVAE", "QLAE"):
        assert name in learners.__all__ and name in dir(learners)
        assert isinstance(getattr(learners, name), type)
    namespace: dict = {}
    exec("from latentscm.learners import *", namespace)
    assert {"ILD", "GCRL", "BetaVAE"} <= set(namespace)


def test_a_save_interrupted_between_model_and_config_loads_with_the_weights_own_settings(tmp_path, monkeypatch):
    import latentscm
    import latentscm.training.checkpoint as checkpoint
    from latentscm.learners import BetaVAE
    from latentscm.worlds import make

    images = make("sprites", size=16).sample(32, seed=0).images
    learner = BetaVAE(beta=1.0, latent_dim=3, channels=(4, 4), hidden_dim=8, steps=2, batch_size=8, seed=0)
    learner.fit(images, progress=False)
    learner.save(str(tmp_path))
    codes = learner.encode(images)

    other = BetaVAE(beta=8.0, latent_dim=2, channels=(4, 4), hidden_dim=8, steps=2, batch_size=8, seed=1)
    other.fit(images, progress=False)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint, "write_json_atomic", crash)  # model.pt is written, config.json is not
    with pytest.raises(OSError):
        other.save(str(tmp_path))
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="interrupted"):
        loaded = latentscm.load(tmp_path)
    assert loaded.beta == 8.0 and loaded.latent_dim_ == 2
    np.testing.assert_array_equal(loaded.encode(images), other.encode(images))
    assert not np.array_equal(codes[:, :2], loaded.encode(images))


def test_a_finished_run_loads_without_a_warning(tmp_path):
    import warnings

    import latentscm
    from latentscm.learners import BetaVAE
    from latentscm.worlds import make

    images = make("sprites", size=16).sample(16, seed=0).images
    learner = BetaVAE(latent_dim=2, channels=(4, 4), hidden_dim=8, steps=2, batch_size=8, seed=0)
    learner.fit(images, out=str(tmp_path), progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        latentscm.load(tmp_path)
