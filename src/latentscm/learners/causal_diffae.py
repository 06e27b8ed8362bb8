"""CausalDiffAE (Komanduri et al. 2024, "Causal Diffusion Autoencoders: toward counterfactual
generation via diffusion probabilistic models"), built from a diffusion autoencoder
(Preechakul et al. 2022) and the latent SCM head, with the changes that make its decoder follow
its causes at CPU scale.

Encoder -> exogenous latents u ~ q(u | x); causal latents z = LatentSCM(u_concepts) (+ style
latents); a conditional UNet denoises x_t given the condition c. What c is during training:

- ``condition="labels"`` (default; the deep-SCM design of Pawlowski et al. 2020 and Ribeiro et
  al. 2023): the *observed* standardised labels ỹ of each training image (the encoder's causal
  latents for unlabelled rows), not a latent learned at the same time. The encoder and the
  mechanisms are fitted to the labels (label prior and mechanism fit of
  :class:`~latentscm.learners.causal_base.CausalLearner`), so for an image without labels the
  concepts are abducted by the encoder (or given with ``factors=``), and an intervention goes
  through the learned latent SCM (descendants recomputed) before it reaches the UNet.
- ``condition="concepts"`` with ``concept_model=`` (a run directory of a fitted
  :class:`~latentscm.learners.causal_vae.CausalVAE` or other causal learner): c = the *frozen*
  causal latents of that model (the deep-SCM design with a pre-trained abduction model). Its
  encoder abducts, its latent SCM intervenes and recomputes descendants; the diffusion model only
  renders. The concept model is embedded in this model's saved state (weights, config and a
  fingerprint) so a saved CausalDiffAE never depends on the run directory again, and resuming a
  run whose concept model changed on disk is refused.
- ``condition="latent"``: the original design, c = z learned jointly through the UNet loss.
  Measured on the pendulum, its UNet learns to ignore c (counterfactuals worse than the input).

The condition enters the UNet as FiLM in every residual block (Perez et al. 2018) and, with
``label_maps``, as constant input channels. It is dropped as a whole with probability
``cond_dropout`` and per factor with ``factor_dropout``; the UNet also receives the keep-mask, so
"unknown" differs from "zero". That enables classifier-free guidance (Ho & Salimans 2022) with
one scale, or one scale per factor (compositional guidance, Liu et al. 2022). The network is
trained with v-prediction (Salimans & Ho 2022) and min-SNR-γ weighting (Hang et al. 2023); an
exponential moving average of its weights (``ema_decay``) is used for inference. Loss::

    E_t,ε w_γ(t) ||target_t − net(x_t, t, c)||²  +  label prior + mechanism fit (+ NOTEARS)
                                                   +  ramp(step) · beta · KL(q(u|x) || N(0, I))

With ``refiner=True`` (DiffuseVAE, Pandey et al. 2022) a convolutional decoder, trained with
its own reconstruction loss, renders the condition into a coarse image; the UNet receives that
image (gradient stopped) as extra input channels and adds the detail. A counterfactual then
decodes the intervened latents into a coarse counterfactual that the UNet refines. With a
``concept_model`` the coarse image is that model's own decoding (its counterfactual, for a
counterfactual): the UNet is a refiner of the CausalVAE, as DiffuseVAE refines a VAE.

Counterfactual = abduction (u from the encoder, or from ``factors``, **and** x_t0 by deterministic
DDIM inversion of the image under its factual condition up to t0 = ``inversion_fraction`` · T),
action (set the latent), prediction (recompute descendants through the mechanisms, DDIM-decode
from the *same* x_t0 under the counterfactual condition). ``inversion_fraction = 1`` is the full
inversion of diffusion autoencoders; smaller values keep more of the input (identity) and leave
less room for the intervention (effectiveness). DDIM inversion is the exact ODE inverse up to
discretisation (``inversion_iterations`` refines it by fixed-point iteration).

Sampling draws the exogenous latents u as :class:`~latentscm.learners.causal_vae.CausalVAE` does:
from a full-covariance Gaussian fitted to the aggregate posterior of the training images at the end
of fit (Ghosh et al. 2020), or with a ``concept_model`` from that model's own fitted prior, since
N(0, I) gives every mechanism unit noise while the encoder puts little into an effect's exogenous
latent (``prior="standard"`` keeps N(0, I)). With ``condition="labels"`` the UNet learned the
labels ỹ, and the label prior pulls SCM(u) onto them, so the aggregate posterior of u stands in for
the labels' own exogenous noise. R² of each effect on a cubic of its parents in the sampled z
(pendulum, 16 px, noise_std 0.3, 512 images, tiny networks, seed 0; world 0.95 / 0.99)::

                                     steps   shadow_length   shadow_position
    labels,   u ~ N(0, I)            1500    0.07            0.40
    labels,   u ~ aggregate          1500    0.54            0.99
    latent,   u ~ N(0, I)            1500    0.24            0.49
    latent,   u ~ aggregate          1500    0.84            0.99
    concepts, u ~ N(0, I)            1500    0.53            0.48     (steps: the CausalVAE)
    concepts, concept model's prior  1500    0.94            0.98
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from latentscm._validation import check_choice, check_number
from latentscm.diffusion import DDIMScheduler, NoiseSchedule, ddim_invert, ddim_sample
from latentscm.learners.base import StepOutput, gaussian_kl
from latentscm.learners.causal_base import CausalLearner
from latentscm.nn import ConvDecoder, ConvEncoder
from latentscm.nn.unet import COND_MODES, UNet

__all__ = ["CausalDiffAE", "CONDITIONS"]

#: What conditions the UNet during training (see the module docstring).
CONDITIONS = ("labels", "latent", "concepts")
# parameters of this model's own encoder, latent SCM and KL term: unused with condition="concepts"
_CONCEPT_MODEL_UNUSED = ("mechanism", "extra_dims", "beta", "prior_std", "label_weight", "mechanism_weight",
                         "supervised_fraction", "acyclicity_weight", "mechanism_hidden", "mechanism_lr", "kl_warmup",
                         "channels", "hidden_dim")


def _as_tuple(value: Any) -> Any:
    """A list as a tuple (config.json records tuples as lists), anything else unchanged."""
    return tuple(value) if isinstance(value, list) else value


def _same_setting(value: Any, default: Any) -> bool:
    """Whether a parameter equals its default (a list of ints and the default tuple count as equal)."""
    if isinstance(default, tuple) and isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(value) == default
    return bool(value == default)


_PREDICTIONS = ("epsilon", "v_prediction")


class CausalDiffAE(CausalLearner):
    """Causal diffusion autoencoder (see the module docstring).

    Parameters
    ----------
    graph, mechanism, extra_dims, prior_std, label_weight, mechanism_weight, supervised_fraction, \
