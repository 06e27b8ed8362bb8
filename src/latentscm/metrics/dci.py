"""DCI: Disentanglement, Completeness and Informativeness.

Eastwood & Williams (2018), "A Framework for the Quantitative Evaluation of Disentangled
Representations", ICLR. One predictor per factor gives an importance matrix R (D codes x K
factors) with R[:, k] >= 0 summing to 1:

* disentanglement D = Σ_i ρ_i (1 - H_K(P_i·)), with P_ij = R_ij / Σ_k R_ik and
  ρ_i = Σ_k R_ik / Σ_ik R_ik (each code dimension should matter for one factor);
* completeness C = Σ_k ρ'_k (1 - H_D(P'_·k)), P'_ij = R_ij / Σ_i R_ij and ρ'_k the column share
  (each factor should be captured by one code dimension);
* informativeness I = mean over factors of the predictor's **held-out** score: accuracy for
  discrete factors, R² for continuous ones (higher is better; the training score is reported
  as well so over-fitting is visible). Scoring a regressor with ``predict() == y`` — a bug seen
  in the wild — would make I ~0; here a discrete factor always gets a classifier. Deviation:
  the paper defines informativeness as the prediction error (lower is better, 0 for a perfect
  code); like disentanglement_lib we report its complement, the score, so that all three of D,
  C and I are higher-is-better (1 - I is the misclassification rate, or the normalised MSE).

Entropies H_K and H_D are taken in base K and base D so each lies in [0, 1].

Two predictors (``estimator``):

* ``"gbt"`` — scikit-learn's ``GradientBoostingClassifier`` (or ``Regressor``) with default
  settings and impurity importances: the variant disentanglement_lib reports, kept for parity.
  It is slow: 100 boosting stages times one tree per class (the 40-class dSprites orientation
  needs 4,000 trees).
* ``"forest"`` (default) — a randomised-tree ensemble (scikit-learn ``ExtraTrees``: 10
  trees, all features considered at each split, depth <= 11, leaves >= 3 rows) with impurity
  importances: one tree per ensemble member whatever the number of classes, so it is two
  orders of magnitude faster (about 1 s instead of minutes at 10,000 rows of dSprites-sized
  factors). Depth and leaf size were chosen against ``"gbt"`` on a panel of
  representations (identity-like, rotated, noisy, partly collapsed): D and C stayed within
  0.05 of it at 2,000, 4,000 and 10,000 rows (largest gap 0.043).
  ``benchmarks/bench_metrics.py`` prints the comparison. On a smooth nonlinear mix of
  factors they differ more on small samples (completeness by 0.07 at 2,000 rows, 0.035 at
  10,000), both being fair importance estimates.

Tree ensembles visit features in a random order and draw thresholds in that order, so a plain
fit changes (slightly) when code columns are permuted or negated. Before fitting, the columns
are put in a canonical order and orientation that depends only on their ranks, and standardised
(scikit-learn's trees work in float32, where a large offset would erase a code's resolution): DCI
is then invariant to permuting code dimensions and to shifting and rescaling them (by any
non-zero factor), up to float rounding of the standardised codes.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
)

from latentscm._validation import as_generator, check_array, check_choice
from latentscm.metrics._common import (
    check_codes_factors,
    check_test_fraction,
    discrete_mask,
    drop_constant_factors,
    encode_labels,
    entropy_rows,
    rank_key,
    split_indices,
)

__all__ = [
    "ESTIMATORS",
    "FOREST_TREES",
    "FOREST_MAX_DEPTH",
    "FOREST_MIN_LEAF",
    "dci_from_importance",
    "canonical_columns",
    "importance_matrix",
    "dci",
]

ESTIMATORS = ("forest", "gbt")

#: Settings of the fast ``"forest"`` estimator (see the module docstring and the benchmark).
FOREST_TREES = 10
FOREST_MAX_DEPTH = 11
FOREST_MIN_LEAF = 3


def dci_from_importance(importance: np.ndarray) -> tuple[float, float]:
    """Disentanglement and completeness (both in [0, 1], higher is better) from a non-negative
    importance matrix (D codes, K factors), following Eastwood & Williams (2018).

    Code dimensions with zero importance carry zero weight in D (factors with zero importance in C); an
    all-zero matrix (nothing is predictive) scores 0 on both. Signs are dropped (|importance|, so signed
    linear coefficients can be passed). With a single factor (K = 1) every code dimension is disentangled
    (D = 1), and with a single code dimension (D = 1) every factor is complete (C = 1): the base-1 entropy
    is taken as 0. NaN or infinite entries are refused.
    """
    importance = np.abs(check_array(importance, "importance", "dci_from_importance", ndim=2))
    total = importance.sum()
    if total <= 0:
        return 0.0, 0.0
    n_codes, n_factors = importance.shape
    code_weight = importance.sum(axis=1) / total
    factor_weight = importance.sum(axis=0) / total
    disentanglement = float(np.sum(code_weight * (1.0 - entropy_rows(importance, n_factors))))
    completeness = float(np.sum(factor_weight * (1.0 - entropy_rows(importance.T, n_codes))))
    return disentanglement, completeness


def canonical_columns(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A column order (D,) and signs (D,) that make ``codes[:, order] * signs`` the same array
    whatever permutation, shift or non-zero scaling of the columns ``codes`` went through.

    Each column is keyed by its dense ranks (invariant to shift and positive scaling) or its
    reversed dense ranks, whichever hashes lower (so negation maps to the same key); columns
    are sorted by key, and flipped when the reversed ranks were chosen. Columns with the same
    ranks (``x`` and ``x ** 3``) are ordered by a second key, their standardised values after
    the flip (rounded to 1e-9), which shift, scaling and negation leave unchanged too.
    """
    keys, signs = [], []
    for column in codes.T:
        key, sign = rank_key(column)
        spread = float(np.std(column))
        standard = sign * (column - column.mean()) / spread if spread > 0 else np.zeros_like(column)
        values = hashlib.sha1((np.round(standard.astype(np.float64), 9) + 0.0).tobytes()).hexdigest()
        keys.append((key, values))
        signs.append(sign)
    order = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
    return order, np.asarray(signs)[order]


