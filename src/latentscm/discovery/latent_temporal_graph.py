"""The temporal causal graph among learned causal variables, from transitions with known intervention targets.

After CITRIS (Lippe et al., ICML 2022) has grouped its latent units into causal variables, the graph between
them is learned from the encoded transitions (the paper runs ENCO on the latents; this module uses conditional
independence, which the first-order, no-instantaneous-effect process makes exact). In a dynamic Bayesian
network whose variables at step ``t + 1`` depend only on step ``t``, ``C_i^t -> C_j^{t+1}`` is an edge if and only
if ``C_j^{t+1}`` depends on ``C_i^t`` given all other variables at ``t`` (the other variables of step ``t`` block
every other path; faithfulness assumed). Transitions in which ``C_j`` itself was intervened on are left out of
``j``'s tests: its mechanism did not act. Each query is one CI test (from :mod:`latentscm.discovery.ci_tests`)
of the group of ``j`` at ``t + 1`` against the group of ``i`` at ``t`` given the other groups at ``t``;
single-column tests (``fisherz``) read each group's first principal component.

:func:`latent_temporal_graph` runs this on codes; :func:`discover_latent_temporal_graph` encodes a TemporalWorld's
transitions with a learner and scores the result against the world's true graph. A learner with a learned transition
model (TDRL's inverse transition, ``transition_jacobian``) carries its own graph: :func:`jacobian_temporal_graph` reads
it per variable and scores it without a threshold (:func:`edge_auroc`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._validation import check_number

__all__ = ["latent_temporal_graph", "discover_latent_temporal_graph", "graph_scores", "jacobian_temporal_graph",
           "edge_auroc"]


def _summaries(codes: np.ndarray, groups: np.ndarray, n_variables: int, first_component: bool) -> list[np.ndarray]:
    """Each variable's block of standardised codes (or its first principal component), (N, k) each."""
    out = []
    for g in range(n_variables):
        block = codes[:, groups == g]
        block = (block - block.mean(0)) / np.where(block.std(0) > 0, block.std(0), 1.0)
        if first_component and block.shape[1] > 1:
            _, _, vt = np.linalg.svd(block - block.mean(0), full_matrices=False)
            block = block @ vt[0][:, None]
        out.append(block)
    return out


