"""CD-NOD: causal discovery from heterogeneous or nonstationary data.

Huang, Zhang, Zhang, Ramsey, Sanchez-Romero, Glymour & Schölkopf (2020), "Causal discovery from
heterogeneous/nonstationary data", JMLR 21(89). The domain or time index C is added as a variable
that nothing causes. A PC-stable skeleton over (V, C) finds the variables whose mechanisms change
(those adjacent to C); edges at C are oriented out of C, and colliders ``C -> V_i <- V_j`` (V_i in no
separating set of C and V_j) as well as Meek's rules then orient edges that i.i.d. PC cannot — a
changing cause ``C -> X - Y`` with C ⊥ Y | X gives ``X -> Y``.

With ``orient_changing=True``, edges left undirected between two *changing* variables (both
adjacent to C) are then oriented by the independent-change principle (the paper's section 4.2):
if ``X -> Y``, the changes of P(X) and of P(Y | X) across C are independent, while those of P(Y)
and P(X | Y) generally are not.
:func:`mechanism_dependence` embeds each module, for every sample's context value, as a kernel mean
embedding (of P(X | C=c), and of P(Y | X, C=c) through the joint kernel on (X, C)), compares the
two sample-by-sample Gram matrices of these embeddings with a normalised HSIC, and the direction
with the smaller dependence wins. Pairs are decided by decreasing margin between the two scores, and
a decision that would close a directed cycle is skipped; Meek's rules run again afterwards. This is
a heuristic decision, not a test: measured direction accuracy on the two-variable case (nothing
else can orient it) is 8/10 seeds for both domain and nonstationary data in the tests' generator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_choice, check_number
from latentscm.discovery.ci_tests.base import CITest, make_ci_test
from latentscm.discovery.ci_tests.discrete import encode_categories
from latentscm.discovery.collider_rules import COLLIDER_RULES, orient_by_rule
from latentscm.discovery.kernels import GaussianKernel, center_gram, standardize
from latentscm.discovery.knowledge import as_knowledge, orient_by_knowledge
from latentscm.discovery.orientation import _is_ancestor, apply_meek_rules, orient_colliders
from latentscm.discovery.pc import as_data_matrix, collider_tests, orient_with_exogenous, skeleton_with_knowledge
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["cdnod", "mechanism_dependence"]


def cdnod(data: Any, context: Any, *, ci_test: str | CITest = "kci", alpha: float = 0.05,
          node_names: Sequence[str] | None = None, context_name: str = "C",
          max_depth: int | None = None, ci_options: Mapping[str, Any] | None = None,
          orient_changing: bool = False, n_jobs: int | None = None,
          collider_rule: str = "standard", knowledge: Any = None) -> DiscoveredGraph:
    """CD-NOD over the columns of ``data`` (n, d) with a domain or time index ``context`` (n,).

    ``orient_changing=True`` also orients undirected edges between two changing variables by the
    independence of their mechanism changes (off by default: a heuristic decision, right on about
    8 of 10 seeds in the tests, where the other steps are consistent tests)
    (:func:`mechanism_dependence`), the pair with the largest score margin first, skipping an
    orientation that would close a directed cycle (the pairwise decisions need not be transitive);
    their scores go to ``info["mechanism_dependence"]``, one ``{"cause", "effect", "chosen", "reverse",
    "oriented"}`` record per edge in that order (``oriented`` False: skipped).
    ``orient_changing`` needs a continuous CI test (ValueError with ``"chisq"``/``"gsq"``).
    ``n_jobs`` parallelises each PC level (see :func:`~latentscm.discovery.pc.pc_skeleton`).
    ``collider_rule``: ``"standard"`` (the separating sets of the skeleton search), or ``"conservative"``,
    ``"majority"``, ``"maxp"`` (re-tests independent of the column order; see
    :func:`~latentscm.discovery.pc.pc`); the context stays a root either way.
    ``knowledge``: background knowledge by name (the variables' and ``context_name``), used as by
    :func:`~latentscm.discovery.pc.pc`; an edge into the context is forbidden whatever it says.

    Returns a :class:`DiscoveredGraph` over the d variables plus the context node (last, named
    ``context_name``); ``info["changing"]`` lists the variables adjacent to it (changing mechanisms).
    """
    test = make_ci_test(ci_test, owner="cdnod", **dict(ci_options or {}))
    if orient_changing and test.discrete:
        raise ValueError(f"The 'orient_changing' option of cdnod needs continuous data (its kernel embeddings are "
                         f"meaningless on category codes); it cannot be used with the categorical CI test "
                         f"{test.name!r}.")
    matrix, names = as_data_matrix(data, node_names, "cdnod", categorical=test.discrete)
    if np.asarray(context).dtype.kind in "OUS":  # domain labels given as text
        index = encode_categories(np.asarray(context), "context", "cdnod")[0].astype(np.float64)
    else:
        index = check_array(context, "context", "cdnod", ndim=1)
    if index.shape[0] != matrix.shape[0]:
        raise ValueError(f"The 'context' argument of cdnod has {index.shape[0]} entries but 'data' has "
                         f"{matrix.shape[0]} rows.")
    if np.unique(index).size < 2:
        raise ValueError("The 'context' argument of cdnod takes a single value: there is no change to use.")
    if not isinstance(context_name, str) or not context_name or context_name in names:
        raise ValueError("The 'context_name' argument of cdnod must be a new non-empty name. "
                         f"Got {context_name!r}.")
    alpha = check_number(alpha, "alpha", "cdnod", low=0, high=1, low_inclusive=False, high_inclusive=False)
    if max_depth is not None:
        max_depth = int(check_number(max_depth, "max_depth", "cdnod", low=0, integer=True))
    collider_rule = check_choice(collider_rule, "collider_rule", "cdnod", COLLIDER_RULES)
    augmented = np.concatenate([matrix, index[:, None]], axis=1)
    bound = test.bind(augmented)
    c = matrix.shape[1]
    knowledge = as_knowledge(knowledge, "cdnod")
    forbidden = required = None
    found: dict[str, Any] = {}
    if knowledge is not None:
        forbidden, required = knowledge.matrices((*names, context_name), "cdnod")
        into = np.flatnonzero(required[:, c])
        if into.size:
            raise ValueError(f"The 'knowledge' argument of cdnod requires {names[into[0]]} -> {context_name}, but "
                             f"the context {context_name!r} is a root (a domain or time index has no causes).")
        forbidden[:, c] = True
        forbidden[c, c] = False
        found["knowledge"] = knowledge.to_dict()
    skeleton, unseparated = skeleton_with_knowledge(bound, forbidden, required, alpha=alpha, max_depth=max_depth,
                                                    n_jobs=n_jobs)
    if unseparated:
        every = (*names, context_name)
        found["unseparated_forbidden_pairs"] = [(every[i], every[k]) for i, k in unseparated]
    known = None if knowledge is None else orient_by_knowledge(skeleton.adjacency, forbidden, required)
    if collider_rule == "standard":
        if known is None:
            graph = orient_with_exogenous(skeleton, exogenous=[c])
        else:  # the knowledge orients the context's edges away from it, as orient_exogenous does
            graph = apply_meek_rules(orient_colliders(known, skeleton.separating_sets, unknown=unseparated),
                                     background=True)
    else:
        tests = collider_tests(bound, skeleton.adjacency, max_depth=max_depth, n_jobs=n_jobs)
        graph, rule_info = orient_by_rule(skeleton.adjacency, tests, collider_rule, alpha, exogenous=[c],
                                          oriented=known)
        found.update(rule_info, n_collider_tests=sum(len(v) for v in tests.values()))
    changing_index = [int(v) for v in np.flatnonzero(skeleton.adjacency[c])]
    changing = [names[v] for v in changing_index]
    scores: list[dict[str, Any]] = []
    if orient_changing:
        graph, scores = _orient_changing_pairs(graph, matrix, index, changing_index, names)
    info = {"method": "cdnod", "ci_test": bound.test.name, "alpha": alpha,
            "n_tests": skeleton.n_tests + found.get("n_collider_tests", 0),
            "context": context_name, "changing": changing, "n_samples": int(matrix.shape[0]),
            "mechanism_dependence": scores, "collider_rule": collider_rule, **found}
    return DiscoveredGraph((*names, context_name), graph, skeleton.separating_sets, info)


def _orient_changing_pairs(graph: np.ndarray, matrix: np.ndarray, context: np.ndarray, changing: list[int],
                           names: Sequence[str]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Orient the undirected edges between changing variables of ``graph`` (d + 1, d + 1) by
    :func:`mechanism_dependence`, the most decisive pair (largest score margin) first; an orientation
    that would close a directed cycle is skipped (``"oriented": False`` in its record)."""
    graph = graph.copy()
    decisions = []
    for a, i in enumerate(changing):
        for j in changing[a + 1:]:
            if not (graph[i, j] and graph[j, i]):
                continue  # not adjacent, or already oriented
            forward = mechanism_dependence(matrix[:, i], matrix[:, j], context)
            backward = mechanism_dependence(matrix[:, j], matrix[:, i], context)
            cause, effect = (i, j) if forward <= backward else (j, i)
            decisions.append((abs(forward - backward), cause, effect, min(forward, backward), max(forward, backward)))
    decisions.sort(key=lambda decision: -decision[0])  # stable: ties keep the pair order
    scores: list[dict[str, Any]] = []
    for _, cause, effect, chosen, reverse in decisions:
        oriented = not _is_ancestor(graph, effect, cause)  # scores need not be transitive
        if oriented:
            graph[effect, cause] = 0
        scores.append({"cause": names[cause], "effect": names[effect], "chosen": chosen, "reverse": reverse,
                       "oriented": oriented})
    # the heuristic orientations are background knowledge for Meek's rules: R4 applies too
    return (apply_meek_rules(graph, background=True) if scores else graph), scores


def _context_gram(context: np.ndarray, width: float) -> np.ndarray:
    # Few distinct values: domains, compared only for equality (a delta kernel); otherwise a time
    # index or a continuous surrogate, smoothed with a Gaussian kernel on its standardised values.
    if np.unique(context).size <= np.sqrt(context.size):
        return (context[:, None] == context[None, :]).astype(np.float64)
    return GaussianKernel().gram(standardize(context[:, None]), width)


def _embedding_kernel(inner: np.ndarray) -> np.ndarray:
    """Centred Gaussian kernel (median width) on embeddings given by their inner products (n, n)."""
    diagonal = np.diagonal(inner)
    distances = np.maximum(diagonal[:, None] + diagonal[None, :] - 2.0 * inner, 0.0)
    median = float(np.median(distances[np.triu_indices(distances.shape[0], 1)]))
    return center_gram(np.exp(-distances / (2.0 * median)) if median > 0 else np.ones_like(distances))


def mechanism_dependence(cause: Any, effect: Any, context: Any, *, width: float = 1.0,
                         context_width: float = 0.25, ridge: float = 1.0, max_samples: int = 500) -> float:
    """Dependence between the changes of P(cause) and of P(effect | cause) across a context index.

    Huang et al. (2020), JMLR 21(89), section 4.2: with kernel mean embeddings indexed by the
    context value of each sample,

    * ``M_cause = A^T K_X A`` with ``A = (K_C + ridge I)^{-1} K_C`` — inner products of the estimated
      embeddings of P(X | C = c_t), t = 1..n;
    * ``M_effect = K_C ((K_X K_X) ∘ (B K_Y B)) K_C / n^2`` with ``B = (K_X ∘ K_C + ridge I)^{-1}`` —
      those of the conditional P(Y | X, C = c_t) through the joint kernel on (X, C);

    each turned into a Gaussian kernel over embeddings (median width) and centred; the score is their
    normalised HSIC ``<G_1, G_2>_F / (|G_1|_F |G_2|_F)`` in [0, 1]. Smaller means more independent
    changes: for ``X -> Y`` the score of (X, Y) is expected below that of (Y, X).

    Parameters
    ----------
    cause, effect: arrays (n,) or (n, k), standardised here.
    context: (n,) domain labels (at most sqrt(n) distinct values: delta kernel) or a time index
        (Gaussian kernel of width ``context_width`` on its standardised values).
    width: Gaussian kernel width on the standardised cause and effect.
    ridge: regularisation of the kernel regressions on C and on (X, C).
    max_samples: above this, a deterministic stride subsample is used (the cost is O(n^3)).

    Returns
    -------
    float: the normalised dependence (higher = more dependent changes).
    """
    owner = "mechanism_dependence"
    x = check_array(cause, "cause", owner, min_rows=4)
    y = check_array(effect, "effect", owner, min_rows=4)
    c = check_array(context, "context", owner, ndim=1)
    for name, value in (("cause", x), ("effect", y)):
        if value.ndim not in (1, 2):
            raise ValueError(f"The '{name}' argument of {owner} must be 1-D (n,) or 2-D (n, k). Got shape "
                             f"{value.shape}.")
    if not x.shape[0] == y.shape[0] == c.shape[0]:
        raise ValueError(f"{owner}: 'cause', 'effect' and 'context' need the same number of rows. Got "
                         f"{x.shape[0]}, {y.shape[0]} and {c.shape[0]}.")
    for name, value in (("width", width), ("context_width", context_width), ("ridge", ridge)):
        check_number(value, name, owner, low=0, low_inclusive=False)
    max_samples = int(check_number(max_samples, "max_samples", owner, low=10, integer=True))
    step = max(1, -(-x.shape[0] // max_samples))
    x, y, c = x[::step].reshape(-1, 1) if x.ndim == 1 else x[::step], y[::step], c[::step]
    y = y.reshape(-1, 1) if y.ndim == 1 else y
    n = x.shape[0]
    kernel = GaussianKernel()
    kx, ky = kernel.gram(standardize(x), width), kernel.gram(standardize(y), width)
    kc = _context_gram(c, context_width)
    identity = ridge * np.eye(n)
    a = np.linalg.solve(kc + identity, kc)
    m_cause = a.T @ kx @ a
    b = np.linalg.inv(kx * kc + identity)
    m_effect = kc @ ((kx @ kx) * (b @ ky @ b)) @ kc / (n * n)
    g1, g2 = _embedding_kernel(m_cause), _embedding_kernel(m_effect)
    denominator = float(np.linalg.norm(g1) * np.linalg.norm(g2))
    return float(np.vdot(g1, g2) / denominator) if denominator > 0 else 0.0
