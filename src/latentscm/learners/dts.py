"""DTS: disentangled representations of multivariate time series with an LSTM sequence VAE.

Reimplemented from the method of Li, Chen, Zha, Du, Ni, Zhang, Chen & Hu (KDD 2022), "Towards
learning disentangled representations for time series" (no public code). An LSTM encoder reads a
sequence into one Gaussian code per sequence, an LSTM decoder writes it back; with an
*autoregressive* decoder (each step also sees the previous value) the decoder can model the
sequence without the code and the KL term pushes codes to the prior ("KL vanishing"), which
penalties on the whole KL — such as β-TCVAE's — make worse. DTS splits the KL of the ELBO
(Hoffman & Johnson 2016; Chen et al. 2018) into

    KL = I(x; z) + TC(z) + sum_d KL(q(z_d) || p(z_d))

and *rewards* the index-code mutual information while penalising the other two:

    loss = recon - mi_weight * I(x; z) + tc_weight * TC + dwkl_weight * DWKL
           + group_tc_weight * TC_groups,

where ``TC_groups = KL(q(z) || prod_g q(z_g))`` is the total correlation between segments of the
code (``groups``: segment sizes), the group-level disentanglement of DTS. All terms are estimated on
each minibatch by minibatch-weighted sampling; the TC term is β-TCVAE's estimator
(:func:`~latentscm.learners.tcvae.total_correlation_mws`). With ``mi_weight=-1, dwkl_weight=1`` the
loss is β-TCVAE's ``recon + KL + (tc_weight - 1) TC`` with the KL estimated by sampling.

**What the MI reward can and cannot do.** ``mi_weight`` is the *net* coefficient of I(x; z) in the
loss (the ELBO's own is -1). Its minibatch-weighted-sampling estimate lies between ``log N`` (every
posterior of the minibatch the same: the true I is 0) and ``log(N M)`` (no two posteriors of the
minibatch overlap; N training sequences, M the batch size), and only its gradient matters. The reward
is saturated as soon as *one* unit tells the sequences of a minibatch apart, so it keeps a code from
vanishing but does not spread information over one unit per factor: only the reconstruction term does
that, and with an autoregressive decoder that term gains little from the code. On the factor-sequence
world this is what benchmarks/bench_dts.py measures: DTS keeps a single sharp unit that indexes the
sequence, not its factors (see that script for the table).

**Data layout.** The training loop (:func:`latentscm.training.train`) takes image tensors
(N, C, H, W) in [0, 1]; DTS reads such a tensor as C channels over ``T = H * W`` steps (row-major).
Sequences (N, T, d) given to :meth:`DTS.fit_sequences` (or a
:class:`~latentscm.worlds.timeseries.factor_sequences.SequenceBatch` given to :meth:`DTS.fit`) are
min-max scaled per channel into [0, 1] (bounds kept as ``sequence_low_`` / ``sequence_high_``) and
laid out as (N, d, T, 1), so DTS trains in the shared
loop with its checkpoints, exact resume and logs; after sequence training ``encode`` also accepts
sequences (N, T, d) or a SequenceBatch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_array, check_choice, check_number
from latentscm.learners.base import Learner, StepOutput
from latentscm.learners.tcvae import total_correlation_mws

__all__ = ["DTS", "DECODERS", "images_to_sequences", "kl_decomposition_mws", "sequences_to_images"]

DECODERS = ("autoregressive", "plain")
_LOG_2PI = math.log(2 * math.pi)


def sequences_to_images(values: Any, low: Any = None, high: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences (N, T, d) as min-max scaled "images" (N, d, T, 1) float32, with the bounds used.

    Parameters
    ----------
    values : array-like, shape (N, T, d)
    low, high : array-like, shape (d,), optional
        Per-channel bounds (default: the minimum and maximum of ``values``).

    Returns
    -------
    (images, low, high)
        ``images`` (N, d, T, 1) = ``(values - low) / (high - low)``; ``low`` and ``high`` (d,).
    """
    owner = "sequences_to_images"
    array = check_array(values, "values", owner, ndim=3)
    low = array.min(axis=(0, 1)) if low is None else check_array(low, "low", owner, ndim=1)
    high = array.max(axis=(0, 1)) if high is None else check_array(high, "high", owner, ndim=1)
    if low.shape != (array.shape[2],) or high.shape != (array.shape[2],):
        raise ValueError(f"The bounds of {owner} must have one value per channel ({array.shape[2]}). "
                         f"Got {low.shape} and {high.shape}.")
    flat = np.flatnonzero(high <= low)
    if flat.size:
        raise ValueError(f"The 'values' argument of {owner} has constant channels {flat.tolist()}; a sequence "
                         "model cannot scale them.")
    scaled = (array - low) / (high - low)
    return np.ascontiguousarray(scaled.transpose(0, 2, 1)[..., None]).astype(np.float32), low, high


