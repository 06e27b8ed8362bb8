"""A misspelt hyperparameter or world option is refused by the spec, naming the key (it would fail every trial)."""

import re

import pytest
from study_support import TINY, tiny_spec

from latentscm import study
from latentscm.study import StudySpecError


def _with(learner_entry=None, world_entry=None):
    spec = tiny_spec(seeds=[0])
    if learner_entry is not None:
        spec["learners"] = {"beta_vae": learner_entry}
    if world_entry is not None:
        spec["worlds"] = {"sprites": world_entry}
    return spec


@pytest.mark.parametrize(("spec", "key"), [
    (_with({"params": {**TINY, "betta": 4.0}}), "learners.beta_vae.params.betta"),
    (_with({"params": dict(TINY), "grid": {"betta": [1.0, 4.0]}}), "learners.beta_vae.grid.betta"),
    (_with({"params": dict(TINY), "variants": [{"beta": 2.0}, {"lrr": 1e-3}]}), "learners.beta_vae.variants[1].lrr"),
    (_with(world_entry={"sise": 16}), "worlds.sprites.options.sise"),
    (_with(world_entry={"options": {"size": 16, "colour": True}}), "worlds.sprites.options.colour"),
])
def test_unknown_parameter_names_are_refused_naming_the_key(spec, key, tmp_path):
    pattern = re.escape(f"'{key}'")
    with pytest.raises(StudySpecError, match=pattern + ".*takes no parameter"):
        study.load_spec(spec)
    with pytest.raises(StudySpecError, match=pattern):
        study.run(spec, tmp_path / "study", executor="sequential", progress=False)
    assert not (tmp_path / "study" / "trials").exists()  # nothing ran


def test_known_names_module_classes_and_domains_are_accepted():
    spec = _with({"params": dict(TINY), "grid": {"beta": [1.0]}, "variants": [{"steps": 4}]},
                 {"size": 16, "variant": "color"})
    assert len(study.expand(spec)) == 1
    # a module:Class learner is not imported to check its names (trust_code decides when its trial runs)
    spec = tiny_spec(seeds=[0], learners=[{"name": "study_support:SlowBetaVAE", "params": {**TINY, "step_sleep": 0.0}}])
    assert len(study.expand(spec)) == 1
