"""``latentscm discover --method llc --targets COLUMN``: a linear cyclic model with latent confounders from a CSV
of experiments, and from a world's exact factors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.discovery.linear_cyclic_model import LinearCyclicModel
from latentscm.discovery.llc import llc

NAMES = ("a", "b", "c", "d")


def _truth() -> LinearCyclicModel:
    """a -> b, b -> c -> b (a 2-cycle), c -> d; a <-> d confounded."""
    b = np.zeros((4, 4))
    b[0, 1], b[1, 2], b[2, 1], b[2, 3] = 0.9, 0.6, -0.5, 0.8
    sigma = np.eye(4)
    sigma[0, 3] = sigma[3, 0] = 0.6
    return LinearCyclicModel(NAMES, b, sigma)


def _write(path, n: int = 1500):
    truth = _truth()
    lines = [",".join([*NAMES, "intervened"])]
    data, targets = [], []
    for k, target in enumerate([[], ["a"], ["b"], ["c"], ["d"]]):
        rows = truth.sample(n, target, intervention_variance=2.0, seed=k)
        data.append(rows)
        targets += [target] * n
        lines += [",".join([*(f"{v:.6f}" for v in row), ";".join(target)]) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return np.round(np.vstack(data), 6), targets


def test_llc_from_a_csv_finds_the_cycle_and_the_confounder(tmp_path):
    data, targets = _write(tmp_path / "data.csv")
    out, png = tmp_path / "model.json", tmp_path / "model.png"
    # 18 tests together at family-wise level 0.01 (the default Bonferroni correction); each at 0.01 alone, this
    # draw has one false edge, a -> d at p = 0.007 (the estimates are unbiased here: 20 draws average within 0.006
    # of the truth)
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "llc", "--targets",
                                      "intervened", "--param", "n_bootstrap=50", "--out", str(out), "--png",
                                      str(png)])
    assert result.exit_code == 0, result.output
    assert "4 directed and 1 bidirected edges of a linear cyclic model" in result.output
    model = json.loads(out.read_text())
    assert sorted(model["edges"]) == ["a --> b", "a <-> d", "b --> c", "c --> b", "c --> d"]
    assert model["info"]["alpha"] == 0.01 and model["info"]["n_bootstrap"] == 50 and model["info"]["seed"] == 0
    assert model["info"]["correction"] == "bonferroni"
    expected = llc(data, targets, node_names=NAMES, n_bootstrap=50)
    per_test = llc(data, targets, node_names=NAMES, n_bootstrap=50, correction="none")
    assert "a --> d" in per_test.edges() and "a --> d" not in expected.edges()
    np.testing.assert_allclose(model["direct_effects"], expected.direct_effects, atol=1e-12)
    assert LinearCyclicModel.from_dict(model) == expected
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_alpha_flag_sets_the_edge_test_level(tmp_path):
    _write(tmp_path / "data.csv", n=300)
    out = tmp_path / "model.json"
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "llc", "--targets",
                                      "intervened", "--alpha", "0.2", "--param", "n_bootstrap=10", "--param",
                                      "min_effect=0.05", "--out", str(out)])
    assert result.exit_code == 0, result.output
    info = json.loads(out.read_text())["info"]
    assert info["alpha"] == 0.2 and info["min_effect"] == 0.05
    default = tmp_path / "default.json"
    assert CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "llc", "--targets",
                                    "intervened", "--param", "n_bootstrap=0", "--out", str(default)]).exit_code == 0
    assert json.loads(default.read_text())["info"]["alpha"] == 0.01  # llc's own default, not the CI tests' 0.05


@pytest.mark.parametrize(("extra", "message"), [
    ([], "--method llc needs --targets"),
    (["--targets", "intervened", "--ci", "kci"], "not by a CI test"),
    (["--targets", "intervened", "--suggest"], "returns a linear cyclic model"),
    (["--targets", "intervened", "--param", "alpha=0.1"], "--param alpha is set by --alpha"),
    (["--targets", "intervened", "--param", "n_bootstrap=1"], "'n_bootstrap' parameter of llc must be 0"),
    (["--targets", "intervened", "--param", "nope=1"], "nope"),
])
def test_llc_cli_errors(tmp_path, extra, message):
    _write(tmp_path / "data.csv", n=50)
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "llc", *extra,
                                      "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "m.json").exists()


def test_worlds_factors_then_llc_recovers_the_world_graph_without_confounders(tmp_path):
    """Two commands: a world's exact factors under randomised single-node interventions on every factor (values
    from each factor's marginal, so that descendants stay inside the ranges the world clips to), then LLC: the
    world's DAG, no cycle and no latent confounder."""
    from latentscm.worlds import make

    runner = CliRunner()
    table = tmp_path / "factors.csv"
    made = runner.invoke(app, ["worlds", "factors", "ild-linear", "--n", "14000", "--domain", "0", "--regimes",
                               "single-node", "--factors", "z0,z1,z2,z3,z4,z5", "--source", "marginal", "--out",
                               str(table)])
    assert made.exit_code == 0, made.output
    out = tmp_path / "model.json"
    found = runner.invoke(app, ["discover", str(table), "--method", "llc", "--targets", "intervened", "--param",
                                "n_bootstrap=50", "--out", str(out)])
    assert found.exit_code == 0, found.output
    model = LinearCyclicModel.from_dict(json.loads(out.read_text()))
    assert model.is_acyclic and not model.bidirected.any()
    assert sorted(model.to_causal_graph().edges) == sorted(make("ild-linear").graph.edges)


