"""Multi-view data (Yao et al., ICLR 2024): each view shows its own factors of one shared sample, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.worlds import make as make_world
from latentscm.worlds.views import (
    check_view_subsets,
    check_views,
    multi_view_batch,
    view_atoms,
    view_blocks,
    view_slots,
)

VIEWS = [["c0", "c1", "s0"], ["c0", "c1", "s1"], ["c0", "s0", "s1"]]


@pytest.fixture(scope="module")
def world():
    return make_world("content-style", content=2, style=2, dependence="none", seed=0)


def test_fixed_views_show_their_factors_and_hold_the_others_at_the_middle(world):
    batch = world.sample(200, seed=1)
    drawn = multi_view_batch(world, batch, VIEWS, seed=2)
    names = world.factor_names
    assert len(drawn.views) == 3 and drawn.view_factors.shape == (3, 200, 4)
    np.testing.assert_array_equal(drawn.factors, batch.factors)
    for k, view in enumerate(VIEWS):
        for j, name in enumerate(names):
            spec = world.spec(name)
            if name in view:
                np.testing.assert_array_equal(drawn.view_factors[k, :, j], batch.factors[:, j])
            else:
                np.testing.assert_array_equal(drawn.view_factors[k, :, j], (spec.low + spec.high) / 2)
        # the image is the world's rendering of those factors, and the world's exact inverse reads them back
        np.testing.assert_array_equal(drawn.views[k], world.render(drawn.view_factors[k]))
        np.testing.assert_allclose(world.read_factors(drawn.views[k]), drawn.view_factors[k], atol=2e-4)
    # a view with every factor is the sample's own image
    whole = multi_view_batch(world, batch, [names, ["c0"]], seed=2)
    np.testing.assert_array_equal(whole.views[0], batch.images)


def test_resampled_views_show_another_samples_hidden_factors(world):
    batch = world.sample(300, seed=1)
    drawn = multi_view_batch(world, batch, VIEWS, hidden="resample", seed=3)
    names = world.factor_names
    for k, view in enumerate(VIEWS):
        hidden = [j for j, name in enumerate(names) if name not in view]
        shown = [j for j, name in enumerate(names) if name in view]
        np.testing.assert_array_equal(drawn.view_factors[k][:, shown], batch.factors[:, shown])
        for i in range(300):  # one other sample per row gives all of the view's hidden factors
            rows = np.flatnonzero(np.all(batch.factors[:, hidden] == drawn.view_factors[k, i, hidden], axis=1))
            assert rows.size == 1 and rows[0] != i
    again = multi_view_batch(world, batch, VIEWS, hidden="resample", seed=3)
    other = multi_view_batch(world, batch, VIEWS, hidden="resample", seed=4)
    np.testing.assert_array_equal(again.views[2], drawn.views[2])
    assert not np.array_equal(other.view_factors, drawn.view_factors)


def test_grid_factors_are_held_on_their_grid_and_random_renderers_get_a_seed_per_view():
    world = make_world("sprites", size=16)
    batch = world.sample(20, seed=0)
    drawn = multi_view_batch(world, batch, [["posX", "posY"], ["posX", "shape"]], seed=1)
    shape = world.factor_names.index("shape")
    assert set(np.unique(drawn.view_factors[0][:, shape])) <= set(world.spec("shape").values)
    assert np.unique(drawn.view_factors[0][:, shape]).size == 1
    np.testing.assert_array_equal(drawn.views[1], world.render(drawn.view_factors[1]))
    noisy = make_world("sprites", size=16, variant="noisy")
    assert noisy.render_random
    batch = noisy.sample(8, seed=0)
    same = multi_view_batch(noisy, batch, [noisy.factor_names, noisy.factor_names], seed=1)
    # the same factors in both views, each view its own rendering noise; a seed gives the same noise again
    assert not np.array_equal(same.views[0], same.views[1])
    np.testing.assert_array_equal(multi_view_batch(noisy, batch, [noisy.factor_names, ["posX"]], seed=1).views[0],
                                  same.views[0])


@pytest.mark.parametrize("views, message", [
    ([["c0"]], "at least two views"),
    ("c0", "at least two views"),
    ([["c0"], []], "view 1 must be a non-empty list"),
    ([["c0", "c0"], ["c1"]], "view 0 names a factor twice"),
    ([["c0"], ["posX"]], "view 1 names 'posX', which is not a factor"),
])
def test_bad_views_are_named(world, views, message):
    with pytest.raises(ValueError, match=message):
        multi_view_batch(world, world.sample(10, seed=0), views)


def test_other_bad_input_is_named(world):
    batch = world.sample(10, seed=0)
    with pytest.raises(ValueError, match="'hidden'"):
        multi_view_batch(world, batch, VIEWS, hidden="random")
    with pytest.raises(ValueError, match="at least two"):
        multi_view_batch(world, batch[:1], VIEWS, hidden="resample")
    with pytest.raises(TypeError, match="'batch'"):
        multi_view_batch(world, batch.images, VIEWS)
    with pytest.raises(ValueError, match="give a batch sampled from the world"):
        multi_view_batch(world, make_world("sprites", size=16).sample(4, seed=0), VIEWS)


def test_sets_blocks_and_slots():
    views = check_views([["a", "b", "p"], ["a", "b", "q"], ["a", "r"]], "views", "t")
    subsets = check_view_subsets(None, views, "subsets", "t")
    assert subsets == [(0, 1), (0, 2), (1, 2), (0, 1, 2)]
    assert view_blocks(views, subsets) == {(0, 1): ["a", "b"], (0, 2): ["a"], (1, 2): ["a"], (0, 1, 2): ["a"]}
    assert view_slots(views, subsets) == ["a", "b"]  # p, q, r are private: no unit
    assert view_slots(views, [(0, 2)]) == ["a"]
    assert check_view_subsets([[1, 0]], views, "subsets", "t") == [(0, 1)]
    # sets that share nothing are left out of the default and refused when named
    disjoint = [["a"], ["b"], ["a", "b"]]
    assert check_view_subsets(None, disjoint, "subsets", "t") == [(0, 2), (1, 2)]
    with pytest.raises(ValueError, match=r"the views \[0, 1\] share no factor"):
        check_view_subsets([[0, 1]], disjoint, "subsets", "t")
    with pytest.raises(ValueError, match="no two of the views share a factor"):
        check_view_subsets(None, [["a"], ["b"]], "subsets", "t")
    for bad, message in (([[0, 3]], "distinct view indices from 0 to 2"), ([[0, 0]], "distinct"),
                         ([[0]], "two or more view indices"), ([[0, 1], [1, 0]], "twice"), ("01", "non-empty list")):
        with pytest.raises(ValueError, match=message):
            check_view_subsets(bad, views, "subsets", "t")


def test_atoms_of_the_identifiability_algebra():
    # the paper's example (K = 4 views of N = 6 latents): every set of views holds z0 and z1, so they are one atom;
    # z2 ... z5 each lie in their own sets' blocks and are identified alone
    paper = [[f"z{j}" for j in view] for view in ([0, 1, 2, 3, 4], [0, 1, 2, 4, 5], [0, 1, 2, 3, 5], [0, 1, 3, 4, 5])]
    every = check_view_subsets(None, paper, "subsets", "t")
    assert len(every) == 11
    assert view_atoms(paper, every) == [["z0", "z1"], ["z2"], ["z3"], ["z4"], ["z5"]]
    # aligning only the four views together identifies their shared block and nothing finer
    assert view_atoms(paper, [(0, 1, 2, 3)]) == [["z0", "z1"]]
    # two views: one block; three: {0,1} holds a, b, {0,2} only a, so b is the complement
    assert view_atoms([["a", "b", "p"], ["a", "b", "q"]], [(0, 1)]) == [["a", "b"]]
    views = [["a", "b", "p"], ["a", "b", "q"], ["a", "r"]]
    assert view_atoms(views, check_view_subsets(None, views, "subsets", "t")) == [["a"], ["b"]]
