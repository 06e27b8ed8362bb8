"""Regression tests of the review of this session's new features (scripts in bench_out/s22/review_new_features)."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.interventions import Do, Intervention, Shift
from latentscm.scm import AdditiveNoise, Normal, Root, Uniform
from latentscm.worlds import Batch, FactorSpec, World, make
from latentscm.worlds.domains import DomainShift, domain_counterfactual, sample_domain


class _Bars(World):
    """A horizontal bar at ``row`` (8-grid), a vertical bar at ``col`` (8-grid), brightness ``level``."""

    name = "bars"

    def __init__(self, graph=None, mechanisms=None):
        self.factor_specs = (FactorSpec("row", values=np.arange(8.0)), FactorSpec("col", values=np.arange(8.0)),
                             FactorSpec("level", low=0.2, high=1.0))
        self.image_shape = (1, 8, 8)
        self._init_structure(graph, mechanisms)

    def _render(self, factors, render_seeds):
        n = factors.shape[0]
        images = np.zeros((n, 1, 8, 8), np.float32)
        images[np.arange(n), 0, factors[:, 0].astype(int), :] = 0.5
        images[np.arange(n), 0, :, factors[:, 1].astype(int)] += factors[:, 2:3].astype(np.float32) / 2
        return images


def _confounded() -> _Bars:
    return _Bars(graph="U -> row, col", mechanisms={"U": Root(Uniform(0, 7)),
                                                     "row": AdditiveNoise(lambda p: p[:, 0], Normal(0, 0.5)),
                                                     "col": AdditiveNoise(lambda p: p[:, 0], Normal(0, 0.5))})


def test_a_counterfactual_on_a_hidden_node_is_kept_and_composes():
    """d01: cf(batch, do(U)) on a hidden confounder raised UnknownNodeError (Batch.interventions took factors only)."""
    world = _confounded()
    batch = world.sample(6, seed=0)
    cf = world.counterfactual(batch, {"U": 3.0})
    assert set(cf.interventions) == {"U"} and not cf.targets.any()  # targets mark factors only
    again = world.counterfactual(cf, {"level": 0.5})
    np.testing.assert_array_equal(again.factors[:, :2], cf.factors[:, :2])
    with pytest.raises(ValueError, match="render_seed"):
        Batch(batch.images, batch.factors, {**batch.noise, "render_seed": np.zeros(6, np.int64)},
              batch.factor_names, interventions={"render_seed": Do(1.0)})


def test_domain_counterfactual_snaps_a_kept_soft_intervention_to_the_grid():
    """d02: a counterfactual batch's Shift was applied unsnapped, so children of a grid factor saw an off-grid
    value: moving a counterfactual batch to its own domain changed it."""
    world = make("pendulum", size=16, domains=DomainShift(n_domains=2, shifted=("light_position",), kind="shift"))
    cf = world.counterfactual(sample_domain(world, 6, seed=0, domain=0), {"pendulum_angle": Shift(0.3)})
    np.testing.assert_array_equal(domain_counterfactual(world, cf, to_domain=0).factors, cf.factors)


def test_domain_counterfactual_of_a_counterfactual_recomputes_hidden_nodes_under_its_interventions():
    """d03: hidden nodes were recomputed without the batch's interventions (stale H below a do(row)), and a
    counterfactual on a hidden node could not be moved at all."""
    world = _Bars(graph="row -> H -> col", mechanisms={
        "H": AdditiveNoise(lambda p: p[:, 0], Normal(0, 0.3)),
        "col": AdditiveNoise(lambda p: p[:, 0], Normal(0, 0.3))}).with_domains(
        DomainShift(n_domains=2, shifted=("col",), kind="shift", strength=2.0))
    batch = sample_domain(world, 8, seed=0, domain=0)
    moved = domain_counterfactual(world, batch, to_domain=1)
    for interventions in ({"row": 0.0}, {"H": 3.0}):
        a = domain_counterfactual(world, world.counterfactual(batch, interventions), to_domain=1)
        b = world.counterfactual(moved, interventions)
        np.testing.assert_array_equal(a.factors, b.factors)


class _Clip(Intervention):
    """A user's soft intervention: the mechanism's output clipped at 1.0."""

    def apply(self, values):
        return np.minimum(values, 1.0)


def test_a_users_intervention_subclass_still_makes_counterfactuals():
    """d04: World.counterfactual with an Intervention subclass leaked StopIteration from Batch.interventions."""
    world = make("pendulum", size=16)
    clip = _Clip()
    cf = world.counterfactual(world.sample(4, seed=0), {"light_position": clip})
    assert cf.interventions == {"light_position": clip}
    again = world.counterfactual(cf, {"pendulum_angle": float(world.spec("pendulum_angle").values[0])})
    np.testing.assert_array_equal(again.factor("light_position"), cf.factor("light_position"))
    joined = Batch.concatenate([cf[:2], cf[2:]])
    assert joined.interventions["light_position"] is clip and len(joined) == 4
    other = world.counterfactual(world.sample(2, seed=1), {"light_position": _Clip()})
    with pytest.raises(ValueError, match="same object"):
        Batch.concatenate([cf, other])


def test_an_old_concepts_run_with_a_now_refused_setting_still_resumes(tmp_path):
    """d05: a CausalDiffAE(condition='concepts') run trained before unused settings were refused (e.g. with
    the cpu-small preset's channels) could not be resumed: fit refused them and resume cannot change them."""
    import json

    from latentscm.learners import make as make_learner
    from latentscm.training import resume

    world = make("pendulum", size=16, noise_std=0.3)
    make_learner("causal_vae", channels=(8, 16), hidden_dim=32, batch_size=16, steps=2, seed=0).fit(
        world, out=str(tmp_path / "cvae"), n_samples=32, progress=False)
    dae = {"concept_model": str(tmp_path / "cvae"), "condition": "concepts", "batch_size": 16, "steps": 2, "seed": 0,
           "unet_channels": 8, "unet_multipliers": (1, 2), "ddim_steps": 4, "timesteps": 60}
    out = tmp_path / "dae"
    make_learner("causal_diffae", **dae).fit(world, out=str(out), n_samples=32, progress=False, checkpoint_every=1)
    config = json.loads((out / "config.json").read_text())
    config["learner"]["params"].update(channels=[32, 32, 64], hidden_dim=128)  # as the code before recorded them
    (out / "config.json").write_text(json.dumps(config))
    with pytest.warns(RuntimeWarning, match="records 'channels', 'hidden_dim'.*ignored"):
        assert resume(out, steps=3, progress=False).history_[-1]["step"] == 3
    with pytest.raises(ValueError, match="'hidden_dim' would be ignored"):  # a new run is still refused
        make_learner("causal_diffae", **dae, hidden_dim=64).fit(world, out=str(tmp_path / "new"), n_samples=32,
                                                               progress=False, resume=True)


def test_generate_refuses_a_multi_domain_world(tmp_path):
    """generate stored domain 0 of a multi-domain world under the plain world's key, without a word."""
    from latentscm.worlds import DomainShift, make

    world = make("sprites", size=16).with_domains(DomainShift(2, shifted=("scale",)))
    with pytest.raises(ValueError, match="has 2 domains; without regime= the stored dataset would hold domain 0"):
        world.generate(8, seed=0, root=tmp_path)
    assert not list(tmp_path.iterdir())
