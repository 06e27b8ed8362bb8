"""Domain-counterfactual metrics: an exact oracle scores 0, doing nothing scores the identity floor."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.metrics import domain_counterfactual_error, domain_counterfactual_soundness
from latentscm.scm import LinearGaussian
from latentscm.worlds import FactorSpec, World, make

LOW, HIGH = -60.0, 60.0


class Chain(World):
    """a -> b -> c, linear Gaussian; the 'image' is the factors rescaled to [0, 1], (1, 1, 3), so
    factors can be read back exactly."""

    name = "chain"

    def __init__(self):
        self.factor_specs = tuple(FactorSpec(n, low=LOW, high=HIGH) for n in "abc")
        self.image_shape = (1, 1, 3)
        self._init_structure("a -> b -> c", {"a": LinearGaussian(), "b": LinearGaussian([1.5]),
                                             "c": LinearGaussian([-1.0])})

    def _render(self, factors, render_seeds):
        return ((factors - LOW) / (HIGH - LOW)).astype(np.float32).reshape(-1, 1, 1, 3)

    def read_factors(self, images):
        return np.asarray(images, dtype=np.float64).reshape(-1, 3) * (HIGH - LOW) + LOW


class Oracle:
    """Exact domain counterfactuals from observations alone: read the factors, abduct the noise
    under the source domain's mechanisms, predict under the target's."""

    def __init__(self, world):
        self.world = world

    def domain_counterfactual(self, x, source, target):
        world = self.world
        values = dict(zip(world.factor_names, world.read_factors(x).T))
        noise = world._regime_scm(world._domain_regimes[source], {}).abduct(values)
        moved = world._regime_scm(world._domain_regimes[target], {}).evaluate(noise)
        return world.render(world._factors_from(moved))


def do_nothing(x, source, target):
    return x.copy()


@pytest.fixture(scope="module")
def chain():
    return Chain().with_domains({"n_domains": 3, "shifted": ["b"], "strength": 0.8, "seed": 0})


def test_exact_oracle_scores_zero(chain):
    result = domain_counterfactual_error(Oracle(chain), chain, n=64)
    assert result["dcf.identity"] > 1e-4
    assert result["dcf.normalised"] < 1e-8 and result["dcf.error"] < 1e-12
    assert set(k for k in result if k.startswith("dcf.error.")) == {f"dcf.error.{s}->{t}" for s in range(3)
                                                                    for t in range(3) if s != t}
    sound = domain_counterfactual_soundness(Oracle(chain), chain, n=64)
    for key in ("dcf.effectiveness", "dcf.preservation", "dcf.reversibility", "dcf.composition.m1",
                "dcf.composition.m10", "dcf.reader_error"):
        assert sound[key] < 1e-6, key  # float32 observations: factors read back to ~1e-7 of the range


def test_do_nothing_scores_the_floor_and_fails_effectiveness_only(chain):
    result = domain_counterfactual_error(do_nothing, chain, n=64)
    assert result["dcf.normalised"] == pytest.approx(1.0)
    sound = domain_counterfactual_soundness(do_nothing, chain, n=64)
    assert sound["dcf.effectiveness"] > 0.01 and sound["dcf.effectiveness.b"] > 0.01
    assert sound["dcf.preservation"] < 1e-6 and sound["dcf.preservation.a"] < 1e-6  # float32 read-back
    assert sound["dcf.reversibility"] == 0.0 and sound["dcf.composition.m10"] == 0.0


def test_a_model_that_goes_to_the_wrong_domain_is_between(chain):
    oracle = Oracle(chain)

    def wrong(x, source, target):  # moves to the third domain instead
        return x.copy() if source == target else oracle.domain_counterfactual(x, source, 3 - source - target)

    result = domain_counterfactual_error(wrong, chain, n=64)
    assert 0.05 < result["dcf.normalised"]
    sound = domain_counterfactual_soundness(wrong, chain, n=64)
    assert sound["dcf.preservation"] < 1e-6 and sound["dcf.effectiveness"] > 0.01


def test_image_world_with_a_given_reader(chain):
    world = make("flow", size=16, grid=False, domains={"n_domains": 2, "shifted": ["water_height"]})
    result = domain_counterfactual_error(do_nothing, world, n=16, distance="l1")
    assert result["dcf.normalised"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="read_factors"):
        domain_counterfactual_soundness(do_nothing, world, n=8)


def test_bad_input_is_named(chain):
    with pytest.raises(ValueError, match="without domains"):
        domain_counterfactual_error(do_nothing, Chain(), n=8)
    with pytest.raises(ValueError, match="'distance'"):
        domain_counterfactual_error(do_nothing, chain, n=8, distance="cosine")
    with pytest.raises(ValueError, match="out of range"):
        domain_counterfactual_error(do_nothing, chain, n=8, pairs=[(0, 5)])
    with pytest.raises(ValueError, match="distinct"):
        domain_counterfactual_error(do_nothing, chain, n=8, pairs=[(1, 1)])
    with pytest.raises(TypeError, match="domain_counterfactual"):
        domain_counterfactual_error(object(), chain, n=8)
    with pytest.raises(ValueError, match="shape"):
        domain_counterfactual_error(lambda x, s, t: x[:, :, :, :2], chain, n=8)


def test_evaluate_says_a_multi_domain_world_is_scored_on_domain_0():
    from latentscm.metrics import evaluate
    from latentscm.worlds import DomainShift

    world = make("sprites", size=16)
    flatten = lambda x: np.asarray(x, dtype=np.float64).reshape(len(x), -1)[:, :8]  # noqa: E731
    assert not any("domain" in note for note in evaluate(flatten, world, suite=["mig"], n=50).notes)
    shifted = world.with_domains(DomainShift(2, shifted=("scale",)))
    notes = evaluate(flatten, shifted, suite=["mig"], n=50).notes
    assert any("2 domains" in note and "domain 0" in note for note in notes)


def test_a_group_without_factors_is_nan_not_a_perfect_zero():
    # shifting the root changes every factor of the chain: nothing is left to preserve
    world = Chain().with_domains({"n_domains": 2, "shifted": ["a"], "strength": 0.8, "seed": 0})
    sound = domain_counterfactual_soundness(do_nothing, world, n=16)
    assert np.isnan(sound["dcf.preservation"])
    assert not any(key.startswith("dcf.preservation.") for key in sound)
    assert sound["dcf.effectiveness"] > 0.01
