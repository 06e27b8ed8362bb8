"""Regression tests of the s23 (second) review of temporal discovery."""

import numpy as np
import pytest

from latentscm.discovery.ci_tests import CIResult, CITest
from latentscm.discovery.timeseries import cmlp_granger, granger, pcmci, pcmci_plus, varlingam
from latentscm.worlds.timeseries import make


@pytest.mark.parametrize("method", [pcmci, pcmci_plus, granger, varlingam])
def test_a_string_of_var_names_is_refused_not_split_into_letters(method):
    x = np.random.default_rng(0).standard_normal((120, 3))
    with pytest.raises(TypeError, match="'var_names' argument of .* not a string. Got 'abc'"):
        method(x, var_names="abc")
    assert method(x, var_names=("a", "b", "c")).var_names == ("a", "b", "c")


@pytest.mark.parametrize("method", [pcmci, pcmci_plus, granger, varlingam, cmlp_granger])
def test_a_series_without_columns_is_refused(method):
    with pytest.raises(ValueError, match=r"'data' argument of .* has no columns \(shape \(100, 0\)\)"):
        method(np.zeros((100, 0)))


def test_cmlp_names_the_step_size_when_training_diverges():
    x = make("var", d=3, lag_max=1, seed=0).sample(200, seed=0).values
    with pytest.raises(FloatingPointError, match=r"diverged .* lower 'lr' \(now 50.0\)"):
        cmlp_granger(x, lr=50.0, max_iter=20, lambdas=[0.01, 0.1])


class IndependenceTable(CITest):
    """p = 1 for the listed contemporaneous statements ``(x, y, z)`` and for every query with a lagged column
    as x or y; p = 0 otherwise."""

    name = "independence_table_s23b"

    def __init__(self, *, statements=(), d=4):
        super().__init__()
        self.statements = statements
        self.d = d

    def _prepare(self, data):
        return {(min(x, y), max(x, y), frozenset(z)) for x, y, z in self.statements}

    def _compute(self, state, queries):
        results = []
        for query in queries:
            x, y = query.x[0], query.y[0]
            independent = x >= self.d or y >= self.d or (x, y, frozenset(query.z)) in state
            results.append(CIResult(0.0 if independent else 10.0, 1.0 if independent else 0.0))
        return results


@pytest.mark.parametrize("rule", ["conservative", "majority"])
def test_a_triple_without_a_separating_set_among_the_adjacencies_is_ambiguous(rule):
    # X ⊥ Y | {W}, X ⊥ W | {Z, Y}, Y ⊥ W | {X, Z}: the final adjacencies X - Z - Y, Z - W hold no separating
    # set of X, Y (nor of X, W or Y, W). tigramite marks such triples ambiguous; the phase-2 set {W} used to
    # orient X -> Z <- Y and then Z -> W.
    X, Z, Y, W = range(4)
    table = IndependenceTable(statements=((X, Y, (W,)), (X, W, (Z, Y)), (Y, W, (X, Z))))
    result = pcmci_plus(np.random.default_rng(0).standard_normal((60, 4)), tau_max=1, collider_rule=rule,
                        ci_test=table)
    graph = result.adjacency()
    for a, b in ((X, Z), (Y, Z), (Z, W)):
        assert graph[0, a, b] == 1 and graph[0, b, a] == 1, (a, b)
    assert {(X, 0, Z, Y), (X, 0, Z, W), (Y, 0, Z, W)} <= set(result.info["ambiguous_triples"])
    assert result.info["all_separating_sets"][(X, 0, Y)] == []
    # the standard rule still uses the phase-2 separating set
    standard = pcmci_plus(np.random.default_rng(0).standard_normal((60, 4)), tau_max=1, ci_test=table).adjacency()
    assert standard[0, X, Z] == 1 and standard[0, Z, X] == 0
