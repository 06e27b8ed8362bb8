"""Conditional instrumental sets: the criterion against a population oracle that shares no graph code with it
(two-stage least squares on the exact covariance of a linear SEM), and the finders against brute force."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from latentscm.effects import (
    INSTRUMENT_KINDS,
    InstrumentSet,
    NoInstrumentError,
    causal_nodes,
    covariates_for,
    forbidden_nodes,
    instrument_set,
    is_instrument_set,
)
from latentscm.graph import CausalGraph
from latentscm.testing.oracles import random_latent_graph


def _named(seed: int) -> tuple[CausalGraph, list[str], np.ndarray]:
    graph, observed = random_latent_graph(seed, observed=(4, 8), hidden=(1, 3))
    return graph, observed, graph.adjacency.astype(float)


def _population_2sls(covariance: np.ndarray, x: int, y: int, z: list[int], w: list[int]) -> tuple[float, float]:
    """The 2SLS estimand from the exact covariance, and the first stage's size ``Σ_xz Σ_zz^-1 Σ_zx`` (given W)."""
    idx = [x, y, *z]
    s = covariance[np.ix_(idx, idx)]
    if w:
        s = s - covariance[np.ix_(idx, w)] @ np.linalg.solve(covariance[np.ix_(w, w)], covariance[np.ix_(w, idx)])
    szx, szy, szz = s[2:, 0], s[2:, 1], s[2:, 2:]
    strength = float(szx @ np.linalg.solve(szz, szx))
    return float(szx @ np.linalg.solve(szz, szy)) / strength if strength > 1e-12 else np.nan, strength


