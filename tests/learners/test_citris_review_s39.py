"""Review (s39) of the temporal additions: TemporalWorld's exact counterfactuals and transitions, CITRIS-VAE's
transition prior (closed-form KL, sample-based NLL, the psi marginalisation), the flow's log-determinant in the KL,
the Gumbel straight-through masks, the target classifier's labels and weights, persistence, determinism, DDP, and
the temporal metrics.

The tests of the ten defects the review found (counterfactual composition, DDP with the flow, hyperparameters
changed after fit, the reported posterior, the differentiable inverse flow, variable checks, bad input) pass since
the fixes of the same session.
"""

from __future__ import annotations

import copy
import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from latentscm import load, worlds
from latentscm.learners.citris import CITRISVAE, TransitionPrior, normal_kl, soft_clamp
from latentscm.nn.autoregressive_flow import AutoregressiveFlow
from latentscm.worlds import TemporalWorld
from latentscm.worlds.temporal import reflect

TINY = {"channels": (8, 8), "hidden_dim": 16, "batch_size": 16, "prior_hidden": 8}


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def world():
    return worlds.make("hue-sprites", size=16, n_positions=8, n_scales=4)


@pytest.fixture(scope="module")
def rich(world):
    """Four variables, a two-parent child (alternating signs), frequent interventions."""
    return TemporalWorld(world, parents={"posY": ["posX", "scale"], "hue": ["posY"]}, intervention_prob=0.3,
                         noise=0.2)


@pytest.fixture(scope="module")
def rich_batch(rich):
    return rich.sample(6, 12, seed=11)


@pytest.fixture(scope="module")
def two(world):
    return TemporalWorld(world, ["posX", "posY"], intervention_prob=0.3)


@pytest.fixture(scope="module")
def fitted_flow(two):
    torch.set_num_threads(1)
    return CITRISVAE(steps=3, seed=0, flow_layers=2, **TINY).fit(two, n_samples=32, progress=False)


@pytest.fixture(scope="module")
def fitted_closed(two):
    torch.set_num_threads(1)
    return CITRISVAE(steps=3, seed=0, flow_layers=0, **TINY).fit(two, n_samples=32, progress=False)


