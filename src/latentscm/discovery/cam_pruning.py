"""CAM pruning: keep the parents an additive model of each node on its candidates needs.

Bühlmann, Peters & Ernest (2014), "CAM: Causal additive models, high-dimensional order search and penalized
regression", Annals of Statistics 42(6), §3.3 and §5.3. Given a causal order (or any candidate parent sets that form
a DAG), each node ``x_j`` is regressed on an additive model ``Σ_k f_k(x_k)`` of its candidate parents and the
candidates whose term is significant at level ``alpha`` are kept. SCORE, DAS and NoGAM (Rolland et al. 2022;
Montagna et al. 2023) all end with this step.

The additive terms are regression splines (``n_splines`` B-splines of ``degree`` 3 by default per candidate, on
quantile knots, the one that duplicates the intercept dropped; a candidate with at most ``degree + 1`` distinct
values gets one indicator per value but the first), fitted by least squares, and each term is tested by the
nested-model F test ``F = ((RSS_without - RSS_full) / df_term) / (RSS_full / (n - p))``. This is exact for Gaussian
noise given the spline basis. It differs from CAM's R code (and from pygam), which fit penalised smooths and use
Wood's approximate p-values. When there are too few rows per term (fewer than three per spline coefficient), the
number of splines per term is lowered, to ``degree + 1`` at the least; below that the fit is refused. On an exact
fit (no residual) a term gets p-value 0 when the other terms alone leave a residual, else 1.

Preliminary neighbourhood selection (the paper's §5.3, optional): an extra-trees regression of each node on all
the others keeps, as its candidates, the variables whose impurity importance is at least ``pns_threshold`` times the
mean (at most ``pns_neighbours`` of them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = ["additive_term_pvalues", "cam_prune", "preliminary_neighbours", "spline_count"]


def spline_count(n: int, terms: int, n_splines: int, degree: int, owner: str) -> int:
    """The splines per term used for ``terms`` additive terms on ``n`` rows: ``n_splines``, lowered (to
    ``degree + 1`` at the least) until there are three rows per coefficient. Refuses when even that does not fit."""
    per_term = n_splines
    while per_term > degree + 1 and n < 3 * (1 + terms * (per_term - 1)):
        per_term -= 1
    if n <= 1 + terms * (per_term - 1) + 1:
        raise ValueError(f"The 'data' argument of {owner} has {n} rows, too few for an additive model of "
                         f"{terms} candidate parents with {per_term} splines each (needs more than "
                         f"{2 + terms * (per_term - 1)} rows); give more rows or restrict the candidates.")
    return per_term


def _basis(x: np.ndarray, per_term: int, degree: int) -> list[np.ndarray]:
    """One (n, per_term - 1) B-spline block per column of ``x`` (n, k), without the column the intercept spans."""
    from sklearn.preprocessing import SplineTransformer

    blocks = []
    for column in x.T:
        n_knots = per_term - degree + 1
        distinct = np.unique(column).size
        if distinct <= degree + 1:  # a few levels: one indicator per level but the first
            levels = np.unique(column)
            blocks.append((column[:, None] == levels[None, 1:]).astype(float))
            continue
        transformer = SplineTransformer(n_knots=max(2, min(n_knots, distinct - degree)), degree=degree,
                                        knots="quantile", include_bias=False)
        blocks.append(transformer.fit_transform(column[:, None]))
    return blocks


def _rss(design: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    return float(residual @ residual), int(rank)


def additive_term_pvalues(x: np.ndarray, y: np.ndarray, *, n_splines: int = 10, degree: int = 3,
                          owner: str = "additive_term_pvalues") -> tuple[np.ndarray, int]:
    """p-values (k,) of the F test of each additive spline term of ``y`` (n,) on the columns of ``x`` (n, k), and the
    splines per term used. A term that adds no rank to the others (a duplicated column) gets p-value 1."""
    n, k = x.shape
    per_term = spline_count(n, k, n_splines, degree, owner)
    blocks = _basis(x, per_term, degree)
    ones = np.ones((n, 1))
    full = np.hstack([ones, *blocks])
    y = y - y.mean()
    rss_full, rank_full = _rss(full, y)
    dof = n - rank_full
    pvalues = np.ones(k)
    exact = 1e-12 * max(float(y @ y), 1e-300)
    if rss_full <= exact:  # an exact fit: a term is needed when the others alone do not fit exactly
        for j in range(k):
            rss, _ = _rss(np.hstack([ones, *blocks[:j], *blocks[j + 1:]]), y)
            pvalues[j] = 0.0 if rss > exact else 1.0
        return pvalues, per_term
    for j in range(k):
        rss, rank = _rss(np.hstack([ones, *blocks[:j], *blocks[j + 1:]]), y)
        df = rank_full - rank
        if df <= 0:
            continue
        statistic = max(rss - rss_full, 0.0) / df / (rss_full / dof)
        pvalues[j] = float(stats.f.sf(statistic, df, dof))
    return pvalues, per_term


def preliminary_neighbours(x: np.ndarray, *, threshold: float = 1.0, neighbours: int | None = None,
                           n_estimators: int = 500, seed: int = 0) -> np.ndarray:
    """Bool (d, d), ``[i, j]`` when ``i`` stays a candidate parent of ``j``: the variables whose extra-trees
    importance for predicting ``x_j`` (n,) from the other columns of ``x`` (n, d) is at least ``threshold`` times
    the mean, the ``neighbours`` most important at most (Bühlmann et al. 2014, §5.3)."""
    from sklearn.ensemble import ExtraTreesRegressor

    n, d = x.shape
    keep = np.zeros((d, d), dtype=bool)
    for j in range(d):
        others = [i for i in range(d) if i != j]
        if not others:
            continue
        forest = ExtraTreesRegressor(n_estimators=n_estimators, random_state=np.random.RandomState(seed + j))
        forest.fit(x[:, others], x[:, j])
        importance = forest.feature_importances_
        chosen = importance >= threshold * importance.mean()
        if neighbours is not None and chosen.sum() > neighbours:
            ranked = np.argsort(-importance, kind="stable")[:neighbours]
            chosen = np.zeros(len(others), dtype=bool)
            chosen[ranked] = True
        keep[np.asarray(others)[chosen], j] = True
    return keep


def cam_prune(x: np.ndarray, candidates: np.ndarray, *, alpha: float = 0.001, required: np.ndarray | None = None,
              n_splines: int = 10, degree: int = 3, names: Sequence[str] | None = None,
              owner: str = "cam_prune") -> tuple[np.ndarray, np.ndarray]:
    """Prune the candidate parents ``candidates`` (d, d) bool, ``[i, j]`` for ``i`` a candidate parent of ``j``, on
    data ``x`` (n, d). Returns the kept edges (d, d) bool and the p-values (d, d) (NaN where not a candidate).

    ``required`` (d, d) bool edges are kept whatever their p-value (they must be candidates)."""
    n, d = x.shape
    kept = np.zeros((d, d), dtype=bool)
    pvalues = np.full((d, d), np.nan)
    for j in range(d):
        parents = np.flatnonzero(candidates[:, j])
        if parents.size == 0:
            continue
        label = names[j] if names is not None else str(j)
        p, _ = additive_term_pvalues(x[:, parents], x[:, j], n_splines=n_splines, degree=degree,
                                     owner=f"{owner} (node {label!r})")
        pvalues[parents, j] = p
        kept[parents, j] = p < alpha
    if required is not None:
        kept |= required & candidates
    return kept, pvalues
