"""Greedy Equivalence Search (GES): score-based discovery of a CPDAG.

Chickering (2002), "Optimal structure identification with greedy search", JMLR 3; Meek (1997), PhD thesis
(the two-phase search). The search moves between Markov equivalence classes, each held as its CPDAG:

* forward phase: from the empty graph, apply the best score-improving ``Insert(X, Y, T)`` until none
  improves. For non-adjacent X, Y, ``T`` is a subset of the undirected neighbours of Y not adjacent to X,
  and with ``NA`` the undirected neighbours of Y adjacent to X, the operator is valid iff ``NA ∪ T`` is a
  clique and every semi-directed path from Y to X has a node in ``NA ∪ T`` (Chickering's Theorem 15).
  It adds ``X -> Y`` and orients each ``T - Y`` as ``T -> Y``; its score change is
  ``s(Y, NA ∪ T ∪ Pa_Y ∪ {X}) - s(Y, NA ∪ T ∪ Pa_Y)``.
* backward phase: apply the best score-improving ``Delete(X, Y, H)`` until none improves. For adjacent
  X, Y (``X - Y`` or ``X -> Y``), ``H`` is a subset of ``NA``, valid iff ``NA \\ H`` is a clique (Theorem
  17); it removes the edge and orients ``Y - H`` as ``Y -> H`` and ``X - H`` as ``X -> H``; its score
  change is ``s(Y, (NA \\ H) ∪ Pa_Y \\ {X}) - s(Y, (NA \\ H) ∪ Pa_Y ∪ {X})``.

* turning phase (optional; Hauser & Bühlmann 2012, "Characterization and greedy learning of interventional Markov
  equivalence classes of directed acyclic graphs", JMLR 13, §5, observational case): apply the best
  score-improving ``Turn(U, V, C)`` until none improves. It reverses the edge ``U -> V`` of a member DAG, giving
  ``V -> U`` and making the clique ``C`` of undirected neighbours of ``U`` its parents. For ``U -> V`` in the
  CPDAG, ``C`` holds ``NA`` (the undirected neighbours of ``U`` adjacent to ``V``) and no parent of ``V`` other
  than ``U`` may be reached from ``U`` by a semi-directed path avoiding ``C ∪ {V}``; for ``U - V``, ``C`` holds a
  node not adjacent to ``V`` (else the class does not change) and a member with ``V`` right after ``U`` in a
  topological order must exist. Score change: ``s(U, Pa_U ∪ C ∪ {V}) - s(U, Pa_U ∪ C) + s(V, P) - s(V, P ∪ {U})``
  with ``P = Pa_V \\ {U}`` (``U -> V``) or ``Pa_V ∪ (C ∩ adj V)`` (``U - V``).
* ``iterate``: repeat the phases until a whole round improves nothing.

After each step the PDAG is completed back to a CPDAG: a consistent extension (Dor & Tarsi 1992, "A
simple algorithm to construct a consistent extension of a partially oriented graph"), then that DAG's
CPDAG (Chickering 1995, "A transformational characterization of equivalent Bayesian network structures",
UAI: ordering the edges and labelling them compelled or reversible).

Graphs are int matrices (d, d) in the library convention: ``g[i, j] = 1, g[j, i] = 0`` is ``i -> j``,
both set is ``i - j``. Inside the search node sets are bit masks (bit ``v`` for node ``v``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from latentscm._validation import check_choice, check_number
from latentscm.discovery.ci_tests.discrete import encode_table
from latentscm.discovery.conditional_gaussian import ConditionalGaussianBIC, mixed_table
from latentscm.discovery.pc import as_data_matrix
from latentscm.discovery.result import DiscoveredGraph
from latentscm.discovery.scores import BDeu, GaussianBIC, LocalScore

__all__ = ["GES_SCORES", "apply_delete", "apply_insert", "apply_turn", "consistent_extension", "cpdag_from_dag",
           "delete_operators", "ges", "greedy_phase", "insert_operators", "pdag_to_cpdag", "search_phases",
           "turn_operators"]

#: Scores the score-based searches accept: the linear-Gaussian BIC, BDeu for categorical data, and the conditional
#: Gaussian BIC for mixed data.
GES_SCORES = ("bic", "bdeu", "cg")
#: Options of the BDeu score (``score_options``).
BDEU_OPTIONS = ("equivalent_sample_size", "structure_prior")
#: Options of the conditional Gaussian score (``discrete`` is required).
CG_OPTIONS = ("discrete", "min_extra_rows")


# ---------------------------------------------------------------------------------------------- bit masks
def _mask(nodes: Any) -> int:
    out = 0
    for v in nodes:
        out |= 1 << int(v)
    return out


def _bits(mask: int) -> list[int]:
    out = []
    v = 0
    while mask:
        if mask & 1:
            out.append(v)
        mask >>= 1
        v += 1
    return out


class _Structure:
    """Parents, children, undirected neighbours and adjacencies of every node of a PDAG, as bit masks."""

    def __init__(self, g: np.ndarray) -> None:
        a = np.asarray(g) != 0
        undirected = a & a.T
        directed = a & ~a.T
        d = a.shape[0]
        self.d = d
        self.pa = [_mask(np.flatnonzero(directed[:, v])) for v in range(d)]
        self.ch = [_mask(np.flatnonzero(directed[v])) for v in range(d)]
        self.ne = [_mask(np.flatnonzero(undirected[v])) for v in range(d)]
        self.adj = [self.pa[v] | self.ch[v] | self.ne[v] for v in range(d)]

    def is_clique(self, mask: int) -> bool:
        """Whether the nodes of ``mask`` are pairwise adjacent."""
        for v in _bits(mask):
            if mask & ~(1 << v) & ~self.adj[v]:
                return False
        return True

    def blocks_semi_directed(self, y: int, x: int, blocked: int) -> bool:
        """Whether every semi-directed path from ``y`` to ``x`` (each edge ``a - b`` or ``a -> b``, walked
        away from ``y``) has a node in ``blocked``."""
        seen = (1 << y) | blocked
        stack = [y]
        while stack:
            v = stack.pop()
            step = (self.ch[v] | self.ne[v]) & ~seen
            if step >> x & 1:
                return False
            seen |= step
            stack.extend(_bits(step))
        return True


def _subsets(nodes: list[int]) -> Iterator[int]:
    """Every subset of ``nodes`` as a bit mask, by size, then in lexicographic order."""
    for size in range(len(nodes) + 1):
        for chosen in combinations(nodes, size):
            yield _mask(chosen)


# ------------------------------------------------------------------------------------------- operators
def _insert_candidates(s: _Structure, max_parents: int | None, forbidden: int = 0
                       ) -> Iterator[tuple[int, int, int, int]]:
    """``(x, y, T, NA ∪ T)`` of every Insert whose ``NA ∪ T`` is a clique and that respects ``max_parents``
    (the semi-directed-path condition is left to the caller). ``forbidden``: a bit ``x * d + y`` per insertion
    ``x -> y`` that may not be made (XGES's restarts)."""
    for x in range(s.d):
        for y in range(s.d):
            if x == y or s.adj[x] >> y & 1 or forbidden >> (x * s.d + y) & 1:
                continue
            na = s.ne[y] & s.adj[x]
            if not s.is_clique(na):  # NA is part of every NA ∪ T
                continue
            for t in _subsets(_bits(s.ne[y] & ~s.adj[x])):
                clique = na | t
                if max_parents is not None and (s.pa[y] | clique).bit_count() + 1 > max_parents:
                    continue
                if s.is_clique(clique):
                    yield x, y, t, clique


def _delete_candidates(s: _Structure) -> Iterator[tuple[int, int, int, int]]:
    """``(x, y, H, NA \\ H)`` of every valid Delete: ``x - y`` or ``x -> y``, ``NA \\ H`` a clique."""
    for x in range(s.d):
        for y in range(s.d):
            if not (s.ne[y] | s.pa[y]) >> x & 1:
                continue
            na = s.ne[y] & s.adj[x]
            for h in _subsets(_bits(na)):
                rest = na & ~h
                if s.is_clique(rest):
                    yield x, y, h, rest


def _turn_candidates(s: _Structure) -> Iterator[tuple[int, int, int, int]]:
    """``(u, v, C, C)`` of every Turn whose ``C`` is a clique of undirected neighbours of ``u`` (the path
    condition is left to the caller): the edge ``u -> v`` or ``u - v`` becomes ``v -> u`` and ``C`` the parents
    of ``u`` among its undirected neighbours. ``u -> v`` needs ``NA ⊆ C`` (``NA`` the undirected neighbours of
    ``u`` adjacent to ``v``, all parents of ``v``: one left a child of ``u`` closes a cycle); ``u - v`` needs a
    node of ``C`` not adjacent to ``v`` (else the turned DAG stays in the class)."""
    for u in range(s.d):
        for v in range(s.d):
            if not (s.ch[u] | s.ne[u]) >> v & 1:
                continue
            others = s.ne[u] & ~(1 << v)
            if s.ne[u] >> v & 1:
                far = others & ~s.adj[v]
                for clique in _subsets(_bits(others)):
                    if clique & far and s.is_clique(clique):
                        yield u, v, clique, clique
                continue
            na = others & s.adj[v]
            if not s.is_clique(na):
                continue
            for t in _subsets(_bits(others & ~s.adj[v])):
                clique = na | t
                if s.is_clique(clique):
                    yield u, v, clique, clique


def _turn_blocked(s: _Structure, u: int, v: int, clique: int) -> bool:
    """Whether some member DAG with ``u -> v``, parents ``Pa_u ∪ C`` of ``u`` has no other directed path from
    ``u`` to ``v`` (reversing its edge ``u -> v`` then gives the turned DAG, acyclic).

    ``u -> v``: orient the chain component of ``v`` with ``v`` first; a path must then end in an edge ``z -> v``
    of the CPDAG, and outside the component of ``u`` undirected edges reach nothing their entry parent does not.
    So: no parent ``z != u`` of ``v`` is reached from ``u`` by a semi-directed path avoiding ``C`` and ``v``.
    ``u - v``: such a member has a topological order with ``v`` right after ``u``, so the parents of ``v`` in
    the component are ``u`` and ``C ∩ adj(v)``; it exists iff the CPDAG with ``C -> u``, ``u -> w`` for its other
    neighbours ``w``, ``C ∩ adj(v) -> v`` and ``v -> w`` for the other neighbours of ``v`` has a consistent
    extension (no path can then reach ``v`` from ``u``: every other parent of ``v`` is a parent of ``u``).
    """
    if s.ne[u] >> v & 1:
        pdag = np.zeros((s.d, s.d), dtype=np.int64)
        for w in range(s.d):
            for p in _bits(s.pa[w]):
                pdag[p, w] = 1
            for k in _bits(s.ne[w]):
                pdag[k, w] = 1
        for node, parents in ((u, clique), (v, (clique & s.adj[v]) | 1 << u)):
            for w in _bits(s.ne[node]):
                if parents >> w & 1:
                    pdag[node, w] = 0
                else:
                    pdag[w, node] = 0
        try:
            consistent_extension(pdag)
        except ValueError:
            return False
        return True
    seen = (1 << u) | (1 << v) | clique
    stack = [u]
    while stack:
        w = stack.pop()
        step = (s.ch[w] | s.ne[w]) & ~seen
        seen |= step
        stack.extend(_bits(step))
    return not (seen & ~((1 << u) | (1 << v) | clique) & s.pa[v])


def _turn_delta(s: _Structure, scorer: LocalScore, u: int, v: int, clique: int) -> float:
    """Score change of ``Turn(u, v, C)``: a member DAG with parents ``Pa_u ∪ C`` of ``u`` and ``Pa_v ∪ {u} ∪ NA``
    (``u - v``) or ``Pa_v`` (``u -> v``) of ``v``, its edge ``u -> v`` reversed."""
    before_u = s.pa[u] | clique
    v_rest = (s.pa[v] | (clique & s.adj[v])) if s.ne[u] >> v & 1 else s.pa[v] & ~(1 << u)
    return (scorer.local_mask(u, before_u | 1 << v) - scorer.local_mask(u, before_u)
            + scorer.local_mask(v, v_rest) - scorer.local_mask(v, v_rest | 1 << u))


def insert_operators(cpdag: np.ndarray, *, max_parents: int | None = None) -> list[tuple[int, int, frozenset[int]]]:
    """Every valid ``Insert(X, Y, T)`` of a CPDAG (d, d), as ``(X, Y, T)`` (Chickering 2002, Theorem 15)."""
    s = _Structure(cpdag)
    return [(x, y, frozenset(_bits(t))) for x, y, t, clique in _insert_candidates(s, max_parents)
            if s.blocks_semi_directed(y, x, clique)]


def delete_operators(cpdag: np.ndarray) -> list[tuple[int, int, frozenset[int]]]:
    """Every valid ``Delete(X, Y, H)`` of a CPDAG (d, d), as ``(X, Y, H)`` (Chickering 2002, Theorem 17)."""
    return [(x, y, frozenset(_bits(h))) for x, y, h, _ in _delete_candidates(_Structure(cpdag))]


def turn_operators(cpdag: np.ndarray) -> list[tuple[int, int, frozenset[int]]]:
    """Every valid ``Turn(U, V, C)`` of a CPDAG (d, d), as ``(U, V, C)`` (Hauser & Bühlmann 2012, §5): the edge
    ``U -> V`` or ``U - V`` becomes ``V -> U`` and the undirected neighbours ``C`` of ``U`` become its parents."""
    s = _Structure(cpdag)
    return [(u, v, frozenset(_bits(c))) for u, v, c, _ in _turn_candidates(s) if _turn_blocked(s, u, v, c)]


def apply_insert(cpdag: np.ndarray, x: int, y: int, t: Sequence[int] | frozenset[int]) -> np.ndarray:
    """The PDAG after ``Insert(x, y, t)``: ``x -> y`` added, each ``t_k - y`` oriented ``t_k -> y`` (a copy;
    complete it with :func:`pdag_to_cpdag`)."""
    g = np.array(cpdag, dtype=np.int64, copy=True)
    g[x, y], g[y, x] = 1, 0
    for k in t:
        g[k, y], g[y, k] = 1, 0
    return g


def apply_delete(cpdag: np.ndarray, x: int, y: int, h: Sequence[int] | frozenset[int]) -> np.ndarray:
    """The PDAG after ``Delete(x, y, h)``: the edge removed, ``y - h_k`` oriented ``y -> h_k`` and an undirected
    ``x - h_k`` oriented ``x -> h_k`` (a copy; complete it with :func:`pdag_to_cpdag`)."""
    g = np.array(cpdag, dtype=np.int64, copy=True)
    g[x, y] = g[y, x] = 0
    for k in h:
        g[y, k], g[k, y] = 1, 0
        if g[x, k] and g[k, x]:
            g[x, k], g[k, x] = 1, 0
    return g


def apply_turn(cpdag: np.ndarray, u: int, v: int, c: Sequence[int] | frozenset[int]) -> np.ndarray:
    """The PDAG after ``Turn(u, v, c)``: ``v -> u``, each ``c_k - u`` oriented ``c_k -> u`` and every other
    undirected ``u - w`` oriented ``u -> w`` (a copy; complete it with :func:`pdag_to_cpdag`)."""
    g = np.array(cpdag, dtype=np.int64, copy=True)
    g[v, u], g[u, v] = 1, 0
    chosen = {int(k) for k in c}
    for w in np.flatnonzero(g[u] & g[:, u]):
        if int(w) in chosen:
            g[w, u], g[u, w] = 1, 0
        else:
            g[u, w], g[w, u] = 1, 0
    return g


# ----------------------------------------------------------------------------------- graph completion
def consistent_extension(pdag: np.ndarray) -> np.ndarray:
    """A DAG (d, d) with the PDAG's skeleton, directed edges and v-structures (Dor & Tarsi 1992).

    Repeatedly removes a node ``x`` that is a sink among the remaining nodes (no directed edge out) and whose
    every undirected neighbour is adjacent to all other nodes adjacent to ``x``, orienting its undirected
    edges into it. Raises ValueError when the PDAG has no consistent extension.
    """
    s = _Structure(pdag)
    dag = np.zeros((s.d, s.d), dtype=np.int64)
    for v in range(s.d):
        for p in _bits(s.pa[v]):
            dag[p, v] = 1
    remaining = (1 << s.d) - 1
    while remaining:
        for x in _bits(remaining):
            if s.ch[x] & remaining:
                continue
            around = s.adj[x] & remaining
            neighbours = s.ne[x] & remaining
            if all(not (around & ~(1 << y) & ~s.adj[y]) for y in _bits(neighbours)):
                for y in _bits(neighbours):
                    dag[y, x] = 1
                remaining &= ~(1 << x)
                break
        else:
            raise ValueError("The PDAG has no consistent extension (every orientation of its undirected edges "
                             "creates a directed cycle or a new v-structure).")
    return dag


def _topological_order(dag: np.ndarray) -> list[int]:
    d = dag.shape[0]
    indegree = dag.sum(axis=0).astype(int).tolist()
    ready = [v for v in range(d) if indegree[v] == 0]
    order = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for c in np.flatnonzero(dag[v]):
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(int(c))
    if len(order) != d:
        raise ValueError("The graph given to cpdag_from_dag has a directed cycle.")
    return order


def cpdag_from_dag(dag: np.ndarray) -> np.ndarray:
    """The CPDAG (d, d) of a DAG's Markov equivalence class: compelled edges directed, reversible ones both
    ways (Chickering 1995, Order-Edges and Find-Compelled)."""
    dag = (np.asarray(dag) != 0).astype(np.int64)
    order = _topological_order(dag)
    rank = {v: k for k, v in enumerate(order)}
    parents = [set(np.flatnonzero(dag[:, v]).tolist()) for v in range(dag.shape[0])]
    compelled: dict[tuple[int, int], bool] = {}
    for y in order:  # edges into y, y in topological order, the highest-ranked tail first
        for x in sorted(parents[y], key=lambda v: -rank[v]):
            if (x, y) in compelled:
                continue
            done = False
            for w in parents[x]:
                if not compelled[(w, x)]:
                    continue
                if w not in parents[y]:  # w -> x -> y unshielded: everything into y is compelled
                    for z in parents[y]:
                        compelled[(z, y)] = True
                    done = True
                    break
                compelled[(w, y)] = True
            if done:
                continue
            value = any(z != x and z not in parents[x] for z in parents[y])  # a v-structure at y
            for z in parents[y]:
                compelled.setdefault((z, y), value)
    cpdag = dag.copy()
    for (x, y), forced in compelled.items():
        if not forced:
            cpdag[y, x] = 1
    return cpdag


def pdag_to_cpdag(pdag: np.ndarray) -> np.ndarray:
    """The CPDAG of the class a PDAG represents: its consistent extension's CPDAG (ValueError when none)."""
    return cpdag_from_dag(consistent_extension(pdag))


# ------------------------------------------------------------------------------------------------ search
def _best_insert(s: _Structure, scorer: LocalScore, max_parents: int | None, forbidden: int = 0
                 ) -> tuple[float, tuple[int, int, int] | None]:
    best, choice = 0.0, None
    for x, y, t, clique in _insert_candidates(s, max_parents, forbidden):
        parents = s.pa[y] | clique
        delta = scorer.local_mask(y, parents | 1 << x) - scorer.local_mask(y, parents)
        # the path condition costs a graph search: only for a candidate that would win
        if delta > best and s.blocks_semi_directed(y, x, clique):
            best, choice = delta, (x, y, t)
    return best, choice


def _delete_delta(s: _Structure, scorer: LocalScore, x: int, y: int, rest: int) -> float:
    """Score change of ``Delete(x, y, H)`` with ``rest = NA \\ H``."""
    without = (s.pa[y] | rest) & ~(1 << x)
    return scorer.local_mask(y, without) - scorer.local_mask(y, without | 1 << x)


def _best_delete(s: _Structure, scorer: LocalScore) -> tuple[float, tuple[int, int, int] | None]:
    best, choice = 0.0, None
    for x, y, h, rest in _delete_candidates(s):
        delta = _delete_delta(s, scorer, x, y, rest)
        if delta > best:
            best, choice = delta, (x, y, h)
    return best, choice


def _best_turn(s: _Structure, scorer: LocalScore, max_parents: int | None
               ) -> tuple[float, tuple[int, int, int] | None]:
    best, choice = 0.0, None
    for u, v, clique, _ in _turn_candidates(s):
        if max_parents is not None and (s.pa[u] | clique).bit_count() + 1 > max_parents:
            continue
        delta = _turn_delta(s, scorer, u, v, clique)
        if delta > best and _turn_blocked(s, u, v, clique):
            best, choice = delta, (u, v, clique)
    return best, choice


_PHASES = {"insert": (_best_insert, apply_insert), "delete": (_best_delete, apply_delete),
           "turn": (_best_turn, apply_turn)}


def greedy_phase(cpdag: np.ndarray, scorer: LocalScore, phase: str, *, max_parents: int | None = None,
                 complete: Callable[[np.ndarray], np.ndarray] = pdag_to_cpdag) -> tuple[np.ndarray, float, int]:
    """One phase of GES from a CPDAG (d, d): apply the best score-improving operator (``phase="insert"``: the
    forward phase, ``"delete"``: the backward phase, ``"turn"``: the turning phase of Hauser & Bühlmann 2012),
    complete the PDAG to a CPDAG, until none improves.

    ``complete`` maps the PDAG an operator leaves to the graph of its class (default :func:`pdag_to_cpdag`; GIES
    passes the I-essential completion, :func:`~latentscm.discovery.gies.interventional_essential_graph`).

    Returns the completed graph (d, d) (a CPDAG by default), the score gained and the number of steps. The
    result has no improving operator of its phase; another phase can make one improving again (see ``iterate`` of
    :func:`ges`).
    """
    check_choice(phase, "phase", "greedy_phase", tuple(_PHASES))
    best_step, step = _PHASES[phase]
    graph = np.array(cpdag, dtype=np.int64, copy=True)
    gained, steps = 0.0, 0
    while True:
        s = _Structure(graph)
        delta, choice = best_step(s, scorer, max_parents) if phase != "delete" else _best_delete(s, scorer)
        if choice is None:
            return graph, gained, steps
        x, y, nodes = choice
        graph = complete(step(graph, x, y, _bits(nodes)))
        gained += delta
        steps += 1


def search_phases(scorer: LocalScore, d: int, *, turning: bool, iterate: bool, max_parents: int | None = None,
                  complete: Callable[[np.ndarray], np.ndarray] = pdag_to_cpdag
                  ) -> tuple[np.ndarray, float, dict[str, int], int]:
    """GES's phases from the empty graph over d nodes: forward, backward (and turning), repeated until a round
    improves nothing when ``iterate``; ``complete`` as in :func:`greedy_phase`.

    Returns the graph (d, d), its score (the empty graph's plus the gains), the steps per phase (``"insert"``,
    ``"delete"``, ``"turn"``) and the number of rounds.
    """
    value = sum(scorer.local_mask(v, 0) for v in range(d))
    phases = ("insert", "delete", "turn") if turning else ("insert", "delete")
    graph = np.zeros((d, d), dtype=np.int64)
    counts, rounds = dict.fromkeys(("insert", "delete", "turn"), 0), 0
    while True:
        rounds += 1
        round_steps = 0
        for phase in phases:
            graph, gain, steps = greedy_phase(graph, scorer, phase, max_parents=max_parents, complete=complete)
            value += gain
            counts[phase] += steps
            round_steps += steps
        if not iterate or round_steps == 0:
            return graph, float(value), counts, rounds


def _scorer(cls: type, owner: str, *args: Any, **options: Any) -> LocalScore:
    """``cls(*args, **options)``, a bad option's error naming ``owner``'s ``score_options``."""
    try:
        return cls(*args, **options)
    except (TypeError, ValueError) as error:
        raise type(error)(f"The 'score_options' argument of {owner}: {error}") from None


def score_setup(data: Any, node_names: Sequence[str] | None, score: str, penalty_discount: float,
                max_parents: int | None, owner: str, score_options: Mapping[str, Any] | None = None
                ) -> tuple[np.ndarray, tuple[str, ...], int | None, LocalScore]:
    """The checked data (n, d), names, ``max_parents`` and local scorer of a score-based search (GES, XGES, BOSS).

    ``score="bic"``: float data, the linear-Gaussian BIC with ``penalty_discount``. ``score="bdeu"``: categorical
    data (numbers or text, each column re-coded to 0 .. L-1), BDeu with ``score_options``
    (``equivalent_sample_size``, ``structure_prior``; see :class:`~latentscm.discovery.scores.BDeu`).
    ``score="cg"``: mixed data, the conditional Gaussian BIC with ``penalty_discount`` and ``score_options``
    ``discrete`` (the categorical columns) and ``min_extra_rows`` (see
    :mod:`~latentscm.discovery.conditional_gaussian`).
    """
    score = check_choice(score, "score", owner, GES_SCORES)
    penalty_discount = check_number(penalty_discount, "penalty_discount", owner, low=0, low_inclusive=False)
    if max_parents is not None:
        max_parents = int(check_number(max_parents, "max_parents", owner, low=0, integer=True))
    options = dict(score_options or {})
    if score == "bdeu":
        if penalty_discount != 1.0:
            raise ValueError(f"The 'penalty_discount' argument of {owner} applies to score='bic'; BDeu has none (its "
                             "'structure_prior' in score_options plays that part). Got "
                             f"penalty_discount={penalty_discount}.")
        unknown = sorted(set(options) - set(BDEU_OPTIONS))
        if unknown:
            raise ValueError(f"The 'score_options' argument of {owner} takes {', '.join(BDEU_OPTIONS)} for "
                             f"score='bdeu'. Got unknown {unknown}.")
        try:
            codes, names = encode_table(data, node_names, owner)
        except ValueError as error:
            if "non-integer" not in str(error):
                raise
            raise ValueError(f"{error} (score='bdeu' needs categorical columns: for continuous ones use score='bic', "
                             "for a mix score='cg' with score_options={'discrete': [...]}.)") from None
        return codes, names, max_parents, _scorer(BDeu, owner, codes, **options)
    if score == "cg":
        unknown = sorted(set(options) - set(CG_OPTIONS))
        if unknown or "discrete" not in options:
            got = f"Got {sorted(options)}." if options else "Got no score_options."
            raise ValueError(f"The 'score_options' argument of {owner} takes {', '.join(CG_OPTIONS)} for score='cg', "
                             f"'discrete' (the categorical columns, by name or position) required. {got}")
        table, names, mask = mixed_table(data, node_names, options.pop("discrete"), owner)
        return table, names, max_parents, _scorer(ConditionalGaussianBIC, owner, table, mask,
                                                  penalty_discount=penalty_discount, **options)
    if options:
        raise ValueError(f"The 'score_options' argument of {owner} is for score='bdeu' or 'cg'; the BIC takes "
                         f"'penalty_discount' only. Got {sorted(options)}.")
    matrix, names = as_data_matrix(data, node_names, owner)
    n, d = matrix.shape
    needed = min(d, d if max_parents is None else max_parents + 1) + 1
    if n < needed:
        raise ValueError(f"The 'data' argument of {owner} has {n} rows for {d} columns; the BIC of a node with "
                         f"{needed - 2} parents needs at least {needed} rows (a non-singular covariance). Give more "
                         f"rows{'' if max_parents is not None else ', or limit the parents with max_parents'}.")
    spread = np.ptp(matrix, axis=0) if n else np.zeros(d)
    constant = [names[j] for j in np.flatnonzero(spread == 0)]
    if constant:
        raise ValueError(f"The 'data' argument of {owner} has constant columns {constant}; a Gaussian score needs "
                         f"every column to vary. Drop them.")
    return matrix, names, max_parents, GaussianBIC(matrix, penalty_discount=penalty_discount)


def ges(data: Any, *, score: str = "bic", penalty_discount: float = 1.0, max_parents: int | None = None,
        turning: bool = False, iterate: bool = False, node_names: Sequence[str] | None = None,
        score_options: Mapping[str, Any] | None = None) -> DiscoveredGraph:
    """Greedy Equivalence Search with the linear-Gaussian BIC (or BDeu): a CPDAG from observational data.

    Parameters
    ----------
    data: array (n, d), mapping name -> (n,) array, or DataFrame; finite, no constant column, n > d (or
        n > max_parents + 1).
    score: ``"bic"``, the linear-Gaussian BIC of :class:`~latentscm.discovery.scores.GaussianBIC`, ``"bdeu"``
        for categorical data (numbers or text; :class:`~latentscm.discovery.scores.BDeu`), or ``"cg"`` for mixed
        data (:mod:`~latentscm.discovery.conditional_gaussian`; ``score_options={"discrete": [...]}``).
    penalty_discount: multiplier (> 0) of the BIC penalty ``(|Pa| + 1) / 2 * log n``; 1 is the usual BIC,
        larger values give sparser graphs. causal-learn's ``lambda_value`` is ``penalty_discount / 2``. Not for BDeu.
    score_options: for ``"bdeu"``: ``equivalent_sample_size`` (default 1) and ``structure_prior`` (default 1, none
        for d = 2; None for none), causal-learn's ``sample_prior`` and ``structure_prior``; for ``"cg"``:
        ``discrete`` (the categorical columns, by name or position) and ``min_extra_rows`` (default 4).
    max_parents: largest parent set an Insert or Turn may give its head node (None: no limit).
    turning: after the backward phase, run the turning phase (Hauser & Bühlmann 2012, §5): the best
        score-improving ``Turn`` (one edge of a member DAG reversed) until none improves. Off by default: the
        plain forward + backward search is Chickering's GES and returns causal-learn's CPDAG.
    iterate: repeat the phases (forward, backward, turning if on) until a full round improves nothing (as
        pcalg's ``iterate``). Off by default, for the same reason.
    node_names: names of the d columns (default ``X0, X1, ...``).

    Returns
    -------
    DiscoveredGraph with ``.adjacency`` (d, d): ``[i, j] = 1`` for ``i -> j``, both for ``i - j`` (a CPDAG).
    ``info`` holds the method, score, penalty_discount (None for BDeu), score_options, max_parents, turning,
    iterate, ``n_samples``,
    ``score_value`` (the BIC of the result, higher is better), ``n_inserts``, ``n_deletes``, ``n_turns``,
    ``n_rounds`` and ``n_local_scores`` (distinct local scores computed). With ``iterate`` no operator of a run
    phase improves the result; without it no valid Delete (or Turn, with ``turning``) improves the last phase's
    result, and an Insert may, on finite data (see :func:`greedy_phase`).
    """
    owner = "ges"
    for flag, value in (("turning", turning), ("iterate", iterate)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"The '{flag}' argument of {owner} must be True or False, got {value!r}.")
    matrix, names, max_parents, scorer = score_setup(data, node_names, score, penalty_discount, max_parents, owner,
                                                     score_options)
    n, d = matrix.shape
    graph, value, counts, rounds = search_phases(scorer, d, turning=turning, iterate=iterate,
                                                 max_parents=max_parents)
    info = {"method": "ges", "score": score, "penalty_discount": scorer.penalty_discount,
            "score_options": dict(score_options or {}), "max_parents": max_parents,
            "turning": bool(turning), "iterate": bool(iterate), "n_samples": int(n),
            "score_value": value, "n_inserts": counts["insert"], "n_deletes": counts["delete"],
            "n_turns": counts["turn"], "n_rounds": rounds, "n_local_scores": scorer.n_computed}
    return DiscoveredGraph(names, graph, {}, info)
