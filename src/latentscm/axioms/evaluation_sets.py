"""Evaluation sets of axiomatic training: longer chains, reversed and shuffled statement order,
branched graphs, and d-separation queries answered by the exact oracle.

The sets follow Vashishtha et al. (2024): a model trained on chains of 3–6 nodes is tested on

- ``length_L`` — chains of exactly L nodes (default L = 3..15), each edge reversed with
  probability ``flip_prob``, statements in chain order, transitivity questions;
- ``reversed`` — chains of ``long_lengths`` nodes whose statements are listed last edge first;
- ``shuffled`` — the same with the statements in random order;
- ``branched`` — random DAGs of ``long_lengths`` nodes with mean out-degree ``branching``,
  statements in topological order;
- ``dsep_short`` / ``dsep_long`` / ``dsep_branched`` — d-separation questions on chains of the
  training lengths, on longer chains, and on branched DAGs; answers from
  :meth:`latentscm.graph.CausalGraph.d_separated`.

Node names are drawn at random from the same pool as in training. Each set is balanced between
"Yes" and "No" as far as its graphs allow; :func:`chance_accuracy` gives the majority-class rate
of every set, the accuracy of always answering its most frequent label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from latentscm._validation import as_generator, check_number
from latentscm.axioms.demonstrations import Demonstration, branched_graph, chain_graph, demonstration
from latentscm.axioms.vocabulary import node_names
from latentscm.training.loop import step_seed

__all__ = ["evaluation_sets", "chance_accuracy", "length_of", "DEFAULT_LENGTHS", "DEFAULT_LONG_LENGTHS"]

DEFAULT_LENGTHS = tuple(range(3, 16))
DEFAULT_LONG_LENGTHS = (7, 15)


def _lengths(lengths: Iterable[int], owner: str) -> list[int]:
    if isinstance(lengths, (str, bytes)) or not isinstance(lengths, Iterable):
        raise TypeError(f"The 'lengths' parameter of {owner} must be a list of chain lengths (ints >= 2). "
                        f"Got {lengths!r}.")
    values = [check_number(v, "lengths", owner, low=2, integer=True) for v in lengths]
    if not values:
        raise ValueError(f"The 'lengths' parameter of {owner} must name at least one chain length.")
    return values


def _names(pool: Sequence[str], length: int, rng: np.random.Generator) -> list[str]:
    return [pool[int(i)] for i in rng.choice(len(pool), size=length, replace=False)]


def evaluation_sets(*, n_per_set: int = 200, n_names: int = 32, lengths: Iterable[int] = DEFAULT_LENGTHS,
                    long_lengths: tuple[int, int] = DEFAULT_LONG_LENGTHS, train_lengths: tuple[int, int] = (3, 6),
                    flip_prob: float = 0.5, branching: float = 1.4, max_given: int = 2,
                    seed: int) -> dict[str, list[Demonstration]]:
    """Every evaluation set, a pure function of the arguments.

    Parameters
    ----------
    n_per_set : int >= 1, default 200
        Demonstrations per set.
    n_names : int, default 32
        Node-name pool (must cover the largest graph).
    lengths : iterable of int, default 3..15
        Chain lengths of the ``length_L`` sets.
    long_lengths : (int, int), default (7, 15)
        Node-count range of the reversed, shuffled, branched and long d-separation sets.
    train_lengths : (int, int), default (3, 6)
        Node-count range of ``dsep_short`` (the training lengths).
    flip_prob : float, default 0.5
        Edge-reversal probability of the chains.
    branching : float, default 1.4
        Mean out-degree of the branched DAGs.
    max_given : int, default 2
        Largest conditioning set of a d-separation question.
    seed : int
        Randomness; each set draws from its own stream, so adding lengths leaves the others as they were.

    Returns
    -------
    dict of str to list of Demonstration
        Set name -> demonstrations (``length_3``, ..., ``reversed``, ``shuffled``, ``branched``,
        ``dsep_short``, ``dsep_long``, ``dsep_branched``).
    """
    owner = "evaluation_sets"
    n = check_number(n_per_set, "n_per_set", owner, low=1, integer=True)
    chain_lengths = _lengths(lengths, owner)
    ranges = {}
    for label, value in (("long_lengths", long_lengths), ("train_lengths", train_lengths)):
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            raise TypeError(f"The {label!r} parameter of {owner} must be a (low, high) pair. Got {value!r}.")
        low = check_number(value[0], label, owner, low=2, integer=True)
        high = check_number(value[1], label, owner, low=low, integer=True)
        ranges[label] = (low, high)
    largest = max(max(chain_lengths), ranges["long_lengths"][1], ranges["train_lengths"][1])
    pool_size = check_number(n_names, "n_names", owner, low=2, integer=True)
    if pool_size < largest:
        raise ValueError(f"The 'n_names' parameter of {owner} must be >= {largest}, the largest graph. "
                         f"Got {pool_size}.")
    check_number(flip_prob, "flip_prob", owner, low=0.0, high=1.0)
    check_number(branching, "branching", owner, low=0.0, low_inclusive=False)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"The 'seed' parameter of {owner} must be an int. Got {seed!r}.")
    pool = node_names(pool_size)

    def build(stream: int, size_range: tuple[int, int], *, kind: str, graph_kind: str,
              order: str) -> list[Demonstration]:
        rng = as_generator(step_seed(int(seed), stream))
        out = []
        for _ in range(n):
            names = _names(pool, int(rng.integers(size_range[0], size_range[1] + 1)), rng)
            if graph_kind == "chain":
                graph, statements = chain_graph(names, flip_prob=flip_prob, seed=rng)
            else:
                graph, statements = branched_graph(names, branching=branching, seed=rng), None
            out.append(demonstration(graph, kind, seed=rng, order=order, statements=statements,
                                     max_given=max_given))
        return out

    long = ranges["long_lengths"]
    sets: dict[str, list[Demonstration]] = {}
    for length in chain_lengths:
        sets[f"length_{length}"] = build(length, (length, length), kind="causes", graph_kind="chain", order="forward")
    sets["reversed"] = build(1001, long, kind="causes", graph_kind="chain", order="reversed")
    sets["shuffled"] = build(1002, long, kind="causes", graph_kind="chain", order="shuffled")
    sets["branched"] = build(1003, long, kind="causes", graph_kind="branched", order="forward")
    sets["dsep_short"] = build(1004, ranges["train_lengths"], kind="dseparated", graph_kind="chain", order="forward")
    sets["dsep_long"] = build(1005, long, kind="dseparated", graph_kind="chain", order="forward")
    sets["dsep_branched"] = build(1006, long, kind="dseparated", graph_kind="branched", order="forward")
    return sets


def chance_accuracy(sets: Mapping[str, Sequence[Demonstration]]) -> dict[str, float]:
    """Accuracy of always giving a set's most frequent answer (the chance baseline).

    Parameters
    ----------
    sets : mapping of str to sequence of Demonstration
        Evaluation sets.

    Returns
    -------
    dict of str to float
        ``max(P(Yes), P(No))`` per set (0.5 for a perfectly balanced set); higher is better.
    """
    out = {}
    for name, demos in sets.items():
        if len(demos) == 0:
            raise ValueError(f"Evaluation set {name!r} is empty.")
        yes = float(np.mean([d.answer for d in demos]))
        out[name] = max(yes, 1.0 - yes)
    return out


def length_of(set_name: str) -> int | None:
    """The chain length of a ``length_L`` set name (``None`` for the others)."""
    if set_name.startswith("length_") and set_name[7:].isdigit():
        return int(set_name[7:])
    return None