def test_knowledge_and_faithfulness_from_the_command_line(tmp_path):
    """Experiments on a and b only leave the effects into a and b unidentified; tiers (a, b before c, d) and
    faithfulness pin down more, read from --knowledge and --param."""
    truth = _truth()
    lines = [",".join([*NAMES, "intervened"])]
    for k, target in enumerate([[], ["a"], ["b"]]):
        rows = truth.sample(2000, target, intervention_variance=2.0, seed=10 + k)
        lines += [",".join([*(f"{v:.6f}" for v in row), ";".join(target)]) for row in rows]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "knowledge.json").write_text(json.dumps({"tiers": [["a"], ["b", "c", "d"]]}))
    runner = CliRunner()
    plain, told = tmp_path / "plain.json", tmp_path / "told.json"
    assert runner.invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "llc", "--targets", "intervened",
                               "--param", "n_bootstrap=20", "--out", str(plain)]).exit_code == 0
    result = runner.invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "llc", "--targets",
                                 "intervened", "--knowledge", str(tmp_path / "knowledge.json"), "--param",
                                 "faithfulness=true", "--param", "n_bootstrap=20", "--out", str(told)])
    assert result.exit_code == 0, result.output
    before, after = (LinearCyclicModel.from_dict(json.loads(p.read_text())) for p in (plain, told))
    assert np.isnan(before.direct_effects[:, 0][1:]).all()  # nothing into a is identified from the data alone
    np.testing.assert_array_equal(after.direct_effects[1:, 0], 0.0)  # tiers: b, c, d do not cause a
    info = json.loads(told.read_text())["info"]
    assert info["forbidden"] == ["b --> a", "c --> a", "d --> a"] and info["faithfulness"] is True
    assert np.isnan(after.direct_effects).sum() < np.isnan(before.direct_effects).sum()


def test_the_summary_line_counts_what_is_not_identified(tmp_path):
    truth = _truth()
    lines = [",".join([*NAMES, "intervened"])]
    for k, target in enumerate([[], ["a"]]):
        rows = truth.sample(300, target, intervention_variance=2.0, seed=20 + k)
        lines += [",".join([*(f"{v:.6f}" for v in row), ";".join(target)]) for row in rows]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["discover", str(tmp_path / "data.csv"), "--method", "llc", "--targets",
                                      "intervened", "--param", "n_bootstrap=0", "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 0, result.output
    assert "(12 direct effects not identified)" in result.output  # one experiment: every column misses a pair
