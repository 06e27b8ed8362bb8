"""Independent review of ENCO (Lippe, Cohen & Gavves, ICLR 2022) against the authors' code.

The gradient estimators, the masked Adam and the acyclicity step are re-implemented here, entry by entry, from the
semantics of the official ``GraphFitting.gradient_estimator``, ``AdamTheta`` and ``find_best_acyclic_graph``, and
compared number for number with :mod:`latentscm.discovery.enco`. Tests marked "review s36" failed on the code as
reviewed; the fixes followed.
"""

from __future__ import annotations

import importlib
import itertools

import networkx as nx
import numpy as np
import pytest
import torch

from latentscm.discovery.enco import _best_order, _graph_step, _MaskedAdam, acyclic_by_orientation, enco
from latentscm.discovery.masked_conditionals import MaskedConditionals

enco_module = importlib.import_module("latentscm.discovery.enco")  # the module (the package exports the function)
conditionals_module = importlib.import_module("latentscm.discovery.masked_conditionals")

TINY = dict(epochs=2, model_steps=20, graph_steps=10, n_graphs=8, hidden=8)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _small_data(seed: int = 0, n_obs: int = 120, n_int: int = 30, d: int = 3):
    """A linear chain X0 -> X1 -> ... with n_obs observational rows and n_int rows intervening on each variable."""
    rng = np.random.default_rng(seed)

    def chain(n: int, target: int | None) -> np.ndarray:
        x = np.zeros((n, d))
        for j in range(d):
            x[:, j] = (0.9 * x[:, j - 1] if j else 0.0) + rng.normal(size=n)
            if j == target:
                x[:, j] = rng.normal(0.0, 2.0, n)
        return x

    blocks, targets = [chain(n_obs, None)], [[]] * n_obs
    for k in range(d):
        blocks.append(chain(n_int, k))
        targets += [[k]] * n_int
    return np.concatenate(blocks), targets


