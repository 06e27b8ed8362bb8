"""General identification of ``P(y | do(x))``: the ID algorithm of Shpitser & Pearl (2006).

Hidden confounders are summarised by a *semi-Markovian graph* (:class:`SemiMarkovianGraph`):
the directed graph over the observed variables plus bidirected edges ``a <-> b`` for every pair
that shares a hidden common cause (Tian & Pearl 2002). :func:`identify` runs the ID algorithm
(Shpitser & Pearl 2006, "Identification of joint interventional distributions in recursive
semi-Markovian causal models", AAAI, Fig. 3, lines 1-7) on it and returns an :class:`Estimand`,
a symbolic expression over the observational distribution (sums, products and ratios of
marginals and conditionals) that prints readably and evaluates on an observed joint table. When
the query is not identifiable it raises :class:`NonIdentifiableError` naming the hedge: two
C-forests ``F' ⊂ F`` sharing their roots, ``F`` containing treatment variables and ``F'`` none;
ID is complete, so no formula exists then.

Conditional queries ``P(y | do(x), z)`` go through IDC (Shpitser & Pearl 2006, "Identification of
conditional interventional distributions", UAI), which is complete too: ``identify(graph, y, x, given=z)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from latentscm.exceptions import LatentSCMError, UnknownNodeError
from latentscm.graph import CausalGraph
from latentscm.scm.discrete_scm import DiscreteSCM
from latentscm.scm.identification import _as_joint
from latentscm.scm.probability_table import (
    NORMALISATION_ATOL,
    Names,
    PositivityError,
    ProbabilityTable,
    StatesSpec,
    _as_names,
    _check_disjoint,
)

__all__ = ["SemiMarkovianGraph", "Estimand", "NonIdentifiableError", "identify"]


class NonIdentifiableError(LatentSCMError, ValueError):
    """``P(y | do(x))`` is not identifiable from the observational distribution in this graph.

    ``hedge`` is ``(F, F_prime)``: the node sets of the two C-forests that the failing line of ID
    returns (``F' ⊂ F``, same roots, ``F`` meets the treatment and ``F'`` does not); two models that
    agree on the observed joint but differ in ``P(y | do(x))`` can be built on them.
    """

    def __init__(self, y: Sequence[str], x: Sequence[str], forest: Iterable[str], sub_forest: Iterable[str],
                 order: Sequence[str]):
        rank = {n: i for i, n in enumerate(order)}
        self._order = tuple(order)
        self.y, self.x = tuple(y), tuple(x)
        self.hedge = (frozenset(forest), frozenset(sub_forest))
        self.forest = tuple(sorted(forest, key=rank.__getitem__))
        self.sub_forest = tuple(sorted(sub_forest, key=rank.__getitem__))
        super().__init__(
            f"P({', '.join(self.y)} | do({', '.join(self.x)})) is not identifiable: the graph contains the "
            f"hedge F = {{{', '.join(self.forest)}}}, F' = {{{', '.join(self.sub_forest)}}} (two C-forests with "
            "the same roots; F meets the treatment, F' does not).")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.y, self.x, self.forest, self.sub_forest, self._order)


# ---------------------------------------------------------------------------------- the graph
class SemiMarkovianGraph:
    """Observed causal DAG plus bidirected edges (pairs of observed nodes with a hidden common cause).

    Parameters
    ----------
    directed:
        A :class:`~latentscm.graph.CausalGraph` over the observed variables, or its text form. The
        text may also hold bidirected statements such as ``x <-> y`` (one pair, or a chain).
    bidirected:
        Pairs ``(a, b)`` of observed nodes that share a hidden confounder (order does not matter).

    Raises
    ------
    UnknownNodeError
        If a bidirected pair names a node that the directed graph does not have.
    ValueError
        For a pair that is not two distinct names.
    """

    __slots__ = ("_directed", "_bidirected", "_spouses")

    def __init__(self, directed: CausalGraph | str, bidirected: Iterable[Sequence[str]] = ()):
        owner = "SemiMarkovianGraph"
        pairs = _as_pairs(bidirected, owner)
        if isinstance(directed, str):
            directed, text_pairs = _parse_text(directed)
            pairs = text_pairs + pairs
        elif not isinstance(directed, CausalGraph):
            raise TypeError(f"The 'directed' argument of {owner} must be a CausalGraph or its text form. "
                            f"Got {type(directed).__name__}.")
        spouses: dict[str, set[str]] = {n: set() for n in directed.nodes}
        for a, b in pairs:
            for name in (a, b):
                if name not in directed:
                    raise UnknownNodeError(name, directed.nodes,
                                           what=f"node in 'bidirected' pair {(a, b)!r} of {owner}")
            spouses[a].add(b)
            spouses[b].add(a)
        self._directed = directed
        self._spouses = {n: frozenset(s) for n, s in spouses.items()}
        rank = {n: i for i, n in enumerate(directed.nodes)}
        self._bidirected = tuple(sorted({tuple(sorted((a, b), key=rank.__getitem__)) for a, b in pairs},
                                        key=lambda p: (rank[p[0]], rank[p[1]])))

    @classmethod
    def from_dag(cls, graph: CausalGraph, hidden: Names) -> SemiMarkovianGraph:
        """The latent projection of a DAG with ``hidden`` nodes (Verma; Tian & Pearl 2002).

        ``a -> b`` when a directed path from ``a`` to ``b`` has only hidden inner nodes; ``a <-> b``
        when a hidden node reaches both by such paths. Identifiability is the same in both graphs.
        """
        owner = "SemiMarkovianGraph.from_dag"
        if not isinstance(graph, CausalGraph):
            raise TypeError(f"The 'graph' argument of {owner} must be a CausalGraph. Got {type(graph).__name__}.")
        latent = set(_as_names(hidden, "hidden", owner))
        for name in latent:
            if name not in graph:
                raise UnknownNodeError(name, graph.nodes, what=f"node in 'hidden' of {owner}")
        observed = [n for n in graph.nodes if n not in latent]
        if not observed:
            raise ValueError(f"{owner} needs at least one observed node; 'hidden' lists every node.")

        def reach(start: str) -> set[str]:
            """Observed nodes reached from ``start`` by directed paths whose inner nodes are hidden."""
            found, stack, seen = set(), list(graph.children(start)), set()
            while stack:
                node = stack.pop()
                if node in seen:
                    continue
                seen.add(node)
                if node in latent:
                    stack.extend(graph.children(node))
                else:
                    found.add(node)
            return found

        edges = [(a, b) for a in observed for b in sorted(reach(a), key=graph.index)]
        pairs = []
        for h in (n for n in graph.nodes if n in latent):
            children = sorted(reach(h), key=graph.index)
            pairs += [(a, b) for i, a in enumerate(children) for b in children[i + 1:]]
        return cls(CausalGraph(edges, nodes=observed), pairs)

    @classmethod
    def from_scm(cls, model: DiscreteSCM, *, hidden: Names | None = None,
                 observed: Names | None = None) -> SemiMarkovianGraph:
        """The latent projection of ``model``'s graph; give exactly one of ``hidden`` and ``observed``."""
        owner = "SemiMarkovianGraph.from_scm"
        if not isinstance(model, DiscreteSCM):
            raise TypeError(f"The 'model' argument of {owner} must be a DiscreteSCM. Got {type(model).__name__}.")
        if (hidden is None) == (observed is None):
            raise ValueError(f"{owner} needs exactly one of 'hidden' and 'observed'.")
        if observed is not None:
            seen = _as_names(observed, "observed", owner)
            for name in seen:
                if name not in model.graph:
                    raise UnknownNodeError(name, model.nodes, what=f"node in 'observed' of {owner}")
            hidden = [n for n in model.nodes if n not in set(seen)]
        return cls.from_dag(model.graph, hidden)

    # ------------------------------------------------------------------ queries
    @property
    def directed(self) -> CausalGraph:
        """The directed part, over the observed nodes."""
        return self._directed

    @property
    def bidirected(self) -> tuple[tuple[str, str], ...]:
        """The bidirected pairs, each once, in node order."""
        return self._bidirected

    @property
    def nodes(self) -> tuple[str, ...]:
        return self._directed.nodes

    def __contains__(self, name: object) -> bool:
        return name in self._directed

    def c_components(self, nodes: Iterable[str] | None = None) -> list[frozenset[str]]:
        """The c-components (bidirected-connected sets) of the subgraph induced by ``nodes``."""
        keep = set(self.nodes if nodes is None else nodes)
        components, seen = [], set()
        for start in (n for n in self.nodes if n in keep):
            if start in seen:
                continue
            component, stack = {start}, [start]
            while stack:
                for other in self._spouses[stack.pop()] & keep - component:
                    component.add(other)
                    stack.append(other)
            seen |= component
            components.append(frozenset(component))
        return components

    def ancestors(self, targets: Iterable[str], within: Iterable[str], cut: Iterable[str] = ()) -> set[str]:
        """``targets`` and their ancestors in the subgraph induced by ``within``, after deleting the
        edges into ``cut`` (``An(Y)`` in ``G[within]`` with ``X = cut`` overbarred)."""
        keep, blocked = set(within), set(cut)
        found, stack = set(targets), list(targets)
        while stack:
            node = stack.pop()
            if node in blocked:
                continue
            for parent in self._directed.parents(node):
                if parent in keep and parent not in found:
                    found.add(parent)
                    stack.append(parent)
        return found

    def d_separated(self, x: Iterable[str], y: Iterable[str], given: Iterable[str], *, cut_in: Iterable[str] = (),
                    cut_out: Iterable[str] = ()) -> bool:
        """Whether ``x`` and ``y`` are d-separated by ``given`` once the edges into ``cut_in`` (bidirected
        ones included) and the directed edges out of ``cut_out`` are deleted: ``G_{overbar cut_in,
        underbar cut_out}``. Each bidirected pair is a hidden common parent (m-separation)."""
        into, out_of = set(cut_in), set(cut_out)
        edges = [(a, b) for a, b in self._directed.edges if b not in into and a not in out_of]
        hidden = []
        for i, (a, b) in enumerate(self._bidirected):
            name = f"<->{i}:{a}:{b}"  # cannot be an observed name: those are checked text names
            while name in self._directed:
                name += "'"
            hidden.append(name)
            edges += [(name, v) for v in (a, b) if v not in into]
        graph = CausalGraph(edges, nodes=[*self.nodes, *hidden])
        return graph.d_separated(set(x), set(y), set(given))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SemiMarkovianGraph) and self._directed == other._directed
                and set(map(frozenset, self._bidirected)) == set(map(frozenset, other._bidirected)))

    def __hash__(self) -> int:
        return hash((self._directed, frozenset(map(frozenset, self._bidirected))))

    def __str__(self) -> str:
        lines = [self._directed.to_text()] if len(self._directed) else []
        lines += [f"{a} <-> {b}" for a, b in self._bidirected]
        return "\n".join(line for line in lines if line)

    def __repr__(self) -> str:
        return (f"SemiMarkovianGraph(nodes={list(self.nodes)}, edges={len(self._directed.edges)}, "
                f"bidirected={[list(p) for p in self._bidirected]})")


