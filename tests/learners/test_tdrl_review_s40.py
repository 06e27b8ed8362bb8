"""Review of TDRL (learners/tdrl.py) and its counterfactual scoring (metrics/temporal_counterfactual.py).

Tests of behaviour checked correct (the pair ELBO, the change of variables, abduction/action/prediction against a
known linear SCM, the orientation of the transition Jacobian, the world's effect/unaffected split), and tests that
fail on the code as reviewed (each marked "DEFECT" in its docstring).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from learners_support import TEMPORAL_TINY, noise_coupled_hue_sprites

from latentscm.learners.base import NotFittedError
from latentscm.learners.tdrl import TDRL, InverseTransition
from latentscm.metrics.temporal_counterfactual import reachable_variables, temporal_counterfactual_scores
from latentscm.worlds import TemporalWorld

TINY = TEMPORAL_TINY


@pytest.fixture(scope="module")
def temporal():
    return noise_coupled_hue_sprites()


@pytest.fixture(scope="module")
def fitted(temporal):
    return TDRL(latent_dim=4, steps=6, seed=0, **TINY).fit(temporal, n_samples=64, progress=False)


@pytest.fixture(scope="module")
def regressor(temporal):
    from latentscm.metrics.factor_regressor import FactorRegressor

    return FactorRegressor(seed=0, n_train=400, n_test=100, steps=50).fit(temporal.world)


def _linear_prior(a: np.ndarray) -> InverseTransition:
    """An inverse transition with r_j(z, z'_j) = z'_j - sum_i a[i, j] z_i exactly (identity activations): the linear
    SCM z'_j = sum_i a[i, j] z_i + eps_j, edge i -> j at a[i, j] (TemporalWorld.temporal_graph's orientation)."""
    m = a.shape[0]
    prior = InverseTransition(m, hidden=2, layers=1, negative_slope=1.0)
    with torch.no_grad():
        for layer in prior.layers:
            layer.weight.zero_()
            layer.bias.zero_()
        for j in range(m):
            prior.layers[0].weight[j, :m, 0] = -torch.as_tensor(a[:, j], dtype=torch.float32)
            prior.layers[0].weight[j, m, 0] = 1.0
            prior.layers[1].weight[j, 0, 0] = 1.0
    return prior


def _with_prior(fitted: TDRL, prior: InverseTransition) -> TDRL:
    model = copy.deepcopy(fitted)
    model.prior_ = prior
    return model


def _reference_counterfactual(codes: np.ndarray, a: np.ndarray, unit: int, value, at: int) -> np.ndarray:
    """TemporalWorld.counterfactual's semantics on a linear SCM: abduct eps from the factual steps, set the unit at
    step ``at`` (the other units keep their factual value there), rerun every later step with the same eps."""
    codes = codes.astype(np.float64)
    eps = codes[:, 1:] - codes[:, :-1] @ a  # eps[:, t - 1]: the innovation of step t
    out = codes.copy()
    out[:, at, unit] = value
    for t in range(at + 1, codes.shape[1]):
        out[:, t] = out[:, t - 1] @ a + eps[:, t - 1]
    return out


CHAIN = np.array([[1.0, 0.5, 0.0, 0.0], [0.0, 0.9, 0.0, 0.0], [0.0, 0.0, 0.8, 0.0], [0.0, 0.0, 0.0, 1.0]])


# ---------------------------------------------------------------------------------------------- verified correct
def test_loss_is_the_weighted_pair_elbo(fitted, temporal):
    """recon(x^t) + recon(x^{t+1}) + beta KL(q(z^t)||N(0,I)) + gamma (log q(z^{t+1}|x^{t+1}) - log p(z^{t+1}|z^t)),
    with one reparameterised sample of both codes, the prior's density by autograd (not the forward derivatives)."""
    model = copy.deepcopy(fitted)
    model.beta, model.gamma = 0.5, 2.0
    first, second, _, _ = temporal.transitions(6, seed=5)
    x, y = torch.as_tensor(first), torch.as_tensor(second)
    state = model._generator.get_state()
    out = model.loss(x, 0, next_images=y)
    model._generator.set_state(state)
    both = torch.cat([x, y])
    mean, logvar = model.encoder_(both).chunk(2, dim=1)
    noise = torch.randn(mean.shape, generator=model._generator)
    z = (mean + torch.exp(0.5 * logvar) * noise).detach()
    nll = F.binary_cross_entropy_with_logits(model.decoder_(z), both, reduction="none").flatten(1).sum(1)
    recon = (nll[:6] + nll[6:]).mean()
    kl = (0.5 * (mean[:6] ** 2 + logvar[:6].exp() - logvar[:6] - 1)).sum(1).mean()
    log_q = torch.distributions.Normal(mean[6:], torch.exp(0.5 * logvar[6:])).log_prob(z[6:]).sum(1)
    z_next = z[6:].clone().requires_grad_()
    residual = model.prior_(z[:6], z_next)[0]
    (diagonal,) = torch.autograd.grad(residual.sum(), z_next)
    log_p = (torch.distributions.Normal(0.0, 1.0).log_prob(residual) + diagonal.abs().log()).sum(1)
    expected = recon + 0.5 * kl + 2.0 * (log_q - log_p).mean()
    torch.testing.assert_close(out.losses["model"].detach(), expected.detach(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out.logs["recon"].detach(), recon.detach(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out.logs["kl"].detach(), kl.detach(), rtol=1e-5, atol=1e-5)


def test_log_density_integrates_to_one_only_for_a_monotone_mechanism():
    """The change of variables is a density when r_j is monotone in z_j'; a folded r_j (allowed: the MLP is not
    constrained, as in the official code) integrates to the number of branches covering the innovations' range."""
    torch.manual_seed(0)
    grid = torch.linspace(-40.0, 40.0, 160001)[:, None]
    step = 80.0 / 160000
    monotone = _linear_prior(np.array([[0.7]]))
    for z0 in (-1.0, 0.0, 2.0):
        density = monotone.log_density(torch.full_like(grid, z0), grid).exp()
        assert abs(float(density.detach().sum() * step) - 1.0) < 1e-3
    # r(z') = 0.8 |z'| - 3 (two leaky units, slope 0.2): each branch carries P(eps > -3), the total ~2
    folded = InverseTransition(1, hidden=2, layers=1, negative_slope=0.2)
    with torch.no_grad():
        folded.layers[0].weight.zero_()
        folded.layers[0].bias.zero_()
        folded.layers[0].weight[0, 1, 0], folded.layers[0].weight[0, 1, 1] = 1.0, -1.0
        folded.layers[1].weight[0, :, 0] = 1.0
        folded.layers[1].bias.fill_(-3.0)
        total = float(folded.log_density(torch.zeros_like(grid), grid).exp().sum() * step)
    assert abs(total - 2 * 0.5 * (1 + math.erf(3 / math.sqrt(2)))) < 1e-2


@pytest.mark.parametrize("at", [0, 2, 5])
def test_counterfactual_codes_are_the_linear_scm_counterfactual(fitted, at):
    """With a known linear SCM as the inverse transition, counterfactual_codes is exactly abduction (eps from the
    factual codes), action (the unit set at step ``at``, the others factual there) and prediction (later steps
    rerun with the same eps), with TemporalWorld.counterfactual's step indexing; at = T - 1 sets the last step
    only."""
    model = _with_prior(fitted, _linear_prior(CHAIN))
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(5, 6, 4)).astype(np.float32)
    values = rng.normal(size=5)
    changed = model.counterfactual_codes(codes, {0: values}, at=at)
    expected = _reference_counterfactual(codes, CHAIN, 0, values, at)
    np.testing.assert_allclose(changed, expected, atol=2e-4)
    np.testing.assert_array_equal(changed[:, :, 2:], codes[:, :, 2:])  # not reached from unit 0: untouched
    if at < 5:
        assert np.abs(changed[:, at + 1:, 1] - codes[:, at + 1:, 1]).min() > 1e-3  # 0 -> 1 propagates


def test_transition_jacobian_and_innovations_read_the_mechanism(fitted, temporal):
    """transition_jacobian[i, j] = |d r_j / d z_i^t| / |d r_j / d z_j^{t+1}| (edge i -> j); innovations = r."""
    model = _with_prior(fitted, _linear_prior(CHAIN))
    first, second, _, _ = temporal.transitions(12, seed=1)
    np.testing.assert_allclose(model.transition_jacobian(first, second), np.abs(CHAIN), atol=1e-6)
    expected = model.encode(second) - model.encode(first) @ CHAIN
    np.testing.assert_allclose(model.innovations(first, second), expected, atol=1e-5)


def test_the_worlds_unaffected_variables_keep_their_factual_trajectory(temporal):
    """The metric's split: the variables reachable_variables leaves out keep exactly the factual states after the
    intervention (so any change there is a leak), and the step ``at`` changes only the intervened variable."""
    batch = temporal.sample(30, 6, seed=3)
    graph = temporal.temporal_graph()
    for name in temporal.variables:
        i = temporal.variables.index(name)
        for at in (0, 2, 4):
            truth = temporal.counterfactual(batch, {name: temporal.world.spec(name).low}, at=at)
            np.testing.assert_array_equal(truth.state[:, :at], batch.state[:, :at])
            np.testing.assert_array_equal(np.delete(truth.state[:, at], i, 1), np.delete(batch.state[:, at], i, 1))
            reached = reachable_variables(graph, i, 5 - at)
            np.testing.assert_array_equal(truth.state[:, at + 1:, ~reached], batch.state[:, at + 1:, ~reached])


# ---------------------------------------------------------------------------------------------- defects
def test_counterfactual_roots_outside_the_bracket_are_not_silently_clamped(fitted):
    """DEFECT (tdrl.py InverseTransition.invert / ROOT_BOUND): a counterfactual whose next value lies outside
    [-20, 20] (here z_3' = 2 z_3 + eps after do(z_3 = 15)) comes back as the grid point nearest a root, +-20, with
    no error or warning; the codes no longer satisfy the mechanism they claim to follow."""
    a = CHAIN.copy()
    a[3, 3] = 2.0
    model = _with_prior(fitted, _linear_prior(a))
    codes = np.random.default_rng(1).normal(size=(4, 4, 4)).astype(np.float32)
    try:
        changed = model.counterfactual_codes(codes, {3: 15.0}, at=1)
    except ValueError:
        return  # refusing is an acceptable fix
    np.testing.assert_allclose(changed, _reference_counterfactual(codes, a, 3, 15.0, 1), rtol=1e-4, atol=1e-3)


def test_forecast_of_an_unfitted_model_says_not_fitted():
    """DEFECT (tdrl.py forecast): _seeded_generator reads self.device_ before anything checks the model is fitted,
    so an unfitted TDRL raises AttributeError instead of NotFittedError (every other method checks first)."""
    with pytest.raises(NotFittedError):
        TDRL(**TINY).forecast(np.zeros((1, 3, 16, 16), np.float32), 2, seed=0)


def test_counterfactual_codes_name_the_unit_of_a_bad_value(fitted):
    """DEFECT (tdrl.py counterfactual_codes): a non-numeric value escapes as numpy's 'could not convert string to
    float', naming neither the argument nor the unit."""
    codes = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="unit 0"):
        fitted.counterfactual_codes(codes, {0: "high"}, at=1)


