"""Causal-axiom training (Vashishtha et al. 2024): small transformers trained from scratch on
symbolic demonstrations of transitivity and d-separation over short causal chains, evaluated on
longer chains, reversed and shuffled statements, branched graphs and exact d-separation.

* :mod:`~latentscm.axioms.vocabulary` — the compact token form and its :class:`Vocabulary`;
* :mod:`~latentscm.axioms.demonstrations` — demonstrations from a :class:`~latentscm.graph.CausalGraph`;
* :mod:`~latentscm.axioms.distribution` — the training distribution and its perturbations;
* :mod:`~latentscm.axioms.evaluation_sets` — the generalisation sets and the chance baseline;
* :mod:`~latentscm.axioms.transformer` — the network; :mod:`~latentscm.axioms.model` — training,
  resuming, saving; :mod:`~latentscm.axioms.evaluation` — scores.
"""

from latentscm.axioms.demonstrations import Demonstration, branched_graph, chain_graph, demonstration
from latentscm.axioms.distribution import AxiomDistribution
from latentscm.axioms.evaluation import accuracy, evaluate, summarise
from latentscm.axioms.evaluation_sets import chance_accuracy, evaluation_sets
from latentscm.axioms.model import AxiomModel
from latentscm.axioms.transformer import AxiomTransformer
from latentscm.axioms.vocabulary import Vocabulary, node_names

__all__ = ["AxiomDistribution", "AxiomModel", "AxiomTransformer", "Demonstration", "Vocabulary", "accuracy",
           "branched_graph", "chain_graph", "chance_accuracy", "demonstration", "evaluate", "evaluation_sets",
           "node_names", "summarise"]
