"""Latent traversals as potential flows (Song, Keller, Sebe & Welling, ICML 2023, "Latent
traversals in generative models as potential flows").

K scalar potentials ``u_k(z, t)`` (small MLPs over the code and a sinusoidal embedding of the step
``t``) move a code by gradient steps ``z <- z + grad_z u_k(z, t)``. Training (with the decoder
frozen) combines, per potential:

- the **wave-equation residual** ``u_tt - c_k^2 * Laplacian_z u`` (squared, averaged over the codes), with a
  learned speed ``c_k`` per potential, so each flow is a travelling wave in latent space, taken at one
  time per optimisation step (see "The wave term's times" below);
- the **initial condition** term ``|grad_z u(z, 0)|^2`` (as in the official code);
- the **output-change** term ``-|J_G(z) grad_z u|^2``: the decoder's Jacobian-vector product along
  the step, so each step changes the image;
- a **pair classifier** that must tell from ``(G(z_t), G(z_{t+1}))`` which potential made the step
  (cross-entropy): the flows must differ visibly from each other.

Two settings of the paper. The official GAN trainer (``lib/trainer.py``) is unsupervised: the terms
above only. The official VAE-on-dSprites trainer (``lib/trainer_vae_scratch_dsprites.py``) is weakly
supervised: every minibatch is a sequence ``x_0, x_t, x_{t+1}`` in which one known factor moves
(``dsprites.py``), that factor's index picks the potential, and a **tracking** term ties the flow
to the encoder's codes along the sequence, ``|z_t - latent_1|^2 + |(z_{t+1} - z_t) - (latent_2 -
latent_1)|^2`` (with the VAE trained jointly). ``fit(decoder, codes, sequences=...)`` adds that
term (weight ``lambda_track``) with the decoder frozen; :func:`factor_sequences` builds the
sequences exactly from a world (potential k follows factor k).

The Laplacian. The official code (KingJamesSong/PDETraversal, ``lib/WavePDE.py``, read to
understand, not copied) computes ``grad(u_z.sum(), z)``: the **row sums of the Hessian**, a
D-vector, not its trace; the residual is then taken per coordinate. That equals the Laplacian only
when the Hessian is diagonal with equal entries. Here ``laplacian="exact"`` (default) is the trace
(D second-derivative passes), ``"hutchinson"`` its unbiased estimate ``E[v^T H v]`` with Rademacher
``v``, and ``"official"`` the row sums, for reproduction. :func:`laplacian` exposes all three.

The wave term's times (a deviation). The official ``WavePDE.forward`` walks each trajectory through every
time ``0 .. half_range - 1``, backpropagating through the walk, and averages the residual over those times. Here
each optimisation step draws one time ``t0`` in ``[0, n_steps - 2]`` (shared by the K potentials and by the
output-change, classifier and tracking terms), walks the codes there without a graph, and takes the residual
at ``t0`` alone: a one-point Monte-Carlo estimate of the time average (collocation sampling, as in
physics-informed networks), ``n_steps`` times cheaper, whose gradient does not reach the earlier steps of the walk.
The last time ``n_steps - 1`` (the potential's time at a trajectory's final step) is never a collocation point
of the residual. Also, the official time is one scalar for the whole batch, so its ``u_tt`` is the second
derivative of the batch's sum; here every code has its own time and ``u_tt`` is its own.

Baselines (:func:`direction_baselines`, :func:`linear_trajectories`): per-unit axis traversals,
PCA directions of the codes and random directions, stepped with the flows' mean step length;
:func:`cut_at_length` cuts any trajectories at one arc length, so that two sets of flows that step
differently far are compared at a matched displacement.
:func:`factor_concentration` scores any trajectories against a world's factors:
``max_j |Δf_j| / Σ_j |Δf_j|`` per direction, ``|Δf_j|`` the mean absolute change of factor j from
the first to the last step (fraction of its range).

Shapes: N codes of D units, K potentials, T steps; trajectories are (K, T + 1, N, D).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._seeding import seeded_torch
from latentscm._validation import as_generator, check_array, check_choice, check_number
from latentscm.nn.autograd import with_autograd
from latentscm.nn.frozen import frozen

__all__ = ["PotentialFlows", "laplacian", "LAPLACIANS", "torch_decoder", "direction_baselines",
           "linear_trajectories", "mean_step_norm", "path_lengths", "cut_at_length", "factor_concentration",
           "pair_classifier_accuracy",
           "factor_sequences"]

LAPLACIANS = ("exact", "hutchinson", "official")


# ---------------------------------------------------------------------------------------- helpers
def torch_decoder(model: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """A differentiable ``codes (N, D) -> images (N, C, H, W)`` from a fitted latentscm learner
    (its decoder and likelihood mean) or from a torch callable, returned as is.

    ``TypeError`` if ``model`` has neither (a probe that differentiates through the decoder
    cannot work from numpy ``decode`` alone).
    """
    if not getattr(model, "can_decode", True):
        raise TypeError(f"PotentialFlows needs a differentiable decoder, and {type(model).__name__} has no decoder "
                        f"(an encoder-only learner).")
    if hasattr(model, "decoder_") and hasattr(model, "_likelihood"):
        decoder = model.decoder_
        decoder.eval()
        prepare = getattr(model, "_prepare_codes", lambda z: z)
        return lambda z: model._likelihood.mean(decoder(prepare(z)))
    if isinstance(model, nn.Module) or (callable(model) and not hasattr(model, "decode")):
        return model
    raise TypeError(f"PotentialFlows needs a differentiable decoder: a fitted latentscm learner (with decoder_) or a "
                    f"torch callable codes -> images. Got {type(model).__name__}.")


def _decoder_modules(model: Any) -> list[nn.Module]:
    """The torch modules behind a decoder: the module itself, or a learner's module attributes (its decoder_, a
    codebook, ...). A plain callable exposes none."""
    if isinstance(model, nn.Module):
        return [model]
    if hasattr(model, "decoder_"):
        return [value for value in vars(model).values() if isinstance(value, nn.Module)]
    return []


@contextlib.contextmanager
def frozen_decoder(model: Any) -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
    """:func:`torch_decoder` of ``model`` with every module behind it held by :func:`latentscm.nn.frozen.frozen`
    (eval mode, parameters not trainable) for the duration; each module's mode and each parameter's flag are
    restored afterwards. (A plain callable is used as it is.)"""
    with frozen(*_decoder_modules(model)):
        yield torch_decoder(model)


def _check_differentiable(decode: Callable[[torch.Tensor], torch.Tensor], codes: torch.Tensor, model: Any,
                          owner: str) -> None:
    """``TypeError`` unless the images ``decode`` gives depend differentiably on the codes (N, D)."""
    z = codes.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        images = decode(z)
        gradient = torch.autograd.grad(images.sum(), z, allow_unused=True)[0] if images.requires_grad else None
    if gradient is None or not torch.any(gradient != 0):
        raise TypeError(f"{owner} needs a decoder whose images are differentiable in the codes (the output-change "
                        f"term and the pair classifier train the potentials through it); {type(model).__name__}'s "
                        "images have no gradient with respect to its codes (a decoder that quantises its codes, "
                        "as QLAE snaps them to a codebook, has none). Set lambda_output=0 and lambda_cls=0 to train "
                        "on the wave and tracking terms alone.")


def _time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (N, dim) of step indices t (N, 1) (as in transformers / diffusion)."""
    half = max(dim // 2, 1)
    frequencies = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=t.dtype) / max(half - 1, 1))
    angles = t * frequencies[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Potential(nn.Module):
    """u(z, t): MLP over the code (N, D) and a time embedding, bounded scalar output (N,)."""

    def __init__(self, latent_dim: int, hidden_dim: int, time_dim: int = 16):
        super().__init__()
        self.time_dim = time_dim
        self.code = nn.Linear(latent_dim, hidden_dim)
        self.time = nn.Sequential(nn.Linear(time_dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, hidden_dim))
        self.out = nn.Sequential(nn.Tanh(), nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, 1),
                                 nn.Tanh())

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.out(self.code(z) + self.time(_time_embedding(t, self.time_dim)))[:, 0]


