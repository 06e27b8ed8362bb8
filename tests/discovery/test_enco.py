"""ENCO: the masked conditionals, the gradient estimators and optimiser, cycle breaking, recovery on continuous and
categorical data, partial interventions, seeding, and named bad input."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import torch

from latentscm.discovery import enco
from latentscm.discovery.enco import _ConfounderAdam, _graph_step, _MaskedAdam, acyclic_by_orientation
from latentscm.discovery.masked_conditionals import MaskedConditionals
from latentscm.interventions import Do
from latentscm.scm.random import random_discrete_scm, random_scm

FAST = dict(epochs=10, model_steps=200, graph_steps=60, n_graphs=40, hidden=32)


def _continuous(d: int, edge_prob: float, seed: int, *, mechanism: str = "linear", n_obs: int = 2000,
                n_int: int = 300, intervene=None):
    """Observational rows and, for each variable in ``intervene`` (default all), rows with it drawn from N(0, 2^2)."""
    scm = random_scm(d, edge_prob=edge_prob, mechanism=mechanism, seed=seed)
    nodes = list(scm.nodes)
    rng = np.random.default_rng(seed + 100)
    blocks, targets = [scm.sample(n_obs, seed=seed + 1)], [[]] * n_obs
    for k in range(d) if intervene is None else intervene:  # targets by position
        blocks.append(scm.do({nodes[k]: Do(rng.normal(0.0, 2.0, n_int))}).sample(n_int, seed=seed + 10 + k))
        targets += [[k]] * n_int
    data = np.column_stack([np.concatenate([b[name] for b in blocks]) for name in nodes])
    return data, targets, scm.graph.adjacency, nodes  # in scm.nodes order


# ----------------------------------------------------------------------------------- the networks
def test_masked_input_has_no_effect_and_the_mask_is_read_per_network():
    torch.manual_seed(0)
    model = MaskedConditionals(4, hidden=8, layers=2, likelihood="gaussian", generator=torch.Generator().manual_seed(1))
    x = torch.randn(5, 4, requires_grad=True)
    mask = torch.ones(5, 4, 4)
    mask[:, 2, 0] = 0.0  # network 2 does not read x0
    mask[:, :, 3] = 0.0  # nobody reads x3
    nll = model.nll(x, mask)
    assert nll.shape == (5, 4)
    grad = torch.autograd.grad(nll[:, 2].sum(), x)[0]
    assert torch.all(grad[:, 0] == 0) and torch.all(grad[:, 3] == 0)
    assert torch.any(grad[:, 1] != 0) and torch.any(grad[:, 2] != 0)  # its own target enters the likelihood
    other = torch.autograd.grad(model.nll(x, mask)[:, 1].sum(), x)[0]
    assert torch.any(other[:, 0] != 0)  # network 1 still reads x0


def test_gaussian_nll_is_the_normal_density():
    model = MaskedConditionals(2, hidden=4, layers=1, likelihood="gaussian", generator=torch.Generator().manual_seed(0))
    x = torch.randn(7, 2)
    mask = torch.zeros(7, 2, 2)
    out = model.forward(x, mask)
    expected = -torch.distributions.Normal(out[..., 0], torch.exp(0.5 * out[..., 1])).log_prob(x)
    torch.testing.assert_close(model.nll(x, mask), expected)


def test_categorical_states_beyond_a_variables_own_are_never_predicted():
    model = MaskedConditionals(3, hidden=8, layers=2, likelihood="categorical", categories=[2, 4, 3],
                               generator=torch.Generator().manual_seed(0))
    x = torch.tensor([[0, 3, 2], [1, 0, 0]])
    mask = torch.ones(2, 3, 3) - torch.eye(3)
    probs = torch.softmax(model.forward(x, mask).masked_fill(~model.valid_states, float("-inf")), dim=-1)
    assert torch.all(probs[:, 0, 2:] == 0) and torch.all(probs[:, 2, 3:] == 0)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 3))
    expected = -torch.log(probs[torch.arange(2)[:, None], torch.arange(3)[None, :], x])
    torch.testing.assert_close(model.nll(x, mask), expected)


# ----------------------------------------------------------------------------------- optimiser and estimators
def test_masked_adam_with_a_full_mask_is_adam():
    torch.manual_seed(0)
    ours = torch.zeros(3, 3)
    reference = torch.zeros(3, 3, requires_grad=True)
    optimiser = _MaskedAdam(ours, lr=0.1)
    adam = torch.optim.Adam([reference], lr=0.1)
    for _ in range(5):
        grad = torch.randn(3, 3)
        optimiser.step(grad, torch.ones(3, 3))
        reference.grad = grad.clone()
        adam.step()
    torch.testing.assert_close(ours, reference.detach())


def test_masked_adam_leaves_masked_entries_and_their_moments_alone():
    param = torch.zeros(2, 2)
    optimiser = _MaskedAdam(param, lr=0.1)
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.1]])
    optimiser.step(torch.ones(2, 2), mask)
    assert param[0, 1] == 0 and param[1, 0] == 0
    assert optimiser.steps.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    torch.testing.assert_close(param[1, 1], 0.1 * param[0, 0])  # the 0.1 scales the step


def test_graph_step_updates_only_what_an_intervention_informs():
    """gamma: every column but the intervened variable's; theta: row and column v only, antisymmetric."""
    d, v = 4, 1
    gen = torch.Generator().manual_seed(0)
    model = MaskedConditionals(d, hidden=8, layers=1, likelihood="gaussian", generator=gen).eval()
    gamma = torch.zeros(d, d, requires_grad=True)
    theta = torch.zeros(d, d)
    options = {"n_graphs": 30, "lambda_sparse": 0.004}
    off = 1.0 - torch.eye(d)
    _graph_step(model, torch.randn(64, d), v, gamma, theta, torch.optim.Adam([gamma], lr=0.02, betas=(0.9, 0.9)),
                _MaskedAdam(theta, 0.1), options, torch.zeros(d, d), off, gen)
    g = gamma.detach()
    assert torch.all(g[:, v] == 0) and torch.all(torch.diagonal(g) == 0)
    assert torch.count_nonzero(g * off) == d * (d - 1) - (d - 1)
    outside = [(i, j) for i in range(d) for j in range(d) if v not in (i, j)]
    assert all(theta[i, j] == 0 for i, j in outside)
    assert torch.count_nonzero(theta[v]) == d - 1
    torch.testing.assert_close(theta, -theta.T)