def images_to_sequences(images: Any, low: Any, high: Any) -> np.ndarray:
    """Inverse of :func:`sequences_to_images`: (N, d, T, 1) in [0, 1] to sequences (N, T, d)."""
    array = check_array(images, "images", "images_to_sequences", ndim=4)
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    return array[..., 0].transpose(0, 2, 1) * (high - low) + low


def kl_decomposition_mws(z: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, dataset_size: int,
                         groups: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
    """Minibatch-weighted-sampling estimates of the terms of the ELBO's KL (Chen et al. 2018).

    Parameters
    ----------
    z : torch.Tensor
        Samples (M, D), one per sequence of the minibatch.
    mean, logvar : torch.Tensor
        Posterior parameters (M, D).
    dataset_size : int
        N, the number of training sequences.
    groups : sequence of int or None
        Sizes of consecutive latent segments (summing to D) for the group total correlation.

    Returns
    -------
    dict of scalar tensors
        ``"mi"`` (index-code mutual information), ``"tc"`` (total correlation, by
        :func:`~latentscm.learners.tcvae.total_correlation_mws`), ``"dwkl"`` (dimension-wise KL) and,
        with ``groups``, ``"group_tc"`` (``KL(q(z) || prod_g q(z_g))``). ``mi + tc + dwkl`` equals the
        sampled KL ``E[log q(z|x) - log p(z)]``.
    """
    batch = z.shape[0]
    diff = z[:, None, :] - mean[None, :, :]
    log_density = -0.5 * (_LOG_2PI + logvar[None] + diff.square() * torch.exp(-logvar[None]))  # (M, M, D)
    log_norm = math.log(dataset_size * batch)
    log_qz_given_x = torch.diagonal(log_density, dim1=0, dim2=1).sum(0)  # (M,)
    log_qz = torch.logsumexp(log_density.sum(2), dim=1) - log_norm
    log_qz_dims = torch.logsumexp(log_density, dim=1) - log_norm  # (M, D)
    log_prior = (-0.5 * (_LOG_2PI + z.square())).sum(1)
    terms = {"mi": (log_qz_given_x - log_qz).mean(),
             "tc": total_correlation_mws(z, mean, logvar, dataset_size),
             "dwkl": (log_qz_dims.sum(1) - log_prior).mean()}
    if groups is not None and len(groups) > 0:
        parts, start = [], 0
        for size in groups:
            parts.append(torch.logsumexp(log_density[:, :, start:start + size].sum(2), dim=1) - log_norm)
            start += size
        terms["group_tc"] = (log_qz - torch.stack(parts, 1).sum(1)).mean()
    return terms


class _SequenceEncoder(nn.Module):
    """(N, C, H, W) read as (N, T = H W, C) -> LSTM -> last hidden state -> ``outputs`` numbers."""

    def __init__(self, channels: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(channels, hidden, batch_first=True)
        self.head = nn.Linear(hidden, outputs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        sequence = images.flatten(2).transpose(1, 2)
        _, (hidden, _) = self.lstm(sequence)
        return self.head(hidden[-1])


class _SequenceDecoder(nn.Module):
    """Code (N, D) -> logits (N, C, H, W). The code sets the initial LSTM state and is an input at every
    step; the autoregressive decoder also reads the previous value (teacher-forced when ``targets`` are
    given, its own mean prediction ``sigmoid(logit)`` otherwise)."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], hidden: int, autoregressive: bool) -> None:
        super().__init__()
        self.image_shape = image_shape
        self.channels = image_shape[0]
        self.length = image_shape[1] * image_shape[2]
        self.autoregressive = autoregressive
        self.initial = nn.Linear(latent_dim, 2 * hidden)
        self.lstm = nn.LSTM(latent_dim + (self.channels if autoregressive else 0), hidden, batch_first=True)
        self.head = nn.Linear(hidden, self.channels)

    def forward(self, z: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
        n = z.shape[0]
        h0, c0 = torch.tanh(self.initial(z)).chunk(2, dim=1)
        state = (h0[None].contiguous(), c0[None].contiguous())
        codes = z[:, None, :].expand(n, self.length, z.shape[1])
        if not self.autoregressive:
            logits = self.head(self.lstm(codes, state)[0])
        elif targets is not None:
            sequence = targets.flatten(2).transpose(1, 2)
            previous = torch.cat([torch.zeros_like(sequence[:, :1]), sequence[:, :-1]], dim=1)
            logits = self.head(self.lstm(torch.cat([codes, previous], dim=2), state)[0])
        else:
            previous = z.new_zeros((n, 1, self.channels))
            steps = []
            for t in range(self.length):
                output, state = self.lstm(torch.cat([codes[:, t:t + 1], previous], dim=2), state)
                logit = self.head(output)
                steps.append(logit)
                previous = torch.sigmoid(logit)
            logits = torch.cat(steps, dim=1)
        return logits.transpose(1, 2).reshape(n, *self.image_shape)


class DTS(Learner):
    """DTS sequence VAE (Li et al., KDD 2022); see the module docstring for the loss and data layout.

    Parameters
    ----------
    mi_weight : float, default 1.0
        λ, the reward on the index-code mutual information I(x; z) (negative values penalise it;
        ``-1`` is the ELBO's own weight).
    tc_weight : float, default 6.0
        β, the weight of the total correlation (>= 0).
    dwkl_weight : float, default 1.0
        γ, the weight of the dimension-wise KL (>= 0).
    group_tc_weight : float, default 0.0
        Weight of the total correlation between latent segments (>= 0; needs ``groups``).
    groups : sequence of int or None, default None
        Sizes of consecutive latent segments, summing to ``latent_dim``.
    decoder : {"autoregressive", "plain"}, default "autoregressive"
        Whether each decoder step also reads the previous value.
    latent_dim : int, default 6
        Code size D.
    hidden_dim : int, default 64
        LSTM width of encoder and decoder.
    likelihood : {"gaussian", "bernoulli"}, default "gaussian"
        Likelihood of the [0, 1]-scaled values.
    noise_scale : float or None, default None
        σ of the Gaussian likelihood on the [0, 1]-scaled values (> 0; Gaussian likelihood only): the
        reconstruction term is the squared error divided by ``2 σ²``. None keeps the library's Gaussian
        likelihood, the plain squared error (σ = 1/√2). The scale sets how much a code can gain in
        reconstruction against what it costs in KL: with min-max scaled sequences whose step-to-step noise
        is a few hundredths, σ = 1/√2 makes the reconstruction gain of any code far smaller than its KL
        cost, so every code collapses whatever the MI weight; a σ near the noise of the data restores it.
    lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    dense_layers = False  # its networks read hidden_dim as one width

    name = "dts"

    def __init__(self, *, mi_weight: float = 1.0, tc_weight: float = 6.0, dwkl_weight: float = 1.0,
                 group_tc_weight: float = 0.0, groups: Sequence[int] | None = None, decoder: str = "autoregressive",
                 latent_dim: int = 6, hidden_dim: int = 64, likelihood: str = "gaussian",
                 noise_scale: float | None = None, lr: float = 1e-3,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = 5.0, seed: int = 0,
                 device: str = "cpu"):
        self.mi_weight = mi_weight
        self.tc_weight = tc_weight
        self.dwkl_weight = dwkl_weight
        self.group_tc_weight = group_tc_weight
        self.groups = groups
        self.decoder = decoder
        self.noise_scale = noise_scale
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=(1,), hidden_dim=hidden_dim, lr=lr,
                         batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.mi_weight = check_number(self.mi_weight, "mi_weight", owner)
        self.tc_weight = check_number(self.tc_weight, "tc_weight", owner, low=0)
        self.dwkl_weight = check_number(self.dwkl_weight, "dwkl_weight", owner, low=0)
        self.group_tc_weight = check_number(self.group_tc_weight, "group_tc_weight", owner, low=0)
        check_choice(self.decoder, "decoder", owner, DECODERS)
        if self.noise_scale is not None:
            self.noise_scale = check_number(self.noise_scale, "noise_scale", owner, low=0, low_inclusive=False)
            if self.likelihood != "gaussian":
                raise ValueError(f"The 'noise_scale' parameter of {owner} is {self.noise_scale} but likelihood is "
                                 f"{self.likelihood!r}; a noise scale needs likelihood='gaussian'.")
        if self.groups is not None:
            message = (f"The 'groups' parameter of {owner} must be a sequence of positive ints summing to "
                       f"latent_dim={self.latent_dim}. Got {self.groups!r} instead.")
            if isinstance(self.groups, np.ndarray) and self.groups.ndim == 1:
                self.groups = self.groups.tolist()
            if isinstance(self.groups, (str, bytes)) or not isinstance(self.groups, Sequence):
                raise TypeError(message)
            sizes = []
            for size in self.groups:
                if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                    raise ValueError(message)
                sizes.append(int(size))
            if sum(sizes) != self.latent_dim:
                raise ValueError(message)
            self.groups = tuple(sizes)
        if self.group_tc_weight > 0 and self.groups is None:
            raise ValueError(f"The 'group_tc_weight' parameter of {owner} is {self.group_tc_weight} but 'groups' is "
                             f"None; give the latent segment sizes.")

    # ------------------------------------------------------------------ modules
    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, nn.Module]:
        return {"encoder": _SequenceEncoder(image_shape[0], self.hidden_dim, self._encoder_outputs(latent_dim)),
                "decoder": _SequenceDecoder(latent_dim, image_shape, self.hidden_dim,
                                            self.decoder == "autoregressive")}

    # ------------------------------------------------------------------ training
    def _reconstruction(self, logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of the per-sequence negative log-likelihood, up to a constant (squared error
        / (2 σ²) with ``noise_scale`` σ)."""
        recon = super()._reconstruction(logits, images)
        return recon if self.noise_scale is None else recon / (2.0 * self.noise_scale**2)

    def loss(self, images: torch.Tensor, step: int) -> StepOutput:
        mean, logvar = self._posterior(images, self._net("encoder"))
        z = self._reparameterise(mean, logvar, self._generator)
        logits = self._net("decoder")(z, images if self.decoder == "autoregressive" else None)
        recon = self._reconstruction(logits, images)
        terms = kl_decomposition_mws(z, mean, logvar, getattr(self, "n_train_", images.shape[0]), self.groups)
        loss = recon - self.mi_weight * terms["mi"] + self.tc_weight * terms["tc"] + self.dwkl_weight * terms["dwkl"]
        if "group_tc" in terms:
            loss = loss + self.group_tc_weight * terms["group_tc"]
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, **terms})

    def fit(self, data: Any, **options: Any) -> DTS:
        """Train on a SequenceBatch (scaled as in :meth:`fit_sequences`) or on sequence images
        (N, C, H, W) in [0, 1], a World or a Batch as any learner; returns ``self``. Keyword options
        are those of :meth:`Learner.fit <latentscm.learners.base.Learner.fit>`."""
        from latentscm.worlds.timeseries.base import TimeSeriesWorld
        from latentscm.worlds.timeseries.factor_sequences import SequenceBatch

        if isinstance(data, SequenceBatch):
            return self.fit_sequences(data.values, **options)
        if isinstance(data, TimeSeriesWorld):  # it has no image sampler: the sequence length is the caller's choice
            raise TypeError(f"DTS.fit got the time-series world {type(data).__name__}; sample sequences first, "
                            f"e.g. fit(world.sample_sequences(n, T, seed=0)), or pass (N, T, d) arrays to "
                            f"fit_sequences.")
        return self._fit_scaled(data, None, None, options)

    def fit_sequences(self, values: Any, **options: Any) -> DTS:
        """Train on sequences (N, T, d): min-max scaled per channel into [0, 1] and laid out as (N, d, T, 1)
        (bounds kept as ``sequence_low_`` / ``sequence_high_``); returns ``self``.

        Raises
        ------
        ValueError
            Not 3-D, NaN or infinite values, or a constant channel.
        """
        images, low, high = sequences_to_images(values)
        return self._fit_scaled(images, low, high, options)

    def _fit_scaled(self, data: Any, low: np.ndarray | None, high: np.ndarray | None, options: dict[str, Any]) -> DTS:
        """:meth:`Learner.fit` on ``data``, adopting the sequence bounds ``low``, ``high`` (d,) (``None``:
        image data) only once the training loop accepted the call (:meth:`_on_training_set`), so a
        rejected refit leaves a fitted model's bounds as they were."""
        self._pending_bounds = (low, high)
        try:
            return super().fit(data, **options)  # type: ignore[return-value]
        finally:
            self.__dict__.pop("_pending_bounds", None)

    def _on_training_set(self, training_set: Any) -> None:
        super()._on_training_set(training_set)
        self.sequence_low_, self.sequence_high_ = self.__dict__.pop("_pending_bounds", (None, None))

    # ------------------------------------------------------------------ sequences in and out
    def _images_tensor(self, x: Any, what: str) -> torch.Tensor:
        from latentscm.worlds.timeseries.factor_sequences import SequenceBatch

        if isinstance(x, torch.Tensor):  # (a tensor has a 'values' attribute too: read it as an array)
            x = x.detach().cpu().numpy()
        is_batch = isinstance(x, SequenceBatch)
        values = x.values if is_batch else x
        owner = f"{type(self).__name__}.{what}"
        trained_on_sequences = getattr(self, "sequence_low_", None) is not None
        if is_batch and not trained_on_sequences:
            self._check_fitted()
            raise TypeError(f"The 'x' argument of {owner} is a SequenceBatch, but {type(self).__name__} was trained on "
                            f"images (N, C, H, W), not sequences; pass images, or train with fit_sequences.")
        if (is_batch or np.ndim(values) in (2, 3)) and trained_on_sequences:
            array = check_array(values, "x", owner)
            if array.ndim == 2:  # one sequence (T, d), as one image (C, H, W) is read as a batch of one
                array = array[None]
            length, channels = self.image_shape_[1] * self.image_shape_[2], self.image_shape_[0]
            if array.shape[1:] != (length, channels):
                raise ValueError(f"The 'x' argument of {owner} must be sequences of shape (N, {length}, {channels}), "
                                 f"as in training (or one sequence ({length}, {channels})). Got shape "
                                 f"{tuple(np.shape(values))}.")
            x = sequences_to_images(array, self.sequence_low_, self.sequence_high_)[0]
            # scaled by the training bounds: new sequences may leave [0, 1], as their values may leave the bounds
            return super()._images_tensor(x, what, unit_range=False)
        return super()._images_tensor(x, what)

    def decode_sequences(self, z: Any) -> np.ndarray:
        """Decoded sequences (N, T, d) in the units of the training sequences (needs sequence training data)."""
        if getattr(self, "sequence_low_", None) is None:
            raise ValueError(f"{type(self).__name__} was trained on images, not sequences; use decode(z).")
        return images_to_sequences(self.decode(z), self.sequence_low_, self.sequence_high_)

    def _extra_state(self) -> dict[str, Any]:
        state = super()._extra_state()
        low = getattr(self, "sequence_low_", None)
        state["sequence_low"] = None if low is None else [float(v) for v in low]
        state["sequence_high"] = None if low is None else [float(v) for v in self.sequence_high_]
        return state

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        super()._load_extra_state(state)
        low, high = state.get("sequence_low"), state.get("sequence_high")
        self.sequence_low_ = None if low is None else np.asarray(low, np.float64)
        self.sequence_high_ = None if high is None else np.asarray(high, np.float64)
