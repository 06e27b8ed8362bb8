"""The ILD vector simulator: per-domain linear latent SCMs seen through a shared invertible mixing.

Data model of Zhou, Bai, Kulinski, Kocaoglu & Inouye (ICLR 2024), "Towards characterizing domain
counterfactuals for invertible latent causal models" (ILD, invertible latent domain causal
model): exogenous noise ``eps ~ N(0, I_m)`` shared by all domains; latents ``z = f_d(eps)`` from a
linear SCM whose mechanisms differ across domains only for the nodes in ``int_set`` (the
intervention set); observations ``x = g(z)`` with one invertible mixing ``g`` for every domain.
The domain counterfactual of ``x`` in domain ``d'`` is ``g(f_{d'}(f_d^{-1}(g^{-1}(x))))``.

Here (a reimplementation from the paper's description, not its code):

- the latent graph is a random DAG over ``z0 .. z{m-1}`` in that topological order (each
  forward edge present with probability ``edge_prob``);
- every mechanism is :class:`AffineGaussian`, ``z_i = w_i . pa_i + b_i + s_i * eps_i``: domain 0
  draws weights, biases and scales once; domain ``d > 0`` redraws them for the nodes of
  ``int_set`` (soft interventions that keep the parents);
- ``g`` is an invertible leaky-ReLU network of ``depth`` square layers (well-conditioned random
  matrices) followed by a sigmoid, so observations lie in (0, 1) like every world's images; they
  are vectors stored as ``(N, m, 1, 1)``. :meth:`ILDLinear.read_factors` inverts ``g`` exactly
  (up to float32 rounding), so domain-counterfactual soundness is measured on exact latents.

``variant="official"`` follows the official simulator instead (``simulated/dataset.py`` of
inouye-lab/ild-domain-counterfactuals, read, not copied), so its sparse-vs-dense claim can be checked
on its own data:

- every forward edge ``z_i -> z_j`` (``edge_prob`` 1 by default) with weight ``A[i, j] ~ N(0, 1)``,
  unit noise scales and no structural bias;
- every domain (domain 0 too) redraws the incoming weights of the ``int_set`` nodes, and adds one
  scalar bias ``b_d = (4u - 2) sqrt(m / |I|)``, ``u ~ U(0, 1)``, to the ``int_set`` latents *after*
  the SCM is solved, so the bias does not reach their children. In this library's structural form
  that is a bias ``b_d`` on each ``int_set`` node and ``-sum_{i in I} A_d[i, j] b_d`` on each child
  ``j``, so the domains' replaced mechanisms are those of ``int_set`` *and* of its children;
- the mixing is a leaky ReLU of slope 0.5, division by the pilot's standard deviation, and one linear
  map ``G ~ N(0, 1)`` rescaled to ``|det G| = 1`` (``x = (leaky(z) / std) @ G``). The official
  observations are unbounded; here the same elementwise sigmoid as the default variant follows, so
  observations stay in (0, 1) and ILD's ``logit`` undoes it exactly.

Latent ranges are ±8 standard deviations of a pilot sample over all domains (values beyond are
clipped, which a Gaussian reaches with probability ~1e-15 per value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.graph import CausalGraph
from latentscm.scm.mechanisms import InvertibleMechanism
from latentscm.scm.noise import Normal
from latentscm.worlds.base import FactorSpec, World
from latentscm.worlds.domains import DomainRegime, DomainShift, perturb_mechanism
from latentscm.worlds.regimes import OBSERVATIONAL

__all__ = ["ILDLinear", "AffineGaussian", "EquivalentILD", "VARIANTS"]

LEAK = 0.2  # slope of the leaky ReLU in g (invertible: 1/LEAK on the negative side)
OFFICIAL_LEAK = 0.5  # the official simulator's leaky-ReLU slope (its main.py default)
VARIANTS = ("latentscm", "official")


class AffineGaussian(InvertibleMechanism):
    """``value = parents @ weights + bias + scale * u``, ``u ~ N(0, 1)`` (a linear Gaussian SCM
    mechanism whose noise scale is a parameter of the mechanism, not of the noise, so domains
    can change it while sharing the noise)."""

    def __init__(self, weights: Sequence[float], bias: float, scale: float, parent_names: Sequence[str]):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = float(bias)
        self.scale = float(scale)
        if not self.scale > 0:
            raise ValueError(f"The 'scale' of AffineGaussian must be > 0. Got {scale!r}.")
        self.parent_names = tuple(parent_names)
        self.n_parents = len(self.parent_names)
        if self.weights.shape != (self.n_parents,):
            raise ValueError(f"AffineGaussian has {self.n_parents} parents but weights of shape {self.weights.shape}.")
        self.noise = Normal(0.0, 1.0)

    def evaluate(self, parents, noise):
        return parents @ self.weights + self.bias + self.scale * noise

    def abduct(self, values, parents, *, rng=None):
        return (values - parents @ self.weights - self.bias) / self.scale

    def __repr__(self) -> str:
        return (f"AffineGaussian(weights={np.round(self.weights, 6).tolist()}, bias={self.bias:.6g}, "
                f"scale={self.scale:.6g})")


def _draw_mechanism(rng: np.random.Generator, parents: tuple[str, ...]) -> AffineGaussian:
    signs = rng.choice([-1.0, 1.0], size=len(parents))
    weights = signs * rng.uniform(0.5, 1.5, size=len(parents)) / math.sqrt(max(len(parents), 1))
    return AffineGaussian(weights, rng.uniform(-2.0, 2.0), rng.uniform(0.5, 1.5), parents)


@perturb_mechanism.register
def _(mechanism: AffineGaussian, spec, rng, strength):
    weights = mechanism.weights * np.exp(strength * rng.standard_normal(mechanism.weights.shape) / 2.0)
    return AffineGaussian(weights, mechanism.bias + strength * rng.standard_normal(),
                          mechanism.scale * math.exp(strength * rng.standard_normal() / 2.0), mechanism.parent_names)


def _official_mechanisms(rng: np.random.Generator, base_weights: np.ndarray, graph: CausalGraph,
                         names: list[str], int_set: tuple[int, ...]
                         ) -> tuple[dict[str, AffineGaussian], np.ndarray, float]:
    """One domain of the official simulator in structural form: the ``int_set`` columns of the
    weight matrix redrawn N(0, 1), and the post-solve bias ``b_d`` on the ``int_set`` latents
    written as structural biases (``b_d`` on the node, ``-A_d[i, j] b_d`` per ``int_set`` parent).
    Returns the mechanisms, the reduced-form weights A_d (m, m) on the graph's edges and b_d."""
    m = len(names)
    weights = base_weights.copy()
    redrawn = rng.standard_normal((m, m))
    weights[:, list(int_set)] = redrawn[:, list(int_set)]
    bias = (4.0 * rng.uniform() - 2.0) * math.sqrt(m / len(int_set))
    shifted = np.zeros(m)
    shifted[list(int_set)] = bias
    weights = weights * graph.adjacency
    mechanisms = {}
    for j, name in enumerate(names):
        parents = graph.parents(name)
        rows = [names.index(p) for p in parents]
        column = weights[rows, j]
        mechanisms[name] = AffineGaussian(column, shifted[j] - float(column @ shifted[rows]), 1.0, parents)
    return mechanisms, weights, bias