acyclicity_weight, mechanism_hidden
        The latent SCM, as in :class:`~latentscm.learners.causal_vae.CausalVAE`. ``extra_dims``
        style latents are learned through the UNet loss (a diffusion-autoencoder semantic code).
    mechanism_lr : float > 0 or None, default 1e-3
        Adam learning rate of the latent SCM's parameters (its mechanisms, and the graph's weights
        with ``graph="learn"``); ``None`` uses ``lr``. The mechanisms are small MLPs regressed on the
        labels, and at the UNet's rate they lag: on a 16x16 pendulum in labels mode (1,024 images,
        tiny UNet, seeds 0/1) the shadow_length residual std on held-out labels after 1,500 steps was
        0.53/0.61 at lr 2e-4 and 0.18/0.20 at 1e-3 (seed 0 after 3,000 steps: 0.20 and 0.17). Models
        recorded before this parameter existed load and resume with ``None``.
    beta : float, default 1e-3
        Weight of KL(q(u|x) || N(0, I)) relative to the per-pixel denoising MSE.
    kl_warmup : int, default 500
        Steps over which the KL term (and, with ``condition="latent"``, the label terms) ramp up.
    condition : {"labels", "latent", "concepts"}, default "labels"
        Train the UNet on observed labels, on the jointly learned latents (the original), or on
        the frozen causal latents of ``concept_model``.
    concept_model : str, optional
        Run directory of a fitted causal learner (``condition="concepts"`` only) whose encoder,
        latent SCM (and, with ``refiner``, decoder) are used frozen. Loaded with the registered
        learner classes only (see :func:`latentscm.load`). ``graph`` must then name the concept
        model's graph (as text, or ``"world"`` when that is the world's): it is checked, not used.
        The parameters of this model's own encoder, latent SCM and KL term (``mechanism``,
        ``extra_dims``, ``beta``, ``prior_std``, the label and mechanism weights,
        ``supervised_fraction``, ``acyclicity_weight``, ``mechanism_hidden``, ``kl_warmup``,
        ``channels``, ``hidden_dim``) must then keep their defaults: fit refuses them otherwise.
    cond_dropout : float in [0, 1), default 0.15
        Probability of dropping the whole condition for a training sample.
    factor_dropout : float in [0, 1), default 0.1
        Probability of dropping each latent of the condition separately (per-factor guidance).
    guidance_weight : float >= 0 or mapping of str to float, default 0.0
        Default classifier-free guidance: one scale (0 = none) or ``{factor: scale}``.
    label_maps : bool, default True
        Also feed the condition to the UNet as constant input channels.
    cond_mode : {"film", "add"}, default "film"
        FiLM in every residual block, or added to the time embedding (the original design).
    prediction_type : {"v_prediction", "epsilon"}, default "v_prediction"
        What the UNet predicts.
    min_snr_gamma : float > 0 or None, default 5.0
        γ of min-SNR-γ loss weighting; None for the unweighted loss.
    ema_decay : float in [0, 1), default 0.999
        Decay of the moving average of the UNet weights used at inference (0 = live weights).
    inversion_fraction : float in (0, 1], default 1.0
        Default t0 / T of the inversion in counterfactuals (1 = full inversion to x_T).
    inversion_iterations : int >= 0, default 0
        Fixed-point refinements per DDIM inversion step (0 = plain DDIM inversion).
    refiner : bool, default False
        DiffuseVAE-style refinement of a decoded coarse image (see the module docstring).
    schedule : {"linear", "cosine"}, default "linear"
        Noise schedule.
    timesteps : int, default 300
        Training diffusion steps T.
    ddim_steps : int, default 20
        DDIM steps of the full chain (a partial chain uses the same step size).
    unet_channels, unet_multipliers, unet_res_blocks
        UNet size.
    channels, hidden_dim
        Encoder (and refiner decoder) size.
    lr, batch_size, steps, grad_clip, seed, device
        Training, see :class:`~latentscm.learners.base.Learner`.
    """

    dense_layers = False  # its networks read hidden_dim as one width

    name = "causal_diffae"
    defaults_before = {"mechanism_lr": None}  # before mechanism_lr existed the SCM trained at lr
    uses_targets = True  # interventional data: intervened concepts' mechanisms are cut (see _causal_forward)

    def __init__(self, *, graph: str = "world", mechanism: str = "additive", extra_dims: int = 0,
                 beta: float = 1e-3, prior_std: float = 0.2, label_weight: float = 0.05,
                 mechanism_weight: float = 0.05, supervised_fraction: float = 1.0, acyclicity_weight: float = 1.0,
                 mechanism_hidden: int = 32, mechanism_lr: float | None = 1e-3, kl_warmup: int = 500,
                 condition: str = "labels",
                 concept_model: str | None = None,
                 cond_dropout: float = 0.15, factor_dropout: float = 0.1,
                 guidance_weight: float | Mapping[str, float] = 0.0, label_maps: bool = True,
                 cond_mode: str = "film", prediction_type: str = "v_prediction", min_snr_gamma: float | None = 5.0,
                 ema_decay: float = 0.999, inversion_fraction: float = 1.0, inversion_iterations: int = 0,
                 refiner: bool = False, schedule: str = "linear", timesteps: int = 300, ddim_steps: int = 20,
                 unet_channels: int = 32, unet_multipliers: Sequence[int] = (1, 2, 2), unet_res_blocks: int = 1,
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 2e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = 1.0, seed: int = 0,
                 device: str = "cpu"):
        self.graph = graph
        self.mechanism = mechanism
        self.extra_dims = extra_dims
        self.beta = beta
        self.prior_std = prior_std
        self.label_weight = label_weight
        self.mechanism_weight = mechanism_weight
        self.supervised_fraction = supervised_fraction
        self.acyclicity_weight = acyclicity_weight
        self.mechanism_hidden = mechanism_hidden
        self.mechanism_lr = mechanism_lr
        self.kl_warmup = kl_warmup
        self.condition = condition
        self.concept_model = concept_model
        self.cond_dropout = cond_dropout
        self.factor_dropout = factor_dropout
        self.guidance_weight = guidance_weight
        self.label_maps = label_maps
        self.cond_mode = cond_mode
        self.prediction_type = prediction_type
        self.min_snr_gamma = min_snr_gamma
        self.ema_decay = ema_decay
        self.inversion_fraction = inversion_fraction
        self.inversion_iterations = inversion_iterations
        self.refiner = refiner
        self.schedule = schedule
        self.timesteps = timesteps
        self.ddim_steps = ddim_steps
        self.unet_channels = unet_channels
        self.unet_multipliers = unet_multipliers
        self.unet_res_blocks = unet_res_blocks
        super().__init__(latent_dim=None, likelihood="gaussian", channels=channels, hidden_dim=hidden_dim, lr=lr,
                         batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        self.likelihood = "gaussian"  # unused by a diffusion decoder; fixed for the base checks
        super()._validate()
        self._validate_causal()
        owner = type(self).__name__
        self.beta = check_number(self.beta, "beta", owner, low=0)
        if self.mechanism_lr is not None:
            self.mechanism_lr = check_number(self.mechanism_lr, "mechanism_lr", owner, low=0, low_inclusive=False)
        self.kl_warmup = check_number(self.kl_warmup, "kl_warmup", owner, low=0, integer=True)
        check_choice(self.condition, "condition", owner, CONDITIONS)
        if isinstance(self.concept_model, os.PathLike):
            self.concept_model = os.fspath(self.concept_model)
        if self.concept_model is not None and not (isinstance(self.concept_model, str) and self.concept_model):
            raise TypeError(f"The 'concept_model' parameter of {owner} must be the run directory of a fitted causal "
                            f"learner (a path). Got {self.concept_model!r} instead.")
        if (self.condition == "concepts") != (self.concept_model is not None):
            raise ValueError(f"{owner}(condition='concepts') and 'concept_model' go together: condition="
                             f"{self.condition!r} with concept_model={self.concept_model!r}. Give the run directory "
                             f"of a fitted CausalVAE with condition='concepts', or neither.")
        self.cond_dropout = check_number(self.cond_dropout, "cond_dropout", owner, low=0, high=1, high_inclusive=False)
        self.factor_dropout = check_number(self.factor_dropout, "factor_dropout", owner, low=0, high=1,
                                           high_inclusive=False)
        self.guidance_weight = self._check_guidance(self.guidance_weight, "guidance_weight", owner)
        for flag in ("label_maps", "refiner"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"The {flag!r} parameter of {owner} must be a bool. Got {getattr(self, flag)!r} "
                                f"instead.")
        check_choice(self.cond_mode, "cond_mode", owner, COND_MODES)
        check_choice(self.prediction_type, "prediction_type", owner, _PREDICTIONS)
        if self.min_snr_gamma is not None:
            self.min_snr_gamma = check_number(self.min_snr_gamma, "min_snr_gamma", owner, low=0, low_inclusive=False)
        self.ema_decay = check_number(self.ema_decay, "ema_decay", owner, low=0, high=1, high_inclusive=False)
        self.inversion_fraction = check_number(self.inversion_fraction, "inversion_fraction", owner, low=0, high=1,
                                               low_inclusive=False)
        self.inversion_iterations = check_number(self.inversion_iterations, "inversion_iterations", owner, low=0,
                                                 integer=True)
        check_choice(self.schedule, "schedule", owner, ("linear", "cosine"))
        self.timesteps = check_number(self.timesteps, "timesteps", owner, low=2, integer=True)
        try:  # the schedule refuses some lengths (the linear one: T <= 20); say so now, naming 'timesteps'
            NoiseSchedule(self.schedule, self.timesteps)
        except ValueError as error:
            raise ValueError(f"The 'timesteps' parameter of {owner} is too small for schedule={self.schedule!r}. "
                             f"Got {self.timesteps} instead ({error})") from None
        self.ddim_steps = check_number(self.ddim_steps, "ddim_steps", owner, low=1, high=self.timesteps, integer=True)
        self.unet_channels = check_number(self.unet_channels, "unet_channels", owner, low=1, integer=True)
        self.unet_res_blocks = check_number(self.unet_res_blocks, "unet_res_blocks", owner, low=1, integer=True)
        if isinstance(self.unet_multipliers, (str, bytes)) or not isinstance(self.unet_multipliers, Sequence) \
                or not self.unet_multipliers:
            raise TypeError(f"The 'unet_multipliers' parameter of {owner} must be a non-empty sequence of ints. "
                            f"Got {self.unet_multipliers!r} instead.")
        self.unet_multipliers = tuple(int(check_number(m, "unet_multipliers", owner, low=1, integer=True))
                                      for m in self.unet_multipliers)

    @staticmethod
    def _check_guidance(value: Any, name: str, owner: str) -> float | dict[str, float]:
        """A guidance scale >= 0, or a mapping factor name -> scale >= 0 (names checked at use)."""
        if isinstance(value, Mapping):
            out = {}
            for key, weight in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"The {name!r} parameter of {owner} maps factor names to scales; got the key "
                                    f"{key!r}.")
                out[key] = float(check_number(weight, f"{name}[{key!r}]", owner, low=0))
            return out
        return check_number(value, name, owner, low=0)

    # ------------------------------------------------------------------ concept model
    @property
    def _uses_concept_model(self) -> bool:
        return self.condition == "concepts"

    def _adopt_concept_model(self, model: Any, source: str) -> None:
        """Check and freeze a fitted causal learner used as the concept model."""
        owner = type(self).__name__
        if not isinstance(model, CausalLearner) or isinstance(model, CausalDiffAE):
            raise TypeError(f"The 'concept_model' of {owner} ({source}) must be a fitted causal learner with an image "
                            f"decoder, such as a CausalVAE. Got {type(model).__name__}.")
        model._check_fitted()
        if self.refiner and not hasattr(model, "decoder_"):
            raise TypeError(f"{owner}(refiner=True) decodes the coarse image with the concept model's decoder, but "
                            f"the {type(model).__name__} in {source} has none.")
        for module in model._modules().values():
            module.eval()
            module.requires_grad_(False)
        self.concept_model_ = model

    def _on_training_set(self, training_set: Any) -> None:
        super()._on_training_set(training_set)
        if not self._uses_concept_model:
            return
        from latentscm.run import load

        owner = type(self).__name__
        self._refuse_unused_parameters(owner)
        if not os.path.isdir(self.concept_model):
            raise FileNotFoundError(f"The 'concept_model' of {owner} is {self.concept_model!r}, which is not a run "
                                    f"directory (train one with `latentscm train causal_vae ...`).")
        self._adopt_concept_model(load(self.concept_model, device=str(self._torch_device())), self.concept_model)
        model = self.concept_model_
        if list(model.factor_names_) != list(self.factor_names_):
            raise ValueError(f"The concept model in {self.concept_model!r} has the factors {model.factor_names_}, "
                             f"but the training data has {self.factor_names_}; {owner} needs the same factors.")
        # the frozen concept model's latent SCM does every intervention: a 'graph' that says otherwise
        # would be ignored, so it must name the same graph (or the world's, when that is the same)
        if self._learn_graph or self.latent_graph_ != model.latent_graph_:
            ours = "learned" if self._learn_graph else sorted(self.latent_graph_.edges)
            raise ValueError(f"The 'graph' parameter of {owner} is {self.graph!r} (edges: {ours}), but the concept "
                             f"model in {self.concept_model!r}, whose frozen latent SCM does the interventions, has "
                             f"the edges {sorted(model.latent_graph_.edges)}; pass that graph as text or 'world' when "
                             f"it is the world's.")
        # codes live in the concept model's standardised units: interventions must be scaled alike
        self.factor_mean_ = np.asarray(model.factor_mean_, dtype=np.float64).copy()
        self.factor_std_ = np.asarray(model.factor_std_, dtype=np.float64).copy()
        self.latent_graph_ = model.latent_graph_
        self._learn_graph = False

    @classmethod
    def unused_parameters(cls, params: Mapping[str, Any]) -> tuple[str, ...]:
        """With ``condition="concepts"``: the parameters of this model's own encoder, SCM and KL term."""
        return _CONCEPT_MODEL_UNUSED if params.get("condition") == "concepts" else ()

    def fit(self, data: Any, **options: Any) -> CausalDiffAE:
        """Train on ``data`` as :meth:`Learner.fit <latentscm.learners.base.Learner.fit>` (same keyword
        options); returns ``self``. Resuming a run (``resume=True``) whose ``config.json`` already records
        settings that ``condition="concepts"`` leaves unused (a run trained before they were refused, which
        cannot change its hyperparameters) warns that they are ignored instead of refusing them."""
        recorded = None
        if options.get("resume") and options.get("out") is not None:
            from latentscm.run import CONFIG_NAME, read_config

            if (Path(options["out"]) / CONFIG_NAME).is_file():
                learner = read_config(options["out"]).get("learner")
                recorded = learner.get("params") if isinstance(learner, dict) else None
        self._resumed_params = recorded if isinstance(recorded, dict) else None
        try:
            return super().fit(data, **options)
        finally:
            self._resumed_params = None

    def _refuse_unused_parameters(self, owner: str) -> None:
        """With a concept model, its frozen encoder and latent SCM do abduction and interventions, so the
        parameters of this model's own encoder, SCM and KL term would be ignored: refuse them when set
        (warn when resuming a run that already records them)."""
        defaults = inspect.signature(type(self).__init__).parameters
        before = type(self).defaults_before  # the value a run recorded before the parameter existed is a default too
        unused = [name for name in self.unused_parameters(self.get_params())
                  if not _same_setting(getattr(self, name), defaults[name].default)
                  and not (name in before and _same_setting(getattr(self, name), before[name]))]
        recorded = getattr(self, "_resumed_params", None) or {}
        if unused and all(name in recorded and _same_setting(recorded[name], _as_tuple(getattr(self, name)))
                          for name in unused):
            warnings.warn(f"Resuming a {owner}(condition='concepts') run that records {', '.join(map(repr, unused))}: "
                          f"the concept model's frozen encoder and latent SCM replace this model's own, so they are "
                          f"ignored (as they were when the run was trained).", RuntimeWarning, stacklevel=2)
            return
        if unused:
            raise ValueError(f"{owner}(condition='concepts') trains only the denoiser: the concept model's frozen "
                             f"encoder and latent SCM replace this model's own, so {', '.join(map(repr, unused))} "
                             f"would be ignored. Set them on the concept model instead, or leave them at their "
                             f"defaults.")

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        if self._uses_concept_model:
            return int(self.concept_model_.latent_dim_)
        return super()._resolve_latent_dim(n_factors)

    def _posterior(self, images: torch.Tensor, net: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        if net is None and self._uses_concept_model:
            return self.concept_model_._posterior(images)
        return super()._posterior(images, net)

    def _extra_state(self) -> dict[str, Any]:
        state = super()._extra_state()
        state["diffusion"] = {"schedule": self.noise_schedule_.kind,
                              "timesteps": int(self.noise_schedule_.num_train_timesteps),
                              "prediction_type": self._prediction_type()}
        if self._uses_concept_model:
            from latentscm.run import learner_config

            model = self.concept_model_
            state["concept_model"] = {"learner": learner_config(model), "state": model.state_dict(),
                                      "fingerprint": _fingerprint(model)}
        return state

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        super()._load_extra_state(state)
        diffusion = state.get("diffusion")  # absent from files of older versions: the hyperparameters then
        if diffusion is not None:
            self.noise_schedule_ = NoiseSchedule(diffusion["schedule"], int(diffusion["timesteps"]))
            self.prediction_type_ = check_choice(diffusion["prediction_type"], "prediction_type",
                                                 f"the saved state of {type(self).__name__}", _PREDICTIONS)
        saved = state.get("concept_model")
        if self._uses_concept_model and saved is not None and saved["fingerprint"] != _fingerprint(self.concept_model_):
            raise ValueError(f"The concept model in {self.concept_model!r} is not the one this {type(self).__name__} "
                             f"was trained with (its weights changed since the checkpoint); resuming would mix two "
                             f"models. Train a new run.")

    def load_state_dict(self, state: Mapping[str, Any]) -> CausalDiffAE:
        saved = state.get("extra", {}).get("concept_model")
        if self._uses_concept_model:
            if saved is None:
                raise ValueError(f"{type(self).__name__}(condition='concepts') state without its embedded concept "
                                 f"model: the file was not written by this class.")
            from latentscm.run import learner_from_config

            model = learner_from_config({"learner": saved["learner"]}, device=str(self._torch_device()),
                                        source="the embedded concept model")
            self._adopt_concept_model(model.load_state_dict(saved["state"]), "the embedded concept model")
        return super().load_state_dict(state)

    def _check_fitted(self) -> None:
        if not hasattr(self, "unet_"):  # a concept-conditioned model has no encoder of its own
            super()._check_fitted()

    # ------------------------------------------------------------------ modules
    def _module_names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = ("unet",) if self._uses_concept_model else ("encoder", "scm", "unet")
        if self._refines() and not self._uses_concept_model:
            names += ("decoder",)
        return names + (("unet_ema",) if self._keeps_ema() else ())

    def _optimizer_groups(self) -> dict[str, tuple[str, ...]]:
        return {"model": tuple(n for n in self._module_names() if n != "unet_ema")}

    def _make_optimizer(self, group: str, parameters: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """The base Adam, with the latent SCM's parameters in a group of their own at ``mechanism_lr``
        (none with a concept model, whose frozen SCM is not trained here)."""
        own = {id(p) for p in self.scm_.parameters()} if self.mechanism_lr is not None else set()
        scm = [p for p in parameters if id(p) in own]
        if not scm:
            return super()._make_optimizer(group, parameters)
        rest = [p for p in parameters if id(p) not in own]
        return super()._make_optimizer(group, [{"params": rest}, {"params": scm, "lr": self.mechanism_lr}])

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, torch.nn.Module]:
        unet = UNet(image_shape[0], base_channels=self.unet_channels, channel_multipliers=self.unet_multipliers,
                    num_res_blocks=self.unet_res_blocks, cond_dim=2 * latent_dim, attention=False,
                    cond_mode=self.cond_mode, cond_maps=self.label_maps,
                    image_cond_channels=image_shape[0] if self.refiner else 0)
        modules: dict[str, torch.nn.Module] = {"unet": unet}
        if not self._uses_concept_model:
            modules["encoder"] = ConvEncoder(image_shape, 2 * latent_dim, channels=self.channels,
                                             hidden_dim=self.hidden_dim)
            modules["scm"] = self._make_scm()
            if self.refiner:
                modules["decoder"] = ConvDecoder(latent_dim, image_shape, channels=self.channels,
                                                 hidden_dim=self.hidden_dim)
        if self.ema_decay > 0:
            ema = copy.deepcopy(unet)
            ema.requires_grad_(False)
            modules["unet_ema"] = ema
        return modules

    def _refines(self) -> bool:
        """Whether the fitted model has a refiner (the hyperparameter for objects pickled before it was recorded)."""
        return getattr(self, "refiner_", self.refiner)

    def _keeps_ema(self) -> bool:
        """Whether the fitted model keeps EMA weights of its UNet (see :meth:`_refines`)."""
        return getattr(self, "ema_", self.ema_decay > 0)

    def _build(self, image_shape, *, n_factors=None, device=None) -> None:
        # the modules as built: inference and saving read these, not 'refiner' and 'ema_decay', which set_params may
        # change after fit (the model would then look for a decoder or EMA UNet it never had); set first, since the
        # base class lists the modules by name while building
        self.refiner_, self.ema_ = bool(self.refiner), self.ema_decay > 0
        super()._build(image_shape, n_factors=n_factors, device=device)
        # the UNet's diffusion as fitted: inference reads these, not 'schedule', 'timesteps' and 'prediction_type'
        # (set_params after fit would otherwise decode with a target or schedule the UNet never learned)
        self.noise_schedule_ = NoiseSchedule(self.schedule, self.timesteps)
        self.prediction_type_ = self.prediction_type
        if self._uses_concept_model:
            model = self.concept_model_
            if tuple(model.image_shape_) != self.image_shape_:
                raise ValueError(f"The concept model of {type(self).__name__} was trained on images of shape "
                                 f"{tuple(model.image_shape_)}, the data has {self.image_shape_}.")
            for module in model._modules().values():
                module.to(self.device_)
            model.device_ = self.device_
            self.scm_ = model.scm_  # a reference: abduction and interventions go through the frozen SCM

    def _scheduler(self) -> DDIMScheduler:
        return DDIMScheduler(self.noise_schedule_, prediction_type=self._prediction_type())

    def _prediction_type(self) -> str:
        """What the fitted UNet predicts (the hyperparameter for objects pickled before it was recorded)."""
        return getattr(self, "prediction_type_", self.prediction_type)

    @torch.no_grad()
    def _update_ema(self, step: int) -> None:
        """EMA of the UNet weights, with the usual warm-up ``min(decay, (1 + s) / (10 + s))``."""
        if not self._keeps_ema():
            return
        decay = min(self.ema_decay, (1 + step) / (10 + step))
        for ema, live in zip(self.unet_ema_.parameters(), self.unet_.parameters()):
            ema.lerp_(live.detach(), 1.0 - decay)
        for ema, live in zip(self.unet_ema_.buffers(), self.unet_.buffers()):
            ema.copy_(live)

    def _inference_unet(self) -> UNet:
        return self.unet_ema_ if self._keeps_ema() else self.unet_

    # ------------------------------------------------------------------ condition
    @staticmethod
    def _pack(values: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """UNet condition (N, 2D): the kept values and the keep-mask (dropped = value 0, mask 0)."""
        keep = keep.to(values.dtype)
        return torch.cat([values * keep, keep], dim=1)

    def _coarse(self, values: torch.Tensor, decoder: torch.nn.Module | None = None) -> torch.Tensor:
        """The refiner's coarse image in [-1, 1] (N, C, H, W) from condition values (N, D)
        (the concept model's mean image when there is one)."""
        if decoder is None and self._uses_concept_model:
            model = self.concept_model_
            return model._likelihood.mean(model.decoder_(values)) * 2.0 - 1.0
        return torch.sigmoid((decoder or self.decoder_)(values)) * 2.0 - 1.0

    def _full_condition(self, values: torch.Tensor, keep: torch.Tensor,
                        coarse: torch.Tensor | None = None) -> torch.Tensor:
        """The flat condition the pipelines pass through: packed values, then the coarse image."""
        packed = self._pack(values, keep)
        if not self._refines():
            return packed
        if coarse is None:
            coarse = self._coarse(values)
        any_kept = (keep.sum(1) > 0).to(coarse.dtype)[:, None, None, None]
        return torch.cat([packed, (coarse * any_kept).flatten(1)], dim=1)

    def _model_fn(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None,
                  net: torch.nn.Module | None = None) -> torch.Tensor:
        net = self._inference_unet() if net is None else net
        width = 2 * self.latent_dim_
        if not self._refines():
            return net(x_t, t, cond)
        return net(x_t, t, cond[:, :width], image_cond=cond[:, width:].reshape(x_t.shape))

    # ------------------------------------------------------------------ training
    def loss(self, images: torch.Tensor, step: int, factors: torch.Tensor | None = None,
             targets: torch.Tensor | None = None) -> StepOutput:
        if step > 0:
            self._update_ema(step - 1)  # the weights after the previous optimiser step
        if self._uses_concept_model:  # frozen abduction: only the denoiser learns
            with torch.no_grad():
                values = self.concept_model_._encode_tensor(images, False, None)
                coarse = self._coarse(values) if self._refines() else None
            mse = self._denoising_loss(images, values, lambda: coarse)
            return StepOutput({"model": mse}, {"loss": mse, "mse": mse})
        generator = self._generator
        k = len(self.factor_names_)
        mean, logvar = self._posterior(images, self._net("encoder"))
        u = self._reparameterise(mean, logvar, generator)
        z, causal, logs = self._causal_forward(u, factors, step, targets)
        if self.condition == "labels":
            concepts = z[:, :k].detach()
            if factors is not None:
                concepts = torch.where(torch.isnan(factors), concepts, factors)
            values = torch.cat([concepts, z[:, k:]], dim=1)
        else:
            values = z
        refined: dict[str, torch.Tensor] = {}

        def coarse_image() -> torch.Tensor | None:
            if not self._refines():
                return None
            logits = self._net("decoder")(values)
            refined["recon"] = F.binary_cross_entropy_with_logits(logits, images, reduction="none"
                                                                  ).flatten(1).sum(1).mean()
            return (torch.sigmoid(logits) * 2.0 - 1.0).detach()

        mse = self._denoising_loss(images, values, coarse_image)
        kl = gaussian_kl(mean, logvar).sum(1).mean()
        ramp = min(1.0, (step + 1) / self.kl_warmup) if self.kl_warmup else 1.0
        if self.condition == "labels":
            loss = mse + ramp * self.beta * kl + causal
        else:
            loss = mse + ramp * (self.beta * kl + causal)
        if "recon" in refined:
            loss = loss + refined["recon"]
            logs = {**logs, "recon": refined["recon"]}
        logs = {"loss": loss, "mse": mse, "kl": kl, **logs}  # the loss optimised, refiner term included
        return StepOutput({"model": loss}, logs)

    def _denoising_loss(self, images: torch.Tensor, values: torch.Tensor, coarse_image) -> torch.Tensor:
        """The weighted denoising loss (scalar) of ``images`` (N, C, H, W) under condition
        ``values`` (N, D), with condition dropout; ``coarse_image()`` gives the refiner's input."""
        generator = self._generator
        n, d = values.shape
        drop_all = torch.rand((n, 1), generator=generator, device=images.device) < self.cond_dropout
        drop_one = torch.rand((n, d), generator=generator, device=images.device) < self.factor_dropout
        keep = ~(drop_all | drop_one)
        x0 = images * 2.0 - 1.0
        t = torch.randint(0, self.noise_schedule_.num_train_timesteps, (n,), generator=generator, device=images.device)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        x_t = self.noise_schedule_.add_noise(x0, noise, t)
        output = self._model_fn(x_t, t, self._full_condition(values, keep, coarse_image()), net=self._net("unet"))
        prediction = self._prediction_type()
        target = noise if prediction == "epsilon" else self.noise_schedule_.velocity(x0, noise, t)
        per_sample = ((output - target) ** 2).flatten(1).mean(1)
        if self.min_snr_gamma is not None:
            per_sample = per_sample * self.noise_schedule_.min_snr_weight(t, self.min_snr_gamma, prediction
                                                                          ).to(per_sample)
        return per_sample.mean()

    def _after_fit(self, images: torch.Tensor) -> None:
        self._update_ema(self.steps - 1)  # include the last optimiser step
        super()._after_fit(images)

    # ------------------------------------------------------------------ inference helpers
    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        mean, logvar = self._posterior(images)
        u = self._reparameterise(mean, logvar, generator) if sample else mean
        k = len(self.factor_names_)
        return torch.cat([self.scm_(u[:, :k]), u[:, k:]], dim=1)

    def _abduct(self, images: torch.Tensor, factors: torch.Tensor | None) -> torch.Tensor:
        """Exogenous latents u (N, D): the encoder's posterior mean, with the concept part
        abducted from standardised ``factors`` (N, K) through the mechanisms when given."""
        mean, _ = self._posterior(images)
        if factors is None:
            return mean
        k = len(self.factor_names_)
        return torch.cat([self.scm_.abduct(factors.to(mean.dtype)), mean[:, k:]], dim=1)

    def _codes_from(self, u: torch.Tensor) -> torch.Tensor:
        k = len(self.factor_names_)
        return torch.cat([self.scm_(u[:, :k]), u[:, k:]], dim=1)

    def _guidance(self, guidance_weight: Any, owner: str) -> float | dict[str, float]:
        w = self.guidance_weight if guidance_weight is None else self._check_guidance(guidance_weight,
                                                                                     "guidance_weight", owner)
        if isinstance(w, dict):
            unknown = [name for name in w if name not in self.factor_names_]
            if unknown:
                raise ValueError(f"The 'guidance_weight' of {owner} names {unknown}, which are not factors of this "
                                 f"model ({', '.join(self.factor_names_)}).")
        return w

    def _chain(self, num_steps: int | None, inversion_fraction: float | None, owner: str) -> tuple[int, int]:
        """(DDIM steps, top timestep t0) of a chain from ``inversion_fraction`` of T at the step
        size of ``num_steps`` steps over the full chain (as image-to-image pipelines do)."""
        timesteps = self.noise_schedule_.num_train_timesteps  # as fitted, whatever 'timesteps' says now
        steps = self.ddim_steps if num_steps is None else int(check_number(num_steps, "num_steps", owner, low=1,
                                                                           high=timesteps, integer=True))
        fraction = self.inversion_fraction if inversion_fraction is None else float(check_number(
            inversion_fraction, "inversion_fraction", owner, low=0, high=1, low_inclusive=False))
        # rounded first: 0.07 * 100 is 7.000000000000001 in floats, and its ceiling would start one level too high
        top = max(0, math.ceil(round(fraction * timesteps, 9)) - 1)
        return max(1, min(top + 1, round(steps * fraction))), top

    def _factors_tensor(self, factors: Any, n: int, owner: str) -> torch.Tensor | None:
        """Standardised labels (n, K) from ``factors`` in world units (an array in the model's factor order, or a
        Batch, whose columns are matched by name), or None."""
        if factors is None:
            return None
        array = np.asarray(getattr(factors, "factors", factors), dtype=np.float64)
        names = list(getattr(factors, "factor_names", None) or self.factor_names_)
        if names != self.factor_names_ and array.ndim == 2 and array.shape[1] == len(names):
            missing = [name for name in self.factor_names_ if name not in names]
            if missing:
                raise ValueError(f"The 'factors' argument of {owner} has the factors {names}, without {missing} of "
                                 f"this model ({', '.join(self.factor_names_)}).")
            array = array[:, [names.index(name) for name in self.factor_names_]]
        k = len(self.factor_names_)
        if array.shape != (n, k):
            raise ValueError(f"The 'factors' argument of {owner} must have shape ({n}, {k}) (one row per image, "
                             f"columns {self.factor_names_}). Got {array.shape}.")
        if not np.isfinite(array).all():
            raise ValueError(f"The 'factors' argument of {owner} contains NaN or infinite values.")
        columns = [self.standardise(name, array[:, j]) for j, name in enumerate(self.factor_names_)]
        return torch.as_tensor(np.stack(columns, axis=1), dtype=torch.float32)

    def _invert(self, batch: torch.Tensor, codes: torch.Tensor, steps: int, top: int) -> torch.Tensor:
        cond = self._full_condition(codes, torch.ones_like(codes))
        return ddim_invert(self._model_fn, batch * 2 - 1, self._scheduler(), num_steps=steps, cond=cond,
                           fixed_point_iterations=self.inversion_iterations, max_timestep=top)

    def _decode_from(self, x_start: torch.Tensor, codes: torch.Tensor, guidance: float | dict[str, float],
                     steps: int, top: int | None = None) -> torch.Tensor:
        keep = torch.ones_like(codes)
        cond = self._full_condition(codes, keep)
        weights: float | list[float] | None = None
        unconds = None
        if isinstance(guidance, dict):
            active = [(name, w) for name, w in guidance.items() if w > 0]
            if active:
                weights, unconds = [], []
                for name, w in active:
                    partial = keep.clone()
                    partial[:, self.factor_names_.index(name)] = 0
                    weights.append(w)
                    unconds.append(self._full_condition(codes, partial))
        elif guidance > 0:
            weights = float(guidance)
            unconds = self._full_condition(codes, torch.zeros_like(codes))
        x0 = ddim_sample(self._model_fn, x_start, self._scheduler(), num_steps=steps, cond=cond,
                         guidance_weight=weights, uncond=unconds, max_timestep=top)
        return ((x0 + 1.0) / 2.0).clamp(0.0, 1.0)

    def _noise_like(self, n: int, seed: Any, what: str = "decode",
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """x_T ~ N(0, I) (n, C, H, W) on the CPU, from ``generator`` or a new one seeded with ``seed`` (checked)."""
        if generator is None:
            generator = self._seeded_generator(seed, what, device="cpu")
        return torch.randn((n, *self.image_shape_), generator=generator)

    # ------------------------------------------------------------------ public inference
    def decode(self, z: Any, *, seed: int = 0, guidance_weight: float | Mapping[str, float] | None = None,
               num_steps: int | None = None) -> np.ndarray:
        """Images (N, C, H, W) from codes z (N, D), DDIM-decoded from x_T ~ N(0, I) drawn with ``seed``."""
        codes = self._codes_tensor(z, "decode")
        x_T = self._noise_like(codes.shape[0], seed, "decode")
        return self._decode_with(codes, x_T, guidance_weight, num_steps, f"{type(self).__name__}.decode")

    def _decode_with(self, codes: torch.Tensor, x_T: torch.Tensor, guidance_weight: float | Mapping[str, float] | None,
                     num_steps: int | None, owner: str) -> np.ndarray:
        """DDIM-decode checked codes (N, D) from the start noise x_T (N, C, H, W)."""
        steps, _ = self._chain(num_steps, 1.0, owner)
        guidance = self._guidance(guidance_weight, owner)
        return self._run_chunked(lambda c, x: self._decode_from(x, c, guidance, steps), codes, x_T)

    def invert(self, x: Any, *, num_steps: int | None = None, inversion_fraction: float | None = None,
               factors: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(codes z (N, D), x_t0 (N, C, H, W)): the semantic code and the DDIM-inverted image at
        t0 = ``inversion_fraction`` · T (default: the learner's; x_T when it is 1)."""
        owner = f"{type(self).__name__}.invert"
        images = self._images_tensor(x, "invert")
        steps, top = self._chain(num_steps, inversion_fraction, owner)
        labels = self._factors_tensor(factors, images.shape[0], owner)
        extra = () if labels is None else (labels,)
        codes = torch.from_numpy(self._run_chunked(
            lambda b, *f: self._codes_from(self._abduct(b, f[0] if f else None)), images, *extra))
        x_t = self._run_chunked(lambda b, c: self._invert(b, c, steps, top), images, codes)
        return codes.numpy(), x_t

    def reconstruct(self, x: Any, *, num_steps: int | None = None, inversion_fraction: float | None = None,
                    factors: Any = None) -> np.ndarray:
        """Abduct (z and the inverted x_t0), then decode under the same condition (no guidance)."""
        return self.counterfactual(x, {}, num_steps=num_steps, guidance_weight=0.0,
                                   inversion_fraction=inversion_fraction, factors=factors)

    def sample(self, n: int, *, seed: int, prior: str = "aggregate") -> np.ndarray:
        """``n`` generated images (n, C, H, W) float32 in [0, 1]: exogenous latents u from ``prior``,
        z = SCM(u), x_T ~ N(0, I), DDIM decoding.

        ``prior="aggregate"`` (default) draws u from the Gaussian fitted to the training images'
        aggregate posterior at the end of fit (as :meth:`CausalVAE.sample
        <latentscm.learners.causal_vae.CausalVAE.sample>`; with ``concept_model``, that model's own
        fitted prior); ``"standard"`` draws u ~ N(0, I). A model saved before the aggregate prior
        existed has none and falls back to N(0, I) with a warning.
        """
        self._check_fitted()
        owner = f"{type(self).__name__}.sample"
        check_choice(prior, "prior", owner, ("aggregate", "standard"))
        n = check_number(n, "n", owner, low=1, integer=True)
        generator = self._seeded_generator(seed, "sample", device="cpu")
        z = self._prior_sample(n, generator, prior=prior)
        x_T = self._noise_like(n, seed, generator=generator)  # the same stream, after u: independent of it
        return self._decode_with(z, x_T, None, None, owner)

    def _uses_aggregate_prior(self) -> bool:
        return not self._uses_concept_model  # a concept model has its own (see _exogenous_sample)

    def _exogenous_sample(self, n: int, generator: torch.Generator, prior: str | None = None) -> torch.Tensor:
        if self._uses_concept_model:  # its frozen SCM generates the concepts: its own noise distribution
            return self.concept_model_._exogenous_sample(n, generator, prior)
        return super()._exogenous_sample(n, generator, prior)

    def counterfactual(self, x: Any, interventions: Mapping[str, Any], *, num_steps: int | None = None,
                       guidance_weight: float | Mapping[str, float] | None = None,
                       inversion_fraction: float | None = None, factors: Any = None) -> np.ndarray:
        """Counterfactual images (N, C, H, W) of ``x`` under ``interventions`` (world units).

        Abduction: u from the encoder — or, when ``factors`` (N, K) in world units are given, the
        concepts from those labels — and x_t0 by DDIM inversion under the factual condition up
        to t0 = ``inversion_fraction`` · T. Action: set the intervened latents. Prediction:
        recompute their descendants through the mechanisms, DDIM-decode from the same x_t0 with
        guidance ``guidance_weight`` (a scale, or ``{factor: scale}``).

        Parameters
        ----------
        x : array (N, C, H, W) in [0, 1], or a Batch
            The factual images.
        interventions : mapping of str to value
            ``{factor: value}`` in world units, a value per image allowed.
        num_steps : int, optional
            DDIM steps of the full chain (default ``ddim_steps``); a partial chain takes
            ``round(num_steps * inversion_fraction)`` steps of the same size.
        guidance_weight, inversion_fraction : optional
            Override the learner's defaults.
        factors : array (N, K) or Batch, optional
            The images' labels in world units, if known (replaces the encoder's abduction); an array's columns
            in the model's factor order, a Batch's matched by its factor names.

        Returns
        -------
        numpy.ndarray
            float32 (N, C, H, W) in [0, 1].
        """
        owner = f"{type(self).__name__}.counterfactual"
        images = self._images_tensor(x, "counterfactual")
        steps, top = self._chain(num_steps, inversion_fraction, owner)
        guidance = self._guidance(guidance_weight, owner)
        labels = self._factors_tensor(factors, images.shape[0], owner)
        names, values = self._intervention_matrix(interventions, images.shape[0])

        def run(batch: torch.Tensor, targets: torch.Tensor, *given: torch.Tensor) -> torch.Tensor:
            u = self._abduct(batch, given[0] if given else None)
            x_t = self._invert(batch, self._codes_from(u), steps, top)
            z_cf = self._intervene_codes(u, {name: targets[:, i] for i, name in enumerate(names)})
            return self._decode_from(x_t, z_cf, guidance, steps, top)

        return self._run_chunked(run, images, values, *(() if labels is None else (labels,)))


def _fingerprint(model: Any) -> str:
    """sha256 of a learner's module weights (names, dtypes, shapes, bytes), in a fixed order."""
    digest = hashlib.sha256()
    for name, module in sorted(model._modules().items()):
        for key, value in sorted(module.state_dict().items()):
            tensor = value.detach().cpu().contiguous()
            digest.update(f"{name}.{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
