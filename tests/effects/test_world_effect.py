"""Effects on a world's factors against the world's exact effect."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from latentscm.effects import true_effect, world_effect
from latentscm.worlds import make

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_support import invoke, refused  # noqa: E402


def test_flow_world_effects_are_covered_and_the_mediator_is_not_adjusted():
    world = make("flow")
    result = world_effect(world, "ball_size", "flow", method="dml", seed=0)
    assert result.estimate.adjustment_set == ("hole_position",)  # water_height mediates: forbidden
    assert result.estimate.covers(result.truth)
    truth, _ = true_effect(world.scm, "ball_size", "flow", result.estimate.contrast, n=100_000, seed=0)
    assert result.truth == truth and result.error == pytest.approx(result.estimate.estimate - truth)
    low, high = result.estimate.contrast
    assert world.factor_names.index("ball_size") == 0 and low < high  # the sampled quartiles
    assert result.to_dict()["covered"] is True


def test_a_linear_slope_misses_the_pendulum_shadow_that_a_forest_g_formula_finds():
    linear = world_effect("pendulum", "light_position", "shadow_position", method="dml", seed=0)
    forest = world_effect("pendulum", "light_position", "shadow_position", method="regression",
                          outcome_learner="forest", n_bootstrap=20, seed=0)
    assert not linear.estimate.covers(linear.truth) and forest.estimate.covers(forest.truth)


def test_bad_world_arguments_are_named():
    with pytest.raises(ValueError, match="'treatment' argument of world_effect must be a factor"):
        world_effect("flow", "speed", "flow")
    with pytest.raises(TypeError, match="'world' argument"):
        world_effect(3, "a", "b")
    with pytest.raises(ValueError, match="'n' parameter"):
        world_effect("flow", "ball_size", "flow", n=5)


def test_cli_world(tmp_path):
    out = tmp_path / "w.json"
    result = invoke(["effect", "--world", "flow", "--treatment", "water_height", "--outcome", "flow", "--out", out])
    assert result.exit_code == 0, result.output
    assert "true effect" in result.output and json.loads(out.read_text())["world"] == "flow"
    refused(invoke(["effect", "--world", "flow", "--graph", "a -> b", "--treatment", "a", "--outcome", "b"]),
            "--world takes no CSV")
    refused(invoke(["effect", "--treatment", "T", "--outcome", "Y"]), "Give a CSV and --graph, or --world")
    refused(invoke(["effect", "--world", "atlantis", "--treatment", "a", "--outcome", "b"]), "atlantis")
