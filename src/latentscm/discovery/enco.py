"""ENCO: a causal graph from observational and single-variable interventional data, by neural likelihoods.

Lippe, Cohen & Gavves (2022), "Efficient neural causal discovery without acyclicity constraints", ICLR. Each ordered
pair ``i -> j`` has an existence logit ``gamma_ij`` and an orientation logit ``theta_ij = -theta_ji``; the edge's
probability is ``sigma(gamma_ij) sigma(theta_ij)``. Two stages alternate for ``epochs`` rounds:

1. **Distribution fitting** (``model_steps`` Adam steps on observational rows): one network per variable
   (:class:`~latentscm.discovery.masked_conditionals.MaskedConditionals`) learns ``p(x_j | x_S)`` with its inputs
   masked by graphs drawn from the current edge probabilities, so it models every parent set the search may ask
   about.
2. **Graph fitting** (``graph_steps`` steps): pick an intervened variable ``v`` (cycling through them in shuffled
   order), take a batch of its interventional rows, draw ``n_graphs`` graphs, and score each variable's negative
   log-likelihood ``L_j`` under each graph. The paper's low-variance estimators (its §3.3) are the difference of the
   mean ``L_j`` over graphs with and without ``i -> j``:

   - ``dL/dgamma_ij = sigma'(gamma_ij) sigma(theta_ij) (E[L_j | i->j] - E[L_j | no i->j] + lambda_sparse)`` for every
     ``j != v`` (the intervened variable's own likelihood says nothing about its parents);
   - ``dL/dtheta_vj = sigma'(theta_vj) sigma(gamma_vj) (E[L_j | v->j] - E[L_j | no v->j])`` and its negative for
     ``theta_jv``: only an intervention on one end of a pair tells its orientation.

   ``gamma`` runs Adam with betas (0.9, 0.9); ``theta`` an Adam whose moments and step counts advance only for the
   entries a step updates (row and column ``v``). Pairs of two never-intervened variables (partial intervention
   sets, the paper's §4.4) get their orientation gradient from every step, at a tenth of the learning rate.

The result is the graph of edges with ``gamma > 0`` and ``theta > 0``. ENCO does not constrain it to be acyclic (its
guarantee: acyclic at the optimum, given enough data); with ``acyclic=True`` (default) the nodes of each cycle
(strongly connected component) are ordered to maximise the summed ``log sigma(theta)`` of the ordered pairs, and
the component's edges become its pairs with ``gamma > 0`` along that order (an edge against the order is dropped,
or turned round where its reverse has ``gamma > 0``), as the authors' ``find_best_acyclic_graph`` does.

Defaults are the authors' (model: two hidden layers of 64 leaky-ReLU units, Adam 5e-3; graph: 100 graphs, batch 128,
``lambda_sparse`` 0.004, learning rates 2e-2 and 0.1; 30 epochs of 1,000 model and 100 graph steps). For continuous
data the paper's experiments use ``hidden=32``, ``lambda_sparse=0.001`` and ``weight_decay=1e-4``.

Assumptions, as in the paper: perfect (or at least parent-cutting) interventions on single variables; no hidden
confounders, unless ``confounders=True`` (the paper's §4.5: a pair whose edge helps on observational steps but not
when one of its ends is intervened on is a confounded pair; see :class:`_ConfounderAdam`); interventions are not
needed on every variable, but orientations between never-intervened variables then rest on the weaker
observational signal.

Deviations from the authors' code:

- continuous data are standardised on the observational rows (``standardize``);
- an interventional batch is drawn without replacement from all of a variable's rows each step (the authors cycle
  through a shuffled loader);
- the Gaussian negative log-likelihood has no 1e-5 added to the variance's denominator, and its predicted
  log-variance is clamped to [-12, 12];
- categorical networks never predict states beyond a variable's own number (the authors' softmax runs over the
  largest number of states for every variable);
- initial weights are Kaiming-uniform per network, bound ``sqrt(6 / fan_in)``; the authors' stacked (d, out, in)
  weights get ``sqrt(6 / (out * in))`` from ``kaiming_uniform_``, ``sqrt(out)`` times smaller;
- cycles are ordered exhaustively up to 7 nodes (the authors: up to 6) and, beyond, by moving single nodes to their
  best place until no move helps (the authors: one pass of moves).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import torch

from latentscm._validation import as_generator, check_choice, check_number
from latentscm.discovery.gies import intervention_targets
from latentscm.discovery.masked_conditionals import LIKELIHOODS, MaskedConditionals
from latentscm.discovery.pc import as_data_matrix
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["acyclic_by_orientation", "enco"]

#: Largest cycle (strongly connected component) ordered by trying every permutation.
EXHAUSTIVE_CYCLE = 7
#: Elements (graphs x rows x networks x features) evaluated at once in graph fitting.
_CHUNK_ELEMENTS = 1 << 23


class _MaskedAdam:
    """Adam on one tensor where each step updates only the entries of a mask, their moments and bias corrections
    advancing only then (the authors' ``AdamTheta``); the mask's values scale the step (1, or 0.1 for pairs
    without an intervened end)."""

    def __init__(self, param: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.steps = torch.zeros_like(param)
        self.first = torch.zeros_like(param)
        self.second = torch.zeros_like(param)

    @torch.no_grad()
    def step(self, grad: torch.Tensor, mask: torch.Tensor) -> None:
        """Update the entries where ``mask > 0`` with gradient ``grad``, scaled by ``mask``."""
        on = mask > 0
        beta1, beta2 = self.betas
        self.steps += on.to(self.steps.dtype)
        self.first = torch.where(on, beta1 * self.first + (1 - beta1) * grad, self.first)
        self.second = torch.where(on, beta2 * self.second + (1 - beta2) * grad ** 2, self.second)
        correction1 = torch.where(self.steps > 0, 1 - beta1 ** self.steps, torch.ones_like(self.steps))
        correction2 = torch.where(self.steps > 0, 1 - beta2 ** self.steps, torch.ones_like(self.steps))
        update = self.lr * (self.first / correction1) / (torch.sqrt(self.second / correction2) + self.eps)
        self.param -= mask * update


class _ConfounderAdam:
    """Adam on ``gamma`` that keeps two first moments and two step counts per entry: one for steps that intervene
    on the edge's source ("interventional") and one for the others ("observational"), with one shared second
    moment, and sums each kind's updates (the authors' ``AdamGamma``, their §4.5). The intervened variable's own
    column is left alone. ``updates`` (d, d, 2) gives the latent-confounder score."""

    def __init__(self, param: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.9),
                 eps: float = 1e-8) -> None:
        self.param, self.lr, self.betas, self.eps = param, lr, betas, eps
        self.steps = torch.zeros(*param.shape, 2)
        self.first = torch.zeros(*param.shape, 2)
        self.second = torch.zeros_like(param)
        self.updates = torch.zeros(*param.shape, 2)

    @torch.no_grad()
    def step(self, grad: torch.Tensor, v: int) -> None:
        """One step with gradient ``grad`` (d, d) from rows intervening on variable ``v``."""
        d = grad.shape[0]
        beta1, beta2 = self.betas
        free = torch.ones(d, d)
        free[:, v] = 0.0
        source = torch.zeros(d, d)
        source[v] = 1.0
        on = torch.stack([free * (1 - source), free * source], dim=-1)  # (d, d, 2): observational, interventional
        self.steps += on
        self.first = torch.where(on > 0, beta1 * self.first + (1 - beta1) * grad[..., None], self.first)
        self.second = torch.where(free > 0, beta2 * self.second + (1 - beta2) * grad ** 2, self.second)
        correction1 = torch.where(self.steps > 0, 1 - beta1 ** self.steps, torch.ones_like(self.steps))
        total = self.steps.sum(dim=-1)
        correction2 = torch.where(total > 0, 1 - beta2 ** total, torch.ones_like(total))
        rate = self.lr / (torch.sqrt(self.second / correction2) + self.eps)
        update = -rate[..., None] * (self.first / correction1) * on
        self.param += update.sum(dim=-1)
        self.updates += update

    def scores(self) -> torch.Tensor:
        """The latent-confounder score (d, d), symmetric: ``lc_ij lc_ji`` with ``lc_ij = sigma(obs_ij) (1 -
        sigma(int_ij))``, the summed observational and interventional updates of ``gamma_ij``."""
        single = torch.sigmoid(self.updates[..., 0]) * (1 - torch.sigmoid(self.updates[..., 1]))
        return single * single.T


def _best_order(nodes: list[int], log_orient: np.ndarray) -> list[int]:
    """The order of ``nodes`` maximising the summed ``log_orient[a, b]`` over ordered pairs (a before b)."""

    def score(order: Sequence[int]) -> float:
        index = np.asarray(order)
        return float(np.triu(log_orient[np.ix_(index, index)], k=1).sum())

    if len(nodes) <= EXHAUSTIVE_CYCLE:
        return list(max(itertools.permutations(nodes), key=score))
    order = sorted(nodes, key=lambda a: -log_orient[a, nodes].sum())  # most "source-like" first
    improved = True
    while improved:  # move single nodes to their best place while a move raises the score
        improved = False
        for node in list(order):
            rest = [b for b in order if b != node]
            before = np.concatenate([[0.0], np.cumsum(log_orient[rest, node])])  # rest[:t] before the node
            after = np.concatenate([np.cumsum(log_orient[node, rest][::-1])[::-1], [0.0]])  # rest[t:] after it
            gains = before + after  # (len(rest) + 1,): the node's pairs' score at each insertion place
            place = order.index(node)  # where it stands now, among the rest
            best = int(np.argmax(gains))
            if gains[best] > gains[place] + 1e-12:
                order = rest[:best] + [node] + rest[best:]
                improved = True
    return order


def acyclic_by_orientation(adjacency: np.ndarray, orientation: np.ndarray, existence: np.ndarray | None = None
                           ) -> tuple[np.ndarray, list[tuple[int, int]], list[tuple[int, int]]]:
    """Break the cycles of a directed graph by ENCO's orientation probabilities.

    ``adjacency`` (d, d) 0/1, ``[i, j] = 1`` for ``i -> j``; ``orientation`` (d, d), ``sigma(theta)``; ``existence``
    (d, d) ``sigma(gamma)``, optional. The nodes of each strongly connected component are ordered to maximise
    ``sum log orientation[a, b]`` over pairs ``a`` before ``b``. Without ``existence`` the component's edges against
    that order are removed. With it, as the authors' ``find_best_acyclic_graph``: the component's orientations are
    set to the order and its edges are the pairs with ``existence > 0.5`` along it (an edge against the order whose
    reverse exists is turned round). A self-loop is removed. Returns the acyclic adjacency, the removed edges and the
    added ones (pairs ``(i, j)``).
    """
    owner = "acyclic_by_orientation"
    matrix = np.asarray(adjacency)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.isin(matrix, (0, 1)).all():
        raise ValueError(f"The 'adjacency' argument of {owner} must be a square 0/1 matrix (d, d); got shape "
                         f"{matrix.shape}" + ("." if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]
                                              else " with values other than 0 and 1."))
    d = matrix.shape[0]
    for name, values in (("orientation", orientation), ("existence", existence)):
        if values is not None and np.shape(values) != (d, d):
            raise ValueError(f"The '{name}' argument of {owner} must be ({d}, {d}) like 'adjacency'; got shape "
                             f"{np.shape(values)}.")
    result = matrix.astype(np.int64).copy()
    log_orient = np.log(np.asarray(orientation, dtype=np.float64) + 1e-10)
    exists = None if existence is None else np.asarray(existence, dtype=np.float64) > 0.5
    removed = [(int(i), int(i)) for i in np.flatnonzero(np.diag(result))]
    np.fill_diagonal(result, 0)
    added: list[tuple[int, int]] = []
    for component in nx.strongly_connected_components(nx.DiGraph(result)):
        if len(component) < 2:
            continue
        order = _best_order(sorted(component), log_orient)
        rank = {node: k for k, node in enumerate(order)}
        for i in order:
            for j in order:
                keep = rank[i] < rank[j] and (result[i, j] == 1 if exists is None else bool(exists[i, j]))
                if result[i, j] and not keep:
                    removed.append((int(i), int(j)))
                elif keep and not result[i, j]:
                    added.append((int(i), int(j)))
                result[i, j] = int(keep)
    return result, sorted(removed), sorted(added)


def _check_options(owner: str, **values: Any) -> dict[str, Any]:
    """The integer and positive hyperparameters of :func:`enco`, checked."""
    checked: dict[str, Any] = {}
    for name in ("hidden", "layers", "epochs", "model_steps", "batch_size"):
        checked[name] = check_number(values[name], name, owner, low=1, integer=True)
    # the estimators compare graphs with and without each edge: one graph never has both
    checked["n_graphs"] = check_number(values["n_graphs"], "n_graphs", owner, low=2, integer=True)
    checked["graph_steps"] = check_number(values["graph_steps"], "graph_steps", owner, low=0, integer=True)
    for name in ("lr_model", "lr_gamma", "lr_theta"):
        checked[name] = check_number(values[name], name, owner, low=0, low_inclusive=False)
    for name in ("lambda_sparse", "weight_decay"):
        checked[name] = check_number(values[name], name, owner, low=0)
    checked["confounder_threshold"] = check_number(values["confounder_threshold"], "confounder_threshold", owner,
                                                   low=0, high=1)
    for name in ("acyclic", "standardize", "confounders"):
        if not isinstance(values[name], (bool, np.bool_)):
            raise TypeError(f"The {name!r} parameter of {owner} must be True or False. Got {values[name]!r}.")
        checked[name] = bool(values[name])
    return checked


def _prepare(data: Any, targets: Any, likelihood: str, standardize: bool, node_names: Sequence[str] | None,
             owner: str) -> tuple[np.ndarray, tuple[str, ...], np.ndarray, list[int] | None]:
    """(values (n, d), names, target per row (n,) with -1 for observational, states per variable or None)."""
    categorical = likelihood == "categorical"
    matrix, names = as_data_matrix(data, node_names, owner, categorical=categorical)
    n, d = matrix.shape
    if d < 2:
        raise ValueError(f"The 'data' argument of {owner} needs at least 2 variables; got {d}.")
    mask = intervention_targets(targets, n, names, owner)
    counts = mask.sum(axis=1)
    for row in np.flatnonzero(counts > 1)[:1]:
        several = [names[v] for v in np.flatnonzero(mask[row])]
        raise ValueError(f"The 'targets' argument of {owner} intervenes on {several} in row {row}; "
                         "ENCO takes single-variable interventions (one target per row, or none).")
    target = np.where(counts == 1, mask.argmax(axis=1), -1)
    observational = target < 0
    if observational.sum() < 2:
        raise ValueError(f"The 'targets' argument of {owner} leaves {int(observational.sum())} observational rows; "
                         "ENCO fits its conditional distributions on observational data and needs at least 2.")
    if not (~observational).any():
        raise ValueError(f"The 'targets' argument of {owner} names no interventions; ENCO orients edges from "
                         "interventional rows. For observational data use pc, ges or dagma_mlp.")
    states = None
    if categorical:
        states = [int(matrix[:, j].max()) + 1 for j in range(d)]
    else:
        obs = matrix[observational]
        spread = obs.std(axis=0)
        for j in np.flatnonzero(spread == 0)[:1]:
            raise ValueError(f"The 'data' argument of {owner} has variable {names[j]!r} constant on the observational "
                             "rows; its Gaussian conditional cannot be fitted.")
        if standardize:
            matrix = (matrix - obs.mean(axis=0)) / spread
    return matrix, names, target, states


def enco(data: Any, targets: Any, *, likelihood: str = "gaussian", hidden: int = 64, layers: int = 2,
         epochs: int = 30, model_steps: int = 1000, graph_steps: int = 100, batch_size: int = 128,
         n_graphs: int = 100, lambda_sparse: float = 0.004, lr_model: float = 5e-3, lr_gamma: float = 2e-2,
         lr_theta: float = 0.1, weight_decay: float = 0.0, acyclic: bool = True, standardize: bool = True,
         confounders: bool = False, confounder_threshold: float = 0.35, seed: int | np.random.Generator = 0,
         node_names: Sequence[str] | None = None, progress: bool = False) -> DiscoveredGraph:
    """ENCO (Lippe et al., ICLR 2022): a DAG from observational and single-variable interventional rows.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame of all rows, observational and interventional.
        For ``likelihood="categorical"``, categories (integers or text), recoded to ``0 .. k-1`` per column.
    targets: the intervened variable of each row: a bool array (n, d) (a world batch's ``targets``), or n target sets
        of names or positions (empty or None: observational). At most one target per row.
    likelihood: ``"gaussian"`` (continuous variables) or ``"categorical"``.
    hidden, layers: width and number of hidden layers of each variable's network.
    epochs: rounds of distribution fitting and graph fitting.
    model_steps, graph_steps: steps of each stage per round.
    batch_size: rows per step, in both stages.
    n_graphs: graphs drawn per graph-fitting step (at least 2).
    lambda_sparse: the sparsity penalty on each edge's probability.
    lr_model, lr_gamma, lr_theta: learning rates of the networks, the existence and the orientation logits.
    weight_decay: the networks' Adam weight decay.
    acyclic: break the result's cycles by the orientation probabilities (see the module docstring); the raw graph of
        ``gamma > 0 and theta > 0`` is always in ``info['raw_adjacency']``.
    standardize: for ``"gaussian"``, centre and scale each column by its observational mean and deviation.
    confounders: also detect latent confounders (the paper's §4.5): ``gamma``'s updates from steps that intervene on
        an edge's source and from the others are summed apart, and a pair whose edges grow on observational steps
        but shrink when either end is intervened on scores high (``info['confounder_score']``); pairs scoring at least
        ``confounder_threshold`` (the paper's tau, 0.35) lose their edges and are listed in ``info['confounded']``.
        Needs interventions on both ends of a pair to score it.
    seed: seed or generator of everything random (initial weights, graphs, batches, the order of interventions).
    node_names: names of the d columns (default ``X0, X1, ...``).
    progress: show a progress bar over the epochs on stderr (tqdm), with the last observational NLL and the number
        of edges whose probability exceeds 0.5; it changes nothing in the result.

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d), a directed graph (``[i, j] = 1`` for ``i -> j``). ``info`` holds the
    method, hyperparameters, ``n_observational``, ``intervened`` (names), ``edge_probability`` (d, d),
    ``existence_probability`` ``sigma(gamma)``, ``orientation_probability`` ``sigma(theta)`` (nested lists),
    ``raw_adjacency``, ``removed_for_acyclicity`` and ``added_for_acyclicity`` (pairs of names), ``final_nll`` (the
    mean observational negative log-likelihood per variable under the graph's own parent sets) and, with
    ``confounders=True``, ``confounder_score`` (d, d) and ``confounded`` (pairs of names).
    """
    owner = "enco"
    likelihood = check_choice(likelihood, "likelihood", owner, LIKELIHOODS)
    options = _check_options(owner, hidden=hidden, layers=layers, epochs=epochs, model_steps=model_steps,
                             graph_steps=graph_steps, batch_size=batch_size, n_graphs=n_graphs,
                             lambda_sparse=lambda_sparse, lr_model=lr_model, lr_gamma=lr_gamma, lr_theta=lr_theta,
                             weight_decay=weight_decay, acyclic=acyclic, standardize=standardize,
                             confounders=confounders, confounder_threshold=confounder_threshold)
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"The 'progress' argument of {owner} must be True or False. Got {progress!r}.")
    rng = as_generator(seed)
    matrix, names, target, states = _prepare(data, targets, likelihood, options["standardize"], node_names, owner)
    n, d = matrix.shape
    generator = torch.Generator().manual_seed(int(rng.integers(2 ** 63)))
    dtype = torch.long if likelihood == "categorical" else torch.float32
    x_all = torch.as_tensor(matrix, dtype=dtype)
    obs_rows = np.flatnonzero(target < 0)
    intervened = sorted(int(v) for v in np.unique(target[target >= 0]))
    rows_of = {v: np.flatnonzero(target == v) for v in intervened}

    model = MaskedConditionals(d, hidden=options["hidden"], layers=options["layers"], likelihood=likelihood,
                               categories=states, generator=generator)
    model_optimiser = torch.optim.Adam(model.parameters(), lr=options["lr_model"], betas=(0.9, 0.999),
                                       weight_decay=options["weight_decay"])
    gamma = torch.zeros(d, d, requires_grad=True)
    theta = torch.zeros(d, d)
    gamma_optimiser: torch.optim.Optimizer | _ConfounderAdam
    if options["confounders"]:
        gamma.requires_grad_(False)
        gamma_optimiser = _ConfounderAdam(gamma, options["lr_gamma"])
    else:
        gamma_optimiser = torch.optim.Adam([gamma], lr=options["lr_gamma"], betas=(0.9, 0.9))
    theta_optimiser = _MaskedAdam(theta, options["lr_theta"])
    off_diagonal = 1.0 - torch.eye(d)
    never = np.setdiff1d(np.arange(d), intervened)
    unintervened_pairs = torch.zeros(d, d)
    unintervened_pairs[np.ix_(never, never)] = 1.0
    unintervened_pairs *= off_diagonal

    def edge_probability() -> torch.Tensor:
        return torch.sigmoid(gamma.detach()) * torch.sigmoid(theta) * off_diagonal

    batch = min(options["batch_size"], obs_rows.size)
    order: list[int] = []
    position = obs_rows.size
    queue: list[int] = []
    from tqdm.auto import tqdm

    bar = tqdm(total=options["epochs"], desc="enco", unit="epoch", disable=not progress, leave=False)
    try:
        for _ in range(options["epochs"]):
            probability = edge_probability()
            model.train()
            for _ in range(options["model_steps"]):  # distribution fitting on observational rows
                if position + batch > obs_rows.size:
                    order, position = list(rng.permutation(obs_rows)), 0
                rows = order[position:position + batch]
                position += batch
                graphs = torch.bernoulli(probability.expand(len(rows), d, d), generator=generator)
                loss = model.nll(x_all[rows], graphs.transpose(1, 2)).mean()
                model_optimiser.zero_grad()
                loss.backward()
                model_optimiser.step()
            model.eval()
            for _ in range(options["graph_steps"]):  # graph fitting on interventional rows
                if not queue:
                    queue = [int(v) for v in rng.permutation(intervened)]
                v = queue.pop()
                pool = rows_of[v]
                rows = rng.choice(pool, size=min(options["batch_size"], pool.size), replace=False)
                _graph_step(model, x_all[rows], v, gamma, theta, gamma_optimiser, theta_optimiser, options,
                            unintervened_pairs, off_diagonal, generator)
            if progress:  # reads state only: no random draw, so the result is the same with or without the bar
                bar.set_postfix(nll=f"{float(loss.detach()):.3f}", edges=int((edge_probability() > 0.5).sum()))
                bar.update()
    finally:
        bar.close()

    with torch.no_grad():
        existence = torch.sigmoid(gamma.detach()).numpy().astype(np.float64)
        orientation = torch.sigmoid(theta).numpy().astype(np.float64)
        raw = ((gamma.detach() > 0) & (theta > 0)).numpy().astype(np.int64) * (1 - np.eye(d, dtype=np.int64))
        confounded: list[tuple[int, int]] = []
        if isinstance(gamma_optimiser, _ConfounderAdam):
            confounder_score = gamma_optimiser.scores().numpy().astype(np.float64)
            np.fill_diagonal(confounder_score, 0.0)
            flagged = np.triu(confounder_score >= options["confounder_threshold"], k=1)
            confounded = [(int(i), int(j)) for i, j in zip(*np.nonzero(flagged))]
            raw = raw * ~(flagged | flagged.T)
        adjacency, removed, added = (acyclic_by_orientation(raw, orientation, existence) if options["acyclic"]
                                     else (raw, [], []))
        parents = torch.as_tensor(adjacency.T, dtype=torch.float32)
        obs = x_all[obs_rows]
        final_nll = float(model.nll(obs, parents.expand(len(obs_rows), d, d)).mean())
    np.fill_diagonal(existence, 0.0)
    np.fill_diagonal(orientation, 0.0)
    info = {"method": "enco", "likelihood": likelihood, **options, "n_samples": int(n),
            "n_observational": int(obs_rows.size), "intervened": [names[v] for v in intervened],
            "edge_probability": (existence * orientation).tolist(), "existence_probability": existence.tolist(),
            "orientation_probability": orientation.tolist(), "raw_adjacency": raw.tolist(),
            "removed_for_acyclicity": [[names[i], names[j]] for i, j in removed],
            "added_for_acyclicity": [[names[i], names[j]] for i, j in added], "final_nll": final_nll}
    if options["confounders"]:
        info["confounder_score"] = confounder_score.tolist()
        info["confounded"] = [[names[i], names[j]] for i, j in confounded]
    return DiscoveredGraph(names, adjacency, {}, info)


@torch.no_grad()
def _graph_nll(model: MaskedConditionals, x: torch.Tensor, graphs: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood (G, d) of the rows ``x`` (B, d) under each graph (G, d, d)."""
    n_graphs, d, _ = graphs.shape
    rows = x.shape[0]
    width = max(int(model.weights[0].shape[1]), int(model.weights[0].shape[2]))
    chunk = max(1, _CHUNK_ELEMENTS // max(1, rows * d * width))
    parts = []
    for start in range(0, n_graphs, chunk):
        part = graphs[start:start + chunk]
        g = part.shape[0]
        masks = part.transpose(1, 2)[:, None].expand(g, rows, d, d).reshape(g * rows, d, d)
        repeated = x[None].expand(g, *x.shape).reshape(g * rows, d)
        parts.append(model.nll(repeated, masks).reshape(g, rows, d).mean(dim=1))
    return torch.cat(parts)


def _graph_step(model: MaskedConditionals, x: torch.Tensor, v: int, gamma: torch.Tensor, theta: torch.Tensor,
                gamma_optimiser: torch.optim.Optimizer | _ConfounderAdam, theta_optimiser: _MaskedAdam,
                options: dict[str, Any], unintervened_pairs: torch.Tensor, off_diagonal: torch.Tensor,
                generator: torch.Generator) -> None:
    """One graph-fitting step on rows ``x`` (B, d) that intervene on variable ``v``."""
    d = gamma.shape[0]
    existence = torch.sigmoid(gamma.detach())
    orientation = torch.sigmoid(theta)
    probability = existence * orientation * off_diagonal
    graphs = torch.bernoulli(probability.expand(options["n_graphs"], d, d), generator=generator)
    nll = _graph_nll(model, x, graphs)[:, None, :]  # (G, 1, d): entry [g, 0, j] scores x_j
    with_edge = graphs.sum(dim=0)
    without = options["n_graphs"] - with_edge
    informative = ((with_edge > 0) & (without > 0)).to(nll.dtype)
    difference = ((nll * graphs).sum(dim=0) / with_edge.clamp(min=1e-5)
                  - (nll * (1 - graphs)).sum(dim=0) / without.clamp(min=1e-5))
    gamma_grad = informative * existence * (1 - existence) * orientation * (difference + options["lambda_sparse"])
    gamma_grad[:, v] = 0.0
    gamma_grad *= off_diagonal
    theta_grad = informative * orientation * (1 - orientation) * existence * difference
    keep = unintervened_pairs.clone()
    keep[v] = 1.0
    theta_grad = theta_grad * keep
    theta_grad = (theta_grad - theta_grad.T) * off_diagonal
    step_mask = 0.1 * unintervened_pairs
    step_mask[v] = 1.0
    step_mask[:, v] = 1.0
    step_mask[v, v] = 0.0
    if isinstance(gamma_optimiser, _ConfounderAdam):
        gamma_optimiser.step(gamma_grad, v)
    else:
        gamma_optimiser.zero_grad()
        gamma.grad = gamma_grad
        gamma_optimiser.step()
    theta_optimiser.step(theta_grad, step_mask)
