"""CD-NOD: causal discovery from heterogeneous or nonstationary data.

Huang, Zhang, Zhang, Ramsey, Sanchez-Romero, Glymour & Schölkopf (2020), "Causal discovery from
heterogeneous/nonstationary data", JMLR 21(89). The domain or time index C is added as a variable
that nothing causes. A PC-stable skeleton over (V, C) finds the variables whose mechanisms change
(those adjacent to C); edges at C are oriented out of C, and colliders ``C -> V_i <- V_j`` (V_i in no
separating set of C and V_j) as well as Meek's rules then orient edges that i.i.d. PC cannot — a
changing cause ``C -> X - Y`` with C ⊥ Y | X gives ``X -> Y``.

Not implemented: the paper's third step (orienting edges between two changing variables by the
independence of their mechanism changes); such edges stay undirected unless Meek's rules orient them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_array, check_number
from latentscm.discovery.ci_tests.base import CITest, make_ci_test
from latentscm.discovery.ci_tests.discrete import encode_categories
from latentscm.discovery.pc import as_data_matrix, orient_with_exogenous, pc_skeleton
from latentscm.discovery.result import DiscoveredGraph

__all__ = ["cdnod"]


def cdnod(data: Any, context: Any, *, ci_test: str | CITest = "kci", alpha: float = 0.05,
          node_names: Sequence[str] | None = None, context_name: str = "C",
          max_depth: int | None = None, ci_options: Mapping[str, Any] | None = None) -> DiscoveredGraph:
    """CD-NOD over the columns of ``data`` (n, d) with a domain or time index ``context`` (n,).

    Returns a :class:`DiscoveredGraph` over the d variables plus the context node (last, named
    ``context_name``); ``info["changing"]`` lists the variables adjacent to it (changing mechanisms).
    """
    test = make_ci_test(ci_test, **dict(ci_options or {}))
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
    augmented = np.concatenate([matrix, index[:, None]], axis=1)
    bound = test.bind(augmented)
    skeleton = pc_skeleton(bound, alpha=alpha, max_depth=max_depth)
    c = matrix.shape[1]
    graph = orient_with_exogenous(skeleton, exogenous=[c])
    changing = [names[v] for v in np.flatnonzero(skeleton.adjacency[c])]
    info = {"method": "cdnod", "ci_test": bound.test.name, "alpha": alpha, "n_tests": skeleton.n_tests,
            "context": context_name, "changing": changing, "n_samples": int(matrix.shape[0])}
    return DiscoveredGraph((*names, context_name), graph, skeleton.separating_sets, info)