def laplacian(potential: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], z: torch.Tensor, t: torch.Tensor, *,
              method: str = "exact", n_probes: int = 1, generator: torch.Generator | int | None = None
              ) -> torch.Tensor:
    """The Laplacian of ``potential(z, t)`` (N,) with respect to z (N, D), differentiable.

    Parameters
    ----------
    method:
        ``"exact"``: the trace of the Hessian, (N,). ``"hutchinson"``: ``mean_v v^T H v`` over
        ``n_probes`` Rademacher vectors, (N,). ``"official"``: the Hessian's row sums
        ``sum_j d^2 u / dz_i dz_j``, (N, D) — what the official PDETraversal code computes.
    n_probes:
        Rademacher vectors of ``"hutchinson"`` (the other methods draw none: only 1 is accepted with them).
    generator:
        The probes' random source for ``"hutchinson"``: a ``torch.Generator`` or an int seed; ``None`` is
        seed 0 (never torch's global stream, so the estimate does not depend on what ran before).

    Autograd is on inside, even when the caller runs under ``torch.no_grad()`` or ``torch.inference_mode()`` (the
    derivatives need it; with it off every Laplacian read as 0).
    """
    check_choice(method, "method", "laplacian", LAPLACIANS)
    n_probes = int(check_number(n_probes, "n_probes", "laplacian", low=1, integer=True))
    if n_probes != 1 and method != "hutchinson":
        raise ValueError(f"The 'n_probes' parameter of laplacian counts Hutchinson's probes; method={method!r} "
                         f"draws none. Got n_probes={n_probes}.")
    if method == "hutchinson" and not isinstance(generator, torch.Generator):
        seed = 0 if generator is None else int(check_number(generator, "generator", "laplacian", low=0, integer=True))
        generator = torch.Generator().manual_seed(seed)
    # under the caller's no_grad or inference_mode every derivative below would be "unused": a Laplacian of 0
    with torch.inference_mode(False), torch.enable_grad():
        z, t = (x.clone() if x.is_inference() else x for x in (z, t))  # an inference tensor cannot join a graph
        return _laplacian(potential, z, t, method, n_probes, generator)