def test_graph_step_gradient_sign_follows_the_likelihood():
    """A child predicted from the intervened parent gains that edge and its orientation; the reverse loses."""
    d = 2
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    parent = rng.normal(0, 2, 4000)
    x = np.column_stack([parent, parent + 0.3 * rng.normal(size=4000)]).astype(np.float32)
    model = MaskedConditionals(d, hidden=16, layers=2, likelihood="gaussian", generator=gen)
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-3)
    data = torch.as_tensor(x)
    for _ in range(400):  # fit every parent set (each input kept with probability 1/2)
        rows = data[torch.randint(0, 4000, (128,), generator=gen)]
        mask = torch.bernoulli(torch.full((128, d, d), 0.5), generator=gen) * (1 - torch.eye(d))
        loss = model.nll(rows, mask).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    gamma = torch.zeros(d, d, requires_grad=True)
    theta = torch.zeros(d, d)
    adam = torch.optim.Adam([gamma], lr=0.02, betas=(0.9, 0.9))
    _graph_step(model, data[:256], 0, gamma, theta, adam, _MaskedAdam(theta, 0.1),
                {"n_graphs": 40, "lambda_sparse": 0.004}, torch.zeros(d, d), 1.0 - torch.eye(d), gen)
    assert gamma[0, 1] > 0 and theta[0, 1] > 0 and theta[1, 0] < 0
    assert gamma[1, 0] == 0  # x0 was intervened on: its parents are not scored


def test_confounder_adam_keeps_interventional_and_observational_updates_apart():
    param = torch.zeros(3, 3)
    optimiser = _ConfounderAdam(param, lr=0.1)
    grad = torch.full((3, 3), 0.5)
    optimiser.step(grad, 1)
    assert torch.all(param[:, 1] == 0)  # the intervened variable's parents: not scored
    assert torch.all(optimiser.updates[1, :, 0] == 0) and torch.all(optimiser.updates[[0, 2], :, 1] == 0)
    assert optimiser.updates[1, 0, 1] < 0 and optimiser.updates[0, 2, 0] < 0  # both kinds step, on their entries
    torch.testing.assert_close(optimiser.updates.sum(-1), param)
    first = param.clone()
    optimiser.step(-grad, 0)  # now row 0 is interventional, row 1 observational
    assert optimiser.steps[1, 2].tolist() == [1.0, 1.0] and optimiser.steps[0, 2].tolist() == [1.0, 1.0]
    assert optimiser.steps[1, 0].tolist() == [0.0, 1.0]  # column 0 was intervened on the second time
    assert torch.all(param[:, 0] == first[:, 0])
    torch.testing.assert_close(optimiser.updates.sum(-1), param)