# ===================================================================================== reference implementations
def _reference_estimator(graphs: np.ndarray, nll: np.ndarray, gamma: np.ndarray, theta: np.ndarray, v: int,
                         never: list[int], lambda_sparse: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The official estimators (paper §3.3, ``gradient_estimator``), written pair by pair in float64.

    graphs (G, d, d) 0/1 with ``[g, i, j] = 1`` for ``i -> j``; nll (G, d), ``nll[g, j]`` the mean NLL of ``x_j``
    under graph g. Returns (gamma gradient, theta gradient, theta step mask)."""
    n_graphs, d, _ = graphs.shape
    existence, orientation = _sigmoid(gamma), _sigmoid(theta)
    grad_gamma = np.zeros((d, d))
    raw_theta = np.zeros((d, d))
    for i, j in itertools.permutations(range(d), 2):
        with_edge = [g for g in range(n_graphs) if graphs[g, i, j] == 1]
        without = [g for g in range(n_graphs) if graphs[g, i, j] == 0]
        if not with_edge or not without:  # an estimate needs graphs on both sides
            continue
        difference = nll[with_edge, j].mean() - nll[without, j].mean()
        if j != v:  # the intervened variable's parents are not scored
            grad_gamma[i, j] = (existence[i, j] * (1 - existence[i, j]) * orientation[i, j]
                                * (difference + lambda_sparse))
        if i == v or (i in never and j in never):  # orientation: from the intervened end, or both never intervened
            raw_theta[i, j] = orientation[i, j] * (1 - orientation[i, j]) * existence[i, j] * difference
    grad_theta = raw_theta - raw_theta.T  # theta_ij = -theta_ji
    step_mask = np.zeros((d, d))
    for i, j in itertools.permutations(range(d), 2):
        if v in (i, j):
            step_mask[i, j] = 1.0
        elif i in never and j in never:
            step_mask[i, j] = 0.1
    return grad_gamma, grad_theta, step_mask


class _ReferenceMaskedAdam:
    """The official ``AdamTheta`` semantics, one entry at a time, in float64."""

    def __init__(self, shape, lr, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, betas[0], betas[1], eps
        self.steps = np.zeros(shape)
        self.first = np.zeros(shape)
        self.second = np.zeros(shape)

    def update(self, param: np.ndarray, grad: np.ndarray, mask: np.ndarray) -> np.ndarray:
        param = param.copy()
        for index in np.ndindex(param.shape):
            if mask[index] > 0:
                self.steps[index] += 1
                self.first[index] = self.beta1 * self.first[index] + (1 - self.beta1) * grad[index]
                self.second[index] = self.beta2 * self.second[index] + (1 - self.beta2) * grad[index] ** 2
            t = self.steps[index]
            if t == 0:
                continue  # no moments yet: nothing to step (the official code's update is 0 there too)
            m_hat = self.first[index] / (1 - self.beta1 ** t)
            v_hat = self.second[index] / (1 - self.beta2 ** t)
            param[index] -= mask[index] * self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return param


class _ReferenceAdam:
    """Plain Adam on every entry (what ``torch.optim.Adam`` does to gamma), in float64."""

    def __init__(self, shape, lr, betas):
        self.lr, (self.beta1, self.beta2), self.t = lr, betas, 0
        self.first, self.second = np.zeros(shape), np.zeros(shape)

    def update(self, param: np.ndarray, grad: np.ndarray) -> np.ndarray:
        self.t += 1
        self.first = self.beta1 * self.first + (1 - self.beta1) * grad
        self.second = self.beta2 * self.second + (1 - self.beta2) * grad ** 2
        m_hat = self.first / (1 - self.beta1 ** self.t)
        v_hat = self.second / (1 - self.beta2 ** self.t)
        return param - self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)


class _GammaRecorder:
    """Stands in for gamma's optimiser: records the gradient _graph_step leaves in ``gamma.grad``."""

    def __init__(self, param: torch.Tensor) -> None:
        self.param, self.grads = param, []

    def zero_grad(self) -> None:
        self.param.grad = None

    def step(self) -> None:
        self.grads.append(self.param.grad.detach().clone())


class _ThetaRecorder:
    def __init__(self) -> None:
        self.calls = []

    def step(self, grad: torch.Tensor, mask: torch.Tensor) -> None:
        self.calls.append((grad.clone(), mask.clone()))


def _fixed_graphs(rng: np.random.Generator, n_graphs: int, d: int) -> np.ndarray:
    graphs = (rng.random((n_graphs, d, d)) < 0.5).astype(np.float64)
    graphs[:, np.arange(d), np.arange(d)] = 0.0
    graphs[:, 0, 3] = 1.0  # present in every graph: no estimate (the "informative" mask)
    graphs[:, 4, 2] = 0.0  # absent from every graph: no estimate
    return graphs


def _patch_sampling(monkeypatch, graphs_per_call: list[np.ndarray], nll_per_call: list[np.ndarray]):
    """torch.bernoulli returns the given graphs and enco._graph_nll the given NLLs, one per call; records what
    _graph_step asked for."""
    seen = {"probability": [], "graphs": []}
    graphs_iter, nll_iter = iter(graphs_per_call), iter(nll_per_call)

    def bernoulli(probability, generator=None):
        seen["probability"].append(probability.detach().clone())
        graphs = torch.as_tensor(next(graphs_iter), dtype=probability.dtype)
        assert graphs.shape == probability.shape
        return graphs

    def graph_nll(model, x, graphs):
        seen["graphs"].append(graphs.clone())
        return torch.as_tensor(next(nll_iter), dtype=torch.float32)

    monkeypatch.setattr(torch, "bernoulli", bernoulli)
    monkeypatch.setattr(enco_module, "_graph_nll", graph_nll)
    return seen


# ===================================================================================== 1. gradient estimators
@pytest.mark.parametrize("v", [1, 2])
def test_graph_step_gradients_equal_the_official_estimator_entry_by_entry(monkeypatch, v):
    """gamma and theta gradients and theta's step mask of one _graph_step equal the official estimator's, for
    variables 0..2 intervened and 3, 4 never (pairs among {3, 4} get theta gradients from every step at 0.1)."""
    d, n_graphs, lam = 5, 12, 0.004
    rng = np.random.default_rng(v)
    gamma0 = rng.normal(0, 1.0, (d, d))
    np.fill_diagonal(gamma0, 0.0)
    upper = np.triu(rng.normal(0, 1.0, (d, d)), 1)
    theta0 = upper - upper.T
    graphs = _fixed_graphs(rng, n_graphs, d)
    nll = rng.normal(1.0, 0.5, (n_graphs, d))
    seen = _patch_sampling(monkeypatch, [graphs], [nll])

    gamma = torch.tensor(gamma0, dtype=torch.float32, requires_grad=True)
    theta = torch.tensor(theta0, dtype=torch.float32)
    never = [3, 4]
    unintervened = torch.zeros(d, d)
    unintervened[3, 4] = unintervened[4, 3] = 1.0
    gamma_rec, theta_rec = _GammaRecorder(gamma), _ThetaRecorder()
    _graph_step(None, torch.zeros(6, d), v, gamma, theta, gamma_rec, theta_rec,
                {"n_graphs": n_graphs, "lambda_sparse": lam}, unintervened, 1.0 - torch.eye(d), None)

    # the graphs are drawn from sigma(gamma) sigma(theta), without self-loops, n_graphs at a time
    expected_probability = _sigmoid(gamma0) * _sigmoid(theta0) * (1 - np.eye(d))
    assert seen["probability"][0].shape == (n_graphs, d, d)
    np.testing.assert_allclose(seen["probability"][0][0].numpy(), expected_probability, rtol=1e-6, atol=1e-7)
    assert torch.equal(seen["graphs"][0], torch.as_tensor(graphs, dtype=torch.float32))

    ref_gamma, ref_theta, ref_mask = _reference_estimator(graphs, nll, gamma0, theta0, v, never, lam)
    got_gamma = gamma_rec.grads[0].numpy()
    got_theta, got_mask = (t.numpy() for t in theta_rec.calls[0])
    np.testing.assert_allclose(got_gamma, ref_gamma, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got_theta, ref_theta, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got_mask, ref_mask, rtol=1e-6, atol=0)
    # the estimator's structural properties, spelled out
    assert np.all(got_gamma[:, v] == 0) and np.all(np.diag(got_gamma) == 0)  # gamma column of v untouched
    assert got_gamma[0, 3] == 0 and got_gamma[4, 2] == 0  # uninformative pairs get no gradient
    np.testing.assert_allclose(got_theta, -got_theta.T, atol=0)  # antisymmetric
    assert np.count_nonzero(ref_gamma) > d  # the comparison is not vacuous
    assert got_theta[3, 4] != 0 and got_mask[3, 4] == pytest.approx(0.1)  # never-intervened pair: every step, 0.1
    other = [k for k in range(3) if k != v]  # pairs of two intervened variables other than v: frozen
    assert got_theta[other[0], other[1]] == 0 and got_mask[other[0], other[1]] == 0


def test_graph_step_ignores_the_intervened_variables_own_likelihood(monkeypatch):
    """The official code zeroes the intervened variable's NLL (categorical) or leaves it (continuous); either way it
    must not move anything: changing column v of the NLLs leaves every gradient as it was."""
    d, n_graphs, v = 5, 10, 2
    rng = np.random.default_rng(11)
    graphs = _fixed_graphs(rng, n_graphs, d)
    nll = rng.normal(1.0, 0.5, (n_graphs, d))
    changed = nll.copy()
    changed[:, v] = rng.normal(5.0, 3.0, n_graphs)
    _patch_sampling(monkeypatch, [graphs, graphs], [nll, changed])
    unintervened = torch.zeros(d, d)
    unintervened[3, 4] = unintervened[4, 3] = 1.0
    results = []
    for _ in range(2):
        gamma = torch.zeros(d, d, requires_grad=True)
        theta = torch.zeros(d, d)
        gamma_rec, theta_rec = _GammaRecorder(gamma), _ThetaRecorder()
        _graph_step(None, torch.zeros(4, d), v, gamma, theta, gamma_rec, theta_rec,
                    {"n_graphs": n_graphs, "lambda_sparse": 0.004}, unintervened, 1.0 - torch.eye(d), None)
        results.append((gamma_rec.grads[0], *theta_rec.calls[0]))
    for first, second in zip(*results):
        assert torch.equal(first, second)


def test_consecutive_graph_steps_follow_the_official_updates(monkeypatch):
    """Five _graph_step calls with their real optimisers (gamma: Adam betas (0.9, 0.9); theta: _MaskedAdam) give
    the same gamma and theta, to float32 precision, as the reference estimator + reference Adams. Adam's first step
    is lr * sign(grad); later steps depend on the gradients' sizes, so this checks magnitudes."""
    d, n_graphs, lam, lr_gamma, lr_theta = 5, 16, 0.004, 2e-2, 0.1
    rng = np.random.default_rng(5)
    variables = [0, 2, 1, 0, 2]  # 3 and 4 never intervened
    graphs = [_fixed_graphs(rng, n_graphs, d) for _ in variables]
    nlls = [rng.normal(1.0, 0.5, (n_graphs, d)) for _ in variables]
    _patch_sampling(monkeypatch, graphs, nlls)
    gamma = torch.zeros(d, d, requires_grad=True)
    theta = torch.zeros(d, d)
    gamma_opt = torch.optim.Adam([gamma], lr=lr_gamma, betas=(0.9, 0.9))
    theta_opt = _MaskedAdam(theta, lr_theta)
    unintervened = torch.zeros(d, d)
    unintervened[3, 4] = unintervened[4, 3] = 1.0
    ref_gamma, ref_theta = np.zeros((d, d)), np.zeros((d, d))
    ref_gamma_opt = _ReferenceAdam((d, d), lr_gamma, (0.9, 0.9))
    ref_theta_opt = _ReferenceMaskedAdam((d, d), lr_theta)
    for step, v in enumerate(variables):
        grad_g, grad_t, mask_t = _reference_estimator(graphs[step], nlls[step], ref_gamma, ref_theta, v, [3, 4], lam)
        ref_gamma = ref_gamma_opt.update(ref_gamma, grad_g)
        ref_theta = ref_theta_opt.update(ref_theta, grad_t, mask_t)
        _graph_step(None, torch.zeros(4, d), v, gamma, theta, gamma_opt, theta_opt,
                    {"n_graphs": n_graphs, "lambda_sparse": lam}, unintervened, 1.0 - torch.eye(d), None)
        np.testing.assert_allclose(gamma.detach().numpy(), ref_gamma, atol=2e-6)
        np.testing.assert_allclose(theta.numpy(), ref_theta, atol=2e-6)
    np.testing.assert_array_equal(theta_opt.steps.numpy(), ref_theta_opt.steps)
    assert ref_theta_opt.steps[3, 4] == len(variables)  # the never-intervened pair counts every step
    assert ref_theta_opt.steps[0, 2] == 4 and ref_theta_opt.steps[1, 3] == 1
    torch.testing.assert_close(theta, -theta.T)
    assert np.abs(ref_theta).max() > 0.05 and np.abs(ref_gamma).max() > 0.05


# ===================================================================================== 2. the masked Adam
def test_masked_adam_matches_the_official_adam_theta_over_many_masked_steps():
    """Per-entry step counts, moments updated only where mask > 0, the step scaled by the mask's value (1 or 0.1),
    bias corrections by each entry's own count; compared with the reference over 12 random steps."""
    rng = np.random.default_rng(3)
    shape = (4, 4)
    param = torch.zeros(shape)
    ours = _MaskedAdam(param, lr=0.1)
    reference = _ReferenceMaskedAdam(shape, lr=0.1)
    expected = np.zeros(shape)
    for _ in range(12):
        grad = rng.normal(0, 1, shape) * rng.choice([0.01, 1.0, 30.0], shape)
        mask = rng.choice([0.0, 0.1, 1.0], shape, p=[0.5, 0.2, 0.3])
        ours.step(torch.tensor(grad, dtype=torch.float32), torch.tensor(mask, dtype=torch.float32))
        expected = reference.update(expected, grad, mask)
        np.testing.assert_allclose(param.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours.steps.numpy(), reference.steps)
    np.testing.assert_allclose(ours.first.numpy(), reference.first, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.second.numpy(), reference.second, rtol=1e-5, atol=1e-7)
    assert len(set(reference.steps.ravel())) > 3  # entries really advanced at different rates


def test_masked_adam_updates_the_given_tensor_in_place_and_skips_never_masked_entries():
    param = torch.full((2, 3), 0.7)
    optimiser = _MaskedAdam(param, lr=0.05)
    mask = torch.tensor([[1.0, 0.0, 0.1], [0.0, 0.0, 1.0]])
    for _ in range(3):
        optimiser.step(torch.ones(2, 3), mask)
    assert optimiser.param is param
    assert torch.all(param[mask == 0] == 0.7)
    assert torch.all(optimiser.first[mask == 0] == 0) and torch.all(optimiser.steps[mask == 0] == 0)
    # constant gradient: every Adam step is lr (bias-corrected), scaled by the mask
    torch.testing.assert_close(param[0, 0], torch.tensor(0.7 - 3 * 0.05), atol=1e-5, rtol=0)
    torch.testing.assert_close(param[0, 2], torch.tensor(0.7 - 3 * 0.005), atol=1e-5, rtol=0)


# ===================================================================================== 3. mask orientation
def _trained_model(likelihood: str, steps: int = 500):
    """Networks fitted to every parent set (inputs kept with probability 1/2) on x0, x1 independent and x2 a
    near copy of x0."""
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    n, d = 3000, 3
    if likelihood == "gaussian":
        x0, x1 = rng.normal(size=n), rng.normal(size=n)
        data = torch.tensor(np.column_stack([x0, x1, x0 + 0.1 * rng.normal(size=n)]), dtype=torch.float32)
        model = MaskedConditionals(d, hidden=16, layers=2, likelihood=likelihood, generator=gen)
    else:
        x0, x1 = rng.integers(0, 3, n), rng.integers(0, 3, n)
        noisy = np.where(rng.random(n) < 0.05, rng.integers(0, 3, n), x0)
        data = torch.tensor(np.column_stack([x0, x1, noisy]), dtype=torch.long)
        model = MaskedConditionals(d, hidden=16, layers=2, likelihood=likelihood, categories=[3, 3, 3],
                                   generator=gen)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        rows = data[torch.randint(0, n, (128,), generator=gen)]
        mask = torch.bernoulli(torch.full((128, d, d), 0.5), generator=gen) * (1 - torch.eye(d))
        loss = model.nll(rows, mask).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model.eval(), data[:512]


@pytest.mark.parametrize("likelihood", ["gaussian", "categorical"])
def test_graph_nll_reads_parents_along_the_adjacency_direction(likelihood):
    """A[i, j] = 1 means i -> j: only the graph with X0 -> X2 explains X2; X2 -> X0 explains X0, not X2; the
    independent X1 explains nothing. A transposed mask would swap the two."""
    model, x = _trained_model(likelihood, steps=400 if likelihood == "gaussian" else 300)
    graphs = torch.zeros(4, 3, 3)
    graphs[1, 0, 2] = 1.0  # X0 -> X2
    graphs[2, 1, 2] = 1.0  # X1 -> X2
    graphs[3, 2, 0] = 1.0  # X2 -> X0
    nll = enco_module._graph_nll(model, x, graphs)
    assert nll.shape == (4, 3)
    empty = nll[0]
    gain = 1.0 if likelihood == "gaussian" else 0.5
    assert nll[1, 2] < empty[2] - gain  # the true parent predicts the child
    assert abs(float(nll[2, 2] - empty[2])) < 0.2  # an independent "parent" does not
    assert abs(float(nll[3, 2] - empty[2])) < 0.2  # an outgoing edge of X2 does not change X2's likelihood
    assert nll[3, 0] < empty[0] - gain / 2  # ... it changes X0's (X0 is read from X2)
    for g in range(4):  # variables whose parent sets are unchanged keep the empty graph's likelihood exactly
        assert abs(float(nll[g, 1] - empty[1])) < 1e-6


def test_graph_nll_is_the_row_mean_of_the_networks_with_transposed_masks_and_chunking_changes_nothing(monkeypatch):
    gen = torch.Generator().manual_seed(2)
    model = MaskedConditionals(4, hidden=8, layers=2, likelihood="gaussian", generator=gen).eval()
    x = torch.randn(7, 4, generator=gen)
    graphs = torch.bernoulli(torch.full((9, 4, 4), 0.5), generator=gen) * (1 - torch.eye(4))
    whole = enco_module._graph_nll(model, x, graphs)
    with torch.no_grad():
        direct = torch.stack([model.nll(x, g.T.expand(7, 4, 4)).mean(dim=0) for g in graphs])
    torch.testing.assert_close(whole, direct)
    monkeypatch.setattr(enco_module, "_CHUNK_ELEMENTS", 1)  # one graph at a time
    torch.testing.assert_close(enco_module._graph_nll(model, x, graphs), whole)
    monkeypatch.setattr(enco_module, "_CHUNK_ELEMENTS", 7 * 4 * 8 * 4)  # chunks of 4: 4 + 4 + 1
    torch.testing.assert_close(enco_module._graph_nll(model, x, graphs), whole)


def test_every_stage_of_enco_masks_inputs_with_the_transposed_adjacency(monkeypatch):
    """Distribution fitting, graph fitting and final_nll all call the networks with mask = A^T, where A is the
    sampled (or final) adjacency with A[i, j] = 1 for i -> j."""
    adjacency = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # X0 -> X2, X1 -> X0
    masks = []
    original_nll, original_step = MaskedConditionals.nll, enco_module._graph_step

    def fixed_bernoulli(probability, generator=None):
        return adjacency.expand(probability.shape).clone()

    def spy_nll(self, x, mask):
        masks.append((mask.detach().clone(), torch.is_grad_enabled()))
        return original_nll(self, x, mask)

    def step_then_fix(model, x, v, gamma, theta, *rest):
        original_step(model, x, v, gamma, theta, *rest)
        with torch.no_grad():  # make the final graph the sampled one
            gamma.copy_(torch.where(adjacency > 0, 5.0, -5.0))
            theta.copy_(5.0 * (adjacency - adjacency.T))

    monkeypatch.setattr(torch, "bernoulli", fixed_bernoulli)
    monkeypatch.setattr(MaskedConditionals, "nll", spy_nll)
    monkeypatch.setattr(enco_module, "_graph_step", step_then_fix)
    data, targets = _small_data()
    result = enco(data, targets, epochs=1, model_steps=3, graph_steps=2, n_graphs=4, hidden=8)
    assert result.adjacency.tolist() == adjacency.long().tolist()
    training = [m for m, grad in masks if grad]
    evaluation = [m for m, grad in masks if not grad]
    assert len(training) == 3 and len(evaluation) >= 3  # 3 model steps; 2 graph steps and final_nll
    for mask in training + evaluation:
        assert torch.equal(mask, adjacency.T.expand(mask.shape)), mask[0]


# ===================================================================================== 4. acyclicity
def _order_score(order, log_orient) -> float:
    return float(sum(log_orient[a, b] for a, b in itertools.combinations(order, 2)))


def test_acyclic_by_orientation_simple_cases():
    # a 2-cycle keeps the better-oriented direction
    result, removed, _ = acyclic_by_orientation(np.array([[0, 1], [1, 0]]), np.array([[0.0, 0.3], [0.7, 0.0]]))
    assert result.tolist() == [[0, 0], [1, 0]] and removed == [(0, 1)]
    # an acyclic graph is returned as it is, and the inputs are not modified
    dag = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    orientation = np.full((3, 3), 0.01)  # even against the orientation probabilities
    result, removed, _ = acyclic_by_orientation(dag, orientation)
    assert result.tolist() == dag.tolist() and removed == [] and result is not dag
    # two disjoint cycles are broken independently, edges between them kept
    adjacency = np.zeros((5, 5), dtype=int)
    for i, j in [(0, 1), (1, 0), (2, 3), (3, 4), (4, 2), (1, 2)]:
        adjacency[i, j] = 1
    orientation = np.full((5, 5), 0.5)
    orientation[0, 1], orientation[1, 0] = 0.9, 0.1
    orientation[2, 3], orientation[3, 2] = 0.8, 0.2
    orientation[3, 4], orientation[4, 3] = 0.8, 0.2
    orientation[4, 2], orientation[2, 4] = 0.4, 0.6
    before = adjacency.copy()
    result, removed, _ = acyclic_by_orientation(adjacency, orientation)
    assert np.array_equal(adjacency, before)
    assert removed == [(1, 0), (4, 2)] and result[1, 2] == 1
    assert nx.is_directed_acyclic_graph(nx.DiGraph(result))
    assert all(isinstance(i, int) and isinstance(j, int) for i, j in removed)


@pytest.mark.parametrize("size", [5, 7])
def test_acyclic_by_orientation_is_exactly_optimal_up_to_the_exhaustive_limit(size):
    """One strongly connected component of ``size`` <= 7 nodes: the kept edges fit an order of maximal
    sum log sigma(theta), and only edges against that order were removed."""
    rng = np.random.default_rng(size)
    order = list(rng.permutation(size))
    adjacency = np.zeros((size, size), dtype=int)
    for a, b in zip(order, order[1:] + order[:1]):  # a Hamiltonian cycle makes it one component
        adjacency[a, b] = 1
    adjacency[rng.random((size, size)) < 0.3] = 1
    np.fill_diagonal(adjacency, 0)
    theta = rng.normal(0, 2, (size, size))
    theta = np.triu(theta, 1) - np.triu(theta, 1).T
    orientation = _sigmoid(theta)
    np.fill_diagonal(orientation, 0.0)
    log_orient = np.log(orientation + 1e-10)
    result, removed, _ = acyclic_by_orientation(adjacency, orientation)
    best = max(_order_score(p, log_orient) for p in itertools.permutations(range(size)))
    found = _best_order(list(range(size)), log_orient)
    assert _order_score(found, log_orient) == pytest.approx(best)
    rank = {node: k for k, node in enumerate(found)}
    expected = adjacency * np.array([[rank[i] < rank[j] for j in range(size)] for i in range(size)])
    np.testing.assert_array_equal(result, expected)
    assert sorted(removed) == sorted(zip(*np.nonzero(adjacency - expected)))


def test_acyclic_by_orientation_beyond_the_exhaustive_limit_is_a_local_optimum():
    """Above 7 nodes the order is improved by single-node moves until none helps: no move may improve it."""
    rng = np.random.default_rng(9)
    size = 10
    nodes = list(range(size))
    theta = rng.normal(0, 2, (size, size))
    theta = np.triu(theta, 1) - np.triu(theta, 1).T
    log_orient = np.log(_sigmoid(theta) + 1e-10)
    order = _best_order(nodes, log_orient)
    assert sorted(order) == nodes
    score = _order_score(order, log_orient)

    def moves(base):
        for i in range(len(base)):
            rest = base[:i] + base[i + 1:]
            for j in range(len(base)):
                yield rest[:j] + [base[i]] + rest[j:]

    assert all(_order_score(m, log_orient) <= score + 1e-9 for m in moves(order))
    adjacency = np.ones((size, size), dtype=int) - np.eye(size, dtype=int)
    result, _, _ = acyclic_by_orientation(adjacency, _sigmoid(theta))
    assert nx.is_directed_acyclic_graph(nx.DiGraph(result)) and result.sum() == size * (size - 1) // 2


def test_acyclic_by_orientation_breaks_self_loops():
    """A self-loop is a cycle: it is removed and reported (review s36: it used to survive, since strongly connected
    components of one node were skipped)."""
    adjacency = np.array([[1, 1], [0, 0]])
    try:
        result, removed, _ = acyclic_by_orientation(adjacency, np.full((2, 2), 0.5))
    except ValueError as error:
        assert "adjacency" in str(error)
        return
    assert nx.is_directed_acyclic_graph(nx.DiGraph(result)), result
    assert (0, 0) in removed


def test_acyclic_by_orientation_refuses_malformed_input_by_name():
    """An orientation matrix of the wrong shape and a non-0/1 adjacency are refused by name (review s36: they were
    read as far as they went, and 0.6 cast to "no edge")."""
    cycle = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="orientation"):
        acyclic_by_orientation(cycle, np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="adjacency"):
        acyclic_by_orientation(np.array([[0.0, 0.6], [0.6, 0.0]]), np.full((2, 2), 0.5))