def _as_pairs(pairs: Iterable[Sequence[str]], owner: str) -> list[tuple[str, str]]:
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
        raise TypeError(f"The 'bidirected' argument of {owner} must be a list of (a, b) pairs. Got {pairs!r}.")
    out = []
    for pair in pairs:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"Each 'bidirected' entry of {owner} must be a pair (a, b) of node names. Got {pair!r}.")
        a, b = pair
        if not isinstance(a, str) or not isinstance(b, str):
            raise TypeError(f"The 'bidirected' pair {pair!r} of {owner} must hold two node names (strings).")
        if a == b:
            raise ValueError(f"The 'bidirected' pair {pair!r} of {owner} joins node {a!r} to itself.")
        out.append((a, b))
    return out


def _parse_text(text: str) -> tuple[CausalGraph, list[tuple[str, str]]]:
    """The directed text form plus ``a <-> b`` (or ``a <-> b <-> c``) statements."""
    directed, pairs, extra = [], [], []
    for line in text.splitlines():
        for statement in line.split("#", 1)[0].split(";"):
            if "<->" not in statement:
                directed.append(statement)
                continue
            names = [name.strip() for name in statement.split("<->")]
            if any(not name or any(ch.isspace() or ch in "<>-," for ch in name) for name in names):
                raise ValueError(f"Cannot parse bidirected statement {statement.strip()!r}: write 'a <-> b'.")
            pairs += list(zip(names, names[1:]))
            extra += names
    graph = CausalGraph.from_text("\n".join(directed))
    missing = [n for n in dict.fromkeys(extra) if n not in graph]
    if missing:
        graph = CausalGraph(graph.edges, nodes=[*graph.nodes, *missing])
    return graph, pairs


