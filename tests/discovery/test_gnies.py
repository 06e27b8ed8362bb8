"""GnIES (unknown intervention targets): the score, the search, the CLI, and the reference package."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery.gies import interventional_essential_graph
from latentscm.discovery.gnies import UnknownTargetGaussianBIC, gnies
from latentscm.discovery.scores import GaussianBIC


def _environments(seed: int, d: int = 6, n: int = 600, n_env: int = 3, per_env: int = 1, edge_prob: float = 0.4):
    """A linear-Gaussian SCM seen in n_env environments; environment e > 0 multiplies the noise variance of
    ``per_env`` random nodes by 3-6 (the targets, which GnIES is not told). Returns the DAG, data, labels, targets."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(d)
    weights = np.zeros((d, d))
    for i in range(d):
        for j in range(i + 1, d):
            if rng.random() < edge_prob:
                weights[order[i], order[j]] = rng.uniform(0.5, 1.5) * rng.choice([-1, 1])
    blocks, targets = [], set()
    for e in range(n_env):
        hit = set() if e == 0 else {int(v) for v in rng.choice(d, size=per_env, replace=False)}
        targets |= hit
        sd = np.array([np.sqrt(rng.uniform(3, 6)) if v in hit else 1.0 for v in range(d)])
        x = np.zeros((n, d))
        for v in order:
            x[:, v] = x @ weights[:, v] + rng.normal(0.0, sd[v], n)
        blocks.append(x)
    return (weights != 0).astype(np.int64), np.vstack(blocks), np.repeat(np.arange(n_env), n), targets


def test_score_without_targets_is_the_bic_of_environment_centred_data():
    _, data, labels, _ = _environments(0)
    centred = data - np.stack([data[labels == e].mean(axis=0) for e in range(3)])[labels]
    plain, score = GaussianBIC(centred), UnknownTargetGaussianBIC(data, labels)
    for node, parents in ((0, ()), (1, (0, 2)), (5, (1, 3, 4))):
        assert score.local(node, parents) == pytest.approx(plain.local(node, parents), rel=1e-10)


def test_a_target_gets_a_variance_per_environment_at_the_likelihood_maximum():
    _, data, labels, _ = _environments(1)
    score = UnknownTargetGaussianBIC(data, labels, targets=[3], penalty_discount=1.0)
    weights, omegas = score.variances(3, [0, 1])
    assert omegas.shape == (3,)

    def log_likelihood(w: np.ndarray) -> float:  # the profile likelihood at these weights
        total = 0.0
        for e in range(3):
            rows = data[labels == e]
            residual = rows[:, 3] - rows[:, [0, 1]] @ w
            residual = residual - residual.mean()
            total += -0.5 * len(rows) * (1 + np.log(np.mean(residual ** 2)))
        return total

    best = log_likelihood(weights)
    rng = np.random.default_rng(0)
    assert all(log_likelihood(weights + rng.normal(0, 0.02, 2)) < best for _ in range(20))
    penalty = 0.5 * np.log(len(data)) * (2 + 3)
    assert score.local(3, [0, 1]) == pytest.approx(best - penalty, rel=1e-9)
    score.set_targets([])  # leaving I drops the cached value: one variance again
    assert score.local(3, [0, 1]) != pytest.approx(best - penalty, rel=1e-6)


@pytest.mark.parametrize("approach", ["greedy", "rank"])
def test_gnies_finds_the_targets_and_the_class(approach):
    found_targets = recovered = 0
    for seed in range(6):
        dag, data, labels, targets = _environments(seed, n=1500)
        result = gnies(data, labels, approach=approach)
        estimate = {int(name[1:]) for name in result.info["targets"]}
        found_targets += estimate == targets
        recovered += np.array_equal(result.adjacency,
                                    interventional_essential_graph(dag, [(v,) for v in targets]))
    assert found_targets >= 5 and recovered >= 4


def test_known_targets_labels_and_info():
    _, data, labels, targets = _environments(4, n=800)
    names = [f"v{k}" for k in range(6)]
    text_labels = np.array(["lab", "field", "site"])[labels]
    known = sorted(targets)[0]
    result = gnies(data, text_labels, node_names=names, known_targets=[names[known]])
    assert result.info["environments"] == ["field", "lab", "site"]
    assert result.info["environment_sizes"] == [800, 800, 800]
    assert result.info["targets"] == [names[v] for v in sorted(targets)] and len(targets) == 2
    assert result.info["known_targets"] == [names[known]]
    assert result.info["n_inner_searches"] >= 1 + 5 + 4  # the start, then each addition tried, twice


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"environments": np.zeros(100)}, ValueError, "must hold one label per data row"),
    ({"environments": np.zeros(1800)}, ValueError, "holds a single environment"),
    ({"approach": "exact"}, ValueError, "'approach'"),
    ({"known_targets": ["nope"]}, ValueError, "'known_targets' argument of gnies names 'nope', which is not a node"),
    ({"known_targets": [9]}, ValueError, "'known_targets' argument of gnies has 9; a node is a name or a position"),
    ({"turning": 1}, TypeError, "'turning' argument of gnies"),
])
def test_gnies_errors(kwargs, error, match):
    _, data, labels, _ = _environments(0)
    arguments = {"environments": labels, **kwargs}
    with pytest.raises(error, match=match):
        gnies(data, **arguments)


