"""ILD: exact-likelihood domain counterfactuals on the ILD vector simulator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentscm.learners import ILD
from latentscm.learners.base import NotFittedError
from latentscm.learners.ild import _InvertibleMLP
from latentscm.metrics import domain_counterfactual_error
from latentscm.worlds import make


@pytest.fixture(scope="module")
def world():
    return make("ild-linear", latent_dim=4, n_domains=3, int_set=(0,), seed=0)


@pytest.fixture(scope="module")
def data(world):
    return world.sample_domains(500, seed=1)


@pytest.fixture(scope="module")
def fitted(data):
    torch.set_num_threads(1)
    # the short setup of the first version (a few seconds); the official-code defaults need ~8,000 steps
    return ILD(4, 1, structure="relax_can", steps=400, lr=3e-3, batch_size=256, init="random", clip_norm=10.0,
               scm_init=0.01, seed=0).fit(data)


def test_likelihood_rises_and_counterfactuals_beat_the_identity_floor(fitted, world):
    assert fitted.history_[-1] < fitted.history_[0] - 2.0
    result = domain_counterfactual_error(fitted, world, n=300, seed=3)
    assert result["dcf.normalised"] < 0.7, result["dcf.normalised"]


def test_counterfactual_to_the_same_domain_is_the_identity(fitted, data):
    x = data.images[:50]
    np.testing.assert_allclose(fitted.domain_counterfactual(x, 1, 1), x, atol=1e-5)
    out = fitted.domain_counterfactual(x, 0, 2)
    assert out.shape == x.shape and out.dtype == x.dtype
    back = fitted.domain_counterfactual(out, 2, 0)
    np.testing.assert_allclose(back, x, atol=1e-4)


@pytest.mark.parametrize("structure", ["relax_can", "can"])
def test_sparse_structures_change_only_the_last_k_latents(structure, data):
    # a small scm_init keeps the counterfactuals away from the sigmoid's float32 saturation, where re-encoding
    # them could not be exact
    model = ILD(4, 1, structure=structure, steps=5, scm_init=0.05, seed=0).fit(data)
    x = data.images[:40]
    z, z_cf = model.encode(x), model.encode(model.domain_counterfactual(x, 0, 1))
    np.testing.assert_allclose(z_cf[:, :3], z[:, :3], atol=1e-6)
    assert np.abs(z_cf[:, 3] - z[:, 3]).max() > 0
    if structure == "can":  # canonical form: the shared latents are the noise itself
        np.testing.assert_allclose(model.abduct(x, 0)[:, :3], z[:, :3], atol=1e-12)


def test_dense_and_flow_decoder_run(data):
    model = ILD(4, 1, structure="dense", decoder="flow", depth=1, steps=5, seed=0).fit(data)
    x = data.images[:10]
    np.testing.assert_allclose(model.domain_counterfactual(x, 2, 2), x, atol=1e-5)
    assert np.isfinite(model.log_likelihood(x, data.domain[:10])).all()


def test_training_setup_follows_the_official_code(data):
    model = ILD(4, 1)  # the official betas, batch, init and no clipping; lr 3e-3 (official 1e-3), see the docstring
    assert (model.lr, model.betas, model.batch_size, model.init, model.clip_norm) == (3e-3, (0.5, 0.999), 500,
                                                                                       "identity", None)
    identity = ILD(4, 1, steps=0, seed=0).fit(data)
    for weight in identity.network_.weights:
        np.testing.assert_array_equal(weight.detach().numpy(), np.eye(4))
    random = ILD(4, 1, init="random", steps=0, seed=0).fit(data)
    for weight in random.network_.weights:
        w = weight.detach().numpy()
        np.testing.assert_allclose(w @ w.T, np.eye(4), atol=1e-12)
        assert np.abs(w - np.eye(4)).max() > 0.1
    flow = ILD(4, 1, decoder="flow", depth=1, steps=0, seed=0).fit(data)
    np.testing.assert_array_equal(flow.network_.mix.weights[0].detach().numpy(), np.eye(4))


def test_scm_init_sets_how_far_apart_the_domains_start(data):
    x = data.images[:20]
    same = ILD(4, 1, structure="dense", scm_init=0.0, steps=0, seed=0).fit(data)
    np.testing.assert_allclose(same.domain_counterfactual(x, 0, 2), x, atol=1e-6)  # every domain the same SCM
    apart = ILD(4, 1, structure="dense", steps=0, seed=0).fit(data)
    assert 0.5 < float(apart.a_.detach().std()) < 1.5  # N(0, 1) as the official embeddings
    assert np.abs(apart.domain_counterfactual(x, 0, 2) - x).max() > 0.05


def test_betas_and_clip_norm_reach_the_optimiser(data):
    x = data.images[:5]

    def counterfactual(**options):
        return ILD(4, 1, steps=30, batch_size=128, seed=0, **options).fit(data).domain_counterfactual(x, 0, 1)

    default = counterfactual()
    np.testing.assert_array_equal(counterfactual(betas=(0.5, 0.999)), default)
    assert np.abs(counterfactual(betas=(0.9, 0.999)) - default).max() > 1e-6
    assert np.abs(counterfactual(clip_norm=1e-3) - default).max() > 1e-6


def test_history_is_the_mean_loss_of_each_50_step_window(data):
    model = ILD(4, 1, steps=120, batch_size=64, seed=0).fit(data)
    assert len(model.history_) == 4  # step 0, steps 1-50, 51-100, 101-119
    assert np.all(np.isfinite(model.history_))


def test_best_validation_keeps_the_checkpoint_with_the_lowest_held_out_nll(data):
    model = ILD(4, 1, steps=300, batch_size=64, lr=0.05, select="best_validation", validation_fraction=0.2,
                seed=0).fit(data)
    assert len(model.validation_history_) == 3  # steps 100, 200, 300
    best = int(np.argmin(model.validation_history_))
    assert model.selected_step_ == 100 * (best + 1)
    rows = model.validation_index_
    assert len(rows) == round(0.2 * len(data))
    held_out = -model.log_likelihood(data.images[rows], data.domain[rows]).mean()
    np.testing.assert_allclose(held_out, min(model.validation_history_), rtol=1e-9)
    last = ILD(4, 1, steps=300, batch_size=64, lr=0.05, seed=0).fit(data)
    assert last.selected_step_ == 300 and last.validation_history_ == []


def test_restarts_keep_the_lowest_held_out_nll_and_restart_0_is_the_single_fit(data):
    model = ILD(4, 1, steps=60, batch_size=64, lr=0.05, restarts=3, validation_fraction=0.2, seed=1).fit(data)
    nll = model.restart_validation_nll_
    assert len(nll) == 3 and len(set(nll)) == 3  # independent initialisations end at different optima
    assert model.selected_restart_ == int(np.argmin(nll))
    rows = model.validation_index_
    held_out = -model.log_likelihood(data.images[rows], data.domain[rows]).mean()
    np.testing.assert_allclose(held_out, min(nll), rtol=1e-9)  # the kept parameters are the best restart's
    # the same seed's single fit with a held-out split uses the same rows, and restart 0 trains exactly like it
    single = ILD(4, 1, steps=200, batch_size=64, lr=0.05, select="best_validation", validation_fraction=0.2,
                 seed=1).fit(data)
    np.testing.assert_array_equal(single.validation_index_, rows)
    both = ILD(4, 1, steps=200, batch_size=64, lr=0.05, select="best_validation", validation_fraction=0.2,
               restarts=2, seed=1).fit(data)
    assert both.restart_validation_nll_[0] == min(single.validation_history_)
    first = ILD(4, 1, steps=60, batch_size=64, lr=0.05, seed=1).fit(data)  # no split without restarts
    assert np.isnan(first.restart_validation_nll_).all() and first.selected_restart_ == 0


def test_restarts_train_together_without_touching_each_other(data):
    """Batched restarts (one model with a restart axis) follow the trajectories they would alone: restart 1 ends
    the same whether 2 or 3 restarts share the batch, with and without per-restart gradient clipping."""
    for clip in (None, 0.5):
        two = ILD(4, 1, steps=80, batch_size=64, lr=0.05, restarts=2, clip_norm=clip, seed=4).fit(data)
        three = ILD(4, 1, steps=80, batch_size=64, lr=0.05, restarts=3, clip_norm=clip, seed=4).fit(data)
        np.testing.assert_allclose(two.restart_validation_nll_, three.restart_validation_nll_[:2], rtol=1e-10)
        assert three.restart_validation_nll_[2] not in two.restart_validation_nll_


def test_shift_penalty_makes_the_rows_the_data_do_not_move_shared(data):
    """One shifted latent (int_set (0,)), k = 3: unpenalised, all three domain-specific rows move; the nested
    group-lasso shift penalty stills all but the last, which then become shared rows for the unpenalised refit,
    and their latents never change in a domain counterfactual."""
    setup = dict(steps=400, lr=3e-3, batch_size=256, init="random", clip_norm=10.0, scm_init=0.01, seed=0)
    plain = ILD(4, 3, **setup).fit(data)
    assert plain.shifted_.tolist() == [False, True, True, True]
    assert plain.specific_.tolist() == [False, True, True, True]
    penalised = ILD(4, 3, shift_penalty=0.06, shift_refit_steps=100, **setup).fit(data)
    assert penalised.shifted_.tolist() == [False, False, False, True], penalised.domain_spread_
    assert penalised.domain_spread_[1:3].max() < 0.1 < penalised.domain_spread_[3]
    assert penalised.specific_.tolist() == [False, False, False, True]
    assert len(penalised.history_) == len(plain.history_) + 3  # the refit's windows: steps 0, 50 and 99
    x = data.images[:40]
    z, z_cf = penalised.encode(x), penalised.encode(penalised.domain_counterfactual(x, 0, 2))
    np.testing.assert_allclose(z_cf[:, :3], z[:, :3], atol=1e-5)  # float32 round trip of the images
    assert np.abs(z_cf[:, 3] - z[:, 3]).max() > 0.01
    z, z_cf = plain.encode(x), plain.encode(plain.domain_counterfactual(x, 0, 2))
    assert np.abs(z_cf[:, 1:3] - z[:, 1:3]).max() > 0.01


def test_bic_selection_keeps_only_the_row_the_data_move_where_the_tolerance_keeps_two(data, world):
    """A weak penalty (0.01) leaves two rows above the 0.1 tolerance on the one-shift world; the BIC over the
    refits with 1, 2, 3 moving rows keeps one, and each candidate's BIC is its training NLL plus
    (D - 1) * sum_{moving i} (i + 2) * log(N) / (2 N)."""
    setup = dict(steps=400, lr=3e-3, batch_size=256, init="random", clip_norm=10.0, scm_init=0.01, seed=0,
                 shift_penalty=0.01, shift_refit_steps=100)
    tolerance = ILD(4, 3, **setup).fit(data)
    assert tolerance.shifted_.tolist() == [False, False, True, True], tolerance.domain_spread_
    bic = ILD(4, 3, shift_selection="bic", **setup).fit(data)
    np.testing.assert_array_equal(bic.domain_spread_, tolerance.domain_spread_)  # the same penalised fit
    assert bic.shifted_.tolist() == [False, False, False, True]
    assert bic.specific_.tolist() == [False, False, False, True]
    assert [c["moving"] for c in bic.shift_candidates_] == [[3], [2, 3], [1, 2, 3]]
    n = len(data.images)
    for candidate in bic.shift_candidates_:
        extra = 2 * sum(i + 2 for i in candidate["moving"])
        assert candidate["bic"] == pytest.approx(candidate["nll"] + extra * np.log(n) / (2 * n), rel=1e-12)
    nlls = [c["nll"] for c in bic.shift_candidates_]
    assert nlls[0] > nlls[1] > nlls[2]  # more moving rows always fit the training data a little better
    assert [c["selected"] for c in bic.shift_candidates_] == [True, False, False]
    # the kept parameters are the selected candidate's refit (the last candidate's were trained after it)
    kept = -bic.log_likelihood(data.images, data.domain).mean()
    assert kept == pytest.approx(bic.shift_candidates_[0]["nll"], rel=1e-12)
    assert len(bic.history_) == len(tolerance.history_)  # one refit's windows, not every candidate's
    assert bic.selected_step_ == 400 + 100
    x = data.images[:40]
    z, z_cf = bic.encode(x), bic.encode(bic.domain_counterfactual(x, 0, 2))
    np.testing.assert_allclose(z_cf[:, :3], z[:, :3], atol=1e-5)


def test_spread_is_the_group_norm_of_each_rows_deviation_across_domains(data):
    model = ILD(4, 2, steps=3, seed=1).fit(data)
    a, b, s = (t.detach().numpy() for t in (model.a_, model.b_, model.log_s_))
    for i in range(4):
        rows = np.concatenate([a[:, i, :i], b[:, i:i + 1], s[:, i:i + 1]], axis=1)
        expected = np.sqrt(((rows - rows.mean(0)) ** 2).sum()) if i >= 2 else 0.0
        assert model.domain_spread_[i] == pytest.approx(expected, abs=1e-5)


def test_a_batch_is_accepted_wherever_observations_are(fitted, data):
    part = data[:30]
    np.testing.assert_array_equal(fitted.encode(part), fitted.encode(part.images))
    np.testing.assert_array_equal(fitted.log_likelihood(part, part.domain),
                                  fitted.log_likelihood(part.images, part.domain))


@pytest.mark.parametrize("decoder", ["mlp", "flow"])
def test_fit_is_seeded(data, decoder):
    """The same seed gives the same model whatever the global RNG did in between (the flow's coupling networks
    draw from the fit's generator, not torch's global one)."""
    a = ILD(4, 1, decoder=decoder, steps=20, seed=3).fit(data).domain_counterfactual(data.images[:5], 0, 1)
    torch.rand(7)
    b = ILD(4, 1, decoder=decoder, steps=20, seed=3).fit(data).domain_counterfactual(data.images[:5], 0, 1)
    np.testing.assert_array_equal(a, b)
    c = ILD(4, 1, decoder=decoder, steps=20, seed=4).fit(data).domain_counterfactual(data.images[:5], 0, 1)
    assert np.abs(a - c).max() > 1e-6


def test_bad_input_is_named(data, world):
    with pytest.raises(ValueError, match="'k'"):
        ILD(4, 5)
    with pytest.raises(ValueError, match="'structure'"):
        ILD(4, 1, structure="sparse")
    with pytest.raises(ValueError, match="'betas'"):
        ILD(4, 1, betas=(0.5, 1.0))
    with pytest.raises(ValueError, match="'restarts'"):
        ILD(4, 1, restarts=0)
    with pytest.raises(ValueError, match="'betas'"):
        ILD(4, 1, betas=0.5)
    with pytest.raises(ValueError, match="'init'"):
        ILD(4, 1, init="orthogonal")
    with pytest.raises(ValueError, match="'scm_init'"):
        ILD(4, 1, scm_init=-1.0)
    with pytest.raises(ValueError, match="'select'"):
        ILD(4, 1, select="best")
    with pytest.raises(ValueError, match="'validation_fraction'"):
        ILD(4, 1, validation_fraction=1.0)
    with pytest.raises(ValueError, match="'clip_norm'"):
        ILD(4, 1, clip_norm=0.0)
    with pytest.raises(ValueError, match="'shift_penalty'"):
        ILD(4, 1, shift_penalty=-0.1)
    with pytest.raises(ValueError, match="'shift_tolerance'"):
        ILD(4, 1, shift_tolerance=-1.0)
    with pytest.raises(ValueError, match="'shift_refit_steps'"):
        ILD(4, 1, shift_refit_steps=-1)
    with pytest.raises(ValueError, match="'shift_selection'.*'aic'"):
        ILD(4, 1, shift_selection="aic")
    with pytest.raises(NotFittedError):
        ILD(4, 1).encode(data.images)
    model = ILD(4, 1, steps=2).fit(data)
    with pytest.raises(ValueError, match="latent_dim=4"):
        model.encode(np.full((3, 5), 0.5))
    with pytest.raises(ValueError, match="target.*\\[0, 3\\)"):
        model.domain_counterfactual(data.images[:3], 0, 3)
    with pytest.raises(ValueError, match="'domain'"):
        ILD(4, 1).fit(data.images)
    with pytest.raises(ValueError, match="at least 2 domains"):
        ILD(4, 1).fit(data.images, np.zeros(len(data), dtype=np.int64))
    # a Batch (or World) carries its own domains: a 'domain' given with it would be ignored, so it is refused
    with pytest.raises(ValueError, match="'domain' is only for an array"):
        ILD(4, 1, steps=1).fit(data, (data.domain + 1) % 3)
    with pytest.raises(ValueError, match="'domain' is only for an array"):
        ILD(4, 1, steps=1).fit(world, data.domain)


def test_readme_domain_example_runs():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in readme.split("```python\n")[1:] if "domain_counterfactual_error" in b).split("```")[0]
    for shown in ("steps=15000)", "environments(300, 2", "grid=False"):  # each shrunk below, or the test trains long
        assert shown in block, shown
    tiny = (block.replace("steps=15000)", "steps=3)").replace("environments(300, 2", "environments(5, 2")
            .replace("grid=False", "size=16, grid=False"))
    namespace: dict = {}
    exec(compile(tiny, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    assert namespace["other"].domain.tolist() == [2] * 64 and namespace["envs"].factors.shape == (5, 2, 4)


def _logits(images: np.ndarray) -> np.ndarray:
    flat = np.clip(images.reshape(len(images), -1).astype(np.float64), 1e-6, 1 - 1e-6)
    return np.log(flat) - np.log1p(-flat)


def _per_domain_moment_gap(v: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Per output column: the largest change across domains of its mean and of its standard deviation."""
    means = np.stack([v[domain == e].mean(0) for e in np.unique(domain)])
    stds = np.stack([v[domain == e].std(0) for e in np.unique(domain)])
    return (means.max(0) - means.min(0)) + (stds.max(0) - stds.min(0))