def test_confounders_flags_a_hidden_common_cause_and_drops_its_edge():
    """a -> b -> c and a hidden u -> c, u -> e; every observed variable intervened on in turn."""
    rng = np.random.default_rng(0)

    def sample(n, do=None):
        u = rng.normal(size=n)
        a = rng.normal(0, 2, n) if do == 0 else rng.normal(size=n)
        b = rng.normal(0, 2, n) if do == 1 else 0.9 * a + rng.normal(size=n)
        c = rng.normal(0, 2, n) if do == 2 else 1.2 * u + 0.7 * b + 0.5 * rng.normal(size=n)
        e = rng.normal(0, 2, n) if do == 3 else -1.2 * u + 0.5 * rng.normal(size=n)
        return np.column_stack([a, b, c, e])

    data = np.concatenate([sample(3000)] + [sample(300, v) for v in range(4)])
    targets = [[]] * 3000 + [[v] for v in range(4) for _ in range(300)]
    result = enco(data, targets, confounders=True, node_names=list("abce"), seed=0, **FAST)
    assert result.info["confounded"] == [["c", "e"]]
    assert result.adjacency.tolist() == [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    score = np.asarray(result.info["confounder_score"])
    np.testing.assert_allclose(score, score.T)
    # without the option no confounder keys appear (a keys check: a one-epoch run is enough)
    plain = enco(data, targets, node_names=list("abce"), seed=0, epochs=1, model_steps=20, graph_steps=5, n_graphs=5,
                 hidden=8)
    assert "confounder_score" not in plain.info and "confounded" not in plain.info
    others = score[np.triu_indices(4, 1)]
    assert score[2, 3] >= 0.35 and np.sort(others)[-2] < 0.35


# ----------------------------------------------------------------------------------- cycles
def test_acyclic_by_orientation_removes_the_least_likely_edge_of_a_cycle():
    adjacency = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    orientation = np.full((3, 3), 0.5)
    orientation[0, 1], orientation[1, 0] = 0.9, 0.1
    orientation[1, 2], orientation[2, 1] = 0.8, 0.2
    orientation[2, 0], orientation[0, 2] = 0.6, 0.4
    result, removed, _ = acyclic_by_orientation(adjacency, orientation)
    assert removed == [(2, 0)]
    assert result.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]


@pytest.mark.parametrize("seed", range(4))
def test_acyclic_by_orientation_is_optimal_on_small_cycles_and_acyclic_on_large_ones(seed):
    rng = np.random.default_rng(seed)
    d = 6 if seed < 2 else 10
    adjacency = (rng.random((d, d)) < 0.5).astype(np.int64)
    np.fill_diagonal(adjacency, 0)
    orientation = rng.uniform(0.05, 0.95, (d, d))
    result, removed, _ = acyclic_by_orientation(adjacency, orientation)
    assert nx.is_directed_acyclic_graph(nx.DiGraph(result))
    assert np.all(result <= adjacency) and len(removed) == int(adjacency.sum() - result.sum())
    if d <= 7:  # one component at most 7 nodes: compare with every order of all nodes
        log_o = np.log(orientation + 1e-10)
        components = [sorted(c) for c in nx.strongly_connected_components(nx.DiGraph(adjacency)) if len(c) > 1]
        for nodes in components:
            best = max(sum(log_o[a, b] for a, b in itertools.combinations(p, 2)) for p in itertools.permutations(nodes))
            kept = result[np.ix_(nodes, nodes)]
            # what was kept is consistent with an order of the best score
            achieved = max(sum(log_o[nodes[a], nodes[b]] for a, b in itertools.combinations(p, 2))
                           for p in itertools.permutations(range(len(nodes)))
                           if all(list(p).index(i) < list(p).index(j) for i, j in zip(*np.nonzero(kept))))
            assert achieved == pytest.approx(best)


