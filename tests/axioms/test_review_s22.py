"""Regression tests of the s22 review of the axiom evaluation sets."""

import pytest

from latentscm.axioms import evaluation_sets


@pytest.mark.parametrize("lengths", [12, "7"])
def test_lengths_that_are_not_a_list_are_named(lengths):
    with pytest.raises(TypeError, match="'lengths' parameter of evaluation_sets"):
        evaluation_sets(n_per_set=2, lengths=lengths, seed=0)
