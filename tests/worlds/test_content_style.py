"""The content/style world: its exact Gaussian marginals, the inverse of its mixing, its graph and its
counterfactuals (setting style keeps content)."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.worlds import make
from latentscm.worlds.content_style import ContentStyle


def _true_covariance(world: ContentStyle) -> np.ndarray:
    cov_c, b = world.content_cov_, world.style_weights_
    return np.block([[cov_c, cov_c @ b.T], [b @ cov_c, b @ cov_c @ b.T + world.style_cov_]])


@pytest.mark.parametrize("options", [dict(), dict(correlated=True), dict(dependence="none", content=3, style=2)])
def test_samples_have_the_data_models_mean_and_covariance(options):
    world = make("content-style", **options)
    factors = world.sample(60_000, seed=0).factors
    true = _true_covariance(world)
    scale = np.sqrt(np.outer(np.diag(true), np.diag(true)))
    # correlations within 0.02 (sampling sd ~ 1 / sqrt(60000) = 0.004), means within 0.03 sd
    assert np.abs((np.cov(factors.T) - true) / scale).max() < 0.02
    mean = np.concatenate([np.zeros(world.content), world.style_bias_])
    assert np.abs((factors.mean(0) - mean) / np.sqrt(np.diag(true))).max() < 0.03


def test_graph_follows_the_options():
    assert list(make("content-style", dependence="none").graph.edges) == []
    dependent = make("content-style", content=2, style=3)
    assert sorted(dependent.graph.edges) == sorted((c, s) for c in ("c0", "c1") for s in ("s0", "s1", "s2"))
    correlated = make("content-style", content=3, style=2, dependence="none", correlated=True)
    assert sorted(correlated.graph.edges) == [("c0", "c1"), ("c0", "c2"), ("c1", "c2"), ("s0", "s1")]


def test_observations_are_vectors_in_the_unit_interval_and_invert_exactly():
    world = make("content-style", correlated=True, seed=3)
    batch = world.sample(2000, seed=1)
    assert batch.images.shape == (2000, 10, 1, 1) and batch.images.dtype == np.float32
    assert batch.images.min() > 0.0 and batch.images.max() < 1.0
    exact = world.unmix(world.mix(batch.factors))
    np.testing.assert_allclose(exact, batch.factors, atol=1e-8)
    from_float32 = world.read_factors(batch.images)
    assert np.median(np.abs(from_float32 - batch.factors)) < 1e-4


def test_setting_style_keeps_content_and_moves_only_the_style_set():
    world = make("content-style", content=2, style=3, correlated=True, seed=1)
    batch = world.sample(50, seed=2)
    counterfactual = world.counterfactual(batch, {"s1": 0.5})
    np.testing.assert_array_equal(counterfactual.factors[:, :2], batch.factors[:, :2])
    np.testing.assert_array_equal(counterfactual.factors[:, 2], batch.factors[:, 2])  # s0 is upstream of s1
    assert np.all(counterfactual.factors[:, 3] == 0.5)
    assert not np.allclose(counterfactual.factors[:, 4], batch.factors[:, 4])  # s2 follows s1 (correlated block)
    content = world.counterfactual(batch, {"c0": 0.0})  # content moves the style that depends on it
    assert not np.allclose(content.factors[:, 2:], batch.factors[:, 2:])


def test_seeded_and_rebuilt_from_its_options():
    world = make("content-style", correlated=True, seed=4)
    again = make("content-style", **world.options())
    np.testing.assert_array_equal(world.sample(5, seed=0).images, again.sample(5, seed=0).images)
    other = make("content-style", correlated=True, seed=5)
    assert not np.array_equal(world.sample(5, seed=0).images, other.sample(5, seed=0).images)


@pytest.mark.parametrize("options, message", [
    (dict(content=0), "'content'"),
    (dict(style=1.5), "'style'"),
    (dict(dependence="quadratic"), "'dependence'"),
    (dict(correlated="yes"), "'correlated' parameter of ContentStyle must be True or False"),
    (dict(mixing_layers=0), "'mixing_layers'"),
    (dict(seed=-1), "'seed'"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        ContentStyle(**options)


def test_wishart_df_gives_milder_dependence_and_is_recorded_only_when_given(tmp_path):
    paper = make("content-style", content=3, style=3, dependence="none", correlated=True, seed=0)
    mild = make("content-style", content=3, style=3, dependence="none", correlated=True, seed=0, wishart_df=30)

    def largest_correlation(cov):
        scale = np.sqrt(np.diag(cov))
        return np.abs(cov / np.outer(scale, scale) - np.eye(len(cov))).max()

    assert largest_correlation(paper.style_cov_) > 0.9 > 0.5 > largest_correlation(mild.style_cov_)
    assert mild.options()["wishart_df"] == 30 and paper.options()["wishart_df"] is None
    assert "wishart_df" not in paper._options  # configs of worlds made without it read as before
    np.testing.assert_array_equal(paper.sample(5, seed=1).factors,
                                  make("content-style", content=3, style=3, dependence="none", correlated=True,
                                       seed=0, wishart_df=None).sample(5, seed=1).factors)
    with pytest.raises(ValueError, match="'wishart_df' parameter of ContentStyle"):
        make("content-style", content=3, style=2, correlated=True, wishart_df=2)
    with pytest.raises(ValueError, match="with correlated=False"):
        make("content-style", wishart_df=12)


def test_a_run_recorded_before_wishart_df_existed_resumes(tmp_path):
    import json

    from latentscm.learners import make as make_learner
    from latentscm.training.resume import resume

    world = make("content-style", content=2, style=2, dependence="none", seed=0)
    params = dict(latent_dim=2, style_factors=["s0"], depth=1, hidden_dim=8, batch_size=8, seed=0)
    make_learner("contrastive", steps=2, **params).fit(world, out=str(tmp_path / "run"), n_samples=32,
                                                       progress=False, checkpoint_every=2)
    config_path = tmp_path / "run" / "config.json"
    config = json.loads(config_path.read_text())
    assert config["data"]["options"].pop("wishart_df") is None  # as a config written before the option existed
    config_path.write_text(json.dumps(config))
    resumed = resume(tmp_path / "run", steps=4, progress=False)
    assert resumed.n_steps_ == 4
    config["data"]["options"]["mixing_layers"] = 2  # a real difference is still refused
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="different data"):
        make_learner("contrastive", steps=6, **params).fit(world, out=str(tmp_path / "run"), resume=True,
                                                           n_samples=32, progress=False)
