"""A CausalTime-style generator: realistic time series with a known causal graph, learned from data.

Cheng, Wang, Xiao, Zhong, Suo & He (2024), "CausalTime: realistically generated time-series for
benchmarking of causal discovery", ICLR. The pipeline, written here from the paper:

1. **Fit** one predictor per variable on a lag window, ``x_{j,t} ≈ f_j(x_{t-1}, ..., x_{t-tau_max})``
   (small MLPs, trained together as one batched network on the standardised series; with
   ``target="difference"``, the default, they predict the step ``x_{j,t} - x_{j,t-1}``, which keeps the
   cross effects of slowly varying series from drowning in the variable's own level).
2. **Importance → graph H.** Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic
   attribution for deep networks", ICML) of each ``f_j`` with respect to each input
   ``x_{i,t-tau}``, averaged in absolute value over windows of the series (baseline: the series
   mean), give ``importance_[tau, i, j]``. H keeps, per target j, the parents whose importance
   (summed over lags, relative to the largest non-self importance of that target) reaches
   ``threshold``, or the ``top_k`` largest; a ``prior`` (d, d) restricts the candidates, or *is* H
   with ``selection="prior"`` (the paper's "prior knowledge" route). ``self_loops`` keeps every
   ``j -> j`` (real series are autocorrelated).
3. **Masked refit.** A second network ``g_j`` sees only the parents of j in H: its input is
   multiplied by a fixed 0/1 mask before the first layer, so the gradient of ``g_j`` with respect to
   every non-parent input is exactly 0 (:meth:`CausalTimeGenerator.jacobian` shows it).
4. **Residual term** ``r_j = f_j - g_j`` (what the parents in H cannot explain) and a **noise
   model** fitted to the one-step residuals of the model that drives x: independent per variable,
   Gaussian (``noise="gaussian"``) or resampled from that variable's own centred residuals
   (``noise="empirical"``; the paper uses a normalizing flow). Noise is drawn independently across
   variables so that it adds no hidden contemporaneous dependence.
5. **Generate** by running the fitted dynamics forward from windows of the real series.

**Which ground truth applies** depends on the residual treatment (``residual``), and the generated
series say which graph they carry (:class:`GeneratedSeries`):

* ``"child"`` (the authors' released code): ``x_{j,t} = g_j(parents in H) + noise`` and the residual
  ``r_j = f_j - g_j`` is emitted as an *extra* column ``<name>_residual``, a child of every input of
  ``f_j`` and a parent of nothing. Ground truth over the 2d columns: H among the x columns (at every
  lag 1..tau_max), and ``x_i -> r_j`` for every input i of ``f_j``.
* ``"added"`` (the paper's equation): the residual is added into x, ``x_{j,t} = g_j + r_j + noise =
  f_j + noise``, so x depends on every input of ``f_j``: the ground truth is H *plus the residual's
  dependence*, i.e. the input support of ``f_j`` — all variables, or the ``prior`` (with self-loops)
  when one is given. H alone is **not** the ground truth of these series.
* ``"none"``: no residual, ``x_{j,t} = g_j + noise``; the ground truth is exactly H.

In all modes the window ground truth has no lag-0 links and sets every lag 1..tau_max of a parent
(the networks read whole windows; an MLP depends on every unmasked input).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from latentscm._params import params_from_signature, params_repr
from latentscm._validation import as_generator, check_array, check_choice, check_number
from latentscm.discovery.timeseries._series import check_series, resolve_names
from latentscm.timeseries.generated_world import GeneratedWorld

__all__ = ["CausalTimeGenerator", "GeneratedSeries", "MaskedLagNetwork"]


class MaskedLagNetwork(torch.nn.Module):
    """``d_out`` independent MLPs (tanh hidden layers) on a flattened lag window, run as one batch.

    Input (N, tau_max * d) with column ``(tau - 1) * d + i`` holding ``x_{i,t-tau}``, or already one
    copy per output (N, d_out, tau_max * d). Each output's copy is multiplied by its row of the fixed
    0/1 ``mask`` (d_out, tau_max * d) before the first layer, so masked inputs have exactly zero
    gradient. Output (N, d_out).

    Parameters
    ----------
    mask : 0/1 array (d_out, n_inputs).
    hidden : width of the two hidden layers.
    generator : torch generator for the initial weights (the fit is seeded).
    """

    def __init__(self, mask: np.ndarray, hidden: int, generator: torch.Generator) -> None:
        super().__init__()
        d_out, n_inputs = mask.shape
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float32))

        def uniform(*shape: int, fan_in: int) -> torch.nn.Parameter:
            bound = 1.0 / np.sqrt(fan_in)
            # float32 whatever torch's default dtype: the mask and the inputs are float32
            return torch.nn.Parameter((torch.rand(*shape, generator=generator, dtype=torch.float32) * 2 - 1) * bound)

        self.w1, self.b1 = uniform(d_out, n_inputs, hidden, fan_in=n_inputs), uniform(d_out, hidden, fan_in=n_inputs)
        self.w2, self.b2 = uniform(d_out, hidden, hidden, fan_in=hidden), uniform(d_out, hidden, fan_in=hidden)
        self.w3, self.b3 = uniform(d_out, hidden, fan_in=hidden), uniform(d_out, fan_in=hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, n_inputs) or (N, d_out, n_inputs) -> (N, d_out)."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        z = x * self.mask
        h = torch.tanh(torch.einsum("nok,okh->noh", z, self.w1) + self.b1)
        h = torch.tanh(torch.einsum("noh,ohg->nog", h, self.w2) + self.b2)
        return torch.einsum("noh,oh->no", h, self.w3) + self.b3


@dataclass(frozen=True)
class GeneratedSeries:
    """Series drawn from a fitted :class:`CausalTimeGenerator`, with their ground truth.

    Attributes
    ----------
    values : float array (n, T, D): D = d, or 2d with ``residual="child"`` (x columns first, then
        the residual columns), in the units of the fitted data.
    var_names : the D column names.
    window : int array (tau_max + 1, D, D), ``[tau, i, j] = 1`` for ``x_{i,t-tau} -> x_{j,t}``: the
        ground truth of these series (see the module docstring for which graph that is per mode).
    residual : the residual treatment that produced them.
    noise : float array (n, T, d): the standardised-scale noise added to each x column.
    """

    values: np.ndarray
    var_names: tuple[str, ...]
    window: np.ndarray
    residual: str
    noise: np.ndarray = field(repr=False)

    def graph(self, kind: str = "summary") -> np.ndarray:
        """The ground truth: ``"window"`` (tau_max + 1, D, D) or ``"summary"`` (D, D)."""
        check_choice(kind, "kind", "GeneratedSeries.graph", ("summary", "window"))
        if kind == "window":
            return np.array(self.window)
        return (self.window.sum(axis=0) > 0).astype(np.int64)


class CausalTimeGenerator:
    """Learn a generator of realistic series with a known causal graph from a multivariate series.

    See the module docstring for the method and for which ground truth each ``residual`` mode carries.

    Parameters
    ----------
    tau_max : lag window of the predictors (>= 1).
    hidden : width of the predictors' two hidden layers.
    epochs : training epochs of each network (full and masked).
    batch_size : minibatch size.
    learning_rate : Adam step size.
    selection : ``"threshold"``, ``"top_k"`` or ``"prior"`` (H is the prior given to :meth:`fit`).
    threshold : for ``"threshold"``: relative importance (summed over lags, divided by the target's
        largest non-self importance) from which a parent is kept, in (0, 1].
    top_k : for ``"top_k"``: parents kept per target, besides itself.
    self_loops : always keep ``j -> j`` in H (and in the full model's support).
    target : ``"difference"``: the networks predict the standardised step ``x_{j,t} - x_{j,t-1}`` and the
        mean of ``x_{j,t}`` is ``x_{j,t-1}`` plus that (slowly varying series, e.g. discretised ODEs,
        where the level is dominated by its own past); ``"level"``: they predict ``x_{j,t}`` itself.
    residual : ``"child"``, ``"added"`` or ``"none"`` (see the module docstring).
    noise : ``"empirical"`` or ``"gaussian"``.
    ig_steps : integration steps of integrated gradients.
    ig_windows : windows of the series the importance is averaged over.
    validation_fraction : the last share of the windows held out for choosing the best epoch.
    seed : seeds weight initialisation, minibatches and the windows used for importance.

    Attributes
    ----------
    var_names_ : the d variable names.
    mean_, scale_ : per-variable standardisation (d,).
    importance_ : float array (tau_max + 1, d, d), ``[tau, i, j]`` = mean |integrated gradient| of
        ``f_j`` with respect to ``x_{i,t-tau}`` (lag 0 is 0): scores in the convention of
        :mod:`latentscm.metrics.temporal_graph`.
    graph_ : int array (d, d), H: ``[i, j] = 1`` for ``i -> j``.
    full_, masked_ : the fitted :class:`MaskedLagNetwork` s (f and g).
    step_scale_ : (d,) standard deviation of the standardised one-step differences (ones with
        ``target="level"``).
    residuals_ : float array (n_windows, d): one-step residuals of the model that drives x
        (standardised units) to which the noise model is fitted.
    noise_scale_ : (d,) standard deviation of those residuals.
    validation_mse_ : dict of the best held-out mean squared error of ``"full"`` and ``"masked"``.
    """

    def __init__(self, *, tau_max: int = 3, hidden: int = 32, epochs: int = 100, batch_size: int = 256,
                 learning_rate: float = 3e-3, selection: str = "threshold", threshold: float = 0.3,
                 top_k: int = 2, self_loops: bool = True, target: str = "difference", residual: str = "child",
                 noise: str = "empirical",
                 ig_steps: int = 32, ig_windows: int = 256, validation_fraction: float = 0.2, seed: int = 0) -> None:
        owner = "CausalTimeGenerator"
        self.tau_max = int(check_number(tau_max, "tau_max", owner, low=1, integer=True))
        self.hidden = int(check_number(hidden, "hidden", owner, low=1, integer=True))
        self.epochs = int(check_number(epochs, "epochs", owner, low=1, integer=True))
        self.batch_size = int(check_number(batch_size, "batch_size", owner, low=1, integer=True))
        self.learning_rate = check_number(learning_rate, "learning_rate", owner, low=0, low_inclusive=False)
        self.selection = check_choice(selection, "selection", owner, ("threshold", "top_k", "prior"))
        self.threshold = check_number(threshold, "threshold", owner, low=0, low_inclusive=False, high=1)
        self.top_k = int(check_number(top_k, "top_k", owner, low=0, integer=True))
        if not isinstance(self_loops, bool):
            raise TypeError(f"The 'self_loops' parameter of {owner} must be a bool. Got {self_loops!r} instead.")
        self.self_loops = self_loops
        self.target = check_choice(target, "target", owner, ("difference", "level"))
        if self.target == "difference" and not self_loops:
            raise ValueError(f"{owner} with target='difference' predicts x_t - x_(t-1), so every variable "
                             "depends on its own past: it needs self_loops=True (or target='level').")
        self.residual = check_choice(residual, "residual", owner, ("child", "added", "none"))
        self.noise = check_choice(noise, "noise", owner, ("empirical", "gaussian"))
        self.ig_steps = int(check_number(ig_steps, "ig_steps", owner, low=1, integer=True))
        self.ig_windows = int(check_number(ig_windows, "ig_windows", owner, low=1, integer=True))
        self.validation_fraction = check_number(validation_fraction, "validation_fraction", owner, low=0,
                                                high=0.5, high_inclusive=False)
        self.seed = int(check_number(seed, "seed", owner, integer=True))

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (``type(g)(**g.get_params())`` rebuilds an unfitted copy)."""
        return params_from_signature(self)

    def __repr__(self) -> str:
        return params_repr(self, self.get_params())

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, prior: Any = None, *, var_names: Sequence[str] | None = None) -> CausalTimeGenerator:
        """Fit the full predictors, extract H, refit the masked predictors and the noise model.

        Parameters
        ----------
        X : series (T, d), finite, no constant column, ``T > tau_max + 10``.
        prior : optional 0/1 array (d, d), ``prior[i, j] = 1`` allowing ``i -> j``: H is chosen among
            the allowed links (or equals the prior with ``selection="prior"``), and the full model
            reads only allowed inputs (plus self-lags with ``self_loops``).
        var_names : names of the d columns (default ``x0, x1, ...``).

        Returns
        -------
        self
        """
        fitted = copy.copy(self)  # fitted on a copy: a fit that fails leaves this generator as it was
        fitted._fit(X, prior, var_names)
        self.__dict__.update(fitted.__dict__)
        return self

    def _fit(self, X: Any, prior: Any, var_names: Sequence[str] | None) -> None:
        owner = "CausalTimeGenerator.fit"
        series = check_series(X, owner, tau_max=self.tau_max, min_extra=10, name="X")
        T, d = series.shape
        self.var_names_ = resolve_names(var_names, d, owner)
        allowed = np.ones((d, d), dtype=np.int64)
        if prior is not None:
            given = check_array(prior, "prior", owner, ndim=2)
            if given.shape != (d, d):
                raise ValueError(f"The 'prior' argument of {owner} must be a 0/1 array ({d}, {d}). "
                                 f"Got shape {given.shape}.")
            if not np.all(np.isin(given, (0, 1))):
                raise ValueError(f"The 'prior' argument of {owner} must hold only 0 and 1. Got the values "
                                 f"{sorted(set(given[~np.isin(given, (0, 1))].tolist()))[:5]}.")
            allowed = given.astype(np.int64)
        elif self.selection == "prior":
            raise ValueError(f"{owner} with selection='prior' needs a 'prior' graph (d, d).")
        if self.self_loops:
            allowed = allowed | np.eye(d, dtype=np.int64)
        if not allowed.any(axis=0).all():
            empty = [self.var_names_[j] for j in np.flatnonzero(~allowed.any(axis=0))]
            raise ValueError(f"The 'prior' argument of {owner} allows no input for {empty}.")
        generator = torch.Generator().manual_seed(self.seed)
        self.mean_ = series.mean(axis=0)
        self.scale_ = series.std(axis=0)
        standard = (series - self.mean_) / self.scale_
        inputs, levels = self._windows(standard)
        self.step_scale_ = np.ones(d)
        targets = levels
        if self.target == "difference":
            steps = levels - inputs[:, :d]
            self.step_scale_ = steps.std(axis=0)
            # a linear trend's steps are equal up to rounding: their spread is ~1e-16 of their size, not 0
            if np.any(self.step_scale_ <= 1e-8 * np.abs(steps).max(axis=0)):
                raise ValueError(f"The 'X' argument of {owner} has a column that moves by the same step at "
                                 "every time (a linear trend); use target='level'.")
            targets = steps / self.step_scale_
        self._train_mask = self._input_mask(allowed)
        self.full_, full_mse = self._train(self._train_mask, inputs, targets, generator)
        self.importance_ = self._importance(self.full_, inputs, generator)
        self.graph_ = self._select(self.importance_[1:].sum(axis=0), allowed, prior)
        self.masked_, masked_mse = self._train(self._input_mask(self.graph_), inputs, targets, generator)
        self.validation_mse_ = {"full": full_mse, "masked": masked_mse}
        self._seed_windows = standard
        self._fit_noise()

    def _fit_noise(self) -> None:
        """One-step residuals of the model that drives x under this residual mode, and their scale."""
        inputs, levels = self._windows(self._seed_windows)
        with torch.no_grad():
            mean, _ = self._one_step(torch.as_tensor(inputs, dtype=torch.float32))
        self.residuals_ = levels - mean.double().numpy()
        self.noise_scale_ = self.residuals_.std(axis=0)

    def with_residual(self, residual: str) -> CausalTimeGenerator:
        """A copy of this fitted generator with another residual treatment (``"child"``, ``"added"`` or
        ``"none"``): the networks and H are shared, the noise model is refitted to the residuals of the
        model that now drives x. This generator is left unchanged.

        Parameters
        ----------
        residual : the new residual mode.

        Returns
        -------
        CausalTimeGenerator
        """
        owner = "CausalTimeGenerator.with_residual"
        self._check_fitted(owner)
        check_choice(residual, "residual", owner, ("child", "added", "none"))
        other = copy.copy(self)
        other.residual = residual
        other._fit_noise()
        return other

    def _windows(self, standard: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (n, tau_max * d), column ``(tau - 1) * d + i`` = ``x_{i,t-tau}``, and targets (n, d)."""
        T, d = standard.shape
        L = self.tau_max
        n = T - L
        inputs = np.concatenate([standard[L - tau: L - tau + n] for tau in range(1, L + 1)], axis=1)
        return inputs, standard[L:]

    def _input_mask(self, graph: np.ndarray) -> np.ndarray:
        """(d_out, tau_max * d): row j is 1 on every lag of every parent of j in ``graph`` [i, j]."""
        return np.tile(graph.T, (1, self.tau_max)).astype(np.float32)

    def _train(self, mask: np.ndarray, inputs: np.ndarray, targets: np.ndarray,
               generator: torch.Generator) -> tuple[MaskedLagNetwork, float]:
        network = MaskedLagNetwork(mask, self.hidden, generator)
        n = inputs.shape[0]
        n_valid = int(round(self.validation_fraction * n))
        x = torch.as_tensor(inputs, dtype=torch.float32)
        y = torch.as_tensor(targets, dtype=torch.float32)
        x_train, y_train = x[: n - n_valid], y[: n - n_valid]
        x_valid, y_valid = (x[n - n_valid:], y[n - n_valid:]) if n_valid else (x_train, y_train)
        optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
        best, best_state = np.inf, None
        for _ in range(self.epochs):
            order = torch.randperm(x_train.shape[0], generator=generator)
            for start in range(0, len(order), self.batch_size):
                batch = order[start: start + self.batch_size]
                optimizer.zero_grad()
                loss = torch.mean((network(x_train[batch]) - y_train[batch]) ** 2)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                valid = float(torch.mean((network(x_valid) - y_valid) ** 2))
            if valid < best:
                best, best_state = valid, {k: v.clone() for k, v in network.state_dict().items()}
        if best_state is None:
            raise FloatingPointError(f"CausalTimeGenerator.fit: the validation loss was never finite in "
                                     f"{self.epochs} epochs; lower 'learning_rate' (now {self.learning_rate}).")
        network.load_state_dict(best_state)
        network.eval()
        return network, best

    def _importance(self, network: MaskedLagNetwork, inputs: np.ndarray, generator: torch.Generator) -> np.ndarray:
        """Mean |integrated gradient| (tau_max + 1, d, d); baseline 0 (the mean of the standardised series)."""
        n, n_inputs = inputs.shape
        d = n_inputs // self.tau_max
        chosen = torch.randperm(n, generator=generator)[: self.ig_windows]
        x = torch.as_tensor(inputs, dtype=torch.float32)[chosen]
        alphas = (torch.arange(self.ig_steps, dtype=torch.float32) + 0.5) / self.ig_steps  # midpoint rule
        total = torch.zeros(x.shape[0], d, n_inputs, dtype=torch.float32)
        for alpha in alphas:
            scaled = (alpha * x).unsqueeze(1).expand(-1, d, -1).clone().requires_grad_(True)
            network(scaled).sum().backward()
            total += scaled.grad
        attribution = (x.unsqueeze(1) * total / self.ig_steps).abs().mean(dim=0).numpy()  # (d_out, L * d)
        importance = np.zeros((self.tau_max + 1, d, d))
        importance[1:] = attribution.reshape(d, self.tau_max, d).transpose(1, 2, 0)  # [tau-1, i, j]
        return importance

    def _select(self, summary: np.ndarray, allowed: np.ndarray, prior: Any) -> np.ndarray:
        d = summary.shape[0]
        if self.selection == "prior":
            graph = np.asarray(prior, dtype=np.int64).copy()
        else:
            candidates = np.where((allowed == 1) & ~np.eye(d, dtype=bool), summary, -np.inf)
            graph = np.zeros((d, d), dtype=np.int64)
            for j in range(d):
                column = candidates[:, j]
                finite = np.isfinite(column)
                if not finite.any():
                    continue
                if self.selection == "top_k":
                    order = [i for i in np.argsort(-column, kind="stable") if finite[i]][: self.top_k]
                    graph[order, j] = 1
                else:
                    largest = column[finite].max()
                    if largest > 0:
                        graph[finite & (column >= self.threshold * largest), j] = 1
        if self.self_loops:
            np.fill_diagonal(graph, 1)
        return graph

    # ------------------------------------------------------------------ generation
    def _check_fitted(self, owner: str) -> None:
        if not hasattr(self, "masked_"):
            raise RuntimeError(f"{owner}: this CausalTimeGenerator is not fitted; call fit(X) first.")

    def ground_truth(self) -> np.ndarray:
        """The window ground truth (tau_max + 1, D, D) of the series :meth:`generate` returns (see the
        module docstring): H (``"none"``), H plus ``x_i -> r_j`` for every input of ``f_j``
        (``"child"``, D = 2d), or H plus every input of ``f_j`` (``"added"``)."""
        self._check_fitted("CausalTimeGenerator.ground_truth")
        d = len(self.var_names_)
        full_support = self._train_mask[:, :d].T.astype(np.int64)  # [i, j]: i is an input of f_j
        if self.residual == "none":
            summary = self.graph_
        elif self.residual == "added":
            summary = self.graph_ | full_support
        else:
            summary = np.zeros((2 * d, 2 * d), dtype=np.int64)
            summary[:d, :d] = self.graph_
            summary[:d, d:] = self.graph_ | full_support
        window = np.zeros((self.tau_max + 1, *summary.shape), dtype=np.int64)
        window[1:] = summary
        return window

    def _one_step(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean of the next x (N, d) and the residual term (N, d) from windows (N, tau_max * d), in
        standardised units."""
        d = len(self.var_names_)
        step_scale = torch.as_tensor(self.step_scale_, dtype=flat.dtype)
        start = flat[:, :d] if self.target == "difference" else torch.zeros_like(flat[:, :d])
        masked = self.masked_(flat) * step_scale
        if self.residual == "none":
            return start + masked, torch.zeros_like(masked)
        residual = (self.full_(flat) * step_scale) - masked
        return start + masked + (residual if self.residual == "added" else 0.0), residual

    def jacobian(self, windows: Any) -> np.ndarray:
        """Derivative of the one-step mean of each generated column with respect to each input.

        Parameters
        ----------
        windows : float array (N, tau_max, d) of standardised values, ``[:, tau - 1, i] = x_{i,t-tau}``.

        Returns
        -------
        float array (N, D, tau_max, d): ``[n, j, tau - 1, i] = d mean(x_{j,t}) / d x_{i,t-tau}`` (D = 2d
        with ``residual="child"``: the residual columns follow). Entries of non-parents in the
        ground truth are exactly 0.
        """
        self._check_fitted("CausalTimeGenerator.jacobian")
        d, L = len(self.var_names_), self.tau_max
        array = check_array(windows, "windows", "CausalTimeGenerator.jacobian", ndim=3)
        if array.shape[1:] != (L, d):
            raise ValueError(f"The 'windows' argument of CausalTimeGenerator.jacobian must be (N, {L}, {d}). "
                             f"Got {array.shape}.")
        columns = 2 * d if self.residual == "child" else d
        flat = torch.as_tensor(array.reshape(len(array), L * d), dtype=torch.float32)
        rows = []
        for j in range(columns):
            x = flat.clone().requires_grad_(True)
            mean, residual = self._one_step(x)
            output = residual[:, j - d] if j >= d else mean[:, j]
            (gradient,) = torch.autograd.grad(output.sum(), x)
            rows.append(gradient.numpy().reshape(len(array), L, d))
        return np.stack(rows, axis=1)

    def to_world(self, *, burn_in: int = 50) -> GeneratedWorld:
        """These fitted dynamics as a time-series world with an exact oracle: ``sample(T, seed=...,
        interventions=...)``, ``counterfactual(trajectory, interventions)`` (noise abduction; with no
        intervention the factual trajectory comes back bit for bit), ``abduct`` and ``graph`` (the
        :meth:`ground_truth`). See :class:`~latentscm.timeseries.generated_world.GeneratedWorld`.

        Parameters
        ----------
        burn_in : steps simulated from a window of the fitted series and dropped before ``t = 0``.

        Returns
        -------
        GeneratedWorld (with a snapshot of this fit: refitting this generator later leaves the world as it is).
        """
        self._check_fitted("CausalTimeGenerator.to_world")
        return GeneratedWorld(self, burn_in=burn_in)

    def generate(self, n: int, T: int, *, seed: int | np.random.Generator, burn_in: int = 50) -> GeneratedSeries:
        """Draw ``n`` series of ``T`` steps from the fitted dynamics.

        Each starts from a window of the fitted series chosen at random, runs ``burn_in`` steps that are
        dropped, then ``T`` steps that are returned.

        Parameters
        ----------
        n : number of series.
        T : steps per series.
        seed : int or numpy Generator (start windows and noise).
        burn_in : steps simulated and dropped before the first returned one.

        Returns
        -------
        GeneratedSeries with values (n, T, D) and the ground-truth window graph.
        """
        owner = "CausalTimeGenerator.generate"
        self._check_fitted(owner)
        n = int(check_number(n, "n", owner, low=1, integer=True))
        T = int(check_number(T, "T", owner, low=1, integer=True))
        burn_in = int(check_number(burn_in, "burn_in", owner, low=0, integer=True))
        rng = as_generator(seed)
        d, L = len(self.var_names_), self.tau_max
        source = self._seed_windows
        starts = rng.integers(0, source.shape[0] - L + 1, size=n)
        total = burn_in + T
        if self.noise == "gaussian":
            noise = rng.standard_normal((n, total, d)) * self.noise_scale_
        else:
            centred = self.residuals_ - self.residuals_.mean(axis=0)
            picks = rng.integers(0, centred.shape[0], size=(n, total, d))
            noise = centred[picks, np.arange(d)]
        history = np.empty((n, L + total, d))
        history[:, :L] = np.stack([source[s: s + L] for s in starts])
        residuals = np.zeros((n, total, d))
        with torch.no_grad():
            for t in range(total):
                window = history[:, t: t + L][:, ::-1].reshape(n, L * d)  # (tau - 1) * d + i
                mean, residual = self._one_step(torch.as_tensor(window.copy(), dtype=torch.float32))
                history[:, L + t] = mean.double().numpy() + noise[:, t]
                residuals[:, t] = residual.double().numpy()
        x = history[:, L + burn_in:] * self.scale_ + self.mean_
        names = self.var_names_
        if self.residual == "child":
            x = np.concatenate([x, residuals[:, burn_in:] * self.scale_], axis=2)
            names = (*names, *(f"{name}_residual" for name in names))
        return GeneratedSeries(x, tuple(names), self.ground_truth(), self.residual, noise[:, burn_in:])