def _laplacian(potential: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], z: torch.Tensor, t: torch.Tensor,
               method: str, n_probes: int, generator: torch.Generator | None) -> torch.Tensor:
    """:func:`laplacian` on checked arguments, autograd on."""
    if not z.requires_grad:
        z = z.detach().requires_grad_(True)  # a new leaf: the caller's tensor keeps its flag

    def derivative(output: torch.Tensor) -> torch.Tensor:
        """d output.sum() / dz (N, D); zeros where output does not depend on z (a linear potential's gradient is
        constant: its Hessian, and so every Laplacian, is exactly 0)."""
        found = torch.autograd.grad(output.sum(), z, create_graph=True, allow_unused=True)[0] \
            if output.requires_grad else None
        return torch.zeros_like(z) if found is None else found

    gradient = derivative(potential(z, t))  # (N, D)
    if method == "official":
        return derivative(gradient)
    if method == "exact":
        diagonal = [derivative(gradient[:, i])[:, i] for i in range(z.shape[1])]
        return torch.stack(diagonal, dim=1).sum(dim=1)
    total = torch.zeros(z.shape[0], dtype=z.dtype)
    for _ in range(n_probes):
        v = torch.randint(0, 2, z.shape, generator=generator).to(z.dtype) * 2 - 1
        total = total + (derivative(gradient * v) * v).sum(dim=1)
    return total / n_probes


class PairClassifier(nn.Module):
    """Which of K flows moved ``G(z_t)`` to ``G(z_{t+1})``: both images stacked on channels."""

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int, hidden_dim: int = 64):
        super().__init__()
        from latentscm.nn import ConvEncoder

        c, h, w = image_shape
        channels = (16, 32) if min(h, w) <= 16 else (16, 32, 32)
        self.net = ConvEncoder((2 * c, h, w), n_classes, channels=channels, hidden_dim=hidden_dim)

    def forward(self, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([before, after], dim=1))


def _check_codes(codes: Any, owner: str) -> torch.Tensor:
    array = check_array(codes, "codes", owner, ndim=2, dtype=np.float32, min_rows=2)
    return torch.from_numpy(np.ascontiguousarray(array))


