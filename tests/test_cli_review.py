"""Bad input on the command line gets one `Error:` line naming the option, file or value (exit code 2), options
are never silently ignored, and nothing is left half-written (second review of the `latentscm` commands)."""

import json

import numpy as np
import pytest

from cli_support import invoke, refused
from latentscm.cli import app

TINY = ["--set", "channels=[4,8]", "--set", "hidden_dim=16", "--set", "latent_dim=3", "--size", "16", "--n-samples",
        "32", "--batch-size", "8", "--no-progress", "--threads", "1"]
TINY_AXIOMS = ["--d-model", "8", "--layers", "1", "--heads", "1", "--d-ff", "8", "--batch-size", "4", "--quiet"]
TINY_ACTIVE = ["--size", "16", "--n-transitions", "16", "--n-held-out", "4", "--steps", "1", "--batch-size", "4",
               "--channels", "4", "--hidden-dim", "8", "--models", "factorised"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny trained beta_vae run on 16x16 sprites."""
    path = tmp_path_factory.mktemp("runs") / "run"
    result = invoke(["train", "--world", "sprites", "--steps", "2", "--out", path, *TINY])
    assert result.exit_code == 0, result.output
    return path


def test_worlds_show_seed_and_non_images_are_errors(tmp_path):
    refused(invoke(["worlds", "show", "sprites", "--set", "size=32", "--out", tmp_path / "g.png", "--seed", "-1"]),
             "seed", "-1")
    refused(invoke(["worlds", "show", "ild-linear", "--out", tmp_path / "g.png"]), "'ild-linear' has no images")
    assert not (tmp_path / "g.png").exists()


def test_worlds_commands_take_world_set_like_train(tmp_path):
    out = tmp_path / "g.png"
    result = invoke(["worlds", "show", "pendulum", "--world-set", "grid=false", "--world-set", "size=16",
                      "--out", out, "--n", "2"])
    assert result.exit_code == 0 and out.is_file(), result.output
    stored = invoke(["worlds", "generate", "pendulum", "--n", "2", "--world-set", "size=16", "--root", tmp_path])
    assert stored.exit_code == 0, stored.output


@pytest.mark.parametrize("command", [
    ["train", "--world", "sprites", "--steps", "2", "--out", "{file}/run", *TINY],
    ["train", "--world", "sprites", "--steps", "2", "--out", "{file}", *TINY],
    ["active", "train", "--out", "{file}/run", *TINY_ACTIVE],
    ["axioms", "train", "--out", "{file}/run", "--steps", "1", *TINY_AXIOMS],
])
def test_run_directories_under_a_file_are_named(tmp_path, command):
    (tmp_path / "afile").write_text("x")
    refused(invoke([part.format(file=tmp_path / "afile") for part in command]), "--out")
    assert (tmp_path / "afile").read_text() == "x"


def test_active_run_checks_its_output_folder_first(tmp_path):
    made = invoke(["active", "train", "--out", tmp_path / "act", *TINY_ACTIVE, "--no-progress"])
    assert made.exit_code == 0 and "fitted" not in made.output, made.output
    (tmp_path / "afile").write_text("x")
    refused(invoke(["active", "run", tmp_path / "act", "--out", tmp_path / "afile", "--goals", "1"]), "--out")
    refused(invoke(["active", "run", tmp_path / "act", "--out", tmp_path / "afile" / "r", "--goals", "1"]), "--out")


def test_evaluate_names_an_unwritable_metrics_file(run):
    (run / "metrics.json").unlink(missing_ok=True)
    (run / "metrics.json").mkdir()
    try:
        refused(invoke(["evaluate", run, "--n", "64"]), "metrics.json' is a directory")
    finally:
        (run / "metrics.json").rmdir()


def test_evaluate_encoder_refuses_options_it_would_ignore(tmp_path, monkeypatch):
    (tmp_path / "review_encoder.py").write_text(
        "def encode(images):\n    return images.reshape(len(images), -1)[:, :4]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    base = ["evaluate", "--encoder", "review_encoder:encode", "--world", "sprites", "--n", "64"]
    refused(invoke([*base, "--size", "32", "--world-set", "size=16", "--out", tmp_path / "a"]),
             "both set the image size")
    refused(invoke([*base, "--world-set", "size=16", "--device", "cuda:7", "--out", tmp_path / "b"]), "--device")
    refused(invoke([*base, "--world-set", "size=16", "--trust-code", "--out", tmp_path / "c"]), "--trust-code")
    assert not any((tmp_path / name).exists() for name in "abc")


def test_counterfactual_needs_an_intervention(run, tmp_path):
    refused(invoke(["counterfactual", run, "--do", "", "--out", tmp_path / "cf.png"]), "--do names no intervention")
    assert not (tmp_path / "cf.png").exists()


def test_discover_reads_a_csv_with_a_byte_order_mark(tmp_path):
    rng = np.random.default_rng(0)
    env = np.repeat(np.arange(60), 2)
    u = rng.normal(size=60)[env] + rng.normal(size=120)
    v = 0.8 * u + 0.3 * rng.normal(size=120)
    text = "env,u,v\n" + "".join(f"{e},{a},{b}\n" for e, a, b in zip(env, u, v))
    (tmp_path / "bom.csv").write_text(text, encoding="utf-8-sig")
    out = tmp_path / "g.json"
    result = invoke(["discover", tmp_path / "bom.csv", "--method", "cdf", "--environment", "env", "--out", out])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["nodes"] == ["u", "v"]
    (tmp_path / "latin1.csv").write_bytes("café,b\n1,2\n".encode("latin-1"))
    refused(invoke(["discover", tmp_path / "latin1.csv", "--out", out]), "latin1.csv is not UTF-8")


def test_discover_timeseries_defaults_and_tau_max(tmp_path):
    rng = np.random.default_rng(0)
    series = np.zeros((200, 2))
    for t in range(1, 200):
        series[t] = [0.5 * series[t - 1, 0] + rng.normal(), 0.8 * series[t - 1, 0] + 0.3 * rng.normal()]
    np.savetxt(tmp_path / "s.csv", series, delimiter=",", header="p,q", comments="")
    out = tmp_path / "g.json"
    result = invoke(["discover", "--timeseries", tmp_path / "s.csv", "--out", out])  # no --method: pcmci
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    assert payload["method"] == "pcmci" and payload["tau_max"] == 3
    refused(invoke(["discover", "--timeseries", "--method", "pcmci", "--out", out]), "needs the CSV file")
    refused(invoke(["discover", tmp_path / "s.csv", "--tau-max", "5", "--out", tmp_path / "g2.json"]), "--tau-max")
    assert not (tmp_path / "g2.json").exists()


def test_discover_on_a_trained_run(run, tmp_path):
    out = tmp_path / "g.json"
    result = invoke(["discover", "--run", run, "--out", out])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["nodes"] == ["z0", "z1", "z2"]
    refused(invoke(["discover", tmp_path / "none.csv", "--trust-code", "--out", out]), "--trust-code")


def test_study_run_refuses_a_bad_executor_before_creating_the_study(tmp_path):
    spec = tmp_path / "study.json"
    spec.write_text(json.dumps({"learners": {"beta_vae": {}}, "worlds": {"sprites": {}}}))
    refused(invoke(["study", "run", spec, "--out", tmp_path / "s1", "--executor", "nope"]), "--executor", "nope")
    refused(invoke(["study", "run", spec, "--out", tmp_path / "s2", "--executor", "sequential", "--address",
                      "auto"]), "--address auto")
    refused(invoke(["study", "run", spec, "--out", tmp_path / "s3", "--executor", "sequential", "--workers",
                      "3"]), "--workers 3")
    assert not any((tmp_path / name).exists() for name in ("s1", "s2", "s3"))


def test_probe_writes_nothing_when_a_kind_fails(run, tmp_path):
    for kinds, folder, extra in (("extreme,controls", "p1", ["--levels", "5"]), ("controls", "p2", [])):
        result = invoke(["probe", run, "--kind", kinds, "--target", "nope", "--n", "8", "--steps", "2", *extra,
                          "--out", tmp_path / folder])
        refused(result, "Unknown factor 'nope'")
        assert not (tmp_path / folder).exists()


def test_same_file_for_two_outputs_is_refused(tmp_path):
    refused(invoke(["domain-counterfactual", tmp_path / "no-run", "--world", "hue-sprites", "--shift",
                      "n_domains=2", "--shift", "shifted=hue", "--out", tmp_path / "p.png", "--png",
                      tmp_path / "p.png"]), "same file")
    refused(invoke(["domain-counterfactual", tmp_path / "no-run", "--world", "hue-sprites", "--world-set",
                      "domains=2", "--shift", "n_domains=2", "--shift", "shifted=hue", "--out", tmp_path / "q.html"]),
             "--shift")
    refused(invoke(["axioms", "evaluate", tmp_path / "no-run", "--out", tmp_path / "a.json", "--report",
                      tmp_path / "a.json"]), "same file")
    assert not list(tmp_path.iterdir())


def test_axioms_evaluate_names_missing_and_unfinished_runs(tmp_path):
    refused(invoke(["axioms", "evaluate", tmp_path / "none", "--out", tmp_path / "a.json"]),
             "Run directory", "does not exist")
    trained = invoke(["axioms", "train", "--out", tmp_path / "ax", "--steps", "2", "--checkpoint-every", "1",
                       *TINY_AXIOMS])
    assert trained.exit_code == 0, trained.output
    (tmp_path / "ax" / "model.pt").unlink()  # as a run killed after its first checkpoints
    refused(invoke(["axioms", "evaluate", tmp_path / "ax", "--out", tmp_path / "a.json"]), "did not finish",
             "--resume")


def test_axioms_train_takes_no_progress_and_the_documented_show_runs(tmp_path):
    import latentscm.cli.axioms as module

    documented = [line.split("#")[0].split()[1:] for line in module.__doc__.splitlines()
                  if line.strip().startswith("latentscm axioms show")]
    assert documented and all(invoke(args).exit_code == 0 for args in documented)
    result = invoke(["axioms", "train", "--out", tmp_path / "ax", "--steps", "1", *TINY_AXIOMS[:-1],
                      "--no-progress"])
    assert result.exit_code == 0, result.output


def test_quickstart_refuses_to_reuse_runs_trained_with_other_settings(tmp_path):
    run = tmp_path / "runs" / "beta_vae"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"learner": {"params": {"steps": 2, "seed": 0}},
                                                 "data": {"n_samples": 64}}))
    result = invoke(["quickstart", "--out", tmp_path, "--steps", "3", "--seed", "1", "--n-samples", "64"])
    refused(result, "steps=2, seed=0", "steps=3, seed=1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_train_refuses_domains_as_a_world_option(tmp_path):
    result = invoke(["train", "--world", "hue-sprites", "--world-set", 'domains={"n_domains": 3, "shifted": ["hue"]}',
                      "--learner", "ild_vae", "--steps", "2", "--out", tmp_path / "run", "--set", "channels=[4,8]",
                      "--set", "hidden_dim=16", "--size", "16", "--n-samples", "32", "--batch-size", "8",
                      "--no-progress"])
    refused(result, "--world-set domains", "--shift")
    assert not (tmp_path / "run").exists()


def test_options_of_other_kinds_and_methods_are_refused(run, tmp_path):
    refused(invoke(["probe", run, "--kind", "extreme", "--target", "posX", "--n", "8", "--out", tmp_path / "p1"]),
             "--target (controls only)")
    refused(invoke(["probe", run, "--kind", "controls", "--units", "0", "--n", "8", "--out", tmp_path / "p2"]),
             "--units (extreme only)")
    rng = np.random.default_rng(0)
    np.savetxt(tmp_path / "s.csv", rng.normal(size=(60, 2)), delimiter=",", header="p,q", comments="")
    refused(invoke(["discover", "--timeseries", tmp_path / "s.csv", "--method", "granger", "--ci", "kci", "--out",
                      tmp_path / "g.json"]), "--method granger does not use --ci")
    refused(invoke(["discover", "--timeseries", tmp_path / "s.csv", "--method", "cmlp", "--alpha", "0.01", "--out",
                      tmp_path / "g.json"]), "--method cmlp does not use --alpha")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]


def test_report_names_a_file_the_system_cannot_write(run, tmp_path):
    """Regression: an OSError other than FileNotFoundError (here a name too long) ended `report` in a traceback."""
    result = invoke(["report", run, "--out", tmp_path / ("x" * 300 + ".html")])
    refused(result, "File name too long")


def test_probe_names_the_measure_option(tmp_path):
    """--measure is checked first, and the default oracle on a world without an exact read-out points to
    --measure regressor (the library's message named the Python argument measure='regressor')."""
    refused(invoke(["probe", tmp_path / "no-run", "--kind", "extreme", "--measure", "exact"]),
             "--measure must be oracle or regressor", "'exact'")
    run = tmp_path / "hue"
    trained = invoke(["train", "--world", "hue-sprites", "--steps", "2", "--out", run, *TINY])
    assert trained.exit_code == 0, trained.output
    refused(invoke(["probe", run, "--kind", "extreme", "--n", "4", "--out", tmp_path / "p"]),
             "--measure oracle (the default)", "'hue-sprites' has none", "Use --measure regressor")
    assert not (tmp_path / "p").exists()


def test_worlds_show_shift_draws_one_row_per_domain(tmp_path):
    """--shift: row d + 1 holds the exact domain counterfactuals in domain d of the first row's units."""
    from PIL import Image

    from latentscm.report.images import image_grid
    from latentscm.worlds import DomainShift, make

    out = tmp_path / "domains.png"
    result = invoke(["worlds", "show", "hue-sprites", "--set", "size=16", "--n", "3", "--scale", "1", "--shift",
                      "n_domains=3", "--shift", "shifted=hue", "--shift", "strength=1.5", "--out", out])
    assert result.exit_code == 0, result.output
    world = make("hue-sprites", size=16).with_domains(DomainShift(3, shifted=("hue",), strength=1.5))
    batch = world.sample(3, seed=0)
    rows = [batch.images] + [world.domain_counterfactual(batch, to_domain=d).images for d in (1, 2)]
    with Image.open(out) as picture:
        np.testing.assert_array_equal(np.asarray(picture.convert("RGB")), image_grid(rows, scale=1))
    refused(invoke(["worlds", "show", "hue-sprites", "--shift", "n_domains=2", "--shift", "shifted=hue", "--do",
                      "hue=0.2", "--out", tmp_path / "x.png"]), "--do or --shift, not both")
    refused(invoke(["worlds", "show", "hue-sprites", "--set", 'domains={"n_domains": 2}', "--out",
                      tmp_path / "x.png"]), "--shift")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["domains.png"]


def test_rca_and_train_name_their_own_options(tmp_path):
    """The library's messages named Microservice.inject's 'onset'/'root_causes' and GCRL.fit's 'n_samples'."""
    refused(invoke(["rca", "--steps", "100", "--onset", "500", "--out", tmp_path / "r"]),
             "--onset (500) must come before the end of the 100 --steps")
    refused(invoke(["rca", "--steps", "100", "--root-cause", "s9.cpu", "--out", tmp_path / "r"]),
             "Unknown --root-cause 's9.cpu'")
    refused(invoke(["train", "--world", "hue-sprites", "--learner", "gcrl", "--shift", "n_domains=3", "--shift",
                      "shifted=hue", "--steps", "2", "--out", tmp_path / "run", "--size", "16", "--n-samples", "2",
                      "--no-progress"]), "--n-samples 2 is fewer than the 3 domains of --shift")
    assert not (tmp_path / "r").exists() and not (tmp_path / "run").exists()


# Fourth review (session 23): options below a command's valid range named as the option, duplicated or empty
# options refused instead of changing the result silently.

AXIOMS_TWO_STEPS = ["--steps", "2", *TINY_AXIOMS]


@pytest.fixture(scope="module")
def axiom_runs(tmp_path_factory):
    """Two tiny axiom runs: trained on chains of 3-6 (the default) and of 3-10 nodes."""
    root = tmp_path_factory.mktemp("axioms")
    for name, extra in (("run", []), ("run10", ["--max-length", "10"])):
        result = invoke(["axioms", "train", "--out", root / name, *AXIOMS_TWO_STEPS, *extra])
        assert result.exit_code == 0, result.output
    return root


@pytest.mark.parametrize("max_length", ["2", "4", "6"])
def test_axioms_evaluate_refuses_max_length_below_the_long_chains(axiom_runs, tmp_path, max_length):
    """Regression: --max-length 4 or 6 scored training-length chains as the 'long' sets; 2 was named as
    evaluation_sets' 'lengths'."""
    refused(invoke(["axioms", "evaluate", axiom_runs / "run", "--out", tmp_path / "a.json", "--n-per-set", "4",
                      "--max-length", max_length]), f"--max-length {max_length}", ">= 7")
    assert not (tmp_path / "a.json").exists()


def test_axioms_evaluate_names_max_length_beyond_the_name_pool(axiom_runs, tmp_path):
    refused(invoke(["axioms", "evaluate", axiom_runs / "run", "--out", tmp_path / "a.json", "--n-per-set", "4",
                      "--max-length", "40"]), "--max-length 40", "n_names 32")


def test_axioms_evaluate_long_sets_start_past_the_training_chains(axiom_runs, tmp_path):
    """Regression: a run trained on chains of up to 10 nodes had chains of 7-10 counted as 'long'."""
    from latentscm.axioms import AxiomModel, evaluate, evaluation_sets, summarise

    result = invoke(["axioms", "evaluate", axiom_runs / "run10", "--out", tmp_path / "a.json", "--n-per-set", "4"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "a.json").read_text())
    sets = evaluation_sets(n_per_set=4, lengths=range(3, 16), long_lengths=(11, 15), train_lengths=(3, 10),
                           seed=12345)
    scores = evaluate(AxiomModel.load(axiom_runs / "run10"), sets)
    assert written["accuracy"]["run10"] == pytest.approx(scores)
    assert written["summary"]["run10"] == pytest.approx(summarise(scores, long_lengths=(11, 15)))
    assert invoke(["axioms", "evaluate", axiom_runs / "run10", "--out", tmp_path / "b.json", "--n-per-set", "4",
                    "--max-length", "10"]).exit_code == 2  # no chain past the training lengths


def test_axioms_evaluate_of_default_runs_is_unchanged(axiom_runs, tmp_path):
    """Runs trained on chains of 3-6 keep the paper's split: long sets of 7-15 nodes, dsep_short of 3-6."""
    from latentscm.axioms import AxiomModel, evaluate, evaluation_sets, summarise

    result = invoke(["axioms", "evaluate", axiom_runs / "run", "--out", tmp_path / "a.json", "--n-per-set", "4"])
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "a.json").read_text())
    scores = evaluate(AxiomModel.load(axiom_runs / "run"), evaluation_sets(n_per_set=4, seed=12345))
    assert written["accuracy"]["run"] == pytest.approx(scores)
    assert written["summary"]["run"] == pytest.approx(summarise(scores))


