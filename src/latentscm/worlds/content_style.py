"""The content/style simulator: Gaussian content and style latents seen through an invertible MLP.

The numerical data model of von Kügelgen, Sharma, Gresele, Brendel, Schölkopf, Besserve & Locatello
(NeurIPS 2021), "Self-supervised learning with data augmentations provably isolates content from
style" (official code: ysharma1126/ssl_identifiability, ``main_mlp.py``, read for the data model, not
copied):

- content ``c ~ N(0, Sigma_c)`` (``content`` latents ``c0 ...``);
- style ``s = B c + a + e``, ``e ~ N(0, Sigma_s)`` (``style`` latents ``s0 ...``); ``B`` and ``a`` are
  drawn from N(0, 1) when ``dependence="linear"`` (the paper's *content-dependent style*) and zero
  with ``"none"``;
- ``Sigma_c`` and ``Sigma_s`` are Wishart draws (``n`` degrees of freedom, identity scale) with
  ``correlated=True`` (the paper's *statistical dependence* within each block), else identity;
  ``wishart_df`` more degrees of freedom (``k``) make the draw nearer ``k`` times the identity (correlations
  of order ``1 / sqrt(k)``), fewer near-degenerate blocks;
- observations ``x = sigmoid(g(z) / h)``, ``z = (c, s)``
  (:class:`~latentscm.worlds.invertible_mlp.InvertibleMLP`): ``g`` an invertible MLP of ``mixing_layers``
  square linear maps without bias and leaky ReLUs (slope 0.2) between them, each matrix a uniform
  (-1, 1) draw with unit-norm columns whose condition number lies below the 1% quantile of 1000 such
  draws (the "pcl" initialisation of Hyvärinen & Morioka that the official code uses); ``h`` is a
  scale that keeps the sigmoid out of saturation. The sigmoid is this library's addition, so that
  observations lie in (0, 1) like every world's images; it is invertible, and :meth:`read_factors`
  undoes the whole mixing exactly. Observations are vectors stored as (N, n, 1, 1).

As a structural causal model, each Gaussian block is written in the order of its latents through the
Cholesky factor of its covariance (``c_j`` has parents ``c_0 ... c_{j-1}`` when correlated), and each
style latent also has every content latent as a parent when ``dependence="linear"``. A counterfactual
that sets style keeps content, which is what :class:`~latentscm.learners.contrastive.ContrastiveCRL`
trains on (``style_factors=world.style_names``). The paper's augmentation adds Gaussian noise to a
random subset of style; a World pair sets that subset to values drawn from other samples instead (a
draw from their marginal), the change the identifiability result also covers (any change of a random
style subset with a smooth density).

Latent ranges are ±8 standard deviations of the exact marginals (values beyond are clipped, which a
Gaussian reaches with probability ~1e-15 per value).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import wishart

from latentscm._validation import check_choice, check_number
from latentscm.graph import CausalGraph
from latentscm.scm.mechanisms import LinearGaussian
from latentscm.worlds.base import FactorSpec, World
from latentscm.worlds.invertible_mlp import InvertibleMLP

__all__ = ["ContentStyle", "DEPENDENCES"]

DEPENDENCES = ("none", "linear")


def _block_mechanisms(names: list[str], covariance: np.ndarray, mean: np.ndarray,
                      extra: dict[str, np.ndarray] | None = None, *, within: bool = True) -> dict[str, LinearGaussian]:
    """Linear Gaussian mechanisms (in the order of ``names``) whose joint is ``N(mean + B p, covariance)``: the
    block's Cholesky factor ``L`` gives ``x_j = mean_j + B_j p + sum_{i<j} W_ji (x_i - mean_i - B_i p) + L_jj e_j``
    with ``W_j = L_{j,<j} L_{<j,<j}^{-1}``. ``extra`` maps the outside parents' names (``p``) to their columns of
    ``B`` (len(names),). ``within=False`` (a diagonal covariance) gives no parents inside the block."""
    extra = extra or {}
    outside = list(extra)
    b = np.stack([extra[name] for name in outside], axis=1) if outside else np.zeros((len(names), 0))
    chol = np.linalg.cholesky(covariance)
    mechanisms = {}
    for j, name in enumerate(names):
        w = np.linalg.solve(chol[:j, :j].T, chol[j, :j]) if j and within else np.zeros(0)  # L_{j,<j} L_{<j,<j}^-1
        weights = {names[i]: float(w[i]) for i in range(w.size)}
        for k, parent in enumerate(outside):
            weights[parent] = float(b[j, k] - w @ b[:w.size, k])
        mechanisms[name] = LinearGaussian(weights, bias=float(mean[j] - w @ mean[:w.size]), std=float(chol[j, j]))
    return mechanisms


class ContentStyle(World):
    """Content and style latents through an invertible MLP (see the module docstring).

    Parameters
    ----------
    content : int, default 5
        Number of content latents (>= 1), named ``c0 ...``.
    style : int, default 5
        Number of style latents (>= 1), named ``s0 ...``.
    dependence : {"none", "linear"}, default "linear"
        ``"linear"``: style depends on content, ``s = B c + a + e`` (the paper's content-dependent style).
    correlated : bool, default False
        Wishart covariances within the content and the style blocks (the paper's statistical dependence).
    mixing_layers : int, default 3
        Linear maps of the mixing MLP (>= 1; the official default).
    seed : int, default 0
        Seeds the covariances, ``B``, ``a`` and the mixing.
    wishart_df : int or None, default None
        Degrees of freedom of the Wishart draws with ``correlated=True`` (>= the block's size; ``None``: the
        block's size, the paper's draw).
    """

    name = "content-style"

    def __init__(self, *, content: int = 5, style: int = 5, dependence: str = "linear", correlated: bool = False,
                 mixing_layers: int = 3, seed: int = 0, wishart_df: int | None = None):
        owner = type(self).__name__
        self.content = check_number(content, "content", owner, low=1, integer=True)
        self.style = check_number(style, "style", owner, low=1, integer=True)
        self.dependence = check_choice(dependence, "dependence", owner, DEPENDENCES)
        if not isinstance(correlated, (bool, np.bool_)):
            raise TypeError(f"The 'correlated' parameter of {owner} must be True or False. Got {correlated!r}.")
        self.correlated = bool(correlated)
        self.wishart_df = None if wishart_df is None else check_number(
            wishart_df, "wishart_df", owner, low=max(self.content, self.style), integer=True)
        if self.wishart_df is not None and not self.correlated:
            raise ValueError(f"The 'wishart_df' parameter of {owner} sets the Wishart draws of correlated=True; with "
                             f"correlated=False the covariances are the identity. Got wishart_df={wishart_df!r}.")
        self.mixing_layers = check_number(mixing_layers, "mixing_layers", owner, low=1, integer=True)
        self.seed = check_number(seed, "seed", owner, low=0, integer=True)
        nc, ns = self.content, self.style
        n = nc + ns
        self.content_names = [f"c{i}" for i in range(nc)]
        self.style_names = [f"s{i}" for i in range(ns)]
        rng = np.random.default_rng([self.seed, 1])
        if self.correlated:
            cov_c = np.atleast_2d(wishart.rvs(self.wishart_df or nc, np.eye(nc), random_state=rng))
            cov_s = np.atleast_2d(wishart.rvs(self.wishart_df or ns, np.eye(ns), random_state=rng))
        else:
            cov_c, cov_s = np.eye(nc), np.eye(ns)
        if self.dependence == "linear":
            b, a = rng.standard_normal((ns, nc)), rng.standard_normal(ns)
        else:
            b, a = np.zeros((ns, nc)), np.zeros(ns)
        #: the data model's parameters: content and style covariances, ``B`` (style, content) and ``a`` (style,)
        self.content_cov_, self.style_cov_, self.style_weights_, self.style_bias_ = cov_c, cov_s, b, a
        mechanisms = _block_mechanisms(self.content_names, cov_c, np.zeros(nc), within=self.correlated)
        mechanisms.update(_block_mechanisms(self.style_names, cov_s, a,
                                            {name: b[:, k] for k, name in enumerate(self.content_names)}
                                            if self.dependence == "linear" else None, within=self.correlated))
        edges = [(parent, name) for name, mechanism in mechanisms.items() for parent in mechanism.parent_names]
        graph = CausalGraph(edges, nodes=self.content_names + self.style_names)
        # exact marginals: c ~ N(0, cov_c), s ~ N(a, B cov_c B^T + cov_s)
        mean = np.concatenate([np.zeros(nc), a])
        std = np.sqrt(np.concatenate([np.diag(cov_c), np.diag(b @ cov_c @ b.T + cov_s)]))
        self.factor_specs = tuple(
            FactorSpec(name, low=float(mean[j] - 8 * std[j]), high=float(mean[j] + 8 * std[j]),
                       description=f"{'content' if j < nc else 'style'} latent {j if j < nc else j - nc}")
            for j, name in enumerate(self.content_names + self.style_names))
        self.image_shape = (n, 1, 1)
        self._options = {"content": nc, "style": ns, "dependence": self.dependence, "correlated": self.correlated,
                         "mixing_layers": self.mixing_layers, "seed": self.seed}
        if self.wishart_df is not None:  # recorded only when given, so earlier configs read the same
            self._options["wishart_df"] = self.wishart_df
        self._init_structure(None, None, default_graph=graph, default_mechanisms=mechanisms)
        self._mixing = InvertibleMLP(n, self.mixing_layers, np.random.default_rng([self.seed, 2]))
        values = self.scm.sample(2000, seed=np.random.default_rng([self.seed, 3]))
        self._mixing.calibrate(np.stack([values[name] for name in self.factor_names], axis=1))

    def mix(self, factors: np.ndarray) -> np.ndarray:
        """Observations (N, n) float64 in (0, 1) of latents (N, n)."""
        return self._mixing.mix(factors)

    def unmix(self, observations: np.ndarray) -> np.ndarray:
        """Latents (N, n) of observations (N, n) in (0, 1): the exact inverse of :meth:`mix`."""
        return self._mixing.unmix(observations)

    def read_factors(self, images: np.ndarray) -> np.ndarray:
        """Exact latents (N, n) of observations (N, n, 1, 1) or (N, n) (float32 observations: up to their rounding)."""
        images = np.asarray(images)
        return self.unmix(images.reshape(images.shape[0], self.content + self.style))

    def _render(self, factors: np.ndarray, render_seeds: np.ndarray | None) -> np.ndarray:
        n = self.content + self.style
        return self.mix(factors).astype(np.float32).reshape(-1, n, 1, 1)
