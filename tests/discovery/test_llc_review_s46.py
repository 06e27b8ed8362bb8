"""Review of LLC (llc.py) and LinearCyclicModel: each test asserts the correct behaviour, so a failure is a defect.

Passing tests are independent checks of the math (the LLC equation, the disturbance covariance, identification by
the pair condition, correlated and multi-target interventions, bootstrap calibration, the experiment planner)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from latentscm.discovery.linear_cyclic_model import LinearCyclicModel
from latentscm.discovery.llc import (
    _experimental_effects,
    _identified_rows,
    _observed_pairs,
    llc,
    llc_from_covariances,
    pair_condition_experiments,
)


def _random_model(rng: np.random.Generator, d: int, density: float = 0.5) -> LinearCyclicModel:
    while True:
        b = rng.uniform(0.2, 0.9, (d, d)) * rng.choice([-1, 1], (d, d)) * (rng.random((d, d)) < density)
        np.fill_diagonal(b, 0.0)
        if np.abs(np.linalg.eigvals(b)).max() < 0.95:
            a = rng.normal(size=(d, d))
            sigma = a @ a.T / d + 0.3 * np.eye(d)
            return LinearCyclicModel(tuple(f"v{i}" for i in range(d)), b, sigma)


def _masks(experiments, d):
    masks = np.zeros((len(experiments), d), dtype=bool)
    for k, target in enumerate(experiments):
        masks[k, list(target)] = True
    return masks


def _small_model() -> LinearCyclicModel:
    b = np.zeros((3, 3))
    b[0, 1], b[1, 2], b[2, 1] = 0.8, 0.5, -0.4
    sigma = np.array([[1.0, 0.0, 0.4], [0.0, 1.0, 0.3], [0.4, 0.3, 1.0]])
    return LinearCyclicModel(("a", "b", "c"), b, sigma)


def _sample(model, experiments, n, seed=0):
    data = np.vstack([model.sample(n, t, seed=seed * 1000 + k) for k, t in enumerate(experiments)])
    targets = [list(t) for t in experiments for _ in range(n)]
    return data, targets


# ---------------------------------------------------------------- checks of the math (expected to pass)

def test_llc_equation_holds_for_the_models_own_experimental_effects():
    """t(i ~> u || J) = b(i -> u) + sum_{j in U \\ u} t(i ~> j || J) b(j -> u), with t from (I - B_J)^-1, and the
    regression of x_U on x_J in a population covariance is that t."""
    rng = np.random.default_rng(11)
    for _ in range(20):
        d = int(rng.integers(3, 7))
        model = _random_model(rng, d)
        b = model.direct_effects
        target = sorted(rng.choice(d, int(rng.integers(1, d)), replace=False).tolist())
        t = model.total_effects(target)
        passive = [v for v in range(d) if v not in target]
        for i in target:
            for u in passive:
                rhs = b[i, u] + sum(t[i, j] * b[j, u] for j in passive if j != u)
                assert np.isclose(t[i, u], rhs, atol=1e-12)
        mask = np.zeros((1, d), dtype=bool)
        mask[0, target] = True
        (_, _, regression), = _experimental_effects([model.covariance(target, 1.7)], mask)
        np.testing.assert_allclose(regression, t[np.ix_(target, passive)], atol=1e-10)


def test_population_recovery_on_random_multi_target_experiments_matches_the_pair_condition():
    """A column of B is exact when every (i, u) is separated, NaN otherwise; Sigma_e exact where reported and
    reported wherever both columns are known and some experiment leaves both alone."""
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(150):
        d = int(rng.integers(3, 6))
        experiments = [sorted(rng.choice(d, int(rng.integers(1, d)), replace=False).tolist())
                       for _ in range(int(rng.integers(2, 6)))]
        if rng.random() < 0.5:
            experiments.append([])
        model = _random_model(rng, d)
        covs = [model.covariance(t, float(rng.uniform(0.5, 2.0))) for t in experiments]
        fitted = llc_from_covariances(covs, experiments, node_names=model.nodes)
        masks = _masks(experiments, d)
        separated = _identified_rows(masks)
        known = np.zeros(d, dtype=bool)
        for u in range(d):
            if all(separated[i, u] for i in range(d) if i != u):
                known[u] = True
                checked += 1
                np.testing.assert_allclose(fitted.direct_effects[:, u], model.direct_effects[:, u], atol=1e-8)
            else:
                assert np.isnan(np.delete(fitted.direct_effects[:, u], u)).all()
        sigma = fitted.disturbance_covariance
        reported = ~np.isnan(sigma)
        np.testing.assert_allclose(sigma[reported], model.disturbance_covariance[reported], atol=1e-8)
        should = _observed_pairs(masks) & known[:, None] & known[None, :]
        assert np.array_equal(reported, should)
    assert checked > 100


def test_correlated_multi_target_interventions_still_give_the_model_exactly():
    """The intervened values need not be independent of each other (only of the disturbances): the regression of
    x_U on x_J still reads the experimental effects."""
    rng = np.random.default_rng(3)
    model = _random_model(rng, 6, density=0.4)
    experiments = pair_condition_experiments(6)
    covs = []
    for target in experiments:
        if not target:
            covs.append(model.covariance())
            continue
        mask = np.zeros(6, dtype=bool)
        mask[list(target)] = True
        a = rng.normal(size=(mask.sum(), mask.sum()))
        inner = np.zeros((6, 6))
        inner[np.ix_(~mask, ~mask)] = model.disturbance_covariance[np.ix_(~mask, ~mask)]
        inner[np.ix_(mask, mask)] = a @ a.T + 0.2 * np.eye(mask.sum())  # correlated interventions
        mix = model.total_effects(list(target)).T
        covs.append(mix @ inner @ mix.T)
    fitted = llc_from_covariances(covs, experiments, node_names=model.nodes)
    np.testing.assert_allclose(fitted.direct_effects, model.direct_effects, atol=1e-10)
    np.testing.assert_allclose(fitted.disturbance_covariance, model.disturbance_covariance, atol=1e-10)


def test_a_missing_pair_is_truly_unidentified():
    """Necessity: when (k, u) is never separated, B'[:, u] = B[:, u] + delta (e_k - B[:, k]) with
    e'_u = e_u - delta e_k gives the same covariance in every experiment, so b(k -> u) cannot be known."""
    b = np.zeros((4, 4))
    b[0, 1], b[1, 2], b[0, 2], b[2, 3], b[1, 3] = 0.7, -0.5, 0.4, 0.6, 0.3
    sigma = np.eye(4) + 0.2 * (np.ones((4, 4)) - np.eye(4))
    truth = LinearCyclicModel(tuple("abcd"), b, sigma)
    k, u, delta = 2, 3, 0.9
    b2 = b.copy()
    b2[:, u] += delta * (np.eye(4)[k] - b[:, k])
    a = np.eye(4)
    a[u, k] = -delta
    other = LinearCyclicModel(tuple("abcd"), b2, a @ sigma @ a.T)
    experiments = [[], [0], [1], [2, 3]]  # c is only intervened together with d
    for target in experiments:
        np.testing.assert_allclose(truth.covariance(target), other.covariance(target), atol=1e-12)
    fitted = llc_from_covariances([truth.covariance(t) for t in experiments], experiments, node_names=truth.nodes)
    assert np.isnan(fitted.direct_effects[[0, 1, 2], 3]).all() and "c --> d" in fitted.info["pair_condition_missing"]