@pytest.mark.parametrize("do", ["", "  "])
def test_worlds_show_refuses_an_empty_do(tmp_path, do):
    """Regression: an empty --do was dropped (plain samples written) and a blank one drew the samples again as
    their 'true counterfactuals'."""
    refused(invoke(["worlds", "show", "sprites", "--out", tmp_path / "a.png", "--do", do]), "--do", repr(do))
    assert not (tmp_path / "a.png").exists()


def test_rca_refuses_a_repeated_root_cause(tmp_path):
    """Regression: --root-cause s1.cpu twice injected the fault twice (twice --magnitude) and listed it twice."""
    refused(invoke(["rca", "--out", tmp_path / "o", "--steps", "200", "--root-cause", "s1.cpu", "--root-cause",
                      "s1.cpu"]), "--root-cause 's1.cpu'", "more than once")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("magnitude", ["nan", "inf"])
def test_rca_names_a_magnitude_that_is_not_finite(tmp_path, magnitude):
    refused(invoke(["rca", "--out", tmp_path / "o", "--steps", "200", "--magnitude", magnitude]),
             "--magnitude", magnitude)


TINY_ACTIVE = ["--size", "16", "--n-transitions", "16", "--n-held-out", "4", "--steps", "1", "--batch-size", "4",
               "--channels", "4", "--hidden-dim", "8", "--models", "factorised", "--no-progress"]


