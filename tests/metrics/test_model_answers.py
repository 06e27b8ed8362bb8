"""Bad answers of a model are refused with a clear error, and a pooled ACF is scored whenever it is defined
(session 26 review)."""

import numpy as np
import pytest

from latentscm.metrics.counterfactual import counterfactual_metrics
from latentscm.metrics.generator_fidelity import autocorrelation_distance
from latentscm.worlds import make


class Spoiled:
    """Answers its input, spoiled on the ``call``-th call (0-based) by ``spoil``."""

    def __init__(self, call, spoil):
        self.call, self.spoil, self.calls = call, spoil, 0

    def counterfactual(self, images, interventions):
        out = np.array(images, dtype=np.float32, copy=True)
        self.calls += 1
        return self.spoil(out) if self.calls - 1 == self.call else out


def _with_nan(images):
    images[0, 0, 0, 0] = np.nan
    return images


@pytest.fixture(scope="module")
def world():
    return make("pendulum", size=16)


# call 0: the null counterfactual; 1..4: one per factor; then reversibility and commutativity
@pytest.mark.parametrize("call", [0, 2, 6, 9])
def test_a_nan_answer_is_refused_not_scored_nan(world, call):
    with pytest.raises(ValueError, match="NaN or infinite"):
        counterfactual_metrics(Spoiled(call, _with_nan), world, n=3, seed=0, composition_steps=(1,))


def test_an_answer_of_another_shape_is_refused_naming_the_intervention(world):
    name = world.factor_names[0]
    with pytest.raises(ValueError, match=f"counterfactual \\({name}\\) has shape"):
        counterfactual_metrics(Spoiled(1, lambda images: images[:, :1]), world, n=3, seed=0)


def test_the_identity_model_still_scores_its_floor(world):
    result = counterfactual_metrics(Spoiled(-1, None), world, n=4, seed=0, composition_steps=(1, 2))
    assert result["cf.true_error"] == pytest.approx(result["cf.identity_error"])
    assert result["cf.composition.m2"] == 0.0 and result["cf.reversibility"] == 0.0


def _pooled_acf(series, max_lag):
    centred = series - series.mean(axis=1, keepdims=True)
    return np.stack([(centred[:, lag:] * centred[:, :-lag]).sum((0, 1)) / (centred ** 2).sum((0, 1))
                     for lag in range(1, max_lag + 1)])


def test_one_flat_series_among_several_keeps_the_pooled_acf_defined():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(5, 40, 2)).cumsum(1)
    generated = rng.normal(size=(5, 40, 2)).cumsum(1)
    generated[0, :, 1] = 3.0
    standard = (generated - real.reshape(-1, 2).mean(0)) / real.reshape(-1, 2).std(0)
    real_standard = (real - real.reshape(-1, 2).mean(0)) / real.reshape(-1, 2).std(0)
    expected = np.abs(_pooled_acf(real_standard, 4) - _pooled_acf(standard, 4)).mean()
    assert autocorrelation_distance(real, generated, max_lag=4) == pytest.approx(expected, abs=1e-12)


def test_a_variable_flat_in_every_series_is_still_refused():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(3, 30, 2))
    generated = rng.normal(size=(3, 30, 2))
    generated[:, :, 1] = np.array([1.0, 2.0, 3.0])[:, None]  # constant within each series, levels differ
    with pytest.raises(ValueError, match=r"variables \[1\] constant in every series"):
        autocorrelation_distance(real, generated, max_lag=3)


def test_a_single_real_time_step_is_named_as_such_not_as_constant_variables():
    with pytest.raises(ValueError, match="at least 2 time steps"):
        autocorrelation_distance(np.ones((1, 2)), np.random.default_rng(0).normal(size=(20, 2)), max_lag=1)
