"""Linear Gaussian latent SCMs seen through a random MLP, with one perfect intervention per latent.

The synthetic data model of Buchholz et al. (NeurIPS 2023), "Learning linear causal representations from
interventions under general nonlinear mixing", reimplemented from the paper and the settings of the authors' code
(``settings.yaml`` and ``data_generation.py`` in simonbing/CRLSanityCheck, ``crc/baselines/contrastive_crl``; read,
not copied; the random streams are ours):

- a random DAG over d latents in a random order, each pair joined with probability ``min(1, degree / (d - 1))``
  (expected average degree ``degree`` up to the complete DAG's ``d - 1``), weights uniform in ±[0.25, 1];
- noise ``eps_i ~ N(0, sigma_i^2)`` with ``sigma_i^2`` uniform in [1, 2];
- context ``k`` (one per latent) replaces latent ``k``'s mechanism by ``N(mu_k, tau_k^2)`` with ``|mu_k|`` uniform
  in [1, 2] (random sign) and ``tau_k^2`` uniform in [1, 2];
- observations ``x = f(z)`` with ``f`` a random MLP ``d -> 512 -> ... -> p`` (``layers`` hidden layers of 512,
  leaky ReLU 0.2, torch's default uniform initialisation), or the identity / a random linear map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from latentscm._validation import as_generator, check_array, check_choice, check_names, check_number

if TYPE_CHECKING:  # pragma: no cover
    from latentscm.graph import CausalGraph
    from latentscm.scm.mechanisms import Mechanism
    from latentscm.worlds.regimes import Regime

__all__ = ["InterventionalLatents", "LatentWorldStructure", "MIXINGS", "simulate_interventional_latents"]


class LatentWorldStructure(NamedTuple):
    """A drawn latent model as a world's causal structure (:meth:`InterventionalLatents.world_structure`).

    ``graph`` and ``mechanisms`` go to a world's constructor (``make(name, graph=..., mechanisms=...)``); ``regimes``
    is the observational regime then context ``k``'s perfect intervention on latent ``k``, for ``world.sample(n,
    seed=..., regime=regimes[k])``.
    """

    graph: CausalGraph
    mechanisms: dict[str, Mechanism]
    regimes: list[Regime]

#: Mixing functions :func:`simulate_interventional_latents` draws.
MIXINGS = ("mlp", "linear", "identity")


@dataclass(frozen=True, eq=False)
class InterventionalLatents:
    """A drawn latent model and its mixing.

    Attributes
    ----------
    weights: (d, d) ``weights[j, i]``: the coefficient of latent ``j`` in latent ``i``'s mechanism.
    noise_variances: (d,) observational noise variances ``sigma_i^2``.
    intervention_means, intervention_variances: (d,) ``mu_k`` and ``tau_k^2`` of context ``k``.
    layers: the mixing's (weight (out, in), bias (out,)) pairs; leaky ReLUs between them.
    """

    weights: np.ndarray
    noise_variances: np.ndarray
    intervention_means: np.ndarray
    intervention_variances: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    negative_slope: float = 0.2

    @property
    def d(self) -> int:
        """The number of latents."""
        return self.weights.shape[0]

    def sample_latents(self, n: int, context: int | None, seed: int | np.random.Generator) -> np.ndarray:
        """Latents (n, d) of the observational context (``context=None``) or of context ``k`` (latent ``k`` set to
        ``N(mu_k, tau_k^2)``, its parents cut)."""
        owner = "InterventionalLatents.sample_latents"
        n = int(check_number(n, "n", owner, low=1, integer=True))
        weights = self.weights.copy()
        means = np.zeros(self.d)
        variances = self.noise_variances.copy()
        if context is not None:
            k = int(check_number(context, "context", owner, low=0, high=self.d - 1, integer=True))
            weights[:, k] = 0.0
            means[k] = self.intervention_means[k]
            variances[k] = self.intervention_variances[k]
        noise = means + np.sqrt(variances) * as_generator(seed).normal(size=(n, self.d))
        # z = z W + eps (row vectors)  =>  z = eps (I - W)^-1
        return np.linalg.solve((np.eye(self.d) - weights).T, noise.T).T

    def world_structure(self, names: Sequence[str], *, scale: float = 1.0,
                        offset: Sequence[float] | None = None) -> LatentWorldStructure:
        """This latent model as the causal structure of a world whose factors ``names`` (d) are the latents, each
        latent ``z_i`` becoming the factor ``offset_i + scale * z_i`` (to fit the world's factor ranges, e.g. balls
        apart; the SCM stays linear with the same weights): ``LinearGaussian`` mechanisms (noise standard deviation
        ``scale * sigma_i``, the bias that keeps the offsets) and, for context ``k``, a regime replacing latent
        ``k``'s mechanism by ``N(offset_k + scale * mu_k, (scale * tau_k)^2)`` with every parent's weight 0. The
        world renders the factors in place of :meth:`mix`, and keeps each sample's noise, so its exact
        counterfactuals hold under this model (values the world clips to its ranges excepted)."""
        from latentscm.graph import CausalGraph
        from latentscm.scm.mechanisms import LinearGaussian
        from latentscm.worlds.regimes import OBSERVATIONAL, Regime

        owner = "InterventionalLatents.world_structure"
        names = [str(n) for n in check_names(names, "names", owner, size=self.d)]
        scale = check_number(scale, "scale", owner, low=0, low_inclusive=False)
        shift = np.zeros(self.d) if offset is None else check_array(offset, "offset", owner, ndim=1)
        if shift.shape != (self.d,):
            raise ValueError(f"The 'offset' argument of {owner} must hold one value per latent ({self.d}). Got shape "
                             f"{shift.shape}.")
        edges = [(names[j], names[i]) for j, i in zip(*np.nonzero(self.weights))]
        graph = CausalGraph(edges, nodes=names)
        mechanisms: dict[str, Mechanism] = {}
        regimes: list[Regime] = [OBSERVATIONAL]
        for i, name in enumerate(names):
            parents = {names[j]: float(self.weights[j, i]) for j in np.flatnonzero(self.weights[:, i])}
            bias = float(shift[i] - self.weights[:, i] @ shift)  # x = offset + scale z solves the shifted SCM
            mechanisms[name] = LinearGaussian(parents, bias=bias, std=scale * float(np.sqrt(self.noise_variances[i])))
            cut = LinearGaussian(dict.fromkeys(parents, 0.0),
                                 bias=float(shift[i]) + scale * float(self.intervention_means[i]),
                                 std=scale * float(np.sqrt(self.intervention_variances[i])))
            regimes.append(Regime(f"do({name})", mechanisms={name: cut}))
        return LatentWorldStructure(graph, mechanisms, regimes)

    def mix(self, z: np.ndarray) -> np.ndarray:
        """Observations (n, p) of latents ``z`` (n, d)."""
        x = check_array(z, "z", "InterventionalLatents.mix", ndim=2)
        if x.shape[1] != self.d:
            raise ValueError(f"InterventionalLatents.mix: 'z' has {x.shape[1]} columns for {self.d} latents.")
        for i, (weight, bias) in enumerate(self.layers):
            x = x @ weight.T + bias
            if i < len(self.layers) - 1:
                x = np.where(x > 0, x, self.negative_slope * x)
        return x

    def sample(self, n: int, seed: int | np.random.Generator) -> tuple[np.ndarray, list[np.ndarray], np.ndarray,
                                                                        list[np.ndarray]]:
        """``(x_obs, x_int, z_obs, z_int)``: n observational rows and n rows of each context (observations (n, p)
        and their latents (n, d))."""
        rng = as_generator(seed)
        z_obs = self.sample_latents(n, None, rng)
        z_int = [self.sample_latents(n, k, rng) for k in range(self.d)]
        return self.mix(z_obs), [self.mix(z) for z in z_int], z_obs, z_int


def simulate_interventional_latents(d: int, *, p: int = 20, degree: float = 2.0, mixing: str = "mlp",
                                    hidden: int = 512, layers: int = 3,
                                    weight_range: Sequence[float] = (0.25, 1.0),
                                    noise_variance_range: Sequence[float] = (1.0, 2.0),
                                    intervention_variance_range: Sequence[float] = (1.0, 2.0),
                                    mean_range: Sequence[float] = (1.0, 2.0),
                                    seed: int | np.random.Generator = 0) -> InterventionalLatents:
    """Draw a latent model and a mixing (see the module docstring). ``mixing="identity"`` needs ``p == d``."""
    owner = "simulate_interventional_latents"
    d = int(check_number(d, "d", owner, low=1, integer=True))
    p = int(check_number(p, "p", owner, low=d, integer=True))
    degree = check_number(degree, "degree", owner, low=0)
    mixing = check_choice(mixing, "mixing", owner, MIXINGS)
    hidden = int(check_number(hidden, "hidden", owner, low=1, integer=True))
    layers = int(check_number(layers, "layers", owner, low=0, integer=True))
    ranges = {}
    for name, value in (("weight_range", weight_range), ("noise_variance_range", noise_variance_range),
                        ("intervention_variance_range", intervention_variance_range), ("mean_range", mean_range)):
        pair = check_array(value, name, owner, ndim=1)
        if pair.shape != (2,) or pair[0] > pair[1] or pair[0] < 0 or (name.endswith("variance_range") and
                                                                       pair[0] <= 0):
            raise ValueError(f"The {name!r} parameter of {owner} must be (low, high) with 0 <= low <= high (variances "
                             f"above 0). Got {value!r}.")
        ranges[name] = pair
    if mixing == "identity" and p != d:
        raise ValueError(f"The identity mixing of {owner} needs p == d. Got p={p} for d={d}.")
    rng = as_generator(seed)
    order = rng.permutation(d)
    chance = min(1.0, degree / (d - 1)) if d > 1 else 0.0
    weights = np.zeros((d, d))
    for a in range(d):
        for b in range(a + 1, d):
            if rng.random() < chance:
                weights[order[a], order[b]] = rng.choice([-1.0, 1.0]) * rng.uniform(*ranges["weight_range"])
    noise = rng.uniform(*ranges["noise_variance_range"], size=d)
    intervened = rng.uniform(*ranges["intervention_variance_range"], size=d)
    means = rng.choice([-1.0, 1.0], size=d) * rng.uniform(*ranges["mean_range"], size=d)
    if mixing == "identity":
        network: list[tuple[np.ndarray, np.ndarray]] = []
    elif mixing == "linear":
        network = [(rng.normal(size=(p, d)) / np.sqrt(d), np.zeros(p))]
    else:
        widths = [d, *([hidden] * layers), p]
        network = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            bound = 1.0 / np.sqrt(fan_in)  # torch.nn.Linear's default initialisation
            network.append((rng.uniform(-bound, bound, size=(fan_out, fan_in)), rng.uniform(-bound, bound,
                                                                                              size=fan_out)))
    return InterventionalLatents(weights=weights, noise_variances=noise, intervention_means=means,
                                 intervention_variances=intervened, layers=tuple(network))
