"""iVAE: the identifiable VAE of nonlinear ICA with an auxiliary variable.

Khemakhem, Kingma, Monti & Hyvärinen (AISTATS 2020), "Variational autoencoders and nonlinear ICA:
a unifying framework" (official code: ilkhem/iVAE, read for its data and training setup only; this
is a reimplementation from the paper). The latents are conditionally independent given an observed
auxiliary variable ``u``, ``p(z | u) = prod_i N(z_i; m_i(u), v_i(u))``, and ``x = f(z) + noise``.
Here ``u`` is the domain index the training loop passes (``uses_domain``; a segment of the
time-contrastive data of Hyvärinen & Morioka 2016, a hospital, a season, an environment), so
``m(u)`` and ``log v(u)`` are one learned vector each per domain
(:class:`~latentscm.learners.gcrl.DomainPrior`, ``kind="per_domain"``, the same closed-form KL).
The loss is the negative ELBO ``recon + beta * KL(q(z | x) || p(z | u))``.

**What makes it identifiable** (the paper's Theorem 1 with Gaussian sufficient statistics
``T_i(z_i) = (z_i, z_i^2)``, k = 2): if the mixing is injective and the ``2 D + 1`` domains' natural
parameters ``(m / v, -1 / (2 v))`` are in general position, the latents are recovered up to a
permutation and per-unit affine maps; with ``prior_mean="zero"`` (variance modulation only,
k = 1, the paper's centred data) ``D + 1`` domains suffice. A training set with fewer domains than
that gets a :class:`UserWarning` naming both numbers: with one domain the model is a VAE with a
learned diagonal prior, which is not identifiable (Locatello et al. 2019).

**Deviation from the paper.** The paper's encoder is ``q(z | x, u)``; here it is ``q(z | x)`` so
that codes are a function of the image alone (:meth:`encode` needs no domain, and every metric,
probe and report reads codes of unlabelled images). This keeps the ELBO a lower bound, and in the
noiseless invertible model of the theorem the true posterior ``p(z | x, u)`` is a point mass at
``f^{-1}(x)`` that does not depend on ``u``, so the variational family still contains it in the
limit the consistency argument (the paper's Theorem 4) needs.

**Measured at our scale** (``benchmarks/bench_ivae.py``, 3 seeds; the paper reports iVAE clearly above a VAE on
its data, which does not reproduce here). On ``ild-linear`` with no edges (5 independent latents, per-domain means
and scales, 20,000 steps) iVAE's MCC is no better than a β-VAE's on the same data: 0.70 vs 0.71 with 1 domain,
0.69 vs 0.65 with 11, 0.70 vs 0.68 with 40. On the paper's own data model (centred sources whose standard
deviations change by domain, an ``xtanh`` mixing network, 40 domains) it gains a little and in every seed: 0.62
(either ``prior_mean``) vs 0.58. On sprites whose four continuous factors change distribution across 20 domains it
beats the same objective without domains at β = 1 (0.59 vs 0.49; ``covariance="full"`` 0.65), but at β = 4 it
ties with β-VAE (0.705 vs 0.711). Part (b) of the benchmark finds the reason on linear mixing, where a linear
model contains the truth and the objective can be minimised to convergence:

1. **The factorised posterior moves the objective's optimum away from the truth.** With a diagonal ``q(z | x)``,
   L-BFGS from the truth and from every random start ends at the same loss, with MCC 0.73-0.88. A diagonal
   posterior pays a Hadamard gap ``0.5 (sum_i log (J^T J)_ii - log det(J^T J))`` unless the decoder's Jacobian
   ``J`` has orthogonal columns. That gap does not vanish as the decoder noise goes to zero, and it outweighs the
   prior's identifying signal. Li, Hooi & Lee (2019, "Identifying through flows for recovering latent
   representations", iFlow) make the general point that the ELBO's variational gap leaves iVAE short of the
   likelihood's optimum.
2. **``covariance="full"`` restores it**: the family holds the exact posterior, and every start ends at the truth
   (MCC 1.000 and 0.999 on two seeds; the third seed's mixing is nearly singular below the decoder noise). The exact
   likelihood of the same model reaches the truth from 15 of 15 random starts. What remains is optimisation: SGD
   fits of the full posterior were far from converged after 20,000 Adam steps, and on the nonlinear data of parts
   (a) and (c) ``covariance="full"`` did not raise MCC. Kim, Liu & Wei (2022, "Covariate-informed representation
   learning to prevent posterior collapse of iVAE") describe a local optimum of the iVAE objective.

The paper's guarantee is about the global optimum of a well-specified model; read MCC, not the name, for what a fit
identified.

Codes are the posterior means ``(N, latent_dim)``. :meth:`sample` draws from the prior of one
domain or of domains drawn uniformly; :meth:`prior_parameters` returns each domain's ``m`` and
``v``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number
from latentscm.learners.base import Learner, StepOutput
from latentscm.learners.domain_count import domain_indices, domains_to_build
from latentscm.learners.gcrl import DomainPrior

__all__ = ["IVAE", "PRIOR_MEANS", "COVARIANCES", "full_covariance_kl"]

#: ``"learned"``: a mean and a variance per domain (k = 2); ``"zero"``: variances only (k = 1).
PRIOR_MEANS = ("learned", "zero")
#: The posterior's covariance: ``"diagonal"`` (factorised, the paper's) or ``"full"`` (a Cholesky factor per image).
COVARIANCES = ("diagonal", "full")


def full_covariance_kl(mean: torch.Tensor, tril: torch.Tensor, log_diag: torch.Tensor, prior_mean: torch.Tensor,
                       prior_logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, L L^T) || N(prior_mean, diag(exp(prior_logvar))))`` per row: (B,).

    mean, prior_mean, prior_logvar, log_diag : (B, D); ``log_diag`` is the log of the diagonal of ``tril``.
    tril : (B, D, D) lower-triangular ``L`` with a positive diagonal.
    ``0.5 (sum log v - log det(L L^T) + tr(V^-1 L L^T) + (m - mu)^T V^-1 (m - mu) - D)`` with ``V = diag(v)``.
    """
    inverse = (-prior_logvar).exp()
    trace = (tril.square() * inverse[:, :, None]).sum((1, 2))
    quadratic = ((mean - prior_mean).square() * inverse).sum(1)
    return 0.5 * (prior_logvar.sum(1) - 2.0 * log_diag.sum(1) + trace + quadratic - mean.shape[1])


