"""Adjustment in a PAG, checked against its definition with an oracle that shares no graph code with it.

A set Z is an adjustment set for X -> Y in a DAG with hidden nodes exactly when, for generic linear-Gaussian
weights, the coefficient of X in the population regression of Y on (X, Z) is the total effect of X on Y. The PAG
criterion must accept Z exactly when that holds in every DAG of the class. The DAGs tried are, for every MAG of the
enumerated class, its canonical DAG (a hidden parent per bidirected edge) and that DAG with a hidden confounder added
to one directed edge, kept when its observed d-separations are still the class's; plus the generating DAG.
"""

from __future__ import annotations

from itertools import combinations, permutations

import networkx as nx
import numpy as np
import pytest

from latentscm.discovery import fci
from latentscm.discovery.pag import PartialAncestralGraph
from latentscm.effects import (
    NoAdjustmentSetError,
    NotAmenableError,
    estimate_effect,
    is_pag_adjustment_set,
    is_pag_amenable,
    pag_adjustment_set,
    pag_forbidden_nodes,
    visible_edges,
)
from latentscm.testing import DSeparationOracle
from latentscm.testing.oracles import (
    _mag_as_dag,
    _same_separations,
    _separations,
    instrumented_latent_dag,
    mag_class,
    random_latent_dag,
)


def oracle_pag(adjacency: np.ndarray, p: int) -> PartialAncestralGraph:
    graph = nx.DiGraph(adjacency)
    graph.add_nodes_from(range(adjacency.shape[0]))
    return fci(np.zeros((20, p)), ci_test=DSeparationOracle(graph), alpha=0.5, node_names=[f"v{i}" for i in range(p)])


def class_dags(adjacency: np.ndarray, p: int, pag: PartialAncestralGraph, max_members: int) -> list[np.ndarray] | None:
    """The DAGs of the module docstring (None when the class has more than ``max_members`` MAGs)."""
    from latentscm.testing.oracles import true_mag

    mag = true_mag(adjacency, p)
    members = mag_class(mag, pag.marks)
    if len(members) > max_members:
        return None
    target = _separations(_mag_as_dag(mag), p)
    dags = [adjacency]
    for member in members:
        canonical = _mag_as_dag(member)
        base = nx.to_numpy_array(canonical, nodelist=range(canonical.number_of_nodes()), dtype=np.int64)
        dags.append(base)
        n = base.shape[0]
        for a, b in zip(*np.nonzero(base[:p, :p])):
            variant = np.zeros((n + 1, n + 1), dtype=np.int64)
            variant[:n, :n] = base
            variant[n, a] = variant[n, b] = 1
            graph = nx.DiGraph(variant)
            graph.add_nodes_from(range(n + 1))
            if _same_separations(graph, p, target):
                dags.append(variant)
    return dags


def valid_by_regression(adjacency: np.ndarray, x: int, y: int, sets: list[tuple[int, ...]],
                        rng: np.random.Generator) -> dict[tuple[int, ...], bool]:
    """For random linear-Gaussian weights on the DAG: whether OLS of y on (x, Z) recovers the total effect."""
    n = adjacency.shape[0]
    weights = adjacency * rng.uniform(0.5, 1.5, adjacency.shape) * rng.choice([-1.0, 1.0], adjacency.shape)
    total_map = np.linalg.inv(np.eye(n) - weights.T)
    cov = total_map @ np.diag(rng.uniform(0.5, 1.5, n)) @ total_map.T
    total = total_map[y, x]
    out = {}
    for z in sets:
        s = [x, *z]
        beta = np.linalg.solve(cov[np.ix_(s, s)], cov[s, y])
        out[z] = bool(abs(beta[0] - total) < 1e-9 * max(1.0, abs(total)))
    return out


def oracle_answers(dags: list[np.ndarray], p: int, x: int, y: int, rng: np.random.Generator
                   ) -> dict[tuple[int, ...], bool]:
    """For every set Z of the other observed nodes: whether it is valid in every one of ``dags``."""
    others = [v for v in range(p) if v not in (x, y)]
    want = {z: True for r in range(len(others) + 1) for z in combinations(others, r)}
    for dag in dags:
        for z, ok in valid_by_regression(dag, x, y, list(want), rng).items():
            want[z] &= ok
    return want


def compare_with_regression_oracle(seeds, max_members: int = 60) -> dict[str, int]:
    counts = dict(graphs=0, sets=0, valid=0, identified_nonzero=0, mismatches=0)
    for seed in seeds:
        adjacency, p = instrumented_latent_dag(seed)
        pag = oracle_pag(adjacency, p)
        dags = class_dags(adjacency, p, pag, max_members)
        if dags is None:
            continue
        counts["graphs"] += 1
        rng = np.random.default_rng(seed)
        for x, y in permutations(range(p), 2):
            want = oracle_answers(dags, p, x, y, rng)
            names = [f"v{v}" for v in range(p)]
            reaches = bool(pag_forbidden_nodes(pag, names[x], names[y]))  # a possibly causal path exists
            any_valid = False
            for z, ok in want.items():
                got = is_pag_adjustment_set(pag, names[x], names[y], [names[v] for v in z])
                counts["sets"] += 1
                counts["valid"] += got
                counts["mismatches"] += got != ok
                any_valid |= got
            counts["identified_nonzero"] += reaches and any_valid
    return counts


