"""LLC (Hyttinen, Eberhardt & Hoyer 2012): exact on population covariances, right on samples, honest about what the
experiments do not identify, and the LinearCyclicModel it returns."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from latentscm.discovery import gies
from latentscm.discovery.linear_cyclic_model import LinearCyclicModel
from latentscm.discovery.llc import _equations, _experimental_effects, llc, llc_from_covariances

NAMES = ("a", "b", "c", "d", "e")


def _cyclic_model() -> LinearCyclicModel:
    """a -> b <-> c (a 2-cycle b -> c -> b), c -> d, a -> d, d -> e, and a latent confounder a <-> e and b <-> d."""
    b = np.zeros((5, 5))
    b[0, 1], b[1, 2], b[2, 1], b[2, 3], b[0, 3], b[3, 4] = 0.8, -0.7, 0.5, 0.9, 0.4, -0.6
    sigma = np.diag([1.0, 1.5, 1.2, 0.8, 1.1])
    sigma[0, 4] = sigma[4, 0] = 0.5
    sigma[1, 3] = sigma[3, 1] = -0.4
    return LinearCyclicModel(NAMES, b, sigma)


def _single_experiments(d: int) -> list[list[int]]:
    return [[], *([k] for k in range(d))]


def _sample(model: LinearCyclicModel, experiments: list, n: int, variance: float = 2.0) -> tuple[np.ndarray, list]:
    rows, targets = [], []
    for k, target in enumerate(experiments):
        rows.append(model.sample(n, target, intervention_variance=variance, seed=100 + k))
        targets += [[model.nodes[v] for v in target]] * n
    return np.vstack(rows), targets


def test_population_covariances_give_the_model_exactly():
    truth = _cyclic_model()
    experiments = _single_experiments(5)
    covs = [truth.covariance(t, 1.5) for t in experiments]
    fitted = llc_from_covariances(covs, experiments, node_names=NAMES)
    np.testing.assert_allclose(fitted.direct_effects, truth.direct_effects, atol=1e-10)
    np.testing.assert_allclose(fitted.disturbance_covariance, truth.disturbance_covariance, atol=1e-10)
    assert fitted == truth and not fitted.is_acyclic
    assert set(fitted.edges()) == {"a --> b", "b --> c", "c --> b", "c --> d", "a --> d", "d --> e", "a <-> e",
                                   "b <-> d"}
    assert fitted.info["unidentified_edges"] == [] and fitted.info["pair_condition_missing"] == []


def test_experiments_on_pairs_of_variables_identify_it_too():
    """J of two variables each: every ordered pair (i, u) is separated by some experiment, so B is identified
    though no experiment intervenes on one variable alone; the disturbance covariance too (every pair is left
    alone together by some experiment of 5 variables)."""
    truth = _cyclic_model()
    experiments = [list(pair) for pair in itertools.combinations(range(5), 2)]
    covs = [truth.covariance(t, 0.7) for t in experiments]
    fitted = llc_from_covariances(covs, experiments, node_names=NAMES)
    np.testing.assert_allclose(fitted.direct_effects, truth.direct_effects, atol=1e-10)
    np.testing.assert_allclose(fitted.disturbance_covariance, truth.disturbance_covariance, atol=1e-10)


def test_a_missing_pair_leaves_its_column_unidentified_and_the_equations_rank_deficient():
    truth = _cyclic_model()
    experiments = [[], [0], [1], [2]]  # nothing intervenes on d or e
    covs = [truth.covariance(t) for t in experiments]
    fitted = llc_from_covariances(covs, experiments, node_names=NAMES)
    assert np.isnan(fitted.direct_effects[np.arange(5) != 3, 3]).all()  # the effects into d, from a, b, c and e
    assert "d --> a" in fitted.info["pair_condition_missing"] and "a --> d" not in fitted.info[
        "pair_condition_missing"]
    masks = np.zeros((4, 5), dtype=bool)
    for k, target in enumerate(experiments):
        masks[k, target] = True
    effects = _experimental_effects(covs, masks)
    for u in range(5):
        system, _ = _equations(effects, np.ones(4), u, 5)
        rank = np.linalg.matrix_rank(system, tol=1e-9) if system.size else 0
        assert rank < 4  # every column lacks d or e as a cause: the equations cannot pin it down
    rng = np.random.default_rng(0)  # a dense model (every effect non-zero): generically, no single effect of an
    dense_b = rng.uniform(0.2, 0.6, (5, 5)) * rng.choice([-1, 1], (5, 5))  # unidentified column is pinned down
    np.fill_diagonal(dense_b, 0.0)
    dense_b *= 0.5 / np.abs(np.linalg.eigvals(dense_b)).max()
    dense = LinearCyclicModel(NAMES, dense_b, np.eye(5) + 0.2)
    dense_effects = _experimental_effects([dense.covariance(t) for t in experiments], masks)
    for u in range(5):
        system = _equations(dense_effects, np.ones(4), u, 5)[0]
        null = np.linalg.svd(system)[2][np.linalg.matrix_rank(system, tol=1e-9):]  # the null space's basis
        assert np.linalg.norm(null, axis=0).min() > 1e-2  # it moves every effect into u: none is pinned down alone
    covs_full = [truth.covariance(t) for t in _single_experiments(5)]
    masks_full = np.vstack([np.zeros(5, dtype=bool), np.eye(5, dtype=bool)])
    effects_full = _experimental_effects(covs_full, masks_full)
    for u in range(5):  # and with the pair condition met they can
        assert np.linalg.matrix_rank(_equations(effects_full, np.ones(6), u, 5)[0], tol=1e-9) == 4
    assert len(fitted.info["unidentified_confounding"]) == 10  # all pairs: no column of B is known
    assert np.isnan(fitted.disturbance_covariance).all()  # every variable's incoming effects are unknown


def test_samples_give_the_true_edges_and_honest_standard_errors():
    truth = _cyclic_model()
    data, targets = _sample(truth, _single_experiments(5), 3000)
    fitted = llc(data, targets, node_names=NAMES, n_bootstrap=100, seed=0)
    assert fitted == truth, fitted.edges()
    off = ~np.eye(5, dtype=bool)
    z = np.abs(fitted.direct_effects - truth.direct_effects)[off] / fitted.standard_errors[off]
    assert z.max() < 4.5 and 0.3 < np.median(z) < 1.5  # errors of the size the bootstrap says
    zs = np.abs(fitted.disturbance_covariance - truth.disturbance_covariance) / fitted.disturbance_standard_errors
    assert zs.max() < 4.5
    assert fitted.info["experiment_sizes"] == [3000] * 6 and fitted.info["test"] == "bootstrap"
    p = np.array(fitted.info["p_direct"], dtype=float)
    assert np.isnan(np.diag(p)).all() and (p[truth.directed == 1] < 1e-6).all()


def test_bootstrap_is_seeded():
    truth = _cyclic_model()
    data, targets = _sample(truth, _single_experiments(5), 400)
    one, two = (llc(data, targets, n_bootstrap=20, seed=3, node_names=NAMES) for _ in range(2))
    np.testing.assert_array_equal(one.standard_errors, two.standard_errors)
    other = llc(data, targets, n_bootstrap=20, seed=4, node_names=NAMES)
    assert not np.array_equal(one.standard_errors, other.standard_errors)


def test_acyclic_unconfounded_data_agree_with_gies():
    rng = np.random.default_rng(5)
    b = np.triu(rng.uniform(0.5, 1.0, (5, 5)) * rng.choice([-1, 1], (5, 5)), 1) * (rng.random((5, 5)) < 0.5)
    truth = LinearCyclicModel(NAMES, b, np.diag(rng.uniform(0.5, 1.5, 5)))
    data, targets = _sample(truth, _single_experiments(5), 2000)
    fitted = llc(data, targets, node_names=NAMES, n_bootstrap=50)
    assert fitted.is_acyclic and not fitted.bidirected.any()
    found = gies(data, targets, node_names=NAMES)
    np.testing.assert_array_equal(fitted.to_causal_graph().adjacency, found.adjacency)
    np.testing.assert_array_equal(fitted.directed, (b != 0).astype(int))


def test_min_effect_and_the_untested_path():
    truth = _cyclic_model()
    data, targets = _sample(truth, _single_experiments(5), 2000)
    untested = llc(data, targets, n_bootstrap=0, node_names=NAMES)
    assert untested.standard_errors is None and untested.info["p_direct"] is None
    assert untested.directed.sum() == 20  # every sampled estimate is non-zero
    thresholded = llc(data, targets, n_bootstrap=0, min_effect=0.2, node_names=NAMES)
    assert thresholded == truth
    strict = llc(data, targets, n_bootstrap=30, min_effect=0.55, node_names=NAMES)
    assert set(strict.directed_edges) == {("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")}


def test_model_queries_and_round_trip():
    truth = _cyclic_model()
    cut = truth.total_effects(["a"])
    chain = LinearCyclicModel(("x", "y", "z"), [[0, 2.0, 0], [0, 0, -0.5], [0, 0, 0]], np.eye(3))
    np.testing.assert_allclose(chain.total_effects()[0], [1.0, 2.0, -1.0])
    assert chain.is_acyclic and list(chain.to_causal_graph().edges) == [("x", "y"), ("y", "z")]
    draws = truth.sample(200_000, ["c"], intervention_variance=3.0, seed=1)
    np.testing.assert_allclose(np.cov(draws, rowvar=False), truth.covariance(["c"], 3.0), atol=0.05)
    assert np.isclose(cut[0, 3], 0.8 * np.linalg.inv(np.eye(5) - truth.direct_effects)[1, 3]
                      + 0.4 * np.linalg.inv(np.eye(5) - truth.direct_effects)[3, 3])
    fitted = llc_from_covariances([truth.covariance(t) for t in [[], [0], [1], [2]]], [[], [0], [1], [2]],
                                  node_names=NAMES)
    back = LinearCyclicModel.from_dict(json.loads(fitted.to_json()))
    np.testing.assert_array_equal(np.isnan(back.direct_effects), np.isnan(fitted.direct_effects))
    assert back == fitted and back.info["unidentified_edges"] == fitted.info["unidentified_edges"]
    with pytest.raises(ValueError, match="directed cycle"):
        truth.to_causal_graph()
    confounded = LinearCyclicModel(("x", "y"), np.zeros((2, 2)), [[1.0, 0.3], [0.3, 1.0]])
    with pytest.raises(ValueError, match="x <-> y"):
        confounded.to_causal_graph()
    with pytest.raises(ValueError, match="not identified"):
        fitted.covariance()
    with pytest.raises(ValueError, match="'targets' argument names 'q'"):
        truth.covariance(["q"])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"direct_effects": np.ones((2, 2))}, "zero diagonal"),
    ({"direct_effects": np.zeros((3, 3))}, r"must be \(2, 2\)"),
    ({"disturbance_covariance": [[1.0, 0.2], [0.1, 1.0]]}, "symmetric"),
    ({"disturbance_covariance": [[-1.0, 0.0], [0.0, 1.0]]}, "non-negative variances"),
    ({"directed": [[0, 2], [0, 0]]}, "0/1"),
    ({"bidirected": [[0, 1], [0, 0]]}, "symmetric 0/1"),
    ({"nodes": "xy"}, "single string"),
])
def test_model_refuses_bad_fields(kwargs, match):
    fields = {"nodes": ("x", "y"), "direct_effects": np.zeros((2, 2)), "disturbance_covariance": np.eye(2)}
    with pytest.raises((ValueError, TypeError), match=match):
        LinearCyclicModel(**{**fields, **kwargs})


def test_bad_input_is_named():
    truth = _cyclic_model()
    data, targets = _sample(truth, _single_experiments(5), 50)
    with pytest.raises(ValueError, match="no experiment that intervenes"):
        llc(data, [[]] * len(data))
    fixed = data.copy()
    fixed[50:100, 0] = 3.0  # do(a = 3): one value, not randomised
    with pytest.raises(ValueError, match=r"'a' has variance 0"):
        llc(fixed, targets, node_names=NAMES)
    with pytest.raises(ValueError, match="intervenes on every variable"):
        llc(data, [list(NAMES)] * 50 + targets[50:], node_names=NAMES)
    with pytest.raises(ValueError, match="'n_bootstrap' parameter of llc must be 0"):
        llc(data, targets, n_bootstrap=1)
    with pytest.raises(ValueError, match="'alpha' parameter of llc"):
        llc(data, targets, alpha=0.0)
    with pytest.raises(ValueError, match="names 'q'"):
        llc(data, [["q"]] + targets[1:], node_names=NAMES)
    with pytest.raises(ValueError, match="has 1 rows"):
        llc(data, [["a", "b"]] + targets[1:], node_names=NAMES)
    with pytest.raises(ValueError, match="one target set per covariance"):
        llc_from_covariances([np.eye(5)], [[0], [1]])
    with pytest.raises(ValueError, match="entry 1 has shape"):
        llc_from_covariances([np.eye(5), np.eye(4)], [[0], [1]])


@pytest.mark.parametrize("d", [2, 3, 5, 6, 10, 20, 21, 35, 70])
def test_pair_condition_experiments_are_few_and_separate_every_pair(d):
    from math import comb

    from latentscm.discovery.llc import _identified_rows, pair_condition_experiments

    experiments = pair_condition_experiments(d)
    assert experiments[0] == ()
    m = len(experiments) - 1
    assert comb(m, m // 2) >= d and comb(m - 1, (m - 1) // 2) < d  # no fewer would do (Spencer's bound)
    masks = np.zeros((m + 1, d), dtype=bool)
    for k, target in enumerate(experiments):
        masks[k, list(target)] = True
    off = ~np.eye(d, dtype=bool)
    assert _identified_rows(masks)[off].all()
    assert not _identified_rows(masks[1:-1])[off].all()  # one experiment fewer breaks it


def test_planned_experiments_identify_the_model_with_fewer_experiments():
    from latentscm.discovery.llc import pair_condition_experiments

    truth = _cyclic_model()
    experiments = pair_condition_experiments(list(NAMES))
    assert len(experiments) == 1 + 4  # C(4, 2) = 6 >= 5 variables: 4 experiments instead of 5
    fitted = llc_from_covariances([truth.covariance(t) for t in experiments], experiments, node_names=NAMES)
    np.testing.assert_allclose(fitted.direct_effects, truth.direct_effects, atol=1e-10)
    np.testing.assert_allclose(fitted.disturbance_covariance, truth.disturbance_covariance, atol=1e-10)
    without = pair_condition_experiments(list(NAMES), observational=False)
    assert without == experiments[1:]
    with pytest.raises(ValueError, match="at least 2"):
        pair_condition_experiments(1)
    with pytest.raises(ValueError, match="repeats a name"):
        pair_condition_experiments(["a", "a"])
    with pytest.raises(TypeError, match="number of variables"):
        pair_condition_experiments("abc")


def _acyclic() -> LinearCyclicModel:
    """x -> y -> z and x -> z, no confounder."""
    b = np.zeros((3, 3))
    b[0, 1], b[1, 2], b[0, 2] = 1.5, -0.8, 0.4
    return LinearCyclicModel(("x", "y", "z"), b, np.diag([1.0, 0.5, 2.0]))


def test_an_acyclic_unconfounded_model_is_an_scm_with_the_same_distribution():
    model = _acyclic()
    scm = model.to_scm()
    values = scm.sample(200_000, seed=0)
    draws = np.column_stack([values[name] for name in model.nodes])
    np.testing.assert_allclose(np.cov(draws, rowvar=False), model.covariance(), atol=0.03)
    fixed = scm.do({"y": 2.0}).sample(50_000, seed=1)  # do(y = 2): z's mean is -0.8 * 2, x is untouched
    assert abs(fixed["z"].mean() - model.total_effects(["y"])[1, 2] * 2.0) < 0.03
    with pytest.raises(ValueError, match="directed cycle"):
        _cyclic_model().to_scm()


def test_corrections_adjust_all_tests_together():
    from latentscm.discovery.llc import _adjusted

    p_b = np.array([[np.nan, 0.001, 0.04], [0.02, np.nan, np.nan], [0.5, 0.01, np.nan]])
    p_s = np.array([[np.nan, 0.003, 0.2], [0.003, np.nan, 0.9], [0.2, 0.9, np.nan]])
    same_b, same_s = _adjusted(p_b, p_s, "none")
    assert same_b is p_b and same_s is p_s
    bonf_b, bonf_s = _adjusted(p_b, p_s, "bonferroni")  # 5 directed + 3 confounding tests
    np.testing.assert_allclose(bonf_b[0, 1], 0.008)
    np.testing.assert_allclose(bonf_s[0, 1], 0.024)
    assert np.isnan(bonf_b[1, 2]) and bonf_s[1, 2] == 1.0 and bonf_s[2, 1] == 1.0
    bh_b, bh_s = _adjusted(p_b, p_s, "bh")
    pooled = np.sort([0.001, 0.04, 0.02, 0.5, 0.01, 0.003, 0.2, 0.9])
    expected = np.minimum.accumulate((pooled * 8 / np.arange(1, 9))[::-1])[::-1]
    np.testing.assert_allclose(sorted(np.concatenate([bh_b[np.isfinite(bh_b)], bh_s[np.triu_indices(3, 1)]])),
                               expected)
    truth = _cyclic_model()
    data, targets = _sample(truth, _single_experiments(5), 300)
    plain = llc(data, targets, n_bootstrap=30, alpha=0.2, correction="none", node_names=NAMES)
    strict = llc(data, targets, n_bootstrap=30, alpha=0.2, node_names=NAMES)  # the default: Bonferroni
    assert (strict.directed <= plain.directed).all() and strict.directed.sum() < plain.directed.sum()
    assert strict.info["correction"] == "bonferroni" and plain.info["correction"] == "none"
    with pytest.raises(ValueError, match="'correction'"):
        llc(data, targets, correction="holm")


def test_counterfactuals_keep_each_units_disturbances_at_the_new_equilibrium():
    """A cyclic, confounded model with intercepts: the counterfactual of do(b = 2) is the fixed point of the
    equations with b's cut and every unit's own disturbances, found here by iterating them."""
    truth = _cyclic_model()
    rng = np.random.default_rng(3)
    disturbances = rng.multivariate_normal(np.zeros(5), truth.disturbance_covariance, 200) + [1.0, -2.0, 0.5, 0, 3]
    b = truth.direct_effects
    x = disturbances @ np.linalg.inv(np.eye(5) - b)  # the factual equilibrium, x = x B + e
    counterfactual = truth.counterfactual(x, {"b": 2.0})
    iterate = x.copy()
    for _ in range(300):  # B's spectral radius is below 1: the iteration settles
        iterate = iterate @ (b * (np.arange(5) != 1)) + np.where(np.arange(5) == 1, 2.0, disturbances)
    np.testing.assert_allclose(counterfactual, iterate, atol=1e-10)
    assert (counterfactual[:, 1] == 2.0).all() and np.allclose(counterfactual[:, 0], x[:, 0])  # a is upstream
    np.testing.assert_allclose(truth.counterfactual(x, {"c": x[0, 2]})[0], x[0])  # do(c = its own value): no change
    np.testing.assert_allclose(truth.counterfactual(x[0], {1: 2.0}), counterfactual[0])  # one unit, by position
    with pytest.raises(ValueError, match=r"must be \(n, 5\)"):
        truth.counterfactual(x[:, :3], {"b": 2.0})
    with pytest.raises(TypeError, match="non-empty mapping"):
        truth.counterfactual(x, {})
    with pytest.raises(ValueError, match="names 'q'"):
        truth.counterfactual(x, {"q": 1.0})


def test_counterfactuals_of_an_acyclic_model_are_its_scms():
    model = _acyclic()
    scm = model.to_scm()
    values = scm.sample(50, seed=0)
    ours = model.counterfactual(np.column_stack([values[n] for n in model.nodes]), {"y": -1.0})
    theirs = scm.counterfactual(values, {"y": -1.0})
    np.testing.assert_allclose(ours, np.column_stack([theirs[n] for n in model.nodes]), atol=1e-12)


def _chain() -> LinearCyclicModel:
    """a -> b -> c."""
    b = np.zeros((3, 3))
    b[0, 1], b[1, 2] = 0.9, -0.7
    return LinearCyclicModel(("a", "b", "c"), b, np.diag([1.0, 0.6, 0.8]))


def test_known_absent_edges_identify_what_the_experiments_alone_do_not():
    from latentscm.discovery import BackgroundKnowledge

    truth = _chain()
    experiments = [[], ["a"]]  # one experiment: only the effects of a are pinned down by the pair condition
    covs = [truth.covariance(t) for t in experiments]
    plain = llc_from_covariances(covs, experiments, node_names=truth.nodes)
    assert np.isnan(plain.direct_effects[~np.eye(3, dtype=bool)]).all()
    tiers = BackgroundKnowledge(tiers=[["a"], ["b"], ["c"]])  # no later node causes an earlier one
    fitted = llc_from_covariances(covs, experiments, knowledge=tiers, node_names=truth.nodes)
    np.testing.assert_allclose(fitted.direct_effects[:, :2], truth.direct_effects[:, :2], atol=1e-12)
    assert np.isnan(fitted.direct_effects[:2, 2]).all()  # into c: a -> c and b -> c, one equation for two
    assert fitted.info["forbidden"] == ["b --> a", "c --> a", "c --> b"] and fitted.info["knowledge"]
    assert fitted.info["unidentified_edges"] == ["a --> c", "b --> c"]
    # a rank-deficient column: a -> b <- c with c a root (a -> c, b -> c forbidden); a does not reach c, so the
    # effect of c on b is not identified but a's is (the null space moves c's alone: truncated SVD keeps a's exact)
    collider = np.zeros((3, 3))
    collider[0, 1], collider[2, 1] = 0.9, 0.5
    truth = LinearCyclicModel(("a", "b", "c"), collider, np.eye(3))
    covs = [truth.covariance(t) for t in experiments]
    root = BackgroundKnowledge(forbidden=[("a", "c"), ("b", "c")])
    partial = llc_from_covariances(covs, experiments, knowledge=root, node_names=truth.nodes)
    assert partial.direct_effects[0, 1] == pytest.approx(0.9, abs=1e-12) and np.isnan(partial.direct_effects[2, 1])
    assert (partial.direct_effects[:2, 2] == 0).all() and np.isnan(partial.direct_effects[1:, 0]).all()
    data, targets = _sample(truth, [[], [0]], 20000)
    sampled = llc(data, targets, knowledge=root, n_bootstrap=30, node_names=truth.nodes)
    assert sampled.direct_effects[0, 1] == pytest.approx(0.9, abs=0.03)  # consistent on samples too
    assert sampled.directed_edges == [("a", "b")]
    required = llc(data, targets, knowledge=BackgroundKnowledge(required=[("a", "b")], tiers=[["a"], ["b"], ["c"]]),
                   n_bootstrap=0, min_effect=5.0, node_names=truth.nodes)
    assert required.directed_edges == [("a", "b")]  # required: an edge whatever its test or size
    with pytest.raises(ValueError, match="names the node"):
        llc(data, targets, knowledge=BackgroundKnowledge(forbidden=[("a", "zz")]), node_names=truth.nodes)


def test_faithfulness_reads_absent_edges_from_zero_experimental_effects():
    truth = _chain()
    experiments = [[], ["a"], ["b"]]  # nothing intervenes on c: the effects into a and b are not identified
    covs = [truth.covariance(t) for t in experiments]
    plain = llc_from_covariances(covs, experiments, node_names=truth.nodes)
    assert np.isnan(plain.direct_effects[1:, 0]).all() and np.isnan(plain.direct_effects[[0, 2], 1]).all()
    fitted = llc_from_covariances(covs, experiments, faithfulness=True, node_names=truth.nodes)
    # do(b) leaves a alone (no effect: b -/-> a) and moves c (so c -/-> a either): the column of a is all zeros
    assert fitted.info["faithful_zeros"] == ["b --> a", "c --> a"]
    np.testing.assert_array_equal(fitted.direct_effects[:, 0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(fitted.direct_effects[:, 2], truth.direct_effects[:, 2], atol=1e-12)
    assert np.isnan(fitted.direct_effects[[0, 2], 1]).all()  # into b: still one equation for two effects
    data, targets = _sample(truth, [[], [0], [1]], 5000)
    sampled = llc(data, targets, faithfulness=True, n_bootstrap=30, node_names=truth.nodes)
    assert sampled.info["faithful_zeros"] == ["b --> a", "c --> a"] and sampled.info["faithfulness"]
    assert sampled.directed_edges == [("b", "c")]  # a -> b is not identified (NaN), so not an edge
    with pytest.raises(TypeError, match="'faithfulness' argument of llc"):
        llc(data, targets, faithfulness="yes", node_names=truth.nodes)
    with pytest.raises(ValueError, match="'faithfulness_alpha'"):
        llc(data, targets, faithfulness_alpha=1.0, node_names=truth.nodes)


@pytest.mark.parametrize("cyclic", [False, True])
def test_faithfulness_on_population_covariances_is_exact_where_it_identifies(cyclic):
    """Random d = 8 models, experiments on half the variables: without faithfulness nothing is identified (every
    column misses a pair); with it, a share is, and every identified effect is exact (no false zero)."""
    shares = []
    for seed in range(12):
        rng = np.random.default_rng([seed, int(cyclic)])
        b = (rng.random((8, 8)) < 0.25) * rng.uniform(0.3, 0.9, (8, 8)) * rng.choice([-1.0, 1.0], (8, 8))
        np.fill_diagonal(b, 0.0)
        b = b if cyclic else np.triu(b)
        radius = np.abs(np.linalg.eigvals(b)).max()
        b = b * (0.7 / radius) if radius > 0.7 else b
        sigma = np.diag(rng.uniform(0.5, 1.5, 8))
        sigma[0, 5] = sigma[5, 0] = 0.3 if cyclic else 0.0
        truth = LinearCyclicModel(tuple(f"v{i}" for i in range(8)), b, sigma)
        experiments = [[], [0], [1], [2], [3]]
        covs = [truth.covariance(t) for t in experiments]
        assert np.isnan(llc_from_covariances(covs, experiments).direct_effects[~np.eye(8, dtype=bool)]).all()
        fitted = llc_from_covariances(covs, experiments, faithfulness=True)
        known = ~np.isnan(fitted.direct_effects)
        np.testing.assert_allclose(fitted.direct_effects[known], b[known], atol=1e-9)
        shares.append((known.sum() - 8) / 56)
    assert 0.2 < np.mean(shares) < 1.0


def test_llc_on_codes_maps_factor_targets_to_latents_by_name():
    """A learner's codes: the world's factors reordered and rescaled per latent (identified up to scale), named
    after the factors; LLC with the world's regime targets finds the world's graph and no confounder."""
    from latentscm.discovery.codes import discover_from_codes
    from latentscm.worlds.ild_linear import ILDLinear
    from latentscm.worlds.regimes import single_node_regimes

    world = ILDLinear(latent_dim=5, n_domains=2, int_set=(0,), seed=3)
    factors = list(world.factor_names)
    # values from each factor's marginal: drawn over its whole range ("range"), an intervention pushes descendants
    # past their ranges, where the world clips them (275 of 9,000 rows of z3 here), which no linear model follows
    batch = world.sample(9000, seed=1, regime=single_node_regimes(world, source="marginal"), domain=0)
    order = [4, 2, 0, 3, 1]
    codes = batch.factors[:, order] * np.array([2.0, -0.5, 1.0, 3.0, -1.5]) + 7.0
    names = [factors[k] for k in order]
    found = discover_from_codes(codes, names, method="llc", targets=batch.targets, target_names=factors,
                                max_samples=9000, options={"n_bootstrap": 50})
    assert found.is_acyclic and not found.bidirected.any()
    assert sorted(found.to_causal_graph().edges) == sorted(world.graph.edges)
    assert found.info["alpha"] == 0.05 and found.info["experiment_sizes"][0] > 1000
    with pytest.raises(ValueError, match="'targets' parameter of discover_from_codes is for method='gies', 'enco' or"):
        discover_from_codes(codes, names, method="llc")


@pytest.mark.parametrize(("d", "bound", "count"), [(10, 4, 5), (10, 3, 8), (12, 4, 6), (30, 6, 10), (100, 10, 20),
                                                   (100, 1, 100), (5, 50, 4), (5, 2, 5)])
def test_bounded_experiments_separate_every_pair_within_the_bound(d, bound, count):
    from latentscm.discovery.llc import _identified_rows, pair_condition_experiments

    experiments = pair_condition_experiments(d, max_targets=bound, observational=False)
    assert len(experiments) == count and max(len(t) for t in experiments) <= bound
    masks = np.zeros((len(experiments), d), dtype=bool)
    for k, target in enumerate(experiments):
        masks[k, list(target)] = True
    assert _identified_rows(masks)[~np.eye(d, dtype=bool)].all()


def test_a_bounded_design_identifies_the_model():
    from latentscm.discovery.llc import pair_condition_experiments

    rng = np.random.default_rng(7)  # 12 variables, cycles and a confounder; 6 experiments of at most 4 targets
    b = (rng.random((12, 12)) < 0.2) * rng.uniform(0.3, 0.9, (12, 12)) * rng.choice([-1.0, 1.0], (12, 12))
    np.fill_diagonal(b, 0.0)
    b *= min(1.0, 0.7 / np.abs(np.linalg.eigvals(b)).max())
    sigma = np.eye(12)
    sigma[2, 9] = sigma[9, 2] = 0.4
    truth = LinearCyclicModel(tuple(f"v{i}" for i in range(12)), b, sigma)
    experiments = pair_condition_experiments(truth.nodes, max_targets=4)
    assert len(experiments) == 1 + 6 and max(len(t) for t in experiments) <= 4  # pairs of 6 experiments
    fitted = llc_from_covariances([truth.covariance(t) for t in experiments], experiments, node_names=truth.nodes)
    np.testing.assert_allclose(fitted.direct_effects, b, atol=1e-10)
    np.testing.assert_allclose(fitted.disturbance_covariance, sigma, atol=1e-10)
    with pytest.raises(ValueError, match="'max_targets'"):
        pair_condition_experiments(5, max_targets=0)