# ----------------------------------------------------------------------------------- recovery
def test_enco_recovers_a_linear_gaussian_dag():
    data, targets, truth, nodes = _continuous(6, 0.5, seed=1)
    result = enco(data, targets, seed=0, node_names=nodes, **FAST)
    assert result.nodes == tuple(nodes)
    assert np.array_equal(result.adjacency, truth), (result.adjacency, truth)
    assert result.info["intervened"] == nodes and result.info["removed_for_acyclicity"] == []
    probability = np.asarray(result.info["edge_probability"])
    assert probability[truth == 1].min() > 0.5 and probability[(truth == 0) & (truth.T == 0)].max() < 0.5


def test_enco_recovers_a_nonlinear_dag():
    data, targets, truth, nodes = _continuous(5, 0.6, seed=4, mechanism="nonlinear")
    result = enco(data, targets, seed=0, node_names=nodes, **FAST)
    assert np.array_equal(result.adjacency, truth), (result.adjacency, truth)


def test_enco_recovers_a_categorical_network():
    scm = random_discrete_scm(5, edge_prob=0.5, levels=3, concentration=0.3, seed=2)
    nodes = list(scm.nodes)
    blocks, targets = [scm.sample(3000, seed=0)], [[]] * 3000
    for k, name in enumerate(nodes):  # uniform over the states: a perfect intervention
        for state in range(3):
            blocks.append(scm.do({name: scm.states[name][state]}).sample(100, seed=50 + 3 * k + state))
            targets += [[name]] * 100
    data = np.concatenate(blocks)
    result = enco(data, targets, likelihood="categorical", seed=0, node_names=nodes, **FAST)
    assert np.array_equal(result.adjacency, scm.graph.adjacency), (result.adjacency, scm.graph.adjacency)


def test_partial_interventions_orient_edges_with_one_intervened_end():
    """Only the root of a chain a -> b -> c intervened: the edge with an intervened end is oriented from it."""
    rng = np.random.default_rng(0)
    n = 3000
    a = rng.normal(size=n)
    b = 1.2 * a + rng.normal(size=n)
    c = -1.0 * b + rng.normal(size=n)
    obs = np.column_stack([a, b, c])
    a_i = rng.normal(0, 2, 400)
    b_i = 1.2 * a_i + rng.normal(size=400)
    inter = np.column_stack([a_i, b_i, -b_i + rng.normal(size=400)])
    data = np.concatenate([obs, inter])
    targets = [[]] * n + [["a"]] * 400
    result = enco(data, targets, node_names=["a", "b", "c"], seed=0, **FAST)
    assert result.info["intervened"] == ["a"]
    assert result.adjacency[0, 1] == 1 and result.adjacency[1, 0] == 0
    assert result.adjacency[1, 2] + result.adjacency[2, 1] == 1, result.adjacency  # b - c found, either way
    # b and c were never intervened on: their orientation still moves (at a tenth of the rate), from the rows of the
    # other interventions, but nothing identifies it (here it ends c -> b, and a -> c follows)
    assert abs(result.info["orientation_probability"][1][2] - 0.5) > 0.1
    assert nx.is_directed_acyclic_graph(nx.DiGraph(result.adjacency))


def test_enco_is_deterministic_given_the_seed():
    data, targets, _, _ = _continuous(4, 0.5, seed=3, n_obs=600, n_int=100)
    small = dict(epochs=2, model_steps=30, graph_steps=10, n_graphs=10, hidden=8)
    first = enco(data, targets, seed=5, **small)
    second = enco(data, targets, seed=5, **small)
    third = enco(data, targets, seed=6, **small)
    assert first.info["edge_probability"] == second.info["edge_probability"]
    assert first.info["edge_probability"] != third.info["edge_probability"]


def test_the_progress_bar_changes_nothing_and_is_written_to_stderr(capsys):
    data, targets, _, _ = _continuous(4, 0.5, seed=3, n_obs=600, n_int=100)
    small = dict(epochs=2, model_steps=30, graph_steps=10, n_graphs=10, hidden=8, seed=5)
    quiet = enco(data, targets, **small)
    assert capsys.readouterr().err == ""
    shown = enco(data, targets, progress=True, **small)
    err = capsys.readouterr().err
    assert "enco" in err and "0/2" in err and "edges=" in err  # set_postfix redraws; tqdm may skip "2/2"
    assert shown.info["edge_probability"] == quiet.info["edge_probability"]
    assert shown.info["final_nll"] == quiet.info["final_nll"] and "progress" not in shown.info


