"""GCRL: generative causal representation learning with invariant and variant latents.

Shirahmad Gale Bagi, Gharaee, Schulte & Crowley (ICML 2023), "Generative causal representation
learning for out-of-distribution motion forecasting" (official code: sshirahmad/GCRL; this is a
reimplementation from the paper for images, not a port). Data come from several domains e; the
latents split into **invariant** ``z`` (same prior in every domain, ``p(z) = N(0, I)``) and
**variant** ``s`` whose prior ``p(s | e)`` is domain-specific, following the sparse mechanism
shift principle: a new domain changes ``p(s | e)`` only, so adapting to it needs only that prior
(the paper's argument), while the official code fine-tunes more of the model. The model is a VAE
with the ELBO ``E_q[log p(x | z, s)] - KL(q(z | x) || p(z)) - KL(q(s | x) || p(s | e))``:

- ``prior="per_domain"``: ``p(s | e) = N(mu_e, diag(exp(logvar_e)))`` with one learned mean and
  log-variance per domain (closed-form KL);
- ``prior="mixture"``: ``p(s | e) = sum_k pi_{e,k} N(mu_k, diag(exp(logvar_k)))``, mixture
  components shared by all domains and mixture weights ``pi_e`` per domain (the paper's
  Gaussian-mixture prior; KL estimated with the reparameterised sample).

Two encoder branches (``encoder_.z_branch`` and ``encoder_.s_branch``) give ``q(z | x)`` and
``q(s | x)``. The invariant branch is a :class:`~latentscm.nn.ConvEncoder`; the variant branch is
one too with ``s_input="image"`` (the paper's ``q(s | x)``), or, with ``s_input="style"``, an MLP
on the image's **style statistics** — the mean and standard deviation of each channel over the
pixels, the statistics that carry style in Huang & Belongie (ICCV 2017, AdaIN) — a second view of
the input as in the official code, whose variant encoder reads a hand-built view of each sample
(its pairwise "social" distances, where the synthetic domains differ) rather than the raw
trajectories. With ``s_input="chroma"`` the MLP reads the image's chromaticity (each channel's
share of the total intensity), a view that carries an object's colour and not its size or place.
Measured on hue-sprites whose domains shift the hue (``benchmarks/bench_domains.py`` part b): with
``s_input="image"`` or ``"style"`` the objective lets ``s`` take a position or the scale and leaves
the shifted hue in ``z``; with ``"chroma"`` and ``kl_warmup`` ``s`` takes the hue and ``z`` the
invariant factors (without the warm-up the quickly fitted variant branch let ``z`` collapse). One
:class:`~latentscm.nn.ConvDecoder` decodes ``[z, s]``. Codes are ``[z, s]``: (N, z_dim + s_dim),
invariant units first. Training uses the shared loop, which passes each image's domain index
(``uses_domain``); data without one is a single domain 0.

:meth:`GCRL.adapt` fits a **new** domain from a few images: it appends domain ``n_domains_`` to
the prior and refits ``"prior"`` (that domain's prior parameters only), ``"s_branch"`` (those plus
the variant encoder branch) or ``"all"`` (every parameter: full fine-tuning); every other
parameter stays bit-identical, and ``adaptations_`` records what was refit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number
from latentscm.learners.base import Learner, StepOutput, gaussian_kl
from latentscm.learners.domain_count import domains_to_build
from latentscm.nn import ConvDecoder, ConvEncoder

__all__ = ["GCRL", "GCRLEncoder", "StyleEncoder", "DomainPrior", "PRIORS", "REFITS", "SOLVERS", "S_INPUTS"]

#: Kinds of variant prior p(s | e).
PRIORS = ("per_domain", "mixture")
#: What :meth:`GCRL.adapt` may refit.
REFITS = ("prior", "s_branch", "all")
#: How :meth:`GCRL.adapt` fits (see there).
SOLVERS = ("auto", "adam", "moments")
#: What the variant branch reads.
S_INPUTS = ("image", "style", "chroma")


class StyleEncoder(nn.Module):
    """Images (N, C, H, W) -> (N, out_dim) through an MLP on image statistics.

    ``statistics="moments"``: the mean and standard deviation of each channel over the pixels,
    (N, 2C) (the style statistics of AdaIN). ``statistics="chroma"``: the image's chromaticity,
    each channel's share of the total intensity ``sum_p x_c(p) / sum_{p, c'} x_c'(p)`` times C,
    (N, C) (Wyszecki & Stiles' chromaticity coordinates, the grey-world statistic of Buchsbaum
    1980): invariant to scaling the intensity, so on a black background it reads the colour and
    not the area or the position. Needs C >= 2.
    """

    def __init__(self, n_channels: int, out_dim: int, *, hidden_dim: int, statistics: str = "moments"):
        super().__init__()
        self.statistics = statistics
        width = 2 * n_channels if statistics == "moments" else n_channels
        self.mlp = nn.Sequential(nn.Linear(width, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, hidden_dim),
                                 nn.ReLU(), nn.Linear(hidden_dim, out_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        flat = images.flatten(2)  # (N, C, H W)
        if self.statistics == "moments":  # one pixel has no unbiased std (NaN): its spread is 0
            return self.mlp(torch.cat([flat.mean(2), flat.std(2, correction=int(flat.shape[2] > 1))], dim=1))
        totals = flat.sum(2)  # (N, C)
        share = totals / totals.sum(1, keepdim=True).clamp_min(1e-6)
        return self.mlp(share * flat.shape[1])


class GCRLEncoder(nn.Module):
    """Images (N, C, H, W) -> ``[mean_z, mean_s, logvar_z, logvar_s]`` (N, 2 (z_dim + s_dim)) from
    two branches: invariant ``z_branch`` (convolutional), variant ``s_branch`` (convolutional for
    ``s_input="image"``, a :class:`StyleEncoder` for ``"style"`` and ``"chroma"``)."""

    def __init__(self, image_shape: Sequence[int], z_dim: int, s_dim: int, *, channels: Sequence[int],
                 hidden_dim: int, s_input: str = "image"):
        super().__init__()
        self.z_branch = ConvEncoder(image_shape, 2 * z_dim, channels=channels, hidden_dim=hidden_dim)
        if s_input in ("style", "chroma"):
            if s_input == "chroma" and int(image_shape[0]) < 2:
                raise ValueError(f"GCRL: s_input='chroma' needs colour images (>= 2 channels); got image shape "
                                 f"{tuple(image_shape)}.")
            self.s_branch = StyleEncoder(int(image_shape[0]), 2 * s_dim, hidden_dim=hidden_dim,
                                         statistics="moments" if s_input == "style" else "chroma")
        else:
            self.s_branch = ConvEncoder(image_shape, 2 * s_dim, channels=channels, hidden_dim=hidden_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, 2 (z_dim + s_dim)): means of z and s, then their log-variances."""
        z_mean, z_logvar = self.z_branch(images).chunk(2, dim=1)
        s_mean, s_logvar = self.s_branch(images).chunk(2, dim=1)
        return torch.cat([z_mean, s_mean, z_logvar, s_logvar], dim=1)


