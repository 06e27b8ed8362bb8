"""Regression tests of the second worlds review of session 23 (marginal RandomDo, domain shifts under
soft regimes, hidden mediators, concurrent generation, domain counterfactuals of loaded datasets)."""

import threading
import time

import numpy as np
import pytest

import latentscm.worlds as W
from latentscm.interventions import Shift
from latentscm.scm import AdditiveNoise, Normal
from latentscm.worlds import store
from latentscm.worlds.domains import DomainShift, domain_regimes
from latentscm.worlds.regimes import RandomDo, Regime


def _follow(parents):
    return parents[:, 0] + 1.6


def _through(parents):
    return parents[:, 0]


def _level_of(parents):
    return 0.2 + 0.1 * parents[:, 0]


def test_marginal_random_do_targets_are_drawn_independently():
    world = W.make("pendulum", size=16, grid=False, graph="pendulum_angle -> light_position",
                   mechanisms={"light_position": AdditiveNoise(_follow, Normal(0.0, 0.02),
                                                               parent_names=("pendulum_angle",))})
    regime = Regime("do(both)", {"pendulum_angle": RandomDo("marginal"), "light_position": RandomDo("marginal")})
    batch = world.sample(4000, seed=0, regime=regime)
    # each keeps its observational marginal, but the child no longer follows the intervened parent (was 0.999)
    assert abs(np.corrcoef(batch.factor("pendulum_angle"), batch.factor("light_position"))[0, 1]) < 0.1
    observational = world.sample(4000, seed=1)
    assert abs(batch.factor("light_position").mean() - observational.factor("light_position").mean()) < 0.02


def test_regime_shift_on_a_factor_a_domain_shifts_is_refused():
    world = W.make("hue-sprites", size=16, domains=DomainShift(2, ["hue"], kind="shift", strength=1.0, seed=2))
    regime = Regime("s", {"hue": Shift(0.01)})
    with pytest.raises(ValueError, match="'hue', which domain 1 also shifts"):
        world.sample(10, seed=0, domain=1, regime=regime)
    with pytest.raises(ValueError, match="'hue', which domain 1 also shifts"):
        world.sample(10, seed=0, domain=1, interventions={"hue": Shift(0.01)})
    with pytest.raises(ValueError, match="'hue', which domain 1 also shifts"):
        world.domain_counterfactual(world.sample(10, seed=0, domain=0, regime=regime), to_domain=1)
    # a hard intervention still overrides the domain's shift, and other factors may be shifted
    world.sample(10, seed=0, domain=1, interventions={"hue": 0.3, "scale": Shift(0.25)})


def test_graph_keeps_paths_through_hidden_mediators(Bars):
    world = Bars(graph="row -> h\nh -> level",
                 mechanisms={"h": AdditiveNoise(_through, Normal(0.0, 0.1), parent_names=("row",)),
                             "level": AdditiveNoise(_level_of, Normal(0.0, 0.01), parent_names=("h",))})
    assert world.graph.edges == (("row", "level"),)
    assert world.graph.nodes == ("row", "col", "level")
    # a hidden confounder adds no edge
    confounded = Bars(graph="h -> row\nh -> level",
                      mechanisms={"h": AdditiveNoise(None, Normal(0.0, 1.0)),
                                  "row": AdditiveNoise(_through, Normal(0.0, 1.0), parent_names=("h",)),
                                  "level": AdditiveNoise(_through, Normal(0.0, 1.0), parent_names=("h",))})
    assert confounded.graph.edges == ()


def test_generate_from_two_threads_of_one_process(Bars, tmp_path):
    world = Bars()
    render = world._render_checked

    def slow(factors, seeds):  # the two writers overlap
        time.sleep(0.02)
        return render(factors, seeds)

    world._render_checked = slow
    errors, results = [], []

    def run():
        try:
            results.append(store.generate(world, 1000, seed=0, root=tmp_path, chunk=100))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 2
    assert all(np.array_equal(result.factors, world.sample(1000, seed=0).factors) for result in results)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_orphaned_temporaries_with_a_call_token_are_removed(Bars, tmp_path):
    world = Bars()
    key, _ = store.dataset_key(world, 5, 0)
    prefix = f".tmp-{world.name}-{key[:16]}-"
    gone = tmp_path / f"{prefix}{store.host_tag()}-999999999~0123456789abcdef"
    gone.mkdir()
    store.generate(world, 5, seed=0, root=tmp_path)
    assert not gone.exists()


def test_domain_counterfactual_refuses_plain_regimes_of_other_domains(tmp_path):
    world = W.make("hue-sprites", size=16, domains=DomainShift(3, ["hue"], kind="shift", strength=1.0, seed=2))
    stored = store.generate(world, 60, seed=0, root=tmp_path, regime=list(domain_regimes(world, world.domains)))
    loaded = store.load(stored.path).batch(slice(None))
    with pytest.raises(ValueError, match="plain Regime"):
        world.domain_counterfactual(loaded, to_domain=0)  # kept domain 1's and 2's shifts before
    # rows of domain 0 (a plain regime is exactly the domain's there) and the generated batch still work
    exact = stored.batch(slice(None))
    rows = np.flatnonzero(loaded.domain == 0)
    assert np.array_equal(world.domain_counterfactual(loaded[rows], to_domain=2).factors,
                          world.domain_counterfactual(exact[rows], to_domain=2).factors)


def test_counterfactual_refuses_a_soft_change_of_a_plain_regimes_shift_in_another_domain(tmp_path):
    world = W.make("hue-sprites", size=16, domains=DomainShift(2, ["hue"], kind="shift", strength=1.0, seed=2))
    stored = store.generate(world, 40, seed=0, root=tmp_path, regime=list(domain_regimes(world, world.domains)))
    loaded = store.load(stored.path).batch(slice(None))
    with pytest.raises(ValueError, match="plain Regime, so its soft change of 'hue'"):
        world.counterfactual(loaded, {"hue": Shift(0.05)})  # replaced domain 1's shift before
    exact = stored.batch(slice(None))
    for interventions in ({"hue": 0.3}, {"shape": 0.0}):  # hard ones and other factors are unambiguous
        assert np.array_equal(world.counterfactual(loaded, interventions).factors,
                              world.counterfactual(exact, interventions).factors)


def test_damaged_regime_descriptions_get_a_clear_error():
    from latentscm.worlds.regimes import Regime, RegimeMixture

    for entry in ({"name": "r", "interventions": {"a": {"kind": "do"}}},
                  {"name": "r", "interventions": {"a": 3}}):
        with pytest.raises(ValueError, match="regime description"):
            Regime.from_description(entry)
    with pytest.raises(ValueError, match="regime mixture description"):
        RegimeMixture.from_description({"fractions": [1.0]})
    assert Regime.from_description({"name": "r", "interventions": {"a": {"kind": "do", "value": 2.0}}}) \
        .interventions["a"].value == 2.0
