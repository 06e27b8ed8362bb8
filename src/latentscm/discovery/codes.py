"""Discovery on a learner's codes, and comparison of a discovered graph with a known one.

A trained run's codes (N, D) are a table like any other; :func:`discover_from_codes` runs a
discovery method on (a seeded subsample of) them, and :func:`compare_graphs` scores the result
against the world's graph (skeleton precision / recall / F1, oriented-edge agreement, SHD, SID);
:func:`compare_pag` scores an FCI result (skeleton, arrowhead and tail precision).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from latentscm._validation import as_generator, check_array, check_choice, check_names, check_number
from latentscm.discovery.boss import boss
from latentscm.discovery.causal_de_finetti import causal_de_finetti
from latentscm.discovery.cdnod import cdnod
from latentscm.discovery.contrastive_causal_disentanglement import contrastive_causal_disentanglement_graph
from latentscm.discovery.dagma import dagma_linear
from latentscm.discovery.dagma_mlp import dagma_mlp
from latentscm.discovery.enco import enco
from latentscm.discovery.fci import fci
from latentscm.discovery.ges import ges
from latentscm.discovery.gfci import gfci
from latentscm.discovery.gies import gies
from latentscm.discovery.gnies import gnies
from latentscm.discovery.linear_causal_disentanglement import linear_causal_disentanglement_graph
from latentscm.discovery.linear_cyclic_model import LinearCyclicModel
from latentscm.discovery.lingam import direct_lingam
from latentscm.discovery.llc import llc
from latentscm.discovery.method_options import check_method_options
from latentscm.discovery.notears import notears_linear
from latentscm.discovery.notears_mlp import notears_mlp
from latentscm.discovery.pag import ARROW, TAIL, PartialAncestralGraph
from latentscm.discovery.pc import pc
from latentscm.discovery.result import DiscoveredGraph, skeleton_scores
from latentscm.discovery.rfci import rfci
from latentscm.discovery.score_matching import das, nogam, score_matching
from latentscm.discovery.sortnregress import sortnregress
from latentscm.discovery.xges import xges
from latentscm.graph import CausalGraph
from latentscm.metrics.graphs import _is_acyclic
from latentscm.metrics.sid import sid

__all__ = ["CODE_METHODS", "METHODS", "TARGET_METHODS", "compare_graphs", "compare_pag", "discover_from_codes"]

#: Discovery methods by name (the CLI's ``--method``).
METHODS: dict[str, Callable[..., DiscoveredGraph]] = {
    "pc": pc,
    "cdnod": cdnod,
    "cdf": causal_de_finetti,
    "gies": gies,
    "gnies": gnies,
    "enco": enco,
    "lcd": linear_causal_disentanglement_graph,
    "contrastive-lcd": contrastive_causal_disentanglement_graph,
}
#: Methods that read each row's intervention targets (observational and interventional rows together); llc returns
#: a :class:`~latentscm.discovery.linear_cyclic_model.LinearCyclicModel`.
TARGET_METHODS: dict[str, Callable[..., Any]] = {"gies": gies, "enco": enco, "llc": llc}


#: Methods :func:`discover_from_codes` runs on a table of codes, by name.
CODE_METHODS: dict[str, Callable[..., Any]] = {
    "pc": pc, "fci": fci, "rfci": rfci, "gfci": gfci, "ges": ges, "xges": xges, "boss": boss,
    "lingam": direct_lingam,
    "notears": notears_linear,
    "notears_mlp": notears_mlp, "dagma": dagma_linear, "dagma_mlp": dagma_mlp,
    "score": score_matching, "das": das, "nogam": nogam,
    "sortnregress": sortnregress,
}
#: Of those, the ones that use a CI test, take background knowledge, and start from random weights (shared with the
#: CLI's ``discover``).
CI_METHODS = ("pc", "fci", "rfci", "gfci")
KNOWLEDGE_METHODS = ("pc", "fci", "gfci", "boss", "lingam", "llc", "score", "das", "nogam", "sortnregress")
#: The causal-order methods that end with CAM pruning, whose ``alpha`` is the level of its F tests (default 0.001,
#: the papers'), with that default.
CAM_METHODS, CAM_ALPHA = ("score", "das", "nogam"), 0.001
SEEDED_METHODS = ("notears_mlp", "dagma_mlp", "boss", "gfci", "sortnregress")
#: Parameters discover_from_codes sets itself, with the argument that sets them.
_RESERVED = {"node_names": "'names'", "ci_test": "'ci_test'", "alpha": "'alpha'", "ci_options": "'ci_options'",
             "collider_rule": "'collider_rule'", "knowledge": "'knowledge'"}


def discover_from_codes(codes: Any, names: Sequence[str], *, method: str = "pc", ci_test: str = "kci",
                        alpha: float | None = None, max_samples: int = 2000,
                        seed: int | np.random.Generator = 0,
                        ci_options: Mapping[str, Any] | None = None,
                        collider_rule: str = "standard",
                        knowledge: Any = None,
                        options: Mapping[str, Any] | None = None,
                        targets: Any = None,
                        target_names: Sequence[str] | None = None
                        ) -> DiscoveredGraph | PartialAncestralGraph | LinearCyclicModel:
    """Discover a graph among learned latent variables.

    Parameters
    ----------
    codes: array (N, D) of encoded latents, one column per named latent.
    names: the D latent names.
    method: a name of :data:`CODE_METHODS`: ``"pc"``, ``"fci"`` (a PAG: latents may share causes the codes do
        not capture), ``"rfci"`` (FCI without Possible-D-SEP), ``"gfci"`` (a PAG from GES's CPDAG refined by
        tests), ``"ges"`` (linear-Gaussian BIC),
        ``"xges"`` / ``"boss"`` (the same score, XGES / BOSS search), ``"lingam"`` (DirectLiNGAM), ``"notears"``,
        ``"notears_mlp"``, ``"dagma"`` or ``"dagma_mlp"`` (continuous optimisation); or ``"gies"``, ``"enco"`` or
        ``"llc"`` with ``targets`` (codes of interventional data: GIES's I-essential graph, ENCO's DAG from
        single-latent interventions, or LLC's linear cyclic model with latent confounders from randomised ones).
        ``"score"``, ``"das"`` or ``"nogam"`` (a causal order of a nonlinear additive noise model from the score,
        pruned by CAM); ``"sortnregress"`` (the order of ascending variance, or with ``options={"criterion": "r2"}``
        of R^2, then regressions: the baseline of Reisach et al. 2021/2023). ``ci_test`` and ``ci_options`` apply to
        pc, fci, rfci and gfci only; the methods needing a context are not here.
    alpha: the level of the CI tests (pc, fci, rfci, gfci) or of llc's edge tests (default for those: 0.05), or of
        CAM pruning's F tests (score, das, nogam; default 0.001); other methods have none.
    max_samples: rows used (a seeded subsample when N is larger; kernel tests cost O(N^2)).
    seed: seed of the subsample; for notears_mlp, dagma_mlp, boss, gfci and enco also of their random starts, for
        sortnregress of its random order (``criterion="random"``) (unless ``options`` gives one).
    collider_rule: PC's collider rule (see :func:`~latentscm.discovery.pc.pc`); FCI has none.
    knowledge: background knowledge by latent name: PC's (see :func:`~latentscm.discovery.pc.pc`), BOSS's, tiers
        for FCI and GFCI (see :func:`~latentscm.discovery.fci.fci`), DirectLiNGAM's, LLC's, SortnRegress's, or SCORE's,
        DAS's and NoGAM's (see :func:`~latentscm.discovery.score_matching.score_matching`); not for the other methods.
    options: the method function's own keyword parameters (e.g. ``{"turning": True}`` for ges, ``{"lambda1":
        0.05}`` for notears), checked by name; the ones set by the arguments above are refused.
    targets: for ``method="gies"``, ``"enco"`` or ``"llc"`` (required there, refused elsewhere): which latents each
        row's data intervened on, a bool array (N, D) over the codes' columns, or (N, K) over ``target_names`` (a
        world batch's ``targets`` with ``world.factor_names``, for a learner whose latents carry the factors'
        names). A target with no latent of its name is refused.
    target_names: the K names of the columns of ``targets`` (default: ``names``).
    """
    owner = "discover_from_codes"
    matrix = check_array(codes, "codes", owner, ndim=2, min_rows=10)
    check_choice(method, "method", owner, (*CODE_METHODS, *TARGET_METHODS))
    if target_names is not None and targets is None:
        raise ValueError(f"The 'target_names' parameter of {owner} names the columns of 'targets', which is missing "
                         f"(targets go with method='gies', 'enco' or 'llc').")
    if (targets is None) != (method not in TARGET_METHODS):
        raise ValueError(f"The 'targets' parameter of {owner} is for method='gies', 'enco' or 'llc' (which need it: "
                         f"the latents each row intervened on). Got method={method!r} with targets "
                         f"{'missing' if targets is None else 'given'}.")
    if method != "pc" and collider_rule != "standard":
        raise ValueError(f"The 'collider_rule' parameter of {owner} applies to method='pc'"
                         f"{'; FCI orients colliders with circle marks of its own' if method == 'fci' else ''}. "
                         f"Got {collider_rule!r} with method={method!r}.")
    if method not in KNOWLEDGE_METHODS and knowledge is not None:
        raise ValueError(f"The 'knowledge' parameter of {owner} applies to method="
                         f"{', '.join(map(repr, KNOWLEDGE_METHODS))}, not {method!r}.")
    function = TARGET_METHODS.get(method) or CODE_METHODS[method]
    extra = check_method_options(function, options, method, {**_RESERVED, "targets": "'targets'"}, label="options")
    names = check_names(names, "names", owner, size=matrix.shape[1])
    limit = int(check_number(max_samples, "max_samples", owner, low=10, integer=True))
    rng = as_generator(seed)
    mask = None if targets is None else _code_targets(targets, target_names, names, matrix.shape[0], owner)
    if matrix.shape[0] > limit:
        rows = np.sort(rng.choice(matrix.shape[0], size=limit, replace=False))
        matrix = matrix[rows]
        mask = None if mask is None else mask[rows]
    if alpha is None:
        alpha = CAM_ALPHA if method in CAM_METHODS else 0.05
    if method == "gies":
        return gies(matrix, mask, node_names=list(names), **extra)
    if method == "enco":
        extra.setdefault("seed", rng)
        return enco(matrix, mask, node_names=list(names), **extra)
    if method == "llc":
        extra.setdefault("seed", rng)
        return llc(matrix, mask, alpha=alpha, knowledge=knowledge, node_names=list(names), **extra)
    if method in SEEDED_METHODS:
        extra.setdefault("seed", rng)
    if method == "pc":
        extra["collider_rule"] = collider_rule
    if method in CI_METHODS:
        extra.update(ci_test=ci_test, alpha=alpha, ci_options=ci_options)
    if method in CAM_METHODS:
        extra["alpha"] = alpha
    if method in KNOWLEDGE_METHODS:
        extra["knowledge"] = knowledge
    return CODE_METHODS[method](matrix, node_names=list(names), **extra)


def _code_targets(targets: Any, target_names: Sequence[str] | None, names: Sequence[str], n: int,
                  owner: str) -> np.ndarray:
    """The (N, D) bool mask over the codes' columns of ``targets`` (N, K) over ``target_names``."""
    try:
        array = np.asarray(targets)
    except ValueError:  # ragged per-row lists
        array = np.asarray(targets, dtype=object)
    columns = list(names) if target_names is None else list(check_names(target_names, "target_names", owner))
    if array.ndim != 2 or array.shape != (n, len(columns)):
        raise ValueError(f"The 'targets' parameter of {owner} must be a bool array (N, K) = ({n}, {len(columns)}): "
                         f"a row per code row, a column per {'latent' if target_names is None else 'target name'}. "
                         f"Got shape {array.shape}.")
    if array.dtype != bool and not np.isin(array, (0, 1)).all():
        raise ValueError(f"The 'targets' parameter of {owner} must hold True/False (or 0/1).")
    array = array.astype(bool)
    mask = np.zeros((n, len(names)), dtype=bool)
    for k, column in enumerate(columns):
        if not array[:, k].any():
            continue
        if column not in names:
            raise ValueError(f"The 'targets' of {owner} intervene on {column!r}, which no latent is named after; the "
                             f"latents are {list(names)}. Name the latents after the factors, or drop those rows.")
        mask[:, list(names).index(column)] = array[:, k]
    return mask