# ----------------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def small():
    data, targets, _, _ = _continuous(3, 0.5, seed=0, n_obs=50, n_int=10)
    return data, targets


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"likelihood": "poisson"}, ValueError, "likelihood"),
    ({"hidden": 0}, ValueError, "'hidden'"),
    ({"epochs": 1.5}, TypeError, "'epochs'"),
    ({"lr_theta": 0.0}, ValueError, "'lr_theta'"),
    ({"lambda_sparse": -1.0}, ValueError, "'lambda_sparse'"),
    ({"acyclic": "yes"}, TypeError, "'acyclic'"),
    ({"standardize": 1}, TypeError, "'standardize'"),
    ({"confounders": "no"}, TypeError, "'confounders'"),
    ({"confounder_threshold": 1.5}, ValueError, "'confounder_threshold'"),
    ({"seed": -1}, ValueError, "seed"),
    ({"progress": "yes"}, TypeError, "'progress'"),
])
def test_bad_parameters_are_named(small, kwargs, error, match):
    with pytest.raises(error, match=match):
        enco(*small, **kwargs)


def test_bad_targets_are_named(small):
    data, targets = small
    several = list(targets)
    several[-1] = ["X0", "X1"]
    with pytest.raises(ValueError, match=rf"row {len(targets) - 1}.*single-variable"):
        enco(data, several, node_names=["X0", "X1", "X2"])
    with pytest.raises(ValueError, match="no interventions"):
        enco(data, [[]] * len(data))
    with pytest.raises(ValueError, match="observational rows"):
        enco(data, [["X0"]] * len(data))
    with pytest.raises(ValueError, match="'targets'.*entries"):
        enco(data, targets[:-1])
    with pytest.raises(ValueError, match="'zz'"):
        enco(data, [["zz"]] + list(targets[1:]))


def test_constant_and_too_small_data_are_named(small):
    data, targets = small
    constant = data.copy()
    constant[:, 1] = 3.0
    with pytest.raises(ValueError, match="'X1' constant"):
        enco(constant, targets)
    with pytest.raises(ValueError, match="at least 2 variables"):
        enco(data[:, :1], [[] if not t else ["X0"] for t in targets])


# ----------------------------------------------------------------------------------- command line and codes
def test_discover_command_runs_enco_on_a_csv_and_matches_the_library(tmp_path):
    import json

    from typer.testing import CliRunner

    from latentscm.cli import app

    data, targets, truth, nodes = _continuous(4, 0.6, seed=2, n_obs=800, n_int=150)
    names = [f"v{i}" for i in range(4)]
    lines = [",".join([*names, "intervened"])]
    lines += [",".join([*(f"{v:.6f}" for v in row), names[t[0]] if t else ""]) for row, t in zip(data, targets)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "enco", "--targets",
                                      "intervened", "--param", "epochs=3", "--param", "model_steps=40", "--param",
                                      "graph_steps=20", "--param", "n_graphs=10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    expected = enco(np.round(data, 6), targets, node_names=names, epochs=3, model_steps=40, graph_steps=20,
                    n_graphs=10, seed=0)
    assert graph["adjacency"] == expected.adjacency.tolist()
    assert graph["info"]["method"] == "enco" and graph["info"]["intervened"] == names
    missing = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "enco", "--out", str(out)])
    assert missing.exit_code == 2 and "--method enco needs --targets" in missing.output
    stray = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "ges", "--targets",
                                     "intervened", "--out", str(out)])
    assert stray.exit_code == 2 and "only used by --method gies, enco and llc" in stray.output


def test_discover_from_codes_runs_enco_with_targets():
    from latentscm.discovery.codes import discover_from_codes

    data, targets, truth, _ = _continuous(4, 0.6, seed=2, n_obs=800, n_int=150)
    mask = np.zeros((len(targets), 4), dtype=bool)
    for row, t in enumerate(targets):
        mask[row, t] = True
    small = dict(epochs=2, model_steps=30, graph_steps=10, n_graphs=10, hidden=8)
    result = discover_from_codes(data, ["a", "b", "c", "d"], method="enco", targets=mask, max_samples=len(data),
                                 seed=3, options=small)
    assert result.info["method"] == "enco" and result.nodes == ("a", "b", "c", "d")
    with pytest.raises(ValueError, match="'targets'.*'gies', 'enco' or 'llc'"):
        discover_from_codes(data, ["a", "b", "c", "d"], method="enco")