#: Seeds of :func:`instrumented_latent_dag` whose classes have at most 60 MAGs and identify an effect of one node on
#: another along a possibly causal path (found by a scan of seeds 12-39; the others take minutes or add nothing new).
CLASS_SEEDS = (14, 16, 20, 21, 24, 25, 27, 29, 32)


def test_the_criterion_matches_the_regression_oracle_over_each_class():
    counts = compare_with_regression_oracle(CLASS_SEEDS)
    assert counts["mismatches"] == 0, counts
    # the check has content: several classes, both answers common, effects of node 0 identified
    assert counts["graphs"] == len(CLASS_SEEDS) and 0.1 < counts["valid"] / counts["sets"] < 0.9, counts
    assert counts["identified_nonzero"] >= 3, counts


def compare_mags_with_regression_oracle(seeds) -> dict[str, int]:
    """The same check for one MAG read as itself (marks without circles): the DAGs tried are the generating DAG, the
    MAG's canonical DAG and that DAG with a hidden confounder on one directed edge, kept when its MAG is still the
    MAG. An edge that a hidden confounder can share without changing the MAG is invisible."""
    from latentscm.testing.oracles import true_mag

    counts = dict(graphs=0, sets=0, valid=0, invisible=0, mismatches=0)
    for seed in seeds:
        adjacency, p = random_latent_dag(seed, observed=(4, 6), hidden=(1, 3))
        mag = true_mag(adjacency, p)
        names = [f"v{v}" for v in range(p)]
        graph = PartialAncestralGraph(tuple(names), mag)
        canonical = _mag_as_dag(mag)
        base = nx.to_numpy_array(canonical, nodelist=range(canonical.number_of_nodes()), dtype=np.int64)
        dags = [adjacency, base]
        n = base.shape[0]
        for a, b in zip(*np.nonzero(base[:p, :p])):
            variant = np.zeros((n + 1, n + 1), dtype=np.int64)
            variant[:n, :n] = base
            variant[n, a] = variant[n, b] = 1
            if np.array_equal(true_mag(variant, p), mag):
                dags.append(variant)
        counts["graphs"] += 1
        counts["invisible"] += int(np.sum((mag == 2) & (mag.T == 3))) - len(visible_edges(graph))
        rng = np.random.default_rng(seed)
        for x, y in permutations(range(p), 2):
            for z, ok in oracle_answers(dags, p, x, y, rng).items():
                got = is_pag_adjustment_set(graph, names[x], names[y], [names[v] for v in z])
                counts["sets"] += 1
                counts["valid"] += got
                counts["mismatches"] += got != ok
    return counts


def test_a_mag_read_as_itself_matches_the_regression_oracle():
    counts = compare_mags_with_regression_oracle(range(150))
    assert counts["mismatches"] == 0, counts
    assert counts["invisible"] >= 5 and 0.1 < counts["valid"] / counts["sets"] < 0.9, counts


def test_zhangs_mag_is_a_member_of_the_class():
    from latentscm.effects.pag_adjustment import _Pag
    from latentscm.testing.oracles import true_mag

    for seed in CLASS_SEEDS:
        adjacency, p = instrumented_latent_dag(seed)
        pag = oracle_pag(adjacency, p)
        members = mag_class(true_mag(adjacency, p), pag.marks)
        assert any(np.array_equal(_Pag(pag, "test").mag, m) for m in members), seed


def test_canonical_and_minimal_sets_exist_exactly_when_some_set_does():
    checked = 0
    for seed in CLASS_SEEDS:
        adjacency, p = instrumented_latent_dag(seed)
        pag = oracle_pag(adjacency, p)
        names = list(pag.nodes)
        for x, y in permutations(names, 2):
            others = [v for v in names if v not in (x, y)]
            some = any(is_pag_adjustment_set(pag, x, y, z) for r in range(len(others) + 1)
                       for z in combinations(others, r))
            if not is_pag_amenable(pag, x, y):
                with pytest.raises(NotAmenableError, match="does not identify"):
                    pag_adjustment_set(pag, x, y)
                continue
            if not some:
                with pytest.raises(NoAdjustmentSetError, match="no set of the PAG's nodes"):
                    pag_adjustment_set(pag, x, y)
                continue
            canonical = pag_adjustment_set(pag, x, y)
            minimal = pag_adjustment_set(pag, x, y, kind="minimal")
            assert is_pag_adjustment_set(pag, x, y, canonical) and is_pag_adjustment_set(pag, x, y, minimal)
            assert set(minimal) <= set(canonical)
            assert not any(is_pag_adjustment_set(pag, x, y, set(minimal) - {v}) for v in minimal)
            checked += 1
    assert checked >= 20


