"""Exact counterfactual pairs (Locatello et al. 2020's weak supervision) and ImagePairs."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.data import ImagePairs
from latentscm.worlds import FactorSpec, World, make
from latentscm.worlds.pairs import changed_factors, check_pair_changes, counterfactual_pairs


@pytest.fixture(scope="module")
def sprites():
    return make("sprites", size=16)


@pytest.fixture(scope="module")
def batch(sprites):
    return sprites.sample(300, seed=0)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_fixed_changes_set_exactly_k_factors_and_keep_the_rest(sprites, batch, k):
    pairs = counterfactual_pairs(sprites, batch, changes=k, seed=1)
    assert pairs.targets.shape == (300, 5) and pairs.targets.dtype == bool
    assert np.all(pairs.targets.sum(1) == k)
    # sprites has no causal edges: exactly the intervened factors differ, each of them really does
    np.testing.assert_array_equal(changed_factors(batch.factors, pairs.factors), pairs.targets)
    np.testing.assert_array_equal(pairs.factors[~pairs.targets], batch.factors[~pairs.targets])
    for j, name in enumerate(sprites.factor_names):
        sprites.spec(name).check(pairs.factors[:, j])


def test_random_changes_are_uniform_over_one_to_k_minus_one(sprites, batch):
    big = sprites.sample(2000, seed=3)
    pairs = counterfactual_pairs(sprites, big, seed=4)
    counts = np.bincount(pairs.targets.sum(1), minlength=6)
    assert counts[0] == 0 and counts[5] == 0  # never none, never all five
    assert np.all(np.abs(counts[1:5] / 2000 - 0.25) < 0.05)
    # every factor is chosen about equally often
    assert np.all(np.abs(pairs.targets.mean(0) - pairs.targets.mean()) < 0.05)


def test_each_partner_is_the_worlds_own_counterfactual(sprites, batch):
    pairs = counterfactual_pairs(sprites, batch, changes="random", seed=5)
    for i in (0, 17, 123):
        interventions = {name: pairs.factors[i, j] for j, name in enumerate(sprites.factor_names)
                         if pairs.targets[i, j]}
        single = sprites.counterfactual(batch[i], interventions)
        np.testing.assert_array_equal(single.images[0], pairs.images[i])
        np.testing.assert_array_equal(single.factors[0], pairs.factors[i])


def test_seeded(sprites, batch):
    a = counterfactual_pairs(sprites, batch, seed=7)
    b = counterfactual_pairs(sprites, batch, seed=np.random.default_rng(7))
    c = counterfactual_pairs(sprites, batch, seed=8)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.targets, c.targets)


def test_in_a_causal_world_descendants_follow_and_the_rest_stays():
    world = make("pendulum", size=16)
    batch = world.sample(200, seed=0)
    pairs = counterfactual_pairs(world, batch, changes=1, seed=2)
    names = world.factor_names
    moved = changed_factors(batch.factors, pairs.factors)
    for i in range(200):
        target = names[int(np.flatnonzero(pairs.targets[i])[0])]
        allowed = {target, *world.graph.descendants(target)}
        assert {names[j] for j in np.flatnonzero(moved[i])} <= allowed
        assert moved[i, names.index(target)]
    # intervening on a cause moves its effects (pendulum_angle -> shadow_length, shadow_position)
    cause = pairs.targets[:, names.index("pendulum_angle")]
    assert moved[cause][:, names.index("shadow_position")].mean() > 0.9


@pytest.mark.parametrize("changes, message", [(0, "changes"), (6, "5 factor"), ("some", "random"), (1.5, "changes"),
                                              (True, "changes")])
def test_bad_changes_are_named(sprites, batch, changes, message):
    with pytest.raises((TypeError, ValueError), match=message):
        counterfactual_pairs(sprites, batch, changes=changes)


def test_bad_world_or_batch(sprites, batch):
    with pytest.raises(TypeError, match="World"):
        counterfactual_pairs("sprites", batch)
    with pytest.raises(TypeError, match="Batch"):
        counterfactual_pairs(sprites, batch.images)
    with pytest.raises(ValueError, match="factors"):
        counterfactual_pairs(make("pendulum", size=16), batch)


def test_check_pair_changes():
    assert check_pair_changes("random", "x", "f") == "random"
    assert check_pair_changes(2, "x", "f", 3) == 2
    with pytest.raises(ValueError, match="'x' argument of f"):
        check_pair_changes(4, "x", "f", 3)


def test_image_pairs_validation():
    first = np.zeros((4, 1, 8, 8), np.float32)
    pairs = ImagePairs(first, first + 0.5, [1, 2, 1, 3])
    assert len(pairs) == 4 and pairs.changed.dtype == np.int64
    with pytest.raises(ValueError, match="'second'.*shape"):
        ImagePairs(first, first[:3])
    with pytest.raises(ValueError, match="'first'.*4-D"):
        ImagePairs(first[:, 0], first[:, 0])
    with pytest.raises(ValueError, match="'changed'.*one count per pair"):
        ImagePairs(first, first, [1, 1])
    with pytest.raises(ValueError, match="'changed'.*whole numbers >= 1"):
        ImagePairs(first, first, [1, 0, 1, 1])
    with pytest.raises(ValueError, match="'changed'.*whole numbers >= 1"):
        ImagePairs(first, first, [1, 1.5, 1, 1])
    broken = first.copy()
    broken[1, 0, 2, 2] = np.nan
    with pytest.raises(ValueError, match="'second'.*NaN"):
        ImagePairs(first, broken)


def test_worlds_show_pairs_draws_the_partners_below_the_samples(tmp_path):
    from PIL import Image
    from typer.testing import CliRunner

    from latentscm.cli import app

    runner = CliRunner()
    out = tmp_path / "pairs.png"
    result = runner.invoke(app, ["worlds", "show", "sprites", "--out", str(out), "--pairs", "1", "--n", "4",
                                 "--set", "size=16", "--scale", "1"])
    assert result.exit_code == 0, result.output
    assert "pair partners, 1 factor changed" in result.output
    grid = np.asarray(Image.open(out))
    plain = tmp_path / "plain.png"
    assert runner.invoke(app, ["worlds", "show", "sprites", "--out", str(plain), "--n", "4", "--set", "size=16",
                               "--scale", "1"]).exit_code == 0
    single = np.asarray(Image.open(plain))
    assert grid.shape[0] > single.shape[0] and grid.shape[1] == single.shape[1]  # a second row, same width
    shared = runner.invoke(app, ["worlds", "show", "sprites", "--out", str(tmp_path / "all.png"), "--pairs", "5",
                                 "--no-share", "--n", "4", "--set", "size=16", "--scale", "1"])
    assert shared.exit_code == 0 and "5 factors changed" in shared.output, shared.output  # every factor: no sharing
    for arguments, message in ((["--pairs", "9"], "5 factor"), (["--pairs", "some"], "random"),
                               (["--pairs", "5"], "share at least one"), (["--no-share"], "goes with --pairs"),
                               (["--pairs", "1", "--do", "scale=1"], "--pairs alone")):
        result = runner.invoke(app, ["worlds", "show", "sprites", "--out", str(tmp_path / "x.png"), "--set",
                                     "size=16", *arguments])
        assert result.exit_code == 2 and message in result.output, result.output
        assert not (tmp_path / "x.png").exists()


def test_pairs_share_a_factor_and_say_which_factors_differ(sprites, batch):
    with pytest.raises(ValueError, match="share at least one: give at most 4"):
        counterfactual_pairs(sprites, batch, changes=5)
    pairs = counterfactual_pairs(sprites, batch, changes=4, seed=2)
    np.testing.assert_array_equal(pairs.changed, changed_factors(batch.factors, pairs.factors))
    assert np.all(pairs.changed.sum(1) == 4)


class _OneFactor(World):
    """A bar at one of 4 heights: a single factor that can change."""

    name = "one_factor"

    def __init__(self):
        self._options = {}
        self.factor_specs = (FactorSpec("height", values=np.arange(4.0)), FactorSpec("shade", values=np.ones(1)))
        self.image_shape = (1, 4, 4)
        self._init_structure()

    def _render(self, factors, render_seeds):
        images = np.zeros((factors.shape[0], 1, 4, 4), np.float32)
        images[np.arange(factors.shape[0]), 0, factors[:, 0].astype(int)] = 1.0
        return images


def test_a_world_with_one_changeable_factor_has_no_pairs():
    world = _OneFactor()
    with pytest.raises(ValueError, match="1 factor.*needs two"):
        counterfactual_pairs(world, world.sample(4, seed=0))


def test_a_one_value_factor_cannot_be_among_the_changed_ones():
    world = _OneFactor()
    with pytest.raises(ValueError, match="'shade', which takes one value"):
        counterfactual_pairs(world, world.sample(4, seed=0), seed=0, among=["shade"])


def test_a_continuous_factor_takes_another_samples_value():
    from latentscm.worlds.ild_linear import ILDLinear

    world = ILDLinear(latent_dim=3, n_domains=2, int_set=(0, 1, 2), edge_prob=0.0, seed=0)
    batch = world.sample(300, seed=1)
    pairs = counterfactual_pairs(world, batch, changes=1, seed=2)
    for j in range(3):
        rows = pairs.targets[:, j]
        assert rows.sum() > 50
        # drawn from the factor's own values in the batch (in distribution), never the sample's own
        assert np.all(np.isin(pairs.factors[rows, j], batch.factors[:, j]))
        assert np.all(pairs.factors[rows, j] != batch.factors[rows, j])
    np.testing.assert_array_equal(pairs.changed, pairs.targets)  # no edges: only the targets move


def test_pairs_without_a_shared_factor_intervene_on_every_factor_alike():
    """ILCM's pairs (share=False): a root whose descendants are every other factor is intervened on as often as the
    others, where the shared-factor rule never picks it."""
    from latentscm.worlds.ild_linear import ILDLinear

    world = ILDLinear(latent_dim=4, n_domains=2, int_set=(0,), edge_prob=0.5, depth=2, seed=3)
    assert set(world.graph.descendants("z0")) == {"z1", "z2", "z3"}
    batch = world.sample(800, seed=0)
    shared = counterfactual_pairs(world, batch, changes=1, seed=1)
    assert not shared.targets[:, 0].any()
    free = counterfactual_pairs(world, batch, changes=1, seed=1, share=False)
    assert free.targets.sum(1).tolist() == [1] * 800
    counts = free.targets.sum(0)
    assert counts.min() > 160 and counts.max() < 240  # about 200 each
    assert free.changed[free.targets[:, 0]].all()  # intervening on z0 moves every factor
    rows = np.flatnonzero(free.targets[:, 0])  # each partner is the world's own counterfactual of its sample
    expected = world.counterfactual(batch[rows], {"z0": free.factors[rows, 0]})
    np.testing.assert_array_equal(free.images[rows], expected.images)
    everything = counterfactual_pairs(world, batch, changes=4, seed=2, share=False)
    assert everything.targets.all()
    random = counterfactual_pairs(world, batch, changes="random", seed=3, share=False)
    assert set(np.unique(random.targets.sum(1))) == {1, 2, 3, 4}
    with pytest.raises(ValueError, match="at most 4"):
        counterfactual_pairs(world, batch, changes=5, seed=2, share=False)
    with pytest.raises(ValueError, match="at most 3"):
        counterfactual_pairs(world, batch, changes=4, seed=2)
    with pytest.raises(TypeError, match="'share'"):
        counterfactual_pairs(world, batch, changes=1, seed=2, share="no")
