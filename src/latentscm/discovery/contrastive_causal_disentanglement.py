"""Contrastive causal disentanglement: linear Gaussian latents under a nonlinear mixing, from interventions.

Buchholz, Rajendran, Rosenfeld, Aragam, Schölkopf & Ravikumar (NeurIPS 2023), "Learning linear causal
representations from interventions under general nonlinear mixing", reimplemented from the paper; the authors'
code, as shipped in simonbing/CRLSanityCheck (``crc/baselines/contrastive_crl``), was read for the loss, the
parametrisation and the training settings (no code copied).

**Data model.** Latents ``z`` (d,) follow a linear Gaussian SCM ``z = A z + eps`` on a DAG (``A[i, j]``: the weight of
``j -> i``; ``eps_i ~ N(0, sigma_i^2)``), and observations are ``x = f(z)`` for an unknown injective ``f`` (p >= d).
Besides the observational context there are d interventional ones; context ``k`` replaces the mechanism of one
unknown latent by ``z_k ~ N(mu_k, tau_k^2)`` (a perfect intervention, with a new mean or variance). The paper proves
that the latents, up to scale and shift, and their graph are identified from such data, with no knowledge of ``f``
nor of the targets (Theorem 3.2).

**Why a classifier identifies them.** The same ``f`` maps every context, so the Jacobian cancels in a density ratio:
``log p_k(x) - log p_0(x) = log q_k(z) - log q_0(z)``, and for the Gaussian model above

    log q_k(z) - log q_0(z) = c_k + beta_k z_k - lambda_k^2 z_k^2 + (s_k (z_k - sum_j A[k, j] z_j))^2,

with ``s_k = 1 / (sqrt(2) sigma_k)`` (the row of the observational precision root the intervention removes) and
``lambda_k = 1 / (sqrt(2) tau_k)``. The method trains an encoder ``g`` (x -> d latents: an MLP on the flattened
rows, as in the authors' synthetic experiments, or, for image rows, ``encoder="conv"``, the library's convolutional
encoder) together with these parameters (``A`` with a zero diagonal, ``s``, ``lambda``, ``beta``, ``c``) as d
logistic classifiers, context ``k`` against the observational one, with exactly that log-odds applied to
``z = g(x)``. The Bayes-optimal
classifier has this form only when ``g`` recovers the latents (the theorem), and latent ``k`` is, by construction,
the one context ``k`` intervened on: no matching of latents to targets is needed.

**Training** (the authors' settings, ``settings.yaml``): Adam, learning rate 5e-4 for both parts (as their
``lr_nonparametric`` and ``lr_parametric``; ``log_odds_learning_rate`` sets the second apart), batches of 512
interventional rows, each paired with as many observational rows scored under the same contexts; the binary
cross-entropies of both, plus ``mean_penalty * |mean of g(x) over the observational batch|^2`` (scale and shift are
free; this pins the shift), ``l1 * |A|_1`` and ``acyclicity * (tr exp(A * A) - d)`` (NOTEARS, Zheng et al. 2018). A
held-out part of every context gives the validation cross-entropy: the learning rate is multiplied by 0.3 when 3
epochs in a row bring no improvement (on the 4th, as torch's ``ReduceLROnPlateau(patience=3)``), and the epoch with
the lowest validation loss is kept. Inputs are used as given, as in the authors' code: ``standardize=True`` (each
column to the observational context's mean 0 and variance 1) frees the fit from the columns' units but measured
worse on the authors' data (``bench_contrastive_causal_disentanglement.py``: a standardised start lost one latent
of five on one seed of three, MCC 0.87 against 0.96, with a lower validation loss, so that loss does not tell the
two apart). Their observations have standard deviations near 0.015, on which the encoder starts out nearly linear;
that this is why is a guess, not checked.

**The fit** (:class:`ContrastiveCausalDisentanglement`) reports latents on a fixed scale: each has mean 0 and
variance 1 in the observational training rows, with the sign that makes its own context's mean the larger (a
convention: the sign is not identified). ``weights[j, i]`` (``j -> i``) is ``A`` in those units and
``noise_scales`` the spread of each latent around its fitted mechanism.
:meth:`~ContrastiveCausalDisentanglement.graph` thresholds the weights and, while the thresholded graph has a cycle
(the acyclicity penalty is soft), drops the cycle's weakest edge. The method has no decoder:
:meth:`~ContrastiveCausalDisentanglement.counterfactual_latents` gives the latent counterfactual under the fitted
SCM, and :meth:`~ContrastiveCausalDisentanglement.fit_decoder` (not in the paper) trains a decoder on the frozen
encoder afterwards, for counterfactual observations (:meth:`~ContrastiveCausalDisentanglement.counterfactual`).
The weights come from the classifier, where the l1 and acyclicity penalties pull on them and they enter the loss only
through one quadratic term; :meth:`~ContrastiveCausalDisentanglement.refit_mechanisms` (not in the paper) refits
them by least squares on the encoded contexts, on the fitted graph or on GIES's graph with the known targets.

For a linear mixing, :func:`~latentscm.discovery.linear_causal_disentanglement.linear_causal_disentanglement`
gives the same model in closed form.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np
import torch
from scipy.stats import norm
from torch import nn

from latentscm._devices import check_device
from latentscm._io import json_ready
from latentscm._seeding import seeded_torch
from latentscm._validation import as_generator, check_array, check_choice, check_names, check_number, check_sequence
from latentscm.discovery.environment_labels import split_by_environment
from latentscm.discovery.ges import _topological_order, consistent_extension
from latentscm.discovery.gies import gies
from latentscm.discovery.result import DiscoveredGraph
from latentscm.interventions import hard_values
from latentscm.nn.conv import ConvDecoder, ConvEncoder, conv_shapes
from latentscm.nn.mlp import MLP
from latentscm.training.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["ContrastiveCausalDisentanglement", "GaussianInterventionLogOdds", "contrastive_causal_disentanglement",
           "contrastive_causal_disentanglement_by_environment", "contrastive_causal_disentanglement_graph"]

_OWNER = "contrastive_causal_disentanglement"
#: The encoders (and decoders) a fit can use: a multilayer perceptron on the flattened rows, or a convolutional
#: network (:class:`~latentscm.nn.conv.ConvEncoder` / :class:`~latentscm.nn.conv.ConvDecoder`) on image rows (C, H, W).
NETWORKS = ("mlp", "conv")
#: The outputs of a decoder (:meth:`ContrastiveCausalDisentanglement.fit_decoder`): any values, or values in [0, 1].
OUTPUTS = ("linear", "sigmoid")
#: The scales the latent mechanisms can be linear in (:meth:`ContrastiveCausalDisentanglement.refit_mechanisms`).
MARGINALS = ("linear", "gaussian")
#: The ``format`` of a saved fit (:meth:`ContrastiveCausalDisentanglement.save`).
FORMAT = "latentscm.contrastive_causal_disentanglement/2"
#: Formats :meth:`ContrastiveCausalDisentanglement.load` reads (1: written before refitted mechanisms, whose
#: ``marginals`` a reader of format 1 would drop and so misread the weights).
READABLE_FORMATS = ("latentscm.contrastive_causal_disentanglement/1", FORMAT)


class GaussianInterventionLogOdds(nn.Module):
    """The log-odds of interventional context ``k`` against the observational one, for latents from a linear
    Gaussian SCM in which context ``k`` perfectly intervenes on latent ``k`` (see the module docstring):

        c_k + beta_k z_k - (lambda_k z_k)^2 + (s_k (z_k - sum_{j != k} A[k, j] z_j))^2.

    Parameters start where the log-odds is ``c_k + beta_k z_k`` (``A = 0``, ``s = lambda = 1``, ``beta = 1``,
    ``c = 0``), as in the authors' code.
    """

    def __init__(self, d: int):
        super().__init__()
        self.d = int(d)
        self.constant = nn.Parameter(torch.zeros(self.d))
        self.linear = nn.Parameter(torch.ones(self.d))
        self.intervened_precision_root = nn.Parameter(torch.ones(self.d))
        self.precision_root = nn.Parameter(torch.ones(self.d))
        self.weights = nn.Parameter(torch.zeros(self.d, self.d))
        self.register_buffer("off_diagonal", 1.0 - torch.eye(self.d))

    def adjacency_weights(self) -> torch.Tensor:
        """(d, d) ``A`` with its diagonal zeroed: ``A[i, j]`` is the weight of ``j -> i``."""
        return self.weights * self.off_diagonal

    def forward(self, z: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Log-odds (N,) of ``context`` (N,) int in ``[0, d)`` against the observational context, at ``z`` (N, d)."""
        rows = torch.arange(z.shape[0], device=z.device)
        own = z[rows, context]
        residual = own - (z * self.adjacency_weights()[context]).sum(1)
        return (self.constant[context] + self.linear[context] * own
                - (self.intervened_precision_root[context] * own) ** 2
                + (self.precision_root[context] * residual) ** 2)

    def all_contexts(self, z: torch.Tensor) -> torch.Tensor:
        """Log-odds (N, d) of every context against the observational one."""
        residual = z - z @ self.adjacency_weights().T
        return (self.constant + self.linear * z - (self.intervened_precision_root * z) ** 2
                + (self.precision_root * residual) ** 2)

    def acyclicity(self) -> torch.Tensor:
        """NOTEARS' ``tr exp(A * A) - d`` (0 exactly for a DAG)."""
        a = self.adjacency_weights()
        return torch.trace(torch.matrix_exp(a * a)) - self.d


