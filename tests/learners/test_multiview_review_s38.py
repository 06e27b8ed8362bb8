"""Review of MultiViewCRL (Yao et al., ICLR 2024): bookkeeping, round trips and misuse. Tests marked ``# BUG:``
assert the correct behaviour of a defect found in review and fail until it is fixed."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch import nn

import latentscm
from latentscm.data import MultiViews
from latentscm.learners.multiview import MultiViewCRL
from latentscm.training.data import TrainingSet
from latentscm.worlds import make as make_world
from latentscm.worlds.views import multi_view_batch

VIEWS = [["c0", "c1", "s0"], ["c0", "c1", "s1"], ["c0", "s0", "s1"]]
LABELS = [["a", "b", "p"], ["a", "b", "q"], ["a", "p", "q"]]  # the structure of VIEWS, other names
TINY = dict(depth=2, hidden_dim=16, batch_size=16, lr=1e-3, seed=0)


@pytest.fixture(scope="module")
def world():
    return make_world("content-style", content=2, style=2, dependence="none", seed=0)


@pytest.fixture(scope="module")
def drawn(world):
    return multi_view_batch(world, world.sample(64, seed=0), VIEWS, seed=1)


@pytest.fixture(scope="module")
def images(world):
    return world.sample(8, seed=3).images


def _equal_weights(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# ---------------------------------------------------------------------------------------------------- bugs
def test_regimes_and_interventional_fraction_are_refused_with_your_own_views(drawn):
    # BUG: multi_view_training_set (src/latentscm/training/data.py:172-181) returns the MultiViews training set
    # before looking at 'regimes' / 'interventional_fraction', so they are silently ignored (even regimes=["bogus"]);
    # every other non-World input refuses them (training_mixture), and a World with views refuses them too.
    for extra in (dict(interventional_fraction=0.5), dict(regimes=["bogus"])):
        with pytest.raises(ValueError, match="regimes|interventional_fraction"):
            MultiViewCRL(views=VIEWS, steps=1, **TINY).fit(MultiViews(drawn.views), progress=False, **extra)


def test_views_none_with_your_own_views_names_the_views_parameter(drawn):
    # BUG: with views=None the loop (src/latentscm/training/loop.py:282) passes views=None to as_training_set,
    # which takes the plain-image path and fails with "The 'data' argument ... must be numeric array-like. Got
    # MultiViews." -- the documented input is blamed; fit(world) names the real cause ('views' is None).
    with pytest.raises(ValueError, match="'views' parameter of MultiViewCRL is None"):
        MultiViewCRL(steps=1, **TINY).fit(MultiViews(drawn.views), progress=False)


@pytest.mark.parametrize("change", [
    # the slots stay ['c0', 's1'] (same code size) but unit c0 is now read by view 0, never trained
    dict(subsets=[[0, 1, 2], [1, 2]]),
    # views 0 and 1 swapped: same code size, but unit 2 (trained as s0) is now called s1 and vice versa
    dict(views=[VIEWS[1], VIEWS[0], VIEWS[2]]),
])
def test_set_params_that_changes_what_the_units_mean_cannot_be_saved(world, images, tmp_path, change):
    # BUG: check_saveable (src/latentscm/learners/base.py:302-338) only compares module shapes, and MultiViewCRL
    # does not override it. Changing 'subsets' or 'views' after fit keeps latent_dim and the number of encoders,
    # so save() succeeds, yet encode(x) now reads units from an encoder never trained on them (unit_readers,
    # multiview.py:194-198) or gives trained units other labels (slots_); the saved model is not the fitted one.
    subsets = [[1, 2]] if "subsets" in change else None
    model = MultiViewCRL(views=VIEWS, subsets=subsets, steps=2, **TINY).fit(world, n_samples=32, progress=False)
    before = model.encode(images)
    slots, readers = model.slots_, model.unit_readers()
    model.set_params(**change)
    assert model.latent_dim_ == len(model.slots_)  # the shapes still fit: nothing else stops the save
    assert (model.slots_, model.unit_readers()) != (slots, readers)
    try:
        model.save(str(tmp_path / "changed"))
    except ValueError as error:
        assert "cannot be saved" in str(error)
        return
    loaded = latentscm.load(str(tmp_path / "changed"))
    np.testing.assert_array_equal(loaded.encode(images), before)  # fails: another code under the same name
    assert loaded.slots_ == slots


def test_block_units_refuses_view_indices_that_are_not_integers(world):
    # BUG: block_units (src/latentscm/learners/multiview.py:178) turns every entry with int(): 1.7 -> 1 and
    # "1" -> 1, so a wrong set of views is silently answered with another set's units.
    model = MultiViewCRL(views=VIEWS, **TINY)
    assert model.block_units([0, 1]) == [0, 1]
    for bad in ([0, 1.7], ["0", "1"], [0, True]):
        with pytest.raises(ValueError, match="view"):
            model.block_units(bad)


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_a_view_outside_every_aligned_set_trains_under_distributed_data_parallel(world, drawn, tmp_path):
    # BUG: loss (src/latentscm/learners/multiview.py:273) encodes every view, and a view in no aligned set (here
    # view 0, subsets=[[1, 2]]) gets an encoder whose parameters never reach the loss. Under torchrun the loop
    # wraps the encoders in DDP without find_unused_parameters (training/distributed.py:76), and the second step
    # fails with "Expected to have finished reduction in the prior iteration". Simulated on one gloo rank here,
    # exactly as the loop wraps the modules of each rank.
    model = MultiViewCRL(views=VIEWS, subsets=[[1, 2]], steps=1, **TINY).fit(world, n_samples=32, progress=False)
    views = [torch.from_numpy(v[:16]) for v in drawn.views]
    created = not dist.is_initialized()
    if created:
        dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'group'}", rank=0, world_size=1)
    try:
        model._set_train_nets({"encoder": nn.parallel.DistributedDataParallel(model.encoder_)})
        for step in range(3):
            output = model.loss(views[0], step, views=torch.stack(views[1:], dim=1))
            output.losses["model"].backward()
    finally:
        model._clear_train_nets()
        if created:
            dist.destroy_process_group()


# ---------------------------------------------------------------------------------------------------- checks
@pytest.mark.parametrize("subsets", [None, [[0, 1]], [[1, 2]], [[0, 2], [1, 2]], [[0, 1, 2]]])
def test_encode_reads_every_unit_from_a_view_trained_on_it_and_the_loss_trains_exactly_those(world, drawn,
                                                                                             subsets):
    model = MultiViewCRL(views=VIEWS, subsets=subsets, steps=1, **TINY).fit(world, n_samples=32, progress=False)
    readers = model.unit_readers()
    assert len(readers) == model.latent_dim_ == len(model.slots_)
    for unit, view in enumerate(readers):
        assert unit in model.view_units(view)
        assert model.slots_[unit] in model.views[view]
    # the gradient of the loss reaches, in each view's last layer, the rows of view_units and no other
    views = [torch.from_numpy(v[:16]) for v in drawn.views]
    model.encoder_.zero_grad()
    model.loss(views[0], 0, views=torch.stack(views[1:], dim=1)).losses["model"].backward()
    for k, encoder in enumerate(model.encoder_.encoders):
        grad = encoder.layers[-1].weight.grad
        touched = [] if grad is None else [u for u in range(model.latent_dim_) if grad[u].abs().sum() > 0]
        assert touched == model.view_units(k), (k, touched)
    x = world.sample(6, seed=2).images
    codes = model.encode(x)
    for k in sorted(set(readers)):
        units = [u for u, r in enumerate(readers) if r == k]
        np.testing.assert_array_equal(codes[:, units], model.encode(x, view=k)[:, units])


def test_resampled_training_is_seeded_and_resumes_to_the_same_weights(world, tmp_path):
    params = dict(views=VIEWS, hidden="resample", **TINY)
    a = MultiViewCRL(steps=4, **params).fit(world, out=str(tmp_path / "full"), n_samples=48, progress=False,
                                            checkpoint_every=2)
    b = MultiViewCRL(steps=4, **params).fit(world, n_samples=48, progress=False)
    assert _equal_weights(a.encoder_, b.encoder_)
    MultiViewCRL(steps=2, **params).fit(world, out=str(tmp_path / "part"), n_samples=48, progress=False,
                                        checkpoint_every=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        resumed = MultiViewCRL(steps=4, **params).fit(world, out=str(tmp_path / "part"), resume=True, n_samples=48,
                                                      progress=False, checkpoint_every=2)
    assert _equal_weights(a.encoder_, resumed.encoder_)
    with pytest.raises(ValueError, match="hidden"):  # other views: refused
        MultiViewCRL(steps=6, **{**params, "hidden": "fixed"}).fit(world, out=str(tmp_path / "part"), resume=True,
                                                                   n_samples=48, progress=False)


def test_your_own_views_save_load_and_pickle_with_unsorted_subsets(drawn, tmp_path):
    model = MultiViewCRL(views=LABELS, subsets=[[2, 1], [1, 0]], shared_encoder=True, steps=2, **TINY)
    model.fit(MultiViews(drawn.views), out=str(tmp_path / "run"), progress=False)
    assert model.subsets == [[1, 2], [0, 1]] and model.slots_ == ["a", "b", "q"]
    model.save(str(tmp_path / "saved"))
    for other in (latentscm.load(str(tmp_path / "run")), latentscm.load(str(tmp_path / "saved")),
                  pickle.loads(pickle.dumps(model))):
        assert other.get_params() == model.get_params()
        assert other.slots_ == model.slots_ and other.unit_readers() == model.unit_readers()
        for k in (None, 0, 2):
            np.testing.assert_array_equal(other.encode(drawn.views[1], view=k), model.encode(drawn.views[1], view=k))
    with pytest.raises(ValueError, match="other contents"):  # the same views in another order: other data
        MultiViewCRL(views=LABELS, subsets=[[2, 1], [1, 0]], shared_encoder=True, steps=3, **TINY).fit(
            MultiViews([drawn.views[1], drawn.views[0], drawn.views[2]]), out=str(tmp_path / "run"), resume=True,
            progress=False)


def test_a_training_change_that_keeps_the_units_still_saves(world, images, tmp_path):
    model = MultiViewCRL(views=VIEWS, steps=2, **TINY).fit(world, n_samples=32, progress=False)
    before = model.encode(images)
    model.set_params(subsets=[[0, 1], [0, 2], [1, 2]], lr=1e-2)  # (0, 1, 2) dropped: slots and readers the same
    np.testing.assert_array_equal(model.encode(images), before)
    model.save(str(tmp_path / "saved"))
    np.testing.assert_array_equal(latentscm.load(str(tmp_path / "saved")).encode(images), before)


def test_training_sets_with_the_wrong_number_of_views_are_refused(drawn):
    images = np.stack(drawn.views[1:], axis=1)
    bad = TrainingSet(drawn.views[0], None, (), {"kind": "array"}, views=images[:, :1])
    with pytest.raises(ValueError, match="trains on 3 views, and the TrainingSet given has 2"):
        MultiViewCRL(views=LABELS, steps=1, **TINY).fit(bad, progress=False)
    with pytest.raises(ValueError, match="view 1 must be a non-empty list"):
        MultiViewCRL(views=[["a"], []])
    with pytest.raises(ValueError, match="'view' argument"):
        MultiViewCRL(views=VIEWS, **TINY).view_units(3)


def test_fixed_and_resampled_views_keep_each_views_own_factors_with_custom_sets(world):
    views = [["c0", "s0"], ["c0", "c1", "s1"], ["c1", "s0", "s1"], ["s1"]]
    batch = world.sample(40, seed=7)
    names = list(world.factor_names)
    for hidden in ("fixed", "resample"):
        out = multi_view_batch(world, batch, views, hidden=hidden, seed=8)
        assert len(out.views) == 4 and out.view_factors.shape == (4, 40, 4)
        for k, view in enumerate(views):
            shown = [names.index(n) for n in view]
            hid = [j for j in range(4) if j not in shown]
            np.testing.assert_array_equal(out.view_factors[k][:, shown], batch.factors[:, shown])
            if hidden == "fixed":
                assert np.all(out.view_factors[k][:, hid] == 0.0)  # the middle of [-8, 8]
            else:  # no row shows its own hidden factors
                assert not np.any(np.all(out.view_factors[k][:, hid] == batch.factors[:, hid], axis=1))
            np.testing.assert_array_equal(out.views[k], world.render(out.view_factors[k]))