def _same(a: AffineGaussian, b: AffineGaussian) -> bool:
    return bool(np.array_equal(a.weights, b.weights) and a.bias == b.bias and a.scale == b.scale)


def _random_matrix(rng: np.random.Generator, m: int) -> np.ndarray:
    """An orthogonal matrix times singular values in [0.5, 1.5]: invertible and well conditioned."""
    q1, _ = np.linalg.qr(rng.standard_normal((m, m)))
    q2, _ = np.linalg.qr(rng.standard_normal((m, m)))
    return q1 @ np.diag(rng.uniform(0.5, 1.5, size=m)) @ q2


class ILDLinear(World):
    """The ILD simulator (see the module docstring).

    Parameters
    ----------
    latent_dim : int
        Number of latent variables m (>= 2); observations have m entries too.
    n_domains : int
        Number of domains (>= 2).
    int_set : sequence of int
        Indices of the latents whose mechanisms differ across domains (non-empty, distinct, in
        ``[0, latent_dim)``).
    edge_prob : float or None
        Probability of each forward edge ``z_i -> z_j`` (i < j) of the latent DAG; None means 0.5
        (``"latentscm"``) or 1 (``"official"``: the complete DAG).
    depth : int or None
        Number of square leaky-ReLU layers of the mixing ``g`` (>= 1); None means 2. The official
        variant's mixing is fixed (one leaky ReLU, one linear map): it takes None only.
    variant : {"latentscm", "official"}
        This library's simulator, or the official one's SCM and mixing (module docstring).
    seed : int
        Seeds the graph, the mechanisms of every domain and the mixing.
    """

    name = "ild-linear"

    def __init__(self, *, latent_dim: int = 6, n_domains: int = 3, int_set: Sequence[int] = (0, 1),
                 edge_prob: float | None = None, depth: int | None = None, variant: str = "latentscm",
                 seed: int = 0):
        owner = type(self).__name__
        self.variant = check_choice(variant, "variant", owner, VARIANTS)
        official = self.variant == "official"
        if official and depth is not None:
            raise ValueError(f"The 'depth' parameter of {owner} must be None with variant='official' (its mixing is "
                             f"one leaky ReLU and one linear map). Got {depth!r}.")
        if edge_prob is None:
            edge_prob = 1.0 if official else 0.5
        if depth is None:
            depth = 1 if official else 2
        self.latent_dim = check_number(latent_dim, "latent_dim", owner, low=2, integer=True)
        n_domains = check_number(n_domains, "n_domains", owner, low=2, integer=True)  # World.n_domains reads it back
        if isinstance(int_set, (int, np.integer)) or not isinstance(int_set, Sequence) or not int_set:
            raise ValueError(f"The 'int_set' parameter of {owner} must be a non-empty sequence of latent indices. "
                             f"Got {int_set!r}.")
        for i in int_set:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.latent_dim:
                raise ValueError(f"The 'int_set' parameter of {owner} must hold ints in [0, {self.latent_dim}). "
                                 f"Got {i!r}.")
        if len(set(int_set)) != len(int_set):
            raise ValueError(f"The 'int_set' parameter of {owner} lists an index twice: {list(int_set)}.")
        self.int_set = tuple(int(i) for i in int_set)
        self.edge_prob = check_number(edge_prob, "edge_prob", owner, low=0.0, high=1.0)
        self.depth = check_number(depth, "depth", owner, low=1, integer=True)
        self.seed = check_number(seed, "seed", owner, low=0, integer=True)
        self._options = {"latent_dim": self.latent_dim, "n_domains": n_domains, "int_set": self.int_set,
                         "edge_prob": self.edge_prob, "depth": None if official else self.depth,
                         "variant": self.variant, "seed": self.seed}
        m = self.latent_dim
        names = [f"z{i}" for i in range(m)]
        rng = np.random.default_rng([self.seed, 0])
        edges = [(names[i], names[j]) for j in range(m) for i in range(j) if rng.uniform() < self.edge_prob]
        graph = CausalGraph(edges, nodes=names)
        if official:
            full = np.random.default_rng([self.seed, 4]).standard_normal((m, m))
            drawn = [_official_mechanisms(np.random.default_rng([self.seed, 4, d + 1]), full, graph, names,
                                          self.int_set) for d in range(n_domains)]
            domain_mechanisms = [mechanisms for mechanisms, _, _ in drawn]
            #: reduced form per domain, ``z = eps (I - A_d)^{-1} + b_d 1_I``: A_d (D, m, m) and b_d (D,)
            self.official_weights_ = np.stack([weights for _, weights, _ in drawn])
            self.official_bias_ = np.array([bias for _, _, bias in drawn])
            base = domain_mechanisms[0]
        else:
            base = {name: _draw_mechanism(np.random.default_rng([self.seed, 1, 0, j]), graph.parents(name))
                    for j, name in enumerate(names)}
        self.image_shape = (m, 1, 1)
        # placeholder ranges for the pilot; replaced below
        self.factor_specs = tuple(FactorSpec(n, low=-1e6, high=1e6) for n in names)
        self._init_structure(graph, base)
        shifted = tuple(names[i] for i in self.int_set)
        if official:  # the int_set nodes and, through the post-solve bias, their children
            shifted = tuple(name for name in names
                            if any(not _same(mechanisms[name], base[name]) for mechanisms in domain_mechanisms[1:]))
        regimes = [DomainRegime("domain0", {}, {}, domain=0, base=OBSERVATIONAL)]
        for d in range(1, n_domains):
            if official:
                mechanisms = {name: domain_mechanisms[d][name] for name in shifted}
            else:
                mechanisms = {name: _draw_mechanism(np.random.default_rng([self.seed, 1, d, names.index(name)]),
                                                    graph.parents(name)) for name in shifted}
            regimes.append(DomainRegime(f"domain{d}", {}, mechanisms, domain=d, base=OBSERVATIONAL))
        self._domain_shift = DomainShift(n_domains, shifted=shifted, kind="mechanism", strength=1.0,
                                         seed=self.seed)
        self._domain_regimes = tuple(regimes)
        # mixing g: x = sigmoid(h / c), h = L_depth(lrelu(... lrelu(L_1 z))) with z standardised
        pilot = np.concatenate([
            np.stack([v for v in self._regime_scm(r, {}).sample(2000, seed=np.random.default_rng([self.seed, 2, d])
                                                                 ).values()], axis=1)[:, :m]
            for d, r in enumerate(regimes)])
        pilot_values = {name: pilot[:, j] for j, name in enumerate(names)}
        self._z_mean = pilot.mean(axis=0)
        self._z_std = pilot.std(axis=0) + 1e-12
        self.factor_specs = tuple(FactorSpec(n, low=float(self._z_mean[j] - 8 * self._z_std[j]),
                                             high=float(self._z_mean[j] + 8 * self._z_std[j]),
                                             description=f"latent {j} of the linear SCM") for j, n in enumerate(names))
        self._init_structure(graph, base)
        mix_rng = np.random.default_rng([self.seed, 3])
        if official:
            g = mix_rng.standard_normal((m, m))
            self._g = g / abs(np.linalg.det(g)) ** (1.0 / m)
            self._v_std = self._leaky(pilot).std(axis=0) + 1e-12
            self._layers = []
        else:
            self._layers = [(_random_matrix(mix_rng, m), mix_rng.uniform(-0.5, 0.5, size=m))
                            for _ in range(self.depth)]
        h = self._hidden(np.stack([pilot_values[n] for n in names], axis=1))
        self._h_scale = float(h.std()) / 1.5

    # ------------------------------------------------------------------ mixing
    @staticmethod
    def _leaky(z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, OFFICIAL_LEAK * z)

    def _hidden(self, factors: np.ndarray) -> np.ndarray:
        if self.variant == "official":  # x = (leaky(z) / std) @ G, the official z_to_x
            return (self._leaky(factors) / self._v_std) @ self._g
        h = (factors - self._z_mean) / self._z_std
        for i, (matrix, bias) in enumerate(self._layers):
            h = h @ matrix.T + bias
            if i < len(self._layers) - 1:
                h = np.where(h > 0, h, LEAK * h)
        return h

    def mix(self, factors: np.ndarray) -> np.ndarray:
        """Observations (N, m) float64 in (0, 1) of latents (N, m)."""
        return 1.0 / (1.0 + np.exp(-self._hidden(np.asarray(factors, dtype=np.float64)) / self._h_scale))

    def unmix(self, observations: np.ndarray) -> np.ndarray:
        """Latents (N, m) of observations (N, m) (the exact inverse of :meth:`mix`)."""
        return self._unmix(np.clip(np.asarray(observations, dtype=np.float64), 1e-12, 1 - 1e-12))[0]

    def _unmix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latents (N, m) of observations x (N, m) in (0, 1), and ``log |det dz/dx|`` (N,)."""
        m = self.latent_dim
        # observations -> hidden: h = h_scale * logit(x); d h / d x = h_scale / (x (1 - x)) per entry
        h = (np.log(x) - np.log1p(-x)) * self._h_scale
        logdet = m * math.log(self._h_scale) - np.log(x * (1 - x)).sum(axis=1)
        if self.variant == "official":  # h = (leaky(z) / v_std) @ G
            v = np.linalg.solve(self._g.T, h.T).T * self._v_std
            logdet = logdet - math.log(abs(np.linalg.det(self._g))) + np.log(self._v_std).sum()
            logdet = logdet + (v < 0).sum(axis=1) * math.log(1.0 / OFFICIAL_LEAK)
            return np.where(v > 0, v, v / OFFICIAL_LEAK), logdet
        for i, (matrix, bias) in reversed(list(enumerate(self._layers))):
            if i < len(self._layers) - 1:
                logdet = logdet + (h < 0).sum(axis=1) * math.log(1.0 / LEAK)
                h = np.where(h > 0, h, h / LEAK)
            h = np.linalg.solve(matrix, (h - bias).T).T
            logdet = logdet - np.linalg.slogdet(matrix)[1]
        return h * self._z_std + self._z_mean, logdet + np.log(self._z_std).sum()

    def _mechanism(self, domain: int, name: str) -> AffineGaussian:
        """Latent ``name``'s mechanism in domain ``domain`` (the domain's replacement, else the base SCM's)."""
        mechanism = self._domain_regimes[domain].mechanisms.get(name) or self.scm.mechanisms[name]
        return getattr(mechanism, "base", mechanism)  # OnGrid wrappers of the base SCM

    def log_density(self, observations: np.ndarray, domain: int | np.ndarray) -> np.ndarray:
        """Exact log-density (N,) of observations (N, m) or (N, m, 1, 1) in (0, 1) under domain(s)
        ``domain`` (an int or (N,) ints): ``log p(z | d) + log |det dz/dx|`` with ``z`` the exact
        latents of :meth:`unmix` and ``p(z | d)`` the domain's linear Gaussian SCM
        (``sum_i log N(eps_i) - log s_i``). The ground truth a density model of this world is
        measured against: no model's expected log-likelihood on fresh samples exceeds its mean.
        """
        x = np.asarray(observations, dtype=np.float64)
        x = x.reshape(x.shape[0], -1) if x.ndim >= 2 else x
        m = self.latent_dim
        if x.ndim != 2 or x.shape[1] != m:
            raise ValueError(f"{type(self).__name__}.log_density: 'observations' must be (N, {m}) or (N, {m}, 1, 1). "
                             f"Got shape {np.asarray(observations).shape}.")
        if not np.all((x > 0) & (x < 1)):
            raise ValueError(f"{type(self).__name__}.log_density: 'observations' must lie strictly inside (0, 1).")
        n = x.shape[0]
        d = np.broadcast_to(np.asarray(domain), (n,)) if np.ndim(domain) == 0 else np.asarray(domain)
        if d.shape != (n,) or not np.issubdtype(d.dtype, np.integer) or (n and (d.min() < 0
                                                                              or d.max() >= self.n_domains)):
            raise ValueError(f"{type(self).__name__}.log_density: 'domain' must be an int or ({n},) ints in "
                             f"[0, {self.n_domains}). Got {np.asarray(domain)!r:.80}.")
        z, logdet = self._unmix(x)
        names = self.factor_names
        log_p = np.zeros(n)
        for e in np.unique(d):
            rows = d == e
            for j, name in enumerate(names):
                mechanism = self._mechanism(int(e), name)
                parents = np.stack([z[rows, names.index(p)] for p in mechanism.parent_names], axis=1) \
                    if mechanism.parent_names else np.zeros((int(rows.sum()), 0))
                eps = mechanism.abduct(z[rows, j], parents)
                log_p[rows] += -0.5 * eps ** 2 - 0.5 * math.log(2 * math.pi) - math.log(mechanism.scale)
        return log_p + logdet

    def reduced_form(self, domain: int) -> tuple[np.ndarray, np.ndarray]:
        """Domain ``domain``'s latent SCM solved for its noise: ``(F (m, m), b (m,))`` with
        ``z = F @ eps + b`` exactly, ``eps ~ N(0, I_m)`` the shared exogenous noise. The latents are in
        topological order and every noise scale is positive, so ``F`` is lower triangular with a
        positive diagonal: the Cholesky factor of the domain's latent covariance."""
        if isinstance(domain, bool) or not isinstance(domain, (int, np.integer)) or not 0 <= domain < self.n_domains:
            raise ValueError(f"{type(self).__name__}.reduced_form: 'domain' must be an int in [0, {self.n_domains}). "
                             f"Got {domain!r}.")
        m, names = self.latent_dim, self.factor_names
        noise = np.vstack([np.zeros((1, m)), np.eye(m)])  # row 0: eps = 0 (gives b); row 1 + i: eps = e_i
        z = np.zeros((m + 1, m))
        for j, name in enumerate(names):
            mechanism = self._mechanism(int(domain), name)
            parents = z[:, [names.index(p) for p in mechanism.parent_names]]
            z[:, j] = mechanism.evaluate(parents, noise[:, j])
        return (z[1:] - z[0]).T, z[0].copy()

    def invariant_basis(self) -> np.ndarray:
        """Orthonormal rows (r, m) spanning the linear functions ``c @ z`` of the latents that are the
        same function of the shared noise in every domain: ``c @ F_d = c @ F_0`` and
        ``c @ b_d = c @ b_0`` for every domain ``d`` (:meth:`reduced_form`), found as the left null
        space of the stacked differences. These are what a canonical ILD model (Zhou et al., ICLR
        2024) can put first, as latents with shared mechanisms and no domain-specific ancestors. For
        this library's variant they are the residuals ``z_j - sum_i w_ji z_i`` of the unshifted
        latents, so ``r = m - |I|`` wherever the shifted latents sit in the causal order; the official
        variant's domain bias also moves the children of the shifted latents, but only along one
        direction, so there ``r`` can exceed ``m`` minus the number of moved mechanisms."""
        forms = [self.reduced_form(d) for d in range(self.n_domains)]
        f0, b0 = forms[0]
        differences = np.concatenate([np.column_stack([f - f0, b - b0]) for f, b in forms[1:]], axis=1)
        u, singular, _ = np.linalg.svd(differences, full_matrices=True)
        rank = int((singular > 1e-9 * max(1.0, float(np.abs(differences).max()))).sum())
        return u[:, rank:].T.copy()

    def random_remix(self, k: int | None = None, *, seed: int = 0) -> np.ndarray:
        """A random latent re-mixing ``P`` (m, m), entries N(0, 1), for :meth:`equivalent`.

        ``k=None``: every entry free, so ``equivalent(P)`` is a dense ILD model. An int ``k``: the
        first ``m - k`` rows of ``P`` are random combinations (N(0, 1) weights) of
        :meth:`invariant_basis`, so the first
        ``m - k`` mechanisms of ``equivalent(P)`` are the same in every domain (its
        ``n_specific_ <= k``): a sparse (``structure="relax_can"``) ILD model with ``k``
        domain-specific latents that fits every domain exactly. Drawing many such ``P`` samples the
        set of exact fits a sparsity-``k`` model can land on. Raises if no such model exists
        (``k`` below the number of shifted latents ``|I|``).
        """
        m = self.latent_dim
        rng = np.random.default_rng([check_number(seed, "seed", "ILDLinear.random_remix", low=0, integer=True), 29])
        remix = rng.standard_normal((m, m))
        if k is None:
            return remix
        k = check_number(k, "k", "ILDLinear.random_remix", low=1, high=m, integer=True)
        basis = self.invariant_basis()
        if m - k > len(basis):
            raise ValueError(f"ILDLinear.random_remix: no ILD model with k={k} domain-specific latents fits this "
                             f"world exactly; only {len(basis)} directions of its latents are the same in every "
                             f"domain (invariant_basis), so k must be at least {m - len(basis)}.")
        remix[: m - k] = rng.standard_normal((m - k, len(basis))) @ basis
        return remix

    def equivalent(self, remix: np.ndarray) -> EquivalentILD:
        """The ILD model that re-mixes this world's latents by ``remix`` (P, (m, m), invertible):
        latents ``z' = P z``, mixing ``g o P^-1``, and in each domain the linear Gaussian SCM
        ``z' = L_d eps + P b_d`` with ``L_d`` the Cholesky factor of ``P Sigma_d P^T``
        (:meth:`reduced_form`). It gives every domain exactly this world's distribution
        (:meth:`EquivalentILD.log_density` equals :meth:`log_density`), so no amount of data tells it
        apart from the truth, yet its domain counterfactuals differ from the exact ones unless ``P``
        keeps the Cholesky factors' triangular form (e.g. lower triangular with a positive diagonal).
        A general ``P`` gives a dense model; :meth:`random_remix` with ``k`` a sparse one. The spread
        of the counterfactual error over ``P`` is how wrong an ILD model of that sparsity can be on
        this world while fitting it perfectly (Zhou et al., ICLR 2024: dense models are not
        identified up to domain counterfactuals, and their error bound grows with the sparsity k)."""
        return EquivalentILD(self, remix)

    def read_factors(self, images: np.ndarray) -> np.ndarray:
        """Exact latents (N, m) of observations (N, m, 1, 1) or (N, m)."""
        images = np.asarray(images)
        return self.unmix(images.reshape(images.shape[0], self.latent_dim))

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        return self.mix(factors).astype(np.float32).reshape(-1, self.latent_dim, 1, 1)


