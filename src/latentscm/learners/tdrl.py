"""TDRL: temporally disentangled latent processes without intervention targets (a learned inverse transition prior).

Reimplemented from Yao, Chen & Zhang (NeurIPS 2022), "Temporally Disentangled Representation Learning", and its
predecessor LEAP (Yao, Sun, Ho, Sun & Zhang, ICLR 2022, "Learning Temporally Causal Latent Processes from General
Temporal Data"); official code weirayao/tdrl (``LiLY/modules/stationary.py``, ``components/transition.py``
``NPTransitionPrior``, ``tools/gen_dataset.py``), read for the model and the loss; no code is copied.

The data are pairs of consecutive frames ``(x^t, x^{t+1})`` of a stationary process whose latent variables depend
on their own and each other's past and on mutually independent innovations,
``z_j^{t+1} = f_j(z^t, eps_j^{t+1})`` (no instantaneous effects). Intervention targets are not needed (nor read).
The papers prove the ``z_j`` identified up to permutation and componentwise invertible maps when the
transitions vary enough with the past (the "sufficient variability" condition, which additive Gaussian noise of
constant scale violates: the official stationary benchmark couples the noise scale to the history;
:class:`~latentscm.worlds.temporal.TemporalWorld`'s ``noise_coupling`` does the same).

- A Gaussian encoder maps each frame to ``M`` latent units and a decoder reconstructs both frames from samples.
- The *inverse transition*: for every unit ``j`` a small MLP ``r_j(z^t, z_j^{t+1})`` (LeakyReLU 0.2, as the
  official ``NLayerLeakyMLP``) returns the estimated innovation ``eps_j``. Since ``r_j`` reads ``z^{t+1}`` only
  through ``z_j^{t+1}``, the Jacobian ``d eps / d z^{t+1}`` is diagonal and the change of variables gives
  ``log p(z^{t+1} | z^t) = sum_j log N(r_j; 0, 1) + log |d r_j / d z_j^{t+1}|``. The derivatives are propagated
  forward through the per-unit MLPs (exact; the official code calls ``torch.autograd.functional.jacobian``).
- The first frame has the prior ``N(0, I)`` (closed-form KL; the official code samples it).

Loss per pair (the ELBO of the pair when ``beta = gamma = 1``)::

    recon(x^t) + recon(x^{t+1}) + beta KL(q(z^t | x^t) || N(0, I))
        + gamma (log q(z^{t+1} | x^{t+1}) - log p(z^{t+1} | z^t))        (one sample of both codes)

The official configurations weight the two KL terms per dataset against a summed-MSE reconstruction (e.g.
``BETA = 3e-3, GAMMA = 1e-2`` for its 8-dimensional stationary benchmark); here both default to 1 with the
library's pixel likelihood, as for the other VAEs. Not reproduced: lags above 1 (the library's temporal worlds are
first order), the recurrent inference network (``infer_mode="R"``), and the nonstationary variants (domain
embeddings, LiLY's changing noise distributions).

**Measured at our scale.** On the paper's own kind of data (``benchmarks/bench_tdrl_synthetic.py``: its
noise-coupled process at lag 1, 8 latents, 50,000 pairs, 40,000 steps, a 4 x 128 leaky-ReLU MLP through
``hidden_dim=(128,) * 4``, the official weights scaled to the observations' variance) the transition prior helps as
the paper says: MCC 0.735 ± 0.012 against 0.562 ± 0.018 for a β-VAE with the same networks (seeds 0-2), though
short of identification. On temporal hue-sprites (``benchmarks/bench_tdrl.py``) it does not identify the
variables, and on random walks of the ``nonlinear-ica`` world neither it nor the β-VAE does (MCC about 0.44).

Reading the model: :meth:`TDRL.innovations` gives the estimated ``eps`` of transitions, and
:meth:`TDRL.transition_jacobian` the mean ``|d r_j / d z_i^t|`` (M, M), the learned lag-1 dependence of unit
``j`` on unit ``i`` (TDRL reads the time-delayed graph off this Jacobian).

The model is a latent structural causal model in time (each unit's mechanism ``z_j^{t+1} = r_j^{-1}(z^t, eps_j)``,
found on a grid and refined by bisection in its last argument), so it answers interventions and counterfactuals on
sequences (:class:`~latentscm.learners.latent_dynamics.LatentDynamics`): :meth:`TDRL.counterfactual_codes` abducts
every step's innovations from the encoded factual sequence, sets units at step ``at`` (``do(z_j^at = v)``) and
pushes the same innovations through the learned mechanisms (Pearl's abduction, action, prediction);
:meth:`TDRL.counterfactual_sequence` decodes it, and :meth:`TDRL.forecast` rolls the process forward with fresh
innovations. Scored against a TemporalWorld's exact counterfactual sequences
by :func:`latentscm.metrics.temporal_counterfactual.temporal_counterfactual_scores`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_number
from latentscm.learners.base import Learner, StepOutput, gaussian_kl
from latentscm.learners.latent_dynamics import LatentDynamics
from latentscm.nn.unit_linear import UnitLinear

__all__ = ["TDRL", "InverseTransition"]

#: Each unit's mechanism is first inverted on [-ROOT_BOUND, ROOT_BOUND] (posterior means of a VAE lie well inside),
#: then on intervals 4, 16, ... times wider where no root lies inside (up to _WIDENINGS times).
ROOT_BOUND = 20.0
_WIDENINGS = 10


class InverseTransition(nn.Module):
    """Per-unit MLPs ``r_j(z^t, z_j^{t+1})`` (M of them, ``layers`` hidden layers of width ``hidden``, LeakyReLU
    with ``negative_slope``) returning the estimated innovations and, forward-propagated, their derivatives."""

    def __init__(self, units: int, hidden: int, layers: int, negative_slope: float = 0.2):
        super().__init__()
        self.units = int(units)
        self.negative_slope = float(negative_slope)
        widths = [self.units + 1] + [int(hidden)] * int(layers) + [1]
        self.layers = nn.ModuleList(UnitLinear(self.units, a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, z_t: torch.Tensor, z_next: torch.Tensor, directions: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Innovations (B, M) and their derivatives (B, M, K) along the K input ``directions`` (K, M + 1) of every
        unit's MLP (input columns: ``z^t`` then the unit's own ``z_j^{t+1}``; default the last one alone, so the
        derivatives are ``d r_j / d z_j^{t+1}``). ``z_t``, ``z_next`` : (B, M)."""
        b, m = z_t.shape
        if directions is None:
            directions = torch.zeros(1, m + 1, device=z_t.device, dtype=z_t.dtype)
            directions[0, -1] = 1.0
        h = torch.cat([z_t[:, None, :].expand(b, m, m), z_next[:, :, None]], dim=2)  # (B, M, M + 1)
        tangent = directions[None, None]  # (1, 1, K, M + 1): the same directions for every unit and row
        for index, layer in enumerate(self.layers):
            h = layer(h)
            tangent = torch.einsum("bmki,mio->bmko", tangent, layer.weight)
            if index < len(self.layers) - 1:
                slope = torch.where(h > 0, torch.ones_like(h), torch.full_like(h, self.negative_slope))
                h = h * slope
                tangent = tangent * slope[:, :, None, :]
        return h[..., 0], tangent[..., 0].expand(b, m, -1)

    def invert(self, z_t: torch.Tensor, eps: torch.Tensor, *, reference: torch.Tensor | None = None,
               bound: float = ROOT_BOUND, grid: int = 257, iterations: int = 40) -> torch.Tensor:
        """``z^{t+1}`` (B, M) with ``r_j(z^t, z_j^{t+1}) = eps_j`` for every unit. ``r_j`` is piecewise linear in its
        last argument but not necessarily monotone (as in the official model), so the roots are bracketed on a grid
        of ``grid`` points over ``[-bound, bound]``; of several, the one whose cell holds ``reference`` (B, M), or is
        nearest to it (default ``z^t``: the unit's previous value), is refined by bisection. Where no root lies in
        the interval, intervals 4, 16, ... times wider are searched (the MLP's tails are linear); where none has one
        (a non-monotone ``r_j`` has a bounded range), the grid point of ``[-bound, bound]`` with the smallest
        ``|r_j - eps_j|`` is returned, with a warning."""
        reference = z_t if reference is None else reference
        reach = torch.full_like(eps, bound)
        found = torch.zeros_like(eps, dtype=torch.bool)
        low, high = -reach, reach
        nearest = None
        for _ in range(_WIDENINGS + 1):  # the MLP's tails are linear: a root outside widens the interval
            hit, cell_low, cell_high, closest = self._bracket(z_t, eps, reference, -reach, reach, grid)
            nearest = closest if nearest is None else nearest  # on [-bound, bound]: where no root exists at all
            new = hit & ~found
            low, high = torch.where(new, cell_low, low), torch.where(new, cell_high, high)
            found = found | hit
            if bool(found.all()):
                break
            reach = torch.where(found, reach, 4.0 * reach)
        if not bool(found.all()):
            warnings.warn(f"InverseTransition.invert: {int((~found).sum())} of {found.numel()} innovations have no "
                          f"root within +-{float(reach.max()):g} (a mechanism that is not monotone in its own next "
                          f"value has a bounded range); the value in +-{bound:g} nearest to one is used.",
                          stacklevel=2)
        inner, low, high, _ = self._bracket(z_t, eps, reference, low, high, 33)  # a finer grid in the chosen cell
        negative_low = (self(z_t, low)[0] - eps) <= 0
        below, above = torch.where(negative_low, low, high), torch.where(negative_low, high, low)
        for _ in range(iterations):
            middle = 0.5 * (below + above)
            negative = (self(z_t, middle)[0] - eps) <= 0
            below = torch.where(negative, middle, below)
            above = torch.where(negative, above, middle)
        return torch.where(found, 0.5 * (below + above), nearest)

    def _bracket(self, z_t: torch.Tensor, eps: torch.Tensor, reference: torch.Tensor, low: torch.Tensor,
                 high: torch.Tensor, grid: int) -> tuple[torch.Tensor, ...]:
        """On ``grid`` points from ``low`` to ``high`` (each (B, M)): whether ``r - eps`` changes sign, the cell
        (its two ends) where it does that holds ``reference`` or lies nearest to it (else the whole interval), and
        the point with the smallest ``|r - eps|``."""
        fractions = torch.linspace(0.0, 1.0, grid, device=eps.device, dtype=eps.dtype)[:, None, None]
        points = low[None] + (high - low)[None] * fractions  # (G, B, M)
        values = torch.stack([self(z_t, point)[0] for point in points]) - eps[None]
        change = (values[:-1] <= 0) != (values[1:] <= 0)  # (G - 1, B, M): a root in the cell
        distance = torch.maximum(points[:-1] - reference[None], reference[None] - points[1:]).clamp_min(0.0)
        distance = torch.where(change, distance, torch.full_like(distance, float("inf")))
        cell = distance.argmin(0)[None]  # (1, B, M)
        found = change.any(0)
        nearest = points.gather(0, values.abs().argmin(0)[None])[0]
        return (found, torch.where(found, points.gather(0, cell)[0], low),
                torch.where(found, points.gather(0, cell + 1)[0], high), nearest)

    def log_density(self, z_t: torch.Tensor, z_next: torch.Tensor) -> torch.Tensor:
        """``log p(z^{t+1} | z^t)`` (B,) by the change of variables to standard normal innovations."""
        residual, derivative = self(z_t, z_next)
        log_det = torch.log(derivative[..., 0].abs().clamp_min(1e-12))
        return (-0.5 * residual.square() - 0.5 * math.log(2.0 * math.pi) + log_det).sum(1)


