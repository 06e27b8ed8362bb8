"""One parser for every KEY=VALUE option (`--set`, `--world-set`): a value means the same everywhere."""

import json

import pytest
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.cli.assignments import parse_assignments

runner = CliRunner()
TINY_LEARNER = ["--set", "channels=[4,8]", "--set", "hidden_dim=16", "--set", "latent_dim=3", "--steps", "2",
                "--n-samples", "16", "--batch-size", "8", "--no-progress", "--threads", "1"]


def test_values():
    assert parse_assignments(["grid=False", "a=none", "b=NULL", "c=true", "d=[1, 2]", "e=1e-3", "f=color",
                              "g=\"4\"", "h= spaced "]) == {
        "grid": False, "a": None, "b": None, "c": True, "d": [1, 2], "e": 1e-3, "f": "color", "g": "4",
        "h": "spaced"}


@pytest.mark.parametrize("item, message", [("beta", "KEY=VALUE"), ("=3", "KEY=VALUE"), ("a b=1", "not a parameter"),
                                           ("a-b=1", "not a parameter")])
def test_bad_items_name_the_option(item, message):
    with pytest.raises(ValueError, match="--world-set"):
        parse_assignments([item], option="--world-set")
    with pytest.raises(ValueError, match=message):
        parse_assignments([item])


def test_a_key_given_twice_is_an_error():
    with pytest.raises(ValueError, match="--set sets 'beta' twice"):
        parse_assignments(["beta=1", "beta=2"])


def test_worlds_show_parses_booleans_like_train(tmp_path):
    """Regression: `worlds show --set grid=False` passed the string 'False' (a true value)."""
    pictures = {}
    for spelling in ("False", "false"):
        out = tmp_path / f"{spelling}.png"
        result = runner.invoke(app, ["worlds", "show", "pendulum", "--out", str(out), "--n", "4", "--set", "size=16",
                                     "--set", f"grid={spelling}"])
        assert result.exit_code == 0, result.output
        pictures[spelling] = out.read_bytes()
    assert pictures["False"] == pictures["false"]
    bad = runner.invoke(app, ["worlds", "show", "pendulum", "--out", str(tmp_path / "x.png"), "--set", "size"])
    assert bad.exit_code == 2 and "--set expects KEY=VALUE; got 'size'" in bad.output


def test_train_passes_world_options(tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", "--world", "pendulum", "--world-set", "grid=False", "--size", "16",
                                 "--learner", "ae", "--out", str(run), *TINY_LEARNER])
    assert result.exit_code == 0, result.output
    options = json.loads((run / "config.json").read_text())["data"]["options"]
    assert options["grid"] is False and options["size"] == 16


@pytest.mark.parametrize("extra, message", [
    (["--size", "16", "--world-set", "size=32"], "both set the image size"),
    (["--world-set", "grid"], "--world-set expects KEY=VALUE"),
    (["--world-set", "colour=red"], "colour"),
])
def test_train_world_option_errors(tmp_path, extra, message):
    result = runner.invoke(app, ["train", "--world", "pendulum", "--learner", "ae", "--out", str(tmp_path / "run"),
                                 *extra, *TINY_LEARNER])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "run").exists()