def _make_predictor(estimator: str, is_discrete: bool, seed: int):
    if estimator == "gbt":
        model = GradientBoostingClassifier if is_discrete else GradientBoostingRegressor
        return model(random_state=seed)
    model = ExtraTreesClassifier if is_discrete else ExtraTreesRegressor
    return model(n_estimators=FOREST_TREES, max_depth=FOREST_MAX_DEPTH,
                 min_samples_leaf=FOREST_MIN_LEAF, max_features=None, random_state=seed)


def _score(model, codes: np.ndarray, target: np.ndarray, is_discrete: bool) -> float:
    """Held-out (or training) score: accuracy for classifiers, R² for regressors; NaN for a continuous
    target constant on these rows (R² undefined: judged on the raw values, since the centred sum of squares
    of equal values can round to a tiny positive number and give a huge negative R²)."""
    prediction = model.predict(codes)
    if is_discrete:
        return float(np.mean(prediction == target))
    if np.ptp(target) == 0:
        return float("nan")
    residual = np.sum((target - prediction) ** 2)
    spread = np.sum((target - target.mean()) ** 2)
    return float(1.0 - residual / spread)


def importance_matrix(codes: np.ndarray, factors: np.ndarray, *, estimator: str = "forest",
                      discrete: bool | Sequence[bool] | None = None, test_fraction: float = 0.2,
                      seed: int = 0) -> dict[str, np.ndarray]:
    """Fit one predictor per factor on a training split and collect what DCI needs.

    Returns a dict of arrays: ``"importance"`` (D, K), each column the predictor's impurity
    importances (summing to 1, or 0 if it never split); ``"train_score"`` and ``"test_score"``
    (K,), accuracy for discrete and R² for continuous factors. Constant factors are dropped. A discrete
    factor with a single class in the training split gets no predictor: importance 0 (it carries no weight in
    D and C) and the constant prediction of that class is scored, whatever the ``estimator``.
    """
    owner = "dci"
    codes, factors = check_codes_factors(codes, factors, owner, min_rows=3)
    estimator = check_choice(estimator, "estimator", owner, ESTIMATORS)
    test_fraction = check_test_fraction(test_fraction, owner)
    rng = as_generator(seed)
    factors, mask = drop_constant_factors(factors, discrete_mask(factors, discrete, owner), owner)
    train, test = split_indices(codes.shape[0], test_fraction, rng, owner)
    n_factors = factors.shape[1]
    importance = np.zeros((codes.shape[1], n_factors))
    train_score = np.empty(n_factors)
    test_score = np.empty(n_factors)
    model_seeds = rng.integers(0, 2**31 - 1, size=n_factors)
    order, signs = canonical_columns(codes)
    inputs = codes[:, order] * signs
    # scikit-learn's trees cast their input to float32: centred and scaled first, a code with a large offset
    # keeps its resolution (at 1e7 the float32 spacing is 1.0, which would erase it) and shifts change nothing
    spread = inputs.std(axis=0)
    inputs = (inputs - inputs.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    for k in range(n_factors):
        # discrete factors become class labels 0..L-1 (float grid values such as angles in
        # radians would otherwise be refused by a classifier as "continuous")
        target = encode_labels(factors[:, k])[0] if mask[k] else factors[:, k]
        if mask[k] and np.unique(target[train]).size == 1:
            # one class in the training split (a rare class all held out): nothing to split on, so no code is
            # important and the prediction is that class; gradient boosting would refuse to fit at all
            train_score[k] = 1.0
            test_score[k] = float(np.mean(target[test] == target[train][0]))
            continue
        model = _make_predictor(estimator, bool(mask[k]), int(model_seeds[k]))
        model.fit(inputs[train], target[train])
        importance[order, k] = model.feature_importances_
        train_score[k] = _score(model, inputs[train], target[train], bool(mask[k]))
        test_score[k] = _score(model, inputs[test], target[test], bool(mask[k]))
    return {"importance": importance, "train_score": train_score, "test_score": test_score}


def dci(codes: np.ndarray, factors: np.ndarray, *, estimator: str = "forest",
        discrete: bool | Sequence[bool] | None = None, test_fraction: float = 0.2,
        seed: int = 0) -> dict[str, float]:
    """DCI disentanglement, completeness and informativeness. All higher is better.

    Parameters
    ----------
    codes : array (N, D).
    factors : array (N, K); constant factors are ignored.
    estimator : ``"forest"`` (fast default) or ``"gbt"`` (disentanglement_lib's gradient
        boosting, for parity; slow).
    discrete : None (auto: at most min(100, N / 2) distinct values means discrete), a bool, or one bool per
        factor. Discrete factors get classifiers, continuous ones regressors.
    test_fraction : share of rows held out for informativeness.
    seed : the split and the predictors' randomness.

    Returns
    -------
    dict with ``"dci.disentanglement"``, ``"dci.completeness"`` (in [0, 1]),
    ``"dci.informativeness"`` (mean held-out accuracy / R²; <= 1) and
    ``"dci.informativeness_train"`` (the same on the training split). A continuous factor constant on
    the held-out rows has no R² there: it is left out of the mean with a ``RuntimeWarning`` naming its
    column (NaN if no factor is left), as :func:`~latentscm.metrics.r2.r2` does.
    """
    fitted = importance_matrix(codes, factors, estimator=estimator, discrete=discrete,
                               test_fraction=test_fraction, seed=seed)
    disentanglement, completeness = dci_from_importance(fitted["importance"])
    return {
        "dci.disentanglement": disentanglement,
        "dci.completeness": completeness,
        "dci.informativeness": _mean_defined(fitted["test_score"], "held-out"),
        "dci.informativeness_train": _mean_defined(fitted["train_score"], "training"),
    }


def _mean_defined(scores: np.ndarray, split: str) -> float:
    """Mean of the defined (non-NaN) per-factor scores, warning about the others (NaN if none is defined).
    Positions are those of the non-constant factors, which is what the warning names."""
    undefined = np.flatnonzero(np.isnan(scores))
    if undefined.size:
        warnings.warn(f"dci: the continuous factors at positions {undefined.tolist()} (among the non-constant "
                      f"factors) are constant on the {split} rows, so their R² is undefined there; informativeness "
                      f"averages the other factors.", RuntimeWarning, stacklevel=3)
    return float(np.mean(scores[~np.isnan(scores)])) if undefined.size < scores.size else float("nan")