def _normal_log_prob(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``log N(x; mean, exp(logvar))`` elementwise."""
    return -0.5 * ((x - mean).square() * torch.exp(-logvar) + logvar + math.log(2.0 * math.pi))


class TDRL(LatentDynamics, Learner):
    """TDRL (Yao, Chen & Zhang 2022): a VAE on consecutive frames with a learned nonparametric inverse transition
    prior and independent innovations (see the module docstring).

    Parameters
    ----------
    latent_dim : int or None, default None
        Latent units M (``None``: ``max(2 V, V + 2)`` for the V causal variables the training data name, as
        CITRISVAE: frames also hold what does not evolve, e.g. a sprite's shape, which needs units of its own).
    beta : float, default 1.0
        Weight of the first frame's KL to ``N(0, I)`` (>= 0).
    gamma : float, default 1.0
        Weight of the second frame's KL to the learned transition prior (>= 0).
    prior_hidden : int, default 64
        Width of each unit's inverse-transition MLP.
    prior_layers : int, default 2
        Hidden layers of each unit's inverse-transition MLP (>= 1).
    likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "tdrl"
    #: ``loss`` takes ``next_images`` (B, C, H, W), the frame after each image (and ``next_targets``, not read).
    uses_transitions: ClassVar[bool] = True

    def __init__(self, *, latent_dim: int | None = None, beta: float = 1.0, gamma: float = 1.0,
                 prior_hidden: int = 64, prior_layers: int = 2, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-3,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.beta = beta
        self.gamma = gamma
        self.prior_hidden = prior_hidden
        self.prior_layers = prior_layers
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.beta = check_number(self.beta, "beta", owner, low=0)
        self.gamma = check_number(self.gamma, "gamma", owner, low=0)
        self.prior_hidden = check_number(self.prior_hidden, "prior_hidden", owner, low=1, integer=True)
        self.prior_layers = check_number(self.prior_layers, "prior_layers", owner, low=1, integer=True)

    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return True

    # ------------------------------------------------------------------ building
    def _on_training_set(self, training_set: Any) -> None:
        if getattr(training_set, "next_images", None) is None:
            raise ValueError(f"{type(self).__name__} trains on pairs of consecutive frames: give a TemporalWorld or "
                             f"TemporalTransitions.")
        self.variables_ = tuple(getattr(training_set, "factor_names", ()) or ())
        process = (getattr(training_set, "source", None) or {}).get("temporal") or {}
        if process.get("intervention_prob", 0) > 0:
            warnings.warn(f"{type(self).__name__} assumes a stationary process, and this TemporalWorld intervenes on "
                          f"its variables (intervention_prob={process['intervention_prob']:g}): the jumps are learned "
                          f"as innovations. Give intervention_prob=0 (CITRISVAE reads the targets).", stacklevel=2)

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        if self.latent_dim is not None:
            return int(self.latent_dim)
        if not n_factors:
            raise ValueError(f"The 'latent_dim' parameter of {type(self).__name__} is None, which sizes the latents "
                             f"from the causal variables, and the training data name none; give latent_dim.")
        return max(2 * int(n_factors), int(n_factors) + 2)

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "decoder", "prior")

    def _build_modules(self, image_shape, latent_dim) -> dict[str, nn.Module]:
        modules = super()._build_modules(image_shape, latent_dim)
        modules["prior"] = InverseTransition(latent_dim, self.prior_hidden, self.prior_layers)
        return modules

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "variables": list(getattr(self, "variables_", ()))}

    def _load_extra_state(self, state) -> None:
        super()._load_extra_state(state)
        self.variables_ = tuple(state.get("variables") or ())

    # ------------------------------------------------------------------ training
    def loss(self, images: torch.Tensor, step: int, *, next_images: torch.Tensor,
             next_targets: torch.Tensor | None = None) -> StepOutput:
        """images, next_images : (B, C, H, W) frames t and t + 1; ``next_targets`` is not read."""
        n = images.shape[0]
        both = torch.cat([images, next_images])
        mean, logvar = self._posterior(both, self._net("encoder"))
        z = self._reparameterise(mean, logvar, self._generator)
        recon = 2.0 * self._reconstruction(self._net("decoder")(z), both)
        kl_first = gaussian_kl(mean[:n], logvar[:n]).sum(1).mean()
        log_q = _normal_log_prob(z[n:], mean[n:], logvar[n:]).sum(1)
        kl_transition = (log_q - self._net("prior").log_density(z[:n], z[n:])).mean()
        loss = recon + self.beta * kl_first + self.gamma * kl_transition
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "kl": kl_first,
                                            "kl_transition": kl_transition})

    # ------------------------------------------------------------------ reading the model
    def _pair_codes(self, images: Any, next_images: Any, what: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The codes (N, M) of both frames of each transition, on the model's device."""
        first = self._images_tensor(images, what, argument="images")
        second = self._images_tensor(next_images, what, argument="next_images")
        if first.shape != second.shape:
            raise ValueError(f"{type(self).__name__}.{what}: 'next_images' has shape {tuple(second.shape)} and "
                             f"'images' {tuple(first.shape)}; give one next frame per frame.")
        device = self.device_
        return (torch.as_tensor(self.encode(first.numpy()), device=device),
                torch.as_tensor(self.encode(second.numpy()), device=device))

    def innovations(self, images: Any, next_images: Any) -> np.ndarray:
        """The estimated innovations ``eps = r(z^t, z^{t+1})`` (N, M) of transitions ``images -> next_images``
        (N, C, H, W) each, at the posterior means; independent standard normals where the model holds."""
        self._check_fitted()
        z_t, z_next = self._pair_codes(images, next_images, "innovations")
        with torch.no_grad():
            residual = torch.cat([self.prior_(a, b)[0] for a, b in zip(z_t.split(1024), z_next.split(1024))])
        return residual.cpu().numpy().astype(np.float64)

    def transition_jacobian(self, images: Any, next_images: Any) -> np.ndarray:
        """(M, M) mean over the transitions of ``|d r_j / d z_i^t|``, entry ``[i, j]`` (unit ``i`` at ``t`` to
        unit ``j`` at ``t + 1``, as :meth:`~latentscm.worlds.temporal.TemporalWorld.temporal_graph`); each column is
        scaled by the unit's own ``mean |d r_j / d z_j^{t+1}|``, so entries compare across units."""
        self._check_fitted()
        z_t, z_next = self._pair_codes(images, next_images, "transition_jacobian")
        m = z_t.shape[1]
        directions = torch.eye(m + 1, device=z_t.device, dtype=z_t.dtype)  # every input column of each MLP
        total = torch.zeros(m, m + 1, device=z_t.device, dtype=torch.float64)
        with torch.no_grad():
            for a, b in zip(z_t.split(1024), z_next.split(1024)):
                total += self.prior_(a, b, directions)[1].abs().sum(0).double()  # (M units, M + 1 inputs)
        mean = total / z_t.shape[0]
        scaled = mean[:, :m] / mean[:, m:].clamp_min(1e-12)  # (unit j, input i)
        return scaled.T.cpu().numpy()

    # ------------------------------------------------------------------ the latent process: forecasts, counterfactuals
    def _counterfactual_step(self, dynamics: InverseTransition, factual_previous: torch.Tensor,
                             factual_next: torch.Tensor, current: torch.Tensor, intervened: Any) -> torch.Tensor:
        eps = dynamics(factual_previous, factual_next)[0]  # abduction
        # prediction under the action; of several roots, the one nearest the factual next code
        return dynamics.invert(current, eps, reference=factual_next)

    def forecast(self, frames: Any, steps: int, *, seed: int) -> np.ndarray:
        """Roll the learned process ``steps`` frames on from each of ``frames`` (N, C, H, W), with fresh standard-normal
        innovations (seeded): decoded frames (N, steps + 1, C, H, W), the first the reconstruction."""
        self._check_fitted()
        owner = f"{type(self).__name__}.forecast"
        steps = int(check_number(steps, "steps", owner, low=1, integer=True))
        generator = self._seeded_generator(seed, "forecast")
        current = torch.as_tensor(self.encode(self._images_tensor(frames, "forecast", argument="frames").numpy()),
                                  device=self.device_, dtype=torch.float64)
        prior = self._dynamics()
        codes = [current]
        with torch.no_grad():
            for _ in range(steps):
                eps = torch.randn(current.shape, generator=generator, device=generator.device, dtype=current.dtype)
                current = prior.invert(current, eps.to(current.device))
                codes.append(current)
        stacked = torch.stack(codes, dim=1).float().cpu().numpy()
        n = stacked.shape[0]
        return self.decode(stacked.reshape(n * (steps + 1), -1)).reshape(n, steps + 1, *self.image_shape_)
