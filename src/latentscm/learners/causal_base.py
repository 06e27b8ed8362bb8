"""What every causal latent learner shares: named latents with a latent SCM between them.

A causal learner has ``K`` *concept* latents named after the world's factors (when trained on
labels) plus ``extra_dims`` free *style* latents. The encoder produces exogenous latents
``u``; the :class:`~latentscm.nn.latent_scm.LatentSCM` head turns the concept part into causal
latents ``z = SCM(u)``; the style part passes through. Labels, standardised per factor (mean 0,
std 1 on the training set), give the label-conditioned prior ``p(z | y) = N(ỹ, prior_std²)``
(Yang et al. 2021) and fit each mechanism as a regression of a factor on its parents.

The graph comes from the world (``graph="world"``), from text (``"a -> b; b -> c"``), is
learned with the NOTEARS penalty (``"learn"``), or is empty (``"none"``) — never from code.

Counterfactuals (:meth:`CausalLearner.counterfactual`) take interventions in the world's own
factor units and run abduction (encode ``u``), action (set the standardised latent) and
prediction (recompute every descendant through the learned mechanisms, then decode).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from latentscm._validation import as_generator, check_number
from latentscm.graph import CausalGraph, CycleError
from latentscm.interventions import Do, as_interventions
from latentscm.learners.base import Learner

__all__ = ["CausalLearner", "resolve_graph"]

# factor_std_ is the training standard deviation + 1e-8: at or below this, the factor was constant
_CONSTANT_STD = 2e-8


def resolve_graph(spec: str, factor_names: list[str], world_graph: CausalGraph | None, owner: str) -> tuple[
        CausalGraph, bool]:
    """(graph over ``factor_names``, learn?) from the ``graph`` hyperparameter."""
    if spec == "learn":
        return CausalGraph.empty(factor_names), True
    if spec == "none":
        return CausalGraph.empty(factor_names), False
    if spec == "world":
        if world_graph is None:
            raise ValueError(f"{owner}(graph='world') needs a World to fit on (its graph is the latent graph); pass "
                             f"the graph as text, e.g. graph='a -> b', or graph='learn'.")
        return CausalGraph(world_graph.subgraph(factor_names).edges, nodes=factor_names), False
    graph = parse_graph_parameter(spec, owner)
    unknown = [n for n in graph.nodes if n not in factor_names]
    if unknown:
        raise ValueError(f"The 'graph' of {owner} names {unknown}, which are not factors of the data "
                         f"({', '.join(factor_names)}).")
    return CausalGraph(graph.edges, nodes=factor_names), False


def parse_graph_parameter(text: str, owner: str) -> CausalGraph:
    """The graph a learner's ``graph`` hyperparameter gives as text (``"a -> b; b -> c"``); a text that does not
    parse raises a ValueError naming ``owner``'s 'graph' parameter, a cycle the :class:`~latentscm.graph.CycleError`
    naming the cycle."""
    try:
        return CausalGraph.from_text(text)
    except CycleError:
        raise
    except ValueError as error:
        raise ValueError(f"The 'graph' parameter of {owner} is not a graph: {error}") from None


def _outside_stacklevel() -> int:
    """The ``stacklevel`` for ``warnings.warn`` in the calling function that names the first frame outside
    latentscm (the user's call, however many library levels lie between: a CausalDiffAE delegates deeper)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "latentscm":
        frame, level = frame.f_back, level + 1
    return level


class CausalLearner(Learner):
    """Mixin-style base for learners with a latent SCM over named concept latents.

    Subclasses build ``encoder``, ``scm`` (LatentSCM) and their decoder modules and call
    :meth:`_causal_forward` inside ``loss``.
    """

    uses_factors: ClassVar[bool] = True
    #: codes are the causal latents z = SCM(u) of the posterior mean of u (encode_distribution
    #: describes u, the exogenous latents)
    codes_are_posterior_means: ClassVar[bool] = False

    def _validate_causal(self) -> None:
        owner = type(self).__name__
        if not isinstance(self.graph, str) or not self.graph.strip():
            raise TypeError(f"The 'graph' parameter of {owner} must be 'world', 'learn', 'none' or a graph in text "
                            f"form. Got {self.graph!r} instead.")
        if self.graph not in ("world", "learn", "none"):
            parse_graph_parameter(self.graph, owner)
        self.extra_dims = check_number(self.extra_dims, "extra_dims", owner, low=0, integer=True)
        self.prior_std = check_number(self.prior_std, "prior_std", owner, low=0, low_inclusive=False)
        self.label_weight = check_number(self.label_weight, "label_weight", owner, low=0)
        self.mechanism_weight = check_number(self.mechanism_weight, "mechanism_weight", owner, low=0)
        self.supervised_fraction = check_number(self.supervised_fraction, "supervised_fraction", owner, low=0,
                                                high=1)
        self.acyclicity_weight = check_number(self.acyclicity_weight, "acyclicity_weight", owner, low=0)
        self.mechanism_hidden = check_number(self.mechanism_hidden, "mechanism_hidden", owner, low=1, integer=True)
        if self.mechanism not in ("additive", "post_nonlinear"):
            raise ValueError(f"The 'mechanism' parameter of {owner} must be 'additive' or 'post_nonlinear'. "
                             f"Got {self.mechanism!r} instead.")

    # ------------------------------------------------------------------ data hooks
    def _on_training_set(self, training_set: Any) -> None:
        """Record factor names, label statistics and the latent graph before modules are built."""
        owner = type(self).__name__
        if training_set.factors is None or not training_set.factor_names:
            raise ValueError(f"{owner} learns latents named after factors and needs factor labels: fit it on a World "
                             f"or a Batch, not on bare images.")
        factors = np.asarray(training_set.factors, dtype=np.float64)
        self.factor_names_ = list(training_set.factor_names)
        self.factor_mean_ = factors.mean(0)
        self.factor_std_ = factors.std(0) + 1e-8
        graph, learn = resolve_graph(self.graph, self.factor_names_, getattr(training_set, "graph", None), owner)
        self.latent_graph_ = graph
        self._learn_graph = learn
        self._clear_aggregate_prior()  # a new fit: the previous fit's prior describes other weights

    def _training_factors(self, training_set: Any, device: torch.device) -> torch.Tensor:
        """Standardised labels (N, K) on ``device``; rows outside the supervised fraction are NaN."""
        factors = (np.asarray(training_set.factors, dtype=np.float64) - self.factor_mean_) / self.factor_std_
        n = factors.shape[0]
        n_labelled = int(round(self.supervised_fraction * n))
        labelled = np.zeros(n, dtype=bool)
        labelled[as_generator(self.seed).permutation(n)[:n_labelled]] = True
        factors[~labelled] = np.nan
        return torch.as_tensor(factors, dtype=torch.float32, device=device)

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        return len(self.factor_names_) + int(self.extra_dims)

    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return True

    def _make_scm(self):
        from latentscm.nn.latent_scm import LatentSCM

        return LatentSCM(self.factor_names_, self.latent_graph_, learn_graph=self._learn_graph,
                         mechanism=self.mechanism, hidden=self.mechanism_hidden)

    # ------------------------------------------------------------------ losses
    def _fits_mechanisms_on_labels(self) -> bool:
        return self.mechanism_weight > 0 and self.supervised_fraction > 0 and not self._learn_graph

    def _causal_forward(self, u: torch.Tensor, factors: torch.Tensor | None, step: int,
                        targets: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        """Causal latents z (N, D) from exogenous u (N, D), plus the latent-SCM loss terms.

        z: the SCM applied to the concept part of u; style dims pass through. When labels fit the
        mechanisms, the image path uses them with detached parameters: the reconstruction
        gradient (hundreds of nats) would otherwise bend each mechanism away from the regression
        of the factor on its parents (measured on the pendulum: label residual 0.30 instead of
        0.04 in squared standardised units). The post-nonlinear g is detached too, roots' and
        children's; a root's g is then trained by its label's marginal (below). Measured (pendulum
        size 16, noise_std 0.3, 512 samples, causal_vae channels (8, 16), hidden_dim 32, extra_dims 1,
        decoder additive, lr 2e-3, 1500 steps, seeds 0-2; held-out label NLL in nats, mean of seeds):
        g left in the image path -> detached: shadow_position -0.61 -> -0.78, shadow_length -0.34 ->
        -0.35, roots 1.41 -> 1.35 (every seed better); counterfactual true error 0.0145 -> 0.0145,
        excess 0.63 -> 0.65 (within the seed spread 0.56-0.79).

        Terms: label prior E||z - ỹ||² / (2 prior_std²) on labelled rows, mechanism fit
        Σ_i (ỹ_i - f_i(ỹ_pa(i)))² over the concepts i with parents, on labelled rows (post-nonlinear:
        Σ_i u_i² + 2 log g_i'(g_i^{-1}(ỹ_i)) with u_i = g_i^{-1}(ỹ_i) - f_i(ỹ_pa(i)), twice the label's
        Gaussian negative log-likelihood up to a constant, over every concept: for a root, f_i = 0 and
        this is the label's marginal under ỹ_i = g_i(u_i), u_i ~ N(0, 1); see :meth:`LatentSCM.forward`),
        NOTEARS h(A) while a graph is learned.

        ``targets`` (N, K) bool (interventional data with known targets): an intervened concept's
        mechanism is cut in the image path (``z_i = u_i``) and left out of the mechanism fit.
        """
        k = len(self.factor_names_)
        labelled = None
        if factors is not None:
            mask = ~torch.isnan(factors).any(dim=1)
            labelled = mask if bool(mask.any()) else None
        learning = self._learn_graph and self.scm_.learn_graph
        z_concept, fit, h = self._net("scm")(
            u[:, :k], detach_mechanisms=self._fits_mechanisms_on_labels(),
            labels=None if labelled is None else factors[labelled], with_acyclicity=learning, terms=True,
            targets=targets)
        z = torch.cat([z_concept, u[:, k:]], dim=1)
        total = z.new_zeros(())
        logs: dict[str, Any] = {}
        if labelled is not None:
            y = factors[labelled]
            prior = ((z_concept[labelled] - y) ** 2).sum(1).mean() / (2 * self.prior_std**2)
            # a post-nonlinear root's term is its label's marginal under y = g(u): the only thing training its g
            # once the image path is detached (an additive root's term, y², has no parameter: left out)
            fitted = ((self.scm_.mask.sum(1) > 0) | (self.scm_.mechanism == "post_nonlinear"))
            fitted = fitted.to(y.dtype).expand_as(fit)
            if targets is not None:  # an intervened value says nothing about its mechanism
                fitted = fitted * (~targets[labelled]).to(y.dtype)
            mechanism = (fit * fitted).sum(1).mean()
            total = total + self.label_weight * prior + self.mechanism_weight * mechanism
            logs.update({"label_prior": prior.detach(), "mechanism_fit": mechanism.detach()})
        if learning:
            # augmented-Lagrangian style: the quadratic weight grows with training progress (over the
            # steps the run started with: resuming with more steps does not lower it mid-run)
            rho = self.acyclicity_weight * (1.0 + 10.0 * step / max(self._schedule_steps(), 1))
            total = total + rho * (h + 0.5 * h * h) + 1e-3 * self.scm_.weighted_adjacency().abs().sum()
            logs["acyclicity"] = h.detach()
        return z, total, logs

    # ------------------------------------------------------------------ after training / persistence
    def _after_fit(self, images: torch.Tensor) -> None:
        super()._after_fit(images)
        if self._learn_graph and self.scm_.learn_graph:
            self.latent_graph_ = self.scm_.fix_graph()
        self._fit_aggregate_prior(images)

    def _uses_aggregate_prior(self) -> bool:
        """Whether ``sample`` draws u from a Gaussian fitted to this model's own aggregate posterior
        (:meth:`_fit_aggregate_prior`) rather than N(0, I)."""
        return False

    def _clear_aggregate_prior(self) -> None:
        """Forget the fitted sampling prior when the encoder is about to change (a new fit, fine-tuning): until it
        is fitted again, an eval hook, a checkpoint or an interrupted run would otherwise pair the old prior with
        new weights silently; without one, ``sample`` falls back to N(0, I) with a warning."""
        self.exogenous_mean_ = None
        self.exogenous_scale_ = None

    def _fit_aggregate_prior(self, images: torch.Tensor) -> None:
        """Fit a full-covariance Gaussian to the aggregate posterior q(u) = E_x q(u | x) of ``images``
        (N, C, H, W) (Ghosh et al. 2020, ex-post density estimation), by moment matching the mixture:
        mean E[m(x)], covariance Cov[m(x)] + E[diag σ²(x)]. Stores ``exogenous_mean_`` (D,) and its
        Cholesky factor ``exogenous_scale_`` (D, D), float32 on the CPU. Nothing for a learner that
        does not use one (:meth:`_uses_aggregate_prior`)."""
        if not self._uses_aggregate_prior():
            return
        parts = self._batched(images, lambda b: torch.stack(self._posterior(b)).cpu())
        mean, logvar = torch.cat(parts, dim=1).double()
        centre = mean.mean(0)
        deviation = mean - centre
        covariance = deviation.T @ deviation / mean.shape[0] + torch.diag(logvar.exp().mean(0))
        jitter = 1e-6 * torch.eye(covariance.shape[0], dtype=covariance.dtype)
        self.exogenous_mean_ = centre.float()
        self.exogenous_scale_ = torch.linalg.cholesky(covariance + jitter).float()

    def _extra_state(self) -> dict[str, Any]:
        state = {**super()._extra_state(), "factor_names": list(self.factor_names_),
                 "factor_mean": self.factor_mean_.tolist(), "factor_std": self.factor_std_.tolist(),
                 "latent_graph": self.latent_graph_.to_dict(), "learn_graph": bool(self.scm_.learn_graph)}
        if self._uses_aggregate_prior():
            mean, scale = getattr(self, "exogenous_mean_", None), getattr(self, "exogenous_scale_", None)
            state["exogenous_mean"] = None if mean is None else mean.clone()
            state["exogenous_scale"] = None if scale is None else scale.clone()
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> Learner:
        extra = state.get("extra", {})
        self.factor_names_ = list(extra["factor_names"])
        self.factor_mean_ = np.asarray(extra["factor_mean"], dtype=np.float64)
        self.factor_std_ = np.asarray(extra["factor_std"], dtype=np.float64)
        self.latent_graph_ = CausalGraph.from_dict(extra["latent_graph"])
        self._learn_graph = bool(extra.get("learn_graph", False))
        # absent from models saved before the aggregate prior (and from mid-training checkpoints): sample() then
        # falls back to N(0, I) with a warning
        mean, scale = extra.get("exogenous_mean"), extra.get("exogenous_scale")
        self.exogenous_mean_ = None if mean is None else torch.as_tensor(mean).float().cpu()
        self.exogenous_scale_ = None if scale is None else torch.as_tensor(scale).float().cpu()
        return super().load_state_dict(state)

    # ------------------------------------------------------------------ counterfactuals
    def standardise(self, name: str, value: Any) -> np.ndarray | float:
        """A factor value in world units -> the latent's standardised units.

        A factor that was constant in the training data (standard deviation 0) has one latent value, 0: its
        constant maps there, and any other value is refused (dividing by the 1e-8 floor of ``factor_std_``
        would give a latent of millions, decoded into a saturated image)."""
        j = self.factor_names_.index(name)
        array = np.asarray(value, dtype=np.float64)
        if self.factor_std_[j] <= _CONSTANT_STD:
            constant = float(self.factor_mean_[j])
            close = np.isclose(array, constant, rtol=1e-6, atol=1e-9)
            if not np.all(close):
                raise ValueError(f"{type(self).__name__}: factor {name!r} was constant ({constant:g}) in the training "
                                 f"data, so its latent knows no other value; got {array[~close].ravel()[:5].tolist()}.")
            return np.zeros_like(array) if array.ndim else 0.0
        return (array - self.factor_mean_[j]) / self.factor_std_[j]

    def _latent_interventions(self, interventions: Mapping[str, Any], n: int) -> dict[str, torch.Tensor]:
        self._check_fitted()
        items = as_interventions(interventions, self.factor_names_)
        out = {}
        for name, item in items.items():
            if not isinstance(item, Do):
                raise TypeError(f"{type(self).__name__}.counterfactual supports hard interventions (Do); got {item!r} "
                                f"for {name!r}.")
            given = np.asarray(self.standardise(name, item.value), dtype=np.float32)
            if given.size not in (1, n) or given.ndim > 1:
                raise ValueError(f"{type(self).__name__}.counterfactual: the intervention on {name!r} must be one "
                                 f"value or one per image ({n}). Got shape {given.shape}.")
            value = np.broadcast_to(given.reshape(-1) if given.ndim else given, (n,))
            out[name] = torch.tensor(np.array(value), device=self.device_)
        return out

    def _intervention_matrix(self, interventions: Mapping[str, Any], n: int) -> tuple[list[str], torch.Tensor]:
        """(names, standardised targets (n, len(names)) on the CPU) so they can be chunked with images."""
        chosen = self._latent_interventions(interventions, n)
        names = list(chosen)
        if not names:
            return names, torch.zeros((n, 0))
        return names, torch.stack([chosen[name].cpu() for name in names], dim=1)

    def _run_chunked(self, fn, *tensors: torch.Tensor, chunk: int = 128) -> np.ndarray:
        """``fn`` over aligned chunks of ``tensors`` (eval mode, no grad), concatenated as float32 numpy."""
        modules = list(self._modules().values())
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()
        try:
            with torch.no_grad():
                parts = [fn(*(x[s:s + chunk].to(self.device_) for x in tensors)).cpu()
                         for s in range(0, tensors[0].shape[0], chunk)]
        finally:
            for m, mode in zip(modules, modes):
                m.train(mode)
        return torch.cat(parts).numpy().astype(np.float32, copy=False)

    def _exogenous_sample(self, n: int, generator: torch.Generator, prior: str | None = None) -> torch.Tensor:
        """Exogenous latents u (n, D) to generate from. ``prior="standard"``, or a learner without an aggregate
        prior (:meth:`_uses_aggregate_prior`): N(0, I), the prior of the KL term. Otherwise (``None`` or
        ``"aggregate"``) the Gaussian fitted by :meth:`_fit_aggregate_prior`; a model saved before it existed
        has none and falls back to N(0, I) with a warning."""
        u = torch.randn((n, self.latent_dim_), generator=generator)
        if prior == "standard" or not self._uses_aggregate_prior():
            return u
        mean, scale = getattr(self, "exogenous_mean_", None), getattr(self, "exogenous_scale_", None)
        if mean is None or scale is None:
            warnings.warn(f"This {type(self).__name__} has no fitted aggregate prior (saved by an older version, "
                          f"or its fit or fine-tuning did not run to the end); sampling u ~ N(0, I) instead.",
                          stacklevel=_outside_stacklevel())
            return u
        return mean + u @ scale.T

    def _prior_sample(self, n: int, generator: torch.Generator, prior: str | None = None) -> torch.Tensor:
        """Causal latents (n, D) of the generative model: exogenous u (:meth:`_exogenous_sample`), the
        concepts z = SCM(u) through the learned mechanisms, the style latents u as they are (drawing z ~ N(0, I)
        directly would decode causes and effects drawn independently of each other)."""
        u = self._exogenous_sample(n, generator, prior)
        k = len(self.factor_names_)
        with torch.no_grad():
            concepts = self.scm_(u[:, :k].to(self.device_)).cpu()
        return torch.cat([concepts, u[:, k:]], dim=1)

    def _intervene_codes(self, u: torch.Tensor, interventions: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Counterfactual latents (N, D) from exogenous latents u (N, D) (abduction already done)."""
        k = len(self.factor_names_)
        z = self.scm_(u[:, :k])
        z_cf = self.scm_.intervene(z, interventions, u=u[:, :k])
        return torch.cat([z_cf, u[:, k:]], dim=1)
