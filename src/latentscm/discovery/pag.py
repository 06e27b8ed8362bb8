"""Partial ancestral graphs (PAGs): what FCI returns when hidden confounders may exist.

A PAG over d observed variables is stored as an int matrix ``marks`` (d, d) in the convention of
pcalg's ``amat.pag``: ``marks[i, j]`` is the mark *at j* on the edge between i and j —
``0`` no edge, ``1`` circle (``o``), ``2`` arrowhead (``>``), ``3`` tail (``-``). So ``i -> j`` is
``marks[i, j] = 2, marks[j, i] = 3``; ``i <-> j`` is ``2, 2``; ``i o-> j`` is ``marks[i, j] = 2,
marks[j, i] = 1``.

Reading (Zhang 2008, "On the completeness of orientation rules for causal discovery in the presence
of latent confounders and selection bias", AIJ 172): an arrowhead at j on i *-> j means j is an
ancestor of i in no DAG of the class (j does not cause i); a tail at i on i -> j means i is an
ancestor of j in every one; a circle is a mark that differs between members of the class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentscm._io import dumps_strict

__all__ = ["ARROW", "CIRCLE", "NO_EDGE", "TAIL", "PartialAncestralGraph"]

NO_EDGE, CIRCLE, ARROW, TAIL = 0, 1, 2, 3
_LEFT = {CIRCLE: "o", ARROW: "<", TAIL: "-"}
_RIGHT = {CIRCLE: "o", ARROW: ">", TAIL: "-"}
_FROM_LEFT = {v: k for k, v in _LEFT.items()}
_FROM_RIGHT = {v: k for k, v in _RIGHT.items()}


@dataclass
class PartialAncestralGraph:
    """A PAG: ``nodes`` (d names), ``marks`` (d, d) as in the module docstring, the separating sets
    found (pairs of positions ``(i, j)``, i < j, to frozensets of positions) and ``info``."""

    nodes: tuple[str, ...]
    marks: np.ndarray
    separating_sets: Mapping[tuple[int, int], frozenset[int]] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.nodes, (str, bytes)) or not isinstance(self.nodes, Sequence):
            raise TypeError(f"The nodes of a PartialAncestralGraph must be a sequence of names. Got {self.nodes!r}.")
        self.nodes = tuple(self.nodes)
        if len(set(self.nodes)) != len(self.nodes):
            twice = sorted({str(v) for v in self.nodes if self.nodes.count(v) > 1})
            raise ValueError(f"The node names of a PartialAncestralGraph must be unique; {twice} appear twice.")
        try:
            marks = np.asarray(self.marks)
        except ValueError:
            raise ValueError("The marks of a PartialAncestralGraph must be a (d, d) array of 0, 1, 2 and 3 (got "
                             "rows of different lengths).") from None
        if marks.dtype == object or not (np.issubdtype(marks.dtype, np.integer) or np.issubdtype(marks.dtype,
                                                                                                   np.floating)):
            raise ValueError(f"The marks of a PartialAncestralGraph must be numbers 0, 1, 2 and 3. Got an array of "
                             f"{marks.dtype}.")
        d = len(self.nodes)
        if marks.shape != (d, d):
            raise ValueError(f"A PartialAncestralGraph over {d} nodes needs marks of shape ({d}, {d}). "
                             f"Got {marks.shape}.")
        if not np.isin(marks, (NO_EDGE, CIRCLE, ARROW, TAIL)).all():
            raise ValueError("The marks of a PartialAncestralGraph must be 0 (no edge), 1 (circle), 2 (arrowhead) "
                             f"or 3 (tail). Got values {sorted(set(np.unique(marks).tolist()))}.")
        if not np.array_equal(marks != 0, marks.T != 0) or np.diag(marks).any():
            raise ValueError("The marks of a PartialAncestralGraph must describe edges between two different nodes "
                             "with a mark at both ends (marks[i, j] != 0 exactly when marks[j, i] != 0).")
        self.marks = marks.astype(np.int64)

    @property
    def adjacency(self) -> np.ndarray:
        """The skeleton (d, d), symmetric 0/1."""
        return (self.marks != 0).astype(np.int64)

    def edges(self) -> list[str]:
        """Every edge as text, ``"a o-> b"``, ``"a <-> b"``, ``"a --> b"``, ``"a o-o b"`` (i < j; an edge
        with an arrowhead only at the first node is written the other way round)."""
        out = []
        d = len(self.nodes)
        for i in range(d):
            for j in range(i + 1, d):
                if not self.marks[i, j]:
                    continue
                at_i, at_j = int(self.marks[j, i]), int(self.marks[i, j])
                a, b = i, j
                if at_i == ARROW and at_j != ARROW:
                    a, b, at_i, at_j = j, i, at_j, at_i
                out.append(f"{self.nodes[a]} {_LEFT[at_i]}-{_RIGHT[at_j]} {self.nodes[b]}")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: nodes, marks, the edges as text and info (separating sets are not stored)."""
        return {"kind": "pag", "nodes": list(self.nodes), "marks": self.marks.tolist(), "edges": self.edges(),
                "info": dict(self.info)}

    def to_json(self) -> str:
        """Strict JSON of :meth:`to_dict` (non-finite numbers in ``info`` are ``null``)."""
        return dumps_strict(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartialAncestralGraph:
        """Inverse of :meth:`to_dict`."""
        if not isinstance(data, Mapping) or "nodes" not in data or "marks" not in data:
            raise ValueError("A PartialAncestralGraph dict needs 'nodes' and 'marks'.")
        nodes = data["nodes"]
        if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
            raise ValueError(f"A PartialAncestralGraph dict's 'nodes' must be a list of names (strings). "
                             f"Got {nodes!r}.")
        marks = data["marks"]
        if not isinstance(marks, list) or not all(isinstance(row, list) and all(
                isinstance(v, int) and not isinstance(v, bool) for v in row) for row in marks):
            raise ValueError("A PartialAncestralGraph dict's 'marks' must be a list of rows of integers 0-3.")
        info = data.get("info", {})
        return cls(tuple(nodes), np.asarray(marks), info=dict(info) if isinstance(info, Mapping) else {})

    @classmethod
    def from_edges(cls, nodes: Sequence[str], edges: Sequence[str]) -> PartialAncestralGraph:
        """Build from text edges such as ``["a o-> b", "b <-> c", "c --> d"]`` (the form of :meth:`edges`)."""
        names = tuple(str(n) for n in nodes)
        index = {n: k for k, n in enumerate(names)}
        marks = np.zeros((len(names), len(names)), dtype=np.int64)
        for text in edges:
            parts = str(text).split()
            if len(parts) != 3 or len(parts[1]) != 3 or parts[1][1] != "-" or parts[0] not in index \
                    or parts[2] not in index or parts[1][0] not in _FROM_LEFT or parts[1][2] not in _FROM_RIGHT:
                raise ValueError(f"Cannot read the PAG edge {text!r}: write 'a o-> b' with marks o, <, > or - and "
                                 f"node names from {list(names)}.")
            a, b = index[parts[0]], index[parts[2]]
            marks[b, a], marks[a, b] = _FROM_LEFT[parts[1][0]], _FROM_RIGHT[parts[1][2]]
        return cls(names, marks)
