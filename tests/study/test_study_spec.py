"""Study specs: validation names the offending key; expansion is deterministic with stable ids."""

import json
import re

import pytest
from study_support import tiny_spec

from latentscm.study import StudySpecError, expand, load_spec


@pytest.mark.parametrize("change, key", [
    ({"learnerz": {}}, "spec.learnerz"),
    ({"learners": {"beta_vea": {}}}, "learners.beta_vea.name"),
    ({"learners": {"beta_vae": {"grid": {"beta": 4.0}}}}, "learners.beta_vae.grid.beta"),
    ({"learners": {"beta_vae": {"grid": {"beta": []}}}}, "learners.beta_vae.grid.beta"),
    ({"learners": {"beta_vae": {"gird": {"beta": [1]}}}}, "learners.beta_vae.gird"),
    ({"learners": {"beta_vae": {"params": {"seed": 3}}}}, "learners.beta_vae.params.seed"),
    ({"learners": {"beta_vae": {"params": {"beta": float("nan")}}}}, "learners.beta_vae.params.beta"),
    ({"learners": {"beta_vae": {"grid": {"beta": [1]}, "variants": [{"beta": 2}]}}},
     "learners.beta_vae.variants[0].beta"),
    ({"learners": [{"name": "beta_vae"}, {"name": "beta_vae"}]}, "learners"),
    ({"worlds": {"spritez": {}}}, "worlds.spritez.name"),
    ({"worlds": []}, "worlds"),
    ({"seeds": [0, 0]}, "seeds"),
    ({"seeds": [0, -1]}, "seeds[1]"),
    ({"steps": 0}, "steps"),
    ({"preset": "gpu-huge"}, "preset"),
    ({"device": "tpu"}, "device"),
    ({"processes": 0}, "processes"),
    ({"training": {"n_sampels": 3}}, "training.n_sampels"),
    ({"evaluation": {"suite": ["mig", "nope"]}}, "evaluation.suite[1]"),
    ({"evaluation": {"suite": "everything"}}, "evaluation.suite"),
    ({"evaluation": {"n": 3}}, "evaluation.n"),
    ({"evaluation": {"counterfactuals": "sometimes"}}, "evaluation.counterfactuals"),
])
def test_invalid_specs_name_the_offending_key(change, key):
    with pytest.raises(StudySpecError, match=re.escape(f"Study spec key '{key}'")):
        load_spec(tiny_spec(**change))


def test_missing_keys_and_files_are_named(tmp_path):
    spec = tiny_spec()
    del spec["worlds"]
    with pytest.raises(StudySpecError, match="'worlds': is required"):
        load_spec(spec)
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_spec(tmp_path / "nope.yaml")
    (tmp_path / "spec.toml").write_text("")
    with pytest.raises(StudySpecError, match="must end in .yaml, .yml or .json"):
        load_spec(tmp_path / "spec.toml")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(StudySpecError, match="bad.json' is not valid JSON"):
        load_spec(tmp_path / "bad.json")


def test_expansion_order_and_settings():
    trials = expand(tiny_spec(learners={"beta_vae": {"grid": {"beta": [1, 4], "latent_dim": [2, 3]},
                                                     "variants": [{"lr": 1e-3}, {"lr": 1e-2}]}}))
    assert len(trials) == 2 * 2 * 2 * 2  # variants x beta x latent_dim x seeds
    assert [(t.params["lr"], t.params["beta"], t.params["latent_dim"], t.seed) for t in trials[:5]] == [
        (1e-3, 1, 2, 0), (1e-3, 1, 2, 1), (1e-3, 1, 3, 0), (1e-3, 1, 3, 1), (1e-3, 4, 2, 0)]
    assert all(t.varied == ("beta", "latent_dim", "lr") for t in trials)
    assert len({t.id for t in trials}) == len(trials)
    assert all(t.params["steps"] == 6 and t.world_options == {"size": 16} for t in trials)


