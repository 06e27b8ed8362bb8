"""Causal de Finetti: causal structure from exchangeable multi-environment data.

Guo, Tóth, Schölkopf & Huszár (2022), "Causal de Finetti: On the identification of invariant
causal structure in exchangeable data", NeurIPS 2023. When each environment draws its own
mechanism parameters, independently per variable (independent causal mechanisms), and then
exchangeable samples, the direction of an edge is identifiable from two samples per environment —
where i.i.d. data only give a Markov equivalence class. Bivariate criterion: ``X -> Y`` iff
``Y_1 ⊥ X_2 | X_1`` (with dependence in the reverse test ``X_1 ⊥ Y_2 | Y_1``).

Multivariate form used here: with ``X_{·,1}`` and ``X_{·,2}`` the two samples of an environment, for
adjacent i, j, ``X_{i,2} ⊥ X_{j,1} | X_{V∖{j},1}`` holds iff j is not an ancestor of i (d-separation in
the graph with one latent parameter node per variable pointing into both samples): a path from
``X_{i,2}`` to sample 1 must pass a parameter node of an ancestor of i, and all of sample 1 but
``X_{j,1}`` is conditioned on. The skeleton comes from PC-stable on the first samples; each edge is
oriented by the two tests, and Meek's rules propagate the orientations (R1–R4: the tests' orientations
are background knowledge, Meek 1995).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number
from latentscm.discovery.ci_tests.base import CIQuery, CITest, make_ci_test
from latentscm.discovery.orientation import apply_meek_rules
from latentscm.discovery.pc import pc_skeleton
from latentscm.discovery.result import DiscoveredGraph, _names

__all__ = ["causal_de_finetti", "as_environment_pairs"]


def as_environment_pairs(environments: Any) -> np.ndarray:
    """Two exchangeable samples per environment as an array (E, 2, d).

    Accepts an array (E, m, d) with m >= 2, or a sequence of per-environment arrays (m_e, d) with
    m_e >= 2 (the first two samples of each environment are used).
    """
    owner = "causal_de_finetti"
    if isinstance(environments, np.ndarray) or not isinstance(environments, Sequence):
        array = check_array(environments, "environments", owner, ndim=3)
        if array.shape[1] < 2:
            raise ValueError(f"The 'environments' argument of {owner} needs at least 2 samples per "
                             f"environment (axis 1). Got shape {array.shape}.")
        return array[:, :2, :]
    pairs = []
    for e, block in enumerate(environments):
        block = check_array(block, f"environments[{e}]", owner, ndim=2, min_rows=2)
        pairs.append(block[:2])
    if not pairs:
        raise ValueError(f"The 'environments' argument of {owner} is empty.")
    widths = {p.shape[1] for p in pairs}
    if len(widths) > 1:
        raise ValueError(f"The environments given to {owner} have different numbers of variables "
                         f"{sorted(widths)}.")
    return np.stack(pairs)


def causal_de_finetti(environments: Any, *, ci_test: str | CITest = "kci", alpha: float = 0.05,
                      node_names: Sequence[str] | None = None, max_depth: int | None = None,
                      ci_options: Mapping[str, Any] | None = None) -> DiscoveredGraph:
    """Causal de Finetti discovery from E environments of (at least) two exchangeable samples.

    Parameters
    ----------
    environments: array (E, m, d), m >= 2, or a sequence of (m_e, d) arrays.
    ci_test, alpha, max_depth, ci_options: as for :func:`~latentscm.discovery.pc.pc`.

    Returns
    -------
    DiscoveredGraph; ``info["orientation_tests"]`` holds, per skeleton edge ``(i, j)``, the p-values of
    ``X_{i,2} ⊥ X_{j,1} | rest`` (evidence for i -> j) and of the reverse test.
    """
    pairs = as_environment_pairs(environments)
    n_env, _, d = pairs.shape
    names = _names(node_names, d, "causal_de_finetti")
    alpha = check_number(alpha, "alpha", "causal_de_finetti", low=0, high=1, low_inclusive=False,
                         high_inclusive=False)
    if max_depth is not None:
        max_depth = int(check_number(max_depth, "max_depth", "causal_de_finetti", low=0, integer=True))
    if n_env < 10:
        raise ValueError(f"causal_de_finetti needs at least 10 environments. Got {n_env}.")
    # Columns 0..d-1: first samples; d..2d-1: second samples.
    matrix = np.concatenate([pairs[:, 0, :], pairs[:, 1, :]], axis=1)
    bound = make_ci_test(ci_test, owner="causal_de_finetti", **dict(ci_options or {})).bind(matrix)
    skeleton = pc_skeleton(bound, alpha=alpha, max_depth=max_depth, columns=range(d))
    graph = skeleton.adjacency.copy()
    tests: dict[str, dict[str, float]] = {}
    edges = [(i, j) for i in range(d) for j in range(i + 1, d) if skeleton.adjacency[i, j]]
    queries = []
    for i, j in edges:
        queries.append(CIQuery.make(d + i, j, [k for k in range(d) if k != j]))  # i -> j evidence
        queries.append(CIQuery.make(d + j, i, [k for k in range(d) if k != i]))  # j -> i evidence
    results = bound.test_many(queries)
    for k, (i, j) in enumerate(edges):
        forward, backward = results[2 * k].p_value, results[2 * k + 1].p_value
        tests[f"{names[i]},{names[j]}"] = {"forward_p": forward, "backward_p": backward}
        if forward > alpha >= backward:
            graph[j, i] = 0
        elif backward > alpha >= forward:
            graph[i, j] = 0
    graph = apply_meek_rules(graph, background=True)  # the tests' orientations are background knowledge
    info = {"method": "causal_de_finetti", "ci_test": bound.test.name, "alpha": alpha,
            "n_environments": int(n_env), "n_tests": skeleton.n_tests + len(queries),
            "orientation_tests": tests}
    return DiscoveredGraph(names, graph, skeleton.separating_sets, info)
