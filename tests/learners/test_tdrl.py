"""TDRL: the inverse transition's change of variables, its derivatives and learned graph, training on frames alone,
and the noise-coupled temporal worlds it is identified on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from learners_support import TEMPORAL_TINY, noise_coupled_hue_sprites

from latentscm import worlds
from latentscm.data import TemporalTransitions
from latentscm.discovery.latent_temporal_graph import edge_auroc, jacobian_temporal_graph
from latentscm.learners.citris import CITRISVAE
from latentscm.learners.tdrl import TDRL, InverseTransition
from latentscm.worlds import TemporalWorld
from latentscm.worlds.temporal import reflect

TINY = TEMPORAL_TINY


@pytest.fixture(scope="module")
def temporal():
    return noise_coupled_hue_sprites()


@pytest.fixture(scope="module")
def fitted(temporal):
    return TDRL(steps=6, seed=0, **TINY).fit(temporal, n_samples=64, progress=False)


def test_forward_derivatives_are_autograds():
    torch.manual_seed(0)
    prior = InverseTransition(units=3, hidden=8, layers=2)
    z_t, z_next = torch.randn(5, 3), torch.randn(5, 3, requires_grad=True)
    residual, derivative = prior(z_t, z_next)
    (own,) = torch.autograd.grad(residual.sum(), z_next)  # r_j reads z_next only through z_next_j
    torch.testing.assert_close(derivative[..., 0], own)
    past = z_t.clone().requires_grad_()
    _, every = prior(past, z_next.detach(), torch.eye(4))
    jacobian = torch.autograd.functional.jacobian(lambda a: prior(a, z_next.detach())[0], past)  # (5, 3, 5, 3)
    rows = torch.stack([jacobian[b, :, b, :] for b in range(5)])  # (B, unit j, input i)
    torch.testing.assert_close(every[..., :3], rows)


def test_log_density_is_the_change_of_variables_of_a_linear_transition():
    """With an identity activation every r_j is affine, r_j = a_j . z^t + b_j z_j' + c_j: the density is Gaussian."""
    torch.manual_seed(1)
    prior = InverseTransition(units=2, hidden=4, layers=2, negative_slope=1.0)
    z_t, z_next = torch.randn(7, 2), torch.randn(7, 2)
    zeros = torch.zeros(7, 2)
    constant = prior(zeros, zeros)[0]
    slope_own = prior(zeros, torch.ones(7, 2))[0] - constant
    expected = torch.zeros(7)
    for j in range(2):
        residual = prior(z_t, z_next)[0][:, j]
        expected += -0.5 * residual ** 2 - 0.5 * math.log(2 * math.pi) + torch.log(slope_own[0, j].abs())
    torch.testing.assert_close(prior.log_density(z_t, z_next), expected, rtol=1e-5, atol=1e-5)


def test_the_prior_alone_learns_the_process_and_its_graph(temporal):
    """Fitted by maximum likelihood to the true states of a noise-coupled chain, the inverse transition beats every
    model that ignores the past, whitens the innovations, and its Jacobian ranks the true lag-1 edges first."""
    torch.manual_seed(0)
    batch = temporal.sample(150, 21, seed=0)
    states = torch.tensor(batch.state, dtype=torch.float32)
    past, now = states[:, :-1].reshape(-1, 4), states[:, 1:].reshape(-1, 4)
    held = torch.tensor(temporal.sample(80, 21, seed=1).state, dtype=torch.float32)
    held_past, held_now = held[:, :-1].reshape(-1, 4), held[:, 1:].reshape(-1, 4)
    prior = InverseTransition(units=4, hidden=32, layers=2)
    optimizer = torch.optim.Adam(prior.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(800):
        rows = torch.randint(0, past.shape[0], (256,), generator=generator)
        loss = -prior.log_density(past[rows], now[rows]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        learned = prior.log_density(held_past, held_now).mean().item()
        residual, derivative = prior(held_past, held_now, torch.eye(5))
    marginal = torch.distributions.Normal(now.mean(0), now.std(0)).log_prob(held_now).sum(1).mean().item()
    assert learned > marginal + 3.0  # the past predicts the next state
    correlation = np.corrcoef(residual.numpy().T)
    assert np.abs(correlation - np.eye(4)).max() < 0.2  # near-independent innovations
    scaled = (derivative.abs().mean(0)[:, :4] / derivative.abs().mean(0)[:, 4:]).T.numpy()  # [input i, unit j]
    assert edge_auroc(scaled, temporal.temporal_graph()) == 1.0


def test_edge_auroc():
    true = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]], bool)
    perfect = np.array([[9, 5, 1], [0, 9, 4], [2, 3, 9]], float)
    assert edge_auroc(perfect, true) == 1.0
    assert edge_auroc(-perfect, true) == 0.0
    assert edge_auroc(np.ones((3, 3)), true) == 0.5
    assert math.isnan(edge_auroc(np.ones((2, 2)), np.eye(2, dtype=bool)))  # no true cross edge


