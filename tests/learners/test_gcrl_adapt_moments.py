"""GCRL.adapt: the moment solver counts each image once (the exact prior maximiser over the data), and a
failed or interrupted call leaves the model as it was."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from learners_support import GCRL_TINY, flow_domains_world

from latentscm.learners.gcrl import GCRL

TINY = {**GCRL_TINY, "steps": 4}


@pytest.fixture(scope="module")
def world():
    return flow_domains_world()


@pytest.fixture(scope="module")
def fitted(world):
    model = GCRL(**TINY).fit(world.sample_domains(24, seed=0), progress=False)
    with torch.no_grad():  # spread the variant posteriors of the images, so that how they are weighted matters
        last = [m for m in model.encoder_.s_branch.modules() if isinstance(m, torch.nn.Linear)][-1]
        last.weight.mul_(40.0)
    return model


def _moment_match(model: GCRL, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and log-variance (s_dim,) of the exact KL(q(s | x) || p(s | e)) minimiser over ``images``, float64."""
    with torch.no_grad():
        mean, logvar = model._posterior(torch.from_numpy(images))
    m, v = mean[:, model.z_dim:].double(), logvar[:, model.z_dim:].double().exp()
    mu = m.mean(0)
    return mu.numpy(), (v + (m - mu) ** 2).mean(0).log().numpy()


@pytest.mark.parametrize(("steps", "batch_size", "seed"), [(7, 3, 2), (20, 4, 0), (12, 4, 5)])
def test_moment_solver_counts_each_image_once(fitted, world, steps, batch_size, seed):
    """Minibatches that redraw images (10 images, several steps): once every image was drawn, the prior is the
    moment match over the data — each image once —, not a match weighted by how often the seed redrew them."""
    new = world.sample(10, seed=3, domain=2).images
    model = copy.deepcopy(fitted).adapt(new, refit="prior", steps=steps, batch_size=batch_size, seed=seed)
    assert model.adaptations_[-1]["solver"] == "moments"
    mu, logvar = _moment_match(fitted, new)
    np.testing.assert_allclose(model.prior_.means[-1].detach().double().numpy(), mu, rtol=0, atol=1e-5)
    np.testing.assert_allclose(model.prior_.logvars[-1].detach().double().numpy(), logvar, rtol=0, atol=1e-5)


def test_moment_solver_result_does_not_depend_on_the_draw_order_once_all_were_seen(fitted, world):
    new = world.sample(10, seed=3, domain=2).images
    priors = [copy.deepcopy(fitted).adapt(new, refit="prior", steps=steps, batch_size=size, seed=seed).prior_
              for steps, size, seed in ((1, 10, 0), (7, 3, 2), (20, 4, 0))]
    for prior in priors[1:]:
        np.testing.assert_allclose(prior.means[-1].detach().numpy(), priors[0].means[-1].detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(prior.logvars[-1].detach().numpy(), priors[0].logvars[-1].detach().numpy(),
                                   atol=1e-5)


class _Failure(RuntimeError):
    pass


class _Interrupted(GCRL):
    """Once armed (``fail_at``), raises on that ELBO evaluation of :meth:`adapt` (a failure mid-adaptation)."""

    fail_at: int | None = None

    def _elbo_terms(self, *args, **kwargs):
        if self.fail_at is not None:
            self.fail_at -= 1
            if self.fail_at == 0:
                raise _Failure("failed mid-adaptation")
        return super()._elbo_terms(*args, **kwargs)


def _state(model: GCRL) -> dict[str, torch.Tensor]:
    return {f"{name}.{k}": v.detach().clone() for name, net in model._modules().items()
            for k, v in net.state_dict().items()}


@pytest.mark.parametrize("prior", ["per_domain", "mixture"])
@pytest.mark.parametrize("refit", ["prior", "s_branch", "all"])
def test_an_interrupted_adaptation_leaves_the_model_as_it_was(world, prior, refit):
    model = _Interrupted(**TINY, prior=prior).fit(world.sample_domains(24, seed=0), progress=False)
    model.fail_at = 2
    before = _state(model)
    new = world.sample(8, seed=5, domain=2)
    with pytest.raises(_Failure):
        model.adapt(new, refit=refit, steps=3, batch_size=4, solver="adam")
    assert model.n_domains_ == 3 and model.adaptations_ == []
    after = _state(model)
    assert set(after) == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before), [k for k in before
                                                                   if not torch.equal(before[k], after[k])]
    assert all(p.requires_grad for net in model._modules().values() for p in net.parameters())
    model.fail_at = None  # the same call now runs through: the new domain is index 3 again
    model.adapt(new, refit=refit, steps=2, batch_size=4, solver="adam")
    assert model.n_domains_ == 4 and model.adaptations_[-1]["domain"] == 3
