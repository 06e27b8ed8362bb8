"""Causal graphs over named variables.

A :class:`CausalGraph` is an immutable directed acyclic graph whose nodes are strings
(factor or latent names). It is the one graph type the whole library passes around: worlds
expose one over their factors, SCMs are built on one, discovery returns adjacency matrices that
convert to one, and learners read their latent structure from one (graphs are data, never code).

Text form, one statement per line or separated by ``;``::

    angle -> shadow_length
    light -> shadow_length, shadow_position
    hole                      # an isolated node

``a -> b -> c`` chains are allowed; ``#`` starts a comment.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from latentscm.exceptions import LatentSCMError, UnknownNodeError

__all__ = ["CausalGraph", "CycleError", "UnknownNodeError"]


class CycleError(LatentSCMError, ValueError):
    """Raised when edges form a directed cycle; ``cycle`` lists the nodes on it in order."""

    def __init__(self, cycle: Sequence[str]):
        self.cycle = list(cycle)
        path = " -> ".join([*self.cycle, self.cycle[0]]) if self.cycle else "?"
        super().__init__(f"The graph has a directed cycle: {path}")



def _arrow_fragment(name: str) -> bool:
    """Whether a node name holds a piece of an arrow (``<-``, or ``<``/``>`` at an end), which the text form
    refuses: ``a<-b`` and ``a<->b`` are mistyped edges, not node names."""
    return "<-" in name or name.endswith("<") or name.startswith(">")


class CausalGraph:
    """An immutable DAG over string node names.

    Parameters
    ----------
    edges:
        Iterable of ``(parent, child)`` pairs.
    nodes:
        Optional node order. Defaults to the order of first appearance in ``edges``. Every
        node named in ``edges`` must be listed when ``nodes`` is given.

    Raises
    ------
    CycleError
        If the edges contain a directed cycle (the message lists the cycle).
    ValueError
        For self-loops, duplicate nodes or non-string names.
    UnknownNodeError
        If ``nodes`` is given and an edge names a node outside it.
    """

    __slots__ = ("_nodes", "_index", "_edges", "_parents", "_children", "_order")

    def __init__(self, edges: Iterable[tuple[str, str]] = (), nodes: Sequence[str] | None = None):
        edge_list: list[tuple[str, str]] = []
        for item in edges:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ValueError(
                    f"Each edge of CausalGraph must be a (parent, child) pair. Got {item!r}."
                )
            edge_list.append((item[0], item[1]))

        if nodes is None:
            seen: dict[str, None] = {}
            for parent, child in edge_list:
                seen.setdefault(parent, None)
                seen.setdefault(child, None)
            node_list = list(seen)
        else:
            if isinstance(nodes, str):
                raise TypeError("The 'nodes' argument of CausalGraph must be a sequence of names, "
                                f"not a single string. Got {nodes!r}.")
            node_list = list(nodes)
        for name in node_list:
            if not isinstance(name, str) or not name:
                raise ValueError(f"Node names of CausalGraph must be non-empty strings. Got {name!r}.")
        if len(set(node_list)) != len(node_list):
            dupes = sorted({n for n in node_list if node_list.count(n) > 1})
            raise ValueError(f"Duplicate node names in CausalGraph: {', '.join(dupes)}.")

        index = {name: i for i, name in enumerate(node_list)}
        parents: dict[str, list[str]] = {n: [] for n in node_list}
        children: dict[str, list[str]] = {n: [] for n in node_list}
        unique_edges: list[tuple[str, str]] = []
        for parent, child in edge_list:
            for end in (parent, child):
                if end not in index:
                    raise UnknownNodeError(end, node_list)
            if parent == child:
                raise CycleError([parent])
            if child in children[parent]:
                continue
            children[parent].append(child)
            parents[child].append(parent)
            unique_edges.append((parent, child))
        # Parents and children are kept in node order so that every consumer (SCM mechanisms,
        # learners) sees one canonical parent order.
        for n in node_list:
            parents[n].sort(key=index.__getitem__)
            children[n].sort(key=index.__getitem__)

        self._nodes = tuple(node_list)
        self._index = index
        self._edges = tuple(sorted(unique_edges, key=lambda e: (index[e[0]], index[e[1]])))
        self._parents = {n: tuple(p) for n, p in parents.items()}
        self._children = {n: tuple(c) for n, c in children.items()}
        self._order = self._compute_topological_order()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_adjacency(cls, matrix: Any, nodes: Sequence[str]) -> CausalGraph:
        """Build from a square matrix with ``matrix[i, j] != 0`` iff ``nodes[i] -> nodes[j]``."""
        adjacency = np.asarray(matrix)
        if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
            raise ValueError(f"The adjacency matrix must be square. Got shape {adjacency.shape}.")
        if adjacency.shape[0] != len(nodes):
            raise ValueError(
                f"The adjacency matrix has {adjacency.shape[0]} rows but {len(nodes)} node names "
                "were given."
            )
        if not np.all(np.isfinite(adjacency.astype(float))):
            raise ValueError("The adjacency matrix contains NaN or infinite entries.")
        rows, cols = np.nonzero(adjacency)
        return cls([(nodes[i], nodes[j]) for i, j in zip(rows, cols)], nodes=nodes)

    @classmethod
    def from_networkx(cls, graph: nx.DiGraph) -> CausalGraph:
        """Build from a :class:`networkx.DiGraph` (node names converted with ``str``)."""
        if not isinstance(graph, nx.DiGraph):
            raise TypeError(f"from_networkx expects a networkx.DiGraph. Got {type(graph).__name__}.")
        return cls([(str(u), str(v)) for u, v in graph.edges], nodes=[str(n) for n in graph.nodes])

    @classmethod
    def from_text(cls, text: str) -> CausalGraph:
        """Parse the text form (see the module docstring); inverse of :meth:`to_text`."""
        if not isinstance(text, str):
            raise TypeError(f"CausalGraph.from_text parses a string such as 'a -> b; b -> c'. Got "
                            f"{type(text).__name__}: {text!r}.")
        edges: list[tuple[str, str]] = []
        nodes: dict[str, None] = {}
        statements = [s for line in text.splitlines() for s in line.split("#", 1)[0].split(";")]
        for statement in statements:
            statement = statement.strip()
            if not statement:
                continue
            groups = [[name.strip() for name in part.split(",")] for part in statement.split("->")]
            for group in groups:
                for name in group:
                    if not name or any(ch.isspace() for ch in name) or "-" == name[-1:]:
                        raise ValueError(f"Cannot parse graph statement {statement!r}: bad node "
                                         f"name {name!r}.")
                    if _arrow_fragment(name):  # 'a<-b' or 'a<->b' would silently become odd node names
                        raise ValueError(f"Cannot parse graph statement {statement!r}: bad node name {name!r} "
                                         "(the only arrow is '->'; write 'b -> a' for 'a <- b').")
                    nodes.setdefault(name, None)
            for sources, targets in zip(groups, groups[1:]):
                edges.extend((s, t) for s in sources for t in targets)
        return cls(edges, nodes=list(nodes))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CausalGraph:
        """Inverse of :meth:`to_dict` (``{"nodes": [...], "edges": [[u, v], ...]}``)."""
        if not isinstance(data, Mapping) or "nodes" not in data or "edges" not in data:
            raise ValueError("A graph dict needs 'nodes' and 'edges' keys.")
        nodes, edges = data["nodes"], data["edges"]
        # a string is one name, not a list of one-letter names: "z0" must not become nodes 'z' and '0'
        if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence):
            raise ValueError(f"The 'nodes' of a graph dict must be a list of names. Got {nodes!r}.")
        if isinstance(edges, (str, bytes)) or not isinstance(edges, Sequence):
            raise ValueError(f"The 'edges' of a graph dict must be a list of [parent, child] pairs. Got {edges!r}.")
        bad = [e for e in edges if isinstance(e, (str, bytes)) or not isinstance(e, Sequence)]
        if bad:
            raise ValueError(f"Each edge of a graph dict must be a [parent, child] pair. Got {bad[0]!r}.")
        return cls([tuple(e) for e in edges], nodes=list(nodes))

    @classmethod
    def empty(cls, nodes: Sequence[str]) -> CausalGraph:
        """A graph with the given nodes and no edges (plain disentanglement)."""
        return cls((), nodes=nodes)

    # ------------------------------------------------------------------ queries
    @property
    def nodes(self) -> tuple[str, ...]:
        return self._nodes

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        return self._edges

    @property
    def adjacency(self) -> np.ndarray:
        """Int array (d, d) with ``adjacency[i, j] == 1`` iff ``nodes[i] -> nodes[j]``."""
        matrix = np.zeros((len(self._nodes), len(self._nodes)), dtype=np.int64)
        for parent, child in self._edges:
            matrix[self._index[parent], self._index[child]] = 1
        return matrix

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self):
        return iter(self._nodes)

    def check_node(self, name: str) -> str:
        """Return ``name`` if it is a node, else raise :class:`UnknownNodeError`."""
        if name not in self._index:
            raise UnknownNodeError(name, self._nodes)
        return name

    def index(self, name: str) -> int:
        """Position of ``name`` in :attr:`nodes`."""
        return self._index[self.check_node(name)]

    def parents(self, name: str) -> tuple[str, ...]:
        """Direct causes of ``name``, in node order."""
        return self._parents[self.check_node(name)]

    def children(self, name: str) -> tuple[str, ...]:
        return self._children[self.check_node(name)]

    def ancestors(self, name: str) -> set[str]:
        """All nodes with a directed path into ``name`` (excluding ``name``)."""
        return self._reach(name, self._parents)

    def descendants(self, name: str) -> set[str]:
        """All nodes reachable from ``name`` by a directed path (excluding ``name``)."""
        return self._reach(name, self._children)

    def _node_set(self, names: Iterable[str] | str) -> list[str]:
        """Checked node names, in the order given; a single string is one node, not its characters."""
        return [self.check_node(n) for n in ((names,) if isinstance(names, str) else names)]

    def descendants_of(self, names: Iterable[str] | str) -> set[str]:
        """Union of ``names`` (one node or several) and all their descendants."""
        out: set[str] = set()
        for name in self._node_set(names):
            out.add(self.check_node(name))
            out |= self.descendants(name)
        return out

    def topological_order(self) -> tuple[str, ...]:
        """Nodes ordered so every parent comes before its children (ties in node order)."""
        return self._order

    def is_root(self, name: str) -> bool:
        return not self.parents(name)

    def d_separated(self, x: Iterable[str] | str, y: Iterable[str] | str,
                    given: Iterable[str] | str = ()) -> bool:
        """Whether node sets ``x`` and ``y`` (each at least one node) are d-separated given ``given``."""
        sets = [set(self._node_set(arg)) for arg in (x, y, given)]
        for name, nodes in (("x", sets[0]), ("y", sets[1])):
            if not nodes:  # vacuously separated: an empty query is a mistake, not a "yes"
                raise ValueError(f"d_separated: {name!r} is empty; give at least one node.")
        for (a, b), (name_a, name_b) in zip(((0, 1), (0, 2), (1, 2)), (("x", "y"), ("x", "given"), ("y", "given"))):
            if sets[a] & sets[b]:
                raise ValueError(f"d_separated: {name_a!r} and {name_b!r} share the node(s) "
                                 f"{sorted(sets[a] & sets[b])}; the three sets must be disjoint.")
        graph = self.to_networkx()
        finder = getattr(nx, "is_d_separator", None) or nx.d_separated
        return bool(finder(graph, *sets))

    # ------------------------------------------------------------------ transformations
    def remove_incoming(self, names: Iterable[str] | str) -> CausalGraph:
        """Graph surgery for ``do(names)``: drop every edge into ``names`` (one node or several)."""
        cut = set(self._node_set(names))
        return CausalGraph([e for e in self._edges if e[1] not in cut], nodes=self._nodes)

    def add_edges(self, edges: Iterable[tuple[str, str]]) -> CausalGraph:
        """A new graph with extra edges (raises :class:`CycleError` if one is created)."""
        return CausalGraph([*self._edges, *edges], nodes=self._nodes)

    def subgraph(self, names: Iterable[str] | str) -> CausalGraph:
        keep = self._node_set(names)
        keep_set = set(keep)
        keep = [n for n in self._nodes if n in keep_set]
        return CausalGraph([e for e in self._edges if e[0] in keep_set and e[1] in keep_set],
                           nodes=keep)

    # ------------------------------------------------------------------ export
    def to_networkx(self) -> nx.DiGraph:
        graph = nx.DiGraph()
        graph.add_nodes_from(self._nodes)
        graph.add_edges_from(self._edges)
        return graph

    def to_text(self) -> str:
        """Readable text form, one ``parent -> child1, child2`` line per node with children;
        isolated nodes on their own line. Round-trips through :meth:`from_text`; a node name that the
        text form cannot hold (whitespace, ``,``, ``;``, ``#``, ``->``) raises ``ValueError`` naming it."""
        unwritable = [n for n in self._nodes if not n or any(c.isspace() for c in n) or any(
            token in n for token in (",", ";", "#", "->")) or n.endswith("-") or _arrow_fragment(n)]
        if unwritable:
            raise ValueError(f"to_text cannot write the node name(s) {unwritable}: the text form splits on whitespace, "
                             "',', ';', '#' and '->' (and refuses '<-'). Use to_dict() or to_dot().")
        lines = []
        for name in self._nodes:
            kids = self._children[name]
            if kids:
                lines.append(f"{name} -> {', '.join(kids)}")
        # Listing every node first keeps node order on a round trip.
        header = "; ".join(self._nodes)
        return header + "\n" + "\n".join(lines) if lines else header

    def to_dot(self, name: str = "G") -> str:
        """Graphviz DOT source."""
        def quote(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        body = [f"  {quote(n)};" for n in self._nodes]
        body += [f"  {quote(u)} -> {quote(v)};" for u, v in self._edges]
        return f"digraph {quote(name)} {{\n" + "\n".join(body) + "\n}\n"

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": list(self._nodes), "edges": [list(e) for e in self._edges]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    # ------------------------------------------------------------------ dunder
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalGraph):
            return NotImplemented
        return self._nodes == other._nodes and set(self._edges) == set(other._edges)

    def __hash__(self) -> int:
        return hash((self._nodes, frozenset(self._edges)))

    def __repr__(self) -> str:
        edges = ", ".join(f"{u}->{v}" for u, v in self._edges)
        return f"CausalGraph(nodes={list(self._nodes)}, edges=[{edges}])"

    def __str__(self) -> str:
        try:
            return self.to_text()
        except ValueError:  # node names the text form cannot hold
            return repr(self)

    def __getstate__(self):
        return {"nodes": self._nodes, "edges": self._edges}

    def __setstate__(self, state):
        self.__init__(state["edges"], nodes=state["nodes"])

    # ------------------------------------------------------------------ internals
    def _reach(self, name: str, step: Mapping[str, tuple[str, ...]]) -> set[str]:
        self.check_node(name)
        seen: set[str] = set()
        stack = list(step[name])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(step[node])
        return seen

    def _compute_topological_order(self) -> tuple[str, ...]:
        indegree = {n: len(self._parents[n]) for n in self._nodes}
        ready = [n for n in self._nodes if indegree[n] == 0]
        order: list[str] = []
        while ready:
            ready.sort(key=self._index.__getitem__)
            node = ready.pop(0)
            order.append(node)
            for child in self._children[node]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        if len(order) != len(self._nodes):
            raise CycleError(self._find_cycle({n for n in self._nodes if n not in order}))
        return tuple(order)

    def _find_cycle(self, remaining: set[str]) -> list[str]:
        # Every node left after Kahn's algorithm lies on or downstream of a cycle; walking
        # parents inside the remainder must revisit a node, and the revisit closes a cycle.
        node = min(remaining, key=self._index.__getitem__)
        path: list[str] = []
        position: dict[str, int] = {}
        while node not in position:
            position[node] = len(path)
            path.append(node)
            node = next(p for p in self._parents[node] if p in remaining)
        cycle = path[position[node]:]
        cycle.reverse()  # parents were walked backwards; report in edge direction
        return cycle
