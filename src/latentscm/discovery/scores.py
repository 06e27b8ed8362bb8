"""Decomposable local scores for score-based discovery (GES): the linear-Gaussian BIC.

For a node ``i`` with parents ``P`` and ``n`` rows, the BIC local score (higher is better) is

    s(i, P) = -n/2 * (1 + log sigma2(i | P)) - penalty_discount / 2 * (|P| + 1) * log n

where ``sigma2(i | P) = C_ii - C_iP C_PP^{-1} C_Pi`` is the maximum-likelihood residual variance of the
linear regression of ``i`` on ``P``, from the covariance matrix ``C`` (divisor n). The first term is the
maximised Gaussian log-likelihood without its constant ``-n/2 log(2 pi)``; ``|P| + 1`` counts the
regression weights and the noise variance (Schwarz 1978; Chickering 2002, JMLR 3, Sec. 2). The score of a
DAG is the sum of its nodes' local scores; Markov-equivalent DAGs get the same score. With
``penalty_discount = 2 * lambda`` this is causal-learn's ``local_score_BIC`` (penalty ``lambda``, default
0.5, i.e. ``penalty_discount = 1``: the usual BIC).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from latentscm._validation import check_number

__all__ = ["GaussianBIC"]


class GaussianBIC:
    """Cached linear-Gaussian BIC local scores of the columns of a data matrix.

    Parameters
    ----------
    data: float array (n, d), already validated (finite, no constant column).
    penalty_discount: multiplier of the BIC penalty (> 0; 1 is the usual BIC, larger gives sparser graphs).

    Local scores are cached under (node, parent set); ``n_computed`` counts the ones actually computed.
    """

    def __init__(self, data: np.ndarray, *, penalty_discount: float = 1.0) -> None:
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
        self._cache: dict[tuple[int, int], float] = {}

    @property
    def n_computed(self) -> int:
        """Number of distinct (node, parent set) local scores computed so far."""
        return len(self._cache)

    def residual_variance(self, node: int, parents: Iterable[int]) -> float:
        """Maximum-likelihood residual variance of ``node`` regressed on ``parents`` (column positions)."""
        cov = self.covariance
        parents = sorted(set(parents))
        if not parents:
            return float(cov[node, node])
        c_pp = cov[np.ix_(parents, parents)]
        c_pi = cov[parents, node]
        try:
            weights = np.linalg.solve(c_pp, c_pi)
        except np.linalg.LinAlgError:  # exactly collinear parents: the least-squares fit is still defined
            weights = np.linalg.pinv(c_pp) @ c_pi
        variance = float(cov[node, node] - c_pi @ weights)
        # a deterministic fit (or rounding below zero) would make the log-likelihood infinite
        return max(variance, np.finfo(np.float64).eps * float(cov[node, node]))

    def local(self, node: int, parents: Iterable[int]) -> float:
        """Local score s(node, parents) (higher is better); parents are column positions."""
        mask = 0
        for p in parents:
            mask |= 1 << int(p)
        return self.local_mask(int(node), mask)

    def local_mask(self, node: int, mask: int) -> float:
        """Local score with the parent set given as a bit mask (bit ``p`` set for parent ``p``)."""
        key = (node, mask)
        value = self._cache.get(key)
        if value is None:
            parents = [p for p in range(self.n_nodes) if mask >> p & 1]
            variance = self.residual_variance(node, parents)
            value = -0.5 * self.n_samples * (1.0 + np.log(variance)) - self._penalty * (len(parents) + 1)
            value = float(value)
            self._cache[key] = value
        return value

    def dag_score(self, dag: np.ndarray) -> float:
        """Score of a DAG (adjacency (d, d), ``[i, j] = 1`` for ``i -> j``): the sum of its local scores."""
        dag = np.asarray(dag)
        return float(sum(self.local(j, np.flatnonzero(dag[:, j])) for j in range(self.n_nodes)))
