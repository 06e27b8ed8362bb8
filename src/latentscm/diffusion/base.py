"""What every sampler shares: the inference timesteps, the look-up of the next-cleaner timestep,
the estimate of x_0 from an epsilon prediction, and the checks on ``step`` inputs.

A scheduler holds no network (as in the diffusers library): the caller evaluates the model and
hands its output to ``step``; the pipelines in :mod:`latentscm.diffusion.pipelines` own the loop.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from latentscm._params import params_from_signature
from latentscm._validation import check_choice, check_number
from latentscm.diffusion.schedules import NoiseSchedule

__all__ = ["CLEAN", "PREDICTION_TYPES", "Scheduler", "check_generator", "gaussian_like"]

#: What a model's output means: the noise ``eps`` (Ho et al. 2020) or the velocity
#: ``v = sqrt(abar) eps - sqrt(1 - abar) x_0`` (Salimans & Ho 2022, sec. 4).
PREDICTION_TYPES = ("epsilon", "v_prediction")

#: The pseudo-timestep of clean data (``alpha_bar = 1``), one level below ``t = 0``. The last
#: sampling step maps to it and the first inversion step starts from it.
CLEAN = -1


class Scheduler:
    """Base class of the samplers: inference timesteps over a :class:`NoiseSchedule`.

    Parameters
    ----------
    schedule : NoiseSchedule
        The noise schedule the epsilon model was trained with.
    clip_sample : float > 0 or None, default None
        When given, the x_0 estimate is clamped to ``[-clip_sample, clip_sample]`` before it is
        used (useful for images scaled to [-1, 1]); ``None`` leaves it alone.
    prediction_type : {"epsilon", "v_prediction"}, default "epsilon"
        ``"epsilon"`` (the model predicts the noise) or ``"v_prediction"`` (the velocity
        ``v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0`` of Salimans & Ho 2022, from which
        ``x_0 = sqrt(abar_t) x_t - sqrt(1 - abar_t) v`` and
        ``eps = sqrt(1 - abar_t) x_t + sqrt(abar_t) v``).

    Attributes
    ----------
    timesteps : torch.LongTensor of shape (num_inference_steps,)
        Strictly decreasing, from ``T - 1`` down to 0 (see :meth:`set_timesteps`).
    num_inference_steps : int
        The length of ``timesteps``.
    """

    def __init__(self, schedule: NoiseSchedule, *, clip_sample: float | None = None,
                 prediction_type: str = "epsilon"):
        owner = type(self).__name__
        self.prediction_type = check_choice(prediction_type, "prediction_type", owner, PREDICTION_TYPES)
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"The 'schedule' parameter of {owner} must be a NoiseSchedule. "
                            f"Got {type(schedule).__name__}.")
        self.schedule = schedule
        self.clip_sample = None if clip_sample is None else float(
            check_number(clip_sample, "clip_sample", owner, low=0.0, low_inclusive=False))
        self.set_timesteps(schedule.num_train_timesteps)

    # -- configuration -------------------------------------------------------------------------

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (the schedule as its own config); see :meth:`from_config`."""
        return {"schedule": self.schedule.config, "clip_sample": self.clip_sample,
                "prediction_type": self.prediction_type}

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments read from the signature (the schedule as the object itself), so
        that ``type(s)(**s.get_params())`` rebuilds the scheduler (timesteps reset to the full chain)."""
        return params_from_signature(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Scheduler:
        """Rebuild a scheduler from :attr:`config` (its timesteps are reset to the full chain)."""
        options = dict(config)
        options["schedule"] = NoiseSchedule.from_config(options["schedule"])
        return cls(**options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.schedule!r}, num_inference_steps={self.num_inference_steps})"

    # -- timesteps -----------------------------------------------------------------------------

    def set_timesteps(self, num_inference_steps: int, *, max_timestep: int | None = None) -> None:
        """Choose ``num_inference_steps`` evenly spaced timesteps out of ``0 .. max_timestep``.

        The timesteps are ``floor(linspace(0, m, n) + 0.5)`` in decreasing order, with
        ``m = max_timestep`` (default ``T - 1``), so both ends are always included: sampling starts
        at level m and the inversion of :mod:`latentscm.diffusion.ddim` ends there (the
        diffusion-autoencoder x_T when m = T - 1; a *partial* inversion to x_m otherwise, as in
        SDEdit, Meng et al. 2022). With ``n = T`` and the default m this is every timestep.

        Parameters
        ----------
        num_inference_steps : int
            n, the number of timesteps, in ``1 .. m + 1``.
        max_timestep : int or None, default None
            m, the noisiest timestep, in ``0 .. T - 1``; ``None`` means ``T - 1``.

        Raises
        ------
        ValueError
            Unless ``0 <= max_timestep <= T - 1`` and ``1 <= num_inference_steps <= m + 1``.
        """
        T = self.schedule.num_train_timesteps
        owner = f"{type(self).__name__}.set_timesteps"
        top = T - 1 if max_timestep is None else int(
            check_number(max_timestep, "max_timestep", owner, low=0, high=T - 1, integer=True))
        n = int(check_number(num_inference_steps, "num_inference_steps", owner, low=1, high=top + 1, integer=True))
        # floor(x + 0.5) rather than round(): banker's rounding could merge neighbours when the
        # spacing is exactly 1.
        ascending = [top] if n == 1 else [math.floor(i * top / (n - 1) + 0.5) for i in range(n)]
        descending = ascending[::-1]
        self.timesteps = torch.tensor(descending, dtype=torch.long)
        self.num_inference_steps = n
        self.max_timestep = top
        self._previous = dict(zip(descending, [*descending[1:], CLEAN]))

    def previous_timestep(self, t: int | torch.Tensor) -> int:
        """The next-cleaner inference timestep after ``t`` (``CLEAN = -1`` after the last one).

        Raises
        ------
        ValueError
            When ``t`` is not one of :attr:`timesteps`.
        """
        return self._previous[self._check_timestep(t, f"{type(self).__name__}.previous_timestep")]

    def alpha_bar(self, t: int) -> float:
        """``alphas_cumprod[t]`` as a Python float, with ``alpha_bar(CLEAN) = 1``.

        Raises
        ------
        ValueError
            When ``t`` is neither ``CLEAN`` nor in ``0 .. T-1`` (no negative indexing from the end).
        """
        if t == CLEAN:
            return 1.0
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < self.schedule.num_train_timesteps:
            raise ValueError(f"The 't' argument of {type(self).__name__}.alpha_bar must be CLEAN ({CLEAN}) or an int "
                             f"in 0 .. {self.schedule.num_train_timesteps - 1}. Got {t!r}.")
        return float(self.schedule.alphas_cumprod[t])

    def step(self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:  # pragma: no cover - interface
        """One sampling step x_t -> x_{t'}; implemented by each sampler."""
        raise NotImplementedError

    # -- epsilon parameterisation --------------------------------------------------------------

    def predict_original(self, model_output: torch.Tensor, t: int | torch.Tensor,
                         sample: torch.Tensor) -> torch.Tensor:
        """x_0 estimate ``(x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)`` (Ho et al. 2020, eq. 15), or
        ``sqrt(abar_t) x_t - sqrt(1 - abar_t) v`` for v-prediction, clipped when ``clip_sample`` is set.

        Parameters
        ----------
        model_output : torch.Tensor of shape (N, ...)
            The model's prediction (eps or v, see ``prediction_type``).
        t : int or one-element integer torch.Tensor
            The timestep of ``sample``, one of :attr:`timesteps`.
        sample : torch.Tensor of shape (N, ...)
            x_t.

        Returns
        -------
        torch.Tensor of shape (N, ...)
            The x_0 estimate, of ``sample``'s dtype.
        """
        step = self._check_step(model_output, t, sample, f"{type(self).__name__}.predict_original")
        return self._x0(model_output, step, sample)

    def _x0(self, model_output: torch.Tensor, t: int, sample: torch.Tensor) -> torch.Tensor:
        return self._split(model_output, t, sample)[1]

    def _split(self, model_output: torch.Tensor, t: int, sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(eps, x_0) estimates from the model output at level ``t``; with ``clip_sample`` x_0 is
        clamped and eps recomputed so that ``x_t = sqrt(abar) x_0 + sqrt(1 - abar) eps`` still holds.
        Both have ``sample``'s dtype."""
        model_output = model_output.to(sample.dtype)
        abar = self.alpha_bar(t)
        if self.prediction_type == "epsilon":
            eps = model_output
            x0 = (sample - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
        else:
            x0 = math.sqrt(abar) * sample - math.sqrt(1 - abar) * model_output
            eps = math.sqrt(1 - abar) * sample + math.sqrt(abar) * model_output
        if self.clip_sample is not None:
            x0 = x0.clamp(-self.clip_sample, self.clip_sample)
            eps = (sample - math.sqrt(abar) * x0) / math.sqrt(1 - abar)
        return eps, x0

    # -- checks --------------------------------------------------------------------------------

    def _check_timestep(self, t: int | torch.Tensor, owner: str) -> int:
        if isinstance(t, torch.Tensor):
            if t.numel() != 1 or t.dtype.is_floating_point or t.dtype == torch.bool:
                raise TypeError(f"The 't' argument of {owner} must be one integer timestep (an int or a "
                                f"one-element integer tensor). Got a {t.dtype} tensor of shape {tuple(t.shape)}.")
            t = int(t.item())
        if isinstance(t, bool) or not isinstance(t, int):
            raise TypeError(f"The 't' argument of {owner} must be an int timestep. Got {t!r}.")
        if t not in self._previous:
            raise ValueError(f"The 't' argument of {owner} must be one of the scheduler's timesteps "
                             f"(set_timesteps({self.num_inference_steps}) gave {_preview(self.timesteps)}). "
                             f"Got {t}.")
        return t

    def _check_step(self, model_output: torch.Tensor, t: int | torch.Tensor, sample: torch.Tensor,
                    owner: str) -> int:
        for name, value in (("model_output", model_output), ("sample", sample)):
            if not isinstance(value, torch.Tensor) or not value.dtype.is_floating_point:
                kind = f"dtype {value.dtype}" if isinstance(value, torch.Tensor) else type(value).__name__
                raise TypeError(f"The {name!r} argument of {owner} must be a floating-point tensor. Got {kind}.")
        if model_output.shape != sample.shape:
            raise ValueError(f"The 'model_output' and 'sample' arguments of {owner} must have the same shape. "
                             f"Got {tuple(model_output.shape)} and {tuple(sample.shape)}.")
        return self._check_timestep(t, owner)


def check_generator(generator: Any, owner: str) -> torch.Generator:
    """Refuse a missing generator where noise must be drawn (no unseeded global randomness)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{owner} draws fresh noise and needs a seeded torch.Generator "
                        f"(latentscm never uses unseeded global randomness). Got {generator!r}.")
    return generator


def gaussian_like(sample: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Standard normal noise shaped like ``sample``, drawn on the generator's device and moved to
    the sample's (so a CPU generator also seeds CUDA sampling reproducibly)."""
    noise = torch.randn(sample.shape, generator=generator, device=generator.device, dtype=sample.dtype)
    return noise.to(sample.device)


def _preview(timesteps: torch.Tensor, limit: int = 6) -> str:
    values = timesteps.tolist()
    if len(values) <= limit:
        return str(values)
    return f"[{', '.join(map(str, values[:3]))}, ..., {', '.join(map(str, values[-2:]))}]"
