"""PCMCI+ collider rules (standard, conservative, majority) on cases with known, different outcomes.

The rules differ only when the CI tests are unfaithful or err, which finite data does at random.
To pin each rule's answer, the first tests run PCMCI+ with a CI test that answers from a fixed table of
independence statements (an unfaithful independence model, as in Ramsey et al. 2006); a last test
runs all rules on simulated data.
"""

import numpy as np
import pytest

from latentscm.discovery.ci_tests import CIResult, CITest
from latentscm.discovery.timeseries import pcmci_plus


class IndependenceTable(CITest):
    """p = 1 for the listed contemporaneous statements ``(x, y, z)`` (columns < d of the lag embedding)
    and for every query that involves a lagged column as x or y; p = 0 otherwise."""

    name = "independence_table"

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


X, Z, Y, W = 0, 1, 2, 3
# X ⊥ Y given {}, {Z} and {Z, W}, but not given {W}; every other pair is dependent given anything.
# The skeleton search removes X - Y at level 0 (separating set {}), leaving the unshielded triples
# X - Z - Y (Z in 2 of the 3 separating sets) and X - W - Y (W in 1 of 3).
STATEMENTS = ((X, Y, ()), (X, Y, (Z,)), (X, Y, (Z, W)))


def run(rule):
    data = np.random.default_rng(0).standard_normal((60, 4))
    return pcmci_plus(data, tau_max=1, alpha=0.05, collider_rule=rule,
                      ci_test=IndependenceTable(statements=STATEMENTS, d=4))


def undirected(graph, a, b):
    return graph[0, a, b] == 1 and graph[0, b, a] == 1


def directed(graph, a, b):
    return graph[0, a, b] == 1 and graph[0, b, a] == 0


def test_the_skeleton_is_the_same_for_every_rule():
    for rule in ("standard", "conservative", "majority"):
        graph = run(rule).adjacency()
        assert not graph[1:].any()
        skeleton = graph[0] | graph[0].T
        expected = np.ones((4, 4), int) - np.eye(4, dtype=int)
        expected[X, Y] = expected[Y, X] = 0
        np.testing.assert_array_equal(skeleton, expected)


def test_standard_rule_orients_both_triples_as_colliders():
    result = run("standard")
    graph = result.adjacency()
    assert directed(graph, X, Z) and directed(graph, Y, Z)
    assert directed(graph, X, W) and directed(graph, Y, W)
    assert undirected(graph, Z, W)
    assert result.info["ambiguous_triples"] == []


def test_conservative_rule_leaves_both_triples_ambiguous():
    result = run("conservative")
    graph = result.adjacency()
    for a, b in ((X, Z), (Y, Z), (X, W), (Y, W), (Z, W)):
        assert undirected(graph, a, b), (a, b)
    assert {(X, 0, Z, Y), (X, 0, W, Y)} <= set(result.info["ambiguous_triples"])
    assert sorted(result.info["all_separating_sets"][(X, 0, Y)], key=sorted) == [
        frozenset(), frozenset({Z}), frozenset({Z, W})]


def test_majority_rule_orients_one_collider_and_propagates_through_the_other_triple():
    result = run("majority")
    graph = result.adjacency()
    assert directed(graph, X, W) and directed(graph, Y, W)  # W in 1 of 3 separating sets: collider
    assert undirected(graph, X, Z) and undirected(graph, Z, Y)  # Z in 2 of 3: non-collider
    assert directed(graph, Z, W)  # Meek R3 through the unambiguous non-collider X - Z - Y
    assert result.info["ambiguous_triples"] == []


def test_majority_ties_are_ambiguous():
    # Z in exactly one of two separating sets ({} and {Z}; {W} and {Z, W} not separating)
    data = np.random.default_rng(0).standard_normal((60, 4))
    test = IndependenceTable(statements=((X, Y, ()), (X, Y, (Z,))), d=4)
    result = pcmci_plus(data, tau_max=1, collider_rule="majority", ci_test=test)
    assert (X, 0, Z, Y) in result.info["ambiguous_triples"]
    assert (X, 0, W, Y) not in result.info["ambiguous_triples"]  # W in 0 of 2: collider
    graph = result.adjacency()
    assert undirected(graph, X, Z) and directed(graph, X, W)


def test_every_rule_finds_a_clear_collider_in_data():
    # x0 -> x2 <- x1 at lag 0, every variable autocorrelated: no rule has a reason to disagree
    rng = np.random.default_rng(1)
    T = 1500
    noise = rng.standard_normal((T, 3))
    x = np.zeros((T, 3))
    for t in range(1, T):
        x[t, :2] = 0.4 * x[t - 1, :2] + noise[t, :2]
        x[t, 2] = 0.3 * x[t - 1, 2] + 0.8 * x[t, 0] - 0.8 * x[t, 1] + noise[t, 2]
    for rule in ("standard", "conservative", "majority"):
        graph = pcmci_plus(x, tau_max=1, alpha=0.01, collider_rule=rule).adjacency()
        assert directed(graph, 0, 2) and directed(graph, 1, 2), rule
        assert graph[0, 0, 1] == 0 and graph[0, 1, 0] == 0, rule


