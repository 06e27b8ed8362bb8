"""Fourth review of the `latentscm` commands: options below a command's valid range named as the option,
duplicated or empty options refused instead of changing the result silently."""

import json

import pytest
from typer.testing import CliRunner

from latentscm.cli import app

runner = CliRunner()
TINY_AXIOMS = ["--steps", "2", "--d-model", "8", "--layers", "1", "--heads", "1", "--d-ff", "8", "--batch-size", "4",
               "--quiet"]


def _invoke(args):
    return runner.invoke(app, [str(a) for a in args])


def _refused(result, *parts):
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Error:" in result.output and "Traceback" not in result.output, result.output
    for part in parts:
        assert part in result.output, result.output


@pytest.fixture(scope="module")
def axiom_runs(tmp_path_factory):
    """Two tiny axiom runs: trained on chains of 3-6 (the default) and of 3-10 nodes."""
    root = tmp_path_factory.mktemp("axioms")
    for name, extra in (("run", []), ("run10", ["--max-length", "10"])):
        result = _invoke(["axioms", "train", "--out", root / name, *TINY_AXIOMS, *extra])
        assert result.exit_code == 0, result.output
    return root


@pytest.mark.parametrize("max_length", ["2", "4", "6"])
def test_axioms_evaluate_refuses_max_length_below_the_long_chains(axiom_runs, tmp_path, max_length):
    """Regression: --max-length 4 or 6 scored training-length chains as the 'long' sets; 2 was named as
    evaluation_sets' 'lengths'."""
    _refused(_invoke(["axioms", "evaluate", axiom_runs / "run", "--out", tmp_path / "a.json", "--n-per-set", "4",
                      "--max-length", max_length]), f"--max-length {max_length}", ">= 7")
    assert not (tmp_path / "a.json").exists()


def test_axioms_evaluate_names_max_length_beyond_the_name_pool(axiom_runs, tmp_path):
    _refused(_invoke(["axioms", "evaluate", axiom_runs / "run", "--out", tmp_path / "a.json", "--n-per-set", "4",
                      "--max-length", "40"]), "--max-length 40", "n_names 32")


def test_axioms_evaluate_long_sets_start_past_the_training_chains(axiom_runs, tmp_path):
    """Regression: a run trained on chains of up to 10 nodes had chains of 7-10 counted as 'long'."""
    from latentscm.axioms import AxiomModel, evaluate, evaluation_sets, summarise

    result = _invoke(["axioms", "evaluate", axiom_runs / "run10", "--out", tmp_path / "a.json", "--n-per-set", "4"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "a.json").read_text())
    sets = evaluation_sets(n_per_set=4, lengths=range(3, 16), long_lengths=(11, 15), train_lengths=(3, 10),
                           seed=12345)
    scores = evaluate(AxiomModel.load(axiom_runs / "run10"), sets)
    assert written["accuracy"]["run10"] == pytest.approx(scores)
    assert written["summary"]["run10"] == pytest.approx(summarise(scores, long_lengths=(11, 15)))
    assert _invoke(["axioms", "evaluate", axiom_runs / "run10", "--out", tmp_path / "b.json", "--n-per-set", "4",
                    "--max-length", "10"]).exit_code == 2  # no chain past the training lengths


def test_axioms_evaluate_of_default_runs_is_unchanged(axiom_runs, tmp_path):
    """Runs trained on chains of 3-6 keep the paper's split: long sets of 7-15 nodes, dsep_short of 3-6."""
    from latentscm.axioms import AxiomModel, evaluate, evaluation_sets, summarise

    result = _invoke(["axioms", "evaluate", axiom_runs / "run", "--out", tmp_path / "a.json", "--n-per-set", "4"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "a.json").read_text())
    scores = evaluate(AxiomModel.load(axiom_runs / "run"), evaluation_sets(n_per_set=4, seed=12345))
    assert written["accuracy"]["run"] == pytest.approx(scores)
    assert written["summary"]["run"] == pytest.approx(summarise(scores))