def test_cycle_breaking_keeps_the_existence_edges_the_best_order_allows_as_the_authors_do(monkeypatch):
    """The authors' find_best_acyclic_graph sets, inside each cycle, theta to the best order's hard orientation and
    keeps every pair with sigma(gamma) > 0.5 in the order's direction: an edge against the order whose reverse has
    gamma > 0 is turned round, not dropped. Here gamma > 0 everywhere and theta makes the cycle X0 -> X1 -> X2 -> X0
    with X2 -> X0 the weakest: the result is X0 -> X1, X1 -> X2, X0 -> X2 (review s36: enco dropped X0 - X2)."""
    gamma_fixed = torch.full((3, 3), 3.0)
    theta_fixed = torch.zeros(3, 3)
    for (i, j), value in {(0, 1): 2.0, (1, 2): 1.5, (2, 0): 0.4}.items():
        theta_fixed[i, j], theta_fixed[j, i] = value, -value

    def fixed_step(model, x, v, gamma, theta, *rest):
        with torch.no_grad():
            gamma.copy_(gamma_fixed)
            theta.copy_(theta_fixed)

    monkeypatch.setattr(enco_module, "_graph_step", fixed_step)
    data, targets = _small_data()
    result = enco(data, targets, epochs=1, model_steps=1, graph_steps=1, n_graphs=4, hidden=8)
    assert result.info["raw_adjacency"] == [[0, 1, 0], [0, 0, 1], [1, 0, 0]]
    # the authors' rule: best order by theta (0, 1, 2), then every gamma > 0 pair along it
    expected = [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    assert result.adjacency.tolist() == expected
    assert result.info["removed_for_acyclicity"] == [["X2", "X0"]]
    assert result.info["added_for_acyclicity"] == [["X0", "X2"]]
    assert nx.is_directed_acyclic_graph(nx.DiGraph(result.adjacency))


# ===================================================================================== 4. validation
@pytest.fixture(scope="module")
def small():
    return _small_data(n_obs=40, n_int=8)


def test_multi_target_rows_are_refused_in_every_targets_form(small):
    data, targets = small
    n = len(targets)
    mask = np.zeros((n, 3), dtype=bool)
    for row, t in enumerate(targets):
        mask[row, t] = True
    mask[45, [0, 2]] = True
    with pytest.raises(ValueError, match=r"'targets'.*\['X0', 'X2'\].*row 45.*single-variable"):
        enco(data, mask, **TINY)
    by_name = list(targets)
    by_name[50] = ["X1", "X2"]
    with pytest.raises(ValueError, match=r"'targets'.*row 50"):
        enco(data, by_name, **TINY)


def test_bad_targets_and_data_errors_name_the_argument(small):
    data, targets = small
    with pytest.raises(ValueError, match="'targets'"):
        enco(data, [[]] * 40 + [[7]] * (len(targets) - 40))  # a position past d
    with pytest.raises(TypeError, match="'targets'"):
        enco(data, "X0")
    with pytest.raises(ValueError, match="'targets'.*shape"):
        enco(data, np.zeros((len(targets), 4), dtype=bool))
    with pytest.raises(ValueError, match="'targets'.*1 observational row"):
        enco(data, [[]] + [[0]] * (len(targets) - 1))
    nan = data.copy()
    nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="'data'.*NaN"):
        enco(nan, targets)
    text = data.astype(object)
    text[0, 0] = "high"
    with pytest.raises(TypeError, match="'data'.*text"):
        enco(text, targets)
    with pytest.raises(ValueError, match="'X0'"):  # categorical: fractional floats name the column
        enco(data, targets, likelihood="categorical")
    codes = np.round(np.clip(data, -1, 1)).astype(float)
    codes[2, 2] = np.nan
    with pytest.raises(ValueError, match="'X2'.*NaN"):
        enco(codes, targets, likelihood="categorical")
    with pytest.raises(ValueError, match="node_names"):
        enco(data, targets, node_names=["a", "b"])
    with pytest.raises(ValueError, match="'batch_size'"):
        enco(data, targets, batch_size=0)
    with pytest.raises(TypeError, match="'hidden'"):
        enco(data, targets, hidden=True)


