"""CauCA (Liang et al., NeurIPS 2023): the exact likelihood, the latent SCM's counterfactuals, identification from
perfect interventions against the world's own latents, and refusals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import latentscm
from latentscm import learners, worlds
from latentscm.learners.cauca import CauCA, fit_restarts
from latentscm.nn.conditional_mixture import ConditionalGaussianMixture
from latentscm.nn.spline_flow import SplineFlow, rational_quadratic_spline
from latentscm.scm.mechanisms import AdditiveNoise, Root
from latentscm.scm.noise import Normal
from latentscm.testing.chain_ica import CHAIN_GRAPH, CHAIN_REGIMES, chain_ica_world
from latentscm.worlds.regimes import OBSERVATIONAL, Regime, RegimeMixture

GRAPH, REGIMES = CHAIN_GRAPH, CHAIN_REGIMES
chain_world = chain_ica_world  # three latents over GRAPH seen through an invertible MLP

TINY = {"graph": GRAPH, "flow_layers": 2, "flow_hidden": 8, "components": 3, "mechanism_hidden": 16,
        "batch_size": 64, "steps": 20}


@pytest.fixture(scope="module")
def world():
    return chain_world()


@pytest.fixture(scope="module")
def interventional(world):
    return world.sample(4000, seed=1, regime=REGIMES)


@pytest.fixture(scope="module")
def tiny(interventional):
    return CauCA(**TINY).fit(interventional, progress=False)


# ---------------------------------------------------------------------------------------------- parts
@torch.no_grad()
def test_mixture_density_integrates_to_one_and_its_quantile_inverts_its_cdf():
    torch.manual_seed(0)
    density = ConditionalGaussianMixture(2, components=4, hidden=16).double()
    for parameter in density.parameters():
        parameter.data += 0.5 * torch.randn_like(parameter)
    parents = torch.randn(5, 2, dtype=torch.float64)
    grid = torch.linspace(-300, 300, 600_001, dtype=torch.float64)
    step = float(grid[1] - grid[0])
    for row in parents:
        repeated = row.expand(len(grid), 2)
        mass = density.log_prob(grid, repeated).exp()
        assert float(mass.sum() * step) == pytest.approx(1.0, abs=1e-6)
        cumulative = torch.cumsum(mass, 0) * step
        cdf = density.cdf(grid, repeated)
        middle = (cdf > 0.01) & (cdf < 0.99)
        assert float((cumulative[middle] - cdf[middle]).abs().max()) < 1e-3  # the CDF is the density's integral
    u = torch.rand(5, dtype=torch.float64) * 0.98 + 0.01
    y = density.quantile(u, parents)
    np.testing.assert_allclose(density.cdf(y, parents).numpy(), u.numpy(), atol=1e-10)
    draws = density.sample(parents[:1].expand(20_000, 2), torch.Generator().manual_seed(0))
    probabilities = density.cdf(draws, parents[:1].expand(20_000, 2))  # uniform if the sampler draws p(y | pa)
    assert abs(float(probabilities.mean()) - 0.5) < 0.01 and abs(float(probabilities.var()) - 1 / 12) < 0.003


def test_spline_flow_is_exactly_invertible_with_the_autograd_log_determinant():
    torch.manual_seed(0)
    flow = SplineFlow(3, layers=3, hidden_per_unit=8).double()
    x = torch.randn(64, 3, dtype=torch.float64) * 2  # some beyond the spline's bound: the identity tails
    flow(x)  # ActNorm initialises from a first batch
    for parameter in flow.parameters():
        parameter.data += 0.3 * torch.randn_like(parameter)
    y, log_det = flow(x)
    assert float((flow.reverse(y) - x).abs().max().detach()) < 1e-10
    for row in (0, 5, 17):
        jacobian = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[row])
        assert float(log_det[row].detach()) == pytest.approx(float(torch.linalg.slogdet(jacobian)[1]), abs=1e-9)


def test_a_spline_with_equal_bins_and_unit_slopes_is_the_identity():
    x = torch.linspace(-5, 5, 101)
    y, log_slope = rational_quadratic_spline(x, torch.zeros(101, 4), torch.zeros(101, 4),
                                             torch.full((101, 3), float(np.log(np.expm1(1.0 - 1e-3)))))
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)
    np.testing.assert_allclose(log_slope.numpy(), 0.0, atol=1e-5)


# ---------------------------------------------------------------------------------------------- the learner
def test_registered_and_names_its_latents_after_the_graph(tiny):
    assert "cauca" in learners.names() and isinstance(learners.make("cauca"), CauCA)
    assert tiny.factor_names_ == ["z0", "z1", "z2"] and tiny.latent_dim_ == 3
    assert tiny.parents_ == [[], [0], [0, 1]]
    assert tiny.intervention_counts_ == {"z0": 1000, "z1": 1000, "z2": 1000}


def test_log_prob_is_a_normalised_density_of_the_observations():
    """exp(log p(x)) integrates to 1 over the observation space (0, 1)^2: flow, logit and densities together."""
    world = worlds.make("nonlinear-ica", latents=2, mixing_layers=2, graph="z0 -> z1",
                        mechanisms={"z1": AdditiveNoise(lambda p: 0.5 * p[:, 0], Normal(0, 0.3))})
    data = world.sample(500, seed=0, regime=RegimeMixture(
        [OBSERVATIONAL, Regime("do z0", mechanisms={"z0": Root(Normal(0.2, 0.3))})]))
    with pytest.warns(UserWarning, match="no training sample intervenes on z1"):
        model = CauCA(**{**TINY, "graph": "z0 -> z1"}).fit(data, progress=False)
    side = 600
    centres = (np.arange(side) + 0.5) / side
    grid = np.stack(np.meshgrid(centres, centres, indexing="ij"), -1).reshape(-1, 2, 1, 1).astype(np.float32)
    for targets in (None, np.tile([True, False], (len(grid), 1))):
        mass = np.exp(model.log_prob(grid, targets=targets)).sum() / side ** 2
        assert mass == pytest.approx(1.0, abs=0.02)


def test_decode_inverts_encode_and_sample_is_seeded(tiny, interventional):
    x = interventional.images[:200]
    np.testing.assert_allclose(tiny.decode(tiny.encode(x)), x, atol=2e-4)
    assert np.array_equal(tiny.sample(7, seed=3), tiny.sample(7, seed=3))
    assert tiny.sample(7, seed=3).shape == (7, 3, 1, 1)


def test_counterfactual_codes_follow_abduction_action_prediction(tiny, interventional):
    z = tiny.encode(interventional.images[:50])
    same = tiny.counterfactual_codes(z, {"z1": z[:, 1]})  # do(z1 = its own value) changes nothing
    np.testing.assert_allclose(same, z, atol=1e-4)
    moved = tiny.counterfactual_codes(z, {"z1": z[:, 1] + 0.5})
    np.testing.assert_array_equal(moved[:, 0], z[:, 0])  # not a descendant
    np.testing.assert_allclose(moved[:, 1], z[:, 1] + 0.5, atol=1e-6)
    assert np.abs(moved[:, 2] - z[:, 2]).min() > 0  # a descendant moves ...
    u = tiny.abduct(z)
    u_moved = tiny.abduct(moved)
    np.testing.assert_allclose(u_moved[:, 2], u[:, 2], atol=1e-5)  # ... keeping its exogenous noise
    leaf = tiny.counterfactual_codes(z, {"z2": 0.1})
    np.testing.assert_array_equal(leaf[:, :2], z[:, :2])


def test_save_and_load_round_trip_with_calibration(tiny, interventional, tmp_path):
    tiny.calibrate(interventional[:500])
    tiny.save(str(tmp_path))
    loaded = latentscm.load(str(tmp_path))
    x = interventional.images[:20]
    np.testing.assert_array_equal(loaded.encode(x), tiny.encode(x))
    np.testing.assert_allclose(loaded.counterfactual(x, {"z0": 0.2}), tiny.counterfactual(x, {"z0": 0.2}), atol=1e-6)
    assert loaded.latent_graph_ == tiny.latent_graph_


def test_identifies_the_latents_from_perfect_interventions_and_not_without(world, interventional):
    """The paper's claim on its simplest case: each latent matches its own factor (no permutation search: the known
    graph and targets name the latents) when every latent is intervened on, the best of three starts chosen by the
    likelihood of the training data alone; the same data with the targets hidden (every row read as observational)
    match them worse. Then counterfactuals of a cause, in world units after calibration, move its child to within a
    fifth of the world's exact counterfactual's distance from the factual value."""
    options = {"graph": GRAPH, "flow": "affine", "flow_layers": 2, "flow_hidden": 16, "steps": 1500}
    test = world.sample(2000, seed=5)
    model = fit_restarts(CauCA(**options), interventional, restarts=3, progress=False)
    assert [r["restart"] for r in model.restarts_] == [0, 1, 2]
    assert model.restarts_ and max(r["log_likelihood"] for r in model.restarts_) == pytest.approx(
        float(np.mean(model.log_prob(interventional, targets=interventional.targets))))
    matched = [abs(spearmanr(model.encode(test)[:, i], test.factors[:, i]).statistic) for i in range(3)]
    assert min(matched) > 0.97
    hidden = interventional[np.arange(len(interventional.images))]
    hidden.targets[:] = False
    with pytest.warns(UserWarning, match="observational data only"):
        blind = CauCA(**options).fit(hidden, progress=False)
    matched_blind = [abs(spearmanr(blind.encode(test)[:, i], test.factors[:, i]).statistic) for i in range(3)]
    assert np.mean(matched_blind) < np.mean(matched) - 0.1
    # with calibration (a few labelled samples), counterfactuals in world units land near the world's own
    model.calibrate(world.sample(300, seed=7))
    base = world.sample(300, seed=8)
    for target, value, child in (("z0", 0.3, 1), ("z1", -0.2, 2)):  # z0's total effect on z2 is 0.02: not checked
        exact = world.counterfactual(base, {target: value})
        ours = world.read_factors(model.counterfactual(base.images, {target: value}))
        unchanged = np.abs(base.factors - exact.factors).mean(0)
        error = np.abs(ours - exact.factors).mean(0)
        assert error[child] < 0.2 * unchanged[child], (target, error, unchanged)


# ---------------------------------------------------------------------------------------------- refusals
def test_refusals_name_the_problem(interventional, tiny):
    with pytest.raises(ValueError, match="does not learn the graph"):
        CauCA(graph="learn")
    with pytest.raises(ValueError, match="'flow'"):
        CauCA(flow="glow")
    with pytest.raises(ValueError, match="as many numbers as there are latents"):
        CauCA(**TINY).fit(worlds.make("pendulum", size=16).sample(32, seed=0), progress=False)
    with pytest.raises(ValueError, match="graph='world'"):
        CauCA(**{**TINY, "graph": "world"}).fit(interventional, progress=False)
    with pytest.raises(ValueError, match="'z9' is not a latent"):
        tiny.counterfactual_codes(tiny.encode(interventional.images[:3]), {"z9": 0.0})
    fresh = CauCA(**TINY).fit(interventional, progress=False)
    with pytest.raises(RuntimeError, match="calibrate"):
        fresh.counterfactual(interventional.images[:3], {"z0": 0.0})
    with pytest.raises(ValueError, match="'targets'"):
        fresh.log_prob(interventional.images[:3], targets=np.zeros((3, 2), dtype=bool))
    missing = interventional[np.arange(len(interventional.images))]
    missing.targets[:, 2] = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CauCA(**TINY).fit(missing, progress=False)
    assert any("no training sample intervenes on z2" in str(w.message) for w in caught)


def test_fits_on_a_world_with_regimes_and_resumes_bit_exactly_along_the_cosine_schedule(tmp_path):
    """fit(world, regimes=...) passes the known targets to a learner that reads no labels; the learning rate follows
    the half cosine (read back from the checkpoint's optimiser) and a resumed run lands on the uninterrupted one."""
    import math

    from latentscm.training.checkpoint import latest_checkpoint, load_checkpoint
    from latentscm.worlds.regimes import single_node_regimes

    world = worlds.make("nonlinear-ica", latents=3, graph=GRAPH, mechanisms=chain_world().scm.mechanisms)
    regimes = single_node_regimes(world)
    options = {**TINY, "steps": 8, "lr": 2e-3}
    straight = CauCA(**options).fit(world, n_samples=200, regimes=regimes, out=str(tmp_path / "a"),
                                    checkpoint_every=4, progress=False)
    assert straight.intervention_counts_ == {"z0": 50, "z1": 50, "z2": 50}
    step, path = latest_checkpoint(tmp_path / "a" / "checkpoints")
    state = load_checkpoint(path)
    lr = state["optimizers"]["model"]["param_groups"][0]["lr"]
    assert step == 8 and lr == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi * 7 / 8)))
    CauCA(**options).fit(world, n_samples=200, regimes=regimes, out=str(tmp_path / "b"), checkpoint_every=4,
                         progress=False)
    (tmp_path / "b" / "model.pt").unlink()  # interrupted after step 4: only the first checkpoint survives
    for late in (tmp_path / "b" / "checkpoints").glob("*8*"):
        late.unlink()
    assert latest_checkpoint(tmp_path / "b" / "checkpoints")[0] == 4
    resumed = CauCA(**options).fit(world, n_samples=200, regimes=regimes, out=str(tmp_path / "b"), resume=True,
                                   checkpoint_every=4, progress=False)
    constant = CauCA(**{**options, "lr_schedule": "constant"}).fit(world, n_samples=200, regimes=regimes,
                                                                   progress=False)
    for name in ("encoder", "mechanisms", "intervened"):
        for key, value in getattr(straight, f"{name}_").state_dict().items():
            assert torch.equal(value, getattr(resumed, f"{name}_").state_dict()[key]), (name, key)
    assert not torch.equal(straight.encoder_.blocks[-1].net[0].weight, constant.encoder_.blocks[-1].net[0].weight)


