"""Review s29c: defects found in threshold_to_dag, dagma_acyclicity, the DAGMA domain checks and DAGMA-MLP's path."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery.dagma import _Stage, dagma_acyclicity
from latentscm.discovery.dagma_mlp import dagma_mlp
from latentscm.discovery.notears import threshold_to_dag
from latentscm.testing.nonlinear_sem import simulate_nonlinear_sem


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_threshold_to_dag_refuses_non_finite_weights(bad: float) -> None:
    # |NaN| >= threshold is False: a diverged fit's NaN weight used to become "no edge" silently.
    w = np.array([[0.0, bad, 0.0], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match=r"non-finite.*W\['a', 'b'\]"):
        threshold_to_dag(w, 0.3, ["a", "b", "c"])


def test_threshold_to_dag_still_thresholds_finite_weights() -> None:
    w = np.array([[0.0, 0.9, 0.1], [0.4, 0.0, 0.0], [0.0, 0.0, 0.0]])
    out, removed = threshold_to_dag(w, 0.3, ["a", "b", "c"])
    np.testing.assert_array_equal(out, [[0.0, 0.9, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert removed == [["b", "a", 0.4]]


@pytest.mark.parametrize("s", [0.0, -1.0])
def test_dagma_acyclicity_refuses_non_positive_s(s: float) -> None:
    # Used to report "W is outside the domain" (or return log of a negative s) instead of naming s.
    with pytest.raises(ValueError, match="'s' parameter of dagma_acyclicity"):
        dagma_acyclicity(np.zeros((2, 2)), s)


@pytest.mark.parametrize("weights", [np.zeros(3), np.zeros((2, 3)), np.array([[0.0, np.nan], [0.0, 0.0]])])
def test_dagma_acyclicity_refuses_non_square_or_non_finite_weights(weights: np.ndarray) -> None:
    # A 1-D (3,) array used to broadcast to a 3 x 3 "W" and return h = 0 silently.
    with pytest.raises(ValueError, match="'weights' argument of dagma_acyclicity"):
        dagma_acyclicity(weights, 1.0)


def test_dagma_stage_domain_check_tolerates_rounding_of_exact_zeros() -> None:
    # A DAG W is inside every domain, but LU returns -1e-16 for some zeros of (I - W o W)^{-1}; the stage's strict
    # check called it outside (restarting the stage with a larger s) while dagma_acyclicity accepted it.
    w = np.array([[0.0, -0.54, -0.23, 0.0, 0.0], [0.0, 0.0, -0.55, 0.0, 0.0], [0.0, 0.0, 0.0, 0.79, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -0.85, 0.82, 0.0]])
    if np.linalg.inv(np.eye(5) - w * w).min() >= 0:
        pytest.skip("this LAPACK returns exact zeros here; nothing to tolerate")
    assert dagma_acyclicity(w, 1.0)[0] == pytest.approx(0.0, abs=1e-12)
    assert _Stage(None, 0.0, 5)._inverse(w, 1.0) is not None


def test_dagma_mlp_falling_s_schedule_moves_s_up_like_dagma_linear() -> None:
    # With s falling along the path, the warm start can lie outside the next stage's domain; every restart then
    # failed at its first step and the fit died with RuntimeError after ~30 learning-rate halvings.
    x = simulate_nonlinear_sem(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), "mim", 100, 0)
    graph = dagma_mlp(x, s=(1.0, 0.001), n_stages=2, warm_steps=300, final_steps=50, lambda1=0.0, lr=1e-2, seed=0)
    s_used = graph.info["s_used"]
    assert s_used[0] == 1.0
    assert 0.001 < s_used[1] <= 1.0
    assert np.isfinite(graph.info["h_final"])


def test_array_valued_schedule_betas_and_hidden_are_accepted() -> None:
    # A 1-D numpy array is "a sequence" to a user; it used to be refused as "must be ... a non-empty sequence".
    from latentscm.discovery.dagma import dagma_linear
    from latentscm.discovery.notears_mlp import notears_mlp

    x = np.random.default_rng(0).normal(size=(30, 3))
    kwargs = {"warm_steps": 5, "final_steps": 5, "n_stages": 2}
    by_array = dagma_linear(x, s=np.array([1.0, 0.9]), betas=np.array([0.9, 0.99]), **kwargs)
    by_list = dagma_linear(x, s=[1.0, 0.9], betas=[0.9, 0.99], **kwargs)
    assert by_array.info["weights_raw"] == by_list.info["weights_raw"]
    assert by_array.info["s_used"] == [1.0, 0.9]
    assert notears_mlp(x, hidden=np.array([4]), max_iter=1).info["hidden"] == [4]
    assert dagma_mlp(x, hidden=np.array([4]), n_stages=1, warm_steps=5, final_steps=5).info["hidden"] == [4]
    with pytest.raises(ValueError, match="integers >= 1"):
        notears_mlp(x, hidden=np.array([4.5]), max_iter=1)


def _chain_data() -> np.ndarray:
    return simulate_nonlinear_sem(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), "mim", 100, 0)


def test_dagma_linear_last_step_cannot_leave_the_domain() -> None:
    # The domain was checked before each step, not after the last: a stage could return W outside its own domain
    # (then h_final was NaN and the next stage restarted with a larger s).
    from latentscm.discovery.dagma import dagma_linear

    graph = dagma_linear(_chain_data(), n_stages=1, final_steps=1, lr=0.6, lambda1=0.0, s=0.3)
    w = np.array(graph.info["weights_raw"])
    assert np.all(np.linalg.inv(0.3 * np.eye(3) - w * w) >= -1e-12)
    assert np.isfinite(graph.info["h_final"])
    assert graph.info["lr_halvings"] >= 1


def test_dagma_mlp_last_step_cannot_leave_the_domain() -> None:
    graph = dagma_mlp(_chain_data(), n_stages=1, final_steps=1, lr=0.3, lambda1=0.0, s=0.3, seed=0)
    w = np.array(graph.info["weights_raw"])
    assert np.all(np.linalg.inv(0.3 * np.eye(3) - w * w) >= -1e-12)
    assert np.isfinite(graph.info["h_final"])
    assert graph.info["restarts"][0] >= 1


def test_notears_mlp_reports_failed_lbfgsb_solves_on_badly_scaled_data() -> None:
    # At scale 1e6 L-BFGS-B ends a sub-problem with ABNORMAL_TERMINATION_IN_LNSRCH; that was dropped silently.
    from latentscm.discovery.notears_mlp import notears_mlp

    x = _chain_data()
    assert notears_mlp(x * 1e6, max_iter=2, seed=0).info["n_failed_solves"] >= 1
    assert notears_mlp(x, max_iter=2, seed=0).info["n_failed_solves"] == 0
