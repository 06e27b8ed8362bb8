"""Regression tests of the fourth review of the metrics (s23)."""

import numpy as np
import pytest

from latentscm.metrics import edge_auprc, edge_auroc


@pytest.mark.parametrize("function", [edge_auroc, edge_auprc])
@pytest.mark.parametrize("directed", [True, False])
def test_edge_scores_of_a_single_node_graph_name_the_problem(function, directed):
    """A one-node graph has no pair to score: numpy's 'zero-size array to reduction operation minimum' came out."""
    with pytest.raises(ValueError, match=f"{function.__name__} needs at least two nodes"):
        function(np.zeros((1, 1)), np.zeros((1, 1)), directed=directed)