def test_fit_reads_frames_only(fitted, temporal):
    assert fitted.latent_dim_ == 8 and fitted.variables_ == temporal.variables  # max(2 V, V + 2)
    assert set(fitted.history_[-1]) >= {"recon", "kl", "kl_transition"}
    first, second, _, _ = temporal.transitions(30, seed=3)
    eps = fitted.innovations(first, second)
    assert eps.shape == (30, 8) and np.all(np.isfinite(eps))
    jacobian = fitted.transition_jacobian(first, second)
    assert jacobian.shape == (8, 8) and np.all(jacobian >= 0)
    graph = jacobian_temporal_graph(fitted, temporal, n=60, seed=0)
    assert graph["weights"].shape == (4, 4) and sorted(graph["groups"]) == [-1] * 4 + [0, 1, 2, 3]
    assert 0.0 <= graph["auroc"] <= 1.0
    # the targets are not read: a run on the same frames with other targets is the same run
    data = TemporalTransitions(first, second, np.ones((30, 4), bool), temporal.variables)
    alone = TemporalTransitions(first, second)
    a = TDRL(steps=3, seed=2, latent_dim=4, **TINY).fit(data, progress=False)
    b = TDRL(steps=3, seed=2, latent_dim=4, **TINY).fit(alone, progress=False)
    np.testing.assert_array_equal(a.encode(first), b.encode(first))
    assert b.variables_ == () and alone.targets.shape == (30, 0)


def test_save_and_load_keep_the_transition(fitted, temporal, tmp_path):
    from latentscm import load

    fitted.save(str(tmp_path / "run"))
    loaded = load(str(tmp_path / "run"))
    first, second, _, _ = temporal.transitions(10, seed=4)
    np.testing.assert_array_equal(loaded.innovations(first, second), fitted.innovations(first, second))
    assert loaded.variables_ == fitted.variables_


def test_refusals(temporal, fitted):
    first, second, _, _ = temporal.transitions(8, seed=0)
    with pytest.raises(ValueError, match="latent_dim"):
        TDRL(steps=1, **TINY).fit(TemporalTransitions(first, second), progress=False)
    with pytest.raises(ValueError, match="TemporalWorld"):
        TDRL(steps=1, **TINY).fit(temporal.world, n_samples=16, progress=False)
    with pytest.raises(ValueError, match="known intervention targets"):
        CITRISVAE(steps=1, **TINY).fit(TemporalTransitions(first, second), progress=False)
    with pytest.raises(ValueError, match="'variables' argument of TemporalTransitions"):
        TemporalTransitions(first, second, variables=["a"])
    with pytest.raises(ValueError, match="'next_images'"):
        fitted.innovations(first, second[:4])
    with pytest.raises(ValueError, match="'prior_layers' parameter of TDRL"):
        TDRL(prior_layers=0)
    with pytest.raises(TypeError, match="transition_jacobian"):
        jacobian_temporal_graph(CITRISVAE(steps=1, **TINY).fit(TemporalWorld(temporal.world), n_samples=16,
                                                               progress=False), temporal, n=60)