def test_invariant_directions_put_the_domain_varying_directions_last():
    from latentscm.learners.ild import invariant_directions

    world = make("ild-linear", latent_dim=6, n_domains=3, int_set=(4, 5), seed=0)
    data = world.sample_domains(3000, seed=1)
    u = _logits(data.images)
    weight, mean = invariant_directions(u, data.domain, 2)
    v = (u - mean) @ weight.T
    # whitened: the pooled covariance of the outputs is the identity
    np.testing.assert_allclose(np.cov(v.T), np.eye(6), atol=1e-8)
    gap = _per_domain_moment_gap(v, data.domain)
    # the first four outputs barely move across domains; the last two carry the domain shift
    assert gap[:4].max() < 0.5 * gap[4:].min(), gap
    # and a plain whitening (no ordering) leaves the shift spread over more than two directions
    plain = _per_domain_moment_gap((u - mean) @ np.linalg.inv(np.linalg.cholesky(np.cov(u.T))).T, data.domain)
    assert np.sort(plain)[:4].max() > gap[:4].max()
    # deterministic
    again = invariant_directions(u, data.domain, 2)
    np.testing.assert_array_equal(again[0], weight)
    with pytest.raises(ValueError, match="'k'"):
        invariant_directions(u, data.domain, 7)
    with pytest.raises(ValueError, match="'domain'"):
        invariant_directions(u, data.domain[:10], 2)