class EquivalentILD:
    """An ILD model distributionally equivalent to an :class:`ILDLinear` world (see
    :meth:`ILDLinear.equivalent`); has ``domain_counterfactual`` and ``log_density`` like a fitted
    :class:`~latentscm.learners.ILD`.

    Attributes
    ----------
    cholesky_ : list of (m, m) arrays
        Per domain, the lower-triangular ``L_d`` of the re-mixed latents' SCM.
    means_ : list of (m,) arrays
        Per domain, the mean ``P b_d`` of the re-mixed latents.
    n_specific_ : int
        Number of trailing mechanisms that differ between domains (the model's intervention
        sparsity): ``m`` minus the number of leading rows of ``(L_d, P b_d)`` equal in every domain.
    """

    def __init__(self, world: ILDLinear, remix: np.ndarray):
        m = world.latent_dim
        remix = np.asarray(remix, dtype=np.float64)
        if remix.shape != (m, m) or not np.all(np.isfinite(remix)):
            raise ValueError(f"ILDLinear.equivalent: 'remix' must be a finite ({m}, {m}) matrix. "
                             f"Got shape {remix.shape}.")
        if np.linalg.cond(remix) > 1e10:
            raise ValueError(f"ILDLinear.equivalent: 'remix' must be invertible (condition number "
                             f"{np.linalg.cond(remix):.3g}).")
        self.world, self.remix = world, remix
        forms = [world.reduced_form(d) for d in range(world.n_domains)]
        self.cholesky_ = [np.linalg.cholesky(remix @ f @ f.T @ remix.T) for f, _ in forms]
        self.means_ = [remix @ b for _, b in forms]
        rows = np.stack([np.column_stack([c, mu]) for c, mu in zip(self.cholesky_, self.means_)])  # (D, m, m + 1)
        scale = 1e-9 * (1.0 + np.abs(rows).max())
        same = np.all(np.abs(rows - rows[:1]).max(axis=(0, 2)).reshape(m, 1) <= scale, axis=1)
        leading = int(np.argmin(same)) if not same.all() else m
        self.n_specific_ = m - leading

    def _domain(self, value: int, what: str) -> int:
        n = self.world.n_domains
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < n:
            raise ValueError(f"EquivalentILD: '{what}' must be a domain index in [0, {n}). Got {value!r}.")
        return int(value)

    def _latents(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
        x = np.asarray(x)
        flat = x.reshape(x.shape[0], -1).astype(np.float64)
        z, logdet = self.world._unmix(np.clip(flat, 1e-12, 1 - 1e-12))
        return z @ self.remix.T, logdet, x.shape

    def domain_counterfactual(self, x: np.ndarray, source: int, target: int) -> np.ndarray:
        """Counterfactuals (same shape and dtype as x (N, m) or (N, m, 1, 1)) of observations from
        domain ``source`` had they come from ``target``: abduct ``eps = L_s^-1 (z' - P b_s)``, then
        ``z' = L_t eps + P b_t``, mixed back through ``g o P^-1``."""
        source, target = self._domain(source, "source"), self._domain(target, "target")
        z, _, shape = self._latents(x)
        eps = np.linalg.solve(self.cholesky_[source], (z - self.means_[source]).T)
        z_cf = (self.cholesky_[target] @ eps).T + self.means_[target]
        return self.world.mix(np.linalg.solve(self.remix, z_cf.T).T).reshape(shape).astype(np.asarray(x).dtype)

    def log_density(self, x: np.ndarray, domain: int) -> np.ndarray:
        """Log-density (N,) of observations in domain ``domain`` under this model (equal to the world's)."""
        domain = self._domain(domain, "domain")
        z, logdet, _ = self._latents(x)
        chol = self.cholesky_[domain]
        eps = np.linalg.solve(chol, (z - self.means_[domain]).T).T
        log_p = (-0.5 * eps ** 2 - 0.5 * math.log(2 * math.pi)).sum(axis=1) - np.log(np.diag(chol)).sum()
        return log_p + np.linalg.slogdet(self.remix)[1] + logdet
