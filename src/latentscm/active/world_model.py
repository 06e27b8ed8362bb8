"""The generative world model of a deep active-inference agent: a VAE with an action-conditioned
transition over Gaussian state beliefs, its variational free energy, and its training.

A :class:`WorldModel` has an amortised posterior ``q(s | o) = N(mean, diag(exp(logvar)))``
(:class:`~latentscm.nn.ConvEncoder`), a Bernoulli likelihood ``p(o | s)`` per pixel
(:class:`~latentscm.nn.ConvDecoder` logits) and a transition ``p(s_t+1 | s_t, a_t)`` that maps a
Gaussian belief to a Gaussian belief (:meth:`WorldModel._transition`; subclasses decide which
latent blocks it may touch). Trained on transitions ``(o_t, a_t, o_t+1)`` by the negative ELBO
of the two-step sequence (the sequential VAE of deep active inference, Çatal et al. 2020;
Fountas et al. 2020)::

    L = -log p(o_t | s_t) + KL(q(s_t | o_t) || N(0, I))
        -log p(o_t+1 | s_t+1) + KL(q(s_t+1 | o_t+1) || p(s_t+1 | q(s_t | o_t), a_t))

with reparametrised samples, ``beta`` weighting the first KL term and ``beta_transition`` (default
``beta``) the second.

The variational free energy of an observation against a prior belief (Friston et al. 2017,
"Active inference: a process theory"; Parr & Friston 2019, "Generalised free energy and active
inference") is ``F = -E_q[log p(o | s)] + KL(q(s | o) || prior)`` = inaccuracy + complexity;
here the expectation is evaluated at the posterior mean (a one-point estimate, so every number
is deterministic). Units are nats per image.

Shapes: images float32 (N, C, H, W) in [0, 1]; actions (N,) int64 in ``0 .. n_actions - 1``;
beliefs ``(mean, logvar)`` (N, D) each, D = :attr:`WorldModel.latent_size`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentscm._io import atomic_write
from latentscm._params import params_from_signature, params_repr
from latentscm._seeding import seeded_torch
from latentscm._validation import check_array, check_number
from latentscm.active.transitions import Transitions
from latentscm.nn import ConvDecoder, ConvEncoder

__all__ = ["WorldModel", "gaussian_kl", "bernoulli_entropy", "gaussian_step", "NotFittedError", "state_digest"]

_OWNER_FIT = "WorldModel.fit"


class NotFittedError(RuntimeError):
    """A world model was used before ``fit`` (or :func:`latentscm.active.load_world_model`)."""


def gaussian_kl(mean_q: torch.Tensor, logvar_q: torch.Tensor, mean_p: torch.Tensor,
                logvar_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mean_q, exp(logvar_q)) || N(mean_p, exp(logvar_p))) summed over units: (N, D) x4 -> (N,)."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mean_q - mean_p).square()) / logvar_p.exp()
                  - 1.0).sum(dim=1)


def bernoulli_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of independent Bernoulli pixels, summed per image: (N, C, H, W) -> (N,)."""
    p = torch.sigmoid(logits)
    # H = softplus(l) - p * l, stable for large |l|
    return (F.softplus(logits) - p * logits).flatten(1).sum(dim=1)