def test_intervention_values_are_drawn_independently_of_the_sequences(fitted, temporal, regressor, monkeypatch):
    """DEFECT (temporal_counterfactual.py: rng = default_rng(seed) and temporal_world.sample(seed=seed)): the
    intervention values come from the very stream that drew each sequence's exogenous noise, so do(scale) takes the
    shape's own uniform noise as its value (correlation 1): the values are confounded with the sequences."""
    seen = []
    original = temporal.counterfactual

    def spy(batch, interventions, *, at):
        seen.append((batch, dict(interventions)))
        return original(batch, interventions, at=at)

    monkeypatch.setattr(temporal, "counterfactual", spy)
    temporal_counterfactual_scores(fitted, temporal, variables=["scale", "posX"], n=40, length=3, at=0,
                                   regressor=regressor)
    for batch, interventions in seen:
        for value in interventions.values():
            candidates = [np.asarray(v, dtype=np.float64) for v in (batch.base_noise or {}).values()]
            candidates += [batch.fixed[:, k] for k in range(batch.fixed.shape[1])]
            candidates += [batch.draws[:, 0, k] for k in range(batch.draws.shape[2])]
            worst = max(abs(np.corrcoef(value, c)[0, 1]) for c in candidates if c.ndim == 1 and np.std(c) > 0)
            assert worst < 0.9


