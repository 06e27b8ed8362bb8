"""Variance schedules of the forward diffusion process q(x_t | x_0).

A :class:`NoiseSchedule` is pure bookkeeping: the betas, the cumulative products of the alphas,
the closed-form corruption ``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps``
(Ho et al. 2020, eq. 4) and the signal-to-noise ratio. It holds no network and no sampler; the
schedulers in :mod:`latentscm.diffusion.ddpm` and :mod:`latentscm.diffusion.ddim` read it.

Timestep convention: integer ``t`` in ``0 .. T-1`` indexes ``betas`` and ``alphas_cumprod``, so
``alphas_cumprod[t] = prod_{s <= t} (1 - betas[s])``; ``t = 0`` is the least noisy level and the
clean data (``alpha_bar = 1``) sits one level below it.

References
----------
Ho, Jain & Abbeel (2020), Denoising Diffusion Probabilistic Models (linear schedule).

Nichol & Dhariwal (2021), Improved Denoising Diffusion Probabilistic Models (cosine schedule,
and the rule that scales the linear schedule's end points by ``1000 / T``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from latentscm._validation import check_choice, check_number

__all__ = ["NoiseSchedule", "SCHEDULE_KINDS"]

SCHEDULE_KINDS = ("linear", "cosine")

_OWNER = "NoiseSchedule"
# Nichol & Dhariwal (2021), eq. 17: betas of the cosine schedule are clipped to this value so the
# last steps near t = T do not become singular.
_COSINE_MAX_BETA = 0.999


class NoiseSchedule:
    """Betas and cumulative alphas of a discrete-time Gaussian diffusion.

    Parameters
    ----------
    kind : {"linear", "cosine"}, default "linear"
        ``"linear"`` (Ho et al. 2020: betas evenly spaced from ``beta_start`` to ``beta_end``,
        both multiplied by ``1000 / num_train_timesteps`` so that the total amount of noise does
        not depend on T, as in Nichol & Dhariwal 2021) or ``"cosine"`` (Nichol & Dhariwal 2021,
        eq. 17: ``alpha_bar(t) = f(t) / f(0)`` with
        ``f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2)``, betas clipped at 0.999).
    num_train_timesteps : int >= 1, default 1000
        T, the number of diffusion steps the network is trained on.
    beta_start : float > 0, default 1e-4
        First beta of the linear schedule at T = 1000 (ignored for ``"cosine"``).
    beta_end : float >= beta_start, default 0.02
        Last beta of the linear schedule at T = 1000 (ignored for ``"cosine"``).
    cosine_offset : float > 0, default 0.008
        The small offset ``s`` of the cosine schedule (ignored for ``"linear"``).

    Attributes
    ----------
    betas : torch.Tensor of shape (T,), float64
        Non-decreasing for ``"linear"`` (strictly increasing when ``beta_end > beta_start``).
    alphas : torch.Tensor of shape (T,), float64
        ``1 - betas``.
    alphas_cumprod : torch.Tensor of shape (T,), float64
        Strictly decreasing, every value in (0, 1).

    Raises
    ------
    ValueError
        On an unknown kind, a non-positive T, or a linear schedule whose scaled betas leave
        (0, 1) (``beta_end * 1000 / T >= 1`` for very small T).
    """

    def __init__(self, kind: str = "linear", num_train_timesteps: int = 1000, *,
                 beta_start: float = 1e-4, beta_end: float = 0.02, cosine_offset: float = 0.008):
        self.kind = check_choice(kind, "kind", _OWNER, SCHEDULE_KINDS)
        self.num_train_timesteps = int(check_number(num_train_timesteps, "num_train_timesteps", _OWNER,
                                                    low=1, integer=True))
        self.beta_start = float(check_number(beta_start, "beta_start", _OWNER, low=0.0, low_inclusive=False))
        self.beta_end = float(check_number(beta_end, "beta_end", _OWNER, low=self.beta_start))
        self.cosine_offset = float(check_number(cosine_offset, "cosine_offset", _OWNER, low=0.0,
                                                low_inclusive=False))
        T = self.num_train_timesteps
        if self.kind == "linear":
            scale = 1000.0 / T
            start, end = self.beta_start * scale, self.beta_end * scale
            if end >= 1.0:
                raise ValueError(
                    f"The linear schedule of {_OWNER} scales beta_end by 1000 / num_train_timesteps; with "
                    f"beta_end={self.beta_end!r} and num_train_timesteps={T} the last beta is {end:.4g} >= 1, "
                    f"which destroys the signal in one step. Use more timesteps, a smaller beta_end, "
                    f"or kind='cosine'.")
            betas = torch.linspace(start, end, T, dtype=torch.float64)
        else:
            steps = torch.arange(T + 1, dtype=torch.float64) / T
            f = torch.cos((steps + self.cosine_offset) / (1 + self.cosine_offset) * math.pi / 2) ** 2
            alpha_bar = f / f[0]
            betas = (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(min=0.0, max=_COSINE_MAX_BETA)
        self.betas = betas
        self.alphas = 1.0 - betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self._device_tables: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = {}

    # -- configuration -------------------------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments; ``NoiseSchedule(**schedule.config)`` rebuilds it."""
        return {"kind": self.kind, "num_train_timesteps": self.num_train_timesteps,
                "beta_start": self.beta_start, "beta_end": self.beta_end, "cosine_offset": self.cosine_offset}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> NoiseSchedule:
        """Rebuild a schedule from :attr:`config`."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"NoiseSchedule(kind={self.kind!r}, num_train_timesteps={self.num_train_timesteps})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoiseSchedule) and self.config == other.config

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.config.items())))

    # -- timesteps -----------------------------------------------------------------------------

    def check_timesteps(self, t: int | torch.Tensor, batch_size: int, owner: str,
                        device: torch.device | None = None) -> torch.Tensor:
        """Validate integer timesteps and broadcast them to a LongTensor (batch_size,).

        Parameters
        ----------
        t : int or integer torch.Tensor of shape () or (batch_size,)
            A Python int, a 0-d integer tensor, or an integer tensor (batch_size,).
        batch_size : int
            N, the number of samples the timesteps apply to.
        owner : str
            Name of the calling function, for the error message.
        device : torch.device or None, default None
            Where the returned tensor lives.

        Returns
        -------
        torch.LongTensor of shape (batch_size,)
            The timesteps.

        Raises
        ------
        TypeError
            When ``t`` is not integer.
        ValueError
            When ``t`` has the wrong shape or leaves ``0 .. T-1``.
        """
        if isinstance(t, bool) or not isinstance(t, (int, torch.Tensor)):
            raise TypeError(f"The 't' argument of {owner} must be an int or an integer tensor. Got {t!r}.")
        steps = torch.as_tensor(t, device=device)
        if steps.dtype.is_floating_point or steps.dtype.is_complex or steps.dtype == torch.bool:
            raise TypeError(f"The 't' argument of {owner} must hold integer timesteps. Got dtype {steps.dtype}.")
        if steps.ndim == 0:
            steps = steps.expand(batch_size)
        if steps.shape != (batch_size,):
            raise ValueError(f"The 't' argument of {owner} must be an int or have shape ({batch_size},). "
                             f"Got shape {tuple(steps.shape)}.")
        if steps.numel() and (int(steps.min()) < 0 or int(steps.max()) >= self.num_train_timesteps):
            raise ValueError(f"The 't' argument of {owner} must lie in 0 .. {self.num_train_timesteps - 1}. "
                             f"Got values from {int(steps.min())} to {int(steps.max())}.")
        return steps.long()

    def sample_timesteps(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Training timesteps drawn uniformly from ``0 .. T-1`` (Ho et al. 2020, Algorithm 1).

        Parameters
        ----------
        batch_size : int >= 1
            The number of timesteps to draw.
        generator : torch.Generator
            The source of randomness (required: latentscm never draws from global randomness).

        Returns
        -------
        torch.LongTensor of shape (batch_size,)
            On the generator's device.
        """
        batch_size = int(check_number(batch_size, "batch_size", "NoiseSchedule.sample_timesteps", low=1,
                                      integer=True))
        if not isinstance(generator, torch.Generator):
            raise TypeError("NoiseSchedule.sample_timesteps needs a torch.Generator (latentscm never draws "
                            f"from unseeded global randomness). Got {generator!r}.")
        return torch.randint(0, self.num_train_timesteps, (batch_size,), generator=generator,
                             device=generator.device)

    # -- the forward process -------------------------------------------------------------------

    def gather(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``values[t]`` as a (N, 1, ..., 1) tensor with ``like``'s dtype and device, ready to
        broadcast against a batch ``like`` of shape (N, ...)."""
        if values.device != like.device:
            values = self._on_device(values, like.device)
        picked = values[t.to(like.device)]
        return picked.to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))

    def _on_device(self, values: torch.Tensor, device: torch.device) -> torch.Tensor:
        """``values`` (T, ...) on ``device``. The schedule's own tables are cached per device so a GPU
        loop does not copy them at every step; any other tensor is copied, never cached (an id-keyed
        cache would serve a dead temporary's copy to the next tensor that reuses its id)."""
        if not any(values is table for table in (self.betas, self.alphas, self.alphas_cumprod)):
            return values.to(device)
        key = (id(values), str(device))
        entry = self._device_tables.get(key)
        if entry is None or entry[0] is not values:  # the entry keeps its source alive: its id is not reused
            entry = (values, values.to(device))
            self._device_tables[key] = entry
        return entry[1]

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """Sample q(x_t | x_0) in closed form: ``sqrt(abar_t) x0 + sqrt(1 - abar_t) noise``.

        Parameters
        ----------
        x0 : floating-point torch.Tensor of shape (N, ...)
            Clean data.
        noise : torch.Tensor of shape (N, ...)
            Standard Gaussian noise of the same shape as ``x0``.
        t : int or torch.LongTensor of shape (N,)
            Timesteps in ``0 .. T-1``.

        Returns
        -------
        torch.Tensor of shape (N, ...)
            x_t, of ``x0``'s dtype.
        """
        _check_same_batch(x0, noise, "x0", "noise", "NoiseSchedule.add_noise")
        steps = self.check_timesteps(t, x0.shape[0], "NoiseSchedule.add_noise", x0.device)
        abar = self.gather(self.alphas_cumprod, steps, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise.to(x0.dtype)

    def snr(self, t: int | torch.Tensor) -> torch.Tensor:
        """Signal-to-noise ratio ``abar_t / (1 - abar_t)`` (float64, shape of ``t``; strictly
        decreasing in t)."""
        shape = torch.as_tensor(t).shape if isinstance(t, torch.Tensor) else ()
        count = int(torch.as_tensor(t).numel()) if isinstance(t, torch.Tensor) else 1
        flat = t.reshape(-1) if isinstance(t, torch.Tensor) else t
        # the table lives on the CPU: index it with CPU timesteps, whatever device t is on (training passes CUDA ones)
        steps = self.check_timesteps(flat, count, "NoiseSchedule.snr", self.alphas_cumprod.device).reshape(shape)
        abar = self.alphas_cumprod[steps]
        return abar / (1 - abar)


    def velocity(self, x0: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The v-prediction target ``v = sqrt(abar_t) noise - sqrt(1 - abar_t) x0`` (Salimans & Ho
        2022, sec. 4): for ``x_t = add_noise(x0, noise, t)``, ``x0 = sqrt(abar) x_t - sqrt(1 - abar) v``.

        Parameters
        ----------
        x0 : floating-point torch.Tensor of shape (N, ...)
            Clean data.
        noise : torch.Tensor of shape (N, ...)
            The Gaussian noise, of the same shape as ``x0``.
        t : int or torch.LongTensor of shape (N,)
            Timesteps in ``0 .. T-1``.

        Returns
        -------
        torch.Tensor of shape (N, ...)
            v, of ``x0``'s dtype.
        """
        _check_same_batch(x0, noise, "x0", "noise", "NoiseSchedule.velocity")
        steps = self.check_timesteps(t, x0.shape[0], "NoiseSchedule.velocity", x0.device)
        abar = self.gather(self.alphas_cumprod, steps, x0)
        return abar.sqrt() * noise.to(x0.dtype) - (1 - abar).sqrt() * x0

    def min_snr_weight(self, t: int | torch.Tensor, gamma: float, prediction_type: str = "epsilon") -> torch.Tensor:
        """Min-SNR-gamma loss weights (Hang et al. 2023, "Efficient diffusion training via Min-SNR
        weighting strategy"), float64 with ``t``'s shape.

        Each timestep's loss is weighted so that, measured as an x_0 error, its weight is
        ``min(SNR_t, gamma)``: the high-SNR (nearly clean) steps no longer dominate. In the
        parameterisation being trained that is::

            epsilon:       min(SNR, gamma) / SNR
            v_prediction:  min(SNR, gamma) / (SNR + 1)

        Parameters
        ----------
        t : int or integer torch.Tensor
            Timesteps.
        gamma : float > 0
            The clamp (the paper's default is 5).
        prediction_type : {"epsilon", "v_prediction"}, default "epsilon"
            The parameterisation being trained.

        Returns
        -------
        torch.Tensor
            float64 weights with ``t``'s shape.
        """
        gamma = float(check_number(gamma, "gamma", "NoiseSchedule.min_snr_weight", low=0.0, low_inclusive=False))
        check_choice(prediction_type, "prediction_type", "NoiseSchedule.min_snr_weight", ("epsilon", "v_prediction"))
        snr = self.snr(t)
        clamped = snr.clamp(max=gamma)
        return clamped / snr if prediction_type == "epsilon" else clamped / (snr + 1)


def _check_same_batch(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str, owner: str) -> None:
    for name, value in ((name_a, a), (name_b, b)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"The {name!r} argument of {owner} must be a torch.Tensor. Got {type(value).__name__}.")
        if not value.dtype.is_floating_point:
            raise TypeError(f"The {name!r} argument of {owner} must be floating point. Got dtype {value.dtype}.")
        if value.ndim < 1 or value.shape[0] < 1:
            raise ValueError(f"The {name!r} argument of {owner} must be a batch (N, ...) with N >= 1. "
                             f"Got shape {tuple(value.shape)}.")
    if a.shape != b.shape:
        raise ValueError(f"The {name_a!r} and {name_b!r} arguments of {owner} must have the same shape. "
                         f"Got {tuple(a.shape)} and {tuple(b.shape)}.")
