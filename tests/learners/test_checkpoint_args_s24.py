"""Checkpoint options without a run directory are refused by name (they used to be ignored silently)."""

import pytest

from latentscm.learners.vae import BetaVAE
from latentscm.testing.learner_checks import tiny_params


@pytest.mark.parametrize("option", [{"checkpoint_every": 2}, {"keep_checkpoints": 1},
                                    {"checkpoint_every": 2, "keep_checkpoints": 1}])
def test_checkpoint_options_without_out_are_refused(tiny_world, option):
    vae = BetaVAE(**tiny_params(BetaVAE, steps=2))
    with pytest.raises(ValueError, match="would be ignored") as raised:
        vae.fit(tiny_world, n_samples=16, progress=False, **option)
    for name in option:
        assert f"'{name}'" in str(raised.value)
    assert not hasattr(vae, "encoder_")  # refused before anything was built


def test_in_memory_and_run_directory_fits_still_work(tiny_world, tmp_path):
    vae = BetaVAE(**tiny_params(BetaVAE, steps=2)).fit(tiny_world, n_samples=16, progress=False)
    assert vae.n_steps_ == 2
    BetaVAE(**tiny_params(BetaVAE, steps=2)).fit(tiny_world, out=tmp_path / "run", n_samples=16, checkpoint_every=1,
                                                 keep_checkpoints=1, progress=False)
    assert len(list((tmp_path / "run" / "checkpoints").glob("*.pt"))) == 1
    with pytest.raises(ValueError, match="'checkpoint_every'"):  # the range check stays where out is given
        BetaVAE(**tiny_params(BetaVAE, steps=2)).fit(tiny_world, out=tmp_path / "other", n_samples=16,
                                                     checkpoint_every=0, progress=False)


def test_axiom_model_refuses_checkpoint_options_without_a_run_directory():
    from latentscm.axioms import AxiomModel

    model = AxiomModel(d_model=16, n_layers=1, n_heads=2, d_ff=32, steps=2, batch_size=4, seed=0)
    with pytest.raises(ValueError, match=r"'checkpoint_every' \(1\) and 'keep_checkpoints' \(1\) arguments of "
                                         r"AxiomModel.fit would be ignored"):
        model.fit(None, checkpoint_every=1, keep_checkpoints=1)
    assert not hasattr(model, "history_") or not model.history_
