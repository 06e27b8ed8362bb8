"""Targeting measures (TOC, RATE, the value of a treatment rule) against their definitions written out here, and
ConditionalEffects.rate / targeting / policy against the exact effects of an SCM."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.effects import (
    conditional_effects,
    policy_value,
    rank_weighted_effect,
    targeting_curve,
    true_conditional_effects,
)
from latentscm.testing.cate_scms import CATE_GRAPH, linear_cate_scm

V = ["X1", "X2", "X3"]


def _brute(score: np.ndarray, priority: np.ndarray, kind: str) -> float:
    """Yadlowsky et al.'s sums over j = 1..n: TOC(j/n) = mean of the j highest-priority scores - mean of all."""
    n = score.size
    ranked = score[np.argsort(-priority)]
    toc = np.array([ranked[:j].mean() - score.mean() for j in range(1, n + 1)])
    weights = np.ones(n) if kind == "autoc" else np.arange(1, n + 1) / n
    return float(np.mean(weights * toc))


def test_rate_is_the_sum_of_its_definition_and_ignores_the_order_among_ties():
    rng = np.random.default_rng(0)
    score, priority = rng.normal(size=60), rng.normal(size=60)
    for kind in ("autoc", "qini"):
        found = rank_weighted_effect(score, priority, kind=kind, n_bootstrap=20)
        assert found.estimate == pytest.approx(_brute(score, priority, kind), rel=1e-12)
    tied = np.repeat([3.0, 2.0, 1.0], 20)  # three levels of priority
    a = rank_weighted_effect(score, tied, n_bootstrap=20).estimate
    flipped = rank_weighted_effect(score[::-1].copy(), tied, n_bootstrap=20).estimate
    reordered = np.concatenate([score[:20][::-1], score[20:40][::-1], score[40:][::-1]])
    assert rank_weighted_effect(reordered, tied, n_bootstrap=20).estimate == pytest.approx(a, rel=1e-12)
    assert flipped != pytest.approx(a)  # a different assignment of scores to levels is a different RATE
    # within ties the scores are averaged: the brute sum over the tie-group means
    means = np.repeat([score[:20].mean(), score[20:40].mean(), score[40:].mean()], 20)
    assert a == pytest.approx(_brute(means, tied, "autoc"), rel=1e-12)


def test_rate_of_a_perfect_and_of_a_useless_priority():
    rng = np.random.default_rng(1)
    effect = rng.normal(size=4000)
    good = rank_weighted_effect(effect, effect, n_bootstrap=50, seed=1)
    assert good.estimate > 0.9 and good.p_value < 1e-10
    useless = rank_weighted_effect(effect + rng.normal(size=4000), rng.normal(size=4000), n_bootstrap=100, seed=2)
    assert abs(useless.estimate) < 4 * useless.std_error and useless.p_value > 0.001


def test_targeting_curve_points_and_errors():
    rng = np.random.default_rng(2)
    score, priority = rng.normal(size=100) + np.linspace(1, -1, 100), np.linspace(1, -1, 100)
    curve = targeting_curve(score, priority, fractions=[0.1, 0.5, 1.0], n_bootstrap=50, level=0.8)
    expected = [score[:10].mean() - score.mean(), score[:50].mean() - score.mean(), 0.0]
    np.testing.assert_allclose(curve.toc, expected, atol=1e-12)
    assert curve.std_error[-1] < 1e-12 and curve.std_error[0] > 0
    assert set(curve.to_dict()) >= {"fractions", "toc", "std_error", "ci_low", "ci_high", "level"}
    with pytest.raises(ValueError, match="'fractions' argument of targeting_curve"):
        targeting_curve(score, priority, fractions=[0.0, 0.5])


def test_policy_value_is_the_mean_net_gain():
    score = np.array([2.0, -1.0, 0.5, 3.0])
    priority = np.array([1.0, -1.0, 0.2, 0.3])
    out = policy_value(score, priority, threshold=0.25, cost=0.5)
    # treats rows 0 and 3: gain over none ((2 - .5) + (3 - .5)) / 4; over all -((-1 - .5) + (.5 - .5)) / 4
    assert out["treated_share"] == 0.5
    assert out["gain_vs_none"].estimate == pytest.approx(1.0)
    assert out["gain_vs_all"].estimate == pytest.approx(0.375)
    terms = np.array([1.5, 0.0, 0.0, 2.5])
    assert out["gain_vs_none"].std_error == pytest.approx(terms.std(ddof=1) / 2)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same length|one length"):
        rank_weighted_effect(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="'priority' argument of rank_weighted_effect holds values that are not"):
        rank_weighted_effect(np.zeros(5), np.array([0, 1, np.nan, 2, 3.0]))
    with pytest.raises(ValueError, match="'kind' parameter of rank_weighted_effect"):
        rank_weighted_effect(np.zeros(5), np.arange(5.0), kind="auc")
    with pytest.raises(TypeError, match="'threshold' parameter of policy_value"):
        policy_value(np.zeros(5), np.arange(5.0), threshold="high")


@pytest.fixture(scope="module")
def fitted():
    truth = true_conditional_effects(linear_cate_scm(), "T", "Y", n=3000, draws=2, seed=11)
    return truth, conditional_effects(truth.data, CATE_GRAPH, "T", "Y", modifiers=V, n_splits=5, seed=1)


def test_conditional_effects_rate_and_policy_cover_the_exact_values(fitted):
    truth, found = fitted
    rate = found.rate(n_bootstrap=100)
    exact = np.median([_brute(truth.cate[main], tau, "autoc") for main, tau in found._splits])
    assert rate.p_value < 1e-6 and abs(rate.estimate - exact) < 4 * rate.std_error
    policy = found.policy(threshold=0.5)
    gains = [np.mean((tau > 0.5) * (truth.cate[main] - 0.5)) for main, tau in found._splits]
    item = policy["gain_vs_none"]
    assert item.ci_low <= np.median(gains) <= item.ci_high and policy["cost"] == 0.5
    everyone = np.mean(truth.cate - 0.5)
    assert policy["gain_vs_all"].estimate == pytest.approx(item.estimate - everyone, abs=4 * item.std_error)


def test_conditional_effects_targeting_curve(fitted):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, found = fitted
    curve = found.targeting(fractions=[0.1, 0.5, 1.0], n_bootstrap=50)
    assert curve.toc[0] > curve.toc[1] > 0 and abs(curve.toc[2]) < 1e-12
    assert np.all(curve.ci_low <= curve.toc) and np.all(curve.toc <= curve.ci_high)
    ax = curve.plot()
    assert "fraction treated" in ax.get_xlabel()
    plt.close("all")
