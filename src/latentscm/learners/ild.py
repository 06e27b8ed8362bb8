"""ILD: invertible latent domain causal models, trained by exact maximum likelihood.

Reimplemented from the method of Zhou, Bai, Kulinski, Kocaoglu & Inouye (ICLR 2024), "Towards
characterizing domain counterfactuals for invertible latent causal models" (official code:
inouye-lab/ild-domain-counterfactuals, read for its training setup only; the model here is this
library's reading of the paper). Observations come from ``x = g(z)`` with one invertible ``g`` and per-domain latent
SCMs ``z = f_d(eps)``, ``eps ~ N(0, I)``. Domain counterfactuals ``x -> g(f_{d'}(f_d^{-1}(g^{-1}(x))))``
are identifiable up to an equivalence under which any model can be rewritten in a *canonical*
form whose domain-specific mechanisms sit on the last ``|I|`` latents of a topological order
(``I``: the intervention set). Restricting the learned model to ``k`` domain-specific latents
(intervention sparsity) is what makes the learned counterfactuals match the true ones.

Model (exact likelihood): ``z = F(logit(x))`` with ``F`` an invertible network (``decoder="mlp"``:
square layers with a smooth, or leaky-ReLU, invertible activation between them, log-determinant by
``slogdet``; ``"flow"``: RealNVP affine couplings,
Dinh et al. 2017), and per-domain linear latent SCMs in triangular form,
``z_i = sum_{j<i} A_d[i, j] z_j + b_d[i] + s_d[i] eps_i``, so
``log p(x | d) = sum_i log N(eps_i) - sum_i log s_d[i] + log|det dF/du| + log|det du/dx|``.
``structure`` says which rows of ``(A, b, s)`` depend on the domain:

- ``"dense"``: all ``m`` rows (no sparsity);
- ``"can"``: the last ``k`` rows; the first ``m - k`` latents are the noise itself
  (``z_i = eps_i``, the canonical form, where a shared mechanism is absorbed into ``g``);
- ``"relax_can"``: the last ``k`` rows; the first ``m - k`` have learned mechanisms shared by all
  domains (the same equivalence class, with an easier optimisation).

The observations' ``logit`` (RealNVP's preprocessing of [0, 1] data) has no parameters and so
only shifts the log-likelihood by a constant; it is left out of the reported value.

Training follows the official simulated experiments (``simulated/main.py``, ``solver.py``) where
that is affordable on a CPU: Adam with betas (0.5, 0.999), minibatches of 500, no gradient
clipping, the invertible network initialised at the identity. Deviations: the official runs
50,000 steps at lr 1e-3 on 100,000 samples per domain and reports the checkpoint (every 100 steps)
with the lowest validation likelihood; the default here is 30,000 steps at lr 3e-3 and the last
iterate. With the smooth activation the fit keeps improving long after the leaky one has stalled:
on ``ild-linear`` (2,000 samples per domain) 8,000 steps at lr 1e-3 leave a dense fit ~2 nats per
sample above the world's exact density (:meth:`ILDLinear.log_density`); 30,000 at 3e-3 bring fits
to 0.1-0.5 nats above it, still falling slowly. The
official latent SCM parametrises the noise scales directly (sign free); here they are ``exp(log s)``,
with ``A``, ``b`` and ``log s`` initialised N(0, scm_init^2) (default 1, as the official N(0, 1)).

Intervention sparsity as an upper bound (this library's addition, ``shift_penalty``): the set of
exact fits grows with ``k`` (on ``ild-linear`` with shifted latents (4, 5) a perfect fit with
k = 2, 3, 4 is a median 0.006, 0.08, 0.24 of the identity floor from the true counterfactuals;
:meth:`~latentscm.worlds.ILDLinear.random_remix`), so the paper's model needs ``k`` equal to the
true number of shifted mechanisms. A nested group lasso on how far each domain-specific row moves
across domains (Jenatton, Audibert & Bach 2011) stills the rows the data do not need to move, from
the first on; they become shared and an unpenalised refit undoes the penalty's shrinkage of the
others (the relaxed lasso of Meinshausen 2007). See ``shift_penalty`` and
``benchmarks/bench_domains.py`` for what it measures.

The library's training loop (:func:`latentscm.training.train`) feeds image minibatches with factor
labels but not a domain index, so ILD runs its own small seeded Adam loop over (x, domain) pairs;
it is not a :class:`~latentscm.learners.base.Learner` (no encoder posterior, no pixel likelihood).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number

__all__ = ["ILD", "STRUCTURES", "DECODERS", "INITS", "ACTIVATIONS", "invariant_directions"]

STRUCTURES = ("relax_can", "can", "dense")
DECODERS = ("mlp", "flow")
INITS = ("identity", "random", "invariant")
ACTIVATIONS = ("smooth", "leaky")
SELECTIONS = ("last", "best_validation")
SHIFT_SELECTIONS = ("tolerance", "bic")
_CHECK_EVERY = 100  # steps between held-out likelihood checks (the official step_check)
_EPS = 1e-6
_LEAK = 0.2  # the default slope of the invertible MLP's leaky ReLUs
_SHARPNESS = 3.0  # initial beta of activation="smooth"


def _moment_discrepancy(q: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor,
                        weights: torch.Tensor) -> torch.Tensor:
    """Weighted sum over domains of ``|q^T mu_d|^2 + |q^T (C_d - I) q|_F^2`` for whitened per-domain
    means (D, m) and covariances (D, m, m): how much the first two moments of ``q^T v`` vary."""
    projected_means = means @ q
    projected_covariances = q.T @ (covariances - torch.eye(q.shape[0], dtype=q.dtype)) @ q
    return (weights * ((projected_means ** 2).sum(1) + (projected_covariances ** 2).sum((1, 2)))).sum()


def invariant_directions(u: np.ndarray | torch.Tensor, domain: np.ndarray | torch.Tensor, k: int, *,
                         steps: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """A linear map ``v = W (u - mean)`` whose first ``m - k`` outputs have first two moments as
    nearly the same in every domain as a linear map allows, and whose last ``k`` take the rest.

    In ILD's canonical form the first ``m - k`` latents have shared mechanisms and no
    domain-specific ancestors, so their distribution is the same in every domain; this finds the
    linear subspace of the data that comes closest to that (whitened coordinates; the discrepancy
    of :func:`_moment_discrepancy`, minimised over orthonormal bases from the eigenvectors of the
    summed discrepancy matrix, then refined by ``steps`` Adam steps on a QR-parametrised basis).
    ``u`` (N, m) finite, not constant along any direction, ``domain`` (N,) ints, at least 2 samples per
    domain (ValueError otherwise). Returns ``(W (m, m), mean (m,))``; ``W``'s rows are ordered
    invariant first, domain-specific last, and ``W C W^T = I`` for the pooled covariance ``C``.
    Used by ``ILD(init="invariant")``: a data-driven start, not a constraint; likelihood decides.
    Deterministic (no random draws).
    """
    u = torch.as_tensor(np.asarray(u), dtype=torch.float64)
    d = torch.as_tensor(np.asarray(domain), dtype=torch.int64)
    if u.ndim != 2 or d.shape != (u.shape[0],):
        raise ValueError(f"invariant_directions: 'u' must be (N, m) and 'domain' (N,). Got shapes {tuple(u.shape)} "
                         f"and {tuple(d.shape)}.")
    m = u.shape[1]
    k = check_number(k, "k", "invariant_directions", low=1, high=m, integer=True)
    steps = check_number(steps, "steps", "invariant_directions", low=0, integer=True)
    if not bool(torch.isfinite(u).all()):
        raise ValueError("invariant_directions: 'u' must be finite (it holds NaN or inf).")
    labels, counts = torch.unique(d, return_counts=True)
    if u.shape[0] < 2 or bool((counts < 2).any()):  # a covariance needs two samples (else NaN)
        few = {int(e): int(c) for e, c in zip(labels, counts) if c < 2}
        raise ValueError(f"invariant_directions needs at least 2 samples in every domain (their covariances); got "
                         f"{u.shape[0]} sample(s){f', domain(s) with one: {few}' if few else ''}.")
    mean = u.mean(0)
    evals, evecs = torch.linalg.eigh(torch.cov((u - mean).T).reshape(m, m))
    if float(evals[0]) <= 1e-10 * max(float(evals[-1]), 0.0):  # a constant direction: no whitening makes W C W^T = I
        raise ValueError(f"invariant_directions: 'u' is (nearly) constant along some direction (pooled covariance "
                         f"eigenvalues {evals.tolist()[:3]} ... {float(evals[-1]):.3g}), e.g. a constant column; "
                         f"whitening would scale it by ~1e6.")
    whiten = evecs @ torch.diag(evals.clamp_min(1e-12).rsqrt()) @ evecs.T
    if m - k < 1:  # every direction is domain-specific: only the whitening is left to choose
        return whiten.numpy(), mean.numpy()
    v = (u - mean) @ whiten.T
    weights = torch.stack([(d == e).double().mean() for e in labels])
    means = torch.stack([v[d == e].mean(0) for e in labels])
    covariances = torch.stack([torch.cov(v[d == e].T).reshape(m, m) for e in labels])
    # start: eigenvectors of the summed discrepancy matrix, smallest first (the invariant directions)
    eye = torch.eye(m, dtype=u.dtype)
    scatter = sum(w * (torch.outer(mu, mu) + (c - eye) @ (c - eye)) for w, mu, c in zip(weights, means, covariances))
    basis = torch.linalg.eigh(scatter)[1]
    with torch.enable_grad():  # also when called under no_grad (ILD's warm start)
        best = _refine_basis(basis, means, covariances, weights, m - k, steps)
    return (best.T @ whiten).numpy(), mean.numpy()


def _refine_basis(basis: torch.Tensor, means: torch.Tensor, covariances: torch.Tensor, weights: torch.Tensor,
                  n_invariant: int, steps: int) -> torch.Tensor:
    """Adam from ``basis`` on a QR-parametrised orthonormal basis; returns the basis (m, m) with the
    lowest discrepancy of its first ``n_invariant`` columns seen (``basis`` itself included)."""
    free = nn.Parameter(basis.clone())
    optimizer = torch.optim.Adam([free], lr=1e-2)
    best = (float(_moment_discrepancy(basis[:, :n_invariant], means, covariances, weights)), basis)
    for _ in range(steps):
        q, r = torch.linalg.qr(free)
        q = q * torch.sign(torch.diagonal(r))  # a continuous choice of signs
        loss = _moment_discrepancy(q[:, :n_invariant], means, covariances, weights)
        if float(loss.detach()) < best[0]:
            best = (float(loss.detach()), q.detach().clone())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return best[1]


class _InvertibleMLP(nn.Module):
    """``u -> z``: square linear layers with an invertible elementwise activation between them.

    ``activation="leaky"``: the leaky ReLU ``t -> t if t > 0 else leak * t``. Its log-derivative is
    piecewise constant, so autograd's gradient misses the jump of ``log |det|`` where a sample
    crosses a kink: on the ``ild-linear`` world the true parameters are not a stationary point of
    the minibatch gradient and Adam leaves them (+2 nats/sample), and from the identity it stalls
    ~2.6 nats above the truth (issue 14 bench notes).
    ``activation="smooth"``: ``t -> t - (1/leak - 1) softplus(-beta t) / beta``, slope 1 for
    ``t >> 0`` and ``1/leak`` for ``t << 0`` with a learned sharpness ``beta > 0`` per unit
    (initially ``_SHARPNESS``): a smooth inverse of the generative leaky ReLU of the official model
    (``x = G leaky(z) + b``, whose inverse applies slope ``1/leak`` on the negative side). Smooth,
    so the gradient is exact; concave and increasing with slope in ``[1, 1/leak]``, so its inverse
    is found by Newton's method from any start (the iterates approach the root monotonically from
    the left after the first step).
    """

    def __init__(self, dim: int, depth: int, generator: torch.Generator, init: str = "identity",
                 leak: float = _LEAK, activation: str = "leaky"):
        super().__init__()
        self.leak = float(leak)
        self.activation = activation
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for _ in range(depth):
            if init in ("identity", "invariant"):  # "invariant": ILD.fit then sets the first layer
                weight = torch.eye(dim, dtype=torch.float64)
            else:
                weight, _ = torch.linalg.qr(torch.randn(dim, dim, generator=generator, dtype=torch.float64))
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(torch.zeros(dim, dtype=torch.float64)))
        if activation == "smooth" and depth > 1:  # log beta per hidden unit
            self.log_sharpness = nn.Parameter(torch.full((depth - 1, dim), math.log(_SHARPNESS), dtype=torch.float64))

    def _activate(self, h: torch.Tensor, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The activation after ``layer`` and its log-derivative (N, dim) each."""
        if self.activation == "leaky":
            negative = h < 0
            return torch.where(negative, self.leak * h, h), negative.to(h.dtype) * math.log(self.leak)
        beta = torch.exp(self.log_sharpness[layer])
        excess = 1.0 / self.leak - 1.0
        value = h - excess * torch.nn.functional.softplus(-beta * h) / beta
        return value, torch.log1p(excess * torch.sigmoid(-beta * h))

    def _deactivate(self, y: torch.Tensor, layer: int) -> torch.Tensor:
        """The inverse of :meth:`_activate` (exact for "leaky", Newton's method for "smooth")."""
        if self.activation == "leaky":
            return torch.where(y < 0, y / self.leak, y)
        beta = torch.exp(self.log_sharpness[layer])
        excess = 1.0 / self.leak - 1.0
        t = torch.minimum(y, y / self.leak)  # left of the root: the slope is in [1, 1/leak]
        if not y.numel():
            return t
        tolerance = 1e-12 * (1.0 + float(y.detach().abs().max()))
        for _ in range(100):
            residual = self._activate(t, layer)[0] - y
            if float(residual.detach().abs().max()) < tolerance:
                break
            t = t - residual / (1.0 + excess * torch.sigmoid(-beta * t))
        return t

    def forward(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = torch.zeros(u.shape[0], dtype=u.dtype, device=u.device)
        h = u
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            h = h @ weight.T + bias
            logdet = logdet + torch.linalg.slogdet(weight)[1]
            if i < last:
                h, log_derivative = self._activate(h, i)
                logdet = logdet + log_derivative.sum(dim=1)
        return h, logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        last = len(self.weights) - 1
        for i in range(last, -1, -1):
            if i < last:
                h = self._deactivate(h, i)
            h = torch.linalg.solve(self.weights[i], (h - self.biases[i]).T).T
        return h


class _Coupling(nn.Module):
    """RealNVP affine coupling: the masked half conditions a scale and shift of the other half."""

    def __init__(self, dim: int, mask: torch.Tensor, hidden: int, generator: torch.Generator):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, 2 * dim)).double()
        with torch.no_grad():  # PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from the fit's generator
            for layer in (self.net[0], self.net[2]):
                bound = 1.0 / math.sqrt(layer.in_features)
                for tensor in (layer.weight, layer.bias):
                    tensor.copy_((2 * torch.rand(tensor.shape, generator=generator, dtype=torch.float64) - 1) * bound)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _params(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_scale, shift = self.net(kept).chunk(2, dim=1)
        log_scale = 2.0 * torch.tanh(log_scale / 2.0) * (1 - self.mask)
        return log_scale, shift * (1 - self.mask)

    def forward(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_scale, shift = self._params(u * self.mask)
        return u * torch.exp(log_scale) + shift, log_scale.sum(dim=1)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        log_scale, shift = self._params(z * self.mask)
        return (z - shift) * torch.exp(-log_scale)


class _Flow(nn.Module):
    def __init__(self, dim: int, depth: int, hidden: int, generator: torch.Generator, init: str = "identity"):
        super().__init__()
        layers = []
        for i in range(2 * depth):
            mask = torch.zeros(dim, dtype=torch.float64)
            mask[i % 2::2] = 1.0
            layers.append(_Coupling(dim, mask, hidden, generator))
        self.layers = nn.ModuleList(layers)
        self.mix = _InvertibleMLP(dim, 1, generator, init)  # a learned linear map so couplings see every axis

    def forward(self, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, logdet = self.mix(u)
        for layer in self.layers:
            h, part = layer(h)
            logdet = logdet + part
        return h, logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for layer in reversed(self.layers):
            h = layer.inverse(h)
        return self.mix.inverse(h)



def _restart_generator(seed: int, restart: int) -> torch.Generator:
    """The generator of restart ``restart`` >= 1 of a fit seeded ``seed``, from ``SeedSequence([seed, restart])``:
    independent of every other (seed, restart), including restart 0 of other seeds, which use ``seed`` itself
    (``seed * 7919 + restart`` gave restart 1 of seed 0 the start of seed 1)."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, restart]).generate_state(1)[0]))

class ILD:
    """ILD with per-domain linear latent SCMs (see the module docstring).

    Parameters
    ----------
    latent_dim : int
        Number of latents m; must equal the observation size (the model is invertible).
    k : int
        Number of domain-specific latents (the intervention sparsity, 1 <= k <= m); ignored by
        ``structure="dense"``.
    structure : {"relax_can", "can", "dense"}
        Which latent mechanisms depend on the domain.
    decoder : {"mlp", "flow"}
        The invertible network between observations and latents.
    depth : int
        Layers of the invertible MLP, or coupling pairs of the flow.
    hidden_dim : int
        Width of the coupling networks (``decoder="flow"``).
    leak : float, default 0.2
        Negative-side slope of the invertible MLP's leaky ReLUs (``decoder="mlp"``; 0 < leak < 1).
        The official code's model uses 0.5, as does the ``ild-linear`` world's ``variant="official"``
        mixing.
    activation : {"smooth", "leaky"}, default "smooth"
        The invertible MLP's activation (``decoder="mlp"``). ``"leaky"``: a leaky ReLU of slope
        ``leak`` applied on the way from observations to latents (this class's default until
        2026-12-02; its kinks bias the gradient, see :class:`_InvertibleMLP`). ``"smooth"``: a
        smooth inverse of the generative leaky ReLU of the official model (slopes 1 and
        ``1/leak``, learned sharpness per unit); the ``ild-linear`` world's mixing (depth d) is then
        the limit of a depth-d model as the sharpness grows. Measured on ``ild-linear`` (seed 2,
        3 domains, dense, depth 2): held-out NLL 2.6 nats above the world's exact density with
        ``"leaky"`` at 8,000 or 40,000 steps, 0.16 with ``"smooth"`` at 30,000.
    lr, steps, batch_size : float, int, int
        Adam learning rate, optimisation steps, minibatch size. The official code uses lr 1e-3,
        batch 500 and 50,000 steps; the default here keeps its batch size with lr 3e-3 and 30,000
        steps (about 100 s for 6 latents on one CPU thread; see ``history_`` for whether a run has
        converged, and the module docstring for the measurements behind these values).
    betas : (float, float)
        Adam's ``(beta1, beta2)``; default ``(0.5, 0.999)`` as in the official code (torch's
        default is ``(0.9, 0.999)``).
    init : {"identity", "random", "invariant"}
        Initial square layers of the invertible network: the identity (the official code's
        ``g_init='id'``), random orthogonal matrices, or (``"invariant"``, this library's addition)
        the identity except the first layer, which starts at :func:`invariant_directions` of the
        training samples: whitened, with the ``m - k`` directions whose mean and covariance vary
        least across domains first, where the canonical form wants its shared latents.
    clip_norm : float or None
        Clip the gradient norm to this value each step; None (the official code) does not clip.
    select : {"last", "best_validation"}
        Keep the last iterate, or (as the official code's evaluation does) hold out
        ``validation_fraction`` of the samples and keep the parameters with the lowest held-out
        negative log-likelihood, checked every 100 steps. Default "last" (the bench tables of
        issue 14 were run with it).
    validation_fraction : float
        Share of the samples held out when ``select="best_validation"`` or ``restarts > 1``
        (0 < f < 1).
    restarts : int, default 1
        Independent initialisations (each with its own minibatch order, all on the same held-out
        split); the one whose final parameters have the lowest held-out negative log-likelihood is
        kept. Likelihood is the model's own criterion, so this never looks at the counterfactuals.
        Restart 0 draws from the seed's own generator, so it trains exactly as a single
        ``select="best_validation"`` fit of the same seed (same split, same minibatches). The
        restarts train together as one batched model (a leading restart axis on every parameter,
        ``torch.func.vmap``), each on its own trajectory, so R restarts cost far less than R fits
        (``benchmarks/bench_ild_restarts.py``).
    shift_penalty : float, default 0.0
        Weight of a penalty on how far the domain-specific mechanisms move across domains (this
        library's addition), added to the mean negative log-likelihood per sample. With
        ``theta_d[i] = (A_d[i, :i], b_d[i], log s_d[i])`` the parameters of row i in domain d and
        ``r_i = sum_d |theta_d[i] - mean_d theta_d[i]|^2`` its squared spread, the penalty is
        ``shift_penalty * sum_j sqrt(sum_{specific i <= j} r_i)`` over the specific rows j: a
        group lasso with nested groups (Jenatton, Audibert & Bach 2011), so the rows stop moving
        from the first specific one on and the moving rows stay last, the canonical form (a plain
        group lasso per row, tried first, also froze a *last* row on ``ild-linear``, which is not
        the sparse canonical class). It turns ``k`` from the exact number of domain-specific
        latents into an upper bound: a row the data do not need to move is pulled to one mechanism
        for all domains and, after training, made exactly shared when its spread ``sqrt(r_i)`` is
        below ``shift_tolerance`` (``shifted_`` says which rows still move). ILD's exact-fit set
        grows with ``k`` (:meth:`~latentscm.worlds.ILDLinear.random_remix`), so an unpenalised
        ``k`` above the true number of shifted mechanisms admits worse counterfactuals; the
        penalty prefers the sparsest of the equally good fits. 0 is the paper's model.
    shift_tolerance : float, default 0.1
        Spread below which a domain-specific row counts as still after the penalised training
        (``shift_penalty > 0`` and ``shift_selection="tolerance"`` only): it becomes a shared
        row (its mechanism the mean over domains; with ``structure="can"`` a shared row is the
        noise itself) and the model trains ``shift_refit_steps`` more without the penalty, so the
        rows that do move lose the penalty's shrinkage (a relaxed group lasso).
    shift_refit_steps : int or None
        Steps of that unpenalised refit; None: ``steps // 3``.
    shift_selection : {"tolerance", "bic"}
        How the penalised fit decides which rows keep moving (``shift_penalty > 0`` only).
        ``"tolerance"``: the rows whose spread is at least ``shift_tolerance``. ``"bic"``: rank the
        domain-specific rows by spread; for each j = 1 .. k keep the j largest moving, share the
        others and refit (``shift_refit_steps``, unpenalised), then keep the j with the lowest
        Bayesian information criterion (Schwarz 1978) per training sample,
        ``NLL + p_j log(N) / (2 N)``, where ``p_j = (D - 1) * sum_{moving i} (i + 2)`` counts the
        parameters the moving rows add over shared ones (row i: ``i`` weights, a bias, a log
        scale). No threshold on the spread; costs k refits instead of one.
    scm_init : float
        Standard deviation of the initial latent-SCM parameters (weights ``A``, biases ``b`` and
        ``log s``, shared and per domain). 1.0 follows the official code (``nn.Embedding`` and
        ``randn``: N(0, 1)), so the domains start far apart; a small value starts every domain at
        nearly the same SCM, which gives ``"dense"`` an implicit bias towards shared mechanisms.
    seed : int
        Seeds initialisation and minibatch order.

    Attributes
    ----------
    n_domains_ : int
    history_ : list of float
        Mean minibatch negative log-likelihood (nats per sample, without the constant logit term;
        plus the shift penalty when ``shift_penalty > 0``) over each window of 50 steps (the first
        entry: step 0 alone); a penalised fit's unpenalised refit windows follow.
    validation_history_ : list of float
        Held-out negative log-likelihood every 100 steps (``select="best_validation"``; else empty).
    selected_step_ : int
        Number of steps of the kept parameters (``steps`` for ``select="last"``).
    validation_index_ : ndarray of int
        Rows of the fitted samples held out (``select="best_validation"`` or ``restarts > 1``).
    restart_validation_nll_ : list of float
        Held-out NLL of each restart's final parameters (NaN without a held-out split).
    selected_restart_ : int
        Index of the kept restart (its ``history_``, ``validation_history_`` and
        ``selected_step_`` are the ones exposed).
    domain_spread_ : ndarray (m,)
        Per latent, its spread ``sqrt(r_i)`` (see ``shift_penalty``; 0 for a shared row), before
        any row is made shared.
    shifted_ : ndarray (m,) of bool
        Rows whose mechanism differs across domains in the fitted model.
    shift_candidates_ : list of dict
        ``shift_selection="bic"`` only: per candidate, ``moving`` (its moving rows), ``nll`` (mean
        training NLL per sample after its refit), ``bic`` (per sample) and ``selected``.
    """

    def __init__(self, latent_dim: int, k: int = 1, *, structure: str = "relax_can", decoder: str = "mlp",
                 depth: int = 3, hidden_dim: int = 64, leak: float = _LEAK, activation: str = "smooth",
                 lr: float = 3e-3, steps: int = 30000,
                 batch_size: int = 500,
                 betas: tuple[float, float] = (0.5, 0.999), init: str = "identity", clip_norm: float | None = None,
                 scm_init: float = 1.0, shift_penalty: float = 0.0, shift_tolerance: float = 0.1,
                 shift_refit_steps: int | None = None, shift_selection: str = "tolerance",
                 select: str = "last", validation_fraction: float = 0.1, restarts: int = 1,
                 seed: int = 0):
        owner = "ILD"
        self.latent_dim = check_number(latent_dim, "latent_dim", owner, low=1, integer=True)
        self.k = check_number(k, "k", owner, low=1, high=self.latent_dim, integer=True)
        self.structure = check_choice(structure, "structure", owner, STRUCTURES)
        self.decoder = check_choice(decoder, "decoder", owner, DECODERS)
        self.depth = check_number(depth, "depth", owner, low=1, integer=True)
        self.hidden_dim = check_number(hidden_dim, "hidden_dim", owner, low=1, integer=True)
        self.leak = check_number(leak, "leak", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        self.activation = check_choice(activation, "activation", owner, ACTIVATIONS)
        self.lr = check_number(lr, "lr", owner, low=0.0, low_inclusive=False)
        self.steps = check_number(steps, "steps", owner, low=0, integer=True)
        self.batch_size = check_number(batch_size, "batch_size", owner, low=1, integer=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"The 'betas' parameter of {owner} must be a pair (beta1, beta2). Got {betas!r}.")
        self.betas = tuple(check_number(b, "betas", owner, low=0.0, high=1.0, high_inclusive=False) for b in betas)
        self.init = check_choice(init, "init", owner, INITS)
        self.clip_norm = None if clip_norm is None else check_number(clip_norm, "clip_norm", owner, low=0.0,
                                                                      low_inclusive=False)
        self.scm_init = check_number(scm_init, "scm_init", owner, low=0.0)
        self.shift_penalty = check_number(shift_penalty, "shift_penalty", owner, low=0.0)
        self.shift_tolerance = check_number(shift_tolerance, "shift_tolerance", owner, low=0.0)
        self.shift_refit_steps = None if shift_refit_steps is None else check_number(
            shift_refit_steps, "shift_refit_steps", owner, low=0, integer=True)
        self.shift_selection = check_choice(shift_selection, "shift_selection", owner, SHIFT_SELECTIONS)
        self.select = check_choice(select, "select", owner, SELECTIONS)
        self.validation_fraction = check_number(validation_fraction, "validation_fraction", owner, low=0.0, high=1.0,
                                                low_inclusive=False, high_inclusive=False)
        self.restarts = check_number(restarts, "restarts", owner, low=1, integer=True)
        self.seed = check_number(seed, "seed", owner, low=0, integer=True)

    def __repr__(self) -> str:
        return (f"ILD(latent_dim={self.latent_dim}, k={self.k}, structure={self.structure!r}, "
                f"decoder={self.decoder!r})")

    # ------------------------------------------------------------------ data
    def _vectors(self, x: Any, what: str = "x") -> torch.Tensor:
        from latentscm.worlds.batch import Batch

        array = np.asarray(x.images if isinstance(x, Batch) else x, dtype=np.float64)
        if array.ndim >= 1 and array.shape[0] == 0:
            raise ValueError(f"ILD: {what} holds no samples (shape {array.shape}); give at least one.")
        if array.ndim < 2:
            raise ValueError(f"ILD: {what} must be (N, {self.latent_dim}) or (N, {self.latent_dim}, 1, 1). "
                             f"Got shape {array.shape}.")
        flat = array.reshape(array.shape[0], -1)
        if flat.shape[1] != self.latent_dim:
            raise ValueError(f"ILD: {what} has {flat.shape[1]} entries per sample but latent_dim={self.latent_dim} "
                             f"(an invertible model needs as many latents as observed entries).")
        if not np.all(np.isfinite(flat)) or flat.min() < 0 or flat.max() > 1:
            raise ValueError(f"ILD: {what} must be finite and in [0, 1].")
        clipped = np.clip(flat, _EPS, 1 - _EPS)
        return torch.from_numpy(np.log(clipped) - np.log1p(-clipped))

    def _domains(self, domain: Any, n: int, what: str, *, known: bool = True) -> torch.Tensor:
        """Domain indices (N,) int64; ``known``: each must be a domain of the fitted model."""
        array = np.broadcast_to(np.asarray(domain), (n,)) if np.ndim(domain) == 0 else np.asarray(domain)
        if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"ILD: {what} must be an int or (N,) = ({n},) ints. Got {np.asarray(domain)!r:.80}.")
        limit = getattr(self, "n_domains_", None) if known else None
        if n and (array.min() < 0 or (limit is not None and array.max() >= limit)):
            bound = f"lie in [0, {limit})" if limit is not None else "be >= 0"
            raise ValueError(f"ILD: {what} must {bound}. Got values {np.unique(array)[:10].tolist()}.")
        return torch.from_numpy(array.astype(np.int64))

    # ------------------------------------------------------------------ model
    def _specific(self) -> torch.Tensor:
        m = self.latent_dim
        if self.structure == "dense":
            return torch.ones(m, dtype=torch.bool)
        return torch.arange(m) >= m - self.k

    def _scm_parameters(self) -> list[torch.Tensor]:
        """The latent SCM's parameters: per domain A (D, m, m), b (D, m), log s (D, m), then the
        shared A (m, m), b (m,), log s (m,)."""
        return [self.a_, self.b_, self.log_s_, self.shared_a_, self.shared_b_, self.shared_log_s_]

    def _scm(self, domain: torch.Tensor, values: list[torch.Tensor] | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-sample (A (N, m, m) strictly lower, b (N, m), log s (N, m)); ``values`` replaces
        :meth:`_scm_parameters` (one restart's slice during training)."""
        specific = self.specific_
        lower = torch.tril(torch.ones(self.latent_dim, self.latent_dim, dtype=torch.float64), diagonal=-1)
        a_all, b_all, s_all, shared_a, shared_b, shared_s = self._scm_parameters() if values is None else values
        a_dom, b_dom, s_dom = a_all[domain], b_all[domain], s_all[domain]
        if self.structure == "can":
            shared_a, shared_b, shared_s = (torch.zeros_like(t) for t in (shared_a, shared_b, shared_s))
        a = torch.where(specific[None, :, None], a_dom, shared_a) * lower
        b = torch.where(specific[None, :], b_dom, shared_b)
        log_s = torch.where(specific[None, :], s_dom, shared_s)
        return a, b, log_s

    def _spread(self, values: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Per latent (m,), the group norm over domains of its row's deviation from the domains'
        mean, ``sqrt(sum_d |theta_d[i] - mean_d theta_d[i]|^2)`` with ``theta_d[i] = (A_d[i, :i],
        b_d[i], log s_d[i])``; 0 for shared rows. ``values``: :meth:`_scm_parameters` to use instead."""
        a_all, b_all, s_all = (self._scm_parameters() if values is None else values)[:3]
        lower = torch.tril(torch.ones(self.latent_dim, self.latent_dim, dtype=a_all.dtype), diagonal=-1)
        squares = (((a_all - a_all.mean(0)) * lower) ** 2).sum(dim=(0, 2)) + ((b_all - b_all.mean(0)) ** 2).sum(0) \
            + ((s_all - s_all.mean(0)) ** 2).sum(0)
        return torch.sqrt(squares + 1e-12) * self.specific_

    def _nested_spread(self, values: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The shift penalty's groups (m,): for each domain-specific row i, the joint group norm of
        the deviations of every domain-specific row up to i (nested groups, Jenatton et al. 2011,
        "Structured variable selection with sparsity-inducing norms"); 0 for shared rows. The first
        specific row sits in the most groups, so rows stop moving from the first on and the moving
        rows stay the last ones, the canonical form."""
        squares = self._spread(values) ** 2
        return torch.sqrt(torch.cumsum(squares, dim=0) + 1e-12) * self.specific_

    def _noise(self, z: torch.Tensor, domain: torch.Tensor, values: list[torch.Tensor] | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        a, b, log_s = self._scm(domain, values)
        eps = (z - torch.einsum("nij,nj->ni", a, z) - b) * torch.exp(-log_s)
        return eps, log_s

    def _latents(self, eps: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        a, b, log_s = self._scm(domain)
        eye = torch.eye(self.latent_dim, dtype=torch.float64)
        rhs = (eps * torch.exp(log_s) + b).unsqueeze(-1)
        return torch.linalg.solve_triangular(eye - a, rhs, upper=False).squeeze(-1)

    def _log_likelihood(self, u: torch.Tensor, domain: torch.Tensor, values: list[torch.Tensor] | None = None
                        ) -> torch.Tensor:
        """Per-sample log-likelihood (N,); ``values``: every parameter in :meth:`_initialise`'s order
        (the network's, then :meth:`_scm_parameters`) to use instead of the model's own (one
        restart's slice during training)."""
        if values is None:
            z, logdet = self.network_(u)
            eps, log_s = self._noise(z, domain)
        else:
            names = [name for name, _ in self.network_.named_parameters()]
            z, logdet = torch.func.functional_call(self.network_, dict(zip(names, values)), (u,))
            eps, log_s = self._noise(z, domain, values[len(names):])
        gaussian = -0.5 * (eps ** 2).sum(dim=1) - 0.5 * self.latent_dim * math.log(2 * math.pi)
        return gaussian - log_s.sum(dim=1) + logdet

    # ------------------------------------------------------------------ fit
    def fit(self, data: Any, domain: Any = None, *, n_samples: int = 3000, start_from: ILD | None = None) -> ILD:
        """Fit by exact maximum likelihood; returns ``self``.

        ``data`` is observations (N, m) or (N, m, 1, 1) in [0, 1] with ``domain`` (N,) ints, a
        :class:`~latentscm.worlds.Batch` (its ``domain``; the argument must then be None), or a
        multi-domain World (``n_samples`` in all, drawn equally from its domains with ``seed``).

        ``start_from``: a fitted ILD (``decoder="mlp"``, the same ``latent_dim`` and ``depth``,
        typically ``structure="dense"``, which optimises easily) to warm-start from. Its network
        is copied, its last layer composed with :func:`invariant_directions` of its latents on
        the training samples (so the ``k`` directions that vary most across domains come last,
        where this model's domain-specific rows are), and the latent SCM starts at its exact
        maximum-likelihood fit to those latents (least squares, row by row); then training runs
        as usual. ``init`` is then ignored. A dense model's latents are Gaussian in every domain,
        so if a sparse canonical form exists up to a linear map, this start contains it.
        """
        from latentscm.worlds.base import World
        from latentscm.worlds.batch import Batch

        if isinstance(data, (World, Batch)) and domain is not None:
            raise ValueError(f"ILD.fit: 'domain' is only for an array of observations; a {type(data).__name__} "
                             f"gives its own domains (Batch.domain). Got a domain of shape {np.shape(domain)}.")
        if isinstance(data, World):
            if data.domains is None:
                raise ValueError(f"ILD.fit needs a multi-domain world; {data.name!r} has no domains.")
            n_samples = check_number(n_samples, "n_samples", "ILD.fit", low=1, integer=True)
            data = data.sample_domains(max(n_samples // data.n_domains, 1), seed=self.seed)
        if isinstance(data, Batch):
            x, domain, n_domains = data.images, data.domain, None
        else:
            x, n_domains = data, None
            if domain is None:
                raise ValueError("ILD.fit needs the 'domain' (N,) of each sample when 'data' is an array.")
        u = self._vectors(x)
        d = self._domains(domain, u.shape[0], "domain", known=False)  # a refit may bring more domains
        n_domains = int(d.max()) + 1 if n_domains is None else n_domains
        if n_domains < 2:
            raise ValueError(f"ILD.fit needs samples from at least 2 domains. Got {n_domains}.")
        held_out = self.select == "best_validation" or self.restarts > 1
        n_held = max(int(round(self.validation_fraction * u.shape[0])), 1)
        if held_out and n_held >= u.shape[0]:
            raise ValueError(f"ILD.fit: validation_fraction={self.validation_fraction} leaves no training "
                             f"samples out of {u.shape[0]}.")
        empty = sorted(set(range(n_domains)) - set(torch.unique(d).tolist()))
        if empty:  # their latent SCMs would keep the random initialisation, and counterfactuals into them with it
            raise ValueError(f"ILD.fit: the domains are numbered 0 .. {n_domains - 1} (max + 1), but domain(s) {empty} "
                             f"have no samples; number the domains 0 .. K-1.")
        if start_from is not None:
            self._check_start(start_from)
        # every check passed: only now is a fitted model replaced (put back if the split leaves a domain out)
        previous = dict(self.__dict__)
        try:
            generator = torch.Generator().manual_seed(self.seed)
            self.n_domains_ = n_domains
            self.specific_ = self._specific()
            parameters = self._initialise(generator)
            u_val = d_val = None
            self.__dict__.pop("validation_index_", None)  # a refit without a split must not keep an old one
            if held_out:
                order = torch.randperm(u.shape[0], generator=generator)
                self.validation_index_ = order[:n_held].numpy()
                u_val, d_val = u[order[:n_held]], d[order[:n_held]]
                u, d = u[order[n_held:]], d[order[n_held:]]
                lost = sorted(set(range(n_domains)) - set(torch.unique(d).tolist()))
                if lost:  # every sample of these domains was held out: their latent SCMs would not train
                    raise ValueError(f"ILD.fit: the held-out split (validation_fraction={self.validation_fraction}) "
                                     f"takes every sample of domain(s) {lost}; give those domains more samples or "
                                     f"lower validation_fraction.")
            # init="invariant": the first layer starts at the training samples' invariant_directions (no random draw)
            start = invariant_directions(u, d, self.k) if self.init == "invariant" and start_from is None else None
        except ValueError:
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise
        starts, generators = [], []
        for restart in range(self.restarts):
            if restart:  # independent initialisation and minibatch order, the same held-out split
                generator = _restart_generator(self.seed, restart)
                parameters = self._initialise(generator)
            if start_from is not None:
                self._warm_start(start_from, u, d)
            if start is not None:
                first = self.network_ if self.decoder == "mlp" else self.network_.mix
                with torch.no_grad():
                    weight = torch.from_numpy(start[0])
                    first.weights[0].copy_(weight)
                    first.biases[0].copy_(-weight @ torch.from_numpy(start[1]))
            starts.append([p.detach().clone() for p in parameters])
            generators.append(generator)
        runs = self._train(starts, u, d, u_val, d_val, generators, self.steps, self.shift_penalty)
        self.restart_validation_nll_ = [run["held_out"] for run in runs]
        self.selected_restart_ = int(np.argmin(self.restart_validation_nll_)) if self.restarts > 1 else 0
        kept = runs[self.selected_restart_]
        self.history_, self.validation_history_, self.selected_step_ = (kept["history"], kept["validation_history"],
                                                                        kept["selected_step"])
        with torch.no_grad():  # the last restart's modules hold the parameters: load the kept restart's values
            for parameter, value in zip(parameters, kept["values"]):
                parameter.copy_(value)
            self.domain_spread_ = self._spread().numpy()
            self.shifted_ = self.domain_spread_ > (self.shift_tolerance if self.shift_penalty else 0.0)
        self.__dict__.pop("shift_candidates_", None)
        if self.shift_penalty and self.shift_selection == "bic":
            self._select_moving_rows(parameters, u, d, u_val, d_val, generators[self.selected_restart_])
        elif self.shift_penalty:
            self._share_still_rows(parameters, u, d, u_val, d_val, generators[self.selected_restart_])
        return self

    def _select_moving_rows(self, parameters: list[nn.Parameter], u: torch.Tensor, d: torch.Tensor,
                            u_val: torch.Tensor | None, d_val: torch.Tensor | None, generator: torch.Generator
                            ) -> None:
        """``shift_selection="bic"``: refit with the j rows of largest spread moving, j = 1 .. k, from
        the penalised fit, and keep the candidate with the lowest BIC per training sample (see
        ``shift_selection``). Every candidate starts from the same parameters and minibatch order."""
        penalised = [p.detach().clone() for p in parameters]
        specific = self.specific_.clone()
        record = ("history_", "validation_history_", "selected_step_", "restart_validation_nll_")
        before = {name: copy.copy(getattr(self, name)) for name in record}
        rows = np.flatnonzero(specific.numpy())
        ranked = rows[np.argsort(-self.domain_spread_[rows], kind="stable")]
        n, state = u.shape[0], generator.get_state()
        candidates, fits = [], []
        for j in range(1, len(rows) + 1):
            moving = np.sort(ranked[:j])
            with torch.no_grad():
                for parameter, value in zip(parameters, penalised):
                    parameter.copy_(value)
            for name in record:
                setattr(self, name, copy.copy(before[name]))
            self.specific_ = specific.clone()
            self.shifted_ = np.isin(np.arange(self.latent_dim), moving)
            generator.set_state(state)
            self._share_still_rows(parameters, u, d, u_val, d_val, generator)
            with torch.no_grad():
                nll = float(-self._log_likelihood(u, d).mean())
            extra = (self.n_domains_ - 1) * int(sum(i + 2 for i in moving))
            candidates.append({"moving": moving.tolist(), "nll": nll,
                               "bic": nll + extra * math.log(n) / (2 * n), "selected": False})
            fits.append(([p.detach().clone() for p in parameters], self.specific_, self.shifted_,
                         {name: getattr(self, name) for name in record}))
        best = int(np.argmin([c["bic"] for c in candidates]))
        candidates[best]["selected"] = True
        values, self.specific_, self.shifted_, kept = fits[best]
        for name in record:
            setattr(self, name, kept[name])
        with torch.no_grad():
            for parameter, value in zip(parameters, values):
                parameter.copy_(value)
        self.shift_candidates_ = candidates

    def _share_still_rows(self, parameters: list[nn.Parameter], u: torch.Tensor, d: torch.Tensor,
                          u_val: torch.Tensor | None, d_val: torch.Tensor | None, generator: torch.Generator) -> None:
        """After a penalised fit: the domain-specific rows that stopped moving become shared rows (their
        mechanism: the mean over domains), and the model trains ``shift_refit_steps`` more without the
        penalty, which only the selection needed (a relaxed group lasso: the penalty's shrinkage of the
        rows that do move is undone; Meinshausen 2007, "Relaxed lasso")."""
        still = self.specific_ & torch.from_numpy(~self.shifted_)
        with torch.no_grad():
            for shared, table in ((self.shared_a_, self.a_), (self.shared_b_, self.b_),
                                  (self.shared_log_s_, self.log_s_)):
                shared[still] = table[:, still].mean(dim=0)
                table[:, still] = shared[still]
        self.specific_ = self.specific_ & ~still
        refit = self.steps // 3 if self.shift_refit_steps is None else self.shift_refit_steps
        if not refit:
            return
        run = self._train([[p.detach().clone() for p in parameters]], u, d, u_val, d_val, [generator], refit, 0.0)[0]
        self.history_ = self.history_ + run["history"]
        self.validation_history_ = self.validation_history_ + run["validation_history"]
        self.selected_step_ = self.steps + run["selected_step"]
        if self.restarts > 1:
            self.restart_validation_nll_[self.selected_restart_] = run["held_out"]
        with torch.no_grad():
            for parameter, value in zip(parameters, run["values"]):
                parameter.copy_(value)

    def _initialise(self, generator: torch.Generator) -> list[nn.Parameter]:
        """Fresh invertible network and latent-SCM parameters; returns them all (the optimised list)."""
        m, n_domains = self.latent_dim, self.n_domains_
        self.network_ = (_InvertibleMLP(m, self.depth, generator, self.init, self.leak, self.activation)
                         if self.decoder == "mlp"
                         else _Flow(m, self.depth, self.hidden_dim, generator, self.init))

        def param(*shape: int) -> nn.Parameter:
            return nn.Parameter(self.scm_init * torch.randn(*shape, generator=generator, dtype=torch.float64))

        self.a_, self.b_, self.log_s_ = param(n_domains, m, m), param(n_domains, m), param(n_domains, m)
        self.shared_a_, self.shared_b_, self.shared_log_s_ = param(m, m), param(m), param(m)
        return [*self.network_.parameters(), *self._scm_parameters()]

    def _check_start(self, start: Any) -> None:
        if not isinstance(start, ILD) or not hasattr(start, "network_"):
            raise ValueError(f"ILD.fit: 'start_from' must be a fitted ILD. Got {type(start).__name__}.")
        mine = (self.latent_dim, "mlp", self.depth, self.leak, self.activation)
        theirs = (start.latent_dim, start.decoder, start.depth, start.leak, start.activation)
        if self.decoder != "mlp" or theirs != mine:
            raise ValueError(f"ILD.fit: 'start_from' needs decoder='mlp' on both models and the same latent_dim, "
                             f"depth, leak and activation; this model has (latent_dim, decoder, depth, leak, "
                             f"activation) = {(self.latent_dim, self.decoder, self.depth, self.leak, self.activation)}"
                             f", start_from {theirs}.")

    @torch.no_grad()
    def _warm_start(self, start: ILD, u: torch.Tensor, d: torch.Tensor) -> None:
        """Copy ``start``'s network into this one, rotate its output by the invariant directions of
        its latents and set the latent SCM to the least-squares fit of the rotated latents (see fit)."""
        for mine, theirs in zip(self.network_.parameters(), start.network_.parameters()):
            mine.copy_(theirs)
        z = self.network_(u)[0]
        weight, mean = (torch.from_numpy(a) for a in invariant_directions(z, d, self.k))
        last_w, last_b = self.network_.weights[-1], self.network_.biases[-1]
        last_b.copy_(weight @ (last_b - mean))
        last_w.copy_(weight @ last_w)
        z = self.network_(u)[0]
        m = self.latent_dim
        for i in range(m):
            design = torch.cat([z[:, :i], torch.ones(len(z), 1, dtype=z.dtype)], dim=1)
            groups = [(e, d == e) for e in range(self.n_domains_)] if self.specific_[i] else [(None, slice(None))]
            for e, rows in groups:
                coef = torch.linalg.lstsq(design[rows], z[rows, i:i + 1]).solution[:, 0]
                log_s = torch.log((z[rows, i] - design[rows] @ coef).std().clamp_min(1e-6))
                targets = (self.a_, self.b_, self.log_s_) if e is not None else (self.shared_a_, self.shared_b_,
                                                                                  self.shared_log_s_)
                index = (e, i) if e is not None else (i,)
                targets[0][index][:i] = coef[:i]
                targets[1][index] = coef[i]
                targets[2][index] = log_s
                if e is None:  # keep the unused per-domain copies of a shared row equal to it
                    self.a_[:, i, :i], self.b_[:, i], self.log_s_[:, i] = coef[:i], coef[i], log_s

    def _train(self, starts: list[list[torch.Tensor]], u: torch.Tensor, d: torch.Tensor, u_val: torch.Tensor | None,
               d_val: torch.Tensor | None, generators: list[torch.Generator], steps: int, penalty: float
               ) -> list[dict[str, Any]]:
        """Adam runs of ``steps`` (with the shift penalty weighted ``penalty``) on (u (N, m), d (N,))
        from each start (R lists of parameter values, :meth:`_initialise`'s order), restart r
        drawing its minibatches from ``generators[r]``.

        The R restarts train together as one batched model (``torch.func.vmap`` over a leading
        restart axis of every parameter): Adam is elementwise and the summed loss has independent
        gradients, so each restart follows its own trajectory as if trained alone, at a fraction of
        R separate runs' time (each step's cost is mostly per-operation overhead at these sizes).
        ``clip_norm`` clips each restart's gradient norm separately. One start trains the model's
        own parameters in place (no vmap), on the same minibatches. Returns per restart: final or
        (``select="best_validation"``) best held-out ``values``, ``held_out`` NLL (NaN without a
        held-out split), ``history``, ``validation_history``, ``selected_step``."""
        n_restarts = len(starts)
        n_network = len(starts[0]) - len(self._scm_parameters())
        if n_restarts == 1:  # train the model's own parameters: no vmap, no functional_call (~10 % of a step)
            leaves = [*self.network_.parameters(), *self._scm_parameters()]
            with torch.no_grad():
                for leaf, value in zip(leaves, starts[0]):
                    leaf.copy_(value)
            stacked = [leaf.detach().unsqueeze(0) for leaf in leaves]  # views: the same storage, a restart axis
        else:
            leaves = stacked = [nn.Parameter(torch.stack(column)) for column in zip(*starts)]
        optimizer = torch.optim.Adam(leaves, lr=self.lr, betas=self.betas)

        def replica_nll(values: list[torch.Tensor] | None, u_r: torch.Tensor, d_r: torch.Tensor) -> torch.Tensor:
            return -self._log_likelihood(u_r, d_r, values).mean()

        def replica_loss(values: list[torch.Tensor] | None, u_r: torch.Tensor, d_r: torch.Tensor) -> torch.Tensor:
            loss = replica_nll(values, u_r, d_r)
            if penalty:
                loss = loss + penalty * self._nested_spread(None if values is None else values[n_network:]).sum()
            return loss

        def batch(function):  # one restart: the model's own parameters (values=None)
            if n_restarts > 1:
                return torch.func.vmap(function)
            return lambda values, u_r, d_r: function(None, u_r.squeeze(0), d_r.squeeze(0)).unsqueeze(0)

        batched, batched_nll = batch(replica_loss), batch(replica_nll)

        def held_out_nll() -> np.ndarray:
            with torch.no_grad():
                expand = (n_restarts,) + (-1,) * u_val.dim()
                return batched_nll([p.detach() for p in stacked], u_val.expand(expand),
                                   d_val.expand(n_restarts, -1)).numpy()

        histories: list[list[float]] = [[] for _ in range(n_restarts)]
        validations: list[list[float]] = [[] for _ in range(n_restarts)]
        selected = [steps] * n_restarts
        keep_best = self.select == "best_validation"
        best_nll = np.full(n_restarts, math.inf)
        best = [p.detach().clone() for p in stacked] if keep_best else []
        n, size = u.shape[0], min(self.batch_size, u.shape[0])
        window: list[np.ndarray] = []
        for step in range(steps):
            index = torch.stack([torch.randint(0, n, (size,), generator=g) for g in generators]) if n_restarts > 1 \
                else torch.randint(0, n, (1, size), generator=generators[0])  # (R, size); the same draws for R = 1
            losses = batched(stacked, u[index], d[index])
            optimizer.zero_grad()
            losses.sum().backward()
            if self.clip_norm is not None:
                with torch.no_grad():
                    norms = torch.sqrt(sum((p.grad.reshape(n_restarts, -1) ** 2).sum(1) for p in leaves))
                    factor = (self.clip_norm / (norms + 1e-6)).clamp(max=1.0)
                    for p in leaves:
                        p.grad.mul_(factor.reshape((n_restarts,) + (1,) * (p.dim() - 1)))
            optimizer.step()
            window.append(losses.detach().numpy().copy())
            if step % 50 == 0 or step == steps - 1:
                mean = np.mean(window, axis=0)
                if not np.all(np.isfinite(window[-1])):
                    bad = int(np.flatnonzero(~np.isfinite(window[-1]))[0])
                    raise FloatingPointError(f"ILD: the negative log-likelihood of restart {bad} became "
                                             f"{window[-1][bad]} at step {step}; lower lr (now {self.lr}) or set "
                                             f"clip_norm.")
                for history, value in zip(histories, mean):
                    history.append(float(value))
                window = []
            if keep_best and ((step + 1) % _CHECK_EVERY == 0 or step == steps - 1):
                held = held_out_nll()
                better = held < best_nll
                with torch.no_grad():
                    for kept, p in zip(best, stacked):
                        kept[torch.from_numpy(better)] = p.detach()[torch.from_numpy(better)]
                for r in range(n_restarts):
                    validations[r].append(float(held[r]))
                    if better[r]:
                        best_nll[r], selected[r] = held[r], step + 1
        if keep_best and steps:
            with torch.no_grad():
                for p, kept in zip(stacked, best):
                    p.copy_(kept)
        held = held_out_nll() if u_val is not None else np.full(n_restarts, math.nan)
        return [{"values": [p.detach()[r].clone() for p in stacked], "held_out": float(held[r]),
                 "history": histories[r], "validation_history": validations[r], "selected_step": selected[r]}
                for r in range(n_restarts)]

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            from latentscm.learners.base import NotFittedError

            raise NotFittedError("This ILD is not fitted yet; call fit(...).")

    @torch.no_grad()
    def log_likelihood(self, x: Any, domain: Any) -> np.ndarray:
        """Per-sample log-likelihood (N,) in the logit space of the observations."""
        self._check_fitted()
        u = self._vectors(x)
        return self._log_likelihood(u, self._domains(domain, u.shape[0], "domain")).numpy()

    @torch.no_grad()
    def encode(self, x: Any) -> np.ndarray:
        """Latents z (N, m) of observations x."""
        self._check_fitted()
        return self.network_(self._vectors(x))[0].numpy()

    @torch.no_grad()
    def abduct(self, x: Any, domain: Any) -> np.ndarray:
        """Exogenous noise eps (N, m) of observations x from domain(s) ``domain``."""
        self._check_fitted()
        u = self._vectors(x)
        return self._noise(self.network_(u)[0], self._domains(domain, u.shape[0], "domain"))[0].numpy()

    @torch.no_grad()
    def domain_counterfactual(self, x: Any, source: Any, target: Any) -> np.ndarray:
        """``x`` had it come from domain ``target``: ``F^{-1}(f_target(f_source^{-1}(F(x))))``.

        ``x`` (N, m) or (N, m, 1, 1) in [0, 1], or a Batch (its images); ``source``/``target`` ints or (N,)
        ints. Returns the same shape and dtype (float32 for float32 input).
        """
        from latentscm.worlds.batch import Batch

        self._check_fitted()
        array = np.asarray(x.images if isinstance(x, Batch) else x)
        u = self._vectors(array)
        n = u.shape[0]
        eps, _ = self._noise(self.network_(u)[0], self._domains(source, n, "source"))
        z = self._latents(eps, self._domains(target, n, "target"))
        out = torch.sigmoid(self.network_.inverse(z)).numpy()
        return out.reshape(array.shape).astype(array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64)
