"""How well each group of latent units holds its causal variable, and nothing of the others (CITRIS's R² matrix).

Lippe et al. (ICML 2022, "CITRIS"; official code phlippe/CITRIS, ``CorrelationMetricsLogCallback``, read for
the definition) score a temporal causal representation by regressing every causal variable on every group of
units and reporting the matrix of held-out R²: entry ``[g, j]`` is how much of variable ``j`` group ``g``
predicts. A model that identifies the variables has a large diagonal (``diag``: the mean of ``[i, i]``) and small
off-diagonal entries (``max_off_diag``: the mean over groups ``i`` of the largest ``[i, j]``, ``j != i``).

The official code regresses with a small MLP on a held-out half of correlated validation frames; here the
regressions are the library's Gaussian kernel ridge (:func:`~latentscm.metrics.r2.r2_per_factor`), and the
frames come from :meth:`~latentscm.worlds.temporal.TemporalWorld.independent_frames`, each variable drawn
independently over its range, so an off-diagonal entry measures a group holding another variable, not the
dynamics making two variables co-vary. Groups are the learner's learned assignment (``assignment_``, e.g.
CITRIS-VAE's ``psi``) or, for learners without one, each unit matched to the variable it alone predicts best
(on separate frames; a unit that predicts no variable with R² of at least ``min_r2`` goes to the last group,
``psi_0``). An empty group predicts nothing: its row is 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_number
from latentscm.metrics.r2 import r2_per_factor

__all__ = ["group_r2_matrix", "causal_variable_r2", "matched_assignment", "check_learned_variables",
           "learner_groups", "one_to_one_assignment"]


def group_r2_matrix(codes: np.ndarray, groups: np.ndarray, values: np.ndarray, *, max_train: int = 2000,
                    seed: int = 0) -> np.ndarray:
    """(V + 1, V) held-out R² of each of the V variables ``values`` (N, V) from the units of each group
    (``groups`` (M,) int in 0 ... V, V being ``psi_0``) of ``codes`` (N, M); rows of empty groups are 0."""
    n_variables = values.shape[1]
    matrix = np.zeros((n_variables + 1, n_variables))
    for g in range(n_variables + 1):
        units = np.flatnonzero(groups == g)
        if units.size:
            matrix[g] = r2_per_factor(codes[:, units], values, max_train=max_train, seed=seed)
    return matrix


def matched_assignment(codes: np.ndarray, values: np.ndarray, *, min_r2: float = 0.1, max_train: int = 2000,
                       seed: int = 0) -> np.ndarray:
    """Each unit of ``codes`` (N, M) matched to the variable of ``values`` (N, V) it predicts best alone
    (held-out kernel-ridge R²); units below ``min_r2`` for every variable get V (``psi_0``). Returns (M,) int."""
    n_variables = values.shape[1]
    groups = np.full(codes.shape[1], n_variables, dtype=np.int64)
    for unit in range(codes.shape[1]):
        if np.ptp(codes[:, unit]) == 0:
            continue
        scores = np.nan_to_num(r2_per_factor(codes[:, unit:unit + 1], values, max_train=max_train, seed=seed),
                               nan=-np.inf)
        if scores.max() >= min_r2:
            groups[unit] = int(scores.argmax())
    return groups


def check_learned_variables(learner: Any, temporal_world: Any, owner: str) -> None:
    """Refuse a learner whose learned groups stand for other variables (or another order) than the world's."""
    learned = tuple(getattr(learner, "variables_", ()) or ())
    if learned and learned != tuple(temporal_world.variables):
        raise ValueError(f"{owner}: {type(learner).__name__} was trained on the variables {list(learned)}, and the "
                         f"TemporalWorld has {list(temporal_world.variables)}; its groups stand for those, in that "
                         f"order.")


def learner_groups(learner: Any, temporal_world: Any, owner: str, *, matched: bool = False, n: int = 2000,
                   seed: int = 0, min_r2: float = 0.1, max_train: int = 2000) -> tuple[np.ndarray, str]:
    """Each unit's variable (M,) int and how it was found: the learner's ``assignment_`` ("learned", checked against
    the world's variables) or, for learners without one or with ``matched=True``, :func:`matched_assignment` on
    ``n`` independent frames drawn with ``seed + 1`` ("matched")."""
    if hasattr(type(learner), "assignment_") and not matched:
        check_learned_variables(learner, temporal_world, owner)
        return np.asarray(learner.assignment_, dtype=np.int64), "learned"
    columns = [temporal_world.factor_names.index(v) for v in temporal_world.variables]
    images, factors = temporal_world.independent_frames(n, seed=seed + 1)
    groups = matched_assignment(np.asarray(learner.encode(images), dtype=np.float64), factors[:, columns],
                                min_r2=min_r2, max_train=max_train, seed=seed)
    return groups, "matched"