def _one_step(tw: TemporalWorld, previous: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """The module docstring's unintervened step, written out independently of ``_simulate``."""
    goal = previous.copy()
    for j, name in enumerate(tw.variables):
        parents = tw.parents.get(name, [])
        if parents:
            index = [tw.variables.index(p) for p in parents]
            signs = np.array([1.0 if k % 2 == 0 else -1.0 for k in range(len(parents))])
            goal[:, j] = np.sin(np.pi / 2 * (previous[:, index] * signs).sum(1) / len(parents))
    return reflect(previous + tw.pull * (goal - previous) + tw.noise * eps)


def _rollout(tw, batch, forced: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
    """States (N, T, V) from the batch's exogenous record with ``forced[(t, i)]`` overriding."""
    n, length, v = batch.state.shape
    state = np.empty((n, length, v))
    state[:, 0] = batch.state[:, 0]
    for (t, i), value in forced.items():
        if t == 0:
            state[:, 0, i] = value
    for t in range(1, length):
        moved = _one_step(tw, state[:, t - 1], batch.noise[:, t])
        state[:, t] = np.where(batch.targets[:, t], batch.draws[:, t], moved)
        for (step, i), value in forced.items():
            if step == t:
                state[:, t, i] = value
    return state


def _to_state(tw, name, value):
    spec = tw.world.spec(name)
    return 2.0 * (np.asarray(value, dtype=np.float64) - spec.low) / (spec.high - spec.low) - 1.0


def _loss_inputs(tw, n, seed=5):
    first, second, targets, _ = tw.transitions(n, seed=seed, length=9)
    return torch.from_numpy(first), torch.from_numpy(second), torch.from_numpy(targets)


# ------------------------------------------------------------------------------------------------ TemporalWorld
def test_sampled_states_follow_the_documented_equations_and_targets_take_the_draws(rich, rich_batch):
    b = rich_batch
    assert not b.targets[:, 0].any() and b.targets[:, 1:].any() and (~b.targets[:, 1:]).any()
    np.testing.assert_allclose(_rollout(rich, b, {}), b.state, atol=1e-12)
    hit = b.targets
    np.testing.assert_array_equal(b.state[hit], b.draws[hit])  # a perfect do sets the drawn value
    np.testing.assert_array_equal(b.draws[:, 0], b.state[:, 0])  # frame 0: the initial draw
    # transitions pair x^t with x^{t+1} and the targets of step t + 1 (no off-by-one)
    first, second, targets = b.transitions()
    np.testing.assert_array_equal(first[13], b.images[1, 2])
    np.testing.assert_array_equal(second[13], b.images[1, 3])
    np.testing.assert_array_equal(targets[13], b.targets[1, 3])


def test_sample_is_reproducible_from_a_seed_or_a_generator(rich):
    a, b = rich.sample(3, 5, seed=4), rich.sample(3, 5, seed=4)
    c = rich.sample(3, 5, seed=np.random.default_rng(4))
    for x in (b, c):
        np.testing.assert_array_equal(a.images, x.images)
        np.testing.assert_array_equal(a.state, x.state)
        np.testing.assert_array_equal(a.targets, x.targets)


def test_counterfactual_on_several_variables_with_per_sequence_values_reruns_the_equations(rich, rich_batch):
    b = rich_batch
    x_values = np.linspace(0.0, 1.0, len(b))
    do = {"posX": x_values, "hue": 0.4}
    cf = rich.counterfactual(b, do, at=4)
    forced = {(4, 1): _to_state(rich, "posX", x_values), (4, 3): np.full(len(b), _to_state(rich, "hue", 0.4))}
    np.testing.assert_allclose(cf.state, _rollout(rich, b, forced), atol=1e-12)
    np.testing.assert_array_equal(cf.state[:, :4], b.state[:, :4])
    np.testing.assert_array_equal(cf.images[:, :4], b.images[:, :4])
    assert cf.targets[:, 4, [1, 3]].all()
    np.testing.assert_array_equal(np.delete(cf.targets, [4], axis=1), np.delete(b.targets, [4], axis=1))
    # the rendered values are the do values (snapped to the factor's grid)
    spec = rich.world.spec("posX")
    np.testing.assert_allclose(cf.variable_values()[:, 4, 1], spec.snap(x_values))


def test_counterfactual_overrides_an_intervention_already_in_the_batch_and_keeps_the_others(rich, rich_batch):
    b = rich_batch
    # a step where some sequences were intervened on posX (index 1) and some on another variable
    steps = [t for t in range(1, b.length) if b.targets[:, t, 1].any() and np.delete(b.targets[:, t], 1, 1).any()]
    assert steps
    t = steps[0]
    cf = rich.counterfactual(b, {"posX": 0.25}, at=t)
    np.testing.assert_allclose(cf.state[:, t, 1], _to_state(rich, "posX", 0.25))
    others = [0, 2, 3]
    np.testing.assert_array_equal(cf.state[:, t, others], b.state[:, t, others])  # their draws kept, no instant effect
    np.testing.assert_allclose(cf.state, _rollout(rich, b, {(t, 1): np.full(len(b), -0.5)}), atol=1e-12)


def test_counterfactual_at_zero_and_at_the_last_step(rich, rich_batch):
    b = rich_batch
    first = rich.counterfactual(b, {"posY": 1.0}, at=0)
    np.testing.assert_allclose(first.state, _rollout(rich, b, {(0, 2): np.ones(len(b))}), atol=1e-12)
    last = rich.counterfactual(b, {"posY": 0.0}, at=b.length - 1)
    np.testing.assert_array_equal(last.state[:, :-1], b.state[:, :-1])
    np.testing.assert_allclose(last.state[:, -1, 2], -1.0)
    np.testing.assert_array_equal(last.images[:, :-1], b.images[:, :-1])


@pytest.mark.parametrize("first_at", [0, 2])
def test_counterfactual_of_a_counterfactual_keeps_the_steps_before_its_step(rich, rich_batch, first_at):
    once = rich.counterfactual(rich_batch, {"posX": 0.0}, at=first_at)
    twice = rich.counterfactual(once, {"hue": 0.1}, at=5)
    np.testing.assert_array_equal(twice.state[:, :5], once.state[:, :5])


@pytest.mark.parametrize("value", [np.full(3, 0.5), np.full((6, 1), 0.5), "abc"], ids=["short", "column", "text"])
def test_counterfactual_refuses_bad_values_naming_the_variable(rich, rich_batch, value):
    with pytest.raises((ValueError, TypeError), match="posX"):
        rich.counterfactual(rich_batch, {"posX": value}, at=3)


def test_temporal_world_pickles_and_its_description_rebuilds_it(rich, world):
    again = pickle.loads(pickle.dumps(rich))
    assert again.describe() == rich.describe()
    np.testing.assert_array_equal(again.sample(2, 4, seed=0).state, rich.sample(2, 4, seed=0).state)
    rebuilt = TemporalWorld(world, **rich.describe())
    np.testing.assert_array_equal(rebuilt.temporal_graph(), rich.temporal_graph())
    np.testing.assert_array_equal(rebuilt.sample(2, 4, seed=1).images, rich.sample(2, 4, seed=1).images)


def test_temporal_training_set_pairs_x_t_factors_with_the_next_frame_and_its_targets(two):
    from latentscm.training.data import DATA_SEED_OFFSET, as_training_set

    ts = as_training_set(two, n_samples=60, seed=2, owner="test", transitions=True)
    first, second, targets, factors = two.transitions(60, seed=2 + DATA_SEED_OFFSET)
    np.testing.assert_array_equal(ts.images, first)
    np.testing.assert_array_equal(ts.next_images, second)
    np.testing.assert_array_equal(ts.next_targets, targets)
    columns = [two.factor_names.index(v) for v in two.variables]
    np.testing.assert_array_equal(ts.factors, factors[:, columns])
    assert ts.factor_names == two.variables and ts.source["temporal"]["variables"] == list(two.variables)


def test_cli_edges_that_are_not_single_arrows_are_refused(world):
    from latentscm.cli.assignments import parse_temporal

    options = parse_temporal(["variables=posX,posY,hue", "edges=posX->posY->hue"])
    with pytest.raises(ValueError, match="parents"):
        TemporalWorld(world, **options)
    with pytest.raises(ValueError, match="edges"):
        parse_temporal(["edges=posX"])


# ------------------------------------------------------------------------------------------------ transition prior
def _random_prior(use_psi0: bool, seed: int = 0) -> TransitionPrior:
    torch.manual_seed(seed)
    prior = TransitionPrior(units=4, n_variables=3, hidden=8, use_psi0=use_psi0).double()
    with torch.no_grad():
        prior.assignment_logits.copy_(torch.randn(4, 4, dtype=torch.float64) * 1.5)
        prior.intervened.copy_(torch.randn(4, 3, 2, dtype=torch.float64))
    return prior


def _targets():
    return torch.tensor([[0, 0, 0], [1, 0, 0], [0, 1, 1], [1, 1, 1], [0, 0, 1]], dtype=torch.float64)


def test_closed_form_kl_is_the_psi_expectation_of_each_assignments_kl():
    lam = 0.3
    prior = _random_prior(use_psi0=True)
    targets = _targets()
    z_t, mean = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    logstd = torch.randn(5, 4, dtype=torch.float64) * 0.3
    got = prior(z_t, targets, mean, logstd, lam)
    psi = torch.softmax(prior.assignment_logits, 1)
    obs_mean, obs_logstd = prior.observational(z_t)
    expected = torch.zeros(5, dtype=torch.float64)
    for b in range(5):
        for j in range(4):
            kl_obs = normal_kl(mean[b, j], logstd[b, j], obs_mean[b, j], obs_logstd[b, j])
            for g in range(3):
                if targets[b, g]:
                    m, s = prior.intervened[j, g]
                    expected[b] += psi[j, g] * normal_kl(mean[b, j], logstd[b, j], m, soft_clamp(s))
                else:
                    expected[b] += psi[j, g] * kl_obs
            expected[b] += psi[j, 3] * (1 - lam) * kl_obs
    torch.testing.assert_close(got, expected)
    # without psi_0 its column has probability 0 and the KL is the plain expectation over the variables
    plain = _random_prior(use_psi0=False)
    assert torch.all(plain.probabilities()[:, -1] == 0)
    assert torch.isfinite(plain(z_t, targets, mean, logstd, 0.0)).all()


def test_sample_nll_value_regulariser_and_gradient_split():
    lam = 0.2
    prior = _random_prior(use_psi0=True, seed=1)
    targets = _targets()
    z_t = torch.randn(5, 4, dtype=torch.float64)
    z_next = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    prior.eval()
    got = prior.nll(z_t, targets, z_next, lam)
    psi = torch.softmax(prior.assignment_logits, 1)
    obs_mean, obs_logstd = prior.observational(z_t)

    def nll(x, m, s):
        return -torch.distributions.Normal(m, s.exp()).log_prob(x)

    expected = torch.zeros(5, dtype=torch.float64)
    for b in range(5):
        for j in range(4):
            obs = nll(z_next[b, j], obs_mean[b, j], obs_logstd[b, j])
            for g in range(3):
                if targets[b, g]:
                    m, s = prior.intervened[j, g]
                    expected[b] = expected[b] + psi[j, g] * nll(z_next[b, j], m.detach(), soft_clamp(s).detach())
                else:
                    expected[b] = expected[b] + psi[j, g] * obs
            expected[b] = expected[b] + psi[j, 3] * (1 - lam) * obs
    torch.testing.assert_close(got, expected)
    # the codes' gradient goes through the detached intervened Gaussians (weighted by psi) ...
    grad_got = torch.autograd.grad(got.sum(), z_next, retain_graph=True)[0]
    grad_expected = torch.autograd.grad(expected.sum(), z_next, retain_graph=True)[0]
    torch.testing.assert_close(grad_got, grad_expected)
    # ... and the intervened Gaussians learn every (unit, intervened variable) pair from detached codes
    own = sum(nll(z_next.detach()[b, j], prior.intervened[j, g, 0], soft_clamp(prior.intervened[j, g, 1]))
              for b in range(5) for j in range(4) for g in range(3) if targets[b, g])
    torch.testing.assert_close(torch.autograd.grad(got.sum(), prior.intervened, retain_graph=True)[0],
                               torch.autograd.grad(own, prior.intervened)[0])
    # training mode adds psi_0's regulariser lambda_reg * mean(1 - psi_0) to every row
    prior.train()
    torch.testing.assert_close(prior.nll(z_t, targets, z_next, lam) - got, (lam * (1 - psi[:, 3]).mean()).expand(5))


# ------------------------------------------------------------------------------------------------ CITRIS-VAE loss
def test_the_flow_log_determinant_is_subtracted_in_the_kl(fitted_flow, two):
    model = copy.deepcopy(fitted_flow)
    m = model.latent_dim_
    model.prior_.nll = lambda z_t, targets, z_next, lambda_reg: torch.zeros(z_t.shape[0])
    first, second, targets = _loss_inputs(two, 8)
    kls = {}
    for scale in (0.5, -0.5):
        with torch.no_grad():  # the flow becomes a pure scaling by e^{2 scale} (two ActNorms), log |det| = 2 M scale
            for block in model.flow_.blocks:
                name = type(block).__name__
                if name == "_ActNorm":
                    block.bias.zero_()
                    block.log_scale.fill_(3.0 * math.atanh(scale / 3.0))
                elif name == "_Orthogonal":
                    block.skew.zero_()
                else:
                    block.net[-1].weight.zero_()
                    block.net[-1].bias.zero_()
        x = torch.randn(3, m)
        torch.testing.assert_close(model.flow_(x)[0], x * math.exp(2 * scale))
        model._generator.manual_seed(0)
        kls[scale] = float(model.loss(first, 0, next_images=second, next_targets=targets).logs["kl"].detach())
    # KL = log q(z) - log |det J| + NLL: a larger scaling lowers it by the change of log-determinant
    assert kls[0.5] - kls[-0.5] == pytest.approx(-2 * m * (0.5 - (-0.5)), rel=1e-4)


def test_gumbel_masks_are_hard_one_hot_samples_of_psi_with_straight_through_gradients(fitted_closed, two):
    model = copy.deepcopy(fitted_closed)
    v, m = 2, model.latent_dim_
    probabilities = torch.tensor([0.8, 0.2])
    with torch.no_grad():
        model.prior_.assignment_logits.zero_()
        model.prior_.assignment_logits[0, :2] = probabilities.log()
    captured = []
    original = model._classifier_inputs

    def spy(z_t, z_next, masks):
        captured.append(masks)
        return original(z_t, z_next, masks)

    model._classifier_inputs = spy
    first, second, targets = _loss_inputs(two, 240)
    model._generator.manual_seed(3)
    out = model.loss(first, 0, next_images=second, next_targets=targets)
    masks = captured[-1]  # (B, V + 2, M): the variable groups, psi_0, all units
    assert masks.shape == (240, v + 2, m)
    assert set(masks.detach().unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(masks[:, : v + 1].detach().sum(1), torch.ones(240, m))
    assert torch.all(masks[:, v] == 0)  # no psi_0 at lambda_reg = 0
    assert torch.all(masks[:, v + 1] == 1)
    frequency = float(masks[:, 0, 0].detach().mean())
    assert abs(frequency - 0.8) < 0.1
    # straight-through: the codes' loss reaches psi's logits (not psi_0's masked column), finite
    grad = torch.autograd.grad(out.logs["loss_z"], model.prior_.assignment_logits)[0]
    assert torch.isfinite(grad).all() and torch.any(grad[:, :v] != 0) and torch.all(grad[:, v] == 0)


def test_target_classifier_labels_and_weights(fitted_closed, two):
    model = copy.deepcopy(fitted_closed)
    c = torch.tensor([0.3, -0.7])
    with torch.no_grad():  # a constant classifier: logits c whatever the input
        model.classifier_.net[-1].weight.zero_()
        model.classifier_.net[-1].bias.copy_(c)
        model.classifier_.marginal.copy_(torch.tensor([0.25, 0.6]))
    first, second, targets = _loss_inputs(two, 16)
    out = model.loss(first, 0, next_images=second, next_targets=targets)
    v, groups = 2, 4
    y = targets.float()[:, None].expand(-1, groups, -1)
    own = torch.tensor([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=torch.bool)  # group i knows I_i; psi_0 none; all all
    wanted = torch.where(own, y, model.classifier_.marginal)
    weights = torch.where(own, float(v), 1.0)

    def bce(label):
        return F.softplus(c) - c * label

    torch.testing.assert_close(out.logs["classifier_loss"], groups * bce(y).mean())
    torch.testing.assert_close(out.logs["loss_z"], groups * (weights * bce(wanted)).mean())
    torch.testing.assert_close(out.losses["classifier"], model.beta_classifier * out.logs["classifier_loss"])


def test_each_loss_reaches_only_its_own_parameters(fitted_flow, two):
    model = copy.deepcopy(fitted_flow)
    first, second, targets = _loss_inputs(two, 16)
    out = model.loss(first, 0, next_images=second, next_targets=targets)
    names = ("encoder", "decoder", "prior", "flow")
    model_params = [p for name in names for p in getattr(model, f"{name}_").parameters()]
    classifier_params = list(model.classifier_.parameters())
    from_classifier = torch.autograd.grad(out.losses["classifier"], model_params, allow_unused=True, retain_graph=True)
    assert all(g is None or not torch.any(g != 0) for g in from_classifier)
    from_model = torch.autograd.grad(out.losses["model"], classifier_params, allow_unused=True, retain_graph=True)
    assert all(g is None or not torch.any(g != 0) for g in from_model)
    to_own = torch.autograd.grad(out.losses["classifier"], classifier_params, allow_unused=True)
    assert any(g is not None and torch.any(g != 0) for g in to_own)


# ------------------------------------------------------------------------------------------------ persistence, seeds
def test_fit_is_deterministic_and_save_load_pickle_keep_the_flow_model(fitted_flow, two, tmp_path):
    again = CITRISVAE(steps=3, seed=0, flow_layers=2, **TINY).fit(two, n_samples=32, progress=False)
    for name, module in fitted_flow._modules().items():
        for key, value in module.state_dict().items():
            assert torch.equal(value, again._modules()[name].state_dict()[key]), (name, key)
    images = two.independent_frames(4, seed=9)[0]
    codes = fitted_flow.encode(images)
    fitted_flow.save(str(tmp_path / "run"))
    loaded = load(str(tmp_path / "run"))
    unpickled = pickle.loads(pickle.dumps(fitted_flow))
    for other in (loaded, unpickled):
        assert other.variables_ == fitted_flow.variables_
        np.testing.assert_array_equal(other.encode(images), codes)
        np.testing.assert_array_equal(other.decode(codes), fitted_flow.decode(codes))
        np.testing.assert_array_equal(other.assignment_probabilities(), fitted_flow.assignment_probabilities())
        assert all(bool(b.initialised) for b in other.flow_.blocks if hasattr(b, "initialised"))


def test_set_params_flow_layers_after_fit_keeps_or_refuses(fitted_flow, two, tmp_path):
    model = copy.deepcopy(fitted_flow)
    images = two.independent_frames(4, seed=9)[0]
    before = model.encode(images)
    model.set_params(flow_layers=0)
    np.testing.assert_array_equal(model.encode(images), before)
    try:
        model.save(str(tmp_path / "changed"))
    except ValueError:
        return  # refused, as a structural change should be
    np.testing.assert_array_equal(load(str(tmp_path / "changed")).encode(images), before)


def test_set_params_lambda_reg_after_fit_keeps_psi_or_refuses(fitted_closed, tmp_path):
    model = copy.deepcopy(fitted_closed)
    psi = model.assignment_probabilities()
    model.set_params(lambda_reg=0.5)
    try:
        model.save(str(tmp_path / "changed"))
    except ValueError:
        return
    np.testing.assert_allclose(load(str(tmp_path / "changed")).assignment_probabilities(), psi)


def test_the_reported_posterior_is_the_trained_one(fitted_closed, two):
    model = copy.deepcopy(fitted_closed)
    m = model.latent_dim_
    with torch.no_grad():
        model.encoder_.head.weight[m:] = 0.0
        model.encoder_.head.bias[m:] = -12.0
    images = two.independent_frames(64, seed=1)[0]
    trained_logstd = float(soft_clamp(torch.tensor(-6.0)))
    mean, logvar = model.encode_distribution(images)
    spread = (model.encode(images, sample=True, seed=0) - mean).std()
    np.testing.assert_allclose(logvar, 2 * trained_logstd, rtol=1e-4)
    assert spread == pytest.approx(math.exp(trained_logstd), rel=0.2)


def test_the_inverse_flow_and_the_decoder_are_differentiable(fitted_flow):
    from latentscm.probes.potential_flows import torch_decoder

    flow = AutoregressiveFlow(3, layers=2, hidden_per_unit=4)
    y = torch.randn(4, 3, requires_grad=True)
    assert torch.isfinite(torch.autograd.grad(flow.reverse(y).sum(), y)[0]).all()
    model = copy.deepcopy(fitted_flow)
    z = torch.zeros(2, model.latent_dim_, requires_grad=True)
    assert torch.isfinite(torch.autograd.grad(torch_decoder(model)(z).sum(), z)[0]).all()


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("mask", [np.full((3, 2), 0.5), np.full((3, 2), 2), np.array([["no", "yes"]] * 3)],
                         ids=["half", "two", "text"])
def test_combine_refuses_a_mask_that_is_not_boolean(fitted_closed, two, mask):
    images = two.independent_frames(3, seed=0)[0]
    with pytest.raises(ValueError, match="mask"):
        fitted_closed.combine(images, images, mask)


def test_variable_units_refuses_a_bool(fitted_closed):
    with pytest.raises((ValueError, TypeError), match="variable"):
        fitted_closed.variable_units(True)


def test_variable_units_and_combine_accept_good_input(fitted_closed, two):
    units = np.concatenate([fitted_closed.variable_units(v) for v in two.variables])
    assert sorted(units.tolist()) == list(range(fitted_closed.latent_dim_))
    np.testing.assert_array_equal(fitted_closed.variable_units(np.int64(1)), fitted_closed.variable_units("posY"))
    images = two.independent_frames(3, seed=0)[0]
    ints = fitted_closed.combine(images, images[::-1], np.array([[1, 0], [0, 1], [1, 1]]))
    bools = fitted_closed.combine(images, images[::-1], np.array([[1, 0], [0, 1], [1, 1]], dtype=bool))
    np.testing.assert_array_equal(ints, bools)


# ------------------------------------------------------------------------------------------------ metrics
def test_triplet_scores_refuses_a_world_with_other_variables(fitted_closed, world):
    from latentscm.metrics.factor_regressor import FactorRegressor
    from latentscm.metrics.triplets import triplet_scores

    regressor = FactorRegressor(n_train=64, n_test=32, steps=2, seed=0).fit(world)
    with pytest.raises(ValueError, match="variables"):
        triplet_scores(fitted_closed, TemporalWorld(world, ["posY", "posX"]), n=20, regressor=regressor)


def test_discover_latent_temporal_graph_refuses_a_world_with_other_variables(fitted_closed, world):
    from latentscm.discovery.latent_temporal_graph import discover_latent_temporal_graph

    with pytest.raises(ValueError, match="variables"):
        discover_latent_temporal_graph(fitted_closed, TemporalWorld(world, ["posY", "posX"]), n=60,
                                       ci_test="fisherz")


def test_causal_variable_r2_refuses_a_reordered_world(fitted_closed, world):
    from latentscm.metrics.causal_variable_r2 import causal_variable_r2

    with pytest.raises(ValueError, match="trained on the variables"):
        causal_variable_r2(fitted_closed, TemporalWorld(world, ["posY", "posX"]), n=40, max_train=30)


# ------------------------------------------------------------------------------------------------ DDP
_CHILD = textwrap.dedent("""
    import os, sys
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    from latentscm import worlds
    from latentscm.learners.citris import CITRISVAE
    from latentscm.worlds import TemporalWorld

    temporal = TemporalWorld(worlds.make("hue-sprites", size=16, n_positions=8, n_scales=4), ["posX", "posY"])
    for flow in (0, 2):
        learner = CITRISVAE(steps=2, seed=0, flow_layers=flow, channels=(8, 8), hidden_dim=16, batch_size=8,
                            prior_hidden=8).fit(temporal, n_samples=32, progress=False)
        weights = {f"{n}.{k}": v for n, m in learner._modules().items() for k, v in m.state_dict().items()}
        torch.save(weights, os.path.join(sys.argv[1], f"flow{flow}_rank{os.environ['RANK']}.pt"))
    dist.barrier()
    dist.destroy_process_group()
""")


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    import os

    directory = tmp_path_factory.mktemp("ddp")
    script = directory / "child.py"
    script.write_text(_CHILD)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                             str(script), str(directory)], env=env, capture_output=True, text=True, timeout=300)
    return directory, result


def _differing(directory, flow):
    a, b = (torch.load(directory / f"flow{flow}_rank{r}.pt") for r in (0, 1))
    return sorted(key for key in a if not torch.equal(a[key], b[key]))


def test_ddp_without_the_flow_keeps_ranks_identical(ddp_run):
    directory, result = ddp_run
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert _differing(directory, 0) == []


def test_ddp_with_the_flow_keeps_ranks_identical(ddp_run):
    directory, result = ddp_run
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert _differing(directory, 2) == []