@pytest.mark.parametrize("blocked", ["results.json", "report.html"])
def test_active_run_names_an_output_file_that_is_a_directory_before_the_episodes(tmp_path, blocked):
    """Regression: a traceback after the whole evaluation, results.json left without its report."""
    assert invoke(["active", "train", "--out", tmp_path / "run", *TINY_ACTIVE]).exit_code == 0
    (tmp_path / "o" / blocked).mkdir(parents=True)
    refused(invoke(["active", "run", tmp_path / "run", "--out", tmp_path / "o", "--goals", "1", "--max-steps", "2",
                      "--horizon", "1"]), "--out", blocked, "is a directory")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [blocked]


@pytest.mark.parametrize("blocked", ["rca.json", "report.html"])
def test_rca_names_an_output_file_that_is_a_directory_before_the_work(tmp_path, blocked):
    (tmp_path / "o" / blocked).mkdir(parents=True)
    refused(invoke(["rca", "--out", tmp_path / "o", "--steps", "200"]), "--out", blocked, "is a directory")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [blocked]


@pytest.mark.parametrize("blocked", ["extreme.json", "extreme_values.png", "probes.html"])
def test_probe_names_an_output_file_that_is_a_directory_before_writing(tmp_path, blocked):
    """Regression: a traceback after the probe ran, with the files before the blocked one written."""
    result = invoke(["train", "--world", "sprites", "--steps", "2", "--out", tmp_path / "run", "--set",
                      "channels=[4,8]", "--set", "hidden_dim=16", "--set", "latent_dim=3", "--size", "16",
                      "--n-samples", "32", "--batch-size", "8", "--no-progress", "--threads", "1"])
    assert result.exit_code == 0, result.output
    (tmp_path / "o" / blocked).mkdir(parents=True)
    refused(invoke(["probe", tmp_path / "run", "--kind", "extreme", "--out", tmp_path / "o", "--n", "8",
                      "--levels", "5"]), "--out", blocked, "is a directory")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [blocked]