# ---------------------------------------------------------------------------------- expressions
@dataclass(frozen=True)
class _Term:
    """``P(target | given)`` of the observational distribution; ``P(∅ | ·) = 1``."""

    target: frozenset[str]
    given: frozenset[str] = frozenset()

    def free(self) -> frozenset[str]:
        return self.target | self.given


@dataclass(frozen=True)
class _Product:
    factors: tuple[Expression, ...]

    def free(self) -> frozenset[str]:
        return frozenset().union(*(f.free() for f in self.factors))


@dataclass(frozen=True)
class _Sum:
    """The sum of ``body`` over every joint state of ``over``."""

    over: frozenset[str]
    body: Expression

    def free(self) -> frozenset[str]:
        return self.body.free() - self.over


@dataclass(frozen=True)
class _Ratio:
    numerator: Expression
    denominator: Expression

    def free(self) -> frozenset[str]:
        return self.numerator.free() | self.denominator.free()


Expression = Union[_Term, _Product, _Sum, _Ratio]  # noqa: UP007 - evaluated at runtime
_ONE = _Product(())


def _factors(expr: Expression) -> list[Expression]:
    if isinstance(expr, _Product):
        return list(expr.factors)
    return [] if isinstance(expr, _Term) and not expr.target else [expr]


def _product(factors: Iterable[Expression]) -> Expression:
    flat = [g for f in factors for g in _factors(f)]
    return flat[0] if len(flat) == 1 else _Product(tuple(flat))


