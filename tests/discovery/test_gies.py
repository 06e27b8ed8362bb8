"""GIES: I-essential graphs against brute-force enumeration, the interventional BIC, the search, and its errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_oracle_discovery import _random_dag as _oracle_random_dag

from latentscm.discovery.ges import _topological_order, cpdag_from_dag, ges
from latentscm.discovery.gies import gies, intervention_targets, interventional_essential_graph, target_family
from latentscm.discovery.scores import GaussianBIC, InterventionalGaussianBIC
from latentscm.interventions import Do
from latentscm.metrics.graphs import _is_acyclic
from latentscm.scm.random import random_scm


# ----------------------------------------------------------------------------------- brute force
def _class_key(a: np.ndarray, family: list[tuple[int, ...]]) -> tuple:
    """Skeleton and v-structures of every mutilated graph (edges into I removed): Hauser & Bühlmann's Theorem 10."""
    key = []
    for target in family:
        m = a.copy()
        m[:, list(target)] = 0
        skeleton = frozenset(zip(*np.nonzero(m | m.T)))
        colliders = frozenset((min(i, j), c, max(i, j)) for c in range(len(m))
                              for i, j in itertools.combinations(np.flatnonzero(m[:, c]), 2)
                              if not (m[i, j] or m[j, i]))
        key.append((skeleton, colliders))
    return tuple(key)


