"""The axioms of counterfactuals (Galles & Pearl 1998) on every registered world's exact oracle,
and the s25 regression: a hard intervention accepted within the grid tolerance reaches the
factor's children as the grid value the factor records."""

import numpy as np
import pytest

from latentscm.scm import AdditiveNoise, Categorical, Root, Uniform
from latentscm.worlds import DomainShift, make
from latentscm.worlds.regimes import Regime

WORLDS = {
    "sprites-noisy": lambda: make("sprites", size=16, variant="noisy"),
    "hue-sprites": lambda: make("hue-sprites", size=16),
    "shapes3d": lambda: make("shapes3d", size=16),
    "pendulum": lambda: make("pendulum", size=16, noise_std=0.2, grid=False),
    "flow": lambda: make("flow", size=16, noise_std=0.2),
    "glyphs": lambda: make("glyphs", size=16),
    "ild-linear": lambda: make("ild-linear", variant="official"),
    "hidden-confounder": lambda: make("sprites", size=16, graph="U -> posX, posY", mechanisms={
        "U": Root(Uniform(0.0, 1.0)),
        "posX": AdditiveNoise(lambda p: 0.8 * p[:, 0], Uniform(0.0, 0.2), parent_names=("U",)),
        "posY": AdditiveNoise(lambda p: 1.0 - 0.8 * p[:, 0], Uniform(-0.2, 0.0), parent_names=("U",))}),
    "domains": lambda: make("glyphs", size=16, domains=DomainShift(2, shifted=("thickness", "intensity"))),
}


def _value(world, name, rng):
    if name not in world.factor_names:  # a hidden node
        return float(rng.uniform())
    spec = world.spec(name)
    return float(spec.values[rng.integers(spec.size)]) if spec.discrete else float(rng.uniform(spec.low, spec.high))


def _same(a, b):
    return np.array_equal(a.factors, b.factors) and np.array_equal(a.images, b.images)


@pytest.mark.parametrize("label", list(WORLDS))
def test_counterfactual_axioms_hold_on_random_cases(label):
    world = WORLDS[label]()
    names, nodes = world.factor_names, [*world.factor_names, *world.hidden]
    rng = np.random.default_rng(25)
    for seed in range(4):
        if world.domains is None:
            batch = world.sample(6, seed=seed, regime=[Regime("observational"), *world.single_node_regimes()[1:3]])
        else:
            batch = world.sample_domains(3, seed=seed)
        seeds = batch.noise.get("render_seed")
        f = names[rng.integers(len(names))]
        v = _value(world, f, rng)
        cf = world.counterfactual(batch, {f: v})
        assert np.all(cf.factor(f) == v)  # effectiveness
        below = world.scm.graph.descendants_of([f])
        keep = [j for j, name in enumerate(names) if name not in below]
        np.testing.assert_array_equal(cf.factors[:, keep], batch.factors[:, keep])  # non-descendants
        assert all(np.array_equal(cf.noise[k], batch.noise[k]) for k in batch.noise)  # noise kept
        np.testing.assert_array_equal(world.render(cf.factors, render_seeds=seeds), cf.images)  # re-render
        assert _same(world.counterfactual(batch, {f: batch.factor(f)}), batch)  # composition with the factual value
        assert _same(world.counterfactual(cf, {f: batch.factor(f)}), batch)  # undone
        w = [name for name in names if name != f][rng.integers(len(names) - 1)]
        assert _same(world.counterfactual(batch, {f: v, w: cf.factor(w)}), cf)  # composition: W_x = w => Y_xw = Y_x
        g, h = rng.choice(nodes, size=2, replace=False)
        vg, vh = _value(world, g, rng), _value(world, h, rng)
        joint = world.counterfactual(batch, {g: vg, h: vh})
        for first, second in (({g: vg}, {h: vh}), ({h: vh}, {g: vg})):  # order independence
            both = world.counterfactual(world.counterfactual(batch, first), second)
            assert _same(both, joint)
            np.testing.assert_array_equal(both.targets, joint.targets)


