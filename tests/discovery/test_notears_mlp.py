"""NOTEARS-MLP (Zheng et al. 2020): the model's structure, the fit on the paper's nonlinear SEMs, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.optimize
import torch
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery import notears_linear, notears_mlp
from latentscm.discovery.locally_connected_mlp import LocallyConnectedMLP
from latentscm.discovery.notears_mlp import _Objective
from latentscm.metrics.graphs import _is_acyclic, shd
from latentscm.scm.random import random_dag
from latentscm.testing import simulate_nonlinear_sem


@pytest.mark.parametrize("hidden", [(10,), (6, 4)])
def test_each_network_reads_an_input_only_through_its_first_layer_column(hidden):
    # Proposition 3 of the paper: f_j does not depend on x_i when A_j[:, i] = 0 (here: the self-input column, fixed
    # at 0 by the bounds, and one column zeroed by hand); every other input moves f_j.
    d = 4
    model = LocallyConnectedMLP(d, hidden, split=True)
    flat = model.initial(np.random.default_rng(0))
    params = model.unpack(torch.as_tensor(flat))
    params[0][2, :, 1] = 0.0  # net of x2 reads x1 only through A+[2, :, 1] - A-[2, :, 1]
    params[1][2, :, 1] = 0.0
    x = torch.as_tensor(np.random.default_rng(1).normal(size=(50, d)))
    base = model.forward(params, x)
    for i in range(d):
        moved = x.clone()
        moved[:, i] += 1.0
        change = (model.forward(params, moved) - base).abs().max(dim=0).values
        for j in range(d):
            blind = i == j or (i, j) == (1, 2)
            assert (change[j] == 0) == blind, (i, j, float(change[j]))
    w = model.adjacency(torch.cat([p.reshape(-1) for p in params]).numpy())
    assert np.all(np.diag(w) == 0) and w[1, 2] == 0 and np.all(w[~np.eye(d, dtype=bool) & (np.arange(d)[:, None] != 1)]
                                                              > 0)


def test_bounds_fix_the_self_inputs_and_keep_the_split_nonnegative():
    model = LocallyConnectedMLP(3, (5,), split=True)
    bounds = model.bounds()
    assert len(bounds) == model.n_params == 2 * 3 * 5 * 3 + 3 * 5 + 3 * 5 * 1 + 3 * 1
    first = np.array(bounds[: 3 * 5 * 3], dtype=object).reshape(3, 5, 3, 2)
    for j in range(3):
        for i in range(3):
            assert all(tuple(b) == ((0.0, 0.0) if i == j else (0.0, None)) for b in first[j, :, i])
    assert all(b == (None, None) for b in bounds[2 * 45:])


def test_objective_gradient_matches_finite_differences():
    x = simulate_nonlinear_sem(np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]]), "mim", 40, 0)
    model = LocallyConnectedMLP(3, (4,), split=True)
    objective = _Objective(model, x - x.mean(0), lambda1=0.05, lambda2=0.02)
    flat = np.abs(model.initial(np.random.default_rng(3))) + 0.01
    error = scipy.optimize.check_grad(lambda f: objective(f, 10.0, 2.0)[0], lambda f: objective(f, 10.0, 2.0)[1],
                                      flat, epsilon=1e-7)
    assert error < 1e-4 * max(1.0, np.linalg.norm(objective(flat, 10.0, 2.0)[1]))


def test_recovers_a_nonlinear_dag_that_linear_notears_misses():
    # The paper's claim at a small scale: d = 6, index-model (mim) data, graph seed 3 (8 edges), n = 600.
    truth = random_dag(6, edge_prob=0.5, seed=3).adjacency
    x = simulate_nonlinear_sem(truth, "mim", 600, 1003)
    result = notears_mlp(x, seed=0)
    linear = notears_linear(x)
    assert shd(result.adjacency, truth) <= 2 < shd(linear.adjacency, truth) - 2
    assert result.info["converged"] and _is_acyclic(result.adjacency)
    w = np.asarray(result.info["weights"])
    assert np.array_equal(w != 0, result.adjacency != 0) and np.all(w >= 0)
    assert np.all(np.asarray(result.info["residual_mse"]) < x.var(axis=0) + 1e-9)


def test_seeded_and_deterministic_and_other_defaults_recorded():
    x = simulate_nonlinear_sem(np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]]), "mlp", 120, 5)
    # seeding is mechanics: one round of the augmented Lagrangian is enough to compare weights
    first = notears_mlp(x, seed=4, node_names=["a", "b", "c"], max_iter=1)
    again = notears_mlp(x, seed=np.random.default_rng(4), node_names=["a", "b", "c"], max_iter=1)
    assert first.info["weights_raw"] == again.info["weights_raw"]
    assert notears_mlp(x, seed=5, max_iter=1).info["weights_raw"] != first.info["weights_raw"]
    assert first.nodes == ("a", "b", "c")
    assert first.info["hidden"] == [10] and first.info["lambda1"] == 0.01 and first.info["lambda2"] == 0.01
    empty = notears_mlp(x, seed=4, w_threshold=1e6, max_iter=1)
    assert empty.adjacency.sum() == 0 and empty.info["weights_raw"] == first.info["weights_raw"]


def test_mapping_input_and_standardize():
    x = simulate_nonlinear_sem(np.array([[0, 1], [0, 0]]), "mim", 300, 8)
    by_name = notears_mlp({"u": x[:, 0], "v": x[:, 1]}, seed=1)
    assert by_name.nodes == ("u", "v")
    scaled = notears_mlp(x * [1.0, 1000.0], seed=1, standardize=True)
    plain = notears_mlp(x / x.std(axis=0), seed=1)
    # the same problem up to rounding (centring and scaling in the other order), which the optimiser amplifies
    np.testing.assert_allclose(scaled.info["weights_raw"], plain.info["weights_raw"], rtol=1e-2, atol=1e-3)
    assert np.array_equal(scaled.adjacency, plain.adjacency) and scaled.adjacency.sum() == 1


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"hidden": 0}, "'hidden' .* integers >= 1"),
    ({"hidden": ()}, "'hidden' .* non-empty"),
    ({"hidden": "10"}, "'hidden' .* non-empty"),
    ({"hidden": (10, 2.5)}, "'hidden' .* integers >= 1. Got 2.5"),
    ({"hidden": (True,)}, "'hidden' .* integers"),
    ({"lambda1": -0.1}, "lambda1"),
    ({"lambda2": -1}, "lambda2"),
    ({"w_threshold": -1}, "w_threshold"),
    ({"max_iter": 0}, "max_iter"),
    ({"h_tol": 0}, "h_tol"),
])
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        notears_mlp(np.random.default_rng(0).normal(size=(20, 3)), **kwargs)


def test_bad_data_is_named():
    with pytest.raises(ValueError, match="constant columns \\['X1'\\]"):
        notears_mlp(np.column_stack([np.arange(10.0), np.ones(10)]), standardize=True)
    with pytest.raises(TypeError, match="'standardize'"):
        notears_mlp(np.random.default_rng(0).normal(size=(10, 2)), standardize="yes")
    with pytest.raises(ValueError, match="NaN|finite"):
        notears_mlp(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 0.0], [2.0, 2.0]]))
    with pytest.raises(ValueError, match="at least 4 rows"):
        notears_mlp({"a": np.zeros(3), "b": np.ones(3)})


@pytest.mark.parametrize(("sem", "match"), [("quadratic", "'sem'"), ("mim", "cycle")])
def test_simulator_refuses_unknown_sems_and_cycles(sem, match):
    with pytest.raises(ValueError, match=match):
        simulate_nonlinear_sem(np.array([[0, 1], [1, 0]]), sem, 10, 0)


def test_simulator_follows_the_graph():
    # x1 depends on x0 only; x2 on nothing: changing the seed of nothing else, roots are standard normal.
    x = simulate_nonlinear_sem(np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]]), "gp-add", 2000, 0)
    assert abs(x[:, 0].std() - 1) < 0.05 and abs(x[:, 2].std() - 1) < 0.05
    assert abs(np.corrcoef(x[:, 0], x[:, 2])[0, 1]) < 0.06
    assert x[:, 1].var() > 1.1  # the GP draw adds variance to the unit noise


def test_cli_notears_mlp(tmp_path):
    truth = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    x = simulate_nonlinear_sem(truth, "mim", 400, 11)
    lines = ["a,b,c", *(",".join(f"{v:.6f}" for v in row) for row in x)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "notears_mlp", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    direct = notears_mlp(x, node_names=["a", "b", "c"], seed=0)
    assert graph["info"]["method"] == "notears_mlp"
    assert sorted(map(tuple, graph["directed"])) == sorted(direct.directed_edges) and direct.directed_edges
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "notears_mlp", "--alpha",
                                      "0.01", "--out", str(tmp_path / "bad.json")])
    assert result.exit_code == 2 and "--alpha would be ignored" in result.output
