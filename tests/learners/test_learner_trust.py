"""Run directories name classes in config.json; loading one must not run code it names.

Only registered learners and worlds are rebuilt unless the caller passes ``trust_code``; the
command line says ``--trust-code``. A config naming ``subprocess:check_call`` runs nothing.
"""

import json
import sys

import pytest
from typer.testing import CliRunner

import latentscm
from latentscm._registry import UntrustedClassError
from latentscm.cli import app
from latentscm.learners.vae import BetaVAE
from latentscm.testing.learner_checks import tiny_params
from latentscm.training import resume
from latentscm.training.resume import world_from_config


class UserVAE(BetaVAE):
    """A user's own learner: not registered, so loading it needs trust_code."""

    name = "user_vae"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny BetaVAE run on the TinyBlobs world (trained once for this module)."""
    from learners_support import TinyBlobs

    run = tmp_path_factory.mktemp("run") / "vae"
    BetaVAE(**tiny_params(BetaVAE, steps=2)).fit(TinyBlobs(size=16), out=str(run), n_samples=32, progress=False)
    return run


def _copy_run(run, tmp_path):
    target = tmp_path / "copy"
    target.mkdir()
    for name in ("config.json", "model.pt"):
        (target / name).write_bytes((run / name).read_bytes())
    return target


def _edit_config(run, edit):
    config = json.loads((run / "config.json").read_text())
    edit(config)
    (run / "config.json").write_text(json.dumps(config))
    return config


def _command_marker(tmp_path):
    marker = tmp_path / "pwned"
    return marker, [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]


@pytest.mark.parametrize("trust_code", [False, True])
def test_config_naming_a_function_runs_nothing(trained_run, tmp_path, trust_code):
    run = _copy_run(trained_run, tmp_path)
    marker, command = _command_marker(tmp_path)
    _edit_config(run, lambda c: c["learner"].update({"class": "subprocess:check_call", "params": {"args": command}}))
    expected = "not a Learner subclass" if trust_code else "Refusing to import learner class 'subprocess:check_call'"
    with pytest.raises(ValueError, match=expected):
        latentscm.load(run, trust_code=trust_code)
    with pytest.raises(ValueError, match="subprocess:check_call"):
        resume(run, progress=False, trust_code=trust_code)
    assert not marker.exists()


def test_world_recorded_in_config_runs_nothing(trained_run, tmp_path):
    run = _copy_run(trained_run, tmp_path)
    marker, command = _command_marker(tmp_path)
    config = _edit_config(run, lambda c: c["data"].update({"class": "subprocess:check_call",
                                                           "options": {"args": command}}))
    with pytest.raises(UntrustedClassError, match="world class 'subprocess:check_call'.*config.json"):
        world_from_config(config, run)
    with pytest.raises(ValueError, match="not a World subclass"):
        world_from_config(config, run, trust_code=True)
    runner = CliRunner()
    for args in (["evaluate", str(run), "--n", "8"], ["resume", str(run), "--no-progress"],
                 ["evaluate", str(run), "--n", "8", "--trust-code"],
                 ["counterfactual", str(run), "--do", "row=0.2", "--out", str(tmp_path / "cf.png")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "subprocess:check_call" in result.output
    assert not (tmp_path / "cf.png").exists()
    # the report shows the learner and skips the world figures with a note naming the refusal
    result = runner.invoke(app, ["report", str(run), "--out", str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    assert "Refusing to import world class &#x27;subprocess:check_call&#x27;" in (tmp_path / "report.html").read_text()
    assert not marker.exists()


def test_unregistered_world_needs_trust(trained_run, tmp_path):
    """The run was trained on a world from a test module: rebuilding it needs trust_code."""
    config = json.loads((trained_run / "config.json").read_text())
    assert config["data"]["class"] == "learners_support:TinyBlobs"
    with pytest.raises(UntrustedClassError, match="learners_support:TinyBlobs"):
        world_from_config(config, trained_run)
    assert world_from_config(config, trained_run, trust_code=True).image_shape == (1, 16, 16)
    assert world_from_config(config, trained_run, trust_code=["learners_support"]).image_shape == (1, 16, 16)
    with pytest.raises(UntrustedClassError):
        world_from_config(config, trained_run, trust_code=["learners"])  # a prefix of the name is not the module


def test_user_learner_loads_only_when_trusted(trained_run, tmp_path):
    run = _copy_run(trained_run, tmp_path)
    path = f"{UserVAE.__module__}:UserVAE"
    _edit_config(run, lambda c: c["learner"].update({"class": path}))
    with pytest.raises(UntrustedClassError, match=f"'{path}'.*--trust-code"):
        latentscm.load(run)
    with pytest.raises(UntrustedClassError):
        latentscm.load(run, trust_code=["some_other_package"])
    assert type(latentscm.load(run, trust_code=True)) is UserVAE
    assert type(latentscm.load(run, trust_code=[UserVAE.__module__])) is UserVAE
    with pytest.raises(TypeError, match="'trust_code' parameter"):
        latentscm.load(run, trust_code="yes")


def test_registered_learner_loads_without_trust(trained_run):
    assert type(latentscm.load(trained_run)) is BetaVAE


@pytest.mark.parametrize("bad", ["", "os", "os:system; rm", ":x", 3, None])
def test_malformed_class_path(trained_run, tmp_path, bad):
    run = _copy_run(trained_run, tmp_path)
    _edit_config(run, lambda c: c["learner"].update({"class": bad}))
    with pytest.raises(ValueError, match="'module:ClassName'"):
        latentscm.load(run, trust_code=True)