def _sum(over: Iterable[str], body: Expression) -> Expression:
    """``sum_{over} body``, simplified exactly: a summed variable that only one factor holds, as a
    target, leaves that factor's target (``sum_v P(v, a | b) = P(a | b)``); factors free of the
    summed variables move out of the sum."""
    left = set(over)
    if not left:
        return body
    if isinstance(body, _Sum) and not body.over & left:
        left |= body.over
        body = body.body
    factors = _factors(body)
    progress = True
    while progress:
        progress = False
        for name in sorted(left):
            holders = [i for i, f in enumerate(factors) if name in f.free()]
            if len(holders) == 1 and isinstance(factors[holders[0]], _Term) and name in factors[holders[0]].target:
                term = factors[holders[0]]
                reduced = _Term(term.target - {name}, term.given)
                factors = [g for i, g in enumerate(factors) if i != holders[0]]
                if reduced.target:
                    factors.insert(holders[0], reduced)
                left.discard(name)
                progress = True
    if not left:
        return _product(factors)
    inside = [f for f in factors if f.free() & left]
    outside = [f for f in factors if not f.free() & left]
    if not inside:  # only variables absent from the body remain: the sum multiplies by their count
        return _product([*outside, _Sum(frozenset(left), _ONE)])
    return _product([*outside, _Sum(frozenset(left), _product(inside))])


def _ratio(numerator: Expression, denominator: Expression) -> Expression:
    """``numerator / denominator`` with common factors cancelled and ``P(a, b | c) / P(b | c)``
    written ``P(a | b, c)``."""
    top, bottom = _factors(numerator), _factors(denominator)
    for factor in list(bottom):
        if factor in top:
            top.remove(factor)
            bottom.remove(factor)
    if not bottom:
        return _product(top)
    if (len(top) == 1 and len(bottom) == 1 and isinstance(top[0], _Term) and isinstance(bottom[0], _Term)
            and top[0].given == bottom[0].given and bottom[0].target < top[0].target):
        return _Term(top[0].target - bottom[0].target, top[0].given | bottom[0].target)
    return _Ratio(_product(top), _product(bottom))