def test_ids_hash_what_decides_the_weights(tmp_path):
    base = expand(tiny_spec())
    ids = [t.id for t in base]
    assert all(i.startswith(("beta_vae-", "beta_tcvae-")) and len(i.split("-")[1]) == 12 for i in ids)
    # the same spec written differently (key order, JSON or YAML file, list form) gives the same ids
    reordered = json.loads(json.dumps(tiny_spec(), sort_keys=True))  # learners listed in another order too
    assert sorted(t.id for t in expand(reordered)) == sorted(ids)
    (tmp_path / "spec.json").write_text(json.dumps(tiny_spec()))
    assert [t.id for t in expand(tmp_path / "spec.json")] == ids
    yaml = pytest.importorskip("yaml")
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(tiny_spec(), sort_keys=False))
    assert [t.id for t in expand(tmp_path / "spec.yaml")] == ids
    as_list = tiny_spec(learners=[{"name": name, **entry} for name, entry in tiny_spec()["learners"].items()])
    assert [t.id for t in expand(as_list)] == ids
    # the device and the evaluation do not change what is trained; a seed more keeps the others
    assert [t.id for t in expand(tiny_spec(device="cuda"))] == ids
    assert [t.id for t in expand(tiny_spec(evaluation={"suite": ["sap"]}))] == ids
    assert set(ids) < {t.id for t in expand(tiny_spec(seeds=[0, 1, 2]))}
    # everything that decides the weights does
    for change in ({"steps": 7}, {"training": {"n_samples": 65, "checkpoint_every": 3}},
                   {"worlds": {"sprites": {"size": 20}}}, {"processes": 2}):
        assert not set(ids) & {t.id for t in expand(tiny_spec(**change))}, change


def test_preset_fills_in_what_the_spec_does_not_say():
    from latentscm.training import get_preset

    preset = get_preset("cpu-small")
    trial = expand(tiny_spec(preset="cpu-small", steps=None))[0]
    assert trial.params["steps"] == preset.steps and trial.params["lr"] == 1e-3  # the spec's params win
    assert trial.world_options == {"size": 16}  # the spec's world options win
    assert trial.training == {"n_samples": 64, "checkpoint_every": 3, "log_every": preset.log_every}
    assert expand(tiny_spec(preset="cpu-small", worlds=["sprites"]))[0].world_options == {"size": preset.size}


def test_duplicate_trials_are_refused():
    spec = tiny_spec(learners=[{"name": "beta_vae", "label": "a", "params": {"beta": 2.0}},
                               {"name": "beta_vae", "label": "b", "params": {"beta": 2.0}}])
    with pytest.raises(StudySpecError, match="same trial twice"):
        expand(spec)


def test_numpy_values_are_the_numbers_they_hold():
    import numpy as np

    plain = expand(load_spec(tiny_spec(learners={"beta_vae": {"params": {"lr": 0.5}, "grid": {"beta": [1, 2]}}})))
    given = expand(load_spec(tiny_spec(learners={"beta_vae": {"params": {"lr": np.float64(0.5)},
                                                              "grid": {"beta": list(np.arange(1, 3))}}})))
    assert [t.id for t in given] == [t.id for t in plain]
    from_array = expand(load_spec(tiny_spec(learners={"beta_vae": {"params": {"lr": 0.5},
                                                                   "grid": {"beta": np.array([1, 2])}}})))
    assert [t.id for t in from_array] == [t.id for t in plain]
    with pytest.raises(StudySpecError, match=re.escape("Study spec key 'learners.beta_vae.params.beta'")):
        load_spec(tiny_spec(learners={"beta_vae": {"params": {"beta": np.float32("nan")}}}))
    seeds = load_spec(tiny_spec(seeds=list(np.arange(2)), steps=np.int64(3)))
    assert tuple(seeds.seeds) == (0, 1) and type(seeds.steps) is int
