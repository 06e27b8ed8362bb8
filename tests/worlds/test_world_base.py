"""The World base class on small real worlds (bars whose positions are factors, see conftest.py)."""

import numpy as np
import pytest

from latentscm.graph import CycleError, UnknownNodeError
from latentscm.scm import AdditiveNoise, Categorical, LinearGaussian, Normal, Root, Uniform
from latentscm.testing import check_world
from latentscm.worlds import Batch


def test_bars_passes_check_world(Bars):
    report = check_world(Bars())
    assert report["unchanged_fraction"] == {"row": 0.0, "col": 0.0, "level": 0.0}


def test_default_prior_is_uniform_on_grid(Bars):
    batch = Bars().sample(4000, seed=0)
    counts = np.bincount(batch.factor("row").astype(int), minlength=8)
    assert counts.min() > 400 and counts.max() < 600
    level = batch.factor("level")
    assert 0.2 <= level.min() and level.max() <= 1.0


def test_custom_structure_is_honoured_and_stays_on_grid(Bars):
    world = Bars(graph="row -> col", mechanisms={"col": LinearGaussian({"row": 1.0}, bias=0.0, std=0.3)})
    assert world.graph.edges == (("row", "col"),)
    batch = world.sample(500, seed=1)
    row, col = batch.factor("row"), batch.factor("col")
    assert np.all(np.isin(col, np.arange(8.0)))
    assert np.corrcoef(row, col)[0, 1] > 0.9
    cf = world.counterfactual(batch, {"row": 2.0})
    # exact oracle: same noise, col recomputed = snap(2 + u)
    np.testing.assert_array_equal(cf.factor("col"), world.factor_specs[1].snap(2.0 + batch.noise["col"]))
    np.testing.assert_array_equal(cf.factor("level"), batch.factor("level"))
    back = world.counterfactual(batch, {"col": 3.0})  # intervening on the effect keeps the cause
    np.testing.assert_array_equal(back.factor("row"), row)
    check_world(world)


def test_hidden_confounder(Bars):
    world = Bars(
        graph="U -> row, col",
        mechanisms={"U": Root(Uniform(0, 7)), "row": AdditiveNoise(lambda p: p[:, 0], Normal(0, 0.5)),
                    "col": AdditiveNoise(lambda p: p[:, 0], Normal(0, 0.5))},
    )
    assert world.hidden == ("U",)
    assert world.graph.edges == ()  # the graph over factors leaves the confounder out
    batch = world.sample(800, seed=2)
    assert np.corrcoef(batch.factor("row"), batch.factor("col"))[0, 1] > 0.7
    cf = world.counterfactual(batch, {"row": 0.0})
    np.testing.assert_array_equal(cf.factor("col"), batch.factor("col"))


def test_categorical_mechanism_on_grid_world(Bars):
    table = np.full((8, 8), 0.0)
    table[np.arange(8), (np.arange(8) + 1) % 8] = 1.0  # col = row + 1 (mod 8)
    world = Bars(graph="row -> col", mechanisms={"col": Categorical(table, states=np.arange(8.0))})
    batch = world.sample(50, seed=3)
    np.testing.assert_array_equal(batch.factor("col"), (batch.factor("row") + 1) % 8)
    cf = world.counterfactual(batch, {"row": 5.0})
    np.testing.assert_array_equal(cf.factor("col"), 6.0)


def test_bad_input_errors(Bars):
    world = Bars()
    batch = world.sample(3, seed=0)
    with pytest.raises(ValueError, match="Unknown intervention target 'size'"):
        world.counterfactual(batch, {"size": 1.0})
    with pytest.raises(ValueError, match="Factor 'row': intervention value 2.5 is not on its grid"):
        world.counterfactual(batch, {"row": 2.5})
    with pytest.raises(ValueError, match=r"Factor 'level': intervention value 3.0 is out of range \[0.2, 1\]"):
        world.sample(3, seed=0, interventions={"level": 3.0})
    with pytest.raises(ValueError, match="expects factors of shape"):
        world.render(np.zeros((2, 2)))
    with pytest.raises(CycleError, match="row"):
        Bars(graph="row -> col -> row")
    with pytest.raises(ValueError, match="node 'col' has parents \\['row'\\].*no mechanism"):
        Bars(graph="row -> col")
    with pytest.raises(UnknownNodeError, match="size"):
        Bars(mechanisms={"size": Root()})
    with pytest.raises(UnknownNodeError, match="Valid names: row, col, level"):
        batch.factor("size")