def test_exactly_two_observational_rows_are_enough(small):
    data, targets = small
    rows = [0, 1] + list(range(40, len(targets)))
    result = enco(data[rows], [targets[r] for r in rows], **TINY)
    assert result.info["n_observational"] == 2 and result.info["intervened"] == ["X0", "X1", "X2"]
    assert np.isfinite(result.info["final_nll"])


def test_n_graphs_of_one_is_refused(small):
    """n_graphs=1 is refused: the estimator needs graphs with and without each edge, so with one graph every
    gradient is 0 and the result is the empty graph whatever the data (review s36: it was accepted)."""
    data, targets = small
    with pytest.raises(ValueError, match="'n_graphs'"):
        enco(data, targets, epochs=1, model_steps=5, graph_steps=5, n_graphs=1, hidden=8)


def test_categorical_text_is_recoded_like_its_integer_codes():
    rng = np.random.default_rng(4)
    n = 300
    a = rng.integers(0, 3, n)
    b = np.where(rng.random(n) < 0.8, a, rng.integers(0, 3, n))
    c = rng.integers(0, 2, n)
    codes = np.column_stack([a, b, c])
    targets = [[]] * 200 + [[0]] * 50 + [["X1"]] * 50
    labels = np.array(["lo", "mid", "hi"], dtype=object)[codes[:, :2]]  # sorted: hi < lo < mid
    recode = np.array([1, 2, 0])  # lo -> 1, mid -> 2, hi -> 0
    text = np.column_stack([labels, np.array(["no", "yes"], dtype=object)[c]])
    from_text = enco(text, targets, likelihood="categorical", seed=2, **TINY)
    from_codes = enco(np.column_stack([recode[codes[:, :2]], c]).astype(float), targets, likelihood="categorical",
                      seed=2, **TINY)
    assert from_text.info["edge_probability"] == from_codes.info["edge_probability"]
    assert from_text.info["final_nll"] == from_codes.info["final_nll"]