@pytest.mark.parametrize("do", ["", "  "])
def test_worlds_show_refuses_an_empty_do(tmp_path, do):
    """Regression: an empty --do was dropped (plain samples written) and a blank one drew the samples again as
    their 'true counterfactuals'."""
    _refused(_invoke(["worlds", "show", "sprites", "--out", tmp_path / "a.png", "--do", do]), "--do", repr(do))
    assert not (tmp_path / "a.png").exists()


def test_rca_refuses_a_repeated_root_cause(tmp_path):
    """Regression: --root-cause s1.cpu twice injected the fault twice (twice --magnitude) and listed it twice."""
    _refused(_invoke(["rca", "--out", tmp_path / "o", "--steps", "200", "--root-cause", "s1.cpu", "--root-cause",
                      "s1.cpu"]), "--root-cause 's1.cpu'", "more than once")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("magnitude", ["nan", "inf"])
def test_rca_names_a_magnitude_that_is_not_finite(tmp_path, magnitude):
    _refused(_invoke(["rca", "--out", tmp_path / "o", "--steps", "200", "--magnitude", magnitude]),
             "--magnitude", magnitude)


TINY_ACTIVE = ["--size", "16", "--n-transitions", "16", "--n-held-out", "4", "--steps", "1", "--batch-size", "4",
               "--channels", "4", "--hidden-dim", "8", "--models", "factorised", "--no-progress"]


@pytest.mark.parametrize("blocked", ["results.json", "report.html"])
def test_active_run_names_an_output_file_that_is_a_directory_before_the_episodes(tmp_path, blocked):
    """Regression: a traceback after the whole evaluation, results.json left without its report."""
    assert _invoke(["active", "train", "--out", tmp_path / "run", *TINY_ACTIVE]).exit_code == 0
    (tmp_path / "o" / blocked).mkdir(parents=True)
    _refused(_invoke(["active", "run", tmp_path / "run", "--out", tmp_path / "o", "--goals", "1", "--max-steps", "2",
                      "--horizon", "1"]), "--out", blocked, "is a directory")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [blocked]


@pytest.mark.parametrize("blocked", ["rca.json", "report.html"])
def test_rca_names_an_output_file_that_is_a_directory_before_the_work(tmp_path, blocked):
    (tmp_path / "o" / blocked).mkdir(parents=True)
    _refused(_invoke(["rca", "--out", tmp_path / "o", "--steps", "200"]), "--out", blocked, "is a directory")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [blocked]


@pytest.mark.parametrize("blocked", ["extreme.json", "extreme_values.png", "probes.html"])
def test_probe_names_an_output_file_that_is_a_directory_before_writing(tmp_path, blocked):
    """Regression: a traceback after the probe ran, with the files before the blocked one written."""
    result = _invoke(["train", "--world", "sprites", "--steps", "2", "--out", tmp_path / "run", "--set",
                      "channels=[4,8]", "--set", "hidden_dim=16", "--set", "latent_dim=3", "--size", "16",
                      "--n-samples", "32", "--batch-size", "8", "--no-progress", "--threads", "1"])
    assert result.exit_code == 0, result.output
    (tmp_path / "o" / blocked).mkdir(parents=True)
    _refused(_invoke(["probe", tmp_path / "run", "--kind", "extreme", "--out", tmp_path / "o", "--n", "8",
                      "--levels", "5"]), "--out", blocked, "is a directory")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [blocked]


@pytest.mark.parametrize("blocked", ["metrics.json", "report.html"])
def test_quickstart_names_an_output_file_that_is_a_directory_before_training(tmp_path, monkeypatch, blocked):
    """Regression: the whole job (data, two trainings, evaluation) ran before the blocked file failed."""
    calls = []
    monkeypatch.setattr("latentscm.quickstart.run_quickstart", lambda out, config, progress=True: calls.append(out))
    (tmp_path / blocked).mkdir()
    _refused(_invoke(["quickstart", "--out", tmp_path, "--no-progress"]), "--out", blocked, "is a directory")
    assert calls == []
