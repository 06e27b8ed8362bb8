"""Regression tests of the fourth review of axiomatic training (s23): widths the network cannot have are refused
when the model is made, accuracy refuses probabilities, and a resumed fit leaves torch's global stream alone."""

import numpy as np
import pytest
import torch

from latentscm.axioms import AxiomDistribution, AxiomModel, accuracy

SMALL = dict(n_layers=1, d_ff=8, batch_size=4, seed=0)


@pytest.mark.parametrize("params, message", [({"d_model": 6, "n_heads": 2}, "even head width"),
                                             ({"d_model": 5, "n_heads": 1, "positional": "sinusoidal"}, "even"),
                                             ({"d_model": 1, "n_heads": 1, "positional": "none"}, ">= 2")])
def test_axiom_model_refuses_impossible_widths_when_made(params, message):
    with pytest.raises(ValueError, match=f"d_model.*{message}"):
        AxiomModel(**params, **SMALL)
    model = AxiomModel(d_model=8, n_heads=2, **SMALL)
    with pytest.raises(ValueError, match="d_model"):
        model.set_params(**params)


def test_accuracy_refuses_probabilities_nan_and_text():
    demos = AxiomDistribution().sample(20, seed=0)
    truth = np.array([d.answer for d in demos])
    assert accuracy(truth, demos) == 1.0 and accuracy(truth.astype(int), demos) == 1.0
    assert accuracy(truth.astype(float), demos) == 1.0
    for bad in (np.where(truth, 0.9, 0.1), np.full(20, np.nan), np.where(truth, "Yes", "No")):
        with pytest.raises(ValueError, match="predictions"):
            accuracy(bad, demos)


def test_resumed_fit_leaves_the_global_torch_stream_alone(tmp_path):
    out = tmp_path / "run"
    AxiomModel(d_model=8, n_heads=2, steps=4, **SMALL).fit(out, checkpoint_every=1)
    for name in ("model.pt", "checkpoints/step_00000004.pt", "checkpoints/step_00000003.pt"):  # killed at step 2
        (out / name).unlink()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    resumed = AxiomModel(d_model=8, n_heads=2, steps=4, **SMALL).fit(out, resume=True, checkpoint_every=1)
    assert torch.equal(torch.rand(3), expected)
    fresh = AxiomModel(d_model=8, n_heads=2, steps=4, **SMALL).fit()
    for a, b in zip(fresh.network_.state_dict().values(), resumed.network_.state_dict().values()):
        assert torch.equal(a, b)