# ===================================================================================== 4. seeds, DataFrames
def test_seed_generator_global_state_and_torch_seed(small):
    data, targets = small
    first = enco(data, targets, seed=7, **TINY)
    torch.manual_seed(123)  # enco must not read torch's global generator
    state = torch.random.get_rng_state()
    from_generator = enco(data, targets, seed=np.random.default_rng(7), **TINY)
    assert torch.equal(torch.random.get_rng_state(), state)  # nor consume them
    assert from_generator.info["edge_probability"] == first.info["edge_probability"]
    assert from_generator.info["final_nll"] == first.info["final_nll"]
    shared = np.random.default_rng(7)
    once = enco(data, targets, seed=shared, **TINY)
    again = enco(data, targets, seed=shared, **TINY)  # the generator advanced: a different run
    assert once.info["edge_probability"] == first.info["edge_probability"]
    assert again.info["edge_probability"] != first.info["edge_probability"]


def test_dataframe_input_uses_its_column_names():
    pd = pytest.importorskip("pandas")
    data, targets = _small_data(n_obs=40, n_int=8)
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    named = [[["a", "b", "c"][k] for k in t] for t in targets]
    series = pd.Series([t[0] if t else None for t in named])
    from_frame = enco(frame, series, seed=1, **TINY)
    from_array = enco(data, targets, node_names=["a", "b", "c"], seed=1, **TINY)
    assert from_frame.nodes == ("a", "b", "c") and from_frame.info["intervened"] == ["a", "b", "c"]
    assert from_frame.info["edge_probability"] == from_array.info["edge_probability"]
    mapping = enco({"a": data[:, 0], "b": data[:, 1], "c": data[:, 2]}, named, seed=1, **TINY)
    assert mapping.info["edge_probability"] == from_array.info["edge_probability"]


