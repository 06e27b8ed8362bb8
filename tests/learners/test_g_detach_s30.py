"""The post-nonlinear g of label-fitted mechanisms is cut from the image path (like f), and a root's g is
trained by its label's marginal instead: u² + 2 log g'(u), u = g^{-1}(y)."""

import pytest
import torch

import latentscm.worlds
from latentscm.graph import CausalGraph
from latentscm.learners import make
from latentscm.nn.latent_scm import LatentSCM

NAMES = ["a", "b", "c"]  # a, b roots; c their child


def _scm(mechanism: str = "post_nonlinear") -> LatentSCM:
    torch.manual_seed(0)
    scm = LatentSCM(NAMES, CausalGraph([("a", "c"), ("b", "c")], nodes=NAMES), mechanism=mechanism, hidden=8)
    if mechanism == "post_nonlinear":
        with torch.no_grad():  # away from the initial values so that every g has a nonlinear part
            scm.pnl_linear.copy_(torch.tensor([0.3, -0.2, 0.1]))
            scm.pnl_tanh.copy_(torch.tensor([0.5, 0.2, -0.4]))
    return scm


def _g_grads(scm: LatentSCM, detach: bool) -> torch.Tensor:
    """(2, d) gradients of the g parameters of a loss on z from the image path."""
    u = torch.randn(16, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    scm.zero_grad()
    (scm(u, detach_mechanisms=detach) ** 2).sum().backward()
    assert u.grad is not None and float(u.grad.abs().sum()) > 0  # the encoder still gets its gradient
    return torch.stack([p.grad if p.grad is not None else torch.zeros(3) for p in (scm.pnl_linear, scm.pnl_tanh)])


def test_detached_image_path_cuts_g_of_roots_and_children():
    scm = _scm()
    assert bool((_g_grads(scm, detach=False).abs() > 1e-6).all())  # every g (roots' and the child's) is reached
    assert float(_g_grads(scm, detach=True).abs().max()) == 0.0


def test_fit_keeps_g_gradients_and_gives_roots_their_marginal():
    scm = _scm()
    y = torch.randn(32, 3, generator=torch.Generator().manual_seed(2))
    _, fit, _ = scm(y, detach_mechanisms=True, labels=y, terms=True)
    inner = scm._outer_inverse(y)
    marginal = (inner**2 + 2 * scm._outer_log_slope(inner))[:, :2]  # roots: f = 0
    torch.testing.assert_close(fit[:, :2], marginal)
    scm.zero_grad()
    fit.sum().backward()
    assert bool((scm.pnl_linear.grad.abs() > 1e-6).all()) and bool((scm.pnl_tanh.grad.abs() > 1e-6).all())


@pytest.mark.parametrize("mechanism", ["additive", "post_nonlinear"])
def test_learner_fit_term_includes_post_nonlinear_roots_only(mechanism):
    world = latentscm.worlds.make("pendulum", size=16, noise_std=0.3, grid=False)
    model = make("causal_vae", channels=(8, 16), hidden_dim=32, batch_size=16, extra_dims=1, steps=2, seed=0,
                 mechanism=mechanism).fit(world, n_samples=32, progress=False)
    batch = world.sample(20, seed=3)
    factors = torch.as_tensor((batch.factors - model.factor_mean_) / model.factor_std_, dtype=torch.float32)
    k, scm = len(model.factor_names_), model.scm_
    u = torch.randn(20, k + 1, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        _, _, logs = model._causal_forward(u, factors, 0)
        _, fit, _ = scm(u[:, :k], labels=factors, terms=True)
    children = scm.mask.sum(1) > 0
    assert 0 < int(children.sum()) < k  # the pendulum has roots and children
    counted = torch.ones(k, dtype=torch.bool) if mechanism == "post_nonlinear" else children
    expected = (fit * counted.float()).sum(1).mean()  # an additive root's y² has no parameter: left out
    assert float(logs["mechanism_fit"]) == pytest.approx(float(expected), rel=1e-6)
