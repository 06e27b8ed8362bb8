"""Third review of the `latentscm` commands: bad input is named as the user typed it (the option, the value, the
keys a learner or world takes), never as an internal argument or Python's "unexpected keyword argument"; every
option has help text; a world without an image size (ild-linear) trains from the command line."""

import json

import numpy as np
import pytest
import typer

from cli_support import invoke, refused
from latentscm.cli import app

TINY = ["--set", "channels=[4,8]", "--set", "hidden_dim=16", "--size", "16", "--n-samples", "32", "--batch-size",
        "8", "--steps", "2", "--no-progress", "--threads", "1"]


def test_report_names_out_not_an_internal_argument(tmp_path):
    result = invoke(["report", tmp_path / "no-run", "--out", tmp_path])
    refused(result, "--out", "is a directory")
    assert "build_report" not in result.output


def test_study_report_of_a_file_says_it_is_not_a_study_directory(tmp_path):
    spec = tmp_path / "study.json"
    spec.write_text("{}")
    result = invoke(["study", "report", spec])
    refused(result, "is a file, not a study directory")
    assert "build_study_report" not in result.output
    assert not (tmp_path / "study.json" / "report.html").exists() and spec.read_text() == "{}"


def test_discover_run_that_is_missing_or_a_file_is_named_as_such(tmp_path):
    refused(invoke(["discover", "--run", tmp_path / "missing", "--out", tmp_path / "g.json"]),
             "--run", "does not exist")
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    refused(invoke(["discover", "--run", table, "--out", tmp_path / "g.json"]), "--run", "is not a directory")
    assert not (tmp_path / "g.json").exists()


@pytest.mark.parametrize("timeseries", [False, True])
def test_discover_a_directory_instead_of_the_csv_says_so(tmp_path, timeseries):
    folder = tmp_path / "tables"
    folder.mkdir()
    result = invoke(["discover", folder, "--out", tmp_path / "g.json", *(["--timeseries"] if timeseries else [])])
    refused(result, "is a directory")
    assert "No such file" not in result.output and "no such file" not in result.output
    assert not (tmp_path / "g.json").exists()


def test_unknown_set_key_names_the_option_and_the_learners_hyperparameters(tmp_path):
    out = tmp_path / "run"
    result = invoke(["train", "--world", "pendulum", "--learner", "causal_vae", *TINY, "--set", "latent_dim=3",
                      "--out", out])
    refused(result, "--set latent_dim=3", "'causal_vae'", "extra_dims")
    assert "unexpected keyword" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("command", [
    ["worlds", "show", "sprites", "--set", "bogus=1", "--out", "{tmp}/g.png"],
    ["worlds", "generate", "sprites", "--n", "2", "--set", "bogus=1", "--root", "{tmp}/cache"],
    ["train", "--world", "sprites", *TINY, "--world-set", "bogus=1", "--out", "{tmp}/run"],
    ["domain-counterfactual", "{tmp}/run", "--world", "hue-sprites", "--world-set", "bogus=1", "--shift",
     "n_domains=2", "--shift", "shifted=hue", "--out", "{tmp}/d.html"],
])
def test_unknown_world_option_names_the_option_and_the_worlds_options(tmp_path, command):
    result = invoke([part.replace("{tmp}", str(tmp_path)) for part in command])
    refused(result, "bogus=1", "has no option 'bogus'", "size")
    assert "unexpected keyword" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_world_without_image_size_trains_and_refuses_size(tmp_path):
    out = tmp_path / "run"
    result = invoke(["train", "--world", "ild-linear", "--learner", "ild_vae", "--n-samples", "32", "--batch-size",
                      "8", "--steps", "2", "--no-progress", "--threads", "1", "--out", out])
    assert result.exit_code == 0, result.output
    assert "size" not in json.loads((out / "config.json").read_text())["data"].get("options", {})
    refused(invoke(["train", "--world", "ild-linear", "--learner", "ild_vae", "--size", "16", "--out",
                      tmp_path / "run2"]), "--size 16", "no image size")
    assert not (tmp_path / "run2").exists()


