"""ContrastiveCRL (von Kügelgen et al. 2021; Zimmermann et al. 2021): the NT-Xent loss against a direct
reference, content isolation on the content/style world, pairs restricted to style, and the learner's
contract without a decoder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import latentscm
from latentscm.learners import make as make_learner
from latentscm.learners.contrastive import ContrastiveCRL, nt_xent, pairwise_similarity
from latentscm.metrics import content_style_r2, evaluate
from latentscm.worlds import make as make_world
from latentscm.worlds.pairs import counterfactual_pairs

VECTOR = dict(latent_dim=2, depth=2, hidden_dim=32, batch_size=64, steps=5, lr=1e-3, seed=0)


def _reference_nt_xent(first: np.ndarray, second: np.ndarray, similarity: str, temperature: float) -> float:
    """NT-Xent written out anchor by anchor, in float64."""
    codes = np.concatenate([first, second]).astype(np.float64)
    n = len(first)

    def sim(u, v):
        if similarity == "cosine":
            return u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
        if similarity == "l2":
            return -np.sum((u - v) ** 2)
        return -np.sum(np.abs(u - v))

    total = 0.0
    for i in range(2 * n):
        partner = i + n if i < n else i - n
        logits = np.array([sim(codes[i], codes[k]) / temperature for k in range(2 * n) if k != i])
        others = [k for k in range(2 * n) if k != i]
        total += -(logits[others.index(partner)] - np.log(np.exp(logits - logits.max()).sum()) - logits.max())
    return total / (2 * n)


@pytest.mark.parametrize("similarity, temperature", [("cosine", 0.2), ("l2", 1.0), ("l1", 0.5)])
def test_nt_xent_matches_an_anchor_by_anchor_reference(similarity, temperature):
    rng = np.random.default_rng(0)
    first, second = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    loss, accuracy = nt_xent(torch.tensor(first), torch.tensor(second), similarity=similarity,
                             temperature=temperature)
    assert float(loss) == pytest.approx(_reference_nt_xent(first, second, similarity, temperature), rel=1e-10)
    assert 0.0 <= float(accuracy) <= 1.0


def test_nt_xent_is_small_and_accurate_for_matched_distinct_pairs_and_log_of_candidates_for_identical_codes():
    codes = torch.eye(4) * 10.0
    loss, accuracy = nt_xent(codes, codes.clone(), similarity="l2")
    assert float(loss) < 1e-30 ** 0.5 and float(accuracy) == 1.0
    same = torch.zeros(4, 3)  # every candidate equally similar: log(2B - 1)
    loss, _ = nt_xent(same, same.clone(), similarity="l2")
    assert float(loss) == pytest.approx(math.log(7), rel=1e-6)


def test_l2_nt_xent_is_the_official_lp_simclr_loss_up_to_a_constant():
    """LpSimCLRLoss(p=2, alpha=0.5, simclr_denominator=True) of the official code, for one direction with
    the other view as negatives, equals NT-Xent's cross-entropy over the same candidates plus log(B + 1)."""
    rng = np.random.default_rng(1)
    a, b, negatives = (torch.tensor(rng.standard_normal((6, 2))) for _ in range(3))
    pos = ((a - b) ** 2).sum(1)
    neg = ((a[:, None] - negatives[None]) ** 2).sum(-1)
    both = torch.cat([neg, pos[:, None]], dim=1)
    official = (pos + torch.logsumexp(-both, dim=1) - math.log(both.shape[1])).mean()
    logits = torch.cat([-pos[:, None], -neg], dim=1)
    ours = torch.nn.functional.cross_entropy(logits, torch.zeros(6, dtype=torch.long))
    assert float(official) == pytest.approx(float(ours) - math.log(7), rel=1e-12)
    sims = pairwise_similarity(a, negatives, "l2")
    torch.testing.assert_close(sims, -neg)


def test_pairwise_similarities_against_torch():
    rng = np.random.default_rng(2)
    u, v = torch.tensor(rng.standard_normal((4, 3))), torch.tensor(rng.standard_normal((5, 3)))
    torch.testing.assert_close(pairwise_similarity(u, v, "l1"), -torch.cdist(u, v, p=1.0))
    torch.testing.assert_close(pairwise_similarity(u, v, "l2"), -torch.cdist(u, v) ** 2)
    torch.testing.assert_close(pairwise_similarity(u, v, "cosine"),
                               torch.nn.functional.cosine_similarity(u[:, None], v[None], dim=-1))
    with pytest.raises(ValueError, match="similarity 'dot'"):
        pairwise_similarity(u, v, "dot")


