"""Background knowledge for constraint-based discovery: forbidden and required edges, and tiers.

A user of latent causal models often knows part of the graph before looking at data: the light
source is not caused by the shadow, a time index has no parents, factors come in temporal tiers.
:class:`BackgroundKnowledge` states it by node name, as Tetrad's ``Knowledge`` and causal-learn's
``BackgroundKnowledge`` do (Meek 1995, "Causal inference and causal explanation with background
knowledge", UAI; Spirtes, Glymour & Scheines 2000, §5.8):

- ``forbidden``: pairs ``(a, b)``, no edge ``a -> b``;
- ``required``: pairs ``(a, b)``, an edge ``a -> b``;
- ``tiers``: an ordered list of groups of nodes; a node of a later tier never causes a node of an
  earlier one (nodes in no tier are unconstrained; ``forbid_within_tiers=True`` forbids edges
  inside a tier too).

How PC uses it (:func:`latentscm.discovery.pc`, ``knowledge=``): a pair forbidden both ways starts
non-adjacent and a required pair is never tested (it stays adjacent); every edge the knowledge
constrains is oriented before the colliders, so a collider that would put an arrowhead against it
is not oriented, and Meek's rules (with R4) complete the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

__all__ = ["BackgroundKnowledge", "as_knowledge", "orient_by_knowledge"]


def _pairs(value: Any, name: str) -> tuple[tuple[str, str], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"The '{name}' argument of BackgroundKnowledge must be a list of (cause, effect) name pairs. "
                        f"Got {value!r}.")
    pairs = []
    for pair in value:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2 \
                or not all(isinstance(v, str) and v for v in pair):
            raise ValueError(f"Each entry of the '{name}' argument of BackgroundKnowledge must be two node names "
                             f"(cause, effect). Got {pair!r}.")
        if pair[0] == pair[1]:
            raise ValueError(f"The '{name}' argument of BackgroundKnowledge names the self-loop {tuple(pair)!r}.")
        pairs.append((pair[0], pair[1]))
    return tuple(dict.fromkeys(pairs))


def _tiers(value: Any) -> tuple[tuple[str, ...], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"The 'tiers' argument of BackgroundKnowledge must be a list of lists of node names. "
                        f"Got {value!r}.")
    tiers, seen = [], {}
    for t, tier in enumerate(value):
        if isinstance(tier, (str, bytes)) or not isinstance(tier, Iterable):
            raise ValueError(f"Tier {t} of the 'tiers' argument of BackgroundKnowledge must be a list of node names. "
                             f"Got {tier!r}.")
        names = tuple(tier)
        for name in names:
            if not isinstance(name, str) or not name:
                raise ValueError(f"Tier {t} of the 'tiers' argument of BackgroundKnowledge holds {name!r}, not a "
                                 f"node name.")
            if name in seen and seen[name] == t:
                raise ValueError(f"Tier {t} of the 'tiers' argument of BackgroundKnowledge lists the node {name!r} "
                                 f"twice.")
            if name in seen:
                raise ValueError(f"The node {name!r} is in tiers {seen[name]} and {t} of the 'tiers' argument of "
                                 f"BackgroundKnowledge; each node belongs to one tier at most.")
            seen[name] = t
        tiers.append(names)
    return tuple(tiers)


@dataclass(frozen=True)
class BackgroundKnowledge:
    """Forbidden and required directed edges, and tiers, by node name (see the module docstring).

    Contradictions are refused when the knowledge is built: an edge both required and forbidden
    (directly or by the tiers), an edge required both ways, and required edges that form a cycle.
    """

    forbidden: Sequence[tuple[str, str]] = ()
    required: Sequence[tuple[str, str]] = ()
    tiers: Sequence[Sequence[str]] = ()
    forbid_within_tiers: bool = False
    _tier_of: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "forbidden", _pairs(self.forbidden, "forbidden"))
        object.__setattr__(self, "required", _pairs(self.required, "required"))
        object.__setattr__(self, "tiers", _tiers(self.tiers))
        if not isinstance(self.forbid_within_tiers, (bool, np.bool_)):
            raise TypeError(f"The 'forbid_within_tiers' argument of BackgroundKnowledge must be True or False. "
                            f"Got {self.forbid_within_tiers!r}.")
        object.__setattr__(self, "_tier_of", {n: t for t, tier in enumerate(self.tiers) for n in tier})
        for a, b in self.required:
            if self.is_forbidden(a, b):
                raise ValueError(f"BackgroundKnowledge requires {a} -> {b} and forbids it"
                                 f"{' by its tiers' if (a, b) not in self.forbidden else ''}.")
            if (b, a) in self.required:
                raise ValueError(f"BackgroundKnowledge requires both {a} -> {b} and {b} -> {a}.")
        cycle = _find_cycle(self.required)
        if cycle:
            raise ValueError(f"The required edges of BackgroundKnowledge form the cycle {' -> '.join(cycle)}.")

    # ------------------------------------------------------------------ queries
    @property
    def nodes(self) -> set[str]:
        """Every node name the knowledge mentions."""
        return {n for pair in (*self.forbidden, *self.required) for n in pair} | set(self._tier_of)

    def is_forbidden(self, a: str, b: str) -> bool:
        """Whether the edge ``a -> b`` is forbidden (directly or by the tiers)."""
        if (a, b) in self.forbidden:
            return True
        ta, tb = self._tier_of.get(a), self._tier_of.get(b)
        if ta is None or tb is None:
            return False
        return ta > tb or (self.forbid_within_tiers and ta == tb)

    def is_required(self, a: str, b: str) -> bool:
        """Whether the edge ``a -> b`` is required."""
        return (a, b) in self.required

    def matrices(self, names: Sequence[str], owner: str = "BackgroundKnowledge") -> tuple[np.ndarray, np.ndarray]:
        """``(forbidden, required)``, bool (d, d) over ``names``: ``[i, j]`` for the edge ``names[i] -> names[j]``.

        Raises ValueError naming a node the knowledge mentions that is not among ``names``.
        """
        names = list(names)
        unknown = sorted(self.nodes - set(names))
        if unknown:
            raise ValueError(f"The background knowledge given to {owner} names the node(s) {unknown}, which are not "
                             f"among the data's columns {names}.")
        d = len(names)
        forbidden = np.zeros((d, d), dtype=bool)
        required = np.zeros((d, d), dtype=bool)
        index = {n: i for i, n in enumerate(names)}
        for a, b in self.required:
            required[index[a], index[b]] = True
        for a, b in self.forbidden:
            forbidden[index[a], index[b]] = True
        tier = np.array([self._tier_of.get(n, -1) for n in names])
        placed = tier >= 0
        later = (tier[:, None] > tier[None, :]) if not self.forbid_within_tiers else (tier[:, None] >= tier[None, :])
        forbidden |= later & placed[:, None] & placed[None, :]
        np.fill_diagonal(forbidden, False)
        return forbidden, required

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        return {"forbidden": [list(p) for p in self.forbidden], "required": [list(p) for p in self.required],
                "tiers": [list(t) for t in self.tiers], "forbid_within_tiers": bool(self.forbid_within_tiers)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "the knowledge") -> BackgroundKnowledge:
        """Knowledge from a mapping with keys ``forbidden``, ``required``, ``tiers`` and
        ``forbid_within_tiers`` (all optional); an unknown key is refused, naming ``source``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{source} must be a JSON object with 'forbidden', 'required' and/or 'tiers'. "
                             f"Got {type(data).__name__}.")
        unknown = sorted(set(data) - {"forbidden", "required", "tiers", "forbid_within_tiers"})
        if unknown:
            raise ValueError(f"{source} has the unknown key(s) {unknown}; the keys are 'forbidden', 'required', "
                             f"'tiers' and 'forbid_within_tiers'.")
        return cls(forbidden=data.get("forbidden", ()), required=data.get("required", ()),
                   tiers=data.get("tiers", ()), forbid_within_tiers=data.get("forbid_within_tiers", False))

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str, source: str = "the knowledge") -> BackgroundKnowledge:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{source} is not valid JSON: {error}") from None
        return cls.from_dict(data, source)