def test_cli_trains_on_interventions_evaluates_and_draws_counterfactuals_calibrated(tmp_path):
    """latentscm train/evaluate/counterfactual: evaluate and counterfactual calibrate the latents on labelled samples
    for that call only (the saved model stays uncalibrated) and say so."""
    import json

    from typer.testing import CliRunner

    from latentscm.cli import app

    runner = CliRunner()
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--learner", "cauca", "--world", "nonlinear-ica", "--world-set", "latents=3",
                                 "--out", str(run), "--n-samples", "400", "--steps", "6", "--batch-size", "32",
                                 "--interventional-fraction", "0.75", "--set", "flow_layers=2", "--set",
                                 "flow_hidden=8", "--no-progress", "--threads", "1"])
    assert result.exit_code == 0, result.output
    model = latentscm.load(str(run))
    assert isinstance(model, CauCA) and sum(model.intervention_counts_.values()) == 300
    result = runner.invoke(app, ["evaluate", str(run), "--n", "200", "--metrics", "mcc", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "calibrate()" in result.output
    written = json.loads((run / "metrics.json").read_text())["metrics"]
    assert 0.0 <= written["mcc"] <= 1.0 and np.isfinite(written["cf.true_error"])
    assert latentscm.load(str(run)).calibration_ is None
    result = runner.invoke(app, ["counterfactual", str(run), "--do", "z0=0.2", "--out", str(tmp_path / "cf.png")])
    assert result.exit_code == 0, result.output
    assert "calibrate()" in result.output and (tmp_path / "cf.png").exists()


def test_every_method_of_an_unfitted_model_says_fit_first():
    from latentscm.learners.base import NotFittedError

    model = CauCA(**TINY)
    x = np.full((2, 3, 1, 1), 0.5, dtype=np.float32)
    for call in (lambda: model.encode(x), lambda: model.log_prob(x), lambda: model.decode(np.zeros((2, 3))),
                 lambda: model.abduct(np.zeros((2, 3))), lambda: model.counterfactual_codes(np.zeros((2, 3)), {}),
                 lambda: model.to_factors(np.zeros((2, 3))), lambda: model.counterfactual(x, {"z0": 0.1}),
                 lambda: model.sample(2, seed=0)):
        with pytest.raises(NotFittedError, match="fit"):
            call()