# ---------------------------------------------------------------------------------- the algorithm
def identify(graph: SemiMarkovianGraph | CausalGraph, y: Names, do: Names = (), given: Names = ()) -> Estimand:
    """An estimand for ``P(y | do(x))``, or ``P(y | do(x), z)`` with ``given``, from the observational
    distribution, by the ID algorithm (IDC for conditional queries, Shpitser & Pearl 2006b).

    Parameters
    ----------
    graph:
        A :class:`SemiMarkovianGraph` (hidden confounders as bidirected edges), or a
        :class:`~latentscm.graph.CausalGraph` whose nodes are all observed.
    y:
        Outcome variable name(s); non-empty.
    do:
        Treatment variable name(s) ``x``, disjoint from ``y``; empty for the marginal ``P(y)``.
    given:
        Conditioning variable name(s) ``z`` observed after the intervention, disjoint from both. IDC
        (Shpitser & Pearl 2006, "Identification of conditional interventional distributions", UAI)
        moves each ``w`` in ``z`` with ``y ⊥ w | x, z - w`` in ``G`` without the edges into ``x`` and
        out of ``w`` into the treatment (rule 2 of the do-calculus), then divides ``P(y, z | do(x))``
        by its sum over ``y``. IDC is complete as well.

    Returns
    -------
    Estimand
        A symbolic expression; ``str(estimand)`` prints it and ``estimand.evaluate(joint)`` gives the
        table ``P(y | do(x)[, z])`` with axes ``(*do, *given, *y)``.

    Raises
    ------
    NonIdentifiableError
        If the graph contains a hedge for the query (ID is complete: then no estimand exists).
    """
    owner = "identify"
    if isinstance(graph, CausalGraph):
        graph = SemiMarkovianGraph(graph)
    if not isinstance(graph, SemiMarkovianGraph):
        raise TypeError(f"The 'graph' argument of {owner} must be a SemiMarkovianGraph or a CausalGraph. "
                        f"Got {type(graph).__name__}.")
    outcome = _as_names(y, "y", owner)
    treatment = _as_names(do, "do", owner)
    condition = _as_names(given, "given", owner)
    if not outcome:
        raise ValueError(f"{owner} needs at least one outcome variable in 'y'.")
    for what, names in (("y", outcome), ("do", treatment), ("given", condition)):
        for name in names:
            if name not in graph:
                raise UnknownNodeError(name, graph.nodes, what=f"node in {what!r} of {owner}")
    _check_disjoint(owner, y=outcome, do=treatment, given=condition)
    order = graph.directed.topological_order()
    x, z = set(treatment), set(condition)
    moved = True
    while moved:  # IDC line 1: a w in z that y does not depend on once w is set becomes a treatment
        moved = False
        for w in (n for n in order if n in z):
            if graph.d_separated(outcome, {w}, x | (z - {w}), cut_in=x, cut_out={w}):
                x, z, moved = x | {w}, z - {w}, True
                break
    targets = [n for n in order if n in set(outcome) | z]
    expression = _IdRun(graph, order, targets, sorted(x, key=order.index)).identify(
        set(targets), set(x), _Term(frozenset(graph.nodes)), set(graph.nodes))
    extra = expression.free() - set(targets) - x
    if extra:
        # Line 3 of ID adds variables W with P_x(y) = P_{x,w}(y) for every w: average over P(w).
        expression = _sum(extra, _product([_Term(frozenset(extra)), expression]))
    if z:  # IDC line 2: P(y | do(x), z) = P(y, z | do(x)) / sum_y P(y, z | do(x))
        expression = _ratio(expression, _sum(set(outcome), expression))
    return Estimand(expression, outcome, treatment, graph, condition)