def test_invariant_init_starts_the_first_layer_at_the_invariant_directions(data):
    from latentscm.learners.ild import invariant_directions

    model = ILD(4, 1, init="invariant", depth=1, steps=0, seed=0).fit(data)
    weight, mean = invariant_directions(_logits(data.images), data.domain, 1)
    z = model.encode(data.images[:20])
    np.testing.assert_allclose(z, (_logits(data.images[:20]) - mean) @ weight.T, atol=1e-9)
    # it trains like any other start, and the flow's mixing layer takes the same start
    trained = ILD(4, 1, init="invariant", steps=30, seed=0).fit(data)
    assert np.all(np.isfinite(trained.history_))
    flow = ILD(4, 1, init="invariant", decoder="flow", depth=1, steps=0, seed=0).fit(data)
    np.testing.assert_allclose(flow.network_.mix.weights[0].detach().numpy(), weight)


def test_warm_start_from_a_dense_fit(data):
    dense = ILD(4, 1, structure="dense", steps=300, lr=3e-3, seed=0).fit(data)
    nll = lambda model: float(-model.log_likelihood(data.images, data.domain).mean())  # noqa: E731
    # a dense start rotated by the invariant directions with its SCM refit by least squares: the exact Gaussian
    # maximum likelihood given the copied network, so never worse than the start's own SCM on the same samples
    again = ILD(4, 1, structure="dense", steps=0, seed=1).fit(data, start_from=dense)
    assert nll(again) <= nll(dense) + 1e-9
    # the sparse model starts from the same network: its shared rows are the pooled fits of the invariant block
    sparse = ILD(4, 1, structure="relax_can", steps=0, seed=0).fit(data, start_from=dense)
    fresh = ILD(4, 1, structure="relax_can", steps=0, seed=0).fit(data)
    assert nll(sparse) < nll(fresh) - 1.0
    for e in range(1, sparse.n_domains_):  # shared rows: the per-domain copies equal the shared fit
        np.testing.assert_array_equal(sparse.b_[e, :3].detach().numpy(), sparse.shared_b_[:3].detach().numpy())
    # the start is copied, not shared: training the sparse model leaves the dense one untouched
    before = [p.detach().clone() for p in dense.network_.parameters()]
    ILD(4, 1, structure="relax_can", steps=20, seed=0).fit(data, start_from=dense)
    assert all(torch.equal(b, p) for b, p in zip(before, dense.network_.parameters()))