@pytest.mark.parametrize("blocked", ["metrics.json", "report.html"])
def test_quickstart_names_an_output_file_that_is_a_directory_before_training(tmp_path, monkeypatch, blocked):
    """Regression: the whole job (data, two trainings, evaluation) ran before the blocked file failed."""
    calls = []
    monkeypatch.setattr("latentscm.quickstart.run_quickstart", lambda out, config, progress=True: calls.append(out))
    (tmp_path / blocked).mkdir()
    refused(invoke(["quickstart", "--out", tmp_path, "--no-progress"]), "--out", blocked, "is a directory")
    assert calls == []


def test_study_run_refuses_workers_it_would_ignore(tmp_path, monkeypatch):
    """Regression: --workers was silently ignored by --executor auto without Ray (sequential) and with --address
    (Ray joins the cluster without num_cpus)."""
    import latentscm.study.executor as executor_module
    import latentscm.study.executors as executors_module

    spec = tmp_path / "spec.json"
    for available, extra, message in ((False, [], "Ray is not installed"), (True, ["--address", "auto"], "--address")):
        monkeypatch.setattr(executor_module, "ray_available", lambda available=available: available)
        monkeypatch.setattr(executors_module, "ray_available", lambda available=available: available)
        refused(invoke(["study", "run", spec, "--out", tmp_path / "study", "--workers", "2", *extra]),
                 "--workers 2", message)
        assert not (tmp_path / "study").exists()