def test_noise_coupling_scales_each_innovation_by_its_goal():
    world = worlds.make("hue-sprites", size=16, n_positions=8, n_scales=4)
    coupled = TemporalWorld(world, noise_coupling=1.5, intervention_prob=0.3)
    batch = coupled.sample(20, 6, seed=0)
    for t in range(1, 6):
        previous = batch.state[:, t - 1]
        goal = coupled._goal(previous)
        expected = reflect(previous + 0.5 * (goal - previous) + 0.1 * np.exp(1.5 * goal) * batch.noise[:, t])
        expected = np.where(batch.targets[:, t], batch.draws[:, t], expected)
        np.testing.assert_allclose(batch.state[:, t], expected, atol=1e-12)
    # coupling 0 is the additive process, draw for draw; the description records the coupling only where set
    plain = TemporalWorld(world).sample(5, 4, seed=1)
    zero = TemporalWorld(world, noise_coupling=0.0).sample(5, 4, seed=1)
    np.testing.assert_array_equal(plain.state, zero.state)
    assert "noise_coupling" not in TemporalWorld(world).describe()
    assert TemporalWorld(world, **coupled.describe()).describe() == coupled.describe()
    assert "noise_coupling=1.5" in repr(coupled)
    with pytest.raises(ValueError, match="'noise_coupling' parameter of TemporalWorld"):
        TemporalWorld(world, noise_coupling=9.0)


def test_invert_finds_the_abducted_next_state():
    torch.manual_seed(3)
    prior = InverseTransition(units=3, hidden=8, layers=2)
    z_t, z_next = torch.randn(50, 3), torch.randn(50, 3)
    with torch.no_grad():
        prior.layers[-1].weight.mul_(20.0)  # innovations of unit scale (at initialisation they are ~0.1)
        eps = prior(z_t, z_next)[0]
        back = prior.invert(z_t, eps, reference=z_next)
        torch.testing.assert_close(prior(z_t, back)[0], eps, atol=1e-4, rtol=0)
    # the root nearest the reference is the factual one, wherever the mechanism is not nearly flat there (a random
    # MLP can be, and then roots a few hundredths apart differ in r by 1e-4)
    slope = prior(z_t, z_next)[1][..., 0].detach().abs()
    steep = slope > 0.05
    assert steep.float().mean() > 0.8
    torch.testing.assert_close(back[steep], z_next[steep], atol=1e-4, rtol=0)


def test_counterfactual_codes_abduct_act_predict(fitted, temporal):
    batch = temporal.sample(6, 7, seed=2)
    codes = fitted.encode(batch.images.reshape(42, 3, 16, 16)).reshape(6, 7, 8)
    same = fitted.counterfactual_codes(codes, {1: codes[:, 2, 1]}, at=2)  # do(z_1 = its own value): no change
    np.testing.assert_allclose(same, codes, atol=1e-4)  # inverted in float64, step after step
    changed = fitted.counterfactual_codes(codes, {1: 3.0}, at=2)
    np.testing.assert_array_equal(changed[:, :2], codes[:, :2])  # the past is untouched
    np.testing.assert_allclose(changed[:, 2, 1], 3.0)
    np.testing.assert_array_equal(np.delete(changed[:, 2], 1, axis=1), np.delete(codes[:, 2], 1, axis=1))
    assert np.abs(changed[:, 3:] - codes[:, 3:]).max() > 1e-3  # the intervention propagates
    frames = fitted.counterfactual_sequence(batch, {1: 3.0}, at=2)
    assert frames.shape == (6, 7, 3, 16, 16)
    np.testing.assert_allclose(frames[:, 4], fitted.decode(changed[:, 4]), atol=1e-6)
    with pytest.raises(ValueError, match="unit 8 is not a latent unit"):
        fitted.counterfactual_codes(codes, {8: 0.0}, at=2)
    with pytest.raises(ValueError, match="'at' argument"):
        fitted.counterfactual_codes(codes, {0: 0.0}, at=7)
    with pytest.raises(ValueError, match="'codes' argument"):
        fitted.counterfactual_codes(codes[..., :3], {0: 0.0}, at=1)
    with pytest.raises(ValueError, match="one value per sequence"):
        fitted.counterfactual_codes(codes, {0: np.zeros(5)}, at=1)
    with pytest.raises(ValueError, match="'frames' argument"):
        fitted.counterfactual_sequence(batch.images[0], {0: 0.0}, at=1)