# ---------------------------------------------------------------------------------------- flows
class PotentialFlows:
    """K potential flows in a frozen decoder's latent space (Song et al., ICML 2023).

    Parameters
    ----------
    n_potentials:
        Number of flows K (>= 2: the pair classifier must tell them apart).
    n_steps:
        Steps T of each trajectory.
    laplacian:
        ``"exact"`` (trace of the Hessian), ``"hutchinson"`` or ``"official"`` (Hessian row sums,
        as the official code); see the module docstring.
    hidden_dim:
        Width of each potential's MLP.
    n_probes:
        Rademacher probes per Hutchinson estimate (``laplacian="hutchinson"`` only).
    lambda_pde, lambda_output, lambda_cls:
        Weights of the wave terms (residual + initial condition), the output-change term and the
        classifier. ``lambda_cls=0`` trains no classifier during fit (the ablation).
    lambda_track:
        Weight of the tracking term when ``fit`` is given ``sequences`` (the official VAE setting).
        On a 32-px sprites β-VAE (10 units, 3 flows, 500 steps) 1.0 let the output-change term win
        (factor concentration 0.44, flows not following their factors); 10.0 (default) gave 0.85.
    lr, steps, batch_size:
        Adam learning rate, optimisation steps, codes per potential per step.
    seed:
        Seeds initialisation, minibatches, start times and Hutchinson probes.

    Attributes
    ----------
    potentials_ : nn.ModuleList of K :class:`Potential`.
    wave_speed_ : (K,) learned speeds c_k.
    classifier_ : the pair classifier (``None`` when ``lambda_cls == 0``).
    history_ : list of per-step dicts (loss terms, classifier batch accuracy).
    """

    def __init__(self, n_potentials: int = 4, n_steps: int = 8, *, laplacian: str = "exact", hidden_dim: int = 64,
                 n_probes: int = 1, lambda_pde: float = 1.0, lambda_output: float = 1.0, lambda_cls: float = 1.0,
                 lambda_track: float = 10.0, lr: float = 1e-3, steps: int = 500, batch_size: int = 32, seed: int = 0):
        owner = "PotentialFlows"
        self.n_potentials = int(check_number(n_potentials, "n_potentials", owner, low=2, integer=True))
        self.n_steps = int(check_number(n_steps, "n_steps", owner, low=2, integer=True))
        self.laplacian = check_choice(laplacian, "laplacian", owner, LAPLACIANS)
        self.hidden_dim = int(check_number(hidden_dim, "hidden_dim", owner, low=1, integer=True))
        self.n_probes = int(check_number(n_probes, "n_probes", owner, low=1, integer=True))
        if self.n_probes != 1 and self.laplacian != "hutchinson":  # it would be silently ignored
            raise ValueError(f"The 'n_probes' parameter of {owner} counts Hutchinson's probes; laplacian="
                             f"{self.laplacian!r} draws none. Got n_probes={self.n_probes}.")
        self.lambda_pde = check_number(lambda_pde, "lambda_pde", owner, low=0.0)
        self.lambda_output = check_number(lambda_output, "lambda_output", owner, low=0.0)
        self.lambda_cls = check_number(lambda_cls, "lambda_cls", owner, low=0.0)
        self.lambda_track = check_number(lambda_track, "lambda_track", owner, low=0.0)
        self.lr = check_number(lr, "lr", owner, low=0.0, low_inclusive=False)
        self.steps = int(check_number(steps, "steps", owner, low=1, integer=True))
        self.batch_size = int(check_number(batch_size, "batch_size", owner, low=2, integer=True))
        self.seed = int(check_number(seed, "seed", owner, low=0, integer=True))

    # ---------------------------------------------------------------- pieces
    def _step(self, k: int, z: torch.Tensor, t: int, create_graph: bool) -> torch.Tensor:
        """grad_z u_k(z, t) (N, D)."""
        if not z.requires_grad:
            z = z.detach().requires_grad_(True)
        times = torch.full((z.shape[0], 1), float(t))
        u = self.potentials_[k](z, times)
        return torch.autograd.grad(u.sum(), z, create_graph=create_graph)[0]

    def _wave_residual(self, k: int, z: torch.Tensor, t: int) -> torch.Tensor:
        z = z.detach().requires_grad_(True)
        times = torch.full((z.shape[0], 1), float(t), requires_grad=True)
        potential = self.potentials_[k]
        u = potential(z, times)
        u_t = torch.autograd.grad(u.sum(), times, create_graph=True)[0][:, 0]
        u_tt = torch.autograd.grad(u_t.sum(), times, create_graph=True)[0][:, 0]
        lap = laplacian(potential, z, times, method=self.laplacian, n_probes=self.n_probes,
                        generator=self._generator)
        speed = self.wave_speed_[k] ** 2
        residual = u_tt[:, None] - speed * lap if lap.ndim == 2 else u_tt - speed * lap
        return residual.pow(2).mean()

    # ---------------------------------------------------------------- fit
    @with_autograd  # fit trains even when the caller runs it under torch.no_grad() or inference_mode()
    def fit(self, decoder: Any, codes: Any, *, sequences: Any = None) -> PotentialFlows:
        """Train the potentials (and the pair classifier) with ``decoder`` frozen.

        Parameters
        ----------
        decoder:
            A fitted learner or a torch callable codes (N, D) -> images (N, C, H, W).
        codes:
            (N, D) starting codes (e.g. the learner's codes of world images); minibatches are
            drawn from them.
        sequences:
            None (unsupervised, the official GAN setting), or (K, S, T + 1, D) codes of S
            sequences per potential in which potential k's factor moves one step at a time
            (:func:`factor_sequences`; T = ``n_steps``): potential k then starts from sequence
            starts and is trained to track them (the official VAE setting, see the module
            docstring), with weight ``lambda_track``.
        """
        owner = "PotentialFlows.fit"
        start = _check_codes(codes, owner)
        n, latent_dim = start.shape
        tracks = None
        if sequences is not None:
            tracks = torch.from_numpy(check_array(sequences, "sequences", owner, ndim=4, dtype=np.float32))
            expected = (self.n_potentials, self.n_steps + 1, latent_dim)
            if (tracks.shape[0], tracks.shape[2], tracks.shape[3]) != expected or tracks.shape[1] < 1:
                raise ValueError(f"The 'sequences' argument of {owner} must have shape (n_potentials, S, n_steps + 1, "
                                 f"D) = ({expected[0]}, S, {expected[1]}, {expected[2]}). Got {tuple(tracks.shape)}.")
        with frozen_decoder(decoder) as decode:
            if self.lambda_output > 0 or self.lambda_cls > 0:
                _check_differentiable(decode, start[:4], decoder, owner)
            return self._train(decode, start, tracks)

    def _train(self, decode: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor,
               tracks: torch.Tensor | None) -> PotentialFlows:
        """The optimisation of :meth:`fit`, with ``decode`` frozen: start (N, D) codes, tracks (K, S, T + 1, D)."""
        n, latent_dim = start.shape
        self.latent_dim_ = latent_dim
        with seeded_torch(self.seed):
            self.potentials_ = nn.ModuleList(Potential(latent_dim, self.hidden_dim) for _ in range(self.n_potentials))
            self.wave_speed_ = nn.Parameter(torch.ones(self.n_potentials))
            with torch.no_grad():
                image_shape = tuple(decode(start[:1]).shape[1:])
            self.image_shape_ = image_shape
            self.classifier_ = PairClassifier(image_shape, self.n_potentials) if self.lambda_cls > 0 else None
        parameters = list(self.potentials_.parameters()) + [self.wave_speed_]
        if self.classifier_ is not None:
            parameters += list(self.classifier_.parameters())
        optimiser = torch.optim.Adam(parameters, lr=self.lr)
        self._generator = torch.Generator().manual_seed(self.seed)
        self.history_: list[dict[str, float]] = []
        for _ in range(self.steps):
            index = torch.randint(0, n, (self.batch_size,), generator=self._generator)
            t0 = int(torch.randint(0, self.n_steps - 1, (1,), generator=self._generator))
            wave = output = classify = track = torch.zeros(())
            correct = 0.0
            for k in range(self.n_potentials):
                if tracks is not None:
                    rows = torch.randint(0, tracks.shape[1], (self.batch_size,), generator=self._generator)
                    sequence = tracks[k, rows]
                    base = sequence[:, 0]
                else:
                    base = start[index]
                z = base
                with torch.enable_grad():
                    for t in range(t0):  # walk to the sampled time without building a graph
                        z = (z + self._step(k, z, t, create_graph=False)).detach()
                initial = self._step(k, base, 0, create_graph=True).pow(2).mean()
                wave = wave + initial + self._wave_residual(k, z, t0)
                z1 = z + self._step(k, z, t0, create_graph=True)
                velocity = self._step(k, z1, t0 + 1, create_graph=True)
                z2 = z1 + velocity
                if tracks is not None:  # the flow's position and step against the sequence's codes
                    target1, target2 = sequence[:, t0 + 1], sequence[:, t0 + 2]
                    track = track + (z1 - target1).pow(2).mean() + (velocity - (target2 - target1)).pow(2).mean()
                if self.lambda_output > 0:
                    _, change = torch.autograd.functional.jvp(decode, z1, velocity, create_graph=True)
                    output = output + change.pow(2).mean()
                if self.classifier_ is not None:
                    logits = self.classifier_(decode(z1), decode(z2))
                    target = torch.full((z.shape[0],), k, dtype=torch.long)
                    classify = classify + nn.functional.cross_entropy(logits, target)
                    correct += float((logits.argmax(1) == target).float().mean())
            k_count = float(self.n_potentials)
            loss = (self.lambda_pde * wave - self.lambda_output * output + self.lambda_cls * classify
                    + self.lambda_track * track) / k_count
            optimiser.zero_grad()
            # gradients of the probe's own parameters only: nothing behind the decoder (a learner's
            # codebook, modules inside a plain callable) receives a .grad
            for p, g in zip(parameters, torch.autograd.grad(loss, parameters, allow_unused=True)):
                p.grad = g
            optimiser.step()
            self.history_.append({"loss": loss.item(), "wave": wave.item() / k_count,
                                  "output_change": output.item() / k_count,
                                  "classifier": classify.item() / k_count, "accuracy": correct / k_count,
                                  "track": track.item() / k_count})
        return self

    # ---------------------------------------------------------------- use
    def _check_fitted(self) -> None:
        if not hasattr(self, "potentials_"):
            raise RuntimeError("PotentialFlows is not fitted; call fit(decoder, codes) first.")

    @with_autograd  # each step is a gradient of a potential
    def trajectories(self, codes: Any, *, n_steps: int | None = None) -> np.ndarray:
        """Flow every code along every potential: (K, T + 1, N, D) float32 (step 0 = ``codes``)."""
        self._check_fitted()
        start = _check_codes(codes, "PotentialFlows.trajectories")
        if start.shape[1] != self.latent_dim_:
            raise ValueError(f"The 'codes' argument of PotentialFlows.trajectories must have {self.latent_dim_} "
                             f"columns. Got {start.shape[1]}.")
        steps = self.n_steps if n_steps is None else int(check_number(n_steps, "n_steps",
                                                                      "PotentialFlows.trajectories", low=1,
                                                                      integer=True))
        out = np.empty((self.n_potentials, steps + 1) + tuple(start.shape), dtype=np.float32)
        for k in range(self.n_potentials):
            z = start.clone()
            out[k, 0] = z.numpy()
            for t in range(steps):
                with torch.enable_grad():
                    z = (z + self._step(k, z, t, create_graph=False)).detach()
                out[k, t + 1] = z.numpy()
        return out

    def pair_accuracy(self, decoder: Any, codes: Any) -> float:
        """Accuracy of the jointly trained pair classifier on every step of every flow from
        ``codes`` (N, D) (use codes not seen in fit). Chance is 1 / K."""
        self._check_fitted()
        if self.classifier_ is None:
            raise RuntimeError("This PotentialFlows was fitted with lambda_cls=0 and has no classifier; use "
                               "pair_classifier_accuracy to train one on its trajectories.")
        paths = torch.from_numpy(self.trajectories(codes))
        hits, total = 0, 0
        with torch.no_grad(), frozen_decoder(decoder) as decode:
            for k in range(self.n_potentials):
                for t in range(self.n_steps):
                    logits = self.classifier_(decode(paths[k, t]), decode(paths[k, t + 1]))
                    hits += int((logits.argmax(1) == k).sum())
                    total += paths.shape[2]
        return hits / total


