"""Symbolic demonstrations of causal axioms, built from a :class:`~latentscm.graph.CausalGraph`.

Axiomatic training (Vashishtha et al. 2024, "Teaching transformers causal reasoning through
axiomatic training", ICML 2025) teaches a model a rule from many instances of it: a premise (the
edges of a graph, as "A causes B" statements), a hypothesis and its label. Two rules are written
here:

- **transitivity**: "A causes B. B causes C. Does A cause C?" — the label is whether there is a
  directed path from A to C, i.e. ``C in graph.descendants(A)``;
- **d-separation**: "Are A and C d-separated given {B}?" — the label is the graph module's exact
  oracle :meth:`CausalGraph.d_separated`.

Graphs are causal chains with a random direction per edge (:func:`chain_graph`; a chain with some
edges reversed is a polytree, so always acyclic) or branched random DAGs
(:func:`branched_graph`, from :func:`latentscm.scm.random.random_dag`). Queries are drawn so that
"Yes" and "No" are equally likely whenever the graph has both (:func:`sample_query`).
Everything random takes a seed or a numpy Generator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from latentscm._validation import as_generator, check_choice, check_number, check_sequence
from latentscm.axioms.vocabulary import ANSWER, ASK_CAUSES, ASK_DSEP, CAUSES, GIVEN, NO, YES
from latentscm.graph import CausalGraph
from latentscm.scm.random import random_dag

__all__ = ["Demonstration", "QUERY_KINDS", "ORDERS", "chain_graph", "branched_graph", "as_graph",
           "order_statements", "answer_query", "sample_query", "demonstration"]

#: The rules a demonstration can ask about.
QUERY_KINDS = ("causes", "dseparated")
#: How the statements of a graph are listed: along the chain / topological order, reversed, shuffled.
ORDERS = ("forward", "reversed", "shuffled")


@dataclass(frozen=True)
class Demonstration:
    """One axiom instance: premise statements, a query and its exact answer.

    Parameters
    ----------
    statements : tuple of (str, str)
        The premise, ``(cause, effect)`` pairs in the order they are written.
    kind : {"causes", "dseparated"}
        The question: does ``x`` cause ``y``, or are ``x`` and ``y`` d-separated given ``given``.
    x, y : str
        The two queried nodes.
    given : tuple of str
        The conditioning set of a d-separation query (empty for "causes").
    answer : bool
        The exact answer (from the graph the statements describe).
    """

    statements: tuple[tuple[str, str], ...]
    kind: str
    x: str
    y: str
    given: tuple[str, ...]
    answer: bool

    def tokens(self) -> list[str]:
        """The compact token form, without the answer (see :mod:`latentscm.axioms.vocabulary`)."""
        out: list[str] = []
        for cause, effect in self.statements:
            out += [cause, CAUSES, effect]
        if self.kind == "causes":
            out += [ASK_CAUSES, self.x, self.y, ANSWER]
        else:
            # the conditioning set first, so that every question ends in "<kind> x y ="
            out += [GIVEN, *self.given, ASK_DSEP, self.x, self.y, ANSWER]
        return out

    @property
    def answer_token(self) -> str:
        """``"Yes"`` or ``"No"``."""
        return YES if self.answer else NO

    def text(self) -> str:
        """The demonstration in words, with its answer."""
        premise = " ".join(f"{cause} causes {effect}." for cause, effect in self.statements)
        if self.kind == "causes":
            question = f"Does {self.x} cause {self.y}?"
        else:
            given = ", ".join(self.given) if self.given else "nothing"
            question = f"Are {self.x} and {self.y} d-separated given {given}?"
        return f"{premise} {question} {self.answer_token}"

    def graph(self) -> CausalGraph:
        """The graph the premise describes, nodes in order of first mention (a queried node that
        no statement names is an isolated node)."""
        mentioned: dict[str, None] = {}
        for name in (*(n for edge in self.statements for n in edge), self.x, self.y, *self.given):
            mentioned.setdefault(name, None)
        return CausalGraph(self.statements, nodes=list(mentioned))


def as_graph(graph: CausalGraph | Iterable[tuple[str, str]], owner: str) -> CausalGraph:
    """A :class:`CausalGraph` from a graph or an edge list (a cyclic edge list raises
    :class:`~latentscm.graph.CycleError` naming the cycle)."""
    if isinstance(graph, CausalGraph):
        return graph
    if isinstance(graph, (str, bytes)) or not isinstance(graph, Iterable):
        raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph or a list of (cause, effect) edges. "
                        f"Got {type(graph).__name__}.")
    return CausalGraph(list(graph))


def chain_graph(names: Sequence[str], *, flip_prob: float = 0.0,
                seed: int | np.random.Generator) -> tuple[CausalGraph, list[tuple[str, str]]]:
    """A causal chain ``names[0] - names[1] - ... - names[-1]`` with each edge reversed with
    probability ``flip_prob`` (the edge-reversal perturbation of Vashishtha et al.).

    Parameters
    ----------
    names : sequence of str, length L >= 2
        The nodes in chain order.
    flip_prob : float in [0, 1], default 0
        Probability that an edge points backwards (``names[i+1] -> names[i]``).
    seed : int or numpy Generator
        Randomness for the directions.

    Returns
    -------
    graph : CausalGraph
        The chain (acyclic whatever the directions: it is a tree).
    statements : list of (str, str), length L - 1
        The edges in chain order.

    Raises
    ------
    ValueError
        Fewer than 2 names, duplicate names, or ``flip_prob`` outside [0, 1].
    """
    names = check_sequence(names, "names", "chain_graph", what="node names")
    if len(names) < 2:
        raise ValueError(f"A causal chain needs at least 2 nodes; chain_graph got {len(names)} ({names!r}).")
    if len(set(names)) != len(names):
        raise ValueError(f"The names of a chain must be distinct. Got {names!r}.")
    p = check_number(flip_prob, "flip_prob", "chain_graph", low=0.0, high=1.0)
    rng = as_generator(seed)
    flips = rng.uniform(size=len(names) - 1) < p
    statements = [(b, a) if flip else (a, b) for a, b, flip in zip(names, names[1:], flips)]
    return CausalGraph(statements, nodes=names), statements


def branched_graph(names: Sequence[str], *, branching: float = 1.4,
                   seed: int | np.random.Generator) -> CausalGraph:
    """A random DAG over ``names`` with about ``branching`` children per node.

    An Erdős–Rényi DAG from :func:`latentscm.scm.random.random_dag` with edge probability
    ``2 * branching / (L - 1)`` (capped at 1), so the mean out-degree is ``branching`` (the
    branched evaluation graphs of Vashishtha et al. use branching factors 1.4 and 2), renamed to
    ``names`` in a random order.

    Parameters
    ----------
    names : sequence of str, length L >= 2
        The nodes.
    branching : float > 0, default 1.4
        Mean number of children per node.
    seed : int or numpy Generator
        Randomness for the graph.

    Returns
    -------
    CausalGraph
        The graph, nodes in the order of ``names``.
    """
    if isinstance(names, str):
        raise TypeError(f"The 'names' argument of branched_graph must be a sequence of node names. Got {names!r}.")
    names = list(names)
    if len(names) < 2:
        raise ValueError(f"A branched graph needs at least 2 nodes; branched_graph got {len(names)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"The names of a graph must be distinct. Got {names!r}.")
    b = check_number(branching, "branching", "branched_graph", low=0.0, low_inclusive=False)
    rng = as_generator(seed)
    edge_prob = min(1.0, 2.0 * b / (len(names) - 1))
    raw = random_dag(len(names), edge_prob=edge_prob, seed=rng, prefix="n")
    rename = {f"n{i}": name for i, name in enumerate(names)}
    return CausalGraph([(rename[u], rename[v]) for u, v in raw.edges], nodes=names)


def order_statements(graph: CausalGraph, statements: Sequence[tuple[str, str]] | None = None, *,
                     order: str = "forward", seed: int | np.random.Generator | None = None) -> list[tuple[str, str]]:
    """List the edges of a graph as premise statements.

    Parameters
    ----------
    graph : CausalGraph
        The graph.
    statements : sequence of (str, str) or None
        The edges in their natural order (a chain's order); default: ``graph.edges`` sorted by
        the topological position of the cause, then of the effect.
    order : {"forward", "reversed", "shuffled"}, default "forward"
        Keep, reverse or shuffle that order.
    seed : int, numpy Generator or None
        Needed for ``"shuffled"``.

    Returns
    -------
    list of (str, str)
        Every edge once.
    """
    check_choice(order, "order", "order_statements", ORDERS)
    if statements is None:
        position = {name: i for i, name in enumerate(graph.topological_order())}
        statements = sorted(graph.edges, key=lambda e: (position[e[0]], position[e[1]]))
    statements = [tuple(s) for s in statements]
    if sorted(statements) != sorted(graph.edges):
        raise ValueError(f"The statements {statements!r} are not the edges of the graph {graph!r}.")
    if order == "reversed":
        return statements[::-1]
    if order == "shuffled":
        rng = as_generator(seed)
        return [statements[i] for i in rng.permutation(len(statements))]
    return list(statements)


def answer_query(graph: CausalGraph, kind: str, x: str, y: str, given: Sequence[str] = ()) -> bool:
    """The exact answer to a query about ``graph``.

    Parameters
    ----------
    graph : CausalGraph
        The graph.
    kind : {"causes", "dseparated"}
        "causes": is there a directed path ``x -> ... -> y``; "dseparated": are ``x`` and ``y``
        d-separated given ``given`` (:meth:`CausalGraph.d_separated`, the exact oracle).
    x, y : str
        Distinct nodes of ``graph``.
    given : sequence of str
        Conditioning set for "dseparated" (must not contain ``x`` or ``y``).

    Returns
    -------
    bool
        The answer.
    """
    check_choice(kind, "kind", "answer_query", QUERY_KINDS)
    graph.check_node(x)
    graph.check_node(y)
    if x == y:
        raise ValueError(f"A query needs two different nodes; answer_query got x = y = {x!r}.")
    if kind == "causes":
        if given:
            raise ValueError(f"A 'causes' query takes no conditioning set; answer_query got given={list(given)!r}.")
        return y in graph.descendants(x)
    given = list(given)
    for name in given:
        graph.check_node(name)
    if x in given or y in given:
        raise ValueError(f"The conditioning set {given!r} of a d-separation query must not contain x={x!r} or "
                         f"y={y!r}.")
    return graph.d_separated(x, y, given)


def sample_query(graph: CausalGraph, kind: str, *, seed: int | np.random.Generator, max_given: int = 2,
                 tries: int = 24) -> tuple[str, str, tuple[str, ...], bool]:
    """Draw a query with a balanced answer: "Yes" and "No" each with probability 1/2 whenever the
    graph allows both.

    For "causes" the pair is uniform among the pairs with the drawn answer. For "dseparated" the
    pair and a conditioning set of 0..``max_given`` other nodes are drawn uniformly until the
    oracle gives the drawn answer (at most ``tries`` draws; the last draw is kept otherwise).

    Parameters
    ----------
    graph : CausalGraph
        A graph with at least 2 nodes.
    kind : {"causes", "dseparated"}
        The query.
    seed : int or numpy Generator
        Randomness.
    max_given : int >= 0, default 2
        Largest conditioning set of a d-separation query.
    tries : int >= 1, default 24
        Rejection-sampling budget of a d-separation query.

    Returns
    -------
    x, y : str
        The queried nodes.
    given : tuple of str
        Conditioning set (empty for "causes"), in graph node order.
    answer : bool
        The exact answer.
    """
    check_choice(kind, "kind", "sample_query", QUERY_KINDS)
    max_given = check_number(max_given, "max_given", "sample_query", low=0, integer=True)
    tries = check_number(tries, "tries", "sample_query", low=1, integer=True)
    nodes = list(graph.nodes)
    if len(nodes) < 2:
        raise ValueError(f"A query needs a graph of at least 2 nodes; sample_query got {len(nodes)}.")
    rng = as_generator(seed)
    want = bool(rng.uniform() < 0.5)
    if kind == "causes":
        pairs = {True: [], False: []}
        for x in nodes:
            below = graph.descendants(x)
            for y in nodes:
                if y != x:
                    pairs[y in below].append((x, y))
        pool = pairs[want] or pairs[not want]
        x, y = pool[int(rng.integers(len(pool)))]
        return x, y, (), y in graph.descendants(x)
    index = {name: i for i, name in enumerate(nodes)}
    for _ in range(tries):
        i, j = rng.choice(len(nodes), size=2, replace=False)
        x, y = nodes[int(i)], nodes[int(j)]
        others = [n for n in nodes if n not in (x, y)]
        size = int(rng.integers(min(max_given, len(others)) + 1))
        given = tuple(sorted((others[int(k)] for k in rng.choice(len(others), size=size, replace=False)),
                             key=index.__getitem__)) if size else ()
        answer = graph.d_separated(x, y, given)
        if answer == want:
            break
    return x, y, given, bool(answer)


def demonstration(graph: CausalGraph | Iterable[tuple[str, str]], kind: str = "causes", *,
                  seed: int | np.random.Generator, order: str = "forward",
                  statements: Sequence[tuple[str, str]] | None = None, max_given: int = 2) -> Demonstration:
    """One demonstration of a rule on ``graph``: its edges as statements and a balanced query.

    Parameters
    ----------
    graph : CausalGraph or iterable of (str, str)
        The graph (an edge list is checked: a cycle raises :class:`~latentscm.graph.CycleError`).
    kind : {"causes", "dseparated"}, default "causes"
        Transitivity or d-separation.
    seed : int or numpy Generator
        Randomness for the query (and the statement order when shuffled).
    order : {"forward", "reversed", "shuffled"}, default "forward"
        Statement order (see :func:`order_statements`).
    statements : sequence of (str, str) or None
        The natural statement order (a chain's); default: topological.
    max_given : int, default 2
        Largest conditioning set of a d-separation query.

    Returns
    -------
    Demonstration
        With the exact answer.

    Raises
    ------
    CycleError
        ``graph`` is an edge list with a directed cycle.
    ValueError
        A graph with fewer than 2 nodes, an unknown ``kind`` or ``order``.
    """
    graph = as_graph(graph, "demonstration")
    if len(graph) < 2:
        raise ValueError(f"A demonstration needs a graph of at least 2 nodes (a chain of length >= 2). Got "
                         f"{len(graph)} node(s).")
    check_choice(kind, "kind", "demonstration", QUERY_KINDS)
    rng = as_generator(seed)
    listed = order_statements(graph, statements, order=order, seed=rng)
    x, y, given, answer = sample_query(graph, kind, seed=rng, max_given=max_given)
    return Demonstration(statements=tuple(listed), kind=kind, x=x, y=y, given=given, answer=answer)