@pytest.mark.parametrize("label", [label for label in WORLDS if label != "domains"])
def test_counterfactuals_and_interventional_samples_are_the_intervened_scm_on_the_noise(label):
    world = WORLDS[label]()
    rng = np.random.default_rng(7)
    for seed in range(3):
        f = world.factor_names[rng.integers(len(world.factor_names))]
        v = _value(world, f, rng)
        for batch in (world.counterfactual(world.sample(6, seed=seed), {f: v}),
                      world.sample(6, seed=seed, interventions={f: v})):
            scm = world.scm.do({f: v})
            values = scm.evaluate({k: batch.noise[k] for k in scm.nodes})
            want = np.stack([world.spec(n).snap(values[n]) for n in world.factor_names], axis=1)
            np.testing.assert_allclose(batch.factors, want, rtol=0, atol=1e-12)


def _hue_world():
    hues = make("shapes3d", size=16).spec("floor_hue").values  # np.linspace: hues[3] is 0.30000000000000004
    table = np.full((10, 10), 0.02)
    np.fill_diagonal(table, 0.82)
    return make("shapes3d", size=16, graph="floor_hue -> wall_hue", mechanisms={
        "wall_hue": Categorical(table, states=hues, parent_states=[hues], parent_names=("floor_hue",))}), hues


def test_a_hard_value_within_the_grid_tolerance_reaches_a_categorical_child_as_the_grid_value():
    world, hues = _hue_world()
    batch = world.sample(8, seed=0)
    for result in (world.counterfactual(batch, {"floor_hue": 0.3}),
                   world.sample(8, seed=0, interventions={"floor_hue": 0.3}),
                   world.sample(8, seed=0, regime=Regime("r", {"floor_hue": 0.3}))):
        assert np.all(result.factor("floor_hue") == hues[3])
    exact = world.counterfactual(batch, {"floor_hue": hues[3]})
    assert _same(world.counterfactual(batch, {"floor_hue": 0.3}), exact)


def test_a_hard_value_within_the_grid_tolerance_keeps_composition_exact():
    world = make("glyphs", size=16, graph="digit -> slant", mechanisms={
        "slant": AdditiveNoise(lambda p: 0.05 * p[:, 0] - 0.2, Uniform(-0.01, 0.01), parent_names=("digit",))})
    cf = world.counterfactual(world.sample(4, seed=0), {"digit": 3.0000001})
    assert np.all(cf.factor("digit") == 3.0)
    assert _same(world.counterfactual(cf, {"digit": cf.factor("digit")}), cf)


@pytest.mark.parametrize("source, target, factor", [
    (dict(grid=False), dict(grid=True), "pendulum_angle"),
    (dict(grid=False, domains=DomainShift(2, shifted=("light_position",))),
     dict(grid=True, domains=DomainShift(2, shifted=("light_position",))), "pendulum_angle"),
])
def test_a_batch_off_the_worlds_grid_is_refused_rather_than_snapped(source, target, factor):
    batch = make("pendulum", size=16, **source).sample(4, seed=0)
    world = make("pendulum", size=16, **target)
    message = rf"Factor '{factor}': batch value .* not on its grid.*does not fit world 'pendulum'"
    with pytest.raises(ValueError, match=message):
        world.counterfactual(batch, {})
    if world.domains is not None:
        with pytest.raises(ValueError, match=message.replace("counterfactual", "domain_counterfactual")):
            world.domain_counterfactual(batch, to_domain=1)


def test_a_batch_out_of_the_worlds_range_is_refused():
    batch = make("hue-sprites", size=16).sample(16, seed=0)
    assert batch.factor("hue").max() > 0.4
    with pytest.raises(ValueError, match=r"Factor 'hue': batch value .* out of range \[0, 0.4\].*counterfactual"):
        make("hue-sprites", size=16, max_hue=0.4).counterfactual(batch, {"posX": batch.factor("posX")})