def factor_sequences(encode: Callable[[np.ndarray], np.ndarray], world: Any, factors: Any, n: int, n_steps: int, *,
                     seed: int | np.random.Generator = 0) -> np.ndarray:
    """Codes of exact single-factor sequences, the supervision of the official VAE setting.

    For each factor, ``n`` states are drawn from ``world``; the factor then takes ``n_steps + 1``
    consecutive values (grid values of a discrete factor from a random start that fits on the
    grid; for a continuous one, steps of a ``2 * n_steps``-th of its range from the lower half),
    each rendered as the world's exact counterfactual and encoded.

    Parameters
    ----------
    encode:
        Images (M, C, H, W) -> codes (M, D), e.g. ``learner.encode``.
    world:
        The world the learner was trained on.
    factors:
        K factor names; potential k of the flows will follow factor k.
    n, n_steps:
        Sequences per factor and steps per sequence (``n_steps`` of the flows).
    seed:
        Seeds the states and start values.

    Returns
    -------
    ndarray (K, n, n_steps + 1, D) float32.
    """
    owner = "factor_sequences"
    names = [factors] if isinstance(factors, str) else list(factors)
    if not names:
        raise ValueError(f"The 'factors' argument of {owner} must name at least one factor.")
    for name in names:
        if name not in world.factor_names:
            raise ValueError(f"The 'factors' argument of {owner} names {name!r}, which the world lacks; it has "
                             f"{list(world.factor_names)}.")
    n = int(check_number(n, "n", owner, low=1, integer=True))
    n_steps = int(check_number(n_steps, "n_steps", owner, low=1, integer=True))
    rng = as_generator(seed)
    out = []
    for name in names:
        spec = world.spec(name)
        batch = world.sample(n, seed=rng)
        if spec.values is not None:
            if spec.values.size < n_steps + 1:
                raise ValueError(f"{owner}: factor {name!r} has {spec.values.size} grid values, fewer than the "
                                 f"n_steps + 1 = {n_steps + 1} a sequence needs.")
            first = rng.integers(0, spec.values.size - n_steps, size=n)
            values = [spec.values[first + t] for t in range(n_steps + 1)]
        else:
            width = float(spec.high - spec.low)
            first = spec.low + rng.uniform(0.0, width / 2.0, size=n)
            values = [first + t * width / (2 * n_steps) for t in range(n_steps + 1)]
        codes = [np.asarray(encode(world.counterfactual(batch, {name: v}).images), dtype=np.float32) for v in values]
        out.append(np.stack(codes, axis=1))
    return np.stack(out)