# ===================================================================================== 5. unlisted deviations
def test_gaussian_nll_clamps_the_log_variance_as_documented():
    """The Gaussian NLL is the normal density's with the predicted log-variance clamped to [-12, 12] (listed under
    Deviations: the authors' log_normal has no clamp)."""
    model = MaskedConditionals(2, hidden=4, layers=1, likelihood="gaussian", generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for weight in model.weights:
            weight.zero_()
        model.biases[-1][:, 1] = -20.0  # log-variance -20, mean 0
    x = torch.full((3, 2), 1e-3)
    mask = torch.zeros(3, 2, 2)
    clamped = 0.5 * (np.log(2 * np.pi) - 12.0 + 1e-6 * np.exp(12.0))
    with torch.no_grad():
        assert float(model.nll(x, mask)[0, 0]) == pytest.approx(clamped, rel=1e-5)
    assert "clamped to [-12, 12]" in " ".join((enco_module.__doc__ or "").split())


@pytest.mark.parametrize(("likelihood", "slope"), [("categorical", 0.1), ("gaussian", 0.01)])
def test_leaky_relu_slopes_are_the_authors(likelihood, slope):
    """The authors' categorical model uses LeakyReLU(0.1) (get_activation_function), their Gaussian one torch's
    default 0.01."""
    model = MaskedConditionals(2, hidden=1, layers=1, likelihood=likelihood, categories=[2, 2],
                               generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.weights[0].zero_()
        model.biases[0].fill_(-1.0)  # hidden pre-activation -1
        model.weights[1].fill_(1.0)
        model.weights[1][:, :, 1] = 0.0
        model.biases[1].zero_()
        x = torch.zeros(1, 2, dtype=torch.long if likelihood == "categorical" else torch.float32)
        out = model.forward(x, torch.zeros(1, 2, 2))
    assert -float(out[0, 0, 0]) == pytest.approx(slope)


def test_initial_weights_are_kaiming_uniform_per_network():
    """Each network's layer draws from U(-b, b) with b = sqrt(6 / fan_in) (listed under Deviations: the authors'
    stacked weights get sqrt(6 / (out * in)))."""
    model = MaskedConditionals(3, hidden=64, layers=2, likelihood="gaussian",
                               generator=torch.Generator().manual_seed(0))
    for weight in model.weights:
        bound = np.sqrt(6.0 / weight.shape[1])
        values = weight.detach().abs()
        assert float(values.max()) <= bound and float(values.max()) > 0.9 * bound
    assert all(torch.all(bias == 0) for bias in model.biases)