def test_bootstrap_standard_errors_are_calibrated():
    """Coverage of +-1.96 SE normal intervals over 120 data sets (n_bootstrap = 50) is near 95%."""
    truth = _small_model()
    experiments = [[], [0], [1], [2]]
    off = ~np.eye(3, dtype=bool)
    upper = np.triu(np.ones((3, 3), dtype=bool))
    hits_b, hits_s = [], []
    for rep in range(120):
        data, targets = _sample(truth, experiments, 150, seed=rep)
        fitted = llc(data, targets, n_bootstrap=50, seed=rep, node_names=truth.nodes)
        z_b = (fitted.direct_effects - truth.direct_effects)[off] / fitted.standard_errors[off]
        z_s = ((fitted.disturbance_covariance - truth.disturbance_covariance)
               / fitted.disturbance_standard_errors)[upper]
        hits_b.append(np.abs(z_b) < 1.96)
        hits_s.append(np.abs(z_s) < 1.96)
    assert 0.90 < np.mean(hits_b) < 0.985, np.mean(hits_b, axis=0)
    assert 0.90 < np.mean(hits_s) < 0.985, np.mean(hits_s, axis=0)


@pytest.mark.parametrize("d", [2, 3, 4, 7, 11, 36, 127])
def test_pair_condition_experiments_form_a_minimal_completely_separating_system(d):
    from math import comb

    experiments = pair_condition_experiments(d, observational=False)
    m = len(experiments)
    assert comb(m, m // 2) >= d and (m == 1 or comb(m - 1, (m - 1) // 2) < d)  # Sperner: no fewer suffice
    masks = _masks(experiments, d)
    off = ~np.eye(d, dtype=bool)
    assert _identified_rows(masks)[off].all()
    assert masks.any(axis=1).all() and not masks.all(axis=1).any()  # every experiment usable by llc
    names = [f"n{i}" for i in range(d)]
    assert pair_condition_experiments(names, observational=False) == [tuple(names[i] for i in t)
                                                                      for t in experiments]


def test_llc_is_deterministic_and_independent_of_the_order_of_experiment_blocks():
    truth = _small_model()
    experiments = [[], [0], [1], [2]]
    data, targets = _sample(truth, experiments, 120)
    one = llc(data, targets, n_bootstrap=20, seed=5, node_names=truth.nodes)
    order = np.concatenate([np.arange(k * 120, (k + 1) * 120) for k in (3, 1, 0, 2)])
    two = llc(data[order], [targets[i] for i in order], n_bootstrap=20, seed=5, node_names=truth.nodes)
    np.testing.assert_array_equal(one.direct_effects, two.direct_effects)
    np.testing.assert_array_equal(one.standard_errors, two.standard_errors)


def test_json_round_trip_keeps_every_matrix():
    truth = _small_model()
    experiments = [[], [0], [1]]  # column a not identified: NaN entries
    data, targets = _sample(truth, experiments, 100)
    fitted = llc(data, targets, n_bootstrap=10, node_names=truth.nodes)
    assert np.isnan(fitted.direct_effects).any()
    back = LinearCyclicModel.from_dict(json.loads(fitted.to_json()))
    for name in ("direct_effects", "disturbance_covariance", "standard_errors", "disturbance_standard_errors",
                 "directed", "bidirected"):
        np.testing.assert_array_equal(getattr(back, name), getattr(fitted, name))


# ---------------------------------------------------------------- defects (each fails while the defect is there)

def test_bootstrap_on_a_small_experiment_gives_a_clear_error_or_a_result_not_a_linalg_crash():
    """llc accepts an experiment of 3 rows, but a bootstrap resample of it often repeats one row: the intervened
    block of its covariance is singular and np.linalg.solve raises 'Singular matrix' (LinAlgError)."""
    truth = _small_model()
    data = np.vstack([truth.sample(3, [0], seed=0), truth.sample(50, [1], seed=1), truth.sample(50, [2], seed=2)])
    targets = [[0]] * 3 + [[1]] * 50 + [[2]] * 50
    try:
        fitted = llc(data, targets, n_bootstrap=100, seed=0)
    except np.linalg.LinAlgError as error:
        pytest.fail(f"llc crashed inside numpy during the bootstrap: {error!r}")
    except ValueError as error:
        assert "rows" in str(error) or "bootstrap" in str(error)
    else:
        assert np.isfinite(fitted.standard_errors[~np.eye(3, dtype=bool)]).all()


def test_llc_from_covariances_refuses_one_string_as_node_names():
    """llc refuses node_names='abc'; llc_from_covariances silently splits it into ['a', 'b', 'c']."""
    truth = _small_model()
    experiments = [[0], [1], [2]]
    with pytest.raises((TypeError, ValueError), match="node_names"):
        llc_from_covariances([truth.covariance(t) for t in experiments], experiments, node_names="abc")


@pytest.mark.parametrize("names", [["a", "a", "b"], [1, 2, 3]])
def test_llc_from_covariances_names_its_own_node_names_argument(names):
    """Bad node names are reported only after the fit, as the 'nodes' argument of LinearCyclicModel."""
    truth = _small_model()
    experiments = [[0], [1], [2]]
    with pytest.raises((TypeError, ValueError), match="node_names"):
        llc_from_covariances([truth.covariance(t) for t in experiments], experiments, node_names=names)


@pytest.mark.parametrize("targets", [None, 3])
def test_llc_from_covariances_targets_that_are_not_a_sequence_are_named(targets):
    """len(targets) raised "object of type 'int' has no len()"."""
    truth = _small_model()
    covs = [truth.covariance(t) for t in ([0], [1], [2])]
    with pytest.raises((TypeError, ValueError), match="targets"):
        llc_from_covariances(covs, targets)


def test_llc_from_covariances_reads_a_generator_of_target_sets_as_its_list():
    truth = _small_model()
    covs = [truth.covariance(t) for t in ([0], [1], [2])]
    one = llc_from_covariances(covs, (t for t in ([0], [1], [2])))
    np.testing.assert_array_equal(one.direct_effects, llc_from_covariances(covs, [[0], [1], [2]]).direct_effects)


@pytest.mark.parametrize("sizes", [[1.0, 1.0, np.inf], ["a", "b", "c"]])
def test_llc_from_covariances_bad_sizes_are_named(sizes):
    """An infinite size passes the check and crashes in lstsq ('SVD did not converge'); text raises numpy's
    'could not convert string to float'."""
    truth = _small_model()
    experiments = [[0], [1], [2]]
    covs = [truth.covariance(t) for t in experiments]
    with pytest.raises((TypeError, ValueError), match="sizes"):
        llc_from_covariances(covs, experiments, sizes=sizes)


@pytest.mark.parametrize("covariances", [[[["x"] * 3] * 3] * 3, 5.0, None])
def test_llc_from_covariances_non_numeric_covariances_are_named(covariances):
    with pytest.raises((TypeError, ValueError), match="covariances"):
        llc_from_covariances(covariances, [[0], [1], [2]])


def test_llc_from_covariances_refuses_a_matrix_that_is_not_a_covariance():
    """A negative variance (here of a passive variable) is accepted and averaged into Sigma_e."""
    truth = _small_model()
    experiments = [[], [0], [1], [2]]
    covs = [truth.covariance(t) for t in experiments]
    covs[0] = -covs[0]
    with pytest.raises(ValueError, match="covariances"):
        llc_from_covariances(covs, experiments)


def test_model_refuses_an_infinite_disturbance_covariance():
    """direct_effects refuses inf but disturbance_covariance does not; to_json then writes inf as null, which
    from_dict reads back as NaN ('not identified')."""
    with pytest.raises(ValueError, match="disturbance_covariance"):
        LinearCyclicModel(("a", "b"), np.zeros((2, 2)), [[np.inf, 0.0], [0.0, 1.0]])


def test_model_sample_does_not_silently_change_a_non_psd_covariance():
    """Sigma_e = [[1, 2], [2, 1]] is accepted; sample clips the negative eigenvalue, so its draws do not have
    the covariance that covariance() reports. Either refuse (ValueError) or match."""
    model = LinearCyclicModel(("a", "b"), np.zeros((2, 2)), [[1.0, 2.0], [2.0, 1.0]])
    try:
        draws = model.sample(100_000, seed=0)
    except ValueError:
        return
    np.testing.assert_allclose(np.cov(draws, rowvar=False), model.covariance(), atol=0.05)


def test_model_refuses_negative_standard_errors():
    with pytest.raises(ValueError, match="standard_errors"):
        LinearCyclicModel(("a", "b"), np.zeros((2, 2)), np.eye(2), standard_errors=-np.ones((2, 2)))


@pytest.mark.parametrize(("call", "same_as", "match"), [
    (lambda m: m.covariance(None), lambda m: m.covariance(()), "targets"),
    (lambda m: m.total_effects(None), lambda m: m.total_effects(()), "targets"),
    (lambda m: m.covariance(["a"], "x"), None, "intervention_variance"),
])
def test_model_queries_name_a_bad_argument(call, same_as, match):
    """None (observational for llc's targets) raises "'NoneType' object is not iterable"; a text variance raises
    numpy's "ufunc 'isfinite' not supported". None may also mean the observational experiment, as in llc."""
    model = _small_model()
    try:
        result = call(model)
    except (TypeError, ValueError) as error:
        assert match in str(error), repr(error)
    else:
        assert same_as is not None
        np.testing.assert_allclose(result, same_as(model))


def test_to_dict_is_json_ready_as_documented():
    """to_dict says 'JSON-ready ... (NaN as null)' but keeps NaN floats and a numpy seed."""
    truth = _small_model()
    data, targets = _sample(truth, [[], [0], [1]], 60)
    fitted = llc(data, targets, n_bootstrap=5, seed=np.int64(2), node_names=truth.nodes)
    json.dumps(fitted.to_dict(), allow_nan=False)


def test_llc_with_an_unidentified_column_warns_nothing_from_numpy():
    """With a column of B unidentified, the bootstrap's nanstd over all-NaN draws emits numpy's RuntimeWarning
    'Degrees of freedom <= 0 for slice' (np.errstate does not silence warnings.warn)."""
    import warnings

    truth = _small_model()
    data, targets = _sample(truth, [[], [0], [1]], 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fitted = llc(data, targets, n_bootstrap=5, node_names=truth.nodes)
    assert np.isnan(fitted.standard_errors[:, 0][1:]).all()


def test_from_dict_names_a_malformed_matrix():
    with pytest.raises((TypeError, ValueError), match="direct_effects"):
        LinearCyclicModel.from_dict({"nodes": ["a", "b"], "direct_effects": [[0.0, 1.0], [0.0]],
                                     "disturbance_covariance": [[1.0, 0.0], [0.0, 1.0]]})