@dataclass(frozen=True, eq=False)  # holds networks: fits compare by identity
class ContrastiveCausalDisentanglement:
    """A fitted contrastive causal disentanglement (see the module docstring). Latent ``k`` (named ``nodes[k]``)
    is the variable interventional context ``k`` set.

    Attributes
    ----------
    nodes: latent names, one per interventional context.
    weights: (d, d) ``weights[j, i]``: the coefficient of latent ``j`` in latent ``i``'s mechanism (``j -> i``), in
        the reported units (unit observational variance), or on the Gaussianised scale where ``marginals`` is set.
    noise_scales: (d,) standard deviation of each latent's noise term, in the same units: the spread of each
        latent around its part from the fitted weights, on the observational training rows (the log-odds alone
        fixes ``s_k`` only where latent ``k`` has parents; for a root only ``s_k^2 - lambda_k^2`` enters).
    encoder: the trained network (p standardised inputs -> d raw latents), in evaluation mode.
    log_odds_model: the trained :class:`GaussianInterventionLogOdds` (on raw latents).
    input_mean, input_scale: (p,) the standardisation of the inputs.
    latent_mean, latent_scale: (d,) raw latent ``k`` is reported as ``(raw - latent_mean) / latent_scale``
        (``latent_scale`` carries the sign convention).
    info: settings, sizes, the validation loss and accuracy, and the training history.
    decoder: None, or a network (d reported latents -> p inputs) trained afterwards on the frozen encoder by
        :meth:`fit_decoder`, for :meth:`decode` and :meth:`counterfactual`.
    marginals: None (the mechanisms are linear in the reported latents), or (d, K) knots: latent k's observational
        quantiles at the standard normal's ``K`` quantile levels (:meth:`refit_mechanisms` with
        ``marginals="gaussian"``), which map each reported latent to a standard normal one
        (:meth:`mechanism_scale`): ``weights`` and ``noise_scales`` are then on that scale.
    """

    nodes: tuple[str, ...]
    weights: np.ndarray
    noise_scales: np.ndarray
    encoder: nn.Module
    log_odds_model: GaussianInterventionLogOdds
    input_mean: np.ndarray
    input_scale: np.ndarray
    latent_mean: np.ndarray
    latent_scale: np.ndarray
    info: Mapping[str, Any] = field(default_factory=dict)
    decoder: nn.Module | None = None
    marginals: np.ndarray | None = None

    # ------------------------------------------------------------------ the representation
    def encode(self, x: Any, *, batch_size: int = 4096) -> np.ndarray:
        """Latents (N, d) of observations ``x`` (N, p) (or (N, ...), rows shaped as in the fit), on the reported
        scale."""
        raw = self._raw(self._observations(x, "encode"), batch_size, "encode")
        return (raw - self.latent_mean) / self.latent_scale

    def log_odds(self, x: Any, *, batch_size: int = 4096) -> np.ndarray:
        """(N, d): the fitted log-odds of each interventional context against the observational one at ``x``."""
        raw = self._raw(self._observations(x, "log_odds"), batch_size, "log_odds")
        with torch.no_grad():
            return self.log_odds_model.all_contexts(torch.as_tensor(raw, dtype=torch.float32)).double().numpy()

    def graph(self, threshold: float | None = None) -> DiscoveredGraph:
        """The latent DAG: ``j -> i`` where ``|weights[j, i]| > threshold`` (default ``info["edge_threshold"]``),
        then, while a cycle is left (the acyclicity penalty is soft), its weakest edge dropped (``info["dropped"]``
        lists them in the order dropped; a global threshold high enough to break the cycles would drop every edge weaker
        than the cycle's, on it or not)."""
        owner = f"{type(self).__name__}.graph"
        threshold = float(self.info["edge_threshold"] if threshold is None else check_number(
            threshold, "threshold", owner, low=0))
        strength = np.abs(self.weights)
        adjacency = (strength > threshold).astype(np.int64)
        dropped: list[tuple[str, str]] = []
        graph = nx.DiGraph([(int(j), int(i)) for j, i in zip(*np.nonzero(adjacency))])
        while True:
            try:
                cycle = nx.find_cycle(graph)
            except nx.NetworkXNoCycle:
                break
            j, i = min(((a, b) for a, b in cycle), key=lambda edge: (strength[edge], edge))
            graph.remove_edge(j, i)
            adjacency[j, i] = 0
            dropped.append((self.nodes[j], self.nodes[i]))
        order = _topological_order(adjacency)
        return DiscoveredGraph(self.nodes, adjacency, info={
            **{k: v for k, v in self.info.items() if k != "history"}, "edge_threshold": threshold,
            "dropped": dropped, "order": [self.nodes[i] for i in order]})

    def counterfactual_latents(self, z: Any, interventions: Mapping[str, float]) -> np.ndarray:
        """Latents (N, d) had the latents ``z`` (N, d, reported scale) been set as ``interventions`` (name -> value):
        each latent's noise abducted under the fitted linear mechanisms (on :meth:`graph`'s edges), the
        intervened latents set, the others recomputed in topological order. Where the mechanisms are linear on the
        Gaussianised scale (``marginals``), latents and values are mapped there (:meth:`mechanism_scale`) and the
        result back."""
        owner = f"{type(self).__name__}.counterfactual_latents"
        z = check_array(z, "z", owner, ndim=2)
        if z.shape[1] != len(self.nodes):
            raise ValueError(f"{owner}: 'z' has {z.shape[1]} columns for {len(self.nodes)} latents "
                             f"{list(self.nodes)}.")
        fixed = hard_values(interventions, self.nodes, owner)
        if self.marginals is not None:  # the values, like the latents, onto the scale the mechanisms are linear in
            levels = _gaussian_levels(self.marginals.shape[1])
            fixed = {i: float(_piecewise_linear(np.array([v]), self.marginals[i], levels)[0]) for i, v in fixed.items()}
        z = self.mechanism_scale(z)
        graph = self.graph()
        weights = self.weights * graph.adjacency
        noise = z - z @ weights  # (N, d): each latent minus its parents' part
        new = z.copy()
        for i in (self.nodes.index(name) for name in graph.info["order"]):
            new[:, i] = fixed[i] if i in fixed else new @ weights[:, i] + noise[:, i]
        return self.mechanism_scale(new, inverse=True)

    def mechanism_scale(self, z: Any, *, inverse: bool = False) -> np.ndarray:
        """Reported latents ``z`` (N, d) on the scale the mechanisms are linear in (``inverse=True``: back): ``z``
        itself, or, after :meth:`refit_mechanisms` with ``marginals="gaussian"``, each latent mapped through its
        observational quantiles to a standard normal one (piecewise linear between the knots, linear beyond them, so
        the two directions are exact inverses)."""
        owner = f"{type(self).__name__}.mechanism_scale"
        if not isinstance(inverse, (bool, np.bool_)):
            raise TypeError(f"The 'inverse' argument of {owner} must be True or False. Got {inverse!r}.")
        z = check_array(z, "z", owner, ndim=2)
        if z.shape[1] != len(self.nodes):
            raise ValueError(f"{owner}: 'z' has {z.shape[1]} columns for {len(self.nodes)} latents "
                             f"{list(self.nodes)}.")
        if self.marginals is None:
            return z.copy()
        levels = _gaussian_levels(self.marginals.shape[1])
        return np.column_stack([_piecewise_linear(z[:, k], levels, knots) if inverse else
                                _piecewise_linear(z[:, k], knots, levels) for k, knots in enumerate(self.marginals)])

    def refit_mechanisms(self, observational: Any, interventional: Sequence[Any], *, graph: Any = "fit",
                         marginals: str = "linear", penalty_discount: float = 1.0, batch_size: int = 4096
                         ) -> ContrastiveCausalDisentanglement:
        """This fit with its latent SCM (``weights``, ``noise_scales``, :meth:`graph`) refitted on the encoded
        contexts, the encoder kept. Returns a new fit.

        The contrastive fit reads the weights off its classifier's log-odds, where a weight enters only through
        ``(s_k (z_k - sum_j A[k, j] z_j))^2`` and the l1 and acyclicity penalties pull on it. Once the latents are
        encoded, and latent ``k`` is known to be the one context ``k`` set (the method's own naming), each
        mechanism can instead be fitted directly: latent ``i`` regressed by least squares (with an intercept, which
        abduction absorbs) on its parents over the rows of every context that leaves it alone (all but context
        ``i``: a perfect intervention cuts it from its parents), and its noise scale the spread of the residuals on
        the observational rows. Not in Buchholz et al.; ``bench_contrastive_causal_disentanglement.py`` and
        ``bench_contrastive_balls.py`` compare the two for counterfactuals.

        Parameters
        ----------
        observational, interventional: the contexts, as given to :func:`contrastive_causal_disentanglement` (the
            training data, or any other draw of the same contexts in the same order).
        graph: the parents: ``"fit"`` (this fit's :meth:`graph`: the edges stay, their weights are refitted),
            ``"gies"`` (:func:`~latentscm.discovery.gies.gies` on the encoded latents, context ``k``'s rows
            targeting latent ``k``: with one perfect intervention per latent every edge is oriented), or a DAG over
            the latents: an adjacency (d, d) of 0/1, ``[j, i] = 1`` for ``j -> i``, or a graph object with
            ``.adjacency`` and ``.nodes`` (a :class:`~latentscm.graph.CausalGraph`, say), matched by name.
        marginals: ``"linear"``: the mechanisms are linear in the reported latents (the paper's model), or
            ``"gaussian"``: in the reported latents with each one's marginal mapped to a standard normal through its
            quantiles in the observational context (:meth:`mechanism_scale`). The model says the latents are
            Gaussian and identified up to scale; a trained encoder is not exact, and on the balls images its latents
            are curved functions of the true ones (two fits in ``bench_contrastive_balls.py``'s setting: a degree-5
            polynomial of its own coordinate explains 0.87 and 0.92 of a fitted latent's held-out variance, a line
            0.71 and 0.80), which a linear SCM on them cannot follow. Gaussianising the marginals undoes any
            distortion that is monotone per latent; the other latents' part stays.
        penalty_discount: the BIC penalty multiplier for ``graph="gies"``.
        batch_size: rows encoded at a time.

        The new fit's ``info["mechanisms"]`` records the graph's source, the marginals, the edges and rows and, for
        GIES, its penalty, score and rounds;
        ``info["edge_threshold"]`` becomes 0, so :meth:`graph` is the refitted graph. The classifier
        (``log_odds_model``, :meth:`log_odds`) is left as trained.
        """
        owner = f"{type(self).__name__}.refit_mechanisms"
        d = len(self.nodes)
        marginals = check_choice(marginals, "marginals", owner, MARGINALS)  # settings first: encoding takes long
        penalty_discount = check_number(penalty_discount, "penalty_discount", owner, low=0, low_inclusive=False)
        given = None
        if isinstance(graph, str):
            graph = check_choice(graph, "graph", owner, ("fit", "gies"))
        else:
            given = _given_dag(graph, self.nodes, owner)
        contexts, shape = _contexts(observational, interventional, owner)
        if len(contexts) != d + 1:
            raise ValueError(f"{owner}: 'interventional' has {len(contexts) - 1} contexts for the fit's {d} latents "
                             f"{list(self.nodes)}; give one per latent, in the fit's order.")
        fitted_shape = tuple(self.info.get("input_shape", [self.input_mean.shape[0]]))
        if tuple(shape) != fitted_shape:
            raise ValueError(f"{owner}: the contexts have rows of shape {shape}; the model was fitted on rows of "
                             f"shape {fitted_shape}.")
        latents = [(self._raw(c, batch_size, "refit_mechanisms") - self.latent_mean) / self.latent_scale
                   for c in contexts]
        knots = None
        if marginals == "gaussian":
            knots = _quantile_knots(latents[0], self.nodes, owner)
            levels = _gaussian_levels(knots.shape[1])
            latents = [np.column_stack([_piecewise_linear(z[:, k], knots[k], levels) for k in range(d)])
                       for z in latents]
        stacked = np.concatenate(latents)
        targets = np.concatenate([np.full(c.shape[0], k - 1) for k, c in enumerate(latents)])  # -1: observational
        record: dict[str, Any] = {"refit": "least_squares", "marginals": marginals}
        if given is None:
            record["graph"] = graph
            if graph == "fit":
                adjacency = self.graph().adjacency  # this fit's edges, whatever scale its weights were on
            else:
                mask = np.zeros((stacked.shape[0], d), dtype=bool)
                mask[targets >= 0, targets[targets >= 0]] = True
                found = gies(stacked, mask, penalty_discount=penalty_discount, node_names=self.nodes)
                adjacency = consistent_extension(found.adjacency)
                record.update({key: found.info[key] for key in ("penalty_discount", "score_value", "n_rounds")})
        else:
            adjacency = given
            record["graph"] = "given"
        weights = np.zeros((d, d))
        for i in range(d):
            parents, rows = np.flatnonzero(adjacency[:, i]), targets != i
            design = np.column_stack([np.ones(int(rows.sum())), stacked[rows][:, parents]])
            weights[parents, i] = np.linalg.lstsq(design, stacked[rows, i], rcond=None)[0][1:]
        noise_scales = (latents[0] - latents[0] @ weights).std(0)
        record["edges"] = int(adjacency.sum())
        record["samples"] = [int(c.shape[0]) for c in contexts]
        return replace(self, weights=weights, noise_scales=noise_scales, marginals=knots,
                       info={**self.info, "edge_threshold": 0.0, "mechanisms": record})

    # ------------------------------------------------------------------ observations back
    def fit_decoder(self, x: Any, *, hidden: Sequence[int] = (512,), epochs: int = 100, batch_size: int = 512,
                    learning_rate: float = 1e-3, validation: float = 0.2, network: str | None = None,
                    output: str = "linear", seed: int | np.random.Generator = 0) -> ContrastiveCausalDisentanglement:
        """This fit with a decoder from the reported latents of ``x`` (N, ...) to ``x``, trained on the frozen encoder
        (Adam; the epoch with the lowest loss on a held-out ``validation`` share is kept). The contrastive fit itself
        has no decoder: this is the step that gives :meth:`decode` and :meth:`counterfactual` (not in Buchholz et
        al.). Returns a new fit.

        ``network``: ``"mlp"`` (leaky ReLUs of the fit's ``negative_slope``, ``hidden`` widths in order) or
        ``"conv"`` (a :class:`~latentscm.nn.conv.ConvDecoder` mirroring the fit's ``channels`` and the dense widths
        ``hidden``, both run in reverse, as an encoder's mirror image; image rows only); default: the encoder's
        kind. ``output``: ``"linear"`` (any values; mean squared error) or ``"sigmoid"`` (values in [0, 1], such as
        images: a sigmoid output trained by binary cross-entropy, the Bernoulli likelihood of image VAEs)."""
        owner = f"{type(self).__name__}.fit_decoder"
        rows = self._observations(x, "fit_decoder")
        widths = _widths(hidden, owner)
        network = check_choice(self.info.get("encoder", "mlp") if network is None else network, "network", owner,
                               NETWORKS)
        output = check_choice(output, "output", owner, OUTPUTS)
        if output == "sigmoid" and (rows.min() < 0 or rows.max() > 1):
            raise ValueError(f"{owner}: output='sigmoid' needs observations in [0, 1]; 'x' spans [{rows.min():.4g}, "
                             f"{rows.max():.4g}]. Use output='linear'.")
        epochs = int(check_number(epochs, "epochs", owner, low=1, integer=True))
        batch_size = int(check_number(batch_size, "batch_size", owner, low=1, integer=True))
        learning_rate = check_number(learning_rate, "learning_rate", owner, low=0, low_inclusive=False)
        validation = check_number(validation, "validation", owner, low=0, high=1, low_inclusive=False,
                                  high_inclusive=False)
        n_held = int(round(validation * rows.shape[0]))
        if n_held < 1 or rows.shape[0] - n_held < 1:
            raise ValueError(f"The 'x' given to {owner} has {rows.shape[0]} rows: too few to hold out a validation "
                             f"share of {validation} and train on the rest.")
        rng = as_generator(seed)
        order = rng.permutation(rows.shape[0])
        z = torch.as_tensor(self.encode(rows.reshape(-1, *self.info["input_shape"])), dtype=torch.float32)
        target = torch.as_tensor(rows, dtype=torch.float32)
        held, train = order[:n_held], order[n_held:]
        with seeded_torch(int(rng.integers(2 ** 63))):
            decoder = _decoder(network, len(self.nodes), self.info, widths, owner, output=output)
        scores = decoder[0] if output == "sigmoid" else decoder  # logits for the cross-entropy

        def loss_of(prediction: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
            if output == "sigmoid":
                return nn.functional.binary_cross_entropy_with_logits(prediction, truth)
            return ((prediction - truth) ** 2).mean()

        generator = torch.Generator().manual_seed(int(rng.integers(2 ** 63)))
        optimizer = torch.optim.Adam(decoder.parameters(), lr=learning_rate)
        best = (math.inf, 0, copy.deepcopy(decoder.state_dict()), math.nan)
        for epoch in range(epochs):
            decoder.train()
            shuffled = torch.as_tensor(train)[torch.randperm(len(train), generator=generator)]
            for start in range(0, len(train), batch_size):
                batch = shuffled[start:start + batch_size]
                loss = loss_of(scores(z[batch]), target[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            decoder.eval()
            with torch.no_grad():
                held_scores = _batched(scores, z[held], 4096)
                error = float(loss_of(held_scores, target[held]))
                mse = float(((torch.sigmoid(held_scores) if output == "sigmoid" else held_scores) - target[held])
                            .pow(2).mean())
            if error < best[0]:
                best = (error, epoch + 1, copy.deepcopy(decoder.state_dict()), mse)
        decoder.load_state_dict(best[2])
        info = {**self.info, "decoder": {"network": network, "output": output, "hidden": widths, "epochs": epochs,
                                         "batch_size": batch_size, "learning_rate": learning_rate,
                                         "validation": validation, "best_epoch": best[1], "validation_loss": best[0],
                                         "validation_mse": best[3]}}
        return replace(self, decoder=decoder.eval(), info=info)

    def decode(self, z: Any) -> np.ndarray:
        """Observations (N, ...) (rows shaped as in the fit) of reported latents ``z`` (N, d), by the decoder of
        :meth:`fit_decoder`."""
        owner = f"{type(self).__name__}.decode"
        if self.decoder is None:
            raise TypeError(f"{owner}: this fit has no decoder (the contrastive method trains an encoder only); "
                            f"fit one with fit.fit_decoder(x).")
        z = check_array(z, "z", owner, ndim=2)
        if z.shape[1] != len(self.nodes):
            raise ValueError(f"{owner}: 'z' has {z.shape[1]} columns for {len(self.nodes)} latents "
                             f"{list(self.nodes)}.")
        with torch.no_grad():
            x = _batched(self.decoder, torch.as_tensor(z, dtype=torch.float32), 4096).double().numpy()
        return x.reshape(z.shape[0], *self.info["input_shape"])

    def counterfactual(self, x: Any, interventions: Mapping[str, float], *, residual: bool = True) -> np.ndarray:
        """Observations (N, ...) had the latents been set as ``interventions`` (name -> value on the reported
        scale): the latent counterfactual ``z*`` (:meth:`counterfactual_latents` of ``z = encode(x)``), decoded.
        ``residual=True``: ``x`` moved by the decoder's change, ``x + decode(z*) - decode(z)``, so what the latents
        do not explain in ``x`` is kept (the decoder's residual taken as the observation's abducted noise; where
        the decoder is blurry, its residual, a sharp edge, stays where it was); ``False``: ``decode(z*)``. Needs
        :meth:`fit_decoder`."""
        if self.decoder is None:
            raise TypeError(f"{type(self).__name__}.counterfactual: this fit has no decoder (the contrastive method "
                            f"trains an encoder only); fit one with fit.fit_decoder(x).")
        rows = self._observations(x, "counterfactual")
        shaped = rows.reshape(-1, *self.info["input_shape"])
        if not isinstance(residual, (bool, np.bool_)):
            raise TypeError(f"The 'residual' argument of {type(self).__name__}.counterfactual must be True or False. "
                            f"Got {residual!r}.")
        z = self.encode(shaped)
        moved = self.decode(self.counterfactual_latents(z, interventions))
        return shaped + moved - self.decode(z) if residual else moved

    # ------------------------------------------------------------------ saving
    def save(self, path: str | os.PathLike) -> None:
        """Write the fit (networks and arrays) to one verified file, atomically
        (:func:`~latentscm.training.checkpoint.save_checkpoint`)."""
        save_checkpoint(path, {
            "format": FORMAT, "nodes": [str(n) for n in self.nodes], "info": json_ready(self.info),
            "hidden": list(self.info["hidden"]), "negative_slope": float(self.info["negative_slope"]),
            "network": str(self.info.get("encoder", "mlp")),
            "encoder": self.encoder.state_dict(), "log_odds_model": self.log_odds_model.state_dict(),
            "decoder": None if self.decoder is None else self.decoder.state_dict(),
            "marginals": None if self.marginals is None else torch.as_tensor(self.marginals),
            **{name: torch.as_tensor(getattr(self, name)) for name in _ARRAYS}})

    @classmethod
    def load(cls, path: str | os.PathLike) -> ContrastiveCausalDisentanglement:
        """Read a fit written by :meth:`save`; a damaged or truncated file raises
        :class:`~latentscm.training.checkpoint.CheckpointError`, another file's contents ValueError."""
        state = load_checkpoint(path)
        if not isinstance(state, Mapping) or state.get("format") not in READABLE_FORMATS:
            found = state.get("format") if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"'{path}' is not a saved contrastive causal disentanglement (format {FORMAT!r}); "
                             f"found {found!r}.")
        arrays = {name: state[name].double().numpy() for name in _ARRAYS}
        d, info = len(state["nodes"]), dict(state["info"])
        info.setdefault("input_shape", [arrays["input_mean"].shape[0]])  # files from before rows of any shape
        owner = f"{cls.__name__}.load"
        encoder = _encoder(state.get("network", "mlp"), d, info, list(state["hidden"]), owner)
        encoder.load_state_dict(state["encoder"])
        log_odds_model = GaussianInterventionLogOdds(d)
        log_odds_model.load_state_dict(state["log_odds_model"])
        decoder = None
        if state.get("decoder") is not None:
            decoder = _decoder(info["decoder"].get("network", "mlp"), d, info, list(info["decoder"]["hidden"]), owner,
                               output=info["decoder"].get("output", "linear"))
            decoder.load_state_dict(state["decoder"])
            decoder.eval()
        marginals = state.get("marginals")  # absent from files written before refit_mechanisms
        return cls(nodes=tuple(state["nodes"]), encoder=encoder.eval(), log_odds_model=log_odds_model.eval(),
                   info=info, decoder=decoder, marginals=None if marginals is None else marginals.double().numpy(),
                   **arrays)

    # ------------------------------------------------------------------ helpers
    def _observations(self, x: Any, method: str) -> np.ndarray:
        owner = f"{type(self).__name__}.{method}"
        shape = tuple(self.info.get("input_shape", (self.input_mean.shape[0],)))
        x = check_array(x, "x", owner)
        if x.ndim < 2 or x.shape[1:] != shape:
            raise ValueError(f"{owner}: 'x' has shape {x.shape}; the model was fitted on rows of shape {shape}.")
        return x.reshape(x.shape[0], -1)

    def _raw(self, x: np.ndarray, batch_size: int, method: str) -> np.ndarray:
        batch_size = int(check_number(batch_size, "batch_size", f"{type(self).__name__}.{method}", low=1,
                                      integer=True))
        inputs = torch.as_tensor((x - self.input_mean) / self.input_scale, dtype=torch.float32)
        if inputs.shape[0] == 0:
            return np.zeros((0, len(self.nodes)))
        return _batched(self.encoder, inputs, batch_size).double().numpy()


_ARRAYS = ("weights", "noise_scales", "input_mean", "input_scale", "latent_mean", "latent_scale")


def contrastive_causal_disentanglement(observational: Any, interventional: Sequence[Any], *,
                                       hidden: Sequence[int] = (512,), negative_slope: float = 0.2,
                                       encoder: str = "mlp", channels: Sequence[int] = (32, 32, 64, 64),
                                       epochs: int = 100, batch_size: int = 512, learning_rate: float = 5e-4,
                                       log_odds_learning_rate: float | None = None,
                                       mean_penalty: float = 0.1, l1: float = 1e-4, acyclicity: float = 1e-5,
                                       validation: float = 0.2, patience: int = 3, standardize: bool = False,
                                       edge_threshold: float = 0.1, node_names: Sequence[str] | None = None,
                                       seed: int | np.random.Generator = 0, device: str = "cpu",
                                       ) -> ContrastiveCausalDisentanglement:
    """Fit the contrastive causal disentanglement of Buchholz et al. (2023) (see the module docstring).

    Parameters
    ----------
    observational: (N_0, p) samples of the observational context; rows of any shape (N_0, ...) are flattened (a
        world's images (N, C, H, W), say), and the fit takes rows of that shape.
    interventional: d arrays (N_k, p) (or (N_k, ...), rows shaped as the observational ones), one per context, each
        a perfect intervention on a different latent; there are as many latents as contexts.
    hidden: widths of the encoder's hidden layers (the authors': one layer of 512); for ``encoder="conv"``, of its
        dense layers after the convolutions (leaky ReLUs of slope 0.2).
    negative_slope: slope of the leaky ReLUs of the MLP networks (the ``"mlp"`` encoder, an MLP decoder); the
        convolutional ones use ReLUs after the convolutions and slope 0.2 between the dense layers.
    encoder: ``"mlp"`` (the authors' synthetic-data encoder, on the flattened rows) or ``"conv"``: a
        :class:`~latentscm.nn.conv.ConvEncoder` (4x4 stride-2 convolutions with ReLUs, then the dense layers) on
        rows that are images (C, H, W), H and W at least 2.
    channels: output channels of the convolutions of ``encoder="conv"``, and of a convolutional decoder fitted
        later (:meth:`~ContrastiveCausalDisentanglement.fit_decoder`), which runs them in reverse.
    epochs: passes over the interventional rows.
    batch_size: interventional rows per step (each with as many observational rows).
    learning_rate: Adam's, for the encoder (and the log-odds parameters unless ``log_odds_learning_rate`` is given).
    log_odds_learning_rate: Adam's for the log-odds parameters (``A``, ``s``, ``lambda``, ``beta``, ``c``); default
        ``learning_rate``, as the authors' settings. Adam moves a parameter by about the learning rate per step, so
        with few steps (small data sets: steps = epochs x interventional rows / batch size) the weights cannot
        travel from 0 to their values at 5e-4; a larger rate here lets them.
    mean_penalty: weight of the squared mean of the observational latents (pins their shift).
    l1: weight of ``|A|_1``.
    acyclicity: weight of NOTEARS' ``tr exp(A * A) - d``.
    validation: share of every context held out to pick the epoch and lower the learning rate.
    patience: epochs in a row without a better validation loss that are tolerated; the next one multiplies the
        learning rate by 0.3.
    standardize: standardise every input column by the observational context's mean and standard deviation (off
        by default, as in the authors' code; see the module docstring).
    edge_threshold: ``|weight|`` (reported units) above which :meth:`ContrastiveCausalDisentanglement.graph` draws an
        edge.
    node_names: names of the latents, one per context (default ``z0, z1, ...``).
    seed: seeds the split, the batches and the networks' initial weights.
    device: torch device to train on.
    """
    owner = _OWNER
    contexts, input_shape = _contexts(observational, interventional, owner)
    d = len(contexts) - 1
    nodes = (tuple(str(n) for n in check_names(node_names, "node_names", owner, size=d)) if node_names is not None
             else tuple(f"z{k}" for k in range(d)))
    widths = _widths(hidden, owner)
    settings = {
        "negative_slope": check_number(negative_slope, "negative_slope", owner, low=0),
        "epochs": int(check_number(epochs, "epochs", owner, low=1, integer=True)),
        "batch_size": int(check_number(batch_size, "batch_size", owner, low=1, integer=True)),
        "learning_rate": check_number(learning_rate, "learning_rate", owner, low=0, low_inclusive=False),
        "log_odds_learning_rate": (None if log_odds_learning_rate is None else check_number(
            log_odds_learning_rate, "log_odds_learning_rate", owner, low=0, low_inclusive=False)),
        "mean_penalty": check_number(mean_penalty, "mean_penalty", owner, low=0),
        "l1": check_number(l1, "l1", owner, low=0),
        "acyclicity": check_number(acyclicity, "acyclicity", owner, low=0),
        "validation": check_number(validation, "validation", owner, low=0, high=1, low_inclusive=False,
                                   high_inclusive=False),
        "patience": int(check_number(patience, "patience", owner, low=0, integer=True)),
        "edge_threshold": check_number(edge_threshold, "edge_threshold", owner, low=0),
        "encoder": check_choice(encoder, "encoder", owner, NETWORKS),
        "channels": _widths(channels, owner, name="channels", what="convolution channels"),
        "input_shape": list(input_shape),
    }
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"The 'standardize' parameter of {owner} must be True or False. Got {standardize!r}.")
    device_ = check_device(device, owner)
    rng = as_generator(seed)

    train, held = [], []
    for k, rows in enumerate(contexts):
        where = "observational" if k == 0 else f"interventional[{k - 1}]"
        n_held = int(round(settings["validation"] * rows.shape[0]))
        if n_held < 1 or rows.shape[0] - n_held < 1:
            raise ValueError(f"The '{where}' samples given to {owner} have {rows.shape[0]} rows: too few to hold out "
                             f"a validation share of {settings['validation']} and train on the rest.")
        order = rng.permutation(rows.shape[0])
        held.append(rows[order[:n_held]])
        train.append(rows[order[n_held:]])
    input_mean = train[0].mean(0) if standardize else np.zeros(train[0].shape[1])
    scale = train[0].std(0) if standardize else np.ones(train[0].shape[1])
    input_scale = np.where(scale > 0, scale, 1.0)

    def tensors(parts: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        obs = torch.as_tensor((parts[0] - input_mean) / input_scale, dtype=torch.float32, device=device_)
        inter = torch.as_tensor((np.concatenate(parts[1:]) - input_mean) / input_scale, dtype=torch.float32,
                                device=device_)
        labels = torch.as_tensor(np.concatenate([np.full(p.shape[0], k) for k, p in enumerate(parts[1:])]),
                                 dtype=torch.long, device=device_)
        return obs, inter, labels

    obs_train, int_train, t_train = tensors(train)
    obs_val, int_val, t_val = tensors(held)
    with seeded_torch(int(rng.integers(2 ** 63))):
        network = _encoder(settings["encoder"], d, settings, widths, owner).to(device_)
    log_odds_model = GaussianInterventionLogOdds(d).to(device_)
    generator = torch.Generator().manual_seed(int(rng.integers(2 ** 63)))
    optimizer = torch.optim.Adam([
        {"params": list(network.parameters())},
        {"params": list(log_odds_model.parameters()), "lr": settings["log_odds_learning_rate"] or
         settings["learning_rate"]}], lr=settings["learning_rate"])
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.3, patience=settings["patience"])

    def classification(z_obs: torch.Tensor, z_int: torch.Tensor, labels: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        odds_obs, odds_int = log_odds_model(z_obs, labels), log_odds_model(z_int, labels)
        loss = nn.functional.softplus(odds_obs).mean() + nn.functional.softplus(-odds_int).mean()
        correct = (odds_obs < 0).float().sum() + (odds_int > 0).float().sum()
        return loss, correct / (2 * labels.shape[0])

    val_pairs = torch.arange(int_val.shape[0], device=device_) % obs_val.shape[0]
    best = (math.inf, -1, None)
    history: list[dict[str, float]] = []
    n_obs, n_int = obs_train.shape[0], int_train.shape[0]
    obs_queue = torch.empty(0, dtype=torch.long)
    for epoch in range(settings["epochs"]):
        network.train()
        log_odds_model.train()
        order = torch.randperm(n_int, generator=generator)
        total = 0.0
        for start in range(0, n_int, settings["batch_size"]):
            rows = order[start:start + settings["batch_size"]]
            while obs_queue.shape[0] < rows.shape[0]:  # observational rows cycle through shuffled passes
                obs_queue = torch.cat([obs_queue, torch.randperm(n_obs, generator=generator)])
            partners, obs_queue = obs_queue[:rows.shape[0]], obs_queue[rows.shape[0]:]
            rows, partners = rows.to(device_), partners.to(device_)
            z_obs = network(obs_train[partners])
            loss, _ = classification(z_obs, network(int_train[rows]), t_train[rows])
            total += float(loss.detach()) * rows.shape[0]
            loss = (loss + settings["mean_penalty"] * (z_obs.mean(0) ** 2).sum()
                    + settings["l1"] * log_odds_model.adjacency_weights().abs().sum()
                    + settings["acyclicity"] * log_odds_model.acyclicity())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        network.eval()
        log_odds_model.eval()
        with torch.no_grad():
            z_val_obs = _batched(network, obs_val, settings["batch_size"])[val_pairs]
            val_loss, val_accuracy = classification(z_val_obs, _batched(network, int_val, settings["batch_size"]),
                                                    t_val)
        val_loss, val_accuracy = float(val_loss), float(val_accuracy)
        if not math.isfinite(val_loss):
            raise FloatingPointError(f"{owner}: the validation loss is {val_loss} at epoch {epoch + 1}; lower the "
                                     f"'learning_rate' ({settings['learning_rate']}) or standardise the inputs.")
        history.append({"epoch": epoch + 1, "train_loss": total / n_int, "validation_loss": val_loss,
                        "validation_accuracy": val_accuracy, "learning_rate": optimizer.param_groups[0]["lr"],
                        "log_odds_learning_rate": optimizer.param_groups[1]["lr"]})
        if val_loss < best[0]:
            best = (val_loss, epoch + 1, (copy.deepcopy(network.state_dict()),
                                          copy.deepcopy(log_odds_model.state_dict()), val_accuracy))
        scheduler.step(val_loss)
    network.load_state_dict(best[2][0])
    log_odds_model.load_state_dict(best[2][1])
    network = network.cpu().eval()
    log_odds_model = log_odds_model.cpu().eval()

    with torch.no_grad():
        raw_obs = _batched(network, obs_train.cpu(), 4096).double().numpy()
        raw_int = _batched(network, int_train.cpu(), 4096).double().numpy()
        a = log_odds_model.adjacency_weights().double().numpy()
    latent_mean = raw_obs.mean(0)
    spread = raw_obs.std(0)
    spread = np.where(spread > 0, spread, 1.0)
    labels = t_train.cpu().numpy()
    shift = np.array([raw_int[labels == k, k].mean() - latent_mean[k] for k in range(d)])
    latent_scale = spread * np.where(shift < 0, -1.0, 1.0)
    weights = (a * latent_scale[None, :] / latent_scale[:, None]).T  # weights[j, i] = A[i, j] scale_j / scale_i
    np.fill_diagonal(weights, 0.0)
    reported = (raw_obs - latent_mean) / latent_scale
    noise_scales = (reported - reported @ weights).std(0)
    info = {"method": "contrastive_causal_disentanglement", "hidden": widths, "standardize": bool(standardize),
            **settings, "seed": int(seed) if isinstance(seed, (int, np.integer)) else None, "device": str(device_),
            "samples": [int(c.shape[0]) for c in contexts], "best_epoch": best[1], "validation_loss": best[0],
            "validation_accuracy": best[2][2], "history": history}
    return ContrastiveCausalDisentanglement(
        nodes=nodes, weights=weights, noise_scales=noise_scales, encoder=network, log_odds_model=log_odds_model,
        input_mean=input_mean, input_scale=input_scale, latent_mean=latent_mean, latent_scale=latent_scale,
        info=info)


def contrastive_causal_disentanglement_by_environment(data: Any, environments: Any, *,
                                                      observational: Any = "observational", **options: Any
                                                      ) -> ContrastiveCausalDisentanglement:
    """The same fit from one table (n, p) and each row's environment label ``environments`` (n,): rows labelled
    ``observational`` are the observational context, every other label one interventional context, and each latent
    is named after its context's label (labels are read as in
    :func:`~latentscm.discovery.linear_causal_disentanglement.linear_causal_disentanglement_by_environment`).
    ``options`` go to :func:`contrastive_causal_disentanglement`."""
    owner = "contrastive_causal_disentanglement_by_environment"
    if "node_names" in options:
        raise ValueError(f"{owner} names the latents after the environment labels; 'node_names' is not taken.")
    contexts, labels = split_by_environment(data, environments, observational, owner, min_rows=2,
                                            why="a context needs rows to train on and rows to validate on")
    return contrastive_causal_disentanglement(contexts[0], contexts[1:], node_names=labels, **options)


#: Where :func:`contrastive_causal_disentanglement_graph` takes the weights from: the classifier's log-odds
#: (``"contrastive"``, the paper's), least squares on its graph (``"refit"``) or on GIES's graph of the encoded latents
#: (``"gies"``); see :meth:`ContrastiveCausalDisentanglement.refit_mechanisms`.
MECHANISMS = ("contrastive", "refit", "gies")


def contrastive_causal_disentanglement_graph(data: Any, environments: Any, *, node_names: Sequence[str] | None = None,
                                             mechanisms: str = "contrastive", marginals: str = "linear",
                                             **options: Any) -> DiscoveredGraph:
    """:func:`contrastive_causal_disentanglement_by_environment` as a discovery method (``latentscm discover
    --method contrastive-lcd``): the latent graph, its ``info`` holding the fitted ``weights`` ``[cause][effect]``,
    ``noise_scales``, the ``order``, the ``observed`` column names ``node_names`` and the validation accuracy.
    ``mechanisms``: one of :data:`MECHANISMS` (``"refit"`` and ``"gies"`` refit the latent SCM on the encoded
    rows, :meth:`~ContrastiveCausalDisentanglement.refit_mechanisms`, recorded in ``info["mechanisms"]``;
    ``marginals`` goes to it: ``"gaussian"`` fits them on the Gaussianised latents; it needs a refit).
    ``options`` go to the fit (``observational``, ``epochs``, ``seed``, ...)."""
    owner = "contrastive_causal_disentanglement_graph"
    p = check_array(data, "data", owner, ndim=2, min_rows=2).shape[1]
    observed = (list(check_names(node_names, "node_names", owner, size=p)) if node_names is not None
                else [f"x{j}" for j in range(p)])  # checked before the (long) training
    mechanisms = check_choice(mechanisms, "mechanisms", owner, MECHANISMS)
    marginals = check_choice(marginals, "marginals", owner, MARGINALS)
    if marginals != "linear" and mechanisms == "contrastive":
        raise ValueError(f"The 'marginals' argument of {owner} is {marginals!r}, which applies to refitted mechanisms; "
                         "give mechanisms='refit' or 'gies' with it.")
    fit = contrastive_causal_disentanglement_by_environment(data, environments, **options)
    if mechanisms != "contrastive":
        contexts, _ = split_by_environment(data, environments, options.get("observational", "observational"), owner,
                                           min_rows=2, why="a context needs rows")
        fit = fit.refit_mechanisms(contexts[0], contexts[1:], graph="fit" if mechanisms == "refit" else "gies",
                                   marginals=marginals)
    graph = fit.graph()
    knots = {} if fit.marginals is None else {"marginal_knots": fit.marginals, "marginal_levels": _gaussian_levels(
        fit.marginals.shape[1])}  # the weights' scale: latent k's knots map onto the levels
    return DiscoveredGraph(graph.nodes, graph.adjacency, info={
        **graph.info, "observed": observed, "weights": fit.weights, "noise_scales": fit.noise_scales, **knots})


# ---------------------------------------------------------------------- helpers
def _contexts(observational: Any, interventional: Sequence[Any], owner: str) -> tuple[list[np.ndarray],
                                                                                       tuple[int, ...]]:
    """The contexts as tables (N_k, p), rows of any shape flattened, and the rows' shape."""
    items = check_sequence(interventional, "interventional", owner, what="arrays (N_k, p)")
    if not items:
        raise ValueError(f"The 'interventional' argument of {owner} is empty; one context per latent is needed.")
    contexts = [check_array(observational, "observational", owner, min_rows=2)]
    contexts += [check_array(c, f"interventional[{k}]", owner, min_rows=2) for k, c in enumerate(items)]
    shape = contexts[0].shape[1:]
    for k, c in enumerate(contexts):
        where = "observational" if k == 0 else f"interventional[{k - 1}]"
        if c.ndim < 2:
            raise ValueError(f"The '{where}' samples given to {owner} must be an array (N, p), or (N, ...) of rows "
                             f"of any shape. Got shape {c.shape}.")
        if c.shape[1:] != shape:
            raise ValueError(f"The '{where}' samples given to {owner} have rows of shape {c.shape[1:]} and the "
                             f"observational ones {shape}.")
    contexts = [c.reshape(c.shape[0], -1) for c in contexts]
    p = contexts[0].shape[1]
    if p < len(items):
        raise ValueError(f"The samples given to {owner} have {p} columns for {len(items)} interventional contexts "
                         f"(latents); an injective mixing needs at least as many observed columns as latents.")
    return contexts, tuple(int(n) for n in shape)


def _widths(value: Any, owner: str, *, name: str = "hidden", what: str = "layer widths") -> list[int]:
    """Layer widths (ints >= 1) from ``value``, refused naming ``name``."""
    return [int(check_number(w, name, owner, low=1, integer=True))
            for w in check_sequence(value, name, owner, what=what)]


def _encoder(kind: str, d: int, info: Mapping[str, Any], widths: list[int], owner: str) -> nn.Module:
    """A fresh encoder (rows flattened to p = prod(input_shape) -> d): an MLP, or a convolutional network that
    unflattens the rows to the images (C, H, W) first."""
    shape = tuple(int(n) for n in info["input_shape"])
    if kind == "mlp":
        return MLP(int(np.prod(shape)), widths, d, negative_slope=float(info["negative_slope"]))
    channels = list(info.get("channels", (32, 32, 64, 64)))
    _check_conv(shape, widths, channels, owner, "encoder")
    return nn.Sequential(nn.Unflatten(1, shape), ConvEncoder(shape, d, channels=channels, hidden_dim=tuple(widths)))


def _decoder(kind: str, d: int, info: Mapping[str, Any], widths: list[int], owner: str, *,
             output: str = "linear") -> nn.Module:
    """A fresh decoder (d reported latents -> rows flattened): an MLP, or a convolutional decoder mirroring the
    encoder's channels, flattened at the end; ``output="sigmoid"`` wraps it as ``Sequential(network, Sigmoid)``."""
    shape = tuple(int(n) for n in info["input_shape"])
    if kind == "mlp":
        network: nn.Module = MLP(d, widths, int(np.prod(shape)), negative_slope=float(info["negative_slope"]))
    else:
        channels = list(info.get("channels", (32, 32, 64, 64)))
        _check_conv(shape, widths, channels, owner, "decoder")
        network = nn.Sequential(ConvDecoder(d, shape, channels=channels, hidden_dim=tuple(widths)), nn.Flatten())
    return nn.Sequential(network, nn.Sigmoid()) if output == "sigmoid" else network


def _check_conv(shape: tuple[int, ...], widths: list[int], channels: list[int], owner: str, part: str) -> None:
    """A convolutional ``part`` needs image rows (C, H, W) with H, W >= 2, convolutions and a dense layer."""
    if len(shape) != 3 or len(conv_shapes(shape, (1,))) < 2:
        raise ValueError(f"{owner}: a convolutional {part} needs rows that are images (C, H, W) with H and W at least "
                         f"2; the rows have shape {shape}. Use the 'mlp' {part}, or pass the images unflattened.")
    if not widths:
        raise ValueError(f"{owner}: a convolutional {part} needs at least one dense layer; 'hidden' is empty.")
    if not channels:
        raise ValueError(f"{owner}: a convolutional {part} needs at least one convolution; the fit's 'channels' is "
                         f"empty.")


def _gaussian_levels(k: int) -> np.ndarray:
    """The standard normal's quantiles (K,) at the probabilities ``(i + 1/2) / K``."""
    return norm.ppf((np.arange(k) + 0.5) / k)


def _quantile_knots(z: np.ndarray, nodes: Sequence[str], owner: str) -> np.ndarray:
    """(d, K) strictly increasing quantiles of each column of ``z`` (N, d) at the probabilities of
    :func:`_gaussian_levels`, K = min(201, N // 10); a latent with tied outer knots is refused by name."""
    k = min(201, z.shape[0] // 10)
    if k < 11:
        raise ValueError(f"{owner}: marginals='gaussian' maps each latent through its observational quantiles and "
                         f"needs at least 110 observational rows; got {z.shape[0]}.")
    knots = np.quantile(z, (np.arange(k) + 0.5) / k, axis=0).T
    m = max(1, k // 20)  # the chords _piecewise_linear continues along
    for i in np.flatnonzero((knots[:, m] <= knots[:, 0]) | (knots[:, -1] <= knots[:, -1 - m])):
        raise ValueError(f"{owner}: latent {nodes[i]!r} takes one value on {100 * m / k:.0f} % or more of the "
                         "observational rows at an end of its range; marginals='gaussian' needs a latent that "
                         "varies there. Use marginals='linear'.")
    spread = np.maximum(knots[:, -1] - knots[:, 0], 1e-12)
    knots = np.maximum.accumulate(knots, axis=1) + spread[:, None] * 1e-9 * np.arange(k)  # ties broken
    return knots


def _piecewise_linear(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """The increasing piecewise-linear map through the knots ``(xp, fp)`` (K,) at ``x`` (N,), continued beyond the
    ends along the chord over the outer twentieth of the knots (the same chords both ways, so swapping ``xp`` and
    ``fp`` gives the exact inverse)."""
    y = np.interp(x, xp, fp)
    m = max(1, len(xp) // 20)
    low, high = x < xp[0], x > xp[-1]
    y[low] = fp[0] + (x[low] - xp[0]) * (fp[m] - fp[0]) / (xp[m] - xp[0])
    y[high] = fp[-1] + (x[high] - xp[-1]) * (fp[-1] - fp[-1 - m]) / (xp[-1] - xp[-1 - m])
    return y


def _given_dag(graph: Any, nodes: tuple[str, ...], owner: str) -> np.ndarray:
    """The adjacency (d, d) int, ``[j, i] = 1`` for ``j -> i``, of a DAG given as an array or a graph object with
    ``.adjacency`` and ``.nodes`` (reordered to ``nodes``); refused naming 'graph'."""
    d = len(nodes)
    names = getattr(graph, "nodes", None)
    matrix = check_array(getattr(graph, "adjacency", graph), "graph", owner, ndim=2)
    if names is not None and not isinstance(names, (str, bytes)):
        names = [str(n) for n in names]
        if sorted(names) != sorted(nodes):
            raise ValueError(f"{owner}: the 'graph' has the nodes {names}; the fit's latents are {list(nodes)}.")
        order = [names.index(n) for n in nodes]
        matrix = matrix[np.ix_(order, order)] if matrix.shape == (d, d) else matrix
    if matrix.shape != (d, d):
        raise ValueError(f"{owner}: the 'graph' adjacency has shape {matrix.shape}; the fit has {d} latents "
                         f"{list(nodes)}.")
    if not np.isin(matrix, (0, 1)).all() or np.diag(matrix).any():
        raise ValueError(f"{owner}: the 'graph' adjacency must hold 0 and 1 ([j, i] = 1 for j -> i) with a zero "
                         "diagonal.")
    adjacency = matrix.astype(np.int64)
    if (adjacency * adjacency.T).any():
        j, i = (int(v) for v in np.argwhere(adjacency * adjacency.T)[0])
        raise ValueError(f"{owner}: the 'graph' has both {nodes[j]} -> {nodes[i]} and {nodes[i]} -> {nodes[j]}; "
                         "give a DAG.")
    try:
        cycle = nx.find_cycle(nx.DiGraph([(nodes[j], nodes[i]) for j, i in zip(*np.nonzero(adjacency))]))
    except nx.NetworkXNoCycle:
        return adjacency
    raise ValueError(f"{owner}: the 'graph' has the cycle {' -> '.join([a for a, _ in cycle] + [cycle[0][0]])}; "
                     "give a DAG.")


def _batched(network: nn.Module, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``network`` applied to ``inputs`` (N, ...) in batches of ``batch_size`` rows, concatenated (N, ...), without
    gradients."""
    with torch.no_grad():
        return torch.cat([network(inputs[i:i + batch_size]) for i in range(0, inputs.shape[0], batch_size)])