# A -> X <- B, X -> Y <- C, and a hidden H -> B, H -> C: X -> Y is visible (A has an edge into X and is not
# adjacent to Y), the back-door path X <- B - C -> Y needs B or C.
CONFOUNDED = PartialAncestralGraph.from_edges(["A", "B", "C", "X", "Y"],
                                              ["A o-> X", "B o-> X", "X --> Y", "C --> Y", "B o-o C"])


def confounded_data(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    h = rng.normal(size=n)
    a = rng.normal(size=n)
    b = h + rng.normal(size=n)
    c = h + rng.normal(size=n)
    x = a + b + rng.normal(size=n)
    y = 1.5 * x + 2.0 * c + rng.normal(size=n)
    return {"A": a, "B": b, "C": c, "X": x, "Y": y}


def test_a_hand_checked_pag():
    assert visible_edges(CONFOUNDED) == [("X", "Y")]
    assert is_pag_amenable(CONFOUNDED, "X", "Y") and not is_pag_amenable(CONFOUNDED, "B", "Y")
    assert pag_forbidden_nodes(CONFOUNDED, "X", "Y") == ("Y",)
    assert pag_adjustment_set(CONFOUNDED, "X", "Y") == ("A", "B", "C")
    assert len(pag_adjustment_set(CONFOUNDED, "X", "Y", kind="minimal")) == 1
    assert is_pag_adjustment_set(CONFOUNDED, "X", "Y", ["B"]) and is_pag_adjustment_set(CONFOUNDED, "X", "Y", "C")
    assert not is_pag_adjustment_set(CONFOUNDED, "X", "Y", []) and not is_pag_adjustment_set(
        CONFOUNDED, "X", "Y", ["A"])
    # an instrument with a confounded treatment: A o-o X o-o Y o-o A, nothing is identified
    iv = PartialAncestralGraph.from_edges(["A", "X", "Y"], ["A o-o X", "X o-o Y", "A o-o Y"])
    assert not is_pag_amenable(iv, "X", "Y")
    # the same read as one MAG: every directed edge is invisible (a hidden X <-> Y keeps the MAG)
    iv_mag = PartialAncestralGraph.from_edges(["A", "X", "Y"], ["A --> X", "X --> Y", "A --> Y"])
    assert visible_edges(iv_mag) == [] and not is_pag_amenable(iv_mag, "X", "Y")


def test_fci_then_estimate_recovers_the_effect_a_naive_fit_misses():
    data = confounded_data(20000, seed=3)
    names = list(data)
    pag = fci(np.column_stack([data[v] for v in names]), node_names=names, alpha=0.01)
    assert sorted(pag.edges()) == sorted(CONFOUNDED.edges())
    result = estimate_effect(data, pag, "X", "Y", method="regression")
    assert result.adjustment_set == ("A", "B", "C") and result.info["adjustment"] == "canonical"
    assert result.ci_low < 1.5 < result.ci_high
    naive = np.polyfit(data["X"], data["Y"], 1)[0]
    assert abs(naive - 1.5) > 20 * result.std_error
    given = estimate_effect(data, pag, "X", "Y", method="dml", adjustment=["C"])
    assert given.ci_low < 1.5 < given.ci_high and given.info["adjustment"] == "given"


def test_refutations_take_a_pag():
    from latentscm.effects import refute_effect

    report = refute_effect(confounded_data(3000, seed=1), CONFOUNDED, "X", "Y", method="regression",
                           n_simulations=4, seed=0)
    assert report.original.adjustment_set == ("A", "B", "C")
    assert {c.name: c.passed for c in report.checks} == {"placebo": True, "random_common_cause": True,
                                                         "subset": True}


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: pag_adjustment_set(nx.DiGraph(), "X", "Y"), TypeError, "must be a PartialAncestralGraph"),
    (lambda: pag_adjustment_set(CONFOUNDED, "X", "Q"), ValueError, "Q"),
    (lambda: pag_adjustment_set(CONFOUNDED, "X", "X"), ValueError, "both 'X'"),
    (lambda: pag_adjustment_set(CONFOUNDED, "X", "Y", kind="optimal"), ValueError, "kind"),
    (lambda: is_pag_adjustment_set(CONFOUNDED, "X", "Y", 3), TypeError, "covariates"),
    (lambda: is_pag_amenable(PartialAncestralGraph.from_edges(["a", "b", "c"], ["a --- b", "b o-> c"]), "a", "c"),
     ValueError, "selection bias"),
    (lambda: estimate_effect(confounded_data(200, 0), CONFOUNDED, "X", "Y", adjustment="optimal"), ValueError,
     "defined for a DAG or CPDAG"),
    (lambda: estimate_effect(confounded_data(200, 0), CONFOUNDED, "X", "Y", adjustment=["A"]), ValueError,
     "not an adjustment set"),
    (lambda: estimate_effect(confounded_data(200, 0), CONFOUNDED, "B", "Y"), NotAmenableError, "through"),
    (lambda: estimate_effect({k: v for k, v in confounded_data(200, 0).items() if k != "A"}, CONFOUNDED, "X", "Y"),
     ValueError, "lacks the PAG's nodes"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
