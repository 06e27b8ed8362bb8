"""Decomposable local scores for score-based discovery (GES, XGES, BOSS, GFCI): the linear-Gaussian BIC and, for
categorical data, BDeu.

For a node ``i`` with parents ``P`` and ``n`` rows, the BIC local score (higher is better) is

    s(i, P) = -n/2 * (1 + log sigma2(i | P)) - penalty_discount / 2 * (|P| + 1) * log n

where ``sigma2(i | P) = C_ii - C_iP C_PP^{-1} C_Pi`` is the maximum-likelihood residual variance of the
linear regression of ``i`` on ``P``, from the covariance matrix ``C`` (divisor n). The first term is the
maximised Gaussian log-likelihood without its constant ``-n/2 log(2 pi)``; ``|P| + 1`` counts the
regression weights and the noise variance (Schwarz 1978; Chickering 2002, JMLR 3, Sec. 2). The score of a
DAG is the sum of its nodes' local scores; Markov-equivalent DAGs get the same score. With
``penalty_discount = 2 * lambda`` this is causal-learn's ``local_score_BIC`` (penalty ``lambda``, default
0.5, i.e. ``penalty_discount = 1``: the usual BIC).

BDeu (Heckerman, Geiger & Chickering 1995, "Learning Bayesian networks: the combination of knowledge and
statistical data", Machine Learning 20; Buntine 1991) is the log marginal likelihood of a categorical node under a
Dirichlet prior that spreads an equivalent sample size ``a`` evenly over the ``q`` parent configurations and ``r``
states of node ``i``:

    s(i, P) = sum_j [lgamma(a/q) - lgamma(a/q + N_ij)] + sum_jk [lgamma(a/(q r) + N_ijk) - lgamma(a/(q r))]
              + |P| log rho + (d - 1 - |P|) log(1 - rho)

with ``N_ijk`` the rows where the parents take configuration j and node i state k, ``N_ij = sum_k N_ijk``. The last
line is a structure prior: each of the d - 1 possible parents present with probability ``rho = structure_prior /
(d - 1)`` (an expected ``structure_prior`` parents per node; causal-learn's and Tetrad's default 1); it depends on
the number of edges only, so the score stays equal across Markov-equivalent DAGs.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.special import gammaln

from latentscm._validation import check_number

__all__ = ["BDeu", "GaussianBIC", "InterventionalGaussianBIC", "LocalScore"]


class LocalScore:
    """A decomposable score (higher is better) with its local scores cached under (node, parent set): the interface
    the score-based searches use. Subclasses set ``n_nodes`` and ``penalty_discount`` (None where the score has
    none) and implement :meth:`_compute`."""

    n_nodes: int
    penalty_discount: float | None

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], float] = {}

    @property
    def n_computed(self) -> int:
        """Number of distinct (node, parent set) local scores computed so far."""
        return len(self._cache)

    def local(self, node: int, parents: Iterable[int]) -> float:
        """Local score s(node, parents); parents are column positions."""
        mask = 0
        for p in parents:
            mask |= 1 << int(p)
        return self.local_mask(int(node), mask)

    def local_mask(self, node: int, mask: int) -> float:
        """Local score with the parent set given as a bit mask (bit ``p`` set for parent ``p``)."""
        key = (node, mask)
        value = self._cache.get(key)
        if value is None:
            value = float(self._compute(node, [p for p in range(self.n_nodes) if mask >> p & 1], mask))
            self._cache[key] = value
        return value

    def _compute(self, node: int, parents: list[int], mask: int) -> float:
        """The local score of ``node`` with ``parents`` (positions; ``mask`` the same as bits), uncached."""
        raise NotImplementedError

    def dag_score(self, dag: np.ndarray) -> float:
        """Score of a DAG (adjacency (d, d), ``[i, j] = 1`` for ``i -> j``): the sum of its local scores."""
        dag = np.asarray(dag)
        return float(sum(self.local(j, np.flatnonzero(dag[:, j])) for j in range(self.n_nodes)))


class GaussianBIC(LocalScore):
    """Cached linear-Gaussian BIC local scores of the columns of a data matrix.

    Parameters
    ----------
    data: float array (n, d), already validated (finite, no constant column).
    penalty_discount: multiplier of the BIC penalty (> 0; 1 is the usual BIC, larger gives sparser graphs).

    Local scores are cached under (node, parent set); ``n_computed`` counts the ones actually computed.
    """

    def __init__(self, data: np.ndarray, *, penalty_discount: float = 1.0) -> None:
        super().__init__()
        self.penalty_discount = check_number(penalty_discount, "penalty_discount", "GaussianBIC", low=0,
                                             low_inclusive=False)
        matrix = np.asarray(data, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] < 2:
            raise ValueError(f"The 'data' argument of GaussianBIC must be 2-D with at least 2 rows. Got shape "
                             f"{matrix.shape}.")
        self.n_samples, self.n_nodes = matrix.shape
        #: covariance matrix (d, d) with divisor n (the maximum-likelihood estimate)
        self.covariance = np.atleast_2d(np.cov(matrix, rowvar=False, ddof=0))
        self._penalty = 0.5 * self.penalty_discount * np.log(self.n_samples)

    def residual_variance(self, node: int, parents: Iterable[int]) -> float:
        """Maximum-likelihood residual variance of ``node`` regressed on ``parents`` (column positions)."""
        return _residual_variance(self.covariance, node, parents)

    def _compute(self, node: int, parents: list[int], mask: int) -> float:
        variance = self.residual_variance(node, parents)
        return -0.5 * self.n_samples * (1.0 + np.log(variance)) - self._penalty * (len(parents) + 1)


def _residual_variance(cov: np.ndarray, node: int, parents: Iterable[int]) -> float:
    """``C_ii - C_iP C_PP^{-1} C_Pi`` of a covariance matrix (d, d), floored just above 0."""
    parents = sorted(set(parents))
    floor = np.finfo(np.float64).eps * max(float(cov[node, node]), np.finfo(np.float64).tiny)
    if not parents:
        return max(float(cov[node, node]), floor)
    c_pp = cov[np.ix_(parents, parents)]
    c_pi = cov[parents, node]
    try:
        weights = np.linalg.solve(c_pp, c_pi)
    except np.linalg.LinAlgError:  # exactly collinear parents: the least-squares fit is still defined
        weights = np.linalg.pinv(c_pp) @ c_pi
    variance = float(cov[node, node] - c_pi @ weights)
    # a deterministic fit (or rounding below zero) would make the log-likelihood infinite
    return max(variance, floor)


class InterventionalGaussianBIC(LocalScore):
    """The linear-Gaussian BIC for a mix of observational and interventional data with known targets (Hauser &
    Bühlmann 2012, "Characterization and greedy learning of interventional Markov equivalence classes of directed
    acyclic graphs", JMLR 13, §4.1 and §6).

    A row whose targets include node ``i`` says nothing about ``i``'s observational mechanism, so ``i``'s local score
    uses only the ``n_i`` rows that do not intervene on it:

        s(i, P) = -n_i/2 * (1 + log sigma2_i(i | P)) - penalty_discount / 2 * (|P| + 1) * log n

    with ``sigma2_i`` the residual variance from the covariance of those rows (divisor ``n_i``; an intercept is
    fitted) and ``n`` all rows. Interventional-Markov-equivalent DAGs get the same score; with no targets it is
    :class:`GaussianBIC`. This is pcalg's ``GaussL0penIntScore`` with its default ``lambda = log(n) / 2`` when
    ``penalty_discount = 1``.

    Parameters
    ----------
    data: float array (n, d), already validated (finite, no constant column).
    targets: bool array (n, d): ``targets[r, i]`` when row ``r`` intervened on node ``i``. Every node needs at least
        two rows that do not intervene on it.
    penalty_discount: multiplier of the BIC penalty (> 0).
    environment_means: centre the rows of each distinct target set (an "environment") on their own mean: each
        environment then gets its own intercept, not counted in the penalty, and a shift of a mean says nothing (the
        ``gies`` Python package centres each data set it is given, the same when no two share a target set).
        Default False: one intercept per mechanism, as the model has (a mechanism left alone by an environment is
        the same there, intercept included).
    soft: model soft interventions (a target keeps its parents, with a mechanism of its own in each environment that
        intervenes on it): node ``i``'s score then adds, for each such environment ``e``, the fit of ``i`` on the
        same parents over ``e``'s rows alone, ``-n_e/2 (1 + log sigma2_e(i | P)) - penalty_discount / 2 (|P| + 1)
        log n`` (weights, intercept and variance of its own). Default False: perfect interventions, whose rows say
        nothing about ``i`` (Hauser & Bühlmann's score). A perfect intervention is a soft one with zero weights, so
        the soft score fits both, at the price of more parameters.
    """

    def __init__(self, data: np.ndarray, targets: np.ndarray, *, penalty_discount: float = 1.0,
                 environment_means: bool = False, soft: bool = False) -> None:
        super().__init__()
        owner = "InterventionalGaussianBIC"
        self.penalty_discount = check_number(penalty_discount, "penalty_discount", owner, low=0, low_inclusive=False)
        matrix = np.asarray(data, dtype=np.float64)
        mask = np.asarray(targets)
        if matrix.ndim != 2 or mask.shape != matrix.shape or mask.dtype != bool:
            raise ValueError(f"The 'targets' argument of {owner} must be a bool array of the data's shape "
                             f"{matrix.shape}. Got {mask.dtype} of shape {mask.shape}.")
        self.n_samples, self.n_nodes = matrix.shape
        #: rows (d,) that do not intervene on each node
        self.node_samples = (~mask).sum(axis=0).astype(np.int64)
        short = np.flatnonzero(self.node_samples < 2)
        if short.size:
            raise ValueError(f"The 'targets' argument of {owner} intervenes on node {int(short[0])} in all but "
                             f"{int(self.node_samples[short[0]])} of {self.n_samples} rows; its mechanism needs at "
                             "least 2 rows that leave it alone.")
        # per distinct target pattern (an "environment"): rows, mean and scatter about its own mean; a node's
        # covariance pools the scatters of the environments that leave it alone, plus (one intercept per mechanism)
        # the spread of their means about the pooled mean, which stays accurate however far apart they lie
        patterns, environment = np.unique(mask, axis=0, return_inverse=True)
        environment = environment.reshape(-1)
        counts = np.bincount(environment, minlength=len(patterns)).astype(np.float64)
        means = np.stack([matrix[environment == e].mean(axis=0) for e in range(len(patterns))])
        scatters = np.stack([(matrix[environment == e] - means[e]).T @ (matrix[environment == e] - means[e])
                             for e in range(len(patterns))])
        self.environment_means = bool(environment_means)
        #: the covariance (d, d) of the rows that leave each node alone, per node: (d, d, d)
        self.covariances = np.empty((self.n_nodes, self.n_nodes, self.n_nodes))
        for node in range(self.n_nodes):
            keep = ~patterns[:, node]
            n = counts[keep].sum()
            covariance = scatters[keep].sum(axis=0)
            if not environment_means:
                offsets = means[keep] - counts[keep] @ means[keep] / n
                covariance = covariance + (offsets * counts[keep][:, None]).T @ offsets
            self.covariances[node] = covariance / n
        #: the distinct target sets, as bool rows (m, d)
        self.patterns = patterns
        self.soft = bool(soft)
        #: rows (m,) and covariance (m, d, d) of each distinct target set, about its own mean (the ``soft`` fits)
        self.pattern_counts = counts
        self.pattern_covariances = scatters / counts[:, None, None]
        if self.soft:
            small = [(int(e), int(counts[e])) for e in range(len(patterns)) if patterns[e].any() and counts[e] < 2]
            if small:
                raise ValueError(f"The 'targets' argument of {owner} (soft=True) has interventional environments with "
                                 f"fewer than 2 rows (environment, rows): {small}; a soft mechanism needs a fit of "
                                 "its own in each.")
        self._penalty = 0.5 * self.penalty_discount * np.log(self.n_samples)

    def residual_variance(self, node: int, parents: Iterable[int]) -> float:
        """Maximum-likelihood residual variance of ``node`` on ``parents`` over the rows that leave ``node`` alone."""
        return _residual_variance(self.covariances[node], node, parents)

    def _compute(self, node: int, parents: list[int], mask: int) -> float:
        variance = self.residual_variance(node, parents)
        value = -0.5 * float(self.node_samples[node]) * (1.0 + np.log(variance)) - self._penalty * (len(parents) + 1)
        if self.soft:
            for e in np.flatnonzero(self.patterns[:, node]):
                own = _residual_variance(self.pattern_covariances[e], node, parents)
                value += -0.5 * float(self.pattern_counts[e]) * (1.0 + np.log(own)) - self._penalty * (len(parents) + 1)
        return value


class BDeu(LocalScore):
    """Cached BDeu local scores (see the module docstring) of the columns of a categorical data matrix.

    Parameters
    ----------
    codes: non-negative integer codes (n, d); each column is re-coded to its observed levels 0 .. r_j - 1 (r_j the
        number of distinct values, as causal-learn counts them).
    equivalent_sample_size: the Dirichlet prior's total pseudo-count ``a`` (> 0; causal-learn's ``sample_prior``,
        default 1); larger values favour denser graphs.
    structure_prior: expected number of parents of a node under the structure prior (> 0 and below d - 1), or None
        for a uniform prior over graphs. ``"default"``: 1 (causal-learn's and Tetrad's default) when d > 2, none when
        d <= 2 (with one possible parent, 1 would make the edge certain).

    Local scores are cached under (node, parent set); ``n_computed`` counts the ones actually computed.
    ``penalty_discount`` is None (BDeu has no BIC penalty).
    """

    penalty_discount = None

    def __init__(self, codes: np.ndarray, *, equivalent_sample_size: float = 1.0,
                 structure_prior: float | str | None = "default") -> None:
        super().__init__()
        owner = "BDeu"
        matrix = np.asarray(codes)
        if matrix.ndim != 2 or matrix.shape[0] < 1:
            raise ValueError(f"The 'codes' argument of {owner} must be 2-D with at least 1 row. Got shape "
                             f"{matrix.shape}.")
        if matrix.size and (not np.all(np.isfinite(matrix.astype(np.float64)))
                            or np.any(matrix != np.round(matrix)) or matrix.min() < 0):
            raise ValueError(f"The 'codes' argument of {owner} must hold non-negative integer codes.")
        self.codes = np.zeros(matrix.shape, dtype=np.int64)
        for j in range(matrix.shape[1]):
            self.codes[:, j] = np.unique(matrix[:, j], return_inverse=True)[1].reshape(-1)
        self.n_samples, self.n_nodes = self.codes.shape
        self.equivalent_sample_size = check_number(equivalent_sample_size, "equivalent_sample_size", owner, low=0,
                                                   low_inclusive=False)
        #: categories of each column (d,)
        self.levels = (self.codes.max(axis=0) + 1) if self.codes.size else np.zeros(self.n_nodes, dtype=np.int64)
        self._prior_present = self._prior_absent = 0.0
        if isinstance(structure_prior, str):
            if structure_prior != "default":
                raise ValueError(f"The 'structure_prior' argument of {owner} must be a number, None or 'default'. Got "
                                 f"{structure_prior!r}.")
            structure_prior = 1.0 if self.n_nodes > 2 else None
        if structure_prior is not None:
            structure_prior = check_number(structure_prior, "structure_prior", owner, low=0, low_inclusive=False)
            possible = self.n_nodes - 1
            if possible >= 1:
                if structure_prior >= possible:
                    raise ValueError(f"The 'structure_prior' argument of {owner} (the expected number of parents) must "
                                     f"be below d - 1 = {possible}, the number of possible parents. Got "
                                     f"{structure_prior}; give a smaller value, or None for a uniform prior.")
                rho = structure_prior / possible
                self._prior_present, self._prior_absent = float(np.log(rho)), float(np.log1p(-rho))
        self.structure_prior = structure_prior

    def _compute(self, node: int, parents: list[int], mask: int) -> float:
        r = float(self.levels[node])
        q = float(np.prod(self.levels[parents].astype(np.float64))) if parents else 1.0
        if parents:  # the observed parent configurations only: an unseen one adds lgamma(a/q) - lgamma(a/q) = 0
            _, config = np.unique(self.codes[:, parents], axis=0, return_inverse=True)
            config = config.reshape(-1)
        else:
            config = np.zeros(self.n_samples, dtype=np.int64)
        n_ij = np.bincount(config)
        n_ijk = np.bincount(config * int(r) + self.codes[:, node])
        n_ijk = n_ijk[n_ijk > 0]
        a_j = self.equivalent_sample_size / q
        a_jk = a_j / r
        value = float(np.sum(gammaln(a_j) - gammaln(a_j + n_ij)) + np.sum(gammaln(a_jk + n_ijk) - gammaln(a_jk)))
        if self.structure_prior is not None:
            value += len(parents) * self._prior_present + (self.n_nodes - 1 - len(parents)) * self._prior_absent
        return value