# ---------------------------------------------------------------------------------------- baselines
def direction_baselines(codes: Any, kind: str, n_directions: int, *, seed: int = 0) -> np.ndarray:
    """Unit directions (n_directions, D) in code space.

    ``"axis"``: the unit vectors of the ``n_directions`` units of largest code variance;
    ``"pca"``: the leading principal directions of the codes; ``"random"``: isotropic random
    directions (seeded).
    """
    owner = "direction_baselines"
    array = check_array(codes, "codes", owner, ndim=2, min_rows=2)
    check_choice(kind, "kind", owner, ("axis", "pca", "random"))
    dim = array.shape[1]
    n_directions = int(check_number(n_directions, "n_directions", owner, low=1, high=dim, integer=True))
    if kind == "axis":
        order = np.argsort(-array.var(axis=0), kind="stable")[:n_directions]
        return np.eye(dim)[order]
    if kind == "pca":
        if n_directions > len(array) - 1:
            raise ValueError(f"The 'n_directions' parameter of {owner} must be at most N - 1 = {len(array) - 1} for "
                             f"kind='pca' ({len(array)} codes have no more principal directions). Got {n_directions}.")
        _, _, vt = np.linalg.svd(array - array.mean(0), full_matrices=False)
        return vt[:n_directions]
    directions = as_generator(seed).standard_normal((n_directions, dim))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def linear_trajectories(codes: Any, directions: Any, n_steps: int, step_norm: float) -> np.ndarray:
    """Straight traversals ``z + s * t * direction``: (K, T + 1, N, D) float32."""
    owner = "linear_trajectories"
    start = check_array(codes, "codes", owner, ndim=2)
    directions = check_array(directions, "directions", owner, ndim=2)
    if directions.shape[1] != start.shape[1]:
        raise ValueError(f"The 'directions' argument of {owner} must have {start.shape[1]} columns. "
                         f"Got {directions.shape[1]}.")
    n_steps = int(check_number(n_steps, "n_steps", owner, low=1, integer=True))
    step_norm = check_number(step_norm, "step_norm", owner, low=0.0)
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    if np.any(norms == 0):
        zero = np.flatnonzero(norms[:, 0] == 0).tolist()
        raise ValueError(f"The 'directions' argument of {owner} has zero rows {zero}; a traversal needs a direction.")
    unit = directions / norms
    times = np.arange(n_steps + 1)[None, :, None, None] * step_norm
    return (start[None, None] + times * unit[:, None, None, :]).astype(np.float32)