def test_warm_start_refuses_a_mismatched_start(data):
    dense = ILD(4, 1, structure="dense", steps=0, seed=0).fit(data)
    with pytest.raises(ValueError, match="'start_from' must be a fitted ILD"):
        ILD(4, 1, steps=0).fit(data, start_from=ILD(4, 1))
    with pytest.raises(ValueError, match="'start_from'.*depth"):
        ILD(4, 1, depth=2, steps=0).fit(data, start_from=dense)
    with pytest.raises(ValueError, match="'start_from'.*decoder='mlp'"):
        ILD(4, 1, decoder="flow", steps=0).fit(data, start_from=dense)


def test_leak_sets_the_slope_and_the_official_mixing_is_representable():
    """With depth 2, leak 0.5 and the leaky activation the invertible MLP holds the exact inverse of the ``ild-linear``
    world's official mixing, ``z = leaky_2((u h) G^-1 diag(std))`` = ``-2 leaky_0.5(-...)``."""
    world = make("ild-linear", latent_dim=4, n_domains=2, int_set=(3,), variant="official", seed=0)
    batch = world.sample_domains(200, seed=0)
    model = ILD(4, 1, depth=2, leak=0.5, activation="leaky", steps=0, seed=0).fit(batch)
    assert model.network_.leak == 0.5 and ILD(4, 1).leak == 0.2
    first = -(world._h_scale * np.linalg.inv(world._g) * world._v_std[None, :]).T
    with torch.no_grad():
        model.network_.weights[0].copy_(torch.from_numpy(first))
        model.network_.weights[1].copy_(-2.0 * torch.eye(4, dtype=torch.float64))
        for bias in model.network_.biases:
            bias.zero_()
    np.testing.assert_allclose(model.encode(batch.images), batch.factors, atol=1e-3 * batch.factors.std())
    mismatched = ILD(4, 1, depth=2, leak=0.2, activation="leaky", steps=0)
    with pytest.raises(ValueError, match="'start_from'.*leak"):
        mismatched.fit(batch, start_from=model)
    for bad in (0.0, 1.0, -0.1):
        with pytest.raises(ValueError, match="'leak'"):
            ILD(4, 1, leak=bad)