class DomainPrior(nn.Module):
    """The variant prior ``p(s | e)`` over ``n_domains`` domains (see the module docstring).

    Per-domain parameters live in ``ParameterList``s, one entry per domain, so adding a domain adds
    parameters and leaves the others untouched.
    """

    def __init__(self, s_dim: int, n_domains: int, kind: str, n_components: int):
        super().__init__()
        self.s_dim, self.kind, self.n_components = int(s_dim), kind, int(n_components)
        if kind == "per_domain":
            self.means = nn.ParameterList([nn.Parameter(torch.zeros(s_dim)) for _ in range(n_domains)])
            self.logvars = nn.ParameterList([nn.Parameter(torch.zeros(s_dim)) for _ in range(n_domains)])
        else:
            # components spread at init so that domains can pick different ones
            self.component_means = nn.Parameter(torch.randn(n_components, s_dim))
            self.component_logvars = nn.Parameter(torch.zeros(n_components, s_dim))
            self.logits = nn.ParameterList([nn.Parameter(torch.zeros(n_components)) for _ in range(n_domains)])

    @property
    def n_domains(self) -> int:
        """Number of domains with prior parameters."""
        return len(self.means) if self.kind == "per_domain" else len(self.logits)

    def domain_parameters(self, domain: int) -> dict[str, nn.Parameter]:
        """The parameters that belong to ``domain`` alone, by their ``named_parameters`` name."""
        names = ("means", "logvars") if self.kind == "per_domain" else ("logits",)
        return {f"{name}.{domain}": getattr(self, name)[domain] for name in names}

    def add_domain(self) -> int:
        """Append a domain initialised at the average of the existing ones; returns its index."""
        with torch.no_grad():
            names = ("means", "logvars") if self.kind == "per_domain" else ("logits",)
            for name in names:
                rows = getattr(self, name)
                rows.append(nn.Parameter(torch.stack([p.detach() for p in rows]).mean(0).clone()))
        return self.n_domains - 1

    def drop_last_domain(self) -> None:
        """Remove the last domain (one :meth:`add_domain` appended); the others stay as they are."""
        if self.n_domains < 2:
            raise ValueError(f"DomainPrior.drop_last_domain: the prior must keep a domain; it has {self.n_domains}.")
        names = ("means", "logvars") if self.kind == "per_domain" else ("logits",)
        for name in names:
            setattr(self, name, nn.ParameterList(list(getattr(self, name))[:-1]))

    def resize(self, n_domains: int) -> None:
        """Grow to ``n_domains`` domains (before loading a state saved after :meth:`GCRL.adapt`)."""
        while self.n_domains < n_domains:
            self.add_domain()

    def forward(self, mean: torch.Tensor, logvar: torch.Tensor, sample: torch.Tensor,
                domain: torch.Tensor) -> torch.Tensor:
        """``KL(q(s | x) || p(s | e))`` per image (B,) for a Gaussian posterior (mean, logvar (B, S))
        with reparameterised ``sample`` (B, S) and domain indices ``domain`` (B,)."""
        if self.kind == "per_domain":
            prior_mean = torch.stack(list(self.means))[domain]
            prior_logvar = torch.stack(list(self.logvars))[domain]
            return 0.5 * (prior_logvar - logvar + (logvar.exp() + (mean - prior_mean) ** 2) / prior_logvar.exp()
                          - 1.0).sum(1)
        log_q = _diagonal_normal_log_prob(sample, mean, logvar)
        return log_q - self.log_prob(sample, domain)

    def log_prob(self, sample: torch.Tensor, domain: torch.Tensor) -> torch.Tensor:
        """``log p(s | e)`` (B,) of ``sample`` (B, S) in domains ``domain`` (B,)."""
        if self.kind == "per_domain":
            means, logvars = torch.stack(list(self.means))[domain], torch.stack(list(self.logvars))[domain]
            return _diagonal_normal_log_prob(sample, means, logvars)
        weights = torch.log_softmax(torch.stack(list(self.logits))[domain], dim=1)  # (B, K)
        per_component = _diagonal_normal_log_prob(sample[:, None, :], self.component_means[None],
                                                  self.component_logvars[None])  # (B, K)
        return torch.logsumexp(weights + per_component, dim=1)

    def sample(self, domain: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Draws (B, S) on the CPU from ``p(s | e)`` for domains ``domain`` (B,) (a CPU generator)."""
        n = domain.shape[0]
        noise = torch.randn((n, self.s_dim), generator=generator)
        with torch.no_grad():
            if self.kind == "per_domain":
                means = torch.stack(list(self.means)).detach().cpu()[domain]
                logvars = torch.stack(list(self.logvars)).detach().cpu()[domain]
            else:
                probabilities = torch.softmax(torch.stack(list(self.logits)).detach().cpu()[domain], dim=1)
                component = torch.multinomial(probabilities, 1, generator=generator)[:, 0]
                means = self.component_means.detach().cpu()[component]
                logvars = self.component_logvars.detach().cpu()[component]
        return means + (0.5 * logvars).exp() * noise


def _diagonal_normal_log_prob(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return -0.5 * (math.log(2 * math.pi) + logvar + (x - mean) ** 2 / logvar.exp()).sum(-1)


class GCRL(Learner):
    """Generative causal representation learning (Shirahmad Gale Bagi et al., ICML 2023): invariant
    latents ``z`` with a shared prior, variant latents ``s`` with a per-domain prior, adaptation to
    a new domain by refitting the prior (see the module docstring).

    Parameters
    ----------
    z_dim : int, default 6
        Invariant latent units (>= 1); codes[:, :z_dim].
    s_dim : int, default 2
        Variant latent units (>= 1); codes[:, z_dim:].
    prior : {"per_domain", "mixture"}, default "per_domain"
        The variant prior p(s | e).
    n_components : int, default 4
        Mixture components (>= 1; ``prior="mixture"`` only).
    n_domains : int or None, default None
        Number of training domains (>= 1); ``None``: ``max(domain) + 1`` of the training data.
    beta : float, default 1.0
        Weight of both KL terms (>= 0).
    s_input : {"image", "style", "chroma"}, default "image"
        What the variant branch reads: the image (the paper's ``q(s | x)``), its per-channel
        mean and standard deviation (``"style"``) or its chromaticity (``"chroma"``, colour
        images only) — a second view, as the official code's variant encoder; see the module
        docstring and :class:`StyleEncoder`.
    kl_warmup : int, default 0
        Training steps over which the weight of both KL terms ramps linearly from ``beta / kl_warmup``
        to ``beta`` (KL annealing, Bowman et al. 2016), against the posterior collapse of ``z`` that a
        fast-fitting variant branch invites; 0: ``beta`` from the first step. :meth:`adapt` uses ``beta``.
    likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner`.
    """

    dense_layers = False  # its networks read hidden_dim as one width

    name = "gcrl"
    uses_domain: ClassVar[bool] = True

    def __init__(self, *, z_dim: int = 6, s_dim: int = 2, prior: str = "per_domain", n_components: int = 4,
                 n_domains: int | None = None, beta: float = 1.0, s_input: str = "image", kl_warmup: int = 0,
                 likelihood: str = "bernoulli",
                 channels: Sequence[int] = (32, 32, 64, 64), hidden_dim: int = 256, lr: float = 1e-4,
                 batch_size: int = 64, steps: int = 3000, grad_clip: float | None = None, seed: int = 0,
                 device: str = "cpu"):
        self.z_dim = z_dim
        self.s_dim = s_dim
        self.prior = prior
        self.n_components = n_components
        self.n_domains = n_domains
        self.beta = beta
        self.s_input = s_input
        self.kl_warmup = kl_warmup
        latent = z_dim + s_dim if isinstance(z_dim, int) and isinstance(s_dim, int) else 1
        super().__init__(latent_dim=latent, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        params.pop("latent_dim", None)  # derived: z_dim + s_dim
        return params

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.z_dim = check_number(self.z_dim, "z_dim", owner, low=1, integer=True)
        self.s_dim = check_number(self.s_dim, "s_dim", owner, low=1, integer=True)
        self.latent_dim = self.z_dim + self.s_dim
        check_choice(self.prior, "prior", owner, PRIORS)
        check_choice(self.s_input, "s_input", owner, S_INPUTS)
        self.n_components = check_number(self.n_components, "n_components", owner, low=1, integer=True)
        if self.n_domains is not None:
            self.n_domains = check_number(self.n_domains, "n_domains", owner, low=1, integer=True)
        self.beta = check_number(self.beta, "beta", owner, low=0)
        self.kl_warmup = check_number(self.kl_warmup, "kl_warmup", owner, low=0, integer=True)

    # ------------------------------------------------------------------ building
    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "decoder", "prior")

    def _on_training_set(self, training_set: Any) -> None:
        self._domains_to_build = domains_to_build(training_set, self.n_domains, type(self).__name__)

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, nn.Module]:
        n_domains = getattr(self, "_domains_to_build", None) or self.n_domains or 1
        return {
            "encoder": GCRLEncoder(image_shape, self.z_dim, self.s_dim, channels=self.channels,
                                   hidden_dim=self.hidden_dim, s_input=self.s_input),
            "decoder": ConvDecoder(latent_dim, image_shape, channels=self.channels, hidden_dim=self.hidden_dim),
            "prior": DomainPrior(self.s_dim, n_domains, self.prior, self.n_components),
        }

    @property
    def _fitted_z_dim(self) -> int:
        """Invariant units of the fitted model (``z_dim`` set after fit does not change its codes)."""
        return int(self.latent_dim_) - self.prior_.s_dim

    @property
    def n_domains_(self) -> int:
        """Domains the prior knows: the training domains plus those added by :meth:`adapt`."""
        self._check_fitted()
        return self.prior_.n_domains

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "n_domains": self.prior_.n_domains,
                "adaptations": list(getattr(self, "adaptations_", []))}

    def _load_extra_state(self, state: Any) -> None:
        super()._load_extra_state(state)
        self.adaptations_ = list(state.get("adaptations", []))

    def load_state_dict(self, state: Any) -> GCRL:
        saved = state.get("extra", {}).get("n_domains")
        if saved is not None:
            self._domains_to_build = int(saved)
        return super().load_state_dict(state)

    def _build(self, image_shape: Sequence[int], *, n_factors: int | None = None,
               device: torch.device | str | None = None) -> None:
        super()._build(image_shape, n_factors=n_factors, device=device)
        self.adaptations_: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ training
    def _elbo_terms(self, images: torch.Tensor, domain: torch.Tensor, generator: torch.Generator,
                    encoder: Any = None, decoder: Any = None, prior: Any = None) -> dict[str, torch.Tensor]:
        mean, logvar = self._posterior(images, encoder or self.encoder_)
        codes = self._reparameterise(mean, logvar, generator)
        recon = self._reconstruction((decoder or self.decoder_)(codes), images)
        z = self._fitted_z_dim
        kl_z = gaussian_kl(mean[:, :z], logvar[:, :z]).sum(1).mean()
        kl_s = (prior or self.prior_)(mean[:, z:], logvar[:, z:], codes[:, z:], domain).mean()
        loss = recon + self.beta * (kl_z + kl_s)
        return {"loss": loss, "recon": recon, "kl_z": kl_z, "kl_s": kl_s}

    def loss(self, images: torch.Tensor, step: int, domain: torch.Tensor) -> StepOutput:
        """Negative ELBO of ``images`` (B, C, H, W) from domains ``domain`` (B,) int64."""
        terms = self._elbo_terms(images, domain, self._generator, self._net("encoder"), self._net("decoder"),
                                 self._net("prior"))
        if self.kl_warmup and step < self.kl_warmup:  # the KL weight ramps linearly to beta (Bowman et al. 2016)
            ramp = (step + 1) / self.kl_warmup
            terms["loss"] = terms["recon"] + ramp * self.beta * (terms["kl_z"] + terms["kl_s"])
        return StepOutput({"model": terms["loss"]}, terms)

    def _prior_sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Codes (n, D): z ~ N(0, I), s ~ p(s | e) with e uniform over the known domains."""
        z = torch.randn((n, self._fitted_z_dim), generator=generator)
        domain = torch.randint(0, self.prior_.n_domains, (n,), generator=generator)
        return torch.cat([z, self.prior_.sample(domain, generator)], dim=1)

    # ------------------------------------------------------------------ adaptation
    def adapt(self, data: Any, *, refit: str = "prior", steps: int = 100, lr: float | None = None,
              batch_size: int | None = None, seed: int = 0, solver: str = "auto") -> GCRL:
        """Fit a new domain from its images; returns ``self``.

        Appends domain ``d = n_domains_`` to the prior (initialised at the average of the known
        domains) and maximises the ELBO of ``data`` in domain ``d`` over the parameters ``refit``
        names, in a small seeded loop of its own. Every other parameter is left bit-identical. A call
        that fails or is interrupted part-way leaves the model as it was (no new domain, the refit
        parameters restored) and raises.

        Solvers: ``"adam"`` takes gradient steps. ``"moments"`` (``refit="prior"`` with
        ``prior="per_domain"`` only) sets the new domain's Gaussian prior, after each minibatch, to
        the mean and variance of the variant posteriors of every distinct image seen so far, each
        counted once however often it was drawn, ``mu = E[m]``, ``var = E[exp(logvar) + (m - mu)^2]``:
        with the encoder and decoder fixed, the ELBO depends on the prior only through
        ``-KL(q(s | x) || p(s | e))``, and that moment match is its exact maximiser over the images
        seen (the M-step of EM) — over all of ``data`` once every image was drawn. ``"auto"``: moments
        where they apply, Adam otherwise.

        Parameters
        ----------
        data : Batch or array (N, C, H, W)
            Images of the new domain, float32 in [0, 1] (a Batch's ``domain`` is ignored: all of
            them are the new domain).
        refit : {"prior", "s_branch", "all"}
            ``"prior"``: the new domain's prior parameters only (the paper's adaptation);
            ``"s_branch"``: those and the variant encoder branch; ``"all"``: every parameter.
        steps : int
            Optimisation steps (>= 1).
        lr : float, optional
            Learning rate (default: the learner's ``lr``).
        batch_size : int, optional
            Minibatch size (default: the learner's, at most N).
        seed : int
            Seeds the minibatches and the posterior samples.
        solver : {"auto", "adam", "moments"}
            See above.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError, TypeError
            Bad ``refit``, ``steps``, ``lr``, ``batch_size``, ``seed`` or images (the message names it).
        """
        owner = f"{type(self).__name__}.adapt"
        images = self._images_tensor(data, "adapt").to(self.device_)
        check_choice(refit, "refit", owner, REFITS)
        steps = check_number(steps, "steps", owner, low=1, integer=True)
        lr = self.lr if lr is None else check_number(lr, "lr", owner, low=0, low_inclusive=False)
        size = min(images.shape[0], self.batch_size if batch_size is None
                   else check_number(batch_size, "batch_size", owner, low=1, integer=True))
        seed = check_number(seed, "seed", owner, low=0, integer=True)
        check_choice(solver, "solver", owner, SOLVERS)
        closed_form = refit == "prior" and self.prior_.kind == "per_domain"  # the fitted prior's kind
        if solver == "moments" and not closed_form:
            raise ValueError(f"{owner}: solver='moments' needs refit='prior' and prior='per_domain'; got refit="
                             f"{refit!r}, prior={self.prior_.kind!r}.")
        solver = ("moments" if closed_form else "adam") if solver == "auto" else solver
        domain = self.prior_.add_domain()
        named = {f"prior.{k}": p for k, p in self.prior_.domain_parameters(domain).items()}
        if refit == "s_branch":
            named.update({f"encoder.s_branch.{k}": p for k, p in self.encoder_.s_branch.named_parameters()})
        elif refit == "all":
            named = {f"{module}.{k}": p for module, net in self._modules().items() for k, p in net.named_parameters()}
        trained = list(named.values())
        every = [p for net in self._modules().values() for p in net.parameters()]
        flags = [p.requires_grad for p in every]
        # what a failed or interrupted call restores: the refit parameters that existed before it
        before = [(p, p.detach().clone()) for p in trained if refit != "prior"]
        for p in every:
            p.requires_grad_(False)
        for p in trained:
            p.requires_grad_(True)
        optimizer = torch.optim.Adam(trained, lr=lr, betas=(0.9, 0.999), eps=1e-8) if solver == "adam" else None
        generator = torch.Generator(device=self.device_)
        generator.manual_seed(seed)
        labels = torch.full((size,), domain, dtype=torch.int64, device=self.device_)
        history = []
        split = self._fitted_z_dim
        # moments of the distinct images seen so far, each counted once: count, sum m, sum var + m^2
        seen = torch.zeros(3, self.prior_.s_dim, dtype=torch.float64, device=self.device_)
        counted = torch.zeros(images.shape[0], dtype=torch.bool, device=self.device_)
        try:
            for _ in range(steps):
                rows = torch.randperm(images.shape[0], generator=generator, device=self.device_)[:size]
                if solver == "moments":
                    with torch.no_grad():
                        fresh = rows[~counted[rows]]  # an image drawn again adds nothing: it is already counted
                        if len(fresh):
                            counted[fresh] = True
                            mean, logvar = self._posterior(images[fresh], self.encoder_)
                            m, v = mean[:, split:].double(), logvar[:, split:].double().exp()
                            seen += torch.stack([torch.full_like(m[0], len(m)), m.sum(0), (v + m ** 2).sum(0)])
                            mu = seen[1] / seen[0]
                            variance = (seen[2] / seen[0] - mu ** 2).clamp_min(1e-8)
                            self.prior_.means[domain].copy_(mu.to(mean.dtype))
                            self.prior_.logvars[domain].copy_(variance.log().to(mean.dtype))
                        loss = self._elbo_terms(images[rows], labels, generator)["loss"]
                else:
                    loss = self._elbo_terms(images[rows], labels, generator)["loss"]
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                history.append(float(loss.detach()))
        except BaseException:  # no half-adapted domain outside adaptations_, no half-refit parameters
            with torch.no_grad():
                for p, value in before:
                    p.copy_(value)
            self.prior_.drop_last_domain()
            raise
        finally:
            for p, flag in zip(every, flags):
                p.requires_grad_(flag)
        self.adaptations_.append({"domain": domain, "refit": refit, "solver": solver, "steps": steps, "lr": lr,
                                  "n_images": int(images.shape[0]), "parameters": sorted(named),
                                  "loss_first": history[0], "loss_last": history[-1]})
        return self

    def encode_parts(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """(z (N, z_dim), s (N, s_dim)): posterior means of the invariant and variant latents."""
        codes = self.encode(x)
        return codes[:, :self._fitted_z_dim], codes[:, self._fitted_z_dim:]