def _linear_sem(adjacency: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(total effects ``T[j, i]`` of i on j, covariance) of a linear SEM with random weights on ``adjacency``."""
    rng = np.random.default_rng(seed)
    weights = adjacency * rng.uniform(0.5, 1.5, adjacency.shape) * rng.choice([-1.0, 1.0], adjacency.shape)
    total = np.linalg.inv(np.eye(adjacency.shape[0]) - weights.T)
    return total, total @ np.diag(rng.uniform(0.5, 1.5, adjacency.shape[0])) @ total.T


def test_criterion_is_sound_and_complete_against_the_population_oracle():
    # For every (X, Y), every single candidate instrument z and every covariate set W of up to three allowed
    # observed nodes in 30 random DAGs with hidden nodes: the sets the criterion accepts give the true total effect
    # exactly, and no set it refuses does (generically: random weights). Then the finders: instrument_set finds a
    # set exactly when some (z, W) passes, and what it returns passes and gives the truth; covariates_for finds
    # covariates for every z that has some.
    accepted = refused = found = needed_search = 0
    for seed in range(30):
        graph, observed, adjacency = _named(seed)
        names = list(graph.nodes)
        total, covariance = _linear_sem(adjacency, seed)
        for x in observed:
            for y in observed:
                if x == y:
                    continue
                truth = total[names.index(y), names.index(x)]
                allowed = [v for v in observed if v not in forbidden_nodes(graph, x, y) and v != y]
                any_valid = False
                for z in allowed:
                    rest = [v for v in allowed if v != z]
                    has_w = False
                    for size in range(min(3, len(rest)) + 1):
                        for w in combinations(rest, size):
                            ok = is_instrument_set(graph, x, y, [z], list(w))
                            value, strength = _population_2sls(covariance, names.index(x), names.index(y),
                                                               [names.index(z)], [names.index(v) for v in w])
                            if ok:
                                assert value == pytest.approx(truth, abs=1e-8), (seed, x, y, z, w)
                                accepted += 1
                                has_w = True
                            else:
                                assert strength < 1e-12 or abs(value - truth) > 1e-6, (seed, x, y, z, w)
                                refused += 1
                    any_valid |= has_w
                    if has_w:
                        w_found = covariates_for(graph, x, y, z, observed=observed)
                        assert is_instrument_set(graph, x, y, z, w_found), (seed, x, y, z)
                        needed_search += len(w_found) > 3
                try:
                    chosen = instrument_set(graph, x, y, observed=observed)
                except NoInstrumentError:
                    assert not any_valid, (seed, x, y)
                    continue
                assert any_valid and is_instrument_set(graph, x, y, chosen.instruments, chosen.covariates)
                value, _ = _population_2sls(covariance, names.index(x), names.index(y),
                                            [names.index(v) for v in chosen.instruments],
                                            [names.index(v) for v in chosen.covariates])
                assert value == pytest.approx(truth, abs=1e-8), (seed, x, y, chosen)
                found += 1
    assert accepted >= 2000 and refused >= 10000 and found >= 300


def test_classic_and_conditional_instruments():
    classic = CausalGraph.from_text("Z -> X; U -> X; U -> Y; X -> Y")
    assert instrument_set(classic, "X", "Y", observed=["Z", "X", "Y"]) == InstrumentSet(("Z",), ())
    assert is_instrument_set(classic, "X", "Y", "Z")
    assert not is_instrument_set(classic, "X", "Y", "U")  # a confounder is no instrument
    # van der Zander et al. 2015, Fig. 1B: Z shares a cause W with Y, so it is an instrument only given W.
    fig1b = CausalGraph.from_text("W -> Z; W -> Y; Z -> X; U -> X; U -> Y; X -> Y")
    assert not is_instrument_set(fig1b, "X", "Y", "Z")
    assert is_instrument_set(fig1b, "X", "Y", "Z", "W")
    assert instrument_set(fig1b, "X", "Y", observed=["W", "Z", "X", "Y"]) == InstrumentSet(("Z",), ("W",))
    # The exclusion restriction: an edge Z -> Y breaks it whatever is conditioned on.
    direct = CausalGraph.from_text("Z -> X; Z -> Y; U -> X; U -> Y; X -> Y")
    with pytest.raises(NoInstrumentError, match="no set of observed nodes"):
        instrument_set(direct, "X", "Y", observed=["Z", "X", "Y"])
    # A node on the causal path (a mediator) or its descendants are forbidden.
    mediated = CausalGraph.from_text("Z -> X; U -> X; U -> Y; X -> M; M -> Y; M -> D")
    assert causal_nodes(mediated, "X", "Y") == {"M", "Y"}
    assert not is_instrument_set(mediated, "X", "Y", "D")
    assert not is_instrument_set(mediated, "X", "Y", "Z", "M")


def test_an_instrument_that_needs_a_collider_descendant_conditioned_on():
    # Z and X meet only at the hidden collider H, so Z reaches X only given H's observed child C; but C opens the
    # path Z -> H <- X <- W -> Y too, so W is needed as well. The nearest separator of Z from Y ({W}) leaves Z cut
    # off from X, and covariates_for has to search the subsets. (C descends from X, but not through a causal path to
    # Y, so it is allowed, and it is itself an instrument given W.)
    graph = CausalGraph.from_text("Z -> H; X -> H; H -> C; W -> X; W -> Y; X -> Y")
    observed = ["Z", "X", "Y", "C", "W"]
    assert covariates_for(graph, "X", "Y", "Z", observed=observed) == ("C", "W")
    assert is_instrument_set(graph, "X", "Y", "Z", ["C", "W"])
    assert not any(is_instrument_set(graph, "X", "Y", "Z", w) for w in ([], ["C"], ["W"]))
    # Pooled, Z joins C: in the first stage X ~ Z + C + W, C is conditioned on, so Z moves X through the collider.
    assert instrument_set(graph, "X", "Y", observed=observed) == InstrumentSet(("Z", "C"), ("W",))
    assert instrument_set(graph, "X", "Y", "single", observed=observed) == InstrumentSet(("C",), ("W",))
    assert instrument_set(graph, "X", "Y", observed=observed, covariates=["C", "W"]) == InstrumentSet(("Z",),
                                                                                                     ("C", "W"))


def test_pooled_instruments_and_kinds():
    graph = CausalGraph.from_text("Z1 -> X; Z2 -> X; W -> Z2; W -> Y; U -> X; U -> Y; X -> Y")
    observed = ["Z1", "Z2", "W", "X", "Y"]
    assert instrument_set(graph, "X", "Y", observed=observed) == InstrumentSet(("Z1", "Z2"), ("W",))
    # The nearest separator conditions on W although Z1 needs nothing: W sits next to Y (and, a cause of Y, it only
    # makes the estimate more precise).
    assert instrument_set(graph, "X", "Y", "single", observed=observed) == InstrumentSet(("Z1",), ("W",))
    assert instrument_set(graph, "X", "Y", observed=observed, covariates=[]) == InstrumentSet(("Z1",), ())
    assert INSTRUMENT_KINDS == ("all", "single")


def test_bad_input_is_refused_by_name():
    graph = CausalGraph.from_text("Z -> X; U -> X; U -> Y; X -> Y; X -> M")
    with pytest.raises(ValueError, match="'kind'"):
        instrument_set(graph, "X", "Y", "best")
    with pytest.raises(ValueError, match="'covariates'.*not observed"):
        instrument_set(graph, "X", "Y", observed=["Z", "X", "Y"], covariates=["U"])
    with pytest.raises(ValueError, match="'covariates'.*'X'"):
        instrument_set(graph, "X", "Y", covariates=["X"])
    with pytest.raises(NoInstrumentError, match="given the covariates"):
        instrument_set(CausalGraph.from_text("Z -> W; W -> X; U -> X; U -> Y; X -> Y"), "X", "Y", covariates=["W"])
    with pytest.raises(NoInstrumentError, match="descendants of a node on a causal path"):
        covariates_for(CausalGraph.from_text("U -> X; U -> Y; X -> Y; Y -> D"), "X", "Y", "D")
    with pytest.raises(ValueError, match="'instruments'.*empty"):
        is_instrument_set(graph, "X", "Y", [])
    with pytest.raises(ValueError, match="Unknown node 'Q'"):
        is_instrument_set(graph, "X", "Y", ["Q"])