def _step_lengths(paths: np.ndarray) -> np.ndarray:
    """Euclidean length of every step: (K, T, N) from trajectories (K, T + 1, N, D)."""
    return np.linalg.norm(np.diff(paths, axis=1), axis=-1)


def mean_step_norm(trajectories: np.ndarray) -> float:
    """Mean Euclidean length of one step over trajectories (K, T + 1, N, D)."""
    return float(_step_lengths(trajectories).mean())


def path_lengths(trajectories: Any) -> np.ndarray:
    """Arc length of every path: (K, N) from trajectories (K, T + 1, N, D)."""
    return _step_lengths(check_array(trajectories, "trajectories", "path_lengths", ndim=4)).sum(axis=1)


def cut_at_length(trajectories: Any, length: float, *, n_points: int | None = None) -> np.ndarray:
    """Cut every path at arc length ``length``, for comparing flows at one displacement.

    Flows that step further change more factors by more, and a read-out's error weighs less on a
    larger change, so scores such as :func:`factor_concentration` of two sets of trajectories are
    comparable only at a matched length. Each path is resampled at ``n_points`` (default T + 1)
    arc lengths spaced evenly over ``[0, min(length, its own length)]``, by linear interpolation
    between its steps: a path shorter than ``length`` is kept whole (count them with
    :func:`path_lengths`).

    trajectories: (K, T + 1, N, D); returns (K, n_points, N, D) float32.
    """
    owner = "cut_at_length"
    paths = check_array(trajectories, "trajectories", owner, ndim=4)
    length = check_number(length, "length", owner, low=0.0)
    n_points = paths.shape[1] if n_points is None else int(check_number(n_points, "n_points", owner, low=2,
                                                                          integer=True))
    if paths.shape[1] < 2:
        raise ValueError(f"The 'trajectories' argument of {owner} needs at least 2 steps per path (axis 1). "
                         f"Got {paths.shape[1]}.")
    segment = _step_lengths(paths)  # (K, T, N)
    cumulative = np.concatenate([np.zeros_like(segment[:, :1]), np.cumsum(segment, axis=1)], axis=1)  # (K, T+1, N)
    end = np.minimum(cumulative[:, -1], length)  # (K, N)
    targets = np.linspace(0.0, 1.0, n_points)[None, :, None] * end[:, None, :]  # (K, P, N)
    # segment holding each target: the number of step ends strictly before it, kept inside [0, T - 1]
    index = (cumulative[:, None, 1:, :] < targets[:, :, None, :]).sum(axis=2)
    index = np.minimum(index, segment.shape[1] - 1)  # (K, P, N)
    start_length = np.take_along_axis(cumulative, index, axis=1)
    size = np.take_along_axis(segment, index, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(size > 0, (targets - start_length) / size, 0.0)
    fraction = np.clip(fraction, 0.0, 1.0)[..., None]
    gather = index[..., None].repeat(paths.shape[-1], axis=-1)
    low = np.take_along_axis(paths, gather, axis=1)
    high = np.take_along_axis(paths, gather + 1, axis=1)
    return (low + fraction * (high - low)).astype(np.float32)


def factor_concentration(trajectories: Any, decode: Callable[[np.ndarray], np.ndarray], readout: Any,
                         world: Any) -> dict[str, Any]:
    """How much each trajectory moves a single factor.

    Parameters
    ----------
    trajectories:
        (K, T + 1, N, D) codes.
    decode:
        Codes (M, D) -> images (M, C, H, W), e.g. ``learner.decode``.
    readout:
        A fitted read-out (``predict``, ``factor_names_``), e.g. from
        :func:`latentscm.probes.readouts.oracle_readout`.
    world:
        Gives the factors' ranges.

    Returns
    -------
    dict with ``"change"`` (K, F): mean |Δf_j| first -> last step as a fraction of factor j's
    range; ``"concentration"`` (K,): ``max_j change / sum_j change``; ``"mean"``: its mean over
    directions; ``"dominant"``: the factor each direction moves most.
    """
    paths = check_array(trajectories, "trajectories", "factor_concentration", ndim=4)
    names = list(readout.factor_names_)
    ranges = np.array([world.spec(name).high - world.spec(name).low for name in names])
    change = np.empty((paths.shape[0], len(names)))
    for k in range(paths.shape[0]):
        first = readout.predict(decode(paths[k, 0].astype(np.float32)))
        last = readout.predict(decode(paths[k, -1].astype(np.float32)))
        change[k] = np.nanmean(np.abs(last - first), axis=0) / ranges
    with np.errstate(invalid="ignore", divide="ignore"):
        concentration = change.max(axis=1) / change.sum(axis=1)
    return {"change": change, "concentration": concentration, "mean": float(np.nanmean(concentration)),
            "dominant": [names[j] for j in change.argmax(axis=1)], "factors": names}


@with_autograd  # the classifier trains even when the caller runs under torch.no_grad() or inference_mode()
def pair_classifier_accuracy(trajectories: Any, decoder: Any, *, steps: int = 300, batch_size: int = 64,
                             lr: float = 1e-3, test_fraction: float = 0.5, seed: int = 0) -> float:
    """Train a fresh pair classifier on steps of given trajectories and report its held-out
    accuracy (codes split into train / test by trajectory start). Scores flows trained without the
    classifier term and the linear baselines on the same footing. Chance is 1 / K.

    trajectories: (K, T + 1, N, D); decoder: a fitted learner or torch callable.
    """
    owner = "pair_classifier_accuracy"
    paths = torch.from_numpy(check_array(trajectories, "trajectories", owner, ndim=4, dtype=np.float32))
    steps = int(check_number(steps, "steps", owner, low=1, integer=True))
    batch_size = int(check_number(batch_size, "batch_size", owner, low=1, integer=True))
    lr = check_number(lr, "lr", owner, low=0.0, low_inclusive=False)
    test_fraction = check_number(test_fraction, "test_fraction", owner, low=0.0, high=1.0, low_inclusive=False,
                                 high_inclusive=False)
    n_dir, n_time, n = paths.shape[0], paths.shape[1] - 1, paths.shape[2]
    n_test = max(1, int(round(n * test_fraction)))
    if n - n_test < 1:
        raise ValueError(f"{owner} needs at least 2 trajectories per direction. Got {n}.")
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator)
    train_ids, test_ids = order[n_test:], order[:n_test]
    with torch.no_grad(), frozen_decoder(decoder) as decode:
        images = torch.stack([decode(paths[:, t].reshape(-1, paths.shape[-1])) for t in range(n_time + 1)])
    images = images.reshape((n_time + 1, n_dir, n) + tuple(images.shape[2:]))
    with seeded_torch(seed):
        classifier = PairClassifier(tuple(images.shape[3:]), n_dir)
    optimiser = torch.optim.Adam(classifier.parameters(), lr=lr)
    for _ in range(steps):
        k = torch.randint(0, n_dir, (batch_size,), generator=generator)
        t = torch.randint(0, n_time, (batch_size,), generator=generator)
        i = train_ids[torch.randint(0, train_ids.numel(), (batch_size,), generator=generator)]
        loss = nn.functional.cross_entropy(classifier(images[t, k, i], images[t + 1, k, i]), k)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    hits = total = 0
    with torch.no_grad():
        for k in range(n_dir):
            for t in range(n_time):
                logits = classifier(images[t, k, test_ids], images[t + 1, k, test_ids])
                hits += int((logits.argmax(1) == k).sum())
                total += test_ids.numel()
    return hits / total