@pytest.fixture(scope="module")
def content_style():
    return make_world("content-style", content=2, style=2, dependence="none", seed=0)


def test_pairs_change_only_the_named_factors(content_style):
    world = content_style
    batch = world.sample(400, seed=0)
    pairs = counterfactual_pairs(world, batch, seed=1, among=["s0", "s1"])
    assert not pairs.targets[:, :2].any() and pairs.targets[:, 2:].any(axis=1).all()
    np.testing.assert_array_equal(pairs.factors[:, :2], batch.factors[:, :2])  # content kept exactly
    counts = pairs.targets.sum(1)
    assert set(np.unique(counts)) == {1, 2}  # "random": 1 ... len(among)


def test_pairs_restricted_to_a_cause_move_its_descendants():
    world = make_world("content-style", content=1, style=2, dependence="linear", seed=0)
    batch = world.sample(50, seed=0)
    pairs = counterfactual_pairs(world, batch, changes=1, seed=1, among=["s0", "s1"])
    assert pairs.changed[:, 0].sum() == 0  # content c0 is no descendant of style
    with pytest.raises(ValueError, match="no pair would share a factor"):
        counterfactual_pairs(world, batch, changes=1, seed=1, among=["c0"])  # c0 -> s0, s1


@pytest.mark.parametrize("among, message", [
    ("s0", "non-empty list of factor names"),
    ([], "non-empty list"),
    (["s9"], "'s9', which is not a factor"),
    (["s0", "s0"], "names 's0' twice"),
])
def test_bad_pair_factors_are_named(content_style, among, message):
    batch = content_style.sample(8, seed=0)
    with pytest.raises(ValueError, match=message):
        counterfactual_pairs(content_style, batch, seed=0, among=among)


def test_contrastive_learning_isolates_content_from_style(content_style):
    """The theorem's setting at a small scale: independent content and style, an encoder with as many outputs
    as content latents. Content is recovered and style is not; swapping which half the pairs change swaps
    which half the codes hold (the codes follow what the pairs keep, not the mixing)."""
    world = content_style
    params = dict(latent_dim=2, depth=3, hidden_dim=64, batch_size=256, steps=600, lr=2e-3, seed=0)
    held_out = world.sample(1500, seed=9)
    model = ContrastiveCRL(style_factors=["s0", "s1"], **params).fit(world, n_samples=6000, progress=False)
    scores = content_style_r2(model.encode(held_out.images), held_out.factors, world.factor_names, ["s0", "s1"])
    assert scores["content"] > 0.8, scores
    assert scores["style"] < 0.2, scores
    swapped = ContrastiveCRL(style_factors=["c0", "c1"], **params).fit(world, n_samples=6000, progress=False)
    other = content_style_r2(swapped.encode(held_out.images), held_out.factors, world.factor_names, ["c0", "c1"])
    assert other["content"] > 0.8 and other["style"] < 0.2, other  # now s0, s1 are the content


def test_the_encoder_is_an_mlp_on_vectors_and_convolutional_on_images(content_style):
    model = ContrastiveCRL(style_factors=["s0"], **VECTOR).fit(content_style, n_samples=128, progress=False)
    assert isinstance(model.encoder_.layers[1], torch.nn.Linear)
    assert sum(isinstance(m, torch.nn.Linear) for m in model.encoder_.modules()) == VECTOR["depth"] + 1
    images = make_learner("contrastive", latent_dim=2, channels=(4, 8), hidden_dim=8, steps=2, batch_size=8,
                          style_factors=["posX"])
    images.fit(make_world("sprites", size=16), n_samples=32, progress=False)
    assert type(images.encoder_).__name__ == "ConvEncoder"
    assert ContrastiveCRL(encoder="mlp").uses_mlp((3, 16, 16)) and not ContrastiveCRL().uses_mlp((3, 16, 16))
    assert ContrastiveCRL().uses_mlp((5, 1, 1)) and not ContrastiveCRL(encoder="conv").uses_mlp((5, 1, 1))


