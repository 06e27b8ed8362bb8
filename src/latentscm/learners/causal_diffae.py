"""CausalDiffAE (Komanduri et al. 2024, "Causal Diffusion Autoencoders: toward counterfactual
generation via diffusion probabilistic models"), built from a diffusion autoencoder
(Preechakul et al. 2022) and the latent SCM head.

Encoder -> exogenous latents u ~ q(u | x); causal latents z = LatentSCM(u_concepts) (+ style
latents); a conditional UNet predicts the noise ε(x_t, t, z), the condition added to the time
embedding. Loss::

    E_t,ε ||ε − ε_θ(x_t, t, z)||²  +  ramp(step) · [beta · KL(q(u|x) || N(0, I))
                                                    + label prior + mechanism fit (+ NOTEARS)]

with the KL-type terms ramped up over ``kl_warmup`` steps, and the condition dropped (replaced
by zeros) with probability ``cond_dropout`` so classifier-free guidance can set the strength of
an intervention at sampling time (Ho & Salimans 2022).

Counterfactual = abduction (u from the encoder **and** x_T by deterministic DDIM inversion of the
image under its factual condition), action (set the latent), prediction (recompute descendants
through the mechanisms, DDIM-decode from the *same* x_T). Unlike the released code: no graph in
``forward()``, effects reach grandchildren, and x_T is inverted rather than re-noised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from latentscm._validation import check_choice, check_number
from latentscm.diffusion import DDIMScheduler, NoiseSchedule, ddim_invert, ddim_sample
from latentscm.learners.base import StepOutput, gaussian_kl
from latentscm.learners.causal_base import CausalLearner
from latentscm.nn import ConvEncoder
from latentscm.nn.unet import UNet

__all__ = ["CausalDiffAE"]


class CausalDiffAE(CausalLearner):
    """Causal diffusion autoencoder (see the module docstring).

    Args:
        graph, mechanism, extra_dims, prior_std, label_weight, mechanism_weight, supervised_fraction,
            acyclicity_weight, mechanism_hidden: the latent SCM, as in
            :class:`~latentscm.learners.causal_vae.CausalVAE`.
        beta: weight of KL(q(u|x) || N(0, I)) relative to the per-pixel noise MSE.
        kl_warmup: steps over which the KL-type terms ramp from 0 to full weight.
        cond_dropout: probability of training a sample unconditionally (enables guidance).
        guidance_weight: default classifier-free guidance weight w at sampling (0 = none).
        schedule: noise schedule, ``"linear"`` or ``"cosine"``; ``timesteps``: training steps T.
        ddim_steps: DDIM steps used for inversion and decoding.
        unet_channels, unet_multipliers, unet_res_blocks: UNet size.
        channels, hidden_dim: encoder size; lr, batch_size, steps, grad_clip, seed, device: training.
    """

    name = "causal_diffae"

    def __init__(self, *, graph: str = "world", mechanism: str = "additive", extra_dims: int = 2,
                 beta: float = 1e-3, prior_std: float = 0.2, label_weight: float = 0.05,
                 mechanism_weight: float = 0.05, supervised_fraction: float = 1.0, acyclicity_weight: float = 1.0,
                 mechanism_hidden: int = 32, kl_warmup: int = 500, cond_dropout: float = 0.1,
                 guidance_weight: float = 0.0, schedule: str = "linear", timesteps: int = 1000, ddim_steps: int = 20,
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
        self.kl_warmup = kl_warmup
        self.cond_dropout = cond_dropout
        self.guidance_weight = guidance_weight
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
        self.kl_warmup = check_number(self.kl_warmup, "kl_warmup", owner, low=0, integer=True)
        self.cond_dropout = check_number(self.cond_dropout, "cond_dropout", owner, low=0, high=1, high_inclusive=False)
        self.guidance_weight = check_number(self.guidance_weight, "guidance_weight", owner, low=0)
        check_choice(self.schedule, "schedule", owner, ("linear", "cosine"))
        self.timesteps = check_number(self.timesteps, "timesteps", owner, low=2, integer=True)
        self.ddim_steps = check_number(self.ddim_steps, "ddim_steps", owner, low=1, high=self.timesteps, integer=True)
        self.unet_channels = check_number(self.unet_channels, "unet_channels", owner, low=1, integer=True)
        self.unet_res_blocks = check_number(self.unet_res_blocks, "unet_res_blocks", owner, low=1, integer=True)
        if isinstance(self.unet_multipliers, (str, bytes)) or not isinstance(self.unet_multipliers, Sequence) \
                or not self.unet_multipliers:
            raise TypeError(f"The 'unet_multipliers' parameter of {owner} must be a non-empty sequence of ints. "
                            f"Got {self.unet_multipliers!r} instead.")
        self.unet_multipliers = tuple(int(check_number(m, "unet_multipliers", owner, low=1, integer=True))
                                      for m in self.unet_multipliers)

    # ------------------------------------------------------------------ modules
    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "scm", "unet")

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, torch.nn.Module]:
        return {
            "encoder": ConvEncoder(image_shape, 2 * latent_dim, channels=self.channels, hidden_dim=self.hidden_dim),
            "scm": self._make_scm(),
            "unet": UNet(image_shape[0], base_channels=self.unet_channels, channel_multipliers=self.unet_multipliers,
                         num_res_blocks=self.unet_res_blocks, cond_dim=latent_dim, attention=False),
        }

    def _build(self, image_shape, *, n_factors=None, device=None) -> None:
        super()._build(image_shape, n_factors=n_factors, device=device)
        self.noise_schedule_ = NoiseSchedule(self.schedule, self.timesteps)

    def _scheduler(self) -> DDIMScheduler:
        return DDIMScheduler(self.noise_schedule_)

    # ------------------------------------------------------------------ training
    def loss(self, images: torch.Tensor, step: int, factors: torch.Tensor | None = None) -> StepOutput:
        generator = self._generator
        mean, logvar = self._posterior(images, self._net("encoder"))
        u = self._reparameterise(mean, logvar, generator)
        z, causal, logs = self._causal_forward(u, factors, step)
        x0 = images * 2.0 - 1.0
        t = torch.randint(0, self.timesteps, (images.shape[0],), generator=generator, device=images.device)
        noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        x_t = self.noise_schedule_.add_noise(x0, noise, t)
        keep = (torch.rand((images.shape[0], 1), generator=generator, device=images.device)
                >= self.cond_dropout).to(z.dtype)
        eps = self._net("unet")(x_t, t, z * keep)
        mse = ((eps - noise) ** 2).mean()
        kl = gaussian_kl(mean, logvar).sum(1).mean()
        ramp = min(1.0, (step + 1) / self.kl_warmup) if self.kl_warmup else 1.0
        loss = mse + ramp * (self.beta * kl + causal)
        return StepOutput({"model": loss}, {"loss": loss, "mse": mse, "kl": kl, **logs})

    # ------------------------------------------------------------------ inference
    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        mean, logvar = self._posterior(images)
        u = self._reparameterise(mean, logvar, generator) if sample else mean
        k = len(self.factor_names_)
        return torch.cat([self.scm_(u[:, :k]), u[:, k:]], dim=1)

    def _model_fn(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        return self.unet_(x_t, t, cond)

    def _decode_from(self, x_T: torch.Tensor, z: torch.Tensor, guidance_weight: float | None,
                     num_steps: int) -> torch.Tensor:
        w = self.guidance_weight if guidance_weight is None else guidance_weight
        x0 = ddim_sample(self._model_fn, x_T, self._scheduler(), num_steps=num_steps, cond=z,
                         guidance_weight=w if w > 0 else None)
        return ((x0 + 1.0) / 2.0).clamp(0.0, 1.0)

    def _noise_like(self, n: int, seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(int(seed))
        return torch.randn((n, *self.image_shape_), generator=generator)

    def decode(self, z: Any, *, seed: int = 0, guidance_weight: float | None = None,
               num_steps: int | None = None) -> np.ndarray:
        """Images (N, C, H, W) from codes z (N, D), DDIM-decoded from x_T ~ N(0, I) drawn with ``seed``."""
        codes = self._codes_tensor(z, "decode")
        steps = self.ddim_steps if num_steps is None else int(num_steps)
        x_T = self._noise_like(codes.shape[0], seed)
        return self._run_chunked(lambda c, x: self._decode_from(x, c, guidance_weight, steps), codes, x_T)

    def invert(self, x: Any, *, num_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(codes z (N, D), x_T (N, C, H, W)): the semantic code and the DDIM-inverted noise."""
        images = self._images_tensor(x, "invert")
        steps = self.ddim_steps if num_steps is None else int(num_steps)
        codes = torch.from_numpy(self._run_chunked(lambda b: self._encode_tensor(b, False, None), images))
        x_T = self._run_chunked(lambda b, c: ddim_invert(self._model_fn, b * 2 - 1, self._scheduler(), num_steps=steps,
                                                 cond=c), images, codes)
        return codes.numpy(), x_T

    def reconstruct(self, x: Any, *, num_steps: int | None = None) -> np.ndarray:
        """Encode (z and the inverted x_T), then decode with the same condition."""
        steps = self.ddim_steps if num_steps is None else int(num_steps)
        codes, x_T = self.invert(x, num_steps=steps)
        return self._run_chunked(lambda c, xt: self._decode_from(xt, c, 0.0, steps), torch.from_numpy(codes),
                         torch.from_numpy(x_T))

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        """``n`` generated images: u ~ N(0, I), z = SCM(u), x_T ~ N(0, I), DDIM decoding."""
        self._check_fitted()
        n = check_number(n, "n", f"{type(self).__name__}.sample", low=1, integer=True)
        generator = self._seeded_generator(seed, "sample", device="cpu")
        u = torch.randn((n, self.latent_dim_), generator=generator)
        k = len(self.factor_names_)
        with torch.no_grad():
            z = torch.cat([self.scm_.to("cpu")(u[:, :k]), u[:, k:]], dim=1)
        self.scm_.to(self.device_)
        return self.decode(z.numpy(), seed=seed)

    def counterfactual(self, x: Any, interventions: Mapping[str, Any], *, num_steps: int | None = None,
                       guidance_weight: float | None = None) -> np.ndarray:
        """Counterfactual images (N, C, H, W) of ``x`` under ``interventions`` (world units):
        abduction (u and the DDIM-inverted x_T), action, prediction (descendants through the
        mechanisms, DDIM decoding from the same x_T with guidance ``guidance_weight``)."""
        images = self._images_tensor(x, "counterfactual")
        steps = self.ddim_steps if num_steps is None else int(num_steps)
        names, values = self._intervention_matrix(interventions, images.shape[0])

        def run(batch: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            mean, _ = self._posterior(batch)
            k = len(self.factor_names_)
            z = torch.cat([self.scm_(mean[:, :k]), mean[:, k:]], dim=1)
            x_T = ddim_invert(self._model_fn, batch * 2 - 1, self._scheduler(), num_steps=steps, cond=z)
            z_cf = self._intervene_codes(mean, {name: targets[:, i] for i, name in enumerate(names)})
            return self._decode_from(x_T, z_cf, guidance_weight, steps)

        return self._run_chunked(run, images, values)