def _leaf_commands(command, path):
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield " ".join(path), command
        return
    for name, sub in subcommands.items():
        yield from _leaf_commands(sub, [*path, name])


def test_every_option_has_help_text():
    missing = [f"{name} {parameter.opts[0]}" for name, command in _leaf_commands(typer.main.get_command(app), [])
               for parameter in command.params
               if parameter.param_type_name == "option" and parameter.name != "help" and not parameter.help]
    assert missing == []
    options = sum(parameter.param_type_name == "option" for _, command in
                  _leaf_commands(typer.main.get_command(app), []) for parameter in command.params)
    assert options > 100  # the walk saw the options (typer's own click, not click.Option)


@pytest.mark.parametrize("command, parts", [
    (["worlds", "generate", "pendulum", "--set", "grid=false", "--set", "size=16"], ["give --n"]),
    (["worlds", "generate", "ild-linear", "--n", "4"], ["3 domains", "latentscm train --world ild-linear"]),
])
def test_worlds_generate_refusals_speak_of_the_command_not_python(tmp_path, command, parts):
    result = invoke([*command, "--root", tmp_path / "cache"])
    refused(result, *parts)
    assert "n=" not in result.output and "regime=" not in result.output
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


def test_worlds_list_columns_line_up():
    result = invoke(["worlds", "list"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "factors:" in line]
    assert len(rows) >= 7 and len({line.index("factors:") for line in rows}) == 1, result.output


def test_counterfactual_of_a_world_without_images_says_so(tmp_path):
    run = tmp_path / "run"
    trained = invoke(["train", "--world", "ild-linear", "--learner", "ild_vae", "--n-samples", "32", "--batch-size",
                       "8", "--steps", "2", "--no-progress", "--threads", "1", "--out", run])
    assert trained.exit_code == 0, trained.output
    refused(invoke(["counterfactual", run, "--do", "z0=1", "--out", tmp_path / "cf.png", "--n", "2"]),
             "has no images to show")
    assert not (tmp_path / "cf.png").exists()


def test_a_file_given_as_a_run_directory_is_named_as_a_file(tmp_path):
    picture = tmp_path / "a.png"
    picture.write_bytes(b"not a run")
    for command in (["evaluate", str(picture)], ["resume", str(picture)], ["report", str(picture)]):
        result = invoke(command)
        assert result.exit_code != 0 and f"'{picture}' is a file, not a run directory" in result.output, command


def test_active_train_names_the_pose_factors_option(tmp_path):
    result = invoke(["active", "train", "--world", "pendulum", "--out", tmp_path / "act", "--size", "16",
                     "--n-transitions", "16", "--n-held-out", "4", "--steps", "1", "--batch-size", "4"])
    refused(result, "--pose-factors is needed for world 'pendulum'", "pendulum_angle")
    assert "pose_factors=" not in result.output and not (tmp_path / "act").exists()


def test_a_categorical_test_refuses_fractional_columns(tmp_path):
    rng = np.random.default_rng(0)
    table = tmp_path / "data.csv"
    rows = [f"{a:.4f},{int(b)}" for a, b in zip(rng.normal(size=40), rng.integers(0, 2, 40))]
    table.write_text("x,y\n" + "\n".join(rows) + "\n")
    refused(invoke(["discover", table, "--ci", "chisq", "--out", tmp_path / "g.json"]),
            "column 'x' holds fractional numbers", "--ci fisherz")
    assert not (tmp_path / "g.json").exists()
    whole = tmp_path / "whole.csv"
    whole.write_text("x,y\n" + "\n".join(f"{int(i % 3)},{int(i % 2)}" for i in range(40)) + "\n")
    assert invoke(["discover", whole, "--ci", "chisq", "--out", tmp_path / "w.json"]).exit_code == 0