def latent_temporal_graph(codes: np.ndarray, next_codes: np.ndarray, targets: np.ndarray, groups: np.ndarray, *,
                          alpha: float = 0.01, ci_test: Any = "rcit") -> dict[str, Any]:
    """Lag-1 graph among the V groups of units of ``codes`` (N, M) at ``t`` and ``next_codes`` (N, M) at ``t + 1``.

    Parameters
    ----------
    codes, next_codes : arrays (N, M)
        Codes of consecutive frames.
    targets : array (N, V) bool
        The variables intervened on between the two frames.
    groups : array (M,) int
        Each unit's variable (0 ... V - 1); other values (``psi_0``) are left out.
    alpha : float, default 0.01
        Level of each test: an edge where independence is rejected (``p <= alpha``).
    ci_test : str or CITest, default "rcit"
        A registered CI test name or instance.

    Returns
    -------
    dict
        ``"adjacency"`` (V, V) bool, entry ``[i, j]`` the edge ``C_i^t -> C_j^{t+1}`` (self-edges included);
        ``"pvalues"`` (V, V); ``"empty_groups"``: variables without units (their rows and columns are False).
    """
    from latentscm.discovery.ci_tests import CITest, make_ci_test

    owner = "latent_temporal_graph"
    codes, next_codes = np.asarray(codes, np.float64), np.asarray(next_codes, np.float64)
    targets, groups = np.asarray(targets, bool), np.asarray(groups, np.int64)
    if codes.ndim != 2 or codes.shape != next_codes.shape:
        raise ValueError(f"{owner}: 'codes' and 'next_codes' must be (N, M) arrays of one shape. Got {codes.shape} "
                         f"and {next_codes.shape}.")
    if targets.ndim != 2 or targets.shape[0] != codes.shape[0]:
        raise ValueError(f"{owner}: 'targets' must be (N, V) with N = {codes.shape[0]}. Got {targets.shape}.")
    if groups.shape != (codes.shape[1],):
        raise ValueError(f"{owner}: 'groups' must give one variable per unit, ({codes.shape[1]},). Got "
                         f"{groups.shape}.")
    alpha = check_number(alpha, "alpha", owner, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    test = ci_test if isinstance(ci_test, CITest) else make_ci_test(ci_test)
    v = targets.shape[1]
    present = [bool(np.any(groups == g)) for g in range(v)]
    now = _summaries(codes, groups, v, not test.multivariate)
    following = _summaries(next_codes, groups, v, not test.multivariate)
    pvalues = np.full((v, v), np.nan)
    for j in range(v):
        if not present[j]:
            continue
        rows = ~targets[:, j]
        if rows.sum() < 10:
            raise ValueError(f"{owner}: variable {j} has {int(rows.sum())} transitions without an intervention on it; "
                             f"give more transitions.")
        for i in range(v):
            if not present[i]:
                continue
            others = [now[k][rows] for k in range(v) if k != i and present[k]]
            z = np.concatenate(others, axis=1) if others else None
            pvalues[i, j] = test.test(following[j][rows], now[i][rows], z).p_value
    adjacency = np.nan_to_num(pvalues, nan=1.0) <= alpha
    return {"adjacency": adjacency, "pvalues": pvalues, "empty_groups": [g for g in range(v) if not present[g]]}


def graph_scores(found: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Precision, recall and structural Hamming distance of the cross edges (``i != j``) of a (V, V) lag-1 graph,
    and the share of self-edges found."""
    found, true = np.asarray(found, bool), np.asarray(true, bool)
    off = ~np.eye(true.shape[0], dtype=bool)
    tp = int(np.sum(found & true & off))
    predicted, actual = int(np.sum(found & off)), int(np.sum(true & off))
    return {"shd": int(np.sum((found != true) & off)),
            "precision": tp / predicted if predicted else float("nan"),
            "recall": tp / actual if actual else float("nan"),
            "self_edges": float(np.mean(np.diag(found)[np.diag(true)])) if np.any(np.diag(true)) else float("nan")}


def discover_latent_temporal_graph(learner: Any, temporal_world: Any, *, n: int = 4000, seed: int = 0,
                                   alpha: float = 0.01, ci_test: Any = "rcit", groups: Any = None) -> dict[str, Any]:
    """Encode ``n`` transitions of ``temporal_world`` (seed ``seed``) with ``learner``, find the lag-1 graph among its
    groups (:func:`latent_temporal_graph`) and score it against the world's true graph.

    ``groups`` (M,) int: each unit's variable; default the learner's ``assignment_`` (CITRIS), else units matched
    to variables (:func:`~latentscm.metrics.causal_variable_r2.matched_assignment` on independent frames, seed
    ``seed + 1``). Returns :func:`latent_temporal_graph`'s entries with ``"true"`` (V, V), ``"variables"``,
    ``"groups"`` and :func:`graph_scores`' entries.
    """
    from latentscm.metrics.causal_variable_r2 import learner_groups
    from latentscm.worlds.temporal import check_temporal_world

    owner = "discover_latent_temporal_graph"
    check_temporal_world(temporal_world, owner)
    n = int(check_number(n, "n", owner, low=50, integer=True))
    learner._check_fitted()
    if groups is None:
        groups = learner_groups(learner, temporal_world, owner, seed=seed)[0]
    first, second, targets, _ = temporal_world.transitions(n, seed=seed)
    found = latent_temporal_graph(learner.encode(first), learner.encode(second), targets, np.asarray(groups),
                                  alpha=alpha, ci_test=ci_test)
    true = temporal_world.temporal_graph()
    return {**found, **graph_scores(found["adjacency"], true), "true": true,
            "variables": list(temporal_world.variables), "groups": np.asarray(groups).tolist()}


def edge_auroc(weights: np.ndarray, true: np.ndarray) -> float:
    """Area under the ROC curve of the cross-edge weights (``i != j``) of a (V, V) lag-1 graph against the true
    cross edges: the chance that a true edge outweighs an absent one (0.5: no better than chance; NaN when all
    cross edges or none are true)."""
    weights, true = np.asarray(weights, dtype=np.float64), np.asarray(true, dtype=bool)
    if weights.shape != true.shape or weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
        raise ValueError(f"edge_auroc: 'weights' and 'true' must be (V, V) alike. Got {weights.shape} and "
                         f"{true.shape}.")
    if np.isnan(weights).any():
        raise ValueError("edge_auroc: 'weights' holds NaN; give -inf for an edge with no evidence.")
    off = ~np.eye(true.shape[0], dtype=bool)
    present, absent = weights[off & true], weights[off & ~true]
    if not present.size or not absent.size:
        return float("nan")
    greater = (present[:, None] > absent[None, :]).sum() + 0.5 * (present[:, None] == absent[None, :]).sum()
    return float(greater / (present.size * absent.size))


def jacobian_temporal_graph(learner: Any, temporal_world: Any, *, n: int = 4000, seed: int = 0,
                            groups: Any = None) -> dict[str, Any]:
    """The lag-1 graph a learner's own transition model implies, per causal variable, scored against the world's.

    ``learner.transition_jacobian(x^t, x^{t+1})`` (M, M) (:class:`~latentscm.learners.tdrl.TDRL`) on ``n``
    transitions of ``temporal_world`` (seed ``seed``) is averaged over the units of each pair of groups (``groups``
    (M,) int; default one unit per variable, matched one-to-one by the largest total absolute correlation on 2,000
    independent frames (seed ``seed + 1``, MCC's matching); units left over, -1, are left out). Returns
    ``"weights"`` (V, V) (NaN for a variable without units), ``"auroc"`` of the cross edges
    (:func:`edge_auroc`), ``"true"``, ``"variables"`` and ``"groups"``.
    """
    from latentscm.metrics.causal_variable_r2 import one_to_one_assignment
    from latentscm.worlds.temporal import check_temporal_world

    owner = "jacobian_temporal_graph"
    check_temporal_world(temporal_world, owner)
    if not callable(getattr(learner, "transition_jacobian", None)):
        raise TypeError(f"The 'learner' argument of {owner} must have a learned transition model "
                        f"(a transition_jacobian method, e.g. TDRL). Got {type(learner).__name__}.")
    n = int(check_number(n, "n", owner, low=50, integer=True))
    learner._check_fitted()
    if groups is None:
        groups = one_to_one_assignment(learner, temporal_world, seed=seed + 1)
    groups = np.asarray(groups)
    first, second, _, _ = temporal_world.transitions(n, seed=seed)
    jacobian = np.asarray(learner.transition_jacobian(first, second), dtype=np.float64)
    if np.isnan(jacobian).any():
        raise ValueError(f"{owner}: the learner's transition Jacobian holds NaN (a diverged model?).")
    v = temporal_world.n_variables
    if groups.shape != (jacobian.shape[0],) or groups.dtype.kind not in "iu" or groups.min(initial=0) < -1:
        raise ValueError(f"The 'groups' argument of {owner} must give one variable index per latent unit "
                         f"({jacobian.shape[0]}; -1 or {v} for none). Got {groups.tolist()}.")
    weights = np.full((v, v), np.nan)
    for i in range(v):
        for j in range(v):
            block = jacobian[np.ix_(groups == i, groups == j)]
            if block.size:
                weights[i, j] = block.mean()
    true = temporal_world.temporal_graph()
    known = np.where(np.isnan(weights), -np.inf, weights)
    return {"weights": weights, "auroc": edge_auroc(known, true), "true": true,
            "variables": list(temporal_world.variables), "groups": groups.tolist()}