def as_knowledge(value: Any, owner: str) -> BackgroundKnowledge | None:
    """``value`` (None, a :class:`BackgroundKnowledge` or its ``to_dict`` mapping) as knowledge; TypeError naming
    ``owner``'s ``knowledge`` argument otherwise."""
    if value is None or isinstance(value, BackgroundKnowledge):
        return value
    if isinstance(value, Mapping):
        return BackgroundKnowledge.from_dict(value, f"The 'knowledge' argument of {owner}")
    raise TypeError(f"The 'knowledge' argument of {owner} must be a BackgroundKnowledge, a mapping with 'forbidden', "
                    f"'required' and/or 'tiers', or None. Got {type(value).__name__}.")


def _find_cycle(edges: Sequence[tuple[str, str]]) -> list[str]:
    graph = nx.DiGraph(list(edges))
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return []
    return [a for a, _ in cycle] + [cycle[0][0]]


def orient_by_knowledge(adjacency: np.ndarray, forbidden: np.ndarray, required: np.ndarray) -> np.ndarray:
    """Orient the edges of a skeleton or PDAG ``adjacency`` (d, d) that the knowledge constrains.

    ``forbidden`` / ``required`` (d, d) bool: ``[i, j]`` for ``i -> j``. An undirected edge ``i - j``
    becomes ``i -> j`` when ``i -> j`` is required or ``j -> i`` forbidden. Raises ValueError when the
    skeleton lacks a required edge or an edge is forbidden both ways yet present (callers keep
    required edges and drop doubly forbidden ones before testing, so either means a caller's bug or
    a skeleton that was not built with this knowledge).
    """
    g = np.asarray(adjacency).astype(np.int64, copy=True)
    adjacent = (g != 0) | (g.T != 0)
    missing = np.argwhere(required & ~adjacent)
    if missing.size:
        i, j = missing[0]
        raise ValueError(f"The skeleton lacks the required edge {int(i)} -> {int(j)}.")
    both = np.argwhere(forbidden & forbidden.T & adjacent)
    if both.size:
        i, j = both[0]
        raise ValueError(f"The skeleton holds the edge {int(i)} - {int(j)}, forbidden both ways.")
    towards = (required | forbidden.T) & adjacent  # [i, j]: the edge must be i -> j
    for i, j in np.argwhere(towards):
        g[i, j], g[j, i] = 1, 0
    return g
