"""ILCM: causal variables and their graph from pairs before and after unknown interventions.

Brehmer, de Haan, Lippe & Cohen, "Weakly supervised causal representation learning" (NeurIPS 2022).
The data are pairs ``(x, x~)``: an image and the same scene after a perfect intervention on one
unknown causal variable, with every exogenous noise value kept (here: a World's exact
counterfactual pairs with ``pair_changes=1``, :mod:`latentscm.worlds.pairs`, drawn without the rule that a pair
shares a factor, so that a root whose descendants are every other factor is intervened on too). No label says which
variable moved. The paper proves that causal variables and graph are identifiable from such pairs
and learns them with an *implicit latent causal model*, reimplemented here from the paper and the
official code (Qualcomm-AI-research/weakly-supervised-causal-representation-learning, read, not copied):

- A Gaussian encoder gives *noise encodings* ``e`` (N, D), one exogenous value per causal variable;
  the decoder maps noise encodings to images. Because an intervention keeps every other noise
  value, the two images of a pair differ in one noise coordinate only, whatever the graph.
- Solution functions ``z_i = s_i(e_i; e_{\\i})`` (:class:`~latentscm.nn.solution_functions.SolutionFunctions`)
  turn noise into causal variables. The prior is ``e ~ N(0, I)`` before the intervention; after
  it, the intervened variable ``z~_i ~ N(0, 1)`` independently of its parents, so the intervened
  noise has density ``N(s_i(e~_i; e); 0, 1) |ds_i/de~_i|``. Learning that density is what makes the
  solution functions, and so the graph, causal.
- An intervention encoder ``q(I | x, x~)`` over "no intervention" and the D single-variable
  interventions: softmax of ``alpha + beta |de_i| + gamma de_i^2`` against 0, on the change of
  the posterior means (the paper's learnable heuristic, ``alpha=-3, beta=gamma=15`` at start).
- For each intervention ``I`` the two posteriors are *projected*: on the coordinates not in ``I``
  both become one random convex combination of the two (the paper's "stochastic" averaging), and
  the sampled partner noise copies the first image's there. The loss is the negative ELBO,
  ``E_q(I)[-log p(x | e) - log p(x~ | e~) + beta (log q(e, e~_I | I) - log p(e, e~ | I))] +
  beta KL(q(I) || uniform)``, plus the official code's regularisers: ``0.01 x`` the squared error of
  plain (unprojected) reconstructions, ``z_weight |e|^2`` early on, and minus the entropy of the
  batch's mean intervention posterior (so that every intervention is used).

Training follows the official schedule (90 epochs, given here as fractions of ``steps``): a β-VAE
warm-up on single images with ``pretrain_beta`` for the first 1/9; ``beta`` rising linearly from 0
over the next 1/9, as the ``|e|^2`` weight falls from 0.01 to 0 and the floor added to the
intervention posterior falls from 0.025 to 1e-4; the intervention prior term (the part that
learns the solution functions) switched on after 1/3; after 2/3 the intervention encoder is
deterministic (each pair takes its most probable intervention). Where the official code weights
``q(I) log q(I)`` by ``q(I)`` a second time, this implementation uses the KL as written in the paper.

After training, the graph is read from the solution functions (:mod:`latentscm.learners.implicit_graph`):
``topological_order_``, ``causal_effects_`` (D, D) and ``latent_graph_`` over units ``z0 ... z{D-1}``.
``encode`` returns the causal variables ``z = s(e)`` of the posterior mean noise (what disentanglement
metrics score); ``encode_noise`` the noise encodings; ``decode`` inverts the solution functions in
topological order before decoding; :meth:`ILCM.intervene` is ``do(z_i = v)`` on images and
:meth:`ILCM.intervention_posterior` infers which unit a pair's intervention hit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from latentscm._validation import check_choice, check_number
from latentscm.graph import CausalGraph
from latentscm.learners.base import Learner, StepOutput, gaussian_kl
from latentscm.learners.implicit_graph import causal_effects, graph_from_effects, topological_order
from latentscm.nn.solution_functions import SolutionFunctions
from latentscm.worlds.pairs import check_pair_changes

__all__ = ["ILCM", "InterventionEncoder", "AVERAGING", "INTERVENTION_SETS", "SCHEDULE"]

AVERAGING = ("stochastic", "mean")
INTERVENTION_SETS = ("atomic_or_none", "atomic")

#: Phase boundaries as fractions of the run's steps (the official 90-epoch schedule): β-VAE warm-up until
#: ``pretrain``; ``beta`` ramp, ``|e|^2`` weight and posterior-floor decay until ``ramp``; the intervention
#: prior from ``interventions``; a deterministic intervention encoder from ``deterministic``.
SCHEDULE = {"pretrain": 1 / 9, "ramp": 2 / 9, "interventions": 1 / 3, "deterministic": 2 / 3}
_Z_WEIGHT = 0.01  # the |e|^2 weight during the warm-up
_FLOOR_START, _FLOOR_END = 0.025, 1e-4  # the floor added to each intervention probability
_LOG_2PI = math.log(2.0 * math.pi)


class InterventionEncoder(nn.Module):
    """``q(I | x, x~)`` over "no intervention" and the D atomic interventions, from the change of the
    posterior means ``delta`` (N, D): softmax of ``[0, alpha + beta |delta_i| + gamma delta_i^2]``,
    with ``floor`` added to each probability and renormalised (N, D + 1). With ``none=False`` the
    "no intervention" option is left out: its column is 0 and the softmax runs over the D others."""

    def __init__(self) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(-3.0))
        self.beta = nn.Parameter(torch.tensor(15.0))
        self.gamma = nn.Parameter(torch.tensor(15.0))

    def forward(self, delta: torch.Tensor, floor: float = 0.0, none: bool = True) -> torch.Tensor:
        logits = self.alpha + self.beta * delta.abs() + self.gamma * delta ** 2
        if not none:
            probs = torch.softmax(logits, dim=1) + floor
            return torch.cat([logits.new_zeros(logits.shape[0], 1), probs / probs.sum(1, keepdim=True)], dim=1)
        logits = torch.cat([logits.new_zeros(logits.shape[0], 1), logits], dim=1)
        probs = torch.softmax(logits, dim=1) + floor
        return probs / probs.sum(1, keepdim=True)


def _normal_log_density(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return -0.5 * (((x - mean) / std) ** 2 + _LOG_2PI) - std.log()


class ILCM(Learner):
    """Implicit latent causal model (Brehmer et al. 2022) trained on pairs before and after one unknown
    intervention each (see the module docstring).

    Parameters
    ----------
    latent_dim : int or None, default None
        Number of causal variables D (``None``: the World's number of factors, as in the paper, which
        takes D as known).
    beta : float, default 1.0
        Final weight of the KL terms (reached after 2/9 of the steps).
    pretrain_beta : float, default 1e-3
        KL weight of the β-VAE warm-up (the official value).
    consistency_weight : float, default 0.01
        Weight of the plain reconstruction error term (the official "consistency" regulariser).
    entropy_weight : float, default 1.0
        Weight of the (negative) entropy of the batch's mean intervention posterior.
    intervention_set : {"atomic_or_none", "atomic"}, default "atomic_or_none"
        The interventions ``q(I | x, x~)`` ranges over: one variable or none (the paper's), or exactly one
        variable, as in every pair a World draws here (the uniform prior and the entropy term then spread
        over the D units only, instead of reserving a share for "none").
    averaging : {"stochastic", "mean"}, default "stochastic"
        How the non-intervened coordinates of a pair's two posteriors are combined: a uniformly random
        convex combination per coordinate (the paper's choice) or their mean.
    scm_hidden, scm_layers : int, default 100, 2
        Width and depth of each solution function's MLP.
    min_scale : float, default 0.2
        Lower bound of each solution function's scale (the official ``min_std``).
    edge_threshold : float, default 0.1
        Causal-effect threshold of ``latent_graph_`` (see :mod:`latentscm.learners.implicit_graph`).
    pair_changes : int, default 1
        Factors intervened on per training pair; the model assumes one (atomic interventions).
    likelihood, channels, hidden_dim, lr, batch_size, steps, grad_clip, seed, device
        See :class:`~latentscm.learners.base.Learner` (here ``lr`` 3e-4 and ``grad_clip`` 10, the
        official values).
    """

    name = "ilcm"
    uses_pairs: ClassVar[bool] = True
    pairs_share_a_factor: ClassVar[bool] = False  # a root that reaches every factor must be intervened on too
    #: codes are the causal variables z = s(e) of the posterior mean noise (encode_distribution describes e)
    codes_are_posterior_means: ClassVar[bool] = False

    def __init__(self, *, latent_dim: int | None = None, beta: float = 1.0, pretrain_beta: float = 1e-3,
                 consistency_weight: float = 0.01, entropy_weight: float = 1.0,
                 intervention_set: str = "atomic_or_none", averaging: str = "stochastic",
                 scm_hidden: int = 100, scm_layers: int = 2, min_scale: float = 0.2, edge_threshold: float = 0.1,
                 pair_changes: int = 1, likelihood: str = "bernoulli", channels: Sequence[int] = (32, 32, 64, 64),
                 hidden_dim: int = 256, lr: float = 3e-4, batch_size: int = 64, steps: int = 3000,
                 grad_clip: float | None = 10.0, seed: int = 0, device: str = "cpu"):
        self.beta = beta
        self.pretrain_beta = pretrain_beta
        self.consistency_weight = consistency_weight
        self.entropy_weight = entropy_weight
        self.intervention_set = intervention_set
        self.averaging = averaging
        self.scm_hidden = scm_hidden
        self.scm_layers = scm_layers
        self.min_scale = min_scale
        self.edge_threshold = edge_threshold
        self.pair_changes = pair_changes
        super().__init__(latent_dim=latent_dim, likelihood=likelihood, channels=channels, hidden_dim=hidden_dim,
                         lr=lr, batch_size=batch_size, steps=steps, grad_clip=grad_clip, seed=seed, device=device)

    # ------------------------------------------------------------------ parameters and modules
    @classmethod
    def _latent_dim_optional(cls) -> bool:
        return True

    def _validate(self) -> None:
        super()._validate()
        owner = type(self).__name__
        self.beta = check_number(self.beta, "beta", owner, low=0)
        self.pretrain_beta = check_number(self.pretrain_beta, "pretrain_beta", owner, low=0)
        self.consistency_weight = check_number(self.consistency_weight, "consistency_weight", owner, low=0)
        self.entropy_weight = check_number(self.entropy_weight, "entropy_weight", owner, low=0)
        self.intervention_set = check_choice(self.intervention_set, "intervention_set", owner, INTERVENTION_SETS)
        self.averaging = check_choice(self.averaging, "averaging", owner, AVERAGING)
        self.scm_hidden = check_number(self.scm_hidden, "scm_hidden", owner, low=1, integer=True)
        self.scm_layers = check_number(self.scm_layers, "scm_layers", owner, low=0, integer=True)
        self.min_scale = check_number(self.min_scale, "min_scale", owner, low=0, low_inclusive=False)
        self.edge_threshold = check_number(self.edge_threshold, "edge_threshold", owner, low=0)
        self.pair_changes = check_pair_changes(self.pair_changes, "pair_changes", owner)
        if self.pair_changes != 1:
            raise ValueError(f"The 'pair_changes' parameter of {owner} must be 1: the model's interventions are "
                             f"atomic (one variable per pair). Got {self.pair_changes!r}.")

    def _resolve_latent_dim(self, n_factors: int | None) -> int:
        if self.latent_dim is None:
            if not n_factors:
                raise ValueError("The 'latent_dim' parameter of ILCM is None, which means the number of factors, but "
                                 "the data has no factors (image pairs); pass latent_dim explicitly.")
            return int(n_factors)
        return int(self.latent_dim)

    def _module_names(self) -> tuple[str, ...]:
        return ("encoder", "decoder", "scm", "interventions")

    def _build_modules(self, image_shape: tuple[int, int, int], latent_dim: int) -> dict[str, nn.Module]:
        modules = super()._build_modules(image_shape, latent_dim)
        modules["scm"] = SolutionFunctions(latent_dim, hidden=self.scm_hidden, layers=self.scm_layers,
                                           min_scale=self.min_scale)
        modules["interventions"] = InterventionEncoder()
        return modules

    # ------------------------------------------------------------------ schedule
    def _progress(self, step: int) -> float:
        return step / max(self._schedule_steps(), 1)

    def schedule(self, step: int) -> dict[str, Any]:
        """The weights in force at optimisation ``step``: ``pretrain`` (bool), ``beta``, ``z_weight``,
        ``floor``, ``interventions`` (bool: the intervention prior is on), ``deterministic`` (bool)."""
        p = self._progress(step)
        ramp = min(max((p - SCHEDULE["pretrain"]) / (SCHEDULE["ramp"] - SCHEDULE["pretrain"]), 0.0), 1.0)
        return {"pretrain": p < SCHEDULE["pretrain"], "beta": self.beta * ramp, "z_weight": _Z_WEIGHT * (1.0 - ramp),
                "floor": _FLOOR_START * (_FLOOR_END / _FLOOR_START) ** ramp,
                "interventions": p >= SCHEDULE["interventions"], "deterministic": p >= SCHEDULE["deterministic"]}

    # ------------------------------------------------------------------ loss
    def _with_none(self) -> bool:
        return self.intervention_set == "atomic_or_none"

    def _options(self, dim: int, device: torch.device) -> torch.Tensor:
        """(D + 1, D) float: row 0 no intervention, row i + 1 an intervention on unit i."""
        return torch.cat([torch.zeros(1, dim, device=device), torch.eye(dim, device=device)])

    def loss(self, images: torch.Tensor, step: int, *, pair: torch.Tensor,
             changed: torch.Tensor | None = None) -> StepOutput:
        """Negative ELBO of each pair (see the module docstring). images, pair : (B, C, H, W)."""
        n, dim = images.shape[0], self.latent_dim_
        settings = self.schedule(step)
        both = torch.cat([images, pair])
        mean, logvar = self._posterior(both, self._net("encoder"))
        decoder = self._net("decoder")
        # regularisers on the plain posteriors (the official code's "consistency" and |e|^2 terms)
        plain = self._reparameterise(mean, logvar, self._generator)
        plain_logits = decoder(plain)
        consistency = 2.0 * (self._likelihood.mean(plain_logits) - both).pow(2).flatten(1).sum(1).mean()
        z_norm = 2.0 * plain.pow(2).sum(1).mean()
        regularisers = self.consistency_weight * consistency + settings["z_weight"] * z_norm
        if settings["pretrain"]:
            recon = 2.0 * self._reconstruction(plain_logits, both)
            kl = 2.0 * gaussian_kl(mean, logvar).sum(1).mean()
            loss = recon + self.pretrain_beta * kl + regularisers
            return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "kl": kl, "consistency": consistency})

        std = (0.5 * logvar).exp()
        mean1, mean2, std1, std2 = mean[:n], mean[n:], std[:n], std[n:]
        none = self._with_none()
        posterior = self._net("interventions")(mean2 - mean1, settings["floor"], none)  # (B, D + 1)
        options = self._options(dim, images.device)
        if not none:  # column 0 ("no intervention") is 0: leave it out of the sums below
            posterior, options = posterior[:, 1:], options[1:]
        n_options = options.shape[0]
        if settings["deterministic"]:  # each pair takes its most probable intervention, weight 1
            masks = options[posterior.argmax(1)].unsqueeze(0)  # (1, B, D)
            weights = posterior.new_ones(1, n)
        else:
            masks = options.unsqueeze(1).expand(n_options, n, dim)  # (O, B, D)
            weights = posterior.T  # (O, B)
        count = masks.shape[0]
        if self.averaging == "stochastic":
            lam = torch.rand((count, n, dim), generator=self._generator, device=images.device)
        else:
            lam = torch.full((count, n, dim), 0.5, device=images.device)
        keep = 1.0 - masks
        joint_mean, joint_std = lam * mean1 + (1 - lam) * mean2, lam * std1 + (1 - lam) * std2
        m1, s1 = masks * mean1 + keep * joint_mean, masks * std1 + keep * joint_std
        m2, s2 = masks * mean2 + keep * joint_mean, masks * std2 + keep * joint_std
        noise = torch.randn((2, count, n, dim), generator=self._generator, device=images.device)
        e1 = m1 + s1 * noise[0]
        e2 = masks * (m2 + s2 * noise[1]) + keep * e1  # the non-intervened noise is shared exactly
        log_q = (_normal_log_density(e1, m1, s1).sum(2)
                 + (masks * _normal_log_density(e2, m2, s2)).sum(2))  # (O, B)
        logits = decoder(torch.cat([e1.reshape(-1, dim), e2.reshape(-1, dim)]))
        targets = torch.cat([images.expand(count, *images.shape).reshape(-1, *images.shape[1:]),
                             pair.expand(count, *pair.shape).reshape(-1, *pair.shape[1:])])
        nll = self._likelihood.nll(logits, targets).reshape(2, count, n).sum(0)  # (O, B)
        log_prior = -0.5 * (e1 ** 2 + _LOG_2PI).sum(2)
        if settings["interventions"]:
            intervened = self._net("scm").intervened_log_prob(e2.reshape(-1, dim), e1.reshape(-1, dim))
            log_prior = log_prior + (masks * intervened.reshape(count, n, dim)).sum(2)
        recon = (weights * nll).sum(0).mean()
        kl_noise = (weights * (log_q - log_prior)).sum(0).mean()
        if settings["deterministic"]:
            kl_targets = posterior.new_tensor(math.log(n_options))  # a point mass against the uniform prior
        else:
            kl_targets = (torch.special.xlogy(posterior, posterior).sum(1) + math.log(n_options)).mean()
        aggregate = posterior.mean(0)
        entropy = -torch.special.xlogy(aggregate, aggregate).sum()
        loss = recon + settings["beta"] * (kl_noise + kl_targets) + regularisers - self.entropy_weight * entropy
        return StepOutput({"model": loss}, {"loss": loss, "recon": recon, "kl": kl_noise, "kl_targets": kl_targets,
                                            "elbo": -(recon + kl_noise + kl_targets), "consistency": consistency,
                                            "target_entropy": entropy})

    # ------------------------------------------------------------------ after training
    def _after_fit(self, images: torch.Tensor) -> None:
        super()._after_fit(images)
        noise = torch.cat(self._batched(images[:2048], lambda b: self._posterior(b)[0].cpu()))
        scm = self.scm_.cpu()
        try:
            with torch.no_grad():
                order = topological_order(scm, noise, seed=self.seed)
                effects = causal_effects(scm, noise, order, seed=self.seed)
        finally:
            self.scm_.to(self.device_)
        self.topological_order_ = order
        self.causal_effects_ = effects

    @property
    def latent_graph_(self) -> CausalGraph:
        """The graph of the fitted causal effects above ``edge_threshold`` (read at each access, so a later
        ``set_params(edge_threshold=...)`` applies, in memory and after loading alike)."""
        if getattr(self, "causal_effects_", None) is None:
            raise AttributeError("latent_graph_: this ILCM has no causal effects (not fitted, or a mid-training "
                                 "checkpoint)")
        return graph_from_effects(self.causal_effects_, self.edge_threshold, self.unit_names())

    def unit_names(self) -> list[str]:
        """Names of the causal variables: ``z0 ... z{D-1}``."""
        self._check_fitted()
        return [f"z{i}" for i in range(self.latent_dim_)]

    def implicit_graph(self, threshold: float) -> CausalGraph:
        """The graph of the fitted causal effects at another ``threshold`` (``latent_graph_`` uses
        ``edge_threshold``)."""
        threshold = check_number(threshold, "threshold", "ILCM.implicit_graph", low=0)
        return graph_from_effects(self._effects(), threshold, self.unit_names())

    def _effects(self) -> np.ndarray:
        self._check_fitted()
        effects = getattr(self, "causal_effects_", None)
        if effects is None:
            raise ValueError("This ILCM has no causal effects yet: they are read from the solution functions when "
                             "training ends (a mid-training checkpoint has none).")
        return effects

    def _order(self) -> list[int] | None:
        return getattr(self, "topological_order_", None)

    def _extra_state(self) -> dict[str, Any]:
        effects = getattr(self, "causal_effects_", None)
        return {**super()._extra_state(), "topological_order": self._order(),
                "causal_effects": None if effects is None else np.asarray(effects).tolist()}

    def load_state_dict(self, state: Mapping[str, Any]) -> Learner:
        super().load_state_dict(state)
        extra = state.get("extra", {})
        order, effects = extra.get("topological_order"), extra.get("causal_effects")
        self.topological_order_ = None if order is None else [int(i) for i in order]
        self.causal_effects_ = None if effects is None else np.asarray(effects, dtype=np.float64)
        return self

    # ------------------------------------------------------------------ inference
    def _encode_tensor(self, images: torch.Tensor, sample: bool, generator: torch.Generator | None) -> torch.Tensor:
        return self.scm_.solve(super()._encode_tensor(images, sample, generator))[0]

    def _prepare_codes(self, codes: torch.Tensor) -> torch.Tensor:
        noise = self.scm_.invert(codes, self._order())
        residual = self.scm_.residual(noise, codes)
        bad = ~(residual <= 1e-3)  # NaN counts as unsolved
        if bool(bad.any()):
            warnings.warn(f"ILCM.decode: {int(bad.sum())} of {codes.shape[0]} codes could not be mapped back to noise "
                          f"(largest |s(e) - z| {float(residual.nan_to_num(float('inf')).max()):.3g}); their images "
                          f"do not show those causal variables. decode_noise(encode_noise(x)) needs no inversion.",
                          RuntimeWarning, stacklevel=4)
        return noise

    def encode_noise(self, x: Any) -> np.ndarray:
        """Noise encodings (N, D) float32 (posterior means of ``e``) of images ``x`` (N, C, H, W)."""
        images = self._images_tensor(x, "encode_noise")
        return torch.cat(self._batched(images, lambda b: self._posterior(b)[0].cpu())).numpy()

    def decode_noise(self, e: Any) -> np.ndarray:
        """Mean images (N, C, H, W) float32 in [0, 1] of noise encodings ``e`` (N, D)."""
        codes = self._codes_tensor(e, "decode_noise", argument="e")
        return torch.cat(self._batched(codes, lambda b: self._likelihood.mean(self.decoder_(b)).cpu())).numpy()

    def sample(self, n: int, *, seed: int) -> np.ndarray:
        """``n`` generated images (n, C, H, W): noise ``e ~ N(0, I)`` decoded, seeded."""
        self._check_fitted()
        n = check_number(n, "n", "ILCM.sample", low=1, integer=True)
        generator = self._seeded_generator(seed, "sample", device="cpu")
        return self.decode_noise(torch.randn((n, self.latent_dim_), generator=generator).numpy())

    def intervene(self, x: Any, values: Mapping[int, Any]) -> np.ndarray:
        """``do(z_i = v)`` for each ``unit: value`` of ``values`` (a number, or one per image (N,)): images
        (N, C, H, W) of ``x`` (N, C, H, W) after the interventions, every other noise value kept (abduction,
        action, prediction in the model's own terms). Units are set in topological order, each seeing the
        noise set before it."""
        images = self._images_tensor(x, "intervene")
        owner = "ILCM.intervene"
        if not isinstance(values, Mapping) or not values:
            raise ValueError(f"The 'values' argument of {owner} must be a non-empty mapping unit -> value. "
                             f"Got {values!r}.")
        chosen: dict[int, torch.Tensor] = {}
        for unit, value in values.items():
            if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or not 0 <= unit < self.latent_dim_:
                raise ValueError(f"The 'values' argument of {owner} names unit {unit!r}; units are 0 ... "
                                 f"{self.latent_dim_ - 1}.")
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                array = np.full(1, np.nan)  # refused below, naming the unit
            if array.ndim == 0:
                array = np.full(images.shape[0], float(array))
            if array.shape != (images.shape[0],) or not np.all(np.isfinite(array)):
                raise ValueError(f"The 'values' argument of {owner} sets unit {unit} to {value!r}; give one finite "
                                 f"number, or one per image ({images.shape[0]},).")
            chosen[int(unit)] = torch.from_numpy(array.astype(np.float32))
        order = self._order() or list(range(self.latent_dim_))
        targets = [int(u) for u in order if int(u) in chosen]
        columns = torch.stack([chosen[u] for u in targets], dim=1)  # (N, T)
        rows = torch.cat([images.flatten(1), columns], dim=1)  # images and their values batched together
        shape = images.shape[1:]

        def run(batch: torch.Tensor) -> torch.Tensor:
            pictures, settings = batch[:, :-len(targets)].reshape(-1, *shape), batch[:, -len(targets):]
            noise = self._posterior(pictures)[0]
            for k, unit in enumerate(targets):
                noise[:, unit] = self.scm_.invert_one(unit, settings[:, k], noise)
            return self._likelihood.mean(self.decoder_(noise)).cpu()

        return torch.cat(self._batched(rows, run)).numpy()

    def intervention_posterior(self, first: Any, second: Any) -> np.ndarray:
        """``q(I | first, second)`` (N, D + 1) float32 for image pairs (each (N, C, H, W)): column 0 "no
        intervention" (0 with ``intervention_set="atomic"``), column ``i + 1`` an intervention on unit ``i`` (the
        final, floor-free encoder)."""
        owner = "intervention_posterior"
        first = self._images_tensor(first, owner, argument="first")
        second = self._images_tensor(second, owner, argument="second")
        if first.shape != second.shape:
            raise ValueError(f"The 'second' argument of ILCM.{owner} must have the shape of 'first' "
                             f"{tuple(first.shape)}. Got {tuple(second.shape)}.")
        delta = torch.cat(self._batched(torch.cat([first, second], dim=1),
                                        lambda b: (self._posterior(b[:, first.shape[1]:])[0]
                                                   - self._posterior(b[:, :first.shape[1]])[0])))
        with torch.no_grad():
            return self.interventions_(delta, 0.0, self._with_none()).cpu().numpy()

    def interventional_graph(self, first: Any, second: Any, *, method: str = "gies", penalty_discount: float = 1.0,
                             options: dict[str, Any] | None = None) -> Any:
        """A graph over the units from pairs (each (N, C, H, W)) by interventional discovery on the model's own
        causal variables: ``encode(first)`` as observational rows and ``encode(second)`` as rows intervened on the
        unit :meth:`intervention_targets` names (observational where it names none).

        ``method="gies"`` (default): GIES (Hauser & Bühlmann 2012, :func:`latentscm.discovery.gies`, perfect
        interventions, a linear-Gaussian score; ``penalty_discount`` its BIC penalty). ``method="enco"``: ENCO (Lippe
        et al. 2022, :func:`latentscm.discovery.enco`, neural Gaussian conditionals), the second post-hoc method of
        Brehmer et al.; ``options`` are its keyword parameters (e.g. ``{"epochs": 10, "seed": 1}``). Returns a
        :class:`~latentscm.discovery.result.DiscoveredGraph` over ``z0 ... z{D-1}``."""
        from latentscm.discovery import enco, gies

        method = check_choice(method, "method", f"{type(self).__name__}.interventional_graph", ("gies", "enco"))
        if options is not None and method != "enco":
            raise ValueError(f"The 'options' argument of {type(self).__name__}.interventional_graph is ENCO's "
                             "parameters (method='enco'); GIES takes penalty_discount.")
        targets = self.intervention_targets(first, second)
        data = np.concatenate([self.encode(first), self.encode(second)]).astype(np.float64)
        sets = [()] * len(targets) + [() if t < 0 else (int(t),) for t in targets]
        if method == "enco":
            return enco(data, sets, node_names=self.unit_names(), **(options or {}))
        return gies(data, sets, penalty_discount=penalty_discount, node_names=self.unit_names())

    def intervention_targets(self, first: Any, second: Any) -> np.ndarray:
        """(N,) int64: the most probable intervened unit of each pair, -1 for "no intervention"."""
        return self.intervention_posterior(first, second).argmax(1).astype(np.int64) - 1