@pytest.mark.parametrize("activation", ["smooth", "leaky"])
def test_activation_inverts_and_its_log_determinant_is_the_jacobians(activation):
    """forward then inverse is the identity, and the log-determinant matches autograd's Jacobian."""
    generator = torch.Generator().manual_seed(0)
    network = _InvertibleMLP(3, 3, generator, "random", 0.2, activation)
    with torch.no_grad():
        for bias in network.biases:
            bias.normal_(0.0, 1.0, generator=generator)
        if activation == "smooth":
            network.log_sharpness.normal_(0.0, 1.0, generator=generator)
    u = torch.randn(20, 3, generator=generator, dtype=torch.float64) * 3
    z, logdet = network(u)
    np.testing.assert_allclose(network.inverse(z).detach().numpy(), u.numpy(), atol=1e-9)
    for row in range(5):
        jacobian = torch.autograd.functional.jacobian(lambda v: network(v[None])[0][0], u[row])
        assert float(torch.linalg.slogdet(jacobian)[1]) == pytest.approx(float(logdet[row].detach()), abs=1e-8)


def test_smooth_likelihood_integrates_to_one():
    """exp(log-likelihood) of a fitted two-dimensional smooth model integrates to 1 over the logit plane."""
    data = make("ild-linear", latent_dim=2, n_domains=2, int_set=(1,), seed=0).sample_domains(200, seed=0)
    model = ILD(2, 1, depth=3, steps=50, lr=1e-2, seed=0).fit(data)
    assert model.activation == "smooth"
    grid = torch.linspace(-60, 60, 2401, dtype=torch.float64)
    u = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
    cell = float(grid[1] - grid[0]) ** 2
    with torch.no_grad():
        for domain in (0, 1):
            density = torch.exp(model._log_likelihood(u, torch.full((len(u),), domain)))
            assert float(density.sum()) * cell == pytest.approx(1.0, abs=1e-2)


def test_rejected_refit_leaves_a_fitted_model_as_it_was(data):
    """Every check of ILD.fit runs before the fitted model is touched."""
    model = ILD(4, 1, steps=20, batch_size=100, select="best_validation", seed=0).fit(data)
    x, d = data.images[:5], data.domain[:5]
    before, held_out = model.log_likelihood(x, d), model.validation_index_.copy()
    with pytest.raises(ValueError, match="at least 2 domains"):
        model.fit(data.images, np.zeros(len(data.images), dtype=int))
    with pytest.raises(ValueError, match="'start_from' must be a fitted ILD"):
        model.fit(data, start_from="not a model")
    with pytest.raises(ValueError, match="validation_fraction=0.1 leaves no training samples"):
        model.fit(data.images[:1], np.array([2]))
    assert model.n_domains_ == 3
    np.testing.assert_array_equal(model.validation_index_, held_out)
    np.testing.assert_array_equal(model.log_likelihood(x, d), before)
    with pytest.raises(ValueError, match=r"target must lie in \[0, 3\)"):
        model.domain_counterfactual(x[:2], 0, 7)
