"""MultiViewCRL (Yao et al., ICLR 2024): one encoder per view, the loss of each aligned set against a direct
reference, block identification at a small scale, and the learner's contract (codes, saving, resuming, errors)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import latentscm
from latentscm.data import MultiViews
from latentscm.learners import make as make_learner
from latentscm.learners.contrastive import nt_xent
from latentscm.learners.multiview import MultiViewCRL
from latentscm.metrics import evaluate, multi_view_r2
from latentscm.worlds import make as make_world
from latentscm.worlds.views import multi_view_batch

VIEWS = [["c0", "c1", "s0"], ["c0", "c1", "s1"], ["c0", "s0", "s1"]]
TINY = dict(depth=2, hidden_dim=16, batch_size=16, lr=1e-3, seed=0)


@pytest.fixture(scope="module")
def world():
    return make_world("content-style", content=2, style=2, dependence="none", seed=0)


@pytest.fixture(scope="module")
def fitted(world, tmp_path_factory):
    run = tmp_path_factory.mktemp("multiview") / "run"
    model = MultiViewCRL(views=VIEWS, steps=4, **TINY).fit(world, out=str(run), n_samples=64, progress=False)
    return model, run


def test_structure_from_the_views(fitted):
    model, _ = fitted
    # sets: {0,1} shares c0, c1; {0,2} c0, s0; {1,2} c0, s1; {0,1,2} c0
    assert model.blocks_ == {(0, 1): ["c0", "c1"], (0, 2): ["c0", "s0"], (1, 2): ["c0", "s1"], (0, 1, 2): ["c0"]}
    assert model.slots_ == ["c0", "c1", "s0", "s1"] and model.latent_dim_ == 4
    assert model.block_units([1, 0]) == [0, 1] and model.block_units((1, 2)) == [0, 3]
    assert model.view_units(2) == [0, 2, 3]
    assert model.atoms_ == [["c0"], ["c1"], ["s0"], ["s1"]]  # each latent in its own pattern of blocks
    assert len(model.encoder_.encoders) == 3
    shared = MultiViewCRL(views=VIEWS, shared_encoder=True, steps=2, **TINY)
    shared.fit(make_world("content-style", content=2, style=2, dependence="none", seed=0), n_samples=32,
               progress=False)
    assert len(shared.encoder_.encoders) == 1
    assert make_learner("multiview", views=VIEWS, subsets=[[0, 1]]).set_params().slots_ == ["c0", "c1"]


def test_the_loss_is_the_sum_over_sets_of_the_mean_pairwise_nt_xent(fitted, world):
    model, _ = fitted
    drawn = multi_view_batch(world, world.sample(16, seed=5), VIEWS, seed=6)
    views = [torch.from_numpy(v) for v in drawn.views]
    with torch.no_grad():
        output = model.loss(views[0], 0, views=torch.stack(views[1:], dim=1))
        codes = [model.encoder_(v, k) for k, v in enumerate(views)]
        expected = 0.0
        for subset, units in (((0, 1), [0, 1]), ((0, 2), [0, 2]), ((1, 2), [0, 3]), ((0, 1, 2), [0])):
            pairs = [(i, j) for a, i in enumerate(subset) for j in subset[a + 1:]]
            expected += sum(float(nt_xent(codes[i][:, units], codes[j][:, units], similarity="l2")[0])
                            for i, j in pairs) / len(pairs)
    assert float(output.losses["model"]) == pytest.approx(expected, rel=1e-6)
    assert set(output.logs) == {"loss", "accuracy", "alignment"}


def test_codes_each_unit_read_by_the_first_view_that_shows_it(fitted, world):
    model, _ = fitted
    images = world.sample(12, seed=3).images
    codes = model.encode(images)
    assert codes.shape == (12, 4) and codes.dtype == np.float32
    per_view = [model.encode(images, view=k) for k in range(3)]
    np.testing.assert_array_equal(codes[:, :3], per_view[0][:, :3])  # c0, c1, s0: view 0
    np.testing.assert_array_equal(codes[:, 3], per_view[1][:, 3])  # s1: view 1, the first that shows it
    np.testing.assert_array_equal(model.encode(images, sample=True, seed=1), codes)
    drawn = multi_view_batch(world, world.sample(12, seed=3), VIEWS, seed=4)
    joint = model.encode_views(drawn.views)
    np.testing.assert_array_equal(joint[:, :3], model.encode(drawn.views[0], view=0)[:, :3])
    np.testing.assert_array_equal(joint[:, 3], model.encode(drawn.views[1], view=1)[:, 3])
    np.testing.assert_array_equal(model.encode_views(MultiViews(drawn.views)), joint)
    with pytest.raises(ValueError, match="list of the 3 views' images"):
        model.encode_views(drawn.views[:2])
    with pytest.raises(ValueError, match=r"one image per sample in every view; the views have \[12, 5, 12\]"):
        model.encode_views([drawn.views[0], drawn.views[1][:5], drawn.views[2]])
    assert not np.array_equal(per_view[0], per_view[1])  # one encoder per view
    # aligning views 1 and 2 only: view 0 shows c0 but is trained on nothing, so view 1 reads c0
    only = MultiViewCRL(views=VIEWS, subsets=[[2, 1]], steps=2, **TINY).fit(world, n_samples=32, progress=False)
    assert only.slots_ == ["c0", "s1"] and only.unit_readers() == [1, 1] and only.view_units(0) == []
    np.testing.assert_array_equal(only.encode(images), only.encode(images, view=1))
    with pytest.raises(ValueError, match="'view' argument of MultiViewCRL must be a view index from 0 to 2"):
        model.encode(images, view=3)
    with pytest.raises(TypeError, match="has no decoder"):
        model.decode(codes)
    with pytest.raises(TypeError, match="has no decoder"):
        model.sample(2, seed=0)


def test_saved_runs_load_and_resume_to_the_same_weights(fitted, world, tmp_path):
    from latentscm.training.resume import resume

    model, run = fitted
    images = world.sample(8, seed=4).images
    loaded = latentscm.load(str(run))
    np.testing.assert_array_equal(loaded.encode(images), model.encode(images))
    np.testing.assert_array_equal(loaded.encode(images, view=2), model.encode(images, view=2))
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["views"] == {"sets": VIEWS, "hidden": "fixed", "seed": 3_000_017}
    assert config["learner"]["params"]["views"] == VIEWS
    full = MultiViewCRL(views=VIEWS, steps=6, **TINY).fit(world, out=str(tmp_path / "full"), n_samples=64,
                                                           progress=False, checkpoint_every=2)
    MultiViewCRL(views=VIEWS, steps=4, **TINY).fit(world, out=str(tmp_path / "part"), n_samples=64, progress=False,
                                                   checkpoint_every=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        resumed = resume(tmp_path / "part", steps=6, progress=False)
    for (key, a), b in zip(full.encoder_.state_dict().items(), resumed.encoder_.state_dict().values()):
        assert torch.equal(a, b), key
    with pytest.raises(ValueError, match="views"):
        MultiViewCRL(views=VIEWS[:2], steps=6, **TINY).fit(world, out=str(tmp_path / "part"), resume=True,
                                                           n_samples=64, progress=False)
    changed = MultiViewCRL(views=VIEWS, steps=2, **TINY).fit(world, n_samples=32, progress=False)
    changed.set_params(views=[["c0", "c1"], ["c0", "c1"]])  # one block of two: another code size
    with pytest.raises(ValueError, match="cannot be saved"):
        changed.save(str(tmp_path / "changed"))


def test_same_seed_same_weights_and_the_views_are_seeded(world):
    a = MultiViewCRL(views=VIEWS, steps=3, **TINY).fit(world, n_samples=48, progress=False)
    b = MultiViewCRL(views=VIEWS, steps=3, **TINY).fit(world, n_samples=48, progress=False)
    c = MultiViewCRL(views=VIEWS, steps=3, **{**TINY, "seed": 1}).fit(world, n_samples=48, progress=False)
    for (key, x), y in zip(a.encoder_.state_dict().items(), b.encoder_.state_dict().values()):
        assert torch.equal(x, y), key
    assert not all(torch.equal(x, z) for x, z in zip(a.encoder_.state_dict().values(),
                                                     c.encoder_.state_dict().values()))


def test_aligned_sets_block_identify_what_they_share():
    """The theorem at a small scale: two views that share c0 and c1 and each show one private style latent. The
    block holds the shared latents and not the private ones (which an untrained encoder holds as much as any)."""
    world = make_world("content-style", content=2, style=2, dependence="none", seed=0)
    views = [["c0", "c1", "s0"], ["c0", "c1", "s1"]]
    params = dict(views=views, depth=3, hidden_dim=64, batch_size=256, lr=2e-3, seed=0)
    model = MultiViewCRL(steps=600, **params).fit(world, n_samples=6000, progress=False)
    scores = multi_view_r2(model, world, n=1500, seed=9)
    block = scores["blocks"]["0,1"]
    assert block["content"] == ["c0", "c1"]
    for k in (0, 1):
        r2 = block["per_view"][k]
        assert min(r2["c0"], r2["c1"]) > 0.8, r2
        assert max(r2["s0"], r2["s1"]) < 0.2, r2  # the private latent of each view is left out
    # style: the private latent a view shows (s0 in view 0, s1 in view 1); unseen: the other view's
    assert block["style_r2"] == pytest.approx((block["per_view"][0]["s0"] + block["per_view"][1]["s1"]) / 2)
    assert block["unseen_r2"] == pytest.approx((block["per_view"][0]["s1"] + block["per_view"][1]["s0"]) / 2)
    assert scores["content"] == block["content_r2"] and scores["style"] == block["style_r2"]
    # each unit alone: read by view 0, of the block's latents only (c0 and c1 together fill the two units)
    assert set(scores["units"]) == {"c0", "c1"} and {u["view"] for u in scores["units"].values()} == {0}
    for unit in scores["units"].values():
        assert max(unit["per_factor"]["s0"], unit["per_factor"]["s1"]) < 0.2, unit
    assert sum(unit["per_factor"]["c0"] + unit["per_factor"]["c1"] for unit in scores["units"].values()) > 1.5
    untrained = MultiViewCRL(steps=1, **{**params, "lr": 1e-12}).fit(world, n_samples=512, progress=False)
    before = multi_view_r2(untrained, world, n=1500, seed=9)["blocks"]["0,1"]
    assert max(before["per_view"][0]["s0"], before["per_view"][1]["s1"]) > 0.3, before  # not the architecture


def test_your_own_views_train_with_labels_for_the_latents(world):
    drawn = multi_view_batch(world, world.sample(64, seed=0), VIEWS, seed=1)
    labels = [["a", "b", "p"], ["a", "b", "q"], ["a", "p", "q"]]  # the structure of VIEWS, other names
    model = MultiViewCRL(views=labels, steps=3, **TINY).fit(MultiViews(drawn.views), progress=False)
    assert model.slots_ == ["a", "b", "p", "q"] and model.encode(drawn.views[1], view=1).shape == (64, 4)
    with pytest.raises(ValueError, match="lists 2 views, and the MultiViews given have 3"):
        MultiViewCRL(views=labels[:2], steps=3, **TINY).fit(MultiViews(drawn.views), progress=False)
    with pytest.raises(ValueError, match="n_samples"):
        MultiViewCRL(views=labels, steps=3, **TINY).fit(MultiViews(drawn.views), n_samples=10, progress=False)
    with pytest.raises(ValueError, match="view 1 has shape"):
        MultiViews([drawn.views[0], drawn.views[1][:, :2]])
    with pytest.raises(ValueError, match="at least two arrays"):
        MultiViews([drawn.views[0]])
    with pytest.raises(ValueError, match="images in"):
        MultiViewCRL(views=labels, steps=3, **TINY).fit(MultiViews([v * 2 for v in drawn.views]), progress=False)


@pytest.mark.parametrize("params, message", [
    (dict(views=[["c0"]]), "at least two views"),
    (dict(views=VIEWS, subsets=[[0, 5]]), "distinct view indices from 0 to 2"),
    (dict(subsets=[[0, 1]]), "'views' is None"),
    (dict(views=VIEWS, hidden="other"), "'hidden'"),
    (dict(views=VIEWS, similarity="dot"), "'similarity'"),
    (dict(views=VIEWS, temperature=0), "'temperature'"),
    (dict(views=VIEWS, shared_encoder="yes"), "'shared_encoder'"),
    (dict(views=VIEWS, batch_size=1), "'batch_size'.*at least 2"),
    (dict(views=VIEWS, depth=0), "'depth'"),
])
def test_bad_parameters_are_named(params, message):
    with pytest.raises((ValueError, TypeError), match=message):
        MultiViewCRL(**params)


def test_bad_data_is_named_before_anything_is_rendered(world):
    with pytest.raises(ValueError, match="'views' parameter of MultiViewCRL is None"):
        MultiViewCRL(steps=2, **TINY).fit(world, n_samples=32, progress=False)
    with pytest.raises(ValueError, match="view 1 names 'posX', which is not a factor"):
        MultiViewCRL(views=[["c0"], ["posX", "c0"]], steps=2, **TINY).fit(world, n_samples=32, progress=False)
    with pytest.raises(ValueError, match="give a World .* or latentscm.data.MultiViews"):
        MultiViewCRL(views=VIEWS, steps=2, **TINY).fit(world.sample(32, seed=0), progress=False)
    with pytest.raises(ValueError, match="'regimes' and 'interventional_fraction' are not supported"):
        MultiViewCRL(views=VIEWS, steps=2, **TINY).fit(world, n_samples=32, interventional_fraction=0.5,
                                                       progress=False)


def test_evaluate_scores_the_blocks_and_says_what_the_suite_reads(fitted, world):
    model, _ = fitted
    results = evaluate(model, world, n=200)
    assert {"multi_view.content", "multi_view.style", "multi_view.unseen", "mcc"} <= set(results)
    assert any("code read from its views" in note for note in results.notes)
    # the suite's codes: each sample's views rendered as in training, every unit read by its view
    from latentscm.metrics import mcc

    batch = world.sample(200, seed=0)
    codes = model.encode_views(multi_view_batch(world, batch, VIEWS, seed=1).views)
    assert results["mcc"] == pytest.approx(mcc(codes.astype(np.float64), batch.factors))
    from latentscm.metrics.evaluate import world_codes

    np.testing.assert_array_equal(world_codes(model, world, batch, seed=1), codes)
    beta = make_learner("beta_vae", latent_dim=2, channels=(4,), hidden_dim=8, steps=1, batch_size=8)
    beta.fit(world, n_samples=16, progress=False)
    np.testing.assert_array_equal(world_codes(beta, world, batch, seed=1), beta.encode(batch.images))
    scores = multi_view_r2(model, world, n=200, seed=0)
    assert results["multi_view.content"] == pytest.approx(scores["content"])
    assert set(scores["blocks"]) == {"0,1", "0,2", "1,2", "0,1,2"}
    with pytest.raises(TypeError, match="multi-view learner"):
        multi_view_r2(make_learner("contrastive", latent_dim=2), world)
    with pytest.raises(ValueError, match="'hidden' parameter of multi_view_r2"):
        multi_view_r2(model, world, hidden="bogus")
    with pytest.raises(ValueError, match=r"multi_view_r2: the views of MultiViewCRL name \['c0', 'c1', 's0', 's1'\]"):
        multi_view_r2(model, make_world("sprites", size=16))


def test_command_line_train_and_evaluate(tmp_path):
    from typer.testing import CliRunner

    from latentscm.cli import app

    runner = CliRunner()
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", "--world", "content-style", "--learner", "multiview", "--steps", "3",
                                  "--n-samples", "64", "--set", f"views={json.dumps(VIEWS)}",
                                  "--set", "batch_size=16", "--set", "hidden_dim=16", "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(app, ["evaluate", str(run), "--n", "100"])
    assert evaluated.exit_code == 0, evaluated.output
    summary = json.loads((run / "metrics.json").read_text())
    assert "multi_view.content" in summary["metrics"] and "mcc" in summary["metrics"]
    assert any("code read from its views" in note for note in summary["notes"])
    # discover --run reads the codes as evaluate does: each sample from its views
    discovered = runner.invoke(app, ["discover", "--run", str(run), "--method", "pc", "--ci", "fisherz", "--out",
                                     str(tmp_path / "graph.json")])
    assert discovered.exit_code == 0, discovered.output
    assert json.loads((tmp_path / "graph.json").read_text())["nodes"] == ["z0", "z1", "z2", "z3"]
    reported = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "report.html")])
    assert reported.exit_code == 0, reported.output
    page = (tmp_path / "report.html").read_text()
    assert "MultiViewCRL has no decoder" in page and "multi_view.content" in page