def test_batch_indexing_and_concatenate(Bars):
    batch = Bars().sample(6, seed=0)
    part = batch[1:3]
    assert len(part) == 2 and part.noise["row"].shape == (2,)
    whole = Batch.concatenate([batch[:2], batch[2:]])
    np.testing.assert_array_equal(whole.images, batch.images)


def test_batch_integer_index_is_one_sample_and_ends_iteration(Bars):
    batch = Bars().sample(6, seed=0)
    np.testing.assert_array_equal(batch[-1].images, batch.images[5:6])
    np.testing.assert_array_equal(batch[np.int64(2)].factors, batch.factors[2:3])
    with pytest.raises(IndexError, match="index 6 is out of range for a batch of 6"):
        batch[6]
    with pytest.raises(IndexError, match="-7"):
        batch[-7]
    assert [len(one) for one in batch] == [1] * 6  # iteration stops (it used to run forever on empty batches)


def test_grid_factors_row_major(Bars, Grid):
    world = Grid()
    assert world.n_combinations == 128
    grid = world.grid_factors(0, 10)
    np.testing.assert_array_equal(grid[:, 2], [0.5, 1.0] * 5)
    np.testing.assert_array_equal(grid[:, 1], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(world.grid_factors(126)[:, 0], [7, 7])
    check_world(world)
    with pytest.raises(ValueError, match="continuous"):
        Bars().grid_factors()


def test_world_scm_abducts_and_pickles(Bars):
    import pickle

    from latentscm.scm import LinearGaussian

    world = Bars(graph="row -> col", mechanisms={"col": LinearGaussian({"row": 0.5}, std=0.3)})
    batch = world.sample(20, seed=0)
    values = {name: batch.factor(name) for name in world.factor_names}
    noise = world.scm.abduct({"level": values["level"], "row": values["row"], "col": values["col"]},
                             nodes=["level"])
    np.testing.assert_allclose(noise["level"], batch.noise["level"])  # continuous, in range: exact
    again = pickle.loads(pickle.dumps(Bars()))
    np.testing.assert_array_equal(again.sample(3, seed=1).images, Bars().sample(3, seed=1).images)


def test_sample_interventions_are_recorded_so_counterfactuals_keep_them(Bars):
    from latentscm.interventions import Do, Shift

    world = Bars(graph="row -> col", mechanisms={"col": LinearGaussian({"row": 1.0}, bias=0.0, std=0.3)})
    batch = world.sample(6, seed=0, interventions={"col": 3.0})
    assert [r.name for r in batch.regimes] == ["interventions"]
    assert isinstance(batch.regimes[0].interventions["col"], Do) and batch.targets[:, 1].all()
    cf = world.counterfactual(batch, {"row": 6.0})  # the unit lived under do(col=3): col stays 3
    np.testing.assert_array_equal(cf.factor("col"), 3.0)
    np.testing.assert_array_equal(cf.factor("row"), 6.0)
    soft = world.sample(6, seed=0, interventions={"col": Shift(2.0)})
    cf = world.counterfactual(soft, {"row": 1.0})  # the shift stays in place: col = snap(1 + u + 2)
    np.testing.assert_array_equal(cf.factor("col"), world.spec("col").snap(3.0 + soft.noise["col"]))
    with pytest.raises(ValueError, match="intervention on 'col'.*must be scalar"):
        world.sample(3, seed=0, interventions={"col": Do(np.array([1.0, 2.0, 3.0]))})


def test_soft_intervention_on_a_factor_is_snapped_before_its_children(Bars):
    from latentscm.interventions import Shift

    world = Bars(graph="row -> col", mechanisms={"col": LinearGaussian({"row": 2.0}, bias=0.0, std=0.0001)})
    snap = world.spec("col").snap
    batch = world.sample(400, seed=1, interventions={"row": Shift(0.45)})
    np.testing.assert_array_equal(batch.factor("col"), snap(2 * batch.factor("row") + batch.noise["col"]))
    base = world.sample(50, seed=0)
    cf = world.counterfactual(base, {"row": Shift(0.45)})
    np.testing.assert_array_equal(cf.factor("col"), snap(2 * cf.factor("row") + base.noise["col"]))
    ranged = Bars(graph="level -> col", mechanisms={"col": LinearGaussian({"level": 5.0}, bias=0.0, std=0.0001)})
    base = ranged.sample(20, seed=0)
    cf = ranged.counterfactual(base, {"level": Shift(1.0)})  # level clipped to 1: col = snap(5 * 1 + u)
    np.testing.assert_array_equal(cf.factor("level"), 1.0)
    np.testing.assert_array_equal(cf.factor("col"), ranged.spec("col").snap(5.0 + base.noise["col"]))


def test_counterfactual_and_render_name_bad_batches_and_seeds(Bars):
    from latentscm.worlds import make

    batch = Bars().sample(3, seed=0)
    other = make("sprites", size=16).sample(3, seed=0)  # five factors, other names
    with pytest.raises(ValueError, match="'batch' given to counterfactual has factors \\['shape'"):
        Bars().counterfactual(other, {"row": 1.0})
    with pytest.raises(ValueError, match=r"'render_seeds' must be integers of shape \(N,\) = \(3,\)"):
        Bars().render(batch.factors, render_seeds=np.array([1, 2]))
    with pytest.raises(ValueError, match="'render_seeds'.*float64"):
        Bars().render(batch.factors, render_seeds=np.zeros(3))


def test_grid_factors_names_a_bad_range(Grid):
    world = Grid()
    for start, stop, error in ((-3, None, ValueError), (5, 2, ValueError), (129, None, ValueError),
                               (1.7, 4, TypeError)):
        with pytest.raises(error, match="'start'|'stop'"):
            world.grid_factors(start, stop)
    assert world.grid_factors(128).shape == (0, 3) and world.grid_factors(120, 500).shape == (8, 3)


def test_concatenate_merges_only_the_same_regime():
    from latentscm.worlds import make

    scales = np.linspace(0.5, 1.0, 6)
    world = make("sprites", size=16, graph="shape -> scale",
                 mechanisms={"scale": Categorical(np.full((3, 6), 1 / 6), scales, [np.arange(3.0)], ["shape"])})
    a = world.environments(1, 100, seed=0, strength=2.0).batch
    b = world.environments(1, 100, seed=1, strength=2.0).batch
    # two environments' regimes: the same name and structure, other mechanism tables
    assert a.regimes[0].name == b.regimes[0].name and a.regimes[0] is not b.regimes[0]
    joined = Batch.concatenate([a, b])
    assert len(joined.regimes) == 2
    np.testing.assert_array_equal(world.counterfactual(joined, {"shape": 1.0}).factors[100:],
                                  world.counterfactual(b, {"shape": 1.0}).factors)
    same = Batch.concatenate([a[:50], a[50:], world.sample(5, seed=0), world.sample(5, seed=1)])
    assert len(same.regimes) == 2  # the same regime twice, and observational twice, merge


@pytest.mark.parametrize("grid", [[0.0, 1.0, 1.0], [1.0, 0.0], [0.0, np.nan]])
def test_factor_grid_is_strictly_increasing_and_finite(grid):
    """Regression: a repeated grid value was accepted (one state under two indices, which a
    Categorical default root then refuses only later, far from the factor)."""
    from latentscm.worlds.base import FactorSpec

    with pytest.raises(ValueError, match="grid of factor 'a' must be"):
        FactorSpec("a", values=grid)