class IVAE(Learner):
    """The identifiable VAE (Khemakhem et al. 2020) with the domain index as auxiliary variable
    (see the module docstring).

    Parameters
    ----------
    latent_dim : int, default 10
        Latent units D (>= 1).
    n_domains : int or None, default None
        Number of training domains (>= 1); ``None``: ``max(domain) + 1`` of the training data.
    prior_mean : {"learned", "zero"}, default "learned"
        Whether each domain's prior has a learned mean (``"learned"``: needs ``2 D + 1`` domains for
        identifiability) or mean zero with only the variances modulated (``"zero"``: ``D + 1``).
    covariance : {"diagonal", "full"}, default "diagonal"
        The posterior's covariance. ``"diagonal"`` is the paper's factorised ``q(z | x)``; ``"full"`` has the encoder
        output a lower-triangular Cholesky factor ``L`` (``D (D + 1) / 2`` numbers, the diagonal as its log) and
        ``q(z | x) = N(mu, L L^T)``, which removes the mean-field bias towards decoders with orthogonal Jacobian
        columns (see the module docstring). ``encode_distribution`` and ``kl_per_unit`` report its diagonal.
    beta : float, default 1.0
        Weight of the KL term (>= 0). With ``likelihood="gaussian"`` (squared error, a decoder
        variance of 1/2) a weight ``beta`` is the ELBO of a decoder variance ``beta / 2``.
    likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    name = "ivae"
    uses_domain: ClassVar[bool] = True

    def __init__(self, *, latent_dim: int = 10, n_domains: int | None = None, prior_mean: str = "learned",
                 covariance: str = "diagonal", beta: float = 1.0, likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.n_domains = n_domains
        self.prior_mean = prior_mean
        self.covariance = covariance
        self.beta = beta
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        if self.n_domains is not None:
            self.n_domains = check_number(self.n_domains, "n_domains", owner, low=1, integer=True)
        check_choice(self.prior_mean, "prior_mean", owner, PRIOR_MEANS)
        check_choice(self.covariance, "covariance", owner, COVARIANCES)
        self.beta = check_number(self.beta, "beta", owner, low=0)

    @property
    def identifying_domains(self) -> int:
        """The number of domains in general position that Theorem 1 needs: ``2 D + 1``, or ``D + 1``
        with ``prior_mean="zero"``."""
        per_unit = 1 if self.prior_mean == "zero" else 2
        return per_unit * int(self.latent_dim) + 1

    # ------------------------------------------------------------------ building
    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "decoder", "prior")

    def _encoder_outputs(self, latent_dim: int) -> int:
        if self.covariance == "full":
            return latent_dim + latent_dim * (latent_dim + 1) // 2
        return super()._encoder_outputs(latent_dim)

    def _posterior_full(self, images: torch.Tensor, net: Any = None
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(mean (N, D), L (N, D, D) lower triangular, log diag(L) (N, D))`` of a full-covariance posterior."""
        out = (net or self.encoder_)(images)
        d = int(self.latent_dim_)
        mean, entries = out[:, :d], out[:, d:]
        rows, cols = torch.tril_indices(d, d, device=out.device)
        on_diagonal = rows == cols
        log_diag = entries[:, on_diagonal]
        tril = out.new_zeros((out.shape[0], d, d))
        tril[:, rows[~on_diagonal], cols[~on_diagonal]] = entries[:, ~on_diagonal]
        diagonal = torch.arange(d, device=out.device)
        tril[:, diagonal, diagonal] = log_diag.exp()  # only the diagonal is exponentiated
        return mean, tril, log_diag

    def _posterior(self, images: torch.Tensor, net: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, logvar), each (N, D): for ``covariance="full"`` the log of the covariance's diagonal."""
        if self.covariance != "full":
            return super()._posterior(images, net)
        mean, tril, _ = self._posterior_full(images, net)
        return mean, tril.square().sum(2).log()

    def _full_sample(self, mean: torch.Tensor, tril: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + torch.einsum("nij,nj->ni", tril, noise)

    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        if self.covariance != "full" or not sample:
            return super()._encode_tensor(images, sample, generator)
        mean, tril, _ = self._posterior_full(images)
        return self._full_sample(mean, tril, generator)

    def _on_training_set(self, training_set: Any) -> None:
        owner = type(self).__name__
        self._domains_to_build = domains_to_build(training_set, self.n_domains, owner)
        domain = getattr(training_set, "domain", None)
        seen = 1 if domain is None or len(domain) == 0 else len(np.unique(np.asarray(domain)))
        if seen < self.identifying_domains:
            warnings.warn(f"{owner}: the training data hold {seen} domain(s); with latent_dim={self.latent_dim} and "
                          f"prior_mean={self.prior_mean!r} identifiability (Khemakhem et al. 2020, Theorem 1) needs "
                          f"at least {self.identifying_domains} domains whose priors differ in general position. "
                          f"The fit is a VAE with a learned per-domain prior, not an identified one.",
                          UserWarning, stacklevel=2)

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, nn.Module]:
        modules = super()._build_modules(image_shape, latent_dim)
        n_domains = getattr(self, "_domains_to_build", None) or self.n_domains or 1
        prior = DomainPrior(latent_dim, n_domains, "per_domain", 1)
        if self.prior_mean == "zero":
            for mean in prior.means:
                mean.requires_grad_(False)
        modules["prior"] = prior
        self._built_settings = {"prior_mean": self.prior_mean, "covariance": self.covariance}
        return modules

    @property
    def n_domains_(self) -> int:
        """Domains the prior knows."""
        self._check_fitted()
        return self.prior_.n_domains

    def _extra_state(self) -> dict[str, Any]:
        # the settings the modules were built (and trained) with, not set_params' later values
        built = getattr(self, "_built_settings", {"prior_mean": self.prior_mean, "covariance": self.covariance})
        return {**super()._extra_state(), "n_domains": self.prior_.n_domains, **built}

    def load_state_dict(self, state: Any) -> IVAE:
        extra = state.get("extra", {})
        owner = type(self).__name__
        # the two settings change what the saved numbers mean without changing their shapes (for latent_dim=1 the
        # diagonal and full encoders both output 2 numbers), so a state is loaded only under the settings it was
        # trained with
        for key in ("prior_mean", "covariance"):
            saved = extra.get(key)
            if saved is not None and saved != getattr(self, key):
                raise ValueError(f"{owner} was trained with {key}={saved!r}, and its weights mean something else "
                                 f"under {key}={getattr(self, key)!r}; set it back (or fit again).")
        if extra.get("n_domains") is not None:
            self._domains_to_build = int(extra["n_domains"])
        super().load_state_dict(state)
        if self.prior_mean == "zero" and any(bool(torch.any(mean != 0)) for mean in self.prior_.means):
            raise ValueError(f"{owner} has prior_mean='zero' but the state holds non-zero prior means (a fit with "
                             f"prior_mean='learned'); set prior_mean='learned' to load it.")
        return self

    # ------------------------------------------------------------------ training
    def loss(self, images: torch.Tensor, step: int, domain: torch.Tensor) -> StepOutput:
        """Negative ELBO of ``images`` (B, C, H, W) from domains ``domain`` (B,) int64."""
        prior = self._net("prior")
        if self.covariance == "full":
            mean, tril, log_diag = self._posterior_full(images, self._net("encoder"))
            z = self._full_sample(mean, tril, self._generator)
            # the prior's KL of the covariance's diagonal, plus the Hadamard gap sum log S_ii - log det S (>= 0):
            # equal to full_covariance_kl, and computed through the prior module's forward (as DDP needs)
            diagonal = tril.square().sum(2).log()
            kl = (prior(mean, diagonal, z, domain) + 0.5 * (diagonal.sum(1) - 2.0 * log_diag.sum(1))).mean()
        else:
            mean, logvar = self._posterior(images, self._net("encoder"))
            z = self._reparameterise(mean, logvar, self._generator)
            kl = prior(mean, logvar, z, domain).mean()
        recon = self._reconstruction(self._net("decoder")(z), images)
        loss = recon + self.beta * kl
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "kl": kl, "elbo": -(recon + kl)})

    # ------------------------------------------------------------------ the prior
    def prior_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """Each domain's prior mean and variance ``(m (n_domains, D), v (n_domains, D))`` float64."""
        self._check_fitted()
        with torch.no_grad():
            means = torch.stack(list(self.prior_.means)).double().cpu().numpy()
            variances = torch.stack(list(self.prior_.logvars)).double().exp().cpu().numpy()
        return means, variances

    def _prior_sample(self, n: int, generator: torch.Generator, domain: torch.Tensor | None = None
                      ) -> torch.Tensor:
        """Codes (n, D) from ``p(z | u)`` of ``domain`` (n,) or of domains drawn uniformly."""
        if domain is None:
            domain = torch.randint(0, self.prior_.n_domains, (n,), generator=generator)
        return self.prior_.sample(domain, generator)

    def sample(self, n: int, *, seed: int, domain: Any = None) -> np.ndarray:
        """``n`` generated images (n, C, H, W) float32 in [0, 1] from the prior of ``domain`` (an int or
        (n,) ints; ``None``: domains drawn uniformly), seeded."""
        self._check_fitted()
        owner = f"{type(self).__name__}.sample"
        n = check_number(n, "n", owner, low=1, integer=True)
        generator = self._seeded_generator(seed, "sample", device="cpu")
        chosen = None if domain is None else domain_indices(domain, n, self.prior_.n_domains, "domain", owner)
        return self.decode(self._prior_sample(n, generator, chosen))