def test_train_refuses_an_option_and_set_of_the_same_hyperparameter(tmp_path):
    """Regression: --steps 5 --set steps=2 trained 2 steps (and --seed, --lr likewise) without a word."""
    for extra, flag in ((["--steps", "5", "--set", "steps=2"], "--steps 5"),
                        (["--steps", "1", "--seed", "3", "--set", "seed=1"], "--seed 3"),
                        (["--steps", "1", "--lr", "0.01", "--set", "lr=0.0001"], "--lr 0.01")):
        refused(invoke(["train", "--world", "sprites", "--out", tmp_path / "refused", *TINY, *extra]), flag, "--set")
        assert not (tmp_path / "refused").exists()
    result = invoke(["train", "--world", "sprites", "--out", tmp_path / "run", *TINY, "--steps", "1",
                      "--set", "seed=1"])
    assert result.exit_code == 0, result.output  # --set alone still sets it
    assert json.loads((tmp_path / "run" / "config.json").read_text())["learner"]["params"]["seed"] == 1


def test_quickstart_help_states_its_real_defaults():
    """Regression: --steps claimed 'the CPU preset' (cpu-small: 3000 steps); quickstart trains 1500 per model."""
    from typer.main import get_command

    from latentscm.quickstart import QuickstartConfig

    helps = {param.name: param.help for param in get_command(app).commands["quickstart"].params}
    config = QuickstartConfig()
    assert set(config.steps.values()) == {1500} and helps["steps"] == "Training steps per model (default: 1500)."
    assert helps["n_samples"] == f"Training images to render (default: {config.n_samples})."