def test_scores_do_not_compare_against_interventions_the_model_cannot_see(fitted, temporal, regressor):
    """Was a DEFECT (temporal_counterfactual.py): with intervention_prob > 0 (TemporalWorld's and the CLI's default
    0.2) the factual sequences held perfect interventions after ``at``; the world's counterfactual keeps them while a
    target-free model abducts them as innovations. A learner that does not read targets is now scored on sequences of
    the same process without interventions."""
    world = TemporalWorld(temporal.world, intervention_prob=0.5, noise_coupling=1.0)
    scores = temporal_counterfactual_scores(fitted, world, variables=["posX"], n=10, length=5, at=1,
                                            regressor=regressor)
    assert scores["with_interventions"] is False
    same = TemporalWorld(temporal.world, intervention_prob=0.0, noise_coupling=1.0)
    reference = temporal_counterfactual_scores(fitted, same, variables=["posX"], n=10, length=5, at=1,
                                               regressor=regressor)
    np.testing.assert_equal(scores["per_variable"], reference["per_variable"])  # the same sequences (NaN == NaN)


def test_the_factual_reference_is_a_model_that_changes_nothing(fitted, temporal, regressor, monkeypatch):
    """DEFECT (temporal_counterfactual.py: 'factual' reads the true factual frames): the docstring calls ``factual``
    'a model that changes nothing after the intervention step', but a model that changes nothing outputs its decoded
    factual codes; the reference skips the decoder, so every model pays its reconstruction error and 'factual' does
    not (on 'unaffected' a perfect model looks worse than ignoring the intervention)."""
    model = copy.deepcopy(fitted)
    monkeypatch.setattr(model, "counterfactual_codes", lambda codes, interventions, *, at, **_: np.array(codes))
    scores = temporal_counterfactual_scores(model, temporal, variables=["posX"], n=10, length=4, at=1,
                                            regressor=regressor)
    posx = scores["per_variable"]["posX"]
    for part in ("intervened", "effects", "unaffected"):
        assert posx["model"][part] == pytest.approx(posx["factual"][part], rel=1e-5, abs=1e-6)
    assert posx["pixel"]["model"] == pytest.approx(posx["pixel"]["factual"], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("variables", [[], "posX"])
def test_scores_refuse_empty_or_string_variables(fitted, temporal, regressor, variables):
    """DEFECT (temporal_counterfactual.py 'variables'): [] returns all-NaN means (with numpy warnings) instead of an
    error, and a str is read letter by letter ("names 'p'")."""
    with pytest.raises((ValueError, TypeError), match="'variables' argument") as caught:
        temporal_counterfactual_scores(fitted, temporal, variables=variables, n=10, length=4, at=1,
                                       regressor=regressor)
    assert "'p'" not in str(caught.value)