def one_to_one_assignment(learner: Any, temporal_world: Any, *, n: int = 2000, seed: int = 0) -> np.ndarray:
    """Each unit's variable (M,) int, one unit per variable: the Hungarian matching of the absolute correlations
    between units and variables on ``n`` independent frames (seed ``seed``), as MCC matches; -1 for units left over
    (and a variable gets no unit when there are fewer units than variables)."""
    from scipy.optimize import linear_sum_assignment

    from latentscm.metrics.mcc import correlation_matrix

    images, factors = temporal_world.independent_frames(n, seed=seed)
    values = factors[:, [temporal_world.factor_names.index(v) for v in temporal_world.variables]]
    codes = np.asarray(learner.encode(images), dtype=np.float64)
    rows, columns = linear_sum_assignment(-correlation_matrix(codes, values))
    groups = np.full(codes.shape[1], -1, dtype=np.int64)
    groups[rows] = columns
    return groups


def causal_variable_r2(learner: Any, temporal_world: Any, *, n: int = 2000, seed: int = 0, max_train: int = 2000,
                       assignment: str = "auto", min_r2: float = 0.1) -> dict[str, Any]:
    """CITRIS's R² matrix of a learner's codes against a TemporalWorld's causal variables.

    Parameters
    ----------
    learner : a fitted Learner
        Its ``encode`` gives the codes; ``assignment_`` (M,) the learned groups, where it has one.
    temporal_world : TemporalWorld
        Draws ``n`` frames with independent variables (seed ``seed``).
    n : int, default 2000
        Frames scored (>= 20).
    seed : int, default 0
        Seeds the frames, the matching frames (``seed + 1``) and the regressions' splits.
    max_train : int, default 2000
        Training rows of each kernel-ridge regression.
    assignment : {"auto", "learned", "matched"}, default "auto"
        The groups: the learner's ``assignment_`` ("learned"), units matched to variables ("matched"), or the
        learned one where the learner has it ("auto").
    min_r2 : float, default 0.1
        With matching, the R² a unit needs for some variable to join a variable's group.

    Returns
    -------
    dict
        ``"variables"``; ``"matrix"`` (V + 1 lists of V R², rows the groups, the last ``psi_0``); ``"diag"``,
        ``"max_off_diag"`` (over the V variable groups); ``"assignment"`` (M ints) and ``"assigned_by"``.
    """
    from latentscm.worlds.temporal import check_temporal_world

    owner = "causal_variable_r2"
    check_temporal_world(temporal_world, owner)
    n = int(check_number(n, "n", owner, low=20, integer=True))
    if assignment not in ("auto", "learned", "matched"):
        raise ValueError(f"The 'assignment' argument of {owner} must be one of auto, learned, matched. "
                         f"Got {assignment!r}.")
    min_r2 = check_number(min_r2, "min_r2", owner, low=0.0, high=1.0)
    learner._check_fitted()
    has_own = hasattr(type(learner), "assignment_")
    if assignment == "learned" and not has_own:
        raise ValueError(f"{owner}: {type(learner).__name__} learns no assignment of units to variables; use "
                         f"assignment='matched'.")
    columns = [temporal_world.factor_names.index(v) for v in temporal_world.variables]
    images, factors = temporal_world.independent_frames(n, seed=seed)
    values = factors[:, columns]
    codes = np.asarray(learner.encode(images), dtype=np.float64)
    groups, by = learner_groups(learner, temporal_world, owner, matched=assignment == "matched", n=n, seed=seed,
                                min_r2=min_r2, max_train=max_train)
    matrix = group_r2_matrix(codes, groups, values, max_train=max_train, seed=seed)
    v = len(columns)
    square = matrix[:v]
    off = square + np.where(np.eye(v, dtype=bool), -np.inf, 0.0)
    return {"variables": list(temporal_world.variables), "matrix": matrix.tolist(),
            "diag": float(np.nanmean(np.diag(square))),
            "max_off_diag": float(np.nanmean(np.max(off, axis=1))) if v > 1 else float("nan"),
            "assignment": groups.tolist(), "assigned_by": by}
