"""Regression tests of review pass s23 (discovery3): names given as one string, indexed CI queries."""

from __future__ import annotations

import numpy as np
import pytest

from latentscm.discovery import causal_de_finetti, cdnod, pc
from latentscm.discovery.ci_tests import make_ci_test
from latentscm.discovery.codes import discover_from_codes
from latentscm.discovery.environments import environment_variables


def _data() -> np.ndarray:
    data = np.random.default_rng(0).normal(size=(120, 3))
    data[:, 1] += data[:, 0]
    return data


@pytest.mark.parametrize("call", [
    lambda x: pc(x, node_names="abc"),
    lambda x: pc((x > 0).astype(int), ci_test="chisq", node_names="abc"),
    lambda x: cdnod(x, np.repeat([0, 1], 60), ci_test="fisherz", node_names="abc"),
    lambda x: causal_de_finetti(x[:40].reshape(20, 2, 3), ci_test="fisherz", node_names="abc"),
    lambda x: discover_from_codes(x, "abc", ci_test="fisherz"),
], ids=["pc", "pc-chisq", "cdnod", "cdf", "codes"])
def test_names_given_as_one_string_are_refused_not_split_into_letters(call):
    with pytest.raises(TypeError, match="not one string"):
        call(_data())


def test_environment_code_names_as_one_string_are_refused():
    class Environments:
        factors = np.zeros((4, 5, 3))
        images = np.zeros((4, 5, 1, 2, 2))
        factor_names = ("a", "b", "c")

    codes = np.random.default_rng(1).normal(size=(20, 3))
    with pytest.raises(TypeError, match="'code_names'"):
        environment_variables(Environments(), encode=lambda images: codes, code_names="xyz")
    assert environment_variables(Environments(), encode=lambda images: codes, code_names=["x", "y", "z"])[1] == (
        "x", "y", "z")


@pytest.mark.parametrize("row", [[0, 0], [0, 1, 0], [0, 1, 2, 2]])
def test_indexed_queries_naming_a_column_twice_are_refused(row):
    bound = make_ci_test("fisherz").bind(np.random.default_rng(0).normal(size=(300, 3)))
    with pytest.raises(ValueError, match="names a column twice"):
        bound.p_values_indexed(np.array([row]))
    assert bound.p_values_indexed(np.array([[0, 1, 2]])).shape == (1,)
