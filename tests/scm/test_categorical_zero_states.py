"""s25: a Categorical row summing to 1 - 1e-9 must not give its trailing zero-probability state any noise mass."""

import numpy as np
import pytest

from latentscm.graph import CausalGraph
from latentscm.scm import SCM, Categorical


@pytest.mark.parametrize("row", [[0.7, 0.2, 0.1 - 4e-10, 0.0], [0.5 - 4e-10, 0.5, 0.0, 0.0]])
def test_trailing_zero_probability_state_is_never_drawn_nor_abducted(row):
    mechanism = Categorical([row])
    last_positive = max(i for i, p in enumerate(row) if p > 0)
    # every u in [0, 1), including those just below 1, maps to a state of positive probability
    u = np.array([np.nextafter(1.0, 0.0), 1.0 - 1e-10, 1.0 - 3e-10, 0.0])
    drawn = mechanism.evaluate(np.zeros((u.size, 1)), u)
    assert drawn.tolist() == [float(last_positive)] * 3 + [0.0]
    with pytest.raises(ValueError, match="has probability zero"):
        mechanism.abduct(np.array([float(len(row) - 1)]), np.zeros((1, 1)))


def test_zero_probability_state_of_a_root_is_never_drawn_in_an_scm():
    graph = CausalGraph([], nodes=["c"])
    model = SCM(graph, {"c": Categorical([0.25, 0.75 - 5e-10, 0.0])})
    noise = {"c": np.array([0.0, 0.5, np.nextafter(1.0, 0.0)])}
    assert model.evaluate(noise)["c"].tolist() == [0.0, 1.0, 1.0]