def test_forecast_is_seeded(fitted, temporal):
    frames = temporal.independent_frames(3, seed=0)[0]
    a, b = fitted.forecast(frames, 4, seed=0), fitted.forecast(frames, 4, seed=0)
    assert a.shape == (3, 5, 3, 16, 16)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a[:, 0], fitted.reconstruct(frames), atol=1e-6)
    assert np.abs(fitted.forecast(frames, 4, seed=1) - a).max() > 0
    with pytest.raises(TypeError, match="needs a seed"):
        fitted.forecast(frames, 2, seed=None)


def test_reachable_variables_follow_the_lag1_graph(temporal):
    from latentscm.metrics.temporal_counterfactual import reachable_variables

    graph = temporal.temporal_graph()  # scale -> posX -> posY -> hue
    assert reachable_variables(graph, 0, 2).tolist() == [True, True, True, False]
    assert reachable_variables(graph, 0, 5).tolist() == [True] * 4
    assert reachable_variables(graph, 3, 5).tolist() == [False, False, False, True]
    assert reachable_variables(graph, 1, 0).tolist() == [False, True, False, False]


def test_temporal_counterfactual_scores(fitted, temporal):
    from latentscm.metrics.factor_regressor import FactorRegressor
    from latentscm.metrics.temporal_counterfactual import temporal_counterfactual_scores

    regressor = FactorRegressor(seed=0, n_train=400, n_test=100, steps=50).fit(temporal.world)
    scores = temporal_counterfactual_scores(fitted, temporal, variables=["posX", "hue"], n=12, length=6, at=2,
                                            regressor=regressor)
    assert scores["variables"] == ["posX", "hue"] and scores["assigned_by"] == "matched"
    assert len(scores["groups"]) == 8 and all(0 <= g <= 4 for g in scores["groups"])  # 4: no variable
    for name in ("posX", "hue"):  # the units set: those matched to the variable, else its one-to-one unit
        units = scores["per_variable"][name]["units"]
        assert units and (all(scores["groups"][u] == ["scale", "posX", "posY", "hue"].index(name) for u in units)
                          or len(units) == 1)
    assert scores["per_variable"]["posX"]["effects"] == ["posY", "hue"]
    assert scores["per_variable"]["hue"]["effects"] == []
    assert math.isnan(scores["per_variable"]["hue"]["model"]["effects"])
    for kind in ("model", "factual", "floor"):
        assert all(0 <= scores["mean"][kind][part] < np.inf for part in ("intervened", "unaffected"))
    posx = scores["per_variable"]["posX"]
    assert posx["floor"]["intervened"] < posx["factual"]["intervened"]  # the read-out sees that posX was moved
    assert posx["pixel"]["factual"] > 0  # posX moved: the factual frames are not the truth
    gap = posx["pixel"]["factual"] - posx["pixel"]["reconstruction"]
    if gap > 0:
        assert posx["pixel"]["excess"] == pytest.approx((posx["pixel"]["model"] - posx["pixel"]["reconstruction"])
                                                        / gap)
    else:  # this 6-step decoder draws grey: changing nothing is as close as reconstructing; no excess is defined
        assert math.isnan(posx["pixel"]["excess"])
    pixels = temporal_counterfactual_scores(fitted, temporal, variables=["posX", "hue"], n=12, length=6, at=2,
                                            read_variables=False)  # no read-out trained
    assert set(pixels["mean"]) == {"pixel"} and set(pixels["per_variable"]["posX"]) == {"pixel", "effects", "units"}
    # the same sequences and values (NaN == NaN for the excess)
    np.testing.assert_equal(pixels["per_variable"]["posX"]["pixel"], posx["pixel"])
    with pytest.raises(ValueError, match="'variables' argument.*'shape'"):
        temporal_counterfactual_scores(fitted, temporal, variables=["shape"], regressor=regressor)
    with pytest.raises(TypeError, match="counterfactual_codes"):
        temporal_counterfactual_scores(object(), temporal)
    with pytest.raises(ValueError, match="'at' parameter"):
        temporal_counterfactual_scores(fitted, temporal, length=4, at=3, regressor=regressor)