def _members(dag: np.ndarray, family: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Every DAG interventionally Markov equivalent to ``dag`` (orientations of its skeleton, checked one by one)."""
    edges = list(zip(*np.nonzero(dag)))
    key = _class_key(dag, family)
    found = []
    for flips in itertools.product((0, 1), repeat=len(edges)):
        b = np.zeros_like(dag)
        for (i, j), flip in zip(edges, flips):
            b[(j, i) if flip else (i, j)] = 1
        if _is_acyclic(b.copy()) and _class_key(b, family) == key:
            found.append(b)
    return found


def _random_dag(rng: np.random.Generator, d: int, p: float) -> np.ndarray:
    return _oracle_random_dag(d, p, rng)


def test_essential_graph_is_the_union_of_the_brute_force_class():
    rng = np.random.default_rng(7)
    oriented_by_targets = 0
    for _ in range(150):
        d = int(rng.integers(3, 6))
        dag = _random_dag(rng, d, 0.6)
        targets = [tuple(sorted(int(v) for v in rng.choice(d, size=int(rng.integers(1, 3)), replace=False)))
                   for _ in range(int(rng.integers(0, 3)))]
        union = np.zeros_like(dag)
        for member in _members(dag, [(), *targets]):
            union |= member
        got = interventional_essential_graph(dag, targets)
        np.testing.assert_array_equal(got, union)
        oriented_by_targets += int((got != cpdag_from_dag(dag)).any())
    assert oriented_by_targets > 30  # the interventions mattered in many of the graphs


def test_no_targets_gives_the_cpdag():
    rng = np.random.default_rng(1)
    for _ in range(20):
        dag = _random_dag(rng, 6, 0.5)
        np.testing.assert_array_equal(interventional_essential_graph(dag), cpdag_from_dag(dag))
        np.testing.assert_array_equal(interventional_essential_graph(dag, [()]), cpdag_from_dag(dag))


def test_one_target_on_a_chain_orients_it_all():
    chain = np.zeros((4, 4), dtype=np.int64)
    chain[0, 1] = chain[1, 2] = chain[2, 3] = 1
    assert (cpdag_from_dag(chain) == cpdag_from_dag(chain).T).all()  # observationally nothing is oriented
    np.testing.assert_array_equal(interventional_essential_graph(chain, [(1,)]), chain)  # 0 -> 1 cut, R1 the rest


# --------------------------------------------------------------------------------------- data
def _interventional(seed: int, d: int = 5, n: int = 400, targets=((),), edge_prob: float = 0.5, shift: float = 0.0):
    """Rows of a random linear-Gaussian SCM: one block per target set, each target replaced by N(shift, 1)."""
    scm = random_scm(d, edge_prob=edge_prob, mechanism="linear", seed=seed)
    rng = np.random.default_rng(seed + 1000)
    blocks, masks = [], []
    for k, target in enumerate(targets):
        model = scm.do({scm.nodes[v]: Do(rng.normal(shift, 1.0, n)) for v in target}) if target else scm
        values = model.sample(n, seed=seed * 100 + k)
        blocks.append(np.column_stack([values[name] for name in scm.nodes]))
        mask = np.zeros((n, d), dtype=bool)
        mask[:, list(target)] = True
        masks.append(mask)
    return scm, np.vstack(blocks), np.vstack(masks)


# ------------------------------------------------------------------------------------ the score
def test_interventional_bic_without_targets_is_the_bic():
    _, data, mask = _interventional(0)
    plain, interventional = GaussianBIC(data), InterventionalGaussianBIC(data, mask)
    for node, parents in ((0, ()), (1, (0,)), (3, (0, 2, 4)), (4, (1, 2))):
        assert interventional.local(node, parents) == pytest.approx(plain.local(node, parents), rel=1e-12)


def test_interventional_bic_fits_each_node_on_the_rows_that_leave_it_alone():
    _, data, mask = _interventional(3, targets=((), (1,), (2, 4)))
    score = InterventionalGaussianBIC(data, mask, penalty_discount=2.0)
    for node, parents in ((1, (0,)), (2, (0, 3)), (4, ()), (3, (1, 2))):
        rows = ~mask[:, node]
        x, y = data[rows][:, list(parents)], data[rows, node]
        design = np.column_stack([np.ones(rows.sum()), x])
        residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
        expected = (-0.5 * rows.sum() * (1 + np.log(np.mean(residual ** 2)))
                    - 2.0 / 2 * (len(parents) + 1) * np.log(len(data)))
        assert score.local(node, parents) == pytest.approx(expected, rel=1e-9)
    assert score.node_samples.tolist() == [1200, 800, 800, 1200, 800]


def test_interventional_bic_is_equal_across_an_interventional_class():
    """I-score-equivalence (Hauser & Bühlmann 2012, §4.1): every member of the class scores the same."""
    targets = ((), (0,), (3,))
    scm, data, mask = _interventional(11, d=5, targets=targets, edge_prob=0.7)
    dag = np.asarray(scm.graph.adjacency)
    members = _members(dag, list(targets))
    assert len(members) > 1
    for environment_means in (False, True):
        score = InterventionalGaussianBIC(data, mask, environment_means=environment_means)
        values = [score.dag_score(m) for m in members]
        assert max(values) - min(values) < 1e-8 * abs(values[0])
    # a DAG of the observational class outside the interventional one scores differently
    outside = [m for m in _members(dag, [()]) if not any((m == k).all() for k in members)]
    assert outside
    score = InterventionalGaussianBIC(data, mask)
    assert all(abs(score.dag_score(m) - score.dag_score(dag)) > 1e-6 for m in outside)


def test_interventional_bic_rejects_bad_targets():
    _, data, mask = _interventional(0)
    with pytest.raises(ValueError, match="'targets'.*bool array of the data's shape"):
        InterventionalGaussianBIC(data, mask[:, :3])
    everywhere = mask.copy()
    everywhere[:, 2] = True
    with pytest.raises(ValueError, match="intervenes on node 2 in all but 0"):
        InterventionalGaussianBIC(data, everywhere)


# ----------------------------------------------------------------------------------- the search
def test_an_intervention_orients_what_observational_data_cannot():
    rng = np.random.default_rng(0)
    n = 600
    x = rng.normal(size=2 * n)
    x[n:] = rng.normal(size=n)  # do(X) in the second half: still N(0, 1), but cut from nothing (X is a root)
    y = 0.9 * x + rng.normal(size=2 * n)
    y_only = y.copy()
    y_only[n:] = rng.normal(size=n)  # do(Y) in the second half
    observational = ges(np.column_stack([x, y])[:n]).adjacency
    assert observational.tolist() == [[0, 1], [1, 0]]  # X - Y
    for column, values in ((0, y), (1, y_only)):
        mask = np.zeros((2 * n, 2), dtype=bool)
        mask[n:, column] = True
        result = gies(np.column_stack([x, values]), mask, node_names=["X", "Y"])
        assert result.adjacency.tolist() == [[0, 1], [0, 0]]  # X -> Y
        assert result.info["targets"] == [[], [["X", "Y"][column]]]
        assert result.info["environment_sizes"] == [n, n]


def test_gies_recovers_the_true_interventional_class():
    recovered, cpdag_only, at_least_truth = 0, 0, 0
    for seed in range(12):
        targets = ((), (1,), (3,))
        scm, data, mask = _interventional(seed, d=6, n=1500, targets=targets, edge_prob=0.5)
        dag = np.asarray(scm.graph.adjacency)
        truth = interventional_essential_graph(dag, targets)
        result = gies(data, mask)
        recovered += int(np.array_equal(result.adjacency, truth))
        cpdag_only += int(not np.array_equal(truth, cpdag_from_dag(dag)))
        truth_score = InterventionalGaussianBIC(data, mask).dag_score(dag)
        at_least_truth += int(result.info["score_value"] >= truth_score - 1e-9 * abs(truth_score))
    assert cpdag_only >= 6  # the targets orient more than the CPDAG in half of these graphs
    # 11 of 12 at the time of writing: on seed 8 the greedy search stops at a local optimum below the truth's score
    # (the reference ``gies`` package stops at the same graph there, with environment_means=True)
    assert recovered >= 10 and at_least_truth >= 10


def test_gies_without_interventions_is_ges_and_counts_its_steps():
    _, data, mask = _interventional(5, d=6, n=800)
    plain = ges(data)
    result = gies(data, mask, turning=False, iterate=False)
    np.testing.assert_array_equal(result.adjacency, plain.adjacency)
    assert result.info["score_value"] == pytest.approx(plain.info["score_value"], rel=1e-12)
    assert result.info["n_inserts"] == plain.info["n_inserts"] and result.info["targets"] == [[]]
    turned = gies(data, mask)
    assert turned.info["score_value"] >= result.info["score_value"] - 1e-9 and turned.info["n_rounds"] >= 1


def test_target_sets_by_name_and_position_match_the_mask():
    _, data, mask = _interventional(2, d=4, n=50, targets=((), (1,), (0, 3)))
    names = ["a", "b", "c", "d"]
    as_sets = [[names[v] for v in np.flatnonzero(row)] for row in mask]
    np.testing.assert_array_equal(intervention_targets(as_sets, len(data), names, "gies"), mask)
    positions = [list(np.flatnonzero(row)) for row in mask]
    np.testing.assert_array_equal(intervention_targets(positions, len(data), names, "gies"), mask)
    assert target_family(mask) == [(), (1,), (0, 3)]
    by_name = gies(data, as_sets, node_names=names)
    np.testing.assert_array_equal(by_name.adjacency, gies(data, mask.astype(int)).adjacency)


@pytest.mark.parametrize(("targets", "error", "match"), [
    (np.zeros((10, 3), dtype=bool), ValueError, r"'targets'.*\(n, d\) = \(300, 4\)"),
    ([[]] * 10, ValueError, "has 10 entries for 300 data rows"),
    ("X0", TypeError, "'targets'.*bool array"),
    ([["nope"]] + [[]] * 299, ValueError, "names 'nope' in row 0"),
    ([[7]] + [[]] * 299, ValueError, "has 7 in row 0"),
    (np.full((300, 4), 2), ValueError, "True/False"),
])
def test_bad_targets_get_clear_errors(targets, error, match):
    _, data, _ = _interventional(0, d=4, n=300)
    with pytest.raises(error, match=match):
        gies(data, targets)


def test_non_conservative_family_and_constant_columns_are_refused():
    _, data, mask = _interventional(0, d=4, n=300, targets=((), (2,)))
    always = mask.copy()
    always[:, 1] = True
    with pytest.raises(ValueError, match="leaves variable 'X1' alone in 0 of 600 rows"):
        gies(data, always)
    constant = data.copy()
    constant[~mask[:, 0], 0] = 1.0
    with pytest.raises(ValueError, match="'X0' constant on the 600 rows"):
        gies(constant, mask)
    with pytest.raises(TypeError, match="'turning' argument of gies"):
        gies(data, mask, turning="yes")
    with pytest.raises(ValueError, match="'max_parents' argument of gies"):
        gies(data, mask, max_parents=-1)


def test_matches_the_gies_package_where_installed():
    reference = pytest.importorskip("gies", reason="the reference GIES package (pip install gies) is not installed")
    for seed in range(6):
        targets = ((), (0,), (2,))
        _, data, mask = _interventional(20 + seed, d=6, n=300, targets=targets, edge_prob=0.5)
        environments = [data[(mask == np.isin(np.arange(6), t)).all(axis=1)] for t in targets]
        expected, expected_score = reference.fit_bic(environments, [list(t) for t in targets])
        result = gies(data, mask, environment_means=True)
        np.testing.assert_array_equal(result.adjacency, (expected != 0).astype(int))
        assert result.info["score_value"] == pytest.approx(expected_score, rel=1e-9)


def test_gies_on_a_world_batch_with_single_node_regimes():
    """The library-native path: a world's regimes give ``Batch.targets``; GIES reads them with the factors."""
    from latentscm.worlds.ild_linear import ILDLinear
    from latentscm.worlds.regimes import single_node_regimes

    for seed in (0, 2, 4):
        world = ILDLinear(latent_dim=6, n_domains=2, int_set=(0,), seed=seed)
        regimes = single_node_regimes(world, source="marginal", factors=[world.factor_names[1], world.factor_names[3]])
        batch = world.sample(20000, seed=seed, regime=regimes, domain=0)
        result = gies(batch.factors, batch.targets, node_names=list(world.factor_names))
        dag = np.asarray(world.graph.adjacency)
        assert result.info["targets"] == [[], [world.factor_names[1]], [world.factor_names[3]]]
        np.testing.assert_array_equal(result.adjacency, interventional_essential_graph(dag, [(1,), (3,)]))
        assert not np.array_equal(result.adjacency, cpdag_from_dag(dag))  # the regimes oriented more than the CPDAG


def test_gies_on_codes_maps_factor_targets_to_latents_by_name():
    from latentscm.discovery.codes import discover_from_codes
    from latentscm.worlds.ild_linear import ILDLinear
    from latentscm.worlds.regimes import single_node_regimes

    world = ILDLinear(latent_dim=5, n_domains=2, int_set=(0,), seed=3)
    factors = list(world.factor_names)
    batch = world.sample(6000, seed=1, regime=single_node_regimes(world, factors=[factors[2]]), domain=0)
    direct = gies(batch.factors, batch.targets, node_names=factors)
    # a learner's codes with the latents in another order, named after the factors
    order = [4, 2, 0, 3, 1]
    codes = batch.factors[:, order]
    names = [factors[k] for k in order]
    found = discover_from_codes(codes, names, method="gies", targets=batch.targets, target_names=factors,
                                max_samples=6000)
    assert sorted(found.directed_edges) == sorted(direct.directed_edges)
    assert found.info["targets"] == [[], [factors[2]]]
    sub = discover_from_codes(codes, names, method="gies", targets=batch.targets[:, :], target_names=factors,
                              max_samples=3000, seed=5)
    assert sub.info["n_samples"] == 3000 and sum(sub.info["environment_sizes"]) == 3000
    with pytest.raises(ValueError, match="'targets' parameter of discover_from_codes is for method='gies'"):
        discover_from_codes(codes, names, method="pc", targets=batch.targets)
    with pytest.raises(ValueError, match="method='gies' with targets missing"):
        discover_from_codes(codes, names, method="gies")
    with pytest.raises(ValueError, match=f"intervene on {factors[2]!r}, which no latent is named after"):
        discover_from_codes(codes, ["a", "b", "c", "d", "e"], method="gies", targets=batch.targets,
                            target_names=factors)
    with pytest.raises(ValueError, match=r"must be a bool array \(N, K\) = \(6000, 5\)"):
        discover_from_codes(codes, names, method="gies", targets=batch.targets[:, :3])


def test_soft_interventional_score_is_equal_across_each_class():
    """interventions='soft' (a target's own mechanism per intervening environment): I-score equivalence on enumerated
    classes with multi-node target sets."""
    rng = np.random.default_rng(0)
    checked = 0
    for seed in range(30):
        targets = [()] + [tuple(sorted(rng.choice(5, size=int(rng.integers(1, 4)), replace=False).tolist()))
                          for _ in range(int(rng.integers(1, 3)))]
        scm, data, mask = _interventional(seed, d=5, n=300, targets=tuple(targets), edge_prob=0.7)
        members = _members(np.asarray(scm.graph.adjacency), targets)
        if len(members) < 2:
            continue
        score = InterventionalGaussianBIC(data, mask, soft=True)
        values = [score.dag_score(m) for m in members]
        assert max(values) - min(values) < 1e-8 * abs(values[0])
        checked += 1
    assert checked >= 15


def _noise_interventions(seed: int, d: int = 10, n: int = 2000, experiments: int = 3):
    """Observational rows, then single-node experiments that keep the target's parents and make its noise sd 2."""
    rng = np.random.default_rng(seed)
    dag = _random_dag(rng, d, 2 / (d - 1))
    weights = dag * rng.uniform(0.5, 1.5, (d, d)) * rng.choice([-1.0, 1.0], (d, d))
    order = _topological_order(dag)
    family, blocks, masks = [], [], []
    for e in range(experiments + 1):
        target = () if e == 0 else (int(rng.integers(d)),)
        x = np.zeros((n, d))
        for v in order:
            x[:, v] = x @ weights[:, v] + rng.normal(0.0, 2.0 if v in target else 1.0, n)
        mask = np.zeros((n, d), dtype=bool)
        mask[:, list(target)] = True
        blocks.append(x)
        masks.append(mask)
        family.append(target)
    return dag, np.vstack(blocks), np.vstack(masks), [t for t in family if t]


def test_soft_score_recovers_noise_interventions_the_perfect_one_misreads():
    soft = perfect = 0
    for seed in range(20):
        dag, data, mask, family = _noise_interventions(seed)
        truth = interventional_essential_graph(dag, family)
        soft += np.array_equal(gies(data, mask, interventions="soft").adjacency, truth)
        perfect += np.array_equal(gies(data, mask).adjacency, truth)
    assert soft >= 16 and soft >= perfect + 2  # 17 and 14 of 20 when written


def test_soft_needs_rows_in_every_interventional_environment():
    _, data, mask = _interventional(0, d=4, n=300, targets=((), (2,)))
    few = mask.copy()
    few[:] = False
    few[:3, 1] = True
    with pytest.raises(ValueError, match=r"target set \['X1'\] 3 rows; with interventions='soft'"):
        gies(data, few, interventions="soft")
    with pytest.raises(ValueError, match="'interventions'"):
        gies(data, mask, interventions="hard")
    assert gies(data, mask, interventions="soft").info["interventions"] == "soft"
