"""Bring your own model: evaluate() on plain callables and torch modules, and
`latentscm evaluate --encoder module:function --world NAME`."""

import json

import numpy as np
import pytest
import torch
from learners_support import TinyBlobs, make_tiny_learner
from typer.testing import CliRunner

from latentscm.cli import app
from latentscm.metrics import FactorRegressor, evaluate

SUITE = ["mig", "dci", "mcc"]


def _numbers(results):
    return {k: v for k, v in results.items() if not k.startswith("time.")}


@pytest.fixture(scope="module")
def vae():
    torch.set_num_threads(1)
    return make_tiny_learner("beta_vae", steps=4).fit(TinyBlobs(size=16), n_samples=64, progress=False)


@pytest.fixture(scope="module")
def regressor():
    return FactorRegressor(n_train=64, n_test=32, steps=5, batch_size=16, seed=0).fit(TinyBlobs(size=16))


@pytest.fixture(scope="module")
def causal():
    torch.set_num_threads(1)
    return make_tiny_learner("causal_vae", steps=4).fit(TinyBlobs(size=16), n_samples=64, progress=False)


def test_plain_callable_gives_the_learners_numbers(vae):
    world = TinyBlobs(size=16)
    options = {"suite": SUITE, "n": 64, "seed": 3, "activity": False, "counterfactuals": "none",
               "reconstruction": True}
    own = evaluate(vae, world, **options)
    plain = evaluate(lambda images: vae.encode(images), world, decoder=lambda codes: vae.decode(codes), **options)
    assert _numbers(own) == _numbers(plain)  # the same numbers, not merely close
    assert {"mig", "dci.disentanglement", "mcc", "reconstruction.mse", "reconstruction.bce"} <= set(plain)
    assert plain.notes == [] and own.notes == []
    # another seed gives other held-out images, so the test can fail
    assert evaluate(lambda images: vae.encode(images), world, **{**options, "seed": 4, "reconstruction": False}
                    )["mig"] != plain["mig"]


def test_plain_counterfactual_gives_the_learners_cf_metrics(causal, regressor):
    world = TinyBlobs(size=16)
    options = {"suite": ["mig"], "n": 32, "seed": 1, "n_counterfactual": 16, "activity": False,
               "regressor": regressor}
    own = evaluate(causal, world, **options)
    plain = evaluate(lambda x: causal.encode(x), world, counterfactual=lambda x, do: causal.counterfactual(x, do),
                     **options)
    cf_keys = [k for k in own if k.startswith("cf.")]
    assert cf_keys and all(own[k] == plain[k] or (np.isnan(own[k]) and np.isnan(plain[k])) for k in cf_keys)


def test_missing_parts_are_skipped_with_notes(vae, regressor):
    world = TinyBlobs(size=16)
    results = evaluate(lambda images: vae.encode(images), world, suite=["mig"], n=32, reconstruction=True,
                       counterfactuals="traversal")
    assert "mig" in results and not any(k.startswith(("cf.", "reconstruction.", "activity.")) for k in results)
    notes = " ".join(results.notes)
    assert "reconstruction skipped" in notes and "counterfactual metrics skipped" in notes
    assert "activity skipped" in notes
    # a decoder enables the traversal counterfactual baseline
    with_decoder = evaluate(lambda images: vae.encode(images), world, suite=["mig"], n=32, n_counterfactual=16,
                            decoder=lambda codes: vae.decode(codes), counterfactuals="traversal", activity=False,
                            regressor=regressor)
    assert any(k.startswith("cf.") for k in with_decoder) and with_decoder.notes == []


def test_torch_module_encoder_and_bad_outputs():
    world = TinyBlobs(size=16)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(256, 4)).train()
    results = evaluate(module, world, suite=["mig"], n=32)
    assert 0.0 <= results["mig"] <= 1.0 and module.training  # called in eval mode, mode restored
    with pytest.raises(ValueError, match=r"encoder '.*<lambda>' must map 32 images"):
        evaluate(lambda images: np.zeros((5, 2)), world, suite=["mig"], n=32)
    with pytest.raises(ValueError, match="NaN or infinite codes"):
        evaluate(lambda images: np.full((len(images), 2), np.nan), world, suite=["mig"], n=32)
    with pytest.raises(TypeError, match="'learner' argument of evaluate"):
        evaluate(42, world, suite=["mig"], n=32)


ENCODER_MODULE = '''
import numpy as np

def encode(images):
    """Centroid of the blob: two codes per image."""
    weights = images[:, 0] / images[:, 0].sum(axis=(1, 2), keepdims=True)
    grid = (np.arange(images.shape[-1]) + 0.5) / images.shape[-1]
    return np.stack([(weights.sum(2) * grid).sum(1), (weights.sum(1) * grid).sum(1)], axis=1)

not_callable = 3
'''


def test_cli_evaluate_encoder(tmp_path, monkeypatch):
    (tmp_path / "my_encoders.py").write_text(ENCODER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    runner = CliRunner()
    out = tmp_path / "results"
    args = ["evaluate", "--encoder", "my_encoders:encode", "--world", "learners_support:TinyBlobs",
            "--size", "16", "--n", "64", "--metrics", "mig,mcc", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "metrics.json").read_text())
    import my_encoders

    direct = evaluate(my_encoders.encode, TinyBlobs(size=16), suite=["mig", "mcc"], n=64, seed=2024)
    assert summary["metrics"]["mig"] == direct["mig"] and summary["metrics"]["mcc"] == direct["mcc"]
    assert summary["metrics"]["mcc"] > 0.65  # the centroid recovers row and column (2 of 3 factors)
    assert any("counterfactual metrics skipped" in note for note in summary["notes"])
    assert "note: counterfactual metrics skipped" in result.output
    assert not list(out.glob(".*tmp-*"))

    for bad, message in [(["--encoder", "my_encoders:encode"], "--encoder needs --world"),
                         (["--encoder", "my_encoders:not_callable", "--world", "learners_support:TinyBlobs"],
                          "is not callable"),
                         (["--encoder", "my_encoders", "--world", "learners_support:TinyBlobs"],
                          "--encoder must be 'module:function'"),
                         (["--encoder", "no_such_module_xyz:f", "--world", "learners_support:TinyBlobs"],
                          "Cannot import --encoder"),
                         ([], "Give a run directory"),
                         ([str(tmp_path), "--world", "sprites"], "--world go with --encoder")]:
        result = runner.invoke(app, ["evaluate", *bad])
        assert result.exit_code == 2 and message in result.output, (bad, result.output)