def gaussian_step(network: nn.Module, mean: torch.Tensor, logvar: torch.Tensor,
                  action_codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One action-conditioned step of a Gaussian belief (N, B) x2 through ``network``.

    ``network`` maps ``[mean, one-hot action]`` (N, B + A) to ``[delta, noise logvar]`` (N, 2B):
    the predicted mean is ``mean + delta`` and the predicted variance ``exp(logvar) +
    exp(noise logvar)`` (the belief's uncertainty plus the transition's process noise).
    """
    delta, noise_logvar = network(torch.cat([mean, action_codes], dim=1)).chunk(2, dim=1)
    return mean + delta, torch.logaddexp(logvar, noise_logvar.clamp(-12.0, 4.0))


def state_digest(state: dict[str, Any]) -> str:
    """SHA-256 (hex) of a saved model's contents: name, parameters, shapes, history and every weight's name, dtype,
    shape and bytes. :meth:`WorldModel.save` records it and :func:`latentscm.active.load_world_model` checks it, so a
    damaged file is refused instead of loading other weights."""
    digest = hashlib.sha256()
    header = {key: state.get(key) for key in ("name", "params", "image_shape", "n_actions", "history")}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for key, tensor in state["weights"].items():
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f";{key};{flat.dtype};{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _check_channels(value: Any, owner: str) -> tuple[int, ...]:
    message = f"The 'channels' parameter of {owner} must be a non-empty sequence of ints >= 1. Got {value!r} instead."
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) == 0:
        raise TypeError(message)
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in value):
        raise ValueError(message)
    return tuple(int(v) for v in value)


class WorldModel:
    """Base class of the active-inference world models; see the module docstring.

    Subclasses set ``name``, implement :meth:`latent_size` and :meth:`_build_transition` and
    :meth:`_transition`, and validate their own parameters in :meth:`_validate`.

    Parameters
    ----------
    channels : sequence of int
        Encoder convolution channels (the decoder mirrors them).
    hidden_dim : int
        Width of the encoder's and decoder's dense layer.
    transition_hidden : int
        Width of the transition network's two hidden layers.
    beta : float
        Weight of the KL (complexity) terms in the training loss.
    beta_transition : float or None
        Weight of the second step's KL to the transition prior alone (None: ``beta``). A small
        ``beta`` lets the posterior keep small image details (a camera turn moves ~0.3 % of the
        pixel mass per grid step on shapes3d at 32 px); a larger ``beta_transition`` keeps the
        pressure that makes the posterior of the next observation agree with what the transition
        predicts, which is what separates shape from pose in the factorised model.
    lr : float
        Adam learning rate.
    batch_size : int
        Transitions per step.
    steps : int
        Optimisation steps.
    seed : int
        Seeds initialisation, minibatch order and the reparametrisation noise.
    """

    name: ClassVar[str] = "world_model"

    def __init__(self, *, channels: Sequence[int], hidden_dim: int, transition_hidden: int, beta: float,
                 lr: float, batch_size: int, steps: int, seed: int, beta_transition: float | None = None):
        self.channels = channels
        self.hidden_dim = hidden_dim
        self.transition_hidden = transition_hidden
        self.beta = beta
        self.beta_transition = beta_transition
        self.lr = lr
        self.batch_size = batch_size
        self.steps = steps
        self.seed = seed
        self._validate()

    # ------------------------------------------------------------------ parameters
    def _validate(self) -> None:
        owner = type(self).__name__
        self.channels = _check_channels(self.channels, owner)
        self.hidden_dim = check_number(self.hidden_dim, "hidden_dim", owner, low=1, integer=True)
        self.transition_hidden = check_number(self.transition_hidden, "transition_hidden", owner, low=1, integer=True)
        self.beta = check_number(self.beta, "beta", owner, low=0)
        if self.beta_transition is not None:
            self.beta_transition = check_number(self.beta_transition, "beta_transition", owner, low=0)
        self.lr = check_number(self.lr, "lr", owner, low=0, low_inclusive=False)
        self.batch_size = check_number(self.batch_size, "batch_size", owner, low=1, integer=True)
        self.steps = check_number(self.steps, "steps", owner, low=1, integer=True)
        self.seed = check_number(self.seed, "seed", owner, low=0, high=2**63 - 1, integer=True)

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments of this model (scikit-learn's rule)."""
        return params_from_signature(self)

    def __repr__(self) -> str:
        return params_repr(self, self.get_params())

    @property
    def latent_size(self) -> int:
        """Number of latent units D."""
        raise NotImplementedError

    # ------------------------------------------------------------------ networks
    def _build(self, image_shape: Sequence[int], n_actions: int) -> None:
        """Create the networks (seeded by ``seed``, without touching the global torch RNG)."""
        self.image_shape_ = tuple(int(s) for s in image_shape)
        self.n_actions_ = int(n_actions)
        with seeded_torch(self.seed):
            d = self.latent_size
            self.net_ = nn.ModuleDict({
                "encoder": ConvEncoder(self.image_shape_, 2 * d, channels=self.channels, hidden_dim=self.hidden_dim),
                "decoder": ConvDecoder(d, self.image_shape_, channels=self.channels, hidden_dim=self.hidden_dim),
                "transition": self._build_transition(),
            })
        self.net_.eval()

    def _build_transition(self) -> nn.Module:
        raise NotImplementedError

    def _transition(self, mean: torch.Tensor, logvar: torch.Tensor,
                    actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted belief (N, D) x2 from belief (N, D) x2 and actions (N,) int64."""
        raise NotImplementedError

    def _one_hot(self, actions: torch.Tensor) -> torch.Tensor:
        return F.one_hot(actions, self.n_actions_).to(torch.float32)

    def _encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.net_["encoder"](images).chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 8.0)

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        return self.net_["decoder"](codes)

    # ------------------------------------------------------------------ training
    def _loss(self, images: torch.Tensor, actions: torch.Tensor, next_images: torch.Tensor,
              generator: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        mean0, logvar0 = self._encode(images)
        mean1, logvar1 = self._encode(next_images)
        noise0 = torch.randn(mean0.shape, generator=generator)
        noise1 = torch.randn(mean1.shape, generator=generator)
        z0 = mean0 + (0.5 * logvar0).exp() * noise0
        z1 = mean1 + (0.5 * logvar1).exp() * noise1
        recon = (F.binary_cross_entropy_with_logits(self._decode(torch.cat([z0, z1])), torch.cat([images, next_images]),
                                                    reduction="none").flatten(1).sum(1))
        kl0 = gaussian_kl(mean0, logvar0, torch.zeros_like(mean0), torch.zeros_like(logvar0))
        prior_mean, prior_logvar = self._transition(mean0, logvar0, actions)
        kl1 = gaussian_kl(mean1, logvar1, prior_mean, prior_logvar)
        if self.beta_transition is None:  # one weight (the form every earlier run used, bit for bit)
            loss = recon.mean() * 2.0 + self.beta * (kl0.mean() + kl1.mean())
        else:
            loss = recon.mean() * 2.0 + self.beta * kl0.mean() + self.beta_transition * kl1.mean()
        return loss, {"loss": float(loss.detach()), "recon": float(recon.mean().detach()),
                      "kl_prior": float(kl0.mean().detach()),
                      "kl_transition": float(kl1.mean().detach())}

    def fit(self, transitions: Transitions, *, n_actions: int | None = None, log_every: int = 50):
        """Train on ``transitions``; returns ``self``.

        Parameters
        ----------
        transitions : Transitions
            Images (N, C, H, W), actions (N,) and next images (N, C, H, W).
        n_actions : int or None, default None
            Size of the action set (default: ``max(actions) + 1``; pass the environment's
            ``n_actions`` so that actions absent from the data still have an input).
        log_every : int, default 50
            Steps between the records of ``history_`` (mean loss terms over the window).

        Returns
        -------
        WorldModel
            ``self``, with ``net_``, ``image_shape_``, ``n_actions_``, ``history_`` set.

        Raises
        ------
        FloatingPointError
            The loss became NaN or infinite (lower ``lr``). A fit that fails during training leaves the model
            unfitted (an earlier fit is discarded too), so it cannot be used or saved by mistake.
        """
        from latentscm.training.data import ShardedBatches
        from latentscm.training.loop import step_seed

        owner = f"{type(self).__name__}.fit"
        if not isinstance(transitions, Transitions):
            raise TypeError(f"{owner} expects Transitions (latentscm.active.sample_transitions). Got "
                            f"{type(transitions).__name__}.")
        images = check_array(transitions.images, "transitions.images", owner, ndim=4, dtype=np.float32)
        next_images = check_array(transitions.next_images, "transitions.next_images", owner, ndim=4, dtype=np.float32)
        actions = np.asarray(transitions.actions)
        if images.shape != next_images.shape or actions.shape != (images.shape[0],):
            raise ValueError(f"{owner}: images {images.shape}, next images {next_images.shape} and actions "
                             f"{actions.shape} do not describe the same transitions.")
        for label, array in (("transitions.images", images), ("transitions.next_images", next_images)):
            if array.size and (array.min() < 0 or array.max() > 1):
                raise ValueError(f"{owner}: {label} must be pixel intensities in [0, 1] (the Bernoulli likelihood); "
                                 f"got values in [{array.min():g}, {array.max():g}].")
        if actions.dtype.kind not in "iu" or actions.min() < 0:
            raise ValueError(f"{owner}: actions must be non-negative ints. Got {actions.dtype} with minimum "
                             f"{actions.min()}.")
        top = int(actions.max()) + 1
        n_actions = top if n_actions is None else check_number(n_actions, "n_actions", owner, low=top, integer=True)
        log_every = check_number(log_every, "log_every", owner, low=1, integer=True)
        data = torch.from_numpy(np.ascontiguousarray(images))
        next_data = torch.from_numpy(np.ascontiguousarray(next_images))
        action_data = torch.from_numpy(actions.astype(np.int64))
        batches = ShardedBatches(data, min(self.batch_size, data.shape[0]), self.seed)
        generator = torch.Generator()
        history: list[dict[str, float]] = []
        window: dict[str, float] = {}
        self._build(images.shape[1:], n_actions)
        try:
            optimizer = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
            self.net_.train()
            for step in range(self.steps):
                rows = batches.indices(step)
                generator.manual_seed(step_seed(self.seed, step))
                loss, logs = self._loss(data[rows], action_data[rows], next_data[rows], generator)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"{owner}: the loss became {float(loss.detach())} at step {step}; "
                                             "lower 'lr'.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for key, value in logs.items():
                    window[key] = window.get(key, 0.0) + value
                if (step + 1) % log_every == 0 or step + 1 == self.steps:
                    count = log_every if (step + 1) % log_every == 0 else (step + 1) % log_every
                    history.append({"step": step + 1, **{k: v / count for k, v in window.items()}})
                    window = {}
        except BaseException:
            # a failed fit leaves the model unfitted: half-trained networks next to an earlier fit's history_ would
            # look fitted to infer, save and EFEAgent
            for name in ("net_", "image_shape_", "n_actions_", "history_"):
                self.__dict__.pop(name, None)
            raise
        self.net_.eval()
        self.history_ = history
        return self

    # ------------------------------------------------------------------ inference (numpy in, numpy out)
    def _check_fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(transitions) first.")

    def _images(self, images: Any, what: str = "images") -> torch.Tensor:
        owner = type(self).__name__
        array = check_array(images, what, owner, dtype=np.float32)
        if array.ndim == 3:
            array = array[None]
        if array.ndim != 4 or tuple(array.shape[1:]) != self.image_shape_:
            expected = ", ".join(map(str, self.image_shape_))
            raise ValueError(f"The {what!r} argument of {owner} must have shape (N, {expected}). Got {array.shape}.")
        if array.size and (array.min() < 0 or array.max() > 1):  # e.g. 8-bit pixels: beliefs and energies off scale
            raise ValueError(f"The {what!r} argument of {owner} must be pixel intensities in [0, 1] (the Bernoulli "
                             f"likelihood); got values in [{array.min():g}, {array.max():g}].")
        return torch.from_numpy(np.ascontiguousarray(array))

    def _codes(self, value: Any, what: str, owner: str) -> torch.Tensor:
        """Finite latent codes or belief parts as a float32 tensor (N, D), N >= 1."""
        array = check_array(value, what, owner, ndim=2, dtype=np.float32)
        if array.shape[1] != self.latent_size:
            raise ValueError(f"The {what!r} argument of {owner} must have shape (N, {self.latent_size}). "
                             f"Got {array.shape}.")
        return torch.from_numpy(np.ascontiguousarray(array))

    def _actions(self, actions: Any, n: int) -> torch.Tensor:
        array = np.atleast_1d(np.asarray(actions))
        if (array.dtype.kind not in "iu" or array.shape != (n,) or array.size == 0 or array.min() < 0
                or array.max() >= self.n_actions_):
            raise ValueError(f"The 'actions' argument of {type(self).__name__} must be {n} ints in "
                             f"0..{self.n_actions_ - 1}. Got {array!r}.")
        return torch.from_numpy(array.astype(np.int64))

    def infer(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """Posterior belief ``(mean, logvar)`` (N, D) each of images (N, C, H, W)."""
        self._check_fitted()
        with torch.no_grad():
            mean, logvar = self._encode(self._images(images))
        return mean.numpy(), logvar.numpy()

    def predict(self, mean: Any, logvar: Any, actions: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predicted belief ``p(s_t+1 | belief, a)`` (N, D) x2 of beliefs (N, D) x2 and actions (N,)."""
        self._check_fitted()
        owner = f"{type(self).__name__}.predict"
        mean_t, logvar_t = self._codes(mean, "mean", owner), self._codes(logvar, "logvar", owner)
        if mean_t.shape != logvar_t.shape:
            raise ValueError(f"{owner} needs mean and logvar of shape (N, {self.latent_size}). "
                             f"Got {tuple(mean_t.shape)} and {tuple(logvar_t.shape)}.")
        with torch.no_grad():
            out_mean, out_logvar = self._transition(mean_t, logvar_t, self._actions(actions, mean_t.shape[0]))
        return out_mean.numpy(), out_logvar.numpy()

    def decode(self, codes: Any) -> np.ndarray:
        """Mean images (N, C, H, W) in [0, 1] (sigmoid of the logits) of codes (N, D)."""
        self._check_fitted()
        codes_t = self._codes(codes, "codes", f"{type(self).__name__}.decode")
        with torch.no_grad():
            return torch.sigmoid(self._decode(codes_t)).numpy()

    def free_energy(self, images: Any, prior: tuple[Any, Any] | None = None) -> dict[str, np.ndarray]:
        """Variational free energy of observations against a prior belief.

        Parameters
        ----------
        images : array
            (N, C, H, W) observations.
        prior : (mean, logvar) or None, default None
            Prior beliefs (N, D) each (e.g. :meth:`predict` of the previous belief and action);
            ``None`` is the standard normal prior of a first observation.

        Returns
        -------
        dict
            ``"free_energy"``, ``"inaccuracy"`` (``-log p(o | mean of q)``) and ``"complexity"``
            (``KL(q || prior)``), each (N,) float64 in nats.
        """
        self._check_fitted()
        x = self._images(images)
        with torch.no_grad():
            mean, logvar = self._encode(x)
            if prior is None:
                prior_mean, prior_logvar = torch.zeros_like(mean), torch.zeros_like(logvar)
            else:
                owner = f"{type(self).__name__}.free_energy"
                if not isinstance(prior, (tuple, list)) or len(prior) != 2:
                    raise TypeError(f"The 'prior' argument of {owner} must be a (mean, logvar) pair. "
                                    f"Got {type(prior).__name__}.")
                parts = []
                for label, part in zip(("mean", "logvar"), prior):
                    array = check_array(part, f"prior {label}", owner, ndim=2, dtype=np.float32)
                    if array.shape != tuple(mean.shape):
                        raise ValueError(f"The 'prior' {label} of {owner} must have shape {tuple(mean.shape)} "
                                         f"(observations, latent units). Got {array.shape}.")
                    parts.append(torch.from_numpy(np.ascontiguousarray(array)))  # torch refuses negative strides
                prior_mean, prior_logvar = parts
            inaccuracy = F.binary_cross_entropy_with_logits(self._decode(mean), x, reduction="none").flatten(1).sum(1)
            complexity = gaussian_kl(mean, logvar, prior_mean, prior_logvar)
        inaccuracy_np = inaccuracy.double().numpy()
        complexity_np = complexity.double().numpy()
        return {"free_energy": inaccuracy_np + complexity_np, "inaccuracy": inaccuracy_np, "complexity": complexity_np}

    # ------------------------------------------------------------------ persistence
    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the fitted model: name, parameters, shapes, weights, history."""
        self._check_fitted()
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.get_params().items()}
        return {"name": self.name, "params": params, "image_shape": list(self.image_shape_),
                "n_actions": self.n_actions_, "weights": self.net_.state_dict(),
                "history": getattr(self, "history_", [])}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to one file atomically (load it with
        :func:`latentscm.active.load_world_model`), with the :func:`state_digest` of its contents."""
        state = self.state()
        state["sha256"] = state_digest(state)
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return atomic_write(path, buffer.getvalue())

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> WorldModel:
        """Rebuild a fitted model from :meth:`state`."""
        model = cls(**state["params"])
        model._build(state["image_shape"], state["n_actions"])
        model.net_.load_state_dict(state["weights"])
        model.history_ = list(state.get("history", []))
        return model