class _IdRun:
    """One run of ID; ``order`` is a topological order of the whole graph (its restriction to a
    subgraph is one of the subgraph)."""

    def __init__(self, graph: SemiMarkovianGraph, order: Sequence[str], y: Sequence[str], x: Sequence[str]):
        self.graph, self.order, self.y, self.x = graph, tuple(order), tuple(y), tuple(x)

    def identify(self, y: set[str], x: set[str], p: Expression, nodes: set[str]) -> Expression:
        """ID(y, x, P, G[nodes]) of Shpitser & Pearl (2006, Fig. 3); ``p`` is a distribution over ``nodes``
        (possibly also a function of fixed variables outside them)."""
        graph = self.graph
        if not x:  # line 1
            return _sum(nodes - y, p)
        ancestral = graph.ancestors(y, nodes)
        if ancestral != nodes:  # line 2
            return self.identify(y, x & ancestral, _sum(nodes - ancestral, p), ancestral)
        unaffected = nodes - x - graph.ancestors(y, nodes, cut=x)
        if unaffected:  # line 3
            return self.identify(y, x | unaffected, p, nodes)
        components = graph.c_components(nodes - x)
        if len(components) > 1:  # line 4
            parts = [self.identify(set(s), nodes - s, p, nodes) for s in components]
            return _sum(nodes - y - x, _product(parts))
        (district,) = components
        whole = graph.c_components(nodes)
        if len(whole) == 1:  # line 5
            raise NonIdentifiableError(self.y, self.x, nodes, district, self.order)
        if district in whole:  # line 6
            return _sum(district - y, _product(self._conditional(p, nodes, v) for v in self._sorted(district)))
        (bigger,) = [s for s in whole if district < s]  # line 7
        kernel = _product(self._conditional(p, nodes, v) for v in self._sorted(bigger))
        return self.identify(y, x & bigger, kernel, set(bigger))

    def _sorted(self, names: Iterable[str]) -> list[str]:
        chosen = set(names)
        return [n for n in self.order if n in chosen]

    def _conditional(self, p: Expression, nodes: set[str], name: str) -> Expression:
        """``P(v | v_pi^(i-1))`` under ``p`` (``v_pi^(i-1)``: the nodes before ``v`` in the order)."""
        ranked = self._sorted(nodes)
        later = set(ranked[ranked.index(name) + 1:])
        numerator = _sum(later, p)
        return _ratio(numerator, _sum({name}, numerator))


# ---------------------------------------------------------------------------------- the estimand
class Estimand:
    """A formula for ``P(y | do(x))`` in terms of the observational distribution.

    ``str(estimand)`` prints it (``sum_{z} P(z|x) sum_{x'} P(x') P(y|x',z)``; primed names are
    summation variables that shadow a free one), :meth:`evaluate` computes it from a joint table.
    """

    def __init__(self, expression: Expression, y: Sequence[str], do: Sequence[str], graph: SemiMarkovianGraph,
                 given: Sequence[str] = ()):
        self._expression = expression
        self.y, self.do, self.given, self.graph = tuple(y), tuple(do), tuple(given), graph

    @property
    def expression(self) -> Expression:
        """The expression tree (``_Term``, ``_Product``, ``_Sum``, ``_Ratio`` nodes)."""
        return self._expression

    @property
    def query(self) -> str:
        """The query, such as ``P(y | do(x))`` or ``P(y | do(x), z)``."""
        conditions = ([f"do({', '.join(self.do)})"] if self.do else []) + list(self.given)
        return f"P({', '.join(self.y)}{' | ' + ', '.join(conditions) if conditions else ''})"

    def variables(self) -> frozenset[str]:
        """Every observed variable the formula reads."""
        return _mentioned(self._expression)

    def __str__(self) -> str:
        rank = {n: i for i, n in enumerate(self.graph.directed.topological_order())}
        free = self._expression.free()
        # the query's own names are taken even where the formula does not depend on them: a summed
        # treatment is primed (sum_{x'} P(x') ...), never shown as the x of P(y | do(x))
        return _show(self._expression, {n: n for n in free}, set(free) | set(self.do) | set(self.given), rank)

    def __repr__(self) -> str:
        return f"Estimand({self.query} = {self})"

    def evaluate(self, joint: ProbabilityTable | Any, *, variables: Sequence[str] | None = None,
                 states: Mapping[str, StatesSpec] | None = None) -> ProbabilityTable:
        """``P(y | do(x)[, z])`` from an observational joint.

        Parameters
        ----------
        joint:
            A joint :class:`ProbabilityTable` over (at least) the variables the formula reads, or an
            array of shape ``(card(v) for v in variables)`` with ``variables`` (and optional ``states``).

        Returns
        -------
        ProbabilityTable
            Axes ``(*do, *given, *y)``, ``do`` marked as intervened, ``given`` as conditioned on.

        Raises
        ------
        PositivityError
            If the formula divides by a probability that is zero in ``joint`` (checked everywhere,
            also where a zero weight would make the quotient irrelevant).
        ValueError
            If the result does not sum to one over ``y`` (a joint that no model on this graph yields).
        """
        table = _as_joint(joint, variables, states, "Estimand.evaluate")
        values, order = self._values(table, strict=True)
        totals = values.sum(axis=tuple(range(len(self.do) + len(self.given), len(order))))
        if np.any(np.abs(totals - 1.0) > NORMALISATION_ATOL):
            raise ValueError(f"{self.query} evaluated on this joint does not sum to 1 over {', '.join(self.y)} "
                             f"(worst sum {float(totals.flat[np.argmax(np.abs(totals - 1.0))]):.12g}); the joint "
                             "violates constraints of the graph.")
        return ProbabilityTable(values, order, {n: table.states[n] for n in order}, given=self.given,
                                intervened=self.do)

    def evaluate_where_defined(self, joint: ProbabilityTable | Any, *, variables: Sequence[str] | None = None,
                               states: Mapping[str, StatesSpec] | None = None) -> np.ndarray:
        """Like :meth:`evaluate`, without the positivity and normalisation checks: an array with axes
        ``(*do, *given, *y)`` that is NaN wherever the formula divides by a zero probability (and wherever
        such a quotient enters, however small its weight). For an empirical joint, whose empty cells may
        leave entries the caller does not need undefined (a rare treatment value outside the contrast)."""
        return self._values(_as_joint(joint, variables, states, "Estimand.evaluate_where_defined"),
                            strict=False)[0]

    def _values(self, table: ProbabilityTable, strict: bool) -> tuple[np.ndarray, list[str]]:
        owner = "Estimand.evaluate"
        for name in sorted(_mentioned(self._expression) | set(self.y) | set(self.do) | set(self.given)):
            if name not in table.variables:
                raise UnknownNodeError(name, table.variables, what=f"variable of the joint passed to {owner}")
        cards = {n: len(s) for n, s in table.states.items()}
        values, names = _Evaluator(table, cards, strict).run(self._expression)
        order = [*self.do, *self.given, *self.y]
        return _align(values, names, order, cards), order