def compare_pag(discovered: PartialAncestralGraph, truth: CausalGraph) -> dict[str, float]:
    """Scores of a PAG against a known DAG over the same node names (no hidden nodes: the DAG is its own MAG).

    Returns skeleton precision/recall/F1; ``arrowhead.precision`` / ``arrowhead.recall`` (a mark ``>`` at j on
    an edge i *-> j is right when j is not an ancestor of i in the truth; recall over the true edges' arrowheads)
    and ``tail.precision`` (a ``-`` at i on i --> j is right when i is an ancestor of j). Circles are neither
    right nor wrong: they count against recall only. A precision with nothing to score is 1.
    """
    marks = _in_truth_order(discovered.marks, discovered.nodes, truth)
    true = truth.adjacency
    scores = skeleton_scores((marks != 0).astype(np.int64), true)
    closure = _reachability(true)  # closure[a, b]: a is an ancestor of b
    edges = (marks != 0) & ((true + true.T) != 0)  # (i, j) on a true edge: the mark at j
    heads = edges & (marks == ARROW)
    tails = edges & (marks == TAIL)
    right_heads = heads & ~closure.T  # the mark at j is an arrowhead, and j is no ancestor of i
    true_heads = (true + true.T != 0) & ~closure.T  # every arrowhead of the true DAG (the MAG)
    scores["arrowhead.precision"] = float(right_heads.sum() / heads.sum()) if heads.any() else 1.0
    scores["arrowhead.recall"] = float(right_heads.sum() / true_heads.sum()) if true_heads.any() else 1.0
    scores["tail.precision"] = float((tails & closure.T).sum() / tails.sum()) if tails.any() else 1.0
    return scores


