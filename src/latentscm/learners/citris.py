"""CITRIS-VAE: causal variables from temporal sequences with known intervention targets.

Reimplemented from Lippe, Magliacane, Löwe, Asano, Cohen & Gavves (ICML 2022), "CITRIS: Causal
Identifiability from Temporal Intervened Sequences" (official code phlippe/CITRIS,
``models/citris_vae``, ``models/shared/transition_prior.py`` and ``target_classifier.py``, read for the model,
the loss and the defaults; no code is copied). The data are transitions ``(x^t, x^{t+1}, I^{t+1})``: two
consecutive frames of a temporal causal process and the binary vector of the V causal variables intervened
on between them (:mod:`latentscm.worlds.temporal`). The paper proves that each causal variable is then
identified up to its *minimal causal variable* (the part of it that interventions change) as a block of
latent units.

- A Gaussian encoder maps each frame to ``M`` latent units; the decoder reconstructs ``x^{t+1}`` from a sample
  of its code (the official model decodes every frame but the first). By default (``flow_layers=4``, the official
  ``use_flow_prior``) an invertible autoregressive flow (:mod:`latentscm.nn.autoregressive_flow`) maps the samples
  to the codes the prior, ``psi`` and the classifier see; the KL is then its one-sample estimate
  ``log q(z | x) - log |det J| - log p(flow(z^{t+1}) | flow(z^t), I^{t+1})``. With ``flow_layers=0`` the prior
  reads the encoder's codes and the KL is in closed form.
- A learned assignment ``psi`` (logits (M, V + 1), a softmax per unit) puts every unit in the group of one
  causal variable, or in ``psi_0`` for what no intervention touches (used only with ``lambda_reg > 0``, as in
  the official code).
- The transition prior ``p(z^{t+1} | z^t, I^{t+1}) = prod_j p(z_j^{t+1} | z^t, I^{t+1}_{psi(j)})``: a unit whose
  variable was intervened on has a learned Gaussian per (unit, variable) that ignores the past (perfect
  interventions); otherwise a per-unit MLP of ``z^t`` (a shared context layer plus the unit's own past value)
  gives mean and log-scale. The KL to it is marginalised over ``psi``'s probabilities; ``psi_0``'s share is
  weighted ``1 - lambda_reg``. ``z^t`` is the flow of a sample of ``x^t``'s posterior (without a flow: its mean).
- A target classifier predicts ``I^{t+1}`` from ``(z^t, z^{t+1} * a_g, a_g)`` for every group ``g``'s mask
  ``a_g`` (a hard Gumbel-softmax sample of ``psi`` per row; the V variable groups, ``psi_0`` and all units).
  The classifier learns on detached codes to predict every target from every group; the encoder and ``psi``
  are trained through a detached copy of it to make group ``i`` predict ``I_i`` (weighted V) and nothing
  about the other targets (their marginal frequency as the label), ``psi_0`` nothing, all units everything.

Loss of the model: ``recon(x^{t+1}) + beta_t1 KL + beta_classifier loss_z``; of the classifier:
``beta_classifier loss_model`` (its own Adam with ``classifier_lr``). Defaults are the official ones
(``train_vae.py``: 16 latents when V is small here ``max(2 V, V + 2)``, classifier lr 4e-3, Gumbel temperature
1, ``lambda_reg = 0``, ``beta_classifier = 2``, no LayerNorm, one classifier layer of width 2 x 32); the
official model's learning-rate warm-up and cosine decay, AdamW and the autoregressive prior are not
reproduced (constant-lr Adam, the non-autoregressive prior, an orthogonal mixing in place of the LU 1x1
convolution).

The model is a latent SCM in time: :meth:`CITRISVAE.counterfactual_codes` and ``counterfactual_sequence``
(:class:`~latentscm.learners.latent_dynamics.LatentDynamics`) abduct each step's Gaussian innovations from the
factual codes and push them through the transition prior's observational mechanism from the changed codes.

``assignment_`` (M,) gives each unit's group (0 ... V - 1 the variables, V for ``psi_0``); ``encode`` returns
the flow of the posterior means (without a flow, the means) and ``decode`` inverts the flow;
:meth:`CITRISVAE.combine` is the triplet prediction (units of the variables in a mask from one image, the rest
from another, decoded).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentscm._validation import check_number
from latentscm.learners.base import Learner, StepOutput
from latentscm.learners.latent_dynamics import LatentDynamics
from latentscm.nn.autoregressive_flow import AutoregressiveFlow
from latentscm.nn.unit_linear import UnitLinear

__all__ = ["CITRISVAE", "TransitionPrior", "TargetClassifier", "normal_kl", "soft_clamp"]


def soft_clamp(logstd: torch.Tensor, bound: float = 4.0) -> torch.Tensor:
    """``bound * tanh(logstd / bound)``: log-scales kept in (-bound, bound) smoothly (as the official encoder)."""
    return bound * torch.tanh(logstd / bound)


def normal_kl(mean: torch.Tensor, logstd: torch.Tensor, prior_mean: torch.Tensor, prior_logstd: torch.Tensor
              ) -> torch.Tensor:
    """``KL(N(mean, e^{2 logstd}) || N(prior_mean, e^{2 prior_logstd}))`` elementwise (broadcasting)."""
    return (prior_logstd - logstd + (torch.exp(2 * logstd) + (mean - prior_mean) ** 2)
            / (2 * torch.exp(2 * prior_logstd)) - 0.5)


class TransitionPrior(nn.Module):
    """CITRIS's transition prior with perfect interventions and the assignment ``psi`` (module docstring).

    ``units`` M latent units, ``n_variables`` V, ``hidden`` the per-unit MLP width."""

    def __init__(self, units: int, n_variables: int, hidden: int, use_psi0: bool):
        super().__init__()
        self.units, self.n_variables = units, n_variables
        # whether psi_0 exists is part of the model as built (saved with it; lambda_reg may change after fit)
        self.register_buffer("use_psi0", torch.tensor(bool(use_psi0)))
        self._register_load_state_dict_pre_hook(self._default_use_psi0)
        self.assignment_logits = nn.Parameter(torch.zeros(units, n_variables + 1))
        self.intervened = nn.Parameter(torch.empty(units, n_variables, 2).uniform_(-0.5, 0.5))
        self.context = nn.Linear(units, units * hidden)
        self.own = UnitLinear(units, 1, hidden)
        self.out = nn.Sequential(nn.SiLU(), UnitLinear(units, hidden, hidden), nn.SiLU(),
                                 UnitLinear(units, hidden, 2))

    def _default_use_psi0(self, state_dict, prefix, *args) -> None:
        """Models saved before ``use_psi0`` was a buffer: it follows ``lambda_reg > 0`` as built (the default here)."""
        state_dict.setdefault(prefix + "use_psi0", self.use_psi0.clone())

    def logits(self) -> torch.Tensor:
        """``psi``'s logits (M, V + 1), ``psi_0``'s column at -inf when it is not used."""
        if bool(self.use_psi0):
            return self.assignment_logits
        mask = torch.zeros_like(self.assignment_logits)
        mask[:, -1] = float("-inf")
        return self.assignment_logits + mask

    def probabilities(self) -> torch.Tensor:
        """``psi`` (M, V + 1): each unit's probability of belonging to each variable's group, then ``psi_0``."""
        return torch.softmax(self.logits(), dim=1)

    def observational(self, z_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-scale (B, M) of ``p(z^{t+1}_j | z^t)`` without intervention."""
        b, m = z_t.shape
        context = self.context(z_t).view(b, m, -1)
        params = self.out(context + self.own(z_t[:, :, None]))
        return params[..., 0], soft_clamp(params[..., 1])

    def forward(self, z_t: torch.Tensor, targets: torch.Tensor, mean: torch.Tensor, logstd: torch.Tensor | None,
                lambda_reg: float) -> torch.Tensor:
        """KL (B,) of ``q(z^{t+1}) = N(mean, e^{2 logstd})`` (B, M) to the prior given ``z^t`` (B, M) and the
        targets (B, V) float, marginalised over ``psi``; with ``logstd=None``, :meth:`nll` of the codes ``mean``
        (one entry point, so a DDP-wrapped prior averages its gradients on either path)."""
        if logstd is None:
            return self.nll(z_t, targets, mean, lambda_reg)
        probs = self.probabilities()
        variable_probs, psi0 = probs[:, :-1], probs[:, -1]
        prior_mean, prior_logstd = self.observational(z_t)
        kl_observational = normal_kl(mean, logstd, prior_mean, prior_logstd)  # (B, M)
        kl_intervened = normal_kl(mean[..., None], logstd[..., None], self.intervened[None, ..., 0],
                                  soft_clamp(self.intervened[None, ..., 1]))  # (B, M, V)
        hit = variable_probs[None] * targets[:, None, :]  # (B, M, V): unit in an intervened variable's group
        not_hit = 1.0 - hit.sum(-1) - psi0[None]
        kl = (kl_intervened * hit).sum(-1) + kl_observational * (not_hit + psi0[None] * (1.0 - lambda_reg))
        return kl.sum(1)


    def nll(self, z_t: torch.Tensor, targets: torch.Tensor, z_next: torch.Tensor, lambda_reg: float
            ) -> torch.Tensor:
        """``-log p(z^{t+1} | z^t, I^{t+1})`` (B,) at codes (B, M), marginalised over ``psi`` (the flow path). As
        in the official code, the intervened Gaussians learn from detached codes and pass the codes gradients
        through detached parameters (same value, split gradients)."""
        probs = self.probabilities()
        variable_probs, psi0 = probs[:, :-1], probs[:, -1]
        prior_mean, prior_logstd = self.observational(z_t)
        nll_observational = _normal_nll(z_next, prior_mean, prior_logstd)  # (B, M)
        mean, logstd = self.intervened[..., 0], soft_clamp(self.intervened[..., 1])  # (M, V)
        nll_intervened = _normal_nll(z_next[..., None], mean.detach(), logstd.detach())  # (B, M, V)
        hit = variable_probs[None] * targets[:, None, :]
        not_hit = 1.0 - hit.sum(-1) - psi0[None] * lambda_reg
        nll = ((nll_intervened * hit).sum(-1) + nll_observational * not_hit).sum(1)
        own = (_normal_nll(z_next.detach()[..., None], mean, logstd) * targets[:, None, :]).sum((1, 2))
        nll = nll + own - own.detach()
        if lambda_reg > 0 and self.training:  # psi_0's regulariser of the flow path
            nll = nll + lambda_reg * (1.0 - psi0).mean()
        return nll