def test_no_decoder_and_the_rest_of_the_contract(content_style, tmp_path):
    model = ContrastiveCRL(style_factors=["s0", "s1"], **VECTOR).fit(content_style, out=str(tmp_path / "run"),
                                                                    n_samples=128, progress=False)
    images = content_style.sample(10, seed=3).images
    assert model.can_decode is False and model.posterior == "deterministic"
    for call in (lambda: model.decode(np.zeros((2, 2), np.float32)), lambda: model.reconstruct(images),
                 lambda: model.sample(2, seed=0)):
        with pytest.raises(TypeError, match="has no decoder"):
            call()
    codes = model.encode(images)
    assert codes.shape == (10, 2) and codes.dtype == np.float32
    np.testing.assert_array_equal(model.encode(images, sample=True, seed=4), codes)  # point codes
    loaded = latentscm.load(str(tmp_path / "run"))
    np.testing.assert_array_equal(loaded.encode(images), codes)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["pairs"]["among"] == ["s0", "s1"]
    results = evaluate(model, content_style, n=200, reconstruction=True)
    assert "mig" in results and not any(key.startswith("reconstruction") for key in results)
    assert any("has no decoder" in note for note in results.notes)
    skipped = evaluate(model, content_style, n=200, counterfactuals="traversal")
    assert not any(key.startswith("cf.") for key in skipped)
    assert any("no decoder to render" in note for note in skipped.notes)


def test_a_probe_that_decodes_refuses_it(content_style):
    from latentscm.probes import extreme_values
    from latentscm.probes.attribute_controls import AttributeControls, edit_fidelity
    from latentscm.probes.potential_flows import torch_decoder
    from latentscm.probes.traversal_counterfactual import TraversalCounterfactual

    model = ContrastiveCRL(style_factors=["s0"], **VECTOR).fit(content_style, n_samples=128, progress=False)
    with pytest.raises(TypeError, match="no decoder"):
        extreme_values(model, content_style, n=8, levels=3)
    with pytest.raises(TypeError, match="ContrastiveCRL has no decoder"):
        torch_decoder(model)
    with pytest.raises(TypeError, match="ContrastiveCRL has no decoder"):
        TraversalCounterfactual(model, content_style, n=16)
    with pytest.raises(TypeError, match="ContrastiveCRL has no decoder"):
        edit_fidelity(model, content_style, AttributeControls(), "c0")


@pytest.mark.parametrize("params, message", [
    (dict(style_factors="s0"), "'style_factors' parameter of ContrastiveCRL must be None or a non-empty list"),
    (dict(style_factors=[]), "non-empty list"),
    (dict(style_factors=["s0", "s0"]), "names a factor twice"),
    (dict(similarity="dot"), "'similarity'"),
    (dict(temperature=0.0), "'temperature'"),
    (dict(encoder="resnet"), "'encoder'"),
    (dict(depth=0), "'depth'"),
    (dict(pair_changes=0), "'pair_changes'"),
])
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        ContrastiveCRL(**params)


def test_an_unknown_style_factor_is_refused_before_rendering(content_style):
    with pytest.raises(ValueError, match="'style_factors' argument of .* names 'hue'"):
        ContrastiveCRL(style_factors=["hue"], **VECTOR).fit(content_style, n_samples=64, progress=False)
    with pytest.raises(ValueError, match="'pair_changes' argument .* is 3"):
        ContrastiveCRL(style_factors=["s0", "s1"], pair_changes=3, **VECTOR).fit(content_style, n_samples=64,
                                                                                 progress=False)


def test_content_style_r2_names_unknown_style():
    with pytest.raises(ValueError, match=r"names \['z'\]"):
        content_style_r2(np.zeros((10, 2)), np.zeros((10, 2)), ["a", "b"], ["z"])


def test_command_line_train_evaluate_and_report(tmp_path):
    from typer.testing import CliRunner

    from latentscm.cli import app

    runner = CliRunner()
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", "--world", "content-style", "--learner", "contrastive", "--steps", "3",
                                  "--n-samples", "64", "--set", 'style_factors=["s0", "s1"]', "--set", "latent_dim=2",
                                  "--set", "batch_size=16", "--set", "hidden_dim=16", "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(app, ["evaluate", str(run), "--n", "100"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "note: reconstruction skipped: ContrastiveCRL has no decoder." in evaluated.output
    summary = json.loads((run / "metrics.json").read_text())
    assert "mcc" in summary["metrics"] and not any(k.startswith("reconstruction") for k in summary["metrics"])
    reported = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "report.html")])
    assert reported.exit_code == 0, reported.output
    assert "ContrastiveCRL has no decoder" in (tmp_path / "report.html").read_text()
    refused = runner.invoke(app, ["train", "--world", "content-style", "--learner", "contrastive", "--steps", "3",
                                  "--eval-every", "2", "--out", str(tmp_path / "other")])
    assert refused.exit_code != 0 and "no decoder" in refused.output


