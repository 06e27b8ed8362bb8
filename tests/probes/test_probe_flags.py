"""`latentscm probe` names the command-line flag (--units, --levels, ...) in its errors, not the Python
parameter of the library function it forwards the option to."""

import pytest

from cli_support import invoke, refused


def _refused_naming(result, *parts):
    refused(result, *parts)
    assert "parameter of" not in result.output, result.output


@pytest.mark.parametrize("options, parts", [
    (["--kind", "extreme", "--units", "7"], ["--units must hold unit indices in [0, 3)", "Got 7"]),
    (["--kind", "extreme", "--units", "0,0"], ["--units repeats unit 0"]),
    (["--kind", "controls", "--target", "nope", "--steps", "2"], ["--target: Unknown factor 'nope'", "posX"]),
    (["--kind", "controls", "--target", "shape", "--steps", "2"],
     ["--target 'shape' is not measured by the --measure oracle"]),
    (["--kind", "controls", "--target", "posX", "--exclude", "posY,posX", "--steps", "2"],
     ["--exclude names 'posX'", "--target"]),
    (["--kind", "controls", "--exclude", "nope", "--steps", "2"], ["--exclude: Unknown factor 'nope'"]),
    (["--kind", "controls", "--exclude", ",", "--steps", "2"], ["--exclude must name at least one factor"]),
])
def test_errors_of_a_loaded_run_name_the_flag(run, tmp_path, options, parts):
    _refused_naming(invoke(["probe", run, "--n", "8", *options, "--out", tmp_path / "p"]), *parts)
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("options, parts", [
    (["--kind", "extreme", "--levels", "4"], ["--levels must be an odd number >= 5", "Got 4"]),
    (["--kind", "extreme", "--levels", "7"], None),
    (["--kind", "extreme", "--levels", "3"], ["--levels must be an odd number >= 5", "Got 3"]),
    (["--kind", "extreme", "--scale", "0.5"], ["--scale must be a number >= 1", "Got 0.5"]),
    (["--kind", "extreme", "--scale", "nan"], ["--scale must be a number >= 1", "Got nan"]),
    (["--kind", "controls", "--step-size", "0"], ["--step-size must be a number > 0", "Got 0.0"]),
    (["--kind", "extreme,controls", "--step-size", "-1"], ["--step-size must be a number > 0"]),
])
def test_numeric_options_are_checked_before_the_run_is_loaded(tmp_path, options, parts):
    result = invoke(["probe", tmp_path / "no-run", *options, "--out", tmp_path / "p"])
    if parts is None:  # a valid value passes on to loading the (missing) run
        refused(result, "no-run")
        assert "--levels" not in result.output
    else:
        _refused_naming(result, *parts)
        assert "no-run" not in result.output


def test_library_messages_of_forwarded_options_name_the_flags():
    from latentscm.cli.probe import _as_flags

    assert _as_flags("The 'steps' parameter of PotentialFlows must be an int >= 1. Got 0 instead.") \
        == "--steps must be an int >= 1. Got 0 instead."
    assert _as_flags("The 'n_potentials' parameter of PotentialFlows must be an int >= 2. Got 1 instead.") \
        .startswith("--n-flows must be")
    assert _as_flags("The 'step_size' parameter of AttributeControls must be a float > 0.0.").startswith("--step-size")
    assert _as_flags("The 'measure' parameter of latentscm probe must be 'oracle', 'regressor', ...") \
        .startswith("--measure must be")
    # a parameter the command does not forward keeps its library name: no flag would fit it
    assert _as_flags("The 'lr' parameter of AttributeControls must be a float > 0.0.") \
        == "The 'lr' parameter of AttributeControls must be a float > 0.0."
