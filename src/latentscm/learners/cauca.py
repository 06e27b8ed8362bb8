"""CauCA: causal component analysis, the latent SCM of a known graph learnt by exact likelihood.

Liang, Kekić, von Kügelgen, Buchholz, Besserve, Gresele & Schölkopf (NeurIPS 2023), "Causal component analysis"
(official code: akekic/causal-component-analysis, read for its setup only; this is a reimplementation from the
paper). The causal graph over ``d`` latents is *known*; the observations ``x = f(z)`` are an unknown
diffeomorphism of them; the data come from an observational regime and from regimes that intervene on known
targets. Each regime's latent density factorises along the graph, and an intervened variable's mechanism is
replaced by its own density:

    p_k(z) = prod_{i not in tau_k} p_i(z_i | z_pa(i)) * prod_{i in tau_k} q_i(z_i)

(perfect, stochastic interventions). The unmixing ``g = f^{-1}`` is a normalizing flow, so the likelihood is exact:
``log p_k(x) = log p_k(g(x)) + log |det J_g(x)|``, maximised over the flow and the densities together.

**Here.** ``g`` is a normalizing flow of ActNorm, orthogonal mixing and masked autoregressive rational-quadratic
splines (:class:`~latentscm.nn.spline_flow.SplineFlow`; the official code stacks such splines with LU-linear
permutations; ``flow="affine"`` swaps in affine layers), after a fixed logit for observations in (0, 1)
(``inputs="logit"``, the :class:`~latentscm.worlds.NonlinearICA` world's sigmoid outputs). Each mechanism
``p_i(z_i | z_pa(i))`` and each intervened density ``q_i`` is a Gaussian mixture whose parameters are an MLP of the
parents (:class:`~latentscm.nn.conditional_mixture.ConditionalGaussianMixture`; the official nonparametric model
uses autoregressive spline flows conditioned on every earlier variable, its parametric one linear Gaussian
mechanisms). One ``q_i`` per variable is shared by the regimes that intervene on it (the official parametric model
learns one per regime). The targets come from the training data's ``targets`` (N, K) (``fit(world, regimes=...)``
or a Batch drawn with a regime); rows with no target are observational.

**What is identified.** With the graph known, the observational regime and one perfect stochastic intervention on
every variable identify each latent up to an invertible element-wise map, under the paper's genericity condition
("interventional discrepancy": each intervened density differs from the mechanism it replaces); observational data
alone leave the latents unidentified, as in nonlinear ICA. So the codes are named after the graph's variables —
latent ``i`` is the one the regimes targeting factor ``i`` set, no permutation to search — but their scale is the
model's own: :meth:`calibrate` fits the monotone maps to world units from a few labelled samples, after which
:meth:`counterfactual` takes interventions in world units like every causal learner's. Fitting on data without
interventions, or with a variable never intervened on, warns.

**Counterfactuals.** The mixture CDF is the exogenous noise, ``u_i = F_i(z_i | z_pa(i))`` (kept on the standard
normal scale, ``Phi^{-1}(u_i)``, so tails do not round to 0 or 1): abduction encodes and applies the CDFs, action
sets the intervened codes, prediction recomputes each descendant as ``F_i^{-1}(u_i | z'_pa(i))`` in topological
order, and the flow maps back. A mechanism monotone in its noise has
counterfactuals identified by its conditional distribution (Nasr-Esfahany, Alizadeh & Shah, ICML 2023).

**Measured at our scale** (``benchmarks/bench_cauca.py``, 3 latents, 3 seeds): codes match their own latents
(|Spearman| 0.995 under a linear mixing, 0.98 under one smooth nonlinearity) and counterfactuals of a cause land at
0.11-0.33 of the distance of changing nothing; with the targets hidden the latents stay mixed (0.35-0.47). Single
fits can stop at local optima with mixed latents and a worse likelihood; :func:`fit_restarts` picks the most likely
of several starts (two smooth nonlinearities: 0.82 for one start, 0.987 for the best of three).

Codes are ``g(x)`` (N, d), deterministic. Observations must have exactly ``d`` numbers each (a flow is square).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number
from latentscm.graph import CausalGraph
from latentscm.interventions import Do, as_interventions
from latentscm.learners.base import Learner, StepOutput
from latentscm.learners.causal_base import parse_graph_parameter, resolve_graph
from latentscm.nn.autoregressive_flow import AutoregressiveFlow
from latentscm.nn.conditional_mixture import ConditionalGaussianMixture
from latentscm.nn.spline_flow import SplineFlow

__all__ = ["CauCA", "CAUCA_FLOWS", "CAUCA_INPUTS", "LR_SCHEDULES", "fit_restarts"]

#: How observations enter the flow: ``"logit"`` (values in (0, 1), e.g. sigmoid outputs) or ``"identity"``.
CAUCA_INPUTS = ("logit", "identity")
#: The unmixing flow: masked autoregressive rational-quadratic splines or affine layers.
CAUCA_FLOWS = ("spline", "affine")
#: ``"cosine"``: the learning rate falls from ``lr`` to 0 along a half cosine over the steps (the official code's
#: annealing); ``"constant"``: it stays at ``lr``.
LR_SCHEDULES = ("cosine", "constant")
# observations are clamped this far inside (0, 1) before the logit
_EPS = 1e-6


class CauCA(Learner):
    """Causal component analysis (Liang et al., NeurIPS 2023; see the module docstring).

    Parameters
    ----------
    graph : str, default "world"
        The known latent graph: ``"world"`` (the training world's graph over its factors), a graph in text form
        over the factor names (``"z0 -> z1; z1 -> z2"``) or ``"none"`` (no edges: independent components, the
        interventional ICA of the paper's Section 5).
    flow : {"spline", "affine"}, default "spline"
        The unmixing flow: masked autoregressive rational-quadratic splines
        (:class:`~latentscm.nn.spline_flow.SplineFlow`, as the official code's) or affine layers
        (:class:`~latentscm.nn.autoregressive_flow.AutoregressiveFlow`).
    flow_layers : int, default 6
        Blocks of the unmixing flow.
    flow_hidden : int, default 32
        Hidden units per latent in each autoregressive layer of the flow.
    components : int, default 8
        Gaussian components of each mechanism's and each intervened variable's density.
    mechanism_hidden : int, default 64
        Width of the MLPs that map parents to a mechanism's mixture parameters.
    inputs : {"logit", "identity"}, default "logit"
        A fixed first layer of the flow: ``logit(x)`` for observations in (0, 1), or none.
    lr_schedule : {"cosine", "constant"}, default "cosine"
        ``"cosine"`` anneals the learning rate from ``lr`` to 0 over ``steps`` (as the official code does, per epoch);
        a run resumed with more steps than it started with keeps the schedule it started with, so its extra steps
        run at rate 0: start a new run to train longer.
    lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "cauca"
    posterior = "deterministic"
    uses_targets: ClassVar[bool] = True
    dense_layers = False

    def __init__(self, *, graph: str = "world", flow: str = "spline", flow_layers: int = 6, flow_hidden: int = 32,
                 components: int = 8, mechanism_hidden: int = 64, inputs: str = "logit", lr: float = 1e-3,
                 lr_schedule: str = "cosine", batch_size: int = 256, steps: int = 5000,
                 grad_clip: float | None = 10.0, seed: int = 0, device: str = "cpu"):
        self.graph = graph
        self.flow = flow
        self.flow_layers = flow_layers
        self.flow_hidden = flow_hidden
        self.components = components
        self.mechanism_hidden = mechanism_hidden
        self.inputs = inputs
        self.lr_schedule = lr_schedule
        super().__init__(latent_dim=None, likelihood="gaussian", lr=lr, batch_size=batch_size, steps=steps,
                         grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        if not isinstance(self.graph, str) or not self.graph.strip():
            raise TypeError(f"The 'graph' parameter of {owner} must be 'world', 'none' or a graph in text form. "
                            f"Got {self.graph!r} instead.")
        if self.graph == "learn":
            raise ValueError(f"The 'graph' parameter of {owner} must be known ('world', 'none' or a graph in text "
                             f"form): causal component analysis does not learn the graph. Got 'learn'.")
        if self.graph not in ("world", "none"):
            parse_graph_parameter(self.graph, owner)
        self.flow_layers = check_number(self.flow_layers, "flow_layers", owner, low=1, integer=True)
        self.flow_hidden = check_number(self.flow_hidden, "flow_hidden", owner, low=1, integer=True)
        self.components = check_number(self.components, "components", owner, low=1, integer=True)
        self.mechanism_hidden = check_number(self.mechanism_hidden, "mechanism_hidden", owner, low=1, integer=True)
        check_choice(self.inputs, "inputs", owner, CAUCA_INPUTS)
        check_choice(self.flow, "flow", owner, CAUCA_FLOWS)
        check_choice(self.lr_schedule, "lr_schedule", owner, LR_SCHEDULES)

    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return True

    def _lr_scale(self, group: str, step: int) -> float | None:
        if self.lr_schedule == "constant":
            return None
        # past the schedule's end (a run resumed with more steps than it started with) the rate stays at its end
        return 0.5 * (1.0 + math.cos(math.pi * min(step / max(self._schedule_steps(), 1), 1.0)))

    # ------------------------------------------------------------------ data hooks
    def _on_training_set(self, training_set: Any) -> None:
        owner = type(self).__name__
        if not training_set.factor_names:
            raise ValueError(f"{owner} names its latents after the factors of the data (the known graph is over "
                             f"them): fit it on a World or a Batch, not on bare images.")
        names = list(training_set.factor_names)
        size = int(np.prod(training_set.images.shape[1:]))
        if size != len(names):
            raise ValueError(f"{owner} unmixes observations with a square flow, so each observation must hold as many "
                             f"numbers as there are latents ({len(names)}: {', '.join(names)}). Got observations "
                             f"of shape {tuple(training_set.images.shape[1:])} ({size} numbers).")
        world_graph = getattr(training_set, "graph", None)
        if self.graph == "world" and world_graph is None:
            raise ValueError(f"{owner}(graph='world') needs a World to fit on (its graph is the latent graph); pass "
                             f"the known graph as text, e.g. graph='{names[0]} -> {names[-1]}', or graph='none'.")
        graph, _ = resolve_graph(self.graph, names, world_graph, owner)
        self._set_graph(names, graph)
        self.calibration_ = None  # a new fit: maps calibrated on the previous fit's codes say nothing of these
        self.inputs_ = self.inputs
        targets = getattr(training_set, "targets", None)
        counts = np.zeros(len(names), dtype=np.int64) if targets is None else np.asarray(targets).sum(0)
        self.intervention_counts_ = {name: int(c) for name, c in zip(names, counts)}
        missing = [name for name, c in zip(names, counts) if c == 0]
        if len(missing) == len(names):
            warnings.warn(f"{owner} is fitted on observational data only: without interventions its latents are not "
                          f"identified (Liang et al. 2023 need a perfect intervention on every variable). Fit on "
                          f"data drawn from regimes that intervene on each variable and change its distribution "
                          f"(fit(world, regimes=...) or a Batch drawn with one): a random value drawn from a root's "
                          f"own marginal changes nothing.", UserWarning, stacklevel=2)
        elif missing:
            warnings.warn(f"{owner}: no training sample intervenes on {', '.join(missing)}; Liang et al. (2023) "
                          f"identify each latent from a perfect intervention on every variable, so these may stay "
                          f"mixed with others.", UserWarning, stacklevel=2)

    def _set_graph(self, names: list[str], graph: CausalGraph) -> None:
        self.factor_names_ = names
        self.latent_graph_ = graph
        index = {name: i for i, name in enumerate(names)}
        self.order_ = [index[name] for name in graph.topological_order()]
        self.parents_ = [[index[p] for p in graph.parents(name)] for name in names]

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        return len(self.factor_names_)

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "mechanisms", "intervened")

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, nn.Module]:
        return {
            "encoder": (SplineFlow(latent_dim, self.flow_layers, self.flow_hidden) if self.flow == "spline"
                        else AutoregressiveFlow(latent_dim, self.flow_layers, self.flow_hidden)),
            "mechanisms": nn.ModuleList([ConditionalGaussianMixture(len(parents), self.components,
                                                                    self.mechanism_hidden)
                                         for parents in self.parents_]),
            "intervened": nn.ModuleList([ConditionalGaussianMixture(0, self.components, self.mechanism_hidden)
                                         for _ in self.parents_]),
        }

    def _extra_state(self) -> dict[str, Any]:
        state = {**super()._extra_state(), "factor_names": list(self.factor_names_),
                 "latent_graph": self.latent_graph_.to_dict(), "inputs": self.inputs_,
                 "intervention_counts": dict(getattr(self, "intervention_counts_", {}))}
        calibration = getattr(self, "calibration_", None)
        if calibration is not None:
            state["calibration"] = {name: [list(map(float, codes)), list(map(float, values))]
                                    for name, (codes, values) in calibration.items()}
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> Learner:
        extra = state.get("extra", {})
        self._set_graph(list(extra["factor_names"]), CausalGraph.from_dict(extra["latent_graph"]))
        self.intervention_counts_ = dict(extra.get("intervention_counts", {}))
        self.inputs_ = str(extra.get("inputs", self.inputs))
        calibration = extra.get("calibration")
        self.calibration_ = None if calibration is None else {
            name: (np.asarray(codes), np.asarray(values)) for name, (codes, values) in calibration.items()}
        return super().load_state_dict(state)

    # ------------------------------------------------------------------ the model
    def _flat(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(flow inputs (N, d), log |det| of the fixed input layer (N,)) of observations (N, C, H, W)."""
        x = images.reshape(images.shape[0], -1).float()
        if self.inputs_ == "identity":
            return x, x.new_zeros(x.shape[0])
        x = x.clamp(_EPS, 1.0 - _EPS)
        return torch.log(x) - torch.log1p(-x), -(torch.log(x) + torch.log1p(-x)).sum(1)

    def _unmix(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(codes z (N, d), log |det dz/dx| (N,))."""
        x, log_det_inputs = self._flat(images)
        z, log_det = self.encoder_(x)
        return z, log_det + log_det_inputs

    def _latent_log_prob(self, z: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
        """``log p_k(z)`` (N,) of codes (N, d) in the regimes that ``targets`` (N, d) bool describes (None: none)."""
        total = z.new_zeros(z.shape[0])
        for i, parents in enumerate(self.parents_):
            observational = self.mechanisms_[i].log_prob(z[:, i], z[:, parents])
            if targets is None:
                total = total + observational
                continue
            intervened = self.intervened_[i].log_prob(z[:, i], z[:, :0])
            total = total + torch.where(targets[:, i], intervened, observational)
        return total

    def loss(self, images: torch.Tensor, step: int, targets: torch.Tensor | None = None) -> StepOutput:
        z, log_det = self._unmix(images)
        if targets is not None:
            targets = targets.bool()
        log_p = self._latent_log_prob(z, targets) + log_det
        nll = -log_p.mean() / z.shape[1]
        return StepOutput({"model": nll}, {"loss": nll, "nll_per_dim": nll, "log_det": log_det.mean()})

    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        return self._unmix(images)[0]

    def _mix(self, z: torch.Tensor) -> torch.Tensor:
        """Observations (N, C, H, W) of codes (N, d)."""
        x = self.encoder_.reverse(z)
        if self.inputs_ == "logit":
            x = torch.sigmoid(x)
        return x.reshape(z.shape[0], *self.image_shape_)

    def decode(self, z: Any) -> np.ndarray:
        """Observations (N, C, H, W) float32 of codes ``z`` (N, d): the inverse flow (exact)."""
        codes = self._codes_tensor(z, "decode")
        return torch.cat(self._batched(codes, lambda b: self._mix(b).cpu())).numpy().astype(np.float32, copy=False)

    def log_prob(self, x: Any, *, targets: Any = None) -> np.ndarray:
        """``log p(x)`` (N,) float64 of observations ``x`` (N, C, H, W) in their regimes: ``targets`` (N, d) bool
        marks the intervened variables of each row (None: every row observational). Densities are per observation,
        with respect to the observations' own coordinates."""
        self._check_fitted()
        images = self._images_tensor(x, "log_prob", unit_range=self.inputs_ == "logit")
        if targets is None:
            mask = torch.zeros(images.shape[0], self.latent_dim_, dtype=torch.bool)
        else:
            array = np.asarray(targets)
            if array.shape != (images.shape[0], self.latent_dim_) or array.dtype != bool:
                raise ValueError(f"The 'targets' argument of CauCA.log_prob must be a bool array of shape "
                                 f"({images.shape[0]}, {self.latent_dim_}). Got {array.dtype} of shape {array.shape}.")
            mask = torch.from_numpy(array)

        def run(both: torch.Tensor) -> torch.Tensor:
            z, log_det = self._unmix(both[:, :-self.latent_dim_].reshape(-1, *self.image_shape_))
            return (self._latent_log_prob(z, both[:, -self.latent_dim_:].bool()) + log_det).double().cpu()

        both = torch.cat([images.reshape(images.shape[0], -1), mask.float()], dim=1)
        return torch.cat(self._batched(both, run)).numpy()

    def encode(self, x: Any, *, sample: bool = False, seed: int | None = None) -> np.ndarray:
        """Codes ``g(x)`` (N, d) float32 of observations ``x`` (N, C, H, W); deterministic (``sample`` is ignored)."""
        self._check_fitted()
        images = self._images_tensor(x, "encode", unit_range=self.inputs_ == "logit")
        return torch.cat(self._batched(images, lambda b: self._unmix(b)[0].cpu())).numpy().astype(np.float32)

    def _prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Codes (n, d) drawn from the observational latent SCM, in topological order."""
        z = torch.zeros(n, self.latent_dim_)
        with torch.no_grad():
            for i in self.order_:
                z[:, i] = self.mechanisms_[i].cpu().sample(z[:, self.parents_[i]], generator)
        self.mechanisms_.to(self.device_)
        return z

    # ------------------------------------------------------------------ counterfactuals
    def abduct(self, z: Any) -> np.ndarray:
        """Exogenous noise (N, d) of codes ``z`` (N, d) under the observational mechanisms, on the standard normal
        scale: ``Phi^{-1}(F_i(z_i | z_pa(i)))`` (computed from the log CDF or log survival function, so a code far in
        a tail keeps its noise where ``F`` itself would round to 0 or 1)."""
        codes = self._codes_tensor(z, "abduct")

        def run(b: torch.Tensor) -> torch.Tensor:
            return torch.stack([self.mechanisms_[i].normal_score(b[:, i], b[:, parents])
                                for i, parents in enumerate(self.parents_)], dim=1).cpu()

        return torch.cat(self._batched(codes, run)).numpy().astype(np.float64)

    def _names_to_indices(self, interventions: Mapping[str, Any], what: str) -> dict[int, Any]:
        out = {}
        for name, value in interventions.items():
            if name not in self.factor_names_:
                raise ValueError(f"CauCA.{what}: {name!r} is not a latent of this model "
                                 f"({', '.join(self.factor_names_)}).")
            out[self.factor_names_.index(name)] = value
        return out

    def counterfactual_codes(self, z: Any, interventions: Mapping[str, Any]) -> np.ndarray:
        """Counterfactual codes (N, d) of codes ``z`` (N, d) under ``do(name = code value)`` (in code units: one
        value or one per row): abduction, action, prediction (module docstring)."""
        codes = self._codes_tensor(z, "counterfactual_codes")
        n = codes.shape[0]
        chosen = {}
        for i, value in self._names_to_indices(interventions, "counterfactual_codes").items():
            try:
                array = np.asarray(value, dtype=np.float32)
            except (TypeError, ValueError):
                raise ValueError(f"CauCA.counterfactual_codes: the value for {self.factor_names_[i]!r} must be a "
                                 f"number or one per row. Got {value!r}.") from None
            if array.size not in (1, n) or array.ndim > 1 or not np.all(np.isfinite(array)):
                raise ValueError(f"CauCA.counterfactual_codes: the value for {self.factor_names_[i]!r} must be one "
                                 f"finite number or one per row ({n}). Got shape {array.shape}.")
            chosen[i] = torch.from_numpy(np.broadcast_to(array.reshape(-1), (n,)).copy())
        affected = set(chosen)
        for i in self.order_:
            if any(p in affected for p in self.parents_[i]):
                affected.add(i)
        columns = torch.cat([codes] + [chosen[i][:, None] for i in sorted(chosen)], dim=1)
        keys = sorted(chosen)

        def run(b: torch.Tensor) -> torch.Tensor:
            z0 = b[:, :self.latent_dim_]
            out = z0.clone()
            for column, i in enumerate(keys):
                out[:, i] = b[:, self.latent_dim_ + column]
            for i in self.order_:
                if i in chosen or i not in affected:
                    continue
                parents = self.parents_[i]
                noise = self.mechanisms_[i].normal_score(z0[:, i], z0[:, parents])
                out[:, i] = self.mechanisms_[i].quantile_of_score(noise, out[:, parents])
            return out.cpu()

        return torch.cat(self._batched(columns, run)).numpy().astype(np.float32)

    def calibrate(self, data: Any) -> CauCA:
        """Fit, per latent, the monotone map between its codes and its factor in world units, from a labelled
        Batch (``images`` and ``factors``): the latents are identified up to such maps only (module docstring).
        Its direction is the sign of the Spearman correlation; it is fitted by isotonic regression both ways.
        Returns ``self``; :meth:`to_factors` and :meth:`counterfactual` then read world units."""
        from scipy.stats import spearmanr
        from sklearn.isotonic import IsotonicRegression

        factors = getattr(data, "factors", None)
        names = getattr(data, "factor_names", None)
        if factors is None or names is None:
            raise ValueError("CauCA.calibrate needs labelled data: a Batch with 'factors' and 'factor_names'.")
        missing = [name for name in self.factor_names_ if name not in list(names)]
        if missing:
            raise ValueError(f"CauCA.calibrate: the data has no factor {', '.join(map(repr, missing))}.")
        codes = self.encode(data)
        if codes.shape[0] < 10:
            raise ValueError(f"CauCA.calibrate needs at least 10 labelled samples. Got {codes.shape[0]}.")
        factors = np.asarray(factors, dtype=np.float64)
        calibration = {}
        for i, name in enumerate(self.factor_names_):
            value = factors[:, list(names).index(name)]
            rho = spearmanr(codes[:, i], value).statistic
            increasing = bool(np.nan_to_num(rho) >= 0)
            grid = np.quantile(codes[:, i], np.linspace(0.0, 1.0, 201))
            fitted = IsotonicRegression(increasing=increasing, out_of_bounds="clip").fit(codes[:, i], value)
            calibration[name] = (grid, fitted.predict(grid))
        self.calibration_ = calibration
        return self

    def _calibration(self, what: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        self._check_fitted()
        calibration = getattr(self, "calibration_", None)
        if calibration is None:
            raise RuntimeError(f"CauCA.{what} reads world units, which need the monotone maps of calibrate(batch) "
                               f"(a few labelled samples): the latents are identified up to such maps only. Or "
                               f"work in code units with counterfactual_codes(z, ...).")
        return calibration

    def to_factors(self, z: Any) -> np.ndarray:
        """Codes (N, d) -> factor values (N, d) in world units, through the calibrated monotone maps."""
        calibration = self._calibration("to_factors")
        codes = self._codes_tensor(z, "to_factors").numpy().astype(np.float64)
        return np.stack([np.interp(codes[:, i], *calibration[name])
                         for i, name in enumerate(self.factor_names_)], axis=1)

    def from_factor(self, name: str, value: Any) -> np.ndarray:
        """A world value (or values) of factor ``name`` -> the latent's code value(s): the inverse calibrated map
        (values outside the calibrated range are clipped to it)."""
        calibration = self._calibration("from_factor")
        if name not in calibration:
            raise ValueError(f"CauCA.from_factor: {name!r} is not a latent of this model "
                             f"({', '.join(self.factor_names_)}).")
        grid, values = calibration[name]
        if values[-1] < values[0]:
            grid, values = grid[::-1], values[::-1]
        # a plateau of the isotonic fit maps to its middle code
        unique, first = np.unique(values, return_index=True)
        last = len(values) - 1 - np.unique(values[::-1], return_index=True)[1]
        middle = 0.5 * (grid[first] + grid[last])
        return np.interp(np.asarray(value, dtype=np.float64), unique, middle)

    def counterfactual(self, x: Any, interventions: Mapping[str, Any]) -> np.ndarray:
        """Counterfactual observations (N, C, H, W) of ``x`` under hard interventions in world units (one value or
        one per observation), mapped to codes by the calibrated maps (:meth:`calibrate`)."""
        self._calibration("counterfactual")
        items = as_interventions(interventions, self.factor_names_)
        values = {}
        for name, item in items.items():
            if not isinstance(item, Do):
                raise TypeError(f"CauCA.counterfactual supports hard interventions (Do); got {item!r} for {name!r}.")
            values[name] = self.from_factor(name, item.value)
        codes = self.counterfactual_codes(self.encode(x), values)
        return self.decode(codes)



def fit_restarts(learner: CauCA, data: Any, *, restarts: int, **fit_options: Any) -> CauCA:
    """Fit ``restarts`` copies of ``learner`` from different starts and return the one whose likelihood of ``data``
    is highest.

    The likelihood has spurious local optima in which latents stay mixed (a fit of three latents under a linear
    mixing ended at 0.03 nats per dimension above the identified fit, with one latent correlating 0.03 with its
    factor); the identified solution is the maximum-likelihood one, so the best of several starts selects it
    without labels. ``data`` is a labelled or unlabelled Batch with ``targets`` (the training data, each row scored in
    its regime). Restart ``r`` is seeded from ``SeedSequence([learner.seed, r])``. The returned model records every
    restart's seed and mean log-likelihood per observation in ``restarts_`` (list of dicts).
    """
    restarts = check_number(restarts, "restarts", "fit_restarts", low=1, integer=True)
    if fit_options.get("out") is not None or fit_options.get("resume"):
        raise ValueError("fit_restarts keeps its fits in memory and takes no 'out' or 'resume': save the model it "
                         "returns with model.save(directory).")
    if not isinstance(learner, CauCA):
        raise TypeError(f"fit_restarts fits CauCA learners. Got {type(learner).__name__}.")
    targets = getattr(data, "targets", None)
    if targets is None or getattr(data, "images", None) is None:
        raise ValueError("fit_restarts needs the training data as a Batch with 'images' and 'targets' (e.g. "
                         "world.sample(n, seed=..., regime=...)): each start is scored by its likelihood of it.")
    best, best_score, record = None, -np.inf, []
    for r in range(restarts):
        seed = int(np.random.SeedSequence([int(learner.seed), r]).generate_state(1)[0])
        model = learner.clone().set_params(seed=seed).fit(data, **fit_options)
        score = float(np.mean(model.log_prob(data, targets=np.asarray(targets, dtype=bool))))
        record.append({"restart": r, "seed": seed, "log_likelihood": score})
        if score > best_score:
            best, best_score = model, score
    if best is None:
        raise FloatingPointError(f"fit_restarts: no start gave a finite log-likelihood of the data ({record}); lower "
                                 f"'lr' or set 'grad_clip'.")
    best.restarts_ = record
    return best