def _mentioned(expr: Expression) -> frozenset[str]:
    if isinstance(expr, _Term):
        return expr.free()
    if isinstance(expr, _Product):
        return frozenset().union(*(_mentioned(f) for f in expr.factors))
    if isinstance(expr, _Sum):
        return _mentioned(expr.body)
    return _mentioned(expr.numerator) | _mentioned(expr.denominator)


def _show(expr: Expression, shown: dict[str, str], used: set[str], rank: Mapping[str, int]) -> str:
    """Plain-text form; ``shown`` maps variables in scope to their printed names."""
    def names(group: Iterable[str]) -> str:
        return ",".join(shown[n] for n in sorted(group, key=rank.__getitem__))

    if isinstance(expr, _Term):
        return f"P({names(expr.target)}|{names(expr.given)})" if expr.given else f"P({names(expr.target)})"
    if isinstance(expr, _Product):
        if not expr.factors:
            return "1"
        # Terms first, then compound factors; a compound factor that is not last gets brackets.
        factors = sorted(expr.factors, key=lambda f: not isinstance(f, _Term))
        parts = [_show(f, shown, used, rank) for f in factors]
        return " ".join(f"[{p}]" if not isinstance(f, _Term) and i < len(parts) - 1 else p
                        for i, (f, p) in enumerate(zip(factors, parts)))
    if isinstance(expr, _Sum):
        inner, taken = dict(shown), set(used)
        for name in sorted(expr.over, key=rank.__getitem__):
            label = name
            while label in taken:
                label += "'"
            inner[name] = label
            taken.add(label)
        bound = ",".join(inner[n] for n in sorted(expr.over, key=rank.__getitem__))
        return f"sum_{{{bound}}} {_show(expr.body, inner, taken, rank)}"
    top = _show(expr.numerator, shown, used, rank)
    bottom = _show(expr.denominator, shown, used, rank)
    wrap = (lambda e, s: s if isinstance(e, _Term) else f"({s})")  # noqa: E731
    return f"{wrap(expr.numerator, top)} / {wrap(expr.denominator, bottom)}"


