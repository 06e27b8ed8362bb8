"""Expected free energy against independent references: KL by quadrature, the Bernoulli entropy by enumerating
every observation, G(pi) by rolling the policy out with the public predict/decode API, and the tie rule."""

import itertools

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from latentscm.active import EFEAgent, enumerate_policies, expected_free_energy
from latentscm.active.world_model import bernoulli_entropy, gaussian_kl

from .conftest import fit_factorised


@pytest.mark.parametrize("seed", range(5))
def test_gaussian_kl_matches_quadrature(seed):
    rng = np.random.default_rng(seed)
    mq, mp = rng.normal(size=2)
    lq, lp = rng.uniform(-2, 2, size=2)
    q, p = stats.norm(mq, np.exp(lq / 2)), stats.norm(mp, np.exp(lp / 2))
    reference = integrate.quad(lambda x: q.pdf(x) * (q.logpdf(x) - p.logpdf(x)), -30, 30, limit=200)[0]
    got = gaussian_kl(*(torch.tensor([[v]], dtype=torch.float64) for v in (mq, lq, mp, lp)))
    assert float(got[0]) == pytest.approx(reference, abs=1e-9)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_bernoulli_entropy_matches_enumeration(n):
    logits = np.random.default_rng(n).normal(scale=3, size=n)
    p = 1 / (1 + np.exp(-logits))
    reference = 0.0
    for o in itertools.product((0, 1), repeat=n):
        prob = np.prod(np.where(np.array(o) == 1, p, 1 - p))
        reference -= prob * np.log(prob)
    got = bernoulli_entropy(torch.tensor(logits, dtype=torch.float64).reshape(1, 1, 1, n))
    assert float(got[0]) == pytest.approx(reference, abs=1e-10)


def _kl(mq, lq, mp, lp):
    mq, lq, mp, lp = (np.asarray(a, np.float64) for a in (mq, lq, mp, lp))
    return 0.5 * np.sum(lp - lq + (np.exp(lq) + (mq - mp) ** 2) / np.exp(lp) - 1)


@pytest.mark.parametrize("model_name", ["factorised", "entangled"])
def test_efe_matches_a_manual_rollout(request, transitions, model_name):
    model = request.getfixturevalue(model_name)
    b, g = model.infer(transitions.images[0]), model.infer(transitions.next_images[7])
    belief, goal = (b[0][0], b[1][0]), (g[0][0], g[1][0])
    policies = enumerate_policies(model.n_actions_, 2)
    efe = expected_free_energy(model, belief, goal, policies, ambiguity_weight=0.5)
    for k, policy in enumerate(policies):
        mean, logvar = belief[0][None], belief[1][None]
        risk = ambiguity = 0.0
        for action in policy:
            mean, logvar = model.predict(mean, logvar, np.array([action]))
            risk += _kl(mean[0], logvar[0], *goal)
            prob = model.decode(mean).astype(np.float64)
            ambiguity += float(np.sum(-prob * np.log(prob) - (1 - prob) * np.log1p(-prob)))
        assert efe.risk[k] == pytest.approx(risk, rel=1e-5, abs=1e-6)
        assert efe.ambiguity[k] == pytest.approx(ambiguity, rel=1e-5)
        assert efe.total[k] == pytest.approx(efe.risk[k] + 0.5 * efe.ambiguity[k], rel=1e-12)


def test_all_tied_policies_pick_the_first_action(env, transitions):
    model = fit_factorised(env, transitions)
    with torch.no_grad():  # a transition that ignores the action: every policy predicts the same beliefs
        for parameter in model.net_["transition"].parameters():
            parameter.zero_()
    agent = EFEAgent(model, horizon=2)
    agent.reset(transitions.images[0], transitions.next_images[0])
    assert np.unique(agent.plan().total).size == 1
    assert agent.act() == 0