def test_small_or_constant_environments_are_refused():
    _, data, labels, _ = _environments(0, n=600)
    few = labels.copy()
    few[:3] = 9
    with pytest.raises(ValueError, match="environment 9 3 rows"):
        gnies(data, few)
    flat = data.copy()
    flat[labels == 1, 2] = 0.5
    with pytest.raises(ValueError, match="'X2' constant in environment 1"):
        gnies(flat, labels)


def test_gnies_from_the_command_line_with_text_environments(tmp_path):
    dag, data, labels, targets = _environments(3, d=5, n=1500)
    names = [f"v{k}" for k in range(5)]
    lines = [",".join([*names, "env"])]
    lines += [",".join([*(f"{v:.6f}" for v in row), f"site{e}"]) for row, e in zip(data, labels)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "graph.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "gnies", "--environment",
                                      "env", "--out", str(out)])
    assert result.exit_code == 0, result.output
    graph = json.loads(out.read_text())
    expected = gnies(np.round(data, 6), labels, node_names=names)
    assert graph["adjacency"] == expected.adjacency.tolist()
    assert graph["info"]["targets"] == expected.info["targets"]
    missing = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "gnies",
                                       "--out", str(out)])
    assert missing.exit_code == 2 and "--method gnies needs --environment" in missing.output


def test_matches_the_gnies_package_where_installed():
    reference = pytest.importorskip("gnies", reason="the reference GnIES package (pip install gnies) is not installed")
    for seed in range(4):
        _, data, labels, _ = _environments(10 + seed, d=5, n=500)
        environments = [data[labels == e] for e in range(3)]
        for approach in ("greedy", "rank"):
            score, expected, targets = reference.fit(environments, approach=approach)
            result = gnies(data, labels, approach=approach)
            np.testing.assert_array_equal(result.adjacency, (expected != 0).astype(int))
            assert sorted(int(name[1:]) for name in result.info["targets"]) == sorted(targets)
            assert result.info["score_value"] == pytest.approx(score, rel=1e-6)


def _shifted(seed: int, d: int = 6, n_env: int = 4, n: int = 800, shift: float = 3.0):
    """Environment e > 0 shifts one random node's noise mean by ``shift`` (its variance and weights unchanged)."""
    rng = np.random.default_rng(seed)
    dag = np.zeros((d, d), dtype=np.int64)
    order = rng.permutation(d)
    weights = np.zeros((d, d))
    for i in range(d):
        for j in range(i + 1, d):
            if rng.random() < 0.4:
                weights[order[i], order[j]] = rng.uniform(0.5, 1.5) * rng.choice([-1, 1])
    dag[weights != 0] = 1
    blocks, targets = [], set()
    for e in range(n_env):
        hit = set() if e == 0 else {int(rng.integers(d))}
        targets |= hit
        x = np.zeros((n, d))
        for v in order:
            x[:, v] = x @ weights[:, v] + rng.normal(shift if v in hit else 0.0, 1.0, n)
        blocks.append(x)
    return dag, np.vstack(blocks), np.repeat(np.arange(n_env), n), targets


def test_center_false_sees_mean_shift_interventions():
    found = {True: 0, False: 0}
    for seed in range(6):
        _, data, labels, targets = _shifted(seed)
        for center in (True, False):
            result = gnies(data, labels, center=center)
            found[center] += {int(name[1:]) for name in result.info["targets"]} == targets
            assert result.info["center"] is center
    assert found[False] >= 5 and found[True] <= 1  # 6 and 0 when written: centring removes the shifts


def test_center_false_score_fits_one_intercept_for_a_non_target():
    _, data, labels, _ = _shifted(1)
    score = UnknownTargetGaussianBIC(data, labels, targets=[], center=False)
    x, y = data[:, [0, 2]], data[:, 1]
    design = np.column_stack([np.ones(len(y)), x])
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    expected = -0.5 * len(y) * (1 + np.log(np.mean(residual ** 2))) - 0.5 * np.log(len(y)) * (2 + 1 + 1)
    assert score.local(1, [0, 2]) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(TypeError, match="'center' argument of gnies"):
        gnies(data, labels, center="no")
