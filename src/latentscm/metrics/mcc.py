"""Mean Correlation Coefficient (MCC) with Hungarian matching.

The identifiability metric of nonlinear ICA and causal representation learning (Hyvärinen &
Morioka 2016, "Unsupervised Feature Extraction by Time-Contrastive Learning and Nonlinear ICA";
Khemakhem et al. 2020, "Variational Autoencoders and Nonlinear ICA: A Unifying Framework"), as
CausalVerse (2025) reports it: absolute correlations between every code dimension and every
factor, a one-to-one matching of codes to factors that maximises their sum (Kuhn 1955, the
Hungarian method, via ``scipy.optimize.linear_sum_assignment``), and the mean matched |r|.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import rankdata

from latentscm._validation import check_choice
from latentscm.metrics._common import check_codes_factors, varying_columns

__all__ = ["METHODS", "correlation_matrix", "mcc"]

METHODS = ("pearson", "spearman")


def correlation_matrix(codes: np.ndarray, factors: np.ndarray, *, method: str = "pearson"
                       ) -> np.ndarray:
    """Absolute correlations (D, K) between code dimensions and factors, in [0, 1].

    ``method="spearman"`` correlates ranks (ties get their average rank). A constant column
    has no correlation with anything: its entries are 0.
    """
    owner = "correlation_matrix"
    codes, factors = check_codes_factors(codes, factors, owner)
    method = check_choice(method, "method", owner, METHODS)
    return _absolute_correlation(codes, factors, method)


def _absolute_correlation(codes: np.ndarray, factors: np.ndarray, method: str) -> np.ndarray:
    if method == "spearman":
        codes = rankdata(codes, axis=0)
        factors = rankdata(factors, axis=0)
    codes = codes - codes.mean(axis=0)
    factors = factors - factors.mean(axis=0)
    code_norm = np.sqrt(np.sum(codes ** 2, axis=0))
    factor_norm = np.sqrt(np.sum(factors ** 2, axis=0))
    scale = np.outer(code_norm, factor_norm)
    covariance = codes.T @ factors
    correlation = np.divide(covariance, scale, out=np.zeros_like(covariance), where=scale > 0)
    return np.clip(np.abs(correlation), 0.0, 1.0)


def mcc(codes: np.ndarray, factors: np.ndarray, *, method: str = "pearson") -> float:
    """Mean absolute correlation after matching codes to factors one-to-one. Higher is
    better; in [0, 1].

    Parameters
    ----------
    codes : array (N, D).
    factors : array (N, K); constant factors are ignored.
    method : ``"pearson"`` (linear identifiability) or ``"spearman"`` (monotone).

    Returns
    -------
    float: (1/K) Σ over matched pairs of |r|. When D < K some factors cannot be matched and
    count 0, so a representation with too few dimensions cannot score 1. Invariant to
    permuting, shifting and rescaling (also negatively) code dimensions.
    """
    owner = "mcc"
    codes, factors = check_codes_factors(codes, factors, owner)
    method = check_choice(method, "method", owner, METHODS)
    keep = varying_columns(factors)
    if not np.any(keep):
        raise ValueError(f"Every column of the 'factors' argument of {owner} is constant; there is "
                         f"nothing to measure.")
    factors = factors[:, keep]
    correlation = _absolute_correlation(codes, factors, method)
    rows, cols = linear_sum_assignment(correlation, maximize=True)
    return float(correlation[rows, cols].sum() / factors.shape[1])
