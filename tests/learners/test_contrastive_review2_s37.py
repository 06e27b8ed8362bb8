"""Second review of ContrastiveCRL and its pairs (commits caf7e61, 28bf42d, 07d83a3, a2c629d, f223b38): nudged
pairs (``counterfactual_pairs(nudge=)``, ``pair_nudge``), ``check_pair_pool``, ``latent_dim=None``, ENCO's progress
bar and the move of ``content_style_r2``.

The last tests pin the problems this review found (fixed with it): each asserts the behaviour the code must have.
"""

from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest
import torch

from latentscm.learners.contrastive import ContrastiveCRL
from latentscm.training.protocol import check_training_protocol
from latentscm.worlds import make as make_world
from latentscm.worlds.pairs import _draw_targets, changeable_factors, check_pair_pool, counterfactual_pairs

TINY = dict(depth=1, hidden_dim=8, batch_size=16, seed=0)


@pytest.fixture(scope="module")
def independent():
    return make_world("content-style", content=2, style=2, dependence="none", seed=0)


@pytest.fixture(scope="module")
def causal():
    """c0 -> c1 (correlated content), every content -> every style, s0 -> s1."""
    return make_world("content-style", content=2, style=2, dependence="linear", correlated=True, seed=0)


# --------------------------------------------------------------------------- nudged pairs: what is drawn

def test_nudge_is_a_laplace_scale_deterministic_under_the_seed(independent):
    batch = independent.sample(6000, seed=4)
    first = counterfactual_pairs(independent, batch, changes=4, share=False, nudge=0.05, seed=7)
    again = counterfactual_pairs(independent, batch, changes=4, share=False, nudge=0.05, seed=7)
    other = counterfactual_pairs(independent, batch, changes=4, share=False, nudge=0.05, seed=8)
    np.testing.assert_array_equal(first.factors, again.factors)
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.array_equal(first.factors, other.factors)
    moved = (first.factors - batch.factors) / (0.05 * batch.factors.std(0))
    # numpy's Laplace scale b: E|x| = b, Var x = 2 b^2, so the noise's std is sqrt(2) "nudge standard deviations"
    np.testing.assert_allclose(np.abs(moved).mean(0), 1.0, rtol=0.05)
    np.testing.assert_allclose(moved.std(0), np.sqrt(2.0), rtol=0.06)
    assert first.changed.all() and first.targets.all()


def test_nudged_targets_are_interventions_whose_descendants_follow_and_others_stay(causal):
    batch = causal.sample(500, seed=1)
    names = list(causal.factor_names)
    pairs = counterfactual_pairs(causal, batch, changes=1, share=False, among=["s0"], nudge=0.1, seed=3)
    s0, s1 = names.index("s0"), names.index("s1")
    assert pairs.targets[:, s0].all() and not np.delete(pairs.targets, s0, axis=1).any()
    np.testing.assert_array_equal(pairs.factors[:, :2], batch.factors[:, :2])  # content: no ancestor moved
    assert pairs.changed[:, s1].all()  # s0 -> s1: the descendant follows its mechanism, exogenous noise kept
    # every factor a target: each gets its own nudge, no descendant is left to follow a parent
    every = counterfactual_pairs(causal, batch, changes=4, share=False, nudge=0.1, seed=3)
    assert every.targets.all()