def test_unknown_rule_is_named():
    with pytest.raises(ValueError, match="'collider_rule' parameter of pcmci_plus must be one of"):
        pcmci_plus(np.random.default_rng(0).standard_normal((50, 3)), collider_rule="strict")


class DependenceRules(CITest):
    """p = 0 (dependent) for the column pairs listed in ``dependent``, unless the conditioning set meets
    the pair's ``separators``; p = 1 for every other query."""

    name = "dependence_rules"

    def __init__(self, *, dependent=(), separators=None):
        super().__init__()
        self.dependent = dependent
        self.separators = separators

    def _prepare(self, data):
        return {frozenset(pair) for pair in self.dependent}, {
            frozenset(pair): set(cut) for pair, cut in (self.separators or {}).items()}

    def _compute(self, state, queries):
        dependent, separators = state
        results = []
        for query in queries:
            pair = frozenset((query.x[0], query.y[0]))
            independent = pair not in dependent or bool(separators.get(pair, set()) & set(query.z))
            results.append(CIResult(0.0 if independent else 10.0, 1.0 if independent else 0.0))
        return results


@pytest.mark.parametrize("rule", ["standard", "conservative", "majority"])
def test_opposite_rule1_orientations_are_a_conflict_left_undirected(rule):
    # d = 2; lag-embedding columns 0, 1 (lag 0) and 2, 3 (lag 1). Self-lags x0_{t-1} -> x0_t and
    # x1_{t-1} -> x1_t; x1_{t-1} ⊥ x0_t only given x1_t and x0_{t-1} ⊥ x1_t only given x0_t: both
    # triples x_{i,t-1} -> x_{i,t} - x_{j,t} are non-colliders, so R1 proposes 0 -> 1 and 1 -> 0 at once
    test = DependenceRules(dependent=((0, 1), (0, 2), (1, 3), (0, 3), (1, 2)),
                           separators={(0, 3): {1}, (1, 2): {0}})
    result = pcmci_plus(np.random.default_rng(0).standard_normal((60, 2)), tau_max=1, collider_rule=rule,
                        ci_test=test)
    graph = result.adjacency()
    assert graph[1, 0, 0] == 1 and graph[1, 1, 1] == 1 and graph[1, 0, 1] == 0 and graph[1, 1, 0] == 0
    assert undirected(graph, 0, 1)
    assert result.info["conflicts"] == 1 and result.info["conflict_edges"] == [(0, 1)]


@pytest.mark.parametrize("rule", ["standard", "conservative", "majority"])
def test_collider_conflicts_stay_unoriented_in_the_rule_phase(rule):
    # the chain A - B - C - D with A ⊥ C, B ⊥ D and A ⊥ D: colliders A -> B <- C and B -> C <- D put
    # arrowheads at both ends of B - C; R1 (A -> B - C, D -> C - B) must not orient it afterwards
    A, B, C, D = range(4)
    result = pcmci_plus(np.random.default_rng(0).standard_normal((60, 4)), tau_max=1, collider_rule=rule,
                        ci_test=IndependenceTable(statements=((A, C, ()), (B, D, ()), (A, D, ())), d=4))
    graph = result.adjacency()
    assert directed(graph, A, B) and directed(graph, D, C)
    assert undirected(graph, B, C)
    assert result.info["conflicts"] == 1 and result.info["conflict_edges"] == [(B, C)]


def test_orientation_does_not_depend_on_the_order_of_the_variables():
    # x0 -> x1 and x0 -> x3 at lag 0 (the review's case): R1 from the self-lags proposes both
    # orientations of x0 - x3; before the fix the loop order chose one
    rng = np.random.default_rng(5)
    x = np.zeros((500, 4))
    for t in range(1, 500):
        e = rng.normal(size=4)
        x[t, 0] = 0.5 * x[t - 1, 0] + e[0]
        x[t, 1] = 0.4 * x[t - 1, 1] + 0.6 * x[t, 0] + e[1]
        x[t, 3] = 0.5 * x[t - 1, 3] + e[3] + 0.4 * x[t, 0]
        x[t, 2] = 0.3 * x[t - 1, 2] + 0.5 * x[t - 1, 1] + e[2]
    graphs = []
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        back = np.argsort(order)
        found = pcmci_plus(x[:, order], tau_max=2, alpha=0.01, collider_rule="majority")
        graphs.append(found.graph[:, back][:, :, back])
    for graph in graphs[1:]:
        np.testing.assert_array_equal(graph, graphs[0])


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
    standard = pcmci_plus(np.random.default_rng(0).standard_normal((60, 4)), tau_max=1, ci_test=table,
                          collider_rule="standard").adjacency()
    assert standard[0, X, Z] == 1 and standard[0, Z, X] == 0
