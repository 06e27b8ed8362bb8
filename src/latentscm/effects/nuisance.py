"""Nuisance models of the effect estimators: named learners, and cross-fitting.

A learner is a name from :data:`LEARNERS` or any scikit-learn estimator (it is cloned for every fit,
so the object passed is never fitted). Regressors predict outcomes (or a continuous treatment);
classifiers give propensities ``P(T = t1 | Z)``.

Cross-fitting (Chernozhukov et al., *Double/debiased machine learning*, Econometrics J. 2018) splits
the rows into ``n_folds`` seeded folds; each row's nuisance prediction comes from models fitted on the
other folds, which removes the own-observation bias that flexible learners bring.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import as_generator

__all__ = ["LEARNERS", "make_regressor", "make_classifier", "fold_labels", "cross_fit_regression",
           "cross_fit_propensity"]

#: Named learners: ``"linear"`` (OLS / logistic regression with a very weak ridge), ``"forest"``
#: (random forests, 200 trees, 5 rows a leaf) and ``"boosting"`` (histogram gradient boosting).
LEARNERS = ("linear", "forest", "boosting")


def _check_estimator(learner: Any, name: str, owner: str, method: str) -> Any:
    from sklearn.base import clone, is_classifier

    if not (hasattr(learner, "fit") and hasattr(learner, method)):
        raise TypeError(f"The {name!r} argument of {owner} must be one of {list(LEARNERS)} or a scikit-learn "
                        f"estimator with fit() and {method}(). Got {learner!r}.")
    if method == "predict" and is_classifier(learner):
        raise TypeError(f"The {name!r} argument of {owner} is a classifier ({type(learner).__name__}); this role "
                        f"predicts a number, so it needs a regressor.")
    return clone(learner)


def _named(learner: str, kind: str, seed: int) -> Any:
    """The named learner ``learner`` as a ``kind`` ("regressor" or "classifier")."""
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LinearRegression, LogisticRegression

    regressor = kind == "regressor"
    if learner == "linear":
        return LinearRegression() if regressor else LogisticRegression(C=1e6, max_iter=10_000, tol=1e-8)
    if learner == "forest":
        forest = RandomForestRegressor if regressor else RandomForestClassifier
        return forest(n_estimators=200, min_samples_leaf=5, max_features=1.0, random_state=seed, n_jobs=1)
    boosting = HistGradientBoostingRegressor if regressor else HistGradientBoostingClassifier
    return boosting(max_iter=200, learning_rate=0.05, random_state=seed)


def _make(learner: Any, kind: str, method: str, seed: int, name: str, owner: str) -> Any:
    if isinstance(learner, str):
        if learner not in LEARNERS:
            raise ValueError(f"The {name!r} argument of {owner} must be one of {list(LEARNERS)} or a scikit-learn "
                             f"{kind}. Got {learner!r}.")
        return _named(learner, kind, seed)
    return _check_estimator(learner, name, owner, method)


def make_regressor(learner: Any, seed: int, name: str, owner: str) -> Any:
    """A fresh, unfitted regressor for ``learner`` (a name from :data:`LEARNERS` or an estimator)."""
    return _make(learner, "regressor", "predict", seed, name, owner)


def make_classifier(learner: Any, seed: int, name: str, owner: str) -> Any:
    """A fresh, unfitted classifier with ``predict_proba`` for ``learner``."""
    return _make(learner, "classifier", "predict_proba", seed, name, owner)


def fold_labels(n: int, n_folds: int, seed: int | np.random.Generator) -> np.ndarray:
    """The fold of each row, shape (n,): a seeded permutation cut into ``n_folds`` near-equal parts."""
    labels = np.empty(n, dtype=np.int64)
    labels[as_generator(seed).permutation(n)] = np.arange(n) % n_folds
    return labels


def _covariates(z: np.ndarray) -> np.ndarray:
    # An empty adjustment set still needs one column for scikit-learn; a constant predicts the mean.
    return z if z.shape[1] else np.zeros((z.shape[0], 1))


def cross_fit_regression(target: np.ndarray, features: np.ndarray, folds: np.ndarray, learner: Any, *,
                         rows: np.ndarray | None = None, seed: int, name: str, owner: str,
                         predict_at: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Out-of-fold predictions of ``target`` (n,) from ``features`` (n, k).

    Each fold's model is fitted on the other folds' rows where ``rows`` (a boolean mask, default all) is
    true, and predicts that fold's rows of each matrix in ``predict_at`` (default: ``features``). Returns
    one (n,) array per matrix.
    """
    features = _covariates(features)
    targets = [features] if predict_at is None else [_covariates(m) for m in predict_at]
    out = [np.empty(features.shape[0]) for _ in targets]
    keep = np.ones(features.shape[0], dtype=bool) if rows is None else rows
    for fold in np.unique(folds):
        test = folds == fold
        train = ~test & keep
        if train.sum() < 2:
            raise ValueError(f"{owner}: fold {int(fold)} leaves {int(train.sum())} training rows for {name!r}; "
                             f"give more rows or fewer folds.")
        model = make_regressor(learner, seed, name, owner).fit(features[train], target[train])
        for result, matrix in zip(out, targets):
            result[test] = model.predict(matrix[test])
    return out


def cross_fit_propensity(treated: np.ndarray, features: np.ndarray, folds: np.ndarray, learner: Any, *,
                         seed: int, name: str, owner: str) -> np.ndarray:
    """Out-of-fold ``P(treated | features)``, shape (n,), from a classifier per fold."""
    features = _covariates(features)
    out = np.empty(features.shape[0])
    for fold in np.unique(folds):
        test = folds == fold
        train = ~test
        labels = treated[train]
        if labels.all() or not labels.any():
            raise ValueError(f"{owner}: the rows outside fold {int(fold)} are all in one treatment arm, so "
                             f"{name!r} cannot be fitted; give more rows or fewer folds.")
        model = make_classifier(learner, seed, name, owner).fit(features[train], labels.astype(np.int64))
        column = list(model.classes_).index(1)
        out[test] = model.predict_proba(features[test])[:, column]
    return out