# ---------------------------------------------------------------------------------- evaluation
class _Evaluator:
    """Evaluates an expression on a joint table; each value is ``(array, names)``, one axis per name."""

    def __init__(self, joint: ProbabilityTable, cards: Mapping[str, int], strict: bool = True):
        self.joint, self.cards, self.strict = joint, cards, strict
        self._marginals: dict[frozenset[str], tuple[np.ndarray, list[str]]] = {}

    def run(self, expr: Expression) -> tuple[np.ndarray, list[str]]:
        if isinstance(expr, _Term):
            return self._term(expr)
        if isinstance(expr, _Product):
            return self._contract(expr.factors, set())
        if isinstance(expr, _Sum):
            return self._contract(_factors(expr.body) if isinstance(expr.body, _Product) else [expr.body],
                                  set(expr.over))
        top, top_names = self.run(expr.numerator)
        bottom, bottom_names = self.run(expr.denominator)
        names = list(dict.fromkeys([*bottom_names, *top_names]))
        top, bottom = _align(top, top_names, names, self.cards), _align(bottom, bottom_names, names, self.cards)
        bottom = np.broadcast_to(bottom, np.broadcast_shapes(top.shape, bottom.shape))
        if self.strict:
            _check_positive(bottom, names, self.joint, "the denominator of a ratio")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan), names

    def _marginal(self, names: frozenset[str]) -> tuple[np.ndarray, list[str]]:
        if names not in self._marginals:
            ordered = [n for n in self.joint.variables if n in names]
            self._marginals[names] = (self.joint.marginal(ordered).values, ordered) if ordered else (np.ones(()), [])
        return self._marginals[names]

    def _term(self, term: _Term) -> tuple[np.ndarray, list[str]]:
        both, both_names = self._marginal(term.target | term.given)
        if not term.given:
            return both, both_names
        given, given_names = self._marginal(term.given)
        given = _align(given, given_names, both_names, self.cards)
        given = np.broadcast_to(given, both.shape)
        if self.strict:
            _check_positive(given, both_names, self.joint, f"P({', '.join(sorted(term.given))})")
        return np.where(given > 0, both / np.where(given > 0, given, 1.0), np.nan), both_names

    def _contract(self, factors: Sequence[Expression], over: set[str]) -> tuple[np.ndarray, list[str]]:
        """The product of ``factors`` summed over ``over`` (a variable no factor holds counts its states)."""
        values = [self.run(f) for f in factors]
        present = list(dict.fromkeys(n for _, names in values for n in names))
        keep = [n for n in present if n not in over]
        label = {n: i for i, n in enumerate(present)}
        operands: list[Any] = []
        for array, names in values:
            operands += [array, [label[n] for n in names]]
        result = np.einsum(*operands, [label[n] for n in keep], optimize="greedy") if operands else np.ones(())
        for name in over - set(present):
            result = result * self.cards[name]
        return result, keep


def _align(values: np.ndarray, names: Sequence[str], order: Sequence[str], cards: Mapping[str, int]) -> np.ndarray:
    """``values`` (axes ``names`` ⊆ ``order``) with axes in ``order``, shape ``(cards[n] for n in order)``;
    an axis that ``values`` lacks is filled by repetition."""
    missing = [n for n in order if n not in names]
    expanded = values.reshape(values.shape + (1,) * len(missing))
    current = [*names, *missing]
    moved = np.moveaxis(expanded, [current.index(n) for n in order], list(range(len(order))))
    return np.broadcast_to(moved, tuple(cards[n] for n in order)).copy() if missing else moved


def _check_positive(denominator: np.ndarray, names: Sequence[str], joint: ProbabilityTable, what: str) -> None:
    bad = denominator <= 0
    if not np.any(bad):
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    configuration = {n: joint.states[n][i] for n, i in zip(names, index)}
    shown = ", ".join(f"{n}={v!r}" for n, v in configuration.items())
    raise PositivityError(f"Positivity violated in Estimand.evaluate: {what} is zero at {shown}, so the "
                          "identifying formula is undefined there.", list(names), configuration)
