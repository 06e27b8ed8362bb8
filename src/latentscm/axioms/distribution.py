"""The training distribution of axiomatic training, with its perturbations.

Following Vashishtha et al. (2024), the model is trained on short causal chains only (3–6 nodes
by default) and is asked transitivity questions (and, for a fraction of the demonstrations,
d-separation questions); three perturbations make the training data diverse enough to generalise:

- **node-name shuffling**: every demonstration draws its node names at random from a pool of
  ``n_names`` tokens (without it, a chain of length L is always ``v0 > v1 > ... v{L-1}``);
- **edge reversal**: each edge of the chain points backwards with probability ``flip_prob``
  (so "A causes C" is not implied by A being mentioned before C);
- **branching**: a fraction ``branch_prob`` of the demonstrations use a random DAG of the same
  size (mean out-degree ``branching``) instead of a chain.

:meth:`AxiomDistribution.unperturbed` is the baseline without any of them.
:meth:`AxiomDistribution.sample` is a pure function of ``(n, seed)``: the same seed gives the
same demonstrations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from latentscm._params import params_from_signature, params_repr
from latentscm._validation import as_generator, check_number
from latentscm.axioms.demonstrations import Demonstration, branched_graph, chain_graph, demonstration
from latentscm.axioms.vocabulary import Vocabulary, node_names

__all__ = ["AxiomDistribution"]


class AxiomDistribution:
    """Random axiom demonstrations on short graphs.

    Parameters
    ----------
    min_length, max_length : int, default 3 and 6
        Number of nodes of a training graph, uniform in ``[min_length, max_length]`` (>= 2).
    n_names : int, default 32
        Size of the node-name pool (>= ``max_length``; evaluation graphs draw from the same pool,
        so it must also cover the largest evaluation graph).
    shuffle_names : bool, default True
        Node-name shuffling (see the module docstring).
    flip_prob : float in [0, 1], default 0.5
        Edge-reversal probability per chain edge.
    branch_prob : float in [0, 1], default 0.0
        Fraction of demonstrations on a branched random DAG instead of a chain.
    branching : float > 0, default 1.4
        Mean out-degree of those DAGs.
    dsep_fraction : float in [0, 1], default 0.25
        Fraction of demonstrations asking a d-separation question instead of transitivity.
    max_given : int >= 0, default 2
        Largest conditioning set of a d-separation question.
    """

    def __init__(self, *, min_length: int = 3, max_length: int = 6, n_names: int = 32, shuffle_names: bool = True,
                 flip_prob: float = 0.5, branch_prob: float = 0.0, branching: float = 1.4,
                 dsep_fraction: float = 0.25, max_given: int = 2):
        owner = "AxiomDistribution"
        low = check_number(min_length, "min_length", owner, low=2, integer=True)
        high = check_number(max_length, "max_length", owner, low=2, integer=True)
        if high < low:
            raise ValueError(f"The 'max_length' parameter of {owner} must be >= min_length={low}. Got {high}.")
        pool = check_number(n_names, "n_names", owner, low=2, integer=True)
        if pool < high:
            raise ValueError(f"The 'n_names' parameter of {owner} must be >= max_length={high} (one name per node). "
                             f"Got {pool}.")
        if not isinstance(shuffle_names, bool):
            raise TypeError(f"The 'shuffle_names' parameter of {owner} must be a bool. Got {shuffle_names!r}.")
        check_number(flip_prob, "flip_prob", owner, low=0.0, high=1.0)
        check_number(branch_prob, "branch_prob", owner, low=0.0, high=1.0)
        check_number(branching, "branching", owner, low=0.0, low_inclusive=False)
        check_number(dsep_fraction, "dsep_fraction", owner, low=0.0, high=1.0)
        check_number(max_given, "max_given", owner, low=0, integer=True)
        self.min_length = min_length
        self.max_length = max_length
        self.n_names = n_names
        self.shuffle_names = shuffle_names
        self.flip_prob = flip_prob
        self.branch_prob = branch_prob
        self.branching = branching
        self.dsep_fraction = dsep_fraction
        self.max_given = max_given

    @classmethod
    def unperturbed(cls, *, min_length: int = 3, max_length: int = 6, n_names: int = 32,
                    dsep_fraction: float = 0.25, max_given: int = 2) -> AxiomDistribution:
        """The baseline: forward chains ``v0 > v1 > ...`` with fixed names, no reversal, no branching."""
        return cls(min_length=min_length, max_length=max_length, n_names=n_names, shuffle_names=False, flip_prob=0.0,
                   branch_prob=0.0, dsep_fraction=dsep_fraction, max_given=max_given)

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (scikit-learn's rule)."""
        return params_from_signature(self)

    def __repr__(self) -> str:
        return params_repr(self, self.get_params())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AxiomDistribution):
            return NotImplemented
        return self.get_params() == other.get_params()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_params().items())))

    @property
    def names(self) -> list[str]:
        """The node-name pool."""
        return node_names(self.n_names)

    def vocabulary(self) -> Vocabulary:
        """The vocabulary of this distribution (specials + the name pool)."""
        return Vocabulary(self.names)

    def sample(self, n: int, *, seed: int | np.random.Generator) -> list[Demonstration]:
        """``n`` demonstrations, a pure function of ``(n, seed)``.

        Parameters
        ----------
        n : int >= 1
            How many.
        seed : int or numpy Generator
            Randomness.

        Returns
        -------
        list of Demonstration
            Length ``n``.
        """
        n = check_number(n, "n", "AxiomDistribution.sample", low=1, integer=True)
        rng = as_generator(seed)
        pool = self.names
        out = []
        for _ in range(n):
            length = int(rng.integers(self.min_length, self.max_length + 1))
            if self.shuffle_names:
                names = [pool[int(i)] for i in rng.choice(len(pool), size=length, replace=False)]
            else:
                names = pool[:length]
            kind = "dseparated" if rng.uniform() < self.dsep_fraction else "causes"
            if rng.uniform() < self.branch_prob:
                graph = branched_graph(names, branching=self.branching, seed=rng)
                statements = None
            else:
                graph, statements = chain_graph(names, flip_prob=self.flip_prob, seed=rng)
            out.append(demonstration(graph, kind, seed=rng, statements=statements, max_given=self.max_given))
        return out
