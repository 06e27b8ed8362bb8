"""Regression tests of the fourth review of the study (s23): a whole number given as an int and as a float is
one trial (refused as a duplicate), while every trial keeps the id it had."""

import pytest

from latentscm.study import expand
from latentscm.study.spec import StudySpecError

TINY = {"latent_dim": 3, "channels": [4, 8], "hidden_dim": 16, "batch_size": 8}


def _spec(grid=None, **params):
    return {"preset": None, "steps": 3, "seeds": [0], "worlds": {"sprites": {"size": 16}},
            "learners": {"beta_vae": {"params": {**TINY, **params}, "grid": grid or {}}}}


@pytest.mark.parametrize("values", [[1, 1.0], [4.0, 4], [[1, 2], [1.0, 2]]])
def test_int_and_float_spellings_of_one_value_are_the_same_trial(values):
    with pytest.raises(StudySpecError, match="same trial twice.*1 and 1.0 are one value"):
        expand(_spec({"beta": values}))


def test_int_and_float_world_options_are_the_same_trial():
    spec = _spec()
    spec["worlds"] = [{"name": "sprites", "label": "a", "options": {"size": 16}},
                      {"name": "sprites", "label": "b", "options": {"size": 16.0}}]
    with pytest.raises(StudySpecError, match="same trial twice"):
        expand(spec)


def test_trial_ids_are_unchanged():
    # ids of existing study directories: a trial without whole floats keeps the id it always had; since s24
    # 1.0 has the id of 1 (its old id, beta_vae-96401244f010, is still found: see test_trial_ids_s24.py)
    assert expand(_spec(beta=1))[0].id == "beta_vae-5bd30dc58bd8"
    assert expand(_spec(beta=1.0))[0].id == "beta_vae-5bd30dc58bd8"
    assert [t.id for t in expand(_spec({"beta": [1, 2]}))] == ["beta_vae-5bd30dc58bd8", "beta_vae-865ffa23ad54"]
    assert len(expand(_spec({"beta": [True, 1]}))) == 2  # a boolean is not the number 1
