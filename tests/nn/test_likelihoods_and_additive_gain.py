"""Pixel likelihoods against torch.distributions / scipy.stats, and the additive decoder's structure and
gain numerics against float64 references (session 26 review)."""

import numpy as np
import pytest
import torch
from scipy import stats
from torch.autograd.functional import hessian

from latentscm.nn.additive_decoder import AdditiveDecoder
from latentscm.nn.likelihoods import BernoulliLikelihood, GaussianLikelihood


def _logits_and_images(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 2, 4, 5, generator=generator, dtype=dtype) * 20
    logits[0, 0, 0] = torch.tensor([100.0, -100.0, 100.0, -100.0, 0.0], dtype=dtype)
    images = (torch.rand(3, 2, 4, 5, generator=generator, dtype=dtype) > 0.5).to(dtype)
    images[0, 0, 0] = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0], dtype=dtype)
    return logits, images


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bernoulli_nll_is_the_summed_bernoulli_log_likelihood_even_at_extreme_logits(dtype):
    logits, images = _logits_and_images(dtype)
    got = BernoulliLikelihood().nll(logits, images)
    expected = -torch.distributions.Bernoulli(logits=logits.double()).log_prob(images.double()).flatten(1).sum(1)
    assert got.shape == (3,) and torch.isfinite(got).all()
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(got.double(), expected, rtol=tolerance, atol=0.0)
    assert got[0] >= 200.0  # the two confidently wrong pixels cost 100 nats each


def test_gaussian_nll_is_a_fixed_variance_gaussian_up_to_its_constant():
    logits, _ = _logits_and_images(torch.float64)
    images = torch.rand(logits.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    got = GaussianLikelihood().nll(logits, images)
    mean = torch.sigmoid(logits).numpy()
    log_density = stats.norm.logpdf(images.numpy(), loc=mean, scale=np.sqrt(0.5)).reshape(3, -1).sum(1)
    constant = 0.5 * np.log(np.pi) * images[0].numel()
    np.testing.assert_allclose(got.numpy(), -log_density - constant, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("likelihood", [BernoulliLikelihood(), GaussianLikelihood()], ids=repr)
@pytest.mark.parametrize("images_shape", [(1, 3, 4, 4), (2, 1, 4, 4), (2, 3, 4, 1)])
def test_images_of_another_shape_are_refused_not_broadcast(likelihood, images_shape):
    with pytest.raises(ValueError, match="same shape"):
        likelihood.nll(torch.zeros(2, 3, 4, 4), torch.zeros(images_shape))


def _decoder(groups, gain=()):
    torch.manual_seed(0)
    decoder = AdditiveDecoder(groups, (1, 8, 8), channels=(4,), hidden_dim=8, gain=gain).double()
    for parameter in decoder.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    return decoder


def test_hessian_and_mixed_differences_vanish_between_groups_but_not_within():
    groups = [[0, 2], [1], [3, 4]]
    decoder = _decoder(groups)
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    z = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    weights = torch.randn(1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    full = hessian(lambda codes: (decoder(codes[None])[0] * weights).sum(), z)
    cross = torch.tensor([[group_of[i] != group_of[j] for j in range(5)] for i in range(5)])
    assert torch.all(full[cross] == 0.0)

    # ReLU networks have zero second derivatives almost everywhere, so also check the finite mixed
    # difference f(a', b') - f(a', b) - f(a, b') + f(a, b): 0 across groups (up to float64 rounding of the sum
    # of group logits), not within one
    def mixed(i, j):
        step_i, step_j = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
        step_i[i], step_j[j] = 1.5, -2.0
        points = torch.stack([z + step_i + step_j, z + step_i, z + step_j, z])
        out = decoder(points)
        return (out[0] - out[1] - out[2] + out[3]).abs().max().item()

    assert all(mixed(i, j) < 1e-10 for i in range(5) for j in range(5) if group_of[i] != group_of[j])
    assert mixed(0, 2) > 1e-3 and mixed(3, 4) > 1e-3


def _reference_logits(decoder, codes):
    """logit(g * sigmoid(l)) in float64 from the decoder's own float64 gain pre-activation and logits."""
    with torch.no_grad():
        logits = (decoder.contributions(codes).sum(0) + decoder.bias).double()
        gain_logit = decoder.gain_net(codes.index_select(1, decoder.gain_index)).double()[:, :, None, None]
    log_p = torch.nn.functional.logsigmoid(gain_logit) + torch.nn.functional.logsigmoid(logits)
    return log_p - torch.log(-torch.expm1(log_p))


@pytest.mark.parametrize(("gain_bias", "logit_bias"), [(0.0, 0.0), (-120.0, 0.0), (40.0, 25.0), (3.0, -120.0)])
def test_gain_output_is_the_logit_of_gain_times_probability_in_float32(gain_bias, logit_bias):
    decoder = _decoder([[0], [1]], gain=[2]).float()
    with torch.no_grad():
        decoder.gain_net[2].bias.fill_(gain_bias)
        decoder.bias.fill_(logit_bias)
    codes = torch.randn(4, 3, generator=torch.Generator().manual_seed(4), requires_grad=True)
    out = decoder(codes)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out.double(), _reference_logits(decoder, codes.detach()), rtol=1e-5, atol=1e-4)
    loss = BernoulliLikelihood().nll(out, torch.zeros_like(out)).sum() + out.sum()
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(codes.grad).all()
