"""DAGMA-MLP (Bello et al. 2022, nonlinear): the objective's terms, the central path's mechanics, and bad input.

Accuracy against the authors' package and NOTEARS-MLP is measured in benchmarks/bench_notears_mlp.py (minutes per
fit at the paper's step counts); the tests here run short paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentscm.discovery import dagma_mlp
from latentscm.discovery.dagma import dagma_acyclicity
from latentscm.discovery.dagma_mlp import _Path
from latentscm.discovery.locally_connected_mlp import LocallyConnectedMLP

SHORT = {"lr": 5e-3, "warm_steps": 1500, "final_steps": 2000, "checkpoint": 500}


def _data(n: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = 2.0 * np.sin(1.5 * a) + 0.3 * rng.normal(size=n)
    c = rng.normal(size=n)
    return np.column_stack([a, b, c])


def test_terms_are_the_log_mse_l1_and_the_log_det_of_w():
    x = _data(200)
    x = x - x.mean(axis=0)
    model = LocallyConnectedMLP(3, (5,), split=False)
    theta = model.initial(np.random.default_rng(1))
    path = _Path(model, x, lambda1=0.1, lambda2=0.0)
    fit, h, inside = path.terms(torch.as_tensor(theta), 5.0)
    params = model.unpack(torch.as_tensor(theta))
    residual = x - model.forward(params, torch.as_tensor(x)).numpy()
    expected_fit = 1.5 * np.log(np.sum(residual**2) / 200) + 0.1 * np.abs(params[0].numpy()).sum()
    assert inside and float(fit) == pytest.approx(expected_fit, rel=1e-12)
    assert float(h) == pytest.approx(dagma_acyclicity(model.adjacency(theta), 5.0)[0], rel=1e-10)


def test_finds_a_nonlinear_dependence_and_keeps_the_self_inputs_at_zero():
    result = dagma_mlp(_data(), node_names=["a", "b", "c"], seed=0, **SHORT)
    assert set(map(frozenset, result.directed_edges)) == {frozenset({"a", "b"})}
    w = np.asarray(result.info["weights_raw"])
    assert np.all(np.diag(w) == 0) and np.all(w >= 0)
    assert result.info["h_final"] < 1e-2 and len(result.info["steps"]) == 4


def test_seeded():
    """Seeding is mechanics, not accuracy: a short path (two checkpoints per stage) is enough to compare weights."""
    brief = {**SHORT, "warm_steps": 100, "final_steps": 100, "checkpoint": 50}
    first = dagma_mlp(_data(200), seed=3, **brief)
    assert dagma_mlp(_data(200), seed=np.random.default_rng(3), **brief).info["weights_raw"] == \
        first.info["weights_raw"]
    assert dagma_mlp(_data(200), seed=4, **brief).info["weights_raw"] != first.info["weights_raw"]


def test_a_stage_that_leaves_the_domain_restarts_with_a_smaller_rate():
    result = dagma_mlp(_data(200), seed=0, lr=1.0, warm_steps=200, final_steps=200)
    assert sum(result.info["restarts"]) > 0
    assert np.isfinite(result.info["h_final"])  # the final point lies inside the domain of h^1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"hidden": 0}, "'hidden'"),
    ({"lambda1": -1}, "lambda1"),
    ({"lambda2": -1}, "lambda2"),
    ({"s": 0}, "'s'"),
    ({"mu_factor": 2}, "mu_factor"),
    ({"lr": 0}, "'lr'"),
    ({"final_steps": 0}, "final_steps"),
])
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        dagma_mlp(_data(20), **kwargs)


def test_bad_data_is_named():
    x = _data(20)
    x[:, 1] = 3.0
    with pytest.raises(ValueError, match="constant columns \\['X1'\\]"):
        dagma_mlp(x)
    with pytest.raises(TypeError, match="'standardize'"):
        dagma_mlp(_data(20), standardize="no")