def _normal_nll(x: torch.Tensor, mean: torch.Tensor, logstd: torch.Tensor) -> torch.Tensor:
    """``-log N(x; mean, e^{2 logstd})`` elementwise."""
    return 0.5 * ((x - mean) * torch.exp(-logstd)) ** 2 + logstd + 0.5 * math.log(2.0 * math.pi)


class TargetClassifier(nn.Module):
    """Predicts the V intervention targets from ``(z^t, z^{t+1} * a, a)`` (B, 3 M) for a unit mask ``a``;
    ``marginal`` (V,) holds each target's frequency in the training data (the label of a group that must not
    know a target)."""

    def __init__(self, units: int, n_variables: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3 * units, hidden), nn.SiLU(), nn.Linear(hidden, n_variables))
        nn.init.zeros_(self.net[-1].weight)
        self.register_buffer("marginal", torch.full((n_variables,), 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CITRISVAE(LatentDynamics, Learner):
    """CITRIS-VAE (Lippe et al. 2022): a VAE on transitions of a temporal causal process with known
    intervention targets (see the module docstring).

    Parameters
    ----------
    latent_dim : int or None, default None
        Latent units M (``None``: ``max(2 V, V + 2)`` for V causal variables).
    beta_t1 : float, default 1.0
        Weight of the KL to the transition prior.
    beta_classifier : float, default 2.0
        Weight of the target classifier's two losses.
    lambda_reg : float in [0, 1), default 0.0
        ``psi_0``'s discount (0: no ``psi_0`` group, the official default).
    classifier_lr : float, default 4e-3
        Learning rate of the target classifier.
    gumbel_temperature : float, default 1.0
        Temperature of the Gumbel-softmax samples of ``psi``.
    prior_hidden : int, default 32
        Width of the per-unit prior MLP; the classifier's is twice it (the official ``c_hid``).
    flow_layers : int, default 4
        Blocks of the autoregressive flow between the encoder's samples and the prior
        (:class:`~latentscm.nn.autoregressive_flow.AutoregressiveFlow`, the official default); 0: none, and the KL
        to the prior in closed form.
    likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "citris"
    #: counterfactual sequences keep the units of the variables the factual sequence intervened on at their codes
    counterfactual_reads_targets: ClassVar[bool] = True
    #: ``loss`` takes ``next_images`` (B, C, H, W), the frame after each image, and ``next_targets`` (B, V), the
    #: variables intervened on in between (a TemporalWorld's transitions, or TemporalTransitions).
    uses_transitions: ClassVar[bool] = True

    def __init__(self, *, latent_dim: int | None = None, beta_t1: float = 1.0, beta_classifier: float = 2.0,
                 lambda_reg: float = 0.0, classifier_lr: float = 4e-3, gumbel_temperature: float = 1.0,
                 prior_hidden: int = 32, flow_layers: int = 4, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-3,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.beta_t1 = beta_t1
        self.beta_classifier = beta_classifier
        self.lambda_reg = lambda_reg
        self.classifier_lr = classifier_lr
        self.gumbel_temperature = gumbel_temperature
        self.prior_hidden = prior_hidden
        self.flow_layers = flow_layers
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.beta_t1 = check_number(self.beta_t1, "beta_t1", owner, low=0)
        self.beta_classifier = check_number(self.beta_classifier, "beta_classifier", owner, low=0)
        self.lambda_reg = check_number(self.lambda_reg, "lambda_reg", owner, low=0, high=1, high_inclusive=False)
        self.classifier_lr = check_number(self.classifier_lr, "classifier_lr", owner, low=0, low_inclusive=False)
        self.gumbel_temperature = check_number(self.gumbel_temperature, "gumbel_temperature", owner, low=0,
                                               low_inclusive=False)
        self.prior_hidden = check_number(self.prior_hidden, "prior_hidden", owner, low=1, integer=True)
        self.flow_layers = check_number(self.flow_layers, "flow_layers", owner, low=0, integer=True)

    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return True

    # ------------------------------------------------------------------ building
    def _on_training_set(self, training_set: Any) -> None:
        variables = tuple(getattr(training_set, "factor_names", ()) or ())
        targets = getattr(training_set, "next_targets", None)
        if targets is None or not variables:
            raise ValueError(f"{type(self).__name__} trains on transitions of a temporal process with known "
                             f"intervention targets: give a TemporalWorld, or TemporalTransitions with 'targets' and "
                             f"'variables'.")
        self.variables_ = variables
        self._marginal = np.asarray(targets, dtype=np.float64).mean(axis=0)

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        if n_factors is None:
            raise ValueError(f"{type(self).__name__} needs the number of causal variables (the training "
                             f"transitions' targets) to build its modules.")
        if self.latent_dim is None:
            return max(2 * int(n_factors), int(n_factors) + 2)
        if int(self.latent_dim) < int(n_factors):
            raise ValueError(f"The 'latent_dim' parameter of {type(self).__name__} is {self.latent_dim}, fewer "
                             f"units than the {n_factors} causal variables; give at least {n_factors}.")
        return int(self.latent_dim)

    def _has_flow(self) -> bool:
        """Whether the model as built has a flow (``flow_layers`` may change after fit; see CausalDiffAE's EMA)."""
        return getattr(self, "flow_built_", bool(self.flow_layers))

    def _build(self, image_shape, *, n_factors=None, device=None) -> None:
        self.flow_built_ = bool(self.flow_layers)  # first: the base class lists the modules by name while building
        if not self.flow_built_ and hasattr(self, "flow_"):
            del self.flow_  # a flow of an earlier fit
        super()._build(image_shape, n_factors=n_factors, device=device)

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "decoder", "prior", "classifier") + (("flow",) if self._has_flow() else ())

    def _optimizer_groups(self) -> dict[str, tuple[str, ...]]:
        model = ("encoder", "decoder", "prior") + (("flow",) if self._has_flow() else ())
        return {"model": model, "classifier": ("classifier",)}

    def _make_optimizer(self, group: str, parameters: list[nn.Parameter]) -> torch.optim.Optimizer:
        if group == "classifier":
            return torch.optim.Adam(parameters, lr=self.classifier_lr)
        return super()._make_optimizer(group, parameters)

    def _build_modules(self, image_shape, latent_dim) -> dict[str, nn.Module]:
        modules = super()._build_modules(image_shape, latent_dim)
        n_variables = int(self.n_factors_)
        modules["prior"] = TransitionPrior(latent_dim, n_variables, self.prior_hidden, self.lambda_reg > 0)
        modules["classifier"] = TargetClassifier(latent_dim, n_variables, 2 * self.prior_hidden)
        if self._has_flow():
            modules["flow"] = AutoregressiveFlow(latent_dim, self.flow_layers, 16)
        marginal = getattr(self, "_marginal", None)
        if marginal is not None and marginal.shape == (n_variables,):
            modules["classifier"].marginal.copy_(torch.as_tensor(marginal, dtype=torch.float32))
        return modules

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "variables": list(getattr(self, "variables_", ()))}

    def _load_extra_state(self, state) -> None:
        super()._load_extra_state(state)
        if state.get("variables"):
            self.variables_ = tuple(state["variables"])

    # ------------------------------------------------------------------ training
    def _posterior(self, images: torch.Tensor, net=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, logvar) of q(z | x), the log-scale soft-bounded as trained (:func:`soft_clamp`), so that
        ``encode_distribution``, sampling and ``kl_per_unit`` report the posterior the loss used."""
        mean, logvar = super()._posterior(images, net)
        return mean, 2.0 * soft_clamp(0.5 * logvar)

    def _classifier_inputs(self, z_t: torch.Tensor, z_next: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """(B, G, 3 M) inputs for masks (B, G, M)."""
        g = masks.shape[1]
        return torch.cat([z_t[:, None].expand(-1, g, -1), z_next[:, None] * masks, masks], dim=2)

    def loss(self, images: torch.Tensor, step: int, *, next_images: torch.Tensor,
             next_targets: torch.Tensor) -> StepOutput:
        """images, next_images : (B, C, H, W) frames t and t + 1; next_targets : (B, V) the intervention targets
        between them."""
        n = images.shape[0]
        targets = next_targets.float()
        v = targets.shape[1]
        mean, logvar = self._posterior(torch.cat([images, next_images]), self._net("encoder"))
        logstd = 0.5 * logvar  # soft-bounded by _posterior
        noise = torch.randn(mean.shape, generator=self._generator, device=mean.device, dtype=mean.dtype)
        z = mean + logstd.exp() * noise  # samples of both frames
        recon = self._reconstruction(self._net("decoder")(z[n:]), next_images)
        prior = self._net("prior")
        raw_prior = prior.module if hasattr(prior, "module") else prior
        if self._has_flow():  # the official path: the prior scores the flow of the samples, a one-sample KL
            codes, log_det = self._net("flow")(z)
            log_q = -_normal_nll(z[n:], mean[n:], logstd[n:]).sum(1)
            kl = (log_q - log_det[n:] + prior(codes[:n], targets, codes[n:], None, self.lambda_reg)).mean()
            z_t, z1 = codes[:n], codes[n:]
        else:  # closed form, the prior given the posterior mean of frame t
            kl = prior(mean[:n], targets, mean[n:], logstd[n:], self.lambda_reg).mean()
            z_t, z1 = z[:n], z[n:]

        # the target classifier: one hard Gumbel-softmax sample of psi per row; groups = variables, psi_0, all
        logits = raw_prior.logits()
        uniform = torch.rand((n, *logits.shape), generator=self._generator, device=logits.device)
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-10, 1.0 - 1e-7)))
        soft = torch.softmax((logits[None] + gumbel) / self.gumbel_temperature, dim=2)
        hard = F.one_hot(soft.argmax(2), logits.shape[1]).to(soft.dtype)
        sample = hard - soft.detach() + soft  # straight-through (B, M, V + 1)
        masks = torch.cat([sample, sample.new_ones(n, sample.shape[1], 1)], dim=2).transpose(1, 2)  # (B, V + 2, M)
        groups = masks.shape[1]
        own = torch.cat([torch.eye(v, device=targets.device), torch.zeros(1, v, device=targets.device),
                         torch.ones(1, v, device=targets.device)]).bool()  # (V + 2, V): which targets a group knows
        labels = targets[:, None].expand(-1, groups, -1)
        classifier = self._net("classifier")
        raw = classifier.module if hasattr(classifier, "module") else classifier
        # the classifier's own step, on detached codes and masks: every target from every group
        predicted = classifier(self._classifier_inputs(z_t.detach(), z1.detach(), masks.detach()))
        loss_model = groups * F.binary_cross_entropy_with_logits(predicted, labels)
        # the codes' step, through a detached copy: group i knows I_i only (the others at their marginal)
        frozen = {name: p.detach() for name, p in raw.named_parameters()}
        through = torch.func.functional_call(raw, {**frozen, "marginal": raw.marginal},
                                             (self._classifier_inputs(z_t, z1, masks),))
        wanted = torch.where(own[None], labels, raw.marginal[None, None].expand_as(labels))
        weights = torch.where(own[None], torch.full_like(labels, float(v)), torch.ones_like(labels))
        loss_z = groups * (F.binary_cross_entropy_with_logits(through, wanted, reduction="none") * weights).mean()

        model = recon + self.beta_t1 * kl + self.beta_classifier * loss_z
        with torch.no_grad():
            accuracy = ((predicted[:, :v].diagonal(dim1=1, dim2=2) > 0).float()
                        == targets).float().mean()
        return StepOutput({"model": model, "classifier": self.beta_classifier * loss_model},
                          {"loss": model, "recon": recon, "kl": kl, "loss_z": loss_z, "classifier_loss": loss_model,
                           "own_target_accuracy": accuracy})

    @property
    def codes_are_posterior_means(self) -> bool:
        """With a flow, ``encode`` returns the flow of the posterior means (the space the prior and ``psi`` act in);
        ``encode_distribution`` stays the encoder's Gaussian before it."""
        return not self._has_flow()

    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        codes = super()._encode_tensor(images, sample, generator)
        return self.flow_(codes)[0] if self._has_flow() else codes

    def _prepare_codes(self, codes: torch.Tensor) -> torch.Tensor:
        return self.flow_.reverse(codes) if self._has_flow() else codes

    # ------------------------------------------------------------------ counterfactual sequences
    def _counterfactual_step(self, dynamics: TransitionPrior, factual_previous: torch.Tensor,
                             factual_next: torch.Tensor, current: torch.Tensor, intervened: Any) -> torch.Tensor:
        """The observational mechanism ``z_j^{t+1} = mean_j(z^t) + exp(logstd_j(z^t)) eps_j``: ``eps`` abducted from the
        factual step, pushed through from the changed codes; units of variables the factual sequence intervened on
        keep their factual codes (a perfect intervention's value does not depend on the past)."""
        mean, logstd = dynamics.observational(factual_previous)
        eps = (factual_next - mean) * torch.exp(-logstd)
        mean, logstd = dynamics.observational(current)
        following = mean + torch.exp(logstd) * eps
        return following if intervened is None else torch.where(intervened, factual_next, following)

    def _intervened_units(self, targets: np.ndarray) -> np.ndarray:
        if targets.shape[2] != len(self.variables_):
            raise ValueError(f"The 'targets' argument of {type(self).__name__}.counterfactual_codes must have one "
                             f"column per causal variable ({len(self.variables_)}). Got {targets.shape[2]}.")
        padded = np.concatenate([targets, np.zeros((*targets.shape[:2], 1), dtype=bool)], axis=2)  # psi_0: never
        return padded[..., self.assignment_]

    # ------------------------------------------------------------------ reading the model
    @property
    def assignment_(self) -> np.ndarray:
        """(M,) int: each unit's group, ``0 ... V - 1`` a causal variable (``variables_`` order), V ``psi_0``."""
        self._check_fitted()
        return self.prior_.logits().argmax(1).detach().cpu().numpy().astype(np.int64)

    def assignment_probabilities(self) -> np.ndarray:
        """``psi`` (M, V + 1) as probabilities."""
        self._check_fitted()
        return self.prior_.probabilities().detach().cpu().numpy()

    def variable_units(self, variable: str | int) -> np.ndarray:
        """The units (int array) assigned to ``variable`` (a name of ``variables_`` or an index)."""
        self._check_fitted()
        names = list(self.variables_)
        if isinstance(variable, str):
            if variable not in names:
                raise ValueError(f"{type(self).__name__}.variable_units: {variable!r} is not a causal variable of "
                                 f"this model ({', '.join(names)}).")
            variable = names.index(variable)
        if isinstance(variable, (bool, np.bool_)) or not isinstance(variable, (int, np.integer)) \
                or not 0 <= int(variable) < len(names):
            raise ValueError(f"{type(self).__name__}.variable_units: 'variable' must name one of {names} or index "
                             f"0 ... {len(names) - 1}. Got {variable!r}.")
        return np.flatnonzero(self.assignment_ == int(variable))

    def combine(self, first: Any, second: Any, mask: Any) -> np.ndarray:
        """CITRIS's triplet prediction: decode the code whose units of the variables in ``mask`` (N, V) bool come
        from ``second`` and all other units from ``first`` (images (N, C, H, W) each). Returns (N, C, H, W)."""
        self._check_fitted()
        owner = f"{type(self).__name__}.combine"
        a = self.encode(first)
        b = self.encode(second)
        mask = np.asarray(mask)
        if mask.dtype != bool:
            if mask.dtype.kind not in "iuf" or not np.isin(mask, (0, 1)).all():
                raise ValueError(f"{owner}: 'mask' must be bool (or 0/1): which variables come from 'second'. "
                                 f"Got {mask.dtype} values other than 0 and 1.")
            mask = mask.astype(bool)
        if mask.shape != (a.shape[0], len(self.variables_)):
            raise ValueError(f"{owner}: 'mask' must be bool of shape (N, V) = ({a.shape[0]}, {len(self.variables_)})."
                             f" Got {mask.shape}.")
        groups = self.assignment_
        take = np.zeros(a.shape, dtype=bool)
        for i in range(mask.shape[1]):
            take[:, groups == i] = mask[:, i:i + 1]
        return self.decode(np.where(take, b, a))