def _in_truth_order(matrix: np.ndarray, nodes: Sequence[str], truth: CausalGraph) -> np.ndarray:
    """``matrix`` (d, d) over ``nodes`` reordered to ``truth.nodes``; ValueError when the node sets differ."""
    if set(nodes) != set(truth.nodes):
        raise ValueError(f"The graphs have different nodes: {sorted(nodes)} vs {sorted(truth.nodes)}.")
    order = [list(nodes).index(n) for n in truth.nodes]
    return matrix[np.ix_(order, order)]


def _reachability(adjacency: np.ndarray) -> np.ndarray:
    """``[a, b]`` True when a directed path a -> ... -> b exists in ``adjacency`` (d, d)."""
    d = adjacency.shape[0]
    reach = adjacency.astype(bool)
    for k in range(d):  # Floyd-Warshall on booleans
        reach = reach | (reach[:, [k]] & reach[[k], :])
    return reach


def compare_graphs(discovered: DiscoveredGraph, truth: CausalGraph) -> dict[str, float]:
    """Scores of a discovered graph against a known DAG over the same node names.

    Returns skeleton precision/recall/F1, ``orientation.accuracy`` (share of true edges found with
    the right direction; undirected counts as wrong) and ``shd`` (structural Hamming distance
    between the discovered graph and the true DAG; lower is better), and the structural intervention
    distance of :func:`latentscm.metrics.sid` (``sid``, or ``sid.lower``/``sid.upper`` for a discovered
    graph with undirected edges; lower is better; left out when its directed part has a cycle).
    """
    estimated = _in_truth_order(discovered.adjacency, discovered.nodes, truth)
    true = truth.adjacency
    scores = skeleton_scores(estimated, true)
    directed = (estimated == 1) & (estimated.T == 0)
    n_true = int(true.sum())
    scores["orientation.accuracy"] = float((directed & (true == 1)).sum() / n_true) if n_true else 1.0
    upper = np.triu_indices(true.shape[0], k=1)
    mismatch = (estimated != true) | (estimated.T != true.T)
    scores["shd"] = float(mismatch[upper].sum())
    if _is_acyclic(directed):
        scores.update({key: value for key, value in sid(true, estimated).items() if not key.endswith("normalised")})
    return scores