def test_a_nudged_learner_resumes_to_the_uninterrupted_weights_and_refuses_another_nudge(independent, tmp_path):
    from latentscm.training.resume import resume

    params = dict(pair_nudge=0.2, pair_changes=4, latent_dim=2, **TINY)
    full = ContrastiveCRL(steps=6, **params).fit(independent, out=str(tmp_path / "full"), n_samples=64,
                                                progress=False, checkpoint_every=2)
    ContrastiveCRL(steps=4, **params).fit(independent, out=str(tmp_path / "part"), n_samples=64, progress=False,
                                          checkpoint_every=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        resumed = resume(tmp_path / "part", steps=6, progress=False)
    assert resumed.pair_nudge == 0.2
    for (key, a), b in zip(full.encoder_.state_dict().items(), resumed.encoder_.state_dict().values()):
        assert torch.equal(a, b), key
    config = json.loads((tmp_path / "part" / "config.json").read_text())
    assert config["data"]["pairs"]["nudge"] == 0.2 and config["data"]["pairs"]["share"] is False
    with pytest.raises(ValueError, match="pair_nudge"):
        ContrastiveCRL(steps=6, **{**params, "pair_nudge": 0.3}).fit(
            independent, out=str(tmp_path / "part"), resume=True, n_samples=64, progress=False)


def test_pairs_share_a_factor_follows_pair_nudge_through_set_params_and_clone():
    model = ContrastiveCRL(latent_dim=2)
    assert model.pairs_share_a_factor is True
    model.set_params(pair_nudge=0.1)
    assert model.pairs_share_a_factor is False and model.clone().pairs_share_a_factor is False
    with pytest.raises(ValueError, match="pair_nudge"):
        model.set_params(pair_nudge=0.0)
    assert model.pair_nudge == 0.1 and model.pairs_share_a_factor is False  # a refused value changes nothing
    with pytest.raises(TypeError, match="pair_nudge"):
        ContrastiveCRL(pair_nudge=True)
    check_training_protocol(ContrastiveCRL)  # the class, whose attribute is a property object: still follows it
    check_training_protocol(model)


def test_a_nudge_at_the_ends_of_the_range_leaves_no_point_mass_there():
    world = make_world("pendulum", size=16, grid=False)
    batch = world.sample(2000, seed=0)
    pairs = counterfactual_pairs(world, batch, changes=1, share=False, among=["pendulum_angle"], nudge=0.3, seed=1)
    spec = world.spec("pendulum_angle")
    values = pairs.factors[:, world.factor_names.index("pendulum_angle")]
    assert np.all((values >= spec.low) & (values <= spec.high))
    assert np.mean((values == spec.low) | (values == spec.high)) < 0.002


def test_pair_nudge_on_grid_factors_is_refused_naming_the_learners_parameter():
    world = make_world("sprites", size=16)
    with pytest.raises(ValueError, match="'pair_nudge'.*'style_factors'"):
        ContrastiveCRL(pair_nudge=0.1, latent_dim=2, steps=1, **TINY).fit(world, n_samples=32, progress=False)


# --------------------------------------------------------------------------- check_pair_pool against the draw

def _draw_accepts(world, pool, changes, share) -> bool:
    free = changeable_factors(world)
    try:
        if share:
            chosen = _draw_targets(world, free, changes, 200, np.random.default_rng(0), "test", pool=pool)
        else:
            return changes == "random" or int(changes) <= len(pool)
    except ValueError:
        return False
    reach = np.zeros((len(world.factor_names),) * 2, dtype=bool)
    names = list(world.factor_names)
    for j in range(len(names)):
        reach[j, j] = True
        for d in world.graph.descendants(names[j]):
            reach[j, names.index(d)] = True
    touched = (chosen.astype(int) @ reach.astype(int)) > 0
    return bool(np.all(~touched[:, free].all(axis=1)))


@pytest.mark.parametrize("name, options", [("content-style", dict(content=2, style=2, dependence="linear",
                                                                   correlated=True, seed=0)),
                                            ("pendulum", dict(size=16, grid=False))])
def test_check_pair_pool_accepts_exactly_what_the_draw_can_place(name, options):
    world = make_world(name, **options)
    free = changeable_factors(world)
    checked = 0
    for size in range(1, len(free) + 1):  # up to a pool of every factor
        for pool in itertools.combinations(free, size):
            for changes in ["random", *range(1, len(free) + 1)]:
                for share in (True, False):
                    try:
                        check_pair_pool(world, list(pool), changes, share=share, name="among", owner="test")
                        accepted = True
                    except ValueError:
                        accepted = False
                    assert accepted == _draw_accepts(world, list(pool), changes, share), (pool, changes, share)
                    checked += 1
    assert checked > 50


def test_among_every_factor_is_the_same_draw_as_among_none(independent):
    batch = independent.sample(64, seed=0)
    every = counterfactual_pairs(independent, batch, changes=1, seed=2, among=list(independent.factor_names))
    none = counterfactual_pairs(independent, batch, changes=1, seed=2)
    np.testing.assert_array_equal(every.factors, none.factors)


# --------------------------------------------------------------------------- latent_dim=None

def test_latent_dim_none_survives_set_params_clone_and_check_saveable(independent, tmp_path):
    import latentscm

    model = ContrastiveCRL(style_factors=["s1"], steps=2, **TINY).fit(independent, n_samples=64, progress=False)
    assert model.latent_dim is None and model.latent_dim_ == 3
    assert model.clone().latent_dim is None
    model.set_params(latent_dim=3)  # the size it resolved to: the weights still fit
    model.check_saveable()
    model.set_params(latent_dim=None, style_factors=["s0", "s1"])  # resolves to 2: the weights no longer fit
    with pytest.raises(ValueError, match="style_factors"):
        model.check_saveable()
    model.set_params(style_factors=["s1"])
    model.save(str(tmp_path / "saved"))
    images = independent.sample(4, seed=0).images
    np.testing.assert_array_equal(latentscm.load(str(tmp_path / "saved")).encode(images), model.encode(images))
    with pytest.raises(TypeError, match="latent_dim"):
        from latentscm.learners import make as make_learner

        make_learner("beta_vae", latent_dim=None)  # only ContrastiveCRL resolves None


def test_latent_dim_none_and_every_factor_style_under_a_nudge_is_refused_as_no_content(independent):
    with pytest.raises(ValueError, match="no content is left"):
        ContrastiveCRL(style_factors=list(independent.factor_names), pair_nudge=0.1, steps=1, **TINY).fit(
            independent, n_samples=32, progress=False)


def test_latent_dim_none_leaves_out_the_descendants_of_style():
    world = make_world("content-style", content=2, style=2, dependence="linear", seed=0)  # c -> s, no c0 -> c1
    model = ContrastiveCRL(style_factors=["c0"], steps=1, **TINY).fit(world, n_samples=64, progress=False)
    batch = world.sample(200, seed=0)
    pairs = counterfactual_pairs(world, batch, among=["c0"], seed=0)
    kept = int((~pairs.changed.any(axis=0)).sum())  # the content: only c1 is shared by every pair
    assert kept == 1
    assert model.latent_dim_ == kept


# --------------------------------------------------------------------------- ENCO's progress bar, content_style_r2

def test_enco_progress_without_graph_steps_and_with_numpy_bool_changes_nothing(capsys):
    from latentscm.discovery.enco import enco

    rng = np.random.default_rng(0)
    n_obs, n_int = 300, 60
    x = rng.standard_normal((n_obs + 2 * n_int, 3))
    x[:, 1] += 0.8 * x[:, 0]
    x[n_obs:n_obs + n_int, 0] = rng.normal(0, 2, n_int)
    x[n_obs + n_int:, 1] = rng.normal(0, 2, n_int)
    targets = [[]] * n_obs + [[0]] * n_int + [[1]] * n_int
    small = dict(epochs=2, model_steps=3, graph_steps=0, n_graphs=4, hidden=4, seed=1)
    quiet = enco(x, targets, **small)
    shown = enco(x, targets, progress=np.bool_(True), **small)
    assert "nll=" in capsys.readouterr().err
    assert shown.info["edge_probability"] == quiet.info["edge_probability"]
    assert shown.info["final_nll"] == quiet.info["final_nll"]


def test_content_style_r2_lives_in_metrics_only():
    import latentscm.learners.contrastive as contrastive
    import latentscm.metrics as metrics
    from latentscm.metrics.content_style import content_style_r2

    assert metrics.content_style_r2 is content_style_r2 and "content_style_r2" in metrics.__all__
    assert not hasattr(contrastive, "content_style_r2")
