"""Greedy Interventional Equivalence Search (GIES): a causal graph from observational and interventional data.

Hauser & Bühlmann (2012), "Characterization and greedy learning of interventional Markov equivalence classes of
directed acyclic graphs", JMLR 13. With known intervention targets, two DAGs are *interventionally* Markov
equivalent when, for every target set ``I`` of the experiments (the empty set, observational data, among them), the
graphs with the edges into ``I`` removed have the same skeleton and v-structures (their Theorem 10). A class is held
as its I-essential graph: the edges every member orients alike are directed, the others undirected. Interventions
make it smaller than the observational CPDAG: an edge with exactly one end in a target set is oriented, and Meek's
rules carry that on (:func:`interventional_essential_graph`).

GIES runs GES's forward, backward and turning phases over these classes (:mod:`latentscm.discovery.ges`): the
operators' validity conditions read the chain graph only, so they are the same; after each step the new class is
completed to its I-essential graph instead of its CPDAG. The score is the interventional BIC
(:class:`~latentscm.discovery.scores.InterventionalGaussianBIC`): each node's mechanism is fitted on the rows that do
not intervene on it. That is the score for perfect interventions. With soft ones (a target keeps its parents) the
class is the same (Yang, Katcoff & Uhler 2018, "Characterizing and learning equivalence classes of causal DAGs under
interventions", ICML), but this score is misspecified there and can prefer a wrong class: on 15 random d = 10 graphs
with 3 single-node experiments, noise variance x3-6 instead of a cut, GIES found the class in 7 and 9 of 15 (n = 2000,
20000 per environment; perfect interventions: 12 and 13), and 2-3 wrong results scored above the truth.
``interventions="soft"`` fits the right model: a target keeps its parents, with weights, intercept and variance of
its own in each environment that intervenes on it (I-score equivalent on enumerated classes, a test). It needs no
more than the known targets; :func:`~latentscm.discovery.gnies.gnies` also finds unknown ones for noise
interventions. ``bench_gies.py`` table 4 compares the two scores on perfect, noise and shift interventions.

Known limits: like GES, the search is greedy; Wang, Solus, Yang & Uhler (2017, NeurIPS, "Permutation-based causal
inference algorithms with interventions") show GIES need not be consistent in every case. ``bench_gies.py`` measures
how often it finds the true class.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from latentscm._validation import check_choice, node_position
from latentscm.discovery.ges import consistent_extension, cpdag_from_dag, search_phases
from latentscm.discovery.orientation import apply_meek_rules
from latentscm.discovery.pc import as_data_matrix
from latentscm.discovery.result import DiscoveredGraph
from latentscm.discovery.scores import InterventionalGaussianBIC

__all__ = ["gies", "intervention_targets", "interventional_essential_graph", "target_family"]


def interventional_essential_graph(dag: Any, targets: Iterable[Iterable[int]] = ()) -> np.ndarray:
    """The I-essential graph (d, d) of a DAG's interventional Markov equivalence class.

    Parameters
    ----------
    dag: adjacency (d, d), ``dag[i, j] = 1`` for ``i -> j``.
    targets: the family of intervention target sets (each an iterable of node positions). The observational
        setting (the empty set) is always taken to be among them, so no targets gives the CPDAG.

    Returns
    -------
    int array (d, d) in the library's convention: ``[i, j] = 1, [j, i] = 0`` for ``i -> j``, both for ``i - j``.
    The DAG's CPDAG with every edge that has exactly one end in some target set oriented as in the DAG, closed
    under Meek's rules R1-R4 (an edge is oriented in the class exactly when it is by these steps: Hauser & Bühlmann
    2012, Theorem 10 with §3.3; checked against brute-force enumeration of the class in the tests).
    """
    dag = (np.asarray(dag) != 0).astype(np.int64)
    g = cpdag_from_dag(dag)
    d = dag.shape[0]
    for target in targets:
        if isinstance(target, (str, bytes, int, np.integer)) or not isinstance(target, Iterable):
            raise ValueError(f"The 'targets' argument of interventional_essential_graph is a family of target sets, "
                             f"each a collection of nodes; got the entry {target!r} (write [({target!r},)] for one "
                             "set holding it).")
        inside = np.zeros(d, dtype=bool)
        inside[[node_position(v, None, d, "targets", "interventional_essential_graph") for v in target]] = True
        cut = (g != 0) & (g.T != 0) & (inside[:, None] != inside[None, :])
        for i, j in zip(*np.nonzero(cut & (dag != 0))):
            g[j, i] = 0
    return apply_meek_rules(g, background=True)


def intervention_targets(targets: Any, n: int, names: Sequence[str], owner: str, *, unit: str = "row") -> np.ndarray:
    """The per-row target mask (n, d) bool of ``targets`` (``unit`` names a row in messages: "experiment" for
    :func:`~latentscm.discovery.llc.llc_from_covariances`, whose rows are experiments).

    ``targets``: a bool (or 0/1) array (n, d), as a world batch's ``targets``, or a sequence of n entries (a list,
    a 1-D array or a Series), each the intervened columns of that row (names or positions; empty, None or NaN for an
    observational row). A list of 0/1 rows of length d is refused as ambiguous (give an array).
    """
    d = len(names)
    if hasattr(targets, "tolist") and np.ndim(targets) == 1:  # a Series or 1-D object array of per-row entries
        targets = targets.tolist()
    if isinstance(targets, (list, tuple)) and targets and all(
            isinstance(row, (list, tuple, np.ndarray)) and len(row) == d for row in targets):
        values = np.asarray(targets, dtype=object)
        if values.shape == (n, d) and all(isinstance(v, (bool, np.bool_)) for v in values.ravel()):
            targets = values.astype(bool)  # rows of True/False: a mask
        elif values.shape == (n, d) and d > 1 and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v in (0, 1) for v in values.ravel()):
            raise ValueError(f"The 'targets' argument of {owner} is a list of 0/1 rows of length d = {d}: a mask, or "
                             "positions? Give a mask as an array (np.asarray(targets, dtype=bool)), or positions as "
                             "lists of other lengths or of names.")
    if isinstance(targets, np.ndarray) and targets.ndim == 2:
        if targets.shape != (n, d):
            raise ValueError(f"The 'targets' argument of {owner} must be (n, d) = ({n}, {d}), one row per data row "
                             f"and one column per variable. Got shape {targets.shape}.")
        if targets.dtype != bool and not np.isin(targets, (0, 1)).all():
            raise ValueError(f"The 'targets' argument of {owner} must hold True/False (or 0/1) per row and column.")
        return targets.astype(bool)
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise TypeError(f"The 'targets' argument of {owner} must be a bool array (n, d) or a sequence of n target "
                        f"sets (names or positions per row). Got {type(targets).__name__}.")
    if len(targets) != n:
        raise ValueError(f"The 'targets' argument of {owner} has {len(targets)} entries for {n} data rows; give one "
                         "target set per row (empty for an observational row).")
    mask = np.zeros((n, d), dtype=bool)
    for row, entry in enumerate(targets):
        if entry is None or (isinstance(entry, float) and np.isnan(entry)):
            continue  # an empty cell (None, or pandas' NaN): an observational row
        items = [entry] if isinstance(entry, (str, int, np.integer)) else entry
        if not isinstance(items, Iterable):
            raise ValueError(f"The 'targets' argument of {owner} has {entry!r} in {unit} {row}; a {unit}'s targets "
                             "are a column name, a position, or a collection of them (empty or None: observational).")
        for item in items:
            mask[row, node_position(item, names, d, "targets", owner, f" in {unit} {row}")] = True
    return mask


def target_family(mask: np.ndarray) -> list[tuple[int, ...]]:
    """The distinct target sets (the family ``I``) of a per-row mask (n, d), the empty set first when present."""
    rows = np.unique(np.asarray(mask, dtype=bool), axis=0)
    family = [tuple(int(v) for v in np.flatnonzero(row)) for row in rows]
    return sorted(family, key=lambda t: (len(t), t))


#: What :func:`gies` takes an intervention to do to its target.
INTERVENTIONS = ("perfect", "soft")


def gies(data: Any, targets: Any, *, interventions: str = "perfect", penalty_discount: float = 1.0,
         max_parents: int | None = None, turning: bool = True, iterate: bool = True, environment_means: bool = False,
         node_names: Sequence[str] | None = None) -> DiscoveredGraph:
    """Greedy Interventional Equivalence Search: an I-essential graph from observational and interventional data.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame of all rows, observational and interventional.
    targets: which variables each row intervened on: a bool array (n, d) (a world batch's ``targets``), or n target
        sets of names or positions (empty or None for an observational row). Every variable must be left alone by
        at least its largest possible number of parents + 2 rows (so the family is conservative, Hauser & Bühlmann's
        condition).
    interventions: ``"perfect"`` (default: a target is cut from its parents; its rows are left out of its own score,
        Hauser & Bühlmann's score) or ``"soft"`` (a target keeps its parents with a mechanism of its own in each
        environment that intervenes on it, fitted there: the right model for noise or shift interventions; see
        :class:`~latentscm.discovery.scores.InterventionalGaussianBIC`). Every interventional environment then needs
        the rows a node's fit needs.
    penalty_discount: multiplier (> 0) of the BIC penalty ``(|Pa| + 1) / 2 * log n``; 1 is pcalg's default.
    max_parents: largest parent set an Insert or Turn may give its head node (None: no limit).
    turning: run the turning phase after the backward phase (pcalg's and the paper's default).
    iterate: repeat the phases until a whole round improves nothing (pcalg's default with several phases).
    environment_means: centre each environment (each distinct target set) on its own mean (see
        :class:`~latentscm.discovery.scores.InterventionalGaussianBIC`); default one intercept per mechanism. The
        ``gies`` Python package centres each data set it is given, so this reproduces it when no two of its data
        sets share a target set.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d), an I-essential graph: ``[i, j] = 1`` for ``i -> j``, both for
    ``i - j``. ``info`` holds the method, interventions, penalty_discount, max_parents, turning, iterate,
    environment_means,
    ``n_samples``, ``targets`` (the family, as lists of names, the empty one for observational rows),
    ``environment_sizes`` (rows per target set), ``score_value`` (the interventional BIC of the result),
    ``n_inserts``, ``n_deletes``, ``n_turns``, ``n_rounds`` and ``n_local_scores``.
    """
    owner = "gies"
    interventions = check_choice(interventions, "interventions", owner, INTERVENTIONS)
    for flag, value in (("turning", turning), ("iterate", iterate), ("environment_means", environment_means)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"The '{flag}' argument of {owner} must be True or False, got {value!r}.")
    matrix, names = as_data_matrix(data, node_names, owner)
    n, d = matrix.shape
    mask = intervention_targets(targets, n, names, owner)
    if max_parents is not None:
        if isinstance(max_parents, bool) or not isinstance(max_parents, (int, np.integer)) or max_parents < 0:
            raise ValueError(f"The 'max_parents' argument of {owner} must be a non-negative integer or None. Got "
                             f"{max_parents!r}.")
        max_parents = int(max_parents)
    free = (~mask).sum(axis=0)
    needed = min(d - 1, d if max_parents is None else max_parents) + 2
    for j in np.flatnonzero(free < needed):
        raise ValueError(f"The 'targets' argument of {owner} leaves variable {names[j]!r} alone in {int(free[j])} "
                         f"of {n} rows; its mechanism with up to {needed - 2} parents needs at least {needed} rows "
                         "that do not intervene on it (a conservative family of targets)"
                         + ("." if max_parents is not None else "; or limit the parents with max_parents."))
    patterns, family_index = np.unique(mask, axis=0, return_inverse=True)
    family_index = family_index.reshape(-1)
    if interventions == "soft":
        sizes_by_set = np.bincount(family_index, minlength=len(patterns))
        for e in np.flatnonzero(patterns.any(axis=1) & (sizes_by_set < needed)):
            raise ValueError(f"The 'targets' argument of {owner} gives the target set "
                             f"{[names[v] for v in np.flatnonzero(patterns[e])]} {int(sizes_by_set[e])} rows; with "
                             f"interventions='soft' its targets' mechanisms are fitted there, and a node with up to "
                             f"{needed - 2} parents needs at least {needed}.")
    for j in range(d):
        keep = ~mask[:, j]
        column = matrix[keep, j]
        if np.ptp(column) == 0:
            raise ValueError(f"The 'data' argument of {owner} has variable {names[j]!r} constant on the {column.size} "
                             "rows that do not intervene on it; a Gaussian score needs it to vary there.")
        if environment_means and all(np.ptp(column[family_index[keep] == e]) == 0
                                     for e in np.unique(family_index[keep])):
            raise ValueError(f"The 'data' argument of {owner} has variable {names[j]!r} constant within each "
                             "environment that leaves it alone; with environment_means=True nothing of it is left to "
                             "score. Use environment_means=False.")
    scorer = InterventionalGaussianBIC(matrix, mask, penalty_discount=penalty_discount,
                                       environment_means=environment_means, soft=interventions == "soft")
    family = target_family(mask)

    def complete(pdag: np.ndarray) -> np.ndarray:
        return interventional_essential_graph(consistent_extension(pdag), family)

    graph, value, counts, rounds = search_phases(scorer, d, turning=turning, iterate=iterate,
                                                 max_parents=max_parents, complete=complete)
    environments = [tuple(np.flatnonzero(row)) for row in mask]
    sizes = {target: 0 for target in family}
    for target in environments:
        sizes[tuple(int(v) for v in target)] += 1
    info = {"method": "gies", "score": "bic", "interventions": interventions,
            "penalty_discount": scorer.penalty_discount, "max_parents": max_parents,
            "turning": bool(turning), "iterate": bool(iterate), "environment_means": bool(environment_means),
            "n_samples": int(n), "targets": [[names[v] for v in target] for target in family],
            "environment_sizes": [sizes[target] for target in family],
            "score_value": value, "n_inserts": counts["insert"], "n_deletes": counts["delete"],
            "n_turns": counts["turn"], "n_rounds": rounds, "n_local_scores": scorer.n_computed}
    return DiscoveredGraph(names, graph, {}, info)
