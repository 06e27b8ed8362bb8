"""A latent structural causal model as a differentiable layer.

Exogenous latents ``u`` (N, d) — from an encoder — become causal latents ``z`` (N, d) through one
neural mechanism per latent variable over its parents' *values*::

    additive:         z_i = f_i(z_pa(i)) + u_i
    post-nonlinear:   z_i = g_i(f_i(z_pa(i)) + u_i),   g_i strictly increasing (invertible)

so an intervention reaches every generation of descendants. The graph is data: a
:class:`~latentscm.graph.CausalGraph` from the world, a file or the CLI, or learned with the
NOTEARS acyclicity penalty ``h(A) = tr(exp(A ∘ A)) − d`` (Zheng et al. 2018; for MLP mechanisms
the weighted adjacency is the norm of each mechanism's first-layer weights per input, Zheng et
al. 2020). CausalVAE (Yang et al. 2021) and CausalDiffAE (Komanduri et al. 2024) both use this
head; unlike their released code no graph is hard-coded and effects propagate to grandchildren.

All d mechanisms are evaluated at once as a batched MLP whose first layer is masked by the
graph (``mask[i, j] = 1`` iff ``j`` is a parent of ``i``). With a fixed DAG, iterating
``z <- f(z) + u`` (longest path + 1) times from ``z = u`` gives the exact topological solution;
the same iteration approximates the solution while a graph is being learned.

Counterfactuals are the three steps: :meth:`LatentSCM.abduct` (``u = z − f(z)``, or
``g^{-1}(z) − f(z)``), action (set the intervened latents), prediction
(:meth:`LatentSCM.intervene`, recomputing only the descendants; every other latent keeps its
value bit for bit).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number
from latentscm.graph import CausalGraph, UnknownNodeError

__all__ = ["LatentSCM", "notears_acyclicity"]


def notears_acyclicity(adjacency: torch.Tensor) -> torch.Tensor:
    """``h(A) = tr(exp(A ∘ A)) − d`` (Zheng et al. 2018): zero iff the weighted graph is a DAG."""
    d = adjacency.shape[0]
    return torch.trace(torch.linalg.matrix_exp(adjacency * adjacency)) - d


class LatentSCM(nn.Module):
    """Latent SCM over named latents.

    Parameters
    ----------
    names:
        Latent variable names (e.g. a world's factor names), length d.
    graph:
        A :class:`CausalGraph` over (a superset of) ``names``; ``None`` with ``learn_graph=False``
        means no edges (plain disentanglement).
    learn_graph:
        Learn the adjacency (all off-diagonal inputs enabled, NOTEARS penalty via
        :meth:`acyclicity`); ``graph`` must then be ``None`` or have no edges (a graph cannot
        restrict the candidate edges: every edge is a candidate).
    mechanism:
        ``"additive"`` or ``"post_nonlinear"``.
    hidden:
        Hidden width of each mechanism MLP.
    """

    def __init__(self, names: Sequence[str], graph: CausalGraph | None = None, *, learn_graph: bool = False,
                 mechanism: str = "additive", hidden: int = 32):
        super().__init__()
        names = list(names)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"LatentSCM needs distinct latent names. Got {names!r}.")
        self.names = names
        self.learn_graph = bool(learn_graph)
        self.mechanism = check_choice(mechanism, "mechanism", "LatentSCM", ("additive", "post_nonlinear"))
        hidden = int(check_number(hidden, "hidden", "LatentSCM", low=1, integer=True))
        d = len(names)
        if graph is not None:
            if not isinstance(graph, CausalGraph):
                raise TypeError(f"The 'graph' of LatentSCM must be a CausalGraph. Got {type(graph).__name__}.")
            for name in names:
                if name not in graph:
                    raise UnknownNodeError(name, graph.nodes, what="latent (missing from the graph)")
            graph = graph.subgraph(names)
            graph = CausalGraph(graph.edges, nodes=names)
        else:
            graph = CausalGraph.empty(names)
        if self.learn_graph:
            if graph.edges:  # would be silently ignored: all edges are candidates while learning
                raise ValueError(f"LatentSCM(learn_graph=True) learns every edge; its 'graph' must be None or have "
                                 f"no edges. Got edges {list(graph.edges)}.")
            candidates = torch.ones(d, d) - torch.eye(d)
        else:
            candidates = torch.as_tensor(graph.adjacency.T, dtype=torch.float32)  # [child, parent]
        self.register_buffer("mask", candidates)
        self.graph_ = graph
        # batched mechanism MLPs: input j of node i -> hidden
        scale = 1.0 / math.sqrt(max(d, 1))
        self.weight_in = nn.Parameter(torch.randn(d, d, hidden) * scale)
        self.bias_in = nn.Parameter(torch.zeros(d, hidden))
        self.weight_out = nn.Parameter(torch.randn(d, hidden) / math.sqrt(hidden))
        self.bias_out = nn.Parameter(torch.zeros(d))
        if self.mechanism == "post_nonlinear":
            # g(x) = a x + b tanh(x) with a = softplus(.) > 0, b = softplus(.) >= 0: strictly increasing
            self.pnl_linear = nn.Parameter(torch.zeros(d))
            self.pnl_tanh = nn.Parameter(torch.full((d,), -2.0))
        self._refresh_order()

    # ------------------------------------------------------------------ graph
    def _refresh_order(self) -> None:
        if self.learn_graph:
            self._iterations = len(self.names)
        else:
            depth = {n: 0 for n in self.names}
            for node in self.graph_.topological_order():
                for parent in self.graph_.parents(node):
                    depth[node] = max(depth[node], depth[parent] + 1)
            self._iterations = max(depth.values()) + 1 if self.graph_.edges else 1

    @property
    def graph(self) -> CausalGraph:
        """The fixed graph (or, when learning, the graph fixed by :meth:`fix_graph`)."""
        return self.graph_

    def weighted_adjacency(self) -> torch.Tensor:
        """(d, d) ``A[j, i] = ||W_in[i, j, :]||`` masked — the strength of edge j -> i."""
        strength = torch.linalg.vector_norm(self.weight_in, dim=2) * self.mask  # [child, parent]
        return strength.T

    def acyclicity(self) -> torch.Tensor:
        """NOTEARS h(A) of the current weighted adjacency (0 for a fixed DAG)."""
        return notears_acyclicity(self.weighted_adjacency())

    def fix_graph(self, threshold: float = 0.3) -> CausalGraph:
        """Freeze a learned graph: keep edges with weight >= threshold · max weight (``threshold``
        in [0, 1]; an edge of weight 0, e.g. masked out, is never kept), drop the weakest edges
        until acyclic, then mask the mechanisms to it. Non-finite weights (a diverged fit) are refused:
        NaN compares false with everything and would drop edges without a word."""
        threshold = check_number(threshold, "threshold", "LatentSCM.fix_graph", low=0, high=1)
        weights = self.weighted_adjacency().detach().cpu().numpy()
        bad = ~np.isfinite(weights)
        if bad.any():
            edges = [f"{self.names[i]} -> {self.names[j]}" for i, j in zip(*np.nonzero(bad))]
            raise ValueError(f"LatentSCM.fix_graph: the learned edge weights of {edges[:5]} are not finite "
                             f"({weights[bad][:5].tolist()}); the mechanisms diverged (lower lr or set grad_clip).")
        top = weights.max() if weights.size else 0.0
        keep = (weights >= threshold * top) & (weights > 0) if top > 0 else np.zeros_like(weights, dtype=bool)
        np.fill_diagonal(keep, False)
        order = np.argsort(weights[keep])  # weakest first
        edges = [(self.names[i], self.names[j]) for i, j in zip(*np.nonzero(keep))]
        edges = [edges[k] for k in order[::-1]]  # strongest first
        accepted: list[tuple[str, str]] = []
        for edge in edges:
            try:
                CausalGraph([*accepted, edge], nodes=self.names)
            except ValueError:
                continue  # would close a cycle
            accepted.append(edge)
        graph = CausalGraph(accepted, nodes=self.names)
        self.graph_ = graph
        self.learn_graph = False
        self.mask.copy_(torch.as_tensor(graph.adjacency.T, dtype=torch.float32))
        self._refresh_order()
        return graph

    # ------------------------------------------------------------------ mechanisms
    def mechanisms(self, z: torch.Tensor, *, detach: bool = False) -> torch.Tensor:
        """f(z): (N, d) -> (N, d), node i reading only its (masked) parents; 0 for roots.

        ``detach=True`` evaluates with the mechanism parameters cut from the graph, so gradients
        reach z but not f (used when f is fitted on labels alone)."""
        weight_in, bias_in, weight_out, bias_out = self.weight_in, self.bias_in, self.weight_out, self.bias_out
        if detach:
            weight_in, bias_in, weight_out, bias_out = (p.detach() for p in (weight_in, bias_in, weight_out,
                                                                              bias_out))
        weight = weight_in * self.mask[:, :, None]
        hidden = torch.einsum("nj,ijh->nih", z, weight) + bias_in
        out = torch.einsum("nih,ih->ni", torch.nn.functional.silu(hidden), weight_out) + bias_out
        has_parents = (self.mask.sum(dim=1) > 0).to(out.dtype)
        return out * has_parents

    def _outer(self, x: torch.Tensor, *, detach: bool = False) -> torch.Tensor:
        """g(x) elementwise, (N, d) -> (N, d) (identity for additive mechanisms); ``detach=True`` cuts g's
        parameters from the graph, as :meth:`mechanisms` does for f."""
        if self.mechanism == "additive":
            return x
        linear, tanh = (self.pnl_linear.detach(), self.pnl_tanh.detach()) if detach else (self.pnl_linear,
                                                                                          self.pnl_tanh)
        a = torch.nn.functional.softplus(linear) + 1e-3
        b = torch.nn.functional.softplus(tanh)
        return a * x + b * torch.tanh(x)

    def _outer_log_slope(self, x: torch.Tensor) -> torch.Tensor:
        """``log g'(x)`` elementwise (0 for additive mechanisms, where g is the identity)."""
        if self.mechanism == "additive":
            return torch.zeros_like(x)
        a = torch.nn.functional.softplus(self.pnl_linear) + 1e-3
        b = torch.nn.functional.softplus(self.pnl_tanh)
        return torch.log(a + b * (1 - torch.tanh(x) ** 2))

    def _outer_inverse(self, y: torch.Tensor) -> torch.Tensor:
        if self.mechanism == "additive":
            return y
        a = torch.nn.functional.softplus(self.pnl_linear) + 1e-3
        b = torch.nn.functional.softplus(self.pnl_tanh)
        x = y / (a + b)  # Newton on a strictly increasing function; converges in a few steps
        for _ in range(30):
            value = a * x + b * torch.tanh(x) - y
            slope = a + b * (1 - torch.tanh(x) ** 2)
            x = x - value / slope
        return x

    def forward(self, u: torch.Tensor, *, detach_mechanisms: bool = False, labels: torch.Tensor | None = None,
                with_acyclicity: bool = False, terms: bool = False, targets: torch.Tensor | None = None):
        """Causal latents z (N, d) from exogenous latents u (N, d). ``detach_mechanisms=True`` (mechanisms
        fitted on labels alone) cuts every mechanism parameter, f (:meth:`mechanisms`) and the post-nonlinear
        g of roots and children alike, from z's graph: gradients reach u only. ``fit`` keeps its gradients.

        ``targets`` (N, d) bool marks latents that were intervened on in the data (known-target
        interventional samples): their mechanism term is cut, ``z_i = g(u_i)``, since their value
        came from the intervention and not from their parents.

        For training (``terms=True``), returns ``(z, fit | None, h | None)``: ``fit`` (M, d), per label row
        of ``labels`` (M, d) and latent, twice the negative log-likelihood of the label under its mechanism
        with standard normal noise, up to a constant: ``u²`` with ``u`` the abducted noise (the squared
        residual) for additive mechanisms, ``u² + 2 log g'(g^{-1}(y))`` for post-nonlinear ones (the
        change of variables; without it a steeper ``g`` shrinks every ``u`` and the fit has no minimum;
        for a root, f = 0 and this is the label's marginal under ``y = g(u)``, ``u ~ N(0, 1)``, which trains
        the root's g when the image path is detached);
        and, with ``with_acyclicity``, the NOTEARS penalty. Everything goes through this one call so
        DistributedDataParallel sees every parameter that receives a gradient.
        """
        self._check(u, "u")
        keep = None
        if targets is not None:
            if targets.shape != u.shape:
                raise ValueError(f"LatentSCM targets must have the shape of u {tuple(u.shape)}. Got "
                                 f"{tuple(targets.shape)}.")
            keep = (~targets.bool()).to(u.dtype)
        z = self._outer(u, detach=detach_mechanisms) if self.mechanism == "post_nonlinear" else u
        for _ in range(self._iterations):
            f = self.mechanisms(z, detach=detach_mechanisms)
            z = self._outer((f if keep is None else f * keep) + u, detach=detach_mechanisms)
        if not terms:
            return z
        fit = None
        if labels is not None:
            self._check(labels, "labels")
            inner = self._outer_inverse(labels)
            fit = (inner - self.mechanisms(labels)) ** 2
            if self.mechanism == "post_nonlinear":
                fit = fit + 2 * self._outer_log_slope(inner)
        return z, fit, self.acyclicity() if with_acyclicity else None

    def abduct(self, z: torch.Tensor) -> torch.Tensor:
        """Exogenous latents u (N, d) with ``forward(u) == z`` for a DAG."""
        self._check(z, "z")
        return self._outer_inverse(z) - self.mechanisms(z)

    def intervene(self, z: torch.Tensor, interventions: Mapping[str, float | torch.Tensor],
                  u: torch.Tensor | None = None) -> torch.Tensor:
        """Counterfactual latents: abduct u from z (unless given), set the intervened latents,
        recompute their descendants through the mechanisms; other latents keep their values."""
        self._check(z, "z")
        if self.learn_graph:
            raise RuntimeError("Fix the learned graph (LatentSCM.fix_graph) before intervening.")
        if u is None:
            u = self.abduct(z)
        elif u.shape != z.shape:  # a (1, d) u would broadcast one row's noise to every row without a word
            raise ValueError(f"LatentSCM.intervene: the exogenous latents 'u' must have the shape of z "
                             f"{tuple(z.shape)}. Got {tuple(u.shape)}.")
        targets = torch.zeros(z.shape[1], dtype=torch.bool, device=z.device)
        values = z.clone()
        for name, value in interventions.items():
            if name not in self.names:
                raise UnknownNodeError(name, self.names, what="latent")
            index = self.names.index(name)
            targets[index] = True
            value = torch.as_tensor(value, dtype=z.dtype, device=z.device)
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"The intervention value of latent {name!r} must be finite. Got {value.tolist()!r}.")
            if value.ndim > 1 or value.numel() not in (1, z.shape[0]):
                raise ValueError(f"The intervention value of latent {name!r} must be one value or one per row "
                                 f"({z.shape[0]}). Got shape {tuple(value.shape)}.")
            values[:, index] = value.reshape(-1).expand(z.shape[0])
        affected = torch.zeros_like(targets)
        for index in self.graph_.descendants_of(interventions):
            affected[self.names.index(index)] = True
        recompute = affected & ~targets
        result = torch.where(targets, values, z)
        for _ in range(self._iterations):
            proposal = self._outer(self.mechanisms(result) + u)
            result = torch.where(recompute, proposal, result)
        return result

    def _check(self, tensor: torch.Tensor, what: str) -> None:
        if tensor.ndim != 2 or tensor.shape[1] != len(self.names):
            raise ValueError(f"LatentSCM expects {what} of shape (N, {len(self.names)}) for latents "
                             f"{self.names}. Got {tuple(tensor.shape)}.")

    def extra_repr(self) -> str:
        edges = ", ".join(f"{u}->{v}" for u, v in self.graph_.edges)
        return f"names={self.names}, mechanism={self.mechanism}, learn_graph={self.learn_graph}, edges=[{edges}]"