def test_world_commands_name_a_run_trained_on_own_images(tmp_path, monkeypatch):
    """Regression: counterfactual and probe said such a run was 'in-memory data' to resume from Python;
    domain-counterfactual said 'trained on data data'."""
    monkeypatch.setenv("LATENTSCM_CACHE", str(tmp_path / "cache"))
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((16, 1, 16, 16)).astype(np.float32))
    own = [arg for arg in TINY if arg not in ("--size", "16", "--n-samples", "32")]
    result = invoke(["train", "--data", tmp_path / "x.npy", "--steps", "1", "--out", tmp_path / "run", *own])
    assert result.exit_code == 0, result.output
    for command in (["counterfactual", "--do", "scale=1", "--out", tmp_path / "c.png"],
                    ["probe", "--kind", "extreme", "--out", tmp_path / "p"]):
        result = invoke([command[0], tmp_path / "run", *command[1:]])
        refused(result, f"latentscm {command[0]}", "your own images (latentscm train --data), not on a world")
        assert "in-memory" not in result.output
    result = invoke(["domain-counterfactual", tmp_path / "run", "--out", tmp_path / "d.html"])
    refused(result, "trained on your own images (latentscm train --data), which records no world")


def test_unreadable_run_files_are_errors_not_tracebacks(run, tmp_path):
    """Regression: a config.json that cannot be read (a directory in its place) crashed `active run` and `resume`
    with a traceback (exit 1)."""
    import shutil

    (tmp_path / "active" / "config.json").mkdir(parents=True)
    refused(invoke(["active", "run", tmp_path / "active", "--out", tmp_path / "out"]), "cannot read the run",
             "config.json")
    shutil.copytree(run, tmp_path / "run")
    (tmp_path / "run" / "config.json").unlink()
    (tmp_path / "run" / "config.json").mkdir()
    refused(invoke(["resume", tmp_path / "run"]), "config.json")