def test_nudged_pairs_move_every_target_by_laplace_noise_of_the_given_scale():
    world = make_world("content-style", content=2, style=2, dependence="none", seed=0)
    batch = world.sample(4000, seed=0)
    pairs = counterfactual_pairs(world, batch, changes=4, share=False, nudge=0.1, seed=1)
    assert pairs.targets.all()
    moved = pairs.factors - batch.factors
    scale = 0.1 * batch.factors.std(0)
    # |Laplace(0, b)| has mean b and variance b^2: the mean of 4,000 is within 5 % of b
    np.testing.assert_allclose(np.abs(moved).mean(0), scale, rtol=0.05)
    assert abs(float(np.mean(moved / scale))) < 0.1  # centred
    again = counterfactual_pairs(world, batch, changes=4, share=False, nudge=0.1, seed=1)
    np.testing.assert_array_equal(again.factors, pairs.factors)
    some = counterfactual_pairs(world, batch, changes=1, nudge=0.1, seed=1, among=["s0", "s1"])
    np.testing.assert_array_equal(some.factors[:, :2], batch.factors[:, :2])


def test_nudge_refuses_grid_factors_and_bad_scales():
    world = make_world("sprites", size=16)
    batch = world.sample(8, seed=0)
    with pytest.raises(ValueError, match="'nudge' argument .* 'shape', 'scale'"):
        counterfactual_pairs(world, batch, seed=0, nudge=0.1)
    cs = make_world("content-style", content=1, style=1, dependence="none")
    with pytest.raises(ValueError, match="'nudge'"):
        counterfactual_pairs(cs, cs.sample(8, seed=0), seed=0, nudge=0.0)
    with pytest.raises(ValueError, match="'pair_nudge'"):
        ContrastiveCRL(pair_nudge=-1.0)


def test_a_nudged_learner_trains_on_pairs_that_move_every_factor(tmp_path):
    world = make_world("content-style", content=2, style=2, dependence="none", seed=0)
    model = ContrastiveCRL(pair_nudge=0.2, pair_changes=4, **VECTOR)
    assert model.pairs_share_a_factor is False and ContrastiveCRL().pairs_share_a_factor is True
    model.fit(world, out=str(tmp_path / "run"), n_samples=64, progress=False)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["pairs"] == {"changes": 4, "seed": config["data"]["pairs"]["seed"], "share": False,
                                       "nudge": 0.2}


def test_latent_dim_defaults_to_one_unit_per_content_factor(content_style, tmp_path):
    params = {key: value for key, value in VECTOR.items() if key != "latent_dim"}
    model = ContrastiveCRL(style_factors=["s1"], **params).fit(content_style, out=str(tmp_path / "run"),
                                                               n_samples=64, progress=False)
    assert model.latent_dim is None and model.latent_dim_ == 3  # c0, c1, s0
    images = content_style.sample(5, seed=0).images
    np.testing.assert_array_equal(latentscm.load(str(tmp_path / "run")).encode(images), model.encode(images))
    with pytest.raises(ValueError, match="'latent_dim' parameter of ContrastiveCRL is None.*'style_factors' is None"):
        ContrastiveCRL(**params).fit(content_style, n_samples=64, progress=False)
    from latentscm.data import ImagePairs

    batch = content_style.sample(64, seed=0)
    pairs = ImagePairs(batch.images, counterfactual_pairs(content_style, batch, seed=0).images)
    with pytest.raises(ValueError, match="no factors \\(image pairs\\); pass latent_dim"):
        ContrastiveCRL(style_factors=["s1"], **params).fit(pairs, progress=False)


def test_latent_dim_none_counts_content_without_the_descendants_of_style(tmp_path):
    world = make_world("content-style", content=2, style=2, dependence="linear", seed=0)  # c -> s
    params = {key: value for key, value in VECTOR.items() if key != "latent_dim"}
    model = ContrastiveCRL(style_factors=["c0"], **params).fit(world, out=str(tmp_path / "run"), n_samples=64,
                                                               progress=False)
    assert model.content_factors_ == ("c1",) and model.latent_dim_ == 1  # s0, s1 descend from c0
    loaded = latentscm.load(str(tmp_path / "run"))
    assert loaded.latent_dim_ == 1 and loaded.content_factors_ == ("c1",)
    loaded.set_params(style_factors=["s0"])  # latent_dim=None would now mean c0, c1, s1: 3 units
    with pytest.raises(ValueError, match="cannot be saved: set_params changed style_factors"):
        loaded.check_saveable()