def test_tdrl_warns_on_a_process_with_interventions(temporal):
    with pytest.warns(UserWarning, match="stationary process.*intervention_prob=0.2"):
        TDRL(steps=1, seed=0, **TINY).fit(TemporalWorld(temporal.world), n_samples=32, progress=False)


def test_graph_inputs_are_checked(fitted, temporal):
    with pytest.raises(ValueError, match="NaN"):
        edge_auroc(np.array([[1.0, np.nan], [0.0, 1.0]]), np.eye(2, dtype=bool))
    with pytest.raises(ValueError, match="'groups' argument of jacobian_temporal_graph"):
        jacobian_temporal_graph(fitted, temporal, n=60, groups=[0, 1, 2])
    with pytest.raises(ValueError, match="'groups' argument of jacobian_temporal_graph"):
        jacobian_temporal_graph(fitted, temporal, n=60, groups=[0.5] * 8)


def test_citris_counterfactual_codes_follow_its_gaussian_mechanism(temporal):
    """CITRIS's observational mechanism z' = mean(z) + exp(logstd(z)) eps: abduct eps, push it through from the
    changed codes; the units of variables the factual sequence intervened on keep their factual codes."""
    world = TemporalWorld(temporal.world, intervention_prob=0.3)
    model = CITRISVAE(steps=2, seed=0, **TINY).fit(world, n_samples=32, progress=False)
    batch = world.sample(5, 6, seed=0)
    m = model.latent_dim_
    codes = model.encode(batch.images.reshape(30, 3, 16, 16)).reshape(5, 6, m)
    np.testing.assert_allclose(model.counterfactual_codes(codes, {0: codes[:, 1, 0]}, at=1), codes, atol=1e-4)
    changed = model.counterfactual_codes(codes, {0: 2.0}, at=1, targets=batch.targets)
    prior = model.prior_
    with torch.no_grad():
        previous = torch.tensor(changed[:, 1])
        mean, logstd = prior.observational(torch.tensor(codes[:, 1]))
        eps = (torch.tensor(codes[:, 2]) - mean) * torch.exp(-logstd)
        mean, logstd = prior.observational(previous)
        expected = (mean + torch.exp(logstd) * eps).numpy()
    hit = batch.targets[:, 2][:, model.assignment_]  # (N, M): units of variables intervened on at step 2
    expected = np.where(hit, codes[:, 2], expected)
    np.testing.assert_allclose(changed[:, 2], expected, atol=1e-4)
    frames = model.counterfactual_sequence(batch, {0: 2.0}, at=1)  # a TemporalBatch's targets are read
    np.testing.assert_allclose(frames[:, 2], model.decode(changed[:, 2]), atol=1e-5)
    with pytest.raises(ValueError, match="'targets' argument"):
        model.counterfactual_codes(codes, {0: 2.0}, at=1, targets=batch.targets[:, :, :2])


def test_tdrl_does_not_read_targets(fitted, temporal):
    batch = temporal.sample(2, 4, seed=0)
    codes = fitted.encode(batch.images.reshape(8, 3, 16, 16)).reshape(2, 4, -1)
    with pytest.raises(ValueError, match="cannot read 'targets'"):
        fitted.counterfactual_codes(codes, {0: 0.0}, at=1, targets=batch.targets)


def test_factual_interventions_are_kept_only_for_learners_that_read_targets(fitted, temporal):
    from latentscm.metrics.temporal_counterfactual import temporal_counterfactual_scores

    world = TemporalWorld(temporal.world, intervention_prob=0.3)
    citris = CITRISVAE(steps=2, seed=0, **TINY).fit(world, n_samples=32, progress=False)
    options = {"variables": ["posX"], "n": 10, "length": 5, "at": 1, "read_variables": False}
    assert temporal_counterfactual_scores(citris, world, **options)["with_interventions"] is True
    assert temporal_counterfactual_scores(citris, world, factual_interventions=False, **options)[
        "with_interventions"] is False
    assert temporal_counterfactual_scores(fitted, world, **options)["with_interventions"] is False
    with pytest.raises(ValueError, match="'factual_interventions' argument.*does not read intervention targets"):
        temporal_counterfactual_scores(fitted, world, factual_interventions=True, **options)
